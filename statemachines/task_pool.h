#pragma once
/// TaskPool<M, N>: many tasks of one kind (TCP connections, accepted sockets, DNS queries), up to
/// N at once, started and retired while the program runs, still without heap: N slots of M held by
/// value. The pool is itself a state machine, polled as one task of an Executor (or of another
/// pool): each slot gets its own waker and its own deadline, and the pool's poll polls only the
/// slots that were woken or whose deadline is due, then asks its owner for the earliest deadline
/// among them. A task that completes is destroyed (its resources released) and its slot freed.
///
/// Outputs are discarded: a pooled task reports through its own state (a connection's counters, a
/// socket's error). spawn() from another task of the same thread (an accept loop, say) wakes the
/// pool, so the new task is polled on the pool's next poll.
///
/// Wakers point into the pool, so it must not move once polled (it may be moved, empty, into an
/// Executor). The owner's waker is stored at the pool's poll; as everywhere, it must belong to the
/// one task that polls the pool.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "statemachines/clock.h"
#include "statemachines/contract.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine M, std::size_t N>
class TaskPool {
 public:
  static_assert(N >= 1 && N <= 32, "one bit per slot in a 32-bit word");
  /// Ready once close() was called and every task has finished.
  using Output = void;

  TaskPool() noexcept { init_targets(); }
  /// Only an empty pool that was never polled can move (into an Executor, say).
  TaskPool(TaskPool&& other) noexcept {
    expect(other.running_ == 0 && other.owner_.is_noop() && !other.closed_ && other.started_ == 0,
           "TaskPool moved after it was used");
    init_targets();
  }
  TaskPool& operator=(TaskPool&&) = delete;

  /// Starts `machine` in a free slot; it is polled first at the pool's next poll. False (and
  /// counted in refused()) when N tasks are running or the pool is closed: the caller decides
  /// what that means (refuse a connection, retry later).
  bool spawn(M machine) noexcept {
    const std::uint32_t free = ~running_ & kAllSlots;
    if (free == 0 || closed_) {
      ++refused_;
      return false;
    }
    const auto slot = static_cast<std::size_t>(__builtin_ctz(free));
    slots_[slot].emplace(std::move(machine));
    deadlines_[slot] = kNever;
    running_ |= std::uint32_t{1} << slot;
    ++started_;
    woken_.fetch_or(std::uint32_t{1} << slot, std::memory_order_release);
    owner_.wake();
    return true;
  }

  /// No more spawns: the pool completes when its last task finishes.
  void close() noexcept {
    closed_ = true;
    owner_.wake();
  }

  Poll<void> poll(Context& cx) noexcept {
    state_.expect_pollable();
    if (!owner_.will_wake(cx.waker())) owner_ = cx.waker();
    const Instant now = cx.now();
    std::uint32_t due = woken_.exchange(0, std::memory_order_acquire);
    for (std::uint32_t rest = running_; rest != 0; rest &= rest - 1) {
      const auto slot = static_cast<std::size_t>(__builtin_ctz(rest));
      if (deadlines_[slot] <= now) due |= std::uint32_t{1} << slot;
    }
    due &= running_;
    Instant next = kNever;
    for (std::uint32_t rest = running_; rest != 0; rest &= rest - 1) {
      const auto slot = static_cast<std::size_t>(__builtin_ctz(rest));
      if ((due >> slot) & 1u) poll_slot(slot, now);
      if (((running_ >> slot) & 1u) && deadlines_[slot] < next) next = deadlines_[slot];
    }
    cx.wake_at(next);
    if (closed_ && running_ == 0) {
      state_.set(State::Done);
      return ready();
    }
    return pending;
  }

  std::size_t running() const noexcept { return static_cast<std::size_t>(__builtin_popcount(running_)); }
  static constexpr std::size_t capacity() noexcept { return N; }
  std::uint64_t started() const noexcept { return started_; }
  std::uint64_t finished() const noexcept { return finished_; }
  std::uint64_t refused() const noexcept { return refused_; }

 private:
  enum class State : std::uint8_t { Running, Done };
  static constexpr auto kTransitions = transitions(State::Running, {
      {State::Running, State::Done, "closed, and the last task finished"},
  });
  static constexpr std::uint32_t kAllSlots = N == 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << N) - 1;

  struct WakeTarget {
    TaskPool* pool;
    std::uint32_t bit;
  };

  void init_targets() noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      targets_[i] = WakeTarget{this, std::uint32_t{1} << i};
      deadlines_[i] = kNever;
    }
  }

  static void wake_slot(void* data) noexcept {
    const auto* target = static_cast<const WakeTarget*>(data);
    target->pool->woken_.fetch_or(target->bit, std::memory_order_release);
    target->pool->owner_.wake();
  }

  void poll_slot(std::size_t slot, Instant now) noexcept {
    deadlines_[slot] = kNever;
    Context cx(Waker(&wake_slot, &targets_[slot]), now, deadlines_[slot]);
    if (slots_[slot]->poll(cx).is_pending()) return;
    slots_[slot].reset();
    running_ &= ~(std::uint32_t{1} << slot);
    ++finished_;
  }

  std::optional<M> slots_[N];
  Instant deadlines_[N];
  WakeTarget targets_[N];
  std::atomic<std::uint32_t> woken_{0};
  std::uint32_t running_ = 0;
  bool closed_ = false;
  Waker owner_;
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
  std::uint64_t refused_ = 0;
  StateCell<TaskPool, &kTransitions> state_{State::Running};
};

}  // namespace pollstack
