/* SPDX-License-Identifier: MIT */
/*
 * Chunked sealed streams for the swarm (docs/sealed-stream.md): reading
 * a gossipd node's chunked push/pull to one of our members, and writing
 * our reply as chunks when the request came as chunks or asked for them
 * ("SealedChunks"), so a gossipd node can join an encrypted swarm pool
 * larger than memberlist's 20 MiB frame. The swarm builds its messages
 * whole in memory (swarm_pp_encode), so this side is not bounded: only
 * the bytes on the wire are chunked. Worker threads, blocking fds with
 * the TCPTimeout set (swarm_tcp.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "swarm_int.h"
#include "swim_sealed_stream.h"

#define SWARM_SEALED_MAX (256u << 20)	/* largest plaintext we take */

/* Read until buf holds want bytes. @retval 0 or -1. */
static int
swarm_sealed_fill(int fd, uint8_t *buf, size_t *have, size_t want,
		  int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (*have < want) {
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = recv(fd, buf + *have, want - *have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	return 0;
}

/* Append n bytes to the plaintext (grown by doubling). @retval 0/-1 */
static int
swarm_sealed_put(uint8_t **out, size_t *len, size_t *cap, size_t n)
{
	size_t want = *len + n;

	if (want > SWARM_SEALED_MAX)
		return -1;
	if (want > *cap) {
		size_t c = *cap ? *cap : SWIM_SSTREAM_CHUNK_MAX;
		uint8_t *p;

		while (c < want)
			c *= 2;
		p = realloc(*out, c);
		if (p == NULL)
			return -1;
		*out = p;
		*cap = c;
	}
	return 0;
}

int
swarm_sealed_read(struct swarm *sw, int fd, const uint8_t *first,
		  size_t first_len, bool is_reply, uint8_t **out, size_t *len)
{
	int timeout = (int)sw->cfg.timing.tcp_timeout_ms;
	/* room for the bytes already read and one whole chunk after them */
	uint8_t *cbuf = malloc(SWIM_SSTREAM_FRAME_MAX + first_len);
	size_t have = 0, cap = 0, used;
	struct swim_sstream st;
	bool fin = false;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (cbuf == NULL)
		goto out;
	memcpy(cbuf, first, first_len);
	have = first_len;
	swim_sstream_init(&st, is_reply);
	while (!fin) {
		long l;

		if (swarm_sealed_fill(fd, cbuf, &have, SWIM_SSTREAM_HDR,
				      timeout) != 0 ||
		    (l = swim_sstream_chunk_len(cbuf, have)) < 0 ||
		    swarm_sealed_fill(fd, cbuf, &have, (size_t)l,
				      timeout) != 0 ||
		    swarm_sealed_put(out, len, &cap, (size_t)l) != 0)
			goto out;
		int n = swim_sstream_open(&st, sw->ring, cbuf, have,
					  *out + *len, cap - *len, &used, &fin);
		if (n < 0)
			goto out;
		*len += (size_t)n;
		memmove(cbuf, cbuf + used, have - used);
		have -= used;
	}
	rc = have == 0 ? 0 : -1;	/* nothing may follow the final */
out:
	free(cbuf);
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int
swarm_sealed_write(struct swarm *sw, int fd, const uint8_t *buf, size_t len,
		   bool is_reply)
{
	uint8_t *frame = malloc(SWIM_SSTREAM_FRAME_MAX);
	struct swim_crypto_nonce_gen gen;
	struct swim_sstream st;
	size_t off = 0;
	int rc = -1;

	if (frame == NULL)
		return -1;
	swim_crypto_nonce_gen_init(&gen);
	swim_sstream_init(&st, is_reply);
	do {
		size_t n = len - off < SWIM_SSTREAM_CHUNK_MAX ?
				   len - off : SWIM_SSTREAM_CHUNK_MAX;
		uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
		int k;

		swim_crypto_nonce_gen_next(&gen, nonce);
		k = swim_sstream_seal(&st, sw->ring, nonce, buf + off, n,
				      off + n == len, frame,
				      SWIM_SSTREAM_FRAME_MAX);
		if (k < 0 || swarm_write_all(fd, frame, (size_t)k) != 0)
			goto out;
		off += n;
	} while (off < len);
	rc = 0;
out:
	free(frame);
	return rc;
}
