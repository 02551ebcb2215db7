#pragma once
/// Interface<Device, Config>: one network interface: the layers composed by value over one
/// network device (the NIC contract, layers/nic/nic.h), sized by a configuration (layers/config.h),
/// the tables its received frames are dispatched through, and the task that runs its receive path
/// and the packets its protocols send on their own.
///
///   Udp<Ipv4<Arp<Ethernet<Device>>>>     application sends: UDP -> IPv4 -> ARP -> Ethernet -> device
///   Icmp<Ipv4<Arp<Ethernet<Device>>>>
///
/// So `Udp::Send` holds an `Ipv4::Send`, which holds an `Arp::Send`, which holds an
/// `Ethernet::Send`, which holds the device's TX reservation: one object of a size known at
/// compile time (tools/sizes prints them), and a Pending at the bottom is a Pending at the top.
///
/// Receiving: Ethernet filters by destination, then the frame goes to the protocol registered
/// under its EtherType (ARP, IPv4), and an IPv4 packet to the transport registered under its
/// protocol number (`Transports`: ICMP, UDP). The tables are fixed at compile time
/// (common/protocol.h); a number nobody registered is counted, and an IP protocol nobody speaks
/// is answered with ICMP protocol unreachable, as Linux does.
///
/// `Interface::Task` is a state machine the owner polls alongside its application tasks. Per poll
/// it runs the protocols' timers, then alternates between two jobs:
///  - Serving: the protocols with a packet of their own to send (Transmitters: ARP replies and
///    requests, ICMP answers, TCP segments) are asked in turn, starting after the one served last, and
///    the first that has one sends it through its own Transmit operation (Transmitting);
///  - Receiving: at most kRxFramesPerPoll frames from the device. A frame that leaves an answer
///    waiting sends the task back to Serving before it takes another, so an answer holding its
///    received frame waits for a TX buffer and a full transmit path slows the receive path down
///    instead of dropping answers. A socket queue that fills up ends the turn, so that its reader
///    drains it before more frames arrive.
/// The task completes only when the link goes down.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "layers/arp/arp.h"
#include "layers/common/counters.h"
#include "layers/common/protocol.h"
#include "layers/common/send_error.h"
#include "layers/config.h"
#include "layers/ethernet/ethernet.h"
#include "layers/icmp/icmp.h"
#include "layers/ipv4/ipv4.h"
#include "layers/nic/nic.h"
#include "layers/options.h"
#include "layers/tcp/tcp.h"
#include "layers/udp/udp.h"
#include "statemachines/one_of.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

struct InterfaceConfig {
  wire::MacAddress mac;
  Ipv4Config ip;
};

struct InterfaceCounters {
  std::uint64_t frames_processed = 0;
  std::uint64_t packets_transmitted = 0;  // packets the protocols sent on their own, through the task
  std::uint64_t polls_yielded = 0;  // the task spent its budget, or filled a socket queue, and yielded
  std::uint64_t address_changes = 0;  // set_ipv4_config() calls that took effect
  std::uint64_t transport_errors_unclaimed = 0;  // ICMP errors for a protocol that takes none
};

namespace internal {
// What the task holds while it polls one protocol's transmission: its Transmit operation, or
// nothing for a protocol that never transmits on its own.
struct NoTransmit {};
template <class P>
struct TransmitOf {
  using type = NoTransmit;
};
template <Transmitter P>
struct TransmitOf<P> {
  using type = typename P::Transmit;
};

// The task's operations, at most one at a time: the device's receive at index 0, sender I's
// Transmit at index 1 + I.
template <class Receive, class First, class Set>
struct TaskOperations;
template <class Receive, class First, class... Transports>
struct TaskOperations<Receive, First, ProtocolSet<Transports...>> {
  using type = OneOf<Receive, typename TransmitOf<First>::type, typename TransmitOf<Transports>::type...>;
};

// Calls f(std::integral_constant<std::size_t, I>) for the I == i, I < N.
template <std::size_t N, class F>
void with_index(std::size_t i, F&& f) noexcept {
  [&]<std::size_t... Is>(std::index_sequence<Is...>) {
    (void)((i == Is && (f(std::integral_constant<std::size_t, Is>{}), true)) || ...);
  }(std::make_index_sequence<N>{});
}
}  // namespace internal

