#pragma once
// The fake neighbour: a host on the other end of the link, written with the wire codecs only. It
// builds the frames a peer would send and decodes the frames our stack sent. Plus Driver, which
// polls a machine under a hand-set clock and records wakes and deadlines.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <doctest/doctest.h>

#include "layers/arp/arp_wire.h"
#include "layers/ethernet/ethernet_wire.h"
#include "layers/icmp/icmp_wire.h"
#include "layers/ipv4/ipv4_wire.h"
#include "layers/tcp/tcp_wire.h"
#include "layers/udp/udp_wire.h"
#include "statemachines/context.h"
#include "statemachines/poll.h"
#include "tests/statemachines/manual_context.h"

namespace pollstack::net::testing {

using Bytes = std::vector<std::byte>;

inline Bytes text(const char* s) {
  Bytes b(std::strlen(s));
  wire::copy_bytes(b, std::as_bytes(std::span(s, b.size())));
  return b;
}

inline Bytes pattern(std::size_t n, unsigned seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
  return b;
}

struct Peer {
  wire::MacAddress mac;
  wire::Ipv4Address ip;

  Bytes ethernet(const wire::MacAddress& to, std::uint16_t ethertype, std::span<const std::byte> payload) const {
    Bytes f(wire::kEthernetHeaderBytes + payload.size());
    wire::emit_ethernet({to, mac, ethertype}, f);
    wire::copy_bytes(std::span(f).subspan(wire::kEthernetHeaderBytes), payload);
    return f;
  }

  Bytes arp(std::uint16_t operation, const wire::MacAddress& eth_to, const wire::MacAddress& target_mac,
            const wire::Ipv4Address& target_ip) const {
    Bytes p(wire::kArpPacketBytes);
    wire::emit_arp({operation, mac, ip, target_mac, target_ip}, p);
    return ethernet(eth_to, wire::ethertype::kArp, p);
  }

  Bytes ipv4(const wire::MacAddress& eth_to, const wire::Ipv4Address& to, std::uint8_t protocol,
             std::span<const std::byte> payload, std::uint16_t id = 7) const {
    Bytes p(wire::kIpv4HeaderBytes + payload.size());
    wire::Ipv4Repr h;
    h.source = ip;
    h.destination = to;
    h.protocol = protocol;
    h.identification = id;
    h.payload_length = static_cast<std::uint16_t>(payload.size());
    wire::emit_ipv4(h, p);
    wire::copy_bytes(std::span(p).subspan(wire::kIpv4HeaderBytes), payload);
    return ethernet(eth_to, wire::ethertype::kIpv4, p);
  }

  Bytes udp(const wire::MacAddress& eth_to, const wire::Ipv4Address& to, std::uint16_t from_port,
            std::uint16_t to_port, std::span<const std::byte> payload) const {
    Bytes d(wire::kUdpHeaderBytes + payload.size());
    wire::copy_bytes(std::span(d).subspan(wire::kUdpHeaderBytes), payload);
    wire::emit_udp({from_port, to_port}, wire::ipv4_pseudo_header(ip, to, wire::ip_protocol::kUdp), payload.size(), d);
    return ipv4(eth_to, to, wire::ip_protocol::kUdp, d);
  }

  Bytes tcp(const wire::MacAddress& eth_to, const wire::Ipv4Address& to, const wire::TcpRepr& h,
            std::span<const std::byte> payload = {}) const {
    const std::size_t header = wire::tcp_header_length(h.options);
    Bytes segment(header + payload.size());
    wire::copy_bytes(std::span(segment).subspan(header), payload);
    wire::emit_tcp(h, wire::ipv4_pseudo_header(ip, to, wire::ip_protocol::kTcp), payload.size(), segment);
    return ipv4(eth_to, to, wire::ip_protocol::kTcp, segment);
  }

  Bytes icmp(const wire::MacAddress& eth_to, const wire::Ipv4Address& to, const wire::IcmpRepr& m,
             std::span<const std::byte> payload) const {
    Bytes msg(wire::kIcmpHeaderBytes + payload.size());
    wire::copy_bytes(std::span(msg).subspan(wire::kIcmpHeaderBytes), payload);
    wire::emit_icmp(m, payload.size(), msg);
    return ipv4(eth_to, to, wire::ip_protocol::kIcmp, msg);
  }
};

/// A frame our stack sent, decoded as far as it goes.
struct Sent {
  wire::EthernetRepr eth;
  std::optional<wire::ArpRepr> arp;
  std::optional<wire::Ipv4Repr> ip;
  std::optional<wire::IcmpRepr> icmp;
  std::optional<wire::UdpRepr> udp;
  std::optional<wire::TcpRepr> tcp;
  Bytes payload;  // ICMP, UDP or TCP payload

  static Sent decode(std::span<const std::byte> frame) {
    Sent s;
    const auto eth = wire::parse_ethernet(frame);
    REQUIRE(eth.ok());
    s.eth = eth.repr();
    if (s.eth.ethertype == wire::ethertype::kArp) {
      const auto arp = wire::parse_arp(eth.payload());
      REQUIRE(arp.ok());
      s.arp = arp.repr();
      return s;
    }
    const auto ip = wire::parse_ipv4(eth.payload());
    REQUIRE(ip.ok());  // the header checksum and lengths are verified here
    s.ip = ip.repr();
    if (s.ip->protocol == wire::ip_protocol::kIcmp) {
      const auto icmp = wire::parse_icmp(ip.payload());
      REQUIRE(icmp.ok());
      s.icmp = icmp.repr();
      s.payload.assign(icmp.payload().begin(), icmp.payload().end());
    } else if (s.ip->protocol == wire::ip_protocol::kUdp) {
      const auto udp = wire::parse_udp(
          ip.payload(), wire::ipv4_pseudo_header(ip.repr().source, ip.repr().destination, wire::ip_protocol::kUdp));
      REQUIRE(udp.ok());  // the UDP checksum is verified here
      s.udp = udp.repr();
      s.payload.assign(udp.payload().begin(), udp.payload().end());
    } else if (s.ip->protocol == wire::ip_protocol::kTcp) {
      const auto tcp = wire::parse_tcp(
          ip.payload(), wire::ipv4_pseudo_header(ip.repr().source, ip.repr().destination, wire::ip_protocol::kTcp));
      REQUIRE(tcp.ok());  // the TCP checksum and options are verified here
      s.tcp = tcp.repr();
      s.payload.assign(tcp.payload().begin(), tcp.payload().end());
    }
    return s;
  }
};

/// Polls machines the way an owner would, under a clock the test sets.
struct Driver {
  Instant now{Duration{1'000'000}};
  Instant deadline = kNever;
  int wakes = 0;

  Waker waker() { return Waker(+[](void* w) noexcept { ++*static_cast<int*>(w); }, &wakes); }

  template <class M>
  auto poll(M& machine) {
    deadline = kNever;
    Context cx(waker(), now, deadline);
    return machine.poll(cx);
  }
  void advance(Duration d) { now += d; }
};

}  // namespace pollstack::net::testing
