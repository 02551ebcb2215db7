#!/usr/bin/env bash
# iperf3 against the stack over TAP: Debian's unmodified iperf3 client in a private network
# namespace, pollstackd (its iperf3 server, port 5201) and tap_driver as separate processes, as in
# tests/interop/interop_test.sh but without captures, so the figures are the stack's and the
# TAP path's. Runs `iperf3 -c` (Linux -> stack) and `iperf3 -c -R` (stack -> Linux), single
# stream, MTU 1500, ROUNDS times each, interleaved, and prints one line per run and the range.
#   tools/iperf3_tap.sh BIN_DIR [SECONDS [ROUNDS]]      (defaults: 5 s, 3 rounds)
#   Environment: IPERF3_MODES="forward" or "reverse" runs one direction only; TAP_DRIVER_FLAGS
#   are passed to tap_driver (e.g. "--offload off").
#   (BIN_DIR: bazel-bin, holding tools/stack/pollstackd and tools/drivers/tap_driver)
# Needs root and /dev/net/tun; otherwise it says why and exits 77.
set -euo pipefail

bin="${1:?usage: iperf3_tap.sh BIN_DIR [SECONDS [ROUNDS]]}"
seconds="${2:-5}"
rounds="${3:-3}"
[[ "$seconds" =~ ^[0-9]+$ && "$rounds" =~ ^[0-9]+$ ]] || { echo "iperf3_tap: SECONDS and ROUNDS are whole numbers" >&2; exit 2; }
name=iperf3_tap
needs=(iperf3 python3)
# shellcheck source=tests/interop/netns_common.sh
source "$(dirname "$0")/../tests/interop/netns_common.sh"
enter_private_netns "$@"

start_in_netns
socket="@pollstack-iperf3-$$"
"$bin/tools/stack/pollstackd" --socket "$socket" --address 10.79.0.2/24 --attach-timeout 10 >"$work/stack.log" 2>&1 &
stack_pid=$!
pids+=("$stack_pid")
for _ in $(seq 50); do grep -q "waiting for a driver" "$work/stack.log" && break; sleep 0.1; done
"$bin/tools/drivers/tap_driver" --socket "$socket" --tap pstap2 ${TAP_DRIVER_FLAGS:-} >"$work/tap.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do ip link show pstap2 >/dev/null 2>&1 && grep -q "driver attached" "$work/stack.log" && break; sleep 0.1; done
grep -q "driver attached" "$work/stack.log" || { cat "$work/stack.log" "$work/tap.log"; echo "$name: FAIL: no driver"; exit 1; }
ip link set pstap2 up
ip addr add 10.79.0.1/24 dev pstap2
sysctl -qw net.ipv6.conf.pstap2.disable_ipv6=1 2>/dev/null || true

results="$work/results.txt"
for round in $(seq "$rounds"); do
  for mode in ${IPERF3_MODES:-forward reverse}; do
    flags=(); [[ "$mode" == reverse ]] && flags=(-R)
    iperf3 -c 10.79.0.2 -t "$seconds" -J "${flags[@]}" >"$work/run.json" 2>&1 ||
      { tail -c 2000 "$work/run.json"; echo "$name: FAIL: iperf3 ${flags[*]}"; exit 1; }
    python3 - "$work/run.json" "$mode" "$round" <<'PY' | tee -a "$results"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
r = end["sum_received"]
direction = "Linux -> stack" if sys.argv[2] == "forward" else "stack -> Linux"
print(f'{sys.argv[2]} round {sys.argv[3]}: {direction}: {r["bits_per_second"] / 1e9:.2f} Gbit/s '
      f'({r["bytes"]} bytes received in {r["seconds"]:.2f} s; sender retransmits: {end["sum_sent"].get("retransmits", "n/a")})')
PY
  done
done
python3 - "$results" "${IPERF3_MODES:-forward reverse}" <<'PY'
import re, sys
for mode in sys.argv[2].split():
    rates = [float(m.group(1)) for line in open(sys.argv[1]) if line.startswith(mode + " ")
             for m in [re.search(r"([0-9.]+) Gbit/s", line)]]
    print(f"iperf3_tap: {mode}: {min(rates):.2f}-{max(rates):.2f} Gbit/s over {len(rates)} runs")
PY
kill -INT "$stack_pid"
wait "$stack_pid" || true
grep -h "offload\|frames_to_linux" "$work/tap.log" | sed "s/^/$name: /" || true
grep -A10 '^iperf3:' "$work/stack.log" | tr -d ' ' | tr '\n' ' ' | sed "s/^/$name: pollstackd's counters: /"; echo
