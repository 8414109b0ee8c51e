/* SPDX-License-Identifier: MIT */
/*
 * dp_ring.c through the "null" backend (rings, no thread): the test plays
 * the lcore with dp_lcore_*; control's side is the public dp.h API.
 * No EAL, no sockets.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "dp.h"
#include "dp_internal.h"

static struct dp *
ring_dp(unsigned nb_lcores, unsigned ring_size)
{
	struct dp_cfg cfg = { .nb_lcores = nb_lcores, .ring_size = ring_size };
	char err[128] = "";
	struct dp *dp = dp_new("null", &cfg, err, sizeof(err));

	cr_assert_not_null(dp, "dp_new: %s", err);
	return dp;
}

static void
pkt_fill(struct dp_pkt *p, uint8_t tag, uint16_t len)
{
	memset(p, 0, sizeof(*p));
	p->addr.ip_len = 4;
	p->addr.ip[0] = 127;
	p->addr.ip[3] = tag;
	p->addr.port = 7946;
	p->len = len;
	memset(p->data, tag, len);
}

static void
new_must_fail(const char *backend, unsigned nb_lcores, unsigned ring_size,
	      const char *msg)
{
	struct dp_cfg cfg = { .nb_lcores = nb_lcores, .ring_size = ring_size };
	char err[128] = "";

	cr_assert_null(dp_new(backend, &cfg, err, sizeof(err)));
	cr_assert(strstr(err, msg) != NULL, "err '%s' lacks '%s'", err, msg);
}

Test(dp_ring, new_rejects_unknown_backend)
{
	new_must_fail("carrier-pigeon", 1, 0, "unknown dataplane backend");
	new_must_fail(NULL, 1, 0, "unknown dataplane backend");
}

Test(dp_ring, new_rejects_bad_lcore_counts)
{
	new_must_fail("null", 0, 0, "nb_lcores 0");
	new_must_fail("null", DP_MAX_LCORES + 1, 0, "nb_lcores 17");
}

Test(dp_ring, new_rejects_bad_ring_sizes)
{
	new_must_fail("null", 1, 3, "ring_size 3");
	new_must_fail("null", 1, 1, "ring_size 1");
	new_must_fail("null", 1, DP_RING_SIZE_MAX * 2, "not a power of 2");
}

Test(dp_ring, base_init_returns_einval)
{
	struct dp *dp = dp_calloc_lines(sizeof(*dp));
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 6 };
	char err[64];

	cr_assert_not_null(dp);
	cr_assert_eq(dp_base_init(dp, NULL, &cfg, err, sizeof(err)), -EINVAL);
	free(dp);
}

Test(dp_ring, control_to_lcore_keeps_bytes_and_order)
{
	struct dp *dp = ring_dp(1, 16);
	struct dp_pkt p, got[8];

	for (uint8_t i = 1; i <= 5; i++) {
		pkt_fill(&p, i, (uint16_t)(i * 100));
		cr_assert(dp_send(dp, &p));
	}
	cr_assert_eq(dp_lcore_from_control(&dp->lcore[0], got, 8), 5);
	for (uint8_t i = 1; i <= 5; i++) {
		pkt_fill(&p, i, (uint16_t)(i * 100));
		cr_assert_eq(memcmp(&got[i - 1], &p, sizeof(p)), 0,
			     "packet %u differs", i);
	}
	cr_assert_eq(dp_lcore_from_control(&dp->lcore[0], got, 8), 0);
	dp_delete(dp);
}

Test(dp_ring, lcore_to_control_keeps_bytes_flags_and_counts)
{
	struct dp *dp = ring_dp(1, 16);
	struct dp_pkt in[3], out[4];
	struct dp_stats st;

	for (uint8_t i = 0; i < 3; i++)
		pkt_fill(&in[i], (uint8_t)(i + 7), 40);
	in[1].flags = DP_PKT_F_PINGS_ANSWERED;
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], in, 3), 3);
	cr_assert_eq(dp_recv(dp, out, 4), 3);
	cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
	cr_assert_eq(out[1].flags, DP_PKT_F_PINGS_ANSWERED);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.to_control, 3);
	cr_assert_eq(st.drop_ring_full, 0);
	cr_assert_eq(dp_recv(dp, out, 4), 0);
	dp_delete(dp);
}

Test(dp_ring, full_rx_ring_drops_and_counts)
{
	/* an rte_ring of size 4 holds 3 */
	struct dp *dp = ring_dp(1, 4);
	struct dp_pkt in[5], out[5];
	struct dp_stats st;

	for (uint8_t i = 0; i < 5; i++)
		pkt_fill(&in[i], i, 8);
	cr_assert_eq(dp_lcore_to_control(&dp->lcore[0], in, 5), 3);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.to_control, 3);
	cr_assert_eq(st.drop_ring_full, 2);
	cr_assert_eq(dp_recv(dp, out, 5), 3);
	cr_assert_eq(memcmp(out, in, 3 * sizeof(in[0])), 0,
		     "the first three are kept, in order");
	dp_delete(dp);
}

