#pragma once
// Compile-time names for types and enumerators, read from __PRETTY_FUNCTION__ (g++ and clang),
// so that transition tracing and state diagrams need neither RTTI nor a hand-written to_string
// per state enum. Not API: transition tracing and the layers' reason counters use it.

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

namespace pollstack::internal {

// The text after "<param> = " up to the closing ']' or ';' of a __PRETTY_FUNCTION__.
constexpr std::string_view template_argument_text(std::string_view pretty, std::string_view param) {
  const std::size_t start = pretty.find(param);
  if (start == std::string_view::npos) return {};
  const std::size_t begin = start + param.size();
  const std::size_t end = pretty.find_first_of(";]", begin);
  return pretty.substr(begin, end - begin);
}

template <class T>
constexpr std::string_view type_name() {
  return template_argument_text(__PRETTY_FUNCTION__, "T = ");
}

// "Leaf::State::Done" -> "Done". A value that is not an enumerator prints as "(Leaf::State)7"
// and yields "".
template <auto V>
constexpr std::string_view enumerator_name() {
  std::string_view text = template_argument_text(__PRETTY_FUNCTION__, "V = ");
  if (text.empty() || text.front() == '(') return {};
  const std::size_t colon = text.rfind("::");
  return colon == std::string_view::npos ? text : text.substr(colon + 2);
}

// Enumerators are looked up among the first kMaxEnumerators values; state enums are small.
inline constexpr std::size_t kMaxEnumerators = 32;

template <class E, std::size_t... I>
constexpr std::array<std::string_view, sizeof...(I)> enumerator_table(std::index_sequence<I...>) {
  return {enumerator_name<static_cast<E>(I)>()...};
}

template <class E>
constexpr std::string_view enum_name(E value) {
  constexpr auto table = enumerator_table<E>(std::make_index_sequence<kMaxEnumerators>{});
  const auto index = static_cast<std::size_t>(value);
  return index < table.size() ? table[index] : std::string_view{};
}

}  // namespace pollstack::internal
