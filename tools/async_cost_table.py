#!/usr/bin/env python3
"""Prints the async-cost comparison table (Markdown) from Google Benchmark JSON.

Usage: async_cost_table.py RESULTS.json [--machine TEXT]

Reads the median of each benchmark's repetitions (or the single run, without repetitions) and
prints, per variant: ns per tree, the ratio to sync measured in the same run, allocations and heap
bytes per tree, and bytes of state.
"""
import argparse
import json
import sys

VARIANTS = ["sync", "state_machine", "coroutine", "arena_coroutine", "boxed"]
SECTIONS = [
    ("async_cost", "512 variants in scrambled order (the benchmark)"),
    ("async_cost_hot", "one variant repeated (hot caches, predictable branches; for comparison)"),
]


def load_runs(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"async_cost_table: cannot read {path}: {e}")
    runs, cv = {}, {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            sys.exit(f"async_cost_table: {name} failed: {b.get('error_message')}")
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                runs[name] = b
            elif b.get("aggregate_name") == "cv":
                cv[name] = b
        else:
            runs.setdefault(name, b)
    return data.get("context", {}), runs, cv


def to_ns(b):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def table(runs, cv, prefix):
    sync = runs.get(f"{prefix}/sync")
    if sync is None:
        return None
    rows = [
        "| variant | ns per tree | × sync | allocations per tree | heap bytes per tree | bytes of state |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        b = runs.get(f"{prefix}/{v}")
        if b is None:
            continue
        ns = to_ns(b)
        spread = cv.get(f"{prefix}/{v}")
        spread_text = f" ±{spread['cpu_time'] * 100:.0f}%" if spread else ""
        rows.append(
            f"| {v} | {ns:.1f}{spread_text} | {ns / to_ns(sync):.2f} | {b['allocs_per_tree']:.0f} "
            f"| {b['heap_bytes_per_tree']:.0f} | {b['state_bytes']:.0f} |"
        )
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Google Benchmark JSON (--benchmark_out)")
    parser.add_argument("--machine", default="", help="machine description for the heading")
    args = parser.parse_args()

    context, runs, cv = load_runs(args.results)
    printed = False
    for prefix, title in SECTIONS:
        text = table(runs, cv, prefix)
        if text is None:
            continue
        print(f"\n#### {title}\n")
        print(text)
        printed = True
    if not printed:
        sys.exit(f"async_cost_table: no async_cost results in {args.results}")
    reps = next((b.get("repetitions") for b in runs.values() if b.get("repetitions")), 1)
    machine = args.machine or f"{context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs"
    print(
        f"\nMedian of {reps} repetition(s), CPU time; ± is the coefficient of variation. "
        f"Machine: {machine}. Run: {context.get('date', '?')}."
    )


if __name__ == "__main__":
    main()
