/* SPDX-License-Identifier: MIT */
/*
 * Mempool and ports of the DPDK backend: the main port control chose
 * (cfg->port_id) and, when one exists, a net_tap port used as the
 * exception path to the kernel. Each gets one rx/tx queue pair per
 * worker lcore; the main port spreads flows with RSS over IP+UDP when
 * the PMD can.
 *
 * Runs on the control thread during create/destroy only. Every failure
 * returns -errno with a message naming the step and the port, for a
 * person to read; nothing here exits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp_dpdk_int.h"

/* Descriptors asked for per queue; the PMD may adjust them. */
#define DP_DPDK_NB_RXD 1024
#define DP_DPDK_NB_TXD 1024
/* Per-lcore mempool cache (DPDK's usual value; <= RTE_MEMPOOL_CACHE_MAX). */
#define DP_DPDK_POOL_CACHE 256

/* "net_tap" ports other than the main one serve as the exception path. */
static uint16_t
dp_dpdk_find_tap(uint16_t main_port)
{
	uint16_t p;

	RTE_ETH_FOREACH_DEV(p) {
		struct rte_eth_dev_info info;

		if (p == main_port || rte_eth_dev_info_get(p, &info) != 0)
			continue;
		if (info.driver_name != NULL &&
		    strcmp(info.driver_name, "net_tap") == 0)
			return p;
	}
	return DP_DPDK_NO_PORT;
}

/*
 * Enough mbufs for every descriptor of both ports, plus each lcore's
 * cache, staging arrays and ARP hold queues, as 2^k - 1 (the mempool's
 * best size).
 */
static unsigned
dp_dpdk_pool_size(unsigned nb_lcores)
{
	struct dp_arp_cfg acfg;
	unsigned need;
	unsigned n = 1;

	dp_arp_cfg_default(&acfg);
	need = 2 * nb_lcores * (DP_DPDK_NB_RXD + DP_DPDK_NB_TXD) +
	       nb_lcores * (DP_DPDK_POOL_CACHE + DP_DPDK_TX_MAX + DP_BURST +
			    acfg.nb_entries * DP_ARP_HOLD);
	while (n - 1 < need)
		n <<= 1;
	return n - 1;
}

static int
dp_dpdk_pool_init(struct dp_dpdk *dd, char *err, size_t errlen)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned n = dp_dpdk_pool_size(dd->base.nb_lcores);

	snprintf(name, sizeof(name), "dp_mbuf_p%u", dd->port);
	dd->pool = rte_pktmbuf_pool_create(name, n, DP_DPDK_POOL_CACHE, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   rte_socket_id());
	if (dd->pool == NULL) {
		snprintf(err, errlen,
			 "rte_pktmbuf_pool_create: %s (%u mbufs; with --no-huge give -m 256)",
			 rte_strerror(rte_errno), n);
		return -ENOMEM;
	}
	return 0;
}

/* RSS over IPv4 addresses and UDP ports, as far as the PMD offers it. */
static void
dp_dpdk_rss_conf(const struct rte_eth_dev_info *info, uint16_t nb_q,
		 struct rte_eth_conf *conf)
{
	uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) &
		      info->flow_type_rss_offloads;

	if (nb_q < 2 || hf == 0)
		return;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_hf = hf;
}

/* Let the port verify IPv4 and UDP checksums where it can: the lcore then
 * skips summing what the mbuf flags GOOD (dp_pkt_parse_hw). */
static void
dp_dpdk_rx_csum_conf(const struct rte_eth_dev_info *info,
		     struct rte_eth_conf *conf)
{
	conf->rxmode.offloads |= info->rx_offload_capa &
				 (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				  RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
}

static int
dp_dpdk_queues_setup(struct dp_dpdk *dd, uint16_t port, uint16_t nb_q,
		     char *err, size_t errlen)
{
	uint16_t nb_rxd = DP_DPDK_NB_RXD;
	uint16_t nb_txd = DP_DPDK_NB_TXD;
	int socket = rte_eth_dev_socket_id(port);
	int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);

	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; rc == 0 && q < nb_q; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)socket,
					    NULL, dd->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, nb_txd,
						    (unsigned)socket, NULL);
	}
	if (rc != 0)
		snprintf(err, errlen, "queue setup: %s (port %u)",
			 rte_strerror(-rc), port);
	return rc;
}

