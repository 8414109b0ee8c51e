/* SPDX-License-Identifier: MIT */
/*
 * Mempool and ports of the DPDK backend: the main port control chose
 * (cfg->port_id) and, when one exists or dp_exc_dpdk.c made one, a
 * net_tap port used as the exception path to the kernel. Each gets one rx/tx queue pair per
 * worker lcore; the main port spreads flows with RSS over IP+UDP when
 * the PMD can.
 *
 * Runs on the control thread during create/destroy only. Every failure
 * returns -errno with a message naming the step and the port, for a
 * person to read; nothing here exits.
 *
 * Also the link guard (dp_dpdk_link.h): net_memif unmaps its rings from
 * the EAL interrupt thread when the peer leaves, so for such a port the
 * lcores report a quiescent state every loop turn and this file's munmap
 * waits for them when the interrupt thread calls it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "dp_dpdk_int.h"
#include "dp_dpdk_link.h"

/* Descriptors asked for per queue; the PMD may adjust them. */
#define DP_DPDK_NB_RXD 1024
#define DP_DPDK_NB_TXD 1024
/* Per-lcore mempool cache (DPDK's usual value; <= RTE_MEMPOOL_CACHE_MAX). */
#define DP_DPDK_POOL_CACHE 256

/* Room for an rte_rcu_qsbr of DP_MAX_LCORES readers (checked at arming).
 * Static, not allocated: the interrupt thread may still be reading it in
 * dp_dpdk_link_sync when control disarms. */
#define DP_DPDK_QSBR_BYTES 8192
static uint8_t dp_dpdk_qsbr_mem[DP_DPDK_QSBR_BYTES] __rte_cache_aligned;
/* Armed: the variable; NULL otherwise. Control stores with release; the
 * interrupt thread loads with acquire; lcores load it relaxed (it stays
 * put from before their launch until after they returned). */
static struct rte_rcu_qsbr *_Atomic dp_dpdk_qsbr;

int
dp_dpdk_link_guard_arm(unsigned nb_readers)
{
	struct rte_rcu_qsbr *v = (struct rte_rcu_qsbr *)dp_dpdk_qsbr_mem;

	if (nb_readers == 0 || nb_readers > DP_MAX_LCORES ||
	    rte_rcu_qsbr_get_memsize(nb_readers) > sizeof(dp_dpdk_qsbr_mem))
		return -EINVAL;
	if (dp_dpdk_link_guard_armed())
		return -EBUSY;
	if (rte_rcu_qsbr_init(v, nb_readers) != 0)
		return -EINVAL;
	for (unsigned id = 0; id < nb_readers; id++)
		(void)rte_rcu_qsbr_thread_register(v, id); /* id < max */
	atomic_store_explicit(&dp_dpdk_qsbr, v, memory_order_release);
	return 0;
}

void
dp_dpdk_link_guard_disarm(void)
{
	atomic_store_explicit(&dp_dpdk_qsbr, NULL, memory_order_release);
}

bool
dp_dpdk_link_guard_armed(void)
{
	return atomic_load_explicit(&dp_dpdk_qsbr, memory_order_acquire) !=
	       NULL;
}

void
dp_dpdk_link_online(unsigned id)
{
	struct rte_rcu_qsbr *v = atomic_load_explicit(&dp_dpdk_qsbr,
						      memory_order_acquire);

	if (v != NULL && id < v->max_threads)
		rte_rcu_qsbr_thread_online(v, id);
}

void
dp_dpdk_link_offline(unsigned id)
{
	struct rte_rcu_qsbr *v = atomic_load_explicit(&dp_dpdk_qsbr,
						      memory_order_acquire);

	if (v != NULL && id < v->max_threads)
		rte_rcu_qsbr_thread_offline(v, id);
}

void
dp_dpdk_link_quiescent(unsigned id)
{
	/* relaxed: set before this lcore's launch, cleared after it
	 * returned; the token inside is loaded with acquire */
	struct rte_rcu_qsbr *v = atomic_load_explicit(&dp_dpdk_qsbr,
						      memory_order_relaxed);

	if (v != NULL)
		rte_rcu_qsbr_quiescent(v, id);
}

