#!/usr/bin/env bash
# Fails if any given archive or object refers to the heap, exceptions or RTTI.
# Usage: no_heap_check.sh FILE...  (Bazel passes the archives of the product libraries)
set -euo pipefail

forbidden='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|_sbrk|sbrk|_Znwm|_Znam|_ZnwmSt11align_val_t|_ZnamSt11align_val_t|_ZnwmRKSt9nothrow_t|_ZnamRKSt9nothrow_t|__cxa_allocate_exception|__cxa_throw|__cxa_begin_catch|__cxa_rethrow|__gxx_personality_v0|_Unwind_Resume|__dynamic_cast|_ZTI.*|_ZTS.*|_ZSt[0-9]+__throw_.*)$'

checked=0
status=0
for f in "$@"; do
  case "$f" in *.a | *.o | *.lo) ;; *) continue ;; esac
  checked=$((checked + 1))
  # Every symbol the object defines or needs; typeinfo (_ZTI/_ZTS) may appear defined too.
  # An unreadable file is a failure, not a pass.
  if ! symbols=$(nm -P "$f"); then
    echo "FAIL: cannot read symbols of $f"
    status=1
    continue
  fi
  hits=$(awk '{print $1}' <<<"$symbols" | grep -E "$forbidden" | sort -u || true)
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
