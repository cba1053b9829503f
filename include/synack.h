/*
 * synack.h: the public API of synack, a user-space TCP/IP stack (RFC 9293).
 *
 * Model (see ../shared/DESIGN.md): one stack is one IPv4 host. It is single-threaded and
 * event-driven. The caller owns the clock and the link:
 *   - hand every received IPv4 packet to synack_stack_input(),
 *   - call synack_stack_poll() at (or after) the deadline it returned last,
 *   - transmit what the stack gives to the link's send function.
 * Socket calls are non-blocking and identified by small integer descriptors, so a stale or
 * bogus descriptor is an error (SYNACK_EBADF), never a crash. The time used by socket calls
 * is the latest time given to synack_stack_input() or synack_stack_poll().
 *
 * Return convention: every int-returning call returns >= 0 on success and a negative
 * SYNACK_E* code on failure. The codes mirror the errno names (Linux values).
 */
#ifndef SYNACK_H
#define SYNACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors --------------------------------------------------------------------------- */

#define SYNACK_OK 0
#define SYNACK_EPIPE (-32)         /* send after this side shut down writing */
#define SYNACK_EBADF (-9)          /* not an open descriptor of this stack */
#define SYNACK_EAGAIN (-11)        /* would block: try again after the next event */
#define SYNACK_ENOMEM (-12)        /* allocation failed */
#define SYNACK_EINVAL (-22)        /* bad argument, or call not valid in this state */
#define SYNACK_EMFILE (-24)        /* descriptor table full */
#define SYNACK_EOPNOTSUPP (-95)    /* operation not supported on this kind of socket */
#define SYNACK_EADDRINUSE (-98)    /* local address/port already bound */
#define SYNACK_EADDRNOTAVAIL (-99) /* address is not this stack's, or no ephemeral port free */
#define SYNACK_ECONNABORTED (-103) /* connection aborted locally (synack_abort) */
#define SYNACK_ECONNRESET (-104)   /* connection reset by the peer */
#define SYNACK_ENOBUFS (-105)      /* no buffer space */
#define SYNACK_EISCONN (-106)      /* already connected */
#define SYNACK_ENOTCONN (-107)     /* not connected */
#define SYNACK_ETIMEDOUT (-110)    /* user timeout expired (RFC 9293 3.8.3, R2) */
#define SYNACK_ECONNREFUSED (-111) /* RST in answer to our SYN */
#define SYNACK_EALREADY (-114)     /* connect already in progress */
#define SYNACK_EINPROGRESS (-115)  /* connect started; completion is signalled by readiness */

/* Name and one-line description of an error code ("ECONNRESET: connection reset by peer"). */
const char *synack_strerror(int err);

/* ---- Addresses, states ---------------------------------------------------------------- */

/* An IPv4 endpoint. Both fields are in host byte order. ip 0 means "any" where allowed. */
struct synack_addr {
    uint32_t ip;
    uint16_t port;
};

/* Connection states of RFC 9293 3.3.2, in the order of Figure 5. */
enum synack_state {
    SYNACK_CLOSED = 0,
    SYNACK_LISTEN,
    SYNACK_SYN_SENT,
    SYNACK_SYN_RECEIVED,
    SYNACK_ESTABLISHED,
    SYNACK_FIN_WAIT_1,
    SYNACK_FIN_WAIT_2,
    SYNACK_CLOSE_WAIT,
    SYNACK_CLOSING,
    SYNACK_LAST_ACK,
    SYNACK_TIME_WAIT,
};
#define SYNACK_STATE_COUNT 11

/* "SYN-SENT", "TIME-WAIT", ... as RFC 9293 writes them; "?" for an invalid value. */
const char *synack_state_name(int state);

/* TCP header flags (RFC 9293 3.1), as they appear in synack_event.flags. */
#define SYNACK_FIN 0x01
#define SYNACK_SYN 0x02
#define SYNACK_RST 0x04
#define SYNACK_PSH 0x08
#define SYNACK_ACK 0x10
#define SYNACK_URG 0x20
#define SYNACK_ECE 0x40
#define SYNACK_CWR 0x80

/* ---- Configuration -------------------------------------------------------------------- */

