#pragma once
// An Interface over the fake channel, with its receive task and a fake neighbour on the link: the
// setting for the IPv4, ICMP and UDP layer tests.

#include <doctest/doctest.h>

#include <optional>

#include "layers/interface.h"
#include "tests/layers/fake_channel.h"
#include "tests/layers/peer.h"

namespace pollstack::net::testing {

inline constexpr wire::MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
inline constexpr wire::Ipv4Address kOurIp{{10, 0, 0, 1}};
inline constexpr wire::Ipv4Address kGateway{{10, 0, 0, 254}};
inline const Peer kPeer{{{2, 0, 0, 0, 0, 2}}, {{10, 0, 0, 2}}};

template <class Stack>
struct BasicInterfaceFixture {
  using Iface = Stack;

  explicit BasicInterfaceFixture(const Ipv4Config& ip = {kOurIp, 24, kGateway, kDefaultTtl})
      : iface(channel, {kOurMac, ip}) {}

  FakeChannel channel;
  Iface iface;
  typename Iface::Task task = iface.task();
  Driver d;

  /// Polls the receive task (it never completes while the link is up) as an executor would: again
  /// while it woke itself (its output waits for the frames in hand; a spent budget yields), at most
  /// kRepolls times.
  void run() {
    for (int i = 0; i < kRepolls; ++i) {
      const int wakes = d.wakes;
      CHECK(d.poll(task).is_pending());
      if (d.wakes == wakes) return;
    }
  }
  static constexpr int kRepolls = 64;
  /// One poll of the receive task: one turn, for tests of what a turn does.
  void run_once() { CHECK(d.poll(task).is_pending()); }

  /// Delivers a frame from the neighbour and lets the task process it.
  void receive(Bytes frame) {
    channel.inject(std::move(frame));
    run();
  }

  /// The next frame the stack sent, decoded.
  Sent sent() {
    std::optional<Bytes> f = channel.take_sent();
    REQUIRE(f.has_value());
    return Sent::decode(*f);
  }

  /// The neighbour introduces itself (an ARP request for our address); our reply is consumed.
  void meet(const Peer& peer = kPeer) {
    receive(peer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kOurIp));
    const Sent reply = sent();
    REQUIRE(reply.arp.has_value());
  }
};

using InterfaceFixture = BasicInterfaceFixture<Interface<FakeChannel>>;

}  // namespace pollstack::net::testing
