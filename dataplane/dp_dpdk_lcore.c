/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend's per-lcore loop. Each worker owns one rx/tx queue
 * pair on the main port (and on the tap), one ARP cache, one fast-path
 * snapshot copy and its staging arrays, and shares with control only its
 * two SPSC rings and its counters (dp_internal.h).
 *
 * Per frame: the usual ping to us is acked in one fused pass first
 * (fast_ping, dp_dpdk_fast.h); every other frame takes the general path:
 * classify (dp_pkt) -> ARP: learn, answer requests for us in
 * the same mbuf -> UDP to our port: a ping to us is acked in the same
 * mbuf (dp_fastpath builds the ack), other memberlist datagrams are
 * copied to control -> anything else goes to the kernel through the tap,
 * or is freed and counted when there is none.
 *
 * Never: locks, malloc, syscalls of our own (but --dp-power's sleep,
 * dp_dpdk_idle.h), logs (except at entry and exit), or a drop without a
 * counter. mbufs never leave this lcore except
 * into a tx_burst.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_dpdk_fast.h"
#include "dp_dpdk_idle.h"
#include "dp_dpdk_int.h"
#include "dp_dpdk_link.h"
#include "dp_dpdk_seal.h"

static void
ctr_add(struct dp_dpdk_lcore *dl, enum dp_dpdk_ctr c, uint64_t n)
{
	dl->ctr[c] += n;
}

/* Room from the data start to the buffer end: what a rewrite may use. */
static size_t
mbuf_cap(const struct rte_mbuf *m)
{
	return (size_t)m->buf_len - m->data_off;
}

/* Set the frame length after a rewrite; the frame carries no offloads. */
static void
mbuf_set_len(struct rte_mbuf *m, int len)
{
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->ol_flags = 0;
}

static void
mbuf_drop(struct dp_dpdk_lcore *dl, struct rte_mbuf *m, enum dp_stat why)
{
	dp_stat_add(dl->lc, why, 1);
	rte_pktmbuf_free(m);
}

static void
tx_flush(struct dp_dpdk_lcore *dl)
{
	uint16_t sent;

	if (dl->nb_tx == 0)
		return;
	sent = rte_eth_tx_burst(dl->owner->port, dl->queue, dl->tx,
				(uint16_t)dl->nb_tx);
	dp_stat_add(dl->lc, DP_STAT_TX_PKTS, sent);
	if (sent < dl->nb_tx) {
		rte_pktmbuf_free_bulk(dl->tx + sent, dl->nb_tx - sent);
		dp_stat_add(dl->lc, DP_STAT_DROP_TX, dl->nb_tx - sent);
	}
	dl->nb_tx = 0;
}

/* Always inlined: the fused ping path's one call per ack. */
static inline __attribute__((always_inline)) void
tx_push(struct dp_dpdk_lcore *dl, struct rte_mbuf *m)
{
	if (dl->nb_tx == DP_DPDK_TX_MAX)
		tx_flush(dl);
	dl->tx[dl->nb_tx++] = m;
}

static void
exc_flush(struct dp_dpdk_lcore *dl)
{
	uint16_t sent;

	if (dl->nb_exc == 0)
		return;
	sent = rte_eth_tx_burst(dl->owner->exc_port, dl->queue, dl->exc,
				(uint16_t)dl->nb_exc);
	ctr_add(dl, DP_DPDK_EXC_TO_KERNEL, sent);
	if (sent < dl->nb_exc) {
		rte_pktmbuf_free_bulk(dl->exc + sent, dl->nb_exc - sent);
		ctr_add(dl, DP_DPDK_EXC_TX_FULL, dl->nb_exc - sent);
		dp_stat_add(dl->lc, DP_STAT_DROP_OTHER, dl->nb_exc - sent);
	}
	dl->nb_exc = 0;
}

/* A frame for the kernel: to the tap, or freed and counted without one. */
static void
exc_push(struct dp_dpdk_lcore *dl, struct rte_mbuf *m)
{
	if (dl->owner->exc_port == DP_DPDK_NO_PORT) {
		ctr_add(dl, DP_DPDK_EXC_NO_PATH, 1);
		mbuf_drop(dl, m, DP_STAT_DROP_OTHER);
		return;
	}
	if (dl->nb_exc == DP_BURST)
		exc_flush(dl);
	dl->exc[dl->nb_exc++] = m;
}

