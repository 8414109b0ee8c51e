/* SPDX-License-Identifier: MIT */
/*
 * Address and name arithmetic of the virtual members, and their per-member
 * state machine. Pure: no I/O, no clock. Everything is O(1) per lookup so a
 * million members cost nothing but their 8-byte state.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm.h"

int
swarm_map_init(struct swarm_map *m, const char *name_prefix, uint32_t net,
	       unsigned plen, uint32_t n)
{
	size_t len = strlen(name_prefix);
	uint64_t hosts;

	if (plen < 1 || plen > 30 || n == 0 || len > SWARM_NAME_PREFIX_MAX)
		return SWARM_E_RANGE;
	if (plen < 32 && (net & (0xffffffffu >> plen)) != 0)
		return SWARM_E_RANGE;
	/* The network and broadcast addresses are never a member. */
	hosts = (1ull << (32 - plen)) - 2;
	if (n > hosts)
		return SWARM_E_SPACE;
	memset(m, 0, sizeof(*m));
	m->first = net + 1;
	m->n = n;
	memcpy(m->prefix, name_prefix, len);
	m->prefix_len = (uint8_t)len;
	return 0;
}

uint32_t
swarm_map_addr(const struct swarm_map *m, uint32_t i)
{
	return m->first + i;
}

int64_t
swarm_map_addr_index(const struct swarm_map *m, uint32_t addr)
{
	/* Unsigned wrap makes addresses below first huge: one compare. */
	uint32_t i = addr - m->first;

	return i < m->n ? (int64_t)i : -1;
}

int
swarm_map_name(const struct swarm_map *m, uint32_t i, char *out, size_t cap)
{
	char digits[12];
	int nd = snprintf(digits, sizeof(digits), "%u", i);
	size_t len = m->prefix_len + (size_t)nd;

	if (len > cap)
		return SWARM_E_NOSPACE;
	memcpy(out, m->prefix, m->prefix_len);
	memcpy(out + m->prefix_len, digits, (size_t)nd);
	return (int)len;
}

int64_t
swarm_map_name_index(const struct swarm_map *m, const uint8_t *name,
		     size_t len)
{
	uint64_t v = 0;
	size_t nd;

	if (len <= m->prefix_len || memcmp(name, m->prefix, m->prefix_len))
		return -1;
	nd = len - m->prefix_len;
	/* Canonical decimal only: "swarm-01" is somebody else. */
	if (nd > 10 || (nd > 1 && name[m->prefix_len] == '0'))
		return -1;
	for (size_t k = m->prefix_len; k < len; k++) {
		if (name[k] < '0' || name[k] > '9')
			return -1;
		v = v * 10 + (uint64_t)(name[k] - '0');
	}
	return v < m->n ? (int64_t)v : -1;
}

int
swarm_parse_cidr(const char *s, uint32_t *net, unsigned *plen)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	char *end;
	long l;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		return SWARM_E_SYNTAX;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return SWARM_E_SYNTAX;
	l = strtol(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1)
		return SWARM_E_SYNTAX;
	if (l < 1 || l > 30)
		return SWARM_E_RANGE;
	*net = ntohl(a.s_addr);
	*plen = (unsigned)l;
	if ((*net & (0xffffffffu >> *plen)) != 0)
		return SWARM_E_RANGE;
	return 0;
}

int
swarm_parse_ipport(const char *s, uint32_t *ip, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	char *end;
	long l;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return SWARM_E_SYNTAX;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1)
		return SWARM_E_SYNTAX;
	l = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1)
		return SWARM_E_SYNTAX;
	if (l < 1 || l > 65535)
		return SWARM_E_RANGE;
	*ip = ntohl(a.s_addr);
	*port = (uint16_t)l;
	return 0;
}

/* --- per-member state --- */

int
swarm_member_join(struct swarm_member *m)
{
	if (m->state == SWARM_M_IDLE) {
		/* A brand-new node's first alive must carry 1 (§6.5). */
		if (m->incarnation == 0)
			m->incarnation = 1;
	} else if (m->state == SWARM_M_LEFT) {
		m->incarnation++;
	} else {
		return -1;
	}
	m->state = SWARM_M_ALIVE;
	m->flags &= (uint8_t)~(SWARM_MF_SUSPECTED | SWARM_MF_DEAD);
	return 0;
}

int
swarm_member_fail(struct swarm_member *m)
{
	if (m->state != SWARM_M_ALIVE)
		return -1;
	m->state = SWARM_M_FAILED;
	m->flags |= SWARM_MF_INJECTED;
	m->flags &= (uint8_t)~(SWARM_MF_SUSPECTED | SWARM_MF_DEAD);
	return 0;
}

int
swarm_member_recover(struct swarm_member *m)
{
	if (m->state != SWARM_M_FAILED)
		return -1;
	m->state = SWARM_M_ALIVE;
	m->incarnation++;
	m->flags &= (uint8_t)~(SWARM_MF_SUSPECTED | SWARM_MF_DEAD);
	return 0;
}

int
swarm_member_leave(struct swarm_member *m)
{
	if (m->state != SWARM_M_ALIVE)
		return -1;
	m->state = SWARM_M_LEFT;
	return 0;
}

enum swarm_verdict
swarm_member_accused(struct swarm_member *m, bool is_dead, uint32_t inc)
{
	switch (m->state) {
	case SWARM_M_FAILED:
		m->flags |= is_dead ? SWARM_MF_DEAD : SWARM_MF_SUSPECTED;
		return SWARM_V_DETECTED;
	case SWARM_M_ALIVE:
		/* memberlist ignores claims about an older incarnation. */
		if (inc < m->incarnation)
			return SWARM_V_IGNORE;
		m->incarnation = inc + 1;
		if (m->fp < UINT16_MAX)
			m->fp++;
		return SWARM_V_REFUTE;
	default:
		return SWARM_V_IGNORE;
	}
}

enum swarm_verdict
swarm_member_seen_alive(struct swarm_member *m, uint32_t inc)
{
	if (m->state != SWARM_M_ALIVE || inc <= m->incarnation)
		return SWARM_V_IGNORE;
	/* Somebody (an earlier run) announced us higher: jump above it. */
	m->incarnation = inc + 1;
	return SWARM_V_REFUTE;
}
