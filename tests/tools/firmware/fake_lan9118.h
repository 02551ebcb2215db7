#pragma once
// FakeLan9118: a model of the LAN9118's register behaviour, enough to drive the real driver
// (tools/firmware/lan9118.h) on the host through every path, including the ones QEMU's model never
// takes: a TX FIFO that fills up and drains later (TDFA), error and oversize frames, the RX FIFO
// counting frames. FakeRegisters has the chip's register layout with proxy registers: a read or a
// write of one calls into the model, as a bus access reaches the chip.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "tools/firmware/lan9118.h"

namespace pollstack::firmware::testing {

class FakeLan9118;

/// One register: reads and writes go to the chip model at its offset.
class FakeRegister {
 public:
  FakeRegister() = default;
  void attach(FakeLan9118& chip, std::uint32_t offset) {
    chip_ = &chip;
    offset_ = offset;
  }
  operator std::uint32_t() const;  // NOLINT: a register reads as its value
  FakeRegister& operator=(std::uint32_t value);
  FakeRegister& operator=(const FakeRegister& other) { return *this = static_cast<std::uint32_t>(other); }

 private:
  FakeLan9118* chip_ = nullptr;
  std::uint32_t offset_ = 0;
};

/// Lan9118Registers' layout, register for register.
struct FakeRegisters {
  FakeRegister rx_data[8], tx_data[8], rx_status, rx_status_peek, tx_status, tx_status_peek, id_rev, irq_cfg,
      int_sts, int_en, reserved_60, byte_test, fifo_int, rx_cfg, tx_cfg, hw_cfg, rx_dp_ctrl, rx_fifo_inf,
      tx_fifo_inf, pmt_ctrl, gpio_cfg, gpt_cfg, gpt_cnt, reserved_94, word_swap, free_run, rx_drop, mac_csr_cmd,
      mac_csr_data, afc_cfg;
};
static_assert(sizeof(FakeRegisters) / sizeof(FakeRegister) == sizeof(Lan9118Registers) / 4);

class FakeLan9118 {
 public:
  static constexpr std::uint32_t kIntRsfl = 1u << 3, kIntTdfa = 1u << 9;

  FakeLan9118() {
    auto* r = reinterpret_cast<FakeRegister*>(&registers);
    for (std::uint32_t i = 0; i < sizeof(FakeRegisters) / sizeof(FakeRegister); ++i) r[i].attach(*this, 4 * i);
  }
  FakeLan9118(const FakeLan9118&) = delete;

  FakeRegisters registers;

  // ---- the wire's side ----
  /// A frame arrives (without its FCS, which the chip appends: 4 bytes of zeros here).
  void deliver(const std::vector<std::byte>& frame, bool error = false) {
    std::vector<std::uint32_t> words((frame.size() + 4 + 3) / 4, 0);
    if (!frame.empty()) std::memcpy(words.data(), frame.data(), frame.size());
    rx_.push_back({(static_cast<std::uint32_t>(frame.size() + 4) << 16) | (error ? 1u << 15 : 0u), words});
    int_sts_ |= kIntRsfl;
  }
  /// While held, frames written stay in the TX FIFO, taking room; draining sends them and raises
  /// TDFA if enough room is free.
  void hold_tx(bool hold) {
    held_ = hold;
    if (!hold) drain();
  }
  std::uint32_t tx_capacity = 4608;  // bytes of the TX data FIFO
  std::vector<std::vector<std::byte>> sent;  // frames on the wire, in order
  std::array<std::uint32_t, 16> mac{};  // the MAC's CSRs (MAC_CR at 1, ADDRH at 2, ADDRL at 3...)
  std::uint32_t phy_control = 0;        // PHY register 0
  bool wrong_byte_test = false;         // BYTE_TEST reads something else: "no chip"
  std::uint32_t int_en() const { return int_en_; }
  std::uint32_t irq_cfg() const { return irq_cfg_; }
  std::size_t rx_waiting() const { return rx_.size(); }

