#include "statemachines/waiter_list.h"

#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "statemachines/executor.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

// A counted resource with a FIFO of waiters: the shape of TX room in a channel.
class Pool {
 public:
  bool try_take(Waiter& w, const Waker& waker) {
    if (units_ > 0 && list_.may_take(w)) {
      --units_;
      list_.claimed(w);
      return true;
    }
    list_.wait(w, waker);
    return false;
  }
  void give() {
    ++units_;
    list_.notify_one();
  }
  // A unit the resource found without telling anyone (as a channel reaps completions while
  // serving a reservation).
  void give_silently() { ++units_; }
  WaiterList& list() { return list_; }
  int units() const { return units_; }

 private:
  int units_ = 0;
  WaiterList list_;
};

// Takes one unit, then records its id in the order it got it.
class Taker {
 public:
  using Output = int;
  Taker(Pool& pool, int id, std::vector<int>& order) : pool_(&pool), id_(id), order_(&order) {}
  Poll<int> poll(Context& cx) {
    ++polls;
    if (!pool_->try_take(waiter_, cx.waker())) return pending;
    order_->push_back(id_);
    return id_;
  }
  int polls = 0;

 private:
  Pool* pool_;
  int id_;
  std::vector<int>* order_;
  Waiter waiter_;
};

TEST_CASE("eight tasks waiting for room are woken in FIFO order, each once, none evicted") {
  Pool pool;
  std::vector<int> order;
  Executor ex{Taker(pool, 0, order), Taker(pool, 1, order), Taker(pool, 2, order), Taker(pool, 3, order),
              Taker(pool, 4, order), Taker(pool, 5, order), Taker(pool, 6, order), Taker(pool, 7, order)};
  CHECK(ex.run_ready(Instant{}) == 8);  // everyone finds the pool empty and queues
  CHECK(pool.list().size() == 8);
  for (int unit = 0; unit < 8; ++unit) {
    pool.give();
    CHECK(ex.run_ready(Instant{}) == 1);  // exactly one task woken per unit: no eviction, no herd
  }
  CHECK(ex.all_done());
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  // Each was polled twice: queued, then woken once with its unit.
  CHECK(ex.task<0>().polls == 2);
  CHECK(ex.task<7>().polls == 2);
  CHECK(pool.list().is_empty());
}

TEST_CASE("a newcomer does not jump the queue") {
  Pool pool;
  std::vector<int> order;
  Executor ex{Taker(pool, 1, order), Taker(pool, 2, order)};
  ex.run_ready(Instant{});
  pool.give();                      // notifies 1
  Waiter newcomer;
  int wakes = 0;
  CHECK_FALSE(pool.try_take(newcomer, testing::counting_waker(wakes)));  // 2 is still queued
  ex.run_ready(Instant{});
  CHECK(order == std::vector<int>{1});
  pool.give();
  ex.run_ready(Instant{});
  CHECK(order == std::vector<int>{1, 2});
  pool.give();
  CHECK(wakes == 1);
  CHECK(pool.try_take(newcomer, testing::counting_waker(wakes)));
}

TEST_CASE("a waiter dropped while queued leaves the list; dropped while notified, it passes the wake on") {
  Pool pool;
  int wakes[3] = {};
  std::optional<Waiter> a(std::in_place), b(std::in_place), c(std::in_place);
  pool.list().wait(*a, testing::counting_waker(wakes[0]));
  pool.list().wait(*b, testing::counting_waker(wakes[1]));
  pool.list().wait(*c, testing::counting_waker(wakes[2]));
  b.reset();  // queued: simply gone
  CHECK(pool.list().size() == 2);
  pool.give();  // notifies a
  CHECK(wakes[0] == 1);
  CHECK(a->is_notified());
  a.reset();  // dropped between its wake and its poll: c gets the unit instead
  CHECK(wakes[2] == 1);
  CHECK(wakes[1] == 0);
  CHECK(c->is_notified());
  CHECK(pool.list().is_empty());
}

TEST_CASE("a notified waiter that lost the unit keeps its turn at the front") {
  Pool pool;
  int wakes[2] = {};
  Waiter first, second;
  pool.list().wait(first, testing::counting_waker(wakes[0]));
  pool.list().wait(second, testing::counting_waker(wakes[1]));
  pool.list().notify_one();  // first notified, but there is no unit (a spurious notify)
  CHECK_FALSE(pool.try_take(first, testing::counting_waker(wakes[0])));
  pool.give();
  CHECK(wakes[0] == 2);  // first again, not second
  CHECK(wakes[1] == 0);
  CHECK(pool.try_take(first, testing::counting_waker(wakes[0])));
  pool.list().claimed(second);
}

TEST_CASE("the first in line may take a unit it was not woken for; a newcomer behind it may not") {
  Pool pool;
  int wakes[3] = {};
  Waiter first, second, newcomer;
  CHECK_FALSE(pool.try_take(first, testing::counting_waker(wakes[0])));
  CHECK_FALSE(pool.try_take(second, testing::counting_waker(wakes[1])));
  pool.give();  // notifies first
  pool.give();  // notifies second
  CHECK(pool.list().is_empty());
  // Both notified: a newcomer arriving now finds nobody queued and may take a unit; the notified
  // waiter that then finds none keeps its turn at the front.
  CHECK(pool.try_take(newcomer, testing::counting_waker(wakes[2])));
  CHECK(pool.try_take(second, testing::counting_waker(wakes[1])));
  CHECK_FALSE(pool.try_take(first, testing::counting_waker(wakes[0])));
  CHECK(pool.list().size() == 1);
  // A unit found without a notification: the first in line, polled for another reason, takes
  // it (otherwise nobody would ever be woken for it); the one behind may not.
  Waiter behind;
  CHECK_FALSE(pool.try_take(behind, testing::counting_waker(wakes[2])));  // queued behind first
  pool.give_silently();
  CHECK_FALSE(pool.try_take(behind, testing::counting_waker(wakes[2])));
  CHECK(pool.try_take(first, testing::counting_waker(wakes[0])));
  CHECK(pool.list().size() == 1);
  pool.give();
  CHECK(pool.try_take(behind, testing::counting_waker(wakes[2])));
  CHECK(pool.list().is_empty());
}

TEST_CASE("a queued waiter moved keeps its place") {
  WaiterList list;
  int wakes[3] = {};
  Waiter a, c;
  std::optional<Waiter> b(std::in_place);
  list.wait(a, testing::counting_waker(wakes[0]));
  list.wait(*b, testing::counting_waker(wakes[1]));
  list.wait(c, testing::counting_waker(wakes[2]));
  Waiter moved(std::move(*b));
  b.reset();  // the moved-from waiter is idle: destroying it changes nothing
  CHECK(list.size() == 3);
  CHECK(moved.is_queued());
  // Woken one at a time: a, then the moved one in b's place, then c.
  list.notify_one();
  CHECK((wakes[0] == 1 && wakes[1] == 0 && wakes[2] == 0));
  list.notify_one();
  CHECK((wakes[1] == 1 && wakes[2] == 0));
  // A notified waiter moved keeps its notification: dropped, it passes the wake on to c.
  {
    Waiter notified_moved(std::move(moved));
    CHECK(notified_moved.is_notified());
  }
  CHECK(wakes[2] == 1);
  list.claimed(a);
  list.claimed(c);
}

}  // namespace
}  // namespace pollstack
