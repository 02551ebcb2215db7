#pragma once
// LazyTask<T, Frames>: a C++20 coroutine task that starts when awaited and hands control back to
// its awaiter by symmetric transfer (no stack growth, no scheduler). `Frames` decides where
// coroutine frames live: HeapFrames (the default operator new) or ArenaFrames (FrameArena).

#include <coroutine>
#include <cstdlib>
#include <utility>

#include "benchmarks/async_cost/frame_arena.h"

namespace pollstack::async_cost {

// Frames on the global heap: the promise adds nothing, so the default operator new is used.
struct HeapFrames {
  template <class Task>
  struct PromiseBase {};
  static constexpr bool kCanFail = false;
};

// Frames from FrameArena::current(). When the arena is full, the coroutine is not created and the
// caller receives an empty task; awaiting it yields a default value, and the failure is counted in
// the arena for whoever runs the tree to check.
struct ArenaFrames {
  template <class Task>
  struct PromiseBase {
    static void* operator new(std::size_t size) noexcept {
      return FrameArena::current().allocate(size);
    }
    static void operator delete(void* frame, std::size_t size) noexcept {
      FrameArena::current().deallocate(frame, size);
    }
    static Task get_return_object_on_allocation_failure() noexcept { return Task(); }
  };
  static constexpr bool kCanFail = true;
};

/// What every lazy task type shares: it owns its coroutine frame, and awaiting it starts the child
/// and resumes the awaiter when the child finishes (an empty task, whose frame could not be
/// allocated, completes at once). `Promise` needs a `continuation` member and a final_suspend that
/// returns ResumeContinuation. LazyTask below and full_path's CoTask build on it.
template <class Promise>
class TaskHandle {
 public:
  TaskHandle() noexcept = default;
  TaskHandle(TaskHandle&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  TaskHandle& operator=(TaskHandle&&) = delete;
  ~TaskHandle() {
    if (handle_) handle_.destroy();
  }

  /// False when the frame could not be allocated (ArenaFrames only).
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  bool await_ready() const noexcept { return !handle_; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }

 protected:
  explicit TaskHandle(std::coroutine_handle<Promise> handle) noexcept : handle_(handle) {}
  std::coroutine_handle<Promise> handle_;
};

/// A task promise's final_suspend: symmetric transfer back to whoever awaited the task.
struct ResumeContinuation {
  bool await_ready() noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
    return self.promise().continuation;
  }
  void await_resume() noexcept {}
};

template <class T, class Frames>
class LazyTask;

template <class T, class Frames>
struct LazyPromise : Frames::template PromiseBase<LazyTask<T, Frames>> {
  T value{};
  std::coroutine_handle<> continuation;

  LazyTask<T, Frames> get_return_object() noexcept;
  std::suspend_always initial_suspend() noexcept { return {}; }
  ResumeContinuation final_suspend() noexcept { return {}; }
  void return_value(T v) noexcept { value = std::move(v); }
  void unhandled_exception() noexcept { std::abort(); }  // the tree never throws
};

template <class T, class Frames>
class [[nodiscard]] LazyTask : public TaskHandle<LazyPromise<T, Frames>> {
 public:
  using promise_type = LazyPromise<T, Frames>;

  LazyTask() noexcept = default;

  T await_resume() noexcept { return this->handle_ ? std::move(this->handle_.promise().value) : T{}; }

  /// Runs a task whose leaves never suspend to completion from ordinary code (the entry point).
  /// Returns T{} for an empty task.
  T run_to_completion() noexcept {
    if (!this->handle_) return T{};
    this->handle_.promise().continuation = std::noop_coroutine();
    this->handle_.resume();
    return std::move(this->handle_.promise().value);
  }

 private:
  friend promise_type;
  explicit LazyTask(std::coroutine_handle<promise_type> handle) noexcept : TaskHandle<promise_type>(handle) {}
};

template <class T, class Frames>
LazyTask<T, Frames> LazyPromise<T, Frames>::get_return_object() noexcept {
  return LazyTask<T, Frames>(std::coroutine_handle<LazyPromise>::from_promise(*this));
}

}  // namespace pollstack::async_cost
