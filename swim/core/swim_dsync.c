/*
 * Delta sync: the digests the core exposes and the messages' bytes
 * (docs/delta-sync.md has the layouts). Every message is
 *   type (u8) | body length (u32 BE) | body
 * and every decoder checks the whole frame before it reads a field.
 */
#include "swim_dsync_int.h"
#include "swim_int.h"

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

/* --- fixed-size messages --- */

int
swim_dsync_encode_hello(const struct swim_dsync_hello *h, uint8_t *out,
			size_t cap)
{
	int n = swim_dsync_head(SWIM_DSYNC_MSG_HELLO, 16, out, cap);

	if (n < 0)
		return n;
	uint8_t *p = out + SWIM_DSYNC_HDR_LEN;
	p[0] = h->version;
	p[1] = h->bits;
	p[2] = h->flags;
	p[3] = 0;
	swim_dsync_put32(p + 4, h->count);
	swim_dsync_put64(p + 8, h->root);
	return n;
}

int
swim_dsync_decode_hello(const uint8_t *buf, size_t len,
			struct swim_dsync_hello *h)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_HELLO);

	if (body < 0)
		return (int)body;
	const uint8_t *p = buf + SWIM_DSYNC_HDR_LEN;
	h->version = p[0];
	h->bits = p[1];
	h->flags = p[2];
	h->count = swim_dsync_get32(p + 4);
	h->root = swim_dsync_get64(p + 8);
	if (h->version != SWIM_DSYNC_VERSION)
		return SWIM_DSYNC_E_VERSION;
	if (h->bits < SWIM_DSYNC_BITS_MIN || h->bits > SWIM_DSYNC_BITS_MAX)
		return SWIM_DSYNC_E_BITS;
	return (int)SWIM_DSYNC_HELLO_LEN;
}

int
swim_dsync_encode_insync(const struct swim_dsync_insync *m, uint8_t *out,
			 size_t cap)
{
	int n = swim_dsync_head(SWIM_DSYNC_MSG_INSYNC, 12, out, cap);

	if (n < 0)
		return n;
	swim_dsync_put32(out + SWIM_DSYNC_HDR_LEN, m->count);
	swim_dsync_put64(out + SWIM_DSYNC_HDR_LEN + 4, m->root);
	return n;
}

int
swim_dsync_decode_insync(const uint8_t *buf, size_t len,
			 struct swim_dsync_insync *m)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_INSYNC);

	if (body < 0)
		return (int)body;
	m->count = swim_dsync_get32(buf + SWIM_DSYNC_HDR_LEN);
	m->root = swim_dsync_get64(buf + SWIM_DSYNC_HDR_LEN + 4);
	return (int)SWIM_DSYNC_INSYNC_LEN;
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
	if (m->bits < SWIM_DSYNC_BITS_MIN || m->bits > SWIM_DSYNC_BITS_MAX)
		return SWIM_DSYNC_E_BITS;
	for (unsigned g = 0; g < SWIM_DSYNC_GROUPS; g++, p += 8)
		m->d[g] = swim_dsync_get64(p);
	return (int)SWIM_DSYNC_GROUPS_LEN;
}

int
swim_dsync_encode_abort(uint8_t reason, uint8_t *out, size_t cap)
{
	int n = swim_dsync_head(SWIM_DSYNC_MSG_ABORT, 1, out, cap);

	if (n > 0)
		out[SWIM_DSYNC_HDR_LEN] = reason;
	return n;
}

int
swim_dsync_decode_abort(const uint8_t *buf, size_t len, uint8_t *reason)
{
	long body = swim_dsync_frame(buf, len, SWIM_DSYNC_MSG_ABORT);

	if (body < 0)
		return (int)body;
	*reason = buf[SWIM_DSYNC_HDR_LEN];
	return (int)SWIM_DSYNC_ABORT_LEN;
}

/* --- LEAVES and DIFF, decoded in place --- */

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
	if (m->bits < SWIM_DSYNC_BITS_MIN || m->bits > SWIM_DSYNC_BITS_MAX)
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
	if (m->bits < SWIM_DSYNC_BITS_MIN || m->bits > SWIM_DSYNC_BITS_MAX)
		return SWIM_DSYNC_E_BITS;
	if (m->nb_leaves > (1u << m->bits) ||
	    (uint64_t)body != 5 + 2 * (uint64_t)m->nb_leaves)
		return SWIM_DSYNC_E_COUNT;
	for (uint32_t i = 0; i < m->nb_leaves; i++) {
		uint32_t id = swim_dsync_diff_leaf(m, i);
		if (id >= (1u << m->bits) ||
		    (i > 0 && id <= swim_dsync_diff_leaf(m, i - 1)))
			return SWIM_DSYNC_E_RANGE;
	}
	return (int)(SWIM_DSYNC_HDR_LEN + body);
}

uint32_t
swim_dsync_diff_leaf(const struct swim_dsync_diff *m, uint32_t i)
{
	if (i >= m->nb_leaves)
		return UINT32_MAX;
	return (uint32_t)m->ids[2 * i] << 8 | m->ids[2 * i + 1];
}

/* --- MEMBERS and WANT (the member round), decoded in place --- */

uint32_t
swim_dsync_members_leaf(const struct swim_dsync_members *m, uint32_t i)
{
	if (i >= m->nb_leaves)
		return UINT32_MAX;
	return (uint32_t)m->ids[2 * i] << 8 | m->ids[2 * i + 1];
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

	for (uint32_t i = 0; i < m->nb_leaves; i++) {
		uint32_t id = swim_dsync_members_leaf(m, i);
		if (id > mask || (i > 0 && id <= swim_dsync_members_leaf(m, i - 1)))
			return SWIM_DSYNC_E_RANGE;
	}
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
	if (m->bits < SWIM_DSYNC_BITS_MIN || m->bits > SWIM_DSYNC_BITS_MAX)
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
