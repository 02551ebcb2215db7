// The boxed variant: the async_trait desugaring. Each layer sits behind a virtual interface whose
// operations return a heap-allocated, type-erased poll object, and each layer's object holds the
// box of the layer below: four allocations and four indirect calls per datagram sent.
#include <memory>
#include <optional>

#include "benchmarks/full_path/variants.h"

namespace pollstack::full_path {
namespace {

template <class T>
struct BoxedPoll {
  virtual ~BoxedPoll() = default;
  virtual Poll<T> poll(Context& cx) = 0;
};
template <class T>
using Box = std::unique_ptr<BoxedPoll<T>>;

// ---- the layer interfaces ----
struct Link {
  virtual ~Link() = default;
  virtual Box<FrameResult> send(const wire::MacAddress& to, std::uint16_t ethertype) = 0;
};
struct Resolver {
  virtual ~Resolver() = default;
  virtual Box<FrameResult> send(const wire::Ipv4Address& next_hop, std::uint16_t ethertype) = 0;
};
struct Network {
  virtual ~Network() = default;
  virtual Box<FrameResult> send(const wire::Ipv4Address& to, std::uint8_t protocol, std::size_t length) = 0;
};
struct Transport {
  virtual ~Transport() = default;
  virtual Box<std::uint32_t> send_to(const net::UdpEndpoint& to, std::span<const std::byte> payload) = 0;
};

// ---- the implementations, over the same building blocks ----
struct EthernetBoxed final : Link {
  UdpWorld* w;
  explicit EthernetBoxed(UdpWorld& world) : w(&world) {}
  struct Op final : BoxedPoll<FrameResult> {
    UdpWorld* w;
    driver_channel::StackChannel::TxReservation reservation;
    wire::MacAddress to;
    std::uint16_t ethertype;
    Op(UdpWorld* world, const wire::MacAddress& mac, std::uint16_t type)
        : w(world), reservation(world->channel().reserve_tx()), to(mac), ethertype(type) {}
    Poll<FrameResult> poll(Context& cx) override {
      Poll<ChannelResult<TxBuffer>> got = reservation.poll(cx);
      if (got.is_pending()) return pending;
      if (!got.value().ok()) return FrameResult(net::SendError::kLinkDown);
      return FrameResult(w->stack().ethernet().frame(std::move(got.value().value()), to, ethertype));
    }
  };
  Box<FrameResult> send(const wire::MacAddress& to, std::uint16_t ethertype) override {
    return std::make_unique<Op>(w, to, ethertype);
  }
};

struct ArpBoxed final : Resolver {
  UdpWorld* w;
  Link* link;
  ArpBoxed(UdpWorld& world, Link& l) : w(&world), link(&l) {}
  struct Op final : BoxedPoll<FrameResult> {
    ArpBoxed* arp;
    wire::Ipv4Address next_hop;
    std::uint16_t ethertype;
    Box<FrameResult> lower;
    Waiter waiter;  // as the state machine's ARP send holds one
    Op(ArpBoxed* a, const wire::Ipv4Address& hop, std::uint16_t type) : arp(a), next_hop(hop), ethertype(type) {}
    Poll<FrameResult> poll(Context& cx) override {
      if (!lower) {
        Poll<Result<wire::MacAddress, net::SendError>> mac =
            arp->w->stack().arp().neighbours().poll_resolve(next_hop, waiter, cx);
        if (mac.is_pending()) return pending;
        if (!mac.value().ok()) return FrameResult(mac.value().error());
        lower = arp->link->send(mac.value().value(), ethertype);
      }
      return lower->poll(cx);
    }
  };
  Box<FrameResult> send(const wire::Ipv4Address& next_hop, std::uint16_t ethertype) override {
    return std::make_unique<Op>(this, next_hop, ethertype);
  }
};

struct Ipv4Boxed final : Network {
  UdpWorld* w;
  Resolver* resolver;
  Ipv4Boxed(UdpWorld& world, Resolver& r) : w(&world), resolver(&r) {}
  struct Op final : BoxedPoll<FrameResult> {
    Ipv4Boxed* ip;
    wire::Ipv4Address to;
    std::uint8_t protocol;
    std::size_t length;
    Box<FrameResult> lower;
    Op(Ipv4Boxed* i, const wire::Ipv4Address& dst, std::uint8_t p, std::size_t n)
        : ip(i), to(dst), protocol(p), length(n) {}
    Poll<FrameResult> poll(Context& cx) override {
      if (!lower) {
        const Result<net::Stack::Ipv4Layer::Route, net::SendError> route = ip->w->stack().ipv4().route(to);
        if (!route.ok()) return FrameResult(route.error());
        lower = ip->resolver->send(route.value().next_hop, wire::ethertype::kIpv4);
      }
      Poll<FrameResult> frame = lower->poll(cx);
      if (frame.is_ready() && frame.value().ok()) ip->w->stack().ipv4().write_header(frame.value().value(), to, protocol, length);
      return frame;
    }
  };
  Box<FrameResult> send(const wire::Ipv4Address& to, std::uint8_t protocol, std::size_t length) override {
    return std::make_unique<Op>(this, to, protocol, length);
  }
};

struct UdpBoxed final : Transport {
  UdpWorld* w;
  Network* network;
  UdpBoxed(UdpWorld& world, Network& n) : w(&world), network(&n) {}
  struct Op final : BoxedPoll<std::uint32_t> {
    UdpBoxed* udp;
    net::UdpEndpoint to;
    std::span<const std::byte> payload;
    Box<FrameResult> lower;
    Op(UdpBoxed* u, const net::UdpEndpoint& dst, std::span<const std::byte> p)
        : udp(u), to(dst), payload(p), lower(u->network->send(dst.address.v4(), wire::ip_protocol::kUdp, wire::kUdpHeaderBytes + p.size())) {}
    Poll<std::uint32_t> poll(Context& cx) override {
      Poll<FrameResult> frame = lower->poll(cx);
      if (frame.is_pending()) return pending;
      if (!frame.value().ok()) return 0u;
      return udp->w->stack().udp().transmit(frame.value().value(), bench::kOurPort, to.address.v4(), to.port, payload) ? 1u : 0u;
    }
  };
  Box<std::uint32_t> send_to(const net::UdpEndpoint& to, std::span<const std::byte> payload) override {
    return std::make_unique<Op>(this, to, payload);
  }
};

// The receive path, boxed the same way: each layer's input returns a boxed poll object.
struct Input {
  virtual ~Input() = default;
  virtual Box<bool> input(std::span<const std::byte> bytes, std::optional<driver_channel::RxBuffer>& frame) = 0;
};

struct UdpInput final : Input {
  UdpWorld* w;
  const net::Stack::Ipv4Layer::Received* packet = nullptr;  // set by the IPv4 input before the call
  explicit UdpInput(UdpWorld& world) : w(&world) {}
  struct Op final : BoxedPoll<bool> {
    UdpInput* in;
    std::optional<driver_channel::RxBuffer>* frame;
    Op(UdpInput* i, std::optional<driver_channel::RxBuffer>* f) : in(i), frame(f) {}
    Poll<bool> poll(Context&) override {
      const net::UdpDelivery d = in->w->stack().udp().deliver(*in->packet, *frame);
      return d == net::UdpDelivery::kQueued || d == net::UdpDelivery::kQueuedNowFull;
    }
  };
  Box<bool> input(std::span<const std::byte>, std::optional<driver_channel::RxBuffer>& frame) override {
    return std::make_unique<Op>(this, &frame);
  }
};

struct Ipv4Input final : Input {
  UdpWorld* w;
  UdpInput* udp;
  Ipv4Input(UdpWorld& world, UdpInput& u) : w(&world), udp(&u) {}
  struct Op final : BoxedPoll<bool> {
    Ipv4Input* in;
    std::span<const std::byte> bytes;
    std::optional<driver_channel::RxBuffer>* frame;
    std::optional<net::Stack::Ipv4Layer::Received> packet;
    Box<bool> upper;
    Op(Ipv4Input* i, std::span<const std::byte> b, std::optional<driver_channel::RxBuffer>* f) : in(i), bytes(b), frame(f) {}
    Poll<bool> poll(Context& cx) override {
      if (!upper) {
        packet = in->w->stack().ipv4().accept(bytes);
        if (!packet || packet->header.protocol != wire::ip_protocol::kUdp) return false;
        in->udp->packet = &*packet;
        upper = in->udp->input(packet->payload, *frame);
      }
      return upper->poll(cx);
    }
  };
  Box<bool> input(std::span<const std::byte> bytes, std::optional<driver_channel::RxBuffer>& frame) override {
    return std::make_unique<Op>(this, bytes, &frame);
  }
};

struct EthernetInput final : Input {
  UdpWorld* w;
  Input* ipv4;
  EthernetInput(UdpWorld& world, Input& ip) : w(&world), ipv4(&ip) {}
  struct Op final : BoxedPoll<bool> {
    EthernetInput* in;
    std::optional<driver_channel::RxBuffer>* frame;
    Box<bool> upper;
    Op(EthernetInput* i, std::optional<driver_channel::RxBuffer>* f) : in(i), frame(f) {}
    Poll<bool> poll(Context& cx) override {
      if (!upper) {
        const std::optional<net::Stack::EthernetLayer::Received> link = in->w->stack().ethernet().accept((*frame)->bytes());
        if (!link || link->ethertype != wire::ethertype::kIpv4) return false;
        upper = in->ipv4->input(link->payload, *frame);
      }
      return upper->poll(cx);
    }
  };
  Box<bool> input(std::span<const std::byte>, std::optional<driver_channel::RxBuffer>& frame) override {
    return std::make_unique<Op>(this, &frame);
  }
};

// The application's read, boxed too: the socket's receive operation behind the poll interface.
struct ReadOp final : BoxedPoll<bool> {
  net::UdpReceive receive;
  explicit ReadOp(UdpWorld* w) : receive(w->stack().udp().recv_from(w->socket(), w->receive_buffer())) {}
  Poll<bool> poll(Context& cx) override {
    Poll<net::Stack::UdpLayer::RecvOutput> got = receive.poll(cx);
    if (got.is_pending()) return pending;
    return got.value().ok();
  }
};

template <class T>
T run(BoxedPoll<T>& op, UdpWorld& w) {
  bool woken = false;
  const Waker waker(+[](void* p) noexcept { *static_cast<bool*>(p) = true; }, &woken);
  for (;;) {
    Context cx(waker, w.now(), w.deadline());
    Poll<T> p = op.poll(cx);
    if (p.is_ready()) return std::move(p).value();
    while (!woken) w.wait_for_driver();  // the driver frees room; the channel's waker fires
    woken = false;
  }
}

}  // namespace

[[gnu::noinline]] std::uint32_t boxed_send(UdpWorld& w) {
  EthernetBoxed ethernet(w);
  ArpBoxed arp(w, ethernet);
  Ipv4Boxed ipv4(w, arp);
  UdpBoxed udp(w, ipv4);
  Transport& transport = udp;
  Box<std::uint32_t> op = transport.send_to({bench::kPeerIp, bench::kPeerPort}, w.payload());
  return run(*op, w);
}

[[gnu::noinline]] std::uint32_t boxed_receive(UdpWorld& w) {
  // The application's first read waits on the empty socket, registered with the world's read waker.
  Box<bool> first = std::make_unique<ReadOp>(&w);
  Context reader(w.read_waker(), w.now(), w.deadline());
  Poll<bool> got = first->poll(reader);
  if (got.is_pending()) {
    // The stack's receive path over every delivered frame; the first delivery wakes the read.
    (void)w.stack().arp().neighbours().run_timers(w.now());  // as the state machine's task does
    UdpInput udp(w);
    Ipv4Input ipv4(w, udp);
    EthernetInput ethernet(w, ipv4);
    Input& link = ethernet;
    for (;;) {
      std::optional<ChannelResult<driver_channel::RxBuffer>> frame_got = w.channel().try_receive();
      if (!frame_got || !frame_got->ok()) break;
      std::optional<driver_channel::RxBuffer> frame(std::move(frame_got->value()));
      Box<bool> op = link.input({}, frame);
      (void)run(*op, w);
    }
    if (!w.take_read_wake()) return 0;  // nothing arrived
    got = first->poll(reader);
    if (got.is_pending()) return 0;
  }
  if (!got.value()) return 0;
  // Then what else is queued, without waiting.
  std::uint32_t read = 1;
  Context no_wait(Waker(), w.now(), w.deadline());
  for (;;) {
    Box<bool> op = std::make_unique<ReadOp>(&w);
    Poll<bool> more = op->poll(no_wait);
    if (more.is_pending() || !more.value()) return read;
    ++read;
  }
}

// One send holds all four boxes at once (each holds the one below).
std::size_t boxed_send_state_bytes() {
  return sizeof(UdpBoxed::Op) + sizeof(Ipv4Boxed::Op) + sizeof(ArpBoxed::Op) + sizeof(EthernetBoxed::Op);
}

}  // namespace pollstack::full_path
