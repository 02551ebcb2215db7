#pragma once
/// Executor<Tasks...>: a fixed set of tasks, each a state machine held by value, polled when woken
/// or when the time it asked for (Context::wake_at) has come.
///
/// The task set is part of the type, so the executor's size is known at compile time and nothing
/// is allocated: `Executor ex{make_sender(), make_receiver()};`. Each task gets its own Waker,
/// which sets that task's bit in one atomic word, and its own deadline. `run_ready(now)` polls,
/// once and in task order, every task that was woken or whose deadline is due, then
/// `next_deadline()` reports the earliest deadline still pending, so its owner can sleep until
/// then or until a waker fires. A Ready task is never polled again and its output is kept for output<I>().
///
/// Portable: no clock and no way of sleeping of its own. The owner reads its clock, calls
/// run_ready(), and sleeps the way its platform does: hosted/run.h parks the thread on a futex;
/// firmware waits for an interrupt (tools/firmware). `set_notifier()` is how a wake from another
/// thread (or an interrupt handler) reaches a sleeping owner.
///
/// Wakers point into the executor, so it cannot be copied or moved; it must outlive every waker
/// it handed out (resources drop wakers when the operations holding them end).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "statemachines/clock.h"
#include "statemachines/contract.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine... Tasks>
class Executor {
 public:
  static constexpr std::size_t kTaskCount = sizeof...(Tasks);
  static_assert(kTaskCount >= 1 && kTaskCount <= 32, "one bit per task in a 32-bit ready word");

  explicit Executor(Tasks... tasks) : tasks_(std::move(tasks)...) {
    for (std::size_t i = 0; i < kTaskCount; ++i) {
      wake_targets_[i] = WakeTarget{this, std::uint32_t{1} << i};
      deadlines_[i] = kNever;
    }
  }
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Polls, in task order, each task that was woken since its last poll or whose deadline is at
  /// or before `now`, once. A task woken by an earlier task of the same turn is polled in that
  /// turn (a receive path that fills a socket wakes its reader, which drains it before the receive
  /// path runs again); one woken by a later task waits for the next turn. Returns how many were
  /// polled. Bounded work: at most kTaskCount polls, however the tasks wake each other.
  std::size_t run_ready(Instant now) noexcept {
    std::size_t polled = 0;
    poll_due(now, polled, std::index_sequence_for<Tasks...>{});
    return polled;
  }

  /// The earliest time an unfinished task asked to be polled at (kNever: none). The owner may
  /// sleep until then unless has_woken() (a task was woken meanwhile: call run_ready() at once).
  Instant next_deadline() const noexcept {
    Instant next = kNever;
    for (std::size_t i = 0; i < kTaskCount; ++i) {
      if (((done_ >> i) & 1u) == 0 && deadlines_[i] < next) next = deadlines_[i];
    }
    return next;
  }

  /// True when some unfinished task was woken since the last run_ready(). The owner's thread (a
  /// wake from elsewhere reaches the owner through set_notifier()).
  bool has_woken() const noexcept { return (woken_.load(std::memory_order_acquire) & ~done_) != 0; }

  /// Called (on whatever thread wakes a task) after the task's bit is set: how a sleeping owner
  /// learns of the wake (hosted: ThreadParker::waker()). Set it before the first run_ready().
  void set_notifier(const Waker& notifier) noexcept { notifier_ = notifier; }

  bool all_done() const noexcept { return done_ == kAllTasks; }
  bool is_done(std::size_t index) const noexcept {
    expect(index < kTaskCount, "Executor::is_done(): no such task");
    return (done_ >> index) & 1u;
  }

  /// Task I's Poll: Ready with its output once it finished.
  template <std::size_t I>
  auto& output() noexcept {
    return std::get<I>(tasks_).output;
  }

  /// Task I itself, for its owner to inspect (counters, state) between runs.
  template <std::size_t I>
  auto& task() noexcept {
    return std::get<I>(tasks_).machine;
  }

 private:
  static constexpr std::uint32_t kAllTasks =
      kTaskCount == 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << kTaskCount) - 1;

  template <class M>
  struct Task {
    explicit Task(M m) : machine(std::move(m)) {}
    M machine;
    Poll<OutputOf<M>> output = pending;
  };

  // What a task's waker points at: its executor and its bit in the ready word.
  struct WakeTarget {
    Executor* executor;
    std::uint32_t bit;
  };

  // Set the bit before notifying: the owner re-reads the word after every sleep, so no wake is
  // lost.
  static void wake_task(void* data) noexcept {
    const auto* target = static_cast<const WakeTarget*>(data);
    target->executor->woken_.fetch_or(target->bit, std::memory_order_release);
    target->executor->notifier_.wake();
  }

  template <std::size_t... I>
  void poll_due(Instant now, std::size_t& polled, std::index_sequence<I...>) noexcept {
    (poll_if_due<I>(now, polled), ...);
  }

  // The ready bit is read (and cleared) when the task's turn comes, not once for the whole turn.
  template <std::size_t I>
  void poll_if_due(Instant now, std::size_t& polled) noexcept {
    constexpr std::uint32_t bit = std::uint32_t{1} << I;
    if ((done_ & bit) != 0) return;
    const bool woken = (woken_.load(std::memory_order_relaxed) & bit) != 0 &&
                       (woken_.fetch_and(~bit, std::memory_order_acquire) & bit) != 0;
    if (!woken && deadlines_[I] > now) return;
    poll_task<I>(now);
    ++polled;
  }

  template <std::size_t I>
  void poll_task(Instant now) noexcept {
    auto& task = std::get<I>(tasks_);
    deadlines_[I] = kNever;  // a task asks again on every poll that still waits on time
    Context cx(Waker(&wake_task, &wake_targets_[I]), now, deadlines_[I]);
    task.output = task.machine.poll(cx);
    if (task.output.is_ready()) done_ |= std::uint32_t{1} << I;
  }

  std::tuple<Task<Tasks>...> tasks_;
  std::atomic<std::uint32_t> woken_{kAllTasks};  // every task is polled once at the start
  std::uint32_t done_ = 0;
  Instant deadlines_[kTaskCount];  // what each task last asked for through wake_at()
  WakeTarget wake_targets_[kTaskCount];
  Waker notifier_;
};

}  // namespace pollstack
