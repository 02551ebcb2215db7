#pragma once
/// Icmp<Ip>: echo (ping) in both directions, and destination-unreachable errors: sent, rate
/// limited, for datagrams to closed ports and packets of protocols nobody here speaks; received,
/// checked, and handed (as a TransportError) to the transport that sent the offending packet, so
/// the socket or connection learns of it.
///
/// Receiving never transmits by itself: an answer (echo reply, unreachable) waits in the layer,
/// holding the received frame its data points into, until the interface task polls ICMP's
/// Transmit operation (ICMP is a Transmitter, common/protocol.h), which sends it through the same
/// Ipv4 send operation everything else uses.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/counters.h"
#include "layers/common/protocol.h"
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
  kAnswerPending,        // an answer came due while the previous one was still unsent
};
inline constexpr std::size_t kIcmpDropKinds = 5;

struct IcmpCounters {
  std::uint64_t echo_requests_received = 0;
  std::uint64_t echo_replies_received = 0;
  std::uint64_t unreachables_received = 0;
  std::uint64_t echo_replies_sent = 0;
  std::uint64_t unreachables_sent = 0;
  std::uint64_t errors_rate_limited = 0;  // unreachables not sent: token bucket empty
  std::uint64_t errors_to_broadcast_suppressed = 0;  // nor: the packet was a broadcast (IP or link)
  ReasonCounters<wire::IcmpError, wire::kIcmpErrorKinds> malformed;
  ReasonCounters<IcmpDrop, kIcmpDropKinds> dropped;
  ReasonCounters<SendError, kSendErrorKinds> answers_not_sent;  // echo replies and errors given up
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
  using RxBuffer = typename Ip::RxBuffer;
  static constexpr std::uint8_t kIpProtocol = wire::ip_protocol::kIcmp;

  explicit Icmp(Ip& ip) noexcept : ip_(&ip) {}
  Icmp(const Icmp&) = delete;
  Icmp& operator=(const Icmp&) = delete;

  /// The receive handler (registered under kIpProtocol): one ICMP message addressed to us. An echo
  /// request is answered (kAnswer: the reply waits here, holding `frame`); an unreachable about
  /// something we sent is kTransportError, with the error in received_error().
  RxVerdict on_packet(const typename Ip::Received& packet, std::optional<RxBuffer>& frame, Instant /*now*/) noexcept {
    const wire::Parsed<wire::IcmpRepr, wire::IcmpError> parsed = wire::parse_icmp(packet.payload);
    if (!parsed.ok()) {
      counters_.malformed.count(parsed.error());
      return RxVerdict::kDone;
    }
    const wire::IcmpRepr& m = parsed.repr();
    switch (m.type) {
      case wire::icmp_type::kEchoRequest:
        if (packet.broadcast) {
          counters_.dropped.count(IcmpDrop::kBroadcastEcho);
          return RxVerdict::kDone;
        }
        ++counters_.echo_requests_received;
        return answer(packet.header.source, {wire::icmp_type::kEchoReply, 0, m.identifier, m.sequence},
                      parsed.payload(), frame);
      case wire::icmp_type::kEchoReply:
        ++counters_.echo_replies_received;
        if (!pinger_waiting_ || m.identifier != pinger_identifier_ || last_reply_.has_value()) {
          counters_.dropped.count(IcmpDrop::kUnmatchedEchoReply);
          return RxVerdict::kDone;
        }
        last_reply_ = EchoReply{packet.header.source, m.sequence, parsed.payload().size()};
        pinger_.wake();
        return RxVerdict::kDone;
      case wire::icmp_type::kDestinationUnreachable: {
        ++counters_.unreachables_received;
        // The quote: the original IP header, from our address, then at least 8 bytes of its
        // transport header (RFC 792), which carry the ports of UDP and TCP.
        const auto quoted = wire::parse_ipv4_quote(parsed.payload());
        if (!quoted.ok() || quoted.repr().source != ip_->config().address ||
            quoted.payload().size() < kQuotedTransportBytes) {
          counters_.dropped.count(IcmpDrop::kBadQuote);
          return RxVerdict::kDone;
        }
        received_error_.kind = m.code == wire::icmp_unreachable_code::kPortUnreachable
                                   ? TransportError::Kind::kPortUnreachable
                                   : TransportError::Kind::kUnreachable;
        received_error_.icmp_code = m.code;
        received_error_.protocol = quoted.repr().protocol;
        received_error_.remote = quoted.repr().destination;
        received_error_.transport = quoted.payload();
        return RxVerdict::kTransportError;
      }
      default:
        counters_.dropped.count(IcmpDrop::kUnhandledType);
        return RxVerdict::kDone;
    }
  }

  /// The error the last kTransportError verdict was about (its transport bytes point into the
  /// received frame: valid while the caller holds it).
  const TransportError& received_error() const noexcept { return received_error_; }

  /// Answers `packet` (whose whole IPv4 packet, header included, is `offending`, inside `frame`)
  /// with a destination unreachable of `code`: for a closed port (RFC 1122 §4.1.3.1) or a
  /// protocol nobody here speaks (§3.2.2.1). Never for a packet sent to a broadcast address or
  /// in a link-layer broadcast or multicast frame (§3.2.2), and at most at the ICMP error rate
  /// (RFC 1812 §4.3.2.8; Linux's icmp_ratelimit): kAnswer when one is queued.
  RxVerdict answer_unreachable(std::uint8_t code, const typename Ip::Received& packet,
                               std::span<const std::byte> offending, std::optional<RxBuffer>& frame,
                               Instant now) noexcept {
    if (packet.broadcast || packet.link_group) {
      ++counters_.errors_to_broadcast_suppressed;
      return RxVerdict::kDone;
    }
    if (!take_error_token(now)) return RxVerdict::kDone;
    return answer(packet.header.source, {wire::icmp_type::kDestinationUnreachable, code, 0, 0},
                  offending.first(std::min(offending.size(), kIcmpQuoteBytes)), frame);
  }

