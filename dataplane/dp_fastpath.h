/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The ping -> ack fast path, run on a dataplane lcore: find a ping
 * addressed to this node in a received datagram and build the ack from
 * the snapshot control published, so a probe of us never waits for the
 * control thread. Backend-neutral: it works on a byte buffer, so the
 * socket and DPDK backends both use it.
 *
 * Owns no state shared between threads: each lcore has its own struct
 * dp_fp and refreshes it from the published snapshot without locks. Never
 * allocates, blocks or logs. Encrypted packets are not handled here: a
 * backend with a keyring opens the datagram first and seals the ack this
 * builds (dp_dpdk_seal.h, dp_socket.c). The keyring travels in the
 * snapshot as a pointer (struct dp_snapshot.keyring, NULL: dp_cfg's);
 * the copy an lcore keeps holds that pointer, which it uses only right
 * after adopting the snapshot (to re-key its own cipher contexts), and
 * control frees a replaced ring only after a grace period (cp_keys.h).
 */
#ifndef DP_FASTPATH_H_INCLUDED
#define DP_FASTPATH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp.h"
#include "swim_msg.h"
#include "swim_wire_ping.h"

struct dp_snap_pub;

/** Most piggyback parts one ack carries: a compound holds 255 parts. */
#define DP_FP_MAX_PARTS 254
/** Largest bare ack: map header, two keys, a 256-byte payload, SeqNo. */
#define DP_FP_ACK_MAX 320
/** Largest ack with piggyback: compound header, ack, every part. */
#define DP_FP_TMPL_MAX (2 + 2 * (1 + DP_FP_MAX_PARTS) + DP_FP_ACK_MAX + \
			sizeof(((struct dp_snapshot *)0)->piggyback))

/** The unit of the ack head's copy, in bytes. */
#define DP_FP_COPY 32

/** What to do with a received datagram after the fast path looked at it. */
enum dp_fp_verdict {
	DP_FP_PASS = 0,		/* no ping to us: hand to control as is */
	DP_FP_PASS_ACKED,	/* acked here; hand to control, flagged
				 * DP_PKT_F_PINGS_ANSWERED (it holds more) */
	DP_FP_ACKED,		/* a bare ping, acked here: control needn't
				 * see it */
	DP_FP_MALFORMED,	/* not a memberlist packet: drop and count */
	DP_FP_VERDICT_COUNT,
};

/**
 * The ack to any SeqNo, encoded once per snapshot. Its SeqNo is the last
 * key of the ack map ("Payload" < "SeqNo"), so an ack is head, the
 * SeqNo's smallest uint encoding, tail (the piggyback parts, if any);
 * in a compound the ack part's length in the header grows with it.
 */
struct dp_fp_tmpl {
	uint16_t head_len;	/* bytes before the SeqNo; 0: no template */
	uint16_t head_blocks;	/* DP_FP_COPY-byte blocks that hold them */
	uint16_t tail_len;	/* bytes after it */
	uint16_t part_len;	/* compound: ack part without SeqNo; 0: bare */
	uint16_t head_sum;	/* RFC 1071 sum of head, length field 0 */
	uint16_t tail_sum;	/* ... of tail, as if at an even offset */
	bool seq_odd;		/* head_len is odd: SeqNo's sum swapped */
	uint32_t width_sum[4];	/* the ack's sum less SeqNo's bytes, per
				 * SeqNo width of 1, 2, 3 and 5 bytes */
	/* head, then tail; DP_FP_COPY more, so the head's copy may round up */
	uint8_t bytes[DP_FP_TMPL_MAX + DP_FP_COPY];
};

/** One lcore's private fast-path state. */
struct dp_fp {
	uint64_t gen;			/* generation of snap; 0: none yet */
	struct dp_snapshot snap;	/* private copy of the published one */
	struct dp_snapshot next;	/* scratch for dp_fp_refresh's read */
	size_t name_len;		/* strlen(snap.name); 0: fast path off */
	unsigned nb_parts;		/* piggyback parts parsed from snap */
	struct swim_str parts[1 + DP_FP_MAX_PARTS]; /* [0]: the ack itself;
						     * the rest point into
						     * snap.piggyback */
	struct swim_ping_pat ping_pat;	/* the usual ping to snap.name */
	struct dp_fp_tmpl tmpl;		/* the ack, built from snap */
	bool has_ack_sum;		/* the last ack came from tmpl: */
	uint32_t ack_sum;		/* its RFC 1071 sum, big-endian words,
					 * unfolded, for the UDP checksum */
};

