#pragma once
/// TcpServer<TcpLayer, Session, N>: a listener and up to N sessions, as one task: the shape of
/// every TCP service (echo, HTTP). It accepts connections and starts a `Session` for each in a
/// TaskPool (no heap); with the pool full, a new connection is reset (counted `refused`).
/// Completes only if the listener fails.
///
/// A Session is a state machine constructed as `Session(tcp, socket, shared)`, where `shared` (a
/// reference) is the service's state every session sees (`Session::Shared`: its counters, its
/// configuration), held by the server. A session owns its socket from its first poll and closes it when it ends.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "layers/tcp/tcp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"
#include "statemachines/task_pool.h"

namespace pollstack::net {

struct TcpServerCounters {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;  // reset: every session was busy
};

template <class TcpLayer, class Session, std::size_t kSessions>
class TcpServer {
 public:
  using Output = ConnectionError;
  using Shared = typename Session::Shared;

  TcpServer(TcpLayer& tcp, TcpListener listener, const Shared& shared) noexcept
      : tcp_(&tcp), listener_(listener), shared_(shared) {}
  TcpServer(TcpServer&&) = delete;  // its pool hands out wakers that point into it

  Poll<Output> poll(Context& cx) noexcept {
    state_.expect_pollable();
    (void)sessions_.poll(cx);  // never Ready: the pool is never closed
    for (std::size_t taken = 0; taken < kSessions; ++taken) {
      if (!accept_) accept_.emplace(tcp_->accept(listener_));
      Poll<typename TcpLayer::Accept::Output> got = accept_->poll(cx);
      if (got.is_pending()) return pending;
      accept_.reset();
      if (!got.value().ok()) {
        state_.set(State::Done);
        return got.value().error();
      }
      const TcpSocket socket = got.value().value();
      if (sessions_.spawn(Session(*tcp_, socket, shared_))) {
        ++counters_.accepted;
      } else {
        ++counters_.refused;
        tcp_->abort(socket);
      }
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

  const TcpServerCounters& counters() const noexcept { return counters_; }
  const Shared& shared() const noexcept { return shared_; }  // the service's counters, say

 private:
  enum class State : std::uint8_t { Serving, Done };
  TcpLayer* tcp_;
  TcpListener listener_;
  std::optional<typename TcpLayer::Accept> accept_;
  Shared shared_;
  TcpServerCounters counters_;
  TaskPool<Session, kSessions> sessions_;
  StateCell<TcpServer, State> state_{State::Serving};
};

}  // namespace pollstack::net