  /// An answer waiting to be sent: it holds the received frame its data points into.
  struct Answer {
    wire::Ipv4Address to;
    wire::IcmpRepr header;             // an echo reply, or a destination unreachable
    std::span<const std::byte> data;   // the echo data, or the quote of the offending packet
    RxBuffer frame;
  };

  /// Sends one answer (echo reply or unreachable). It never waits for ARP: an answer to an
  /// address not in the cache is given up (counted, kNeighbourUnresolved) and starts a resolution,
  /// as a peer that talks to us has normally just ARPed us.
  class Transmit {
   public:
    using Output = void;
    Transmit(Icmp& icmp, Answer&& answer) noexcept
        : icmp_(&icmp),
          answer_(std::move(answer)),
          ip_send_(icmp.ip_->send(answer_.to, kIpProtocol, wire::kIcmpHeaderBytes + answer_.data.size(),
                                  ResolvePolicy::kCachedOnly)) {}

    Poll<void> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<typename Ip::SendResult> sent = ip_send_.poll(cx);
      if (sent.is_pending()) return pending;
      state_.set(State::Done);
      IcmpCounters& counters = icmp_->counters_;
      if (!sent.value().ok()) {
        counters.answers_not_sent.count(sent.value().error());
        return ready();
      }
      Frame& frame = sent.value().value();
      wire::copy_bytes(frame.payload().subspan(wire::kIcmpHeaderBytes), answer_.data);
      if (!frame.submit(wire::emit_icmp(answer_.header, answer_.data.size(), frame.payload()))) {
        counters.answers_not_sent.count(SendError::kLinkDown);
        return ready();
      }
      ++(answer_.header.type == wire::icmp_type::kEchoReply ? counters.echo_replies_sent : counters.unreachables_sent);
      return ready();
    }

   private:
    enum class State : std::uint8_t { Sending, Done };
    static constexpr auto kTransitions = transitions(State::Sending, {
        {State::Sending, State::Done, "IP send Ready: answer written and submitted, or not-sent counted"},
    });
    Icmp* icmp_;
    Answer answer_;  // before ip_send_, which is built from it
    typename Ip::Send ip_send_;
    StateCell<Transmit, &kTransitions> state_{State::Sending};
  };

  /// Transmitter (common/protocol.h). ICMP has no timers: its token bucket refills by the clock.
  void run_timers(Context& /*cx*/) noexcept {}
  bool has_transmit() const noexcept { return answer_.has_value(); }
  Transmit transmit(Context& /*cx*/) noexcept {
    expect(answer_.has_value(), "Icmp::transmit() without has_transmit()");
    Transmit t(*this, std::move(*answer_));
    answer_.reset();
    return t;
  }

  /// May an ICMP error be sent now? Takes a token from the bucket (RFC 1812 §4.3.2.8).
  bool take_error_token(Instant now) noexcept {
    // One token per interval since the last refill, up to the burst: counted in steps (at most
    // kIcmpErrorBurst of them) rather than by dividing the durations, a 64-bit division that small
    // cores do in software (libgcc's, 0.9 KB of code on a Cortex-M4).
    while (tokens_ < kIcmpErrorBurst && now - refilled_at_ >= kIcmpErrorInterval) {
      ++tokens_;
      refilled_at_ += kIcmpErrorInterval;
    }
    if (tokens_ == kIcmpErrorBurst) refilled_at_ = now;  // a full bucket banks nothing more
    if (tokens_ == 0) {
      ++counters_.errors_rate_limited;
      return false;
    }
    --tokens_;
    return true;
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
    static constexpr auto kTransitions = transitions(State::Sending, {
        {State::Sending, State::Done, "IP send Ready: request written and submitted, or its error"},
    });
    typename Ip::Send ip_send_;
    std::span<const std::byte> data_;
    std::uint16_t identifier_;
    std::uint16_t sequence_;
    StateCell<EchoRequest, &kTransitions> state_{State::Sending};
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
    static constexpr auto kTransitions = transitions(State::Waiting, {
        {State::Waiting, State::Done, "an echo reply with our identifier arrived"},
    });
    Icmp* icmp_;
    StateCell<ReceiveEchoReply, &kTransitions> state_{State::Waiting};
  };

  ReceiveEchoReply receive_echo_reply(std::uint16_t identifier) noexcept { return ReceiveEchoReply(*this, identifier); }

  const IcmpCounters& counters() const noexcept { return counters_; }

 private:
  // Queues an answer holding `frame`; one at a time (the interface task sends it before it takes
  // the next frame, so only a caller that never transmits finds the slot taken).
  RxVerdict answer(const wire::Ipv4Address& to, const wire::IcmpRepr& header, std::span<const std::byte> data,
                   std::optional<RxBuffer>& frame) noexcept {
    if (answer_) {
      counters_.dropped.count(IcmpDrop::kAnswerPending);
      return RxVerdict::kDone;
    }
    answer_.emplace(Answer{to, header, data, std::move(*frame)});
    frame.reset();
    return RxVerdict::kAnswer;
  }

  Ip* ip_;
  std::optional<Answer> answer_;
  TransportError received_error_;
  std::uint32_t tokens_ = kIcmpErrorBurst;
  Instant refilled_at_{};
  bool pinger_waiting_ = false;
  std::uint16_t pinger_identifier_ = 0;
  std::optional<EchoReply> last_reply_;
  WakerSlot pinger_;
  IcmpCounters counters_;
};

}  // namespace pollstack::net
