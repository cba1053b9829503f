/*
 * tcp_internal.h: helpers shared by the engine's files (tcp_user.c, tcp_input.c,
 * tcp_output.c, tcp_timer.c). Not for use outside src/tcp/.
 */
#ifndef SYNACK_TCP_INTERNAL_H
#define SYNACK_TCP_INTERNAL_H

#include "tcp/seq.h"
#include "tcp/tcp.h"

#define TCP_MAX_WIN 65535u           /* largest window without scaling (RFC 9293 3.1), bytes */
#define TCP_RTO_SYN_LOST_US 3000000u /* RTO after a lost SYN, no sample (RFC 6298 5.7), us */
#define TCP_CLOCK_G_US 1u            /* clock granularity G of RFC 6298 2, us */
#define TCP_RTT_MAX_US (1ull << 40)  /* RTT samples are clamped to this (~12 days), us */
#define TCP_MAX_WSCALE 14            /* largest window scale shift (RFC 7323 2.3) */
#define TCP_TS_TICK_US 1000u         /* timestamp clock tick: 1 ms (RFC 7323 5.4), us */
#define TCP_PAWS_IDLE_US (24ull * 24 * 3600 * 1000000) /* TS.Recent invalid after 24 days
                                                           idle (RFC 7323 5.5), us */
#define TCP_DELACK_MAX_US 500000u    /* an ACK is never delayed longer (RFC 9293 3.8.6.3) */

/* A step of RFC 9293 3.10.7 returns this to let processing go on to the next step;
 * anything else (>= 0) is the final tcp_input() result. */
#define TCP_STEP_CONTINUE (-1)

static inline uint32_t tcp_min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint64_t tcp_min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t tcp_max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Our SYN has been acknowledged (SND.UNA > ISS): data and FIN may flow. */
static inline bool tcp_syn_acked(const struct tcp_conn *c)
{
    return c->state != SYNACK_SYN_SENT && c->state != SYNACK_LISTEN &&
           c->state != SYNACK_CLOSED && seq_gt(c->snd_una, c->iss);
}

/* Sequence number of the first byte held in the send ring. */
static inline uint32_t tcp_snd_data_seq(const struct tcp_conn *c)
{
    return seq_gt(c->snd_una, c->iss) ? c->snd_una : c->iss + 1;
}

/* One past the sequence number of the last byte queued for sending. */
static inline uint32_t tcp_snd_data_end(const struct tcp_conn *c)
{
    return tcp_snd_data_seq(c) + c->snd.len;
}

/* The FIN is to be sent (again) next: CLOSE was called, SND.NXT has reached the end of the
 * queued data, and SND.NXT is not already past a FIN sent before. */
static inline bool tcp_fin_due(const struct tcp_conn *c)
{
    return c->fin_queued && c->snd_nxt == tcp_snd_data_end(c) &&
           !(c->fin_sent && seq_gt(c->snd_nxt, c->fin_seq));
}

/* Something queued has not been sent yet: data beyond SND.NXT, or the FIN. */
static inline bool tcp_have_unsent(const struct tcp_conn *c)
{
    return seq_lt(c->snd_nxt, tcp_snd_data_end(c)) || tcp_fin_due(c);
}

/* Our FIN has been sent and acknowledged. */
static inline bool tcp_fin_acked(const struct tcp_conn *c)
{
    return c->fin_sent && seq_gt(c->snd_una, c->fin_seq);
}

/* RCV.WND: what the peer may send beyond RCV.NXT now, bytes. Never less than what we
 * announced: rcv_nxt + free space never decreases (see tcp_announce_wnd). */
static inline uint32_t tcp_rcv_wnd(const struct tcp_conn *c)
{
    return tcp_min32(ring_free(&c->rcv), TCP_MAX_WIN << c->rcv_wscale); /* RFC 7323 2.3 */
}

/* Our timestamp clock (RFC 7323 5.4): ms ticks from now_us, offset per connection by the
 * ISS so that TSval does not reveal the host's clock (RFC 7323 7.1). */
static inline uint32_t tcp_ts_now(const struct tcp_conn *c, uint64_t now_us)
{
    return (uint32_t)(now_us / TCP_TS_TICK_US) + c->iss;
}

/* Loss recovery (RFC 6675 / RFC 6582) is under way. */
static inline bool tcp_in_recovery(const struct tcp_conn *c)
{
    return c->sack.in_recovery;
}

/* States in which RCV.NXT is known (a SYN has been received). */
static inline bool tcp_have_rcv_nxt(int state)
{
    return state >= SYNACK_SYN_RECEIVED;
}

#define TCP_OOW_ACK_GAP_US 500000u /* least time between two ACKs answering unacceptable
                                      segments without data, SYN or FIN, us */
#define TCP_TS_OPT_LEN 12u /* timestamps option with its two NOPs, bytes (RFC 7323 3.2) */

/* The most data one segment may carry now: snd_mss less the SACK blocks an ACK would carry
 * while out-of-order data is held (RFC 9293 3.7.1, RFC 6691, RFC 2018 3). Never 0. */
static inline uint32_t tcp_data_mss(const struct tcp_conn *c)
{
    uint32_t mss = c->snd_mss;
    if (c->sack_ok && !reass_empty(&c->reass)) {
        uint32_t blocks = tcp_min32(c->reass.count, c->ts_ok ? 3u : 4u);
        uint32_t opt = 4u + 8u * blocks; /* NOP, NOP, kind, length, blocks */
        mss = mss > opt ? mss - opt : 1u;
    }
    return mss;
}

