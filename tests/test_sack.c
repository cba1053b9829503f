/*
 * test_sack.c: the SACK scoreboard and RFC 6675 loss recovery (src/tcp/sack.c): recording
 * and merging blocks, invalid and D-SACK blocks, the bound, IsLost / SetPipe / NextSeg on
 * worked examples computed by hand (in the comments), the same examples across the 2^32 and
 * 2^31 boundaries, entering and ending recovery, the RTO rule, and a randomized comparison
 * of SetPipe and NextSeg against octet-by-octet versions of RFC 6675 4's definitions.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tcp/sack.h"
#include "tcp/seq.h"

/* One ACK's SACK option, relative to base. */
static void ack(struct sack_board *b, uint32_t base, uint32_t una, uint32_t max,
                const uint32_t (*blk)[2], int n, struct sack_news *news)
{
    struct wire_sack_block w[WIRE_SACK_MAX];
    for (int i = 0; i < n; i++) {
        w[i].left = base + blk[i][0];
        w[i].right = base + blk[i][1];
    }
    sack_update(b, base + una, base + max, w, n, news);
}

static void test_init(void)
{
    struct sack_board b;
    memset(&b, 0x5a, sizeof b);
    sack_init(&b, 777);
    CHECK_EQ(b.count, 0);
    CHECK(!b.in_recovery);
    CHECK_EQ(b.recovery_point, 777);
    CHECK(sack_may_recover(&b, 778));
    CHECK_EQ(sack_sacked_bytes(&b), 0);
    struct sack_seg s = {1, 2};
    CHECK_EQ(sack_next_seg(&b, 778, 2000, 100, true, &s), SACK_NEXT_NONE); /* not in recovery */
    CHECK_EQ(s.seq, 1);
}

static void test_record_merge_and_newly_sacked(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    struct sack_news nw;
    static const uint32_t a1[][2] = {{3000, 4000}};
    ack(&b, 0, 1000, 9000, a1, 1, &nw);
    CHECK_EQ(nw.newly_sacked, 1000);
    CHECK_EQ(nw.dsack, 0);
    CHECK_EQ(nw.invalid, 0);
    static const uint32_t a2[][2] = {{5000, 6000}, {3000, 4000}};
    ack(&b, 0, 1000, 9000, a2, 2, &nw);
    CHECK_EQ(nw.newly_sacked, 1000); /* 3000-4000 was known */
    REQUIRE(b.count == 2);
    CHECK_EQ(b.range[0].left, 3000); /* ascending */
    CHECK_EQ(b.range[1].left, 5000);
    /* 2500-4500 adds 2500-3000 and 4000-4500 (1000 bytes); 4500-5000 touches 5000: all one. */
    static const uint32_t a3[][2] = {{2500, 4500}, {4500, 5000}};
    ack(&b, 0, 1000, 9000, a3, 2, &nw);
    CHECK_EQ(nw.newly_sacked, 1500);
    REQUIRE(b.count == 1);
    CHECK_EQ(b.range[0].left, 2500);
    CHECK_EQ(b.range[0].right, 6000);
    CHECK_EQ(sack_sacked_bytes(&b), 3500);
    CHECK(sack_is_sacked(&b, 2500));
    CHECK(sack_is_sacked(&b, 5999));
    CHECK(!sack_is_sacked(&b, 6000));
    CHECK(!sack_is_sacked(&b, 2499));
    /* The same blocks again: nothing new (not a duplicate ACK in the RFC 6675 2 sense). */
    ack(&b, 0, 1000, 9000, a3, 2, &nw);
    CHECK_EQ(nw.newly_sacked, 0);
}

static void test_cumulative_ack_drops_below(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    static const uint32_t a1[][2] = {{3000, 4000}, {5000, 6000}, {7000, 8000}};
    ack(&b, 0, 1000, 9000, a1, 3, NULL);
    REQUIRE(b.count == 3);
    ack(&b, 0, 3500, 9000, NULL, 0, NULL); /* SND.UNA = 3500, no SACK option */
    REQUIRE(b.count == 3);
    CHECK_EQ(b.range[0].left, 3500); /* trimmed */
    CHECK_EQ(b.range[0].right, 4000);
    ack(&b, 0, 6000, 9000, NULL, 0, NULL); /* exactly at a right edge: gone */
    REQUIRE(b.count == 1);
    CHECK_EQ(b.range[0].left, 7000);
    ack(&b, 0, 9000, 9000, NULL, 0, NULL);
    CHECK_EQ(b.count, 0);
}

