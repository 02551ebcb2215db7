// TCP's state machine against a scripted peer: segments in, the exact segments out (RFC 9293's
// diagram, transition by transition), under the interface task and a test clock.
#include "layers/tcp/tcp.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layers/interface.h"
#include "tests/layers/interface_fixture.h"
#include "tests/layers/peer.h"
#include "tests/layers/tcp/tcp_fixture.h"

namespace pollstack::net {
namespace {

using testing::as_string;
using testing::Bytes;
using testing::kOurIp;
using testing::kOurMac;
using testing::kPeer;
using testing::kPeerIsn;
using testing::kPeerPort;
using testing::kPort;
using testing::Sent;
using testing::TcpFixture;
using Layer = TcpFixture::Layer;
namespace flag = wire::tcp_flag;


TEST_CASE("passive open: SYN, SYN-ACK with our MSS, ACK; accept hands out the connection") {
  TcpFixture f;
  REQUIRE(f.tcp().listen(kPort).ok());
  CHECK(f.tcp().listen(kPort).error() == ListenError::kPortInUse);
  auto accept = f.tcp().accept(TcpListener{0, 0});
  CHECK(f.poll(accept).is_pending());
  wire::TcpRepr syn = f.header(flag::kSyn, kPeerIsn, 0, 29200);
  syn.options.has_mss = true;
  syn.options.mss = 1200;
  f.send_raw(syn);
  f.peer_next = kPeerIsn + 1;
  const Sent syn_ack = f.segment();
  CHECK(syn_ack.tcp->flags == (flag::kSyn | flag::kAck));
  CHECK(syn_ack.tcp->acknowledgement == kPeerIsn + 1);
  CHECK(syn_ack.tcp->options.has_mss);
  CHECK(syn_ack.tcp->options.mss == 1460);
  CHECK(syn_ack.tcp->window == 16384);
  CHECK(syn_ack.payload.empty());
  CHECK(f.tcp().count_in(TcpState::SynReceived) == 1);
  CHECK(f.poll(accept).is_pending());  // not before the handshake completes

  f.send(flag::kAck);
  f.nothing_sent();
  auto accepted = f.poll(accept);
  REQUIRE(accepted.is_ready());
  REQUIRE(accepted.value().ok());
  const TcpSocket s = accepted.value().value();
  CHECK(f.tcp().state(s) == TcpState::Established);
  CHECK(f.tcp().remote(s)->address == wire::IpAddress(kPeer.ip));
  CHECK(f.tcp().remote(s)->port == kPeerPort);
  CHECK(f.tcp().counters().passive_opens == 1);
  CHECK(f.tcp().counters().established == 1);

  // The peer's MSS bounds our segments: 3000 bytes go as 1200 + 1200 + 600, the last one, short,
  // once the others are acknowledged (Nagle).
  f.write_all(s, testing::pattern(3000));
  CHECK(f.segment().payload.size() == 1200);
  CHECK(f.segment().payload.size() == 1200);
  f.nothing_sent();
  f.send(flag::kAck);
  const Sent last = f.segment();
  CHECK(last.payload.size() == 600);
  CHECK(last.tcp->has(flag::kPsh));
}

TEST_CASE("data both ways: delayed ACKs (40 ms, or every second full segment, or with our data); reads in order") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send(flag::kAck | flag::kPsh, testing::text("hello, "));
  f.nothing_sent();  // the ACK waits for more, or for the timer
  f.run();           // (the task was woken to report the new deadline, as an executor would poll it)
  CHECK(f.d.deadline == f.d.now + kTcpDelayedAck);
  f.d.advance(kTcpDelayedAck);
  f.run();
  Sent ack = f.segment();
  CHECK(ack.tcp->flags == flag::kAck);
  CHECK(ack.tcp->acknowledgement == f.peer_next);
  CHECK(ack.tcp->window == 16384 - 7);
  f.send(flag::kAck | flag::kPsh, testing::text("world"));
  f.nothing_sent();
  CHECK(f.read_all(s) == "hello, world");

  // Our data carries the ACK (and the delayed one is off).
  f.write_all(s, testing::text("echo"));
  const Sent data = f.segment();
  CHECK(data.tcp->flags == (flag::kAck | flag::kPsh));
  CHECK(as_string(data.payload) == "echo");
  CHECK(data.tcp->acknowledgement == f.peer_next);
  f.send(flag::kAck);
  f.d.advance(kTcpDelayedAck);
  f.run();
  f.nothing_sent();

  // Two full-sized segments are acknowledged at once (the peer sent no MSS: 536).
  f.send(flag::kAck, testing::pattern(kTcpDefaultMss));
  f.nothing_sent();
  f.send(flag::kAck, testing::pattern(kTcpDefaultMss));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  std::array<std::byte, 2 * kTcpDefaultMss> all{};
  auto drain = f.tcp().read(s, all);
  REQUIRE(f.poll(drain).is_ready());

  // A retransmitted old segment is acknowledged again, and not delivered twice.
  f.send_raw(f.header(flag::kAck | flag::kPsh, f.peer_next - 5, f.our_next), testing::text("world"));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  std::array<std::byte, 16> buffer{};
  auto r = f.tcp().read(s, buffer);
  CHECK(f.poll(r).is_pending());
}

TEST_CASE("segments that arrive together are acknowledged together, after the last of them") {
  // Six full-sized segments waiting in the receive ring when the task runs (a TAP driver's batch
  // of a TSO frame): one ACK for all six, as Linux acknowledges a GRO batch; not one per two.
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  for (int i = 0; i < 6; ++i) f.queue(flag::kAck, testing::pattern(kTcpDefaultMss));
  f.run();
  const Sent ack = f.segment();
  CHECK(ack.tcp->flags == flag::kAck);
  CHECK(ack.tcp->acknowledgement == f.peer_next);
  CHECK(ack.tcp->window == 16384 - 6 * kTcpDefaultMss);
  f.nothing_sent();
  // One at a time, every second full-sized segment is still acknowledged at once (RFC 5681 §4.2).
  f.send(flag::kAck, testing::pattern(kTcpDefaultMss));
  f.nothing_sent();
  f.send(flag::kAck, testing::pattern(kTcpDefaultMss));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  f.nothing_sent();
  std::array<std::byte, 8 * kTcpDefaultMss> all{};
  auto drain = f.tcp().read(s, all);
  REQUIRE(f.poll(drain).is_ready());

  // After a loss (Linux's quickack mode): a segment past a gap and the one filling it are each
  // acknowledged at once, and so is every second segment of the next batch.
  CHECK(f.segment().tcp->window == 16384);  // the read above reopened the window: an update
  f.nothing_sent();
  const std::uint32_t gap = f.peer_next;
  f.peer_next += kTcpDefaultMss;
  f.queue(flag::kAck, testing::pattern(kTcpDefaultMss));
  const std::uint32_t after_gap = f.peer_next;
  f.peer_next = gap;
  f.queue(flag::kAck, testing::pattern(kTcpDefaultMss));
  f.peer_next = after_gap;
  f.run();
  CHECK(f.segment().tcp->acknowledgement == gap);  // the duplicate ACK, with the hole's SACK block
  CHECK(f.segment().tcp->acknowledgement == after_gap);
  f.nothing_sent();
  for (int i = 0; i < 6; ++i) f.queue(flag::kAck, testing::pattern(kTcpDefaultMss));
  f.run();
  for (int i = 1; i <= 3; ++i) CHECK(f.segment().tcp->acknowledgement == after_gap + 2 * i * kTcpDefaultMss);
  f.nothing_sent();
  auto drain_more = f.tcp().read(s, all);
  REQUIRE(f.poll(drain_more).is_ready());
}

TEST_CASE("passive close: FIN is acknowledged, the read ends, close sends our FIN, its ACK ends it") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send(flag::kAck | flag::kFin);
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::CloseWait);
  CHECK(f.read_all(s).empty());  // end of stream

  // Half-close: we may still send.
  f.write_all(s, testing::text("bye"));
  CHECK(as_string(f.segment().payload) == "bye");
  f.send(flag::kAck);

  f.tcp().close(s);
  f.run();
  const Sent fin = f.segment();
  CHECK(fin.tcp->flags == (flag::kAck | flag::kFin));
  CHECK(f.tcp().count_in(TcpState::LastAck) == 1);
  f.send(flag::kAck);
  CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
  CHECK(f.tcp().state(s) == std::nullopt);  // the handle is gone with close()
}

