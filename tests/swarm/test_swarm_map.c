/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's address and name arithmetic (O(1) both ways, exact at
 * the edges) and the per-member state machine: join, fail, recover,
 * leave, and what an accusation or a foreign alive makes a member do.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "swarm.h"

#define NET_127_64 0x7f400000u

static struct swarm_map
map_of(uint32_t n)
{
	struct swarm_map m;

	cr_assert_eq(swarm_map_init(&m, "swarm-", NET_127_64, 10, n), 0);
	return m;
}

Test(swarm_map, addr_roundtrip_edges)
{
	struct swarm_map m = map_of(1000000);

	cr_assert_eq(swarm_map_addr(&m, 0), 0x7f400001u);
	cr_assert_eq(swarm_map_addr(&m, 999999), 0x7f400001u + 999999);
	for (uint32_t i = 0; i < 1000000; i += 997)
		cr_assert_eq(swarm_map_addr_index(&m, swarm_map_addr(&m, i)),
			     (int64_t)i);
	cr_assert_eq(swarm_map_addr_index(&m, NET_127_64), -1);
	cr_assert_eq(swarm_map_addr_index(&m, 0x7f400001u + 1000000), -1);
	cr_assert_eq(swarm_map_addr_index(&m, 0x7f000001u), -1);
	cr_assert_eq(swarm_map_addr_index(&m, 0), -1);
	cr_assert_eq(swarm_map_addr_index(&m, 0xffffffffu), -1);
}

Test(swarm_map, name_roundtrip)
{
	struct swarm_map m = map_of(1000000);
	char name[SWARM_NAME_LEN_MAX];

	for (uint32_t i = 0; i < 1000000; i += 7919) {
		int n = swarm_map_name(&m, i, name, sizeof(name));

		cr_assert_gt(n, 6);
		cr_assert_eq(swarm_map_name_index(&m, (uint8_t *)name,
						  (size_t)n), (int64_t)i);
	}
	cr_assert_eq(swarm_map_name(&m, 999999, name, sizeof(name)), 12);
	cr_assert_eq(memcmp(name, "swarm-999999", 12), 0);
	cr_assert_eq(swarm_map_name(&m, 5, name, 6), SWARM_E_NOSPACE);
}

Test(swarm_map, foreign_names)
{
	struct swarm_map m = map_of(1000);
	static const char *bad[] = {
		"swarm-", "swarm-1000", "swarm-01", "swarm-1a", "swarm--1",
		"swarm-99999999999", "real-a", "Swarm-1", "swarm1", "",
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		cr_assert_eq(swarm_map_name_index(&m, (const uint8_t *)bad[k],
						  strlen(bad[k])), -1,
			     "%s", bad[k]);
	cr_assert_eq(swarm_map_name_index(&m, (const uint8_t *)"swarm-0", 7),
		     0);
	cr_assert_eq(swarm_map_name_index(&m, (const uint8_t *)"swarm-999",
					  9), 999);
}

Test(swarm_map, init_errors)
{
	struct swarm_map m;

	/* A /24 holds 254 members: network and broadcast are not ones. */
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400000u, 24, 254), 0);
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400000u, 24, 255),
		     SWARM_E_SPACE);
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400000u, 31, 1),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400000u, 0, 1),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400000u, 10, 0),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_map_init(&m, "s", 0x7f400001u, 10, 1),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_map_init(&m, "a-name-prefix-too-long-x", 0x7f400000u,
				    10, 1), SWARM_E_RANGE);
}

Test(swarm_map, parse_cidr_ipport)
{
	uint32_t net, ip;
	unsigned plen;
	uint16_t port;

	cr_assert_eq(swarm_parse_cidr("127.64.0.0/10", &net, &plen), 0);
	cr_assert_eq(net, NET_127_64);
	cr_assert_eq(plen, 10);
	cr_assert_eq(swarm_parse_cidr("127.64.0.1/10", &net, &plen),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_cidr("127.64.0.0/31", &net, &plen),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_cidr("127.64.0.0", &net, &plen),
		     SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_cidr("127.64.0/10", &net, &plen),
		     SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_cidr("127.64.0.0/x", &net, &plen),
		     SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_ipport("127.0.0.1:7946", &ip, &port), 0);
	cr_assert_eq(ip, 0x7f000001u);
	cr_assert_eq(port, 7946);
	cr_assert_eq(swarm_parse_ipport("127.0.0.1:0", &ip, &port),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_ipport("127.0.0.1:65536", &ip, &port),
		     SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_ipport("127.0.0.1", &ip, &port),
		     SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_ipport("localhost:7946", &ip, &port),
		     SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_ipport("127.0.0.1:79x", &ip, &port),
		     SWARM_E_SYNTAX);
}

