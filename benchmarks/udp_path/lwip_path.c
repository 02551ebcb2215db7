/* lwIP's UDP transmit and receive paths for the side-by-side benchmark: see lwip_path.h. */
#include "benchmarks/udp_path/lwip_path.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ethernet.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

enum {
  kFrameBytes = 1514,       /* an Ethernet frame at MTU 1500, without its FCS */
  kArpFrameBytes = 14 + 28, /* Ethernet + ARP for IPv4 */
};

static struct {
  LwipPathConfig config;
  struct netif netif;
  struct udp_pcb* pcb;
  ip_addr_t peer;
  /* The link's transmit slots (a driver's DMA ring). */
  uint8_t tx_slots[LWIP_PATH_BATCH][kFrameBytes];
  size_t tx_bytes[LWIP_PATH_BATCH];
  unsigned tx_used;
  /* Received frames the driver made pbufs of, not yet given to the stack. */
  struct pbuf* rx_queue[LWIP_PATH_BATCH];
  unsigned rx_queued;
  /* The application's receive buffer. */
  uint8_t received[kFrameBytes];
  size_t received_bytes;
  unsigned delivered;
} world;

static int lwip_ready;

static err_t link_output(struct netif* netif, struct pbuf* p) {
  (void)netif;
  if (world.tx_used == LWIP_PATH_BATCH || p->tot_len > kFrameBytes) return ERR_MEM;
  world.tx_bytes[world.tx_used] = pbuf_copy_partial(p, world.tx_slots[world.tx_used], p->tot_len, 0);
  ++world.tx_used;
  return ERR_OK;
}

static err_t netif_setup(struct netif* netif) {
  netif->name[0] = 'p';
  netif->name[1] = 'b';
  netif->output = etharp_output;
  netif->linkoutput = link_output;
  netif->mtu = 1500;
  netif->hwaddr_len = ETH_HWADDR_LEN;
  memcpy(netif->hwaddr, world.config.our_mac, ETH_HWADDR_LEN);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

static void on_receive(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* from, u16_t port) {
  (void)arg;
  (void)pcb;
  (void)from;
  (void)port;
  world.received_bytes = pbuf_copy_partial(p, world.received, sizeof world.received, 0);
  ++world.delivered;
  pbuf_free(p);
}

/* The peer asks who has our address: lwIP answers and keeps the peer in its cache. */
static int learn_peer(void) {
  uint8_t frame[kArpFrameBytes];
  const LwipPathConfig* c = &world.config;
  memset(frame, 0xff, 6);               /* broadcast */
  memcpy(frame + 6, c->peer_mac, 6);
  frame[12] = 0x08, frame[13] = 0x06;   /* ARP */
  frame[14] = 0, frame[15] = 1;         /* Ethernet */
  frame[16] = 0x08, frame[17] = 0x00;   /* IPv4 */
  frame[18] = 6, frame[19] = 4;
  frame[20] = 0, frame[21] = 1;         /* request */
  memcpy(frame + 22, c->peer_mac, 6);
  memcpy(frame + 28, c->peer_ip, 4);
  memset(frame + 32, 0, 6);
  memcpy(frame + 38, c->our_ip, 4);
  struct pbuf* p = pbuf_alloc(PBUF_RAW, sizeof frame, PBUF_RAM);
  if (p == NULL) return -1;
  pbuf_take(p, frame, sizeof frame);
  if (world.netif.input(p, &world.netif) != ERR_OK) pbuf_free(p);

  struct eth_addr* mac = NULL;
  const ip4_addr_t* ip = NULL;
  if (etharp_find_addr(&world.netif, ip_2_ip4(&world.peer), &mac, &ip) < 0) return -1;
  return memcmp(mac->addr, c->peer_mac, ETH_HWADDR_LEN) == 0 ? 0 : -1;
}

int lwip_path_open(const LwipPathConfig* config) {
  if (config->payload_bytes > sizeof world.received || config->peer_frame_bytes > kFrameBytes) return -1;
  if (!lwip_ready) {
    lwip_init();
    lwip_ready = 1;
  }
  memset(&world, 0, sizeof world);
  world.config = *config;
  const LwipPathConfig* c = &world.config;
  ip4_addr_t ip, mask, gateway;
  IP4_ADDR(&ip, c->our_ip[0], c->our_ip[1], c->our_ip[2], c->our_ip[3]);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gateway, 0, 0, 0, 0);
  IP_ADDR4(&world.peer, c->peer_ip[0], c->peer_ip[1], c->peer_ip[2], c->peer_ip[3]);
  if (netif_add(&world.netif, &ip, &mask, &gateway, NULL, netif_setup, ethernet_input) == NULL) return -2;
  netif_set_up(&world.netif);
  if (learn_peer() != 0) return -3;
  world.pcb = udp_new();
  if (world.pcb == NULL) return -4;
  if (udp_bind(world.pcb, IP_ANY_TYPE, c->our_port) != ERR_OK) return -5;
  udp_recv(world.pcb, on_receive, NULL);
  world.tx_used = 0; /* what lwIP sent while coming up: the gratuitous ARP, the ARP reply */
  return 0;
}

void lwip_path_close(void) {
  for (unsigned i = 0; i < world.rx_queued; ++i) pbuf_free(world.rx_queue[i]);
  world.rx_queued = 0;
  if (world.pcb != NULL) udp_remove(world.pcb);
  world.pcb = NULL;
  netif_remove(&world.netif);
}

unsigned lwip_path_send(void) {
  const LwipPathConfig* c = &world.config;
  struct pbuf* p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)c->payload_bytes, PBUF_RAM);
  if (p == NULL) return 0;
  pbuf_take(p, c->payload, (u16_t)c->payload_bytes);
  const err_t sent = udp_sendto(world.pcb, p, &world.peer, c->peer_port);
  pbuf_free(p);
  return sent == ERR_OK ? 1u : 0u;
}

unsigned lwip_path_drain_tx(uint8_t* keep_last, size_t keep_capacity, size_t* kept_bytes) {
  const unsigned n = world.tx_used;
  if (n > 0 && keep_last != NULL) {
    const size_t bytes = world.tx_bytes[n - 1] < keep_capacity ? world.tx_bytes[n - 1] : keep_capacity;
    memcpy(keep_last, world.tx_slots[n - 1], bytes);
    *kept_bytes = bytes;
  }
  world.tx_used = 0;
  return n;
}

unsigned lwip_path_inject_rx(unsigned count) {
  const LwipPathConfig* c = &world.config;
  unsigned queued = 0;
  while (queued < count && world.rx_queued < LWIP_PATH_BATCH) {
    struct pbuf* p = pbuf_alloc(PBUF_RAW, (u16_t)c->peer_frame_bytes, PBUF_RAM);
    if (p == NULL) break;
    pbuf_take(p, c->peer_frame, (u16_t)c->peer_frame_bytes);
    world.rx_queue[world.rx_queued++] = p;
    ++queued;
  }
  return queued;
}

unsigned lwip_path_receive(void) {
  const unsigned before = world.delivered;
  for (unsigned i = 0; i < world.rx_queued; ++i) {
    struct pbuf* p = world.rx_queue[i];
    if (world.netif.input(p, &world.netif) != ERR_OK) pbuf_free(p);
  }
  world.rx_queued = 0;
  return world.delivered - before;
}

const uint8_t* lwip_path_received(size_t* bytes) {
  *bytes = world.received_bytes;
  return world.received;
}
