/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: libFuzzer's entry point, and FUZZ_CHECK,
 * an invariant that traps (a crash libFuzzer reports, and a failing
 * replay under fuzz_main.c) instead of printing and going on.
 */
#ifndef FUZZ_CHECK_H_INCLUDED
#define FUZZ_CHECK_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			__builtin_trap();                                  \
	} while (0)

#endif /* FUZZ_CHECK_H_INCLUDED */
