#pragma once
/// Every capacity of the driver channel, in one place. Both processes are built from this header;
/// the region header records these values and attach() refuses a region whose values differ.
///
/// RAM cost of one channel: kBufferCount * kBufferBytes for the pool, plus four rings of
/// kRingCapacity * sizeof(Descriptor) (16 bytes) each, plus a few cache lines of control words.
/// With the defaults: 512 KiB of buffers + 4 * 4 KiB of descriptors.

#include <cstddef>
#include <cstdint>

namespace pollstack::driver_channel {

/// Packet buffers in the shared pool. Each is lent to the driver (for TX or for RX) or held by
/// the stack, never both.
inline constexpr std::uint32_t kBufferCount = 256;

/// Bytes per buffer: one Ethernet frame of MTU 1500 plus header (1514) rounded up to a multiple of
/// 64 so buffers never share a cache line, with room left for a VLAN tag.
inline constexpr std::uint32_t kBufferBytes = 2048;

/// Slots per descriptor ring. A power of two (indices wrap with a mask), and at least
/// kBufferCount so that a ring can never be the reason a lent buffer has nowhere to go back.
inline constexpr std::uint32_t kRingCapacity = 256;

/// Buffers lent to the driver to receive into; the rest of the pool serves transmission. A
/// received frame's buffer goes back to the driver when the stack drops it.
inline constexpr std::uint32_t kRxFillBuffers = kBufferCount / 2;

/// Largest batch moved in one enqueue or dequeue (bounded work per call).
inline constexpr std::uint32_t kMaxBatch = 32;

inline constexpr std::size_t kCacheLineBytes = 64;

static_assert((kRingCapacity & (kRingCapacity - 1)) == 0, "ring capacity must be a power of two");
static_assert(kRingCapacity >= kBufferCount, "a ring must be able to hold every buffer");
static_assert(kBufferBytes % kCacheLineBytes == 0, "buffers must not share cache lines");
static_assert(kMaxBatch <= kRingCapacity);
static_assert(kRxFillBuffers < kBufferCount, "some buffers must remain for transmission");

}  // namespace pollstack::driver_channel
