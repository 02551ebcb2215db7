#!/usr/bin/env bash
# Interop against the Linux kernel's own stack: our stack (pollstackd) and the TAP driver run as
# separate processes; Linux, on the other end of a TAP device, resolves us with ARP, pings us (up
# to the MTU), exchanges UDP with our echo service byte for byte, and gets ICMP port unreachable
# (ECONNREFUSED on its socket) from a closed port; a capture of everything must show no malformed
# packet and no bad checksum. TCP: Linux's client writes 10 MiB to our echo service and reads it
# back byte for byte, with a half-close; 1 MiB goes to our discard service; a closed port answers
# RST (ECONNREFUSED); 2 MiB go the
# same way through a second stack whose TAP driver drops, duplicates, reorders and corrupts frames;
# curl fetches the stack's HTTP page of counters; the stack connects to an echo server on Linux;
# Debian's iperf3 client measures the stack's iperf3 server both ways (-c, -c -R).
# pollstackd captures every frame it receives and sends (--pcap); at the end tshark reads that
# capture back (well formed, every protocol there, one frame per frame the channel counted); on a
# failure its last frames are printed and the file is kept.
#
# Everything happens in a private network namespace (unshare --net) on a private test subnet,
# so nothing is ever sent outside it. Needs root and /dev/net/tun: without either, it says why and
# exits 77 (skipped), never 0.
#
#   tests/interop/interop_test.sh BIN_DIR [--verbose]
#   (BIN_DIR: bazel-bin, holding tools/stack/pollstackd and tools/drivers/tap_driver)
set -euo pipefail

bin="${1:?usage: interop_test.sh BIN_DIR [--verbose]}"
verbose="${2:-}"
name=interop
needs=(ping python3 tshark curl iperf3)
# shellcheck source=tests/interop/netns_common.sh
source "$(dirname "$0")/netns_common.sh"
enter_private_netns "$@"

# ---- inside the private namespace from here on ----
for program in tools/stack/pollstackd tools/drivers/tap_driver; do
  [[ -x "$bin/$program" ]] || { echo "interop: FAIL: $bin/$program is not built"; exit 1; }
done
start_in_netns
tap=pstap0
linux_ip=10.77.0.1
stack_ip=10.77.0.2
stack_mac=02:00:5e:77:00:02
socket="@pollstack-interop-$$"
fail() {
  echo "interop: FAIL: $*"
  echo "--- pollstackd"; cat "$work/stack.log" 2>/dev/null || true
  echo "--- tap_driver"; cat "$work/tap.log" 2>/dev/null || true
  show_stack_capture "$work/stack.pcap"
  show_stack_capture "$work/impaired_stack.pcap"
  exit 1
}
# The last frames pollstackd captured (its writer flushes every millisecond, so the file is current
# while it runs), and the whole capture kept where the test's work directory is not removed.
show_stack_capture() {
  [[ -s "$1" ]] || return 0
  local kept="${TMPDIR:-/tmp}/pollstack-interop-$$-$(basename "$1")"
  cp "$1" "$kept"
  echo "--- the last 40 frames pollstackd captured (all of them: $kept)"
  tshark -r "$kept" 2>&1 | tail -40
}

# --tcp-client: once attached, the stack connects to Linux's echo server (started below; it
# retries until it answers) and checks 4 MiB echoed back.
"$bin/tools/stack/pollstackd" --socket "$socket" --address "$stack_ip/24" --mac "$stack_mac" \
  --tcp-client "$linux_ip:7007" --tcp-client-bytes $((4 << 20)) --attach-timeout 10 --pcap "$work/stack.pcap" \
  >"$work/stack.log" 2>&1 &
