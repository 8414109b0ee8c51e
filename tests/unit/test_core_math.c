/*
 * Lifeguard arithmetic against memberlist's own numbers (doc §11):
 * suspicion timeouts, confirmations, retransmit limits, push/pull
 * scaling and the awareness score.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "swim_awareness.h"
#include "swim_suspect.h"

#define MS 1000ull
#define S (1000ull * MS)

struct min_case {
	uint32_t mult;
	uint32_t n;
	uint64_t interval;
	uint64_t want;
};

ParameterizedTestParameters(core_math, suspicion_min)
{
	static struct min_case cases[] = {
		{ 4, 1, 1 * S, 4 * S },		/* LAN, tiny */
		{ 4, 2, 1 * S, 4 * S },
		{ 4, 10, 1 * S, 4 * S },	/* LAN: 4 s up to n = 10 */
		{ 4, 100, 1 * S, 8 * S },	/* 8 s at 100 */
		{ 4, 1000, 1 * S, 12 * S },	/* 12 s at 1000 */
		{ 4, 0, 1 * S, 4 * S },		/* n = 0 is max(1, n) */
		/* log10(50) = 1.69897 truncated to 1.698 */
		{ 4, 50, 1 * S, 6792 * MS },
		{ 6, 10, 5 * S, 30 * S },	/* WAN: 30 s up to 10 */
		{ 3, 5, 1 * S, 3 * S },		/* Local */
	};
	return cr_make_param_array(struct min_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct min_case *c, core_math, suspicion_min)
{
	cr_assert_eq(swim_suspicion_min_us(c->mult, c->n, c->interval),
		     c->want, "mult %u n %u", c->mult, c->n);
}

struct k_case {
	uint32_t mult;
	uint32_t n;
	uint32_t want;
};

