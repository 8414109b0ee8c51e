/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the event handlers (cp_handler.h): Serf events
 * from cp_serf.c become handler events (member lines, payloads), pass
 * through the coalescers into the runner, whose epoll fd sits in
 * control's reactor; a query handler's output goes back as the answer;
 * SIGHUP swaps the scripts through the agent's reload hook.
 *
 * Owns: the runner and the coalescers (one daemon per process, so the
 * state is static; every entry point is a no-op before cp_handler_init,
 * which keeps in-process tests of the loop unaffected). Control thread.
 */
#include "cp.h"
#include "cp_agent.h"
#include "cp_handler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "serf.h"

struct cp_hd {
	struct cp *cp;
	struct cp_hrun *run;
	struct cp_hco *co;
	struct cp_io io;
	bool has_io;
};

static struct cp_hd cp_hd_state;
static struct cp_hd *cp_hd;	/* NULL until cp_handler_init */

/* serf's SelfFunc: our name and current tags. */
static void
cp_hd_self(void *ctx, struct cp_hself *out)
{
	struct cp_hd *hd = ctx;
	uint32_t nb = 0;

	out->name = hd->cp->cfg.name;
	out->tags = hd->cp->serf != NULL ? serf_tags(hd->cp->serf, &nb)
					 : NULL;
	out->nb_tags = nb;
}

/* serf's Query.Respond errors, worded as serf words them. */
static const char *
cp_hd_respond_err(const struct cp *cp, int rc, char *buf, size_t len)
{
	switch (rc) {
	case -EMSGSIZE:
		snprintf(buf, len, "response exceeds limit of %u bytes",
			 cp->cfg.query_response_size_limit);
		return buf;
	case -ETIMEDOUT:
		return "response is past the deadline";
	case -EALREADY:
		return "response already sent";
	default:
		return strerror(-rc);
	}
}

/* A run ended: a query is answered with the output (serf: only after
 * exit status 0, and only when the script wrote something). */
static void
cp_hd_done(void *ctx, const struct cp_hevent *ev, const struct cp_hscript *s,
	   const struct cp_hresult *r)
{
	struct cp_hd *hd = ctx;
	char buf[64];
	int rc;

	(void)s;
	if (ev->kind != SERF_EV_QUERY || !r->is_ok || r->out_total == 0)
		return;
	rc = cp_serf_respond(hd->cp, ev->query_handle, r->out, r->out_len);
	if (rc != 0)
		CP_LOG(WARN, "agent: Failed to respond to query 'query: %s': "
		       "%s", ev->name,
		       cp_hd_respond_err(hd->cp, rc, buf, sizeof(buf)));
}

static void
cp_hd_emit(void *ctx, struct cp_hevent *ev)
{
	struct cp_hd *hd = ctx;

	cp_hrun_push(hd->run, cp_now_us(), ev);
}

static void
cp_hd_on_io(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp_hd *hd = io->ctx;

	(void)events;
	cp_hrun_dispatch(hd->run, now_us);
}

/* What serf's member-update coalescing compares (reflect.DeepEqual of
 * the Member: address, port, tags, status, versions). */
static uint64_t
cp_hd_sum(const struct serf_event *ev, const char *line)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *parts[] = {(const uint8_t *)line, ev->vsn,
				  (const uint8_t *)&ev->addr.port,
				  (const uint8_t *)&ev->status};
	size_t lens[] = {strlen(line), SWIM_VSN_LEN, sizeof(ev->addr.port),
			 sizeof(ev->status)};

	for (size_t p = 0; p < 4; p++)
		for (size_t i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 1099511628211ull;
	return h;
}

static void
cp_hd_member(struct cp_hd *hd, uint64_t now_us, const struct serf_event *ev)
{
	static char line[CP_HLINE_MAX];
	struct serf_tag tags[SERF_TAGS_MAX];
	char ip[CP_ADDR_STRLEN];
	int nb = serf_msg_decode_tags(ev->meta, ev->meta_len, tags,
				      SERF_TAGS_MAX);
	int n, rc;
	struct cp_hevent *one;

	if (nb < 0)
		nb = 0;		/* not serf's meta: no tags, as serf */
	if (nb > SERF_TAGS_MAX)
		nb = SERF_TAGS_MAX;
	cp_ip_str(&ev->addr, ip, sizeof(ip));
	n = cp_handler_member_line(ev->name, ip, tags, (unsigned)nb, line,
				   sizeof(line));
	if (n < 0)
		return;		/* cannot happen: meta is 512 bytes */
	rc = cp_hco_member(hd->co, now_us, ev->kind, ev->name, line,
			   cp_hd_sum(ev, line));
	if (rc < 0)
		CP_LOG(ERR, "agent: event handlers: out of memory, %s of %s "
		       "lost", serf_event_kind_str[ev->kind], ev->name);
	if (rc != 0)
		return;
	one = cp_hevent_new(ev->kind, "", (const uint8_t *)line, (size_t)n);
	if (one != NULL) {
		one->nb_members = 1;
		cp_hrun_push(hd->run, now_us, one);
	}
}

