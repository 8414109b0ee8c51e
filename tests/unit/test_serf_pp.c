/*
 * The Serf user state streamed both ways (swim/serf/serf_pp_enc.c,
 * swim/serf/serf_pp_dec.c): the encoder's bytes are serf's full state, of
 * exactly the announced length, even when the table changes between
 * every slice (members added, failed, left, rejoined, LTimes grown,
 * erasures asked for, the index grown); a member filter; the decoder
 * fed in any cut merges as serf_merge_remote_state does, in both field
 * orders; hostile and truncated states get their exact error; 10^5
 * members both ways in bounded memory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf_int.h"
#include "serf_msg.h"
#include "swim.h"
#include "swim_index.h"
#include "swim_wire.h"
#include "scale_util.h"
#include "serf_pp_util.h"

/* name -> LTime of a decoded StatusLTimes, as a sorted "name=lt" list. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pp_view {
	char **status;		/* "name=ltime" sorted */
	uint32_t nb_status;
	char **left;		/* sorted */
	uint32_t nb_left;
	struct serf_msg_push_pull pp;
};

static char *
dup_n(const struct swim_str *s, const char *suffix)
{
	char *p = malloc(s->len + 32);
	memcpy(p, s->ptr, s->len);
	snprintf(p + s->len, 32, "%s", suffix);
	return p;
}

static void
view(const uint8_t *buf, size_t len, struct pp_view *v)
{
	struct serf_msg_pp_status st;
	struct swim_str name;
	char lt[32];

	memset(v, 0, sizeof(*v));
	cr_assert_eq(serf_msg_decode_push_pull(buf, len, &v->pp), 0);
	v->status = calloc(v->pp.nb_status + 1, sizeof(char *));
	v->left = calloc(v->pp.nb_left + 1, sizeof(char *));
	const uint8_t *p = v->pp.raw_status.ptr;
	const uint8_t *end = p + v->pp.raw_status.len;
	while (p != NULL && serf_msg_pp_status_next(&p, end, &st) == 1) {
		snprintf(lt, sizeof(lt), "=%llu", (unsigned long long)st.ltime);
		v->status[v->nb_status++] = dup_n(&st.name, lt);
	}
	p = v->pp.raw_left.ptr;
	end = p + v->pp.raw_left.len;
	while (p != NULL && serf_msg_pp_left_next(&p, end, &name) == 1)
		v->left[v->nb_left++] = dup_n(&name, "");
	qsort(v->status, v->nb_status, sizeof(char *), cmp_str);
	qsort(v->left, v->nb_left, sizeof(char *), cmp_str);
}

static void
view_free(struct pp_view *v)
{
	for (uint32_t i = 0; i < v->nb_status; i++)
		free(v->status[i]);
	for (uint32_t i = 0; i < v->nb_left; i++)
		free(v->left[i]);
	free(v->status);
	free(v->left);
}

static void
view_eq(const struct pp_view *a, const struct pp_view *b)
{
	cr_assert_eq(a->nb_status, b->nb_status);
	cr_assert_eq(a->nb_left, b->nb_left);
	for (uint32_t i = 0; i < a->nb_status; i++)
		cr_assert_str_eq(a->status[i], b->status[i]);
	for (uint32_t i = 0; i < a->nb_left; i++)
		cr_assert_str_eq(a->left[i], b->left[i]);
	cr_assert_eq(a->pp.ltime, b->pp.ltime);
	cr_assert_eq(a->pp.event_ltime, b->pp.event_ltime);
	cr_assert_eq(a->pp.query_ltime, b->pp.query_ltime);
	cr_assert_eq(a->pp.nb_groups, b->pp.nb_groups);
	cr_assert_eq(a->pp.raw_events.len, b->pp.raw_events.len);
	cr_assert_eq(memcmp(a->pp.raw_events.ptr, b->pp.raw_events.ptr,
			    a->pp.raw_events.len), 0);
}

/* serf_local_state, whole. */
static uint8_t *
local_state(struct node *n, size_t *len)
{
	size_t cap = 64 * 1024 + 64 * (size_t)serf_member_count(n->serf);
	uint8_t *buf = malloc(cap);

	*len = serf_local_state(n->serf, buf, cap);
	cr_assert(*len > 0 && *len <= cap);
	return buf;
}

