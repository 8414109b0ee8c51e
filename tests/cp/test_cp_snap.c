/* SPDX-License-Identifier: MIT */
/*
 * serf's snapshot file (control/cp_cfg_snap.c): write, replay, leave with
 * and without rejoin, compaction, serf's own lines; and serf's advertise
 * rule (control/cp_cfg_net.c) over fake interface lists; seeds by DNS.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_cfg.h"
#include "cp_cfg_snap.h"

static char path[128];
static char err[512];

static void
snap_tmp(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/cp_snap.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
}

static void
snap_rm(void)
{
	char c[160];

	unlink(path);
	snprintf(c, sizeof(c), "%s.compact", path);
	unlink(c);
}

TestSuite(cp_snap, .init = snap_tmp, .fini = snap_rm);

static void
write_text(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_text(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(cp_snap, write_then_replay)
{
	struct cp_snap *s = cp_snap_open(path, false, err, sizeof(err));
	const struct cp_snap_node *n;
	unsigned nb;

	cr_assert_not_null(s, "%s", err);
	cp_snap_sweep_begin(s);
	cr_assert_eq(cp_snap_alive(s, "b", "127.0.0.1:2"), 0);
	cr_assert_eq(cp_snap_alive(s, "a", "127.0.0.1:1"), 0);
	cr_assert_eq(cp_snap_sweep_end(s), 0);
	cr_assert_eq(cp_snap_clocks(s, 5, 2, 0), 0);
	/* next sweep: a unchanged (no line), b gone, c new */
	cp_snap_sweep_begin(s);
	cr_assert_eq(cp_snap_alive(s, "a", "127.0.0.1:1"), 0);
	cr_assert_eq(cp_snap_alive(s, "c", "127.0.0.1:3"), 0);
	cr_assert_eq(cp_snap_sweep_end(s), 0);
	cr_assert_eq(cp_snap_clocks(s, 4, 2, 1), 0, "old clocks: no line");
	cp_snap_close(s);
	cr_assert_str_eq(read_text(),
			 "alive: b 127.0.0.1:2\nalive: a 127.0.0.1:1\n"
			 "clock: 5\nevent-clock: 2\nalive: c 127.0.0.1:3\n"
			 "not-alive: b\nquery-clock: 1\n");
	s = cp_snap_open(path, false, err, sizeof(err));
	cr_assert_not_null(s);
	n = cp_snap_nodes(s, &nb);
	cr_assert_eq(nb, 2);
	cr_assert_str_eq(n[0].name, "a");
	cr_assert_str_eq(n[1].name, "c");
	cr_assert_str_eq(n[1].addr, "127.0.0.1:3");
	cr_assert_eq(cp_snap_clock(s), 5);
	cr_assert_eq(cp_snap_event_clock(s), 2);
	cr_assert_eq(cp_snap_query_clock(s), 1);
	cp_snap_close(s);
}

/* What serf itself writes, names with spaces, junk, a cut last line. */
Test(cp_snap, replays_serfs_lines)
{
	struct cp_snap *s;
	const struct cp_snap_node *n;
	unsigned nb;

	write_text("# comment\nalive: s1 127.0.0.1:7946\n"
		   "alive: my node 10.0.0.1:7000\ncoordinate: {\"x\": 1}\n"
		   "clock: 12\nclock: x\nevent-clock: 3\nquery-clock: 4\n"
		   "alive: noaddr\nbogus line\nnot-alive: s1\n"
		   "alive: cut 127.0.0.1:1");
	s = cp_snap_open(path, false, err, sizeof(err));
	cr_assert_not_null(s);
	n = cp_snap_nodes(s, &nb);
	cr_assert_eq(nb, 1);
	cr_assert_str_eq(n[0].name, "my node");
	cr_assert_str_eq(n[0].addr, "10.0.0.1:7000");
	cr_assert_eq(cp_snap_clock(s), 12, "a bad clock line is skipped");
	cr_assert_eq(cp_snap_event_clock(s), 3);
	cr_assert_eq(cp_snap_query_clock(s), 4);
	cp_snap_close(s);
}

Test(cp_snap, leave_forgets_unless_rejoin)
{
	struct cp_snap *s = cp_snap_open(path, false, err, sizeof(err));
	unsigned nb;

	cp_snap_sweep_begin(s);
	cp_snap_alive(s, "a", "127.0.0.1:1");
	cp_snap_sweep_end(s);
	cp_snap_clocks(s, 9, 0, 0);
	cr_assert_eq(cp_snap_leave(s), 0);
	cp_snap_sweep_begin(s);
	cp_snap_alive(s, "b", "127.0.0.1:2");
	cp_snap_sweep_end(s);
	cp_snap_close(s);
	cr_assert_str_eq(read_text(), "alive: a 127.0.0.1:1\nclock: 9\n"
				      "leave\n", "nothing after a leave");
	s = cp_snap_open(path, false, err, sizeof(err));
	cp_snap_nodes(s, &nb);
	cr_assert_eq(nb, 0, "a leave forgets the members");
	cr_assert_eq(cp_snap_clock(s), 0, "and the clocks");
	cp_snap_close(s);
	s = cp_snap_open(path, true, err, sizeof(err));
	cp_snap_nodes(s, &nb);
	cr_assert_eq(nb, 1, "--rejoin ignores the leave");
	cr_assert_eq(cp_snap_clock(s), 9);
	cp_snap_close(s);
}

