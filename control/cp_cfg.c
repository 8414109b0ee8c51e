/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for gossipd. Owns nothing but struct cp_cfg; never
 * opens sockets or logs: main() prints the one-line error and exits 2.
 */
#include "cp_cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serf_msg.h"
#include "swim_crypto.h"

const char cp_cfg_usage[] =
	"usage: gossipd --name NAME --bind IP:PORT [--advertise IP:PORT] "
	"[--join IP:PORT]... [--retry-join IP:PORT]... [--retry-interval DUR] "
	"[--retry-max N] [--tag KEY=VALUE]... [--rpc-addr IP:PORT] "
	"[--profile lan|wan|local] [--dataplane socket|dpdk] [--eal \"ARGS\"] "
	"[--port N] "
	"[--log-level debug|info|warn|error] [--encrypt BASE64KEY] "
	"[--keyring-file PATH]";

void
cp_cfg_default(struct cp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->name, sizeof(cfg->name) - 1) != 0 ||
	    cfg->name[0] == '\0')
		snprintf(cfg->name, sizeof(cfg->name), "gossipd");
	cfg->bind.ip_len = 4;	/* 0.0.0.0 */
	cfg->bind.port = CP_DEFAULT_PORT;
	cfg->rpc_addr.ip_len = 4;
	cfg->rpc_addr.ip[0] = 127;
	cfg->rpc_addr.ip[3] = 1;
	cfg->rpc_addr.port = CP_DEFAULT_RPC_PORT;
	cfg->retry_interval_us = 30ull * 1000 * 1000;	/* serf's */
	snprintf(cfg->profile, sizeof(cfg->profile), "lan");
	snprintf(cfg->dataplane, sizeof(cfg->dataplane), "socket");
	cfg->log_level = CP_LOG_INFO;
}

/* Port digits only, 1..65535. */
static int
cp_port_parse(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Split "[v6]:port" / "v4:port" / bare IP into host and port strings. */
static int
cp_addr_split(const char *s, char *host, size_t cap, const char **port)
{
	const char *colon;
	size_t len;

	*port = NULL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return -EINVAL;
		len = (size_t)(rb - s - 1);
		if (rb[1] == ':')
			*port = rb + 2;
		s++;
	} else {
		colon = strchr(s, ':');
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (colon != NULL)
			*port = colon + 1;
	}
	if (len == 0 || len >= cap)
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = '\0';
	return 0;
}

int
cp_addr_parse(const char *s, uint16_t default_port, struct swim_addr *out)
{
	char host[64];
	const char *port;
	struct swim_addr a;

	memset(&a, 0, sizeof(a));
	if (s == NULL || cp_addr_split(s, host, sizeof(host), &port) != 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, a.ip) == 1)
		a.ip_len = 4;
	else if (s[0] == '[' && inet_pton(AF_INET6, host, a.ip) == 1)
		a.ip_len = 16;
	else
		return -EINVAL;
	if (port == NULL) {
		if (default_port == 0)
			return -EINVAL;
		a.port = default_port;
	} else if (cp_port_parse(port, &a.port) != 0) {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

const char *
cp_ip_str(const struct swim_addr *a, char *buf, size_t len)
{
	int af = a->ip_len == 16 ? AF_INET6 : AF_INET;

	if ((a->ip_len != 4 && a->ip_len != 16) ||
	    inet_ntop(af, a->ip, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
cp_addr_str(const struct swim_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	cp_ip_str(a, ip, sizeof(ip));
	if (a->ip_len == 16)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
	return buf;
}

/* Microseconds per Go duration unit; NULL when the unit is unknown. */
static const double *
cp_duration_unit(const char **p)
{
	static const struct {
		const char *name;
		double us;
	} units[] = {
		/* longest first so "ms" is not read as "m" */
		{"ns", 0.001}, {"us", 1}, {"\xc2\xb5s", 1}, {"ms", 1000},
		{"s", 1e6},    {"m", 60e6}, {"h", 3600e6},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(*p, units[i].name, n) == 0) {
			*p += n;
			return &units[i].us;
		}
	}
	return NULL;
}

int
cp_duration_parse(const char *s, uint64_t *us)
{
	double total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*us = 0;
		return 0;
	}
	while (*p != '\0') {
		char *end;
		const double *unit;
		double v;

		if ((*p < '0' || *p > '9') && *p != '.')
			return -EINVAL;
		v = strtod(p, &end);
		if (end == p)
			return -EINVAL;
		p = end;
		unit = cp_duration_unit(&p);
		if (unit == NULL)
			return -EINVAL;
		total += v * *unit;
	}
	if (total > 9.2e18 || total < 0)
		return -EINVAL;
	*us = (uint64_t)(total + 0.5);
	return 0;
}

void
cp_cfg_serf_tags(const struct cp_tag *tags, unsigned nb, struct serf_tag *out)
{
	for (unsigned i = 0; i < nb; i++) {
		out[i].key = tags[i].key;
		out[i].key_len = (uint32_t)strlen(tags[i].key);
		out[i].value = tags[i].value;
		out[i].value_len = (uint32_t)strlen(tags[i].value);
	}
}

int
cp_tags_encode(const struct cp_tag *tags, unsigned nb, uint8_t *out,
	       size_t cap)
{
	struct serf_tag st[CP_TAGS_MAX];
	int n;

	if (nb > CP_TAGS_MAX)
		return -E2BIG;
	cp_cfg_serf_tags(tags, nb, st);
	n = serf_msg_encode_tags(st, nb, out, cap);
	return n < 0 ? -E2BIG : n;
}

/* --- flags --- */

/* Fill err with one line; always returns -EINVAL for tail calls. */
static int
cp_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Copy v into a fixed field; fails when it does not fit or is empty. */
static int
cp_cfg_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, v, n + 1);
	return 0;
}

