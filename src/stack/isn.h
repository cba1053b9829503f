/*
 * isn.h: SipHash-2-4, SipHash-1-3 and the initial sequence number generator (RFC 9293 3.4.1,
 * RFC 6528).
 *
 * Read first: RFC 9293 3.4.1, RFC 6528 3, and "SipHash: a fast short-input PRF" (Aumasson,
 * Bernstein, 2012), section 2 (the algorithm) and appendix A (the test vector).
 */
#ifndef SYNACK_STACK_ISN_H
#define SYNACK_STACK_ISN_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of len bytes at msg under the 128-bit key (k0 = key[0..7], k1 = key[8..15],
 * little-endian, as in the paper). Pure function; msg may be NULL when len is 0. */
uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len);

/* SipHash-1-3 (one compression round per word, three finalization rounds): the same
 * construction with fewer rounds, for hash tables, where a keyed hash must stop remote peers
 * from choosing colliding keys but is computed per packet. */
uint64_t siphash13(const uint8_t key[16], const void *msg, size_t len);

/* siphash13() of the 16 bytes m0, m1 stored little-endian, under the key whose bytes are
 * k0, k1 stored little-endian: no byte loops, for a key loaded once. */
uint64_t siphash13_2words(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1);

/* RFC 9293 3.4.1 / RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M = now_us / 4 (the 4-microsecond timer), F = SipHash-2-4 of the 12-byte big-endian tuple.
 * Addresses and ports in host order. Pure function. */
uint32_t isn_generate(const uint8_t key[16], uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport, uint64_t now_us);

#endif /* SYNACK_STACK_ISN_H */