static void
ctl_flush(struct dp_dpdk_lcore *dl)
{
	/* counts to_control and drop_ring_full itself */
	dp_lcore_to_control(dl->lc, dl->ctl, dl->nb_ctl);
	dl->nb_ctl = 0;
}

/* Copy one datagram for control; the mbuf stays ours. */
static void
ctl_push(struct dp_dpdk_lcore *dl, const struct swim_addr *src,
	 const uint8_t *data, uint16_t len, uint16_t flags)
{
	struct dp_pkt *p;

	if (dl->nb_ctl == DP_BURST)
		ctl_flush(dl);
	p = &dl->ctl[dl->nb_ctl++];
	p->addr = *src;
	p->len = len;
	p->flags = flags;
	memcpy(p->data, data, len);
}

static void
send_arp_request(struct dp_dpdk_lcore *dl, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dl->owner->pool);
	int n;

	if (m == NULL) {
		ctr_add(dl, DP_DPDK_MBUF_FAIL, 1);
		return;
	}
	n = dp_pkt_build_arp_request(rte_pktmbuf_mtod(m, uint8_t *),
				     mbuf_cap(m), &dl->owner->self, ip);
	if (n < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	mbuf_set_len(m, n);
	ctr_add(dl, DP_DPDK_ARP_REQUESTS, 1);
	tx_push(dl, m);
}

/* Record ip -> mac and send what was waiting for it. */
static void
arp_learn(struct dp_dpdk_lcore *dl, uint32_t ip, const uint8_t mac[6],
	  bool create)
{
	void *rel[DP_ARP_HOLD];
	unsigned n = dp_arp_learn(dl->arp, ip, mac, dl->now_us, create, rel,
				  DP_ARP_HOLD);

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = rel[i];

		memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac, DP_ETH_ALEN);
		tx_push(dl, m);
	}
}

/* learn_sender's cache update, out of line: rare (once per turn and
 * sender), so the fused path keeps no registers for it. */
static __attribute__((noinline)) void
learn_sender_miss(struct dp_dpdk_lcore *dl, uint32_t ip_n,
		  const uint8_t mac[6])
{
	arp_learn(dl, DP_PKT_U_BE32(ip_n), mac, true);
	dl->memo_ip_n = ip_n;
	memcpy(dl->memo_mac, mac, DP_ETH_ALEN);
}

/*
 * A UDP sender's MAC is our next hop back to it: learned once per poll
 * turn and sender, so a burst from one peer costs one cache update. At
 * worst (its entry evicted later in the same turn) the next turn learns
 * it again; acks to the sender don't wait on the cache either way. The
 * memo's check is inlined: the address as on the wire (ip_n), the MAC
 * compared as a 4- and a 2-byte word.
 */
static inline __attribute__((always_inline)) void
learn_sender(struct dp_dpdk_lcore *dl, uint32_t ip_n, const uint8_t mac[6])
{
	if (ip_n == dl->memo_ip_n &&
	    dp_csum_ld32n(mac) == dp_csum_ld32n(dl->memo_mac) &&
	    dp_pkt_u_ld16(mac + 4) == dp_pkt_u_ld16(dl->memo_mac + 4))
		return;
	learn_sender_miss(dl, ip_n, mac);
}

/* Tell every other lcore what an ARP frame taught us. */
static void
arp_share(struct dp_dpdk_lcore *dl, uint32_t ip, const uint8_t mac[6])
{
	struct dp_dpdk *dd = dl->owner;
	struct dp_dpdk_arp_news news = { .ip = ip };

	memcpy(news.mac, mac, DP_ETH_ALEN);
	for (unsigned i = 0; i < dd->base.nb_lcores; i++) {
		struct rte_ring *mbox = dd->dl[i]->arp_mbox;

		/* MP enqueue; pairs with the owner's SC dequeue in
		 * arp_news_apply */
		if (i == dl->queue || mbox == NULL)
			continue;
		if (rte_ring_mp_enqueue_elem(mbox, &news, sizeof(news)) != 0)
			ctr_add(dl, DP_DPDK_ARP_MBOX_FULL, 1);
	}
}

