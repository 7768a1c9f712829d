/*  test_rng.h: one seeded pseudo-random generator (splitmix64) for the
    tests and the benchmarks, so that every "random" input is the same on
    every run and machine. Header-only: each user gets its own copy.      */
#ifndef SATCHEL_TEST_RNG_H
#define SATCHEL_TEST_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct {
    uint64_t state;          //  splitmix64 state; the seed
} test_rng_t;

static inline uint64_t
test_rng_next (test_rng_t *rng)
{
    rng->state += 0x9E3779B97F4A7C15ull;
    uint64_t z = rng->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

//  Uniform in (0, 1), never 0 (safe for log).
static inline double
test_rng_unit (test_rng_t *rng)
{
    return ((double) (test_rng_next (rng) >> 11) + 0.5) / 9007199254740992.0;
}

//  A standard normal deviate (Box-Muller), for lognormal suites.
static inline double
test_rng_normal (test_rng_t *rng)
{
    double u1 = test_rng_unit (rng);
    double u2 = test_rng_unit (rng);
    return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

#endif
