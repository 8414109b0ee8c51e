/* SPDX-License-Identifier: MIT */
/*
 * The DPDK poll-mode backend's lifecycle (gossipd --dataplane dpdk):
 * split the --eal string and run rte_eal_init, check the worker lcores,
 * set up ports and per-lcore state, launch one loop per worker
 * (dp_dpdk_lcore.c), and on the way out stop the loops, close the ports,
 * free the mempool and run rte_eal_cleanup.
 *
 * Runs on the control thread only (dp_ops). Errors are returned with a
 * message in the caller's buffer; nothing here exits. EAL can be brought
 * up once per process: with cfg->eal_args NULL the caller has already
 * run rte_eal_init (tests, embedding) and keeps ownership of it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_dpdk_int.h"
#include "dp_dpdk_link.h"

RTE_LOG_REGISTER(dp_dpdk_logtype, user.gossipd.dp.dpdk, INFO);

static const char *const dp_dpdk_ctr_str[DP_DPDK_CTR_COUNT] = {
	[DP_DPDK_ARP_ANSWERED] = "arp_answered",
	[DP_DPDK_ARP_REQUESTS] = "arp_requests",
	[DP_DPDK_ARP_HELD_DROP] = "arp_held_drop",
	[DP_DPDK_ARP_FULL] = "arp_full",
	[DP_DPDK_EXC_TO_KERNEL] = "exc_to_kernel",
	[DP_DPDK_EXC_FROM_KERNEL] = "exc_from_kernel",
	[DP_DPDK_EXC_NO_PATH] = "exc_no_path",
	[DP_DPDK_EXC_TX_FULL] = "exc_tx_full",
	[DP_DPDK_MBUF_FAIL] = "mbuf_fail",
	[DP_DPDK_SEGMENTED] = "segmented",
	[DP_DPDK_NOT_IPV4] = "not_ipv4",
	[DP_DPDK_ARP_SHARED] = "arp_shared",
	[DP_DPDK_ARP_MBOX_FULL] = "arp_mbox_full",
	[DP_DPDK_BUSY_TSC] = "busy_tsc",
};

static void dp_dpdk_destroy(struct dp *dp);

/* Our IPv4 address and port from cfg->bind: a real unicast address. */
static int
dp_dpdk_self_init(struct dp_dpdk *dd, const struct dp_cfg *cfg, char *err,
		  size_t errlen)
{
	const struct swim_addr *b = &cfg->bind;

	if (b->ip_len != 4) {
		snprintf(err, errlen, "the DPDK dataplane speaks IPv4 only");
		return -EAFNOSUPPORT;
	}
	dd->self.ip = (uint32_t)b->ip[0] << 24 | (uint32_t)b->ip[1] << 16 |
		      (uint32_t)b->ip[2] << 8 | b->ip[3];
	dd->self.port = b->port;
	if (dp_pkt_ip_is_special(dd->self.ip) || dd->self.port == 0) {
		snprintf(err, errlen,
			 "the DPDK dataplane needs a unicast bind address and a port (it answers ARP for it)");
		return -EINVAL;
	}
	if ((dd->self.ip >> 24) == 127) {
		snprintf(err, errlen,
			 "the DPDK dataplane cannot serve a loopback bind address (%u.%u.%u.%u): no peer on the port can reach it; bind an address of the port's network",
			 b->ip[0], b->ip[1], b->ip[2], b->ip[3]);
		return -EINVAL;
	}
	return 0;
}

static int
dp_dpdk_eal_init(struct dp_dpdk *dd, const char *eal_args, char *err,
		 size_t errlen)
{
	int argc;

	if (eal_args == NULL) {
		if (rte_lcore_count() == 0) {
			snprintf(err, errlen,
				 "EAL is not initialised: give EAL arguments (--eal)");
			return -EINVAL;
		}
		return 0;	/* the caller owns EAL */
	}
	argc = dp_eal_args_split("gossipd", eal_args, dd->eal_buf,
				 sizeof(dd->eal_buf), dd->eal_argv,
				 DP_EAL_ARGC_MAX);
	if (argc < 0) {
		snprintf(err, errlen, "EAL arguments: %s", strerror(-argc));
		return argc;
	}
	if (rte_eal_init(argc, dd->eal_argv) < 0) {
		int rc = rte_errno;

		snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rc));
		return rc > 0 ? -rc : -EINVAL;
	}
	dd->has_eal = true;
	return 0;
}

