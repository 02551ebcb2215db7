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

namespace {

// The classic libpcap file format: a global header, then per frame a record header and the bytes.
struct PcapGlobalHeader {
  std::uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps, written in host byte order
  std::uint16_t version_major = 2;
  std::uint16_t version_minor = 4;
  std::int32_t this_zone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = 65535;
  std::uint32_t link_type = 1;  // LINKTYPE_ETHERNET
};

struct PcapRecordHeader {
  std::uint32_t ts_sec;
  std::uint32_t ts_usec;
  std::uint32_t incl_len;
  std::uint32_t orig_len;
};

}  // namespace

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
  const PcapGlobalHeader header;
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
      const PcapRecordHeader record{static_cast<std::uint32_t>(now.tv_sec),
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
