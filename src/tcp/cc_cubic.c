/*
 * cc_cubic.c: CUBIC congestion control (RFC 9438), in integer arithmetic.
 *
 * Read first: RFC 9438 4.1 (definitions), 4.2 (the window growth function), 4.3 (the
 * Reno-friendly region), 4.4 - 4.5 (concave and convex regions), 4.6 (multiplicative
 * decrease), 4.7 (fast convergence), 4.8 (timeout), 4.10 (slow start: cc.c's).
 *
 * Units. The RFC counts windows in segments and time in seconds; here windows are bytes
 * (segments x SMSS) and the cubic function runs on milliseconds:
 *   K^3 = (W_max - cwnd_epoch) / C s^3, with C = 0.4 segments/s^3
 *       = diff_bytes / SMSS / 0.4 * 10^9 ms^3 = diff_bytes * 2.5e9 / SMSS ms^3
 *   C * (t - K)^3 = 0.4 * d^3 / 10^9 segments (d = t - K in ms)
 *                 = 4 * d^3 / 10^7 thousandths of a segment
 * With windows <= CC_CWND_MAX (2^30) and |d| <= 2^20 ms every product fits in 64 bits.
 * No floating point and no libm: the cube root is cc_cbrt64(), an exact integer root.
 *
 * Decisions:
 *  - ssthresh = FlightSize * beta_cubic (RFC 9438 4.6, the flight_size form): cwnd can then
 *    never stay larger than what was actually in flight.
 *  - W_est grows by alpha_cubic SMSS per cwnd bytes acknowledged (Figure 4 of RFC 9438 with
 *    segments_acked / cwnd counted in bytes, like RFC 5681 byte counting).
 *  - t is measured from the first ACK of the congestion avoidance stage; an idle period
 *    (cc_after_idle) ends the stage, so the next one starts afresh.
 *  - Not done: HyStart++ (slow start is RFC 5681's), the spurious congestion event undo of
 *    RFC 9438 4.9, and the application-limited rule of RFC 9438 5.8.
 */
#include "tcp/cc.h"

#define CUBIC_BETA_NUM 7        /* beta_cubic = 7/10 (RFC 9438 4.6) */
#define CUBIC_BETA_DEN 10
#define CUBIC_FC_NUM 17         /* (1 + beta_cubic) / 2 = 17/20, fast convergence (4.7) */
#define CUBIC_FC_DEN 20
#define CUBIC_ALPHA_NUM 9       /* alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17 (4.3) */
#define CUBIC_ALPHA_DEN 17
#define CUBIC_K3_PER_BYTE 2500000000ull /* K^3 in ms^3 per byte of W_max - cwnd_epoch, x SMSS */

uint32_t cc_cbrt64(uint64_t x)
{
    /* Digit-by-digit root in base 8: at each step y doubles, and gains 1 when the next
     * 3 bits of x allow it, (2y + 1)^3 - (2y)^3 = 3 * 2y * (2y + 1) + 1 being the cost. */
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y = 2 * y;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> s) >= b) {
            x -= b << s; /* b << s <= x: no bits are lost */
            y++;
        }
    }
    return (uint32_t)y;
}

int32_t cc_cubic_k_ms(uint32_t w_max, uint32_t cwnd_epoch, uint32_t smss)
{
    /* RFC 9438 Figure 2: K = cubic_root((W_max - cwnd_epoch) / C) */
    uint32_t diff = w_max >= cwnd_epoch ? w_max - cwnd_epoch : cwnd_epoch - w_max;
    uint64_t k3 = (uint64_t)diff * CUBIC_K3_PER_BYTE / (smss > 0 ? smss : 1);
    int32_t k = (int32_t)cc_cbrt64(k3);
    return w_max >= cwnd_epoch ? k : -k;
}

uint32_t cc_cubic_window(uint32_t w_max, int32_t k_ms, int64_t t_ms, uint32_t smss)
{
    /* RFC 9438 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max */
    int64_t d = t_ms - k_ms;
    if (d > CC_CUBIC_T_MAX_MS)
        d = CC_CUBIC_T_MAX_MS;
    if (d < -CC_CUBIC_T_MAX_MS)
        d = -CC_CUBIC_T_MAX_MS;
    int64_t milli = 4 * d * d * d / 10000000;               /* C (t - K)^3, 1/1000 segment */
    int64_t bytes = milli / 1000 * smss + milli % 1000 * (int64_t)smss / 1000;
    int64_t w = (int64_t)w_max + bytes;
    if (w < 0)
        return 0;
    return w > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)w;
}

static void cubic_init(struct cc *cc)
{
    struct cc_cubic *c = &cc->u.cubic;
    c->epoch_us = CC_NO_EPOCH;
    c->w_max = 0;
    c->cwnd_prior = 0;
    c->w_est = 0;
    c->est_acked = 0;
    c->cwnd_rem = 0;
    c->k_ms = 0;
}