/* Stack configuration. Fill with synack_config_default(), then change what you need. */
struct synack_config {
    uint32_t ip;               /* this host's IPv4 address, host order (no default) */
    uint64_t msl_us;           /* maximum segment lifetime; TIME-WAIT lasts 2 x MSL.
                                  Default 120 s (RFC 9293 3.4.2) */
    uint32_t sndbuf;           /* send buffer bytes per connection; default 65536 */
    uint32_t rcvbuf;           /* receive buffer bytes per connection; default 65536 */
    uint16_t mss;              /* MSS announced on our SYNs; default 1460 (MTU 1500) */
    uint64_t rto_initial_us;   /* RTO before any RTT sample; default 1 s (RFC 6298 2.1) */
    uint64_t rto_min_us;       /* lower bound of the RTO; default 1 s (RFC 6298 2.4) */
    uint64_t rto_max_us;       /* upper bound of the RTO after backoff; default 60 s */
    uint64_t user_timeout_us;  /* give up (ETIMEDOUT) after retransmitting this long without
                                  progress (RFC 9293 3.8.3 R2); default 300 s */
    uint32_t max_sockets;      /* descriptor table size; default 65536 */
    uint32_t max_connections;  /* connection table limit (incl. TIME-WAIT); default 1<<20 */
    uint32_t max_backlog;      /* cap on a listener's backlog argument; default 4096 */
    uint16_t ephemeral_lo;     /* ephemeral port range (RFC 6335); default 49152 */
    uint16_t ephemeral_hi;     /* default 65535 */
    uint8_t ttl;               /* IPv4 TTL on our packets; default 64 */
    uint8_t isn_key[16];       /* secret key of the RFC 6528 ISN generator. Default all zero:
                                  set it from a random source (the tools do) or fix it to make
                                  runs reproducible */
    /* ---- Performance and loss recovery (issue 3); per-socket options override some ---- */
    bool window_scaling;       /* offer window scaling on SYNs (RFC 7323 2); default true */
    bool timestamps;           /* offer timestamps on SYNs (RFC 7323 3); default true */
    bool sack;                 /* offer SACK-permitted on SYNs (RFC 2018); default true */
    uint64_t delack_us;        /* delayed ACK timeout (RFC 9293 3.8.6.3, capped at 500 ms);
                                  0 acknowledges every segment at once. Default 0: at
                                  40 ms the last segment of each flight waits for the
                                  timer (no quick-ACK heuristics yet), which cost a
                                  quarter of the clean-link goodput in tests/netsim.tsv;
                                  bulk transfers with large windows gain from 40000 */
    bool nodelay;              /* default of SYNACK_OPT_NODELAY (Nagle off); default false */
    uint8_t congestion;        /* default of SYNACK_OPT_CONGESTION (enum synack_cc);
                                  default SYNACK_CC_NEWRENO */
    bool keepalive;            /* default of SYNACK_OPT_KEEPALIVE; default false */
    uint64_t keepalive_idle_us;  /* idle time before the first keep-alive probe (RFC 9293
                                    3.8.4: at least 2 hours); default 7200 s */
    uint64_t keepalive_intvl_us; /* between unanswered probes; default 75 s */
    uint32_t keepalive_probes;   /* unanswered probes before ETIMEDOUT; default 9 */
    /* ---- Offloads (issue 6): what the link does for the stack ---- */
    uint32_t tso_max;          /* segmentation offload: new data goes out in segments of up to
                                  this many payload bytes (whole multiples of the MSS), which
                                  the link cuts into MSS-sized segments on the wire, as a NIC
                                  with TSO does. Needs a link with send_tso; retransmissions
                                  stay MSS-sized. Capped at what one IPv4 packet holds.
                                  Default 0: off, every segment fits the MSS */
};

/* Congestion control algorithms (SYNACK_OPT_CONGESTION, synack_config.congestion). */
enum synack_cc {
    SYNACK_CC_NEWRENO = 0,     /* RFC 5681 + RFC 6582 (the default) */
    SYNACK_CC_CUBIC = 1,       /* RFC 9438 */
};

/* Fills *cfg with the documented defaults. Can't fail. */
void synack_config_default(struct synack_config *cfg);

/* ---- Trace events --------------------------------------------------------------------- */

