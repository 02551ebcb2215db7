#!/usr/bin/env bash
# Backpressure across processes: the overload tool offers twice the rate-limited sink's rate for
# 2 seconds, as raw frames and as UDP datagrams through the stack, and fails unless every frame it
# submitted reached the sink, in sequence. Then TCP: the stack writes to itself through the
# loopback driver taking 20,000 frames/s, and every byte must arrive in order, with writes having
# waited (Pending) for the driver.
# The 10-second figures are in driver_channel/README.md.
set -euo pipefail
overload="$1"
sink="$2"
loopback="$3"
"$overload" --sink "$sink" --rate 20000 --seconds 2
# The same through the whole stack: an application's UDP sends, Pending through every layer.
"$overload" --sink "$sink" --rate 20000 --seconds 2 --udp
# And one of the comparison styles (benchmarks/full_path), waiting in its own way.
"$overload" --sink "$sink" --rate 20000 --seconds 1 --style coroutine
# TCP, through the loopback driver at 20,000 frames/s.
"$overload" --tcp --loopback "$loopback" --rate 20000 --seconds 2

# Bad arguments get a clear error and status 2, never a run.
for bad in "--rate 0 --seconds 1" "--rate -5 --seconds 1" "--rate 10 --seconds x" "--bogus 1" \
  "--rate 10 --seconds 1 --style nosuch"; do
  if "$overload" --sink "$sink" $bad 2>/dev/null; then
    echo "FAIL: accepted bad arguments: $bad"
    exit 1
  fi
done
for bad in "--tcp --rate 10 --seconds 1" "--tcp --loopback $loopback --sink $sink --rate 10 --seconds 1" \
  "--tcp --loopback $loopback --rate 10 --seconds 1 --udp" "--loopback $loopback --rate 10 --seconds 1"; do
  if "$overload" $bad 2>/dev/null; then
    echo "FAIL: accepted bad arguments: $bad"
    exit 1
  fi
done
if "$loopback" --socket @x --rate-limit 0 2>/dev/null; then
  echo "FAIL: the loopback driver accepted --rate-limit 0"
  exit 1
fi
if "$sink" --socket @x --rate 10 --sequence-offset -1 2>/dev/null; then
  echo "FAIL: the sink accepted --sequence-offset -1"
  exit 1
fi
if "$sink" --socket @x --rate nope 2>/dev/null; then
  echo "FAIL: the sink accepted --rate nope"
  exit 1
fi
echo "bad arguments rejected"
