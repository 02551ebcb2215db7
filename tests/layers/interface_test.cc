// The interface under the portable Executor with a test clock: the runtime, not a hand-written
// loop, drives the receive task's timers and the application's send.
#include "layers/interface.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "statemachines/executor.h"
#include "tests/layers/fake_channel.h"
#include "tests/layers/interface_fixture.h"
#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::FakeChannel;
using testing::kOurIp;
using testing::kOurMac;
using testing::Sent;

constexpr wire::Ipv4Address kSilentHost{{10, 0, 0, 77}};

TEST_CASE("under the Executor, a send to a silent host fails with kHostUnreachable after the ARP retries") {
  FakeChannel channel;
  Interface<FakeChannel> iface(channel, {kOurMac, {kOurIp, 24, {}, kDefaultTtl}});
  const UdpSocketId socket = iface.udp().bind(4000).value();
  const testing::Bytes payload = testing::text("anyone there?");
  ManualClock clock(Instant{Duration{7'000'000}});
  const Instant start = clock.now();
  Executor ex{iface.task(), iface.udp().send_to(socket, {kSilentHost, 9}, payload)};

  std::size_t requests = 0;
  std::optional<Instant> last_request;
  for (int turn = 0; turn < 100 && !ex.is_done(1); ++turn) {
    ex.run_ready(clock.now());
    while (std::optional<testing::Bytes> frame = channel.take_sent()) {
      const Sent sent = Sent::decode(*frame);
      REQUIRE(sent.arp.has_value());  // nothing but ARP may leave while the host is unresolved
      CHECK(sent.arp->operation == wire::arp_operation::kRequest);
      CHECK(sent.arp->target_ip == kSilentHost);
      if (last_request) CHECK(clock.now() - *last_request == kArpRetryInterval);
      last_request = clock.now();
      ++requests;
    }
    if (ex.has_woken() || ex.is_done(1)) continue;
    // Nothing to do until a timer: the executor says when, and the test's clock jumps there.
    REQUIRE(ex.next_deadline() != kNever);  // a task waiting on time without asking would hang
    clock.advance_to(ex.next_deadline());
  }
  REQUIRE(ex.is_done(1));
  REQUIRE_FALSE(ex.output<1>().value().ok());
  CHECK(ex.output<1>().value().error() == SendError::kHostUnreachable);
  CHECK(requests == kArpMaxRequests);
  CHECK(clock.now() - start == kArpMaxRequests * kArpRetryInterval);
  CHECK(iface.arp().neighbours().counters().failed == 1);
  CHECK_FALSE(ex.is_done(0));  // the receive task runs on
}

TEST_CASE("a frame landing after the ring looked empty is taken by the receive operation at once") {
  testing::InterfaceFixture f;
  // The neighbour's ARP request lands between try_receive() finding nothing and the receive
  // operation's first look (a driver thread delivering in between): the task takes it in the same
  // poll and answers, rather than waiting for a wake that was already spent.
  f.channel.inject_late(testing::kPeer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kOurIp));
  f.run();
  const Sent reply = f.sent();
  REQUIRE(reply.arp.has_value());
  CHECK(reply.arp->operation == wire::arp_operation::kReply);
}

TEST_CASE("the device's link going down ends the task with kLinkDown") {
  testing::InterfaceFixture f;
  f.run();  // waiting for a frame
  f.channel.set_link_down();
  Poll<NicError> ended = f.d.poll(f.task);
  REQUIRE(ended.is_ready());
  CHECK(ended.value() == NicError::kLinkDown);
}

