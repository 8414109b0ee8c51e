/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's outgoing events: a byte FIFO of records sized to
 * their content (a member event is about 60 bytes plus name and Meta,
 * not a 2 KiB struct serf_event), growing as needed, so a merge or a reap
 * that produces 10^5 events loses none. Only a failed allocation drops
 * an event, and that is counted (stats.events_dropped).
 *
 * Callers fill the struct serf_event that serf_event_next returns; it is
 * encoded into the FIFO at the next serf_event_next or serf_pop_event, so
 * serf_event_drop_last can still take it back.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/** The FIFO is given back when it drains and has grown past this. */
#define SERF_EVQ_KEEP (64u * 1024)

/** A record's fixed part; name, Meta and payload bytes follow. */
struct serf_ev_rec_hdr {
	uint32_t len;			/* whole record, padded to 8 */
	uint8_t kind;
	uint8_t status;
	uint8_t coalesce;
	uint8_t has_payload;
	uint32_t name_len;
	uint32_t meta_len;
	uint32_t payload_len;
	uint32_t incarnation;
	struct swim_addr addr;
	uint8_t vsn[SWIM_VSN_LEN];
	uint64_t ltime;
	uint64_t query_handle;
	uint64_t deadline_us;
};

int
serf_evq_init(struct serf *serf)
{
	serf->ev_pending = malloc(sizeof(*serf->ev_pending));
	return serf->ev_pending == NULL ? -1 : 0;
}

void
serf_evq_free(struct serf *serf)
{
	free(serf->evq.buf);
	free(serf->ev_pending);
	memset(&serf->evq, 0, sizeof(serf->evq));
	serf->ev_pending = NULL;
}

/* Room for need more bytes at the tail: compact, else grow. */
static int
evq_reserve(struct serf_evq *q, size_t need)
{
	if (q->tail + need <= q->cap)
		return 0;
	if (q->head > 0) {
		memmove(q->buf, q->buf + q->head, q->tail - q->head);
		q->tail -= q->head;
		q->head = 0;
		if (q->tail + need <= q->cap)
			return 0;
	}
	size_t cap = q->cap ? q->cap : 4096;
	while (cap < q->tail + need)
		cap *= 2;
	uint8_t *buf = realloc(q->buf, cap);
	if (buf == NULL)
		return -1;
	q->buf = buf;
	q->cap = cap;
	return 0;
}

static void
evq_put(struct serf *serf, const struct serf_event *ev)
{
	struct serf_ev_rec_hdr h = {
		.kind = (uint8_t)ev->kind, .status = (uint8_t)ev->status,
		.coalesce = ev->coalesce, .has_payload = ev->has_payload,
		.name_len = ev->name_len, .meta_len = ev->meta_len,
		.payload_len = ev->payload_len, .incarnation = ev->incarnation,
		.addr = ev->addr, .ltime = ev->ltime,
		.query_handle = ev->query_handle,
		.deadline_us = ev->deadline_us,
	};
	memcpy(h.vsn, ev->vsn, SWIM_VSN_LEN);
	if (h.name_len > SWIM_NAME_MAX || h.meta_len > SWIM_META_MAX ||
	    h.payload_len > SERF_PAYLOAD_MAX) {
		serf->stats.events_dropped++;
		return;
	}
	size_t len = sizeof(h) + h.name_len + h.meta_len + h.payload_len;
	len = (len + 7) & ~(size_t)7;
	h.len = (uint32_t)len;
	if (evq_reserve(&serf->evq, len) != 0) {
		serf->stats.events_dropped++;
		return;
	}
	uint8_t *p = serf->evq.buf + serf->evq.tail;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, ev->name, h.name_len);
	memcpy(p + h.name_len, ev->meta, h.meta_len);
	memcpy(p + h.name_len + h.meta_len, ev->payload, h.payload_len);
	serf->evq.tail += len;
	serf->evq.nb++;
}

static void
evq_flush(struct serf *serf)
{
	if (!serf->has_pending)
		return;
	serf->has_pending = false;
	evq_put(serf, serf->ev_pending);
}

struct serf_event *
serf_event_next(struct serf *serf, enum serf_event_kind kind)
{
	struct serf_event *ev = serf->ev_pending;

	evq_flush(serf);
	/* The payload is large: clear only the header part. */
	memset(ev, 0, offsetof(struct serf_event, payload));
	ev->kind = kind;
	serf->has_pending = true;
	return ev;
}

void
serf_event_drop_last(struct serf *serf)
{
	if (serf->has_pending)
		serf->has_pending = false;
	serf->stats.events_dropped++;
}

static void
evq_get(struct serf *serf, struct serf_event *ev)
{
	struct serf_evq *q = &serf->evq;
	struct serf_ev_rec_hdr h;
	const uint8_t *p = q->buf + q->head;

	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	memset(ev, 0, offsetof(struct serf_event, payload));
	ev->kind = (enum serf_event_kind)h.kind;
	ev->status = (enum serf_member_status)h.status;
	ev->coalesce = h.coalesce;
	ev->has_payload = h.has_payload;
	ev->name_len = h.name_len;
	ev->meta_len = h.meta_len;
	ev->payload_len = h.payload_len;
	ev->incarnation = h.incarnation;
	ev->addr = h.addr;
	memcpy(ev->vsn, h.vsn, SWIM_VSN_LEN);
	ev->ltime = h.ltime;
	ev->query_handle = h.query_handle;
	ev->deadline_us = h.deadline_us;
	memcpy(ev->name, p, h.name_len);
	ev->name[h.name_len] = '\0';
	memcpy(ev->meta, p + h.name_len, h.meta_len);
	memcpy(ev->payload, p + h.name_len + h.meta_len, h.payload_len);
	q->head += h.len;
	q->nb--;
}

bool
serf_pop_event(struct serf *serf, struct serf_event *ev)
{
	struct serf_evq *q = &serf->evq;

	evq_flush(serf);
	if (q->nb == 0)
		return false;
	evq_get(serf, ev);
	if (q->nb == 0) {
		q->head = q->tail = 0;
		if (q->cap > SERF_EVQ_KEEP) {
			free(q->buf);
			q->buf = NULL;
			q->cap = 0;
		}
	}
	return true;
}

uint32_t
serf_event_queue_len(const struct serf *serf)
{
	return serf->evq.nb + (serf->has_pending ? 1u : 0u);
}
