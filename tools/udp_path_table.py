#!/usr/bin/env python3
"""Prints the UDP path table (Markdown) from udp_path_benchmark's Google Benchmark JSON.

Usage: udp_path_table.py RESULTS.json [--machine TEXT]

Per path (transmit, receive, and their sum) and payload size: ns per datagram for the synchronous
functions, for the state machines and for lwIP 2.1.3 doing the same work, measured in the same run,
the state machine's ratio to each, and allocations per datagram. Medians of the repetitions.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from async_cost_table import load_runs  # noqa: E402

PATHS = [("UdpTransmit", "transmit"), ("UdpReceive", "receive")]
SIZES = [64, 1472]


def ns_per_packet(b):
    return 1e9 / b["items_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Google Benchmark JSON (--benchmark_out)")
    parser.add_argument("--machine", default="", help="machine description for the footnote")
    args = parser.parse_args()
    context, runs, _ = load_runs(args.results)

    rows = [
        "| path | payload bytes | sync ns | state machine ns | × sync | lwIP ns | × lwIP "
        "| allocations per datagram (sync / state machine / lwIP) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        totals = [0.0, 0.0, 0.0]
        for prefix, label in PATHS:
            found = [runs.get(f"BM_{prefix}_{variant}/{size}") for variant in ("Sync", "StateMachine", "Lwip")]
            if None in found:
                sys.exit(f"udp_path_table: missing {prefix} results for {size} bytes in {args.results}")
            s, m, w = (ns_per_packet(b) for b in found)
            for i, ns in enumerate((s, m, w)):
                totals[i] += ns
            allocs = " / ".join(f"{b['allocs_per_packet']:.0f}" for b in found)
            rows.append(f"| {label} | {size} | {s:.1f} | {m:.1f} | {m / s:.2f} | {w:.1f} | {m / w:.2f} | {allocs} |")
        s, m, w = totals
        rows.append(
            f"| **transmit + receive** | {size} | {s:.1f} | **{m:.1f}** | {m / s:.2f} | {w:.1f} | **{m / w:.2f}** | |"
        )
    # Batched: kBatch datagrams inside one channel batch (published together, one doorbell decision).
    batched = []
    for size in SIZES:
        found = [runs.get(f"BM_{p}Batched_StateMachine/{size}") for p in ("UdpTransmit", "UdpReceive")]
        if None in found:
            continue
        tx, rx = (ns_per_packet(b) for b in found)
        batched.append(f"| {size} | {tx:.1f} | {rx:.1f} | **{tx + rx:.1f}** |")
    if batched:
        rows += [
            "",
            "Batched (state machine; each burst inside one channel batch), ns per datagram:",
            "",
            "| payload bytes | transmit | receive | transmit + receive |",
            "|---:|---:|---:|---:|",
        ] + batched
    print("\n".join(rows))
    reps = next((b.get("repetitions") for b in runs.values() if b.get("repetitions")), 1)
    machine = args.machine or f"{context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs"
    print(
        f"\nMedian of {reps} repetition(s), CPU time per datagram, the driver's share of work included "
        "(ours: the in-thread driver over the channel, the same for sync and state machine; lwIP's: "
        "its driver copies each frame out of or into a pbuf). lwIP 2.1.3 is Debian's liblwip, the Unix "
        "port (raw API; pbufs from malloc, a pthread mutex per protection, IPv4 and IPv6 compiled in). "
        f"Machine: {machine}. Run: {context.get('date', '?')}."
    )


if __name__ == "__main__":
    main()
