/*
 * Delta sync: one exchange's state machine (HELLO, INSYNC | GROUPS,
 * LEAVES, DIFF), the walk over a leaf set's members in the name index,
 * and the restricted push/pull encoder built on that walk.
 */
#include "swim_dsync_int.h"
#include "swim_int.h"

#include <string.h>

void
swim_dsync_start(struct swim_dsync *x, enum swim_dsync_role role)
{
	memset(x, 0, sizeof(*x));
	x->role = (uint8_t)role;
	x->step = SWIM_DS_START;
}

bool
swim_dsync_bit(const uint64_t *map, uint32_t i)
{
	return (map[i / 64] >> (i % 64)) & 1u;
}

void
swim_dsync_set(uint64_t *map, uint32_t i)
{
	map[i / 64] |= (uint64_t)1 << (i % 64);
}

bool
swim_dsync_has_leaf(const struct swim_dsync *x, uint32_t leaf)
{
	return x->bits != 0 && leaf < (1u << x->bits) &&
	       swim_dsync_bit(x->leaves, leaf);
}

/* --- the initiator --- */

static int
swim_dsync_send_hello(const struct swim *s, struct swim_dsync *x,
		      uint8_t *out, size_t cap, size_t *out_len)
{
	struct swim_dsync_hello h = {
		.version = SWIM_DSYNC_VERSION, .bits = swim_dsync_bits(s),
		.flags = x->leaf_only ? 0 : SWIM_DSYNC_FLAG_MEMBERS,
		.count = swim_dsync_count(s), .root = swim_dsync_root(s),
	};
	int n = swim_dsync_encode_hello(&h, out, cap);

	if (n < 0)
		return n;
	x->bits = h.bits;	/* the most GROUPS may agree on */
	x->mode = h.flags;
	x->step = SWIM_DS_HELLO_SENT;
	*out_len = (size_t)n;
	return SWIM_DSYNC_WAIT;
}

/* LEAVES: our leaf digests (at x->bits) of the groups marked in x. */
static int
swim_dsync_send_leaves(const struct swim *s, struct swim_dsync *x,
		       uint32_t nb_groups, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	uint32_t per = 1u << (x->bits - SWIM_DSYNC_BITS_MIN);
	uint64_t body = 3 + (uint64_t)nb_groups * (1 + 8 * per);

	if (out == NULL || cap < SWIM_DSYNC_HDR_LEN + body)
		return SWIM_DSYNC_E_NOSPACE;
	uint8_t *p = out;
	*p++ = SWIM_DSYNC_MSG_LEAVES;
	for (int sh = 24; sh >= 0; sh -= 8)
		*p++ = (uint8_t)(body >> sh);
	*p++ = x->bits;
	*p++ = (uint8_t)(nb_groups >> 8);
	*p++ = (uint8_t)nb_groups;
	for (uint32_t g = 0; g < SWIM_DSYNC_GROUPS; g++) {
		if (!swim_dsync_bit(x->groups, g))
			continue;
		*p++ = (uint8_t)g;
		for (uint32_t j = 0; j < per; j++) {
			uint64_t d = swim_dsync_leaf_digest(s, x->bits,
							    g + 256 * j);
			for (int sh = 56; sh >= 0; sh -= 8)
				*p++ = (uint8_t)(d >> sh);
		}
	}
	x->step = SWIM_DS_LEAVES_SENT;
	*out_len = (size_t)(p - out);
	return SWIM_DSYNC_WAIT;
}

static int
swim_dsync_on_groups(const struct swim *s, struct swim_dsync *x,
		     const uint8_t *in, size_t in_len, uint8_t *out,
		     size_t cap, size_t *out_len)
{
	struct swim_dsync_groups gr;
	int rc = swim_dsync_decode_groups(in, in_len, &gr);
	uint32_t nb = 0;

	if (rc < 0)
		return rc;
	/* The responder agrees on at most what we offered. */
	if (gr.bits > x->bits)
		return SWIM_DSYNC_E_BITS;
	x->bits = gr.bits;
	for (uint32_t g = 0; g < SWIM_DSYNC_GROUPS; g++) {
		if (swim_dsync_group_digest(s, g) != gr.d[g]) {
			swim_dsync_set(x->groups, g);
			nb++;
		}
	}
	return swim_dsync_send_leaves(s, x, nb, out, cap, out_len);
}

