/* SPDX-License-Identifier: MIT */
/*
 * The pure half of the event handlers (cp_handler.h): --event-handler
 * parsing and matching as serf's event_handler.go, the stdin layouts and
 * the environment as serf's invoke.go builds them.
 */
#include "cp_handler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event types a filter may name (serf's EventFilter.Valid). */
static int
cp_handler_kind(const char *s, size_t len)
{
	for (int k = SERF_EV_MEMBER_JOIN; k <= SERF_EV_QUERY; k++)
		if (strlen(serf_event_kind_str[k]) == len &&
		    memcmp(serf_event_kind_str[k], s, len) == 0)
			return k;
	if (len == 1 && s[0] == '*')
		return CP_HF_ANY;
	return -2;
}

/* One filter of a comma list into out (script already copied). */
static int
cp_handler_filter(const char *f, size_t len, struct cp_hscript *out)
{
	static const char *const named[] = {"user:", "query:"};
	static const int kinds[] = {SERF_EV_USER, SERF_EV_QUERY};

	out->name[0] = '\0';
	for (unsigned i = 0; i < 2; i++) {
		size_t pl = strlen(named[i]);

		if (len < pl || memcmp(f, named[i], pl) != 0)
			continue;
		if (len - pl > SWIM_NAME_MAX)
			return -EINVAL;
		memcpy(out->name, f + pl, len - pl);
		out->name[len - pl] = '\0';
		out->kind = kinds[i];
		return 0;
	}
	out->kind = cp_handler_kind(f, len);
	return out->kind == -2 ? -EINVAL : 0;
}

int
cp_handler_parse(const char *spec, struct cp_hscript *out, unsigned cap,
		 char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	const char *script = eq != NULL ? eq + 1 : spec;
	const char *f = eq != NULL ? spec : "*";
	size_t flen = eq != NULL ? (size_t)(eq - spec) : 1;
	unsigned n = 0;

	if (flen == 0) {	/* "=script": serf's empty filter, every event */
		f = "*";
		flen = 1;
	}
	if (strlen(script) >= CP_HANDLER_LEN) {
		snprintf(err, errlen, "Invalid event script: script too long");
		return -EINVAL;
	}
	for (const char *p = f, *end = f + flen; p <= end; n++) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t len = c != NULL ? (size_t)(c - p) : (size_t)(end - p);

		if (n == cap) {
			snprintf(err, errlen, "too many event handlers "
				 "(at most %u filters)", cap);
			return -E2BIG;
		}
		snprintf(out[n].script, sizeof(out[n].script), "%s", script);
		if (cp_handler_filter(p, len, &out[n]) != 0) {
			snprintf(err, errlen, "Invalid event script: Event "
				 "'%.*s' invoking '%s'", (int)len, p, script);
			return -EINVAL;
		}
		p += len + 1;
	}
	return (int)n;
}

int
cp_hset_parse(struct cp_hset *set, const char (*specs)[CP_HANDLER_LEN],
	      unsigned nb, char *err, size_t errlen)
{
	struct cp_hscript *v = calloc(CP_HSCRIPTS_MAX, sizeof(*v));
	unsigned n = 0;

	set->v = NULL;
	set->nb = 0;
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nb; i++) {
		int rc = cp_handler_parse(specs[i], v + n, CP_HSCRIPTS_MAX - n,
					  err, errlen);

		if (rc < 0) {
			free(v);
			return rc;
		}
		n += (unsigned)rc;
	}
	set->v = v;
	set->nb = n;
	return 0;
}

void
cp_hset_free(struct cp_hset *set)
{
	if (set == NULL)
		return;
	free(set->v);
	set->v = NULL;
	set->nb = 0;
}

bool
cp_hscript_match(const struct cp_hscript *s, const struct cp_hevent *ev)
{
	if (s->kind == CP_HF_ANY)
		return true;
	if (s->kind != (int)ev->kind)
		return false;
	if ((s->kind == SERF_EV_USER || s->kind == SERF_EV_QUERY) &&
	    s->name[0] != '\0')
		return strcmp(s->name, ev->name) == 0;
	return true;
}

