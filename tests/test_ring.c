/*
 * test_ring.c: the byte ring buffer (src/tcp/ring.c): write/peek/consume with wrap-around,
 * slices, write_at/commit for out-of-order placement, capacities 0, 1 and odd sizes, and a
 * long randomized comparison against a plain array model.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tcp/ring.h"

static void test_empty_ring(void)
{
    uint8_t buf[8];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    CHECK_EQ(r.len, 0);
    CHECK_EQ(ring_free(&r), 8);
    uint8_t out[4];
    CHECK_EQ(ring_peek(&r, 0, out, 4), 0);
    const uint8_t *p[2];
    uint32_t l[2];
    CHECK_EQ(ring_slices(&r, 0, 0, p, l), 0);
}

static void test_write_peek_consume(void)
{
    uint8_t buf[8];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    CHECK_EQ(ring_write(&r, "abcdef", 6), 6);
    CHECK_EQ(r.len, 6);
    CHECK_EQ(ring_free(&r), 2);
    char out[16] = {0};
    CHECK_EQ(ring_peek(&r, 0, out, 16), 6);
    CHECK_STR(out, "abcdef");
    memset(out, 0, sizeof out);
    CHECK_EQ(ring_peek(&r, 2, out, 3), 3);
    CHECK_STR(out, "cde");
    CHECK_EQ(ring_peek(&r, 6, out, 3), 0); /* nothing past len */
    ring_consume(&r, 4);
    CHECK_EQ(r.len, 2);
    memset(out, 0, sizeof out);
    CHECK_EQ(ring_peek(&r, 0, out, 16), 2);
    CHECK_STR(out, "ef");
}

static void test_write_truncates_when_full(void)
{
    uint8_t buf[5];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    CHECK_EQ(ring_write(&r, "abcdefgh", 8), 5);
    CHECK_EQ(ring_write(&r, "x", 1), 0);
    CHECK_EQ(ring_free(&r), 0);
    char out[8] = {0};
    CHECK_EQ(ring_peek(&r, 0, out, 8), 5);
    CHECK_STR(out, "abcde");
}

static void test_wrap_around(void)
{
    uint8_t buf[8];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    ring_write(&r, "abcdef", 6);
    ring_consume(&r, 5);               /* head at 5, "f" left */
    CHECK_EQ(ring_write(&r, "ghijklm", 7), 7); /* wraps: storage holds "ijklm" at 0.. */
    CHECK_EQ(r.len, 8);
    char out[16] = {0};
    CHECK_EQ(ring_peek(&r, 0, out, 16), 8);
    CHECK_STR(out, "fghijklm");
    memset(out, 0, sizeof out);
    CHECK_EQ(ring_peek(&r, 1, out, 4), 4); /* straddles the end of storage */
    CHECK_STR(out, "ghij");
    ring_consume(&r, 8);
    CHECK_EQ(r.len, 0);
    CHECK_EQ(ring_free(&r), 8);
}

static void test_slices(void)
{
    uint8_t buf[8];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    ring_write(&r, "abcdef", 6);
    ring_consume(&r, 4); /* head 4 */
    ring_write(&r, "ghijk", 5); /* "efghijk": e f g h at 4..7, i j k at 0..2 */
    const uint8_t *p[2];
    uint32_t l[2];
    CHECK_EQ(ring_slices(&r, 0, 4, p, l), 1);
    CHECK_EQ(l[0], 4);
    CHECK(memcmp(p[0], "efgh", 4) == 0);
    CHECK_EQ(ring_slices(&r, 2, 4, p, l), 2);
    CHECK_EQ(l[0], 2);
    CHECK_EQ(l[1], 2);
    CHECK(memcmp(p[0], "gh", 2) == 0);
    CHECK(memcmp(p[1], "ij", 2) == 0);
    CHECK(p[1] == buf);
    CHECK_EQ(ring_slices(&r, 4, 3, p, l), 1); /* wholly in the wrapped part */
    CHECK(memcmp(p[0], "ijk", 3) == 0);
    CHECK(p[0] == buf);
}

static void test_write_at_and_commit(void)
{
    uint8_t buf[8];
    struct ring r;
    ring_init(&r, buf, sizeof buf);
    ring_write(&r, "abcdef", 6);
    ring_consume(&r, 6);   /* empty, head 6 */
    ring_write(&r, "A", 1); /* len 1 */
    /* Out of order: 3 bytes at offset 3, beyond len (and wrapping storage). */
    ring_write_at(&r, 3, "DEF", 3);
    CHECK_EQ(r.len, 1); /* len unchanged */
    char out[16] = {0};
    CHECK_EQ(ring_peek(&r, 0, out, 16), 1);
    /* The gap arrives, then everything is committed. */
    ring_write_at(&r, 1, "BC", 2);
    ring_commit(&r, 5);
    CHECK_EQ(r.len, 6);
    memset(out, 0, sizeof out);
    CHECK_EQ(ring_peek(&r, 0, out, 16), 6);
    CHECK_STR(out, "ABCDEF");
    /* write_at up to the very end of capacity. */
    ring_write_at(&r, 6, "GH", 2);
    ring_commit(&r, 2);
    CHECK_EQ(ring_free(&r), 0);
    memset(out, 0, sizeof out);
    CHECK_EQ(ring_peek(&r, 0, out, 16), 8);
    CHECK_STR(out, "ABCDEFGH");
}

