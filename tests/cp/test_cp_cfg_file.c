/* SPDX-License-Identifier: MIT */
/*
 * gossipd's config files (control/cp_cfg_json.c, cp_cfg_opt.c): every
 * serf key, a config file and the same flags giving the same struct,
 * directory order and merging, flags over files, every error line; the
 * help table against the code's defaults; tags files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_cfg.h"
#include "cp_tmpdir.h"

static char dir[64];
static struct cp_cfg cfg, other;
static char err[512];

static void
mkdir_tmp(void)
{
	cp_tmp_make(dir, sizeof(dir), "cp_cfg_file");
}

static void
rm_tmp(void)
{
	cp_tmp_remove(dir);
}

TestSuite(cp_cfg_file, .init = mkdir_tmp, .fini = rm_tmp);

/* Write dir/name with text; return the path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	return cp_tmp_put(dir, name, text);
}

/* Parse argv (NULL-terminated) over fresh defaults into c. */
static int
parse_into(struct cp_cfg *c, const char **args)
{
	char *argv[128] = {"gossipd"};
	int argc = 1;

	while (args[argc - 1] != NULL)
		argv[argc] = (char *)args[argc - 1], argc++;
	cp_cfg_default(c);
	err[0] = '\0';
	return cp_cfg_parse(c, argc, argv, err, sizeof(err));
}

#define PARSE(c, ...) parse_into(c, (const char *[]){__VA_ARGS__, NULL})

/* One file with every key gossipd reads. */
static const char every_key[] =
	"{\"node_name\": \"n1\", \"bind\": \"127.0.0.1:17946\","
	" \"advertise\": \"127.0.0.2:18000\","
	" \"rpc_addr\": \"127.0.0.1:7000\", \"rpc_auth\": \"tok\","
	" \"encrypt_key\": \"cg8StVXbQJ0gPvMd9o7yrg==\","
	" \"keyring_file\": \"/k.json\", \"tags\": {\"role\": \"web\"},"
	" \"event_handlers\": [\"member-join=/h.sh\", \"/all.sh\"],"
	" \"start_join\": [\"127.0.0.1:1\", \"seed.example:7000\"],"
	" \"retry_join\": [\"127.0.0.1:3\"], \"retry_interval\": \"1m30s\","
	" \"retry_max_attempts\": 7, \"snapshot_path\": \"/s.snap\","
	" \"rejoin_after_leave\": true, \"leave_on_terminate\": true,"
	" \"skip_leave_on_interrupt\": true, \"log_level\": \"debug\","
	" \"syslog_facility\": \"LOCAL3\", \"profile\": \"wan\","
	" \"reconnect_interval\": \"10s\", \"reconnect_timeout\": \"1h\","
	" \"tombstone_timeout\": \"2h\", \"broadcast_timeout\": \"3s\","
	" \"query_response_size_limit\": 2048, \"query_size_limit\": 4096,"
	" \"user_event_size_limit\": 1000, \"statsd_addr\": \"stats:8125\","
	" \"dataplane\": \"dpdk\", \"eal\": \"--no-pci -l 0\","
	" \"metrics_addr\": \"127.0.0.1:9100\", \"port\": 1}";

