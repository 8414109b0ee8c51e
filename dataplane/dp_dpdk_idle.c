/* SPDX-License-Identifier: MIT */
/*
 * --dp-power on a DPDK lcore (dp_dpdk_idle.h): pause, then sleep when
 * there is nothing to do. The doorbell protocol is the socket backend's
 * (struct dp_lcore): set is_parked, recheck the tx ring, sleep on kick_fd
 * too; dp_lcore_kick writes it only while we are parked.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_pause.h>

#include "dp_dpdk_idle.h"
#include "dp_dpdk_int.h"
#include "dp_dpdk_link.h"

/* Rx interrupts of the lcore's queue on port into this thread's epoll. */
static int
idle_intr_ctl(uint16_t port, uint16_t queue, int op)
{
	if (port == DP_DPDK_NO_PORT)
		return 0;
	return rte_eth_dev_rx_intr_ctl_q(port, queue, RTE_EPOLL_PER_THREAD,
					 op, NULL);
}

/* interrupt mode: the main port (and the tap) wake us, and the doorbell.
 * @retval false when a port cannot (then nothing stays registered). */
static bool
idle_intr_setup(struct dp_dpdk_idle *id)
{
	struct dp_dpdk_lcore *dl = id->dl;
	struct dp_dpdk *dd = dl->owner;
	int fd = dl->lc->kick_fd;

	if (idle_intr_ctl(dd->port, dl->queue, RTE_INTR_EVENT_ADD) != 0)
		return false;
	if (idle_intr_ctl(dd->exc_port, dl->queue, RTE_INTR_EVENT_ADD) != 0) {
		idle_intr_ctl(dd->port, dl->queue, RTE_INTR_EVENT_DEL);
		return false;
	}
	memset(&id->kick_ev, 0, sizeof(id->kick_ev));
	id->kick_ev.epdata.event = EPOLLIN;
	if (fd >= 0 && rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, fd,
				     &id->kick_ev) == 0)
		id->has_kick_ev = true;
	return true;
}

void
dp_dpdk_idle_init(struct dp_dpdk_idle *id, struct dp_dpdk_lcore *dl)
{
	memset(id, 0, sizeof(*id));
	id->dl = dl;
	id->mode = dl->owner->base.cfg.power;
	id->nap_us = DP_IDLE_NAP_MIN_US;
	if (id->mode == DP_POWER_INTERRUPT && !idle_intr_setup(id)) {
		DP_LOG(INFO, "lcore %u: no Rx interrupts on port %u queue %u: "
		       "backing off instead", dl->lcore_id, dl->owner->port,
		       dl->queue);
		id->mode = DP_POWER_BACKOFF;
	}
}

void
dp_dpdk_idle_fini(struct dp_dpdk_idle *id)
{
	struct dp_dpdk_lcore *dl = id->dl;

	if (id->mode == DP_POWER_INTERRUPT) {
		idle_intr_ctl(dl->owner->port, dl->queue, RTE_INTR_EVENT_DEL);
		idle_intr_ctl(dl->owner->exc_port, dl->queue,
			      RTE_INTR_EVENT_DEL);
	}
	if (id->has_kick_ev)
		rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL,
			      dl->lc->kick_fd, &id->kick_ev);
	id->has_kick_ev = false;
	if (id->mode != DP_POWER_OFF)
		DP_LOG(INFO, "lcore %u slept %llu times", dl->lcore_id,
		       (unsigned long long)id->nb_naps);
}

/* Rx interrupts on (before the last turn) or off (after a sleep). */
static void
idle_arm(struct dp_dpdk_idle *id, bool on)
{
	struct dp_dpdk *dd = id->dl->owner;
	uint16_t q = id->dl->queue;

	if (on) {
		rte_eth_dev_rx_intr_enable(dd->port, q);
		if (dd->exc_port != DP_DPDK_NO_PORT)
			rte_eth_dev_rx_intr_enable(dd->exc_port, q);
	} else {
		rte_eth_dev_rx_intr_disable(dd->port, q);
		if (dd->exc_port != DP_DPDK_NO_PORT)
			rte_eth_dev_rx_intr_disable(dd->exc_port, q);
	}
	id->is_armed = on;
}

/* Sleep: until an interrupt or the doorbell, or for nap_us. */
static void
idle_sleep(struct dp_dpdk_idle *id)
{
	struct dp_lcore *lc = id->dl->lc;
	struct rte_epoll_event evs[4];
	struct pollfd pfd = { .fd = lc->kick_fd, .events = POLLIN };
	struct timespec ts = { .tv_nsec = (long)id->nap_us * 1000 };

	if (id->mode == DP_POWER_INTERRUPT) {
		rte_epoll_wait(RTE_EPOLL_PER_THREAD, evs, 4,
			       DP_IDLE_INTR_MAX_MS);
		return;
	}
	(void)ppoll(&pfd, lc->kick_fd >= 0 ? 1 : 0, &ts, NULL);
	id->nap_us = id->nap_us * 2 > DP_IDLE_NAP_MAX_US ?
		     DP_IDLE_NAP_MAX_US : id->nap_us * 2;
}

/* Park, recheck what control queued, sleep offline for the link guard. */
static void
idle_park(struct dp_dpdk_idle *id)
{
	struct dp_dpdk_lcore *dl = id->dl;
	struct dp_lcore *lc = dl->lc;
	uint64_t v;

	/* seq_cst store; pairs with the fence + exchange in dp_lcore_kick */
	atomic_store(&lc->is_parked, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (dp_lcore_tx_empty(lc) &&
	    !atomic_load_explicit(&dl->owner->quit, memory_order_acquire)) {
		dp_dpdk_link_offline(dl->queue);
		idle_sleep(id);
		dp_dpdk_link_online(dl->queue);
		id->nb_naps++;
	}
	atomic_store(&lc->is_parked, 0);
	if (lc->kick_fd >= 0)
		(void)!read(lc->kick_fd, &v, sizeof(v));	/* reset it */
}

void
dp_dpdk_idle_turn(struct dp_dpdk_idle *id, bool busy)
{
	if (id->mode == DP_POWER_OFF)
		return;
	if (busy) {
		id->nb_empty = 0;
		id->nap_us = DP_IDLE_NAP_MIN_US;
		if (id->is_armed)
			idle_arm(id, false);
		return;
	}
	if (++id->nb_empty < DP_IDLE_SPINS) {
		rte_pause();
		return;
	}
	/* interrupt: arm, then one more turn takes what came before */
	if (id->mode == DP_POWER_INTERRUPT && !id->is_armed) {
		idle_arm(id, true);
		return;
	}
	idle_park(id);
	if (id->is_armed)
		idle_arm(id, false);
}
