// The LAN9118 driver on the host, over a model of the chip's registers (fake_lan9118.h): start-up,
// padding, the transmit queue when the chip's FIFO is full (which QEMU's model never is), receive
// with the FCS removed, bad frames dropped and counted a few per pass, the interrupt line.
#include <doctest/doctest.h>

#include <vector>

#include "tests/tools/firmware/fake_lan9118.h"
#include "tools/firmware/lan9118.h"

namespace pollstack::firmware {
namespace {

using testing::FakeLan9118;
using Driver = BasicLan9118<testing::FakeRegisters>;

int g_masked = 0, g_unmasked = 0;
void mask() noexcept { ++g_masked; }
void unmask() noexcept { ++g_unmasked; }

constexpr std::array<std::uint8_t, 6> kMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x07}};

std::vector<std::byte> frame(std::size_t length, std::uint8_t fill) { return std::vector<std::byte>(length, std::byte{fill}); }

// Polls operations with a waker that only counts.
struct Poller {
  int wakes = 0;
  Waker waker{[](void* w) noexcept { ++*static_cast<int*>(w); }, &wakes};
  Instant next{};
  template <class Op>
  auto poll(Op& op) {
    Context cx(waker, Instant{}, next);
    return op.poll(cx);
  }
};

struct Fixture {
  FakeLan9118 chip;
  Driver nic{chip.registers, {&mask, &unmask}};
  Poller p;
  Fixture() {
    g_masked = g_unmasked = 0;
    REQUIRE_FALSE(nic.start(kMac).has_value());
  }
  /// Reserves a buffer, fills `length` bytes with `fill` and submits it.
  void send(std::size_t length, std::uint8_t fill) {
    auto reserve = nic.reserve_tx();
    auto got = p.poll(reserve);
    REQUIRE(got.is_ready());
    Driver::TxBuffer tx = std::move(got.value().value());
    std::fill_n(tx.bytes().begin(), length, std::byte{fill});
    CHECK(tx.submit(static_cast<std::uint32_t>(length)));
  }
};

TEST_CASE("start: the chip is checked, our address is in its filter, TX and RX on, the RX interrupt enabled") {
  Fixture f;
  CHECK(f.chip.mac[3] == 0x00000002u);  // ADDRL: bytes 0-3, low byte first
  CHECK(f.chip.mac[2] == 0x0700u);      // ADDRH: bytes 4-5
  CHECK((f.chip.mac[1] & 0b1100) == 0b1100);  // MAC_CR: TXEN, RXEN
  CHECK((f.chip.phy_control & (1u << 12)) != 0);  // auto-negotiation on
  CHECK(f.chip.int_en() == FakeLan9118::kIntRsfl);
  CHECK(g_unmasked == 1);
  FakeLan9118 absent;
  absent.wrong_byte_test = true;
  Driver nothing(absent.registers, {});
  CHECK(nothing.start(kMac) == Driver::StartError::kNoChip);
}

TEST_CASE("a short frame goes out padded to 60 bytes with zeros; a full one as it is") {
  Fixture f;
  f.send(42, 0xab);
  f.send(1514, 0xcd);
  REQUIRE(f.chip.sent.size() == 2);
  CHECK(f.chip.sent[0].size() == 60);
  CHECK(f.chip.sent[0][41] == std::byte{0xab});
  CHECK(f.chip.sent[0][42] == std::byte{0});
  CHECK(f.chip.sent[0][59] == std::byte{0});
  CHECK(f.chip.sent[1] == frame(1514, 0xcd));
  CHECK(f.nic.tx_buffers_free() == Driver::kTxBuffers);
}

