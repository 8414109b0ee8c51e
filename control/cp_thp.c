/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages for the member tables (cp_thp.h): the mode from
 * sysfs once, then per loop iteration a comparison of the heap's top with
 * what was marked, and an madvise when it grew a step. Process-wide state
 * (one heap), control thread only; never blocks.
 */
#include "cp_thp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cp_log.h"

const char *const cp_thp_mode_str[CP_THP_MODE_COUNT] = {
	[CP_THP_MODE_ALWAYS] = "always",
	[CP_THP_MODE_MADVISE] = "madvise",
	[CP_THP_MODE_NEVER] = "never",
};

/* The one heap's state; written by cp_thp_init and cp_thp_tick only. */
static struct {
	bool is_on;		/* mode madvise and a brk heap: act */
	uintptr_t lo;		/* heap start noted at init */
	uintptr_t marked_to;	/* end of the range marked last; 0: none */
	uint64_t nb_marked;	/* madvise calls that succeeded */
} cp_thp;

int
cp_thp_mode_parse(const char *text)
{
	char want[16];

	if (text == NULL)
		return -EINVAL;
	/* sysfs brackets the selected one: "always [madvise] never" */
	for (int m = 0; m < CP_THP_MODE_COUNT; m++) {
		snprintf(want, sizeof(want), "[%s]", cp_thp_mode_str[m]);
		if (strstr(text, want) != NULL)
			return m;
	}
	return -EINVAL;
}

bool
cp_thp_range(uintptr_t lo, uintptr_t top, uintptr_t marked_to,
	     uintptr_t min_bytes, uintptr_t step, uintptr_t *from,
	     uintptr_t *to)
{
	uintptr_t page = 4096;
	uintptr_t a = (lo + page - 1) & ~(page - 1);
	/* a 2 MiB boundary: the mappings it splits the heap into hold
	 * whole huge pages only (a brk growth after it is a new mapping) */
	uintptr_t b = top & ~(CP_THP_PAGE - 1);

	if (top <= lo || top - lo < min_bytes || b <= a)
		return false;
	if (marked_to != 0 && b < marked_to + step)
		return false;
	*from = a;
	*to = b;
	return true;
}

/* The mode from sysfs_path. @retval the mode or -ENOENT / -EINVAL. */
static int
cp_thp_mode_read(const char *sysfs_path)
{
	char text[128];
	FILE *f = fopen(sysfs_path, "r");
	size_t n;

	if (f == NULL)
		return -ENOENT;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return cp_thp_mode_parse(text);
}

int
cp_thp_init(const char *sysfs_path)
{
	void *lo = sbrk(0);
	int mode = cp_thp_mode_read(sysfs_path);
	const char *env = getenv(CP_THP_ENV);

	cp_thp.is_on = false;
	cp_thp.marked_to = 0;
	cp_thp.nb_marked = 0;
	if (mode < 0)
		return mode;
	if (mode != CP_THP_MODE_MADVISE || lo == (void *)-1 ||
	    (env != NULL && strcmp(env, "0") == 0))
		return -ENOTSUP;
	cp_thp.lo = (uintptr_t)lo;
	cp_thp.is_on = true;
	return 0;
}

/* First time large: the big arrays join the heap from now on. */
static void
cp_thp_first(uintptr_t bytes)
{
#ifdef __GLIBC__
	/* refused (not glibc's own malloc): they stay mmapped, 4 KiB */
	(void)mallopt(M_MMAP_THRESHOLD, (int)CP_THP_MMAP_THRESHOLD);
#endif
	CP_LOG(INFO, "memory: heap at %llu MiB: asking for transparent huge "
	       "pages", (unsigned long long)(bytes >> 20));
}

bool
cp_thp_tick(void)
{
	uintptr_t from, to;
	void *top;

	if (!cp_thp.is_on)
		return false;
	top = sbrk(0);		/* glibc: the cached break, no system call */
	if (top == (void *)-1)
		return false;
	/* trimmed below the mark: the next growth starts a new mapping */
	if (((uintptr_t)top & ~(CP_THP_PAGE - 1)) < cp_thp.marked_to)
		cp_thp.marked_to = (uintptr_t)top & ~(CP_THP_PAGE - 1);
	if (
	    !cp_thp_range(cp_thp.lo, (uintptr_t)top, cp_thp.marked_to,
			  CP_THP_HEAP_MIN, CP_THP_STEP, &from, &to))
		return false;
	if (cp_thp.marked_to == 0)
		cp_thp_first((uintptr_t)top - cp_thp.lo);
	/* the range is ours: it cannot fail but for a kernel without THP */
	if (madvise((void *)from, to - from, MADV_HUGEPAGE) != 0) {
		CP_LOG(WARN, "memory: madvise(MADV_HUGEPAGE) failed: %s",
		       strerror(errno));
		cp_thp.is_on = false;
		return false;
	}
	cp_thp.marked_to = to;
	cp_thp.nb_marked++;
	return true;
}

uint64_t
cp_thp_nb_marked(void)
{
	return cp_thp.nb_marked;
}
