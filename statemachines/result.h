#pragma once
/// Result<T, E>: a value or the reason there is none, without exceptions. Errors here are small
/// enums; every operation that can fail returns one of these as its output.

#include <optional>
#include <utility>

#include "statemachines/contract.h"

namespace pollstack {

template <class T, class E>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(value)) {}
  constexpr Result(E error) noexcept : error_(error) {}

  constexpr bool ok() const noexcept { return value_.has_value(); }

  /// The value. Only for an ok() result (checked in debug builds).
  constexpr T& value() & noexcept {
    expect(ok(), "Result::value() on an error");
    return *value_;
  }
  constexpr const T& value() const& noexcept {
    expect(ok(), "Result::value() on an error");
    return *value_;
  }

  /// The error. Only for a failed result (checked in debug builds).
  constexpr E error() const noexcept {
    expect(!ok(), "Result::error() on a value");
    return error_;
  }

 private:
  std::optional<T> value_;
  E error_{};
};

}  // namespace pollstack
