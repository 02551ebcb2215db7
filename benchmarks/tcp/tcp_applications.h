#pragma once
// The applications the TCP benchmark runs over a TcpWorld (tcp_world.h): a bulk stream from A to
// B checked byte for byte (BulkStream), and a 64-byte request/response (RoundTrip). Each polls its
// operations only when their wakers fired, between the world's turns, and allocates nothing.
//
// Benchmark: tcp_benchmark.cc. Tests: tests/benchmarks/tcp_bulk_test.cc.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "benchmarks/tcp/stream_pattern.h"
#include "benchmarks/tcp/tcp_world.h"

namespace pollstack::bench {

/// The bulk benchmark's applications: A's writes the pattern stream (stream_pattern.h) as fast as
/// TCP takes it, B's reads it and checks every byte. The stream does not end between transfers:
/// transfer(n) returns once n more bytes were read, the writer ahead by what the buffers hold, so
/// every transfer after the first runs in TCP's steady state (no slow start, no Nagle-held tail).
template <std::size_t kBufferBytes>
class BulkStream {
 public:
  using World = TcpWorld<kBufferBytes>;
  using Tcp = typename World::Tcp;
  static constexpr std::size_t kWriteBytes = 16 * 1024;  // per write
  static constexpr std::size_t kReadBytes = 16 * 1024;   // per read, each checked as it arrives
  /// A wait with nothing read for longer than this is a pause (a delayed ACK, a timeout): counted.
  static constexpr Duration kPause = std::chrono::milliseconds(1);
  /// Two turns this far apart mean the thread was not running in between (another process had
  /// the core: a turn takes microseconds). That time is not the stack's, and no pause counts it.
  static constexpr Duration kDescheduled = std::chrono::microseconds(200);

  explicit BulkStream(World& world) noexcept : world_(&world) {}
  BulkStream(const BulkStream&) = delete;  // its operations point into its buffers
  BulkStream& operator=(const BulkStream&) = delete;

  /// Runs until `bytes` more have been read and checked. False (failure() says why) if a byte
  /// arrived wrong, an operation failed, or nothing arrived for kGiveUpAfter.
  bool transfer(std::uint64_t bytes) noexcept {
    const std::uint64_t target = verified_ + bytes;
    return run([&] { return verified_ >= target; });
  }

  /// Ends the stream: the write in progress completes, A shuts its sending side down (FIN), and
  /// B reads to the end of the stream, which must come exactly after the last byte written.
  bool finish() noexcept {
    stopping_ = true;
    if (!run([&] { return end_of_stream_; })) return false;
    if (verified_ != written_) return fail("the stream ended before every byte written was read");
    return true;
  }

  std::uint64_t written() const noexcept { return written_; }
  std::uint64_t verified() const noexcept { return verified_; }
  const char* failure() const noexcept { return failure_; }
  /// The stream offset of the first wrong byte, after a failure for one.
  std::optional<std::uint64_t> mismatch() const noexcept { return mismatch_; }
  /// Waits longer than kPause with nothing read while the thread kept running, and the longest
  /// wait: what the stack held the stream up for.
  std::uint64_t pauses() const noexcept { return pauses_; }
  Duration longest_pause() const noexcept { return longest_pause_; }
  /// Times the thread was seen not running for over kDescheduled (a loaded machine).
  std::uint64_t descheduled() const noexcept { return descheduled_; }
  /// Tests: the writer sends the byte at `offset` (not written yet) wrong, and the reader must
  /// catch it.
  void corrupt_byte_at(std::uint64_t offset) noexcept { corrupt_at_ = offset; }

