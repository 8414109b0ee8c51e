/* SPDX-License-Identifier: MIT */
/*
 * memberlist's UDP and stream message codec (shared/protocol/memberlist-
 * wire.md §2-5, §7): struct swim_msg <-> bytes, the packet walk through the
 * CRC wrapper, compound and compress parts, the ping fast path and the
 * push/pull stream.
 *
 *   UDP packet, outermost first (each layer optional):
 *   +----+-----------+   +----+----------------+   +----+---+-----------+
 *   | 0c | crc32 BE  | > | 09 | {Algo:0,Buf:…} | > | 07 | N | len16 × N | parts…
 *   +----+-----------+   +----+----------------+   +----+---+-----------+
 *   each part: <type byte><msgpack map>, or 08 <raw user bytes>
 *
 * Pure: no allocation, no I/O. Decoded slices point into the input or the
 * caller's scratch. Must never read outside the given buffers.
 */
#include "swim_wire.h"
#include "swim_mp.h"

#include <string.h>

#define SWIM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define F SWIM_MP_FIELD

/* Field tables, sorted by key as go-msgpack 0.5.5 emits them. */
static const struct swim_mp_field swim_ping_f[] = {
	F("Node", SWIM_MP_STR, false, struct swim_ping, node),
	F("SeqNo", SWIM_MP_U32, false, struct swim_ping, seq_no),
	F("SourceAddr", SWIM_MP_BYTES, true, struct swim_ping, source_addr),
	F("SourceNode", SWIM_MP_STR, true, struct swim_ping, source_node),
	F("SourcePort", SWIM_MP_U16, true, struct swim_ping, source_port),
};

static const struct swim_mp_field swim_indirect_ping_f[] = {
	F("Nack", SWIM_MP_BOOL, false, struct swim_indirect_ping, nack),
	F("Node", SWIM_MP_STR, false, struct swim_indirect_ping, node),
	F("Port", SWIM_MP_U16, false, struct swim_indirect_ping, port),
	F("SeqNo", SWIM_MP_U32, false, struct swim_indirect_ping, seq_no),
	F("SourceAddr", SWIM_MP_BYTES, true, struct swim_indirect_ping,
	  source_addr),
	F("SourceNode", SWIM_MP_STR, true, struct swim_indirect_ping,
	  source_node),
	F("SourcePort", SWIM_MP_U16, true, struct swim_indirect_ping,
	  source_port),
	F("Target", SWIM_MP_BYTES, false, struct swim_indirect_ping, target),
};

static const struct swim_mp_field swim_ack_f[] = {
	F("Payload", SWIM_MP_BYTES, false, struct swim_ack, payload),
	F("SeqNo", SWIM_MP_U32, false, struct swim_ack, seq_no),
};

static const struct swim_mp_field swim_nack_f[] = {
	F("SeqNo", SWIM_MP_U32, false, struct swim_nack, seq_no),
};

static const struct swim_mp_field swim_accuse_f[] = {
	F("From", SWIM_MP_STR, false, struct swim_accuse, from),
	F("Incarnation", SWIM_MP_U32, false, struct swim_accuse, incarnation),
	F("Node", SWIM_MP_STR, false, struct swim_accuse, node),
};

static const struct swim_mp_field swim_alive_f[] = {
	F("Addr", SWIM_MP_BYTES, false, struct swim_alive, addr),
	F("Incarnation", SWIM_MP_U32, false, struct swim_alive, incarnation),
	F("Meta", SWIM_MP_BYTES, false, struct swim_alive, meta),
	F("Node", SWIM_MP_STR, false, struct swim_alive, node),
	F("Port", SWIM_MP_U16, false, struct swim_alive, port),
	F("Vsn", SWIM_MP_VSN, false, struct swim_alive, vsn),
};

static const struct swim_mp_field swim_err_f[] = {
	F("Error", SWIM_MP_STR, false, struct swim_err, error),
};

