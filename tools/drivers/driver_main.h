#pragma once
// What every driver program shares: command-line parsing with clear errors, attaching to the
// stack, and the sleep-until-work-or-stack-gone loop. Driver programs are tools, not data path:
// they may print and exit.

#include <cstdint>
#include <optional>
#include <string>

#include "driver_channel/attach.h"
#include "driver_channel/driver_port.h"

namespace pollstack::drivers {

struct DriverOptions {
  std::string socket_path;
  std::uint64_t rate_pps = 0;  // rate-limited sink only
  std::uint32_t sequence_offset = 0;  // rate-limited sink only: where each frame's sequence number is
  std::string pcap_path;       // pcap writer only
  std::string tap_name;        // TAP driver only
  bool offload = true;         // TAP driver only (--offload on|off): segmentation and checksum offload
  std::uint64_t rate_limit_pps = 0;  // --rate-limit (TAP and loopback drivers): frames per second taken from the stack
  /// TAP driver only: impairments, in percent of frames each way (this kernel has no netem), and
  /// the seed of the generator that decides them.
  struct Impairments {
    unsigned drop = 0, duplicate = 0, reorder = 0, corrupt = 0;
    std::uint64_t seed = 1;
    bool any() const { return drop + duplicate + reorder + corrupt > 0; }
  } impair;
};

/// Parses --socket PATH and, where `accepts` names them, --rate PPS [--sequence-offset BYTES] and
/// --pcap FILE, --tap NAME. On a bad or
/// missing argument prints usage to stderr and exits with status 2.
struct Accepts {
  bool rate = false;
  bool pcap = false;
  bool tap = false;  // and --offload, and the impairments (--drop, --duplicate, --reorder, --corrupt, --seed)
  bool rate_limit = false;  // --rate-limit alone (the TAP driver takes it with the impairments)
};
DriverOptions parse_driver_options(int argc, char** argv, const char* program, Accepts accepts);

/// Connects to the stack; on failure prints why and exits with status 1.
driver_channel::Attachment attach_or_exit(const DriverOptions& options, const char* program);

/// Called when the driver found nothing to do: checks that the stack is still there, then sleeps
/// until the stack rings or `timeout_ms` passes (not at all if work arrived meanwhile). Returns
/// false when the stack is gone (its end of the lifeline closed).
bool wait_for_work(driver_channel::Attachment& attachment, driver_channel::DriverPort& port,
                   bool wants_rx_buffers, int timeout_ms);

/// Microseconds on the monotonic clock.
std::int64_t now_us() noexcept;

/// --rate-limit: a token bucket of `rate_pps` frames per second, holding at most `burst` (the
/// frames taken at once after an idle spell). A rate of 0 is no limit. Frames it holds back wait
/// in the stack's TX ring: that is the backpressure the stack then sees. The drivers sleep 1 ms
/// while it is empty, so with the default burst of 32 it cannot pass much more than 30,000 frames
/// a second whatever the rate asked for.
class RateLimit {
 public:
  explicit RateLimit(std::uint64_t rate_pps, double burst = 32) noexcept;
  /// How many frames, at most `most`, may be taken now.
  std::uint32_t allowed(std::uint32_t most) noexcept;
  /// `n` of them were taken.
  void took(std::uint32_t n) noexcept;
  /// True while no frame may be taken: the driver should sleep a little (a millisecond) rather
  /// than ask the ring for work that is there on purpose.
  bool throttled() const noexcept { return rate_pps_ > 0 && tokens_ < 1; }

 private:
  std::uint64_t rate_pps_;
  double burst_;
  double tokens_;
  std::int64_t refilled_us_;
};

/// Prints the driver's counters to stderr, one line.
void print_counters(const char* program, const driver_channel::DriverCounters& c);

}  // namespace pollstack::drivers
