#!/usr/bin/env python3
"""A TCP echo client, Linux's side of the interop test: connects to HOST port 7, writes BYTES random
bytes while reading the echo, half-closes (shutdown(SHUT_WR)) and reads until the server's FIN.
Exits 0 when every byte came back in order; prints what it did, or why it failed."""
import os
import socket
import sys
import threading
import time


def main() -> int:
    host, size, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = os.urandom(size)
    start = time.monotonic()
    s = socket.create_connection((host, 7), timeout=30)

    def send() -> None:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # half-close: our FIN; the echo goes on

    writer = threading.Thread(target=send)
    writer.start()
    back = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break  # the server's FIN, after everything
        back += chunk
    writer.join()
    s.close()
    if bytes(back) != data:
        same = next((i for i, (a, b) in enumerate(zip(back, data)) if a != b), min(len(back), len(data)))
        print(f"{what}: {len(back)} bytes came back of {len(data)}; the first {same} are right")
        return 1
    print(f"interop: {what}: Linux wrote {len(data)} bytes and half-closed; all came back byte for byte, "
          f"then FIN ({time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
