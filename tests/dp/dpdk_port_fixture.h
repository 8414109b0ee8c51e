/* SPDX-License-Identifier: MIT */
/*
 * The wire of the DPDK backend tests (test_dpdk_ring, test_dpdk_crypt,
 * test_dpdk_power): an ethdev port made of two rte_rings
 * (rte_eth_from_rings), the test playing the peer on the other side: it
 * enqueues frames on the port's rx ring and dequeues what the lcore
 * transmits. The backend binds US_IP:US_PORT (198.18.0.1:7946) there.
 * Header only, as dpdk_eal_test.h; call after EAL is up (each Test is a
 * process).
 */
#ifndef DPDK_PORT_FIXTURE_H_INCLUDED
#define DPDK_PORT_FIXTURE_H_INCLUDED

#include <criterion/criterion.h>

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"
#include "dp_test_util.h"

/* The peer the test plays, and the datagrams it sends. */
#define US_IP 0xc6120001u	/* 198.18.0.1: the backend */
#define PEER_IP 0xc6120002u	/* 198.18.0.2: the test, on the wire */
#define US_PORT 7946
#define PEER_PORT 7947

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* ping {SeqNo 1, Node "b"} and ack {SeqNo 1, nil}: wire.md Appendix A. */
static const uint8_t ping[] = {
	0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'b',
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
};
static const uint8_t ack[] = {
	0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0,
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x01,
};
/* nack {SeqNo 300}: memberlist, but not a ping: goes to control. */
static const uint8_t nack[] = {
	0x0b, 0x81, 0xa5, 'S', 'e', 'q', 'N', 'o', 0xcd, 0x01, 0x2c,
};

/* The test's side of the port. */
struct dpdk_port_fx {
	struct rte_ring *wire_in;	/* test -> port rx */
	struct rte_ring *wire_out;	/* port tx -> test */
	struct rte_mempool *pool;	/* the test's frames */
	uint16_t port;
	struct dp_pkt_self us;		/* what the backend should be */
};

/* Make the port and point cfg at it (bind US_IP:US_PORT, port_id). */
static inline void
dpdk_port_fx_up(struct dpdk_port_fx *fx, struct dp_cfg *cfg)
{
	struct rte_ether_addr mac;
	int p;

	fx->wire_in = rte_ring_create("wire_in", 1024, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	fx->wire_out = rte_ring_create("wire_out", 1024, SOCKET_ID_ANY,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	fx->pool = rte_pktmbuf_pool_create("test_pool", 1023, 0, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	cr_assert(fx->wire_in && fx->wire_out && fx->pool);
	p = rte_eth_from_rings("gdring", &fx->wire_in, 1, &fx->wire_out, 1,
			       SOCKET_ID_ANY);
	cr_assert_geq(p, 0, "rte_eth_from_rings: %s", rte_strerror(rte_errno));
	fx->port = (uint16_t)p;
	cr_assert_eq(rte_eth_macaddr_get(fx->port, &mac), 0);
	memcpy(fx->us.mac, mac.addr_bytes, 6);
	fx->us.ip = US_IP;
	fx->us.port = US_PORT;
	cfg->bind.ip_len = 4;
	memcpy(cfg->bind.ip, "\xc6\x12\x00\x01", 4);
	cfg->bind.port = US_PORT;
	cfg->port_id = fx->port;
}

/* Delete the backend on the port (NULL: none), then the pool and EAL. */
static inline void
dpdk_port_fx_down(struct dpdk_port_fx *fx, struct dp *dp)
{
	dp_delete(dp);
	rte_mempool_free(fx->pool);
	rte_eal_cleanup();
}

/* Put one frame on the port's rx side, with a NIC's RX offload flags. */
static inline void
dpdk_port_fx_put(struct dpdk_port_fx *fx, const uint8_t *f, size_t len,
		 uint64_t ol_flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(fx->pool);

	cr_assert_not_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	m->ol_flags = ol_flags;
	cr_assert_eq(rte_ring_enqueue(fx->wire_in, m), 0);
}

/*
 * The next frame the port transmitted, copied into frame (cap bytes) with
 * its size in *len, waiting until deadline (dp_test_now_ms()'s clock).
 * false: none came.
 */
static inline bool
dpdk_port_fx_take(struct dpdk_port_fx *fx, uint8_t *frame, size_t cap,
		  size_t *len, uint64_t deadline)
{
	struct rte_mbuf *m;
	void *obj;

	while (rte_ring_dequeue(fx->wire_out, &obj) != 0) {
		if (dp_test_now_ms() >= deadline)
			return false;
		usleep(100);
	}
	m = obj;
	*len = rte_pktmbuf_data_len(m);
	cr_assert_leq(*len, cap, "a %zu-byte frame", *len);
	memcpy(frame, rte_pktmbuf_mtod(m, void *), *len);
	rte_pktmbuf_free(m);
	return true;
}

#endif /* DPDK_PORT_FIXTURE_H_INCLUDED */
