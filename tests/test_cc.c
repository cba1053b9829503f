/*
 * test_cc.c: congestion control (src/tcp/cc.c, cc_newreno.c, cc_cubic.c): the RFC 6928
 * initial window, slow start with RFC 3465 byte counting, congestion avoidance (about one
 * SMSS per RTT), fast recovery entry, inflation, partial ACK deflation and exit (RFC 5681,
 * RFC 6582), the timeout response, restart after idle; CUBIC's integer cube root, K and
 * W_cubic(t) at points computed by hand from RFC 9438, the decrease by beta 0.7, fast
 * convergence, growth toward W_max, the Reno-friendly region and the timeout rule.
 *
 * Numbers: SMSS 1000 unless stated, so windows read as segments x 1000.
 */
#include <string.h>

#include "check.h"
#include "tcp/cc.h"

#define SEC 1000000ull /* us */

/* ---- common: IW, slow start, recovery, timeout, idle --------------------------------- */

static void test_initial_window_rfc6928(void)
{
    /* IW = min(10 * SMSS, max(2 * SMSS, 14600)) */
    CHECK_EQ(cc_initial_window(536), 5360);   /* min(5360, 14600) */
    CHECK_EQ(cc_initial_window(1460), 14600); /* min(14600, 14600) */
    CHECK_EQ(cc_initial_window(9000), 18000); /* min(90000, max(18000, 14600)) */
    CHECK_EQ(cc_initial_window(4000), 14600); /* min(40000, max(8000, 14600)) */
    CHECK_EQ(cc_initial_window(1000), 10000);
    struct cc cc;
    cc_init(&cc, NULL, 1460, false);
    CHECK(cc.ops == &cc_newreno_ops); /* the default */
    CHECK_EQ(cc.cwnd, 14600);
    CHECK_EQ(cc.ssthresh, CC_SSTHRESH_INIT);
    cc_init(&cc, &cc_cubic_ops, 536, false);
    CHECK_EQ(cc.cwnd, 5360);
    /* RFC 5681 3.1: a lost SYN leaves one segment. */
    cc_init(&cc, NULL, 1460, true);
    CHECK_EQ(cc.cwnd, 1460);
}

static void test_ops_by_name(void)
{
    CHECK(cc_ops_by_name("newreno") == &cc_newreno_ops);
    CHECK(cc_ops_by_name("cubic") == &cc_cubic_ops);
    CHECK(cc_ops_by_name("bbr") == NULL);
    CHECK(cc_ops_by_name(NULL) == NULL);
}

static void test_slow_start_per_ack(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    CHECK_EQ(cc.cwnd, 10000);
    cc_on_ack(&cc, 1000, 0, 0);
    CHECK_EQ(cc.cwnd, 11000); /* + min(1000, 2000) */
    cc_on_ack(&cc, 3000, 0, 0);
    CHECK_EQ(cc.cwnd, 13000); /* a stretch ACK: + min(3000, L = 2000) */
    cc_on_ack(&cc, 500, 0, 0);
    CHECK_EQ(cc.cwnd, 13500); /* + 500: bytes, not ACKs, are counted */
    cc_on_ack(&cc, 0, 0, 0);
    CHECK_EQ(cc.cwnd, 13500);
    /* Doubling per RTT: one window of 1000-byte ACKs adds one window. */
    cc_init(&cc, NULL, 1000, false);
    for (int i = 0; i < 10; i++)
        cc_on_ack(&cc, 1000, 0, 0);
    CHECK_EQ(cc.cwnd, 20000);
}

/* A connection in congestion avoidance at cwnd = ssthresh = 20000: fast recovery from a
 * flight of 40000 sets ssthresh 20000; leaving it with 20000 in flight gives
 * cwnd = min(20000, 20000 + 1000). */
static void ca_fixture(struct cc *cc, const struct cc_ops *ops)
{
    cc_init(cc, ops, 1000, false);
    cc_enter_recovery(cc, 40000, false);
    cc_exit_recovery(cc, 20000);
}