TEST_CASE("active close: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2 MSL, then closed") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  REQUIRE_FALSE(f.tcp().shutdown(s).has_value());
  f.run();
  const Sent fin = f.segment();
  CHECK(fin.tcp->flags == (flag::kAck | flag::kFin));
  CHECK(f.tcp().state(s) == TcpState::FinWait1);
  f.send(flag::kAck);
  CHECK(f.tcp().state(s) == TcpState::FinWait2);
  // Still reading: the peer's last data, then its FIN.
  f.send(flag::kAck | flag::kPsh, testing::text("last words"));
  f.send(flag::kAck | flag::kFin);  // a FIN is acknowledged at once, the data before it with it
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::TimeWait);
  CHECK(f.read_all(s) == "last words");
  CHECK(f.read_all(s).empty());

  // A retransmitted FIN in TIME-WAIT (our last ACK was lost) is acknowledged again and restarts
  // the wait.
  f.d.advance(std::chrono::seconds(10));
  f.run();
  f.send_raw(f.header(flag::kAck | flag::kFin, f.peer_next - 1, f.our_next));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  f.d.advance(kTcpTimeWait - Duration{1});
  f.run();
  CHECK(f.tcp().state(s) == TcpState::TimeWait);
  CHECK(f.d.deadline == f.d.now + Duration{1});
  f.d.advance(Duration{1});
  f.run();
  CHECK(f.tcp().state(s) == TcpState::Done);
  f.tcp().close(s);
  CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
  f.nothing_sent();
}

// RFC 9293's diagram draws FIN-WAIT-1 -> TIME-WAIT for this; its segment processing (and Linux)
// take the ACK first (FIN-WAIT-2), then the FIN (TIME-WAIT): two transitions in one segment.
TEST_CASE("active close, the peer's FIN acknowledging ours: FIN-WAIT-2, then TIME-WAIT, in one segment") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  REQUIRE_FALSE(f.tcp().shutdown(s).has_value());
  f.run();
  REQUIRE(f.segment().tcp->has(flag::kFin));
  f.send(flag::kAck | flag::kFin);  // acknowledges our FIN (our_next counts it) and brings its own
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::TimeWait);
}

// A RST at RCV.NXT ends a connection in any synchronized state (RFC 9293 §3.10.7.4, with RFC 5961's
// exact-match check); the connection slot is free once the application closed it.
TEST_CASE("a RST ends SYN-RECEIVED, CLOSE-WAIT and CLOSING alike") {
  SUBCASE("SYN-RECEIVED: the handshake in progress is dropped, the listener keeps listening") {
    TcpFixture f;
    REQUIRE(f.tcp().listen(kPort).ok());
    f.send(flag::kSyn);
    REQUIRE(f.segment().tcp->flags == (flag::kSyn | flag::kAck));
    REQUIRE(f.tcp().count_in(TcpState::SynReceived) == 1);
    f.send(flag::kRst);
    f.nothing_sent();
    CHECK(f.tcp().count_in(TcpState::SynReceived) == 0);
    CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
    CHECK(f.tcp().counters().resets_received == 1);
  }
  SUBCASE("CLOSE-WAIT: the peer's FIN, then its RST") {
    TcpFixture f;
    const TcpSocket s = f.open_passive();
    f.send(flag::kAck | flag::kFin);
    f.segment();
    REQUIRE(f.tcp().state(s) == TcpState::CloseWait);
    f.send_raw(f.header(flag::kRst, f.peer_next, 0));
    CHECK(f.tcp().state(s) == TcpState::Done);
    std::array<std::byte, 8> buffer{};
    auto w = f.tcp().write(s, buffer);
    auto wrote = f.poll(w);
    REQUIRE(wrote.is_ready());
    CHECK(wrote.value().error() == ConnectionError::kReset);
  }
  SUBCASE("CLOSING: FINs crossed, then a RST instead of the last ACK") {
    TcpFixture f;
    const TcpSocket s = f.open_passive();
    REQUIRE_FALSE(f.tcp().shutdown(s).has_value());
    f.run();
    const Sent fin = f.segment();
    f.send_raw(f.header(flag::kAck | flag::kFin, f.peer_next, fin.tcp->sequence));
    f.peer_next += 1;
    REQUIRE(f.tcp().state(s) == TcpState::Closing);
    f.segment();
    f.send_raw(f.header(flag::kRst, f.peer_next, 0));
    CHECK(f.tcp().state(s) == TcpState::Done);
  }
}

TEST_CASE("connect fails at once for an IPv6 address and for a full table; a SYN that cannot go fails it") {
  SUBCASE("an IPv6 address: TCP over IPv6 is not here yet") {
    TcpFixture f;
    auto connect = f.tcp().connect({wire::IpAddress(wire::Ipv6Address{}), 7});
    auto done = f.poll(connect);
    REQUIRE(done.is_ready());
    CHECK(done.value().error() == ConnectionError::kAddressFamily);
  }
  SUBCASE("every connection slot taken") {
    TcpFixture f;
    std::array<std::optional<TcpFixture::Layer::Connect>, kTcpConnections> taken;
    for (std::size_t i = 0; i < kTcpConnections; ++i) {
      taken[i].emplace(f.tcp().connect({kPeer.ip, static_cast<std::uint16_t>(1000 + i)}));
      CHECK(f.poll(*taken[i]).is_pending());
    }
    while (f.channel.take_sent()) {
    }
    auto one_more = f.tcp().connect({kPeer.ip, 7});
    auto done = f.poll(one_more);
    REQUIRE(done.is_ready());
    CHECK(done.value().error() == ConnectionError::kTableFull);
  }
  SUBCASE("the device's link down: the SYN is not sent") {
    TcpFixture f;
    f.channel.set_link_down();
    auto connect = f.tcp().connect({kPeer.ip, 7});
    auto done = f.d.poll(connect);  // not f.poll(): the interface task ends with the link
    REQUIRE(done.is_ready());
    CHECK(done.value().error() == ConnectionError::kLinkDown);
    CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
  }
}

TEST_CASE("the peer's SYN again in SYN-RECEIVED: our SYN-ACK was lost, it goes again") {
  TcpFixture f;
  REQUIRE(f.tcp().listen(kPort).ok());
  f.send(flag::kSyn);
  const Sent first = f.segment();
  f.send_raw(f.header(flag::kSyn, kPeerIsn, 0));
  const Sent again = f.segment();
  CHECK(again.tcp->flags == (flag::kSyn | flag::kAck));
  CHECK(again.tcp->sequence == first.tcp->sequence);
  CHECK(again.tcp->acknowledgement == kPeerIsn + 1);
  CHECK(f.tcp().counters().challenge_acks == 0);
}

TEST_CASE("a closed connection that receives new data resets the peer (RFC 2525 2.17)") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.tcp().close(s);
  f.run();
  REQUIRE(f.segment().tcp->has(flag::kFin));
  CHECK(f.tcp().count_in(TcpState::FinWait1) == 1);
  f.send(flag::kAck | flag::kPsh, testing::text("nobody reads this"));
  const Sent rst = f.segment();
  CHECK(rst.tcp->flags == flag::kRst);
  CHECK(f.tcp().counters().dropped[TcpDrop::kDataAfterClose] == 1);
  CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
}

TEST_CASE("with our window closed, a segment at RCV.NXT still brings its ACK and a bare FIN") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  // Fill our receive buffer: the window goes to zero.
  const Bytes chunk = testing::pattern(1460);
  std::size_t sent = 0;
  while (sent < kTcpReceiveBufferBytes) {
    const std::size_t n = std::min<std::size_t>(chunk.size(), kTcpReceiveBufferBytes - sent);
    f.send(flag::kAck, Bytes(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n)));
    sent += n;
    while (f.channel.take_sent()) {  // an ACK every second segment
    }
  }
  f.write_all(s, testing::text("ours"));
  const Sent ours = f.segment();
  CHECK(ours.tcp->window == 0);
  // One more byte at RCV.NXT: not taken, but its ACK of "ours" is.
  f.send_raw(f.header(flag::kAck, f.peer_next, f.our_next), testing::text("x"));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().counters().dropped[TcpDrop::kWindowFull] == 1);
  // A bare FIN at RCV.NXT is taken into the zero window.
  f.send(flag::kAck | flag::kFin);
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::CloseWait);
}