static void test_invalid_and_dsack_blocks(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    struct sack_news nw;
    /* SND.UNA 1000, SND.MAX 5000. */
    static const uint32_t a1[][2] = {
        {500, 900},   /* below SND.UNA: D-SACK (RFC 2883 4), not recorded */
        {4000, 6000}, /* beyond SND.MAX: impossible, ignored */
        {3000, 3000}, /* empty: ignored */
        {3000, 2000}, /* reversed: ignored */
    };
    ack(&b, 0, 1000, 5000, a1, 4, &nw);
    CHECK_EQ(b.count, 0);
    CHECK_EQ(nw.dsack, 1);
    CHECK_EQ(nw.invalid, 3);
    CHECK_EQ(nw.newly_sacked, 0);
    /* Ending exactly at SND.UNA is below it too; ending exactly at SND.MAX is fine. */
    static const uint32_t a2[][2] = {{800, 1000}, {4500, 5000}};
    ack(&b, 0, 1000, 5000, a2, 2, &nw);
    CHECK_EQ(nw.dsack, 1);
    CHECK_EQ(nw.invalid, 0);
    REQUIRE(b.count == 1);
    CHECK_EQ(b.range[0].left, 4500);
    /* A block straddling SND.UNA is trimmed to start there. */
    static const uint32_t a3[][2] = {{900, 1200}};
    ack(&b, 0, 1000, 5000, a3, 1, &nw);
    CHECK_EQ(nw.newly_sacked, 200);
    CHECK_EQ(b.range[0].left, 1000);
    /* RFC 2883 4: a first block inside the second is a D-SACK above the ACK; its bytes did
     * arrive, so it is recorded too. */
    sack_init(&b, 0);
    static const uint32_t a4[][2] = {{2000, 2500}, {1500, 3000}};
    ack(&b, 0, 1000, 5000, a4, 2, &nw);
    CHECK_EQ(nw.dsack, 1);
    CHECK_EQ(nw.newly_sacked, 1500);
    REQUIRE(b.count == 1);
    CHECK_EQ(b.range[0].left, 1500);
    CHECK_EQ(b.range[0].right, 3000);
    /* A wrapped-around block (right "before" left by seq arithmetic) is reversed. */
    static const uint32_t a5[][2] = {{4000, 4000u - 0x80000000u}};
    ack(&b, 0, 1000, 5000, a5, 1, &nw);
    CHECK_EQ(nw.invalid, 1);
}

static void test_bound_forgets_highest(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    /* Ranges at 2000, 4000, ..., 16000 fill the board. */
    for (uint32_t i = 1; i <= SACK_MAX_RANGES; i++) {
        uint32_t blk[1][2] = {{2000 * i, 2000 * i + 100}};
        ack(&b, 0, 1000, 100000, blk, 1, NULL);
    }
    REQUIRE(b.count == SACK_MAX_RANGES);
    /* A new range above all of them is the one forgotten. */
    static const uint32_t high[][2] = {{50000, 50100}};
    struct sack_news nw;
    ack(&b, 0, 1000, 100000, high, 1, &nw);
    CHECK_EQ(b.count, SACK_MAX_RANGES);
    CHECK(!sack_is_sacked(&b, 50000));
    CHECK_EQ(b.range[SACK_MAX_RANGES - 1].left, 2000 * SACK_MAX_RANGES);
    /* A new range low down evicts the highest held. */
    static const uint32_t low[][2] = {{1500, 1600}};
    ack(&b, 0, 1000, 100000, low, 1, &nw);
    CHECK_EQ(b.count, SACK_MAX_RANGES);
    CHECK(sack_is_sacked(&b, 1500));
    CHECK(!sack_is_sacked(&b, 2000 * SACK_MAX_RANGES));
    CHECK_EQ(b.range[0].left, 1500);
    CHECK_EQ(b.range[SACK_MAX_RANGES - 1].left, 2000 * (SACK_MAX_RANGES - 1));
    /* A range that merges needs no slot and forgets nothing. */
    static const uint32_t join[][2] = {{2100, 4000}};
    ack(&b, 0, 1000, 100000, join, 1, &nw);
    CHECK_EQ(b.count, SACK_MAX_RANGES - 1);
    CHECK(sack_is_sacked(&b, 2000 * (SACK_MAX_RANGES - 1)));
}