stack_pid=$!
pids+=("$stack_pid")
for _ in $(seq 50); do grep -q "waiting for a driver" "$work/stack.log" && break; sleep 0.1; done
"$bin/tools/drivers/tap_driver" --socket "$socket" --tap "$tap" >"$work/tap.log" 2>&1 &
tap_pid=$!
pids+=("$tap_pid")
for _ in $(seq 50); do ip link show "$tap" >/dev/null 2>&1 && grep -q "driver attached" "$work/stack.log" && break; sleep 0.1; done
grep -q "driver attached" "$work/stack.log" || fail "the TAP driver did not attach"
ip link set "$tap" up
ip addr add "$linux_ip/24" dev "$tap"
# Linux must not send anything but what the tests ask for: no IPv6 chatter on the link.
sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null || true
say "namespace up: Linux $linux_ip on $tap <-> tap_driver <-> pollstackd $stack_ip ($stack_mac)"

tshark -q -i "$tap" -w "$work/capture.pcapng" >"$work/tshark.log" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
for _ in $(seq 50); do [[ -s "$work/capture.pcapng" ]] && break; sleep 0.1; done
sleep 0.5

# 1. ARP and ping.
ping -c 3 -i 0.2 -W 2 "$stack_ip" >"$work/ping.log" || fail "ping $stack_ip got no replies: $(cat "$work/ping.log")"
say "ping: $(grep -o '[0-9]* received' "$work/ping.log") of 3, $(grep -o 'rtt.*' "$work/ping.log")"
neighbour=$(ip neigh show "$stack_ip" dev "$tap")
[[ "$neighbour" == *"lladdr $stack_mac"* ]] || fail "Linux's ARP entry for $stack_ip is '$neighbour', expected lladdr $stack_mac"
say "ARP: Linux resolved $stack_ip to $stack_mac"
for size in 0 1 56 1000 1472; do
  ping -c 1 -W 2 -M do -s "$size" "$stack_ip" >"$work/ping.log" || fail "ping with $size data bytes got no reply"
done
ping -c 1 -W 1 -M do -s 1473 "$stack_ip" >/dev/null 2>&1 && fail "a 1501-byte ping (above the MTU) was answered"
say "ping: replies for 0, 1, 56, 1000 and 1472 data bytes (1500-byte packets, don't fragment)"

# 2. UDP echo, byte for byte, and 3. a closed port.
python3 - "$stack_ip" <<'PY' || fail "UDP checks failed"
import os, socket, sys
stack = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
sizes = [0, 1, 2, 63, 64, 100, 512, 1000, 1471, 1472]
for size in sizes:
    payload = os.urandom(size)
    s.sendto(payload, (stack, 7))
    data, peer = s.recvfrom(4096)
    if data != payload or peer != (stack, 7):
        sys.exit(f"echo of {size} bytes came back wrong: {len(data)} bytes from {peer}")
print(f"interop: UDP echo: {len(sizes)} datagrams of 0-1472 bytes came back byte for byte")
for _ in range(100):
    s.sendto(b"x" * 32, (stack, 9))  # discard: nothing comes back
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect((stack, 4444))
c.send(b"is anyone there?")
try:
    c.recv(100)
    sys.exit("a closed port answered with data")
except ConnectionRefusedError:
    print("interop: closed port: Linux reported ICMP port unreachable to the client socket (ECONNREFUSED)")
except socket.timeout:
    sys.exit("a closed port: no ICMP port unreachable within 2 s")
PY

# 4. TCP: Linux connects to our echo service, writes 10 MiB while reading it back, half-closes
# and reads to the end of the stream: byte for byte, then our FIN. A closed port refuses.
python3 "$(dirname "$0")/tcp_echo_client.py" "$stack_ip" $((10 << 20)) "TCP echo" || fail "TCP echo failed"
python3 - "$stack_ip" <<'PY' || fail "TCP to a closed port"
import socket, sys
c = socket.socket()
c.settimeout(3)
try:
    c.connect((sys.argv[1], 4444))
    sys.exit("a closed TCP port accepted a connection")
except ConnectionRefusedError:
    print("interop: TCP to a closed port: RST, Linux reported ECONNREFUSED")
PY
# 4b. TCP discard: Linux writes 1 MiB, half-closes, and must then see our FIN (end of stream)
# with nothing before it; the byte count is checked against pollstackd's counters at the end.
python3 - "$stack_ip" <<'PY' || fail "TCP discard failed"
import socket, sys
c = socket.create_connection((sys.argv[1], 9), timeout=10)
c.sendall(bytes(range(256)) * 4096)
c.shutdown(socket.SHUT_WR)
rest = c.recv(1)
if rest != b"":
    sys.exit(f"the discard service sent data back: {rest!r}")
