#include "driver_channel/region.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <utility>

namespace pollstack::driver_channel {
namespace {

RegionLayout* map_fd(int fd) noexcept {
  void* memory = mmap(nullptr, sizeof(RegionLayout), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return memory == MAP_FAILED ? nullptr : static_cast<RegionLayout*>(memory);
}

bool header_matches(const RegionHeader& h) noexcept {
  return h.magic == kRegionMagic && h.version == kRegionVersion && h.buffer_count == kBufferCount &&
         h.buffer_bytes == kBufferBytes && h.ring_capacity == kRingCapacity;
}

}  // namespace

std::optional<SharedRegion> SharedRegion::create(int* error) noexcept {
  const int fd = memfd_create("pollstack-channel", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, sizeof(RegionLayout)) != 0) {
    *error = errno;
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  RegionLayout* layout = map_fd(fd);
  if (layout == nullptr) {
    *error = errno;
    close(fd);
    return std::nullopt;
  }
  // A fresh memfd is zero-filled: empty rings. Construct the objects that live there.
  new (&layout->tx) RingShared();
  new (&layout->tx_done) RingShared();
  new (&layout->rx) RingShared();
  new (&layout->rx_fill) RingShared();
  layout->header = RegionHeader{kRegionMagic, kRegionVersion, kBufferCount, kBufferBytes, kRingCapacity};
  return SharedRegion(fd, layout);
}

std::optional<SharedRegion> SharedRegion::map(int fd, int* error) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *error = errno;
    close(fd);
    return std::nullopt;
  }
  if (static_cast<std::size_t>(st.st_size) != sizeof(RegionLayout)) {
    *error = EINVAL;
    close(fd);
    return std::nullopt;
  }
  RegionLayout* layout = map_fd(fd);
  if (layout == nullptr) {
    *error = errno;
    close(fd);
    return std::nullopt;
  }
  if (!header_matches(layout->header)) {
    *error = EINVAL;
    munmap(layout, sizeof(RegionLayout));
    close(fd);
    return std::nullopt;
  }
  return SharedRegion(fd, layout);
}

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), layout_(std::exchange(other.layout_, nullptr)) {}

SharedRegion::~SharedRegion() {
  if (layout_ != nullptr) munmap(layout_, sizeof(RegionLayout));
  if (fd_ >= 0) close(fd_);
}


}  // namespace pollstack::driver_channel
