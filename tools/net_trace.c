/*
 * net_trace.c: one ladder per connection for `synack serve/connect --trace` (see
 * net_trace.h).
 *
 * Read first: src/trace/ladder.h (how a line is opened by a SEG_OUT and completed by the
 * matching SEG_IN), RFC 9293 3.5 and 3.6 (the transitions the peer's shadow state follows).
 *
 * Each connection (local port, remote address and port) has a ladder with synack on the
 * left and the peer on the right. Events reach it in this order:
 *   peer -> synack: net_trace_wire(IN) makes the peer's SEG_OUT (opens the line), the
 *                   stack's SEG_IN completes it;
 *   synack -> peer: the stack's SEG_OUT opens the line, net_trace_wire(OUT) - once the
 *                   packet is really on the device, after any injected delay - makes the
 *                   peer's SEG_IN and completes it, or a LINK loss marks it lost.
 * While the stack processes an arriving segment (INPUT_BEGIN to INPUT_END), the peer's
 * arrivals of what the stack sends meanwhile are held until INPUT_END: the stack reports the
 * arrival it is processing last, and the peer cannot receive an answer before the question
 * is processed. Events then come in the order two stacks on memnet produce them.
 * A connection that synack opens is held back until the peer's first answer: a SYN-ACK
 * says the peer was listening (LISTEN on line 1), a RST that it was not (CLOSED); then its
 * ladder starts and the held events are replayed.
 * A ladder is printed out and freed once synack's side is closed (it went through a
 * connection and is CLOSED again, or it answered with or received a RST) and no line of it
 * is waiting for its other half.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "link/tun.h"
#include "tcp/seq.h"
#include "net_trace.h"
#include "trace/ladder.h"
#include "trace/svg.h"
#include "wire/wire.h"

#define STATE_CLOSED 0 /* enum synack_state CLOSED (synack.h's macros hide the enumerator) */

#define HOLD_MAX 32 /* events held per connection while the peer's first answer is awaited */

/* A held event: the stack's, or the peer's receipt of one of our segments (wire). */
struct held_event {
    bool wire;                /* the peer's SEG_IN, to be made when replayed */
    struct synack_event ev;   /* the stack's event, or (wire) the segment's fields */
};

/* The peer's shadow TCB: just enough to follow its state through open and close. */
struct peer_model {
    int state;                /* inferred enum synack_state */
    bool syn_sent;            /* the peer's SYN was seen ... */
    uint32_t iss;             /* ... with this sequence number */
    bool fin_sent;            /* the peer's FIN was seen ... */
    uint32_t fin_seq;         /* ... occupying this sequence number */
};

/* One connection's ladder. */
struct conn_ladder {
    struct conn_ladder *next;
    struct ladder *l;         /* the text ladder, NULL without --trace */
    struct svg *svg;          /* the SVG diagram, NULL without --svg */
    uint16_t lport;           /* synack's port */
    uint32_t rip;             /* the peer's address and port */
    uint16_t rport;
    int us_initial;           /* synack's state on line 1 */
    int us_state;             /* synack's latest state */
    bool was_open;            /* synack's side has been past LISTEN */
    bool rst_seen;            /* a RST went either way */
    int pending_out;          /* our segments not yet on the device (delayed) */
    int pending_in;           /* the peer's segments not yet processed by the stack */
    struct peer_model peer;
    /* A connection synack opens is drawn once the peer's first answer tells whether it was
     * listening (SYN-ACK: LISTEN on line 1) or not (RST: CLOSED); until then its events are
     * held here, in order. */
    bool held;                /* l is NULL and events are held */
    struct held_event hold[HOLD_MAX];
    int nhold;
};

/* A peer arrival held until the stack has processed the current input. */
struct deferred {
    uint16_t lport;           /* its connection */
    uint32_t rip;
    uint16_t rport;
    struct synack_event seg;  /* the segment's fields */
};

struct net_trace {
    FILE *out;                /* the text ladders, NULL for none */
    const char *svg_path;     /* --svg FILE: the first connection's diagram, NULL for none */
    unsigned svg_count;       /* diagrams written so far */
    uint32_t ip;              /* synack's address */
    uint16_t listen_port;     /* 0: none */
    struct conn_ladder *conns;
    bool in_input;            /* between INPUT_BEGIN and INPUT_END */
    struct deferred *defer;   /* arrivals held while in_input */
    size_t ndefer, capdefer;
};

