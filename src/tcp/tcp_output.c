/*
 * tcp_output.c: building and sending segments, and the send-side decision of what to
 * transmit. Also tcp_set_state(), the one function that changes a connection's state.
 *
 * Read first: RFC 9293 3.1 (header), 3.7.1 (MSS option), 3.8.6 (window management),
 * 3.10.4 (CLOSE: FIN after the queued data), RFC 6298 5.1 (start the timer on sending).
 *
 * Decisions:
 *  - Nothing but the SYN (or SYN-ACK) is sent until our SYN is acknowledged; data and FIN
 *    queued earlier go out then (RFC 9293 3.10.2: "queue for transmission after entering
 *    ESTABLISHED").
 *  - Data goes out as soon as it is queued and SND.WND allows (no Nagle yet), in segments of
 *    at most snd_mss bytes, never beyond SND.UNA + SND.WND. PSH is set on the segment that
 *    carries the last byte queued.
 *  - The FIN rides on the segment carrying the last byte, or goes alone once all data has
 *    been sent. It needs no room in the peer's window (it uses no buffer space there); a
 *    receiver that trims it gets it again from the retransmission timer.
 *  - The RST of ABORT and of the user timeout carries SEQ = snd_max, the highest SND.NXT
 *    ever reached (equal to SND.NXT except after a go-back retransmission), so that it lands
 *    at the peer's RCV.NXT when the peer has everything.
 */
#include <string.h>

#include "tcp/tcp_internal.h"

void tcp_set_state(struct tcp_conn *c, int new_state, uint64_t now_us)
{
    int old = c->state;
    if (old == new_state)
        return;
    c->state = (uint8_t)new_state;
    if (new_state == SYNACK_TIME_WAIT) {
        /* RFC 9293 3.10.7.4 eighth: start the time-wait timer, turn off the other timers. */
        c->tw_deadline = now_us + 2 * c->cfg->msl_us;
        c->rtx_deadline = TCP_NO_DEADLINE;
        c->ack_deadline = TCP_NO_DEADLINE;
        c->first_rtx_us = TCP_NO_DEADLINE;
    } else if (new_state == SYNACK_CLOSED || new_state == SYNACK_LISTEN) {
        c->tw_deadline = TCP_NO_DEADLINE;
        c->rtx_deadline = TCP_NO_DEADLINE;
        c->ack_deadline = TCP_NO_DEADLINE;
        c->first_rtx_us = TCP_NO_DEADLINE;
        c->ack_pending = false;
    }
    if (c->hooks && c->hooks->state_change)
        c->hooks->state_change(c->hooks->arg, c, old, new_state, now_us);
}

uint16_t tcp_announce_wnd(struct tcp_conn *c)
{
    uint32_t wnd = tcp_rcv_wnd(c);
    if (!tcp_have_rcv_nxt(c->state))
        return (uint16_t)wnd;
    /* RFC 9293 3.10.7.4 seventh: "The total of RCV.NXT and RCV.WND should not be reduced." */
    uint32_t edge = c->rcv_nxt + wnd;
    if (seq_gt(edge, c->rcv_adv))
        c->rcv_adv = edge;
    uint32_t adv = c->rcv_adv - c->rcv_nxt;
    return (uint16_t)tcp_min32(adv, TCP_MAX_WIN);
}

/* Hands one segment to the stack. data_len bytes of the send ring starting data_off bytes
 * after its head form the payload. */
static void emit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t data_off,
                 uint32_t data_len, bool retransmit)
{
    struct wire_tcp_out out;
    memset(&out, 0, sizeof out);
    out.seq = seq;
    out.flags = flags;
    if (flags & SYNACK_ACK) {
        out.ack = c->rcv_nxt;
        c->ack_pending = false; /* every ACK-bearing segment carries RCV.NXT */
    }
    out.wnd = (flags & SYNACK_RST) ? 0 : tcp_announce_wnd(c);
    if (flags & SYNACK_SYN) {
        /* RFC 9293 3.7.1: our MSS on SYNs. No window scale, timestamps or SACK yet. */
        out.opts.present = WIRE_OPT_MSS;
        out.opts.mss = c->cfg->mss;
    }
    if (data_len > 0)
        ring_slices(&c->snd, data_off, data_len, out.data, out.data_len);
    if (retransmit)
        c->retransmits++;
    if (c->hooks && c->hooks->output)
        c->hooks->output(c->hooks->arg, c, &out, retransmit);
}