/* What a trace event reports. */
enum synack_event_kind {
    SYNACK_EV_SEG_OUT = 1, /* a segment was handed to the link (state = sender's state after) */
    SYNACK_EV_SEG_IN,      /* a segment was processed (state = receiver's state after;
                              reason != 0 when it was dropped or rejected) */
    SYNACK_EV_STATE,       /* a connection changed state: old_state -> state */
    SYNACK_EV_DROP,        /* a packet was dropped before reaching a connection (reason) */
    SYNACK_EV_LINK,        /* emitted by a link (memnet): see link_action */
};

/* Why a packet or segment was dropped or rejected; also the index into synack_stats.drops. */
enum synack_drop_reason {
    SYNACK_DROP_NONE = 0,
    SYNACK_DROP_IP_TRUNCATED,    /* shorter than an IPv4 header or its total length */
    SYNACK_DROP_IP_VERSION,      /* version is not 4 */
    SYNACK_DROP_IP_HEADER,       /* IHL < 5 or past the packet */
    SYNACK_DROP_IP_CHECKSUM,     /* IPv4 header checksum wrong */
    SYNACK_DROP_IP_FRAGMENT,     /* fragments are not reassembled */
    SYNACK_DROP_IP_PROTOCOL,     /* not TCP */
    SYNACK_DROP_IP_NOT_FOR_US,   /* destination is not this host */
    SYNACK_DROP_TCP_TRUNCATED,   /* shorter than a TCP header */
    SYNACK_DROP_TCP_OFFSET,      /* data offset < 5 or past the segment */
    SYNACK_DROP_TCP_OPTIONS,     /* malformed option list */
    SYNACK_DROP_TCP_CHECKSUM,    /* TCP checksum wrong */
    SYNACK_DROP_TCP_BAD_PORT,    /* source or destination port 0 */
    SYNACK_DROP_BACKLOG_FULL,    /* SYN to a listener whose queues are full */
    SYNACK_DROP_NO_MEMORY,       /* no memory or connection slot for a new connection, or
                                    no memory for the receive buffer data needs */
    SYNACK_DROP_NO_SOCKET,       /* no connection or listener (answered with RST if allowed) */
    SYNACK_DROP_SEQ_UNACCEPTABLE,/* RFC 9293 3.10.7.4 first check failed (ACK sent) */
    SYNACK_DROP_ACK_UNACCEPTABLE,/* ACK of nothing we sent, or too old */
    SYNACK_DROP_RST_IGNORED,     /* RST not acceptable (RFC 9293 3.10.7.4 second check) */
    SYNACK_DROP_RST_CHALLENGED,  /* RST in window but not exact: challenge ACK (RFC 5961 3) */
    SYNACK_DROP_SYN_CHALLENGED,  /* SYN in a synchronized state: challenge ACK (RFC 5961 4) */
    SYNACK_DROP_NO_ACK,          /* segment without ACK in a synchronized state */
    SYNACK_DROP_BAD_SEGMENT,     /* any other segment that the state rules discard */
    SYNACK_DROP_REASON_COUNT
};

/* Short name of a drop reason ("tcp-checksum"). */
const char *synack_drop_name(int reason);

/* What a link did to a packet (SYNACK_EV_LINK). */
enum synack_link_action {
    SYNACK_LINK_LOST = 1,  /* dropped by fault injection */
    SYNACK_LINK_DUPLICATED,
    SYNACK_LINK_CORRUPTED,
    SYNACK_LINK_DELAYED,   /* held back to be reordered */
};

/* One trace event. Segment fields describe the TCP segment; "local" is the reporting stack's
 * end (for SEG_OUT the sender, for SEG_IN the receiver). For SYNACK_EV_LINK, local is the
 * sender and remote the receiver. */
