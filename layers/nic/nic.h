#pragma once
/// The NIC contract: what a network device must offer the stack. Written down once here, checked
/// by the compiler (the Nic concept), and implemented by driver_channel::StackChannel (shared
/// memory to a driver process, hosted Linux), by the LAN9118 driver of tools/firmware, and by the fake
/// device of the layer tests. Nothing here knows an operating system.
///
/// In one paragraph: transmission is reserve, write, submit. `reserve_tx()` returns a state
/// machine that is Ready with an owning TxBuffer once the device has a buffer and a transmit slot,
/// and Pending otherwise (with the waker queued first come, first served): this is where
/// backpressure is born. The stack writes a frame into `bytes()` in place and calls
/// `submit(length)`; dropping a TxBuffer unsubmitted gives it back. Reception: `receive()` returns
/// a machine that is Ready with an owning RxBuffer (one received frame, `bytes()`), and
/// `try_receive()` takes a waiting frame without registering anything; dropping the RxBuffer gives
/// the memory back to the device to receive into. A device that fails (its driver is gone, it
/// broke its protocol) completes every operation with NicError::kLinkDown instead of leaving it
/// waiting. Its capacities are compile-time constants, which the stack's configuration is checked
/// against (layers/interface.h): how large a frame a buffer holds, and how many receive buffers
/// the stack may hold at once (queued datagrams keep theirs).
///
/// Operations refer to their device and must not outlive it; one thread owns a device.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "statemachines/result.h"
#include "statemachines/state_machine.h"

namespace pollstack::net {

enum class NicError : std::uint8_t {
  kLinkDown,  // the device is gone or failed: nothing will be sent or received until it returns
};

/// A value or a NicError.
template <class T>
using NicResult = Result<T, NicError>;

template <class N>
concept Nic = requires(N& nic, typename N::TxBuffer& tx, const typename N::RxBuffer& rx, std::uint32_t length) {
  // Capacities.
  { N::kBufferBytes } -> std::convertible_to<std::size_t>;  // bytes of one frame buffer
  { N::kRxBuffers } -> std::convertible_to<std::size_t>;    // received frames the stack may hold at once
  // Transmission: a poll operation for a buffer, then an owning handle.
  requires StateMachine<typename N::TxReservation>;
  requires std::same_as<OutputOf<typename N::TxReservation>, NicResult<typename N::TxBuffer>>;
  { nic.reserve_tx() } -> std::same_as<typename N::TxReservation>;
  { tx.bytes() } -> std::same_as<std::span<std::byte>>;
  { tx.submit(length) } -> std::same_as<bool>;  // false: the link went down, the frame is dropped (counted)
  requires std::move_constructible<typename N::TxBuffer>;
  // Reception: a poll operation for a frame, a non-waiting attempt, and an owning handle.
  requires StateMachine<typename N::Receive>;
  requires std::same_as<OutputOf<typename N::Receive>, NicResult<typename N::RxBuffer>>;
  { nic.receive() } -> std::same_as<typename N::Receive>;
  { nic.try_receive() } -> std::same_as<std::optional<NicResult<typename N::RxBuffer>>>;
  { rx.bytes() } -> std::same_as<std::span<const std::byte>>;
  requires std::move_constructible<typename N::RxBuffer>;
};

/// Optional: a device that can hand frames over in batches (like Linux's xmit_more) offers
/// `batch()`, a guard: frames submitted and receive buffers given back while one lives reach the
/// device together when the last one ends, for one publication and one doorbell decision instead
/// of one per frame. The interface task holds one for each poll; an application may hold one
/// around a burst of sends, and should end it before it waits: frames held by a guard kept across
/// a Pending reach the device only when the device hands them over by itself (StackChannel: every
/// kMaxBatch frames, when a reservation finds no room, and in service() and prepare_to_sleep(),
/// which its I/O loop calls). A device without batches hands each frame over at once.
template <class N>
concept BatchingNic = Nic<N> && requires(N& nic) { nic.batch(); };

/// The guard for a device without batches.
struct NoBatch {};

/// `nic.batch()` if the device batches, otherwise a guard that does nothing.
template <class N>
auto open_batch(N& nic) noexcept {
  if constexpr (BatchingNic<N>) {
    return nic.batch();
  } else {
    return NoBatch{};
  }
}

}  // namespace pollstack::net
