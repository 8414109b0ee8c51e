/* SPDX-License-Identifier: MIT */
/*
 * dp_pkt on plain byte buffers, no EAL: classification, every drop
 * reason, ARP request -> reply and ping -> ack byte for byte. Expected
 * frames were computed independently (Python struct + RFC 1071) and are
 * pasted as hex, so a checksum bug cannot cancel itself out.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_pkt.h"

/* 198.18.0.1:7946 is us, 198.18.0.2:7947 the peer (RFC 2544 space). */
#define US_IP 0xc6120001u
#define PEER_IP 0xc6120002u
#define US_PORT 7946
#define PEER_PORT 7947

static const struct dp_pkt_self self = {
	.mac = { 0x02, 0, 0, 0, 0, 0x01 },
	.ip = US_IP,
	.port = US_PORT,
};
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* ping {SeqNo 1, Node "b"} from memberlist-wire.md Appendix A. */
static const char ping_hex[] = "0082a44e6f6465a162a55365714e6f01";
/* ack {SeqNo 1, Payload nil}, Appendix A. */
static const char ack_hex[] = "0282a75061796c6f6164c0a55365714e6f01";
/* The ping above from 198.18.0.2:7947, IP ID 0x1234, DF, padded to 60. */
static const char ping_frame_hex[] =
	"020000000001020000000002080045000" "02c1234400040119c65c6120002c612"
	"00011f0b1f0a001825500082a44e6f6465a162a55365714e6f010000";
