#pragma once
/// How protocols plug into an interface (layers/interface.h):
///
///  - **Receive**: a received frame goes to the protocol registered under its EtherType, and an
///    IPv4 packet to the transport registered under its protocol number. Each says what became
///    of the frame with an RxVerdict. The tables are fixed at compile time: `dispatch()` unrolls
///    into the chain of compares a hand-written switch would be, with no indirect call, and two
///    protocols registered under one number are a compile error.
///  - **Transmit**: a protocol that sends on its own (answers to what it received, packets its
///    timers ask for) is a `Transmitter`: it says whether it has a packet to send and hands out an
///    operation that sends it. The interface's task serves the transmitters in turn, one packet
///    each (layers/interface.h).
///  - **Errors**: a transport that wants the ICMP errors about what it sent offers
///    `on_transport_error()` (common/transport_error.h).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "layers/common/transport_error.h"
#include "statemachines/context.h"
#include "statemachines/state_machine.h"

namespace pollstack::net {

/// What a protocol did with a received frame.
enum class RxVerdict : std::uint8_t {
  kDone,             // handled: delivered, or dropped and counted; the receive path goes on
  kAnswer,           // an answer is waiting in the protocol (it may hold the frame): transmit first
  kEndTurn,          // delivered, and a socket queue is now full: yield so its reader can drain it
  kPortUnreachable,  // a transport found nobody listening: IP answers with ICMP port unreachable
  kTransportError,   // ICMP received an error about something a transport sent: deliver it
};

/// A protocol registered under an EtherType (ARP, IPv4; IPv6 later).
struct ByEthertype {
  template <class P>
  static constexpr std::uint16_t of = P::kEthertype;
};

/// A protocol registered under an IP protocol number (ICMP, UDP, TCP).
struct ByIpProtocol {
  template <class P>
  static constexpr std::uint8_t of = P::kIpProtocol;
};

namespace internal {
template <class Key, class First, class... Rest>
constexpr bool keys_distinct() noexcept {
  if constexpr (sizeof...(Rest) == 0) {
    return true;
  } else {
    return ((Key::template of<First> != Key::template of<Rest>) && ...) && keys_distinct<Key, Rest...>();
  }
}
}  // namespace internal

/// Calls `handle(p)` on the one protocol p among `protocols` registered under `key` (as `Key`
/// reads it) and returns its verdict; nullopt when no protocol is registered under `key`.
template <class Key, class Handle, class... Protocols>
std::optional<RxVerdict> dispatch(auto key, Handle&& handle, Protocols&... protocols) noexcept {
  static_assert(internal::keys_distinct<Key, Protocols...>(), "two protocols registered under one number");
  std::optional<RxVerdict> verdict;
  (void)((Key::template of<Protocols> == key && (verdict = handle(protocols), true)) || ...);
  return verdict;
}

/// A protocol that sends packets of its own from the interface's task.
///  - `run_timers(cx)`: once per poll of the task: run the protocol's timers, ask `cx.wake_at()`
///    for the next, and keep `cx.waker()` if work can arise outside the task (a sender waiting
///    for a resolution);
///  - `has_transmit()`: whether a packet is waiting to be sent (cheap: asked after every frame
///    that queued an answer);
///  - `transmit(cx)`: after has_transmit() said yes, the operation that sends that packet. It
///    owns what it sends (a held frame included); Ready when the packet is sent or given up, which
///    the protocol counts.
template <class P>
concept Transmitter = requires(P& p, Context& cx) {
  { p.run_timers(cx) } -> std::same_as<void>;
  { p.has_transmit() } -> std::same_as<bool>;
  { p.transmit(cx) } -> std::same_as<typename P::Transmit>;
} && StateMachine<typename P::Transmit> && std::same_as<OutputOf<typename P::Transmit>, void>;

/// A transport that takes the ICMP errors about the packets it sent.
template <class P>
concept TakesTransportErrors = requires(P& p, const TransportError& error) {
  { p.on_transport_error(error) } -> std::same_as<void>;
};

/// The transports of one IP layer, held by value and constructed over it, registered under their
/// protocol numbers: the interface's one registration line (layers/interface.h).
template <class... Protocols>
class ProtocolSet {
 public:
  static_assert(internal::keys_distinct<ByIpProtocol, Protocols...>(), "two transports registered under one number");
  static constexpr std::size_t kSize = sizeof...(Protocols);

  template <class Ip>
  explicit ProtocolSet(Ip& ip) noexcept : protocols_(((void)sizeof(Protocols), ip)...) {}
  ProtocolSet(const ProtocolSet&) = delete;
  ProtocolSet& operator=(const ProtocolSet&) = delete;

  template <class P>
  P& get() noexcept {
    return std::get<P>(protocols_);
  }
  template <std::size_t I>
  auto& get() noexcept {
    return std::get<I>(protocols_);
  }

  /// The transport registered under `protocol`: its verdict, or nullopt when there is none.
  template <class Handle>
  std::optional<RxVerdict> dispatch(std::uint8_t protocol, Handle&& handle) noexcept {
    return std::apply(
        [&](Protocols&... ps) { return net::dispatch<ByIpProtocol>(protocol, handle, ps...); }, protocols_);
  }

  /// Calls `f(p)` on each transport, in registration order.
  template <class F>
  void for_each(F&& f) noexcept {
    std::apply([&](Protocols&... ps) { (f(ps), ...); }, protocols_);
  }

 private:
  std::tuple<Protocols...> protocols_;
};

}  // namespace pollstack::net