static void test_congestion_avoidance_one_smss_per_rtt(void)
{
    struct cc cc;
    ca_fixture(&cc, &cc_newreno_ops);
    REQUIRE(cc.cwnd == 20000 && cc.ssthresh == 20000);
    /* RFC 5681 3.1 byte counting: cwnd grows by SMSS once cwnd bytes were acknowledged. */
    for (int i = 0; i < 19; i++)
        cc_on_ack(&cc, 1000, 0, 0);
    CHECK_EQ(cc.cwnd, 20000);
    cc_on_ack(&cc, 1000, 0, 0); /* the 20th: one RTT's worth */
    CHECK_EQ(cc.cwnd, 21000);
    for (int i = 0; i < 20; i++)
        cc_on_ack(&cc, 1000, 0, 0);
    CHECK_EQ(cc.cwnd, 21000); /* 20000 of 21000 counted */
    cc_on_ack(&cc, 1000, 0, 0);
    CHECK_EQ(cc.cwnd, 22000);
    /* Ten RTTs: ten SMSS, whatever the ACK size. */
    for (int rtt = 0; rtt < 10; rtt++) {
        uint32_t w = cc.cwnd;
        for (uint32_t sent = 0; sent < w; sent += 500)
            cc_on_ack(&cc, 500, 0, 0);
    }
    CHECK_EQ(cc.cwnd, 32000);
}

static void test_fast_recovery_entry(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    /* RFC 5681 3.2: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = ssthresh + 3 * SMSS. */
    cc_enter_recovery(&cc, 30000, false);
    CHECK_EQ(cc.ssthresh, 15000);
    CHECK_EQ(cc.cwnd, 18000);
    /* RFC 6675 5 (4.2): with SACK, cwnd = ssthresh, no inflation. */
    cc_init(&cc, NULL, 1000, false);
    cc_enter_recovery(&cc, 30000, true);
    CHECK_EQ(cc.ssthresh, 15000);
    CHECK_EQ(cc.cwnd, 15000);
    /* The 2 * SMSS floor. */
    cc_init(&cc, NULL, 1000, false);
    cc_enter_recovery(&cc, 3000, false);
    CHECK_EQ(cc.ssthresh, 2000);
    CHECK_EQ(cc.cwnd, 5000);
    /* FlightSize, not cwnd: a small flight with a large cwnd. */
    cc_init(&cc, NULL, 1000, false);
    cc.cwnd = 64000;
    cc_enter_recovery(&cc, 9000, false);
    CHECK_EQ(cc.ssthresh, 4500);
}

static void test_inflation_and_partial_ack_deflation(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    cc_enter_recovery(&cc, 30000, false); /* ssthresh 15000, cwnd 18000 */
    cc_dup_ack(&cc);
    cc_dup_ack(&cc);
    CHECK_EQ(cc.cwnd, 20000); /* RFC 5681 3.2 step 4: + SMSS each */
    /* RFC 6582 3.2 step 5: a partial ACK of 3000: 20000 - 3000 + 1000. */
    cc_partial_ack(&cc, 3000);
    CHECK_EQ(cc.cwnd, 18000);
    /* Less than SMSS acknowledged: nothing added back. */
    cc_partial_ack(&cc, 500);
    CHECK_EQ(cc.cwnd, 17500);
    /* Exactly SMSS: deflate 1000, add back 1000. */
    cc_partial_ack(&cc, 1000);
    CHECK_EQ(cc.cwnd, 17500);
    /* Never below one segment. */
    cc_partial_ack(&cc, 100000);
    CHECK_EQ(cc.cwnd, 1000);
    CHECK_EQ(cc.ssthresh, 15000); /* partial ACKs leave ssthresh alone */
}

static void test_exit_recovery(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    cc_enter_recovery(&cc, 30000, false); /* ssthresh 15000 */
    /* RFC 6582 3.2 step 6 (1): min(ssthresh, max(FlightSize, SMSS) + SMSS). */
    cc_exit_recovery(&cc, 5000);
    CHECK_EQ(cc.cwnd, 6000);
    cc_enter_recovery(&cc, 30000, false);
    cc_exit_recovery(&cc, 20000);
    CHECK_EQ(cc.cwnd, 15000);
    cc_enter_recovery(&cc, 30000, false);
    cc_exit_recovery(&cc, 0);
    CHECK_EQ(cc.cwnd, 2000); /* max(0, SMSS) + SMSS */
}

