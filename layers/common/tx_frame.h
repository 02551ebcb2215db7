#pragma once
/// TxFrame: a frame being built on the way down. Each layer's send operation completes with one:
/// a reserved channel buffer in which that layer and every layer below have written their headers,
/// and the offset where the layer above writes next. The top layer writes its payload and calls
/// submit(); dropping the frame instead returns the buffer to the pool.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "statemachines/contract.h"

namespace pollstack::net {

template <class TxBuffer>
class TxFrame {
 public:
  TxFrame(TxBuffer buffer, std::size_t payload_offset) noexcept
      : buffer_(std::move(buffer)), payload_offset_(payload_offset) {}

  /// The room after the headers written so far.
  std::span<std::byte> payload() noexcept { return buffer_.bytes().subspan(payload_offset_); }
  std::size_t payload_offset() const noexcept { return payload_offset_; }

  /// A layer that wrote `header_bytes` at payload() hands the rest to the layer above.
  void advance(std::size_t header_bytes) noexcept {
    expect(payload_offset_ + header_bytes <= buffer_.bytes().size(), "TxFrame::advance past the buffer");
    payload_offset_ += header_bytes;
  }

  /// Sends the frame: every header plus `payload_bytes` written at payload(). False if the link
  /// went down meanwhile (the channel counts it).
  bool submit(std::size_t payload_bytes) noexcept {
    return buffer_.submit(static_cast<std::uint32_t>(payload_offset_ + payload_bytes));
  }

 private:
  TxBuffer buffer_;
  std::size_t payload_offset_;
};

}  // namespace pollstack::net