/// `MoreTransports`: an embedder's own transports, registered after the stack's (each a
/// `template <class Ip, class Config> class` over IPv4, with a kIpProtocol; common/protocol.h).
template <Nic Channel, StackConfig Config = DefaultConfig, template <class, class> class... MoreTransports>
class Interface {
 public:
  // The configuration must fit the device it runs on.
  static_assert(kMtu + wire::kEthernetHeaderBytes <= Channel::kBufferBytes,
                "a full-size frame (kMtu + Ethernet header) must fit one device buffer");
  static_assert(Config::kUdpSockets * Config::kUdpReceiveQueueDepth <= Channel::kRxBuffers / 2,
                "UDP socket queues may hold at most half of the device's receive buffers, so that an "
                "unread socket cannot starve ARP, ping and the other sockets: lower kUdpSockets or "
                "kUdpReceiveQueueDepth in the stack's configuration");

  using EthernetLayer = Ethernet<Channel, Config>;
  using ArpLayer = Arp<EthernetLayer, Config>;
  using Ipv4Layer = Ipv4<ArpLayer>;
  using IcmpLayer = Icmp<Ipv4Layer>;
  using UdpLayer = Udp<Ipv4Layer, Config>;
  using TcpLayer = Tcp<Ipv4Layer, Config>;
  using RxBuffer = typename EthernetLayer::RxBuffer;

  /// True unless the configuration has no TCP connections (a UDP-only build: TCP is then not
  /// registered, and none of its code or state is in the interface).
  static constexpr bool kHasTcp = Config::kTcpConnections != 0;

  /// The transports over IPv4, found by protocol number: the registration line. A new transport
  /// of the stack (TCP) is its folder and its name here; receive dispatch, ICMP errors and
  /// transmit turns follow from what it offers (common/protocol.h). ICMP is required: IP's errors
  /// go through it.
  using Transports =
      std::conditional_t<kHasTcp, ProtocolSet<IcmpLayer, UdpLayer, TcpLayer, MoreTransports<Ipv4Layer, Config>...>,
                         ProtocolSet<IcmpLayer, UdpLayer, MoreTransports<Ipv4Layer, Config>...>>;

  Interface(Channel& channel, const InterfaceConfig& config) noexcept
      : ip_config_(config.ip), ethernet_(channel, config.mac), arp_(ethernet_, ip_config_.address),
        ipv4_(arp_, ip_config_), transports_(ipv4_) {}
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  template <class Transport>
  Transport& transport() noexcept {
    return transports_.template get<Transport>();
  }
  UdpLayer& udp() noexcept { return transport<UdpLayer>(); }
  TcpLayer& tcp() noexcept
    requires kHasTcp
  {
    return transport<TcpLayer>();
  }
  IcmpLayer& icmp() noexcept { return transport<IcmpLayer>(); }
  Ipv4Layer& ipv4() noexcept { return ipv4_; }
  ArpLayer& arp() noexcept { return arp_; }
  EthernetLayer& ethernet() noexcept { return ethernet_; }
  const InterfaceCounters& counters() const noexcept { return counters_; }

  /// Replaces the interface's IPv4 configuration (a DHCP lease, an operator's change), for every
  /// layer at once: the neighbour cache is flushed (entries learned under the old subnet may be
  /// wrong; senders waiting on one resolve again), sockets send from the new address from their
  /// next datagram, and the receive filter accepts the new address only. Sends already routed
  /// complete on their old route. An invalid configuration is refused and changes nothing.
  std::optional<Ipv4ConfigError> set_ipv4_config(const Ipv4Config& ip) noexcept {
    if (std::optional<Ipv4ConfigError> error = ip.check()) return error;
    ip_config_ = ip;
    arp_.neighbours().flush();
    ++counters_.address_changes;
    return std::nullopt;
  }
  const Ipv4Config& ipv4_config() const noexcept { return ip_config_; }

  /// Processes one received frame through the tables. A protocol that keeps the frame (a socket's
  /// queue, an answer that quotes it) takes it from `frame`. kAnswer: a protocol has a packet to
  /// send (the task serves it before the next frame). Shared by Task and by synchronous callers;
  /// those send the answers themselves (each Transmitter's has_transmit() and transmit()) or they
  /// stay queued, one per protocol, and later ones are counted and dropped.
  RxVerdict process(std::optional<RxBuffer>& frame, Instant now) noexcept {
    ++counters_.frames_processed;
    const std::optional<typename EthernetLayer::Received> link = ethernet_.accept(frame->bytes());
    if (!link) return RxVerdict::kDone;
    // The EtherType table: ARP and IPv4.
    const std::optional<RxVerdict> verdict = dispatch<ByEthertype>(
        link->ethertype, [&](auto& protocol) { return receive(protocol, *link, frame, now); }, arp_,
        ipv4_);
    if (verdict) return *verdict;
    ethernet_.count_unknown_ethertype();
    return RxVerdict::kDone;
  }

