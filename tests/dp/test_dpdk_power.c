/* SPDX-License-Identifier: MIT */
/*
 * --dp-power on a real lcore (dp_dpdk_idle.h): EAL (--no-pci --no-huge,
 * own --file-prefix), a port made of two rte_rings, the backend's worker
 * lcore with power backoff or interrupt (net_ring has no Rx interrupts,
 * so interrupt backs off). An idle lcore parks (sleeps); a frame on the
 * wire still reaches control, and control's datagram still leaves, the
 * doorbell waking the lcore for it. Waits are bounded (5 s) and assert
 * that things happen, never how fast. Skips when EAL cannot start.
 */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_internal.h"
#include "dp_pkt.h"
#include "dpdk_eal_test.h"
#include "dpdk_port_fixture.h"

#define WAIT_MS 5000

static struct dpdk_port_fx fx;	/* the wire */
static struct dp *dp;

static void
rig_up(unsigned power, const char *tag)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 256,
			      .power = power };
	char err[256] = "";

	dpdk_test_eal_up("test_dpdk_power", "--lcores=0@0,1@0", tag);
	dpdk_port_fx_up(&fx, &cfg);
	dp = dp_new("dpdk", &cfg, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
}

static void
rig_down(void)
{
	dpdk_port_fx_down(&fx, dp);
}

/* Wait (bounded) until the lcore is asleep. */
static void
wait_parked(void)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;

	while (atomic_load(&dp->lcore[0].is_parked) == 0 &&
	       dp_test_now_ms() < end)
		usleep(1000);
	cr_assert_eq(atomic_load(&dp->lcore[0].is_parked), 1,
		     "an idle lcore sleeps");
}

/* The nack from the peer, on the port's rx side. */
static void
wire_send_nack(void)
{
	struct dp_udp4_hdrs h = { .src_ip = PEER_IP, .dst_ip = US_IP,
				  .src_port = PEER_PORT, .dst_port = US_PORT };
	uint8_t f[256];
	int n;

	memcpy(h.src_mac, peer_mac, 6);
	memcpy(h.dst_mac, fx.us.mac, 6);
	n = dp_pkt_build_udp4(f, sizeof(f), &h, nack, sizeof(nack));
	cr_assert(n > 0);
	dpdk_port_fx_put(&fx, f, (size_t)n, 0);	/* asserts the mbuf */
}

/* A UDP frame from us on the wire within WAIT_MS (GARPs skipped). */
static bool
wire_recv_udp(void)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;
	struct dp_pkt_self peer = { .ip = PEER_IP, .port = PEER_PORT };
	struct dp_pkt_view v;
	uint8_t f[2048];
	size_t len;

	memcpy(peer.mac, peer_mac, 6);
	while (dpdk_port_fx_take(&fx, f, sizeof(f), &len, end))
		if (dp_pkt_parse(f, len, &peer, &v) == DP_PKT_UDP_US)
			return true;
	return false;
}

/* Sleeping, then woken by a frame and by control's doorbell. */
static void
sleeps_and_wakes(void)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;
	struct dp_pkt got, out;

	wait_parked();
	wire_send_nack();	/* the lcore's nap ends: it reaches control */
	while (dp_recv(dp, &got, 1) == 0 && dp_test_now_ms() < end)
		usleep(200);
	cr_assert_eq(got.len, sizeof(nack));
	cr_assert_eq(got.addr.port, PEER_PORT);
	wait_parked();		/* and it goes back to sleep */
	memset(&out, 0, sizeof(out));
	out.addr = got.addr;	/* the peer's MAC is known now */
	out.len = sizeof(nack);
	memcpy(out.data, nack, sizeof(nack));
	cr_assert(dp_send(dp, &out));
	cr_assert(wire_recv_udp(), "control's datagram left");
	cr_assert_geq(dp->nb_kicks, 1, "the sleeping lcore was rung");
}

Test(dpdk_power, backoff_sleeps_and_wakes, .timeout = 60)
{
	rig_up(DP_POWER_BACKOFF, "gdpwb");
	sleeps_and_wakes();
	rig_down();
}

Test(dpdk_power, interrupt_without_rx_interrupts_backs_off,
     .timeout = 60)
{
	rig_up(DP_POWER_INTERRUPT, "gdpwi");
	sleeps_and_wakes();
	rig_down();
}

Test(dpdk_power, off_never_sleeps, .timeout = 60)
{
	rig_up(DP_POWER_OFF, "gdpwo");
	usleep(200000);
	cr_assert_eq(atomic_load(&dp->lcore[0].is_parked), 0);
	cr_assert_eq(dp->lcore[0].kick_fd, -1, "a poller needs no doorbell");
	rig_down();
}

Test(dpdk_power, names_parse)
{
	cr_assert_eq(dp_power_parse("off"), DP_POWER_OFF);
	cr_assert_eq(dp_power_parse("backoff"), DP_POWER_BACKOFF);
	cr_assert_eq(dp_power_parse("interrupt"), DP_POWER_INTERRUPT);
	cr_assert_eq(dp_power_parse("Interrupt"), -EINVAL);
	cr_assert_eq(dp_power_parse(""), -EINVAL);
	cr_assert_eq(dp_power_parse(NULL), -EINVAL);
}

Test(dpdk_power, unknown_mode_is_refused)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .power = 3 };
	char err[128] = "";

	cr_assert_null(dp_new("null", &cfg, err, sizeof(err)));
	cr_assert_str_eq(err, "power mode 3 unknown");
}
