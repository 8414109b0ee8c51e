/* SPDX-License-Identifier: MIT */
/*
 * Packet generator and mutator for the fast path's differential test
 * (fp_gen.h). Everything is bounded by the caller's cap: writes past it
 * are dropped and the packet comes out shorter, never overflowing.
 */
#include "fp_gen.h"

#include <stdbool.h>
#include <string.h>

#include "swim_wire.h"

void
fpg_seed(struct fpg_rng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (r->s == 0)
		r->s = 1;
}

uint64_t
fpg_next(struct fpg_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint32_t
fpg_below(struct fpg_rng *r, uint32_t n)
{
	return (uint32_t)((fpg_next(r) >> 32) % n);
}

uint32_t
fpg_seq(struct fpg_rng *r)
{
	static const uint32_t edges[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff,
		0x80000000u, 0xfffffffeu, 0xffffffffu,
	};

	switch (fpg_below(r, 5)) {
	case 0:
		return fpg_below(r, 0x80);
	case 1:
		return 0x80 + fpg_below(r, 0x80);
	case 2:
		return 0x100 + fpg_below(r, 0xff00);
	case 3:
		return 0x10000 + fpg_below(r, 0xffff0000u);
	default:
		return edges[fpg_below(r, sizeof(edges) / sizeof(edges[0]))];
	}
}

/* --- a bounded byte writer --- */

struct fpg_w {
	uint8_t *p;
	uint8_t *end;
};

static void
fpg_put(struct fpg_w *w, const void *data, size_t len)
{
	if ((size_t)(w->end - w->p) < len) {
		w->p = w->end;	/* cut: the packet ends here */
		return;
	}
	memcpy(w->p, data, len);
	w->p += len;
}

static void
fpg_u8(struct fpg_w *w, uint8_t b)
{
	fpg_put(w, &b, 1);
}

/* A tag and a big-endian value of n (0, 1, 2, 4 or 8) bytes. */
static void
fpg_tagged(struct fpg_w *w, uint8_t tag, uint64_t v, unsigned n)
{
	fpg_u8(w, tag);
	for (unsigned i = n; i > 0; i--)
		fpg_u8(w, (uint8_t)(v >> (8 * (i - 1))));
}

/* --- legal-but-unusual msgpack --- */

/* A str header for len bytes: the smallest or any wider one; bin when
 * allowed (a Go []byte, or on purpose a string: the decoder's call). */
static void
fpg_str_hdr(struct fpg_rng *r, struct fpg_w *w, size_t len, bool odd)
{
	unsigned c = odd ? fpg_below(r, 8) : 0;

	if (c == 0 && len <= 31)
		fpg_u8(w, (uint8_t)(0xa0 | len));
	else if (c <= 1 && len <= 0xff)
		fpg_tagged(w, 0xd9, len, 1);
	else if (c <= 3 && len <= 0xffff)
		fpg_tagged(w, 0xda, len, 2);
	else if (c == 4)
		fpg_tagged(w, 0xdb, len, 4);
	else if (c == 5 && len <= 0xff)
		fpg_tagged(w, 0xc4, len, 1);
	else if (c == 6 && len <= 0xffff)
		fpg_tagged(w, 0xc5, len, 2);
	else
		fpg_tagged(w, 0xda, len, 2);
}

static void
fpg_str(struct fpg_rng *r, struct fpg_w *w, const struct swim_str *s,
	bool odd)
{
	if (s->ptr == NULL || (odd && s->len == 0 && fpg_below(r, 4) == 0)) {
		fpg_u8(w, 0xc0);	/* nil: the zero value */
		return;
	}
	fpg_str_hdr(r, w, s->len, odd);
	fpg_put(w, s->ptr, s->len);
}

/* A value out of a uint16/uint32 field's range: wider, negative. */
static void
fpg_bad_uint(struct fpg_rng *r, struct fpg_w *w)
{
	static const uint8_t bad[][9] = {
		{ 0xce, 0x00, 0x01, 0x00, 0x00 },	/* 0x10000 */
		{ 0xce, 0xff, 0xff, 0xff, 0xff },
		{ 0xcf, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0 },
		{ 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0xd0, 0x80 },
		{ 0xff },
		{ 0xca, 0x3f, 0x80, 0x00, 0x00 },	/* float32 1.0 */
	};
	static const uint8_t len[] = { 5, 5, 9, 9, 2, 1, 5 };
	unsigned i = fpg_below(r, sizeof(len));

	fpg_put(w, bad[i], len[i]);
}

/* An unsigned value: the smallest encoding, a wider or a signed one;
 * when odd, now and then one out of range. */
static void
fpg_uint(struct fpg_rng *r, struct fpg_w *w, uint32_t v, bool odd)
{
	if (odd && fpg_below(r, 8) == 0) {
		fpg_bad_uint(r, w);
		return;
	}
	switch (odd ? fpg_below(r, 6) : 0) {
	case 1:
		fpg_tagged(w, 0xce, v, 4);
		return;
	case 2:
		fpg_tagged(w, 0xcf, v, 8);
		return;
	case 3:
		fpg_tagged(w, 0xd3, v, 8);
		return;
	case 4:
		if (v <= 0x7fff) {
			fpg_tagged(w, 0xd1, v, 2);
			return;
		}
		break;
	case 5:
		if (v <= 0xffff) {
			fpg_tagged(w, 0xcd, v, 2);
			return;
		}
		break;
	default:
		break;
	}
	if (v <= 0x7f)
		fpg_u8(w, (uint8_t)v);
	else if (v <= 0xff)
		fpg_tagged(w, 0xcc, v, 1);
	else if (v <= 0xffff)
		fpg_tagged(w, 0xcd, v, 2);
	else
		fpg_tagged(w, 0xce, v, 4);
}

/* --- pings --- */

enum { FPG_K_NODE, FPG_K_SEQ, FPG_K_ADDR, FPG_K_SNODE, FPG_K_PORT,
       FPG_K_UNKNOWN, FPG_K_COUNT };

static const char *const fpg_key[FPG_K_COUNT] = {
	"Node", "SeqNo", "SourceAddr", "SourceNode", "SourcePort", "Foo",
};

static void
fpg_value(struct fpg_rng *r, struct fpg_w *w, unsigned k,
	  const struct swim_ping *p)
{
	static const uint8_t junk[][4] = {
		{ 0xc0 }, { 0x90 }, { 0x80 }, { 0xa1, 'x' }, { 0x92, 1, 2 },
		{ 0xc3 }, { 0xff },
	};

	/* one odd value among canonical ones reaches the fast layouts */
	bool odd = fpg_below(r, 3) == 0;

	switch (k) {
	case FPG_K_NODE:
		fpg_str(r, w, &p->node, odd);
		break;
	case FPG_K_SEQ:
		fpg_uint(r, w, p->seq_no, odd);
		break;
	case FPG_K_ADDR:
		fpg_str(r, w, &p->source_addr, odd);
		break;
	case FPG_K_SNODE:
		fpg_str(r, w, &p->source_node, odd);
		break;
	case FPG_K_PORT:
		fpg_uint(r, w, p->source_port, odd);
		break;
	default: {
		unsigned j = fpg_below(r, sizeof(junk) / sizeof(junk[0]));

		fpg_put(w, junk[j], j == 3 ? 2 : j == 4 ? 3 : 1);
		break;
	}
	}
}

/* The keys of an unusual ping, in order. @retval how many */
static unsigned
fpg_keys(struct fpg_rng *r, const struct swim_ping *p, unsigned *keys)
{
	unsigned n = 0;

	if (fpg_below(r, 2) == 0) {	/* go-msgpack's keys, odd values */
		keys[n++] = FPG_K_NODE;
		keys[n++] = FPG_K_SEQ;
		if (p->source_addr.ptr != NULL)
			keys[n++] = FPG_K_ADDR;
		if (p->source_node.ptr != NULL)
			keys[n++] = FPG_K_SNODE;
		if (p->source_port != 0)
			keys[n++] = FPG_K_PORT;
		return n;
	}
	if (fpg_below(r, 10) != 0)
		keys[n++] = FPG_K_NODE;
	if (fpg_below(r, 20) != 0)
		keys[n++] = FPG_K_SEQ;
	if (p->source_addr.ptr != NULL)
		keys[n++] = FPG_K_ADDR;
	if (p->source_node.ptr != NULL)
		keys[n++] = FPG_K_SNODE;
	if (p->source_port != 0 || fpg_below(r, 10) == 0)
		keys[n++] = FPG_K_PORT;
	if (fpg_below(r, 6) == 0)
		keys[n++] = FPG_K_UNKNOWN;
	if (n > 0 && fpg_below(r, 12) == 0) {
		keys[n] = keys[fpg_below(r, n)];	/* repeated */
		n++;
	}
	for (unsigned i = n; fpg_below(r, 2) == 0 && i > 1; i--) {
		unsigned j = fpg_below(r, i), t = keys[i - 1];

		keys[i - 1] = keys[j];
		keys[j] = t;
	}
	return n;
}

/* A ping as go-msgpack would never write it, but may be decoded. */
static size_t
fpg_ping_odd(struct fpg_rng *r, const struct swim_ping *p, uint8_t *out,
	     size_t cap)
{
	struct fpg_w w = { out, out + cap };
	unsigned keys[FPG_K_COUNT + 1];
	unsigned n = fpg_keys(r, p, keys);
	unsigned c = fpg_below(r, 10);

	fpg_u8(&w, SWIM_MSG_PING);
	if (c < 7)
		fpg_u8(&w, (uint8_t)(0x80 | n));
	else
		fpg_tagged(&w, c < 9 ? 0xde : 0xdf, n, c < 9 ? 2 : 4);
	for (unsigned i = 0; i < n; i++) {
		size_t klen = strlen(fpg_key[keys[i]]);

		fpg_u8(&w, (uint8_t)(0xa0 | klen));
		fpg_put(&w, fpg_key[keys[i]], klen);
		fpg_value(r, &w, keys[i], p);
	}
	return (size_t)(w.p - out);
}

static void
fpg_ping_fields(struct fpg_rng *r, const char *name, struct swim_ping *p)
{
	static const uint8_t addr[16] = { 127, 0, 0, 1, 9, 8, 7, 6,
					  5, 4, 3, 2, 1, 0, 0xfe, 0x80 };
	static const uint16_t ports[] = { 1, 0x7f, 0x80, 0xff, 0x100, 7946,
					  0xffff };
	static const char *const others[] = { "other", "bb", "b-",
					      "node-2", "a-name-of-16-ch!" };
	unsigned c = fpg_below(r, 20);

	memset(p, 0, sizeof(*p));
	p->node.ptr = (const uint8_t *)(c < 15 ? name : c < 17 ? "" :
					others[fpg_below(r, 5)]);
	p->node.len = (uint32_t)strlen((const char *)p->node.ptr);
	p->seq_no = fpg_seq(r);
	c = fpg_below(r, 20);
	if (c >= 8) {
		p->source_addr.ptr = addr;
		p->source_addr.len = c < 16 ? 4 : c < 19 ? 16 : 5;
	}
	if (fpg_below(r, 3) != 0) {
		p->source_node.ptr = (const uint8_t *)"peer-node";
		p->source_node.len = 9;
	}
	if (fpg_below(r, 5) >= 2)
		p->source_port = fpg_below(r, 3) == 0 ?
				 (uint16_t)(1 + fpg_below(r, 0xffff)) :
				 ports[fpg_below(r, 7)];
}

/* One ping message. @retval bytes written */
static size_t
fpg_ping(struct fpg_rng *r, const char *name, uint8_t *out, size_t cap)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	int n;

	fpg_ping_fields(r, name, &m.ping);
	if (fpg_below(r, 10) < 3)
		return fpg_ping_odd(r, &m.ping, out, cap);
	n = swim_wire_encode_msg(&m, out, cap);
	return n > 0 ? (size_t)n : 0;
}