/* Our ack to it: ID 0, DF, TTL 64, exactly 60 bytes. */
static const char ack_frame_hex[] =
	"02000000000202000000000108004500002e000040004011ae97c6120001c612"
	"00021f0a1f0b001a68020282a75061796c6f6164c0a55365714e6f01";

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	cr_assert_leq(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned b;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

/* A valid UDP frame from the peer to dst_ip:dst_port carrying the ping. */
static size_t
udp_frame(uint8_t *buf, size_t cap, uint32_t dst_ip, uint16_t dst_port)
{
	uint8_t ping[64];
	size_t n = unhex(ping_hex, ping, sizeof(ping));
	struct dp_udp4_hdrs h = {
		.src_ip = PEER_IP, .dst_ip = dst_ip,
		.src_port = PEER_PORT, .dst_port = dst_port,
	};
	int len;

	memcpy(h.src_mac, peer_mac, 6);
	memcpy(h.dst_mac, self.mac, 6);
	len = dp_pkt_build_udp4(buf, cap, &h, ping, n);
	cr_assert_gt(len, 0);
	return (size_t)len;
}

/* Recompute the IPv4 header checksum after a test edits a field. */
static void
fix_ip_csum(uint8_t *f)
{
	size_t ihl = (size_t)(f[14] & 0xf) * 4;
	uint16_t c;

	f[24] = f[25] = 0;
	c = (uint16_t)~dp_pkt_csum(f + 14, ihl, 0);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
}

static enum dp_pkt_class
parse(const uint8_t *f, size_t len, struct dp_pkt_view *v)
{
	return dp_pkt_parse(f, len, &self, v);
}

static void
assert_drop(const uint8_t *f, size_t len, enum dp_pkt_drop why)
{
	struct dp_pkt_view v;

	cr_assert_eq(parse(f, len, &v), DP_PKT_DROP, "expected drop %s",
		     dp_pkt_drop_str[why]);
	cr_assert_eq(v.drop, why, "got %s, expected %s",
		     dp_pkt_drop_str[v.drop], dp_pkt_drop_str[why]);
}

TestSuite(pkt, .timeout = 5);

Test(pkt, csum_matches_rfc1071_example)
{
	/* RFC 1071 §3: these 8 bytes sum to 0xddf2. */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	cr_assert_eq(dp_pkt_csum(b, sizeof(b), 0), 0xddf2);
	cr_assert_eq(dp_pkt_csum(b, 7, 0), (0x0001 + 0xf203 + 0xf4f5 +
					    0xf600 + 2) & 0xffff);
	cr_assert_eq(dp_pkt_csum(b, 0, 0x1234), 0x1234);
}

Test(pkt, ping_frame_parses_as_udp_to_us)
{
	uint8_t f[128];
	size_t len = unhex(ping_frame_hex, f, sizeof(f));
	struct dp_pkt_view v;

	cr_assert_eq(parse(f, len, &v), DP_PKT_UDP_US);
	cr_assert_eq(v.drop, DP_PKT_DROP_NONE);
	cr_assert_eq(v.src_ip, PEER_IP);
	cr_assert_eq(v.dst_ip, US_IP);
	cr_assert_eq(v.src_port, PEER_PORT);
	cr_assert_eq(v.dst_port, US_PORT);
	cr_assert_eq(v.l4_off, 34);
	cr_assert_eq(v.payload_off, 42);
	cr_assert_eq(v.payload_len, 16, "Ethernet padding is not payload");
	cr_assert_arr_eq(v.src_mac, peer_mac, 6);
	cr_assert_eq(f[v.payload_off], 0x00, "ping type byte");
}

/* The peer's parse of a frame we sent: to it, with want as payload. */
static void
assert_peer_gets(const uint8_t *f, size_t len, const uint8_t *want,
		 size_t want_len)
{
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;

	memcpy(peer.mac, peer_mac, 6);
	cr_assert_eq(dp_pkt_parse(f, len, &peer, &v), DP_PKT_UDP_US);
	cr_assert(v.src_ip == US_IP && v.src_port == US_PORT, "from us");
	cr_assert_eq(v.l4_off, 34, "IPv4 options dropped (IHL 5)");
	cr_assert_eq(v.payload_len, want_len);
	cr_assert_arr_eq(f + v.payload_off, want, want_len);
}

/* As the DPDK lcore answers a ping: the ack over the ping's payload at
 * DP_UDP4_PAYLOAD_OFF, then the header template around it. */
Test(pkt, ping_becomes_byte_exact_ack_in_place)
{
	uint8_t f[256], ack[64], want[128];
	size_t len = unhex(ping_frame_hex, f, sizeof(f));
	size_t ack_len = unhex(ack_hex, ack, sizeof(ack));
	size_t want_len = unhex(ack_frame_hex, want, sizeof(want));
	struct dp_pkt_udp4_tmpl t;
	struct dp_pkt_view v;
	int n;

	dp_pkt_udp4_tmpl_init(&t, &self);
	cr_assert_eq(parse(f, len, &v), DP_PKT_UDP_US);
	memcpy(f + DP_UDP4_PAYLOAD_OFF, ack, ack_len);
	/* the lcore's sum when the ack is not from the template: folded */
	n = dp_pkt_udp4_hdrs_tmpl(f, sizeof(f), &t, v.src_mac, v.src_ip,
				  v.src_port, ack_len,
				  dp_pkt_csum(ack, ack_len, 0));
	cr_assert_eq(n, (int)want_len);
	cr_assert_arr_eq(f, want, want_len);
	assert_peer_gets(f, (size_t)n, ack, ack_len);
}

/* Payload sum as big-endian words, unfolded, one byte at a time: how
 * dp_fp_build_ack reports it, computed the slow way. */
static uint32_t
naive_sum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (i & 1) != 0 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

Test(pkt, header_template_builds_the_byte_exact_ack)
{
	struct dp_pkt_udp4_tmpl t;
	uint8_t f[256], ack[64], want[128];
	size_t ack_len = unhex(ack_hex, ack, sizeof(ack));
	size_t want_len = unhex(ack_frame_hex, want, sizeof(want));
	int n;

	dp_pkt_udp4_tmpl_init(&t, &self);
	memset(f, 0xee, sizeof(f));
	memcpy(f + DP_UDP4_PAYLOAD_OFF, ack, ack_len);
	n = dp_pkt_udp4_hdrs_tmpl(f, sizeof(f), &t, peer_mac, PEER_IP,
				  PEER_PORT, ack_len, naive_sum(ack, ack_len));
	cr_assert_eq(n, (int)want_len);
	cr_assert_arr_eq(f, want, want_len);
	cr_assert_eq(dp_pkt_udp4_hdrs_tmpl(f, DP_ETH_ZLEN - 1, &t, peer_mac,
					   PEER_IP, PEER_PORT, 0, 0), -ENOSPC);
	cr_assert_eq(dp_pkt_udp4_hdrs_tmpl(f, sizeof(f), &t, peer_mac,
					   PEER_IP, PEER_PORT, 0x10000, 0),
		     -EMSGSIZE);
}

Test(pkt, header_template_equals_the_general_builder)
{
	struct dp_udp4_hdrs h = {
		.src_ip = US_IP, .dst_ip = PEER_IP,
		.src_port = US_PORT, .dst_port = PEER_PORT,
	};
	struct dp_pkt_udp4_tmpl t;
	uint8_t payload[1500], got[1600], want[1600];

	memcpy(h.src_mac, self.mac, 6);
	memcpy(h.dst_mac, peer_mac, 6);
	dp_pkt_udp4_tmpl_init(&t, &self);
	srand(7);
	for (size_t len = 0; len <= sizeof(payload); len += 1 + len / 16) {
		int a, b;

		for (size_t i = 0; i < len; i++)
			payload[i] = (uint8_t)rand();
		h.dst_port = (uint16_t)rand();
		h.dst_ip = (uint32_t)rand() << 1 | 1u;
		memset(got, 0xee, sizeof(got));
		memcpy(got + DP_UDP4_PAYLOAD_OFF, payload, len);
		a = dp_pkt_udp4_hdrs_tmpl(got, sizeof(got), &t, peer_mac,
					  h.dst_ip, h.dst_port, len,
					  naive_sum(payload, len));
		b = dp_pkt_build_udp4(want, sizeof(want), &h, payload, len);
		cr_assert_eq(a, b, "len %zu", len);
		cr_assert_arr_eq(got, want, (size_t)b, "len %zu", len);
	}
}

/* A ping frame to us with 4 bytes of IPv4 options (NOP NOP NOP EOL). */
static size_t
options_frame(uint8_t *f, struct dp_pkt_view *v)
{
	uint8_t g[128];
	size_t len = udp_frame(g, sizeof(g), US_IP, US_PORT);

	memcpy(f, g, 34);
	memcpy(f + 38, g + 34, len - 34);
	f[34] = f[35] = f[36] = 1;
	f[37] = 0;
	f[14] = 0x46;
	f[17] = (uint8_t)(f[17] + 4);
	fix_ip_csum(f);
	cr_assert_eq(parse(f, len + 4, v), DP_PKT_UDP_US);
	cr_assert(v->l4_off == 38 && v->payload_off == 46);
	return len + 4;
}

/* dp_pkt_build_udp4 over the frame, echoing its payload from inside it:
 * in place (offset 42 both ways) and moved 4 bytes down (IP options). */
Test(pkt, reply_payload_may_overlap_the_frame)
{
	static const struct dp_udp4_hdrs h = {
		.src_mac = { 2, 0, 0, 0, 0, 1 }, .dst_mac = { 2, 0, 0, 0, 0, 2 },
		.src_ip = US_IP, .dst_ip = PEER_IP,
		.src_port = US_PORT, .dst_port = PEER_PORT,
	};
	uint8_t f[256], copy[16];
	struct dp_pkt_view v;

	for (int opts = 0; opts < 2; opts++) {
		if (opts)
			options_frame(f, &v);
		else
			parse(f, udp_frame(f, sizeof(f), US_IP, US_PORT), &v);
		cr_assert_eq(v.cls, DP_PKT_UDP_US);
		memcpy(copy, f + v.payload_off, 16);
		cr_assert_eq(dp_pkt_build_udp4(f, sizeof(f), &h,
					       f + v.payload_off,
					       v.payload_len), 60);
		assert_peer_gets(f, 60, copy, 16);
	}
}

/* The lcore's ack to a ping with IP options: the template has none, so
 * the ack at DP_UDP4_PAYLOAD_OFF follows a 20-byte IPv4 header. */
Test(pkt, ack_to_a_frame_with_ip_options_drops_them)
{
	uint8_t f[256], ack[64];
	size_t ack_len = unhex(ack_hex, ack, sizeof(ack));
	struct dp_pkt_udp4_tmpl t;
	struct dp_pkt_view v;
	int n;

	dp_pkt_udp4_tmpl_init(&t, &self);
	options_frame(f, &v);
	memcpy(f + DP_UDP4_PAYLOAD_OFF, ack, ack_len);
	n = dp_pkt_udp4_hdrs_tmpl(f, sizeof(f), &t, v.src_mac, v.src_ip,
				  v.src_port, ack_len,
				  naive_sum(ack, ack_len));
	cr_assert_eq(n, 60);
	assert_peer_gets(f, (size_t)n, ack, ack_len);
}

Test(pkt, arp_request_gets_byte_exact_reply)
{
	uint8_t f[128];
	struct dp_pkt_view v;
	const uint8_t want[60] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
		0x02, 0, 0, 0, 0, 0x01, 0xc6, 0x12, 0x00, 0x01,
		0x02, 0, 0, 0, 0, 0x02, 0xc6, 0x12, 0x00, 0x02,
	};
	struct dp_pkt_self peer = { .ip = PEER_IP };
	int n;

	memcpy(peer.mac, peer_mac, 6);
	n = dp_pkt_build_arp_request(f, sizeof(f), &peer, US_IP);
	cr_assert_eq(n, 60);
	cr_assert_eq(parse(f, (size_t)n, &v), DP_PKT_ARP);
	cr_assert_eq(v.arp_op, DP_ARP_OP_REQUEST);
	cr_assert_eq(v.src_ip, PEER_IP);
	cr_assert_eq(v.dst_ip, US_IP);
	cr_assert_arr_eq(v.arp_sha, peer_mac, 6);
	n = dp_pkt_build_arp_reply(f, sizeof(f), &v, &self);
	cr_assert_eq(n, 60);
	cr_assert_arr_eq(f, want, 60);
}