Test(serf_pp, full_state_is_serfs_state_in_any_window)
{
	struct node a;
	size_t caps[] = { 256, 300, 4096, 65536 };

	node_new(&a, "self");
	fill(&a, 3000, true);
	size_t wlen;
	uint8_t *whole = local_state(&a, &wlen);
	struct pp_view w;
	view(whole, wlen, &w);
	cr_assert_eq(w.nb_status, 3001);	/* self too */
	cr_assert_gt(w.nb_left, 400);
	for (unsigned c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct serf_pp_enc e;
		size_t len;
		cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
		uint8_t *s = pp_stream(&a, &e, caps[c], NULL, 0, &len);
		cr_assert_eq(len, e.len, "cap %zu: %zu of %zu", caps[c], len,
			     e.len);
		struct pp_view v;
		view(s, len, &v);
		view_eq(&v, &w);
		/* serf's field order: LTime first, StatusLTimes next */
		cr_assert_eq(s[0], SERF_MSG_PUSH_PULL);
		cr_assert_eq(memcmp(s + 2, "\xa5LTime", 6), 0);
		view_free(&v);
		free(s);
		serf_pp_enc_end(a.serf, &e);
		serf_pp_enc_end(a.serf, &e);	/* twice is fine */
	}
	cr_assert_eq(a.serf->pp_enc_busy, 0);
	view_free(&w);
	free(whole);
	node_delete(&a);
}

/* --- a table changed between every slice --- */

static uint32_t mut_next;	/* next new member's number */

static void
mutate(struct node *n, unsigned k)
{
	char name[32];
	struct serf_member *m;

	/* 40 new members a slice: the index grows several times */
	for (int i = 0; i < 40; i++) {
		name_of(name, mut_next++);
		join(n, name, 1);
	}
	/* LTimes grow, statuses flip both ways, erasures are asked for */
	for (uint32_t i = k * 17 % 600; i < 600; i += 97) {
		name_of(name, i);
		m = get(n, name);
		if (m == NULL)
			continue;
		m->status_ltime += 1000000000ull;	/* wider if minimal */
		if (m->status == SERF_STATUS_LEFT)
			serf_member_set_status(n->serf, m, SERF_STATUS_ALIVE);
		else
			serf_member_set_status(n->serf, m, SERF_STATUS_LEFT);
	}
	name_of(name, 1000 + k);
	m = get(n, name);
	if (m != NULL)
		serf_member_erase(n->serf, m);	/* deferred now */
	serf_tick(n->serf, 1);
}

Test(serf_pp, table_changed_between_every_slice_keeps_the_length)
{
	struct node a;
	struct serf_pp_enc e;
	char name[32];
	size_t len;

	node_new(&a, "self");
	fill(&a, 2000, true);
	uint32_t mask0 = a.serf->index.mask;
	uint32_t nb0 = serf_member_count(a.serf);
	uint32_t left0 = a.serf->nb_status[SERF_STATUS_LEFT];
	mut_next = 100000;
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
	uint8_t *s = pp_stream(&a, &e, 512, mutate, 0, &len);
	cr_assert_eq(len, e.len, "%zu of the %zu announced", len, e.len);
	cr_assert_neq(a.serf->index.mask, mask0, "the index grew meanwhile");
	/* consistent: a valid messagePushPull of the members sized */
	struct pp_view v;
	view(s, len, &v);
	cr_assert_eq(v.nb_status, nb0);
	cr_assert_eq(v.nb_left, left0);
	for (uint32_t i = 1; i < v.nb_status; i++)
		cr_assert_str_neq(v.status[i - 1], v.status[i]);
	for (uint32_t i = 0; i < v.nb_status; i++)
		cr_assert_eq(strncmp(v.status[i], "member-01", 9) == 0, false,
			     "added later: %s", v.status[i]);
	/* every left name has its entry; one no slice touched keeps its
	 * leave's LTime (a flipped one is sent with 0 or its new LTime) */
	for (uint32_t i = 0; i < v.nb_left; i++) {
		size_t nl = strlen(v.left[i]);
		const char *hit = NULL;
		for (uint32_t j = 0; j < v.nb_status && hit == NULL; j++)
			if (strncmp(v.status[j], v.left[i], nl) == 0 &&
			    v.status[j][nl] == '=')
				hit = v.status[j];
		cr_assert_not_null(hit, "%s has no entry", v.left[i]);
		uint32_t idx = (uint32_t)strtoul(v.left[i] + 7, NULL, 10);
		if (idx >= 600)
			cr_assert_eq(strtoull(hit + nl + 1, NULL, 10),
				     idx + 1ull, "%s", hit);
	}
	/* no erase while streaming; they happen once it ended */
	name_of(name, 1000);
	cr_assert_not_null(get(&a, name));
	serf_pp_enc_end(a.serf, &e);
	serf_tick(a.serf, 2);
	cr_assert_null(get(&a, name));
	view_free(&v);
	free(s);
	node_delete(&a);
}