/* Some other message a packet may carry next to a ping. */
static size_t
fpg_other(struct fpg_rng *r, uint8_t *out, size_t cap)
{
	static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 4 };
	static const uint8_t ip[4] = { 10, 0, 0, 2 };
	struct swim_msg m;
	int n;

	memset(&m, 0, sizeof(m));
	switch (fpg_below(r, 6)) {
	case 0:
		m.type = SWIM_MSG_ALIVE;
		m.alive = (struct swim_alive){ 7, { (const uint8_t *)"n1", 2 },
			{ ip, 4 }, 7946, { NULL, 0 }, { vsn, 6 } };
		break;
	case 1:
		m.type = fpg_below(r, 2) ? SWIM_MSG_SUSPECT : SWIM_MSG_DEAD;
		m.suspect = (struct swim_accuse){ 3,
			{ (const uint8_t *)"n2", 2 },
			{ (const uint8_t *)"n3", 2 } };
		break;
	case 2:
		m.type = SWIM_MSG_ACK;
		m.ack.seq_no = fpg_seq(r);
		break;
	case 3:
		m.type = SWIM_MSG_INDIRECT_PING;
		m.indirect_ping.seq_no = fpg_seq(r);
		m.indirect_ping.target = (struct swim_str){ ip, 4 };
		m.indirect_ping.node = (struct swim_str){
			(const uint8_t *)"b", 1 };
		break;
	case 4:
		m.type = SWIM_MSG_NACK;
		m.nack.seq_no = fpg_seq(r);
		break;
	default:
		m.type = SWIM_MSG_USER;
		m.user.data = (struct swim_str){ ip, 4 };
		break;
	}
	n = swim_wire_encode_msg(&m, out, cap);
	return n > 0 ? (size_t)n : 0;
}

