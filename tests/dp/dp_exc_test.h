/* SPDX-License-Identifier: MIT */
/*
 * The exception-interface tests' netns and rule checks (test_dp_exc,
 * test_dpdk_exc): each Test runs in its own forked process, which moves
 * to a network namespace of its own, so taps, addresses and rules never
 * reach the machine's. Header only, as dpdk_eal_test.h.
 */
#ifndef DP_EXC_TEST_H_INCLUDED
#define DP_EXC_TEST_H_INCLUDED

#include <criterion/criterion.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A private netns, or skip the test. */
static inline void
dp_exc_test_own_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0 ||
	    access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("needs root, unshare(CLONE_NEWNET), /dev/net/tun");
}

/* How many lines of `ip -4 rule show` contain s. */
static inline int
dp_exc_test_rules_with(const char *s)
{
	char line[256];
	int n = 0;
	FILE *p = popen("ip -4 rule show 2>/dev/null", "r");

	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p) != NULL)
		n += strstr(line, s) != NULL;
	pclose(p);
	return n;
}

#endif /* DP_EXC_TEST_H_INCLUDED */