/** Start with no snapshot: every packet goes to control. */
void dp_fp_init(struct dp_fp *fp);

/**
 * Adopt snap (a private copy control published): cache the name length,
 * split the piggyback blob into parts and pre-encode the ack template.
 * A malformed blob (a part of length 0 or past the end) is ignored: acks
 * then go out bare.
 */
void dp_fp_set_snapshot(struct dp_fp *fp, const struct dp_snapshot *snap,
			uint64_t gen);

/**
 * Pick up a newer published snapshot, if any, without blocking. Call it
 * once per received burst: with nothing new it is one acquire load.
 * @retval true when fp changed.
 */
bool dp_fp_refresh(struct dp_fp *fp, const struct dp_snap_pub *pub);

/**
 * Build the ack for seq_no (payload and piggyback from the snapshot),
 * byte for byte what swim_wire_encode_msg and swim_wire_encode_compound
 * give, from the template when there is one; then has_ack_sum is set
 * and ack_sum holds the ack's ones' complement sum, and the bytes of out
 * past the ack (up to cap) may have been used as scratch.
 * @retval bytes written to out, or a negative swim_wire_err.
 */
int dp_fp_build_ack(struct dp_fp *fp, uint32_t seq_no, uint8_t *out,
		    size_t cap);

/*
 * seq_no in go-msgpack's smallest unsigned encoding at p, and the sum of
 * those bytes as big-endian words: from an even offset tag|b1, b2|b3,
 * b4|0, from an odd one (odd) 0|tag, b1|b2, b3|b4.
 * @retval the index of its width (1, 2, 3, 5 bytes: 0..3).
 */
static inline unsigned
dp_fp_put_seq(uint8_t *p, uint32_t v, bool odd, uint32_t *sum)
{
	uint32_t be;

	/* widest first: a prober's SeqNo passes 0xffff within a day and
	 * stays there */
	if (v > 0xffff) {
		p[0] = 0xce;
		be = v;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		be = __builtin_bswap32(v);
#endif
		memcpy(p + 1, &be, sizeof(be));
		*sum = odd ? 0xceu + (v >> 16) + (v & 0xffff) :
		       (0xce00u | v >> 24) + (v >> 8 & 0xffff) +
		       ((v & 0xff) << 8);
		return 3;
	}
	if (v > 0xff) {
		p[0] = 0xcd;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)v;
		*sum = odd ? 0xcdu + v : (0xcd00u | v >> 8) + ((v & 0xff) << 8);
		return 2;
	}
	if (v > 0x7f) {
		p[0] = 0xcc;
		p[1] = (uint8_t)v;
		*sum = odd ? 0xccu + (v << 8) : 0xcc00u | v;
		return 1;
	}
	p[0] = (uint8_t)v;
	*sum = odd ? v : v << 8;
	return 0;
}

/* nb whole DP_FP_COPY-byte blocks of src to dst: straight-line for the
 * usual counts. */
static inline void
dp_fp_copy_blocks(uint8_t *dst, const uint8_t *src, size_t nb)
{
#define DP_FP_BLOCK(i) \
	__builtin_memcpy(dst + (i) * DP_FP_COPY, src + (i) * DP_FP_COPY, \
			 DP_FP_COPY)
	switch (nb) {
	default:
		for (size_t i = 0; i < nb; i++)
			DP_FP_BLOCK(i);
		break;
	case 6: DP_FP_BLOCK(5); /* fall through */
	case 5: DP_FP_BLOCK(4); /* fall through */
	case 4: DP_FP_BLOCK(3); /* fall through */
	case 3: DP_FP_BLOCK(2); /* fall through */
	case 2: DP_FP_BLOCK(1); /* fall through */
	case 1: DP_FP_BLOCK(0); /* fall through */
	case 0: break;
	}
#undef DP_FP_BLOCK
}

/*
 * The template's ack after its head is in out: the SeqNo, the tail and,
 * in a compound, the ack part's length in the header.
 * @retval the ack's length; *sum its unfolded RFC 1071 sum
 */
