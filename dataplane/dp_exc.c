/* SPDX-License-Identifier: MIT */
/*
 * The exception interface's kernel side (dp_exc.h): rtnetlink requests
 * over a plain NETLINK_ROUTE socket, one socket per request (a handful at
 * start and exit), each acknowledged or refused by the kernel with an
 * errno; /proc/sys for the ARP and IPv6 knobs. Bounded: every receive
 * has a 2 s timeout.
 */
#include "dp_exc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

/* One request: header, family header and a few attributes. */
#define DP_EXC_NL_BUF 512

struct dp_exc_nl {
	struct nlmsghdr h;
	uint8_t body[DP_EXC_NL_BUF - sizeof(struct nlmsghdr)];
};

int
dp_exc_cap_check(const char *what, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned word = CAP_NET_ADMIN / 32;
	uint32_t bit = 1u << (CAP_NET_ADMIN % 32);

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0 &&
	    (data[word].effective & bit) != 0)
		return 0;
	snprintf(err, errlen,
		 "creating the exception interface %s needs CAP_NET_ADMIN: run gossipd as root or grant it (setcap cap_net_admin+ep, systemd AmbientCapabilities=CAP_NET_ADMIN), or give your own net_tap vdev in --eal",
		 what);
	return -EPERM;
}

bool
dp_exc_ip_is_local(uint32_t ip, char *ifname, size_t len)
{
	struct ifaddrs *all;
	bool found = false;

	if (getifaddrs(&all) != 0)
		return false;
	for (struct ifaddrs *a = all; a != NULL && !found; a = a->ifa_next) {
		const struct sockaddr_in *sin =
			(const struct sockaddr_in *)a->ifa_addr;

		if (sin == NULL || sin->sin_family != AF_INET ||
		    ntohl(sin->sin_addr.s_addr) != ip)
			continue;
		found = true;
		if (ifname != NULL)
			snprintf(ifname, len, "%s", a->ifa_name);
	}
	freeifaddrs(all);
	return found;
}

int
dp_exc_pick_name(char *name, size_t len)
{
	for (unsigned n = 0; n < 100; n++) {
		char cand[IF_NAMESIZE];

		snprintf(cand, sizeof(cand), "gd%u", n);
		if (if_nametoindex(cand) == 0) {
			snprintf(name, len, "%s", cand);
			return 0;
		}
	}
	return -EEXIST;
}

uint32_t
dp_exc_table(uint32_t ip)
{
	/* a multiplicative mix into [2^30, 2^31): far from the kernel's
	 * own tables (253..255) and the usual hand-picked small numbers */
	return 0x40000000u | ((ip * 2654435761u) >> 2);
}

/* Append one attribute. @retval false when the buffer is full. */
static bool
nl_attr(struct dp_exc_nl *m, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->h.nlmsg_len);
	struct rtattr *a;

	if (off + RTA_SPACE(len) > sizeof(*m))
		return false;
	a = (struct rtattr *)((uint8_t *)m + off);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return true;
}

static bool
nl_attr32(struct dp_exc_nl *m, uint16_t type, uint32_t v)
{
	return nl_attr(m, type, &v, sizeof(v));
}

/* Start a request with its family header of hlen bytes (zeroed). */
static void *
nl_start(struct dp_exc_nl *m, uint16_t type, uint16_t flags, size_t hlen)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hlen);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_seq = 1;
	return NLMSG_DATA(&m->h);
}

