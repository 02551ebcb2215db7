#pragma once
/// Ethernet<Device>: the link layer over a network device (the NIC contract, layers/nic/nic.h).
/// Its send operation holds the device's TX reservation by value: Pending while the device is
/// full (backpressure starts here), then Ready with a TxFrame whose Ethernet header is written.
/// Its receive side filters frames by destination (our MAC, broadcast, and the multicast groups
/// joined); the interface hands what passes to the protocol registered under its EtherType.
///
/// `Device` is driver_channel::StackChannel on Linux, the LAN9118 driver in tools/firmware, and a fake
/// in the layer's own tests.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/counters.h"
#include "layers/common/send_error.h"
#include "layers/common/tx_frame.h"
#include "layers/config.h"
#include "layers/ethernet/ethernet_wire.h"
#include "layers/nic/nic.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"

namespace pollstack::net {

/// Frames the Ethernet layer refuses although they parse.
enum class EthernetDrop : std::uint8_t {
  kNotForUs,           // destination is neither our MAC, broadcast, nor a multicast group joined
  kUnknownEthertype,   // no protocol registered under its EtherType
};
inline constexpr std::size_t kEthernetDropKinds = 2;

struct EthernetCounters {
  std::uint64_t frames_received = 0;  // frames that passed the destination filter
  std::uint64_t frames_built = 0;     // headers written by send operations
  std::uint64_t send_pending = 0;     // send polls that found the channel full
  ReasonCounters<wire::EthernetError, wire::kEthernetErrorKinds> malformed;
  ReasonCounters<EthernetDrop, kEthernetDropKinds> dropped;
};

/// Why join_multicast() refused.
enum class MulticastError : std::uint8_t {
  kNotMulticast,  // the group bit (the first octet's lowest bit) is clear, or it is broadcast
  kTableFull,     // Config::kMulticastGroups groups are joined
};

template <Nic Channel, StackConfig Config = DefaultConfig>
class Ethernet {
 public:
  using TxBuffer = typename Channel::TxBuffer;
  using RxBuffer = typename Channel::RxBuffer;
  using Frame = TxFrame<TxBuffer>;
  using SendResult = Result<Frame, SendError>;

  Ethernet(Channel& channel, const wire::MacAddress& mac) noexcept : channel_(&channel), mac_(mac) {}
  Ethernet(const Ethernet&) = delete;
  Ethernet& operator=(const Ethernet&) = delete;

  /// Reserve a TX buffer, write the header: Ready with the frame (payload at offset 14).
  class Send {
   public:
    using Output = SendResult;
    Send(Ethernet& link, const wire::MacAddress& destination, std::uint16_t ethertype) noexcept
        : link_(&link), reservation_(link.channel_->reserve_tx()), destination_(destination), ethertype_(ethertype) {}

    /// For a layer above that learns the destination after creating the operation (ARP writes
    /// the resolved MAC here), before the first poll.
    wire::MacAddress& destination() noexcept { return destination_; }

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<NicResult<TxBuffer>> reserved = reservation_.poll(cx);
      if (reserved.is_pending()) {
        ++link_->counters_.send_pending;
        return pending;
      }
      state_.set(State::Done);
      if (!reserved.value().ok()) return Output(SendError::kLinkDown);
      return Output(link_->frame(std::move(reserved.value().value()), destination_, ethertype_));
    }

   private:
    enum class State : std::uint8_t { Reserving, Done };
    static constexpr auto kTransitions = transitions(State::Reserving, {
        {State::Reserving, State::Done, "device TX buffer reserved (header written), or the device down"},
    });
    Ethernet* link_;
    typename Channel::TxReservation reservation_;
    wire::MacAddress destination_;
    std::uint16_t ethertype_;
    StateCell<Send, &kTransitions> state_{State::Reserving};
  };

  Send send(const wire::MacAddress& destination, std::uint16_t ethertype) noexcept {
    return Send(*this, destination, ethertype);
  }

  /// Writes our header into a reserved buffer. Shared by Send and by synchronous callers.
  Frame frame(TxBuffer buffer, const wire::MacAddress& destination, std::uint16_t ethertype) noexcept {
    wire::emit_ethernet({destination, mac_, ethertype}, buffer.bytes());
    ++counters_.frames_built;
    return Frame(std::move(buffer), wire::kEthernetHeaderBytes);
  }

  /// Accepts frames sent to the multicast `group` from now on. Joining a group already joined
  /// changes nothing.
  std::optional<MulticastError> join_multicast(const wire::MacAddress& group) noexcept {
    if (!group.is_group() || group == wire::MacAddress::broadcast()) return MulticastError::kNotMulticast;
    if (is_joined(group)) return std::nullopt;
    if (groups_joined_ == Config::kMulticastGroups) return MulticastError::kTableFull;
    groups_[groups_joined_++] = group;
    return std::nullopt;
  }

  /// Stops accepting frames sent to `group`. False if it was not joined.
  bool leave_multicast(const wire::MacAddress& group) noexcept {
    for (std::size_t i = 0; i < groups_joined_; ++i) {
      if (groups_[i] == group) {
        groups_[i] = groups_[--groups_joined_];
        return true;
      }
    }
    return false;
  }

  bool is_joined(const wire::MacAddress& group) const noexcept {
    for (std::size_t i = 0; i < groups_joined_; ++i) {
      if (groups_[i] == group) return true;
    }
    return false;
  }

  /// A received frame that passed the filter: what the layers above need of its header, and the
  /// bytes after it. Not the whole header: copying two MAC addresses up the receive path, built
  /// with narrow stores and copied with one wide load, stalled on store forwarding every frame
  /// (perf annotate, benchmarks/udp_path).
  struct Received {
    // A constructor, not an aggregate: accept() builds one in its optional (see Ipv4's Received).
    constexpr Received(std::uint16_t type, bool group, std::span<const std::byte> p) noexcept
        : ethertype(type), to_group(group), payload(p) {}
    std::uint16_t ethertype;
    bool to_group;  // sent to a broadcast or multicast address
    std::span<const std::byte> payload;
  };

  /// Parses and filters one received frame by destination; a refused frame is counted by reason.
  std::optional<Received> accept(std::span<const std::byte> bytes) noexcept {
    wire::EthernetRepr h;
    if (const std::optional<wire::EthernetError> bad = wire::parse_ethernet_into(bytes, h)) {
      counters_.malformed.count(*bad);
      return std::nullopt;
    }
    // Multicast groups are looked up only for a multicast destination other than broadcast.
    if (h.destination != mac_ && h.destination != wire::MacAddress::broadcast() &&
        !(h.destination.is_group() && is_joined(h.destination))) {
      counters_.dropped.count(EthernetDrop::kNotForUs);
      return std::nullopt;
    }
    ++counters_.frames_received;
    return std::optional<Received>(std::in_place, h.ethertype, h.destination.is_group(),
                                   bytes.subspan(wire::kEthernetHeaderBytes));  // in place, as Ipv4::accept
  }

  /// The interface's table has no protocol for an accepted frame's EtherType.
  void count_unknown_ethertype() noexcept { counters_.dropped.count(EthernetDrop::kUnknownEthertype); }

  Channel& channel() noexcept { return *channel_; }
  const wire::MacAddress& mac() const noexcept { return mac_; }
  const EthernetCounters& counters() const noexcept { return counters_; }

 private:
  Channel* channel_;
  wire::MacAddress mac_;
  std::array<wire::MacAddress, Config::kMulticastGroups> groups_{};
  std::size_t groups_joined_ = 0;
  EthernetCounters counters_;
};

}  // namespace pollstack::net
