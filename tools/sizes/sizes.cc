// Prints the compile-time sizes of the composed stack and of each operation (the budgets they
// must stay within are static_asserted in driver_channel/stack.h). Each send operation holds the one
// below it by value, so each line is the line below plus that layer's own fields.
#include <cstdio>

#include "driver_channel/stack_channel.h"
#include "layers/services/udp_echo.h"
#include "driver_channel/stack.h"

int main() {
  using namespace pollstack;
  using namespace pollstack::net;
  struct Row {
    const char* name;
    std::size_t bytes;
    const char* holds;
  };
  const Row rows[] = {
      {"StackChannel::TxReservation", sizeof(driver_channel::StackChannel::TxReservation), "channel pointer, Waiter, state"},
      {"Ethernet::Send", sizeof(EthernetSend), "TxReservation"},
      {"Arp::Send", sizeof(ArpSend), "Ethernet::Send, Waiter"},
      {"Ipv4::Send", sizeof(Ipv4Send), "Arp::Send, the route"},
      {"Udp::Send", sizeof(UdpSend), "Ipv4::Send"},
      {"Udp::Receive", sizeof(UdpReceive), "socket id, caller's buffer span, Waiter"},
      {"Interface::Task (receive path, transmit turns)", sizeof(Stack::Task), "OneOf: the device receive, or ARP's, ICMP's or TCP's Transmit"},
      {"UdpEchoService", sizeof(UdpEchoService<Stack::UdpLayer>), "Receive, Udp::Send, 1472-byte buffer"},
      {"Tcp::Connect", sizeof(TcpConnect), "Ipv4::Send (the SYN), socket id, Waiter"},
      {"Tcp::Write", sizeof(TcpWrite), "socket id, caller's data span, Waiter"},
      {"Tcp::Read", sizeof(TcpRead), "socket id, caller's buffer span, Waiter"},
      {"Tcp::Transmit", sizeof(Stack::TcpLayer::Transmit), "Ipv4::Send, the segment's header fields"},
      {"Tcp (8 connections, 16 + 16 KiB each)", sizeof(Stack::TcpLayer), "connection table with its rings, listeners"},
      {"Interface (all layers, 8 sockets)", sizeof(Stack), "Ethernet, Arp + cache, Ipv4, Icmp, Udp socket table, Tcp"},
  };
  std::printf("| type | bytes | holds by value |\n|---|---:|---|\n");
  for (const Row& r : rows) std::printf("| %s | %zu | %s |\n", r.name, r.bytes, r.holds);
  return 0;
}
