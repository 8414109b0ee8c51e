/*
 * Delta sync (swim_dsync.h): the incremental digests against a
 * recomputation after random operations, the exchange between two tables
 * that differ in exactly k members (k = 0, 1, 10, 1000; missing, newer
 * incarnation, suspect, left), what the leaf filter lets through, the
 * tables equal afterwards, and the capability byte. Hostile messages are
 * in test_dsync_err.c. No assertion is about speed.
 */
#include <criterion/criterion.h>

#define DS_CHECK(c) cr_assert(c, "%s", #c)
#include "dsync_util.h"

#define S 1000000ull

static uint64_t
ds_rand(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* --- the digests against a reference --- */

struct ds_ref {
	unsigned bits;
	uint64_t root;
	uint32_t count;
	uint64_t leaf[SWIM_DSYNC_LEAVES_MAX];
};

static int
ds_ref_visit(void *ctx, const struct swim_member_info *m)
{
	struct ds_ref *r = ctx;
	const char *name = (const char *)m->name.ptr;
	uint64_t d = swim_dsync_member_digest(name, m->name.len,
					      m->incarnation, m->status);

	r->root ^= d;
	r->count += m->status <= SWIM_STATUS_SUSPECT;
	r->leaf[swim_dsync_leaf_of(name, m->name.len, r->bits)] ^= d;
	return 0;
}

static void
ds_check_ref(const struct swim *s)
{
	static struct ds_ref r;
	unsigned bits = swim_dsync_bits(s);

	memset(&r, 0, sizeof(r));
	r.bits = bits;
	swim_member_foreach(s, ds_ref_visit, &r);
	cr_assert_eq(swim_dsync_root(s), r.root);
	cr_assert_eq(swim_dsync_count(s), r.count);
	for (uint32_t l = 0; l < (1u << bits); l++)
		cr_assert_eq(swim_dsync_leaf_digest(s, bits, l), r.leaf[l],
			     "leaf %u of %u bits", l, bits);
	/* Coarser leaves and groups are folds of these. */
	for (uint32_t g = 0; g < SWIM_DSYNC_GROUPS; g++) {
		uint64_t d = 0;
		for (uint32_t l = g; l < (1u << bits); l += 256)
			d ^= r.leaf[l];
		cr_assert_eq(swim_dsync_group_digest(s, g), d);
	}
	cr_assert_eq(swim_dsync_mem_bytes(s), (size_t)8 << bits);
}

/* One random operation on name i of 300: alive, suspect, dead, left. */
static void
ds_random_op(struct swim *s, uint64_t now, uint64_t *rnd)
{
	char name[40];
	uint64_t r = ds_rand(rnd);
	uint32_t inc = 1 + (uint32_t)(r >> 40) % 4;

	ds_name(name, sizeof(name), "m", (uint32_t)(r % 300));
	switch ((r >> 20) % 5) {
	case 0:
	case 1:
		ds_alive(s, now, name, inc, (uint32_t)(r % 300));
		break;
	case 2:
		ds_accuse(s, now, SWIM_MSG_SUSPECT, name, inc, "x");
		break;
	case 3:
		ds_accuse(s, now, SWIM_MSG_DEAD, name, inc, "x");
		break;
	default:
		ds_accuse(s, now, SWIM_MSG_DEAD, name, inc, name);
		break;
	}
}

Test(dsync, digest_matches_a_recomputation_after_random_ops, .timeout = 60)
{
	struct swim *s = ds_core("a", 1, 1);
	uint64_t rnd = 42, now = 1 * S;

	ds_check_ref(s);
	cr_assert_eq(swim_dsync_count(s), 1);	/* self */
	for (unsigned i = 0; i < 4000; i++) {
		ds_random_op(s, now, &rnd);
		if (i % 50 == 0) {
			/* Suspicions run out, dead and left are reaped. */
			now += 2 * S;
			swim_tick(s, now);
			ds_drain(s);
			ds_check_ref(s);
		}
	}
	now += 120 * S;
	swim_tick(s, now);
	ds_drain(s);
	ds_check_ref(s);
	swim_delete(s);
}

Test(dsync, digest_grows_with_the_table, .timeout = 60)
{
	struct swim *s = ds_core("a", 1, 1);

	cr_assert_eq(swim_dsync_bits(s), SWIM_DSYNC_BITS_MIN);
	cr_assert_eq(swim_dsync_mem_bytes(s), 2048);
	ds_fill(s, 1 * S, "m", 0, 5000);
	/* 5001 members: more than 4 per leaf until 2048 leaves. */
	cr_assert_eq(swim_dsync_bits(s), 11);
	cr_assert_eq(swim_dsync_count(s), 5001);
	ds_check_ref(s);
	/* Root and count do not depend on the leaf bits. */
	struct swim *t = ds_core("a", 1, 1);
	ds_fill(t, 1 * S, "m", 0, 100);
	ds_fill(t, 1 * S, "m", 100, 4900);
	cr_assert_eq(swim_dsync_root(t), swim_dsync_root(s));
	swim_delete(t);
	swim_delete(s);
}

Test(dsync, member_digest_is_fixed)
{
	/* The same on every node and every run: no key, no seed. */
	uint64_t d = swim_dsync_member_digest("node-1", 6, 3,
					      SWIM_STATUS_ALIVE);

	cr_assert_neq(d, 0);
	cr_assert_neq(d, swim_dsync_member_digest("node-1", 6, 4,
						  SWIM_STATUS_ALIVE));
	cr_assert_neq(d, swim_dsync_member_digest("node-1", 6, 3,
						  SWIM_STATUS_SUSPECT));
	cr_assert_eq(swim_dsync_member_digest("node-1", 6, 3,
					      SWIM_STATUS_DEAD), 0);
	cr_assert_eq(swim_dsync_member_digest("node-1", 6, 3,
					      SWIM_STATUS_LEFT), 0);
	cr_assert_eq(swim_dsync_leaf_of("node-1", 6, 8),
		     swim_dsync_leaf_of("node-1", 6, 16) & 0xff);
}

/* --- two tables that differ in exactly k members --- */

struct ds_pair {
	struct swim *a, *b;
	uint64_t now;
	char diff[1000][40];	/* the names that differ */
	unsigned nb_diff;
};

static void
ds_pair_new(struct ds_pair *p, uint32_t base)
{
	p->now = 1 * S;
	p->nb_diff = 0;
	p->a = ds_core("a", 1, 11);
	p->b = ds_core("b", 2, 22);
	/* Each knows the other as it is. */
	ds_alive(p->a, p->now, "b", 1, 2);
	ds_alive(p->b, p->now, "a", 1, 1);
	ds_fill(p->a, p->now, "m", 0, base);
	ds_fill(p->b, p->now, "m", 0, base);
	ds_drain(p->a);
	ds_drain(p->b);
}

/* Difference i (of kind i % 4) on one side, about base member j. */
static void
ds_pair_differ(struct ds_pair *p, unsigned i, uint32_t j)
{
	struct swim *one = i % 2 ? p->a : p->b;
	char *name = p->diff[p->nb_diff++];

	switch (i % 4) {
	case 0:		/* missing on the other side */
		ds_name(name, 40, "x", i);
		ds_alive(one, p->now, name, 1, 7);
		break;
	case 1:		/* newer incarnation */
		ds_name(name, 40, "m", j);
		ds_alive(one, p->now, name, 2, j);
		break;
	case 2:		/* suspect */
		ds_name(name, 40, "m", j);
		ds_accuse(one, p->now, SWIM_MSG_SUSPECT, name, 1, "z");
		break;
	default:	/* left */
		ds_name(name, 40, "m", j);
		ds_accuse(one, p->now, SWIM_MSG_DEAD, name, 1, name);
		break;
	}
	ds_drain(one);
}

static int
ds_count_in_visit(void *ctx, const struct swim_member_info *m)
{
	void **c = ctx;
	const struct swim_dsync *x = c[0];
	uint32_t *n = c[1];

	*n += swim_dsync_has_leaf(x, swim_dsync_leaf_of(
		(const char *)m->name.ptr, m->name.len, x->bits));
	return 0;
}

/* Members of s (any status) whose leaf is in x's set, by a full scan. */
static uint32_t
ds_count_in(const struct swim *s, const struct swim_dsync *x)
{
	uint32_t n = 0;
	void *c[2] = { (void *)x, &n };

	swim_member_foreach(s, ds_count_in_visit, c);
	return n;
}

static void
ds_check_leaf_set(const struct ds_pair *p, const struct swim_dsync *x)
{
	uint32_t nb = 0;

	cr_assert_geq(x->bits, SWIM_DSYNC_BITS_MIN);
	for (uint32_t l = 0; l < (1u << x->bits); l++) {
		bool differs = swim_dsync_leaf_digest(p->a, x->bits, l) !=
			       swim_dsync_leaf_digest(p->b, x->bits, l);
		cr_assert_eq(swim_dsync_has_leaf(x, l), differs, "leaf %u", l);
		nb += differs;
	}
	cr_assert_eq(x->nb_leaves, nb);
	for (unsigned i = 0; i < p->nb_diff; i++) {
		const char *n = p->diff[i];
		cr_assert(swim_dsync_has_leaf(x, swim_dsync_leaf_of(n,
			  strlen(n), x->bits)), "%s not sent", n);
	}
}

/* The leaf-only transfer (a first-version peer): the leaf set. */
static void
ds_check_leaf_transfer(struct ds_pair *p, struct swim_dsync *xa,
		       struct swim_dsync *xb, unsigned k, struct ds_bytes *by)
{
	ds_check_leaf_set(p, xa);
	cr_assert_eq(memcmp(xa->leaves, xb->leaves, sizeof(xa->leaves)), 0);
	cr_assert_leq(xa->nb_leaves, k);
	/* What the filter lets through: the set's members, found through
	 * the index as by a scan of the whole table. */
	uint32_t in_a = ds_count_in(p->a, xa);
	cr_assert_eq(swim_dsync_members_in(p->a, xa), in_a);
	cr_assert_eq(swim_dsync_members_in(p->b, xb), ds_count_in(p->b, xb));
	ds_transfer(p->a, p->b, xa, xb, p->now, by);
	cr_assert_eq(by->nodes_ab, in_a);
	cr_assert_geq(by->nodes_ab + by->nodes_ba, k);
}

/* The differing names s holds, sorted. */
static void
ds_expected(const struct ds_pair *p, const struct swim *s,
	    struct ds_names *nm)
{
	struct swim_member_info mi;

	nm->nb = 0;
	for (unsigned i = 0; i < p->nb_diff; i++) {
		const char *n = p->diff[i];
		if (swim_member_find(s, n, strlen(n), &mi) == 0)
			snprintf(nm->v[nm->nb++], 64, "%s", n);
	}
	qsort(nm->v, nm->nb, sizeof(nm->v[0]), ds_names_cmp);
}

static void
ds_assert_names(const struct ds_names *got, const struct ds_names *want,
		const char *side)
{
	cr_assert_eq(got->nb, want->nb, "%s sends %u names, %u differ",
		     side, got->nb, want->nb);
	for (uint32_t i = 0; i < got->nb; i++)
		cr_assert_str_eq(got->v[i], want->v[i], "%s", side);
}

/* The member round: each side sends exactly the differing names it has. */
static void
ds_check_member_transfer(struct ds_pair *p, struct swim_dsync *xa,
			 struct swim_dsync *xb, unsigned k,
			 struct ds_bytes *by)
{
	static char v[4][4096][64];
	struct ds_names ga = { v[0], 0, 4096 }, gb = { v[1], 0, 4096 };
	struct ds_names ea = { v[2], 0, 4096 }, eb = { v[3], 0, 4096 };

	cr_assert_eq(xa->nb_want, k);
	cr_assert_eq(xb->nb_want, k);
	cr_assert_eq(memcmp(xa->want, xb->want, k * sizeof(xa->want[0])), 0);
	ds_emitted(p->a, xa, &ga);
	ds_emitted(p->b, xb, &gb);
	ds_expected(p, p->a, &ea);
	ds_expected(p, p->b, &eb);
	ds_assert_names(&ga, &ea, "a");
	ds_assert_names(&gb, &eb, "b");
	cr_assert_eq(swim_dsync_members_in(p->a, xa), ea.nb);
	ds_transfer(p->a, p->b, xa, xb, p->now, by);
	cr_assert_eq(by->nodes_ab, ea.nb);
	cr_assert_eq(by->nodes_ba, eb.nb);
}

static void
ds_run_k_mode(unsigned k, uint32_t base, bool leaf_only, size_t cap_b)
{
	static struct ds_pair p;
	static struct swim_dsync xa, xb;
	struct ds_bytes by = { 0 };
	uint64_t rnd = 1000 + k;

	ds_pair_new(&p, base);
	cr_assert(ds_tables_equal(p.a, p.b));
	cr_assert_eq(swim_dsync_root(p.a), swim_dsync_root(p.b));
	for (unsigned i = 0; i < k; i++) {
		/* Distinct base members: j advances by a random step. */
		uint32_t j = i * (base / k) + (uint32_t)(ds_rand(&rnd) %
							 (base / k));
		ds_pair_differ(&p, i, j);
	}
	cr_assert_eq(ds_tables_equal(p.a, p.b), k == 0);
	int rc = ds_exchange_cap(p.a, p.b, &xa, &xb, &by, leaf_only, cap_b);
	cr_assert_eq(rc, k == 0 ? SWIM_DSYNC_IN_SYNC : SWIM_DSYNC_TRANSFER);
	if (k > 0 && leaf_only)
		ds_check_leaf_transfer(&p, &xa, &xb, k, &by);
	else if (k > 0)
		ds_check_member_transfer(&p, &xa, &xb, k, &by);
	cr_assert(ds_tables_equal(p.a, p.b));
	cr_assert_eq(swim_dsync_root(p.a), swim_dsync_root(p.b));
	fprintf(stderr, "dsync %s k=%u of %u: %u msgs, digests %zu + %zu B, "
		"%u leaves, push/pulls %u + %u nodes (%zu + %zu B)\n",
		leaf_only ? "leaf" : "member", k, base, by.msgs, by.ab, by.ba,
		xa.nb_leaves, by.nodes_ab, by.nodes_ba, by.pp_ab, by.pp_ba);
	/* And now they are in sync: a few dozen bytes each way. */
	struct ds_bytes again = { 0 };
	cr_assert_eq(ds_exchange(p.a, p.b, &xa, &xb, &again),
		     SWIM_DSYNC_IN_SYNC);
	cr_assert_eq(again.ab, SWIM_DSYNC_HELLO_LEN);
	cr_assert_eq(again.ba, SWIM_DSYNC_INSYNC_LEN);
	swim_delete(p.a);
	swim_delete(p.b);
}

static void
ds_run_k(unsigned k, uint32_t base)
{
	ds_run_k_mode(k, base, false, SWIM_DSYNC_MSG_MAX);
	ds_run_k_mode(k, base, true, SWIM_DSYNC_MSG_MAX);
}

Test(dsync, equal_tables_are_in_sync_in_two_messages, .timeout = 60)
{
	ds_run_k(0, 3000);
}

Test(dsync, one_difference, .timeout = 60)
{
	ds_run_k(1, 3000);
}

Test(dsync, ten_differences, .timeout = 60)
{
	ds_run_k(10, 3000);
}

Test(dsync, a_thousand_differences, .timeout = 60)
{
	ds_run_k(1000, 3000);
}

Test(dsync, member_round_in_many_parts, .timeout = 60)
{
	/* The responder's buffer holds GROUPS (2,054 B) and MEMBERS parts
	 * of about 120 pairs: 1000 differences over ~25 parts. */
	ds_run_k_mode(1000, 3000, false, 2100);
}

Test(dsync, more_differences_than_an_exchange_takes, .timeout = 60)
{
	static struct swim_dsync xa, xb;
	struct swim *a = ds_core("a", 1, 11), *b = ds_core("b", 2, 22);
	const uint32_t k = SWIM_DSYNC_WANT_MAX + 616;
	struct ds_bytes by = { 0 };
	char name[40];

	ds_alive(a, 1 * S, "b", 1, 2);
	ds_alive(b, 1 * S, "a", 1, 1);
	ds_fill(a, 1 * S, "m", 0, 20000);
	ds_fill(b, 1 * S, "m", 0, 20000);
	for (uint32_t i = 0; i < k; i++) {
		ds_name(name, sizeof(name), "m", i);
		ds_alive(a, 1 * S, name, 2, i);
		if (i % 1024 == 1023)
			ds_drain(a);
	}
	ds_drain(a);
	/* The first exchange takes WANT_MAX of them, the next the rest. */
	cr_assert_eq(ds_exchange(a, b, &xa, &xb, &by), SWIM_DSYNC_TRANSFER);
	cr_assert_eq(xa.nb_want, SWIM_DSYNC_WANT_MAX);
	cr_assert_eq(xb.nb_want, SWIM_DSYNC_WANT_MAX);
	ds_transfer(a, b, &xa, &xb, 1 * S, &by);
	cr_assert_eq(by.nodes_ab, SWIM_DSYNC_WANT_MAX);
	cr_assert_not(ds_tables_equal(a, b));
	cr_assert_eq(ds_exchange(a, b, &xa, &xb, &by), SWIM_DSYNC_TRANSFER);
	cr_assert_eq(xa.nb_want, 616);
	ds_transfer(a, b, &xa, &xb, 1 * S, &by);
	cr_assert(ds_tables_equal(a, b));
	cr_assert_eq(ds_exchange(a, b, &xa, &xb, &by), SWIM_DSYNC_IN_SYNC);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync, a_small_table_against_a_large_one, .timeout = 60)
{
	/* b keeps 8 leaf bits, a grows to 11: they agree on 8. */
	static struct ds_pair p;
	static struct swim_dsync xa, xb;
	struct ds_bytes by = { 0 };

	ds_pair_new(&p, 20);
	ds_fill(p.a, p.now, "y", 0, 5000);
	cr_assert_eq(swim_dsync_bits(p.a), 11);
	cr_assert_eq(swim_dsync_bits(p.b), 8);
	cr_assert_eq(ds_exchange(p.a, p.b, &xa, &xb, &by),
		     SWIM_DSYNC_TRANSFER);
	cr_assert_eq(xa.bits, 8);
	ds_transfer(p.a, p.b, &xa, &xb, p.now, &by);
	cr_assert(ds_tables_equal(p.a, p.b));
	cr_assert_eq(swim_dsync_bits(p.b), 11);	/* grew on the merge */
	swim_delete(p.a);
	swim_delete(p.b);
}

Test(dsync, dead_on_one_side_converges_after_the_suspicion, .timeout = 60)
{
	static struct ds_pair p;
	static struct swim_dsync xa, xb;
	struct ds_bytes by = { 0 };

	ds_pair_new(&p, 500);
	/* memberlist's merge makes a remote "dead" only suspect. */
	ds_accuse(p.a, p.now, SWIM_MSG_DEAD, "m-0000007.pool", 1, "z");
	cr_assert_eq(ds_exchange(p.a, p.b, &xa, &xb, &by),
		     SWIM_DSYNC_TRANSFER);
	ds_transfer(p.a, p.b, &xa, &xb, p.now, &by);
	struct swim_member_info m;
	cr_assert_eq(swim_member_find(p.b, "m-0000007.pool", 14, &m), 0);
	cr_assert_eq(m.status, SWIM_STATUS_SUSPECT);
	/* Until b's own suspicion runs out they differ (an hour-long probe
	 * interval here makes it 65 h: one tick past it, before any probe
	 * of b's could time out). */
	cr_assert_not(ds_tables_equal(p.a, p.b));
	p.now += 100ull * 3600 * S;
	swim_tick(p.b, p.now);
	ds_drain(p.b);
	cr_assert_eq(swim_member_find(p.b, "m-0000007.pool", 14, &m), 0);
	cr_assert_eq(m.status, SWIM_STATUS_DEAD);
	cr_assert(ds_tables_equal(p.a, p.b));
	cr_assert_eq(ds_exchange(p.a, p.b, &xa, &xb, &by),
		     SWIM_DSYNC_IN_SYNC);
	swim_delete(p.a);
	swim_delete(p.b);
}

Test(dsync, restricted_encoder_resumes_across_small_windows, .timeout = 60)
{
	static struct ds_pair p;
	static struct swim_dsync xa, xb;
	struct ds_bytes by = { 0 };
	uint8_t win[300];
	struct swim_pp_enc e;
	struct swim_pp_dec d;
	int n;

	ds_pair_new(&p, 3000);
	for (unsigned i = 0; i < 40; i++)
		ds_pair_differ(&p, 1, i * 70);	/* newer incarnations on a */
	cr_assert_eq(ds_exchange(p.a, p.b, &xa, &xb, &by),
		     SWIM_DSYNC_TRANSFER);
	swim_pp_enc_start_dsync(p.a, &e, false, 0, &xa);
	swim_pp_dec_start(p.b, &d);
	uint32_t pieces = 0;
	while ((n = swim_pp_enc_next(p.a, &e, win, sizeof(win), 1)) > 0) {
		cr_assert_eq(swim_pp_dec_next(p.b, p.now, &d, win, (size_t)n,
					      UINT32_MAX), n);
		pieces++;
	}
	cr_assert_eq(n, 0);
	/* the member round: exactly the 40 newer ones */
	cr_assert_eq(d.nodes_done, 40);
	cr_assert_eq(swim_dsync_members_in(p.a, &xa), 40);
	cr_assert_eq(pieces, d.nodes_done);	/* header rides with node 1 */
	ds_drain(p.b);
	cr_assert(ds_tables_equal(p.a, p.b));
	swim_delete(p.a);
	swim_delete(p.b);
}

/* --- the capability byte --- */

struct ds_seen {
	const char *node;
	uint32_t vsn_len;
	uint8_t caps;
	unsigned found;
};

static int
ds_seen_alive(void *ctx, const struct swim_msg *m)
{
	struct ds_seen *v = ctx;

	if (m->type != SWIM_MSG_ALIVE || m->alive.node.len != strlen(v->node) ||
	    memcmp(m->alive.node.ptr, v->node, m->alive.node.len) != 0)
		return 0;
	v->found++;
	v->vsn_len = m->alive.vsn.len;
	v->caps = m->alive.vsn.len > 6 ? m->alive.vsn.ptr[6] : 0;
	return 0;
}

/* Gossip s's queue and look for alives about node in what it sends. */
static void
ds_gossiped(struct swim *s, uint64_t now, struct ds_seen *v)
{
	static struct swim_wire_scratch sc;
	struct swim_output o;

	swim_tick(s, now);
	while (swim_pop_output(s, &o)) {
		if (o.kind != SWIM_OUT_PACKET)
			continue;
		sc.used = 0;
		cr_assert_gt(swim_wire_decode_packet(o.data, o.len, &sc,
						     ds_seen_alive, v), 0);
	}
}

Test(dsync, own_alive_carries_the_capability_byte)
{
	struct swim *a = ds_core("a", 1, 1);
	struct ds_seen v = { .node = "a" };

	ds_alive(a, 1 * S, "b", 1, 2);	/* someone to gossip to */
	ds_gossiped(a, 2 * S, &v);
	cr_assert_gt(v.found, 0);
	cr_assert_eq(v.vsn_len, 7);
	cr_assert_eq(v.caps, SWIM_DSYNC_CAP_V1);
	/* After a refute too. */
	ds_accuse(a, 3 * S, SWIM_MSG_SUSPECT, "a", 1, "b");
	v.found = 0;
	ds_gossiped(a, 4 * S, &v);
	cr_assert_gt(v.found, 0);
	cr_assert_eq(v.vsn_len, 7);
	cr_assert_eq(swim_self_incarnation(a), 2);
	swim_delete(a);
}

Test(dsync, without_the_capability_the_vsn_is_serfs)
{
	struct swim_cfg cfg;
	const char *err;
	struct ds_seen v = { .node = "a" };

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "a");
	cfg.addr = (struct swim_addr){ .ip = { 10, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	cfg.enable_compression = false;
	cr_assert_eq(cfg.vsn_caps, 0);
	struct swim *a = swim_new(&cfg, &err);
	cr_assert_not_null(a);
	ds_alive(a, 1 * S, "b", 1, 2);
	ds_gossiped(a, 2 * S, &v);
	cr_assert_gt(v.found, 0);
	cr_assert_eq(v.vsn_len, 6);
	cr_assert_not(swim_member_dsync_capable(a, "a", 1));
	swim_delete(a);
}

/* alive for name from a node with a 7-byte Vsn (caps) or serf's 6. */
static void
ds_alive_caps(struct swim *s, uint64_t now, const char *name, uint32_t inc,
	      uint8_t ip, int caps)
{
	static const uint8_t v7[7] = { 1, 5, 2, 2, 5, 5, SWIM_DSYNC_CAP_V1 };
	static uint8_t addr[4] = { 10, 0, 0, 0 };
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };

	addr[3] = ip;
	m.alive.incarnation = inc;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ addr, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ v7, caps ? 7 : 6 };
	ds_send(s, now, &m);
}