void tcp_send_syn(struct tcp_conn *c, bool retransmit, uint64_t now_us)
{
    uint8_t flags = SYNACK_SYN;
    if (c->state != SYNACK_SYN_SENT)
        flags |= SYNACK_ACK; /* SYN-RECEIVED (or closing before the handshake ended) */
    if (!retransmit && !c->rtt_timing) {
        c->rtt_timing = true; /* RFC 6298 3: the SYN may be timed, unless sent again */
        c->rtt_seq = c->iss;
        c->rtt_start_us = now_us;
    }
    emit(c, c->iss, flags, 0, 0, retransmit);
    tcp_rtx_arm(c, now_us);
}

void tcp_send_ack(struct tcp_conn *c, uint64_t now_us)
{
    (void)now_us;
    emit(c, c->snd_nxt, SYNACK_ACK, 0, 0, false);
}

void tcp_send_rst(struct tcp_conn *c, uint32_t seq, uint64_t now_us)
{
    (void)now_us;
    struct wire_tcp_out out;
    memset(&out, 0, sizeof out);
    out.seq = seq;
    out.flags = SYNACK_RST;
    if (c->hooks && c->hooks->output)
        c->hooks->output(c->hooks->arg, c, &out, false);
}

/* Sends data_len bytes at SND.NXT (plus the FIN if fin) and advances SND.NXT over them. */
static void send_data(struct tcp_conn *c, uint32_t data_len, bool fin, uint64_t now_us)
{
    uint32_t seq = c->snd_nxt;
    uint32_t off = seq - tcp_snd_data_seq(c);
    bool retransmit = seq_lt(seq, c->snd_max);
    uint8_t flags = SYNACK_ACK;
    if (data_len > 0 && off + data_len == c->snd.len)
        flags |= SYNACK_PSH; /* the last byte queued: end of this burst */
    if (fin)
        flags |= SYNACK_FIN;
    if (!retransmit && !c->rtt_timing) {
        c->rtt_timing = true; /* RFC 6298 3: time only segments never sent before */
        c->rtt_seq = seq;
        c->rtt_start_us = now_us;
    }
    emit(c, seq, flags, off, data_len, retransmit);
    uint32_t end = seq + data_len + (fin ? 1u : 0u);
    if (fin) {
        c->fin_sent = true;
        c->fin_seq = seq + data_len;
    }
    c->snd_nxt = end;
    if (seq_gt(end, c->snd_max))
        c->snd_max = end;
    tcp_rtx_arm(c, now_us); /* RFC 6298 5.1 */
}

/* Data may be sent in this state: the handshake is done and our FIN is not acknowledged. */
static bool may_send_data(const struct tcp_conn *c)
{
    switch (c->state) {
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_CLOSING:
    case SYNACK_LAST_ACK:
        return tcp_syn_acked(c);
    default:
        return false;
    }
}

void tcp_output(struct tcp_conn *c, uint64_t now_us)
{
    if (may_send_data(c)) {
        uint32_t wnd_end = c->snd_una + c->snd_wnd; /* SND.UNA + SND.WND */
        for (;;) {
            uint32_t end = tcp_snd_data_end(c);
            if (seq_lt(c->snd_nxt, end)) {
                int32_t usable = seq_diff(wnd_end, c->snd_nxt);
                if (usable <= 0)
                    break; /* window full or zero: the timer probes (RFC 9293 3.8.6.1) */
                uint32_t avail = end - c->snd_nxt;
                uint32_t n = tcp_min32(tcp_min32(avail, (uint32_t)usable), c->snd_mss);
                send_data(c, n, c->fin_queued && n == avail, now_us);
            } else if (tcp_fin_due(c)) {
                send_data(c, 0, true, now_us); /* RFC 9293 3.10.4: FIN after the data */
            } else {
                break;
            }
        }
        /* Waiting for window with nothing outstanding: the timer must run to probe. */
        if (tcp_have_unsent(c))
            tcp_rtx_arm(c, now_us);
    }
    if (c->ack_pending && tcp_have_rcv_nxt(c->state))
        tcp_send_ack(c, now_us);
    c->ack_pending = false;
}

void tcp_output_rtx(struct tcp_conn *c, uint64_t now_us)
{
    c->snd_nxt = c->snd_una; /* go back: RFC 6298 5.4, the earliest unacknowledged first */
    uint32_t end = tcp_snd_data_end(c);
    if (seq_lt(c->snd_nxt, end)) {
        uint32_t avail = end - c->snd_nxt;
        uint32_t wnd = c->snd_wnd > 0 ? c->snd_wnd : 1; /* a zero window gets a 1-byte probe */
        uint32_t n = tcp_min32(tcp_min32(avail, wnd), c->snd_mss);
        send_data(c, n, c->fin_queued && n == avail, now_us);
    } else if (tcp_fin_due(c)) {
        send_data(c, 0, true, now_us);
    }
}
