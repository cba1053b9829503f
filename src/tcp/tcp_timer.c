/*
 * tcp_timer.c: the retransmission timer and RTO (RFC 6298), the user timeout (RFC 9293 3.8.3
 * R2), TIME-WAIT expiry (RFC 9293 3.10.8), tcp_timer() and tcp_deadline().
 *
 * Read first: RFC 6298 2 (computing the RTO), 3 (Karn: no samples from retransmitted
 * segments), 5 (managing the timer), RFC 9293 3.8.1, 3.8.3, 3.8.6.1, 3.10.8.
 *
 * How the pieces fit:
 *  - rto_us is the current RTO, backoff included. A timeout doubles it up to rto_max_us
 *    (RFC 6298 5.5); an ACK of new data resets it to tcp_rto_base() (backoff ends).
 *  - One segment at a time is timed (rtt_timing/rtt_seq/rtt_start_us); a timeout cancels the
 *    measurement, and retransmitted segments are never timed (Karn, RFC 6298 3).
 *  - On expiry the oldest unacknowledged segment is sent again (go-back: SND.NXT <- SND.UNA;
 *    the rest follows as ACKs arrive). Before the handshake that is the SYN or SYN-ACK.
 *  - A zero window with nothing in flight is probed by the persist timer, not this one
 *    (RFC 9293 3.8.6.1): a 1-byte probe at intervals of the base RTO doubled per probe, up
 *    to rto_max. An ACK proves the peer alive and restarts the user-timeout clock
 *    (persist_since_us): a peer that keeps answering probes is never timed out; one that
 *    stops is, user_timeout_us after the first unanswered probe. The same timer sends what a
 *    too small window allows when SWS avoidance held it back (3.8.6.2.1 (4)).
 *  - Delayed ACK (RFC 9293 3.8.6.3, RFC 5681 4.2): ack_deadline, set by tcp_input.c.
 *  - Keep-alive (RFC 9293 3.8.4): after ka_idle_us without anything received on an idle
 *    connection, <SEQ=SND.NXT-1><ACK=RCV.NXT> every ka_intvl_us; ka_probes unanswered ones
 *    end the connection with SYNACK_ETIMEDOUT.
 *  - A timeout also tells congestion control (RFC 5681 3.1, cc_on_rto) and the SACK
 *    scoreboard (RFC 6675 5.1, sack_on_rto).
 *  - The user timeout counts from the first retransmission of the oldest unacknowledged
 *    segment (first_rtx_us); when user_timeout_us has passed without that segment being
 *    acknowledged the connection aborts with SYNACK_ETIMEDOUT (RST if synchronized).
 */
#include "tcp/tcp_internal.h"

uint64_t tcp_rto_base(const struct tcp_conn *c)
{
    const struct synack_config *cfg = c->cfg;
    uint64_t rto;
    if (c->rtt_valid) {
        /* RFC 6298 2.2/2.3: RTO <- SRTT + max (G, K*RTTVAR), K = 4 */
        rto = c->srtt_us + tcp_max64(TCP_CLOCK_G_US, 4 * c->rttvar_us);
    } else {
        rto = cfg->rto_initial_us; /* RFC 6298 2.1 */
        /* RFC 6298 5.7: a lost SYN and no sample since: 3 s once data transmission begins. */
        if (c->syn_rtx && tcp_syn_acked(c) && rto < TCP_RTO_SYN_LOST_US)
            rto = TCP_RTO_SYN_LOST_US;
    }
    rto = tcp_max64(rto, cfg->rto_min_us); /* RFC 6298 2.4 */
    return tcp_min64(rto, cfg->rto_max_us); /* RFC 6298 2.5 */
}

void tcp_rtt_sample(struct tcp_conn *c, uint64_t r_us)
{
    if (r_us > TCP_RTT_MAX_US)
        r_us = TCP_RTT_MAX_US;
    if (!c->rtt_valid) {
        /* RFC 6298 2.2: SRTT <- R, RTTVAR <- R/2 */
        c->srtt_us = r_us;
        c->rttvar_us = r_us / 2;
        c->rtt_valid = true;
    } else {
        /* RFC 6298 2.3, alpha = 1/8, beta = 1/4, RTTVAR first (it uses the old SRTT):
         *   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
         *   SRTT <- (1 - alpha) * SRTT + alpha * R' */
        uint64_t delta = c->srtt_us > r_us ? c->srtt_us - r_us : r_us - c->srtt_us;
        c->rttvar_us = (3 * c->rttvar_us + delta) / 4;
        c->srtt_us = (7 * c->srtt_us + r_us) / 8;
    }
    c->rto_us = tcp_rto_base(c);
}