/* --tag KEY=VALUE; a repeated key replaces the earlier value. */
static int
cp_cfg_tag(struct cp_cfg *cfg, const char *v)
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

/* Append a seed; IP without a port means serf's default port. */
static int
cp_cfg_seed(struct swim_addr *seeds, unsigned *nb, const char *v)
{
	if (*nb == CP_SEEDS_MAX)
		return -EINVAL;
	if (cp_addr_parse(v, CP_DEFAULT_PORT, &seeds[*nb]) != 0)
		return -EINVAL;
	(*nb)++;
	return 0;
}

/* Unsigned decimal that fits an unsigned int. */
static int
cp_cfg_uint(const char *v, unsigned *out)
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

/* One of a fixed list of words. */
static int
cp_cfg_choice(char *dst, size_t cap, const char *v, const char *const *ok)
{
	for (; *ok != NULL; ok++)
		if (strcmp(v, *ok) == 0)
			return cp_cfg_str(dst, cap, v);
	return -EINVAL;
}

enum cp_flag {
	CP_F_NAME, CP_F_BIND, CP_F_ADVERTISE, CP_F_JOIN, CP_F_RETRY_JOIN,
	CP_F_RETRY_INTERVAL, CP_F_RETRY_MAX, CP_F_TAG, CP_F_RPC_ADDR,
	CP_F_PROFILE, CP_F_DATAPLANE, CP_F_EAL, CP_F_LOG_LEVEL, CP_F_ENCRYPT,
	CP_F_KEYRING_FILE, CP_F_PORT, CP_F_COUNT,
};

static const char *const cp_flag_names[CP_F_COUNT] = {
	"name", "bind", "advertise", "join", "retry-join", "retry-interval",
	"retry-max", "tag", "rpc-addr", "profile", "dataplane", "eal",
	"log-level", "encrypt", "keyring-file", "port",
};

/* What each flag's value must look like, for the error line. */
static const char *const cp_flag_want[CP_F_COUNT] = {
	"a non-empty name of at most 128 bytes", "IP:PORT", "IP:PORT",
	"IP:PORT", "IP:PORT", "a duration such as 30s or 1m",
	"a non-negative integer", "KEY=VALUE", "IP:PORT", "lan, wan or local",
	"socket or dpdk", "an EAL argument string",
	"debug, info, warn or error", "a base64 key (serf keygen)",
	"a file path", "a DPDK port number",
};

