/*
 * bench-members: memory per member and CPU per join/update event of the
 * core and the Serf layer, through the real code paths.
 *
 *   bench-members N [updates]
 *
 * Adds N members (names of 21 bytes, three short tags) as alive messages
 * in UDP packets to a core with a Serf layer on top, hands every event to
 * the Serf layer as control does, then gossips the broadcast queue empty
 * (swim_take_piggyback, as the dataplane's acks would) so what is left is
 * the idle pool. Then `updates` members (default min(N, 10000)) change
 * their tags. Prints one line of key=value figures: heap bytes per member
 * (mallinfo2, exact), RSS per member, and CPU µs per join and per update
 * (utime + stime of this process). A benchmark, not a test.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "serf.h"
#include "swim.h"
#include "swim_wire.h"

#define BENCH_PKT 1400

struct bench {
	struct swim *swim;
	struct serf *serf;
	uint64_t now;
	uint64_t joins;		/* member-join events out of the Serf layer */
	uint64_t updates;	/* member-update events */
	uint8_t pkt[BENCH_PKT];
};

static double
bench_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static size_t
bench_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t
bench_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0;
	unsigned long rss = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * 4096;
}

static void
bench_drain(struct bench *b)
{
	static struct serf_event sev;
	struct swim_event ev;

	while (swim_pop_event(b->swim, &ev)) {
		serf_on_swim_event(b->serf, b->now, &ev);
		while (serf_pop_event(b->serf, &sev)) {
			b->joins += sev.kind == SERF_EV_MEMBER_JOIN;
			b->updates += sev.kind == SERF_EV_MEMBER_UPDATE;
		}
	}
}

/* Member i's alive at incarnation inc; its tags change with inc. */
static void
bench_alive(struct bench *b, uint32_t i, uint32_t inc)
{
	char name[32], role[16], dc[8], id[16];
	uint8_t meta[SWIM_META_MAX];
	uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			  (uint8_t)i };
	uint8_t vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 4 };
	int nlen = snprintf(name, sizeof(name), "node-%07u.pool.lan", i);

	snprintf(role, sizeof(role), "web%u", (i + inc) % 16);
	snprintf(dc, sizeof(dc), "dc%u", i % 4);
	snprintf(id, sizeof(id), "%u", i);
	struct serf_tag tags[3] = {
		{ "role", role, 4, (uint32_t)strlen(role) },
		{ "dc", dc, 2, (uint32_t)strlen(dc) },
		{ "id", id, 2, (uint32_t)strlen(id) },
	};
	int mlen = serf_tags_encode(tags, 3, meta, sizeof(meta));
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };
	msg.alive.incarnation = inc;
	msg.alive.node = (struct swim_str){ (const uint8_t *)name,
					    (uint32_t)nlen };
	msg.alive.addr = (struct swim_str){ ip, 4 };
	msg.alive.port = 7946;
	msg.alive.meta = (struct swim_str){ meta, (uint32_t)mlen };
	msg.alive.vsn = (struct swim_str){ vsn, SWIM_VSN_LEN };
	int len = swim_wire_encode_msg(&msg, b->pkt, sizeof(b->pkt));
	struct swim_addr from = { .ip = { 10, 0, 0, 1 }, .ip_len = 4,
				  .port = 7946 };
	if (len > 0)
		swim_on_packet(b->swim, b->now, &from, b->pkt, (size_t)len, 0);
	bench_drain(b);
}

/* Gossip every queued broadcast until its retransmit limit. */
static void
bench_gossip_all(struct bench *b)
{
	static uint8_t buf[65536];
	unsigned nb;

	for (uint64_t i = 0; i < 100000000ull &&
	     swim_broadcast_queue_len(b->swim) > 0; i++)
		swim_take_piggyback(b->swim, buf, sizeof(buf), &nb);
}

static int
bench_init(struct bench *b)
{
	struct swim_cfg cfg;
	struct serf_cfg sc;
	const char *err = NULL;
	uint8_t vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 4 };

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "bench-self.pool.lan");
	cfg.addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.vsn, vsn, sizeof(vsn));
	cfg.seed = 42;
	b->swim = swim_new(&cfg, &err);
	if (b->swim == NULL)
		return fprintf(stderr, "swim_new: %s\n", err), -1;
	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "%s", cfg.name);
	b->serf = serf_new(&sc, b->swim, &err);
	if (b->serf == NULL)
		return fprintf(stderr, "serf_new: %s\n", err), -1;
	b->now = 1000000;
	bench_drain(b);
	b->joins = 0;	/* our own join */
	return 0;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
	uint32_t nu = n < 10000 ? n : 10000;

	if (argc > 2)
		nu = (uint32_t)strtoul(argv[2], NULL, 10);
	if (nu > n)
		nu = n;
	if (bench_init(&b) != 0)
		return 1;
	size_t heap0 = bench_heap(), rss0 = bench_rss();
	double t0 = bench_cpu_us();
	for (uint32_t i = 0; i < n; i++)
		bench_alive(&b, i, 1);
	double t1 = bench_cpu_us();
	size_t heap_peak = bench_heap();
	bench_gossip_all(&b);
	malloc_trim(0);
	size_t heap1 = bench_heap(), rss1 = bench_rss();
	double t2 = bench_cpu_us();
	for (uint32_t i = 0; i < nu; i++)
		bench_alive(&b, (uint32_t)(((uint64_t)i * 7919) % n), 2);
	double t3 = bench_cpu_us();
	printf("members=%u core=%u serf=%u joins=%llu updates=%llu "
	       "heap_per_member=%.1f heap_peak_per_member=%.1f "
	       "rss_per_member=%.1f join_us=%.3f update_us=%.3f\n",
	       n, swim_member_count(b.swim), serf_member_count(b.serf),
	       (unsigned long long)b.joins, (unsigned long long)b.updates,
	       n ? (double)(heap1 - heap0) / n : 0.0,
	       n ? (double)(heap_peak - heap0) / n : 0.0,
	       n ? (double)(rss1 - rss0) / n : 0.0,
	       n ? (t1 - t0) / n : 0.0, nu ? (t3 - t2) / nu : 0.0);
	int rc = b.joins == n && swim_member_count(b.swim) == n + 1 &&
		 serf_member_count(b.serf) == n + 1 ? 0 : 2;
	serf_delete(b.serf);
	swim_delete(b.swim);
	return rc;
}
