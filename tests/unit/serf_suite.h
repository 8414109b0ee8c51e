/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's test suites (test_serf.c, test_serf_query.c): one
 * layer "me" (tag role=web) over the fake memberlist core of
 * test_serf_fake.c, fresh for every test, and the steps every test takes
 * with it: drain its events, let a member join, deliver a user message.
 * Header only, include once per test file (it defines the suite's state).
 */
#ifndef SERF_SUITE_H_INCLUDED
#define SERF_SUITE_H_INCLUDED

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdio.h>

#include "serf_int.h"
#include "test_serf_util.h"

static struct swim sw;		/* the fake core */
static struct serf *serf;	/* the layer under test */
static struct serf_event ev;	/* the last event drain() counted */

/* A fresh fake core and layer; keyring: serf's keyring_enabled. */
static inline void
serf_suite_new(bool keyring)
{
	struct serf_cfg cfg;
	struct serf_tag tag = { "role", "web", 4, 3 };
	const char *err = NULL;

	fake_init(&sw, "me", 7946);
	serf_cfg_default(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "me");
	cfg.tags = &tag;
	cfg.nb_tags = 1;
	cfg.keyring_enabled = keyring;
	serf = serf_new(&cfg, &sw, &err);
	cr_assert_not_null(serf, "%s", err);
}

/* Drain events; count those of one kind, keep the last one in ev. */
static inline uint32_t
drain(enum serf_event_kind kind)
{
	struct serf_event e;
	uint32_t n = 0;

	while (serf_pop_event(serf, &e)) {
		if (e.kind == kind) {
			n++;
			ev = e;
		}
	}
	return n;
}

/* The core reports kind about member m. */
static inline void
swim_ev(struct fake_member *m, enum swim_event_kind kind, uint64_t now)
{
	struct swim_event e;

	fake_event(&sw, m, kind, &e);
	serf_on_swim_event(serf, now, &e);
}

/* A member joins the core: 127.0.0.<octet>:7946. */
static inline struct fake_member *
join(const char *name, uint8_t octet)
{
	struct fake_member *m = fake_add(&sw, name, octet, 7946);

	swim_ev(m, SWIM_EV_JOIN, 0);
	return m;
}

/* The core hands the layer a user message of len bytes (> 0). */
static inline void
deliver(const uint8_t *buf, int len, uint64_t now)
{
	struct swim_event e;

	cr_assert_gt(len, 0);
	fake_user_event(buf, (size_t)len, &e);
	serf_on_swim_event(serf, now, &e);
}

#endif /* SERF_SUITE_H_INCLUDED */
