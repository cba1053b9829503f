/*
 * stack.c: the host. Creation and teardown, the input path (IPv4 -> TCP -> connection or
 * listener or reset), timers (poll), the engine hooks, trace events and counters.
 *
 * Read first: RFC 9293 3.10.7.1 (a segment for no connection), 3.10.7.2 (LISTEN), 3.10.7.4
 * (other states; TIME-WAIT reopen), RFC 1122 3.2.1 (what the IP layer checks).
 *
 * Every engine call on a connection is followed by stack_conn_after(), which re-keys its
 * timer and reaps it once CLOSED. Hooks run inside engine calls and never free anything.
 *
 * Orphans: a connection whose descriptor was closed finishes on its own. Every closing state
 * has a timer (retransmission with the user timeout, or TIME-WAIT) except FIN-WAIT-2, which
 * waits for the peer's FIN for ever (RFC 9293 3.6); a peer that vanished would pin the
 * connection. So an orphan that has spent ORPHAN_FIN_WAIT_2_MSL x MSL in FIN-WAIT-2 is
 * aborted (RFC 9293 3.10.5: a RST is sent) and freed. This is the stack's policy, not an RFC
 * rule (Linux does the same with tcp_fin_timeout).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stack/isn.h"
#include "stack/stack.h"

#define ORPHAN_FIN_WAIT_2_MSL 2 /* orphan FIN-WAIT-2 lifetime, in units of cfg.msl_us */

#define CONN_OF(tc) ((struct stack_conn *)((char *)(tc) - offsetof(struct stack_conn, tcp)))

/* ---- Events and counters ---------------------------------------------------------------- */

static void event_init(const struct synack_stack *s, struct synack_event *ev, int kind)
{
    memset(ev, 0, sizeof *ev);
    ev->time_us = s->now_us;
    ev->kind = kind;
    ev->wscale = -1;
}

static void event_opts(struct synack_event *ev, const struct wire_tcp_opts *o)
{
    ev->mss = (o->present & WIRE_OPT_MSS) ? o->mss : 0;
    ev->wscale = (o->present & WIRE_OPT_WSCALE) ? (int8_t)o->wscale : -1;
    ev->sack_permitted = (o->present & WIRE_OPT_SACK_PERM) != 0;
    ev->has_ts = (o->present & WIRE_OPT_TS) != 0;
    if (ev->has_ts) {
        ev->ts_val = o->ts_val;
        ev->ts_ecr = o->ts_ecr;
    }
}

void stack_count_drop(struct synack_stack *s, int reason)
{
    if (reason > 0 && reason < SYNACK_DROP_REASON_COUNT)
        s->stats.drops[reason]++;
}

void stack_event_seg_in(struct synack_stack *s, const struct wire_ipv4 *ip,
                        const struct wire_tcp *seg, int state, int reason, const void *ctx)
{
    if (!s->observer)
        return;
    struct synack_event ev;
    event_init(s, &ev, SYNACK_EV_SEG_IN);
    ev.local = (struct synack_addr){ip->dst, seg->dport};
    ev.remote = (struct synack_addr){ip->src, seg->sport};
    ev.seq = seg->seq;
    ev.ack = seg->ack;
    ev.wnd = seg->wnd;
    ev.len = seg->payload_len;
    ev.flags = seg->flags;
    event_opts(&ev, &seg->opts);
    ev.state = state;
    ev.old_state = state;
    ev.reason = reason;
    ev.ctx = ctx;
    s->observer(s->observer_arg, &ev);
}

/* A packet dropped before it reached a connection or listener: counted and traced with what
 * is known of it (ip and seg may be NULL). */
