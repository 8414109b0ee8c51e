/* SPDX-License-Identifier: MIT */
/*
 * The --eal string splitter (see dp_dpdk_args.h). Runs once, on the
 * control thread, before rte_eal_init; it never allocates, so a bad
 * string cannot leak and its errors are plain -errno values.
 */
#include "dp_dpdk_args.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Splitter state: where the next byte goes and where the input is. */
struct split {
	const char *in;		/* next input byte */
	char *out;		/* next output byte in buf */
	char *end;		/* one past buf */
};

static bool
split_put(struct split *sp, char c)
{
	if (sp->out == sp->end)
		return false;
	*sp->out++ = c;
	return true;
}

/* Copy one word (quotes removed) to sp->out. @retval 0 or -errno. */
static int
split_word(struct split *sp)
{
	char quote = 0;

	for (; *sp->in != '\0'; sp->in++) {
		char c = *sp->in;

		if (quote == 0 && (c == ' ' || c == '\t' || c == '\n'))
			break;
		if (c == quote) {
			quote = 0;
			continue;
		}
		if (quote == 0 && (c == '\'' || c == '"')) {
			quote = c;
			continue;
		}
		if (c == '\\' && quote != '\'') {
			if (sp->in[1] == '\0')
				return -EINVAL;
			c = *++sp->in;
		}
		if (!split_put(sp, c))
			return -E2BIG;
	}
	if (quote != 0)
		return -EINVAL;
	return split_put(sp, '\0') ? 0 : -E2BIG;
}

int
dp_eal_args_split(const char *prog, const char *s, char *buf, size_t buflen,
		  char **argv, int max_argc)
{
	struct split sp = { .in = s, .out = buf, .end = buf + buflen };
	int argc = 0;

	if (max_argc < 1 || buflen == 0)
		return -E2BIG;
	argv[argc++] = (char *)prog;
	while (sp.in != NULL) {
		int rc;

		sp.in += strspn(sp.in, " \t\n");
		if (*sp.in == '\0')
			break;
		if (argc == max_argc)
			return -E2BIG;
		argv[argc++] = sp.out;
		rc = split_word(&sp);
		if (rc != 0)
			return rc;
	}
	argv[argc] = NULL;
	return argc;
}
