#pragma once
// pollstackd's stack: the product layers over the driver channel (driver_channel/stack.h's
// net::Stack) with TCP buffers sized for a host: 256 KiB to send and 1 MiB to receive per
// connection, where the product default (layers/options.h) is 16 KiB each way for small targets.
// A window is what one round trip carries: 16 KiB over the TAP path (round trips of ~100 us and
// more under load) held iperf3 near 1.2 Gbit/s either way; 256 KiB each way gave 4.1-4.9 Gbit/s
// into the stack and 7.0-7.3 out of it, a 1 MiB receive window 4.4-5.2 into it (tools/iperf3_tap.sh,
// 2026-12-05). Linux starts a receive buffer at 128 KiB (tcp_rmem) and lets it grow to 6 MiB;
// these are fixed, so they take a size in that range once. The 8 connections' buffers come to
// 10 MiB, in pollstackd's static storage.
#include <cstddef>

#include "driver_channel/stack.h"

namespace pollstack::tools {

struct HostConfig : net::DefaultConfig {
  static constexpr std::size_t kTcpSendBufferBytes = 256 * 1024;
  static constexpr std::size_t kTcpReceiveBufferBytes = 1024 * 1024;
};
using HostStack = net::Interface<driver_channel::StackChannel, HostConfig>;

}  // namespace pollstack::tools