static void drop_packet(struct synack_stack *s, int reason, const struct wire_ipv4 *ip,
                        const struct wire_tcp *seg)
{
    stack_count_drop(s, reason);
    if (!s->observer)
        return;
    struct synack_event ev;
    event_init(s, &ev, SYNACK_EV_DROP);
    if (ip) {
        ev.local.ip = ip->dst;
        ev.remote.ip = ip->src;
    }
    if (seg) {
        ev.local.port = seg->dport;
        ev.remote.port = seg->sport;
        ev.seq = seg->seq;
        ev.ack = seg->ack;
        ev.wnd = seg->wnd;
        ev.len = seg->payload_len;
        ev.flags = seg->flags;
        event_opts(&ev, &seg->opts);
    }
    ev.reason = reason;
    s->observer(s->observer_arg, &ev);
}

void stack_emit(struct synack_stack *s, struct wire_tcp_out *seg, bool retransmit, int state,
                const void *ctx)
{
    seg->ip_id = s->ip_id++;
    /* A link that queues packets lends the buffer the packet is written into: no copy. */
    uint8_t *buf = s->pkt;
    size_t cap = STACK_PKT_CAP;
    if (s->link.buffer) {
        size_t len = wire_emit_len(seg);
        uint8_t *lent = len <= STACK_PKT_CAP ? s->link.buffer(s->link.arg, len) : NULL;
        if (lent) {
            buf = lent;
            cap = len;
        }
    }
    bool tso = seg->tso_seg > 0 && s->link.send_tso;
    seg->csum_partial = tso; /* the link that cuts it completes the checksums */
    size_t n = wire_emit(buf, cap, seg);
    if (n == 0)
        return; /* cannot happen: the buffer holds the largest IPv4 packet */
    s->stats.ip_out++;
    s->stats.seg_out++;
    if (retransmit)
        s->stats.retransmits++;
    if (seg->flags & SYNACK_RST)
        s->stats.rst_out++;
    if (s->observer) {
        struct synack_event ev;
        event_init(s, &ev, SYNACK_EV_SEG_OUT);
        ev.local = (struct synack_addr){seg->src, seg->sport};
        ev.remote = (struct synack_addr){seg->dst, seg->dport};
        ev.seq = seg->seq;
        ev.ack = seg->ack;
        ev.wnd = seg->wnd;
        ev.len = seg->data_len[0] + seg->data_len[1];
        ev.flags = seg->flags;
        event_opts(&ev, &seg->opts);
        ev.retransmit = retransmit;
        ev.state = state;
        ev.old_state = state;
        ev.ctx = ctx;
        s->observer(s->observer_arg, &ev);
    }
    if (tso)
        s->link.send_tso(s->link.arg, buf, n, seg->tso_seg);
    else
        s->link.send(s->link.arg, buf, n);
}

/* ---- Engine hooks ------------------------------------------------------------------------ */

static void hook_output(void *arg, struct tcp_conn *tc, struct wire_tcp_out *seg,
                        bool retransmit)
{
    struct synack_stack *s = arg;
    struct stack_conn *c = CONN_OF(tc);
    seg->src = c->lip;
    seg->dst = c->rip;
    seg->sport = c->lport;
    seg->dport = c->rport;
    seg->ttl = s->cfg.ttl;
    stack_emit(s, seg, retransmit, c->state, tw_ctx(s, c));
}

static void hook_state(void *arg, struct tcp_conn *tc, int old_state, int new_state,
                       uint64_t now_us)
{
    struct synack_stack *s = arg;
    struct stack_conn *c = CONN_OF(tc);
    c->state = (uint8_t)new_state;

    if (new_state == SYNACK_ESTABLISHED && !c->ever_established) {
        c->ever_established = true;
        s->stats.conn_established++;
    }
    if (new_state == SYNACK_TIME_WAIT && !c->tw_counted) {
        c->tw_counted = true;
        s->stats.time_wait_current++;
    } else if (new_state != SYNACK_TIME_WAIT && c->tw_counted) {
        c->tw_counted = false;
        s->stats.time_wait_current--;
    }
    /* A child that became synchronized waits for accept(). */
    if (c->parent && new_state != SYNACK_LISTEN && new_state != SYNACK_SYN_RECEIVED &&
        new_state != SYNACK_CLOSED && new_state != SYNACK_SYN_SENT)
        listener_child_synchronized(s, c);

    if (s->observer) {
        struct synack_event ev;
        event_init(s, &ev, SYNACK_EV_STATE);
        ev.time_us = now_us;
        ev.local = (struct synack_addr){c->lip, c->lport};
        ev.remote = (struct synack_addr){c->rip, c->rport};
        ev.old_state = old_state;
        ev.state = new_state;
        ev.ctx = tw_ctx(s, c);
        s->observer(s->observer_arg, &ev);
    }
}

