/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossipd's command line: the flags of `serf agent` that make sense for a
 * membership-only daemon, parsed into struct cp_cfg with serf's defaults.
 *
 *   gossipd --name NAME --bind IP:PORT [--advertise IP:PORT]
 *           [--join IP:PORT]... [--retry-join IP:PORT]...
 *           [--retry-interval DUR] [--retry-max N] [--tag KEY=VALUE]...
 *           [--rpc-addr IP:PORT] [--profile lan|wan|local]
 *           [--dataplane socket|dpdk] [--eal "ARGS"]
 *           [--log-level debug|info|warn|error]
 *           [--encrypt BASE64KEY] [--keyring-file PATH]
 *
 * Pure parsing: no sockets, no logging. Every problem is reported as one
 * line naming the flag, for main() to print before exiting with status 2.
 */
#ifndef CP_CFG_H_INCLUDED
#define CP_CFG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "cp_log.h"
#include "swim_msg.h"

struct swim_keyring;

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

/** One --tag KEY=VALUE. */
struct cp_tag {
	char key[CP_TAG_LEN_MAX + 1];	/* non-empty */
	char value[CP_TAG_LEN_MAX + 1];	/* may be empty */
};

/** Everything the command line sets; filled by cp_cfg_default + parse. */
struct cp_cfg {
	char name[SWIM_NAME_MAX + 1];	/* node name; default: host name */
	struct swim_addr bind;		/* UDP+TCP listen address */
	struct swim_addr advertise;	/* what peers see: cp_cfg_parse */
	struct swim_addr join[CP_SEEDS_MAX];	/* --join: must succeed */
	unsigned nb_join;
	struct swim_addr retry_join[CP_SEEDS_MAX]; /* --retry-join */
	unsigned nb_retry_join;
	uint64_t retry_interval_us;	/* between retry-joins; 30 s */
	unsigned retry_max;		/* attempts; 0 = forever (serf) */
	struct cp_tag tags[CP_TAGS_MAX];	/* unique keys, flag order */
	unsigned nb_tags;
	struct swim_addr rpc_addr;	/* RPC listener; 127.0.0.1:7373 */
	char profile[8];		/* "lan", "wan" or "local" */
	char dataplane[8];		/* "socket" or "dpdk" */
	char eal[512];			/* --eal for the DPDK backend */
	unsigned port_id;		/* --port: its ethdev port; 0 */
	enum cp_log_level log_level;	/* default info */
	/* --encrypt: serf's base64 AES-256 key; "" = none. A secret:
	 * never echoed in errors or logs. */
	char encrypt[512];
	/* --keyring-file: serf's keyring (JSON array of base64 keys, the
	 * first primary); "" = none. */
	char keyring_file[1024];
	/* Built from the two above by cp_cfg_keyring_new (NULL: plaintext);
	 * owned by main, read-only once the dataplane runs. */
	struct swim_keyring *keyring;
};

/** serf's defaults: bind 0.0.0.0:7946, rpc 127.0.0.1:7373, lan, ... */
void cp_cfg_default(struct cp_cfg *cfg);

/**
 * Parse argv[1..argc-1] over the defaults already in cfg. Flags take
 * "--flag VALUE" or "--flag=VALUE". When --advertise is absent, advertise
 * = bind, except that a 0.0.0.0 bind advertises 127.0.0.1.
 * @retval 0 on success.
 * @retval 1 when --help was given (usage is in err).
 * @retval -EINVAL with a one-line reason in err.
 */
int cp_cfg_parse(struct cp_cfg *cfg, int argc, char **argv, char *err,
		 size_t errlen);

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

/** The usage text. */
extern const char cp_cfg_usage[];

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

/** Size of a buffer that holds any cp_addr_str result. */
#define CP_ADDR_STRLEN 56

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
