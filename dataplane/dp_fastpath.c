/* SPDX-License-Identifier: MIT */
/*
 * The ping -> ack fast path (see dp_fastpath.h). Runs on an lcore: no
 * locks, no allocation, no syscalls, no logging. It decides nothing about
 * membership: it only answers "are you alive?" for this node, exactly as
 * memberlist's handlePing would, from control's latest snapshot.
 */
#include "dp_fastpath.h"

#include <string.h>

#include "dp_internal.h"
#include "swim_wire.h"
#include "swim_wire_ping.h"

/* An ack's map ends with this key and SeqNo's value (wire.md 5.2). */
static const uint8_t dp_fp_seq_key[] = { 0xa5, 'S', 'e', 'q', 'N', 'o' };

void
dp_fp_init(struct dp_fp *fp)
{
	memset(fp, 0, sizeof(*fp));
}

/* Split "<u16 BE len><part>..." into fp->parts[1..]. false if malformed. */
static bool
dp_fp_split_piggyback(struct dp_fp *fp)
{
	const uint8_t *p = fp->snap.piggyback;
	size_t len = fp->snap.piggyback_len;
	size_t off = 0;
	unsigned nb = 0;

	if (len > sizeof(fp->snap.piggyback))
		return false;
	while (off < len && nb < fp->snap.nb_piggyback) {
		size_t part_len;

		if (nb == DP_FP_MAX_PARTS || len - off < 2)
			return false;
		part_len = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		/* an empty part would crash memberlist 0.2.2 (wire.md 4.1) */
		if (part_len == 0 || part_len > len - off)
			return false;
		nb++;
		fp->parts[nb].ptr = p + off;
		fp->parts[nb].len = (uint32_t)part_len;
		off += part_len;
	}
	fp->nb_parts = nb;
	return true;
}

static int dp_fp_encode_ack(struct dp_fp *fp, uint32_t seq_no, uint8_t *out,
			    size_t cap);

/* RFC 1071 sum of len bytes as big-endian words from an even offset,
 * folded: once per snapshot, so plain and short. */
static uint16_t
dp_fp_sum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (i & 1) != 0 ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Swap the bytes of a 16-bit sum: the sum of the same bytes one offset
 * over (RFC 1071 2(B)). */
static uint32_t
dp_fp_swap_sum(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xff) << 8 | sum >> 8;
}

/* The bytes a SeqNo takes in go-msgpack's smallest uint encoding. */
static const uint8_t dp_fp_widths[4] = { 1, 2, 3, 5 };

/* The ack's sum without SeqNo's n bytes at head_len: the head, the tail
 * after them (swapped when it starts at an odd offset) and, in a
 * compound, the ack part's length in the header. */
static uint32_t
dp_fp_width_sum(const struct dp_fp_tmpl *t, size_t head_len, size_t n)
{
	uint32_t tail = t->tail_sum;
	uint32_t sum = t->head_sum;

	if (((head_len + n) & 1) != 0)
		tail = dp_fp_swap_sum(tail);
	if (t->part_len != 0)
		sum += (uint32_t)t->part_len + (uint32_t)n;
	return sum + tail;
}

/*
 * Encode the ack for SeqNo 0, whose value is the single byte 00 at the
 * end of the ack map, and cut that byte out: what is left around it is
 * the template. Anything unexpected leaves no template (the slow path).
 */