/* ---- Connections ------------------------------------------------------------------------- */

bool stack_conn_room(struct synack_stack *s)
{
    return table_conn_count(s) < s->cfg.max_connections && heap_reserve(s, s->nconns + 1);
}

struct stack_conn *stack_conn_new(struct synack_stack *s, uint32_t rip, uint16_t rport,
                                  uint16_t lport, uint32_t sndbuf, uint32_t rcvbuf,
                                  uint64_t user_timeout_us)
{
    if (!stack_conn_room(s))
        return NULL;
    struct stack_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    tcp_init(&c->tcp, &s->hooks, &s->cfg, NULL, sndbuf, NULL, rcvbuf);
    /* RFC 9293 3.8.3: the per-connection user timeout (SYNACK_OPT_USER_TIMEOUT). tcp.h has
     * no setter, so the field is written here, before the engine runs. */
    c->tcp.user_timeout_us = user_timeout_us;
    c->lip = s->cfg.ip;
    c->rip = rip;
    c->lport = lport;
    c->rport = rport;
    c->state = SYNACK_CLOSED;
    c->heap_idx = STACK_HEAP_NONE;
    c->orphan_deadline = UINT64_MAX;
    c->fd = STACK_NO_FD;
    return c;
}

/* ---- Buffer memory ------------------------------------------------------------------------
 * A buffer has memory only while it holds bytes (tcp.h, "Buffer storage on demand"): idle
 * connections cost no buffer memory. Memory given back is kept in a short spare list for
 * the next buffer of the same size (configured sizes only); beyond that it goes back to
 * malloc. */

static uint8_t *buf_alloc(struct synack_stack *s, uint32_t size)
{
    for (uint32_t i = s->nspare; i-- > 0;) {
        if (s->spare_size[i] == size) {
            uint8_t *p = s->spare[i];
            s->nspare--;
            s->spare[i] = s->spare[s->nspare];
            s->spare_size[i] = s->spare_size[s->nspare];
            return p;
        }
    }
    return malloc(size);
}

static void buf_give_back(struct synack_stack *s, uint8_t *p, uint32_t size)
{
    /* Only buffers of the configured sizes are kept: a socket's larger SNDBUF/RCVBUF is
     * rare, and keeping one would pin up to STACK_MAX_BUF bytes. */
    bool usual = size == s->cfg.sndbuf || size == s->cfg.rcvbuf;
    if (usual && s->nspare < STACK_SPARE_BUFS) {
        s->spare[s->nspare] = p;
        s->spare_size[s->nspare] = size;
        s->nspare++;
    } else {
        free(p);
    }
}

bool stack_buf_ensure(struct synack_stack *s, struct stack_conn *c, enum tcp_buf which)
{
    uint32_t size = tcp_buf_missing(&c->tcp, which);
    if (size == 0)
        return true;
    uint8_t *p = buf_alloc(s, size);
    if (!p)
        return false;
    tcp_buf_attach(&c->tcp, which, p);
    s->stats.buffers_current++;
    s->stats.buffer_bytes += size;
    return true;
}

/* Takes the buffer's memory back (whatever it holds) and returns it. */
static void buf_release(struct synack_stack *s, struct stack_conn *c, enum tcp_buf which)
{
    uint32_t size;
    uint8_t *p = tcp_buf_detach(&c->tcp, which, &size);
    if (!p)
        return;
    s->stats.buffers_current--;
    s->stats.buffer_bytes -= size;
    buf_give_back(s, p, size);
}

