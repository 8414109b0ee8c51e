/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend's ethdev side (swarm_dpdk.h): EAL from --eal, port 0
 * with one queue pair, and the poll loop on the main lcore. Each received
 * frame goes through swarm_dpdk_frame; replies leave in their own mbuf,
 * and with --flood an ack's mbuf becomes the next ping, so the steady
 * state allocates nothing. A progress line per second on stderr, the
 * summary on stderr and in --json. Bounded by --duration and signals.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "swarm_dpdk.h"

#define SWARM_DPDK_BURST 32
#define SWARM_DPDK_ARGV_MAX 64
#define SWARM_DPDK_MBUFS 8191
/* No ack for this long with pings in flight: count them lost, refill.
 * Long enough for a peer descheduled on a shared CPU to come back. */
#define SWARM_DPDK_STALL_US 100000
/* A --flood without the target's MAC: ARP again this often. */
#define SWARM_DPDK_ARP_US 200000
/* Wait this long for a memif peer's link before giving up. */
#define SWARM_DPDK_LINK_MS 10000

static volatile sig_atomic_t swarm_dpdk_quit;

static void
swarm_dpdk_on_signal(int sig)
{
	(void)sig;
	swarm_dpdk_quit = 1;
}

/* Split --eal on blanks into argv[1..]; argv[0] is the program. */
static int
swarm_dpdk_eal(const char *eal)
{
	static char *argv[SWARM_DPDK_ARGV_MAX];
	char *copy = strdup(eal), *save = NULL;
	int argc = 0;

	if (copy == NULL)
		return -1;
	argv[argc++] = "gossip-swarm";
	for (char *t = strtok_r(copy, " \t", &save); t != NULL;
	     t = strtok_r(NULL, " \t", &save)) {
		if (argc >= SWARM_DPDK_ARGV_MAX - 1) {
			fprintf(stderr, "gossip-swarm: --eal: too many "
				"arguments\n");
			return -1;
		}
		argv[argc++] = t;
	}
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "gossip-swarm: EAL: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

struct swarm_dpdk_port {
	uint16_t id;
	struct rte_mempool *pool;
};

static int
swarm_dpdk_port_up(struct swarm_dpdk_port *p, uint8_t mac[6])
{
	struct rte_eth_conf conf;
	struct rte_ether_addr a;
	int rc;

	memset(&conf, 0, sizeof(conf));
	p->id = 0;
	if (rte_eth_dev_count_avail() == 0 || !rte_eth_dev_is_valid_port(0)) {
		fprintf(stderr, "gossip-swarm: no DPDK port (give a --vdev "
			"in --eal)\n");
		return -1;
	}
	p->pool = rte_pktmbuf_pool_create("swarm_pool", SWARM_DPDK_MBUFS,
					  256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  rte_socket_id());
	if (p->pool == NULL)
		return -1;
	rc = rte_eth_dev_configure(0, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(0, 0, 1024, rte_socket_id(), NULL,
					    p->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(0, 0, 1024, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(0);
	if (rc == 0)
		rc = rte_eth_macaddr_get(0, &a);
	if (rc != 0) {
		fprintf(stderr, "gossip-swarm: port 0: %s\n", strerror(-rc));
		return -1;
	}
	memcpy(mac, a.addr_bytes, 6);
	return 0;
}

/* memif drops what is sent before its peer is there: wait for link up. */
static void
swarm_dpdk_wait_link(uint16_t port)
{
	struct rte_eth_link link;

	for (unsigned t = 0; t < SWARM_DPDK_LINK_MS && !swarm_dpdk_quit;
	     t += 10) {
		if (rte_eth_link_get_nowait(port, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return;
		rte_delay_ms(10);
	}
	fprintf(stderr, "gossip-swarm: port %u: link still down after %u "
		"ms, going on\n", port, SWARM_DPDK_LINK_MS);
}

/* Make m the frame f[0..len) (an mbuf of our pool: room for it). */
static void
swarm_dpdk_set(struct rte_mbuf *m, size_t len)
{
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->ol_flags = 0;
}

/* One received mbuf: @retval true when it goes back out (rewritten). */
static bool
swarm_dpdk_one(struct swarm_dpdk *d, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t len = m->data_len;
	size_t cap = (size_t)m->buf_len - m->data_off;
	int n;

	if (m->nb_segs != 1) {
		d->st.drop_other++;
		return false;
	}
	switch (swarm_dpdk_frame(d, f, &len, cap)) {
	case SWARM_DPDK_REPLY:
		swarm_dpdk_set(m, len);
		return true;
	case SWARM_DPDK_NEXT:
		if (d->in_flight >= d->cfg->flood_window)
			return false;
		n = swarm_dpdk_build_ping(d, f, cap);
		if (n < 0)
			return false;
		swarm_dpdk_set(m, (size_t)n);
		return true;
	default:
		return false;
	}
}

/* Send n mbufs; free what the port refuses (a flood's are lost). */
static void
swarm_dpdk_tx(struct swarm_dpdk *d, uint16_t port, struct rte_mbuf **m,
	      uint16_t n)
{
	uint16_t sent = n ? rte_eth_tx_burst(port, 0, m, n) : 0;

	d->st.tx += sent;
	if (sent < n)
		rte_pktmbuf_free_bulk(m + sent, n - sent);
}

/* The port refused the last `refused` frames of a burst: those of them
 * that were pings (built since pings0, always last in the burst order
 * they were built in) are not in flight. Approximate: every refused
 * frame counts as a ping when the burst built any. */
static void
swarm_dpdk_unsend(struct swarm_dpdk *d, uint64_t pings0, uint64_t refused)
{
	uint64_t built = d->st.pings_out - pings0;
	uint64_t k = refused < built ? refused : built;

	d->st.pings_out -= k;
	d->in_flight -= d->in_flight < k ? d->in_flight : k;
	d->st.tx_refused += refused;
}

uint16_t
swarm_dpdk_poll(struct swarm_dpdk *d, uint16_t port)
{
	struct rte_mbuf *rx[SWARM_DPDK_BURST], *tx[SWARM_DPDK_BURST];
	uint16_t nb = rte_eth_rx_burst(port, 0, rx, SWARM_DPDK_BURST);
	uint16_t nt = 0;
	uint64_t tx0 = d->st.tx, pings0 = d->st.pings_out;

	d->st.rx += nb;
	for (uint16_t i = 0; i < nb; i++) {
		if (swarm_dpdk_one(d, rx[i]))
			tx[nt++] = rx[i];
		else
			rte_pktmbuf_free(rx[i]);
	}
	swarm_dpdk_tx(d, port, tx, nt);
	swarm_dpdk_unsend(d, pings0, nt - (d->st.tx - tx0));
	return nb;
}

void
swarm_dpdk_fill(struct swarm_dpdk *d, uint16_t port, struct rte_mempool *pool)
{
	struct rte_mbuf *m[SWARM_DPDK_BURST];

	while (d->have_dst_mac && d->in_flight < d->cfg->flood_window &&
	       !swarm_dpdk_quit) {
		uint64_t want = d->cfg->flood_window - d->in_flight;
		unsigned n = want > SWARM_DPDK_BURST ? SWARM_DPDK_BURST :
						       (unsigned)want, k = 0;
		uint64_t tx0 = d->st.tx, pings0 = d->st.pings_out;

		if (rte_pktmbuf_alloc_bulk(pool, m, n) != 0)
			return;
		for (; k < n; k++) {
			uint8_t *f = rte_pktmbuf_mtod(m[k], uint8_t *);
			int len = swarm_dpdk_build_ping(d, f,
				(size_t)m[k]->buf_len - m[k]->data_off);

			if (len < 0)
				break;
			swarm_dpdk_set(m[k], (size_t)len);
		}
		if (k < n)
			rte_pktmbuf_free_bulk(m + k, n - k);
		swarm_dpdk_tx(d, port, m, (uint16_t)k);
		/* refused: those pings are not in flight */
		swarm_dpdk_unsend(d, pings0, k - (d->st.tx - tx0));
		if (k < n || d->st.tx - tx0 < k)
			return;
	}
}

/* A frame of our own (ARP request) in a fresh mbuf. */
static void
swarm_dpdk_send_arp(struct swarm_dpdk *d, const struct swarm_dpdk_port *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
	int n;

	if (m == NULL)
		return;
	n = swarm_dpdk_build_arp(d, rte_pktmbuf_mtod(m, uint8_t *),
				 (size_t)m->buf_len - m->data_off);
	if (n < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	swarm_dpdk_set(m, (size_t)n);
	swarm_dpdk_tx(d, p->id, &m, 1);
}

/* The loop's clocks, in TSC cycles. */
struct swarm_dpdk_clock {
	uint64_t hz, t0, end, last_ack, next_arp, next_sec;
	uint64_t acks_prev, pings_prev;
	unsigned fail_done;
	double cpu0;		/* process CPU s at the loop's start */
};

/* This process's CPU time (user + system), s. */
static double
swarm_dpdk_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Flood upkeep: ARP until the target answers, refill after a stall. */
static void
swarm_dpdk_flood_tick(struct swarm_dpdk *d, const struct swarm_dpdk_port *p,
		      struct swarm_dpdk_clock *c, uint64_t now)
{
	if (!d->have_dst_mac) {
		if (now >= c->next_arp) {
			swarm_dpdk_send_arp(d, p);
			c->next_arp = now + c->hz * SWARM_DPDK_ARP_US / 1000000;
		}
		return;
	}
	if (d->in_flight > 0 &&
	    now - c->last_ack > c->hz * SWARM_DPDK_STALL_US / 1000000) {
		d->st.lost += d->in_flight;
		d->in_flight = 0;
	}
	if (d->in_flight == 0) {
		c->last_ack = now;
		swarm_dpdk_fill(d, p->id, p->pool);
	}
}

/* Once a second: the progress line and the --fail events. */
static void
swarm_dpdk_second(struct swarm_dpdk *d, struct swarm_dpdk_clock *c,
		  uint64_t now)
{
	double t = (double)(now - c->t0) / (double)c->hz;

	swarm_dpdk_fail_tick(d, (uint64_t)(t * 1000), &c->fail_done);
	if (now < c->next_sec)
		return;
	c->next_sec += c->hz;
	fprintf(stderr, "[swarm-dpdk %5.1fs] in: ping %" PRIu64 "/s ack %"
		PRIu64 "/s arp %" PRIu64 " | out: ack %" PRIu64 " ping %"
		PRIu64 " | lost %" PRIu64 " drop %" PRIu64 " | frames %" PRIu64
		"/%" PRIu64 "\n", t,
		d->st.pings_in - c->pings_prev, d->st.acks_in - c->acks_prev,
		d->st.arp_in, d->st.acks_out, d->st.pings_out, d->st.lost,
		d->st.drop_parse + d->st.drop_other + d->st.drop_member,
		d->st.rx, d->st.tx);
	c->pings_prev = d->st.pings_in;
	c->acks_prev = d->st.acks_in;
}

static void
swarm_dpdk_loop(struct swarm_dpdk *d, const struct swarm_dpdk_port *p,
		struct swarm_dpdk_clock *c)
{
	while (!swarm_dpdk_quit) {
		uint64_t t = rte_rdtsc(), acks = d->st.acks_in;

		if (swarm_dpdk_poll(d, p->id) > 0) {
			uint64_t t2 = rte_rdtsc();

			d->st.busy_tsc += t2 - t;
			if (d->st.acks_in != acks)
				c->last_ack = t2;
		}
		if ((t & 0x3ff) < 0x40) {
			/* every ~1k cycles on average: the slow upkeep */
			if (d->cfg->flood_ip != 0)
				swarm_dpdk_flood_tick(d, p, c, t);
			swarm_dpdk_second(d, c, t);
			if (c->end != 0 && t >= c->end)
				break;
		}
	}
}

/* The --json summary. */
static void
swarm_dpdk_json(const struct swarm_dpdk *d, double secs, double cpu,
		double busy_ns)
{
	const struct swarm_dpdk_stats *s = &d->st;
	uint64_t work = s->acks_out + s->acks_in;
	FILE *j = fopen(d->cfg->json, "w");

	if (j == NULL) {
		fprintf(stderr, "gossip-swarm: cannot write %s\n", d->cfg->json);
		return;
	}
	fprintf(j, "{\n  \"dataplane\": \"dpdk\",\n  \"members\": %u,\n"
		"  \"lcores\": 1,\n  \"secs\": %.3f,\n  \"cpu_s\": %.3f,\n"
		"  \"pings_in\": %" PRIu64 ",\n  \"acks_out\": %" PRIu64 ",\n"
		"  \"acks_out_per_s\": %.0f,\n  \"pings_silent\": %" PRIu64
		",\n  \"pings_out\": %" PRIu64 ",\n  \"acks_in\": %" PRIu64
		",\n  \"acks_in_per_s\": %.0f,\n  \"acks_per_cpu_s\": %.0f,\n"
		"  \"lost\": %" PRIu64 ",\n  \"flood_members\": %u,\n"
		"  \"arp_in\": %" PRIu64 ",\n  \"arp_out\": %" PRIu64 ",\n"
		"  \"tx_refused\": %" PRIu64 ",\n  \"dropped\": %" PRIu64 ",\n"
		"  \"busy_ns_per_ack\": %.1f\n}\n",
		d->cfg->members, secs, cpu, s->pings_in, s->acks_out,
		s->acks_out / secs, s->pings_silent, s->pings_out, s->acks_in,
		s->acks_in / secs, cpu > 0 ? (double)work / cpu : 0.0, s->lost,
		d->cfg->flood_ip ? d->cfg->flood_n : 0, s->arp_in, s->arp_out,
		s->tx_refused, s->drop_parse + s->drop_other + s->drop_member,
		work ? busy_ns / (double)work : 0.0);
	fclose(j);
}

/* The summary line and --json. The acks per CPU second are the lcore's
 * rate had it had its CPU to itself (a shared CPU takes it away). */
static void
swarm_dpdk_report(const struct swarm_dpdk *d, const struct swarm_dpdk_clock *c,
		  uint64_t t_end)
{
	const struct swarm_dpdk_stats *s = &d->st;
	double secs = (double)(t_end - c->t0) / (double)c->hz;
	double busy_ns = (double)s->busy_tsc * 1e9 / (double)c->hz;
	double cpu = swarm_dpdk_cpu_s() - c->cpu0;
	uint64_t work = s->acks_out + s->acks_in;

	fprintf(stderr, "gossip-swarm dpdk: %.2f s (CPU %.2f s), %u members, "
		"lcore %u: pings in %" PRIu64 " acks out %" PRIu64 " (%.0f/s)"
		", pings out %" PRIu64 " acks in %" PRIu64 " (%.0f/s), %.0f "
		"acks per CPU s, lost %" PRIu64 ", arp %" PRIu64 "/%" PRIu64
		", busy %.0f ns per ack\n", secs, cpu, d->cfg->members,
		rte_lcore_id(), s->pings_in, s->acks_out, s->acks_out / secs,
		s->pings_out, s->acks_in, s->acks_in / secs,
		cpu > 0 ? (double)work / cpu : 0.0, s->lost, s->arp_in,
		s->arp_out, work ? busy_ns / (double)work : 0.0);
	if (d->cfg->json != NULL)
		swarm_dpdk_json(d, secs, cpu, busy_ns);
}

int
swarm_dpdk_main(const struct swarm_cfg *cfg)
{
	static struct swarm_dpdk d;
	struct swarm_dpdk_port p;
	struct swarm_dpdk_clock c = { 0 };
	uint8_t mac[6];
	int rc = SWARM_EXIT_FAIL;

	signal(SIGINT, swarm_dpdk_on_signal);
	signal(SIGTERM, swarm_dpdk_on_signal);
	if (swarm_dpdk_eal(cfg->eal) != 0)
		return SWARM_EXIT_FAIL;
	if (swarm_dpdk_port_up(&p, mac) == 0 &&
	    swarm_dpdk_init(&d, cfg, mac) == 0) {
		swarm_dpdk_wait_link(p.id);
		c.hz = rte_get_tsc_hz();
		c.t0 = rte_rdtsc();
		c.next_sec = c.t0 + c.hz;
		c.last_ack = c.t0;
		c.cpu0 = swarm_dpdk_cpu_s();
		c.end = cfg->duration_s > 0 ?
				c.t0 + (uint64_t)(cfg->duration_s * c.hz) : 0;
		swarm_dpdk_loop(&d, &p, &c);
		swarm_dpdk_report(&d, &c, rte_rdtsc());
		rc = SWARM_EXIT_OK;
	}
	swarm_dpdk_fini(&d);
	rte_eth_dev_stop(0);
	rte_eal_cleanup();
	return rc;
}
