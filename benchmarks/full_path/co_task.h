#pragma once
// CoTask<T, Frames>: the coroutine used by the coroutine variant of the UDP paths. Lazy (starts
// when awaited), returns to its awaiter by symmetric transfer, and may suspend at a leaf that
// waits on the channel (ChannelReserve in coroutine_path.cc): then control returns to whoever resumed
// the chain, and the channel's waker resumes it later. `Frames` (from async_cost/lazy_task.h)
// decides where frames live: the heap, or the FrameArena.

#include <coroutine>
#include <cstdlib>
#include <optional>
#include <utility>

#include "benchmarks/async_cost/lazy_task.h"

namespace pollstack::full_path {

using async_cost::ArenaFrames;
using async_cost::FrameArena;
using async_cost::HeapFrames;

template <class T, class Frames>
class [[nodiscard]] CoTask {
 public:
  struct promise_type : Frames::template PromiseBase<CoTask> {
    std::optional<T> value;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    CoTask get_return_object() noexcept { return CoTask(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct ResumeAwaiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
          return self.promise().continuation;
        }
        void await_resume() noexcept {}
      };
      return ResumeAwaiter{};
    }
    template <class V>
    void return_value(V&& v) noexcept {
      value.emplace(std::forward<V>(v));
    }
    void unhandled_exception() noexcept { std::abort(); }
  };

  CoTask() noexcept = default;
  CoTask(CoTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  CoTask& operator=(CoTask&&) = delete;
  ~CoTask() {
    if (handle_) handle_.destroy();
  }

  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  bool await_ready() const noexcept { return !handle_; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }
  /// The result; nullopt for a task whose frame could not be allocated (ArenaFrames only).
  std::optional<T> await_resume() noexcept { return handle_ ? std::move(handle_.promise().value) : std::nullopt; }

  /// From ordinary code: runs the task until it finishes or suspends on the channel. Call again
  /// (after the channel's waker fired) with resume(); done() tells which.
  void start() noexcept {
    if (handle_) handle_.resume();
  }
  bool done() const noexcept { return !handle_ || handle_.done(); }
  std::optional<T> result() noexcept { return handle_ ? std::move(handle_.promise().value) : std::nullopt; }

 private:
  explicit CoTask(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace pollstack::full_path
