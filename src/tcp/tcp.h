/*
 * tcp.h: the protocol engine, one connection's state machine (RFC 9293 3.10), sans-I/O.
 *
 * Read first: RFC 9293 3.3.2 (states), 3.4 (sequence numbers), 3.5 (opening), 3.6
 * (closing), 3.10 (event processing), RFC 6298 (RTO), RFC 5961 (blind attacks).
 *
 * The engine does no I/O, reads no clock, allocates nothing and holds no global state:
 *   - time comes in as now_us on every call;
 *   - segments go out through hooks->output(), synchronously, during the call;
 *   - state changes go out through hooks->state_change(), from one function only;
 *   - timers are deadlines stored in the connection; tcp_deadline() says when to call
 *     tcp_timer() next.
 * Hooks MUST NOT free or re-enter the connection; a stack that wants to free a connection
 * after it reached CLOSED does so once the engine call has returned.
 */
#ifndef SYNACK_TCP_H
#define SYNACK_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "synack.h"
#include "tcp/cc.h"
#include "tcp/reass.h"
#include "tcp/ring.h"
#include "tcp/sack.h"
#include "wire/wire.h"

#define TCP_DEFAULT_MSS 536     /* MSS assumed when the peer sends none (RFC 9293 3.7.1) */
#define TCP_NO_DEADLINE UINT64_MAX

/* tcp_input() result beyond enum synack_drop_reason: the segment is a SYN that may open a
 * new incarnation of a connection in TIME-WAIT (RFC 9293 3.10.7.4, RFC 6191). The stack
 * should end this connection and hand the segment to the listener. */
#define TCP_INPUT_REOPEN 1000

struct tcp_conn;

struct tcp_hooks {
    void *arg;
    /* Transmit one segment. The engine fills seq, ack, flags, wnd, opts and data; the stack
     * fills addresses, ports, ttl and ip_id. Data pointers are valid during the call only. */
    void (*output)(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool retransmit);
    /* The connection went from old_state to new_state (enum synack_state). */
    void (*state_change)(void *arg, struct tcp_conn *c, int old_state, int new_state,
                         uint64_t now_us);
};

/* Transmission control block (RFC 9293 3.3.1). Fields are the engine's; the stack reads
 * only through the functions below. */
struct tcp_conn {
    const struct tcp_hooks *hooks;
    const struct synack_config *cfg;
    uint8_t state;             /* enum synack_state */
    bool passive;              /* opened by LISTEN: an acceptable RST in SYN-RECEIVED returns
                                  to LISTEN (RFC 9293 3.10.7.4) */
    bool fin_queued;           /* CLOSE called: send FIN after the queued data */
    bool fin_sent;             /* our FIN has been sent (occupies sequence number fin_seq) */
    bool fin_received;         /* peer's FIN processed: reads hit end-of-file after data */
    bool rd_shutdown;          /* SHUT_RD: incoming data is acknowledged and discarded */
    uint16_t snd_mss;          /* effective send MSS */
    int error;                 /* first error (negative SYNACK_E*), 0 if none */

    /* Send sequence space (RFC 9293 3.3.1, Figure 3). */
    uint32_t iss, snd_una, snd_nxt, snd_max;
    uint32_t snd_wnd;          /* peer's window, bytes (scaled) */
    uint32_t snd_wl1, snd_wl2; /* segment SEQ / ACK of the last window update */
    uint32_t fin_seq;          /* sequence number of our FIN when fin_sent */

    /* Receive sequence space (Figure 4). */
    uint32_t irs, rcv_nxt;
    uint32_t rcv_adv;          /* right edge of the window we announced (never shrinks) */
    uint32_t ts_recent;        /* RFC 7323 TS.Recent */

    /* Window scaling (RFC 7323 2): shift counts; 0 when not negotiated. */
    uint8_t snd_wscale, rcv_wscale;
    bool ws_ok, ts_ok, sack_ok; /* options negotiated */

    /* Buffers (caller-owned memory, attached on demand). The send ring holds bytes from
     * snd_una onward. */
    struct ring snd;
    struct ring rcv;

