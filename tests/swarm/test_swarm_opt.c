/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's command line: every flag in GNU long form, defaults, and
 * each kind of bad input giving exit 2 with one line naming the problem.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "swarm.h"

#define ARGV(...) ((char *[]){ "gossip-swarm", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "gossip-swarm", __VA_ARGS__ }) / \
			 sizeof(char *)))

static int
parse(struct swarm_cfg *cfg, int argc, char **argv, char *err)
{
	bool done;

	swarm_cfg_default(cfg);
	err[0] = '\0';
	return swarm_cfg_parse(cfg, argc, argv, err, 256, &done);
}

#define PARSE(cfg, err, ...) \
	parse(cfg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err)

Test(swarm_opt, defaults)
{
	struct swarm_cfg c;
	char err[256];

	cr_assert_eq(PARSE(&c, err, "--join", "127.0.0.1:7946"), 0);
	cr_assert_eq(c.members, 1000);
	cr_assert_eq(c.port, 7950);
	cr_assert_eq(c.net, 0x7f400000u);
	cr_assert_eq(c.plen, 10);
	cr_assert_eq(c.timing.probe_interval_ms, 1000);
	cr_assert_eq(c.dataplane, SWARM_DP_SOCKET);
	cr_assert_float_eq(c.probe_mult, 1.0, 0);
}

Test(swarm_opt, every_flag)
{
	struct swarm_cfg c;
	char err[256];

	cr_assert_eq(PARSE(&c, err, "--members", "1000000", "--join",
			   "127.0.0.1:7946", "--join=127.0.0.1:7947",
			   "--prefix", "127.128.0.0/10", "--port", "21950",
			   "--dataplane", "dpdk", "--eal", "--no-pci",
			   "--churn", "5", "--fail", "100@30", "--fail", "1@2.5",
			   "--flap", "--loss", "0.1", "--probe-rate-mult", "100",
			   "--encrypt", "a2V5", "--tag", "role=web", "--tag",
			   "dc=x", "--profile", "wan", "--duration", "60",
			   "--json", "/tmp/x.json", "--no-leave",
			   "--name-prefix", "vm-", "--join-batch", "500",
			   "--join-rate", "2000", "--leave-rate", "100",
			   "--udp-sockets", "2", "--seed", "7"), 0, "%s", err);
	cr_assert_eq(c.members, 1000000);
	cr_assert_eq(c.nb_join, 2);
	cr_assert_eq(c.join_port[1], 7947);
	cr_assert_eq(c.net, 0x7f800000u);
	cr_assert_eq(c.dataplane, SWARM_DP_DPDK);
	cr_assert_str_eq(c.eal, "--no-pci");
	cr_assert_eq(c.nb_fail, 2);
	cr_assert_eq(c.fail[1].at_ms, 2500);
	cr_assert_float_eq(c.flap_s, 10, 0);
	cr_assert_float_eq(c.loss, 0.1, 1e-12);
	cr_assert_eq(c.nb_tags, 2);
	cr_assert_eq(c.timing.probe_interval_ms, 5000);
	cr_assert(c.no_leave);
	cr_assert_eq(c.join_batch, 500);
	cr_assert_eq(c.udp_sockets, 2);
	cr_assert_eq(c.seed, 7);
	cr_assert_eq(PARSE(&c, err, "--join", "127.0.0.1:1", "--flap=3.5"), 0);
	cr_assert_float_eq(c.flap_s, 3.5, 0);
}

struct bad_case {
	const char *a, *b;
	const char *needle;
};

