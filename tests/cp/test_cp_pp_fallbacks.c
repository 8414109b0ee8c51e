/* SPDX-License-Identifier: MIT */
/*
 * The core's push/pull fallbacks (a streamed push/pull that found all
 * SWIM_PP_SLOTS snapshot slots busy and walked the table unmarked,
 * swim_stats.pp_fallbacks) reach `gossipctl info` (the RPC stats'
 * gossipd section, which gossipctl prints whole) and /metrics
 * (gossipd_push_pull_fallbacks_total): present at 0, then moving with
 * each fallback, as test_pp_snap drives one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "cp_fixture.h"
#include "cp_metrics.h"
#include "cp_rpc.h"
#include "swim_member.h"

static struct cp *cp;

static void
setup(void)
{
	cp = cp_fx_daemon_new("gossipd-1");
}

static void
teardown(void)
{
	cp_fx_daemon_delete(cp);
}

TestSuite(cp_pp_fallbacks, .init = setup, .fini = teardown);

/* The gossipd section's push_pull_fallbacks, as the RPC sends it. */
struct stat_find {
	char value[32];
	unsigned hits;
};

static void
stat_emit(void *arg, const char *section, const char *key,
	  const char *value)
{
	struct stat_find *f = arg;

	if (section == NULL || key == NULL ||
	    strcmp(section, "gossipd") != 0 ||
	    strcmp(key, "push_pull_fallbacks") != 0)
		return;
	snprintf(f->value, sizeof(f->value), "%s", value);
	f->hits++;
}

static unsigned long long
info_value(void)
{
	struct cp_rpc_ops ops;
	struct stat_find f = { .hits = 0 };

	cp_rpc_ops_init(cp, &ops);
	cr_assert_eq(ops.stats(ops.ctx, stat_emit, &f), 0);
	cr_assert_eq(f.hits, 1, "gossipd.push_pull_fallbacks once");
	return strtoull(f.value, NULL, 10);
}

/* The sample of gossipd_push_pull_fallbacks_total in /metrics' text. */
static unsigned long long
metrics_value(void)
{
	static const char key[] = "\ngossipd_push_pull_fallbacks_total ";
	struct cp_metrics_input in;
	struct cp_metrics_buf b = { 0 };

	cp_metrics_gather(NULL, cp, &in);
	cr_assert_eq(cp_metrics_render(&in, &b), 0);
	const char *l = strstr(b.p, key);
	cr_assert_not_null(l, "no sample");
	cr_assert_not_null(strstr(b.p, "# TYPE gossipd_push_pull_fallbacks_"
				  "total counter\n"));
	unsigned long long v = strtoull(l + strlen(key), NULL, 10);
	free(b.p);
	return v;
}

Test(cp_pp_fallbacks, in_info_and_metrics_and_moving)
{
	struct swim_pp_enc e[SWIM_PP_SLOTS + 2];

	cr_assert_eq(info_value(), 0);
	cr_assert_eq(metrics_value(), 0);
	for (unsigned i = 0; i < SWIM_PP_SLOTS; i++)
		swim_pp_enc_start(cp->swim, &e[i], false, 0);
	cr_assert_eq(info_value(), 0, "six slots: no fallback yet");
	swim_pp_enc_start(cp->swim, &e[SWIM_PP_SLOTS], false, 0);
	cr_assert_eq(e[SWIM_PP_SLOTS].slot, 0, "the unmarked walk");
	cr_assert_eq(info_value(), 1);
	cr_assert_eq(metrics_value(), 1);
	swim_pp_enc_start(cp->swim, &e[SWIM_PP_SLOTS + 1], false, 0);
	cr_assert_eq(info_value(), 2);
	cr_assert_eq(metrics_value(), 2);
	for (unsigned i = 0; i < SWIM_PP_SLOTS + 2; i++)
		swim_pp_enc_end(cp->swim, &e[i]);
	/* slots free again: a new push/pull takes one, the count stays */
	swim_pp_enc_start(cp->swim, &e[0], false, 0);
	cr_assert_neq(e[0].slot, 0);
	swim_pp_enc_end(cp->swim, &e[0]);
	cr_assert_eq(info_value(), 2);
	cr_assert_eq(metrics_value(), 2);
}
