/*
 * names.c: the configuration defaults and the names of errors, states and drop reasons.
 */
#include <string.h>

#include "synack.h"

void synack_config_default(struct synack_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->msl_us = 120ull * 1000000;          /* RFC 9293 3.4.2: MSL = 2 minutes */
    cfg->sndbuf = 65536;
    cfg->rcvbuf = 65536;
    cfg->mss = 1460;                         /* 1500-byte MTU - 40 bytes of headers */
    cfg->rto_initial_us = 1000000;           /* RFC 6298 2.1 */
    cfg->rto_min_us = 1000000;               /* RFC 6298 2.4 */
    cfg->rto_max_us = 60ull * 1000000;       /* RFC 6298 2.5 allows a maximum >= 60 s */
    cfg->user_timeout_us = 300ull * 1000000; /* RFC 9293 3.8.3: R2 at least 100 s */
    cfg->max_sockets = 65536;
    cfg->max_connections = 1u << 20;
    cfg->max_backlog = 4096;
    cfg->ephemeral_lo = 49152;               /* RFC 6335 6: the dynamic port range */
    cfg->ephemeral_hi = 65535;
    cfg->ttl = 64;
    cfg->window_scaling = true;              /* RFC 7323 2 */
    cfg->timestamps = true;                  /* RFC 7323 3 */
    cfg->sack = true;                        /* RFC 2018 */
    cfg->delack_us = 0;                      /* delayed ACKs off by default (why: synack.h) */
    cfg->nodelay = false;                    /* RFC 9293 3.7.4: Nagle on by default */
    cfg->congestion = SYNACK_CC_NEWRENO;
    cfg->keepalive = false;                  /* RFC 9293 3.8.4: off by default */
    cfg->keepalive_idle_us = 7200ull * 1000000; /* RFC 9293 3.8.4: >= 2 hours */
    cfg->keepalive_intvl_us = 75ull * 1000000;
    cfg->keepalive_probes = 9;
}

const char *synack_strerror(int err)
{
    switch (err) {
    case SYNACK_OK: return "OK: success";
    case SYNACK_EPIPE: return "EPIPE: broken pipe (this side shut down writing)";
    case SYNACK_EBADF: return "EBADF: bad descriptor";
    case SYNACK_EAGAIN: return "EAGAIN: resource temporarily unavailable";
    case SYNACK_ENOMEM: return "ENOMEM: out of memory";
    case SYNACK_EINVAL: return "EINVAL: invalid argument";
    case SYNACK_EMFILE: return "EMFILE: too many open descriptors";
    case SYNACK_EOPNOTSUPP: return "EOPNOTSUPP: operation not supported on this socket";
    case SYNACK_EADDRINUSE: return "EADDRINUSE: address already in use";
    case SYNACK_EADDRNOTAVAIL: return "EADDRNOTAVAIL: address not available";
    case SYNACK_ECONNABORTED: return "ECONNABORTED: connection aborted";
    case SYNACK_ECONNRESET: return "ECONNRESET: connection reset by peer";
    case SYNACK_ENOBUFS: return "ENOBUFS: no buffer space available";
    case SYNACK_EISCONN: return "EISCONN: already connected";
    case SYNACK_ENOTCONN: return "ENOTCONN: not connected";
    case SYNACK_ETIMEDOUT: return "ETIMEDOUT: connection timed out";
    case SYNACK_ECONNREFUSED: return "ECONNREFUSED: connection refused";
    case SYNACK_EALREADY: return "EALREADY: connection already in progress";
    case SYNACK_EINPROGRESS: return "EINPROGRESS: connection in progress";
    default: return "?: unknown error";
    }
}

/* RFC 9293 3.3.2 spells the states with hyphens. */
static const char *const state_names[SYNACK_STATE_COUNT] = {
    [0] = "CLOSED", /* SYNACK_CLOSED of enum synack_state */
    [SYNACK_LISTEN] = "LISTEN",
    [SYNACK_SYN_SENT] = "SYN-SENT",
    [SYNACK_SYN_RECEIVED] = "SYN-RECEIVED",
    [SYNACK_ESTABLISHED] = "ESTABLISHED",
    [SYNACK_FIN_WAIT_1] = "FIN-WAIT-1",
    [SYNACK_FIN_WAIT_2] = "FIN-WAIT-2",
    [SYNACK_CLOSE_WAIT] = "CLOSE-WAIT",
    [SYNACK_CLOSING] = "CLOSING",
    [SYNACK_LAST_ACK] = "LAST-ACK",
    [SYNACK_TIME_WAIT] = "TIME-WAIT",
};

const char *synack_state_name(int state)
{
    if (state < 0 || state >= SYNACK_STATE_COUNT)
        return "?";
    return state_names[state];
}

static const char *const drop_names[SYNACK_DROP_REASON_COUNT] = {
    [SYNACK_DROP_NONE] = "none",
    [SYNACK_DROP_IP_TRUNCATED] = "ip-truncated",
    [SYNACK_DROP_IP_VERSION] = "ip-version",
    [SYNACK_DROP_IP_HEADER] = "ip-header",
    [SYNACK_DROP_IP_CHECKSUM] = "ip-checksum",
    [SYNACK_DROP_IP_FRAGMENT] = "ip-fragment",
    [SYNACK_DROP_IP_PROTOCOL] = "ip-protocol",
    [SYNACK_DROP_IP_NOT_FOR_US] = "ip-not-for-us",
    [SYNACK_DROP_TCP_TRUNCATED] = "tcp-truncated",
    [SYNACK_DROP_TCP_OFFSET] = "tcp-offset",
    [SYNACK_DROP_TCP_OPTIONS] = "tcp-options",
    [SYNACK_DROP_TCP_CHECKSUM] = "tcp-checksum",
    [SYNACK_DROP_TCP_BAD_PORT] = "tcp-bad-port",
    [SYNACK_DROP_BACKLOG_FULL] = "backlog-full",
    [SYNACK_DROP_NO_MEMORY] = "no-memory",
    [SYNACK_DROP_NO_SOCKET] = "no-socket",
    [SYNACK_DROP_SEQ_UNACCEPTABLE] = "seq-unacceptable",
    [SYNACK_DROP_ACK_UNACCEPTABLE] = "ack-unacceptable",
    [SYNACK_DROP_RST_IGNORED] = "rst-ignored",
    [SYNACK_DROP_RST_CHALLENGED] = "rst-challenged",
    [SYNACK_DROP_SYN_CHALLENGED] = "syn-challenged",
    [SYNACK_DROP_NO_ACK] = "no-ack",
    [SYNACK_DROP_BAD_SEGMENT] = "bad-segment",
};

const char *synack_drop_name(int reason)
{
    if (reason < 0 || reason >= SYNACK_DROP_REASON_COUNT)
        return "?";
    return drop_names[reason];
}
