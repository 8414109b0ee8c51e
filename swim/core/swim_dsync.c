/*
 * Delta sync: the digests the core exposes and the messages' bytes
 * (docs/delta-sync.md has the layouts). Every message is
 *   type (u8) | body length (u32 BE) | body
 * and every decoder checks the whole frame before it reads a field.
 */
#include "swim_dsync_int.h"
#include "swim_int.h"

#include <stddef.h>
#include <string.h>

const char *
swim_dsync_strerror(int err)
{
	static const char *const text[] = {
		"truncated", "unknown or unexpected message type",
		"bad body length", "unknown version", "bad leaf bits",
		"count contradicts the body", "id out of range or order",
		"out of turn", "no space", "aborted by the peer",
	};

	if (err >= 0)
		return "ok";
	if (err > SWIM_DSYNC_E_TRUNCATED || err < SWIM_DSYNC_E_ABORTED)
		return "unknown";
	return text[SWIM_DSYNC_E_TRUNCATED - err];
}

/* --- capability and digests --- */

bool
swim_member_dsync_capable(const struct swim *s, const char *name, size_t len)
{
	const struct swim_member *m = swim_members_find(&s->mt, name, len);

	return m != NULL && (m->vsn[SWIM_VSN_LEN] & SWIM_DSYNC_CAP_V1) != 0;
}

uint64_t
swim_dsync_member_digest(const char *name, size_t len, uint32_t incarnation,
			 enum swim_status st)
{
	return swim_dsync_digest_h(swim_index_hash(name, len), incarnation,
				   (unsigned)st);
}

uint32_t
swim_dsync_leaf_of(const char *name, size_t len, unsigned bits)
{
	if (bits > SWIM_DSYNC_BITS_MAX)
		bits = SWIM_DSYNC_BITS_MAX;
	return (uint32_t)(swim_index_hash(name, len) & ((1u << bits) - 1));
}

uint64_t
swim_dsync_root(const struct swim *s)
{
	return s->mt.dtree.root;
}

uint32_t
swim_dsync_count(const struct swim *s)
{
	return s->mt.dtree.count;
}

unsigned
swim_dsync_bits(const struct swim *s)
{
	return s->mt.dtree.bits;
}

uint64_t
swim_dsync_leaf_digest(const struct swim *s, unsigned bits, uint32_t leaf)
{
	const struct swim_dsync_tree *t = &s->mt.dtree;
	uint64_t d = 0;

	if (bits < SWIM_DSYNC_BITS_MIN || bits > t->bits ||
	    leaf >= (1u << bits) || t->leaf == NULL)
		return 0;
	/* The finer leaves whose low `bits` bits are `leaf`. */
	for (uint32_t i = leaf; i < (1u << t->bits); i += 1u << bits)
		d ^= t->leaf[i];
	return d;
}

uint64_t
swim_dsync_group_digest(const struct swim *s, unsigned g)
{
	return g < SWIM_DSYNC_GROUPS ?
		swim_dsync_leaf_digest(s, SWIM_DSYNC_BITS_MIN, g) : 0;
}

size_t
swim_dsync_mem_bytes(const struct swim *s)
{
	const struct swim_dsync_tree *t = &s->mt.dtree;

	return t->leaf == NULL ? 0 : ((size_t)1 << t->bits) * sizeof(uint64_t);
}

/* --- bytes --- */

bool
swim_dsync_is_msg_type(uint8_t b)
{
	return b >= SWIM_DSYNC_MSG_HELLO && b <= SWIM_DSYNC_MSG_WANT;
}

/* Smallest and largest body of each type. */
static bool
swim_dsync_body_ok(uint8_t type, uint32_t body)
{
	switch (type) {
	case SWIM_DSYNC_MSG_HELLO:
		return body == SWIM_DSYNC_HELLO_LEN - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_INSYNC:
		return body == SWIM_DSYNC_INSYNC_LEN - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_GROUPS:
		return body == SWIM_DSYNC_GROUPS_LEN - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_LEAVES:
		return body >= 3 &&
		       body <= SWIM_DSYNC_MSG_MAX - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_DIFF:
		return body >= 5 && body <= 5 + 2 * SWIM_DSYNC_LEAVES_MAX;
	case SWIM_DSYNC_MSG_ABORT:
		return body == SWIM_DSYNC_ABORT_LEN - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_MEMBERS:
		return body >= SWIM_DSYNC_MEMBERS_MIN - SWIM_DSYNC_HDR_LEN &&
		       body <= SWIM_DSYNC_MSG_MAX - SWIM_DSYNC_HDR_LEN;
	case SWIM_DSYNC_MSG_WANT:
		return body >= 4 &&
		       body <= SWIM_DSYNC_WANT_LEN_MAX - SWIM_DSYNC_HDR_LEN;
	}
	return false;
}

