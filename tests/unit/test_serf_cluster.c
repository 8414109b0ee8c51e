/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer on the real memberlist core: N nodes on a tiny
 * deterministic in-memory network (UDP after 1 ms, TCP push/pull run
 * synchronously with the Serf user state), wired the way control wires
 * them: every core event goes to serf_on_swim_event, push/pull carries
 * serf_local_state both ways, a successful join is followed by
 * serf_join_intent. Checks what a serf agent would show: alive with
 * tags, user events, queries, left vs failed, refuted force-leave,
 * coordinates.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf.h"
#include "swim.h"

#define US 1000000ull
#define SN_MAX 5
#define SN_PKTS 2048
#define SN_DELAY_US 1000

struct sn_pkt {
	uint64_t at;
	unsigned from, to;
	size_t len;
	uint8_t data[SWIM_UDP_BUDGET * 2];
};

struct sn {
	unsigned nb;
	uint64_t now;
	struct swim *s[SN_MAX];
	struct serf *f[SN_MAX];
	bool down[SN_MAX];
	uint32_t nb_ev[SN_MAX][SERF_EV_COUNT];
	struct serf_event last[SN_MAX][SERF_EV_COUNT];
	struct sn_pkt *pkts;
	unsigned nb_pkts;
	uint8_t pp[2][1 << 18];
	uint8_t us[2][1 << 16];
	bool auto_respond;
};

static struct sn *n;

static void
sn_addr(unsigned i, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->ip[0] = 127;
	a->ip[3] = (uint8_t)(i + 1);
	a->ip_len = 4;
	a->port = 7946;
}

static void
sn_new_node(unsigned i)
{
	struct swim_cfg cfg;
	struct serf_cfg sc;
	char zone[8];
	struct serf_tag tag = { "zone", zone, 4, 0 };
	const char *err = NULL;

	snprintf(zone, sizeof(zone), "z%u", i);
	tag.value_len = (uint32_t)strlen(zone);
	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "n%u", i);
	sn_addr(i, &cfg.addr);
	cfg.seed = 100 + i;
	int len = serf_tags_encode(&tag, 1, cfg.meta, sizeof(cfg.meta));
	cr_assert_gt(len, 0);
	cfg.meta_len = (uint32_t)len;
	n->s[i] = swim_new(&cfg, &err);
	cr_assert_not_null(n->s[i], "swim_new: %s", err);
	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "n%u", i);
	sc.tags = &tag;
	sc.nb_tags = 1;
	sc.seed = 200 + i;
	n->f[i] = serf_new(&sc, n->s[i], &err);
	cr_assert_not_null(n->f[i], "serf_new: %s", err);
}

static void
sn_serf_events(unsigned i)
{
	struct serf_event *ev = &n->last[i][0];
	static struct serf_event e;

	(void)ev;
	while (serf_pop_event(n->f[i], &e)) {
		n->nb_ev[i][e.kind]++;
		n->last[i][e.kind] = e;
		if (e.kind == SERF_EV_QUERY && n->auto_respond) {
			char reply[32];
			int l = snprintf(reply, sizeof(reply), "hi from n%u",
					 i);
			serf_query_respond(n->f[i], n->now, e.query_handle,
					   (const uint8_t *)reply, (size_t)l);
		}
	}
}

static void sn_drain(unsigned i);

/** A TCP push/pull, initiator a, responder b, with Serf user state. */
static void
sn_push_pull(unsigned a, unsigned b, bool join)
{
	struct swim_str us;
	struct swim_addr to;

	if (n->down[b]) {
		sn_addr(b, &to);
		swim_push_pull_failed(n->s[a], n->now, &to, join);
		return;
	}
	size_t ua = serf_local_state(n->f[a], n->us[0], sizeof(n->us[0]));
	size_t ub = serf_local_state(n->f[b], n->us[1], sizeof(n->us[1]));
	cr_assert(ua > 0 && ua <= sizeof(n->us[0]));
	cr_assert(ub > 0 && ub <= sizeof(n->us[1]));
	size_t la = swim_push_pull_encode(n->s[a], join, n->us[0], ua,
					  n->pp[0], sizeof(n->pp[0]));
	size_t lb = swim_push_pull_encode(n->s[b], join, n->us[1], ub,
					  n->pp[1], sizeof(n->pp[1]));
	cr_assert(la <= sizeof(n->pp[0]) && lb <= sizeof(n->pp[1]));
	cr_assert_eq(swim_push_pull_merge(n->s[b], n->now, n->pp[0], la, &us),
		     (int)la);
	cr_assert_eq(serf_merge_remote_state(n->f[b], n->now, us.ptr, us.len,
					     false), 0);
	cr_assert_eq(swim_push_pull_merge(n->s[a], n->now, n->pp[1], lb, &us),
		     (int)lb);
	cr_assert_eq(serf_merge_remote_state(n->f[a], n->now, us.ptr, us.len,
					     join), 0);
	if (join)
		serf_join_intent(n->f[a], n->now);
	sn_drain(b);
}

