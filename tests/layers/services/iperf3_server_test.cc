// Iperf3Server (layers/services/iperf3_server.h) over the whole stack and the real driver channel
// (the loopback driver: the stack talks to itself), driven by a scripted iperf3 client: each
// test writes the client's side of the protocol byte for byte, as iperf3 3.12 sends it, and
// checks the server's answers, its results JSON and its counters. Real iperf3 against the stack
// over TAP: tests/interop/interop_test.sh.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "layers/services/iperf3_server.h"
#include "tests/layers/loopback_world.h"

namespace pollstack::net {
namespace {

using testing::kLoopIp;
using testing::LoopbackWorld;
using Tcp = Stack::TcpLayer;
using Server = Iperf3Server<Tcp, 2>;

constexpr std::uint16_t kPort = iperf3::kDefaultPort;
const std::string kCookie = std::string("abcdefghijklmnopqrstuvwxyz0123456789") + '\0';

std::string length_prefixed(const std::string& json) {
  const auto n = static_cast<std::uint32_t>(json.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + json;
}
// iperf3 3.12's parameters, with `extra` members before the rest (a name given twice: the first counts).
std::string params(const std::string& extra = "") {
  return length_prefixed(R"({"tcp":true)" + extra +
                         R"(,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,)"
                         R"("client_version":"3.12"})");
}
const std::string kClientResults = length_prefixed(
    R"({"cpu_util_total":1.5,"cpu_util_user":0.5,"cpu_util_system":1,"sender_has_retransmits":1,)"
    R"("streams":[{"id":1,"bytes":1000,"retransmits":0,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1}]})");
std::string server_error(int code) { return std::string{'\xfe', 0, 0, 0, static_cast<char>(code), 0, 0, 0, 0}; }

// The client's side of a test: a script of connections, bytes sent and bytes expected.
class ScriptedClient {
 public:
  using Output = std::string;  // empty: every step as expected; otherwise what went wrong

  struct Step {
    enum class Kind { kConnect, kSend, kExpect, kExpectJson, kSendData, kReceiveData, kSleep, kExpectEnd, kClose };
    Kind kind;
    std::size_t conn = 0;
    std::string bytes = {};
    std::uint64_t n = 0;
  };

  explicit ScriptedClient(Tcp& tcp) : tcp_(&tcp) {
    for (std::size_t i = 0; i < chunk_.size(); ++i) chunk_[i] = static_cast<std::byte>(i);
  }
  ScriptedClient& connect(std::size_t conn) { return add({Step::Kind::kConnect, conn}); }
  ScriptedClient& send(std::size_t conn, std::string bytes) { return add({Step::Kind::kSend, conn, std::move(bytes)}); }
  ScriptedClient& expect(std::size_t conn, std::string bytes) { return add({Step::Kind::kExpect, conn, std::move(bytes)}); }
  ScriptedClient& expect_json(std::size_t conn) { return add({Step::Kind::kExpectJson, conn}); }
  ScriptedClient& send_data(std::size_t conn, std::uint64_t n) { return add({Step::Kind::kSendData, conn, {}, n}); }
  ScriptedClient& receive_data(std::size_t conn, std::uint64_t n) { return add({Step::Kind::kReceiveData, conn, {}, n}); }
  ScriptedClient& sleep_ms(std::uint64_t ms) { return add({Step::Kind::kSleep, 0, {}, ms}); }
  ScriptedClient& expect_end(std::size_t conn) { return add({Step::Kind::kExpectEnd, conn}); }
  ScriptedClient& close(std::size_t conn) { return add({Step::Kind::kClose, conn}); }
  // A test's opening: control connection, cookie, parameters, then `streams` data connections.
  ScriptedClient& open_test(const std::string& extra, std::size_t streams) {
    connect(0).send(0, kCookie).expect(0, "\x09").send(0, params(extra)).expect(0, "\x0a");
    for (std::size_t s = 1; s <= streams; ++s) connect(s).send(s, kCookie);
    return expect(0, "\x01\x02");
  }
  // A test's end: TEST_END, the results both ways, IPERF_DONE, and (if asked) the server's close.
  ScriptedClient& close_test(bool wait_for_close = true) {
    send(0, "\x04").expect(0, "\x0d").send(0, kClientResults).expect_json(0).expect(0, "\x0e").send(0, "\x10");
    return wait_for_close ? expect_end(0) : *this;
  }

  Poll<std::string> poll(Context& cx) {
    while (step_ < steps_.size()) {
      Step& s = steps_[step_];
      switch (s.kind) {
        case Step::Kind::kConnect: {
          if (!connect_) connect_.emplace(tcp_->connect({kLoopIp, kPort}));
          Poll<Tcp::Connect::Output> got = connect_->poll(cx);
          if (got.is_pending()) return pending;
          connect_.reset();
          if (!got.value().ok()) return failure("connect failed");
          sockets_[s.conn] = got.value().value();
          break;
        }
        case Step::Kind::kSend:
          if (Poll<bool> done = write(cx, s.conn, std::as_bytes(std::span(s.bytes.data(), s.bytes.size())));
              done.is_pending()) {
            return pending;
          } else if (!done.value()) {
            return failure("send failed");
          }
          break;
        case Step::Kind::kExpect: {
          Poll<bool> done = read_exactly(cx, s.conn, s.bytes.size());
          if (done.is_pending()) return pending;
          if (!done.value()) return failure("the connection ended before the expected bytes");
          if (got_ != s.bytes) return failure("expected other bytes; got " + std::to_string(got_.size()) + " bytes: " + got_);
          break;
        }
        case Step::Kind::kExpectJson: {
          if (json_length_ == 0) {
            Poll<bool> done = read_exactly(cx, s.conn, 4);
            if (done.is_pending()) return pending;
            if (!done.value()) return failure("no JSON length");
            json_length_ = (std::size_t{static_cast<unsigned char>(got_[0])} << 24) |
                           (std::size_t{static_cast<unsigned char>(got_[1])} << 16) |
                           (std::size_t{static_cast<unsigned char>(got_[2])} << 8) | static_cast<unsigned char>(got_[3]);
            got_.clear();
          }
          Poll<bool> done = read_exactly(cx, s.conn, json_length_);
          if (done.is_pending()) return pending;
          if (!done.value()) return failure("the JSON was cut short");
          jsons.push_back(got_);
          json_length_ = 0;
          break;
        }
        case Step::Kind::kSendData:
          while (sent_ < s.n) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), s.n - sent_));
            Poll<bool> done = write(cx, s.conn, std::span<const std::byte>(chunk_).first(n));
            if (done.is_pending()) return pending;
            if (!done.value()) return failure("data send failed");
            sent_ += n;
          }
          sent_ = 0;
          break;
        case Step::Kind::kReceiveData:
          while (received_ < s.n) {
            if (!read_) read_.emplace(tcp_->read(sockets_[s.conn], chunk_in_));
            Poll<Tcp::Read::Output> got = read_->poll(cx);
            if (got.is_pending()) return pending;
            read_.reset();
            if (!got.value().ok() || got.value().value() == 0) return failure("the data stream ended early");
            received_ += got.value().value();
          }
          received_ = 0;
          break;
        case Step::Kind::kSleep:
          if (!until_) until_ = cx.now() + std::chrono::milliseconds(s.n);
          if (cx.now() < *until_) {
            cx.wake_at(*until_);
            return pending;
          }
          until_.reset();
          break;
        case Step::Kind::kExpectEnd: {
          if (!read_) read_.emplace(tcp_->read(sockets_[s.conn], chunk_in_));
          Poll<Tcp::Read::Output> got = read_->poll(cx);
          if (got.is_pending()) return pending;
          read_.reset();
          if (got.value().ok() && got.value().value() > 0) return failure("bytes where the end was expected");
          ended_with_error = !got.value().ok();
          break;
        }
        case Step::Kind::kClose:
          tcp_->close(sockets_[s.conn]);
          break;
      }
      got_.clear();
      ++step_;
    }
    return std::string();
  }

  std::vector<std::string> jsons;  // each JSON message received, in order
  bool ended_with_error = false;   // the last expect_end saw a reset (not a FIN)

 private:
  ScriptedClient& add(Step s) {
    steps_.push_back(std::move(s));
    return *this;
  }
  std::string failure(const std::string& what) { return "step " + std::to_string(step_) + ": " + what; }

  Poll<bool> write(Context& cx, std::size_t conn, std::span<const std::byte> data) {
    if (!write_) write_.emplace(tcp_->write(sockets_[conn], data));
    Poll<Tcp::Write::Output> done = write_->poll(cx);
    if (done.is_pending()) return pending;
    write_.reset();
    return done.value().ok();
  }
  Poll<bool> read_exactly(Context& cx, std::size_t conn, std::size_t n) {
    while (got_.size() < n) {
      if (!read_) read_.emplace(tcp_->read(sockets_[conn], std::span(chunk_in_).first(n - got_.size())));
      Poll<Tcp::Read::Output> got = read_->poll(cx);
      if (got.is_pending()) return pending;
      read_.reset();
      if (!got.value().ok() || got.value().value() == 0) return false;
      got_.append(reinterpret_cast<const char*>(chunk_in_.data()), got.value().value());
    }
    return true;
  }

  Tcp* tcp_;
  std::vector<Step> steps_;
  std::size_t step_ = 0;
  std::array<TcpSocket, 4> sockets_{};
  std::optional<Tcp::Connect> connect_;
  std::optional<Tcp::Write> write_;
  std::optional<Tcp::Read> read_;
  std::optional<Instant> until_;
  std::string got_;
  std::size_t json_length_ = 0;
  std::uint64_t sent_ = 0, received_ = 0;
  std::array<std::byte, 8192> chunk_{};
  std::array<std::byte, 8192> chunk_in_{};
};