/* Apply one flag's value. @retval 0 or -EINVAL. */
static int
cp_cfg_apply(struct cp_cfg *cfg, enum cp_flag f, const char *v, bool *has_adv)
{
	static const char *const profiles[] = {"lan", "wan", "local", NULL};
	static const char *const dps[] = {"socket", "dpdk", NULL};

	switch (f) {
	case CP_F_NAME:
		return cp_cfg_str(cfg->name, sizeof(cfg->name), v);
	case CP_F_BIND:
		return cp_addr_parse(v, CP_DEFAULT_PORT, &cfg->bind);
	case CP_F_ADVERTISE:
		*has_adv = true;
		return cp_addr_parse(v, 0, &cfg->advertise);
	case CP_F_JOIN:
		return cp_cfg_seed(cfg->join, &cfg->nb_join, v);
	case CP_F_RETRY_JOIN:
		return cp_cfg_seed(cfg->retry_join, &cfg->nb_retry_join, v);
	case CP_F_RETRY_INTERVAL:
		return cp_duration_parse(v, &cfg->retry_interval_us);
	case CP_F_RETRY_MAX:
		return cp_cfg_uint(v, &cfg->retry_max);
	case CP_F_TAG:
		return cp_cfg_tag(cfg, v);
	case CP_F_RPC_ADDR:
		return cp_addr_parse(v, 0, &cfg->rpc_addr);
	case CP_F_PROFILE:
		return cp_cfg_choice(cfg->profile, sizeof(cfg->profile), v,
				     profiles);
	case CP_F_DATAPLANE:
		return cp_cfg_choice(cfg->dataplane, sizeof(cfg->dataplane),
				     v, dps);
	case CP_F_EAL:
		return cp_cfg_str(cfg->eal, sizeof(cfg->eal), v);
	case CP_F_LOG_LEVEL:
		return cp_log_level_parse(v, &cfg->log_level);
	case CP_F_ENCRYPT:
		return cp_cfg_str(cfg->encrypt, sizeof(cfg->encrypt), v);
	case CP_F_KEYRING_FILE:
		return cp_cfg_str(cfg->keyring_file, sizeof(cfg->keyring_file),
				  v);
	case CP_F_PORT:
		return cp_cfg_uint(v, &cfg->port_id);
	case CP_F_COUNT:
		break;
	}
	return -EINVAL;
}

/* Look "--name" or "--name=v" up; *v points at the inline value or NULL. */
static int
cp_flag_lookup(const char *arg, const char **v)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

	*v = eq != NULL ? eq + 1 : NULL;
	for (int f = 0; f < CP_F_COUNT; f++)
		if (strlen(cp_flag_names[f]) == n &&
		    strncmp(arg, cp_flag_names[f], n) == 0)
			return f;
	return -1;
}

/* advertise = bind, but a wildcard bind advertises 127.0.0.1. */
static void
cp_cfg_finish(struct cp_cfg *cfg, bool has_adv)
{
	static const uint8_t zero[16];

	if (has_adv)
		return;
	cfg->advertise = cfg->bind;
	if (memcmp(cfg->bind.ip, zero, cfg->bind.ip_len) == 0) {
		memset(cfg->advertise.ip, 0, sizeof(cfg->advertise.ip));
		cfg->advertise.ip_len = 4;
		cfg->advertise.ip[0] = 127;
		cfg->advertise.ip[3] = 1;
	}
}

/* --- encryption (memberlist-wire.md §8) --- */

/* A bad --encrypt is a usage error, found without libsodium's allocator:
 * decode it here so the flag fails before anything starts. */
static int
cp_cfg_check_encrypt(const struct cp_cfg *cfg, char *err, size_t errlen)
{
	uint8_t key[64];
	int n;

	if (cfg->encrypt[0] == '\0')
		return 0;
	n = swim_crypto_key_from_base64(cfg->encrypt, strlen(cfg->encrypt),
					key, sizeof(key));
	memset(key, 0, sizeof(key));
	/* AES-128, AES-192 or AES-256, as memberlist's ValidateKey */
	if (n >= 0 && n != 16 && n != 24 && n != 32)
		n = SWIM_CRYPTO_E_KEYLEN;
	if (n < 0)
		return cp_cfg_fail(err, errlen, "invalid --encrypt: %s",
				   swim_crypto_strerror(n));
	return 0;
}