long
swim_dsync_msg_len(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return 0;
	if (!swim_dsync_is_msg_type(buf[0]))
		return SWIM_DSYNC_E_TYPE;
	if (len < SWIM_DSYNC_HDR_LEN)
		return 0;
	uint32_t body = swim_dsync_get32(buf + 1);
	if (!swim_dsync_body_ok(buf[0], body))
		return SWIM_DSYNC_E_LENGTH;
	return (long)SWIM_DSYNC_HDR_LEN + (long)body;
}

/*
 * Check the frame of a message of `type` at the head of buf.
 * @retval the body length, or < 0.
 */
static long
swim_dsync_frame(const uint8_t *buf, size_t len, uint8_t type)
{
	long n = swim_dsync_msg_len(buf, len);

	if (n == 0)
		return SWIM_DSYNC_E_TRUNCATED;
	if (n < 0)
		return n;
	if (buf[0] != type)
		return SWIM_DSYNC_E_TYPE;
	if ((size_t)n > len)
		return SWIM_DSYNC_E_TRUNCATED;
	return n - (long)SWIM_DSYNC_HDR_LEN;
}

int
swim_dsync_head(uint8_t type, uint32_t body, uint8_t *out, size_t cap)
{
	if (out == NULL || cap < (size_t)SWIM_DSYNC_HDR_LEN + body)
		return SWIM_DSYNC_E_NOSPACE;
	out[0] = type;
	swim_dsync_put32(out + 1, body);
	return (int)(SWIM_DSYNC_HDR_LEN + body);
}

/* Leaf bits a message may carry: 8..16. */
static bool
swim_dsync_bits_ok(unsigned bits)
{
	return bits >= SWIM_DSYNC_BITS_MIN && bits <= SWIM_DSYNC_BITS_MAX;
}

/* --- fixed-size messages --- */

/* A whole datagram of x's type with exactly its body, nothing after. */
static long
swim_dsync_frame_exact(const uint8_t *buf, size_t len,
		       const struct swim_dsync_fix *x)
{
	if (buf == NULL || len < SWIM_DSYNC_HDR_LEN)
		return SWIM_DSYNC_E_TRUNCATED;
	if (buf[0] != x->type)
		return SWIM_DSYNC_E_TYPE;
	if (swim_dsync_get32(buf + 1) != x->body)
		return SWIM_DSYNC_E_LENGTH;
	if (len < SWIM_DSYNC_HDR_LEN + x->body)
		return SWIM_DSYNC_E_TRUNCATED;
	if (len > SWIM_DSYNC_HDR_LEN + x->body)
		return SWIM_DSYNC_E_LENGTH;
	return x->body;
}

int
swim_dsync_fix_encode(const struct swim_dsync_fix *x, const void *msg,
		      uint8_t *out, size_t cap)
{
	int n = swim_dsync_head(x->type, x->body, out, cap);
	const uint8_t *m = msg;
	uint8_t *p = out + SWIM_DSYNC_HDR_LEN;
	uint32_t v32;
	uint64_t v64;

	for (const struct swim_dsync_field *f = x->f;
	     n > 0 && f->kind != SWIM_DSYNC_F_END; f++) {
		switch ((enum swim_dsync_fkind)f->kind) {
		case SWIM_DSYNC_F_END:
			break;
		case SWIM_DSYNC_F_U8:
			*p++ = m[f->off];
			break;
		case SWIM_DSYNC_F_ZERO:
			*p++ = 0;
			break;
		case SWIM_DSYNC_F_U32:
			memcpy(&v32, m + f->off, sizeof(v32));
			swim_dsync_put32(p, v32);
			p += 4;
			break;
		case SWIM_DSYNC_F_U64:
			memcpy(&v64, m + f->off, sizeof(v64));
			swim_dsync_put64(p, v64);
			p += 8;
			break;
		}
	}
	return n;
}

