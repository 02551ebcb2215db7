#include "driver_channel/buffer_ledger.h"

#include "statemachines/contract.h"

namespace pollstack::driver_channel {

std::uint64_t LedgerCounters::total_rejected() const {
  std::uint64_t total = 0;
  for (std::uint64_t n : rejected) total += n;
  return total;
}

BufferLedger::BufferLedger() noexcept {
  // Pushed in reverse so take_free() hands out 0, 1, 2... (easier to read in traces).
  for (std::uint32_t i = kBufferCount; i-- > 0;) free_list_[free_count_++] = static_cast<std::uint16_t>(i);
}

void BufferLedger::push_free(std::uint32_t buffer) noexcept {
  state_[buffer].set(BufferState::kFree);
  free_list_[free_count_++] = static_cast<std::uint16_t>(buffer);
}

void BufferLedger::release(std::uint32_t buffer) noexcept {
  expect(buffer < kBufferCount && state_[buffer].get() == BufferState::kStackHeld,
         "BufferLedger::release(): buffer not held by the stack");
  push_free(buffer);
}

void BufferLedger::lend(std::uint32_t buffer, BufferState state) noexcept {
  expect(buffer < kBufferCount && state_[buffer].get() == BufferState::kStackHeld,
         "BufferLedger::lend(): buffer not held by the stack");
  expect(state == BufferState::kLentForTx || state == BufferState::kLentForRx,
         "BufferLedger::lend(): not a lent state");
  state_[buffer].set(state);
}

std::optional<Rejection> BufferLedger::reject(Rejection why) noexcept {
  ++counters_.rejected[static_cast<std::size_t>(why)];
  return why;
}

std::optional<Rejection> BufferLedger::check_return(const Descriptor& d, BufferState expected) noexcept {
  if (d.buffer >= kBufferCount) return reject(Rejection::kBadIndex);
  if (d.flags != 0) return reject(Rejection::kBadFlags);
  if (state_[d.buffer].get() != expected) return reject(Rejection::kNotLent);
  return std::nullopt;
}

std::optional<Rejection> BufferLedger::accept_tx_done(const Descriptor& d) noexcept {
  if (auto bad = check_return(d, BufferState::kLentForTx)) return bad;
  push_free(d.buffer);
  return std::nullopt;
}

std::optional<Rejection> BufferLedger::accept_rx(const Descriptor& d) noexcept {
  if (auto bad = check_return(d, BufferState::kLentForRx)) return bad;
  // Written so that no sum can overflow: offset <= size, then length <= size - offset.
  if (d.offset > kBufferBytes || d.length > kBufferBytes - d.offset) return reject(Rejection::kBadBounds);
  state_[d.buffer].set(BufferState::kStackHeld);
  return std::nullopt;
}

std::uint32_t BufferLedger::reclaim_lent() noexcept {
  std::uint32_t reclaimed = 0;
  for (std::uint32_t i = 0; i < kBufferCount; ++i) {
    if (state_[i].get() == BufferState::kLentForTx || state_[i].get() == BufferState::kLentForRx) {
      push_free(i);
      ++reclaimed;
    }
  }
  counters_.reclaimed += reclaimed;
  return reclaimed;
}

std::uint32_t BufferLedger::count_in(BufferState s) const noexcept {
  std::uint32_t n = 0;
  for (const auto& b : state_) n += b.get() == s;
  return n;
}

}  // namespace pollstack::driver_channel