static void test_is_lost_by_bytes(void)
{
    struct sack_board b;
    /* SMSS 1000, so "more than (DupThresh - 1) * SMSS" = more than 2000 bytes. */
    sack_init(&b, 0);
    static const uint32_t exact[][2] = {{2000, 4000}};
    ack(&b, 0, 1000, 6000, exact, 1, NULL);
    CHECK(!sack_is_lost(&b, 1000, 1000)); /* exactly 2000 bytes above, one range: not lost */
    static const uint32_t more[][2] = {{2000, 4001}};
    ack(&b, 0, 1000, 6000, more, 1, NULL);
    CHECK(sack_is_lost(&b, 1000, 1000));  /* 2001 bytes above */
    CHECK(sack_is_lost(&b, 1999, 1000));
    CHECK_EQ(sack_pipe(&b, 1000, 6000, 1000), 1999); /* only 4001-6000 is in flight */
    /* Two ranges, 2000 + 100 bytes: 2100 > 2000, so the hole below both is lost, the hole
     * between them (100 bytes above it) is not. */
    sack_init(&b, 0);
    static const uint32_t two[][2] = {{2000, 4000}, {4500, 4600}};
    ack(&b, 0, 1000, 6000, two, 2, NULL);
    CHECK(sack_is_lost(&b, 1500, 1000));
    CHECK(!sack_is_lost(&b, 4200, 1000));
    /* A SACKed octet counts only what lies above it: 3500 has 499 + 100 = 599 above. */
    CHECK(!sack_is_lost(&b, 3500, 1000));
    /* The threshold scales with SMSS: with SMSS 1100, 2100 bytes are not enough. */
    CHECK(!sack_is_lost(&b, 1500, 1100));
}

/*
 * Worked example A (SMSS 1000; all numbers relative to a base sequence number B):
 * SND.UNA 1000, SND.MAX 11000: ten segments of 1000 bytes, 1000 .. 10999. The receiver got
 * the segments at 3000, 5000 and 7000 and reports them in three ACKs.
 *   after ACK 1 {3000-4000}: IsLost(1000): 1 range, 1000 bytes above -> false
 *   after ACK 2 {5000-6000}: IsLost(1000): 2 ranges, 2000 bytes (not more than 2000) -> false
 *   after ACK 3 {7000-8000}: IsLost(1000): 3 ranges above (DupThresh) -> true
 *     IsLost(4000): 2 ranges (5000, 7000), 2000 bytes -> false, as for 6000 and 8000.
 *   SetPipe, not in recovery: unSACKed octets 1000-2999 are lost (0), 4000-4999 (1000),
 *     6000-6999 (1000), 8000-10999 (3000) are not: pipe = 5000.
 * Entering recovery: RecoveryPoint = 11000, the first segment 1000-1999 is retransmitted,
 * HighRxt = RescueRxt = 1999 (high_rxt = rescue_rxt = 2000). pipe = 5000 + 1000 = 6000.
 *   NextSeg: S2 = 2000 (unSACKed, > HighRxt, < 8000, IsLost) -> rule 1: 2000-2999 (it stops
 *     at the SACKed 3000). Sent: HighRxt 2999; pipe 7000.
 *   NextSeg: S2 = 4000, not lost. With new data queued: rule 2 (NEW). Without: rule 3,
 *     4000-4999; sent: HighRxt 4999, pipe 8000 (4000-4999 counted twice).
 *   NextSeg: 6000-6999 by rule 3; then S2 would be 8000, not below the highest SACKed octet
 *     (7999): rules 1 and 3 fail; rule 4 needs HighACK (999) > RescueRxt (1999): NONE.
 *   An ACK for 4000 {5000-6000, 7000-8000} (the retransmissions of 1000-2999 arrived): not
 *     past RecoveryPoint. Now HighACK 3999 > RescueRxt 1999: rule 4, the rescue: up to SMSS
 *     ending at the highest unSACKed octet, 10999: 10000-10999. RescueRxt = RecoveryPoint.
 *   NextSeg: NONE. The ACK for 11000 ends recovery.
 */
