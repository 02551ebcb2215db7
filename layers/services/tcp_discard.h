#pragma once
/// TcpDiscardService: the discard service of RFC 863 over TCP, a TcpServer (tcp_server.h) of
/// TcpDiscardSessions: a session reads what arrives and throws it away, counting, until the
/// peer's FIN; then it closes (its FIN answers the peer's). It never writes. Bounded work per poll.

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

struct TcpDiscardCounters {
  std::uint64_t bytes_discarded = 0;
  std::uint64_t sessions_ended = 0;   // by the peer's FIN
  std::uint64_t sessions_failed = 0;  // by an error (reset, timeout)
};

/// One discarded connection: read until the end of the stream.
template <class TcpLayer>
class TcpDiscardSession {
 public:
  using Output = void;
  using Shared = TcpDiscardCounters;
  static constexpr std::size_t kBufferBytes = 2048;
  /// Reads per poll before the session yields.
  static constexpr std::uint32_t kReadsPerPoll = 8;

  TcpDiscardSession(TcpLayer& tcp, TcpSocket socket, TcpDiscardCounters& counters) noexcept
      : counters_(&counters), socket_(tcp, socket, SessionSocket<TcpLayer>::OnRetire::kClose) {}
  /// Moved only before its first poll (into the pool): its read points into its buffer.
  TcpDiscardSession(TcpDiscardSession&& other) noexcept
      : counters_(other.counters_), socket_(std::move(other.socket_)) {}
  TcpDiscardSession& operator=(TcpDiscardSession&&) = delete;

  Poll<void> poll(Context& cx) noexcept {
    state_.expect_pollable();
    socket_.take();  // from its first poll, in its slot of the pool
    for (std::uint32_t n = 0; n < kReadsPerPoll; ++n) {
      if (!read_) read_.emplace(socket_.read(buffer_));
      Poll<typename TcpLayer::Read::Output> got = read_->poll(cx);
      if (got.is_pending()) return pending;
      read_.reset();
      if (!got.value().ok()) return end(false);
      if (got.value().value() == 0) return end(true);  // the peer's FIN
      counters_->bytes_discarded += got.value().value();
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

 private:
  enum class State : std::uint8_t { Reading, Done };
  static constexpr auto kTransitions = transitions(State::Reading, {
      {State::Reading, State::Done, "the peer's FIN (ours follows), or the connection failed"},
  });

  Poll<void> end(bool clean) noexcept {
    ++(clean ? counters_->sessions_ended : counters_->sessions_failed);
    socket_.close();  // everything was read: our FIN follows (CLOSE-WAIT, LAST-ACK)
    state_.set(State::Done);
    return ready();
  }

  TcpDiscardCounters* counters_;
  SessionSocket<TcpLayer> socket_;  // before the read: it is destroyed first
  std::optional<typename TcpLayer::Read> read_;
  std::array<std::byte, kBufferBytes> buffer_;
  StateCell<TcpDiscardSession, &kTransitions> state_{State::Reading};
};

/// The discard service: a listener and its sessions, as one task.
template <class TcpLayer, std::size_t kSessions>
using TcpDiscardService = TcpServer<TcpLayer, TcpDiscardSession<TcpLayer>, kSessions>;

}  // namespace pollstack::net
