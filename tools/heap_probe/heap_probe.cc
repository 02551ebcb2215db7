#include "tools/heap_probe/heap_probe.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>

// glibc's own allocator entry points: the malloc family below forwards to them, and operator new
// uses them directly so that one allocation is counted once.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace pollstack::heap_probe {
namespace {

// Plain thread-locals, not atomics: a few adds per allocation, so counting barely perturbs the
// benchmarks that read it.
thread_local Counts t_counts;
thread_local int t_forbid_depth = 0;

// Each block is preceded by a header holding the requested size, so frees can update live bytes.
// The header is as large as the block's alignment, keeping the user pointer aligned.
std::size_t header_size(std::size_t alignment) {
  return std::max(alignment, alignof(std::max_align_t));
}

void* allocate(std::size_t size, std::size_t alignment, bool nothrow) {
  if (t_forbid_depth > 0) {
    std::fprintf(stderr, "heap_probe: operator new(%zu) inside a ForbidHeap scope\n", size);
    std::abort();
  }
  const std::size_t header = header_size(alignment);
  const std::size_t total = (header + size + header - 1) / header * header;
  void* raw = header == alignof(std::max_align_t) ? __libc_malloc(total) : __libc_memalign(header, total);
  if (raw == nullptr) {
    if (nothrow) return nullptr;
    std::fprintf(stderr, "heap_probe: out of memory allocating %zu bytes\n", size);
    std::abort();
  }
  auto* user = static_cast<unsigned char*>(raw) + header;
  reinterpret_cast<std::size_t*>(user)[-1] = size;
  ++t_counts.allocations;
  t_counts.bytes += size;
  t_counts.live_bytes += size;
  t_counts.peak_live_bytes = std::max(t_counts.peak_live_bytes, t_counts.live_bytes);
  return user;
}

void release(void* block, std::size_t alignment) {
  if (block == nullptr) return;
  auto* user = static_cast<unsigned char*>(block);
  t_counts.live_bytes -= reinterpret_cast<std::size_t*>(user)[-1];
  __libc_free(user - header_size(alignment));
}

}  // namespace

// A malloc-family call. No printf here: it may allocate. The message is a fixed string.
void on_malloc() noexcept {
  if (t_forbid_depth > 0) {
    static constexpr char kMessage[] = "heap_probe: malloc-family call inside a ForbidHeap scope\n";
    (void)!write(2, kMessage, sizeof kMessage - 1);
    std::abort();
  }
  ++t_counts.mallocs;
}

Counts thread_counts() noexcept { return t_counts; }
void reset_peak() noexcept { t_counts.peak_live_bytes = t_counts.live_bytes; }

ForbidHeap::ForbidHeap() noexcept { ++t_forbid_depth; }
ForbidHeap::~ForbidHeap() { --t_forbid_depth; }

}  // namespace pollstack::heap_probe

// The replaceable global allocation functions. Exceptions are not used in this project, so a
// failed throwing allocation aborts with a message rather than throwing std::bad_alloc.
using pollstack::heap_probe::allocate;
using pollstack::heap_probe::release;

namespace {
std::size_t align_of(std::align_val_t a) { return static_cast<std::size_t>(a); }
}  // namespace

void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, align_of(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, align_of(a), false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, align_of(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, align_of(a), true);
}

void operator delete(void* p) noexcept { release(p, 0); }
void operator delete[](void* p) noexcept { release(p, 0); }
void operator delete(void* p, std::size_t) noexcept { release(p, 0); }
void operator delete[](void* p, std::size_t) noexcept { release(p, 0); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p, 0); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p, 0); }
void operator delete(void* p, std::align_val_t a) noexcept { release(p, align_of(a)); }
void operator delete[](void* p, std::align_val_t a) noexcept { release(p, align_of(a)); }
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { release(p, align_of(a)); }
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept { release(p, align_of(a)); }
void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  release(p, align_of(a));
}
void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  release(p, align_of(a));
}

// The malloc family, forwarded to glibc after the check. Not under AddressSanitizer, which
// replaces these functions itself (there, operator new is still probed; the default build checks
// malloc too).
#if !defined(__SANITIZE_ADDRESS__)
extern "C" {
void* malloc(std::size_t n) {
  pollstack::heap_probe::on_malloc();
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) {
  pollstack::heap_probe::on_malloc();
  return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) {
  pollstack::heap_probe::on_malloc();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  pollstack::heap_probe::on_malloc();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  pollstack::heap_probe::on_malloc();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  pollstack::heap_probe::on_malloc();
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}
#endif