// The server and a client as one application task; done when the client's script is.
struct World : LoopbackWorld {
  World() : listener(iface.tcp().listen(kPort).value()), server(iface.tcp(), listener) {}

  struct App {
    using Output = std::string;
    Server* server;
    ScriptedClient* client;
    Poll<std::string> poll(Context& cx) {
      if (server->poll(cx).is_ready()) return std::string("the server stopped");
      return client->poll(cx);
    }
  };
  std::string play(ScriptedClient& client) {
    App app{&server, &client};
    return run(app).value_or("stalled");
  }

  TcpListener listener;
  Server server;
};

std::optional<JsonObject> stream_of(const std::string& results, std::size_t index, std::string& storage) {
  const std::optional<JsonObject> j = JsonObject::parse(results);
  if (!j) return std::nullopt;
  std::optional<std::string_view> streams = j->member("streams");
  if (!streams) return std::nullopt;
  // "[{...},{...}]": the index-th object, found by brace depth (the test's own, simple JSON).
  int depth = 0;
  std::size_t start = 0, n = 0;
  for (std::size_t i = 0; i < streams->size(); ++i) {
    const char c = (*streams)[i];
    if (c == '{' && depth++ == 0) start = i;
    if (c == '}' && --depth == 0 && n++ == index) {
      storage = std::string(streams->substr(start, i - start + 1));
      return JsonObject::parse(storage);
    }
  }
  return std::nullopt;
}