static int
swim_dsync_on_diff(struct swim_dsync *x, const uint8_t *in, size_t in_len)
{
	struct swim_dsync_diff df;
	int rc = swim_dsync_decode_diff(in, in_len, &df);

	if (rc < 0)
		return rc;
	if (df.bits != x->bits)
		return SWIM_DSYNC_E_BITS;
	for (uint32_t i = 0; i < df.nb_leaves; i++) {
		uint32_t leaf = swim_dsync_diff_leaf(&df, i);
		/* Only leaves of groups we sent can differ. */
		if (!swim_dsync_bit(x->groups, leaf % SWIM_DSYNC_GROUPS)) {
			memset(x->leaves, 0, sizeof(x->leaves));
			x->nb_leaves = 0;
			return SWIM_DSYNC_E_RANGE;
		}
		swim_dsync_set(x->leaves, leaf);
	}
	x->nb_leaves = df.nb_leaves;
	return x->nb_leaves > 0 ? SWIM_DSYNC_TRANSFER : SWIM_DSYNC_IN_SYNC;
}

/* An INSYNC, GROUPS or ABORT after our HELLO. */
static int
swim_dsync_on_reply(const struct swim *s, struct swim_dsync *x,
		    const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	struct swim_dsync_insync is;
	int rc;

	if (in[0] == SWIM_DSYNC_MSG_GROUPS)
		return swim_dsync_on_groups(s, x, in, in_len, out, cap,
					    out_len);
	if (in[0] != SWIM_DSYNC_MSG_INSYNC)
		return SWIM_DSYNC_E_TYPE;
	rc = swim_dsync_decode_insync(in, in_len, &is);
	if (rc < 0)
		return rc;
	x->peer_count = is.count;
	x->peer_root = is.root;
	return SWIM_DSYNC_IN_SYNC;
}

/* --- the responder --- */

static int
swim_dsync_on_hello(const struct swim *s, struct swim_dsync *x,
		    const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	struct swim_dsync_hello h;
	int rc = swim_dsync_decode_hello(in, in_len, &h);

	if (rc < 0)
		return rc;
	x->peer_count = h.count;
	x->peer_root = h.root;
	x->mode = h.flags & SWIM_DSYNC_FLAG_MEMBERS;
	if (h.root == swim_dsync_root(s)) {
		struct swim_dsync_insync is = { swim_dsync_count(s), h.root };
		rc = swim_dsync_encode_insync(&is, out, cap);
		if (rc < 0)
			return rc;
		*out_len = (size_t)rc;
		return SWIM_DSYNC_IN_SYNC;
	}
	struct swim_dsync_groups gr;	/* 2 KiB */
	unsigned mine = swim_dsync_bits(s);
	gr.bits = (uint8_t)(h.bits < mine ? h.bits : mine);
	for (uint32_t g = 0; g < SWIM_DSYNC_GROUPS; g++)
		gr.d[g] = swim_dsync_group_digest(s, g);
	rc = swim_dsync_encode_groups(&gr, out, cap);
	if (rc < 0)
		return rc;
	x->bits = gr.bits;
	x->step = SWIM_DS_GROUPS_SENT;
	*out_len = (size_t)rc;
	return SWIM_DSYNC_WAIT;
}

/* DIFF: the leaves of x's set, rising. */
static int
swim_dsync_send_diff(struct swim_dsync *x, uint8_t *out, size_t cap,
		     size_t *out_len)
{
	uint64_t body = 5 + 2 * (uint64_t)x->nb_leaves;

	if (out == NULL || cap < SWIM_DSYNC_HDR_LEN + body)
		return SWIM_DSYNC_E_NOSPACE;
	uint8_t *p = out;
	*p++ = SWIM_DSYNC_MSG_DIFF;
	for (int sh = 24; sh >= 0; sh -= 8)
		*p++ = (uint8_t)(body >> sh);
	*p++ = x->bits;
	for (int sh = 24; sh >= 0; sh -= 8)
		*p++ = (uint8_t)(x->nb_leaves >> sh);
	for (uint32_t leaf = 0; leaf < (1u << x->bits); leaf++) {
		if (!swim_dsync_bit(x->leaves, leaf))
			continue;
		*p++ = (uint8_t)(leaf >> 8);
		*p++ = (uint8_t)leaf;
	}
	*out_len = (size_t)(p - out);
	return x->nb_leaves > 0 ? SWIM_DSYNC_TRANSFER : SWIM_DSYNC_IN_SYNC;
}

