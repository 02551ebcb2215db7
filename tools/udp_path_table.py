#!/usr/bin/env python3
"""Prints the UDP path table (Markdown) from udp_path_benchmark's Google Benchmark JSON.

Usage: udp_path_table.py RESULTS.json [--machine TEXT]

Per path (transmit, receive, and their sum) and payload size: ns per datagram for the synchronous
functions and for the state machines, measured in the same run, their ratio, and allocations per
datagram. Medians of the repetitions.
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
        "| path | payload bytes | sync ns | state machine ns | × sync | allocations per datagram (sync / state machine) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        totals = [0.0, 0.0]
        allocs_seen = []
        for prefix, label in PATHS:
            sync = runs.get(f"BM_{prefix}_Sync/{size}")
            sm = runs.get(f"BM_{prefix}_StateMachine/{size}")
            if sync is None or sm is None:
                sys.exit(f"udp_path_table: missing {prefix} results for {size} bytes in {args.results}")
            s, m = ns_per_packet(sync), ns_per_packet(sm)
            totals[0] += s
            totals[1] += m
            allocs = f"{sync['allocs_per_packet']:.0f} / {sm['allocs_per_packet']:.0f}"
            allocs_seen.append(allocs)
            rows.append(f"| {label} | {size} | {s:.1f} | {m:.1f} | {m / s:.2f} | {allocs} |")
        rows.append(
            f"| **transmit + receive** | {size} | {totals[0]:.1f} | {totals[1]:.1f} | {totals[1] / totals[0]:.2f} | |"
        )
    print("\n".join(rows))
    reps = next((b.get("repetitions") for b in runs.values() if b.get("repetitions")), 1)
    machine = args.machine or f"{context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs"
    print(
        f"\nMedian of {reps} repetition(s), CPU time per datagram, driver's share of work included "
        f"(the same for both). Machine: {machine}. Run: {context.get('date', '?')}."
    )


if __name__ == "__main__":
    main()
