/*
 * socket.c: the socket API of include/synack.h over the host (src/stack/).
 *
 * Read first: RFC 9293 3.10.1-3.10.6 (the user calls OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * STATUS), 3.9.1 (the user/TCP interface).
 *
 * Descriptors index the stack's socket table. Every call validates its arguments and the
 * socket's kind and state before touching the engine, so a bad call returns a SYNACK_E* code
 * and changes nothing. Socket calls run at the stack's latest time (from input or poll).
 * Error codes follow Linux where a choice exists: accept on a non-listener and listen on a
 * connected socket give EINVAL, connect on a listener gives EOPNOTSUPP.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stack/isn.h"
#include "stack/stack.h"

#define DRAIN_CHUNK 512 /* bytes read at a time when discarding received data */

/* ---- Descriptor table -------------------------------------------------------------------- */

/* Allocates a descriptor for a fresh socket: a never-used entry while the table can grow,
 * else the longest-closed one. Returns fd or SYNACK_EMFILE / SYNACK_ENOMEM. */
static int sock_alloc(struct synack_stack *s)
{
    int fd;
    if (s->socks_used < s->cfg.max_sockets) {
        if (s->socks_used == s->socks_cap) {
            uint32_t cap = s->socks_cap ? s->socks_cap * 2 : 16;
            if (cap > s->cfg.max_sockets || cap < s->socks_cap)
                cap = s->cfg.max_sockets;
            struct stack_sock *t = realloc(s->socks, (size_t)cap * sizeof *t);
            if (!t)
                return SYNACK_ENOMEM;
            s->socks = t;
            s->socks_cap = cap;
        }
        fd = (int)s->socks_used++;
    } else if (s->free_head != STACK_NO_FD) {
        fd = s->free_head;
        s->free_head = s->socks[fd].next_free;
        if (s->free_head == STACK_NO_FD)
            s->free_tail = STACK_NO_FD;
    } else {
        return SYNACK_EMFILE;
    }
    struct stack_sock *k = &s->socks[fd];
    memset(k, 0, sizeof *k);
    k->kind = STACK_SOCK_NEW;
    k->sndbuf = s->cfg.sndbuf;
    k->rcvbuf = s->cfg.rcvbuf;
    k->user_timeout_us = s->cfg.user_timeout_us;
    tcp_sockopts_default(&s->cfg, &k->opts);
    k->next_free = k->dprev = k->dnext = STACK_NO_FD;
    s->stats.sockets_current++;
    return fd;
}

/* Closes descriptor fd: releases its port and puts it at the end of the free list. The
 * caller has already dealt with its connection or listener. */
static void sock_release(struct synack_stack *s, int fd)
{
    struct stack_sock *k = &s->socks[fd];
    stack_unmark_dirty(s, fd);
    if (k->owns_port)
        ports_release(s, k->local.port, fd);
    memset(k, 0, sizeof *k);
    k->kind = STACK_SOCK_FREE;
    k->next_free = k->dprev = k->dnext = STACK_NO_FD;
    if (s->free_tail != STACK_NO_FD)
        s->socks[s->free_tail].next_free = fd;
    else
        s->free_head = fd;
    s->free_tail = fd;
    s->stats.sockets_current--;
}

/* Looks up fd for a call: SYNACK_EINVAL without a stack, SYNACK_EBADF for a bad fd. */
static int sock_lookup(const struct synack_stack *s, int fd, struct stack_sock **out)
{
    if (!s)
        return SYNACK_EINVAL;
    *out = stack_sock_get(s, fd);
    return *out ? 0 : SYNACK_EBADF;
}

/* Reads and discards what the connection has received (SHUT_RD, close). */
static void drain_receive(struct synack_stack *s, struct stack_conn *c)
{
    uint8_t tmp[DRAIN_CHUNK];
    while (tcp_recv(&c->tcp, tmp, sizeof tmp, s->now_us) > 0)
        ;
}

static uint32_t clamp_len(size_t len)
{
    return len > INT_MAX ? (uint32_t)INT_MAX : (uint32_t)len;
}

/* ---- Calls ------------------------------------------------------------------------------- */

int synack_socket(struct synack_stack *s)
{
    if (!s)
        return SYNACK_EINVAL;
    return sock_alloc(s);
}

int synack_bind(struct synack_stack *s, int fd, const struct synack_addr *addr)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!addr || k->kind != STACK_SOCK_NEW || k->owns_port)
        return SYNACK_EINVAL;
    if (addr->ip != 0 && addr->ip != s->cfg.ip)
        return SYNACK_EADDRNOTAVAIL;
    uint16_t port = addr->port;
    if (port == 0) {
        port = ports_pick(s, 0, 0);
        if (port == 0)
            return SYNACK_EADDRNOTAVAIL;
    } else if (!ports_free(s, port)) {
        return SYNACK_EADDRINUSE;
    }
    ports_take(s, port, fd);
    k->owns_port = true;
    k->local = (struct synack_addr){addr->ip, port};
    return 0;
}

