/* SPDX-License-Identifier: MIT */
/*
 * dpdk-fpbench: the DPDK backend's ping -> ack fast path in one process,
 * over an ethdev port made of two rte_rings (rte_eth_from_rings). The
 * main thread plays the wire: it keeps --window pings queued on the
 * port's rx ring and takes the acks off its tx ring; the backend's worker
 * lcore does the real work (dp_dpdk_lcore_handle). Meant both for wall
 * clock rates and for `valgrind --tool=callgrind` instruction counts
 * (scripts/bench-dpdk.sh), so it is small and runs a fixed ping count.
 *
 *   dpdk-fpbench <EAL args, >= 2 lcores> -- [--pings N] [--window W]
 *                [--no-payload] [--hw-csum] [--encrypt BASE64KEY]
 *                [--crypto-backend auto|evp|libsodium|ipsec-mb]
 *
 * --hw-csum marks the pings as a NIC with RX checksum offload would (IP
 * and L4 checksum GOOD), so the count shows the fast path without the
 * software checksum checks that net_ring and net_memif need.
 * --encrypt gives the backend a keyring and seals the ping under it
 * (once: every ping is the same sealed datagram), so the lcore opens each
 * ping and seals each ack (serf -encrypt). --crypto-backend picks the
 * AES-GCM implementation (swim_crypto_backend.h; default auto), so one
 * binary measures each; the one used is printed as "crypto NAME".
 *
 * Prints "pings N secs S rate R acks/s ns_per_ack X". Bounded: N <= 1e9
 * and a 60 s stall deadline.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <sodium.h>

#include "dp.h"
#include "dp_pkt.h"
#include "swim_crypto.h"
#include "swim_crypto_backend.h"
#include "swim_wire.h"

#define FB_BURST 32
#define FB_NAME "bench-node"

struct fb {
	struct rte_ring *wire_in;	/* -> port rx */
	struct rte_ring *wire_out;	/* port tx -> */
	struct rte_mempool *pool;	/* the pings */
	struct dp *dp;
	uint8_t tmpl[256];		/* ping frame, SeqNo patched per ping */
	size_t tmpl_len;
	uint64_t pings;			/* --pings */
	unsigned window;		/* --window */
	int no_payload;			/* --no-payload: ack payload nil */
	uint64_t ol_flags;		/* --hw-csum: RX checksums GOOD */
	const char *key_b64;		/* --encrypt */
	int backend;			/* --crypto-backend */
	struct swim_keyring *ring;	/* its keyring, else NULL */
};

static uint64_t
fb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t *
fb_f64(uint8_t *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	*p++ = 0xcb;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(u >> (8 * i));
	return p;
}

/* 01 + Coordinate{Adjustment 0, Error 1.5, Height 1e-5, Vec 8 x 0}: what
 * a fresh serf node acks with (wire.md 10.9). */
static uint16_t
fb_serf_payload(uint8_t *out)
{
	uint8_t *p = out;

	*p++ = 0x01;
	*p++ = 0x84;
	*p++ = 0xaa;
	memcpy(p, "Adjustment", 10);
	p = fb_f64(p + 10, 0.0);
	*p++ = 0xa5;
	memcpy(p, "Error", 5);
	p = fb_f64(p + 5, 1.5);
	*p++ = 0xa6;
	memcpy(p, "Height", 6);
	p = fb_f64(p + 6, 1e-5);
	*p++ = 0xa3;
	memcpy(p, "Vec", 3);
	p += 3;
	*p++ = 0x98;
	for (int i = 0; i < 8; i++)
		p = fb_f64(p, 0.0);
	return (uint16_t)(p - out);
}

/* Which AES-GCM the lcore will use for the primary key. */
static void
fb_say_backend(const struct swim_keyring *ring)
{
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);

	if (c != NULL && swim_crypto_ctx_bind(c, ring) == 0)
		printf("crypto %s\n", swim_crypto_backend_name(
					    swim_crypto_ctx_key_backend(c, 0)));
	swim_crypto_ctx_delete(c);
}