TEST_CASE("a peer that stops answering zero-window probes is given up") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send(flag::kAck, {}, 0);
  f.write_all(s, testing::text("never"));
  for (int i = 0; i < 4000 && f.tcp().state(s) != TcpState::Done; ++i) {
    f.d.advance(std::chrono::seconds(1));
    f.run();
    while (f.channel.take_sent()) {
    }
  }
  CHECK(f.tcp().state(s) == TcpState::Done);
  CHECK(f.tcp().counters().zero_window_probes == kTcpDataRetries);
  CHECK(f.tcp().counters().timeouts == 1);
}

TEST_CASE("simultaneous close: FIN-WAIT-1, CLOSING, TIME-WAIT") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  REQUIRE_FALSE(f.tcp().shutdown(s).has_value());
  f.run();
  const Sent fin = f.segment();
  REQUIRE(fin.tcp->has(flag::kFin));
  // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
  f.send_raw(f.header(flag::kAck | flag::kFin, f.peer_next, fin.tcp->sequence));
  f.peer_next += 1;
  CHECK(f.tcp().state(s) == TcpState::Closing);
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  f.send(flag::kAck);
  CHECK(f.tcp().state(s) == TcpState::TimeWait);
}

TEST_CASE("active open: SYN with our MSS, SYN-ACK, ACK; connect completes") {
  TcpFixture f;
  auto connect = f.tcp().connect({kPeer.ip, 7});
  CHECK(f.poll(connect).is_pending());
  const Sent syn = f.sent();
  REQUIRE(syn.tcp.has_value());
  CHECK(syn.tcp->flags == flag::kSyn);
  CHECK(syn.tcp->destination_port == 7);
  CHECK(syn.tcp->source_port >= kEphemeralPortFirst);
  CHECK(syn.tcp->options.mss == 1460);
  f.peer_port = 7;
  f.our_port = syn.tcp->source_port;
  f.our_next = syn.tcp->sequence + 1;
  f.send(flag::kSyn | flag::kAck);
  const Sent ack = f.segment();
  CHECK(ack.tcp->flags == flag::kAck);
  CHECK(ack.tcp->sequence == syn.tcp->sequence + 1);
  CHECK(ack.tcp->acknowledgement == kPeerIsn + 1);
  auto done = f.poll(connect);
  REQUIRE(done.is_ready());
  REQUIRE(done.value().ok());
  CHECK(f.tcp().state(done.value().value()) == TcpState::Established);
  CHECK(f.tcp().counters().active_opens == 1);
}

TEST_CASE("simultaneous open: SYN crosses SYN; SYN-RECEIVED; both ACKs complete it") {
  TcpFixture f;
  auto connect = f.tcp().connect({kPeer.ip, 7});
  CHECK(f.poll(connect).is_pending());
  const Sent syn = f.sent();
  f.peer_port = 7;
  f.our_port = syn.tcp->source_port;
  f.send(flag::kSyn);  // the peer's own SYN, no ACK
  const Sent syn_ack = f.segment();
  CHECK(syn_ack.tcp->flags == (flag::kSyn | flag::kAck));
  CHECK(syn_ack.tcp->sequence == syn.tcp->sequence);
  CHECK(syn_ack.tcp->acknowledgement == kPeerIsn + 1);
  CHECK(f.poll(connect).is_pending());
  f.send_raw(f.header(flag::kSyn | flag::kAck, kPeerIsn, syn.tcp->sequence + 1));
  // Our state is SYN-RECEIVED: a SYN-ACK there is a SYN in a synchronized state... it acknowledges
  // our SYN, which is what completes the handshake on Linux too; here it is answered as RFC 5961.
  auto done = f.poll(connect);
  CHECK(done.is_pending());
  f.our_next = syn.tcp->sequence + 1;
  f.send(flag::kAck);
  done = f.poll(connect);
  REQUIRE(done.is_ready());
  REQUIRE(done.value().ok());
}

TEST_CASE("a SYN to a closed port gets RST-ACK; an ACK gets RST at its number; a RST gets nothing") {
  TcpFixture f;
  f.our_port = 81;
  f.send_raw(f.header(flag::kSyn, 5000, 0));
  Sent rst = f.segment();
  CHECK(rst.tcp->flags == (flag::kRst | flag::kAck));
  CHECK(rst.tcp->sequence == 0);
  CHECK(rst.tcp->acknowledgement == 5001);
  f.send_raw(f.header(flag::kAck, 5001, 777));
  rst = f.segment();
  CHECK(rst.tcp->flags == flag::kRst);
  CHECK(rst.tcp->sequence == 777);
  f.send_raw(f.header(flag::kRst, 5001, 0));
  f.nothing_sent();
  CHECK(f.tcp().counters().dropped[TcpDrop::kNoConnection] == 3);
  CHECK(f.tcp().counters().resets_sent == 2);
  // Never to a broadcast.
  f.receive(kPeer.tcp(wire::MacAddress::broadcast(), kOurIp, f.header(flag::kSyn, 5000, 0)));
  f.nothing_sent();
}

TEST_CASE("connect to a closed port: the RST refuses it") {
  TcpFixture f;
  auto connect = f.tcp().connect({kPeer.ip, 9});
  CHECK(f.poll(connect).is_pending());
  const Sent syn = f.sent();
  f.peer_port = 9;
  f.our_port = syn.tcp->source_port;
  // A RST without an acceptable ACK is ignored (RFC 9293 §3.10.7.3)...
  f.send_raw(f.header(flag::kRst | flag::kAck, 0, syn.tcp->sequence + 7));
  CHECK(f.poll(connect).is_pending());
  // ...as Linux answers: RST-ACK acknowledging the SYN.
  f.send_raw(f.header(flag::kRst | flag::kAck, 0, syn.tcp->sequence + 1));
  auto done = f.poll(connect);
  REQUIRE(done.is_ready());
  CHECK(done.value().error() == ConnectionError::kRefused);
  CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
}

TEST_CASE("a RST at RCV.NXT resets the connection; one elsewhere in the window gets a challenge ACK") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send_raw(f.header(flag::kRst, f.peer_next + 100, 0));
  const Sent challenge = f.segment();
  CHECK(challenge.tcp->flags == flag::kAck);
  CHECK(challenge.tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::Established);
  CHECK(f.tcp().counters().challenge_acks == 1);
  // A SYN on an open connection: challenged too (RFC 5961 §4).
  f.send_raw(f.header(flag::kSyn, f.peer_next + 5, 0));
  CHECK(f.segment().tcp->flags == flag::kAck);
  CHECK(f.tcp().state(s) == TcpState::Established);

  std::array<std::byte, 16> buffer{};
  auto r = f.tcp().read(s, buffer);
  CHECK(f.poll(r).is_pending());
  f.send_raw(f.header(flag::kRst, f.peer_next, 0));
  f.nothing_sent();
  auto got = f.poll(r);
  REQUIRE(got.is_ready());
  CHECK(got.value().error() == ConnectionError::kReset);
  CHECK(f.tcp().state(s) == TcpState::Done);
}

TEST_CASE("a segment outside the window is answered with an ACK and dropped") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send_raw(f.header(flag::kAck, f.peer_next + 70000, f.our_next), testing::text("far"));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().counters().dropped[TcpDrop::kOutOfWindow] == 1);
  // An ACK of something never sent: an ACK back.
  f.send_raw(f.header(flag::kAck, f.peer_next, f.our_next + 5000));
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.tcp().state(s) == TcpState::Established);
}

TEST_CASE("segments after a gap are kept, each answered with a duplicate ACK, and delivered once it is filled") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  const std::uint32_t base = f.peer_next;
  // "0123456789" in five pieces, arriving 3, 1, 4 (again), 2... as a lossy path would deliver them.
  const auto piece = [&](std::uint32_t at, const char* text) {
    f.send_raw(f.header(flag::kAck, base + at, f.our_next), testing::text(text));
    return f.segment().tcp->acknowledgement - base;
  };
  CHECK(piece(6, "67") == 0);    // a gap before it: kept, duplicate ACK
  CHECK(piece(2, "23") == 0);    // another range
  CHECK(piece(8, "89") == 0);    // touches the first: merged
  CHECK(piece(6, "67") == 0);    // again: nothing new
  CHECK(f.tcp().counters().out_of_order_kept == 4);
  std::array<std::byte, 16> buffer{};
  auto r = f.tcp().read(s, buffer);
  CHECK(f.poll(r).is_pending());  // nothing in order yet
  CHECK(piece(0, "01") == 4);     // fills the first gap: up to the next one
  CHECK(piece(4, "45") == 10);    // fills the last: everything
  auto got = f.poll(r);
  REQUIRE(got.is_ready());
  CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), got.value().value()) == "0123456789");
}