int synack_listen(struct synack_stack *s, int fd, int backlog)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    uint32_t b = backlog < 1 ? 1 : (uint32_t)backlog;
    if (b > s->cfg.max_backlog)
        b = s->cfg.max_backlog;
    if (k->kind == STACK_SOCK_LISTEN) { /* listening again changes the backlog */
        k->lst->backlog = b;
        return 0;
    }
    if (k->kind != STACK_SOCK_NEW)
        return SYNACK_EINVAL;
    struct stack_listener *l = calloc(1, sizeof *l);
    if (!l)
        return SYNACK_ENOMEM;
    if (!k->owns_port) {
        uint16_t port = ports_pick(s, 0, 0);
        if (port == 0) {
            free(l);
            return SYNACK_EADDRNOTAVAIL;
        }
        ports_take(s, port, fd);
        k->owns_port = true;
        k->local = (struct synack_addr){0, port};
    }
    l->fd = fd;
    l->ip = k->local.ip;
    l->port = k->local.port;
    l->backlog = b;
    k->kind = STACK_SOCK_LISTEN;
    k->lst = l;
    return 0;
}

int synack_accept(struct synack_stack *s, int fd, struct synack_addr *peer)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (k->kind != STACK_SOCK_LISTEN)
        return SYNACK_EINVAL;
    if (!k->lst->acceptq.head)
        return SYNACK_EAGAIN;
    int nfd = sock_alloc(s); /* may move the table: k is stale from here */
    if (nfd < 0)
        return nfd;
    struct stack_sock *lk = &s->socks[fd];
    struct stack_conn *c = listener_pop(s, lk->lst);
    struct stack_sock *nk = &s->socks[nfd];
    nk->kind = STACK_SOCK_CONN;
    nk->conn = c;
    nk->sndbuf = lk->sndbuf;
    nk->rcvbuf = lk->rcvbuf;
    nk->user_timeout_us = lk->user_timeout_us;
    nk->opts = lk->opts;
    c->fd = nfd;
    if (peer)
        *peer = (struct synack_addr){c->rip, c->rport};
    stack_mark_dirty(s, nfd);
    return nfd;
}

int synack_connect(struct synack_stack *s, int fd, const struct synack_addr *peer)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!peer)
        return SYNACK_EINVAL;
    if (k->kind == STACK_SOCK_LISTEN)
        return SYNACK_EOPNOTSUPP;
    if (k->kind == STACK_SOCK_CONN) {
        int st = k->conn->state;
        return st == SYNACK_SYN_SENT || st == SYNACK_SYN_RECEIVED ? SYNACK_EALREADY
                                                                  : SYNACK_EISCONN;
    }
    if (peer->ip == 0 || peer->port == 0)
        return SYNACK_EINVAL;
    if (table_conn_count(s) >= s->cfg.max_connections)
        return SYNACK_ENOBUFS;

    uint16_t port;
    if (k->owns_port) {
        port = k->local.port;
        if (table_tuple_used(s, s->cfg.ip, port, peer->ip, peer->port))
            return SYNACK_EADDRINUSE; /* e.g. this 4-tuple still in TIME-WAIT */
    } else {
        port = ports_pick(s, peer->ip, peer->port);
        if (port == 0)
            return SYNACK_EADDRNOTAVAIL;
    }
    struct stack_conn *c = stack_conn_new(s, peer->ip, peer->port, port, k->sndbuf, k->rcvbuf,
                                          k->user_timeout_us);
    if (!c)
        return SYNACK_ENOMEM;
    tcp_set_sockopts(&c->tcp, &k->opts, s->now_us);
    if (!k->owns_port) {
        ports_take(s, port, fd);
        k->owns_port = true;
        k->local = (struct synack_addr){s->cfg.ip, port};
    }
    table_insert(s, c);
    c->fd = fd;
    k->kind = STACK_SOCK_CONN;
    k->conn = c;
    s->stats.conn_active++;

    /* RFC 9293 3.4.1: the ISS comes from the RFC 6528 generator unless the test fixed it. */
    uint32_t iss = k->has_iss ? k->iss
                              : isn_generate(s->cfg.isn_key, c->lip, c->lport, c->rip, c->rport,
                                             s->now_us);
    err = tcp_open_active(&c->tcp, iss, s->now_us);
    stack_conn_after(s, c);
    return err < 0 ? err : SYNACK_EINPROGRESS;
}

