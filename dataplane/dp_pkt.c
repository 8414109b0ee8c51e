/* SPDX-License-Identifier: MIT */
/*
 * Frame parse and build for the DPDK backend: Ethernet, ARP, IPv4, UDP.
 *
 * Owns: header validation (RFC 791/1812 for IPv4, RFC 768 for UDP,
 * RFC 826 for ARP), checksums (RFC 1071) and frame layout. Never: DPDK,
 * allocation, clocks, logging. All loads and stores go through memcpy
 * helpers, so buffers need no alignment and no byte is read past len.
 */
#include "dp_pkt.h"
#include "dp_csum.h"
#include "dp_pkt_usual.h"

#include <errno.h>
#include <string.h>


const char *const dp_pkt_drop_str[DP_PKT_DROP_COUNT] = {
	[DP_PKT_DROP_NONE] = "none",
	[DP_PKT_DROP_RUNT] = "runt",
	[DP_PKT_DROP_NOT_OUR_MAC] = "not_our_mac",
	[DP_PKT_DROP_ARP_TRUNCATED] = "arp_truncated",
	[DP_PKT_DROP_ARP_FORMAT] = "arp_format",
	[DP_PKT_DROP_IP_TRUNCATED] = "ip_truncated",
	[DP_PKT_DROP_IP_VERSION] = "ip_version",
	[DP_PKT_DROP_IP_IHL] = "ip_ihl",
	[DP_PKT_DROP_IP_TOTLEN] = "ip_totlen",
	[DP_PKT_DROP_IP_CSUM] = "ip_csum",
	[DP_PKT_DROP_IP_FRAGMENT] = "ip_fragment",
	[DP_PKT_DROP_IP_SRC] = "ip_src",
	[DP_PKT_DROP_NOT_OUR_IP] = "not_our_ip",
	[DP_PKT_DROP_UDP_TRUNCATED] = "udp_truncated",
	[DP_PKT_DROP_UDP_LEN] = "udp_len",
	[DP_PKT_DROP_UDP_CSUM] = "udp_csum",
};
_Static_assert(sizeof(dp_pkt_drop_str) / sizeof(dp_pkt_drop_str[0]) ==
	       DP_PKT_DROP_COUNT, "a drop reason lacks a name");

static const uint8_t eth_bcast[DP_ETH_ALEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};
static const uint8_t eth_zero[DP_ETH_ALEN];

/* IPv4 flags/fragment field: MF bit and the 13-bit offset. */
#define IP4_MF 0x2000
#define IP4_DF 0x4000
#define IP4_OFFMASK 0x1fff
#define IP4_TTL 64

/* Big-endian loads and stores as one unaligned access and a byte swap. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DP_BE16(v) __builtin_bswap16(v)
#define DP_BE32(v) __builtin_bswap32(v)
#else
#define DP_BE16(v) (v)
#define DP_BE32(v) (v)
#endif

static inline uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return DP_BE16(v);
}

static inline uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return DP_BE32(v);
}

static inline void
st16(uint8_t *p, uint16_t v)
{
	v = DP_BE16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
st32(uint8_t *p, uint32_t v)
{
	v = DP_BE32(v);
	memcpy(p, &v, sizeof(v));
}

/* A folded native-order sum in host order (big-endian words), plus seed. */
static inline uint16_t
csum_finish(uint64_t sum, uint32_t seed)
{
	uint16_t native = dp_csum_fold(sum);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	native = __builtin_bswap16(native);
#endif
	return dp_csum_fold((uint64_t)native + seed);
}

uint16_t
dp_pkt_csum(const void *data, size_t len, uint32_t seed)
{
	return csum_finish(dp_csum_partial(data, len, 0), seed);
}

/* Whether a 20-byte IPv4 header (no options) sums to 0xffff: five 32-bit
 * words cannot overflow a 64-bit sum, so no carries to add back. */
static inline bool
ip4_hdr20_ok(const uint8_t *ip)
{
	uint64_t sum = (uint64_t)dp_csum_ld32n(ip) + dp_csum_ld32n(ip + 4) +
		       dp_csum_ld32n(ip + 8) + dp_csum_ld32n(ip + 12) +
		       dp_csum_ld32n(ip + 16);

	return dp_csum_fold(sum) == 0xffff;
}

/* The checksum of the header dp_pkt_build_udp4_hdrs writes, summed from
 * its fields (host order) rather than read back from the buffer. */