static const struct swim_mp_field swim_pp_header_f[] = {
	F("Join", SWIM_MP_BOOL, false, struct swim_push_pull_header, join),
	F("Nodes", SWIM_MP_LEN, false, struct swim_push_pull_header,
	  nb_nodes),
	F("UserStateLen", SWIM_MP_LEN, false, struct swim_push_pull_header,
	  user_state_len),
};

static const struct swim_mp_field swim_push_node_f[] = {
	F("Addr", SWIM_MP_BYTES, false, struct swim_push_node, addr),
	F("Incarnation", SWIM_MP_U32, false, struct swim_push_node,
	  incarnation),
	F("Meta", SWIM_MP_BYTES, false, struct swim_push_node, meta),
	F("Name", SWIM_MP_STR, false, struct swim_push_node, name),
	F("Port", SWIM_MP_U16, false, struct swim_push_node, port),
	F("State", SWIM_MP_STATUS, false, struct swim_push_node, state),
	F("Vsn", SWIM_MP_VSN, false, struct swim_push_node, vsn),
};

/* memberlist's compress struct; Algo 0 is LZW, the only one defined. */
struct swim_compress {
	uint32_t algo;		/* 0 = LZW */
	struct swim_str buf;	/* compressed bytes */
};

static const struct swim_mp_field swim_compress_f[] = {
	F("Algo", SWIM_MP_U32, false, struct swim_compress, algo),
	F("Buf", SWIM_MP_BYTES, false, struct swim_compress, buf),
};

#undef F

/** Hostile-input caps of a push/pull (memberlist's maxPushStateBytes). */
enum {
	SWIM_PP_NODES_MAX = 4000000,
	SWIM_PP_USER_STATE_MAX = 20 * 1024 * 1024,
};

/* Header, then the body's type byte: 5 bytes of CRC wrapper. */
enum { SWIM_CRC_HDR = 5 };

static const char *const swim_wire_err_str[-SWIM_WIRE_E_COUNT] = {
	[0] = "ok",
	[-SWIM_WIRE_E_TRUNCATED] = "truncated",
	[-SWIM_WIRE_E_TYPE] = "wrong msgpack type",
	[-SWIM_WIRE_E_UNKNOWN_MSG] = "unknown message type",
	[-SWIM_WIRE_E_RANGE] = "integer out of range",
	[-SWIM_WIRE_E_LENGTH] = "bad length",
	[-SWIM_WIRE_E_CRC] = "crc mismatch",
	[-SWIM_WIRE_E_LZW] = "corrupt lzw stream",
	[-SWIM_WIRE_E_ALGO] = "unknown compression algorithm",
	[-SWIM_WIRE_E_NESTING] = "nested too deep",
	[-SWIM_WIRE_E_EMPTY] = "empty message",
	[-SWIM_WIRE_E_NOSPACE] = "no space",
	[-SWIM_WIRE_E_VSN] = "bad vsn",
	[-SWIM_WIRE_E_AGAIN] = "need more bytes",
};

const char *
swim_wire_strerror(int err)
{
	if (err > 0 || err <= SWIM_WIRE_E_COUNT)
		return "unknown error";
	return swim_wire_err_str[-err];
}

/* The field table of a map-bodied message type, or NULL. */
static const struct swim_mp_field *
swim_wire_fields(enum swim_msg_type type, unsigned *nb)
{
	switch (type) {
	case SWIM_MSG_PING:
		*nb = SWIM_ARRAY_LEN(swim_ping_f);
		return swim_ping_f;
	case SWIM_MSG_INDIRECT_PING:
		*nb = SWIM_ARRAY_LEN(swim_indirect_ping_f);
		return swim_indirect_ping_f;
	case SWIM_MSG_ACK:
		*nb = SWIM_ARRAY_LEN(swim_ack_f);
		return swim_ack_f;
	case SWIM_MSG_NACK:
		*nb = SWIM_ARRAY_LEN(swim_nack_f);
		return swim_nack_f;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		*nb = SWIM_ARRAY_LEN(swim_accuse_f);
		return swim_accuse_f;
	case SWIM_MSG_ALIVE:
		*nb = SWIM_ARRAY_LEN(swim_alive_f);
		return swim_alive_f;
	case SWIM_MSG_ERR:
		*nb = SWIM_ARRAY_LEN(swim_err_f);
		return swim_err_f;
	case SWIM_MSG_PUSH_PULL:
	case SWIM_MSG_COMPOUND:
	case SWIM_MSG_USER:
	case SWIM_MSG_COMPRESS:
	case SWIM_MSG_ENCRYPT:
	case SWIM_MSG_HAS_CRC:
	case SWIM_MSG_HAS_LABEL:
		return NULL;
	}
	return NULL;
}

