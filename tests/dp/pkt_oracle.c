/* SPDX-License-Identifier: MIT */
/*
 * Differential oracles for dp_pkt (pkt_oracle.h): a reference parser and
 * a reference reply builder written from dp_pkt.h and RFC 768/791/826/
 * 1071/1812, byte at a time, sharing nothing with dp_pkt.c.
 */
#include "pkt_oracle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t
pko_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
pko_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
pko_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
pko_put32(uint8_t *p, uint32_t v)
{
	pko_put16(p, (uint16_t)(v >> 16));
	pko_put16(p + 2, (uint16_t)v);
}

/* 0.0.0.0, 255.255.255.255 and 224.0.0.0/4: never a peer (dp_pkt.h). */
static bool
pko_special(uint32_t ip)
{
	return ip == 0 || ip == 0xffffffffu ||
	       (ip >= 0xe0000000u && ip <= 0xefffffffu);
}

/* The UDP checksum sum over the RFC 768 pseudo header and the datagram. */
static uint64_t
pko_udp_sum(uint32_t src, uint32_t dst, const uint8_t *u, size_t ulen)
{
	uint8_t ph[12];

	pko_put32(ph, src);
	pko_put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = DP_IPPROTO_UDP;
	pko_put16(ph + 10, (uint16_t)ulen);
	return oracle_sum(ph, sizeof(ph)) + oracle_sum(u, ulen);
}

/* --- the reference parser --- */

static enum dp_pkt_class
pko_drop(struct dp_pkt_view *w, enum dp_pkt_drop why)
{
	w->cls = DP_PKT_DROP;
	w->drop = why;
	return DP_PKT_DROP;
}

static enum dp_pkt_class
pko_ref_arp(const uint8_t *f, size_t len, struct dp_pkt_view *w)
{
	const uint8_t *a = f + DP_ETH_HLEN;
	uint16_t op;

	if (len < DP_ETH_HLEN + DP_ARP_LEN)
		return pko_drop(w, DP_PKT_DROP_ARP_TRUNCATED);
	op = pko_be16(a + 6);
	if (pko_be16(a) != 1 || pko_be16(a + 2) != 0x0800 || a[4] != 6 ||
	    a[5] != 4 || (op != 1 && op != 2))
		return pko_drop(w, DP_PKT_DROP_ARP_FORMAT);
	w->l3_off = DP_ETH_HLEN;
	w->arp_op = op;
	memcpy(w->arp_sha, a + 8, 6);
	w->src_ip = pko_be32(a + 14);
	w->dst_ip = pko_be32(a + 24);
	return w->cls = DP_PKT_ARP;
}

/* UDP behind a checked IPv4 header of ihl bytes and tot total. */
static enum dp_pkt_class
pko_ref_udp(const uint8_t *ip, size_t ihl, size_t tot,
	    const struct dp_pkt_self *self, struct dp_pkt_view *w)
{
	const uint8_t *u = ip + ihl;
	size_t ulen;

	if (tot - ihl < DP_UDP_HLEN)
		return pko_drop(w, DP_PKT_DROP_UDP_TRUNCATED);
	ulen = pko_be16(u + 4);
	if (ulen < DP_UDP_HLEN || ulen > tot - ihl)
		return pko_drop(w, DP_PKT_DROP_UDP_LEN);
	if (pko_be16(u + 6) != 0 &&
	    oracle_fold(pko_udp_sum(w->src_ip, w->dst_ip, u, ulen)) != 0xffff)
		return pko_drop(w, DP_PKT_DROP_UDP_CSUM);
	w->src_port = pko_be16(u);
	w->dst_port = pko_be16(u + 2);
	w->l3_off = DP_ETH_HLEN;
	w->l4_off = (uint16_t)(DP_ETH_HLEN + ihl);
	w->payload_off = (uint16_t)(w->l4_off + DP_UDP_HLEN);
	w->payload_len = (uint16_t)(ulen - DP_UDP_HLEN);
	if (w->dst_port != self->port)
		return w->cls = DP_PKT_EXCEPTION;
	return w->cls = DP_PKT_UDP_US;
}

