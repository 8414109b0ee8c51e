/* SPDX-License-Identifier: MIT */
/*
 * A core and its Serf layer filled with named members, for the streamed
 * Serf user state tests (test_serf_pp, test_serf_pp_dec). Header only,
 * as scale_util.h.
 */
#ifndef SERF_PP_UTIL_H_INCLUDED
#define SERF_PP_UTIL_H_INCLUDED

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf_int.h"
#include "swim.h"
#include "swim_wire.h"
#include "scale_util.h"

struct node {
	struct swim *core;
	struct serf *serf;
};

static inline void
node_new(struct node *n, const char *name)
{
	struct swim_cfg cfg;
	struct serf_cfg sc;
	struct serf_event ev;
	const char *err = NULL;

	scale_swim_cfg(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	n->core = swim_new(&cfg, &err);
	cr_assert_not_null(n->core, "%s", err);
	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "%s", name);
	sc.reconnect_interval_us = 0;
	n->serf = serf_new(&sc, n->core, &err);
	cr_assert_not_null(n->serf, "%s", err);
	while (serf_pop_event(n->serf, &ev))
		;
}

static inline void
node_delete(struct node *n)
{
	serf_delete(n->serf);
	swim_delete(n->core);
}

static inline void
pump(struct node *n, uint64_t now)
{
	struct swim_event ev;
	struct serf_event sev;

	while (swim_pop_event(n->core, &ev))
		serf_on_swim_event(n->serf, now, &ev);
	while (serf_pop_event(n->serf, &sev))
		;
}

/* An alive for name into n's core, then into its Serf layer. */
static inline void
join(struct node *n, const char *name, uint32_t inc)
{
	uint8_t ip[4] = { 10, 0, 0, 2 };
	uint8_t pkt[512];
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };

	m.alive.incarnation = inc;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ ip, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ scale_vsn, SWIM_VSN_LEN };
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	cr_assert(len > 0);
	swim_on_packet(n->core, 1, &from, pkt, (size_t)len, 0);
	pump(n, 1);
}

static inline struct serf_member *
get(struct node *n, const char *name)
{
	return serf_member_get(n->serf, (const uint8_t *)name, strlen(name));
}

static inline void
name_of(char *buf, uint32_t i)
{
	snprintf(buf, 32, "member-%07u", i);
}

/*
 * n members; LTime i + 1; every 7th left, every 11th failed, every 13th
 * leaving; three user events.
 */
static inline void
fill(struct node *n, uint32_t nb, bool shape)
{
	char name[32];

	for (uint32_t i = 0; i < nb; i++) {
		name_of(name, i);
		join(n, name, 1);
		struct serf_member *m = get(n, name);
		cr_assert_not_null(m);
		if (!shape)
			continue;
		m->status_ltime = i + 1;
		if (i % 7 == 3)
			serf_member_set_status(n->serf, m, SERF_STATUS_LEFT);
		else if (i % 11 == 5)
			serf_member_set_status(n->serf, m, SERF_STATUS_FAILED);
		else if (i % 13 == 6)
			serf_member_set_status(n->serf, m,
					       SERF_STATUS_LEAVING);
	}
	if (!shape)
		return;
	n->serf->clock.time = nb + 10;
	cr_assert_eq(serf_user_event(n->serf, 0, "deploy", 6,
				     (const uint8_t *)"v1", 2, false), 0);
	cr_assert_eq(serf_user_event(n->serf, 0, "deploy", 6, NULL, 0,
				     false), 0);
	cr_assert_eq(serf_user_event(n->serf, 0, "x", 1,
				     (const uint8_t *)"yz", 2, true), 0);
	pump(n, 1);
}

/* A step between two windows of a stream (k counts them from a base). */
typedef void (*mutate_f)(struct node *n, unsigned k);

/* The whole Serf user state through windows of cap bytes; mutate(n,
 * k0 + k) between them. @return the bytes (malloc'd), their count in *len. */
static inline uint8_t *
pp_stream(struct node *n, struct serf_pp_enc *e, size_t cap, mutate_f mutate,
	  unsigned k0, size_t *len)
{
	uint8_t *out = malloc(e->len + 1);
	uint8_t *win = malloc(cap);
	size_t off = 0;
	unsigned k = 0;
	long rc;

	cr_assert_not_null(out);
	while ((rc = serf_pp_enc_next(n->serf, e, win, cap)) != 0) {
		if (rc == -EAGAIN)
			continue;
		cr_assert(rc > 0, "rc %ld", rc);
		cr_assert_leq(off + (size_t)rc, e->len, "more than announced");
		memcpy(out + off, win, (size_t)rc);
		off += (size_t)rc;
		if (mutate != NULL)
			mutate(n, k0 + k++);
	}
	free(win);
	*len = off;
	return out;
}

#endif /* SERF_PP_UTIL_H_INCLUDED */
