#include "benchmarks/async_cost/frame_arena.h"

namespace pollstack::async_cost {
namespace {
thread_local FrameArena* t_current = nullptr;
}  // namespace

FrameArena::FrameArena(std::span<std::byte> storage) noexcept
    : base_(storage.data()), capacity_(storage.size()) {}

void* FrameArena::allocate(std::size_t size) noexcept {
  const std::size_t need = rounded(size);
  if (need > capacity_ - top_) {
    ++failures_;
    return nullptr;
  }
  void* block = base_ + top_;
  top_ += need;
  ++live_blocks_;
  if (top_ > high_water_) high_water_ = top_;
  return block;
}

void FrameArena::deallocate(void* block, std::size_t size) noexcept {
  --live_blocks_;
  const std::size_t need = rounded(size);
  if (static_cast<std::byte*>(block) + need == base_ + top_) top_ -= need;  // the top frame
  if (live_blocks_ == 0) top_ = 0;  // out-of-order frees are reclaimed once all are gone
}

FrameArena& FrameArena::current() noexcept {
  if (t_current == nullptr) [[unlikely]] {
    alignas(kAlignment) static thread_local std::byte storage[kDefaultCapacity];
    static thread_local FrameArena fallback{std::span<std::byte>(storage)};
    t_current = &fallback;
  }
  return *t_current;
}

FrameArena::Use::Use(FrameArena& arena) noexcept : previous_(t_current) { t_current = &arena; }
FrameArena::Use::~Use() { t_current = previous_; }

}  // namespace pollstack::async_cost
