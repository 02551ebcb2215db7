#pragma once
/// A single-producer single-consumer descriptor ring in shared memory, and the two private
/// endpoints that operate it.
///
/// Layout (RingShared, placed in the shared region): the producer's index, the consumer's index and
/// the consumer's "I am going to sleep" flag each on their own cache line, then the slots. Indices
/// run freely and wrap modulo 2^32; a slot is index & (kRingCapacity - 1).
///
/// The peer is untrusted. Each endpoint keeps its own index privately and only publishes it; the
/// peer's index is read, checked against what is possible (a consumer cannot have consumed what
/// was never produced, a producer cannot have produced more than fits), and a violation marks the
/// endpoint as failed for good instead of being followed. Descriptors are copied out of shared
/// memory before anyone looks at them, so the peer cannot change one after it was checked.
///
/// Doorbells: a consumer that runs dry sets `consumer_sleeping` and re-checks before sleeping; a
/// producer that publishes checks the flag and rings only then. So a busy ring makes no system
/// calls, and a wake is never lost: each side stores (the flag; the index), then a sequentially
/// consistent fence, then loads the other's (the classic store-then-load handshake). push()
/// itself is a release store: a producer whose consumer never sleeps (it polls, like a NIC's DMA
/// engine or the in-thread driver of the benchmarks) never calls take_consumer_sleeping() and
/// pays no full barrier per frame.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "driver_channel/descriptor.h"
#include "driver_channel/options.h"
#include "statemachines/contract.h"

namespace pollstack::driver_channel {

struct RingShared {
  alignas(kCacheLineBytes) std::atomic<std::uint32_t> produced{0};  // written by the producer
  alignas(kCacheLineBytes) std::atomic<std::uint32_t> consumed{0};  // written by the consumer
  alignas(kCacheLineBytes) std::atomic<std::uint32_t> consumer_sleeping{0};
  alignas(kCacheLineBytes) Descriptor slots[kRingCapacity];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shared across processes");

/// Why an endpoint stopped trusting its peer.
enum class RingFault : std::uint8_t {
  kNone,
  kConsumedTooFar,  // the consumer claims to have read more than was produced
  kProducedTooFar,  // the producer claims more entries than the ring holds
};

class RingProducer {
 public:
  /// Takes over `shared` with its current indices (both must be equal: an empty ring).
  explicit RingProducer(RingShared& shared) noexcept;

  /// Free slots, as far as this side knows (refreshes the consumer index). 0 once faulted.
  std::uint32_t free_slots() noexcept;

  /// Copies up to min(batch.size(), free_slots(), kMaxBatch) descriptors in and publishes them
  /// with one index store. Returns how many went in. A producer uses either push() or
  /// stage()/publish() (checked in debug builds): a push() returning 0 must not have published
  /// staged entries its caller would not ring the doorbell for.
  std::uint32_t push(std::span<const Descriptor> batch) noexcept;

  /// Writes `d` into the next free slot without publishing it: the consumer sees it at the next
  /// publish() or push(), with every other staged descriptor, in one index store (a batch, like
  /// Linux's xmit_more). False if no slot is free. Staged slots count as used in free_slots().
  bool stage(const Descriptor& d) noexcept;
  /// Publishes every staged descriptor with one release store. Returns how many.
  std::uint32_t publish() noexcept;
  std::uint32_t staged() const noexcept { return staged_; }

  /// True if the consumer said it is going to sleep since it was last woken; clears the flag.
  /// The caller then rings the doorbell. Call after push() or publish() returned > 0, whenever
  /// the consumer may sleep (a full barrier: once per batch, not per descriptor, where possible).
  bool take_consumer_sleeping() noexcept;

  RingFault fault() const noexcept { return fault_; }

 private:
  RingShared* shared_;
  std::uint32_t produced_;  // published
  std::uint32_t staged_ = 0;  // written after produced_, not yet published
  std::uint32_t consumed_;  // the last valid consumer index seen
  RingFault fault_ = RingFault::kNone;
};

class RingConsumer {
 public:
  /// Takes over `shared` with its current indices (both must be equal: an empty ring).
  explicit RingConsumer(RingShared& shared) noexcept;

  /// Entries available, as far as this side knows (refreshes the producer index). 0 once faulted.
  std::uint32_t available() noexcept;