int
swim_dsync_fix_decode(const struct swim_dsync_fix *x, const uint8_t *buf,
		      size_t len, bool exact, void *msg)
{
	long body = exact ? swim_dsync_frame_exact(buf, len, x) :
			    swim_dsync_frame(buf, len, x->type);
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	uint8_t *m = msg;
	uint32_t v32;
	uint64_t v64;

	for (const struct swim_dsync_field *f = x->f;
	     body >= 0 && f->kind != SWIM_DSYNC_F_END; f++) {
		switch ((enum swim_dsync_fkind)f->kind) {
		case SWIM_DSYNC_F_END:
			break;
		case SWIM_DSYNC_F_U8:
			m[f->off] = *p++;
			break;
		case SWIM_DSYNC_F_ZERO:
			p++;
			break;
		case SWIM_DSYNC_F_U32:
			v32 = swim_dsync_get32(p);
			memcpy(m + f->off, &v32, sizeof(v32));
			p += 4;
			break;
		case SWIM_DSYNC_F_U64:
			v64 = swim_dsync_get64(p);
			memcpy(m + f->off, &v64, sizeof(v64));
			p += 8;
			break;
		}
	}
	return body < 0 ? (int)body : (int)(SWIM_DSYNC_HDR_LEN + body);
}

#define SWIM_DSYNC_FLD(kind, type, member) \
	{ SWIM_DSYNC_F_##kind, (uint8_t)offsetof(type, member) }

static const struct swim_dsync_fix swim_dsync_hello_fix = {
	SWIM_DSYNC_MSG_HELLO, SWIM_DSYNC_HELLO_LEN - SWIM_DSYNC_HDR_LEN, {
		SWIM_DSYNC_FLD(U8, struct swim_dsync_hello, version),
		SWIM_DSYNC_FLD(U8, struct swim_dsync_hello, bits),
		SWIM_DSYNC_FLD(U8, struct swim_dsync_hello, flags),
		{ SWIM_DSYNC_F_ZERO, 0 },
		SWIM_DSYNC_FLD(U32, struct swim_dsync_hello, count),
		SWIM_DSYNC_FLD(U64, struct swim_dsync_hello, root),
	} };

static const struct swim_dsync_fix swim_dsync_insync_fix = {
	SWIM_DSYNC_MSG_INSYNC, SWIM_DSYNC_INSYNC_LEN - SWIM_DSYNC_HDR_LEN, {
		SWIM_DSYNC_FLD(U32, struct swim_dsync_insync, count),
		SWIM_DSYNC_FLD(U64, struct swim_dsync_insync, root),
	} };

/* ABORT's one field: the reason byte itself (offset 0 of a uint8_t). */
static const struct swim_dsync_fix swim_dsync_abort_fix = {
	SWIM_DSYNC_MSG_ABORT, SWIM_DSYNC_ABORT_LEN - SWIM_DSYNC_HDR_LEN, {
		{ SWIM_DSYNC_F_U8, 0 },
	} };

int
swim_dsync_encode_hello(const struct swim_dsync_hello *h, uint8_t *out,
			size_t cap)
{
	return swim_dsync_fix_encode(&swim_dsync_hello_fix, h, out, cap);
}

int
swim_dsync_decode_hello(const uint8_t *buf, size_t len,
			struct swim_dsync_hello *h)
{
	int rc = swim_dsync_fix_decode(&swim_dsync_hello_fix, buf, len, false,
				       h);

	if (rc < 0)
		return rc;
	if (h->version != SWIM_DSYNC_VERSION)
		return SWIM_DSYNC_E_VERSION;
	if (!swim_dsync_bits_ok(h->bits))
		return SWIM_DSYNC_E_BITS;
	return rc;
}

int
swim_dsync_encode_insync(const struct swim_dsync_insync *m, uint8_t *out,
			 size_t cap)
{
	return swim_dsync_fix_encode(&swim_dsync_insync_fix, m, out, cap);
}

int
swim_dsync_decode_insync(const uint8_t *buf, size_t len,
			 struct swim_dsync_insync *m)
{
	return swim_dsync_fix_decode(&swim_dsync_insync_fix, buf, len, false,
				     m);
}

int
swim_dsync_encode_abort(uint8_t reason, uint8_t *out, size_t cap)
{
	return swim_dsync_fix_encode(&swim_dsync_abort_fix, &reason, out, cap);
}

int
swim_dsync_decode_abort(const uint8_t *buf, size_t len, uint8_t *reason)
{
	return swim_dsync_fix_decode(&swim_dsync_abort_fix, buf, len, false,
				     reason);
}

int
swim_dsync_encode_groups(const struct swim_dsync_groups *m, uint8_t *out,
			 size_t cap)
{
	int n = swim_dsync_head(SWIM_DSYNC_MSG_GROUPS,
				SWIM_DSYNC_GROUPS_LEN - SWIM_DSYNC_HDR_LEN,
				out, cap);

	if (n < 0)
		return n;
	uint8_t *p = out + SWIM_DSYNC_HDR_LEN;
	*p++ = m->bits;
	for (unsigned g = 0; g < SWIM_DSYNC_GROUPS; g++, p += 8)
		swim_dsync_put64(p, m->d[g]);
	return n;
}

int
swim_dsync_decode_groups(const uint8_t *buf, size_t len,
			 struct swim_dsync_groups *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_GROUPS);

	if (body < 0)
		return (int)body;
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	m->bits = *p++;
	if (!swim_dsync_bits_ok(m->bits))
		return SWIM_DSYNC_E_BITS;
	for (unsigned g = 0; g < SWIM_DSYNC_GROUPS; g++, p += 8)
		m->d[g] = swim_dsync_get64(p);
	return (int)SWIM_DSYNC_GROUPS_LEN;
}