static void buf_release_idle(struct synack_stack *s, struct stack_conn *c)
{
    if (tcp_buf_idle(&c->tcp, TCP_BUF_SND))
        buf_release(s, c, TCP_BUF_SND);
    if (tcp_buf_idle(&c->tcp, TCP_BUF_RCV))
        buf_release(s, c, TCP_BUF_RCV);
}

int stack_conn_input(struct synack_stack *s, struct stack_conn *c, const struct wire_tcp *seg)
{
    /* On no memory the engine drops the segment as SYNACK_DROP_NO_MEMORY (tcp.h). */
    if (tcp_rcv_needs_storage(&c->tcp, seg))
        (void)stack_buf_ensure(s, c, TCP_BUF_RCV);
    return tcp_input(&c->tcp, seg, s->now_us);
}

void stack_conn_free(struct synack_stack *s, struct stack_conn *c)
{
    buf_release(s, c, TCP_BUF_SND);
    buf_release(s, c, TCP_BUF_RCV);
    free(c);
}

int stack_conn_error(const struct stack_conn *c)
{
    struct synack_status st;
    tcp_status(&c->tcp, &st);
    return st.error;
}

bool stack_conn_after(struct synack_stack *s, struct stack_conn *c)
{
    buf_release_idle(s, c);
    /* A child back in LISTEN (acceptable RST in SYN-RECEIVED, RFC 9293 3.10.7.4) is as
     * finished as a CLOSED connection: the listener itself goes on listening. */
    if (c->state != SYNACK_CLOSED && c->state != SYNACK_LISTEN) {
        if (c->state == SYNACK_TIME_WAIT && c->fd == STACK_NO_FD && tw_adopt(s, c))
            return true; /* freed: a compact record goes on for it (timewait.c) */
        uint64_t deadline = tcp_deadline(&c->tcp);
        if (c->fd == STACK_NO_FD && c->state == SYNACK_FIN_WAIT_2) {
            if (c->orphan_deadline == UINT64_MAX)
                c->orphan_deadline = s->now_us + ORPHAN_FIN_WAIT_2_MSL * s->cfg.msl_us;
            if (c->orphan_deadline < deadline)
                deadline = c->orphan_deadline;
        }
        heap_update(s, c, deadline);
        if (c->fd != STACK_NO_FD)
            stack_mark_dirty(s, c->fd);
        return false;
    }
    if (c->in_table) {
        int err = stack_conn_error(c);
        if (err == SYNACK_ECONNRESET || err == SYNACK_ECONNREFUSED || c->state == SYNACK_LISTEN)
            s->stats.conn_reset++;
        else if (err == SYNACK_ETIMEDOUT)
            s->stats.conn_timeout++;
        table_remove(s, c);
    }
    heap_remove(s, c);
    if (c->tw_counted) {
        c->tw_counted = false;
        s->stats.time_wait_current--;
    }
    listener_unlink(s, c);
    if (c->fd == STACK_NO_FD) {
        stack_conn_free(s, c);
        return true;
    }
    stack_mark_dirty(s, c->fd);
    return false;
}

/* ---- Descriptors: lookup, readiness, dirty list ------------------------------------------ */

struct stack_sock *stack_sock_get(const struct synack_stack *s, int fd)
{
    if (!s || fd < 0 || (uint32_t)fd >= s->socks_used)
        return NULL;
    struct stack_sock *k = &s->socks[fd];
    return k->kind == STACK_SOCK_FREE ? NULL : k;
}

int stack_sock_mask(const struct synack_stack *s, const struct stack_sock *k)
{
    (void)s;
    int m = 0;
    switch (k->kind) {
    case STACK_SOCK_LISTEN:
        if (k->lst->acceptq.count > 0)
            m |= SYNACK_ACCEPTABLE;
        break;
    case STACK_SOCK_CONN: {
        const struct stack_conn *c = k->conn;
        if (k->rd_shut || tcp_readable(&c->tcp))
            m |= SYNACK_READABLE;
        if (tcp_writable(&c->tcp))
            m |= SYNACK_WRITABLE;
        if (c->ever_established)
            m |= SYNACK_CONNECTED;
        if (c->state == SYNACK_CLOSED)
            m |= SYNACK_TERMINATED;
        if (stack_conn_error(c) != 0)
            m |= SYNACK_ERROR;
        break;
    }
    default:
        break;
    }
    return m;
}

