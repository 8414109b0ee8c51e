/* SPDX-License-Identifier: MIT */
/*
 * Event handlers (control/cp_handler*.c) without a daemon: serf's filter
 * syntax and matching, the member lines and payload stdin, the
 * environment, both coalescers on an injected clock.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_handler.h"

/* --- filters --- */

Test(cp_handler, no_filter_is_every_event)
{
	struct cp_hscript s[4];
	char err[256] = "";

	cr_assert_eq(cp_handler_parse("/x/h.sh", s, 4, err, sizeof(err)), 1);
	cr_assert_eq(s[0].kind, CP_HF_ANY);
	cr_assert_str_eq(s[0].script, "/x/h.sh");
	cr_assert_str_eq(s[0].name, "");
	cr_assert_eq(cp_handler_parse("=h", s, 4, err, sizeof(err)), 1);
	cr_assert_eq(s[0].kind, CP_HF_ANY);
	cr_assert_eq(cp_handler_parse("*=h", s, 4, err, sizeof(err)), 1);
	cr_assert_eq(s[0].kind, CP_HF_ANY);
}

Test(cp_handler, every_kind_and_names)
{
	static const struct {
		const char *spec;
		int kind;
		const char *name;
	} c[] = {
		{"member-join=h", SERF_EV_MEMBER_JOIN, ""},
		{"member-leave=h", SERF_EV_MEMBER_LEAVE, ""},
		{"member-failed=h", SERF_EV_MEMBER_FAILED, ""},
		{"member-update=h", SERF_EV_MEMBER_UPDATE, ""},
		{"member-reap=h", SERF_EV_MEMBER_REAP, ""},
		{"user=h", SERF_EV_USER, ""},
		{"user:deploy=h", SERF_EV_USER, "deploy"},
		{"query=h", SERF_EV_QUERY, ""},
		{"query:uptime=h", SERF_EV_QUERY, "uptime"},
		{"user:=h", SERF_EV_USER, ""},
	};
	struct cp_hscript s[2];
	char err[256];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cr_assert_eq(cp_handler_parse(c[i].spec, s, 2, err,
					      sizeof(err)), 1, "%s", c[i].spec);
		cr_assert_eq(s[0].kind, c[i].kind, "%s", c[i].spec);
		cr_assert_str_eq(s[0].name, c[i].name);
		cr_assert_str_eq(s[0].script, "h");
	}
}

Test(cp_handler, comma_list_and_equals_in_script)
{
	struct cp_hscript s[4];
	char err[256];

	cr_assert_eq(cp_handler_parse("member-join,member-leave,user:a=echo "
				      "k=v", s, 4, err, sizeof(err)), 3);
	cr_assert_eq(s[0].kind, SERF_EV_MEMBER_JOIN);
	cr_assert_eq(s[1].kind, SERF_EV_MEMBER_LEAVE);
	cr_assert_eq(s[2].kind, SERF_EV_USER);
	cr_assert_str_eq(s[2].name, "a");
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(s[i].script, "echo k=v");
}

