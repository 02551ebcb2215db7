#pragma once
/// TcpEchoService: the echo service of RFC 862 over TCP, a TcpServer (tcp_server.h) of
/// TcpEchoSessions: a session reads what arrives and writes it back, until the peer's FIN, then
/// shuts its own side and closes. Bounded work per poll.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "layers/services/tcp_server.h"
#include "layers/tcp/tcp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

struct TcpEchoCounters {
  std::uint64_t bytes_echoed = 0;
  std::uint64_t sessions_ended = 0; // by the peer's FIN
  std::uint64_t sessions_failed = 0;  // by an error (reset, timeout)
};

/// One echoed connection: read, write back, until the end of the stream.
template <class TcpLayer>
class TcpEchoSession {
 public:
  using Output = void;
  /// What the server holds for all its sessions: the service's counters.
  using Shared = TcpEchoCounters;
  static constexpr std::size_t kBufferBytes = 2048;
  /// Round trips per poll before the session yields.
  static constexpr std::uint32_t kEchoesPerPoll = 8;

  TcpEchoSession(TcpLayer& tcp, TcpSocket socket, TcpEchoCounters& counters) noexcept
      : counters_(&counters), socket_(tcp, socket, SessionSocket<TcpLayer>::OnRetire::kClose) {}
  /// Moved only before its first poll (into the pool): its operations point into its buffer.
  TcpEchoSession(TcpEchoSession&& other) noexcept : counters_(other.counters_), socket_(std::move(other.socket_)) {}
  TcpEchoSession& operator=(TcpEchoSession&&) = delete;

  Poll<void> poll(Context& cx) noexcept {
    state_.expect_pollable();
    socket_.take();  // from its first poll, in its slot of the pool
    for (std::uint32_t round = 0; round < kEchoesPerPoll; ++round) {
      if (state_.get() == State::Reading) {
        if (!read_) read_.emplace(socket_.read(buffer_));
        Poll<typename TcpLayer::Read::Output> got = read_->poll(cx);
        if (got.is_pending()) return pending;
        read_.reset();
        if (!got.value().ok()) return end(false);
        const std::size_t n = got.value().value();
        if (n == 0) {  // the peer's FIN: ours follows what we echoed
          socket_.shutdown();
          return end(true);
        }
        write_.emplace(socket_.write(std::span<const std::byte>(buffer_).first(n)));
        state_.set(State::Writing);
      }
      Poll<typename TcpLayer::Write::Output> wrote = write_->poll(cx);
      if (wrote.is_pending()) return pending;
      write_.reset();
      if (!wrote.value().ok()) return end(false);
      counters_->bytes_echoed += wrote.value().value();
      state_.set(State::Reading);
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

 private:
  enum class State : std::uint8_t { Reading, Writing, Done };
  static constexpr auto kTransitions = transitions(State::Reading, {
      {State::Reading, State::Writing, "bytes read: write them back"},
      {State::Writing, State::Reading, "all written"},
      {State::Reading, State::Done, "the peer's FIN (ours follows), or the connection failed"},
      {State::Writing, State::Done, "write failed"},
  });

  Poll<void> end(bool clean) noexcept {
    ++(clean ? counters_->sessions_ended : counters_->sessions_failed);
    socket_.close();  // the close completes on its own (FIN exchange, TIME-WAIT)
    state_.set(State::Done);
    return ready();
  }

  TcpEchoCounters* counters_;
  SessionSocket<TcpLayer> socket_;  // before the operations: they are destroyed first
  std::optional<typename TcpLayer::Read> read_;
  std::optional<typename TcpLayer::Write> write_;
  std::array<std::byte, kBufferBytes> buffer_;
  StateCell<TcpEchoSession, &kTransitions> state_{State::Reading};
};

/// The echo service: a listener and its sessions, as one task.
template <class TcpLayer, std::size_t kSessions>
using TcpEchoService = TcpServer<TcpLayer, TcpEchoSession<TcpLayer>, kSessions>;

}  // namespace pollstack::net