static void test_rto_resets_to_one_segment(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    cc.cwnd = 30000;
    /* RFC 5681 3.1: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = LW = 1 SMSS. */
    cc_on_rto(&cc, 30000, false);
    CHECK_EQ(cc.ssthresh, 15000);
    CHECK_EQ(cc.cwnd, 1000);
    /* The same segment times out again: ssthresh is not lowered a second time (with 4000
     * in flight it would become 2000). */
    cc_on_rto(&cc, 4000, true);
    CHECK_EQ(cc.ssthresh, 15000);
    CHECK_EQ(cc.cwnd, 1000);
    /* A later, first timeout of another segment with little in flight: the floor. */
    cc_on_rto(&cc, 1000, false);
    CHECK_EQ(cc.ssthresh, 2000);
}

static void test_slow_start_after_rto_uses_l_one(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    cc_on_rto(&cc, 30000, false); /* ssthresh 15000, cwnd 1000 */
    /* RFC 3465 2.3: L = 1 SMSS in the slow start after a timeout. */
    cc_on_ack(&cc, 3000, 0, 0);
    CHECK_EQ(cc.cwnd, 2000);
    cc_on_ack(&cc, 500, 0, 0);
    CHECK_EQ(cc.cwnd, 2500);
    /* Once in congestion avoidance and back in slow start after recovery, L is 2 again. */
    cc.cwnd = 15000;
    cc_on_ack(&cc, 1000, 0, 0); /* congestion avoidance clears the RTO slow start */
    cc_enter_recovery(&cc, 30000, true);
    cc.cwnd = 1000; /* e.g. a small flight at exit */
    cc_on_ack(&cc, 3000, 0, 0);
    CHECK_EQ(cc.cwnd, 3000);
}

static void test_restart_after_idle(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1460, false);
    cc.cwnd = 50000; /* grown earlier */
    /* RFC 5681 4.1: idle no longer than an RTO: unchanged. */
    CHECK(!cc_after_idle(&cc, 500000, SEC));
    CHECK(!cc_after_idle(&cc, SEC, SEC)); /* "exceeding" the RTO is needed */
    CHECK_EQ(cc.cwnd, 50000);
    /* Longer: cwnd = min(IW, cwnd). */
    CHECK(cc_after_idle(&cc, 2 * SEC, SEC));
    CHECK_EQ(cc.cwnd, 14600);
    cc.cwnd = 5000;
    CHECK(cc_after_idle(&cc, 2 * SEC, SEC));
    CHECK_EQ(cc.cwnd, 5000); /* already below IW */
}

static void test_windows_saturate(void)
{
    struct cc cc;
    cc_init(&cc, NULL, 1000, false);
    cc.cwnd = CC_CWND_MAX - 500;
    cc_on_ack(&cc, 2000, 0, 0);
    CHECK_EQ(cc.cwnd, CC_CWND_MAX);
    cc_dup_ack(&cc);
    CHECK_EQ(cc.cwnd, CC_CWND_MAX);
    cc.ssthresh = 1000; /* congestion avoidance at the cap */
    for (int i = 0; i < 10; i++)
        cc_on_ack(&cc, UINT32_MAX, 0, 0);
    CHECK_EQ(cc.cwnd, CC_CWND_MAX);
    cc_enter_recovery(&cc, UINT32_MAX, false);
    CHECK(cc.ssthresh <= CC_CWND_MAX);
    CHECK(cc.cwnd <= CC_CWND_MAX);
}

/* ---- CUBIC -------------------------------------------------------------------------- */

static void test_cbrt64(void)
{
    CHECK_EQ(cc_cbrt64(0), 0);
    CHECK_EQ(cc_cbrt64(1), 1);
    CHECK_EQ(cc_cbrt64(7), 1);
    CHECK_EQ(cc_cbrt64(8), 2);
    CHECK_EQ(cc_cbrt64(26), 2);
    CHECK_EQ(cc_cbrt64(27), 3);
    CHECK_EQ(cc_cbrt64(75000000000ull), 4217); /* 4217^3 = 74991286313 */
    CHECK_EQ(cc_cbrt64(UINT64_MAX), 2642245);   /* 2642245^3 < 2^64 < 2642246^3 */
    /* floor(cbrt(x)) around every cube y^3 (y < 2642246). */
    int bad = 0;
    for (uint64_t y = 1; y <= 2642245; y += (y < 5000 ? 1 : 997)) {
        uint64_t c = y * y * y;
        if (cc_cbrt64(c) != y || cc_cbrt64(c - 1) != y - 1)
            bad++;
        if (y < 2642245 && cc_cbrt64((y + 1) * (y + 1) * (y + 1) - 1) != y)
            bad++;
    }
    CHECK_EQ(bad, 0);
}

