/* SPDX-License-Identifier: MIT */
/*
 * gossipctl's `members` and `info`: decode the replies and print them the
 * way `serf members` / `serf info` do (columnize with two-space glue and
 * trailing blanks trimmed; sorted sections and keys), or as JSON laid out
 * like Go's json.MarshalIndent(v, "", "  "). Tags are printed sorted by key
 * (serf prints them in Go's random map order).
 */
#include "gossipctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most members/tags/stats we keep from one reply. */
#define CTL_LIST_MAX (1u << 20)

/* A decoded key/value string pair. */
struct ctl_kv {
	char *k;	/* heap, NUL-terminated */
	char *v;	/* heap, NUL-terminated */
};

/* One member of a members reply. */
struct ctl_member {
	char *name;		/* heap */
	char addr[64];		/* IP text, no brackets */
	char hostport[80];	/* as Go's TCPAddr.String(): ip:port */
	uint64_t port;		/* gossip port */
	char *status;		/* heap */
	struct ctl_kv *tags;	/* sorted by key */
	uint32_t nb_tags;	/* count */
	uint64_t dmin, dmax, dcur;	/* Serf (delegate) protocol */
	bool has_inc;		/* Incarnation was sent (gossipd) */
	uint64_t inc;		/* its value */
};

static char *
ctl_strndup(const char *s, uint32_t n)
{
	char *d = malloc((size_t)n + 1);
	if (d != NULL) {
		if (n != 0)
			memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int
ctl_kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctl_kv *)a)->k,
		      ((const struct ctl_kv *)b)->k);
}

/* A map[string]string into a key-sorted array. */
static int
ctl_dec_kvs(const char **p, const char *end, struct ctl_kv **out,
	    uint32_t *nb)
{
	uint32_t n;
	*out = NULL;
	*nb = 0;
	if (cp_rpc_dec_map(p, end, &n) != 0 || n > CTL_LIST_MAX)
		return -EBADMSG;
	*out = calloc((size_t)n + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *v;
		uint32_t kl, vl;
		if (cp_rpc_dec_strn(p, end, &k, &kl) != 0 ||
		    cp_rpc_dec_strn(p, end, &v, &vl) != 0)
			return -EBADMSG;
		(*out)[i].k = ctl_strndup(k, kl);
		(*out)[i].v = ctl_strndup(v, vl);
		*nb = i + 1;
		if ((*out)[i].k == NULL || (*out)[i].v == NULL)
			return -ENOMEM;
	}
	qsort(*out, *nb, sizeof(**out), ctl_kv_cmp);
	return 0;
}

static void
ctl_kvs_free(struct ctl_kv *kv, uint32_t n)
{
	for (uint32_t i = 0; kv != NULL && i < n; i++) {
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
}

/* Addr bytes (4 or 16, or a str) to text, as Go's net.IP.String(). */
static void
ctl_addr_text(struct ctl_member *m, const char *a, uint32_t len)
{
	struct in6_addr v6;
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (len == 4) {
		inet_ntop(AF_INET, a, m->addr, sizeof(m->addr));
	} else if (len == 16 && memcmp(a, v4mapped, 12) == 0) {
		inet_ntop(AF_INET, a + 12, m->addr, sizeof(m->addr));
	} else if (len == 16) {
		memcpy(&v6, a, 16);
		inet_ntop(AF_INET6, &v6, m->addr, sizeof(m->addr));
	} else {
		snprintf(m->addr, sizeof(m->addr), "<nil>");
	}
	bool is6 = strchr(m->addr, ':') != NULL;
	snprintf(m->hostport, sizeof(m->hostport), is6 ? "[%s]:%llu" :
		 "%s:%llu", m->addr, (unsigned long long)m->port);
}

/* One Member map; unknown keys skipped, missing ones stay zero. */
static int
ctl_dec_member(const char **p, const char *end, struct ctl_member *m)
{
	uint32_t n, kl, sl, alen = 0;
	const char *k, *s, *addr = NULL;
	if (cp_rpc_dec_map(p, end, &n) != 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		int rc = cp_rpc_dec_strn(p, end, &k, &kl);
		if (rc == 0 && cp_rpc_key_is(k, kl, "Name")) {
			rc = cp_rpc_dec_strn(p, end, &s, &sl);
			m->name = rc == 0 ? ctl_strndup(s, sl) : NULL;
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Status")) {
			rc = cp_rpc_dec_strn(p, end, &s, &sl);
			m->status = rc == 0 ? ctl_strndup(s, sl) : NULL;
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Addr")) {
			rc = cp_rpc_dec_strn(p, end, &addr, &alen);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Port")) {
			rc = cp_rpc_dec_uint(p, end, UINT16_MAX, &m->port);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Tags")) {
			rc = ctl_dec_kvs(p, end, &m->tags, &m->nb_tags);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "DelegateMin")) {
			rc = cp_rpc_dec_uint(p, end, UINT8_MAX, &m->dmin);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "DelegateMax")) {
			rc = cp_rpc_dec_uint(p, end, UINT8_MAX, &m->dmax);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "DelegateCur")) {
			rc = cp_rpc_dec_uint(p, end, UINT8_MAX, &m->dcur);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Incarnation")) {
			rc = cp_rpc_dec_uint(p, end, UINT64_MAX, &m->inc);
			m->has_inc = rc == 0;
		} else if (rc == 0) {
			cp_rpc_dec_skip(p, end);
		}
		if (rc != 0)
			return -EBADMSG;
	}
	ctl_addr_text(m, addr, alen);
	if (m->name == NULL)
		m->name = ctl_strndup("", 0);
	if (m->status == NULL)
		m->status = ctl_strndup("", 0);
	return m->name != NULL && m->status != NULL ? 0 : -ENOMEM;
}