c.close()
print("interop: TCP discard: 1 MiB written, half-closed, our FIN came back with nothing before it")
PY

# 4a. We connect to Linux: a Python echo server on Linux's side; pollstackd's --tcp-client
# connects to it, sends 4 MiB with a half-close and checks the echo.
python3 - "$linux_ip" <<'PY' >"$work/echo_server.log" 2>&1 &
import socket, sys
server = socket.create_server((sys.argv[1], 7007))
connection, _ = server.accept()
while True:
    data = connection.recv(65536)
    if not data:
        break
    connection.sendall(data)
connection.shutdown(socket.SHUT_WR)
connection.close()
PY
pids+=($!)
for _ in $(seq 400); do grep -q "tcp client:" "$work/stack.log" && break; sleep 0.1; done
client=$(grep "tcp client:" "$work/stack.log" || true)
[[ "$client" == *"tcp client: ok"* ]] || fail "the stack's TCP client against Linux's echo server: ${client:-no outcome in 40 s}"
say "the stack connected to Linux: ${client#*tcp client: ok   }"

# 4b. HTTP: curl fetches the counters page (the stack serves it over its own TCP), and the
# answers to what the server does not serve.
page=$(curl -sS --max-time 5 "http://$stack_ip/") || fail "curl http://$stack_ip/ failed"
[[ "$page" == *"tcp:"* && "$page" == *"segments_received="* && "$page" == *"ethernet:"* ]] ||
  fail "the HTTP page does not show the counters: $page"
status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://$stack_ip/nothing-here") || fail "curl /nothing-here"
[[ "$status" == 404 ]] || fail "GET /nothing-here answered $status, expected 404"
status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d x "http://$stack_ip/") || fail "curl -X POST"
[[ "$status" == 405 ]] || fail "POST / answered $status, expected 405"
say "HTTP: curl got the counters page ($(printf '%s' "$page" | wc -l) lines, 200), 404 for another path, 405 for POST"

# 5. The same TCP echo through an impaired, slow link: a second stack and TAP driver on their own
# subnet, the driver dropping, duplicating, reordering and corrupting frames both ways (seeded),
# and taking at most 2,000 frames a second from the stack: the stack's segments leave slowly, its
# send buffer fills, its echo's writes wait (and stop reading), its window closes, and Linux's
# writes wait in turn (backpressure end to end), with nothing lost.
# start_stack NAME SUBNET TAP [tap_driver arguments...]: another pollstackd at SUBNET.2 (MAC
# 02:00:5e:<SUBNET's second number>:00:02; pollstackd's extra arguments in stack_args) behind its
# own tap_driver on TAP, Linux at SUBNET.1; logs in $work/NAME_stack.log and $work/NAME_tap.log;
# the two processes' ids in stack_pid_of_last and tap_pid_of_last.
start_stack() {
  local name="$1" subnet="$2" tap_name="$3"
  shift 3
  local sock="@pollstack-interop-$name-$$" octet
  octet=$(cut -d. -f2 <<<"$subnet")
  "$bin/tools/stack/pollstackd" --socket "$sock" --address "$subnet.2/24" --mac "02:00:5e:$octet:00:02" \
    --attach-timeout 10 ${stack_args[@]+"${stack_args[@]}"} >"$work/${name}_stack.log" 2>&1 &
  stack_pid_of_last=$!
  pids+=("$stack_pid_of_last")
  for _ in $(seq 50); do grep -q "waiting for a driver" "$work/${name}_stack.log" && break; sleep 0.1; done
  "$bin/tools/drivers/tap_driver" --socket "$sock" --tap "$tap_name" "$@" >"$work/${name}_tap.log" 2>&1 &
  tap_pid_of_last=$!
  pids+=("$tap_pid_of_last")
  for _ in $(seq 50); do ip link show "$tap_name" >/dev/null 2>&1 && grep -q "driver attached" "$work/${name}_stack.log" && break; sleep 0.1; done
  grep -q "driver attached" "$work/${name}_stack.log" || fail "the $name stack's TAP driver did not attach"
  ip link set "$tap_name" up
  ip addr add "$subnet.1/24" dev "$tap_name"
  sysctl -qw "net.ipv6.conf.$tap_name.disable_ipv6=1" 2>/dev/null || true
}
impairments=(--drop 2 --duplicate 1 --reorder 2 --corrupt 1 --seed 7 --rate-limit 2000)
stack_args=(--pcap "$work/impaired_stack.pcap")
start_stack impaired 10.78.0 pstap1 "${impairments[@]}"
impaired_stack_pid=$stack_pid_of_last
impaired_tap_pid=$tap_pid_of_last
python3 "$(dirname "$0")/tcp_echo_client.py" 10.78.0.2 $((2 << 20)) "TCP echo through the impaired link" ||
  fail "TCP through the impaired link failed: $(cat "$work/impaired_stack.log" "$work/impaired_tap.log")"