static inline __attribute__((always_inline)) size_t
dp_fp_tmpl_finish(uint8_t *out, const struct dp_fp_tmpl *t, uint32_t seq_no,
		  uint32_t *sum)
{
	size_t head = t->head_len;
	uint32_t seq;
	unsigned w = dp_fp_put_seq(out + head, seq_no, t->seq_odd, &seq);
	size_t n = w == 3 ? 5 : w + 1;

	/* a bare ack has no tail; a compound's tail holds its parts */
	if (t->tail_len != 0) {
		memcpy(out + head + n, t->bytes + head, t->tail_len);
		if (t->part_len != 0) {
			/* the ack part's length in the compound header */
			out[2] = (uint8_t)((t->part_len + n) >> 8);
			out[3] = (uint8_t)(t->part_len + n);
		}
	}
	*sum = t->width_sum[w] + seq;
	return head + n + t->tail_len;
}

/**
 * dp_fp_build_ack from the template, inlined into the lcore's loop: the
 * head copied in DP_FP_COPY-byte steps when out has the room (bytes of
 * out past the ack, within cap, are then scratch).
 * @retval bytes written, -1 without a template or room (ask
 *         dp_fp_build_ack)
 */
static inline __attribute__((always_inline)) int
dp_fp_ack_tmpl(struct dp_fp *fp, uint32_t seq_no, uint8_t *out, size_t cap)
{
	const struct dp_fp_tmpl *t = &fp->tmpl;
	size_t head = t->head_len;
	size_t n;

	/* room for the widest SeqNo: no second look at the width */
	if (head == 0 || head + 5 + t->tail_len > cap)
		return -1;
	if (head + DP_FP_COPY + 5 + t->tail_len <= cap)
		dp_fp_copy_blocks(out, t->bytes, t->head_blocks);
	else
		memcpy(out, t->bytes, head);
	n = dp_fp_tmpl_finish(out, t, seq_no, &fp->ack_sum);
	fp->has_ack_sum = true;
	return (int)n;
}

/**
 * Whether the ack to ping goes to its SourceAddr:SourcePort, both set
 * (wire.md 5.1), rather than to the datagram's source.
 */
static inline bool
dp_fp_ack_to_source(const struct swim_ping *ping)
{
	uint32_t alen = ping->source_addr.len;

	return ping->source_addr.ptr != NULL && (alen == 4 || alen == 16) &&
	       ping->source_port != 0;
}

/**
 * What dp_fp_process decides, without building the ack: on DP_FP_ACKED
 * and DP_FP_PASS_ACKED *ping holds the ping, its slices pointing into
 * buf. For a backend that writes the ack over the received packet: take
 * what it needs from *ping before it calls dp_fp_build_ack.
 */
enum dp_fp_verdict dp_fp_match(const struct dp_fp *fp, const uint8_t *buf,
			       size_t len, struct swim_ping *ping);

/** dp_fp_match without its look for the usual ping (the lcore looks for
 * that itself, inlined: dp_fp_match_usual). */
enum dp_fp_verdict dp_fp_match_general(const struct dp_fp *fp,
				       const uint8_t *buf, size_t len,
				       struct swim_ping *ping);

/**
 * dp_fp_match with its first step, the usual bare ping to our name
 * (swim_wire_match_ping_pat: no pattern without a name), called from the
 * lcore's loop without dp_fp_match's own call.
 */
static inline enum dp_fp_verdict
dp_fp_match_usual(const struct dp_fp *fp, const uint8_t *buf, size_t len,
		  struct swim_ping *ping)
{
	if (swim_wire_match_ping_pat(buf, len, &fp->ping_pat, ping))
		return DP_FP_ACKED;
	return dp_fp_match_general(fp, buf, len, ping);
}

/**
 * Look at one received datagram. On DP_FP_ACKED and DP_FP_PASS_ACKED,
 * *ack holds the ack and its destination (SourceAddr:SourcePort of the
 * ping when both are set, else src).
 */
enum dp_fp_verdict dp_fp_process(struct dp_fp *fp, const uint8_t *buf,
				 size_t len, const struct swim_addr *src,
				 struct dp_pkt *ack);

#endif /* DP_FASTPATH_H_INCLUDED */
