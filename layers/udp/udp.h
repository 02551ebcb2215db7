#pragma once
/// Udp<Ip>: the socket table. Fixed capacity; a socket is bound to a port (chosen, or ephemeral);
/// send_to() returns an operation holding the IPv4 send operation by value, so the channel's
/// backpressure reaches the application as Pending; recv_from() returns an operation that is
/// Pending until a datagram is queued.
///
/// Receive is zero copy up to the application: a queued datagram keeps the channel buffer it
/// arrived in, and recv_from copies it into the caller's buffer. Each queue is bounded
/// (Config::kUdpReceiveQueueDepth); a datagram for a full queue is the one good packet the stack drops,
/// and it is counted, per socket and in total.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "layers/common/bytes.h"
#include "layers/common/counters.h"
#include "layers/common/ip_address.h"
#include "layers/common/protocol.h"
#include "layers/common/send_error.h"
#include "layers/common/transport_error.h"
#include "layers/config.h"
#include "layers/ipv4/ipv4.h"
#include "layers/options.h"
#include "layers/udp/udp_wire.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"
#include "statemachines/waiter_list.h"

namespace pollstack::net {

/// A datagram's source or destination: an address of either IP version and a port. (Sends to
/// IPv6 addresses fail with kAddressFamily until the IPv6 layer exists.)
using UdpEndpoint = IpEndpoint;

/// A socket of one table. The generation catches a handle used after its socket was closed and
/// the slot reused.
struct UdpSocketId {
  std::uint8_t index = 0;
  std::uint8_t generation = 0;
};

enum class BindError : std::uint8_t {
  kPortInUse,
  kTableFull,  // every socket of the table (Config::kUdpSockets) is bound
};

enum class RecvError : std::uint8_t {
  kBadSocket,        // not a bound socket of this table (closed meanwhile, or never bound)
  kPortUnreachable,  // the peer answered one of this socket's datagrams with ICMP port unreachable
  kUnreachable,      // an ICMP destination unreachable (net, host, protocol...) answered one of them
};

struct ReceivedDatagram {
  UdpEndpoint from;
  std::size_t length = 0;  // bytes copied into the caller's buffer
  bool truncated = false;  // the datagram was longer than the buffer; the rest is discarded
};

/// UDP datagrams that parse but are not queued.
enum class UdpDrop : std::uint8_t {
  kClosedPort,  // no socket bound to the destination port (answered with port unreachable)
  kQueueFull,   // the socket's receive queue is full: the application is not reading
};
inline constexpr std::size_t kUdpDropKinds = 2;

struct UdpCounters {
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_queued = 0;
  std::uint64_t datagrams_read = 0;
  std::uint64_t send_pending = 0;  // send polls that returned Pending (backpressure reached the app)
  std::uint64_t errors_reported = 0;   // ICMP errors handed to the socket that caused them
  std::uint64_t errors_unclaimed = 0;  // ICMP errors for a port no socket is bound to
  ReasonCounters<wire::UdpError, wire::kUdpErrorKinds> malformed;
  ReasonCounters<UdpDrop, kUdpDropKinds> dropped;
  ReasonCounters<SendError, kSendErrorKinds> send_errors;
};

struct UdpSocketCounters {
  std::uint64_t queued = 0;
  std::uint64_t queue_overflows = 0;
};

/// What became of a received datagram. kQueuedNowFull: queued, and its socket's queue is now full:
/// the receive task ends its turn so the reader can drain it before more frames arrive.
enum class UdpDelivery : std::uint8_t { kQueued, kQueuedNowFull, kMalformed, kQueueFull, kClosedPort };

template <class Ip, StackConfig Config = DefaultConfig>
class Udp {
 public:
  using Frame = typename Ip::Frame;
  using RxBuffer = typename Ip::RxBuffer;
  using SendOutput = Result<std::size_t, SendError>;
  using RecvOutput = Result<ReceivedDatagram, RecvError>;
  static constexpr std::uint8_t kIpProtocol = wire::ip_protocol::kUdp;

  explicit Udp(Ip& ip) noexcept : ip_(&ip) {}
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;

  /// Binds a socket to `port`, or to a free ephemeral port when `port` is 0.
  Result<UdpSocketId, BindError> bind(std::uint16_t port) noexcept {
    Socket* free_slot = nullptr;
    for (Socket& s : sockets_) {
      if (s.bound && port != 0 && s.port == port) return BindError::kPortInUse;
      if (!s.bound && free_slot == nullptr) free_slot = &s;
    }
    if (free_slot == nullptr) return BindError::kTableFull;
    if (port == 0) port = ephemeral_port();
    free_slot->bound = true;
    free_slot->port = port;
    free_slot->error.reset();
    free_slot->counters = {};
    return id_of(*free_slot);
  }