  // ---- bus accesses ----
  std::uint32_t read(std::uint32_t offset) {
    switch (offset) {
      case 0x00 ... 0x1C: return pop_rx_word();
      case 0x40: {  // RX_STATUS_FIFO: pops the head frame's status; its words follow
        if (rx_.empty()) return 0;
        reading_ = rx_.front();
        rx_.pop_front();
        read_words_ = 0;
        if (rx_.empty()) int_sts_ &= ~kIntRsfl;
        return reading_.status;
      }
      case 0x58: return int_sts_;
      case 0x5C: return int_en_;
      case 0x54: return irq_cfg_;
      case 0x64: return wrong_byte_test ? 0x12345678u : 0x87654321u;
      case 0x74: return 0x00050000;  // HW_CFG: reset done
      case 0x7C: return static_cast<std::uint32_t>(rx_.size()) << 16;
      case 0x80: return tx_capacity - tx_used_;
      case 0x84: return 1;  // PMT_CTRL.READY
      case 0xA0: return 0;
      case 0xA4: return mac_cmd_;  // busy always clear: accesses complete at once
      case 0xA8: return mac_data_;
      default: return 0;
    }
  }

  void write(std::uint32_t offset, std::uint32_t value) {
    switch (offset) {
      case 0x20 ... 0x3C: push_tx_word(value); break;
      case 0x58: int_sts_ &= ~value; break;
      case 0x5C: int_en_ = value; break;
      case 0x54: irq_cfg_ = value; break;
      case 0xA8: mac_data_ = value; break;
      case 0xA4:
        mac_cmd_ = value & ~(1u << 31);
        if ((value & (1u << 30)) != 0) {
          mac_data_ = mac[value & 0xf];
        } else {
          mac[value & 0xf] = mac_data_;
          if ((value & 0xf) == 6 && (mac_data_ & 2) != 0 && ((mac_data_ >> 6) & 0x1f) == 0) phy_control = mac[7];
          if ((value & 0xf) == 6) mac[6] &= ~1u;  // MII busy clears at once
        }
        break;
      default: break;
    }
  }

 private:
  struct RxFrame {
    std::uint32_t status = 0;
    std::vector<std::uint32_t> words;
  };

  std::uint32_t pop_rx_word() {
    if (read_words_ >= reading_.words.size()) return 0;
    return reading_.words[read_words_++];
  }

  void push_tx_word(std::uint32_t word) {
    if (tx_words_ == 0) {  // command A
      tx_length_ = word & 0x7ff;
    } else if (tx_words_ >= 2) {
      for (int i = 0; i < 4 && tx_frame_.size() < tx_length_; ++i) tx_frame_.push_back(static_cast<std::byte>(word >> (8 * i)));
    }
    ++tx_words_;
    tx_used_ += 4;
    if (tx_words_ >= 2 && tx_frame_.size() == tx_length_) {  // the last word: the frame is complete
      fifo_.push_back(tx_frame_);
      tx_frame_.clear();
      tx_words_ = 0;
      if (!held_) drain();
    }
  }

  void drain() {
    for (auto& f : fifo_) sent.push_back(f);
    fifo_.clear();
    tx_used_ = 0;
    int_sts_ |= kIntTdfa;
  }

  std::deque<RxFrame> rx_;
  RxFrame reading_;
  std::size_t read_words_ = 0;
  std::vector<std::vector<std::byte>> fifo_;
  std::vector<std::byte> tx_frame_;
  std::uint32_t tx_words_ = 0, tx_length_ = 0, tx_used_ = 0;
  bool held_ = false;
  std::uint32_t int_sts_ = 0, int_en_ = 0, irq_cfg_ = 0, mac_cmd_ = 0, mac_data_ = 0;
};

inline FakeRegister::operator std::uint32_t() const { return chip_->read(offset_); }
inline FakeRegister& FakeRegister::operator=(std::uint32_t value) {
  chip_->write(offset_, value);
  return *this;
}

}  // namespace pollstack::firmware::testing