Test(dp_ring, full_tx_rings_refuse_and_count)
{
	struct dp *dp = ring_dp(2, 4);
	struct dp_pkt p;
	struct dp_stats st;
	unsigned ok = 0;

	pkt_fill(&p, 1, 10);
	/* one destination: its lcore first, then the other one (3 + 3) */
	for (int i = 0; i < 8; i++)
		ok += dp_send(dp, &p);
	cr_assert_eq(ok, 6);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.drop_tx, 2);
	dp_delete(dp);
}

Test(dp_ring, send_refuses_oversized_packets)
{
	struct dp *dp = ring_dp(1, 8);
	struct dp_pkt p;
	struct dp_stats st;

	pkt_fill(&p, 1, 10);
	p.len = DP_PKT_MAX + 1;
	cr_assert_not(dp_send(dp, &p));
	dp_get_stats(dp, &st);
	cr_assert_eq(st.drop_too_big, 1);
	dp_delete(dp);
}

Test(dp_ring, one_peer_always_uses_one_lcore)
{
	struct dp *dp = ring_dp(4, 16);
	struct dp_pkt p, out[8];
	unsigned total = 0, used = 0;

	pkt_fill(&p, 9, 10);
	for (int i = 0; i < 5; i++)
		cr_assert(dp_send(dp, &p));
	for (unsigned l = 0; l < 4; l++) {
		unsigned n = dp_lcore_from_control(&dp->lcore[l], out, 8);

		total += n;
		used += n > 0;
	}
	cr_assert_eq(total, 5);
	cr_assert_eq(used, 1, "per-peer order needs a single tx ring");
	dp_delete(dp);
}

Test(dp_ring, recv_drains_every_lcore_and_respects_n)
{
	struct dp *dp = ring_dp(3, 16);
	struct dp_pkt p, out[16];
	unsigned got;

	for (uint8_t l = 0; l < 3; l++)
		for (uint8_t i = 0; i < 2; i++) {
			pkt_fill(&p, (uint8_t)(l * 10 + i), 4);
			cr_assert_eq(dp_lcore_to_control(&dp->lcore[l], &p, 1),
				     1);
		}
	got = dp_recv(dp, out, 4);
	cr_assert_eq(got, 4);
	got += dp_recv(dp, out + 4, 16 - 4);
	cr_assert_eq(got, 6);
	cr_assert_eq(dp_recv(dp, out, 16), 0);
	dp_delete(dp);
}

Test(dp_ring, stats_sum_every_lcore)
{
	struct dp *dp = ring_dp(3, 16);
	struct dp_stats st;

	dp_stat_add(&dp->lcore[0], DP_STAT_RX_PKTS, 5);
	dp_stat_add(&dp->lcore[2], DP_STAT_RX_PKTS, 7);
	dp_stat_add(&dp->lcore[1], DP_STAT_ACKS_FAST, 2);
	dp_stat_add(&dp->lcore[1], DP_STAT_DROP_OTHER, 1);
	dp_stat_add(&dp->lcore[2], DP_STAT_DROP_MALFORMED, 3);
	dp_get_stats(dp, &st);
	cr_assert_eq(st.rx_pkts, 12);
	cr_assert_eq(st.acks_fast, 2);
	cr_assert_eq(st.drop_other, 1);
	cr_assert_eq(st.drop_malformed, 3);
	cr_assert_eq(st.tx_pkts, 0);
	dp_delete(dp);
}

