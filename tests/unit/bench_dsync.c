/*
 * Delta sync's figures (issue 14 part 1): for tables of N members (the
 * arguments; default 10^4 10^5), the bytes of one exchange between two
 * cores whose tables are equal and then differ in k = 1, 100, 10,000
 * members (a quarter each: missing on one side, newer incarnation,
 * suspect, left), split into digest messages and restricted push/pulls,
 * against memberlist's full push/pull of the same table; the digest
 * structure's bytes per member; CPU (utime + stime) per exchange. Each
 * k runs twice: "leaf" (the first version: HELLO without the member
 * round, the differing leaves' members sent) and "member" (MEMBERS and
 * WANT, only the differing members sent), on fresh differences. Not a
 * test: `build/tests/unit/bench_dsync 10000 100000 1000000`.
 */
#include <stdlib.h>
#include <sys/resource.h>

#define DS_CHECK(c) do { if (!(c)) { fprintf(stderr, "FAILED: %s (%s:%d)\n", \
	#c, __FILE__, __LINE__); abort(); } } while (0)
#include "dsync_util.h"

#define S 1000000ull

static double
bench_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Bytes of s's full push/pull (what memberlist sends each way). */
static size_t
bench_full_pp(const struct swim *s)
{
	static uint8_t win[65536];
	struct swim_pp_enc e;
	size_t total = 0;
	int n;

	swim_pp_enc_start(s, &e, false, 0);
	while ((n = swim_pp_enc_next(s, &e, win, sizeof(win), 4096)) > 0)
		total += (size_t)n;
	return total;
}

/* k differences, members [first, first + k) of the base. */
static void
bench_differ(struct swim *a, struct swim *b, uint64_t now, uint32_t first,
	     uint32_t k)
{
	char name[40];

	for (uint32_t i = 0; i < k; i++) {
		uint32_t j = first + i;
		switch (i % 4) {
		case 0:
			ds_name(name, sizeof(name), "x", j);
			ds_alive(b, now, name, 1, 7);
			break;
		case 1:
			ds_name(name, sizeof(name), "m", j);
			ds_alive(a, now, name, 2, j);
			break;
		case 2:
			ds_name(name, sizeof(name), "m", j);
			ds_accuse(b, now, SWIM_MSG_SUSPECT, name, 1, "z");
			break;
		default:
			ds_name(name, sizeof(name), "m", j);
			ds_accuse(a, now, SWIM_MSG_DEAD, name, 1, name);
			break;
		}
		if (i % 1024 == 1023) {
			ds_drain(a);
			ds_drain(b);
		}
	}
	ds_drain(a);
	ds_drain(b);
}

static void
bench_row(struct swim *a, struct swim *b, uint32_t n, uint32_t k,
	  size_t full, bool leaf_only)
{
	static struct swim_dsync xa, xb;
	struct ds_bytes by = { 0 };
	double t0 = bench_cpu_ms();
	int rc = ds_exchange_opt(a, b, &xa, &xb, &by, leaf_only);
	double t1 = bench_cpu_ms();

	if (rc == SWIM_DSYNC_TRANSFER)
		ds_transfer(a, b, &xa, &xb, 1 * S, &by);
	double t2 = bench_cpu_ms();
	DS_CHECK(ds_tables_equal(a, b));
	size_t ab = by.ab + by.pp_ab, ba = by.ba + by.pp_ba;
	printf("| %u | %u | %s | %u | %u | %zu + %zu | %u | %u + %u | "
	       "%zu + %zu | %zu | %.1fx | %.1f + %.1f |\n", n, k,
	       leaf_only ? "leaf" : "member", by.msgs, xa.bits, by.ab, by.ba,
	       xa.nb_leaves, by.nodes_ab, by.nodes_ba, by.pp_ab, by.pp_ba,
	       ab > ba ? ab : ba, (double)full / (double)(ab > ba ? ab : ba),
	       t1 - t0, t2 - t1);
	fflush(stdout);
}

/* Two equal tables of n members (and each other). */
static void
bench_pair(uint32_t n, struct swim **a, struct swim **b)
{
	*a = ds_core("a", 1, 11);
	*b = ds_core("b", 2, 22);
	ds_alive(*a, 1 * S, "b", 1, 2);
	ds_alive(*b, 1 * S, "a", 1, 1);
	ds_fill(*a, 1 * S, "m", 0, n);
	ds_fill(*b, 1 * S, "m", 0, n);
}

static void
bench_size(uint32_t n)
{
	static const uint32_t ks[] = { 0, 1, 100, 10000 };
	struct swim *a, *b;
	uint32_t used = 0;

	bench_pair(n, &a, &b);
	size_t full = bench_full_pp(a);
	printf("\n%u members: full push/pull %zu B each way; digest %zu B "
	       "(%.2f B/member), %u leaf bits\n", n, full,
	       swim_dsync_mem_bytes(a),
	       (double)swim_dsync_mem_bytes(a) / n, swim_dsync_bits(a));
	printf("| members | k | transfer | msgs | bits | digests a->b + b->a"
	       " (B) | leaves | nodes sent | push/pulls (B) | max one way (B)"
	       " | full / delta | CPU ms digests + transfer |\n"
	       "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (unsigned i = 0; i < 2 * sizeof(ks) / sizeof(ks[0]); i++) {
		uint32_t k = ks[i / 2];
		if (k > n)
			continue;
		if (used + k > n) {	/* members to spare: start over */
			swim_delete(a);
			swim_delete(b);
			bench_pair(n, &a, &b);
			used = 0;
		}
		bench_differ(a, b, 1 * S, used, k);
		used += k;
		bench_row(a, b, n, k, full, i % 2 == 0);
	}
	swim_delete(a);
	swim_delete(b);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		bench_size(10000);
		bench_size(100000);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		bench_size((uint32_t)strtoul(argv[i], NULL, 10));
	return 0;
}