void tcp_rtx_arm(struct tcp_conn *c, uint64_t now_us)
{
    if (c->rtx_deadline == TCP_NO_DEADLINE)
        c->rtx_deadline = now_us + c->rto_us;
}

void tcp_rtx_on_ack(struct tcp_conn *c, uint32_t ack, uint64_t now_us)
{
    if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
        c->rtt_timing = false;
        tcp_rtt_sample(c, now_us - c->rtt_start_us);
    }
    c->backoff = 0;
    c->rto_us = tcp_rto_base(c);
    c->first_rtx_us = TCP_NO_DEADLINE; /* the oldest data moved on: R2 starts afresh */
    c->dup_acks = 0;
    c->rtx_deadline = TCP_NO_DEADLINE;
    if (c->snd_una != c->snd_max)
        tcp_rtx_arm(c, now_us); /* RFC 6298 5.3; else 5.2: all acknowledged, timer off */
}

uint64_t tcp_persist_interval(const struct tcp_conn *c)
{
    uint64_t t = tcp_rto_base(c);
    uint64_t max = c->cfg->rto_max_us;
    for (uint8_t i = 0; i < c->persist_backoff && t < max; i++)
        t *= 2; /* exponential backoff, as for the RTO (RFC 6298 5.5) */
    return tcp_min64(t, max);
}

void tcp_keepalive_restart(struct tcp_conn *c, uint64_t now_us)
{
    c->ka_sent = 0;
    if (c->keepalive && c->ka_idle_us > 0 &&
        (c->state == SYNACK_ESTABLISHED || c->state == SYNACK_CLOSE_WAIT))
        c->ka_deadline = now_us + c->ka_idle_us;
    else
        c->ka_deadline = TCP_NO_DEADLINE;
}

/* start + user_timeout_us, or TCP_NO_DEADLINE when start is. */
static uint64_t user_deadline_from(const struct tcp_conn *c, uint64_t start)
{
    if (c->user_timeout_us == 0 || start == TCP_NO_DEADLINE)
        return TCP_NO_DEADLINE;
    if (start > TCP_NO_DEADLINE - 1 - c->user_timeout_us)
        return TCP_NO_DEADLINE - 1;
    return start + c->user_timeout_us;
}

/* The user timeout deadline, or TCP_NO_DEADLINE while it does not run. */
static uint64_t user_deadline(const struct tcp_conn *c)
{
    uint64_t d = TCP_NO_DEADLINE;
    if (c->rtx_deadline != TCP_NO_DEADLINE)
        d = user_deadline_from(c, c->first_rtx_us);
    if (c->persist_deadline != TCP_NO_DEADLINE)
        d = tcp_min64(d, user_deadline_from(c, c->persist_since_us));
    return d;
}

/* RFC 9293 3.10.8 USER TIMEOUT: flush, signal "connection aborted due to user timeout",
 * CLOSED. The peer gets a RST unless we are still in SYN-SENT (nothing to reset there). */
static void user_timeout(struct tcp_conn *c, uint64_t now_us)
{
    if (c->state != SYNACK_SYN_SENT)
        tcp_send_rst(c, c->snd_max, now_us);
    tcp_fail(c, SYNACK_ETIMEDOUT, now_us);
}

/* RFC 9293 3.10.8 RETRANSMISSION TIMEOUT and RFC 6298 5.4-5.6. */
static void retransmission_timeout(struct tcp_conn *c, uint64_t now_us)
{
    c->rtx_deadline = TCP_NO_DEADLINE;
    if (c->snd_una == c->snd_max && !tcp_have_unsent(c))
        return; /* nothing outstanding, nothing waiting for window */
    bool repeated = c->backoff > 0;
    if (c->backoff < UINT8_MAX)
        c->backoff++;
    uint64_t max = c->cfg->rto_max_us;
    c->rto_us = c->rto_us > max / 2 ? max : c->rto_us * 2; /* RFC 6298 5.5 */
    if (c->first_rtx_us == TCP_NO_DEADLINE)
        c->first_rtx_us = now_us;
    c->rtt_timing = false; /* RFC 6298 3 (Karn): what is being timed is now ambiguous */
    if (!tcp_syn_acked(c)) {
        c->syn_rtx = true;
        tcp_send_syn(c, true, now_us);
        return;
    }
    /* RFC 5681 3.1: ssthresh (first timeout of this data only) and cwnd = 1 SMSS; RFC 6675
     * 5.1: recovery ends, the scoreboard is cleared (RFC 2018 8). */
    cc_on_rto(&c->cc, c->snd_max - c->snd_una, repeated);
    sack_on_rto(&c->sack, c->snd_max);
    c->dup_acks = 0;
    tcp_output_rtx(c, now_us);
    tcp_rtx_arm(c, now_us); /* RFC 6298 5.6 */
}

