#pragma once
/// Descriptor: what crosses a ring. It names a buffer in the shared pool and the bytes in use; the
/// bytes themselves never move (zero copy).

#include <cstdint>

namespace pollstack::driver_channel {

struct Descriptor {
  std::uint32_t buffer = 0;  // index into the pool
  std::uint32_t offset = 0;  // first byte of the frame within the buffer
  std::uint32_t length = 0;  // bytes of frame
  std::uint32_t flags = 0;   // reserved; must be 0
};
static_assert(sizeof(Descriptor) == 16);

}  // namespace pollstack::driver_channel