/* --- LEAVES and DIFF, decoded in place --- */

/* Leaf id i (u16 BE) of a DIFF's or MEMBERS' list of nb, or UINT32_MAX. */
static uint32_t
swim_dsync_id(const uint8_t *ids, uint32_t nb, uint32_t i)
{
	if (i >= nb)
		return UINT32_MAX;
	return (uint32_t)ids[2 * i] << 8 | ids[2 * i + 1];
}

/* The list strictly rising and every id < 2^bits. @retval 0 or -1. */
static int
swim_dsync_ids_order(const uint8_t *ids, uint32_t nb, unsigned bits)
{
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t id = swim_dsync_id(ids, nb, i);
		if (id >= (1u << bits) ||
		    (i > 0 && id <= swim_dsync_id(ids, nb, i - 1)))
			return -1;
	}
	return 0;
}

/* Bytes of one LEAVES entry at `bits`: group id + its leaf digests. */
static uint32_t
swim_dsync_entry_len(unsigned bits)
{
	return 1u + 8u * (1u << (bits - SWIM_DSYNC_BITS_MIN));
}

int
swim_dsync_decode_leaves(const uint8_t *buf, size_t len,
			 struct swim_dsync_leaves *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_LEAVES);

	if (body < 0)
		return (int)body;
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	m->bits = p[0];
	m->nb_groups = (uint16_t)(p[1] << 8 | p[2]);
	m->entries = p + 3;
	if (!swim_dsync_bits_ok(m->bits))
		return SWIM_DSYNC_E_BITS;
	uint32_t el = swim_dsync_entry_len(m->bits);
	if (m->nb_groups > SWIM_DSYNC_GROUPS ||
	    (uint64_t)body != 3 + (uint64_t)m->nb_groups * el)
		return SWIM_DSYNC_E_COUNT;
	for (uint32_t i = 1; i < m->nb_groups; i++) {
		if (m->entries[i * el] <= m->entries[(i - 1) * el])
			return SWIM_DSYNC_E_RANGE;
	}
	return (int)(SWIM_DSYNC_HDR_LEN + body);
}

unsigned
swim_dsync_leaves_group(const struct swim_dsync_leaves *m, uint16_t i)
{
	if (i >= m->nb_groups)
		return 0;
	return m->entries[(uint32_t)i * swim_dsync_entry_len(m->bits)];
}

uint64_t
swim_dsync_leaves_digest(const struct swim_dsync_leaves *m, uint16_t i,
			 uint32_t j)
{
	if (i >= m->nb_groups ||
	    j >= (1u << (m->bits - SWIM_DSYNC_BITS_MIN)))
		return 0;
	const uint8_t *e = m->entries +
			   (uint32_t)i * swim_dsync_entry_len(m->bits);
	return swim_dsync_get64(e + 1 + 8 * j);
}

int
swim_dsync_decode_diff(const uint8_t *buf, size_t len,
		       struct swim_dsync_diff *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_DIFF);

	if (body < 0)
		return (int)body;
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	m->bits = p[0];
	m->nb_leaves = swim_dsync_get32(p + 1);
	m->ids = p + 5;
	if (!swim_dsync_bits_ok(m->bits))
		return SWIM_DSYNC_E_BITS;
	if (m->nb_leaves > (1u << m->bits) ||
	    (uint64_t)body != 5 + 2 * (uint64_t)m->nb_leaves)
		return SWIM_DSYNC_E_COUNT;
	if (swim_dsync_ids_order(m->ids, m->nb_leaves, m->bits) < 0)
		return SWIM_DSYNC_E_RANGE;
	return (int)(SWIM_DSYNC_HDR_LEN + body);
}