TEST_CASE("out-of-order ranges are bounded: one more than kTcpOutOfOrderRanges is dropped") {
  TcpFixture f;
  f.open_passive();
  const std::uint32_t base = f.peer_next;
  for (std::uint32_t i = 0; i <= kTcpOutOfOrderRanges; ++i) {
    f.send_raw(f.header(flag::kAck, base + 10 + 10 * i, f.our_next), testing::text("x"));
    CHECK(f.segment().tcp->acknowledgement == base);
  }
  CHECK(f.tcp().counters().out_of_order_kept == kTcpOutOfOrderRanges);
  CHECK(f.tcp().counters().dropped[TcpDrop::kOutOfOrder] == 1);
}

TEST_CASE("retransmission: the segment again after the RTO, which doubles; an ACK stops it") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.write_all(s, testing::text("are you there?"));
  const Sent first = f.segment();
  f.d.advance(kTcpInitialRto - Duration{1});
  f.run();
  f.nothing_sent();
  f.d.advance(Duration{1});
  f.run();
  const Sent again = f.segment();
  CHECK(again.tcp->sequence == first.tcp->sequence);
  CHECK(again.payload == first.payload);
  CHECK(f.tcp().counters().retransmissions == 1);
  CHECK(f.d.deadline == f.d.now + 2 * kTcpInitialRto);  // backed off
  f.send(flag::kAck);
  f.d.advance(10 * kTcpInitialRto);
  f.run();
  f.nothing_sent();
}

TEST_CASE("after a timeout goes back to resend, a bare ACK is still numbered past all we sent") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.write_all(s, testing::pattern(3 * kTcpDefaultMss));  // the peer sent no MSS option
  const Sent first = f.segment();
  f.segment();
  f.segment();
  f.d.advance(kTcpInitialRto);
  f.run();
  CHECK(f.segment().tcp->sequence == first.tcp->sequence);  // one segment: the window is 1 MSS again
  f.nothing_sent();
  // Data from the peer that acknowledges none of ours: our ACK is numbered at SND.MAX, not where
  // the retransmission went back to, since the peer may hold it all (and would reject a lower one).
  f.send_raw(f.header(flag::kAck | flag::kPsh, f.peer_next, first.tcp->sequence), testing::text("?"));
  f.d.advance(kTcpDelayedAck);
  f.run();
  const Sent ack = f.segment();
  CHECK(ack.payload.empty());
  CHECK(ack.tcp->sequence == first.tcp->sequence + 3 * kTcpDefaultMss);
}

TEST_CASE("three duplicate ACKs: fast retransmit; a partial ACK resends the next hole; a full ACK ends it") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  constexpr std::uint32_t kSeg = kTcpDefaultMss;
  f.write_all(s, testing::pattern(6 * kSeg));
  const std::uint32_t base = f.segment().tcp->sequence;
  for (int i = 1; i < 6; ++i) f.segment();
  const auto ack = [&](std::uint32_t acked) { f.send_raw(f.header(flag::kAck, f.peer_next, base + acked)); };
  ack(kSeg);  // the first arrived; the second was lost, the others arrive and are duplicated
  ack(kSeg);
  ack(kSeg);
  f.nothing_sent();  // two duplicates are not yet a loss (reordering)
  ack(kSeg);
  const Sent resent = f.segment();
  CHECK(resent.tcp->sequence == base + kSeg);
  CHECK(resent.payload.size() == kSeg);
  CHECK(f.tcp().counters().fast_retransmits == 1);
  CHECK(f.tcp().counters().retransmissions == 0);  // no timeout was needed
  ack(kSeg);  // more duplicates inflate the window; nothing new to send
  f.nothing_sent();
  ack(3 * kSeg);  // partial: the fourth was lost too
  const Sent hole = f.segment();
  CHECK(hole.tcp->sequence == base + 3 * kSeg);
  ack(6 * kSeg);  // all of it: the recovery ends
  f.nothing_sent();
  CHECK(f.tcp().counters().fast_retransmits == 1);
  CHECK(f.tcp().info(s)->snd_una == base + 6 * kSeg);
}

// An ICMP destination unreachable from the peer, quoting the IP header and the first 8 bytes of
// a segment we sent (ports and sequence number).
Bytes icmp_about(const Sent& ours, std::uint8_t code) {
  Bytes quote(kIcmpQuoteBytes);
  wire::Ipv4Repr ip = *ours.ip;
  ip.payload_length = 8;
  wire::emit_ipv4(ip, quote);
  wire::write_u16(quote, 20, ours.tcp->source_port);
  wire::write_u16(quote, 22, ours.tcp->destination_port);
  wire::write_u32(quote, 24, ours.tcp->sequence);
  return kPeer.icmp(kOurMac, kOurIp, {wire::icmp_type::kDestinationUnreachable, code, 0, 0}, quote);
}

TEST_CASE("ICMP errors: during the SYN they end the attempt; later they are soft, told only on a timeout") {
  {
    TcpFixture f;
    auto connect = f.tcp().connect({kPeer.ip, 7});
    CHECK(f.poll(connect).is_pending());
    const Sent syn = f.sent();
    f.receive(icmp_about(syn, wire::icmp_unreachable_code::kPortUnreachable));
    auto done = f.poll(connect);
    REQUIRE(done.is_ready());
    CHECK(done.value().error() == ConnectionError::kRefused);  // ECONNREFUSED, as Linux
    CHECK(f.tcp().counters().errors_reported == 1);
  }
  {
    TcpFixture f;
    const TcpSocket s = f.open_passive();
    f.tcp().set_user_timeout(s, std::chrono::seconds(2));
    f.write_all(s, testing::text("x"));
    const Sent data = f.segment();
    // A forged error quoting a number we never sent is not believed (RFC 5927).
    Sent forged = data;
    forged.tcp->sequence += 100000;
    f.receive(icmp_about(forged, 1));
    CHECK(f.tcp().counters().errors_unclaimed == 1);
    f.receive(icmp_about(data, 1));  // host unreachable: soft
    CHECK(f.tcp().state(s) == TcpState::Established);
    for (int i = 0; i < 5 && f.tcp().state(s) == TcpState::Established; ++i) {
      f.d.advance(std::chrono::seconds(1));
      f.run();
      while (f.channel.take_sent()) {
      }
    }
    std::array<std::byte, 4> buffer{};
    auto r = f.tcp().read(s, buffer);
    CHECK(f.poll(r).value().error() == ConnectionError::kHostUnreachable);  // the soft error, on the timeout
  }
}

TEST_CASE("a fast retransmit resends only what was sent, not what Nagle holds back") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.write_all(s, testing::text("first"));  // all there is, nothing in flight: sent
  const Sent first = f.segment();
  f.write_all(s, testing::text("second"));  // short, with "first" in flight: Nagle holds it
  f.nothing_sent();
  for (int i = 0; i < 3; ++i) f.send_raw(f.header(flag::kAck, f.peer_next, first.tcp->sequence));
  const Sent resent = f.segment();
  CHECK(resent.tcp->sequence == first.tcp->sequence);
  CHECK(as_string(resent.payload) == "first");
  // Its ACK is accepted (it is not above what was sent), and "second" follows.
  f.send_raw(f.header(flag::kAck, f.peer_next, first.tcp->sequence + 5));
  CHECK(as_string(f.segment().payload) == "second");
  CHECK(f.tcp().counters().dropped[TcpDrop::kBadAck] == 0);
}