int
swim_wire_decode_msg(const uint8_t *buf, size_t len, struct swim_msg *msg)
{
	const struct swim_mp_field *f;
	const uint8_t *pos;
	unsigned nb_f;

	memset(msg, 0, sizeof(*msg));
	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	msg->type = (enum swim_msg_type)buf[0];
	if (buf[0] == SWIM_MSG_USER) {
		/* On UDP a user message is raw bytes to the end of the part. */
		msg->user.data.ptr = buf + 1;
		msg->user.data.len = (uint32_t)(len - 1);
		return SWIM_WIRE_OK;
	}
	f = swim_wire_fields(msg->type, &nb_f);
	if (f == NULL)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	pos = buf + 1;
	/* Trailing bytes are ignored, as Go's decoder reads one value. */
	return swim_mp_decode_struct(&pos, buf + len, SWIM_MP_MEMBERLIST, f,
				     nb_f, &msg->ping);
}

int
swim_wire_encode_msg(const struct swim_msg *msg, uint8_t *out, size_t cap)
{
	const struct swim_mp_field *f;
	struct swim_mp_w w;
	unsigned nb_f;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, (uint8_t)msg->type);
	if (msg->type == SWIM_MSG_USER) {
		if (msg->user.data.len > 0)
			swim_mp_put_raw(&w, msg->user.data.ptr,
					msg->user.data.len);
		return swim_mp_w_result(&w);
	}
	f = swim_wire_fields(msg->type, &nb_f);
	if (f == NULL)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	/* A short Vsn panics memberlist 0.2.2: never send one. */
	if (msg->type == SWIM_MSG_ALIVE && !swim_vsn_len_ok(msg->alive.vsn.len))
		return SWIM_WIRE_E_VSN;
	swim_mp_encode_struct(&w, f, nb_f, &msg->ping);
	return swim_mp_w_result(&w);
}

size_t
swim_wire_compound_len(unsigned nb, size_t body_len)
{
	return 2 + 2 * (size_t)nb + body_len;
}

int
swim_wire_encode_compound(const struct swim_str *parts, unsigned nb,
			  uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	if (nb == 0 || nb > UINT8_MAX)
		return SWIM_WIRE_E_LENGTH;
	for (unsigned i = 0; i < nb; i++) {
		/* memberlist reads a part's first byte unchecked. */
		if (parts[i].len == 0 || parts[i].ptr == NULL)
			return SWIM_WIRE_E_EMPTY;
		if (parts[i].len > UINT16_MAX)
			return SWIM_WIRE_E_LENGTH;
	}
	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SWIM_MSG_COMPOUND);
	swim_mp_put_u8(&w, (uint8_t)nb);
	for (unsigned i = 0; i < nb; i++)
		swim_mp_put_be16(&w, (uint16_t)parts[i].len);
	for (unsigned i = 0; i < nb; i++)
		swim_mp_put_raw(&w, parts[i].ptr, parts[i].len);
	return swim_mp_w_result(&w);
}

int
swim_wire_encode_crc(const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	if (len > INT32_MAX - SWIM_CRC_HDR)
		return SWIM_WIRE_E_LENGTH;
	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SWIM_MSG_HAS_CRC);
	swim_mp_put_be32(&w, swim_crc32(buf, len));
	swim_mp_put_raw(&w, buf, len);
	return swim_mp_w_result(&w);
}

/* 09 82 a4"Algo" 00 a3"Buf": what precedes Buf's str header. */
static const uint8_t swim_compress_hdr[] = {
	SWIM_MSG_COMPRESS, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0x00,
	0xa3, 'B', 'u', 'f',
};