static size_t fpg_compound(struct fpg_rng *r, const char *name, uint8_t *out,
			   size_t cap, unsigned depth);

/* One compound part: mostly pings, some other messages, a compound. */
static size_t
fpg_part(struct fpg_rng *r, const char *name, uint8_t *out, size_t cap,
	 unsigned depth)
{
	unsigned c = fpg_below(r, 10);

	if (c < 5)
		return fpg_ping(r, name, out, cap);
	if (c < 9 || depth >= 2)
		return fpg_other(r, out, cap);
	return fpg_compound(r, name, out, cap, depth + 1);
}

static size_t
fpg_compound(struct fpg_rng *r, const char *name, uint8_t *out, size_t cap,
	     unsigned depth)
{
	uint8_t part[1024];
	unsigned nb = 1 + fpg_below(r, fpg_below(r, 4) == 0 ? 12 : 4);
	/* now and then up to 255 parts, mostly tiny user messages */
	bool many = depth == 0 && fpg_below(r, 30) == 0;
	size_t off;

	if (many)
		nb = 100 + fpg_below(r, 156);
	off = 2 + 2 * (size_t)nb;
	if (cap < off)
		return 0;
	out[0] = SWIM_MSG_COMPOUND;
	out[1] = (uint8_t)nb;
	for (unsigned i = 0; i < nb; i++) {
		size_t n = many && fpg_below(r, 12) != 0 ? 2 :
			   fpg_part(r, name, part, sizeof(part), depth);

		if (n == 2 && many) {
			part[0] = SWIM_MSG_USER;
			part[1] = (uint8_t)i;
		}

		if (n > cap - off)
			n = 0;
		memcpy(out + off, part, n);
		out[2 + 2 * i] = (uint8_t)(n >> 8);
		out[3 + 2 * i] = (uint8_t)n;
		off += n;
	}
	return off;
}