static void worked_example_a(uint32_t B)
{
    struct sack_board b;
    struct sack_news nw;
    const uint32_t smss = 1000;
    sack_init(&b, B);
    static const uint32_t a1[][2] = {{3000, 4000}};
    ack(&b, B, 1000, 11000, a1, 1, &nw);
    CHECK_EQ(nw.newly_sacked, 1000);
    CHECK(!sack_is_lost(&b, B + 1000, smss));
    static const uint32_t a2[][2] = {{5000, 6000}, {3000, 4000}};
    ack(&b, B, 1000, 11000, a2, 2, &nw);
    CHECK(!sack_is_lost(&b, B + 1000, smss));
    static const uint32_t a3[][2] = {{7000, 8000}, {5000, 6000}, {3000, 4000}};
    ack(&b, B, 1000, 11000, a3, 3, &nw);
    CHECK_EQ(nw.newly_sacked, 1000);
    CHECK(sack_is_lost(&b, B + 1000, smss));
    CHECK(sack_is_lost(&b, B + 2999, smss));
    CHECK(!sack_is_lost(&b, B + 4000, smss));
    CHECK(!sack_is_lost(&b, B + 6000, smss));
    CHECK(!sack_is_lost(&b, B + 8000, smss));
    CHECK_EQ(sack_pipe(&b, B + 1000, B + 11000, smss), 5000);

    REQUIRE(sack_may_recover(&b, B + 1000));
    struct sack_seg seg;
    sack_enter_recovery(&b, B + 1000, B + 11000, smss, &seg);
    CHECK(b.in_recovery);
    CHECK(!sack_may_recover(&b, B + 1000));
    CHECK_EQ(seg.seq, B + 1000);
    CHECK_EQ(seg.len, 1000);
    CHECK_EQ(b.recovery_point, B + 11000);
    CHECK_EQ(b.high_rxt, B + 2000);
    CHECK_EQ(b.rescue_rxt, B + 2000);
    CHECK_EQ(sack_pipe(&b, B + 1000, B + 11000, smss), 6000);

    CHECK_EQ(sack_next_seg(&b, B + 1000, B + 11000, smss, true, &seg), SACK_NEXT_LOST);
    CHECK_EQ(seg.seq, B + 2000);
    CHECK_EQ(seg.len, 1000);
    sack_sent(&b, SACK_NEXT_LOST, &seg);
    CHECK_EQ(b.high_rxt, B + 3000);
    CHECK_EQ(sack_pipe(&b, B + 1000, B + 11000, smss), 7000);

    CHECK_EQ(sack_next_seg(&b, B + 1000, B + 11000, smss, true, &seg), SACK_NEXT_NEW);
    CHECK_EQ(sack_next_seg(&b, B + 1000, B + 11000, smss, false, &seg), SACK_NEXT_HOLE);
    CHECK_EQ(seg.seq, B + 4000);
    CHECK_EQ(seg.len, 1000);
    sack_sent(&b, SACK_NEXT_HOLE, &seg);
    CHECK_EQ(sack_pipe(&b, B + 1000, B + 11000, smss), 8000);
    CHECK_EQ(sack_next_seg(&b, B + 1000, B + 11000, smss, false, &seg), SACK_NEXT_HOLE);
    CHECK_EQ(seg.seq, B + 6000);
    sack_sent(&b, SACK_NEXT_HOLE, &seg);
    CHECK_EQ(b.high_rxt, B + 7000);
    CHECK_EQ(sack_next_seg(&b, B + 1000, B + 11000, smss, false, &seg), SACK_NEXT_NONE);

    static const uint32_t a4[][2] = {{5000, 6000}, {7000, 8000}};
    ack(&b, B, 4000, 11000, a4, 2, &nw);
    CHECK_EQ(nw.newly_sacked, 0);
    CHECK(!sack_recovery_done(&b, B + 4000));
    CHECK_EQ(sack_next_seg(&b, B + 4000, B + 11000, smss, false, &seg), SACK_NEXT_RESCUE);
    CHECK_EQ(seg.seq, B + 10000);
    CHECK_EQ(seg.len, 1000);
    sack_sent(&b, SACK_NEXT_RESCUE, &seg);
    CHECK_EQ(b.rescue_rxt, B + 11000);
    CHECK_EQ(b.high_rxt, B + 7000); /* rule 4 leaves HighRxt alone */
    CHECK_EQ(sack_next_seg(&b, B + 4000, B + 11000, smss, false, &seg), SACK_NEXT_NONE);

    ack(&b, B, 11000, 11000, NULL, 0, NULL);
    CHECK(sack_recovery_done(&b, B + 11000));
    sack_exit_recovery(&b);
    CHECK(!b.in_recovery);
    CHECK(sack_may_recover(&b, B + 11000));
    CHECK_EQ(b.count, 0);
}

static void test_worked_example_a(void)
{
    worked_example_a(0);
}

static void test_worked_example_a_across_wrap(void)
{
    worked_example_a(0xFFFFF000u); /* SND.UNA just below 2^32, every range beyond it */
    worked_example_a(0xFFFFE000u); /* the wrap falls inside the first SACKed range */
    worked_example_a(0x7FFFF000u); /* across 2^31 */
}

