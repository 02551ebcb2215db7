#pragma once
/// UdpEchoService: the echo service of RFC 862 over one bound socket: every datagram goes back to
/// its sender, byte for byte. An application task like any other, so it shows the shape of one:
/// a receive operation, then a send operation holding the whole layer stack by value, then again.
/// Bounded work per poll (kEchoesPerPoll datagrams, then it yields). Completes only when its
/// socket fails (closed), with the reason.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "layers/options.h"
#include "layers/udp/udp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

/// Datagrams echoed per poll before the service yields to other tasks.
inline constexpr std::uint32_t kEchoesPerPoll = 16;

struct EchoCounters {
  std::uint64_t echoed = 0;
  std::uint64_t truncated = 0;       // longer than kUdpMaxPayload: cannot happen over IPv4/Ethernet
  std::uint64_t send_failures = 0;   // the answer could not be sent (counted by reason in Udp too)
  std::uint64_t peer_unreachable = 0;  // an ICMP error (port or host unreachable) came back for an answer
};

template <class UdpLayer>
class UdpEchoService {
 public:
  using Output = RecvError;

  UdpEchoService(UdpLayer& udp, UdpSocketId socket) noexcept : udp_(&udp), socket_(socket) {}
  UdpEchoService(UdpEchoService&&) = delete;  // its operations point into its own buffer

  Poll<Output> poll(Context& cx) noexcept {
    state_.expect_pollable();
    for (std::uint32_t echoes = 0; echoes < kEchoesPerPoll; ++echoes) {
      if (state_.get() == State::Receiving) {
        if (!receive_) receive_.emplace(udp_->recv_from(socket_, buffer_));
        Poll<typename UdpLayer::RecvOutput> got = receive_->poll(cx);
        if (got.is_pending()) return pending;
        receive_.reset();
        if (!got.value().ok()) {
          if (got.value().error() != RecvError::kBadSocket) {  // an ICMP error about an echo we sent
            ++counters_.peer_unreachable;
            continue;
          }
          state_.set(State::Done);
          return got.value().error();
        }
        const ReceivedDatagram& d = got.value().value();
        counters_.truncated += d.truncated;
        send_.emplace(udp_->send_to(socket_, d.from, std::span(buffer_).first(d.length)));
        state_.set(State::Sending);
      }
      Poll<typename UdpLayer::SendOutput> sent = send_->poll(cx);
      if (sent.is_pending()) return pending;
      send_.reset();
      if (sent.value().ok()) {
        ++counters_.echoed;
      } else {
        ++counters_.send_failures;
      }
      state_.set(State::Receiving);
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

  const EchoCounters& counters() const noexcept { return counters_; }

 private:
  enum class State : std::uint8_t { Receiving, Sending, Done };
  static constexpr auto kTransitions = transitions(State::Receiving, {
      {State::Receiving, State::Sending, "a datagram: send it back to its sender"},
      {State::Sending, State::Receiving, "sent, or the send failed (counted)"},
      {State::Receiving, State::Done, "the socket closed"},
  });

  UdpLayer* udp_;
  UdpSocketId socket_;
  std::optional<typename UdpLayer::Receive> receive_;
  std::optional<typename UdpLayer::Send> send_;
  std::array<std::byte, kUdpMaxPayload> buffer_{};
  EchoCounters counters_;
  StateCell<UdpEchoService, &kTransitions> state_{State::Receiving};
};

}  // namespace pollstack::net
