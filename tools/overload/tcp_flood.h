#pragma once
// TcpFlood: overload's TCP application. It holds both ends of one connection to its own stack: it
// connects to a listener of that stack, accepts, then writes a known byte pattern as fast as TCP
// takes it for a while, reading on the other end at the same time and checking every byte. A
// write is Pending while the send buffer is full; the buffer drains only as fast as the driver
// takes frames, so the writer runs at the driver's pace and nothing is dropped. Then it shuts its
// sending side down, reads to the end of the stream on the accepting end, closes that end, reads
// the FIN on its own end, and closes it: Ready with true if every byte written was read, in order.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "driver_channel/stack.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::overload {

class TcpFlood {
 public:
  using Output = bool;
  using Tcp = net::Stack::TcpLayer;
  static constexpr std::size_t kChunk = 4096;  // bytes per write

  TcpFlood(Tcp& tcp, net::TcpListener listener, const net::IpEndpoint& to, Duration writing_for) noexcept
      : tcp_(&tcp), listener_(listener), to_(to), writing_for_(writing_for) {
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = byte_at(i);
  }
  TcpFlood(TcpFlood&&) = delete;  // its operations point into its own buffers

  Poll<bool> poll(Context& cx) noexcept {
    state_.expect_pollable();
    switch (state_.get()) {
      case State::Connecting:
        return connect(cx);
      case State::Flooding:
      case State::Draining:
        return transfer(cx);
      case State::Done:
        break;
    }
    return false;  // polled after Ready: expect_pollable() aborts first in debug builds
  }

  std::uint64_t written() const noexcept { return written_; }
  std::uint64_t verified() const noexcept { return verified_; }
  const char* failure() const noexcept { return failure_; }
  /// When the writing stopped and when the last byte was read (for the rates).
  Duration writing_time() const noexcept { return writing_ended_ - started_; }
  Duration transfer_time() const noexcept { return drained_ - started_; }

 private:
  enum class State : std::uint8_t { Connecting, Flooding, Draining, Done };
  static constexpr auto kTransitions = transitions(State::Connecting, {
      {State::Connecting, State::Flooding, "both ends connected"},
      {State::Connecting, State::Done, "connect or accept failed"},
      {State::Flooding, State::Draining, "time up: our FIN after the last byte"},
      {State::Flooding, State::Done, "a byte lost or wrong, or a call failed"},
      {State::Draining, State::Done, "every byte read back and both FINs seen, or a failure"},
  });

  static std::byte byte_at(std::uint64_t k) noexcept { return static_cast<std::byte>(k * 131 + 17); }

  // Both ends at once: the connect completes only once the accepting end has the handshake.
  Poll<bool> connect(Context& cx) noexcept {
    if (!client_) {
      if (!connect_) connect_.emplace(tcp_->connect(to_));
      Poll<Tcp::Connect::Output> got = connect_->poll(cx);
      if (got.is_ready()) {
        connect_.reset();
        if (!got.value().ok()) return finish(false, "could not connect to our own listener");
        client_ = got.value().value();
      }
    }
    if (!server_) {
      if (!accept_) accept_.emplace(tcp_->accept(listener_));
      Poll<Tcp::Accept::Output> got = accept_->poll(cx);
      if (got.is_ready()) {
        accept_.reset();
        if (!got.value().ok()) return finish(false, "the accept failed");
        server_ = got.value().value();
      }
    }
    if (!client_ || !server_) return pending;
    started_ = cx.now();
    stop_writing_at_ = started_ + writing_for_;
    state_.set(State::Flooding);
    return transfer(cx);
  }

  Poll<bool> transfer(Context& cx) noexcept {
    for (bool progress = true; progress;) {
      progress = false;
      if (state_.get() == State::Flooding) {
        // A write in progress is finished even after the deadline: dropping it would lose count
        // of the bytes it already put in the send buffer.
        if (!write_ && cx.now() < stop_writing_at_) {
          write_.emplace(tcp_->write(*client_, std::span<const std::byte>(pattern_).subspan(written_ % 256, kChunk)));
        }
        if (write_) {
          Poll<Tcp::Write::Output> done = write_->poll(cx);
          if (done.is_ready()) {
            write_.reset();
            if (!done.value().ok()) return fail("a write failed");
            written_ += done.value().value();
            progress = true;
          }
        }
        if (!write_ && cx.now() >= stop_writing_at_) {
          writing_ended_ = cx.now();
          if (tcp_->shutdown(*client_)) return fail("the shutdown failed");  // our FIN after the last byte
          state_.set(State::Draining);
          progress = true;
        } else if (!write_) {
          cx.wake_at(stop_writing_at_);
        }
      }
      if (server_) {
        if (!read_) read_.emplace(tcp_->read(*server_, in_));
        Poll<Tcp::Read::Output> got = read_->poll(cx);
        if (got.is_ready()) {
          read_.reset();
          if (!got.value().ok()) return fail("a read failed");
          const std::size_t n = got.value().value();
          if (n == 0) {  // the writer's FIN: everything must be here
            if (state_.get() != State::Draining) return fail("the stream ended before the writer shut down");
            if (verified_ != written_) return fail("the stream ended early");
            drained_ = cx.now();
            tcp_->close(*server_);  // our FIN to the writer's end
            server_.reset();
            progress = true;
          } else {
            for (std::size_t i = 0; i < n; ++i) {
              if (in_[i] != byte_at(verified_ + i)) return fail("a byte arrived wrong");
            }
            verified_ += n;
            // A write still in progress may have put up to a chunk in the send buffer already.
            if (verified_ > written_ + (write_ ? kChunk : 0)) return fail("more arrived than was written");
            progress = true;
          }
        }
      } else {
        // The accepting end is closed: wait for its FIN on the writer's end, then close that too.
        if (!read_) read_.emplace(tcp_->read(*client_, in_));
        Poll<Tcp::Read::Output> got = read_->poll(cx);
        if (got.is_pending()) return pending;
        read_.reset();
        if (!got.value().ok() || got.value().value() != 0) return fail("the writer's end did not see a clean FIN");
        tcp_->close(*client_);
        client_.reset();
        return finish(true, nullptr);
      }
    }
    return pending;
  }

  Poll<bool> fail(const char* why) noexcept {
    write_.reset();
    read_.reset();
    if (client_) tcp_->abort(*client_);
    if (server_) tcp_->abort(*server_);
    return finish(false, why);
  }

  Poll<bool> finish(bool ok, const char* why) noexcept {
    failure_ = why;
    state_.set(State::Done);
    return ok;
  }

  Tcp* tcp_;
  net::TcpListener listener_;
  net::IpEndpoint to_;
  Duration writing_for_;
  std::optional<Tcp::Connect> connect_;
  std::optional<Tcp::Accept> accept_;
  std::optional<net::TcpSocket> client_;  // the writer's end
  std::optional<net::TcpSocket> server_;  // the accepting (reading) end
  std::optional<Tcp::Write> write_;
  std::optional<Tcp::Read> read_;
  std::uint64_t written_ = 0;
  std::uint64_t verified_ = 0;
  Instant started_{};
  Instant stop_writing_at_{};
  Instant writing_ended_{};
  Instant drained_{};
  const char* failure_ = nullptr;
  std::array<std::byte, 256 + kChunk> pattern_{};  // byte k of the stream is pattern_[k % 256]
  std::array<std::byte, 2048> in_{};
  StateCell<TcpFlood, &kTransitions> state_{State::Connecting};
};

}  // namespace pollstack::overload
