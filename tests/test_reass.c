/*
 * test_reass.c: the out-of-order range set (src/tcp/reass.c): merging in every overlap
 * pattern, wrap at 2^32, the bound on ranges, advancing RCV.NXT, the remembered FIN, SACK
 * block order as in the examples of RFC 2018 7, and a long randomized comparison against a
 * byte-map model of the receiver.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tcp/reass.h"
#include "tcp/seq.h"

/* Checks the invariant: non-empty, pairwise disjoint and not adjacent ranges. */
static int ranges_ok(const struct reass *r)
{
    for (int i = 0; i < r->count; i++) {
        if (!seq_lt(r->range[i].left, r->range[i].right))
            return 0;
        for (int j = 0; j < r->count; j++) {
            if (i == j)
                continue;
            const struct wire_sack_block *a = &r->range[i], *b = &r->range[j];
            if (seq_leq(a->left, b->right) && seq_leq(b->left, a->right))
                return 0; /* overlap or touch */
        }
    }
    return 1;
}

/* True when r holds exactly the ranges want[0 .. n), in any order. */
static int holds(const struct reass *r, const struct wire_sack_block *want, int n)
{
    if (r->count != n)
        return 0;
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < r->count; j++)
            if (r->range[j].left == want[i].left && r->range[j].right == want[i].right)
                found = 1;
        if (!found)
            return 0;
    }
    return 1;
}

static void test_init_empty(void)
{
    struct reass r;
    memset(&r, 0xab, sizeof r);
    reass_init(&r);
    CHECK(reass_empty(&r));
    CHECK_EQ(r.count, 0);
    CHECK(!r.fin_known);
    struct wire_sack_block out[4];
    CHECK_EQ(reass_sack_blocks(&r, out, 4), 0);
    CHECK_EQ(reass_contiguous(&r, 1234), 1234);
    CHECK_EQ(reass_advance(&r, 1234), 1234);
}

static void test_add_disjoint_most_recent_first(void)
{
    struct reass r;
    reass_init(&r);
    CHECK_EQ(reass_add(&r, 100, 200), 0);
    CHECK_EQ(reass_add(&r, 300, 400), 0);
    REQUIRE(r.count == 2);
    CHECK_EQ(r.range[0].left, 300); /* the most recent first */
    CHECK_EQ(r.range[0].right, 400);
    CHECK_EQ(r.range[1].left, 100);
    CHECK_EQ(r.range[1].right, 200);
    CHECK(!reass_empty(&r));
}

