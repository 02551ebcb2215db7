#pragma once
/// Tcp<Ip, Config>: the connection table and RFC 9293's state machine.
///
/// Connections live in a table fixed at compile time (Config::kTcpConnections), each with its send
/// and receive buffers by value (ByteRing), so the whole of TCP is one object of known size. A
/// connection's protocol state is `TcpState`, changed only through its StateCell; the events that
/// change it are the segments that arrive (on_packet, the interface's IP protocol table), the
/// application's calls, and the timers (run_timers, from the interface task).
///
/// Sending: every segment goes out through TCP's Transmit operation, served by the interface task
/// like ARP's and ICMP's (common/protocol.h): it holds the IP send operation by value, so a full
/// device ring makes it Pending, the send buffer stops draining, and an application's Write is
/// Pending in turn: the backpressure runs from the driver's channel through the congestion and
/// flow-control windows up to the application, and nothing is dropped. The exception is the SYN
/// of an active open: Connect sends it itself, so that it may wait for the peer's address to be
/// resolved (the interface task must not wait for that: it receives the ARP reply).
///
/// Receiving copies a segment's data into the connection's receive buffer at once, so a received
/// frame never outlives on_packet: TCP holds no device buffer, and an unread connection cannot
/// starve the device of receive buffers.
///
/// What is implemented, and what is not yet, is in layers/tcp/README.md.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/byte_ring.h"
#include "layers/common/counters.h"
#include "layers/common/ip_address.h"
#include "layers/common/protocol.h"
#include "layers/common/send_error.h"
#include "layers/common/transport_error.h"
#include "layers/config.h"
#include "layers/icmp/icmp_wire.h"
#include "layers/ipv4/ipv4.h"
#include "layers/options.h"
#include "layers/tcp/cubic.h"
#include "layers/tcp/isn.h"
#include "layers/tcp/out_of_order.h"
#include "layers/tcp/tcp_seq.h"
#include "layers/tcp/tcp_wire.h"
#include "statemachines/poll.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"
#include "statemachines/waiter_list.h"
#include "statemachines/waker_slot.h"

namespace pollstack::net {

/// RFC 9293's states (§3.3.2). LISTEN is not a connection's state here: listeners are their own
/// table. `Done` is the RFC's CLOSED: no connection (the slot is free once its application lets
/// go of it).
enum class TcpState : std::uint8_t {
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
  Done,
};

/// RFC 9293's Figure 5, as this implementation takes it (docs/diagrams/ draws it). Every state
/// reaches Done on a RST, an abort or a timeout, besides the edges of the figure; a new connection
/// starts from Done. The figure's FIN-WAIT-1 -> TIME-WAIT (a FIN that acknowledges ours) is two
/// transitions in one segment here, as in the RFC's segment processing and in Linux: the ACK moves
/// to FIN-WAIT-2, then the FIN to TIME-WAIT.
inline constexpr auto kTcpTransitions = transitions(TcpState::Done, {
    {TcpState::Done, TcpState::SynSent, "connect(): our SYN"},
    {TcpState::Done, TcpState::SynReceived, "a SYN to a listener: our SYN-ACK"},
    {TcpState::SynSent, TcpState::Established, "SYN-ACK acknowledging our SYN"},
    {TcpState::SynSent, TcpState::SynReceived, "a SYN without ACK (simultaneous open)"},
    {TcpState::SynReceived, TcpState::Established, "the ACK of our SYN"},
    {TcpState::Established, TcpState::FinWait1, "shutdown() or close(): our FIN"},
    {TcpState::Established, TcpState::CloseWait, "the peer's FIN"},
    {TcpState::FinWait1, TcpState::FinWait2, "our FIN acknowledged"},
    {TcpState::FinWait1, TcpState::Closing, "the peer's FIN, ours not yet acknowledged"},
    {TcpState::FinWait2, TcpState::TimeWait, "the peer's FIN"},
    {TcpState::CloseWait, TcpState::LastAck, "shutdown() or close(): our FIN"},
    {TcpState::Closing, TcpState::TimeWait, "our FIN acknowledged"},
    {TcpState::TimeWait, TcpState::TimeWait, "the peer's FIN again: 2 MSL restart"},
    {TcpState::LastAck, TcpState::Done, "our FIN acknowledged, a RST, or a timeout"},
    {TcpState::TimeWait, TcpState::Done, "2 MSL passed, a RST, or a new SYN above the old numbers"},
    {TcpState::SynSent, TcpState::Done, "refused (RST or ICMP), timeout, SYN not sent, or abandoned"},
    {TcpState::SynReceived, TcpState::Done, "RST, timeout, or abort"},
    {TcpState::Established, TcpState::Done, "RST, retransmission timeout, or abort"},
    {TcpState::FinWait1, TcpState::Done, "RST, retransmission timeout, or abort"},
    {TcpState::FinWait2, TcpState::Done, "RST, abort, or the FIN-WAIT-2 timeout of a closed socket"},
    {TcpState::CloseWait, TcpState::Done, "RST, retransmission timeout, or abort"},
    {TcpState::Closing, TcpState::Done, "RST, retransmission timeout, or abort"},
});

/// An application's handle on a connection; the generation catches a handle used after its
/// connection was closed and the slot reused.
struct TcpSocket {
  std::uint8_t index = 0;
  std::uint8_t generation = 0;
};
struct TcpListener {
  std::uint8_t index = 0;
  std::uint8_t generation = 0;
};

enum class ListenError : std::uint8_t {
  kPortInUse,
  kTableFull,  // Config::kTcpListeners ports are listened on
};

/// Why an application operation on a connection failed (Linux's errno in brackets).
enum class ConnectionError : std::uint8_t {
  kBadSocket,        // not a connection or listener this application holds [EBADF]
  kTableFull,        // every connection slot is busy [EAGAIN]
  kAddressFamily,    // an IPv6 address: not routed yet [EAFNOSUPPORT]
  kNoRoute,          // off-link and no gateway [ENETUNREACH]
  kHostUnreachable,  // the neighbour did not answer ARP, or ICMP said unreachable [EHOSTUNREACH]
  kNeighbourBusy,    // address resolution is out of room (too many senders wait) [EAGAIN]
  kLinkDown,         // the driver is gone [ENETDOWN]
  kRefused,          // RST in answer to our SYN, or ICMP port/protocol unreachable [ECONNREFUSED]
  kReset,            // the peer reset the connection [ECONNRESET]
  kTimedOut,         // retransmissions went unanswered [ETIMEDOUT]
  kShutDown,         // a write after shutdown() [EPIPE]
  kListenerClosed,   // the listener an accept waited on was closed
};

/// Segments that parse but are not acted on (each is answered as RFC 9293 says, or ignored).
enum class TcpDrop : std::uint8_t {
  kNoConnection,   // no connection or listener for it: answered with RST (unless it was one)
  kBacklogFull,    // a SYN to a listener whose backlog is full: ignored, the peer retries (Linux)
  kTableFull,      // a SYN while every slot is busy and none is in TIME-WAIT: ignored
  kOutOfWindow,    // sequence number not acceptable: answered with an ACK (RFC 9293 §3.10.7.4)
  kOutOfOrder,     // after a gap, and kTcpOutOfOrderRanges are held: answered with a duplicate ACK
  kBadAck,         // acknowledges what was never sent: answered with an ACK, or RST in a handshake
  kNoAck,          // a segment without ACK in a synchronized state
  kChallenged,     // a RST or SYN that may be blind injection: answered with a challenge ACK (RFC 5961)
  kChallengeLimit, // the same, but over kTcpChallengeAcksPerSecond: not answered
  kUnexpected,     // nothing in its state takes it (e.g. a non-SYN to a listener without ACK)
  kRstQueueFull,   // a RST to send found the queue of RSTs full: not sent
  kWindowFull,     // data at RCV.NXT while our window is zero: its ACK is taken, its data not
  kDataAfterClose, // new data for a connection its application closed: reset (RFC 2525 §2.17)
  kPaws,           // a timestamp older than the last one taken (RFC 7323 §5, PAWS): answered with an ACK
};
inline constexpr std::size_t kTcpDropKinds = 14;

/// How a connection grows and cuts its congestion window outside slow start and recovery.
enum class CongestionControl : std::uint8_t {
  kCubic,    // RFC 9438, Linux's default (layers/tcp/cubic.h)
  kNewReno,  // RFC 5681's congestion avoidance, half the flight at a loss
};

/// The options a connection offers on its SYN or SYN-ACK (Linux's net.ipv4.tcp_window_scaling,
/// tcp_timestamps and tcp_sack, all on by default there too; each is used only if the peer's SYN
/// has it as well), and the congestion control new connections start with (tcp_congestion_control).
struct TcpFeatures {
  bool window_scaling = true;  // RFC 7323 §2: windows past 64 KiB
  bool timestamps = true;      // RFC 7323 §3-5: RTT samples across retransmissions, and PAWS
  bool sack = true;            // RFC 2018 blocks both ways, RFC 6675 loss recovery (Linux's tcp_sack)
  CongestionControl congestion = CongestionControl::kCubic;
};

struct TcpCounters {
  std::uint64_t segments_received = 0;  // parsed and checksummed
  std::uint64_t segments_sent = 0;
  std::uint64_t retransmissions = 0;    // retransmission timeouts (each resends from the oldest unacknowledged)
  std::uint64_t fast_retransmits = 0;   // recoveries started by three duplicate ACKs
  std::uint64_t zero_window_probes = 0;
  std::uint64_t keepalive_probes = 0;
  std::uint64_t out_of_order_kept = 0;  // segments held past a gap until it was filled
  std::uint64_t resets_sent = 0;
  std::uint64_t resets_received = 0;    // RSTs that closed a connection or refused a SYN
  std::uint64_t challenge_acks = 0;
  std::uint64_t active_opens = 0;       // SYNs sent by connect
  std::uint64_t passive_opens = 0;      // SYNs accepted by a listener
  std::uint64_t established = 0;        // handshakes completed, either way
  std::uint64_t timeouts = 0;           // connections given up after their retransmissions
  std::uint64_t time_wait_recycled = 0; // TIME-WAIT connections ended early for a slot (Linux's tw overflow)
  std::uint64_t write_pending = 0;      // write polls that found the send buffer full (backpressure)
  std::uint64_t errors_reported = 0;    // ICMP errors handed to a connection
  std::uint64_t errors_unclaimed = 0;   // ICMP errors about no connection we have
  std::uint64_t timestamp_rtt_samples = 0;  // RTT samples taken from a timestamp echo (after a retransmission)
  std::uint64_t sack_retransmits = 0;   // segments resent because the scoreboard showed them lost (RFC 6675)
  std::uint64_t sack_blocks_ignored = 0;  // reported blocks outside SND.UNA..SND.MAX (D-SACK, stale, forged)
  ReasonCounters<wire::TcpError, wire::kTcpErrorKinds> malformed;
  ReasonCounters<TcpDrop, kTcpDropKinds> dropped;
  ReasonCounters<SendError, kSendErrorKinds> send_errors;
};

template <class Ip, StackConfig Config = DefaultConfig>
class Tcp {
 public:
  using Frame = typename Ip::Frame;
  using RxBuffer = typename Ip::RxBuffer;
  static constexpr std::uint8_t kIpProtocol = wire::ip_protocol::kTcp;
  static_assert(Config::kTcpSendBufferBytes <= (std::size_t{1} << 30) &&
                    Config::kTcpReceiveBufferBytes <= (std::size_t{1} << 30),
                "a window is at most 1 GiB (RFC 7323 §2.3)");

  explicit Tcp(Ip& ip) noexcept : ip_(&ip) {}
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;

  /// The per-boot secret of the initial sequence numbers (RFC 6528). Set it once, at start-up,
  /// from a random source; until then a fixed one is used.
  void set_isn_secret(std::uint64_t k0, std::uint64_t k1) noexcept { isn_.set_secret(k0, k1); }

  /// The options connections opened from now on offer (default: all; see TcpFeatures).
  void set_features(const TcpFeatures& features) noexcept { features_ = features; }
  const TcpFeatures& features() const noexcept { return features_; }

  // ---- Listening ------------------------------------------------------------------------------

  Result<TcpListener, ListenError> listen(std::uint16_t port) noexcept {
    Listener* free_slot = nullptr;
    for (Listener& l : listeners_) {
      if (l.open && l.port == port) return ListenError::kPortInUse;
      if (!l.open && free_slot == nullptr) free_slot = &l;
    }
    if (free_slot == nullptr) return ListenError::kTableFull;
    free_slot->open = true;
    free_slot->port = port;
    free_slot->pending = 0;
    return TcpListener{index_of(*free_slot), free_slot->generation};
  }

  /// Stops listening. Connections not yet accepted are reset (as Linux does on close of a
  /// listening socket); waiting accepts complete with kListenerClosed.
  void close_listener(TcpListener id) noexcept {
    Listener* l = lookup(id);
    if (l == nullptr) return;
    const std::uint8_t index = id.index;
    for (Connection& c : connections_) {
      if (c.tcb.listener == index && c.state.get() != TcpState::Done) reset(c, std::nullopt);
    }
    l->open = false;
    ++l->generation;
    l->acceptors.notify_all();
  }

  /// Takes the next established connection of a listener (first completed, first taken).
  class Accept {
   public:
    using Output = Result<TcpSocket, ConnectionError>;
    Accept(Tcp& tcp, TcpListener id) noexcept : tcp_(&tcp), id_(id) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Listener* l = tcp_->lookup(id_);
      if (l == nullptr) return finish(ConnectionError::kListenerClosed);
      if (l->acceptors.may_take(waiter_)) {
        if (Connection* c = tcp_->next_to_accept(id_.index)) {
          l->acceptors.claimed(waiter_);
          c->tcb.listener = kNoListener;
          c->tcb.app_owned = true;
          --l->pending;
          return finish(tcp_->socket_of(*c));
        }
      }
      l->acceptors.wait(waiter_, cx.waker());
      return pending;
    }

   private:
    enum class State : std::uint8_t { Waiting, Done };
    static constexpr auto kTransitions = transitions(State::Waiting, {
        {State::Waiting, State::Done, "an established connection taken, or the listener closed"},
    });
    Output finish(Output out) noexcept {
      state_.set(State::Done);
      return out;
    }
    Tcp* tcp_;
    TcpListener id_;
    Waiter waiter_;
    StateCell<Accept, &kTransitions> state_{State::Waiting};
  };
  Accept accept(TcpListener id) noexcept { return Accept(*this, id); }

  // ---- Connecting -----------------------------------------------------------------------------