int synack_send(struct synack_stack *s, int fd, const void *buf, size_t len)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!buf && len > 0)
        return SYNACK_EINVAL;
    if (k->kind != STACK_SOCK_CONN)
        return SYNACK_ENOTCONN;
    if (k->wr_shut)
        return SYNACK_EPIPE;
    struct stack_conn *c = k->conn;
    /* On no memory the engine refuses with SYNACK_ENOMEM (tcp.h). */
    if (len > 0)
        (void)stack_buf_ensure(s, c, TCP_BUF_SND);
    int r = tcp_send(&c->tcp, buf, clamp_len(len), s->now_us);
    stack_conn_after(s, c);
    return r;
}

int synack_recv(struct synack_stack *s, int fd, void *buf, size_t len)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!buf && len > 0)
        return SYNACK_EINVAL;
    if (k->kind != STACK_SOCK_CONN)
        return SYNACK_ENOTCONN;
    if (k->rd_shut)
        return 0; /* SHUT_RD: end-of-file from now on */
    struct stack_conn *c = k->conn;
    int r = tcp_recv(&c->tcp, buf, clamp_len(len), s->now_us);
    stack_conn_after(s, c);
    return r;
}

int synack_shutdown(struct synack_stack *s, int fd, int how)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (how != SYNACK_SHUT_RD && how != SYNACK_SHUT_WR && how != SYNACK_SHUT_RDWR)
        return SYNACK_EINVAL;
    if (k->kind != STACK_SOCK_CONN || k->conn->state == SYNACK_CLOSED)
        return SYNACK_ENOTCONN;
    struct stack_conn *c = k->conn;
    if (how != SYNACK_SHUT_WR && !k->rd_shut) {
        k->rd_shut = true;
        tcp_shutdown_read(&c->tcp);
        drain_receive(s, c); /* what was received but not read is discarded too */
    }
    if (how != SYNACK_SHUT_RD && !k->wr_shut) {
        k->wr_shut = true;
        /* RFC 9293 3.10.4: CLOSE means "I have no more to send": FIN after queued data. */
        err = tcp_close(&c->tcp, s->now_us);
        if (err == SYNACK_ENOTCONN) /* the engine was already closing */
            err = 0;
    }
    stack_conn_after(s, c);
    return err < 0 ? err : 0;
}

int synack_close(struct synack_stack *s, int fd)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (k->kind == STACK_SOCK_LISTEN) {
        listener_abort_children(s, k->lst);
        free(k->lst);
        k->lst = NULL;
    } else if (k->kind == STACK_SOCK_CONN) {
        struct stack_conn *c = k->conn;
        c->fd = STACK_NO_FD;
        if (c->in_table) {
            /* The connection goes on without its descriptor: nobody reads any more, so what
             * arrives is acknowledged and discarded; FIN follows the queued data. */
            drain_receive(s, c);
            tcp_shutdown_read(&c->tcp);
            if (!k->wr_shut)
                tcp_close(&c->tcp, s->now_us); /* RFC 9293 3.10.4 */
            stack_conn_after(s, c);
        } else {
            stack_conn_free(s, c);
        }
        k->conn = NULL;
    }
    sock_release(s, fd);
    return 0;
}

int synack_abort(struct synack_stack *s, int fd)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (k->kind == STACK_SOCK_CONN) {
        struct stack_conn *c = k->conn;
        c->fd = STACK_NO_FD;
        if (c->in_table) {
            tcp_abort(&c->tcp, s->now_us); /* RFC 9293 3.10.5 */
            stack_conn_after(s, c);
        } else {
            stack_conn_free(s, c);
        }
        k->conn = NULL;
        sock_release(s, fd);
        return 0;
    }
    return synack_close(s, fd); /* a listener resets its children either way */
}

