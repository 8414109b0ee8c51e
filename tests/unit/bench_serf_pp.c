/*
 * The Serf user state of one push/pull at scale, for
 * scripts/bench-scale.sh: node A holds n members (21-byte names, status
 * LTimes), node B the same members at LTime 0; A's state goes to B once.
 * Prints one line:
 *   mode n ok state_bytes cpu_ms peak_over_rss_kib first_ms
 * (cpu: the exchange's process CPU; peak: VmHWM in the exchange, reset
 * just before through /proc/self/clear_refs, over VmRSS before it;
 * first: the CPU before the first byte can go, the longest step that
 * cannot be sliced: serf_local_state whole, or serf_pp_enc_start's
 * sizing walk)
 * mode "stream": serf_pp_enc into a 64 KiB window, serf_pp_dec from one
 * (the daemon's path since the Serf state streams); "whole": the path
 * before it (serf_local_state into a buffer of 64 bytes a member, as
 * control sized it, and serf_merge_remote_state of the whole buffer).
 *
 *   bench_serf_pp stream 1000000
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serf_int.h"
#include "swim.h"
#include "swim_wire.h"

#define WIN (64u * 1024)

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
	struct serf *s = *core != NULL ? serf_new(&sc, *core, &err) : NULL;
	if (s == NULL) {
		fprintf(stderr, "bench_serf_pp: %s\n", err);
		exit(1);
	}
	return s;
}

/* n members "member-%014u" (21 bytes) through the core, as control. */
static void
fill(struct swim *core, struct serf *serf, uint32_t n, bool ltimes)
{
	uint8_t ip[4] = { 10, 0, 0, 2 }, pkt[256];
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };
	struct swim_event ev;
	struct serf_event sev;
	char name[32];

	for (uint32_t i = 0; i < n; i++) {
		int nl = snprintf(name, sizeof(name), "member-%014u", i);
		struct swim_msg m = { .type = SWIM_MSG_ALIVE };
		m.alive = (struct swim_alive){ .incarnation = 1,
			.node = { (const uint8_t *)name, (uint32_t)nl },
			.addr = { ip, 4 }, .port = 7946,
			.vsn = { vsn, SWIM_VSN_LEN } };
		int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
		swim_on_packet(core, 1, &from, pkt, (size_t)len, 0);
		while (swim_pop_event(core, &ev))
			serf_on_swim_event(serf, 1, &ev);
		while (serf_pop_event(serf, &sev))
			;
		if (ltimes)
			serf_member_get(serf, (const uint8_t *)name,
					(size_t)nl)->status_ltime = 100 + i;
	}
	if (ltimes)
		serf->clock.time = 100 + n;	/* intents witness them */
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long
vm_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key) + 1, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

static double first_ms;

static size_t
whole(struct serf *a, struct serf *b)
{
	size_t cap = (size_t)serf_member_count(a) * 64 + 64 * 1024;
	uint8_t *buf = malloc(cap);
	double c0 = cpu_ms();
	size_t n = serf_local_state(a, buf, cap);

	if (n > cap) {
		buf = realloc(buf, n);
		n = serf_local_state(a, buf, n);
	}
	first_ms = cpu_ms() - c0;
	if (serf_merge_remote_state(b, 1, buf, n, false) != 0)
		n = 0;
	free(buf);
	return n;
}

static size_t
stream(struct serf *a, struct serf *b)
{
	static uint8_t tx[WIN], rx[WIN];
	static struct serf_pp_dec d;
	struct serf_pp_enc e;
	size_t rl = 0;
	long w;

	double c0 = cpu_ms();
	if (serf_pp_enc_start(a, &e, NULL, NULL) != 0)
		return 0;
	first_ms = cpu_ms() - c0;
	serf_pp_dec_start(b, &d, e.len, false);
	while ((w = serf_pp_enc_next(a, &e, tx, WIN)) != 0) {
		if (w == -EAGAIN)
			continue;
		if (w < 0)
			return 0;
		for (size_t off = 0; off < (size_t)w;) {
			size_t k = WIN - rl < (size_t)w - off ? WIN - rl
							      : (size_t)w - off;
			memcpy(rx + rl, tx + off, k);
			rl += k;
			off += k;
			long c = serf_pp_dec_next(b, &d, 1, rx, rl);
			if (c < 0)
				return 0;
			memmove(rx, rx + c, rl - (size_t)c);
			rl -= (size_t)c;
		}
	}
	serf_pp_enc_end(a, &e);
	return serf_pp_dec_done(&d) ? e.len : 0;
}

int
main(int argc, char **argv)
{
	struct swim *ca, *cb;
	bool is_stream = argc > 1 && strcmp(argv[1], "stream") == 0;
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_serf_pp stream|whole N\n");
		return 2;
	}
	struct serf *a = node("a", &ca), *b = node("b", &cb);
	fill(ca, a, n, true);
	fill(cb, b, n, false);
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f != NULL) {
		fputs("5", f);	/* VmHWM from here is the exchange's */
		fclose(f);
	}
	long rss0 = vm_kib("VmRSS:");
	double c0 = cpu_ms();
	size_t len = is_stream ? stream(a, b) : whole(a, b);
	double c1 = cpu_ms();
	long hwm = vm_kib("VmHWM:");
	struct serf_member_info info;
	bool ok = len > 0 && serf_member_find(b, "member-00000000000007", 21,
					      &info) == 0 &&
		  info.status_ltime == 107;
	printf("%s %u %s %zu %.1f %ld %.1f\n", is_stream ? "stream" : "whole",
	       n, ok ? "ok" : "FAIL", len, c1 - c0, hwm - rss0, first_ms);
	serf_delete(a);
	serf_delete(b);
	swim_delete(ca);
	swim_delete(cb);
	return ok ? 0 : 1;
}
