#pragma once
// TcpFixture: an interface with TCP over the fake channel, a neighbour that has introduced itself,
// and the peer's end of a connection (its port, its next sequence number, what it knows of ours),
// for tests that script segments in and check the exact segments out.

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "layers/interface.h"
#include "tests/layers/interface_fixture.h"
#include "tests/layers/peer.h"

namespace pollstack::net::testing {

namespace flag = wire::tcp_flag;

inline constexpr std::uint16_t kPort = 80;
inline constexpr std::uint16_t kPeerPort = 40000;
inline constexpr std::uint32_t kPeerIsn = 1000;

// The interface with TCP, a neighbour that has introduced itself, and the peer's end of one
// connection: its port, its next sequence number, and what it knows of ours.
template <class Stack>
struct BasicTcpFixture : BasicInterfaceFixture<Stack> {
  using Base = BasicInterfaceFixture<Stack>;
  using Layer = typename Stack::TcpLayer;
  using Base::d;
  using Base::channel;
  using Base::iface;
  using Base::receive;
  using Base::run;
  using Base::sent;

  BasicTcpFixture() { this->meet(); }

  Layer& tcp() { return iface.tcp(); }

  std::uint16_t peer_port = kPeerPort;
  std::uint16_t our_port = kPort;
  std::uint32_t peer_next = kPeerIsn;  // the peer's next sequence number
  std::uint32_t our_next = 0;          // ours, as the peer has seen it

  wire::TcpRepr header(std::uint8_t flags, std::uint32_t sequence, std::uint32_t ack, std::uint16_t window = 65535) {
    wire::TcpRepr h;
    h.source_port = peer_port;
    h.destination_port = our_port;
    h.sequence = sequence;
    h.acknowledgement = ack;
    h.flags = flags;
    h.window = window;
    return h;
  }

  /// The peer's timestamps option on every segment send() makes (RFC 7323), when set.
  std::optional<std::uint32_t> peer_timestamp;
  std::uint32_t peer_echo = 0;  // the echo it carries: set from our last segment by segment()

  /// The peer sends a segment at its next sequence number, acknowledging all it has seen.
  void send(std::uint8_t flags, const Bytes& payload = {}, std::uint16_t window = 65535) {
    queue(flags, payload, window);
    run();
  }
  /// send() without running the task: the segment waits in the receive ring with any others.
  void queue(std::uint8_t flags, const Bytes& payload = {}, std::uint16_t window = 65535) {
    wire::TcpRepr h = header(flags, peer_next, our_next, window);
    if (peer_timestamp) {
      h.options.has_timestamps = true;
      h.options.timestamp_value = *peer_timestamp;
      h.options.timestamp_echo = peer_echo;
    }
    channel.inject(kPeer.tcp(kOurMac, kOurIp, h, payload));
    peer_next += static_cast<std::uint32_t>(payload.size()) + ((flags & flag::kSyn) ? 1 : 0) +
                 ((flags & flag::kFin) ? 1 : 0);
  }
  void send_raw(const wire::TcpRepr& h, const Bytes& payload = {}) {
    receive(kPeer.tcp(kOurMac, kOurIp, h, payload));
  }

  /// The next segment the stack sent; its sequence space is noted as the peer's view.
  Sent segment() {
    Sent s = sent();
    REQUIRE(s.tcp.has_value());
    CHECK(s.ip->destination == kPeer.ip);
    CHECK(s.tcp->source_port == our_port);
    CHECK(s.tcp->destination_port == peer_port);
    const std::uint32_t end = s.tcp->sequence + static_cast<std::uint32_t>(s.payload.size()) +
                              (s.tcp->has(flag::kSyn) ? 1 : 0) + (s.tcp->has(flag::kFin) ? 1 : 0);
    if (seq::gt(end, our_next) || s.tcp->has(flag::kSyn)) our_next = end;
    if (s.tcp->options.has_timestamps) peer_echo = s.tcp->options.timestamp_value;
    return s;
  }

  void nothing_sent() { CHECK(channel.sent_count() == 0); }

  template <class Op>
  auto poll(Op& op) {
    auto result = this->d.poll(op);
    run();  // the interface task sends what the operation queued
    return result;
  }

  /// A passive open on kPort, completed: the accepted connection.
  TcpSocket open_passive() {
    const Result<TcpListener, ListenError> l = tcp().listen(kPort);
    REQUIRE(l.ok());
    listener = l.value();
    auto accept = tcp().accept(listener);
    CHECK(poll(accept).is_pending());
    send(flag::kSyn);
    const Sent syn_ack = segment();
    CHECK(syn_ack.tcp->flags == (flag::kSyn | flag::kAck));
    send(flag::kAck);
    nothing_sent();
    auto accepted = poll(accept);
    REQUIRE(accepted.is_ready());
    REQUIRE(accepted.value().ok());
    return accepted.value().value();
  }

  std::string read_all(TcpSocket s) {
    std::array<std::byte, 4096> buffer{};
    auto r = tcp().read(s, buffer);
    auto got = poll(r);
    REQUIRE(got.is_ready());
    REQUIRE(got.value().ok());
    return std::string(reinterpret_cast<const char*>(buffer.data()), got.value().value());
  }

  void write_all(TcpSocket s, const Bytes& data) {
    auto w = tcp().write(s, data);
    auto done = poll(w);
    REQUIRE(done.is_ready());
    REQUIRE(done.value().ok());
    CHECK(done.value().value() == data.size());
  }

  TcpListener listener;
};

using TcpFixture = BasicTcpFixture<Interface<FakeChannel>>;

inline std::string as_string(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace pollstack::net::testing
