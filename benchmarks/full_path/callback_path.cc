// The callback variant: the usual C++ answer to asynchronous layers. Each layer's send takes a
// completion callback (a function pointer and a context: no heap) and calls it, inline when it
// can, later when it cannot (a TX buffer frees up: the channel's waker re-runs the parked send).
// Each layer passes down its own callback, whose context is a small struct the caller keeps alive
// until completion: the continuation state the coroutine keeps in frames and the state machine in
// its operation, held here in hand-written contexts.
#include <optional>

#include "benchmarks/full_path/variants.h"

namespace pollstack::full_path {
namespace {

template <class T>
struct Callback {
  void* context;
  void (*fn)(void* context, T&& value);
  void operator()(T&& value) const { fn(context, std::move(value)); }
};

// ---- transmit ----
// The Ethernet layer: reserve a buffer now, or park the request until the channel's waker fires.
struct EthernetSend {
  UdpWorld* w = nullptr;
  wire::MacAddress to;
  std::uint16_t ethertype = 0;
  Callback<FrameResult> done{};
  std::optional<driver_channel::StackChannel::TxReservation> parked;

  void start() {
    if (std::optional<ChannelResult<TxBuffer>> got = w->channel().try_reserve_tx()) return finish(std::move(*got));
    parked.emplace(w->channel().reserve_tx());
    retry();
  }
  void retry() {  // also the waker's target
    Context cx(Waker(+[](void* self) noexcept { static_cast<EthernetSend*>(self)->woken = true; }, this), w->now(), w->deadline());
    Poll<ChannelResult<TxBuffer>> got = parked->poll(cx);
    if (got.is_ready()) finish(std::move(got).value());
  }
  void finish(ChannelResult<TxBuffer>&& got) {
    if (!got.ok()) return done(FrameResult(net::SendError::kLinkDown));
    done(FrameResult(w->stack().ethernet().frame(std::move(got.value()), to, ethertype)));
  }
  bool woken = false;
};

// Each layer's context holds the next one down by value (as the state machines do), so one send
// is one object on the caller's frame.
struct ArpSend {
  UdpWorld* w = nullptr;
  Callback<FrameResult> done{};
  EthernetSend link;
  void start(const wire::Ipv4Address& next_hop, std::uint16_t ethertype) {
    const Result<wire::MacAddress, net::SendError> mac = w->stack().arp().neighbours().resolve_now(next_hop, w->now());
    if (!mac.ok()) return done(FrameResult(mac.error()));
    link.w = w;
    link.to = mac.value();
    link.ethertype = ethertype;
    link.done = done;  // the frame goes straight up
    link.start();
  }
};

struct Ipv4Send {
  UdpWorld* w = nullptr;
  wire::Ipv4Address to;
  std::uint8_t protocol = 0;
  std::size_t length = 0;
  Callback<FrameResult> done{};
  ArpSend arp;
  void start() {
    const Result<net::Stack::Ipv4Layer::Route, net::SendError> route = w->stack().ipv4().route(to);
    if (!route.ok()) return done(FrameResult(route.error()));
    arp.w = w;
    arp.done = {this, &Ipv4Send::on_frame};
    arp.start(route.value().next_hop, wire::ethertype::kIpv4);
  }
  static void on_frame(void* self, FrameResult&& frame) {
    auto* s = static_cast<Ipv4Send*>(self);
    if (frame.ok()) s->w->stack().ipv4().write_header(frame.value(), s->to, s->protocol, s->length);
    s->done(std::move(frame));
  }
};

struct UdpSend {
  UdpWorld* w;
  std::span<const std::byte> payload;
  Callback<std::uint32_t> done;
  Ipv4Send ip;
  void start() {
    ip.w = w;
    ip.to = bench::kPeerIp;
    ip.protocol = wire::ip_protocol::kUdp;
    ip.length = wire::kUdpHeaderBytes + payload.size();
    ip.done = {this, &UdpSend::on_frame};
    ip.start();
  }
  static void on_frame(void* self, FrameResult&& frame) {
    auto* s = static_cast<UdpSend*>(self);
    if (!frame.ok()) return s->done(0u);
    s->done(s->w->stack().udp().transmit(frame.value(), bench::kOurPort, bench::kPeerIp, bench::kPeerPort, s->payload)
                ? 1u
                : 0u);
  }
};

// ---- receive: each layer's input hands the packet up through a callback ----
struct UdpInput {
  UdpWorld* w;
  Callback<bool> done;
  void input(const net::Stack::Ipv4Layer::Received& packet, std::optional<driver_channel::RxBuffer>& frame) {
    const net::UdpDelivery d = w->stack().udp().deliver(packet, frame);
    done(d == net::UdpDelivery::kQueued || d == net::UdpDelivery::kQueuedNowFull);
  }
};

struct Ipv4Input {
  UdpWorld* w;
  UdpInput* udp;
  Callback<bool> done;
  void input(std::span<const std::byte> bytes, std::optional<driver_channel::RxBuffer>& frame) {
    const std::optional<net::Stack::Ipv4Layer::Received> packet = w->stack().ipv4().accept(bytes);
    if (!packet || packet->header.protocol != wire::ip_protocol::kUdp) return done(false);
    udp->input(*packet, frame);
  }
};

struct EthernetInput {
  UdpWorld* w;
  Ipv4Input* ipv4;
  Callback<bool> done;
  void input(std::optional<driver_channel::RxBuffer>& frame) {
    const std::optional<net::Stack::EthernetLayer::Received> link = w->stack().ethernet().accept(frame->bytes());
    if (!link || link->ethertype != wire::ethertype::kIpv4) return done(false);
    ipv4->input(link->payload, frame);
  }
};

// Each input reports whether its frame reached the socket; the application learns of deliveries
// through the socket's waker instead, so the report goes nowhere.
void delivery_reported(void*, bool&&) {}

// The application's read: calls back with the datagram when one is queued; when the socket is
// empty it parks its receive operation (registered with the socket, with the waker it is given)
// and returns false, until the caller sees the waker fire and reads again.
struct SocketRead {
  UdpWorld* w;
  Callback<bool> done;
  std::optional<net::UdpReceive> parked;  // kept while waiting: the socket queues its Waiter
  bool read(const Waker& waker) {
    if (!parked) parked.emplace(w->stack().udp().recv_from(w->socket(), w->receive_buffer()));
    Context cx(waker, w->now(), w->deadline());
    Poll<net::Stack::UdpLayer::RecvOutput> got = parked->poll(cx);
    if (got.is_pending()) return false;
    parked.reset();
    done(got.value().ok());
    return true;
  }
};

struct Reader {  // what the application read
  std::uint32_t read = 0;
  bool failed = false;
};
void count_read(void* reader, bool&& ok) {
  auto* r = static_cast<Reader*>(reader);
  r->read += ok;
  r->failed |= !ok;
}

}  // namespace

[[gnu::noinline]] std::uint32_t callback_send(UdpWorld& w) {
  std::optional<std::uint32_t> result;
  UdpSend send{&w, w.payload(), {&result, +[](void* r, std::uint32_t&& n) { static_cast<std::optional<std::uint32_t>*>(r)->emplace(n); }},
               {}};
  send.start();
  while (!result) {  // parked: the driver frees room, the channel's waker marks it, we retry
    EthernetSend& link = send.ip.arp.link;
    if (!link.woken) {
      w.wait_for_driver();
      continue;
    }
    link.woken = false;
    link.retry();
  }
  return *result;
}

[[gnu::noinline]] std::uint32_t callback_receive(UdpWorld& w) {
  Reader app;
  SocketRead socket{&w, {&app, &count_read}, std::nullopt};
  if (!socket.read(w.read_waker())) {  // the socket is empty: the read parks
    // The stack's receive path over every delivered frame; the first delivery wakes the read.
    (void)w.stack().arp().neighbours().run_timers(w.now());  // as the state machine's task does
    const Callback<bool> reported{nullptr, &delivery_reported};
    UdpInput udp{&w, reported};
    Ipv4Input ipv4{&w, &udp, reported};
    EthernetInput ethernet{&w, &ipv4, reported};
    for (;;) {
      std::optional<ChannelResult<driver_channel::RxBuffer>> got = w.channel().try_receive();
      if (!got || !got->ok()) break;
      std::optional<driver_channel::RxBuffer> frame(std::move(got->value()));
      ethernet.input(frame);
    }
    if (!w.take_read_wake() || !socket.read(w.read_waker())) return 0;  // nothing arrived
  }
  // Then what else is queued, without waiting.
  const Waker no_wait;
  while (!app.failed && socket.read(no_wait)) {
  }
  return app.read;
}

// The callback contexts one send keeps alive until it completes.
std::size_t callback_send_state_bytes() { return sizeof(UdpSend); }

}  // namespace pollstack::full_path
