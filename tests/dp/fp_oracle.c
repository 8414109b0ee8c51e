/* SPDX-License-Identifier: MIT */
/*
 * Differential oracles for the ping fast path (fp_oracle.h). Written
 * from the contracts in swim_wire_ping.h, swim_wire.h and dp_fastpath.h,
 * not from the code under test: the walk, the piggyback split, the outer
 * type table and the checksum here are our own, plain and slow.
 */
#include "fp_oracle.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dp.h"
#include "swim_wire.h"
#include "swim_wire_ping.h"

/* --- swim_wire_match_ping --- */

/* What the full packet walk saw: the pings addressed to us. */
struct fpo_walk {
	const char *name;
	size_t name_len;
	int nb_ours;
	struct swim_ping first;
};

/* memberlist answers an empty Node and its own name, nothing else. */
static bool
fpo_is_for(const struct swim_ping *p, const char *name, size_t name_len)
{
	if (p->node.len == 0)
		return true;
	if (p->node.len != name_len)
		return false;
	for (size_t i = 0; i < name_len; i++)
		if (p->node.ptr[i] != (uint8_t)name[i])
			return false;
	return true;
}

static int
fpo_visit(void *ctx, const struct swim_msg *m)
{
	struct fpo_walk *w = ctx;

	if (m->type != SWIM_MSG_PING || !fpo_is_for(&m->ping, w->name,
						     w->name_len))
		return 0;
	if (w->nb_ours++ == 0)
		w->first = m->ping;
	return 0;
}

static bool
fpo_same_str(const struct swim_str *a, const struct swim_str *b)
{
	return a->ptr == b->ptr && a->len == b->len;
}

static bool
fpo_same_ping(const struct swim_ping *a, const struct swim_ping *b)
{
	return a->seq_no == b->seq_no && a->source_port == b->source_port &&
	       fpo_same_str(&a->node, &b->node) &&
	       fpo_same_str(&a->source_addr, &b->source_addr) &&
	       fpo_same_str(&a->source_node, &b->source_node);
}

/* A slice of a found ping: NULL and empty, or inside buf. */
static bool
fpo_in_buf(const struct swim_str *s, const uint8_t *buf, size_t len)
{
	if (s->ptr == NULL)
		return s->len == 0;
	return s->ptr >= buf && s->ptr <= buf + len &&
	       s->len <= (size_t)(buf + len - s->ptr);
}

static const char *
fpo_ping_str(const char *what, const struct swim_ping *p)
{
	static char s[2][160];
	static int i;

	i ^= 1;
	snprintf(s[i], sizeof(s[i]),
		 "%s{seq %u node %p/%u addr %p/%u snode %p/%u port %u}", what,
		 p->seq_no, (const void *)p->node.ptr, p->node.len,
		 (const void *)p->source_addr.ptr, p->source_addr.len,
		 (const void *)p->source_node.ptr, p->source_node.len,
		 p->source_port);
	return s[i];
}

const char *
fpo_check_match(const uint8_t *buf, size_t len, const char *name,
		size_t name_len)
{
	struct fpo_walk w = { .name = name, .name_len = name_len };
	struct swim_ping fast, slow;
	int rf, rs;

	memset(&fast, 0x5a, sizeof(fast));
	memset(&slow, 0x5a, sizeof(slow));
	rf = swim_wire_match_ping(buf, len, name, name_len, &fast);
	rs = swim_wire_find_ping(buf, len, name, name_len, &slow);
	if (rf != rs)
		return oracle_fail("name '%s': match_ping %d, find_ping %d",
				   name, rf, rs);
	if (rf <= SWIM_WIRE_E_COUNT || rf > 1)
		return oracle_fail("name '%s': result %d out of range",
				   name, rf);
	if (rf == 1 && !fpo_same_ping(&fast, &slow))
		return oracle_fail("name '%s': %s, %s", name,
				   fpo_ping_str("match", &fast),
				   fpo_ping_str("find", &slow));
	if (rf == 1 && (!fpo_in_buf(&fast.node, buf, len) ||
			!fpo_in_buf(&fast.source_addr, buf, len) ||
			!fpo_in_buf(&fast.source_node, buf, len)))
		return oracle_fail("name '%s': a slice outside the packet",
				   name);
	swim_wire_decode_packet(buf, len, NULL, fpo_visit, &w);
	if ((rf == 1) != (w.nb_ours > 0))
		return oracle_fail("name '%s': match_ping %d, the walk "
				   "visits %d pings for us", name, rf,
				   w.nb_ours);
	if (rf == 1 && !fpo_same_ping(&fast, &w.first))
		return oracle_fail("name '%s': %s, walk's first %s", name,
				   fpo_ping_str("match", &fast),
				   fpo_ping_str("", &w.first));
	return NULL;
}