static int
swim_dsync_on_leaves(const struct swim *s, struct swim_dsync *x,
		     const uint8_t *in, size_t in_len, uint8_t *out,
		     size_t cap, size_t *out_len)
{
	struct swim_dsync_leaves lv;
	int rc = swim_dsync_decode_leaves(in, in_len, &lv);

	if (rc < 0)
		return rc;
	if (lv.bits != x->bits)
		return SWIM_DSYNC_E_BITS;
	uint32_t per = 1u << (x->bits - SWIM_DSYNC_BITS_MIN);
	for (uint16_t i = 0; i < lv.nb_groups; i++) {
		unsigned g = swim_dsync_leaves_group(&lv, i);
		for (uint32_t j = 0; j < per; j++) {
			uint32_t leaf = g + 256 * j;
			if (swim_dsync_leaf_digest(s, x->bits, leaf) ==
			    swim_dsync_leaves_digest(&lv, i, j))
				continue;
			swim_dsync_set(x->leaves, leaf);
			x->nb_leaves++;
		}
	}
	if (x->mode & SWIM_DSYNC_FLAG_MEMBERS && x->nb_leaves > 0)
		return swim_dsync_send_members(s, x, out, cap, out_len);
	return swim_dsync_send_diff(x, out, cap, out_len);
}

/* --- one step --- */

static int
swim_dsync_dispatch(const struct swim *s, struct swim_dsync *x,
		    const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	bool initiator = x->role == SWIM_DSYNC_INITIATOR;

	if (x->step == SWIM_DS_START && initiator)
		return in != NULL ? SWIM_DSYNC_E_STATE :
			swim_dsync_send_hello(s, x, out, cap, out_len);
	if (in == NULL || in_len == 0)
		return SWIM_DSYNC_E_STATE;
	if (in[0] == SWIM_DSYNC_MSG_ABORT) {
		uint8_t why;
		int rc = swim_dsync_decode_abort(in, in_len, &why);
		return rc < 0 ? rc : SWIM_DSYNC_E_ABORTED;
	}
	switch (x->step) {
	case SWIM_DS_START:
		if (in[0] != SWIM_DSYNC_MSG_HELLO)
			return SWIM_DSYNC_E_TYPE;
		return swim_dsync_on_hello(s, x, in, in_len, out, cap,
					   out_len);
	case SWIM_DS_HELLO_SENT:
		return swim_dsync_on_reply(s, x, in, in_len, out, cap,
					   out_len);
	case SWIM_DS_GROUPS_SENT:
		if (in[0] != SWIM_DSYNC_MSG_LEAVES)
			return SWIM_DSYNC_E_TYPE;
		return swim_dsync_on_leaves(s, x, in, in_len, out, cap,
					    out_len);
	case SWIM_DS_LEAVES_SENT:
		if (in[0] == SWIM_DSYNC_MSG_MEMBERS &&
		    x->mode & SWIM_DSYNC_FLAG_MEMBERS)
			return swim_dsync_on_members(s, x, in, in_len, out,
						     cap, out_len);
		if (in[0] != SWIM_DSYNC_MSG_DIFF)
			return SWIM_DSYNC_E_TYPE;
		return swim_dsync_on_diff(x, in, in_len);
	case SWIM_DS_WANT_SENT:
		if (in[0] != SWIM_DSYNC_MSG_MEMBERS)
			return SWIM_DSYNC_E_TYPE;
		return swim_dsync_on_members(s, x, in, in_len, out, cap,
					     out_len);
	case SWIM_DS_MEMBERS_SENT:
		if (in[0] != SWIM_DSYNC_MSG_WANT)
			return SWIM_DSYNC_E_TYPE;
		return swim_dsync_on_want(s, x, in, in_len, out, cap,
					  out_len);
	}
	return SWIM_DSYNC_E_STATE;
}

int
swim_dsync_step(const struct swim *s, struct swim_dsync *x,
		const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
		size_t *out_len)
{
	size_t unused;
	int rc;

	if (out_len == NULL)
		out_len = &unused;
	*out_len = 0;
	if (x->step == SWIM_DS_DONE)
		return SWIM_DSYNC_E_STATE;
	rc = swim_dsync_dispatch(s, x, in, in_len, out, cap, out_len);
	/* Over after an answer or an error; every WAIT set its step (the
	 * member round's parts keep theirs). */
	if (rc != SWIM_DSYNC_WAIT)
		x->step = SWIM_DS_DONE;
	if (rc < 0)
		*out_len = 0;
	return rc;
}

