#pragma once
/// StatusService: the firmware's report on the network. Any datagram to its UDP port is answered
/// with a text report (the NIC's and the stack's counters, the free buffers: whatever `report`
/// writes); in a test image, a datagram "exit" is answered too, and then the service completes,
/// which main.cc takes as the signal to print the report on the semihosting console and stop (the
/// QEMU test's end).
/// The text is built without printf (newlib's would bring its heap in): TextOut below.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "layers/udp/udp.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"

namespace pollstack::firmware {

/// Text into a fixed buffer, cut off when it does not fit; always NUL-terminated.
class TextOut {
 public:
  static constexpr std::array<std::uint64_t, 20> kPowersOfTen = [] {
    std::array<std::uint64_t, 20> powers{};
    std::uint64_t p = 1;
    for (std::size_t i = powers.size(); i-- > 0; p *= 10) powers[i] = p;  // 10^19 first, 1 last
    return powers;
  }();

  explicit TextOut(std::span<char> out) noexcept : out_(out) { out_[0] = '\0'; }
  TextOut& operator<<(const char* text) noexcept {
    while (*text != '\0') put(*text++);
    return *this;
  }
  /// Decimal, by subtracting powers of ten: no 64-bit division (libgcc's would be linked in).
  TextOut& operator<<(std::uint64_t n) noexcept {
    bool started = false;
    for (std::size_t i = 0; i < kPowersOfTen.size(); ++i) {
      char digit = '0';
      while (n >= kPowersOfTen[i]) {
        n -= kPowersOfTen[i];
        ++digit;
      }
      started |= digit != '0' || i + 1 == kPowersOfTen.size();
      if (started) put(digit);
    }
    return *this;
  }
  std::size_t size() const noexcept { return used_; }
  const char* c_str() const noexcept { return out_.data(); }

 private:
  void put(char c) noexcept {
    if (used_ + 1 < out_.size()) {
      out_[used_++] = c;
      out_[used_] = '\0';
    }
  }
  std::span<char> out_;
  std::size_t used_ = 0;
};

template <class UdpLayer>
class StatusService {
 public:
  using Output = bool;  // true: "exit" was asked for; false: the socket failed
  using Report = void (*)(TextOut&);
  static constexpr std::size_t kReportBytes = 1024;
  static constexpr std::uint32_t kAnswersPerPoll = 4;

  /// `exit_allowed`: whether "exit" ends the service (a test image); otherwise it is answered
  /// like any other request.
  StatusService(UdpLayer& udp, net::UdpSocketId socket, Report report, bool exit_allowed) noexcept
      : udp_(&udp), socket_(socket), report_(report), exit_allowed_(exit_allowed) {}
  StatusService(StatusService&&) = delete;  // its operations point into its own buffers

  Poll<bool> poll(Context& cx) noexcept {
    state_.expect_pollable();
    for (std::uint32_t answered = 0; answered < kAnswersPerPoll; ++answered) {
      if (state_.get() == State::Receiving) {
        if (!receive_) receive_.emplace(udp_->recv_from(socket_, request_));
        Poll<typename UdpLayer::RecvOutput> got = receive_->poll(cx);
        if (got.is_pending()) return pending;
        receive_.reset();
        if (!got.value().ok()) {
          if (got.value().error() != net::RecvError::kBadSocket) continue;  // an ICMP error: ignore
          state_.set(State::Done);
          return false;
        }
        const net::ReceivedDatagram& d = got.value().value();
        exit_asked_ = exit_allowed_ && d.length == 4 && std::memcmp(request_.data(), "exit", 4) == 0;
        TextOut text(std::span<char>(reinterpret_cast<char*>(report_text_.data()), report_text_.size()));
        report_(text);
        send_.emplace(udp_->send_to(socket_, d.from, std::span<const std::byte>(report_text_).first(text.size())));
        state_.set(State::Sending);
      }
      Poll<typename UdpLayer::SendOutput> sent = send_->poll(cx);
      if (sent.is_pending()) return pending;
      send_.reset();
      if (exit_asked_) {
        state_.set(State::Done);
        return true;
      }
      state_.set(State::Receiving);
    }
    cx.waker().wake();  // budget spent: yield, then continue
    return pending;
  }

 private:
  enum class State : std::uint8_t { Receiving, Sending, Done };
  static constexpr auto kTransitions = transitions(State::Receiving, {
      {State::Receiving, State::Sending, "a request: the report goes back"},
      {State::Sending, State::Receiving, "report sent"},
      {State::Sending, State::Done, "report sent, and the request was \"exit\""},
      {State::Receiving, State::Done, "the socket closed"},
  });
  UdpLayer* udp_;
  net::UdpSocketId socket_;
  Report report_;
  bool exit_allowed_;
  bool exit_asked_ = false;
  std::optional<typename UdpLayer::Receive> receive_;
  std::optional<typename UdpLayer::Send> send_;
  std::array<std::byte, 16> request_{};
  std::array<std::byte, kReportBytes> report_text_{};
  StateCell<StatusService, &kTransitions> state_{State::Receiving};
};

}  // namespace pollstack::firmware
