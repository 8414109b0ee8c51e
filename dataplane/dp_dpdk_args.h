/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Split the --eal option string into an argv for rte_eal_init, the way a
 * POSIX shell would split it for the simple cases: blanks separate words,
 * '...' and "..." quote (no escapes inside single quotes), a backslash
 * escapes the next character outside single quotes. No expansion.
 * Pure: no DPDK, no allocation (the caller gives the storage).
 */
#ifndef DP_DPDK_ARGS_H_INCLUDED
#define DP_DPDK_ARGS_H_INCLUDED

#include <stddef.h>

/** Most words one EAL string may hold (argv[0] included). */
#define DP_EAL_ARGC_MAX 64
/** Bytes of storage for the split words. */
#define DP_EAL_ARGS_MAX 2048

/**
 * Split s into argv[1..]; argv[0] is set to prog. argv[argc] is NULL.
 * @param buf     storage for the words (NUL separated), buflen bytes
 * @param argv    room for max_argc + 1 pointers
 * @retval argc (>= 1), -EINVAL for an unterminated quote or a trailing
 *         backslash, -E2BIG when words or storage run out
 */
int dp_eal_args_split(const char *prog, const char *s, char *buf,
		      size_t buflen, char **argv, int max_argc);

#endif /* DP_DPDK_ARGS_H_INCLUDED */
