#pragma once
// The same UDP paths as benchmarks/udp_path, in the other styles users compare the state
// machines against. Every variant runs in a UdpWorld (real channel, in-thread driver side, the
// neighbour cached), uses the same layer building blocks (the codecs, the channel, the socket
// table, each layer's header writer and filter), and differs only in how the layers call each
// other:
//
//   sync              plain functions (benchmarks/udp_path)
//   state_machine     the product: poll operations holding the layer below by value (udp_path)
//   coroutine         each layer a C++20 coroutine co_awaiting the one below; frames on the heap
//   arena_coroutine   the same, frames from a FrameArena (no heap)
//   boxed             each layer behind a virtual interface returning a heap-allocated poll
//                     object (the async_trait desugaring)
//   callback          completion callbacks (pointer + context, no heap) passed down every layer
//
// Each variant's send() sends one datagram to the peer. receive() is an application reading a
// batch: its first read finds the socket empty and waits in the style's own way (Pending,
// suspended, parked), registered with the socket's waker; the receive path takes every delivered
// frame into the socket, which wakes it; it then reads what else is queued without waiting (the
// synchronous variant cannot wait: it runs the receive path first). Both return how many
// datagrams they completed. Where the channel is full, every variant waits without dropping:
// state machines and boxed objects return Pending, coroutines suspend in a co_await on the
// channel, callbacks are parked; all are woken by the channel's waker. (ARP: the state machine
// and boxed variants would wait for a resolution; the coroutine and callback variants use the
// cached address only, as the benchmark's neighbour always is: waiting for ARP in those two
// styles is not built.)

#include <cstddef>
#include <cstdint>
#include <span>

#include "benchmarks/udp_path/udp_paths.h"

namespace pollstack::full_path {

using bench::UdpWorld;

// The vocabulary every variant's layers pass between them.
using driver_channel::ChannelResult;
using driver_channel::TxBuffer;
using Frame = net::Stack::EthernetLayer::Frame;  // a frame being built on the way down
using FrameResult = Result<Frame, net::SendError>;

struct Variant {
  const char* name;
  std::uint32_t (*send)(UdpWorld&);
  std::uint32_t (*receive)(UdpWorld&);
  // Bytes of per-operation state for one send: sizeof the operation (state machine), the peak of
  // live coroutine frames or boxes during one send, or the callback contexts.
  std::size_t (*send_state_bytes)();
};

/// All variants, sync first, in a fixed order.
std::span<const Variant> variants();

// Per variant (defined in <variant>_path.cc).
std::uint32_t coroutine_send(UdpWorld& world);
std::uint32_t coroutine_receive(UdpWorld& world);
std::size_t coroutine_send_state_bytes();
std::uint32_t arena_coroutine_send(UdpWorld& world);
std::uint32_t arena_coroutine_receive(UdpWorld& world);
std::size_t arena_coroutine_send_state_bytes();
std::uint32_t boxed_send(UdpWorld& world);
std::uint32_t boxed_receive(UdpWorld& world);
std::size_t boxed_send_state_bytes();
std::uint32_t callback_send(UdpWorld& world);
std::uint32_t callback_receive(UdpWorld& world);
std::size_t callback_send_state_bytes();

}  // namespace pollstack::full_path
