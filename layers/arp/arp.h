#pragma once
/// Arp<Link>: address resolution between IPv4 and the Ethernet link. Its send operation holds the
/// link's send operation by value: first it resolves the next hop's MAC through the neighbour
/// cache (Pending while an ARP request is out), then it sends on the link. Its receive side
/// answers requests for our address, learns from what it hears (RFC 826), and notices a peer
/// claiming our address.
///
/// ARP is a Transmitter (common/protocol.h): its replies and the requests the neighbour cache asks
/// for go out through its own Transmit operation, which the interface task (layers/interface.h)
/// polls: a sender waiting for resolution holds no extra buffer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/arp/arp_wire.h"
#include "layers/neighbour/neighbour_cache.h"
#include "layers/common/counters.h"
#include "layers/common/protocol.h"
#include "layers/common/send_error.h"
#include "layers/config.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

/// ARP packets that parse but are not acted on.
enum class ArpDrop : std::uint8_t {
  kNotForUs,         // a request for another address, from a sender we do not know
  kAddressConflict,  // someone else claims our address (counted; we keep it, RFC 5227 defends)
  kBadSender,        // sender hardware or protocol address is broadcast or multicast
  kReplyPending,     // a request came while our reply to the previous one was still unsent
};
inline constexpr std::size_t kArpDropKinds = 4;

struct ArpCounters {
  std::uint64_t requests_received = 0;  // requests for our address
  std::uint64_t replies_received = 0;
  std::uint64_t gratuitous_received = 0;
  std::uint64_t replies_sent = 0;  // (requests: the neighbour cache's counters)
  ReasonCounters<SendError, kSendErrorKinds> not_sent;  // replies and requests given up
  ReasonCounters<wire::ArpError, wire::kArpErrorKinds> malformed;
  ReasonCounters<ArpDrop, kArpDropKinds> dropped;
};

template <class Link, StackConfig Config = DefaultConfig>
class Arp {
 public:
  using Frame = typename Link::Frame;
  using RxBuffer = typename Link::RxBuffer;
  using SendResult = Result<Frame, SendError>;
  static constexpr std::uint16_t kEthertype = wire::ethertype::kArp;

  /// `address` is the interface's (it must outlive the layer, and may change: it is read on every
  /// packet).
  Arp(Link& link, const wire::Ipv4Address& address) noexcept
      : link_(&link), address_(&address), neighbours_(Config::kArpWaitersPerEntry) {}
  Arp(const Arp&) = delete;
  Arp& operator=(const Arp&) = delete;

  /// Resolve `next_hop`, then send on the link with `ethertype`. Ready with the frame (the link
  /// header written) or with why not.
  class Send {
   public:
    using Output = SendResult;

    /// To a next hop that needs resolving.
    Send(Arp& arp, const wire::Ipv4Address& next_hop, std::uint16_t ethertype, ResolvePolicy policy) noexcept
        : arp_(&arp), link_send_(arp.link_->send(wire::MacAddress{}, ethertype)), next_hop_(next_hop), policy_(policy) {}
    /// To a MAC already known (the broadcast address, or the sender of an ARP request): no
    /// resolution.
    Send(Arp& arp, const wire::MacAddress& destination, std::uint16_t ethertype) noexcept
        : arp_(&arp),
          link_send_(arp.link_->send(destination, ethertype)),
          policy_(ResolvePolicy::kCachedOnly),
          state_(State::Sending) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      if (state_.get() == State::Resolving) {
        const Poll<std::optional<SendError>> resolved = resolve(cx);  // into the link's header
        if (resolved.is_pending()) return pending;
        if (resolved.value()) {
          state_.set(State::Done);
          return Output(*resolved.value());
        }
        state_.set(State::Sending);
      }
      Poll<Output> sent = link_send_.poll(cx);
      if (sent.is_ready()) state_.set(State::Done);
      return sent;
    }

