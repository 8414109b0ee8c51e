/* SPDX-License-Identifier: MIT */
/*
 * The link guard (dataplane/dp_dpdk_link.h): on the EAL interrupt thread,
 * munmap waits until every online lcore reader has reported a quiescent
 * state, so that net_memif cannot unmap rings an lcore is reading.
 *
 * The interrupt thread is reached through an EAL alarm (its callbacks run
 * there). Ordering is asserted through flags, never through speed: "not
 * yet unmapped" is checked while the reader is known not to have
 * reported, and the waits for completion are bounded deadlines.
 * Criterion runs each Test in its own process, so each brings EAL up.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_alarm.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "dp.h"
#include "dp_dpdk_link.h"
#include "dpdk_eal_test.h"
#include "dp_test_util.h"

static void
eal_up(void)
{
	dpdk_test_eal_up("test_dpdk_link", "--lcores=0@0,1@0", "gdlink");
}

static void
eal_down(void)
{
	char dir[PATH_MAX];

	/* --no-shconf still leaves an empty runtime directory behind */
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	dp_dpdk_link_guard_disarm();
	rte_eal_cleanup();
	if (strstr(dir, "gdlink") != NULL)
		rmdir(dir);
}

/* What the alarm callback did, on the interrupt thread. */
static struct {
	void *page;
	_Atomic int entered;	/* 1: about to unmap / sync */
	_Atomic int done;	/* 1: munmap / sync returned */
	_Atomic int rc;		/* munmap's return, or sync's (1/0) */
} intr;

static void
unmap_on_intr(void *arg)
{
	(void)arg;
	atomic_store(&intr.entered, 1);
	atomic_store(&intr.rc, munmap(intr.page, 4096));
	atomic_store(&intr.done, 1);
}

static void
sync_on_intr(void *arg)
{
	(void)arg;
	atomic_store(&intr.entered, 1);
	atomic_store(&intr.rc, dp_dpdk_link_sync() ? 1 : 0);
	atomic_store(&intr.done, 1);
}

static void
intr_run(rte_eal_alarm_callback cb)
{
	intr.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(intr.page, MAP_FAILED);
	cr_assert_eq(rte_eal_alarm_set(1, cb, NULL), 0);
}

/* Wait (bounded) until flag is set. */
static bool
wait_flag(_Atomic int *flag, unsigned ms)
{
	uint64_t deadline = dp_test_now_ms() + ms;

	while (!atomic_load(flag)) {
		if (dp_test_now_ms() > deadline)
			return false;
		usleep(100);
	}
	return true;
}

Test(dpdk_link, arm_errors, .init = eal_up, .fini = eal_down)
{
	cr_assert_not(dp_dpdk_link_guard_armed());
	cr_assert_eq(dp_dpdk_link_guard_arm(0), -EINVAL);
	cr_assert_eq(dp_dpdk_link_guard_arm(DP_MAX_LCORES + 1), -EINVAL);
	cr_assert_not(dp_dpdk_link_guard_armed());
	cr_assert_eq(dp_dpdk_link_guard_arm(2), 0);
	cr_assert(dp_dpdk_link_guard_armed());
	cr_assert_eq(dp_dpdk_link_guard_arm(1), -EBUSY);
	dp_dpdk_link_online(2);		/* out of range: ignored */
	dp_dpdk_link_offline(2);
	dp_dpdk_link_guard_disarm();
	cr_assert_not(dp_dpdk_link_guard_armed());
	dp_dpdk_link_guard_disarm();	/* twice: no-op */
	dp_dpdk_link_online(0);		/* disarmed: no-ops */
	dp_dpdk_link_quiescent(0);
	dp_dpdk_link_offline(0);
	cr_assert_eq(dp_dpdk_link_guard_arm(DP_MAX_LCORES), 0);
}

/* Only the interrupt thread waits: control's own unmaps never do. */
Test(dpdk_link, sync_elsewhere_does_not_wait, .init = eal_up,
     .fini = eal_down)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	cr_assert_eq(dp_dpdk_link_guard_arm(1), 0);
	dp_dpdk_link_online(0);		/* and never reports */
	cr_assert(dp_dpdk_link_sync());
	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(munmap(p, 4096), 0);
}

