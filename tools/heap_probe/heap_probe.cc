#include "tools/heap_probe/heap_probe.h"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace pollstack::heap_probe {
namespace {

// Plain thread-locals, not atomics: one add per allocation, so counting barely perturbs the
// benchmarks that read it.
thread_local Counts t_counts;
thread_local int t_forbid_depth = 0;

void* allocate(std::size_t size, std::size_t alignment, bool nothrow) {
  if (t_forbid_depth > 0) {
    std::fprintf(stderr, "heap_probe: operator new(%zu) inside a ForbidHeap scope\n", size);
    std::abort();
  }
  ++t_counts.allocations;
  t_counts.bytes += size;
  if (size == 0) size = 1;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  if (p == nullptr && !nothrow) {
    std::fprintf(stderr, "heap_probe: out of memory allocating %zu bytes\n", size);
    std::abort();
  }
  return p;
}

}  // namespace

Counts thread_counts() noexcept { return t_counts; }

ForbidHeap::ForbidHeap() noexcept { ++t_forbid_depth; }
ForbidHeap::~ForbidHeap() { --t_forbid_depth; }

}  // namespace pollstack::heap_probe


// The replaceable global allocation functions. Exceptions are not used in this project, so a
// failed throwing allocation aborts with a message rather than throwing std::bad_alloc.
using pollstack::heap_probe::allocate;

void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a), false);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a), false);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, static_cast<std::size_t>(a), true);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