static void
ctl_members_free(struct ctl_member *ms, uint32_t n)
{
	for (uint32_t i = 0; ms != NULL && i < n; i++) {
		free(ms[i].name);
		free(ms[i].status);
		ctl_kvs_free(ms[i].tags, ms[i].nb_tags);
	}
	free(ms);
}

/*
 * The Members array of a reply map {..., Members: [...], ...}: begin()
 * gets its count, record() each record in turn (it must consume it);
 * other keys are skipped. A count larger than the bytes left lies (a
 * record takes more than a byte): -EBADMSG. The decoder and the tally
 * walk a reply the same way through this.
 */
struct ctl_members_walk {
	int (*begin)(void *ctx, uint32_t cnt);
	int (*record)(void *ctx, const char **p, const char *end, uint32_t j);
	void *ctx;
};

static int
ctl_members_walk(const char *p, const char *end,
		 const struct ctl_members_walk *w)
{
	uint32_t n, kl, cnt;
	const char *k;

	if (cp_rpc_dec_map(&p, end, &n) != 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		if (cp_rpc_dec_strn(&p, end, &k, &kl) != 0)
			return -EBADMSG;
		if (!cp_rpc_key_is(k, kl, "Members")) {
			cp_rpc_dec_skip(&p, end);
			continue;
		}
		if (cp_rpc_dec_array(&p, end, &cnt) != 0 ||
		    cnt > (size_t)(end - p))
			return -EBADMSG;
		int rc = w->begin(w->ctx, cnt);
		for (uint32_t j = 0; rc == 0 && j < cnt; j++)
			rc = w->record(w->ctx, &p, end, j);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct ctl_dec_ctx {
	struct ctl_member **out;
	uint32_t *nb;
};

static int
ctl_dec_begin(void *ctx, uint32_t cnt)
{
	struct ctl_dec_ctx *d = ctx;

	if (*d->out != NULL)		/* a second Members array */
		return -EBADMSG;
	*d->out = calloc((size_t)cnt + 1, sizeof(**d->out));
	return *d->out != NULL ? 0 : -ENOMEM;
}

static int
ctl_dec_record(void *ctx, const char **p, const char *end, uint32_t j)
{
	struct ctl_dec_ctx *d = ctx;

	*d->nb = j + 1;
	return ctl_dec_member(p, end, &(*d->out)[j]);
}

/* {Members: [...]} into an array. */
static int
ctl_dec_members(const char *p, const char *end, struct ctl_member **out,
		uint32_t *nb)
{
	struct ctl_dec_ctx d = { out, nb };
	const struct ctl_members_walk w = {
		ctl_dec_begin, ctl_dec_record, &d,
	};

	*out = NULL;
	*nb = 0;
	return ctl_members_walk(p, end, &w);
}

/* --- JSON output (jansson), laid out as Go's json.MarshalIndent --- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t
ctl_utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 :
		     (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;

	if (len == 0 || len > n || (len == 2 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && p[0] == 0xe0 && p[1] < 0xa0) ||
	    (len == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) ||
			  (p[0] == 0xf4 && p[1] >= 0x90) || p[0] > 0xf4)))
		return 0;
	return len;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD, as Go. */
static json_t *
ctl_json_string(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *fixed;
	json_t *j = json_stringn(s, n);

	if (j != NULL || (fixed = malloc(n * 3 + 1)) == NULL)
		return j;
	for (size_t i = 0; i < n;) {
		size_t l = ctl_utf8_len((const unsigned char *)s + i, n - i);

		if (l == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(fixed + o, s + i, l);
		o += l;
		i += l;
	}
	j = json_stringn(fixed, o);
	free(fixed);
	return j;
}

/* A string map as an object, in the array's (sorted) order. */
static json_t *
ctl_json_kvs(const struct ctl_kv *kv, uint32_t n)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o != NULL && i < n; i++)
		json_object_set_new(o, kv[i].k, ctl_json_string(kv[i].v));
	return o;
}

/* Print jansson's two-space dump with Go's escapes on top: <, >, & and
 * U+2028/9 as \uXXXX, \b and \f as \u0008 and \u000c. */
static void
ctl_json_print(json_t *v)
{
	char *text = v != NULL ? json_dumps(v, JSON_INDENT(2) |
					    JSON_PRESERVE_ORDER |
					    JSON_ENCODE_ANY)
			       : NULL;

	json_decref(v);
	if (text == NULL) {
		puts("null");
		return;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\\' && (p[1] == 'b' || p[1] == 'f'))
			printf("\\u%04x", *++p == 'b' ? 8 : 12);
		else if (*p == '\\')
			putchar(*p++), putchar(*p);
		else if (*p == '<' || *p == '>' || *p == '&')
			printf("\\u%04x", (unsigned char)*p);
		else if (strncmp(p, "\xe2\x80\xa8", 3) == 0 ||
			 strncmp(p, "\xe2\x80\xa9", 3) == 0)
			printf("\\u%04x", 0x2028 + (p[2] & 1)), p += 2;
		else
			putchar(*p);
	}
	putchar('\n');
	free(text);
}

static void
ctl_members_json(const struct ctl_member *ms, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < n; i++) {
		const struct ctl_member *m = &ms[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", ctl_json_string(m->name));
		json_object_set_new(o, "addr", ctl_json_string(m->addr));
		json_object_set_new(o, "port", json_integer((json_int_t)m->port));
		json_object_set_new(o, "status", ctl_json_string(m->status));
		json_object_set_new(o, "tags", ctl_json_kvs(m->tags,
							    m->nb_tags));
		json_object_set_new(o, "incarnation",
				    m->has_inc ? json_integer((json_int_t)m->inc)
					       : json_null());
		json_array_append_new(a, o);
	}
	ctl_json_print(a);
}

#define CTL_COLS 6
/* One table row: up to CTL_COLS heap strings. */
struct ctl_row {
	char *col[CTL_COLS];
};

/*
 * serf's table: columnize.SimpleFormat pads every column but the last and
 * glues with two spaces; serf then trims trailing blanks of the whole
 * output only, so inner lines may keep trailing spaces (verified).
 */
static void
ctl_columnize(struct ctl_row *rows, uint32_t n, int ncols)
{
	size_t w[CTL_COLS] = { 0 };
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < ncols; j++) {
			size_t l = strlen(rows[i].col[j]);
			w[j] = l > w[j] ? l : w[j];
		}
	}
	size_t pending = 0;	/* blanks held back: trailing if output ends */
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < ncols; j++) {
			const char *s = rows[i].col[j];
			size_t pad = j + 1 < ncols ? w[j] - strlen(s) + 2 : 0;
			if (s[0] != '\0') {
				printf("%*s%s", (int)pending, "", s);
				pending = 0;
			}
			pending += pad;
		}
		if (i + 1 < n) {
			printf("%*s\n", (int)pending, "");
			pending = 0;
		}
	}
	putchar('\n');	/* an empty table prints as one empty line */
}