  /// Closes a socket: queued datagrams are dropped (their buffers go back to the driver) and a
  /// waiting reader completes with kBadSocket.
  void close(UdpSocketId id) noexcept {
    Socket* s = lookup(id);
    if (s == nullptr) return;
    while (s->count > 0) s->pop();
    s->bound = false;
    ++s->generation;
    s->readers.notify_all();
  }

  /// The port a socket is bound to (0 for a bad handle).
  std::uint16_t local_port(UdpSocketId id) const noexcept {
    const Socket* s = const_cast<Udp*>(this)->lookup(id);
    return s == nullptr ? 0 : s->port;
  }

  /// Sends `payload` (which must outlive the operation) from socket `id` to `to`. Ready with the
  /// payload length once the datagram is in the channel, or with why it was not sent.
  class Send {
   public:
    using Output = SendOutput;
    Send(Udp& udp, UdpSocketId id, const UdpEndpoint& to, std::span<const std::byte> payload) noexcept
        : udp_(&udp),
          to_(to.address.is_v4() ? to.address.v4() : wire::Ipv4Address{}),
          // Built by value at once; for an IPv6 destination it is never polled (kAddressFamily).
          // From `to`, not from to_: a caller's constant destination stays visible to the routing.
          ip_send_(udp.ip_->send(to.address.is_v4() ? to.address.v4() : wire::Ipv4Address{}, wire::ip_protocol::kUdp,
                                 wire::kUdpHeaderBytes + payload.size())),
          payload_(payload),
          id_(id),
          to_port_(to.port),
          to_ipv4_(to.address.is_v4()) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      if (state_.get() == State::Checking) {
        if (udp_->lookup(id_) == nullptr) return fail(SendError::kBadSocket);
        if (!to_ipv4_) return fail(SendError::kAddressFamily);
        if (payload_.size() > kUdpMaxPayload) return fail(SendError::kMessageTooLong);
        state_.set(State::Sending);
      }
      Poll<typename Ip::SendResult> sent = ip_send_.poll(cx);
      if (sent.is_pending()) {
        ++udp_->counters_.send_pending;
        return pending;
      }
      if (!sent.value().ok()) return fail(sent.value().error());
      state_.set(State::Done);
      const Socket* s = udp_->lookup(id_);
      if (s == nullptr) return Output(SendError::kBadSocket);  // closed while we waited
      if (!udp_->transmit(sent.value().value(), s->port, to_, to_port_, payload_)) return Output(SendError::kLinkDown);
      return Output(payload_.size());
    }

   private:
    enum class State : std::uint8_t { Checking, Sending, Done };
    static constexpr auto kTransitions = transitions(State::Checking, {
        {State::Checking, State::Sending, "socket open, IPv4 destination, payload fits"},
        {State::Checking, State::Done, "bad socket, address family or length"},
        {State::Sending, State::Done, "IP send Ready: datagram written, or its error"},
    });

    Output fail(SendError error) noexcept {
      udp_->counters_.send_errors.count(error);
      state_.set(State::Done);
      return Output(error);
    }

    Udp* udp_;
    wire::Ipv4Address to_;  // the destination, once an IPv4 one (the only family sent today)
    typename Ip::Send ip_send_;
    std::span<const std::byte> payload_;
    UdpSocketId id_;
    std::uint16_t to_port_;
    bool to_ipv4_;
    StateCell<Send, &kTransitions> state_{State::Checking};
  };

  Send send_to(UdpSocketId id, const UdpEndpoint& to, std::span<const std::byte> payload) noexcept {
    return Send(*this, id, to, payload);
  }

  static constexpr std::size_t kFusedCopyMaxBytes = 512;

  /// Writes the UDP header and payload into a frame whose IPv4 header (to `to`) is written, and
  /// submits it. Shared by Send and by synchronous callers. False on link down.
  bool transmit(Frame& frame, std::uint16_t source_port, const wire::Ipv4Address& to, std::uint16_t to_port,
                std::span<const std::byte> payload) noexcept {
    std::span<std::byte> datagram = frame.payload();
    // A short payload is summed as it is copied in (checksum_copy: no reading back of bytes still
    // in the store buffer, -6 ns at 64 bytes); a long one is copied by the C library's vector copy
    // and then summed (+10 ns at 1472 bytes fused, a scalar loop against memcpy). The crossover is
    // near 550 bytes (benchmarks/udp_path, 2026-12-05).
    const std::span<std::byte> into = datagram.subspan(wire::kUdpHeaderBytes);
    std::uint32_t payload_sum;
    if (payload.size() <= kFusedCopyMaxBytes) {
      payload_sum = wire::checksum_copy(into, payload);
    } else {
      wire::copy_bytes(into, payload);
      payload_sum = wire::checksum_accumulate(into.first(payload.size()));
    }
    const std::size_t length = wire::emit_udp_header(
        {source_port, to_port}, wire::ipv4_pseudo_header(ip_->config().address, to, wire::ip_protocol::kUdp),
        payload.size(), payload_sum, datagram);
    if (!frame.submit(length)) {
      counters_.send_errors.count(SendError::kLinkDown);
      return false;
    }
    ++counters_.datagrams_sent;
    return true;
  }

