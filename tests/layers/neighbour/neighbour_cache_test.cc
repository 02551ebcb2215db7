// The ARP table alone: nothing but a clock and wakers.
#include "layers/neighbour/neighbour_cache.h"

#include <doctest/doctest.h>

#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::Driver;
using wire::Ipv4Address;
using wire::MacAddress;
using State = NeighbourState;

constexpr Ipv4Address kPeer{{10, 0, 0, 2}};
constexpr MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};

Ipv4Address host(int n) { return {{10, 0, 1, static_cast<std::uint8_t>(n)}}; }

struct Resolver {  // a sender waiting on the cache, with its own waker and its place in the queue
  NeighbourCache<Ipv4Address>* cache;
  Ipv4Address ip;
  Waiter waiter;
  using Output = Result<MacAddress, SendError>;
  Poll<Output> poll(Context& cx) { return cache->poll_resolve(ip, waiter, cx); }
};

TEST_CASE("resolving schedules a request, and an answer wakes the waiting sender") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  Driver d;
  int requester_wakes = 0;
  cache.set_requester(Waker(+[](void* p) noexcept { ++*static_cast<int*>(p); }, &requester_wakes));

  Resolver r{&cache, kPeer};
  CHECK(d.poll(r).is_pending());
  CHECK(cache.state_of(kPeer) == State::kIncomplete);
  CHECK(requester_wakes == 1);
  REQUIRE(cache.has_due_request());
  CHECK(cache.take_due_request(d.now) == kPeer);
  CHECK_FALSE(cache.take_due_request(d.now).has_value());

  cache.learn(kPeer, kPeerMac, /*create=*/false, d.now);
  CHECK(d.wakes == 1);
  Poll<Result<MacAddress, SendError>> p = d.poll(r);
  REQUIRE(p.is_ready());
  REQUIRE(p.value().ok());
  CHECK(p.value().value() == kPeerMac);
  CHECK(cache.counters().resolved == 1);
}

TEST_CASE("retries once per interval, then fails every waiter with kHostUnreachable, then forgets") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  Driver d;
  Resolver r{&cache, kPeer};
  CHECK(d.poll(r).is_pending());
  for (std::uint32_t i = 0; i < kArpMaxRequests; ++i) {
    REQUIRE(cache.take_due_request(d.now).has_value());
    // Not due again before the interval has passed.
    cache.run_timers(d.now + kArpRetryInterval - Duration{1});
    CHECK_FALSE(cache.has_due_request());
    d.advance(kArpRetryInterval);
    cache.run_timers(d.now);
  }
  CHECK(cache.state_of(kPeer) == State::kFailed);
  CHECK(cache.counters().requests_sent == kArpMaxRequests);
  CHECK(d.wakes == 1);
  Poll<Result<MacAddress, SendError>> p = d.poll(r);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kHostUnreachable);
  // During the hold time a new send fails at once, without new requests.
  CHECK(cache.resolve_now(kPeer, d.now).error() == SendError::kHostUnreachable);
  CHECK_FALSE(cache.has_due_request());
  d.advance(kArpFailedHoldTime);
  cache.run_timers(d.now);
  CHECK(cache.state_of(kPeer) == State::kFree);
}

TEST_CASE("a bounded number of senders wait on one address; the next is refused") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  std::array<int, kArpWaitersPerEntry + 1> woken{};
  std::array<Waiter, kArpWaitersPerEntry + 1> waiters;
  auto waker_for = [&](std::size_t i) { return Waker(+[](void* p) noexcept { ++*static_cast<int*>(p); }, &woken[i]); };
  for (std::size_t i = 0; i < kArpWaitersPerEntry; ++i) {
    pollstack::testing::ManualContext cx(waker_for(i));
    CHECK(cache.poll_resolve(kPeer, waiters[i], cx).is_pending());
  }
  pollstack::testing::ManualContext extra(waker_for(kArpWaitersPerEntry));
  Poll<Result<MacAddress, SendError>> refused = cache.poll_resolve(kPeer, waiters[kArpWaitersPerEntry], extra);
  REQUIRE(refused.is_ready());
  CHECK(refused.value().error() == SendError::kNeighbourBusy);
  CHECK(cache.counters().waiters_refused == 1);
  // The same sender polling again is not a new waiter.
  pollstack::testing::ManualContext again(waker_for(0));
  CHECK(cache.poll_resolve(kPeer, waiters[0], again).is_pending());
  cache.learn(kPeer, kPeerMac, false, Instant{});
  for (std::size_t i = 0; i < kArpWaitersPerEntry; ++i) CHECK(woken[i] == 1);
  CHECK(woken[kArpWaitersPerEntry] == 0);
  for (std::size_t i = 0; i < kArpWaitersPerEntry; ++i) {
    pollstack::testing::ManualContext cx(waker_for(i));
    CHECK(cache.poll_resolve(kPeer, waiters[i], cx).is_ready());
  }
}