/* Read a whole small file into a malloc'ed, NUL-terminated buffer. */
static char *
cp_cfg_read_file(const char *path, size_t max, size_t *len, int *err_no)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;

	*err_no = 0;
	if (f == NULL) {
		*err_no = errno;
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, max + 1, f);
		if (ferror(f) || *len > max) {
			*err_no = ferror(f) ? EIO : EFBIG;
			free(buf);
			buf = NULL;
		} else {
			buf[*len] = '\0';
		}
	} else {
		*err_no = ENOMEM;
	}
	fclose(f);
	return buf;
}

/* Install serf's keyring file into ring. */
static int
cp_cfg_keyring_file(struct swim_keyring *ring, const char *path, char *err,
		    size_t errlen)
{
	size_t len = 0;
	int err_no;
	char *text = cp_cfg_read_file(path, 64 * 1024, &len, &err_no);
	int rc;

	if (text == NULL)
		return cp_cfg_fail(err, errlen, "invalid --keyring-file %s: %s",
				   path, strerror(err_no));
	rc = swim_keyring_add_json(ring, text, len);
	memset(text, 0, len);
	free(text);
	if (rc < 0)
		return cp_cfg_fail(err, errlen, "invalid --keyring-file %s: %s",
				   path, swim_crypto_strerror(rc));
	return 0;
}

int
cp_cfg_keyring_new(const struct cp_cfg *cfg, struct swim_keyring **out,
		   char *err, size_t errlen)
{
	struct swim_keyring *ring;
	int rc = 0;

	*out = NULL;
	if (cfg->encrypt[0] == '\0' && cfg->keyring_file[0] == '\0')
		return 0;
	ring = swim_keyring_new(&rc);
	if (ring == NULL)
		return cp_cfg_fail(err, errlen, "encryption: %s",
				   swim_crypto_strerror(rc));
	if (cfg->keyring_file[0] != '\0')
		rc = cp_cfg_keyring_file(ring, cfg->keyring_file, err, errlen);
	if (rc == 0 && cfg->encrypt[0] != '\0') {
		rc = swim_keyring_add_base64(ring, cfg->encrypt,
					     strlen(cfg->encrypt));
		if (rc != 0)
			rc = cp_cfg_fail(err, errlen, "invalid --encrypt: %s",
					 swim_crypto_strerror(rc));
	}
	if (rc != 0) {
		swim_keyring_delete(ring);
		return -EINVAL;
	}
	*out = ring;
	return 0;
}

int
cp_cfg_parse(struct cp_cfg *cfg, int argc, char **argv, char *err,
	     size_t errlen)
{
	uint8_t meta[SWIM_META_MAX];
	bool has_adv = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *v;
		int f, rc;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			snprintf(err, errlen, "%s", cp_cfg_usage);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0)
			return cp_cfg_fail(err, errlen,
					   "unexpected argument \"%s\"", arg);
		f = cp_flag_lookup(arg + 2, &v);
		if (f < 0)
			return cp_cfg_fail(err, errlen, "unknown flag \"%s\"",
					   arg);
		if (v == NULL) {
			if (i + 1 >= argc)
				return cp_cfg_fail(err, errlen,
						   "flag --%s needs a value (%s)",
						   cp_flag_names[f],
						   cp_flag_want[f]);
			v = argv[++i];
		}
		rc = cp_cfg_apply(cfg, (enum cp_flag)f, v, &has_adv);
		/* The key is a secret: never echo it. */
		if (rc != 0 && f == CP_F_ENCRYPT)
			return cp_cfg_fail(err, errlen, "invalid --encrypt: "
					   "want %s", cp_flag_want[f]);
		if (rc != 0)
			return cp_cfg_fail(err, errlen,
					   "invalid --%s \"%s\": want %s",
					   cp_flag_names[f], v,
					   cp_flag_want[f]);
	}
	cp_cfg_finish(cfg, has_adv);
	if (cp_tags_encode(cfg->tags, cfg->nb_tags, meta, sizeof(meta)) < 0)
		return cp_cfg_fail(err, errlen, "tags take more than %d bytes "
				   "of node meta", SWIM_META_MAX);
	return cp_cfg_check_encrypt(cfg, err, errlen);
}
