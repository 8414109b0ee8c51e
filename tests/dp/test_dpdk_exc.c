/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend's own exception interface, through dp_new("dpdk") with
 * EAL arguments (the daemon's way), on a net_null port, each Test in its
 * own process and in a network namespace of its own (unshare): the tap
 * gd0, its address and rules never reach the machine's namespace.
 * Skipped without root, netns, /dev/net/tun or a working EAL.
 */
#include <criterion/criterion.h>

#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dp.h"
#include "dp_exc.h"
#include "dp_exc_test.h"

#define IP_NODE 0xc6120001u	/* 198.18.0.1 */

TestSuite(dpdk_exc, .timeout = 30);

/* A private netns with lo up, or skip the test. */
static void
own_netns(void)
{
	dp_exc_test_own_netns();
	cr_assert_eq(system("ip link set lo up"), 0);
}

/* dp_new("dpdk") on 198.18.0.1:7946 with EAL from eal (plus quiet,
 * private settings); nb_lcores 0: one per worker, as the daemon asks. */
static struct dp *
dpdk_new(const char *eal, unsigned port, char *err, size_t errlen)
{
	struct dp_cfg cfg = { .nb_lcores = 0, .port_id = port };
	char args[512];

	cfg.bind.ip_len = 4;
	cfg.bind.ip[0] = 198;
	cfg.bind.ip[1] = 18;
	cfg.bind.ip[3] = 1;
	cfg.bind.port = 7946;
	snprintf(args, sizeof(args),
		 "--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error --log-level=pmd.net.tap:emerg %s",
		 eal);
	cfg.eal_args = args;
	return dp_new("dpdk", &cfg, err, errlen);
}

static void
skip_if_no_eal(const char *err)
{
	if (strstr(err, "rte_eal_init") != NULL)
		cr_skip_test("EAL cannot start here: %s", err);
}

Test(dpdk_exc, made_with_the_address_and_removed_on_delete)
{
	char err[512] = "";
	char on[IF_NAMESIZE] = "";
	struct dp *dp;

	own_netns();
	dp = dpdk_new("-l 0-1 --vdev=net_null0", 0, err, sizeof(err));
	skip_if_no_eal(err);
	cr_assert_not_null(dp, "%s", err);
	cr_assert(dp_exc_ip_is_local(IP_NODE, on, sizeof(on)));
	cr_assert_str_eq(on, "gd0");
	cr_assert_eq(dp_exc_test_rules_with("from 198.18.0.1 lookup"), 1);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 1);
	cr_assert_eq(dp_exc_test_rules_with("blackhole"), 0,
		     "net_null has no kernel iface");
	dp_delete(dp);
	cr_assert_eq(if_nametoindex("gd0"), 0, "gd0 removed");
	cr_assert_not(dp_exc_ip_is_local(IP_NODE, NULL, 0));
	cr_assert_eq(dp_exc_test_rules_with("198.18.0.1"), 0);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 0);
}

Test(dpdk_exc, none_made_when_the_address_is_local_already)
{
	char err[512] = "";
	struct dp *dp;

	own_netns();
	cr_assert_eq(system("ip addr add 198.18.0.1/32 dev lo"), 0);
	dp = dpdk_new("-l 0-1 --vdev=net_null0", 0, err, sizeof(err));
	skip_if_no_eal(err);
	cr_assert_not_null(dp, "%s", err);
	cr_assert_eq(if_nametoindex("gd0"), 0, "no tap made");
	cr_assert_eq(dp_exc_test_rules_with("198.18.0.1"), 0);
	dp_delete(dp);
}

Test(dpdk_exc, none_made_when_eal_brings_a_tap)
{
	char err[512] = "";
	struct dp *dp;

	own_netns();
	dp = dpdk_new("-l 0-1 --vdev=net_null0 --vdev=net_tap0,iface=mytap0",
		      0, err, sizeof(err));
	skip_if_no_eal(err);
	cr_assert_not_null(dp, "%s", err);
	cr_assert_neq(if_nametoindex("mytap0"), 0, "the operator's tap");
	cr_assert_eq(if_nametoindex("gd0"), 0, "no tap of ours");
	cr_assert_not(dp_exc_ip_is_local(IP_NODE, NULL, 0),
		      "the operator's tap is the operator's to configure");
	dp_delete(dp);
}

Test(dpdk_exc, two_workers_make_two_dataplane_lcores)
{
	char err[512] = "";
	struct dp *dp;
	struct dp_stats st;

	own_netns();
	dp = dpdk_new("--lcores 0@0,1@0,2@0 --vdev=net_null0", 0, err,
		      sizeof(err));
	skip_if_no_eal(err);
	cr_assert_not_null(dp, "%s", err);
	dp_get_stats(dp, &st);	/* sums both lcores without complaint */
	dp_delete(dp);
}

Test(dpdk_exc, no_worker_lcore_is_a_clear_error)
{
	char err[512] = "";
	struct dp *dp;

	own_netns();
	dp = dpdk_new("-l 0 --vdev=net_null0", 0, err, sizeof(err));
	skip_if_no_eal(err);
	cr_assert_null(dp);
	cr_assert_str_eq(err, "no dataplane lcore: EAL runs only the main lcore (control); give two or more, e.g. -l 0-1");
	cr_assert_eq(if_nametoindex("gd0"), 0);
}

Test(dpdk_exc, missing_port_lists_the_ports_and_makes_nothing)
{
	char err[512] = "";
	struct dp *dp;

	own_netns();
	dp = dpdk_new("-l 0-1 --vdev=net_null0 --vdev=net_null1", 5, err,
		      sizeof(err));
	skip_if_no_eal(err);
	cr_assert_null(dp);
	cr_assert_str_eq(err, "--port 5 does not exist: EAL has 2 ports: 0 net_null0 1 net_null1");
	cr_assert_eq(if_nametoindex("gd0"), 0);
	cr_assert_eq(dp_exc_test_rules_with("198.18.0.1"), 0);
}

Test(dpdk_exc, loopback_bind_is_refused_before_eal)
{
	struct dp_cfg cfg = { .nb_lcores = 0 };
	char err[512] = "";

	cfg.bind.ip_len = 4;
	cfg.bind.ip[0] = 127;
	cfg.bind.ip[3] = 1;
	cfg.bind.port = 7946;
	cfg.eal_args = "-l 0-1 --no-pci --no-huge --no-shconf --vdev=net_null0";
	cr_assert_null(dp_new("dpdk", &cfg, err, sizeof(err)));
	cr_assert_str_eq(err, "the DPDK dataplane cannot serve a loopback bind address (127.0.0.1): no peer on the port can reach it; bind an address of the port's network");
}

Test(dpdk_exc, without_cap_net_admin_fails_before_eal)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	char err[512] = "";
	struct dp *dp;

	own_netns();
	cr_assert_eq(syscall(SYS_capget, &hdr, d), 0);
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	cr_assert_eq(syscall(SYS_capset, &hdr, d), 0);
	dp = dpdk_new("-l 0-1 --vdev=net_null0", 0, err, sizeof(err));
	cr_assert_null(dp);
	cr_assert(strstr(err, "creating the exception interface gd0 needs CAP_NET_ADMIN: run gossipd as root") == err,
		  "%s", err);
}