TEST_CASE("a connect to a silent peer times out after the SYN retries") {
  TcpFixture f;
  auto connect = f.tcp().connect({kPeer.ip, 7});
  CHECK(f.poll(connect).is_pending());
  f.sent();
  std::uint32_t syns = 1;
  auto done = f.poll(connect);
  for (int i = 0; i < 200 && done.is_pending(); ++i) {
    f.d.advance(std::chrono::seconds(1));
    f.run();
    while (std::optional<Bytes> frame = f.channel.take_sent()) {
      if (Sent::decode(*frame).tcp.has_value()) ++syns;  // (ARP asks for the peer again after a minute)
    }
    done = f.poll(connect);
  }
  REQUIRE(done.is_ready());
  CHECK(done.value().error() == ConnectionError::kTimedOut);
  CHECK(f.tcp().counters().retransmissions == kTcpSynRetries);
  // The SYNs at 0, 1, 3, 7, 15 and 31 s went out; the one at 63 s found the neighbour entry
  // expired (a minute, and this peer does not answer ARP): each try is counted, none is sent.
  CHECK(syns == 6);
  CHECK(f.tcp().counters().send_errors[SendError::kNeighbourUnresolved] >= 1);
  CHECK(f.tcp().counters().timeouts == 1);
}

TEST_CASE("backpressure: a write larger than the send buffer waits for the peer's ACKs") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  const Bytes data = testing::pattern(3 * kTcpSendBufferBytes);
  auto w = f.tcp().write(s, data);
  auto written = f.poll(w);
  CHECK(written.is_pending());
  Bytes received;
  for (int round = 0; round < 100 && received.size() < data.size(); ++round) {
    while (std::optional<Bytes> frame = f.channel.take_sent()) {
      const Sent seg = Sent::decode(*frame);
      REQUIRE(seg.tcp.has_value());
      CHECK(seg.tcp->sequence == f.our_next);
      received.insert(received.end(), seg.payload.begin(), seg.payload.end());
      f.our_next += static_cast<std::uint32_t>(seg.payload.size());
    }
    f.send(flag::kAck);
    if (written.is_pending()) written = f.poll(w);
  }
  REQUIRE(written.is_ready());
  CHECK(written.value().value() == data.size());
  CHECK(received == data);
  CHECK(f.tcp().counters().write_pending > 0);
}

TEST_CASE("a zero window stops sending; the persist timer probes until it opens") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.send(flag::kAck, {}, 0);  // the peer closes its window
  f.write_all(s, testing::text("wait for it"));
  f.nothing_sent();
  f.d.advance(kTcpInitialRto);
  f.run();
  const Sent probe = f.segment();
  CHECK(probe.payload.empty());
  CHECK(probe.tcp->sequence == f.our_next - 1);  // an old number: the peer must answer it
  CHECK(f.tcp().counters().zero_window_probes == 1);
  f.send(flag::kAck, {}, 1000);  // the window opens
  CHECK(as_string(f.segment().payload) == "wait for it");
}

TEST_CASE("keep-alive: probes after the idle time, answered ones start it over, unanswered ones end it") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.tcp().set_keepalive(s, Layer::KeepAlive{std::chrono::seconds(10), std::chrono::seconds(1), 3});
  f.d.advance(std::chrono::seconds(10) - Duration{1});
  f.run();
  f.nothing_sent();
  f.d.advance(Duration{1});
  f.run();
  const Sent probe = f.segment();
  CHECK(probe.payload.empty());
  CHECK(probe.tcp->sequence == f.our_next - 1);  // an old number: the peer must answer
  f.send(flag::kAck);  // it does: the idle time starts over
  f.d.advance(std::chrono::seconds(5));
  f.run();
  f.nothing_sent();
  // Now it goes quiet: a probe at 10 s, then one a second, three in all, then the end.
  int probes = 0;
  for (int i = 0; i < 30 && f.tcp().state(s) == TcpState::Established; ++i) {
    f.d.advance(std::chrono::seconds(1));
    f.run();
    while (f.channel.take_sent()) ++probes;
  }
  CHECK(probes == 3);
  CHECK(f.tcp().state(s) == TcpState::Done);
  CHECK(f.tcp().counters().keepalive_probes == 4);
  std::array<std::byte, 4> buffer{};
  auto r = f.tcp().read(s, buffer);
  CHECK(f.poll(r).value().error() == ConnectionError::kTimedOut);
}

TEST_CASE("the user timeout ends a connection whose data stays unacknowledged that long") {
  TcpFixture f;
  const TcpSocket s = f.open_passive();
  f.tcp().set_user_timeout(s, std::chrono::seconds(3));
  f.write_all(s, testing::text("anyone?"));
  f.segment();
  for (int i = 0; i < 10 && f.tcp().state(s) == TcpState::Established; ++i) {
    f.d.advance(std::chrono::seconds(1));
    f.run();
    while (f.channel.take_sent()) {
    }
  }
  CHECK(f.tcp().state(s) == TcpState::Done);
  CHECK(f.tcp().counters().retransmissions == 1);  // at 1 s; the next timeout, at 3 s, is the end
  CHECK(f.tcp().counters().timeouts == 1);
}

TEST_CASE("the backlog bounds connections not yet accepted; SYNs beyond it are ignored") {
  TcpFixture f;
  REQUIRE(f.tcp().listen(kPort).ok());
  for (std::size_t i = 0; i < kTcpBacklog; ++i) {
    f.peer_port = static_cast<std::uint16_t>(kPeerPort + i);
    f.send_raw(f.header(flag::kSyn, kPeerIsn, 0));
    CHECK(f.segment().tcp->flags == (flag::kSyn | flag::kAck));
  }
  f.peer_port = kPeerPort + 100;
  f.send_raw(f.header(flag::kSyn, kPeerIsn, 0));
  f.nothing_sent();
  CHECK(f.tcp().counters().dropped[TcpDrop::kBacklogFull] == 1);
}

TEST_CASE("initial sequence numbers: a keyed hash of the 4-tuple, moving with a 4 us clock (RFC 6528)") {
  // SipHash-2-4's reference vector (key 00..0f, message 00..0e).
  std::array<std::uint8_t, 15> message{};
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i);
  CHECK(siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, message) == 0xa129ca6149be45e5ULL);
  CHECK(siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, {}) == 0x726fdb47dd0e0e31ULL);
  IsnGenerator isn;
  const Instant t0{};
  const std::uint32_t a = isn.isn(kOurIp, 80, kPeer.ip, 40000, t0);
  CHECK(isn.isn(kOurIp, 80, kPeer.ip, 40000, t0 + Duration{400}) == a + 100);
  CHECK(isn.isn(kOurIp, 80, kPeer.ip, 40001, t0) != a);
  isn.set_secret(1, 2);
  CHECK(isn.isn(kOurIp, 80, kPeer.ip, 40000, t0) != a);
}

// ---- RFC 7323: window scaling and timestamps -------------------------------------------------

/// A SYN as Linux sends it: MSS 1460, SACK permitted, timestamps, window scale 7.
wire::TcpRepr linux_syn(TcpFixture& f, std::uint32_t tsval) {
  wire::TcpRepr syn = f.header(flag::kSyn, kPeerIsn, 0, 64240);
  syn.options.has_mss = true;
  syn.options.mss = 1460;
  syn.options.sack_permitted = true;
  syn.options.has_timestamps = true;
  syn.options.timestamp_value = tsval;
  syn.options.has_window_scale = true;
  syn.options.window_shift = 7;
  return syn;
}

/// Passive open from linux_syn(), the handshake's ACK carrying a timestamp: the accepted socket.
TcpSocket open_with_options(TcpFixture& f, std::uint32_t tsval, std::uint16_t ack_window = 502) {
  REQUIRE(f.tcp().listen(kPort).ok());
  auto accept = f.tcp().accept(TcpListener{0, 0});
  CHECK(f.poll(accept).is_pending());
  f.send_raw(linux_syn(f, tsval));
  f.peer_next = kPeerIsn + 1;
  const Sent syn_ack = f.segment();
  CHECK(syn_ack.tcp->flags == (flag::kSyn | flag::kAck));
  f.peer_timestamp = tsval + 1;
  f.send(flag::kAck, {}, ack_window);
  auto accepted = f.poll(accept);
  REQUIRE(accepted.is_ready());
  REQUIRE(accepted.value().ok());
  return accepted.value().value();
}

