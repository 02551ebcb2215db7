// Instantiates the whole product stack once, in a product library built with PRODUCT_COPTS, so
// that the firmware build and the no-heap check (tools/no_heap_check.sh) cover every layer's code
// and not only the parts some test happens to use.

#include "driver_channel/stack.h"

#include "layers/services/udp_discard.h"
#include "layers/services/udp_echo.h"

namespace pollstack::net {

template class Ethernet<driver_channel::StackChannel>;
template class Arp<Stack::EthernetLayer>;
template class Ipv4<Stack::ArpLayer>;
template class Icmp<Stack::Ipv4Layer>;
template class Udp<Stack::Ipv4Layer>;
template class Interface<driver_channel::StackChannel>;
template class UdpEchoService<Stack::UdpLayer>;
template class UdpDiscardService<Stack::UdpLayer>;

}  // namespace pollstack::net
