/* SPDX-License-Identifier: MIT */
/*
 * Vivaldi coordinates (serf_coord.c): serf's defaults, validation, the
 * median filter, convergence to a known RTT, and the reset on overflow.
 * All arithmetic: no timing involved.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>

#include "serf_coord.h"

TestSuite(serf_coord, .timeout = 10);

static struct serf_coord_client a, b;
static struct serf_coord_cfg cfg;

static void
make(struct serf_coord_client *cl, uint64_t seed)
{
	serf_coord_cfg_default(&cfg);
	cr_assert_eq(serf_coord_client_create(cl, &cfg, seed), 0);
}

Test(serf_coord, defaults_are_serfs)
{
	make(&a, 1);
	cr_assert_eq(cfg.dim, 8);
	cr_assert_float_eq(cfg.error_max, 1.5, 0);
	cr_assert_float_eq(cfg.ce, 0.25, 0);
	cr_assert_float_eq(cfg.cc, 0.25, 0);
	cr_assert_eq(cfg.adjustment_window, 20);
	cr_assert_float_eq(cfg.height_min, 10.0e-6, 0);
	cr_assert_eq(cfg.latency_filter, 3);
	cr_assert_float_eq(cfg.gravity_rho, 150.0, 0);
	cr_assert_eq(a.coord.dim, 8);
	cr_assert_float_eq(a.coord.error, 1.5, 0);
	cr_assert_float_eq(a.coord.height, 10.0e-6, 0);
	cr_assert(serf_coord_is_valid(&a.coord));
}

Test(serf_coord, bad_configs_are_refused)
{
	struct serf_coord_cfg c;

	serf_coord_cfg_default(&c);
	c.dim = 0;
	cr_assert_eq(serf_coord_client_create(&a, &c, 1), -EINVAL);
	c.dim = SERF_COORD_DIM_MAX + 1;
	cr_assert_eq(serf_coord_client_create(&a, &c, 1), -EINVAL);
	serf_coord_cfg_default(&c);
	c.latency_filter = 0;
	cr_assert_eq(serf_coord_client_create(&a, &c, 1), -EINVAL);
	serf_coord_cfg_default(&c);
	c.adjustment_window = SERF_COORD_ADJ_MAX + 1;
	cr_assert_eq(serf_coord_client_create(&a, &c, 1), -EINVAL);
}

Test(serf_coord, fresh_payload_is_version_1_and_41_plus_vec)
{
	uint8_t buf[SERF_COORD_PAYLOAD_MAX];
	struct serf_coord c;

	make(&a, 1);
	int n = serf_coord_encode_payload(&a.coord, buf, sizeof(buf));
	/* 01 84 + 3 keyed doubles (11+9, 6+9, 7+9) + a3"Vec" 98 + 8 * 9. */
	cr_assert_eq(n, 2 + 20 + 15 + 16 + 5 + 72);
	cr_assert_eq(buf[0], 1);
	cr_assert_eq(serf_coord_decode_payload(buf, (size_t)n, &c), 0);
	cr_assert_float_eq(c.error, 1.5, 0);
	cr_assert_eq(serf_coord_encode_payload(&a.coord, buf, 10), -ENOSPC);
}

Test(serf_coord, distance_adds_heights_and_adjustments)
{
	struct serf_coord x, y;

	make(&a, 1);
	serf_coord_init(&x, &cfg);
	serf_coord_init(&y, &cfg);
	x.vec[0] = 0.003;
	y.vec[1] = 0.004;
	/* |(0.003, -0.004)| = 0.005, + 2 heights of 10 µs. */
	cr_assert_float_eq(serf_coord_distance(&x, &y), 0.00502, 2e-9);
	x.adjustment = 0.001;
	cr_assert_float_eq(serf_coord_distance(&x, &y), 0.00602, 2e-9);
	/* A negative total adjustment is ignored when it would go < 0. */
	x.adjustment = -1.0;
	cr_assert_float_eq(serf_coord_distance(&x, &y), 0.00502, 2e-9);
	cr_assert_float_eq(serf_coord_distance(&y, &x),
			   serf_coord_distance(&x, &y), 0);
}

