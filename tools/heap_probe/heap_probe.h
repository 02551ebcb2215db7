#pragma once
/// Heap probe: linked into a test or benchmark binary, it replaces the global operator new and
/// delete (every form) to count this thread's allocations, and to abort on any allocation made
/// inside a ForbidHeap scope. It proves "no heap on this path" by running the path, where the nm
/// check (tests/statemachines/no_heap_check.sh) proves it from the object files.
///
/// Scope: C++ allocation (operator new). malloc() called directly is caught by the nm check.

#include <cstddef>
#include <cstdint>

namespace pollstack::heap_probe {

struct Counts {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
};

/// Allocations made by the calling thread since it started.
Counts thread_counts() noexcept;

/// While an instance is alive on a thread, any operator new on that thread prints what was asked
/// for and aborts. Nestable.
class ForbidHeap {
 public:
  ForbidHeap() noexcept;
  ~ForbidHeap();
  ForbidHeap(const ForbidHeap&) = delete;
  ForbidHeap& operator=(const ForbidHeap&) = delete;
};

}  // namespace pollstack::heap_probe
