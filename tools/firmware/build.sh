#!/usr/bin/env bash
# Cross-compiles statemachines/ and layers/ with the LAN9118 driver and main loop for a Cortex-M4
# (arm-none-eabi-g++, newlib-nano, no OS), links out/firmware/pollstack_firmware.elf, and fails if
#   (a) an object or the image refers to the heap, exceptions or RTTI (tools/no_heap_check.sh),
#   (b) any header came from outside the cross toolchain and the repository (an OS header),
# then prints the image's size and the RAM of the stack's objects (out/firmware/size.txt).
# Usage: tools/firmware/build.sh   (from anywhere; a few seconds; tools/setup.sh installs the compiler)
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

# Soft float: the stack does no floating point, and the image then runs on a Cortex-M4 with or
# without its FPU (the M4F's FPU stays off; use -mfloat-abi=hard -mfpu=fpv4-sp-d16 if the
# application wants it).
target=(-mcpu=cortex-m4 -mthumb -mfloat-abi=soft)
cxxflags=(
  -std=c++20 "${target[@]}" -Os -DNDEBUG
  -fno-exceptions -fno-rtti -fno-threadsafe-statics
  -ffunction-sections -fdata-sections -fstack-usage
  -Wall -Wextra -I.
)
# Every product source that is meant to be OS-free (statemachines/hosted/ is not), found by glob
# so that a new .cc in statemachines/ or layers/ is cross-compiled without editing this list.
shopt -s nullglob
sources=(statemachines/*.cc layers/*.cc layers/*/*.cc tools/firmware/*.cc)
shopt -u nullglob

rm -rf "$out"
mkdir -p "$out"
objects=()
for src in "${sources[@]}"; do
  obj=$out/$(tr / _ <<<"${src%.cc}").o  # statemachines/contract.cc -> statemachines_contract.o
  arm-none-eabi-g++ "${cxxflags[@]}" -MD -MF "${obj%.o}.d" -c "$src" -o "$obj" || fail "cannot compile $src"
  objects+=("$obj")
done

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
for dep in "$out"/*.d; do
  # A make rule: "x.o: a.cc b.h \" ... one path per word after the colon.
  while read -r path; do
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
echo "  ok:   $headers files included, all from the repository or the toolchain's include directories:"
printf '          %s\n' "${allowed[@]:1}"

# -nostartfiles: startup.cc is the startup (no crt0, no _init). Only libc_nano's memcpy/memset and
# libgcc's helpers are linked in; no -lnosys and no _sbrk of ours, so anything that wanted the
# heap would fail to link, and the symbol check below names it either way.
arm-none-eabi-g++ "${target[@]}" -nostartfiles --specs=nano.specs -Wl,--gc-sections \
  -T tools/firmware/mps2_an386.ld -Wl,-Map="$out/pollstack_firmware.map" \
  "${objects[@]}" -o "$image" || fail "cannot link $image"

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
  echo "# largest stack frames of the compiled functions, linked or not (-fstack-usage; not the depth)"
  cat "$out"/*.su | sort -t$'\t' -k2,2 -n -r |
    awk -F'\t' 'NR <= 3 { sub(/\(.*/, "", $1); printf "%8d  %s\n", $2, $1 }'  # awk, not head: no SIGPIPE
} | tee "$out/size.txt"
echo "firmware build passed: $image"
