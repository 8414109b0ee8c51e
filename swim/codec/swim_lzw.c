/* SPDX-License-Identifier: MIT */
/*
 * LZW exactly as Go's compress/lzw with Order LSB and litWidth 8, which
 * memberlist uses for compressMsg (type 9): code 256 CLEAR, 257 EOF, codes
 * 9..12 bits wide packed LSB first, a CLEAR first, a CLEAR when the table
 * reaches 4095 codes, EOF last. The encoder reproduces Go's output byte for
 * byte (greedy longest match, same code numbering and width steps); the
 * decoder mirrors Go's reader and, like it, rejects a stream without EOF.
 *
 * Pure and bounded: tables live on the stack (about 32 KiB for the decoder,
 * 20 KiB for the encoder), nothing allocates, no read or write leaves the
 * caller's buffers.
 */
#include "swim_wire.h"

#include <string.h>

enum {
	SWIM_LZW_LIT_WIDTH = 8,
	SWIM_LZW_CLEAR = 1 << SWIM_LZW_LIT_WIDTH,	/* 256 */
	SWIM_LZW_EOF = SWIM_LZW_CLEAR + 1,		/* 257 */
	SWIM_LZW_MAX_CODE = (1 << 12) - 1,		/* 4095 */
	SWIM_LZW_NB_CODES = 1 << 12,
	SWIM_LZW_INVALID = UINT16_MAX,
};

/* LSB-first bit packer over a bounded output buffer. */
struct swim_lzw_bits {
	uint8_t *out;		/* output buffer */
	size_t cap;		/* its size */
	size_t o;		/* bytes written */
	uint32_t bits;		/* pending bits, LSB first */
	unsigned nb_bits;	/* how many of them */
	bool is_full;		/* out was too small */
};

static void
swim_lzw_put(struct swim_lzw_bits *b, uint32_t code, unsigned width)
{
	b->bits |= code << b->nb_bits;
	b->nb_bits += width;
	while (b->nb_bits >= 8) {
		if (b->o >= b->cap)
			b->is_full = true;
		else
			b->out[b->o++] = (uint8_t)b->bits;
		b->bits >>= 8;
		b->nb_bits -= 8;
	}
}

/* The encoder's dictionary as a trie: children of a code in a sibling list. */
struct swim_lzw_enc {
	uint16_t child[SWIM_LZW_NB_CODES];	/* first child, 0 = none */
	uint16_t sibling[SWIM_LZW_NB_CODES];	/* next child of the parent */
	uint8_t ch[SWIM_LZW_NB_CODES];		/* byte appended by this code */
	unsigned width;				/* current code width, 9..12 */
	uint32_t hi;				/* last assigned code */
	uint32_t overflow;			/* hi at which width grows */
};

static void
swim_lzw_enc_reset(struct swim_lzw_enc *e)
{
	memset(e->child, 0, SWIM_LZW_CLEAR * sizeof(e->child[0]));
	e->width = SWIM_LZW_LIT_WIDTH + 1;
	e->hi = SWIM_LZW_EOF;
	e->overflow = 1u << e->width;
}

/* Code for string(code)+byte, or 0 if the dictionary lacks it. */
static uint16_t
swim_lzw_enc_find(const struct swim_lzw_enc *e, uint16_t code, uint8_t byte)
{
	for (uint16_t c = e->child[code]; c != 0; c = e->sibling[c]) {
		if (e->ch[c] == byte)
			return c;
	}
	return 0;
}

/*
 * Go's incHi: step hi after a code went out, widen at powers of two, and
 * at 4095 send CLEAR and start over. @retval true if the table was reset.
 */
static bool
swim_lzw_enc_inc_hi(struct swim_lzw_enc *e, struct swim_lzw_bits *b)
{
	e->hi++;
	if (e->hi == e->overflow) {
		e->width++;
		e->overflow <<= 1;
	}
	if (e->hi == SWIM_LZW_MAX_CODE) {
		swim_lzw_put(b, SWIM_LZW_CLEAR, e->width);
		swim_lzw_enc_reset(e);
		return true;
	}
	return false;
}

int
swim_lzw_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct swim_lzw_bits b = { .out = out, .cap = cap };
	struct swim_lzw_enc e;
	uint16_t code, next;

	swim_lzw_enc_reset(&e);
	swim_lzw_put(&b, SWIM_LZW_CLEAR, e.width);
	if (len > 0) {
		code = in[0];
		for (size_t i = 1; i < len; i++) {
			next = swim_lzw_enc_find(&e, code, in[i]);
			if (next != 0) {
				code = next;
				continue;
			}
			swim_lzw_put(&b, code, e.width);
			if (b.is_full)	/* it cannot fit: stop here */
				return SWIM_WIRE_E_NOSPACE;
			if (!swim_lzw_enc_inc_hi(&e, &b)) {
				uint16_t hi = (uint16_t)e.hi;

				e.ch[hi] = in[i];
				e.child[hi] = 0;
				e.sibling[hi] = e.child[code];
				e.child[code] = hi;
			}
			code = in[i];
		}
		swim_lzw_put(&b, code, e.width);
		swim_lzw_enc_inc_hi(&e, &b);
	}
	swim_lzw_put(&b, SWIM_LZW_EOF, e.width);
	if (b.nb_bits > 0)
		swim_lzw_put(&b, 0, 8 - b.nb_bits);
	if (b.is_full || b.o > (size_t)INT32_MAX)
		return SWIM_WIRE_E_NOSPACE;
	return (int)b.o;
}

