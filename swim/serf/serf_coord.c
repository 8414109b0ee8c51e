/* SPDX-License-Identifier: MIT */
/*
 * Vivaldi coordinates, following serf's coordinate package step for step
 * (so our numbers agree with what serf agents compute about us), plus the
 * ping ack payload codec. Pure arithmetic: no allocation, no clock.
 *
 * Two Go details kept on purpose: DistanceTo goes through time.Duration,
 * so distances are truncated to whole nanoseconds before use; and a zero
 * distance between coordinates picks a random unit direction.
 */
#include "serf_coord.h"
#include "swim_mp.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Below this a magnitude or RTT counts as zero (coordinate.go). */
#define ZERO_THRESHOLD 1.0e-6
/* Updates with an RTT above this are rejected (client.go maxRTT). */
#define MAX_RTT_US (10ull * 1000 * 1000)

void
serf_coord_cfg_default(struct serf_coord_cfg *cfg)
{
	cfg->dim = 8;
	cfg->error_max = 1.5;
	cfg->ce = 0.25;
	cfg->cc = 0.25;
	cfg->adjustment_window = 20;
	cfg->height_min = 10.0e-6;
	cfg->latency_filter = 3;
	cfg->gravity_rho = 150.0;
}

void
serf_coord_init(struct serf_coord *c, const struct serf_coord_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->dim = cfg->dim;
	c->error = cfg->error_max;
	c->height = cfg->height_min;
}

int
serf_coord_client_create(struct serf_coord_client *cl,
			 const struct serf_coord_cfg *cfg, uint64_t seed)
{
	if (cfg->dim == 0 || cfg->dim > SERF_COORD_DIM_MAX ||
	    cfg->adjustment_window > SERF_COORD_ADJ_MAX ||
	    cfg->latency_filter == 0 ||
	    cfg->latency_filter > SERF_COORD_FILTER_MAX ||
	    !(cfg->gravity_rho > 0))
		return -EINVAL;
	memset(cl, 0, sizeof(*cl));
	cl->cfg = *cfg;
	serf_coord_init(&cl->coord, cfg);
	cl->rand_state = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
	return 0;
}

static bool
finite_ok(double f)
{
	return !isinf(f) && !isnan(f);
}

bool
serf_coord_is_valid(const struct serf_coord *c)
{
	for (uint32_t i = 0; i < c->dim; i++) {
		if (!finite_ok(c->vec[i]))
			return false;
	}
	return finite_ok(c->error) && finite_ok(c->adjustment) &&
	       finite_ok(c->height);
}

static double
magnitude_diff(const struct serf_coord *a, const struct serf_coord *b)
{
	double sum = 0.0;

	for (uint32_t i = 0; i < a->dim; i++) {
		double d = a->vec[i] - b->vec[i];
		sum += d * d;
	}
	return sqrt(sum);
}

static double
raw_distance(const struct serf_coord *a, const struct serf_coord *b)
{
	return magnitude_diff(a, b) + a->height + b->height;
}

double
serf_coord_distance(const struct serf_coord *a, const struct serf_coord *b)
{
	double dist = raw_distance(a, b);
	double adjusted = dist + a->adjustment + b->adjustment;

	if (adjusted > 0.0)
		dist = adjusted;
	/* Go returns a time.Duration: whole nanoseconds. */
	return trunc(dist * 1.0e9) / 1.0e9;
}