 private:
  template <class Done>
  bool run(Done done) noexcept {
    Instant last_progress = SteadyClock::now();
    Instant last_turn = last_progress;
    Duration away{0};  // since the last progress, time the thread did not run
    std::uint64_t seen = verified_;
    while (!done() && failure_ == nullptr) {
      if (writer_.take()) write();
      if (reader_.take()) read();
      if (stopping_ && !write_ && !shut_down_) {
        shut_down_ = true;
        if (world_->a().tcp().shutdown(world_->client())) return fail("the shutdown failed");
      }
      world_->turn();
      if (world_->failure() != nullptr) return fail(world_->failure());
      const Instant now = world_->now();
      if (now - last_turn > kDescheduled) {
        away += now - last_turn;
        ++descheduled_;
      }
      last_turn = now;
      if (verified_ != seen || end_of_stream_) {
        const Duration waited = now - last_progress - away;
        if (waited > kPause) ++pauses_;
        longest_pause_ = std::max(longest_pause_, waited);
        seen = verified_;
        last_progress = now;
        away = Duration{0};
      } else if (now - last_progress > kGiveUpAfter) {
        return fail("nothing arrived for 10 s");
      }
    }
    return failure_ == nullptr;
  }

  // Writes chunks until one is Pending (the send buffer is full: its waker raises the flag).
  void write() noexcept {
    for (;;) {
      if (!write_) {
        if (stopping_) return;
        fill_pattern(written_, out_);
        if (corrupt_at_ >= written_ && corrupt_at_ - written_ < kWriteBytes) out_[corrupt_at_ - written_] ^= std::byte{1};
        write_.emplace(world_->a().tcp().write(world_->client(), out_));
      }
      Context cx = world_->context(writer_);
      Poll<typename Tcp::Write::Output> done = write_->poll(cx);
      if (done.is_pending()) return;
      write_.reset();
      if (!done.value().ok()) return (void)fail("a write failed");
      written_ += done.value().value();
    }
  }

  // Reads and checks until a read is Pending (nothing left: its waker raises the flag).
  void read() noexcept {
    while (!end_of_stream_) {
      if (!read_) read_.emplace(world_->b().tcp().read(world_->server(), in_));
      Context cx = world_->context(reader_);
      Poll<typename Tcp::Read::Output> got = read_->poll(cx);
      if (got.is_pending()) return;
      read_.reset();
      if (!got.value().ok()) return (void)fail("a read failed");
      const std::size_t n = got.value().value();
      if (n == 0) {
        end_of_stream_ = true;
        if (!stopping_) fail("the stream ended before the writer shut down");
        return;
      }
      if (const std::optional<std::size_t> wrong = first_mismatch(verified_, std::span(in_).first(n))) {
        mismatch_ = verified_ + *wrong;
        return (void)fail("a byte arrived wrong");
      }
      verified_ += n;
      // A write still in progress may have put up to a chunk into the send buffer already.
      if (verified_ > written_ + (write_ ? kWriteBytes : 0)) return (void)fail("more arrived than was written");
    }
  }

  bool fail(const char* why) noexcept {
    if (failure_ == nullptr) failure_ = why;
    return false;
  }

  World* world_;
  WakeFlag writer_;  // before the operations, whose waiters hold their wakers
  WakeFlag reader_;
  std::uint64_t written_ = 0;   // bytes of completed writes
  std::uint64_t verified_ = 0;  // bytes read and checked
  std::uint64_t corrupt_at_ = ~std::uint64_t{0};
  std::optional<std::uint64_t> mismatch_;
  std::uint64_t pauses_ = 0;
  Duration longest_pause_{0};
  std::uint64_t descheduled_ = 0;
  bool stopping_ = false;
  bool shut_down_ = false;
  bool end_of_stream_ = false;
  const char* failure_ = nullptr;
  std::array<std::byte, kWriteBytes> out_{};
  std::array<std::byte, kReadBytes> in_{};
  std::optional<typename Tcp::Write> write_;
  std::optional<typename Tcp::Read> read_;
};

/// The latency benchmark's applications: A writes a 64-byte request, B reads all 64 and writes
/// them back, A reads the 64 and checks them. Nagle is off at both ends (TCP_NODELAY), as a
/// request/response protocol sets it; each answer carries the ACK of its request.
template <std::size_t kBufferBytes>
class RoundTrip {
 public:
  using World = TcpWorld<kBufferBytes>;
  using Tcp = typename World::Tcp;
  static constexpr std::size_t kBytes = 64;

  explicit RoundTrip(World& world) noexcept : world_(&world) {
    world.a().tcp().set_nodelay(world.client(), true);
    world.b().tcp().set_nodelay(world.server(), true);
  }
  RoundTrip(const RoundTrip&) = delete;  // its operations point into its buffers
  RoundTrip& operator=(const RoundTrip&) = delete;

