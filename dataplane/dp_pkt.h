/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Ethernet / ARP / IPv4 / UDP on plain byte buffers: classify a received
 * frame, and build the frames the DPDK backend sends (ARP replies,
 * requests and gratuitous ARP, UDP datagrams), and the header template
 * (dp_pkt_udp4_tmpl) that writes the fast path's ack over the very frame
 * of the ping it answers.
 *
 * This file owns header layout and checksums only. It must never touch
 * DPDK, mbufs, sockets, clocks or global state: every function works on
 * (pointer, length) and is tested without EAL (tests/dp/test_pkt.c).
 * Every rejected frame gets exactly one enum dp_pkt_drop reason, which
 * indexes the backend's per-lcore drop counters.
 *
 *   0        6        12   14                 34        42
 *   +--------+--------+----+------------------+---------+--------------+
 *   | dst MAC| src MAC|type| IPv4 (IHL*4 >= 20)| UDP (8) | payload ...  |
 *   +--------+--------+----+------------------+---------+--------------+
 *                       0x0806: ARP, 28 bytes for Ethernet/IPv4
 *
 * Addresses are host byte order uint32_t in this API (10.0.0.1 is
 * 0x0a000001); ports are host byte order; MACs are 6 raw bytes.
 */
#ifndef DP_PKT_H_INCLUDED
#define DP_PKT_H_INCLUDED

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DP_ETH_ALEN 6
#define DP_ETH_HLEN 14
/** Shortest frame on the wire without FCS; shorter frames get padded. */
#define DP_ETH_ZLEN 60
#define DP_ETHERTYPE_IPV4 0x0800
#define DP_ETHERTYPE_ARP 0x0806
#define DP_ARP_LEN 28
#define DP_IPV4_HLEN 20
#define DP_UDP_HLEN 8
#define DP_IPPROTO_UDP 17
/** Offset of the UDP payload in a frame we build (IPv4 without options). */
#define DP_UDP4_PAYLOAD_OFF (DP_ETH_HLEN + DP_IPV4_HLEN + DP_UDP_HLEN)

enum {
	DP_ARP_OP_REQUEST = 1,
	DP_ARP_OP_REPLY = 2,
};

/** What to do with a received frame. */
enum dp_pkt_class {
	DP_PKT_DROP = 0,	/* malformed or not for us: see the reason */
	DP_PKT_ARP,		/* well-formed Ethernet/IPv4 ARP */
	DP_PKT_UDP_US,		/* IPv4/UDP to our address and port */
	DP_PKT_EXCEPTION,	/* valid, not ours: the kernel's (tap) */
	DP_PKT_CLASS_COUNT,
};

/** Why a frame was dropped; indexes dp_pkt_drop_str and drop counters. */
enum dp_pkt_drop {
	DP_PKT_DROP_NONE = 0,		/* not dropped */
	DP_PKT_DROP_RUNT,		/* shorter than an Ethernet header */
	DP_PKT_DROP_NOT_OUR_MAC,	/* unicast to another station */
	DP_PKT_DROP_ARP_TRUNCATED,	/* ARP shorter than 28 bytes */
	DP_PKT_DROP_ARP_FORMAT,		/* not Ethernet/IPv4 ARP, bad op */
	DP_PKT_DROP_IP_TRUNCATED,	/* frame ends inside the IPv4 header */
	DP_PKT_DROP_IP_VERSION,		/* version field is not 4 */
	DP_PKT_DROP_IP_IHL,		/* header length below 20 bytes */
	DP_PKT_DROP_IP_TOTLEN,		/* total length < IHL or > frame */
	DP_PKT_DROP_IP_CSUM,		/* header checksum does not verify */
	DP_PKT_DROP_IP_FRAGMENT,	/* MF set or offset != 0 */
	DP_PKT_DROP_IP_SRC,	/* source is 0, broadcast or multicast */
	DP_PKT_DROP_NOT_OUR_IP,		/* unicast to another address */
	DP_PKT_DROP_UDP_TRUNCATED,	/* IP payload shorter than 8 bytes */
	DP_PKT_DROP_UDP_LEN,		/* UDP length < 8 or > IP payload */
	DP_PKT_DROP_UDP_CSUM,		/* non-zero checksum does not verify */
	DP_PKT_DROP_COUNT,
};

/** Names of enum dp_pkt_drop, for logs and stats export. */
extern const char *const dp_pkt_drop_str[DP_PKT_DROP_COUNT];

/** Who we are on the wire; set once by the backend before any parse. */
struct dp_pkt_self {
	uint8_t mac[DP_ETH_ALEN];	/* the port's MAC */
	uint32_t ip;			/* our IPv4 address, host order */
	uint16_t port;			/* our UDP port, host order */
};