static inline uint16_t
ip4_hdr_csum(uint16_t tot_len, uint32_t src, uint32_t dst)
{
	uint64_t sum = 0x4500u + tot_len + IP4_DF +
		       (IP4_TTL << 8 | DP_IPPROTO_UDP) + (src >> 16) +
		       (src & 0xffff) + (dst >> 16) + (dst & 0xffff);

	return (uint16_t)~dp_csum_fold(sum);
}

/* Sum of the UDP pseudo header (RFC 768) for src, dst and udp_len. */
static uint32_t
udp4_pseudo_sum(uint32_t src, uint32_t dst, uint16_t udp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       DP_IPPROTO_UDP + udp_len;
}

static enum dp_pkt_class
view_drop(struct dp_pkt_view *v, enum dp_pkt_drop why)
{
	v->cls = DP_PKT_DROP;
	v->drop = why;
	return DP_PKT_DROP;
}

/* view_drop for the helpers that answer "go on?". @retval false */
static bool
check_fail(struct dp_pkt_view *v, enum dp_pkt_drop why)
{
	view_drop(v, why);
	return false;
}

static enum dp_pkt_class
parse_arp(const uint8_t *frame, size_t len, struct dp_pkt_view *v)
{
	const uint8_t *a = frame + DP_ETH_HLEN;
	uint16_t op;

	if (len - DP_ETH_HLEN < DP_ARP_LEN)
		return view_drop(v, DP_PKT_DROP_ARP_TRUNCATED);
	op = ld16(a + 6);
	/* htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4. */
	if (ld16(a) != 1 || ld16(a + 2) != DP_ETHERTYPE_IPV4 ||
	    a[4] != DP_ETH_ALEN || a[5] != 4 ||
	    (op != DP_ARP_OP_REQUEST && op != DP_ARP_OP_REPLY))
		return view_drop(v, DP_PKT_DROP_ARP_FORMAT);
	v->l3_off = DP_ETH_HLEN;
	v->arp_op = op;
	memcpy(v->arp_sha, a + 8, DP_ETH_ALEN);
	v->src_ip = ld32(a + 14);
	v->dst_ip = ld32(a + 24);
	v->cls = DP_PKT_ARP;
	return DP_PKT_ARP;
}

/* UDP length and checksum. @retval false when dropped (v says why). */
static bool
parse_udp(const uint8_t *frame, size_t ip_end, unsigned hw,
	  struct dp_pkt_view *v)
{
	const uint8_t *u = frame + v->l4_off;
	uint16_t udp_len;
	uint16_t csum;

	if (ip_end - v->l4_off < DP_UDP_HLEN)
		return check_fail(v, DP_PKT_DROP_UDP_TRUNCATED);
	udp_len = ld16(u + 4);
	if (udp_len < DP_UDP_HLEN || udp_len > ip_end - v->l4_off)
		return check_fail(v, DP_PKT_DROP_UDP_LEN);
	csum = ld16(u + 6);
	if (csum != 0 && !(hw & DP_PKT_HW_L4_CSUM_GOOD) &&
	    csum_finish(dp_csum_partial(u, udp_len, 0),
			udp4_pseudo_sum(v->src_ip, v->dst_ip, udp_len)) != 0xffff)
		return check_fail(v, DP_PKT_DROP_UDP_CSUM);
	v->src_port = ld16(u);
	v->dst_port = ld16(u + 2);
	v->payload_off = (uint16_t)(v->l4_off + DP_UDP_HLEN);
	v->payload_len = (uint16_t)(udp_len - DP_UDP_HLEN);
	return true;
}

/*
 * Header checks in RFC 1812 §5.2.2 order, then fragments and sources.
 * @retval false when dropped (v says why).
 */
static bool
parse_ipv4_hdr(const uint8_t *frame, size_t len, unsigned hw, size_t *ip_end,
	       struct dp_pkt_view *v)
{
	const uint8_t *ip = frame + DP_ETH_HLEN;
	size_t avail = len - DP_ETH_HLEN;
	size_t ihl;
	size_t tot;

