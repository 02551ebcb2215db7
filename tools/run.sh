#!/usr/bin/env bash
# The main job: build optimized, then
#   1. a real host: in a private network namespace, Linux resolves the stack with ARP, pings it,
#      exchanges UDP with it, echoes 10 MiB over TCP and fetches its counters page with curl, over
#      a TAP device (pollstackd and tap_driver as separate processes);
#      where that cannot run (no root, no /dev/net/tun), it says why and runs the stack's
#      self-test over the loopback driver process instead; then the Cortex-M4 image booted on
#      QEMU's mps2-an386, Linux pinging it and echoing UDP and TCP through its LAN9118 (skipped,
#      saying so, without root or QEMU);
#   2. the async-cost benchmark and its comparison table (out/async_cost.json, out/async_cost.md);
#   3. the UDP path through every layer, state machine beside synchronous and lwIP (out/udp_path.json,
#      out/udp_path.md); TCP between two whole stacks over an in-process wire: bulk Gbit/s and a
#      64-byte round trip (out/tcp.json, out/tcp.md), and TCP's loss recovery in simulated time
#      (out/tcp_loss.md); iperf3 against the stack over TAP both ways (out/iperf3_tap.txt; skipped,
#      saying so, without root); the checksum loop every layer uses, then the
#      UDP path as coroutines, boxed layers and callbacks: time, allocations, state, backpressure
#      and instructions per datagram (out/full_path.json; table and chart in docs/full_path.md,
#      docs/full_path.svg), and the compile-time sizes of the composed operations;
#   4. backpressure across processes: an application sending UDP through the whole stack at twice
#      the rate a driver process drains, for 3 seconds, losing nothing; then a TCP connection of
#      the stack to itself through a loopback driver process that takes 20,000 frames/s, written as
#      fast as TCP takes bytes, every byte arriving in order, memory flat.
#
# Usage: tools/run.sh [--quick]
#   --quick   one repetition with short runs (a smoke run; the figures are noisier)
set -euo pipefail
cd "$(dirname "$0")/.."

repetitions=5
min_time=0.3
for arg in "$@"; do
  case "$arg" in
    --quick) repetitions=1 min_time=0.05 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

tools/setup.sh

echo "=== building (--config=opt; the first build takes a few minutes)"
bazel build --config=opt //benchmarks/async_cost:async_cost_benchmark //tools/overload \
  //tools/drivers:rate_limited_sink //benchmarks/udp_path:udp_path_benchmark //tools/sizes \
  //tools/stack:pollstackd //tools/drivers:tap_driver //tools/drivers:loopback_driver \
  //benchmarks/full_path:full_path_benchmark //benchmarks/checksum:checksum_benchmark \
  //benchmarks/tcp:tcp_benchmark //tools/tcp_loss
bin="$(bazel info --config=opt bazel-bin 2>/dev/null)"
binary="$bin/benchmarks/async_cost/async_cost_benchmark"

mkdir -p out
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
echo "=== running on: $machine"

echo
echo "=== a real host: Linux and the stack over a TAP device, in a private network namespace"
interop_status=0
tests/interop/interop_test.sh "$bin" || interop_status=$?
if [[ $interop_status -eq 77 ]]; then
  echo "=== falling back to the loopback driver: the stack tests itself across two processes"
  tests/interop/loopback_self_test.sh "$bin/tools/stack/pollstackd" "$bin/tools/drivers/loopback_driver" |
    grep -E "self-test|PASS|FAIL"
elif [[ $interop_status -ne 0 ]]; then
  echo "run.sh: the interop run failed" >&2
  exit 1
fi

echo
echo "=== a microcontroller: the Cortex-M4 image on QEMU's mps2-an386, Linux talking to its LAN9118"
tools/firmware/build.sh >/dev/null
firmware_status=0
tests/interop/firmware_qemu_test.sh out/firmware/pollstack_firmware.elf || firmware_status=$?
if [[ $firmware_status -eq 77 ]]; then
  echo "=== (skipped: the image was built and checked, but not booted on this machine)"
elif [[ $firmware_status -ne 0 ]]; then
  echo "run.sh: the firmware run on QEMU failed" >&2
  exit 1
fi

