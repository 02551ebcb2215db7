#pragma once
/// Icmp<Ip>: echo (ping) in both directions, and destination-unreachable errors: sent, rate
/// limited, for UDP datagrams to closed ports; received, checked, and handed (as a TransportError)
/// to the transport that sent the offending packet, so the socket or connection learns of it.
///
/// Receiving never transmits by itself: on_message() says what to answer and the interface task
/// sends it (see layers/interface.h), through the same Ipv4 send operation everything else uses.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/counters.h"
#include "layers/common/send_error.h"
#include "layers/common/transport_error.h"
#include "layers/icmp/icmp_wire.h"
#include "layers/ipv4/ipv4.h"
#include "layers/options.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"
#include "statemachines/waker_slot.h"

namespace pollstack::net {

/// ICMP messages that parse but are not acted on.
enum class IcmpDrop : std::uint8_t {
  kUnhandledType,        // neither echo nor destination unreachable
  kBroadcastEcho,        // echo request to a broadcast address (not answered, as Linux by default)
  kBadQuote,             // an error quoting something we did not send (or too little of it)
  kUnmatchedEchoReply,   // an echo reply nobody is waiting for
};
inline constexpr std::size_t kIcmpDropKinds = 4;

struct IcmpCounters {
  std::uint64_t echo_requests_received = 0;
  std::uint64_t echo_replies_received = 0;
  std::uint64_t unreachables_received = 0;
  std::uint64_t errors_rate_limited = 0;  // port unreachables not sent: token bucket empty
  ReasonCounters<wire::IcmpError, wire::kIcmpErrorKinds> malformed;
  ReasonCounters<IcmpDrop, kIcmpDropKinds> dropped;
};

/// What the receive path must answer or report after an ICMP message.
struct IcmpAction {
  enum class Kind : std::uint8_t { kNone, kEchoReply, kUnreachableReceived };
  Kind kind = Kind::kNone;
  wire::IcmpRepr echo;                      // kEchoReply: identifier and sequence to echo
  std::span<const std::byte> echo_data;     // kEchoReply: the data to echo (in the received frame)
  TransportError error;                      // kUnreachableReceived: for the transport that sent it
};

/// An echo reply a pinger received.
struct EchoReply {
  wire::Ipv4Address from;
  std::uint16_t sequence = 0;
  std::size_t data_length = 0;
};

/// Bytes of the offending packet's transport header an ICMP error must quote for us to act on it.
inline constexpr std::size_t kQuotedTransportBytes = 8;

template <class Ip>
class Icmp {
 public:
  using Frame = typename Ip::Frame;

  explicit Icmp(Ip& ip) noexcept : ip_(&ip) {}
  Icmp(const Icmp&) = delete;
  Icmp& operator=(const Icmp&) = delete;

  /// Handles one received ICMP message addressed to us.
  IcmpAction on_message(const typename Ip::Received& packet) noexcept {
    const wire::Parsed<wire::IcmpRepr, wire::IcmpError> parsed = wire::parse_icmp(packet.payload);
    if (!parsed.ok()) {
      counters_.malformed.count(parsed.error());
      return {};
    }
    const wire::IcmpRepr& m = parsed.repr();
    IcmpAction action;
    switch (m.type) {
      case wire::icmp_type::kEchoRequest:
        if (packet.broadcast) {
          counters_.dropped.count(IcmpDrop::kBroadcastEcho);
          return {};
        }
        ++counters_.echo_requests_received;
        action.kind = IcmpAction::Kind::kEchoReply;
        action.echo = {wire::icmp_type::kEchoReply, 0, m.identifier, m.sequence};
        action.echo_data = parsed.payload();
        return action;
      case wire::icmp_type::kEchoReply:
        ++counters_.echo_replies_received;
        if (!pinger_waiting_ || m.identifier != pinger_identifier_ || last_reply_.has_value()) {
          counters_.dropped.count(IcmpDrop::kUnmatchedEchoReply);
          return {};
        }
        last_reply_ = EchoReply{packet.header.source, m.sequence, parsed.payload().size()};
        pinger_.wake();
        return {};
      case wire::icmp_type::kDestinationUnreachable: {
        ++counters_.unreachables_received;
        // The quote: the original IP header, from our address, then at least 8 bytes of its
        // transport header (RFC 792), which carry the ports of UDP and TCP.
        const auto quoted = wire::parse_ipv4_quote(parsed.payload());
        if (!quoted.ok() || quoted.repr().source != ip_->config().address ||
            quoted.payload().size() < kQuotedTransportBytes) {
          counters_.dropped.count(IcmpDrop::kBadQuote);
          return {};
        }
        action.kind = IcmpAction::Kind::kUnreachableReceived;
        action.error.kind = m.code == wire::icmp_unreachable_code::kPortUnreachable
                                ? TransportError::Kind::kPortUnreachable
                                : TransportError::Kind::kUnreachable;
        action.error.icmp_code = m.code;
        action.error.protocol = quoted.repr().protocol;
        action.error.remote = quoted.repr().destination;
        action.error.transport = quoted.payload();
        return action;
      }
      default:
        counters_.dropped.count(IcmpDrop::kUnhandledType);
        return {};
    }
  }

