/* SPDX-License-Identifier: MIT */
/*
 * gossip-sim, the tool, run as an operator runs it ($GOSSIP_SIM): bad
 * flags exit 2 with one line; the same seed prints the same JSON but for
 * wall_s; small pools agree with the scenario tests' bounds (detection
 * within SWIM + Lifeguard's bound, never before Lifeguard's minimum, no
 * false positive at 0 % loss); delta sync runs without errors; and with
 * delta sync every member lists every member within the derived bound
 * after 50 joins one by one.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct gs_out {
	int rc;			/* exit code, -1 if it did not exit */
	char *out, *err;	/* malloc'd, NUL-terminated */
};

static char *
gs_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert(buf != NULL);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Run gossip-sim with args (simple tokens, no quoting needed). */
static struct gs_out
gs_run(const char *args)
{
	const char *bin = getenv("GOSSIP_SIM");
	char out[] = "/tmp/gsim_outXXXXXX", err[] = "/tmp/gsim_errXXXXXX";
	char cmd[2048];
	struct gs_out r;
	int fo = mkstemp(out), fe = mkstemp(err), st;

	cr_assert(bin != NULL, "GOSSIP_SIM is not set");
	cr_assert(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	snprintf(cmd, sizeof(cmd), "'%s' %s >%s 2>%s", bin, args, out, err);
	st = system(cmd);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = gs_slurp(out);
	r.err = gs_slurp(err);
	unlink(out);
	unlink(err);
	return r;
}

static void
gs_free(struct gs_out *r)
{
	free(r->out);
	free(r->err);
}

static json_t *
gs_json(const char *args)
{
	char full[1024];
	struct gs_out r;
	json_error_t e;
	json_t *j;

	snprintf(full, sizeof(full), "--json %s", args);
	r = gs_run(full);
	cr_assert_eq(r.rc, 0, "gossip-sim %s: exit %d: %s", args, r.rc, r.err);
	j = json_loads(r.out, 0, &e);
	cr_assert(j != NULL, "gossip-sim %s: bad JSON: %s", args, e.text);
	gs_free(&r);
	return j;
}

/* A number (or -1 for null). */
static double
gs_num(const json_t *j, const char *key)
{
	const json_t *v = json_object_get(j, key);

	cr_assert(v != NULL, "no %s in the JSON", key);
	return json_is_null(v) ? -1 : json_number_value(v);
}

static double
gs_counter(const json_t *j, const char *key)
{
	return gs_num(json_object_get(j, "counters"), key);
}

Test(gsim, bad_flags_exit_2_with_one_line)
{
	static const char *const bad[] = {
		"--bogus", "--members 1", "--members 20001", "--members x",
		"--members", "--loss 101", "--loss -1", "--fail 3",
		"--members 10 --fail 10@5", "--fail 1@soon",
		"--partition 90:30", "--partition 30:90:1.5", "--partition 30",
		"--pause 5", "--pause 0@1:2", "--pause 1@2:0",
		"--profile lan2", "--probe-interval 0", "--probe-interval 1x",
		"--probe-timeout 2s", "--gossip-nodes -1", "--suspicion-mult 1001",
		"--udp-buffer-size 100", "--sync maybe", "--start now",
		"--duration 0", "--seed -3", "--latency 1ms:x", "extra",
		"--warmup 5q",
	};
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct gs_out r = gs_run(bad[k]);
		char *nl = strchr(r.err, '\n');

		cr_assert_eq(r.rc, 2, "'%s': exit %d, not 2", bad[k], r.rc);
		cr_assert_str_empty(r.out, "'%s': printed '%s'", bad[k], r.out);
		cr_assert(strncmp(r.err, "gossip-sim: ", 12) == 0 && nl != NULL &&
			  nl[1] == '\0', "'%s': stderr is not one line: '%s'",
			  bad[k], r.err);
		gs_free(&r);
	}
}

Test(gsim, help_and_version_exit_0)
{
	struct gs_out h = gs_run("--help"), v = gs_run("--version");

	cr_assert_eq(h.rc, 0);
	cr_assert(strstr(h.out, "--members") != NULL &&
		  strstr(h.out, "--push-pull-interval") != NULL);
	cr_assert_eq(v.rc, 0);
	cr_assert(strncmp(v.out, "gossip-sim ", 11) == 0);
	gs_free(&h);
	gs_free(&v);
}

/* The JSON text without its "wall_s" value. */
static char *
gs_without_wall(const char *args)
{
	struct gs_out r = gs_run(args);
	char *p, *q;

	cr_assert_eq(r.rc, 0, "%s: %s", args, r.err);
	p = strstr(r.out, "\"wall_s\": ");
	cr_assert(p != NULL);
	q = strchr(p, ',');
	cr_assert(q != NULL);
	memmove(p, q, strlen(q) + 1);
	free(r.err);
	return r.out;
}

Test(gsim, same_seed_same_json_but_wall_time, .timeout = 60)
{
	const char *a = "--json --members 40 --duration 60 --loss 5 "
			"--fail 2@10 --partition 20:35 --pause 1@12:4 "
			"--sync delta --delta-sync-interval 5s --seed 7";
	char *x = gs_without_wall(a), *y = gs_without_wall(a);
	char *z = gs_without_wall("--json --members 40 --duration 60 --loss 5 "
				  "--fail 2@10 --partition 20:35 --pause 1@12:4 "
				  "--sync delta --delta-sync-interval 5s --seed 8");

	cr_assert_str_eq(x, y, "seed 7 twice:\n%s\n%s", x, y);
	cr_assert_str_neq(x, z, "seeds 7 and 8 printed the same run");
	free(x);
	free(y);
	free(z);
}

