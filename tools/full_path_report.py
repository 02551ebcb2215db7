#!/usr/bin/env python3
"""Turns full_path_benchmark's JSON into a Markdown table and an SVG chart.

Usage: full_path_report.py RESULTS.json --markdown docs/full_path.md --svg docs/full_path.svg
                           [--backpressure LINES.txt] [--instructions LINES.txt] [--machine TEXT]

Per style: ns per datagram for transmit and receive at 64 and 1472 bytes (medians of the
repetitions), the ratio to the synchronous path measured in the same run, allocations per
datagram, and bytes of per-operation state for one send. The chart shows ns per datagram for
each path, one bar per style, in plain SVG (no plotting library needed). --backpressure adds the
backpressure runs (the "backpressure style=..." lines of tools/overload --style, one per style);
--instructions adds instructions per datagram (the lines of tools/full_path_instructions.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from async_cost_table import load_runs  # noqa: E402

STYLES = ["sync", "state_machine", "coroutine", "arena_coroutine", "boxed", "callback"]
PATHS = [("transmit", 64), ("receive", 64), ("transmit", 1472), ("receive", 1472)]
COLOURS = {
    "sync": "#7f7f7f",
    "state_machine": "#1f77b4",
    "coroutine": "#d62728",
    "arena_coroutine": "#ff9896",
    "boxed": "#9467bd",
    "callback": "#2ca02c",
}


def ns(b):
    return 1e9 / b["items_per_second"]


def collect(runs):
    table = {}
    for style in STYLES:
        for path, size in PATHS:
            b = runs.get(f"full_path/{path}/{style}/{size}")
            if b is None:
                sys.exit(f"full_path_report: no result for {path}/{style}/{size}")
            table[(style, path, size)] = b
    return table


def markdown(table, footer):
    head = "| style | " + " | ".join(f"{p} {s} B: ns (× sync)" for p, s in PATHS)
    head += " | allocations per datagram (tx / rx) | state bytes per send |"
    rows = [head, "|---|" + "---:|" * (len(PATHS) + 2)]
    for style in STYLES:
        cells = []
        for path, size in PATHS:
            value = ns(table[(style, path, size)])
            base = ns(table[("sync", path, size)])
            cells.append(f"{value:.1f} ({value / base:.2f})")
        tx = table[(style, "transmit", 64)]["allocs_per_packet"]
        rx = table[(style, "receive", 64)]["allocs_per_packet"]
        state = table[(style, "transmit", 64)]["state_bytes"]
        name = f"**{style}**" if style == "state_machine" else style
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {tx:g} / {rx:g} | {state:.0f} |")
    return "\n".join(rows) + "\n\n" + footer + "\n"


def backpressure_table(path):
    rows = [
        "| style | datagrams/s through the rate-limited sink | CPU ns per datagram (waiting included) | "
        "waits on a full channel | lost |",
        "|---|---:|---:|---:|---:|",
    ]
    seen = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("backpressure "):
                continue
            fields = dict(part.split("=", 1) for part in line.split()[1:])
            seen[fields["style"]] = fields
    for style in STYLES:
        if style not in seen:
            sys.exit(f"full_path_report: no backpressure run for {style} in {path}")
        f = seen[style]
        name = f"**{style}**" if style == "state_machine" else style
        rows.append(f"| {name} | {f['pps']} | {f['cpu_ns_per_packet']} | {f['pending']} | {f['lost']} |")
    return "\n".join(rows) + "\n"


def instructions_table(lines_path):
    counts = {}
    with open(lines_path) as f:
        for line in f:
            if line.startswith("instructions "):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                counts[(fields["style"], fields["path"], int(fields["size"]))] = int(fields["per_datagram"])
    rows = ["| style | " + " | ".join(f"{p} {s} B" for p, s in PATHS) + " |", "|---|" + "---:|" * len(PATHS)]
    for style in STYLES:
        cells = []
        for path, size in PATHS:
            if (style, path, size) not in counts:
                sys.exit(f"full_path_report: no instruction count for {style} {path} {size} in {lines_path}")
            cells.append(str(counts[(style, path, size)]))
        name = f"**{style}**" if style == "state_machine" else style
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def svg(table, footer):
    bar_h, gap, group_gap, left, width = 14, 2, 22, 250, 520
    groups = []
    for path, size in PATHS:
        groups.append((f"{path}, {size}-byte payload", [(s, ns(table[(s, path, size)])) for s in STYLES]))
    scale_max = max(v for _, bars in groups for _, v in bars) * 1.12
    height = 45 + len(groups) * (16 + len(STYLES) * (bar_h + gap) + group_gap) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">UDP through every layer: ns per datagram '
        "(lower is better)</text>",
    ]
    y = 45
    for title, bars in groups:
        out.append(f'<text x="10" y="{y + 10}" font-weight="bold">{title}</text>')
        y += 16
        for style, value in bars:
            w = value / scale_max * width
            out.append(f'<text x="{left - 8}" y="{y + bar_h - 3}" text-anchor="end">{style}</text>')
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[style]}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}">{value:.0f}</text>')
            y += bar_h + gap
        y += group_gap
    out.append(f'<text x="10" y="{height - 14}" font-size="10">{footer}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--svg", required=True)
    parser.add_argument("--backpressure", help="lines from tools/overload --style runs")
    parser.add_argument("--instructions", help="lines from tools/full_path_instructions.py")
    parser.add_argument("--machine", default="")
    args = parser.parse_args()
    context, runs, _ = load_runs(args.results)
    table = collect(runs)
    reps = next((b.get("repetitions") for b in runs.values() if b.get("repetitions")), 1)
    machine = args.machine or f"{context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs"
    footer = (
        f"Median of {reps} repetition(s), CPU time per datagram, the in-thread driver's share included. "
        f"Machine: {machine}. Run: {context.get('date', '?')}."
    )
    text = markdown(table, footer)
    if args.backpressure:
        text += (
            "\nUnder backpressure (`tools/overload --style NAME`: each style sends as fast as it can into "
            "the rate-limited sink process; it waits in its own way while the channel is full):\n\n"
            + backpressure_table(args.backpressure)
        )
    if args.instructions:
        text += (
            "\nInstructions per datagram (`tools/full_path_instructions.py`: callgrind, inside each style's "
            "send or receive only, the driver's share excluded; repeatable where timings are not):\n\n"
            + instructions_table(args.instructions)
        )
    for path, content in ((args.markdown, text), (args.svg, svg(table, footer))):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
