/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Inside cp_cfg: the option table shared by the flag parser, --help and
 * the JSON config-file parser. One row per option; a subsystem adds its
 * option by adding a row (and its setter) to cp_cfg_opt.c.
 */
#ifndef CP_CFG_INT_H_INCLUDED
#define CP_CFG_INT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "cp_cfg.h"

/** The JSON type of an option's value; also how its flag takes one. */
enum cp_opt_json {
	CP_J_STR,	/* "text"; the flag takes one value */
	CP_J_BOOL,	/* true/false; the flag takes none ("--rejoin") */
	CP_J_INT,	/* a non-negative integer */
	CP_J_LIST,	/* ["a", "b"]; the flag repeats, each appends */
	CP_J_MAP,	/* {"k": "v"}; the flag takes KEY=VALUE, repeats */
	CP_J_NONE,	/* flag only (--config-file, --help, ...) */
};

/** What a flag does beyond setting a value. */
enum cp_opt_special {
	CP_S_NONE,
	CP_S_CONFIG_FILE,
	CP_S_CONFIG_DIR,
	CP_S_HELP,
	CP_S_VERSION,
};

struct cp_opt {
	const char *flag;	/* without "--"; NULL: config file only */
	const char *key;	/* serf's JSON key; NULL: flag only */
	enum cp_opt_json json;
	enum cp_opt_special special;
	/* Apply one text value (a list element, a KEY=VALUE for maps,
	 * "true"/"false" for booleans). @retval 0 or -EINVAL. */
	int (*set)(struct cp_cfg *cfg, const char *v);
	const char *arg;	/* the value's shape in --help: "IP:PORT" */
	const char *want;	/* what a bad value should have been */
	const char *def;	/* the default as --help shows it; NULL none */
	const char *help;	/* one line of meaning */
	bool is_secret;		/* never echo the value */
};

/** The table, and its length. */
extern const struct cp_opt cp_opts[];
extern const unsigned cp_nb_opts;

/** Find by flag name (n bytes) or by JSON key. @retval the row or NULL. */
const struct cp_opt *cp_opt_by_flag(const char *name, size_t n);
const struct cp_opt *cp_opt_by_key(const char *key);
/** A key serf has and gossipd does not. */
bool cp_opt_is_serf_only(const char *key);

struct swim_keyring;
/** Install serf's keyring file's keys into ring (jansson). @retval 0 or
 * -EINVAL with "invalid --keyring-file PATH: why" in err. */
int cp_cfg_keyring_read(struct swim_keyring *ring, const char *path,
			char *err, size_t errlen);

/** Fill err with one line. @retval -EINVAL, for tail calls. */
int cp_cfg_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* CP_CFG_INT_H_INCLUDED */