/* Refresh (never create) entries with the other lcores' ARP news. */
static void
arp_news_apply(struct dp_dpdk_lcore *dl)
{
	struct dp_dpdk_arp_news news[8];
	unsigned nb;

	if (dl->arp_mbox == NULL)
		return;
	nb = rte_ring_sc_dequeue_burst_elem(dl->arp_mbox, news, sizeof(*news),
					    8, NULL);
	for (unsigned i = 0; i < nb; i++)
		arp_learn(dl, news[i].ip, news[i].mac, false);
	ctr_add(dl, DP_DPDK_ARP_SHARED, nb);
}

static uint32_t
addr_ip4(const struct swim_addr *a)
{
	return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
	       (uint32_t)a->ip[2] << 8 | a->ip[3];
}

static void
ip4_addr(uint32_t ip, uint16_t port, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->ip[0] = (uint8_t)(ip >> 24);
	a->ip[1] = (uint8_t)(ip >> 16);
	a->ip[2] = (uint8_t)(ip >> 8);
	a->ip[3] = (uint8_t)ip;
	a->ip_len = 4;
	a->port = port;
}

/* With a keyring every datagram leaves sealed (§8): *data and *len
 * become the sealed copy's. false: it cannot be sealed (counted). */
static bool
seal_for_wire(struct dp_dpdk_lcore *dl, const uint8_t **data, size_t *len)
{
	int n;

	if (dl->seal == NULL)
		return true;
	n = dp_dpdk_seal_seal(dl->seal, *data, *len, dl->seal->sealed,
			      sizeof(dl->seal->sealed));
	if (n < 0) {
		dp_stat_add(dl->lc, DP_STAT_DROP_TOO_BIG, 1);
		return false;
	}
	*data = dl->seal->sealed;
	*len = (size_t)n;
	return true;
}

/*
 * Send one datagram in a fresh mbuf, resolving the next hop's MAC: on a
 * miss the frame waits in the ARP cache and a request goes out.
 */
static void
send_datagram(struct dp_dpdk_lcore *dl, const struct dp_pkt *pkt)
{
	struct dp_dpdk *dd = dl->owner;
	struct dp_udp4_hdrs h = { .src_ip = dd->self.ip,
				  .src_port = dd->self.port };
	const uint8_t *data = pkt->data;
	size_t len = pkt->len;
	struct rte_mbuf *m;
	bool ask = false;
	int n;

	if (!seal_for_wire(dl, &data, &len))
		return;
	if (pkt->addr.ip_len != 4 ||
	    dp_pkt_ip_is_special(addr_ip4(&pkt->addr))) {
		ctr_add(dl, DP_DPDK_NOT_IPV4, 1);
		dp_stat_add(dl->lc, DP_STAT_DROP_TX, 1);
		return;
	}
	if (DP_UDP4_PAYLOAD_OFF + len > dd->max_frame) {
		dp_stat_add(dl->lc, DP_STAT_DROP_TOO_BIG, 1);
		return;
	}
	m = rte_pktmbuf_alloc(dd->pool);
	if (m == NULL) {
		ctr_add(dl, DP_DPDK_MBUF_FAIL, 1);
		dp_stat_add(dl->lc, DP_STAT_DROP_TX, 1);
		return;
	}
	memcpy(h.src_mac, dd->self.mac, DP_ETH_ALEN);
	h.dst_ip = addr_ip4(&pkt->addr);
	h.dst_port = pkt->addr.port;
	n = dp_pkt_build_udp4(rte_pktmbuf_mtod(m, uint8_t *), mbuf_cap(m), &h,
			      data, (uint16_t)len);
	if (n < 0) {
		mbuf_drop(dl, m, DP_STAT_DROP_TOO_BIG);
		return;
	}
	mbuf_set_len(m, n);
	switch (dp_arp_resolve(dl->arp, h.dst_ip, dl->now_us, m, h.dst_mac,
			       &ask)) {
	case DP_ARP_HIT:
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), h.dst_mac, DP_ETH_ALEN);
		tx_push(dl, m);
		break;
	case DP_ARP_HELD:
		break;
	case DP_ARP_FULL:
		ctr_add(dl, DP_DPDK_ARP_FULL, 1);
		mbuf_drop(dl, m, DP_STAT_DROP_TX);
		break;
	}
	if (ask)
		send_arp_request(dl, h.dst_ip);
}

