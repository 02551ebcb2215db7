#pragma once
/// OutOfOrder<N>: which sequence ranges past RCV.NXT a connection holds, at most N of them. The
/// bytes themselves wait in the receive ring's free space, where they will be once the gap before
/// them is filled (ByteRing::write_ahead); this only remembers where they are. Blocks are kept
/// sorted and disjoint: a range that touches or overlaps others merges with them. A range that
/// would need an N+1th block is refused (the peer sends it again), which bounds the work per
/// segment to N and the state to N × 8 bytes.

#include <array>
#include <cstddef>
#include <cstdint>

#include "layers/tcp/tcp_seq.h"

namespace pollstack::net {

struct SeqRange {
  std::uint32_t left = 0;   // first sequence number held
  std::uint32_t right = 0;  // one past the last
};

template <std::size_t N>
class OutOfOrder {
 public:
  static_assert(N >= 1);

  /// Records [left, right) as held. False (nothing changes) when it would need a block more.
  bool add(std::uint32_t left, std::uint32_t right) noexcept {
    if (!seq::lt(left, right)) return true;
    // The blocks it touches are a run [first, last); they and it become one.
    std::size_t first = 0;
    while (first < count_ && seq::lt(blocks_[first].right, left)) ++first;
    std::size_t last = first;
    while (last < count_ && seq::le(blocks_[last].left, right)) {
      if (seq::lt(blocks_[last].left, left)) left = blocks_[last].left;
      if (seq::gt(blocks_[last].right, right)) right = blocks_[last].right;
      ++last;
    }
    const std::size_t merged = last - first;
    if (merged == 0 && count_ == N) return false;
    // Replace the run by the one block (shifting the tail left, or right by one for an insert).
    if (merged == 0) {
      for (std::size_t i = count_; i > first; --i) blocks_[i] = blocks_[i - 1];
      ++count_;
    } else {
      for (std::size_t i = last; i < count_; ++i) blocks_[i - merged + 1] = blocks_[i];
      count_ -= merged - 1;
    }
    blocks_[first] = {left, right};
    return true;
  }

  /// The in-order edge moved to `next`: the blocks it reaches are taken in. Returns the new edge
  /// (past every block that touched it).
  std::uint32_t advance(std::uint32_t next) noexcept {
    std::size_t taken = 0;
    while (taken < count_ && seq::le(blocks_[taken].left, next)) {
      if (seq::gt(blocks_[taken].right, next)) next = blocks_[taken].right;
      ++taken;
    }
    for (std::size_t i = taken; i < count_; ++i) blocks_[i - taken] = blocks_[i];
    count_ -= taken;
    return next;
  }

  std::size_t size() const noexcept { return count_; }
  const SeqRange& operator[](std::size_t i) const noexcept { return blocks_[i]; }

 private:
  std::array<SeqRange, N> blocks_{};
  std::size_t count_ = 0;
};

}  // namespace pollstack::net
