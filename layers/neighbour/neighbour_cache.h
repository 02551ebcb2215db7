#pragma once
/// NeighbourCache<Address>: the table of link-layer addresses of the neighbours, for any network
/// protocol: keyed by IPv4 address for ARP today, by IPv6 address for NDP later. Fixed capacity,
/// driven by the caller's clock, no I/O of its own: it decides, and the interface task transmits
/// (take_due_request) and feeds answers back (learn). That keeps it testable with nothing but a
/// clock. (RFC 4861's timers have the same defaults as ARP's in Linux: 1 s between solicitations,
/// 3 of them.)
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
#include "layers/options.h"
#include "statemachines/context.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"
#include "statemachines/waiter_list.h"
#include "statemachines/waker_slot.h"

namespace pollstack::net {

/// Whether a sender may wait for resolution. Replies generated while receiving (echo replies,
/// ICMP errors) may not: they would stall the receive path behind a 3-second exchange.
enum class ResolvePolicy : std::uint8_t { kWait, kCachedOnly };

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

/// The state of one neighbour's entry (see the diagram above).
enum class NeighbourState : std::uint8_t { kFree, kIncomplete, kReachable, kFailed };

/// The diagram above, as StateCell checks it and docs/diagrams/ draws it.
inline constexpr auto kNeighbourTransitions = transitions(NeighbourState::kFree, {
    {NeighbourState::kFree, NeighbourState::kIncomplete, "a sender resolves the address: a request due"},
    {NeighbourState::kFree, NeighbourState::kReachable, "an ARP request to us (the sender learned)"},
    {NeighbourState::kIncomplete, NeighbourState::kReachable, "the answer"},
    {NeighbourState::kIncomplete, NeighbourState::kFailed, "no answer to the last request"},
    {NeighbourState::kIncomplete, NeighbourState::kFree, "flush() (the interface's address changed)"},
    {NeighbourState::kReachable, NeighbourState::kReachable, "an ARP packet from it: MAC and timer refreshed"},
    {NeighbourState::kReachable, NeighbourState::kFree, "reachable time over, evicted (least recently used), or flush()"},
    {NeighbourState::kFailed, NeighbourState::kReachable, "an ARP packet from it after all"},
    {NeighbourState::kFailed, NeighbourState::kFree, "hold time over, evicted first, or flush()"},
});

template <class Address>
class NeighbourCache {
 public:
  using EntryState = NeighbourState;

  /// One address. Opaque to owners, who only provide the storage.
  class Entry {
   private:
    friend class NeighbourCache<Address>;
    Address ip;
    wire::MacAddress mac;
    StateCell<Entry, &kNeighbourTransitions> state{EntryState::kFree};
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
  Poll<Result<wire::MacAddress, SendError>> poll_resolve(Address ip, Waiter& waiter, Context& cx) noexcept {
    wire::MacAddress mac;
    const Poll<std::optional<SendError>> got = poll_resolve_into(ip, waiter, cx, mac);
    if (got.is_pending()) return pending;
    if (got.value()) return Result<wire::MacAddress, SendError>(*got.value());
    return Result<wire::MacAddress, SendError>(mac);
  }

  /// The same, writing the MAC into `mac` (Ready with no error then): the send path's form. The MAC
  /// travels from the entry to the frame's header in one 8-byte copy; handed up inside a Result in
  /// a Poll, it was stored in pieces and copied in wide loads, a store-forwarding stall per
  /// transmit (perf annotate, benchmarks/udp_path).
  Poll<std::optional<SendError>> poll_resolve_into(Address ip, Waiter& waiter, Context& cx,
                                                   wire::MacAddress& mac) noexcept;

  /// Resolve for a sender that must not wait (replies generated on receive): the MAC if cached,
  /// otherwise kNeighbourUnresolved (a resolution is started so the next one finds it) or the
  /// entry's error.
  Result<wire::MacAddress, SendError> resolve_now(Address ip, Instant now) noexcept {
    wire::MacAddress mac;
    if (const std::optional<SendError> error = resolve_now_into(ip, now, mac)) return *error;
    return mac;
  }

  /// The same, writing the MAC into `mac` (no error then): see poll_resolve_into().
  std::optional<SendError> resolve_now_into(Address ip, Instant now, wire::MacAddress& mac) noexcept;

  /// An ARP packet said `ip` is at `mac`. Updates an existing entry (RFC 826 "merge"), and creates
  /// one when `create` (the packet was addressed to us). Wakes the entry's waiters.
  void learn(Address ip, const wire::MacAddress& mac, bool create, Instant now) noexcept;

