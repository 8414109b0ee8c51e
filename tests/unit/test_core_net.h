/*
 * A tiny deterministic network for the core's unit tests: N cores on
 * 127.0.0.x:7946, UDP delivered after a fixed delay, TCP ping and
 * push/pull run synchronously. Header-only so each test binary has one.
 */
#ifndef TEST_CORE_NET_H_INCLUDED
#define TEST_CORE_NET_H_INCLUDED

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim.h"
#include "swim_wire.h"

#define TN_MAX 16
#define TN_PKTS 4096
#define TN_DELAY_US 1000

struct tn_pkt {
	uint64_t at;
	unsigned from, to;
	size_t len;
	uint8_t data[SWIM_UDP_MAX];
};

struct tn_events {
	unsigned nb[SWIM_EV_COUNT];
	char last_name[SWIM_EV_COUNT][SWIM_NAME_MAX + 1];
};

struct tn {
	unsigned nb;
	uint64_t now;
	struct swim *s[TN_MAX];
	bool down[TN_MAX];		/* drops all its UDP both ways */
	bool tcp_down[TN_MAX];
	struct tn_events ev[TN_MAX];
	struct tn_pkt *pkts;
	unsigned nb_pkts;
	uint64_t sent;
	uint8_t pp[2][1 << 20];
};

static inline void
tn_addr(unsigned i, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->ip[0] = 127;
	a->ip[3] = (uint8_t)(i + 1);
	a->ip_len = 4;
	a->port = 7946;
}

static inline int
tn_idx(const struct swim_addr *a)
{
	if (a->ip_len != 4 || a->ip[0] != 127 || a->ip[3] == 0)
		return -1;
	return a->ip[3] - 1;
}

static inline void
tn_cfg(unsigned i, struct swim_cfg *cfg)
{
	swim_cfg_default_lan(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "n%u", i);
	tn_addr(i, &cfg->addr);
	cfg->seed = 1000 + i;
	cfg->meta[0] = 0xff;
	cfg->meta_len = 1;
}

static inline struct tn *
tn_new(unsigned nb)
{
	struct tn *n = calloc(1, sizeof(*n));
	n->pkts = calloc(TN_PKTS, sizeof(*n->pkts));
	n->nb = nb;
	for (unsigned i = 0; i < nb; i++) {
		struct swim_cfg cfg;
		const char *err = NULL;
		tn_cfg(i, &cfg);
		n->s[i] = swim_new(&cfg, &err);
		cr_assert(n->s[i] != NULL, "swim_new: %s", err);
	}
	return n;
}

static inline void
tn_delete(struct tn *n)
{
	for (unsigned i = 0; i < n->nb; i++)
		swim_delete(n->s[i]);
	free(n->pkts);
	free(n);
}

static inline void
tn_push_pull(struct tn *n, unsigned a, unsigned b, bool join)
{
	struct swim_str us;
	if (n->tcp_down[a] || n->tcp_down[b] || n->down[b]) {
		struct swim_addr to;
		tn_addr(b, &to);
		swim_push_pull_failed(n->s[a], n->now, &to, join);
		return;
	}
	size_t la = swim_push_pull_encode(n->s[a], join, NULL, 0, n->pp[0],
					  sizeof(n->pp[0]));
	size_t lb = swim_push_pull_encode(n->s[b], join, NULL, 0, n->pp[1],
					  sizeof(n->pp[1]));
	cr_assert(la <= sizeof(n->pp[0]) && lb <= sizeof(n->pp[1]));
	cr_assert_eq(swim_push_pull_merge(n->s[b], n->now, n->pp[0], la, &us),
		     (int)la);
	cr_assert_eq(swim_push_pull_merge(n->s[a], n->now, n->pp[1], lb, &us),
		     (int)lb);
}

static inline void
tn_drain_events(struct tn *n, unsigned i)
{
	struct swim_event ev;
	while (swim_pop_event(n->s[i], &ev)) {
		n->ev[i].nb[ev.kind]++;
		size_t l = ev.member.name.len;
		memcpy(n->ev[i].last_name[ev.kind], ev.member.name.ptr ?
		       (const char *)ev.member.name.ptr : "", l);
		n->ev[i].last_name[ev.kind][l] = '\0';
	}
}

static inline void
tn_drain(struct tn *n, unsigned i)
{
	struct swim_output o;
	while (swim_pop_output(n->s[i], &o)) {
		int to = tn_idx(&o.to);
		if (to < 0 || to >= (int)n->nb)
			continue;
		if (o.kind == SWIM_OUT_PACKET) {
			n->sent++;
			if (n->down[i] || n->down[to] || n->nb_pkts >= TN_PKTS)
				continue;
			struct tn_pkt *p = &n->pkts[n->nb_pkts++];
			p->at = n->now + TN_DELAY_US;
			p->from = i;
			p->to = (unsigned)to;
			p->len = o.len;
			memcpy(p->data, o.data, o.len);
		} else if (o.kind == SWIM_OUT_TCP_PING) {
			bool ok = !n->tcp_down[i] && !n->tcp_down[to];
			swim_on_tcp_ping_result(n->s[i], n->now, o.seq_no, ok);
		} else {
			tn_push_pull(n, i, (unsigned)to, o.join);
		}
	}
	tn_drain_events(n, i);
}

static inline void
tn_deliver(struct tn *n)
{
	for (unsigned k = 0; k < n->nb_pkts;) {
		struct tn_pkt *p = &n->pkts[k];
		if (p->at > n->now) {
			k++;
			continue;
		}
		struct tn_pkt copy = *p;
		n->pkts[k] = n->pkts[--n->nb_pkts];
		if (n->down[copy.to] || n->down[copy.from])
			continue;
		struct swim_addr from;
		tn_addr(copy.from, &from);
		swim_on_packet(n->s[copy.to], n->now, &from, copy.data,
			       copy.len, 0);
		tn_drain(n, copy.to);
	}
}

/* Run until `until` (µs), in deadline order. */
static inline void
tn_run_until(struct tn *n, uint64_t until)
{
	for (unsigned i = 0; i < n->nb; i++)
		tn_drain(n, i);
	while (n->now < until) {
		uint64_t next = until;
		for (unsigned i = 0; i < n->nb; i++) {
			uint64_t d = swim_next_deadline(n->s[i]);
			if (d < next)
				next = d;
		}
		for (unsigned k = 0; k < n->nb_pkts; k++)
			if (n->pkts[k].at < next)
				next = n->pkts[k].at;
		if (next > n->now)
			n->now = next;
		tn_deliver(n);
		for (unsigned i = 0; i < n->nb; i++) {
			if (swim_next_deadline(n->s[i]) <= n->now) {
				swim_tick(n->s[i], n->now);
				tn_drain(n, i);
			}
		}
	}
}

static inline void
tn_join_all(struct tn *n, unsigned seed)
{
	struct swim_addr a;
	tn_addr(seed, &a);
	for (unsigned i = 0; i < n->nb; i++) {
		if (i == seed)
			continue;
		swim_join(n->s[i], n->now, &a, 1);
		tn_drain(n, i);
	}
}

static inline int
tn_status(struct tn *n, unsigned at, unsigned who)
{
	struct swim_member_info info;
	char name[16];
	snprintf(name, sizeof(name), "n%u", who);
	if (swim_member_find(n->s[at], name, strlen(name), &info) != 0)
		return -1;
	return (int)info.status;
}

#endif /* TEST_CORE_NET_H_INCLUDED */
