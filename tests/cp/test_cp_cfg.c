/* SPDX-License-Identifier: MIT */
/*
 * gossipd's command line (control/cp_cfg.c): defaults, every flag, the
 * advertise rule, Go durations, addresses, tag meta bytes, and every error
 * path with its exact return code and message.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "cp_cfg.h"
#include "serf.h"

/* Parse a NULL-terminated argv over the defaults. */
static int
parse(struct cp_cfg *cfg, char *err, const char **args)
{
	char *argv[128] = {"gossipd"};
	int argc = 1;

	while (args[argc - 1] != NULL)
		argv[argc] = (char *)args[argc - 1], argc++;
	cp_cfg_default(cfg);
	err[0] = '\0';
	return cp_cfg_parse(cfg, argc, argv, err, 256);
}

#define PARSE(...) parse(&cfg, err, (const char *[]){__VA_ARGS__, NULL})

static struct cp_cfg cfg;
static char err[256];

Test(cp_cfg, defaults_are_serfs)
{
	char buf[CP_ADDR_STRLEN];

	cr_assert_eq(parse(&cfg, err, (const char *[]){NULL}), 0);
	cr_assert_str_eq(cp_addr_str(&cfg.bind, buf, sizeof(buf)),
			 "0.0.0.0:7946");
	cr_assert(!cfg.has_advertise, "advertise is found at start");
	cr_assert_str_eq(cp_addr_str(&cfg.rpc_addr, buf, sizeof(buf)),
			 "127.0.0.1:7373");
	cr_assert_str_eq(cfg.profile, "lan");
	cr_assert_str_eq(cfg.dataplane, "socket");
	cr_assert_eq(cfg.retry_interval_us, 30000000u);
	cr_assert_eq(cfg.retry_max, 0);
	cr_assert_eq(cfg.log_level, CP_LOG_INFO);
	cr_assert_neq(cfg.name[0], '\0', "name defaults to the host name");
}

Test(cp_cfg, every_flag)
{
	char buf[CP_ADDR_STRLEN];

	cr_assert_eq(PARSE("--name", "n1", "--bind", "127.0.0.1:17946",
			   "--advertise=127.0.0.2:18000", "--join",
			   "127.0.0.1:1", "--join=127.0.0.1", "--retry-join",
			   "127.0.0.1:3", "--retry-interval", "1m30s",
			   "--retry-max", "7", "--tag", "role=web", "--tag",
			   "dc=", "--rpc-addr", "127.0.0.1:7000", "--profile",
			   "wan", "--dataplane", "dpdk", "--eal",
			   "--no-pci -l 0", "--log-level", "debug"),
		     0, "%s", err);
	cr_assert_str_eq(cfg.name, "n1");
	cr_assert_str_eq(cp_addr_str(&cfg.bind, buf, sizeof(buf)),
			 "127.0.0.1:17946");
	cr_assert_str_eq(cp_addr_str(&cfg.advertise, buf, sizeof(buf)),
			 "127.0.0.2:18000");
	cr_assert_eq(cfg.nb_join, 2);
	cr_assert_eq(cfg.join[0].port, 1);
	cr_assert_eq(cfg.join[1].port, 7946, "port defaults to 7946");
	cr_assert_eq(cfg.nb_retry_join, 1);
	cr_assert_eq(cfg.retry_interval_us, 90000000u);
	cr_assert_eq(cfg.retry_max, 7);
	cr_assert_eq(cfg.nb_tags, 2);
	cr_assert_str_eq(cfg.tags[0].key, "role");
	cr_assert_str_eq(cfg.tags[0].value, "web");
	cr_assert_str_eq(cfg.tags[1].key, "dc");
	cr_assert_str_eq(cfg.tags[1].value, "");
	cr_assert_eq(cfg.rpc_addr.port, 7000);
	cr_assert_str_eq(cfg.profile, "wan");
	cr_assert_str_eq(cfg.dataplane, "dpdk");
	cr_assert_str_eq(cfg.eal, "--no-pci -l 0");
	cr_assert_eq(cfg.log_level, CP_LOG_DEBUG);
}

Test(cp_cfg, repeated_tag_replaces)
{
	cr_assert_eq(PARSE("--tag", "a=1", "--tag", "b=2", "--tag", "a=3"), 0);
	cr_assert_eq(cfg.nb_tags, 2);
	cr_assert_str_eq(cfg.tags[0].value, "3");
}

