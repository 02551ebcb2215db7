#include "driver_channel/ring.h"

namespace pollstack::driver_channel {

RingProducer::RingProducer(RingShared& shared) noexcept
    : shared_(&shared),
      produced_(shared.produced.load(std::memory_order_relaxed)),
      consumed_(produced_) {}

bool RingProducer::take_consumer_sleeping() noexcept {
  // Store-load: our index store (push) before our read of the flag. Pairs with the fence in
  // RingConsumer::prepare_to_sleep(): of the two sides, at least one sees the other's store.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (shared_->consumer_sleeping.load(std::memory_order_relaxed) == 0) return false;
  return shared_->consumer_sleeping.exchange(0, std::memory_order_relaxed) != 0;
}

RingConsumer::RingConsumer(RingShared& shared) noexcept
    : shared_(&shared),
      consumed_(shared.consumed.load(std::memory_order_relaxed)),
      produced_(consumed_) {}

bool RingConsumer::prepare_to_sleep() noexcept {
  shared_->consumer_sleeping.store(1, std::memory_order_relaxed);
  // Store-load: the flag before our read of the producer's index (pairs with the producer's fence).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (available() == 0) return true;
  shared_->consumer_sleeping.store(0, std::memory_order_relaxed);
  return false;
}

}  // namespace pollstack::driver_channel
