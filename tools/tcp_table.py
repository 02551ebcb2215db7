#!/usr/bin/env python3
"""Prints the in-process TCP table (Markdown) from tcp_benchmark's Google Benchmark JSON.

Usage: tcp_table.py RESULTS.json [--machine TEXT]

Bulk (A to B, every byte checked; per buffer size, and without RFC 7323's options): Gbit/s of
payload, ns per data segment, bytes per segment, ACKs per data segment, allocations per segment,
retransmissions and pauses; then the 64-byte round trip: ns per round trip, segments per round
trip, allocations. Medians of the repetitions with their range (min-max); the JSON must hold every
repetition (--benchmark_report_aggregates_only=false), not only the aggregates.
"""
import argparse
import json
import statistics
import sys

# issue 13's figures for the same test (MTU 1500, checksums, 64 KiB buffers, 1 GiB verified),
# measured on its machine class (a 2-core "AMD EPYC" VM).
PEERS = "smoltcp 31.8 Gbit/s, lwIP 11.1 Gbit/s (best of 20; median 10.5)"


def load_repetitions(path):
    """Every repetition of every benchmark, by run name (aggregates are ignored)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"tcp_table: cannot read {path}: {e}")
    runs = {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            sys.exit(f"tcp_table: {name} failed: {b.get('error_message')}")
        if b.get("run_type") != "aggregate":
            runs.setdefault(name, []).append(b)
    return data.get("context", {}), runs


def spread(values, fmt):
    """'median (min-max)', or the one value."""
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += f" ({fmt.format(min(values))}–{fmt.format(max(values))})"
    return text


def ns(b):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Google Benchmark JSON (--benchmark_out)")
    parser.add_argument("--machine", default="", help="machine description for the footnote")
    args = parser.parse_args()
    context, runs = load_repetitions(args.results)

    bulk = sorted((name for name in runs if name.startswith("BM_TcpBulk/")),
                  key=lambda name: (int(name.split("/")[1]), name))
    if not bulk:
        sys.exit(f"tcp_table: no BM_TcpBulk results in {args.results}")
    rows = [
        "| bulk A→B | buffers | Gbit/s | ns per segment | bytes per segment | ACKs per segment "
        "| allocations per segment | retransmissions | pauses > 1 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in bulk:
        reps = runs[name]
        parts = name.split("/")
        amount = "1 GiB" if "iterations:1024" in name else "1 MiB per iteration"
        if "rfc7323_off" in name:
            amount += ", without window scaling and timestamps"
        rows.append(
            f"| {amount} | {int(parts[1]) // 1024} KiB "
            f"| {spread([b['bits_per_second'] / 1e9 for b in reps], '{:.1f}')} "
            f"| {spread([b['ns_per_segment'] * 1e9 for b in reps], '{:.0f}')} "
            f"| {statistics.median(b['bytes_per_segment'] for b in reps):.0f} "
            f"| {statistics.median(b['acks_per_segment'] for b in reps):.2f} "
            f"| {max(b['allocs_per_segment'] for b in reps):.0f} "
            f"| {sum(b['retransmissions'] for b in reps):.0f} "
            f"| {sum(b['pauses'] for b in reps):.0f} |"
        )
    trip = runs.get("BM_TcpRoundTrip")
    if trip:
        rows += [
            "",
            "| round trip, 64 bytes each way | ns | segments per round trip | allocations per round trip |",
            "|---|---:|---:|---:|",
            f"| request, echo, read back | {spread([ns(b) for b in trip], '{:.0f}')} "
            f"| {statistics.median(b['segments_per_round_trip'] for b in trip):.2f} "
            f"| {max(b['allocs_per_round_trip'] for b in trip):.0f} |",
        ]
    print("\n".join(rows))
    reps = max(len(r) for r in runs.values())
    machine = args.machine or f"{context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs"
    print(
        f"\nTwo stacks in one thread over an in-process wire (one copy per frame), MTU 1500, TCP "
        f"checksums computed and verified, every byte checked. Median (min–max) of {reps} "
        f"repetition(s), CPU time; retransmissions and pauses summed over them. For comparison, "
        f"issue 13 on its 2-core AMD EPYC VM: {PEERS}. Machine: {machine}. "
        f"Run: {context.get('date', '?')}."
    )


if __name__ == "__main__":
    main()