/* "k=v,k=v" of a member's sorted tags. */
static char *
ctl_tags_text(const struct ctl_member *m)
{
	size_t len = 1;
	for (uint32_t i = 0; i < m->nb_tags; i++)
		len += strlen(m->tags[i].k) + strlen(m->tags[i].v) + 2;
	char *s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (uint32_t i = 0; i < m->nb_tags; i++) {
		if (i != 0)
			strcat(s, ",");
		strcat(s, m->tags[i].k);
		strcat(s, "=");
		strcat(s, m->tags[i].v);
	}
	return s;
}

static int
ctl_members_text(const struct ctl_member *ms, uint32_t n, bool detailed)
{
	int ncols = detailed ? 6 : 4;
	struct ctl_row *rows = calloc((size_t)n + 1, sizeof(*rows));
	if (rows == NULL)
		return -ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ctl_member *m = &ms[i];
		rows[i].col[0] = strdup(m->name);
		rows[i].col[1] = strdup(m->hostport);
		rows[i].col[2] = strdup(m->status);
		rows[i].col[3] = ctl_tags_text(m);
		if (detailed &&
		    (asprintf(&rows[i].col[4], "Protocol Version: %llu",
			      (unsigned long long)m->dcur) < 0 ||
		     asprintf(&rows[i].col[5],
			      "Available Protocol Range: [%llu, %llu]",
			      (unsigned long long)m->dmin,
			      (unsigned long long)m->dmax) < 0))
			rows[i].col[4] = rows[i].col[5] = NULL;
		for (int j = 0; j < ncols; j++)
			rc = rows[i].col[j] == NULL ? -ENOMEM : rc;
	}
	if (rc == 0)
		ctl_columnize(rows, n, ncols);
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < CTL_COLS; j++)
			free(rows[i].col[j]);
	}
	free(rows);
	return rc;
}

