#pragma once
/// Ipv4<Lower>: the network layer over neighbour resolution (ARP). Its send operation holds the ARP send operation by
/// value: it routes the destination (on-link, via the gateway, or broadcast), lets the layer below
/// resolve and reserve, then writes the IPv4 header. Its receive side checks every header field
/// (see ipv4_wire.h) and accepts what is addressed to us; the interface hands it to the transport
/// registered under its protocol number.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/counters.h"
#include "layers/common/send_error.h"
#include "layers/ethernet/ethernet_wire.h"
#include "layers/ipv4/ipv4_wire.h"
#include "layers/neighbour/neighbour_cache.h"
#include "layers/options.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

/// Why an IPv4 configuration is refused.
enum class Ipv4ConfigError : std::uint8_t {
  kNotUnicast,      // the address is 0.0.0.0, loopback, multicast, class E or a broadcast address
  kBadPrefix,       // prefix length outside 1..32
  kMtuOutOfRange,   // MTU outside kMinimumMtu..kMtu
  kGatewayOffLink,  // a gateway outside the interface's subnet
};

/// The interface's IPv4 configuration: one record, owned by the Interface, read by IPv4 and ARP
/// through a reference, so that Interface::set_ipv4_config() changes it for every layer at once.
struct Ipv4Config {
  wire::Ipv4Address address;
  std::uint8_t prefix_length = 24;
  wire::Ipv4Address gateway;  // 0.0.0.0: none (off-link destinations get kNoRoute)
  std::uint8_t ttl = kDefaultTtl;
  std::uint16_t mtu = kMtu;   // largest IP packet sent; at most kMtu (the buffers are sized for it)
  /// Accept packets whose source is our own address (Linux's accept_local). Off by default: such
  /// a packet is a martian (RFC 1122 §3.2.1.3). On for a loopback driver that reflects our frames
  /// back to us (the self-test, the end-to-end tests).
  bool accept_local = false;

  constexpr std::uint32_t netmask() const noexcept {
    return prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
  }
  constexpr bool on_link(const wire::Ipv4Address& a) const noexcept {
    return ((a.to_u32() ^ address.to_u32()) & netmask()) == 0;
  }
  constexpr wire::Ipv4Address subnet_broadcast() const noexcept {
    return wire::Ipv4Address::from_u32(address.to_u32() | ~netmask());
  }
  constexpr bool is_broadcast(const wire::Ipv4Address& a) const noexcept {
    return a == wire::Ipv4Address{{255, 255, 255, 255}} || (prefix_length < 31 && a == subnet_broadcast());
  }

  /// Whether `a` can be one host's address on this subnet: not 0.0.0.0 ("this host"), not
  /// loopback 127/8, not multicast 224/4 or class E 240/4, not a broadcast address (RFC 1122
  /// §3.2.1.3). Our own address must be one; a packet's source must be one.
  constexpr bool is_host_address(const wire::Ipv4Address& a) const noexcept {
    const std::uint8_t first = a.octets[0];
    return !(a == wire::Ipv4Address{} || first == 127 || first >= 224 || is_broadcast(a));
  }

  /// Whether this is a configuration an interface can use (nullopt: it is).
  constexpr std::optional<Ipv4ConfigError> check() const noexcept {
    if (prefix_length < 1 || prefix_length > 32) return Ipv4ConfigError::kBadPrefix;
    if (!is_host_address(address)) return Ipv4ConfigError::kNotUnicast;
    if (mtu < kMinimumMtu || mtu > kMtu) return Ipv4ConfigError::kMtuOutOfRange;
    if (gateway != wire::Ipv4Address{} && !on_link(gateway)) return Ipv4ConfigError::kGatewayOffLink;
    return std::nullopt;
  }
};

/// IPv4 packets that parse but are not delivered.
enum class Ipv4Drop : std::uint8_t {
  kNotForUs,          // destination is neither our address nor a broadcast
  kUnknownProtocol,   // no transport registered under its protocol number (answered: protocol unreachable)
  kMartianSource,     // a source no host can send from (RFC 1122 §3.2.1.3): see is_martian_source()
};
inline constexpr std::size_t kIpv4DropKinds = 3;