Test(pkt, arp_request_is_broadcast_with_zero_target_mac)
{
	uint8_t f[64];
	struct dp_pkt_view v;
	const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t zero[6] = { 0 };

	cr_assert_eq(dp_pkt_build_arp_request(f, sizeof(f), &self, PEER_IP),
		     60);
	cr_assert_arr_eq(f, bcast, 6);
	cr_assert_arr_eq(f + 14 + 18, zero, 6);
	cr_assert_eq(parse(f, 60, &v), DP_PKT_ARP, "broadcast is accepted");
	cr_assert_eq(v.dst_ip, PEER_IP);
}

Test(pkt, garp_announces_our_own_address)
{
	uint8_t f[64];
	struct dp_pkt_view v;

	cr_assert_eq(dp_pkt_build_garp(f, sizeof(f), &self), 60);
	cr_assert_eq(parse(f, 60, &v), DP_PKT_ARP);
	cr_assert_eq(v.src_ip, US_IP);
	cr_assert_eq(v.dst_ip, US_IP);
	cr_assert_arr_eq(v.arp_sha, self.mac, 6);
}

Test(pkt, arp_reply_refuses_what_is_not_a_request_for_us)
{
	uint8_t f[64];
	struct dp_pkt_view v;

	dp_pkt_build_arp_request(f, sizeof(f), &self, PEER_IP);
	parse(f, 60, &v);
	cr_assert_eq(dp_pkt_build_arp_reply(f, 64, &v, &self), -EINVAL,
		     "target is not us");
	dp_pkt_build_arp(f, 64, DP_ARP_OP_REPLY, self.mac, peer_mac, PEER_IP,
			 self.mac, US_IP);
	parse(f, 60, &v);
	cr_assert_eq(v.cls, DP_PKT_ARP);
	cr_assert_eq(dp_pkt_build_arp_reply(f, 64, &v, &self), -EINVAL,
		     "a reply is not answered");
	v.cls = DP_PKT_UDP_US;
	cr_assert_eq(dp_pkt_build_arp_reply(f, 64, &v, &self), -EINVAL);
}