ParameterizedTestParameters(core_math, suspicion_k)
{
	static struct k_case cases[] = {
		{ 4, 2, 0 }, { 4, 3, 0 }, { 4, 4, 2 }, { 4, 10, 2 },
		{ 6, 5, 0 }, { 6, 6, 4 }, { 3, 3, 1 }, { 3, 2, 0 },
		{ 1, 100, 0 }, { 0, 100, 0 }, { 2, 100, 0 },
		{ 100, 1000, 30 },	/* clamped to SWIM_SUSPECT_K_MAX */
	};
	return cr_make_param_array(struct k_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct k_case *c, core_math, suspicion_k)
{
	cr_assert_eq(swim_suspicion_k(c->mult, c->n), c->want,
		     "mult %u n %u", c->mult, c->n);
}

struct total_case {
	uint32_t c;
	uint32_t k;
	uint64_t min;
	uint64_t max;
	uint64_t want;
};

ParameterizedTestParameters(core_math, suspicion_total)
{
	static struct total_case cases[] = {
		/* LAN n = 10 (doc §11.3): 24 s, ~11.4 s, 4 s */
		{ 0, 2, 4 * S, 24 * S, 24 * S },
		{ 1, 2, 4 * S, 24 * S, 11381 * MS },
		{ 2, 2, 4 * S, 24 * S, 4 * S },
		{ 3, 2, 4 * S, 24 * S, 4 * S },		/* never below min */
		/* memberlist TestSuspicion_remainingSuspicionTime shapes */
		{ 0, 3, 2 * S, 30 * S, 30 * S },
		{ 1, 3, 2 * S, 30 * S, 16 * S },
		{ 2, 3, 2 * S, 30 * S, 7810 * MS },
		{ 3, 3, 2 * S, 30 * S, 2 * S },
		{ 4, 3, 2 * S, 30 * S, 2 * S },
		/* k = 0: min straight away */
		{ 0, 0, 4 * S, 24 * S, 4 * S },
		/* max <= min */
		{ 1, 2, 4 * S, 4 * S, 4 * S },
	};
	return cr_make_param_array(struct total_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct total_case *c, core_math, suspicion_total)
{
	cr_assert_eq(swim_suspicion_total_us(c->c, c->k, c->min, c->max),
		     c->want, "c %u k %u", c->c, c->k);
}

Test(core_math, suspicion_starts_at_max_with_k)
{
	struct swim_suspicion s;

	swim_suspicion_start(&s, 1, 2, 4 * S, 24 * S, 100 * S);
	cr_assert_eq(s.deadline_us, 124 * S);
	swim_suspicion_start(&s, 1, 0, 4 * S, 24 * S, 100 * S);
	cr_assert_eq(s.deadline_us, 104 * S);
}

Test(core_math, confirmations_distinct_and_bounded)
{
	struct swim_suspicion s;

	swim_suspicion_start(&s, 11, 2, 4 * S, 24 * S, 100 * S);
	/* The accuser itself does not confirm. */
	cr_assert_not(swim_suspicion_confirm(&s, 11));
	cr_assert(swim_suspicion_confirm(&s, 22));
	cr_assert_eq(s.deadline_us, 100 * S + 11381 * MS);
	/* Same confirmer twice counts once. */
	cr_assert_not(swim_suspicion_confirm(&s, 22));
	cr_assert(swim_suspicion_confirm(&s, 33));
	cr_assert_eq(s.deadline_us, 104 * S);
	/* k reached: no more. */
	cr_assert_not(swim_suspicion_confirm(&s, 44));
	cr_assert_eq(s.n, 2);
}

Test(core_math, no_confirmations_when_k_zero)
{
	struct swim_suspicion s;

	swim_suspicion_start(&s, 1, 0, 4 * S, 24 * S, 0);
	cr_assert_not(swim_suspicion_confirm(&s, 2));
	cr_assert_eq(s.deadline_us, 4 * S);
}

struct limit_case {
	uint32_t mult;
	uint32_t n;
	uint32_t want;
};

ParameterizedTestParameters(core_math, retransmit_limit)
{
	static struct limit_case cases[] = {
		{ 4, 0, 0 }, { 4, 1, 4 }, { 4, 2, 4 }, { 4, 9, 4 },
		{ 4, 10, 8 }, { 4, 99, 8 }, { 4, 100, 12 }, { 4, 999, 12 },
		{ 4, 1000, 16 }, { 2, 5, 2 }, { 0, 50, 0 },
	};
	return cr_make_param_array(struct limit_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct limit_case *c, core_math, retransmit_limit)
{
	cr_assert_eq(swim_retransmit_limit(c->mult, c->n), c->want,
		     "mult %u n %u", c->mult, c->n);
}

struct pp_case {
	uint32_t n;
	uint64_t want;
};

ParameterizedTestParameters(core_math, push_pull_scale)
{
	static struct pp_case cases[] = {
		{ 1, 30 * S }, { 32, 30 * S }, { 33, 60 * S }, { 64, 60 * S },
		{ 65, 90 * S }, { 128, 90 * S }, { 129, 120 * S },
		{ 1000, 180 * S }, { 0, 30 * S },
	};
	return cr_make_param_array(struct pp_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pp_case *c, core_math, push_pull_scale)
{
	cr_assert_eq(swim_push_pull_scale(30 * S, c->n), c->want, "n %u",
		     c->n);
}

Test(core_math, awareness_clamps_and_scales)
{
	struct swim_awareness a;

	swim_awareness_init(&a, 8);
	cr_assert_eq(a.score, 0);
	cr_assert_eq(swim_awareness_scale(&a, 1 * S), 1 * S);
	swim_awareness_apply(&a, -1);
	cr_assert_eq(a.score, 0);
	swim_awareness_apply(&a, 3);
	cr_assert_eq(a.score, 3);
	cr_assert_eq(swim_awareness_scale(&a, 1 * S), 4 * S);
	swim_awareness_apply(&a, 100);
	cr_assert_eq(a.score, 7);
	cr_assert_eq(swim_awareness_scale(&a, 1 * S), 8 * S);
	swim_awareness_apply(&a, -2);
	cr_assert_eq(a.score, 5);
	swim_awareness_apply(&a, -100);
	cr_assert_eq(a.score, 0);
}

Test(core_math, awareness_degenerate_max)
{
	struct swim_awareness a;

	swim_awareness_init(&a, 0);
	swim_awareness_apply(&a, 5);
	cr_assert_eq(a.score, 0);
	swim_awareness_init(&a, 1);
	swim_awareness_apply(&a, 5);
	cr_assert_eq(a.score, 0);
	swim_awareness_init(&a, 2);
	swim_awareness_apply(&a, 5);
	cr_assert_eq(a.score, 1);
}
