// tap_driver: bridges a Linux TAP device to the stack, so the Linux kernel's own stack (ARP, ping,
// UDP sockets) is the peer on the other end of the link.
//   tap_driver --socket PATH --tap NAME
// Creates (or opens) the TAP device NAME; frames the stack sends are written to it, frames the
// kernel sends on it are delivered to the stack. Bring the device up and give it an address on the
// Linux side (ip link set NAME up; ip addr add ...). Exits when the stack goes away, printing its
// counters. Needs CAP_NET_ADMIN and /dev/net/tun.
//
// Impairments (this kernel has no netem): --drop, --duplicate, --reorder and --corrupt PCT apply
// to that percentage of frames in each direction, decided by a generator seeded with --seed N (the
// same seed, the same decisions for the same frames). A reordered frame is held back and sent after
// the next one (or after 5 ms); a corrupted frame has one byte past its Ethernet header flipped
// (IPv4 only: the IP or transport checksum must catch it, as the Ethernet FCS would have dropped a
// frame damaged on the wire; ARP, which has no checksum, is never corrupted). --rate-limit PPS
// takes at most that many frames per second from the stack (a slow link): the rest wait in the
// channel's TX ring, which fills, and the stack's sends wait (backpressure), nothing dropped.
//
// Offload (the default; --offload off turns it off): the device is opened with a virtio-net
// header and offers the kernel TCP segmentation and checksum offload, so Linux's TCP hands one
// read() up to 64 KiB, which the driver cuts into wire frames and whose checksums it completes
// (tap_offload.h). Frames to Linux are written whole, behind an empty header.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <time.h>

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <span>

#include "tools/drivers/driver_main.h"
#include "tools/drivers/tap_offload.h"

namespace {

using pollstack::driver_channel::Descriptor;
using pollstack::driver_channel::kMaxBatch;

constexpr const char* kProgram = "tap_driver";

// Opens /dev/net/tun as a TAP device (Ethernet frames, no packet-information header); with
// `offload`, each frame behind a virtio-net header and the device offering TSO for IPv4 (with
// ECN) and checksum offload.
int open_tap(const char* name, bool offload) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  std::snprintf(request.ifr_name, IFNAMSIZ, "%s", name);
  const int header_bytes = sizeof(pollstack::drivers::VnetHeader);
  if (ioctl(fd, TUNSETIFF, &request) < 0 ||
      (offload && (ioctl(fd, TUNSETVNETHDRSZ, &header_bytes) < 0 ||
                   ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) < 0))) {
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
  // Offload: frames the kernel handed over as GSO, the wire frames cut from them, and frames
  // refused (each reason printed with its count at exit).
  std::uint64_t gso_frames_from_linux = 0;
  std::uint64_t gso_segments = 0;
  std::uint64_t offload_refused[8] = {};
};

constexpr std::int64_t kHoldUs = 5000;  // a reordered frame waits at most this long for the next

// Decides what happens to each frame, each way, from one seeded generator.
class Impairer {
 public:
  struct Counts {
    std::uint64_t dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
  };

  explicit Impairer(const pollstack::drivers::DriverOptions::Impairments& p) : p_(p), random_(p.seed) {}

  bool drop() { return chance(p_.drop); }
  bool duplicate() { return chance(p_.duplicate); }
  bool reorder() { return chance(p_.reorder); }
  /// Maybe flips one byte past the Ethernet header of an IPv4 frame; true if it did.
  bool corrupt(std::span<std::byte> frame) {
    if (!chance(p_.corrupt) || frame.size() <= 14 + 20 || frame[12] != std::byte{0x08} || frame[13] != std::byte{0x00}) {
      return false;
    }
    frame[14 + random_() % (frame.size() - 14)] ^= static_cast<std::byte>(1 + random_() % 255);
    return true;
  }
  void print(const char* program, const char* direction, const Counts& c) const {
    if (!p_.any()) return;
    std::fprintf(stderr, "%s: impaired %s: dropped=%" PRIu64 " duplicated=%" PRIu64 " reordered=%" PRIu64
                 " corrupted=%" PRIu64 "\n", program, direction, c.dropped, c.duplicated, c.reordered, c.corrupted);
  }

  Counts to_linux;
  Counts to_stack;

 private:
  bool chance(unsigned percent) { return percent > 0 && random_() % 100 < percent; }
  pollstack::drivers::DriverOptions::Impairments p_;
  std::mt19937_64 random_;
};

// A frame for Linux held back by a reorder: a copy (the stack's buffer goes back at once).
struct HeldForLinux {
  bool held = false;
  std::int64_t since = 0;
  std::size_t length = 0;
  std::array<std::byte, 2048> bytes{};
};