Test(cp_cfg_file, every_key)
{
	char buf[CP_ADDR_STRLEN];

	cr_assert_eq(PARSE(&cfg, "--config-file", put("a.json", every_key)),
		     0, "%s", err);
	cr_assert_str_eq(cfg.name, "n1");
	cr_assert_str_eq(cp_addr_str(&cfg.bind, buf, sizeof(buf)),
			 "127.0.0.1:17946");
	cr_assert(cfg.has_advertise);
	cr_assert_str_eq(cp_addr_str(&cfg.advertise, buf, sizeof(buf)),
			 "127.0.0.2:18000");
	cr_assert_eq(cfg.rpc_addr.port, 7000);
	cr_assert_str_eq(cfg.rpc_auth, "tok");
	cr_assert_str_eq(cfg.encrypt, "cg8StVXbQJ0gPvMd9o7yrg==");
	cr_assert_str_eq(cfg.keyring_file, "/k.json");
	cr_assert_eq(cfg.nb_tags, 1);
	cr_assert_str_eq(cfg.tags[0].key, "role");
	cr_assert_eq(cfg.nb_event_handlers, 2);
	cr_assert_str_eq(cfg.event_handlers[0], "member-join=/h.sh");
	cr_assert_eq(cfg.nb_join_seeds, 2);
	cr_assert_eq(cfg.nb_join, 1, "the name is resolved at start");
	cr_assert_str_eq(cfg.join_seeds[1], "seed.example:7000");
	cr_assert_eq(cfg.nb_retry_join, 1);
	cr_assert_eq(cfg.retry_interval_us, 90000000u);
	cr_assert_eq(cfg.retry_max, 7);
	cr_assert_str_eq(cfg.snapshot_path, "/s.snap");
	cr_assert(cfg.rejoin_after_leave && cfg.leave_on_terminate &&
		  cfg.skip_leave_on_interrupt);
	cr_assert_eq(cfg.log_level, CP_LOG_DEBUG);
	cr_assert_str_eq(cfg.syslog_facility, "LOCAL3");
	cr_assert_str_eq(cfg.profile, "wan");
	cr_assert_eq(cfg.reconnect_interval_us, 10000000u);
	cr_assert_eq(cfg.reconnect_timeout_us, 3600000000u);
	cr_assert_eq(cfg.tombstone_timeout_us, 7200000000u);
	cr_assert_eq(cfg.broadcast_timeout_us, 3000000u);
	cr_assert_eq(cfg.query_response_size_limit, 2048);
	cr_assert_eq(cfg.query_size_limit, 4096);
	cr_assert_eq(cfg.user_event_size_limit, 1000);
	cr_assert_str_eq(cfg.statsd_addr, "stats:8125");
	cr_assert_str_eq(cfg.dataplane, "dpdk");
	cr_assert_str_eq(cfg.eal, "--no-pci -l 0");
	cr_assert_str_eq(cfg.metrics_addr, "127.0.0.1:9100");
	cr_assert_eq(cfg.port_id, 1);
}

/* The same settings as flags give the very same struct. */
Test(cp_cfg_file, file_equals_flags)
{
	cr_assert_eq(PARSE(&cfg, "--config-file", put("a.json", every_key)),
		     0, "%s", err);
	cr_assert_eq(PARSE(&other, "--name", "n1", "--bind",
			   "127.0.0.1:17946", "--advertise", "127.0.0.2:18000",
			   "--rpc-addr", "127.0.0.1:7000", "--rpc-auth", "tok",
			   "--encrypt", "cg8StVXbQJ0gPvMd9o7yrg==",
			   "--keyring-file", "/k.json", "--tag", "role=web",
			   "--event-handler", "member-join=/h.sh",
			   "--event-handler", "/all.sh", "--join",
			   "127.0.0.1:1", "--join", "seed.example:7000",
			   "--retry-join", "127.0.0.1:3", "--retry-interval",
			   "1m30s", "--retry-max", "7", "--snapshot",
			   "/s.snap", "--rejoin", "--leave-on-terminate",
			   "--skip-leave-on-interrupt=true", "--log-level",
			   "debug", "--syslog-facility", "LOCAL3", "--profile",
			   "wan", "--reconnect-interval", "10s",
			   "--reconnect-timeout", "1h", "--tombstone-timeout",
			   "2h", "--broadcast-timeout", "3s",
			   "--query-response-size-limit", "2048",
			   "--query-size-limit", "4096",
			   "--user-event-size-limit", "1000", "--statsd-addr",
			   "stats:8125", "--dataplane", "dpdk", "--eal",
			   "--no-pci -l 0", "--metrics-addr", "127.0.0.1:9100",
			   "--port", "1"),
		     0, "%s", err);
	cr_assert_eq(memcmp(&cfg, &other, sizeof(cfg)), 0,
		     "file and flags differ");
}

Test(cp_cfg_file, flags_override_files_lists_append_tags_merge)
{
	const char *f = put("a.json", "{\"node_name\": \"file\", \"tags\": "
				      "{\"a\": \"1\", \"b\": \"2\"}, "
				      "\"start_join\": [\"127.0.0.1:1\"], "
				      "\"log_level\": \"warn\"}");

	cr_assert_eq(PARSE(&cfg, "--name", "flag", "--tag", "b=3", "--join",
			   "127.0.0.1:2", "--config-file", f),
		     0, "%s", err);
	cr_assert_str_eq(cfg.name, "flag", "a flag beats a file wherever");
	cr_assert_eq(cfg.log_level, CP_LOG_WARN);
	cr_assert_eq(cfg.nb_tags, 2);
	cr_assert_str_eq(cfg.tags[1].value, "3");
	cr_assert_eq(cfg.nb_join, 2);
	cr_assert_eq(cfg.join[0].port, 1, "file seeds first, then flags");
	cr_assert_eq(cfg.join[1].port, 2);
}