/*
 * K and W_cubic by hand (RFC 9438 Figures 1 and 2, C = 0.4): W_max = 100 segments, cwnd_epoch
 * = 70 segments (a decrease by beta 0.7). K = cbrt((100 - 70) / 0.4) = cbrt(75) = 4.21716 s,
 * 4217 ms. W_cubic(K + d) = 100 + 0.4 d^3 segments:
 *   d = 0: 100 segments; d = 1 s: 100.4; d = -1 s: 99.6; d = 2 s: 103.2; d = 10 s: 500.
 *   t = 0: 70 segments exactly with the real K; with K = 4.217 s the result is
 *          100 - 0.4 * 4.217^3 = 100 - 29.9965 = 70.004 segments (70004 bytes).
 */
static void test_cubic_k_and_window(void)
{
    CHECK_EQ(cc_cubic_k_ms(100000, 70000, 1000), 4217);
    CHECK_EQ(cc_cubic_k_ms(146000, 102200, 1460), 4217); /* the same in 1460-byte segments */
    CHECK_EQ(cc_cubic_k_ms(70000, 100000, 1000), -4217); /* cwnd_epoch above W_max */
    CHECK_EQ(cc_cubic_k_ms(50000, 50000, 1000), 0);
    /* K = cbrt(3.2 / 0.4) = 2 s exactly. */
    CHECK_EQ(cc_cubic_k_ms(10000, 6800, 1000), 2000);
    int32_t k = 4217;
    CHECK_EQ(cc_cubic_window(100000, k, k, 1000), 100000);
    CHECK_EQ(cc_cubic_window(100000, k, k + 1000, 1000), 100400);
    CHECK_EQ(cc_cubic_window(100000, k, k - 1000, 1000), 99600);
    CHECK_EQ(cc_cubic_window(100000, k, k + 2000, 1000), 103200);
    CHECK_EQ(cc_cubic_window(100000, k, k + 10000, 1000), 500000);
    CHECK_EQ(cc_cubic_window(100000, k, 0, 1000), 70004);
    CHECK_EQ(cc_cubic_window(146000, k, k + 1000, 1460), 146584); /* + 0.4 * 1460 */
    /* W(t) = C t^3 + W_max with K = 0 (after a timeout): 2 s -> + 3.2 segments. */
    CHECK_EQ(cc_cubic_window(7000, 0, 2000, 1000), 10200);
    /* Far out the window is clamped, never wraps. */
    CHECK_EQ(cc_cubic_window(100000, k, 100000000, 1000), CC_CWND_MAX);
    CHECK_EQ(cc_cubic_window(100000, k, -100000000, 1000), 0);
}

/* Slow start from IW 10000 to cwnd 100000 (90 ACKs of 1000 bytes). */
static void cubic_at_100(struct cc *cc)
{
    cc_init(cc, &cc_cubic_ops, 1000, false);
    for (int i = 0; i < 90; i++)
        cc_on_ack(cc, 1000, 0, 0);
}

static void test_cubic_multiplicative_decrease(void)
{
    struct cc cc;
    cubic_at_100(&cc);
    REQUIRE(cc.cwnd == 100000);
    /* RFC 9438 4.6: ssthresh = flight_size * 0.7; with SACK cwnd = ssthresh. */
    cc_enter_recovery(&cc, 100000, true);
    CHECK_EQ(cc.ssthresh, 70000);
    CHECK_EQ(cc.cwnd, 70000);
    CHECK_EQ(cc.u.cubic.w_max, 100000);      /* the cwnd before the reduction */
    CHECK_EQ(cc.u.cubic.cwnd_prior, 100000);
    CHECK_EQ(cc.u.cubic.epoch_us, CC_NO_EPOCH);
    /* Without SACK the usual inflation by 3 segments applies on top. */
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 100000, false);
    CHECK_EQ(cc.cwnd, 73000);
    /* The floor of 2 segments. */
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 2000, true);
    CHECK_EQ(cc.ssthresh, 2000);
}

