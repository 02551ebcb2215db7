// TCP's input path with connections in every state. A listener on port 80 and a peer at
// 10.0.0.2 that the stack has met; the input is a script of steps: segments from the peer (their
// numbers relative to what the stack last sent, so they reach deep into the state machine), raw
// frames, time passing, and the application's calls (accept, connect, write, read, shutdown,
// close, abort). The oracle, on every segment the stack sends:
//  - it parses, checksum included, from our address to the peer;
//  - its data is exactly the application's stream at that sequence number (each connection's
//    application writes byte k = k * 31 + 7), never stale or foreign bytes;
//  - within one incarnation of a 4-tuple, the acknowledgement number never goes back and the
//    right edge of the window it offers (ACK + window) never moves back (RFC 9293 §3.8.6);
// and at the end, once every handle and the listener are closed, every connection is CLOSED
// and every receive buffer is given back (no leak, no hang).
//
// Input: steps of [op: 1 byte][arguments]; see the switch below.
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "layers/interface.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/layers/fake_channel.h"

using namespace pollstack;
using namespace pollstack::net;

namespace {

using Stack = Interface<testing::FakeChannel>;
using Tcp = Stack::TcpLayer;

constexpr wire::MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
constexpr wire::MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};
constexpr wire::Ipv4Address kOurIp{{10, 0, 0, 1}};
constexpr wire::Ipv4Address kPeerIp{{10, 0, 0, 2}};
constexpr std::uint16_t kListenPort = 80;

std::byte stream_byte(std::uint32_t k) { return static_cast<std::byte>(k * 31 + 7); }

// What the peer has seen of one 4-tuple (keyed by the peer's port and ours).
struct Seen {
  bool synchronized = false;  // a SYN or SYN-ACK of ours told the ISS
  std::uint32_t iss = 0;
  std::uint32_t our_next = 0;  // the highest sequence number we sent, plus its length
  std::uint32_t ack = 0;       // the last acknowledgement number we sent
  std::uint32_t right_edge = 0;
  bool has_ack = false;
};

// One connection the application holds, and its operations in progress.
struct App {
  TcpSocket socket;
  std::uint32_t written = 0;
  std::optional<Tcp::Write> write;
  std::optional<Tcp::Read> read;
  std::array<std::byte, 512> buffer{};
};

struct Harness {
  testing::FakeChannel channel;
  Stack stack{channel, {kOurMac, {kOurIp, 24, {}, kDefaultTtl}}};
  Stack::Task task = stack.task();
  Instant now{Duration{1'000'000}};
  Instant deadline = kNever;
  int wakes = 0;
  std::map<std::uint32_t, Seen> seen;  // (peer port << 16) | our port
  std::uint32_t peer_next = 5000;      // the peer's own sequence number

  std::array<std::optional<App>, 4> apps;
  std::optional<Tcp::Accept> accept;
  std::optional<Tcp::Connect> connect;
  std::vector<std::byte> pattern = std::vector<std::byte>(256 + 2048);
  TcpListener listener;

  Harness() {
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = stream_byte(static_cast<std::uint32_t>(i));
    listener = stack.tcp().listen(kListenPort).value();
    // The peer introduces itself: an ARP request for our address.
    std::vector<std::byte> arp(wire::kEthernetHeaderBytes + wire::kArpPacketBytes);
    wire::emit_ethernet({wire::MacAddress::broadcast(), kPeerMac, wire::ethertype::kArp}, arp);
    wire::emit_arp({wire::arp_operation::kRequest, kPeerMac, kPeerIp, {}, kOurIp},
                   std::span(arp).subspan(wire::kEthernetHeaderBytes));
    channel.inject(std::move(arp));
    run();
  }

  template <class M>
  auto poll(M& machine) {
    deadline = kNever;
    Context cx(Waker(+[](void* p) noexcept { ++*static_cast<int*>(p); }, &wakes), now, deadline);
    return machine.poll(cx);
  }

  void run() {
    fuzz::require(poll(task).is_pending(), "the interface task runs while the link is up");
    while (std::optional<testing::Frame> sent = channel.take_sent()) check(*sent);
  }