/* Where the ack to ping goes (dp_fp_ack_to_source), as IPv4 host order.
 * false: an IPv6 SourceAddr, which this backend cannot reach. */
static bool
ack_dest(const struct swim_ping *ping, const struct dp_pkt_view *v,
	 uint32_t *ip, uint16_t *port)
{
	*ip = v->src_ip;
	*port = v->src_port;
	if (!dp_fp_ack_to_source(ping))
		return true;
	if (ping->source_addr.len != 4)
		return false;
	memcpy(ip, ping->source_addr.ptr, 4);
	*ip = rte_be_to_cpu_32(*ip);
	*port = ping->source_port;
	return true;
}

/* The ack to a SourceAddr whose MAC we don't know yet: built apart and
 * sent like control's datagrams, which resolve it. */
static void
send_ack_resolving(struct dp_dpdk_lcore *dl, struct rte_mbuf *m,
		   uint32_t seq_no, uint32_t ip, uint16_t port)
{
	int n = dp_fp_build_ack(&dl->fp, seq_no, dl->ack.data,
				sizeof(dl->ack.data));

	rte_pktmbuf_free(m);
	if (n < 0) {
		dp_stat_add(dl->lc, DP_STAT_DROP_TOO_BIG, 1);
		return;
	}
	dl->ack.len = (uint16_t)n;
	dl->ack.flags = 0;
	ip4_addr(ip, port, &dl->ack.addr);
	send_datagram(dl, &dl->ack);
	dp_stat_add(dl->lc, DP_STAT_ACKS_FAST, 1);
}

/*
 * The fast path's ack, written over the ping's own mbuf: the ack's
 * template straight into the payload, then the headers around it from
 * ours, so the ack is built once and copied never.
 */
static void
send_ack(struct dp_dpdk_lcore *dl, struct rte_mbuf *m, uint8_t *f,
	 const struct dp_pkt_view *v, const struct swim_ping *ping)
{
	size_t cap = mbuf_cap(m);
	uint8_t mac[DP_ETH_ALEN];
	const uint8_t *to_mac = v->src_mac;
	uint32_t seq_no = ping->seq_no;
	uint16_t port;
	uint32_t ip;
	int n;

	/* everything needed from the ping, before the ack overwrites it */
	if (!ack_dest(ping, v, &ip, &port)) {
		ctr_add(dl, DP_DPDK_NOT_IPV4, 1);
		mbuf_drop(dl, m, DP_STAT_DROP_TX);
		return;
	}
	if (ip != v->src_ip) {
		if (!dp_arp_lookup(dl->arp, ip, dl->now_us, mac)) {
			send_ack_resolving(dl, m, seq_no, ip, port);
			return;
		}
		to_mac = mac;
	}
	/* sealed: the ack's bytes are the cipher's, summed afresh */
	n = dl->seal != NULL ?
	    dp_dpdk_seal_ack(dl->seal, &dl->fp, seq_no,
			     f + DP_UDP4_PAYLOAD_OFF,
			     cap - DP_UDP4_PAYLOAD_OFF) :
	    dp_fp_build_ack(&dl->fp, seq_no, f + DP_UDP4_PAYLOAD_OFF,
			    cap - DP_UDP4_PAYLOAD_OFF);
	if (n >= 0)
		n = dp_pkt_udp4_hdrs_put(f, cap, &dl->hdrs, to_mac, ip, port,
			(size_t)n, dl->seal == NULL && dl->fp.has_ack_sum ?
			dl->fp.ack_sum :
			dp_pkt_csum(f + DP_UDP4_PAYLOAD_OFF, (size_t)n, 0));
	if (n < 0 || n > dl->owner->max_frame) {
		mbuf_drop(dl, m, DP_STAT_DROP_TOO_BIG);
		return;
	}
	mbuf_set_len(m, n);
	dp_stat_add(dl->lc, DP_STAT_ACKS_FAST, 1);
	tx_push(dl, m);
}

/* A datagram for control: a copy, with the sender's address. */
static void
pass_to_control(struct dp_dpdk_lcore *dl, const struct dp_pkt_view *v,
		const uint8_t *data, uint16_t len, uint16_t flags)
{
	struct swim_addr src;

	ip4_addr(v->src_ip, v->src_port, &src);
	ctl_push(dl, &src, data, len, flags);
}

