#pragma once
/// Attaching a driver process: the stack listens on a Unix socket; a driver connects and receives,
/// with SCM_RIGHTS, the region's memfd and the two doorbell eventfds. The connection then stays
/// open as the driver's lifeline: when it closes (the driver exited, crashed or was killed), the
/// stack sees link down.
///
/// Setup code, not data path: it may block (accept, connect) and reports errors as errno values.

#include <optional>

#include "driver_channel/doorbell.h"
#include "driver_channel/region.h"

namespace pollstack::driver_channel {

/// The stack's listening socket.
class DriverListener {
 public:
  /// Binds and listens at `path`: a file path (a stale socket file there is replaced), or
  /// "@name" for a Linux abstract socket (no file; preferred). nullopt and *error.
  static std::optional<DriverListener> listen(const char* path, int* error) noexcept;

  DriverListener(DriverListener&& other) noexcept;
  DriverListener& operator=(DriverListener&&) = delete;
  ~DriverListener();

  /// Waits up to `timeout_ms` for a driver, then sends it the region and both doorbells. Returns
  /// the connection's fd (the lifeline; the caller owns it), or -1 and *error (ETIMEDOUT...).
  int accept_driver(const SharedRegion& region, const Doorbell& driver_bell, const Doorbell& stack_bell,
                    int timeout_ms, int* error) noexcept;

  int fd() const noexcept { return fd_; }

 private:
  explicit DriverListener(int fd) noexcept : fd_(fd) {}
  int fd_;
};

/// True if the driver's end of the lifeline has closed (checked without blocking).
bool driver_gone(int lifeline_fd) noexcept;

/// What a driver receives when it attaches.
struct Attachment {
  SharedRegion region;
  Doorbell driver_bell;  // the stack rings this one; the driver sleeps on it
  Doorbell stack_bell;   // the driver rings this one
  int lifeline_fd;       // stays open while the driver runs; readable (EOF) when the stack is gone
};

/// Driver side: connects to the stack at `path` and maps what it sends. nullopt and *error.
std::optional<Attachment> attach_to_stack(const char* path, int* error) noexcept;

}  // namespace pollstack::driver_channel
