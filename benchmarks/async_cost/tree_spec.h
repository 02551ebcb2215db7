#pragma once
// The call tree every variant computes: 5 levels, fan-out 2 (31 calls, 16 leaves). A leaf completes
// at once; an inner node combines its children's results with a few integer operations that
// depend on a per-variant constant. All variants share these functions, so they differ only in
// control flow. After the Fuchsia netstack's async_trait benchmark (see README.md).

#include <array>
#include <cstddef>
#include <cstdint>

namespace pollstack::async_cost {

inline constexpr unsigned kLevels = 5;                 // levels 0..4
inline constexpr unsigned kLeafLevel = kLevels - 1;
inline constexpr unsigned kNodesPerTree = (1u << kLevels) - 1;  // 31
inline constexpr unsigned kLeavesPerTree = 1u << kLeafLevel;    // 16

// 512 copies of the tree, differing only in their constants: enough distinct code that neither the
// branch predictor nor the instruction cache can learn one variant, and no two are mergeable.
// Sanitizer builds (.bazelrc) compile fewer: the code per variant is the same, and 512 coroutine
// variants take ten minutes per file to compile under ASan.
#ifndef POLLSTACK_ASYNC_COST_VARIANTS
#define POLLSTACK_ASYNC_COST_VARIANTS 512
#endif
inline constexpr std::size_t kVariants = POLLSTACK_ASYNC_COST_VARIANTS;
static_assert(kVariants >= 2 && kVariants <= 65536, "variants are indexed by std::uint16_t");

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Odd, so multiplying by it is a bijection: no variant can collapse to a constant.
constexpr std::uint64_t variant_constant(unsigned variant) { return splitmix64(variant) | 1; }

constexpr std::uint64_t leaf_value(std::uint64_t input, unsigned leaf_index, std::uint64_t k) {
  return (input ^ leaf_index) * k;
}

constexpr std::uint64_t combine(std::uint64_t left, std::uint64_t right, std::uint64_t k) {
  return (left + (right >> 7)) ^ (right * 3 + k);
}

// Every variant's entry point: the whole tree for one input. Each variant's entry point is
// [[gnu::noinline, gnu::flatten]]: out of line (so 512 copies really exist and are called through
// the table), and everything below it is inlined wherever the compiler can see through the call.
// That is the same freedom for every variant, and it takes gcc's inlining budget out of the
// comparison: without it, gcc 12 -O2 stops inlining the 31-node state machine at level 1 (it
// cannot know that the states fold away), while the sync tree's small functions always inline.
// What remains is what each style makes impossible to inline: a coroutine resumes through a
// handle, a boxed node is polled through a virtual call on a heap object.
using TreeFn = std::uint64_t (*)(std::uint64_t input);
using TreeTable = std::array<TreeFn, kVariants>;

}  // namespace pollstack::async_cost