TEST_CASE("RFC 7323: a Linux SYN gets timestamps and window scale back; windows scale; data leaves room for the option") {
  TcpFixture f;
  REQUIRE(f.tcp().listen(kPort).ok());
  auto accept = f.tcp().accept(TcpListener{0, 0});
  CHECK(f.poll(accept).is_pending());
  f.send_raw(linux_syn(f, 5000));
  f.peer_next = kPeerIsn + 1;
  const Sent syn_ack = f.segment();
  const wire::TcpOptions& o = syn_ack.tcp->options;
  CHECK(o.has_mss);
  CHECK(o.mss == 1460);
  CHECK(o.has_timestamps);
  CHECK(o.timestamp_echo == 5000);
  CHECK(o.has_window_scale);
  CHECK(o.window_shift == 0);  // 16 KiB fits the field: 0, offered so that the peer may scale its own
  CHECK(o.sack_permitted);  // RFC 2018: in the timestamps' NOPs, as Linux lays it out
  CHECK(syn_ack.tcp->window == 16384);  // a SYN's window is never scaled

  f.peer_timestamp = 5001;
  f.send(flag::kAck, {}, 502);  // 502 << 7 = 64256 bytes
  auto accepted = f.poll(accept);
  REQUIRE(accepted.is_ready());
  const TcpSocket s = accepted.value().value();
  const auto info = f.tcp().info(s);
  REQUIRE(info.has_value());
  CHECK(info->window_scaling);
  CHECK(info->timestamps);
  CHECK(info->snd_wscale == 7);
  CHECK(info->rcv_wscale == 0);
  CHECK(info->snd_wnd == 64256);
  CHECK(info->mss == 1448);  // 1460 less the 12 bytes of timestamps on every segment

  // Data: 1448 bytes a segment, so each frame is exactly the 1500-byte MTU; every segment carries
  // our clock and echoes the peer's latest timestamp.
  f.write_all(s, testing::pattern(3000));
  const Sent first = f.segment();
  CHECK(first.payload.size() == 1448);
  CHECK(first.ip->payload_length == 1480);  // 20 + 12 + 1448, in a 1500-byte IP packet
  CHECK(first.tcp->options.has_timestamps);
  CHECK(first.tcp->options.timestamp_echo == 5001);
  CHECK_FALSE(first.tcp->options.has_window_scale);  // only on SYNs
  const Sent second = f.segment();
  CHECK(second.payload.size() == 1448);
  CHECK(second.tcp->options.timestamp_value - syn_ack.tcp->options.timestamp_value < 2);  // no time passed
  f.d.advance(std::chrono::milliseconds(100));
  f.peer_timestamp = 5101;
  f.send(flag::kAck, {}, 502);
  const Sent third = f.segment();
  CHECK(third.payload.size() == 104);
  // 100 ms on a clock of 1.024 ms ticks.
  CHECK(third.tcp->options.timestamp_value - syn_ack.tcp->options.timestamp_value >= 97);
  CHECK(third.tcp->options.timestamp_value - syn_ack.tcp->options.timestamp_value <= 98);
  CHECK(third.tcp->options.timestamp_echo == 5101);
}

TEST_CASE("RFC 7323 PAWS: an older timestamp is dropped and answered; only segments up to Last.ACK.sent move TS.Recent") {
  TcpFixture f;
  const TcpSocket s = open_with_options(f, 7000);
  f.peer_timestamp = 7100;
  f.send(flag::kAck | flag::kPsh, testing::text("abc"));
  f.d.advance(kTcpDelayedAck);
  f.run();
  CHECK(f.segment().tcp->options.timestamp_echo == 7100);

  // A segment whose timestamp is older than TS.Recent: an old duplicate, whatever its numbers say.
  f.peer_timestamp = 7050;
  f.send(flag::kAck | flag::kPsh, testing::text("def"));
  f.peer_next -= 3;  // it was not taken
  const Sent answer = f.segment();
  CHECK(answer.payload.empty());
  CHECK(answer.tcp->acknowledgement == f.peer_next);
  CHECK(answer.tcp->options.timestamp_echo == 7100);
  CHECK(f.tcp().counters().dropped[TcpDrop::kPaws] == 1);
  CHECK(f.read_all(s) == "abc");

  // A segment past a gap (above Last.ACK.sent) is kept, but its timestamp is not echoed: the echo
  // stays with the earliest unacknowledged segment.
  f.peer_timestamp = 7300;
  f.peer_next += 3;
  f.send(flag::kAck | flag::kPsh, testing::text("ghi"));
  const Sent dup = f.segment();
  CHECK(dup.tcp->acknowledgement == f.peer_next - 6);
  CHECK(dup.tcp->options.timestamp_echo == 7100);
  f.peer_next -= 6;
  f.peer_timestamp = 7200;
  f.send(flag::kAck | flag::kPsh, testing::text("def"));  // fills the gap
  const Sent filled = f.segment();
  CHECK(filled.tcp->acknowledgement == f.peer_next + 3);
  CHECK(filled.tcp->options.timestamp_echo == 7200);
  CHECK(f.read_all(s) == "defghi");
  CHECK(f.tcp().counters().dropped[TcpDrop::kPaws] == 1);
  // One tick older is tolerated (Linux's TCP_PAWS_WINDOW): reordered behind a segment sent a
  // moment later, not an old duplicate.
  f.peer_timestamp = 7199;
  f.peer_next += 3;  // past "ghi", which came before the gap was filled
  f.send(flag::kAck | flag::kPsh, testing::text("jkl"));
  f.d.advance(kTcpDelayedAck);
  f.run();
  CHECK(f.segment().tcp->acknowledgement == f.peer_next);
  CHECK(f.read_all(s) == "jkl");
  CHECK(f.tcp().counters().dropped[TcpDrop::kPaws] == 1);
}

TEST_CASE("RFC 7323: after a retransmission, the round trip comes from the timestamp echo of the resend") {
  TcpFixture f;
  const TcpSocket s = open_with_options(f, 100);
  // The peer got the first transmission but its ACK was lost: its ACK of the resend echoes the
  // first transmission's timestamp. That says the resend was needless (RFC 3522), and 1 s of
  // our own timeout is in its delay: no sample.
  f.write_all(s, testing::text("are you there?"));
  const Sent original = f.segment();
  f.d.advance(kTcpInitialRto);
  f.run();
  CHECK(f.segment().tcp->sequence == original.tcp->sequence);
  CHECK(f.tcp().counters().retransmissions == 1);
  f.d.advance(std::chrono::milliseconds(30));
  f.peer_echo = original.tcp->options.timestamp_value;
  f.send(flag::kAck);
  CHECK(f.tcp().counters().timestamp_rtt_samples == 0);
  CHECK(f.tcp().info(s)->srtt == Duration{0});
  // Again, and this time the peer's ACK echoes the resend (segment() notes its timestamp).
  f.write_all(s, testing::text("still there?"));
  (void)f.segment();
  f.d.advance(f.tcp().info(s)->deadline - f.d.now);
  f.run();
  (void)f.segment();  // Karn: the ACK of this one cannot be timed by its send time
  CHECK(f.tcp().counters().retransmissions == 2);
  f.d.advance(std::chrono::milliseconds(30));
  f.send(flag::kAck);
  CHECK(f.tcp().counters().timestamp_rtt_samples == 1);
  const auto info = f.tcp().info(s);
  REQUIRE(info.has_value());
  // 30 ms is 29 ticks of 1.024 ms: the sample is 29.7 ms; the first sample is SRTT itself.
  CHECK(info->srtt >= std::chrono::milliseconds(29));
  CHECK(info->srtt <= std::chrono::milliseconds(31));
  CHECK(info->rto == kTcpMinRto);  // SRTT + 4 RTTVAR = 89 ms, below the 200 ms floor
}

/// Polls a connect until its SYN is out, and lets the peer answer as the port it was sent to.
Sent syn_of(TcpFixture& f, Layer::Connect& connect) {
  CHECK(f.poll(connect).is_pending());
  const Sent syn = f.sent();
  REQUIRE(syn.tcp.has_value());
  f.peer_port = syn.tcp->destination_port;
  f.our_port = syn.tcp->source_port;
  f.our_next = syn.tcp->sequence + 1;
  return syn;
}

/// After the peer's SYN-ACK: our ACK (without timestamps), and the connection it completed.
TcpSocket established_without_timestamps(TcpFixture& f, Layer::Connect& connect) {
  const Sent ack = f.segment();
  CHECK(ack.tcp->flags == flag::kAck);
  CHECK_FALSE(ack.tcp->options.has_timestamps);
  auto done = f.poll(connect);
  REQUIRE(done.is_ready());
  REQUIRE(done.value().ok());
  const auto info = f.tcp().info(done.value().value());
  CHECK_FALSE(info->timestamps);
  CHECK_FALSE(info->window_scaling);
  CHECK_FALSE(info->sack);
  CHECK(info->snd_wscale == 0);
  return done.value().value();
}