static int
sn_idx(const struct swim_addr *a)
{
	if (a->ip_len != 4 || a->ip[0] != 127 || a->ip[3] == 0 ||
	    a->ip[3] > n->nb)
		return -1;
	return a->ip[3] - 1;
}

/** Everything a node wants done: events to Serf, outputs to the net. */
static void
sn_drain(unsigned i)
{
	struct swim_event ev;
	struct swim_output o;

	while (swim_pop_event(n->s[i], &ev))
		serf_on_swim_event(n->f[i], n->now, &ev);
	sn_serf_events(i);
	while (swim_pop_output(n->s[i], &o)) {
		int to = sn_idx(&o.to);
		if (to < 0)
			continue;
		if (o.kind == SWIM_OUT_PACKET) {
			if (n->down[i] || n->down[to] ||
			    n->nb_pkts >= SN_PKTS ||
			    o.len > sizeof(n->pkts[0].data))
				continue;
			struct sn_pkt *p = &n->pkts[n->nb_pkts++];
			p->at = n->now + SN_DELAY_US;
			p->from = i;
			p->to = (unsigned)to;
			p->len = o.len;
			memcpy(p->data, o.data, o.len);
		} else if (o.kind == SWIM_OUT_TCP_PING) {
			swim_on_tcp_ping_result(n->s[i], n->now, o.seq_no,
						!n->down[i] && !n->down[to]);
		} else {
			sn_push_pull(i, (unsigned)to, o.join);
		}
		while (swim_pop_event(n->s[i], &ev))
			serf_on_swim_event(n->f[i], n->now, &ev);
		sn_serf_events(i);
	}
}

static void
sn_deliver(void)
{
	static struct sn_pkt copy;

	for (unsigned k = 0; k < n->nb_pkts;) {
		if (n->pkts[k].at > n->now) {
			k++;
			continue;
		}
		copy = n->pkts[k];
		n->pkts[k] = n->pkts[--n->nb_pkts];
		if (n->down[copy.to] || n->down[copy.from])
			continue;
		struct swim_addr from;
		sn_addr(copy.from, &from);
		swim_on_packet(n->s[copy.to], n->now, &from, copy.data,
			       copy.len, 0);
		/* Events may point into copy: hand them over right away. */
		sn_drain(copy.to);
	}
}

static uint64_t
sn_deadline(unsigned i)
{
	uint64_t a = swim_next_deadline(n->s[i]);
	uint64_t b = serf_next_deadline(n->f[i]);

	return a < b ? a : b;
}

static void
sn_run_until(uint64_t until)
{
	for (unsigned i = 0; i < n->nb; i++)
		sn_drain(i);
	for (int guard = 0; n->now < until && guard < 2000000; guard++) {
		uint64_t next = until;
		for (unsigned i = 0; i < n->nb; i++)
			if (!n->down[i] && sn_deadline(i) < next)
				next = sn_deadline(i);
		for (unsigned k = 0; k < n->nb_pkts; k++)
			if (n->pkts[k].at < next)
				next = n->pkts[k].at;
		if (next > n->now)
			n->now = next;
		sn_deliver();
		for (unsigned i = 0; i < n->nb; i++) {
			if (n->down[i] || sn_deadline(i) > n->now)
				continue;
			swim_tick(n->s[i], n->now);
			serf_tick(n->f[i], n->now);
			sn_drain(i);
		}
	}
}

static void
setup(void)
{
	n = calloc(1, sizeof(*n));
	n->pkts = calloc(SN_PKTS, sizeof(*n->pkts));
	n->nb = 3;
	for (unsigned i = 0; i < n->nb; i++)
		sn_new_node(i);
	struct swim_addr seed;
	sn_addr(0, &seed);
	for (unsigned i = 1; i < n->nb; i++) {
		swim_join(n->s[i], n->now, &seed, 1);
		sn_drain(i);
	}
	sn_run_until(5 * US);
}

static void
teardown(void)
{
	for (unsigned i = 0; i < n->nb; i++) {
		serf_delete(n->f[i]);
		swim_delete(n->s[i]);
	}
	free(n->pkts);
	free(n);
}

TestSuite(serf_cluster, .init = setup, .fini = teardown, .timeout = 60);

static enum serf_member_status
status(unsigned at, unsigned who)
{
	struct serf_member_info info;
	char name[8];

	snprintf(name, sizeof(name), "n%u", who);
	if (serf_member_find(n->f[at], name, strlen(name), &info) != 0)
		return SERF_STATUS_NONE;
	return info.status;
}

