/*
 * Push/pull: our encoding, memberlist's merge rules (doc §6.3), the
 * version check (§9.2), restarts (§6.5), join and periodic sync.
 */
#include "tu_suite.h"

TestSuite(core_pp, .init = tu_suite_setup, .fini = tu_suite_teardown);

struct pp_node {
	const char *name;
	uint8_t ip;
	uint32_t inc;
	enum swim_status st;
	const uint8_t *vsn;	/* NULL: none */
};

static size_t
pp_build(uint8_t *buf, size_t cap, bool join, const struct pp_node *n,
	 unsigned nb, const char *user)
{
	struct swim_push_pull_header h = {
		.join = join, .nb_nodes = nb,
		.user_state_len = user ? (uint32_t)strlen(user) : 0,
	};
	int len = swim_wire_encode_push_pull_header(&h, buf, cap);
	cr_assert(len > 0);
	size_t off = (size_t)len;
	for (unsigned i = 0; i < nb; i++) {
		uint8_t ip[4] = { 10, 0, 0, n[i].ip };
		struct swim_push_node pn = {
			.name = tu_s(n[i].name),
			.addr = { ip, 4 },
			.port = 7946,
			.incarnation = n[i].inc,
			.state = n[i].st,
			.vsn = { n[i].vsn, n[i].vsn ? SWIM_VSN_LEN : 0 },
		};
		len = swim_wire_encode_push_node(&pn, buf + off, cap - off);
		cr_assert(len > 0);
		off += (size_t)len;
	}
	if (user != NULL) {
		memcpy(buf + off, user, strlen(user));
		off += strlen(user);
	}
	return off;
}

static int
merge(const struct pp_node *n, unsigned nb, struct swim_str *us)
{
	uint8_t buf[8192];
	size_t len = pp_build(buf, sizeof(buf), false, n, nb, "USER");
	struct swim_str dummy;
	int rc = swim_push_pull_merge(t->s, t->now, buf, len,
				      us ? us : &dummy);
	if (rc > 0)
		cr_assert_eq((size_t)rc, len);
	return rc;
}

Test(core_pp, merge_alive_joins_and_user_state)
{
	struct pp_node n[] = {
		{ "a", 2, 3, SWIM_STATUS_ALIVE, tu_vsn },
		{ "b", 3, 1, SWIM_STATUS_ALIVE, tu_vsn },
	};
	struct swim_str us;
	cr_assert(merge(n, 2, &us) > 0);
	cr_assert_eq(us.len, 4);
	cr_assert_eq(memcmp(us.ptr, "USER", 4), 0);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 2);
	cr_assert_eq(tu_inc(t, "a"), 3);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.push_pulls, 1);
}

Test(core_pp, merge_remote_dead_is_only_suspect)
{
	tu_peers(t, 3);
	struct pp_node n[] = {
		{ "p2", 2, 1, SWIM_STATUS_DEAD, tu_vsn },
		{ "p3", 3, 1, SWIM_STATUS_SUSPECT, tu_vsn },
		{ "p4", 4, 1, SWIM_STATUS_LEFT, tu_vsn },
	};
	cr_assert(merge(n, 3, NULL) > 0);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	cr_assert_eq(tu_status(t, "p3"), SWIM_STATUS_SUSPECT);
	/* left -> dead{From: Node} -> left */
	cr_assert_eq(tu_status(t, "p4"), SWIM_STATUS_LEFT);
}

Test(core_pp, merge_unknown_dead_ignored)
{
	struct pp_node n[] = {
		{ "x", 2, 1, SWIM_STATUS_DEAD, tu_vsn },
		{ "y", 3, 1, SWIM_STATUS_LEFT, tu_vsn },
	};
	cr_assert(merge(n, 2, NULL) > 0);
	cr_assert_eq(swim_member_count(t->s), 1);
}