static int
fb_args(int argc, char **argv, struct fb *fb)
{
	static const struct option opts[] = {
		{ "pings", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "no-payload", no_argument, NULL, 'P' },
		{ "hw-csum", no_argument, NULL, 'H' },
		{ "encrypt", required_argument, NULL, 'e' },
		{ "crypto-backend", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	fb->pings = 1000000;
	fb->window = 512;
	optind = 1;	/* rte_eal_init ran getopt over the EAL part */
	while ((opt = getopt_long(argc, argv, "n:w:PHe:b:", opts, NULL)) !=
	       -1) {
		if (opt == 'n')
			fb->pings = strtoull(optarg, NULL, 10);
		else if (opt == 'w')
			fb->window = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'P')
			fb->no_payload = 1;
		else if (opt == 'H')
			fb->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD |
				       RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		else if (opt == 'e')
			fb->key_b64 = optarg;
		else if (opt == 'b' &&
			 (fb->backend = swim_crypto_backend_parse(optarg)) < 0)
			return -1;
		else if (opt != 'b')
			return -1;
	}
	if (fb->pings == 0 || fb->pings > 1000000000ull || fb->window == 0 ||
	    fb->window > 1000)
		return -1;
	return 0;
}

/* A 5-key serf-like ping to FB_NAME; SeqNo 0x10000 keeps a u32 slot. */
static int
fb_template(struct fb *fb, const uint8_t us_mac[6])
{
	static const uint8_t src_ip[4] = { 198, 18, 0, 2 };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	struct dp_udp4_hdrs h = { .src_ip = 0xc6120002u, .dst_ip = 0xc6120001u,
				  .src_port = 7947, .dst_port = 7946,
				  .src_mac = { 2, 0, 0, 0, 0, 2 } };
	uint8_t body[128], sealed[192];
	const uint8_t *payload = body;
	int n;

	m.ping.seq_no = 0x10000;
	m.ping.node.ptr = (const uint8_t *)FB_NAME;
	m.ping.node.len = sizeof(FB_NAME) - 1;
	m.ping.source_addr.ptr = src_ip;
	m.ping.source_addr.len = 4;
	m.ping.source_node.ptr = (const uint8_t *)"peer";
	m.ping.source_node.len = 4;
	m.ping.source_port = 7947;
	n = swim_wire_encode_msg(&m, body, sizeof(body));
	if (n < 0)
		return -1;
	if (fb->ring != NULL) {
		n = swim_crypto_seal_udp(fb->ring, body, (size_t)n, sealed,
					 sizeof(sealed));
		if (n < 0)
			return -1;
		payload = sealed;
	}
	memcpy(h.dst_mac, us_mac, 6);
	n = dp_pkt_build_udp4(fb->tmpl, sizeof(fb->tmpl), &h, payload,
			      (size_t)n);
	if (n < 0)
		return -1;
	fb->tmpl_len = (size_t)n;
	return 0;
}

static int
fb_setup(struct fb *fb)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 1024 };
	struct dp_snapshot snap;
	struct rte_ether_addr mac;
	char err[256] = "";
	int port;

	fb->wire_in = rte_ring_create("fb_in", 1024, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	fb->wire_out = rte_ring_create("fb_out", 2048, SOCKET_ID_ANY,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	fb->pool = rte_pktmbuf_pool_create("fb_pool", 4095, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (fb->wire_in == NULL || fb->wire_out == NULL || fb->pool == NULL)
		return -1;
	port = rte_eth_from_rings("fb_port", &fb->wire_in, 1, &fb->wire_out,
				  1, SOCKET_ID_ANY);
	if (port < 0 || rte_eth_macaddr_get((uint16_t)port, &mac) != 0)
		return -1;
	cfg.bind.ip_len = 4;
	cfg.bind.ip[0] = 198;
	cfg.bind.ip[1] = 18;
	cfg.bind.ip[3] = 1;
	cfg.bind.port = 7946;
	cfg.port_id = (unsigned)port;
	if (fb->key_b64 != NULL) {
		int rc = -1;

		if (sodium_init() >= 0 &&
		    (rc = swim_crypto_set_default_backend(fb->backend)) == 0)
			fb->ring = swim_keyring_new(&rc);
		if (fb->ring != NULL)
			rc = swim_keyring_add_base64(fb->ring, fb->key_b64,
						     strlen(fb->key_b64));
		if (rc != 0) {
			fprintf(stderr, "dpdk-fpbench: --encrypt: %s\n",
				swim_crypto_strerror(rc));
			return -1;
		}
		cfg.keyring = fb->ring;
		fb_say_backend(fb->ring);
	}
	fb->dp = dp_new("dpdk", &cfg, err, sizeof(err));
	if (fb->dp == NULL) {
		fprintf(stderr, "dpdk-fpbench: %s\n", err);
		return -1;
	}
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.name, sizeof(snap.name), "%s", FB_NAME);
	if (!fb->no_payload)
		snap.ack_payload_len = fb_serf_payload(snap.ack_payload);
	dp_publish(fb->dp, &snap);
	return fb_template(fb, mac.addr_bytes);
}

/*
 * Queue up to n pings on the port's rx ring, all alike (the fast path
 * cannot tell one SeqNo from another). @retval pings queued.
 */
static unsigned
fb_send(struct fb *fb, unsigned n)
{
	struct rte_mbuf *m[FB_BURST];
	unsigned done;

	n = n > FB_BURST ? FB_BURST : n;
	if (rte_pktmbuf_alloc_bulk(fb->pool, m, n) != 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(
			m[i], (uint16_t)fb->tmpl_len);

		memcpy(p, fb->tmpl, fb->tmpl_len);
		m[i]->ol_flags = fb->ol_flags;
	}
	done = rte_ring_sp_enqueue_burst(fb->wire_in, (void **)m, n, NULL);
	if (done < n)
		rte_pktmbuf_free_bulk(m + done, n - done);
	return done;
}

static int
fb_run(struct fb *fb)
{
	uint64_t sent = 0, acks = 0, last = 0;
	uint64_t start = fb_now_ns(), stall = start;
	void *out[FB_BURST];

	while (acks < fb->pings) {
		unsigned nb;
		uint64_t now;

		if (sent - acks < fb->window && sent < fb->pings)
			sent += fb_send(fb, (unsigned)(fb->window -
						       (sent - acks)));
		nb = rte_ring_sc_dequeue_burst(fb->wire_out, out, FB_BURST,
					       NULL);
		rte_pktmbuf_free_bulk((struct rte_mbuf **)out, nb);
		acks += nb;
		now = fb_now_ns();
		if (acks != last) {
			last = acks;
			stall = now;
		} else if (now - stall > 60000000000ull) {
			fprintf(stderr, "dpdk-fpbench: stalled at %" PRIu64
				" acks\n", acks);
			return -1;
		}
	}
	double secs = (double)(fb_now_ns() - start) / 1e9;

	printf("pings %" PRIu64 " secs %.3f rate %.0f acks/s ns_per_ack %.1f\n",
	       acks, secs, (double)acks / secs, secs * 1e9 / (double)acks);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct fb fb;
	int used = rte_eal_init(argc, argv);
	int rc = 1;

	if (used < 0) {
		fprintf(stderr, "dpdk-fpbench: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	if (fb_args(argc - used, argv + used, &fb) != 0) {
		fprintf(stderr, "usage: dpdk-fpbench <EAL args> -- [--pings 1..1e9] [--window 1..1000] [--no-payload] [--hw-csum] [--encrypt BASE64KEY] [--crypto-backend auto|evp|libsodium|ipsec-mb]\n");
		goto out;
	}
	if (fb_setup(&fb) == 0 && fb_run(&fb) == 0)
		rc = 0;
	dp_delete(fb.dp);
	swim_keyring_delete(fb.ring);
out:
	rte_eal_cleanup();
	return rc;
}
