/* SPDX-License-Identifier: MIT */
/*
 * Control-thread latency of the Serf layer's table at scale (issue 11):
 * n members join through the core as control feeds them (an alive each,
 * its core events into the Serf layer); the CPU of every member's Serf
 * step (serf_on_swim_event: the name index insert among it) is timed,
 * then the streamed user state's sizing. Prints figures, asserts
 * nothing about speed:
 *
 *   insert n worst_us at_member p999_us total_ms index_kib raw_us nb_pre
 *   index  nb_growths worst_growth_us nb_moving worst_moving_us
 *   size   n steps worst_step_ms total_ms state_bytes raw_ms nb_pre
 *
 * worst_us: the longest single member's Serf step in thread CPU time
 * (preemption does not count; page faults of a new table do) among the
 * steps the thread was not switched out in, at_member which member it
 * was (a growth of the index shows there); raw_us the worst of all,
 * nb_pre how many were switched out. index: the worst among the steps
 * whose insert grew the index, and among those that ran while it moved
 * to the larger table (left out: switched out). size: the
 * sizing of serf_pp_enc in the steps control runs it in (worst_step_ms
 * the longest), or whole with "whole" as the second argument.
 *
 *   bench_serf_index 1000000 [whole]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "serf_int.h"
#include "swim.h"
#include "swim_wire.h"

static const uint8_t vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 4 };

static struct serf *
node(const char *name, struct swim **core)
{
	struct swim_cfg cfg;
	struct serf_cfg sc;
	const char *err = NULL;

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.vsn, vsn, sizeof(vsn));
	*core = swim_new(&cfg, &err);
	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "%s", name);
	sc.reconnect_interval_us = 0;
	struct serf *s = *core != NULL ? serf_new(&sc, *core, &err) : NULL;
	if (s == NULL) {
		fprintf(stderr, "bench_serf_index: %s\n", err);
		exit(1);
	}
	return s;
}

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One alive for member i into the core; its events into the Serf layer,
 * timed. @retval the Serf side's CPU in us; *preempted if the thread was
 * switched out meanwhile (this VM then counts 100 ms to it now and then,
 * with or without this change: such steps are left out of worst_us). */
static double
join_one(struct swim *core, struct serf *serf, uint32_t i, bool *preempted)
{
	uint8_t ip[4] = { 10, 0, 0, 2 }, pkt[256];
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };
	struct swim_event ev;
	struct serf_event sev;
	char name[32];
	double t = 0;

	int nl = snprintf(name, sizeof(name), "member-%014u", i);
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	m.alive = (struct swim_alive){ .incarnation = 1,
		.node = { (const uint8_t *)name, (uint32_t)nl },
		.addr = { ip, 4 }, .port = 7946,
		.vsn = { vsn, SWIM_VSN_LEN } };
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	swim_on_packet(core, 1, &from, pkt, (size_t)len, 0);
	while (swim_pop_event(core, &ev)) {
		struct rusage r0, r1;
		getrusage(RUSAGE_THREAD, &r0);
		double c0 = cpu_us();
		serf_on_swim_event(serf, 1, &ev);
		t += cpu_us() - c0;
		getrusage(RUSAGE_THREAD, &r1);
		*preempted |= r1.ru_nivcsw != r0.ru_nivcsw;
	}
	while (serf_pop_event(serf, &sev))
		;
	return t;
}

/* The worst Serf step of the members whose insert grew the index, and
 * of those that ran during a move (old table present before or after). */
struct bench_idx {
	double growth, moving;
	uint32_t nb_growth, nb_moving;
};

static void
bench_idx_note(struct bench_idx *b, const struct swim_index *x,
	       uint32_t mask0, bool moving0, double us)
{
	if (x->mask != mask0) {
		b->nb_growth++;
		b->growth = us > b->growth ? us : b->growth;
	} else if (moving0 || x->old != NULL) {
		b->nb_moving++;
		b->moving = us > b->moving ? us : b->moving;
	}
}

static void
bench_insert(struct swim *core, struct serf *serf, uint32_t n)
{
	double *lat = malloc(sizeof(*lat) * n);
	double worst = 0, raw = 0, total = 0;
	uint32_t at = 0, nb_pre = 0;
	struct bench_idx bi = { 0 };

	for (uint32_t i = 0; i < n; i++) {
		bool pre = false, moving0 = serf->index.old != NULL;
		uint32_t mask0 = serf->index.mask;
		lat[i] = join_one(core, serf, i, &pre);
		total += lat[i];
		raw = lat[i] > raw ? lat[i] : raw;
		nb_pre += pre;
		if (pre)
			continue;
		bench_idx_note(&bi, &serf->index, mask0, moving0, lat[i]);
		if (lat[i] > worst) {
			worst = lat[i];
			at = i;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_dbl);
	printf("insert %u %.0f %u %.1f %.0f %zu %.0f %u\n", n, worst, at,
	       lat[(size_t)n * 999 / 1000], total / 1e3,
	       swim_index_bytes(&serf->index) / 1024, raw, nb_pre);
	printf("index %u growths %.0f moving %u %.0f\n", bi.nb_growth,
	       bi.growth, bi.nb_moving, bi.moving);
	free(lat);
}

/* Timings of steps: the worst of those not switched out, all of them. */
struct bench_steps {
	double worst, raw, total;
	uint32_t nb, nb_pre;
};

/* One timed call of the sizing. @retval its rc. */
static int
size_step(struct serf *serf, struct serf_pp_enc *e, bool whole,
	  struct bench_steps *t)
{
	struct rusage r0, r1;

	getrusage(RUSAGE_THREAD, &r0);
	double c0 = cpu_us();
	int rc = whole ? serf_pp_enc_start(serf, e, NULL, NULL) :
		 serf_pp_enc_size(serf, e);
	double d = cpu_us() - c0;
	getrusage(RUSAGE_THREAD, &r1);
	bool pre = r1.ru_nivcsw != r0.ru_nivcsw;

	t->nb++;
	t->nb_pre += pre;
	t->total += d;
	t->raw = d > t->raw ? d : t->raw;
	if (!pre && d > t->worst)
		t->worst = d;
	return rc;
}

/* The sizing of the streamed user state, in control's steps. */
static void
bench_size(struct serf *serf, uint32_t n, bool whole)
{
	struct serf_pp_enc e;
	struct bench_steps t = { 0 };
	int rc = whole ? 0 : serf_pp_enc_begin(serf, &e, NULL, NULL);

	while (rc == 0 || rc == -EAGAIN) {
		rc = size_step(serf, &e, whole, &t);
		if (rc == 0)
			break;
	}
	if (rc != 0) {
		fprintf(stderr, "bench_serf_index: sizing: %s\n",
			strerror(-rc));
		exit(1);
	}
	printf("size %u %u %.2f %.1f %zu %.2f %u\n", n, t.nb, t.worst / 1e3,
	       t.total / 1e3, e.len, t.raw / 1e3, t.nb_pre);
	serf_pp_enc_end(serf, &e);
}

int
main(int argc, char **argv)
{
	struct swim *core;
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 0;
	bool whole = argc > 2 && strcmp(argv[2], "whole") == 0;

	if (n == 0) {
		fprintf(stderr, "usage: bench_serf_index N [whole]\n");
		return 2;
	}
	struct serf *serf = node("self", &core);
	bench_insert(core, serf, n);
	bench_size(serf, n, whole);
	serf_delete(serf);
	swim_delete(core);
	return 0;
}