Test(dpdk_link, intr_munmap_waits_for_online_reader, .init = eal_up,
     .fini = eal_down)
{
	unsigned char vec;

	cr_assert_eq(dp_dpdk_link_guard_arm(1), 0);
	dp_dpdk_link_online(0);
	dp_dpdk_link_quiescent(0);	/* a turn before the unmap: not enough */
	intr_run(unmap_on_intr);
	cr_assert(wait_flag(&intr.entered, 5000), "alarm never ran");
	/* the reader has not reported since: munmap must still wait */
	usleep(50000);
	cr_assert_eq(atomic_load(&intr.done), 0,
		     "munmap went ahead while the reader was inside a turn");
	cr_assert_eq(mincore(intr.page, 4096, &vec), 0, "already unmapped");
	dp_dpdk_link_quiescent(0);	/* the turn ends */
	cr_assert(wait_flag(&intr.done, 5000), "munmap never returned");
	cr_assert_eq(atomic_load(&intr.rc), 0);
	cr_assert_eq(mincore(intr.page, 4096, &vec), -1);
	cr_assert_eq(errno, ENOMEM, "the page is still mapped");
}

Test(dpdk_link, intr_munmap_skips_offline_reader, .init = eal_up,
     .fini = eal_down)
{
	cr_assert_eq(dp_dpdk_link_guard_arm(2), 0);
	dp_dpdk_link_online(0);
	dp_dpdk_link_online(1);
	dp_dpdk_link_offline(1);	/* its lcore returned */
	intr_run(unmap_on_intr);
	cr_assert(wait_flag(&intr.entered, 5000), "alarm never ran");
	usleep(20000);
	cr_assert_eq(atomic_load(&intr.done), 0);
	dp_dpdk_link_quiescent(0);	/* only reader 0 is waited for */
	cr_assert(wait_flag(&intr.done, 5000), "munmap never returned");
	cr_assert_eq(atomic_load(&intr.rc), 0);
}

Test(dpdk_link, intr_munmap_disarmed_does_not_wait, .init = eal_up,
     .fini = eal_down)
{
	cr_assert_eq(dp_dpdk_link_guard_arm(1), 0);
	dp_dpdk_link_online(0);		/* never reports ... */
	dp_dpdk_link_guard_disarm();	/* ... but the guard is off */
	intr_run(unmap_on_intr);
	cr_assert(wait_flag(&intr.done, 5000), "munmap waited");
	cr_assert_eq(atomic_load(&intr.rc), 0);
}

/* A reader that never reports: the wait is bounded and says so. */
Test(dpdk_link, intr_sync_gives_up, .init = eal_up, .fini = eal_down)
{
	cr_assert_eq(dp_dpdk_link_guard_arm(1), 0);
	dp_dpdk_link_online(0);
	intr_run(sync_on_intr);
	cr_assert(wait_flag(&intr.done, DP_DPDK_LINK_WAIT_MS + 5000),
		  "sync never gave up");
	cr_assert_eq(atomic_load(&intr.rc), 0, "sync claimed a grace period");
	munmap(intr.page, 4096);
}

static struct dp *
dp_on_port(uint16_t port, char *err, size_t errlen)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 256 };

	cfg.bind.ip_len = 4;
	cfg.bind.ip[0] = 198;
	cfg.bind.ip[1] = 18;
	cfg.bind.ip[3] = 1;
	cfg.bind.port = 7946;
	cfg.port_id = port;
	cfg.eal_args = NULL;	/* we own EAL */
	return dp_new("dpdk", &cfg, err, errlen);
}

/* The backend arms the guard for a net_memif port, and disarms it. */
Test(dpdk_link, armed_for_memif_port, .init = eal_up, .fini = eal_down)
{
	char args[128];
	char err[256] = "";
	uint16_t port;
	struct dp *dp;

	snprintf(args, sizeof(args),
		 "role=server,socket=/tmp/gdlink%d.sock,socket-abstract=no",
		 getpid());
	if (rte_eal_hotplug_add("vdev", "net_memif_gdlink", args) != 0)
		cr_skip_test("no net_memif PMD here");
	cr_assert_eq(rte_eth_dev_get_port_by_name("net_memif_gdlink", &port),
		     0);
	dp = dp_on_port(port, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	cr_assert(dp_dpdk_link_guard_armed());
	dp_delete(dp);
	cr_assert_not(dp_dpdk_link_guard_armed());
	snprintf(args, sizeof(args), "/tmp/gdlink%d.sock", getpid());
	unlink(args);
}

Test(dpdk_link, not_armed_for_other_ports, .init = eal_up, .fini = eal_down)
{
	char err[256] = "";
	uint16_t port;
	struct dp *dp;

	cr_assert_eq(rte_eal_hotplug_add("vdev", "net_null_gdlink", ""), 0);
	cr_assert_eq(rte_eth_dev_get_port_by_name("net_null_gdlink", &port),
		     0);
	dp = dp_on_port(port, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	cr_assert_not(dp_dpdk_link_guard_armed());
	dp_delete(dp);
}