  /// Copies up to min(out.size(), available(), kMaxBatch) descriptors out and releases their
  /// slots with one index store. Returns how many were copied.
  std::uint32_t pop(std::span<Descriptor> out) noexcept;

  /// Announces that this side is about to sleep. Returns false if entries arrived meanwhile (do
  /// not sleep then: pop them). If true, sleep until the producer's doorbell.
  bool prepare_to_sleep() noexcept;

  RingFault fault() const noexcept { return fault_; }

 private:
  RingShared* shared_;
  std::uint32_t consumed_;
  std::uint32_t produced_;  // the last valid producer index seen
  RingFault fault_ = RingFault::kNone;
};

// Inline: every frame passes through these on both sides of the channel, one descriptor at a
// time on the stack's side; out of line, each was a call per frame whose result came back
// through memory (benchmarks/udp_path).
namespace ring_detail {
inline constexpr std::uint32_t kMask = kRingCapacity - 1;

// Slots are shared with an untrusted peer that may write them at any time: access each field as a
// relaxed atomic, so a racing peer yields garbage values (which validation rejects), never
// undefined behaviour. On x86 and ARM these are plain loads and stores.
inline void store_slot(Descriptor& slot, const Descriptor& d) noexcept {
  std::atomic_ref(slot.buffer).store(d.buffer, std::memory_order_relaxed);
  std::atomic_ref(slot.offset).store(d.offset, std::memory_order_relaxed);
  std::atomic_ref(slot.length).store(d.length, std::memory_order_relaxed);
  std::atomic_ref(slot.flags).store(d.flags, std::memory_order_relaxed);
}

inline Descriptor load_slot(Descriptor& slot) noexcept {
  return Descriptor{std::atomic_ref(slot.buffer).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.offset).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.length).load(std::memory_order_relaxed),
                    std::atomic_ref(slot.flags).load(std::memory_order_relaxed)};
}
}  // namespace ring_detail

inline std::uint32_t RingProducer::free_slots() noexcept {
  if (fault_ != RingFault::kNone) return 0;
  const std::uint32_t consumed = shared_->consumed.load(std::memory_order_acquire);
  // The consumer may only move forward, and not past what we produced.
  if (consumed - consumed_ > produced_ - consumed_) {
    fault_ = RingFault::kConsumedTooFar;
    return 0;
  }
  consumed_ = consumed;
  return kRingCapacity - (produced_ + staged_ - consumed_);
}

inline std::uint32_t RingProducer::publish() noexcept {
  const std::uint32_t n = staged_;
  if (n == 0) return 0;
  produced_ += n;
  staged_ = 0;
  // Release: publishes the slots. A plain store on x86 and one barrier on ARM; the full barrier the
  // doorbell handshake needs is paid in take_consumer_sleeping(), only by producers with a doorbell.
  shared_->produced.store(produced_, std::memory_order_release);
  return n;
}

inline bool RingProducer::stage(const Descriptor& d) noexcept {
  // The consumer index seen last can only understate the room: the shared one is read (and
  // checked) only when that shows none.
  if (fault_ != RingFault::kNone) return false;
  if (produced_ + staged_ - consumed_ >= kRingCapacity && free_slots() == 0) return false;
  ring_detail::store_slot(shared_->slots[(produced_ + staged_) & ring_detail::kMask], d);
  ++staged_;
  return true;
}

inline std::uint32_t RingProducer::push(std::span<const Descriptor> batch) noexcept {
  expect(staged_ == 0, "RingProducer::push() with descriptors staged");
  std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(batch.size(), kMaxBatch));
  n = std::min(n, free_slots());
  for (std::uint32_t i = 0; i < n; ++i) {
    ring_detail::store_slot(shared_->slots[(produced_ + staged_ + i) & ring_detail::kMask], batch[i]);
  }
  staged_ += n;
  publish();
  return n;
}

inline std::uint32_t RingConsumer::available() noexcept {
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

inline std::uint32_t RingConsumer::pop(std::span<Descriptor> out) noexcept {
  std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), kMaxBatch));
  n = std::min(n, available());
  for (std::uint32_t i = 0; i < n; ++i) out[i] = ring_detail::load_slot(shared_->slots[(consumed_ + i) & ring_detail::kMask]);
  if (n == 0) return 0;
  consumed_ += n;
  shared_->consumed.store(consumed_, std::memory_order_release);
  return n;
}

}  // namespace pollstack::driver_channel