Test(cp_handler, invalid_filters_exact_errors)
{
	struct cp_hscript s[4];
	char err[256];

	cr_assert_eq(cp_handler_parse("foo=x", s, 4, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "Invalid event script: Event 'foo' invoking "
			 "'x'");
	cr_assert_eq(cp_handler_parse("member-join,bogus=x", s, 4, err,
				      sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "Invalid event script: Event 'bogus' invoking "
			 "'x'");
	/* serf splits at the first '=': a bare script with '=' is a filter */
	cr_assert_eq(cp_handler_parse("echo a=b", s, 4, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(cp_handler_parse("member-join,=x", s, 4, err,
				      sizeof(err)), -EINVAL);
	cr_assert_eq(cp_handler_parse("Member-Join=x", s, 4, err,
				      sizeof(err)), -EINVAL);
}

Test(cp_handler, bounds)
{
	struct cp_hscript s[2];
	char err[256], name[300], spec[CP_HANDLER_LEN + 16];

	cr_assert_eq(cp_handler_parse("user,query,member-join=x", s, 2, err,
				      sizeof(err)), -E2BIG);
	memset(name, 'n', 200);
	snprintf(spec, sizeof(spec), "user:%.200s=x", name);
	cr_assert_eq(cp_handler_parse(spec, s, 2, err, sizeof(err)), -EINVAL);
	memset(spec, 'x', CP_HANDLER_LEN);
	spec[CP_HANDLER_LEN] = '\0';
	cr_assert_eq(cp_handler_parse(spec, s, 2, err, sizeof(err)), -EINVAL);
}

Test(cp_handler, set_parse)
{
	static char specs[3][CP_HANDLER_LEN] = {
		"member-join=a", "b", "user:x,query=c"};
	static char many[2][CP_HANDLER_LEN];
	struct cp_hset set;
	char err[256];
	char *p;

	cr_assert_eq(cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])specs,
				   3, err, sizeof(err)), 0);
	cr_assert_eq(set.nb, 4);
	cr_assert_str_eq(set.v[1].script, "b");
	cr_assert_eq(set.v[3].kind, SERF_EV_QUERY);
	cp_hset_free(&set);
	cr_assert_null(set.v);
	strcpy(specs[1], "nope=b");
	cr_assert_eq(cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])specs,
				   3, err, sizeof(err)), -EINVAL);
	cr_assert_eq(set.nb, 0);
	/* 2 x 80 filters: past CP_HSCRIPTS_MAX */
	for (int k = 0; k < 2; k++) {
		p = many[k];
		for (int i = 0; i < 80; i++)
			p += sprintf(p, "%suser", i ? "," : "");
		strcpy(p, "=x");
	}
	cr_assert_eq(cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])many,
				   2, err, sizeof(err)), -E2BIG);
}

Test(cp_handler, match)
{
	struct cp_hscript s;
	struct cp_hevent *u = cp_hevent_new(SERF_EV_USER, "deploy", NULL, 0);
	struct cp_hevent *q = cp_hevent_new(SERF_EV_QUERY, "deploy", NULL, 0);
	struct cp_hevent *j = cp_hevent_new(SERF_EV_MEMBER_JOIN, "", NULL, 0);
	char err[64];

	cp_handler_parse("x", &s, 1, err, sizeof(err));
	cr_assert(cp_hscript_match(&s, u) && cp_hscript_match(&s, q) &&
		  cp_hscript_match(&s, j));
	cp_handler_parse("user=x", &s, 1, err, sizeof(err));
	cr_assert(cp_hscript_match(&s, u));
	cr_assert_not(cp_hscript_match(&s, q) || cp_hscript_match(&s, j));
	cp_handler_parse("user:deploy=x", &s, 1, err, sizeof(err));
	cr_assert(cp_hscript_match(&s, u));
	cr_assert_not(cp_hscript_match(&s, q));
	cp_handler_parse("user:other=x", &s, 1, err, sizeof(err));
	cr_assert_not(cp_hscript_match(&s, u));
	cp_handler_parse("query:deploy=x", &s, 1, err, sizeof(err));
	cr_assert(cp_hscript_match(&s, q));
	cr_assert_not(cp_hscript_match(&s, u));
	cp_handler_parse("member-leave=x", &s, 1, err, sizeof(err));
	cr_assert_not(cp_hscript_match(&s, j));
	cp_handler_parse("member-join=x", &s, 1, err, sizeof(err));
	cr_assert(cp_hscript_match(&s, j));
	free(u);
	free(q);
	free(j);
}

/* --- stdin --- */

static struct serf_tag
tag(const char *k, const char *v)
{
	return (struct serf_tag){k, v, (uint32_t)strlen(k),
				 (uint32_t)strlen(v)};
}

Test(cp_handler, member_line)
{
	struct serf_tag t[3] = {tag("zone", "z1"), tag("role", "db"),
				tag("dc", "x")};
	char out[256];

	const char *a = "a2\t127.0.0.1\tdb\tdc=x,role=db,zone=z1\n";
	const char *b = "s1\t::1\t\t\n";

	cr_assert_eq(cp_handler_member_line("a2", "127.0.0.1", t, 3, out,
					    sizeof(out)), (int)strlen(a));
	cr_assert_str_eq(out, a);
	cr_assert_eq(cp_handler_member_line("s1", "::1", NULL, 0, out,
					    sizeof(out)), (int)strlen(b));
	cr_assert_str_eq(out, b);
}