Test(cp_cfg, help_and_version)
{
	cr_assert_eq(PARSE("--help"), CP_CFG_HELP);
	cr_assert_eq(PARSE("-h"), CP_CFG_HELP);
	cr_assert_eq(PARSE("--version"), CP_CFG_VERSION);
	cr_assert_eq(PARSE("--bind", "x", "--version"), CP_CFG_VERSION,
		     "asked for first: nothing else is looked at");
}

Test(cp_cfg, errors_name_the_problem)
{
	cr_assert_eq(PARSE("--bogus", "x"), -EINVAL);
	cr_assert_str_eq(err, "unknown flag \"--bogus\"");
	cr_assert_eq(PARSE("stray"), -EINVAL);
	cr_assert_str_eq(err, "unexpected argument \"stray\"");
	cr_assert_eq(PARSE("--name"), -EINVAL);
	cr_assert_str_eq(err, "flag --name needs a value (a non-empty name "
			      "of at most 128 bytes)");
	cr_assert_eq(PARSE("--bind", "1.2.3:80"), -EINVAL);
	cr_assert_str_eq(err, "invalid --bind \"1.2.3:80\": want IP:PORT");
	cr_assert_eq(PARSE("--bind", "127.0.0.1:0"), -EINVAL);
	cr_assert_eq(PARSE("--bind", "127.0.0.1:65536"), -EINVAL);
	cr_assert_eq(PARSE("--advertise", "127.0.0.1"), -EINVAL,
		     "advertise needs a port");
	cr_assert_eq(PARSE("--join", "host:x"), -EINVAL);
	cr_assert_str_eq(err, "invalid --join \"host:x\": want IP[:PORT] or "
			      "HOSTNAME[:PORT]");
	cr_assert_eq(PARSE("--retry-interval", "30"), -EINVAL);
	cr_assert_str_eq(err, "invalid --retry-interval \"30\": want a "
			      "duration such as 30s or 1m");
	cr_assert_eq(PARSE("--retry-max", "-1"), -EINVAL);
	cr_assert_eq(PARSE("--tag", "novalue"), -EINVAL);
	cr_assert_eq(PARSE("--tag", "=v"), -EINVAL);
	cr_assert_eq(PARSE("--profile", "fast"), -EINVAL);
	cr_assert_str_eq(err, "invalid --profile \"fast\": want lan, wan or "
			      "local");
	cr_assert_eq(PARSE("--dataplane", "xdp"), -EINVAL);
	cr_assert_eq(PARSE("--log-level", "loud"), -EINVAL);
	cr_assert_eq(PARSE("--name", ""), -EINVAL);
}

Test(cp_cfg, too_many_seeds_and_tags)
{
	const char *args[2 * (CP_SEEDS_MAX + CP_TAGS_MAX + 2) + 1];
	char tags[CP_TAGS_MAX + 1][16];

	for (int i = 0; i <= CP_SEEDS_MAX; i++) {
		args[2 * i] = "--join";
		args[2 * i + 1] = "127.0.0.1:1";
	}
	args[2 * (CP_SEEDS_MAX + 1)] = NULL;
	cr_assert_eq(parse(&cfg, err, args), -EINVAL);
	for (int i = 0; i <= CP_TAGS_MAX; i++) {
		snprintf(tags[i], sizeof(tags[i]), "k%d=v", i);
		args[2 * i] = "--tag";
		args[2 * i + 1] = tags[i];
	}
	args[2 * (CP_TAGS_MAX + 1)] = NULL;
	cr_assert_eq(parse(&cfg, err, args), -EINVAL);
}

Test(cp_cfg, tags_over_meta_limit)
{
	static char big[3][300];

	for (int i = 0; i < 3; i++) {
		snprintf(big[i], sizeof(big[i]), "k%d=", i);
		memset(big[i] + 3, 'x', 200);
	}
	cr_assert_eq(PARSE("--tag", big[0], "--tag", big[1], "--tag",
			   big[2]),
		     -EINVAL);
	cr_assert_str_eq(err, "tags take more than 512 bytes of node meta");
}