/** A classified frame: offsets into the buffer given to dp_pkt_parse. */
struct dp_pkt_view {
	enum dp_pkt_class cls;		/* what to do with it */
	enum dp_pkt_drop drop;		/* reason when cls == DP_PKT_DROP */
	uint16_t ethertype;		/* host order */
	uint16_t l3_off;		/* IPv4 or ARP header offset (14) */
	uint16_t l4_off;		/* UDP header offset, 0 unless UDP */
	uint16_t payload_off;		/* UDP payload offset, 0 unless UDP */
	uint16_t payload_len;		/* UDP payload bytes (UDP length - 8) */
	uint8_t src_mac[DP_ETH_ALEN];	/* Ethernet source */
	uint32_t src_ip;		/* IPv4 or ARP sender, host order */
	uint32_t dst_ip;		/* IPv4 or ARP target, host order */
	uint16_t src_port;		/* UDP, host order */
	uint16_t dst_port;		/* UDP, host order */
	uint16_t arp_op;		/* ARP opcode, host order */
	uint8_t arp_sha[DP_ETH_ALEN];	/* ARP sender hardware address */
};

/** One UDP/IPv4 endpoint pair of a frame to build. */
struct dp_udp4_hdrs {
	uint8_t src_mac[DP_ETH_ALEN];
	uint8_t dst_mac[DP_ETH_ALEN];
	uint32_t src_ip;		/* host order */
	uint32_t dst_ip;		/* host order */
	uint16_t src_port;		/* host order */
	uint16_t dst_port;		/* host order */
};

/**
 * Classify a frame and check every header up to the UDP payload.
 * IPv4 options are accepted; trailing Ethernet padding is ignored (the IP
 * total length and UDP length bound the payload). A UDP checksum of 0 is
 * accepted (RFC 768: "no checksum").
 * @param frame  the frame, starting at the destination MAC
 * @param len    bytes in frame (without FCS)
 * @param self   our MAC, IP and port
 * @param v      filled on every return, cls and drop always set
 * @retval v->cls
 */
enum dp_pkt_class dp_pkt_parse(const uint8_t *frame, size_t len,
			       const struct dp_pkt_self *self,
			       struct dp_pkt_view *v);

/** Checks the port already made (its RX checksum offload said GOOD). */
enum dp_pkt_hw {
	DP_PKT_HW_IP4_CSUM_GOOD = 1 << 0,	/* IPv4 header checksum */
	DP_PKT_HW_L4_CSUM_GOOD = 1 << 1,	/* UDP checksum */
};

/**
 * dp_pkt_parse for a frame the port has partly verified: the checksums
 * named in hw (enum dp_pkt_hw bits) are not summed again; every other
 * check is made. A checksum the port found bad or did not look at is
 * checked here, so a wrong verdict of the port drops nothing good.
 */
enum dp_pkt_class dp_pkt_parse_hw(const uint8_t *frame, size_t len,
				  const struct dp_pkt_self *self, unsigned hw,
				  struct dp_pkt_view *v);

/**
 * Build an Ethernet/IPv4 ARP frame (padded to DP_ETH_ZLEN).
 * @param eth_dst  Ethernet destination (broadcast for requests)
 * @param tha      ARP target hardware address (zeros for requests)
 * @retval frame length (60), or -ENOSPC when cap is too small
 */
int dp_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op,
		     const uint8_t eth_dst[DP_ETH_ALEN],
		     const uint8_t sha[DP_ETH_ALEN], uint32_t spa,
		     const uint8_t tha[DP_ETH_ALEN], uint32_t tpa);

/**
 * Build the reply to an ARP request that dp_pkt_parse accepted and whose
 * target is self->ip. buf may be the request's own buffer (in place).
 * @retval frame length, -EINVAL if the view is not such a request,
 *         -ENOSPC when cap is too small
 */
int dp_pkt_build_arp_reply(uint8_t *buf, size_t cap,
			   const struct dp_pkt_view *req,
			   const struct dp_pkt_self *self);

/** Broadcast "who has tpa, tell self". @retval as dp_pkt_build_arp */
int dp_pkt_build_arp_request(uint8_t *buf, size_t cap,
			     const struct dp_pkt_self *self, uint32_t tpa);

/** Gratuitous ARP (a broadcast request for our own address). */
int dp_pkt_build_garp(uint8_t *buf, size_t cap,
		      const struct dp_pkt_self *self);

/**
 * Build Ethernet + IPv4 (no options, DF, TTL 64) + UDP headers in front
 * of payload_len bytes that already sit at buf + DP_UDP4_PAYLOAD_OFF,
 * with both checksums. Frames shorter than 60 bytes are zero padded.
 * @retval frame length, -EMSGSIZE when the datagram cannot fit an IPv4
 *         total length, -ENOSPC when cap is too small
 */
int dp_pkt_build_udp4_hdrs(uint8_t *buf, size_t cap,
			   const struct dp_udp4_hdrs *h, size_t payload_len);

/**
 * Build a whole UDP frame: copy payload (it may overlap buf) to
 * buf + DP_UDP4_PAYLOAD_OFF, then the headers.
 * @retval as dp_pkt_build_udp4_hdrs
 */
int dp_pkt_build_udp4(uint8_t *buf, size_t cap, const struct dp_udp4_hdrs *h,
		      const uint8_t *payload, size_t payload_len);

