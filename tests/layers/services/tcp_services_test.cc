// The TCP echo (RFC 862) and discard (RFC 863) services, against a scripted peer: what each sends
// back, how each ends (the peer's FIN answered by ours; a reset counted as a failed session).
#include <doctest/doctest.h>

#include <string>

#include "layers/services/tcp_discard.h"
#include "layers/services/tcp_echo.h"
#include "tests/layers/tcp/tcp_fixture.h"

namespace pollstack::net {
namespace {

using testing::as_string;
using testing::Sent;
using testing::TcpFixture;
namespace flag = wire::tcp_flag;

// A service on port 80 as the application's task beside the interface's, and the peer's side of
// one connection to it.
template <class Service, class Counters>
struct ServiceFixture : TcpFixture {
  ServiceFixture() : service(tcp(), tcp().listen(testing::kPort).value(), Counters{}) {}

  void poll_service() {
    (void)d.poll(service);
    run();
  }

  void connect() {
    poll_service();
    send(flag::kSyn);
    CHECK(segment().tcp->flags == (flag::kSyn | flag::kAck));
    send(flag::kAck);
    poll_service();
  }

  // Everything the stack sent until it went quiet: payload bytes, and whether a FIN or RST came.
  struct Answer {
    std::string payload;
    bool fin = false;
    bool rst = false;
    std::uint32_t last_ack = 0;  // the last acknowledgement number seen
  };
  Answer collect() {
    Answer a;
    for (int i = 0; i < 10; ++i) {
      poll_service();
      while (channel.sent_count() > 0) {
        const Sent s = segment();
        a.payload += as_string(s.payload);
        a.fin |= s.tcp->has(flag::kFin);
        a.rst |= s.tcp->has(flag::kRst);
        a.last_ack = s.tcp->acknowledgement;
      }
    }
    return a;
  }

  Service service;
};

using Echo = ServiceFixture<TcpEchoService<TcpFixture::Layer, 2>, TcpEchoCounters>;
using Discard = ServiceFixture<TcpDiscardService<TcpFixture::Layer, 2>, TcpDiscardCounters>;

TEST_CASE("echo: the bytes come back, and the peer's FIN is answered by ours after them") {
  Echo f;
  f.connect();
  f.send(flag::kAck | flag::kPsh, testing::text("hello"));
  Echo::Answer a = f.collect();
  CHECK(a.payload == "hello");
  CHECK_FALSE(a.fin);
  f.send(flag::kAck | flag::kPsh, testing::text(" world"));
  f.send(flag::kAck | flag::kFin);
  a = f.collect();
  CHECK(a.payload == " world");
  CHECK(a.fin);
  CHECK_FALSE(a.rst);
  CHECK(f.service.shared().bytes_echoed == 11);
  CHECK(f.service.shared().sessions_ended == 1);
  f.send(flag::kAck);  // our FIN acknowledged: the connection is gone (LAST-ACK to CLOSED)
  f.collect();
  CHECK(f.tcp().count_in(TcpState::LastAck) == 0);
  CHECK(f.tcp().count_in(TcpState::Established) == 0);
}

TEST_CASE("discard: the bytes are counted and acknowledged, nothing comes back; FIN is answered by FIN") {
  Discard f;
  f.connect();
  f.send(flag::kAck | flag::kPsh, testing::text("thrown away"));
  f.send(flag::kAck | flag::kPsh, testing::text(" and this"));
  f.d.advance(std::chrono::milliseconds(40));  // the delayed ACK's timer
  Discard::Answer a = f.collect();
  CHECK(a.payload.empty());
  CHECK_FALSE(a.fin);
  CHECK(a.last_ack == f.peer_next);  // every byte acknowledged
  CHECK(f.service.shared().bytes_discarded == 20);
  f.send(flag::kAck | flag::kFin);
  a = f.collect();
  CHECK(a.payload.empty());
  CHECK(a.fin);
  CHECK_FALSE(a.rst);
  CHECK(f.service.shared().sessions_ended == 1);
  CHECK(f.service.shared().sessions_failed == 0);
}

TEST_CASE("discard: a reset by the peer ends the session as failed, and the slot serves the next") {
  Discard f;
  f.connect();
  f.send(flag::kAck | flag::kPsh, testing::text("abc"));
  f.collect();
  f.send(flag::kRst);
  f.collect();
  CHECK(f.service.shared().sessions_failed == 1);
  CHECK(f.service.shared().bytes_discarded == 3);
  // A second connection from another port is served.
  f.peer_port = testing::kPeerPort + 1;
  f.peer_next = testing::kPeerIsn;
  f.connect();
  f.send(flag::kAck | flag::kPsh, testing::text("defg"));
  f.send(flag::kAck | flag::kFin);
  const Discard::Answer a = f.collect();
  CHECK(a.fin);
  CHECK(f.service.shared().bytes_discarded == 7);
  CHECK(f.service.shared().sessions_ended == 1);
}

TEST_CASE("echo: a write waiting for room fails when the peer resets; the session ends as failed") {
  Echo f;
  f.connect();
  // The peer sends more than our send buffer holds and advertises no window: the echo's write of
  // it waits for room that never comes.
  const testing::Bytes chunk = testing::pattern(1000);
  for (std::size_t sent = 0; sent < kTcpSendBufferBytes + 2000; sent += chunk.size()) {
    f.send(flag::kAck | flag::kPsh, chunk, /*window=*/0);
    f.poll_service();
    while (f.channel.sent_count() > 0) f.segment();
  }
  CHECK(f.service.shared().bytes_echoed < kTcpSendBufferBytes + 2000);
  f.send(flag::kRst);
  f.collect();
  CHECK(f.service.shared().sessions_failed == 1);
  CHECK(f.service.shared().sessions_ended == 0);
}

TEST_CASE("a server whose listener is closed ends with kListenerClosed") {
  Discard f;
  f.poll_service();  // waiting to accept
  f.tcp().close_listener(TcpListener{0, 0});
  const auto ended = f.d.poll(f.service);
  REQUIRE(ended.is_ready());
  CHECK(ended.value() == ConnectionError::kListenerClosed);
}

}  // namespace
}  // namespace pollstack::net