static void
on_udp(struct dp_dpdk_lcore *dl, struct rte_mbuf *m, uint8_t *f,
       const struct dp_pkt_view *v)
{
	const uint8_t *data = f + v->payload_off;
	uint16_t len = v->payload_len;
	struct swim_ping ping;

	learn_sender(dl, DP_PKT_U_BE32(v->src_ip), v->src_mac);
	if (len > DP_PKT_MAX) {
		mbuf_drop(dl, m, DP_STAT_DROP_TOO_BIG);
		return;
	}
	if (dl->seal != NULL) {
		/* with a keyring: opened, or dropped as memberlist drops
		 * what no key opens (plaintext included) */
		int n = dp_dpdk_seal_open(dl->seal, data, len);

		if (n < 0) {
			mbuf_drop(dl, m, DP_STAT_DROP_MALFORMED);
			return;
		}
		data = dl->seal->plain;
		len = (uint16_t)n;
	}
	switch (dp_fp_match_usual(&dl->fp, data, len, &ping)) {
	case DP_FP_PASS:
		pass_to_control(dl, v, data, len, 0);
		rte_pktmbuf_free(m);
		break;
	case DP_FP_PASS_ACKED:
		pass_to_control(dl, v, data, len, DP_PKT_F_PINGS_ANSWERED);
		send_ack(dl, m, f, v, &ping);
		break;
	case DP_FP_ACKED:
		send_ack(dl, m, f, v, &ping);
		break;
	case DP_FP_MALFORMED:
	case DP_FP_VERDICT_COUNT:
		mbuf_drop(dl, m, DP_STAT_DROP_MALFORMED);
		break;
	}
}

static void
on_arp(struct dp_dpdk_lcore *dl, struct rte_mbuf *m,
       const struct dp_pkt_view *v)
{
	const struct dp_pkt_self *self = &dl->owner->self;
	int n;

	if (!dp_pkt_ip_is_special(v->src_ip) && v->src_ip != self->ip) {
		arp_learn(dl, v->src_ip, v->arp_sha, v->dst_ip == self->ip);
		arp_share(dl, v->src_ip, v->arp_sha);
	}
	if (v->arp_op != DP_ARP_OP_REQUEST || v->dst_ip != self->ip) {
		/* Replies and GARPs teach the kernel too, when there is one;
		 * without it they were consumed here, not dropped. */
		if (dl->owner->exc_port != DP_DPDK_NO_PORT)
			exc_push(dl, m);
		else
			rte_pktmbuf_free(m);
		return;
	}
	n = dp_pkt_build_arp_reply(rte_pktmbuf_mtod(m, uint8_t *),
				   mbuf_cap(m), v, self);
	if (n < 0) {
		mbuf_drop(dl, m, DP_STAT_DROP_OTHER);
		return;
	}
	mbuf_set_len(m, n);
	ctr_add(dl, DP_DPDK_ARP_ANSWERED, 1);
	tx_push(dl, m);
}

/* The checksums the port verified (RX offload), as dp_pkt_parse_hw's
 * bits: UNKNOWN and BAD leave the check to software. */
static unsigned
rx_csum_good(const struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags;
	unsigned hw = 0;

	if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		hw |= DP_PKT_HW_IP4_CSUM_GOOD;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		hw |= DP_PKT_HW_L4_CSUM_GOOD;
	return hw;
}

/* The general path: every frame the fused one (fast_ping) left alone.
 * Out of line, so the usual frame's path saves no registers for it. */
static __attribute__((noinline)) void
on_frame(struct dp_dpdk_lcore *dl, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct dp_pkt_view v;

	if (m->nb_segs != 1) {
		ctr_add(dl, DP_DPDK_SEGMENTED, 1);
		mbuf_drop(dl, m, DP_STAT_DROP_OTHER);
		return;
	}
	switch (dp_pkt_parse_hw(f, m->data_len, &dl->owner->self,
				rx_csum_good(m), &v)) {
	case DP_PKT_ARP:
		on_arp(dl, m, &v);
		break;
	case DP_PKT_UDP_US:
		on_udp(dl, m, f, &v);
		break;
	case DP_PKT_EXCEPTION:
		exc_push(dl, m);
		break;
	case DP_PKT_DROP:
	case DP_PKT_CLASS_COUNT:
		dl->drop[v.drop]++;
		mbuf_drop(dl, m, DP_STAT_DROP_OTHER);
		break;
	}
}