/*
 * Worked example C (SMSS 1000): a tail loss. SND.UNA 1000, SND.MAX 6000; segments 1000 and
 * 5000 lost, 2000-4999 SACKed (3000 bytes: more than 2000, so 1000-1999 is lost).
 * Enter recovery: retransmit 1000-1999, HighRxt = RescueRxt = 1999, RecoveryPoint 5999.
 *   pipe: 1000-1999 is lost but retransmitted (1000) + 5000-5999 not lost (1000) = 2000.
 *   NextSeg, no new data: S2 = 5000 is not below the highest SACKed octet 4999; HighACK 999
 *     is not > RescueRxt 1999: NONE.
 * The ACK for 5000 (a partial ACK): HighACK 4999 > 1999: the rescue, 5000-5999.
 */
static void test_worked_example_c_tail_rescue(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    static const uint32_t a1[][2] = {{2000, 5000}};
    ack(&b, 0, 1000, 6000, a1, 1, NULL);
    CHECK(sack_is_lost(&b, 1000, 1000));
    struct sack_seg seg;
    sack_enter_recovery(&b, 1000, 6000, 1000, &seg);
    CHECK_EQ(seg.seq, 1000);
    CHECK_EQ(seg.len, 1000);
    CHECK_EQ(sack_pipe(&b, 1000, 6000, 1000), 2000);
    CHECK_EQ(sack_next_seg(&b, 1000, 6000, 1000, false, &seg), SACK_NEXT_NONE);
    ack(&b, 0, 5000, 6000, NULL, 0, NULL);
    CHECK(!sack_recovery_done(&b, 5000));
    CHECK_EQ(sack_pipe(&b, 5000, 6000, 1000), 1000);
    CHECK_EQ(sack_next_seg(&b, 5000, 6000, 1000, false, &seg), SACK_NEXT_RESCUE);
    CHECK_EQ(seg.seq, 5000);
    CHECK_EQ(seg.len, 1000);
    sack_sent(&b, SACK_NEXT_RESCUE, &seg);
    CHECK_EQ(sack_next_seg(&b, 5000, 6000, 1000, false, &seg), SACK_NEXT_NONE);
    ack(&b, 0, 6000, 6000, NULL, 0, NULL);
    CHECK(sack_recovery_done(&b, 6000));
}

/* The rescue segment ends at the highest unSACKed octet even when SACKed data lies above
 * it, and stays inside that hole. */
static void test_rescue_below_sacked_top(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    /* SND.UNA 1000, SND.MAX 8000; SACKed 1500-1700 and 6000-8000 (2200 bytes > 2000). */
    static const uint32_t a1[][2] = {{6000, 8000}, {1500, 1700}};
    ack(&b, 0, 1000, 8000, a1, 2, NULL);
    struct sack_seg seg;
    sack_enter_recovery(&b, 1000, 8000, 1000, &seg);
    CHECK_EQ(seg.len, 500); /* 1000-1499: stops at the SACKed 1500 */
    CHECK_EQ(b.high_rxt, 1500);
    /* Retransmit the rest by rules 1 and 3 until nothing below 5999 is left. */
    int n = 0;
    enum sack_next k;
    while ((k = sack_next_seg(&b, 1000, 8000, 1000, false, &seg)) == SACK_NEXT_LOST ||
           k == SACK_NEXT_HOLE) {
        CHECK(seg.len > 0 && seg.len <= 1000);
        CHECK(!sack_is_sacked(&b, seg.seq));
        sack_sent(&b, k, &seg);
        if (++n > 20)
            break;
    }
    /* 1700-5999 in segments of at most 1000, none crossing SACKed data: 5 segments. */
    CHECK_EQ(n, 5);
    CHECK_EQ(b.high_rxt, 6000);
    CHECK_EQ(k, SACK_NEXT_NONE); /* HighACK 999 is not > RescueRxt 1499 */
    /* A partial ACK to 1700 (1000-1499 arrived; 1500-1699 was SACKed): HighACK 1699 >
     * RescueRxt 1499, so the rescue may go: the 1000 bytes ending at 5999. */
    static const uint32_t a2[][2] = {{6000, 8000}};
    ack(&b, 0, 1700, 8000, a2, 1, NULL);
    CHECK_EQ(sack_next_seg(&b, 1700, 8000, 1000, false, &seg), SACK_NEXT_RESCUE);
    CHECK_EQ(seg.seq, 5000);
    CHECK_EQ(seg.len, 1000);
    /* With a small SMSS it is still the end of that hole. */
    CHECK_EQ(sack_next_seg(&b, 1700, 8000, 300, false, &seg), SACK_NEXT_RESCUE);
    CHECK_EQ(seg.seq, 5700);
    CHECK_EQ(seg.len, 300);
}

