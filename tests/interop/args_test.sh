#!/usr/bin/env bash
# pollstackd and tap_driver reject every bad argument with a clear message and status 2, before
# touching the network (no root needed: runs in the normal test suite).
set -euo pipefail
daemon="$1"
tap="$2"

expect_rejected() {
  local program="$1"
  shift
  local output status=0
  output=$("$program" "$@" 2>&1) || status=$?
  if [[ $status -ne 2 ]]; then
    echo "FAIL: '$(basename "$program") $*' exited $status (expected 2): $output"
    exit 1
  fi
  echo "rejected: $(basename "$program") $* -> ${output%%$'\n'*}"
}

ok=(--socket @x --address 10.0.0.2/24)
expect_rejected "$daemon"
expect_rejected "$daemon" --address 10.0.0.2/24
expect_rejected "$daemon" --socket @x
expect_rejected "$daemon" --socket @x --address 10.0.0.2
expect_rejected "$daemon" --socket @x --address 10.0.0.300/24
expect_rejected "$daemon" --socket @x --address 10.0.0.2/33
expect_rejected "$daemon" --socket @x --address 10.0.0.2/0
expect_rejected "$daemon" --socket @x --address 10.0.0.255/24
expect_rejected "$daemon" --socket @x --address 224.0.0.1/24
expect_rejected "$daemon" "${ok[@]}" --gateway 192.168.1.1
expect_rejected "$daemon" "${ok[@]}" --gateway nope
expect_rejected "$daemon" "${ok[@]}" --mac 01:00:00:00:00:01
expect_rejected "$daemon" "${ok[@]}" --mac 00:00:00:00:00:00
expect_rejected "$daemon" "${ok[@]}" --mac 02:00:00:00:00
expect_rejected "$daemon" "${ok[@]}" --mac 02:00:00:00:00:0g
expect_rejected "$daemon" "${ok[@]}" --mtu 575
expect_rejected "$daemon" "${ok[@]}" --mtu 1501
expect_rejected "$daemon" "${ok[@]}" --mtu -1
expect_rejected "$daemon" "${ok[@]}" --echo-port 65536
expect_rejected "$daemon" "${ok[@]}" --echo-port 9
expect_rejected "$daemon" "${ok[@]}" --attach-timeout 0
expect_rejected "$daemon" "${ok[@]}" --bogus 1
expect_rejected "$daemon" "${ok[@]}" --mtu
expect_rejected "$daemon" "${ok[@]}" --echo-port 0 --self-test
expect_rejected "$daemon" "${ok[@]}" --driver /nonexistent/driver
expect_rejected "$daemon" "${ok[@]}" --driver-arg --tap
expect_rejected "$daemon" "${ok[@]}" --tcp-client 10.0.0.1
expect_rejected "$daemon" "${ok[@]}" --tcp-client 10.0.0.1:0
expect_rejected "$daemon" "${ok[@]}" --tcp-client 10.0.0:7
expect_rejected "$daemon" "${ok[@]}" --tcp-client-bytes 100
expect_rejected "$daemon" "${ok[@]}" --http-port 7
expect_rejected "$daemon" "${ok[@]}" --http-port 9  # the discard port: TCP too
expect_rejected "$tap"
expect_rejected "$tap" --socket @x
expect_rejected "$tap" --socket @x --tap ""
expect_rejected "$tap" --socket @x --tap name-that-is-too-long
expect_rejected "$tap" --socket @x --tap a/b
expect_rejected "$tap" --socket @x --tap t0 --rate 5
expect_rejected "$tap" --socket @x --tap t0 --drop 101
expect_rejected "$tap" --socket @x --tap t0 --drop -1
expect_rejected "$tap" --socket @x --tap t0 --corrupt 2.5
expect_rejected "$tap" --socket @x --tap t0 --reorder
expect_rejected "$tap" --socket @x --tap t0 --seed x
expect_rejected "$tap" --socket @x --tap t0 --rate-limit 0

# A well-formed command line gets past parsing: with nobody attaching, it gives up after the
# attach timeout with status 1 and says why.
status=0
output=$("$daemon" "${ok[@]}" --socket "@args-test-$$" --attach-timeout 1 2>&1) || status=$?
[[ $status -eq 1 && "$output" == *"no driver attached"* ]] || { echo "FAIL: good arguments: status $status: $output"; exit 1; }
echo "good arguments accepted; no driver within 1 s -> status 1"