TEST_CASE("the address record changes for every layer at once; an invalid one is refused") {
  testing::InterfaceFixture f;
  f.meet();  // the neighbour is in the cache
  const UdpSocketId socket = f.iface.udp().bind(4000).value();
  REQUIRE(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kReachable);

  Ipv4Config bad{{{127, 0, 0, 1}}, 8, {}, kDefaultTtl};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kNotUnicast);
  bad = {{{10, 0, 0, 9}}, 24, {{10, 9, 9, 9}}, kDefaultTtl};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kGatewayOffLink);
  bad = {{{10, 0, 0, 9}}, 24, {}, kDefaultTtl, 100};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kMtuOutOfRange);
  CHECK(f.iface.ipv4_config().address == kOurIp);  // unchanged
  CHECK(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kReachable);

  constexpr wire::Ipv4Address kNewIp{{10, 0, 0, 9}};
  CHECK_FALSE(f.iface.set_ipv4_config({kNewIp, 24, {}, kDefaultTtl}).has_value());
  CHECK(f.iface.counters().address_changes == 1);
  CHECK(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kFree);
  CHECK(f.iface.arp().neighbours().counters().flushed == 1);

  // ARP answers for the new address only.
  f.receive(testing::kPeer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kOurIp));
  CHECK(f.channel.sent_count() == 0);
  f.receive(testing::kPeer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kNewIp));
  const Sent reply = f.sent();
  REQUIRE(reply.arp.has_value());
  CHECK(reply.arp->sender_ip == kNewIp);
  // IPv4 accepts the new address only.
  f.receive(testing::kPeer.udp(kOurMac, kOurIp, 5000, 4000, testing::text("old")));
  CHECK(f.iface.udp().queued(socket) == 0);
  f.receive(testing::kPeer.udp(kOurMac, kNewIp, 5000, 4000, testing::text("new")));
  CHECK(f.iface.udp().queued(socket) == 1);
  // A bound socket sends from the new address.
  const testing::Bytes payload = testing::text("hello");
  auto send = f.iface.udp().send_to(socket, {testing::kPeer.ip, 5000}, payload);
  REQUIRE(f.d.poll(send).is_ready());
  const Sent datagram = f.sent();
  REQUIRE(datagram.ip.has_value());
  CHECK(datagram.ip->source == kNewIp);
}

// A toy transport on protocol number 253 (reserved for experiments, RFC 3692), registered the way
// an embedder registers its own (Interface's MoreTransports): it counts what it receives, answers
// each packet with one byte of its own (a Transmitter with a queue of answers), and takes the ICMP
// errors about what it sent.
template <class Ip, class Config>
class Tally {
 public:
  static constexpr std::uint8_t kIpProtocol = 253;
  using RxBuffer = typename Ip::RxBuffer;

  explicit Tally(Ip& ip) noexcept : ip_(&ip) {}
  Tally(const Tally&) = delete;
  Tally& operator=(const Tally&) = delete;

  RxVerdict on_packet(const typename Ip::Received& packet, std::optional<RxBuffer>& /*frame*/, Instant) noexcept {
    ++received;
    if (queued_ == kQueue) return RxVerdict::kDone;
    answers_[(head_ + queued_++) % kQueue] = packet.header.source;
    return RxVerdict::kAnswer;
  }

  void on_transport_error(const TransportError& error) noexcept { errors[error.icmp_code] += 1; }

  class Transmit {
   public:
    using Output = void;
    Transmit(Tally& tally, const wire::Ipv4Address& to, std::byte mark) noexcept
        : send_(tally.ip_->send(to, kIpProtocol, 1, ResolvePolicy::kCachedOnly)), mark_(mark) {}
    Poll<void> poll(Context& cx) noexcept {
      state_.expect_pollable();
      auto sent = send_.poll(cx);
      if (sent.is_pending()) return pending;
      state_.set(State::Done);
      if (sent.value().ok()) {
        sent.value().value().payload()[0] = mark_;
        (void)sent.value().value().submit(1);
      }
      return ready();
    }

   private:
    enum class State : std::uint8_t { Sending, Done };
    static constexpr auto kTransitions = transitions(State::Sending, {{State::Sending, State::Done, "IP send Ready"}});
    typename Ip::Send send_;
    std::byte mark_;
    StateCell<Transmit, &kTransitions> state_{State::Sending};
  };

  void run_timers(Context&) noexcept {}
  bool has_transmit() const noexcept { return queued_ > 0; }
  Transmit transmit(Context&) noexcept {
    const wire::Ipv4Address to = answers_[head_];
    head_ = (head_ + 1) % kQueue;
    --queued_;
    return Transmit(*this, to, static_cast<std::byte>(sent_marks_++));
  }

  std::size_t received = 0;
  std::array<std::size_t, 256> errors{};  // by ICMP code

 private:
  static constexpr std::size_t kQueue = 4;
  Ip* ip_;
  std::array<wire::Ipv4Address, kQueue> answers_{};
  std::size_t head_ = 0;
  std::size_t queued_ = 0;
  std::uint8_t sent_marks_ = 0;
};

using TallyStack = Interface<FakeChannel, DefaultConfig, Tally>;
using TallyFixture = testing::BasicInterfaceFixture<TallyStack>;
using TallyLayer = Tally<TallyStack::Ipv4Layer, DefaultConfig>;
static_assert(Transmitter<TallyLayer> && TakesTransportErrors<TallyLayer>);