Test(dsync, capability_is_heard_kept_and_relayed)
{
	struct swim *b = ds_core("b", 2, 2);
	struct swim_member_info info;
	struct ds_seen v = { .node = "a" };

	ds_alive_caps(b, 1 * S, "a", 1, 1, 1);
	ds_alive_caps(b, 1 * S, "s", 1, 3, 0);
	cr_assert(swim_member_dsync_capable(b, "a", 1));
	cr_assert_not(swim_member_dsync_capable(b, "s", 1));
	cr_assert_not(swim_member_dsync_capable(b, "nobody", 6));
	cr_assert_eq(swim_member_find(b, "a", 1, &info), 0);
	cr_assert_eq(info.caps, SWIM_DSYNC_CAP_V1);
	/* b re-gossips a's alive as it came: 7 bytes. */
	ds_gossiped(b, 2 * S, &v);
	cr_assert_gt(v.found, 0);
	cr_assert_eq(v.vsn_len, 7);
	/* A newer alive with serf's 6 bytes (a serf push/pull): kept. */
	ds_alive_caps(b, 3 * S, "a", 2, 1, 0);
	cr_assert(swim_member_dsync_capable(b, "a", 1));
	swim_delete(b);
}

/* swim_member_caps: by name, or by address for a join to an address. */
Test(dsync, capability_byte_by_name_or_address)
{
	struct swim *b = ds_core("b", 2, 2);
	struct swim_addr at_a = { .ip = { 10, 0, 0, 1 }, .ip_len = 4,
				  .port = 7946 };
	struct swim_addr at_s = at_a, nowhere = at_a;

	at_s.ip[3] = 3;
	nowhere.ip[3] = 99;
	ds_alive_caps(b, 1 * S, "a", 1, 1, 1);
	ds_alive_caps(b, 1 * S, "s", 1, 3, 0);
	cr_assert_eq(swim_member_caps(b, "a", NULL), SWIM_DSYNC_CAP_V1);
	cr_assert_eq(swim_member_caps(b, "s", NULL), 0);
	cr_assert_eq(swim_member_caps(b, "nobody", &at_a), -1,
		     "a name wins over the address");
	cr_assert_eq(swim_member_caps(b, NULL, &at_a), SWIM_DSYNC_CAP_V1);
	cr_assert_eq(swim_member_caps(b, "", &at_s), 0);
	cr_assert_eq(swim_member_caps(b, NULL, &nowhere), -1);
	nowhere = at_a;
	nowhere.port = 7947;
	cr_assert_eq(swim_member_caps(b, NULL, &nowhere), -1, "port counts");
	cr_assert_eq(swim_member_caps(b, NULL, NULL), -1);
	swim_delete(b);
}

