#!/usr/bin/env bash
# Fails if any given archive, object or linked image refers to the heap, exceptions or RTTI.
# Usage: [NM=nm] no_heap_check.sh FILE...
#   Bazel passes the archives of the product libraries (host nm); tools/firmware/build.sh passes
#   the Cortex-M4 objects and the linked .elf with NM=arm-none-eabi-nm.
set -euo pipefail

nm_tool=${NM:-nm}

# The heap: the C allocator (and newlib's reentrant _r variants, which newlib's malloc, stdio and
# abort() call), sbrk, and every operator new/delete (size_t is `m` in LP64 manglings, `j` on
# 32-bit Arm). Exceptions: the C++ ABI's throw/catch entry points, the personality routines
# (Arm EHABI's __aeabi_unwind_cpp_pr*) and the unwinder. Not every __cxa_ name: guards and
# __cxa_atexit are not exceptions. RTTI: typeinfo objects and names, and what needs them.
heap='malloc|calloc|realloc|free|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|_sbrk|sbrk'
heap+='|_malloc_r|_calloc_r|_realloc_r|_free_r|_memalign_r|_malloc_usable_size_r|_sbrk_r|__malloc_lock'
heap+='|_Znw[jm].*|_Zna[jm].*|_ZdlPv.*|_ZdaPv.*'
exceptions='__cxa_allocate_exception|__cxa_free_exception|__cxa_throw|__cxa_rethrow|__cxa_begin_catch'
exceptions+='|__cxa_end_catch|__cxa_end_cleanup|__cxa_call_unexpected|__cxa_get_exception_ptr'
exceptions+='|__gxx_personality_v0|__aeabi_unwind_cpp_pr[0-9]|_Unwind_.*|_ZSt[0-9]+__throw_.*'
rtti='__dynamic_cast|_ZTI.*|_ZTS.*|_ZTVN10__cxxabiv1.*'
forbidden="^(${heap}|${exceptions}|${rtti})\$"
# Placement new and delete allocate nothing (an -O0 build emits them out of line).
placement='^(_Znw[jm]Pv|_Zna[jm]Pv|_ZdlPvS_|_ZdaPvS_)$'

checked=0
status=0
for f in "$@"; do
  case "$f" in *.a | *.o | *.lo | *.elf) ;; *) continue ;; esac
  checked=$((checked + 1))
  # Every symbol the object defines or needs; typeinfo (_ZTI/_ZTS) may appear defined too.
  # An unreadable file is a failure, not a pass.
  if ! symbols=$("$nm_tool" -P "$f"); then
    echo "FAIL: cannot read symbols of $f"
    status=1
    continue
  fi
  hits=$(awk '{print $1}' <<<"$symbols" | grep -E "$forbidden" | grep -vE "$placement" | sort -u || true)
  if [[ -n "$hits" ]]; then
    echo "FAIL: $f refers to forbidden symbols:"
    echo "$hits" | sed 's/^/  /'
    status=1
  else
    echo "ok:   $f"
  fi
done

if ((checked == 0)); then
  echo "FAIL: no object files were given to check" >&2
  exit 1
fi
exit $status
