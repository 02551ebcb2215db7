#pragma once
// The UDP transmit and receive paths through every layer, twice: as the product's state machines
// (poll the operation) and as plain synchronous functions built from the same layer building
// blocks (route, resolve, reserve, write each header, submit; receive, process, copy out). The
// difference between the two is control flow only: same codecs, same channel, same socket table.
//
// UdpWorld is the setting both run in: the real driver channel with the driver's side played in
// the same thread (it takes sent frames and hands back received ones, like a NIC would), and a
// neighbour already in the ARP cache, so that a send goes straight through.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "driver_channel/driver_port.h"
#include "driver_channel/region.h"
#include "driver_channel/stack_channel.h"
#include "driver_channel/stack.h"

namespace pollstack::bench {

/// Datagrams per measured batch: the socket's queue depth, so a received batch always fits.
inline constexpr std::uint32_t kBatch = static_cast<std::uint32_t>(net::kUdpReceiveQueueDepth);

inline constexpr wire::MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
inline constexpr wire::Ipv4Address kOurIp{{10, 12, 0, 1}};
inline constexpr wire::MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};
inline constexpr wire::Ipv4Address kPeerIp{{10, 12, 0, 2}};
inline constexpr std::uint16_t kOurPort = 5000;
inline constexpr std::uint16_t kPeerPort = 6000;

/// A driver in another process, already attached (see driver_channel/attach.h): the world's
/// channel then talks to it instead of to the in-thread driver side.
struct ExternalDriver {
  driver_channel::SharedRegion region;
  driver_channel::Doorbell* driver_bell;  // rung when the driver sleeps and has work
  driver_channel::Doorbell* stack_bell;   // where the world sleeps while it waits
  int lifeline_fd;                        // the driver's connection: closed means it is gone
};

class UdpWorld {
 public:
  /// `payload_bytes`: the size of every datagram sent or received. The driver's side runs in this
  /// thread (drain_tx, inject_rx).
  explicit UdpWorld(std::size_t payload_bytes);
  /// The same world over a driver process (backpressure runs: tools/overload --style).
  UdpWorld(std::size_t payload_bytes, ExternalDriver driver);
  UdpWorld(const UdpWorld&) = delete;
  UdpWorld& operator=(const UdpWorld&) = delete;

  /// Where every variant's read waits for a datagram: the waker it registers with the socket sets a
  /// flag in the world. It lives as long as the socket, so a read given up while it waits leaves
  /// nothing dangling in the socket's waker slot.
  Waker read_waker() { return Waker(&UdpWorld::on_read_wake, this); }
  /// True once after the socket's waker fired (a datagram arrived for a waiting read).
  bool take_read_wake() { return std::exchange(read_woken_, false); }
  /// How many times it fired since the world was made (tests: each variant's read did wait).
  std::uint64_t read_wakes() const { return read_wakes_; }

  /// What every variant calls while it waits for the channel (a send that found it full): with the
  /// in-thread driver, do the driver's share (drain_tx); with a driver process, take back what it
  /// completed and, when that wakes nobody, sleep on the doorbell until it rings.
  void wait_for_driver();

  // ---- the driver's side (the same work for both variants; in-thread driver only) ----
  /// Takes every frame the stack sent and gives the buffers back; copies the last one out when
  /// `keep_last` is given.
  std::uint32_t drain_tx(std::vector<std::byte>* keep_last = nullptr);
  /// Delivers `count` copies of the peer's datagram to the stack (count <= kBatch).
  void inject_rx(std::uint32_t count);
  /// Delivers one frame of any content (tests).
  void inject_frame(std::span<const std::byte> frame);
  /// Takes every free TX buffer, so the channel is full until the next drain_tx() gives them back
  /// (tests use it to see each variant wait instead of dropping). Returns how many it took.
  std::size_t fill_tx();

