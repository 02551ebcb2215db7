#include "driver_channel/doorbell.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace pollstack::driver_channel {

Doorbell::Doorbell() noexcept : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) error_ = errno;
}

Doorbell::Doorbell(Doorbell&& other) noexcept : fd_(std::exchange(other.fd_, -1)), error_(other.error_) {}

Doorbell::~Doorbell() {
  if (fd_ >= 0) close(fd_);
}

void Doorbell::ring() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the other side is already certain to wake.
  [[maybe_unused]] const ssize_t n = write(fd_, &one, sizeof one);
}

bool Doorbell::wait(int timeout_ms) noexcept {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  return clear();
}

bool Doorbell::clear() noexcept {
  std::uint64_t count = 0;  // the fd is non-blocking: an unrung bell reads EAGAIN
  return read(fd_, &count, sizeof count) == sizeof count;
}

}  // namespace pollstack::driver_channel
