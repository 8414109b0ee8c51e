/* SPDX-License-Identifier: MIT */
/*
 * malloc's thresholds for the daemon (cp_mem.h). Process-wide; called
 * from main() before the init steps, never from the loop.
 */
#include "cp_mem.h"

#include <errno.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

int
cp_mem_init(void)
{
#ifdef __GLIBC__
	/* mallopt returns 1 on success */
	if (mallopt(M_MMAP_THRESHOLD, (int)CP_MEM_MMAP_THRESHOLD) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, (int)CP_MEM_TRIM_THRESHOLD) != 1 ||
	    mallopt(M_TOP_PAD, (int)CP_MEM_TOP_PAD) != 1)
		return -ENOTSUP;
	return 0;
#else
	return -ENOTSUP;
#endif
}