Test(pkt, builders_report_nospace_and_msgsize)
{
	uint8_t f[64];
	struct dp_udp4_hdrs h = { .src_ip = US_IP, .dst_ip = PEER_IP };

	cr_assert_eq(dp_pkt_build_arp_request(f, 59, &self, PEER_IP),
		     -ENOSPC);
	cr_assert_eq(dp_pkt_build_garp(NULL, 64, &self), -ENOSPC);
	cr_assert_eq(dp_pkt_build_udp4(f, 59, &h, NULL, 0), -ENOSPC);
	cr_assert_eq(dp_pkt_build_udp4(f, 64, &h, f, 23), -ENOSPC);
	cr_assert_eq(dp_pkt_build_udp4(f, 64, &h, f, 22), 64);
	cr_assert_eq(dp_pkt_build_udp4(f, 64, &h, f, 70000), -EMSGSIZE);
	cr_assert_eq(dp_pkt_build_udp4_hdrs(f, 64, &h, 65508), -EMSGSIZE);
}

Test(pkt, udp_checksum_zero_is_accepted)
{
	uint8_t f[128];
	size_t len = udp_frame(f, sizeof(f), US_IP, US_PORT);
	struct dp_pkt_view v;

	f[40] = f[41] = 0;
	cr_assert_eq(parse(f, len, &v), DP_PKT_UDP_US);
}