/* The port's checksum verdicts as dp_pkt_parse_hw's bits; most frames
 * carry none (no RX offload), and then one test says so. */
static inline __attribute__((always_inline)) unsigned
rx_csum_hw(const struct rte_mbuf *m)
{
	if ((m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK |
			    RTE_MBUF_F_RX_L4_CKSUM_MASK)) == 0)
		return 0;
	return rx_csum_good(m);
}

/*
 * The usual ping to us, acked in one pass (dp_dpdk_fast.h): what on_frame,
 * on_udp and send_ack do for it, with the same side effects (learn the
 * sender, write the ack, queue it; the caller counts it). Nothing is
 * touched before the last check: false leaves the frame to on_frame.
 */
static inline __attribute__((always_inline)) bool
fast_ping(struct dp_dpdk_lcore *dl, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t n;

	if (m->nb_segs != 1)
		return false;
	n = dp_fast_ping_ack(f, m->data_len, mbuf_cap(m), rx_csum_hw(m),
			     &dl->fast, &dl->fp.tmpl);
	if (n == 0)
		return false;
	/* the ack goes back to the ping's sender: its MAC and address are
	 * the ack's destination */
	learn_sender(dl, dp_csum_ld32n(f + DP_ETH_HLEN + 16), f);
	mbuf_set_len(m, (int)n);
	tx_push(dl, m);
	return true;
}

/*
 * One received burst, start to finish: classify and answer every frame,
 * hand datagrams to control, send the replies. Kept out of line so that
 * callgrind can attribute the per-ping cost (scripts/bench-dpdk.sh).
 */
__attribute__((noinline)) void
dp_dpdk_lcore_handle(struct dp_dpdk_lcore *dl, struct rte_mbuf **pkts,
		     uint16_t nb)
{
	uint64_t fast = 0;

	dp_stat_add(dl->lc, DP_STAT_RX_PKTS, nb);
	dl->memo_ip_n = 0;	/* a new turn: learn each sender again */
	if (dl->seal != NULL) {
		/* sealed pings: the fused plaintext pass never matches */
		for (uint16_t i = 0; i < nb; i++)
			on_frame(dl, pkts[i]);
		nb = 0;
	}
	for (uint16_t i = 0; i < nb; i++) {
		if (fast_ping(dl, pkts[i]))
			fast++;
		else
			on_frame(dl, pkts[i]);
	}
	dp_stat_add(dl->lc, DP_STAT_ACKS_FAST, fast);
	ctl_flush(dl);
	tx_flush(dl);
}

/* Whatever the kernel sends through the tap leaves by the main port.
 * @retval frames taken. */
static uint16_t
exc_from_kernel(struct dp_dpdk_lcore *dl)
{
	struct rte_mbuf *pkts[DP_BURST];
	uint16_t nb;

	if (dl->owner->exc_port == DP_DPDK_NO_PORT)
		return 0;
	nb = rte_eth_rx_burst(dl->owner->exc_port, dl->queue, pkts, DP_BURST);
	ctr_add(dl, DP_DPDK_EXC_FROM_KERNEL, nb);
	for (uint16_t i = 0; i < nb; i++)
		tx_push(dl, pkts[i]);
	return nb;
}

/* @retval datagrams taken from control. */
static unsigned
from_control(struct dp_dpdk_lcore *dl)
{
	unsigned nb = dp_lcore_from_control(dl->lc, dl->out, DP_BURST);

	for (unsigned i = 0; i < nb; i++)
		send_datagram(dl, &dl->out[i]);
	return nb;
}

/* Expire ARP entries, retry requests, free packets given up on. */
static void
arp_age(struct dp_dpdk_lcore *dl)
{
	void *dropped[DP_BURST];
	uint32_t retry[DP_BURST];
	unsigned nb_retry;
	unsigned nb;

	if (dl->now_us < dl->next_age_us)
		return;
	dl->next_age_us = dl->now_us + DP_DPDK_AGE_US;
	nb = dp_arp_age(dl->arp, dl->now_us, dropped, DP_BURST, retry,
			DP_BURST, &nb_retry);
	for (unsigned i = 0; i < nb; i++)
		mbuf_drop(dl, dropped[i], DP_STAT_DROP_TX);
	ctr_add(dl, DP_DPDK_ARP_HELD_DROP, nb);
	for (unsigned i = 0; i < nb_retry; i++)
		send_arp_request(dl, retry[i]);
}

