#include "layers/arp/neighbour_cache.h"

namespace pollstack::net {

using wire::Ipv4Address;
using wire::MacAddress;

NeighbourCache::Entry* NeighbourCache::find(Ipv4Address ip) noexcept {
  for (Entry& e : entries_) {
    if (e.state != EntryState::kFree && e.ip == ip) return &e;
  }
  return nullptr;
}

const NeighbourCache::Entry* NeighbourCache::find(Ipv4Address ip) const noexcept {
  return const_cast<NeighbourCache*>(this)->find(ip);
}

NeighbourCache::EntryState NeighbourCache::state_of(Ipv4Address ip) const noexcept {
  const Entry* e = find(ip);
  return e == nullptr ? EntryState::kFree : e->state;
}

void NeighbourCache::free(Entry& e) noexcept {
  e.waiters.notify_all();  // nobody may sleep on an entry that no longer exists
  e.state = EntryState::kFree;
  e.request_due = false;
  e.deadline = kNever;
}

void NeighbourCache::flush() noexcept {
  for (Entry& e : entries_) {
    if (e.state == EntryState::kFree) continue;
    ++counters_.flushed;
    free(e);
  }
  maybe_due_ = false;
}

// A free entry; else a Failed one; else the least recently used Reachable one; else none.
NeighbourCache::Entry* NeighbourCache::allocate() noexcept {
  Entry* failed = nullptr;
  Entry* oldest = nullptr;
  for (Entry& e : entries_) {
    switch (e.state) {
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

Result<NeighbourCache::Entry*, SendError> NeighbourCache::find_or_start(Ipv4Address ip, Instant now) noexcept {
  if (Entry* e = find(ip)) return e;
  Entry* e = allocate();
  if (e == nullptr) {
    ++counters_.cache_full;
    return SendError::kNeighbourCacheFull;
  }
  e->ip = ip;
  e->state = EntryState::kIncomplete;
  e->requests_sent = 0;
  e->request_due = true;
  maybe_due_ = true;
  e->deadline = kNever;  // the retry timer starts when the request is actually sent
  e->last_used = now;
  ++counters_.resolutions_started;
  requester_.wake();
  return e;
}

Poll<Result<MacAddress, SendError>> NeighbourCache::poll_resolve(Ipv4Address ip, Waiter& waiter,
                                                                 Context& cx) noexcept {
  using Out = Result<MacAddress, SendError>;
  Result<Entry*, SendError> found = find_or_start(ip, cx.now());
  if (!found.ok()) return Out(found.error());
  Entry& e = *found.value();
  switch (e.state) {
    case EntryState::kReachable:
      e.waiters.claimed(waiter);
      e.last_used = cx.now();
      return Out(e.mac);
    case EntryState::kFailed:
      e.waiters.claimed(waiter);
      return Out(SendError::kHostUnreachable);
    case EntryState::kIncomplete:
    case EntryState::kFree:
      break;
  }
  if (!waiter.is_queued() && e.waiters.size() >= waiters_per_entry_) {
    ++counters_.waiters_refused;
    return Out(SendError::kNeighbourBusy);
  }
  e.waiters.wait(waiter, cx.waker());
  return pending;
}

Result<MacAddress, SendError> NeighbourCache::resolve_now(Ipv4Address ip, Instant now) noexcept {
  Result<Entry*, SendError> found = find_or_start(ip, now);
  if (!found.ok()) return found.error();
  Entry& e = *found.value();
  if (e.state == EntryState::kReachable) {
    e.last_used = now;
    return e.mac;
  }
  return e.state == EntryState::kFailed ? SendError::kHostUnreachable : SendError::kNeighbourUnresolved;
}

void NeighbourCache::learn(Ipv4Address ip, const MacAddress& mac, bool create, Instant now) noexcept {
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
  } else if (e->state == EntryState::kIncomplete) {
    ++counters_.resolved;
  } else {
    ++counters_.updated;
  }
  e->mac = mac;
  e->state = EntryState::kReachable;
  e->request_due = false;
  e->deadline = now + kNeighbourReachableTime;
  e->waiters.notify_all();
}

Instant NeighbourCache::run_timers(Instant now) noexcept {
  Instant next = kNever;
  for (Entry& e : entries_) {
    if (e.state == EntryState::kFree) continue;
    if (e.deadline <= now) {
      switch (e.state) {
        case EntryState::kIncomplete:
          if (e.requests_sent < kArpMaxRequests) {
            e.request_due = true;
            maybe_due_ = true;
            e.deadline = kNever;
            requester_.wake();
          } else {
            ++counters_.failed;
            e.state = EntryState::kFailed;
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
    if (e.state != EntryState::kFree && e.deadline < next) next = e.deadline;
  }
  return next;
}

bool NeighbourCache::has_due_request() const noexcept {
  for (const Entry& e : entries_) {
    if (e.state == EntryState::kIncomplete && e.request_due) return true;
  }
  return false;
}

std::optional<Ipv4Address> NeighbourCache::find_due_request(Instant now) noexcept {
  for (Entry& e : entries_) {
    if (e.state == EntryState::kIncomplete && e.request_due) {
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

}  // namespace pollstack::net
