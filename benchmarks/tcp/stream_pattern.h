#pragma once
// The byte stream the TCP benchmark sends, as a function of the offset: the writer generates it,
// the reader checks every byte against it, and neither keeps a copy of what was sent.
//
// Every aligned 8-byte word of the stream holds its own offset, salted so that no byte is
// constant: a byte lost, duplicated, reordered or changed shows up as a word that is not where it
// belongs. Generating and checking cost one 8-byte store or compare per word, which matters when
// the stack itself moves a byte in well under a nanosecond.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace pollstack::bench {

static_assert(std::endian::native == std::endian::little, "the words are written and read little-endian");

/// XOR with any constant keeps one word per offset; this one sets bits in every byte.
inline constexpr std::uint64_t kPatternSalt = 0x9e3779b97f4a7c15;

/// The word at `offset` (a multiple of 8).
constexpr std::uint64_t pattern_word(std::uint64_t offset) noexcept { return offset ^ kPatternSalt; }

/// The byte at `offset`.
constexpr std::byte pattern_byte(std::uint64_t offset) noexcept {
  return static_cast<std::byte>(pattern_word(offset & ~std::uint64_t{7}) >> (8 * (offset & 7)));
}

namespace internal {
// Two words at a time in the compiler's generic vectors (SSE2 on x86-64, NEON on Arm), four of
// them per step: a -O2 build does not vectorize these loops by itself, and scalar they cost the
// benchmark about as much as a copy of every byte.
using Words = std::uint64_t __attribute__((vector_size(16)));
inline constexpr std::size_t kStepBytes = 4 * sizeof(Words);
inline Words load_words(const std::byte* at) noexcept {
  Words w;
  std::memcpy(&w, at, sizeof w);
  return w;
}
}  // namespace internal

/// Writes the stream's bytes from `offset` on into `out`.
inline void fill_pattern(std::uint64_t offset, std::span<std::byte> out) noexcept {
  using internal::Words;
  std::size_t i = 0;
  for (; i < out.size() && ((offset + i) & 7) != 0; ++i) out[i] = pattern_byte(offset + i);
  const Words salt = {kPatternSalt, kPatternSalt};
  const Words step = {16, 16};
  Words at = {offset + i, offset + i + 8};
  for (; i + internal::kStepBytes <= out.size(); i += internal::kStepBytes) {
    const Words w[4] = {at ^ salt, (at + step) ^ salt, (at + 2 * step) ^ salt, (at + 3 * step) ^ salt};
    std::memcpy(out.data() + i, w, sizeof w);
    at += 4 * step;
  }
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t word = pattern_word(offset + i);
    std::memcpy(out.data() + i, &word, 8);
  }
  for (; i < out.size(); ++i) out[i] = pattern_byte(offset + i);
}

/// Where `data`, received at stream offset `offset`, first differs from the stream; nullopt if it
/// is all right. The words are compared without a branch each (the differences are OR-ed
/// together); only a buffer that is wrong somewhere is searched byte by byte.
inline std::optional<std::size_t> first_mismatch(std::uint64_t offset, std::span<const std::byte> data) noexcept {
  using internal::Words;
  std::size_t i = 0;
  for (; i < data.size() && ((offset + i) & 7) != 0; ++i) {
    if (data[i] != pattern_byte(offset + i)) return i;
  }
  const std::size_t words_from = i;
  const Words salt = {kPatternSalt, kPatternSalt};
  const Words step = {16, 16};
  Words at = {offset + i, offset + i + 8};
  Words d0 = {}, d1 = {}, d2 = {}, d3 = {};  // four chains of ORs, not one
  for (; i + internal::kStepBytes <= data.size(); i += internal::kStepBytes) {
    const std::byte* p = data.data() + i;
    d0 |= internal::load_words(p) ^ at ^ salt;
    d1 |= internal::load_words(p + 16) ^ (at + step) ^ salt;
    d2 |= internal::load_words(p + 32) ^ (at + 2 * step) ^ salt;
    d3 |= internal::load_words(p + 48) ^ (at + 3 * step) ^ salt;
    at += 4 * step;
  }
  const Words all = d0 | d1 | d2 | d3;
  std::uint64_t wrong = all[0] | all[1];
  for (; i + 8 <= data.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data.data() + i, 8);
    wrong |= word ^ pattern_word(offset + i);
  }
  if (wrong != 0) i = words_from;  // wrong somewhere: find the first byte
  for (; i < data.size(); ++i) {
    if (data[i] != pattern_byte(offset + i)) return i;
  }
  return std::nullopt;
}

}  // namespace pollstack::bench