/* LZW buf into out + at with at most cap bytes. @retval length or < 0. */
static int
swim_wire_lzw_at(const uint8_t *buf, size_t len, uint8_t *out, size_t at,
		 size_t cap)
{
	return at > cap ? SWIM_WIRE_E_NOSPACE :
			  swim_lzw_compress(buf, len, out + at, cap - at);
}

/*
 * Buf's str header is 1, 3 or 5 bytes depending on the LZW length, known
 * only afterwards: compress behind a 3-byte header (the usual str16) and
 * slide; a fixstr result that only fits with its 1-byte header is retried.
 */
int
swim_wire_encode_compress(const uint8_t *buf, size_t len, uint8_t *out,
			  size_t cap)
{
	const size_t hdr = sizeof(swim_compress_hdr);
	size_t strl_len;
	uint8_t strl[5];
	int n;

	n = swim_wire_lzw_at(buf, len, out, hdr + 3, cap);
	if (n == SWIM_WIRE_E_NOSPACE) {
		n = swim_wire_lzw_at(buf, len, out, hdr + 1,
				     cap < hdr + 32 ? cap : hdr + 32);
		if (n < 0 || n >= 32)
			return SWIM_WIRE_E_NOSPACE;
		memcpy(out, swim_compress_hdr, hdr);
		out[hdr] = (uint8_t)(0xa0 | n);
		return (int)hdr + 1 + n;
	}
	if (n < 0)
		return n;
	strl_len = (size_t)(swim_mp_encode_strl(strl, (uint32_t)n) - strl);
	if (hdr + strl_len + (size_t)n > cap)
		return SWIM_WIRE_E_NOSPACE;
	memmove(out + hdr + strl_len, out + hdr + 3, (size_t)n);
	memcpy(out, swim_compress_hdr, hdr);
	memcpy(out + hdr, strl, strl_len);
	return (int)(hdr + strl_len + (size_t)n);
}

int
swim_wire_decode_compress(const uint8_t *buf, size_t len, uint8_t *out,
			  size_t cap)
{
	struct swim_compress c = { 0 };
	const uint8_t *pos = buf;
	int rc;

	rc = swim_mp_decode_struct(&pos, buf + len, SWIM_MP_MEMBERLIST,
				   swim_compress_f,
				   SWIM_ARRAY_LEN(swim_compress_f), &c);
	if (rc < 0)
		return rc;
	if (c.algo != 0)
		return SWIM_WIRE_E_ALGO;
	/* A nil Buf is an empty LZW stream: Go fails with unexpected EOF. */
	return swim_lzw_decompress(c.buf.ptr, c.buf.len, out, cap);
}

/*
 * A compound's part table. memberlist drops the whole compound when the
 * length table itself is cut; parts that run past the end are left for
 * the walker to stop at.
 */
struct swim_compound {
	const uint8_t *lens;	/* nb big-endian u16 lengths */
	const uint8_t *body;	/* first part */
	const uint8_t *end;	/* end of the compound */
	unsigned nb;		/* number of parts, 1..255 */
};

static int
swim_compound_open(const uint8_t *buf, size_t len, struct swim_compound *c)
{
	if (len < 2)
		return SWIM_WIRE_E_TRUNCATED;
	c->nb = buf[1];
	if (c->nb == 0)
		return SWIM_WIRE_E_EMPTY;
	if (len - 2 < 2 * (size_t)c->nb)
		return SWIM_WIRE_E_TRUNCATED;
	c->lens = buf + 2;
	c->body = buf + 2 + 2 * (size_t)c->nb;
	c->end = buf + len;
	return 0;
}

/* Part i's slice at *pos, advancing *pos. @retval 0 or TRUNCATED. */
static int
swim_compound_part(const struct swim_compound *c, unsigned i,
		   const uint8_t **pos, struct swim_str *part)
{
	size_t plen = ((size_t)c->lens[2 * i] << 8) | c->lens[2 * i + 1];

	if ((size_t)(c->end - *pos) < plen)
		return SWIM_WIRE_E_TRUNCATED;
	part->ptr = *pos;
	part->len = (uint32_t)plen;
	*pos += plen;
	return 0;
}

