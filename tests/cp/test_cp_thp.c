/* SPDX-License-Identifier: MIT */
/*
 * cp_thp (control/cp_thp.h): the THP mode parser, the range arithmetic,
 * init's refusals with their exact codes, and, on a kernel with THP, the
 * real thing: a heap grown past CP_THP_HEAP_MIN is marked (VmFlags "hg"
 * in /proc/self/smaps), marked again only after a step of growth, and
 * malloc's big blocks come from the heap afterwards.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_thp.h"

#define MIB ((uintptr_t)1 << 20)

Test(cp_thp, mode_parse)
{
	cr_assert_eq(cp_thp_mode_parse("always [madvise] never\n"),
		     CP_THP_MODE_MADVISE);
	cr_assert_eq(cp_thp_mode_parse("[always] madvise never\n"),
		     CP_THP_MODE_ALWAYS);
	cr_assert_eq(cp_thp_mode_parse("always madvise [never]\n"),
		     CP_THP_MODE_NEVER);
	cr_assert_eq(cp_thp_mode_parse("always madvise never\n"), -EINVAL);
	cr_assert_eq(cp_thp_mode_parse("[sometimes]"), -EINVAL);
	cr_assert_eq(cp_thp_mode_parse(""), -EINVAL);
	cr_assert_eq(cp_thp_mode_parse(NULL), -EINVAL);
}

Test(cp_thp, range_needs_the_minimum)
{
	uintptr_t a = 0, b = 0, lo = 0x10000000;

	cr_assert_not(cp_thp_range(lo, lo + 64 * MIB - 4096, 0, 64 * MIB,
				   4 * MIB, &a, &b));
	cr_assert(cp_thp_range(lo, lo + 64 * MIB, 0, 64 * MIB, 4 * MIB, &a,
			       &b));
	cr_assert_eq(a, lo);
	cr_assert_eq(b, lo + 64 * MIB);
	/* an empty or inverted heap never */
	cr_assert_not(cp_thp_range(lo, lo, 0, 0, 4 * MIB, &a, &b));
	cr_assert_not(cp_thp_range(lo, lo - 4096, 0, 0, 4 * MIB, &a, &b));
}

Test(cp_thp, range_is_page_aligned_inside)
{
	uintptr_t a = 0, b = 0, lo = 0x10000123;

	cr_assert(cp_thp_range(lo, lo + 70 * MIB + 77, 0, 64 * MIB, 4 * MIB,
			       &a, &b));
	cr_assert_eq(a, 0x10001000);
	/* the end on a huge page boundary, so no mapping splits one */
	cr_assert_eq(b, 0x10000000 + 70 * MIB);
	cr_assert_eq(b % CP_THP_PAGE, 0);
	cr_assert(a >= lo && b <= lo + 70 * MIB + 77);
	cr_assert(cp_thp_range(lo, lo + 71 * MIB, 0, 64 * MIB, 4 * MIB, &a,
			       &b));
	cr_assert_eq(b, 0x10000000 + 70 * MIB);
}

Test(cp_thp, range_again_only_after_a_step)
{
	uintptr_t a = 0, b = 0, lo = 0x10000000;
	uintptr_t marked = lo + 64 * MIB;

	cr_assert_not(cp_thp_range(lo, marked + 4 * MIB - 4096, marked,
				   64 * MIB, 4 * MIB, &a, &b));
	cr_assert(cp_thp_range(lo, marked + 4 * MIB, marked, 64 * MIB,
			       4 * MIB, &a, &b));
	cr_assert_eq(a, lo);
	cr_assert_eq(b, marked + 4 * MIB);
}