TEST_CASE("iperf3: a forward test with two streams runs to IPERF_DONE; results count each stream's bytes") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test(R"(,"parallel":2)", 2)
      .send_data(1, 300000)
      .send_data(2, 200000)
      .sleep_ms(100)  // everything delivered and read before the end
      .close_test();
  CHECK(w.play(c) == "");
  REQUIRE(c.jsons.size() == 1);
  const std::optional<JsonObject> r = JsonObject::parse(c.jsons[0]);
  REQUIRE(r.has_value());
  CHECK(r->integer("sender_has_retransmits") == 0);
  CHECK(r->string("congestion_used") == "cubic");
  std::string s0, s1;
  const std::optional<JsonObject> first = stream_of(c.jsons[0], 0, s0);
  const std::optional<JsonObject> second = stream_of(c.jsons[0], 1, s1);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->integer("id") == 1);
  CHECK(second->integer("id") == 3);  // iperf3's numbering: 1, 3, 4...
  CHECK(first->integer("bytes") == 300000);
  CHECK(second->integer("bytes") == 200000);
  CHECK(first->integer("retransmits") == -1);
  CHECK(first->has("end_time"));
  const Iperf3Counters& n = w.server.counters();
  CHECK(n.tests_completed == 1);
  CHECK(n.bytes_received == 500000);
  CHECK(n.tests_failed + n.tests_timed_out + n.tests_refused == 0);
}

TEST_CASE("iperf3: a reverse test: the server sends until TEST_END, and reports what it sent") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test(R"(,"reverse":true)", 1)
      .receive_data(1, 1 << 20)
      .close_test();
  CHECK(w.play(c) == "");
  REQUIRE(c.jsons.size() == 1);
  std::string s0;
  const std::optional<JsonObject> first = stream_of(c.jsons[0], 0, s0);
  REQUIRE(first.has_value());
  CHECK(first->integer("bytes") >= (1 << 20));
  CHECK(static_cast<std::uint64_t>(*first->integer("bytes")) == w.server.counters().bytes_sent);
  CHECK(w.server.counters().tests_completed == 1);
  CHECK(w.server.counters().bytes_received == 0);
}

TEST_CASE("iperf3: a reverse test with a byte count stops sending at it") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test(R"(,"reverse":true,"num":100000)", 1)
      .receive_data(1, 100000)
      .sleep_ms(200)
      .close_test(/*wait_for_close=*/false);
  CHECK(w.play(c) == "");
  CHECK(w.server.counters().bytes_sent == 100000);
}