static enum dp_pkt_class
pko_ref_ipv4(const uint8_t *f, size_t len, const struct dp_pkt_self *self,
	     struct dp_pkt_view *w)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	size_t avail = len - DP_ETH_HLEN, ihl, tot;

	if (avail < 20)
		return pko_drop(w, DP_PKT_DROP_IP_TRUNCATED);
	if (ip[0] >> 4 != 4)
		return pko_drop(w, DP_PKT_DROP_IP_VERSION);
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20)
		return pko_drop(w, DP_PKT_DROP_IP_IHL);
	if (ihl > avail)
		return pko_drop(w, DP_PKT_DROP_IP_TRUNCATED);
	tot = pko_be16(ip + 2);
	if (tot < ihl || tot > avail)
		return pko_drop(w, DP_PKT_DROP_IP_TOTLEN);
	if (oracle_fold(oracle_sum(ip, ihl)) != 0xffff)
		return pko_drop(w, DP_PKT_DROP_IP_CSUM);
	if ((pko_be16(ip + 6) & 0x3fff) != 0)	/* MF, offset */
		return pko_drop(w, DP_PKT_DROP_IP_FRAGMENT);
	w->src_ip = pko_be32(ip + 12);
	w->dst_ip = pko_be32(ip + 16);
	if (pko_special(w->src_ip))
		return pko_drop(w, DP_PKT_DROP_IP_SRC);
	if (w->dst_ip != self->ip)
		return pko_special(w->dst_ip) ?
		       (w->cls = DP_PKT_EXCEPTION) :
		       pko_drop(w, DP_PKT_DROP_NOT_OUR_IP);
	if (ip[9] != DP_IPPROTO_UDP)
		return w->cls = DP_PKT_EXCEPTION;
	return pko_ref_udp(ip, ihl, tot, self, w);
}

static enum dp_pkt_class
pko_ref_parse(const uint8_t *f, size_t len, const struct dp_pkt_self *self,
	      struct dp_pkt_view *w)
{
	memset(w, 0, sizeof(*w));
	if (len < DP_ETH_HLEN)
		return pko_drop(w, DP_PKT_DROP_RUNT);
	memcpy(w->src_mac, f + 6, 6);
	w->ethertype = pko_be16(f + 12);
	if (memcmp(f, self->mac, 6) != 0 && (f[0] & 1) == 0)
		return pko_drop(w, DP_PKT_DROP_NOT_OUR_MAC);
	if (w->ethertype == 0x0806)
		return pko_ref_arp(f, len, w);
	if (w->ethertype == 0x0800)
		return pko_ref_ipv4(f, len, self, w);
	return w->cls = DP_PKT_EXCEPTION;
}

/* --- parse check --- */

/* Every field that means something for an ARP or UDP_US view. */
static const char *
pko_same_view(const struct dp_pkt_view *v, const struct dp_pkt_view *w)
{
#define PKO_FIELD(f)                                                       \
	if (v->f != w->f)                                                  \
		return oracle_fail(#f " %lu, reference %lu",               \
				   (unsigned long)v->f, (unsigned long)w->f)
	PKO_FIELD(ethertype);
	PKO_FIELD(l3_off);
	PKO_FIELD(l4_off);
	PKO_FIELD(payload_off);
	PKO_FIELD(payload_len);
	PKO_FIELD(src_ip);
	PKO_FIELD(dst_ip);
	PKO_FIELD(src_port);
	PKO_FIELD(dst_port);
	PKO_FIELD(arp_op);
#undef PKO_FIELD
	if (memcmp(v->src_mac, w->src_mac, 6) != 0)
		return oracle_fail("src_mac differs");
	if (memcmp(v->arp_sha, w->arp_sha, 6) != 0)
		return oracle_fail("arp_sha differs");
	return NULL;
}