/* ---- The renderers of a connection ------------------------------------------------------- */

/* Starts c's renderers (ladder, SVG) with synack in us_state and the peer in peer_state on
 * line 1. Returns false when memory runs out. */
static bool draw_start(struct net_trace *t, struct conn_ladder *c, int us_state, int peer_state)
{
    struct synack_addr us = {t->ip, c->lport}, peer = {c->rip, c->rport};
    if (t->out)
        c->l = ladder_new(t->out, "synack", us, us_state, "peer", peer, peer_state);
    if (t->svg_path)
        c->svg = svg_new("synack", us, us_state, "peer", peer, peer_state);
    return (t->out == NULL || c->l != NULL) && (t->svg_path == NULL || c->svg != NULL);
}

/* Passes an event to c's renderers. */
static void draw(struct conn_ladder *c, const struct synack_event *ev)
{
    if (c->l)
        ladder_observe(c->l, ev);
    if (c->svg)
        svg_observe(c->svg, ev);
}

/* The file of the n-th diagram (n from 0): FILE, then FILE with -2, -3, ... before its
 * extension. */
static void svg_file_name(const char *path, unsigned n, char *out, size_t cap)
{
    if (n == 0) {
        snprintf(out, cap, "%s", path);
        return;
    }
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot == NULL || (slash && dot < slash))
        dot = path + strlen(path);
    snprintf(out, cap, "%.*s-%u%s", (int)(dot - path), path, n + 1, dot);
}

/* Ends c's renderers: prints what the ladder still holds, writes the SVG file. */
static void draw_end(struct net_trace *t, struct conn_ladder *c)
{
    if (c->l) {
        ladder_flush(c->l);
        ladder_free(c->l);
        fprintf(t->out, "\n");
        fflush(t->out);
    }
    if (c->svg) {
        char name[4096];
        svg_file_name(t->svg_path, t->svg_count++, name, sizeof name);
        FILE *f = fopen(name, "w");
        if (f == NULL || svg_write(c->svg, f) != 0 || fclose(f) != 0)
            fprintf(stderr, "synack: could not write the diagram %s\n", name);
        else
            fprintf(stderr, "synack: wrote the diagram of %s to %s\n", "a connection", name);
        svg_free(c->svg);
    }
}

/* ---- The peer's shadow state --------------------------------------------------------------- */

/* The peer sent seg (RFC 9293 3.5, 3.6: what sending SYN, SYN-ACK and FIN imply). */
static void peer_sent(struct peer_model *p, const struct synack_event *seg)
{
    if (seg->flags & SYNACK_RST) {
        p->state = STATE_CLOSED;
        return;
    }
    if (seg->flags & SYNACK_SYN) {
        p->syn_sent = true;
        p->iss = seg->seq;
        if (!(seg->flags & SYNACK_ACK)) {
            if (p->state == STATE_CLOSED)
                p->state = SYNACK_SYN_SENT; /* active OPEN */
        } else if (p->state == SYNACK_LISTEN || p->state == SYNACK_SYN_SENT ||
                   p->state == STATE_CLOSED) {
            p->state = SYNACK_SYN_RECEIVED;
        }
    }
    if (seg->flags & SYNACK_FIN) {
        if (!p->fin_sent) {
            p->fin_sent = true;
            p->fin_seq = seg->seq + seg->len + ((seg->flags & SYNACK_SYN) ? 1u : 0u);
        }
        if (p->state == SYNACK_ESTABLISHED || p->state == SYNACK_SYN_RECEIVED)
            p->state = SYNACK_FIN_WAIT_1; /* CLOSE, RFC 9293 3.10.4 */
        else if (p->state == SYNACK_CLOSE_WAIT)
            p->state = SYNACK_LAST_ACK;
    }
}