  /// Opens a connection to `to`: sends the SYN (waiting for the address to be resolved and for
  /// room in the device), then waits for the handshake. Ready with the connection once
  /// established, or with why not. Dropped before that, it abandons the attempt.
  class Connect {
   public:
    using Output = Result<TcpSocket, ConnectionError>;
    Connect(Tcp& tcp, const IpEndpoint& to) noexcept
        : tcp_(&tcp),
          to_(to),
          features_(tcp.features_),
          ip_send_(tcp.ip_->send(to.address.is_v4() ? to.address.v4() : wire::Ipv4Address{}, kIpProtocol,
                                 syn_header_bytes(features_), ResolvePolicy::kWait)) {}  // a SYN: its options, no data
    Connect(Connect&&) noexcept = default;
    Connect& operator=(Connect&&) = delete;
    ~Connect() {
      if (state_.get() == State::Sending || state_.get() == State::Waiting) tcp_->abandon(socket_);
    }

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      if (state_.get() == State::Opening) {
        if (!to_.address.is_v4()) return finish(ConnectionError::kAddressFamily);
        Connection* c = tcp_->open_active(to_, features_, cx.now());
        if (c == nullptr) return finish(ConnectionError::kTableFull);
        socket_ = tcp_->socket_of(*c);
        state_.set(State::Sending);
      }
      Connection& c = tcp_->connections_[socket_.index];
      if (state_.get() == State::Sending) {
        Poll<typename Ip::SendResult> sent = ip_send_.poll(cx);
        if (sent.is_pending()) return pending;
        if (!sent.value().ok()) {
          tcp_->counters_.send_errors.count(sent.value().error());
          tcp_->finish(c, std::nullopt);
          tcp_->release(c);
          return finish(from_send_error(sent.value().error()));
        }
        tcp_->send_syn(c, sent.value().value(), cx.now());
        state_.set(State::Waiting);
      }
      if (c.state.get() == TcpState::SynSent || c.state.get() == TcpState::SynReceived) {
        c.writers.wait(waiter_, cx.waker());
        return pending;
      }
      c.writers.claimed(waiter_);
      if (c.state.get() == TcpState::Done) {
        const ConnectionError error = c.tcb.error.value_or(ConnectionError::kReset);
        tcp_->release(c);
        return finish(error);
      }
      return finish(socket_);
    }

