#pragma once
/// NeighbourCache: the ARP table. Fixed capacity, driven by the caller's clock, no I/O of its own:
/// it decides, and the interface task transmits (take_due_request) and feeds answers back
/// (learn). That keeps it testable with nothing but a clock.
///
/// Entry lifecycle (all times from layers/options.h):
///
///   Free ──resolve()──► Incomplete ──learn()──► Reachable ──kNeighbourReachableTime──► Free
///                          │  a request every kArpRetryInterval, at most kArpMaxRequests
///                          └──no answer──► Failed ──kArpFailedHoldTime──► Free
///
/// Senders waiting on an Incomplete entry queue in its WaiterList (each sender's operation holds
/// its Waiter, so a sender dropped while it waits leaves the queue) and are woken when it becomes
/// Reachable or Failed; each then polls again and reads the outcome. A full cache reuses the
/// Failed, then the least recently used Reachable entry; when every entry is Incomplete,
/// resolution of a new address fails at once.
///
/// The entries are storage the owner supplies (NeighbourTable<N> bundles both), so the table's
/// size is the stack configuration's choice, not this file's.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/counters.h"
#include "layers/common/send_error.h"
#include "layers/ethernet/ethernet_wire.h"
#include "layers/ipv4/ipv4_wire.h"
#include "layers/options.h"
#include "statemachines/context.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/waiter_list.h"
#include "statemachines/waker_slot.h"

namespace pollstack::net {

struct NeighbourCounters {
  std::uint64_t resolutions_started = 0;
  std::uint64_t resolved = 0;          // Incomplete -> Reachable
  std::uint64_t failed = 0;            // Incomplete -> Failed (no answer)
  std::uint64_t expired = 0;           // Reachable -> Free
  std::uint64_t evicted = 0;           // an entry reused while Reachable or Failed
  std::uint64_t requests_sent = 0;
  std::uint64_t updated = 0;           // a known entry's MAC refreshed by an ARP packet
  std::uint64_t waiters_refused = 0;   // kNeighbourBusy
  std::uint64_t cache_full = 0;        // kNeighbourCacheFull
  std::uint64_t flushed = 0;           // entries forgotten by flush()
};

class NeighbourCache {
 public:
  enum class EntryState : std::uint8_t { kFree, kIncomplete, kReachable, kFailed };

  /// One address. Opaque to owners, who only provide the storage.
  class Entry {
   private:
    friend class NeighbourCache;
    wire::Ipv4Address ip;
    wire::MacAddress mac;
    EntryState state = EntryState::kFree;
    bool request_due = false;
    std::uint8_t requests_sent = 0;
    Instant deadline = kNever;  // Incomplete: next retry; Reachable: expiry; Failed: end of hold
    Instant last_used{};
    WaiterList waiters;
  };

  /// A cache over `entries` (which must outlive it); at most `waiters_per_entry` senders wait on
  /// one address at once, the next is refused with kNeighbourBusy.
  NeighbourCache(std::span<Entry> entries, std::size_t waiters_per_entry) noexcept
      : entries_(entries), waiters_per_entry_(waiters_per_entry) {}
  NeighbourCache(const NeighbourCache&) = delete;
  NeighbourCache& operator=(const NeighbourCache&) = delete;

  /// Resolve for a sender that may wait: Ready with the MAC or an error, or Pending with
  /// `waiter` queued on the entry (woken on an answer or on giving up) and a request scheduled.
  Poll<Result<wire::MacAddress, SendError>> poll_resolve(wire::Ipv4Address ip, Waiter& waiter, Context& cx) noexcept;

  /// Resolve for a sender that must not wait (replies generated on receive): the MAC if cached,
  /// otherwise kNeighbourUnresolved (a resolution is started so the next one finds it) or the
  /// entry's error.
  Result<wire::MacAddress, SendError> resolve_now(wire::Ipv4Address ip, Instant now) noexcept;

  /// An ARP packet said `ip` is at `mac`. Updates an existing entry (RFC 826 "merge"), and creates
  /// one when `create` (the packet was addressed to us). Wakes the entry's waiters.
  void learn(wire::Ipv4Address ip, const wire::MacAddress& mac, bool create, Instant now) noexcept;

  /// Runs the timers: schedules retries, fails resolutions out of retries (waking their senders),
  /// expires old entries. Bounded: one pass over the table. Returns when it next needs to run.
  Instant run_timers(Instant now) noexcept;

  /// The next address an ARP request is due for, if any; the caller transmits it now (the retry
  /// timer starts here).
  std::optional<wire::Ipv4Address> take_due_request(Instant now) noexcept {
    if (!maybe_due_) return std::nullopt;  // the common case, checked inline on every received frame
    return find_due_request(now);
  }
  bool has_due_request() const noexcept;

  /// The task that transmits requests: woken when a new one becomes due.
  void set_requester(const Waker& waker) noexcept { requester_.store(waker); }

  /// Forgets every entry (the interface's address changed): waiting senders are woken and resolve
  /// again under the new configuration.
  void flush() noexcept;

  /// For tests and tools: the state of `ip`'s entry (kFree if it has none).
  EntryState state_of(wire::Ipv4Address ip) const noexcept;

  const NeighbourCounters& counters() const noexcept { return counters_; }

 private:
  Entry* find(wire::Ipv4Address ip) noexcept;
  const Entry* find(wire::Ipv4Address ip) const noexcept;
  Entry* allocate() noexcept;
  void free(Entry& e) noexcept;
  Result<Entry*, SendError> find_or_start(wire::Ipv4Address ip, Instant now) noexcept;
  std::optional<wire::Ipv4Address> find_due_request(Instant now) noexcept;

  std::span<Entry> entries_;
  std::size_t waiters_per_entry_;
  bool maybe_due_ = false;  // false: no entry has request_due (the receive path asks per frame)
  WakerSlot requester_;
  NeighbourCounters counters_;
};

/// A neighbour cache with its own storage for N entries.
template <std::size_t N>
class NeighbourTable {
 public:
  explicit NeighbourTable(std::size_t waiters_per_entry = kArpWaitersPerEntry) noexcept
      : cache_(entries_, waiters_per_entry) {}
  NeighbourCache& cache() noexcept { return cache_; }
  const NeighbourCache& cache() const noexcept { return cache_; }

 private:
  std::array<NeighbourCache::Entry, N> entries_{};  // before cache_, which refers to it
  NeighbourCache cache_;
};

}  // namespace pollstack::net