static void test_capacity_one(void)
{
    uint8_t buf[1];
    struct ring r;
    ring_init(&r, buf, 1);
    for (int i = 0; i < 5; i++) {
        uint8_t b = (uint8_t)('a' + i), o = 0;
        CHECK_EQ(ring_write(&r, "xy", 0), 0);
        CHECK_EQ(ring_write(&r, &b, 1), 1);
        CHECK_EQ(ring_write(&r, &b, 1), 0);
        const uint8_t *p[2];
        uint32_t l[2];
        CHECK_EQ(ring_slices(&r, 0, 1, p, l), 1);
        CHECK_EQ(*p[0], b);
        CHECK_EQ(ring_peek(&r, 0, &o, 1), 1);
        CHECK_EQ(o, b);
        ring_consume(&r, 1);
        CHECK_EQ(r.len, 0);
        CHECK_EQ(r.head, 0);
    }
}

static void test_capacity_zero(void)
{
    struct ring r;
    ring_init(&r, NULL, 0);
    CHECK_EQ(ring_free(&r), 0);
    CHECK_EQ(ring_write(&r, "a", 1), 0);
    uint8_t o;
    CHECK_EQ(ring_peek(&r, 0, &o, 1), 0);
    ring_consume(&r, 0);
    const uint8_t *p[2];
    uint32_t l[2];
    CHECK_EQ(ring_slices(&r, 0, 0, p, l), 0);
}

/* Random operations against a model: a flat array of the bytes held. */
static void test_random_against_model(void)
{
    static uint8_t buf[97], model[97 * 4], tmp[200];
    struct ring r;
    uint32_t seed = 12345;
    for (uint32_t cap = 1; cap <= 97; cap += 8) {
        ring_init(&r, buf, cap);
        uint32_t mlen = 0;
        uint8_t next = 0;
        for (int step = 0; step < 5000; step++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t op = (seed >> 16) % 4, n = (seed >> 8) % (cap + 3);
            if (op == 0) { /* write */
                for (uint32_t i = 0; i < n; i++)
                    tmp[i] = (uint8_t)(next + i);
                uint32_t w = ring_write(&r, tmp, n);
                uint32_t want = n < cap - mlen ? n : cap - mlen;
                CHECK_EQ(w, want);
                memcpy(model + mlen, tmp, w);
                mlen += w;
                next = (uint8_t)(next + w);
            } else if (op == 1) { /* consume */
                uint32_t k = n < mlen ? n : mlen;
                ring_consume(&r, k);
                memmove(model, model + k, mlen - k);
                mlen -= k;
            } else if (op == 2) { /* peek at an offset */
                uint32_t off = mlen ? (seed >> 4) % (mlen + 1) : 0;
                uint32_t got = ring_peek(&r, off, tmp, n);
                uint32_t want = off < mlen ? (n < mlen - off ? n : mlen - off) : 0;
                CHECK_EQ(got, want);
                CHECK(memcmp(tmp, model + off, got) == 0);
            } else { /* write_at the free part, then commit part of it */
                uint32_t room = cap - mlen;
                uint32_t k = n < room ? n : room;
                for (uint32_t i = 0; i < k; i++)
                    tmp[i] = (uint8_t)(next + i);
                ring_write_at(&r, mlen, tmp, k);
                uint32_t c = k / 2;
                ring_commit(&r, c);
                memcpy(model + mlen, tmp, c);
                mlen += c;
                next = (uint8_t)(next + c);
            }
            REQUIRE(r.len == mlen);
            REQUIRE(r.head < cap);
            const uint8_t *p[2];
            uint32_t l[2];
            int ns = ring_slices(&r, 0, mlen, p, l);
            CHECK_EQ(l[0] + (ns == 2 ? l[1] : 0), mlen);
            if (ns >= 1)
                CHECK(memcmp(p[0], model, l[0]) == 0);
            if (ns == 2)
                CHECK(memcmp(p[1], model + l[0], l[1]) == 0);
        }
    }
}

int main(void)
{
    RUN(test_empty_ring);
    RUN(test_write_peek_consume);
    RUN(test_write_truncates_when_full);
    RUN(test_wrap_around);
    RUN(test_slices);
    RUN(test_write_at_and_commit);
    RUN(test_capacity_one);
    RUN(test_capacity_zero);
    RUN(test_random_against_model);
    return check_summary();
}
