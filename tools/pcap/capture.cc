#include "tools/pcap/capture.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tools/pcap/pcap_format.h"

namespace pollstack::pcap {

std::unique_ptr<Capture> Capture::open(const char* path, std::size_t ring_bytes, int* error) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = errno;
    return nullptr;
  }
  const GlobalHeader header{.magic = kNanosecondMagic};
  if (::write(fd, &header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
    *error = errno != 0 ? errno : EIO;
    ::close(fd);
    return nullptr;
  }
  std::size_t size = std::size_t{64} << 10;
  while (size < ring_bytes) size <<= 1;
  return std::unique_ptr<Capture>(new Capture(fd, size));
}

Capture::Capture(int fd, std::size_t ring_bytes)
    : fd_(fd), mask_(ring_bytes - 1), ring_(new std::byte[ring_bytes]), writer_([this] { write_loop(); }) {}

Capture::~Capture() { stop(); }

void Capture::record(std::span<const std::byte> frame) noexcept {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const std::uint32_t length = static_cast<std::uint32_t>(frame.size());
  const RecordHeader header{static_cast<std::uint32_t>(now.tv_sec), static_cast<std::uint32_t>(now.tv_nsec), length,
                            length};
  const std::uint64_t head = head_.load(std::memory_order_relaxed);
  const std::uint64_t tail = tail_.load(std::memory_order_acquire);
  if (mask_ + 1 - (head - tail) < sizeof header + length) {
    ++recorded_.dropped;
    return;
  }
  // Copies `size` bytes in at byte count `at`, in two pieces where the ring wraps.
  auto copy_in = [this](std::uint64_t at, const void* data, std::size_t size) {
    const std::size_t offset = static_cast<std::size_t>(at) & mask_;
    const std::size_t first = std::min(size, mask_ + 1 - offset);
    std::memcpy(ring_.get() + offset, data, first);
    std::memcpy(ring_.get(), static_cast<const std::byte*>(data) + first, size - first);
  };
  copy_in(head, &header, sizeof header);
  copy_in(head + sizeof header, frame.data(), length);
  head_.store(head + sizeof header + length, std::memory_order_release);
  ++recorded_.frames;
}

void Capture::write_loop() noexcept {
  std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  for (;;) {
    // Read stopping_ first: a head_ read after it sees every record made before stop().
    const bool last = stopping_.load(std::memory_order_acquire);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    if (head == tail) {
      if (last) return;
      const timespec nap{0, 1'000'000};  // 1 ms: at 10 Gbit/s, 1.25 MB, well within the ring
      nanosleep(&nap, nullptr);
      continue;
    }
    const std::size_t offset = static_cast<std::size_t>(tail) & mask_;
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(head - tail, mask_ + 1 - offset));
    // After a failed write, bytes are still consumed (the recorder must not stall) but not
    // written: stop() then reports the error.
    if (written_.write_error == 0) write_all(ring_.get() + offset, size);
    tail += size;
    tail_.store(tail, std::memory_order_release);
  }
}

bool Capture::write_all(const std::byte* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      written_.write_error = n < 0 ? errno : EIO;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    written_.bytes_written += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool Capture::stop() noexcept {
  if (!stopped_) {
    stopped_ = true;
    stopping_.store(true, std::memory_order_release);
    writer_.join();
    if (::close(fd_) != 0 && written_.write_error == 0) written_.write_error = errno;
  }
  return written_.write_error == 0;
}

CaptureCounters Capture::counters() const noexcept {
  // The writer's half is read only once it has stopped (joined: no race).
  return {recorded_.frames, recorded_.dropped, stopped_ ? written_.bytes_written : 0,
          stopped_ ? written_.write_error : 0};
}

}  // namespace pollstack::pcap