	if (avail < DP_IPV4_HLEN)
		return check_fail(v, DP_PKT_DROP_IP_TRUNCATED);
	if (ip[0] >> 4 != 4)
		return check_fail(v, DP_PKT_DROP_IP_VERSION);
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < DP_IPV4_HLEN)
		return check_fail(v, DP_PKT_DROP_IP_IHL);
	if (ihl > avail)
		return check_fail(v, DP_PKT_DROP_IP_TRUNCATED);
	tot = ld16(ip + 2);
	if (tot < ihl || tot > avail)
		return check_fail(v, DP_PKT_DROP_IP_TOTLEN);
	if (!(hw & DP_PKT_HW_IP4_CSUM_GOOD) &&
	    (ihl == DP_IPV4_HLEN ? !ip4_hdr20_ok(ip) :
				  dp_pkt_csum(ip, ihl, 0) != 0xffff))
		return check_fail(v, DP_PKT_DROP_IP_CSUM);
	if (ld16(ip + 6) & (IP4_MF | IP4_OFFMASK))
		return check_fail(v, DP_PKT_DROP_IP_FRAGMENT);
	v->src_ip = ld32(ip + 12);
	v->dst_ip = ld32(ip + 16);
	if (dp_pkt_ip_is_special(v->src_ip))
		return check_fail(v, DP_PKT_DROP_IP_SRC);
	v->l3_off = DP_ETH_HLEN;
	v->l4_off = (uint16_t)(DP_ETH_HLEN + ihl);
	*ip_end = DP_ETH_HLEN + tot;
	return true;
}

static enum dp_pkt_class
parse_ipv4(const uint8_t *frame, size_t len, const struct dp_pkt_self *self,
	   unsigned hw, struct dp_pkt_view *v)
{
	size_t ip_end = 0;
	uint8_t proto;

	if (!parse_ipv4_hdr(frame, len, hw, &ip_end, v))
		return DP_PKT_DROP;
	if (v->dst_ip != self->ip) {
		/* Broadcast and multicast may interest the kernel. */
		if (dp_pkt_ip_is_special(v->dst_ip))
			return v->cls = DP_PKT_EXCEPTION;
		return view_drop(v, DP_PKT_DROP_NOT_OUR_IP);
	}
	proto = frame[DP_ETH_HLEN + 9];
	if (proto != DP_IPPROTO_UDP)
		return v->cls = DP_PKT_EXCEPTION;
	if (!parse_udp(frame, ip_end, hw, v))
		return DP_PKT_DROP;
	if (v->dst_port != self->port)
		return v->cls = DP_PKT_EXCEPTION;
	return v->cls = DP_PKT_UDP_US;
}

/* The usual frame (dp_pkt_usual.h), its view filled as the general parse
 * would fill it, so the views are the same by construction.
 * @retval true: v filled, UDP_US; false: the general parse decides. */
static inline bool
parse_udp4_usual(const uint8_t *frame, size_t len,
		 const struct dp_pkt_self *self, unsigned hw,
		 struct dp_pkt_view *v)
{
	struct dp_pkt_usual us;

	if (!dp_pkt_udp4_usual(frame, len, self, hw, &us))
		return false;
	/* every field, as the general parse's memset and stores leave it */
	v->cls = DP_PKT_UDP_US;
	v->drop = DP_PKT_DROP_NONE;
	v->ethertype = DP_ETHERTYPE_IPV4;
	v->arp_op = 0;
	memset(v->arp_sha, 0, DP_ETH_ALEN);
	v->l3_off = DP_ETH_HLEN;
	v->l4_off = DP_ETH_HLEN + DP_IPV4_HLEN;
	v->payload_off = DP_UDP4_PAYLOAD_OFF;
	v->payload_len = us.plen;
	memcpy(v->src_mac, frame + DP_ETH_ALEN, DP_ETH_ALEN);
	v->src_ip = us.src_ip;
	v->dst_ip = self->ip;
	v->src_port = ld16(frame + DP_ETH_HLEN + DP_IPV4_HLEN);
	v->dst_port = self->port;
	return true;
}

/* Every frame, every check in order: the general parse. Out of line, so
 * the usual frame's path saves no registers for it. */
static __attribute__((noinline)) enum dp_pkt_class
parse_general(const uint8_t *frame, size_t len,
	      const struct dp_pkt_self *self, unsigned hw,
	      struct dp_pkt_view *v)
{
	memset(v, 0, sizeof(*v));
	if (frame == NULL || len < DP_ETH_HLEN)
		return view_drop(v, DP_PKT_DROP_RUNT);
	memcpy(v->src_mac, frame + DP_ETH_ALEN, DP_ETH_ALEN);
	v->ethertype = ld16(frame + 12);
	/* Ours, broadcast, or multicast (I/G bit): anything else is not. */
	if (memcmp(frame, self->mac, DP_ETH_ALEN) != 0 && !(frame[0] & 1))
		return view_drop(v, DP_PKT_DROP_NOT_OUR_MAC);
	switch (v->ethertype) {
	case DP_ETHERTYPE_ARP:
		return parse_arp(frame, len, v);
	case DP_ETHERTYPE_IPV4:
		return parse_ipv4(frame, len, self, hw, v);
	default:
		/* IPv6, LLDP, VLAN: not ours to judge. */
		return v->cls = DP_PKT_EXCEPTION;
	}
}

