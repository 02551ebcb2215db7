#include "benchmarks/udp_path/udp_paths.h"

#include <cstring>
#include <utility>

#include "benchmarks/udp_path/lwip_path.h"
#include "driver_channel/attach.h"
#include "statemachines/contract.h"

namespace pollstack::bench {
namespace {

driver_channel::SharedRegion make_region() {
  int error = 0;
  std::optional<driver_channel::SharedRegion> region = driver_channel::SharedRegion::create(&error);
  expect(region.has_value(), "UdpWorld: cannot create the shared region");
  return std::move(*region);
}

// A task that never sleeps: the benchmark polls in a loop and never waits.
Context poll_context(UdpWorld& world) {
  static const Waker noop;
  return Context(noop, world.now(), world.deadline());
}

}  // namespace

UdpWorld::UdpWorld(std::size_t payload_bytes) : UdpWorld(payload_bytes, make_region(), nullptr, nullptr, -1) {
  port_.emplace(region_, nullptr);
}

UdpWorld::UdpWorld(std::size_t payload_bytes, ExternalDriver driver)
    : UdpWorld(payload_bytes, std::move(driver.region), driver.driver_bell, driver.stack_bell, driver.lifeline_fd) {}

UdpWorld::UdpWorld(std::size_t payload_bytes, driver_channel::SharedRegion region,
                   driver_channel::Doorbell* driver_bell, driver_channel::Doorbell* stack_bell, int lifeline_fd)
    : region_(std::move(region)),
      channel_(region_, driver_bell),
      stack_bell_(stack_bell),
      lifeline_fd_(lifeline_fd),
      stack_(channel_, {kOurMac, {kOurIp, 24, {}, net::kDefaultTtl}}),
      task_(stack_.task()),
      socket_(stack_.udp().bind(kOurPort).value()),
      payload_(payload_bytes),
      receive_buffer_(net::kUdpMaxPayload) {
  for (std::size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<std::byte>(i * 13 + 1);
  stack_.arp().neighbours().learn(kPeerIp, kPeerMac, /*create=*/true, now());

  // The peer's datagram to us, built with the codecs alone.
  const std::size_t udp_bytes = wire::kUdpHeaderBytes + payload_bytes;
  peer_frame_.resize(wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes + udp_bytes);
  std::span<std::byte> frame(peer_frame_);
  wire::emit_ethernet({kOurMac, kPeerMac, wire::ethertype::kIpv4}, frame);
  wire::Ipv4Repr ip;
  ip.source = kPeerIp;
  ip.destination = kOurIp;
  ip.protocol = wire::ip_protocol::kUdp;
  ip.payload_length = static_cast<std::uint16_t>(udp_bytes);
  wire::emit_ipv4(ip, frame.subspan(wire::kEthernetHeaderBytes));
  std::span<std::byte> datagram = frame.subspan(wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes);
  std::memcpy(datagram.data() + wire::kUdpHeaderBytes, payload_.data(), payload_bytes);
  wire::emit_udp({kPeerPort, kOurPort}, wire::ipv4_pseudo_header(kPeerIp, kOurIp, wire::ip_protocol::kUdp), payload_bytes,
                 datagram);
}

std::size_t UdpWorld::fill_tx() {
  for (;;) {
    std::optional<driver_channel::ChannelResult<driver_channel::TxBuffer>> got = channel_.try_reserve_tx();
    if (!got || !got->ok()) break;
    held_.push_back(std::move(got->value()));
  }
  return held_.size();
}

void UdpWorld::wait_for_driver() {
  if (port_) {
    drain_tx();
    return;
  }
  if (channel_.service()) return;  // it woke someone: let them run
  if (channel_.is_link_up() && lifeline_fd_ >= 0 && driver_channel::driver_gone(lifeline_fd_)) {
    channel_.link_down();  // waiters complete with kLinkDown instead of waiting forever
    return;
  }
  if (channel_.prepare_to_sleep()) stack_bell_->wait(100);
}

std::uint32_t UdpWorld::drain_tx(std::vector<std::byte>* keep_last) {
  held_.clear();  // fill_tx()'s buffers go back to the pool: the channel wakes whoever waits
  if (!port_) return 0;
  std::uint32_t total = 0;
  driver_channel::Descriptor sent[driver_channel::kMaxBatch];
  for (;;) {
    const std::uint32_t n = port_->take_tx(sent);
    if (n == 0) break;
    if (keep_last != nullptr) {
      const std::span<std::byte> last = port_->frame(sent[n - 1]);
      keep_last->assign(last.begin(), last.end());
    }
    port_->complete_tx(std::span(sent).first(n));
    total += n;
  }
  channel_.service();
  return total;
}

void UdpWorld::inject_rx(std::uint32_t count) {
  expect(port_.has_value(), "UdpWorld::inject_rx: only with the in-thread driver");
  driver_channel::Descriptor fill[kBatch];
  const std::uint32_t n = port_->take_rx_fill(std::span(fill).first(count));
  for (std::uint32_t i = 0; i < n; ++i) {
    std::memcpy(port_->frame(fill[i]).data(), peer_frame_.data(), peer_frame_.size());
    fill[i].length = static_cast<std::uint32_t>(peer_frame_.size());
    fill[i].offset = 0;
  }
  port_->deliver_rx(std::span(fill).first(n));
  channel_.service();
}

void UdpWorld::inject_frame(std::span<const std::byte> frame) {
  expect(port_.has_value() && frame.size() <= driver_channel::kBufferBytes, "UdpWorld::inject_frame");
  driver_channel::Descriptor fill[1];
  const std::uint32_t taken = port_->take_rx_fill(fill);
  expect(taken == 1, "UdpWorld::inject_frame: no receive buffer");
  std::memcpy(port_->frame(fill[0]).data(), frame.data(), frame.size());
  fill[0].length = static_cast<std::uint32_t>(frame.size());
  fill[0].offset = 0;
  port_->deliver_rx(fill);
}

[[gnu::flatten]] std::uint32_t state_machine_send(UdpWorld& world) {
  net::UdpSend send = world.stack().udp().send_to(world.socket(), {kPeerIp, kPeerPort}, world.payload());
  bool woken = false;
  const Waker waker(+[](void* w) noexcept { *static_cast<bool*>(w) = true; }, &woken);
  for (;;) {
    Context cx(waker, world.now(), world.deadline());
    Poll<net::Stack::UdpLayer::SendOutput> sent = send.poll(cx);
    if (sent.is_ready()) return sent.value().ok() ? 1 : 0;
    while (!woken) world.wait_for_driver();  // Pending: the channel is full; its waker will fire
    woken = false;
  }
}

std::uint32_t state_machine_send_batch(UdpWorld& world) {
  const driver_channel::StackChannel::Batch batch = world.channel().batch();
  std::uint32_t sent = 0;
  for (std::uint32_t i = 0; i < kBatch; ++i) sent += state_machine_send(world);
  return sent;
}

std::uint32_t state_machine_receive_batch(UdpWorld& world) {
  const driver_channel::StackChannel::Batch batch = world.channel().batch();
  return state_machine_receive(world);
}

[[gnu::flatten]] std::uint32_t sync_send(UdpWorld& world) {
  net::Stack& stack = world.stack();
  const std::span<const std::byte> payload = world.payload();
  const std::size_t ip_payload = wire::kUdpHeaderBytes + payload.size();
  // Route and resolve (the peer is cached), reserve, write each header, submit.
  const Result<net::Stack::Ipv4Layer::Route, net::SendError> route = stack.ipv4().route(kPeerIp);
  if (!route.ok()) return 0;
  const Result<wire::MacAddress, net::SendError> mac =
      stack.arp().neighbours().resolve_now(route.value().next_hop, world.now());
  if (!mac.ok()) return 0;
  std::optional<driver_channel::ChannelResult<driver_channel::TxBuffer>> buffer = world.channel().try_reserve_tx();
  while (!buffer) {  // the channel is full: a synchronous caller blocks until the driver frees room
    world.wait_for_driver();
    if (auto again = world.channel().try_reserve_tx()) buffer.emplace(std::move(*again));
  }
  if (!buffer->ok()) return 0;
  net::Stack::EthernetLayer::Frame frame =
      stack.ethernet().frame(std::move(buffer->value()), mac.value(), wire::ethertype::kIpv4);
  stack.ipv4().write_header(frame, kPeerIp, wire::ip_protocol::kUdp, ip_payload);
  return stack.udp().transmit(frame, kOurPort, kPeerIp, kPeerPort, payload) ? 1 : 0;
}

[[gnu::flatten]] std::uint32_t state_machine_receive(UdpWorld& world) {
  net::Stack& stack = world.stack();
  // The application's read waits on the empty socket...
  net::UdpReceive first = stack.udp().recv_from(world.socket(), world.receive_buffer());
  Context reader(world.read_waker(), world.now(), world.deadline());
  Poll<net::Stack::UdpLayer::RecvOutput> got = first.poll(reader);
  if (got.is_pending()) {
    // ...the stack's receive task takes every delivered frame (at most kRxFramesPerPoll) into the
    // socket, the first of which wakes the read...
    Context cx = poll_context(world);
    (void)world.task().poll(cx);
    if (!world.take_read_wake()) return 0;  // nothing arrived
    got = first.poll(reader);
    if (got.is_pending()) return 0;
  }
  if (!got.value().ok()) return 0;
  // ...which then reads what else was queued, until a read would wait.
  std::uint32_t read = 1;
  Context cx = poll_context(world);
  for (;;) {
    net::UdpReceive next = stack.udp().recv_from(world.socket(), world.receive_buffer());
    Poll<net::Stack::UdpLayer::RecvOutput> more = next.poll(cx);
    if (more.is_pending() || !more.value().ok()) break;
    ++read;
  }
  return read;
}

[[gnu::flatten]] std::uint32_t sync_receive(UdpWorld& world) {
  net::Stack& stack = world.stack();
  (void)stack.arp().neighbours().run_timers(world.now());  // as the task does on every poll
  for (;;) {
    std::optional<driver_channel::ChannelResult<driver_channel::RxBuffer>> frame = world.channel().try_receive();
    if (!frame || !frame->ok()) break;
    std::optional<driver_channel::RxBuffer> held(std::move(frame->value()));
    (void)stack.process(held, world.now());  // a datagram for our socket needs no answer
  }
  std::uint32_t read = 0;
  for (;;) {
    std::optional<net::Stack::UdpLayer::RecvOutput> got = stack.udp().try_receive(world.socket(), world.receive_buffer());
    if (!got || !got->ok()) break;
    ++read;
  }
  return read;
}

static_assert(kBatch <= LWIP_PATH_BATCH, "an lwIP batch holds a benchmark batch");

namespace {
template <std::size_t N>
void copy_bytes(const std::array<std::uint8_t, N>& from, std::uint8_t (&to)[N]) {
  std::memcpy(to, from.data(), N);
}
const std::uint8_t* as_bytes(std::span<const std::byte> s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }
}  // namespace

LwipWorld::LwipWorld(const UdpWorld& ours) {
  LwipPathConfig config{};
  copy_bytes(kOurMac.octets, config.our_mac);
  copy_bytes(kOurIp.octets, config.our_ip);
  copy_bytes(kPeerMac.octets, config.peer_mac);
  copy_bytes(kPeerIp.octets, config.peer_ip);
  config.our_port = kOurPort;
  config.peer_port = kPeerPort;
  config.payload = as_bytes(ours.payload());
  config.payload_bytes = ours.payload().size();
  config.peer_frame = as_bytes(ours.peer_frame());
  config.peer_frame_bytes = ours.peer_frame().size();
  const int opened = lwip_path_open(&config);
  expect(opened == 0, "LwipWorld: lwIP did not come up (see lwip_path_open)");
}

LwipWorld::~LwipWorld() { lwip_path_close(); }

std::uint32_t LwipWorld::drain_tx(std::vector<std::byte>* keep_last) {
  if (keep_last == nullptr) return lwip_path_drain_tx(nullptr, 0, nullptr);
  keep_last->resize(wire::kEthernetHeaderBytes + 1500);
  std::size_t kept = 0;
  const std::uint32_t n = lwip_path_drain_tx(reinterpret_cast<std::uint8_t*>(keep_last->data()), keep_last->size(), &kept);
  keep_last->resize(n == 0 ? 0 : kept);
  return n;
}

void LwipWorld::inject_rx(std::uint32_t count) {
  const unsigned queued = lwip_path_inject_rx(count);
  expect(queued == count, "LwipWorld::inject_rx: a pbuf allocation failed");
}

std::span<const std::byte> LwipWorld::received() const {
  std::size_t bytes = 0;
  const std::uint8_t* data = lwip_path_received(&bytes);
  return {reinterpret_cast<const std::byte*>(data), bytes};
}

std::uint32_t lwip_send(LwipWorld&) { return lwip_path_send(); }
std::uint32_t lwip_receive(LwipWorld&) { return lwip_path_receive(); }

}  // namespace pollstack::bench
