#!/usr/bin/env bash
# The stack program and a driver program as two processes, without privileges: pollstackd
# --self-test over the loopback driver (started by pollstackd itself with --driver) pings its own
# address, gets UDP echoed by its own echo service and a port unreachable from a closed port, and
# connects to its own TCP echo service (256 KiB back intact). Also the fallback tools/run.sh shows
# where the TAP interop cannot run.
set -euo pipefail
daemon="$1"
loopback="$2"
socket="@pollstack-selftest-$$"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$daemon" --socket "$socket" --address 10.9.9.2/24 --self-test --attach-timeout 10 --driver "$loopback" \
  >"$log" 2>&1 || status=$?
cat "$log"
[[ $status -eq 0 ]] || { echo "FAIL: pollstackd --self-test exited with status $status"; exit 1; }
[[ $(grep -c "self-test: ok" "$log") -eq 4 ]] || { echo "FAIL: expected four passed self-test steps"; exit 1; }
echo "PASS"
