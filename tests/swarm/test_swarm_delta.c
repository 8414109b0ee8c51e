/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's delta-sync digests (tools/swarm/swarm_delta.c) agree with
 * gossipd's core (swim_dsync.h) for the same table: a core that merged the
 * swarm's push/pull has the same root and the same leaf digests at its
 * bits, also after members fail, leave, refute and rejoin through the
 * swarm's own state changes; the swarm's push/pull of a leaf set holds
 * exactly the members of those leaves; its entries carry the capability
 * byte (and not with --no-delta-sync).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "swarm_int.h"
#include "swim.h"
#include "swim_dsync_udp.h"

#define N 3000u

static struct swarm *sw;
static struct swim *core;

static void
join_all(void)
{
	for (uint32_t i = 0; i < N; i++) {
		struct swarm_member old = sw->m[i];

		cr_assert_eq(swarm_member_join(&sw->m[i]), 0);
		swarm_delta_touch(sw, i, &old);
	}
	sw->n_joined = N;
	sw->n_alive = N;
}

static void
setup(void)
{
	struct swim_cfg sc;
	const char *err = NULL;
	struct swim_str name = { (const uint8_t *)"real-0", 6 };
	uint8_t ip[4] = { 127, 0, 0, 1 };
	struct swim_str addr = { ip, 4 }, none = { NULL, 0 };

	sw = calloc(1, sizeof(*sw));
	swarm_cfg_default(&sw->cfg);
	cr_assert_eq(swarm_map_init(&sw->map, "swarm-", 0x7f400000u, 10, N),
		     0);
	sw->cfg.members = N;
	sw->m = calloc(N, sizeof(*sw->m));
	cr_assert_eq(swarm_delta_init(sw), 0);
	cr_assert_not_null(sw->delta);
	join_all();
	swim_cfg_default_local(&sc);
	strcpy(sc.name, "real-0");
	sc.addr.ip_len = 4;
	memcpy(sc.addr.ip, ip, 4);
	sc.addr.port = 7946;
	sc.vsn_caps = SWIM_DSYNC_CAP_V1;
	core = swim_new(&sc, &err);
	cr_assert_not_null(core, "%s", err ? err : "");
	/* the swarm knows the real node as gossipd says it is */
	cr_assert_geq(swarm_real_upsert(sw, &name, &addr, 7946, 1,
					SWIM_STATUS_ALIVE, &none, &none), 0);
}

static void
teardown(void)
{
	swim_delete(core);
	swarm_delta_free(sw);
	free(sw->m);
	free(sw);
}

/* The core merges the swarm's whole push/pull. */
static void
merge_into_core(void)
{
	struct swim_str us;
	uint8_t *msg = NULL;
	size_t len = 0;

	cr_assert_eq(swarm_pp_encode(sw, false, 0, 0, true, &msg, &len), 0);
	cr_assert_gt(swim_push_pull_merge(core, 1000000, msg, len, &us), 0);
	free(msg);
}

static void
assert_agree(void)
{
	uint32_t count = 0;
	unsigned bits = swim_dsync_bits(core);

	cr_assert_eq(swarm_delta_root(sw, &count), swim_dsync_root(core));
	cr_assert_eq(count, swim_dsync_count(core));
	for (uint32_t l = 0; l < (1u << bits); l++)
		cr_assert_eq(swarm_delta_leaf(sw, bits, l),
			     swim_dsync_leaf_digest(core, bits, l),
			     "leaf %u at %u bits", l, bits);
}

TestSuite(swarm_delta, .init = setup, .fini = teardown, .timeout = 30);

Test(swarm_delta, digests_agree_with_the_core)
{
	merge_into_core();
	cr_assert_eq(swim_member_count(core), N + 1);
	assert_agree();
}

Test(swarm_delta, they_agree_after_members_fail_leave_refute_rejoin)
{
	struct swarm_member old;

	merge_into_core();
	/* 7 fails, and the pool suspects it (a dead claim in a push/pull
	 * is merged as a suspicion, as memberlist does: the two differ
	 * until the suspicion runs out) */
	old = sw->m[7];
	cr_assert_eq(swarm_member_fail(&sw->m[7]), 0);
	swarm_delta_touch(sw, 7, &old);
	old = sw->m[7];
	swarm_member_accused(&sw->m[7], false, sw->m[7].incarnation);
	swarm_delta_touch(sw, 7, &old);
	/* 9 leaves; 11 refutes a suspicion; 12 left and came back */
	old = sw->m[9];
	cr_assert_eq(swarm_member_leave(&sw->m[9]), 0);
	swarm_delta_touch(sw, 9, &old);
	old = sw->m[11];
	cr_assert_eq(swarm_member_accused(&sw->m[11], false, 1),
		     SWARM_V_REFUTE);
	swarm_delta_touch(sw, 11, &old);
	old = sw->m[12];
	swarm_member_leave(&sw->m[12]);
	swarm_delta_touch(sw, 12, &old);
	old = sw->m[12];
	cr_assert_eq(swarm_member_join(&sw->m[12]), 0);
	swarm_delta_touch(sw, 12, &old);
	cr_assert_neq(swarm_delta_root(sw, NULL), swim_dsync_root(core));
	merge_into_core();
	assert_agree();
}

