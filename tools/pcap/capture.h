#pragma once
// Capture: every frame handed to record() goes into a pcap file (nanosecond timestamps, link type
// Ethernet), written by a thread of its own so that the caller, the stack's thread on its data
// path, never waits for the disk. Between the two is one fixed ring of bytes allocated when the
// capture opens: record() copies the frame in (no allocation, no lock, no system call but the
// clock's vDSO read) or, when the ring has no room because the disk is slower than the link, counts
// the frame as dropped. Nothing is lost silently: the counters say what was written and what not.
//
// One thread calls record(); the capture's own thread writes. Used by pollstackd --pcap.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>

#include "tools/pcap/pcap_format.h"

namespace pollstack::pcap {

struct CaptureCounters {
  std::uint64_t frames = 0;         // recorded: in the file once stop() returns true
  std::uint64_t dropped = 0;        // not recorded: the ring was full (the writer fell behind)
  std::uint64_t bytes_written = 0;  // to the file, headers included
  int write_error = 0;              // errno of the write that failed, 0 if none did
};

class Capture {
 public:
  static constexpr std::size_t kDefaultRingBytes = std::size_t{8} << 20;

  // Creates (or truncates) `path`, writes the file header and starts the writer. `ring_bytes` is
  // rounded up to a power of two, at least 64 KiB. Null, with errno's value in `*error`, if the
  // file cannot be created or written.
  static std::unique_ptr<Capture> open(const char* path, std::size_t ring_bytes, int* error);

  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture();  // stop()s if not stopped

  // Records one frame, stamped with the current time (CLOCK_REALTIME). Never blocks.
  void record(std::span<const std::byte> frame) noexcept;

  // Writes out what the ring holds, ends the writer and closes the file. True if every recorded
  // frame is in the file. Idempotent; record() must not be called after it.
  bool stop() noexcept;

  // On the recording thread: `frames` and `dropped` at any time, the writer's two once stopped
  // (0 before).
  CaptureCounters counters() const noexcept;

 private:
  Capture(int fd, std::size_t ring_bytes);
  void write_loop() noexcept;
  bool write_all(const std::byte* data, std::size_t size) noexcept;

  const int fd_;
  const std::size_t mask_;                // ring size - 1
  std::unique_ptr<std::byte[]> ring_;
  // Free-running byte counts: the recorder advances head_, the writer tail_.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::atomic<bool> stopping_{false};
  struct {
    std::uint64_t frames = 0;
    std::uint64_t dropped = 0;
  } recorded_;  // the recording thread's
  struct {
    std::uint64_t bytes_written = sizeof(GlobalHeader);  // open() wrote it
    int write_error = 0;
  } written_;   // the writer's
  bool stopped_ = false;
  std::thread writer_;  // last: started once the rest is built
};

}  // namespace pollstack::pcap