TEST_CASE("RFC 7323: our SYN offers MSS, timestamps and window scale; a SYN-ACK without them turns them off") {
  TcpFixture f;
  auto connect = f.tcp().connect({kPeer.ip, 7});
  const Sent syn = syn_of(f, connect);
  const wire::TcpOptions& o = syn.tcp->options;
  CHECK(o.has_mss);
  CHECK(o.has_timestamps);
  CHECK(o.timestamp_echo == 0);
  CHECK(o.has_window_scale);
  CHECK(o.window_shift == 0);
  CHECK(o.sack_permitted);
  CHECK(syn.ip->payload_length == 40);  // as Linux's SYN
  f.send(flag::kSyn | flag::kAck);  // no option at all
  const TcpSocket s = established_without_timestamps(f, connect);
  CHECK(f.tcp().info(s)->mss == kTcpDefaultMss);
  // The peer's windows are not scaled: 65535 is 65535.
  f.send(flag::kAck, {}, 65535);
  CHECK(f.tcp().info(s)->snd_wnd == 65535);
}

TEST_CASE("RFC 7323: with the options turned off, the SYN offers only the MSS and a peer's options are ignored") {
  TcpFixture f;
  f.tcp().set_features({.window_scaling = false, .timestamps = false, .sack = false});
  auto connect = f.tcp().connect({kPeer.ip, 7});
  const Sent syn = syn_of(f, connect);
  CHECK(syn.ip->payload_length == 24);
  CHECK_FALSE(syn.tcp->options.sack_permitted);
  CHECK_FALSE(syn.tcp->options.has_timestamps);
  CHECK_FALSE(syn.tcp->options.has_window_scale);
  wire::TcpRepr syn_ack = linux_syn(f, 42);
  syn_ack.flags = flag::kSyn | flag::kAck;
  syn_ack.acknowledgement = f.our_next;
  f.send_raw(syn_ack);
  f.peer_next = kPeerIsn + 1;
  const TcpSocket s = established_without_timestamps(f, connect);
  CHECK(f.tcp().info(s)->mss == 1460);
  f.send(flag::kAck, {}, 502);
  CHECK(f.tcp().info(s)->snd_wnd == 502);  // not scaled: we did not offer it
}

/// A stack with 256 KiB buffers: its window needs a scale of 3.
struct BigConfig : DefaultConfig {
  static constexpr std::size_t kTcpConnections = 2;
  static constexpr std::size_t kTcpSendBufferBytes = 256 * 1024;
  static constexpr std::size_t kTcpReceiveBufferBytes = 256 * 1024;
};
using BigFixture = testing::BasicTcpFixture<Interface<testing::FakeChannel, BigConfig>>;

TEST_CASE("RFC 7323: a 256 KiB receive buffer is offered with a shift of 3; the edge never moves back when rounded") {
  auto f = std::make_unique<BigFixture>();
  REQUIRE(f->tcp().listen(kPort).ok());
  auto accept = f->tcp().accept(TcpListener{0, 0});
  CHECK(f->poll(accept).is_pending());
  wire::TcpRepr syn = f->header(flag::kSyn, kPeerIsn, 0, 64240);
  syn.options.has_mss = true;
  syn.options.mss = 1460;
  syn.options.has_window_scale = true;
  syn.options.window_shift = 7;
  f->send_raw(syn);
  f->peer_next = kPeerIsn + 1;
  const Sent syn_ack = f->segment();
  CHECK(syn_ack.tcp->options.window_shift == 3);
  CHECK(syn_ack.tcp->window == 65535);  // unscaled on the SYN: as much as the field holds
  f->send(flag::kAck);
  auto accepted = f->poll(accept);
  REQUIRE(accepted.is_ready());
  const TcpSocket s = accepted.value().value();
  CHECK(f->tcp().info(s)->rcv_wscale == 3);

  // Two full segments: acknowledged at once; 262,144 - 2,920 = 259,224 bytes of room, 32,403 units.
  f->send(flag::kAck, testing::pattern(1460));
  f->send(flag::kAck, testing::pattern(1460));
  const Sent first = f->segment();
  CHECK(first.tcp->window == 32403);
  // 3 more bytes unread: 259,221 bytes of room, 32,402.6 units. Rounded down, the right edge would
  // move back by 5 bytes; it is rounded up instead (3 bytes over the room, as Linux does).
  f->send(flag::kAck | flag::kPsh, testing::pattern(3));
  f->d.advance(kTcpDelayedAck);
  f->run();
  const Sent second = f->segment();
  CHECK(second.tcp->acknowledgement == first.tcp->acknowledgement + 3);
  CHECK(second.tcp->window == 32403);
  // Read it all: the window opens by more than an MSS, and the update offers all 256 KiB.
  std::vector<std::byte> buffer(4000);
  auto r = f->tcp().read(s, buffer);
  auto got = f->poll(r);
  REQUIRE(got.is_ready());
  CHECK(got.value().value() == 2923);
  const Sent update = f->segment();
  CHECK(update.tcp->window == 32768);
}

// ---- RFC 2018 and RFC 6675: SACK --------------------------------------------------------------

TEST_CASE("SACK: held ranges are reported newest first, three beside timestamps, until the gap fills") {
  TcpFixture f;
  const TcpSocket s = open_with_options(f, 100);
  CHECK(f.tcp().info(s)->sack);
  const std::uint32_t base = f.peer_next;
  // Three ranges past a 10-byte gap, sent out of order; each is answered at once (a duplicate ACK).
  const auto at = [&](std::uint32_t offset, std::size_t bytes) {
    f.peer_next = base + offset;
    f.send(flag::kAck, testing::pattern(bytes));
    return f.segment();
  };
  const Sent first = at(30, 10);
  CHECK(first.tcp->acknowledgement == base);
  REQUIRE(first.tcp->options.sack_blocks == 1);
  CHECK(first.tcp->options.sack[0] == wire::SackBlock{base + 30, base + 40});
  const Sent second = at(10, 10);
  REQUIRE(second.tcp->options.sack_blocks == 2);
  CHECK(second.tcp->options.sack[0] == wire::SackBlock{base + 10, base + 20});
  CHECK(second.tcp->options.sack[1] == wire::SackBlock{base + 30, base + 40});
  const Sent third = at(50, 10);
  REQUIRE(third.tcp->options.sack_blocks == 3);
  CHECK(third.tcp->options.sack[0] == wire::SackBlock{base + 50, base + 60});
  CHECK(third.tcp->options.sack[1] == wire::SackBlock{base + 10, base + 20});
  const Sent fourth = at(70, 10);  // a fourth range: only three fit beside the timestamps
  REQUIRE(fourth.tcp->options.sack_blocks == 3);
  CHECK(fourth.tcp->options.sack[0] == wire::SackBlock{base + 70, base + 80});
  CHECK(fourth.tcp->options.sack[2] == wire::SackBlock{base + 10, base + 20});
  CHECK(fourth.ip->payload_length == 20 + 12 + 4 + 3 * 8);
  // Our data meanwhile leaves room for the blocks: 1448 - 28 bytes, a full 1500-byte packet.
  f.write_all(s, testing::pattern(2000));
  const Sent data = f.segment();
  CHECK(data.payload.size() == 1448 - 28);
  CHECK(data.ip->payload_length == 1480);
  CHECK(data.tcp->options.sack_blocks == 3);
  f.nothing_sent();  // the other 580 bytes wait for the ACK (Nagle)
  const Sent grown = at(20, 10);  // joins two ranges: the joined one is now the newest
  REQUIRE(grown.tcp->options.sack_blocks == 3);
  CHECK(grown.tcp->options.sack[0] == wire::SackBlock{base + 10, base + 40});
  // The gap filled: everything up to 40 is acknowledged; two ranges are left.
  const Sent filled = at(0, 10);
  CHECK(filled.tcp->acknowledgement == base + 40);
  REQUIRE(filled.tcp->options.sack_blocks == 2);
  CHECK(filled.tcp->options.sack[0] == wire::SackBlock{base + 70, base + 80});
  CHECK(filled.tcp->options.sack[1] == wire::SackBlock{base + 50, base + 60});
}

