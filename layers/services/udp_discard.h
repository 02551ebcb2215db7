#pragma once
/// UdpDiscardService: the discard service of RFC 863 over one bound socket: reads every datagram
/// and throws it away, counting. Bounded work per poll (kDiscardsPerPoll, then it yields).
/// Completes only when its socket fails, with the reason.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "layers/udp/udp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

inline constexpr std::uint32_t kDiscardsPerPoll = 32;

struct DiscardCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;  // as far as they fit the service's buffer
};

template <class UdpLayer>
class UdpDiscardService {
 public:
  using Output = RecvError;

  UdpDiscardService(UdpLayer& udp, UdpSocketId socket) noexcept : udp_(&udp), socket_(socket) {}
  UdpDiscardService(UdpDiscardService&&) = delete;  // its operation points into its own buffer

  Poll<Output> poll(Context& cx) noexcept {
    state_.expect_pollable();
    for (std::uint32_t n = 0; n < kDiscardsPerPoll; ++n) {
      if (!receive_) receive_.emplace(udp_->recv_from(socket_, buffer_));
      Poll<typename UdpLayer::RecvOutput> got = receive_->poll(cx);
      if (got.is_pending()) return pending;
      receive_.reset();
      if (!got.value().ok()) {
        if (got.value().error() != RecvError::kBadSocket) continue;  // ICMP errors: we never send
        state_.set(State::Done);
        return got.value().error();
      }
      ++counters_.datagrams;
      counters_.bytes += got.value().value().length;
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

  const DiscardCounters& counters() const noexcept { return counters_; }

 private:
  enum class State : std::uint8_t { Receiving, Done };
  static constexpr auto kTransitions = transitions(State::Receiving, {
      {State::Receiving, State::Done, "the socket closed"},
  });

  UdpLayer* udp_;
  UdpSocketId socket_;
  std::optional<typename UdpLayer::Receive> receive_;
  std::array<std::byte, 256> buffer_{};  // the content is discarded: a prefix is enough
  DiscardCounters counters_;
  StateCell<UdpDiscardService, &kTransitions> state_{State::Receiving};
};

}  // namespace pollstack::net