    /* Retransmission (RFC 6298). */
    uint64_t srtt_us, rttvar_us, rto_us;
    bool rtt_valid;            /* srtt/rttvar hold a measurement */
    bool rtt_timing;           /* a segment is being timed */
    uint8_t backoff;           /* consecutive RTO expirations */
    uint32_t rtt_seq;          /* ...the sample completes when this is acknowledged */
    uint64_t rtt_start_us;
    uint64_t first_rtx_us;     /* when the oldest unacknowledged data was first sent
                                  again; the user timeout counts from here.
                                  TCP_NO_DEADLINE when nothing is being retransmitted */
    uint64_t user_timeout_us;  /* R2 of RFC 9293 3.8.3; from cfg at tcp_init, 0 = never */
    uint64_t retransmits;      /* segments sent again */

    /* Timers: absolute deadlines, TCP_NO_DEADLINE when off. */
    uint64_t rtx_deadline;     /* retransmission timer */
    uint64_t tw_deadline;      /* TIME-WAIT 2 x MSL */
    uint64_t ack_deadline;     /* delayed ACK (RFC 9293 3.8.6.3) */

    /* Engine-private additions (read them only through the functions below). */
    bool syn_rtx;              /* our SYN or SYN-ACK was sent again: RFC 6298 5.7 applies */
    bool ack_pending;          /* an ACK is owed before the current engine call returns */
    bool persist;              /* the persist timer runs: unsent data waits for a window
                                  that is zero or too small (RFC 9293 3.8.6.1, 3.8.6.2.1) */
    bool syn_fin;              /* the peer's SYN carried FIN: processed at ESTABLISHED */
    uint32_t syn_data_len;     /* bytes that came with the peer's SYN, held in the receive
                                  ring at rcv_nxt until ESTABLISHED (RFC 9293 3.10.7.2) */
    uint32_t max_snd_wnd;      /* largest window the peer ever offered, bytes (RFC 5961 5) */
    uint32_t dup_acks;         /* consecutive duplicate ACKs (RFC 5681 2) */
    uint64_t oow_ack_us;       /* when we last answered an unacceptable segment without
                                  data, SYN or FIN; TCP_NO_DEADLINE for never */

    /* Issue 3: options, loss recovery, timers. */
    uint64_t ts_recent_us;     /* when TS.Recent was last set (RFC 7323 5.5 24-day rule), us */
    uint32_t last_ack_sent;    /* Last.ACK.sent (RFC 7323 4.3): RCV.NXT in our last ACK */
    uint16_t rcv_mss;          /* largest segment received so far ("full-sized"), bytes */
    bool nodelay;              /* Nagle off (SYNACK_OPT_NODELAY) */
    bool keepalive;            /* keep-alive probes on (SYNACK_OPT_KEEPALIVE) */
    uint8_t cc_algo;           /* enum synack_cc, used at establishment */
    uint8_t persist_backoff;   /* persist timer expirations since the window closed */
    uint8_t ka_sent;           /* keep-alive probes sent without answer */
    uint32_t ka_probes;        /* probes before giving up */
    uint64_t ka_idle_us, ka_intvl_us; /* keep-alive idle time and probe interval, us */
    uint64_t persist_deadline; /* persist timer (RFC 9293 3.8.6.1) */
    uint64_t persist_since_us; /* first unanswered zero-window probe (user timeout), or
                                  TCP_NO_DEADLINE */
    uint64_t ka_deadline;      /* keep-alive timer (RFC 9293 3.8.4) */
    uint64_t last_send_us;     /* when the last segment with data or FIN went out (RFC 5681
                                  4.1 restart after idle) */
    uint64_t fast_retransmits; /* loss recoveries entered (duplicate ACKs or SACK) */
    uint64_t sack_recoveries;  /* of which SACK-based */
    struct reass reass;        /* out-of-order ranges beyond RCV.NXT (RFC 9293 3.10.7.4) */
    struct sack_board sack;    /* SACK scoreboard and RFC 6675 / RFC 6582 recovery state */
    struct cc cc;              /* congestion control (RFC 5681) */
};

/* Sets up a connection in CLOSED with caller-owned buffers of sndcap / rcvcap bytes. The
 * storage may be NULL: see "Buffer storage on demand" below. Can't fail. */
void tcp_init(struct tcp_conn *c, const struct tcp_hooks *hooks,
              const struct synack_config *cfg, uint8_t *sndbuf, uint32_t sndcap,
              uint8_t *rcvbuf, uint32_t rcvcap);

