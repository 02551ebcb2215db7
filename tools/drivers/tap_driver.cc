// tap_driver: bridges a Linux TAP device to the stack, so the Linux kernel's own stack (ARP, ping,
// UDP sockets) is the peer on the other end of the link.
//   tap_driver --socket PATH --tap NAME
// Creates (or opens) the TAP device NAME; frames the stack sends are written to it, frames the
// kernel sends on it are delivered to the stack. Bring the device up and give it an address on the
// Linux side (ip link set NAME up; ip addr add ...). Exits when the stack goes away, printing its
// counters. Needs CAP_NET_ADMIN and /dev/net/tun.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tools/drivers/driver_main.h"

namespace {

using pollstack::driver_channel::Descriptor;
using pollstack::driver_channel::kMaxBatch;

constexpr const char* kProgram = "tap_driver";

// Opens /dev/net/tun as a TAP device (Ethernet frames, no packet-information header).
int open_tap(const char* name) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(request.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

struct TapCounters {
  std::uint64_t frames_to_linux = 0;
  std::uint64_t frames_from_linux = 0;
  std::uint64_t write_errors = 0;    // the kernel refused a frame (counted, frame given back)
  std::uint64_t oversize_from_linux = 0;  // larger than a channel buffer: cannot be delivered
};

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstack;
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {.tap = true});
  const int tap = open_tap(options.tap_name.c_str());
  if (tap < 0) {
    std::fprintf(stderr, "%s: cannot open TAP device %s: %s\n", kProgram, options.tap_name.c_str(),
                 std::strerror(errno));
    return 1;
  }
  driver_channel::Attachment attachment = drivers::attach_or_exit(options, kProgram);
  driver_channel::DriverPort port(attachment.region, &attachment.stack_bell);
  TapCounters counters;
  Descriptor spare[kMaxBatch];  // RX-fill buffers taken, not yet filled
  std::uint32_t spare_count = 0;

  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    bool busy = false;
    // Stack -> Linux.
    Descriptor sent[kMaxBatch];
    const std::uint32_t n = port.take_tx(sent);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::span<std::byte> frame = port.frame(sent[i]);
      if (frame.empty() || write(tap, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
        ++counters.write_errors;
      } else {
        ++counters.frames_to_linux;
      }
    }
    port.complete_tx(std::span(sent).first(n));
    busy |= n > 0;
    // Linux -> stack, into buffers the stack lent for receiving.
    spare_count += port.take_rx_fill(std::span(spare).subspan(spare_count));
    Descriptor received[kMaxBatch];
    std::uint32_t delivered = 0;
    while (spare_count > 0) {
      const Descriptor fill = spare[spare_count - 1];
      const std::span<std::byte> buffer = port.frame(fill);
      const ssize_t got = read(tap, buffer.data(), buffer.size());
      if (got < 0) break;  // EAGAIN: nothing more queued by the kernel
      if (static_cast<std::size_t>(got) >= buffer.size()) {
        ++counters.oversize_from_linux;  // cannot happen with MTU 1500 and 2 KiB buffers
        continue;
      }
      --spare_count;
      received[delivered++] = Descriptor{fill.buffer, 0, static_cast<std::uint32_t>(got), 0};
      ++counters.frames_from_linux;
      if (delivered == kMaxBatch) break;
    }
    port.deliver_rx(std::span(received).first(delivered));
    busy |= delivered > 0;
    if (busy) continue;
    // Sleep until the stack rings, the kernel has a frame for us (if we can take it), or 100 ms.
    if (!port.prepare_to_sleep(spare_count < kMaxBatch)) continue;
    pollfd fds[3] = {{attachment.driver_bell.fd(), POLLIN, 0},
                     {attachment.lifeline_fd, POLLIN, 0},
                     {tap, static_cast<short>(spare_count > 0 ? POLLIN : 0), 0}};
    if (poll(fds, 3, 100) > 0) {
      if (fds[0].revents & POLLIN) attachment.driver_bell.clear();
      if (fds[1].revents != 0 && driver_channel::driver_gone(attachment.lifeline_fd)) break;
    }
  }
  drivers::print_counters(kProgram, port.counters());
  std::fprintf(stderr,
               "%s: frames_to_linux=%" PRIu64 " frames_from_linux=%" PRIu64 " write_errors=%" PRIu64
               " oversize_from_linux=%" PRIu64 "\n",
               kProgram, counters.frames_to_linux, counters.frames_from_linux, counters.write_errors,
               counters.oversize_from_linux);
  close(tap);
  return 0;
}