Test(dp_ring, lcore_counters_sit_on_separate_cache_lines)
{
	struct dp *dp = ring_dp(2, 4);
	uintptr_t a = (uintptr_t)&dp->lcore[0].stats;
	uintptr_t b = (uintptr_t)&dp->lcore[1].stats;

	cr_assert_eq(a % DP_CACHE_LINE, 0);
	cr_assert_geq(b - a, DP_CACHE_LINE);
	dp_delete(dp);
}

Test(dp_ring, snapshot_read_sees_each_publication_once)
{
	struct dp *dp = ring_dp(1, 4);
	struct dp_snapshot snap = { .name = "alpha" }, got;
	uint64_t gen = 0;

	cr_assert_not(dp_snap_read(&dp->pub, &gen, &got), "nothing yet");
	dp_publish(dp, &snap);
	cr_assert(dp_snap_read(&dp->pub, &gen, &got));
	cr_assert_eq(gen, 1);
	cr_assert_str_eq(got.name, "alpha");
	cr_assert_not(dp_snap_read(&dp->pub, &gen, &got));
	strcpy(snap.name, "beta");
	dp_publish(dp, &snap);
	strcpy(snap.name, "gamma");
	snap.ack_payload_len = 3;
	dp_publish(dp, &snap);
	cr_assert(dp_snap_read(&dp->pub, &gen, &got));
	cr_assert_eq(gen, 3);
	cr_assert_str_eq(got.name, "gamma", "the newest wins");
	cr_assert_eq(got.ack_payload_len, 3);
	dp_delete(dp);
}

Test(dp_ring, snapshot_read_never_returns_a_slot_being_written)
{
	struct dp *dp = ring_dp(1, 4);
	struct dp_snapshot snap = { .name = "one" }, got;
	uint64_t gen = 0;

	dp_publish(dp, &snap);
	/* fake control caught mid-write of the slot readers are told to use */
	atomic_fetch_add(&dp->pub.slot[1].seq, 1);
	cr_assert_not(dp_snap_read(&dp->pub, &gen, &got));
	cr_assert_eq(gen, 0, "a torn read must not advance the generation");
	atomic_fetch_add(&dp->pub.slot[1].seq, 1);
	cr_assert(dp_snap_read(&dp->pub, &gen, &got));
	cr_assert_str_eq(got.name, "one");
	dp_delete(dp);
}

Test(dp_ring, delete_accepts_null)
{
	dp_delete(NULL);
}

/* Stress: control publishes snapshots whose every byte is one value; an
 * lcore thread must never see a mix of two publications. */
struct snap_race {
	struct dp *dp;
	_Atomic bool done;
	unsigned nb_reads;	/* successful reads by the reader */
	unsigned nb_torn;	/* reads mixing two publications */
};

static void *
snap_race_reader(void *arg)
{
	struct snap_race *r = arg;
	static struct dp_snapshot got;
	uint64_t gen = 0;

	while (!atomic_load(&r->done)) {
		if (!dp_snap_read(&r->dp->pub, &gen, &got))
			continue;
		r->nb_reads++;
		for (size_t i = 1; i < sizeof(got.piggyback); i++)
			if (got.piggyback[i] != got.piggyback[0] ||
			    got.ack_payload[i % 256] != got.piggyback[0]) {
				r->nb_torn++;
				break;
			}
	}
	return NULL;
}

Test(dp_ring, snapshot_reads_are_never_torn)
{
	struct snap_race r = { .dp = ring_dp(1, 4) };
	static struct dp_snapshot snap;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, snap_race_reader, &r), 0);
	for (unsigned i = 0; i < 200000; i++) {
		memset(snap.piggyback, (int)(i & 0xff), sizeof(snap.piggyback));
		memset(snap.ack_payload, (int)(i & 0xff),
		       sizeof(snap.ack_payload));
		dp_publish(r.dp, &snap);
	}
	atomic_store(&r.done, true);
	pthread_join(t, NULL);
	cr_assert_eq(r.nb_torn, 0, "%u torn of %u reads", r.nb_torn,
		     r.nb_reads);
	cr_assert_gt(r.nb_reads, 0);
	dp_delete(r.dp);
}
