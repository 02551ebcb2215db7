#pragma once
/// OutOfOrder<N>: which sequence ranges past RCV.NXT a connection holds, at most N of them. The
/// bytes themselves wait in the receive ring's free space, where they will be once the gap before
/// them is filled (ByteRing::write_ahead); this only remembers where they are. Blocks are kept
/// sorted and disjoint: a range that touches or overlaps others merges with them. A range that
/// would need an N+1th block is refused (the peer sends it again), which bounds the work per
/// segment to N and the state to N × 12 bytes (each block also remembers when it last grew, for
/// SACK's most-recent-first order).
///
/// The same structure is the SACK sender's scoreboard (RFC 6675): the ranges the peer reported
/// holding above SND.UNA.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

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
      for (std::size_t i = count_; i > first; --i) {
        blocks_[i] = blocks_[i - 1];
        stamps_[i] = stamps_[i - 1];
      }
      ++count_;
    } else {
      for (std::size_t i = last; i < count_; ++i) {
        blocks_[i - merged + 1] = blocks_[i];
        stamps_[i - merged + 1] = stamps_[i];
      }
      count_ -= merged - 1;
    }
    blocks_[first] = {left, right};
    stamps_[first] = ++clock_;
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
    drop_front(taken);
    return next;
  }

  /// Forgets what lies below `edge` (a scoreboard's SND.UNA moved): blocks wholly below go, one
  /// that straddles it is cut.
  void discard_below(std::uint32_t edge) noexcept {
    std::size_t gone = 0;
    while (gone < count_ && seq::le(blocks_[gone].right, edge)) ++gone;
    drop_front(gone);
    if (count_ > 0 && seq::lt(blocks_[0].left, edge)) blocks_[0].left = edge;
  }

  void clear() noexcept { count_ = 0; }

  /// Up to out.size() blocks, the one that grew last first, then the others from newest to oldest
  /// (RFC 2018 §4's order for SACK blocks). Returns how many.
  std::size_t most_recent(std::span<SeqRange> out) const noexcept {
    std::size_t n = 0;
    std::uint32_t below = 0xffffffff;  // stamps are distinct: each pass takes the next older one
    while (n < out.size() && n < count_) {
      std::size_t pick = count_;
      for (std::size_t i = 0; i < count_; ++i) {
        if (stamps_[i] < below && (pick == count_ || stamps_[i] > stamps_[pick])) pick = i;
      }
      out[n++] = blocks_[pick];
      below = stamps_[pick];
    }
    return n;
  }

  std::size_t size() const noexcept { return count_; }
  const SeqRange& operator[](std::size_t i) const noexcept { return blocks_[i]; }

 private:
  void drop_front(std::size_t n) noexcept {
    for (std::size_t i = n; i < count_; ++i) {
      blocks_[i - n] = blocks_[i];
      stamps_[i - n] = stamps_[i];
    }
    count_ -= n;
  }

  std::array<SeqRange, N> blocks_{};
  std::array<std::uint32_t, N> stamps_{};  // when each block last grew (clock_ at the time)
  std::size_t count_ = 0;
  std::uint32_t clock_ = 0;
};

}  // namespace pollstack::net
