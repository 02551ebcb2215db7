#pragma once
/// WaiterList and Waiter: where several tasks wait for one resource (TX room, a listen backlog, an
/// address being resolved), woken first come, first served, and forgotten when they give up.
///
/// An operation that may wait embeds a Waiter by value; the resource holds a WaiterList, an
/// intrusive doubly linked list through those Waiters, so nothing is allocated and any number of
/// operations can wait. The rules:
///  - wait(w, waker) queues `w` at the back, or refreshes its waker where it stands;
///  - notify_one() wakes the first queued waiter and marks it notified; it is expected to poll,
///    take the resource and say so with claimed(w). If it finds the resource gone after all (a
///    newcomer took it first), wait() puts it back at the front: it keeps its turn;
///  - a Waiter destroyed while queued leaves the list; destroyed while notified, it passes the
///    notification on to the next waiter, so a unit of the resource is never lost to an operation
///    that was dropped between its wake and its poll;
///  - may_take(w): a newcomer takes the resource without queueing only when nobody is queued; a
///    notified waiter, or the first in line (polled for another reason before its wake), may take
///    it. That keeps the order fair without a lost wake.
///
/// Compared with WakerSlot (one waiter; a second displaces the first and wakes it), N tasks
/// waiting here are woken in order, once each, with no evictions.
///
/// A list and its waiters belong to one thread (the one that polls the resource); the wakers may
/// wake tasks anywhere. A Waiter may be moved while queued (operations are moved into their tasks
/// before their first poll): the moved-to Waiter takes its place. The list must outlive its
/// waiters, as a resource outlives its operations.

#include <cstddef>
#include <cstdint>

#include "statemachines/contract.h"
#include "statemachines/waker.h"

namespace pollstack {

class WaiterList;

class Waiter {
 public:
  Waiter() noexcept {}  // not "= default": leaves prev_ and next_ unwritten (see below)
  Waiter(Waiter&& other) noexcept;
  Waiter& operator=(Waiter&&) = delete;
  ~Waiter();

  bool is_queued() const noexcept { return standing_ == Standing::kQueued; }
  bool is_notified() const noexcept { return standing_ == Standing::kNotified; }

 private:
  friend class WaiterList;
  enum class Standing : std::uint8_t { kIdle, kQueued, kNotified };

  // The links are left unwritten by construction: a Waiter is created with every operation that
  // might wait (every send of every datagram), and most never do. wait() writes them; they are
  // read only while queued. (The waker's two pointers start null: Waker's own default.)
  WaiterList* list_ = nullptr;  // set while queued or notified
  Waiter* prev_;
  Waiter* next_;
  Waker waker_;
  Standing standing_ = Standing::kIdle;
};

class WaiterList {
 public:
  constexpr WaiterList() noexcept = default;
  WaiterList(const WaiterList&) = delete;
  WaiterList& operator=(const WaiterList&) = delete;
  ~WaiterList() { expect(head_ == nullptr, "WaiterList destroyed with waiters queued"); }

  /// May `w` take the resource now? Yes when nobody is queued, when `w` is first in line, or when
  /// `w` was notified.
  bool may_take(const Waiter& w) const noexcept {
    return head_ == nullptr || head_ == &w || (w.is_notified() && w.list_ == this);
  }

  /// Whether `w` is queued here (not elsewhere, not notified).
  bool holds(const Waiter& w) const noexcept { return w.is_queued() && w.list_ == this; }

  /// Queues `w` to be woken through `waker`: at the back if it was not waiting, at the front if it
  /// had been notified (it keeps its turn), in place (waker refreshed) if it is queued.
  void wait(Waiter& w, const Waker& waker) noexcept {
    // A waiter that moves on to another resource (a neighbour entry reused for another address)
    // leaves its old list first, passing on a wake it had there (it will not use it).
    if (w.list_ != nullptr && w.list_ != this) w.list_->leave(w);
    w.waker_ = waker;
    if (w.standing_ == Waiter::Standing::kQueued) return;
    const bool keeps_turn = w.standing_ == Waiter::Standing::kNotified;
    w.list_ = this;
    w.standing_ = Waiter::Standing::kQueued;
    ++queued_;
    if (keeps_turn) {
      w.prev_ = nullptr;
      w.next_ = head_;
      if (head_ != nullptr) head_->prev_ = &w; else tail_ = &w;
      head_ = &w;
    } else {
      w.next_ = nullptr;
      w.prev_ = tail_;
      if (tail_ != nullptr) tail_->next_ = &w; else head_ = &w;
      tail_ = &w;
    }
  }

  /// `w` took the resource (or gave up without wanting it passed on): it leaves the list. Cheap
  /// for a Waiter that never waited.
  void claimed(Waiter& w) noexcept {
    if (w.standing_ == Waiter::Standing::kIdle) return;
    if (w.standing_ == Waiter::Standing::kQueued) w.list_->unlink(w);  // its own list, whichever
    w.standing_ = Waiter::Standing::kIdle;
    w.list_ = nullptr;
  }

  /// Wakes the first queued waiter. False when nobody was queued.
  bool notify_one() noexcept {
    Waiter* w = head_;
    if (w == nullptr) return false;
    unlink(*w);
    w->standing_ = Waiter::Standing::kNotified;
    // Copy before waking: a wake function that polls inline may wait() again.
    const Waker waker = w->waker_;
    waker.wake();
    return true;
  }

  /// Wakes every waiter queued now, in order (the resource went away, or all of it became free).
  /// Bounded: one that queues again from inside its wake is not woken twice.
  void notify_all() noexcept {
    for (std::size_t n = queued_; n > 0 && notify_one(); --n) {
    }
  }

  bool is_empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return queued_; }

 private:
  friend class Waiter;

  void unlink(Waiter& w) noexcept {
    if (w.prev_ != nullptr) w.prev_->next_ = w.next_; else head_ = w.next_;
    if (w.next_ != nullptr) w.next_->prev_ = w.prev_; else tail_ = w.prev_;
    w.prev_ = w.next_ = nullptr;
    --queued_;
  }

  // A waiter going away: out of the queue, or its notification to the next in line.
  void leave(Waiter& w) noexcept {
    const bool was_notified = w.standing_ == Waiter::Standing::kNotified;
    claimed(w);
    if (was_notified) notify_one();
  }

  // `to` takes `from`'s place in the queue.
  void replace(Waiter& from, Waiter& to) noexcept {
    to.prev_ = from.prev_;
    to.next_ = from.next_;
    if (to.prev_ != nullptr) to.prev_->next_ = &to; else head_ = &to;
    if (to.next_ != nullptr) to.next_->prev_ = &to; else tail_ = &to;
    from.prev_ = from.next_ = nullptr;
  }

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t queued_ = 0;
};

inline Waiter::Waiter(Waiter&& other) noexcept : list_(other.list_), standing_(other.standing_) {
  if (standing_ == Standing::kQueued) {
    waker_ = other.waker_;
    list_->replace(other, *this);
  }
  other.list_ = nullptr;
  other.standing_ = Standing::kIdle;
}

inline Waiter::~Waiter() {
  if (list_ != nullptr) list_->leave(*this);
}

}  // namespace pollstack