int synack_setopt(struct synack_stack *s, int fd, int option, uint64_t value)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    switch (option) {
    case SYNACK_OPT_ISS:
        if (value > UINT32_MAX)
            return SYNACK_EINVAL;
        if (k->kind == STACK_SOCK_CONN)
            return SYNACK_EISCONN; /* its SYN is gone already */
        k->has_iss = true;
        k->iss = (uint32_t)value;
        return 0;
    case SYNACK_OPT_SNDBUF:
    case SYNACK_OPT_RCVBUF:
        if (value == 0 || value > STACK_MAX_BUF)
            return SYNACK_EINVAL;
        if (k->kind != STACK_SOCK_NEW)
            return SYNACK_EINVAL; /* connect/listen fix the buffer sizes */
        if (option == SYNACK_OPT_SNDBUF)
            k->sndbuf = (uint32_t)value;
        else
            k->rcvbuf = (uint32_t)value;
        return 0;
    case SYNACK_OPT_USER_TIMEOUT: /* 0: never give up (the engine's convention) */
        k->user_timeout_us = value;
        if (k->kind == STACK_SOCK_CONN)
            k->conn->tcp.user_timeout_us = value; /* RFC 9293 3.8.3: may change any time */
        return 0;
    case SYNACK_OPT_NODELAY:
    case SYNACK_OPT_KEEPALIVE:
        if (value > 1)
            return SYNACK_EINVAL;
        if (option == SYNACK_OPT_NODELAY)
            k->opts.nodelay = value == 1;
        else
            k->opts.keepalive = value == 1;
        break;
    case SYNACK_OPT_CONGESTION:
        if (value != SYNACK_CC_NEWRENO && value != SYNACK_CC_CUBIC)
            return SYNACK_EINVAL;
        if (k->kind == STACK_SOCK_CONN)
            return SYNACK_EISCONN; /* chosen when the connection is established */
        k->opts.congestion = (uint8_t)value;
        return 0;
    case SYNACK_OPT_KEEPIDLE:
    case SYNACK_OPT_KEEPINTVL:
        if (value == 0)
            return SYNACK_EINVAL;
        if (option == SYNACK_OPT_KEEPIDLE)
            k->opts.ka_idle_us = value;
        else
            k->opts.ka_intvl_us = value;
        break;
    case SYNACK_OPT_KEEPCNT:
        if (value == 0 || value > 255)
            return SYNACK_EINVAL;
        k->opts.ka_probes = (uint32_t)value;
        break;
    default:
        return SYNACK_EINVAL;
    }
    /* Options that may change on a live connection take effect at once. */
    if (k->kind == STACK_SOCK_CONN && k->conn->state != SYNACK_CLOSED) {
        tcp_set_sockopts(&k->conn->tcp, &k->opts, s->now_us);
        stack_conn_after(s, k->conn);
    }
    return 0;
}

int synack_state(const struct synack_stack *s, int fd)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    switch (k->kind) {
    case STACK_SOCK_LISTEN:
        return SYNACK_LISTEN;
    case STACK_SOCK_CONN:
        return k->conn->state;
    default:
        return SYNACK_CLOSED;
    }
}

int synack_readiness(const struct synack_stack *s, int fd)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    return stack_sock_mask(s, k);
}

int synack_error(const struct synack_stack *s, int fd)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    return k->kind == STACK_SOCK_CONN ? stack_conn_error(k->conn) : 0;
}

int synack_getsockname(const struct synack_stack *s, int fd, struct synack_addr *out)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!out)
        return SYNACK_EINVAL;
    if (k->kind == STACK_SOCK_CONN)
        *out = (struct synack_addr){k->conn->lip, k->conn->lport};
    else
        *out = k->local; /* {0, 0} while unbound */
    return 0;
}

int synack_getpeername(const struct synack_stack *s, int fd, struct synack_addr *out)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!out)
        return SYNACK_EINVAL;
    if (k->kind != STACK_SOCK_CONN)
        return SYNACK_ENOTCONN;
    *out = (struct synack_addr){k->conn->rip, k->conn->rport};
    return 0;
}

int synack_status(const struct synack_stack *s, int fd, struct synack_status *out)
{
    struct stack_sock *k;
    int err = sock_lookup(s, fd, &k);
    if (err)
        return err;
    if (!out)
        return SYNACK_EINVAL;
    memset(out, 0, sizeof *out);
    switch (k->kind) {
    case STACK_SOCK_CONN: {
        const struct stack_conn *c = k->conn;
        /* RFC 9293 3.10.6: STATUS reports the TCB. */
        tcp_status(&c->tcp, out);
        out->state = c->state;
        out->local = (struct synack_addr){c->lip, c->lport};
        out->remote = (struct synack_addr){c->rip, c->rport};
        break;
    }
    case STACK_SOCK_LISTEN:
        out->state = SYNACK_LISTEN;
        out->local = k->local;
        break;
    default:
        out->state = SYNACK_CLOSED;
        out->local = k->local;
        break;
    }
    return 0;
}

int synack_events(struct synack_stack *s, struct synack_sock_event *events, int max)
{
    if (!s || max < 0 || (!events && max > 0))
        return SYNACK_EINVAL;
    int n = 0;
    /* Only sockets touched since the last call are looked at: O(changes), not O(sockets). */
    while (n < max && s->dirty_head != STACK_NO_FD) {
        int fd = s->dirty_head;
        stack_unmark_dirty(s, fd);
        struct stack_sock *k = &s->socks[fd];
        int mask = stack_sock_mask(s, k);
        if (mask != k->mask_reported) {
            k->mask_reported = mask;
            events[n].fd = fd;
            events[n].mask = mask;
            n++;
        }
    }
    return n;
}