void stack_mark_dirty(struct synack_stack *s, int fd)
{
    struct stack_sock *k = stack_sock_get(s, fd);
    if (!k || k->dirty)
        return;
    k->dirty = true;
    k->dnext = STACK_NO_FD;
    k->dprev = s->dirty_tail;
    if (s->dirty_tail != STACK_NO_FD)
        s->socks[s->dirty_tail].dnext = fd;
    else
        s->dirty_head = fd;
    s->dirty_tail = fd;
}

void stack_unmark_dirty(struct synack_stack *s, int fd)
{
    struct stack_sock *k = &s->socks[fd];
    if (!k->dirty)
        return;
    if (k->dprev != STACK_NO_FD)
        s->socks[k->dprev].dnext = k->dnext;
    else
        s->dirty_head = k->dnext;
    if (k->dnext != STACK_NO_FD)
        s->socks[k->dnext].dprev = k->dprev;
    else
        s->dirty_tail = k->dprev;
    k->dirty = false;
    k->dprev = k->dnext = STACK_NO_FD;
}

/* ---- The stack --------------------------------------------------------------------------- */

/* A 128-bit key derived from the ISN key for another purpose (tag), so that one secret
 * serves several independent hash functions. */
static void derive_key(const uint8_t key[16], uint8_t tag, uint8_t out[16])
{
    for (uint8_t half = 0; half < 2; half++) {
        uint8_t msg[2] = {tag, half};
        uint64_t v = siphash24(key, msg, sizeof msg);
        for (int i = 0; i < 8; i++)
            out[half * 8 + i] = (uint8_t)(v >> (8 * i));
    }
}

struct synack_stack *synack_stack_new(const struct synack_config *cfg,
                                      const struct synack_link *link)
{
    if (!cfg || !link || !link->send || cfg->ip == 0 || cfg->ephemeral_lo == 0 ||
        cfg->ephemeral_lo > cfg->ephemeral_hi || cfg->mss < 64 || cfg->sndbuf == 0 ||
        cfg->rcvbuf == 0 || cfg->max_sockets == 0 || cfg->max_sockets > INT32_MAX - 1 ||
        cfg->max_connections == 0 || cfg->max_backlog == 0 ||
        (cfg->tso_max > 0 && !link->send_tso))
        return NULL;
    struct synack_stack *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    if (s->cfg.tso_max > STACK_TSO_MAX)
        s->cfg.tso_max = STACK_TSO_MAX;
    s->link = *link;
    s->hooks = (struct tcp_hooks){.arg = s, .output = hook_output, .state_change = hook_state};
    s->free_head = s->free_tail = STACK_NO_FD;
    s->tw_free = s->tw_head = s->tw_tail = STACK_TW_NONE;
    s->dirty_head = s->dirty_tail = STACK_NO_FD;
    uint8_t table_key[16];
    derive_key(cfg->isn_key, 1, table_key);
    for (int i = 15; i >= 0; i--) /* little-endian words, as SipHash loads its key */
        s->table_key[i / 8] = s->table_key[i / 8] << 8 | table_key[i];
    derive_key(cfg->isn_key, 2, s->port_key);
    s->pkt = malloc(STACK_PKT_CAP);
    s->port_owner = calloc(65536, sizeof *s->port_owner);
    if (!s->pkt || !s->port_owner || !table_init(s)) {
        synack_stack_free(s);
        return NULL;
    }
    return s;
}