/* --- the leaf set's members, through the name index --- */

uint32_t
swim_dsync_next_leaf(const struct swim_dsync *x, uint32_t leaf)
{
	uint32_t end = 1u << x->bits;

	while (leaf < end) {
		uint64_t w = x->leaves[leaf / 64] >> (leaf % 64);
		if (w != 0)
			return leaf + (uint32_t)__builtin_ctzll(w);
		leaf = (leaf / 64 + 1) * 64;
	}
	return end;
}

/*
 * The members of leaf e->leaf from the cursor (home, run) on, or NULL.
 * A name's home slot is the low bits of its hash, as its leaf is: the
 * leaf's members sit in the probe runs that start at the homes congruent
 * to the leaf id, so only those runs are looked at (O(leaf), not O(n)).
 */
static const void *
swim_dsync_walk_leaf(const struct swim_index *ix, struct swim_pp_enc *e,
		     uint32_t nleaves)
{
	uint32_t cap = ix->mask + 1;
	uint32_t stride = nleaves < cap ? nleaves : cap;

	for (; e->home < cap / stride; e->home++, e->run = 0) {
		uint32_t h = (e->leaf & (stride - 1)) + e->home * stride;
		for (; e->run <= ix->mask; ) {
			const void *m = ix->slots[(h + e->run) & ix->mask];
			if (m == NULL)
				break;
			e->run++;
			size_t len;
			const char *name = ix->key(m, &len);
			uint64_t hh = swim_index_hash(name, len);
			if ((hh & ix->mask) == h &&
			    (hh & (nleaves - 1)) == e->leaf)
				return m;
		}
	}
	return NULL;
}

static const void *
swim_dsync_walk_homes(const struct swim_index *ix, struct swim_pp_enc *e)
{
	const struct swim_dsync *x = e->dsync;
	uint32_t nleaves = 1u << x->bits;

	while ((e->leaf = swim_dsync_next_leaf(x, e->leaf)) < nleaves) {
		const void *m = swim_dsync_walk_leaf(ix, e, nleaves);
		if (m != NULL)
			return m;
		e->leaf++;
		e->home = 0;
		e->run = 0;
	}
	return NULL;
}

/* Every entry of the index with a leaf test: O(n), one hash each. */
static const void *
swim_dsync_walk_all(const struct swim_index *ix, struct swim_pp_enc *e)
{
	const struct swim_dsync *x = e->dsync;
	uint64_t lmask = ((uint64_t)1 << x->bits) - 1;
	const void *m;

	while ((m = swim_index_next(ix, &e->pos)) != NULL) {
		size_t len;
		const char *name = ix->key(m, &len);
		if (swim_dsync_bit(x->leaves,
				   (uint32_t)(swim_index_hash(name, len) & lmask)))
			return m;
	}
	return NULL;
}

/*
 * The homes walk needs every entry in the one table of `slots`; an
 * index that grows incrementally keeps a second table while it moves
 * entries (swim_index_bytes counts both), and then the walk looks at
 * every entry instead (right, but O(n)).
 */
bool
swim_dsync_walk_by_leaf(const struct swim_index *ix)
{
	return swim_index_bytes(ix) == ((size_t)ix->mask + 1) * sizeof(void *);
}

const void *
swim_dsync_walk_set(const struct swim_index *ix, struct swim_pp_enc *e)
{
	const struct swim_dsync *x = e->dsync;

	if (x == NULL || ix->slots == NULL || x->bits < SWIM_DSYNC_BITS_MIN ||
	    x->bits > SWIM_DSYNC_BITS_MAX || x->nb_leaves == 0)
		return NULL;
	if (swim_dsync_walk_by_leaf(ix))
		return swim_dsync_walk_homes(ix, e);
	return swim_dsync_walk_all(ix, e);
}

/*
 * The transfer's walk is ordered by (leaf, name hash), not by slot: its
 * cursor is the leaf and the last hash sent there, so a member's place
 * in the name index (which an incremental growth or a removal's
 * backward shift moves between two slices of a transfer) does not
 * matter. Every member of the set present when its turn comes is sent
 * once; one created behind the cursor waits for the next exchange. Two
 * names of one leaf with equal 64-bit hashes: the second waits too.
 */
