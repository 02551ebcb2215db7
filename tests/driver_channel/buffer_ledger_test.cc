#include "driver_channel/buffer_ledger.h"

#include <doctest/doctest.h>

namespace pollstack::driver_channel {
namespace {

std::uint32_t lent(BufferLedger& ledger, BufferState how) {
  const std::optional<std::uint32_t> b = ledger.take_free();
  REQUIRE(b.has_value());
  ledger.lend(*b, how);
  return *b;
}

TEST_CASE("buffers go free -> held -> lent -> free, and are counted in each state") {
  BufferLedger ledger;
  CHECK(ledger.free_count() == kBufferCount);
  const std::uint32_t tx = lent(ledger, BufferState::kLentForTx);
  const std::uint32_t rx = lent(ledger, BufferState::kLentForRx);
  CHECK(ledger.count_in(BufferState::kLentForTx) == 1);
  CHECK(ledger.count_in(BufferState::kLentForRx) == 1);

  CHECK_FALSE(ledger.accept_tx_done(Descriptor{tx, 0, 60, 0}).has_value());
  CHECK(ledger.state(tx) == BufferState::kFree);
  CHECK_FALSE(ledger.accept_rx(Descriptor{rx, 0, 60, 0}).has_value());
  CHECK(ledger.state(rx) == BufferState::kStackHeld);
  ledger.release(rx);
  CHECK(ledger.free_count() == kBufferCount);
  CHECK(ledger.counters().total_rejected() == 0);
}

TEST_CASE("the pool runs dry and refills") {
  BufferLedger ledger;
  for (std::uint32_t i = 0; i < kBufferCount; ++i) REQUIRE(ledger.take_free().has_value());
  CHECK_FALSE(ledger.take_free().has_value());
  ledger.release(7);
  CHECK(ledger.take_free() == std::optional<std::uint32_t>(7));
}

TEST_CASE("each malformed return is rejected with its reason and changes nothing") {
  BufferLedger ledger;
  const std::uint32_t tx = lent(ledger, BufferState::kLentForTx);
  const std::uint32_t rx = lent(ledger, BufferState::kLentForRx);
  const std::uint32_t held = *ledger.take_free();

  SUBCASE("index outside the pool") {
    CHECK(ledger.accept_tx_done(Descriptor{kBufferCount, 0, 0, 0}) == Rejection::kBadIndex);
    CHECK(ledger.accept_rx(Descriptor{0xffffffffu, 0, 0, 0}) == Rejection::kBadIndex);
    CHECK(ledger.counters().count(Rejection::kBadIndex) == 2);
  }
  SUBCASE("returned twice") {
    CHECK_FALSE(ledger.accept_tx_done(Descriptor{tx, 0, 0, 0}).has_value());
    CHECK(ledger.accept_tx_done(Descriptor{tx, 0, 0, 0}) == Rejection::kNotLent);
    CHECK(ledger.counters().count(Rejection::kNotLent) == 1);
    CHECK(ledger.state(tx) == BufferState::kFree);
  }
  SUBCASE("never lent: free, or held by the stack") {
    CHECK(ledger.accept_tx_done(Descriptor{kBufferCount - 1, 0, 0, 0}) == Rejection::kNotLent);
    CHECK(ledger.accept_rx(Descriptor{held, 0, 0, 0}) == Rejection::kNotLent);
    CHECK(ledger.state(held) == BufferState::kStackHeld);
  }
  SUBCASE("lent the other way") {
    CHECK(ledger.accept_rx(Descriptor{tx, 0, 10, 0}) == Rejection::kNotLent);
    CHECK(ledger.accept_tx_done(Descriptor{rx, 0, 10, 0}) == Rejection::kNotLent);
    CHECK(ledger.state(tx) == BufferState::kLentForTx);
    CHECK(ledger.state(rx) == BufferState::kLentForRx);
  }
  SUBCASE("frame outside its buffer, including sums that would overflow") {
    CHECK(ledger.accept_rx(Descriptor{rx, 0, kBufferBytes + 1, 0}) == Rejection::kBadBounds);
    CHECK(ledger.accept_rx(Descriptor{rx, kBufferBytes, 1, 0}) == Rejection::kBadBounds);
    CHECK(ledger.accept_rx(Descriptor{rx, 0xfffffff0u, 0x20, 0}) == Rejection::kBadBounds);
    CHECK(ledger.counters().count(Rejection::kBadBounds) == 3);
    CHECK(ledger.state(rx) == BufferState::kLentForRx);
    CHECK_FALSE(ledger.accept_rx(Descriptor{rx, 100, kBufferBytes - 100, 0}).has_value());  // exactly fits
  }
  SUBCASE("reserved flags set") {
    CHECK(ledger.accept_tx_done(Descriptor{tx, 0, 0, 1}) == Rejection::kBadFlags);
    CHECK(ledger.state(tx) == BufferState::kLentForTx);
  }
}

TEST_CASE("a dead driver's buffers are reclaimed, the stack's are not") {
  BufferLedger ledger;
  for (int i = 0; i < 10; ++i) lent(ledger, BufferState::kLentForTx);
  for (int i = 0; i < 20; ++i) lent(ledger, BufferState::kLentForRx);
  const std::uint32_t held = *ledger.take_free();
  CHECK(ledger.reclaim_lent() == 30);
  CHECK(ledger.counters().reclaimed == 30);
  CHECK(ledger.free_count() == kBufferCount - 1);
  CHECK(ledger.state(held) == BufferState::kStackHeld);
}

}  // namespace
}  // namespace pollstack::driver_channel