  /// One request and its answer. False (failure() says why) if an operation failed, the answer
  /// was not the request, or nothing moved for kGiveUpAfter.
  bool once() noexcept {
    Tcp& a = world_->a().tcp();
    Tcp& b = world_->b().tcp();
    fill_pattern(exchanges_ * kBytes, request_);  // each request differs from the one before
    client_write_.emplace(a.write(world_->client(), request_));
    std::size_t served = 0;    // request bytes B has read
    std::size_t answered = 0;  // answer bytes A has read
    bool echoed = false;       // B's answer completely written
    client_writer_.raise();
    server_reader_.raise();
    client_reader_.raise();
    const Instant give_up = SteadyClock::now() + kGiveUpAfter;
    for (;;) {
      if (client_write_ && client_writer_.take() && !poll_write(client_write_, client_writer_)) return false;
      while (served < kBytes && server_reader_.take()) {
        if (!read_into(b, world_->server(), server_read_, server_reader_, echo_, served)) return false;
        if (served == kBytes) {
          server_write_.emplace(b.write(world_->server(), echo_));
          server_writer_.raise();
        }
      }
      if (server_write_ && server_writer_.take()) {
        if (!poll_write(server_write_, server_writer_)) return false;
        echoed = !server_write_.has_value();
      }
      while (answered < kBytes && client_reader_.take()) {
        if (!read_into(a, world_->client(), client_read_, client_reader_, answer_, answered)) return false;
      }
      if (answered == kBytes && echoed && !client_write_) break;
      world_->turn();
      if (world_->failure() != nullptr) return fail(world_->failure());
      if (world_->now() > give_up) return fail("a round trip did not complete in 10 s");
    }
    if (answer_ != request_) return fail("the answer was not the request");
    ++exchanges_;
    return true;
  }

  std::uint64_t exchanges() const noexcept { return exchanges_; }
  const char* failure() const noexcept { return failure_; }

 private:
  // Polls a write; once Ready it is reset (all kBytes written). False on an error.
  bool poll_write(std::optional<typename Tcp::Write>& write, WakeFlag& flag) noexcept {
    Context cx = world_->context(flag);
    Poll<typename Tcp::Write::Output> done = write->poll(cx);
    if (done.is_pending()) return true;
    write.reset();
    return done.value().ok() && done.value().value() == kBytes ? true : fail("a write failed");
  }

  // Reads into `into` from `filled` on, as far as one read goes; raises `flag` again if it got
  // bytes (more may be there). False on an error or the end of the stream.
  bool read_into(Tcp& tcp, net::TcpSocket socket, std::optional<typename Tcp::Read>& read, WakeFlag& flag,
                 std::array<std::byte, kBytes>& into, std::size_t& filled) noexcept {
    if (!read) read.emplace(tcp.read(socket, std::span(into).subspan(filled)));
    Context cx = world_->context(flag);
    Poll<typename Tcp::Read::Output> got = read->poll(cx);
    if (got.is_pending()) return true;
    read.reset();
    if (!got.value().ok() || got.value().value() == 0) return fail("a read failed, or the stream ended");
    filled += got.value().value();
    flag.raise();
    return true;
  }

  bool fail(const char* why) noexcept {
    if (failure_ == nullptr) failure_ = why;
    return false;
  }

  World* world_;
  WakeFlag client_writer_;  // before the operations, whose waiters hold their wakers
  WakeFlag server_reader_;
  WakeFlag server_writer_;
  WakeFlag client_reader_;
  std::uint64_t exchanges_ = 0;
  const char* failure_ = nullptr;
  std::array<std::byte, kBytes> request_{};
  std::array<std::byte, kBytes> echo_{};    // what B read, written back
  std::array<std::byte, kBytes> answer_{};  // what A read
  std::optional<typename Tcp::Write> client_write_;
  std::optional<typename Tcp::Read> server_read_;
  std::optional<typename Tcp::Write> server_write_;
  std::optional<typename Tcp::Read> client_read_;
};

}  // namespace pollstack::bench
