#!/usr/bin/env bash
# The whole test suite: the README's test command, and what CI runs.
#   1. installs what is missing (tools/setup.sh);
#   2. `bazel test //...` with transition tracing compiled in (`--config=trace`: also records which
#      declared transitions the tests take), then tools/diagrams/diagrams.py --check: the committed
#      state diagrams and coverage table match the code and the tests, and every transition no
#      test takes is listed with its reason; then `bazel test //...` under ASan and UBSan;
#   3. builds the product code in the firmware config (-fno-exceptions -fno-rtti), then
#      cross-compiles it for a Cortex-M4 with the LAN9118 driver and main loop (tools/firmware:
#      arm-none-eabi-g++, newlib-nano, no OS headers; no heap, exception or RTTI symbol);
#   4. a short run of every libFuzzer harness (tools/fuzz.sh, clang with ASan + UBSan);
#   5. the interop tests against the Linux kernel over a TAP device in a private network namespace
#      (tests/interop/interop_test.sh), then the Cortex-M4 image booted on QEMU's mps2-an386
#      against Linux the same way (tests/interop/firmware_qemu_test.sh), the same application
#      built for a Cortex-M3 on mps2-an385, and a debug build (contract checks on); each reported
#      as SKIPPED, never as passed, without root, /dev/net/tun or QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh

step() { printf '\n=== %s\n' "$*"; }

step "bazel test //... with transition tracing (--config=trace)"
bazel test --config=trace //...

step "state diagrams and transition coverage are current (tools/diagrams/diagrams.py --check)"
python3 tools/diagrams/diagrams.py --check

step "bazel test //... under AddressSanitizer"
bazel test --config=asan //...

step "bazel test //... under UndefinedBehaviorSanitizer"
bazel test --config=ubsan //...

step "firmware config builds the product code (statemachines/, driver_channel/, layers/)"
bazel build --config=firmware //statemachines/... //driver_channel/... //layers/... \
  //tests/statemachines:firmware_probe

step "Cortex-M4 image: statemachines/ and layers/ cross-compiled, no heap/exception/RTTI symbol"
tools/firmware/build.sh

step "a short run of every fuzz harness"
tools/fuzz.sh

step "interop against Linux over a TAP device, in a private network namespace"
bazel build //tools/stack:pollstackd //tools/drivers:tap_driver
interop_status=0
tests/interop/interop_test.sh "$(bazel info bazel-bin 2>/dev/null)" || interop_status=$?
case $interop_status in
  0) interop="interop passed" ;;
  77) interop="interop SKIPPED (see above): not run on this machine" ;;
  *) echo "interop tests FAILED"; exit 1 ;;
esac

step "the Cortex-M4 image on QEMU (mps2-an386, LAN9118) against Linux over a TAP device"
firmware_status=0
tests/interop/firmware_qemu_test.sh out/firmware/pollstack_firmware.elf || firmware_status=$?
if ((firmware_status == 0)); then
  step "the same application for a Cortex-M3, on QEMU's mps2-an385"
  bazel build --config=cortex-m3 //tools/firmware:pollstack_firmware
  mkdir -p out/firmware/cortex-m3
  cp "$(bazel info --config=cortex-m3 bazel-bin 2>/dev/null)/tools/firmware/pollstack_firmware" \
    out/firmware/cortex-m3/pollstack_firmware.elf
  chmod u+w out/firmware/cortex-m3/pollstack_firmware.elf
  NM=arm-none-eabi-nm tools/no_heap_check.sh out/firmware/cortex-m3/pollstack_firmware.elf
  tests/interop/firmware_qemu_test.sh out/firmware/cortex-m3/pollstack_firmware.elf 500 2 mps2-an385 ||
    firmware_status=$?
fi
if ((firmware_status == 0)); then
  step "a debug build of the Cortex-M4 image (contract checks on, -Og), the same test on QEMU"
  debug=(--config=cortex-m4 -c dbg --copt=-Og)
  bazel build "${debug[@]}" //tools/firmware:pollstack_firmware
  mkdir -p out/firmware/debug
  cp "$(bazel info "${debug[@]}" bazel-bin 2>/dev/null)/tools/firmware/pollstack_firmware" \
    out/firmware/debug/pollstack_firmware.elf
  chmod u+w out/firmware/debug/pollstack_firmware.elf
  NM=arm-none-eabi-nm tools/no_heap_check.sh out/firmware/debug/pollstack_firmware.elf
  tests/interop/firmware_qemu_test.sh out/firmware/debug/pollstack_firmware.elf 200 3 || firmware_status=$?
fi
case $firmware_status in
  0) firmware="the firmware on QEMU (Cortex-M4, M3, M4 debug) passed" ;;
  77) firmware="the firmware on QEMU SKIPPED (see above)" ;;
  *) echo "the firmware test on QEMU FAILED"; exit 1 ;;
esac

step "all tests passed; $interop; $firmware"