enum dp_pkt_class
dp_pkt_parse_hw(const uint8_t *frame, size_t len,
		const struct dp_pkt_self *self, unsigned hw,
		struct dp_pkt_view *v)
{
	if (frame != NULL && parse_udp4_usual(frame, len, self, hw, v))
		return DP_PKT_UDP_US;
	return parse_general(frame, len, self, hw, v);
}

enum dp_pkt_class
dp_pkt_parse(const uint8_t *frame, size_t len, const struct dp_pkt_self *self,
	     struct dp_pkt_view *v)
{
	return dp_pkt_parse_hw(frame, len, self, 0, v);
}

int
dp_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op,
		 const uint8_t eth_dst[DP_ETH_ALEN],
		 const uint8_t sha[DP_ETH_ALEN], uint32_t spa,
		 const uint8_t tha[DP_ETH_ALEN], uint32_t tpa)
{
	uint8_t *a = buf + DP_ETH_HLEN;
	uint8_t sha_copy[DP_ETH_ALEN];
	uint8_t tha_copy[DP_ETH_ALEN];

	if (buf == NULL || cap < DP_ETH_ZLEN)
		return -ENOSPC;
	/* Copies first: the addresses may point into buf (in place reply). */
	memcpy(sha_copy, sha, DP_ETH_ALEN);
	memcpy(tha_copy, tha, DP_ETH_ALEN);
	memmove(buf, eth_dst, DP_ETH_ALEN);
	memcpy(buf + DP_ETH_ALEN, sha_copy, DP_ETH_ALEN);
	st16(buf + 12, DP_ETHERTYPE_ARP);
	st16(a, 1);
	st16(a + 2, DP_ETHERTYPE_IPV4);
	a[4] = DP_ETH_ALEN;
	a[5] = 4;
	st16(a + 6, op);
	memcpy(a + 8, sha_copy, DP_ETH_ALEN);
	st32(a + 14, spa);
	memcpy(a + 18, tha_copy, DP_ETH_ALEN);
	st32(a + 24, tpa);
	memset(a + DP_ARP_LEN, 0, DP_ETH_ZLEN - DP_ETH_HLEN - DP_ARP_LEN);
	return DP_ETH_ZLEN;
}

int
dp_pkt_build_arp_reply(uint8_t *buf, size_t cap,
		       const struct dp_pkt_view *req,
		       const struct dp_pkt_self *self)
{
	uint8_t requester[DP_ETH_ALEN];

	if (req->cls != DP_PKT_ARP || req->arp_op != DP_ARP_OP_REQUEST ||
	    req->dst_ip != self->ip)
		return -EINVAL;
	/* The reply goes to the sender's hardware address (RFC 826). */
	memcpy(requester, req->arp_sha, DP_ETH_ALEN);
	return dp_pkt_build_arp(buf, cap, DP_ARP_OP_REPLY, requester,
				self->mac, self->ip, requester, req->src_ip);
}

int
dp_pkt_build_arp_request(uint8_t *buf, size_t cap,
			 const struct dp_pkt_self *self, uint32_t tpa)
{
	return dp_pkt_build_arp(buf, cap, DP_ARP_OP_REQUEST, eth_bcast,
				self->mac, self->ip, eth_zero, tpa);
}

int
dp_pkt_build_garp(uint8_t *buf, size_t cap, const struct dp_pkt_self *self)
{
	return dp_pkt_build_arp_request(buf, cap, self, self->ip);
}

