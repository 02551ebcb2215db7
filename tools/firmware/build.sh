#!/usr/bin/env bash
# Builds the Cortex-M4 image (statemachines/ and layers/ with the LAN9118 driver and main loop:
# `bazel build --config=cortex-m4 //tools/firmware:pollstack_firmware`, arm-none-eabi-gcc,
# newlib-nano, no OS), copies it to out/firmware/pollstack_firmware.elf, and fails if
#   (a) an object or the image refers to the heap, exceptions or RTTI (tools/no_heap_check.sh),
#   (b) any header came from outside the cross toolchain and the repository (an OS header),
# then prints the image's size, the RAM of the stack's objects and the size report
# (size_report.py: the stack's code against a UDP-only build and a build without the stack) into
# out/firmware/size.txt.
# Usage: tools/firmware/build.sh [-- BAZEL_FLAGS...]   (from anywhere; seconds once Bazel has built it
# before; tools/setup.sh installs the compiler)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd -P)
out=out/firmware
image=$out/pollstack_firmware.elf

fail() {
  echo "firmware build FAILED: $*" >&2
  exit 1
}

for tool in arm-none-eabi-g++ arm-none-eabi-nm arm-none-eabi-size; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found: run tools/setup.sh (gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib)"
done

# The image is a Bazel target, built with the Cortex-M4 toolchain (tools/firmware/toolchain:
# arm-none-eabi-gcc, -Os, Thumb-2, soft float, no exceptions or RTTI, newlib-nano, no start files,
# --gc-sections). Soft float: the stack does no floating point, and the image then runs on a
# Cortex-M4 with or without its FPU. Extra flags for the build go after `--`, e.g.
#   tools/firmware/build.sh -- --copt=-DPOLLSTACK_FIRMWARE_ADDRESS='{192,168,1,50}'
bazel_flags=()
if [[ "${1:-}" == "--" ]]; then
  shift
  bazel_flags=("$@")
fi
rm -rf "$out"
mkdir -p "$out"
# With the image, the two the size report compares it with: UDP only, and no stack at all.
bazel build --config=cortex-m4 "${bazel_flags[@]}" //tools/firmware:pollstack_firmware \
  //tools/firmware:pollstack_firmware_udp //tools/firmware:size_baseline >"$out/bazel.log" 2>&1 || {
  cat "$out/bazel.log" >&2
  fail "bazel build --config=cortex-m4 //tools/firmware:... failed (above)"
}
built=$(bazel info --config=cortex-m4 "${bazel_flags[@]}" bazel-bin 2>/dev/null)  # where these flags put it
cp "$built/tools/firmware/pollstack_firmware" "$image"
chmod u+w "$image"
target=(-mcpu=cortex-m4 -mthumb -mfloat-abi=soft)  # as in the toolchain, for the compiler's own include directories
# The objects and their header lists (-MD, written by every compile) of the libraries in the image
# (with any object a renamed source left behind in Bazel's output tree: checking one more is harmless).
mapfile -t objects < <(find "$built/statemachines" "$built/layers" "$built/tools/firmware" -path '*/_objs/*' -name '*.o' 2>/dev/null | sort)
mapfile -t depfiles < <(find "$built/statemachines" "$built/layers" "$built/tools/firmware" -path '*/_objs/*' -name '*.d' 2>/dev/null | sort)
((${#objects[@]} > 0)) || fail "no objects under $built"

echo "--- (a) no heap, exception or RTTI symbol in the objects (before linking: names the culprit)"
NM=arm-none-eabi-nm tools/no_heap_check.sh "${objects[@]}" |
  sed "s#^#  #" || fail "heap, exception or RTTI symbols (above)"

echo "--- (b) no OS header: every header is the cross toolchain's or the repository's"
# The toolchain's own include directories, as the compiler reports them without our flags (so an
# -I or -idirafter added to cxxflags cannot allow itself), resolved: on Debian they are symlinks
# into /usr/include/newlib, which holds newlib and its libstdc++, not the host's headers.
allowed=("$repo")
while read -r dir; do
  allowed+=("$(realpath -m "$dir")")
done < <(arm-none-eabi-g++ -std=c++20 "${target[@]}" -x c++ -E -v /dev/null 2>&1 >/dev/null |
  sed -n '/^#include <...> search starts here:/,/^End of search list./p' | grep '^ ')
foreign=0
headers=0
for dep in "${depfiles[@]}"; do
  # A make rule: "x.o: a.cc b.h \" ... one path per word after the colon.
  while read -r path; do
    [[ "$path" == /* ]] || continue  # relative to Bazel's execution root: the repository's own files
    resolved=$(realpath -m "$path")
    headers=$((headers + 1))
    ok=0
    for prefix in "${allowed[@]}"; do
      [[ $resolved == "$prefix"/* ]] && ok=1 && break
    done
    if ((ok == 0)); then
      echo "  FAIL: $(basename "$dep" .d) includes $resolved"
      foreign=1
    fi
  done < <(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep" | tr -s ' ' '\n' | grep -v '^$')
done
((foreign == 0)) || fail "a header from outside the arm-none-eabi toolchain and the repository (above)"
echo "  ok:   $headers headers from outside the repository, all in the toolchain's include directories:"
printf '          %s\n' "${allowed[@]:1}"

echo "--- (a) ... nor in the linked image (what the C library and libgcc brought in)"
NM=arm-none-eabi-nm tools/no_heap_check.sh "$image" |
  sed "s#^#  #" || fail "heap, exception or RTTI symbols in the image (above)"

echo "--- (c) size"
{
  echo "# $image  (arm-none-eabi-g++ $(arm-none-eabi-g++ -dumpfullversion), ${target[*]} -Os)"
  arm-none-eabi-size -B "$image"
  arm-none-eabi-size -A "$image" |
    awk '$1 == ".bss" || $1 == ".stack" { printf "%s %d, ", $1, $2 } END { print "(size counts both as bss)" }'
  echo
  echo "# RAM of the objects main.cc places in static storage (bytes, from arm-none-eabi-nm)"
  arm-none-eabi-nm -C -t d --size-sort -S "$image" | awk '$3 ~ /^[bBdD]$/ && $NF ~ /::g_[a-z_]+$/ {
      name = $0; sub(/.*::/, "", name); printf "%8d  %s\n", $2, name }'
  echo
  python3 tools/firmware/size_report.py "$image" "$built/tools/firmware/pollstack_firmware_udp" \
    "$built/tools/firmware/size_baseline"
} | tee "$out/size.txt"
echo "firmware build passed: $image"
