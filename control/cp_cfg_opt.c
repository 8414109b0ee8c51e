/* SPDX-License-Identifier: MIT */
/*
 * The option table (cp_cfg_int.h) and what reads it: the flag parser,
 * --help, --version. Setters turn one text value into struct cp_cfg
 * fields; the config-file parser (cp_cfg_json.c) calls the same setters,
 * so a flag and its JSON key cannot disagree.
 */
#include "cp_cfg.h"
#include "cp_cfg_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "swim.h"

/* --- value setters --- */

/* Copy v into a fixed field; fails when it does not fit or is empty. */
static int
cp_set_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, v, n + 1);
	return 0;
}

/* Unsigned decimal that fits an unsigned int. */
static int
cp_set_uint(const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > UINT_MAX)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

/* Go's strconv.ParseBool spellings. */
static int
cp_set_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true",
					  "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false",
					 "False"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

/* One of a fixed list of words. */
static int
cp_set_choice(char *dst, size_t cap, const char *v, const char *const *ok)
{
	for (; *ok != NULL; ok++)
		if (strcmp(v, *ok) == 0)
			return cp_set_str(dst, cap, v);
	return -EINVAL;
}

/* HOST[:PORT] or [V6][:PORT] where HOST is an IPv4 literal or a DNS name
 * (letters, digits, '-', '.', '_'); with need_port the port is required. */
static int
cp_host_port_check(const char *v, bool need_port)
{
	const char *colon = strrchr(v, ':');
	struct swim_addr a;
	size_t hl;

	if (cp_addr_parse(v, need_port ? 0 : CP_DEFAULT_PORT, &a) == 0)
		return 0;
	if (v[0] == '[')
		return -EINVAL;	/* a bracketed host must be an IPv6 literal */
	if (colon != NULL && strchr(v, ':') != colon)
		return -EINVAL;
	hl = colon != NULL ? (size_t)(colon - v) : strlen(v);
	if (hl == 0 || hl > 253 || (need_port && colon == NULL))
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-._", v[i]) == NULL)
			return -EINVAL;
	if (colon != NULL) {
		unsigned port;

		if (cp_set_uint(colon + 1, &port) != 0 || port == 0 ||
		    port > 65535)
			return -EINVAL;
	}
	return 0;
}

/* Append a seed: kept as text; an IP literal is also an address now. */
static int
cp_set_seed(char (*seeds)[CP_SEED_LEN], unsigned *nb_seeds,
	    struct swim_addr *addrs, unsigned *nb_addrs, const char *v)
{
	if (*nb_seeds == CP_SEEDS_MAX || cp_host_port_check(v, false) != 0 ||
	    cp_set_str(seeds[*nb_seeds], CP_SEED_LEN, v) != 0)
		return -EINVAL;
	(*nb_seeds)++;
	if (cp_addr_parse(v, CP_DEFAULT_PORT, &addrs[*nb_addrs]) == 0)
		(*nb_addrs)++;
	return 0;
}

/* KEY=VALUE; a repeated key replaces the earlier value. */
static int
cp_set_tag(struct cp_cfg *cfg, const char *v)
{
	const char *eq = strchr(v, '=');
	struct cp_tag t;
	size_t kl;
	unsigned i;

	if (eq == NULL || eq == v)
		return -EINVAL;
	kl = (size_t)(eq - v);
	if (kl > CP_TAG_LEN_MAX || strlen(eq + 1) > CP_TAG_LEN_MAX)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	memcpy(t.key, v, kl);
	strcpy(t.value, eq + 1);
	for (i = 0; i < cfg->nb_tags; i++)
		if (strcmp(cfg->tags[i].key, t.key) == 0)
			break;
	if (i == CP_TAGS_MAX)
		return -EINVAL;
	cfg->tags[i] = t;
	if (i == cfg->nb_tags)
		cfg->nb_tags++;
	return 0;
}

static int
cp_set_handler(struct cp_cfg *cfg, const char *v)
{
	if (cfg->nb_event_handlers == CP_HANDLERS_MAX ||
	    cp_set_str(cfg->event_handlers[cfg->nb_event_handlers],
		       CP_HANDLER_LEN, v) != 0)
		return -EINVAL;
	cfg->nb_event_handlers++;
	return 0;
}

