/* SPDX-License-Identifier: MIT */
/*
 * dpdk-pinggen: a closed-loop memberlist ping generator on a DPDK port
 * (net_memif in the benchmark, scripts/bench-dpdk.sh). It resolves the
 * target's MAC with ARP, then keeps --window pings in flight for
 * --duration seconds, sending a new ping for every ack, and prints the
 * ack rate. Pings carry SourceAddr/Port/Node like serf's, and UDP
 * checksum 0 (allowed for IPv4) so each ping is a template copy plus a
 * 4-byte SeqNo patch: the generator must cost less than the target.
 *
 *   dpdk-pinggen <EAL args> -- --name NODE --dst IP:PORT --src IP:PORT
 *                [--window 256] [--duration 5] [--port 0]
 *
 * Output, one line: "acks N secs S rate R acks/s sent X lost L".
 * Bounded: every wait has a deadline; SIGINT/SIGTERM stop it early.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp_pkt.h"
#include "swim_wire.h"

#define PG_BURST 32
#define PG_WINDOW_MAX 65536
#define PG_DURATION_MAX 600
/* First SeqNo: from 2^16 on, msgpack keeps SeqNo a 5-byte u32. */
#define PG_SEQ0 0x10000u
/* No ack for this long with pings in flight: count them lost, refill. */
#define PG_STALL_US 20000

static volatile sig_atomic_t pg_quit;

struct pg_args {
	char name[SWIM_NAME_MAX + 1];	/* target node name */
	struct dp_pkt_self us;		/* our MAC (filled later), IP, port */
	uint32_t dst_ip;		/* host order */
	uint16_t dst_port;		/* host order */
	unsigned window;		/* pings in flight */
	unsigned duration_s;		/* measuring time */
	uint16_t port;			/* ethdev port */
};

/* The generator's state while measuring. */
struct pg {
	struct pg_args a;
	struct rte_mempool *pool;
	uint8_t dst_mac[6];		/* resolved by ARP */
	uint8_t tmpl[256];		/* a whole ping frame */
	size_t tmpl_len;
	size_t seq_off;			/* the u32 SeqNo inside tmpl */
	uint32_t seq;			/* next SeqNo */
	uint64_t sent;
	uint64_t acks;
	uint64_t lost;
	uint64_t in_flight;
};

static void
pg_on_signal(int sig)
{
	(void)sig;
	pg_quit = 1;
}

static int
pg_parse_ep(const char *s, uint32_t *ip, uint16_t *port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct in_addr in;
	long p;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	p = strtol(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, host, &in) != 1 || p <= 0 || p > 65535)
		return -1;
	*ip = ntohl(in.s_addr);
	*port = (uint16_t)p;
	return 0;
}

static int
pg_parse_args(int argc, char **argv, struct pg_args *a)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "dst", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	int bad = 0;

	a->window = 256;
	a->duration_s = 5;
	optind = 1;	/* rte_eal_init ran getopt over the EAL part */
	while ((opt = getopt_long(argc, argv, "n:d:s:w:t:p:", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'n':
			snprintf(a->name, sizeof(a->name), "%s", optarg);
			break;
		case 'd':
			bad |= pg_parse_ep(optarg, &a->dst_ip, &a->dst_port);
			break;
		case 's':
			bad |= pg_parse_ep(optarg, &a->us.ip, &a->us.port);
			break;
		case 'w':
			a->window = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			a->duration_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			a->port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		default:
			bad = 1;
		}
	}
	if (bad || a->name[0] == '\0' || a->dst_ip == 0 || a->us.ip == 0 ||
	    a->window == 0 || a->window > PG_WINDOW_MAX ||
	    a->duration_s == 0 || a->duration_s > PG_DURATION_MAX) {
		fprintf(stderr, "usage: dpdk-pinggen <EAL args> -- --name NODE --dst IP:PORT --src IP:PORT [--window 1..65536] [--duration 1..600] [--port N]\n");
		return -1;
	}
	return 0;
}