Test(cp_cfg_file, dir_in_lexical_order)
{
	char sub[128];

	put("b.json", "{\"node_name\": \"b\", \"retry_join\": [\"10.0.0.2\"]}");
	put("a.json", "{\"node_name\": \"a\", \"retry_join\": [\"10.0.0.1\"]}");
	put("c.txt", "not json, and not read");
	put(".d.json", "{\"bogus\": 1}");
	snprintf(sub, sizeof(sub), "%s/z.json", dir);
	cr_assert_eq(mkdir(sub, 0700), 0, "a directory named *.json: skipped");
	cr_assert_eq(PARSE(&cfg, "--config-dir", dir), 0, "%s", err);
	cr_assert_str_eq(cfg.name, "b", "b.json after a.json");
	cr_assert_eq(cfg.nb_retry_join, 2);
	cr_assert_eq(cfg.retry_join[0].ip[3], 1);
	cr_assert_eq(cfg.retry_join[1].ip[3], 2);
}

/* Each bad file: the exact line, and -EINVAL (main exits 2). */
Test(cp_cfg_file, errors_name_file_and_key)
{
	static const struct {
		const char *text;
		const char *want;	/* after "config file PATH: " */
	} cases[] = {
		{"{\"bogus\": 1}", "unknown key \"bogus\""},
		{"{\"mdns\": {}}", "key \"mdns\" is serf's but gossipd does not "
				    "support it"},
		{"{\"bind\": 5}", "\"bind\" must be a string"},
		{"{\"rejoin_after_leave\": \"yes\"}",
		 "\"rejoin_after_leave\" must be true or false"},
		{"{\"retry_max_attempts\": \"3\"}",
		 "\"retry_max_attempts\" must be an integer"},
		{"{\"retry_max_attempts\": -1}",
		 "invalid \"retry_max_attempts\" \"-1\": want a non-negative "
		 "integer"},
		{"{\"start_join\": \"127.0.0.1\"}",
		 "\"start_join\" must be an array of strings"},
		{"{\"start_join\": [1]}",
		 "\"start_join\" must be an array of strings"},
		{"{\"tags\": [\"a\"]}", "\"tags\" must be an object of strings"},
		{"{\"tags\": {\"a\": 1}}", "\"tags\" must be an object of strings "
					   "(\"a\" is not a string)"},
		{"{\"tags\": {\"\": \"x\"}}",
		 "invalid \"tags\" entry \"\": want KEY=VALUE"},
		{"{\"bind\": \"1.2.3:80\"}",
		 "invalid \"bind\" \"1.2.3:80\": want IP:PORT"},
		{"{\"retry_interval\": \"30\"}", "invalid \"retry_interval\" "
		 "\"30\": want a duration such as 30s or 1m"},
		{"{\"profile\": \"fast\"}",
		 "invalid \"profile\" \"fast\": want lan, wan or local"},
		{"{\"encrypt_key\": \"\"}",
		 "invalid \"encrypt_key\": want a base64 key (serf keygen)"},
		{"{\"rpc_auth\": \"\"}", "invalid \"rpc_auth\": want a "
					 "non-empty token"},
		{"{\"metrics_addr\": \"localhost:9100\"}",
		 "invalid \"metrics_addr\" \"localhost:9100\": want IP:PORT"},
		{"{\"statsd_addr\": \"stats\"}",
		 "invalid \"statsd_addr\" \"stats\": want HOST:PORT"},
		{"[1, 2]", "want a JSON object of config keys"},
		{"{\"bind\": \"127.0.0.1\"", "line 1 column 20: '}' expected "
					     "near end of file"},
		{"{\"a\": 1, \"a\": 2}", "line 1 column 12: duplicate object "
					 "key near '\"a\"'"},
		{"", "line 1 column 0: '[' or '{' expected near end of file"},
	};
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = put("bad.json", cases[i].text);

		cr_assert_eq(PARSE(&cfg, "--config-file", p), -EINVAL,
			     "case %zu", i);
		snprintf(want, sizeof(want), "config file %s: %s", p,
			 cases[i].want);
		cr_assert_str_eq(err, want, "case %zu", i);
	}
}