void synack_stack_free(struct synack_stack *s)
{
    if (!s)
        return;
    /* Connections out of the table are held only by a descriptor; the rest are in it. */
    for (uint32_t i = 0; i < s->socks_used; i++) {
        struct stack_sock *k = &s->socks[i];
        if (k->kind == STACK_SOCK_CONN && !k->conn->in_table)
            stack_conn_free(s, k->conn);
        else if (k->kind == STACK_SOCK_LISTEN)
            free(k->lst);
    }
    for (uint32_t b = 0; s->buckets && b < s->nbuckets; b++) {
        struct stack_conn *c = s->buckets[b];
        while (c) {
            struct stack_conn *next = c->hnext;
            stack_conn_free(s, c);
            c = next;
        }
    }
    for (uint32_t i = 0; i < s->nspare; i++)
        free(s->spare[i]);
    tw_free_all(s);
    free(s->buckets);
    free(s->heap);
    free(s->socks);
    free(s->port_owner);
    free(s->pkt);
    free(s);
}

static void advance_time(struct synack_stack *s, uint64_t now_us)
{
    if (now_us > s->now_us) /* time never runs backwards for the engine */
        s->now_us = now_us;
}

/* RFC 9293 3.10.7.1: no connection and no listener. */
static void input_no_socket(struct synack_stack *s, const struct wire_ipv4 *ip,
                            const struct wire_tcp *seg)
{
    struct wire_tcp_out out = {0};
    /* tcp_reset_for() declines when the segment carries RST ("an incoming segment containing
     * a RST is discarded"). */
    if (tcp_reset_for(seg, &out)) {
        out.src = ip->dst;
        out.dst = ip->src;
        out.sport = seg->dport;
        out.dport = seg->sport;
        out.ttl = s->cfg.ttl;
        stack_emit(s, &out, false, SYNACK_CLOSED, NULL);
    }
    stack_count_drop(s, SYNACK_DROP_NO_SOCKET);
    stack_event_seg_in(s, ip, seg, SYNACK_CLOSED, SYNACK_DROP_NO_SOCKET, NULL);
}

struct stack_listener *stack_tw_reopen(struct synack_stack *s, struct stack_conn *c,
                                       uint16_t port, uint32_t *iss_min)
{
    /* RFC 9293 3.10.7.4 TIME-WAIT, RFC 6191: a new SYN above the old connection's
     * sequence space ends TIME-WAIT and opens a new connection through the listener. */
    struct stack_listener *l = ports_listener(s, port);
    if (!l)
        return NULL; /* nobody listens any more: TIME-WAIT goes on */
    struct synack_status st;
    tcp_status(&c->tcp, &st);
    *iss_min = st.snd_nxt + 1; /* the new ISS must exceed the old SND.NXT */
    tcp_abort(&c->tcp, s->now_us); /* RFC 9293 3.10.5: ABORT in TIME-WAIT sends no RST */
    return l;
}

/* A segment for an existing connection. */
static void input_conn(struct synack_stack *s, struct stack_conn *c, const struct wire_ipv4 *ip,
                       const struct wire_tcp *seg)
{
    int reason = stack_conn_input(s, c, seg);
    if (reason == TCP_INPUT_REOPEN) {
        uint32_t iss_min;
        struct stack_listener *l = stack_tw_reopen(s, c, seg->dport, &iss_min);
        if (l) {
            stack_conn_after(s, c);
            listener_input(s, l, ip, seg, true, iss_min);
            return;
        }
        reason = SYNACK_DROP_BAD_SEGMENT; /* the SYN is dropped */
    }
    stack_count_drop(s, reason);
    stack_event_seg_in(s, ip, seg, c->state, reason, c);
    stack_conn_after(s, c);
}

void synack_stack_input(struct synack_stack *s, const uint8_t *packet, size_t len,
                        uint64_t now_us)
{
    synack_stack_input_flags(s, packet, len, now_us, 0);
}

