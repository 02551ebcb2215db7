#!/usr/bin/env python3
"""The firmware's size report (issue 14): what the image costs, and what the network stack costs.

  size_report.py FULL.elf UDP.elf BASELINE.elf

FULL is the firmware (UDP and TCP), UDP the same application built without TCP
(POLLSTACK_FIRMWARE_TCP=0: the UDP feature set, as lwIP's comparable build), BASELINE the same
board, startup, driver and main loop without the stack (size_baseline.cc). Prints:
  1. text/data/bss of each image (arm-none-eabi-size);
  2. the stack's code: each image's text minus the baseline's (the stack, its services and the
     executor, plus what the baseline does not use of the rest: the driver's transmit path, the
     clock and semihosting, about 0.6 KB);
  3. the full image's code by owner, from arm-none-eabi-nm: each function is charged to the
     outermost class or namespace in its name (Tcp<...>::..., Udp<...>::..., Lan9118::...).
     The compiler inlines much of the stack into its callers (the interface task and the
     services into the main loop's run()), so this column shows where code landed, not what
     each layer would cost alone; section 2 is the exact figure."""
import re
import subprocess
import sys


def size(elf):
    out = subprocess.run(["arm-none-eabi-size", "-B", elf], check=True, capture_output=True, text=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


OWNERS = [  # (pattern on the owning name, label); first match wins
    (r"^pollstack::net::(Tcp|TcpServer|TcpEchoSession)\b", "TCP and its echo service"),
    (r"^pollstack::net::(Udp|UdpEchoService)\b", "UDP and its echo service"),
    (r"^pollstack::net::Icmp\b", "ICMP"),
    (r"^pollstack::net::Ipv4\b", "IPv4"),
    (r"^pollstack::net::(Arp|NeighbourCache)\b", "ARP and the neighbour cache"),
    (r"^pollstack::net::Ethernet\b", "Ethernet"),
    (r"^pollstack::net::", "the interface (dispatch tables, receive task) and shared code"),
    (r"^pollstack::firmware::(Basic)?Lan9118\b", "the LAN9118 driver"),
    (r"^pollstack::firmware::\{anonymous\}::report|^pollstack::firmware::(StatusService|TextOut)\b",
     "the status service and its report"),
    (r"^pollstack::firmware::run\b", "the main loop run(), with what was inlined into it"),
    (r"^pollstack::firmware::|^(main|Reset_Handler|Default_Handler|SysTick_Handler|Lan9118_IRQHandler)$|^g_vector_table",
     "board, startup, semihosting"),
    (r"^pollstack::wire::", "the wire codecs (parse, emit, checksum)"),
    (r"^pollstack::", "the runtime (executor, waiter lists, task pools)"),
    (r"^std::", "standard library templates instantiated for the stack (optional, chrono)"),
    (r"", "C library and libgcc (memcpy, memmove, memset, memcmp), static initializers"),
]


def owner(name):
    """The qualified name the function belongs to: the part before its parameter list, without a
    leading return type (the first space at template depth 0)."""
    name = name.replace("(anonymous namespace)", "{anonymous}")
    depth = 0
    start = 0
    for i, c in enumerate(name):
        if c in "<(":
            if c == "(" and depth == 0:
                return name[start:i]
            depth += 1
        elif c in ">)":
            depth -= 1
        elif c == " " and depth == 0:
            start = i + 1
    return name[start:]


def by_owner(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-C", "-S", "--size-sort", elf], check=True, capture_output=True,
                         text=True).stdout
    totals = {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] not in "tTrRwW":
            continue
        name = owner(parts[3])
        for pattern, label in OWNERS:
            if re.search(pattern, name):
                totals[label] = totals.get(label, 0) + int(parts[1], 16)
                break
    return sorted(totals.items(), key=lambda kv: -kv[1])


def main():
    full, udp, baseline = sys.argv[1:4]
    sizes = {"firmware (UDP and TCP)": size(full), "firmware, UDP only": size(udp),
             "baseline (board, driver, loop; no stack)": size(baseline)}
    print("# images (bytes; arm-none-eabi-size)")
    print(f"{'':44}{'text':>8}{'data':>8}{'bss':>8}")
    for label, (text, data, bss) in sizes.items():
        print(f"{label:44}{text:8}{data:8}{bss:8}")
    base = size(baseline)[0]
    print("\n# the stack's code: image text minus the baseline's")
    print(f"  UDP feature set (Ethernet, ARP, IPv4, ICMP, UDP; executor; UDP echo and status services): "
          f"{size(udp)[0] - base}")
    print(f"  with TCP (and its echo service):                                                        "
          f"{size(full)[0] - base}")
    print("\n# the full image's code by owner (arm-none-eabi-nm; inlined code counts where it landed)")
    for label, total in by_owner(full):
        print(f"  {total:7}  {label}")


main()