/* A user event or a query: the payload on stdin. */
static void
cp_hd_payload(struct cp_hd *hd, uint64_t now_us, const struct serf_event *ev)
{
	struct cp_hevent *h = cp_hevent_payload(
		ev->kind, ev->name, ev->has_payload ? ev->payload : NULL,
		ev->has_payload ? ev->payload_len : 0);

	if (h == NULL) {
		CP_LOG(ERR, "agent: event handlers: out of memory, %s '%s' "
		       "lost", serf_event_kind_str[ev->kind], ev->name);
		return;
	}
	h->ltime = ev->ltime;
	h->coalesce = ev->coalesce;
	h->query_handle = ev->query_handle;
	if (ev->kind == SERF_EV_USER && cp_hco_user(hd->co, now_us, h) != 0)
		return;		/* coalescing */
	cp_hrun_push(hd->run, now_us, h);
}

void
cp_handler_on_event(struct cp *cp, const struct serf_event *ev)
{
	struct cp_hd *hd = cp_hd;
	uint64_t now_us;

	(void)cp;
	if (hd == NULL || cp_hrun_nb_scripts(hd->run) == 0)
		return;
	now_us = cp_now_us();
	switch (ev->kind) {
	case SERF_EV_MEMBER_JOIN:
	case SERF_EV_MEMBER_LEAVE:
	case SERF_EV_MEMBER_FAILED:
	case SERF_EV_MEMBER_UPDATE:
	case SERF_EV_MEMBER_REAP:
		cp_hd_member(hd, now_us, ev);
		return;
	case SERF_EV_QUERY:
		/* serf's internal queries never reach the agent */
		if (strncmp(ev->name, "_serf_", 6) == 0)
			return;
		/* fallthrough */
	case SERF_EV_USER:
		cp_hd_payload(hd, now_us, ev);
		return;
	default:
		return;
	}
}

void
cp_handler_tick(struct cp *cp, uint64_t now_us)
{
	struct cp_hd *hd = cp_hd;

	(void)cp;
	if (hd == NULL)
		return;
	cp_hco_flush(hd->co, now_us, false, cp_hd_emit, hd);
	cp_hrun_tick(hd->run, now_us);
}

uint64_t
cp_handler_next_deadline(const struct cp *cp)
{
	const struct cp_hd *hd = cp_hd;
	uint64_t a, b;

	(void)cp;
	if (hd == NULL)
		return UINT64_MAX;
	a = cp_hco_next_deadline(hd->co);
	b = cp_hrun_next_deadline(hd->run);
	return a < b ? a : b;
}

/* SIGHUP: the new config's scripts, from the next event on. */
static void
cp_hd_reload(struct cp *cp, const struct cp_cfg *next, void *ctx)
{
	struct cp_hd *hd = ctx;
	struct cp_hset set;
	char err[CP_HANDLER_LEN + 128];

	(void)cp;
	if (cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])
			  next->event_handlers, next->nb_event_handlers, err,
			  sizeof(err)) != 0) {
		CP_LOG(ERR, "agent: Failed to reload event handlers: %s "
		       "(keeping the old ones)", err);
		return;
	}
	CP_LOG(INFO, "agent: event handlers reloaded: %u script(s)", set.nb);
	cp_hrun_set_scripts(hd->run, &set);
}

static int
cp_hd_start(struct cp_hd *hd, struct cp_hset *set)
{
	struct cp_hrun_cfg rc;
	struct cp_hco_cfg m, u;

	cp_hrun_cfg_default(&rc);
	rc.self = cp_hd_self;
	rc.done = cp_hd_done;
	rc.ctx = hd;
	cp_hco_cfg_agent(&m, &u);
	hd->run = cp_hrun_new(&rc);
	hd->co = cp_hco_new(&m, &u);
	if (hd->run == NULL || hd->co == NULL)
		return -ENOMEM;
	cp_hrun_set_scripts(hd->run, set);
	hd->io.fd = cp_hrun_fd(hd->run);
	hd->io.on_event = cp_hd_on_io;
	hd->io.ctx = hd;
	if (cp_io_add(hd->cp->epfd, &hd->io, EPOLLIN) != 0)
		return -EIO;
	hd->has_io = true;
	return cp_agent_on_reload(hd->cp, cp_hd_reload, hd);
}

int
cp_handler_init(struct cp *cp)
{
	struct cp_hd *hd = &cp_hd_state;
	struct cp_hset set;
	char err[CP_HANDLER_LEN + 128];

	memset(hd, 0, sizeof(*hd));
	hd->cp = cp;
	if (cp_hset_parse(&set, (const char (*)[CP_HANDLER_LEN])
			  cp->cfg.event_handlers, cp->cfg.nb_event_handlers,
			  err, sizeof(err)) != 0) {
		fprintf(stderr, "gossipd: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < set.nb; i++)
		CP_LOG(DEBUG, "agent: event handler %u: '%s%s%s' invoking "
		       "'%s'", i, set.v[i].kind == CP_HF_ANY ? "*"
		       : serf_event_kind_str[set.v[i].kind],
		       set.v[i].name[0] != '\0' ? ":" : "", set.v[i].name,
		       set.v[i].script);
	if (cp_hd_start(hd, &set) != 0) {
		cp_hset_free(&set);
		fprintf(stderr, "gossipd: event handlers: cannot start\n");
		cp_hd = hd;
		cp_handler_fini(cp);
		return -1;
	}
	cp_hd = hd;
	return 0;
}

void
cp_handler_fini(struct cp *cp)
{
	struct cp_hd *hd = cp_hd;

	if (hd == NULL)
		return;
	if (hd->has_io && cp != NULL)
		cp_io_del(cp->epfd, &hd->io);
	cp_hrun_delete(hd->run);	/* kills a running script */
	cp_hco_delete(hd->co);
	memset(hd, 0, sizeof(*hd));
	cp_hd = NULL;
}
