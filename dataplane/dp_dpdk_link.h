/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The link guard: keeps the EAL interrupt thread from unmapping a port's
 * queue memory while a worker lcore is inside rx_burst/tx_burst on it.
 *
 * Why: net_memif (DPDK 22.11) handles a peer's disconnect on the EAL
 * interrupt thread (memif_disconnect -> memif_free_regions -> munmap)
 * with no synchronisation against its own rx/tx burst functions, which
 * only test a plain "connected" flag on entry. An lcore that passed that
 * test and is still reading the rings when munmap runs gets SIGSEGV. A
 * link check of ours per loop turn cannot close that window: it is the
 * same test the PMD already makes, and the window lies inside the call.
 *
 * How: the lcores are readers of an rte_rcu_qsbr variable and report a
 * quiescent state once per loop turn, outside every burst call. The
 * process's munmap (defined in dp_dpdk_port.c, so it takes the PMD's
 * calls) waits, when called on the EAL interrupt thread while the guard
 * is armed, until every online lcore has reported after the call began.
 * The PMD clears its flag before unmapping, so after the grace period no
 * lcore still holds the old rings, and every later burst returns 0.
 * Armed only for net_memif ports; the per-turn cost is a load, a compare
 * and (after a disconnect) one store: no lock, no syscall.
 */
#ifndef DP_DPDK_LINK_H_INCLUDED
#define DP_DPDK_LINK_H_INCLUDED

#include <stdbool.h>

/**
 * Arm the guard for nb_readers lcores (reader ids 0..nb_readers-1, the
 * lcores' queue numbers), all offline. Control thread, before launch.
 * @retval 0, -EINVAL (0 or more than DP_MAX_LCORES readers), -EBUSY
 * (already armed).
 */
int dp_dpdk_link_guard_arm(unsigned nb_readers);
/** Disarm (no-op when not armed). Control thread, after every lcore
 * returned. */
void dp_dpdk_link_guard_disarm(void);
/** true while armed. */
bool dp_dpdk_link_guard_armed(void);

/** Reader id becomes online: call before launching its lcore. No-op when
 * the guard is not armed or id is out of range. */
void dp_dpdk_link_online(unsigned id);
/** Reader id goes offline: call after its lcore returned. */
void dp_dpdk_link_offline(unsigned id);
/**
 * The lcore reader id holds no port memory: call once per loop turn,
 * outside every rx/tx burst. Lock-free, syscall-free.
 */
void dp_dpdk_link_quiescent(unsigned id);

/**
 * What the munmap hook does before unmapping: on the EAL interrupt thread
 * with the guard armed, wait (at most DP_DPDK_LINK_WAIT_MS, then log and
 * go on) until every online reader has reported a quiescent state.
 * @retval true the grace period completed (or nothing to wait for),
 * false on timeout.
 */
bool dp_dpdk_link_sync(void);

/** Bound on one grace period: a turn takes microseconds. */
#define DP_DPDK_LINK_WAIT_MS 1000

#endif /* DP_DPDK_LINK_H_INCLUDED */