struct Ipv4Counters {
  std::uint64_t packets_received = 0;  // accepted: addressed to us, from a possible source
  std::uint64_t packets_built = 0;     // headers written by send operations
  ReasonCounters<wire::Ipv4Error, wire::kIpv4ErrorKinds> malformed;
  ReasonCounters<Ipv4Drop, kIpv4DropKinds> dropped;
  ReasonCounters<SendError, kSendErrorKinds> send_errors;
};

template <class Lower>
class Ipv4 {
 public:
  using Frame = typename Lower::Frame;
  using RxBuffer = typename Lower::RxBuffer;
  using SendResult = Result<Frame, SendError>;
  static constexpr std::uint16_t kEthertype = wire::ethertype::kIpv4;

  /// `config` is the interface's record (it must outlive the layer); it is read on every packet,
  /// so a change to it takes effect at once.
  Ipv4(Lower& lower, const Ipv4Config& config) noexcept : lower_(&lower), config_(&config) {
    expect(!config.check().has_value(), "Ipv4: invalid configuration (see Ipv4Config::check)");
  }
  Ipv4(const Ipv4&) = delete;
  Ipv4& operator=(const Ipv4&) = delete;

  /// Where a datagram to `destination` goes on the link.
  struct Route {
    // The address first, at offset 0: after the flag it sat at an odd offset, half in the store
    // that wrote the Result's first word, and the ARP send's 4-byte load of it stalled on store
    // forwarding (perf annotate, benchmarks/udp_path).
    wire::Ipv4Address next_hop;
    bool broadcast = false;
  };
  Result<Route, SendError> route(const wire::Ipv4Address& destination) const noexcept {
    if (config_->is_broadcast(destination)) return Route{destination, true};
    if (config_->on_link(destination)) return Route{destination, false};
    if (config_->gateway == wire::Ipv4Address{}) return SendError::kNoRoute;
    return Route{config_->gateway, false};
  }

  /// Route, resolve and reserve through the layers below, then write the IPv4 header for a
  /// payload of `payload_length` bytes. Ready with the frame (payload at the IP payload).
  class Send {
   public:
    using Output = SendResult;
    /// Routes at once (the route depends only on the configuration), so that the ARP send below
    /// is constructed in place, by value.
    Send(Ipv4& ip, const wire::Ipv4Address& destination, std::uint8_t protocol, std::size_t payload_length,
         ResolvePolicy policy) noexcept
        : ip_(&ip),
          route_(ip.route(destination)),
          lower_send_(route_.ok() && !route_.value().broadcast
                          ? ip.lower_->send(route_.value().next_hop, wire::ethertype::kIpv4, policy)
                          : ip.lower_->send_to_mac(wire::MacAddress::broadcast(), wire::ethertype::kIpv4)),
          destination_(destination),
          payload_length_(payload_length),
          protocol_(protocol) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      if (state_.get() == State::Routing) {
        if (payload_length_ + wire::kIpv4HeaderBytes > ip_->config_->mtu) return fail(SendError::kMessageTooLong);
        if (!route_.ok()) return fail(route_.error());
        state_.set(State::Sending);
      }
      Poll<SendResult> sent = lower_send_.poll(cx);
      if (sent.is_pending()) return pending;
      if (!sent.value().ok()) return fail(sent.value().error());
      state_.set(State::Done);
      Frame& frame = sent.value().value();
      ip_->write_header(frame, destination_, protocol_, payload_length_);
      return std::move(sent).value();
    }

   private:
    enum class State : std::uint8_t { Routing, Sending, Done };
    static constexpr auto kTransitions = transitions(State::Routing, {
        {State::Routing, State::Sending, "fits the MTU, and a route"},
        {State::Routing, State::Done, "too long, or no route"},
        {State::Sending, State::Done, "lower send Ready: header written, or its error"},
    });

    Output fail(SendError error) noexcept {
      ip_->counters_.send_errors.count(error);
      state_.set(State::Done);
      return Output(error);
    }

