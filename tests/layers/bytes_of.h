#pragma once
// Test helper: a std::byte array from integer literals.
#include <array>
#include <cstddef>
#include <cstdint>

namespace pollstack::wire::testing {

template <class... T>
constexpr std::array<std::byte, sizeof...(T)> bytes_of(T... values) {
  return {static_cast<std::byte>(values)...};
}

}  // namespace pollstack::wire::testing
