/* SPDX-License-Identifier: MIT */
/*
 * A peer's Serf user state (messagePushPull) merged in slices, one per
 * control-loop pass, so that a 10^6-member state (about 0.8 s of intents
 * in one serf_merge_remote_state call) does not stop the control thread
 * past a probe timeout. Each slice is a messagePushPull of its own, built
 * by copying bytes: the clocks, the events (first slice only), the next
 * CP_SYNC_SERF_SLICE StatusLTimes entries as they came, and the
 * LeftMembers names among them, so serf applies the same intents as for
 * the whole state (a left member's leave with its status LTime, a join
 * for every other); left names with no status entry go in the last
 * slice, with LTime 0 as Go's map gives. An eventfd kept readable while
 * slices wait brings the loop back. Control thread only.
 */
#include "cp.h"
#include "cp_sync_pp.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "serf_msg.h"
#include "swim_index.h"
#include "swim_mp.h"

/** StatusLTimes entries per slice (about 13 ms of intents). */
#define CP_SYNC_SERF_SLICE 16384u

struct cp_serf_job {
	struct cp_serf_job *next;
	uint8_t *us;			/* the state (owned) */
	size_t len;
	bool join;
	struct serf_msg_push_pull pp;	/* its decoded slices */
	const uint8_t *pos;		/* next StatusLTimes entry */
	uint32_t done;			/* entries merged */
	struct swim_str *left;		/* LeftMembers: a set by name */
	bool *left_seen;		/* had a status entry */
	uint32_t left_mask;		/* set slots - 1 */
};

static struct {
	struct cp *cp;
	struct cp_io io;		/* eventfd, readable while jobs wait */
	bool has_io;
	struct cp_serf_job *head, *tail;
	uint8_t *buf;			/* one slice's message */
	size_t cap;
} cp_ss;

static void
cp_serf_job_free(struct cp_serf_job *j)
{
	free(j->us);
	free(j->left);
	free(j->left_seen);
	free(j);
}

/* Slot of name in the left set (its own, or the empty one to use). */
static uint32_t
cp_serf_left_slot(const struct cp_serf_job *j, const struct swim_str *n)
{
	uint32_t i = (uint32_t)swim_index_hash((const char *)n->ptr, n->len) &
		     j->left_mask;

	while (j->left[i].ptr != NULL &&
	       (j->left[i].len != n->len ||
		memcmp(j->left[i].ptr, n->ptr, n->len) != 0))
		i = (i + 1) & j->left_mask;
	return i;
}

/* The LeftMembers names as a set. @retval 0 or -1. */
static int
cp_serf_left_index(struct cp_serf_job *j)
{
	const uint8_t *p = j->pp.raw_left.ptr;
	const uint8_t *end = p + j->pp.raw_left.len;
	uint32_t cap = 16;
	struct swim_str n;

	while (cap < 2 * j->pp.nb_left + 2)
		cap *= 2;
	j->left = calloc(cap, sizeof(*j->left));
	j->left_seen = calloc(cap, sizeof(*j->left_seen));
	if (j->left == NULL || j->left_seen == NULL)
		return -1;
	j->left_mask = cap - 1;
	while (p != NULL && serf_msg_pp_left_next(&p, end, &n) == 1)
		if (n.ptr != NULL)
			j->left[cp_serf_left_slot(j, &n)] = n;
	return 0;
}

static bool
cp_serf_left_has(struct cp_serf_job *j, const struct swim_str *n)
{
	uint32_t i = cp_serf_left_slot(j, n);

	if (j->left[i].ptr == NULL)
		return false;
	j->left_seen[i] = true;
	return true;
}

/* Room for one slice's message. */
static uint8_t *
cp_serf_buf(size_t need)
{
	if (need > cp_ss.cap) {
		uint8_t *p = realloc(cp_ss.buf, need);
		if (p == NULL)
			return NULL;
		cp_ss.buf = p;
		cp_ss.cap = need;
	}
	return cp_ss.buf;
}

/* LeftMembers of a slice: its left names, plus the unseen ones last. */
static void
cp_serf_put_left(struct swim_mp_w *w, struct cp_serf_job *j,
		 const uint8_t *a, const uint8_t *b, bool last)
{
	struct serf_msg_pp_status st;
	uint32_t nb = 0;
	const uint8_t *p;

	for (p = a; p < b && serf_msg_pp_status_next(&p, b, &st) == 1;)
		nb += cp_serf_left_has(j, &st.name);
	for (uint32_t i = 0; last && i <= j->left_mask; i++)
		nb += j->left[i].ptr != NULL && !j->left_seen[i];
	swim_mp_put_array(w, nb);
	for (p = a; p < b && serf_msg_pp_status_next(&p, b, &st) == 1;)
		if (cp_serf_left_has(j, &st.name))
			swim_mp_put_str(w, &st.name);
	for (uint32_t i = 0; last && i <= j->left_mask; i++)
		if (j->left[i].ptr != NULL && !j->left_seen[i])
			swim_mp_put_str(w, &j->left[i]);
}