  /// Writes an echo reply as the frame's IP payload and submits it.
  static bool transmit_echo_reply(Frame& frame, const wire::IcmpRepr& reply, std::span<const std::byte> data) noexcept {
    wire::copy_bytes(frame.payload().subspan(wire::kIcmpHeaderBytes), data);
    return frame.submit(wire::emit_icmp(reply, data.size(), frame.payload()));
  }

  /// May an ICMP error be sent now? Takes a token from the bucket (RFC 1812 §4.3.2.8).
  bool take_error_token(Instant now) noexcept {
    if (tokens_ < kIcmpErrorBurst) {
      const auto refill = static_cast<std::uint64_t>((now - refilled_at_) / kIcmpErrorInterval);
      if (refill > 0) {
        tokens_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(kIcmpErrorBurst, tokens_ + refill));
        refilled_at_ = now;
      }
    } else {
      refilled_at_ = now;
    }
    if (tokens_ == 0) {
      ++counters_.errors_rate_limited;
      return false;
    }
    --tokens_;
    return true;
  }

  /// Bytes of IP payload a port unreachable for `offending_ip_packet` needs.
  static std::size_t unreachable_length(std::span<const std::byte> offending_ip_packet) noexcept {
    return wire::kIcmpHeaderBytes + std::min(offending_ip_packet.size(), kIcmpQuoteBytes);
  }

  /// Writes a port unreachable quoting `offending_ip_packet` and submits it.
  static bool transmit_port_unreachable(Frame& frame, std::span<const std::byte> offending_ip_packet) noexcept {
    const std::size_t quote = std::min(offending_ip_packet.size(), kIcmpQuoteBytes);
    wire::copy_bytes(frame.payload().subspan(wire::kIcmpHeaderBytes), offending_ip_packet.first(quote));
    const wire::IcmpRepr m{wire::icmp_type::kDestinationUnreachable, wire::icmp_unreachable_code::kPortUnreachable, 0,
                           0};
    return frame.submit(wire::emit_icmp(m, quote, frame.payload()));
  }

  /// Ping: sends one echo request with `data`. Ready with the number of data bytes sent.
  class EchoRequest {
   public:
    using Output = Result<std::size_t, SendError>;
    EchoRequest(Icmp& icmp, const wire::Ipv4Address& to, std::uint16_t identifier, std::uint16_t sequence,
                std::span<const std::byte> data) noexcept
        : ip_send_(icmp.ip_->send(to, wire::ip_protocol::kIcmp, wire::kIcmpHeaderBytes + data.size())),
          data_(data),
          identifier_(identifier),
          sequence_(sequence) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<typename Ip::SendResult> sent = ip_send_.poll(cx);
      if (sent.is_pending()) return pending;
      state_.set(State::Done);
      if (!sent.value().ok()) return Output(sent.value().error());
      Frame& frame = sent.value().value();
      wire::copy_bytes(frame.payload().subspan(wire::kIcmpHeaderBytes), data_);
      const wire::IcmpRepr m{wire::icmp_type::kEchoRequest, 0, identifier_, sequence_};
      if (!frame.submit(wire::emit_icmp(m, data_.size(), frame.payload()))) return Output(SendError::kLinkDown);
      return Output(data_.size());
    }

   private:
    enum class State : std::uint8_t { Sending, Done };
    typename Ip::Send ip_send_;
    std::span<const std::byte> data_;
    std::uint16_t identifier_;
    std::uint16_t sequence_;
    StateCell<EchoRequest, State> state_{State::Sending};
  };

  EchoRequest ping(const wire::Ipv4Address& to, std::uint16_t identifier, std::uint16_t sequence,
                   std::span<const std::byte> data) noexcept {
    return EchoRequest(*this, to, identifier, sequence, data);
  }

  /// Waits for the next echo reply carrying `identifier` (one pinger at a time). Cancel by
  /// dropping it; replies that arrive while nobody waits are counted and dropped.
  class ReceiveEchoReply {
   public:
    using Output = EchoReply;
    ReceiveEchoReply(Icmp& icmp, std::uint16_t identifier) noexcept : icmp_(&icmp) {
      icmp.pinger_identifier_ = identifier;
      icmp.pinger_waiting_ = true;
      icmp.last_reply_.reset();
    }
    ReceiveEchoReply(ReceiveEchoReply&& other) noexcept
        : icmp_(std::exchange(other.icmp_, nullptr)), state_(other.state_) {}
    ~ReceiveEchoReply() {
      if (icmp_ != nullptr) icmp_->pinger_waiting_ = false;
    }

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      if (!icmp_->last_reply_) {
        icmp_->pinger_.store(cx.waker());
        return pending;
      }
      state_.set(State::Done);
      const EchoReply reply = *icmp_->last_reply_;
      icmp_->last_reply_.reset();
      return reply;
    }

   private:
    enum class State : std::uint8_t { Waiting, Done };
    Icmp* icmp_;
    StateCell<ReceiveEchoReply, State> state_{State::Waiting};
  };

  ReceiveEchoReply receive_echo_reply(std::uint16_t identifier) noexcept { return ReceiveEchoReply(*this, identifier); }

  const IcmpCounters& counters() const noexcept { return counters_; }

 private:
  Ip* ip_;
  std::uint32_t tokens_ = kIcmpErrorBurst;
  Instant refilled_at_{};
  bool pinger_waiting_ = false;
  std::uint16_t pinger_identifier_ = 0;
  std::optional<EchoReply> last_reply_;
  WakerSlot pinger_;
  IcmpCounters counters_;
};

}  // namespace pollstack::net