TEST_CASE("iperf3: tests the server does not run are answered SERVER_ERROR with iperf3's error number") {
  struct Case {
    const char* extra;
    int error;
  };
  for (const Case& k : {Case{R"(,"udp":true)", 13}, Case{R"(,"bidirectional":true)", 13}, Case{R"(,"parallel":3)", 6}}) {
    CAPTURE(k.extra);
    World w;
    ScriptedClient c(w.iface.tcp());
    c.connect(0).send(0, kCookie).expect(0, "\x09").send(0, params(k.extra)).expect(0, server_error(k.error)).expect_end(0);
    CHECK(w.play(c) == "");
    CHECK(w.server.counters().tests_refused == 1);
  }
}

TEST_CASE("iperf3: malformed parameters, or a length past the limit, end the test") {
  for (const std::string& bad : {length_prefixed("{\"tcp\":true,"), std::string("\x00\x10\x00\x00", 4)}) {
    World w;
    ScriptedClient c(w.iface.tcp());
    c.connect(0).send(0, kCookie).expect(0, "\x09").send(0, bad).expect_end(0);
    CHECK(w.play(c) == "");
    CHECK(c.ended_with_error);  // reset
    CHECK(w.server.counters().tests_failed == 1);
  }
}

TEST_CASE("iperf3: while a test runs, another client is denied; a data connection with a wrong cookie too") {
  World w;
  ScriptedClient c(w.iface.tcp());
  std::string wrong = kCookie;
  wrong[0] = 'X';
  c.connect(0).send(0, kCookie).expect(0, "\x09").send(0, params()).expect(0, "\x0a");
  c.connect(1).send(1, wrong).expect(1, "\xff").expect_end(1);  // not this test's: denied
  c.connect(1).send(1, kCookie).expect(0, "\x01\x02");
  c.connect(2).send(2, kCookie).expect(2, "\xff").expect_end(2);  // a second client: busy
  c.close_test();
  CHECK(w.play(c) == "");
  CHECK(w.server.counters().bad_cookies == 1);
  CHECK(w.server.counters().busy_denied == 1);
  CHECK(w.server.counters().tests_completed == 1);
}

TEST_CASE("iperf3: CLIENT_TERMINATE ends the test, and the next test runs") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test("", 1).send_data(1, 50000).sleep_ms(50).send(0, "\x0c").expect_end(0).expect_end(1);
  c.open_test("", 1).send_data(1, 1000).sleep_ms(50).send(0, "\x04").expect(0, "\x0d");
  CHECK(w.play(c) == "");
  CHECK(w.server.counters().clients_terminated == 1);
  CHECK(w.server.counters().bytes_received == 51000);
}

TEST_CASE("iperf3: a client that goes silent is timed out and reset, and the server serves again") {
  for (bool streams_asked : {false, true}) {  // silent after PARAM_EXCHANGE, or after CREATE_STREAMS
    CAPTURE(streams_asked);
    World w;
    ScriptedClient c(w.iface.tcp());
    c.connect(0).send(0, kCookie).expect(0, "\x09");
    if (streams_asked) c.send(0, params()).expect(0, "\x0a");
    c.sleep_ms(11000).expect_end(0);
    c.open_test("", 1);
    CHECK(w.play(c) == "");
    CHECK(c.ended_with_error);
    CHECK(w.server.counters().tests_timed_out == 1);
  }
}

TEST_CASE("iperf3: a client that closes before its whole cookie is let go, and the next test runs") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.connect(0).send(0, "short").close(0).sleep_ms(100);
  c.open_test("", 1).send(0, "\x04").expect(0, "\x0d");
  CHECK(w.play(c) == "");
  CHECK(w.server.counters().tests_failed == 1);
}

TEST_CASE("iperf3: malformed results from the client end the test") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test("", 1).send(0, "\x04").expect(0, "\x0d").send(0, length_prefixed("{\"streams\":[")).expect_end(0);
  CHECK(w.play(c) == "");
  CHECK(c.ended_with_error);
  CHECK(w.server.counters().tests_failed == 1);
}

TEST_CASE("iperf3: the listener closed mid-test resets the test and ends the server") {
  World w;
  ScriptedClient c(w.iface.tcp());
  c.open_test("", 1).send_data(1, 1000);
  CHECK(w.play(c) == "");
  w.iface.tcp().close_listener(w.listener);
  struct ServerOnly {
    using Output = ConnectionError;
    Server* server;
    Poll<ConnectionError> poll(Context& cx) { return server->poll(cx); }
  } server_only{&w.server};
  CHECK(w.run(server_only) == ConnectionError::kListenerClosed);
  c.expect_end(0);  // the test's connections were reset
  struct ClientOnly {
    using Output = std::string;
    ScriptedClient* client;
    Poll<std::string> poll(Context& cx) { return client->poll(cx); }
  } client_only{&c};
  CHECK(w.run(client_only) == std::string());
  CHECK(c.ended_with_error);
}

}  // namespace
}  // namespace pollstack::net