Test(core_pp, merge_about_self_refutes)
{
	/* §6.5: a restarted node sees its old, higher incarnation */
	struct pp_node n[] = { { "me", 1, 5, SWIM_STATUS_ALIVE, tu_vsn } };
	cr_assert(merge(n, 1, NULL) > 0);
	cr_assert_eq(swim_self_incarnation(t->s), 6);
	struct pp_node d[] = { { "me", 1, 6, SWIM_STATUS_DEAD, tu_vsn } };
	cr_assert(merge(d, 1, NULL) > 0);
	cr_assert_eq(swim_self_incarnation(t->s), 7);
	struct pp_node l[] = { { "me", 1, 7, SWIM_STATUS_LEFT, tu_vsn } };
	cr_assert(merge(l, 1, NULL) > 0);
	cr_assert_eq(swim_self_incarnation(t->s), 8);
	cr_assert_eq(tu_status(t, "me"), SWIM_STATUS_ALIVE);
}

Test(core_pp, version_check_rejects_whole_merge)
{
	/* a remote alive needing PMin 3: our own PCur 2 is out */
	static const uint8_t v3[6] = { 3, 5, 3, 2, 5, 5 };
	struct pp_node n[] = {
		{ "a", 2, 1, SWIM_STATUS_ALIVE, tu_vsn },
		{ "b", 3, 1, SWIM_STATUS_ALIVE, v3 },
	};
	cr_assert_eq(merge(n, 2, NULL), SWIM_E_PROTO_VERSION);
	cr_assert_eq(swim_member_count(t->s), 1);
}

Test(core_pp, version_check_remote_pcur)
{
	/* a dead entry without Vsn counts as PCur 0: rejected */
	struct pp_node n[] = { { "a", 2, 1, SWIM_STATUS_DEAD, NULL } };
	cr_assert_eq(merge(n, 1, NULL), SWIM_E_PROTO_VERSION);
	/* delegate version: DCur 1 below serf's DMin 2 */
	static const uint8_t d1[6] = { 1, 5, 2, 1, 5, 1 };
	struct pp_node m[] = { { "b", 3, 1, SWIM_STATUS_DEAD, d1 } };
	cr_assert_eq(merge(m, 1, NULL), SWIM_E_PROTO_VERSION);
	/* a wider range is fine */
	static const uint8_t wide[6] = { 1, 5, 2, 1, 5, 4 };
	struct pp_node w[] = { { "c", 4, 1, SWIM_STATUS_ALIVE, wide } };
	cr_assert(merge(w, 1, NULL) > 0);
}

Test(core_pp, merge_errors)
{
	uint8_t buf[1024];
	struct swim_str us;
	struct pp_node n[] = { { "a", 2, 1, SWIM_STATUS_ALIVE, tu_vsn } };
	size_t len = pp_build(buf, sizeof(buf), false, n, 1, NULL);
	cr_assert_eq(swim_push_pull_merge(t->s, t->now, buf, len - 1, &us),
		     SWIM_WIRE_E_AGAIN);
	cr_assert_eq(swim_push_pull_merge(t->s, t->now, NULL, 0, &us),
		     SWIM_WIRE_E_TRUNCATED);
	buf[0] = 0x07;
	cr_assert(swim_push_pull_merge(t->s, t->now, buf, len, &us) < 0);
	cr_assert_eq(swim_member_count(t->s), 1);
}

struct pp_seen {
	unsigned nb;
	char names[8][16];
	enum swim_status st[8];
	bool vsn_full;
};

static int
pp_seen_visit(void *ctx, const struct swim_push_node *n)
{
	struct pp_seen *s = ctx;
	if (s->nb < 8) {
		tu_str(s->names[s->nb], &n->name);
		s->st[s->nb] = n->state;
	}
	s->vsn_full &= n->vsn.len == SWIM_VSN_LEN;
	s->nb++;
	return 0;
}

Test(core_pp, encode_all_members)
{
	tu_peers(t, 2);
	tu_accuse(t, SWIM_MSG_DEAD, "p3", 1, "p3");
	uint8_t buf[4096];
	size_t len = swim_push_pull_encode(t->s, true, (const uint8_t *)"us", 2,
					   buf, sizeof(buf));
	cr_assert(len > 0 && len < sizeof(buf));
	struct swim_push_pull_header h;
	struct pp_seen seen = { .vsn_full = true };
	struct swim_str us;
	cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, pp_seen_visit,
						&seen, &us), (int)len);
	cr_assert(h.join);
	cr_assert_eq(h.nb_nodes, 3);
	cr_assert_eq(seen.nb, 3);
	cr_assert(seen.vsn_full);
	cr_assert_eq(us.len, 2);
	bool left = false;
	for (unsigned i = 0; i < 3; i++)
		left |= strcmp(seen.names[i], "p3") == 0 &&
			seen.st[i] == SWIM_STATUS_LEFT;
	cr_assert(left);
}

