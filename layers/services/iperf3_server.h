#pragma once
/// Iperf3Server: a server that Debian's unmodified `iperf3 -c` (and `-c -R`) measures the stack
/// with: the control protocol of iperf3_protocol.h and up to kMaxStreams TCP data connections,
/// one test at a time (as iperf3's own server). One task: a listener, the control connection, the
/// data connections. Forward: it reads and counts what the client sends; reverse: it writes a
/// fixed pattern as fast as the connection takes it. What it does not run it answers as iperf3
/// does: a second client ACCESS_DENIED, UDP/SCTP/bidirectional tests and too many streams
/// SERVER_ERROR with iperf3's error number.
///
/// Deadlines (a silent client never holds the server): 10 s for each setup and results step;
/// the test itself ends at the client's time + omit + 10 s (iperf3's server allows +5 s), or runs
/// unbounded for a byte-count test (time 0), as iperf3's does. Bounded work per poll: at most
/// kOpsPerPoll reads or writes per data connection, kStepsPerPoll state changes. No heap: the
/// buffers (a data chunk each way, the JSON messages) are members.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "layers/common/bytes.h"
#include "layers/services/iperf3_protocol.h"
#include "layers/services/json.h"
#include "layers/tcp/tcp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

struct Iperf3Counters {
  std::uint64_t tests_completed = 0;     // through IPERF_DONE (or the client's close after the results)
  std::uint64_t tests_refused = 0;       // answered SERVER_ERROR (not TCP, bidirectional, too many streams)
  std::uint64_t tests_failed = 0;        // a connection failed or closed mid-test, or a malformed message
  std::uint64_t tests_timed_out = 0;     // a step's deadline passed
  std::uint64_t clients_terminated = 0;  // CLIENT_TERMINATE (the client was interrupted)
  std::uint64_t busy_denied = 0;         // connections answered ACCESS_DENIED: a test was running
  std::uint64_t bad_cookies = 0;         // data connections whose cookie was not the test's
  std::uint64_t bytes_received = 0;      // on data connections, forward tests
  std::uint64_t bytes_sent = 0;          // on data connections, reverse tests
};

template <class TcpLayer, std::size_t kMaxStreams>
class Iperf3Server {
 public:
  using Output = ConnectionError;  // only if the listener fails
  static_assert(kMaxStreams >= 1 && kMaxStreams <= 32);

  static constexpr std::size_t kChunkBytes = 16384;    // one read or write on a data connection
  static constexpr std::size_t kMaxJsonBytes = 4096;   // the longest parameters or results taken
  static constexpr std::uint32_t kOpsPerPoll = 8;      // reads or writes per data connection per poll
  static constexpr std::uint32_t kStepsPerPoll = 16;   // state changes per poll
  static constexpr Duration kStepTimeout = std::chrono::seconds(10);
  static constexpr Duration kTestSlack = std::chrono::seconds(10);

  Iperf3Server(TcpLayer& tcp, TcpListener listener) noexcept : tcp_(&tcp), listener_(listener) {
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<std::byte>('0' + i % 64);
  }
  Iperf3Server(Iperf3Server&&) = delete;  // its operations point into its buffers