/// The peer acknowledges `ack` with SACK blocks (offsets from `base`), the window unchanged.
void sack_ack(TcpFixture& f, std::uint32_t ack, std::initializer_list<wire::SackBlock> blocks, std::uint16_t window = 502) {
  wire::TcpRepr h = f.header(flag::kAck, f.peer_next, ack, window);
  h.options.has_timestamps = true;
  h.options.timestamp_value = ++*f.peer_timestamp;
  h.options.timestamp_echo = f.peer_echo;
  for (const wire::SackBlock& b : blocks) h.options.sack[h.options.sack_blocks++] = b;
  f.send_raw(h);
}

TEST_CASE("SACK recovery (RFC 6675): the holes the scoreboard shows lost are resent, then new data as the pipe allows") {
  TcpFixture f;
  const TcpSocket s = open_with_options(f, 100);
  f.tcp().set_congestion_control(s, CongestionControl::kNewReno);  // ssthresh: half the flight
  constexpr std::uint32_t kSeg = 1448;
  f.write_all(s, testing::pattern(11 * kSeg));
  std::uint32_t start[12] = {};
  for (int i = 0; i < 10; ++i) start[i] = f.segment().tcp->sequence;  // the initial window: 10 segments
  f.nothing_sent();
  start[10] = start[9] + kSeg;
  start[11] = start[10] + kSeg;
  const auto seg = [&](int i) { return start[i]; };
  // The peer got 0, lost 1, got 2 and 3, lost 4, got 5 to 9.
  sack_ack(f, seg(1), {});
  (void)f.segment();  // the window moved: segment 10 goes
  sack_ack(f, seg(1), {{seg(2), seg(3)}});
  sack_ack(f, seg(1), {{seg(2), seg(4)}});
  f.nothing_sent();
  CHECK(f.tcp().counters().fast_retransmits == 0);
  sack_ack(f, seg(1), {{seg(5), seg(6)}, {seg(2), seg(4)}});  // the third duplicate
  const Sent resent = f.segment();
  CHECK(resent.tcp->sequence == seg(1));
  CHECK(resent.payload.size() == kSeg);
  CHECK(f.tcp().counters().fast_retransmits == 1);
  // Segment 4 has one SACKed segment above it: not lost yet, and the pipe fills the window.
  f.nothing_sent();
  // Now three segments above 4 are SACKed: it is lost, and goes at once.
  sack_ack(f, seg(1), {{seg(5), seg(8)}, {seg(2), seg(4)}});
  const Sent hole = f.segment();
  CHECK(hole.tcp->sequence == seg(4));
  CHECK(hole.payload.size() == kSeg);
  CHECK(f.tcp().counters().sack_retransmits == 1);
  CHECK(f.tcp().info(s)->sacked_blocks == 2);
  // A block outside SND.UNA..SND.MAX is ignored and counted (a D-SACK below SND.UNA, or forged).
  sack_ack(f, seg(1), {{seg(0), seg(1)}, {seg(11), seg(11) + 5 * kSeg}});
  CHECK(f.tcp().counters().sack_blocks_ignored == 2);
  // The retransmission of 1 arrives: a partial ACK to 4; the scoreboard drops what it covers.
  // Nothing lost is left to resend and there is no new data.
  sack_ack(f, seg(4), {{seg(5), seg(10)}}, 502);
  f.nothing_sent();
  CHECK(f.tcp().info(s)->sacked_blocks == 1);
  // New data goes as the pipe allows: two segments are in it (4 resent, and 10; the rest SACKed),
  // the congestion window is five (half the flight when the recovery began, not inflated by the
  // duplicates): three of four new segments go.
  f.write_all(s, testing::pattern(4 * kSeg));
  for (int i = 11; i < 14; ++i) CHECK(f.segment().tcp->sequence == seg(10) + (i - 10) * kSeg);
  f.nothing_sent();
  // All that was sent is acknowledged: the recovery ends, and the last one goes.
  sack_ack(f, seg(10) + 4 * kSeg, {});
  CHECK(f.segment().tcp->sequence == seg(10) + 4 * kSeg);
  CHECK(f.tcp().info(s)->sacked_blocks == 0);
  CHECK(f.tcp().counters().retransmissions == 0);  // no timeout was needed
}

TEST_CASE("SACK: three separate SACKed ranges above SND.UNA show it lost at the first duplicate ACK (RFC 6675 IsLost)") {
  TcpFixture f;
  const TcpSocket s = open_with_options(f, 100);
  f.write_all(s, testing::pattern(10 * 1448));
  std::uint32_t first = 0;
  for (int i = 0; i < 10; ++i) {
    const std::uint32_t sequence = f.segment().tcp->sequence;
    if (i == 0) first = sequence;
  }
  // Three 100-byte ranges: 300 bytes SACKed, less than two segments, but three discontiguous blocks.
  sack_ack(f, first, {{first + 3 * 1448, first + 3 * 1448 + 100}, {first + 5 * 1448, first + 5 * 1448 + 100},
                      {first + 7 * 1448, first + 7 * 1448 + 100}});
  const Sent resent = f.segment();
  CHECK(resent.tcp->sequence == first);
  CHECK(f.tcp().counters().fast_retransmits == 1);
  CHECK(f.tcp().info(s)->sacked_blocks == 3);
  // A timeout forgets what the peer reported (RFC 2018 §8: it may have reneged) and goes back.
  f.d.advance(f.tcp().info(s)->deadline - f.d.now);
  f.run();
  CHECK(f.segment().tcp->sequence == first);
  CHECK(f.tcp().counters().retransmissions == 1);
  CHECK(f.tcp().info(s)->sacked_blocks == 0);
}

TEST_CASE("congestion control per connection: CUBIC by default cuts to 0.7 of the window at a loss, NewReno to half the flight") {
  for (const CongestionControl cc : {CongestionControl::kCubic, CongestionControl::kNewReno}) {
    CAPTURE(static_cast<int>(cc));
    TcpFixture f;
    const TcpSocket s = f.open_passive();  // the peer offers no option: 536-byte segments
    CHECK(f.tcp().info(s)->congestion == CongestionControl::kCubic);
    f.tcp().set_congestion_control(s, cc);
    CHECK(f.tcp().info(s)->congestion == cc);
    f.write_all(s, testing::pattern(10 * kTcpDefaultMss));
    std::uint32_t first = 0;
    for (int i = 0; i < 10; ++i) {
      const std::uint32_t sequence = f.segment().tcp->sequence;
      if (i == 0) first = sequence;
    }
    const std::uint32_t cwnd = f.tcp().info(s)->cwnd;  // RFC 6928's 10 segments (and the SYN's byte)
    for (int i = 0; i < 3; ++i) f.send_raw(f.header(flag::kAck, f.peer_next, first));
    CHECK(f.segment().tcp->sequence == first);  // the fast retransmit
    const std::uint32_t flight = 10 * kTcpDefaultMss;
    const std::uint32_t ssthresh = f.tcp().info(s)->ssthresh;
    CHECK(ssthresh == (cc == CongestionControl::kCubic ? cwnd * 7 / 10 : flight / 2));
    // All acknowledged: slow start from one segment back to ssthresh, then congestion avoidance,
    // where NewReno adds MSS²/cwnd per MSS acknowledged (RFC 3465 §2.1: counted in bytes, so an
    // ACK of several segments counts them all) and CUBIC follows its curve (RFC 9438).
    f.send(flag::kAck);
    f.write_all(s, testing::pattern(12000));
    bool avoided = false;
    for (int round = 0; round < 20 && !avoided; ++round) {
      std::uint32_t acked = 0;  // what the ACK below acknowledges: every segment sent this round
      while (f.channel.sent_count() > 0) acked += static_cast<std::uint32_t>(f.segment().payload.size());
      const std::uint32_t before = f.tcp().info(s)->cwnd;
      f.send(flag::kAck);
      const std::uint32_t after = f.tcp().info(s)->cwnd;
      if (before < ssthresh) continue;
      avoided = true;
      REQUIRE(acked > kTcpDefaultMss);  // a stretch ACK: per-ACK counting would add MSS²/cwnd once
      const std::uint32_t reno_step = kTcpDefaultMss * std::min(acked, before) / before;
      if (cc == CongestionControl::kNewReno) {
        CHECK(after - before == reno_step);
      } else {
        CHECK(after - before != reno_step);
      }
    }
    CHECK(avoided);
  }
}

}  // namespace
}  // namespace pollstack::net