  void check(std::span<const std::byte> frame) {
    const auto eth = wire::parse_ethernet(frame);
    fuzz::require(eth.ok(), "a sent frame parses");
    if (eth.repr().ethertype == wire::ethertype::kArp) return;
    const auto ip = wire::parse_ipv4(eth.payload());
    fuzz::require(ip.ok(), "a sent IPv4 packet parses");
    fuzz::require(ip.repr().source == kOurIp, "sent from our address");
    if (ip.repr().protocol != wire::ip_protocol::kTcp) return;  // ICMP answers to raw frames
    fuzz::require(eth.repr().destination == kPeerMac && ip.repr().destination == kPeerIp,
                  "TCP segments go to the peer (the only host that talks to us)");
    const auto tcp = wire::parse_tcp(ip.payload(), wire::ipv4_pseudo_header(kOurIp, kPeerIp, wire::ip_protocol::kTcp));
    fuzz::require(tcp.ok(), "a sent TCP segment parses, checksum included");
    const wire::TcpRepr& h = tcp.repr();
    Seen& s = seen[(std::uint32_t{h.destination_port} << 16) | h.source_port];
    if (h.has(wire::tcp_flag::kRst)) {
      s = Seen{};  // that incarnation is over
      return;
    }
    // A SYN of ours starts an incarnation (a retransmitted one too: the peer's may have changed,
    // and a new incarnation within 4 µs has the same ISN).
    if (h.has(wire::tcp_flag::kSyn)) s = Seen{true, h.sequence, h.sequence + 1, 0, 0, false};
    if (!s.synchronized) return;
    const std::span<const std::byte> data = tcp.payload();
    if (!data.empty()) {
      const std::uint32_t offset = h.sequence - (s.iss + 1);
      for (std::size_t j = 0; j < data.size(); ++j) {
        fuzz::require(data[j] == stream_byte(offset + static_cast<std::uint32_t>(j)),
                      "data sent is the application's stream at its sequence number");
      }
    }
    const std::uint32_t end = h.sequence + static_cast<std::uint32_t>(data.size()) + (h.has(wire::tcp_flag::kFin) ? 1 : 0);
    if (seq::gt(end, s.our_next)) s.our_next = end;
    if (h.has(wire::tcp_flag::kAck)) {
      const std::uint32_t edge = h.acknowledgement + h.window;
      if (s.has_ack) {
        fuzz::require(seq::ge(h.acknowledgement, s.ack), "the acknowledgement number never goes back");
        fuzz::require(seq::ge(edge, s.right_edge), "the offered window's right edge never moves back");
      }
      s.ack = h.acknowledgement;
      s.right_edge = edge;
      s.has_ack = true;
    }
  }

  void segment(std::uint16_t peer_port, std::uint16_t our_port, std::uint8_t flags, std::int16_t seq_delta,
               std::int16_t ack_delta, std::uint16_t window, std::span<const std::byte> payload) {
    const Seen& s = seen[(std::uint32_t{peer_port} << 16) | our_port];
    wire::TcpRepr h;
    h.source_port = peer_port;
    h.destination_port = our_port;
    h.sequence = (s.has_ack ? s.ack : peer_next) + static_cast<std::uint32_t>(seq_delta);
    h.acknowledgement = s.our_next + static_cast<std::uint32_t>(ack_delta);
    h.flags = flags;
    h.window = window;
    if ((flags & wire::tcp_flag::kSyn) != 0) {
      h.options.has_mss = true;
      h.options.mss = 536;
    }
    const std::size_t header = wire::tcp_header_length(h.options);
    std::vector<std::byte> tcp(header + payload.size());
    wire::copy_bytes(std::span(tcp).subspan(header), payload);
    wire::emit_tcp(h, wire::ipv4_pseudo_header(kPeerIp, kOurIp, wire::ip_protocol::kTcp), payload.size(), tcp);
    raw_ip(tcp);
  }

  void raw_ip(std::span<const std::byte> tcp) {
    std::vector<std::byte> frame(wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes + tcp.size());
    wire::emit_ethernet({kOurMac, kPeerMac, wire::ethertype::kIpv4}, frame);
    wire::Ipv4Repr ip;
    ip.source = kPeerIp;
    ip.destination = kOurIp;
    ip.protocol = wire::ip_protocol::kTcp;
    ip.payload_length = static_cast<std::uint16_t>(tcp.size());
    wire::emit_ipv4(ip, std::span(frame).subspan(wire::kEthernetHeaderBytes));
    wire::copy_bytes(std::span(frame).subspan(wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes), tcp);
    channel.inject(std::move(frame));
    run();
  }

  void adopt(TcpSocket socket) {
    for (std::optional<App>& a : apps) {
      if (!a) {
        a.emplace();
        a->socket = socket;
        return;
      }
    }
    stack.tcp().abort(socket);  // no room: let it go
  }