/* The Status of one Member record at *p. @retval 0 or -EBADMSG. */
static int
ctl_record_status(const char **p, const char *end, const char **st,
		  uint32_t *sl)
{
	uint32_t n, kl;
	const char *k;

	*st = "";
	*sl = 0;
	if (cp_rpc_dec_map(p, end, &n) != 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		if (cp_rpc_dec_strn(p, end, &k, &kl) != 0)
			return -EBADMSG;
		if (cp_rpc_key_is(k, kl, "Status")) {
			if (cp_rpc_dec_strn(p, end, st, sl) != 0)
				return -EBADMSG;
		} else {
			cp_rpc_dec_skip(p, end);	/* body checked whole */
		}
	}
	return 0;
}

struct ctl_tally {
	uint64_t nb[5];			/* alive, leaving, left, failed, other */
	uint32_t cnt;
};

static int
ctl_tally_begin(void *ctx, uint32_t cnt)
{
	((struct ctl_tally *)ctx)->cnt = cnt;
	return 0;
}

static int
ctl_tally_record(void *ctx, const char **p, const char *end, uint32_t j)
{
	static const char *const names[] = {
		"alive", "leaving", "left", "failed",
	};
	struct ctl_tally *t = ctx;
	const char *st;
	uint32_t sl, s = 0;

	(void)j;
	if (ctl_record_status(p, end, &st, &sl) != 0)
		return -EBADMSG;
	while (s < 4 && (strlen(names[s]) != sl ||
			 memcmp(names[s], st, sl) != 0))
		s++;
	t->nb[s]++;
	return 0;
}

/*
 * --count: the number of members; --summary: one line, the number and
 * how many are in each status, in serf's status order. Walks the reply
 * without building the list (a pool of any size).
 */
static int
ctl_members_tally(const char *p, const char *end, bool summary)
{
	struct ctl_tally t = { { 0 }, 0 };
	const struct ctl_members_walk w = {
		ctl_tally_begin, ctl_tally_record, &t,
	};
	int rc = ctl_members_walk(p, end, &w);

	if (rc != 0)
		return rc;
	if (!summary) {
		printf("%u\n", t.cnt);
		return 0;
	}
	printf("%u members: %llu alive, %llu leaving, %llu left, "
	       "%llu failed", t.cnt, (unsigned long long)t.nb[0],
	       (unsigned long long)t.nb[1], (unsigned long long)t.nb[2],
	       (unsigned long long)t.nb[3]);
	if (t.nb[4] != 0)
		printf(", %llu other", (unsigned long long)t.nb[4]);
	printf("\n");
	return 0;
}