Test(swarm_opt, bad_flags_exit_2)
{
	static const struct bad_case cases[] = {
		{ "--members", "0", "--members" },
		{ "--members", "1000001", "out of range" },
		{ "--members", "1e3x", "malformed" },
		{ "--members", "1.5", "malformed" },
		{ "--port", "70000", "--port" },
		{ "--prefix", "127.64.0.1/10", "--prefix" },
		{ "--prefix", "127.64.0.0/30", "does not fit" },
		{ "--dataplane", "xdp", "--dataplane" },
		{ "--loss", "1.5", "--loss" },
		{ "--loss", "-0.1", "--loss" },
		{ "--fail", "10", "--fail" },
		{ "--fail", "2000@1", "2000 failures" },
		{ "--profile", "lan2", "--profile" },
		{ "--tag", "novalue", "--tag" },
		{ "--tag", "=v", "--tag" },
		{ "--probe-rate-mult", "0", "--probe-rate-mult" },
		{ "--flap=0", "--seed", "--flap" },
		{ "--bogus", "1", "unknown option '--bogus'" },
		{ "--eal", "x", "--eal needs --dataplane dpdk" },
		{ "--keyring-file", "f", NULL },
		{ "stray", NULL, "unexpected argument 'stray'" },
	};
	struct swarm_cfg c;
	char err[256];

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *argv[] = { "gossip-swarm", "--join", "127.0.0.1:7946",
				 "--encrypt", "a2V5", (char *)cases[k].a,
				 (char *)cases[k].b, NULL };
		int argc = cases[k].b == NULL ? 6 : 7;
		bool done;

		/* Only the keyring case keeps --encrypt (they exclude). */
		if (cases[k].needle != NULL) {
			argv[3] = (char *)cases[k].a;
			argv[4] = (char *)cases[k].b;
			argc -= 2;
			argv[argc] = NULL;
		}
		swarm_cfg_default(&c);
		cr_assert_eq(swarm_cfg_parse(&c, argc, argv, err, sizeof(err),
					     &done), SWARM_EXIT_USAGE,
			     "case %zu", k);
		cr_assert_not(done);
		if (cases[k].needle != NULL)
			cr_assert(strstr(err, cases[k].needle) != NULL,
				  "case %zu: '%s'", k, err);
		else
			cr_assert(strstr(err, "exclude") != NULL, "%s", err);
		cr_assert_null(strchr(err, '\n'), "one line");
	}
}

Test(swarm_opt, join_required_and_limits)
{
	struct swarm_cfg c;
	char err[256];

	cr_assert_eq(PARSE(&c, err, "--members", "10"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "--join") != NULL);
	cr_assert_eq(PARSE(&c, err, "--join", "127.0.0.1"), SWARM_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, err, "--join", "1:1", "--join", "1:1", "--join",
			   "1:1", "--join", "1:1", "--join", "1:1", "--join",
			   "1:1", "--join", "1:1", "--join", "1:1", "--join",
			   "1:1"), SWARM_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, err, "--join", "127.0.0.1:1", "--members"),
		     SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "missing value") != NULL, "%s", err);
}

/* The DPDK line-rate mode: --join optional, --eal required; --flood and
 * --flood-name together, a flood joins nothing (either backend). */
Test(swarm_opt, dpdk_flood)
{
	struct swarm_cfg c;
	char err[256];

	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "--no-pci",
			   "--flood", "198.18.0.1:7950", "--flood-name",
			   "swarm-", "--flood-members", "100000",
			   "--flood-window", "512"), 0, "%s", err);
	cr_assert_eq(c.flood_ip, 0xc6120001u);
	cr_assert_eq(c.flood_port, 7950);
	cr_assert_eq(c.flood_n, 100000);
	cr_assert_eq(c.flood_window, 512);
	cr_assert_str_eq(c.flood_name, "swarm-");
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "x"), 0);
	cr_assert_eq(c.flood_ip, 0);
	cr_assert_eq(c.flood_n, 1);
	cr_assert_eq(c.flood_window, 256);
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "needs --eal") != NULL, "%s", err);
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "x",
			   "--flood", "198.18.0.1:7950"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "go together") != NULL, "%s", err);
	cr_assert_eq(PARSE(&c, err, "--join", "127.0.0.1:1", "--flood",
			   "198.18.0.1:7950", "--flood-name", "n"),
		     SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "--join exclude") != NULL, "%s", err);
	cr_assert_eq(PARSE(&c, err, "--flood", "127.64.0.1:7950",
			   "--flood-name", "swarm-", "--flood-members", "9"), 0,
		     "%s", err);
	cr_assert_eq(c.dataplane, SWARM_DP_SOCKET);
	cr_assert_eq(c.flood_n, 9);
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "x",
			   "--flood", "255.255.255.250:1", "--flood-name", "n",
			   "--flood-members", "10"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "past 255.255.255.255") != NULL, "%s", err);
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "x",
			   "--flood-window", "65537"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "--flood-window") != NULL, "%s", err);
	cr_assert_eq(PARSE(&c, err, "--dataplane", "dpdk", "--eal", "x",
			   "--flood", "nowhere"), SWARM_EXIT_USAGE);
	cr_assert(strstr(err, "--flood") != NULL, "%s", err);
}