Test(cp_snap, compacts_when_it_grows)
{
	struct cp_snap *s = cp_snap_open(path, false, err, sizeof(err));
	char addr[32];
	unsigned nb;

	/* Flapping one member writes forever; the file must not. */
	for (int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 1000 + i % 2);
		cp_snap_sweep_begin(s);
		cr_assert_eq(cp_snap_alive(s, "flap", addr), 0);
		cr_assert_eq(cp_snap_sweep_end(s), 0);
	}
	cr_assert_lt(cp_snap_size(s), 128 * 1024 + 64);
	cp_snap_clocks(s, 77, 0, 0);
	cp_snap_close(s);
	s = cp_snap_open(path, false, err, sizeof(err));
	cp_snap_nodes(s, &nb);
	cr_assert_eq(nb, 1);
	cr_assert_eq(cp_snap_clock(s), 77);
	cp_snap_close(s);
}

Test(cp_snap, open_errors)
{
	cr_assert_null(cp_snap_open("/nonexistent/dir/s", false, err,
				    sizeof(err)));
	cr_assert_str_eq(err, "failed to open snapshot /nonexistent/dir/s: No "
			      "such file or directory");
}

/* --- serf's advertise rule over fake interface lists --- */

static struct cp_cfg cfg;

static int
advertise(const char *bind, const char *adv, const struct cp_iface *ifs,
	  unsigned nb)
{
	char *argv[5] = {"gossipd", "--bind", (char *)bind, "--advertise",
			 (char *)adv};

	cp_cfg_default(&cfg);
	cr_assert_eq(cp_cfg_parse(&cfg, adv != NULL ? 5 : 3, argv, err,
				  sizeof(err)), 0);
	err[0] = '\0';
	return cp_cfg_advertise_from(&cfg, ifs, nb, err, sizeof(err));
}

static const char *
adv_str(void)
{
	static char buf[CP_ADDR_STRLEN];

	return cp_addr_str(&cfg.advertise, buf, sizeof(buf));
}

Test(cp_advertise, serfs_rule)
{
	const struct cp_iface lo = {"lo", {127, 0, 0, 1}, true, true};
	const struct cp_iface pub = {"eth0", {8, 8, 8, 8}, true, false};
	const struct cp_iface down = {"eth1", {10, 0, 0, 9}, false, false};
	const struct cp_iface priv = {"eth2", {192, 168, 1, 5}, true, false};
	const struct cp_iface cgn = {"eth3", {100, 64, 0, 1}, true, false};
	const struct cp_iface bench = {"veth", {198, 18, 0, 1}, true, false};
	const struct cp_iface notpriv = {"eth4", {172, 32, 0, 1}, true, false};
	struct cp_iface list[4];

	cr_assert_eq(advertise("127.0.0.5:9000", NULL, NULL, 0), 0);
	cr_assert_str_eq(adv_str(), "127.0.0.5:9000", "a bind IP as is");
	cr_assert_eq(advertise("0.0.0.0:9000", "10.1.1.1:80", NULL, 0), 0);
	cr_assert_str_eq(adv_str(), "10.1.1.1:80", "explicit wins");
	list[0] = lo, list[1] = pub, list[2] = down, list[3] = priv;
	cr_assert_eq(advertise("0.0.0.0:9000", NULL, list, 4), 0);
	cr_assert_str_eq(adv_str(), "192.168.1.5:9000",
			 "first private IPv4 of an up interface");
	list[3] = cgn;
	cr_assert_eq(advertise("0.0.0.0", NULL, list, 4), 0);
	cr_assert_str_eq(adv_str(), "100.64.0.1:7946");
	list[3] = bench;
	cr_assert_eq(advertise("0.0.0.0", NULL, list, 4), 0);
	cr_assert_str_eq(adv_str(), "198.18.0.1:7946");
	cr_assert_eq(advertise("0.0.0.0", NULL, &lo, 1), 0);
	cr_assert_str_eq(adv_str(), "127.0.0.1:7946", "a loopback-only host");
	list[3] = notpriv;
	cr_assert_eq(advertise("0.0.0.0", NULL, list, 4), -EINVAL,
		     "public only: never a silent 127.0.0.1");
	cr_assert_str_eq(err, "no private IPv4 address found on an up "
			      "interface to advertise while binding a "
			      "wildcard address: pass --advertise IP:PORT (or "
			      "--bind IP:PORT)");
	cr_assert_eq(advertise("[::]:7946", NULL, list, 4), -EINVAL);
}

Test(cp_advertise, real_interfaces_never_fail_silently)
{
	cp_cfg_default(&cfg);
	if (cp_cfg_advertise(&cfg, err, sizeof(err)) == 0)
		cr_assert_eq(cfg.advertise.ip_len, 4);
	else
		cr_assert_not_null(strstr(err, "--advertise"), "%s", err);
}

/* --- seeds by DNS --- */

Test(cp_seeds, resolve_names_and_literals)
{
	char seeds[3][CP_SEED_LEN] = {"localhost:7001", "127.0.0.2",
				      "no-such-host.invalid:1"};
	struct swim_addr bind = {.ip_len = 4}, out[CP_SEEDS_MAX];
	char buf[CP_ADDR_STRLEN];
	unsigned n;

	n = cp_cfg_resolve_seeds((const char (*)[CP_SEED_LEN])seeds, 3, &bind,
				 out, CP_SEEDS_MAX, err, sizeof(err));
	cr_assert_eq(n, 2, "localhost once (IPv4 only), the literal");
	cr_assert_str_eq(cp_addr_str(&out[0], buf, sizeof(buf)),
			 "127.0.0.1:7001");
	cr_assert_str_eq(cp_addr_str(&out[1], buf, sizeof(buf)),
			 "127.0.0.2:7946");
	cr_assert_str_eq(err, "cannot resolve \"no-such-host.invalid:1\" to an "
			      "IPv4 address");
}