static void
send_garp(struct dp_dpdk_lcore *dl)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dl->owner->pool);
	int n;

	if (m == NULL)
		return;
	n = dp_pkt_build_garp(rte_pktmbuf_mtod(m, uint8_t *), mbuf_cap(m),
			      &dl->owner->self);
	if (n < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	mbuf_set_len(m, n);
	tx_push(dl, m);
}

/* With a keyring: the lcore's own cipher contexts, keyed once here (the
 * only allocation of the loop, before it starts). */
static bool
seal_start(struct dp_dpdk_lcore *dl)
{
	const struct swim_keyring *ring = dl->owner->base.cfg.keyring;

	if (ring == NULL || dl->seal != NULL)
		return true;
	dl->seal = dp_dpdk_seal_new(ring);
	if (dl->seal == NULL)
		DP_LOG(ERR, "lcore %u: no memory for its cipher contexts",
		       dl->lcore_id);
	return dl->seal != NULL;
}

/* The fused path's constants follow the snapshot copy. */
static void
fast_rebuild(struct dp_dpdk_lcore *dl)
{
	dp_fast_init(&dl->fast, &dl->owner->self, &dl->hdrs, &dl->fp,
		     dl->owner->max_frame);
	/* a key rotation arrives as a new keyring in a new snapshot */
	if (dl->seal != NULL)
		(void)dp_dpdk_seal_follow(dl->seal, dl->fp.snap.keyring);
}

int
dp_dpdk_lcore_main(void *arg)
{
	struct dp_dpdk_lcore *dl = arg;
	struct dp_dpdk *dd = dl->owner;
	struct rte_mbuf *pkts[DP_BURST];
	struct dp_dpdk_idle idle;

	DP_LOG(INFO, "lcore %u polls port %u queue %u", dl->lcore_id,
	       dd->port, dl->queue);
	if (!seal_start(dl))
		return -1;
	dl->now_us = rte_rdtsc() / dd->tsc_per_us;
	dp_pkt_udp4_tmpl_init(&dl->hdrs, &dd->self);
	fast_rebuild(dl);
	if (dl->queue == 0)
		send_garp(dl);	/* tell the segment where we are */
	dp_dpdk_idle_init(&idle, dl);	/* --dp-power */
	/* pairs with the release store in dp_dpdk_stop */
	while (!atomic_load_explicit(&dd->quit, memory_order_acquire)) {
		uint64_t start_tsc = rte_rdtsc();
		unsigned moved;
		uint16_t nb;

		/* no port memory held here: a memif unmap may go on */
		dp_dpdk_link_quiescent(dl->queue);
		dl->now_us = start_tsc / dd->tsc_per_us;

		/* 1. main port: classify, answer, pass on; the snapshot is
		 * read once per burst, and only when there is one: an idle
		 * lcore leaves control's cache line alone */
		nb = rte_eth_rx_burst(dd->port, dl->queue, pkts, DP_BURST);
		if (nb != 0) {
			if (dp_fp_refresh(&dl->fp, &dd->base.pub))
				fast_rebuild(dl);
			dp_dpdk_lcore_handle(dl, pkts, nb);
		}

		/* 2. kernel -> wire, control -> wire, ARP timers */
		moved = nb + exc_from_kernel(dl);
		arp_news_apply(dl);
		moved += from_control(dl);
		arp_age(dl);

		/* 3. one tx_burst per port per turn */
		tx_flush(dl);
		exc_flush(dl);
		if (nb != 0)
			ctr_add(dl, DP_DPDK_BUSY_TSC, rte_rdtsc() - start_tsc);
		/* 4. nothing moved: pause or sleep (--dp-power) */
		dp_dpdk_idle_turn(&idle, moved != 0);
	}
	dp_dpdk_idle_fini(&idle);
	DP_LOG(INFO, "lcore %u leaves", dl->lcore_id);
	dp_dpdk_seal_delete(dl->seal);
	dl->seal = NULL;
	return 0;
}
