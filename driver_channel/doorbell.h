#pragma once
/// Doorbell: an eventfd one side rings to wake the other. Rung only when the other side said it
/// is about to sleep (see ring.h), so a busy channel makes no system calls.

#include <cstdint>

namespace pollstack::driver_channel {

class Doorbell {
 public:
  /// A new eventfd; fd() < 0 and error() set if the kernel refused.
  Doorbell() noexcept;
  /// Adopts an eventfd received from the other process.
  explicit Doorbell(int fd) noexcept : fd_(fd) {}
  Doorbell(Doorbell&& other) noexcept;
  Doorbell& operator=(Doorbell&&) = delete;
  ~Doorbell();

  int fd() const noexcept { return fd_; }
  int error() const noexcept { return error_; }

  /// Wakes the other side (one write(2)).
  void ring() noexcept;

  /// Sleeps until rung or `timeout_ms` passes (-1: no timeout), then clears the bell. Returns true
  /// if it was rung.
  bool wait(int timeout_ms) noexcept;

  /// Resets the bell after its fd was seen readable (by wait(), or by a caller's own poll(2) over
  /// several fds). Returns true if it had been rung.
  bool clear() noexcept;

 private:
  int fd_ = -1;
  int error_ = 0;
};

}  // namespace pollstack::driver_channel
