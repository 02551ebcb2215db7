// The whole stack end to end over the real driver channel and the loopback driver (in-process):
// ARP resolution, ping, UDP echo, a closed port answered with ICMP, and malformed frames of every
// class, all through real shared-memory rings. Built twice: as end_to_end_test, and as
// end_to_end_no_heap_test, where each scenario runs inside heap_probe::ForbidHeap, so any
// operator new or malloc on the stack's path aborts the binary.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <optional>

#include "layers/services/udp_echo.h"
#include "statemachines/join.h"
#include "tests/layers/loopback_world.h"
#include "tests/layers/peer.h"

#ifdef POLLSTACK_FORBID_HEAP
#include "tools/heap_probe/heap_probe.h"
#define NO_HEAP_SCOPE ::pollstack::heap_probe::ForbidHeap forbid_heap
#else
#define NO_HEAP_SCOPE static_cast<void>(0)
#endif

namespace pollstack::net {
namespace {

using namespace testing;
using Udp = Stack::UdpLayer;

constexpr std::size_t kMaxPayload = kUdpMaxPayload;

// Sends `count` datagrams to `to` one at a time and checks that each comes back byte for byte.
// Outcome: how many came back intact, or the receive error that ended it.
struct EchoClient {
  struct Outcome {
    std::uint32_t intact = 0;
    std::optional<RecvError> error;
  };
  using Output = Outcome;

  Udp* udp;
  UdpSocketId socket;
  UdpEndpoint to;
  std::uint32_t count;
  std::size_t size;
  std::array<std::byte, kMaxPayload> out{};
  std::array<std::byte, kMaxPayload> in{};
  std::optional<Udp::Send> send;
  std::optional<Udp::Receive> receive;
  Outcome outcome;
  std::uint32_t sent = 0;

  Poll<Output> poll(Context& cx) {
    for (;;) {
      if (!send && !receive) {
        if (outcome.intact == count) return outcome;
        for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((i + sent) & 0xff);
        send.emplace(udp->send_to(socket, to, std::span(out).first(size)));
      }
      if (send) {
        Poll<Udp::SendOutput> s = send->poll(cx);
        if (s.is_pending()) return pending;
        send.reset();
        if (!s.value().ok()) return outcome;
        ++sent;
        receive.emplace(udp->recv_from(socket, in));
      }
      Poll<Udp::RecvOutput> r = receive->poll(cx);
      if (r.is_pending()) return pending;
      receive.reset();
      if (!r.value().ok()) {
        outcome.error = r.value().error();
        return outcome;
      }
      const ReceivedDatagram& d = r.value().value();
      if (d.length == size && !d.truncated && std::memcmp(in.data(), out.data(), size) == 0) ++outcome.intact;
    }
  }
};

// Runs `app` with a background task beside it (both by reference); completes with the app.
template <class App, class Background>
struct WithBackground {
  using Output = OutputOf<App>;
  App* app;
  Background* background;
  Poll<Output> poll(Context& cx) {
    if (background->poll(cx).is_ready()) FAIL("the background task stopped");
    return app->poll(cx);
  }
};

// A raw frame sender: puts arbitrary bytes on the wire through the channel (they loop back).
struct RawSend {
  using Output = bool;
  driver_channel::StackChannel* channel;
  std::span<const std::byte> frame;
  std::optional<driver_channel::StackChannel::TxReservation> reservation;