Test(cp_addr, parse_and_format)
{
	struct swim_addr a;
	char buf[CP_ADDR_STRLEN];

	cr_assert_eq(cp_addr_parse("[::1]:7946", 0, &a), 0);
	cr_assert_eq(a.ip_len, 16);
	cr_assert_str_eq(cp_addr_str(&a, buf, sizeof(buf)), "[::1]:7946");
	cr_assert_eq(cp_addr_parse("10.1.2.3", 99, &a), 0);
	cr_assert_eq(a.port, 99);
	cr_assert_str_eq(cp_ip_str(&a, buf, sizeof(buf)), "10.1.2.3");
	cr_assert_eq(cp_addr_parse("10.1.2.3", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse("::1:7946", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse("[::1", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse("[::1]x", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse(":80", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse("1.2.3.4:+80", 0, &a), -EINVAL);
	cr_assert_eq(cp_addr_parse(NULL, 0, &a), -EINVAL);
}

Test(cp_duration, go_syntax)
{
	uint64_t us;

	cr_assert_eq(cp_duration_parse("30s", &us), 0);
	cr_assert_eq(us, 30000000u);
	cr_assert_eq(cp_duration_parse("1m30s", &us), 0);
	cr_assert_eq(us, 90000000u);
	cr_assert_eq(cp_duration_parse("500ms", &us), 0);
	cr_assert_eq(us, 500000u);
	cr_assert_eq(cp_duration_parse("1.5h", &us), 0);
	cr_assert_eq(us, 5400000000u);
	cr_assert_eq(cp_duration_parse("250us", &us), 0);
	cr_assert_eq(us, 250u);
	cr_assert_eq(cp_duration_parse("0", &us), 0);
	cr_assert_eq(us, 0u);
	cr_assert_eq(cp_duration_parse("", &us), -EINVAL);
	cr_assert_eq(cp_duration_parse("5", &us), -EINVAL);
	cr_assert_eq(cp_duration_parse("5x", &us), -EINVAL);
	cr_assert_eq(cp_duration_parse("-5s", &us), -EINVAL);
	cr_assert_eq(cp_duration_parse("s", &us), -EINVAL);
	cr_assert_eq(cp_duration_parse("99999999999h", &us), -EINVAL);
}

Test(cp_tags, meta_bytes_match_serf)
{
	/* memberlist-wire.md §5.6: role=web is ff 81 a4 role a3 web */
	static const uint8_t want[] = {0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e',
				       0xa3, 'w', 'e', 'b'};
	struct cp_tag t = {"role", "web"};
	uint8_t out[64];

	cr_assert_eq(cp_tags_encode(&t, 1, out, sizeof(out)), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert_eq(cp_tags_encode(NULL, 0, out, sizeof(out)), 2);
	cr_assert_eq(out[1], 0x80, "empty map");
	cr_assert_eq(cp_tags_encode(&t, 1, out, 10), -E2BIG);
}

Test(cp_tags, long_values_use_str16)
{
	struct cp_tag t;
	uint8_t out[128];

	memset(&t, 0, sizeof(t));
	strcpy(t.key, "k");
	memset(t.value, 'v', 32);
	cr_assert_eq(cp_tags_encode(&t, 1, out, sizeof(out)), 2 + 2 + 3 + 32);
	cr_assert_eq(out[4], 0xda, "32 bytes is str16, never str8");
}

Test(cp_log, levels)
{
	enum cp_log_level l;

	cr_assert_eq(cp_log_level_parse("debug", &l), 0);
	cr_assert_eq(l, CP_LOG_DEBUG);
	cr_assert_eq(cp_log_level_parse("WARN", &l), 0);
	cr_assert_eq(l, CP_LOG_WARN);
	cr_assert_eq(cp_log_level_parse("error", &l), 0);
	cr_assert_eq(l, CP_LOG_ERR);
	cr_assert_eq(cp_log_level_parse("nope", &l), -EINVAL);
	cp_log_set_level(CP_LOG_WARN);
	cr_assert(!cp_log_enabled(CP_LOG_INFO));
	cr_assert(cp_log_enabled(CP_LOG_ERR));
	cp_log_set_level(CP_LOG_INFO);
}

Test(cp_cfg, serf_spellings_and_booleans)
{
	cr_assert_eq(PARSE("-node", "n2", "-rejoin", "--leave-on-terminate=false",
			   "--skip-leave-on-interrupt=1"), 0, "%s", err);
	cr_assert_str_eq(cfg.name, "n2", "single dash and -node, as serf");
	cr_assert(cfg.rejoin_after_leave, "a bare boolean flag is true");
	cr_assert_not(cfg.leave_on_terminate);
	cr_assert(cfg.skip_leave_on_interrupt);
	cr_assert_eq(PARSE("--rejoin=maybe"), -EINVAL);
	cr_assert_str_eq(err, "invalid --rejoin \"maybe\": want true or false");
}

Test(cp_cfg, dns_seeds_kept_as_text)
{
	cr_assert_eq(PARSE("--join", "seed.example", "--join", "127.0.0.1:5",
			   "--retry-join", "other-seed:7000", "--join",
			   "[::1]:7946"), 0, "%s", err);
	cr_assert_eq(cfg.nb_join_seeds, 3);
	cr_assert_eq(cfg.nb_join, 2, "literals are addresses at once");
	cr_assert_str_eq(cfg.join_seeds[0], "seed.example");
	cr_assert_eq(cfg.nb_retry_seeds, 1);
	cr_assert_eq(cfg.nb_retry_join, 0, "names wait for the resolver");
	cr_assert_eq(PARSE("--join", "bad host"), -EINVAL);
	cr_assert_eq(PARSE("--join", "[nothex]:1"), -EINVAL);
	cr_assert_eq(PARSE("--join", "a:b:c"), -EINVAL);
	cr_assert_eq(PARSE("--join", "host:0"), -EINVAL);
}

Test(cp_cfg, telemetry_and_limits)
{
	cr_assert_eq(PARSE("--statsd-addr", "stats.example:8125",
			   "--metrics-addr", "127.0.0.1:9100",
			   "--query-size-limit", "2048",
			   "--event-handler", "user:deploy=/bin/true"),
		     0, "%s", err);
	cr_assert_str_eq(cfg.statsd_addr, "stats.example:8125");
	cr_assert_str_eq(cfg.metrics_addr, "127.0.0.1:9100");
	cr_assert_eq(cfg.query_size_limit, 2048);
	cr_assert_str_eq(cfg.event_handlers[0], "user:deploy=/bin/true");
	cr_assert_eq(PARSE("--statsd-addr", "stats"), -EINVAL);
	cr_assert_str_eq(err, "invalid --statsd-addr \"stats\": want HOST:PORT");
	cr_assert_eq(PARSE("--metrics-addr", "0.0.0.0"), -EINVAL);
	cr_assert_eq(PARSE("--event-handler", ""), -EINVAL);
	cr_assert_eq(PARSE("--user-event-size-limit", "x"), -EINVAL);
	cr_assert_str_eq(err, "invalid --user-event-size-limit \"x\": want a "
			      "non-negative integer");
}

Test(cp_cfg, serf_knobs_reach_serf_cfg)
{
	struct serf_cfg sc;

	cr_assert_eq(PARSE("--reconnect-interval", "1s", "--tombstone-timeout",
			   "1m", "--user-event-size-limit", "100"), 0);
	serf_cfg_default(&sc);
	cp_cfg_to_serf(&cfg, &sc);
	cr_assert_eq(sc.reconnect_interval_us, 1000000u);
	cr_assert_eq(sc.tombstone_timeout_us, 60000000u);
	cr_assert_eq(sc.user_event_size_limit, 100);
	cr_assert_eq(sc.reconnect_timeout_us, 24ull * 3600 * 1000000,
		     "untouched knobs keep serf's defaults");
}

Test(cp_cfg, syslog_facilities_as_serf)
{
	cr_assert_eq(PARSE("--syslog", "--syslog-facility", "local3"), 0);
	cr_assert(cfg.enable_syslog);
	cr_assert_eq(cp_cfg_syslog_facility(cfg.syslog_facility), LOG_LOCAL3);
	cr_assert_eq(cp_cfg_syslog_facility("DAEMON"), LOG_DAEMON);
	cr_assert_eq(cp_cfg_syslog_facility("LOCAL8"), -1);
	cr_assert_eq(PARSE("--syslog-facility", "LOCAL8"), -EINVAL);
	cr_assert_str_eq(err, "invalid --syslog-facility \"LOCAL8\": want a "
			      "syslog facility (LOCAL0-7, DAEMON, USER, ...)");
}