/* Build and merge the next slice. @retval true when the job is done. */
static bool
cp_serf_slice(struct cp_serf_job *j, uint64_t now_us)
{
	const uint8_t *end = j->pp.raw_status.ptr + j->pp.raw_status.len;
	const uint8_t *a = j->pos, *b = a;
	struct serf_msg_pp_status st;
	struct swim_mp_w w;
	uint32_t nb = 0;
	bool first = j->done == 0;

	while (nb < CP_SYNC_SERF_SLICE && b != NULL && b < end &&
	       serf_msg_pp_status_next(&b, end, &st) == 1)
		nb++;
	bool last = b == NULL || b >= end || j->done + nb >= j->pp.nb_status;
	size_t need = (size_t)(b - a) + (first ? j->pp.raw_events.len : 0) +
		      (last ? j->pp.raw_left.len : 0) * 2 + 16 * (nb + 16);
	uint8_t *out = cp_serf_buf(need);
	if (out == NULL)
		return true;	/* out of memory: the rest is dropped */
	swim_mp_w_create(&w, out, need);
	swim_mp_put_u8(&w, SERF_MSG_PUSH_PULL);
	swim_mp_put_map(&w, 6);
	swim_mp_put_strn(&w, "EventLTime", 10);
	swim_mp_put_uint(&w, j->pp.event_ltime);
	swim_mp_put_strn(&w, "Events", 6);
	swim_mp_put_array(&w, first ? j->pp.nb_groups : 0);
	if (first)
		swim_mp_put_raw(&w, j->pp.raw_events.ptr, j->pp.raw_events.len);
	swim_mp_put_strn(&w, "LTime", 5);
	swim_mp_put_uint(&w, j->pp.ltime);
	swim_mp_put_strn(&w, "LeftMembers", 11);
	cp_serf_put_left(&w, j, a, b, last);
	swim_mp_put_strn(&w, "QueryLTime", 10);
	swim_mp_put_uint(&w, j->pp.query_ltime);
	swim_mp_put_strn(&w, "StatusLTimes", 12);
	swim_mp_put_map(&w, nb);
	swim_mp_put_raw(&w, a, (size_t)(b - a));
	int n = swim_mp_w_result(&w);
	if (n > 0)
		cp_serf_merge_remote(cp_ss.cp, now_us, out, (size_t)n, j->join);
	j->pos = b;
	j->done += nb;
	return last || n <= 0;
}

static void
cp_serf_on_tick(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp_serf_job *j = cp_ss.head;
	eventfd_t v;

	(void)events;
	if (j != NULL && cp_serf_slice(j, now_us)) {
		cp_ss.head = j->next;
		if (cp_ss.head == NULL)
			cp_ss.tail = NULL;
		cp_serf_job_free(j);
	}
	if (cp_ss.head == NULL)
		eventfd_read(io->fd, &v);	/* no more passes needed */
}

/* The eventfd the loop wakes on while slices wait. @retval 0 or -1. */
static int
cp_serf_tick_init(struct cp *cp)
{
	int fd;

	if (cp_ss.has_io)
		return 0;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -1;
	cp_ss.io = (struct cp_io){ fd, cp_serf_on_tick, NULL };
	if (cp_io_add(cp->epfd, &cp_ss.io, EPOLLIN) != 0) {
		close(fd);
		return -1;
	}
	cp_ss.cp = cp;
	cp_ss.has_io = true;
	return 0;
}

void
cp_sync_serf_merge(struct cp *cp, uint64_t now_us, uint8_t *us, size_t len,
		   bool join)
{
	struct cp_serf_job *j = calloc(1, sizeof(*j));

	if (j == NULL || serf_msg_decode_push_pull(us, len, &j->pp) != 0 ||
	    j->pp.nb_status <= CP_SYNC_SERF_SLICE || cp_serf_tick_init(cp) ||
	    cp_serf_left_index(j) != 0) {
		/* small, unreadable (logged and counted there) or no tick */
		cp_serf_merge_remote(cp, now_us, us, len, join);
		free(us);
		if (j != NULL)
			cp_serf_job_free(j);
		return;
	}
	j->us = us;
	j->len = len;
	j->join = join;
	j->pos = j->pp.raw_status.ptr;
	if (cp_ss.tail != NULL)
		cp_ss.tail->next = j;
	else
		cp_ss.head = j;
	cp_ss.tail = j;
	eventfd_write(cp_ss.io.fd, 1);
}
