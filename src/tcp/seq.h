/*
 * seq.h: sequence number arithmetic modulo 2^32 (RFC 9293 3.4).
 *
 * Every comparison of sequence numbers goes through these functions: a bare < on two
 * sequence numbers is wrong once they wrap. a is "less than" b when the signed 32-bit
 * difference a - b is negative, i.e. when b lies within 2^31 ahead of a.
 */
#ifndef SYNACK_SEQ_H
#define SYNACK_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }

/* lo <= x < hi, modulo 2^32. An empty range (lo == hi) contains nothing. */
static inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
    return (uint32_t)(x - lo) < (uint32_t)(hi - lo);
}

/* lo <= x <= hi, modulo 2^32. */
static inline bool seq_in_closed(uint32_t x, uint32_t lo, uint32_t hi)
{
    return (uint32_t)(x - lo) <= (uint32_t)(hi - lo);
}

static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

#endif /* SYNACK_SEQ_H */