/* One worker lcore per dp lcore; the caller's (main) lcore is control. */
static int
dp_dpdk_lcores_init(struct dp_dpdk *dd, char *err, size_t errlen)
{
	unsigned nb = dd->base.nb_lcores;
	unsigned i = 0;
	unsigned id;
	struct dp_arp_cfg acfg;
	int rc = 0;

	if (rte_lcore_count() - 1 < nb) {
		snprintf(err, errlen,
			 "too few lcores: %u dataplane lcores need %u workers, EAL has %u (give more with -l, e.g. -l 0-%u)",
			 nb, nb, rte_lcore_count() - 1, nb);
		return -EINVAL;
	}
	dp_arp_cfg_default(&acfg);
	RTE_LCORE_FOREACH_WORKER(id) {
		struct dp_dpdk_lcore *dl;

		if (i == nb)
			break;
		dl = dp_calloc_lines(sizeof(*dl));
		if (dl == NULL) {
			snprintf(err, errlen, "lcore state: %s",
				 strerror(ENOMEM));
			return -ENOMEM;
		}
		dd->dl[i] = dl;
		dl->arp = dp_arp_new(&acfg, &rc);
		if (dl->arp == NULL) {
			snprintf(err, errlen, "ARP cache: %s", strerror(-rc));
			return rc;
		}
		if (nb > 1) {
			char name[RTE_RING_NAMESIZE];

			snprintf(name, sizeof(name), "dp_arp_mbox%u", i);
			dl->arp_mbox = rte_ring_create_elem(name,
				sizeof(struct dp_dpdk_arp_news),
				DP_DPDK_ARP_MBOX, (int)rte_socket_id(),
				RING_F_SC_DEQ);
			if (dl->arp_mbox == NULL) {
				snprintf(err, errlen, "ARP mailbox: %s",
					 rte_strerror(rte_errno));
				return -ENOMEM;
			}
		}
		dl->owner = dd;
		dl->lc = &dd->base.lcore[i];
		dl->queue = (uint16_t)i;
		dl->lcore_id = id;
		dp_fp_init(&dl->fp);
		i++;
	}
	return 0;
}

/* The rings, one pair per dataplane lcore: nb_lcores 0 means one per
 * EAL worker lcore (known only now, after rte_eal_init). */
static int
dp_dpdk_base_init(struct dp_dpdk *dd, const struct dp_cfg *cfg, char *err,
		  size_t errlen)
{
	struct dp_cfg c = *cfg;
	unsigned workers = rte_lcore_count() - 1;
	int rc;

	if (c.nb_lcores == 0) {
		if (workers == 0) {
			snprintf(err, errlen,
				 "no dataplane lcore: EAL runs only the main lcore (control); give two or more, e.g. -l 0-1");
			return -EINVAL;
		}
		c.nb_lcores = workers < DP_MAX_LCORES ? workers : DP_MAX_LCORES;
		if (workers > DP_MAX_LCORES)
			DP_LOG(WARNING, "EAL has %u worker lcores; the dataplane uses the first %u",
			       workers, DP_MAX_LCORES);
	}
	rc = dp_base_init(&dd->base, &dp_dpdk_ops, &c, err, errlen);
	dd->has_base = rc == 0;
	return rc;
}

static struct dp *
dp_dpdk_create(const struct dp_cfg *cfg, char *err, size_t errlen)
{
	struct dp_dpdk *dd = dp_calloc_lines(sizeof(*dd));
	int rc;

	if (dd == NULL) {
		snprintf(err, errlen, "aligned_alloc: %s", strerror(ENOMEM));
		return NULL;
	}
	dd->exc_port = DP_DPDK_NO_PORT;
	dd->port = (uint16_t)cfg->port_id;
	rc = dp_dpdk_self_init(dd, cfg, err, errlen);
	if (rc == 0)	/* before EAL: a missing capability fails fast */
		rc = dp_dpdk_exc_plan(dd, cfg->eal_args, err, errlen);
	if (rc == 0)
		rc = dp_dpdk_eal_init(dd, cfg->eal_args, err, errlen);
	if (rc == 0)
		rc = dp_dpdk_base_init(dd, cfg, err, errlen);
	if (rc == 0 && cfg->port_id >= RTE_MAX_ETHPORTS) {
		snprintf(err, errlen, "--port %u does not exist (at most %u ports)",
			 cfg->port_id, RTE_MAX_ETHPORTS);
		rc = -ENODEV;
	}
	if (rc == 0)
		rc = dp_dpdk_lcores_init(dd, err, errlen);
	if (rc == 0)
		rc = dp_dpdk_port_init(dd, err, errlen);
	if (rc != 0) {
		dp_dpdk_destroy(&dd->base);
		return NULL;
	}
	dd->tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (dd->tsc_per_us == 0)
		dd->tsc_per_us = 1;
	DP_LOG(INFO, "port %u, %u lcores, exception path %s%s", dd->port,
	       dd->base.nb_lcores,
	       dd->exc_port == DP_DPDK_NO_PORT ? "none" : "tap",
	       dd->exc_auto ? " (made by gossipd)" : "");
	return &dd->base;
}