  /// Runs the timers: schedules retries, fails resolutions out of retries (waking their senders),
  /// expires old entries. Bounded: one pass over the table. Returns when it next needs to run.
  Instant run_timers(Instant now) noexcept;

  /// The next address an ARP request is due for, if any; the caller transmits it now (the retry
  /// timer starts here).
  std::optional<Address> take_due_request(Instant now) noexcept {
    if (!maybe_due_) return std::nullopt;  // the common case, checked inline
    return find_due_request(now);
  }
  bool has_due_request() const noexcept { return maybe_due_ && any_due_request(); }

  /// The task that transmits requests: woken when a new one becomes due.
  void set_requester(const Waker& waker) noexcept { requester_.store(waker); }

  /// Forgets every entry (the interface's address changed): waiting senders are woken and resolve
  /// their next hop again (the one their send was routed to when it was built).
  void flush() noexcept;

  /// For tests and tools: the state of `ip`'s entry (kFree if it has none).
  EntryState state_of(Address ip) const noexcept;

  const NeighbourCounters& counters() const noexcept { return counters_; }

 private:
  Entry* find(Address ip) noexcept;
  const Entry* find(Address ip) const noexcept;
  Entry* allocate() noexcept;
  void free(Entry& e) noexcept;
  Result<Entry*, SendError> find_or_start(Address ip, Instant now) noexcept;
  std::optional<Address> find_due_request(Instant now) noexcept;
  bool any_due_request() const noexcept;

