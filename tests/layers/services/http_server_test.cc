// The HTTP server: what each request line gets (http::classify), and whole exchanges with a
// scripted peer over TCP: the page for GET /, the status codes, a head too large, the close.
#include "layers/services/http_server.h"

#include <doctest/doctest.h>

#include <string>

#include "statemachines/executor.h"
#include "tests/layers/tcp/tcp_fixture.h"

namespace pollstack::net {
namespace {

using testing::as_string;
using testing::Sent;
using testing::TcpFixture;
namespace flag = wire::tcp_flag;
using Server = HttpServer<TcpFixture::Layer, 2>;

TEST_CASE("request lines: GET and HEAD of the page, 404, 405, 400") {
  using http::Answer;
  using http::classify;
  CHECK(classify("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == Answer::kPage);
  CHECK(classify("HEAD / HTTP/1.0\r\n\r\n") == Answer::kHead);
  CHECK(classify("GET /index.txt HTTP/1.1\r\n\r\n") == Answer::kPage);
  CHECK(classify("GET /other HTTP/1.1\r\n\r\n") == Answer::kNotFound);
  CHECK(classify("POST / HTTP/1.1\r\n\r\n") == Answer::kBadMethod);
  CHECK(classify("DELETE /x HTTP/1.1\r\n\r\n") == Answer::kBadMethod);
  CHECK(classify("GET / HTTP/2\r\n\r\n") == Answer::kBadRequest);
  CHECK(classify("GET  / HTTP/1.1\r\n\r\n") == Answer::kBadRequest);  // two spaces
  CHECK(classify(" GET / HTTP/1.1\r\n\r\n") == Answer::kBadRequest);
  CHECK(classify("get / HTTP/1.1\r\n\r\n") == Answer::kBadRequest);  // methods are upper case
  CHECK(classify("GET /\r\n\r\n") == Answer::kBadRequest);
  CHECK(classify("\r\n\r\n") == Answer::kBadRequest);
}

std::size_t hello_page(void* calls, std::span<char> out) {
  ++*static_cast<int*>(calls);
  const std::string_view text = "hello from the stack\n";
  for (std::size_t i = 0; i < text.size() && i < out.size(); ++i) out[i] = text[i];
  return text.size();
}

// The server as the application's task beside the interface's, and one request from the peer.
struct HttpFixture : TcpFixture {
  HttpFixture() : server(tcp(), tcp().listen(80).value(), HttpShared{&hello_page, &page_calls, {}}) {}

  /// Opens a connection to port 80, sends `request`, and returns what came back until our FIN.
  std::string exchange(const std::string& request) {
    poll_server();
    send(flag::kSyn);
    segment();
    send(flag::kAck);
    poll_server();
    send(flag::kAck | flag::kPsh, testing::text(request.c_str()));
    std::string answer;
    for (int i = 0; i < 20; ++i) {
      poll_server();
      while (std::optional<testing::Bytes> frame = channel.take_sent()) {
        const Sent s = Sent::decode(*frame);
        REQUIRE(s.tcp.has_value());
        answer += as_string(s.payload);
        const std::uint32_t end = s.tcp->sequence + static_cast<std::uint32_t>(s.payload.size()) +
                                  (s.tcp->has(flag::kFin) ? 1 : 0);
        if (seq::gt(end, our_next)) our_next = end;  // the peer's view of our sequence space
        if (s.tcp->has(flag::kFin) || s.tcp->has(flag::kRst)) {
          fin_or_rst = s.tcp->has(flag::kFin) ? "FIN" : "RST";
          return answer;
        }
      }
    }
    return answer;
  }

  void poll_server() {
    (void)d.poll(server);
    run();
  }

  int page_calls = 0;
  Server server;
  std::string fin_or_rst;
};

TEST_CASE("GET / is answered with the page, its length, and a close") {
  HttpFixture f;
  const std::string answer = f.exchange("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: test\r\n\r\n");
  CHECK(answer == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
                  "Connection: close\r\n\r\nhello from the stack\n");
  CHECK(f.fin_or_rst == "FIN");
  CHECK(f.page_calls == 1);
  CHECK(f.server.shared().counters.ok == 1);
  CHECK(f.server.shared().counters.answered == 1);
}

TEST_CASE("HEAD gets the head alone; other paths 404; other methods 405 with Allow") {
  {
    HttpFixture f;
    const std::string answer = f.exchange("HEAD / HTTP/1.1\r\n\r\n");
    CHECK(answer.find("Content-Length: 21\r\n") != std::string::npos);
    CHECK(answer.ends_with("\r\n\r\n"));
  }
  {
    HttpFixture f;
    CHECK(f.exchange("GET /secret HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(f.server.shared().counters.not_found == 1);
  }
  {
    HttpFixture f;
    const std::string answer = f.exchange("PUT / HTTP/1.1\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(answer.find("Allow: GET, HEAD\r\n") != std::string::npos);
  }
}

TEST_CASE("after the answer, the session lingers until the client's FIN, then ends") {
  HttpFixture f;
  f.exchange("GET / HTTP/1.1\r\n\r\n");
  REQUIRE(f.fin_or_rst == "FIN");
  f.send(flag::kAck | flag::kPsh, testing::text("more, which the server reads and throws away"));
  f.send(flag::kAck | flag::kFin);  // acknowledging our FIN
  f.poll_server();
  CHECK(f.tcp().count_in(TcpState::TimeWait) == 1);
  f.d.advance(kTcpTimeWait);
  f.run();
  // The session closed its socket on the client's FIN: after TIME-WAIT the slot is free again.
  CHECK(f.tcp().count_in(TcpState::Done) == kTcpConnections);
  CHECK(f.server.shared().counters.ok == 1);
  CHECK(f.server.shared().counters.failed == 0);
}

TEST_CASE("a client that sends no request within 30 s is reset") {
  HttpFixture f;
  f.poll_server();
  f.send(flag::kSyn);
  f.segment();
  f.send(flag::kAck);
  f.poll_server();
  f.send(flag::kAck | flag::kPsh, testing::text("GET / HT"));  // and then nothing
  f.poll_server();
  f.d.advance(std::chrono::seconds(30));
  f.poll_server();
  bool reset = false;
  while (std::optional<testing::Bytes> frame = f.channel.take_sent()) reset |= Sent::decode(*frame).tcp->has(flag::kRst);
  CHECK(reset);
  CHECK(f.server.shared().counters.timed_out == 1);
}

TEST_CASE("a request head larger than the session's buffer gets 431") {
  HttpFixture f;
  std::string request = "GET / HTTP/1.1\r\nCookie: " + std::string(2000, 'c') + "\r\n\r\n";
  // Sent in pieces the peer's window and our buffer take.
  f.poll_server();
  f.send(flag::kSyn);
  f.segment();
  f.send(flag::kAck);
  f.poll_server();
  f.send(flag::kAck, testing::text(request.substr(0, 1200).c_str()));
  std::string answer;
  for (int i = 0; i < 10 && answer.empty(); ++i) {
    f.poll_server();
    while (std::optional<testing::Bytes> frame = f.channel.take_sent()) answer += as_string(Sent::decode(*frame).payload);
  }
  CHECK(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  CHECK(f.server.shared().counters.bad_request == 1);
}

}  // namespace
}  // namespace pollstack::net