/* The peer received seg from synack: ACK processing, then FIN (RFC 9293 3.10.7.4). */
static void peer_received(struct peer_model *p, const struct synack_event *seg)
{
    if (seg->flags & SYNACK_RST) {
        if (p->state != SYNACK_LISTEN)
            p->state = STATE_CLOSED;
        return;
    }
    if ((seg->flags & SYNACK_SYN) && !(seg->flags & SYNACK_ACK)) {
        if (p->state == SYNACK_LISTEN || p->state == SYNACK_SYN_SENT)
            p->state = SYNACK_SYN_RECEIVED; /* passive open, or simultaneous open */
        return;
    }
    if (seg->flags & SYNACK_ACK) {
        bool acks_syn = p->syn_sent && seq_gt(seg->ack, p->iss);
        bool acks_fin = p->fin_sent && seq_gt(seg->ack, p->fin_seq);
        if (p->state == SYNACK_SYN_SENT && (seg->flags & SYNACK_SYN) && acks_syn)
            p->state = SYNACK_ESTABLISHED;
        else if (p->state == SYNACK_SYN_RECEIVED && acks_syn)
            p->state = SYNACK_ESTABLISHED;
        if (acks_fin) {
            if (p->state == SYNACK_FIN_WAIT_1)
                p->state = SYNACK_FIN_WAIT_2;
            else if (p->state == SYNACK_CLOSING)
                p->state = SYNACK_TIME_WAIT;
            else if (p->state == SYNACK_LAST_ACK)
                p->state = STATE_CLOSED;
        }
    }
    if (seg->flags & SYNACK_FIN) {
        if (p->state == SYNACK_ESTABLISHED || p->state == SYNACK_SYN_RECEIVED)
            p->state = SYNACK_CLOSE_WAIT;
        else if (p->state == SYNACK_FIN_WAIT_1)
            p->state = SYNACK_CLOSING;
        else if (p->state == SYNACK_FIN_WAIT_2)
            p->state = SYNACK_TIME_WAIT;
    }
}

/* ---- Ladders ------------------------------------------------------------------------------- */

static struct conn_ladder *find(struct net_trace *t, uint16_t lport, uint32_t rip, uint16_t rport)
{
    for (struct conn_ladder *c = t->conns; c; c = c->next) /* a handful of connections */
        if (c->lport == lport && c->rip == rip && c->rport == rport)
            return c;
    return NULL;
}

/* A new connection with synack in us_state on line 1. With held, its ladder waits for the
 * peer's first answer; else it starts now with the peer in peer_state. */
static struct conn_ladder *add(struct net_trace *t, uint16_t lport, uint32_t rip, uint16_t rport,
                               int us_state, int peer_state, bool held)
{
    struct conn_ladder *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->lport = lport;
    c->rip = rip;
    c->rport = rport;
    c->us_state = c->us_initial = us_state;
    c->peer.state = peer_state;
    c->held = held;
    if (!held && !draw_start(t, c, us_state, peer_state)) {
        if (c->l)
            ladder_free(c->l);
        if (c->svg)
            svg_free(c->svg);
        free(c);
        return NULL;
    }
    c->next = t->conns;
    t->conns = c;
    return c;
}

/* The peer's SEG_IN for our segment seg: its shadow state moves, the line completes. */
static void peer_gets(struct net_trace *t, struct conn_ladder *c, const struct synack_event *seg);

/* Starts the ladder of a held connection with the peer in peer_state on line 1, and replays
 * the held events. Without memory the events are lost, not the connection. */
static void resolve(struct net_trace *t, struct conn_ladder *c, int peer_state)
{
    if (!c->held)
        return;
    c->held = false;
    c->peer.state = peer_state;
    draw_start(t, c, c->us_initial, peer_state);
    for (int i = 0; i < c->nhold; i++) {
        if (c->hold[i].wire)
            peer_gets(t, c, &c->hold[i].ev);
        else
            draw(c, &c->hold[i].ev);
    }
    c->nhold = 0;
}

/* Passes an event to c's ladder, or holds it. A full hold resolves as "listening". */
static void to_ladder(struct net_trace *t, struct conn_ladder *c, bool wire,
                      const struct synack_event *ev)
{
    if (c->held && c->nhold == HOLD_MAX)
        resolve(t, c, SYNACK_LISTEN);
    if (c->held) {
        c->hold[c->nhold].wire = wire;
        c->hold[c->nhold].ev = *ev;
        c->nhold++;
        return;
    }
    if (wire)
        peer_gets(t, c, ev);
    else
        draw(c, ev);
}

