#pragma once
/// The capacities of one stack, chosen at compile time by its embedder. Every layer that holds a
/// table takes its size from here, so a firmware image sizes the stack without editing project
/// files:
///
///   struct SmallConfig : pollstack::net::DefaultConfig {
///     static constexpr std::size_t kUdpSockets = 2;
///     static constexpr std::size_t kUdpReceiveQueueDepth = 2;
///   };
///   using MyStack = pollstack::net::Interface<MyNic, SmallConfig>;
///
/// The defaults are the documented values of layers/options.h (with their RAM costs and
/// reasons). The rules that tie a configuration to its device (socket queues against the device's
/// receive buffers, the MTU against its buffer size) are checked where the two meet, in
/// Interface<Device, Config>, at compile time.

#include <concepts>
#include <cstddef>

#include "layers/options.h"

namespace pollstack::net {

struct DefaultConfig {
  /// Frames the interface task takes from the device per poll before it yields.
  static constexpr std::size_t kRxFramesPerPoll = net::kRxFramesPerPoll;
  /// Multicast groups the Ethernet filter can be told to accept.
  static constexpr std::size_t kMulticastGroups = net::kMulticastGroups;
  /// Neighbour (ARP) cache entries.
  static constexpr std::size_t kNeighbourCacheEntries = net::kNeighbourCacheEntries;
  /// Senders that may wait on one unresolved address.
  static constexpr std::size_t kArpWaitersPerEntry = net::kArpWaitersPerEntry;
  /// UDP sockets in the socket table.
  static constexpr std::size_t kUdpSockets = net::kUdpSockets;
  /// Datagrams one socket holds for its reader (each keeps its receive buffer).
  static constexpr std::size_t kUdpReceiveQueueDepth = net::kUdpReceiveQueueDepth;
  /// TCP connections, listeners, each listener's backlog, and each connection's buffers. A
  /// configuration with 0 connections leaves TCP out of the interface altogether (not registered,
  /// none of its code or state linked): a UDP-only build.
  static constexpr std::size_t kTcpConnections = net::kTcpConnections;
  static constexpr std::size_t kTcpListeners = net::kTcpListeners;
  static constexpr std::size_t kTcpBacklog = net::kTcpBacklog;
  static constexpr std::size_t kTcpSendBufferBytes = net::kTcpSendBufferBytes;
  static constexpr std::size_t kTcpReceiveBufferBytes = net::kTcpReceiveBufferBytes;
  /// How long a connection stays in TIME-WAIT (2·MSL).
  static constexpr Duration kTcpTimeWait = net::kTcpTimeWait;
};

/// What a configuration must define (derive from DefaultConfig and override what differs).
template <class C>
concept StackConfig = requires {
  { C::kRxFramesPerPoll } -> std::convertible_to<std::size_t>;
  { C::kMulticastGroups } -> std::convertible_to<std::size_t>;
  { C::kNeighbourCacheEntries } -> std::convertible_to<std::size_t>;
  { C::kArpWaitersPerEntry } -> std::convertible_to<std::size_t>;
  { C::kUdpSockets } -> std::convertible_to<std::size_t>;
  { C::kUdpReceiveQueueDepth } -> std::convertible_to<std::size_t>;
  { C::kTcpConnections } -> std::convertible_to<std::size_t>;
  { C::kTcpListeners } -> std::convertible_to<std::size_t>;
  { C::kTcpBacklog } -> std::convertible_to<std::size_t>;
  { C::kTcpSendBufferBytes } -> std::convertible_to<std::size_t>;
  { C::kTcpReceiveBufferBytes } -> std::convertible_to<std::size_t>;
  { C::kTcpTimeWait } -> std::convertible_to<Duration>;
} && C::kRxFramesPerPoll >= 1 && C::kNeighbourCacheEntries >= 1 && C::kArpWaitersPerEntry >= 1 &&
                      C::kUdpSockets >= 1 && C::kUdpSockets <= 255 && C::kUdpReceiveQueueDepth >= 1 &&
                      (C::kTcpConnections == 0 ||  // no TCP
                       (C::kTcpConnections <= 32 && C::kTcpListeners >= 1 && C::kTcpListeners <= 255 &&
                        C::kTcpBacklog >= 1 && C::kTcpSendBufferBytes >= 1024 && C::kTcpReceiveBufferBytes >= 1024 &&
                        C::kTcpSendBufferBytes <= (std::size_t{1} << 30) &&
                        C::kTcpReceiveBufferBytes <= (std::size_t{1} << 30)));

static_assert(StackConfig<DefaultConfig>);

}  // namespace pollstack::net
