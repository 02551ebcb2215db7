#pragma once
/// BufferLedger: the stack's record of who holds each pool buffer, and the gate every descriptor
/// coming back from the driver passes through.
///
/// A buffer is always in exactly one state: free (in the stack's free list), held by the stack (a
/// TX buffer being filled, or a received frame being read), or lent to the driver (for
/// transmission, or as an empty buffer to receive into). The driver can only give back what it
/// was lent, in the direction it was lent: anything else is counted with its reason and dropped,
/// and the buffer it names is left where it was.

#include <array>
#include <cstdint>
#include <optional>

#include "driver_channel/descriptor.h"
#include "driver_channel/options.h"
#include "statemachines/state_cell.h"

namespace pollstack::driver_channel {

enum class BufferState : std::uint8_t {
  kFree,        // in the free list
  kStackHeld,   // a TX buffer being filled, or a received frame being read
  kLentForTx,   // in the TX ring or with the driver, to be sent
  kLentForRx,   // in the RX-fill ring or with the driver, to receive into
};

/// A pool buffer's life, as the ledger enforces it (docs/diagrams/ draws it).
inline constexpr auto kBufferTransitions = transitions(BufferState::kFree, {
    {BufferState::kFree, BufferState::kStackHeld, "take_free(): a TX reservation, or a buffer to post for RX"},
    {BufferState::kStackHeld, BufferState::kFree, "release(): a frame read, or a reservation dropped"},
    {BufferState::kStackHeld, BufferState::kLentForTx, "lend(): a frame submitted"},
    {BufferState::kStackHeld, BufferState::kLentForRx, "lend(): posted to the RX-fill ring"},
    {BufferState::kLentForTx, BufferState::kFree, "TX done from the driver, or reclaimed from a dead one"},
    {BufferState::kLentForRx, BufferState::kStackHeld, "a received frame from the driver"},
    {BufferState::kLentForRx, BufferState::kFree, "reclaimed from a dead driver"},
});

/// Why a descriptor from the driver was rejected. Each has its own counter.
enum class Rejection : std::uint8_t {
  kBadIndex,   // buffer index outside the pool
  kNotLent,    // buffer not lent in this direction: returned twice, or never lent
  kBadBounds,  // offset + length outside the buffer (RX only)
  kBadFlags,   // reserved flags not zero
};
inline constexpr std::size_t kRejectionKinds = 4;

struct LedgerCounters {
  std::array<std::uint64_t, kRejectionKinds> rejected{};  // indexed by Rejection
  std::uint64_t reclaimed = 0;  // buffers taken back from a dead driver

  std::uint64_t count(Rejection why) const { return rejected[static_cast<std::size_t>(why)]; }
  std::uint64_t total_rejected() const;
};

class BufferLedger {
 public:
  /// Every buffer starts free.
  BufferLedger() noexcept;

  /// A free buffer, now held by the stack; nullopt when none is free. Inline: returned from an
  /// out-of-line call, the optional was written as a 4- and a 1-byte store and read back as one
  /// 8-byte load, a store-forwarding stall on every transmit (perf annotate, benchmarks/udp_path).
  std::optional<std::uint32_t> take_free() noexcept {
    if (free_count_ == 0) return std::nullopt;
    const std::uint32_t buffer = free_list_[--free_count_];
    state_[buffer].set(BufferState::kStackHeld);
    return buffer;
  }

  /// Puts a stack-held buffer back in the free list.
  void release(std::uint32_t buffer) noexcept;

  /// Marks a stack-held buffer as lent to the driver for `state` (kLentForTx or kLentForRx).
  void lend(std::uint32_t buffer, BufferState state) noexcept;

  /// Checks a TX-done descriptor; on success the buffer is free again. Returns the rejection, if
  /// any (already counted).
  std::optional<Rejection> accept_tx_done(const Descriptor& d) noexcept;

  /// Checks an RX descriptor; on success the buffer is held by the stack (a received frame).
  std::optional<Rejection> accept_rx(const Descriptor& d) noexcept;

  /// The driver is gone: every buffer lent to it is free again. Returns how many.
  std::uint32_t reclaim_lent() noexcept;

  BufferState state(std::uint32_t buffer) const noexcept { return state_[buffer].get(); }
  std::uint32_t free_count() const noexcept { return free_count_; }
  std::uint32_t count_in(BufferState s) const noexcept;
  const LedgerCounters& counters() const noexcept { return counters_; }

 private:
  std::optional<Rejection> check_return(const Descriptor& d, BufferState expected) noexcept;
  std::optional<Rejection> reject(Rejection why) noexcept;
  void push_free(std::uint32_t buffer) noexcept;

  // Each buffer's state; the cells' machine type names them in traces and diagrams.
  struct PoolBuffer;
  std::array<StateCell<PoolBuffer, &kBufferTransitions>, kBufferCount> state_{};
  std::array<std::uint16_t, kBufferCount> free_list_{};  // a stack of free buffer indices
  std::uint32_t free_count_ = 0;
  LedgerCounters counters_;
};
static_assert(kBufferCount <= 65536, "free list stores 16-bit indices");

}  // namespace pollstack::driver_channel