TEST_CASE("a sender dropped while it waits leaves the queue: its place goes to the next, its waker is forgotten") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  std::array<int, kArpWaitersPerEntry + 1> woken{};
  auto waker_for = [&](std::size_t i) { return Waker(+[](void* p) noexcept { ++*static_cast<int*>(p); }, &woken[i]); };
  std::array<Waiter, kArpWaitersPerEntry - 1> staying;
  for (std::size_t i = 0; i < staying.size(); ++i) {
    pollstack::testing::ManualContext cx(waker_for(i));
    CHECK(cache.poll_resolve(kPeer, staying[i], cx).is_pending());
  }
  {
    Waiter dropped;
    pollstack::testing::ManualContext cx(waker_for(kArpWaitersPerEntry - 1));
    CHECK(cache.poll_resolve(kPeer, dropped, cx).is_pending());
  }  // the sender's operation is gone: with ASan, a waker left behind here would be a use after scope
  Waiter late;
  pollstack::testing::ManualContext cx(waker_for(kArpWaitersPerEntry));
  CHECK(cache.poll_resolve(kPeer, late, cx).is_pending());  // the freed place: not kNeighbourBusy
  cache.learn(kPeer, kPeerMac, false, Instant{});
  CHECK(woken[kArpWaitersPerEntry - 1] == 0);  // the dropped sender was not woken
  CHECK(woken[kArpWaitersPerEntry] == 1);
  for (std::size_t i = 0; i < staying.size(); ++i) {
    pollstack::testing::ManualContext again(waker_for(i));
    CHECK(cache.poll_resolve(kPeer, staying[i], again).is_ready());
  }
  pollstack::testing::ManualContext again(waker_for(kArpWaitersPerEntry));
  CHECK(cache.poll_resolve(kPeer, late, again).is_ready());
}

TEST_CASE("learn() creates entries only when asked, and updates known ones") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  cache.learn(kPeer, kPeerMac, /*create=*/false, Instant{});
  CHECK(cache.state_of(kPeer) == State::kFree);
  cache.learn(kPeer, kPeerMac, /*create=*/true, Instant{});
  CHECK(cache.state_of(kPeer) == State::kReachable);
  const MacAddress moved{{2, 0, 0, 0, 0, 9}};
  cache.learn(kPeer, moved, false, Instant{});
  CHECK(cache.resolve_now(kPeer, Instant{}).value() == moved);
  CHECK(cache.counters().updated == 1);
}

TEST_CASE("entries expire after the reachable time") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  cache.learn(kPeer, kPeerMac, true, Instant{});
  CHECK(cache.run_timers(Instant{}) == Instant{} + kNeighbourReachableTime);
  cache.run_timers(Instant{} + kNeighbourReachableTime - Duration{1});
  CHECK(cache.state_of(kPeer) == State::kReachable);
  cache.run_timers(Instant{} + kNeighbourReachableTime);
  CHECK(cache.state_of(kPeer) == State::kFree);
  CHECK(cache.counters().expired == 1);
}

TEST_CASE("a full table reuses the least recently used entry; all-incomplete refuses") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  Instant t{};
  for (std::size_t i = 0; i < kNeighbourCacheEntries; ++i) {
    cache.learn(host(static_cast<int>(i)), kPeerMac, true, t);
    t += Duration{1};
  }
  CHECK(cache.resolve_now(host(0), t).ok());  // host 0 is now the most recently used
  CHECK(cache.resolve_now(host(100), t).error() == SendError::kNeighbourUnresolved);
  CHECK(cache.state_of(host(1)) == State::kFree);  // the least recently used went
  CHECK(cache.state_of(host(0)) == State::kReachable);
  CHECK(cache.counters().evicted == 1);

  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> pending_table;
  NeighbourCache<Ipv4Address>& pending_only = pending_table.cache();
  for (std::size_t i = 0; i < kNeighbourCacheEntries; ++i) {
    CHECK(pending_only.resolve_now(host(static_cast<int>(i)), t).error() == SendError::kNeighbourUnresolved);
  }
  CHECK(pending_only.resolve_now(host(200), t).error() == SendError::kNeighbourCacheFull);
  CHECK(pending_only.counters().cache_full == 1);
}

TEST_CASE("flush() forgets a resolution in progress; its sender, woken, starts another") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  Driver d;
  Resolver r{&cache, kPeer};
  CHECK(d.poll(r).is_pending());
  REQUIRE(cache.state_of(kPeer) == State::kIncomplete);
  cache.flush();  // the interface's address changed: what was asked under the old one is moot
  CHECK(cache.state_of(kPeer) == State::kFree);
  CHECK(cache.counters().flushed == 1);
  CHECK(d.wakes == 1);  // nobody sleeps on an entry that no longer exists
  CHECK(d.poll(r).is_pending());
  CHECK(cache.state_of(kPeer) == State::kIncomplete);
}

TEST_CASE("a failed entry that hears from its host after all becomes reachable") {
  NeighbourTable<Ipv4Address, kNeighbourCacheEntries> table;
  NeighbourCache<Ipv4Address>& cache = table.cache();
  Driver d;
  CHECK(cache.resolve_now(kPeer, d.now).error() == SendError::kNeighbourUnresolved);
  for (std::uint32_t i = 0; i < kArpMaxRequests; ++i) {
    REQUIRE(cache.take_due_request(d.now).has_value());
    d.advance(kArpRetryInterval);
    cache.run_timers(d.now);
  }
  REQUIRE(cache.state_of(kPeer) == State::kFailed);
  // Its ARP request (or a gratuitous one) arrives within the hold time: RFC 826's merge updates it.
  cache.learn(kPeer, kPeerMac, /*create=*/false, d.now);
  CHECK(cache.state_of(kPeer) == State::kReachable);
  REQUIRE(cache.resolve_now(kPeer, d.now).ok());
  CHECK(cache.resolve_now(kPeer, d.now).value() == kPeerMac);
  CHECK(cache.counters().updated == 1);
}

}  // namespace
}  // namespace pollstack::net
