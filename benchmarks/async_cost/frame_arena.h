#pragma once
// FrameArena: where the arena-coroutine variant's frames come from instead of the heap. A bump
// allocator over caller-provided storage: lazy tasks free frames in reverse order of allocation
// (a child finishes before its parent), so freeing the top frame pops it, and the arena rewinds
// completely whenever no frame is live. Exhaustion returns nullptr, which the coroutine machinery
// turns into a task that reports failure (no exception).

#include <cstddef>
#include <cstdint>
#include <span>

namespace pollstack::async_cost {

class FrameArena {
 public:
  static constexpr std::size_t kAlignment = 16;
  static constexpr std::size_t kDefaultCapacity = 16 * 1024;

  explicit FrameArena(std::span<std::byte> storage) noexcept;
  FrameArena(const FrameArena&) = delete;
  FrameArena& operator=(const FrameArena&) = delete;

  /// `size` bytes aligned to kAlignment, or nullptr (and a counted failure) when full.
  void* allocate(std::size_t size) noexcept;
  /// Frees a block from allocate() with the same size.
  void deallocate(void* block, std::size_t size) noexcept;

  std::size_t live_bytes() const noexcept { return top_; }
  std::size_t high_water_bytes() const noexcept { return high_water_; }
  std::uint64_t failures() const noexcept { return failures_; }
  void reset_statistics() noexcept {
    high_water_ = top_;
    failures_ = 0;
  }

  /// The calling thread's arena: the one installed by a live Use, else a per-thread default of
  /// kDefaultCapacity bytes.
  static FrameArena& current() noexcept;

  /// Installs an arena as the thread's current one for a scope.
  class Use {
   public:
    explicit Use(FrameArena& arena) noexcept;
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    FrameArena* previous_;
  };

 private:
  static constexpr std::size_t rounded(std::size_t size) {
    return (size + kAlignment - 1) / kAlignment * kAlignment;
  }

  std::byte* base_;
  std::size_t capacity_;
  std::size_t top_ = 0;
  std::size_t live_blocks_ = 0;
  std::size_t high_water_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace pollstack::async_cost