/**
 * The Ethernet, IPv4 and UDP headers every datagram from us shares,
 * filled once from self, with the sums of their fixed words: a frame's
 * headers are then one copy and a few stores (dp_pkt_udp4_hdrs_tmpl).
 */
struct dp_pkt_udp4_tmpl {
	uint8_t hdr[DP_UDP4_PAYLOAD_OFF];
	uint32_t ip_sum;	/* IPv4 header words but length and dst */
	uint32_t udp_sum;	/* pseudo header and UDP header words but
				 * dst, dst port and the lengths */
};

/** Fill t for datagrams from self (its MAC, address and port). */
void dp_pkt_udp4_tmpl_init(struct dp_pkt_udp4_tmpl *t,
			   const struct dp_pkt_self *self);

/* A big-endian 16-bit store, unaligned. */
static inline void
dp_pkt_put16(uint8_t *p, uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	memcpy(p, &v, sizeof(v));
}

/* A big-endian 32-bit store, unaligned. */
static inline void
dp_pkt_put32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, sizeof(v));
}

/* Fold a ones' complement sum below 2^32 into 16 bits: the first step
 * leaves at most 0xffff + 0xffff, the second at most 0xffff. */
static inline uint16_t
dp_pkt_fold32(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Fold a ones' complement sum below 2^48 into 16 bits. */
static inline uint16_t
dp_pkt_fold48(uint64_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/**
 * dp_pkt_udp4_hdrs_tmpl, inlined into the lcore's loop (same contract).
 */
static inline __attribute__((always_inline)) int
dp_pkt_udp4_hdrs_put(uint8_t *buf, size_t cap,
		     const struct dp_pkt_udp4_tmpl *t,
		     const uint8_t dst_mac[DP_ETH_ALEN], uint32_t dst_ip,
		     uint16_t dst_port, size_t payload_len,
		     uint32_t payload_sum)
{
	uint8_t *ip = buf + DP_ETH_HLEN;
	uint8_t *u = ip + DP_IPV4_HLEN;
	size_t frame_len = DP_UDP4_PAYLOAD_OFF + payload_len;
	uint32_t dst_sum = (dst_ip >> 16) + (dst_ip & 0xffff);
	uint16_t ulen = (uint16_t)(DP_UDP_HLEN + payload_len);
	uint16_t csum;

	if (payload_len > 0xffff - DP_IPV4_HLEN - DP_UDP_HLEN)
		return -EMSGSIZE;
	if (cap < frame_len || cap < DP_ETH_ZLEN)
		return -ENOSPC;
	memcpy(buf, t->hdr, DP_UDP4_PAYLOAD_OFF);
	memcpy(buf, dst_mac, DP_ETH_ALEN);
	dp_pkt_put16(ip + 2, (uint16_t)(DP_IPV4_HLEN + ulen));
	/* every term below 2^20: no 32-bit overflow */
	dp_pkt_put16(ip + 10, (uint16_t)~dp_pkt_fold32(t->ip_sum + dst_sum +
						       DP_IPV4_HLEN + ulen));
	dp_pkt_put32(ip + 16, dst_ip);
	dp_pkt_put16(u + 2, dst_port);
	dp_pkt_put16(u + 4, ulen);
	/* the UDP length counts twice: pseudo header and UDP header */
	csum = (uint16_t)~dp_pkt_fold48((uint64_t)payload_sum + t->udp_sum +
					dst_sum + dst_port + 2u * ulen);
	/* 0 means "no checksum" on the wire; send its other zero. */
	dp_pkt_put16(u + 6, csum == 0 ? 0xffff : csum);
	if (frame_len < DP_ETH_ZLEN) {
		memset(buf + frame_len, 0, DP_ETH_ZLEN - frame_len);
		frame_len = DP_ETH_ZLEN;
	}
	return (int)frame_len;
}

/**
 * Write the headers of a datagram from t's sender around a payload of
 * payload_len bytes already at DP_UDP4_PAYLOAD_OFF in buf, whose RFC 1071
 * sum (big-endian words, unfolded, as dp_fp_build_ack gives it) is
 * payload_sum. Same bytes as dp_pkt_build_udp4 writes.
 * @retval frame length (padded to DP_ETH_ZLEN), -ENOSPC, -EMSGSIZE
 */
int dp_pkt_udp4_hdrs_tmpl(uint8_t *buf, size_t cap,
			  const struct dp_pkt_udp4_tmpl *t,
			  const uint8_t dst_mac[DP_ETH_ALEN], uint32_t dst_ip,
			  uint16_t dst_port, size_t payload_len,
			  uint32_t payload_sum);

/** RFC 1071 ones' complement sum of len bytes folded into 16 bits. */
uint16_t dp_pkt_csum(const void *data, size_t len, uint32_t seed);

/** True for 0.0.0.0, 255.255.255.255 and 224.0.0.0/4 (never a peer). */
static inline bool
dp_pkt_ip_is_special(uint32_t ip)
{
	return ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe;
}

#endif /* DP_PKT_H_INCLUDED */
