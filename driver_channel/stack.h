#pragma once
/// The product instantiation on a hosted system: an Interface over the real driver channel (one
/// implementation of the NIC contract), and the sizes of its composed operations, fixed at compile
/// time. A change that grows one past its budget fails the
/// build here, where the reason is easy to see; tools/sizes prints the actual values (README).

#include "driver_channel/stack_channel.h"
#include "layers/interface.h"

namespace pollstack::net {

using Stack = Interface<driver_channel::StackChannel>;
using UdpSend = Stack::UdpLayer::Send;          // holds Ipv4Send
using Ipv4Send = Stack::Ipv4Layer::Send;        // holds ArpSend
using ArpSend = Stack::ArpLayer::Send;          // holds EthernetSend
using EthernetSend = Stack::EthernetLayer::Send;  // holds the channel's TxReservation
using UdpReceive = Stack::UdpLayer::Receive;
using TcpConnect = Stack::TcpLayer::Connect;
using TcpWrite = Stack::TcpLayer::Write;
using TcpRead = Stack::TcpLayer::Read;

// Budgets, in bytes. Each send operation is the one below plus its own few fields: the nesting is
// by value, so these grow by addition, never by indirection. The 48-byte Waiter (its place in a
// FIFO of waiters, left when the operation is dropped) is in the channel reservation, in the ARP
// send (waiting for resolution) and in a UDP receive.
static_assert(sizeof(EthernetSend) <= 88);
static_assert(sizeof(ArpSend) <= 152);
static_assert(sizeof(Ipv4Send) <= 192);
static_assert(sizeof(UdpSend) <= 232);
static_assert(sizeof(UdpReceive) <= 80);
static_assert(sizeof(Stack::Task) <= 304);
// TCP's connection table is mostly its buffers (Config: kTcpConnections × send + receive); the
// rest of the stack, and TCP's own bookkeeping, have budgets of their own (about 660 bytes a
// connection since RFC 7323 and SACK: the scoreboard's 8 ranges and the held ranges' stamps).
static_assert(sizeof(Stack) - sizeof(Stack::TcpLayer) <= 8 * 1024);
static_assert(sizeof(Stack::TcpLayer) - kTcpConnections * (kTcpSendBufferBytes + kTcpReceiveBufferBytes) <= 6144);
static_assert(sizeof(TcpConnect) <= 288);  // holds Ipv4Send (the SYN goes out from the application's task)
static_assert(sizeof(TcpWrite) <= 96);
static_assert(sizeof(TcpRead) <= 88);

}  // namespace pollstack::net
