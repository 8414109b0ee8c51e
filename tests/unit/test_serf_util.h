/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Serf unit tests: hex vectors, and a fake
 * memberlist core (test_serf_fake.c) that records what the Serf layer
 * asks of it instead of sending anything.
 */
#ifndef TEST_SERF_UTIL_H_INCLUDED
#define TEST_SERF_UTIL_H_INCLUDED

#include "swim.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/** Decode hex into out (spaces ignored). @retval bytes. */
static inline size_t
hex2bin(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*hex != '\0' && n < cap) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

#define FAKE_MAX_MEMBERS 32
#define FAKE_MAX_OUT 256
#define FAKE_MSG_MAX 2048

/** One recorded user message: broadcast (to unset) or direct send. */
struct fake_out {
	bool is_broadcast;
	struct swim_addr to;
	uint8_t data[FAKE_MSG_MAX];
	size_t len;
};

/*
 * A member as the fake core knows it: the fake's struct swim_member, so
 * the Serf layer holds and reads it through the same calls as the real
 * core's (swim_member_hold, swim_member_view). Held records stay in
 * members[]; hold and release only count.
 */
#define fake_member swim_member
struct fake_member {
	char name[SWIM_NAME_MAX + 1];
	struct swim_addr addr;
	uint32_t incarnation;
	enum swim_status status;
	uint8_t meta[SWIM_META_MAX];
	uint32_t meta_len;
	uint8_t vsn[SWIM_VSN_LEN];
	bool is_self;
	uint32_t holds;
};

/** The fake core: struct swim as far as the Serf layer can tell. */
struct swim {
	struct fake_member members[FAKE_MAX_MEMBERS];
	uint32_t nb_members;
	struct fake_out out[FAKE_MAX_OUT];
	uint32_t nb_out;
	uint8_t meta[SWIM_META_MAX];
	size_t meta_len;
	uint32_t nb_set_meta;
	uint8_t ack[256];
	size_t ack_len;
	struct swim_addr joined[8];
	uint32_t nb_joined;
};

/** A fake core whose self is name at 127.0.0.1:port. */
void fake_init(struct swim *s, const char *name, uint16_t port);
/** Add a member (alive, serf Vsn) and fill info as a JOIN event would. */
struct fake_member *fake_add(struct swim *s, const char *name,
			     uint8_t last_octet, uint16_t port);
/** A swim_event about member m. */
void fake_event(const struct swim *s, const struct fake_member *m,
		enum swim_event_kind kind, struct swim_event *ev);
/** A USER event carrying data (a Serf message, type byte first). */
void fake_user_event(const uint8_t *data, size_t len, struct swim_event *ev);
/** Forget recorded outputs. */
void fake_clear_out(struct swim *s);
/** The idx-th recorded output of a Serf type, or NULL. */
const struct fake_out *fake_find_out(const struct swim *s, uint8_t type,
				     bool is_broadcast, uint32_t idx);
uint32_t fake_count_out(const struct swim *s, uint8_t type,
			bool is_broadcast);

#endif /* TEST_SERF_UTIL_H_INCLUDED */
