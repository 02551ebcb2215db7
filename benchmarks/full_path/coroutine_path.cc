// The coroutine variant: each layer a coroutine that co_awaits the layer below. The leaf waits on
// the channel: when no TX buffer is free it suspends, and the channel's waker (the same WakerSlot
// the state machines use) marks it ready for its runner to resume.
#include <array>
#include <coroutine>
#include <cstring>
#include <optional>

#include "benchmarks/full_path/co_task.h"
#include "benchmarks/full_path/variants.h"

namespace pollstack::full_path {
namespace {

// Where a suspended chain waits to be resumed: the channel's waker sets `woken`, the runner resumes.
struct Resumer {
  std::coroutine_handle<> handle;
  bool woken = false;
  Waker waker() { return Waker(+[](void* r) noexcept { static_cast<Resumer*>(r)->woken = true; }, this); }
};

// The leaf: a TX buffer, or (after a wake-up) nothing yet, and the caller asks again.
struct ChannelReserve {
  UdpWorld* world;
  Resumer* resumer;
  std::optional<ChannelResult<TxBuffer>> got;
  std::optional<driver_channel::StackChannel::TxReservation> waiting;

  bool await_ready() {
    if (std::optional<ChannelResult<TxBuffer>> r = world->channel().try_reserve_tx()) got.emplace(std::move(*r));
    return got.has_value();
  }
  bool await_suspend(std::coroutine_handle<> h) {
    // Register with the channel exactly as a state machine would: poll its operation with our waker.
    waiting.emplace(world->channel().reserve_tx());
    Context cx(resumer->waker(), world->now(), world->deadline());
    Poll<ChannelResult<TxBuffer>> p = waiting->poll(cx);
    if (p.is_ready()) {
      got.emplace(std::move(p).value());
      return false;  // it freed up meanwhile: do not suspend
    }
    resumer->handle = h;
    return true;
  }
  std::optional<ChannelResult<TxBuffer>> await_resume() { return std::move(got); }
};

// The application's read: a datagram from the socket, or (when it is empty and the read may wait)
// a suspension registered with the socket through its own receive operation, with the world's read
// waker: the delivery that fills the socket wakes it, and the caller asks again.
struct SocketRead {
  UdpWorld* world;
  Resumer* resumer;
  bool may_wait;
  std::optional<net::Stack::UdpLayer::RecvOutput> got;
  std::optional<net::UdpReceive> read;  // kept while suspended: the socket queues its Waiter

  bool await_ready() {
    got = world->stack().udp().try_receive(world->socket(), world->receive_buffer());
    return got.has_value() || !may_wait;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    read.emplace(world->stack().udp().recv_from(world->socket(), world->receive_buffer()));
    Context cx(world->read_waker(), world->now(), world->deadline());
    Poll<net::Stack::UdpLayer::RecvOutput> p = read->poll(cx);
    if (p.is_ready()) {
      got.emplace(std::move(p).value());
      return false;  // it arrived meanwhile: do not suspend
    }
    resumer->handle = h;
    return true;
  }
  std::optional<net::Stack::UdpLayer::RecvOutput> await_resume() { return std::move(got); }
};

template <class Frames>
struct Coroutines {
  template <class T>
  using Task = CoTask<T, Frames>;

  static Task<FrameResult> ethernet_send(UdpWorld& w, Resumer& r, wire::MacAddress mac, std::uint16_t type) {
    for (;;) {
      std::optional<ChannelResult<TxBuffer>> got = co_await ChannelReserve{&w, &r, std::nullopt, std::nullopt};
      if (!got) continue;  // woken: ask again
      if (!got->ok()) co_return FrameResult(net::SendError::kLinkDown);
      co_return FrameResult(w.stack().ethernet().frame(std::move(got->value()), mac, type));
    }
  }

  static Task<FrameResult> arp_send(UdpWorld& w, Resumer& r, wire::Ipv4Address next_hop, std::uint16_t type) {
    const Result<wire::MacAddress, net::SendError> mac = w.stack().arp().neighbours().resolve_now(next_hop, w.now());
    if (!mac.ok()) co_return FrameResult(mac.error());
    std::optional<FrameResult> frame = co_await ethernet_send(w, r, mac.value(), type);
    if (!frame) co_return FrameResult(net::SendError::kLinkDown);  // no frame memory (arena full)
    co_return std::move(*frame);
  }

  static Task<FrameResult> ipv4_send(UdpWorld& w, Resumer& r, wire::Ipv4Address to, std::uint8_t protocol,
                                     std::size_t length) {
    const Result<net::Stack::Ipv4Layer::Route, net::SendError> route = w.stack().ipv4().route(to);
    if (!route.ok()) co_return FrameResult(route.error());
    std::optional<FrameResult> frame = co_await arp_send(w, r, route.value().next_hop, wire::ethertype::kIpv4);
    if (!frame) co_return FrameResult(net::SendError::kLinkDown);
    if (frame->ok()) w.stack().ipv4().write_header(frame->value(), to, protocol, length);
    co_return std::move(*frame);
  }

  static Task<std::uint32_t> udp_send(UdpWorld& w, Resumer& r, std::span<const std::byte> payload) {
    std::optional<FrameResult> frame =
        co_await ipv4_send(w, r, bench::kPeerIp, wire::ip_protocol::kUdp, wire::kUdpHeaderBytes + payload.size());
    if (!frame || !frame->ok()) co_return 0u;
    co_return w.stack().udp().transmit(frame->value(), bench::kOurPort, bench::kPeerIp, bench::kPeerPort, payload)
        ? 1u
        : 0u;
  }

