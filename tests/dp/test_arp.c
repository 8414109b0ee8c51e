/* SPDX-License-Identifier: MIT */
/*
 * The ARP cache on its own: miss -> request + hold, learn -> release,
 * age-out, retries and give-up, bucket eviction that never loses a held
 * packet. Time is a plain number; held "packets" are tagged pointers.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>

#include "dp_arp.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

/* Held packets are just distinct addresses here. */
static int pkts[16];
#define PKT(i) ((void *)&pkts[(i)])

static struct dp_arp *
arp_make(unsigned nb_entries)
{
	struct dp_arp_cfg cfg;
	struct dp_arp *arp;
	int err = 1;

	dp_arp_cfg_default(&cfg);
	cfg.nb_entries = nb_entries;
	arp = dp_arp_new(&cfg, &err);
	cr_assert_not_null(arp);
	cr_assert_eq(err, 0);
	return arp;
}

TestSuite(arp, .timeout = 5);

Test(arp, bad_config_is_refused_with_einval)
{
	struct dp_arp_cfg cfg;
	int err = 0;

	dp_arp_cfg_default(&cfg);
	cfg.nb_entries = 3;
	cr_assert_null(dp_arp_new(&cfg, &err));
	cr_assert_eq(err, -EINVAL);
	dp_arp_cfg_default(&cfg);
	cfg.max_requests = 0;
	err = 0;
	cr_assert_null(dp_arp_new(&cfg, &err));
	cr_assert_eq(err, -EINVAL);
	err = 0;
	cr_assert_null(dp_arp_new(NULL, &err));
	cr_assert_eq(err, -EINVAL);
}

Test(arp, miss_asks_once_and_holds_a_few_packets)
{
	struct dp_arp *arp = arp_make(64);
	uint8_t mac[6];
	bool req = false;

	cr_assert_eq(dp_arp_resolve(arp, 7, 100, PKT(0), mac, &req),
		     DP_ARP_HELD);
	cr_assert(req, "the first miss sends a request");
	for (int i = 1; i < DP_ARP_HOLD; i++) {
		cr_assert_eq(dp_arp_resolve(arp, 7, 101, PKT(i), mac, &req),
			     DP_ARP_HELD);
		cr_assert(!req, "one request per retry period");
	}
	cr_assert_eq(dp_arp_resolve(arp, 7, 102, PKT(9), mac, &req),
		     DP_ARP_FULL);
	cr_assert_eq(dp_arp_count(arp), 1);
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, learn_releases_held_packets_in_order_then_hits)
{
	struct dp_arp *arp = arp_make(64);
	void *out[DP_ARP_HOLD];
	uint8_t mac[6];
	bool req;
	struct dp_arp_stats st;

	dp_arp_resolve(arp, 7, 100, PKT(0), mac, &req);
	dp_arp_resolve(arp, 7, 100, PKT(1), mac, &req);
	cr_assert_eq(dp_arp_learn(arp, 7, mac_a, 200, false, out,
				  DP_ARP_HOLD), 2);
	cr_assert_eq(out[0], PKT(0));
	cr_assert_eq(out[1], PKT(1));
	cr_assert_eq(dp_arp_resolve(arp, 7, 300, PKT(2), mac, &req),
		     DP_ARP_HIT);
	cr_assert_arr_eq(mac, mac_a, 6);
	cr_assert(!req);
	cr_assert(dp_arp_lookup(arp, 7, 300, mac));
	dp_arp_get_stats(arp, &st);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.requests, 1);
	cr_assert_eq(st.learned, 1);
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, learn_creates_only_when_asked_and_lookup_never_does)
{
	struct dp_arp *arp = arp_make(64);
	uint8_t mac[6];
	void *out[DP_ARP_HOLD];

	cr_assert(!dp_arp_lookup(arp, 9, 0, mac));
	cr_assert_eq(dp_arp_count(arp), 0);
	cr_assert_eq(dp_arp_learn(arp, 9, mac_a, 0, false, out, 4), 0);
	cr_assert_eq(dp_arp_count(arp), 0, "unsolicited: not created");
	dp_arp_learn(arp, 9, mac_a, 0, true, out, 4);
	cr_assert_eq(dp_arp_count(arp), 1);
	dp_arp_learn(arp, 9, mac_b, 5, false, out, 4);
	cr_assert(dp_arp_lookup(arp, 9, 6, mac));
	cr_assert_arr_eq(mac, mac_b, 6, "an existing entry is updated");
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, resolved_entry_ages_out_after_reachable_time)
{
	struct dp_arp *arp = arp_make(64);
	struct dp_arp_cfg cfg;
	uint8_t mac[6];
	void *out[8];
	uint32_t retry[8];
	unsigned nb_retry = 9;
	bool req;

	dp_arp_cfg_default(&cfg);
	dp_arp_learn(arp, 9, mac_a, 1000, true, out, 4);
	cr_assert(dp_arp_lookup(arp, 9, 1000 + cfg.reachable_us - 1, mac));
	cr_assert(!dp_arp_lookup(arp, 9, 1000 + cfg.reachable_us, mac));
	/* A resolve after expiry asks again. */
	cr_assert_eq(dp_arp_resolve(arp, 9, 1000 + cfg.reachable_us, NULL,
				    mac, &req), DP_ARP_HELD);
	cr_assert(req);
	dp_arp_learn(arp, 10, mac_b, 0, true, out, 4);
	cr_assert_eq(dp_arp_age(arp, 1000 + cfg.reachable_us + 1, out, 8,
				retry, 8, &nb_retry), 0);
	cr_assert_eq(nb_retry, 0);
	cr_assert_eq(dp_arp_count(arp), 1, "10 expired, 9 is pending");
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, unresolved_entry_retries_then_gives_up_and_returns_packets)
{
	struct dp_arp *arp = arp_make(64);
	struct dp_arp_cfg cfg;
	uint8_t mac[6];
	void *out[8];
	uint32_t retry[8];
	unsigned nb_retry;
	uint64_t t = 0;
	bool req;

	dp_arp_cfg_default(&cfg);
	dp_arp_resolve(arp, 5, t, PKT(3), mac, &req);
	cr_assert_eq(dp_arp_age(arp, t + cfg.retry_us - 1, out, 8, retry, 8,
				&nb_retry), 0);
	cr_assert_eq(nb_retry, 0, "not before retry_us");
	for (unsigned r = 1; r < cfg.max_requests; r++) {
		t += cfg.retry_us;
		cr_assert_eq(dp_arp_age(arp, t, out, 8, retry, 8, &nb_retry),
			     0);
		cr_assert_eq(nb_retry, 1);
		cr_assert_eq(retry[0], 5);
	}
	t += cfg.retry_us;
	cr_assert_eq(dp_arp_age(arp, t, out, 8, retry, 8, &nb_retry), 1);
	cr_assert_eq(nb_retry, 0);
	cr_assert_eq(out[0], PKT(3));
	cr_assert_eq(dp_arp_count(arp), 0);
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, age_stops_when_out_arrays_are_full_and_resumes)
{
	struct dp_arp *arp = arp_make(64);
	uint8_t mac[6];
	void *out[8];
	uint32_t retry[1];
	unsigned nb_retry;
	bool req;

	dp_arp_resolve(arp, 1, 0, NULL, mac, &req);
	dp_arp_resolve(arp, 2, 0, NULL, mac, &req);
	dp_arp_age(arp, 2000000, out, 8, retry, 1, &nb_retry);
	cr_assert_eq(nb_retry, 1);
	dp_arp_age(arp, 2000000, out, 8, retry, 1, &nb_retry);
	cr_assert_eq(nb_retry, 1, "the other IP on the next call");
	dp_arp_delete(arp, NULL, NULL);
}