/* IsLost by the count of ranges alone: three SACKed ranges of 100 bytes each (300 bytes,
 * far below 2000) above a hole make it lost; two do not. SMSS 1000, SND.UNA 1000, SND.MAX
 * 5000: pipe = 2100-2999 (900) + 3100-3999 (900) + 4100-4999 (900) = 2700; 1000-1999 is lost. */
static void test_is_lost_by_count(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    static const uint32_t a1[][2] = {{4000, 4100}, {3000, 3100}, {2000, 2100}};
    ack(&b, 0, 1000, 5000, a1, 3, NULL);
    CHECK(sack_is_lost(&b, 1000, 1000));
    CHECK(sack_is_lost(&b, 1999, 1000));
    CHECK(!sack_is_lost(&b, 2100, 1000)); /* two ranges above */
    CHECK(!sack_is_lost(&b, 3500, 1000));
    CHECK_EQ(sack_pipe(&b, 1000, 5000, 1000), 2700);
}

/* Rule 4 needs HighACK > RescueRxt, strictly. SMSS 1000, SND.UNA 1000, SND.MAX 6000, SACKed
 * 3000-3099, 3500-3599, 4000-4099. Recovery retransmits 1000-1999 (RescueRxt 1999), then
 * 2000-2999 (rule 1: lost), 3100-3499 and 3600-3999 (rule 3). Nothing is left below the
 * highest SACKed octet 4099, and HighACK 999 is not > 1999: NONE. The ACK for 2000 makes
 * HighACK 1999 = RescueRxt: still NONE. The ACK for 3000 (HighACK 2999): the rescue,
 * 5000-5999. */
static void test_rescue_waits_for_highack(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    static const uint32_t a1[][2] = {{4000, 4100}, {3500, 3600}, {3000, 3100}};
    ack(&b, 0, 1000, 6000, a1, 3, NULL);
    struct sack_seg seg;
    sack_enter_recovery(&b, 1000, 6000, 1000, &seg);
    CHECK_EQ(b.rescue_rxt, 2000);
    static const struct { enum sack_next kind; uint32_t seq, len; } want[] = {
        {SACK_NEXT_LOST, 2000, 1000},
        {SACK_NEXT_HOLE, 3100, 400},
        {SACK_NEXT_HOLE, 3600, 400},
    };
    for (int i = 0; i < 3; i++) {
        enum sack_next k = sack_next_seg(&b, 1000, 6000, 1000, false, &seg);
        CHECK_EQ(k, want[i].kind);
        CHECK_EQ(seg.seq, want[i].seq);
        CHECK_EQ(seg.len, want[i].len);
        sack_sent(&b, k, &seg);
    }
    CHECK_EQ(sack_next_seg(&b, 1000, 6000, 1000, false, &seg), SACK_NEXT_NONE);
    ack(&b, 0, 2000, 6000, a1, 3, NULL);
    CHECK_EQ(sack_next_seg(&b, 2000, 6000, 1000, false, &seg), SACK_NEXT_NONE);
    ack(&b, 0, 3000, 6000, a1, 3, NULL);
    CHECK_EQ(sack_next_seg(&b, 3000, 6000, 1000, false, &seg), SACK_NEXT_RESCUE);
    CHECK_EQ(seg.seq, 5000);
    CHECK_EQ(seg.len, 1000);
}

static void test_enter_recovery_short_flight(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    struct sack_seg seg;
    /* Less than SMSS outstanding: the first retransmission is what there is. */
    sack_enter_recovery(&b, 1000, 1300, 1000, &seg);
    CHECK_EQ(seg.seq, 1000);
    CHECK_EQ(seg.len, 300);
    CHECK_EQ(b.high_rxt, 1300);
    CHECK(sack_recovery_done(&b, 1300));
}

