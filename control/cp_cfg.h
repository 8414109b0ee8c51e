/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossipd's configuration: the flags of `serf agent` that make sense for a
 * membership-only daemon and serf's JSON config-file keys, both described
 * by one option table (cp_cfg_opt.c) so --help, the flag parser and the
 * config-file parser agree. Parsed into struct cp_cfg with serf's defaults.
 *
 *   gossipd [--config-file F]... [--config-dir D]... [--name NAME]
 *           [--bind IP:PORT] [--join HOST[:PORT]]... [flags; see --help]
 *
 * Config files and directories are read first, in the order given (a
 * directory's *.json files in lexical order), then the other flags are
 * applied over them: scalars replace, lists append, tags merge by key, as
 * serf's MergeConfig does.
 *
 * Pure parsing apart from reading the config files: no sockets, no
 * logging. Every problem is reported as one line naming the flag or the
 * file and key, for main() to print before exiting with status 2.
 */
#ifndef CP_CFG_H_INCLUDED
#define CP_CFG_H_INCLUDED

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <stdbool.h>

#include "cp_log.h"
#include "swim_msg.h"

struct swim_keyring;
struct serf_cfg;

/** Most --join / --retry-join seeds, each. */
#define CP_SEEDS_MAX 16
/** Most --tag flags. Meta is 512 bytes anyway. */
#define CP_TAGS_MAX 32
/** Longest tag key or value we keep. */
#define CP_TAG_LEN_MAX 255
/** serf's default gossip port. */
#define CP_DEFAULT_PORT 7946
/** serf's default RPC port. */
#define CP_DEFAULT_RPC_PORT 7373
/** Size of a buffer that holds any cp_addr_str result. */
#define CP_ADDR_STRLEN 56
/** Longest --join / --retry-join seed text: a DNS name (253) + ":PORT". */
#define CP_SEED_LEN 260
/** Most --event-handler entries, and the longest one. */
#define CP_HANDLERS_MAX 32
#define CP_HANDLER_LEN 1024
/** Longest path we keep (config, tags, snapshot, keyring files). */
#define CP_PATH_LEN 1024
/** The program's version (meson's project version). */
#ifndef GOSSIPD_VERSION
#define GOSSIPD_VERSION "0.1.0"
#endif

/** One --tag KEY=VALUE. */
struct cp_tag {
	char key[CP_TAG_LEN_MAX + 1];	/* non-empty */
	char value[CP_TAG_LEN_MAX + 1];	/* may be empty */
};

/** Everything the flags and config files set; cp_cfg_default + parse. */
struct cp_cfg {
	char name[SWIM_NAME_MAX + 1];	/* node_name; default: host name */
	struct swim_addr bind;		/* UDP+TCP listen address */
	/* What peers see. --advertise sets it (has_advertise); otherwise
	 * cp_cfg_advertise fills it by serf's rule before the start. */
	struct swim_addr advertise;
	bool has_advertise;
	/* --join / --retry-join as given: IP literals or DNS names, with an
	 * optional :PORT (default 7946). */
	char join_seeds[CP_SEEDS_MAX][CP_SEED_LEN];
	unsigned nb_join_seeds;
	char retry_seeds[CP_SEEDS_MAX][CP_SEED_LEN];
	unsigned nb_retry_seeds;
	/* The seeds as addresses. The parser fills in the IP literals; the
	 * daemon resolves names into them (cp_cfg_resolve_seeds) at start for
	 * --join and before each attempt for --retry-join. */
	struct swim_addr join[CP_SEEDS_MAX];	/* --join: must succeed */
	unsigned nb_join;
	struct swim_addr retry_join[CP_SEEDS_MAX]; /* --retry-join */
	unsigned nb_retry_join;
	uint64_t retry_interval_us;	/* between retry-joins; 30 s */
	unsigned retry_max;		/* attempts; 0 = forever (serf) */
	struct cp_tag tags[CP_TAGS_MAX];	/* unique keys, flag order */
	unsigned nb_tags;
	/* --tags-file: serf's tags file (JSON object). Loaded at start when
	 * it exists, rewritten whenever the tags change. Excludes --tag. */
	char tags_file[CP_PATH_LEN];
	struct swim_addr rpc_addr;	/* RPC listener; 127.0.0.1:7373 */
	char rpc_auth[256];		/* RPC token; "" = none. A secret. */
	char profile[8];		/* "lan", "wan" or "local" */
	char dataplane[8];		/* "socket" or "dpdk" */
	char eal[512];			/* --eal for the DPDK backend */
	unsigned port_id;		/* --port: its ethdev port; 0 */
	char dp_power[12];		/* --dp-power: off|backoff|interrupt */
	enum cp_log_level log_level;	/* default info */
	bool enable_syslog;		/* --syslog: log to syslog too */
	char syslog_facility[16];	/* serf's syslog_facility: LOCAL0 */
	/* --encrypt: serf's base64 AES key; "" = none. A secret:
	 * never echoed in errors or logs. */
	char encrypt[512];
	/* --keyring-file: serf's keyring (JSON array of base64 keys, the
	 * first primary); "" = none. */
	char keyring_file[CP_PATH_LEN];
	/* Built from the two above by cp_cfg_keyring_new (NULL: plaintext);
	 * owned by main, read-only once the dataplane runs. */
	struct swim_keyring *keyring;
	/* --event-handler [filter=]script, as given, in order (the handlers
	 * subsystem parses the filters). */
	char event_handlers[CP_HANDLERS_MAX][CP_HANDLER_LEN];
	unsigned nb_event_handlers;
	/* --snapshot: serf's snapshot file; "" = none. */
	char snapshot_path[CP_PATH_LEN];
	bool rejoin_after_leave;	/* --rejoin: ignore a "leave" line */
	bool leave_on_terminate;	/* SIGTERM leaves (serf: false) */
	bool skip_leave_on_interrupt;	/* SIGINT does not leave (false) */
	/* Serf layer knobs (serf_cfg's names); defaults are serf's. */
	uint64_t reconnect_interval_us;	/* 30 s */
	uint64_t reconnect_timeout_us;	/* 24 h */
	uint64_t tombstone_timeout_us;	/* 24 h */
	uint64_t broadcast_timeout_us;	/* 5 s */
	unsigned query_response_size_limit;	/* 1024 */
	unsigned query_size_limit;		/* 1024 */
	unsigned user_event_size_limit;		/* 512 */
	/* Delta sync with gossipd peers (cp_sync_delta.h): on by default;
	 * one extra exchange per interval. */
	bool delta_sync;
	uint64_t delta_sync_interval_us;	/* 10 s; 0: periodic only */
	/* memberlist's broadcast queue bound (swim_cfg.max_queue_depth). */
	unsigned max_queue_depth;		/* 1024 */
	/* Telemetry endpoints, as given ("" = off): statsd HOST:PORT and the
	 * Prometheus listener IP:PORT (validated as an address here). */
	char statsd_addr[CP_SEED_LEN];
	char metrics_addr[CP_ADDR_STRLEN];
};

/** serf's defaults: bind 0.0.0.0:7946, rpc 127.0.0.1:7373, lan, ... */
void cp_cfg_default(struct cp_cfg *cfg);

/** cp_cfg_parse's results besides 0 and -EINVAL. */
enum {
	CP_CFG_HELP = 1,	/* --help: print cp_cfg_help */
	CP_CFG_VERSION = 2,	/* --version: print cp_cfg_version */
};

/**
 * Parse argv[1..argc-1] over the defaults already in cfg: first every
 * --config-file / --config-dir in order, then the other flags. Flags take
 * "--flag VALUE" or "--flag=VALUE" (a single dash works too, as in serf);
 * boolean flags take no value ("--rejoin", or "--rejoin=false").
 * @retval 0 on success.
 * @retval CP_CFG_HELP or CP_CFG_VERSION when asked (nothing else done).
 * @retval -EINVAL with a one-line reason in err.
 */
int cp_cfg_parse(struct cp_cfg *cfg, int argc, char **argv, char *err,
		 size_t errlen);

/**
 * Apply one JSON config file (a top-level object of serf's keys) over
 * cfg. Unknown keys, wrong types, bad values, unreadable files and JSON
 * syntax errors fail with one line naming the file (and the key).
 * @retval 0 or -EINVAL.
 */
int cp_cfg_load_file(struct cp_cfg *cfg, const char *path, char *err,
		     size_t errlen);

/** Apply every *.json file of dir, in lexical order. @retval 0/-EINVAL. */
int cp_cfg_load_dir(struct cp_cfg *cfg, const char *dir, char *err,
		    size_t errlen);

/**
 * Apply a config given as JSON text (what cp_cfg_load_file does after
 * reading; the fuzz target's entry). name is used in errors.
 * @retval 0 or -EINVAL.
 */
int cp_cfg_load_json(struct cp_cfg *cfg, const char *name, const char *text,
		     size_t len, char *err, size_t errlen);

/**
 * Checks that need every source applied: --tag with --tags-file, the tags'
 * meta size, the --encrypt key. cp_cfg_parse ends with it.
 * @retval 0 or -EINVAL.
 */
int cp_cfg_finish(struct cp_cfg *cfg, char *err, size_t errlen);

/** Print --help: every flag, its default and what it does. */
void cp_cfg_help(FILE *out);

/** Print --version: "gossipd v0.1.0" and the protocol versions. */
void cp_cfg_version(FILE *out);

/** One option as --help shows it: flag ("" when file-only), JSON key
 * ("" when flag-only), default text (NULL: none). */
typedef void (*cp_cfg_opt_visit_f)(void *ctx, const char *flag,
				   const char *key, const char *def);
/** Visit every option of the table (tests check help against code). */
void cp_cfg_opt_foreach(cp_cfg_opt_visit_f f, void *ctx);

/**
 * Set one option by its flag name, as the command line would.
 * @retval 0, -ENOENT unknown flag, -EINVAL bad value (err filled).
 */
int cp_cfg_set_flag(struct cp_cfg *cfg, const char *flag, const char *v,
		    char *err, size_t errlen);

/* --- the environment: interfaces, DNS, files --- */

/** One IPv4 address of an interface, as getifaddrs reports it. */
struct cp_iface {
	char name[32];
	uint8_t ip[4];
	bool is_up;
	bool is_loopback;
};

/**
 * serf's advertise rule over a given interface list: an explicit
 * --advertise wins; a specific bind IP is advertised as is; a wildcard
 * bind advertises the first private IPv4 (10/8, 172.16/12, 192.168/16,
 * 100.64/10, 198.18/15) of an up, non-loopback interface, at the bind
 * port. With none: 127.0.0.1 when the host has loopback addresses only,
 * else -EINVAL with a line telling the user to pass --advertise.
 * @retval 0 (cfg->advertise set) or -EINVAL.
 */
int cp_cfg_advertise_from(struct cp_cfg *cfg, const struct cp_iface *ifs,
			  unsigned nb, char *err, size_t errlen);
/** cp_cfg_advertise_from over getifaddrs(). */
int cp_cfg_advertise(struct cp_cfg *cfg, char *err, size_t errlen);

/**
 * Resolve seeds (IP literals or DNS names, optional :PORT, default 7946)
 * to addresses of bind's family. getaddrinfo blocks: call it at start or
 * off the control thread. Seeds that do not resolve are skipped and the
 * first is named in err.
 * @retval addresses written (at most cap).
 */
unsigned cp_cfg_resolve_seeds(const char (*seeds)[CP_SEED_LEN], unsigned nb,
			      const struct swim_addr *bind,
			      struct swim_addr *out, unsigned cap, char *err,
			      size_t errlen);

/**
 * Read serf's tags file (a JSON object of strings) into tags.
 * @retval tags read (0 also when the file does not exist), or -EINVAL
 *         with one line in err.
 */
int cp_cfg_tags_read(const char *path, struct cp_tag *tags, unsigned cap,
		     char *err, size_t errlen);
/** Write tags as serf does (an indented JSON object), replacing the file
 * atomically. @retval 0 or -errno. */
int cp_cfg_tags_write(const char *path, const struct cp_tag *tags,
		      unsigned nb);

/** syslog(3)'s facility for a serf facility name (LOCAL0, DAEMON, ...,
 * any case). @retval LOG_* value, or -1 for an unknown name. */
int cp_cfg_syslog_facility(const char *name);

/** Copy the Serf layer knobs (timeouts, size limits) into sc. */
void cp_cfg_to_serf(const struct cp_cfg *cfg, struct serf_cfg *sc);

/**
 * Build the keyring --encrypt / --keyring-file ask for (sodium_init()
 * must have run). The keyring file's keys come first, its first key
 * primary; an --encrypt key is then added (primary when alone,
 * secondary otherwise).
 * @param[out] out the keyring, or NULL when neither flag was given.
 * @retval 0, or -EINVAL with one line in err naming the flag and the
 *         problem (never the key itself).
 */
int cp_cfg_keyring_new(const struct cp_cfg *cfg, struct swim_keyring **out,
		       char *err, size_t errlen);

/**
 * Parse "IP:PORT" (IPv4) or "[IPv6]:PORT". With default_port > 0 the
 * ":PORT" part may be left out. Port 0 is refused.
 * @retval 0 or -EINVAL.
 */
int cp_addr_parse(const char *s, uint16_t default_port, struct swim_addr *out);

/** Format an address as "IP:PORT" ("[IP]:PORT" for IPv6). @retval buf. */
const char *cp_addr_str(const struct swim_addr *a, char *buf, size_t len);

/** Format only the IP. @retval buf. */
const char *cp_ip_str(const struct swim_addr *a, char *buf, size_t len);

/**
 * Parse a Go duration: "30s", "1m30s", "500ms", "1.5h", "0".
 * @retval 0 and *us, or -EINVAL (also on overflow or a negative value).
 */
int cp_duration_parse(const char *s, uint64_t *us);

struct serf_tag;

/** View tags as the Serf layer's serf_tag array (out holds nb entries). */
void cp_cfg_serf_tags(const struct cp_tag *tags, unsigned nb,
		      struct serf_tag *out);

/**
 * Encode the tags as serf's node meta: 0xff + msgpack map str -> str.
 * @retval bytes written, or -E2BIG when they do not fit cap.
 */
int cp_tags_encode(const struct cp_tag *tags, unsigned nb, uint8_t *out,
		   size_t cap);

#endif /* CP_CFG_H_INCLUDED */