  /// Receives the next datagram on socket `id` into `buffer` (which must outlive the operation).
  /// Several readers of one socket are served in the order they started waiting; a reader dropped
  /// while it waits leaves the queue.
  class Receive {
   public:
    using Output = RecvOutput;
    Receive(Udp& udp, UdpSocketId id, std::span<std::byte> buffer) noexcept : udp_(&udp), buffer_(buffer), id_(id) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<Output> result = udp_->poll_receive(id_, buffer_, waiter_, cx);
      if (result.is_ready()) state_.set(State::Done);
      return result;
    }

   private:
    enum class State : std::uint8_t { Waiting, Done };
    static constexpr auto kTransitions = transitions(State::Waiting, {
        {State::Waiting, State::Done, "a datagram queued, or the socket closed or bad"},
    });
    Udp* udp_;
    std::span<std::byte> buffer_;
    Waiter waiter_;
    UdpSocketId id_;
    StateCell<Receive, &kTransitions> state_{State::Waiting};
  };

  Receive recv_from(UdpSocketId id, std::span<std::byte> buffer) noexcept { return Receive(*this, id, buffer); }

  /// One receive attempt without waiting: nullopt when the queue is empty. For synchronous callers.
  std::optional<RecvOutput> try_receive(UdpSocketId id, std::span<std::byte> buffer) noexcept {
    Socket* s = lookup(id);
    if (s == nullptr) return RecvOutput(RecvError::kBadSocket);
    return take(*s, buffer);
  }

  /// The receive handler (registered under kIpProtocol): deliver() as the interface's verdict.
  RxVerdict on_packet(const typename Ip::Received& packet, std::optional<RxBuffer>& frame, Instant /*now*/) noexcept {
    switch (deliver(packet, frame)) {
      case UdpDelivery::kQueuedNowFull:
        return RxVerdict::kEndTurn;
      case UdpDelivery::kClosedPort:
        return RxVerdict::kPortUnreachable;
      default:
        return RxVerdict::kDone;
    }
  }

  /// Queues one received datagram (`packet` is its IPv4 packet; `frame` holds the bytes). Takes
  /// the frame's buffer only when it queues the datagram.
  UdpDelivery deliver(const typename Ip::Received& packet, std::optional<RxBuffer>& frame) noexcept {
    const wire::Parsed<wire::UdpRepr, wire::UdpError> parsed = wire::parse_udp(
        packet.payload, wire::ipv4_pseudo_header(packet.header.source, packet.header.destination, wire::ip_protocol::kUdp));
    if (!parsed.ok()) {
      counters_.malformed.count(parsed.error());
      return UdpDelivery::kMalformed;
    }
    Socket* s = find_port(parsed.repr().destination_port);
    if (s == nullptr) {
      counters_.dropped.count(UdpDrop::kClosedPort);
      return UdpDelivery::kClosedPort;
    }
    if (s->count == Config::kUdpReceiveQueueDepth) {
      ++s->counters.queue_overflows;
      counters_.dropped.count(UdpDrop::kQueueFull);
      return UdpDelivery::kQueueFull;
    }
    const std::size_t tail = (s->head + s->count) % Config::kUdpReceiveQueueDepth;
    // Field by field into the queue: a Queued built apart (the address's version byte and its four
    // bytes stored separately) was copied in with one 16-byte load, a store-forwarding stall per
    // datagram (perf annotate, benchmarks/udp_path).
    Queued& queued = s->queue[tail];
    queued.from.address.set(packet.header.source);
    queued.from.port = parsed.repr().source_port;
    queued.payload = parsed.payload();
    s->buffers[tail].emplace(std::move(*frame));
    frame.reset();
    ++s->count;
    ++s->counters.queued;
    ++counters_.datagrams_queued;
    s->readers.notify_one();
    return s->count == Config::kUdpReceiveQueueDepth ? UdpDelivery::kQueuedNowFull : UdpDelivery::kQueued;
  }

  /// An ICMP error answered a datagram we sent: the socket that sent it (found by the quoted
  /// source port) reports it on its next receive, once: kPortUnreachable (Linux's ECONNREFUSED)
  /// or kUnreachable (EHOSTUNREACH and its kin). Linux does this for connected sockets only;
  /// these are not connected, so every socket does. An error for a port no socket holds is counted.
  void on_transport_error(const TransportError& error) noexcept {
    Socket* s = find_port(wire::read_u16(error.transport, 0));
    if (s == nullptr) {
      ++counters_.errors_unclaimed;
      return;
    }
    s->error = error.kind == TransportError::Kind::kPortUnreachable ? RecvError::kPortUnreachable
                                                                    : RecvError::kUnreachable;
    ++counters_.errors_reported;
    s->readers.notify_one();
  }

  const UdpSocketCounters* socket_counters(UdpSocketId id) const noexcept {
    const Socket* s = const_cast<Udp*>(this)->lookup(id);
    return s == nullptr ? nullptr : &s->counters;
  }
  std::size_t queued(UdpSocketId id) const noexcept {
    const Socket* s = const_cast<Udp*>(this)->lookup(id);
    return s == nullptr ? 0 : s->count;
  }
  const UdpCounters& counters() const noexcept { return counters_; }

 private:
  struct Queued {
    UdpEndpoint from;
    std::span<const std::byte> payload;  // inside the matching buffer
  };

  struct Socket {
    bool bound = false;
    std::uint8_t generation = 0;
    std::uint16_t port = 0;
    std::size_t head = 0;
    std::size_t count = 0;
    std::array<Queued, Config::kUdpReceiveQueueDepth> queue{};
    std::array<std::optional<RxBuffer>, Config::kUdpReceiveQueueDepth> buffers{};
    std::optional<RecvError> error;
    WaiterList readers;
    UdpSocketCounters counters;

    void pop() noexcept {
      buffers[head].reset();  // the buffer goes back to the driver
      head = (head + 1) % Config::kUdpReceiveQueueDepth;
      --count;
    }
  };

  // A closed socket's waiting readers were notified; each completes with kBadSocket here (its
  // Waiter leaves the old queue when the operation is dropped).
  Poll<RecvOutput> poll_receive(UdpSocketId id, std::span<std::byte> buffer, Waiter& waiter, Context& cx) noexcept {
    Socket* s = lookup(id);
    if (s == nullptr) return RecvOutput(RecvError::kBadSocket);
    if (s->readers.may_take(waiter)) {
      if (std::optional<RecvOutput> r = take(*s, buffer)) {
        s->readers.claimed(waiter);
        return std::move(*r);
      }
    }
    s->readers.wait(waiter, cx.waker());
    return pending;
  }

  // The next datagram (or pending error) of `s` into `buffer`; nullopt when there is none.
  std::optional<RecvOutput> take(Socket& s, std::span<std::byte> buffer) noexcept {
    if (s.count > 0) {
      const Queued& q = s.queue[s.head];
      const std::size_t n = q.payload.size() < buffer.size() ? q.payload.size() : buffer.size();
      wire::copy_bytes(buffer, q.payload.first(n));
      const ReceivedDatagram d{q.from, n, n < q.payload.size()};
      s.pop();
      ++counters_.datagrams_read;
      return RecvOutput(d);
    }
    if (s.error) {
      const RecvError e = *s.error;
      s.error.reset();
      return RecvOutput(e);
    }
    return std::nullopt;
  }

  Socket* lookup(UdpSocketId id) noexcept {
    if (id.index >= sockets_.size()) return nullptr;
    Socket& s = sockets_[id.index];
    return s.bound && s.generation == id.generation ? &s : nullptr;
  }

  Socket* find_port(std::uint16_t port) noexcept {
    for (Socket& s : sockets_) {
      if (s.bound && s.port == port) return &s;
    }
    return nullptr;
  }

  UdpSocketId id_of(const Socket& s) const noexcept {
    return {static_cast<std::uint8_t>(&s - sockets_.data()), s.generation};
  }

  // A port in the ephemeral range no socket uses. There are more ports than sockets, so at most
  // Config::kUdpSockets + 1 candidates are tried.
  std::uint16_t ephemeral_port() noexcept {
    for (;;) {
      const std::uint16_t candidate = next_ephemeral_;
      next_ephemeral_ = candidate == kEphemeralPortLast ? kEphemeralPortFirst : static_cast<std::uint16_t>(candidate + 1);
      if (find_port(candidate) == nullptr) return candidate;
    }
  }

  Ip* ip_;
  std::array<Socket, Config::kUdpSockets> sockets_{};
  std::uint16_t next_ephemeral_ = kEphemeralPortFirst;
  UdpCounters counters_;
};

}  // namespace pollstack::net