static uint64_t
dp_dpdk_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
dp_dpdk_link_sync(void)
{
	/* acquire: pairs with the release in dp_dpdk_link_guard_arm */
	struct rte_rcu_qsbr *v = atomic_load_explicit(&dp_dpdk_qsbr,
						      memory_order_acquire);
	const struct timespec nap = { .tv_nsec = 20000 };
	uint64_t deadline;
	uint64_t t;

	if (v == NULL || !rte_thread_is_intr())
		return true;
	/* release: the PMD's "disconnected" stores before it (and its
	 * spinlock) are seen by every lcore that sees the new token */
	t = rte_rcu_qsbr_start(v);
	deadline = dp_dpdk_mono_ms() + DP_DPDK_LINK_WAIT_MS;
	while (rte_rcu_qsbr_check(v, t, false) == 0) {
		if (dp_dpdk_mono_ms() > deadline) {
			DP_LOG(WARNING, "an lcore reported no quiescent state in %u ms: unmapping anyway",
			       DP_DPDK_LINK_WAIT_MS);
			return false;
		}
		/* sleep, not spin: the lcore may share this CPU */
		nanosleep(&nap, NULL);
	}
	return true;
}

/*
 * The process's munmap: the executable defines it, so the PMDs' calls
 * (librte_net_memif's memif_free_regions among them) land here first;
 * glibc's own internal calls do not. It waits for the lcores when the
 * guard asks for it, then makes the system call itself.
 */
int
munmap(void *addr, size_t len)
{
	(void)dp_dpdk_link_sync();
	return (int)syscall(SYS_munmap, addr, len);
}

/* net_memif's rx/tx race its own disconnect handling (dp_dpdk_link.h). */
static bool
dp_dpdk_port_needs_guard(uint16_t port)
{
	struct rte_eth_dev_info info;

	return rte_eth_dev_info_get(port, &info) == 0 &&
	       info.driver_name != NULL &&
	       strcmp(info.driver_name, "net_memif") == 0;
}

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

/* RSS over IPv4 addresses and UDP ports, as far as the PMD offers it.
 * PMDs without RSS offload and several queues (af_packet's fanout, the
 * tap's queues) spread flows by a hash of their own. */
static void
dp_dpdk_rss_conf(uint16_t port, const struct rte_eth_dev_info *info,
		 uint16_t nb_q, struct rte_eth_conf *conf)
{
	uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) &
		      info->flow_type_rss_offloads;

	if (nb_q < 2)
		return;
	if (hf == 0) {
		DP_LOG(INFO, "port %u (%s): %u queue pairs, no RSS offload: the driver spreads flows itself",
		       port, info->driver_name, nb_q);
		return;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_hf = hf;
	DP_LOG(INFO, "port %u (%s): %u queue pairs, RSS on %s%s (rss_hf 0x%llx)",
	       port, info->driver_name, nb_q,
	       (hf & RTE_ETH_RSS_IP) ? "IP" : "",
	       (hf & RTE_ETH_RSS_UDP) ? "+UDP ports" : "",
	       (unsigned long long)hf);
}

/* What to add to a device's devargs for more queues, where known. */
static const char *
dp_dpdk_queue_hint(const char *driver)
{
	if (driver != NULL && strcmp(driver, "net_af_packet") == 0)
		return " (net_af_packet: add qpairs=N to its --vdev)";
	if (driver != NULL && strcmp(driver, "net_af_xdp") == 0)
		return " (net_af_xdp: add queue_count=N to its --vdev)";
	return "";
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
			 "port %u (%s) has %u rx / %u tx queues; %u dataplane lcores need one pair each: give fewer lcores in -l or more queues to the device%s",
			 port, info.driver_name, info.max_rx_queues,
			 info.max_tx_queues, nb_q,
			 dp_dpdk_queue_hint(info.driver_name));
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (port == dd->port)
		dp_dpdk_rss_conf(port, &info, nb_q, &conf);
	dp_dpdk_rx_csum_conf(&info, &conf);
	/* --dp-power interrupt: lcores sleep on Rx interrupts (idle.h) */
	conf.intr_conf.rxq = dd->base.cfg.power == DP_POWER_INTERRUPT;
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
	if (rc != 0) {
		snprintf(err, errlen, "rte_eth_dev_start: %s (port %u)",
			 rte_strerror(-rc), port);
		return rc;
	}
	/* af_packet and the like bring their kernel interface up here;
	 * drivers without the call say -ENOTSUP, which is fine */
	(void)rte_eth_dev_set_link_up(port);
	return 0;
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

