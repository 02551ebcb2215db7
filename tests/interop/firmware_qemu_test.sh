#!/usr/bin/env bash
# The stack on a microcontroller, against Linux: QEMU boots the Cortex-M4 image (mps2-an386, its
# LAN9118 on a TAP device in a private network namespace) and Linux, on the other end, resolves it
# with ARP, pings it with 0, 56 and 1472 data bytes and a soak of 300 pings, sends it one frame
# too long for its buffers (dropped and counted), and
# firmware_client.py checks UDP echo byte for byte, closed ports (ICMP unreachable, TCP RST), TCP
# echo of 64 KiB with a half-close, a soak of random-sized UDP echoes, and the firmware's own
# report at the end (every buffer free, every echo counted); the image then stops through
# semihosting with status 0. A tshark capture must show no malformed packet, no bad checksum and
# no TCP retransmission.
#
#   tests/interop/firmware_qemu_test.sh IMAGE.elf [SOAK_EXCHANGES] [SEED] [MACHINE]
#   (IMAGE: out/firmware/pollstack_firmware.elf from tools/firmware/build.sh, built with the
#   default address 10.0.0.2/24 and MAC 02:00:00:00:00:02; MACHINE: QEMU's board, mps2-an386 for
#   a Cortex-M4 image (the default), mps2-an385 for a Cortex-M3 one)
# Needs root, /dev/net/tun and qemu-system-arm: without them it says why and exits 77 (skipped).
set -euo pipefail

image="${1:?usage: firmware_qemu_test.sh IMAGE.elf [SOAK_EXCHANGES] [SEED] [MACHINE]}"
soak="${2:-500}"
seed="${3:-1}"
machine="${4:-mps2-an386}"
name=firmware
needs=(ping python3 tshark qemu-system-arm)
# shellcheck source=tests/interop/netns_common.sh
source "$(dirname "$0")/netns_common.sh"
enter_private_netns "$@"

# ---- inside the private namespace from here on ----
[[ -f "$image" ]] || { echo "firmware: FAIL: $image is not built (tools/firmware/build.sh)"; exit 1; }
start_in_netns
tap=fwtap0
linux_ip=10.0.0.1
firmware_ip=10.0.0.2
firmware_mac=02:00:00:00:00:02
fail() {
  echo "firmware: FAIL: $*"
  echo "--- the firmware's console (semihosting)"; cat "$work/qemu.log" 2>/dev/null || true
  exit 1
}

ip tuntap add dev "$tap" mode tap
ip link set "$tap" up
ip addr add "$linux_ip/24" dev "$tap"
sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null || true  # no IPv6 chatter on the link

tshark -q -i "$tap" -w "$work/capture.pcapng" >"$work/tshark.log" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
for _ in $(seq 50); do [[ -s "$work/capture.pcapng" ]] && break; sleep 0.1; done

qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$image" \
  -nic "tap,ifname=$tap,script=no,downscript=no,model=lan9118" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
pids+=("$qemu_pid")
for _ in $(seq 100); do grep -q "firmware: up" "$work/qemu.log" && break; sleep 0.1; done
grep -q "firmware: up" "$work/qemu.log" || fail "the image did not boot within 10 s"
say "QEMU $machine booted the image: $(grep -m1 'firmware: up' "$work/qemu.log")"

# 1. ARP and ping.
ping -c 3 -i 0.2 -W 2 "$firmware_ip" >"$work/ping.log" || fail "ping $firmware_ip got no replies: $(cat "$work/ping.log")"
neighbour=$(ip neigh show "$firmware_ip" dev "$tap")
[[ "$neighbour" == *"lladdr $firmware_mac"* ]] || fail "Linux's ARP entry is '$neighbour', expected lladdr $firmware_mac"
say "ARP: Linux resolved $firmware_ip to $firmware_mac; ping: $(grep -o 'rtt.*' "$work/ping.log")"
for size in 0 56 1472; do
  ping -c 1 -W 2 -M do -s "$size" "$firmware_ip" >/dev/null || fail "ping with $size data bytes got no reply"
done
say "ping: replies for 0, 56 and 1472 data bytes (1500-byte packets, don't fragment)"
# A frame longer than the driver's buffers (Linux's side of the link allows 2000 bytes for this):
# the driver must read it out of the chip, drop it and count it (rx_oversize, checked in the report).
ip link set "$tap" mtu 2000
ping -c 1 -W 1 -M do -s 1600 "$firmware_ip" >/dev/null 2>&1 && fail "a 1642-byte frame was answered"
ip link set "$tap" mtu 1500
say "a 1642-byte frame (more than a receive buffer holds) got no answer; the report must count it"
ping -q -c 300 -i 0.005 -W 2 -s 1000 "$firmware_ip" >"$work/ping_soak.log" || true
grep -q " 0% packet loss" "$work/ping_soak.log" || fail "the ping soak lost replies: $(grep 'packet loss' "$work/ping_soak.log")"
say "ping soak: 300 of 300 answered, $(grep -o 'rtt.*' "$work/ping_soak.log")"

# 2. UDP, TCP, closed ports, the soak and the report (the firmware stops after it).
python3 "$(dirname "$0")/firmware_client.py" "$firmware_ip" "$soak" "$seed" 1 || fail "the host-side checks failed"

# 3. The image stopped itself (semihosting exit, status 0) and printed its report.
status=0
for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qemu_pid" 2>/dev/null && fail "the image answered 'exit' but QEMU still runs 5 s later"
wait "$qemu_pid" || status=$?
((status == 0)) || fail "QEMU exited with status $status"
grep -q "exit requested" "$work/qemu.log" || fail "the firmware did not report its exit"
say "the image stopped through semihosting (status 0) after printing its report"

# 4. The capture.
sleep 0.3
kill -INT "$capture_pid" 2>/dev/null || true
wait "$capture_pid" 2>/dev/null || true
check_capture "$work/capture.pcapng" "$firmware_mac"
say "PASS"
