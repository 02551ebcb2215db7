// The whole receive path: frames from the fuzzer go through an Interface (Ethernet, ARP, IPv4,
// ICMP, UDP sockets, TCP with nobody listening) over the fake channel, with time passing between
// them and a send waiting on ARP resolution meanwhile. Invariants checked on every input:
//  - every frame the stack sends in answer parses cleanly with our codecs, checksums included,
//    and fits the MTU;
//  - the receive task never completes while the link is up;
//  - every received buffer is given back once the sockets are read and closed (no leak);
//  - a datagram read from a socket fits the buffer and says whether it was truncated.
// Input: records of [time step: 1 byte][length: 2 bytes, big endian][frame: length bytes].
#include <cstring>
#include <optional>
#include <vector>

#include "layers/interface.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/layers/fake_channel.h"

using namespace pollstack;
using namespace pollstack::net;

namespace {

constexpr wire::MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
constexpr wire::Ipv4Address kOurIp{{10, 0, 0, 1}};

void check_sent(std::span<const std::byte> frame) {
  fuzz::require(frame.size() <= kMtu + wire::kEthernetHeaderBytes, "a sent frame fits the MTU");
  const auto eth = wire::parse_ethernet(frame);
  fuzz::require(eth.ok(), "a sent frame parses");
  fuzz::require(eth.repr().source == kOurMac, "a sent frame comes from our MAC");
  if (eth.repr().ethertype == wire::ethertype::kArp) {
    fuzz::require(wire::parse_arp(eth.payload()).ok(), "a sent ARP packet parses");
    return;
  }
  fuzz::require(eth.repr().ethertype == wire::ethertype::kIpv4, "a sent frame is ARP or IPv4");
  const auto ip = wire::parse_ipv4(eth.payload());
  fuzz::require(ip.ok(), "a sent IPv4 packet parses, header checksum included");
  fuzz::require(ip.repr().source == kOurIp, "a sent packet comes from our address");
  if (ip.repr().protocol == wire::ip_protocol::kIcmp) {
    fuzz::require(wire::parse_icmp(ip.payload()).ok(), "a sent ICMP message parses, checksum included");
  } else if (ip.repr().protocol == wire::ip_protocol::kTcp) {
    const auto tcp = wire::parse_tcp(
        ip.payload(), wire::ipv4_pseudo_header(ip.repr().source, ip.repr().destination, wire::ip_protocol::kTcp));
    fuzz::require(tcp.ok(), "a sent TCP segment parses, checksum included");
    fuzz::require(tcp.repr().has(wire::tcp_flag::kRst), "a sent TCP segment is a RST (nobody listens here)");
  } else {
    fuzz::require(ip.repr().protocol == wire::ip_protocol::kUdp, "a sent packet is ICMP, UDP or TCP");
    fuzz::require(wire::parse_udp(ip.payload(), wire::ipv4_pseudo_header(ip.repr().source, ip.repr().destination,
                                                                       wire::ip_protocol::kUdp))
                      .ok(), "a sent UDP datagram parses, checksum included");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  testing::FakeChannel channel;
  Interface<testing::FakeChannel> iface(channel, {kOurMac, {kOurIp, 24, {{10, 0, 0, 254}}, kDefaultTtl}});
  auto task = iface.task();
  const UdpSocketId echo = iface.udp().bind(7).value();
  const UdpSocketId other = iface.udp().bind(5000).value();
  int wakes = 0;
  Instant now{Duration{1'000'000}};
  Instant deadline = kNever;
  const Waker waker(+[](void* p) noexcept { ++*static_cast<int*>(p); }, &wakes);
  auto poll = [&](auto& machine) {
    deadline = kNever;
    Context cx(waker, now, deadline);
    return machine.poll(cx);
  };

  // A send that has to resolve 10.0.0.2 first: frames from the input may answer its ARP request.
  const std::byte hello[5] = {};
  auto send = iface.udp().send_to(other, {wire::Ipv4Address{{10, 0, 0, 2}}, 9}, hello);
  bool send_done = false;

  std::vector<std::byte> buffer(64);
  std::size_t at = 0;
  while (at + 3 <= size) {
    now += Duration{static_cast<std::int64_t>(data[at]) * 50};
    const std::size_t length = std::min<std::size_t>((std::size_t{data[at + 1]} << 8) | data[at + 2], size - at - 3);
    channel.inject(testing::Frame(reinterpret_cast<const std::byte*>(data + at + 3),
                                  reinterpret_cast<const std::byte*>(data + at + 3 + length)));
    at += 3 + length;
    fuzz::require(poll(task).is_pending(), "the receive task runs while the link is up");
    if (!send_done) send_done = poll(send).is_ready();
    while (std::optional<testing::Frame> sent = channel.take_sent()) check_sent(*sent);
    for (UdpSocketId s : {echo, other}) {
      if (auto got = iface.udp().try_receive(s, buffer); got && got->ok()) {
        fuzz::require(got->value().length <= buffer.size(), "a read datagram fits the buffer");
      }
    }
  }
  // Let the ARP retries run out, then close everything: every buffer must come back.
  for (int i = 0; i < 8 && !send_done; ++i) {
    now += kArpRetryInterval;
    fuzz::require(poll(task).is_pending(), "the receive task runs while the link is up");
    send_done = poll(send).is_ready();
    while (std::optional<testing::Frame> sent = channel.take_sent()) check_sent(*sent);
  }
  fuzz::require(send_done, "a send waiting on ARP completes, one way or the other");
  iface.udp().close(echo);
  iface.udp().close(other);
  fuzz::require(channel.rx_held() == 0, "every received buffer is given back");
  return 0;
}