/* dp_pkt_build_udp4_hdrs; also lays out the header template. */
static inline int
build_udp4_hdrs(uint8_t *buf, size_t cap, const struct dp_udp4_hdrs *h,
		size_t payload_len)
{
	uint8_t *ip = buf + DP_ETH_HLEN;
	uint8_t *u = ip + DP_IPV4_HLEN;
	size_t frame_len = DP_UDP4_PAYLOAD_OFF + payload_len;
	uint16_t csum;

	if (payload_len > 0xffff - DP_IPV4_HLEN - DP_UDP_HLEN)
		return -EMSGSIZE;
	if (buf == NULL || cap < frame_len || cap < DP_ETH_ZLEN)
		return -ENOSPC;
	memcpy(buf, h->dst_mac, DP_ETH_ALEN);
	memcpy(buf + DP_ETH_ALEN, h->src_mac, DP_ETH_ALEN);
	st16(buf + 12, DP_ETHERTYPE_IPV4);
	ip[0] = 0x45;
	ip[1] = 0;
	st16(ip + 2, (uint16_t)(DP_IPV4_HLEN + DP_UDP_HLEN + payload_len));
	st16(ip + 4, 0);	/* ID 0 with DF: atomic datagram, RFC 6864 */
	st16(ip + 6, IP4_DF);
	ip[8] = IP4_TTL;
	ip[9] = DP_IPPROTO_UDP;
	st16(ip + 10, ip4_hdr_csum((uint16_t)(DP_IPV4_HLEN + DP_UDP_HLEN +
					     payload_len),
				   h->src_ip, h->dst_ip));
	st32(ip + 12, h->src_ip);
	st32(ip + 16, h->dst_ip);
	st16(u, h->src_port);
	st16(u + 2, h->dst_port);
	st16(u + 4, (uint16_t)(DP_UDP_HLEN + payload_len));
	st16(u + 6, 0);
	csum = (uint16_t)~dp_pkt_csum(u, DP_UDP_HLEN + payload_len,
		udp4_pseudo_sum(h->src_ip, h->dst_ip,
				(uint16_t)(DP_UDP_HLEN + payload_len)));
	/* 0 means "no checksum" on the wire; send its other zero. */
	st16(u + 6, csum == 0 ? 0xffff : csum);
	if (frame_len < DP_ETH_ZLEN) {
		memset(buf + frame_len, 0, DP_ETH_ZLEN - frame_len);
		frame_len = DP_ETH_ZLEN;
	}
	return (int)frame_len;
}

int
dp_pkt_build_udp4_hdrs(uint8_t *buf, size_t cap, const struct dp_udp4_hdrs *h,
		       size_t payload_len)
{
	return build_udp4_hdrs(buf, cap, h, payload_len);
}

void
dp_pkt_udp4_tmpl_init(struct dp_pkt_udp4_tmpl *t,
		      const struct dp_pkt_self *self)
{
	struct dp_udp4_hdrs h = { .src_ip = self->ip, .src_port = self->port };
	uint8_t frame[DP_ETH_ZLEN];

	memset(t, 0, sizeof(*t));
	memcpy(h.src_mac, self->mac, DP_ETH_ALEN);
	/* the fixed fields where they go; the rest is written per frame */
	build_udp4_hdrs(frame, sizeof(frame), &h, 0);
	memcpy(t->hdr, frame, sizeof(t->hdr));
	t->ip_sum = 0x4500u + IP4_DF + (IP4_TTL << 8 | DP_IPPROTO_UDP) +
		    (self->ip >> 16) + (self->ip & 0xffff);
	t->udp_sum = (self->ip >> 16) + (self->ip & 0xffff) + DP_IPPROTO_UDP +
		     self->port;
}

int
dp_pkt_udp4_hdrs_tmpl(uint8_t *buf, size_t cap,
		      const struct dp_pkt_udp4_tmpl *t,
		      const uint8_t dst_mac[DP_ETH_ALEN], uint32_t dst_ip,
		      uint16_t dst_port, size_t payload_len,
		      uint32_t payload_sum)
{
	return dp_pkt_udp4_hdrs_put(buf, cap, t, dst_mac, dst_ip, dst_port,
				    payload_len, payload_sum);
}

int
dp_pkt_build_udp4(uint8_t *buf, size_t cap, const struct dp_udp4_hdrs *h,
		  const uint8_t *payload, size_t payload_len)
{
	if (payload_len > 0xffff - DP_IPV4_HLEN - DP_UDP_HLEN)
		return -EMSGSIZE;
	if (buf == NULL || cap < DP_UDP4_PAYLOAD_OFF + payload_len)
		return -ENOSPC;
	if (payload_len > 0)
		memmove(buf + DP_UDP4_PAYLOAD_OFF, payload, payload_len);
	return build_udp4_hdrs(buf, cap, h, payload_len);
}