Test(pkt, computed_zero_udp_checksum_is_sent_as_ffff)
{
	/* Find a payload whose checksum computes to 0; send it as 0xffff. */
	uint8_t f[128];
	struct dp_udp4_hdrs h = { .src_ip = US_IP, .dst_ip = PEER_IP,
				  .src_port = 1, .dst_port = 2 };
	struct dp_pkt_view v;
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = 2 };
	uint8_t p[2] = { 0, 0 };
	int n = 0;

	memcpy(peer.mac, h.dst_mac, 6);
	for (unsigned x = 0; x < 65536; x++) {
		p[0] = (uint8_t)(x >> 8);
		p[1] = (uint8_t)x;
		n = dp_pkt_build_udp4(f, sizeof(f), &h, p, 2);
		if (f[40] == 0xff && f[41] == 0xff)
			break;
	}
	cr_assert_eq(f[40], 0xff);
	cr_assert_eq(f[41], 0xff);
	cr_assert_eq(dp_pkt_parse(f, (size_t)n, &peer, &v), DP_PKT_UDP_US);
}

Test(pkt, not_ours_goes_to_the_exception_path)
{
	uint8_t f[128];
	size_t len = udp_frame(f, sizeof(f), US_IP, 9999);
	struct dp_pkt_view v;

	cr_assert_eq(parse(f, len, &v), DP_PKT_EXCEPTION, "other UDP port");
	len = udp_frame(f, sizeof(f), US_IP, US_PORT);
	f[23] = 6;	/* TCP */
	fix_ip_csum(f);
	cr_assert_eq(parse(f, len, &v), DP_PKT_EXCEPTION, "TCP to us");
	len = udp_frame(f, sizeof(f), 0xffffffffu, US_PORT);
	cr_assert_eq(parse(f, len, &v), DP_PKT_EXCEPTION, "IP broadcast");
	len = udp_frame(f, sizeof(f), 0xe0000001u, US_PORT);
	f[0] = 0x01;	/* 01:00:5e:.. style multicast MAC */
	cr_assert_eq(parse(f, len, &v), DP_PKT_EXCEPTION, "IP multicast");
	f[12] = 0x86;
	f[13] = 0xdd;
	cr_assert_eq(parse(f, len, &v), DP_PKT_EXCEPTION, "IPv6");
	cr_assert_eq(parse(f, 14, &v), DP_PKT_EXCEPTION, "bare header");
}

/* One malformed frame class: how to break a valid frame, and the reason. */
struct bad_case {
	const char *name;
	void (*mangle)(uint8_t *f, size_t *len);
	enum dp_pkt_drop want;
};

static void
m_runt(uint8_t *f, size_t *len)
{
	(void)f;
	*len = 13;
}

static void
m_empty(uint8_t *f, size_t *len)
{
	(void)f;
	*len = 0;
}

