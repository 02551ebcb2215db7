#pragma once
// CoTask<T, Frames>: the coroutine used by the coroutine variant of the UDP paths. Lazy (starts
// when awaited), returns to its awaiter by symmetric transfer, and may suspend at a leaf that
// waits on the channel (ChannelReserve in coroutine_path.cc): then control returns to whoever resumed
// the chain, and the channel's waker resumes it later. Frame ownership and the awaiting protocol
// are async_cost's TaskHandle (shared with LazyTask); `Frames` (also from async_cost/lazy_task.h)
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
class CoTask;

template <class T, class Frames>
struct CoPromise : Frames::template PromiseBase<CoTask<T, Frames>> {
  std::optional<T> value;
  std::coroutine_handle<> continuation = std::noop_coroutine();

  CoTask<T, Frames> get_return_object() noexcept;
  std::suspend_always initial_suspend() noexcept { return {}; }
  async_cost::ResumeContinuation final_suspend() noexcept { return {}; }
  template <class V>
  void return_value(V&& v) noexcept {
    value.emplace(std::forward<V>(v));
  }
  void unhandled_exception() noexcept { std::abort(); }
};

template <class T, class Frames>
class [[nodiscard]] CoTask : public async_cost::TaskHandle<CoPromise<T, Frames>> {
 public:
  using promise_type = CoPromise<T, Frames>;

  CoTask() noexcept = default;

  /// The result; nullopt for a task whose frame could not be allocated (ArenaFrames only).
  std::optional<T> await_resume() noexcept {
    return this->handle_ ? std::move(this->handle_.promise().value) : std::nullopt;
  }

  /// From ordinary code: runs the task until it finishes or suspends on the channel. Call again
  /// (after the channel's waker fired) with resume(); done() tells which.
  void start() noexcept {
    if (this->handle_) this->handle_.resume();
  }
  bool done() const noexcept { return !this->handle_ || this->handle_.done(); }
  std::optional<T> result() noexcept { return await_resume(); }

 private:
  friend promise_type;
  explicit CoTask(std::coroutine_handle<promise_type> handle) noexcept : async_cost::TaskHandle<promise_type>(handle) {}
};

template <class T, class Frames>
CoTask<T, Frames> CoPromise<T, Frames>::get_return_object() noexcept {
  return CoTask<T, Frames>(std::coroutine_handle<CoPromise>::from_promise(*this));
}

}  // namespace pollstack::full_path