TEST_CASE("frames go to the protocol registered under their EtherType; an unregistered one is counted") {
  testing::InterfaceFixture f;
  f.meet();  // ARP (0x0806) answered
  f.receive(testing::kPeer.ethernet(kOurMac, 0x86dd, testing::Bytes(40)));  // IPv6: nobody registered
  f.receive(testing::kPeer.ethernet(kOurMac, 0x88cc, testing::Bytes(40)));  // LLDP
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.ethernet().counters().dropped[EthernetDrop::kUnknownEthertype] == 2);
  CHECK(f.iface.ethernet().counters().frames_received == 3);
  CHECK(f.channel.rx_held() == 0);
}

TEST_CASE("a packet for an IP protocol nobody speaks is counted and answered with protocol unreachable") {
  testing::InterfaceFixture f;
  f.meet();
  const testing::Bytes packet = testing::kPeer.ipv4(kOurMac, kOurIp, 132, testing::pattern(40));  // SCTP
  f.receive(packet);
  const Sent error = f.sent();
  REQUIRE(error.icmp.has_value());
  CHECK(error.icmp->type == wire::icmp_type::kDestinationUnreachable);
  CHECK(error.icmp->code == wire::icmp_unreachable_code::kProtocolUnreachable);
  CHECK(error.ip->destination == testing::kPeer.ip);
  // The quote: the offending IP header and the first 8 bytes of its payload (RFC 792).
  REQUIRE(error.payload.size() == kIcmpQuoteBytes);
  CHECK(std::equal(error.payload.begin(), error.payload.end(), packet.begin() + 14));
  CHECK(f.iface.ipv4().counters().dropped[Ipv4Drop::kUnknownProtocol] == 1);
  CHECK(f.iface.icmp().counters().unreachables_sent == 1);
  // Never for a broadcast (RFC 1122 §3.2.2).
  f.receive(testing::kPeer.ipv4(wire::MacAddress::broadcast(), {{10, 0, 0, 255}}, 132, testing::pattern(40)));
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.ipv4().counters().dropped[Ipv4Drop::kUnknownProtocol] == 2);
  CHECK(f.channel.rx_held() == 0);
}

TEST_CASE("a transport registered by one line gets its packets, its transmit turns and its ICMP errors") {
  TallyFixture f;
  f.meet();
  f.receive(testing::kPeer.ipv4(kOurMac, kOurIp, 253, testing::pattern(12)));
  CHECK(f.iface.transport<TallyLayer>().received == 1);
  const Sent answer = f.sent();  // sent by its Transmit, polled by the interface task
  REQUIRE(answer.ip.has_value());
  CHECK(answer.ip->protocol == 253);
  CHECK(answer.ip->destination == testing::kPeer.ip);
  CHECK(f.iface.ipv4().counters().dropped[Ipv4Drop::kUnknownProtocol] == 0);

  // An ICMP error quoting a packet we sent on protocol 253 reaches it; one quoting a protocol
  // nobody here speaks is counted.
  testing::Bytes quote(kIcmpQuoteBytes);
  wire::Ipv4Repr sent_header;
  sent_header.source = kOurIp;
  sent_header.destination = testing::kPeer.ip;
  sent_header.protocol = 253;
  sent_header.payload_length = 8;
  wire::emit_ipv4(sent_header, quote);
  f.receive(testing::kPeer.icmp(kOurMac, kOurIp, {wire::icmp_type::kDestinationUnreachable, 1, 0, 0}, quote));
  CHECK(f.iface.transport<TallyLayer>().errors[1] == 1);
  sent_header.protocol = 254;
  wire::emit_ipv4(sent_header, quote);
  f.receive(testing::kPeer.icmp(kOurMac, kOurIp, {wire::icmp_type::kDestinationUnreachable, 1, 0, 0}, quote));
  CHECK(f.iface.counters().transport_errors_unclaimed == 1);
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.channel.rx_held() == 0);
}