/* State of one decode_packet walk. */
struct swim_wire_walk {
	struct swim_wire_scratch *scratch;	/* LZW output, may be NULL */
	swim_wire_visit_f visit;		/* per-message callback */
	void *ctx;				/* its argument */
	int nb_visited;				/* messages visited so far */
	int first_err;				/* first part error, or 0 */
	int stop_rc;				/* visitor's non-zero return */
};

static void swim_wire_walk_buf(struct swim_wire_walk *w, const uint8_t *buf,
			       size_t len, unsigned depth);

static void
swim_wire_walk_err(struct swim_wire_walk *w, int err)
{
	if (w->first_err == 0)
		w->first_err = err;
}

static void
swim_wire_walk_compound(struct swim_wire_walk *w, const uint8_t *buf,
			size_t len, unsigned depth)
{
	struct swim_compound c;
	struct swim_str part;
	const uint8_t *pos;
	int rc = swim_compound_open(buf, len, &c);

	if (rc < 0) {
		swim_wire_walk_err(w, rc);
		return;
	}
	pos = c.body;
	for (unsigned i = 0; i < c.nb && w->stop_rc == 0; i++) {
		/* As memberlist: the parts before a cut one are handled. */
		if (swim_compound_part(&c, i, &pos, &part) < 0) {
			swim_wire_walk_err(w, SWIM_WIRE_E_TRUNCATED);
			return;
		}
		swim_wire_walk_buf(w, part.ptr, part.len, depth + 1);
	}
}

static void
swim_wire_walk_compress(struct swim_wire_walk *w, const uint8_t *buf,
			size_t len, unsigned depth)
{
	struct swim_wire_scratch *s = w->scratch;
	uint8_t *out;
	int n;

	if (s == NULL) {
		swim_wire_walk_err(w, SWIM_WIRE_E_NOSPACE);
		return;
	}
	out = s->buf + s->used;
	n = swim_wire_decode_compress(buf + 1, len - 1, out,
				      sizeof(s->buf) - s->used);
	if (n < 0) {
		/* Our scratch is bigger than any sane packet: a bomb. */
		swim_wire_walk_err(w, n == SWIM_WIRE_E_NOSPACE ?
					      SWIM_WIRE_E_LENGTH : n);
		return;
	}
	s->used += (size_t)n;
	swim_wire_walk_buf(w, out, (size_t)n, depth + 1);
}

/* Decode one message, compound or compress at any depth below the CRC. */
static void
swim_wire_walk_buf(struct swim_wire_walk *w, const uint8_t *buf, size_t len,
		   unsigned depth)
{
	struct swim_msg msg;
	int rc;

	if (len == 0) {
		swim_wire_walk_err(w, SWIM_WIRE_E_EMPTY);
		return;
	}
	if (buf[0] == SWIM_MSG_COMPOUND || buf[0] == SWIM_MSG_COMPRESS) {
		if (depth >= SWIM_WIRE_MAX_DEPTH)
			swim_wire_walk_err(w, SWIM_WIRE_E_NESTING);
		else if (buf[0] == SWIM_MSG_COMPOUND)
			swim_wire_walk_compound(w, buf, len, depth);
		else
			swim_wire_walk_compress(w, buf, len, depth);
		return;
	}
	rc = swim_wire_decode_msg(buf, len, &msg);
	if (rc < 0) {
		swim_wire_walk_err(w, rc);
		return;
	}
	w->nb_visited++;
	if (w->visit != NULL)
		w->stop_rc = w->visit(w->ctx, &msg);
}