// Writes one frame to Linux (behind an empty virtio-net header if the device has them).
bool write_frame(int tap, bool offload, std::span<const std::byte> frame, TapCounters& counters) {
  static const pollstack::drivers::VnetHeader kNoOffload{};
  iovec pieces[2] = {{const_cast<pollstack::drivers::VnetHeader*>(&kNoOffload), sizeof kNoOffload},
                     {const_cast<std::byte*>(frame.data()), frame.size()}};
  const ssize_t expected = static_cast<ssize_t>((offload ? sizeof kNoOffload : 0) + frame.size());
  if (frame.empty() || writev(tap, offload ? pieces : pieces + 1, offload ? 2 : 1) != expected) {
    ++counters.write_errors;
    return false;
  }
  ++counters.frames_to_linux;
  return true;
}

// Frames from Linux, one wire frame at a time. Without offload each read() goes straight into the
// stack's buffer; with it, a read() takes a whole (up to 64 KiB) frame into `scratch`, which is
// then handed out as the wire frames it stands for, over as many calls as that takes.
class FromLinux {
 public:
  FromLinux(int tap, bool offload, std::span<std::byte> scratch, TapCounters& counters)
      : tap_(tap), offload_(offload), scratch_(scratch), counters_(counters) {}

  /// Writes the next frame into `buffer`; returns its length, or 0 when the kernel has nothing
  /// queued. Frames that cannot be delivered are counted and skipped.
  std::size_t next(std::span<std::byte> buffer) {
    using pollstack::drivers::OffloadError;
    if (!offload_) {
      for (;;) {
        const ssize_t got = read(tap_, buffer.data(), buffer.size());
        if (got < 0) return 0;  // EAGAIN: nothing more queued by the kernel
        if (static_cast<std::size_t>(got) >= buffer.size()) {
          ++counters_.oversize_from_linux;  // cannot happen with MTU 1500 and 2 KiB buffers
          continue;
        }
        ++counters_.frames_from_linux;
        return static_cast<std::size_t>(got);
      }
    }
    while (pending_.done()) {
      const ssize_t got = read(tap_, scratch_.data(), scratch_.size());
      if (got < 0) return 0;
      if (static_cast<std::size_t>(got) >= scratch_.size()) {
        ++counters_.oversize_from_linux;  // the kernel's GSO frames stop at 64 KiB
        continue;
      }
      const OffloadError error = pending_.start(scratch_.first(static_cast<std::size_t>(got)), buffer.size());
      if (error == OffloadError::kTooLong) ++counters_.oversize_from_linux;
      if (error != OffloadError::kNone) {
        ++counters_.offload_refused[static_cast<std::size_t>(error)];
        continue;
      }
      if (pending_.gso()) {
        ++counters_.gso_frames_from_linux;
        counters_.gso_segments += pending_.count();
      }
    }
    ++counters_.frames_from_linux;
    return pending_.next(buffer);
  }

 private:
  int tap_;
  bool offload_;
  std::span<std::byte> scratch_;
  TapCounters& counters_;
  pollstack::drivers::OffloadedFrame pending_;
};