/* A sysfs-like file with text; the path is in path (PATH_MAX). */
static void
thp_file(char *path, size_t cap, const char *text)
{
	snprintf(path, cap, "/tmp/test_cp_thp.%ld", (long)getpid());
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(cp_thp, init_refusals)
{
	char path[128];

	cr_assert_eq(cp_thp_init("/nonexistent/cp_thp/enabled"), -ENOENT);
	thp_file(path, sizeof(path), "[always] madvise never\n");
	cr_assert_eq(cp_thp_init(path), -ENOTSUP);
	thp_file(path, sizeof(path), "always madvise [never]\n");
	cr_assert_eq(cp_thp_init(path), -ENOTSUP);
	thp_file(path, sizeof(path), "garbage\n");
	cr_assert_eq(cp_thp_init(path), -EINVAL);
	thp_file(path, sizeof(path), "always [madvise] never\n");
	setenv(CP_THP_ENV, "0", 1);
	cr_assert_eq(cp_thp_init(path), -ENOTSUP);
	unsetenv(CP_THP_ENV);
	unlink(path);
	/* refused: the ticks never mark */
	cr_assert_not(cp_thp_tick());
	cr_assert_eq(cp_thp_nb_marked(), 0);
}

/* Does the mapping holding addr carry VmFlags "hg" (MADV_HUGEPAGE)? */
static bool
thp_is_marked(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, hg = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			hg = strstr(line, " hg") != NULL;
			break;
		}
	}
	fclose(f);
	return hg;
}

/* The blocks thp_grow took, freed by thp_free_all. */
static void *thp_blocks[4096];
static unsigned thp_nb_blocks;

/* Grow the heap by about bytes in 64 KiB blocks (below any mmap
 * threshold: they come from brk). @retval the first block. */
static void *
thp_grow(uintptr_t bytes)
{
	void *first = NULL;

	for (uintptr_t n = 0; n < bytes; n += 64 << 10) {
		void *p = malloc(64 << 10);

		cr_assert_not_null(p);
		cr_assert_lt(thp_nb_blocks, 4096);
		memset(p, 1, 64 << 10);
		thp_blocks[thp_nb_blocks++] = p;
		if (first == NULL)
			first = p;
	}
	return first;
}

static void
thp_free_all(void)
{
	while (thp_nb_blocks > 0)
		free(thp_blocks[--thp_nb_blocks]);
}

Test(cp_thp, marks_a_large_heap)
{
	char path[128];
	void *lo, *blk, *big;

	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) != 0)
		cr_skip_test("kernel without transparent huge pages");
	thp_file(path, sizeof(path), "always [madvise] never\n");
	cr_assert_eq(cp_thp_init(path), 0);
	unlink(path);
	lo = sbrk(0);
	(void)thp_grow(32 * MIB);
	cr_assert_not(cp_thp_tick(), "marked below CP_THP_HEAP_MIN");
	blk = thp_grow(CP_THP_HEAP_MIN);	/* past what was free below lo */
	if ((uintptr_t)sbrk(0) - (uintptr_t)lo < CP_THP_HEAP_MIN) {
		thp_free_all();
		cr_skip_test("malloc without a brk heap (a sanitizer's?)");
	}
	cr_assert(cp_thp_tick());
	cr_assert_eq(cp_thp_nb_marked(), 1);
	cr_assert(thp_is_marked(blk), "the heap has no MADV_HUGEPAGE");
	/* no growth, no second call */
	cr_assert_not(cp_thp_tick());
	cr_assert_eq(cp_thp_nb_marked(), 1);
	/* a block the default threshold would mmap comes from the heap */
	big = malloc(2 * MIB);
	cr_assert_not_null(big);
	cr_assert((uintptr_t)big >= (uintptr_t)lo &&
		  (uintptr_t)big < (uintptr_t)sbrk(0),
		  "a 2 MiB block outside the heap: the threshold stayed");
	/* a step more: the new mapping is marked too */
	blk = thp_grow(CP_THP_STEP + 4 * MIB);
	cr_assert(cp_thp_tick());
	cr_assert_eq(cp_thp_nb_marked(), 2);
	cr_assert(thp_is_marked(blk), "the heap's growth has no MADV_HUGEPAGE");
	free(big);
	thp_free_all();
}
