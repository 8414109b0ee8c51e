/* SPDX-License-Identifier: MIT */
/*
 * dp_exc: the exception interface's kernel side, for real, in a network
 * namespace of the test's own (unshare(CLONE_NEWNET) in each test's
 * forked process: nothing reaches the machine's namespace). Taps come
 * from /dev/net/tun and die with the process. Rules are checked with
 * `ip rule` (iproute2). Skipped without root, netns or /dev/net/tun.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dp_exc.h"
#include "dp_exc_test.h"

#define IP_NODE 0xc6120001u	/* 198.18.0.1 */

/* A tap named name (down, no address); its fd keeps it. */
static int
make_tap(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF %s", name);
	return fd;
}

static int
read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f != NULL) {
		if (fscanf(f, "%i", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int
conf(const char *ifname, const char *knob)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", ifname,
		 knob);
	return read_int(path);
}

static bool
is_up(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0, "%s", ifname);
	close(fd);
	return (ifr.ifr_flags & IFF_UP) != 0;
}

Test(dp_exc, setup_configures_tap_wire_and_rules_teardown_undoes)
{
	struct dp_exc x;
	char err[256] = "";
	char on[IF_NAMESIZE] = "";

	dp_exc_test_own_netns();
	(void)make_tap("exct0");
	(void)make_tap("excw0");
	cr_assert_eq(dp_exc_setup(&x, "exct0", "excw0", IP_NODE, err,
				  sizeof(err)), 0, "%s", err);
	cr_assert(dp_exc_ip_is_local(IP_NODE, on, sizeof(on)));
	cr_assert_str_eq(on, "exct0");
	cr_assert_eq(conf("exct0", "arp_ignore"), 1);
	cr_assert_eq(conf("exct0", "arp_announce"), 2);
	cr_assert_eq(conf("excw0", "arp_ignore"), 8);
	cr_assert(is_up("exct0") && is_up("excw0"));
	cr_assert_eq(dp_exc_test_rules_with("from 198.18.0.1 lookup"), 1);
	cr_assert_eq(dp_exc_test_rules_with("iif excw0 blackhole"), 1);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 1);
	cr_assert_eq(x.table, dp_exc_table(IP_NODE));

	dp_exc_teardown(&x);
	cr_assert_not(dp_exc_ip_is_local(IP_NODE, NULL, 0));
	cr_assert_eq(dp_exc_test_rules_with("from 198.18.0.1 lookup"), 0);
	cr_assert_eq(dp_exc_test_rules_with("blackhole"), 0);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 0);
	cr_assert_eq(conf("excw0", "arp_ignore"), 0, "restored");
	cr_assert_not(is_up("excw0"), "down again, as it was");
	dp_exc_teardown(&x);	/* twice: nothing left to do */
}

Test(dp_exc, rules_of_a_killed_run_are_taken_over)
{
	struct dp_exc x, killed;
	char err[256] = "";

	dp_exc_test_own_netns();
	(void)make_tap("exct0");
	cr_assert_eq(dp_exc_setup(&killed, "exct0", NULL, IP_NODE, err,
				  sizeof(err)), 0, "%s", err);
	/* forget it, as SIGKILL would: the rules stay */
	cr_assert_eq(dp_exc_setup(&x, "exct0", "", IP_NODE, err,
				  sizeof(err)), 0, "%s", err);
	cr_assert(x.rule_from && x.rule_fallback && !x.rule_wire);
	cr_assert_eq(dp_exc_test_rules_with("from 198.18.0.1 lookup"), 1);
	dp_exc_teardown(&x);
	cr_assert_eq(dp_exc_test_rules_with("from 198.18.0.1 lookup"), 0);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 0);
}

Test(dp_exc, no_such_tap_is_enodev)
{
	struct dp_exc x;
	char err[256] = "";

	dp_exc_test_own_netns();
	cr_assert_eq(dp_exc_setup(&x, "nosuch0", NULL, IP_NODE, err,
				  sizeof(err)), -ENODEV);
	cr_assert_str_eq(err, "exception interface nosuch0: No such device");
	cr_assert_not(x.is_set);
}

Test(dp_exc, no_such_wire_fails_and_undoes_the_tap)
{
	struct dp_exc x;
	char err[256] = "";

	dp_exc_test_own_netns();
	(void)make_tap("exct0");
	cr_assert_eq(dp_exc_setup(&x, "exct0", "nosuchw", IP_NODE, err,
				  sizeof(err)), -ENOENT);
	cr_assert_str_eq(err,
			 "port interface nosuchw: No such file or directory");
	cr_assert_not(x.is_set);
	cr_assert_not(dp_exc_ip_is_local(IP_NODE, NULL, 0));
	cr_assert_eq(dp_exc_test_rules_with("198.18.0.1"), 0);
	cr_assert_eq(dp_exc_test_rules_with("32800:"), 0);
}

/* Drop CAP_NET_ADMIN from this (forked) test process's effective set. */
static void
drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	cr_assert_eq(syscall(SYS_capget, &hdr, d), 0);
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	cr_assert_eq(syscall(SYS_capset, &hdr, d), 0);
}

Test(dp_exc, without_cap_net_admin_is_eperm_and_says_so)
{
	struct dp_exc x;
	char err[512] = "";

	dp_exc_test_own_netns();
	(void)make_tap("exct0");
	drop_net_admin();
	cr_assert_eq(dp_exc_cap_check("gd0", err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, "creating the exception interface gd0 needs CAP_NET_ADMIN") == err,
		  "%s", err);
	err[0] = '\0';
	cr_assert_eq(dp_exc_setup(&x, "exct0", NULL, IP_NODE, err,
				  sizeof(err)), -EPERM);
	cr_assert(strstr(err, "exct0 needs CAP_NET_ADMIN") != NULL, "%s", err);
	cr_assert_not(dp_exc_ip_is_local(IP_NODE, NULL, 0));
}

Test(dp_exc, pick_name_skips_taken_ones)
{
	char name[IF_NAMESIZE];

	dp_exc_test_own_netns();
	cr_assert_eq(dp_exc_pick_name(name, sizeof(name)), 0);
	cr_assert_str_eq(name, "gd0");
	(void)make_tap("gd0");
	(void)make_tap("gd1");
	cr_assert_eq(dp_exc_pick_name(name, sizeof(name)), 0);
	cr_assert_str_eq(name, "gd2");
}

Test(dp_exc, table_is_stable_and_clear_of_the_kernels)
{
	uint32_t t = dp_exc_table(IP_NODE);

	cr_assert_eq(t, dp_exc_table(IP_NODE));
	cr_assert_neq(t, dp_exc_table(IP_NODE + 1));
	cr_assert_geq(t, 0x40000000u);
	cr_assert_lt(t, 0x80000000u);
	cr_assert_geq(dp_exc_table(0), 0x40000000u);
	cr_assert_lt(dp_exc_table(0xffffffffu), 0x80000000u);
}