Test(serf_cluster, everyone_alive_with_tags)
{
	struct serf_member_info info;

	for (unsigned i = 0; i < n->nb; i++) {
		cr_assert_eq(serf_member_count(n->f[i]), 3, "n%u", i);
		cr_assert_eq(n->nb_ev[i][SERF_EV_MEMBER_JOIN], 3, "n%u", i);
		for (unsigned j = 0; j < n->nb; j++)
			cr_assert_eq(status(i, j), SERF_STATUS_ALIVE);
	}
	cr_assert_eq(serf_member_find(n->f[0], "n2", 2, &info), 0);
	cr_assert_eq(info.nb_tags, 1);
	cr_assert_str_eq(info.tags[0].key, "zone");
	cr_assert_str_eq(info.tags[0].value, "z2");
	cr_assert_eq(info.vsn[5], 5);
	/* The joiners' join intents carried the seed's clock. */
	cr_assert_gt(info.status_ltime, 0);
}

Test(serf_cluster, user_event_reaches_everyone_once)
{
	cr_assert_eq(serf_user_event(n->f[1], n->now, "deploy", 6,
				     (const uint8_t *)"v2", 2, true), 0);
	sn_run_until(n->now + 5 * US);
	for (unsigned i = 0; i < n->nb; i++) {
		cr_assert_eq(n->nb_ev[i][SERF_EV_USER], 1, "n%u", i);
		cr_assert_str_eq(n->last[i][SERF_EV_USER].name, "deploy");
		cr_assert_eq(n->last[i][SERF_EV_USER].payload_len, 2);
	}
}

Test(serf_cluster, query_gets_every_ack_and_response)
{
	struct serf_query_param p = { .request_ack = true };
	uint64_t h;

	n->auto_respond = true;
	cr_assert_eq(serf_query(n->f[0], n->now, "whoami", 6, NULL, 0, &p,
				&h), 0);
	sn_run_until(n->now + 5 * US);
	cr_assert_eq(n->nb_ev[0][SERF_EV_QUERY_ACK], 3);
	cr_assert_eq(n->nb_ev[0][SERF_EV_QUERY_RESPONSE], 3);
	cr_assert_eq(n->nb_ev[0][SERF_EV_QUERY_DONE], 1);
	cr_assert_eq(n->last[0][SERF_EV_QUERY_DONE].query_handle, h);
	for (unsigned i = 0; i < n->nb; i++)
		cr_assert_eq(n->nb_ev[i][SERF_EV_QUERY], 1, "n%u", i);
}

Test(serf_cluster, graceful_leave_is_left_not_failed)
{
	cr_assert_eq(serf_leave(n->f[2], n->now), 0);
	sn_run_until(n->now + 1 * US);
	cr_assert_eq(status(0, 2), SERF_STATUS_LEAVING);
	swim_leave(n->s[2], n->now);
	sn_drain(2);
	sn_run_until(n->now + 2 * US);
	serf_leave_done(n->f[2]);
	n->down[2] = true;
	sn_run_until(n->now + 30 * US);
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(status(i, 2), SERF_STATUS_LEFT, "n%u", i);
		cr_assert_eq(n->nb_ev[i][SERF_EV_MEMBER_LEAVE], 1);
		cr_assert_eq(n->nb_ev[i][SERF_EV_MEMBER_FAILED], 0);
	}
}

Test(serf_cluster, silence_is_failed)
{
	n->down[2] = true;
	sn_run_until(n->now + 40 * US);
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(status(i, 2), SERF_STATUS_FAILED, "n%u", i);
		cr_assert_eq(n->nb_ev[i][SERF_EV_MEMBER_FAILED], 1);
	}
}

Test(serf_cluster, force_leave_of_a_live_node_is_refuted)
{
	struct serf_stats st;

	cr_assert_eq(serf_force_leave(n->f[0], n->now, "n1", 2, false), 0);
	sn_run_until(n->now + 5 * US);
	serf_get_stats(n->f[1], &st);
	cr_assert_eq(st.refutes, 1);
	for (unsigned i = 0; i < n->nb; i++)
		cr_assert_eq(status(i, 1), SERF_STATUS_ALIVE, "n%u", i);
}

Test(serf_cluster, coordinates_come_with_pings)
{
	struct serf_member_info info;

	sn_run_until(n->now + 20 * US);
	cr_assert_eq(serf_member_find(n->f[0], "n1", 2, &info), 0);
	cr_assert_not_null(info.coord);
	cr_assert_lt(serf_coordinate(n->f[0])->error, 1.5);
}

Test(serf_cluster, new_tags_reach_everyone_as_an_update)
{
	struct serf_tag t[2] = { { "zone", "z9", 4, 2 },
				 { "role", "db", 4, 2 } };
	struct serf_member_info info;

	cr_assert_eq(serf_set_tags(n->f[1], n->now, t, 2), 0);
	sn_run_until(n->now + 5 * US);
	for (unsigned i = 0; i < n->nb; i++) {
		cr_assert_eq(serf_member_find(n->f[i], "n1", 2, &info), 0);
		cr_assert_eq(info.nb_tags, 2, "n%u", i);
		cr_assert_eq(info.incarnation, 2, "n%u", i);
		if (i != 1)
			cr_assert_eq(n->nb_ev[i][SERF_EV_MEMBER_UPDATE], 1,
				     "n%u", i);
	}
}
