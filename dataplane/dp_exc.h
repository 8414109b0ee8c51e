/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The DPDK dataplane's exception interface, the kernel's side of it: a
 * tap device that holds the node's address so the kernel's TCP serves
 * push/pull and TCP pings, set up and taken down with rtnetlink (plain
 * sockets, no library) and /proc/sys. No DPDK in here: the caller makes
 * the tap (the net_tap PMD) and names it.
 *
 * What dp_exc_setup does, in the node's network namespace:
 *   tap:   the node's address /32, IPv6 off, arp_ignore=1 (answer only
 *          for its own address), arp_announce=2, link up;
 *   table: "default dev <tap> scope link" in a table of its own (the
 *          lcore resolves every peer with ARP, so the kernel treats
 *          every peer as on-link too);
 *   rules: "from <addr> lookup <table>" (replies and bound sockets) and,
 *          after main and default, "lookup <table>" (connects with no
 *          source address when no other route knows the peer);
 *   wire:  when the port is a kernel interface seen through af_packet or
 *          af_xdp, the kernel there must not answer for the node:
 *          "iif <wire> blackhole", arp_ignore=8, IPv6 off (saved and
 *          restored on teardown).
 * The address and the route die with the tap; teardown deletes the rules
 * and restores the wire's sysctls. A node killed with SIGKILL leaves its
 * rules behind; the next start with the same address takes them over.
 *
 * Runs on the control thread during create/destroy. Errors are -errno
 * with one line for a person in err.
 */
#ifndef DP_EXC_H_INCLUDED
#define DP_EXC_H_INCLUDED

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Rule priorities: before main (32766), and after default (32767). */
#define DP_EXC_PREF_WIRE 7940
#define DP_EXC_PREF_FROM 7941
#define DP_EXC_PREF_FALLBACK 32800

/** The wire interface's state before setup: sysctls (-1: not changed)
 * and whether setup brought it up. */
struct dp_exc_saved {
	int arp_ignore;
	int disable_ipv6;
	bool was_down;
};

/** What dp_exc_setup did, so that teardown undoes exactly that. */
struct dp_exc {
	bool is_set;			/* setup ran: teardown has work */
	char tap[IF_NAMESIZE];		/* exception interface */
	char wire[IF_NAMESIZE];		/* port's kernel interface or "" */
	uint32_t ip;			/* node address, host order */
	uint32_t table;			/* routing table of the tap */
	bool rule_from;			/* rules added (or taken over) */
	bool rule_fallback;
	bool rule_wire;
	struct dp_exc_saved saved;	/* the wire's old sysctls */
};

/**
 * May this process configure interfaces (CAP_NET_ADMIN in effect)?
 * @param what  the interface's name, for the message
 * @retval 0, or -EPERM with a message saying what is needed
 */
int dp_exc_cap_check(const char *what, char *err, size_t errlen);

/**
 * Is ip (host order) an address of an interface here already?
 * @param ifname  receives that interface's name (may be NULL)
 * @retval true when it is
 */
bool dp_exc_ip_is_local(uint32_t ip, char *ifname, size_t len);

/**
 * A free interface name "gd<N>", N from 0.
 * @retval 0 or -EEXIST when gd0..gd99 are all taken
 */
int dp_exc_pick_name(char *name, size_t len);

/** The routing table dp_exc_setup uses for ip: stable across restarts. */
uint32_t dp_exc_table(uint32_t ip);

/**
 * Configure tap (and wire, when not NULL or "") for the node's ip.
 * On failure everything done so far is undone.
 * @retval 0, -ENODEV (no such interface), -EPERM, or another -errno
 */
int dp_exc_setup(struct dp_exc *x, const char *tap, const char *wire,
		 uint32_t ip, char *err, size_t errlen);

/** Undo dp_exc_setup (safe on a zeroed or torn-down struct). */
void dp_exc_teardown(struct dp_exc *x);

#endif /* DP_EXC_H_INCLUDED */