/* --- the ack --- */

/* The piggyback parts of the snapshot, as dp_fastpath.h describes the
 * blob: <u16 BE len><part>..., at most nb_piggyback and 254 parts, none
 * empty or past the end; anything malformed means no parts at all. */
static unsigned
fpo_split(const struct dp_snapshot *snap, struct swim_str *parts)
{
	size_t len = snap->piggyback_len, off = 0;
	unsigned nb = 0;

	if (len > sizeof(snap->piggyback))
		return 0;
	while (off < len && nb < snap->nb_piggyback) {
		size_t plen;

		if (nb == DP_FP_MAX_PARTS || len - off < 2)
			return 0;
		plen = (size_t)snap->piggyback[off] << 8 |
		       snap->piggyback[off + 1];
		off += 2;
		if (plen == 0 || plen > len - off)
			return 0;
		parts[nb].ptr = snap->piggyback + off;
		parts[nb].len = (uint32_t)plen;
		nb++;
		off += plen;
	}
	return nb;
}

int
fpo_ref_ack(const struct dp_fp *fp, uint32_t seq_no, uint8_t *out,
	    size_t cap)
{
	static struct swim_str parts[1 + DP_FP_MAX_PARTS];
	struct swim_msg m = { .type = SWIM_MSG_ACK };
	uint8_t ack[DP_FP_ACK_MAX + 64];
	unsigned nb = fpo_split(&fp->snap, parts + 1);
	int n;

	m.ack.seq_no = seq_no;
	if (fp->snap.ack_payload_len > 0 &&
	    fp->snap.ack_payload_len <= sizeof(fp->snap.ack_payload)) {
		m.ack.payload.ptr = fp->snap.ack_payload;
		m.ack.payload.len = fp->snap.ack_payload_len;
	}
	if (nb == 0)
		return swim_wire_encode_msg(&m, out, cap);
	n = swim_wire_encode_msg(&m, ack, sizeof(ack));
	if (n < 0)
		return n;
	parts[0].ptr = ack;
	parts[0].len = (uint32_t)n;
	return swim_wire_encode_compound(parts, 1 + nb, out, cap);
}

/* The ack's sum, if build_ack says it has one, against the bytes. */
static const char *
fpo_check_sum(const struct dp_fp *fp, const uint8_t *ack, size_t len,
	      uint32_t seq_no)
{
	if (!fp->has_ack_sum)
		return NULL;
	if (fp->ack_sum >= 1u << 31)
		return oracle_fail("seq %u: ack_sum %#x not < 2^31", seq_no,
				   fp->ack_sum);
	if (oracle_fold(fp->ack_sum) != oracle_fold(oracle_sum(ack, len)))
		return oracle_fail("seq %u, %zu bytes: ack_sum folds to "
				   "%#x, the bytes sum to %#x", seq_no, len,
				   oracle_fold(fp->ack_sum),
				   oracle_fold(oracle_sum(ack, len)));
	return NULL;
}

