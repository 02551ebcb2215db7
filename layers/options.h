#pragma once
/// Every capacity and timeout of the protocol layers, in one place, with what it costs and why it
/// has its value. The capacities are the defaults of DefaultConfig (layers/config.h): an embedder
/// changes them there, per stack, without editing this file. A device's own capacities are its
/// own (layers/nic/nic.h; the driver channel's are in driver_channel/options.h).

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "statemachines/clock.h"

namespace pollstack::net {

using namespace std::chrono_literals;

// ---- Ethernet / interface --------------------------------------------------------------------

/// Largest IP packet the interface sends or accepts (the Ethernet MTU). A frame is this plus the
/// 14-byte Ethernet header, and must fit one device buffer (checked in Interface<Device>).
inline constexpr std::size_t kMtu = 1500;

/// The smallest MTU an interface may be configured with (RFC 791: every host must accept 576-byte
/// datagrams; a smaller link would need fragmentation, which this stack does not do).
inline constexpr std::size_t kMinimumMtu = 576;

/// Multicast groups (destination MACs) the Ethernet filter accepts besides our own MAC and
/// broadcast. 8 bytes each. IPv6's neighbour discovery will join one solicited-node group per
/// address (RFC 4861 §7.2.1), mDNS one more.
inline constexpr std::size_t kMulticastGroups = 4;

/// Frames the interface task takes from the channel in one poll before it yields, so that a
/// flood of arriving frames cannot starve the application's tasks (bounded work per poll).
inline constexpr std::uint32_t kRxFramesPerPoll = 32;

// ---- ARP -------------------------------------------------------------------------------------

/// Neighbour cache entries (IPv4 address -> MAC). 64 bytes each (the waiters are queued through
/// their own operations).
inline constexpr std::size_t kNeighbourCacheEntries = 16;

/// How long a learned address is trusted before it must be confirmed again (RFC 1122 asks for a
/// timeout; Linux's base_reachable_time is 30 s, with random jitter).
inline constexpr Duration kNeighbourReachableTime = 60s;

/// Time between ARP requests for an unresolved address (Linux: retrans_time 1 s).
inline constexpr Duration kArpRetryInterval = 1s;

/// Requests sent before giving up; senders then complete with kHostUnreachable (Linux:
/// mcast_solicit 3).
inline constexpr std::uint32_t kArpMaxRequests = 3;

/// After resolution failed, sends to that address fail at once for this long instead of
/// triggering a new round of requests (RFC 1122 §2.3.2.1: flooding prevention).
inline constexpr Duration kArpFailedHoldTime = 3s;

/// Send operations that may wait on one unresolved address at once. The packets themselves stay
/// in their senders' operations (nothing is copied), so this bounds waiters, not memory. One more
/// sender gets kNeighbourBusy at once (Linux: unres_qlen, then drop).
inline constexpr std::size_t kArpWaitersPerEntry = 4;

// ---- IPv4 ------------------------------------------------------------------------------------

/// TTL of the datagrams we originate (RFC 1700's recommended default).
inline constexpr std::uint8_t kDefaultTtl = 64;

// ---- ICMP ------------------------------------------------------------------------------------

/// ICMP errors (port unreachable) are rate limited by a token bucket (RFC 1812 §4.3.2.8): at most
/// kIcmpErrorBurst at once, refilled at one token per kIcmpErrorInterval. Echo replies are not
/// limited: they answer what was sent to us, and the transmit path's backpressure bounds them.
inline constexpr std::uint32_t kIcmpErrorBurst = 10;
inline constexpr Duration kIcmpErrorInterval = 10ms;

/// Bytes of the offending datagram quoted in an ICMP error: its IP header and 8 bytes of payload
/// (RFC 792; enough for the sender to find its UDP socket).
inline constexpr std::size_t kIcmpQuoteBytes = 20 + 8;

// ---- UDP -------------------------------------------------------------------------------------

/// Sockets in the socket table.
inline constexpr std::size_t kUdpSockets = 8;

/// Datagrams a socket holds for an application that has not read them yet. Each holds its
/// received device buffer (zero copy), so all queues together must leave the device buffers to
/// receive into: at most half of the device's receive buffers (checked in Interface<Device>).
/// The overflow of a full queue is the one place the stack drops a good packet, and it is
/// counted per socket.
inline constexpr std::size_t kUdpReceiveQueueDepth = 8;

/// The ephemeral port range bind(0) allocates from (IANA dynamic ports, RFC 6335).
inline constexpr std::uint16_t kEphemeralPortFirst = 49152;
inline constexpr std::uint16_t kEphemeralPortLast = 65535;

/// Largest UDP payload in one (unfragmented) datagram.
inline constexpr std::size_t kUdpMaxPayload = kMtu - 20 - 8;

// ---- TCP -------------------------------------------------------------------------------------

/// Connections in the connection table (handshakes, open ones, and those closing or in
/// TIME-WAIT). Each holds its two buffers: 8 × (16 + 16) KiB = 256 KiB by default.
inline constexpr std::size_t kTcpConnections = 8;
/// Ports listened on at once.
inline constexpr std::size_t kTcpListeners = 4;
/// Connections of one listener not yet accepted, handshakes in progress included. A SYN beyond
/// it is ignored and counted (the peer retries), as Linux does when its accept queue is full.
inline constexpr std::size_t kTcpBacklog = 4;
/// Each connection's send and receive buffers, in bytes (powers of two, at most 1 GiB, RFC 7323's
/// largest window). The receive buffer is the window we advertise; past 64 KiB it needs the
/// peer to agree to window scaling.
inline constexpr std::size_t kTcpSendBufferBytes = 16384;
inline constexpr std::size_t kTcpReceiveBufferBytes = 16384;
/// Out-of-order ranges a connection keeps (their bytes wait in its receive buffer's free space);
/// a segment that would need one more is dropped and sent again by the peer.
inline constexpr std::size_t kTcpOutOfOrderRanges = 4;
/// Ranges the peer reported holding (SACK, RFC 2018) that a connection's scoreboard keeps above
/// SND.UNA (RFC 6675); a report past them is not recorded, so less is known to be lost, and the
/// retransmission timer recovers what SACK recovery did not.
inline constexpr std::size_t kTcpSackScoreboardBlocks = 8;
/// TIME-WAIT lasts 2·MSL (RFC 9293 §3.6.1); Linux fixes it at 60 s (TCP_TIMEWAIT_LEN).
inline constexpr Duration kTcpTimeWait = 60s;
/// An orphaned connection (closed by its application) waits at most this long in FIN-WAIT-2 for
/// the peer's FIN (Linux's tcp_fin_timeout).
inline constexpr Duration kTcpFinWait2Timeout = 60s;
/// Retransmission timeout (RFC 6298): initial 1 s; bounds as Linux's (TCP_RTO_MIN 200 ms, where
/// the RFC suggests 1 s, and TCP_RTO_MAX 120 s).
inline constexpr Duration kTcpInitialRto = 1s;
inline constexpr Duration kTcpMinRto = 200ms;
inline constexpr Duration kTcpMaxRto = 120s;
/// Retransmissions of a SYN or SYN-ACK before the attempt fails (Linux's tcp_syn_retries and
/// tcp_synack_retries: 6 and 5; one figure here), and of data before the connection is given up
/// (tcp_retries2: 15, about 15 minutes with the backoff).
inline constexpr std::uint32_t kTcpSynRetries = 6;
inline constexpr std::uint32_t kTcpDataRetries = 15;
/// Retransmissions and unanswered probes before a connection its application has closed is
/// given up (Linux's tcp_orphan_retries: its default 0 means 8).
inline constexpr std::uint32_t kTcpOrphanRetries = 8;
/// A segment that could not be sent because its next hop was not resolved (an ARP entry that
/// expired) is tried again after this long, while the resolution it started completes.
inline constexpr Duration kTcpNeighbourRetry = 100ms;
/// A received segment is acknowledged at most this late (unless a second full-sized one, a gap
/// filled, or data of ours going out acknowledges it first): Linux's TCP_DELACK_MIN. RFC 1122
/// §4.2.3.2 allows up to 500 ms.
inline constexpr Duration kTcpDelayedAck = 40ms;
/// The MSS assumed when the peer sends none (RFC 9293 §3.7.1).
inline constexpr std::uint16_t kTcpDefaultMss = 536;
/// The tick of our TCP timestamps (RFC 7323 §5.4 asks for 1 ms to 1 s): the microsecond clock
/// shifted right by 10, so 1.024 ms, a shift rather than a 64-bit division (firmware has no
/// divide instruction for it). Linux ticks at 1 ms. It wraps its sign bit after 25 days, longer
/// than the 24 days after which PAWS stops trusting a timestamp (RFC 7323 §5.5).
inline constexpr unsigned kTcpTimestampShift = 10;
/// Challenge ACKs (RFC 5961 §7) sent per second at most, for all connections (Linux's
/// tcp_challenge_ack_limit).
inline constexpr std::uint32_t kTcpChallengeAcksPerSecond = 1000;

}  // namespace pollstack::net
