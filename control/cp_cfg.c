/* SPDX-License-Identifier: MIT */
/*
 * gossipd's configuration basics: serf's defaults, addresses, Go
 * durations, tags as node meta, the checks made once every source is
 * applied, and the keyring. The option table and the flag parser are
 * cp_cfg_opt.c, JSON files cp_cfg_json.c, interfaces and DNS cp_cfg_net.c.
 * Never opens sockets or logs: main() prints the one-line error, exits 2.
 */
#include "cp_cfg.h"
#include "cp_cfg_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serf.h"
#include "serf_msg.h"
#include "swim_crypto.h"

/* The Serf layer knobs: serf_cfg_default's, so there is one source. */
static void
cp_cfg_serf_defaults(struct cp_cfg *cfg)
{
	struct serf_cfg sc;

	serf_cfg_default(&sc);
	cfg->reconnect_interval_us = sc.reconnect_interval_us;
	cfg->reconnect_timeout_us = sc.reconnect_timeout_us;
	cfg->tombstone_timeout_us = sc.tombstone_timeout_us;
	cfg->broadcast_timeout_us = sc.broadcast_timeout_us;
	cfg->query_response_size_limit = sc.query_response_size_limit;
	cfg->query_size_limit = sc.query_size_limit;
	cfg->user_event_size_limit = sc.user_event_size_limit;
}

void
cp_cfg_to_serf(const struct cp_cfg *cfg, struct serf_cfg *sc)
{
	sc->reconnect_interval_us = cfg->reconnect_interval_us;
	sc->reconnect_timeout_us = cfg->reconnect_timeout_us;
	sc->tombstone_timeout_us = cfg->tombstone_timeout_us;
	sc->broadcast_timeout_us = cfg->broadcast_timeout_us;
	sc->query_response_size_limit = cfg->query_response_size_limit;
	sc->query_size_limit = cfg->query_size_limit;
	sc->user_event_size_limit = cfg->user_event_size_limit;
}

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
	snprintf(cfg->dp_power, sizeof(cfg->dp_power), "off");
	cfg->log_level = CP_LOG_INFO;
	snprintf(cfg->syslog_facility, sizeof(cfg->syslog_facility),
		 "LOCAL0");
	cp_cfg_serf_defaults(cfg);
	cfg->delta_sync = true;		/* cp_sync_delta.h */
	cfg->delta_sync_interval_us = 10ull * 1000 * 1000;
	cfg->max_queue_depth = SWIM_DEFAULT_QUEUE_DEPTH;
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

/* --- checks once every source is applied --- */

int
cp_cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
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
		return cp_cfg_errf(err, errlen, "invalid --encrypt: %s",
				   swim_crypto_strerror(n));
	return 0;
}

int
cp_cfg_finish(struct cp_cfg *cfg, char *err, size_t errlen)
{
	uint8_t meta[SWIM_META_MAX];

	/* serf: "Tags config not allowed while using tag files". */
	if (cfg->tags_file[0] != '\0' && cfg->nb_tags > 0)
		return cp_cfg_errf(err, errlen, "--tag (tags) and --tags-file "
				   "(tags_file) cannot be used together");
	if (cp_tags_encode(cfg->tags, cfg->nb_tags, meta, sizeof(meta)) < 0)
		return cp_cfg_errf(err, errlen, "tags take more than %d bytes "
				   "of node meta", SWIM_META_MAX);
	return cp_cfg_check_encrypt(cfg, err, errlen);
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
		return cp_cfg_errf(err, errlen, "encryption: %s",
				   swim_crypto_strerror(rc));
	if (cfg->keyring_file[0] != '\0')
		rc = cp_cfg_keyring_read(ring, cfg->keyring_file, err, errlen);
	if (rc == 0 && cfg->encrypt[0] != '\0') {
		rc = swim_keyring_add_base64(ring, cfg->encrypt,
					     strlen(cfg->encrypt));
		if (rc != 0)
			rc = cp_cfg_errf(err, errlen, "invalid --encrypt: %s",
					 swim_crypto_strerror(rc));
	}
	if (rc != 0) {
		swim_keyring_delete(ring);
		return -EINVAL;
	}
	*out = ring;
	return 0;
}
