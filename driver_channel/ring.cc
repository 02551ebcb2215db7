#include "driver_channel/ring.h"

#include <algorithm>

namespace pollstack::driver_channel {
namespace {
constexpr std::uint32_t kMask = kRingCapacity - 1;

// Slots are shared with an untrusted peer that may write them at any time: access each field as a
// relaxed atomic, so a racing peer yields garbage values (which validation rejects), never
// undefined behaviour. On x86 and ARM these are plain loads and stores.
void store_slot(Descriptor& slot, const Descriptor& d) noexcept {
  std::atomic_ref(slot.buffer).store(d.buffer, std::memory_order_relaxed);
  std::atomic_ref(slot.offset).store(d.offset, std::memory_order_relaxed);
  std::atomic_ref(slot.length).store(d.length, std::memory_order_relaxed);
  std::atomic_ref(slot.flags).store(d.flags, std::memory_order_relaxed);
}

Descriptor load_slot(Descriptor& slot) noexcept {
  return Descriptor{std::atomic_ref(slot.buffer).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.offset).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.length).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.flags).load(std::memory_order_relaxed)};
}
}  // namespace

RingProducer::RingProducer(RingShared& shared) noexcept
    : shared_(&shared),
      produced_(shared.produced.load(std::memory_order_relaxed)),
      consumed_(produced_) {}

std::uint32_t RingProducer::free_slots() noexcept {
  if (fault_ != RingFault::kNone) return 0;
  const std::uint32_t consumed = shared_->consumed.load(std::memory_order_acquire);
  // The consumer may only move forward, and not past what we produced.
  if (consumed - consumed_ > produced_ - consumed_) {
    fault_ = RingFault::kConsumedTooFar;
    return 0;
  }
  consumed_ = consumed;
  return kRingCapacity - (produced_ - consumed_);
}

std::uint32_t RingProducer::push(std::span<const Descriptor> batch) noexcept {
  std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(batch.size(), kMaxBatch));
  n = std::min(n, free_slots());
  for (std::uint32_t i = 0; i < n; ++i) store_slot(shared_->slots[(produced_ + i) & kMask], batch[i]);
  if (n == 0) return 0;
  produced_ += n;
  // Release: publishes the slots. A plain store on x86 and one barrier on ARM; the full barrier the
  // doorbell handshake needs is paid in take_consumer_sleeping(), only by producers with a doorbell.
  shared_->produced.store(produced_, std::memory_order_release);
  return n;
}

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

std::uint32_t RingConsumer::available() noexcept {
  if (fault_ != RingFault::kNone) return 0;
  const std::uint32_t produced = shared_->produced.load(std::memory_order_acquire);
  // The producer may only move forward, and never hold more than the ring's capacity.
  if (produced - consumed_ > kRingCapacity || produced - produced_ > produced - consumed_) {
    fault_ = RingFault::kProducedTooFar;
    return 0;
  }
  produced_ = produced;
  return produced_ - consumed_;
}

std::uint32_t RingConsumer::pop(std::span<Descriptor> out) noexcept {
  std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), kMaxBatch));
  n = std::min(n, available());
  for (std::uint32_t i = 0; i < n; ++i) out[i] = load_slot(shared_->slots[(consumed_ + i) & kMask]);
  if (n == 0) return 0;
  consumed_ += n;
  shared_->consumed.store(consumed_, std::memory_order_release);
  return n;
}

bool RingConsumer::prepare_to_sleep() noexcept {
  shared_->consumer_sleeping.store(1, std::memory_order_relaxed);
  // Store-load: the flag before our read of the producer's index (pairs with the producer's fence).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (available() == 0) return true;
  shared_->consumer_sleeping.store(0, std::memory_order_relaxed);
  return false;
}

}  // namespace pollstack::driver_channel