static void test_rto_clears_and_holds_recovery(void)
{
    struct sack_board b;
    sack_init(&b, 0);
    static const uint32_t a1[][2] = {{3000, 4000}, {5000, 6000}, {7000, 8000}};
    ack(&b, 0, 1000, 11000, a1, 3, NULL);
    struct sack_seg seg;
    sack_enter_recovery(&b, 1000, 11000, 1000, &seg);
    /* More data went out during recovery; then the timer expired. */
    sack_on_rto(&b, 15000);
    CHECK(!b.in_recovery);
    CHECK_EQ(b.count, 0);          /* RFC 2018 8: SACKed bits off */
    CHECK_EQ(b.recovery_point, 15000);
    CHECK(!sack_may_recover(&b, 1000)); /* RFC 6675 5.1: not before SND.UNA reaches 15000 */
    CHECK(!sack_may_recover(&b, 14999));
    CHECK(!sack_recovery_done(&b, 15000)); /* not in recovery */
    CHECK(sack_may_recover(&b, 15000));
    /* SACKs after the timeout are recorded again. */
    static const uint32_t a2[][2] = {{3000, 4000}};
    ack(&b, 0, 1000, 15000, a2, 1, NULL);
    CHECK_EQ(b.count, 1);
}

static void test_recovery_point_follows_una(void)
{
    /* Gigabytes without loss: the RecoveryPoint must not fall 2^31 behind SND.UNA, or
     * seq_geq() would turn around and forbid recovery forever. */
    struct sack_board b;
    sack_init(&b, 100);
    uint32_t una = 101;
    for (int i = 0; i < 20; i++) {
        una += 1u << 29; /* 10 GiB in all */
        ack(&b, 0, una, una + 1000, NULL, 0, NULL);
        CHECK(sack_may_recover(&b, una));
    }
}

/* ---- randomized comparison with the octet-by-octet definitions --------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* RFC 6675 4 SetPipe, literally: every octet from HighACK + 1 to HighData. */
static uint32_t pipe_by_octet(const struct sack_board *b, uint32_t una, uint32_t max,
                              uint32_t smss)
{
    uint32_t hr = b->in_recovery && seq_gt(b->high_rxt, una) ? b->high_rxt : una;
    uint32_t pipe = 0;
    for (uint32_t s = una; s != max; s++) {
        if (sack_is_sacked(b, s))
            continue;
        if (!sack_is_lost(b, s, smss))
            pipe++; /* (a) */
        if (seq_lt(s, hr))
            pipe++; /* (b) S1 <= HighRxt */
    }
    return pipe;
}

/* IsLost, literally: SACKed octets above seq, and maximal SACKed runs wholly above seq. */
static bool lost_by_octet(const struct sack_board *b, uint32_t seq, uint32_t max, uint32_t smss)
{
    uint32_t bytes = 0, runs = 0;
    bool prev = false;
    for (uint32_t s = seq + 1; s != max; s++) {
        bool in = sack_is_sacked(b, s);
        if (in) {
            bytes++;
            if (!prev)
                runs++;
        }
        prev = in;
    }
    if (sack_is_sacked(b, seq) && sack_is_sacked(b, seq + 1))
        runs--; /* the run holding seq is not wholly above it */
    return runs >= SACK_DUP_THRESH || bytes > (SACK_DUP_THRESH - 1) * smss;
}

/* RFC 6675 4 NextSeg, literally. */
static enum sack_next next_by_octet(const struct sack_board *b, uint32_t una, uint32_t max,
                                    uint32_t smss, bool can_new, uint32_t *seq)
{
    uint32_t hr = seq_gt(b->high_rxt, una) ? b->high_rxt : una;
    uint32_t top = una; /* one past the highest SACKed octet */
    for (uint32_t s = una; s != max; s++)
        if (sack_is_sacked(b, s))
            top = s + 1;
    for (uint32_t s = hr; seq_lt(s, top); s++) /* rule 1 */
        if (!sack_is_sacked(b, s) && sack_is_lost(b, s, smss)) {
            *seq = s;
            return SACK_NEXT_LOST;
        }
    if (can_new)
        return SACK_NEXT_NEW; /* rule 2 */
    for (uint32_t s = hr; seq_lt(s, top); s++) /* rule 3 */
        if (!sack_is_sacked(b, s)) {
            *seq = s;
            return SACK_NEXT_HOLE;
        }
    if (seq_gt(una, b->rescue_rxt)) { /* rule 4: the highest unSACKed octet */
        for (uint32_t s = max; s != una; s--)
            if (!sack_is_sacked(b, s - 1)) {
                *seq = s - 1;
                return SACK_NEXT_RESCUE;
            }
    }
    return SACK_NEXT_NONE;
}

