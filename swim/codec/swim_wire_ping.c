/* SPDX-License-Identifier: MIT */
/*
 * The ping recognizer of the dataplane's fast path (swim_wire_ping.h).
 *
 * It reads only what go-msgpack writes for a ping (wire.md 5.1):
 *
 *   00 8N  a4"Node" <str>  a5"SeqNo" <uint>  aa"SourceAddr" <str>
 *          aa"SourceNode" <str>  aa"SourcePort" <uint>   (any order)
 *
 * with fixstr keys, each at most once, fixstr/str16 strings and
 * fixint/uint8/16/32 integers. On those it gives exactly what the general
 * decoder gives (same slices, same values, zeros for absent keys); on
 * anything else (map16, nil, bin, signed ints, unknown or repeated keys,
 * the CRC wrapper, nested compounds, any bound it cannot meet) it says
 * "general" and swim_wire_find_ping decides, errors included. Every read
 * is checked against the end of the part first.
 */
#include "swim_wire_ping.h"

#include <stdbool.h>
#include <string.h>

/* What the scan of one ping part concluded. */
enum swim_ping_scan {
	SWIM_PING_OTHER = 0,	/* a well-formed ping for another node */
	SWIM_PING_OURS = 1,	/* a ping for us: *ping is filled */
	SWIM_PING_GENERAL = 2,	/* not a layout we read: ask the decoder */
};

/* The ping's keys; bit positions in the scan's "seen" mask. */
enum swim_ping_key {
	SWIM_PK_NODE,
	SWIM_PK_SEQ_NO,
	SWIM_PK_SOURCE_ADDR,
	SWIM_PK_SOURCE_NODE,
	SWIM_PK_SOURCE_PORT,
	SWIM_PK_NONE,
};

/* 4 bytes as one native word: the compiler folds literals to constants. */
static inline uint32_t
swim_ping_ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
swim_ping_ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Whether the n (5..12) bytes of lit start at p (n bytes readable): two
 * overlapping word compares, against constants once inlined. */
static inline bool
swim_ping_lit(const uint8_t *p, const char *lit, size_t n)
{
	if (n <= 8)
		return swim_ping_ld32(p) == swim_ping_ld32(lit) &&
		       swim_ping_ld32(p + n - 4) == swim_ping_ld32(lit + n - 4);
	return swim_ping_ld64(p) == swim_ping_ld64(lit) &&
	       swim_ping_ld32(p + n - 4) == swim_ping_ld32(lit + n - 4);
}

/* Whether the n bytes at a and b are equal (both hold n bytes): up to
 * 16 bytes with two overlapping word compares and no call. */
static inline bool
swim_ping_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n >= 8 && n <= 16)
		return swim_ping_ld64(a) == swim_ping_ld64(b) &&
		       swim_ping_ld64(a + n - 8) == swim_ping_ld64(b + n - 8);
	if (n >= 4 && n < 8)
		return swim_ping_ld32(a) == swim_ping_ld32(b) &&
		       swim_ping_ld32(a + n - 4) == swim_ping_ld32(b + n - 4);
	return memcmp(a, b, n) == 0;
}

/* Which key the klen bytes at k spell: a word compare or three. */
static inline enum swim_ping_key
swim_ping_key(const uint8_t *k, unsigned klen)
{
	uint32_t tail;

	if (klen == 4)
		return swim_ping_ld32(k) == swim_ping_ld32("Node") ?
		       SWIM_PK_NODE : SWIM_PK_NONE;
	if (klen == 5)
		return swim_ping_ld32(k) == swim_ping_ld32("SeqN") &&
		       k[4] == 'o' ? SWIM_PK_SEQ_NO : SWIM_PK_NONE;
	if (klen != 10 || swim_ping_ld32(k) != swim_ping_ld32("Sour") ||
	    swim_ping_ld32(k + 2) != swim_ping_ld32("urce"))
		return SWIM_PK_NONE;
	tail = swim_ping_ld32(k + 6);
	if (tail == swim_ping_ld32("Addr"))
		return SWIM_PK_SOURCE_ADDR;
	if (tail == swim_ping_ld32("Node"))
		return SWIM_PK_SOURCE_NODE;
	return tail == swim_ping_ld32("Port") ? SWIM_PK_SOURCE_PORT :
						SWIM_PK_NONE;
}