static void
m_other_mac(uint8_t *f, size_t *len)
{
	(void)len;
	f[5] = 0x99;
}

static void
m_arp_short(uint8_t *f, size_t *len)
{
	dp_pkt_build_arp_request(f, 64, &self, PEER_IP);
	*len = 14 + 27;
}

static void
m_arp_htype(uint8_t *f, size_t *len)
{
	dp_pkt_build_arp_request(f, 64, &self, PEER_IP);
	f[15] = 6;	/* IEEE 802 instead of Ethernet */
	*len = 60;
}

static void
m_arp_op(uint8_t *f, size_t *len)
{
	dp_pkt_build_arp_request(f, 64, &self, PEER_IP);
	f[21] = 3;	/* RARP request */
	*len = 60;
}

static void
m_arp_plen(uint8_t *f, size_t *len)
{
	dp_pkt_build_arp_request(f, 64, &self, PEER_IP);
	f[19] = 16;
	*len = 60;
}

static void
m_ip_short(uint8_t *f, size_t *len)
{
	(void)f;
	*len = 14 + 19;
}

static void
m_ip_version(uint8_t *f, size_t *len)
{
	(void)len;
	f[14] = 0x65;
	fix_ip_csum(f);
}

static void
m_ip_ihl(uint8_t *f, size_t *len)
{
	(void)len;
	f[14] = 0x44;
}

static void
m_ip_ihl_past_end(uint8_t *f, size_t *len)
{
	f[14] = 0x4f;	/* 60-byte header in a 34-byte frame */
	*len = 34;
}

static void
m_totlen_small(uint8_t *f, size_t *len)
{
	(void)len;
	f[16] = 0;
	f[17] = 19;
	fix_ip_csum(f);
}

static void
m_totlen_big(uint8_t *f, size_t *len)
{
	f[16] = 0x05;	/* 1280 bytes claimed in a 60-byte frame */
	f[17] = 0x00;
	fix_ip_csum(f);
	*len = 60;
}

static void
m_ip_csum(uint8_t *f, size_t *len)
{
	(void)len;
	f[25] ^= 0x01;
}

static void
m_frag_mf(uint8_t *f, size_t *len)
{
	(void)len;
	f[20] = 0x20;	/* MF */
	fix_ip_csum(f);
}

static void
m_frag_offset(uint8_t *f, size_t *len)
{
	(void)len;
	f[20] = 0x00;
	f[21] = 0xb9;	/* offset 185 * 8, last fragment */
	fix_ip_csum(f);
}

static void
m_src_zero(uint8_t *f, size_t *len)
{
	(void)len;
	memset(f + 26, 0, 4);
	fix_ip_csum(f);
}

static void
m_src_multicast(uint8_t *f, size_t *len)
{
	(void)len;
	f[26] = 239;
	fix_ip_csum(f);
}

static void
m_not_our_ip(uint8_t *f, size_t *len)
{
	(void)len;
	f[33] = 77;
	fix_ip_csum(f);
}

static void
m_udp_short(uint8_t *f, size_t *len)
{
	(void)len;
	f[16] = 0;
	f[17] = 20 + 7;
	fix_ip_csum(f);
}

static void
m_udp_len_small(uint8_t *f, size_t *len)
{
	(void)len;
	f[38] = 0;
	f[39] = 7;
}

static void
m_udp_len_big(uint8_t *f, size_t *len)
{
	(void)len;
	f[38] = 0;
	f[39] = 8 + 17;	/* one more than the IP payload */
}

static void
m_udp_csum(uint8_t *f, size_t *len)
{
	(void)len;
	f[42] ^= 0x40;	/* payload bit flip, checksum left as is */
}