Test(arp, full_bucket_evicts_stalest_but_never_a_holder)
{
	/* 4 entries: a single bucket, so every IP collides. */
	struct dp_arp *arp = arp_make(4);
	uint8_t mac[6];
	void *out[4];
	bool req;
	struct dp_arp_stats st;

	for (uint32_t ip = 1; ip <= 4; ip++)
		dp_arp_learn(arp, ip, mac_a, ip * 10, true, out, 4);
	dp_arp_learn(arp, 5, mac_b, 50, true, out, 4);
	cr_assert(!dp_arp_lookup(arp, 1, 60, mac), "1 was the stalest");
	cr_assert(dp_arp_lookup(arp, 5, 60, mac));
	dp_arp_get_stats(arp, &st);
	cr_assert_eq(st.evicted, 1);
	dp_arp_delete(arp, NULL, NULL);

	arp = arp_make(4);
	for (uint32_t ip = 1; ip <= 4; ip++)
		cr_assert_eq(dp_arp_resolve(arp, ip, 0, PKT(ip), mac, &req),
			     DP_ARP_HELD);
	cr_assert_eq(dp_arp_resolve(arp, 9, 0, PKT(9), mac, &req),
		     DP_ARP_FULL, "all ways hold packets");
	cr_assert(!req);
	cr_assert_eq(dp_arp_count(arp), 4);
	dp_arp_delete(arp, NULL, NULL);
}

static void
count_release(void *pkt, void *ctx)
{
	(void)pkt;
	(*(int *)ctx)++;
}

Test(arp, delete_gives_back_every_held_packet)
{
	struct dp_arp *arp = arp_make(64);
	uint8_t mac[6];
	bool req;
	int released = 0;

	dp_arp_resolve(arp, 1, 0, PKT(1), mac, &req);
	dp_arp_resolve(arp, 1, 0, PKT(2), mac, &req);
	dp_arp_resolve(arp, 2, 0, PKT(3), mac, &req);
	dp_arp_delete(arp, count_release, &released);
	cr_assert_eq(released, 3);
}

Test(arp, learn_with_short_array_keeps_the_rest_until_age)
{
	struct dp_arp *arp = arp_make(64);
	struct dp_arp_cfg cfg;
	uint8_t mac[6];
	void *out[8];
	uint32_t retry[4];
	unsigned nb_retry;
	bool req;

	dp_arp_cfg_default(&cfg);
	dp_arp_resolve(arp, 1, 0, PKT(1), mac, &req);
	dp_arp_resolve(arp, 1, 0, PKT(2), mac, &req);
	cr_assert_eq(dp_arp_learn(arp, 1, mac_a, 0, false, out, 1), 1);
	cr_assert_eq(out[0], PKT(1));
	cr_assert_eq(dp_arp_age(arp, cfg.reachable_us, out, 8, retry, 4,
				&nb_retry), 1);
	cr_assert_eq(out[0], PKT(2));
	dp_arp_delete(arp, NULL, NULL);
}
