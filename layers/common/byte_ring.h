#pragma once
/// ByteRing<N>: a fixed ring of N bytes (a power of two), held by value: TCP's send and receive
/// buffers. Bytes go in at the back and come out at the front; the send side also reads bytes
/// in the middle (a segment being retransmitted) without taking them out.

#include <array>
#include <cstddef>
#include <cstring>
#include <span>

#include "statemachines/contract.h"

namespace pollstack::net {

template <std::size_t N>
class ByteRing {
 public:
  static_assert(N > 0 && (N & (N - 1)) == 0, "a ring's size is a power of two");

  static constexpr std::size_t capacity() noexcept { return N; }
  std::size_t size() const noexcept { return size_; }
  std::size_t free() const noexcept { return N - size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Appends as much of `data` as fits; returns how much that was.
  std::size_t push(std::span<const std::byte> data) noexcept {
    const std::size_t n = data.size() < free() ? data.size() : free();
    const std::size_t tail = (head_ + size_) & (N - 1);
    const std::size_t first = n < N - tail ? n : N - tail;
    copy(data.data(), bytes_.data() + tail, first);
    copy(data.data() + first, bytes_.data(), n - first);
    size_ += n;
    return n;
  }

  /// Writes `data` into the free space, `offset` bytes past the back, without making it part of
  /// the ring yet (TCP's out-of-order data, waiting for the gap before it); extend() takes it in.
  void write_ahead(std::size_t offset, std::span<const std::byte> data) noexcept {
    expect(offset + data.size() <= free(), "ByteRing::write_ahead past the free space");
    const std::size_t start = (head_ + size_ + offset) & (N - 1);
    const std::size_t first = data.size() < N - start ? data.size() : N - start;
    copy(data.data(), bytes_.data() + start, first);
    copy(data.data() + first, bytes_.data(), data.size() - first);
  }
  /// Makes `n` bytes written ahead part of the ring.
  void extend(std::size_t n) noexcept {
    expect(n <= free(), "ByteRing::extend past the capacity");
    size_ += n;
  }

  /// Copies out.size() bytes starting `offset` bytes after the front, leaving them in place.
  void peek(std::size_t offset, std::span<std::byte> out) const noexcept {
    expect(offset + out.size() <= size_, "ByteRing::peek past the end");
    const std::size_t start = (head_ + offset) & (N - 1);
    const std::size_t first = out.size() < N - start ? out.size() : N - start;
    copy(bytes_.data() + start, out.data(), first);
    copy(bytes_.data(), out.data() + first, out.size() - first);
  }

  /// Removes `n` bytes from the front.
  void pop(std::size_t n) noexcept {
    expect(n <= size_, "ByteRing::pop past the end");
    head_ = (head_ + n) & (N - 1);
    size_ -= n;
  }

  void clear() noexcept {
    head_ = 0;
    size_ = 0;
  }

 private:
  static void copy(const std::byte* from, std::byte* to, std::size_t n) noexcept {
    if (n != 0) std::memcpy(to, from, n);
  }

  std::array<std::byte, N> bytes_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace pollstack::net