TEST_CASE("the task serves the protocols with something to send in turn, one packet each") {
  TallyFixture f;
  f.meet();
  // ARP: three senders wait for three silent hosts, so three requests are due...
  auto& udp = f.iface.udp();
  const UdpSocketId socket = udp.bind(4000).value();
  const testing::Bytes payload = testing::text("x");
  auto a = udp.send_to(socket, {wire::Ipv4Address{{10, 0, 0, 71}}, 9}, payload);
  auto b = udp.send_to(socket, {wire::Ipv4Address{{10, 0, 0, 72}}, 9}, payload);
  auto c = udp.send_to(socket, {wire::Ipv4Address{{10, 0, 0, 73}}, 9}, payload);
  CHECK(f.d.poll(a).is_pending());
  CHECK(f.d.poll(b).is_pending());
  CHECK(f.d.poll(c).is_pending());
  // ...and the toy transport has three answers queued (through process(), as a synchronous caller
  // would: the task itself serves each answer before it takes the next frame).
  for (int i = 0; i < 3; ++i) {
    f.channel.inject(testing::kPeer.ipv4(kOurMac, kOurIp, 253, testing::pattern(4)));
    std::optional<FakeChannel::RxBuffer> frame(std::move(f.channel.try_receive()->value()));
    CHECK(f.iface.process(frame, f.d.now) == RxVerdict::kAnswer);
  }
  f.run();
  std::string order;
  while (std::optional<testing::Bytes> frame = f.channel.take_sent()) {
    const Sent sent = Sent::decode(*frame);
    order += sent.arp ? 'A' : sent.ip && sent.ip->protocol == 253 ? 'T' : '?';
  }
  // ARP was served last (the reply that met the peer), so this turn starts after it: the toy
  // transport first, then ARP, one packet each; not "TTTAAA" or "AAATTT": neither starves the other.
  CHECK(order == "TATATA");
  CHECK(f.iface.counters().packets_transmitted == 1 + 6);  // with the reply that met the peer
}

// A configuration for a small device: what an embedder writes to fit a NIC with few buffers.
struct TinyConfig : DefaultConfig {
  static constexpr std::size_t kUdpSockets = 2;
  static constexpr std::size_t kUdpReceiveQueueDepth = 2;
  static constexpr std::size_t kNeighbourCacheEntries = 4;
};

struct TinyDevice : FakeChannel {
  static constexpr std::size_t kRxBuffers = 8;
};

TEST_CASE("a stack's capacities come from its configuration (its fit to the device is a static_assert)") {
  static_assert(Nic<TinyDevice>);
  // The defaults would let 64 queued datagrams hold a device with 8 receive buffers; they do not
  // compile (Interface's static_assert). A configuration sized for the device does.
  TinyDevice device;
  Interface<TinyDevice, TinyConfig> iface(device, {kOurMac, {kOurIp, 24, {}, kDefaultTtl}});
  CHECK(iface.udp().bind(1).ok());
  CHECK(iface.udp().bind(2).ok());
  CHECK(iface.udp().bind(3).error() == BindError::kTableFull);
  CHECK(sizeof(Interface<TinyDevice, TinyConfig>) < sizeof(Interface<FakeChannel>));
}

// UDP only: no TCP connections in the configuration, so TCP is not registered at all.
struct NoTcpConfig : DefaultConfig {
  static constexpr std::size_t kTcpConnections = 0;
};
using NoTcpInterface = Interface<FakeChannel, NoTcpConfig>;
template <class I>
concept OffersTcp = requires(I& i) { i.tcp(); };

TEST_CASE("a configuration without TCP connections leaves TCP out: its segments get protocol unreachable") {
  static_assert(!NoTcpInterface::kHasTcp && Interface<FakeChannel>::kHasTcp);
  static_assert(!OffersTcp<NoTcpInterface> && OffersTcp<Interface<FakeChannel>>);
  // Only TCP's state left: its connection table, rings and all (the 8 default connections' 256 KiB).
  static_assert(sizeof(Interface<FakeChannel>) - sizeof(NoTcpInterface) >= sizeof(Interface<FakeChannel>::TcpLayer));
  testing::BasicInterfaceFixture<NoTcpInterface> f;
  f.meet();
  wire::TcpRepr syn;
  syn.source_port = 40000;
  syn.destination_port = 80;
  syn.sequence = 1000;
  syn.flags = wire::tcp_flag::kSyn;
  syn.window = 65535;
  f.receive(testing::kPeer.tcp(kOurMac, kOurIp, syn, {}));
  const Sent error = f.sent();
  REQUIRE(error.icmp.has_value());
  CHECK(error.icmp->code == wire::icmp_unreachable_code::kProtocolUnreachable);
  CHECK(f.iface.ipv4().counters().dropped[Ipv4Drop::kUnknownProtocol] == 1);
  // UDP works as ever.
  CHECK(f.iface.udp().bind(7).ok());
}

}  // namespace
}  // namespace pollstack::net