static bool
keep_odd(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	return len > 0 && (name[len - 1] - '0') % 2 == 1;
}

Test(serf_pp, filter_keeps_only_its_members)
{
	struct node a;
	struct serf_pp_enc e;
	size_t len;

	node_new(&a, "self");
	fill(&a, 500, true);
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, keep_odd, NULL), 0);
	uint8_t *s = pp_stream(&a, &e, 1024, NULL, 0, &len);
	cr_assert_eq(len, e.len);
	struct pp_view v;
	view(s, len, &v);
	cr_assert_eq(v.nb_status, 250);
	for (uint32_t i = 0; i < v.nb_status; i++) {
		const char *eq = strchr(v.status[i], '=');
		cr_assert((eq[-1] - '0') % 2 == 1, "%s", v.status[i]);
	}
	for (uint32_t i = 0; i < v.nb_left; i++)
		cr_assert((v.left[i][strlen(v.left[i]) - 1] - '0') % 2 == 1);
	serf_pp_enc_end(a.serf, &e);
	view_free(&v);
	free(s);
	node_delete(&a);
}

Test(serf_pp, at_most_enc_max_encoders)
{
	struct node a;
	struct serf_pp_enc e[SERF_PP_ENC_MAX + 1];

	node_new(&a, "self");
	fill(&a, 50, false);
	for (int i = 0; i < SERF_PP_ENC_MAX; i++)
		cr_assert_eq(serf_pp_enc_start(a.serf, &e[i], NULL, NULL), 0);
	cr_assert_eq(serf_pp_enc_start(a.serf, &e[SERF_PP_ENC_MAX], NULL,
					NULL), -EBUSY);
	serf_pp_enc_end(a.serf, &e[3]);
	cr_assert_eq(serf_pp_enc_start(a.serf, &e[SERF_PP_ENC_MAX], NULL,
					NULL), 0);
	cr_assert_eq(e[SERF_PP_ENC_MAX].slot, 3);
	/* each streams its own copy, interleaved */
	uint8_t w[2][4096];
	long n0 = serf_pp_enc_next(a.serf, &e[0], w[0], sizeof(w[0]));
	long n1 = serf_pp_enc_next(a.serf, &e[1], w[1], sizeof(w[1]));
	cr_assert_eq(n0, (long)e[0].len);
	cr_assert_eq(n1, n0);
	cr_assert_eq(memcmp(w[0], w[1], (size_t)n0), 0);
	for (int i = 0; i <= SERF_PP_ENC_MAX; i++)
		serf_pp_enc_end(a.serf, &e[i]);
	cr_assert_eq(a.serf->pp_enc_busy, 0);
	node_delete(&a);
}

/* --- the decoder --- */

/*
 * Feed len bytes of a state announced as `announced` bytes through a
 * window of win bytes in random cuts, as the sync engine does.
 * @retval 0 done, 1 waiting for more, or the error.
 */
static long
feed(struct node *n, const uint8_t *buf, size_t len, uint64_t announced,
     bool join, size_t win, unsigned seed, size_t *peak)
{
	struct serf_pp_dec *d = malloc(sizeof(*d));
	uint8_t *w = malloc(win);
	size_t wl = 0, off = 0;
	long c = 0;

	srand(seed);
	serf_pp_dec_start(n->serf, d, announced, join);
	while (!serf_pp_dec_done(d)) {
		size_t k = 1 + (size_t)rand() % 700;
		if (k > win - wl)
			k = win - wl;
		if (k > len - off)
			k = len - off;
		memcpy(w + wl, buf + off, k);
		wl += k;
		off += k;
		c = serf_pp_dec_next(n->serf, d, 1, w, wl);
		if (c < 0)
			break;
		memmove(w, w + c, wl - (size_t)c);
		wl -= (size_t)c;
		if (peak != NULL) {
			struct mallinfo2 mi = mallinfo2();
			if (mi.uordblks > *peak)
				*peak = mi.uordblks;
		}
		if (off == len && c == 0)
			break;
	}
	bool done = serf_pp_dec_done(d);
	free(d);
	free(w);
	return c < 0 ? c : done ? 0 : 1;
}

