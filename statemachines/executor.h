#pragma once
/// Executor<Tasks...>: a fixed set of tasks, each a state machine held by value, polled when woken.
///
/// The task set is part of the type, so the executor's size is known at compile time and nothing
/// is allocated: `Executor ex{make_sender(), make_receiver()};`. Each task gets its own Waker, which
/// sets that task's bit in one atomic word; run_ready() polls every task whose bit is set, once,
/// in task order. A task is polled first on the first run, then only after its waker fires; a
/// Ready task is never polled again and its output is kept for output<I>().
///
/// Wakers point into the executor, so it cannot be copied or moved; it must outlive every waker
/// it handed out (resources drop wakers when the operations holding them end).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "statemachines/contract.h"
#include "statemachines/state_machine.h"
#include "statemachines/thread_parker.h"

namespace pollstack {

template <StateMachine... Tasks>
class Executor {
 public:
  static constexpr std::size_t kTaskCount = sizeof...(Tasks);
  static_assert(kTaskCount >= 1 && kTaskCount <= 32, "one bit per task in a 32-bit ready word");

  explicit Executor(Tasks... tasks) : tasks_(std::move(tasks)...) {
    for (std::size_t i = 0; i < kTaskCount; ++i) {
      wake_targets_[i] = WakeTarget{this, std::uint32_t{1} << i};
    }
  }
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Polls each task that was woken since its last poll, once. Returns how many were polled.
  /// Bounded work: at most kTaskCount polls, even if tasks wake each other meanwhile.
  std::size_t run_ready() noexcept {
    const std::uint32_t woken = woken_.exchange(0, std::memory_order_acquire) & ~done_;
    poll_woken(woken, std::index_sequence_for<Tasks...>{});
    return static_cast<std::size_t>(__builtin_popcount(woken));
  }

  /// Runs until every task is Ready. While no task is woken, the thread sleeps on a ThreadParker,
  /// so a wake from another thread resumes it. Hosted builds only; firmware calls run_ready()
  /// from its own idle loop.
  void run() noexcept {
    while (!all_done()) {
      if (run_ready() == 0 && woken_.load(std::memory_order_acquire) == 0) parker_.park();
    }
  }

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

  // Set the bit before unparking: run() re-reads the word after every park, so no wake is lost.
  static void wake_task(void* data) noexcept {
    const auto* target = static_cast<const WakeTarget*>(data);
    target->executor->woken_.fetch_or(target->bit, std::memory_order_release);
    target->executor->parker_.unpark();
  }

  template <std::size_t... I>
  void poll_woken(std::uint32_t woken, std::index_sequence<I...>) noexcept {
    ((woken & (std::uint32_t{1} << I) ? poll_task<I>() : void()), ...);
  }

  template <std::size_t I>
  void poll_task() noexcept {
    auto& task = std::get<I>(tasks_);
    Context cx(Waker(&wake_task, &wake_targets_[I]));
    task.output = task.machine.poll(cx);
    if (task.output.is_ready()) done_ |= std::uint32_t{1} << I;
  }

  std::tuple<Task<Tasks>...> tasks_;
  std::atomic<std::uint32_t> woken_{kAllTasks};  // every task is polled once at the start
  std::uint32_t done_ = 0;
  WakeTarget wake_targets_[kTaskCount];
  ThreadParker parker_;
};

}  // namespace pollstack