struct ds_pp_seen {
	uint32_t vsn_a, vsn_s;
};

static int
ds_pp_visit(void *ctx, const struct swim_push_node *n)
{
	struct ds_pp_seen *v = ctx;

	if (n->name.len == 1 && n->name.ptr[0] == 'a')
		v->vsn_a = n->vsn.len;
	if (n->name.len == 1 && n->name.ptr[0] == 's')
		v->vsn_s = n->vsn.len;
	return 0;
}

Test(dsync, push_pull_entries_carry_what_was_heard)
{
	struct swim *a = ds_core("a", 1, 1);
	static uint8_t buf[4096];
	struct swim_push_pull_header h;
	struct ds_pp_seen v = { 0, 0 };
	struct swim_str us;

	ds_alive_caps(a, 1 * S, "s", 1, 3, 0);
	size_t n = swim_push_pull_encode(a, false, NULL, 0, buf, sizeof(buf));
	cr_assert_leq(n, sizeof(buf));
	cr_assert_gt(swim_wire_decode_push_pull(buf, n, &h, ds_pp_visit, &v,
						&us), 0);
	cr_assert_eq(v.vsn_a, 7);	/* ours, with the capability */
	cr_assert_eq(v.vsn_s, 6);	/* a serf node's, as it sent it */
	swim_delete(a);
}