/* Verify and strip the CRC wrapper if the packet has one. */
static int
swim_wire_strip_crc(const uint8_t **buf, size_t *len)
{
	const uint8_t *p = *buf;
	uint32_t crc;

	if (*len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (p[0] != SWIM_MSG_HAS_CRC)
		return 0;
	if (*len < SWIM_CRC_HDR)
		return SWIM_WIRE_E_TRUNCATED;
	crc = ((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
	      ((uint32_t)p[3] << 8) | p[4];
	if (crc != swim_crc32(p + SWIM_CRC_HDR, *len - SWIM_CRC_HDR))
		return SWIM_WIRE_E_CRC;
	*buf = p + SWIM_CRC_HDR;
	*len -= SWIM_CRC_HDR;
	return 0;
}

/*
 * Errors inside a compound are per part, as in memberlist, which handles
 * each part on its own and only logs the bad ones: a malformed, unknown or
 * cut part does not hide the good ones. So the result is the number of
 * messages visited when there is at least one, and the first error only
 * when nothing could be visited (a packet with no usable message is a drop
 * with a reason). A bad CRC drops the whole packet.
 */
int
swim_wire_decode_packet(const uint8_t *buf, size_t len,
			struct swim_wire_scratch *scratch,
			swim_wire_visit_f visit, void *ctx)
{
	struct swim_wire_walk w = {
		.scratch = scratch, .visit = visit, .ctx = ctx,
	};
	int rc = swim_wire_strip_crc(&buf, &len);

	if (rc < 0)
		return rc;
	if (scratch != NULL)
		scratch->used = 0;
	swim_wire_walk_buf(&w, buf, len, 0);
	if (w.stop_rc != 0)
		return w.stop_rc;
	if (w.nb_visited > 0)
		return w.nb_visited;
	return w.first_err != 0 ? w.first_err : SWIM_WIRE_E_EMPTY;
}

/* Whether a decoded ping is for us: memberlist ignores other names. */
static bool
swim_ping_is_for(const struct swim_ping *p, const char *name, size_t name_len)
{
	return p->node.len == 0 ||
	       (p->node.len == name_len &&
		memcmp(p->node.ptr, name, name_len) == 0);
}

static int swim_find_ping_in(const uint8_t *buf, size_t len, const char *name,
			     size_t name_len, struct swim_ping *ping,
			     unsigned depth);

/* Look only at parts whose first byte is ping or compound: no decode. */
static int
swim_find_ping_compound(const uint8_t *buf, size_t len, const char *name,
			size_t name_len, struct swim_ping *ping, unsigned depth)
{
	struct swim_compound c;
	struct swim_str part;
	const uint8_t *pos;
	int rc = swim_compound_open(buf, len, &c);
	int err = 0;

	if (rc < 0)
		return rc;
	pos = c.body;
	for (unsigned i = 0; i < c.nb; i++) {
		if (swim_compound_part(&c, i, &pos, &part) < 0)
			return err != 0 ? err : SWIM_WIRE_E_TRUNCATED;
		if (part.len == 0 || (part.ptr[0] != SWIM_MSG_PING &&
				      part.ptr[0] != SWIM_MSG_COMPOUND))
			continue;
		rc = swim_find_ping_in(part.ptr, part.len, name, name_len,
				       ping, depth + 1);
		if (rc > 0)
			return rc;
		if (rc < 0 && err == 0)
			err = rc;
	}
	return err;
}

static int
swim_find_ping_in(const uint8_t *buf, size_t len, const char *name,
		  size_t name_len, struct swim_ping *ping, unsigned depth)
{
	struct swim_msg msg;
	int rc;

	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (buf[0] == SWIM_MSG_COMPOUND) {
		if (depth >= SWIM_WIRE_MAX_DEPTH)
			return SWIM_WIRE_E_NESTING;
		return swim_find_ping_compound(buf, len, name, name_len, ping,
					       depth);
	}
	if (buf[0] != SWIM_MSG_PING)
		return 0;
	rc = swim_wire_decode_msg(buf, len, &msg);
	if (rc < 0)
		return rc;
	if (!swim_ping_is_for(&msg.ping, name, name_len))
		return 0;
	*ping = msg.ping;
	return 1;
}

int
swim_wire_find_ping(const uint8_t *buf, size_t len, const char *name,
		    size_t name_len, struct swim_ping *ping)
{
	int rc = swim_wire_strip_crc(&buf, &len);

	if (rc < 0)
		return rc;
	return swim_find_ping_in(buf, len, name, name_len, ping, 0);
}

/* --- push/pull streams --- */

int
swim_wire_encode_push_pull_header(const struct swim_push_pull_header *h,
				  uint8_t *out, size_t cap)
{
	return swim_mp_encode_msg(SWIM_MSG_PUSH_PULL, swim_pp_header_f,
				  SWIM_ARRAY_LEN(swim_pp_header_f), h, out, cap);
}

int
swim_wire_encode_push_node(const struct swim_push_node *n, uint8_t *out,
			   size_t cap)
{
	struct swim_mp_w w;

	if ((unsigned)n->state >= SWIM_STATUS_COUNT)
		return SWIM_WIRE_E_RANGE;
	if (!swim_vsn_len_ok(n->vsn.len))
		return SWIM_WIRE_E_VSN;
	swim_mp_w_create(&w, out, cap);
	swim_mp_encode_struct(&w, swim_push_node_f,
			      SWIM_ARRAY_LEN(swim_push_node_f), n);
	return swim_mp_w_result(&w);
}

/* A stream that stops inside a value just needs more bytes. */
static int
swim_wire_again(int rc)
{
	return rc == SWIM_WIRE_E_TRUNCATED ? SWIM_WIRE_E_AGAIN : rc;
}

/*
 * One pass over the node maps; visits only when visit != NULL, so that a
 * first pass can prove the stream complete before anything is visited
 * (the caller re-calls us as bytes arrive and must not see a node twice).
 */
static int
swim_wire_pp_nodes(const uint8_t **pos, const uint8_t *end, uint32_t nb,
		   swim_wire_node_visit_f visit, void *ctx)
{
	struct swim_push_node node;
	int rc;

	for (uint32_t i = 0; i < nb; i++) {
		memset(&node, 0, sizeof(node));
		rc = swim_mp_decode_struct(pos, end, SWIM_MP_MEMBERLIST,
					   swim_push_node_f,
					   SWIM_ARRAY_LEN(swim_push_node_f),
					   &node);
		if (rc < 0)
			return swim_wire_again(rc);
		if (visit != NULL) {
			rc = visit(ctx, &node);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/*
 * Cost: O(len) per call (the node maps are parsed twice once complete).
 * Callers should call again only when new bytes arrived.
 */
int
swim_wire_decode_push_pull(const uint8_t *buf, size_t len,
			   struct swim_push_pull_header *hdr,
			   swim_wire_node_visit_f visit_node, void *ctx,
			   struct swim_str *user_state)
{
	const uint8_t *end = buf + len;
	const uint8_t *pos = buf + 1;
	const uint8_t *nodes;
	int rc;

	memset(hdr, 0, sizeof(*hdr));
	if (len == 0)
		return SWIM_WIRE_E_AGAIN;
	if (buf[0] != SWIM_MSG_PUSH_PULL)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	rc = swim_mp_decode_struct(&pos, end, SWIM_MP_MEMBERLIST,
				   swim_pp_header_f,
				   SWIM_ARRAY_LEN(swim_pp_header_f), hdr);
	if (rc < 0)
		return swim_wire_again(rc);
	if (hdr->nb_nodes > SWIM_PP_NODES_MAX ||
	    hdr->user_state_len > SWIM_PP_USER_STATE_MAX)
		return SWIM_WIRE_E_LENGTH;
	nodes = pos;
	rc = swim_wire_pp_nodes(&pos, end, hdr->nb_nodes, NULL, NULL);
	if (rc < 0)
		return rc;
	if ((size_t)(end - pos) < hdr->user_state_len)
		return SWIM_WIRE_E_AGAIN;
	user_state->ptr = pos;
	user_state->len = hdr->user_state_len;
	pos += hdr->user_state_len;
	if (pos - buf > INT32_MAX)
		return SWIM_WIRE_E_LENGTH;
	if (visit_node != NULL) {
		rc = swim_wire_pp_nodes(&nodes, end, hdr->nb_nodes, visit_node,
					ctx);
		if (rc != 0)
			return rc;
	}
	return (int)(pos - buf);
}