  Poll<Output> poll(Context& cx) noexcept {
    state_.expect_pollable();
    for (std::uint32_t step = 0; step < kStepsPerPoll; ++step) {
      if (std::optional<ConnectionError> error = take_connections(cx)) {
        abandon_test();  // to Idle first
        state_.set(State::Done);
        return *error;
      }
      if (state_.get() != State::Idle && cx.now() >= deadline_) {
        ++counters_.tests_timed_out;
        abandon_test();
        continue;
      }
      if (!flush(cx)) {
        fail();
        continue;
      }
      const Step next = advance(cx);
      if (next == Step::kAgain) continue;
      if (next == Step::kYield) break;
      if (state_.get() != State::Idle) cx.wake_at(deadline_);
      return pending;
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

  const Iperf3Counters& counters() const noexcept { return counters_; }

 private:
  using Read = typename TcpLayer::Read;
  using Write = typename TcpLayer::Write;

  enum class State : std::uint8_t { Idle, Cookie, Params, Streams, Running, Results, Finishing, Refusing, Done };
  static constexpr auto kTransitions = transitions(State::Idle, {
      {State::Idle, State::Cookie, "a control connection: read its cookie"},
      {State::Cookie, State::Params, "cookie read: PARAM_EXCHANGE sent"},
      {State::Params, State::Streams, "parameters of a TCP test: CREATE_STREAMS sent"},
      {State::Params, State::Refusing, "a test this server does not run: SERVER_ERROR sent"},
      {State::Streams, State::Running, "every data connection came with the cookie: TEST_START, TEST_RUNNING sent"},
      {State::Running, State::Results, "TEST_END: data connections closed, EXCHANGE_RESULTS sent"},
      {State::Results, State::Finishing, "the client's results read: ours and DISPLAY_RESULTS sent"},
      {State::Finishing, State::Idle, "IPERF_DONE or the client's close (the test is over); a failure, a timeout, or the listener closed"},
      {State::Refusing, State::Idle, "the error sent: closed (or a failure, a timeout, or the listener closed: reset)"},
      {State::Cookie, State::Idle, "a failure, a timeout, CLIENT_TERMINATE, or the listener closed: everything reset"},
      {State::Params, State::Idle, "a failure, a timeout, CLIENT_TERMINATE, or the listener closed: everything reset"},
      {State::Streams, State::Idle, "a failure, a timeout, CLIENT_TERMINATE, or the listener closed: everything reset"},
      {State::Running, State::Idle, "a failure, a timeout, CLIENT_TERMINATE, or the listener closed: everything reset"},
      {State::Results, State::Idle, "a failure, a timeout, CLIENT_TERMINATE, or the listener closed: everything reset"},
      {State::Idle, State::Done, "accept failed: the listener closed (a test in progress reset first)"},
  });

  enum class Step : std::uint8_t { kWait, kAgain, kYield };
  enum class Fill : std::uint8_t { kDone, kPending, kClosed };

  /// One data connection of the test.
  struct Stream {
    TcpSocket socket;
    bool socket_open = false;  // ours to close
    bool live = false;         // moving data: neither ended nor failed
    std::uint64_t bytes = 0;
    std::optional<Read> read;
    std::optional<Write> write;
  };

  // ---- Connections arriving -----------------------------------------------------------------

  /// Takes what the listener has: the control connection when idle, a candidate data connection
  /// while streams are being created, and anyone else is denied. An error: the listener failed.
  std::optional<ConnectionError> take_connections(Context& cx) noexcept {
    for (;;) {
      if (state_.get() == State::Streams && candidate_) return std::nullopt;  // one cookie at a time
      if (!accept_) accept_.emplace(tcp_->accept(listener_));
      Poll<typename TcpLayer::Accept::Output> got = accept_->poll(cx);
      if (got.is_pending()) return std::nullopt;
      accept_.reset();
      if (!got.value().ok()) return got.value().error();
      const TcpSocket socket = got.value().value();
      if (state_.get() == State::Idle) {
        control_ = socket;
        tcp_->set_nodelay(socket, true);
        enter(State::Cookie, cx.now() + kStepTimeout);
      } else if (state_.get() == State::Streams) {
        candidate_ = socket;
        candidate_got_ = 0;
      } else {
        ++counters_.busy_denied;
        deny(cx, socket);
      }
    }
  }

  /// ACCESS_DENIED and a close. What the client sent (its cookie) is read and dropped first:
  /// closing with data unread would reset the connection before the answer left. A new
  /// connection's send buffer has room for one byte; were it not so, it is reset instead.
  void deny(Context& cx, TcpSocket socket) noexcept {
    static constexpr std::array<std::byte, 1> kDenied{iperf3::byte_of(iperf3::Message::kAccessDenied)};
    for (std::uint32_t n = 0; n < kOpsPerPoll; ++n) {
      Read drain = tcp_->read(socket, scratch_);
      Poll<typename Read::Output> got = drain.poll(cx);
      if (got.is_pending() || !got.value().ok() || got.value().value() == 0) break;
    }
    Write write = tcp_->write(socket, kDenied);
    if (write.poll(cx).is_pending()) {
      tcp_->abort(socket);
    } else {
      tcp_->close(socket);
    }
  }

  // ---- The control connection ---------------------------------------------------------------

  /// Queues bytes for the client; flush() writes them. False if they do not fit (not expected:
  /// the buffer holds the longest message).
  bool send(std::span<const std::byte> bytes) noexcept {
    if (bytes.size() > out_.size() - out_used_) return false;
    std::memcpy(out_.data() + out_used_, bytes.data(), bytes.size());
    out_used_ += bytes.size();
    return true;
  }
  bool send(iperf3::Message m) noexcept {
    const std::byte b = iperf3::byte_of(m);
    return send(std::span(&b, 1));
  }
  /// A 4-byte big-endian number: a JSON message's length, an error number.
  bool send_u32(std::uint32_t n) noexcept {
    std::array<std::byte, 4> be{};
    wire::write_u32(be, 0, n);
    return send(be);
  }

  /// Writes what is queued. False: the control connection failed.
  bool flush(Context& cx) noexcept {
    while (out_sent_ < out_used_ || write_) {
      if (!write_) {
        write_end_ = out_used_;
        write_.emplace(tcp_->write(control_, std::span<const std::byte>(out_).subspan(out_sent_, write_end_ - out_sent_)));
      }
      Poll<typename Write::Output> wrote = write_->poll(cx);
      if (wrote.is_pending()) return true;
      write_.reset();
      if (!wrote.value().ok()) return false;
      out_sent_ = write_end_;
    }
    out_sent_ = out_used_ = 0;
    return true;
  }
  bool flushed() const noexcept { return out_used_ == 0 && !write_; }

  /// Reads into `dest` until it is full: kDone, kPending, or kClosed (the end of the stream or an
  /// error: either ends the test).
  Fill fill(Context& cx, TcpSocket socket, std::optional<Read>& op, std::span<std::byte> dest, std::size_t& got) noexcept {
    while (got < dest.size()) {
      if (!op) op.emplace(tcp_->read(socket, dest.subspan(got)));
      Poll<typename Read::Output> r = op->poll(cx);
      if (r.is_pending()) return Fill::kPending;
      op.reset();
      if (!r.value().ok() || r.value().value() == 0) return Fill::kClosed;
      got += r.value().value();
    }
    return Fill::kDone;
  }

  /// Reads a length-prefixed JSON message (4 bytes big-endian, then the text) into in_:
  /// kDone with json_length_ set, kPending, or kClosed (also for a length past kMaxJsonBytes).
  Fill fill_json(Context& cx) noexcept {
    if (json_length_ == 0) {
      const Fill got = fill(cx, control_, control_read_, std::span(in_).first(4), in_got_);
      if (got != Fill::kDone) return got;
      const std::size_t n = wire::read_u32(in_, 0);
      if (n == 0 || n > kMaxJsonBytes) return Fill::kClosed;
      json_length_ = n;
      in_got_ = 0;
    }
    return fill(cx, control_, control_read_, std::span(in_).first(json_length_), in_got_);
  }
  std::string_view json_text() const noexcept {
    return {reinterpret_cast<const char*>(in_.data()), json_length_};
  }

  // ---- The states ---------------------------------------------------------------------------

  Step advance(Context& cx) noexcept {
    switch (state_.get()) {
      case State::Idle:
      case State::Done:
        return Step::kWait;
      case State::Cookie: {
        const Fill got = fill(cx, control_, control_read_, cookie_, in_got_);
        if (got == Fill::kPending) return Step::kWait;
        if (got == Fill::kClosed) return fail();
        in_got_ = 0;
        json_length_ = 0;
        send(iperf3::Message::kParamExchange);
        return enter(State::Params, cx.now() + kStepTimeout);
      }
      case State::Params: {
        const Fill got = fill_json(cx);
        if (got == Fill::kPending) return Step::kWait;
        if (got == Fill::kClosed) return fail();
        iperf3::ParamsError why{};
        const std::optional<iperf3::TestParams> params = iperf3::parse_params(json_text(), kMaxStreams, &why);
        in_got_ = 0;
        json_length_ = 0;
        if (!params) {
          if (why == iperf3::ParamsError::kMalformed) return fail();
          ++counters_.tests_refused;
          send(iperf3::Message::kServerError);
          send_u32(static_cast<std::uint32_t>(iperf3::error_number(why)));
          send_u32(0);  // errno: none
          return enter(State::Refusing, cx.now() + kStepTimeout);
        }
        params_ = *params;
        opened_ = 0;
        send(iperf3::Message::kCreateStreams);
        return enter(State::Streams, cx.now() + kStepTimeout);
      }
      case State::Streams:
        return take_stream(cx);
      case State::Running:
        return run(cx);
      case State::Results: {
        const Fill got = fill_json(cx);
        if (got == Fill::kPending) return Step::kWait;
        if (got == Fill::kClosed || !JsonObject::parse(json_text())) return fail();
        in_got_ = 0;
        json_length_ = 0;
        std::array<iperf3::StreamResult, kMaxStreams> results{};
        for (std::size_t i = 0; i < opened_; ++i) results[i].bytes = streams_[i].bytes;
        std::array<char, kMaxJsonBytes> text{};
        const std::size_t n =
            iperf3::format_results(text, std::span(results).first(opened_), elapsed_us_, congestion_name_);
        if (n == 0 || !send_u32(static_cast<std::uint32_t>(n)) || !send(std::as_bytes(std::span(text).first(n))) ||
            !send(iperf3::Message::kDisplayResults)) {
          return fail();
        }
        return enter(State::Finishing, cx.now() + kStepTimeout);
      }
      case State::Finishing: {
        const Fill got = fill(cx, control_, control_read_, std::span(in_).first(1), in_got_);
        if (got == Fill::kPending) return Step::kWait;
        if (!flushed()) return Step::kWait;  // IPERF_DONE before our results left: finish sending first
        ++counters_.tests_completed;  // IPERF_DONE, or the client closed: either way it has our results
        close_test();
        return Step::kAgain;
      }
      case State::Refusing:
        if (!flushed()) return Step::kWait;
        close_test();
        return Step::kAgain;
    }
    return Step::kWait;
  }

  /// Streams: read each candidate's cookie; the test's makes it a stream, another is denied.
  Step take_stream(Context& cx) noexcept {
    if (!candidate_) return Step::kWait;
    const Fill got = fill(cx, *candidate_, candidate_read_, candidate_cookie_, candidate_got_);
    if (got == Fill::kPending) return Step::kWait;
    const TcpSocket socket = *candidate_;
    candidate_.reset();
    if (got == Fill::kClosed) {
      tcp_->abort(socket);
      return Step::kAgain;
    }
    if (candidate_cookie_ != cookie_) {
      ++counters_.bad_cookies;
      deny(cx, socket);
      return Step::kAgain;
    }
    Stream& s = streams_[opened_++];
    s.socket = socket;
    s.socket_open = true;
    s.live = true;
    s.bytes = 0;
    if (opened_ < params_.streams) return Step::kAgain;
    send(iperf3::Message::kTestStart);
    send(iperf3::Message::kTestRunning);
    started_ = cx.now();
    sent_total_ = 0;
    const Duration limit = params_.duration_s == 0
                               ? kNever - cx.now()
                               : std::chrono::seconds(params_.duration_s + params_.omit_s) + kTestSlack;
    return enter(State::Running, cx.now() + limit);
  }

  /// Running: the data moves until the client's TEST_END (or CLIENT_TERMINATE).
  Step run(Context& cx) noexcept {
    const Fill got = fill(cx, control_, control_read_, std::span(in_).first(1), in_got_);
    if (got == Fill::kClosed) return fail();
    if (got == Fill::kDone) {
      in_got_ = 0;
      switch (static_cast<iperf3::Message>(static_cast<std::int8_t>(in_[0]))) {
        case iperf3::Message::kTestEnd:
          end_streams(cx.now());
          send(iperf3::Message::kExchangeResults);
          return enter(State::Results, cx.now() + kStepTimeout);
        case iperf3::Message::kClientTerminate:
          ++counters_.clients_terminated;
          close_test();
          return Step::kAgain;
        case iperf3::Message::kTestStart:
        case iperf3::Message::kIperfDone:
          return Step::kAgain;  // iperf3's server ignores these here
        default:
          return fail();
      }
    }
    bool budget_spent = false;
    for (std::size_t i = 0; i < opened_; ++i) budget_spent |= move_data(cx, streams_[i]);
    return budget_spent ? Step::kYield : Step::kWait;
  }

  /// One stream's reads (forward) or writes (reverse), kOpsPerPoll at most. True if it stopped
  /// only because of that budget.
  bool move_data(Context& cx, Stream& s) noexcept {
    if (!s.live) return false;
    for (std::uint32_t n = 0; n < kOpsPerPoll; ++n) {
      if (params_.reverse) {
        std::size_t chunk = kChunkBytes;
        if (params_.bytes != 0) {
          if (sent_total_ >= params_.bytes) return false;  // the byte count is sent: the client ends the test
          chunk = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, params_.bytes - sent_total_));
        }
        if (!s.write) s.write.emplace(tcp_->write(s.socket, std::span<const std::byte>(pattern_).first(chunk)));
        Poll<typename Write::Output> wrote = s.write->poll(cx);
        if (wrote.is_pending()) return false;
        s.write.reset();
        if (!wrote.value().ok()) return stream_ended(s);
        s.bytes += wrote.value().value();
        sent_total_ += wrote.value().value();
        counters_.bytes_sent += wrote.value().value();
      } else {
        if (!s.read) s.read.emplace(tcp_->read(s.socket, scratch_));
        Poll<typename Read::Output> got = s.read->poll(cx);
        if (got.is_pending()) return false;
        s.read.reset();
        if (!got.value().ok() || got.value().value() == 0) return stream_ended(s);
        s.bytes += got.value().value();
        counters_.bytes_received += got.value().value();
      }
    }
    return true;
  }

