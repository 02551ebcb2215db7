#include "tools/drivers/driver_main.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pollstack::drivers {
namespace {

[[noreturn]] void usage(const char* program, Accepts accepts, const char* problem) {
  std::fprintf(stderr, "%s: %s\nusage: %s --socket PATH%s%s%s%s\n", program, problem, program,
               accepts.rate ? " --rate PACKETS_PER_SECOND [--sequence-offset BYTES]" : "",
               accepts.pcap ? " --pcap FILE" : "",
               accepts.tap ? " --tap NAME [--offload on|off] [--drop PCT] [--duplicate PCT] [--reorder PCT] [--corrupt PCT] [--seed N]" : "",
               accepts.tap || accepts.rate_limit ? " [--rate-limit FRAMES_PER_SECOND]" : "");
  std::exit(2);
}

}  // namespace

DriverOptions parse_driver_options(int argc, char** argv, const char* program, Accepts accepts) {
  DriverOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(program, accepts, ("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--socket") {
      options.socket_path = value;
    } else if (flag == "--rate" && accepts.rate) {
      char* end = nullptr;
      errno = 0;
      const unsigned long long rate = std::strtoull(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || rate == 0 || value[0] == '-') {
        usage(program, accepts, "--rate needs a positive whole number of packets per second");
      }
      options.rate_pps = rate;
    } else if (flag == "--sequence-offset" && accepts.rate) {
      char* end = nullptr;
      errno = 0;
      const unsigned long long offset = std::strtoull(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || offset > 2044) {
        usage(program, accepts, "--sequence-offset needs a whole number of bytes, at most 2044");
      }
      options.sequence_offset = static_cast<std::uint32_t>(offset);
    } else if (flag == "--pcap" && accepts.pcap) {
      options.pcap_path = value;
    } else if (flag == "--tap" && accepts.tap) {
      if (std::strlen(value) == 0 || std::strlen(value) >= 16 || std::strchr(value, '/') != nullptr) {
        usage(program, accepts, "--tap needs an interface name of 1 to 15 characters, without '/'");
      }
      options.tap_name = value;
    } else if (flag == "--offload" && accepts.tap) {
      if (std::strcmp(value, "on") != 0 && std::strcmp(value, "off") != 0) usage(program, accepts, "--offload needs on or off");
      options.offload = std::strcmp(value, "on") == 0;
    } else if (accepts.tap && (flag == "--drop" || flag == "--duplicate" || flag == "--reorder" || flag == "--corrupt")) {
      char* end = nullptr;
      errno = 0;
      const unsigned long percent = std::strtoul(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || percent > 100) {
        usage(program, accepts, (flag + " needs a whole percentage, 0 to 100").c_str());
      }
      unsigned& slot = flag == "--drop"        ? options.impair.drop
                       : flag == "--duplicate" ? options.impair.duplicate
                       : flag == "--reorder"   ? options.impair.reorder
                                               : options.impair.corrupt;
      slot = static_cast<unsigned>(percent);
    } else if ((accepts.tap || accepts.rate_limit) && flag == "--rate-limit") {
      char* end = nullptr;
      errno = 0;
      const unsigned long long rate = std::strtoull(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || rate == 0) {
        usage(program, accepts, "--rate-limit needs a positive whole number of frames per second");
      }
      options.rate_limit_pps = rate;
    } else if (accepts.tap && flag == "--seed") {
      char* end = nullptr;
      errno = 0;
      const unsigned long long seed = std::strtoull(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || value[0] == '-') usage(program, accepts, "--seed needs a whole number");
      options.impair.seed = seed;
    } else {
      usage(program, accepts, ("unknown argument " + flag).c_str());
    }
  }
  if (options.socket_path.empty()) usage(program, accepts, "--socket is required");
  if (accepts.rate && options.rate_pps == 0) usage(program, accepts, "--rate is required");
  if (accepts.pcap && options.pcap_path.empty()) usage(program, accepts, "--pcap is required");
  if (accepts.tap && options.tap_name.empty()) usage(program, accepts, "--tap is required");
  return options;
}

driver_channel::Attachment attach_or_exit(const DriverOptions& options, const char* program) {
  int error = 0;
  std::optional<driver_channel::Attachment> attachment =
      driver_channel::attach_to_stack(options.socket_path.c_str(), &error);
  if (!attachment) {
    std::fprintf(stderr, "%s: cannot attach to the stack at %s: %s\n", program, options.socket_path.c_str(),
                 std::strerror(error));
    std::exit(1);
  }
  return std::move(*attachment);
}

bool wait_for_work(driver_channel::Attachment& attachment, driver_channel::DriverPort& port,
                   bool wants_rx_buffers, int timeout_ms) {
  if (!port.prepare_to_sleep(wants_rx_buffers)) timeout_ms = 0;  // work arrived: only check the lifeline
  pollfd fds[2] = {{attachment.driver_bell.fd(), POLLIN, 0}, {attachment.lifeline_fd, POLLIN, 0}};
  if (poll(fds, 2, timeout_ms) > 0) {
    if (fds[0].revents & POLLIN) attachment.driver_bell.clear();
    if (fds[1].revents != 0) return !driver_channel::driver_gone(attachment.lifeline_fd);
  }
  return true;
}

std::int64_t now_us() noexcept {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_nsec / 1000;
}

RateLimit::RateLimit(std::uint64_t rate_pps, double burst) noexcept
    : rate_pps_(rate_pps), burst_(burst), tokens_(burst), refilled_us_(now_us()) {}

std::uint32_t RateLimit::allowed(std::uint32_t most) noexcept {
  if (rate_pps_ == 0) return most;
  const std::int64_t t = now_us();
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(t - refilled_us_) * 1e-6 * static_cast<double>(rate_pps_));
  refilled_us_ = t;
  return static_cast<std::uint32_t>(std::min<double>(most, tokens_));
}

void RateLimit::took(std::uint32_t n) noexcept {
  if (rate_pps_ > 0) tokens_ -= n;
}

void print_counters(const char* program, const driver_channel::DriverCounters& c) {
  std::fprintf(stderr,
               "%s: tx_taken=%" PRIu64 " tx_completed=%" PRIu64 " rx_delivered=%" PRIu64
               " bad_descriptors=%" PRIu64 " doorbells_rung=%" PRIu64 "\n",
               program, c.tx_taken, c.tx_completed, c.rx_delivered, c.bad_descriptors, c.doorbells_rung);
}

}  // namespace pollstack::drivers
