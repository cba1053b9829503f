/*
 * test_seq.c: sequence number arithmetic modulo 2^32 (src/tcp/seq.h, RFC 9293 3.4), with the
 * emphasis on the wrap at 2^32 and on the 2^31 boundary.
 *
 * The 2^31 boundary, as seq.h behaves: a is "less than" b when b is 1 .. 2^31 - 1 ahead of
 * a. Two numbers exactly 2^31 apart have the signed difference INT32_MIN both ways, so each
 * is seq_lt the other and neither is seq_gt the other: the order is meaningless there, which
 * is why a window (and any pair the engine compares) must stay below 2^31 (RFC 7323 2.3
 * limits windows to 2^30 for this reason). test_seq_half_space pins this down so a change of
 * it is noticed.
 */
#include <stdint.h>

#include "check.h"
#include "tcp/seq.h"

static void test_seq_order_across_wrap(void)
{
    /* 0x10 lies 0x20 ahead of 0xfffffff0. */
    CHECK(seq_lt(0xfffffff0u, 0x10u));
    CHECK(seq_leq(0xfffffff0u, 0x10u));
    CHECK(seq_gt(0x10u, 0xfffffff0u));
    CHECK(seq_geq(0x10u, 0xfffffff0u));
    CHECK(!seq_gt(0xfffffff0u, 0x10u));
    CHECK(!seq_geq(0xfffffff0u, 0x10u));
    CHECK(!seq_lt(0x10u, 0xfffffff0u));
    CHECK(!seq_leq(0x10u, 0xfffffff0u));
    /* Neighbours at the wrap. */
    CHECK(seq_lt(0xffffffffu, 0u));
    CHECK(seq_gt(0u, 0xffffffffu));
    CHECK_EQ(seq_diff(0u, 0xffffffffu), 1);
    CHECK_EQ(seq_diff(0xffffffffu, 0u), -1);
    CHECK_EQ(seq_diff(0x10u, 0xfffffff0u), 0x20);
    /* Equal numbers. */
    CHECK(!seq_lt(0xffffffffu, 0xffffffffu));
    CHECK(!seq_gt(0u, 0u));
    CHECK(seq_leq(0xffffffffu, 0xffffffffu));
    CHECK(seq_geq(0x80000000u, 0x80000000u));
    /* Away from the wrap, the ordinary order. */
    CHECK(seq_lt(100u, 200u));
    CHECK(!seq_lt(200u, 100u));
}

static void test_seq_half_space(void)
{
    /* 2^31 - 1 ahead: still ordered, both ways consistent. */
    CHECK(seq_lt(0u, 0x7fffffffu));
    CHECK(seq_gt(0x7fffffffu, 0u));
    CHECK(!seq_lt(0x7fffffffu, 0u));
    CHECK(seq_lt(0x80000000u, 0xffffffffu));
    CHECK(seq_lt(0xc0000000u, 0x3fffffffu)); /* across the wrap */
    /* Exactly 2^31 apart: each is "less" than the other, neither "greater" (documented). */
    CHECK_EQ(seq_diff(0u, 0x80000000u), INT32_MIN);
    CHECK_EQ(seq_diff(0x80000000u, 0u), INT32_MIN);
    CHECK(seq_lt(0u, 0x80000000u));
    CHECK(seq_lt(0x80000000u, 0u));
    CHECK(!seq_gt(0u, 0x80000000u));
    CHECK(!seq_gt(0x80000000u, 0u));
    CHECK(seq_lt(0xc0000000u, 0x40000000u));
    CHECK(seq_lt(0x40000000u, 0xc0000000u));
    /* 2^31 + 1 ahead is 2^31 - 1 behind: the order flips. */
    CHECK(!seq_lt(0u, 0x80000001u));
    CHECK(seq_gt(0u, 0x80000001u));
    CHECK(seq_lt(0x80000001u, 0u));
}

static void test_seq_in_across_wrap(void)
{
    /* [0xfffffff0, 0x10) spans 2^32: 0x20 numbers. */
    const uint32_t lo = 0xfffffff0u, hi = 0x10u;
    CHECK(seq_in(0xfffffff0u, lo, hi));
    CHECK(seq_in(0xffffffffu, lo, hi));
    CHECK(seq_in(0u, lo, hi));
    CHECK(seq_in(0xfu, lo, hi));
    CHECK(!seq_in(0x10u, lo, hi));        /* hi is excluded */
    CHECK(!seq_in(0xffffffefu, lo, hi));  /* one before lo */
    CHECK(!seq_in(0x80000000u, lo, hi));
    int count = 0;
    for (uint32_t x = 0xffffffe0u; x != 0x20u; x++)
        count += seq_in(x, lo, hi);
    CHECK_EQ(count, 0x20);
    /* A range not spanning the wrap. */
    CHECK(seq_in(5u, 5u, 6u));
    CHECK(!seq_in(6u, 5u, 6u));
    CHECK(!seq_in(4u, 5u, 6u));
}

static void test_seq_in_empty(void)
{
    /* lo == hi contains nothing, not even lo. */
    static const uint32_t points[] = { 0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu };
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        uint32_t p = points[i];
        CHECK(!seq_in(p, p, p));
        CHECK(!seq_in(p + 1, p, p));
        CHECK(!seq_in(p - 1, p, p));
    }
}

static void test_seq_in_closed(void)
{
    const uint32_t lo = 0xfffffff0u, hi = 0x10u;
    CHECK(seq_in_closed(lo, lo, hi));
    CHECK(seq_in_closed(hi, lo, hi)); /* hi is included */
    CHECK(seq_in_closed(0u, lo, hi));
    CHECK(!seq_in_closed(0x11u, lo, hi));
    CHECK(!seq_in_closed(0xffffffefu, lo, hi));
    /* [p, p] holds exactly p. */
    CHECK(seq_in_closed(0xffffffffu, 0xffffffffu, 0xffffffffu));
    CHECK(!seq_in_closed(0u, 0xffffffffu, 0xffffffffu));
    CHECK(!seq_in_closed(0xfffffffeu, 0xffffffffu, 0xffffffffu));
}

static void test_seq_max_min(void)
{
    CHECK_EQ(seq_max(0xfffffff0u, 0x10u), 0x10u);
    CHECK_EQ(seq_max(0x10u, 0xfffffff0u), 0x10u);
    CHECK_EQ(seq_min(0xfffffff0u, 0x10u), 0xfffffff0u);
    CHECK_EQ(seq_min(0x10u, 0xfffffff0u), 0xfffffff0u);
    CHECK_EQ(seq_max(0xffffffffu, 0u), 0u);
    CHECK_EQ(seq_min(0xffffffffu, 0u), 0xffffffffu);
    CHECK_EQ(seq_max(7u, 7u), 7u);
    CHECK_EQ(seq_min(7u, 7u), 7u);
    CHECK_EQ(seq_max(100u, 200u), 200u);
    CHECK_EQ(seq_min(100u, 200u), 100u);
}

int main(void)
{
    RUN(test_seq_order_across_wrap);
    RUN(test_seq_half_space);
    RUN(test_seq_in_across_wrap);
    RUN(test_seq_in_empty);
    RUN(test_seq_in_closed);
    RUN(test_seq_max_min);
    return check_summary();
}
