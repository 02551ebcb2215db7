#pragma once
/// OneOf<Ts...>: at most one of several objects, in storage shared by all of them: what a machine
/// holds in a state (the operation it is polling there) when different states hold different
/// operations. Alternatives are addressed by index, so one type may appear twice.
///
/// Why not std::variant: its emplace and get carry throwing paths (`__throw_bad_variant_access`),
/// which the product's no-exception check refuses, and its visitation is a table of function
/// pointers. Here the alternative is chosen by the caller's index at compile time; the one
/// run-time dispatch, destroying the current alternative, is a chain of compares.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <tuple>
#include <utility>

#include "statemachines/contract.h"

namespace pollstack {

template <class... Ts>
class OneOf {
  static_assert(sizeof...(Ts) < 255, "too many alternatives");

 public:
  /// Index of "none".
  static constexpr std::uint8_t kEmpty = 255;
  template <std::size_t I>
  using Alternative = std::tuple_element_t<I, std::tuple<Ts...>>;

  OneOf() noexcept = default;
  /// Moves the alternative `other` holds (which stays held there, moved from).
  OneOf(OneOf&& other) noexcept { other.move_into(*this, std::index_sequence_for<Ts...>{}); }
  OneOf& operator=(OneOf&&) = delete;
  ~OneOf() { reset(); }

  /// Which alternative is held (kEmpty: none).
  std::uint8_t index() const noexcept { return index_; }
  bool empty() const noexcept { return index_ == kEmpty; }

  /// Destroys the held alternative, if any, and constructs alternative I from `args`.
  template <std::size_t I, class... Args>
  Alternative<I>& emplace(Args&&... args) noexcept {
    reset();
    Alternative<I>* made = ::new (static_cast<void*>(storage_)) Alternative<I>(std::forward<Args>(args)...);
    index_ = static_cast<std::uint8_t>(I);
    return *made;
  }

  /// Alternative I, which must be the one held.
  template <std::size_t I>
  Alternative<I>& get() noexcept {
    expect(index_ == I, "OneOf::get: another alternative is held");
    return *std::launder(reinterpret_cast<Alternative<I>*>(storage_));
  }

  void reset() noexcept {
    if (index_ == kEmpty) return;
    destroy(std::index_sequence_for<Ts...>{});
    index_ = kEmpty;
  }

 private:
  template <std::size_t... Is>
  void move_into(OneOf& to, std::index_sequence<Is...>) noexcept {
    (void)((index_ == Is && (to.template emplace<Is>(std::move(get<Is>())), true)) || ...);
  }

  template <std::size_t... Is>
  void destroy(std::index_sequence<Is...>) noexcept {
    (void)((index_ == Is && (std::launder(reinterpret_cast<Alternative<Is>*>(storage_))->~Alternative<Is>(), true)) ||
           ...);
  }

  alignas(Ts...) std::byte storage_[std::max({sizeof(Ts)...})];
  std::uint8_t index_ = kEmpty;
};

}  // namespace pollstack