/* RFC 9438 4.2: the first ACK of a congestion avoidance stage starts its clock. */
static void cubic_start_epoch(struct cc *cc, uint64_t now_us)
{
    struct cc_cubic *c = &cc->u.cubic;
    c->epoch_us = now_us;
    if (c->w_max == 0) {
        /* No reduction to come back from (the first stage, or the first after a timeout,
         * RFC 9438 4.8): W_max = cwnd_epoch, K = 0. */
        c->w_max = cc->cwnd;
        c->k_ms = 0;
    } else {
        c->k_ms = cc_cubic_k_ms(c->w_max, cc->cwnd, cc->smss);
    }
    c->w_est = cc->cwnd; /* RFC 9438 4.3: W_est = cwnd_epoch */
    c->est_acked = 0;
    c->cwnd_rem = 0;
}

static void cubic_cong_avoid(struct cc *cc, uint32_t acked, uint64_t now_us, uint64_t srtt_us)
{
    struct cc_cubic *c = &cc->u.cubic;
    if (c->epoch_us == CC_NO_EPOCH)
        cubic_start_epoch(cc, now_us);
    uint64_t elapsed_us = now_us > c->epoch_us ? now_us - c->epoch_us : 0;
    int64_t t_ms = (int64_t)(elapsed_us / 1000);
    int64_t t_rtt_ms = (int64_t)((elapsed_us + srtt_us) / 1000);

    /* RFC 9438 4.3: W_est += alpha_cubic * segments_acked / cwnd, alpha_cubic = 9/17 until
     * W_est reaches cwnd_prior, then 1. In bytes: W_est gains one SMSS per cwnd bytes of
     * alpha-weighted acknowledgments. */
    uint64_t weight = c->w_est >= c->cwnd_prior ? CUBIC_ALPHA_DEN : CUBIC_ALPHA_NUM;
    uint64_t counted = c->est_acked + (uint64_t)acked * weight / CUBIC_ALPHA_DEN;
    if (counted >= cc->cwnd) {
        uint64_t steps = counted / cc->cwnd;
        uint64_t w_est = c->w_est + steps * cc->smss;
        c->w_est = w_est > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)w_est;
        counted -= steps * cc->cwnd;
    }
    c->est_acked = (uint32_t)counted; /* < cwnd */

    uint32_t w_t = cc_cubic_window(c->w_max, c->k_ms, t_ms, cc->smss);
    if (w_t < c->w_est) {
        /* RFC 9438 4.3: the Reno-friendly region: cwnd = W_est. */
        if (c->w_est > cc->cwnd)
            cc->cwnd = c->w_est;
        return;
    }
    /* RFC 9438 4.4, 4.5: the concave and convex regions: cwnd += (target - cwnd) / cwnd
     * per acknowledged segment, target = W_cubic(t + RTT) within [cwnd, 1.5 cwnd]. */
    uint32_t target = cc_cubic_window(c->w_max, c->k_ms, t_rtt_ms, cc->smss);
    uint32_t high = cc->cwnd + cc->cwnd / 2;
    if (target < cc->cwnd)
        target = cc->cwnd;
    if (target > high)
        target = high;
    uint64_t num = (uint64_t)(target - cc->cwnd) * acked + c->cwnd_rem;
    uint64_t cwnd = cc->cwnd + num / cc->cwnd;
    c->cwnd_rem = (uint32_t)(num % cc->cwnd);
    cc->cwnd = cwnd > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)cwnd;
}

static uint32_t cubic_loss(struct cc *cc, uint32_t flight, bool rto)
{
    struct cc_cubic *c = &cc->u.cubic;
    /* RFC 9438 4.7 fast convergence: a reduction below the previous W_max means another
     * flow took bandwidth; release some: W_max = cwnd * (1 + beta_cubic) / 2. */
    if (cc->cwnd < c->w_max)
        c->w_max = (uint32_t)((uint64_t)cc->cwnd * CUBIC_FC_NUM / CUBIC_FC_DEN);
    else
        c->w_max = cc->cwnd;
    /* RFC 9438 4.6: cwnd_prior = cwnd; ssthresh = flight_size * beta_cubic (cc.c keeps
     * it >= 2 SMSS and sets cwnd). */
    c->cwnd_prior = cc->cwnd;
    c->epoch_us = CC_NO_EPOCH;
    /* RFC 9438 4.8: after a timeout, the next congestion avoidance stage uses K = 0 and
     * W_max = the cwnd it starts with. */
    if (rto)
        c->w_max = 0;
    return (uint32_t)((uint64_t)flight * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
}

static void cubic_restart(struct cc *cc)
{
    cc->u.cubic.epoch_us = CC_NO_EPOCH;
}

const struct cc_ops cc_cubic_ops = {
    .name = "cubic",
    .init = cubic_init,
    .cong_avoid = cubic_cong_avoid,
    .loss = cubic_loss,
    .restart = cubic_restart,
};
