#pragma once
/// HttpServer: a minimal HTTP/1.1 server (RFC 9112) over TCP: GET of one page, made by the
/// embedder's function at each request (pollstackd: the stack's counters). A TcpServer
/// (tcp_server.h) of HttpSessions: a session reads one request (its
/// head, at most kRequestBytes), answers it, closes the connection (`Connection: close`: our FIN,
/// then what the client still sends is read and dropped for at most 2 s) and ends.
///
///  - GET / (or HEAD /): 200, text/plain, the page, with Content-Length;
///  - GET of any other target: 404; another method: 405 with `Allow: GET, HEAD`;
///  - a request line that does not parse, or a head that does not fit: 400 or 431;
///  - a client that has not sent its request and taken the answer within 30 s is reset.
/// A session's work is bounded (it reads at most kRequestBytes, writes at most its buffer). No
/// heap: every session's buffers are in the pool's slots.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <span>
#include <string_view>

#include "layers/services/tcp_server.h"
#include "layers/tcp/tcp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

/// Fills `out` with the page's body and returns its length (what does not fit is cut off).
using HttpPageWriter = std::size_t (*)(void* context, std::span<char> out);

struct HttpCounters {
  std::uint64_t answered = 0;  // responses written, whatever their status
  std::uint64_t ok = 0;        // 200
  std::uint64_t not_found = 0;
  std::uint64_t bad_method = 0;
  std::uint64_t bad_request = 0;  // 400 and 431
  std::uint64_t failed = 0;       // the connection failed before the answer went out
  std::uint64_t timed_out = 0;    // no complete request, or the answer not taken, within 30 s: reset
};

/// What every session of one server sees: the page and its counters.
struct HttpShared {
  HttpPageWriter page = nullptr;
  void* context = nullptr;
  HttpCounters counters;
};

namespace http {

/// What a request's head asks for.
enum class Answer : std::uint8_t { kPage, kHead, kNotFound, kBadMethod, kBadRequest, kTooLarge };

/// Reads the request line of a complete head (`request` ends with the blank line). RFC 9112 §3:
/// method SP request-target SP HTTP-version CRLF.
constexpr Answer classify(std::string_view request) noexcept {
  const std::size_t line_end = request.find("\r\n");
  if (line_end == std::string_view::npos) return Answer::kBadRequest;
  const std::string_view line = request.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    return Answer::kBadRequest;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Answer::kBadRequest;
  for (char c : method) {
    if (c < 'A' || c > 'Z') return Answer::kBadRequest;
  }
  if (method != "GET" && method != "HEAD") return Answer::kBadMethod;
  if (target != "/" && target != "/index.txt") return Answer::kNotFound;
  return method == "GET" ? Answer::kPage : Answer::kHead;
}

}  // namespace http

/// One connection: read the request head, answer, close.
template <class TcpLayer>
class HttpSession {
 public:
  using Output = void;
  using Shared = HttpShared;
  static constexpr std::size_t kRequestBytes = 1024;
  static constexpr std::size_t kResponseBytes = 16 * 1024;

  HttpSession(TcpLayer& tcp, TcpSocket socket, HttpShared& shared) noexcept
      : shared_(&shared), socket_(tcp, socket, SessionSocket<TcpLayer>::OnRetire::kAbort) {}
  /// Moved only before its first poll (into the pool): its operations point into its buffers.
  HttpSession(HttpSession&& o) noexcept : shared_(o.shared_), socket_(std::move(o.socket_)) {}
  HttpSession& operator=(HttpSession&&) = delete;

  Poll<void> poll(Context& cx) noexcept {
    state_.expect_pollable();
    socket_.take();  // from its first poll, in its slot of the pool
    if (give_up_at_ == Instant{}) give_up_at_ = cx.now() + kRequestTimeout;
    if (state_.get() != State::Lingering && cx.now() >= give_up_at_) {
      // A client that sends no complete request, or does not read the answer, in time: reset, so
      // that it cannot hold a session (and a connection) forever.
      socket_.abort();
      read_.reset();
      write_.reset();
      ++shared_->counters.timed_out;
      state_.set(State::Done);
      return ready();
    }
    if (state_.get() == State::Reading) {
      for (;;) {
        if (!read_) read_.emplace(socket_.read(std::span(request_).subspan(received_)));
        Poll<typename TcpLayer::Read::Output> got = read_->poll(cx);
        if (got.is_pending()) {
          cx.wake_at(give_up_at_);
          return pending;
        }
        read_.reset();
        if (!got.value().ok() || got.value().value() == 0) return end(false);  // failed, or closed before a request
        received_ += got.value().value();
        const std::string_view head(reinterpret_cast<const char*>(request_.data()), received_);
        if (head.find("\r\n\r\n") != std::string_view::npos) {
          respond(http::classify(head));
          break;
        }
        if (received_ == request_.size()) {
          respond(http::Answer::kTooLarge);
          break;
        }
      }
      write_.emplace(socket_.write(std::span<const std::byte>(response_).first(response_length_)));
      state_.set(State::Writing);
    }
    if (state_.get() == State::Writing) {
      Poll<typename TcpLayer::Write::Output> wrote = write_->poll(cx);
      if (wrote.is_pending()) {
        cx.wake_at(give_up_at_);
        return pending;
      }
      write_.reset();
      if (!wrote.value().ok()) return end(false);
      ++shared_->counters.answered;
      // Lingering close (as Apache and nginx do): our FIN follows the answer, and what the client
      // still sends is read and thrown away until its FIN, for at most kLinger. Closing with
      // unread data would reset the connection, and the reset could destroy the answer in flight.
      socket_.shutdown();
      linger_until_ = cx.now() + kLinger;
      state_.set(State::Lingering);
    }
    while (cx.now() < linger_until_) {
      if (!read_) read_.emplace(socket_.read(request_));
      Poll<typename TcpLayer::Read::Output> got = read_->poll(cx);
      if (got.is_pending()) {
        cx.wake_at(linger_until_);
        return pending;
      }
      read_.reset();
      if (!got.value().ok() || got.value().value() == 0) break;
    }
    read_.reset();
    return end(true);
  }