Test(cp_handler, member_line_escapes_and_bounds)
{
	struct serf_tag t[2] = {tag("role", "w\teb"), tag("n", "a\nb")};
	char out[256];

	cp_handler_member_line("x\ty\nz", "10.0.0.1", t, 2, out, sizeof(out));
	cr_assert_str_eq(out, "x\\ty\\nz\t10.0.0.1\tw\\teb\t"
			 "n=a\\nb,role=w\\teb\n");
	cr_assert_eq(cp_handler_member_line("a2", "127.0.0.1", t, 2, out, 12),
		     -E2BIG);
	cr_assert_str_eq(out, "");
	cr_assert_eq(cp_handler_member_line("a", "b", NULL, 0, out, 0),
		     -E2BIG);
}

Test(cp_handler, payload_gets_a_newline)
{
	struct cp_hevent *a = cp_hevent_payload(SERF_EV_USER, "d",
						(const uint8_t *)"v1 2", 4);
	struct cp_hevent *b = cp_hevent_payload(SERF_EV_QUERY, "q",
						(const uint8_t *)"x\n", 2);
	struct cp_hevent *c = cp_hevent_payload(SERF_EV_USER, "d", NULL, 0);

	cr_assert_eq(a->in_len, 5);
	cr_assert_eq(memcmp(a->in, "v1 2\n", 5), 0);
	cr_assert_str_eq(a->name, "d");
	cr_assert_eq(b->in_len, 2);
	cr_assert_eq(c->in_len, 0);
	free(a);
	free(b);
	free(c);
}

/* --- environment --- */

