/* SPDX-License-Identifier: MIT */
/* The --eal string splitter: words, quotes, escapes and every error. */
#include <criterion/criterion.h>

#include <errno.h>

#include "dp_dpdk_args.h"

TestSuite(eal_args, .timeout = 5);

static int
split(const char *s, char **argv)
{
	static char buf[DP_EAL_ARGS_MAX];

	return dp_eal_args_split("prog", s, buf, sizeof(buf), argv,
				 DP_EAL_ARGC_MAX);
}

Test(eal_args, blanks_separate_words_and_argv_ends_with_null)
{
	char *argv[DP_EAL_ARGC_MAX + 1];

	cr_assert_eq(split("  -l 0-1\t--no-pci\n --vdev=net_ring0 ", argv), 5);
	cr_assert_str_eq(argv[0], "prog");
	cr_assert_str_eq(argv[1], "-l");
	cr_assert_str_eq(argv[2], "0-1");
	cr_assert_str_eq(argv[3], "--no-pci");
	cr_assert_str_eq(argv[4], "--vdev=net_ring0");
	cr_assert_null(argv[5]);
}

Test(eal_args, empty_string_gives_just_the_program)
{
	char *argv[DP_EAL_ARGC_MAX + 1];

	cr_assert_eq(split("", argv), 1);
	cr_assert_null(argv[1]);
	cr_assert_eq(split("   ", argv), 1);
}

Test(eal_args, quotes_and_escapes_are_removed)
{
	char *argv[DP_EAL_ARGC_MAX + 1];

	cr_assert_eq(split("--lcores '(0-3)@(0-1)' \"a b\"c a\\ b '\\x'", argv),
		     6);
	cr_assert_str_eq(argv[1], "--lcores");
	cr_assert_str_eq(argv[2], "(0-3)@(0-1)");
	cr_assert_str_eq(argv[3], "a bc");
	cr_assert_str_eq(argv[4], "a b");
	cr_assert_str_eq(argv[5], "\\x");
}

Test(eal_args, unterminated_quote_or_trailing_backslash_is_einval)
{
	char *argv[DP_EAL_ARGC_MAX + 1];

	cr_assert_eq(split("-l '0-1", argv), -EINVAL);
	cr_assert_eq(split("-l \"0-1", argv), -EINVAL);
	cr_assert_eq(split("-l 0-1\\", argv), -EINVAL);
}

Test(eal_args, too_many_words_or_bytes_is_e2big)
{
	char *argv[4];
	char buf[8];

	cr_assert_eq(dp_eal_args_split("p", "a b c d", buf, sizeof(buf), argv,
				       3), -E2BIG);
	cr_assert_eq(dp_eal_args_split("p", "a b", buf, sizeof(buf), argv, 3),
		     3);
	cr_assert_eq(dp_eal_args_split("p", "abcdefgh", buf, sizeof(buf),
				       argv, 3), -E2BIG);
	cr_assert_eq(dp_eal_args_split("p", "abcdefg", buf, sizeof(buf),
				       argv, 3), 2);
	cr_assert_eq(dp_eal_args_split("p", "a", buf, 0, argv, 3), -E2BIG);
}