uint32_t
swim_dsync_diff_leaf(const struct swim_dsync_diff *m, uint32_t i)
{
	return swim_dsync_id(m->ids, m->nb_leaves, i);
}

/* --- MEMBERS and WANT (the member round), decoded in place --- */

uint32_t
swim_dsync_members_leaf(const struct swim_dsync_members *m, uint32_t i)
{
	return swim_dsync_id(m->ids, m->nb_leaves, i);
}

uint64_t
swim_dsync_members_pair(const struct swim_dsync_members *m, uint32_t i,
			uint64_t *d)
{
	if (i >= m->nb_pairs) {
		*d = 0;
		return 0;
	}
	*d = swim_dsync_get64(m->pairs + 16 * (size_t)i + 8);
	return swim_dsync_get64(m->pairs + 16 * (size_t)i);
}

/* Leaves rising and < 2^bits; pairs by (leaf, hash) strictly rising,
 * each in a listed leaf (one merge pass). */
static int
swim_dsync_members_order(const struct swim_dsync_members *m)
{
	uint64_t mask = ((uint64_t)1 << m->bits) - 1, prev = 0, d;
	uint32_t j = 0;

	if (swim_dsync_ids_order(m->ids, m->nb_leaves, m->bits) < 0)
		return SWIM_DSYNC_E_RANGE;
	for (uint32_t i = 0; i < m->nb_pairs; i++) {
		uint64_t nh = swim_dsync_members_pair(m, i, &d);
		uint32_t leaf = (uint32_t)(nh & mask);
		while (j < m->nb_leaves && swim_dsync_members_leaf(m, j) < leaf)
			j++;
		if (j == m->nb_leaves || swim_dsync_members_leaf(m, j) != leaf)
			return SWIM_DSYNC_E_RANGE;
		if (i > 0 && (prev & mask) == leaf && nh <= prev)
			return SWIM_DSYNC_E_RANGE;
		prev = nh;
	}
	return 0;
}

int
swim_dsync_decode_members(const uint8_t *buf, size_t len,
			  struct swim_dsync_members *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_MEMBERS);

	if (body < 0)
		return (int)body;
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	m->bits = p[0];
	m->more = p[1] & 1u;
	m->nb_leaves = swim_dsync_get32(p + 2);
	m->nb_pairs = swim_dsync_get32(p + 6);
	m->ids = p + 10;
	m->pairs = m->ids;
	if (!swim_dsync_bits_ok(m->bits))
		return SWIM_DSYNC_E_BITS;
	if (m->nb_leaves > (1u << m->bits) ||
	    (uint64_t)body != 10 + 2 * (uint64_t)m->nb_leaves +
			      16 * (uint64_t)m->nb_pairs)
		return SWIM_DSYNC_E_COUNT;
	m->pairs = m->ids + 2 * (size_t)m->nb_leaves;
	int rc = swim_dsync_members_order(m);
	return rc < 0 ? rc : (int)(SWIM_DSYNC_HDR_LEN + body);
}

uint64_t
swim_dsync_want_hash(const struct swim_dsync_want *m, uint32_t i)
{
	return i < m->nb ? swim_dsync_get64(m->hashes + 8 * (size_t)i) : 0;
}

int
swim_dsync_decode_want(const uint8_t *buf, size_t len,
		       struct swim_dsync_want *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_WANT);

	if (body < 0)
		return (int)body;
	m->nb = swim_dsync_get32(buf + SWIM_DSYNC_HDR_LEN);
	m->hashes = buf + SWIM_DSYNC_HDR_LEN + 4;
	if (m->nb > SWIM_DSYNC_WANT_MAX ||
	    (uint64_t)body != 4 + 8 * (uint64_t)m->nb)
		return SWIM_DSYNC_E_COUNT;
	for (uint32_t i = 1; i < m->nb; i++) {
		if (swim_dsync_want_hash(m, i) <= swim_dsync_want_hash(m, i - 1))
			return SWIM_DSYNC_E_RANGE;
	}
	return (int)(SWIM_DSYNC_HDR_LEN + body);
}