static void
dp_fp_make_tmpl(struct dp_fp *fp)
{
	struct dp_fp_tmpl *t = &fp->tmpl;
	size_t seq_at;		/* offset of SeqNo's value byte */
	size_t ack_len;
	int n;

	t->head_len = 0;
	n = dp_fp_encode_ack(fp, 0, t->bytes, sizeof(t->bytes));
	if (n < 0)
		return;
	if (fp->nb_parts == 0) {
		ack_len = (size_t)n;
		seq_at = ack_len - 1;
	} else {
		ack_len = (size_t)t->bytes[2] << 8 | t->bytes[3];
		seq_at = 2 + 2 * (1 + (size_t)fp->nb_parts) + ack_len - 1;
	}
	if (ack_len < 1 + sizeof(dp_fp_seq_key) + 1 || seq_at >= (size_t)n ||
	    t->bytes[seq_at] != 0x00 ||
	    memcmp(t->bytes + seq_at - sizeof(dp_fp_seq_key), dp_fp_seq_key,
		   sizeof(dp_fp_seq_key)) != 0)
		return;
	t->tail_len = (uint16_t)((size_t)n - seq_at - 1);
	memmove(t->bytes + seq_at, t->bytes + seq_at + 1, t->tail_len);
	t->part_len = fp->nb_parts == 0 ? 0 : (uint16_t)(ack_len - 1);
	/* a compound's first length changes per ack: sum it apart */
	t->head_sum = fp->nb_parts == 0 ?
		      dp_fp_sum16(t->bytes, seq_at) :
		      (uint16_t)(dp_fp_sum16(t->bytes, 2) +
				 dp_fp_sum16(t->bytes + 4, seq_at - 4));
	t->tail_sum = dp_fp_sum16(t->bytes + seq_at, t->tail_len);
	t->seq_odd = (seq_at & 1) != 0;
	for (unsigned w = 0; w < 4; w++)
		t->width_sum[w] = dp_fp_width_sum(t, seq_at, dp_fp_widths[w]);
	t->head_len = (uint16_t)seq_at;
	t->head_blocks = (uint16_t)((seq_at + DP_FP_COPY - 1) / DP_FP_COPY);
}

void
dp_fp_set_snapshot(struct dp_fp *fp, const struct dp_snapshot *snap,
		   uint64_t gen)
{
	if (snap != &fp->snap)
		memcpy(&fp->snap, snap, sizeof(*snap));
	fp->gen = gen;
	/* the writer may have left no NUL: never read past the array */
	fp->snap.name[SWIM_NAME_MAX] = '\0';
	fp->name_len = strlen(fp->snap.name);
	swim_ping_pat_init(&fp->ping_pat, fp->snap.name, fp->name_len);
	if (fp->snap.ack_payload_len > sizeof(fp->snap.ack_payload))
		fp->snap.ack_payload_len = 0;
	fp->nb_parts = 0;
	if (!dp_fp_split_piggyback(fp))
		fp->nb_parts = 0;
	dp_fp_make_tmpl(fp);
}

bool
dp_fp_refresh(struct dp_fp *fp, const struct dp_snap_pub *pub)
{
	uint64_t gen = fp->gen;

	/* The common case, nothing new, without a call; pairs with the
	 * store-release of gen in dp_publish, as dp_snap_read's own load. */
	if (atomic_load_explicit(&pub->gen, memory_order_acquire) == gen)
		return false;
	/* into a scratch copy: a torn read must not clobber the good one */
	if (!dp_snap_read(pub, &gen, &fp->next))
		return false;
	dp_fp_set_snapshot(fp, &fp->next, gen);
	return true;
}

/* The ack through the general encoders: the reference for the template. */
static int
dp_fp_encode_ack(struct dp_fp *fp, uint32_t seq_no, uint8_t *out, size_t cap)
{
	uint8_t ack[DP_FP_ACK_MAX];
	struct swim_msg m = { .type = SWIM_MSG_ACK };
	int n;

	m.ack.seq_no = seq_no;
	if (fp->snap.ack_payload_len > 0) {
		m.ack.payload.ptr = fp->snap.ack_payload;
		m.ack.payload.len = fp->snap.ack_payload_len;
	}
	if (fp->nb_parts == 0)
		return swim_wire_encode_msg(&m, out, cap);
	n = swim_wire_encode_msg(&m, ack, sizeof(ack));
	if (n < 0)
		return n;
	/* ack first, as memberlist's piggybacking puts the message first */
	fp->parts[0].ptr = ack;
	fp->parts[0].len = (uint32_t)n;
	n = swim_wire_encode_compound(fp->parts, 1 + fp->nb_parts, out, cap);
	fp->parts[0].ptr = NULL;
	return n;
}

int
dp_fp_build_ack(struct dp_fp *fp, uint32_t seq_no, uint8_t *out, size_t cap)
{
	int n = dp_fp_ack_tmpl(fp, seq_no, out, cap);

	if (n >= 0)
		return n;
	fp->has_ack_sum = false;
	return dp_fp_encode_ack(fp, seq_no, out, cap);
}

/* True when the whole datagram is the one ping find_ping found: a bare ping,
 * maybe CRC-wrapped, maybe a compound of that single part. */
