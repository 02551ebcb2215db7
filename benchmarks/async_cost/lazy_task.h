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

template <class T, class Frames>
class [[nodiscard]] LazyTask {
 public:
  struct promise_type : Frames::template PromiseBase<LazyTask> {
    T value{};
    std::coroutine_handle<> continuation;

    LazyTask get_return_object() noexcept {
      return LazyTask(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct ResumeAwaiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
          return self.promise().continuation;  // symmetric transfer back to the awaiter
        }
        void await_resume() noexcept {}
      };
      return ResumeAwaiter{};
    }
    void return_value(T v) noexcept { value = std::move(v); }
    void unhandled_exception() noexcept { std::abort(); }  // the tree never throws
  };

  LazyTask() noexcept = default;
  LazyTask(LazyTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  LazyTask& operator=(LazyTask&&) = delete;
  ~LazyTask() {
    if (handle_) handle_.destroy();
  }

  /// False when the frame could not be allocated (ArenaFrames only).
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  // Awaiting: start the child and resume us when it finishes. An empty task completes at once.
  bool await_ready() const noexcept { return !handle_; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }
  T await_resume() noexcept { return handle_ ? std::move(handle_.promise().value) : T{}; }

  /// Runs a task whose leaves never suspend to completion from ordinary code (the entry point).
  /// Returns T{} for an empty task.
  T run_to_completion() noexcept {
    if (!handle_) return T{};
    handle_.promise().continuation = std::noop_coroutine();
    handle_.resume();
    return std::move(handle_.promise().value);
  }

 private:
  explicit LazyTask(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}

  std::coroutine_handle<promise_type> handle_;
};

}  // namespace pollstack::async_cost