static const struct bad_case bad_cases[] = {
	{ "empty", m_empty, DP_PKT_DROP_RUNT },
	{ "runt", m_runt, DP_PKT_DROP_RUNT },
	{ "other_mac", m_other_mac, DP_PKT_DROP_NOT_OUR_MAC },
	{ "arp_short", m_arp_short, DP_PKT_DROP_ARP_TRUNCATED },
	{ "arp_htype", m_arp_htype, DP_PKT_DROP_ARP_FORMAT },
	{ "arp_op", m_arp_op, DP_PKT_DROP_ARP_FORMAT },
	{ "arp_plen", m_arp_plen, DP_PKT_DROP_ARP_FORMAT },
	{ "ip_short", m_ip_short, DP_PKT_DROP_IP_TRUNCATED },
	{ "ip_version", m_ip_version, DP_PKT_DROP_IP_VERSION },
	{ "ip_ihl", m_ip_ihl, DP_PKT_DROP_IP_IHL },
	{ "ip_ihl_past_end", m_ip_ihl_past_end, DP_PKT_DROP_IP_TRUNCATED },
	{ "totlen_small", m_totlen_small, DP_PKT_DROP_IP_TOTLEN },
	{ "totlen_big", m_totlen_big, DP_PKT_DROP_IP_TOTLEN },
	{ "ip_csum", m_ip_csum, DP_PKT_DROP_IP_CSUM },
	{ "frag_mf", m_frag_mf, DP_PKT_DROP_IP_FRAGMENT },
	{ "frag_offset", m_frag_offset, DP_PKT_DROP_IP_FRAGMENT },
	{ "src_zero", m_src_zero, DP_PKT_DROP_IP_SRC },
	{ "src_multicast", m_src_multicast, DP_PKT_DROP_IP_SRC },
	{ "not_our_ip", m_not_our_ip, DP_PKT_DROP_NOT_OUR_IP },
	{ "udp_short", m_udp_short, DP_PKT_DROP_UDP_TRUNCATED },
	{ "udp_len_small", m_udp_len_small, DP_PKT_DROP_UDP_LEN },
	{ "udp_len_big", m_udp_len_big, DP_PKT_DROP_UDP_LEN },
	{ "udp_csum", m_udp_csum, DP_PKT_DROP_UDP_CSUM },
};

#define NB_BAD_CASES (sizeof(bad_cases) / sizeof(bad_cases[0]))

/*
 * Criterion re-executes the binary for each parameter and copies the
 * parameter bytes, so pointers cannot cross: pass an index into
 * bad_cases instead, which each process resolves itself.
 */
static unsigned bad_case_idx[NB_BAD_CASES];

ParameterizedTestParameters(pkt, malformed_frame_is_dropped_with_reason)
{
	for (unsigned i = 0; i < NB_BAD_CASES; i++)
		bad_case_idx[i] = i;
	return cr_make_param_array(unsigned, bad_case_idx, NB_BAD_CASES);
}

ParameterizedTest(unsigned *idx, pkt, malformed_frame_is_dropped_with_reason)
{
	const struct bad_case *bc = &bad_cases[*idx];
	uint8_t f[128];
	size_t len = udp_frame(f, sizeof(f), US_IP, US_PORT);

	cr_assert_eq(len, 60);
	bc->mangle(f, &len);
	/* A heap copy of exactly len bytes lets ASan catch any overread. */
	uint8_t *exact = malloc(len ? len : 1);

	memcpy(exact, f, len);
	cr_log_info("case %s", bc->name);
	assert_drop(exact, len, bc->want);
	free(exact);
}

/* A port's GOOD verdict spares exactly the checksum it names: every
 * other malformed frame is still dropped for the same reason. */
Test(pkt, hw_verified_checksums_skip_only_their_own_check)
{
	const unsigned both = DP_PKT_HW_IP4_CSUM_GOOD | DP_PKT_HW_L4_CSUM_GOOD;

	for (unsigned i = 0; i < NB_BAD_CASES; i++) {
		const struct bad_case *bc = &bad_cases[i];
		uint8_t f[128];
		size_t len = udp_frame(f, sizeof(f), US_IP, US_PORT);
		struct dp_pkt_view v;
		enum dp_pkt_drop want = bc->want;
		enum dp_pkt_class cls;

		bc->mangle(f, &len);
		if (want == DP_PKT_DROP_IP_CSUM || want == DP_PKT_DROP_UDP_CSUM)
			want = DP_PKT_DROP_NONE;
		cls = dp_pkt_parse_hw(f, len, &self, both, &v);
		cr_assert_eq(cls, want == DP_PKT_DROP_NONE ? DP_PKT_UDP_US :
			     DP_PKT_DROP, "case %s", bc->name);
		cr_assert_eq(v.drop, want, "case %s: got %s", bc->name,
			     dp_pkt_drop_str[v.drop]);
	}
}