  std::span<Entry> entries_;
  std::size_t waiters_per_entry_;
  bool maybe_due_ = false;  // false: no entry has request_due (asked on every turn of the interface task)
  WakerSlot requester_;
  NeighbourCounters counters_;
};

// ---- the cache's decisions (a template: defined here, for every address type) ----------------

template <class Address>
typename NeighbourCache<Address>::Entry* NeighbourCache<Address>::find(Address ip) noexcept {
  for (Entry& e : entries_) {
    if (e.state.get() != EntryState::kFree && e.ip == ip) return &e;
  }
  return nullptr;
}

template <class Address>
const typename NeighbourCache<Address>::Entry* NeighbourCache<Address>::find(Address ip) const noexcept {
  return const_cast<NeighbourCache*>(this)->find(ip);
}

template <class Address>
typename NeighbourCache<Address>::EntryState NeighbourCache<Address>::state_of(Address ip) const noexcept {
  const Entry* e = find(ip);
  return e == nullptr ? EntryState::kFree : e->state.get();
}

template <class Address>
void NeighbourCache<Address>::free(Entry& e) noexcept {
  e.waiters.notify_all();  // nobody may sleep on an entry that no longer exists
  e.state.set(EntryState::kFree);
  e.request_due = false;
  e.deadline = kNever;
}

template <class Address>
void NeighbourCache<Address>::flush() noexcept {
  for (Entry& e : entries_) {
    if (e.state.get() == EntryState::kFree) continue;
    ++counters_.flushed;
    free(e);
  }
  maybe_due_ = false;
}

// A free entry; else a Failed one; else the least recently used Reachable one; else none.
template <class Address>
typename NeighbourCache<Address>::Entry* NeighbourCache<Address>::allocate() noexcept {
  Entry* failed = nullptr;
  Entry* oldest = nullptr;
  for (Entry& e : entries_) {
    switch (e.state.get()) {
      case EntryState::kFree:
        return &e;
      case EntryState::kFailed:
        failed = &e;
        break;
      case EntryState::kReachable:
        if (oldest == nullptr || e.last_used < oldest->last_used) oldest = &e;
        break;
      case EntryState::kIncomplete:
        break;
    }
  }
  Entry* victim = failed != nullptr ? failed : oldest;
  if (victim != nullptr) {
    ++counters_.evicted;
    free(*victim);
  }
  return victim;
}

template <class Address>
Result<typename NeighbourCache<Address>::Entry*, SendError> NeighbourCache<Address>::find_or_start(Address ip, Instant now) noexcept {
  if (Entry* e = find(ip)) return e;
  Entry* e = allocate();
  if (e == nullptr) {
    ++counters_.cache_full;
    return SendError::kNeighbourCacheFull;
  }
  e->ip = ip;
  e->state.set(EntryState::kIncomplete);
  e->requests_sent = 0;
  e->request_due = true;
  maybe_due_ = true;
  e->deadline = kNever;  // the retry timer starts when the request is actually sent
  e->last_used = now;
  ++counters_.resolutions_started;
  requester_.wake();
  return e;
}

template <class Address>
Poll<std::optional<SendError>> NeighbourCache<Address>::poll_resolve_into(Address ip, Waiter& waiter, Context& cx,
                                                                          wire::MacAddress& mac) noexcept {
  using Out = std::optional<SendError>;
  Result<Entry*, SendError> found = find_or_start(ip, cx.now());
  if (!found.ok()) return Out(found.error());
  Entry& e = *found.value();
  switch (e.state.get()) {
    case EntryState::kReachable:
      e.waiters.claimed(waiter);
      e.last_used = cx.now();
      mac = e.mac;
      return Out();
    case EntryState::kFailed:
      e.waiters.claimed(waiter);
      return Out(SendError::kHostUnreachable);
    case EntryState::kIncomplete:
    case EntryState::kFree:
      break;
  }
  if (!e.waiters.holds(waiter) && e.waiters.size() >= waiters_per_entry_) {
    ++counters_.waiters_refused;
    return Out(SendError::kNeighbourBusy);
  }
  e.waiters.wait(waiter, cx.waker());
  return pending;
}

template <class Address>
std::optional<SendError> NeighbourCache<Address>::resolve_now_into(Address ip, Instant now,
                                                                   wire::MacAddress& mac) noexcept {
  Result<Entry*, SendError> found = find_or_start(ip, now);
  if (!found.ok()) return found.error();
  Entry& e = *found.value();
  if (e.state.get() == EntryState::kReachable) {
    e.last_used = now;
    mac = e.mac;
    return std::nullopt;
  }
  return e.state.get() == EntryState::kFailed ? SendError::kHostUnreachable : SendError::kNeighbourUnresolved;
}

template <class Address>
void NeighbourCache<Address>::learn(Address ip, const wire::MacAddress& mac, bool create, Instant now) noexcept {
  Entry* e = find(ip);
  if (e == nullptr) {
    if (!create) return;
    e = allocate();
    if (e == nullptr) {
      ++counters_.cache_full;
      return;
    }
    e->ip = ip;
    e->last_used = now;
  } else if (e->state.get() == EntryState::kIncomplete) {
    ++counters_.resolved;
  } else {
    ++counters_.updated;
  }
  e->mac = mac;
  e->state.set(EntryState::kReachable);
  e->request_due = false;
  e->deadline = now + kNeighbourReachableTime;
  e->waiters.notify_all();
}

template <class Address>
Instant NeighbourCache<Address>::run_timers(Instant now) noexcept {
  Instant next = kNever;
  for (Entry& e : entries_) {
    if (e.state.get() == EntryState::kFree) continue;
    if (e.deadline <= now) {
      switch (e.state.get()) {
        case EntryState::kIncomplete:
          if (e.requests_sent < kArpMaxRequests) {
            e.request_due = true;
            maybe_due_ = true;
            e.deadline = kNever;
            requester_.wake();
          } else {
            ++counters_.failed;
            e.state.set(EntryState::kFailed);
            e.deadline = now + kArpFailedHoldTime;
            e.waiters.notify_all();
          }
          break;
        case EntryState::kReachable:
          ++counters_.expired;
          free(e);
          break;
        case EntryState::kFailed:
          free(e);
          break;
        case EntryState::kFree:
          break;
      }
    }
    if (e.state.get() != EntryState::kFree && e.deadline < next) next = e.deadline;
  }
  return next;
}

template <class Address>
bool NeighbourCache<Address>::any_due_request() const noexcept {
  for (const Entry& e : entries_) {
    if (e.state.get() == EntryState::kIncomplete && e.request_due) return true;
  }
  return false;
}

template <class Address>
std::optional<Address> NeighbourCache<Address>::find_due_request(Instant now) noexcept {
  for (Entry& e : entries_) {
    if (e.state.get() == EntryState::kIncomplete && e.request_due) {
      e.request_due = false;
      ++e.requests_sent;
      ++counters_.requests_sent;
      e.deadline = now + kArpRetryInterval;
      return e.ip;
    }
  }
  maybe_due_ = false;
  return std::nullopt;
}

/// A neighbour cache with its own storage for N entries.
template <class Address, std::size_t N>
class NeighbourTable {
 public:
  explicit NeighbourTable(std::size_t waiters_per_entry = kArpWaitersPerEntry) noexcept
      : cache_(entries_, waiters_per_entry) {}
  NeighbourCache<Address>& cache() noexcept { return cache_; }
  const NeighbourCache<Address>& cache() const noexcept { return cache_; }

 private:
  std::array<typename NeighbourCache<Address>::Entry, N> entries_{};  // before cache_, which refers to it
  NeighbourCache<Address> cache_;
};

}  // namespace pollstack::net