  /// An ICMP error about a packet we sent, to the transport that sent it (one path for all of
  /// them); an error for a protocol that takes none is counted.
  void deliver_transport_error(const TransportError& error) noexcept {
    const std::optional<RxVerdict> taken = transports_.dispatch(error.protocol, [&](auto& transport) {
      if constexpr (TakesTransportErrors<std::remove_reference_t<decltype(transport)>>) {
        transport.on_transport_error(error);
        return RxVerdict::kDone;
      } else {
        return RxVerdict::kTransportError;  // not taken
      }
    });
    if (taken != RxVerdict::kDone) ++counters_.transport_errors_unclaimed;
  }

  /// The receive path and the protocols' own transmissions, as a task. Output: why it stopped (the
  /// link went down).
  class Task {
   public:
    using Output = NicError;
    explicit Task(Interface& iface) noexcept : iface_(&iface) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      // What this turn sends and gives back reaches the device together when it ends (see
      // BatchingNic in nic/nic.h).
      [[maybe_unused]] const auto batch = open_batch(iface_->ethernet_.channel());
      iface_->run_timers(cx);
      // A waiting receive is given up for a look at the transmitters (the timers may have made
      // something due); a transmission in progress goes on.
      if (state_.get() == State::Receiving || state_.get() == State::WaitingForFrame) enter(State::Serving);
      std::size_t frames = 0;
      std::size_t sent = 0;
      for (;;) {
        switch (state_.get()) {
          case State::Serving:
            if (sent == Config::kRxFramesPerPoll) return yield(cx);
            enter(start_next_transmit(cx) ? State::Transmitting : State::Receiving);
            break;
          case State::Transmitting:
            if (poll_transmit(cx).is_pending()) return pending;
            ++sent;
            ++iface_->counters_.packets_transmitted;
            enter(State::Serving);
            break;
          case State::Receiving:
          case State::WaitingForFrame: {
            if (frames == Config::kRxFramesPerPoll) return yield(cx);
            std::optional<NicResult<RxBuffer>> received = receive(cx);
            if (!received) return pending;
            if (!received->ok()) {
              enter(State::Done);
              return received->error();
            }
            ++frames;
            std::optional<RxBuffer> frame(std::move(received->value()));
            const RxVerdict verdict = iface_->process(frame, cx.now());
            if (verdict == RxVerdict::kAnswer) enter(State::Serving);
            if (verdict == RxVerdict::kEndTurn) frames = Config::kRxFramesPerPoll;  // yield at the next turn
            break;
          }
          case State::Done:
            return NicError::kLinkDown;  // unreachable: expect_pollable() above
        }
      }
    }

   private:
    // Serving: looking for a protocol with a packet to send. Transmitting: polling one's Transmit.
    // Receiving: taking frames that are waiting. WaitingForFrame: the device's receive operation
    // holds our waker until one arrives.
    enum class State : std::uint8_t { Serving, Transmitting, Receiving, WaitingForFrame, Done };
    static constexpr auto kTransitions = transitions(State::Serving, {
        {State::Serving, State::Transmitting, "a protocol has a packet: its Transmit"},
        {State::Serving, State::Receiving, "nothing to send"},
        {State::Transmitting, State::Serving, "Transmit Ready"},
        {State::Receiving, State::WaitingForFrame, "ring empty: the receive operation holds our waker"},
        {State::WaitingForFrame, State::Receiving, "a frame arrived"},
        {State::WaitingForFrame, State::Serving, "polled again: timers may have made a packet due"},
        {State::Receiving, State::Serving, "polled again, or a frame answered (a reply to send)"},
        {State::Receiving, State::Done, "the device's link went down"},
    });

    // The state and the operation it holds change together.
    void enter(State next) noexcept {
      if (next != State::Transmitting && next != State::WaitingForFrame) operation_.reset();
      state_.set(next);
    }

    Poll<Output> yield(Context& cx) noexcept {
      ++iface_->counters_.polls_yielded;
      cx.waker().wake();  // budget spent: let the application run, then continue
      return pending;
    }

    // The next frame: a frame waiting is taken directly; only an empty ring needs the receive
    // operation, which stores our waker with the device. nullopt: Pending.
    std::optional<NicResult<RxBuffer>> receive(Context& cx) noexcept {
      Channel& device = iface_->ethernet_.channel();
      if (state_.get() == State::Receiving) {
        if (std::optional<NicResult<RxBuffer>> waiting = device.try_receive()) return waiting;
        operation_.template emplace<kReceive>(device.receive());
        state_.set(State::WaitingForFrame);
      }
      Poll<NicResult<RxBuffer>> waited = operation_.template get<kReceive>().poll(cx);
      if (waited.is_pending()) return std::nullopt;
      enter(State::Receiving);
      return std::move(waited).value();
    }