struct synack_event {
    uint64_t time_us;          /* virtual or real time of the event */
    int kind;                  /* enum synack_event_kind */
    struct synack_addr local;  /* this end */
    struct synack_addr remote; /* the other end */
    uint32_t seq, ack;         /* segment SEQ and ACK fields */
    uint32_t wnd;              /* window field, unscaled as on the wire */
    uint32_t len;              /* payload bytes (SYN and FIN not counted) */
    uint8_t flags;             /* SYNACK_SYN | ... */
    uint16_t mss;              /* MSS option, 0 if absent */
    int8_t wscale;             /* window scale option, -1 if absent */
    bool sack_permitted;       /* SACK-permitted option present */
    bool has_ts;               /* timestamps option present */
    uint32_t ts_val, ts_ecr;   /* timestamps option values */
    bool retransmit;           /* SEG_OUT: this is a retransmission */
    int old_state;             /* STATE: the state left */
    int state;                 /* STATE: the new state; SEG_*: state after the segment */
    int reason;                /* SEG_IN, DROP: enum synack_drop_reason (0 = accepted) */
    int link_action;           /* LINK: enum synack_link_action */
    const void *ctx;           /* opaque identity of the connection (NULL if none) */
};

typedef void (*synack_observer_fn)(void *arg, const struct synack_event *ev);

/* ---- The stack ------------------------------------------------------------------------ */

struct synack_stack;

/* The link the stack transmits on. send() gets one whole IPv4 packet; the buffer is only
 * valid during the call. A link that queues packets may also offer buffer(): it returns room
 * for the next packet of exactly len bytes, which the stack writes the packet into and then
 * passes to send() (the same pointer), so the link keeps it without a copy; NULL (or no
 * buffer function) makes the stack use its own buffer. */
struct synack_link {
    void *arg;
    void (*send)(void *arg, const uint8_t *packet, size_t len);
    uint8_t *(*buffer)(void *arg, size_t len); /* optional, may be NULL */
    /* Segmentation offload (synack_config.tso_max), or NULL: gets the packets whose TCP
     * payload is larger than seg_size bytes and must put them on the wire as consecutive
     * segments of seg_size payload bytes (the last one shorter), each with the packet's
     * TCP header and options, SEQ advanced, and PSH and FIN on the last one only. Its TCP
     * checksum is partial (checksum offload): the field holds the pseudo-header sum of the
     * whole packet, not complemented, and the link completes each segment's, as TSO
     * hardware does. The buffer is the link's to change during the call. */
    void (*send_tso)(void *arg, uint8_t *packet, size_t len, uint32_t seg_size);
};

/* Creates a stack. Returns NULL if cfg or link is invalid (NULL, ip 0, no send function,
 * ephemeral_lo > ephemeral_hi, mss < 64, zero buffers or table sizes, tso_max without
 * send_tso) or memory runs out. */
struct synack_stack *synack_stack_new(const struct synack_config *cfg,
                                      const struct synack_link *link);

/* Frees the stack and everything in it, without sending anything. NULL is allowed. */
void synack_stack_free(struct synack_stack *s);

/* A packet arrived from the link. Malformed packets are counted and dropped. */
void synack_stack_input(struct synack_stack *s, const uint8_t *packet, size_t len,
                        uint64_t now_us);

/* What a link knows about a packet it hands to synack_stack_input_flags(). */
#define SYNACK_INPUT_CSUM_OK 0x1 /* checksum offload: the link vouches for the TCP checksum
                                    (a NIC verified it, or the packet comes from the local
                                    kernel, which leaves it to the device to fill in), so the
                                    stack does not verify it */

/* synack_stack_input() with SYNACK_INPUT_* flags (0: the same as synack_stack_input()). */
void synack_stack_input_flags(struct synack_stack *s, const uint8_t *packet, size_t len,
                              uint64_t now_us, unsigned flags);

/* Runs every timer due at now_us. Returns the next deadline (absolute, microseconds), or
 * UINT64_MAX when no timer is pending. */
uint64_t synack_stack_poll(struct synack_stack *s, uint64_t now_us);

/* The deadline synack_stack_poll() would return now, without running anything. */
uint64_t synack_stack_next_deadline(const struct synack_stack *s);

/* Registers the observer that receives every trace event of this stack (NULL to remove). */
void synack_stack_set_observer(struct synack_stack *s, synack_observer_fn fn, void *arg);

