/* SPDX-License-Identifier: MIT */
/*
 * EAL for the DPDK tests: this process only, never this machine's NIC
 * (--no-pci), no hugepages, no shared files, a --file-prefix of its own
 * (tag and pid), quiet. Skips the test when EAL cannot start here.
 * Criterion runs every Test in its own process, so each brings EAL up
 * once.
 */
#ifndef DPDK_EAL_TEST_H_INCLUDED
#define DPDK_EAL_TEST_H_INCLUDED

#include <criterion/criterion.h>

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

static inline void
dpdk_test_eal_up(const char *prog, const char *lcores, const char *tag)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s%d", tag, getpid());
	char *argv[] = {
		(char *)prog, (char *)lcores, "--no-pci", "--no-huge", "-m",
		"256", "--no-shconf", "--no-telemetry", prefix,
		"--log-level=lib.eal:error", NULL,
	};

	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		cr_skip_test("EAL cannot start here: %s",
			     rte_strerror(rte_errno));
}

#endif /* DPDK_EAL_TEST_H_INCLUDED */
