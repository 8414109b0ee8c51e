/* SPDX-License-Identifier: MIT */
/*
 * The push/pull header key that asks a gossipd responder for a chunked
 * sealed reply (swim_sealed_stream.h, docs/sealed-stream.md): reading it
 * and adding it. In the codec library (msgpack only, no crypto), so the
 * tools that read push/pulls can use it without a keyring. Pure.
 */
#include "swim_sealed_stream.h"

#include <stddef.h>
#include <string.h>

#include "swim_mp.h"
#include "swim_msg.h"

/* The one key we look for; the rest are memberlist's, skipped here. */
struct swim_sstream_hdr {
	uint32_t version;	/* "SealedChunks": 0 when absent */
};

static const struct swim_mp_field swim_sstream_hdr_f[] = {
	SWIM_MP_F("SealedChunks", U32, struct swim_sstream_hdr, version),
};

/* Decode the header map after the type byte; *pos ends after it. */
static int
swim_sstream_hdr_read(const uint8_t *buf, size_t len, const uint8_t **pos,
		      struct swim_sstream_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < 2 || buf[0] != SWIM_MSG_PUSH_PULL)
		return SWIM_SSTREAM_E_HEADER;
	*pos = buf + 1;
	if (swim_mp_decode_struct(pos, buf + len, SWIM_MP_MEMBERLIST,
				  swim_sstream_hdr_f,
				  SWIM_MP_NB(swim_sstream_hdr_f), h) != 0)
		return SWIM_SSTREAM_E_HEADER;
	return 0;
}

int
swim_sstream_hdr_wants(const uint8_t *buf, size_t len)
{
	struct swim_sstream_hdr h;
	const uint8_t *pos;

	if (swim_sstream_hdr_read(buf, len, &pos, &h) != 0)
		return SWIM_SSTREAM_E_HEADER;
	return h.version > 0x7fffffff ? 0x7fffffff : (int)h.version;
}

int
swim_sstream_hdr_mark(const uint8_t *msg, size_t len, uint8_t *out,
		      size_t cap)
{
	static const uint8_t key[SWIM_SSTREAM_HDR_KEY_LEN] = {
		0xa0 | 12, 'S', 'e', 'a', 'l', 'e', 'd', 'C', 'h', 'u', 'n',
		'k', 's', SWIM_SSTREAM_VERSION };
	struct swim_sstream_hdr h;
	const uint8_t *pos;
	size_t head;

	/* a fixmap of < 15 pairs: one more pair keeps it a fixmap */
	if (swim_sstream_hdr_read(msg, len, &pos, &h) != 0 ||
	    (msg[1] & 0xf0) != 0x80 || (msg[1] & 0x0f) == 0x0f ||
	    h.version != 0)
		return SWIM_SSTREAM_E_HEADER;
	if (cap < len + sizeof(key))
		return SWIM_SSTREAM_E_NOSPACE;
	head = (size_t)(pos - msg);
	memcpy(out, msg, head);
	out[1] = (uint8_t)(msg[1] + 1);
	memcpy(out + head, key, sizeof(key));
	memcpy(out + head + sizeof(key), pos, len - head);
	return (int)(len + sizeof(key));
}
