/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the SWIM core, linked only into test_sim, so the
 * simulator's own clock, heap, filters and TCP plumbing can be tested
 * against exactly known behaviour. It is not a protocol:
 *  - every probe_interval_us it sends one datagram "<name>" to each seed
 *    it joined (a beacon);
 *  - every datagram it receives becomes a SWIM_EV_USER event;
 *  - swim_join asks for a join push/pull; the push/pull stream is just
 *    "<name>\n", and merging it makes that member alive (SWIM_EV_JOIN);
 *  - swim_send_user(to, name) asks for a TCP ping of `name` at `to`, and
 *    the result is kept for the test.
 */
#include "swim.h"
#include "sim_fake_swim.h"

#include <stdlib.h>
#include <string.h>

#define FAKE_MAX 16

struct swim {
	struct swim_cfg cfg;
	uint64_t deadline_us;
	struct swim_addr seeds[FAKE_MAX];
	unsigned nb_seeds;
	struct swim_output out[FAKE_MAX * 2];	/* FIFO of pending outputs */
	unsigned nb_out, out_head;
	uint8_t rx[FAKE_MAX * 2][SWIM_NAME_MAX + 1];	/* event payloads */
	struct swim_event ev[FAKE_MAX * 2];
	unsigned nb_ev, ev_head;
	char known[FAKE_MAX][SWIM_NAME_MAX + 1];	/* merged members */
	unsigned nb_known;
	struct sim_fake_stats st;
};

struct swim *
swim_new(const struct swim_cfg *cfg, const char **err)
{
	struct swim *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		*err = "oom";
		return NULL;
	}
	s->cfg = *cfg;
	s->deadline_us = cfg->probe_interval_us ? cfg->probe_interval_us
						: UINT64_MAX;
	return s;
}

void
swim_delete(struct swim *s)
{
	free(s);
}

