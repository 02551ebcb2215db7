#!/usr/bin/env bash
# Installs what the project needs from Debian's archive, only when missing. Idempotent: a second
# run on a ready machine does nothing and needs no network.
set -euo pipefail

packages=(
  bazel-bootstrap    # Bazel 4.2.3
  bazel-platforms    # @platforms, mapped in WORKSPACE
  bazel-rules-java   # @rules_java, mapped in WORKSPACE
  g++                # g++ 12
  clang              # clang 14: the libFuzzer harnesses (tools/fuzz.sh)
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes for clang
  binutils           # nm, for the no-heap checks
  doctest-dev        # @doctest
  libbenchmark-dev   # @benchmark
  liblwip-dev        # @lwip: lwIP 2.1.3, the side-by-side UDP benchmark (benchmarks/udp_path)
  python3            # tools/*.py (benchmark tables)
  tshark             # reads the pcap driver's captures in tests
  graphviz           # dot: renders docs/diagrams/ from the declared transitions (tools/diagrams/)
  iproute2           # ip: the interop tests' TAP device and addresses
  iputils-ping       # ping: Linux pinging the stack in the interop tests
  curl               # curl: Linux fetching the stack's HTTP page in the interop tests
  iperf3             # iperf3 -c: Linux measuring the stack's iperf3 server in the interop tests
  util-linux         # unshare: the interop tests' private network namespace
  valgrind           # callgrind: instructions per datagram in tools/run.sh
  gcc-arm-none-eabi  # arm-none-eabi-g++ 12: the Cortex-M4 image (tools/firmware/build.sh)
  libstdc++-arm-none-eabi-newlib  # newlib(-nano) and libstdc++'s headers for that image
  qemu-system-arm    # boots that image on an emulated MPS2 board (tests/interop/firmware_qemu_test.sh)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
$sudo apt-get update -qq
# tshark's package asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