/* Configure nb_q queue pairs on port and start it. */
static int
dp_dpdk_port_setup(struct dp_dpdk *dd, uint16_t port, uint16_t nb_q,
		   char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(port, &info);

	if (rc != 0) {
		snprintf(err, errlen, "rte_eth_dev_info_get: %s (port %u)",
			 rte_strerror(-rc), port);
		return rc;
	}
	if (info.max_rx_queues < nb_q || info.max_tx_queues < nb_q) {
		snprintf(err, errlen,
			 "port %u (%s) has %u rx / %u tx queues; %u lcores need one pair each",
			 port, info.driver_name, info.max_rx_queues,
			 info.max_tx_queues, nb_q);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	dp_dpdk_rss_conf(&info, nb_q, &conf);
	dp_dpdk_rx_csum_conf(&info, &conf);
	rc = rte_eth_dev_configure(port, nb_q, nb_q, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "rte_eth_dev_configure: %s (port %u)",
			 rte_strerror(-rc), port);
		return rc;
	}
	rc = dp_dpdk_queues_setup(dd, port, nb_q, err, errlen);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_start(port);
	if (rc != 0)
		snprintf(err, errlen, "rte_eth_dev_start: %s (port %u)",
			 rte_strerror(-rc), port);
	return rc;
}

/* Our MAC and the largest frame the main port's MTU lets out. */
static int
dp_dpdk_port_identity(struct dp_dpdk *dd, char *err, size_t errlen)
{
	struct rte_ether_addr mac;
	uint16_t mtu = 1500;
	int rc = rte_eth_macaddr_get(dd->port, &mac);

	if (rc != 0) {
		snprintf(err, errlen, "rte_eth_macaddr_get: %s (port %u)",
			 rte_strerror(-rc), dd->port);
		return rc;
	}
	memcpy(dd->self.mac, mac.addr_bytes, DP_ETH_ALEN);
	if (rte_eth_dev_get_mtu(dd->port, &mtu) != 0 || mtu < 576)
		mtu = 1500;
	dd->max_frame = (uint16_t)(mtu + DP_ETH_HLEN);
	return 0;
}

/* The tap answers for our MAC, so the kernel's frames leave as ours. */
static int
dp_dpdk_exc_init(struct dp_dpdk *dd, char *err, size_t errlen)
{
	struct rte_ether_addr mac;
	int rc;

	memcpy(mac.addr_bytes, dd->self.mac, DP_ETH_ALEN);
	rc = rte_eth_dev_default_mac_addr_set(dd->exc_port, &mac);
	if (rc != 0) {
		snprintf(err, errlen,
			 "rte_eth_dev_default_mac_addr_set: %s (tap port %u)",
			 rte_strerror(-rc), dd->exc_port);
		return rc;
	}
	dd->exc_started = true;	/* touched: fini stops and closes it */
	return dp_dpdk_port_setup(dd, dd->exc_port,
				  (uint16_t)dd->base.nb_lcores, err, errlen);
}

int
dp_dpdk_port_init(struct dp_dpdk *dd, char *err, size_t errlen)
{
	unsigned nb_ports = rte_eth_dev_count_avail();
	int rc;

	if (nb_ports == 0) {
		snprintf(err, errlen,
			 "no DPDK ports: give one with --vdev (e.g. net_af_packet0,iface=eth0)");
		return -ENODEV;
	}
	if (!rte_eth_dev_is_valid_port(dd->port)) {
		snprintf(err, errlen, "port %u does not exist (%u ports)",
			 dd->port, nb_ports);
		return -ENODEV;
	}
	dd->exc_port = dp_dpdk_find_tap(dd->port);
	rc = dp_dpdk_port_identity(dd, err, errlen);
	if (rc == 0)
		rc = dp_dpdk_pool_init(dd, err, errlen);
	if (rc != 0)
		return rc;
	dd->port_started = true;	/* touched: fini stops and closes it */
	rc = dp_dpdk_port_setup(dd, dd->port, (uint16_t)dd->base.nb_lcores,
				err, errlen);
	if (rc == 0 && dd->exc_port != DP_DPDK_NO_PORT)
		rc = dp_dpdk_exc_init(dd, err, errlen);
	return rc;
}

void
dp_dpdk_port_fini(struct dp_dpdk *dd)
{
	if (dd->port_started) {
		rte_eth_dev_stop(dd->port);
		rte_eth_dev_close(dd->port);
		dd->port_started = false;
	}
	if (dd->exc_started) {
		rte_eth_dev_stop(dd->exc_port);
		rte_eth_dev_close(dd->exc_port);
		dd->exc_started = false;
	}
	rte_mempool_free(dd->pool);
	dd->pool = NULL;
}