  /// A data connection ended or failed before TEST_END: it moves no more data; the test waits
  /// for the client's TEST_END (or its deadline), as iperf3's server does.
  bool stream_ended(Stream& s) noexcept {
    s.live = false;
    return false;
  }

  /// TEST_END: the time the test ran, then every data connection closed (a forward stream with
  /// data still unread is reset, as Linux does on close).
  void end_streams(Instant now) noexcept {
    elapsed_us_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count());
    const std::optional<typename TcpLayer::Info> info = opened_ > 0 ? tcp_->info(streams_[0].socket) : std::nullopt;
    congestion_name_ = info && info->congestion == CongestionControl::kNewReno ? "reno" : "cubic";
    release_streams(/*graceful=*/true);
  }

  /// Lets go of every data connection still held: closed (what was written still goes out), or
  /// reset. Their byte counts stay, for the results.
  void release_streams(bool graceful) noexcept {
    for (std::size_t i = 0; i < opened_; ++i) {
      Stream& s = streams_[i];
      s.read.reset();
      s.write.reset();
      if (s.socket_open) graceful ? tcp_->close(s.socket) : tcp_->abort(s.socket);
      s.socket_open = false;
      s.live = false;
    }
  }

  // ---- Ending a test ------------------------------------------------------------------------

  Step enter(State next, Instant deadline) noexcept {
    state_.set(next);
    deadline_ = deadline;
    return Step::kAgain;
  }

  /// A malformed message, or a connection that failed or closed mid-test.
  Step fail() noexcept {
    ++counters_.tests_failed;
    abandon_test();
    return Step::kAgain;
  }

  /// Resets every connection of the test.
  void abandon_test() noexcept { finish_test(/*graceful=*/false); }
  /// Closes every connection of the test (what was written still goes out).
  void close_test() noexcept { finish_test(/*graceful=*/true); }

  void finish_test(bool graceful) noexcept {
    if (state_.get() == State::Idle || state_.get() == State::Done) return;
    control_read_.reset();
    write_.reset();
    candidate_read_.reset();
    out_sent_ = out_used_ = 0;
    in_got_ = 0;
    json_length_ = 0;
    release_streams(graceful);
    opened_ = 0;
    if (candidate_) tcp_->abort(*candidate_);
    candidate_.reset();
    graceful ? tcp_->close(control_) : tcp_->abort(control_);
    state_.set(State::Idle);
    deadline_ = kNever;
  }

  TcpLayer* tcp_;
  TcpListener listener_;
  std::optional<typename TcpLayer::Accept> accept_;
  Iperf3Counters counters_;
  Instant deadline_ = kNever;

  // The test in progress.
  TcpSocket control_;
  std::array<std::byte, iperf3::kCookieBytes> cookie_{};
  iperf3::TestParams params_;
  std::array<Stream, kMaxStreams> streams_;
  std::size_t opened_ = 0;
  std::optional<TcpSocket> candidate_;  // a connection whose cookie is being read
  std::array<std::byte, iperf3::kCookieBytes> candidate_cookie_{};
  std::size_t candidate_got_ = 0;
  std::optional<Read> candidate_read_;
  Instant started_{};
  std::uint64_t elapsed_us_ = 0;
  std::uint64_t sent_total_ = 0;
  std::string_view congestion_name_ = "cubic";

  // The control connection's reads (cookie, messages, JSON) and writes.
  std::optional<Read> control_read_;
  std::array<std::byte, kMaxJsonBytes> in_{};
  std::size_t in_got_ = 0;
  std::size_t json_length_ = 0;
  std::optional<Write> write_;
  std::array<std::byte, 16 + kMaxJsonBytes> out_{};
  std::size_t out_used_ = 0, out_sent_ = 0, write_end_ = 0;

  std::array<std::byte, kChunkBytes> scratch_{};  // forward data, read and dropped
  std::array<std::byte, kChunkBytes> pattern_{};  // reverse data
  StateCell<Iperf3Server, &kTransitions> state_{State::Idle};
};

}  // namespace pollstack::net