/* Wrap the len bytes in buf: CRC, compression or a label header. */
static size_t
fpg_wrap(struct fpg_rng *r, uint8_t *buf, size_t len, size_t cap)
{
	static uint8_t tmp[FPG_PKT_MAX];
	unsigned c = fpg_below(r, 100);
	int n = 0;

	if (c >= 33 || len > sizeof(tmp))
		return len;
	memcpy(tmp, buf, len);
	if (c < 25)
		n = swim_wire_encode_crc(tmp, len, buf, cap);
	else if (c < 29)
		n = swim_wire_encode_compress(tmp, len, buf, cap);
	else if (len + 7 <= cap) {
		/* memberlist's label header: 244, length, label */
		buf[0] = SWIM_MSG_HAS_LABEL;
		buf[1] = 5;
		memcpy(buf + 2, "label", 5);
		memcpy(buf + 7, tmp, len);
		n = (int)len + 7;
	}
	if (n <= 0) {
		memcpy(buf, tmp, len);
		return len;
	}
	return (size_t)n;
}

size_t
fpg_packet(struct fpg_rng *r, const char *name, uint8_t *out, size_t cap)
{
	unsigned c = fpg_below(r, 20);
	size_t len;

	if (c < 9)
		len = fpg_ping(r, name, out, cap);
	else if (c < 19)
		len = fpg_compound(r, name, out, cap, 0);
	else
		len = fpg_other(r, out, cap);
	return fpg_wrap(r, out, len, cap);
}