static void peer_gets(struct net_trace *t, struct conn_ladder *c, const struct synack_event *seg)
{
    peer_received(&c->peer, seg);
    struct synack_event ev = *seg;
    ev.kind = SYNACK_EV_SEG_IN;
    ev.local = (struct synack_addr){c->rip, c->rport};
    ev.remote = (struct synack_addr){t->ip, c->lport};
    ev.state = ev.old_state = c->peer.state;
    draw(c, &ev);
}

static void drop(struct net_trace *t, struct conn_ladder *c)
{
    resolve(t, c, STATE_CLOSED); /* nobody ever answered */
    for (struct conn_ladder **p = &t->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    draw_end(t, c);
    free(c);
}

/* Prints and frees the ladder once its connection is over (see the file comment). */
static void maybe_done(struct net_trace *t, struct conn_ladder *c)
{
    bool over = c->us_state == STATE_CLOSED ||
                (c->us_state == SYNACK_LISTEN && c->was_open); /* a child reset to LISTEN */
    if (over && (c->was_open || c->rst_seen) && c->pending_out <= 0 && c->pending_in <= 0)
        drop(t, c);
}

static void note_state(struct conn_ladder *c, int state)
{
    c->us_state = state;
    if (state != STATE_CLOSED && state != SYNACK_LISTEN)
        c->was_open = true;
}

/* The fields of a parsed segment as an event (kind and sides are set by the user). */
static struct synack_event seg_event(const struct wire_tcp *seg, uint64_t now_us)
{
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_us = now_us;
    ev.seq = seg->seq;
    ev.ack = seg->ack;
    ev.wnd = seg->wnd;
    ev.len = seg->payload_len;
    ev.flags = seg->flags;
    ev.wscale = -1;
    return ev;
}

/* The peer received our segment ev: its arrival completes the line. */
static void peer_arrival(struct net_trace *t, uint16_t lport, uint32_t rip, uint16_t rport,
                         const struct synack_event *ev)
{
    struct conn_ladder *c = find(t, lport, rip, rport);
    if (c == NULL)
        return;
    c->pending_out--;
    to_ladder(t, c, true, ev);
    maybe_done(t, c);
}

/* Makes the arrivals held during an input. */
static void flush_deferred(struct net_trace *t)
{
    /* Each may print and free a ladder, never add to the list: index, not pointer. */
    for (size_t i = 0; i < t->ndefer; i++) {
        struct deferred d = t->defer[i];
        peer_arrival(t, d.lport, d.rip, d.rport, &d.seg);
    }
    t->ndefer = 0;
}

void net_trace_wire(void *arg, int what, const uint8_t *packet, size_t len, uint64_t now_us)
{
    struct net_trace *t = arg;
    if (t == NULL)
        return;
    if (what == TUN_WIRE_INPUT_BEGIN) {
        t->in_input = true;
        return;
    }
    if (what == TUN_WIRE_INPUT_END) {
        t->in_input = false;
        flush_deferred(t);
        return;
    }
    struct wire_ipv4 ip;
    struct wire_tcp seg;
    /* Only what the stack will see as a segment: checked like the stack checks it. */
    if (wire_ipv4_parse(packet, len, &ip) != 0 || ip.protocol != WIRE_PROTO_TCP ||
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg) != 0 ||
        seg.sport == 0 || seg.dport == 0)
        return;
    struct synack_event ev = seg_event(&seg, now_us);
    if (what == TUN_WIRE_IN) {
        if (ip.dst != t->ip)
            return;
        struct conn_ladder *c = find(t, seg.dport, ip.src, seg.sport);
        if (c == NULL) {
            int us = t->listen_port == seg.dport ? SYNACK_LISTEN : STATE_CLOSED;
            c = add(t, seg.dport, ip.src, seg.sport, us, STATE_CLOSED, false);
            if (c == NULL)
                return;
        }
        /* The peer's first answer to our SYN: it listened if it answers with a SYN. */
        resolve(t, c, (seg.flags & SYNACK_SYN) ? SYNACK_LISTEN : STATE_CLOSED);
        if (seg.flags & SYNACK_RST)
            c->rst_seen = true;
        peer_sent(&c->peer, &ev);
        c->pending_in++;
        ev.kind = SYNACK_EV_SEG_OUT;
        ev.local = (struct synack_addr){c->rip, c->rport};
        ev.remote = (struct synack_addr){t->ip, c->lport};
        ev.state = ev.old_state = c->peer.state;
        to_ladder(t, c, false, &ev);
    } else if (what == TUN_WIRE_OUT) {
        if (ip.src != t->ip)
            return;
        if (!t->in_input) {
            peer_arrival(t, seg.sport, ip.dst, seg.dport, &ev);
            return;
        }
        if (t->ndefer == t->capdefer) {
            size_t cap = t->capdefer ? 2 * t->capdefer : 16;
            struct deferred *d = realloc(t->defer, cap * sizeof *d);
            if (d == NULL) {
                peer_arrival(t, seg.sport, ip.dst, seg.dport, &ev); /* out of order, not lost */
                return;
            }
            t->defer = d;
            t->capdefer = cap;
        }
        t->defer[t->ndefer++] = (struct deferred){seg.sport, ip.dst, seg.dport, ev};
    }
}