kill -INT "$impaired_stack_pid"
wait "$impaired_stack_pid" || fail "the impaired pollstackd exited with status $?"
wait "$impaired_tap_pid" 2>/dev/null || true
say "impairments applied (tap_driver, ${impairments[*]}): $(grep -h 'impaired' "$work/impaired_tap.log" | sed 's/tap_driver: impaired //' | tr '\n' ';')"
grep -A20 '^tcp:' "$work/impaired_stack.log" | grep -E 'retransmissions|fast_retransmits|malformed' | tr -d ' ' | tr '\n' ' ' |
  sed 's/^/interop: the impaired stack recovered: /'; echo
tx_waits=$(grep -A4 '^channel:' "$work/impaired_stack.log" | grep -o 'tx_pending=[0-9]*' | cut -d= -f2)
write_waits=$(grep -A30 '^tcp:' "$work/impaired_stack.log" | grep -o 'write_pending=[0-9]*' | cut -d= -f2)
((write_waits > 0)) || fail "no backpressure through the slow link: the echo's writes never waited"
say "backpressure: at 2,000 frames/s the echo's writes waited for room in the send buffer $write_waits times (the channel's sends $tx_waits: TCP's windows keep fewer frames in flight than the ring holds); nothing was lost"

# 6. The capture: no malformed packet, no bad checksum, and the traffic we expect.
sleep 0.5
kill -INT "$capture_pid" 2>/dev/null || true
wait "$capture_pid" 2>/dev/null || true
check_capture "$work/capture.pcapng" "$stack_mac" "$verbose" --peer-offloads

# 6b. iperf3: Debian's unmodified client against the iperf3 server of a third stack, without
# captures (tshark's TCP analysis of gigabytes in 1 MiB windows takes minutes), both directions:
# 2 s forward, 512 MiB reverse (-n: a byte count, which the server's sending side honours). The
# rates are shown, not judged (this machine is shared); what is checked is that both ends agree on
# each completed test, and the server's counters.
stack_args=()
start_stack iperf3 10.80.0 pstap2
iperf3_stack_pid=$stack_pid_of_last
for mode in forward reverse; do
  flags=(-t 2); [[ "$mode" == reverse ]] && flags=(-n 512M -R)
  timeout 60 iperf3 -c 10.80.0.2 -J "${flags[@]}" >"$work/iperf3-$mode.json" 2>"$work/iperf3-$mode.err" ||
    fail "iperf3 -c 10.80.0.2 ${flags[*]}: $(cat "$work/iperf3-$mode.err"; head -c 2000 "$work/iperf3-$mode.json")"
  summary=$(python3 - "$work/iperf3-$mode.json" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]
sent, received = end["sum_sent"], end["sum_received"]
assert received["bytes"] > 0 and sent["bytes"] >= received["bytes"], (sent["bytes"], received["bytes"])
print(f'{received["bits_per_second"] / 1e9:.2f} Gbit/s, {received["bytes"]} bytes received of {sent["bytes"]} sent')
PY
  ) || fail "iperf3 ${flags[*]}: the two ends' results do not agree: $(tail -c 3000 "$work/iperf3-$mode.json")"
  say "iperf3 -c 10.80.0.2 ${flags[*]}: $summary"