/* Counters. */
struct synack_stats {
    uint64_t ip_in, ip_out;          /* packets received / sent */
    uint64_t seg_in, seg_out;        /* TCP segments received (valid) / sent */
    uint64_t retransmits;            /* segments sent again */
    uint64_t rst_out;                /* resets sent */
    uint64_t conn_active;            /* active opens started */
    uint64_t conn_passive;           /* connections created from a listener */
    uint64_t conn_established;       /* connections that reached ESTABLISHED */
    uint64_t conn_reset;             /* connections ended by a reset from the peer */
    uint64_t conn_timeout;           /* connections ended by the user timeout */
    uint64_t conn_current;           /* connections in the table now (incl. TIME-WAIT) */
    uint64_t time_wait_current;      /* of which in TIME-WAIT */
    uint64_t sockets_current;        /* open descriptors */
    uint64_t buffers_current;        /* send/receive buffers with memory now: a buffer gets
                                        memory when it first has bytes to hold and gives it
                                        back when empty again */
    uint64_t buffer_bytes;           /* bytes of memory those buffers hold */
    uint64_t drops[SYNACK_DROP_REASON_COUNT]; /* per enum synack_drop_reason */
};
void synack_stack_stats(const struct synack_stack *s, struct synack_stats *out);

/* ---- Sockets -------------------------------------------------------------------------- */

/* Readiness bits (kept apart from the RFC state). */
#define SYNACK_READABLE 0x01   /* recv() would return data or end-of-file */
#define SYNACK_WRITABLE 0x02   /* send() would accept at least one byte */
#define SYNACK_ACCEPTABLE 0x04 /* accept() would return a connection */
#define SYNACK_CONNECTED 0x08  /* the connection reached ESTABLISHED (stays set after) */
#define SYNACK_TERMINATED 0x10 /* the connection is gone: it reached CLOSED */
#define SYNACK_ERROR 0x20      /* a sticky error is set; read it with synack_error() */

/* shutdown() directions */
#define SYNACK_SHUT_RD 0
#define SYNACK_SHUT_WR 1
#define SYNACK_SHUT_RDWR 2

/* Per-socket options (synack_setopt). */
enum synack_option {
    SYNACK_OPT_ISS = 1,        /* fix the initial send sequence number of the next SYN or
                                  SYN-ACK this socket (or listener's children) sends. For
                                  tests and demonstrations only: RFC 6528 ISNs are the default */
    SYNACK_OPT_SNDBUF,         /* send buffer size, before connect/listen */
    SYNACK_OPT_RCVBUF,         /* receive buffer size, before connect/listen */
    SYNACK_OPT_USER_TIMEOUT,   /* user timeout in microseconds (RFC 9293 3.8.3) */
    SYNACK_OPT_NODELAY,        /* 1: Nagle's algorithm off (RFC 9293 3.7.4); any time */
    SYNACK_OPT_CONGESTION,     /* enum synack_cc; before connect/listen */
    SYNACK_OPT_KEEPALIVE,      /* 1: keep-alive probes on (RFC 9293 3.8.4); any time */
    SYNACK_OPT_KEEPIDLE,       /* keep-alive idle time, microseconds (> 0) */
    SYNACK_OPT_KEEPINTVL,      /* keep-alive probe interval, microseconds (> 0) */
    SYNACK_OPT_KEEPCNT,        /* unanswered keep-alive probes before ETIMEDOUT (> 0) */
};

/* Creates a TCP socket. Returns a descriptor >= 0, or SYNACK_EMFILE / SYNACK_EINVAL. */
int synack_socket(struct synack_stack *s);

/* Binds to a local address; ip 0 or the stack's ip, port 0 picks an ephemeral port.
 * SYNACK_EADDRINUSE if another socket holds the port, SYNACK_EINVAL if already bound. */
int synack_bind(struct synack_stack *s, int fd, const struct synack_addr *addr);

/* Starts listening (RFC 9293 3.10.1 passive OPEN). backlog bounds both the queue of
 * half-open connections and the queue of established ones waiting for accept; it is
 * clamped to [1, max_backlog]. An unbound socket gets an ephemeral port. */
int synack_listen(struct synack_stack *s, int fd, int backlog);

/* Takes an established connection off a listener's accept queue. Returns its new descriptor,
 * or SYNACK_EAGAIN if none is waiting. peer may be NULL. */
int synack_accept(struct synack_stack *s, int fd, struct synack_addr *peer);

/* Active OPEN (RFC 9293 3.10.1): sends a SYN and returns SYNACK_EINPROGRESS; the connection
 * becomes SYNACK_CONNECTED or gets an error (ECONNREFUSED, ETIMEDOUT, ECONNRESET). */