static int
pg_port_init(struct pg *pg)
{
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	uint16_t p = pg->a.port;
	int rc;

	memset(&conf, 0, sizeof(conf));
	pg->pool = rte_pktmbuf_pool_create("pg_pool", 8191, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   rte_socket_id());
	if (pg->pool == NULL || !rte_eth_dev_is_valid_port(p))
		return -ENODEV;
	rc = rte_eth_dev_configure(p, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(p, 0, 1024, rte_socket_id(), NULL,
					    pg->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(p, 0, 1024, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(p);
	if (rc == 0)
		rc = rte_eth_macaddr_get(p, &mac);
	if (rc == 0)
		memcpy(pg->a.us.mac, mac.addr_bytes, 6);
	return rc;
}

/* memif drops what is sent before the peer connects: wait for link up. */
static int
pg_wait_link(uint16_t port, unsigned timeout_ms)
{
	struct rte_eth_link link;

	for (unsigned t = 0; t < timeout_ms && !pg_quit; t += 10) {
		if (rte_eth_link_get_nowait(port, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(10);
	}
	return -ETIMEDOUT;
}

static void
pg_send_frame(struct pg *pg, const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pg->pool);

	if (m == NULL)
		return;
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	if (rte_eth_tx_burst(pg->a.port, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* ARP for the target every 200 ms until it answers (5 s at most). */
static int
pg_resolve(struct pg *pg)
{
	uint8_t f[64];
	struct rte_mbuf *rx[PG_BURST];
	struct dp_pkt_view v;

	for (unsigned t = 0; t < 25 && !pg_quit; t++) {
		dp_pkt_build_arp_request(f, sizeof(f), &pg->a.us,
					 pg->a.dst_ip);
		pg_send_frame(pg, f, 60);
		for (unsigned w = 0; w < 200; w++) {
			uint16_t nb = rte_eth_rx_burst(pg->a.port, 0, rx,
						       PG_BURST);
			int found = 0;

			for (uint16_t i = 0; i < nb; i++) {
				if (dp_pkt_parse(rte_pktmbuf_mtod(rx[i],
						 uint8_t *),
						 rx[i]->data_len, &pg->a.us,
						 &v) == DP_PKT_ARP &&
				    v.arp_op == DP_ARP_OP_REPLY &&
				    v.src_ip == pg->a.dst_ip) {
					memcpy(pg->dst_mac, v.arp_sha, 6);
					found = 1;
				}
				rte_pktmbuf_free(rx[i]);
			}
			if (found)
				return 0;
			rte_delay_ms(1);
		}
	}
	return -ETIMEDOUT;
}

/* One ping frame with SeqNo PG_SEQ0; remember where SeqNo sits. */
static int
pg_build_template(struct pg *pg)
{
	static const char src_node[] = "dpdk-pinggen";
	uint8_t ip[4] = { (uint8_t)(pg->a.us.ip >> 24),
			  (uint8_t)(pg->a.us.ip >> 16),
			  (uint8_t)(pg->a.us.ip >> 8), (uint8_t)pg->a.us.ip };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	struct dp_udp4_hdrs h = { .src_ip = pg->a.us.ip,
				  .dst_ip = pg->a.dst_ip,
				  .src_port = pg->a.us.port,
				  .dst_port = pg->a.dst_port };
	uint8_t body[192];
	static const uint8_t seq0[] = { 0xce, 0x00, 0x01, 0x00, 0x00 };
	int n;

	m.ping.seq_no = PG_SEQ0;
	m.ping.node.ptr = (const uint8_t *)pg->a.name;
	m.ping.node.len = (uint32_t)strlen(pg->a.name);
	m.ping.source_addr.ptr = ip;
	m.ping.source_addr.len = 4;
	m.ping.source_node.ptr = (const uint8_t *)src_node;
	m.ping.source_node.len = sizeof(src_node) - 1;
	m.ping.source_port = pg->a.us.port;
	n = swim_wire_encode_msg(&m, body, sizeof(body));
	if (n < 0)
		return n;
	memcpy(h.src_mac, pg->a.us.mac, 6);
	memcpy(h.dst_mac, pg->dst_mac, 6);
	n = dp_pkt_build_udp4(pg->tmpl, sizeof(pg->tmpl), &h, body, (size_t)n);
	if (n < 0)
		return n;
	pg->tmpl_len = (size_t)n;
	pg->tmpl[DP_UDP4_PAYLOAD_OFF - 2] = 0;	/* UDP checksum 0: none */
	pg->tmpl[DP_UDP4_PAYLOAD_OFF - 1] = 0;
	for (size_t i = DP_UDP4_PAYLOAD_OFF; i + 5 <= pg->tmpl_len; i++)
		if (memcmp(pg->tmpl + i, seq0, 5) == 0) {
			pg->seq_off = i + 1;
			pg->seq = PG_SEQ0;
			return 0;
		}
	return -EINVAL;
}

/* Send pings until the window is full. */
static void
pg_fill(struct pg *pg)
{
	struct rte_mbuf *m[PG_BURST];

	while (pg->in_flight < pg->a.window) {
		unsigned n = pg->a.window - (unsigned)pg->in_flight;
		uint16_t sent;

		n = n > PG_BURST ? PG_BURST : n;
		if (rte_pktmbuf_alloc_bulk(pg->pool, m, n) != 0)
			return;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *p = (uint8_t *)rte_pktmbuf_append(
				m[i], (uint16_t)pg->tmpl_len);
			uint32_t s = htonl(pg->seq++);

			memcpy(p, pg->tmpl, pg->tmpl_len);
			memcpy(p + pg->seq_off, &s, 4);
		}
		sent = rte_eth_tx_burst(pg->a.port, 0, m, (uint16_t)n);
		if (sent < n)
			rte_pktmbuf_free_bulk(m + sent, n - sent);
		pg->in_flight += sent;
		pg->sent += sent;
		if (sent < n)
			return;
	}
}

static int
pg_count_ack(void *ctx, const struct swim_msg *msg)
{
	if (msg->type == SWIM_MSG_ACK)
		(*(unsigned *)ctx)++;
	return 0;
}

/* Acks in one received frame (a bare ack, or inside a compound). */
static unsigned
pg_acks_in(struct pg *pg, struct rte_mbuf *m)
{
	static struct swim_wire_scratch scratch;
	struct dp_pkt_view v;
	const uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	unsigned n = 0;

	if (dp_pkt_parse(f, m->data_len, &pg->a.us, &v) != DP_PKT_UDP_US ||
	    v.payload_len == 0)
		return 0;
	if (f[v.payload_off] == SWIM_MSG_ACK)
		return 1;
	scratch.used = 0;
	swim_wire_decode_packet(f + v.payload_off, v.payload_len, &scratch,
				pg_count_ack, &n);
	return n;
}

static void
pg_run(struct pg *pg)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t start = rte_rdtsc();
	uint64_t end = start + hz * pg->a.duration_s;
	uint64_t last_ack = start;
	struct rte_mbuf *rx[PG_BURST];
	uint64_t now;

	while (!pg_quit && (now = rte_rdtsc()) < end) {
		uint16_t nb = rte_eth_rx_burst(pg->a.port, 0, rx, PG_BURST);

		for (uint16_t i = 0; i < nb; i++) {
			unsigned n = pg_acks_in(pg, rx[i]);

			pg->acks += n;
			pg->in_flight -= n <= pg->in_flight ? n : pg->in_flight;
			rte_pktmbuf_free(rx[i]);
		}
		if (nb != 0)
			last_ack = now;
		else if (pg->in_flight && now - last_ack > hz / 1000000 *
			 PG_STALL_US) {
			pg->lost += pg->in_flight;	/* give up on them */
			pg->in_flight = 0;
			last_ack = now;
		}
		pg_fill(pg);
	}
	now = rte_rdtsc();
	printf("acks %" PRIu64 " secs %.3f rate %.0f acks/s sent %" PRIu64
	       " lost %" PRIu64 " window %u\n", pg->acks,
	       (double)(now - start) / (double)hz,
	       (double)pg->acks * (double)hz / (double)(now - start),
	       pg->sent, pg->lost, pg->a.window);
}

int
main(int argc, char **argv)
{
	static struct pg pg;
	int used = rte_eal_init(argc, argv);
	int rc = 1;

	if (used < 0) {
		fprintf(stderr, "dpdk-pinggen: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, pg_on_signal);
	signal(SIGTERM, pg_on_signal);
	if (pg_parse_args(argc - used, argv + used, &pg.a) != 0)
		goto out_eal;
	if (pg_port_init(&pg) != 0) {
		fprintf(stderr, "dpdk-pinggen: port %u setup failed\n",
			pg.a.port);
		goto out_port;
	}
	if (pg_wait_link(pg.a.port, 5000) != 0 || pg_resolve(&pg) != 0) {
		fprintf(stderr, "dpdk-pinggen: no link or no ARP reply\n");
		goto out_port;
	}
	if (pg_build_template(&pg) != 0) {
		fprintf(stderr, "dpdk-pinggen: cannot build the ping\n");
		goto out_port;
	}
	pg_run(&pg);
	rc = 0;
out_port:
	rte_eth_dev_stop(pg.a.port);
	rte_eth_dev_close(pg.a.port);
	rte_mempool_free(pg.pool);
out_eal:
	rte_eal_cleanup();
	return rc;
}
