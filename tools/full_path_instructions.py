#!/usr/bin/env python3
"""Instructions per datagram for every style of the full-path comparison, counted by callgrind.

Usage: full_path_instructions.py BENCHMARK_BINARY [--out LINES.txt]

Timings on a shared VM move by a few percent from run to run; instruction counts do not. For each
style, path and payload size this runs full_path_benchmark under callgrind twice, for 1 and for 11
iterations, collecting only inside the style's own entry point (its send or receive: the layers
and the channel, not the in-thread driver's share), and reports the difference divided by the 80
datagrams of the 10 extra iterations: warm instructions per datagram, set-up excluded. Prints one
line per measurement ("instructions style=... path=... size=... per_datagram=..."), the input of
full_path_report.py --instructions. Needs valgrind (tools/setup.sh installs it).
"""
import argparse
import concurrent.futures
import re
import subprocess
import sys
import tempfile

STYLES = ["sync", "state_machine", "coroutine", "arena_coroutine", "boxed", "callback"]
PATHS = [("transmit", "send", 64), ("receive", "receive", 64), ("transmit", "send", 1472), ("receive", "receive", 1472)]
BATCH = 8  # datagrams per iteration (bench::kBatch)
FEW, MANY = 1, 11


def collected(binary, style, path, function, size, iterations):
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}",
             f"--toggle-collect=pollstack::*::{style}_{function}(*", binary, f"--iterations={iterations}",
             f"--benchmark_filter=^full_path/{path}/{style}/{size}/"],
            capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or match is None:
        sys.exit(f"full_path_instructions: callgrind failed for {style} {path} {size}:\n{run.stderr[-2000:]}")
    return int(match.group(1))


def measure(binary, style, path, function, size):
    few = collected(binary, style, path, function, size, FEW)
    many = collected(binary, style, path, function, size, MANY)
    per = (many - few) / ((MANY - FEW) * BATCH)
    return f"instructions style={style} path={path} size={size} per_datagram={per:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--out")
    args = parser.parse_args()
    jobs = [(style, path, function, size) for style in STYLES for path, function, size in PATHS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        lines = list(pool.map(lambda job: measure(args.binary, *job), jobs))
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