// One GSO frame as read(): its virtio-net header and up to 64 KiB of Ethernet frame.
alignas(64) std::byte scratch_for_offload[sizeof(pollstack::drivers::VnetHeader) + 14 + 65535 + 1];

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstack;
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {.tap = true});
  const int tap = open_tap(options.tap_name.c_str(), options.offload);
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
  Impairer impair(options.impair);
  HeldForLinux held_tx;
  std::optional<Descriptor> held_rx;  // a frame for the stack held back by a reorder
  drivers::RateLimit rate_limit(options.rate_limit_pps);
  std::int64_t held_rx_since = 0;
  FromLinux from_linux(tap, options.offload, scratch_for_offload, counters);

  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    bool busy = false;
    // Stack -> Linux, at most as many frames as the rate limit allows now.
    Descriptor sent[kMaxBatch];
    const std::uint32_t allowed = rate_limit.allowed(kMaxBatch);
    const std::uint32_t n = allowed == 0 ? 0 : port.take_tx(std::span(sent).first(allowed));
    rate_limit.took(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::span<std::byte> frame = port.frame(sent[i]);
      if (impair.drop()) {
        ++impair.to_linux.dropped;
        continue;
      }
      impair.to_linux.corrupted += impair.corrupt(frame);
      if (!held_tx.held && frame.size() <= held_tx.bytes.size() && impair.reorder()) {
        std::memcpy(held_tx.bytes.data(), frame.data(), frame.size());
        held_tx.held = true;
        held_tx.since = drivers::now_us();
        held_tx.length = frame.size();
        ++impair.to_linux.reordered;
        continue;
      }
      write_frame(tap, options.offload, frame, counters);
      if (impair.duplicate()) {
        ++impair.to_linux.duplicated;
        write_frame(tap, options.offload, frame, counters);
      }
      if (held_tx.held) {  // the one held back goes after this one
        write_frame(tap, options.offload, std::span(held_tx.bytes).first(held_tx.length), counters);
        held_tx.held = false;
      }
    }
    port.complete_tx(std::span(sent).first(n));
    if (held_tx.held && drivers::now_us() - held_tx.since >= kHoldUs) {
      write_frame(tap, options.offload, std::span(held_tx.bytes).first(held_tx.length), counters);
      held_tx.held = false;
    }
    busy |= n > 0;
    // Linux -> stack, into buffers the stack lent for receiving.
    spare_count += port.take_rx_fill(std::span(spare).subspan(spare_count));
    Descriptor received[kMaxBatch];
    std::uint32_t delivered = 0;
    while (spare_count > 0) {
      const Descriptor fill = spare[spare_count - 1];
      const std::span<std::byte> buffer = port.frame(fill);
      const std::size_t got = from_linux.next(buffer);
      if (got == 0) break;
      if (impair.drop()) {
        ++impair.to_stack.dropped;  // the buffer stays spare, for the next frame
        continue;
      }
      impair.to_stack.corrupted += impair.corrupt(buffer.first(static_cast<std::size_t>(got)));
      --spare_count;
      const Descriptor frame{fill.buffer, 0, static_cast<std::uint32_t>(got), 0};
      if (!held_rx && impair.reorder()) {
        held_rx = frame;
        held_rx_since = drivers::now_us();
        ++impair.to_stack.reordered;
        continue;
      }
      received[delivered++] = frame;
      if (spare_count > 0 && delivered < kMaxBatch && impair.duplicate()) {
        const Descriptor copy = spare[--spare_count];
        std::memcpy(port.frame(copy).data(), buffer.data(), static_cast<std::size_t>(got));
        received[delivered++] = Descriptor{copy.buffer, 0, static_cast<std::uint32_t>(got), 0};
        ++impair.to_stack.duplicated;
      }
      if (held_rx && delivered < kMaxBatch) {  // the one held back goes after this one
        received[delivered++] = *held_rx;
        held_rx.reset();
      }
      if (delivered >= kMaxBatch - 2) break;
    }
    if (held_rx && delivered < kMaxBatch && drivers::now_us() - held_rx_since >= kHoldUs) {
      received[delivered++] = *held_rx;
      held_rx.reset();
    }
    port.deliver_rx(std::span(received).first(delivered));
    busy |= delivered > 0;
    if (busy) continue;
    // Sleep until the stack rings, the kernel has a frame for us (if we can take it), or 100 ms.
    // Throttled by --rate-limit, frames wait in the TX ring on purpose: sleep 1 ms instead of
    // asking whether there is work (there is, and taking it now would break the limit).
    const bool throttled = rate_limit.throttled();
    if (!throttled && !port.prepare_to_sleep(spare_count < kMaxBatch)) continue;
    pollfd fds[3] = {{attachment.driver_bell.fd(), POLLIN, 0},
                     {attachment.lifeline_fd, POLLIN, 0},
                     {tap, static_cast<short>(spare_count > 0 ? POLLIN : 0), 0}};
    if (poll(fds, 3, held_tx.held || held_rx || throttled ? 1 : 100) > 0) {
      if (fds[0].revents & POLLIN) attachment.driver_bell.clear();
      if (fds[1].revents != 0 && driver_channel::driver_gone(attachment.lifeline_fd)) break;
    }
  }
  drivers::print_counters(kProgram, port.counters());
  impair.print(kProgram, "to Linux", impair.to_linux);
  impair.print(kProgram, "to the stack", impair.to_stack);
  if (options.offload) {
    std::fprintf(stderr, "%s: offload: gso_frames_from_linux=%" PRIu64 " gso_segments=%" PRIu64 "\n", kProgram,
                 counters.gso_frames_from_linux, counters.gso_segments);
    for (std::size_t reason = 1; reason < std::size(counters.offload_refused); ++reason) {
      if (counters.offload_refused[reason] == 0) continue;
      std::fprintf(stderr, "%s: offload: refused %" PRIu64 " frames from Linux: %s\n", kProgram,
                   counters.offload_refused[reason], drivers::describe(static_cast<drivers::OffloadError>(reason)));
    }
  }
  std::fprintf(stderr,
               "%s: frames_to_linux=%" PRIu64 " frames_from_linux=%" PRIu64 " write_errors=%" PRIu64
               " oversize_from_linux=%" PRIu64 "\n",
               kProgram, counters.frames_to_linux, counters.frames_from_linux, counters.write_errors,
               counters.oversize_from_linux);
  close(tap);
  return 0;
}