    Ipv4* ip_;
    Result<Route, SendError> route_;
    typename Lower::Send lower_send_;  // by value; unused when routing failed
    wire::Ipv4Address destination_;
    std::size_t payload_length_;
    std::uint8_t protocol_;
    StateCell<Send, &kTransitions> state_{State::Routing};
  };

  Send send(const wire::Ipv4Address& destination, std::uint8_t protocol, std::size_t payload_length,
            ResolvePolicy policy = ResolvePolicy::kWait) noexcept {
    return Send(*this, destination, protocol, payload_length, policy);
  }

  /// Writes our IPv4 header at the frame's payload and advances past it. Shared by Send and by
  /// synchronous callers.
  void write_header(Frame& frame, const wire::Ipv4Address& destination, std::uint8_t protocol,
                    std::size_t payload_length) noexcept {
    wire::Ipv4Repr repr;
    repr.source = config_->address;
    repr.destination = destination;
    repr.protocol = protocol;
    repr.ttl = config_->ttl;
    repr.identification = next_identification_++;
    repr.payload_length = static_cast<std::uint16_t>(payload_length);
    frame.advance(wire::emit_ipv4(repr, frame.payload()));
    ++counters_.packets_built;
  }

  /// A received packet addressed to us.
  struct Received {
    wire::Ipv4Repr header;
    std::span<const std::byte> payload;
    bool broadcast = false;   // sent to a broadcast address: never answered with an ICMP error
    bool link_group = false;  // came in a link-layer broadcast or multicast frame: nor is this (set
                              // by the interface; Linux: pkt_type not PACKET_HOST, RFC 1122 §3.2.2)
  };

  /// Parses and filters one received packet; a refused packet is counted by reason. Which
  /// transport gets it is the interface's table (common/protocol.h), not this layer's business.
  std::optional<Received> accept(std::span<const std::byte> packet) noexcept {
    // Parsed straight into the returned optional's storage (one object, returned by every path,
    // so the compiler builds it in the caller's): a header built apart and copied in was a 40-byte
    // `rep movs` per packet, and later a store-forwarding stall (perf annotate, benchmarks/udp_path).
    std::optional<Received> out(std::in_place);
    Received& r = *out;
    if (const std::optional<wire::Ipv4Error> bad = wire::parse_ipv4_into(packet, r.header, r.payload)) {
      counters_.malformed.count(*bad);
      out.reset();
      return out;
    }
    r.broadcast = config_->is_broadcast(r.header.destination);
    if (r.header.destination != config_->address && !r.broadcast) {
      counters_.dropped.count(Ipv4Drop::kNotForUs);
      out.reset();
      return out;
    }
    if (is_martian_source(r.header.source)) {
      counters_.dropped.count(Ipv4Drop::kMartianSource);
      out.reset();
      return out;
    }
    ++counters_.packets_received;
    return out;
  }

  /// The interface's table has no transport for an accepted packet's protocol.
  void count_unknown_protocol() noexcept { counters_.dropped.count(Ipv4Drop::kUnknownProtocol); }

  /// Sources that must be discarded (RFC 1122 §3.2.1.3, as Linux's martian filter does): our own
  /// address (a reflection, or someone using it; unless accept_local), 0.0.0.0 ("this host", only for a host learning
  /// its address, e.g. a DHCP client, which we never are on receive), loopback 127/8 (never on a
  /// wire), broadcast (limited or our subnet's), multicast 224/4 and the reserved class E 240/4.
  bool is_martian_source(const wire::Ipv4Address& source) const noexcept {
    return (source == config_->address && !config_->accept_local) || !config_->is_host_address(source);
  }

  Lower& lower() noexcept { return *lower_; }
  const Ipv4Config& config() const noexcept { return *config_; }
  const Ipv4Counters& counters() const noexcept { return counters_; }

 private:
  Lower* lower_;
  const Ipv4Config* config_;
  std::uint16_t next_identification_ = 1;
  Ipv4Counters counters_;
};

}  // namespace pollstack::net