int synack_connect(struct synack_stack *s, int fd, const struct synack_addr *peer);

/* SEND (RFC 9293 3.10.2): queues up to len bytes. Returns the number queued (> 0),
 * SYNACK_EAGAIN if the send buffer is full, SYNACK_ENOMEM if the send buffer, which gets
 * its memory when it first has bytes to hold, could not get it (try again later),
 * SYNACK_EPIPE after shutdown(WR) or close, or the connection's error. Data may be queued
 * already in SYN-SENT and SYN-RECEIVED. */
int synack_send(struct synack_stack *s, int fd, const void *buf, size_t len);

/* RECEIVE (RFC 9293 3.10.3): copies up to len bytes. Returns the count (> 0), 0 at
 * end-of-file (the peer's FIN has been reached), SYNACK_EAGAIN when nothing is there yet, or
 * the connection's error. */
int synack_recv(struct synack_stack *s, int fd, void *buf, size_t len);

/* SYNACK_SHUT_WR sends a FIN after the queued data (CLOSE of RFC 9293 3.10.4, the socket
 * stays open for reading); SYNACK_SHUT_RD discards further data; SYNACK_SHUT_RDWR both. */
int synack_shutdown(struct synack_stack *s, int fd, int how);

/* Releases the descriptor. A connection goes on closing gracefully (FIN after the queued
 * data, then TIME-WAIT as needed) without it; a listener resets its unaccepted connections. */
int synack_close(struct synack_stack *s, int fd);

/* ABORT (RFC 9293 3.10.5): sends a RST if synchronized, drops all data, releases the
 * descriptor. */
int synack_abort(struct synack_stack *s, int fd);

/* Sets a per-socket option (enum synack_option). */
int synack_setopt(struct synack_stack *s, int fd, int option, uint64_t value);

/* RFC state of the socket's connection (enum synack_state), SYNACK_CLOSED for a fresh socket
 * or a finished connection, or SYNACK_EBADF. */
int synack_state(const struct synack_stack *s, int fd);

/* Readiness mask (SYNACK_READABLE | ...), or SYNACK_EBADF. */
int synack_readiness(const struct synack_stack *s, int fd);

/* The connection's first error (a negative SYNACK_E* code), 0 if none, or SYNACK_EBADF. */
int synack_error(const struct synack_stack *s, int fd);

/* Local and remote addresses. SYNACK_ENOTCONN for getpeername without a peer. */
int synack_getsockname(const struct synack_stack *s, int fd, struct synack_addr *out);
int synack_getpeername(const struct synack_stack *s, int fd, struct synack_addr *out);

/* STATUS (RFC 9293 3.10.6). */
struct synack_status {
    int state;                 /* enum synack_state */
    struct synack_addr local, remote;
    uint32_t snd_una, snd_nxt, snd_wnd, iss;
    uint32_t rcv_nxt, rcv_wnd, irs;
    uint32_t send_queued;      /* bytes queued, not yet acknowledged */
    uint32_t recv_queued;      /* bytes received, not yet read */
    uint16_t snd_mss;          /* MSS used for sending (peer's MSS, or 536) */
    uint64_t srtt_us, rto_us;  /* RTT estimate and current RTO */
    uint64_t retransmits;      /* segments this connection sent again */
    int error;                 /* sticky error, 0 if none */
    uint32_t cwnd, ssthresh;   /* congestion window and slow start threshold, bytes */
    uint64_t fast_retransmits; /* loss recoveries entered by duplicate ACKs or SACK */
    uint64_t sack_recoveries;  /* of which SACK-based (RFC 6675) */
    uint8_t snd_wscale, rcv_wscale; /* window scale shifts in use (RFC 7323 2), 0 if none */
    bool timestamps, sack;     /* timestamps / SACK negotiated */
};
int synack_status(const struct synack_stack *s, int fd, struct synack_status *out);

/* Readiness changes since the last call: each socket whose mask changed appears once. */
struct synack_sock_event {
    int fd;
    int mask; /* current readiness mask */
};
/* Fills up to max events, returns how many (>= 0), or SYNACK_EINVAL. */
int synack_events(struct synack_stack *s, struct synack_sock_event *events, int max);

#ifdef __cplusplus
}
#endif

#endif /* SYNACK_H */
