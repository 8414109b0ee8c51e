/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Shared by the differential oracles (fp_oracle.c, pkt_oracle.c) and
 * their tests: the plain RFC 1071 reference sum the dataplane's checksums
 * are checked against, the formatter of their failure messages, and the
 * hex dump of a failing input. Header only, test
 * only; deliberately naive (a byte at a time), so it shares no code with
 * the dataplane it judges.
 */
#ifndef ORACLE_UTIL_H_INCLUDED
#define ORACLE_UTIL_H_INCLUDED

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** RFC 1071 sum of big-endian words from p[0], a byte at a time, unfolded. */
static inline uint64_t
oracle_sum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (i & 1) != 0 ? p[i] : (uint64_t)p[i] << 8;
	return sum;
}

/** Fold an unfolded ones' complement sum into 16 bits. */
static inline uint16_t
oracle_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/**
 * Format a failure message into a buffer of this file's own (each oracle
 * returns it as its verdict; valid until its next failure).
 */
static inline const char *
	__attribute__((format(printf, 1, 2)))
oracle_fail(const char *fmt, ...)
{
	static char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return msg;
}

/** The first 300 bytes of buf in hex ("..." after them if there are
 * more), for a failure message; valid until the next call. */
static inline const char *
oracle_hex(const uint8_t *buf, size_t len)
{
	static char s[2 * 300 + 16];
	size_t n = len < 300 ? len : 300;

	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", buf[i]);
	snprintf(s + 2 * n, sizeof(s) - 2 * n, "%s", len > n ? "..." : "");
	return s;
}

#endif /* ORACLE_UTIL_H_INCLUDED */
