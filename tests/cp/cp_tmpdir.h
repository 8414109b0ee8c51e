/* SPDX-License-Identifier: MIT */
/*
 * A scratch directory per Test for the config tests (test_cp_cfg_file,
 * test_cp_agent): made in the suite's init, removed in its fini, and
 * files written into it. Header only, as tests/dp/dpdk_eal_test.h.
 */
#ifndef CP_TMPDIR_H_INCLUDED
#define CP_TMPDIR_H_INCLUDED

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

/* dir = a new /tmp/<tag>.XXXXXX. */
static inline void
cp_tmp_make(char *dir, size_t size, const char *tag)
{
	snprintf(dir, size, "/tmp/%s.XXXXXX", tag);
	cr_assert_not_null(mkdtemp(dir));
}

static inline void
cp_tmp_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/*
 * Write dir/name with text; return the path, in a static buffer that
 * the fourth call after this one reuses.
 */
static inline const char *
cp_tmp_put(const char *dir, const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	FILE *f;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	f = fopen(path[k], "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path[k];
}

#endif /* CP_TMPDIR_H_INCLUDED */
