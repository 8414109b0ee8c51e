/* SPDX-License-Identifier: MIT */
/*
 * The core's test suites over test_core_util.h (test_core_pp.c,
 * test_core_probe.c, test_core_state.c): one core t, fresh for every
 * test, collecting its outputs. Header only, include once per test file
 * (it defines the suite's state).
 */
#ifndef TU_SUITE_H_INCLUDED
#define TU_SUITE_H_INCLUDED

#include "test_core_util.h"

static struct tu *t;	/* the core under test */

/* Suite init: a core with the test config, its outputs collected. */
static inline void
tu_suite_setup(void)
{
	t = tu_new();
	tu_collect(t);
}

/* Suite fini. */
static inline void
tu_suite_teardown(void)
{
	tu_delete(t);
}

#endif /* TU_SUITE_H_INCLUDED */