done
kill -INT "$iperf3_stack_pid"
wait "$iperf3_stack_pid" || fail "the iperf3 pollstackd exited with status $?"
iperf3_counter() { grep -A9 '^iperf3:' "$work/iperf3_stack.log" | grep -o "$1=[0-9]*" | cut -d= -f2; }
[[ "$(iperf3_counter tests_completed)" == 2 ]] ||
  fail "pollstackd's iperf3 server completed $(iperf3_counter tests_completed) tests, expected 2"
[[ "$(iperf3_counter bytes_sent)" == $((512 << 20)) ]] ||
  fail "the reverse test's byte count: the server sent $(iperf3_counter bytes_sent) bytes, not 512 MiB"

# 7. A clean stop, with the counters.
kill -INT "$stack_pid"
wait "$stack_pid" || fail "pollstackd exited with status $?"
grep -q "stopped by a signal" "$work/stack.log" || fail "pollstackd did not report a clean stop"
echoed=$(grep -A1 '^echo:' "$work/stack.log" | grep -o 'echoed=[0-9]*' | cut -d= -f2)
discarded=$(grep -A1 '^discard:' "$work/stack.log" | grep -o 'datagrams=[0-9]*' | cut -d= -f2)
[[ "$echoed" == 10 ]] || fail "pollstackd echoed $echoed datagrams, expected 10"
[[ "$discarded" == 100 ]] || fail "pollstackd discarded $discarded datagrams, expected 100"
tcp_echoed=$(grep -A6 '^tcp_echo:' "$work/stack.log" | grep -o 'bytes_echoed=[0-9]*' | cut -d= -f2)
tcp_ended=$(grep -A6 '^tcp_echo:' "$work/stack.log" | grep -o 'sessions_ended=[0-9]*' | cut -d= -f2)
[[ "$tcp_echoed" == 10485760 && "$tcp_ended" == 1 ]] ||
  fail "pollstackd echoed $tcp_echoed TCP bytes in $tcp_ended sessions, expected 10485760 in 1"
tcp_discarded=$(grep -A6 '^tcp_discard:' "$work/stack.log" | grep -o 'bytes_discarded=[0-9]*' | cut -d= -f2)
[[ "$tcp_discarded" == 1048576 ]] || fail "pollstackd discarded $tcp_discarded TCP bytes, expected 1048576"
say "pollstackd stopped cleanly: echoed $echoed datagrams and $tcp_echoed TCP bytes, discarded $discarded datagrams and $tcp_discarded TCP bytes"

# 8. pollstackd's own capture (--pcap): what the stack saw and sent, read back by tshark.
counter() { grep -A12 "^$1:" "$work/stack.log" | grep -o "$2=[0-9]*" | head -1 | cut -d= -f2; }
captured=$(counter pcap frames)
capture_drops=$(counter pcap dropped)
channel_frames=$(($(counter channel rx_received) + $(counter channel tx_submitted)))
((captured + capture_drops == channel_frames)) ||
  fail "pollstackd captured $captured frames and dropped $capture_drops, but its channel moved $channel_frames"
# One line per frame: the frame numbers alone (a summary line may hold a newline from a payload
# tshark decodes as text, e.g. iperf3's random data).
read_back=$(tshark -r "$work/stack.pcap" -T fields -e frame.number 2>/dev/null | wc -l)
((read_back == captured)) || fail "tshark read $read_back frames of the $captured pollstackd wrote to its capture"
for protocol in arp icmp udp tcp http; do
  n=$(tshark -r "$work/stack.pcap" -Y "$protocol" 2>/dev/null | wc -l)
  ((n > 0)) || fail "pollstackd's capture holds no $protocol frame"
