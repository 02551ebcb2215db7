#pragma once
// TcpEchoCheck: the client side of a TCP echo, as an application task. It connects to an echo
// server (retrying, while the attempt window lasts, when the connection is refused or the host
// does not answer yet), writes `bytes` bytes of a known pattern while reading the echo, shuts its
// sending side down, reads to the end of the stream, and checks that every byte came back in
// order. pollstackd runs it against its own echo service (--self-test, over the loopback driver)
// and against a server elsewhere (--tcp-client HOST:PORT: Linux's, in the interop test).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>

#include "tools/stack/host_stack.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::tools {

class TcpEchoCheck {
 public:
  using Output = bool;
  using Tcp = HostStack::TcpLayer;
  static constexpr Duration kRetryInterval = std::chrono::milliseconds(500);

  TcpEchoCheck(Tcp& tcp, const net::IpEndpoint& to, std::size_t bytes, Duration attempts_for) noexcept
      : tcp_(&tcp), to_(to), bytes_(bytes), attempts_for_(attempts_for) {
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = byte_at(i);
  }
  TcpEchoCheck(TcpEchoCheck&&) = delete;  // its operations point into its own buffers

  Poll<bool> poll(Context& cx) noexcept {
    state_.expect_pollable();
    if (give_up_at_ == Instant{}) give_up_at_ = cx.now() + attempts_for_;
    for (;;) {
      switch (state_.get()) {
        case State::Connecting: {
          if (!connect_) connect_.emplace(tcp_->connect(to_));
          Poll<Tcp::Connect::Output> got = connect_->poll(cx);
          if (got.is_pending()) return pending;
          connect_.reset();
          if (!got.value().ok()) {
            error_ = got.value().error();
            if (cx.now() >= give_up_at_) return finish(false, "could not connect");
            retry_at_ = cx.now() + kRetryInterval;
            state_.set(State::Retrying);
            break;
          }
          socket_ = got.value().value();
          started_ = cx.now();
          state_.set(State::Transferring);
          break;
        }
        case State::Retrying:
          if (cx.now() < retry_at_) {
            cx.wake_at(retry_at_);
            return pending;
          }
          state_.set(State::Connecting);
          break;
        case State::Transferring:
          return transfer(cx);
        case State::Done:
          return false;  // polled after Ready: expect_pollable() aborts first in debug builds
      }
    }
  }

  /// What happened, for the report: printed by the owner once the check is Ready.
  void print(std::FILE* out, const char* program, const char* what) const {
    if (passed_) {
      std::fprintf(out, "%s: %s: ok   %zu bytes to %u.%u.%u.%u:%u and back byte for byte (%.1f ms)\n", program, what,
                   bytes_, to_.address.v4().octets[0], to_.address.v4().octets[1], to_.address.v4().octets[2],
                   to_.address.v4().octets[3], to_.port, static_cast<double>(elapsed_.count()) / 1000.0);
    } else {
      std::fprintf(out, "%s: %s: FAIL %s (%zu of %zu bytes written, %zu read back; last error %d)\n", program, what,
                   failure_, written_, bytes_, received_, error_ ? static_cast<int>(*error_) : -1);
    }
  }

 private:
  enum class State : std::uint8_t { Connecting, Retrying, Transferring, Done };
  static constexpr auto kTransitions = transitions(State::Connecting, {
      {State::Connecting, State::Transferring, "connected"},
      {State::Connecting, State::Retrying, "refused or timed out, time left"},
      {State::Connecting, State::Done, "refused or timed out, no time left"},
      {State::Retrying, State::Connecting, "the retry interval passed"},
      {State::Transferring, State::Done, "every byte back (or a failure)"},
  });

  static std::byte byte_at(std::size_t k) noexcept { return static_cast<std::byte>(k * 131 + 17); }

  Poll<bool> transfer(Context& cx) noexcept {
    for (bool progress = true; progress;) {
      progress = false;
      if (written_ < bytes_) {
        if (!write_) {
          const std::size_t n = std::min(bytes_ - written_, kChunk);
          write_.emplace(tcp_->write(socket_, std::span<const std::byte>(pattern_).subspan(written_ % 256, n)));
        }
        Poll<Tcp::Write::Output> done = write_->poll(cx);
        if (done.is_ready()) {
          write_.reset();
          if (!done.value().ok()) return fail(done.value().error(), "a write failed");
          written_ += done.value().value();
          if (written_ == bytes_) (void)tcp_->shutdown(socket_);  // our FIN after the last byte
          progress = true;
        }
      }
      if (!read_) read_.emplace(tcp_->read(socket_, in_));
      Poll<Tcp::Read::Output> got = read_->poll(cx);
      if (got.is_ready()) {
        read_.reset();
        if (!got.value().ok()) return fail(got.value().error(), "a read failed");
        const std::size_t n = got.value().value();
        if (n == 0) {  // the server's FIN
          if (received_ != bytes_ || written_ != bytes_) return fail(std::nullopt, "the echo ended early");
          elapsed_ = cx.now() - started_;
          tcp_->close(socket_);
          passed_ = true;
          return finish(true, nullptr);
        }
        for (std::size_t i = 0; i < n; ++i) {
          if (in_[i] != byte_at(received_ + i)) return fail(std::nullopt, "a byte came back wrong");
        }
        received_ += n;
        if (received_ > bytes_) return fail(std::nullopt, "more came back than was sent");
        progress = true;
      }
    }
    return pending;
  }

  Poll<bool> fail(std::optional<net::ConnectionError> error, const char* why) noexcept {
    error_ = error;
    write_.reset();
    read_.reset();
    tcp_->abort(socket_);
    return finish(false, why);
  }

  Poll<bool> finish(bool ok, const char* why) noexcept {
    failure_ = why;
    state_.set(State::Done);
    return ok;
  }

  static constexpr std::size_t kChunk = 4096;

  Tcp* tcp_;
  net::IpEndpoint to_;
  std::size_t bytes_;
  Duration attempts_for_;
  Instant give_up_at_{};
  Instant retry_at_{};
  Instant started_{};
  Duration elapsed_{0};
  net::TcpSocket socket_;
  std::size_t written_ = 0;
  std::size_t received_ = 0;
  bool passed_ = false;
  const char* failure_ = nullptr;
  std::optional<net::ConnectionError> error_;
  std::optional<Tcp::Connect> connect_;
  std::optional<Tcp::Write> write_;
  std::optional<Tcp::Read> read_;
  std::array<std::byte, 256 + kChunk> pattern_;
  std::array<std::byte, 4096> in_;
  StateCell<TcpEchoCheck, &kTransitions> state_{State::Connecting};
};

}  // namespace pollstack::tools