struct cp_hevent *
cp_hevent_new(enum serf_event_kind kind, const char *name, const uint8_t *in,
	      size_t in_len)
{
	struct cp_hevent *ev = malloc(sizeof(*ev) + in_len);

	if (ev == NULL)
		return NULL;
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	snprintf(ev->name, sizeof(ev->name), "%s", name != NULL ? name : "");
	ev->in_len = in_len;
	if (in != NULL && in_len > 0)
		memcpy(ev->in, in, in_len);
	return ev;
}

struct cp_hevent *
cp_hevent_payload(enum serf_event_kind kind, const char *name,
		  const uint8_t *payload, size_t len)
{
	bool nl = len > 0 && payload[len - 1] != '\n';
	struct cp_hevent *ev = cp_hevent_new(kind, name, payload, len + nl);

	if (ev != NULL && nl)
		ev->in[len] = '\n';	/* "most shells' read need one" */
	return ev;
}

/* --- member lines --- */

/* Append s[0..len) with serf's eventClean (\t and \n escaped). */
static bool
cp_handler_clean(char **o, char *end, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool esc = s[i] == '\t' || s[i] == '\n';

		if (*o + 1 + esc >= end)
			return false;
		if (esc) {
			*(*o)++ = '\\';
			*(*o)++ = s[i] == '\t' ? 't' : 'n';
		} else {
			*(*o)++ = s[i];
		}
	}
	return true;
}

static bool
cp_handler_put(char **o, char *end, char c)
{
	if (*o + 1 >= end)
		return false;
	*(*o)++ = c;
	return true;
}

static int
cp_handler_tag_cmp(const void *a, const void *b)
{
	const struct serf_tag *x = *(const struct serf_tag *const *)a;
	const struct serf_tag *y = *(const struct serf_tag *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* "k=v,k=v" sorted by key, eventClean'd as one string. */
static bool
cp_handler_tags(char **o, char *end, const struct serf_tag *tags,
		unsigned nb)
{
	const struct serf_tag *s[SERF_TAGS_MAX];

	if (nb > SERF_TAGS_MAX)
		nb = SERF_TAGS_MAX;
	for (unsigned i = 0; i < nb; i++)
		s[i] = &tags[i];
	qsort(s, nb, sizeof(s[0]), cp_handler_tag_cmp);
	for (unsigned i = 0; i < nb; i++)
		if ((i > 0 && !cp_handler_put(o, end, ',')) ||
		    !cp_handler_clean(o, end, s[i]->key, s[i]->key_len) ||
		    !cp_handler_put(o, end, '=') ||
		    !cp_handler_clean(o, end, s[i]->value, s[i]->value_len))
			return false;
	return true;
}

static const struct serf_tag *
cp_handler_find_tag(const struct serf_tag *tags, unsigned nb, const char *k)
{
	size_t kl = strlen(k);

	for (unsigned i = 0; i < nb; i++)
		if (tags[i].key_len == kl && memcmp(tags[i].key, k, kl) == 0)
			return &tags[i];
	return NULL;
}

int
cp_handler_member_line(const char *name, const char *addr,
		       const struct serf_tag *tags, unsigned nb_tags,
		       char *out, size_t cap)
{
	const struct serf_tag *role = cp_handler_find_tag(tags, nb_tags,
							   "role");
	char *o = out, *end = out + cap;

	if (cap == 0)
		return -E2BIG;
	if (!cp_handler_clean(&o, end, name, strlen(name)) ||
	    !cp_handler_put(&o, end, '\t') ||
	    !cp_handler_clean(&o, end, addr, strlen(addr)) ||
	    !cp_handler_put(&o, end, '\t') ||
	    (role != NULL &&
	     !cp_handler_clean(&o, end, role->value, role->value_len)) ||
	    !cp_handler_put(&o, end, '\t') ||
	    !cp_handler_tags(&o, end, tags, nb_tags) ||
	    !cp_handler_put(&o, end, '\n')) {
		out[0] = '\0';
		return -E2BIG;
	}
	*o = '\0';
	return (int)(o - out);
}

/* --- the environment --- */

int
cp_handler_tag_var(const char *key, size_t key_len, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < key_len; n++) {
		unsigned char c = (unsigned char)key[i++];

		if (n + 1 >= cap)
			return -E2BIG;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c >= 0xc0)	/* one rune: skip its continuation bytes */
			while (i < key_len &&
			       ((unsigned char)key[i] & 0xc0) == 0x80)
				i++;
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			c = '_';
		out[n] = (char)c;
	}
	if (cap == 0)
		return -E2BIG;
	out[n] = '\0';
	return (int)n;
}