static int
cp_set_metrics_addr(struct cp_cfg *cfg, const char *v)
{
	struct swim_addr a;

	if (cp_addr_parse(v, 0, &a) != 0)
		return -EINVAL;
	cp_addr_str(&a, cfg->metrics_addr, sizeof(cfg->metrics_addr));
	return 0;
}

static int
cp_set_statsd_addr(struct cp_cfg *cfg, const char *v)
{
	if (cp_host_port_check(v, true) != 0)
		return -EINVAL;
	return cp_set_str(cfg->statsd_addr, sizeof(cfg->statsd_addr), v);
}

/* gsyslog's facility names, as serf's syslog_facility takes them. */
int
cp_cfg_syslog_facility(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} map[] = {
		{"KERN", LOG_KERN},	{"USER", LOG_USER},
		{"MAIL", LOG_MAIL},	{"DAEMON", LOG_DAEMON},
		{"AUTH", LOG_AUTH},	{"SYSLOG", LOG_SYSLOG},
		{"LPR", LOG_LPR},	{"NEWS", LOG_NEWS},
		{"UUCP", LOG_UUCP},	{"CRON", LOG_CRON},
		{"AUTHPRIV", LOG_AUTHPRIV}, {"FTP", LOG_FTP},
		{"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},
		{"LOCAL2", LOG_LOCAL2}, {"LOCAL3", LOG_LOCAL3},
		{"LOCAL4", LOG_LOCAL4}, {"LOCAL5", LOG_LOCAL5},
		{"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(name, map[i].name) == 0)
			return map[i].facility;
	return -1;
}

static int
cp_set_facility(struct cp_cfg *cfg, const char *v)
{
	if (cp_cfg_syslog_facility(v) < 0)
		return -EINVAL;
	return cp_set_str(cfg->syslog_facility, sizeof(cfg->syslog_facility),
			  v);
}

/* One-line setters, so the table can point at a function per option. */
#define CP_SETTER(fn, body)                                                   \
	static int fn(struct cp_cfg *cfg, const char *v) { return body; }

static const char *const cp_profiles[] = {"lan", "wan", "local", NULL};
static const char *const cp_dataplanes[] = {"socket", "dpdk", NULL};
static const char *const cp_dp_powers[] = {"off", "backoff", "interrupt",
					   NULL};

CP_SETTER(set_name, cp_set_str(cfg->name, sizeof(cfg->name), v))
CP_SETTER(set_bind, cp_addr_parse(v, CP_DEFAULT_PORT, &cfg->bind))
CP_SETTER(set_advertise, (cfg->has_advertise = true,
			  cp_addr_parse(v, 0, &cfg->advertise)))
CP_SETTER(set_join, cp_set_seed(cfg->join_seeds, &cfg->nb_join_seeds,
				cfg->join, &cfg->nb_join, v))
CP_SETTER(set_retry_join, cp_set_seed(cfg->retry_seeds, &cfg->nb_retry_seeds,
				      cfg->retry_join, &cfg->nb_retry_join, v))
CP_SETTER(set_retry_interval, cp_duration_parse(v, &cfg->retry_interval_us))
CP_SETTER(set_retry_max, cp_set_uint(v, &cfg->retry_max))
CP_SETTER(set_tag, cp_set_tag(cfg, v))
CP_SETTER(set_tags_file, cp_set_str(cfg->tags_file, CP_PATH_LEN, v))
CP_SETTER(set_rpc_addr, cp_addr_parse(v, 0, &cfg->rpc_addr))
CP_SETTER(set_rpc_auth, cp_set_str(cfg->rpc_auth, sizeof(cfg->rpc_auth), v))
CP_SETTER(set_profile, cp_set_choice(cfg->profile, sizeof(cfg->profile), v,
				     cp_profiles))
CP_SETTER(set_dataplane, cp_set_choice(cfg->dataplane,
				       sizeof(cfg->dataplane), v,
				       cp_dataplanes))
CP_SETTER(set_eal, cp_set_str(cfg->eal, sizeof(cfg->eal), v))
CP_SETTER(set_port, cp_set_uint(v, &cfg->port_id))
CP_SETTER(set_dp_power, cp_set_choice(cfg->dp_power, sizeof(cfg->dp_power),
				      v, cp_dp_powers))
CP_SETTER(set_log_level, cp_log_level_parse(v, &cfg->log_level))
CP_SETTER(set_syslog_facility, cp_set_facility(cfg, v))
CP_SETTER(set_syslog, cp_set_bool(v, &cfg->enable_syslog))
CP_SETTER(set_encrypt, cp_set_str(cfg->encrypt, sizeof(cfg->encrypt), v))
CP_SETTER(set_keyring_file, cp_set_str(cfg->keyring_file, CP_PATH_LEN, v))
CP_SETTER(set_handler, cp_set_handler(cfg, v))
CP_SETTER(set_snapshot, cp_set_str(cfg->snapshot_path, CP_PATH_LEN, v))
CP_SETTER(set_rejoin, cp_set_bool(v, &cfg->rejoin_after_leave))
CP_SETTER(set_leave_term, cp_set_bool(v, &cfg->leave_on_terminate))
CP_SETTER(set_skip_int, cp_set_bool(v, &cfg->skip_leave_on_interrupt))
CP_SETTER(set_reconnect_interval,
	  cp_duration_parse(v, &cfg->reconnect_interval_us))
CP_SETTER(set_reconnect_timeout,
	  cp_duration_parse(v, &cfg->reconnect_timeout_us))
CP_SETTER(set_tombstone_timeout,
	  cp_duration_parse(v, &cfg->tombstone_timeout_us))
CP_SETTER(set_broadcast_timeout,
	  cp_duration_parse(v, &cfg->broadcast_timeout_us))
CP_SETTER(set_query_response_size_limit,
	  cp_set_uint(v, &cfg->query_response_size_limit))
CP_SETTER(set_query_size_limit, cp_set_uint(v, &cfg->query_size_limit))
CP_SETTER(set_user_event_size_limit,
	  cp_set_uint(v, &cfg->user_event_size_limit))
CP_SETTER(set_max_queue_depth, cp_set_uint(v, &cfg->max_queue_depth))
CP_SETTER(set_delta_sync, cp_set_bool(v, &cfg->delta_sync))
CP_SETTER(set_delta_sync_interval,
	  cp_duration_parse(v, &cfg->delta_sync_interval_us))
CP_SETTER(set_statsd_addr, cp_set_statsd_addr(cfg, v))
CP_SETTER(set_metrics_addr, cp_set_metrics_addr(cfg, v))

/* --- the table --- */

#define W_ADDR "IP:PORT"
#define W_SEED "IP[:PORT] or HOSTNAME[:PORT]"
#define W_DUR "a duration such as 30s or 1m"
#define W_UINT "a non-negative integer"
#define W_PATH "a file path"
#define W_BOOL "true or false"

/* Options in --help order. Rows with a key are serf's JSON keys unless
 * the help says "gossipd". */
const struct cp_opt cp_opts[] = {
	{"config-file", NULL, CP_J_NONE, CP_S_CONFIG_FILE, NULL, "FILE",
	 W_PATH, NULL, "Read a JSON config file (serf's keys); repeatable, "
	 "applied in order before the other flags", false},
	{"config-dir", NULL, CP_J_NONE, CP_S_CONFIG_DIR, NULL, "DIR",
	 "a directory path", NULL, "Read every *.json file in DIR, in lexical "
	 "order; repeatable", false},
	{"name", "node_name", CP_J_STR, CP_S_NONE, set_name, "NAME",
	 "a non-empty name of at most 128 bytes", "the host name",
	 "Name of this node; unique in the cluster", false},
	{"node", NULL, CP_J_STR, CP_S_NONE, set_name, "NAME",
	 "a non-empty name of at most 128 bytes", NULL,
	 "Same as --name (serf's spelling)", false},
	{"bind", "bind", CP_J_STR, CP_S_NONE, set_bind, "IP[:PORT]", W_ADDR,
	 "0.0.0.0:7946", "Address for gossip, UDP and TCP", false},
	{"advertise", "advertise", CP_J_STR, CP_S_NONE, set_advertise,
	 "IP:PORT", W_ADDR, "the bind IP, or the first private IPv4 when "
	 "binding 0.0.0.0", "Address other members use to reach this node",
	 false},
	{"join", "start_join", CP_J_LIST, CP_S_NONE, set_join, "ADDR", W_SEED,
	 NULL, "Join these members at start (names resolved by DNS); if none "
	 "answers, exit 1; repeatable", false},
	{"retry-join", "retry_join", CP_J_LIST, CP_S_NONE, set_retry_join,
	 "ADDR", W_SEED, NULL, "Like --join but retried in the background "
	 "until it succeeds; repeatable", false},
	{"retry-interval", "retry_interval", CP_J_STR, CP_S_NONE,
	 set_retry_interval, "DUR", W_DUR, "30s",
	 "Time between --retry-join attempts", false},
	{"retry-max", "retry_max_attempts", CP_J_INT, CP_S_NONE,
	 set_retry_max, "N", W_UINT, "0",
	 "Most --retry-join attempts; 0 retries forever", false},
	{"tag", "tags", CP_J_MAP, CP_S_NONE, set_tag, "KEY=VALUE",
	 "KEY=VALUE", NULL, "A tag of this node (JSON: an object of "
	 "strings); repeatable", false},
	{"tags-file", "tags_file", CP_J_STR, CP_S_NONE, set_tags_file, "FILE",
	 W_PATH, NULL, "Load tags from FILE at start and save them there "
	 "when they change; excludes --tag", false},
	{"rpc-addr", "rpc_addr", CP_J_STR, CP_S_NONE, set_rpc_addr, "IP:PORT",
	 W_ADDR, "127.0.0.1:7373", "Address of the serf RPC server (serf and "
	 "gossipctl talk to it)", false},
	{"rpc-auth", "rpc_auth", CP_J_STR, CP_S_NONE, set_rpc_auth, "TOKEN",
	 "a non-empty token", NULL, "RPC clients must authenticate with "
	 "TOKEN (serf's -rpc-auth)", true},
	{"profile", "profile", CP_J_STR, CP_S_NONE, set_profile,
	 "lan|wan|local", "lan, wan or local", "lan",
	 "memberlist timing profile", false},
	{"dataplane", "dataplane", CP_J_STR, CP_S_NONE, set_dataplane,
	 "socket|dpdk", "socket or dpdk", "socket",
	 "gossipd: packet I/O through kernel sockets or DPDK", false},
	{"eal", "eal", CP_J_STR, CP_S_NONE, set_eal, "\"ARGS\"",
	 "an EAL argument string", NULL,
	 "gossipd: DPDK EAL arguments for --dataplane dpdk", false},
	{"port", "port", CP_J_INT, CP_S_NONE, set_port, "N", W_UINT, "0",
	 "gossipd: the DPDK ethdev port of --dataplane dpdk", false},
	{"dp-power", "dp_power", CP_J_STR, CP_S_NONE, set_dp_power,
	 "off|backoff|interrupt", "off, backoff or interrupt", "off",
	 "gossipd: an idle DPDK lcore polls on, backs off (pause, then "
	 "sleep up to 1 ms) or sleeps on Rx interrupts (backing off on "
	 "ports without them)", false},
	{"log-level", "log_level", CP_J_STR, CP_S_NONE, set_log_level,
	 "LEVEL", "debug, info, warn or error", "info",
	 "Least important log lines shown; reloaded on SIGHUP", false},
	{"syslog", "enable_syslog", CP_J_BOOL, CP_S_NONE, set_syslog, NULL,
	 W_BOOL, "false", "Also send log lines at the log level to syslog",
	 false},
	{"syslog-facility", "syslog_facility", CP_J_STR, CP_S_NONE,
	 set_syslog_facility, "FACILITY", "a syslog facility (LOCAL0-7, "
	 "DAEMON, USER, ...)", "LOCAL0", "Syslog facility for --syslog",
	 false},
	{"encrypt", "encrypt_key", CP_J_STR, CP_S_NONE, set_encrypt, "KEY",
	 "a base64 key (serf keygen)", NULL, "Encrypt gossip with this "
	 "base64 key (prefer a config file: flags show in ps)", true},
	{"keyring-file", "keyring_file", CP_J_STR, CP_S_NONE, set_keyring_file,
	 "FILE", W_PATH, NULL, "serf's keyring file: a JSON array of base64 "
	 "keys, the first primary", false},
	{"event-handler", "event_handlers", CP_J_LIST, CP_S_NONE, set_handler,
	 "[FILTER=]SCRIPT", "[FILTER=]SCRIPT", NULL, "Run SCRIPT on events "
	 "as serf does; repeatable", false},
	{"snapshot", "snapshot_path", CP_J_STR, CP_S_NONE, set_snapshot,
	 "FILE", W_PATH, NULL, "Record members and clocks in FILE; a restart "
	 "rejoins the members it lists", false},
	{"rejoin", "rejoin_after_leave", CP_J_BOOL, CP_S_NONE, set_rejoin,
	 NULL, W_BOOL, "false", "Rejoin from the snapshot even after a "
	 "graceful leave", false},
	{"leave-on-terminate", "leave_on_terminate", CP_J_BOOL, CP_S_NONE,
	 set_leave_term, NULL, W_BOOL, "false",
	 "SIGTERM leaves the cluster gracefully (else it just stops)", false},
	{"skip-leave-on-interrupt", "skip_leave_on_interrupt", CP_J_BOOL,
	 CP_S_NONE, set_skip_int, NULL, W_BOOL, "false",
	 "SIGINT stops without leaving (else it leaves gracefully)", false},
	{"reconnect-interval", "reconnect_interval", CP_J_STR, CP_S_NONE,
	 set_reconnect_interval, "DUR", W_DUR, "30s",
	 "How often failed members are retried", false},
	{"reconnect-timeout", "reconnect_timeout", CP_J_STR, CP_S_NONE,
	 set_reconnect_timeout, "DUR", W_DUR, "24h",
	 "How long a failed member is retried before it is reaped", false},
	{"tombstone-timeout", "tombstone_timeout", CP_J_STR, CP_S_NONE,
	 set_tombstone_timeout, "DUR", W_DUR, "24h",
	 "How long a left member is kept before it is reaped", false},
	{"broadcast-timeout", "broadcast_timeout", CP_J_STR, CP_S_NONE,
	 set_broadcast_timeout, "DUR", W_DUR, "5s",
	 "How long a leave waits for its broadcast", false},
	{"query-response-size-limit", "query_response_size_limit", CP_J_INT,
	 CP_S_NONE, set_query_response_size_limit, "BYTES", W_UINT, "1024",
	 "Largest query response", false},
	{"query-size-limit", "query_size_limit", CP_J_INT, CP_S_NONE,
	 set_query_size_limit, "BYTES", W_UINT, "1024",
	 "Largest query (name, payload and filters)", false},
	{"user-event-size-limit", "user_event_size_limit", CP_J_INT,
	 CP_S_NONE, set_user_event_size_limit, "BYTES", W_UINT, "512",
	 "Largest user event (name and payload)", false},
	{"max-queue-depth", "max_queue_depth", CP_J_INT, CP_S_NONE,
	 set_max_queue_depth, "N", W_UINT, "1024",
	 "gossipd: most broadcasts in memberlist's queue (serf's "
	 "MaxQueueDepth, for it); when full the one sent most often is "
	 "dropped and counted; 0 = no bound", false},
	{"delta-sync", "delta_sync", CP_J_BOOL, CP_S_NONE, set_delta_sync,
	 NULL, W_BOOL, "true", "gossipd: anti-entropy with other gossipd "
	 "nodes sends only the members that differ (digests first); serf "
	 "and memberlist peers always get full push/pulls", false},
	{"delta-sync-interval", "delta_sync_interval", CP_J_STR, CP_S_NONE,
	 set_delta_sync_interval, "DUR", W_DUR, "10s", "gossipd: one more "
	 "delta exchange with a random gossipd peer this often (a few dozen "
	 "bytes when nothing differs); 0 turns it off", false},
	{"statsd-addr", "statsd_addr", CP_J_STR, CP_S_NONE, set_statsd_addr,
	 "HOST:PORT", "HOST:PORT", NULL, "Send metrics to this statsd", false},
	{"metrics-addr", "metrics_addr", CP_J_STR, CP_S_NONE,
	 set_metrics_addr, "IP:PORT", W_ADDR, NULL,
	 "gossipd: serve Prometheus metrics at http://IP:PORT/metrics", false},
	{"version", NULL, CP_J_NONE, CP_S_VERSION, NULL, NULL, NULL, NULL,
	 "Print the version and exit", false},
	{"help", NULL, CP_J_NONE, CP_S_HELP, NULL, NULL, NULL, NULL,
	 "Print this help and exit", false},
};

const unsigned cp_nb_opts = sizeof(cp_opts) / sizeof(cp_opts[0]);

/* serf agent keys gossipd does not implement: named as such in errors. */
static const char *const cp_serf_only_keys[] = {
	"role", "discover", "interface", "replay_on_join",
	"disable_coordinates", "disable_name_resolution", "mdns",
	"enable_compression", "retry_join_ec2", "log_json", NULL,
};

const struct cp_opt *
cp_opt_by_flag(const char *name, size_t n)
{
	for (unsigned i = 0; i < cp_nb_opts; i++)
		if (cp_opts[i].flag != NULL && strlen(cp_opts[i].flag) == n &&
		    strncmp(name, cp_opts[i].flag, n) == 0)
			return &cp_opts[i];
	return NULL;
}

const struct cp_opt *
cp_opt_by_key(const char *key)
{
	for (unsigned i = 0; i < cp_nb_opts; i++)
		if (cp_opts[i].key != NULL && strcmp(key, cp_opts[i].key) == 0)
			return &cp_opts[i];
	return NULL;
}

bool
cp_opt_is_serf_only(const char *key)
{
	for (const char *const *k = cp_serf_only_keys; *k != NULL; k++)
		if (strcmp(key, *k) == 0)
			return true;
	return false;
}

void
cp_cfg_opt_foreach(cp_cfg_opt_visit_f f, void *ctx)
{
	for (unsigned i = 0; i < cp_nb_opts; i++)
		f(ctx, cp_opts[i].flag != NULL ? cp_opts[i].flag : "",
		  cp_opts[i].key != NULL ? cp_opts[i].key : "", cp_opts[i].def);
}

/* --- the command line --- */

/* Apply a flag's value, with the error line naming the flag. */
static int
cp_flag_apply(struct cp_cfg *cfg, const struct cp_opt *o, const char *v,
	      char *err, size_t errlen)
{
	if (o->set(cfg, v) == 0)
		return 0;
	if (o->is_secret)	/* never echo a key or a token */
		return cp_cfg_errf(err, errlen, "invalid --%s: want %s",
				   o->flag, o->want);
	return cp_cfg_errf(err, errlen, "invalid --%s \"%s\": want %s",
			   o->flag, v, o->want);
}

int
cp_cfg_set_flag(struct cp_cfg *cfg, const char *flag, const char *v,
		char *err, size_t errlen)
{
	const struct cp_opt *o = cp_opt_by_flag(flag, strlen(flag));

	if (o == NULL || o->set == NULL)
		return -ENOENT;
	return cp_flag_apply(cfg, o, v, err, errlen);
}

/* One argv word: which option, and its value (from "=v" or the next
 * word, consumed through *i). @retval the row, or NULL with err set. */
static const struct cp_opt *
cp_flag_next(int argc, char **argv, int *i, const char **v, char *err,
	     size_t errlen)
{
	const char *arg = argv[*i], *name, *eq;
	const struct cp_opt *o;

	if (arg[0] != '-' || arg[1] == '\0') {
		cp_cfg_errf(err, errlen, "unexpected argument \"%s\"", arg);
		return NULL;
	}
	name = arg + (arg[1] == '-' ? 2 : 1);
	if (strcmp(name, "h") == 0)
		name = "help";
	eq = strchr(name, '=');
	o = cp_opt_by_flag(name, eq != NULL ? (size_t)(eq - name)
					    : strlen(name));
	if (o == NULL) {
		cp_cfg_errf(err, errlen, "unknown flag \"%s\"", arg);
		return NULL;
	}
	*v = eq != NULL ? eq + 1 : NULL;
	if (*v == NULL && o->json == CP_J_BOOL)
		*v = "true";
	if (*v == NULL && o->want != NULL && o->json != CP_J_BOOL) {
		if (*i + 1 >= argc) {
			cp_cfg_errf(err, errlen, "flag --%s needs a value (%s)",
				    o->flag, o->want);
			return NULL;
		}
		*v = argv[++*i];
	}
	return o;
}

/* Pass 1: --help, --version, and the config files, in order. */
static int
cp_cfg_parse_files(struct cp_cfg *cfg, int argc, char **argv, char *err,
		   size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		const struct cp_opt *o = cp_flag_next(argc, argv, &i, &v, err,
						       errlen);
		int rc = 0;

		if (o == NULL)
			return -EINVAL;
		if (o->special == CP_S_HELP)
			return CP_CFG_HELP;
		if (o->special == CP_S_VERSION)
			return CP_CFG_VERSION;
		if (o->special == CP_S_CONFIG_FILE)
			rc = cp_cfg_load_file(cfg, v, err, errlen);
		else if (o->special == CP_S_CONFIG_DIR)
			rc = cp_cfg_load_dir(cfg, v, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
cp_cfg_parse(struct cp_cfg *cfg, int argc, char **argv, char *err,
	     size_t errlen)
{
	int rc = cp_cfg_parse_files(cfg, argc, argv, err, errlen);

	if (rc != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		const struct cp_opt *o = cp_flag_next(argc, argv, &i, &v, err,
						       errlen);

		if (o == NULL)
			return -EINVAL;
		if (o->set == NULL)
			continue;	/* config files: pass 1 */
		rc = cp_flag_apply(cfg, o, v, err, errlen);
		if (rc != 0)
			return rc;
	}
	return cp_cfg_finish(cfg, err, errlen);
}

/* --- --help and --version --- */

void
cp_cfg_help(FILE *out)
{
	fputs("Usage: gossipd [options]\n\n"
	      "  A SWIM/Lifeguard membership daemon that speaks memberlist's "
	      "wire protocol\n  and joins Serf clusters. Flags take --flag "
	      "VALUE or --flag=VALUE; the [key]\n  is the option's name in a "
	      "JSON config file (serf's keys). Flags override\n  config "
	      "files. SIGHUP reloads the log level, the tags file and the "
	      "event\n  handlers; SIGINT leaves gracefully, SIGTERM stops "
	      "(see the two options).\n\nOptions:\n", out);
	for (unsigned i = 0; i < cp_nb_opts; i++) {
		const struct cp_opt *o = &cp_opts[i];

		fprintf(out, "  --%s%s%s", o->flag,
			o->arg != NULL ? " " : "",
			o->arg != NULL ? o->arg : "");
		if (o->key != NULL)
			fprintf(out, "   [%s]", o->key);
		fprintf(out, "\n        %s.", o->help);
		if (o->def != NULL)
			fprintf(out, " Default: %s.", o->def);
		fputc('\n', out);
	}
	fputs("\nExit status: 0 after a stop, 1 when no --join seed could be "
	      "joined,\n2 for a bad flag or config file or an address in "
	      "use.\n", out);
}

void
cp_cfg_version(FILE *out)
{
	fprintf(out, "gossipd v%s\nAgent Protocol: 5 (Understands back to: "
		"2)\nmemberlist protocol: 2 (Understands back to: 1)\n",
		GOSSIPD_VERSION);
}