   private:
    enum class State : std::uint8_t { Opening, Sending, Waiting, Done };
    static constexpr auto kTransitions = transitions(State::Opening, {
        {State::Opening, State::Sending, "a connection slot taken (SYN-SENT)"},
        {State::Opening, State::Done, "not IPv4, or the table full"},
        {State::Sending, State::Waiting, "SYN sent"},
        {State::Sending, State::Done, "SYN not sent: unresolved, or the link down"},
        {State::Waiting, State::Done, "established, or refused, reset or timed out"},
    });
    Output finish(Output out) noexcept {
      state_.set(State::Done);
      return out;
    }
    Tcp* tcp_;
    IpEndpoint to_;
    TcpFeatures features_;  // what the SYN offers, fixed here: ip_send_ reserves room for it
    typename Ip::Send ip_send_;
    TcpSocket socket_;
    Waiter waiter_;
    StateCell<Connect, &kTransitions> state_{State::Opening};
  };
  Connect connect(const IpEndpoint& to) noexcept { return Connect(*this, to); }

  // ---- Reading and writing --------------------------------------------------------------------

  /// Copies all of `data` (which must outlive the operation) into the send buffer: Pending while
  /// the buffer is full. Ready with data.size(), or with why the connection cannot send.
  class Write {
   public:
    using Output = Result<std::size_t, ConnectionError>;
    Write(Tcp& tcp, TcpSocket id, std::span<const std::byte> data) noexcept : tcp_(&tcp), data_(data), id_(id) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Connection* c = tcp_->owned(id_);
      if (c == nullptr) return finish(ConnectionError::kBadSocket);
      if (std::optional<ConnectionError> error = tcp_->write_error(*c)) {
        c->writers.claimed(waiter_);
        return finish(*error);
      }
      if (c->writers.may_take(waiter_) && c->tx.free() > 0) {
        written_ += c->tx.push(data_.subspan(written_));
        tcp_->wants_output(*c);
        if (written_ == data_.size()) {
          c->writers.claimed(waiter_);
          // Room may be left for the next writer in line.
          if (c->tx.free() > 0) c->writers.notify_one();
          return finish(written_);
        }
      }
      ++tcp_->counters_.write_pending;
      c->writers.wait(waiter_, cx.waker());
      return pending;
    }

   private:
    enum class State : std::uint8_t { Writing, Done };
    static constexpr auto kTransitions = transitions(State::Writing, {
        {State::Writing, State::Done, "every byte in the send buffer, or an error"},
    });
    Output finish(Output out) noexcept {
      state_.set(State::Done);
      return out;
    }
    Tcp* tcp_;
    std::span<const std::byte> data_;
    std::size_t written_ = 0;
    TcpSocket id_;
    Waiter waiter_;
    StateCell<Write, &kTransitions> state_{State::Writing};
  };
  Write write(TcpSocket id, std::span<const std::byte> data) noexcept { return Write(*this, id, data); }

  /// Reads what has arrived, up to buffer.size() bytes: Pending while nothing has. Ready with the
  /// bytes read; 0 is the end of the stream (the peer sent FIN and everything before it was read).
  class Read {
   public:
    using Output = Result<std::size_t, ConnectionError>;
    Read(Tcp& tcp, TcpSocket id, std::span<std::byte> buffer) noexcept : tcp_(&tcp), buffer_(buffer), id_(id) {}

    Poll<Output> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Connection* c = tcp_->owned(id_);
      if (c == nullptr) return finish(ConnectionError::kBadSocket);
      if (c->readers.may_take(waiter_)) {
        if (std::optional<Output> got = tcp_->take(*c, buffer_)) {
          c->readers.claimed(waiter_);
          if (!c->rx.empty()) c->readers.notify_one();
          return finish(*got);
        }
      }
      c->readers.wait(waiter_, cx.waker());
      return pending;
    }

   private:
    enum class State : std::uint8_t { Waiting, Done };
    static constexpr auto kTransitions = transitions(State::Waiting, {
        {State::Waiting, State::Done, "bytes received, the end of the stream, or an error"},
    });
    Output finish(Output out) noexcept {
      state_.set(State::Done);
      return out;
    }
    Tcp* tcp_;
    std::span<std::byte> buffer_;
    TcpSocket id_;
    Waiter waiter_;
    StateCell<Read, &kTransitions> state_{State::Waiting};
  };
  Read read(TcpSocket id, std::span<std::byte> buffer) noexcept { return Read(*this, id, buffer); }

  // ---- Closing --------------------------------------------------------------------------------

  /// Ends the sending side: a FIN follows the data already written (RFC 9293 CLOSE, half-close).
  /// Reading goes on until the peer's FIN.
  std::optional<ConnectionError> shutdown(TcpSocket id) noexcept {
    Connection* c = owned(id);
    if (c == nullptr) return ConnectionError::kBadSocket;
    switch (c->state.get()) {
      case TcpState::Established:
        c->state.set(TcpState::FinWait1);
        break;
      case TcpState::CloseWait:
        c->state.set(TcpState::LastAck);
        break;
      case TcpState::Done:
        return c->tcb.error;
      default:
        return std::nullopt;  // already shut down
    }
    c->tcb.fin_queued = true;
    c->writers.notify_all();  // waiting writes complete with kShutDown
    wants_output(*c);
    return std::nullopt;
  }

  /// Lets go of a connection. Its data is still delivered and the close completes on its own (FIN,
  /// then FIN-WAIT and TIME-WAIT as the peer answers), unless received data was left unread: then
  /// the peer is reset, as Linux does (RFC 2525 §2.17). The handle is invalid afterwards.
  void close(TcpSocket id) noexcept {
    Connection* c = owned(id);
    if (c == nullptr) return;
    if (!c->rx.empty() && c->state.get() != TcpState::Done) {
      reset(*c, std::nullopt);
    } else {
      (void)shutdown(id);  // an orphan in FIN-WAIT-2 gets its timer at the next run_timers
    }
    c->tcb.app_owned = false;
    c->readers.notify_all();
    c->writers.notify_all();
    if (c->state.get() == TcpState::Done) release(*c);
  }

  /// Resets the connection (RST) and lets go of it.
  void abort(TcpSocket id) noexcept {
    Connection* c = owned(id);
    if (c == nullptr) return;
    if (c->state.get() != TcpState::Done) reset(*c, std::nullopt);
    c->tcb.app_owned = false;
    release(*c);
  }

  /// Nagle's algorithm (RFC 896; on by default): a small segment waits while data is unacknowledged.
  void set_nodelay(TcpSocket id, bool nodelay) noexcept {
    if (Connection* c = owned(id)) {
      c->tcb.nodelay = nodelay;
      wants_output(*c);
    }
  }

  /// Keep-alive (RFC 1122 §4.2.3.6; off by default, as everywhere): after `idle` without a segment
  /// from the peer and with nothing unacknowledged, a probe every `interval`; `probes` unanswered
  /// end the connection with kTimedOut. Linux's defaults: 2 h, 75 s, 9.
  struct KeepAlive {
    Duration idle = std::chrono::hours(2);
    Duration interval = std::chrono::seconds(75);
    std::uint8_t probes = 9;
  };
  void set_keepalive(TcpSocket id, std::optional<KeepAlive> keepalive) noexcept {
    if (Connection* c = owned(id)) {
      c->tcb.keepalive = keepalive;
      c->tcb.keepalive_sent = 0;
      c->tcb.last_heard = last_now_;
      note_deadline(last_now_);  // the task's next poll schedules the first probe
    }
  }

  /// The user timeout (RFC 9293 §3.8.4, RFC 5482; Linux's TCP_USER_TIMEOUT): data left
  /// unacknowledged for this long ends the connection with kTimedOut, at the first retransmission
  /// timeout after it has passed (so up to one backed-off timeout late), unless the retry count
  /// ended it first. Zero: off (the retry counts decide).
  void set_user_timeout(TcpSocket id, Duration timeout) noexcept {
    if (Connection* c = owned(id)) c->tcb.user_timeout = timeout;
  }

  /// The connection's congestion control from now on (Linux's TCP_CONGESTION socket option). A
  /// switch to CUBIC starts its curve at the next ACK in congestion avoidance.
  void set_congestion_control(TcpSocket id, CongestionControl cc) noexcept {
    if (Connection* c = owned(id)) {
      c->tcb.congestion = cc;
      c->tcb.cubic = Cubic{};
    }
  }

  // ---- Inspection -----------------------------------------------------------------------------

  std::optional<TcpState> state(TcpSocket id) const noexcept {
    const Connection* c = const_cast<Tcp*>(this)->owned(id);
    return c == nullptr ? std::nullopt : std::optional<TcpState>(c->state.get());
  }
  std::optional<IpEndpoint> remote(TcpSocket id) const noexcept {
    const Connection* c = const_cast<Tcp*>(this)->owned(id);
    if (c == nullptr) return std::nullopt;
    return IpEndpoint{c->tcb.remote, c->tcb.remote_port};
  }
  std::uint16_t local_port(TcpSocket id) const noexcept {
    const Connection* c = const_cast<Tcp*>(this)->owned(id);
    return c == nullptr ? 0 : c->tcb.local_port;
  }
  /// A connection's variables, for tools and tests (Linux's TCP_INFO).
  struct Info {
    TcpState state = TcpState::Done;
    std::uint32_t snd_una = 0, snd_nxt = 0, snd_max = 0, snd_wnd = 0, cwnd = 0, ssthresh = 0;
    std::uint32_t rcv_nxt = 0, rcv_wnd = 0;
    std::size_t unsent_or_unacked = 0, unread = 0, out_of_order_ranges = 0;
    Duration srtt{0}, rto{0};
    std::uint32_t retries = 0, probes = 0;
    IpEndpoint remote;
    std::uint16_t local_port = 0;
    bool orphan = false;         // closed by its application, closing on its own
    const char* timer = "none";  // which timer is armed: retransmit, persist, time-wait, fin-wait-2
    Instant deadline = kNever;
    std::uint16_t mss = 0;                   // data per segment we send
    std::uint8_t snd_wscale = 0, rcv_wscale = 0;  // the peer's window shift, ours (0: no scaling)
    bool window_scaling = false, timestamps = false;  // agreed on the SYNs (RFC 7323)
    bool sack = false;                       // agreed on the SYNs (RFC 2018)
    std::size_t sacked_blocks = 0;           // ranges on the scoreboard
    CongestionControl congestion = CongestionControl::kCubic;
  };
  std::optional<Info> info(TcpSocket id) const noexcept {
    const Connection* c = const_cast<Tcp*>(this)->owned(id);
    if (c == nullptr) return std::nullopt;
    return info_of(*c);
  }
  /// Calls `f(info)` for every connection that is not CLOSED, orphans and handshakes included.
  template <class F>
  void for_each_connection(F&& f) const noexcept {
    for (const Connection& c : connections_) {
      if (c.state.get() != TcpState::Done) f(info_of(c));
    }
  }

  /// Connections in each state, over the whole table (Done: free slots included).
  std::size_t count_in(TcpState s) const noexcept {
    std::size_t n = 0;
    for (const Connection& c : connections_) n += c.state.get() == s ? 1 : 0;
    return n;
  }
  const TcpCounters& counters() const noexcept { return counters_; }

  // ---- The interface's side -------------------------------------------------------------------

  /// The receive handler (registered under kIpProtocol). kAnswer when a listener's or an unknown
  /// port's answer (SYN-ACK, RST) is waiting to go; a connection's output waits for the batch.
  RxVerdict on_packet(const typename Ip::Received& packet, std::optional<RxBuffer>& /*frame*/, Instant now) noexcept {
    const wire::Parsed<wire::TcpRepr, wire::TcpError> parsed = wire::parse_tcp(
        packet.payload, wire::ipv4_pseudo_header(packet.header.source, packet.header.destination, kIpProtocol));
    if (!parsed.ok()) {
      counters_.malformed.count(parsed.error());
      return RxVerdict::kDone;
    }
    ++counters_.segments_received;
    last_now_ = now;
    const Incoming in{packet.header.source, parsed.repr(), parsed.payload(), packet.broadcast || packet.link_group};
    if (Connection* c = find(in.from, in.header.source_port, in.header.destination_port)) {
      if (c->state.get() == TcpState::TimeWait && in.header.has(wire::tcp_flag::kSyn) &&
          !in.header.has(wire::tcp_flag::kAck) && seq::gt(in.header.sequence, c->tcb.rcv_nxt) &&
          find_listener(in.header.destination_port) != nullptr) {
        // A new incarnation of a connection in TIME-WAIT, its SYN above the old one's numbers
        // (RFC 9293 §3.10.7.4 note, RFC 6191): the old one ends, the listener takes the SYN (an
        // application that still holds the old one keeps reading what it had received).
        finish(*c, std::nullopt);
      } else {
        // What this segment makes due (an ACK, data the window now lets out) is marked and the
        // interface task woken; it goes out after the frames already waiting are processed (at
        // most kRxFramesPerPoll), not before the next one. In-order segments that arrived
        // together are then acknowledged together, as Linux acknowledges a GRO batch as one
        // segment: RFC 5681 §4.2's "every second full-sized segment" counted per arrival, not per
        // frame. Over a TAP device with TSO that is one ACK per ring batch (~30 frames) instead
        // of one per two, each a system call that runs Linux's TCP. The ACKs RFC 5681 §4.2 wants
        // at once (for an out-of-order segment, a filled gap; Linux's GRO does not merge those
        // either) go before the next frame: the sender counts duplicate ACKs.
        ack_at_once_ = false;
        segment_arrives(*c, in, now);
        return ack_at_once_ && has_transmit() ? RxVerdict::kAnswer : RxVerdict::kDone;
      }
    }
    if (Listener* l = find_listener(in.header.destination_port)) {
      listen_arrives(*l, in, now);
    } else {
      counters_.dropped.count(TcpDrop::kNoConnection);
      reset_unknown(in);
    }
    return has_transmit() ? RxVerdict::kAnswer : RxVerdict::kDone;
  }

  /// An ICMP error about a segment we sent (RFC 9293 §3.10.7.x, RFC 5927): checked against the
  /// connection's unacknowledged numbers (a blind forger must guess them); during our SYN it ends
  /// the attempt (as Linux does), afterwards it is a soft error, reported if the connection
  /// later times out.
  void on_transport_error(const TransportError& error) noexcept {
    const std::uint16_t local = wire::read_u16(error.transport, 0);
    const std::uint16_t remote_port = wire::read_u16(error.transport, 2);
    const std::uint32_t sequence = wire::read_u32(error.transport, 4);
    Connection* c = error.remote.is_v4() ? find(error.remote.v4(), remote_port, local) : nullptr;
    if (c == nullptr || !seq::le(c->tcb.snd_una, sequence) || !seq::lt(sequence, c->tcb.snd_max)) {
      ++counters_.errors_unclaimed;
      return;
    }
    ++counters_.errors_reported;
    const bool refused = error.kind == TransportError::Kind::kPortUnreachable ||
                         error.icmp_code == wire::icmp_unreachable_code::kProtocolUnreachable;
    if (c->state.get() == TcpState::SynSent) {
      finish(*c, refused ? ConnectionError::kRefused : ConnectionError::kHostUnreachable);
    } else {
      c->tcb.soft_error = refused ? ConnectionError::kRefused : ConnectionError::kHostUnreachable;
    }
  }

  /// Transmitter (common/protocol.h): the retransmission, persist, TIME-WAIT and FIN-WAIT-2
  /// timers; the interface task's waker, for an application that writes or reads.
  void run_timers(Context& cx) noexcept {
    task_.store(cx.waker());
    const Instant now = cx.now();
    Instant next = kNever;
    last_now_ = now;
    reported_deadline_ = Instant::min();  // what is armed here is reported below
    // Only the connections that are not CLOSED (an idle stack pays one test per poll).
    for (std::uint32_t live = live_; live != 0; live &= live - 1) {
      Connection& c = connections_[static_cast<std::size_t>(__builtin_ctz(live))];
      schedule_persist(c, now);
      if (c.state.get() == TcpState::FinWait2 && orphan(c.tcb) && c.tcb.timer == Timer::kNone) {
        arm(c, Timer::kFinWait2, now + kTcpFinWait2Timeout);  // an orphan waits so long (tcp_fin_timeout)
      }
      if (c.tcb.timer != Timer::kNone && c.tcb.deadline <= now) timer_fires(c, now);
      if (c.tcb.timer != Timer::kNone && c.tcb.deadline < next) next = c.tcb.deadline;
      if (c.tcb.keepalive) {
        const Instant due = keepalive_deadline(c);
        if (due <= now) keepalive_fires(c);
        if (c.tcb.keepalive && keepalive_deadline(c) < next) next = keepalive_deadline(c);
      }
      if (c.tcb.ack_at <= now) {  // a delayed ACK is due
        c.tcb.ack_at = kNever;
        c.tcb.ack_due = true;
        wants_output(c);
      }
      if (c.tcb.ack_at < next) next = c.tcb.ack_at;
      if (c.tcb.resend_at <= now) {
        c.tcb.resend_at = kNever;
        wants_output(c);
      }
      if (c.tcb.resend_at < next) next = c.tcb.resend_at;
    }
    reported_deadline_ = next;
    if (next != kNever) cx.wake_at(next);
  }

  /// Whether a segment is waiting to go: a RST, or a connection with something to send.
  bool has_transmit() noexcept {
    if (resets_queued_ > 0) return true;
    for (std::uint32_t marked = output_; marked != 0; marked &= marked - 1) {
      const auto i = static_cast<std::size_t>(__builtin_ctz(marked));
      if (!next_segment(connections_[i], nullptr).has_value()) output_ &= ~(1u << i);
    }
    return output_ != 0;
  }

  /// A segment ready to be written: its header, and where its data is in the send buffer.
  struct Segment {
    wire::Ipv4Address to;
    std::uint32_t sequence = 0;
    std::uint32_t acknowledgement = 0;
    std::uint32_t data_offset = 0;  // from the front of the send buffer
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint16_t window = 0;  // as on the wire (scaled down, except on a SYN)
    std::uint16_t mss = 0;     // the MSS option (SYNs only), or 0: none
    std::uint16_t data_length = 0;
    std::uint8_t flags = 0;
    std::uint8_t connection = kNoConnection;
    std::uint8_t generation = 0;
    std::uint8_t window_shift = kNoWindowScale;  // the window scale option (SYNs only)
    bool sack_permitted = false;                 // the SACK-permitted option (SYNs only)
    std::uint8_t sack_blocks = 0;  // SACK blocks: emit() writes the connection's newest ones
    bool timestamps = false;                     // the timestamps option, with these two:
    std::uint32_t ts_value = 0;
    std::uint32_t ts_echo = 0;

    wire::TcpRepr repr() const noexcept {
      wire::TcpRepr h;
      h.source_port = source_port;
      h.destination_port = destination_port;
      h.sequence = sequence;
      h.acknowledgement = acknowledgement;
      h.flags = flags;
      h.window = window;
      h.options.has_mss = mss != 0;
      h.options.mss = mss;
      h.options.has_window_scale = window_shift != kNoWindowScale;
      h.options.window_shift = h.options.has_window_scale ? window_shift : 0;
      h.options.has_timestamps = timestamps;
      h.options.timestamp_value = ts_value;
      h.options.timestamp_echo = ts_echo;
      h.options.sack_permitted = sack_permitted;
      return h;
    }
    // emit_tcp's layout: MSS 4; NOP NOP (or SACK-permitted) and timestamps 12, or NOP NOP and
    // SACK-permitted 4; NOP and window scale 4; NOP NOP and SACK blocks 4 + 8 each.
    std::size_t header_bytes() const noexcept {
      return wire::kTcpHeaderBytes + (mss != 0 ? 4 : 0) + (timestamps ? 12 : sack_permitted ? 4 : 0) +
             (window_shift != kNoWindowScale ? 4 : 0) + sack_option_bytes(sack_blocks);
    }
  };

  /// Sends one segment. Its header is fixed when the operation is made; its data is copied from
  /// the send buffer once the device has room (nothing can take it out meanwhile: acknowledgements
  /// arrive through the task that is polling this).
  class Transmit {
   public:
    using Output = void;
    Transmit(Tcp& tcp, const Segment& segment) noexcept
        : tcp_(&tcp),
          segment_(segment),
          ip_send_(tcp.ip_->send(segment.to, kIpProtocol,
                                 segment.header_bytes() + segment.data_length,
                                 ResolvePolicy::kCachedOnly)) {}

    Poll<void> poll(Context& cx) noexcept {
      state_.expect_pollable();
      Poll<typename Ip::SendResult> sent = ip_send_.poll(cx);
      if (sent.is_pending()) return pending;
      state_.set(State::Done);
      if (!sent.value().ok()) {
        tcp_->not_sent(segment_, sent.value().error(), cx.now());
        return ready();
      }
      tcp_->emit(sent.value().value(), segment_);
      return ready();
    }

   private:
    enum class State : std::uint8_t { Sending, Done };
    static constexpr auto kTransitions = transitions(State::Sending, {
        {State::Sending, State::Done, "IP send Ready: segment written, or not-sent handled"},
    });
    Tcp* tcp_;
    Segment segment_;  // before ip_send_, which is built from it
    typename Ip::Send ip_send_;
    StateCell<Transmit, &kTransitions> state_{State::Sending};
  };

  Transmit transmit(Context& cx) noexcept {
    expect(has_transmit(), "Tcp::transmit() without has_transmit()");
    last_now_ = cx.now();  // the segment's timestamp
    if (resets_queued_ > 0) {
      const Segment rst = resets_[reset_head_];
      reset_head_ = (reset_head_ + 1) % kResetQueue;
      --resets_queued_;
      return Transmit(*this, rst);
    }
    for (std::size_t k = 1; k <= Config::kTcpConnections; ++k) {
      const std::size_t i = (last_served_ + k) % Config::kTcpConnections;
      if ((output_ & (1u << i)) == 0) continue;
      if (std::optional<Segment> s = next_segment(connections_[i], &cx)) {
        last_served_ = i;
        return Transmit(*this, *s);
      }
      output_ &= ~(1u << i);
    }
    expect(false, "Tcp::transmit(): nothing to send");
    return Transmit(*this, Segment{});
  }

 private:
  static constexpr std::uint8_t kNoConnection = 0xff;
  static constexpr std::uint8_t kNoListener = 0xff;
  static constexpr std::uint8_t kNoWindowScale = 0xff;
  /// Our window scale (RFC 7323 §2.3): the smallest shift that fits the receive buffer in the
  /// 16-bit field, as Linux chooses it from its largest buffer. Offered even when 0, so that the
  /// peer may scale its own window (our send window) past 64 KiB.
  static constexpr std::uint8_t kOurWindowShift = [] {
    std::uint8_t shift = 0;
    while ((Config::kTcpReceiveBufferBytes >> shift) > 65535 && shift < wire::kTcpMaxWindowShift) ++shift;
    return shift;
  }();
  /// Bytes of a SYN's header with what `f` offers (our SYN: MSS, SACK-permitted, timestamps,
  /// window scale).
  static constexpr std::size_t syn_header_bytes(const TcpFeatures& f) noexcept {
    return wire::kTcpHeaderBytes + 4 + (f.timestamps ? 12 : f.sack ? 4 : 0) + (f.window_scaling ? 4 : 0);
  }
  static constexpr std::size_t sack_option_bytes(std::size_t blocks) noexcept {
    return blocks == 0 ? 0 : 4 + 8 * blocks;  // NOP NOP kind length, 8 per block
  }
  /// RFC 6675's DupThresh: three duplicate ACKs, or SACKs of this many segments above a hole.
  static constexpr std::uint32_t kDupThresh = 3;
  /// A timestamp older than this is not trusted by PAWS (RFC 7323 §5.5: 24 days).
  static constexpr Duration kPawsIdle = std::chrono::hours(24 * 24);
  static constexpr std::uint32_t kPawsWindow = 1;  // ticks of tolerance (Linux's TCP_PAWS_WINDOW)
  /// In-order ACKs sent at once (every second segment, not merged with the rest of a receive
  /// batch) after an out-of-order segment or a filled gap: Linux's TCP_MAX_QUICKACKS. Merged ACKs
  /// are few per flight; while the sender recovers, each one lost would cost it a timeout.
  static constexpr std::uint8_t kQuickAcks = 16;
  static constexpr std::size_t kResetQueue = 4;
  // Past what the send buffer can have in flight, a larger window is of no use (and an
  // application-limited sender would grow it without bound).
  static constexpr std::uint32_t kMaxCongestionWindow =
      static_cast<std::uint32_t>(std::max<std::size_t>(4 * 65535, 2 * Config::kTcpSendBufferBytes));
  static_assert(Config::kTcpConnections >= 1,
                "a configuration without TCP connections leaves TCP out of the interface (Interface::kHasTcp)");
  static_assert(Config::kTcpConnections <= 32, "the output mask is 32 bits");

  enum class Timer : std::uint8_t { kNone, kRetransmit, kPersist, kTimeWait, kFinWait2 };

  /// The transmission control block (RFC 9293 §3.3.1): every variable of a connection but its
  /// buffers and waiters, so that a fresh connection is `tcb = {}`.
  struct Tcb {
    wire::Ipv4Address remote;
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;
    bool app_owned = false;   // an application holds a handle (connect, or accepted)
    std::uint8_t listener = kNoListener;  // the listener it came from, until accepted
    std::uint64_t accept_order = 0;       // established order, for first come first accepted
    // Send sequence space. The send buffer holds the bytes from tx_seq on; SYN and FIN take a
    // number each but no byte.
    std::uint32_t iss = 0;
    std::uint32_t snd_una = 0;
    std::uint32_t snd_nxt = 0;
    std::uint32_t snd_max = 0;   // the highest number sent: the RFC's SND.NXT (snd_nxt here falls
                                 // back to snd_una on a timeout, to send again from there)
    std::uint32_t tx_seq = 0;    // the number of the send buffer's first byte
    std::uint32_t snd_wnd = 0;
    std::uint32_t max_snd_wnd = 0;
    std::uint32_t snd_wl1 = 0;
    std::uint32_t snd_wl2 = 0;
    std::uint16_t mss = kTcpDefaultMss;  // data we send per segment (the peer's MSS less our options)
    // RFC 7323, agreed on the SYNs: window scaling (both shifts 0 without it) and timestamps. Before
    // the peer's SYN arrives, they hold what our SYN offers.
    std::uint8_t snd_shift = 0;  // the peer's windows are its field << snd_shift
    std::uint8_t rcv_shift = 0;  // ours go out >> rcv_shift
    bool window_scaling = false;
    bool timestamps = false;
    bool sack = false;  // RFC 2018: we report held ranges, and recover by the peer's reports (RFC 6675)
    std::uint32_t ts_offset = 0;       // our timestamp clock's offset for this connection (Linux's tsoffset)
    std::uint32_t ts_recent = 0;       // TS.Recent: the peer's timestamp we echo
    Instant ts_recent_at{};            // when it was taken (PAWS trusts it for 24 days)
    std::uint32_t last_ack_sent = 0;   // Last.ACK.sent (RFC 7323 §4.3)
    bool fin_queued = false;     // the application shut down the sending side
    bool nodelay = false;
    bool probe = false;          // a probe is due: a zero-window probe, or a short segment anyway
    std::uint8_t probes = 0;     // probes unanswered (any acceptable ACK answers them)
    // Congestion control (RFC 5681; CUBIC's growth and cut, RFC 9438).
    CongestionControl congestion = CongestionControl::kCubic;
    Cubic cubic;
    std::uint32_t cwnd = 0;
    std::uint32_t ssthresh = 0xffffffff;
    std::uint32_t recover = 0;    // SND.MAX when the last recovery or timeout began (RFC 6582)
    std::uint8_t dupacks = 0;
    bool recovering = false;      // in fast recovery (NewReno's, or RFC 6675's with SACK)
    std::uint32_t high_rxt = 0;   // RFC 6675 HighRxt: the end of what this recovery resent
    OutOfOrder<kTcpSackScoreboardBlocks> sacked;  // the scoreboard: what the peer holds above SND.UNA
    bool resend_first = false;    // the segment at SND.UNA goes again now (fast retransmit)
    // Receive sequence space.
    std::uint32_t irs = 0;
    std::uint32_t rcv_nxt = 0;
    std::uint32_t rcv_adv = 0;   // the right edge of the window last advertised
    OutOfOrder<kTcpOutOfOrderRanges> out_of_order;  // held past a gap, in the receive ring's free space
    bool fin_received = false;
    bool ack_due = false;        // an ACK goes out at once
    std::uint32_t unacked_bytes = 0;  // received since our last ACK
    std::uint8_t quick_acks = 0;       // in-order ACKs still sent at once after a loss (Linux: quickack mode)
    Instant ack_at = kNever;          // a delayed ACK is due then
    // Round-trip estimation (RFC 6298), one segment timed at a time (Karn: never a retransmitted one).
    bool timing = false;
    bool rtt_valid = false;
    bool resent = false;  // retransmitted since the last RTT sample: only a timestamp echo gives one
    std::uint32_t resent_ts = 0;  // our timestamp when that happened
    std::uint32_t rtt_seq = 0;
    Instant rtt_start{};
    Duration srtt{0};
    Duration rttvar{0};
    Duration rto = kTcpInitialRto;
    std::uint32_t retries = 0;
    Timer timer = Timer::kNone;
    Instant deadline = kNever;
    Instant resend_at = kNever;  // a segment the layers below could not send goes again then
    std::optional<KeepAlive> keepalive;
    std::uint8_t keepalive_sent = 0;  // probes unanswered
    bool keepalive_due = false;
    Instant last_heard{};              // the last acceptable segment from the peer
    Duration user_timeout{0};
    Instant unacked_since = kNever;    // the oldest unacknowledged data was first sent then
    std::optional<ConnectionError> error;       // why it ended, for the application
    std::optional<ConnectionError> soft_error;  // an ICMP error, reported if it times out
  };

  struct Connection {
    Tcb tcb;
    std::uint8_t generation = 0;
    StateCell<Connection, &kTcpTransitions> state{TcpState::Done};
    WaiterList readers;
    WaiterList writers;  // and a Connect waiting for the handshake
    ByteRing<Config::kTcpSendBufferBytes> tx;
    ByteRing<Config::kTcpReceiveBufferBytes> rx;
  };

  struct Listener {
    bool open = false;
    std::uint8_t generation = 0;
    std::uint16_t port = 0;
    std::uint8_t pending = 0;  // connections from it not yet accepted (handshakes included)
    WaiterList acceptors;
  };

  /// A received segment, parsed.
  struct Incoming {
    wire::Ipv4Address from;
    wire::TcpRepr header;
    std::span<const std::byte> payload;
    bool broadcast = false;  // to a broadcast address or in a group frame: never answered
    std::uint32_t length() const noexcept {  // SEG.LEN: data, SYN and FIN
      return static_cast<std::uint32_t>(payload.size()) + (header.has(wire::tcp_flag::kSyn) ? 1 : 0) +
             (header.has(wire::tcp_flag::kFin) ? 1 : 0);
    }
  };

  // ---- Table ----------------------------------------------------------------------------------

  template <class T, std::size_t N>
  static std::uint8_t index_in(const std::array<T, N>& table, const T& item) noexcept {
    return static_cast<std::uint8_t>(&item - table.data());
  }
  std::uint8_t index_of(const Listener& l) const noexcept { return index_in(listeners_, l); }
  std::uint8_t index_of(const Connection& c) const noexcept { return index_in(connections_, c); }
  TcpSocket socket_of(const Connection& c) const noexcept { return {index_of(c), c.generation}; }

  Listener* lookup(TcpListener id) noexcept {
    if (id.index >= listeners_.size()) return nullptr;
    Listener& l = listeners_[id.index];
    return l.open && l.generation == id.generation ? &l : nullptr;
  }
  Listener* find_listener(std::uint16_t port) noexcept {
    for (Listener& l : listeners_) {
      if (l.open && l.port == port) return &l;
    }
    return nullptr;
  }
  Connection* owned(TcpSocket id) noexcept {
    if (id.index >= connections_.size()) return nullptr;
    Connection& c = connections_[id.index];
    return c.tcb.app_owned && c.generation == id.generation ? &c : nullptr;
  }
  Connection* find(const wire::Ipv4Address& remote, std::uint16_t remote_port, std::uint16_t local_port) noexcept {
    for (Connection& c : connections_) {
      if (c.state.get() != TcpState::Done && c.tcb.local_port == local_port && c.tcb.remote_port == remote_port &&
          c.tcb.remote == remote) {
        return &c;
      }
    }
    return nullptr;
  }
  Info info_of(const Connection& c) const noexcept {
    const Tcb& t = c.tcb;
    constexpr const char* kTimers[] = {"none", "retransmit", "persist", "time-wait", "fin-wait-2"};
    return Info{c.state.get(), t.snd_una, t.snd_nxt, t.snd_max, t.snd_wnd, t.cwnd, t.ssthresh, t.rcv_nxt,
                receive_window(c), c.tx.size(), c.rx.size(), t.out_of_order.size(), t.srtt, t.rto, t.retries,
                t.probes, {t.remote, t.remote_port}, t.local_port, orphan(t),
                kTimers[static_cast<std::size_t>(t.timer)], t.deadline, t.mss, t.snd_shift, t.rcv_shift,
                t.window_scaling, t.timestamps, t.sack, t.sacked.size(), t.congestion};
  }

  /// Closed by its application (and not waiting in a listener's queue): nobody will read it.
  static bool orphan(const Tcb& t) noexcept { return !t.app_owned && t.listener == kNoListener; }
  bool is_free(const Connection& c) const noexcept {
    return c.state.get() == TcpState::Done && !c.tcb.app_owned && c.tcb.listener == kNoListener;
  }

  /// A free slot; if there is none, the TIME-WAIT connection closest to its end is ended early
  /// (as Linux does past tcp_max_tw_buckets: that 4-tuple loses its protection, no other does).
  Connection* allocate() noexcept {
    Connection* oldest_wait = nullptr;
    for (Connection& c : connections_) {
      if (is_free(c)) return fresh(c);
      if (c.state.get() == TcpState::TimeWait && !c.tcb.app_owned &&
          (oldest_wait == nullptr || c.tcb.deadline < oldest_wait->tcb.deadline)) {
        oldest_wait = &c;
      }
    }
    if (oldest_wait == nullptr) return nullptr;
    ++counters_.time_wait_recycled;
    finish(*oldest_wait, std::nullopt);
    return fresh(*oldest_wait);
  }
  Connection* fresh(Connection& c) noexcept {
    c.tcb = Tcb{};
    ++c.generation;
    c.tx.clear();
    c.rx.clear();
    output_ &= ~(1u << index_of(c));
    live_ |= 1u << index_of(c);  // its state is set next, away from Done
    return &c;
  }

  /// Lets go of a finished connection whose application no longer holds it.
  void release(Connection& c) noexcept { c.tcb.app_owned = false; }

  // Our MSS option: what fits our MTU (RFC 9293 §3.7.1).
  std::uint16_t our_mss() const noexcept {
    return static_cast<std::uint16_t>(ip_->config().mtu - wire::kIpv4HeaderBytes - wire::kTcpHeaderBytes);
  }

  void start_sequence(Connection& c, Instant now) noexcept {
    Tcb& t = c.tcb;
    t.iss = isn_.isn(ip_->config().address, t.local_port, t.remote, t.remote_port, now);
    t.snd_una = t.iss;
    t.snd_nxt = t.iss;
    t.snd_max = t.iss;
    t.tx_seq = t.iss + 1;
    t.recover = t.iss;
    t.ts_offset = isn_.timestamp_offset(ip_->config().address, t.remote);
  }

  Connection* open_active(const IpEndpoint& to, const TcpFeatures& offer, Instant now) noexcept {
    Connection* c = allocate();
    if (c == nullptr) return nullptr;
    Tcb& t = c->tcb;
    t.remote = to.address.v4();
    t.remote_port = to.port;
    t.local_port = ephemeral_port(t.remote, to.port);
    t.app_owned = true;
    t.window_scaling = offer.window_scaling;  // what our SYN offers, until the SYN-ACK says what is agreed
    t.timestamps = offer.timestamps;
    t.sack = offer.sack;
    t.congestion = offer.congestion;
    start_sequence(*c, now);
    t.snd_nxt = t.iss + 1;  // the SYN goes out through Connect, not the transmitter
    t.snd_max = t.snd_nxt;
    c->state.set(TcpState::SynSent);
    ++counters_.active_opens;
    return c;
  }

  // A local port no connection to the same remote endpoint uses, from the ephemeral range.
  std::uint16_t ephemeral_port(const wire::Ipv4Address& remote, std::uint16_t remote_port) noexcept {
    for (;;) {
      const std::uint16_t candidate = next_ephemeral_;
      next_ephemeral_ = candidate == kEphemeralPortLast ? kEphemeralPortFirst : static_cast<std::uint16_t>(candidate + 1);
      if (find(remote, remote_port, candidate) == nullptr && find_listener(candidate) == nullptr) return candidate;
    }
  }

  void send_syn(Connection& c, Frame& frame, Instant now) noexcept {
    last_now_ = now;  // our timestamp
    Segment s = syn_segment(c, wire::tcp_flag::kSyn);
    s.window = syn_window(c, false);
    emit(frame, s);
    start_timing(c, c.tcb.iss + 1, now);
    arm(c, Timer::kRetransmit, now + c.tcb.rto);
  }

  /// A Connect dropped before it completed.
  void abandon(TcpSocket id) noexcept {
    Connection* c = owned(id);
    if (c == nullptr) return;
    if (c->state.get() != TcpState::Done) reset(*c, std::nullopt);  // RST, unless only our SYN was out
    release(*c);
  }

  Connection* next_to_accept(std::uint8_t listener) noexcept {
    Connection* first = nullptr;
    for (Connection& c : connections_) {
      const TcpState s = c.state.get();
      if (c.tcb.listener == listener && s != TcpState::SynReceived && s != TcpState::Done &&
          (first == nullptr || c.tcb.accept_order < first->tcb.accept_order)) {
        first = &c;
      }
    }
    return first;
  }

  static ConnectionError from_send_error(SendError e) noexcept {
    switch (e) {
      case SendError::kNoRoute:
        return ConnectionError::kNoRoute;
      case SendError::kLinkDown:
        return ConnectionError::kLinkDown;
      case SendError::kNeighbourBusy:
      case SendError::kNeighbourCacheFull:
        return ConnectionError::kNeighbourBusy;
      case SendError::kAddressFamily:
        return ConnectionError::kAddressFamily;
      default:  // kHostUnreachable; a SYN is never too long, never a bad socket, may wait for ARP
        return ConnectionError::kHostUnreachable;
    }
  }

  // ---- Receiving ------------------------------------------------------------------------------

  /// A segment for a listener (RFC 9293 §3.10.7.2).
  void listen_arrives(Listener& l, const Incoming& in, Instant now) noexcept {
    const wire::TcpRepr& h = in.header;
    if (h.has(wire::tcp_flag::kRst)) return counters_.dropped.count(TcpDrop::kUnexpected);
    if (h.has(wire::tcp_flag::kAck)) {
      counters_.dropped.count(TcpDrop::kNoConnection);
      return reset_unknown(in);
    }
    if (!h.has(wire::tcp_flag::kSyn) || in.broadcast) return counters_.dropped.count(TcpDrop::kUnexpected);
    if (l.pending >= Config::kTcpBacklog) return counters_.dropped.count(TcpDrop::kBacklogFull);
    Connection* c = allocate();
    if (c == nullptr) return counters_.dropped.count(TcpDrop::kTableFull);
    Tcb& t = c->tcb;
    t.remote = in.from;
    t.remote_port = h.source_port;
    t.local_port = h.destination_port;
    t.listener = index_of(l);
    ++l.pending;
    start_sequence(*c, now);
    t.irs = h.sequence;
    t.rcv_nxt = h.sequence + 1;
    t.rcv_adv = t.rcv_nxt;
    t.window_scaling = features_.window_scaling;  // what we would offer; the SYN's options decide
    t.timestamps = features_.timestamps;
    t.sack = features_.sack;
    t.congestion = features_.congestion;
    take_syn_options(*c, h, now);
    t.snd_wnd = h.window;  // a SYN's window is never scaled
    t.max_snd_wnd = h.window;
    t.snd_wl1 = h.sequence;
    c->state.set(TcpState::SynReceived);
    ++counters_.passive_opens;
    wants_output(*c);  // the SYN-ACK
  }

  /// The peer's SYN (or SYN-ACK): an option is used when both SYNs carry it (RFC 7323 §1.3). Our
  /// segments' data then leaves room for the timestamps in the peer's MSS (RFC 9293 §3.7.1: the MSS
  /// counts no option), as Linux's mss_cache does.
  void take_syn_options(Connection& c, const wire::TcpRepr& h, Instant now) noexcept {
    Tcb& t = c.tcb;
    const wire::TcpOptions& o = h.options;
    t.window_scaling = t.window_scaling && o.has_window_scale;
    t.snd_shift = t.window_scaling ? o.window_shift : 0;  // clamped to 14 by the codec (RFC 7323 §2.3)
    t.rcv_shift = t.window_scaling ? kOurWindowShift : 0;
    t.timestamps = t.timestamps && o.has_timestamps;
    t.sack = t.sack && o.sack_permitted;
    if (t.timestamps) {
      t.ts_recent = o.timestamp_value;
      t.ts_recent_at = now;
    }
    const std::uint16_t peer = o.has_mss ? o.mss : kTcpDefaultMss;
    const std::uint16_t segment = std::max<std::uint16_t>(64, std::min(peer, our_mss()));
    t.mss = static_cast<std::uint16_t>(segment - (t.timestamps ? 12 : 0));
    t.cwnd = 10u * t.mss;  // RFC 6928's initial window, as Linux
  }

  /// SEGMENT ARRIVES for a connection (RFC 9293 §3.10.7.3 and .4, with RFC 5961).
  void segment_arrives(Connection& c, const Incoming& received, Instant now) noexcept {
    Tcb& t = c.tcb;
    if (c.state.get() == TcpState::SynSent) return syn_sent_arrives(c, received, now);
    Incoming in = received;
    const wire::TcpRepr& h = in.header;

    // Retransmissions the acceptability test would turn away: the peer's SYN again in
    // SYN-RECEIVED (our SYN-ACK was lost: send it again), its FIN again in TIME-WAIT (our last
    // ACK was lost: acknowledge it, and wait 2·MSL again), as Linux's tcp_check_req and
    // tcp_timewait_state_process do.
    if (c.state.get() == TcpState::SynReceived && h.flags == wire::tcp_flag::kSyn && h.sequence == t.irs) {
      t.snd_nxt = t.iss;
      wants_output(c);
      return;
    }
    if (c.state.get() == TcpState::TimeWait && h.has(wire::tcp_flag::kFin) && !h.has(wire::tcp_flag::kRst) &&
        h.sequence + static_cast<std::uint32_t>(in.payload.size()) + 1 == t.rcv_nxt) {
      t.ack_due = true;
      wants_output(c);
      enter_time_wait(c, now);
      return;
    }
    // PAWS (RFC 7323 §5.3 R1): a timestamp older than the last one taken marks an old duplicate
    // (its sequence numbers may have wrapped): dropped, and answered with an ACK unless a RST.
    // Older by more than one tick, as Linux (TCP_PAWS_WINDOW): a segment merely reordered behind
    // a retransmission sent a moment later is not thrown away.
    const wire::TcpOptions& o = h.options;
    if (t.timestamps && o.has_timestamps && !h.has(wire::tcp_flag::kRst) &&
        seq::lt(o.timestamp_value + kPawsWindow, t.ts_recent) && now - t.ts_recent_at < kPawsIdle) {
      t.ack_due = true;
      wants_output(c);
      return counters_.dropped.count(TcpDrop::kPaws);
    }
    // With our window at zero, a segment at RCV.NXT still brings its ACK, its window and a FIN
    // with no data (RFC 9293 §3.10.7.4; Linux): only its data is dropped, and acknowledged as not taken.
    const bool at_closed_window = receive_window(c) == 0 && h.sequence == t.rcv_nxt && !h.has(wire::tcp_flag::kSyn);
    if (at_closed_window && !in.payload.empty()) {
      in.payload = {};
      in.header.flags = static_cast<std::uint8_t>(in.header.flags & ~wire::tcp_flag::kFin);
      t.ack_due = true;
      counters_.dropped.count(TcpDrop::kWindowFull);
    }

    // First: the sequence number.
    if (!at_closed_window && !acceptable(c, in)) {
      if (!h.has(wire::tcp_flag::kRst)) t.ack_due = true;
      wants_output(c);
      return counters_.dropped.count(TcpDrop::kOutOfWindow);
    }
    // The timestamp to echo (RFC 7323 §4.3, R3): the one of the earliest segment not yet
    // acknowledged, so that the peer's RTT includes our ACK's delay; any, once 24 days old (§5.5).
    if (t.timestamps && o.has_timestamps && seq::le(h.sequence, t.last_ack_sent) &&
        (seq::ge(o.timestamp_value, t.ts_recent) || now - t.ts_recent_at >= kPawsIdle)) {
      t.ts_recent = o.timestamp_value;
      t.ts_recent_at = now;
    }
    // The peer's window, scaled (RFC 7323 §2.3; a SYN reaching here is only challenged).
    const std::uint32_t window = std::uint32_t{h.window} << t.snd_shift;
    // Second: RST. Only one exactly at RCV.NXT resets; one elsewhere in the window may be blind
    // (RFC 5961 §3.2): it gets a challenge ACK.
    if (h.has(wire::tcp_flag::kRst)) {
      if (h.sequence != t.rcv_nxt) return challenge(c, TcpDrop::kChallenged);
      ++counters_.resets_received;
      if (c.state.get() == TcpState::SynReceived && t.listener != kNoListener) {
        // From LISTEN: back to listening (the listener never saw it).
        return finish(c, std::nullopt);
      }
      const bool closing = c.state.get() == TcpState::Closing || c.state.get() == TcpState::LastAck ||
                           c.state.get() == TcpState::TimeWait;
      return finish(c, closing ? std::nullopt : std::optional<ConnectionError>(ConnectionError::kReset));
    }
    // Fourth: SYN in a synchronized state: a challenge ACK (RFC 5961 §4.2).
    if (h.has(wire::tcp_flag::kSyn)) return challenge(c, TcpDrop::kChallenged);
    // Fifth: ACK.
    if (!h.has(wire::tcp_flag::kAck)) return counters_.dropped.count(TcpDrop::kNoAck);
    if (c.state.get() == TcpState::SynReceived) {
      if (!(seq::lt(t.snd_una, h.acknowledgement) && seq::le(h.acknowledgement, t.snd_max))) {
        counters_.dropped.count(TcpDrop::kBadAck);
        return queue_reset(in.from, h.destination_port, h.source_port, h.acknowledgement, 0, false);
      }
      established(c);
      t.snd_wnd = window;
      t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
      t.snd_wl1 = h.sequence;
      t.snd_wl2 = h.acknowledgement;
    }
    if (seq::gt(h.acknowledgement, t.snd_max)) {
      t.ack_due = true;
      wants_output(c);
      return counters_.dropped.count(TcpDrop::kBadAck);
    }
    // An ACK older than a window the peer may still have in flight is a forgery (RFC 5961 §5.2).
    if (seq::lt(h.acknowledgement, t.snd_una - t.max_snd_wnd)) return challenge(c, TcpDrop::kBadAck);
    const bool newly_sacked = t.sack && o.sack_blocks > 0 && take_sack_blocks(t, o, h.acknowledgement);
    t.probes = 0;  // the peer is there
    t.last_heard = now;
    t.keepalive_sent = 0;
    if (seq::gt(h.acknowledgement, t.snd_una)) {
      acknowledged(c, h.acknowledgement, o, now);
    } else if (h.acknowledgement == t.snd_una && t.snd_una != t.snd_max &&
               ((in.payload.empty() && !h.has(wire::tcp_flag::kFin) && window == t.snd_wnd) || newly_sacked)) {
      // RFC 5681 §2's definition, all five conditions; with SACK, also any ACK that reports new
      // SACKed data, even one carrying data of its own (RFC 6675 §2, as Linux counts them).
      duplicate_ack(c);
    }
    // The send window, from the newest segment (RFC 9293 SND.WL1/WL2).
    if (seq::lt(t.snd_wl1, h.sequence) || (t.snd_wl1 == h.sequence && seq::le(t.snd_wl2, h.acknowledgement))) {
      t.snd_wnd = window;
      t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
      t.snd_wl1 = h.sequence;
      t.snd_wl2 = h.acknowledgement;
      if (t.snd_wnd > 0 && t.timer == Timer::kPersist) disarm(c);
      if (!c.tx.empty() || t.fin_queued) wants_output(c);  // the window may have opened
    }
    const bool fin_acked = t.fin_queued && seq::gt(t.snd_una, fin_seq(c));
    switch (c.state.get()) {
      case TcpState::FinWait1:
        if (fin_acked) c.state.set(TcpState::FinWait2);
        break;
      case TcpState::Closing:
        if (fin_acked) enter_time_wait(c, now);
        break;
      case TcpState::LastAck:
        if (fin_acked) return finish(c, std::nullopt);
        break;
      case TcpState::TimeWait:
        return;  // nothing more arrives in TIME-WAIT (a retransmitted FIN is handled above)
      default:
        break;
    }
    // Seventh: the data, then eighth: FIN.
    if (!receive_data(c, in, now)) return;
    if (h.has(wire::tcp_flag::kFin) && !t.fin_received &&
        h.sequence + static_cast<std::uint32_t>(in.payload.size()) == t.rcv_nxt) {
      t.fin_received = true;
      t.rcv_nxt += 1;
      t.ack_due = true;
      switch (c.state.get()) {
        case TcpState::Established:  // SYN-RECEIVED became ESTABLISHED at the segment's ACK, above
          c.state.set(TcpState::CloseWait);
          break;
        case TcpState::FinWait1:  // our FIN not acknowledged: had this segment acknowledged it, the
                                  // ACK step above would have moved us to FIN-WAIT-2 already
          c.state.set(TcpState::Closing);
          break;
        case TcpState::FinWait2:
          enter_time_wait(c, now);
          break;
        default:
          break;
      }
      c.readers.notify_all();
    }
    if (t.ack_due) wants_output(c);
    schedule_persist(c, now);
  }

  /// SYN-SENT (RFC 9293 §3.10.7.3).
  void syn_sent_arrives(Connection& c, const Incoming& in, Instant now) noexcept {
    Tcb& t = c.tcb;
    const wire::TcpRepr& h = in.header;
    const bool has_ack = h.has(wire::tcp_flag::kAck);
    if (has_ack && (seq::le(h.acknowledgement, t.iss) || seq::gt(h.acknowledgement, t.snd_max))) {
      counters_.dropped.count(TcpDrop::kBadAck);
      if (!h.has(wire::tcp_flag::kRst)) queue_reset(in.from, h.destination_port, h.source_port, h.acknowledgement, 0, false);
      return;
    }
    if (h.has(wire::tcp_flag::kRst)) {
      if (!has_ack) return counters_.dropped.count(TcpDrop::kUnexpected);
      ++counters_.resets_received;
      return finish(c, ConnectionError::kRefused);
    }
    if (!h.has(wire::tcp_flag::kSyn)) return counters_.dropped.count(TcpDrop::kUnexpected);
    t.irs = h.sequence;
    t.rcv_nxt = h.sequence + 1;
    t.rcv_adv = t.rcv_nxt;
    take_syn_options(c, h, now);
    t.snd_wnd = h.window;
    t.max_snd_wnd = h.window;
    t.snd_wl1 = h.sequence;
    t.snd_wl2 = has_ack ? h.acknowledgement : 0;
    t.ack_due = true;
    if (has_ack) {
      acknowledged(c, h.acknowledgement, h.options, now);
      established(c);
      (void)receive_data(c, in, now);  // data on a SYN-ACK is rare but legal
    } else {
      // Simultaneous open (RFC 9293 Figure 8): SYN-RECEIVED, our SYN again with an ACK.
      c.state.set(TcpState::SynReceived);
      t.snd_nxt = t.iss;
    }
    wants_output(c);
  }

  void established(Connection& c) noexcept {
    c.state.set(TcpState::Established);
    c.tcb.accept_order = ++accept_sequence_;
    ++counters_.established;
    c.writers.notify_all();  // a Connect waiting for this
    if (c.tcb.listener != kNoListener) listeners_[c.tcb.listener].acceptors.notify_one();
  }

  /// The peer's SACK blocks onto the scoreboard (RFC 2018, RFC 6675 §5 Update()): only those
  /// within what is unacknowledged after this ACK; others (a D-SACK of RFC 2883 below it, a stale
  /// or a forged block) are counted and ignored. True when they SACKed bytes not SACKed before.
  bool take_sack_blocks(Tcb& t, const wire::TcpOptions& o, std::uint32_t ack) noexcept {
    const std::uint32_t before = sacked_bytes(t);
    for (std::size_t i = 0; i < o.sack_blocks; ++i) {
      const wire::SackBlock& b = o.sack[i];
      if (!seq::lt(b.left, b.right) || !seq::gt(b.left, ack) || seq::gt(b.right, t.snd_max)) {
        ++counters_.sack_blocks_ignored;
        continue;
      }
      (void)t.sacked.add(b.left, b.right);  // full: not recorded (options.h, kTcpSackScoreboardBlocks)
    }
    return sacked_bytes(t) != before;
  }
  static std::uint32_t sacked_bytes(const Tcb& t) noexcept {
    std::uint32_t bytes = 0;
    for (std::size_t i = 0; i < t.sacked.size(); ++i) bytes += t.sacked[i].right - t.sacked[i].left;
    return bytes;
  }

  // ---- RFC 6675's scoreboard: holes are the gaps below the SACKed ranges ----------------------

  /// IsLost() for the hole below scoreboard block `i`: kDupThresh SACKed ranges above it, or more
  /// than (kDupThresh − 1) segments' worth of SACKed bytes.
  static bool hole_lost(const Tcb& t, std::size_t i) noexcept {
    if (t.sacked.size() - i >= kDupThresh) return true;
    std::uint32_t above = 0;
    for (std::size_t k = i; k < t.sacked.size(); ++k) above += t.sacked[k].right - t.sacked[k].left;
    return above > (kDupThresh - 1) * t.mss;
  }
  /// SetPipe(): the bytes in flight. Each byte not SACKed counts once unless lost, and once more
  /// if this recovery resent it (below HighRxt).
  static std::uint32_t sack_pipe(const Tcb& t) noexcept {
    std::uint32_t pipe = 0;
    std::uint32_t at = t.snd_una;
    for (std::size_t i = 0; i <= t.sacked.size(); ++i) {
      const std::uint32_t end = i < t.sacked.size() ? t.sacked[i].left : t.snd_max;
      if (seq::lt(at, end)) {
        if (i == t.sacked.size() || !hole_lost(t, i)) pipe += end - at;
        if (seq::gt(t.high_rxt, at)) pipe += (seq::lt(t.high_rxt, end) ? t.high_rxt : end) - at;
      }
      if (i < t.sacked.size()) at = t.sacked[i].right;
    }
    return pipe;
  }

  /// RFC 9293 §3.10.7.4's acceptability test, against the window we offer now.
  bool acceptable(const Connection& c, const Incoming& in) const noexcept {
    const Tcb& t = c.tcb;
    const std::uint32_t window = receive_window(c);
    const std::uint32_t length = in.length();
    const std::uint32_t s = in.header.sequence;
    if (length == 0) return window == 0 ? s == t.rcv_nxt : seq::in_window(s, t.rcv_nxt, t.rcv_nxt + window);
    if (window == 0) return false;
    return seq::in_window(s, t.rcv_nxt, t.rcv_nxt + window) ||
           seq::in_window(s + length - 1, t.rcv_nxt, t.rcv_nxt + window);
  }

  /// The peer acknowledged up to `ack` (after SND.UNA, at most SND.MAX): the send buffer drops
  /// what it covers, the round trip is measured, the windows and the timer follow.
  void acknowledged(Connection& c, std::uint32_t ack, const wire::TcpOptions& options, Instant now) noexcept {
    Tcb& t = c.tcb;
    const std::uint32_t newly = ack - t.snd_una;
    t.snd_una = ack;
    if (seq::lt(t.snd_nxt, t.snd_una)) t.snd_nxt = t.snd_una;
    if (seq::gt(ack, t.tx_seq)) {
      const std::size_t bytes = std::min<std::size_t>(ack - t.tx_seq, c.tx.size());
      c.tx.pop(bytes);
      t.tx_seq += static_cast<std::uint32_t>(bytes);
      if (bytes > 0) c.writers.notify_one();
    }
    // The round trip: from the timed segment (microseconds), or, when Karn's rule forbids that
    // because data was sent again, from the timestamp echo, which names the transmission it answers
    // (RFC 7323 §4.1). Linux prefers its own send times over the echo the same way.
    if (t.timing && seq::ge(ack, t.rtt_seq)) {
      t.timing = false;
      t.resent = false;
      sample_rtt(c, now - t.rtt_start);
    } else if (t.resent && t.timestamps && options.has_timestamps && options.timestamp_echo != 0 &&
               seq::ge(options.timestamp_echo, t.resent_ts)) {
      // Only the echo of a transmission since the resend: an older one answers the first
      // transmission (the resend was needless, RFC 3522's test), and its delay includes ours.
      const std::uint32_t ticks = timestamp_now(t) - options.timestamp_echo;
      if (ticks < (std::uint32_t{1} << 22)) {  // at most 71 minutes: anything else is no echo of ours
        t.resent = false;
        ++counters_.timestamp_rtt_samples;
        sample_rtt(c, Duration{static_cast<Duration::rep>(std::max<std::uint32_t>(ticks, 1)) << kTcpTimestampShift});
      }
    }
    t.dupacks = 0;
    t.sacked.discard_below(ack);
    if (seq::lt(t.high_rxt, ack)) t.high_rxt = ack;
    // Past `recover`, it follows SND.UNA (just behind it), so that after 2 GiB without a loss the
    // comparison with it cannot wrap and turn fast retransmit off.
    if (!t.recovering && seq::gt(t.snd_una, t.recover)) t.recover = t.snd_una - 1;
    if (t.recovering) {
      if (seq::ge(ack, t.recover)) {
        // A full acknowledgement ends the recovery (RFC 6582 §3.2 step 3): the window deflates to
        // what is in flight plus one segment, at most ssthresh.
        t.recovering = false;
        t.cwnd = std::min(t.ssthresh, (t.snd_max - t.snd_una) + t.mss);
      } else if (!t.sack) {
        // A partial one: the next hole is lost too; resend it at once and deflate the window by
        // what was acknowledged, plus one segment (RFC 6582 §3.2 step 4). With SACK, the
        // scoreboard says what is lost and the pipe what may go (RFC 6675 §5).
        t.resend_first = true;
        mark_resent(t);  // Karn: the timed segment may be the hole resent
        t.cwnd = (t.cwnd > newly ? t.cwnd - newly : 0) + t.mss;
      }
    } else if (t.cwnd < t.ssthresh) {
      // Congestion window: slow start by the bytes newly acknowledged, up to ssthresh (RFC 3465
      // byte counting with no per-ACK limit, as Linux's tcp_slow_start), then about one MSS per
      // round trip. RFC 5681 §3.1 limits an ACK to one MSS; with receivers that acknowledge a
      // batch of segments at once (Linux with GRO, this stack per receive batch) that limit
      // would make the window grow by one MSS per batch instead of per segment.
      t.cwnd = std::min(t.cwnd + newly, std::max(t.ssthresh, t.cwnd + t.mss));
    } else if (t.congestion == CongestionControl::kCubic) {
      t.cwnd = t.cubic.on_ack(t.cwnd, newly, t.mss, now, t.srtt);
    } else {
      // NewReno's additive increase counted in bytes (RFC 3465 §2.1; Linux's tcp_cong_avoid_ai
      // counts acknowledged segments): MSS·MSS/cwnd per MSS acknowledged, whatever the ACKs' size.
      t.cwnd += std::max<std::uint32_t>(
          1, static_cast<std::uint32_t>(std::uint64_t{t.mss} * std::min(newly, t.cwnd) / t.cwnd));
    }
    t.cwnd = std::min(t.cwnd, kMaxCongestionWindow);  // past any window the peer can offer: no use
    t.retries = 0;
    t.soft_error.reset();
    // New data acknowledged: the backed-off timeout returns to SRTT + 4·RTTVAR. Strict Karn would
    // keep it until the next sample, but without timestamps no retransmitted segment yields one,
    // and a long recovery would wait out timeouts of up to two minutes between losses (lwIP
    // resets it here too; Linux does on the RTT sample its timestamps take from nearly every ACK).
    if (t.rtt_valid) t.rto = rto_from(t.srtt, t.rttvar);
    if (t.snd_una == t.snd_max) {
      if (t.timer == Timer::kRetransmit) disarm(c);
      t.unacked_since = kNever;
    } else {
      arm(c, Timer::kRetransmit, now + t.rto);  // RFC 6298 §5.3
      t.unacked_since = now;  // the oldest unacknowledged data is newer now
    }
    wants_output(c);  // the window may have opened
  }

  /// The third duplicate ACK starts a fast retransmit and NewReno's recovery (RFC 5681 §3.2, RFC
  /// 6582): the segment at SND.UNA goes again at once, ssthresh falls (congestion_event), and each further
  /// duplicate (a segment that left the network) lets one more segment out. Not again for losses
  /// inside a recovery or a timeout's window (`recover`), which would halve twice for one event.
  void duplicate_ack(Connection& c) noexcept {
    Tcb& t = c.tcb;
    if (t.recovering) {
      // NewReno inflates the window by each segment that left; with SACK the pipe counts them.
      if (!t.sack) t.cwnd = std::min(t.cwnd + t.mss, kMaxCongestionWindow);
      wants_output(c);
      return;
    }
    // The third duplicate, or with SACK a scoreboard that shows SND.UNA lost (RFC 6675 §5: IsLost(HighACK + 1)).
    const bool lost = ++t.dupacks == kDupThresh ||
                      (t.sack && t.sacked.size() > 0 && seq::lt(t.snd_una, t.sacked[0].left) && hole_lost(t, 0));
    if (!lost || !seq::gt(t.snd_una, t.recover)) return;
    t.ssthresh = congestion_event(t);
    t.recover = t.snd_max;
    t.recovering = true;
    t.high_rxt = t.snd_una;
    t.cwnd = t.sack ? t.ssthresh : t.ssthresh + 3u * t.mss;  // RFC 6675 §5 (4.2); RFC 5681's inflation
    t.resend_first = true;
    mark_resent(t);  // Karn: the timed segment may be the one resent
    ++counters_.fast_retransmits;
    wants_output(c);
  }

  /// A loss (three duplicates, the scoreboard, or a timeout): the new ssthresh. NewReno halves the
  /// flight (RFC 5681 §3.1); CUBIC takes β = 0.7 of the window and notes where the loss was.
  static std::uint32_t congestion_event(Tcb& t) noexcept {
    if (t.congestion == CongestionControl::kCubic) return t.cubic.on_congestion(t.cwnd, t.mss);
    return std::max<std::uint32_t>((t.snd_max - t.snd_una) / 2, 2u * t.mss);
  }

  void sample_rtt(Connection& c, Duration r) noexcept {
    Tcb& t = c.tcb;
    if (!t.rtt_valid) {
      t.srtt = r;
      t.rttvar = r / 2;
      t.rtt_valid = true;
    } else {
      const Duration delta = t.srtt > r ? t.srtt - r : r - t.srtt;
      t.rttvar = (3 * t.rttvar + delta) / 4;
      t.srtt = (7 * t.srtt + r) / 8;
    }
    t.rto = rto_from(t.srtt, t.rttvar);
  }
  static Duration rto_from(Duration srtt, Duration rttvar) noexcept {
    return std::clamp<Duration>(srtt + std::max<Duration>(Duration{1}, 4 * rttvar), kTcpMinRto, kTcpMaxRto);
  }

  /// Takes the in-order part of a segment's data into the receive buffer (RFC 9293 §3.10.7.4,
  /// seventh). Out-of-order data is not kept yet: a duplicate ACK tells the peer where we are.
  /// False when the connection was reset for it (new data for a connection nobody will read).
  bool receive_data(Connection& c, const Incoming& in, Instant now) noexcept {
    Tcb& t = c.tcb;
    const TcpState s = c.state.get();
    if (in.payload.empty() || !(s == TcpState::Established || s == TcpState::FinWait1 || s == TcpState::FinWait2)) {
      return true;
    }
    if (t.fin_received) return true;
    const std::uint32_t first = in.header.sequence + (in.header.has(wire::tcp_flag::kSyn) ? 1 : 0);
    const std::uint32_t skip = seq::lt(first, t.rcv_nxt) ? t.rcv_nxt - first : 0;
    if (skip >= in.payload.size()) {  // all old: an ACK at once repeats where we are
      t.ack_due = true;
      return true;
    }
    if (orphan(t)) {
      // Closed by its application: new data would be acknowledged and never read. Linux resets
      // (RFC 2525 §2.17, TCPAbortOnData), so the peer learns it was not delivered.
      counters_.dropped.count(TcpDrop::kDataAfterClose);
      reset(c, std::nullopt);
      return false;
    }
    // What fits the window: the bytes go where they belong in the receive ring.
    const std::size_t ahead = seq::gt(first, t.rcv_nxt) ? first - t.rcv_nxt : 0;
    const std::size_t room = c.rx.free();
    if (ahead >= room) {
      t.ack_due = true;
      ack_at_once_ = true;
      return true;
    }
    const std::span<const std::byte> data = in.payload.subspan(skip).first(std::min<std::size_t>(in.payload.size() - skip, room - ahead));
    if (ahead > 0) {
      t.ack_due = true;
      ack_at_once_ = true;
      t.quick_acks = kQuickAcks;
      // After a gap (RFC 9293 §3.10.7.4 allows keeping it): held until the gap is filled. The
      // immediate duplicate ACK tells the sender where the gap is (RFC 5681 §4.2: fast retransmit).
      const auto left = static_cast<std::uint32_t>(first + skip);
      if (!t.out_of_order.add(left, left + static_cast<std::uint32_t>(data.size()))) {
        counters_.dropped.count(TcpDrop::kOutOfOrder);
        return true;
      }
      c.rx.write_ahead(ahead, data);
      ++counters_.out_of_order_kept;
      return true;
    }
    c.rx.write_ahead(0, data);
    const bool filled_gap = t.out_of_order.size() > 0;
    const std::uint32_t edge = t.out_of_order.advance(t.rcv_nxt + static_cast<std::uint32_t>(data.size()));
    c.rx.extend(edge - t.rcv_nxt);
    t.rcv_nxt = edge;
    c.readers.notify_one();
    // Delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2): at least every second full-sized segment,
    // at once when a gap was filled or the segment did not fit, otherwise within kTcpDelayedAck
    // (Linux's TCP_DELACK_MIN), or sooner with data of ours going out.
    t.unacked_bytes += static_cast<std::uint32_t>(data.size());
    // Each of the first two goes out before the next frame is taken (a duplicate ACK per
    // out-of-order segment is what the sender counts); the third may wait for the frames in hand.
    if (filled_gap || data.size() < in.payload.size() - skip) {
      t.ack_due = true;
      ack_at_once_ = true;
      if (filled_gap) t.quick_acks = kQuickAcks;
    } else if (t.unacked_bytes >= 2u * t.mss) {
      t.ack_due = true;
      if (t.quick_acks > 0) {  // just after a loss: every second segment, as RFC 5681 has it
        --t.quick_acks;
        ack_at_once_ = true;
      }
    } else if (t.ack_at == kNever) {
      t.ack_at = now + kTcpDelayedAck;
      note_deadline(t.ack_at);
    }
    return true;
  }

  /// A challenge ACK (RFC 5961 §7), within the per-second limit.
  void challenge(Connection& c, TcpDrop reason) noexcept {
    const Instant now = last_now_;
    if (now - challenge_window_start_ >= std::chrono::seconds(1)) {
      challenge_window_start_ = now;
      challenges_in_window_ = 0;
    }
    if (challenges_in_window_ >= kTcpChallengeAcksPerSecond) return counters_.dropped.count(TcpDrop::kChallengeLimit);
    ++challenges_in_window_;
    ++counters_.challenge_acks;
    counters_.dropped.count(reason);
    c.tcb.ack_due = true;
    wants_output(c);
  }

  void enter_time_wait(Connection& c, Instant now) noexcept {
    c.state.set(TcpState::TimeWait);
    arm(c, Timer::kTimeWait, now + Config::kTcpTimeWait);
  }

  /// The connection is over (CLOSED): its waiters learn why.
  void finish(Connection& c, std::optional<ConnectionError> error) noexcept {
    if (c.tcb.listener != kNoListener) {
      --listeners_[c.tcb.listener].pending;
      c.tcb.listener = kNoListener;
    }
    c.state.set(TcpState::Done);
    c.tcb.error = error;
    c.tcb.timer = Timer::kNone;
    c.tcb.deadline = kNever;
    c.tcb.ack_at = kNever;
    c.tcb.resend_at = kNever;
    output_ &= ~(1u << index_of(c));
    live_ &= ~(1u << index_of(c));
    c.readers.notify_all();
    c.writers.notify_all();
  }

  /// Ends a connection with a RST to the peer (abort, close with unread data, a listener closed).
  void reset(Connection& c, std::optional<ConnectionError> error) noexcept {
    const TcpState s = c.state.get();
    if (s != TcpState::SynSent && s != TcpState::TimeWait) {
      queue_reset(c.tcb.remote, c.tcb.local_port, c.tcb.remote_port, c.tcb.snd_max, 0, false);
    }
    finish(c, error);
  }

  /// The answer to a segment for no connection (RFC 9293 §3.10.7.1): never to a RST, nor to a
  /// broadcast.
  void reset_unknown(const Incoming& in) noexcept {
    const wire::TcpRepr& h = in.header;
    if (h.has(wire::tcp_flag::kRst) || in.broadcast) return;
    if (h.has(wire::tcp_flag::kAck)) {
      queue_reset(in.from, h.destination_port, h.source_port, h.acknowledgement, 0, false);
    } else {
      queue_reset(in.from, h.destination_port, h.source_port, 0, h.sequence + in.length(), true);
    }
  }

  void queue_reset(const wire::Ipv4Address& to, std::uint16_t from_port, std::uint16_t to_port, std::uint32_t sequence,
                   std::uint32_t ack, bool with_ack) noexcept {
    if (resets_queued_ == kResetQueue) return counters_.dropped.count(TcpDrop::kRstQueueFull);
    Segment& s = resets_[(reset_head_ + resets_queued_) % kResetQueue];
    s = Segment{};
    s.to = to;
    s.source_port = from_port;
    s.destination_port = to_port;
    s.sequence = sequence;
    s.acknowledgement = ack;
    s.flags = static_cast<std::uint8_t>(wire::tcp_flag::kRst | (with_ack ? wire::tcp_flag::kAck : 0));
    ++resets_queued_;
    task_.wake();  // an application's abort() queues one outside the interface's poll: send it now
  }

  // ---- Reading and writing --------------------------------------------------------------------

  std::optional<ConnectionError> write_error(const Connection& c) const noexcept {
    switch (c.state.get()) {
      case TcpState::Established:
      case TcpState::CloseWait:
        return c.tcb.fin_queued ? std::optional<ConnectionError>(ConnectionError::kShutDown) : std::nullopt;
      case TcpState::Done:
        return c.tcb.error.value_or(ConnectionError::kShutDown);
      default:
        return ConnectionError::kShutDown;
    }
  }

  /// What a Read gets now: bytes, end of stream, an error; nullopt: nothing yet.
  std::optional<typename Read::Output> take(Connection& c, std::span<std::byte> buffer) noexcept {
    if (!c.rx.empty()) {
      const std::size_t n = std::min(buffer.size(), c.rx.size());
      c.rx.peek(0, buffer.first(n));
      c.rx.pop(n);
      window_opened(c);
      return typename Read::Output(n);
    }
    if (c.tcb.fin_received) return typename Read::Output(std::size_t{0});
    if (c.state.get() == TcpState::Done) {
      if (c.tcb.error) return typename Read::Output(*c.tcb.error);
      return typename Read::Output(std::size_t{0});
    }
    return std::nullopt;
  }

  // After a read: tell the peer when the window has grown by enough to matter (RFC 1122
  // §4.2.3.3: at least an MSS, or half the buffer).
  void window_opened(Connection& c) noexcept {
    const Tcb& t = c.tcb;
    const std::uint32_t edge = t.rcv_nxt + receive_window(c);
    if (seq::ge(edge, t.rcv_adv + sws_threshold(c))) {
      c.tcb.ack_due = true;
      wants_output(c);
    }
  }

  /// The room in the receive buffer, up to what the window field can say at our scale.
  std::uint32_t receive_window(const Connection& c) const noexcept {
    return static_cast<std::uint32_t>(std::min<std::size_t>(c.rx.free(), std::size_t{65535} << c.tcb.rcv_shift));
  }
  std::uint32_t sws_threshold(const Connection& c) const noexcept {
    return std::min<std::uint32_t>(static_cast<std::uint32_t>(c.rx.capacity() / 2), c.tcb.mss);
  }
  // The window field to advertise: the right edge moves only by a worthwhile amount (receiver
  // side silly window avoidance), and never back. Scaled (RFC 7323 §2.3), the room is rounded
  // down, but an edge already advertised is kept by rounding it up (as Linux's tcp_select_window).
  std::uint16_t advertise(Connection& c, bool commit) noexcept {
    Tcb& t = c.tcb;
    const std::uint32_t window = receive_window(c);
    const bool held = seq::ge(t.rcv_adv, t.rcv_nxt);
    std::uint32_t field = window >> t.rcv_shift;
    if (held && seq::lt(t.rcv_nxt + window, t.rcv_adv + sws_threshold(c))) field = 0;  // not worth moving
    if (held) field = std::max(field, (t.rcv_adv - t.rcv_nxt + (1u << t.rcv_shift) - 1) >> t.rcv_shift);
    field = std::min<std::uint32_t>(field, 65535);
    if (commit) t.rcv_adv = t.rcv_nxt + (field << t.rcv_shift);
    return static_cast<std::uint16_t>(field);
  }
  // A SYN's window is never scaled (RFC 7323 §2.2).
  std::uint16_t syn_window(Connection& c, bool commit) noexcept {
    const auto window = static_cast<std::uint16_t>(std::min<std::uint32_t>(receive_window(c), 65535));
    if (commit) c.tcb.rcv_adv = c.tcb.rcv_nxt + window;
    return window;
  }

  std::uint32_t fin_seq(const Connection& c) const noexcept {
    return c.tcb.tx_seq + static_cast<std::uint32_t>(c.tx.size());
  }

  /// Marks a connection as having something to send, and wakes the interface task.
  void wants_output(Connection& c) noexcept {
    output_ |= 1u << index_of(c);
    task_.wake();
  }

  // ---- Sending --------------------------------------------------------------------------------

  Segment segment_for(const Connection& c, std::uint32_t sequence, std::uint8_t flags) const noexcept {
    Segment s;
    s.to = c.tcb.remote;
    s.source_port = c.tcb.local_port;
    s.destination_port = c.tcb.remote_port;
    s.sequence = sequence;
    s.flags = flags;
    s.connection = index_of(c);
    s.generation = c.generation;
    // Agreed, timestamps go on every segment but a RST (RFC 7323 §3.2); our SYN's echo is 0.
    s.timestamps = c.tcb.timestamps;
    s.ts_value = timestamp_now(c.tcb);
    s.ts_echo = (flags & wire::tcp_flag::kAck) != 0 ? c.tcb.ts_recent : 0;
    if ((flags & (wire::tcp_flag::kAck | wire::tcp_flag::kSyn)) == wire::tcp_flag::kAck) {
      s.sack_blocks = static_cast<std::uint8_t>(sack_blocks_due(c.tcb));
    }
    return s;
  }
  /// SACK blocks our next ACK carries (RFC 2018 §4): every range held past a gap, as many as fit
  /// the option space: 3 beside timestamps, 4 without.
  static std::size_t sack_blocks_due(const Tcb& t) noexcept {
    if (!t.sack) return 0;
    return std::min<std::size_t>(t.out_of_order.size(), t.timestamps ? 3 : wire::kMaxSackBlocks);
  }
  /// Data one segment carries now: the peer's MSS less our options (timestamps in t.mss already;
  /// SACK blocks when we hold ranges, as Linux's tcp_current_mss).
  static std::uint32_t data_room(const Tcb& t) noexcept {
    return t.mss - static_cast<std::uint32_t>(sack_option_bytes(sack_blocks_due(t)));
  }
  /// Our SYN or SYN-ACK, with its options: the MSS, and what the Tcb offers or agreed to.
  Segment syn_segment(const Connection& c, std::uint8_t flags) const noexcept {
    Segment s = segment_for(c, c.tcb.iss, flags);
    s.mss = our_mss();
    if (c.tcb.window_scaling) s.window_shift = kOurWindowShift;
    s.sack_permitted = c.tcb.sack;
    return s;
  }
  /// Our timestamp clock (RFC 7323 §5.4): ticks of 2^kTcpTimestampShift µs, plus the connection's
  /// offset, so that its values tell nothing of our uptime (as Linux since 4.10).
  std::uint32_t timestamp_now(const Tcb& t) const noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(last_now_.time_since_epoch().count()) >>
                                      kTcpTimestampShift) +
           t.ts_offset;
  }

  /// The next segment a connection has to send, or nullopt. With `cx`, the segment is taken: the
  /// sequence numbers, the timers and the flags move on as if it were sent (if the device then
  /// fails to send it, the retransmission timer recovers it, as for a segment lost on the wire).
  std::optional<Segment> next_segment(Connection& c, Context* cx) noexcept {
    Tcb& t = c.tcb;
    const bool commit = cx != nullptr;
    const TcpState state = c.state.get();
    if (state == TcpState::Done || t.resend_at != kNever) return std::nullopt;  // Done, or held (not_sent)
    if (state == TcpState::SynSent || state == TcpState::SynReceived) {
      if (t.snd_nxt != t.iss) return ack_only(c, commit, state == TcpState::SynReceived);
      const bool ack = state == TcpState::SynReceived;
      Segment s = syn_segment(c, static_cast<std::uint8_t>(wire::tcp_flag::kSyn | (ack ? wire::tcp_flag::kAck : 0)));
      if (ack) s.acknowledgement = t.rcv_nxt;
      s.window = syn_window(c, commit && ack);
      if (commit) {
        t.snd_nxt = t.iss + 1;
        if (seq::gt(t.snd_nxt, t.snd_max)) t.snd_max = t.snd_nxt;
        acknowledged_all(t);
        if (t.timer != Timer::kRetransmit) arm(c, Timer::kRetransmit, cx->now() + t.rto);
      }
      return s;
    }
    if (state == TcpState::TimeWait) return ack_only(c, commit, true);
    if (t.resend_first) {
      // Fast retransmit: the oldest unacknowledged segment, whatever the windows say.
      // Only bytes that were sent: a byte past SND.MAX would be acknowledged above SND.MAX, an
      // ACK we would then refuse.
      const std::uint32_t from = std::min<std::uint32_t>(t.snd_una - t.tx_seq, static_cast<std::uint32_t>(c.tx.size()));
      const std::uint32_t sent_data = static_cast<std::uint32_t>(std::min<std::size_t>(
          c.tx.size() - from, t.snd_max - t.snd_una - (t.fin_queued && seq::gt(t.snd_max, fin_seq(c)) ? 1 : 0)));
      const auto length = std::min<std::uint32_t>(sent_data, data_room(t));
      const bool fin = t.fin_queued && t.snd_una + length == fin_seq(c) && seq::gt(t.snd_max, fin_seq(c));
      if (length > 0 || fin) {
        Segment s = segment_for(c, t.snd_una, static_cast<std::uint8_t>(wire::tcp_flag::kAck | (fin ? wire::tcp_flag::kFin : 0)));
        s.acknowledgement = t.rcv_nxt;
        s.window = advertise(c, commit);
        s.data_offset = from;
        s.data_length = static_cast<std::uint16_t>(length);
        if (commit) {
          t.resend_first = false;
          acknowledged_all(t);
          const std::uint32_t end = t.snd_una + length + (fin ? 1 : 0);
          if (seq::lt(t.snd_nxt, end)) t.snd_nxt = end;
          if (seq::lt(t.high_rxt, end)) t.high_rxt = end;
        }
        return s;
      }
      if (commit) t.resend_first = false;
    }
    if (t.recovering && t.sack) {
      if (std::optional<Segment> s = sack_retransmit(c, cx, /*lost_only=*/true)) return s;
    }
    // Data, and the FIN after it.
    const std::uint32_t offset = seq::gt(t.snd_nxt, t.tx_seq) ? t.snd_nxt - t.tx_seq : 0;
    const std::uint32_t unsent = offset < c.tx.size() ? static_cast<std::uint32_t>(c.tx.size()) - offset : 0;
    const std::uint32_t in_flight = t.snd_nxt - t.snd_una;
    // The peer's window limits what is outstanding; the congestion window what is in the network,
    // which during a SACK recovery is the pipe (RFC 6675 §5: NextSeg() rule 2, new data).
    const std::uint32_t in_network = t.recovering && t.sack ? sack_pipe(t) : in_flight;
    const std::uint32_t room = std::min(t.snd_wnd > in_flight ? t.snd_wnd - in_flight : 0,
                                        t.cwnd > in_network ? t.cwnd - in_network : 0);
    // Keep-alive (RFC 1122 §4.2.3.6) and zero-window probes, as Linux sends them: a bare ACK at an
    // old number, which the peer must answer with an ACK carrying its current window.
    if (t.keepalive_due) return probe_segment(c, commit, t.keepalive_due, counters_.keepalive_probes);
    if (t.probe && room == 0) return probe_segment(c, commit, t.probe, counters_.zero_window_probes);
    const std::uint32_t mss = data_room(t);
    std::uint32_t length = std::min<std::uint32_t>({unsent, room, mss});
    const bool resending = seq::lt(t.snd_nxt, t.snd_max);
    if (length > 0 && length < mss && !t.probe && !resending) {  // a probe overrides (RFC 1122 §4.2.3.4 (d))
      // Sender-side silly window avoidance with Nagle (RFC 1122 §4.2.3.4, RFC 896): a short
      // segment goes only when it is all there is and nothing is unacknowledged (or Nagle is
      // off), or when it is half the largest window the peer offered.
      const bool all = length == unsent;
      const bool may = (all && (t.nodelay || in_flight == 0 || t.fin_queued)) || length >= t.max_snd_wnd / 2;
      if (!may) length = 0;
    }
    const bool fin = t.fin_queued && offset + length == c.tx.size() && t.snd_nxt + length == fin_seq(c) &&
                     (length > 0 || unsent == 0);
    if (length == 0 && !fin) {
      if (t.recovering && t.sack) {
        if (std::optional<Segment> s = sack_retransmit(c, cx, /*lost_only=*/false)) return s;
      }
      return t.ack_due ? ack_only(c, commit, true) : std::nullopt;
    }
    std::uint8_t flags = wire::tcp_flag::kAck;
    if (length > 0 && length == unsent) flags |= wire::tcp_flag::kPsh;
    if (fin) flags |= wire::tcp_flag::kFin;
    Segment s = segment_for(c, t.snd_nxt, flags);
    s.acknowledgement = t.rcv_nxt;
    s.window = advertise(c, commit);
    s.data_offset = offset;
    s.data_length = static_cast<std::uint16_t>(length);
    if (commit) {
      const bool fresh_data = t.snd_nxt == t.snd_max;
      if (t.snd_una == t.snd_max && t.unacked_since == kNever) t.unacked_since = cx->now();
      t.snd_nxt += length + (fin ? 1 : 0);
      if (seq::gt(t.snd_nxt, t.snd_max)) {
        t.snd_max = t.snd_nxt;
        if (fresh_data && !t.timing) start_timing(c, t.snd_nxt, cx->now());
      }
      acknowledged_all(t);
      t.probe = false;
      if (t.timer != Timer::kRetransmit) arm(c, Timer::kRetransmit, cx->now() + t.rto);
    }
    return s;
  }

  /// RFC 6675 NextSeg() for a SACK recovery, when the pipe leaves the congestion window a
  /// segment's room: the first bytes past HighRxt in a hole below a SACKed range, one segment.
  /// Rule 1 (`lost_only`) takes only a hole the scoreboard shows lost, before new data; rule 3
  /// any hole, when no new data can go. nullopt: no such hole.
  std::optional<Segment> sack_retransmit(Connection& c, Context* cx, bool lost_only) noexcept {
    Tcb& t = c.tcb;
    const std::uint32_t mss = data_room(t);
    if (t.cwnd < sack_pipe(t) + mss) return std::nullopt;
    std::uint32_t at = t.snd_una;
    for (std::size_t i = 0; i < t.sacked.size(); at = t.sacked[i].right, ++i) {
      const std::uint32_t from = seq::gt(t.high_rxt, at) ? t.high_rxt : at;
      const std::uint32_t hole_end = t.sacked[i].left;
      if (!seq::lt(from, hole_end) || (lost_only && !hole_lost(t, i))) continue;
      const std::uint32_t offset = from - t.tx_seq;
      if (offset >= c.tx.size()) break;  // past the data (a FIN alone is not resent from here)
      const auto length = std::min<std::uint32_t>({hole_end - from, mss, static_cast<std::uint32_t>(c.tx.size()) - offset});
      Segment s = segment_for(c, from, wire::tcp_flag::kAck);
      s.acknowledgement = t.rcv_nxt;
      s.window = advertise(c, cx != nullptr);
      s.data_offset = offset;
      s.data_length = static_cast<std::uint16_t>(length);
      if (cx != nullptr) {
        t.high_rxt = from + length;
        ++counters_.sack_retransmits;
        acknowledged_all(t);
        if (t.timer != Timer::kRetransmit) arm(c, Timer::kRetransmit, cx->now() + t.rto);
      }
      return s;
    }
    return std::nullopt;
  }

  /// A segment with our ACK of everything received goes out: nothing is left to acknowledge.
  static void acknowledged_all(Tcb& t) noexcept {
    t.ack_due = false;
    t.unacked_bytes = 0;
    t.ack_at = kNever;
    t.last_ack_sent = t.rcv_nxt;
  }

  /// A bare ACK of everything received, numbered `sequence`, with the window to advertise.
  Segment bare_ack(Connection& c, std::uint32_t sequence, bool commit) noexcept {
    Segment s = segment_for(c, sequence, wire::tcp_flag::kAck);
    s.acknowledgement = c.tcb.rcv_nxt;
    s.window = advertise(c, commit);
    if (commit) acknowledged_all(c.tcb);
    return s;
  }

  std::optional<Segment> ack_only(Connection& c, bool commit, bool has_ack) noexcept {
    if (!c.tcb.ack_due || !has_ack) return std::nullopt;
    // At SND.MAX, the RFC's SND.NXT: after a timeout snd_nxt goes back to resend, but the peer
    // may have received past it, and would find an ACK numbered below its RCV.NXT unacceptable.
    return bare_ack(c, c.tcb.snd_max, commit);
  }

  /// A probe at SND.UNA − 1; taking it clears `due` and counts it.
  Segment probe_segment(Connection& c, bool commit, bool& due, std::uint64_t& counter) noexcept {
    if (commit) {
      due = false;
      ++counter;
    }
    return bare_ack(c, c.tcb.snd_una - 1, commit);
  }

  /// Data goes again (a timeout, a fast or SACK recovery): Karn's rule stops the timing, and only
  /// an echo of a timestamp from now on gives the next sample.
  void mark_resent(Tcb& t) const noexcept {
    t.timing = false;
    t.resent = true;
    t.resent_ts = timestamp_now(t);
  }

  void start_timing(Connection& c, std::uint32_t until, Instant now) noexcept {
    c.tcb.timing = true;
    c.tcb.rtt_seq = until;
    c.tcb.rtt_start = now;
  }

  /// A segment the layers below could not send. The usual reason is a neighbour entry that expired
  /// (a connection idle, or waiting on a long retransmission timeout, for longer than ARP keeps
  /// an entry): the send started a resolution, so the connection goes back to that segment and
  /// tries again shortly, instead of waiting a whole (backed-off) retransmission timeout for the
  /// next try, which would find the entry expired again. Its retransmission timer runs on, so a
  /// peer that is gone still times out.
  void not_sent(const Segment& s, SendError error, Instant now) noexcept {
    counters_.send_errors.count(error);
    if (s.connection == kNoConnection) return;
    Connection& c = connections_[s.connection];
    if (c.generation != s.generation || c.state.get() == TcpState::Done) return;
    Tcb& t = c.tcb;
    if (seq::lt(s.sequence, t.snd_nxt) && seq::ge(s.sequence, t.snd_una - 1)) {
      t.snd_nxt = seq::lt(s.sequence, t.snd_una) ? t.snd_una : s.sequence;
      if (t.timing && seq::gt(t.rtt_seq, s.sequence)) t.timing = false;
    }
    if ((s.flags & wire::tcp_flag::kAck) != 0) t.ack_due = true;
    if ((s.flags & wire::tcp_flag::kSyn) != 0) t.snd_nxt = t.iss;
    if (error == SendError::kNeighbourUnresolved || error == SendError::kHostUnreachable ||
        error == SendError::kNeighbourBusy || error == SendError::kNeighbourCacheFull) {
      t.resend_at = now + kTcpNeighbourRetry;  // until then it sends nothing
      note_deadline(t.resend_at);
    }
  }

  /// Writes a segment into a frame whose IP header is written, and submits it.
  void emit(Frame& frame, const Segment& s) noexcept {
    const std::size_t header_bytes = s.header_bytes();
    wire::TcpRepr h = s.repr();
    if (s.connection != kNoConnection) {
      Connection& c = connections_[s.connection];
      if (c.generation != s.generation || c.state.get() == TcpState::Done) return;  // ended meanwhile: not sent
      if (s.data_length > 0) c.tx.peek(s.data_offset, frame.payload().subspan(header_bytes, s.data_length));
      if (s.sack_blocks > 0) {
        // The held ranges, newest first. They are the ones counted when the segment was made:
        // nothing arrives meanwhile (the interface task that delivers segments is sending this).
        std::array<SeqRange, wire::kMaxSackBlocks> recent{};
        const std::size_t n = c.tcb.out_of_order.most_recent(std::span(recent).first(s.sack_blocks));
        expect(n == s.sack_blocks, "Tcp::emit: the held ranges changed under a segment being sent");
        for (std::size_t i = 0; i < n; ++i) h.options.sack[i] = {recent[i].left, recent[i].right};
        h.options.sack_blocks = s.sack_blocks;
      }
    }
    const std::size_t length = wire::emit_tcp(
        h, wire::ipv4_pseudo_header(ip_->config().address, s.to, kIpProtocol), s.data_length, frame.payload());
    if (!frame.submit(length)) {
      counters_.send_errors.count(SendError::kLinkDown);
      return;
    }
    ++counters_.segments_sent;
    if ((s.flags & wire::tcp_flag::kRst) != 0) ++counters_.resets_sent;
  }

  // ---- Timers ---------------------------------------------------------------------------------

  void arm(Connection& c, Timer timer, Instant deadline) noexcept {
    c.tcb.timer = timer;
    c.tcb.deadline = deadline;
    note_deadline(deadline);
  }
  // A deadline set outside run_timers (a segment sent, one received, an application's call) is
  // earlier than what the task last told its owner: wake the task, whose next poll reports it.
  void note_deadline(Instant deadline) noexcept {
    if (deadline < reported_deadline_) {
      reported_deadline_ = deadline;
      task_.wake();
    }
  }
  void disarm(Connection& c) noexcept {
    c.tcb.timer = Timer::kNone;
    c.tcb.deadline = kNever;
  }

  // With data waiting and nothing in flight, because the window is zero or too small for silly
  // window avoidance to use, the persist timer probes the peer (RFC 9293 §3.8.6.1, RFC 1122
  // §4.2.3.4's override timeout; Linux's probe timer), so that a lost window update cannot
  // deadlock the connection.
  void schedule_persist(Connection& c, Instant now) noexcept {
    const Tcb& t = c.tcb;
    const TcpState s = c.state.get();
    const bool sending = s == TcpState::Established || s == TcpState::CloseWait || s == TcpState::FinWait1 ||
                         s == TcpState::Closing || s == TcpState::LastAck;
    if (sending && t.snd_una == t.snd_max && !c.tx.empty() && t.timer == Timer::kNone) {
      arm(c, Timer::kPersist, now + t.rto);
    }
  }

  void timer_fires(Connection& c, Instant now) noexcept {
    Tcb& t = c.tcb;
    const Timer fired = t.timer;
    disarm(c);
    switch (fired) {
      case Timer::kNone:
        return;
      case Timer::kTimeWait:
      case Timer::kFinWait2:
        finish(c, std::nullopt);
        return;
      case Timer::kPersist:
        if (t.snd_una == t.snd_max && !c.tx.empty()) probe(c, Timer::kPersist, now);
        return;
      case Timer::kRetransmit:
        break;
    }
    const TcpState s = c.state.get();
    const bool handshake = s == TcpState::SynSent || s == TcpState::SynReceived;
    if (t.user_timeout > Duration{0} && t.unacked_since != kNever && now - t.unacked_since >= t.user_timeout) {
      ++counters_.timeouts;
      return finish(c, t.soft_error.value_or(ConnectionError::kTimedOut));
    }
    if (!handshake && t.snd_wnd == 0) {
      // The peer shrank its window to zero under data in flight: the timeouts become probes,
      // which time the connection out only if the peer stops answering (Linux's retransmit timer).
      t.snd_nxt = t.snd_una;
      mark_resent(t);
      return probe(c, Timer::kRetransmit, now);
    }
    if (++t.retries > (handshake ? kTcpSynRetries : orphan(t) ? kTcpOrphanRetries : kTcpDataRetries)) {
      ++counters_.timeouts;
      if (s == TcpState::SynReceived && t.listener != kNoListener) return finish(c, std::nullopt);
      return finish(c, t.soft_error.value_or(ConnectionError::kTimedOut));
    }
    ++counters_.retransmissions;
    // RFC 5681 §3.1: after a timeout, one segment at a time again; RFC 6298 §5.5: back off.
    t.ssthresh = congestion_event(t);
    t.cwnd = t.mss;
    t.recovering = false;
    t.recover = t.snd_max;  // duplicates of what was in flight start no fast retransmit (RFC 6582 §3.2)
    t.dupacks = 0;
    t.resend_first = false;
    t.sacked.clear();  // RFC 2018 §8: after a timeout, what the peer reported may have been reneged
    t.high_rxt = t.snd_una;
    t.snd_nxt = handshake ? t.iss : t.snd_una;
    mark_resent(t);  // Karn: no sample from a retransmitted segment
    t.rto = std::min(t.rto * 2, kTcpMaxRto);
    arm(c, Timer::kRetransmit, now + t.rto);
    wants_output(c);
  }

  /// When the next keep-alive probe is due: `idle` after the last segment heard, then every
  /// `interval`. Only on a synchronized connection with nothing unacknowledged (otherwise the
  /// retransmission timer is the one watching the peer): ESTABLISHED, CLOSE-WAIT, FIN-WAIT-2.
  Instant keepalive_deadline(const Connection& c) const noexcept {
    const Tcb& t = c.tcb;
    const TcpState s = c.state.get();
    const bool open = s == TcpState::Established || s == TcpState::CloseWait || s == TcpState::FinWait2;
    if (!t.keepalive || t.snd_una != t.snd_max || !open) {
      return kNever;
    }
    return t.last_heard + t.keepalive->idle + t.keepalive->interval * t.keepalive_sent;
  }
  void keepalive_fires(Connection& c) noexcept {
    Tcb& t = c.tcb;
    if (t.keepalive_sent >= t.keepalive->probes) {
      ++counters_.timeouts;
      return finish(c, t.soft_error.value_or(ConnectionError::kTimedOut));
    }
    ++t.keepalive_sent;
    t.keepalive_due = true;
    wants_output(c);
  }

  /// A persist probe is due. Probes back off from the RTO (their own count, not the RTO's); a
  /// peer that answers none of kTcpDataRetries (an orphan: kTcpOrphanRetries, Linux's
  /// tcp_orphan_retries) is given up, so a vanished peer cannot hold a slot forever.
  void probe(Connection& c, Timer timer, Instant now) noexcept {
    Tcb& t = c.tcb;
    if (++t.probes > (orphan(t) ? kTcpOrphanRetries : kTcpDataRetries)) {
      ++counters_.timeouts;
      return finish(c, t.soft_error.value_or(ConnectionError::kTimedOut));
    }
    t.probe = true;
    const Duration interval = std::min(t.rto * (Duration::rep{1} << std::min<std::uint8_t>(t.probes - 1, 10)), kTcpMaxRto);
    arm(c, timer, now + interval);
    wants_output(c);
  }

  Ip* ip_;
  std::array<Connection, Config::kTcpConnections> connections_{};
  std::array<Listener, Config::kTcpListeners> listeners_{};
  std::array<Segment, kResetQueue> resets_{};
  std::size_t reset_head_ = 0;
  std::size_t resets_queued_ = 0;
  std::uint32_t output_ = 0;  // bit i: connection i may have something to send
  bool ack_at_once_ = false;  // the segment on_packet is handling wants its ACK before the next frame
  std::uint32_t live_ = 0;    // bit i: connection i is not CLOSED (its timers run)
  std::size_t last_served_ = Config::kTcpConnections - 1;
  std::uint64_t accept_sequence_ = 0;
  std::uint16_t next_ephemeral_ = kEphemeralPortFirst;
  IsnGenerator isn_;
  TcpFeatures features_;
  Instant last_now_{};
  Instant challenge_window_start_{};
  std::uint32_t challenges_in_window_ = 0;
  WakerSlot task_;  // the interface task, woken when an application gives TCP something to send
  Instant reported_deadline_ = kNever;  // the earliest timer the task last reported to its owner
  TcpCounters counters_;
};

}  // namespace pollstack::net