    // Asks the senders in turn, starting after the one served last; the first with a packet
    // hands over its Transmit operation. False: none has anything to send.
    bool start_next_transmit(Context& cx) noexcept {
      for (std::size_t k = 1; k <= kSenders; ++k) {
        const std::size_t i = (last_served_ + k) % kSenders;
        bool started = false;
        internal::with_index<kSenders>(i, [&](auto index) {
          constexpr std::size_t I = decltype(index)::value;
          auto& sender = iface_->template sender<I>();
          if constexpr (Transmitter<std::remove_reference_t<decltype(sender)>>) {
            if (sender.has_transmit()) {
              operation_.template emplace<kTransmit + I>(sender.transmit(cx));
              started = true;
            }
          }
        });
        if (started) {
          last_served_ = i;
          return true;
        }
      }
      return false;
    }

    Poll<void> poll_transmit(Context& cx) noexcept {
      Poll<void> done = pending;
      internal::with_index<kSenders>(operation_.index() - kTransmit, [&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        using Operation = typename Operations::template Alternative<kTransmit + I>;
        if constexpr (!std::is_same_v<Operation, internal::NoTransmit>) {
          done = operation_.template get<kTransmit + I>().poll(cx);
        }
      });
      return done;
    }

    using Operations = typename internal::TaskOperations<typename Channel::Receive, ArpLayer, Transports>::type;
    static constexpr std::size_t kReceive = 0;
    static constexpr std::size_t kTransmit = 1;  // + the sender's index

    Interface* iface_;
    Operations operation_;  // what the state holds: the receive, or one sender's Transmit
    std::size_t last_served_ = kSenders - 1;  // so that the first turn starts at sender 0 (ARP)
    StateCell<Task, &kTransitions> state_{State::Serving};
  };

  Task task() noexcept { return Task(*this); }

 private:
  // The EtherType table's handlers.
  using Link = typename EthernetLayer::Received;
  RxVerdict receive(ArpLayer& arp, const Link& link, std::optional<RxBuffer>& /*frame*/, Instant now) noexcept {
    return arp.on_frame(link.payload, now);
  }
  RxVerdict receive(Ipv4Layer& ip, const Link& link, std::optional<RxBuffer>& frame, Instant now) noexcept {
    const std::span<const std::byte> payload = link.payload;
    std::optional<typename Ipv4Layer::Received> packet = ip.accept(payload);
    if (!packet) return RxVerdict::kDone;
    packet->link_group = link.to_group;
    // The IP protocol table: the transports.
    const std::optional<RxVerdict> verdict = transports_.dispatch(
        packet->header.protocol, [&](auto& transport) { return transport.on_packet(*packet, frame, now); });
    const std::span<const std::byte> offending = payload.first(wire::kIpv4HeaderBytes + packet->payload.size());
    if (!verdict) {
      ip.count_unknown_protocol();
      return icmp().answer_unreachable(wire::icmp_unreachable_code::kProtocolUnreachable, *packet, offending, frame,
                                       now);
    }
    if (*verdict == RxVerdict::kPortUnreachable) {
      return icmp().answer_unreachable(wire::icmp_unreachable_code::kPortUnreachable, *packet, offending, frame, now);
    }
    if (*verdict == RxVerdict::kTransportError) {
      deliver_transport_error(icmp().received_error());
      return RxVerdict::kDone;
    }
    return *verdict;
  }

  // The senders the task serves in turn: ARP, then the transports in registration order (those
  // that are not Transmitters are skipped).
  static constexpr std::size_t kSenders = 1 + Transports::kSize;
  template <std::size_t I>
  auto& sender() noexcept {
    if constexpr (I == 0) {
      return arp_;
    } else {
      return transports_.template get<I - 1>();
    }
  }

  void run_timers(Context& cx) noexcept {
    arp_.run_timers(cx);
    transports_.for_each([&](auto& transport) {
      if constexpr (Transmitter<std::remove_reference_t<decltype(transport)>>) transport.run_timers(cx);
    });
  }

  Ipv4Config ip_config_;  // the address record: IPv4 and ARP read it (declared first: built first)
  EthernetLayer ethernet_;
  ArpLayer arp_;
  Ipv4Layer ipv4_;
  Transports transports_;
  InterfaceCounters counters_;
};

}  // namespace pollstack::net