/* Each bit spares its own checksum only, and none spares a bad frame. */
Test(pkt, hw_bits_are_independent)
{
	uint8_t f[128];
	size_t len = udp_frame(f, sizeof(f), US_IP, US_PORT);
	struct dp_pkt_view v;

	m_ip_csum(f, &len);
	cr_assert_eq(dp_pkt_parse_hw(f, len, &self, DP_PKT_HW_L4_CSUM_GOOD, &v),
		     DP_PKT_DROP);
	cr_assert_eq(v.drop, DP_PKT_DROP_IP_CSUM);
	cr_assert_eq(dp_pkt_parse_hw(f, len, &self, DP_PKT_HW_IP4_CSUM_GOOD,
				     &v), DP_PKT_UDP_US);
	len = udp_frame(f, sizeof(f), US_IP, US_PORT);
	m_udp_csum(f, &len);
	cr_assert_eq(dp_pkt_parse_hw(f, len, &self, DP_PKT_HW_IP4_CSUM_GOOD,
				     &v), DP_PKT_DROP);
	cr_assert_eq(v.drop, DP_PKT_DROP_UDP_CSUM);
	cr_assert_eq(dp_pkt_parse_hw(f, len, &self, DP_PKT_HW_L4_CSUM_GOOD, &v),
		     DP_PKT_UDP_US);
}

Test(pkt, every_prefix_of_a_valid_frame_is_handled)
{
	uint8_t f[128];
	size_t len = udp_frame(f, sizeof(f), US_IP, US_PORT);
	struct dp_pkt_view v;

	for (size_t n = 0; n <= len; n++) {
		uint8_t *exact = malloc(n ? n : 1);

		memcpy(exact, f, n);
		enum dp_pkt_class c = parse(exact, n, &v);

		if (n < 14)
			cr_assert_eq(v.drop, DP_PKT_DROP_RUNT);
		else if (n < 34)
			cr_assert_eq(v.drop, DP_PKT_DROP_IP_TRUNCATED);
		else if (n < 58)	/* total length is 44 */
			cr_assert_eq(v.drop, DP_PKT_DROP_IP_TOTLEN);
		else
			cr_assert_eq(c, DP_PKT_UDP_US, "len %zu", n);
		free(exact);
	}
}

Test(pkt, random_frames_never_crash_and_always_get_a_class)
{
	uint8_t f[128];
	struct dp_pkt_view v;
	unsigned seed = 12345;
	size_t base = udp_frame(f, sizeof(f), US_IP, US_PORT);

	for (unsigned i = 0; i < 20000; i++) {
		uint8_t g[128];
		size_t n = (size_t)(rand_r(&seed) % (base + 1));

		memcpy(g, f, sizeof(g));
		for (unsigned k = 0; k < 3; k++)
			g[rand_r(&seed) % base] = (uint8_t)rand_r(&seed);
		enum dp_pkt_class c = parse(g, n, &v);

		cr_assert_lt(c, DP_PKT_CLASS_COUNT);
		cr_assert_lt(v.drop, DP_PKT_DROP_COUNT);
		cr_assert_eq(c == DP_PKT_DROP, v.drop != DP_PKT_DROP_NONE);
		if (c == DP_PKT_UDP_US)
			cr_assert_leq((size_t)v.payload_off + v.payload_len, n);
	}
}

Test(pkt, every_drop_reason_has_a_name)
{
	for (int i = 0; i < DP_PKT_DROP_COUNT; i++)
		cr_assert_not_null(dp_pkt_drop_str[i]);
	cr_assert(dp_pkt_ip_is_special(0));
	cr_assert(dp_pkt_ip_is_special(0xe0000001u));
	cr_assert(!dp_pkt_ip_is_special(US_IP));
}