  Poll<bool> poll(Context& cx) {
    if (!reservation) reservation.emplace(channel->reserve_tx());
    auto r = reservation->poll(cx);
    if (r.is_pending()) return pending;
    if (!r.value().ok()) return false;
    auto& tx = r.value().value();
    std::memcpy(tx.bytes().data(), frame.data(), frame.size());
    return tx.submit(static_cast<std::uint32_t>(frame.size()));
  }
};

TEST_CASE("UDP echo to our own address: ARP resolves, datagrams of every size come back intact") {
  LoopbackWorld w;
  Udp& udp = w.iface.udp();
  const UdpSocketId echo_socket = udp.bind(7).value();
  const UdpSocketId client_socket = udp.bind(0).value();
  std::optional<EchoClient::Outcome> outcome;
  {
    NO_HEAP_SCOPE;
    UdpEchoService<Udp> echo(udp, echo_socket);
    for (std::size_t size : {std::size_t{1}, std::size_t{64}, std::size_t{1000}, kMaxPayload}) {
      EchoClient client{&udp, client_socket, {kLoopIp, 7}, 500, size};
      WithBackground<EchoClient, UdpEchoService<Udp>> both{&client, &echo};
      outcome = w.run(both);
      if (!outcome || outcome->intact != 500) break;
    }
  }
  REQUIRE(outcome.has_value());
  CHECK(outcome->intact == 500);
  CHECK_FALSE(outcome->error.has_value());
  // The ARP exchange with ourselves happened once, then the cache served every datagram.
  CHECK(w.iface.arp().neighbours().counters().resolved == 1);
  CHECK(w.iface.arp().counters().requests_received == 1);
  CHECK(udp.counters().datagrams_sent == 4 * 1000);
  CHECK(udp.counters().dropped.total() == 0);
  CHECK(w.channel.ledger().free_count() + driver_channel::kRxFillBuffers == driver_channel::kBufferCount);
}

TEST_CASE("ping our own address: echo request out, reply back to the pinger") {
  LoopbackWorld w;
  const Bytes data = pattern(56);
  std::optional<EchoReply> reply;
  std::size_t sent = 0;
  {
    NO_HEAP_SCOPE;
    auto waiting = w.iface.icmp().receive_echo_reply(0x4242);
    auto ping = w.iface.icmp().ping(kLoopIp, 0x4242, 9, data);
    auto both = join(std::move(ping), std::move(waiting));
    if (auto r = w.run(both)) {
      sent = r->first.ok() ? r->first.value() : 0;
      reply = r->second;
    }
  }
  CHECK(sent == 56);
  REQUIRE(reply.has_value());
  CHECK(reply->from == kLoopIp);
  CHECK(reply->sequence == 9);
  CHECK(reply->data_length == 56);
  CHECK(w.iface.icmp().counters().echo_requests_received == 1);
}

TEST_CASE("UDP to a closed port: ICMP port unreachable, reported to the sending socket") {
  LoopbackWorld w;
  Udp& udp = w.iface.udp();
  const UdpSocketId client_socket = udp.bind(0).value();
  std::optional<EchoClient::Outcome> outcome;
  {
    NO_HEAP_SCOPE;
    EchoClient client{&udp, client_socket, {kLoopIp, 9}, 1, 32};
    outcome = w.run(client);
  }
  REQUIRE(outcome.has_value());
  CHECK(outcome->intact == 0);
  REQUIRE(outcome->error.has_value());
  CHECK(*outcome->error == RecvError::kPortUnreachable);
  CHECK(udp.counters().dropped[UdpDrop::kClosedPort] == 1);
  CHECK(w.iface.icmp().counters().unreachables_received == 1);
}

TEST_CASE("malformed frames of every class are counted by reason, and nothing breaks") {
  LoopbackWorld w;
  const Peer peer{{{2, 0, 0, 0, 0, 0x20}}, {{10, 9, 0, 2}}};
  Udp& udp = w.iface.udp();
  udp.bind(5000).value();
  std::vector<Bytes> frames;
  frames.push_back(Bytes(10));                                                 // Ethernet truncated
  frames.push_back(peer.ethernet(kLoopMac, wire::ethertype::kArp, Bytes(20)));  // ARP truncated
  const Bytes good_udp = peer.udp(kLoopMac, kLoopIp, 6000, 5000, text("fine"));
  auto with = [&](std::size_t at, std::uint8_t value) {
    Bytes f = good_udp;
    f[at] = std::byte{value};
    return f;
  };
  frames.push_back(with(14, 0x55));      // IPv4 version 5 (the header checksum fails later, version first)
  frames.push_back(with(24, 0x00));      // IPv4 header checksum
  frames.push_back(with(41, 0x00));      // UDP checksum (low byte)
  frames.push_back(peer.icmp(kLoopMac, kLoopIp, {wire::icmp_type::kEchoRequest, 0, 1, 1}, Bytes(3)));
  frames.back().back() ^= std::byte{0x5a};  // ICMP checksum
  frames.push_back(good_udp);  // and one good one, which must still arrive
  Bytes buffer(64);
  std::size_t submitted = 0;
  std::optional<Udp::RecvOutput> got;
  {
    NO_HEAP_SCOPE;
    for (const Bytes& f : frames) {
      RawSend raw{&w.channel, f};
      submitted += w.run(raw).value_or(false);
    }
    // The good datagram, last in, proves the interface task got through everything before it.
    Udp::Receive first = udp.recv_from(UdpSocketId{0, 0}, buffer);
    got = w.run(first);
  }
  CHECK(submitted == frames.size());
  REQUIRE(got.has_value());
  REQUIRE(got->ok());
  CHECK(Bytes(buffer.begin(), buffer.begin() + got->value().length) == text("fine"));
  CHECK(w.iface.ethernet().counters().malformed[wire::EthernetError::kTruncated] == 1);
  CHECK(w.iface.arp().counters().malformed[wire::ArpError::kTruncated] == 1);
  CHECK(w.iface.ipv4().counters().malformed[wire::Ipv4Error::kBadVersion] == 1);
  CHECK(w.iface.ipv4().counters().malformed[wire::Ipv4Error::kBadChecksum] == 1);
  CHECK(udp.counters().malformed[wire::UdpError::kBadChecksum] == 1);
  CHECK(w.iface.icmp().counters().malformed[wire::IcmpError::kBadChecksum] == 1);
}

}  // namespace
}  // namespace pollstack::net
