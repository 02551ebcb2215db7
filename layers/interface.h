#pragma once
/// Interface<Device, Config>: one network interface: the layers composed by value over one
/// network device (the NIC contract, layers/nic/nic.h), sized by a configuration (layers/config.h),
/// and the task that runs its receive path.
///
///   Udp<Ipv4<Arp<Ethernet<Device>>>>     application sends: UDP -> IPv4 -> ARP -> Ethernet -> device
///   Icmp<Ipv4<Arp<Ethernet<Device>>>>
///
/// So `Udp::Send` holds an `Ipv4::Send`, which holds an `Arp::Send`, which holds an
/// `Ethernet::Send`, which holds the device's TX reservation: one object of a size known at
/// compile time (tools/sizes prints them), and a Pending at the bottom is a Pending at the top.
///
/// The receive path is `Interface::Task`, a state machine the owner polls alongside its
/// application tasks. Per poll it runs the ARP timers, sends due ARP requests, and takes at most
/// kRxFramesPerPoll frames from the channel, delivering each to a socket or answering it (ARP
/// reply, echo reply, port unreachable). A socket queue that fills up also ends its turn, so that
/// the reader drains it before more frames arrive: a burst larger than a queue is not dropped
/// when the application keeps up turn by turn. An answer waits for a TX buffer with its received frame
/// still held, so a full transmit path slows the receive path down instead of dropping answers.
/// The task completes only when the link goes down.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "layers/arp/arp.h"
#include "layers/common/counters.h"
#include "layers/common/send_error.h"
#include "layers/config.h"
#include "layers/ethernet/ethernet.h"
#include "layers/icmp/icmp.h"
#include "layers/ipv4/ipv4.h"
#include "layers/nic/nic.h"
#include "layers/options.h"
#include "layers/udp/udp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

struct InterfaceConfig {
  wire::MacAddress mac;
  Ipv4Config ip;
};

/// Answers the receive path could not send (the received frame is dropped with it).
struct InterfaceCounters {
  std::uint64_t frames_processed = 0;
  std::uint64_t polls_yielded = 0;  // the task spent its frame budget, or filled a socket queue, and yielded
  std::uint64_t address_changes = 0;  // set_ipv4_config() calls that took effect
  std::uint64_t transport_errors_unclaimed = 0;  // ICMP errors quoting a protocol we do not speak
  ReasonCounters<SendError, kSendErrorKinds> answers_not_sent;
};