Test(swarm_delta, a_leaf_set_push_pull_holds_exactly_its_members)
{
	unsigned bits = 10;
	uint64_t set[SWIM_DSYNC_LEAVES_MAX / 64] = { 0 };
	char name[SWARM_NAME_LEN_MAX];
	struct swim_push_pull_header h;
	struct swim_str us;
	struct swim *fresh;
	struct swim_cfg sc;
	const char *err = NULL;
	uint8_t *msg = NULL;
	size_t len = 0;
	uint32_t want = 0;

	/* the leaves of members 5 and 77 */
	for (uint32_t i = 5; i <= 77; i += 72) {
		int nl = swarm_map_name(&sw->map, i, name, sizeof(name));
		uint32_t l = swim_dsync_leaf_of(name, (size_t)nl, bits);

		set[l / 64] |= (uint64_t)1 << (l % 64);
	}
	for (uint32_t i = 0; i < N; i++) {
		int nl = swarm_map_name(&sw->map, i, name, sizeof(name));
		uint32_t l = swim_dsync_leaf_of(name, (size_t)nl, bits);

		want += (set[l / 64] >> (l % 64)) & 1;
	}
	want += (set[swim_dsync_leaf_of("real-0", 6, bits) / 64] >>
		 (swim_dsync_leaf_of("real-0", 6, bits) % 64)) & 1;
	cr_assert_eq(swarm_pp_encode_leaves(sw, bits, set, &msg, &len), 0);
	cr_assert_gt(swim_wire_decode_push_pull(msg, len, &h, NULL, NULL,
						&us), 0);
	cr_assert_eq(h.nb_nodes, want);
	cr_assert_eq(h.user_state_len, 0);
	cr_assert_geq(want, 2);
	swim_cfg_default_local(&sc);
	strcpy(sc.name, "other");
	sc.addr.ip_len = 4;
	sc.addr.port = 1;
	fresh = swim_new(&sc, &err);
	cr_assert_not_null(fresh);
	cr_assert_gt(swim_push_pull_merge(fresh, 1, msg, len, &us), 0);
	cr_assert_eq(swim_member_count(fresh), 1 + want);
	cr_assert(swim_member_dsync_capable(fresh, "swarm-5", 7),
		  "the entries carry the capability");
	swim_delete(fresh);
	free(msg);
}

Test(swarm_delta, no_delta_sync_advertises_nothing)
{
	struct swim_str us;
	uint8_t *msg = NULL;
	size_t len = 0;

	swarm_delta_free(sw);
	cr_assert_eq(swarm_delta_root(sw, NULL), 0);
	cr_assert_eq(swarm_pp_encode(sw, false, 0, 0, true, &msg, &len), 0);
	cr_assert_gt(swim_push_pull_merge(core, 1, msg, len, &us), 0);
	cr_assert_not(swim_member_dsync_capable(core, "swarm-5", 7));
	free(msg);
}

/* A core that starts exchanges with a UDP HELLO (swim_dsync_udp.h). */
static struct swim *
udp_core(void)
{
	struct swim_cfg sc;
	const char *err = NULL;
	struct swim *c;

	swim_cfg_default_local(&sc);
	strcpy(sc.name, "real-0");
	sc.addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
				      .port = 7946 };
	sc.vsn_caps = SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP;
	c = swim_new(&sc, &err);
	cr_assert_not_null(c, "%s", err ? err : "");
	return c;
}

/* c's HELLO to swarm-5, answered by the swarm, back into c: the
 * push/pull (TCP exchange) c then asks for, if any. */
static bool
udp_round(struct swim *c, uint64_t now)
{
	struct swim_output o;
	bool pp = false;
	unsigned nb = 0;

	cr_assert_eq(swim_dsync_udp_hello(c, now, "swarm-5", 7), 0);
	sw->nb_tx = 0;
	while (swim_pop_output(c, &o)) {
		if (o.kind != SWIM_OUT_PACKET || o.len < 6 ||
		    o.data[5] != SWIM_DSYNC_UDP_HELLO)
			continue;
		cr_assert(swarm_delta_udp(sw, 0x7f000001u, 7946,
					  (uint32_t)o.to.ip[0] << 24 |
					  (uint32_t)o.to.ip[1] << 16 |
					  (uint32_t)o.to.ip[2] << 8 | o.to.ip[3],
					  o.data, o.len));
		nb++;
	}
	cr_assert_eq(nb, 1);
	cr_assert_eq(sw->nb_tx, 1, "one answer");
	cr_assert_eq(sw->tx[0].dst_ip, 0x7f000001u);
	cr_assert_eq(sw->tx[0].len, 5 + SWIM_DSYNC_UANSWER_LEN);
	swim_on_packet(c, now, &(struct swim_addr){ .ip_len = 4 },
		       sw->tx[0].buf, sw->tx[0].len, 0);
	sw->nb_tx = 0;
	while (swim_pop_output(c, &o))
		pp |= o.kind == SWIM_OUT_PUSH_PULL;
	return pp;
}

Test(swarm_delta, the_swarm_answers_the_udp_hello)
{
	struct swim *c = udp_core();
	struct swim_str us;
	struct swim_dsync_udp_stats st;
	struct swarm_member old;
	uint8_t *msg = NULL;
	size_t len = 0;

	sw->tx = calloc(SWARM_BURST, sizeof(*sw->tx));	/* no sockets */
	cr_assert_not_null(sw->tx);
	cr_assert_eq(swarm_pp_encode(sw, false, 0, 0, true, &msg, &len), 0);
	cr_assert_gt(swim_push_pull_merge(c, 1000000, msg, len, &us), 0);
	free(msg);
	cr_assert(swim_member_dsync_udp_capable(c, "swarm-5", 7));
	cr_assert_not(udp_round(c, 2000000), "equal tables: INSYNC");
	old = sw->m[7];
	cr_assert_eq(swarm_member_leave(&sw->m[7]), 0);
	swarm_delta_touch(sw, 7, &old);
	cr_assert(udp_round(c, 3000000), "DIFFER: the TCP exchange");
	swim_dsync_udp_get_stats(c, &st);
	cr_assert_eq(st.insync_in, 1);
	cr_assert_eq(st.differ_in, 1);
	swim_delete(c);
	free(sw->tx);
}