/* A fixstr or str16 value at *pos (< end). @retval false otherwise. */
static inline bool
swim_ping_str(const uint8_t **pos, const uint8_t *end, struct swim_str *s)
{
	const uint8_t *p = *pos;
	size_t n;

	if ((p[0] & 0xe0) == 0xa0) {
		n = p[0] & 0x1f;
		p++;
	} else if (p[0] == 0xda && end - p >= 3) {
		n = (size_t)p[1] << 8 | p[2];
		p += 3;
	} else {
		return false;
	}
	if ((size_t)(end - p) < n)
		return false;
	s->ptr = p;
	s->len = (uint32_t)n;
	*pos = p + n;
	return true;
}

/* A positive fixint, uint8, uint16 or, if max_tag is 0xce, uint32 at
 * *pos (< end). @retval false for any other encoding or a short read. */
static inline bool
swim_ping_uint(const uint8_t **pos, const uint8_t *end, uint8_t max_tag,
	       uint32_t *v)
{
	const uint8_t *p = *pos;
	size_t avail = (size_t)(end - p);

	if (p[0] <= 0x7f) {
		*v = p[0];
		*pos = p + 1;
		return true;
	}
	if (p[0] == 0xcc && avail >= 2) {
		*v = p[1];
		*pos = p + 2;
		return true;
	}
	if (p[0] == 0xcd && avail >= 3) {
		*v = (uint32_t)p[1] << 8 | p[2];
		*pos = p + 3;
		return true;
	}
	if (p[0] == 0xce && max_tag >= 0xce && avail >= 5) {
		*v = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 8 | p[4];
		*pos = p + 5;
		return true;
	}
	return false;
}

/* The value of key k at *pos (< end) into m. @retval false: general. */
static inline bool
swim_ping_value(const uint8_t **pos, const uint8_t *end,
		enum swim_ping_key k, struct swim_ping *m)
{
	uint32_t v;

	switch (k) {
	case SWIM_PK_NODE:
		return swim_ping_str(pos, end, &m->node);
	case SWIM_PK_SEQ_NO:
		return swim_ping_uint(pos, end, 0xce, &m->seq_no);
	case SWIM_PK_SOURCE_ADDR:
		return swim_ping_str(pos, end, &m->source_addr);
	case SWIM_PK_SOURCE_NODE:
		return swim_ping_str(pos, end, &m->source_node);
	case SWIM_PK_SOURCE_PORT:
		if (!swim_ping_uint(pos, end, 0xcd, &v))
			return false;
		m->source_port = (uint16_t)v;
		return true;
	case SWIM_PK_NONE:
		break;
	}
	return false;
}

/* If key (fixstr tag and name, n bytes) is next at *pos, read it and its
 * value into m. @retval 1 read, 0 another key, -1 a value for general. */
static inline int
swim_ping_next(const uint8_t **pos, const uint8_t *end, const char *key,
	       size_t n, enum swim_ping_key k, struct swim_ping *m)
{
	const uint8_t *p = *pos;

	/* the key, and at least the tag of its value */
	if ((size_t)(end - p) <= n || !swim_ping_lit(p, key, n))
		return 0;
	*pos = p + n;
	return swim_ping_value(pos, end, k, m) ? 1 : -1;
}

/* One step of swim_ping_sorted: key k if it is next. false: general. */
static inline bool
swim_ping_step(const uint8_t **pos, const uint8_t *end, const char *key,
	       size_t n, enum swim_ping_key k, struct swim_ping *m,
	       unsigned *nb)
{
	int rc;

	if (*nb == 0)
		return true;
	rc = swim_ping_next(pos, end, key, n, k, m);
	if (rc < 0)
		return false;
	*nb -= (unsigned)rc;
	return true;
}