template <Nic Channel, StackConfig Config = DefaultConfig>
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
  using RxBuffer = typename EthernetLayer::RxBuffer;

  Interface(Channel& channel, const InterfaceConfig& config) noexcept
      : ip_config_(config.ip), ethernet_(channel, config.mac), arp_(ethernet_, ip_config_.address),
        ipv4_(arp_, ip_config_), icmp_(ipv4_),
        udp_(ipv4_) {}
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  UdpLayer& udp() noexcept { return udp_; }
  IcmpLayer& icmp() noexcept { return icmp_; }
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

  /// What processing one received frame asks for.
  struct Answer {
    // kEndTurn: nothing to send, but a socket queue just filled: the task yields so its reader
    // can drain it.
    enum class Kind : std::uint8_t { kNone, kEndTurn, kArp, kEchoReply, kPortUnreachable };
    Kind kind = Kind::kNone;
    wire::ArpRepr arp;                      // kArp: a reply (or, from the task, a request)
    wire::Ipv4Address to;                   // kEchoReply, kPortUnreachable
    wire::IcmpRepr echo;                    // kEchoReply
    std::span<const std::byte> data;        // kEchoReply: echo data; kPortUnreachable: offending packet
  };

  /// Processes one received frame and says what it asks for; an answer's details go into
  /// `answer` (left untouched otherwise: no per-frame copy of a whole Answer). A datagram for a
  /// socket takes `frame` (the buffer stays with the socket's queue); otherwise the caller keeps
  /// it, and must keep it until the answer is sent (the answer's data points into it). Shared by
  /// Task and by synchronous callers.
  typename Answer::Kind process(std::optional<RxBuffer>& frame, Instant now, Answer& answer) noexcept {
    using Kind = typename Answer::Kind;
    ++counters_.frames_processed;
    const std::optional<typename EthernetLayer::Received> link = ethernet_.accept(frame->bytes());
    if (!link) return Kind::kNone;
    if (link->header.ethertype == wire::ethertype::kArp) {
      const std::optional<wire::ArpRepr> reply = arp_.on_packet(link->payload, now);
      if (!reply) return Kind::kNone;
      answer.arp = *reply;
      return answer.kind = Kind::kArp;
    }
    const std::optional<typename Ipv4Layer::Received> packet = ipv4_.accept(link->payload);
    if (!packet) return Kind::kNone;
    if (packet->header.protocol == wire::ip_protocol::kIcmp) {
      const IcmpAction action = icmp_.on_message(*packet);
      if (action.kind == IcmpAction::Kind::kUnreachableReceived) {
        deliver_transport_error(action.error);
        return Kind::kNone;
      }
      if (action.kind != IcmpAction::Kind::kEchoReply) return Kind::kNone;
      answer.to = packet->header.source;
      answer.echo = action.echo;
      answer.data = action.echo_data;
      return answer.kind = Kind::kEchoReply;
    }
    // UDP. A closed port is answered (RFC 1122 §4.1.3.1), unless the datagram was a broadcast,
    // and at most at the ICMP error rate.
    const std::span<const std::byte> ip_packet = link->payload.first(wire::kIpv4HeaderBytes + packet->payload.size());
    const UdpDelivery delivery = udp_.deliver(*packet, frame);
    if (delivery == UdpDelivery::kQueuedNowFull) return Kind::kEndTurn;
    if (delivery != UdpDelivery::kClosedPort || packet->broadcast) return Kind::kNone;
    if (!icmp_.take_error_token(now)) return Kind::kNone;
    answer.to = packet->header.source;
    answer.data = ip_packet;
    return answer.kind = Kind::kPortUnreachable;
  }

  /// An ICMP error about a segment we sent, to the transport that sent it (one path for all of
  /// them); an error for a protocol nobody here speaks is counted.
  void deliver_transport_error(const TransportError& error) noexcept {
    switch (error.protocol) {
      case wire::ip_protocol::kUdp:
        udp_.on_transport_error(error);
        return;
      default:
        ++counters_.transport_errors_unclaimed;
        return;
    }
  }

  /// The receive path as a task. Output: why it stopped (the link went down).
  class Task {
   public:
    using Output = NicError;
    explicit Task(Interface& iface) noexcept : iface_(&iface) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      typename ArpLayer::Cache& neighbours = iface_->arp_.neighbours();
      neighbours.set_requester(cx.waker());
      cx.wake_at(neighbours.run_timers(cx.now()));
      for (std::size_t frames = 0;;) {
        if (state_.get() == State::Answering) {
          if (poll_answer(cx).is_pending()) return pending;
          frame_.reset();  // the answer is sent: the received buffer goes back to the driver
          state_.set(State::Receiving);
        }
        // Due ARP requests go first: senders are waiting on them.
        if (std::optional<wire::Ipv4Address> target = neighbours.take_due_request(cx.now())) {
          cx.wake_at(cx.now() + kArpRetryInterval);
          answer_.kind = Answer::Kind::kArp;
          answer_.arp = iface_->arp_.request_for(*target);
          link_send_.emplace(iface_->arp_.send_to_mac(wire::MacAddress::broadcast(), wire::ethertype::kArp));
          state_.set(State::Answering);
          continue;
        }
        if (frames == Config::kRxFramesPerPoll) {
          ++iface_->counters_.polls_yielded;
          cx.waker().wake();  // budget spent: let the application run, then continue
          return pending;
        }
        // A frame waiting is taken directly; only an empty ring needs the receive operation, which
        // stores our waker with the channel.
        std::optional<NicResult<RxBuffer>> received = iface_->ethernet_.channel().try_receive();
        if (!received) {
          if (!receive_) receive_.emplace(iface_->ethernet_.channel().receive());
          Poll<NicResult<RxBuffer>> waited = receive_->poll(cx);
          if (waited.is_pending()) return pending;
          receive_.reset();
          received.emplace(std::move(waited).value());
        }
        if (!received->ok()) {
          state_.set(State::Done);
          return received->error();
        }
        ++frames;
        frame_.emplace(std::move(received->value()));
        const typename Answer::Kind kind = iface_->process(frame_, cx.now(), answer_);
        if (kind == Answer::Kind::kNone || kind == Answer::Kind::kEndTurn) {
          frame_.reset();
          if (kind == Answer::Kind::kEndTurn) frames = Config::kRxFramesPerPoll;  // yield below
          continue;
        }
        start_answer();
        state_.set(State::Answering);
      }
    }

   private:
    enum class State : std::uint8_t { Receiving, Answering, Done };

    void start_answer() noexcept {
      switch (answer_.kind) {
        case Answer::Kind::kArp:
          link_send_.emplace(iface_->arp_.send_to_mac(answer_.arp.target_mac, wire::ethertype::kArp));
          break;
        case Answer::Kind::kEchoReply:
          ip_send_.emplace(iface_->ipv4_.send(answer_.to, wire::ip_protocol::kIcmp,
                                              wire::kIcmpHeaderBytes + answer_.data.size(), ResolvePolicy::kCachedOnly));
          break;
        case Answer::Kind::kPortUnreachable:
          ip_send_.emplace(iface_->ipv4_.send(answer_.to, wire::ip_protocol::kIcmp,
                                              IcmpLayer::unreachable_length(answer_.data), ResolvePolicy::kCachedOnly));
          break;
        case Answer::Kind::kNone:
        case Answer::Kind::kEndTurn:
          break;
      }
    }

    // Ready when the answer is sent or given up (counted).
    Poll<void> poll_answer(Context& cx) noexcept {
      const bool on_link = link_send_.has_value();
      Poll<typename ArpLayer::SendResult> sent = on_link ? link_send_->poll(cx) : ip_send_->poll(cx);
      if (sent.is_pending()) return pending;
      link_send_.reset();
      ip_send_.reset();
      if (!sent.value().ok()) {
        iface_->counters_.answers_not_sent.count(sent.value().error());
        return ready();
      }
      auto& frame = sent.value().value();
      bool submitted = false;
      switch (answer_.kind) {
        case Answer::Kind::kArp:
          submitted = ArpLayer::transmit(frame, answer_.arp);
          break;
        case Answer::Kind::kEchoReply:
          submitted = IcmpLayer::transmit_echo_reply(frame, answer_.echo, answer_.data);
          break;
        case Answer::Kind::kPortUnreachable:
          submitted = IcmpLayer::transmit_port_unreachable(frame, answer_.data);
          break;
        case Answer::Kind::kNone:
        case Answer::Kind::kEndTurn:
          break;
      }
      if (!submitted) iface_->counters_.answers_not_sent.count(SendError::kLinkDown);
      return ready();
    }

    Interface* iface_;
    std::optional<typename Channel::Receive> receive_;
    std::optional<RxBuffer> frame_;  // held while its answer is being sent
    Answer answer_;
    std::optional<typename ArpLayer::Send> link_send_;   // ARP requests and replies
    std::optional<typename Ipv4Layer::Send> ip_send_;    // ICMP answers
    StateCell<Task, State> state_{State::Receiving};
  };

  Task task() noexcept { return Task(*this); }

 private:
  Ipv4Config ip_config_;  // the address record: IPv4 and ARP read it (declared first: built first)
  EthernetLayer ethernet_;
  ArpLayer arp_;
  Ipv4Layer ipv4_;
  IcmpLayer icmp_;
  UdpLayer udp_;
  InterfaceCounters counters_;
};

}  // namespace pollstack::net