Test(core_pp, encode_reports_needed_size)
{
	tu_peers(t, 5);
	uint8_t big[4096];
	uint8_t small[40];
	size_t need = swim_push_pull_encode(t->s, false, NULL, 0, big,
					    sizeof(big));
	cr_assert_eq(swim_push_pull_encode(t->s, false, NULL, 0, small,
					   sizeof(small)), need);
	cr_assert_eq(swim_push_pull_encode(t->s, false, NULL, 0, NULL, 0),
		     need);
	uint8_t exact[4096];
	cr_assert_eq(swim_push_pull_encode(t->s, false, NULL, 0, exact, need),
		     need);
	cr_assert_eq(memcmp(exact, big, need), 0);
}

Test(core_pp, two_cores_sync)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	strcpy(cfg.name, "other");
	tu_addr(2, &cfg.addr);
	struct tu *u = tu_new_cfg(&cfg);
	tu_peers(t, 1);		/* me knows p2 */
	uint8_t a[4096];
	uint8_t b[4096];
	struct swim_str us;
	size_t la = swim_push_pull_encode(t->s, true, NULL, 0, a, sizeof(a));
	size_t lb = swim_push_pull_encode(u->s, true, NULL, 0, b, sizeof(b));
	cr_assert_eq(swim_push_pull_merge(u->s, u->now, a, la, &us), (int)la);
	cr_assert_eq(swim_push_pull_merge(t->s, t->now, b, lb, &us), (int)lb);
	cr_assert_eq(swim_member_count(t->s), 3);
	cr_assert_eq(swim_member_count(u->s), 3);
	tu_delete(u);
}

Test(core_pp, join_requests_push_pull)
{
	struct swim_addr seeds[2];
	tu_addr(5, &seeds[0]);
	tu_addr(6, &seeds[1]);
	swim_join(t->s, t->now, seeds, 2);
	tu_collect(t);
	cr_assert_eq(tu_count_kind(t, SWIM_OUT_PUSH_PULL), 2);
	cr_assert(t->m[0].join);
	cr_assert_eq(t->m[0].to.ip[3], 5);
	cr_assert_eq(t->m[1].to.ip[3], 6);
	swim_push_pull_failed(t->s, t->now, &seeds[0], true);
	swim_join(t->s, t->now, NULL, 3);
	tu_collect(t);
	cr_assert_eq(t->nb, 0);
}

Test(core_pp, periodic_push_pull_to_alive_peer)
{
	tu_run(t, 70 * S);
	/* alone: nobody to sync with */
	cr_assert_eq(t->total_kind[SWIM_OUT_PUSH_PULL], 0);
	tu_peers(t, 1);
	tu_run(t, 70 * S);
	/* every 30 s */
	unsigned nb = t->total_kind[SWIM_OUT_PUSH_PULL];
	cr_assert(nb >= 2 && nb <= 3, "nb %u", nb);
	cr_assert_not(t->last_tcp.join);
	cr_assert_str_eq(t->last_tcp.node, "p2");
}

Test(core_pp, push_pull_interval_scales_with_size)
{
	tu_peers(t, 40);	/* n = 41 > 32: every 60 s */
	tu_run(t, 61 * S);	/* past the random first delay */
	unsigned before = t->total_kind[SWIM_OUT_PUSH_PULL];
	tu_run(t, 120 * S);
	cr_assert_eq(t->total_kind[SWIM_OUT_PUSH_PULL] - before, 2);
}

Test(core_pp, push_pull_off)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	cfg.push_pull_interval_us = 0;
	struct tu *u = tu_new_cfg(&cfg);
	tu_peers(u, 2);
	tu_run(u, 100 * S);
	cr_assert_eq(u->total_kind[SWIM_OUT_PUSH_PULL], 0);
	tu_delete(u);
}