const char *
fpo_check_ack(struct dp_fp *fp, uint32_t seq_no)
{
	static uint8_t want[DP_PKT_MAX], got[DP_PKT_MAX];
	int w = fpo_ref_ack(fp, seq_no, want, sizeof(want));
	int g = dp_fp_build_ack(fp, seq_no, got, sizeof(got));
	const char *err;

	if (g != w)
		return oracle_fail("seq %u: build_ack %d bytes, encoders %d",
				   seq_no, g, w);
	if (w < 0)
		return NULL;
	for (int i = 0; i < w; i++)
		if (got[i] != want[i])
			return oracle_fail("seq %u: byte %d of %d is %02x, "
					   "encoders %02x", seq_no, i, w,
					   got[i], want[i]);
	err = fpo_check_sum(fp, got, (size_t)w, seq_no);
	if (err != NULL)
		return err;
	/* exactly enough room, then one byte short */
	if (dp_fp_build_ack(fp, seq_no, got, (size_t)w) != w)
		return oracle_fail("seq %u: no fit in exactly %d bytes",
				   seq_no, w);
	if (dp_fp_build_ack(fp, seq_no, got, (size_t)w - 1) !=
	    SWIM_WIRE_E_NOSPACE)
		return oracle_fail("seq %u: fits in %d bytes, needs %d", seq_no,
				   w - 1, w);
	return NULL;
}

/* --- dp_fp_process --- */

/* The outer types a UDP datagram may have (wire.md 3), under a CRC. */
static bool
fpo_udp_type(const uint8_t *buf, size_t len)
{
	uint8_t t = buf[0];

	if (t == SWIM_MSG_HAS_CRC) {
		if (len < 6)
			return false;
		t = buf[5];
	}
	/* and gossipd's delta-sync HELLO / answer (swim_dsync_udp.h) */
	if (t == 0xd8 || t == 0xd9)
		return true;
	return t <= SWIM_MSG_COMPRESS ? t != SWIM_MSG_PUSH_PULL :
					t == SWIM_MSG_NACK;
}

/* The datagram is the found ping and nothing else: bare, or the one
 * part of a compound, maybe under a (verified) CRC. */
static bool
fpo_bare(const uint8_t *buf, size_t len)
{
	if (len >= 5 && buf[0] == SWIM_MSG_HAS_CRC) {
		buf += 5;
		len -= 5;
	}
	if (len >= 1 && buf[0] == SWIM_MSG_PING)
		return true;
	return len >= 5 && buf[0] == SWIM_MSG_COMPOUND && buf[1] == 1 &&
	       buf[4] == SWIM_MSG_PING;
}

/* The verdict, and the ping when one is for us. */
static enum dp_fp_verdict
fpo_want_verdict(const struct dp_fp *fp, const uint8_t *buf, size_t len,
		 struct swim_ping *ping, uint8_t *ack, int *ack_len)
{
	size_t nlen = strnlen(fp->snap.name, SWIM_NAME_MAX);
	int rc;

	if (len == 0)
		return DP_FP_MALFORMED;
	if (nlen == 0)
		return DP_FP_PASS;
	if (!fpo_udp_type(buf, len))
		return DP_FP_MALFORMED;
	rc = swim_wire_find_ping(buf, len, fp->snap.name, nlen, ping);
	if (rc < 0)
		return DP_FP_MALFORMED;
	if (rc == 0)
		return DP_FP_PASS;
	*ack_len = fpo_ref_ack(fp, ping->seq_no, ack, DP_PKT_MAX);
	if (*ack_len < 0)
		return DP_FP_PASS;
	return fpo_bare(buf, len) ? DP_FP_ACKED : DP_FP_PASS_ACKED;
}

/* wire.md 5.1: SourceAddr:SourcePort when both are set (and the
 * address is IPv4 or IPv6), else the datagram's source. */
static bool
fpo_to_source(const struct swim_ping *p)
{
	return p->source_addr.ptr != NULL && p->source_port != 0 &&
	       (p->source_addr.len == 4 || p->source_addr.len == 16);
}