/* Every way a new range can meet the held ranges {[100,200), [300,400)}. */
static void test_merge_patterns(void)
{
    static const struct {
        const char *name;
        uint32_t left, right;
        int n;                           /* ranges after */
        struct wire_sack_block want[3];  /* ... which are these */
        struct wire_sack_block front;    /* range[0]: the one holding the new range */
    } cases[] = {
        {"before, apart", 10, 50, 3, {{10, 50}, {100, 200}, {300, 400}}, {10, 50}},
        {"between, apart", 220, 280, 3, {{100, 200}, {220, 280}, {300, 400}}, {220, 280}},
        {"after, apart", 500, 600, 3, {{100, 200}, {300, 400}, {500, 600}}, {500, 600}},
        {"touches left edge", 50, 100, 2, {{50, 200}, {300, 400}}, {50, 200}},
        {"touches right edge", 200, 250, 2, {{100, 250}, {300, 400}}, {100, 250}},
        {"overlaps left", 50, 150, 2, {{50, 200}, {300, 400}}, {50, 200}},
        {"overlaps right", 150, 250, 2, {{100, 250}, {300, 400}}, {100, 250}},
        {"inside", 120, 180, 2, {{100, 200}, {300, 400}}, {100, 200}},
        {"same", 100, 200, 2, {{100, 200}, {300, 400}}, {100, 200}},
        {"same left, longer", 100, 250, 2, {{100, 250}, {300, 400}}, {100, 250}},
        {"same right, longer", 50, 200, 2, {{50, 200}, {300, 400}}, {50, 200}},
        {"covers one", 50, 250, 2, {{50, 250}, {300, 400}}, {50, 250}},
        {"fills the gap exactly", 200, 300, 1, {{100, 400}}, {100, 400}},
        {"overlaps both", 150, 350, 1, {{100, 400}}, {100, 400}},
        {"touches one, overlaps other", 200, 350, 1, {{100, 400}}, {100, 400}},
        {"covers both", 0, 500, 1, {{0, 500}}, {0, 500}},
        {"inside the second", 320, 330, 2, {{100, 200}, {300, 400}}, {300, 400}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct reass r;
        reass_init(&r);
        reass_add(&r, 300, 400);
        reass_add(&r, 100, 200); /* [100,200) is the most recent before the case */
        int rc = reass_add(&r, cases[k].left, cases[k].right);
        if (rc != 0 || !holds(&r, cases[k].want, cases[k].n) || !ranges_ok(&r) ||
            r.range[0].left != cases[k].front.left || r.range[0].right != cases[k].front.right) {
            fprintf(stderr, "merge case \"%s\" failed\n", cases[k].name);
            CHECK(0);
        }
    }
}

static void test_merge_three_at_once(void)
{
    struct reass r;
    reass_init(&r);
    reass_add(&r, 100, 200);
    reass_add(&r, 300, 400);
    reass_add(&r, 500, 600);
    reass_add(&r, 700, 800);
    CHECK_EQ(reass_add(&r, 150, 550), 0); /* swallows the first three */
    static const struct wire_sack_block want[] = {{100, 600}, {700, 800}};
    CHECK(holds(&r, want, 2));
    CHECK_EQ(r.range[0].left, 100);
    CHECK(ranges_ok(&r));
}

static void test_invalid_and_empty(void)
{
    struct reass r;
    reass_init(&r);
    reass_add(&r, 100, 200);
    CHECK_EQ(reass_add(&r, 400, 300), SYNACK_EINVAL); /* right before left */
    CHECK_EQ(reass_add(&r, 300, 300), 0);             /* empty: nothing to record */
    CHECK_EQ(r.count, 1);
    CHECK_EQ(r.range[0].left, 100);
}

static void test_wrap_at_2_32(void)
{
    struct reass r;
    reass_init(&r);
    uint32_t nxt = 0xFFFFFF00u;
    CHECK_EQ(reass_add(&r, 0x10, 0x20), 0);               /* beyond the wrap */
    CHECK_EQ(reass_add(&r, 0xFFFFFFF0u, 0x10), 0);        /* across it, touching */
    REQUIRE(r.count == 1);
    CHECK_EQ(r.range[0].left, 0xFFFFFFF0u);
    CHECK_EQ(r.range[0].right, 0x20);
    CHECK_EQ(reass_add(&r, 0xFFFFFF80u, 0xFFFFFFA0u), 0); /* below the wrap, apart */
    CHECK_EQ(r.count, 2);
    CHECK(ranges_ok(&r));
    /* Nothing is contiguous with RCV.NXT yet. */
    CHECK_EQ(reass_contiguous(&r, nxt), nxt);
    /* In-order data up to 0xFFFFFF80 joins the first range; then up to 0xFFFFFFF0 the next. */
    nxt = reass_advance(&r, 0xFFFFFF80u);
    CHECK_EQ(nxt, 0xFFFFFFA0u);
    CHECK_EQ(r.count, 1);
    nxt = reass_advance(&r, 0xFFFFFFF8u); /* a segment ended inside the wrapping range */
    CHECK_EQ(nxt, 0x20);
    CHECK(reass_empty(&r));
}

static void test_bound_refuses_new_range(void)
{
    struct reass r;
    reass_init(&r);
    for (uint32_t i = 0; i < REASS_MAX_RANGES; i++)
        CHECK_EQ(reass_add(&r, 1000 + i * 100, 1000 + i * 100 + 50), 0);
    REQUIRE(r.count == REASS_MAX_RANGES);
    struct reass before = r;
    /* A range needing a slot of its own is refused and changes nothing. */
    CHECK_EQ(reass_add(&r, 5000, 5050), SYNACK_ENOBUFS);
    CHECK_EQ(reass_add(&r, 1060, 1080), SYNACK_ENOBUFS); /* in a gap, touching nothing */
    CHECK(memcmp(&before, &r, sizeof r) == 0);
    /* A range that extends a held one is accepted even when full. */
    CHECK_EQ(reass_add(&r, 1050, 1060), 0);
    CHECK_EQ(r.count, REASS_MAX_RANGES);
    CHECK_EQ(r.range[0].left, 1000);
    CHECK_EQ(r.range[0].right, 1060);
    /* Bridging two frees a slot; then a new range fits again. */
    CHECK_EQ(reass_add(&r, 1120, 1200), 0);
    CHECK_EQ(r.count, REASS_MAX_RANGES - 1);
    CHECK_EQ(reass_add(&r, 5000, 5050), 0);
    CHECK_EQ(r.count, REASS_MAX_RANGES);
    CHECK(ranges_ok(&r));
}

static void test_contiguous_and_drop_below(void)
{
    struct reass r;
    reass_init(&r);
    reass_add(&r, 1500, 2000);
    reass_add(&r, 2500, 3000);
    uint32_t nxt = 1000;
    CHECK_EQ(reass_contiguous(&r, nxt), 1000); /* hole [1000, 1500) */
    /* The segment [1000, 1500) arrives in order: RCV.NXT = 1500, then the range joins. */
    nxt = 1500;
    CHECK_EQ(reass_contiguous(&r, nxt), 2000);
    CHECK_EQ(r.count, 2); /* contiguous() changes nothing */
    nxt = reass_advance(&r, nxt);
    CHECK_EQ(nxt, 2000);
    REQUIRE(r.count == 1);
    CHECK_EQ(r.range[0].left, 2500);
    /* A segment [2000, 2700) arrives in order, ending inside the held range. */
    nxt = reass_advance(&r, 2700);
    CHECK_EQ(nxt, 3000);
    CHECK(reass_empty(&r));

    /* drop_below trims a range that straddles the new RCV.NXT and keeps the order. */
    reass_add(&r, 100, 200);
    reass_add(&r, 300, 400);
    reass_drop_below(&r, 150);
    REQUIRE(r.count == 2);
    CHECK_EQ(r.range[0].left, 300);
    CHECK_EQ(r.range[1].left, 150);
    CHECK_EQ(r.range[1].right, 200);
    /* A segment that overran several ranges drops them all. */
    CHECK_EQ(reass_advance(&r, 450), 450);
    CHECK(reass_empty(&r));
}

/* RFC 2018 7: left window edge 5000, a burst of 8 segments of 500 bytes. */
static void test_rfc2018_case2_first_dropped(void)
{
    struct reass r;
    reass_init(&r);
    uint32_t nxt = 5000; /* segment 5000 lost */
    struct wire_sack_block out[4];
    for (uint32_t seg = 5500; seg < 9000; seg += 500) {
        CHECK_EQ(reass_add(&r, seg, seg + 500), 0);
        CHECK_EQ(reass_advance(&r, nxt), 5000); /* ACK stays 5000 */
        REQUIRE(reass_sack_blocks(&r, out, 4) == 1);
        CHECK_EQ(out[0].left, 5500); /* one block, 5500 - (seg + 500) */
        CHECK_EQ(out[0].right, seg + 500);
    }
}

static void test_rfc2018_case3_alternate_dropped(void)
{
    /* The 2nd, 4th, 6th and 8th segments are dropped. The table of RFC 2018 7:
     *   Triggering  ACK   First Block  2nd Block   3rd Block
     *   5000        5500
     *   6000        5500  6000 6500
     *   7000        5500  7000 7500    6000 6500
     *   8000        5500  8000 8500    7000 7500   6000 6500 */
    struct reass r;
    reass_init(&r);
    struct wire_sack_block out[4];
    uint32_t nxt = 5500; /* segment 5000 arrived in order */
    CHECK_EQ(reass_sack_blocks(&r, out, 4), 0);

    CHECK_EQ(reass_add(&r, 6000, 6500), 0);
    CHECK_EQ(reass_advance(&r, nxt), 5500);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 1);
    CHECK_EQ(out[0].left, 6000);
    CHECK_EQ(out[0].right, 6500);

    CHECK_EQ(reass_add(&r, 7000, 7500), 0);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 2);
    CHECK_EQ(out[0].left, 7000);
    CHECK_EQ(out[1].left, 6000);

    CHECK_EQ(reass_add(&r, 8000, 8500), 0);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 3);
    CHECK_EQ(out[0].left, 8000);
    CHECK_EQ(out[0].right, 8500);
    CHECK_EQ(out[1].left, 7000);
    CHECK_EQ(out[1].right, 7500);
    CHECK_EQ(out[2].left, 6000);
    CHECK_EQ(out[2].right, 6500);

    /* "Suppose the 4th segment (6500) is received out of order": ACK 5500, first block
     * 6000-7500 (holding the triggering segment), then 8000-8500. */
    CHECK_EQ(reass_add(&r, 6500, 7000), 0);
    CHECK_EQ(reass_advance(&r, nxt), 5500);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 2);
    CHECK_EQ(out[0].left, 6000);
    CHECK_EQ(out[0].right, 7500);
    CHECK_EQ(out[1].left, 8000);
    CHECK_EQ(out[1].right, 8500);

    /* "Suppose the 2nd segment (5500) is received": it advances the ACK to 7500; the only
     * block left is 8000-8500. */
    nxt = reass_advance(&r, 6000);
    CHECK_EQ(nxt, 7500);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 1);
    CHECK_EQ(out[0].left, 8000);
    CHECK_EQ(out[0].right, 8500);
}

