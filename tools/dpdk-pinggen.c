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
 *                [--window 256] [--duration 5] [--interval-ms 100]
 *                [--warmup-ms 0] [--linger-ms 0] [--port 0]
 *                [--encrypt BASE64KEY]
 *
 * Output, one line: "acks N secs S rate R acks/s sent X lost L window W
 * median M min A max B busy_ns B2 checked C bad D": R is the mean over the
 * whole run; M, A and B are the median, lowest and highest of the rates
 * in --interval-ms slices (a median shrugs off a slice where another
 * process took the CPU); busy_ns is this generator's own busy time per
 * ack (when it is close to 1e9 / R, the generator is the bottleneck).
 *
 * Per ack the generator does as little as it can: a fixed-offset check
 * that the frame is a plain UDP ack to us (every PG_CHECK_EVERY-th one,
 * and anything unusual, gets the full dp_pkt_parse with checksums; a
 * frame the full parse rejects counts as bad), then the ack's own mbuf is
 * rewritten into the next ping and sent back, so the steady state
 * allocates and frees nothing itself.
 * --linger-ms: after the report, stay idle (not polling the port) until
 * a signal or the deadline, so that the target can stop first and report
 * with its peer still there. (gossipd guards against a client leaving
 * under its polling lcore: dataplane/dp_dpdk_link.h.)
 * --encrypt: a member of an encrypted pool (serf -encrypt): every ping is
 * sealed afresh (version 1, this generator's nonce counter; SeqNo patched
 * in the plaintext first), and an ack counts when it is a version-1
 * sealed datagram to us; the sampled frames are opened and decoded in
 * full (one that does not open, or holds no ack, counts as bad).
 * Bounded: every wait has a deadline; SIGINT/SIGTERM stop it early.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <sodium.h>

#include "dp_pkt.h"
#include "swim_crypto.h"
#include "swim_wire.h"

#define PG_BURST 32
#define PG_WINDOW_MAX 65536
#define PG_DURATION_MAX 600
/* First SeqNo: from 2^16 on, msgpack keeps SeqNo a 5-byte u32. */
#define PG_SEQ0 0x10000u
/* No ack for this long with pings in flight: count them lost, refill. */
#define PG_STALL_US 20000
/* Every this many fast-checked acks, one gets the full parse. */
#define PG_CHECK_EVERY 1024
/* Rate slices: at most this many are kept (600 s at 100 ms). */
#define PG_SLICES_MAX 6000

static volatile sig_atomic_t pg_quit;

