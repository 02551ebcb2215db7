# Sourced by the interop tests (interop_test.sh, firmware_qemu_test.sh), which set `name` (the
# prefix of their messages) first. Everything they share:
#   enter_private_netns ARGS...   (with `needs` listing the commands the test runs) skips the test
#     (exit 77, never 0) without root, /dev/net/tun, one of those commands or unshare, and otherwise
#     runs the script again, with ARGS, in a private network namespace, so nothing it does is seen
#     outside; inside, it returns at once.
#   say, skip; `work`, a temporary directory, and `pids`, processes to kill, both cleaned up on exit.
#   check_capture PCAP MAC [--verbose], below.
say() { echo "$name: [$SECONDS s] $*"; }
skip() { echo "$name: SKIPPED: $*"; exit 77; }

enter_private_netns() {
  [[ -n "${POLLSTACK_IN_NETNS:-}" ]] && return 0
  [[ $(id -u) -eq 0 ]] || skip "needs root (it creates a network namespace and a TAP device)"
  [[ -c /dev/net/tun ]] || skip "no /dev/net/tun on this machine"
  local tool
  for tool in unshare ip "${needs[@]}"; do
    command -v "$tool" >/dev/null || skip "'$tool' is not installed (tools/setup.sh installs it)"
  done
  unshare --net true 2>/dev/null || skip "cannot create a network namespace here (unshare --net failed)"
  export POLLSTACK_IN_NETNS=1
  exec unshare --net -- "$0" "$@"
}

start_in_netns() {  # called once inside: the work directory and the clean-up
  work=$(mktemp -d)
  pids=()
  trap cleanup_netns EXIT
  ip link set lo up
}
cleanup_netns() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# check_capture PCAP MAC [--verbose] [--peer-offloads] checks a tshark capture of a clean link and
# prints one line: no malformed packet, no bad checksum (IP, UDP, TCP, ICMP), no TCP retransmission
# by either side, and at least one frame from MAC (the stack under test). On a failure it prints
# the offending packets in full and calls `fail` (the caller's). --peer-offloads: the capture was
# taken on Linux's side of a TAP device that offers checksum offload (tap_driver's default), where
# Linux's outgoing UDP and TCP frames carry only the pseudo-header's sum, which tap_driver completes
# after the capture saw them: those are not judged here (the stack's own capture, taken after the
# driver, holds them completed and is checked without this flag). The stack's frames always are.
check_capture() {
  local pcap="$1" mac="$2" verbose="" peer_offloads=0 flag
  for flag in "${@:3}"; do
    case "$flag" in
      --verbose) verbose=--verbose ;;
      --peer-offloads) peer_offloads=1 ;;
      "") ;;
      *) fail "check_capture: unknown flag $flag" ;;
    esac
  done
  local checks=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE)  # ICMP's always are
  # A TCP checksum of 0xffff where 0x0000 is computed is the same one's complement zero (RFC 1624
  # §3: receivers accept both); Linux sent one in a run of ~28,000 frames (CI, 2026-12-04),
  # and tshark calls it Bad. Tolerated from the peer, never from the stack (it sends ~sum: never 0xffff).
  local bad_filter="_ws.malformed || ip.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || (tcp.checksum.status == \"Bad\" && !(tcp.checksum == 0xffff && eth.src != $mac))"
  ((peer_offloads)) &&
    bad_filter="_ws.malformed || ip.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || ((udp.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\") && eth.src == $mac)"
  local bad from_us total resent
  tshark -r "$pcap" -c 1 >/dev/null 2>&1 || fail "tshark cannot read the capture $pcap"
  bad=$(tshark -r "$pcap" "${checks[@]}" -Y "$bad_filter" 2>/dev/null | wc -l)
  from_us=$(tshark -r "$pcap" -Y "eth.src == $mac" 2>/dev/null | wc -l)
  total=$(tshark -r "$pcap" 2>/dev/null | wc -l)
  [[ "$verbose" == --verbose ]] && tshark -r "$pcap" "${checks[@]}" 2>/dev/null | sed 's/^/  /'
  ((from_us > 0)) || fail "the capture holds no frame from the stack"
  if ((bad > 0)); then
    tshark -r "$pcap" "${checks[@]}" -V -Y "$bad_filter" 2>/dev/null | head -150
    fail "the capture holds $bad malformed or bad-checksum packets (printed above)"
  fi
  # On a clean link nothing is lost, so nothing may be retransmitted, by either side.
  resent=$(tshark -r "$pcap" -Y 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission' 2>/dev/null | wc -l)
  if ((resent > 0)); then
    tshark -r "$pcap" -Y 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission' 2>/dev/null | head -20
    fail "the capture holds $resent TCP retransmissions on a clean link (printed above)"
  fi
  local judged="0 bad checksums"
  ((peer_offloads)) && judged="0 bad checksums from the stack (Linux's transport checksums are completed after this capture)"
  say "capture: $total frames ($from_us from the stack), 0 malformed, $judged, 0 TCP retransmissions (tshark)"
}
