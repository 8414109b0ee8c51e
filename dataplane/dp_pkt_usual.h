/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The usual frame, checked straight through: to our MAC, IPv4 without
 * options, not a fragment, UDP to our address and port, both checksums
 * (unless the port vouched for them), every check dp_pkt_parse_hw makes
 * for such a frame, the sums sharing one load of the addresses: the
 * first step of dp_pkt.c's parse, which then fills the view. A frame it
 * declines goes to the general parse, which names the reason. (The DPDK
 * lcore's fused ping -> ack, dp_dpdk_fast.h, makes the same checks with
 * its per-snapshot pattern, and takes the byte-order helpers from here.)
 */
#ifndef DP_PKT_USUAL_H_INCLUDED
#define DP_PKT_USUAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp_csum.h"
#include "dp_pkt.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DP_PKT_U_BE16(v) __builtin_bswap16(v)
#define DP_PKT_U_BE32(v) __builtin_bswap32(v)
/* Bytes 12..14 of the usual frame: type IPv4, version 4, IHL 5. */
#define DP_PKT_U_ETH_IP4_IHL5 0x450008u
/* Bytes 6..7 of an IPv4 header word at 4: MF and the fragment offset. */
#define DP_PKT_U_IP4_FRAG 0xff3f0000u
#else
#define DP_PKT_U_BE16(v) (v)
#define DP_PKT_U_BE32(v) (v)
#define DP_PKT_U_ETH_IP4_IHL5 0x08004500u
#define DP_PKT_U_IP4_FRAG 0x00003fffu
#endif

static inline __attribute__((always_inline)) uint16_t
dp_pkt_u_ld16(const void *p)
{
	uint16_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* What the usual frame's check read. The caller re-reads the sender's
 * port from the frame: a load costs less than a register kept live, or
 * spilled, through later steps. */
struct dp_pkt_usual {
	uint32_t src_ip;	/* host order */
	uint16_t plen;		/* UDP payload bytes */
};

/*
 * The usual frame, every check of dp_pkt_parse_hw for it (MAC, version,
 * IHL, lengths, header checksum unless hw says GOOD, fragment, source,
 * destination, protocol, port, UDP length and checksum).
 * @retval true: a datagram to us, *u filled; false: ask the general parse
 */
static inline __attribute__((always_inline)) bool
dp_pkt_udp4_usual(const uint8_t *f, size_t len,
		  const struct dp_pkt_self *self, unsigned hw,
		  struct dp_pkt_usual *u)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	size_t tot, ulen;
	uint64_t addrs;

	if (len < DP_UDP4_PAYLOAD_OFF ||
	    dp_csum_ld32n(f) != dp_csum_ld32n(self->mac) ||
	    dp_pkt_u_ld16(f + 4) != dp_pkt_u_ld16(self->mac + 4) ||
	    (dp_csum_ld32n(f + 12) & 0xffffffu) != DP_PKT_U_ETH_IP4_IHL5)
		return false;
	/* each field read where it is checked: few values live at once */
	tot = DP_PKT_U_BE16(dp_pkt_u_ld16(ip + 2));
	ulen = DP_PKT_U_BE16(dp_pkt_u_ld16(ip + 24));
	u->src_ip = DP_PKT_U_BE32(dp_csum_ld32n(ip + 12));
	if (tot > len - DP_ETH_HLEN || tot < DP_IPV4_HLEN + DP_UDP_HLEN ||
	    (dp_csum_ld32n(ip + 4) & DP_PKT_U_IP4_FRAG) != 0 ||
	    ip[9] != DP_IPPROTO_UDP ||
	    dp_csum_ld32n(ip + 16) != DP_PKT_U_BE32(self->ip) ||
	    dp_pkt_ip_is_special(u->src_ip) ||
	    dp_pkt_u_ld16(ip + 22) != DP_PKT_U_BE16(self->port) ||
	    ulen < DP_UDP_HLEN || ulen > tot - DP_IPV4_HLEN)
		return false;
	addrs = (uint64_t)dp_csum_ld32n(ip + 12) + dp_csum_ld32n(ip + 16);
	if (!(hw & DP_PKT_HW_IP4_CSUM_GOOD) &&
	    !dp_csum_ok(addrs + dp_csum_ld32n(ip) + dp_csum_ld32n(ip + 4) +
			     dp_csum_ld32n(ip + 8)))
		return false;
	/* the pseudo header's protocol and length as native words */
	if (dp_pkt_u_ld16(ip + 26) != 0 && !(hw & DP_PKT_HW_L4_CSUM_GOOD) &&
	    !dp_csum_ok(dp_csum_partial(ip + DP_IPV4_HLEN, ulen,
			addrs + DP_PKT_U_BE16((uint16_t)DP_IPPROTO_UDP) +
			DP_PKT_U_BE16((uint16_t)ulen))))
		return false;
	u->plen = (uint16_t)(ulen - DP_UDP_HLEN);
	return true;
}

#endif /* DP_PKT_USUAL_H_INCLUDED */
