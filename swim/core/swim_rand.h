/**
 * @file
 * A seeded per-instance PRNG: xoshiro256** seeded through splitmix64.
 * The core never calls rand(): two cores with the same seed and the same
 * inputs make the same choices, which the simulator relies on.
 */
#ifndef SWIM_RAND_H_INCLUDED
#define SWIM_RAND_H_INCLUDED

#include <stdint.h>

struct swim_rand {
	uint64_t s[4];
};

static inline uint64_t
swim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** Seed all 256 bits from one 64-bit seed (never all-zero state). */
static inline void
swim_rand_seed(struct swim_rand *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = swim_splitmix64(&seed);
}

static inline uint64_t
swim_rand_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
swim_rand_next(struct swim_rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = swim_rand_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = swim_rand_rotl(s[3], 45);
	return result;
}

/**
 * Uniform integer in [0, n); 0 when n == 0 (memberlist's randomOffset).
 * Multiply-shift keeps the bias below 2^-32 for the sizes we use.
 */
static inline uint64_t
swim_rand_below(struct swim_rand *r, uint64_t n)
{
	if (n == 0)
		return 0;
	return (uint64_t)(((unsigned __int128)swim_rand_next(r) * n) >> 64);
}

#endif /* SWIM_RAND_H_INCLUDED */