  net::Stack& stack() { return stack_; }
  net::Stack::Task& task() { return task_; }
  driver_channel::StackChannel& channel() { return channel_; }
  net::UdpSocketId socket() const { return socket_; }
  std::span<const std::byte> payload() const { return payload_; }
  std::span<std::byte> mutable_payload() { return payload_; }
  std::span<std::byte> receive_buffer() { return receive_buffer_; }
  /// The frame inject_rx() delivers: the peer's datagram to our socket.
  std::span<const std::byte> peer_frame() const { return peer_frame_; }
  Instant now() const { return Instant{Duration{1000}}; }
  /// Where the benchmark tasks' wake_at() requests go: the benchmarks keep no timers (nothing on
  /// these paths waits on time once the neighbour is known).
  Instant& deadline() { return deadline_; }

 private:
  UdpWorld(std::size_t payload_bytes, driver_channel::SharedRegion region, driver_channel::Doorbell* driver_bell,
           driver_channel::Doorbell* stack_bell, int lifeline_fd);

  static void on_read_wake(void* world) noexcept {
    auto* w = static_cast<UdpWorld*>(world);
    w->read_woken_ = true;
    ++w->read_wakes_;
  }

  driver_channel::SharedRegion region_;
  Instant deadline_ = kNever;
  driver_channel::StackChannel channel_;
  std::optional<driver_channel::DriverPort> port_;   // the in-thread driver side, or none
  driver_channel::Doorbell* stack_bell_ = nullptr;  // with a driver process
  int lifeline_fd_ = -1;
  net::Stack stack_;
  net::Stack::Task task_;  // the interface's receive task, polled by the state-machine variant
  net::UdpSocketId socket_;
  std::vector<std::byte> payload_;
  std::vector<std::byte> peer_frame_;  // the datagram the peer sends us, as a whole frame
  std::vector<std::byte> receive_buffer_;
  std::vector<driver_channel::TxBuffer> held_;  // fill_tx()'s buffers
  bool read_woken_ = false;
  std::uint64_t read_wakes_ = 0;
};

/// lwIP 2.1.3 doing the same work (benchmarks/udp_path/lwip_path.h): the same addresses, the same
/// payload to send, the same peer frame to receive as `ours`, which must outlive it. lwIP keeps
/// global state: one LwipWorld at a time.
class LwipWorld {
 public:
  explicit LwipWorld(const UdpWorld& ours);
  ~LwipWorld();
  LwipWorld(const LwipWorld&) = delete;
  LwipWorld& operator=(const LwipWorld&) = delete;

  /// The driver's share: takes every frame sent (copying the last into `keep_last` if given).
  std::uint32_t drain_tx(std::vector<std::byte>* keep_last = nullptr);
  /// The driver's share: `count` copies of the peer's datagram, each into a pbuf.
  void inject_rx(std::uint32_t count);
  /// The last datagram the application's callback received.
  std::span<const std::byte> received() const;
};

// ---- the variants of each path. Each returns the number of datagrams it completed. ----

/// Sends one datagram from the socket to the peer.
std::uint32_t state_machine_send(UdpWorld& world);
/// kBatch sends inside one channel batch: published together, one doorbell decision.
std::uint32_t state_machine_send_batch(UdpWorld& world);
std::uint32_t sync_send(UdpWorld& world);
std::uint32_t lwip_send(LwipWorld& world);

/// An application reading a batch: its first read waits on the empty socket (the frames the driver
/// delivered are still in the channel); the stack's receive path takes them into the socket, which
/// wakes the read; then it reads the rest of what was queued without waiting, each datagram into
/// the world's receive buffer. The synchronous variant cannot wait: it runs the receive path first.
std::uint32_t state_machine_receive(UdpWorld& world);
/// The same inside one channel batch: the buffers the reads give back reach the driver together.
std::uint32_t state_machine_receive_batch(UdpWorld& world);
std::uint32_t sync_receive(UdpWorld& world);
/// lwIP's receive path has no waiting read: its driver hands each frame to netif->input, and the
/// application's callback copies the datagram out.
std::uint32_t lwip_receive(LwipWorld& world);

}  // namespace pollstack::bench