static void random_round(uint32_t base)
{
    struct sack_board b;
    sack_init(&b, base);
    uint32_t smss = 1 + rnd(40);
    uint32_t una = base + rnd(50);
    uint32_t max = una + 1 + rnd(400);
    /* A few ACKs with random blocks, valid or not. */
    int acks = 1 + (int)rnd(4);
    for (int a = 0; a < acks; a++) {
        struct wire_sack_block w[4];
        int n = (int)rnd(5);
        for (int i = 0; i < n; i++) {
            uint32_t l = una - 20 + rnd(max - una + 40);
            w[i].left = l;
            w[i].right = l + rnd(80);
        }
        sack_update(&b, una, max, w, n, NULL);
    }
    for (int i = 0; i < b.count; i++) /* the invariant */
        if (!seq_lt(b.range[i].left, b.range[i].right) || seq_lt(b.range[i].left, una) ||
            seq_gt(b.range[i].right, max) ||
            (i > 0 && !seq_lt(b.range[i - 1].right, b.range[i].left)))
            CHECK(0);
    for (uint32_t s = una; s != max; s++)
        if (sack_is_lost(&b, s, smss) != lost_by_octet(&b, s, max, smss)) {
            fprintf(stderr, "IsLost(%u) differs\n", (unsigned)(s - base));
            CHECK(0);
            return;
        }
    CHECK_EQ(sack_pipe(&b, una, max, smss), pipe_by_octet(&b, una, max, smss));
    /* Recovery with a few retransmissions, checking NextSeg and SetPipe after each. */
    struct sack_seg seg;
    sack_enter_recovery(&b, una, max, smss, &seg);
    CHECK(seg.len >= 1 && seg.len <= smss);
    for (int step = 0; step < 12; step++) {
        bool can_new = rnd(4) == 0;
        uint32_t want = 0;
        enum sack_next k = sack_next_seg(&b, una, max, smss, can_new, &seg);
        enum sack_next w = next_by_octet(&b, una, max, smss, can_new, &want);
        if (k != w) {
            fprintf(stderr, "NextSeg %d, by octet %d\n", (int)k, (int)w);
            CHECK(0);
            return;
        }
        if (k == SACK_NEXT_LOST || k == SACK_NEXT_HOLE) {
            CHECK_EQ(seg.seq, want);
            CHECK(seg.len >= 1 && seg.len <= smss && seq_leq(seg.seq + seg.len, max));
            for (uint32_t s = seg.seq; s != seg.seq + seg.len; s++)
                if (sack_is_sacked(&b, s))
                    CHECK(0); /* never resends SACKed data */
        } else if (k == SACK_NEXT_RESCUE) {
            CHECK_EQ(seg.seq + seg.len - 1, want); /* ends at the highest unSACKed octet */
            CHECK(seg.len >= 1 && seg.len <= smss);
        }
        if (k == SACK_NEXT_NONE || k == SACK_NEXT_NEW) {
            /* A cumulative ACK moves SND.UNA a little. */
            uint32_t una2 = una + rnd(max - una + 1);
            sack_update(&b, una2, max, NULL, 0, NULL);
            una = una2;
            if (sack_recovery_done(&b, una))
                return;
        } else {
            sack_sent(&b, k, &seg);
        }
        CHECK_EQ(sack_pipe(&b, una, max, smss), pipe_by_octet(&b, una, max, smss));
    }
}

static void test_random_against_definitions(void)
{
    rng_state = 0x853c49e6748fea9bull;
    static const uint32_t bases[] = {0, 0xFFFFFF00u, 0x7FFFFF00u, 123456789u};
    for (int i = 0; i < 2000; i++)
        random_round(bases[i % 4]);
}

static void test_struct_size(void)
{
    CHECK_EQ(sizeof(struct sack_board), 80); /* as sack.h states */
}

int main(void)
{
    RUN(test_init);
    RUN(test_record_merge_and_newly_sacked);
    RUN(test_cumulative_ack_drops_below);
    RUN(test_invalid_and_dsack_blocks);
    RUN(test_bound_forgets_highest);
    RUN(test_is_lost_by_bytes);
    RUN(test_worked_example_a);
    RUN(test_worked_example_a_across_wrap);
    RUN(test_worked_example_c_tail_rescue);
    RUN(test_rescue_below_sacked_top);
    RUN(test_is_lost_by_count);
    RUN(test_rescue_waits_for_highack);
    RUN(test_enter_recovery_short_flight);
    RUN(test_rto_clears_and_holds_recovery);
    RUN(test_recovery_point_follows_una);
    RUN(test_random_against_definitions);
    RUN(test_struct_size);
    return check_summary();
}