int
ctl_members(struct ctl_conn *c, const struct ctl_opts *o)
{
	struct cp_rpc_buf b;
	char err[4096];
	size_t bl;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_map(&b, 4);
	cp_rpc_enc_str(&b, "Incarnation");	/* gossipd extension */
	cp_rpc_enc_bool(&b, true);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, o->name);
	cp_rpc_enc_str(&b, "Status");
	cp_rpc_enc_str(&b, o->status);
	cp_rpc_enc_str(&b, "Tags");
	cp_rpc_enc_map(&b, (uint32_t)o->nb_kv);
	for (int i = 0; i < o->nb_kv; i++) {
		const char *eq = strchr(o->kv[i], '=');
		cp_rpc_enc_strn(&b, o->kv[i], (uint32_t)(eq - o->kv[i]));
		cp_rpc_enc_str(&b, eq + 1);
	}
	int rc = ctl_call(c, "members-filtered", &b, true, &bl, err,
			  sizeof(err));
	cp_rpc_buf_destroy(&b);
	if (rc == 0 && err[0] == '\0' && (o->count || o->summary)) {
		rc = ctl_members_tally(c->in, c->in + bl, o->summary);
		if (rc == 0)
			return 0;
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
		ctl_err("Error retrieving members: %s", err);
		return CTL_EXIT_RPC;
	}
	struct ctl_member *ms = NULL;
	uint32_t n = 0;
	if (rc == 0 && err[0] == '\0')
		rc = ctl_dec_members(c->in, c->in + bl, &ms, &n);
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
	if (err[0] == '\0' && o->json)
		ctl_members_json(ms, n);
	else if (err[0] == '\0' && ctl_members_text(ms, n, o->detailed) != 0)
		snprintf(err, sizeof(err), "out of memory");
	ctl_members_free(ms, n);
	if (err[0] == '\0')
		return 0;
	ctl_err("Error retrieving members: %s", err);
	return CTL_EXIT_RPC;
}

/* One stats section. */
struct ctl_section {
	char *name;		/* heap */
	struct ctl_kv *kv;	/* sorted */
	uint32_t n;		/* count */
};

static int
ctl_section_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctl_section *)a)->name,
		      ((const struct ctl_section *)b)->name);
}

static int
ctl_dec_stats(const char *p, const char *end, struct ctl_section **out,
	      uint32_t *nb)
{
	uint32_t n, kl;
	const char *k;
	*nb = 0;
	if (cp_rpc_dec_map(&p, end, &n) != 0 || n > CTL_LIST_MAX)
		return -EBADMSG;
	*out = calloc((size_t)n + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (cp_rpc_dec_strn(&p, end, &k, &kl) != 0)
			return -EBADMSG;
		*nb = i + 1;
		(*out)[i].name = ctl_strndup(k, kl);
		int rc = ctl_dec_kvs(&p, end, &(*out)[i].kv, &(*out)[i].n);
		if (rc != 0 || (*out)[i].name == NULL)
			return rc != 0 ? rc : -ENOMEM;
	}
	qsort(*out, *nb, sizeof(**out), ctl_section_cmp);
	return 0;
}

static void
ctl_info_print(const struct ctl_section *s, uint32_t n, bool json)
{
	json_t *o = json ? json_object() : NULL;

	for (uint32_t i = 0; i < n; i++) {
		if (json) {
			json_object_set_new(o, s[i].name,
					    ctl_json_kvs(s[i].kv, s[i].n));
			continue;
		}
		printf("%s:\n", s[i].name);
		for (uint32_t j = 0; j < s[i].n; j++)
			printf("\t%s = %s\n", s[i].kv[j].k, s[i].kv[j].v);
	}
	if (json)
		ctl_json_print(o);
}

int
ctl_info(struct ctl_conn *c, const struct ctl_opts *o)
{
	char err[4096];
	size_t bl;
	struct ctl_section *s = NULL;
	uint32_t n = 0;
	int rc = ctl_call(c, "stats", NULL, true, &bl, err, sizeof(err));
	if (rc == 0 && err[0] == '\0')
		rc = ctl_dec_stats(c->in, c->in + bl, &s, &n);
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
	if (err[0] == '\0')
		ctl_info_print(s, n, o->json);
	for (uint32_t i = 0; s != NULL && i < n; i++) {
		free(s[i].name);
		ctl_kvs_free(s[i].kv, s[i].n);
	}
	free(s);
	if (err[0] == '\0')
		return 0;
	ctl_err("Error querying agent: %s", err);
	return CTL_EXIT_RPC;
}