Test(cp_handler, tag_var)
{
	char out[32];

	cr_assert_eq(cp_handler_tag_var("dc", 2, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "DC");
	cp_handler_tag_var("my-tag.x", 8, out, sizeof(out));
	cr_assert_str_eq(out, "MY_TAG_X");
	cp_handler_tag_var("a1_B", 4, out, sizeof(out));
	cr_assert_str_eq(out, "A1_B");
	cr_assert_eq(cp_handler_tag_var("z\xc3\xa9z", 4, out, sizeof(out)),
		     3);	/* one rune, one '_' as Go's regexp */
	cr_assert_str_eq(out, "Z_Z");
	cr_assert_eq(cp_handler_tag_var("abcdef", 6, out, 4), -E2BIG);
	cr_assert_eq(cp_handler_tag_var("", 0, out, 0), -E2BIG);
}

static const char *
env_get(char **env, const char *k)
{
	size_t kl = strlen(k);

	for (size_t i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], k, kl) == 0 && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

static size_t
env_count(char **env, const char *k)
{
	size_t n = 0, kl = strlen(k);

	for (size_t i = 0; env[i] != NULL; i++)
		n += strncmp(env[i], k, kl) == 0 && env[i][kl] == '=';
	return n;
}

Test(cp_handler, env_user_event)
{
	char *base[] = {"PATH=/bin", "SERF_EVENT=stale", "NOEQUALS", NULL};
	struct serf_tag t[2] = {tag("role", "web"), tag("dc", "x")};
	struct cp_hself self = {"a1", t, 2};
	struct cp_hevent *ev = cp_hevent_payload(SERF_EV_USER, "deploy",
						 NULL, 0);
	char **env;

	ev->ltime = 7;
	env = cp_handler_env(base, &self, ev);
	cr_assert_not_null(env);
	cr_assert_str_eq(env_get(env, "PATH"), "/bin");
	cr_assert_str_eq(env_get(env, "SERF_EVENT"), "user");
	cr_assert_eq(env_count(env, "SERF_EVENT"), 1);
	cr_assert_str_eq(env_get(env, "SERF_SELF_NAME"), "a1");
	cr_assert_str_eq(env_get(env, "SERF_SELF_ROLE"), "web");
	cr_assert_str_eq(env_get(env, "SERF_TAG_ROLE"), "web");
	cr_assert_str_eq(env_get(env, "SERF_TAG_DC"), "x");
	cr_assert_str_eq(env_get(env, "SERF_USER_EVENT"), "deploy");
	cr_assert_str_eq(env_get(env, "SERF_USER_LTIME"), "7");
	cr_assert_null(env_get(env, "SERF_QUERY_NAME"));
	cr_assert_null(env_get(env, "NOEQUALS"));
	cp_handler_env_free(env);
	free(ev);
}

Test(cp_handler, env_query_and_member)
{
	struct cp_hself self = {"g1", NULL, 0};
	struct cp_hevent *q = cp_hevent_payload(SERF_EV_QUERY, "uptime",
						NULL, 0);
	struct cp_hevent *m = cp_hevent_new(SERF_EV_MEMBER_FAILED, "", NULL,
					    0);
	char **env;

	q->ltime = 12345678901ull;
	env = cp_handler_env(NULL, &self, q);
	cr_assert_str_eq(env_get(env, "SERF_EVENT"), "query");
	cr_assert_str_eq(env_get(env, "SERF_QUERY_NAME"), "uptime");
	cr_assert_str_eq(env_get(env, "SERF_QUERY_LTIME"), "12345678901");
	cr_assert_str_eq(env_get(env, "SERF_SELF_ROLE"), "");
	cr_assert_null(env_get(env, "SERF_USER_EVENT"));
	cp_handler_env_free(env);
	env = cp_handler_env(NULL, &self, m);
	cr_assert_str_eq(env_get(env, "SERF_EVENT"), "member-failed");
	cr_assert_null(env_get(env, "SERF_QUERY_NAME"));
	cr_assert_null(env_get(env, "SERF_USER_LTIME"));
	cp_handler_env_free(env);
	free(q);
	free(m);
}

/* --- coalescing, on an injected clock --- */

#define S 1000000ull

static struct cp_hevent *got[64];
static unsigned nb_got;

static void
collect(void *ctx, struct cp_hevent *ev)
{
	(void)ctx;
	cr_assert_lt(nb_got, 64);
	got[nb_got++] = ev;
}

static void
got_clear(void)
{
	for (unsigned i = 0; i < nb_got; i++)
		free(got[i]);
	nb_got = 0;
}

static struct cp_hco *
co_agent(void)
{
	struct cp_hco_cfg m, u;

	cp_hco_cfg_agent(&m, &u);
	cr_assert_eq(m.period_us, 3 * S);
	cr_assert_eq(m.quiescent_us, 1 * S);
	cr_assert_eq(u.period_us, 3 * S);
	cr_assert_eq(u.quiescent_us, 1 * S);
	return cp_hco_new(&m, &u);
}

static bool
got_is(unsigned i, enum serf_event_kind k, const char *in)
{
	return got[i]->kind == k && got[i]->in_len == strlen(in) &&
	       memcmp(got[i]->in, in, strlen(in)) == 0;
}

TestSuite(cp_hco, .fini = got_clear);

Test(cp_hco, quiet_period_flushes_one_batch)
{
	struct cp_hco *co = co_agent();

	cr_assert_eq(cp_hco_next_deadline(co), UINT64_MAX);
	cr_assert_eq(cp_hco_member(co, 100 * S, SERF_EV_MEMBER_JOIN, "b",
				   "b\tl\n", 1), 1);
	cr_assert_eq(cp_hco_member(co, 100 * S + 200000, SERF_EV_MEMBER_JOIN,
				   "a", "a\tl\n", 2), 1);
	cr_assert_eq(cp_hco_next_deadline(co), 101 * S + 200000);
	cp_hco_flush(co, 101 * S + 199999, false, collect, NULL);
	cr_assert_eq(nb_got, 0);
	cp_hco_flush(co, 101 * S + 200000, false, collect, NULL);
	cr_assert_eq(nb_got, 1);
	cr_assert(got_is(0, SERF_EV_MEMBER_JOIN, "b\tl\na\tl\n"));
	cr_assert_eq(got[0]->nb_members, 2);
	cr_assert_eq(cp_hco_next_deadline(co), UINT64_MAX);
	cp_hco_delete(co);
}

Test(cp_hco, coalesce_period_caps_a_busy_window)
{
	struct cp_hco *co = co_agent();
	char name[8];

	for (int i = 0; i < 5; i++) {	/* every 0.7 s: quiet never ends */
		uint64_t t = 10 * S + (uint64_t)i * 700000;

		snprintf(name, sizeof(name), "n%d", i);
		cp_hco_member(co, t, SERF_EV_MEMBER_JOIN, name, "l\n", 0);
		cp_hco_flush(co, t, false, collect, NULL);
		cr_assert_eq(nb_got, 0);
	}
	cr_assert_eq(cp_hco_next_deadline(co), 13 * S);
	cp_hco_flush(co, 13 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 1);
	cr_assert_eq(got[0]->nb_members, 5);
	cp_hco_delete(co);
}

Test(cp_hco, latest_event_per_member_and_kind_order)
{
	struct cp_hco *co = co_agent();

	cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, "a", "a1\n", 0);
	cp_hco_member(co, 1, SERF_EV_MEMBER_FAILED, "b", "b1\n", 0);
	cp_hco_member(co, 2, SERF_EV_MEMBER_LEAVE, "a", "a2\n", 0);
	cp_hco_member(co, 3, SERF_EV_MEMBER_JOIN, "c", "c1\n", 0);
	cp_hco_flush(co, 0, true, collect, NULL);
	cr_assert_eq(nb_got, 3);
	cr_assert(got_is(0, SERF_EV_MEMBER_JOIN, "c1\n"));
	cr_assert(got_is(1, SERF_EV_MEMBER_LEAVE, "a2\n"));
	cr_assert(got_is(2, SERF_EV_MEMBER_FAILED, "b1\n"));
	cp_hco_delete(co);
}

