#include "driver_channel/attach.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace pollstack::driver_channel {
namespace {

constexpr int kFdsSent = 3;  // region, driver doorbell, stack doorbell
constexpr std::uint32_t kHello = kRegionMagic;

// "@name" is a Linux abstract socket (no file, gone with the listener); anything else a path.
// Returns the address length, or 0 and *error.
socklen_t fill_address(const char* path, sockaddr_un* addr, int* error) noexcept {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if (length == 0 || length >= sizeof addr->sun_path) {
    *error = length == 0 ? EINVAL : ENAMETOOLONG;
    return 0;
  }
  std::memcpy(addr->sun_path, path, length);
  if (path[0] == '@') addr->sun_path[0] = '\0';
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + (path[0] == '@' ? 0 : 1));
}

// A SEQPACKET Unix socket and the address for `path`. Returns the fd, or -1 and *error.
int unix_socket(const char* path, sockaddr_un* addr, socklen_t* length, int* error) noexcept {
  *length = fill_address(path, addr, error);
  if (*length == 0) return -1;
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) *error = errno;
  return fd;
}

// The one message of the attach protocol: a 32-bit hello carrying kFdsSent descriptors.
struct FdMessage {
  FdMessage() noexcept {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  std::uint32_t hello = 0;
  iovec iov{&hello, sizeof hello};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kFdsSent)] = {};
  msghdr msg{};
};

}  // namespace

std::optional<DriverListener> DriverListener::listen(const char* path, int* error) noexcept {
  sockaddr_un addr;
  socklen_t length = 0;
  const int fd = unix_socket(path, &addr, &length, error);
  if (fd < 0) return std::nullopt;
  if (path[0] != '@') unlink(path);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 || ::listen(fd, 1) != 0) {
    *error = errno;
    close(fd);
    return std::nullopt;
  }
  return DriverListener(fd);
}

DriverListener::DriverListener(DriverListener&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DriverListener::~DriverListener() {
  if (fd_ >= 0) close(fd_);
}

int DriverListener::accept_driver(const SharedRegion& region, const Doorbell& driver_bell,
                                  const Doorbell& stack_bell, int timeout_ms, int* error) noexcept {
  pollfd p{fd_, POLLIN, 0};
  const int ready = poll(&p, 1, timeout_ms);
  if (ready <= 0) {
    *error = ready == 0 ? ETIMEDOUT : errno;
    return -1;
  }
  const int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) {
    *error = errno;
    return -1;
  }
  FdMessage m;
  m.hello = kHello;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * kFdsSent);
  const int fds[kFdsSent] = {region.fd(), driver_bell.fd(), stack_bell.fd()};
  std::memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  if (sendmsg(conn, &m.msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof m.hello)) {
    *error = errno;
    close(conn);
    return -1;
  }
  return conn;
}

bool driver_gone(int lifeline_fd) noexcept {
  pollfd p{lifeline_fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte;
  return recv(lifeline_fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0;  // orderly close
}

std::optional<Attachment> attach_to_stack(const char* path, int* error) noexcept {
  sockaddr_un addr;
  socklen_t length = 0;
  const int fd = unix_socket(path, &addr, &length, error);
  if (fd < 0) return std::nullopt;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    *error = errno;
    close(fd);
    return std::nullopt;
  }
  FdMessage m;
  const ssize_t n = recvmsg(fd, &m.msg, MSG_CMSG_CLOEXEC);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  if (n != sizeof m.hello || m.hello != kHello || cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(sizeof(int) * kFdsSent)) {
    *error = n < 0 ? errno : EPROTO;
    close(fd);
    return std::nullopt;
  }
  int fds[kFdsSent];
  std::memcpy(fds, CMSG_DATA(cmsg), sizeof fds);
  std::optional<SharedRegion> region = SharedRegion::map(fds[0], error);  // takes fds[0]
  if (!region) {
    close(fds[1]);
    close(fds[2]);
    close(fd);
    return std::nullopt;
  }
  return Attachment{std::move(*region), Doorbell(fds[1]), Doorbell(fds[2]), fd};
}

}  // namespace pollstack::driver_channel
