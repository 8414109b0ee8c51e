/* SPDX-License-Identifier: MIT */
/*
 * The DPDK dataplane's counters through DPDK's telemetry socket: command
 * "/gossipd/stats" answers a dict of the summed dataplane counters with
 * one dict per lcore ("lcore0", ...: counters and ring depths). Built only
 * with DPDK (cp_metrics_tel_none.c otherwise).
 *
 * The callback runs on DPDK's telemetry thread, so it reads only the copy
 * that control publishes once per second under cp_tel_lock, never the
 * dataplane itself. DPDK 22.11 cannot unregister a command, so the copy
 * is static and outlives cp_metrics; cp_metrics_tel_clear empties it.
 */
#include "cp_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

static pthread_mutex_t cp_tel_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by cp_tel_lock: the last published counters. */
static struct {
	bool is_set;				/* false: nothing to show */
	struct dp_stats sum;
	unsigned nb_lcores;
	struct cp_metrics_lcore lcore[CP_METRICS_LCORES_MAX];
} cp_tel;

/* The dp_stats fields by name, for both the sum and each lcore. */
static void
cp_tel_add_stats(struct rte_tel_data *d, const struct dp_stats *st)
{
	rte_tel_data_add_dict_u64(d, "rx_pkts", st->rx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_pkts", st->tx_pkts);
	rte_tel_data_add_dict_u64(d, "acks_fast", st->acks_fast);
	rte_tel_data_add_dict_u64(d, "to_control", st->to_control);
	rte_tel_data_add_dict_u64(d, "drop_ring_full", st->drop_ring_full);
	rte_tel_data_add_dict_u64(d, "drop_too_big", st->drop_too_big);
	rte_tel_data_add_dict_u64(d, "drop_malformed", st->drop_malformed);
	rte_tel_data_add_dict_u64(d, "drop_tx", st->drop_tx);
	rte_tel_data_add_dict_u64(d, "drop_other", st->drop_other);
}

static int
cp_tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static __typeof__(cp_tel) snap;	/* telemetry thread only */
	char key[16];

	(void)cmd;
	(void)params;
	pthread_mutex_lock(&cp_tel_lock);
	snap = cp_tel;
	pthread_mutex_unlock(&cp_tel_lock);
	rte_tel_data_start_dict(d);
	if (!snap.is_set)
		return 0;
	cp_tel_add_stats(d, &snap.sum);
	rte_tel_data_add_dict_u64(d, "lcores", snap.nb_lcores);
	for (unsigned i = 0; i < snap.nb_lcores; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			return -1;
		rte_tel_data_start_dict(c);
		cp_tel_add_stats(c, &snap.lcore[i].st);
		rte_tel_data_add_dict_u64(c, "rx_ring_depth",
					  snap.lcore[i].rx_depth);
		rte_tel_data_add_dict_u64(c, "tx_ring_depth",
					  snap.lcore[i].tx_depth);
		snprintf(key, sizeof(key), "lcore%u", i);
		/* keep = 0: d owns c from here */
		rte_tel_data_add_dict_container(d, key, c, 0);
	}
	return 0;
}

int
cp_metrics_tel_register(void)
{
	static bool is_registered;

	if (is_registered)
		return 0;
	if (rte_telemetry_register_cmd("/gossipd/stats", cp_tel_stats,
				       "gossipd dataplane counters, summed and "
				       "per lcore. No parameters") != 0)
		return -1;
	is_registered = true;
	return 0;
}

void
cp_metrics_tel_publish(const struct cp_metrics_input *in)
{
	pthread_mutex_lock(&cp_tel_lock);
	cp_tel.is_set = true;
	cp_tel.sum = in->dp;
	cp_tel.nb_lcores = in->nb_lcores;
	memcpy(cp_tel.lcore, in->lcore, sizeof(cp_tel.lcore));
	pthread_mutex_unlock(&cp_tel_lock);
}

void
cp_metrics_tel_clear(void)
{
	pthread_mutex_lock(&cp_tel_lock);
	memset(&cp_tel, 0, sizeof(cp_tel));
	pthread_mutex_unlock(&cp_tel_lock);
}