/* ---- tcp_output.c ------------------------------------------------------------------------ */

/* THE function that changes c->state: enters new_state, sets or clears the timers that go
 * with it (TIME-WAIT starts 2 x MSL; CLOSED and TIME-WAIT stop the others) and calls
 * hooks->state_change. Entering the current state again does nothing. */
void tcp_set_state(struct tcp_conn *c, int new_state, uint64_t now_us);

/* The window field to announce now (scaled down by rcv_wscale unless syn); moves rcv_adv
 * right when the free space allows by enough (receiver SWS avoidance) and never left. */
uint16_t tcp_announce_wnd(struct tcp_conn *c, bool syn);

/* How far the right edge of the receive window would move if announced now, bytes (0 when
 * receiver SWS avoidance, RFC 9293 3.8.6.2.2, holds it). */
uint32_t tcp_rcv_edge_gain(const struct tcp_conn *c);

/* The shift we offer on our SYN for a receive buffer of cap bytes (RFC 7323 2.3): the
 * smallest that lets 65535 << shift cover the buffer, at most 14. */
uint8_t tcp_wscale_for(uint32_t cap);

/* Retransmits the bytes [seq, seq + len) of the send stream (plus our FIN if the range
 * reaches it) without moving SND.NXT; arms the retransmission timer. */
void tcp_send_range(struct tcp_conn *c, uint32_t seq, uint32_t len, uint64_t now_us);

/* Sends <SEQ=ISS><CTL=SYN> (SYN-SENT) or <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (otherwise), with
 * the MSS option; arms the retransmission timer. */
void tcp_send_syn(struct tcp_conn *c, bool retransmit, uint64_t now_us);

/* Sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and clears ack_pending. */
void tcp_send_ack(struct tcp_conn *c, uint64_t now_us);

/* Sends a keep-alive probe <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK> (RFC 9293 3.8.4). */
void tcp_send_keepalive(struct tcp_conn *c, uint64_t now_us);

/* Sends a reset <SEQ=seq><CTL=RST> (every reset the engine itself sends has this form;
 * <SEQ=0><ACK=...><CTL=RST,ACK> is tcp_reset_for's, for segments without a TCB). */
void tcp_send_rst(struct tcp_conn *c, uint32_t seq, uint64_t now_us);

/* The send-side decision: sends every data segment (and the FIN) that SND.WND and snd_mss
 * allow, keeps the retransmission timer running while anything is outstanding or waits for
 * window, then sends a still-pending ACK. Does nothing in states that send no data. */
void tcp_output(struct tcp_conn *c, uint64_t now_us);

/* Go-back retransmission (RFC 6298 5.4): SND.NXT <- SND.UNA, then sends one segment from
 * there: up to snd_mss bytes within the window, at least 1 byte even into a zero window (a
 * probe), or the FIN. */
void tcp_output_rtx(struct tcp_conn *c, uint64_t now_us);

/* The persist timer expired with data waiting: a zero window gets a 1-byte probe at SND.UNA
 * (RFC 9293 3.8.6.1), a small one what it allows (SWS override, 3.8.6.2.1). */
void tcp_send_probe(struct tcp_conn *c, uint64_t now_us);

/* ---- tcp_timer.c ------------------------------------------------------------------------- */

/* The RTO with no backoff: from SRTT/RTTVAR, else the initial (or 3 s, RFC 6298 5.7), within
 * [rto_min_us, rto_max_us]. */
uint64_t tcp_rto_base(const struct tcp_conn *c);

/* Feeds one RTT measurement r_us (RFC 6298 2.2, 2.3) and recomputes rto_us. */
void tcp_rtt_sample(struct tcp_conn *c, uint64_t r_us);

/* Starts the retransmission timer if it is not running (RFC 6298 5.1). */
void tcp_rtx_arm(struct tcp_conn *c, uint64_t now_us);

/* New data was acknowledged: ends backoff, takes the RTT sample if the timed segment is now
 * covered, and restarts or stops the retransmission timer (RFC 6298 5.2, 5.3). */
void tcp_rtx_on_ack(struct tcp_conn *c, uint32_t ack, uint64_t now_us);

/* The persist interval now: the base RTO doubled per persist_backoff, at most rto_max. */
uint64_t tcp_persist_interval(const struct tcp_conn *c);

/* Restarts the keep-alive timer from now (something arrived): RFC 9293 3.8.4. */
void tcp_keepalive_restart(struct tcp_conn *c, uint64_t now_us);

/* ---- tcp_user.c -------------------------------------------------------------------------- */

/* Protocol variables of a fresh connection with ISS c->iss: SND.UNA = SND.NXT = ISS, no
 * receive state, no timers, initial RTO. Buffers, configuration, state and error are kept. */
void tcp_reset_vars(struct tcp_conn *c);

/* A CLOSE issued in SYN-SENT with data queued (c->fin_queued) takes effect now that the
 * connection left SYN-SENT: SYN-RECEIVED or ESTABLISHED -> FIN-WAIT-1 (RFC 9293 3.10.4). */
void tcp_close_deferred(struct tcp_conn *c, uint64_t now_us);

/* Ends the connection: err (if non-zero and no error is set yet) becomes the sticky error,
 * queued sends are discarded, received data stays readable, -> CLOSED. */
void tcp_fail(struct tcp_conn *c, int err, uint64_t now_us);

#endif /* SYNACK_TCP_INTERNAL_H */
