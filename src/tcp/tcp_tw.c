/*
 * tcp_tw.c: compact TIME-WAIT (tcp.h).
 *
 * Read first: RFC 9293 3.10.7.4 (TIME-WAIT rows of each step), 3.10.8 (time-wait timeout),
 * RFC 7323 4.3 and 5 (TS.Recent, PAWS), RFC 5961 5 (ACK acceptability).
 *
 * In TIME-WAIT the engine reads (tcp_input.c, tcp_output.c, tcp_timer.c): RCV.NXT and the
 * receive window (sequence and RST checks, ACKs), the right edge announced, TS.Recent with
 * its age and Last.ACK.sent (PAWS), the rate limit of out-of-window answers, SND.UNA/NXT/MAX
 * and MAX.SND.WND (ACK check; the ACKs' SEQ), SND.WL1/WL2 (a window update can still raise
 * MAX.SND.WND), the scales, the ISS (timestamp clock) and the 2 x MSL deadline. The rest of
 * the TCB is fixed by being in TIME-WAIT: our FIN sent and acknowledged, the peer's FIN
 * received, no timers but TIME-WAIT's, no recovery, empty buffers (SHUT_RD and the options
 * only matter for data, which TIME-WAIT ignores). tcp_tw_save refuses any
 * TCB for which that is not so, and tcp_tw_load rebuilds exactly that TCB.
 */
#include <string.h>

#include "tcp/tcp_internal.h"

/* The two times a record keeps are read only as "less than TCP_OOW_ACK_GAP_US ago" and
 * "more than TCP_PAWS_IDLE_US ago", at times no earlier than deadline - 2 x MSL (when the
 * TIME-WAIT began or last restarted). So they are kept as 32-bit offsets from the deadline
 * (+-35 minutes, in us), or as a mark that the answer is the same at every such time. */
#define TCP_TW_OOW_NEVER INT32_MAX  /* rate limit cannot apply: as TCP_NO_DEADLINE */
#define TCP_TW_TS_ANCIENT INT32_MIN /* TS.Recent idle past the PAWS limit at every time */

#define TCP_TW_TS 1u   /* timestamps negotiated */
#define TCP_TW_SACK 2u /* SACK negotiated */
#define TCP_TW_WS 4u   /* window scaling negotiated */

/* The invariants of a TIME-WAIT TCB that a record does not store (see above). */
static bool tw_quiet(const struct tcp_conn *c)
{
    return c->state == SYNACK_TIME_WAIT && c->error == 0 && c->fin_sent && c->fin_received &&
           c->snd_una == c->snd_max && c->snd_nxt == c->snd_max &&
           c->fin_seq + 1 == c->snd_max && c->snd.len == 0 && c->rcv.len == 0 &&
           c->syn_data_len == 0 && reass_empty(&c->reass) && !c->ack_pending &&
           !c->syn_fin && c->last_ack_sent == c->rcv_nxt &&
           !tcp_in_recovery(c) && seq_gt(c->snd_una, c->iss);
}

/* The earliest time the record can be used at (see above). */
static uint64_t tw_begin(uint64_t deadline, const struct synack_config *cfg)
{
    return deadline - 2 * cfg->msl_us; /* deadline = start + 2 x MSL: no underflow */
}

/* t - deadline in *rel if it fits (excluding the two marks). */
static bool tw_offset(uint64_t t, uint64_t deadline, int32_t *rel)
{
    int64_t d = (int64_t)(t - deadline); /* two's complement: times are far below 2^63 */
    if (d <= INT32_MIN || d >= INT32_MAX)
        return false;
    *rel = (int32_t)d;
    return true;
}