/** xorshift64*: a uniform double in [0, 1). */
static double
rand_unit(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/** unitVectorAt: the unit vector from b to a, random if they coincide. */
static double
unit_vector(struct serf_coord_client *cl, const struct serf_coord *a,
	    const struct serf_coord *b, double *unit)
{
	double mag = magnitude_diff(a, b);
	uint32_t dim = a->dim;

	if (mag > ZERO_THRESHOLD) {
		for (uint32_t i = 0; i < dim; i++)
			unit[i] = (a->vec[i] - b->vec[i]) / mag;
		return mag;
	}
	double sum = 0.0;
	for (uint32_t i = 0; i < dim; i++) {
		unit[i] = rand_unit(&cl->rand_state) - 0.5;
		sum += unit[i] * unit[i];
	}
	double rmag = sqrt(sum);
	for (uint32_t i = 0; i < dim; i++)
		unit[i] = rmag > ZERO_THRESHOLD ? unit[i] / rmag : (i == 0);
	return 0.0;
}

/** ApplyForce: move our coordinate by force along other -> us. */
static void
apply_force(struct serf_coord_client *cl, double force,
	    const struct serf_coord *other)
{
	struct serf_coord *c = &cl->coord;
	double unit[SERF_COORD_DIM_MAX];
	double mag = unit_vector(cl, c, other, unit);

	for (uint32_t i = 0; i < c->dim; i++)
		c->vec[i] += unit[i] * force;
	if (mag > ZERO_THRESHOLD) {
		c->height = (c->height + other->height) * force / mag +
			    c->height;
		c->height = fmax(c->height, cl->cfg.height_min);
	}
}

/** latencyFilter: add a sample, return the median of the last few. */
static double
latency_filter(const struct serf_coord_cfg *cfg,
	       struct serf_coord_filter *f, double rtt_s)
{
	double sorted[SERF_COORD_FILTER_MAX];

	if (f->nb >= cfg->latency_filter) {
		memmove(f->samples, f->samples + 1,
			(f->nb - 1) * sizeof(f->samples[0]));
		f->nb--;
	}
	f->samples[f->nb++] = rtt_s;
	memcpy(sorted, f->samples, f->nb * sizeof(sorted[0]));
	for (uint32_t i = 1; i < f->nb; i++) {	/* insertion sort, n <= 8 */
		double v = sorted[i];
		uint32_t j = i;
		for (; j > 0 && sorted[j - 1] > v; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = v;
	}
	return sorted[f->nb / 2];
}

static void
update_vivaldi(struct serf_coord_client *cl, const struct serf_coord *other,
	       double rtt_s)
{
	struct serf_coord *c = &cl->coord;
	double dist = serf_coord_distance(c, other);

	if (rtt_s < ZERO_THRESHOLD)
		rtt_s = ZERO_THRESHOLD;
	double wrongness = fabs(dist - rtt_s) / rtt_s;
	double total_error = c->error + other->error;
	if (total_error < ZERO_THRESHOLD)
		total_error = ZERO_THRESHOLD;
	double weight = c->error / total_error;

	c->error = cl->cfg.ce * weight * wrongness +
		   c->error * (1.0 - cl->cfg.ce * weight);
	if (c->error > cl->cfg.error_max)
		c->error = cl->cfg.error_max;
	apply_force(cl, cl->cfg.cc * weight * (rtt_s - dist), other);
}

static void
update_adjustment(struct serf_coord_client *cl,
		  const struct serf_coord *other, double rtt_s)
{
	uint32_t n = cl->cfg.adjustment_window;
	double sum = 0.0;

	if (n == 0)
		return;
	cl->adj_samples[cl->adj_index] = rtt_s - raw_distance(&cl->coord,
							      other);
	cl->adj_index = (cl->adj_index + 1) % n;
	for (uint32_t i = 0; i < n; i++)
		sum += cl->adj_samples[i];
	cl->coord.adjustment = sum / (2.0 * n);
}

/** Pull gently towards the origin against drift (updateGravity). */
static void
update_gravity(struct serf_coord_client *cl)
{
	struct serf_coord origin;

	serf_coord_init(&origin, &cl->cfg);
	double dist = serf_coord_distance(&origin, &cl->coord);
	double force = -1.0 * pow(dist / cl->cfg.gravity_rho, 2.0);
	apply_force(cl, force, &origin);
}

int
serf_coord_update(struct serf_coord_client *cl,
		  struct serf_coord_filter *peer,
		  const struct serf_coord *other, uint64_t rtt_us)
{
	if (other->dim != cl->coord.dim || !serf_coord_is_valid(other) ||
	    rtt_us > MAX_RTT_US)
		return -EINVAL;
	double rtt_s = latency_filter(&cl->cfg, peer, (double)rtt_us / 1e6);
	update_vivaldi(cl, other, rtt_s);
	update_adjustment(cl, other, rtt_s);
	update_gravity(cl);
	if (!serf_coord_is_valid(&cl->coord)) {
		cl->resets++;
		serf_coord_init(&cl->coord, &cl->cfg);
	}
	return 0;
}

/** Vec: up to SERF_COORD_DIM_MAX float64s. */
static int
rd_vec(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_coord *c = obj;
	uint32_t nb;
	int rc = swim_mp_read_container(pos, end, false, &nb);

	if (rc != 0)
		return rc;
	if (nb > SERF_COORD_DIM_MAX)
		return SWIM_WIRE_E_LENGTH;
	c->dim = nb;
	for (uint32_t i = 0; rc == 0 && i < nb; i++)
		rc = swim_mp_read_f64(pos, end, &c->vec[i]);
	return rc;
}

static void
wr_vec(struct swim_mp_w *w, const void *obj)
{
	const struct serf_coord *c = obj;

	swim_mp_put_array(w, c->dim);
	for (uint32_t i = 0; i < c->dim; i++)
		swim_mp_put_f64(w, c->vec[i]);
}

/** Serf's coordinate.Coordinate; go-msgpack writes float64 as 0xcb. */
static const struct swim_mp_field coord_f[] = {
	SWIM_MP_F("Adjustment", F64, struct serf_coord, adjustment),
	SWIM_MP_F("Error", F64, struct serf_coord, error),
	SWIM_MP_F("Height", F64, struct serf_coord, height),
	SWIM_MP_FN_FIELD("Vec", rd_vec, wr_vec),
};

int
serf_coord_encode_payload(const struct serf_coord *c, uint8_t *out,
			  size_t cap)
{
	int rc = swim_mp_encode_msg(SERF_COORD_PING_VERSION, coord_f,
				    SWIM_MP_NB(coord_f), c, out, cap);

	return rc < 0 ? -ENOSPC : rc;
}

int
serf_coord_decode_payload(const uint8_t *buf, size_t len,
			  struct serf_coord *c)
{
	memset(c, 0, sizeof(*c));
	return swim_mp_decode_msg(buf, len, SERF_COORD_PING_VERSION, coord_f,
				  SWIM_MP_NB(coord_f), c);
}