/* The kernel's answer to our one request: 0 or -errno. */
static int
nl_answer(int fd)
{
	union {
		struct nlmsghdr h;
		uint8_t b[4096];
	} in;
	ssize_t n = recv(fd, &in, sizeof(in), 0);

	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = &in.h; NLMSG_OK(h, (unsigned)n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	return -EPROTO;
}

/* Send m, wait for its acknowledgement. @retval 0 or -errno. */
static int
nl_talk(struct dp_exc_nl *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, m, m->h.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		rc = -errno;
	else
		rc = nl_answer(fd);
	close(fd);
	return rc;
}

/* Interface ifindex up (or down). */
static int
nl_link_set(unsigned ifindex, bool up)
{
	struct dp_exc_nl m;
	struct ifinfomsg *ifi = nl_start(&m, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return nl_talk(&m);
}

/* Is the interface administratively up? (an ioctl on a socket of this
 * netns; /sys may show another netns in a process that unshared) */
static bool
dp_exc_is_up(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	close(fd);
	return up;
}

/* RTM_NEWADDR / RTM_DELADDR of ip/32 on ifindex. */
static int
nl_addr(uint16_t cmd, unsigned ifindex, uint32_t ip)
{
	struct dp_exc_nl m;
	uint16_t fl = cmd == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0;
	struct ifaddrmsg *ifa = nl_start(&m, cmd, fl, sizeof(*ifa));
	uint32_t ip_n = htonl(ip);

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_index = ifindex;
	if (!nl_attr(&m, IFA_LOCAL, &ip_n, 4) ||
	    !nl_attr(&m, IFA_ADDRESS, &ip_n, 4))
		return -E2BIG;
	return nl_talk(&m);
}

/* "default dev <ifindex> scope link src <ip> table <table>". */
static int
nl_route(uint16_t cmd, uint32_t table, unsigned ifindex, uint32_t ip)
{
	struct dp_exc_nl m;
	uint16_t fl = cmd == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	struct rtmsg *rt = nl_start(&m, cmd, fl, sizeof(*rt));
	uint32_t ip_n = htonl(ip);

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_UNSPEC;	/* RTA_TABLE says */
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (!nl_attr32(&m, RTA_TABLE, table) ||
	    !nl_attr32(&m, RTA_OIF, ifindex) ||
	    !nl_attr(&m, RTA_PREFSRC, &ip_n, 4))
		return -E2BIG;
	return nl_talk(&m);
}

/* One policy rule; src 0: any source; iif NULL: any interface;
 * table 0: blackhole. NEW of an existing rule answers -EEXIST. */
static int
nl_rule(uint16_t cmd, uint32_t pref, uint32_t table, uint32_t src,
	const char *iif)
{
	struct dp_exc_nl m;
	uint16_t fl = cmd == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0;
	struct fib_rule_hdr *fr = nl_start(&m, cmd, fl, sizeof(*fr));
	uint32_t src_n = htonl(src);
	bool ok = nl_attr32(&m, FRA_PRIORITY, pref);

	fr->family = AF_INET;
	fr->action = table != 0 ? FR_ACT_TO_TBL : FR_ACT_BLACKHOLE;
	if (table != 0)
		ok = ok && nl_attr32(&m, FRA_TABLE, table);
	if (src != 0) {
		fr->src_len = 32;
		ok = ok && nl_attr(&m, FRA_SRC, &src_n, 4);
	}
	if (iif != NULL)
		ok = ok && nl_attr(&m, FRA_IIFNAME, iif, strlen(iif) + 1);
	return ok ? nl_talk(&m) : -E2BIG;
}

/* /proc/sys/net/<v>/conf/<ifname>/<knob>: read (-1 on error), write. */
static int
sysctl_get(const char *v, const char *ifname, const char *knob)
{
	char path[128];
	FILE *f;
	int val = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", v, ifname,
		 knob);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

static int
sysctl_set(const char *v, const char *ifname, const char *knob, int val)
{
	char path[128];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", v, ifname,
		 knob);
	f = fopen(path, "we");
	if (f == NULL)
		return -errno;
	if (fprintf(f, "%d\n", val) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* IPv6 off where the kernel has it; a kernel without IPv6: nothing. */
static int
sysctl_v6_off(const char *ifname)
{
	int rc = sysctl_set("ipv6", ifname, "disable_ipv6", 1);

	return rc == -ENOENT ? 0 : rc;
}

/* The tap: sysctls, address, link up, its table's default route. */
static int
exc_tap(struct dp_exc *x, unsigned ifindex, char *err, size_t errlen)
{
	const char *step = "arp_ignore";
	int rc = sysctl_set("ipv4", x->tap, "arp_ignore", 1);

	if (rc == 0) {
		step = "arp_announce";
		rc = sysctl_set("ipv4", x->tap, "arp_announce", 2);
	}
	if (rc == 0) {
		step = "disable_ipv6";
		rc = sysctl_v6_off(x->tap);
	}
	if (rc == 0) {
		step = "address";
		rc = nl_addr(RTM_NEWADDR, ifindex, x->ip);
		rc = rc == -EEXIST ? 0 : rc;
	}
	if (rc == 0) {
		step = "link up";
		rc = nl_link_set(ifindex, true);
	}
	if (rc == 0) {
		step = "route";
		rc = nl_route(RTM_NEWROUTE, x->table, ifindex, x->ip);
	}
	if (rc != 0)
		snprintf(err, errlen, "exception interface %s: %s: %s", x->tap,
			 step, strerror(-rc));
	return rc;
}

/* Add one rule; an identical one (a killed node's) becomes ours. */
static int
exc_rule(bool *mine, uint32_t pref, uint32_t table, uint32_t src,
	 const char *iif)
{
	int rc = nl_rule(RTM_NEWRULE, pref, table, src, iif);

	if (rc == 0 || rc == -EEXIST) {
		*mine = true;
		return 0;
	}
	return rc;
}

/* The port's kernel interface stays silent about the node. */
static int
exc_wire(struct dp_exc *x, char *err, size_t errlen)
{
	int rc;

	x->saved.arp_ignore = sysctl_get("ipv4", x->wire, "arp_ignore");
	x->saved.disable_ipv6 = sysctl_get("ipv6", x->wire, "disable_ipv6");
	rc = sysctl_set("ipv4", x->wire, "arp_ignore", 8);
	if (rc == 0 && x->saved.disable_ipv6 >= 0)
		rc = sysctl_set("ipv6", x->wire, "disable_ipv6", 1);
	if (rc == 0)
		rc = exc_rule(&x->rule_wire, DP_EXC_PREF_WIRE, 0, 0, x->wire);
	/* the port's frames flow only on an up interface; af_packet's own
	 * link-up call does not reach the kernel interface in 22.11 */
	if (rc == 0 && !dp_exc_is_up(x->wire)) {
		rc = nl_link_set(if_nametoindex(x->wire), true);
		x->saved.was_down = rc == 0;
	}
	if (rc != 0)
		snprintf(err, errlen, "port interface %s: %s", x->wire,
			 strerror(-rc));
	return rc;
}

int
dp_exc_setup(struct dp_exc *x, const char *tap, const char *wire,
	     uint32_t ip, char *err, size_t errlen)
{
	unsigned ifindex = if_nametoindex(tap);
	int rc;

	memset(x, 0, sizeof(*x));
	x->saved.arp_ignore = x->saved.disable_ipv6 = -1;
	if (ifindex == 0 || strlen(tap) >= sizeof(x->tap)) {
		snprintf(err, errlen, "exception interface %s: %s", tap,
			 strerror(ENODEV));
		return -ENODEV;
	}
	rc = dp_exc_cap_check(tap, err, errlen);
	if (rc != 0)
		return rc;
	x->is_set = true;
	snprintf(x->tap, sizeof(x->tap), "%s", tap);
	if (wire != NULL)
		snprintf(x->wire, sizeof(x->wire), "%s", wire);
	x->ip = ip;
	x->table = dp_exc_table(ip);
	rc = exc_tap(x, ifindex, err, errlen);
	if (rc == 0 && x->wire[0] != '\0')
		rc = exc_wire(x, err, errlen);
	if (rc == 0) {
		rc = exc_rule(&x->rule_from, DP_EXC_PREF_FROM, x->table, ip,
			      NULL);
		if (rc == 0)
			rc = exc_rule(&x->rule_fallback, DP_EXC_PREF_FALLBACK,
				      x->table, 0, NULL);
		if (rc != 0)
			snprintf(err, errlen,
				 "exception interface %s: policy rule: %s",
				 tap, strerror(-rc));
	}
	if (rc != 0)
		dp_exc_teardown(x);
	return rc;
}

void
dp_exc_teardown(struct dp_exc *x)
{
	unsigned ifindex;

	if (!x->is_set)
		return;
	if (x->rule_fallback)
		(void)nl_rule(RTM_DELRULE, DP_EXC_PREF_FALLBACK, x->table, 0,
			      NULL);
	if (x->rule_from)
		(void)nl_rule(RTM_DELRULE, DP_EXC_PREF_FROM, x->table, x->ip,
			      NULL);
	if (x->rule_wire)
		(void)nl_rule(RTM_DELRULE, DP_EXC_PREF_WIRE, 0, 0, x->wire);
	if (x->saved.arp_ignore >= 0)
		(void)sysctl_set("ipv4", x->wire, "arp_ignore",
				 x->saved.arp_ignore);
	if (x->saved.disable_ipv6 >= 0)
		(void)sysctl_set("ipv6", x->wire, "disable_ipv6",
				 x->saved.disable_ipv6);
	if (x->saved.was_down)
		(void)nl_link_set(if_nametoindex(x->wire), false);
	/* usually gone with the tap already; not when the caller keeps it */
	ifindex = if_nametoindex(x->tap);
	if (ifindex != 0) {
		(void)nl_route(RTM_DELROUTE, x->table, ifindex, x->ip);
		(void)nl_addr(RTM_DELADDR, ifindex, x->ip);
	}
	memset(x, 0, sizeof(*x));
}
