/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the wire codec tests: hex <-> bytes and
 * swim_str construction. Test-only; header-only so each test links alone.
 */
#ifndef WIRE_UTIL_H_INCLUDED
#define WIRE_UTIL_H_INCLUDED

#include "swim_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memberlist-wire.md Appendix A: ping{SeqNo 1, Node b} from a
 * (127.0.0.1:7946), 59 bytes. */
#define HEX_PING59                                                          \
	"0085a44e6f6465a162a55365714e6f01aa536f7572636541646472a47f000001"  \
	"aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0a"
/* alive{a, Incarnation 1, 127.0.0.1:7946, Meta {role: web}, serf's Vsn},
 * 68 bytes. */
#define HEX_ALIVE68                                                         \
	"0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461abff81" \
	"a4726f6c65a3776562a44e6f6465a161a4506f7274cd1f0aa356736ea601050202" \
	"0505"
/* indirect ping{SeqNo 70000, c at 127.0.0.1:7947, Nack} from a, 89 bytes. */
#define HEX_INDIRECT89                                                      \
	"0188a44e61636bc3a44e6f6465a163a4506f7274cd1f0ba55365714e6fce000111" \
	"70aa536f7572636541646472a47f000001aa536f757263654e6f6465a161aa536f" \
	"75726365506f7274cd1f0aa6546172676574a47f000001"

/* Decode hex into out (cap bytes). @retval length, or -1 on bad hex. */
static inline int
wire_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

/* A swim_str over a C string (no NUL). */
static inline struct swim_str
wire_s(const char *s)
{
	struct swim_str r = { (const uint8_t *)s, (uint32_t)strlen(s) };

	return r;
}

/* A swim_str over bytes. */
static inline struct swim_str
wire_b(const void *p, size_t len)
{
	struct swim_str r = { (const uint8_t *)p, (uint32_t)len };

	return r;
}

/* Whether a slice equals a C string (NULL slice equals ""). */
static inline int
wire_eq(struct swim_str s, const char *c)
{
	size_t n = strlen(c);

	return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

/* Whether a slice equals bytes. */
static inline int
wire_eqb(struct swim_str s, const void *p, size_t n)
{
	return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

#ifdef WIRE_DATA_DIR
#include <criterion/criterion.h>

/* A capture under tests/data, <name>.<kind>.hex (kind: udp or tcp); the
 * test fails when it is missing. */
static inline FILE *
wire_open_data(const char *name, const char *kind)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s.hex", WIRE_DATA_DIR, name,
		 kind);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

/* The next packet of a capture: its next hex line (blank lines and #
 * comments skipped) into out; line (cap line_cap) holds the text. The
 * test fails on a bad hex line. @retval bytes, 0 at EOF. */
static inline int
wire_next_hex(FILE *f, char *line, size_t line_cap, uint8_t *out,
	      size_t cap)
{
	while (fgets(line, (int)line_cap, f) != NULL) {
		size_t n = strcspn(line, "\r\n");
		int len;

		if (n == 0 || line[0] == '#')
			continue;
		line[n] = 0;
		len = wire_unhex(line, out, cap);
		cr_assert_gt(len, 0, "bad hex line");
		return len;
	}
	return 0;
}
#endif

#endif /* WIRE_UTIL_H_INCLUDED */