   private:
    enum class State : std::uint8_t { Resolving, Sending, Done };
    static constexpr auto kTransitions = transitions({State::Resolving, State::Sending}, {
        {State::Resolving, State::Sending, "next hop's MAC known (cached, or an ARP reply)"},
        {State::Resolving, State::Done, "unresolved: no reply, or not cached for a reply"},
        {State::Sending, State::Done, "link's frame Ready, or the link down"},
    });

    // Writes the next hop's MAC straight into the link's send (see poll_resolve_into()).
    Poll<std::optional<SendError>> resolve(Context& cx) noexcept {
      wire::MacAddress& destination = link_send_.destination();
      if (policy_ == ResolvePolicy::kWait) return arp_->neighbours().poll_resolve_into(next_hop_, waiter_, cx, destination);
      return arp_->neighbours().resolve_now_into(next_hop_, cx.now(), destination);
    }

    Arp* arp_;
    typename Link::Send link_send_;  // by value; its destination is filled in once resolved
    Waiter waiter_;                  // its place among the senders waiting on next_hop_
    wire::Ipv4Address next_hop_;
    ResolvePolicy policy_;
    StateCell<Send, &kTransitions> state_{State::Resolving};
  };

  Send send(const wire::Ipv4Address& next_hop, std::uint16_t ethertype, ResolvePolicy policy) noexcept {
    return Send(*this, next_hop, ethertype, policy);
  }
  Send send_to_mac(const wire::MacAddress& destination, std::uint16_t ethertype) noexcept {
    return Send(*this, destination, ethertype);
  }

  /// The receive handler (registered under kEthertype): handles one ARP packet and keeps the
  /// reply, if it asks for one, for the Transmit operation.
  RxVerdict on_frame(std::span<const std::byte> packet, Instant now) noexcept {
    std::optional<wire::ArpRepr> reply = on_packet(packet, now);
    if (!reply) return RxVerdict::kDone;
    if (reply_) {  // only a caller that never transmits lets replies pile up; the task does not
      counters_.dropped.count(ArpDrop::kReplyPending);
      return RxVerdict::kDone;
    }
    reply_ = *reply;
    return RxVerdict::kAnswer;
  }

  /// Handles one received ARP packet: learns from it, and returns the reply to send when it is a
  /// request for our address.
  std::optional<wire::ArpRepr> on_packet(std::span<const std::byte> packet, Instant now) noexcept {
    const wire::Parsed<wire::ArpRepr, wire::ArpError> parsed = wire::parse_arp(packet);
    if (!parsed.ok()) {
      counters_.malformed.count(parsed.error());
      return std::nullopt;
    }
    const wire::ArpRepr& arp = parsed.repr();
    const bool probe = arp.sender_ip == wire::Ipv4Address{};  // RFC 5227: "who has X" before using X
    if (!probe && !is_unicast_sender(arp)) {
      counters_.dropped.count(ArpDrop::kBadSender);
      return std::nullopt;
    }
    if (arp.sender_ip == *address_ && arp.sender_mac != link_->mac()) {
      counters_.dropped.count(ArpDrop::kAddressConflict);
      return std::nullopt;
    }
    const bool for_us = arp.target_ip == *address_;
    if (arp.operation == wire::arp_operation::kReply) ++counters_.replies_received;
    if (arp.sender_ip == arp.target_ip) ++counters_.gratuitous_received;
    // RFC 826: update a known sender; add it only when the packet was meant for us.
    if (!probe) neighbours().learn(arp.sender_ip, arp.sender_mac, for_us, now);
    if (!for_us) {
      if (neighbours().state_of(arp.sender_ip) == NeighbourState::kFree) {
        counters_.dropped.count(ArpDrop::kNotForUs);
      }
      return std::nullopt;
    }
    if (arp.operation != wire::arp_operation::kRequest) return std::nullopt;
    ++counters_.requests_received;
    return wire::ArpRepr{wire::arp_operation::kReply, link_->mac(), *address_, arp.sender_mac, arp.sender_ip};
  }

  /// Sends one ARP packet: our reply to a request, or a request the neighbour cache asks for.
  class Transmit {
   public:
    using Output = void;
    Transmit(Arp& arp, const wire::ArpRepr& packet, const wire::MacAddress& to) noexcept
        : arp_(&arp), link_send_(arp.link_->send(to, kEthertype)), packet_(packet) {}

    Poll<void> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<typename Link::SendResult> sent = link_send_.poll(cx);
      if (sent.is_pending()) return pending;
      state_.set(State::Done);
      ArpCounters& counters = arp_->counters_;
      if (!sent.value().ok()) {
        counters.not_sent.count(sent.value().error());
        return ready();
      }
      Frame& frame = sent.value().value();
      if (!frame.submit(wire::emit_arp(packet_, frame.payload()))) {
        counters.not_sent.count(SendError::kLinkDown);
        return ready();
      }
      if (packet_.operation == wire::arp_operation::kReply) ++counters.replies_sent;
      return ready();
    }

   private:
    enum class State : std::uint8_t { Sending, Done };
    static constexpr auto kTransitions = transitions(State::Sending, {
        {State::Sending, State::Done, "link's frame Ready: packet written and submitted, or not_sent counted"},
    });
    Arp* arp_;
    typename Link::Send link_send_;
    wire::ArpRepr packet_;
    StateCell<Transmit, &kTransitions> state_{State::Sending};
  };

  /// Transmitter (common/protocol.h): the cache's timers (retries, failures, expiry), and the
  /// interface task's waker for senders that start a resolution.
  void run_timers(Context& cx) noexcept {
    neighbours().set_requester(cx.waker());
    cx.wake_at(neighbours().run_timers(cx.now()));
  }

  /// Whether a reply or a due request is waiting to be sent.
  bool has_transmit() const noexcept { return reply_.has_value() || neighbours().has_due_request(); }

  /// The operation sending the reply first (its requester is waiting for it), else the next due
  /// request (which starts that entry's retry timer).
  Transmit transmit(Context& cx) noexcept {
    if (reply_) {
      const wire::ArpRepr reply = *reply_;
      reply_.reset();
      return Transmit(*this, reply, reply.target_mac);
    }
    const std::optional<wire::Ipv4Address> target = neighbours().take_due_request(cx.now());
    expect(target.has_value(), "Arp::transmit() without has_transmit()");
    cx.wake_at(cx.now() + kArpRetryInterval);
    return Transmit(*this, request_for(*target), wire::MacAddress::broadcast());
  }

  /// The request for `target`, from us.
  wire::ArpRepr request_for(const wire::Ipv4Address& target) const noexcept {
    return {wire::arp_operation::kRequest, link_->mac(), *address_, wire::MacAddress{}, target};
  }

  /// ARP's neighbour cache: IPv4 address to MAC.
  using Cache = NeighbourCache<wire::Ipv4Address>;
  Cache& neighbours() noexcept { return neighbours_.cache(); }
  const Cache& neighbours() const noexcept { return neighbours_.cache(); }
  const wire::Ipv4Address& address() const noexcept { return *address_; }
  const ArpCounters& counters() const noexcept { return counters_; }

 private:
  static bool is_unicast_sender(const wire::ArpRepr& arp) noexcept {
    const bool broadcast_mac = arp.sender_mac == wire::MacAddress::broadcast();
    const bool multicast_mac = (arp.sender_mac.octets[0] & 1) != 0;
    const bool bad_ip = arp.sender_ip == wire::Ipv4Address{{255, 255, 255, 255}} || arp.sender_ip.octets[0] >= 224;
    return !broadcast_mac && !multicast_mac && !bad_ip;
  }

  Link* link_;
  const wire::Ipv4Address* address_;
  NeighbourTable<wire::Ipv4Address, Config::kNeighbourCacheEntries> neighbours_;
  std::optional<wire::ArpRepr> reply_;  // a reply waiting for Transmit
  ArpCounters counters_;
};

}  // namespace pollstack::net
