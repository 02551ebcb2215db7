#!/usr/bin/env python3
"""Writes small valid seed inputs for each fuzz harness into DIR/<harness>/ (see tools/fuzz.sh)."""
import os
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(payload: bytes, protocol: int, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02") -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0x4000, 64, protocol, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp(payload: bytes, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02") -> bytes:
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, length)
    header = struct.pack("!HHHH", 5353, 7, length, 0)
    c = checksum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", 5353, 7, length, c) + payload


def icmp_echo(payload: bytes) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + payload
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def tcp(flags: int, options: bytes, payload: bytes, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02") -> bytes:
    """A TCP segment from src to dst (options padded to 32 bits by the caller)."""
    header = struct.pack("!HHIIBBHHH", 43210, 80, 0x12345678, 1, ((20 + len(options)) // 4) << 4, flags, 64240, 0, 0)
    segment = header + options + payload
    c = checksum(src + dst + struct.pack("!BBH", 0, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", c) + segment[18:]


# A SYN's options as Linux sends them: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
LINUX_SYN_OPTIONS = bytes.fromhex("020405b4" "0402080a0a0b0c0d00000000" "01030307")
SACK_OPTIONS = bytes.fromhex("0101080a0000000100000002" "0101051a") + struct.pack("!6I", 1, 2, 3, 4, 5, 6)

ARP = bytes.fromhex("0001080006040001" "020000000001" "0a000001" "000000000000" "0a000002")
ETH = bytes.fromhex("ffffffffffff" "020000000001" "0800")

# The receive path harness reads records of [time step][length, 2 bytes][frame] and is the host
# 10.0.0.1 at 02:00:00:00:00:01; the peer is 10.0.0.2 at 02:00:00:00:00:02.
US_MAC, PEER_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
US, PEER = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"


def frame(ethertype: int, payload: bytes, dst=US_MAC) -> bytes:
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def record(data: bytes, step: int = 1) -> bytes:
    return struct.pack("!BH", step, len(data)) + data


def peer_udp(payload: bytes, port: int) -> bytes:
    datagram = udp(payload, src=PEER, dst=US)
    datagram = datagram[:2] + struct.pack("!H", port) + datagram[4:6] + b"\0\0" + datagram[8:]
    length = len(datagram)
    c = checksum(PEER + US + struct.pack("!BBH", 0, 17, length) + datagram) or 0xFFFF
    return ipv4(datagram[:6] + struct.pack("!H", c) + datagram[8:], 17, src=PEER, dst=US)


ARP_REQUEST_FOR_US = bytes.fromhex("0001080006040001") + PEER_MAC + PEER + bytes(6) + US
ARP_REPLY_TO_US = bytes.fromhex("0001080006040002") + PEER_MAC + PEER + US_MAC + US

def step_segment(flags: int, length: int = 0, seq_delta: int = 0, ack_delta: int = 0, window: int = 0xFFFF,
                 peer_port_bit: int = 0, to_connect: bool = False) -> bytes:
    """tcp_connection_fuzz: a peer segment numbered after what the stack last sent (op 0)."""
    which = peer_port_bit | (2 if to_connect else 0)
    return struct.pack("!BBBhhHB", 0, which, flags, seq_delta, ack_delta, window, length)


# tcp_connection_fuzz ops: 0 segment, 1 time, 2 write, 3 read, 4 shutdown/close/abort, 5 accept, 6 connect.
ACCEPT, TIME, WRITE, READ, END, CONNECT = b"\x05", b"\x01", b"\x02", b"\x03", b"\x04", b"\x06"
PASSIVE_OPEN = ACCEPT + step_segment(0x02) + step_segment(0x10)

SEEDS = {
    "ethernet_fuzz": [ETH + ipv4(udp(b"hello"), 17), ETH[:12] + b"\x08\x06" + ARP, ETH],
    "arp_fuzz": [ARP, ARP[:7] + b"\x02" + ARP[8:]],
    "ipv4_fuzz": [ipv4(udp(b"x" * 17), 17), ipv4(icmp_echo(b"ping"), 1), ipv4(b"", 17) + b"\0" * 26],
    "icmp_fuzz": [icmp_echo(b""), icmp_echo(b"abcdefghijklmnopqrstuvw"), icmp_echo(b"odd")],
    "udp_fuzz": [b"\x0a\x00\x00\x01\x0a\x00\x00\x02" + udp(p) for p in (b"", b"a", b"0123456789" * 20)],
    "tcp_fuzz": [
        b"\x01\x0a\x00\x00\x01\x0a\x00\x00\x02" + tcp(0x02, LINUX_SYN_OPTIONS, b""),
        b"\x01\x0a\x00\x00\x01\x0a\x00\x00\x02" + tcp(0x18, SACK_OPTIONS, b"data" * 5),
        b"\x00\x0a\x00\x00\x01\x0a\x00\x00\x02" + tcp(0x11, b"", b"odd"),
    ],
    "tcp_connection_fuzz": [
        # A passive open, data both ways, a read, the peer's FIN, our close.
        PASSIVE_OPEN + step_segment(0x18, 10) + WRITE + b"\x00\x10" + READ + b"\x00\x40" + step_segment(0x11)
        + END + b"\x00\x01" + step_segment(0x10),
        # A passive open, our shutdown first, time passing (TIME-WAIT).
        PASSIVE_OPEN + END + b"\x00\x00" + step_segment(0x10) + step_segment(0x11) + TIME + b"\xff",
        # An active open answered by a SYN-ACK, then an abort.
        CONNECT + b"\x00" + step_segment(0x12, to_connect=True) + END + b"\x00\x02",
        # A passive open and a write into a zero window, then time for the probes.
        PASSIVE_OPEN + WRITE + b"\x00\x40" + step_segment(0x10, window=0) + TIME + b"\x80" + TIME + b"\x80",
    ],
    "receive_path_fuzz": [
        record(frame(0x0806, ARP_REQUEST_FOR_US, dst=b"\xff" * 6)) + record(frame(0x0806, ARP_REPLY_TO_US)),
        record(frame(0x0806, ARP_REPLY_TO_US)) + record(frame(0x0800, ipv4(icmp_echo(b"ping"), 1, src=PEER, dst=US))),
        record(frame(0x0800, peer_udp(b"echo me", 7))) + record(frame(0x0800, peer_udp(b"closed", 9))),
        record(frame(0x0800, peer_udp(b"x" * 100, 5000)), step=30) * 3,
    ],
    "json_fuzz": [
        # iperf3 3.12's parameters and results, as its client sends them.
        b'{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":2,"reverse":true,"len":131072,'
        b'"pacing_timer":1000,"client_version":"3.12"}',
        b'{"cpu_util_total":1.5,"cpu_util_user":0.5,"cpu_util_system":1,"sender_has_retransmits":1,'
        b'"streams":[{"id":1,"bytes":1000,"retransmits":0,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.25e0}]}',
        b'{"s":"a\\\"b\\u00e9","n":-9223372036854775808,"x":[[],{},null,false]}',
    ],
}

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py DIR")
    for harness, seeds in SEEDS.items():
        os.makedirs(os.path.join(sys.argv[1], harness), exist_ok=True)
        for i, seed in enumerate(seeds):
            with open(os.path.join(sys.argv[1], harness, f"seed{i}"), "wb") as f:
                f.write(seed)
