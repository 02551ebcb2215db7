// The bounded pcap writer behind pollstackd --pcap: every recorded frame is in the file, in order,
// with its length and a nanosecond timestamp; a full ring drops and counts instead of waiting;
// recording allocates nothing; a failing disk is reported; tshark reads the result.
#include "tools/pcap/capture.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/heap_probe/heap_probe.h"
#include "tools/pcap/pcap_format.h"

namespace pollstack::pcap {
namespace {

std::string temp_path(const char* name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Frame `i`: `60 + i % 1455` bytes, each byte a function of i and its offset.
std::vector<std::byte> frame(std::uint32_t i) {
  std::vector<std::byte> bytes(60 + i % 1455);
  for (std::size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<std::byte>((i * 131 + k * 7) & 0xff);
  return bytes;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::vector<std::byte> out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::byte chunk[65536];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) out.insert(out.end(), chunk, chunk + n);
  std::fclose(f);
  return out;
}

TEST_CASE("every recorded frame is in the file, in order, with a nanosecond timestamp") {
  const std::string path = temp_path("capture.pcap");
  int error = 0;
  std::unique_ptr<Capture> capture = Capture::open(path.c_str(), 64 << 10, &error);
  REQUIRE(capture != nullptr);
  // Frames made beforehand: recording itself must not allocate.
  constexpr std::uint32_t kFrames = 3000;  // ~2.2 MB through a 64 KiB ring: it wraps many times
  std::vector<std::vector<std::byte>> frames;
  for (std::uint32_t i = 0; i < kFrames; ++i) frames.push_back(frame(i));
  std::uint64_t dropped_before_retry = 0;
  {
    heap_probe::ForbidHeap no_heap;
    for (std::uint32_t i = 0; i < kFrames; ++i) {
      // A full ring drops; here the test waits and records again, so that every frame gets in.
      while (true) {
        const std::uint64_t dropped = capture->counters().dropped;
        capture->record(frames[i]);
        if (capture->counters().dropped == dropped) break;
        ++dropped_before_retry;
        usleep(200);
      }
    }
  }
  REQUIRE(capture->stop());
  const CaptureCounters c = capture->counters();
  CHECK(c.frames == kFrames);
  CHECK(c.dropped == dropped_before_retry);
  CHECK(c.write_error == 0);

  const std::vector<std::byte> file = read_file(path);
  CHECK(c.bytes_written == file.size());
  REQUIRE(file.size() >= sizeof(GlobalHeader));
  GlobalHeader global;
  std::memcpy(&global, file.data(), sizeof global);
  CHECK(global.magic == kNanosecondMagic);
  CHECK(global.link_type == kLinkTypeEthernet);
  std::size_t at = sizeof global;
  std::uint64_t last_ns = 0;
  for (std::uint32_t i = 0; i < kFrames; ++i) {
    RecordHeader record;
    REQUIRE(at + sizeof record <= file.size());
    std::memcpy(&record, file.data() + at, sizeof record);
    at += sizeof record;
    REQUIRE(record.incl_len == frames[i].size());
    CHECK(record.orig_len == record.incl_len);
    CHECK(record.ts_fraction < 1'000'000'000u);
    const std::uint64_t ns = std::uint64_t{record.ts_sec} * 1'000'000'000u + record.ts_fraction;
    CHECK(ns >= last_ns);
    last_ns = ns;
    REQUIRE(at + record.incl_len <= file.size());
    CHECK(std::memcmp(file.data() + at, frames[i].data(), record.incl_len) == 0);
    at += record.incl_len;
  }
  CHECK(at == file.size());

  // tshark reads it, every frame (when tshark is installed: tools/setup.sh installs it).
  if (std::system("command -v tshark >/dev/null 2>&1") == 0) {
    const std::string count = "tshark -r " + path + " 2>/dev/null | wc -l";
    std::FILE* p = popen(count.c_str(), "r");
    REQUIRE(p != nullptr);
    unsigned long n = 0;
    CHECK(std::fscanf(p, "%lu", &n) == 1);
    pclose(p);
    CHECK(n == kFrames);
  }
}

TEST_CASE("a full ring drops and counts instead of waiting for the disk") {
  const std::string path = temp_path("full.pcap");
  int error = 0;
  std::unique_ptr<Capture> capture = Capture::open(path.c_str(), 0, &error);  // the least: 64 KiB
  REQUIRE(capture != nullptr);
  const std::vector<std::byte> big(1514, std::byte{0x5a});
  // Faster than any writer: 100,000 frames of 1514 bytes (151 MB) without pausing.
  constexpr std::uint64_t kOffered = 100'000;
  for (std::uint64_t i = 0; i < kOffered; ++i) capture->record(big);
  REQUIRE(capture->stop());
  const CaptureCounters c = capture->counters();
  CHECK(c.dropped > 0);
  CHECK(c.frames + c.dropped == kOffered);
  CHECK(c.bytes_written == sizeof(GlobalHeader) + c.frames * (sizeof(RecordHeader) + big.size()));
}

TEST_CASE("a failing disk is reported, not silent") {
  int error = 0;
  CHECK(Capture::open("/dev/full", 0, &error) == nullptr);  // the file header does not fit
  CHECK(error == ENOSPC);

  // A disk that fills up after the header: a file size limit of 1000 bytes (EFBIG past it).
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1000;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::unique_ptr<Capture> capture = Capture::open(temp_path("limited.pcap").c_str(), 0, &error);
  REQUIRE(capture != nullptr);
  const std::vector<std::byte> f(600, std::byte{1});
  capture->record(f);
  capture->record(f);
  CHECK_FALSE(capture->stop());
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, SIG_DFL);
  CHECK(capture->counters().write_error == EFBIG);
  CHECK(capture->counters().frames == 2);
  CHECK(capture->counters().bytes_written == 1000);
}

TEST_CASE("a file that cannot be created is an error with its errno") {
  int error = 0;
  CHECK(Capture::open("/nonexistent-directory/x.pcap", 0, &error) == nullptr);
  CHECK(error == ENOENT);
}

}  // namespace
}  // namespace pollstack::pcap
