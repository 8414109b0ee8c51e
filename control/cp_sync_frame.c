/* SPDX-License-Identifier: MIT */
/*
 * Recognising one whole memberlist message in the bytes a TCP stream has
 * delivered so far (memberlist-wire.md §7.1): plain streams carry no
 * length, so each type is parsed incrementally until it is complete;
 * compressed ones (0x09) are inflated first. Pure: no sockets, no state.
 */
#include "cp.h"

#include <msgpuck.h>
#include <stdlib.h>
#include <string.h>

#include "swim_wire.h"

/* Push/pull decode just to learn that it is complete. */
static int
cp_frame_skip_node(void *ctx, const struct swim_push_node *node)
{
	(void)ctx;
	(void)node;
	return 0;
}

/* Stream user message: 08 {UserMsgLen: n} <n bytes>. 0, 1 (more) or < 0. */
static int
cp_frame_user(const uint8_t *buf, size_t len, struct swim_str *user)
{
	const char *p = (const char *)buf + 1;
	const char *end = (const char *)buf + len;
	const char *chk = p;
	uint64_t n = 0;
	uint32_t nb;

	if (mp_check(&chk, end) != 0)
		return 1;	/* header map still incomplete (or garbage) */
	if (mp_typeof(*p) != MP_MAP)
		return SWIM_WIRE_E_TYPE;
	nb = mp_decode_map(&p);
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t kl;
		const char *k;

		if (mp_typeof(*p) != MP_STR)
			return SWIM_WIRE_E_TYPE;
		k = mp_decode_str(&p, &kl);
		if (kl == 10 && memcmp(k, "UserMsgLen", 10) == 0 &&
		    mp_typeof(*p) == MP_UINT)
			n = mp_decode_uint(&p);
		else
			mp_next(&p);
	}
	if (n > CP_SYNC_MAX_BYTES)
		return SWIM_WIRE_E_LENGTH;
	if ((size_t)(end - p) < n)
		return 1;
	user->ptr = (const uint8_t *)p;
	user->len = (uint32_t)n;
	return 0;
}

/* Is buf one whole plain message? 0 yes (f filled), 1 need more, < 0. */
static int
cp_frame_plain(const uint8_t *buf, size_t len, struct cp_frame *f)
{
	int rc;

	f->buf = buf;
	f->len = len;
	switch (buf[0]) {
	case SWIM_MSG_PUSH_PULL:
		rc = swim_wire_decode_push_pull(buf, len, &f->hdr,
						cp_frame_skip_node, NULL,
						&f->user);
		break;
	case SWIM_MSG_PING:
	case SWIM_MSG_ACK:
	case SWIM_MSG_ERR:
		rc = swim_wire_decode_msg(buf, len, &f->msg);
		break;
	case SWIM_MSG_USER:
		return cp_frame_user(buf, len, &f->user);
	case SWIM_MSG_ENCRYPT:
		return CP_FRAME_ENCRYPTED;
	default:
		return CP_FRAME_UNKNOWN;
	}
	if (rc == SWIM_WIRE_E_AGAIN || rc == SWIM_WIRE_E_TRUNCATED)
		return 1;
	return rc < 0 ? rc : 0;
}

/* Decompress rx (a 0x09 stream) into *plain, growing it up to max. */
static int
cp_frame_inflate(const uint8_t *rx, size_t len, uint8_t **plain,
		 size_t *plain_cap, size_t max)
{
	int n;

	for (;;) {
		if (*plain == NULL) {
			*plain_cap = 64 * 1024;
			*plain = malloc(*plain_cap);
			if (*plain == NULL)
				return SWIM_WIRE_E_NOSPACE;
		}
		n = swim_wire_decode_compress(rx + 1, len - 1, *plain,
					      *plain_cap);
		if (n != SWIM_WIRE_E_NOSPACE || *plain_cap >= max)
			return n;
		free(*plain);
		*plain_cap *= 2;
		*plain = malloc(*plain_cap);
		if (*plain == NULL)
			return SWIM_WIRE_E_NOSPACE;
	}
}

int
cp_sync_frame(const uint8_t *rx, size_t len, uint8_t **plain,
	      size_t *plain_cap, size_t max, struct cp_frame *f)
{
	int n;

	memset(f, 0, sizeof(*f));
	if (len == 0)
		return 1;
	if (rx[0] != SWIM_MSG_COMPRESS)
		return cp_frame_plain(rx, len, f);
	n = cp_frame_inflate(rx, len, plain, plain_cap, max);
	if (n == SWIM_WIRE_E_TRUNCATED || n == SWIM_WIRE_E_AGAIN)
		return 1;
	if (n < 0)
		return n;
	if (n == 0)
		return SWIM_WIRE_E_EMPTY;
	n = cp_frame_plain(*plain, (size_t)n, f);
	/* A compressed message is whole by construction. */
	return n == 1 ? SWIM_WIRE_E_TRUNCATED : n;
}

