#pragma once
/// ReasonCounters<Reason, N>: one counter per value of a reason enum (a parse error, a drop
/// reason), printable by name without a hand-written table: names come from the enumerators
/// themselves (statemachines/internal/names.h), so adding a reason cannot leave a stale string.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "statemachines/contract.h"
#include "statemachines/internal/names.h"

namespace pollstack::net {

template <class Reason, std::size_t N>
class ReasonCounters {
 public:
  static constexpr std::size_t kKinds = N;

  void count(Reason reason) noexcept {
    const auto index = static_cast<std::size_t>(reason);
    expect(index < N, "ReasonCounters: reason out of range");
    ++counts_[index];
  }

  std::uint64_t operator[](Reason reason) const noexcept { return counts_[static_cast<std::size_t>(reason)]; }

  std::uint64_t total() const noexcept {
    std::uint64_t sum = 0;
    for (std::uint64_t c : counts_) sum += c;
    return sum;
  }

  /// Calls fn(name, count) for every reason, in enum order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t i = 0; i < N; ++i) fn(internal::enum_name(static_cast<Reason>(i)), counts_[i]);
  }

 private:
  std::array<std::uint64_t, N> counts_{};
};

}  // namespace pollstack::net