/* "port 3 does not exist: EAL has 2 ports: 0 net_af_packet0, 1 ..." */
static int
dp_dpdk_no_port(uint16_t want, char *err, size_t errlen)
{
	size_t off = 0;
	uint16_t p;

	off += (size_t)snprintf(err, errlen,
				"--port %u does not exist: EAL has %u ports:",
				want, rte_eth_dev_count_avail());
	RTE_ETH_FOREACH_DEV(p) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (off >= errlen)
			break;
		if (rte_eth_dev_get_name_by_port(p, name) != 0)
			snprintf(name, sizeof(name), "?");
		off += (size_t)snprintf(err + off, errlen - off, " %u %s", p,
					name);
	}
	return -ENODEV;
}

int
dp_dpdk_port_init(struct dp_dpdk *dd, char *err, size_t errlen)
{
	unsigned nb_ports = rte_eth_dev_count_avail();
	int rc;

	if (nb_ports == 0) {
		snprintf(err, errlen,
			 "no DPDK ports: name the NIC with -a PCI_ADDR, or give a --vdev (e.g. net_af_packet0,iface=eth0)");
		return -ENODEV;
	}
	if (!rte_eth_dev_is_valid_port(dd->port))
		return dp_dpdk_no_port(dd->port, err, errlen);
	dd->exc_port = dp_dpdk_find_tap(dd->port);
	rc = dp_dpdk_port_identity(dd, err, errlen);
	if (rc == 0)
		rc = dp_dpdk_pool_init(dd, err, errlen);
	if (rc != 0)
		return rc;
	dd->port_started = true;	/* touched: fini stops and closes it */
	rc = dp_dpdk_port_setup(dd, dd->port, (uint16_t)dd->base.nb_lcores,
				err, errlen);
	/* our own tap only once the main port works: a port, pool or queue
	 * error leaves no interface behind, not even for a moment */
	if (rc == 0 && dd->exc_port == DP_DPDK_NO_PORT)
		rc = dp_dpdk_exc_make(dd, err, errlen);
	if (rc == 0 && dd->exc_port != DP_DPDK_NO_PORT)
		rc = dp_dpdk_exc_init(dd, err, errlen);
	if (rc == 0 && dp_dpdk_port_needs_guard(dd->port)) {
		rc = dp_dpdk_link_guard_arm(dd->base.nb_lcores);
		if (rc != 0)
			snprintf(err, errlen, "link guard: %s (port %u)",
				 strerror(-rc), dd->port);
	}
	if (rc == 0)
		rc = dp_dpdk_exc_configure(dd, err, errlen);
	return rc;
}

void
dp_dpdk_port_log_queues(const struct dp_dpdk *dd)
{
	struct rte_eth_stats st;
	unsigned nb = dd->base.nb_lcores;

	if (!dd->port_started || rte_eth_stats_get(dd->port, &st) != 0)
		return;
	for (unsigned q = 0; q < nb && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
		DP_LOG(INFO, "port %u queue %u: rx %llu tx %llu", dd->port, q,
		       (unsigned long long)st.q_ipackets[q],
		       (unsigned long long)st.q_opackets[q]);
}

void
dp_dpdk_port_fini(struct dp_dpdk *dd)
{
	/* the kernel's side first, while the tap still exists */
	dp_dpdk_exc_unconfigure(dd);
	/* the lcores have returned (stop ran); the interrupt thread may
	 * still unmap, with nobody left to wait for */
	dp_dpdk_link_guard_disarm();
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
	dp_dpdk_exc_remove(dd);
	rte_mempool_free(dd->pool);
	dd->pool = NULL;
}
