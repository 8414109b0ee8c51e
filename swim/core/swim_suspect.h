/**
 * @file
 * Lifeguard suspicion timeouts (memberlist suspicion.go, util.go).
 *
 * A suspect node is declared dead when its timer runs out. The timer
 * starts at max when confirmations are expected (k >= 1), else at min, and
 * shrinks toward min as independent peers confirm the suspicion:
 *   total(c) = max(min, max - ln(c + 1) / ln(k + 1) * (max - min))
 * Pure arithmetic plus one small struct; no clock reads.
 */
#ifndef SWIM_SUSPECT_H_INCLUDED
#define SWIM_SUSPECT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/** Most confirmations we track; a larger k is clamped to this. */
#define SWIM_SUSPECT_K_MAX 30

/**
 * min = mult * max(1, log10(max(1, n))) * interval, the scale truncated
 * to 1/1000 as memberlist's suspicionTimeout does.
 */
uint64_t swim_suspicion_min_us(uint32_t mult, uint32_t n,
			       uint64_t interval_us);

/** Expected confirmations: mult - 2, or 0 when n - 2 < that (or mult < 2). */
uint32_t swim_suspicion_k(uint32_t mult, uint32_t n);

/**
 * Total timeout (from the start of the suspicion) after c confirmations
 * out of k, floored to milliseconds and never below min.
 */
uint64_t swim_suspicion_total_us(uint32_t c, uint32_t k, uint64_t min_us,
				 uint64_t max_us);

/** memberlist's retransmitLimit: mult * ceil(log10(n + 1)). */
uint32_t swim_retransmit_limit(uint32_t mult, uint32_t n);

/** memberlist's pushPullScale: x(ceil(log2 n - log2 32) + 1) above 32. */
uint64_t swim_push_pull_scale(uint64_t interval_us, uint32_t n);

/** One running suspicion. Confirmations are kept as hashes of From. */
struct swim_suspicion {
	uint64_t start_us;
	uint64_t min_us;
	uint64_t max_us;
	uint64_t deadline_us;	/* when the node is declared dead */
	uint32_t k;		/* confirmations expected */
	uint32_t n;		/* confirmations received */
	uint64_t seen[SWIM_SUSPECT_K_MAX + 1];	/* accuser + confirmers */
};

/** Start a suspicion raised by the node whose name hashes to from. */
void swim_suspicion_start(struct swim_suspicion *s, uint64_t from,
			  uint32_t k, uint64_t min_us, uint64_t max_us,
			  uint64_t now_us);

/**
 * A suspect message from another peer. Counts when it comes from a node
 * not seen yet and fewer than k confirmations were received; then the
 * deadline is recomputed (it may already be <= now: dead at once).
 * @retval true if it counted (memberlist then re-gossips the suspect).
 */
bool swim_suspicion_confirm(struct swim_suspicion *s, uint64_t from);

#endif /* SWIM_SUSPECT_H_INCLUDED */