static void test_cubic_fast_convergence(void)
{
    struct cc cc;
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 100000, true); /* W_max 100000 */
    cc_exit_recovery(&cc, 70000);
    cc.cwnd = 80000; /* grew back only to 80 segments */
    /* RFC 9438 4.7: cwnd < W_max: W_max = cwnd * (1 + 0.7) / 2 = 68000. */
    cc_enter_recovery(&cc, 80000, true);
    CHECK_EQ(cc.u.cubic.w_max, 68000);
    CHECK_EQ(cc.ssthresh, 56000);
    CHECK_EQ(cc.u.cubic.cwnd_prior, 80000);
    /* Past the old W_max: W_max = cwnd. */
    cc.cwnd = 120000;
    cc_enter_recovery(&cc, 120000, true);
    CHECK_EQ(cc.u.cubic.w_max, 120000);
    CHECK_EQ(cc.ssthresh, 84000);
}

/* After the decrease at 100 segments and recovery ending at cwnd 70000, congestion
 * avoidance starts. Each step uses cwnd += (target - cwnd) * acked / cwnd (RFC 9438 4.4),
 * remainders carried. By hand:
 *   ACK 1 at T0 (t = 0, RTT 0): target = W(0) = 70004: (4 * 1000) / 70000 = 0, carry 4000.
 *   ACK 2 at t = K = 4.217 s: target = W(K) = 100000 (<= 1.5 * 70000):
 *       (30000 * 1000 + 4000) / 70000 = 428, carry 30004000 - 428 * 70000 = 44000.
 *   ACK 3 at t = K + 10 s: W = 500000, above 1.5 * cwnd = 105642: target 105642:
 *       (35214 * 1000 + 44000) / 70428 = 500 (70428 * 500 = 35214000), carry 44000. */
static void test_cubic_growth_toward_w_max(void)
{
    struct cc cc;
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 100000, true);
    cc_exit_recovery(&cc, 70000);
    REQUIRE(cc.cwnd == 70000 && cc.ssthresh == 70000);
    uint64_t t0 = 5 * SEC;
    cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.u.cubic.epoch_us, t0);
    CHECK_EQ(cc.u.cubic.k_ms, 4217);
    CHECK_EQ(cc.u.cubic.w_est, 70000);
    CHECK_EQ(cc.cwnd, 70000);
    cc_on_ack(&cc, 1000, t0 + 4217000, 0);
    CHECK_EQ(cc.cwnd, 70428);
    cc_on_ack(&cc, 1000, t0 + 14217000, 0);
    CHECK_EQ(cc.cwnd, 70928);
}

/* The target is W_cubic(t + RTT): at t = K - 1 s with an RTT of 1 s it is W(K) = 100000,
 * the same step as ACK 2 above. */
static void test_cubic_target_looks_one_rtt_ahead(void)
{
    struct cc cc;
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 100000, true);
    cc_exit_recovery(&cc, 70000);
    uint64_t t0 = 5 * SEC;
    cc_on_ack(&cc, 1000, t0, SEC);
    /* ACK 1 with RTT 1 s: target W(1 s): d = 1000 - 4217 = -3217 ms,
     * 0.4 * 3.217^3 = 13.317 segments below W_max: 86683; clamped to <= 105000:
     * (16683 * 1000) / 70000 = 238. */
    CHECK_EQ(cc.cwnd, 70238);
}

/* The Reno-friendly region (RFC 9438 4.3). SMSS 1000, IW 10000; a decrease from 10 segments
 * to 7 (W_max 10000, cwnd_prior 10000). K = cbrt(3 / 0.4) = 1.957 s; at t = 0,
 * W_cubic = 10 - 0.4 * 1.957^3 = 7.002 segments (7002 bytes). All ACKs (1000 bytes) arrive
 * at t = 0, so W_cubic stays 7002 while W_est grows by alpha = 9/17 SMSS per cwnd acked:
 * each ACK counts 1000 * 9 / 17 = 529 bytes. 13 ACKs count 6877 < cwnd: W_est 7000, and the
 * cubic steps (target 7002) bring cwnd to exactly 7002 (carries: +1 at ACK 4 and ACK 11).
 * The 14th counts 7406 >= 7002: W_est = 8000 > W_cubic, so cwnd = W_est = 8000.
 * Then W_est climbs 8000 -> 9000 (15 ACKs) -> 10000 (17 ACKs); at W_est = cwnd_prior alpha
 * becomes 1: the next SMSS takes 10 ACKs instead of 19. */
