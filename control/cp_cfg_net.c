/* SPDX-License-Identifier: MIT */
/*
 * What the configuration needs from the host: serf's advertise rule over
 * the interface list (pure over a given list, so tests pass a fake one),
 * and DNS names of --join / --retry-join seeds (getaddrinfo, which blocks:
 * callers run it at start or on a short-lived thread, never in the loop).
 */
#include "cp_cfg.h"
#include "cp_cfg_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Most interface addresses looked at. */
#define CP_IFACES_MAX 64

/* The private and shared IPv4 blocks go-sockaddr's GetPrivateIP accepts,
 * as (first octet, second octet mask, second octet value). */
static bool
cp_ip4_is_private(const uint8_t *ip)
{
	return ip[0] == 10 ||				/* 10/8 */
	       (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||	/* 172.16/12 */
	       (ip[0] == 192 && ip[1] == 168) ||		/* 192.168/16 */
	       (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||	/* 100.64/10 */
	       (ip[0] == 198 && (ip[1] & 0xfe) == 18);	/* 198.18/15 */
}

static bool
cp_ip_is_wildcard(const struct swim_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->ip, zero, a->ip_len) == 0;
}

int
cp_cfg_advertise_from(struct cp_cfg *cfg, const struct cp_iface *ifs,
		      unsigned nb, char *err, size_t errlen)
{
	bool has_other = false;

	if (cfg->has_advertise)
		return 0;
	cfg->advertise = cfg->bind;
	if (!cp_ip_is_wildcard(&cfg->bind))
		return 0;
	memset(cfg->advertise.ip, 0, sizeof(cfg->advertise.ip));
	cfg->advertise.ip_len = 4;
	for (unsigned i = 0; i < nb; i++) {
		if (!ifs[i].is_up || ifs[i].is_loopback)
			continue;
		if (cp_ip4_is_private(ifs[i].ip)) {
			memcpy(cfg->advertise.ip, ifs[i].ip, 4);
			return 0;
		}
		has_other = true;
	}
	if (has_other)
		return cp_cfg_errf(err, errlen, "no private IPv4 address found "
				   "on an up interface to advertise while "
				   "binding a wildcard address: pass "
				   "--advertise IP:PORT (or --bind IP:PORT)");
	/* Only loopback here: other hosts cannot be reached anyway. */
	cfg->advertise.ip[0] = 127;
	cfg->advertise.ip[3] = 1;
	return 0;
}

int
cp_cfg_advertise(struct cp_cfg *cfg, char *err, size_t errlen)
{
	static struct cp_iface ifs[CP_IFACES_MAX];
	struct ifaddrs *list = NULL;
	unsigned nb = 0;

	if (cfg->has_advertise || !cp_ip_is_wildcard(&cfg->bind))
		return cp_cfg_advertise_from(cfg, NULL, 0, err, errlen);
	if (getifaddrs(&list) != 0)
		return cp_cfg_errf(err, errlen, "getifaddrs: %s: pass "
				   "--advertise IP:PORT", strerror(errno));
	for (struct ifaddrs *i = list; i != NULL && nb < CP_IFACES_MAX;
	     i = i->ifa_next) {
		const struct sockaddr_in *sin;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
		memset(&ifs[nb], 0, sizeof(ifs[nb]));
		snprintf(ifs[nb].name, sizeof(ifs[nb].name), "%s",
			 i->ifa_name);
		memcpy(ifs[nb].ip, &sin->sin_addr, 4);
		ifs[nb].is_up = (i->ifa_flags & IFF_UP) != 0;
		ifs[nb].is_loopback = (i->ifa_flags & IFF_LOOPBACK) != 0 ||
				      ifs[nb].ip[0] == 127;
		nb++;
	}
	freeifaddrs(list);
	return cp_cfg_advertise_from(cfg, ifs, nb, err, errlen);
}

/* Split a seed into host and port text (default 7946). */
static int
cp_seed_split(const char *seed, char *host, size_t cap, char *port,
	      size_t pcap)
{
	const char *colon = strrchr(seed, ':');
	size_t hl;

	if (seed[0] == '[') {
		const char *rb = strchr(seed, ']');

		if (rb == NULL)
			return -EINVAL;
		hl = (size_t)(rb - seed - 1);
		seed++;
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		hl = colon != NULL ? (size_t)(colon - seed) : strlen(seed);
	}
	if (hl == 0 || hl >= cap)
		return -EINVAL;
	memcpy(host, seed, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon != NULL ? colon + 1 : "7946");
	return 0;
}

/* Append the addresses one seed resolves to (deduplicated). */
static unsigned
cp_seed_resolve(const char *seed, int family, struct swim_addr *out,
		unsigned nb, unsigned cap)
{
	struct addrinfo hints, *res = NULL;
	char host[CP_SEED_LEN], port[8];

	if (cp_seed_split(seed, host, sizeof(host), port, sizeof(port)) != 0)
		return nb;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return nb;
	for (struct addrinfo *ai = res; ai != NULL && nb < cap;
	     ai = ai->ai_next) {
		struct swim_addr a;
		bool dup = false;

		memset(&a, 0, sizeof(a));
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)ai->ai_addr;

			a.ip_len = 4;
			memcpy(a.ip, &s->sin_addr, 4);
			a.port = ntohs(s->sin_port);
		} else {
			const struct sockaddr_in6 *s =
				(const void *)ai->ai_addr;

			a.ip_len = 16;
			memcpy(a.ip, &s->sin6_addr, 16);
			a.port = ntohs(s->sin6_port);
		}
		for (unsigned j = 0; j < nb && !dup; j++)
			dup = memcmp(&out[j], &a, sizeof(a)) == 0;
		if (!dup)
			out[nb++] = a;
	}
	freeaddrinfo(res);
	return nb;
}

unsigned
cp_cfg_resolve_seeds(const char (*seeds)[CP_SEED_LEN], unsigned nb,
		     const struct swim_addr *bind, struct swim_addr *out,
		     unsigned cap, char *err, size_t errlen)
{
	int family = bind->ip_len == 16 ? AF_INET6 : AF_INET;
	unsigned n = 0;

	if (errlen > 0)
		err[0] = '\0';
	for (unsigned i = 0; i < nb && n < cap; i++) {
		unsigned before = n;

		n = cp_seed_resolve(seeds[i], family, out, n, cap);
		if (n == before && errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "cannot resolve \"%s\" to an "
				 "IPv%d address", seeds[i],
				 family == AF_INET ? 4 : 6);
	}
	return n;
}