 private:
  enum class State : std::uint8_t { Reading, Writing, Lingering, Done };
  static constexpr auto kTransitions = transitions(State::Reading, {
      {State::Reading, State::Writing, "request head complete, or the buffer full: the answer"},
      {State::Reading, State::Done, "closed or failed before a request, or the request timeout"},
      {State::Writing, State::Lingering, "answer written: our FIN"},
      {State::Writing, State::Done, "write failed, or the request timeout"},
      {State::Lingering, State::Done, "the client's FIN, or the linger time over"},
  });
  static constexpr Duration kLinger = std::chrono::seconds(2);
  /// The time a client has to send its request and take the answer.
  static constexpr Duration kRequestTimeout = std::chrono::seconds(30);

  void respond(http::Answer answer) noexcept {
    char* out = reinterpret_cast<char*>(response_.data());
    const std::size_t room = response_.size();
    const char* status = "200 OK";
    const char* extra = "";
    std::size_t body_length = 0;
    char* body = out + kHeadRoom;
    switch (answer) {
      case http::Answer::kPage:
      case http::Answer::kHead:
        body_length = shared_->page(shared_->context, std::span(body, room - kHeadRoom));
        ++shared_->counters.ok;
        break;
      case http::Answer::kNotFound:
        status = "404 Not Found";
        body_length = copy(body, "not found\n");
        ++shared_->counters.not_found;
        break;
      case http::Answer::kBadMethod:
        status = "405 Method Not Allowed";
        extra = "Allow: GET, HEAD\r\n";
        body_length = copy(body, "only GET and HEAD\n");
        ++shared_->counters.bad_method;
        break;
      case http::Answer::kBadRequest:
      case http::Answer::kTooLarge:
        status = answer == http::Answer::kTooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request";
        body_length = copy(body, "bad request\n");
        ++shared_->counters.bad_request;
        break;
    }
    // The head, then the body moved up against it.
    std::size_t head_length = 0;
    for (std::string_view part : {std::string_view("HTTP/1.1 "), std::string_view(status),
                                  std::string_view("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")}) {
      head_length += copy(out + head_length, part);
    }
    head_length += decimal(out + head_length, body_length);
    for (std::string_view part : {std::string_view("\r\n"), std::string_view(extra),
                                  std::string_view("Connection: close\r\n\r\n")}) {
      head_length += copy(out + head_length, part);
    }
    const std::size_t sent_body = answer == http::Answer::kHead ? 0 : body_length;
    for (std::size_t i = 0; i < sent_body; ++i) out[head_length + i] = body[i];
    response_length_ = head_length + sent_body;
  }

  static std::size_t decimal(char* to, std::size_t value) noexcept {
    char digits[20];
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    for (std::size_t i = 0; i < n; ++i) to[i] = digits[n - 1 - i];
    return n;
  }

  static std::size_t copy(char* to, std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size(); ++i) to[i] = text[i];
    return text.size();
  }

  Poll<void> end(bool answered) noexcept {
    if (!answered) ++shared_->counters.failed;
    socket_.close();
    state_.set(State::Done);
    return ready();
  }

  static constexpr std::size_t kHeadRoom = 256;  // the status line and headers fit in this (at most ~170)

  HttpShared* shared_;
  SessionSocket<TcpLayer> socket_;  // before the operations: they are destroyed first
  std::size_t received_ = 0;
  std::size_t response_length_ = 0;
  Instant give_up_at_{};
  Instant linger_until_{};
  std::optional<typename TcpLayer::Read> read_;
  std::optional<typename TcpLayer::Write> write_;
  std::array<std::byte, kRequestBytes> request_;
  std::array<std::byte, kResponseBytes> response_;
  StateCell<HttpSession, &kTransitions> state_{State::Reading};
};

/// The server: a listener and its sessions, as one task (tcp_server.h).
template <class TcpLayer, std::size_t kSessions>
using HttpServer = TcpServer<TcpLayer, HttpSession<TcpLayer>, kSessions>;

}  // namespace pollstack::net