/*
 * Scenario 1's bound (tests/scenario/test_sc_detect.c, LAN, N = 50, at
 * 0 % loss so no awareness): a crashed member is dead everywhere within
 *   (N-1) PI + PT + SMaxMult SMult max(1, log10 N) PI + 2 ceil(log2 N) GI
 * and nobody declares it dead sooner than Lifeguard's minimum
 * SMult max(1, log10 N) PI after the crash. No live member is accused.
 */
Test(gsim, detection_at_50_within_the_scenario_bounds, .timeout = 120)
{
	const double n = 50, pi = 1.0, pt = 0.5, gi = 0.2;
	double smin = 4 * log10(n) * pi;
	double bound = (n - 1) * pi + pt + 6 * smin + 2 * ceil(log2(n)) * gi;
	unsigned seed;

	for (seed = 1; seed <= 4; seed++) {
		char args[256];
		json_t *j;

		snprintf(args, sizeof(args), "--members 50 --fail 3@10 "
			 "--duration 120 --seed %u", seed);
		j = gs_json(args);
		cr_assert_eq(gs_num(j, "detected"), 3, "seed %u: %g of 3 dead "
			     "everywhere", seed, gs_num(j, "detected"));
		cr_assert(gs_num(j, "detect_max_s") <= bound, "seed %u: %.3f s "
			  "> bound %.3f s", seed, gs_num(j, "detect_max_s"), bound);
		cr_assert(gs_num(j, "first_detect_min_s") >= smin - 1e-3,
			  "seed %u: dead %.3f s after the crash < min %.3f s",
			  seed, gs_num(j, "first_detect_min_s"), smin);
		cr_assert_eq(gs_num(j, "false_positives"), 0, "seed %u", seed);
		cr_assert_eq(gs_num(j, "false_suspicions"), 0, "seed %u", seed);
		cr_assert(gs_num(j, "dissemination_periods") > 0);
		cr_assert_eq(gs_counter(j, "merge_errors"), 0);
		cr_assert_eq(gs_counter(j, "stuck_deadlines"), 0);
		json_decref(j);
	}
}

/* Delta sync runs in place of the push/pulls, never fails, and heals a
 * partition; full push/pull heals the same one. */
Test(gsim, delta_sync_heals_a_partition_without_errors, .timeout = 120)
{
	const char *common = "--members 60 --partition 10:40 --duration 200 "
			     "--fail 0@0 --delta-sync-interval 5s --seed 3";
	char args[256];
	json_t *d, *f;

	snprintf(args, sizeof(args), "%s --sync delta", common);
	d = gs_json(args);
	snprintf(args, sizeof(args), "%s --sync full", common);
	f = gs_json(args);
	cr_assert(gs_num(d, "delta_syncs") > 0);
	cr_assert(gs_counter(d, "dsync_insync") > 0);
	cr_assert_eq(gs_counter(d, "dsync_errors"), 0);
	cr_assert_eq(gs_counter(d, "dsync_fallbacks"), 0);
	cr_assert_eq(gs_counter(d, "merge_errors"), 0);
	cr_assert(gs_num(d, "heal_s") > 0, "delta: not healed in 160 s");
	cr_assert(gs_num(f, "heal_s") > 0, "full: not healed in 160 s");
	cr_assert_eq(gs_num(f, "delta_syncs"), 0);
	cr_assert(gs_num(d, "sync_bytes_per_member_per_s") <
		  gs_num(f, "sync_bytes_per_member_per_s"));
	json_decref(d);
	json_decref(f);
}

/*
 * Issue 11's convergence bound, with delta sync every I = 5 s: 50 members
 * join node 0 one by one, 20 ms apart; from the last join, every member
 * lists every member within
 *   T_g + I_s + 2 RTT
 * T_g = 2 ceil(log2 N) GI: the joins' gossip settles (the scenario tests'
 * slack; a member's alive goes out RetransmitMult ceil(log10(N+1)) times
 * from every node that learns it); after that only a sync repairs a
 * member that missed it. I_s = I x (ceil(log2 N - log2 32) + 1), the
 * interval memberlist's pushPullScale gives at N (2 I at 50): within it
 * every member starts a sync with a random live member, which knows
 * every member by then. 12.4 s at N = 50 (memberlist's 30 s full
 * push/pull: 62.4 s, and 38..55 s measured in the worst runs).
 */
Test(gsim, every_member_lists_every_member_within_the_bound, .timeout = 300)
{
	const double n = 50, gi = 0.2, ival = 5.0;
	double scale = ceil(log2(n) - log2(32)) + 1;
	double bound = 2 * ceil(log2(n)) * gi + ival * scale + 2 * 0.002;
	double worst = 0;
	unsigned seed;

	for (seed = 1; seed <= 100; seed++) {
		char args[256];
		json_t *j;
		double c;

		snprintf(args, sizeof(args), "--members 50 --start join "
			 "--fail 0@0 --duration 15 --sync delta "
			 "--delta-sync-interval 5s --seed %u", seed);
		j = gs_json(args);
		c = gs_num(j, "converge_s");
		cr_assert(c >= 0 && c <= bound, "seed %u: converged after %.3f s "
			  "(-1: not in 15 s), bound %.3f s", seed, c, bound);
		if (c > worst)
			worst = c;
		json_decref(j);
	}
	printf("GSIM-RESULT converge_delta5s_n50 worst=%.3f s bound=%.3f s "
	       "seeds=100\n", worst, bound);
}
