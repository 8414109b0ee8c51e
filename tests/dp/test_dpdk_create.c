/* SPDX-License-Identifier: MIT */
/*
 * The DPDK backend's create errors, each a clear message: no ports, too
 * few lcores, a missing port, too few queues, a mempool that does not
 * fit, bad EAL arguments, a bind address it cannot serve. Criterion runs
 * every Test in its own process, so each brings EAL up (or fails to) once.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "dp.h"
#include "dpdk_eal_test.h"

#define US_PORT 7946

/* Bind to 198.18.0.1:US_PORT, an address the backend can serve. */
static void
bind_us(struct dp_cfg *cfg)
{
	cfg->bind.ip_len = 4;
	cfg->bind.ip[0] = 198;
	cfg->bind.ip[1] = 18;
	cfg->bind.ip[3] = 1;
	cfg->bind.port = US_PORT;
}

/*
 * Error paths of create, each in its own process: the backend brings EAL
 * up itself from the --eal string here (cfg.eal_args), so these also
 * cover the string splitting and rte_eal_cleanup after a failure.
 */
static struct dp *
dpdk_new(const char *eal, unsigned nb_lcores, unsigned port, char *err,
	 size_t errlen)
{
	struct dp_cfg cfg = { .nb_lcores = nb_lcores, .port_id = port };
	char args[512];

	bind_us(&cfg);
	snprintf(args, sizeof(args),
		 "--no-pci --no-huge --no-shconf --no-telemetry --file-prefix=gderr%d --log-level=lib.eal:error %s",
		 getpid(), eal);
	cfg.eal_args = args;
	return dp_new("dpdk", &cfg, err, errlen);
}

/* Expect create to fail with msg in the error; skip if EAL can't start. */
static void
expect_fail(const char *eal, unsigned nb_lcores, unsigned port,
	    const char *msg)
{
	char err[256] = "";
	struct dp *dp = dpdk_new(eal, nb_lcores, port, err, sizeof(err));

	if (dp != NULL)
		dp_delete(dp);
	cr_assert_null(dp, "create should fail with '%s'", msg);
	if (strstr(msg, "rte_eal_init") == NULL &&
	    strstr(err, "rte_eal_init") != NULL)
		cr_skip_test("EAL cannot start here: %s", err);
	cr_assert(strstr(err, msg) != NULL, "got '%s', expected '%s'", err,
		  msg);
}

TestSuite(dpdk_create, .timeout = 30);

Test(dpdk_create, no_ports_is_a_clear_error)
{
	expect_fail("-l 0-1 -m 64", 1, 0, "no DPDK ports");
}

Test(dpdk_create, too_few_lcores_is_a_clear_error)
{
	expect_fail("-l 0 -m 256 --vdev=net_ring0", 1, 0, "too few lcores");
}

Test(dpdk_create, missing_port_is_a_clear_error)
{
	expect_fail("-l 0-1 -m 256 --vdev=net_ring0", 1, 3,
		    "port 3 does not exist");
	/* (a later test covers ids beyond RTE_MAX_ETHPORTS) */
}

Test(dpdk_create, port_id_beyond_the_ethdev_table_is_refused)
{
	expect_fail("-l 0-1 -m 256 --vdev=net_ring0", 1, 100000,
		    "port 100000 does not exist");
}

Test(dpdk_create, port_with_too_few_queues_fails_configuration)
{
	/* A one-queue ring port; two lcores need two queue pairs. */
	struct rte_ring *r;
	struct dp_cfg cfg = { .nb_lcores = 2, .eal_args = NULL };
	char err[256] = "";
	int p;

	dpdk_test_eal_up("test_dpdk_create", "--lcores=0@0,1@0,2@0",
			 "gdcreate");
	r = rte_ring_create("one", 64, SOCKET_ID_ANY, 0);
	cr_assert_not_null(r);
	p = rte_eth_from_rings("oneq", &r, 1, &r, 1, SOCKET_ID_ANY);
	cr_assert_geq(p, 0);
	cfg.port_id = (unsigned)p;
	bind_us(&cfg);
	cr_assert_null(dp_new("dpdk", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "has 1 rx / 1 tx queues") != NULL, "got '%s'",
		  err);
	rte_eal_cleanup();
}

Test(dpdk_create, mempool_failure_is_a_clear_error)
{
	/* 16 MB of 4 KB pages cannot hold 8191 mbufs. */
	expect_fail("-l 0-1 -m 16 --vdev=net_ring0", 1, 0,
		    "rte_pktmbuf_pool_create");
}

Test(dpdk_create, bad_eal_option_fails_eal_init)
{
	expect_fail("-l 0-1 --no-such-eal-option", 1, 0, "rte_eal_init");
}

Test(dpdk_create, unterminated_quote_is_refused_before_eal)
{
	expect_fail("-l 0-1 '--vdev=net_ring0", 1, 0, "EAL arguments");
}

Test(dpdk_create, ipv6_bind_is_refused)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .eal_args = "-l 0-1" };
	char err[256] = "";

	cfg.bind.ip_len = 16;
	cfg.bind.port = US_PORT;
	cr_assert_null(dp_new("dpdk", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "IPv4 only") != NULL, "got '%s'", err);
	cfg.bind.ip_len = 4;	/* 0.0.0.0 */
	cr_assert_null(dp_new("dpdk", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "unicast bind address") != NULL, "got '%s'",
		  err);
}

Test(dpdk_create, no_eal_args_without_eal_is_refused)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .eal_args = NULL };
	char err[256] = "";

	bind_us(&cfg);
	cr_assert_null(dp_new("dpdk", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "EAL is not initialised") != NULL, "got '%s'",
		  err);
}

