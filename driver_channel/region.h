#pragma once
/// The shared region: one memfd mapped by the stack and the driver, holding the four rings and the
/// buffer pool. The stack creates it; the driver maps it from the fd it receives and checks the
/// header before trusting the layout.
///
///   tx       stack -> driver   frames to send
///   tx_done  driver -> stack   sent buffers, back to the stack
///   rx       driver -> stack   received frames
///   rx_fill  stack -> driver   empty buffers to receive into

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "driver_channel/options.h"
#include "driver_channel/ring.h"

namespace pollstack::driver_channel {

struct RegionHeader {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t buffer_count;
  std::uint32_t buffer_bytes;
  std::uint32_t ring_capacity;
};

inline constexpr std::uint32_t kRegionMagic = 0x706f6c6c;  // "poll"
inline constexpr std::uint32_t kRegionVersion = 1;

struct RegionLayout {
  RegionHeader header;
  RingShared tx;
  RingShared tx_done;
  RingShared rx;
  RingShared rx_fill;
  alignas(4096) std::byte buffers[kBufferCount][kBufferBytes];
};

/// An owned mapping of the region (and, on the stack side, the memfd). Move-only.
class SharedRegion {
 public:
  /// Stack side: a new memfd, sized, mapped, rings empty. nullopt and *error = errno on failure.
  static std::optional<SharedRegion> create(int* error) noexcept;

  /// Driver side: maps `fd` (taking ownership of it) and checks size and header. nullopt and
  /// *error = errno (EINVAL for a region of another size, magic, version or geometry).
  static std::optional<SharedRegion> map(int fd, int* error) noexcept;

  SharedRegion(SharedRegion&& other) noexcept;
  SharedRegion& operator=(SharedRegion&&) = delete;
  ~SharedRegion();

  RegionLayout& layout() noexcept { return *layout_; }
  int fd() const noexcept { return fd_; }
  std::span<std::byte> buffer(std::uint32_t index) noexcept {  // inline: on every frame's path
    return std::span<std::byte>(layout_->buffers[index], kBufferBytes);
  }

 private:
  SharedRegion(int fd, RegionLayout* layout) noexcept : fd_(fd), layout_(layout) {}

  int fd_;
  RegionLayout* layout_;
};

}  // namespace pollstack::driver_channel
