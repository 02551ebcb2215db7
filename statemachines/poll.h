#pragma once
/// Poll<T>: the result of asking a state machine to make progress.
///
/// The poll contract, stated once for the whole project:
///  - `poll(cx)` does a bounded amount of work and returns either Ready (with the output) or Pending.
///  - Pending is a promise: before returning it, the machine (or the resource it waits on) has
///    stored `cx.waker()` and will wake it when progress becomes possible. A machine that returns
///    Pending without arranging a wake has a bug: its task will sleep forever.
///  - A waker may fire spuriously; polling again is always allowed until Ready.
///  - After Ready the machine is finished; polling it again is a contract violation.

#include <optional>
#include <type_traits>
#include <utility>

#include "statemachines/contract.h"

namespace pollstack {

/// The value of `pending`: convertible to every Poll<T>, so `return pending;` works everywhere.
struct PendingTag {
  explicit constexpr PendingTag() = default;
};
inline constexpr PendingTag pending{};

/// Ready with a T, or Pending. Holds the T in place; no allocation.
template <class T>
class [[nodiscard]] Poll {
 public:
  using Output = T;

  constexpr Poll(PendingTag) noexcept {}
  constexpr Poll(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)) {}

  constexpr bool is_ready() const noexcept { return value_.has_value(); }
  constexpr bool is_pending() const noexcept { return !value_.has_value(); }

  /// The output. Only for a Ready poll (checked in debug builds).
  constexpr T& value() & noexcept {
    expect(is_ready(), "Poll::value() on Pending");
    return *value_;
  }
  constexpr const T& value() const& noexcept {
    expect(is_ready(), "Poll::value() on Pending");
    return *value_;
  }
  constexpr T&& value() && noexcept {
    expect(is_ready(), "Poll::value() on Pending");
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

/// Poll<void>: Ready with no value, or Pending. `return ready();` completes.
template <>
class [[nodiscard]] Poll<void> {
 public:
  using Output = void;

  constexpr Poll(PendingTag) noexcept {}
  constexpr bool is_ready() const noexcept { return ready_; }
  constexpr bool is_pending() const noexcept { return !ready_; }

  /// Nothing, like Poll<T>::value(), so generic code can `return std::move(poll).value();` for
  /// every output type. Only for a Ready poll (checked in debug builds).
  constexpr void value() const noexcept { expect(is_ready(), "Poll::value() on Pending"); }

 private:
  struct ReadyTag {};
  constexpr explicit Poll(ReadyTag) noexcept : ready_(true) {}
  friend constexpr Poll<void> ready() noexcept;

  bool ready_ = false;
};

/// Ready for a Poll<void>.
constexpr Poll<void> ready() noexcept { return Poll<void>(Poll<void>::ReadyTag{}); }

}  // namespace pollstack