/*
 * The keys go-msgpack writes, in its order (sorted; the Source* ones only
 * when set), straight-line with no key search: the usual ping is read
 * here whole. *nb counts down the keys read, and *seen gets their bits.
 * @retval false on a value only the general decoder may judge.
 */
static bool
swim_ping_sorted(const uint8_t **pos, const uint8_t *end, unsigned *nb,
		 unsigned *seen, struct swim_ping *m)
{
	unsigned left = *nb;
	unsigned before;

#define SWIM_PING_STEP(key, k)                                              \
	do {                                                                \
		before = left;                                              \
		if (!swim_ping_step(pos, end, key, sizeof(key) - 1, k, m,   \
				    &left))                                 \
			return false;                                       \
		if (left != before)                                         \
			*seen |= 1u << (k);                                 \
	} while (0)
	SWIM_PING_STEP("\xa4Node", SWIM_PK_NODE);
	SWIM_PING_STEP("\xa5SeqNo", SWIM_PK_SEQ_NO);
	SWIM_PING_STEP("\xaaSourceAddr", SWIM_PK_SOURCE_ADDR);
	SWIM_PING_STEP("\xaaSourceNode", SWIM_PK_SOURCE_NODE);
	SWIM_PING_STEP("\xaaSourcePort", SWIM_PK_SOURCE_PORT);
#undef SWIM_PING_STEP
	*nb = left;
	return true;
}

/* Key lit (fixstr tag and name, n bytes) at *p, then room for at least
 * the tag of its value: consumed. */
