/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Vivaldi network coordinates as serf's coordinate package computes them
 * (coordinate/client.go, coordinate.go, config.go), and the ping ack
 * payload that carries them: 01 (PingVersion) + msgpack Coordinate
 * {Adjustment, Error, Height, Vec} in seconds (memberlist-wire.md §10.9).
 *
 * Pure: no allocation, no clock; the random direction Vivaldi needs when
 * two coordinates coincide comes from a caller-supplied PRNG state.
 */
#ifndef SERF_COORD_H_INCLUDED
#define SERF_COORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest dimensionality we store; serf's default is 8. */
#define SERF_COORD_DIM_MAX 8
/** AdjustmentWindowSize upper bound (serf default 20). */
#define SERF_COORD_ADJ_MAX 32
/** LatencyFilterSize upper bound (serf default 3). */
#define SERF_COORD_FILTER_MAX 8
/** The ping payload version byte (serf's PingVersion). */
#define SERF_COORD_PING_VERSION 1
/** Bytes an encoded payload of SERF_COORD_DIM_MAX dimensions takes. */
#define SERF_COORD_PAYLOAD_MAX 160

/** coordinate.Config, with serf's DefaultConfig values. */
struct serf_coord_cfg {
	uint32_t dim;			/* Dimensionality: 8 */
	double error_max;		/* VivaldiErrorMax: 1.5 */
	double ce;			/* VivaldiCE: 0.25 */
	double cc;			/* VivaldiCC: 0.25 */
	uint32_t adjustment_window;	/* AdjustmentWindowSize: 20 */
	double height_min;		/* HeightMin: 10e-6 s */
	uint32_t latency_filter;	/* LatencyFilterSize: 3 */
	double gravity_rho;		/* GravityRho: 150 */
};

/** coordinate.Coordinate; all values in seconds. */
struct serf_coord {
	double vec[SERF_COORD_DIM_MAX];	/* Euclidean part, dim entries */
	uint32_t dim;			/* entries of vec in use */
	double error;			/* confidence, [0, error_max] */
	double adjustment;		/* per-node offset, may be < 0 */
	double height;			/* non-Euclidean access-link part */
};

/** Per-peer RTT samples for the moving median (latencyFilterSamples). */
struct serf_coord_filter {
	double samples[SERF_COORD_FILTER_MAX];	/* oldest first, seconds */
	uint32_t nb;				/* samples in use */
};

/** coordinate.Client: our own coordinate and its adjustment window. */
struct serf_coord_client {
	struct serf_coord_cfg cfg;		/* tuning, fixed at create */
	struct serf_coord coord;		/* current estimate */
	double adj_samples[SERF_COORD_ADJ_MAX];	/* rtt - dist, seconds */
	uint32_t adj_index;			/* next sample slot */
	uint64_t rand_state;			/* PRNG for random directions */
	uint64_t resets;			/* coordinate_resets stat */
};

/** serf's coordinate.DefaultConfig(). */
void serf_coord_cfg_default(struct serf_coord_cfg *cfg);

/** A fresh coordinate: zeros, Error = error_max, Height = height_min. */
void serf_coord_init(struct serf_coord *c, const struct serf_coord_cfg *cfg);

/** @retval 0, or -EINVAL for a bad cfg (dim 0 or too large, ...). */
int serf_coord_client_create(struct serf_coord_client *cl,
			     const struct serf_coord_cfg *cfg, uint64_t seed);

/** Every component finite (IsValid). */
bool serf_coord_is_valid(const struct serf_coord *c);

/** Estimated RTT between two coordinates, seconds (DistanceTo). */
double serf_coord_distance(const struct serf_coord *a,
			   const struct serf_coord *b);

/**
 * Observe rtt_us to a peer whose coordinate is other (Client.Update):
 * median filter, Vivaldi step, adjustment, gravity; an invalid result
 * resets the coordinate and counts a reset.
 * @retval 0, or -EINVAL when other is incompatible or invalid, or the
 *         RTT is outside [0, 10 s] (nothing changes then).
 */
int serf_coord_update(struct serf_coord_client *cl,
		      struct serf_coord_filter *peer,
		      const struct serf_coord *other, uint64_t rtt_us);

/**
 * The ack payload: 01 + msgpack Coordinate.
 * @retval bytes written, or -ENOSPC.
 */
int serf_coord_encode_payload(const struct serf_coord *c, uint8_t *out,
			      size_t cap);

/**
 * Parse an ack payload. @retval 0, or a negative enum swim_wire_err
 * (SWIM_WIRE_E_EMPTY for an empty payload, SWIM_WIRE_E_UNKNOWN_MSG for a
 * version other than 1, SWIM_WIRE_E_LENGTH for more than
 * SERF_COORD_DIM_MAX dimensions, and the usual decode errors).
 */
int serf_coord_decode_payload(const uint8_t *buf, size_t len,
			      struct serf_coord *c);

#endif /* SERF_COORD_H_INCLUDED */