void synack_stack_input_flags(struct synack_stack *s, const uint8_t *packet, size_t len,
                              uint64_t now_us, unsigned flags)
{
    if (!s)
        return;
    advance_time(s, now_us);
    s->stats.ip_in++;

    struct wire_ipv4 ip;
    int reason = packet ? wire_ipv4_parse(packet, len, &ip) : SYNACK_DROP_IP_TRUNCATED;
    if (reason) {
        drop_packet(s, reason, NULL, NULL);
        return;
    }
    if (ip.protocol != WIRE_PROTO_TCP) {
        drop_packet(s, SYNACK_DROP_IP_PROTOCOL, &ip, NULL);
        return;
    }
    /* RFC 1122 3.2.1.3: a host silently discards a datagram not addressed to it. */
    if (ip.dst != s->cfg.ip) {
        drop_packet(s, SYNACK_DROP_IP_NOT_FOR_US, &ip, NULL);
        return;
    }
    struct wire_tcp seg;
    bool check_csum = !(flags & SYNACK_INPUT_CSUM_OK); /* the link vouches for it */
    reason = wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, check_csum, &seg);
    if (reason) {
        drop_packet(s, reason, &ip, NULL);
        return;
    }
    /* Port 0 is reserved (RFC 6335 6): no connection uses it, so nothing may answer it. */
    if (seg.sport == 0 || seg.dport == 0) {
        drop_packet(s, SYNACK_DROP_TCP_BAD_PORT, &ip, &seg);
        return;
    }
    s->stats.seg_in++;

    struct stack_conn *c = table_lookup(s, ip.dst, seg.dport, ip.src, seg.sport);
    if (c) {
        input_conn(s, c, &ip, &seg);
        return;
    }
    uint32_t tw = tw_lookup(s, ip.dst, seg.dport, ip.src, seg.sport);
    if (tw != STACK_TW_NONE) {
        tw_input(s, tw, &ip, &seg);
        return;
    }
    struct stack_listener *l = ports_listener(s, seg.dport);
    if (l && (l->ip == 0 || l->ip == ip.dst)) {
        listener_input(s, l, &ip, &seg, false, 0);
        return;
    }
    input_no_socket(s, &ip, &seg);
}

uint64_t synack_stack_poll(struct synack_stack *s, uint64_t now_us)
{
    if (!s)
        return UINT64_MAX;
    advance_time(s, now_us);
    /* Each connection runs its timers at most once per poll, so an engine that asks to be
     * called again at a time already past cannot trap this loop; the deadline returned
     * tells the caller to poll again. */
    uint64_t gen = ++s->poll_gen;
    for (;;) {
        /* Connections and compact TIME-WAITs, earliest deadline first. */
        struct stack_conn *c = s->heap_len > 0 ? s->heap[0] : NULL;
        bool conn_due = c && c->heap_key <= s->now_us && c->poll_gen != gen;
        uint64_t tw_due = tw_next_deadline(s);
        if (tw_due <= s->now_us && (!conn_due || tw_due < c->heap_key)) {
            tw_expire_first(s, s->now_us);
            continue;
        }
        if (!conn_due)
            break;
        c->poll_gen = gen;
        if (c->orphan_deadline <= s->now_us && c->fd == STACK_NO_FD &&
            c->state == SYNACK_FIN_WAIT_2)
            tcp_abort(&c->tcp, s->now_us); /* the orphan policy above */
        else
            tcp_timer(&c->tcp, s->now_us);
        stack_conn_after(s, c);
    }
    return synack_stack_next_deadline(s);
}

uint64_t synack_stack_next_deadline(const struct synack_stack *s)
{
    if (!s)
        return UINT64_MAX;
    uint64_t tw = tw_next_deadline(s);
    uint64_t conn = heap_min(s);
    return tw < conn ? tw : conn;
}

void synack_stack_set_observer(struct synack_stack *s, synack_observer_fn fn, void *arg)
{
    if (!s)
        return;
    s->observer = fn;
    s->observer_arg = fn ? arg : NULL;
}

void synack_stack_stats(const struct synack_stack *s, struct synack_stats *out)
{
    if (!out)
        return;
    if (!s) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = s->stats;
}
