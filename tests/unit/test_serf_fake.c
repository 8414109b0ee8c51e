/* SPDX-License-Identifier: MIT */
/*
 * A fake memberlist core for the Serf layer's unit tests: it implements
 * the few swim.h calls serf*.c make, recording outputs for the tests to
 * check byte for byte. Linked instead of the real core.
 */
#include "test_serf_util.h"

void
fake_init(struct swim *s, const char *name, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	struct fake_member *m = fake_add(s, name, 1, port);
	m->is_self = true;
}

struct fake_member *
fake_add(struct swim *s, const char *name, uint8_t last_octet, uint16_t port)
{
	static const uint8_t vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };
	struct fake_member *m = &s->members[s->nb_members++];

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->addr.ip_len = 4;
	m->addr.ip[0] = 127;
	m->addr.ip[3] = last_octet;
	m->addr.port = port;
	m->incarnation = 1;
	m->status = SWIM_STATUS_ALIVE;
	memcpy(m->vsn, vsn, sizeof(vsn));
	/* Meta {}: ff 80, what a tagless serf agent sends. */
	m->meta[0] = 0xff;
	m->meta[1] = 0x80;
	m->meta_len = 2;
	return m;
}

static void
fake_info(const struct fake_member *m, struct swim_member_info *info)
{
	memset(info, 0, sizeof(*info));
	info->name.ptr = (const uint8_t *)m->name;
	info->name.len = (uint32_t)strlen(m->name);
	info->addr = m->addr;
	info->incarnation = m->incarnation;
	info->status = m->status;
	info->meta.ptr = m->meta;
	info->meta.len = m->meta_len;
	memcpy(info->vsn, m->vsn, SWIM_VSN_LEN);
	info->is_self = m->is_self;
	info->handle = m;
}

bool
swim_member_hold(const struct swim_member *m)
{
	((struct swim_member *)(uintptr_t)m)->holds++;
	return true;
}

void
swim_member_release(const struct swim_member *m)
{
	((struct swim_member *)(uintptr_t)m)->holds--;
}

void
swim_member_view(const struct swim_member *m, struct swim_member_info *info)
{
	fake_info(m, info);
}

const char *
swim_member_name(const struct swim_member *m, size_t *len)
{
	*len = strlen(m->name);
	return m->name;
}

void
fake_event(const struct swim *s, const struct fake_member *m,
	   enum swim_event_kind kind, struct swim_event *ev)
{
	(void)s;
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	fake_info(m, &ev->member);
}

void
fake_user_event(const uint8_t *data, size_t len, struct swim_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = SWIM_EV_USER;
	ev->data.ptr = data;
	ev->data.len = (uint32_t)len;
}

void
fake_clear_out(struct swim *s)
{
	s->nb_out = 0;
}

const struct fake_out *
fake_find_out(const struct swim *s, uint8_t type, bool is_broadcast,
	      uint32_t idx)
{
	for (uint32_t i = 0; i < s->nb_out; i++) {
		const struct fake_out *o = &s->out[i];
		if (o->len > 0 && o->data[0] == type &&
		    o->is_broadcast == is_broadcast && idx-- == 0)
			return o;
	}
	return NULL;
}

uint32_t
fake_count_out(const struct swim *s, uint8_t type, bool is_broadcast)
{
	uint32_t n = 0;

	while (fake_find_out(s, type, is_broadcast, n) != NULL)
		n++;
	return n;
}

static void
record(struct swim *s, bool is_broadcast, const struct swim_addr *to,
       const uint8_t *data, size_t len)
{
	if (s->nb_out == FAKE_MAX_OUT || len > FAKE_MSG_MAX)
		return;
	struct fake_out *o = &s->out[s->nb_out++];
	memset(o, 0, sizeof(*o));
	o->is_broadcast = is_broadcast;
	if (to != NULL)
		o->to = *to;
	memcpy(o->data, data, len);
	o->len = len;
}

/* --- the swim.h calls the Serf layer makes --- */

int
swim_broadcast_user(struct swim *s, const uint8_t *data, size_t len)
{
	record(s, true, NULL, data, len);
	return 0;
}

void
swim_send_user(struct swim *s, const struct swim_addr *to,
	       const uint8_t *data, size_t len)
{
	record(s, false, to, data, len);
}

int
swim_set_meta(struct swim *s, uint64_t now_us, const uint8_t *meta,
	      size_t len)
{
	(void)now_us;
	if (len > SWIM_META_MAX)
		return -1;
	memcpy(s->meta, meta, len);
	s->meta_len = len;
	s->nb_set_meta++;
	return 0;
}

void
swim_set_ack_payload(struct swim *s, const uint8_t *data, size_t len)
{
	if (len > sizeof(s->ack))
		len = sizeof(s->ack);
	memcpy(s->ack, data, len);
	s->ack_len = len;
}

int
swim_member_find(const struct swim *s, const char *name, size_t len,
		 struct swim_member_info *info)
{
	for (uint32_t i = 0; i < s->nb_members; i++) {
		const struct fake_member *m = &s->members[i];
		if (strlen(m->name) == len && memcmp(m->name, name, len) == 0) {
			fake_info(m, info);
			return 0;
		}
	}
	return -1;
}

uint32_t
swim_member_count_alive(const struct swim *s)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->nb_members; i++)
		n += s->members[i].status <= SWIM_STATUS_SUSPECT;
	return n;
}

void
swim_join(struct swim *s, uint64_t now_us, const struct swim_addr *seeds,
	  unsigned nb)
{
	(void)now_us;
	for (unsigned i = 0; i < nb && s->nb_joined < 8; i++)
		s->joined[s->nb_joined++] = seeds[i];
}