TEST_CASE("a full TX FIFO: frames wait in order in their buffers, TDFA is asked for, service() sends them") {
  Fixture f;
  f.chip.tx_capacity = 2 * (8 + 1000);  // room for two 1000-byte frames
  f.chip.hold_tx(true);
  for (std::uint8_t i = 0; i < 4; ++i) f.send(1000, i);
  CHECK(f.nic.counters().tx_waited_for_fifo == 2);
  CHECK(f.nic.tx_buffers_free() == 2);  // two in the chip's FIFO (their buffers back), two queued
  CHECK((f.chip.int_en() & FakeLan9118::kIntTdfa) != 0);
  // Two buffers are free; a third reservation waits (two held here, two queued).
  auto first = f.nic.reserve_tx();
  auto held1 = f.p.poll(first);
  REQUIRE(held1.is_ready());
  auto second = f.nic.reserve_tx();
  auto held2 = f.p.poll(second);
  REQUIRE(held2.is_ready());
  auto waiting3 = f.nic.reserve_tx();
  CHECK(f.p.poll(waiting3).is_pending());
  f.chip.hold_tx(false);  // the wire takes them: room, TDFA
  CHECK(f.nic.service());  // the queued two go into the FIFO, a buffer frees, the waiter wakes
  CHECK(f.p.wakes >= 1);
  REQUIRE(f.chip.sent.size() == 4);
  for (std::uint8_t i = 0; i < 4; ++i) CHECK(f.chip.sent[i] == frame(1000, i));  // in order
  CHECK(f.chip.int_en() == FakeLan9118::kIntRsfl);  // TDFA no longer wanted
  CHECK(f.p.poll(waiting3).is_ready());
}

TEST_CASE("receive: the frame without its FCS; the buffer goes back when the stack drops it") {
  Fixture f;
  f.chip.deliver(frame(60, 0x11));
  CHECK(f.nic.has_work());
  std::optional<net::NicResult<Driver::RxBuffer>> got = f.nic.try_receive();
  REQUIRE(got.has_value());
  CHECK(got->value().bytes().size() == 60);
  CHECK(got->value().bytes()[59] == std::byte{0x11});
  CHECK(f.nic.rx_buffers_free() == Driver::kRxBuffers - 1);
  got.reset();
  CHECK(f.nic.rx_buffers_free() == Driver::kRxBuffers);
  CHECK(f.nic.counters().frames_received == 1);
}

TEST_CASE("bad frames are dropped and counted, at most kDropsPerPull per pass; good ones behind them arrive") {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.chip.deliver(frame(100, 0), /*error=*/true);
  f.chip.deliver(frame(1600, 0));  // longer than a buffer
  f.chip.deliver(frame(0, 0));     // nothing but an FCS: not a frame
  f.chip.deliver(frame(64, 0x22));
  CHECK_FALSE(f.nic.try_receive().has_value());  // first pass: four dropped, then it stops
  CHECK(f.nic.counters().rx_errors == 4);
  CHECK(f.chip.rx_waiting() == 4);
  CHECK(f.nic.has_work());  // the rest waits for the next pass
  // The next pass drops the last error, the oversize frame and the empty one, and takes the good one.
  std::optional<net::NicResult<Driver::RxBuffer>> good = f.nic.try_receive();
  REQUIRE(good.has_value());
  CHECK(good->value().bytes()[0] == std::byte{0x22});
  CHECK(f.nic.counters().rx_errors == 6);  // five errors and the empty one
  CHECK(f.nic.counters().rx_oversize == 1);
  CHECK(f.nic.rx_buffers_free() == Driver::kRxBuffers - 1);
}

TEST_CASE("the interrupt handler only masks the line and flags; service() acknowledges and unmasks") {
  Fixture f;
  const int unmasked = g_unmasked;
  f.chip.deliver(frame(60, 0));
  f.nic.on_interrupt();
  CHECK(g_masked == 1);
  CHECK(f.nic.has_work());
  CHECK(f.nic.counters().frames_received == 0);  // nothing read in the handler
  f.nic.service();
  CHECK(f.nic.counters().interrupts == 1);
  CHECK(f.nic.counters().frames_received == 1);
  CHECK(g_unmasked == unmasked + 1);
}

}  // namespace
}  // namespace pollstack::firmware