/*
 * The decoder's dictionary. Every entry's expansion already sits in the
 * output (the previous code's output plus the current one's first byte,
 * which are adjacent), so an entry is just a position and a length there:
 * no prefix chains to walk, hence no cycles for a hostile stream to build.
 */
struct swim_lzw_dec {
	uint32_t pos[SWIM_LZW_NB_CODES];	/* offset in out of expansion */
	uint32_t len[SWIM_LZW_NB_CODES];	/* its length */
	const uint8_t *in;			/* input cursor */
	const uint8_t *end;			/* input end */
	uint32_t bits;				/* pending input bits */
	unsigned nb_bits;			/* how many */
	unsigned width;				/* code width, 9..12 */
	uint32_t hi;				/* next code to assign */
	uint32_t overflow;			/* hi at which width grows */
	uint32_t last;				/* previous code or INVALID */
};

/* Read one code. @retval the code, or -1 when the input ran out. */
static int
swim_lzw_dec_read(struct swim_lzw_dec *d)
{
	uint32_t code;

	while (d->nb_bits < d->width) {
		if (d->in >= d->end)
			return -1;
		d->bits |= (uint32_t)*d->in++ << d->nb_bits;
		d->nb_bits += 8;
	}
	code = d->bits & ((1u << d->width) - 1);
	d->bits >>= d->width;
	d->nb_bits -= d->width;
	return (int)code;
}

static void
swim_lzw_dec_clear(struct swim_lzw_dec *d)
{
	d->width = SWIM_LZW_LIT_WIDTH + 1;
	d->hi = SWIM_LZW_EOF;
	d->overflow = 1u << d->width;
	d->last = SWIM_LZW_INVALID;
}

/*
 * Expand a non-literal code at out[o]. Forward byte copy: in the
 * code == hi case the source overlaps the destination, LZ77-style.
 * @retval bytes written or a negative swim_wire_err.
 */
static int
swim_lzw_dec_expand(const struct swim_lzw_dec *d, uint32_t code, uint8_t *out,
		    size_t o, size_t cap)
{
	uint32_t src, n;

	if (code < d->hi) {
		src = d->pos[code], n = d->len[code];
	} else if (code == d->hi && d->last != SWIM_LZW_INVALID) {
		src = d->pos[d->last], n = d->len[d->last] + 1;
	} else {
		return SWIM_WIRE_E_LZW;
	}
	if (cap - o < n)
		return SWIM_WIRE_E_NOSPACE;
	for (uint32_t i = 0; i < n; i++)
		out[o + i] = out[src + i];
	return (int)n;
}

/*
 * After code expanded to n bytes at out offset o: the new dictionary
 * entry (the last code's output plus one byte), then widen codes as Go's
 * compress/lzw does.
 */
static void
swim_lzw_dec_add(struct swim_lzw_dec *d, uint32_t code, size_t o, uint32_t n)
{
	/* New entry: the last code's output, which is adjacent. */
	if (d->last != SWIM_LZW_INVALID) {
		d->pos[d->hi] = d->pos[d->last];
		d->len[d->hi] = d->len[d->last] + 1;
	}
	/*
	 * Then remember where this code's output is, after the entry
	 * (code may equal last), so the next entry is adjacent.
	 */
	d->pos[code] = (uint32_t)o;
	d->len[code] = n;
	d->last = code;
	d->hi++;
	if (d->hi >= d->overflow) {
		if (d->hi > SWIM_LZW_MAX_CODE) {
			d->hi = SWIM_LZW_MAX_CODE;
		} else {
			d->width++;
			d->overflow <<= 1;
		}
	}
}

int
swim_lzw_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct swim_lzw_dec d;
	size_t o = 0;
	int code, n;

	/* Empty input has no EOF; and NULL + 0 is undefined, so no end. */
	if (len == 0)
		return SWIM_WIRE_E_LZW;
	d = (struct swim_lzw_dec){ .in = in, .end = in + len };
	if (cap > (size_t)INT32_MAX)
		cap = INT32_MAX;
	swim_lzw_dec_clear(&d);
	for (;;) {
		code = swim_lzw_dec_read(&d);
		if (code < 0)
			return SWIM_WIRE_E_LZW;	/* Go: unexpected EOF */
		if (code == SWIM_LZW_CLEAR) {
			swim_lzw_dec_clear(&d);
			continue;
		}
		if (code == SWIM_LZW_EOF)
			return (int)o;
		if (code < SWIM_LZW_CLEAR) {
			if (o >= cap)
				return SWIM_WIRE_E_NOSPACE;
			out[o] = (uint8_t)code;
			n = 1;
		} else {
			n = swim_lzw_dec_expand(&d, (uint32_t)code, out, o, cap);
			if (n < 0)
				return n;
		}
		swim_lzw_dec_add(&d, (uint32_t)code, o, (uint32_t)n);
		o += (size_t)n;
	}
}