static void
fpo_want_dest(const struct swim_ping *p, const struct swim_addr *src,
	      struct swim_addr *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (fpo_to_source(p)) {
		memcpy(dst->ip, p->source_addr.ptr, p->source_addr.len);
		dst->ip_len = (uint8_t)p->source_addr.len;
		dst->port = p->source_port;
		return;
	}
	*dst = *src;
}

static const char *
fpo_check_acked(const struct dp_fp *fp, const struct dp_pkt *got,
		const uint8_t *want, int want_len, const struct swim_addr *dst,
		uint32_t seq_no)
{
	if (got->len != want_len)
		return oracle_fail("ack %u bytes, encoders %d", got->len,
				   want_len);
	if (memcmp(got->data, want, (size_t)want_len) != 0)
		return oracle_fail("ack bytes differ from the encoders'");
	if (got->flags != 0)
		return oracle_fail("ack flags %#x", got->flags);
	if (got->addr.ip_len != dst->ip_len || got->addr.port != dst->port ||
	    memcmp(got->addr.ip, dst->ip, dst->ip_len) != 0)
		return oracle_fail("ack to ip_len %u port %u, want ip_len "
				   "%u port %u", got->addr.ip_len,
				   got->addr.port, dst->ip_len, dst->port);
	return fpo_check_sum(fp, got->data, got->len, seq_no);
}

static bool fpo_to_source(const struct swim_ping *p);

/* dp_fp_match: process's verdict without the ack, and find_ping's ping
 * when it is one to answer. A verdict of PASS because the ack could not
 * be built is process's alone: match then says it would ack. */
static const char *
fpo_check_fp_match(const struct dp_fp *fp, const uint8_t *buf, size_t len,
		   enum dp_fp_verdict exp, const struct swim_ping *want)
{
	struct swim_ping ping;
	enum dp_fp_verdict got;

	memset(&ping, 0x5a, sizeof(ping));
	got = dp_fp_match(fp, buf, len, &ping);
	if (got != exp)
		return oracle_fail("name '%s': dp_fp_match %d, want %d",
				   fp->snap.name, (int)got, (int)exp);
	if (exp != DP_FP_ACKED && exp != DP_FP_PASS_ACKED)
		return NULL;
	if (!fpo_same_ping(&ping, want))
		return oracle_fail("name '%s': dp_fp_match %s, find_ping %s",
				   fp->snap.name, fpo_ping_str("", &ping),
				   fpo_ping_str("", want));
	if (dp_fp_ack_to_source(&ping) != fpo_to_source(&ping))
		return oracle_fail("dp_fp_ack_to_source %d for %s",
				   dp_fp_ack_to_source(&ping),
				   fpo_ping_str("", &ping));
	return NULL;
}

const char *
fpo_check_process(struct dp_fp *fp, const uint8_t *buf, size_t len)
{
	static const struct swim_addr src = {
		.ip = { 127, 0, 0, 9 }, .ip_len = 4, .port = 40001,
	};
	static uint8_t want[DP_PKT_MAX];
	static struct dp_pkt ack;
	struct swim_addr dst;
	struct swim_ping ping;
	enum dp_fp_verdict got, exp;
	const char *err;
	int want_len = -1;

	memset(&ping, 0, sizeof(ping));
	exp = fpo_want_verdict(fp, buf, len, &ping, want, &want_len);
	memset(&ack, 0x5a, sizeof(ack));
	got = dp_fp_process(fp, buf, len, &src, &ack);
	if (got != exp)
		return oracle_fail("name '%s': verdict %d, want %d",
				   fp->snap.name, (int)got, (int)exp);
	err = fpo_check_fp_match(fp, buf, len, exp, &ping);
	if (err != NULL || (exp != DP_FP_ACKED && exp != DP_FP_PASS_ACKED))
		return err;
	fpo_want_dest(&ping, &src, &dst);
	return fpo_check_acked(fp, &ack, want, want_len, &dst, ping.seq_no);
}