static void test_sack_blocks_limit(void)
{
    struct reass r;
    reass_init(&r);
    for (uint32_t i = 0; i < 6; i++)
        reass_add(&r, 1000 * (i + 1), 1000 * (i + 1) + 100);
    struct wire_sack_block out[4];
    memset(out, 0, sizeof out);
    /* With timestamps only 3 blocks fit (RFC 2018 3): the 3 most recent. */
    REQUIRE(reass_sack_blocks(&r, out, 3) == 3);
    CHECK_EQ(out[0].left, 6000);
    CHECK_EQ(out[1].left, 5000);
    CHECK_EQ(out[2].left, 4000);
    CHECK_EQ(out[3].left, 0); /* not written */
    CHECK_EQ(reass_sack_blocks(&r, out, 0), 0);
    CHECK_EQ(reass_sack_blocks(&r, out, -1), 0);
    /* A duplicate of an older range moves it to the front (it triggered the ACK). */
    reass_add(&r, 2000, 2100);
    REQUIRE(reass_sack_blocks(&r, out, 4) == 4);
    CHECK_EQ(out[0].left, 2000);
    CHECK_EQ(out[1].left, 6000);
    CHECK_EQ(out[2].left, 5000);
    CHECK_EQ(out[3].left, 4000);
}

static void test_fin_beyond_rcv_nxt(void)
{
    struct reass r;
    reass_init(&r);
    uint32_t nxt = 1000;
    /* The segment [2000, 3000) + FIN arrives first: the FIN occupies 3000. */
    CHECK_EQ(reass_add(&r, 2000, 3000), 0);
    reass_set_fin(&r, 3000);
    CHECK(r.fin_known);
    CHECK(!reass_fin_reached(&r, nxt));
    reass_set_fin(&r, 4000); /* a different FIN later: ignored */
    CHECK_EQ(r.fin_seq, 3000);
    /* [1000, 2000) arrives in order: RCV.NXT catches up with the FIN. */
    nxt = reass_advance(&r, 2000);
    CHECK_EQ(nxt, 3000);
    CHECK(reass_fin_reached(&r, nxt));
    CHECK(r.fin_known); /* still there until processed */
    /* The engine processes the FIN: RCV.NXT + 1. */
    nxt += 1;
    reass_drop_below(&r, nxt);
    CHECK(!r.fin_known);
    CHECK(!reass_fin_reached(&r, nxt));
    CHECK(!reass_fin_reached(&r, nxt - 1));
}