echo
echo "=== benchmarks (the first one takes about a minute)"
"$binary" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only="$([[ $repetitions -gt 1 ]] && echo true || echo false)" \
  --benchmark_out=out/async_cost.json --benchmark_out_format=json >/dev/null 2>&1

echo
echo "=== async cost: one 31-call tree (5 levels, fan-out 2), per style"
python3 tools/async_cost_table.py out/async_cost.json --machine "$machine" | tee out/async_cost.md

echo
echo "=== UDP through every layer over the in-process channel: ns per datagram"
"$bin/benchmarks/udp_path/udp_path_benchmark" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only="$([[ $repetitions -gt 1 ]] && echo true || echo false)" \
  --benchmark_out=out/udp_path.json --benchmark_out_format=json >/dev/null 2>&1
python3 tools/udp_path_table.py out/udp_path.json --machine "$machine" | tee out/udp_path.md

echo
echo "=== TCP through two whole stacks over an in-process wire: bulk Gbit/s and the 64-byte round trip"
# Every repetition goes to the JSON (the table prints ranges); the 1 GiB variant is left to a
# manual run (the benchmark's header comment), which keeps this step under half a minute.
"$bin/benchmarks/tcp/tcp_benchmark" \
  --benchmark_filter='^BM_TcpBulk/[0-9]+(/rfc7323_off)?$|^BM_TcpRoundTrip$' \
  --benchmark_repetitions="$repetitions" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only=false \
  --benchmark_out=out/tcp.json --benchmark_out_format=json >/dev/null 2>&1
python3 tools/tcp_table.py out/tcp.json --machine "$machine" | tee out/tcp.md

echo
echo "=== iperf3 against the stack over TAP: Debian's iperf3 client, both directions, single stream (tools/iperf3_tap.sh)"
iperf3_status=0
tools/iperf3_tap.sh "$bin" "$([[ $repetitions == 1 ]] && echo 2 || echo 5)" "$([[ $repetitions == 1 ]] && echo 1 || echo 3)" |
  tee out/iperf3_tap.txt || iperf3_status=$?
[[ $iperf3_status -eq 0 || $iperf3_status -eq 77 ]] || { echo "run.sh: the iperf3 run failed" >&2; exit 1; }

echo
echo "=== TCP loss recovery in simulated time: SACK + CUBIC against NewReno without SACK (1% loss, 20 ms)"
"$bin/tools/tcp_loss/tcp_loss" --loss 1 --rtt 20 --mib 8 --seeds 3 | tee out/tcp_loss.md

echo
echo "=== the Internet checksum, every layer's hot loop: the layers' version beside the definition"
"$bin/benchmarks/checksum/checksum_benchmark" --benchmark_min_time="$min_time" 2>/dev/null | grep '^checksum/'

echo
echo "=== the full-path comparison: the same UDP path in every style (ns per datagram, × sync)"
"$bin/benchmarks/full_path/full_path_benchmark" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only="$([[ $repetitions -gt 1 ]] && echo true || echo false)" \
  --benchmark_out=out/full_path.json --benchmark_out_format=json >/dev/null 2>&1
for style in sync state_machine coroutine arena_coroutine boxed callback; do
  "$bin/tools/overload/overload" --sink "$bin/tools/drivers/rate_limited_sink" --rate 20000 --seconds 2 \
    --style "$style" 2>/dev/null | grep '^backpressure'
done >out/backpressure.txt
python3 tools/full_path_instructions.py "$bin/benchmarks/full_path/full_path_benchmark" \
  --out out/instructions.txt >/dev/null
python3 tools/full_path_report.py out/full_path.json --machine "$machine" --backpressure out/backpressure.txt \
  --instructions out/instructions.txt --markdown docs/full_path.md --svg docs/full_path.svg

echo
echo "=== sizes of the composed operations (bytes, fixed at compile time)"
"$bin/tools/sizes/sizes"

echo
echo "=== backpressure across processes: UDP through the stack at 2x what the driver process drains"
"$bin/tools/overload/overload" --sink "$bin/tools/drivers/rate_limited_sink" --rate 20000 --seconds 3 --udp
echo
echo "=== backpressure across processes: TCP written as fast as it goes, the driver process taking 20,000 frames/s"
"$bin/tools/overload/overload" --tcp --loopback "$bin/tools/drivers/loopback_driver" --rate 20000 --seconds 3