/* Offsets of any view stay inside the frame. */
static const char *
pko_in_frame(const struct dp_pkt_view *v, size_t len)
{
	if (v->l3_off != 0 && (v->l3_off != DP_ETH_HLEN || v->l3_off > len))
		return oracle_fail("l3_off %u, frame %zu", v->l3_off, len);
	if (v->l4_off > len || (v->payload_off != 0 &&
				(size_t)v->l4_off + DP_UDP_HLEN > len))
		return oracle_fail("l4_off %u, frame %zu", v->l4_off, len);
	if (v->payload_off != 0 &&
	    (size_t)v->payload_off + v->payload_len > len)
		return oracle_fail("payload %u+%u, frame %zu", v->payload_off,
				   v->payload_len, len);
	if (v->payload_off == 0 && v->payload_len != 0)
		return oracle_fail("payload_len %u at offset 0",
				   v->payload_len);
	return NULL;
}

/* A UDP_US frame's checksums, verified here once more on their own. */
static const char *
pko_sums_ok(const uint8_t *f, const struct dp_pkt_view *v)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	const uint8_t *u = f + v->l4_off;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

	if (oracle_fold(oracle_sum(ip, ihl)) != 0xffff)
		return oracle_fail("UDP_US with a bad IPv4 header checksum");
	if (pko_be16(u + 6) != 0 &&
	    oracle_fold(pko_udp_sum(pko_be32(ip + 12), pko_be32(ip + 16), u,
				 pko_be16(u + 4))) != 0xffff)
		return oracle_fail("UDP_US with a bad UDP checksum");
	return NULL;
}

const char *
pko_check_parse(const uint8_t *frame, size_t len,
		const struct dp_pkt_self *self, struct dp_pkt_view *v)
{
	struct dp_pkt_view w;
	enum dp_pkt_class cls;
	const char *err;

	memset(v, 0x5a, sizeof(*v));
	cls = dp_pkt_parse(frame, len, self, v);
	pko_ref_parse(frame, len, self, &w);
	if (cls != v->cls)
		return oracle_fail("returned %d, view says %d", cls, v->cls);
	if (v->cls != w.cls || v->drop != w.drop)
		return oracle_fail("class %d drop %s, reference class %d "
				   "drop %s", v->cls,
				   (unsigned)v->drop < DP_PKT_DROP_COUNT ?
				   dp_pkt_drop_str[v->drop] : "?", w.cls,
				   dp_pkt_drop_str[w.drop]);
	err = pko_in_frame(v, len);
	if (err != NULL || (cls != DP_PKT_ARP && cls != DP_PKT_UDP_US))
		return err;
	err = pko_same_view(v, &w);
	if (err != NULL || cls != DP_PKT_UDP_US)
		return err;
	return pko_sums_ok(frame, v);
}

/* --- frames --- */

size_t
pko_frame(uint8_t *out, const struct dp_pkt_self *self,
	  const struct dp_udp4_hdrs *peer, unsigned nb_opt,
	  const uint8_t *payload, size_t len, size_t pad, bool no_csum)
{
	uint8_t *ip = out + DP_ETH_HLEN;
	size_t ihl = 20 + 4 * (size_t)nb_opt;
	uint8_t *u = ip + ihl;

	memcpy(out, self->mac, 6);
	memcpy(out + 6, peer->src_mac, 6);
	pko_put16(out + 12, 0x0800);
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	pko_put16(ip + 2, (uint16_t)(ihl + 8 + len));
	pko_put16(ip + 4, 0x1234);
	pko_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = DP_IPPROTO_UDP;
	pko_put32(ip + 12, peer->src_ip);
	pko_put32(ip + 16, self->ip);
	memset(ip + 20, 0x01, ihl - 20);	/* NOP options */
	pko_put16(ip + 10, (uint16_t)~oracle_fold(oracle_sum(ip, ihl)));
	pko_put16(u, peer->src_port);
	pko_put16(u + 2, self->port);
	pko_put16(u + 4, (uint16_t)(8 + len));
	pko_put16(u + 6, 0);
	memcpy(u + 8, payload, len);
	if (!no_csum) {
		uint16_t c = (uint16_t)~oracle_fold(pko_udp_sum(peer->src_ip,
			self->ip, u, 8 + len));

		pko_put16(u + 6, c == 0 ? 0xffff : c);
	}
	memset(u + 8 + len, 0xee, pad);
	return (size_t)(u + 8 + len + pad - out);
}