static void dp_dpdk_stop(struct dp *dp);

static int
dp_dpdk_start(struct dp *dp)
{
	struct dp_dpdk *dd = (struct dp_dpdk *)dp;

	atomic_store_explicit(&dd->quit, false, memory_order_relaxed);
	for (unsigned i = 0; i < dp->nb_lcores; i++) {
		struct dp_dpdk_lcore *dl = dd->dl[i];
		int rc;

		/* online before it runs: an unmap waits from its first turn */
		dp_dpdk_link_online(dl->queue);
		rc = rte_eal_remote_launch(dp_dpdk_lcore_main, dl, dl->lcore_id);
		if (rc != 0) {
			dp_dpdk_link_offline(dl->queue);
			dp_dpdk_stop(dp);
			return rc;
		}
		dd->nb_launched++;
	}
	return 0;
}

/* One line per lcore with every non-zero counter, for the operator. */
static void
dp_dpdk_log_lcore(const struct dp_dpdk_lcore *dl)
{
	static const char *const base[DP_STAT_COUNT] = {
		"rx", "tx", "acks_fast", "to_control", "drop_ring_full",
		"drop_too_big", "drop_malformed", "drop_tx", "drop_other",
	};
	char line[1024];
	size_t off = 0;
	uint64_t rx;

	for (unsigned s = 0; s < DP_STAT_COUNT && off < sizeof(line); s++) {
		/* after rte_eal_wait_lcore: the lcore is done writing */
		uint64_t v = atomic_load_explicit(&dl->lc->stats.v[s],
						  memory_order_relaxed);

		if (v != 0)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
						" %s=%" PRIu64, base[s], v);
	}
	for (unsigned c = 0; c < DP_DPDK_CTR_COUNT && off < sizeof(line); c++)
		if (dl->ctr[c] != 0)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
						" %s=%" PRIu64,
						dp_dpdk_ctr_str[c], dl->ctr[c]);
	for (unsigned d = 1; d < DP_PKT_DROP_COUNT && off < sizeof(line); d++) {
		const char *why = dp_pkt_drop_str[d];

		if (dl->drop[d] != 0)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
						" drop_%s=%" PRIu64, why,
						dl->drop[d]);
	}
	line[off < sizeof(line) ? off : sizeof(line) - 1] = '\0';
	DP_LOG(INFO, "lcore %u:%s", dl->lcore_id, off ? line : " idle");
	rx = atomic_load_explicit(&dl->lc->stats.v[DP_STAT_RX_PKTS],
				  memory_order_relaxed);
	if (rx != 0)
		DP_LOG(INFO, "lcore %u: %.1f ns per received frame when busy",
		       dl->lcore_id, (double)dl->ctr[DP_DPDK_BUSY_TSC] * 1e3 /
		       ((double)dl->owner->tsc_per_us * (double)rx));
}

static void
dp_dpdk_stop(struct dp *dp)
{
	struct dp_dpdk *dd = (struct dp_dpdk *)dp;

	/* pairs with the acquire load in dp_dpdk_lcore_main */
	atomic_store_explicit(&dd->quit, true, memory_order_release);
	for (unsigned i = 0; i < dd->nb_launched; i++) {
		rte_eal_wait_lcore(dd->dl[i]->lcore_id);
		/* it polls no more: an unmap need not wait for it */
		dp_dpdk_link_offline(dd->dl[i]->queue);
		dp_dpdk_log_lcore(dd->dl[i]);
	}
	if (dd->nb_launched != 0)
		dp_dpdk_port_log_queues(dd);
	dd->nb_launched = 0;
}

/* dp_arp_delete's callback: a held frame nobody will send. */
static void
dp_dpdk_free_held(void *pkt, void *ctx)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

static void
dp_dpdk_destroy(struct dp *dp)
{
	struct dp_dpdk *dd = (struct dp_dpdk *)dp;

	for (unsigned i = 0; i < DP_MAX_LCORES; i++) {
		if (dd->dl[i] == NULL)
			continue;
		dp_arp_delete(dd->dl[i]->arp, dp_dpdk_free_held, NULL);
		rte_ring_free(dd->dl[i]->arp_mbox);
		free(dd->dl[i]);
		dd->dl[i] = NULL;
	}
	dp_dpdk_port_fini(dd);
	if (dd->has_eal)
		rte_eal_cleanup();
	if (dd->has_base)
		dp_base_fini(dp);
	free(dd);
}

const struct dp_ops dp_dpdk_ops = {
	.name = "dpdk",
	.create = dp_dpdk_create,
	.start = dp_dpdk_start,
	.stop = dp_dpdk_stop,
	.destroy = dp_dpdk_destroy,
};