static bool
dp_fp_is_bare_ping(const uint8_t *buf, size_t len)
{
	if (len >= 5 && buf[0] == SWIM_MSG_HAS_CRC) {
		buf += 5;
		len -= 5;
	}
	if (len >= 1 && buf[0] == SWIM_MSG_PING)
		return true;
	/* compound: 07 01 <u16 len> <part> */
	return len >= 5 && buf[0] == SWIM_MSG_COMPOUND && buf[1] == 1 &&
	       buf[4] == SWIM_MSG_PING;
}

/* True when the outer message type (under a CRC) can arrive on UDP
 * (wire.md 3, and gossipd's own two): anything else is dropped. */
static bool
dp_fp_udp_type(const uint8_t *buf, size_t len)
{
	uint8_t t = buf[0];

	if (t == SWIM_MSG_HAS_CRC) {
		if (len < 6)
			return false;
		t = buf[5];
	}
	switch (t) {
	case SWIM_MSG_PING: case SWIM_MSG_INDIRECT_PING: case SWIM_MSG_ACK:
	case SWIM_MSG_SUSPECT: case SWIM_MSG_ALIVE: case SWIM_MSG_DEAD:
	case SWIM_MSG_COMPOUND: case SWIM_MSG_USER: case SWIM_MSG_COMPRESS:
	case SWIM_MSG_NACK:
		return true;
	/* gossipd's delta-sync HELLO and its answer over UDP (0xd8, 0xd9:
	 * swim/core/swim_dsync_udp.h): control's core answers them */
	case 0xd8: case 0xd9:
		return true;
	default:
		return false;
	}
}

/* Where the ack goes: SourceAddr:SourcePort, or the datagram's source. */
static void
dp_fp_ack_dest(const struct swim_ping *ping, const struct swim_addr *src,
	       struct swim_addr *dst)
{
	if (!dp_fp_ack_to_source(ping)) {
		*dst = *src;
		return;
	}
	memset(dst, 0, sizeof(*dst));
	if (ping->source_addr.len == 4)	/* constant-size copies */
		memcpy(dst->ip, ping->source_addr.ptr, 4);
	else
		memcpy(dst->ip, ping->source_addr.ptr, 16);
	dst->ip_len = (uint8_t)ping->source_addr.len;
	dst->port = ping->source_port;
}

enum dp_fp_verdict
dp_fp_match(const struct dp_fp *fp, const uint8_t *buf, size_t len,
	    struct swim_ping *ping)
{
	/* the usual probe first, as the lcore's inlined call has it */
	if (swim_wire_match_ping_pat(buf, len, &fp->ping_pat, ping))
		return DP_FP_ACKED;
	return dp_fp_match_general(fp, buf, len, ping);
}

enum dp_fp_verdict
dp_fp_match_general(const struct dp_fp *fp, const uint8_t *buf, size_t len,
		    struct swim_ping *ping)
{
	int rc;

	if (len == 0)
		return DP_FP_MALFORMED;
	if (fp->name_len == 0)
		return DP_FP_PASS;	/* nothing published, or fast path off */
	/* the usual probe, a bare ping, without the general checks */
	if (buf[0] != SWIM_MSG_PING && !dp_fp_udp_type(buf, len))
		return DP_FP_MALFORMED;
	rc = swim_wire_match_ping(buf, len, fp->snap.name, fp->name_len, ping);
	if (rc < 0)
		return DP_FP_MALFORMED;
	if (rc == 0)
		return DP_FP_PASS;
	if (buf[0] == SWIM_MSG_PING)
		return DP_FP_ACKED;
	return dp_fp_is_bare_ping(buf, len) ? DP_FP_ACKED : DP_FP_PASS_ACKED;
}

enum dp_fp_verdict
dp_fp_process(struct dp_fp *fp, const uint8_t *buf, size_t len,
	      const struct swim_addr *src, struct dp_pkt *ack)
{
	struct swim_ping ping;
	enum dp_fp_verdict v = dp_fp_match(fp, buf, len, &ping);
	int rc;

	if (v != DP_FP_ACKED && v != DP_FP_PASS_ACKED)
		return v;
	rc = dp_fp_build_ack(fp, ping.seq_no, ack->data, sizeof(ack->data));
	if (rc < 0)
		return DP_FP_PASS;	/* let control answer it */
	ack->len = (uint16_t)rc;
	ack->flags = 0;
	dp_fp_ack_dest(&ping, src, &ack->addr);
	return v;
}