struct swim_dsync_pick {
	const struct swim_dsync *x;
	uint32_t leaf;		/* at x->bits */
	bool has_after;		/* only hashes above `after` */
	uint64_t after;
	const void *m;		/* the smallest one found, or NULL */
	uint64_t nh;		/* its hash */
	uint32_t nb;		/* members of the leaf that qualify */
};

/* One table: the runs of the leaf's homes, each entry from its home. */
static void
swim_dsync_pick_table(const struct swim_index *ix, void *const *slots,
		      uint32_t mask, struct swim_dsync_pick *p)
{
	uint32_t nleaves = 1u << p->x->bits;
	uint32_t stride = nleaves < mask + 1 ? nleaves : mask + 1;

	for (uint32_t h = p->leaf & (stride - 1); h <= mask; h += stride) {
		for (uint32_t i = h, k = 0; k <= mask && slots[i] != NULL;
		     i = (i + 1) & mask, k++) {
			size_t len;
			const void *m = slots[i];
			if (!swim_index_is_entry(m))
				continue;	/* moved or removed */
			const char *name = ix->key(m, &len);
			uint64_t nh = swim_index_hash(name, len);
			if ((nh & mask) != h || (nh & (nleaves - 1)) != p->leaf ||
			    (p->x->is_filtered && !swim_dsync_wanted(p->x, nh)))
				continue;
			p->nb++;
			if ((!p->has_after || nh > p->after) &&
			    (p->m == NULL || nh < p->nh)) {
				p->m = m;
				p->nh = nh;
			}
		}
	}
}

/* Both tables of a growing index: each entry is in one of them. */
static void
swim_dsync_pick(const struct swim_index *ix, struct swim_dsync_pick *p)
{
	swim_dsync_pick_table(ix, ix->slots, ix->mask, p);
	if (ix->old != NULL)
		swim_dsync_pick_table(ix, ix->old, ix->old_mask, p);
}

static bool
swim_dsync_set_ok(const struct swim_index *ix, const struct swim_dsync *x)
{
	return x != NULL && ix->slots != NULL &&
	       x->bits >= SWIM_DSYNC_BITS_MIN &&
	       x->bits <= SWIM_DSYNC_BITS_MAX && x->nb_leaves > 0;
}

/* After a member round only the names in x->want go (O(log) each).
 * Cursor: e->leaf; e->pos 1 once one was sent there, its hash in
 * e->home (high 32 bits) and e->run (low). */
const void *
swim_dsync_walk_next(const struct swim_index *ix, struct swim_pp_enc *e)
{
	const struct swim_dsync *x = e->dsync;
	uint32_t leaf;

	if (!swim_dsync_set_ok(ix, x))
		return NULL;
	while ((leaf = swim_dsync_next_leaf(x, e->leaf)) < (1u << x->bits)) {
		struct swim_dsync_pick p = {
			.x = x, .leaf = leaf,
			.has_after = leaf == e->leaf && e->pos != 0,
			.after = (uint64_t)e->home << 32 | e->run,
		};
		swim_dsync_pick(ix, &p);
		if (p.m != NULL) {
			e->leaf = leaf;
			e->pos = 1;
			e->home = (uint32_t)(p.nh >> 32);
			e->run = (uint32_t)p.nh;
			return p.m;
		}
		e->leaf = leaf + 1;
		e->pos = 0;
	}
	return NULL;
}

uint32_t
swim_dsync_members_in(const struct swim *s, const struct swim_dsync *x)
{
	const struct swim_index *ix = &s->mt.index;
	uint32_t n = 0;

	if (!swim_dsync_set_ok(ix, x))
		return 0;
	for (uint32_t l = swim_dsync_next_leaf(x, 0); l < (1u << x->bits);
	     l = swim_dsync_next_leaf(x, l + 1)) {
		struct swim_dsync_pick p = { .x = x, .leaf = l };
		swim_dsync_pick(ix, &p);
		n += p.nb;
	}
	return n;
}

void
swim_pp_enc_start_dsync(const struct swim *s, struct swim_pp_enc *e,
			bool join, uint32_t user_state_len,
			const struct swim_dsync *x)
{
	/* A leaf set's walk takes no snapshot slot (swim_pp.c). */
	swim_pp_enc_init(s, e, join, user_state_len);
	e->dsync = x;
	e->nb_nodes = swim_dsync_members_in(s, x);
}