static void test_fin_across_wrap(void)
{
    struct reass r;
    reass_init(&r);
    reass_set_fin(&r, 0x5);
    CHECK(!reass_fin_reached(&r, 0xFFFFFFF0u));
    reass_drop_below(&r, 0xFFFFFFF0u); /* the FIN lies beyond: kept */
    CHECK(r.fin_known);
    CHECK(reass_fin_reached(&r, 0x5));
    reass_drop_below(&r, 0x6);
    CHECK(!r.fin_known);
}

/* ---- randomized comparison against a byte map ------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

#define MODEL_SPAN 40000u /* bytes of sequence space one run covers */
#define MODEL_WND 3000u   /* receive window, bytes */

/* One receiver run: segments of random position and length inside the window arrive; the
 * in-order ones go through reass_advance, the others through reass_add. The model marks
 * each accepted byte in a map; after every segment the ranges must equal the bytes marked
 * beyond RCV.NXT, and RCV.NXT the first unmarked byte. */
static void model_run(uint32_t base, uint64_t seed)
{
    static unsigned char got[MODEL_SPAN + 2 * MODEL_WND + 200];
    memset(got, 0, sizeof got);
    rng_state = seed;
    struct reass r;
    reass_init(&r);
    uint32_t nxt = base; /* RCV.NXT */
    int refused = 0, steps = 0;
    while (nxt - base < MODEL_SPAN && steps < 200000) {
        steps++;
        uint32_t off = rnd(MODEL_WND);
        uint32_t len = 1 + rnd(rnd(4) == 0 ? 600 : 60);
        if (off + len > MODEL_WND)
            len = MODEL_WND - off; /* the caller trims to the window */
        if (rnd(3) == 0)
            off = 0; /* plenty of in-order segments too */
        uint32_t left = nxt + off, right = left + len;
        if (left == nxt) {
            for (uint32_t s = left; s != right; s++)
                got[s - base] = 1;
            nxt = reass_advance(&r, right);
        } else {
            struct reass before = r;
            int rc = reass_add(&r, left, right);
            if (rc == 0) {
                for (uint32_t s = left; s != right; s++)
                    got[s - base] = 1;
                /* The range holding the new segment is reported first. */
                if (!(seq_leq(r.range[0].left, left) && seq_leq(right, r.range[0].right))) {
                    CHECK(0);
                    return;
                }
            } else {
                refused++;
                /* Refused only when full and touching nothing held. */
                int touches = 0;
                for (int i = 0; i < before.count; i++)
                    if (seq_leq(left, before.range[i].right) &&
                        seq_leq(before.range[i].left, right))
                        touches = 1;
                if (rc != SYNACK_ENOBUFS || before.count != REASS_MAX_RANGES || touches ||
                    memcmp(&before, &r, sizeof r) != 0) {
                    CHECK(0);
                    return;
                }
            }
        }
        /* RCV.NXT is the first byte not received. */
        uint32_t model_nxt = base;
        while (got[model_nxt - base])
            model_nxt++;
        if (model_nxt != nxt || !ranges_ok(&r)) {
            fprintf(stderr, "step %d: rcv_nxt %u, model %u\n", steps, (unsigned)nxt,
                    (unsigned)model_nxt);
            CHECK(0);
            return;
        }
        /* The ranges are exactly the received bytes beyond RCV.NXT. */
        for (uint32_t off2 = 0; off2 < MODEL_WND; off2++) {
            uint32_t s = nxt + off2;
            int in_range = 0;
            for (int i = 0; i < r.count; i++)
                if (seq_in(s, r.range[i].left, r.range[i].right))
                    in_range = 1;
            if (in_range != got[s - base]) {
                fprintf(stderr, "step %d: byte %u: reass %d, model %d\n", steps, (unsigned)s,
                        in_range, got[s - base]);
                CHECK(0);
                return;
            }
        }
    }
    CHECK(nxt - base >= MODEL_SPAN); /* the run finished the span */
    CHECK(refused > 0);               /* and the bound was exercised */
}

static void test_random_against_byte_map(void)
{
    model_run(1000, 0x9e3779b97f4a7c15ull);
    model_run(0xFFFFFFFFu - 20000u, 0x2545f4914f6cdd1dull); /* crosses 2^32 mid-run */
    model_run(0x7FFFFFF0u, 12345);                          /* crosses 2^31 */
}

int main(void)
{
    RUN(test_init_empty);
    RUN(test_add_disjoint_most_recent_first);
    RUN(test_merge_patterns);
    RUN(test_merge_three_at_once);
    RUN(test_invalid_and_empty);
    RUN(test_wrap_at_2_32);
    RUN(test_bound_refuses_new_range);
    RUN(test_contiguous_and_drop_below);
    RUN(test_rfc2018_case2_first_dropped);
    RUN(test_rfc2018_case3_alternate_dropped);
    RUN(test_sack_blocks_limit);
    RUN(test_fin_beyond_rcv_nxt);
    RUN(test_fin_across_wrap);
    RUN(test_random_against_byte_map);
    return check_summary();
}
