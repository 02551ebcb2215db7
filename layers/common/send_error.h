#pragma once
/// Why a send operation completed without sending. One enum for every layer, so an application
/// handles the outcome of a UDP send without knowing which layer below gave up.

#include <cstddef>
#include <cstdint>

namespace pollstack::net {

enum class SendError : std::uint8_t {
  kLinkDown,             // the driver is gone
  kNoRoute,              // off-link destination and no gateway configured
  kHostUnreachable,      // ARP got no answer after kArpMaxRequests (or recently failed)
  kNeighbourBusy,        // kArpWaitersPerEntry senders already wait on this address
  kNeighbourCacheFull,   // every cache entry is being resolved; none can be reused
  kNeighbourUnresolved,  // a reply that may not wait found no cached address (resolution started)
  kMessageTooLong,       // payload larger than the MTU allows
  kBadSocket,            // not a bound socket of this table
  kAddressFamily,        // an IPv6 destination: not routed yet (Linux: EAFNOSUPPORT)
};
inline constexpr std::size_t kSendErrorKinds = 9;

}  // namespace pollstack::net