Test(serf_coord, invalid_updates_change_nothing)
{
	struct serf_coord other;
	struct serf_coord_filter f = { .nb = 0 };
	struct serf_coord before;

	make(&a, 1);
	before = a.coord;
	serf_coord_init(&other, &cfg);
	other.dim = 4;
	cr_assert_eq(serf_coord_update(&a, &f, &other, 1000), -EINVAL);
	serf_coord_init(&other, &cfg);
	other.vec[2] = NAN;
	cr_assert_eq(serf_coord_update(&a, &f, &other, 1000), -EINVAL);
	other.vec[2] = 0;
	other.height = INFINITY;
	cr_assert_eq(serf_coord_update(&a, &f, &other, 1000), -EINVAL);
	other.height = cfg.height_min;
	cr_assert_eq(serf_coord_update(&a, &f, &other, 10000001), -EINVAL);
	cr_assert_eq(f.nb, 0);
	cr_assert_eq(memcmp(&before, &a.coord, sizeof(before)), 0);
}

Test(serf_coord, median_filter_keeps_the_last_three)
{
	struct serf_coord other;
	struct serf_coord_filter f = { .nb = 0 };

	make(&a, 1);
	serf_coord_init(&other, &cfg);
	cr_assert_eq(serf_coord_update(&a, &f, &other, 1000), 0);
	cr_assert_eq(serf_coord_update(&a, &f, &other, 100000), 0);
	cr_assert_eq(serf_coord_update(&a, &f, &other, 2000), 0);
	cr_assert_eq(serf_coord_update(&a, &f, &other, 3000), 0);
	cr_assert_eq(f.nb, 3);
	cr_assert_float_eq(f.samples[0], 0.1, 1e-12);
	cr_assert_float_eq(f.samples[2], 0.003, 1e-12);
}

Test(serf_coord, two_nodes_converge_to_their_rtt)
{
	struct serf_coord_filter fa = { .nb = 0 }, fb = { .nb = 0 };
	struct serf_coord ca, cb;

	make(&a, 1);
	make(&b, 2);
	for (int i = 0; i < 500; i++) {
		cb = b.coord;
		cr_assert_eq(serf_coord_update(&a, &fb, &cb, 10000), 0);
		ca = a.coord;
		cr_assert_eq(serf_coord_update(&b, &fa, &ca, 10000), 0);
	}
	double d = serf_coord_distance(&a.coord, &b.coord);
	cr_assert(fabs(d - 0.010) < 0.001, "distance %f s", d);
	cr_assert_lt(a.coord.error, 0.5);
	cr_assert(serf_coord_is_valid(&a.coord));
	cr_assert_eq(a.resets, 0);
}

Test(serf_coord, zero_rtt_and_coincident_coordinates_stay_valid)
{
	struct serf_coord other;
	struct serf_coord_filter f = { .nb = 0 };

	make(&a, 7);
	serf_coord_init(&other, &cfg);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(serf_coord_update(&a, &f, &other, 0), 0);
	cr_assert(serf_coord_is_valid(&a.coord));
	cr_assert_eq(a.resets, 0);
}

Test(serf_coord, overflow_resets_the_coordinate)
{
	struct serf_coord other;
	struct serf_coord_filter f = { .nb = 0 };

	make(&a, 1);
	serf_coord_init(&other, &cfg);
	other.vec[0] = 1e308;
	other.vec[1] = 1e308;
	cr_assert_eq(serf_coord_update(&a, &f, &other, 1000), 0);
	cr_assert_eq(a.resets, 1);
	cr_assert(serf_coord_is_valid(&a.coord));
	cr_assert_float_eq(a.coord.error, 1.5, 0);
}