done
check_capture "$work/stack.pcap" "$stack_mac"
# The driver's offload (its default): Linux handed it TCP frames of up to 64 KiB (TSO), which it
# cut into the wire frames the capture above holds with every checksum good; nothing refused.
wait "$tap_pid" 2>/dev/null || true
gso_frames=$(grep -o 'gso_frames_from_linux=[0-9]*' "$work/tap.log" | cut -d= -f2 || true)
((${gso_frames:-0} > 0)) || fail "tap_driver was handed no GSO frame: is offload on? ($(cat "$work/tap.log"))"
! grep -q 'offload: refused' "$work/tap.log" || fail "tap_driver refused frames from Linux: $(grep 'refused' "$work/tap.log")"
say "offload: Linux handed tap_driver $gso_frames GSO frames, cut into $(grep -o 'gso_segments=[0-9]*' "$work/tap.log" | cut -d= -f2) wire frames, none refused"
say "pollstackd --pcap: $captured frames captured ($capture_drops dropped), as many as its channel moved; ARP, ICMP, UDP, TCP and HTTP in it"

# 9. TCP options with Linux, both ways, in that capture: every handshake agreed window scaling,
# timestamps (RFC 7323) and SACK (RFC 2018): the stack's SYN-ACKs to Linux's SYNs and Linux's
# SYN-ACK to the stack's SYN; every segment the stack sent afterwards carries timestamps.
options_in() {  # $1: a capture, $2: a display filter; prints "frames with-wscale with-timestamps with-sack-permitted with-sack-blocks"
  tshark -r "$1" -Y "$2" -T fields -e frame.number -e tcp.options.wscale.shift -e tcp.options.timestamp.tsval \
    -e tcp.options.sack_perm -e tcp.options.sack.count 2>/dev/null |
    awk -F'\t' '{ n++; if ($2 != "") w++; if ($3 != "") t++; if ($4 != "") p++; if ($5 != "" && $5 > 0) b++ }
                 END { printf "%d %d %d %d %d", n, w, t, p, b }'
}
read -r n w t p _ <<<"$(options_in "$work/stack.pcap" "tcp.flags.syn==1 && tcp.flags.ack==1 && eth.src==$stack_mac")"
((n > 0 && w == n && t == n && p == n)) ||
  fail "of the stack's $n SYN-ACKs, $w carry a window scale, $t timestamps, $p SACK-permitted"
read -r n2 w2 t2 p2 _ <<<"$(options_in "$work/stack.pcap" "tcp.flags.syn==1 && tcp.flags.ack==1 && eth.dst==$stack_mac")"
((n2 > 0 && w2 == n2 && t2 == n2 && p2 == n2)) ||
  fail "of Linux's $n2 SYN-ACKs to the stack, $w2 carry a window scale, $t2 timestamps, $p2 SACK-permitted"
read -r n3 _ t3 _ _ <<<"$(options_in "$work/stack.pcap" "tcp.flags.syn==0 && tcp.flags.reset==0 && eth.src==$stack_mac")"
((n3 > 0 && t3 == n3)) || fail "of the stack's $n3 segments after a handshake, only $t3 carry timestamps"
say "TCP options with Linux: $n SYN-ACKs of ours and $n2 of Linux's agreed window scaling, timestamps and SACK; all $n3 later segments of ours carry timestamps"
# Through the impaired link, SACK worked both ways: the stack reported what it held past a loss,
# Linux did too, and the stack resent holes from its scoreboard.
read -r _ _ _ _ ours <<<"$(options_in "$work/impaired_stack.pcap" "tcp && eth.src==02:00:5e:78:00:02")"
read -r _ _ _ _ theirs <<<"$(options_in "$work/impaired_stack.pcap" "tcp && eth.dst==02:00:5e:78:00:02")"
sack_resent=$(grep -A40 '^tcp:' "$work/impaired_stack.log" | grep -o 'sack_retransmits=[0-9]*' | cut -d= -f2)
((ours > 0 && theirs > 0 && sack_resent > 0)) ||
  fail "SACK through the impaired link: $ours segments of ours and $theirs of Linux's carried SACK blocks, ${sack_resent:-no} holes resent from the scoreboard"
say "SACK through the impaired link: $ours segments of ours and $theirs of Linux's carried SACK blocks; the stack resent $sack_resent holes from its scoreboard"
[[ "$verbose" == --verbose ]] && sed 's/^/  /' "$work/stack.log"
say "PASS"
