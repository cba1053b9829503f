/*
 * isn.c: SipHash-2-4 and SipHash-1-3 (Aumasson and Bernstein, 2012) and the RFC 6528 ISN
 * generator.
 *
 * Read first: the SipHash paper, section 2: the state v0..v3 is initialized from the key and
 * four constants, each 8-byte little-endian message word m is absorbed with c SipRounds
 * (v3 ^= m before, v0 ^= m after), the last word carries the remaining bytes and the message
 * length mod 256 in its top byte, and finalization xors 0xff into v2 and runs d rounds.
 * SipHash-c-d names the two counts: 2-4 is the paper's default, 1-3 the faster variant that
 * hash tables use (the connection table hashes every packet's 4-tuple with it).
 */
#include "stack/isn.h"


static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* Little-endian load of 8 bytes. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* One SipRound (paper, section 2, Figure 2). */
static inline void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl64(v[2], 32);
}

static inline void absorb(uint64_t v[4], uint64_t m, int c_rounds)
{
    v[3] ^= m;
    for (int i = 0; i < c_rounds; i++)
        sipround(v);
    v[0] ^= m;
}

/* Initialization: the constants spell "somepseudorandomlygeneratedbytes". */
static inline void sip_init(uint64_t v[4], uint64_t k0, uint64_t k1)
{
    v[0] = k0 ^ 0x736f6d6570736575ull;
    v[1] = k1 ^ 0x646f72616e646f6dull;
    v[2] = k0 ^ 0x6c7967656e657261ull;
    v[3] = k1 ^ 0x7465646279746573ull;
}

static inline uint64_t sip_final(uint64_t v[4], int d_rounds)
{
    v[2] ^= 0xff;
    for (int i = 0; i < d_rounds; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* SipHash-c-d of len bytes. */
static uint64_t siphash_cd(const uint8_t key[16], const void *msg, size_t len, int c_rounds,
                           int d_rounds)
{
    const uint8_t *p = msg;
    uint64_t v[4];
    sip_init(v, load_le64(key), load_le64(key + 8));

    size_t full = len - len % 8;
    for (size_t off = 0; off < full; off += 8)
        absorb(v, load_le64(p + off), c_rounds);

    /* Last word: remaining 0..7 bytes, zero padding, len mod 256 in the top byte. */
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)p[full + i] << (8 * i);
    absorb(v, last, c_rounds);
    return sip_final(v, d_rounds);
}

uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len)
{
    return siphash_cd(key, msg, len, 2, 4);
}

uint64_t siphash13(const uint8_t key[16], const void *msg, size_t len)
{
    return siphash_cd(key, msg, len, 1, 3);
}

uint64_t siphash13_2words(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1)
{
    uint64_t v[4];
    sip_init(v, k0, k1);
    absorb(v, m0, 1);
    absorb(v, m1, 1);
    absorb(v, (uint64_t)16 << 56, 1); /* no bytes left, length 16 */
    return sip_final(v, 3);
}

uint32_t isn_generate(const uint8_t key[16], uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport, uint64_t now_us)
{
    /* RFC 6528 3: F() over (localip, localport, remoteip, remoteport) and the secret key. */
    uint8_t tuple[12] = {
        (uint8_t)(lip >> 24), (uint8_t)(lip >> 16), (uint8_t)(lip >> 8), (uint8_t)lip,
        (uint8_t)(lport >> 8), (uint8_t)lport,
        (uint8_t)(rip >> 24), (uint8_t)(rip >> 16), (uint8_t)(rip >> 8), (uint8_t)rip,
        (uint8_t)(rport >> 8), (uint8_t)rport,
    };
    uint32_t f = (uint32_t)siphash24(key, tuple, sizeof tuple);
    /* RFC 9293 3.4.1: M is a timer that ticks every 4 microseconds (wraps modulo 2^32). */
    uint32_t m = (uint32_t)(now_us / 4);
    return m + f;
}