Test(cp_hco, repeats_of_the_last_delivered_are_dropped)
{
	struct cp_hco *co = co_agent();

	cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, "a", "a\n", 0);
	cp_hco_flush(co, 0, true, collect, NULL);
	cr_assert_eq(nb_got, 1);
	/* join again (a flap in the window ending in join): nothing */
	cp_hco_member(co, 5 * S, SERF_EV_MEMBER_FAILED, "a", "a\n", 0);
	cp_hco_member(co, 5 * S, SERF_EV_MEMBER_JOIN, "a", "a\n", 0);
	cp_hco_flush(co, 7 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 1);
	/* updates: delivered when the member changed, not otherwise */
	cp_hco_member(co, 8 * S, SERF_EV_MEMBER_UPDATE, "a", "a u1\n", 11);
	cp_hco_flush(co, 9 * S, false, collect, NULL);
	cp_hco_member(co, 10 * S, SERF_EV_MEMBER_UPDATE, "a", "a u1\n", 11);
	cp_hco_flush(co, 11 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 2);
	cp_hco_member(co, 12 * S, SERF_EV_MEMBER_UPDATE, "a", "a u2\n", 12);
	cp_hco_flush(co, 13 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 3);
	cr_assert(got_is(2, SERF_EV_MEMBER_UPDATE, "a u2\n"));
	cp_hco_delete(co);
}

Test(cp_hco, reap_forgets_the_member)
{
	struct cp_hco *co = co_agent();

	cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, "a", "a\n", 0);
	cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, "b", "b\n", 0);
	cp_hco_flush(co, 0, true, collect, NULL);
	cr_assert_eq(cp_hco_nb_members(co), 2);
	cp_hco_member(co, 1, SERF_EV_MEMBER_REAP, "a", "a\n", 0);
	cp_hco_flush(co, 1, true, collect, NULL);
	cr_assert_eq(nb_got, 2);
	cr_assert(got_is(1, SERF_EV_MEMBER_REAP, "a\n"));
	cr_assert_eq(cp_hco_nb_members(co), 1);
	cp_hco_member(co, 2, SERF_EV_MEMBER_JOIN, "a", "a\n", 0);
	cp_hco_flush(co, 2, true, collect, NULL);
	cr_assert_eq(nb_got, 3);
	cr_assert(got_is(2, SERF_EV_MEMBER_JOIN, "a\n"));
	cp_hco_delete(co);
}

