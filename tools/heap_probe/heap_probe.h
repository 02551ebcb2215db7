#pragma once
/// Heap probe: linked into a test or benchmark binary, it replaces the global operator new and
/// delete (every form) to count this thread's allocations and live bytes, and to abort on any
/// allocation made inside a ForbidHeap scope. It proves "no heap on this path" by running the path,
/// where the nm check (tools/no_heap_check.sh) proves it from the object files.
///
/// Scope: operator new (counted with sizes) and the malloc family (malloc, calloc, realloc,
/// memalign, aligned_alloc, posix_memalign: counted, and forbidden like operator new). Under
/// AddressSanitizer only operator new is probed (ASan owns malloc). Counts are per thread; live
/// bytes assume a block is freed on the thread that allocated it.

#include <cstddef>
#include <cstdint>

namespace pollstack::heap_probe {

struct Counts {
  std::uint64_t allocations = 0;      // operator new calls
  std::uint64_t bytes = 0;            // bytes requested by them
  std::uint64_t live_bytes = 0;       // requested and not yet freed
  std::uint64_t peak_live_bytes = 0;  // the most live_bytes has been since reset_peak()
  std::uint64_t mallocs = 0;          // malloc-family calls made directly (not by operator new)
};

/// The calling thread's counts.
Counts thread_counts() noexcept;

/// Starts a new peak measurement on the calling thread: peak := current live bytes.
void reset_peak() noexcept;

/// While an instance is alive on a thread, any operator new or malloc-family call on that thread
/// prints what was asked for and aborts. Nestable.
class ForbidHeap {
 public:
  ForbidHeap() noexcept;
  ~ForbidHeap();
  ForbidHeap(const ForbidHeap&) = delete;
  ForbidHeap& operator=(const ForbidHeap&) = delete;
};

}  // namespace pollstack::heap_probe