/* RFC 9293 3.8.6.1: the persist timer expired. */
static void persist_timeout(struct tcp_conn *c, uint64_t now_us)
{
    c->persist_deadline = TCP_NO_DEADLINE;
    if (!c->persist)
        return;
    bool waiting = seq_lt(c->snd_una, tcp_snd_data_end(c));
    if (!waiting || (c->snd_una != c->snd_max && c->snd_wnd > 0)) {
        c->persist = false; /* data in flight: the retransmission timer covers it */
        return;
    }
    if (c->snd_wnd == 0 && c->persist_since_us == TCP_NO_DEADLINE)
        c->persist_since_us = now_us; /* the user timeout counts from the first probe */
    tcp_send_probe(c, now_us);
    if (c->snd_wnd > 0 && c->snd_una != c->snd_max) {
        c->persist = false; /* the SWS override sent data: the RTO timer runs now */
        return;
    }
    if (c->persist_backoff < UINT8_MAX)
        c->persist_backoff++;
    c->persist_deadline = now_us + tcp_persist_interval(c);
}

/* RFC 9293 3.8.4: the keep-alive timer expired. */
static void keepalive_timeout(struct tcp_conn *c, uint64_t now_us)
{
    c->ka_deadline = TCP_NO_DEADLINE;
    if (!c->keepalive || (c->state != SYNACK_ESTABLISHED && c->state != SYNACK_CLOSE_WAIT))
        return;
    if (c->snd_una != c->snd_max || c->persist) {
        /* Not idle: the retransmission or persist timer watches the peer. */
        c->ka_sent = 0;
        c->ka_deadline = now_us + c->ka_idle_us;
        return;
    }
    if (c->ka_sent > 0 && c->ka_sent >= c->ka_probes) {
        /* A dead peer: abort as for the user timeout (RST, ETIMEDOUT). */
        tcp_send_rst(c, c->snd_max, now_us);
        tcp_fail(c, SYNACK_ETIMEDOUT, now_us);
        return;
    }
    /* <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>, no data: an old sequence number the peer
     * must answer with an ACK (RFC 9293 3.8.4, 3.10.7.4 first). */
    tcp_send_keepalive(c, now_us);
    if (c->ka_sent < UINT8_MAX)
        c->ka_sent++;
    c->ka_deadline = now_us + (c->ka_intvl_us > 0 ? c->ka_intvl_us : 1);
}

void tcp_timer(struct tcp_conn *c, uint64_t now_us)
{
    /* RFC 9293 3.10.8 TIME-WAIT TIMEOUT */
    if (c->state == SYNACK_TIME_WAIT) {
        if (now_us >= c->tw_deadline)
            tcp_set_state(c, SYNACK_CLOSED, now_us);
        return;
    }
    if (now_us >= user_deadline(c)) {
        user_timeout(c, now_us);
        return;
    }
    if (now_us >= c->rtx_deadline)
        retransmission_timeout(c, now_us);
    if (now_us >= c->persist_deadline)
        persist_timeout(c, now_us);
    if (now_us >= c->ka_deadline)
        keepalive_timeout(c, now_us);
    if (c->state == SYNACK_CLOSED)
        return;
    if (now_us >= c->ack_deadline && tcp_have_rcv_nxt(c->state))
        tcp_send_ack(c, now_us); /* RFC 9293 3.8.6.3: the delayed ACK is due */
}

uint64_t tcp_deadline(const struct tcp_conn *c)
{
    if (c->state == SYNACK_TIME_WAIT)
        return c->tw_deadline;
    uint64_t d = c->rtx_deadline;
    d = tcp_min64(d, user_deadline(c));
    d = tcp_min64(d, c->ack_deadline);
    d = tcp_min64(d, c->persist_deadline);
    d = tcp_min64(d, c->ka_deadline);
    return d;
}
