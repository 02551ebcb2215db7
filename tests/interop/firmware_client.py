#!/usr/bin/env python3
"""The host side of the firmware test (firmware_qemu_test.sh): talks to the Cortex-M image on QEMU
over the TAP device and checks every answer byte for byte.

  firmware_client.py ADDRESS SOAK_EXCHANGES SEED OVERSIZE_FRAMES

UDP echo of 0-1472 bytes, a closed UDP port (ICMP port unreachable: ECONNREFUSED), TCP echo of
64 KiB with a half-close, a closed TCP port (RST: ECONNREFUSED), then a soak of SOAK_EXCHANGES UDP
echoes of random sizes (seeded), none lost. Last, "exit" to the status port: the firmware answers
with its report and stops; the report must show every buffer free and the counts it should
(OVERSIZE_FRAMES: the frames too long for its buffers the caller sent it, dropped and counted).
Prints one line per check; exits non-zero on the first failure."""
import random
import re
import socket
import sys

ECHO, STATUS, CLOSED = 7, 9999, 4444


def fail(why):
    sys.exit(f"firmware: FAIL: {why}")


def udp_echo(s, address, payload):
    s.sendto(payload, (address, ECHO))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        fail(f"no UDP echo of {len(payload)} bytes within 2 s")
    if data != payload or peer[0] != address:
        fail(f"the UDP echo of {len(payload)} bytes came back wrong ({len(data)} bytes from {peer})")


def main():
    address, soak, seed, oversize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    sizes = [0, 1, 18, 100, 1000, 1472]
    for size in sizes:
        udp_echo(s, address, bytes((i * 7 + size) & 0xFF for i in range(size)))
    print(f"firmware: UDP echo: {len(sizes)} datagrams of 0-1472 bytes came back byte for byte")

    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.settimeout(2)
    closed.connect((address, CLOSED))
    closed.send(b"anyone?")
    try:
        closed.recv(100)
        fail("a closed UDP port answered")
    except ConnectionRefusedError:
        print("firmware: closed UDP port: ICMP port unreachable (ECONNREFUSED)")
    except socket.timeout:
        fail("a closed UDP port: no ICMP port unreachable within 2 s")

    data = bytes(random.Random(seed).getrandbits(8) for _ in range(64 * 1024))
    got = bytearray()
    try:
        c = socket.create_connection((address, ECHO), timeout=10)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        c.close()
    except OSError as e:  # a timeout, a reset, a refusal
        fail(f"TCP echo: {e!r} after {len(got)} of {len(data)} bytes came back")
    if bytes(got) != data:
        fail(f"TCP echo: {len(got)} bytes came back, {'wrong' if len(got) == len(data) else 'not all'}")
    print(f"firmware: TCP echo: {len(data)} bytes written, half-closed, all came back byte for byte, then FIN")

    try:
        socket.create_connection((address, CLOSED), timeout=3)
        fail("a closed TCP port accepted a connection")
    except ConnectionRefusedError:
        print("firmware: closed TCP port: RST (ECONNREFUSED)")
    except socket.timeout:
        fail("a closed TCP port: no RST within 3 s")

    r = random.Random(seed)
    total = 0
    for _ in range(soak):
        size = r.randint(0, 1472)
        udp_echo(s, address, bytes(r.getrandbits(8) for _ in range(size)))
        total += size
    print(f"firmware: soak: {soak} UDP echoes of random sizes ({total} bytes), none lost, all byte for byte")

    s.sendto(b"exit", (address, STATUS))
    try:
        report = s.recvfrom(2048)[0].decode()
    except socket.timeout:
        fail("no report from the status port")
    print("firmware: its report:")
    print("".join(f"  {line}\n" for line in report.splitlines()), end="")

    def field(name):
        m = re.search(rf"\b{name}=(\d+)", report)
        if not m:
            fail(f"the report has no {name}")
        return int(m.group(1))

    expected_echoes = len(sizes) + soak
    checks = {
        "echoed": expected_echoes,
        "rx_errors": 0,
        "rx_oversize": oversize,
        "chip_rx_dropped": 0,
        "bytes_echoed": len(data),
        "sessions_ended": 1,
        "retransmissions": 0,
    }
    for name, want in checks.items():
        if field(name) != want:
            fail(f"the report says {name}={field(name)}, expected {want}")
    if "tx_free=4/4" not in report or "rx_free=8/8" not in report:
        fail("buffers still held after the traffic (a leak): " + re.search(r"buffers:.*", report).group(0))
    print(f"firmware: the report agrees: every echo counted, {oversize} oversize frame(s) dropped and counted, "
          "no receive error or chip drop, every buffer free")


main()