Test(cp_hco, off_and_not_member_kinds_pass)
{
	struct cp_hco_cfg off = {0, 1 * S}, on = {3 * S, 1 * S};
	struct cp_hco *co = cp_hco_new(&off, &off);
	struct cp_hevent *u = cp_hevent_new(SERF_EV_USER, "d", NULL, 0);

	u->coalesce = true;
	cr_assert_eq(cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, "a", "a\n", 0),
		     0);
	cr_assert_eq(cp_hco_user(co, 0, u), 0);
	cp_hco_delete(co);
	co = cp_hco_new(&on, &on);
	cr_assert_eq(cp_hco_member(co, 0, SERF_EV_USER, "a", "a\n", 0), 0);
	u->coalesce = false;
	cr_assert_eq(cp_hco_user(co, 0, u), 0);
	u->kind = SERF_EV_QUERY;
	u->coalesce = true;
	cr_assert_eq(cp_hco_user(co, 0, u), 0);
	free(u);
	cp_hco_delete(co);
}

static void
user(struct cp_hco *co, uint64_t now, const char *name, uint64_t lt,
     const char *in)
{
	struct cp_hevent *ev = cp_hevent_new(SERF_EV_USER, name,
					     (const uint8_t *)in, strlen(in));

	ev->ltime = lt;
	ev->coalesce = true;
	cr_assert_eq(cp_hco_user(co, now, ev), 1);
}

Test(cp_hco, user_events_keep_the_latest_ltime)
{
	struct cp_hco *co = co_agent();

	user(co, 0, "deploy", 3, "v3");
	user(co, 100, "other", 2, "o2");
	user(co, 200, "deploy", 5, "v5a");
	user(co, 300, "deploy", 4, "v4");
	user(co, 400, "deploy", 5, "v5b");
	cr_assert_eq(cp_hco_next_deadline(co), 400 + 1 * S);
	cp_hco_flush(co, 399 + 1 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 0);
	cp_hco_flush(co, 400 + 1 * S, false, collect, NULL);
	cr_assert_eq(nb_got, 3);
	cr_assert(got_is(0, SERF_EV_USER, "v5a"));
	cr_assert(got_is(1, SERF_EV_USER, "v5b"));
	cr_assert(got_is(2, SERF_EV_USER, "o2"));
	cr_assert_eq(cp_hco_next_deadline(co), UINT64_MAX);
	cp_hco_delete(co);
}

Test(cp_hco, many_members_and_reaps)
{
	struct cp_hco *co = co_agent();
	char name[16];
	unsigned n = 20000;

	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "m%05u", i);
		cr_assert_eq(cp_hco_member(co, 0, SERF_EV_MEMBER_JOIN, name,
					   "0123456789\n", 0), 1);
	}
	cp_hco_flush(co, 0, true, collect, NULL);
	cr_assert_eq(nb_got, 1);
	cr_assert_eq(got[0]->nb_members, n);
	cr_assert_eq(got[0]->in_len, 11ull * n);
	cr_assert_eq(cp_hco_nb_members(co), n);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "m%05u", i);
		cp_hco_member(co, 1, SERF_EV_MEMBER_REAP, name, "r\n", 0);
	}
	cp_hco_flush(co, 1, true, collect, NULL);
	cr_assert_eq(nb_got, 2);
	cr_assert_eq(got[1]->nb_members, n);
	cr_assert_eq(cp_hco_nb_members(co), 0);
	cp_hco_member(co, 2, SERF_EV_MEMBER_JOIN, "m00001", "j\n", 0);
	cp_hco_flush(co, 2, true, collect, NULL);
	cr_assert(got_is(2, SERF_EV_MEMBER_JOIN, "j\n"));
	cp_hco_delete(co);
}