/* Buffer storage on demand. A buffer's capacity is fixed at tcp_init; its storage need only
 * exist while it holds bytes. The receive window is the free space of a buffer of that
 * capacity (RFC 9293 3.8.6) whether storage is attached or not, so an idle connection
 * announces its full window and holds no buffer memory. The owner attaches storage before
 * it hands the engine bytes to hold (tcp_send; tcp_input with data) and takes it back when
 * tcp_buf_idle() says so. Without storage, tcp_send() returns SYNACK_ENOMEM and tcp_input()
 * drops a segment that carries data as SYNACK_DROP_NO_MEMORY, before any processing (the
 * peer sends it again). */
enum tcp_buf { TCP_BUF_SND, TCP_BUF_RCV };

/* Bytes of storage the buffer needs attached, or 0 when it has storage (or capacity 0). */
uint32_t tcp_buf_missing(const struct tcp_conn *c, enum tcp_buf which);

/* Attaches storage of tcp_buf_missing() bytes to a buffer that has none. */
void tcp_buf_attach(struct tcp_conn *c, enum tcp_buf which, uint8_t *storage);

/* The buffer has storage and holds nothing: no queued or unread bytes, and for the receive
 * buffer no out-of-order bytes or data that came with a SYN. */
bool tcp_buf_idle(const struct tcp_conn *c, enum tcp_buf which);

/* The receive buffer needs storage attached before tcp_input(c, seg): seg carries data and
 * c is in a state that keeps data (in TIME-WAIT and the other states after a FIN was
 * received, text is ignored and needs none). */
bool tcp_rcv_needs_storage(const struct tcp_conn *c, const struct wire_tcp *seg);

/* Detaches the buffer's storage (NULL if none) and returns it to the owner, with its size
 * in *size. Unless tcp_buf_idle() was true, what it held is lost: for a connection about to
 * be freed. */
uint8_t *tcp_buf_detach(struct tcp_conn *c, enum tcp_buf which, uint32_t *size);

/* OPEN, active (RFC 9293 3.10.1): CLOSED -> SYN-SENT, sends <SEQ=iss><CTL=SYN> with MSS.
 * Returns 0, or SYNACK_EISCONN / SYNACK_EINVAL in any state but CLOSED. */
int tcp_open_active(struct tcp_conn *c, uint32_t iss, uint64_t now_us);

/* OPEN, passive: CLOSED -> LISTEN; a SYN that arrives will be answered with ISS iss.
 * Returns 0 or SYNACK_EINVAL. */
int tcp_open_passive(struct tcp_conn *c, uint32_t iss, uint64_t now_us);

/* SEND (3.10.2). Returns bytes queued (> 0; 0 only for len 0), SYNACK_EAGAIN if the buffer is
 * full, SYNACK_ENOMEM if it has no storage, SYNACK_EPIPE after CLOSE, SYNACK_ENOTCONN in
 * CLOSED/LISTEN, or the sticky error. */
int tcp_send(struct tcp_conn *c, const void *buf, uint32_t len, uint64_t now_us);

/* RECEIVE (3.10.3). Returns bytes copied, 0 at end-of-file, SYNACK_EAGAIN, or the error. */
int tcp_recv(struct tcp_conn *c, void *buf, uint32_t len, uint64_t now_us);

/* CLOSE (3.10.4): "no more to send". Returns 0, or SYNACK_ENOTCONN when already closing. */
int tcp_close(struct tcp_conn *c, uint64_t now_us);

/* SHUT_RD: from now on received data is acknowledged and discarded. Can't fail. */
void tcp_shutdown_read(struct tcp_conn *c);

/* ABORT (3.10.5): RST if synchronized, everything dropped, -> CLOSED with
 * SYNACK_ECONNABORTED as error if none was set. Can't fail. */
void tcp_abort(struct tcp_conn *c, uint64_t now_us);

/* SEGMENT ARRIVES (3.10.7) for this connection (the stack has matched the 4-tuple, or this is
 * a LISTEN connection the stack created for the SYN). Returns 0 when the segment was
 * accepted, an enum synack_drop_reason when it was dropped or rejected, or
 * TCP_INPUT_REOPEN. */
int tcp_input(struct tcp_conn *c, const struct wire_tcp *seg, uint64_t now_us);

/* Timeouts (3.10.8): runs every timer due at now_us. */
void tcp_timer(struct tcp_conn *c, uint64_t now_us);

