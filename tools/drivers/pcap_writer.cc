// pcap_writer: every frame the stack sends goes into a pcap file (link type Ethernet), readable by
// tshark and Wireshark; then the buffer goes back to the stack as sent.
//   pcap_writer --socket PATH --pcap FILE
// Exits when the stack goes away, printing its counters.
#include <time.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tools/drivers/driver_main.h"
#include "tools/pcap/pcap_format.h"

int main(int argc, char** argv) {
  using namespace pollstack;
  using driver_channel::Descriptor;
  using driver_channel::kMaxBatch;
  constexpr const char* kProgram = "pcap_writer";
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {.pcap = true});

  std::FILE* out = std::fopen(options.pcap_path.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "%s: cannot open %s: %s\n", kProgram, options.pcap_path.c_str(), std::strerror(errno));
    return 1;
  }
  const pcap::GlobalHeader header;  // microsecond timestamps
  if (std::fwrite(&header, sizeof header, 1, out) != 1) {
    std::fprintf(stderr, "%s: cannot write %s\n", kProgram, options.pcap_path.c_str());
    return 1;
  }

  driver_channel::Attachment attachment = drivers::attach_or_exit(options, kProgram);
  driver_channel::DriverPort port(attachment.region, &attachment.stack_bell);
  std::uint64_t written = 0;
  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    Descriptor frames[kMaxBatch];
    const std::uint32_t n = port.take_tx(frames);
    if (n == 0) {
      if (!drivers::wait_for_work(attachment, port, false, 100)) break;  // the stack is gone
      continue;
    }
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::span<std::byte> bytes = port.frame(frames[i]);  // empty if out of bounds (counted)
      const pcap::RecordHeader record{static_cast<std::uint32_t>(now.tv_sec),
                                    static_cast<std::uint32_t>(now.tv_nsec / 1000),
                                    static_cast<std::uint32_t>(bytes.size()),
                                    static_cast<std::uint32_t>(bytes.size())};
      if (std::fwrite(&record, sizeof record, 1, out) != 1 ||
          (!bytes.empty() && std::fwrite(bytes.data(), bytes.size(), 1, out) != 1)) {
        std::fprintf(stderr, "%s: cannot write %s: %s\n", kProgram, options.pcap_path.c_str(), std::strerror(errno));
        return 1;
      }
      ++written;
    }
    std::fflush(out);
    port.complete_tx(std::span(frames).first(n));
  }
  if (std::fclose(out) != 0) {
    std::fprintf(stderr, "%s: cannot close %s: %s\n", kProgram, options.pcap_path.c_str(), std::strerror(errno));
    return 1;
  }
  drivers::print_counters(kProgram, port.counters());
  std::fprintf(stderr, "%s: frames_written=%" PRIu64 " to %s\n", kProgram, written, options.pcap_path.c_str());
  return 0;
}
