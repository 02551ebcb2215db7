#pragma once
/// TcpServer<TcpLayer, Session, N>: a listener and up to N sessions, as one task: the shape of
/// every TCP service (echo, discard, HTTP). It accepts connections and starts a `Session` for each in a
/// TaskPool (no heap); with the pool full, a new connection is reset (counted `refused`).
/// Completes only if the listener fails.
///
/// A Session is a state machine constructed as `Session(tcp, socket, shared)`, where `shared` (a
/// reference) is the service's state every session sees (`Session::Shared`: its counters, its
/// configuration), held by the server. A session owns its socket from its first poll and closes it
/// when it ends: it holds it in a SessionSocket, below.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/tcp/tcp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"
#include "statemachines/task_pool.h"

namespace pollstack::net {

/// A session's connection, and the rule every session follows for it: the session owns it from its
/// first poll (take(); a session the pool refused never did, and the server resets that
/// connection), lets go of it once when it ends (close() or abort()), and, if the pool retires the
/// session first, lets go of it on destruction as `OnRetire` says: kClose (what was written still
/// goes out) or kAbort (RST).
template <class TcpLayer>
class SessionSocket {
 public:
  enum class OnRetire : std::uint8_t { kClose, kAbort };

  SessionSocket(TcpLayer& tcp, TcpSocket id, OnRetire on_retire) noexcept
      : tcp_(&tcp), id_(id), on_retire_(on_retire) {}
  /// Moved only before the session's first poll (into the pool), when nothing is owned yet.
  SessionSocket(SessionSocket&& other) noexcept : tcp_(other.tcp_), id_(other.id_), on_retire_(other.on_retire_) {}
  SessionSocket& operator=(SessionSocket&&) = delete;
  ~SessionSocket() {
    if (!owned_) return;
    if (on_retire_ == OnRetire::kClose) {
      tcp_->close(id_);
    } else {
      tcp_->abort(id_);
    }
  }

  void take() noexcept { owned_ = true; }
  void close() noexcept {
    tcp_->close(id_);
    owned_ = false;
  }
  void abort() noexcept {
    tcp_->abort(id_);
    owned_ = false;
  }

  typename TcpLayer::Read read(std::span<std::byte> buffer) noexcept { return tcp_->read(id_, buffer); }
  typename TcpLayer::Write write(std::span<const std::byte> data) noexcept { return tcp_->write(id_, data); }
  void shutdown() noexcept { (void)tcp_->shutdown(id_); }  // our FIN after what was written

 private:
  TcpLayer* tcp_;
  TcpSocket id_;
  OnRetire on_retire_;
  bool owned_ = false;
};

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
  static constexpr auto kTransitions = transitions(State::Serving, {
      {State::Serving, State::Done, "accept failed: the listener closed"},
  });
  TcpLayer* tcp_;
  TcpListener listener_;
  std::optional<typename TcpLayer::Accept> accept_;
  Shared shared_;
  TcpServerCounters counters_;
  TaskPool<Session, kSessions> sessions_;
  StateCell<TcpServer, &kTransitions> state_{State::Serving};
};

}  // namespace pollstack::net