void net_trace_observe(void *arg, const struct synack_event *ev)
{
    struct net_trace *t = arg;
    if (t == NULL || ev == NULL)
        return;
    struct conn_ladder *c;
    switch (ev->kind) {
    case SYNACK_EV_LINK:
        if (ev->link_action != SYNACK_LINK_LOST)
            return;
        if (ev->local.ip == t->ip) { /* ours, lost on the way out */
            c = find(t, ev->local.port, ev->remote.ip, ev->remote.port);
            if (c)
                c->pending_out--;
        } else { /* the peer's, lost on the way in */
            c = find(t, ev->remote.port, ev->local.ip, ev->local.port);
            if (c)
                c->pending_in--;
        }
        if (c == NULL)
            return;
        to_ladder(t, c, false, ev);
        maybe_done(t, c);
        return;
    case SYNACK_EV_SEG_OUT:
        c = find(t, ev->local.port, ev->remote.ip, ev->remote.port);
        if (c == NULL) {
            /* Our SYN opens a connection; anything else answers a segment the trace did not
             * see (the peer is drawn as CLOSED). */
            bool syn = (ev->flags & SYNACK_SYN) && !(ev->flags & SYNACK_ACK);
            c = add(t, ev->local.port, ev->remote.ip, ev->remote.port, STATE_CLOSED,
                    STATE_CLOSED, syn);
            if (c == NULL)
                return;
        }
        if (ev->flags & SYNACK_RST)
            c->rst_seen = true;
        c->pending_out++;
        note_state(c, ev->state);
        to_ladder(t, c, false, ev);
        return;
    case SYNACK_EV_SEG_IN:
        c = find(t, ev->local.port, ev->remote.ip, ev->remote.port);
        if (c == NULL)
            return;
        c->pending_in--;
        note_state(c, ev->state);
        to_ladder(t, c, false, ev);
        maybe_done(t, c);
        return;
    case SYNACK_EV_STATE:
        c = find(t, ev->local.port, ev->remote.ip, ev->remote.port);
        if (c == NULL) {
            if (ev->state != SYNACK_SYN_SENT)
                return; /* a listener's child is announced by the peer's SYN first */
            c = add(t, ev->local.port, ev->remote.ip, ev->remote.port, ev->old_state,
                    STATE_CLOSED, true);
            if (c == NULL)
                return;
        }
        note_state(c, ev->state);
        to_ladder(t, c, false, ev);
        maybe_done(t, c);
        return;
    default:
        return;
    }
}

struct net_trace *net_trace_new(FILE *out, uint32_t our_ip)
{
    struct net_trace *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->out = out;
    t->ip = our_ip;
    return t;
}

void net_trace_set_svg(struct net_trace *t, const char *path)
{
    if (t)
        t->svg_path = path;
}

void net_trace_set_listen_port(struct net_trace *t, uint16_t port)
{
    if (t)
        t->listen_port = port;
}

void net_trace_free(struct net_trace *t)
{
    if (t == NULL)
        return;
    flush_deferred(t);
    while (t->conns)
        drop(t, t->conns);
    free(t->defer);
    free(t);
}