/* The earliest pending deadline, or TCP_NO_DEADLINE. */
uint64_t tcp_deadline(const struct tcp_conn *c);

/* The reset that answers seg when no connection exists (RFC 9293 3.10.7.1). Returns false
 * (nothing to send) when seg itself carries RST. Fills seq, ack, flags of out only. */
bool tcp_reset_for(const struct wire_tcp *seg, struct wire_tcp_out *out);

/* Compact TIME-WAIT. A connection in TIME-WAIT only acknowledges a retransmitted FIN,
 * answers or ignores stray segments, may be reopened by a new SYN and times out (RFC 9293
 * 3.10.7.4 TIME-WAIT, 3.10.8; RFC 7323 5 PAWS; RFC 5961; RFC 6191). struct tcp_tw holds
 * everything those rules read, so that a stack can keep it instead of the whole TCB (the
 * connection table's TIME-WAITs are most of its entries on a busy server) and, when a segment
 * arrives or the timer is due, load it into a scratch TCB, run the engine and save it back:
 * the engine behaves exactly as it would on the TCB the record was saved from. */
struct tcp_tw {
    uint64_t deadline;         /* tw_deadline: 2 x MSL */
    int32_t ts_recent_rel;     /* when TS.Recent was set (RFC 7323 5.5), us from deadline */
    int32_t oow_ack_rel;       /* last answer to an unacceptable bare segment, likewise */
    uint32_t iss;              /* our timestamp clock's offset (tcp_ts_now) */
    uint32_t snd_max;          /* SND.UNA = SND.NXT: all we sent, FIN included, is acked */
    uint32_t snd_wl1, snd_wl2; /* last window update (it may still move max_snd_wnd) */
    uint32_t max_snd_wnd;      /* RFC 5961 5 ACK acceptability */
    uint32_t rcv_nxt;          /* past the peer's FIN; also Last.ACK.sent */
    uint32_t rcv_adv;          /* right edge announced */
    uint32_t rcv_cap;          /* receive buffer size: RCV.WND (the buffer is empty) */
    uint32_t ts_recent;        /* RFC 7323 TS.Recent */
    uint8_t wscale;            /* snd_wscale << 4 | rcv_wscale */
    uint8_t flags;             /* TCP_TW_TS | TCP_TW_SACK | TCP_TW_WS */
};

/* Saves c into tw. Returns false (tw unset) unless c is in TIME-WAIT in the quiet form a
 * record can stand for: no error, nothing queued or held in the buffers, no ACK owed, and
 * its two times within 35 minutes of the deadline (or too old to matter any more). */
bool tcp_tw_save(const struct tcp_conn *c, struct tcp_tw *tw);

/* Makes c a TCB in TIME-WAIT equivalent to the one tw was saved from, without buffer
 * storage (none is needed in TIME-WAIT). No hook is called. */
void tcp_tw_load(struct tcp_conn *c, const struct tcp_hooks *hooks,
                 const struct synack_config *cfg, const struct tcp_tw *tw);

/* Per-connection settings (socket options). Each may be changed at any time; the engine
 * acts on the change at once (sends what Nagle held back, starts or stops keep-alive). */
struct tcp_sockopts {
    bool nodelay;              /* Nagle off (RFC 9293 3.7.4) */
    bool keepalive;            /* keep-alive probes (RFC 9293 3.8.4) */
    uint8_t congestion;        /* enum synack_cc; takes effect at establishment */
    uint32_t ka_probes;        /* unanswered probes before ETIMEDOUT (> 0) */
    uint64_t ka_idle_us;       /* idle time before the first probe, us (> 0) */
    uint64_t ka_intvl_us;      /* between unanswered probes, us (> 0) */
};

/* The settings a connection takes from the configuration (tcp_init uses them). */
void tcp_sockopts_default(const struct synack_config *cfg, struct tcp_sockopts *out);

/* Applies o to the connection at now_us. Can't fail. */
void tcp_set_sockopts(struct tcp_conn *c, const struct tcp_sockopts *o, uint64_t now_us);

/* Readiness and status. */
bool tcp_readable(const struct tcp_conn *c);   /* data or EOF or error for recv() */
bool tcp_writable(const struct tcp_conn *c);   /* send() would queue >= 1 byte */
void tcp_status(const struct tcp_conn *c, struct synack_status *out); /* not addresses */

#endif /* SYNACK_TCP_H */