static void test_cubic_reno_friendly_region(void)
{
    struct cc cc;
    cc_init(&cc, &cc_cubic_ops, 1000, false);
    cc_enter_recovery(&cc, 10000, true);
    cc_exit_recovery(&cc, 7000);
    REQUIRE(cc.cwnd == 7000 && cc.ssthresh == 7000);
    uint64_t t0 = SEC;
    for (int i = 0; i < 13; i++)
        cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.u.cubic.k_ms, 1957);
    CHECK_EQ(cc.u.cubic.w_est, 7000);
    CHECK_EQ(cc.cwnd, 7002);
    cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.u.cubic.w_est, 8000);
    CHECK_EQ(cc.cwnd, 8000);
    for (int i = 0; i < 15; i++)
        cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.cwnd, 9000);
    for (int i = 0; i < 16; i++)
        cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.cwnd, 9000);
    cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.cwnd, 10000);
    for (int i = 0; i < 9; i++)
        cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.cwnd, 10000);
    cc_on_ack(&cc, 1000, t0, 0); /* alpha 1: the 10th ACK */
    CHECK_EQ(cc.cwnd, 11000);
}

/* RFC 9438 4.8: after a timeout ssthresh = flight * 0.7 and cwnd = 1 SMSS; slow start (L = 1
 * SMSS after a timeout) back to 7000 takes 6 ACKs; the congestion avoidance stage then uses
 * K = 0 and W_max = 7000: W(t) = 7000 + 0.4 t^3 segments. At t = 2 s, W = 10200:
 * (3200 * 1000) / 7000 = 457. */
static void test_cubic_timeout(void)
{
    struct cc cc;
    cc_init(&cc, &cc_cubic_ops, 1000, false);
    cc_on_rto(&cc, 10000, false);
    CHECK_EQ(cc.ssthresh, 7000);
    CHECK_EQ(cc.cwnd, 1000);
    cc_on_rto(&cc, 1000, true); /* again: ssthresh stays */
    CHECK_EQ(cc.ssthresh, 7000);
    for (int i = 0; i < 6; i++)
        cc_on_ack(&cc, 2000, 0, 0);
    REQUIRE(cc.cwnd == 7000);
    uint64_t t0 = 3 * SEC;
    cc_on_ack(&cc, 1000, t0, 0);
    CHECK_EQ(cc.u.cubic.k_ms, 0);
    CHECK_EQ(cc.u.cubic.w_max, 7000);
    CHECK_EQ(cc.cwnd, 7000);
    cc_on_ack(&cc, 1000, t0 + 2 * SEC, 0);
    CHECK_EQ(cc.cwnd, 7457);
}

static void test_cubic_restart_after_idle(void)
{
    struct cc cc;
    cubic_at_100(&cc);
    cc_enter_recovery(&cc, 100000, true);
    cc_exit_recovery(&cc, 70000);
    cc_on_ack(&cc, 1000, SEC, 0);
    CHECK(cc.u.cubic.epoch_us == SEC);
    CHECK(cc_after_idle(&cc, 3 * SEC, SEC));
    CHECK_EQ(cc.cwnd, 10000); /* the restart window */
    CHECK(cc.u.cubic.epoch_us == CC_NO_EPOCH); /* the next stage starts afresh */
    CHECK_EQ(cc.u.cubic.w_max, 100000);        /* W_max is kept */
}

static void test_struct_size(void)
{
    if (sizeof(void *) == 8)
        CHECK_EQ(sizeof(struct cc), 56); /* as cc.h states for LP64 */
}

int main(void)
{
    RUN(test_initial_window_rfc6928);
    RUN(test_ops_by_name);
    RUN(test_slow_start_per_ack);
    RUN(test_congestion_avoidance_one_smss_per_rtt);
    RUN(test_fast_recovery_entry);
    RUN(test_inflation_and_partial_ack_deflation);
    RUN(test_exit_recovery);
    RUN(test_rto_resets_to_one_segment);
    RUN(test_slow_start_after_rto_uses_l_one);
    RUN(test_restart_after_idle);
    RUN(test_windows_saturate);
    RUN(test_cbrt64);
    RUN(test_cubic_k_and_window);
    RUN(test_cubic_multiplicative_decrease);
    RUN(test_cubic_fast_convergence);
    RUN(test_cubic_growth_toward_w_max);
    RUN(test_cubic_target_looks_one_rtt_ahead);
    RUN(test_cubic_reno_friendly_region);
    RUN(test_cubic_timeout);
    RUN(test_cubic_restart_after_idle);
    RUN(test_struct_size);
    return check_summary();
}