void
pko_fix_sums(uint8_t *f, size_t len)
{
	uint8_t *ip = f + DP_ETH_HLEN, *u;
	size_t ihl, tot, ulen;
	uint16_t c;

	if (len < DP_ETH_HLEN + 20 || pko_be16(f + 12) != 0x0800)
		return;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || DP_ETH_HLEN + ihl > len)
		return;
	pko_put16(ip + 10, 0);
	pko_put16(ip + 10, (uint16_t)~oracle_fold(oracle_sum(ip, ihl)));
	tot = pko_be16(ip + 2);
	if (ip[9] != DP_IPPROTO_UDP || DP_ETH_HLEN + tot > len ||
	    tot < ihl + 8)
		return;
	u = ip + ihl;
	ulen = pko_be16(u + 4);
	if (ulen < 8 || ulen > tot - ihl || pko_be16(u + 6) == 0)
		return;
	pko_put16(u + 6, 0);
	c = (uint16_t)~oracle_fold(pko_udp_sum(pko_be32(ip + 12),
					    pko_be32(ip + 16), u, ulen));
	pko_put16(u + 6, c == 0 ? 0xffff : c);
}

/* The reply dp_pkt.h describes: ours as source, DF, TTL 64, ID 0, no
 * options, both checksums, zero padding to 60. @retval frame length */