static inline bool
swim_ping_want(const uint8_t **p, const uint8_t *end, const char *lit,
	       size_t n)
{
	if ((size_t)(end - *p) <= n || !swim_ping_lit(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/*
 * The ping every memberlist peer sends: all five keys in go-msgpack's
 * order, read straight through with no key search or bookkeeping. p is
 * just past the fixmap header. false: anything else (the caller starts
 * over with the general scan).
 */
static inline bool
swim_ping_five(const uint8_t *p, const uint8_t *end, struct swim_ping *m)
{
	uint32_t port;

	if (!swim_ping_want(&p, end, "\xa4Node", 5) ||
	    !swim_ping_str(&p, end, &m->node) ||
	    !swim_ping_want(&p, end, "\xa5SeqNo", 6) ||
	    !swim_ping_uint(&p, end, 0xce, &m->seq_no) ||
	    !swim_ping_want(&p, end, "\xaaSourceAddr", 11) ||
	    !swim_ping_str(&p, end, &m->source_addr) ||
	    !swim_ping_want(&p, end, "\xaaSourceNode", 11) ||
	    !swim_ping_str(&p, end, &m->source_node) ||
	    !swim_ping_want(&p, end, "\xaaSourcePort", 11) ||
	    !swim_ping_uint(&p, end, 0xcd, &port))
		return false;
	m->source_port = (uint16_t)port;
	return true;
}

/*
 * nb keys from *pos in any layout we read: those in go-msgpack's order
 * first, then the rest in any order, each at most once.
 * @retval false on anything only the general decoder may judge.
 */
static bool
swim_ping_keys(const uint8_t *p, const uint8_t *end, unsigned nb,
	       struct swim_ping *m)
{
	unsigned seen = 0;

	if (!swim_ping_sorted(&p, end, &nb, &seen, m))
		return false;
	for (unsigned i = 0; i < nb; i++) {
		enum swim_ping_key k;
		unsigned klen;

		if (p >= end || (p[0] & 0xe0) != 0xa0)
			return false;	/* not a fixstr key */
		klen = p[0] & 0x1f;
		/* the key, and at least the tag of its value */
		if ((size_t)(end - p) < 2 + (size_t)klen)
			return false;
		k = swim_ping_key(p + 1, klen);
		if (k == SWIM_PK_NONE || (seen & 1u << k) != 0)
			return false;
		seen |= 1u << k;
		p += 1 + klen;
		if (!swim_ping_value(&p, end, k, m))
			return false;
	}
	return true;
}

/* One ping part (buf[0] is the ping type, len >= 1). Inlined into the
 * bare-ping case, the dataplane's every probe. */
static inline __attribute__((always_inline)) enum swim_ping_scan
swim_ping_scan(const uint8_t *buf, size_t len, const char *name,
	       size_t name_len, struct swim_ping *ping)
{
	const uint8_t *end = buf + len;
	unsigned nb;

	/* filled in place: *ping is the caller's to discard unless OURS */
	if (len < 2 || (buf[1] & 0xf0) != 0x80)
		return SWIM_PING_GENERAL;	/* not a fixmap */
	nb = buf[1] & 0x0f;
	memset(ping, 0, sizeof(*ping));
	if (nb != 5 || !swim_ping_five(buf + 2, end, ping)) {
		memset(ping, 0, sizeof(*ping));
		if (!swim_ping_keys(buf + 2, end, nb, ping))
			return SWIM_PING_GENERAL;
	}
	/* memberlist answers an empty Node, ignores another's name */
	if (ping->node.len != 0 &&
	    (ping->node.len != name_len ||
	     !swim_ping_eq(ping->node.ptr, (const uint8_t *)name, name_len)))
		return SWIM_PING_OTHER;
	return SWIM_PING_OURS;
}

/* The ping parts of a top-level compound, in order, as the general walk
 * visits them; a nested compound or a cut part table is its business. */
static enum swim_ping_scan
swim_ping_compound(const uint8_t *buf, size_t len, const char *name,
		   size_t name_len, struct swim_ping *ping)
{
	const uint8_t *end = buf + len;
	const uint8_t *pos;
	unsigned nb;

	if (len < 2 || buf[1] == 0 || len - 2 < 2 * (size_t)buf[1])
		return SWIM_PING_GENERAL;
	nb = buf[1];
	pos = buf + 2 + 2 * (size_t)nb;
	for (unsigned i = 0; i < nb; i++) {
		size_t plen = (size_t)buf[2 + 2 * i] << 8 | buf[3 + 2 * i];
		enum swim_ping_scan rc;

		if ((size_t)(end - pos) < plen)
			return SWIM_PING_GENERAL;
		if (plen != 0 && pos[0] == SWIM_MSG_COMPOUND)
			return SWIM_PING_GENERAL;
		if (plen != 0 && pos[0] == SWIM_MSG_PING) {
			rc = swim_ping_scan(pos, plen, name, name_len, ping);
			if (rc != SWIM_PING_OTHER)
				return rc;
		}
		pos += plen;
	}
	return SWIM_PING_OTHER;
}

void
swim_ping_pat_init(struct swim_ping_pat *pat, const char *name,
		   size_t name_len)
{
	uint8_t *p = pat->prefix;

	memset(pat, 0, sizeof(*pat));
	if (name_len == 0 || name_len > SWIM_NAME_MAX)
		return;
	memcpy(p, "\x00\x85\xa4Node", 7);
	p += 7;
	/* go-msgpack's header for the name: fixstr, else str16 (no str8) */
	if (name_len < 32) {
		*p++ = (uint8_t)(0xa0 | name_len);
	} else {
		*p++ = 0xda;
		*p++ = (uint8_t)(name_len >> 8);
		*p++ = (uint8_t)name_len;
	}
	pat->name_off = (uint16_t)(p - pat->prefix);
	pat->name_len = (uint32_t)name_len;
	memcpy(p, name, name_len);
	p += name_len;
	memcpy(p, "\xa5SeqNo", 6);
	p += 6;
	pat->len = (uint16_t)(p - pat->prefix);
}

/* Whether the n (>= 8) bytes at a and b are equal: word compares, the
 * first and last ones (maybe overlapping) before any loop, one branch at
 * the end. */
static inline bool
swim_ping_eq_long(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t diff = (swim_ping_ld64(a) ^ swim_ping_ld64(b)) |
			(swim_ping_ld64(a + n - 8) ^ swim_ping_ld64(b + n - 8));

	for (size_t i = 8; i + 8 < n; i += 8)
		diff |= swim_ping_ld64(a + i) ^ swim_ping_ld64(b + i);
	return diff == 0;
}

/*
 * The Source* keys as a memberlist peer on IPv4 writes them: SourceAddr
 * the 4 raw bytes, SourceNode a fixstr, SourcePort a uint16, read at
 * fixed offsets after one bound check per variable part:
 *
 *   0 aa"SourceAddr"  11 a4  12 <addr>  16 aa"SourceNode"  27 a0+n
 *   28 <n bytes>  28+n aa"SourcePort"  +11 cd  +12 <port>
 *
 * The same values swim_ping_five reads from those bytes. false: another
 * layout, which swim_ping_five's steps read.
 */
static inline bool
swim_ping_source4(const uint8_t *p, const uint8_t *end, struct swim_ping *m)
{
	const uint8_t *q;
	size_t n;

	if (end - p < 28 ||
	    swim_ping_ld64(p) != swim_ping_ld64("\xaaSourceA") ||
	    swim_ping_ld64(p + 4) != swim_ping_ld64("rceAddr\xa4") ||
	    swim_ping_ld64(p + 16) != swim_ping_ld64("\xaaSourceN") ||
	    swim_ping_ld32(p + 23) != swim_ping_ld32("Node") ||
	    (p[27] & 0xe0) != 0xa0)
		return false;
	n = p[27] & 0x1f;
	if ((size_t)(end - p) < 28 + n + 14)
		return false;
	q = p + 28 + n;
	if (swim_ping_ld64(q) != swim_ping_ld64("\xaaSourceP") ||
	    swim_ping_ld32(q + 8) != swim_ping_ld32("ort\xcd"))
		return false;
	m->source_addr.ptr = p + 12;
	m->source_addr.len = 4;
	m->source_node.ptr = p + 28;
	m->source_node.len = (uint32_t)n;
	m->source_port = (uint16_t)(q[12] << 8 | q[13]);
	return true;
}

bool
swim_wire_match_ping_pat(const uint8_t *buf, size_t len,
			 const struct swim_ping_pat *pat,
			 struct swim_ping *ping)
{
	const uint8_t *end = buf + len;
	const uint8_t *p;
	uint32_t port;

	/* what swim_ping_five reads up to SeqNo's tag, our name as Node: its
	 * checks there are all met by these bytes (pat->len >= 15 >= 8) */
	if (len <= pat->len || pat->len == 0 ||
	    !swim_ping_eq_long(buf, pat->prefix, pat->len))
		return false;
	p = buf + pat->len;
	ping->node.ptr = buf + pat->name_off;
	ping->node.len = pat->name_len;
	if (!swim_ping_uint(&p, end, 0xce, &ping->seq_no))
		return false;
	if (swim_ping_source4(p, end, ping))
		return true;
	if (!swim_ping_want(&p, end, "\xaaSourceAddr", 11) ||
	    !swim_ping_str(&p, end, &ping->source_addr) ||
	    !swim_ping_want(&p, end, "\xaaSourceNode", 11) ||
	    !swim_ping_str(&p, end, &ping->source_node) ||
	    !swim_ping_want(&p, end, "\xaaSourcePort", 11) ||
	    !swim_ping_uint(&p, end, 0xcd, &port))
		return false;
	ping->source_port = (uint16_t)port;
	return true;
}

int
swim_wire_match_ping(const uint8_t *buf, size_t len, const char *name,
		     size_t name_len, struct swim_ping *ping)
{
	enum swim_ping_scan rc = SWIM_PING_GENERAL;

	if (len != 0) {
		switch (buf[0]) {
		case SWIM_MSG_PING:
			rc = swim_ping_scan(buf, len, name, name_len, ping);
			break;
		case SWIM_MSG_COMPOUND:
			rc = swim_ping_compound(buf, len, name, name_len, ping);
			break;
		case SWIM_MSG_HAS_CRC:
			break;	/* the general path checks the CRC */
		default:
			return 0;	/* no ping in any other type */
		}
	}
	if (rc != SWIM_PING_GENERAL)
		return (int)rc;
	return swim_wire_find_ping(buf, len, name, name_len, ping);
}
