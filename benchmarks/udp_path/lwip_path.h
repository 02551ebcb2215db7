#pragma once
/* The same UDP transmit and receive paths as udp_paths.h, through lwIP 2.1.3 (Debian's liblwip,
 * raw API, one thread), for a side-by-side figure in the same run (issue #15).
 *
 * The shape of the work matches UdpWorld's:
 *  - transmit: the application's payload into a pbuf (PBUF_TRANSPORT, PBUF_RAM: Debian's
 *    PBUF_POOL buffers hold only ~592 bytes, its memp.c redefines TCP_MSS to 512), udp_sendto()
 *    through IPv4 and etharp_output() with the peer already in the ARP cache, to the netif's
 *    linkoutput, which copies the frame into one of kBatch transmit slots (what an lwIP driver
 *    does with a DMA ring: the pbuf is freed when udp_sendto() returns). The driver's share,
 *    lwip_path_drain_tx(), takes the slots back.
 *  - receive: the driver's share, lwip_path_inject_rx(), makes a pbuf for each received frame
 *    and copies the frame in (what an lwIP driver does from its DMA buffer); lwip_path_receive()
 *    hands each to netif->input (ethernet_input, ip4_input, udp_input, checksums verified), whose
 *    receive callback copies the payload into the application's buffer and frees the pbuf.
 *
 * Debian's build (lwipopts.h: NO_SYS 0, MEM_LIBC_MALLOC and MEMP_MEM_MALLOC) takes every pbuf and
 * pool element from malloc and protects them with a pthread mutex (sys_arch_protect): that is the
 * lwIP users get from the distribution, and what is measured. There is no static ARP entry in
 * that build (ETHARP_SUPPORT_STATIC_ENTRIES 0): lwip_path_open() feeds the peer's ARP request in,
 * which puts the peer in the cache; no timer runs, so it never expires.
 *
 * lwIP keeps global state: one world at a time per process. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Transmit slots and queued received frames: one benchmark batch. */
#define LWIP_PATH_BATCH 64u

typedef struct LwipPathConfig {
  uint8_t our_mac[6];
  uint8_t our_ip[4];
  uint8_t peer_mac[6];
  uint8_t peer_ip[4];
  uint16_t our_port;
  uint16_t peer_port;
  const uint8_t* payload; /* what every send sends */
  size_t payload_bytes;
  const uint8_t* peer_frame; /* what every received frame is: the peer's datagram to our port */
  size_t peer_frame_bytes;
} LwipPathConfig;

/* Sets lwIP up (once per process), adds the netif, learns the peer, binds the socket. Returns 0,
 * or a negative number naming the step that failed (see lwip_path.c). The config's buffers must
 * outlive the world. */
int lwip_path_open(const LwipPathConfig* config);
/* Removes the socket and the netif; queued frames are freed. */
void lwip_path_close(void);

/* Sends one datagram. Returns 1 if it reached the link's output, 0 if not (all transmit slots
 * taken: call lwip_path_drain_tx(), or an lwIP error). */
unsigned lwip_path_send(void);
/* The driver's share: takes every frame sent since the last call. Copies the last one into
 * `keep_last` (if not NULL; `*kept_bytes` gets its length) and returns how many there were. */
unsigned lwip_path_drain_tx(uint8_t* keep_last, size_t keep_capacity, size_t* kept_bytes);

/* The driver's share: `count` received frames (at most LWIP_PATH_BATCH queued). Returns how
 * many were queued (a pbuf allocation may fail). */
unsigned lwip_path_inject_rx(unsigned count);
/* Gives every queued frame to the stack. Returns how many datagrams the application's callback
 * received; the last one's payload is in lwip_path_received(). */
unsigned lwip_path_receive(void);
const uint8_t* lwip_path_received(size_t* bytes);

#ifdef __cplusplus
}
#endif