/* --- mutation --- */

static const uint8_t fpg_vals[] = {
	0x00, 0x01, 0x05, 0x07, 0x0c, 0x7f, 0x80, 0x81, 0x85, 0x8f, 0x90,
	0xa0, 0xa1, 0xa4, 0xa5, 0xaa, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xcc,
	0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd9, 0xda, 0xdb, 0xde,
	0xdf, 0xe0, 0xf4, 0xff, 'N', 'S', 'o',
};

static uint8_t
fpg_val(struct fpg_rng *r)
{
	if (fpg_below(r, 3) == 0)
		return (uint8_t)fpg_next(r);
	return fpg_vals[fpg_below(r, sizeof(fpg_vals))];
}

/* One edit. @retval new len */
static size_t
fpg_edit(struct fpg_rng *r, uint8_t *buf, size_t len, size_t cap)
{
	size_t at = len != 0 ? fpg_below(r, (uint32_t)len) : 0;
	size_t n;

	switch (fpg_below(r, 8)) {
	case 0:
		if (len != 0)
			buf[at] ^= (uint8_t)(1u << fpg_below(r, 8));
		return len;
	case 1:
	case 2:
		if (len != 0)
			buf[at] = fpg_val(r);
		return len;
	case 3:
		if (len >= cap)
			return len;
		memmove(buf + at + 1, buf + at, len - at);
		buf[at] = fpg_val(r);
		return len + 1;
	case 4:
		if (len != 0)
			memmove(buf + at, buf + at + 1, len - at - 1);
		return len != 0 ? len - 1 : 0;
	case 5:
		return at;	/* cut */
	case 6:
		n = 1 + fpg_below(r, 8);
		for (; n > 0 && len < cap; n--)
			buf[len++] = fpg_val(r);
		return len;
	default:
		if (len >= 2) {	/* a word-sized value, big-endian */
			at = fpg_below(r, (uint32_t)len - 1);
			buf[at] = fpg_val(r);
			buf[at + 1] = fpg_val(r);
		}
		return len;
	}
}

size_t
fpg_mutate(struct fpg_rng *r, uint8_t *buf, size_t len, size_t cap)
{
	unsigned n = 1 + fpg_below(r, 4);

	for (unsigned i = 0; i < n; i++)
		len = fpg_edit(r, buf, len, cap);
	return len;
}

void
fpg_fix_crc(uint8_t *buf, size_t len)
{
	uint32_t crc;

	if (len < 5 || buf[0] != SWIM_MSG_HAS_CRC)
		return;
	crc = swim_crc32(buf + 5, len - 5);
	buf[1] = (uint8_t)(crc >> 24);
	buf[2] = (uint8_t)(crc >> 16);
	buf[3] = (uint8_t)(crc >> 8);
	buf[4] = (uint8_t)crc;
}
