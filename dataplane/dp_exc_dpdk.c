/* SPDX-License-Identifier: MIT */
/*
 * The exception interface the DPDK backend makes itself when the EAL
 * arguments bring no net_tap: a net_tap vdev "gd<N>" with the main
 * port's MAC, added after rte_eal_init (rte_eal_hotplug_add), then
 * configured for the kernel by dp_exc.c, so that
 *   gossipd --dataplane dpdk --eal "..." --bind 10.1.2.3:7946
 * needs nothing else: the kernel owns 10.1.2.3 on the tap (TCP push/pull
 * and TCP pings), the lcores own its UDP.
 *
 * No tap is made when the caller owns EAL (tests, embedding), when the
 * EAL arguments name a net_tap (the operator's own exception path), or
 * when the address is already on an interface here (the operator put it
 * there, e.g. on lo for a benchmark without a kernel path).
 *
 * Control thread only, during create/destroy.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "dp_dpdk_int.h"

/* Does the EAL string bring its own tap? (either of the PMD's names) */
static bool
dp_exc_eal_has_tap(const char *eal_args)
{
	return strstr(eal_args, "net_tap") != NULL ||
	       strstr(eal_args, "eth_tap") != NULL;
}

int
dp_dpdk_exc_plan(struct dp_dpdk *dd, const char *eal_args, char *err,
		 size_t errlen)
{
	char where[IF_NAMESIZE] = "";
	int rc;

	dd->exc_auto = false;
	if (eal_args == NULL || dp_exc_eal_has_tap(eal_args))
		return 0;
	if (dp_exc_ip_is_local(dd->self.ip, where, sizeof(where))) {
		DP_LOG(INFO, "no exception interface made: the bind address is on %s already (its kernel answers TCP)",
		       where);
		return 0;
	}
	rc = dp_exc_pick_name(dd->exc_ifname, sizeof(dd->exc_ifname));
	if (rc != 0) {
		snprintf(err, errlen,
			 "exception interface: gd0..gd99 all exist: %s",
			 strerror(-rc));
		return rc;
	}
	rc = dp_exc_cap_check(dd->exc_ifname, err, errlen);
	if (rc != 0)
		return rc;
	dd->exc_auto = true;
	return 0;
}

int
dp_dpdk_exc_make(struct dp_dpdk *dd, char *err, size_t errlen)
{
	char args[96];
	const uint8_t *m = dd->self.mac;
	uint16_t p;
	int rc;

	if (!dd->exc_auto)
		return 0;
	snprintf(dd->exc_vdev, sizeof(dd->exc_vdev), "net_tap_%s",
		 dd->exc_ifname);
	snprintf(args, sizeof(args),
		 "iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		 dd->exc_ifname, m[0], m[1], m[2], m[3], m[4], m[5]);
	rc = rte_eal_hotplug_add("vdev", dd->exc_vdev, args);
	if (rc != 0) {
		snprintf(err, errlen,
			 "exception interface %s: net_tap vdev: %s (needs /dev/net/tun)",
			 dd->exc_ifname, strerror(rc < 0 ? -rc : EINVAL));
		return rc < 0 ? rc : -EINVAL;
	}
	dd->exc_added = true;
	rc = rte_eth_dev_get_port_by_name(dd->exc_vdev, &p);
	if (rc != 0) {
		snprintf(err, errlen, "exception interface %s: no port: %s",
			 dd->exc_ifname, strerror(-rc));
		return rc;
	}
	dd->exc_port = p;
	return 0;
}

/* The main port's kernel interface (af_packet, af_xdp), or "". */
static void
dp_exc_wire_name(uint16_t port, char *name)
{
	struct rte_eth_dev_info info;

	name[0] = '\0';
	if (rte_eth_dev_info_get(port, &info) != 0 || info.if_index == 0 ||
	    if_indextoname(info.if_index, name) == NULL)
		name[0] = '\0';
}

int
dp_dpdk_exc_configure(struct dp_dpdk *dd, char *err, size_t errlen)
{
	char wire[IF_NAMESIZE];
	int rc;

	if (!dd->exc_auto)
		return 0;
	dp_exc_wire_name(dd->port, wire);
	rc = dp_exc_setup(&dd->exc, dd->exc_ifname, wire, dd->self.ip, err,
			  errlen);
	if (rc == 0)
		DP_LOG(INFO, "exception interface %s: the node's address, table %u%s%s",
		       dd->exc_ifname, (unsigned)dd->exc.table,
		       wire[0] ? ", silenced kernel interface " : "", wire);
	return rc;
}

void
dp_dpdk_exc_unconfigure(struct dp_dpdk *dd)
{
	dp_exc_teardown(&dd->exc);
}

void
dp_dpdk_exc_remove(struct dp_dpdk *dd)
{
	if (!dd->exc_added)
		return;
	/* the port is closed; this frees the vdev (and its kernel tap) */
	(void)rte_eal_hotplug_remove("vdev", dd->exc_vdev);
	dd->exc_added = false;
}