static struct swim_output *
fake_out(struct swim *s, enum swim_output_kind kind,
	 const struct swim_addr *to)
{
	struct swim_output *o;

	if (s->out_head == s->nb_out)
		s->out_head = s->nb_out = 0;
	if (s->nb_out == FAKE_MAX * 2)
		return NULL;
	o = &s->out[s->nb_out++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->to = *to;
	return o;
}

static void
fake_event(struct swim *s, enum swim_event_kind kind, const uint8_t *data,
	   size_t len)
{
	struct swim_event *ev;

	if (s->ev_head == s->nb_ev)
		s->ev_head = s->nb_ev = 0;
	if (s->nb_ev == FAKE_MAX * 2 || len > SWIM_NAME_MAX)
		return;
	memcpy(s->rx[s->nb_ev], data, len);
	ev = &s->ev[s->nb_ev];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->data.ptr = s->rx[s->nb_ev];
	ev->data.len = (uint32_t)len;
	ev->member.name = ev->data;
	ev->member.status = SWIM_STATUS_ALIVE;
	s->nb_ev++;
}

void
swim_tick(struct swim *s, uint64_t now_us)
{
	unsigned i;

	s->st.ticks++;
	if (now_us < s->deadline_us)
		return;
	for (i = 0; i < s->nb_seeds; i++) {
		struct swim_output *o = fake_out(s, SWIM_OUT_PACKET,
						 &s->seeds[i]);

		if (o == NULL)
			break;
		o->data = (const uint8_t *)s->cfg.name;
		o->len = strlen(s->cfg.name);
	}
	s->deadline_us += s->cfg.probe_interval_us;
}

uint64_t
swim_next_deadline(const struct swim *s)
{
	return s->deadline_us;
}

void
swim_on_packet(struct swim *s, uint64_t now_us, const struct swim_addr *from,
	       const uint8_t *buf, size_t len, unsigned flags)
{
	(void)from;
	(void)flags;
	s->st.rx++;
	s->st.last_rx_us = now_us;
	fake_event(s, SWIM_EV_USER, buf, len);
}

bool
swim_pop_output(struct swim *s, struct swim_output *out)
{
	if (s->out_head == s->nb_out)
		return false;
	*out = s->out[s->out_head++];
	return true;
}

bool
swim_pop_event(struct swim *s, struct swim_event *ev)
{
	if (s->ev_head == s->nb_ev)
		return false;
	*ev = s->ev[s->ev_head++];
	return true;
}

void
swim_on_tcp_ping_result(struct swim *s, uint64_t now_us, uint32_t seq_no,
			bool acked)
{
	s->st.tcp_results++;
	s->st.tcp_acked += acked;
	s->st.last_tcp_us = now_us;
	s->st.last_tcp_seq = seq_no;
}

size_t
swim_push_pull_encode(struct swim *s, bool join, const uint8_t *user_state,
		      size_t user_state_len, uint8_t *out, size_t cap)
{
	size_t len = strlen(s->cfg.name) + 1;

	(void)join;
	(void)user_state;
	(void)user_state_len;
	if (len <= cap) {
		memcpy(out, s->cfg.name, len - 1);
		out[len - 1] = '\n';
	}
	return len;
}

int
swim_push_pull_merge(struct swim *s, uint64_t now_us, const uint8_t *buf,
		     size_t len, struct swim_str *user_state)
{
	(void)now_us;
	user_state->ptr = NULL;
	user_state->len = 0;
	if (len < 2 || buf[len - 1] != '\n' || len > SWIM_NAME_MAX)
		return -1;
	s->st.merges++;
	if (s->nb_known < FAKE_MAX) {
		memcpy(s->known[s->nb_known], buf, len - 1);
		s->known[s->nb_known++][len - 1] = '\0';
	}
	fake_event(s, SWIM_EV_JOIN, buf, len - 1);
	return (int)len;
}

void
swim_push_pull_failed(struct swim *s, uint64_t now_us,
		      const struct swim_addr *to, bool join)
{
	(void)to;
	(void)join;
	s->st.pp_failed++;
	s->st.last_pp_failed_us = now_us;
}

void
swim_join(struct swim *s, uint64_t now_us, const struct swim_addr *seeds,
	  unsigned nb)
{
	unsigned i;

	(void)now_us;
	for (i = 0; i < nb && s->nb_seeds < FAKE_MAX; i++) {
		struct swim_output *o = fake_out(s, SWIM_OUT_PUSH_PULL,
						 &seeds[i]);

		if (o != NULL)
			o->join = true;
		s->seeds[s->nb_seeds++] = seeds[i];
	}
}

void
swim_send_user(struct swim *s, const struct swim_addr *to,
	       const uint8_t *data, size_t len)
{
	struct swim_output *o = fake_out(s, SWIM_OUT_TCP_PING, to);

	if (o == NULL || len > SWIM_NAME_MAX)
		return;
	memcpy(o->node, data, len);
	o->node[len] = '\0';
	o->seq_no = ++s->st.tcp_seq;
	o->deadline_us = s->st.now_hint_us + s->cfg.probe_interval_us;
}

void
swim_leave(struct swim *s, uint64_t now_us)
{
	(void)s;
	(void)now_us;
}

int
swim_member_find(const struct swim *s, const char *name, size_t len,
		 struct swim_member_info *info)
{
	unsigned i;

	for (i = 0; i < s->nb_known; i++) {
		if (strlen(s->known[i]) == len &&
		    memcmp(s->known[i], name, len) == 0) {
			memset(info, 0, sizeof(*info));
			info->status = SWIM_STATUS_ALIVE;
			info->incarnation = 1;
			return 0;
		}
	}
	return -1;
}

struct sim_fake_stats *
sim_fake_stats(struct swim *s)
{
	return &s->st;
}

/* Nothing is ever queued for gossip here: sim_settle has no work. */
uint32_t
swim_broadcast_queue_len(const struct swim *s)
{
	(void)s;
	return 0;
}

size_t
swim_take_piggyback(struct swim *s, uint8_t *buf, size_t cap,
		    unsigned *nb_parts)
{
	(void)s;
	(void)buf;
	(void)cap;
	if (nb_parts != NULL)
		*nb_parts = 0;
	return 0;
}