Test(cp_cfg_file, unreadable_files_and_dirs)
{
	char want[512];
	const char *p;

	cr_assert_eq(PARSE(&cfg, "--config-file", "/nonexistent/g.json"),
		     -EINVAL);
	cr_assert_str_eq(err, "config file /nonexistent/g.json: No such file "
			      "or directory");
	cr_assert_eq(PARSE(&cfg, "--config-file", dir), -EINVAL);
	snprintf(want, sizeof(want), "config file %s: Is a directory", dir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(PARSE(&cfg, "--config-dir", "/nonexistent"), -EINVAL);
	cr_assert_str_eq(err, "config dir /nonexistent: No such file or "
			      "directory");
	p = put("x.json", "{}");
	cr_assert_eq(PARSE(&cfg, "--config-dir", p), -EINVAL);
	snprintf(want, sizeof(want), "config dir %s: Not a directory", p);
	cr_assert_str_eq(err, want);
	cr_assert_eq(PARSE(&cfg, "--config-file"), -EINVAL);
	cr_assert_str_eq(err, "flag --config-file needs a value (a file "
			      "path)");
	/* A bad file in a dir is named by its path. */
	put("y.json", "{\"bogus\": true}");
	cr_assert_eq(PARSE(&cfg, "--config-dir", dir), -EINVAL);
	snprintf(want, sizeof(want), "config file %s/y.json: unknown key "
		 "\"bogus\"", dir);
	cr_assert_str_eq(err, want);
}

Test(cp_cfg_file, secrets_never_echoed)
{
	cr_assert_eq(PARSE(&cfg, "--config-file",
			   put("s.json", "{\"encrypt_key\": \"c2VjcmV0\"}")),
		     -EINVAL);
	cr_assert_null(strstr(err, "c2VjcmV0"), "%s", err);
	cr_assert_eq(PARSE(&cfg, "--rpc-auth", ""), -EINVAL);
	cr_assert_str_eq(err, "invalid --rpc-auth: want a non-empty token");
}

Test(cp_cfg_file, tags_and_tags_file_exclude)
{
	cr_assert_eq(PARSE(&cfg, "--tag", "a=1", "--tags-file", "/t.json"),
		     -EINVAL);
	cr_assert_str_eq(err, "--tag (tags) and --tags-file (tags_file) "
			      "cannot be used together");
}

/* Every default --help shows parses to what cp_cfg_default sets. */
static void
check_def(void *ctx, const char *flag, const char *key, const char *def)
{
	static struct cp_cfg d;
	char e[256];

	(void)ctx;
	(void)key;
	if (def == NULL || strcmp(flag, "name") == 0 ||
	    strcmp(flag, "advertise") == 0)
		return;		/* host-dependent defaults */
	cp_cfg_default(&cfg);
	cp_cfg_default(&d);
	cr_assert_eq(cp_cfg_set_flag(&d, flag, def, e, sizeof(e)), 0,
		     "--%s %s: %s", flag, def, e);
	cr_assert_eq(memcmp(&cfg, &d, sizeof(d)), 0,
		     "--help says --%s defaults to %s; the code differs",
		     flag, def);
}

Test(cp_cfg_file, help_defaults_match_code)
{
	cp_cfg_opt_foreach(check_def, NULL);
}

/* --help lists every option with its key. */
static void
check_listed(void *ctx, const char *flag, const char *key, const char *def)
{
	const char *help = ctx;
	char needle[128];

	(void)def;
	snprintf(needle, sizeof(needle), "--%s", flag);
	cr_assert_not_null(strstr(help, needle), "%s", needle);
	if (key[0] != '\0') {
		snprintf(needle, sizeof(needle), "[%s]", key);
		cr_assert_not_null(strstr(help, needle), "%s", needle);
	}
}

Test(cp_cfg_file, help_lists_every_option)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cp_cfg_help(f);
	fclose(f);
	cp_cfg_opt_foreach(check_listed, text);
	cr_assert_not_null(strstr(text, "Default: 0.0.0.0:7946."));
	free(text);
}

Test(cp_cfg_file, tags_file_round_trip)
{
	struct cp_tag in[2] = {{"role", "web"}, {"dc", "x\"y"}};
	struct cp_tag out[CP_TAGS_MAX];
	char path[128], text[256] = "";
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/tags.json", dir);
	cr_assert_eq(cp_cfg_tags_read(path, out, CP_TAGS_MAX, err,
				      sizeof(err)), 0, "no file: no tags");
	cr_assert_eq(cp_cfg_tags_write(path, in, 2), 0);
	f = fopen(path, "r");
	cr_assert_eq(fread(text, 1, sizeof(text) - 1, f) > 0, true);
	fclose(f);
	cr_assert_str_eq(text, "{\n  \"dc\": \"x\\\"y\",\n  \"role\": \"web\"\n}",
			 "serf's MarshalIndent layout, sorted");
	n = cp_cfg_tags_read(path, out, CP_TAGS_MAX, err, sizeof(err));
	cr_assert_eq(n, 2, "%s", err);
	cr_assert_str_eq(out[0].key, "dc");
	cr_assert_str_eq(out[0].value, "x\"y");
	put("bad.json", "{\"a\": 1}");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	cr_assert_eq(cp_cfg_tags_read(path, out, CP_TAGS_MAX, err,
				      sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "bad tag \"a\""), "%s", err);
}