Test(swarm_member, size_is_small)
{
	cr_assert_leq(sizeof(struct swarm_member), 8);
}

Test(swarm_member, lifecycle)
{
	struct swarm_member m = { 0 };

	cr_assert_not(swarm_member_answers(&m));
	cr_assert_eq(swarm_member_fail(&m), -1);
	cr_assert_eq(swarm_member_leave(&m), -1);
	cr_assert_eq(swarm_member_join(&m), 0);
	cr_assert_eq(m.incarnation, 1);
	cr_assert(swarm_member_answers(&m));
	cr_assert_eq(swarm_member_join(&m), -1);
	cr_assert_eq(swarm_member_fail(&m), 0);
	cr_assert_not(swarm_member_answers(&m));
	cr_assert(m.flags & SWARM_MF_INJECTED);
	cr_assert_eq(swarm_member_fail(&m), -1);
	cr_assert_eq(swarm_member_leave(&m), -1);
	cr_assert_eq(swarm_member_recover(&m), 0);
	cr_assert_eq(m.incarnation, 2);
	cr_assert_eq(swarm_member_recover(&m), -1);
	cr_assert_eq(swarm_member_leave(&m), 0);
	cr_assert_not(swarm_member_answers(&m));
	cr_assert_eq(swarm_member_join(&m), 0);
	cr_assert_eq(m.incarnation, 3, "a rejoin needs a higher incarnation");
}

Test(swarm_member, accusations)
{
	struct swarm_member m = { 0 };

	cr_assert_eq(swarm_member_accused(&m, false, 1), SWARM_V_IGNORE);
	swarm_member_join(&m);
	/* Stale claim: memberlist would ignore it too. */
	m.incarnation = 5;
	cr_assert_eq(swarm_member_accused(&m, false, 4), SWARM_V_IGNORE);
	cr_assert_eq(m.fp, 0);
	cr_assert_eq(swarm_member_accused(&m, false, 5), SWARM_V_REFUTE);
	cr_assert_eq(m.incarnation, 6);
	cr_assert_eq(swarm_member_accused(&m, true, 9), SWARM_V_REFUTE);
	cr_assert_eq(m.incarnation, 10);
	cr_assert_eq(m.fp, 2);
	swarm_member_fail(&m);
	cr_assert_eq(swarm_member_accused(&m, false, 10), SWARM_V_DETECTED);
	cr_assert(m.flags & SWARM_MF_SUSPECTED);
	cr_assert_eq(swarm_member_accused(&m, true, 10), SWARM_V_DETECTED);
	cr_assert(m.flags & SWARM_MF_DEAD);
	cr_assert_eq(m.incarnation, 10, "a failed member never refutes");
	swarm_member_recover(&m);
	swarm_member_leave(&m);
	cr_assert_eq(swarm_member_accused(&m, true, 99), SWARM_V_IGNORE);
}

Test(swarm_member, fp_saturates)
{
	struct swarm_member m = { .incarnation = 1, .state = SWARM_M_ALIVE,
				  .fp = UINT16_MAX };

	cr_assert_eq(swarm_member_accused(&m, false, 1), SWARM_V_REFUTE);
	cr_assert_eq(m.fp, UINT16_MAX);
}

Test(swarm_member, seen_alive)
{
	struct swarm_member m = { 0 };

	cr_assert_eq(swarm_member_seen_alive(&m, 7), SWARM_V_IGNORE);
	swarm_member_join(&m);
	cr_assert_eq(swarm_member_seen_alive(&m, 1), SWARM_V_IGNORE);
	cr_assert_eq(swarm_member_seen_alive(&m, 7), SWARM_V_REFUTE);
	cr_assert_eq(m.incarnation, 8);
}