  // Polls every operation in progress once, then lets the interface send what they queued.
  void step_apps() {
    if (accept) {
      if (auto got = poll(*accept); got.is_ready()) {
        accept.reset();
        if (got.value().ok()) adopt(got.value().value());
      }
    }
    if (connect) {
      if (auto got = poll(*connect); got.is_ready()) {
        connect.reset();
        if (got.value().ok()) adopt(got.value().value());
      }
    }
    for (std::optional<App>& a : apps) {
      if (!a) continue;
      if (a->write) {
        if (auto done = poll(*a->write); done.is_ready()) {
          a->write.reset();
          if (done.value().ok()) a->written += static_cast<std::uint32_t>(done.value().value());
        }
      }
      if (a->read) {
        if (auto got = poll(*a->read); got.is_ready()) {
          a->read.reset();
          if (got.value().ok()) fuzz::require(got.value().value() <= a->buffer.size(), "a read fits its buffer");
        }
      }
    }
    run();
  }

  void close_app(std::optional<App>& a, bool abort) {
    a->write.reset();
    a->read.reset();
    if (abort) {
      stack.tcp().abort(a->socket);
    } else {
      stack.tcp().close(a->socket);
    }
    a.reset();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  Harness h;
  std::size_t at = 0;
  const auto take = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
  int steps = 0;
  while (at < size && ++steps < 400) {
    const std::uint8_t op = take();
    switch (op % 8) {
      case 0: {  // a segment from the peer, numbered after what we sent
        const std::uint8_t which = take();
        const std::uint16_t peer_port = static_cast<std::uint16_t>(40000 + (which & 1));
        const std::uint16_t our_port = (which & 2) != 0 ? static_cast<std::uint16_t>(49152 + ((which >> 2) & 1)) : kListenPort;
        const std::uint8_t flags = take();
        const auto seq_delta = static_cast<std::int16_t>((take() << 8) | take());
        const auto ack_delta = static_cast<std::int16_t>((take() << 8) | take());
        const auto window = static_cast<std::uint16_t>((take() << 8) | take());
        const std::size_t length = take() % 64 * (op >> 3 & 1 ? 20 : 1);
        std::vector<std::byte> payload(length, std::byte{0x5a});
        h.segment(peer_port, our_port, flags, seq_delta, ack_delta, window, payload);
        break;
      }
      case 1:  // time passes
        h.now += std::chrono::milliseconds(take() * 10 + 1);
        h.run();
        break;
      case 2: {  // the application writes
        std::optional<App>& a = h.apps[take() % h.apps.size()];
        const std::size_t n = 1 + take() * 8;
        if (a && !a->write) {
          a->write.emplace(h.stack.tcp().write(a->socket, std::span<const std::byte>(h.pattern).subspan(a->written % 256, n)));
        }
        break;
      }
      case 3: {  // the application reads
        std::optional<App>& a = h.apps[take() % h.apps.size()];
        if (a && !a->read) a->read.emplace(h.stack.tcp().read(a->socket, std::span(a->buffer).first(1 + take() % 512)));
        break;
      }
      case 4: {  // the application ends a connection
        std::optional<App>& a = h.apps[take() % h.apps.size()];
        const std::uint8_t how = take() % 3;
        if (!a) break;
        if (how == 0) {
          (void)h.stack.tcp().shutdown(a->socket);
        } else {
          h.close_app(a, how == 2);
        }
        break;
      }
      case 5:  // the application accepts
        if (!h.accept) h.accept.emplace(h.stack.tcp().accept(h.listener));
        break;
      case 6:  // the application connects to the peer's port 40000 or 40001
        if (!h.connect) h.connect.emplace(h.stack.tcp().connect({kPeerIp, static_cast<std::uint16_t>(40000 + (take() & 1))}));
        break;
      default: {  // a raw TCP segment, any bytes (the IP header is right)
        const std::size_t length = std::min<std::size_t>(take(), size - at);
        h.raw_ip(fuzz::bytes(data + at, length));
        at += length;
        break;
      }
    }
    h.step_apps();
  }
  // The end: every handle let go (the listener too: what it had not handed out is reset), then
  // at most an hour for the connections to close on their own (an orphan's retries and probes
  // back off up to two minutes each).
  h.accept.reset();
  h.connect.reset();
  h.stack.tcp().close_listener(h.listener);
  for (std::optional<App>& a : h.apps) {
    if (a) h.close_app(a, false);
  }
  for (int i = 0; i < 360 && h.stack.tcp().count_in(TcpState::Done) != kTcpConnections; ++i) {
    h.now += std::chrono::seconds(10);
    h.run();
  }
  fuzz::require(h.stack.tcp().count_in(TcpState::Done) == kTcpConnections, "every connection ends CLOSED");
  fuzz::require(h.channel.rx_held() == 0, "every received buffer is given back");
  return 0;
}