Test(dsync, serfs_six_byte_copy_of_our_vsn_is_no_reason_to_refute)
{
	struct swim *a = ds_core("a", 1, 1);
	static uint8_t buf[512];
	struct swim_str us;
	/* serf's push/pull lists us with the 6 bytes it stores. */
	struct swim_push_pull_header h = { .nb_nodes = 1 };
	int n = swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
	uint8_t ip[4] = { 10, 0, 0, 1 };
	struct swim_push_node pn = {
		.name = { (const uint8_t *)"a", 1 }, .addr = { ip, 4 },
		.port = 7946, .incarnation = 1, .state = SWIM_STATUS_ALIVE,
		.vsn = { ds_vsn, SWIM_VSN_LEN },
	};
	n += swim_wire_encode_push_node(&pn, buf + n, sizeof(buf) - (size_t)n);
	cr_assert_eq(swim_push_pull_merge(a, 1 * S, buf, (size_t)n, &us), n);
	cr_assert_eq(swim_self_incarnation(a), 1);
	cr_assert(swim_member_dsync_capable(a, "a", 1));
	swim_delete(a);
}

/* Re-encode the alive about v->node that s gossips. */
struct ds_raw {
	const char *node;
	uint8_t bytes[256];
	int len;
};

static int
ds_raw_alive(void *ctx, const struct swim_msg *m)
{
	struct ds_raw *r = ctx;

	if (m->type == SWIM_MSG_ALIVE && m->alive.node.len == strlen(r->node) &&
	    memcmp(m->alive.node.ptr, r->node, m->alive.node.len) == 0)
		r->len = swim_wire_encode_msg(m, r->bytes, sizeof(r->bytes));
	return 0;
}