/* B's side before the merge: members 0..2799 of A's, states of its own. */
static void
fill_b(struct node *b)
{
	char name[32];

	fill(b, 2800, false);
	for (uint32_t i = 0; i < 2800; i++) {
		name_of(name, i);
		struct serf_member *m = get(b, name);
		if (i % 37 == 1)
			serf_member_set_status(b->serf, m,
					       SERF_STATUS_LEAVING);
		else if (i % 9 == 2)
			serf_member_set_status(b->serf, m, SERF_STATUS_FAILED);
		else if (i % 17 == 4) {
			serf_member_set_status(b->serf, m, SERF_STATUS_LEFT);
			m->status_ltime = 1u << 30;	/* newer than A's */
		} else if (i % 19 == 8)
			serf_member_set_status(b->serf, m, SERF_STATUS_LEFT);
	}
}

/* Events popped, by kind (counts must hold SERF_EV_COUNT). */
static void
events(struct node *x, uint32_t *counts)
{
	struct serf_event ev;

	while (serf_pop_event(x->serf, &ev))
		counts[ev.kind]++;
}

/* Two Serf layers hold the same members, statuses, LTimes, intents;
 * x's events are the ones counted in ey. */
static void
same(struct node *x, struct node *y, const uint32_t *ey)
{
	char name[32];

	for (uint32_t i = 0; i < 3000; i++) {
		name_of(name, i);
		struct serf_member *a = get(x, name), *b = get(y, name);
		cr_assert_eq(a == NULL, b == NULL, "%s", name);
		if (a != NULL) {
			cr_assert_eq(a->status, b->status, "%s: %d %d", name,
				     a->status, b->status);
			cr_assert_eq(a->status_ltime, b->status_ltime,
				     "%s: %llu %llu", name,
				     (unsigned long long)a->status_ltime,
				     (unsigned long long)b->status_ltime);
			continue;
		}
		struct serf_intent *p = swim_index_find(
			&x->serf->intent_index, name, strlen(name));
		struct serf_intent *q = swim_index_find(
			&y->serf->intent_index, name, strlen(name));
		cr_assert(p != NULL && q != NULL, "%s", name);
		cr_assert_eq(p->type, q->type, "%s", name);
		cr_assert_eq(p->ltime, q->ltime, "%s", name);
	}
	cr_assert_eq(x->serf->clock.time, y->serf->clock.time);
	cr_assert_eq(x->serf->event_clock.time, y->serf->event_clock.time);
	cr_assert_eq(x->serf->query_clock.time, y->serf->query_clock.time);
	cr_assert_eq(x->serf->event_min_time, y->serf->event_min_time);
	uint32_t ex[SERF_EV_COUNT] = { 0 };
	events(x, ex);
	for (int k = 0; k < SERF_EV_COUNT; k++)
		cr_assert_eq(ex[k], ey[k], "%s: %u %u", serf_event_kind_str[k],
			     ex[k], ey[k]);
	cr_assert_eq(ex[SERF_EV_USER],
		     x->serf->event_min_time > 0 ? 0u : 3u);
}

/* The reference: serf_merge_remote_state of the whole state. */
static void
merge_whole(struct node *b, const uint8_t *buf, size_t len, bool join)
{
	cr_assert_eq(serf_merge_remote_state(b->serf, 1, buf, len, join), 0);
}

Test(serf_pp, decoder_merges_as_the_whole_merge_both_orders_any_cut)
{
	struct node a, ref, b;
	struct serf_pp_enc e;
	size_t glen, alen;

	node_new(&a, "a");
	fill(&a, 3000, true);
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
	/* serf's field order, and older gossipd's (alphabetical) */
	uint8_t *go = pp_stream(&a, &e, 65536, NULL, 0, &glen);
	serf_pp_enc_end(a.serf, &e);
	uint8_t *abc = local_state(&a, &alen);
	for (int join = 0; join < 2; join++) {
		node_new(&ref, "b");
		fill_b(&ref);
		merge_whole(&ref, go, glen, join);
		uint32_t ey[SERF_EV_COUNT] = { 0 };
		events(&ref, ey);
		for (unsigned seed = 1; seed <= 3; seed++) {
			const uint8_t *st = seed == 2 ? abc : go;
			size_t len = seed == 2 ? alen : glen;
			node_new(&b, "b");
			fill_b(&b);
			cr_assert_eq(feed(&b, st, len, len, join, 65536,
					  seed, NULL), 0);
			same(&b, &ref, ey);
			node_delete(&b);
		}
		node_delete(&ref);
	}
	free(go);
	free(abc);
	node_delete(&a);
}

