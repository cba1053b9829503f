/*
 * cc_newreno.c: NewReno congestion control (RFC 5681, RFC 6582), synack's default. What it
 * adds to cc.c: congestion avoidance by byte counting, and the halving of the window at a
 * congestion event.
 *
 * Read first: RFC 5681 3.1 (congestion avoidance, equation 4), RFC 3465 2.1.
 */
#include "tcp/cc.h"

static void newreno_init(struct cc *cc)
{
    cc->u.newreno.bytes_acked = 0;
}

static void newreno_cong_avoid(struct cc *cc, uint32_t acked, uint64_t now_us,
                               uint64_t srtt_us)
{
    (void)now_us;
    (void)srtt_us;
    /* RFC 5681 3.1 (RFC 3465 2.1): count the bytes acknowledged; when they reach cwnd,
     * subtract cwnd and grow cwnd by SMSS: about one SMSS per round-trip time. */
    struct cc_newreno *nr = &cc->u.newreno;
    uint64_t counted = (uint64_t)nr->bytes_acked + acked;
    if (counted >= cc->cwnd) {
        counted -= cc->cwnd;
        cc->cwnd = cc->cwnd + cc->smss > CC_CWND_MAX ? CC_CWND_MAX : cc->cwnd + cc->smss;
    }
    /* At most one SMSS of growth per ACK: a stretch ACK's excess carries over, capped at
     * one window so that it cannot build up without bound. */
    nr->bytes_acked = counted > cc->cwnd ? cc->cwnd : (uint32_t)counted;
}

static uint32_t newreno_loss(struct cc *cc, uint32_t flight, bool rto)
{
    (void)rto;
    cc->u.newreno.bytes_acked = 0;
    /* RFC 5681 3.1 eq. 4 and 3.2 step 2: ssthresh = max (FlightSize / 2, 2*SMSS) (the
     * floor is applied by cc.c). */
    return flight / 2;
}

static void newreno_restart(struct cc *cc)
{
    cc->u.newreno.bytes_acked = 0;
}

const struct cc_ops cc_newreno_ops = {
    .name = "newreno",
    .init = newreno_init,
    .cong_avoid = newreno_cong_avoid,
    .loss = newreno_loss,
    .restart = newreno_restart,
};