static size_t
pko_reply_frame(uint8_t *e, const struct dp_pkt_self *self,
		const uint8_t dmac[6], uint32_t dip, uint16_t dport,
		const uint8_t *payload, size_t len)
{
	uint8_t *ip = e + DP_ETH_HLEN;
	uint8_t *u = ip + 20;
	size_t flen = DP_UDP4_PAYLOAD_OFF + len;
	uint16_t c;

	memcpy(e, dmac, 6);
	memcpy(e + 6, self->mac, 6);
	pko_put16(e + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	pko_put16(ip + 2, (uint16_t)(28 + len));
	pko_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = DP_IPPROTO_UDP;
	pko_put32(ip + 12, self->ip);
	pko_put32(ip + 16, dip);
	pko_put16(ip + 10, (uint16_t)~oracle_fold(oracle_sum(ip, 20)));
	pko_put16(u, self->port);
	pko_put16(u + 2, dport);
	pko_put16(u + 4, (uint16_t)(8 + len));
	pko_put16(u + 6, 0);
	memmove(u + 8, payload, len);
	c = (uint16_t)~oracle_fold(pko_udp_sum(self->ip, dip, u, 8 + len));
	pko_put16(u + 6, c == 0 ? 0xffff : c);
	for (; flen < DP_ETH_ZLEN; flen++)
		e[flen] = 0;
	return flen;
}

/* The peer receives the reply: UDP_US, the payload intact. */
static const char *
pko_peer_accepts(const uint8_t *r, size_t rlen, const struct dp_pkt_view *v,
		 const uint8_t *want, size_t plen)
{
	struct dp_pkt_self peer = { .ip = v->src_ip, .port = v->src_port };
	struct dp_pkt_view pv;
	const char *err;

	memcpy(peer.mac, v->src_mac, 6);
	err = pko_check_parse(r, rlen, &peer, &pv);
	if (err != NULL)
		return oracle_fail("the peer's parse of the reply: %s", err);
	if (pv.cls != DP_PKT_UDP_US || pv.payload_len != plen ||
	    memcmp(r + pv.payload_off, want, plen) != 0)
		return oracle_fail("the peer does not get the payload "
				   "(class %d)", pv.cls);
	return NULL;
}

/* The reply's endpoints: from self back to the frame's sender. */
static void
pko_hdrs(struct dp_udp4_hdrs *h, const struct dp_pkt_self *self,
	 const struct dp_pkt_view *v)
{
	memcpy(h->src_mac, self->mac, 6);
	memcpy(h->dst_mac, v->src_mac, 6);
	h->src_ip = self->ip;
	h->dst_ip = v->src_ip;
	h->src_port = self->port;
	h->dst_port = v->src_port;
}

/* The two ways dp_pkt answers a frame, each over its own copy of it:
 * dp_pkt_build_udp4 moving the payload (from inside the frame when
 * payload is NULL: the ranges overlap), and the lcore's ack, the payload
 * written at DP_UDP4_PAYLOAD_OFF and the header template given sum. */
static const char *
pko_replies(const uint8_t *frame, size_t len, size_t cap,
	    const struct dp_pkt_self *self, const struct dp_pkt_view *v,
	    const uint8_t *payload, size_t plen, uint32_t sum, int *na,
	    int *nb, uint8_t **a, uint8_t **b)
{
	struct dp_pkt_udp4_tmpl t;
	struct dp_udp4_hdrs h;

	*a = malloc(cap);
	*b = malloc(cap);
	if (*a == NULL || *b == NULL)
		return oracle_fail("out of memory");
	memset(*a, 0xa5, cap);
	memcpy(*a, frame, len);
	memcpy(*b, *a, cap);
	pko_hdrs(&h, self, v);
	*na = dp_pkt_build_udp4(*a, cap, &h, payload != NULL ? payload :
				*a + v->payload_off, plen);
	memmove(*b + DP_UDP4_PAYLOAD_OFF, payload != NULL ? payload :
		*b + v->payload_off, plen);
	dp_pkt_udp4_tmpl_init(&t, self);
	*nb = dp_pkt_udp4_hdrs_tmpl(*b, cap, &t, v->src_mac, v->src_ip,
				    v->src_port, plen, sum);
	return NULL;
}

/* The same reply through the per-sender header template: the payload
 * already at DP_UDP4_PAYLOAD_OFF of a buffer of exactly cap bytes. */
static const char *
pko_tmpl_reply(const struct dp_pkt_self *self, const struct dp_pkt_view *v,
	       const uint8_t *pl, size_t n, uint32_t sum, const uint8_t *e,
	       size_t elen)
{
	struct dp_pkt_udp4_tmpl t;
	uint8_t *c = malloc(elen);
	const char *err = NULL;
	int nc;

	if (c == NULL)
		return oracle_fail("out of memory");
	memset(c, 0xa5, elen);
	memcpy(c + DP_UDP4_PAYLOAD_OFF, pl, n);
	dp_pkt_udp4_tmpl_init(&t, self);
	nc = dp_pkt_udp4_hdrs_tmpl(c, elen, &t, v->src_mac, v->src_ip,
				   v->src_port, n, sum);
	if (nc != (int)elen)
		err = oracle_fail("udp4_hdrs_tmpl %d bytes, reference %zu", nc,
				  elen);
	else if (memcmp(c, e, elen) != 0)
		err = oracle_fail("udp4_hdrs_tmpl's frame differs (sum %#x)",
				  sum);
	free(c);
	return err;
}

const char *
pko_check_reply(const uint8_t *frame, size_t len,
		const struct dp_pkt_self *self, const struct dp_pkt_view *v,
		const uint8_t *payload, size_t plen, const uint32_t *psum)
{
	static uint8_t e[DP_UDP4_PAYLOAD_OFF + 65536 + 64];
	const uint8_t *pl = payload != NULL ? payload : frame + v->payload_off;
	size_t n = payload != NULL ? plen : v->payload_len;
	uint64_t sum = psum != NULL ? *psum : oracle_sum(pl, n);
	size_t elen, cap;
	uint8_t *a = NULL, *b = NULL;
	int na = 0, nb = 0;
	const char *err;

	elen = pko_reply_frame(e, self, v->src_mac, v->src_ip, v->src_port,
			       pl, n);
	cap = elen > len ? elen : len;
	err = pko_replies(frame, len, cap, self, v, payload, n,
			  (uint32_t)sum, &na, &nb, &a, &b);
	if (err == NULL && (na != (int)elen || nb != (int)elen))
		err = oracle_fail("build_udp4 %d, udp4_hdrs_tmpl in place %d, "
				  "reference %zu bytes", na, nb, elen);
	if (err == NULL && memcmp(a, e, elen) != 0)
		err = oracle_fail("dp_pkt_build_udp4's frame differs");
	if (err == NULL && memcmp(b, e, elen) != 0)
		err = oracle_fail("udp4_hdrs_tmpl's frame in place differs "
				  "(sum %#llx)", (unsigned long long)sum);
	if (err == NULL)
		err = pko_peer_accepts(b, elen, v, e + DP_UDP4_PAYLOAD_OFF, n);
	if (err == NULL)
		err = pko_tmpl_reply(self, v, e + DP_UDP4_PAYLOAD_OFF, n,
				     (uint32_t)sum, e, elen);
	free(a);
	free(b);
	return err;
}

/* The return code of dp_pkt_build_udp4 (tmpl false) or of the header
 * template (true, the payload taken as already in place) over a copy of
 * the frame in a buffer of cap bytes. */
static int
pko_reply_rc(bool tmpl, const uint8_t *frame, size_t len, size_t cap,
	     const struct dp_pkt_self *self, const struct dp_pkt_view *v,
	     const uint8_t *payload, size_t plen)
{
	uint8_t *buf = malloc(cap ? cap : 1);
	struct dp_pkt_udp4_tmpl t;
	struct dp_udp4_hdrs h;
	int rc;

	if (buf == NULL)
		return 1;
	memcpy(buf, frame, len < cap ? len : cap);
	pko_hdrs(&h, self, v);
	dp_pkt_udp4_tmpl_init(&t, self);
	rc = tmpl ? dp_pkt_udp4_hdrs_tmpl(buf, cap, &t, v->src_mac, v->src_ip,
					  v->src_port, plen, 0) :
		    dp_pkt_build_udp4(buf, cap, &h, payload, plen);
	free(buf);
	return rc;
}

const char *
pko_check_reply_errors(const uint8_t *frame, size_t len,
		       const struct dp_pkt_self *self,
		       const struct dp_pkt_view *v)
{
	static uint8_t big[65536];
	size_t plen = v->payload_len % 64;
	size_t need = DP_UDP4_PAYLOAD_OFF + plen;

	if (need < DP_ETH_ZLEN)
		need = DP_ETH_ZLEN;
	for (int s = 0; s < 2; s++) {
		if (pko_reply_rc(s, frame, len, need - 1, self, v, big, plen) !=
		    -ENOSPC)
			return oracle_fail("reply (template %d): a byte short "
					   "of room, not -ENOSPC", s);
		if (pko_reply_rc(s, frame, len, len, self, v, big,
				 65536 - 28) != -EMSGSIZE)
			return oracle_fail("65508-byte payload (template %d): "
					   "not -EMSGSIZE", s);
		if (pko_reply_rc(s, frame, len, len, self, v, big, 65535 - 28) ==
		    -EMSGSIZE)
			return oracle_fail("65507-byte payload (template %d): "
					   "-EMSGSIZE", s);
		if (pko_reply_rc(s, frame, len, need, self, v, big, plen) !=
		    (int)need)
			return oracle_fail("reply (template %d) with just the "
					   "room: not %zu bytes", s, need);
	}
	return NULL;
}