/* A state by hand: 02 + the map's bytes. */
static size_t
hand(uint8_t *out, const char *hex)
{
	size_t n = 0;

	for (; hex[0] != 0 && hex[1] != 0; hex += 2) {
		if (*hex == ' ') {
			hex--;
			continue;
		}
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

Test(serf_pp, hostile_and_truncated_states_get_their_error)
{
	struct node b;
	uint8_t buf[80000];
	size_t n;

	node_new(&b, "b");
	fill(&b, 10, false);
	uint64_t bad = b.serf->stats.msgs_bad;
	/* not a messagePushPull */
	n = hand(buf, "0381a54c54696d6501");
	cr_assert_eq(feed(&b, buf, n, n, false, 4096, 1, NULL),
		     SWIM_WIRE_E_UNKNOWN_MSG);
	cr_assert_eq(b.serf->stats.msgs_bad, bad + 1);
	/* a nil message */
	n = hand(buf, "02c0");
	cr_assert_eq(feed(&b, buf, n, n, false, 4096, 1, NULL),
		     SWIM_WIRE_E_TYPE);
	/* UserStateLen cuts the message short: {LTime: 5, StatusLTimes:
	 * {"member-0000001": 9, ...} ends inside the second entry */
	n = hand(buf, "0282a54c54696d6505ac5374617475734c54696d657382"
		 "ae6d656d6265722d3030303030303109ae6d656d");
	cr_assert_eq(feed(&b, buf, n, n, false, 4096, 1, NULL),
		     SWIM_WIRE_E_TRUNCATED);
	cr_assert_eq(get(&b, "member-0000001")->status_ltime, 9,
		     "what was whole is merged");
	cr_assert_eq(b.serf->stats.msgs_bad, bad + 3);
	/* a map that claims more entries than it has: the next key is no
	 * entry ("LeftMembers": [] read as name and LTime) */
	n = hand(buf, "0282ac5374617475734c54696d6573de0100"
		 "ae6d656d6265722d3030303030303206ab4c6566744d656d6265727390");
	cr_assert_eq(feed(&b, buf, n, n, false, 4096, 1, NULL),
		     SWIM_WIRE_E_TYPE);
	/* a name of 1 MiB: LENGTH once SERF_PP_PIECE_MAX bytes are in */
	n = hand(buf, "0281ac5374617475734c54696d657381db00100000");
	memset(buf + n, 'a', 40000);
	cr_assert_eq(feed(&b, buf, n + 40000, 1u << 21, false, 65536, 1,
			  NULL), SWIM_WIRE_E_LENGTH);
	/* a stream that stops early just waits (the engine sees the EOF) */
	n = hand(buf, "0281ab4c6566744d656d62657273");
	cr_assert_eq(feed(&b, buf, n, n + 10, false, 4096, 1, NULL), 1);
	cr_assert_eq(b.serf->stats.msgs_bad, bad + 5);
	/* trailing bytes after the message are skipped */
	n = hand(buf, "0281a54c54696d65cd1000");
	memset(buf + n, 0xc1, 100);
	cr_assert_eq(feed(&b, buf, n + 100, n + 100, false, 4096, 1, NULL), 0);
	cr_assert_geq(b.serf->clock.time, 0x0fff);
	node_delete(&b);
}

Test(serf_pp, unknown_fields_of_any_size_are_skipped)
{
	struct node b;
	uint8_t buf[200000];
	size_t n;

	node_new(&b, "b");
	fill(&b, 10, false);
	/* {"Future": [[1, {"a": bin32 150000}], "x"], "StatusLTimes":
	 *  {"member-0000003": 77}, "QueryLTime": 300} */
	n = hand(buf, "0283a6467574757265929201" "81a161c6000249f0");
	memset(buf + n, 0xc1, 150000);
	n += 150000;
	n += hand(buf + n, "a178ac5374617475734c54696d657381"
		  "ae6d656d6265722d30303030303033" "4d"
		  "aa51756572794c54696d65cd012c");
	for (unsigned seed = 1; seed <= 2; seed++) {
		get(&b, "member-0000003")->status_ltime = 0;
		cr_assert_eq(feed(&b, buf, n, n, false, 65536, seed, NULL), 0);
		cr_assert_eq(get(&b, "member-0000003")->status_ltime, 77);
		cr_assert_geq(b.serf->query_clock.time, 299);
	}
	node_delete(&b);
}

Test(serf_pp, pool_of_1e5_both_ways_in_bounded_memory)
{
	struct node a, b;
	struct serf_pp_enc e;
	uint8_t *win = malloc(65536);
	uint8_t *rx = malloc(65536);
	struct serf_pp_dec *d = malloc(sizeof(*d));
	char name[32];
	const uint32_t nb = 100000;

	node_new(&a, "a");
	node_new(&b, "b");
	fill(&a, nb, false);
	fill(&b, nb, false);
	for (uint32_t i = 0; i < nb; i++) {
		name_of(name, i);
		get(&a, name)->status_ltime = 1000 + i;
	}
	a.serf->clock.time = 1000 + nb;	/* intents witness their LTime */
	size_t base = mallinfo2().uordblks, peak = base, rl = 0;
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
	serf_pp_dec_start(b.serf, d, e.len, false);
	cr_assert_gt(e.len, 2000000, "the state is %zu bytes", e.len);
	cr_assert_lt(e.events_len, 64, "the largest buffer");
	long w;
	while ((w = serf_pp_enc_next(a.serf, &e, win, 65536)) != 0) {
		if (w == -EAGAIN)
			continue;
		cr_assert_gt(w, 0);
		/* through the receiver's window, whatever it holds */
		for (size_t off = 0; off < (size_t)w;) {
			size_t k = 65536 - rl < (size_t)w - off ?
				   65536 - rl : (size_t)w - off;
			memcpy(rx + rl, win + off, k);
			rl += k;
			off += k;
			long c = serf_pp_dec_next(b.serf, d, 1, rx, rl);
			cr_assert_geq(c, 0);
			memmove(rx, rx + c, rl - (size_t)c);
			rl -= (size_t)c;
		}
		size_t now = mallinfo2().uordblks;
		peak = now > peak ? now : peak;
	}
	cr_assert(serf_pp_dec_done(d));
	cr_assert_eq(d->merged, nb + 1);
	cr_assert_lt(peak - base, 16 * 1024, "heap grew %zu bytes for a "
		     "%zu-byte state", peak - base, e.len);
	for (uint32_t i = 0; i < nb; i += 997) {
		name_of(name, i);
		cr_assert_eq(get(&b, name)->status_ltime, 1000 + i);
	}
	serf_pp_enc_end(a.serf, &e);
	free(d);
	free(win);
	free(rx);
	node_delete(&a);
	node_delete(&b);
}

Test(serf_pp, ltime_outgrowing_its_width_goes_as_zero)
{
	struct node a;
	struct serf_pp_enc e;
	size_t len;

	node_new(&a, "self");
	fill(&a, 10, true);	/* clock 20: LTimes as uint16 */
	cr_assert_eq(serf_pp_enc_start(a.serf, &e, NULL, NULL), 0);
	cr_assert_eq(e.lt_bytes, 2);
	get(&a, "member-0000003")->status_ltime = 70000;	/* too wide */
	get(&a, "member-0000004")->status_ltime = 65535;	/* fits */
	uint8_t *s = pp_stream(&a, &e, 4096, NULL, 0, &len);
	cr_assert_eq(len, e.len);
	struct pp_view v;
	view(s, len, &v);
	bool seen3 = false, seen4 = false;
	for (uint32_t i = 0; i < v.nb_status; i++) {
		seen3 |= strcmp(v.status[i], "member-0000003=0") == 0;
		seen4 |= strcmp(v.status[i], "member-0000004=65535") == 0;
	}
	cr_assert(seen3 && seen4);
	serf_pp_enc_end(a.serf, &e);
	view_free(&v);
	free(s);
	node_delete(&a);
}

Test(serf_pp, decoder_marks_never_outlive_a_wrap)
{
	struct node b;
	struct serf_pp_dec d;

	node_new(&b, "b");
	fill(&b, 5, false);
	struct serf_member *m = get(&b, "member-0000002");
	m->pp_dec = 1;		/* a mark left by decode 1 */
	b.serf->pp_dec_gen = UINT16_MAX;
	serf_pp_dec_start(b.serf, &d, 10, false);
	cr_assert_eq(d.gen, 1);
	cr_assert_eq(m->pp_dec, 0, "the walk cleared it");
	node_delete(&b);
}