Test(dsync, own_alive_is_serfs_golden_vector_plus_the_capability_byte)
{
	/* memberlist-wire.md Appendix A's alive {Inc 1, a, 127.0.0.1:7946,
	 * Meta {role: web}, Vsn 010502020505} (68 bytes, from Go), with
	 * gossipd's Vsn: a7 and the capability byte 01 (69 bytes). */
	static const char *const want =
		"0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461"
		"abff81a4726f6c65a3776562a44e6f6465a161a4506f7274cd1f0aa35673"
		"6ea701050202050501";
	static const uint8_t meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e',
					0xa3, 'w', 'e', 'b' };
	static struct swim_wire_scratch sc;
	struct swim_cfg cfg;
	const char *err;
	struct swim_output o;
	struct ds_raw r = { .node = "a", .len = 0 };
	char hex[2 * sizeof(r.bytes) + 1];

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "a");
	cfg.addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.meta, meta, sizeof(meta));
	cfg.meta_len = sizeof(meta);
	memcpy(cfg.vsn, ds_vsn, SWIM_VSN_LEN);
	cfg.vsn_caps = SWIM_DSYNC_CAP_V1;
	cfg.enable_compression = false;
	struct swim *a = swim_new(&cfg, &err);
	cr_assert_not_null(a);
	ds_alive(a, 1 * S, "b", 1, 2);
	swim_tick(a, 2 * S);
	while (swim_pop_output(a, &o)) {
		sc.used = 0;
		if (o.kind == SWIM_OUT_PACKET)
			swim_wire_decode_packet(o.data, o.len, &sc,
						ds_raw_alive, &r);
	}
	cr_assert_eq(r.len, 69);
	for (int i = 0; i < r.len; i++)
		snprintf(hex + 2 * i, 3, "%02x", r.bytes[i]);
	cr_assert_str_eq(hex, want);
	swim_delete(a);
}