static bool tw_save_times(const struct tcp_conn *c, struct tcp_tw *tw)
{
    uint64_t begin = tw_begin(c->tw_deadline, c->cfg);
    if (c->oow_ack_us == TCP_NO_DEADLINE || c->oow_ack_us + TCP_OOW_ACK_GAP_US <= begin)
        tw->oow_ack_rel = TCP_TW_OOW_NEVER;
    else if (!tw_offset(c->oow_ack_us, c->tw_deadline, &tw->oow_ack_rel))
        return false;
    if (!c->ts_ok)
        tw->ts_recent_rel = 0; /* never read without timestamps */
    else if (c->ts_recent_us + TCP_PAWS_IDLE_US < begin)
        tw->ts_recent_rel = TCP_TW_TS_ANCIENT;
    else if (!tw_offset(c->ts_recent_us, c->tw_deadline, &tw->ts_recent_rel))
        return false;
    return true;
}

bool tcp_tw_save(const struct tcp_conn *c, struct tcp_tw *tw)
{
    if (!tw_quiet(c) || c->cfg->msl_us > UINT64_MAX / 4 || c->tw_deadline == TCP_NO_DEADLINE)
        return false;
    memset(tw, 0, sizeof *tw);
    if (!tw_save_times(c, tw))
        return false;
    tw->deadline = c->tw_deadline;
    tw->iss = c->iss;
    tw->snd_max = c->snd_max;
    tw->snd_wl1 = c->snd_wl1;
    tw->snd_wl2 = c->snd_wl2;
    tw->max_snd_wnd = c->max_snd_wnd;
    tw->rcv_nxt = c->rcv_nxt;
    tw->rcv_adv = c->rcv_adv;
    tw->rcv_cap = c->rcv.cap;
    tw->ts_recent = c->ts_recent;
    tw->wscale = (uint8_t)(c->snd_wscale << 4 | c->rcv_wscale);
    tw->flags = (uint8_t)((c->ts_ok ? TCP_TW_TS : 0) | (c->sack_ok ? TCP_TW_SACK : 0) |
                          (c->ws_ok ? TCP_TW_WS : 0));
    return true;
}

void tcp_tw_load(struct tcp_conn *c, const struct tcp_hooks *hooks,
                 const struct synack_config *cfg, const struct tcp_tw *tw)
{
    tcp_init(c, hooks, cfg, NULL, 0, NULL, tw->rcv_cap);
    c->iss = tw->iss;
    tcp_reset_vars(c);
    c->state = SYNACK_TIME_WAIT;
    c->fin_queued = c->fin_sent = c->fin_received = true;
    c->snd_una = c->snd_nxt = c->snd_max = tw->snd_max;
    c->fin_seq = tw->snd_max - 1;
    c->snd_wl1 = tw->snd_wl1;
    c->snd_wl2 = tw->snd_wl2;
    c->max_snd_wnd = tw->max_snd_wnd;
    c->snd_wnd = tw->max_snd_wnd; /* read only for ACKs of outstanding data: there is none */
    c->rcv_nxt = c->last_ack_sent = tw->rcv_nxt;
    c->rcv_adv = tw->rcv_adv;
    c->snd_wscale = (uint8_t)(tw->wscale >> 4);
    c->rcv_wscale = (uint8_t)(tw->wscale & 0x0f);
    c->ts_ok = (tw->flags & TCP_TW_TS) != 0;
    c->sack_ok = (tw->flags & TCP_TW_SACK) != 0;
    c->ws_ok = (tw->flags & TCP_TW_WS) != 0;
    c->ts_recent = tw->ts_recent;
    uint64_t begin = tw_begin(tw->deadline, cfg);
    if (tw->ts_recent_rel == TCP_TW_TS_ANCIENT)
        c->ts_recent_us = begin - TCP_PAWS_IDLE_US - 1; /* stale at every time >= begin */
    else
        c->ts_recent_us = tw->deadline + (uint64_t)(int64_t)tw->ts_recent_rel;
    if (tw->oow_ack_rel == TCP_TW_OOW_NEVER)
        c->oow_ack_us = TCP_NO_DEADLINE;
    else
        c->oow_ack_us = tw->deadline + (uint64_t)(int64_t)tw->oow_ack_rel;
    c->tw_deadline = tw->deadline;
    sack_init(&c->sack, tw->snd_max);
}