  // Receive: each layer's input a coroutine calling the next one up.
  static Task<bool> udp_input(UdpWorld& w, const net::Stack::Ipv4Layer::Received& packet,
                              std::optional<driver_channel::RxBuffer>& frame) {
    const net::UdpDelivery d = w.stack().udp().deliver(packet, frame);
    co_return d == net::UdpDelivery::kQueued || d == net::UdpDelivery::kQueuedNowFull;
  }
  static Task<bool> ipv4_input(UdpWorld& w, std::span<const std::byte> payload,
                               std::optional<driver_channel::RxBuffer>& frame) {
    const std::optional<net::Stack::Ipv4Layer::Received> packet = w.stack().ipv4().accept(payload);
    if (!packet || packet->header.protocol != wire::ip_protocol::kUdp) co_return false;
    const std::optional<bool> queued = co_await udp_input(w, *packet, frame);
    co_return queued.value_or(false);
  }
  static Task<bool> ethernet_input(UdpWorld& w, std::optional<driver_channel::RxBuffer>& frame) {
    const std::optional<net::Stack::EthernetLayer::Received> link = w.stack().ethernet().accept(frame->bytes());
    if (!link || link->ethertype != wire::ethertype::kIpv4) co_return false;
    const std::optional<bool> queued = co_await ipv4_input(w, link->payload, frame);
    co_return queued.value_or(false);
  }
  // The application: reads one datagram, waiting for it if `may_wait`; false when none came.
  static Task<bool> udp_read(UdpWorld& w, Resumer& r, bool may_wait) {
    for (;;) {
      std::optional<net::Stack::UdpLayer::RecvOutput> got = co_await SocketRead{&w, &r, may_wait, std::nullopt, std::nullopt};
      if (got) co_return got->ok();
      if (!may_wait) co_return false;
      // woken: ask again
    }
  }
  // Waits for the first datagram, then reads what else is queued without waiting.
  static Task<std::uint32_t> read_batch(UdpWorld& w, Resumer& r) {
    const std::optional<bool> first = co_await udp_read(w, r, /*may_wait=*/true);
    if (!first.value_or(false)) co_return 0u;
    std::uint32_t read = 1;
    for (;;) {
      const std::optional<bool> ok = co_await udp_read(w, r, /*may_wait=*/false);
      if (!ok.value_or(false)) co_return read;
      ++read;
    }
  }
  // The stack's receive path over every frame the driver delivered.
  static Task<std::uint32_t> input_batch(UdpWorld& w) {
    (void)w.stack().arp().neighbours().run_timers(w.now());  // as the state machine's task does
    std::uint32_t delivered = 0;
    for (;;) {
      std::optional<ChannelResult<driver_channel::RxBuffer>> got = w.channel().try_receive();
      if (!got || !got->ok()) break;
      std::optional<driver_channel::RxBuffer> frame(std::move(got->value()));
      const std::optional<bool> queued = co_await ethernet_input(w, frame);
      delivered += queued.value_or(false);
    }
    co_return delivered;
  }

  // Entry points: run a chain, resuming it whenever the channel's waker fired.
  static std::uint32_t run(Task<std::uint32_t> task, UdpWorld& w, Resumer& r) {
    task.start();
    while (!task.done()) {
      if (!r.woken) {
        w.wait_for_driver();  // suspended on the channel: let the driver free room
        continue;
      }
      r.woken = false;
      r.handle.resume();
    }
    return task.result().value_or(0);
  }
  static std::uint32_t send(UdpWorld& w) {
    Resumer r;
    return run(udp_send(w, r, w.payload()), w, r);
  }
  static std::uint32_t receive(UdpWorld& w) {
    Resumer r;
    Task<std::uint32_t> reader = read_batch(w, r);
    reader.start();  // the socket is empty: the first read suspends
    if (!reader.done()) {
      Task<std::uint32_t> input = input_batch(w);
      input.start();  // runs to the end: the input path never waits
      if (!w.take_read_wake()) return 0;  // nothing arrived
      r.handle.resume();
      if (!reader.done()) return 0;
    }
    return reader.result().value_or(0);
  }
};

// The arena the arena variant's frames come from (one thread: the benchmark's).
std::array<std::byte, 16 * 1024> g_arena_storage;
FrameArena g_arena{g_arena_storage};

}  // namespace

[[gnu::noinline]] std::uint32_t coroutine_send(UdpWorld& w) { return Coroutines<HeapFrames>::send(w); }
[[gnu::noinline]] std::uint32_t coroutine_receive(UdpWorld& w) { return Coroutines<HeapFrames>::receive(w); }

[[gnu::noinline]] std::uint32_t arena_coroutine_send(UdpWorld& w) {
  FrameArena::Use use(g_arena);
  return Coroutines<ArenaFrames>::send(w);
}
[[gnu::noinline]] std::uint32_t arena_coroutine_receive(UdpWorld& w) {
  FrameArena::Use use(g_arena);
  return Coroutines<ArenaFrames>::receive(w);
}

// The frames of one send, measured in the arena (the heap variant's frames are the same sizes).
std::size_t arena_coroutine_send_state_bytes() {
  UdpWorld w(64);
  g_arena.reset_statistics();
  arena_coroutine_send(w);
  return g_arena.high_water_bytes();
}
std::size_t coroutine_send_state_bytes() { return arena_coroutine_send_state_bytes(); }

}  // namespace pollstack::full_path