/* A growing NULL-terminated array of "K=V" strings. */
struct cp_henv {
	char **v;
	size_t nb, cap;
	bool is_oom;
};

/* Add or replace (Go's exec keeps the last value of a duplicate). */
static void
cp_henv_set(struct cp_henv *e, char *kv)
{
	size_t kl;

	if (kv == NULL || e->is_oom) {
		e->is_oom = true;
		free(kv);
		return;
	}
	kl = strcspn(kv, "=");
	for (size_t i = 0; i < e->nb; i++)
		if (strncmp(e->v[i], kv, kl + 1) == 0) {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	if (e->nb + 2 > e->cap) {
		size_t cap = e->cap * 2 + 32;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL) {
			e->is_oom = true;
			free(kv);
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->nb++] = kv;
	e->v[e->nb] = NULL;
}

static char *
cp_henv_fmt(const char *k, const char *v, size_t vlen)
{
	size_t kl = strlen(k);
	char *s = malloc(kl + vlen + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, k, kl);
	s[kl] = '=';
	memcpy(s + kl + 1, v, vlen);
	s[kl + 1 + vlen] = '\0';
	return s;
}

static void
cp_henv_self(struct cp_henv *e, const struct cp_hself *self)
{
	const struct serf_tag *role = cp_handler_find_tag(
		self->tags, self->nb_tags, "role");
	char var[CP_TAG_LEN_MAX + 16];

	cp_henv_set(e, cp_henv_fmt("SERF_SELF_NAME", self->name,
				   strlen(self->name)));
	cp_henv_set(e, cp_henv_fmt("SERF_SELF_ROLE",
				   role != NULL ? role->value : "",
				   role != NULL ? role->value_len : 0));
	for (unsigned i = 0; i < self->nb_tags; i++) {
		const struct serf_tag *t = &self->tags[i];

		memcpy(var, "SERF_TAG_", 9);
		if (cp_handler_tag_var(t->key, t->key_len, var + 9,
				       sizeof(var) - 9) < 0)
			continue;
		cp_henv_set(e, cp_henv_fmt(var, t->value, t->value_len));
	}
}

char **
cp_handler_env(char *const *base, const struct cp_hself *self,
	       const struct cp_hevent *ev)
{
	struct cp_henv e = {NULL, 0, 0, false};
	const char *k = serf_event_kind_str[ev->kind];
	char lt[24];
	bool is_user = ev->kind == SERF_EV_USER;

	for (size_t i = 0; base != NULL && base[i] != NULL; i++)
		if (strchr(base[i], '=') != NULL)
			cp_henv_set(&e, strdup(base[i]));
	cp_henv_set(&e, cp_henv_fmt("SERF_EVENT", k, strlen(k)));
	cp_henv_self(&e, self);
	if (is_user || ev->kind == SERF_EV_QUERY) {
		snprintf(lt, sizeof(lt), "%llu", (unsigned long long)ev->ltime);
		cp_henv_set(&e, cp_henv_fmt(is_user ? "SERF_USER_EVENT"
						    : "SERF_QUERY_NAME",
					    ev->name, strlen(ev->name)));
		cp_henv_set(&e, cp_henv_fmt(is_user ? "SERF_USER_LTIME"
						    : "SERF_QUERY_LTIME",
					    lt, strlen(lt)));
	}
	if (e.is_oom || e.v == NULL) {
		cp_handler_env_free(e.v);
		return NULL;
	}
	return e.v;
}

void
cp_handler_env_free(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}