struct pg_args {
	char name[SWIM_NAME_MAX + 1];	/* target node name */
	struct dp_pkt_self us;		/* our MAC (filled later), IP, port */
	uint32_t dst_ip;		/* host order */
	uint16_t dst_port;		/* host order */
	unsigned window;		/* pings in flight */
	unsigned duration_s;		/* measuring time */
	unsigned interval_ms;		/* rate slice */
	unsigned warmup_ms;		/* unmeasured run before the timing */
	unsigned linger_ms;		/* idle after the report, until a signal */
	uint16_t port;			/* ethdev port */
	char key_b64[128];		/* --encrypt, or "" */
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
	uint64_t busy_tsc;		/* iterations that received */
	uint64_t checked;		/* acks given the full parse */
	uint64_t bad;			/* ... that it rejected */
	uint8_t ip_be[4];		/* our IP, network order */
	uint8_t port_be[2];		/* our port, network order */
	unsigned nb_slices;
	double slice[PG_SLICES_MAX];	/* acks/s per interval */
	/* --encrypt: keyring, cipher contexts, nonces, the plaintext ping
	 * (SeqNo at body_seq_off) and an opened ack */
	struct swim_keyring *ring;
	struct swim_crypto_ctx *crypt;
	struct swim_crypto_nonce_gen nonce;
	uint8_t body[192];
	size_t body_len;
	size_t body_seq_off;
	uint8_t plain[2048];
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

/* Every option within its bounds, the mandatory ones given. */
static bool
pg_args_ok(const struct pg_args *a)
{
	return a->name[0] != '\0' && a->dst_ip != 0 && a->us.ip != 0 &&
	       a->window != 0 && a->window <= PG_WINDOW_MAX &&
	       a->duration_s != 0 && a->duration_s <= PG_DURATION_MAX &&
	       a->interval_ms >= 10 && a->interval_ms <= 10000 &&
	       a->warmup_ms <= 60000 && a->linger_ms <= 600000;
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
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "warmup-ms", required_argument, NULL, 'u' },
		{ "linger-ms", required_argument, NULL, 'g' },
		{ "encrypt", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	int bad = 0;

	a->window = 256;
	a->duration_s = 5;
	a->interval_ms = 100;
	optind = 1;	/* rte_eal_init ran getopt over the EAL part */
	while ((opt = getopt_long(argc, argv, "n:d:s:w:t:p:i:u:g:e:", opts, NULL)) !=
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
		case 'i':
			a->interval_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'u':
			a->warmup_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			a->linger_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			bad |= strlen(optarg) >= sizeof(a->key_b64);
			snprintf(a->key_b64, sizeof(a->key_b64), "%s", optarg);
			break;
		default:
			bad = 1;
		}
	}
	if (bad || !pg_args_ok(a)) {
		fprintf(stderr, "usage: dpdk-pinggen <EAL args> -- --name NODE --dst IP:PORT --src IP:PORT [--window 1..65536] [--duration 1..600] [--interval-ms 10..10000] [--warmup-ms 0..60000] [--linger-ms 0..600000] [--port N] [--encrypt BASE64KEY]\n");
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

/* --encrypt: the plaintext ping sealed into out. @retval length or < 0. */
static int
pg_seal_body(struct pg *pg, uint8_t *out, size_t cap)
{
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];

	swim_crypto_nonce_gen_next(&pg->nonce, nonce);
	return swim_crypto_ctx_seal_udp(pg->crypt, nonce, pg->body,
					pg->body_len, out, cap);
}

/* Where SeqNo PG_SEQ0's u32 sits in p[from..len). @retval 0, -EINVAL. */
static int
pg_find_seq(const uint8_t *p, size_t from, size_t len, size_t *off)
{
	static const uint8_t seq0[] = { 0xce, 0x00, 0x01, 0x00, 0x00 };

	for (size_t i = from; i + 5 <= len; i++)
		if (memcmp(p + i, seq0, 5) == 0) {
			*off = i + 1;
			return 0;
		}
	return -EINVAL;
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
	if (pg->crypt != NULL) {
		/* the frame's headers hold the sealed length; the payload
		 * is sealed afresh per ping (pg_make_ping) */
		memcpy(pg->body, body, (size_t)n);
		pg->body_len = (size_t)n;
		n = pg_seal_body(pg, body, sizeof(body));
		if (n < 0)
			return n;
	}
	memcpy(h.src_mac, pg->a.us.mac, 6);
	memcpy(h.dst_mac, pg->dst_mac, 6);
	n = dp_pkt_build_udp4(pg->tmpl, sizeof(pg->tmpl), &h, body, (size_t)n);
	if (n < 0)
		return n;
	pg->tmpl_len = (size_t)n;
	memcpy(pg->ip_be, pg->tmpl + DP_ETH_HLEN + 12, 4);	/* IPv4 src */
	memcpy(pg->port_be, pg->tmpl + DP_ETH_HLEN + DP_IPV4_HLEN, 2);
	pg->tmpl[DP_UDP4_PAYLOAD_OFF - 2] = 0;	/* UDP checksum 0: none */
	pg->tmpl[DP_UDP4_PAYLOAD_OFF - 1] = 0;
	pg->seq = PG_SEQ0;
	if (pg->crypt != NULL)	/* the SeqNo is patched in the plaintext */
		return pg_find_seq(pg->body, 0, pg->body_len,
				   &pg->body_seq_off);
	return pg_find_seq(pg->tmpl, DP_UDP4_PAYLOAD_OFF, pg->tmpl_len,
			   &pg->seq_off);
}

/* Turn m (an ack of ours, or a fresh mbuf) into the next ping. */
static inline void
pg_make_ping(struct pg *pg, struct rte_mbuf *m)
{
	uint8_t *p;
	uint32_t s = htonl(pg->seq++);

	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = (uint16_t)pg->tmpl_len;
	m->pkt_len = (uint32_t)pg->tmpl_len;
	m->ol_flags = 0;
	p = rte_pktmbuf_mtod(m, uint8_t *);
	if (pg->crypt != NULL) {
		memcpy(p, pg->tmpl, DP_UDP4_PAYLOAD_OFF);
		memcpy(pg->body + pg->body_seq_off, &s, 4);
		/* the length is the template's: the seal cannot fail */
		(void)pg_seal_body(pg, p + DP_UDP4_PAYLOAD_OFF,
				   pg->tmpl_len - DP_UDP4_PAYLOAD_OFF);
		return;
	}
	memcpy(p, pg->tmpl, pg->tmpl_len);
	memcpy(p + pg->seq_off, &s, 4);
}

/* Send n pings (an array of ready mbufs); what the port refuses is freed. */
static void
pg_send(struct pg *pg, struct rte_mbuf **m, unsigned n)
{
	uint16_t sent = n ? rte_eth_tx_burst(pg->a.port, 0, m, (uint16_t)n) : 0;

	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	pg->in_flight += sent;
	pg->sent += sent;
}

/* Send pings in fresh mbufs until the window is full (start, after loss). */
static void
pg_fill(struct pg *pg)
{
	struct rte_mbuf *m[PG_BURST];

	while (pg->in_flight < pg->a.window) {
		unsigned n = pg->a.window - (unsigned)pg->in_flight;
		uint64_t before = pg->sent;

		n = n > PG_BURST ? PG_BURST : n;
		if (rte_pktmbuf_alloc_bulk(pg->pool, m, n) != 0)
			return;
		for (unsigned i = 0; i < n; i++)
			pg_make_ping(pg, m[i]);
		pg_send(pg, m, n);
		if (pg->sent - before < n)
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

/* Acks in a compound by its parts' type bytes, without decoding them;
 * a part that runs past the end ends the count (as memberlist does). */
static unsigned
pg_acks_compound(const uint8_t *p, size_t len)
{
	unsigned nb = len >= 2 ? p[1] : 0;
	size_t off = 2 + 2 * (size_t)nb;
	unsigned acks = 0;

	if (off > len)
		return 0;
	for (unsigned i = 0; i < nb; i++) {
		size_t plen = (size_t)p[2 + 2 * i] << 8 | p[3 + 2 * i];

		if (plen == 0 || off + plen > len)
			break;
		acks += p[off] == SWIM_MSG_ACK;
		off += plen;
	}
	return acks;
}

/* Acks in a UDP payload: bare, in a compound, or (CRC, compression)
 * through the full decoder. */
static unsigned
pg_acks_payload(const uint8_t *p, size_t len)
{
	static struct swim_wire_scratch scratch;
	unsigned n = 0;

	if (len == 0)
		return 0;
	if (p[0] == SWIM_MSG_ACK)
		return 1;
	if (p[0] == SWIM_MSG_COMPOUND)
		return pg_acks_compound(p, len);
	scratch.used = 0;
	swim_wire_decode_packet(p, len, &scratch, pg_count_ack, &n);
	return n;
}

/* Acks in one received frame, the full way: parse with checksums. */
static unsigned
pg_acks_full(struct pg *pg, const uint8_t *f, uint16_t len)
{
	struct dp_pkt_view v;

	int n;

	if (dp_pkt_parse(f, len, &pg->a.us, &v) != DP_PKT_UDP_US)
		return 0;
	if (pg->crypt == NULL)
		return pg_acks_payload(f + v.payload_off, v.payload_len);
	n = swim_crypto_ctx_open_udp(pg->crypt, f + v.payload_off,
				     v.payload_len, pg->plain,
				     sizeof(pg->plain));
	return n < 0 ? 0 : pg_acks_payload(pg->plain, (size_t)n);
}

/*
 * UDP to us, by fixed offsets: our MAC, IPv4 without options or
 * fragments, our address and port. Returns the payload length the UDP
 * header gives, or -1: the frame goes the full way.
 */
static inline int
pg_udp_to_us(const struct pg *pg, const uint8_t *f, uint16_t len)
{
	int ulen;

	if (len <= DP_UDP4_PAYLOAD_OFF || memcmp(f, pg->a.us.mac, 6) != 0 ||
	    f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45 ||
	    (f[20] & 0x3f) != 0 || f[21] != 0 || f[23] != DP_IPPROTO_UDP ||
	    memcmp(f + 30, pg->ip_be, 4) != 0 ||
	    memcmp(f + 36, pg->port_be, 2) != 0)
		return -1;
	ulen = (f[38] << 8 | f[39]) - DP_UDP_HLEN;
	return ulen > 0 && ulen <= len - DP_UDP4_PAYLOAD_OFF ? ulen : -1;
}

/* Acks in one frame; a sample of the frames is checked in full. */
static inline unsigned
pg_acks_in(struct pg *pg, struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	int plen;
	unsigned n;

	if (unlikely(m->nb_segs != 1))
		return 0;
	plen = pg_udp_to_us(pg, f, m->data_len);
	if (plen < 0)
		return pg_acks_full(pg, f, m->data_len);
	if (pg->crypt != NULL)	/* sealed: one ack per datagram, sampled */
		n = f[DP_UDP4_PAYLOAD_OFF] == 1 &&
		    plen > SWIM_CRYPTO_OVERHEAD;
	else
		n = f[DP_UDP4_PAYLOAD_OFF] == SWIM_MSG_ACK ? 1 :
		    pg_acks_payload(f + DP_UDP4_PAYLOAD_OFF, (size_t)plen);
	if (unlikely(pg->acks % PG_CHECK_EVERY == 0)) {
		pg->checked++;
		if (pg_acks_full(pg, f, m->data_len) != n) {
			pg->bad++;
			return 0;
		}
	}
	return n;
}

/* One received burst: count acks, answer each with the next ping in the
 * same mbuf while the window has room, free the rest. */
static void
pg_on_burst(struct pg *pg, struct rte_mbuf **rx, uint16_t nb)
{
	struct rte_mbuf *tx[PG_BURST];
	struct rte_mbuf *done[PG_BURST];
	unsigned nb_tx = 0;
	unsigned nb_done = 0;

	for (uint16_t i = 0; i < nb; i++) {
		unsigned n = pg_acks_in(pg, rx[i]);

		pg->acks += n;
		pg->in_flight -= n <= pg->in_flight ? n : pg->in_flight;
		if (n != 0 && pg->in_flight + nb_tx < pg->a.window) {
			pg_make_ping(pg, rx[i]);
			tx[nb_tx++] = rx[i];
		} else {
			done[nb_done++] = rx[i];
		}
	}
	if (nb_done != 0)
		rte_pktmbuf_free_bulk(done, nb_done);
	pg_send(pg, tx, nb_tx);
}

/* Close the rate slice that ends at now; keep it for the median. */
static void
pg_slice(struct pg *pg, uint64_t now, uint64_t *t0, uint64_t *acks0)
{
	double secs = (double)(now - *t0) / (double)rte_get_tsc_hz();

	if (pg->nb_slices < PG_SLICES_MAX && secs > 0)
		pg->slice[pg->nb_slices++] = (double)(pg->acks - *acks0) / secs;
	*t0 = now;
	*acks0 = pg->acks;
}

static int
pg_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
pg_report(struct pg *pg, uint64_t start, uint64_t now)
{
	uint64_t hz = rte_get_tsc_hz();
	unsigned n = pg->nb_slices;
	double med = 0;

	/* the slices in time order, for a person looking for disturbances */
	fprintf(stderr, "slices_kacks_per_s:");
	for (unsigned i = 0; i < n; i++)
		fprintf(stderr, " %.0f", pg->slice[i] / 1e3);
	fprintf(stderr, "\n");
	qsort(pg->slice, n, sizeof(pg->slice[0]), pg_cmp_double);
	if (n != 0)
		med = n % 2 ? pg->slice[n / 2] :
		      (pg->slice[n / 2 - 1] + pg->slice[n / 2]) / 2;
	printf("acks %" PRIu64 " secs %.3f rate %.0f acks/s sent %" PRIu64
	       " lost %" PRIu64 " window %u median %.0f min %.0f max %.0f"
	       " busy_ns %.1f checked %" PRIu64 " bad %" PRIu64 "\n",
	       pg->acks, (double)(now - start) / (double)hz,
	       (double)pg->acks * (double)hz / (double)(now - start),
	       pg->sent, pg->lost, pg->a.window, med,
	       n ? pg->slice[0] : 0.0, n ? pg->slice[n - 1] : 0.0,
	       pg->acks ? (double)pg->busy_tsc * 1e9 / (double)hz /
			  (double)pg->acks : 0.0,
	       pg->checked, pg->bad);
}

/* Poll until end: answer acks, refill after losses, slice the rate. */
static void
pg_loop(struct pg *pg, uint64_t end)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t stall = hz / 1000000 * PG_STALL_US;
	uint64_t step = hz / 1000 * pg->a.interval_ms;
	uint64_t now = rte_rdtsc();
	uint64_t last_ack = now, t0 = now, acks0 = pg->acks;
	struct rte_mbuf *rx[PG_BURST];

	while (!pg_quit && (now = rte_rdtsc()) < end) {
		uint16_t nb = rte_eth_rx_burst(pg->a.port, 0, rx, PG_BURST);

		if (nb != 0) {
			pg_on_burst(pg, rx, nb);
			last_ack = now;
			pg->busy_tsc += rte_rdtsc() - now;
		} else if (pg->in_flight && now - last_ack > stall) {
			pg->lost += pg->in_flight;	/* give up on them */
			pg->in_flight = 0;
			last_ack = now;
		}
		if (unlikely(pg->in_flight < pg->a.window))
			pg_fill(pg);
		if (unlikely(now - t0 >= step))
			pg_slice(pg, now, &t0, &acks0);
	}
}

static void
pg_run(struct pg *pg)
{
	uint64_t hz = rte_get_tsc_hz();
	uint64_t start;

	pg_fill(pg);
	if (pg->a.warmup_ms != 0) {
		/* caches, page tables and the target's first piggybacked
		 * gossip settle; then count from zero, pings in flight kept */
		pg_loop(pg, rte_rdtsc() + hz / 1000 * pg->a.warmup_ms);
		pg->acks = pg->sent = pg->lost = pg->busy_tsc = 0;
		pg->checked = pg->bad = 0;
		pg->nb_slices = 0;
	}
	start = rte_rdtsc();
	pg_loop(pg, start + hz * pg->a.duration_s);
	pg_report(pg, start, rte_rdtsc());
	fflush(stdout);
	for (unsigned t = 0; t < pg->a.linger_ms && !pg_quit; t += 10)
		usleep(10000);
}

/* --encrypt: keyring, this thread's cipher contexts, nonces. */
static int
pg_crypt_init(struct pg *pg)
{
	const char *k = pg->a.key_b64;
	int rc = -1;

	if (k[0] == '\0')
		return 0;
	if (sodium_init() >= 0)
		pg->ring = swim_keyring_new(&rc);
	if (pg->ring != NULL)
		rc = swim_keyring_add_base64(pg->ring, k, strlen(k));
	if (rc == 0)
		pg->crypt = swim_crypto_ctx_new(&rc);
	if (pg->crypt != NULL)
		rc = swim_crypto_ctx_bind(pg->crypt, pg->ring);
	if (rc != 0) {
		fprintf(stderr, "dpdk-pinggen: --encrypt: %s\n",
			swim_crypto_strerror(rc));
		return -1;
	}
	swim_crypto_nonce_gen_init(&pg->nonce);
	return 0;
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
	if (pg_parse_args(argc - used, argv + used, &pg.a) != 0 ||
	    pg_crypt_init(&pg) != 0)
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
	swim_crypto_ctx_delete(pg.crypt);
	swim_keyring_delete(pg.ring);
	return rc;
}
