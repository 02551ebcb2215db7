#pragma once
/// Parsed<Repr, Error>: what a codec's parse() returns: the decoded header and the payload that
/// follows it, or the reason the packet was rejected. No exceptions; the receive path counts the
/// reason and drops the packet.

#include <cstddef>
#include <span>

#include "statemachines/contract.h"

namespace pollstack::wire {

template <class Repr, class Error>
class Parsed {
 public:
  constexpr Parsed(const Repr& repr, std::span<const std::byte> payload) noexcept
      : repr_(repr), payload_(payload), ok_(true) {}
  constexpr Parsed(Error error) noexcept : error_(error) {}

  constexpr bool ok() const noexcept { return ok_; }
  constexpr Error error() const noexcept {
    expect(!ok_, "Parsed::error() on a successful parse");
    return error_;
  }
  constexpr const Repr& repr() const noexcept {
    expect(ok_, "Parsed::repr() on a rejected packet");
    return repr_;
  }
  constexpr std::span<const std::byte> payload() const noexcept {
    expect(ok_, "Parsed::payload() on a rejected packet");
    return payload_;
  }

 private:
  Repr repr_{};
  std::span<const std::byte> payload_;
  Error error_{};
  bool ok_ = false;
};

}  // namespace pollstack::wire
