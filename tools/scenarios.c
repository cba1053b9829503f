/*
 * scenarios.c: the scenario library of `synack demo` (see scenarios.h, docs/scenarios.md).
 *
 * Every scenario runs two real stacks, A (10.0.0.1) and B (10.0.0.2), over memnet with a
 * virtual clock, so a run is the same every time. The environment (struct scen) gives the
 * scenarios a few tools:
 *   - a link per side, stack -> pcap tap -> fault rules -> memnet. A rule picks packets by
 *     sender and flags ("A's first SYN", "B's second data segment") and has memnet lose or
 *     hold back exactly those, so memnet reports the fault as it does for random ones;
 *   - crafted segments (old duplicates, an attacker's SYNs) handed to a stack directly;
 *   - a reboot: a side's stack replaced by a fresh one on the same memnet node;
 *   - the renderers, all fed by the same trace events once the scenario starts the trace:
 *     ladder (text), SVG, JSON lines, pcap, and the per-side state summary;
 *   - checks (expect) and result lines printed after the ladder.
 * ISNs are fixed per scenario so the ladders show the numbers RFC 9293's figures use.
 */


#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/memnet.h"
#include "link/pcap.h"
#include "synack.h"
#include "scenarios.h"
#include "trace/format.h"
#include "trace/json.h"
#include "trace/ladder.h"
#include "trace/summary.h"
#include "trace/svg.h"
#include "wire/wire.h"

#define A 0                  /* side index: TCP Peer A, the left column */
#define B 1                  /* side index: TCP Peer B, the right column */
#define IP_A 0x0a000001u     /* 10.0.0.1 */
#define IP_B 0x0a000002u     /* 10.0.0.2 */
#define IP_ATTACKER 0x0a000042u /* 10.0.0.66: a spoofed source nobody answers from */
#define PORT_A 1000          /* A's port, as in the figure tests */
#define PORT_B 2000          /* B's port */

#define MS 1000ull           /* one millisecond in microseconds */
#define SEC 1000000ull       /* one second in microseconds */
#define DEFAULT_DELAY (1 * MS) /* one-way delay of the scenarios */
#define DEFAULT_MSL (120 * SEC) /* RFC 9293 3.4.2 */

#define RULE_MAX 4           /* fault rules armed at once */
#define RESULT_MAX 4096      /* bytes of result lines */
#define ECHO_PORT 7          /* the echo demo's server port (RFC 862) */
#define ECHO_MAX_EVENTS 16   /* readiness events taken per call */
#define ECHO_SLACK (600 * SEC) /* echo demo run limit beyond 2 x MSL */

/* Which packets a fault rule takes: sent by side, with every flag of must and none of
 * must_not (PSH ignored), with payload when data > 0, without when data == 0, either when
 * data < 0. The first skip matches pass; the next count are lost (delay_us 0) or held back
 * delay_us. */
struct rule {
    bool armed;
    int side;
    uint8_t must, must_not;
    int data;
    int skip, count;
    uint64_t delay_us;
};

/* One side's link: the stack sends into the tap, the tap into filter_send, that into
 * memnet. */
struct side_link {
    struct scen *sc;
    int side;
    struct pcap_tap tap;
    struct synack_link mem;
};

/* A recorded trace event of the pair, for the scenarios' checks. */
struct rec {
    int kind, side;          /* side: the reporting stack's (A or B), or the sender for LINK */
    uint32_t seq, ack, len, wnd;
    uint8_t flags;
    int old_state, state, reason, link_action;
    bool retransmit;
    uint64_t time_us;
};

struct scen {
    const struct scenario *def;
    const struct scenario_opts *o;
    FILE *out;
    struct memnet *net;
    int node[2];
    struct synack_stack *s[2];     /* the node's current stack (replaced on reboot) */
    struct synack_config cfg[2];
    struct side_link link[2];
    struct memnet_path path[2];    /* A -> B and B -> A as set */
    struct synack_addr addr[2];    /* the endpoints the renderers follow */
    struct rule rules[RULE_MAX];

    bool tracing;                  /* the renderers are attached */
    uint64_t trace_start_us;
    struct ladder *ladder;
    struct svg *svg;
    struct json_trace *json;
    struct summary *summary;
    struct pcap_writer *pcap;
    FILE *json_file;
    bool raw;                      /* SYNACK_RAW_EVENTS set: every event on stderr */

    struct rec *log;               /* events of the pair since the trace started */
    size_t nlog, caplog;

    char results[RESULT_MAX];      /* result lines printed after the ladder */
    size_t nresults;
    bool failed;
    char failure[256];             /* the first failed check */
};

/* ---- Environment ----------------------------------------------------------------------- */

/* Records the first failed check; returns ok. */
static bool expect(struct scen *sc, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool expect(struct scen *sc, bool ok, const char *fmt, ...)
{
    if (ok || sc->failed)
        return ok;
    sc->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->failure, sizeof sc->failure, fmt, ap);
    va_end(ap);
    return false;
}

/* Adds a line to the results printed after the ladder. */
static void result(struct scen *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(struct scen *sc, const char *fmt, ...)
{
    if (sc->nresults + 4 >= RESULT_MAX)
        return;
    memcpy(sc->results + sc->nresults, "  ", 2);
    sc->nresults += 2;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sc->results + sc->nresults, RESULT_MAX - sc->nresults - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        sc->nresults += (size_t)n < RESULT_MAX - sc->nresults - 2
                            ? (size_t)n
                            : RESULT_MAX - sc->nresults - 2;
    sc->results[sc->nresults++] = '\n';
    sc->results[sc->nresults] = '\0';
}

static const char *side_name(int side)
{
    return side == A ? "A" : "B";
}

/* The side an address belongs to (A or B by IP), or -1. */
static int side_by_ip(uint32_t ip)
{
    return ip == IP_A ? A : ip == IP_B ? B : -1;
}

static void log_event(struct scen *sc, const struct synack_event *ev)
{
    int side = side_by_ip(ev->local.ip);
    if (side < 0 || side_by_ip(ev->remote.ip) != 1 - side)
        return; /* not between A and B */
    if (sc->nlog == sc->caplog) {
        size_t cap = sc->caplog ? sc->caplog * 2 : 256;
        struct rec *p = realloc(sc->log, cap * sizeof *p);
        if (p == NULL)
            return;
        sc->log = p;
        sc->caplog = cap;
    }
    struct rec *r = &sc->log[sc->nlog++];
    r->kind = ev->kind;
    r->side = side;
    r->seq = ev->seq;
    r->ack = ev->ack;
    r->len = ev->len;
    r->wnd = ev->wnd;
    r->flags = ev->flags;
    r->old_state = ev->old_state;
    r->state = ev->state;
    r->reason = ev->reason;
    r->link_action = ev->link_action;
    r->retransmit = ev->retransmit;
    r->time_us = ev->time_us;
}

/* The observer of both stacks and memnet: every renderer, and the log. */
static void scen_observe(void *arg, const struct synack_event *ev)
{
    struct scen *sc = arg;

    if (!sc->tracing)
        return;
    if (sc->raw) {
        char seg[TRACE_SEG_MAX], l[TRACE_ADDR_MAX], r[TRACE_ADDR_MAX];
        fprintf(stderr, "raw %" PRIu64 " kind=%d %s -> %s %s state %s->%s reason=%d link=%d%s\n",
                ev->time_us, ev->kind, trace_format_addr(l, sizeof l, ev->local),
                trace_format_addr(r, sizeof r, ev->remote),
                trace_format_segment(seg, sizeof seg, ev->seq, ev->ack, ev->flags, ev->len),
                synack_state_name(ev->old_state), synack_state_name(ev->state), ev->reason,
                ev->link_action, ev->retransmit ? " rtx" : "");
    }
    log_event(sc, ev);
    ladder_observe(sc->ladder, ev);
    svg_observe(sc->svg, ev);
    json_observe(sc->json, ev);
    summary_observe(sc->summary, ev);
}

/* memnet node operations: arg points at the scenario's stack slot, so a reboot swaps it. */
static void node_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    struct synack_stack **s = arg;
    synack_stack_input(*s, packet, len, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    struct synack_stack **s = arg;
    return synack_stack_poll(*s, now_us);
}

static uint64_t tap_clock_ns(void *arg)
{
    struct scen *sc = arg;
    return memnet_now(sc->net) * 1000;
}

/* Whether rule r takes the packet side sends with header t. */
static bool rule_matches(const struct rule *r, int side, const struct wire_tcp *t)
{
    uint8_t flags = t->flags & (uint8_t)~SYNACK_PSH;
    if (!r->armed || r->count <= 0 || r->side != side)
        return false;
    if ((flags & r->must) != r->must || (flags & r->must_not) != 0)
        return false;
    if (r->data > 0 && t->payload_len == 0)
        return false;
    if (r->data == 0 && t->payload_len != 0)
        return false;
    return true;
}

/* The fault rules, between the tap and memnet: a packet a rule takes goes into memnet on a
 * path that loses it or holds it back, so memnet reports what happened to it. */
static void filter_send(void *arg, const uint8_t *packet, size_t len)
{
    struct side_link *lk = arg;
    struct scen *sc = lk->sc;
    struct wire_ipv4 ip;
    struct wire_tcp t;
    struct rule *hit = NULL;

    if (wire_ipv4_parse(packet, len, &ip) == 0 && ip.protocol == WIRE_PROTO_TCP &&
        ip.dst == (lk->side == A ? IP_B : IP_A) &&
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &t) == 0) {
        for (int i = 0; i < RULE_MAX && hit == NULL; i++) {
            struct rule *r = &sc->rules[i];
            if (rule_matches(r, lk->side, &t)) {
                if (r->skip > 0) {
                    r->skip--;
                } else {
                    r->count--;
                    hit = r;
                }
            }
        }
    }
    if (hit == NULL) {
        lk->mem.send(lk->mem.arg, packet, len);
        return;
    }
    uint32_t from = lk->side == A ? IP_A : IP_B, to = lk->side == A ? IP_B : IP_A;
    struct memnet_path p = sc->path[lk->side];
    if (hit->delay_us == 0) {
        p.loss = 1.0;
    } else {
        p.reorder = 1.0;
        p.reorder_us = hit->delay_us;
    }
    memnet_set_path(sc->net, from, to, &p);
    lk->mem.send(lk->mem.arg, packet, len);
    memnet_set_path(sc->net, from, to, &sc->path[lk->side]);
}

/* Arms a rule; see struct rule. */
static void add_rule(struct scen *sc, int side, uint8_t must, uint8_t must_not, int data,
                     int skip, int count, uint64_t delay_us)
{
    for (int i = 0; i < RULE_MAX; i++) {
        struct rule *r = &sc->rules[i];
        if (!r->armed || r->count <= 0) {
            *r = (struct rule){true, side, must, must_not, data, skip, count, delay_us};
            return;
        }
    }
    expect(sc, false, "too many fault rules");
}

/* Sets the one-way delay of side's direction. */
static void set_delay(struct scen *sc, int side, uint64_t delay_us)
{
    sc->path[side].delay_us = delay_us;
    memnet_set_path(sc->net, side == A ? IP_A : IP_B, side == A ? IP_B : IP_A, &sc->path[side]);
}

static bool stack_create(struct scen *sc, int side)
{
    struct side_link *lk = &sc->link[side];
    struct synack_link link = pcap_tap_link(&lk->tap);
    sc->s[side] = synack_stack_new(&sc->cfg[side], &link);
    if (sc->s[side] == NULL)
        return false;
    synack_stack_set_observer(sc->s[side], scen_observe, sc);
    return true;
}

/* A crashes and comes back with no memory of its connections: a fresh stack on the same
 * node (RFC 9293 3.5.1). */
static bool reboot(struct scen *sc, int side)
{
    synack_stack_free(sc->s[side]);
    if (!stack_create(sc, side))
        return false;
    synack_stack_poll(sc->s[side], memnet_now(sc->net)); /* the new stack learns the time */
    return true;
}

/* One step of splitmix64: a well-mixed 64-bit value from a counter. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The RFC 6528 key of host number host (0 = A, 1 = B), derived from the seed. */
static void derive_isn_key(uint64_t seed, unsigned host, uint8_t key[16])
{
    uint64_t x = seed ^ (0x5eed15a0ull + host) * 0x100000001b3ull;
    for (int i = 0; i < 2; i++) {
        uint64_t v = splitmix64(&x);
        for (int j = 0; j < 8; j++)
            key[i * 8 + j] = (uint8_t)(v >> (8 * j));
    }
}

/* Builds the network and the two stacks; the trace is not started. Returns false (and
 * prints why) on failure. */
static bool scen_init(struct scen *sc)
{
    sc->raw = getenv("SYNACK_RAW_EVENTS") != NULL;
    sc->net = memnet_new(sc->o->seed);
    if (sc->net == NULL)
        return false;
    sc->node[A] = memnet_add_node(sc->net, IP_A);
    sc->node[B] = memnet_add_node(sc->net, IP_B);
    if (sc->node[A] < 0 || sc->node[B] < 0)
        return false;
    memnet_set_observer(sc->net, scen_observe, sc);
    for (int side = A; side <= B; side++) {
        sc->path[side].delay_us = DEFAULT_DELAY;
        set_delay(sc, side, DEFAULT_DELAY);
        synack_config_default(&sc->cfg[side]);
        sc->cfg[side].ip = side == A ? IP_A : IP_B;
        sc->cfg[side].msl_us = sc->o->msl_us;
        derive_isn_key(sc->o->seed, (unsigned)side, sc->cfg[side].isn_key);
        struct side_link *lk = &sc->link[side];
        lk->sc = sc;
        lk->side = side;
        lk->mem = memnet_link(sc->net, sc->node[side]);
        lk->tap.w = NULL; /* nothing recorded until the trace starts */
        lk->tap.inner = (struct synack_link){.arg = lk, .send = filter_send};
        lk->tap.clock_ns = tap_clock_ns;
        lk->tap.clock_arg = sc;
    }
    sc->addr[A] = (struct synack_addr){IP_A, PORT_A};
    sc->addr[B] = (struct synack_addr){IP_B, PORT_B};
    return true;
}

/* Creates the stacks (after a scenario changed their configuration). */
static bool scen_stacks(struct scen *sc)
{
    for (int side = A; side <= B; side++) {
        if (!stack_create(sc, side))
            return false;
        struct memnet_node_ops ops = {&sc->s[side], node_input, node_poll};
        memnet_attach(sc->net, sc->node[side], &ops);
    }
    return true;
}

static void scen_free(struct scen *sc)
{
    synack_stack_free(sc->s[A]);
    synack_stack_free(sc->s[B]);
    memnet_free(sc->net);
    ladder_free(sc->ladder);
    svg_free(sc->svg);
    json_free(sc->json);
    summary_free(sc->summary);
    free(sc->log);
}

/* Starts the trace: from now on every renderer sees the events. The ladder's line 1 shows
 * the given states. */
static void trace_start(struct scen *sc, const char *name_a, const char *name_b, int state_a,
                        int state_b)
{
    const struct scenario_opts *o = sc->o;
    uint64_t now = memnet_now(sc->net);

    sc->ladder = ladder_new(sc->out, name_a, sc->addr[A], state_a, name_b, sc->addr[B],
                            state_b);
    ladder_set_verbose(sc->ladder, o->verbose);
    sc->summary = summary_new(name_a, sc->addr[A], state_a, name_b, sc->addr[B], state_b, now);
    if (o->svg_path) {
        sc->svg = svg_new(name_a, sc->addr[A], state_a, name_b, sc->addr[B], state_b);
        char title[160];
        snprintf(title, sizeof title, "synack demo --scenario %s: %s", sc->def->name,
                 sc->def->description);
        svg_set_title(sc->svg, title);
        svg_set_msl(sc->svg, o->msl_us);
    }
    if (sc->json_file)
        sc->json = json_new(sc->json_file, sc->addr[A], sc->addr[B]);
    sc->link[A].tap.w = sc->link[B].tap.w = sc->pcap;
    sc->trace_start_us = now;
    sc->tracing = true;
}

/* A note above side's next ladder line, and beside its lifeline in the SVG. */
static void note(struct scen *sc, int side, const char *text)
{
    ladder_note(sc->ladder, side == A ? LADDER_A : LADDER_B, text);
    svg_note(sc->svg, side == A ? SVG_A : SVG_B, text);
}

/* A line of notes of its own. */
static void note_line(struct scen *sc, const char *left, const char *right)
{
    ladder_note_line(sc->ladder, left, right);
    if (left && left[0])
        svg_note(sc->svg, SVG_A, left);
    if (right && right[0])
        svg_note(sc->svg, SVG_B, right);
}

/* Hands side a crafted segment from (src, sport) to side's (dst, dport), now, and records it
 * in the capture as received. */
static void inject(struct scen *sc, int side, uint32_t src, uint16_t sport, uint16_t dport,
                   uint32_t seq, uint32_t ack, uint8_t flags)
{
    struct wire_tcp_out o;
    uint8_t pkt[128];

    memset(&o, 0, sizeof o);
    o.src = src;
    o.dst = side == A ? IP_A : IP_B;
    o.sport = sport;
    o.dport = dport;
    o.seq = seq;
    o.ack = ack;
    o.flags = flags;
    o.wnd = 65535;
    o.ttl = 64;
    size_t n = wire_emit(pkt, sizeof pkt, &o);
    if (!expect(sc, n > 0, "cannot build a crafted segment"))
        return;
    pcap_tap_input(&sc->link[side].tap, pkt, n);
    synack_stack_input(sc->s[side], pkt, n, memnet_now(sc->net));
}

static uint64_t now(const struct scen *sc)
{
    return memnet_now(sc->net);
}

static void run_until(struct scen *sc, uint64_t t)
{
    memnet_run_until(sc->net, t);
}

static void run_for(struct scen *sc, uint64_t d)
{
    memnet_run_until(sc->net, now(sc) + d);
}

/* Runs until fd of side is in state (or the clock passes limit); returns whether it is. */
static bool run_until_state(struct scen *sc, int side, int fd, int state, uint64_t limit)
{
    while (synack_state(sc->s[side], fd) != state)
        if (!memnet_step(sc->net, limit))
            return synack_state(sc->s[side], fd) == state;
    return true;
}

/* A socket of side bound to port (0: none), with ISS iss. */
static int open_socket(struct scen *sc, int side, uint16_t port, uint32_t iss)
{
    struct synack_stack *s = sc->s[side];
    int fd = synack_socket(s);
    if (!expect(sc, fd >= 0, "%s cannot create a socket", side_name(side)))
        return -1;
    if (port != 0) {
        struct synack_addr a = {side == A ? IP_A : IP_B, port};
        expect(sc, synack_bind(s, fd, &a) == 0, "%s cannot bind port %u", side_name(side),
               (unsigned)port);
    }
    expect(sc, synack_setopt(s, fd, SYNACK_OPT_ISS, iss) == 0, "cannot set the ISS");
    return fd;
}

static int listen_on(struct scen *sc, int side, uint16_t port, uint32_t iss, int backlog)
{
    int fd = open_socket(sc, side, port, iss);
    if (fd >= 0)
        expect(sc, synack_listen(sc->s[side], fd, backlog) == 0, "%s cannot listen",
               side_name(side));
    return fd;
}

static int connect_to(struct scen *sc, int side, uint16_t port, uint32_t iss, uint16_t rport)
{
    int fd = open_socket(sc, side, port, iss);
    struct synack_addr peer = {side == A ? IP_B : IP_A, rport};
    if (fd >= 0)
        expect(sc, synack_connect(sc->s[side], fd, &peer) == SYNACK_EINPROGRESS,
               "%s's connect did not start", side_name(side));
    return fd;
}

/* Set-up before the trace: A (PORT_A, ISS iss_a - 1) connected to B (PORT_B, ISS iss_b - 1),
 * so that A's next sequence number is iss_a and B's is iss_b, as Figures 9, 10, 12 and 13
 * start. B's listener stays open in *lfd when lfd is not NULL, else it is closed. Returns
 * false when the handshake did not complete. */
static bool pair(struct scen *sc, uint32_t iss_a, uint32_t iss_b, int *fd_a, int *fd_b,
                 int *lfd)
{
    int l = listen_on(sc, B, PORT_B, iss_b - 1, 8);
    *fd_a = connect_to(sc, A, PORT_A, iss_a - 1, PORT_B);
    if (!expect(sc, run_until_state(sc, A, *fd_a, SYNACK_ESTABLISHED, now(sc) + SEC),
                "the set-up handshake failed"))
        return false;
    run_for(sc, 5 * MS); /* the handshake's last ACK arrives */
    *fd_b = synack_accept(sc->s[B], l, NULL);
    if (!expect(sc, *fd_b >= 0, "B did not accept the set-up connection"))
        return false;
    if (lfd)
        *lfd = l;
    else
        synack_close(sc->s[B], l);
    return true;
}

/* ---- Checks on the log ----------------------------------------------------------------- */

/* The n-th (from 0) SEG_OUT of side with every flag of must, or NULL. */
static const struct rec *nth_out(const struct scen *sc, int side, uint8_t must, int n)
{
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_OUT && r->side == side && (r->flags & must) == must &&
            n-- == 0)
            return r;
    }
    return NULL;
}

/* How many SEG_OUTs side sent with every flag of must (retransmissions only if rtx). */
static int count_out(const struct scen *sc, int side, uint8_t must, bool rtx)
{
    int n = 0;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_OUT && r->side == side && (r->flags & must) == must &&
            (!rtx || r->retransmit))
            n++;
    }
    return n;
}

/* The time side entered state (the first time), or UINT64_MAX. */
static uint64_t entered(const struct scen *sc, int side, int state)
{
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_STATE && r->side == side && r->state == state)
            return r->time_us;
    }
    return UINT64_MAX;
}

/* The time side entered state the last time, or UINT64_MAX. */
static uint64_t entered_last(const struct scen *sc, int side, int state)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_STATE && r->side == side && r->state == state)
            t = r->time_us;
    }
    return t;
}

static const char *dur(char *buf, uint64_t us)
{
    return trace_format_duration(buf, TRACE_TIME_MAX, us);
}

/* Reads everything available on fd into buf (cap bytes, *n used); returns true at EOF. */
static bool drain(struct scen *sc, int side, int fd, char *buf, size_t cap, size_t *n)
{
    for (;;) {
        char tmp[2048];
        int r = synack_recv(sc->s[side], fd, tmp, sizeof tmp);
        if (r == 0)
            return true;
        if (r < 0)
            return false;
        size_t take = (size_t)r < cap - *n ? (size_t)r : cap - *n;
        memcpy(buf + *n, tmp, take);
        *n += take;
    }
}

/* Sends all of buf (queued in the send buffer); returns whether everything fit. */
static bool send_all(struct scen *sc, int side, int fd, const void *buf, size_t len)
{
    int n = synack_send(sc->s[side], fd, buf, len);
    return n >= 0 && (size_t)n == len;
}

/* ---- RFC 9293 Figures 6 to 13 --------------------------------------------------------- */

#define PEER_A "TCP Peer A" /* the names RFC 9293's figures use */
#define PEER_B "TCP Peer B"

/* Figure 6: Basic Three-Way Handshake for Connection Synchronization. */
static int run_handshake(struct scen *sc)
{
    char buf[16];
    size_t n = 0;

    if (!scen_stacks(sc))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_LISTEN);
    int lfd = listen_on(sc, B, PORT_B, 300, 8);              /* line 1: B LISTEN */
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B);         /* line 2 */
    if (!expect(sc, run_until_state(sc, A, fd, SYNACK_ESTABLISHED, 10 * MS),
                "A did not reach ESTABLISHED"))
        return -1;                                           /* lines 3, 4 */
    expect(sc, send_all(sc, A, fd, "hello", 5), "A could not send");  /* line 5 */
    run_for(sc, 5 * MS);
    int cfd = synack_accept(sc->s[B], lfd, NULL);
    if (!expect(sc, cfd >= 0, "B did not accept the connection"))
        return -1;
    drain(sc, B, cfd, buf, sizeof buf, &n);
    expect(sc, n == 5 && memcmp(buf, "hello", 5) == 0, "B did not receive the data");
    expect(sc, synack_state(sc->s[B], cfd) == SYNACK_ESTABLISHED, "B is not ESTABLISHED");
    result(sc, "both sides are ESTABLISHED after three segments; B accepted the connection");
    result(sc, "and read the 5 bytes of line 5 (\"hello\"); line 6 is B's acknowledgment of them");
    return 0;
}

/* Figure 7: Simultaneous Connection Synchronization. Both connect at time 0 with bound
 * ports; B's SYN travels faster (1 ms against 2 ms), so it reaches A (line 3) before A's
 * reaches B (line 4). */
static int run_simultaneous_open(struct scen *sc)
{
    if (!scen_stacks(sc))
        return -1;
    set_delay(sc, A, 2 * MS);
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_CLOSED);
    int fa = connect_to(sc, A, PORT_A, 100, PORT_B);
    int fb = connect_to(sc, B, PORT_B, 300, PORT_A);
    run_for(sc, 10 * MS);
    expect(sc, synack_state(sc->s[A], fa) == SYNACK_ESTABLISHED, "A is not ESTABLISHED");
    expect(sc, synack_state(sc->s[B], fb) == SYNACK_ESTABLISHED, "B is not ESTABLISHED");
    expect(sc, entered(sc, A, SYNACK_SYN_RECEIVED) != UINT64_MAX &&
                   entered(sc, B, SYNACK_SYN_RECEIVED) != UINT64_MAX,
           "a side did not pass through SYN-RECEIVED");
    result(sc, "both sides went CLOSED -> SYN-SENT -> SYN-RECEIVED -> ESTABLISHED, and both");
    result(sc, "connect() calls succeeded: one connection, not two (RFC 9293 MUST-10)");
    return 0;
}

/* Figure 8: Recovery from Old Duplicate SYN. A's SYN (line 2) is slow (10 ms); an old
 * duplicate SYN from A's address and port (crafted, line 3) reaches B first. */
static int run_old_duplicate_syn(struct scen *sc)
{
    if (!scen_stacks(sc))
        return -1;
    set_delay(sc, A, 10 * MS);
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_LISTEN);
    int lfd = listen_on(sc, B, PORT_B, 300, 8);
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B); /* line 2: arrives at 10 ms */
    set_delay(sc, A, 1 * MS);                        /* the RST will overtake it */
    run_until(sc, 1 * MS);
    inject(sc, B, IP_A, PORT_A, PORT_B, 90, 0, SYNACK_SYN); /* line 3 */
    run_until(sc, 3 * MS);                                   /* lines 4, 5 */
    expect(sc, synack_state(sc->s[A], fd) == SYNACK_SYN_SENT, "A left SYN-SENT");
    synack_setopt(sc->s[B], lfd, SYNACK_OPT_ISS, 400);       /* B's next ISS */
    run_until(sc, 12 * MS);                                  /* lines 6, 7, 8 */
    expect(sc, synack_state(sc->s[A], fd) == SYNACK_ESTABLISHED, "A is not ESTABLISHED");
    int cfd = synack_accept(sc->s[B], lfd, NULL);
    expect(sc, cfd >= 0, "B did not accept the connection");
    expect(sc, synack_accept(sc->s[B], lfd, NULL) == SYNACK_EAGAIN,
           "the old duplicate left a connection behind");
    result(sc, "A's RST sent B back to LISTEN; A's real SYN then opened the one connection");
    return 0;
}

/* Figure 9: Half-Open Connection Discovery. A reboots and opens again from the same port
 * with ISS 400; B, still ESTABLISHED, answers with what it expects (line 4), A's RST aborts
 * B (line 5), and A's retransmitted SYN (line 7) meets B's listener and completes. */
static int run_half_open(struct scen *sc)
{
    int fa, fb, lfd;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, &lfd))
        return -1;
    if (!expect(sc, reboot(sc, A), "A cannot reboot"))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_ESTABLISHED);
    note_line(sc, "(REBOOT)", "(send 300,receive 100)");      /* line 1 */
    uint64_t t0 = now(sc);
    synack_setopt(sc->s[B], lfd, SYNACK_OPT_ISS, 600);        /* a later connection's ISS */
    int fd = connect_to(sc, A, PORT_A, 400, PORT_B);          /* line 3 */
    run_until(sc, t0 + 3 * MS);                               /* lines 4, 5 */
    ladder_status(sc->ladder);                                /* line 6 */
    expect(sc, synack_state(sc->s[A], fd) == SYNACK_SYN_SENT, "A left SYN-SENT");
    expect(sc, synack_state(sc->s[B], fb) == SYNACK_CLOSED, "B did not abort");
    expect(sc, synack_error(sc->s[B], fb) == SYNACK_ECONNRESET, "B's error is not ECONNRESET");
    if (!expect(sc, run_until_state(sc, A, fd, SYNACK_ESTABLISHED, t0 + 5 * SEC),
                "A's retransmitted SYN did not connect"))
        return -1;                                            /* line 7 on */
    run_for(sc, 5 * MS);
    expect(sc, synack_accept(sc->s[B], lfd, NULL) >= 0, "B did not accept the new connection");
    result(sc, "B's old connection ended with ECONNRESET; A's retransmitted SYN (line 7)");
    result(sc, "reached B's listener and opened a new connection, as in Figure 6");
    return 0;
}

/* Figure 10: Active Side Causes Half-Open Connection Discovery. A reboots; B sends 10 bytes
 * on what it thinks is a synchronized connection; A's RST aborts B. */
static int run_half_open_data(struct scen *sc)
{
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    if (!expect(sc, reboot(sc, A), "A cannot reboot"))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_ESTABLISHED);
    note_line(sc, "(REBOOT)", "(send 300,receive 100)");
    expect(sc, send_all(sc, B, fb, "0123456789", 10), "B could not send"); /* line 2 */
    run_for(sc, 5 * MS);                                                   /* line 3 */
    expect(sc, synack_state(sc->s[B], fb) == SYNACK_CLOSED, "B did not abort");
    expect(sc, synack_error(sc->s[B], fb) == SYNACK_ECONNRESET, "B's error is not ECONNRESET");
    result(sc, "B's connection ended with ECONNRESET: its next recv() or send() reports it");
    return 0;
}

/* Figure 11: Old Duplicate SYN Initiates a Reset on Two Passive Sockets. Z = 1000 (the old
 * SYN, crafted with A's address and listening port), X = 5000 (B's ISS). */
static int run_two_passive(struct scen *sc)
{
    struct synack_stats st;

    if (!scen_stacks(sc))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_LISTEN, SYNACK_LISTEN);
    int la = listen_on(sc, A, PORT_A, 7000, 8);                    /* line 1 */
    int lb = listen_on(sc, B, PORT_B, 5000, 8);
    inject(sc, B, IP_A, PORT_A, PORT_B, 1000, 0, SYNACK_SYN);      /* line 2 */
    run_for(sc, 5 * MS);                                           /* lines 3, 4 */
    ladder_status(sc->ladder);                                     /* line 5 */
    expect(sc, synack_state(sc->s[A], la) == SYNACK_LISTEN, "A left LISTEN");
    expect(sc, synack_state(sc->s[B], lb) == SYNACK_LISTEN, "B left LISTEN");
    expect(sc, synack_accept(sc->s[B], lb, NULL) == SYNACK_EAGAIN, "B has a connection");
    synack_stack_stats(sc->s[B], &st);
    expect(sc, st.conn_current == 0, "B kept a connection");
    result(sc, "both listeners are still listening and nothing was accepted: the half-open");
    result(sc, "connection the old SYN made at B is gone");
    return 0;
}

/* Runs until side's fd reaches CLOSED after TIME-WAIT; checks TIME-WAIT lasted 2 x MSL
 * from the last time it was entered or restarted (restart_us, UINT64_MAX: entry). */
static void check_time_wait(struct scen *sc, int side, uint64_t from_us)
{
    char d1[TRACE_TIME_MAX], d2[TRACE_TIME_MAX];
    uint64_t tw = from_us != UINT64_MAX ? from_us : entered(sc, side, SYNACK_TIME_WAIT);
    uint64_t closed = entered_last(sc, side, SYNACK_CLOSED);
    if (!expect(sc, tw != UINT64_MAX && closed != UINT64_MAX && closed >= tw,
                "%s did not go from TIME-WAIT to CLOSED", side_name(side)))
        return;
    expect(sc, closed - tw == 2 * sc->o->msl_us, "%s's TIME-WAIT lasted %s, not 2 x MSL",
           side_name(side), dur(d1, closed - tw));
    result(sc, "%s's TIME-WAIT lasted %s = 2 x MSL (MSL = %s)", side_name(side),
           dur(d1, closed - tw), dur(d2, sc->o->msl_us));
}

/* Figure 12: Normal Close Sequence. A closes; B closes once A is in FIN-WAIT-2; A leaves
 * TIME-WAIT after 2 x MSL (line 6). */
static int run_close(struct scen *sc)
{
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    note(sc, A, "(Close)");                                     /* line 2 */
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    if (!expect(sc, run_until_state(sc, A, fa, SYNACK_FIN_WAIT_2, now(sc) + SEC),
                "A did not reach FIN-WAIT-2"))
        return -1;                                              /* line 3 */
    note(sc, B, "(Close)");                                     /* line 4 */
    expect(sc, synack_close(sc->s[B], fb) == 0, "B cannot close");
    if (!expect(sc, run_until_state(sc, A, fa, SYNACK_CLOSED, now(sc) + 2 * sc->o->msl_us + SEC),
                "A did not reach CLOSED"))
        return -1;                                              /* lines 5, 6 */
    check_time_wait(sc, A, UINT64_MAX);
    return 0;
}

/* Figure 13: Simultaneous Close Sequence. Both close at the same time; B's segments travel
 * faster (1 ms against 2 ms). */
static int run_simultaneous_close(struct scen *sc)
{
    int fa, fb;

    if (!scen_stacks(sc))
        return -1;
    set_delay(sc, A, 2 * MS);
    if (!pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    note(sc, A, "(Close)");
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    note(sc, B, "(Close)");
    expect(sc, synack_shutdown(sc->s[B], fb, SYNACK_SHUT_WR) == 0, "B cannot close");
    uint64_t limit = now(sc) + 2 * sc->o->msl_us + SEC;
    run_until_state(sc, A, fa, SYNACK_CLOSED, limit);
    run_until_state(sc, B, fb, SYNACK_CLOSED, limit);
    for (int side = A; side <= B; side++) {
        expect(sc, entered(sc, side, SYNACK_CLOSING) != UINT64_MAX,
               "%s did not pass through CLOSING", side_name(side));
        check_time_wait(sc, side, UINT64_MAX);
    }
    return 0;
}

/* ---- Closing and losses ------------------------------------------------------------------ */

/* Runs until A's fd is CLOSED (or limit). B reads, and closes once it reads A's
 * end-of-file (with a "(Close)" note); A reads too. Returns whether A reached CLOSED. */
static bool run_close_on_eof(struct scen *sc, int fa, int fb, uint64_t limit)
{
    bool closed_b = false;
    char sink[4096];
    size_t n = 0;

    while (synack_state(sc->s[A], fa) != SYNACK_CLOSED) {
        if (!closed_b) {
            n = 0;
            if (drain(sc, B, fb, sink, sizeof sink, &n)) {
                note(sc, B, "(Close)");
                synack_close(sc->s[B], fb);
                closed_b = true;
            }
        }
        n = 0;
        drain(sc, A, fa, sink, sizeof sink, &n);
        if (!memnet_step(sc->net, limit))
            break;
    }
    return synack_state(sc->s[A], fa) == SYNACK_CLOSED;
}

/* One side keeps sending after it received the other's FIN. */
static int run_half_close(struct scen *sc)
{
    static const char request[] = "GET /file";
    static const char *parts[] = {"part 1 of the file\n", "part 2 of the file\n",
                                  "part 3, the end\n"};
    char got[256];
    size_t n_a = 0, n_b = 0, want = 0;
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    expect(sc, send_all(sc, A, fa, request, strlen(request)), "A could not send");
    note(sc, A, "(Close)");
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    /* B reads the request and then end-of-file: A will send nothing more. */
    bool eof_b = false;
    uint64_t limit = now(sc) + SEC;
    while (!eof_b && memnet_step(sc->net, limit))
        eof_b = drain(sc, B, fb, got, sizeof got, &n_b);
    if (!expect(sc, eof_b && n_b == strlen(request), "B did not read the request and EOF"))
        return -1;
    note(sc, B, "(read: request, end-of-file)");
    /* B answers in three parts, 10 ms apart; A, in FIN-WAIT-2, reads them. */
    for (size_t i = 0; i < 3; i++) {
        expect(sc, send_all(sc, B, fb, parts[i], strlen(parts[i])), "B could not send");
        want += strlen(parts[i]);
        run_for(sc, 10 * MS);
        drain(sc, A, fa, got, sizeof got, &n_a);
    }
    note(sc, B, "(Close)");
    expect(sc, synack_close(sc->s[B], fb) == 0, "B cannot close");
    bool eof_a = false;
    limit = now(sc) + SEC;
    while (!eof_a && memnet_step(sc->net, limit))
        eof_a = drain(sc, A, fa, got, sizeof got, &n_a);
    expect(sc, eof_a, "A did not read end-of-file");
    expect(sc, n_a == want, "A read %zu bytes of the %zu B sent", n_a, want);
    run_until_state(sc, A, fa, SYNACK_CLOSED, now(sc) + 2 * sc->o->msl_us + SEC);
    /* Every byte B sent reached A while A was in FIN-WAIT-2. */
    int in_fw2 = 0;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A && r->len > 0)
            in_fw2 += r->state == SYNACK_FIN_WAIT_2;
    }
    expect(sc, in_fw2 == 3, "A received %d of B's 3 data segments in FIN-WAIT-2", in_fw2);
    result(sc, "A closed its sending direction first; B read the request, then end-of-file");
    result(sc, "(recv() returned 0), and still sent %zu bytes in 3 segments, which A read in", want);
    result(sc, "FIN-WAIT-2 before it read B's end-of-file");
    return 0;
}

/* The SYN is lost twice: retransmitted after 1 s, then after 2 s. */
static int run_lost_syn(struct scen *sc)
{
    char d1[TRACE_TIME_MAX], d2[TRACE_TIME_MAX];

    if (!scen_stacks(sc))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_LISTEN);
    listen_on(sc, B, PORT_B, 300, 8);
    add_rule(sc, A, SYNACK_SYN, 0, -1, 0, 2, 0); /* A's first two SYNs are lost */
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B);
    if (!expect(sc, run_until_state(sc, A, fd, SYNACK_ESTABLISHED, 30 * SEC),
                "A did not connect"))
        return -1;
    run_for(sc, 5 * MS);
    const struct rec *s0 = nth_out(sc, A, SYNACK_SYN, 0), *s1 = nth_out(sc, A, SYNACK_SYN, 1),
                     *s2 = nth_out(sc, A, SYNACK_SYN, 2);
    if (!expect(sc, s0 && s1 && s2 && s1->retransmit && s2->retransmit,
                "A did not send its SYN three times"))
        return -1;
    uint64_t g1 = s1->time_us - s0->time_us, g2 = s2->time_us - s1->time_us;
    expect(sc, g1 == sc->cfg[A].rto_initial_us, "the first retransmission came after %s",
           dur(d1, g1));
    expect(sc, g2 == 2 * g1, "the RTO did not double: %s then %s", dur(d1, g1), dur(d2, g2));
    result(sc, "A sent its SYN 3 times: the first retransmission after %s (the initial",
           dur(d1, g1));
    result(sc, "RTO, RFC 6298 2.1), the second after %s (the RTO doubled, RFC 6298 5.5)",
           dur(d2, g2));
    return 0;
}

/* B's SYN-ACK is lost once. */
static int run_lost_syn_ack(struct scen *sc)
{
    char d[TRACE_TIME_MAX];

    if (!scen_stacks(sc))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_LISTEN);
    int lfd = listen_on(sc, B, PORT_B, 300, 8);
    add_rule(sc, B, SYNACK_SYN | SYNACK_ACK, 0, -1, 0, 1, 0);
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B);
    if (!expect(sc, run_until_state(sc, A, fd, SYNACK_ESTABLISHED, 30 * SEC),
                "A did not connect"))
        return -1;
    run_for(sc, 5 * MS);
    int cfd = synack_accept(sc->s[B], lfd, NULL);
    expect(sc, cfd >= 0 && synack_state(sc->s[B], cfd) == SYNACK_ESTABLISHED,
           "B did not reach ESTABLISHED");
    int syn_rtx = count_out(sc, A, SYNACK_SYN, true);
    int synack_rtx = count_out(sc, B, SYNACK_SYN | SYNACK_ACK, true);
    expect(sc, syn_rtx + synack_rtx >= 1, "nobody retransmitted");
    const struct rec *first = nth_out(sc, B, SYNACK_SYN | SYNACK_ACK, 0);
    uint64_t done = entered(sc, A, SYNACK_ESTABLISHED);
    if (first && done != UINT64_MAX)
        result(sc, "A retransmitted its SYN %d time(s), B its SYN-ACK %d time(s); A reached",
               syn_rtx, synack_rtx);
    if (first && done != UINT64_MAX)
        result(sc, "ESTABLISHED %s after B's first SYN-ACK", dur(d, done - first->time_us));
    return 0;
}

/* A's FIN is lost once. */
static int run_lost_fin(struct scen *sc)
{
    char d[TRACE_TIME_MAX];
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    add_rule(sc, A, SYNACK_FIN, 0, -1, 0, 1, 0);
    note(sc, A, "(Close)");
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    if (!expect(sc, run_close_on_eof(sc, fa, fb, now(sc) + 2 * sc->o->msl_us + 30 * SEC),
                "A did not reach CLOSED"))
        return -1;
    const struct rec *f0 = nth_out(sc, A, SYNACK_FIN, 0), *f1 = nth_out(sc, A, SYNACK_FIN, 1);
    if (!expect(sc, f0 && f1 && f1->retransmit && f0->seq == f1->seq,
                "A did not retransmit its FIN"))
        return -1;
    expect(sc, entered(sc, B, SYNACK_CLOSE_WAIT) > f1->time_us,
           "B saw the FIN before it was retransmitted");
    result(sc, "A's FIN was retransmitted after %s (the RTO); only then did B learn that A",
           dur(d, f1->time_us - f0->time_us));
    result(sc, "closed (CLOSE-WAIT), and the close went on as in Figure 12");
    check_time_wait(sc, A, UINT64_MAX);
    return 0;
}

/* A's last ACK is lost: B retransmits its FIN, and A, in TIME-WAIT, acknowledges it again
 * and restarts the 2 MSL timer. */
static int run_lost_final_ack(struct scen *sc)
{
    char d[TRACE_TIME_MAX];
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    note(sc, A, "(Close)");
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    if (!expect(sc, run_until_state(sc, A, fa, SYNACK_FIN_WAIT_2, now(sc) + SEC),
                "A did not reach FIN-WAIT-2"))
        return -1;
    /* A's next segment is the ACK of B's FIN: it is lost. */
    add_rule(sc, A, SYNACK_ACK, SYNACK_SYN | SYNACK_FIN | SYNACK_RST, 0, 0, 1, 0);
    note(sc, B, "(Close)");
    expect(sc, synack_close(sc->s[B], fb) == 0, "B cannot close");
    run_until_state(sc, A, fa, SYNACK_CLOSED, now(sc) + 2 * sc->o->msl_us + 30 * SEC);
    const struct rec *f0 = nth_out(sc, B, SYNACK_FIN, 0), *f1 = nth_out(sc, B, SYNACK_FIN, 1);
    if (!expect(sc, f0 && f1 && f1->retransmit, "B did not retransmit its FIN"))
        return -1;
    /* The retransmitted FIN's arrival at A restarted TIME-WAIT's 2 x MSL. */
    uint64_t fin2_in = UINT64_MAX;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A && (r->flags & SYNACK_FIN) &&
            r->state == SYNACK_TIME_WAIT)
            fin2_in = r->time_us;
    }
    expect(sc, entered(sc, B, SYNACK_CLOSED) != UINT64_MAX, "B did not reach CLOSED");
    result(sc, "B retransmitted its FIN after %s; A, in TIME-WAIT, acknowledged it again",
           dur(d, f1->time_us - f0->time_us));
    result(sc, "(RFC 9293 3.10.7.4) and restarted its 2 x MSL from that moment");
    check_time_wait(sc, A, fin2_in);
    return 0;
}

/* TIME-WAIT keeps the connection's identity for 2 x MSL: an old duplicate from this
 * incarnation, still in the network, is recognised and dropped instead of being taken for
 * data of a new one, and no new incarnation can start meanwhile. */
static int run_time_wait(struct scen *sc)
{
    char d[TRACE_TIME_MAX], got[64];
    size_t n = 0;
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    /* B's first data segment is held back in the network for 60 s (< MSL). */
    add_rule(sc, B, SYNACK_ACK, 0, 1, 0, 1, 60 * SEC);
    expect(sc, send_all(sc, B, fb, "old data", 8), "B could not send");
    uint64_t limit = now(sc) + 10 * SEC;
    while (n < 8 && memnet_step(sc->net, limit))
        drain(sc, A, fa, got, sizeof got, &n);
    if (!expect(sc, n == 8, "A did not receive the retransmitted data"))
        return -1;
    note(sc, A, "(Close)");
    expect(sc, synack_shutdown(sc->s[A], fa, SYNACK_SHUT_WR) == 0, "A cannot close");
    if (!expect(sc, run_close_on_eof(sc, fa, fb, now(sc) + 2 * sc->o->msl_us + 90 * SEC),
                "A did not reach CLOSED"))
        return -1;
    /* The old copy arrived while A was in TIME-WAIT and was dropped, not delivered. */
    const struct rec *old = NULL;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A && r->len > 0 &&
            r->state == SYNACK_TIME_WAIT)
            old = r;
    }
    if (!expect(sc, old != NULL, "the old duplicate did not arrive during TIME-WAIT"))
        return -1;
    expect(sc, old->reason != 0, "A accepted the old duplicate");
    expect(sc, n == 8, "A's application received the old copy");
    result(sc, "the copy B's first data segment left in the network arrived %s after A",
           dur(d, old->time_us - entered(sc, A, SYNACK_TIME_WAIT)));
    result(sc, "entered TIME-WAIT; TIME-WAIT knew its sequence numbers and dropped it");
    result(sc, "(%s) instead of handing it to a new connection", synack_drop_name(old->reason));
    /* TIME-WAIT acknowledges what it drops; B, which has no connection any more, answers
     * that ACK with RST, and RFC 9293 3.10.7.4 closes TIME-WAIT on an acceptable RST. */
    const struct rec *rst = NULL;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A && (r->flags & SYNACK_RST) &&
            r->time_us >= old->time_us)
            rst = r;
    }
    if (rst != NULL && rst->state == SYNACK_CLOSED) {
        result(sc, "TIME-WAIT answered the old copy with an ACK; B, which no longer has the");
        result(sc, "connection, answered that with RST, and the RST closed A's TIME-WAIT %s",
               dur(d, rst->time_us - entered(sc, A, SYNACK_TIME_WAIT)));
        result(sc, "after it began, not 2 x MSL: RFC 9293 3.10.7.4 (as RFC 793) closes");
        result(sc, "TIME-WAIT on an acceptable RST; RFC 1337 calls this TIME-WAIT assassination");
        result(sc, "and recommends ignoring RST in TIME-WAIT");
    } else {
        check_time_wait(sc, A, UINT64_MAX);
    }
    return 0;
}

/* ---- Resets ------------------------------------------------------------------------------ */

/* A SYN to a port nobody listens on is answered with RST. */
static int run_refused(struct scen *sc)
{
    if (!scen_stacks(sc))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_CLOSED);
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B);
    run_for(sc, 5 * MS);
    expect(sc, synack_state(sc->s[A], fd) == SYNACK_CLOSED, "A is not CLOSED");
    int err = synack_error(sc->s[A], fd);
    expect(sc, err == SYNACK_ECONNREFUSED, "A's error is %s, not ECONNREFUSED",
           synack_strerror(err));
    result(sc, "A's connect failed: %s", synack_strerror(err));
    return 0;
}

/* ABORT in ESTABLISHED: a RST, and the peer's next call reports ECONNRESET. */
static int run_abort(struct scen *sc)
{
    char buf[16];
    size_t n = 0;
    int fa, fb;

    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    expect(sc, send_all(sc, A, fa, "hello", 5), "A could not send");
    run_for(sc, 5 * MS);
    drain(sc, B, fb, buf, sizeof buf, &n);
    note(sc, A, "(Abort)");
    expect(sc, synack_abort(sc->s[A], fa) == 0, "A cannot abort");
    run_for(sc, 5 * MS);
    int r = synack_recv(sc->s[B], fb, buf, sizeof buf);
    expect(sc, synack_state(sc->s[B], fb) == SYNACK_CLOSED, "B is not CLOSED");
    expect(sc, r == SYNACK_ECONNRESET, "B's recv() returned %d, not ECONNRESET", r);
    expect(sc, entered(sc, A, SYNACK_TIME_WAIT) == UINT64_MAX, "A went through TIME-WAIT");
    result(sc, "B's recv() after the RST: %s; neither side went through TIME-WAIT",
           synack_strerror(r));
    return 0;
}

/* ---- Data transfer ----------------------------------------------------------------------- */

/* Runs until side's send queue is empty (everything acknowledged) or limit. */
static bool run_until_acked(struct scen *sc, int side, int fd, uint64_t limit)
{
    struct synack_status st;
    for (;;) {
        if (synack_status(sc->s[side], fd, &st) == 0 && st.send_queued == 0)
            return true;
        if (!memnet_step(sc->net, limit))
            return synack_status(sc->s[side], fd, &st) == 0 && st.send_queued == 0;
    }
}

/* The second of ten 100-byte segments is lost; three duplicate ACKs bring it back. */
static int run_fast_retransmit(struct scen *sc)
{
    char data[1000], got[1000], d[TRACE_TIME_MAX];
    size_t n = 0;
    int fa, fb;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    sc->cfg[B].mss = 100; /* A sends 100-byte segments */
    if (!scen_stacks(sc) || !pair(sc, 100, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    add_rule(sc, A, SYNACK_ACK, 0, 1, 1, 1, 0); /* A's second data segment is lost */
    expect(sc, send_all(sc, A, fa, data, sizeof data), "A could not send");
    uint64_t t0 = now(sc);
    uint64_t limit = t0 + 30 * SEC;
    while (n < sizeof data && memnet_step(sc->net, limit))
        drain(sc, B, fb, got, sizeof got, &n);
    run_until_acked(sc, A, fa, limit);
    expect(sc, n == sizeof data && memcmp(got, data, n) == 0, "B did not receive the data");

    /* When was the lost segment sent again, and after how many duplicate ACKs? */
    const struct rec *lost = nth_out(sc, A, SYNACK_ACK, 1); /* A's second segment */
    const struct rec *again = NULL;
    for (size_t i = 0; lost && i < sc->nlog && !again; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_OUT && r->side == A && r->retransmit && r->seq == lost->seq)
            again = r;
    }
    if (!expect(sc, lost && again, "A never sent the lost segment again"))
        return -1;
    int dupacks = 0;
    for (size_t i = 0; i < sc->nlog && &sc->log[i] != again; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A && r->len == 0 && r->ack == lost->seq)
            dupacks++;
    }
    uint64_t after = again->time_us - lost->time_us;
    result(sc, "the lost segment (SEQ=%" PRIu32 ") was sent again %s after it was first sent,",
           lost->seq, dur(d, after));
    result(sc, "after A had received %d ACKs of SEQ=%" PRIu32, dupacks, lost->seq);
    /* RFC 5681 3.2: after the third duplicate ACK, not after the RTO. */
    expect(sc, dupacks >= 3 && after < sc->cfg[A].rto_min_us,
           "no fast retransmit: the lost segment was resent by the retransmission timer after "
           "%s, not after the third duplicate ACK (RFC 5681 3.2)",
           dur(d, after));
    return 0;
}

/* B's receive buffer fills; A probes the zero window until B reads. */
static int run_zero_window(struct scen *sc)
{
    char data[3000], got[3000], d1[TRACE_TIME_MAX], d2[TRACE_TIME_MAX];
    size_t n = 0;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('A' + i % 26);
    if (!scen_stacks(sc))
        return -1;
    /* The set-up by hand: B's listener gets a 1000-byte receive buffer. */
    int l = open_socket(sc, B, PORT_B, 299);
    expect(sc, synack_setopt(sc->s[B], l, SYNACK_OPT_RCVBUF, 1000) == 0, "cannot set RCVBUF");
    expect(sc, synack_listen(sc->s[B], l, 8) == 0, "B cannot listen");
    int fa = connect_to(sc, A, PORT_A, 99, PORT_B);
    if (!expect(sc, run_until_state(sc, A, fa, SYNACK_ESTABLISHED, SEC), "no connection"))
        return -1;
    run_for(sc, 5 * MS);
    int fb = synack_accept(sc->s[B], l, NULL);
    synack_close(sc->s[B], l);
    if (!expect(sc, fb >= 0, "B did not accept"))
        return -1;

    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    expect(sc, send_all(sc, A, fa, data, sizeof data), "A could not send");
    run_for(sc, 20 * SEC); /* B's application does not read */
    note(sc, B, "(read)");
    uint64_t limit = now(sc) + 60 * SEC;
    while (n < sizeof data && memnet_step(sc->net, limit))
        drain(sc, B, fb, got, sizeof got, &n);
    run_until_acked(sc, A, fa, limit);
    expect(sc, n == sizeof data && memcmp(got, data, n) == 0, "B did not receive the data");

    /* The zero window and A's probes: segments A sent while B's last window was zero. */
    uint64_t probe_t[32];
    int probes = 0;
    bool zero = false;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == A)
            zero = r->wnd == 0;
        else if (r->kind == SYNACK_EV_SEG_OUT && r->side == A && zero && r->len == 1 &&
                 probes < 32)
            probe_t[probes++] = r->time_us; /* a one-byte probe into the zero window */
    }
    if (!expect(sc, probes >= 3, "A sent %d probes into the zero window", probes))
        return -1;
    result(sc, "B's window closed to 0; A sent %d probes while it stayed closed", probes);
    bool doubling = true;
    for (int i = 2; i < probes; i++)
        if (probe_t[i] - probe_t[i - 1] != 2 * (probe_t[i - 1] - probe_t[i - 2]))
            doubling = false;
    result(sc, "the first two gaps between probes: %s, %s", dur(d1, probe_t[1] - probe_t[0]),
           dur(d2, probe_t[2] - probe_t[1]));
    result(sc, "after B read, the window opened and the rest of the %zu bytes followed",
           sizeof data);
    /* RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17: the probe interval backs off exponentially. */
    expect(sc, doubling,
           "the persist timer does not back off: probes %s then %s apart (RFC 1122 4.2.2.17 "
           "wants the interval to grow exponentially)",
           dur(d1, probe_t[1] - probe_t[0]), dur(d2, probe_t[2] - probe_t[1]));
    return 0;
}

/* Sequence numbers cross 2^32 in the middle of a transfer. */
static int run_wraparound(struct scen *sc)
{
    char data[1000], got[1000];
    size_t n = 0;
    int fa, fb;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('0' + i % 10);
    sc->cfg[B].mss = 200;
    /* Without the timestamps option, the 200-byte MSS is 200 bytes of data (RFC 6691), so
     * the segment boundaries are the round numbers the explanation uses. */
    sc->cfg[A].timestamps = sc->cfg[B].timestamps = false;
    /* A's first data byte is 2^32 - 500: the third 200-byte segment crosses 2^32. */
    if (!scen_stacks(sc) || !pair(sc, 4294966796u, 300, &fa, &fb, NULL))
        return -1;
    trace_start(sc, PEER_A, PEER_B, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    expect(sc, send_all(sc, A, fa, data, sizeof data), "A could not send");
    uint64_t limit = now(sc) + 10 * SEC;
    while (n < sizeof data && memnet_step(sc->net, limit))
        drain(sc, B, fb, got, sizeof got, &n);
    run_until_acked(sc, A, fa, limit);
    expect(sc, n == sizeof data && memcmp(got, data, n) == 0,
           "B did not receive the 1000 bytes intact");
    bool wrapped = false;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_OUT && r->side == A && r->len > 0 &&
            r->seq > (uint32_t)(r->seq + r->len))
            wrapped = true;
    }
    expect(sc, wrapped, "no segment crossed 2^32");
    result(sc, "the segment at SEQ=4294967196 carries bytes 4294967196..4294967295 and 0..99;");
    result(sc, "B acknowledged it with ACK=100 and received all %zu bytes in order", n);
    return 0;
}

/* ---- SYN flood ----------------------------------------------------------------------------- */

static int run_syn_flood(struct scen *sc)
{
    char d[TRACE_TIME_MAX];
    struct synack_stats st;

    if (!scen_stacks(sc))
        return -1;
    if (!expect(sc, memnet_add_node(sc->net, IP_ATTACKER) >= 0, "no attacker node"))
        return -1; /* a node that never answers: B's SYN-ACKs to it go nowhere */
    trace_start(sc, PEER_A, PEER_B, SYNACK_CLOSED, SYNACK_LISTEN);
    int l = open_socket(sc, B, PORT_B, 300);
    /* Half-open connections give up after 10 s of unanswered SYN-ACKs. */
    expect(sc, synack_setopt(sc->s[B], l, SYNACK_OPT_USER_TIMEOUT, 10 * SEC) == 0,
           "cannot set the user timeout");
    expect(sc, synack_listen(sc->s[B], l, 2) == 0, "B cannot listen");
    for (int i = 0; i < 4; i++)
        inject(sc, B, IP_ATTACKER, (uint16_t)(40001 + i), PORT_B, 7000u + 1000u * (uint32_t)i,
               0, SYNACK_SYN);
    synack_stack_stats(sc->s[B], &st);
    expect(sc, st.conn_current == 2 && st.drops[SYNACK_DROP_BACKLOG_FULL] == 2,
           "the flood did not fill the backlog of 2");
    note_line(sc, "", "(4 SYNs from 10.0.0.66: 2 fill the backlog, 2 dropped)");
    run_for(sc, 10 * MS);
    uint64_t t0 = now(sc);
    int fd = connect_to(sc, A, PORT_A, 100, PORT_B);
    bool freed = false;
    uint64_t freed_at = 0;
    while (synack_state(sc->s[A], fd) != SYNACK_ESTABLISHED && memnet_step(sc->net, t0 + 120 * SEC)) {
        synack_stack_stats(sc->s[B], &st);
        if (!freed && st.conn_current == 0) {
            freed = true;
            freed_at = now(sc);
            note_line(sc, "", "(the half-open connections time out)");
        }
    }
    if (!expect(sc, synack_state(sc->s[A], fd) == SYNACK_ESTABLISHED, "A never connected"))
        return -1;
    run_for(sc, 5 * MS);
    synack_stack_stats(sc->s[B], &st);
    int dropped = 0;
    for (size_t i = 0; i < sc->nlog; i++) {
        const struct rec *r = &sc->log[i];
        if (r->kind == SYNACK_EV_SEG_IN && r->side == B && r->reason == SYNACK_DROP_BACKLOG_FULL)
            dropped++;
    }
    expect(sc, dropped >= 1, "none of A's SYNs was dropped");
    expect(sc, freed, "the half-open connections did not time out");
    result(sc, "B silently dropped %d of A's SYNs (backlog full): A saw no answer at all,", dropped);
    result(sc, "only its own retransmissions; the half-open connections timed out after %s,",
           dur(d, freed_at - t0 + 10 * MS));
    result(sc, "and A's next SYN got through: A waited %s for a handshake that takes 2 ms",
           dur(d, entered(sc, A, SYNACK_ESTABLISHED) - t0));
    return 0;
}

/* ---- The echo demo --------------------------------------------------------------------- */

/* What the echo client (A) and server (B) have done. */
struct echo {
    int fd_a, lfd_b, fd_b;
    size_t sent_a, got_a;     /* message bytes queued / echo bytes received */
    char *echo;               /* the echo received, message_len bytes */
    bool verified, shut_a, eof_a, closed_a;
    char buf_b[4096];         /* bytes B received, not yet echoed */
    size_t pend_b, off_b, echoed_b;
    bool eof_b, closed_b;
};

/* The client: send the message once connected, read the echo, verify it, close, read EOF. */
static void echo_client(struct scen *sc, struct echo *e)
{
    struct synack_stack *s = sc->s[A];
    const struct scenario_opts *o = sc->o;
    int mask = synack_readiness(s, e->fd_a);

    if (!expect(sc, mask >= 0, "A's descriptor is not valid"))
        return;
    if (mask & SYNACK_ERROR) {
        expect(sc, false, "A's connection failed: %s", synack_strerror(synack_error(s, e->fd_a)));
        return;
    }
    if (!(mask & SYNACK_CONNECTED))
        return;
    while (e->sent_a < o->message_len && !e->shut_a) {
        int n = synack_send(s, e->fd_a, o->message + e->sent_a, o->message_len - e->sent_a);
        if (n == SYNACK_EAGAIN)
            break;
        if (!expect(sc, n > 0, "A could not send the message"))
            return;
        e->sent_a += (size_t)n;
    }
    while (!e->eof_a) {
        char tmp[64];
        bool more = e->got_a < o->message_len;
        int n = more ? synack_recv(s, e->fd_a, e->echo + e->got_a, o->message_len - e->got_a)
                     : synack_recv(s, e->fd_a, tmp, sizeof tmp);
        if (n == SYNACK_EAGAIN)
            break;
        if (!expect(sc, n >= 0, "A's receive failed"))
            return;
        if (n == 0) {
            e->eof_a = true;
            expect(sc, !more, "B closed before echoing the whole message");
            break;
        }
        if (!expect(sc, more, "B sent more than the message"))
            return;
        e->got_a += (size_t)n;
    }
    if (e->got_a == o->message_len && !e->shut_a) {
        e->verified = memcmp(e->echo, o->message, o->message_len) == 0;
        if (!expect(sc, e->verified, "the echo differs from the message"))
            return;
        /* RFC 9293 3.10.4: CLOSE; A closes first and goes on reading until end-of-file. */
        expect(sc, synack_shutdown(s, e->fd_a, SYNACK_SHUT_WR) == 0, "A could not close");
        e->shut_a = true;
    }
    if (e->eof_a && synack_state(s, e->fd_a) == SYNACK_CLOSED && !e->closed_a) {
        e->closed_a = true;
        synack_close(s, e->fd_a);
    }
}

/* The echo server: accept one connection, send back what it reads, close at end-of-file. */
static void echo_server(struct scen *sc, struct echo *e)
{
    struct synack_stack *s = sc->s[B];

    if (e->fd_b < 0) {
        int fd = synack_accept(s, e->lfd_b, NULL);
        if (fd == SYNACK_EAGAIN)
            return;
        if (!expect(sc, fd >= 0, "B's accept failed"))
            return;
        e->fd_b = fd;
    }
    if (e->closed_b)
        return;
    for (;;) {
        while (e->off_b < e->pend_b) { /* send what is pending first, then read more */
            int n = synack_send(s, e->fd_b, e->buf_b + e->off_b, e->pend_b - e->off_b);
            if (n == SYNACK_EAGAIN)
                return;
            if (!expect(sc, n > 0, "B could not echo"))
                return;
            e->off_b += (size_t)n;
            e->echoed_b += (size_t)n;
        }
        e->off_b = e->pend_b = 0;
        if (e->eof_b)
            break;
        int n = synack_recv(s, e->fd_b, e->buf_b, sizeof e->buf_b);
        if (n == SYNACK_EAGAIN)
            return;
        if (!expect(sc, n >= 0, "B's receive failed"))
            return;
        if (n == 0) {
            e->eof_b = true;
            break;
        }
        e->pend_b = (size_t)n;
    }
    /* End-of-file and everything echoed: B closes too (CLOSE-WAIT -> LAST-ACK). */
    synack_close(s, e->fd_b);
    e->closed_b = true;
}

/* Takes the readiness events of a stack; returns true when any descriptor reported one. */
static bool take_events(struct synack_stack *s)
{
    struct synack_sock_event ev[ECHO_MAX_EVENTS];
    bool any = false;
    int n;

    while ((n = synack_events(s, ev, ECHO_MAX_EVENTS)) > 0) {
        any = true;
        if (n < ECHO_MAX_EVENTS)
            break;
    }
    return any;
}

static void path_line(struct scen *sc, const char *who, int side)
{
    int states[SUMMARY_MAX];
    char line[512];
    size_t n = 0;
    int k = summary_path(sc->summary, side, states, NULL, SUMMARY_MAX);
    for (int i = 0; i < k && i < SUMMARY_MAX && n < sizeof line - 20; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i ? " -> " : "",
                              synack_state_name(states[i]));
    result(sc, "%s: %s", who, line);
}

/* A connects to B's echo port, sends the message, B echoes it, A closes first. */
static int run_echo(struct scen *sc)
{
    const struct scenario_opts *o = sc->o;
    struct echo e;
    char t1[TRACE_TIME_MAX], t2[TRACE_TIME_MAX], t3[TRACE_TIME_MAX];

    memset(&e, 0, sizeof e);
    e.fd_a = e.fd_b = e.lfd_b = -1;
    e.echo = malloc(o->message_len);
    if (!expect(sc, e.echo != NULL, "out of memory"))
        return -1;
    set_delay(sc, A, o->delay_us);
    set_delay(sc, B, o->delay_us);
    sc->addr[A] = (struct synack_addr){IP_A, 0}; /* A's port is learned from its first event */
    sc->addr[B] = (struct synack_addr){IP_B, ECHO_PORT};
    if (!scen_stacks(sc)) {
        free(e.echo);
        return -1;
    }
    struct synack_addr addr_b = sc->addr[B];
    e.lfd_b = synack_socket(sc->s[B]);
    if (!expect(sc, e.lfd_b >= 0 && synack_bind(sc->s[B], e.lfd_b, &addr_b) == 0 &&
                        (!o->has_isn_b ||
                         synack_setopt(sc->s[B], e.lfd_b, SYNACK_OPT_ISS, o->isn_b) == 0) &&
                        synack_listen(sc->s[B], e.lfd_b, 1) == 0,
                "B cannot listen on port %d", ECHO_PORT)) {
        free(e.echo);
        return -1;
    }
    trace_start(sc, "TCP A", "TCP B", SYNACK_CLOSED, SYNACK_LISTEN);
    e.fd_a = synack_socket(sc->s[A]);
    int rc = e.fd_a < 0 ? e.fd_a : 0;
    if (rc == 0 && o->has_isn_a)
        rc = synack_setopt(sc->s[A], e.fd_a, SYNACK_OPT_ISS, o->isn_a);
    if (rc == 0)
        rc = synack_connect(sc->s[A], e.fd_a, &addr_b);
    if (!expect(sc, rc == SYNACK_EINPROGRESS || rc == 0, "A cannot connect: %s",
                synack_strerror(rc))) {
        free(e.echo);
        return -1;
    }

    uint64_t limit = 2 * o->msl_us + ECHO_SLACK;
    while (!sc->failed && !(e.closed_a && e.closed_b && entered(sc, B, SYNACK_CLOSED) != UINT64_MAX) &&
           memnet_step(sc->net, limit)) {
        bool ev_a = take_events(sc->s[A]);
        bool ev_b = take_events(sc->s[B]);
        if (ev_a)
            echo_client(sc, &e);
        if (ev_b)
            echo_server(sc, &e);
    }

    struct synack_stats sa, sb;
    synack_stack_stats(sc->s[A], &sa);
    synack_stack_stats(sc->s[B], &sb);
    if (e.verified)
        result(sc, "echo: %zu bytes sent by A, echoed by B, verified by A", o->message_len);
    path_line(sc, "A", A);
    path_line(sc, "B", B);
    uint64_t tw = entered(sc, A, SYNACK_TIME_WAIT), ca = entered_last(sc, A, SYNACK_CLOSED);
    uint64_t cb = entered_last(sc, B, SYNACK_CLOSED);
    if (tw != UINT64_MAX && ca != UINT64_MAX) {
        result(sc, "A entered TIME-WAIT at %s s and reached CLOSED at %s s",
               trace_format_time(t1, sizeof t1, tw), trace_format_time(t2, sizeof t2, ca));
        result(sc, "  = %s s + 2 x MSL (MSL = %s s)%s", trace_format_time(t1, sizeof t1, tw),
               trace_format_time(t3, sizeof t3, o->msl_us),
               ca == tw + 2 * o->msl_us ? "" : ": NOT EQUAL");
    }
    if (cb != UINT64_MAX)
        result(sc, "B reached CLOSED at %s s", trace_format_time(t1, sizeof t1, cb));

    expect(sc, e.verified, "the echo never completed");
    expect(sc, e.echoed_b == o->message_len, "B echoed a different number of bytes than A sent");
    expect(sc, e.closed_a && ca != UINT64_MAX, "A never reached CLOSED");
    expect(sc, cb != UINT64_MAX, "B never reached CLOSED");
    expect(sc, tw != UINT64_MAX, "A never went through TIME-WAIT");
    expect(sc, ca == tw + 2 * o->msl_us, "A's TIME-WAIT did not last exactly 2 x MSL");
    expect(sc, sa.conn_current == 0 && sb.conn_current == 0,
           "a connection is still in a stack's table");
    free(e.echo);
    return 0;
}

/* ---- The table ----------------------------------------------------------------------------- */

const struct scenario scenario_table[] = {
    {"echo", "the demo: handshake, an echoed message, the close and TIME-WAIT",
     "A (10.0.0.1) connects to B's echo port (10.0.0.2:7), sends a message, B echoes it and A\n"
     "closes first. Look for the three-way handshake (lines 2-4), the data and its echo,\n"
     "each acknowledged, the four-way close, and A's TIME-WAIT ending after 2 x MSL.\n",
     run_echo},
    {"handshake", "the three-way handshake (RFC 9293 Figure 6)",
     "RFC 9293 Figure 6. A sends SYN with its initial sequence number 100 (line 2); B answers\n"
     "with its own SYN, 300, and acknowledges A's: ACK=101, the SYN occupies sequence number\n"
     "100 (line 3); A acknowledges B's SYN (line 4) and sends data with the same SEQ=101,\n"
     "because an ACK occupies no sequence number (line 5).\n",
     run_handshake},
    {"simultaneous-open", "both sides open at once (RFC 9293 Figure 7)",
     "RFC 9293 Figure 7. A and B both send a SYN before receiving the other's. Each goes\n"
     "SYN-SENT -> SYN-RECEIVED when the other's SYN arrives and answers with SYN,ACK; each\n"
     "reaches ESTABLISHED on the other's SYN,ACK. \"...\" marks a segment still in the\n"
     "network: A's SYN leaves on line 2 and arrives on line 4.\n",
     run_simultaneous_open},
    {"old-duplicate-syn", "an old duplicate SYN is rejected (RFC 9293 Figure 8)",
     "RFC 9293 Figure 8. An old SYN (SEQ=90) from A's address reaches B before A's real SYN.\n"
     "B cannot tell and answers it (line 4). A sees an ACK of something it never sent\n"
     "(ACK=91, not 101) and answers with RST (line 5), which sends B back to LISTEN. When\n"
     "A's real SYN arrives (line 6), the handshake proceeds normally.\n",
     run_old_duplicate_syn},
    {"half-open", "a rebooted host reconnects to a half-open peer (RFC 9293 Figure 9)",
     "RFC 9293 Figure 9. A crashed and lost its connection; B still thinks it is open. A's new\n"
     "SYN is outside B's window, so B answers with the ACK it expects (line 4); A, not\n"
     "synchronized, answers that with RST (line 5), and B aborts. A's retransmitted SYN\n"
     "(line 7) then meets B's listener and the handshake of Figure 6 follows.\n",
     run_half_open},
    {"half-open-data", "data to a rebooted host is answered by RST (RFC 9293 Figure 10)",
     "RFC 9293 Figure 10. A crashed and lost its connection; B sends data on it (line 2). A\n"
     "has no connection for it and answers with RST, SEQ taken from the segment's ACK\n"
     "(line 3); the RST is in B's window, so B aborts the connection.\n",
     run_half_open_data},
    {"two-passive", "an old SYN between two listeners (RFC 9293 Figure 11)",
     "RFC 9293 Figure 11 with Z=1000, X=5000. A and B both listen. An old duplicate SYN with\n"
     "A's address reaches B (line 2), which answers SYN,ACK (line 3). A's listener gets an\n"
     "ACK of nothing and answers RST (line 4); B returns to LISTEN (line 5).\n",
     run_two_passive},
    {"close", "the normal four-way close (RFC 9293 Figure 12)",
     "RFC 9293 Figure 12. A closes: FIN (line 2), B acknowledges it (line 3) and A waits in\n"
     "FIN-WAIT-2 while B may still send. B closes: FIN (line 4); A acknowledges it and\n"
     "enters TIME-WAIT (line 5), which ends after 2 x MSL (line 6), while B is CLOSED as soon\n"
     "as it gets that ACK.\n",
     run_close},
    {"simultaneous-close", "both sides close at once (RFC 9293 Figure 13)",
     "RFC 9293 Figure 13. A and B both send FIN before receiving the other's: each goes\n"
     "FIN-WAIT-1 -> CLOSING on the other's FIN, and CLOSING -> TIME-WAIT on the ACK of its\n"
     "own. Both sides then wait 2 x MSL. Figure 13 draws each crossing pair under one\n"
     "number; synack draws each departure and arrival, \"...\" joining them.\n",
     run_simultaneous_close},
    {"half-close", "one side keeps sending after receiving FIN",
     "RFC 9293 3.6 and 3.6.1: CLOSE means \"I have no more to send\". A sends a request and\n"
     "closes (FIN). B reads the request, then end-of-file (recv() returns 0), and still sends\n"
     "its answer in three segments, which A receives in FIN-WAIT-2. Only then does B close.\n",
     run_half_close},
    {"lost-syn", "the SYN is lost twice: the RTO doubles",
     "A's first two SYNs are lost. A retransmits after the initial RTO of 1 s (RFC 6298 2.1),\n"
     "then after 2 s: each timeout doubles the RTO (RFC 6298 5.5). The third SYN gets\n"
     "through. Run with --verbose to see the times.\n",
     run_lost_syn},
    {"lost-syn-ack", "the SYN,ACK is lost once",
     "B's SYN,ACK is lost. A, still in SYN-SENT, retransmits its SYN after its RTO, and B in\n"
     "SYN-RECEIVED retransmits its SYN,ACK after its own; whichever copy arrives completes\n"
     "the handshake, and the duplicates are acknowledged or dropped.\n",
     run_lost_syn_ack},
    {"lost-fin", "the FIN is lost once and retransmitted",
     "A's FIN is lost. A stays in FIN-WAIT-1 until its RTO expires and sends the FIN again;\n"
     "a FIN occupies a sequence number and is retransmitted like data. B learns of the close\n"
     "only from the second copy.\n",
     run_lost_fin},
    {"lost-final-ack", "the last ACK is lost: TIME-WAIT acknowledges the FIN again",
     "A's ACK of B's FIN is lost, so B, in LAST-ACK, retransmits its FIN. A is in TIME-WAIT,\n"
     "which exists for exactly this: it acknowledges the FIN again and restarts its 2 x MSL\n"
     "(RFC 9293 3.10.7.4). Without TIME-WAIT, B's FIN would have met a RST.\n",
     run_lost_final_ack},
    {"time-wait", "why TIME-WAIT lasts 2 x MSL: an old duplicate is rejected",
     "A copy of B's first data segment is held in the network for 60 s (less than an MSL);\n"
     "B retransmits it and the transfer and the close complete. The old copy arrives while A\n"
     "is in TIME-WAIT, which still knows the connection's sequence numbers: it drops the copy\n"
     "instead of letting it be taken for data of a new connection between the same ports.\n"
     "A segment lives at most one MSL, and 2 x MSL covers one trip each way. Watch the end:\n"
     "TIME-WAIT acknowledges the copy, B answers with RST, and that RST ends TIME-WAIT early\n"
     "(RFC 9293 3.10.7.4; RFC 1337 calls it TIME-WAIT assassination).\n",
     run_time_wait},
    {"refused", "a SYN to a closed port is answered by RST",
     "Nothing listens on B's port. B's stack answers the SYN with RST,ACK (RFC 9293 3.5.2,\n"
     "case 1: SEQ=0, ACK = the SYN's SEQ + 1), and A's connect fails with ECONNREFUSED.\n",
     run_refused},
    {"abort", "ABORT in ESTABLISHED: RST, and the peer sees ECONNRESET",
     "A aborts (RFC 9293 3.10.5): it sends RST and forgets the connection, with no FIN and no\n"
     "TIME-WAIT. B accepts the RST (its SEQ is exactly what B expects) and its next recv()\n"
     "reports ECONNRESET.\n",
     run_abort},
    {"fast-retransmit", "a lost segment recovered after three duplicate ACKs",
     "A sends ten 100-byte segments; the second is lost. Each later segment makes B repeat\n"
     "its ACK of the missing byte; after the third duplicate ACK, A should retransmit the\n"
     "segment at once (RFC 5681 3.2, fast retransmit) instead of waiting for its 1 s RTO.\n",
     run_fast_retransmit},
    {"zero-window", "the receiver's window closes: persist probes",
     "B's receive buffer holds 1000 bytes and B's application does not read, so B's window\n"
     "closes to 0. A keeps probing the window (RFC 9293 3.8.6.1), with growing intervals,\n"
     "until B reads and announces an open window.\n",
     run_zero_window},
    {"wraparound", "sequence numbers cross 2^32 mid-transfer",
     "A's first data byte has sequence number 4294966796 (2^32 - 500). A sends 1000 bytes in\n"
     "200-byte segments; the third starts at 4294967196 and ends at 99: sequence numbers are\n"
     "compared modulo 2^32 (RFC 9293 3.4), and nothing else changes.\n",
     run_wraparound},
    {"syn-flood", "a full backlog, and what a legitimate client then sees",
     "An attacker sends SYNs from an address that never answers. B's listener (backlog 2)\n"
     "keeps a half-open connection per SYN until it times out (10 s here), and drops the\n"
     "SYNs it has no room for, silently. A legitimate client's SYNs are dropped too: it sees\n"
     "nothing and retransmits with a doubling RTO until room frees up.\n",
     run_syn_flood},
};

const size_t scenario_count = sizeof scenario_table / sizeof scenario_table[0];

void scenario_opts_default(struct scenario_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->msl_us = DEFAULT_MSL;
    o->delay_us = DEFAULT_DELAY;
    o->message = "Hello, TCP!";
    o->message_len = strlen(o->message);
}

const struct scenario *scenario_find(const char *name)
{
    for (size_t i = 0; i < scenario_count; i++)
        if (strcmp(scenario_table[i].name, name) == 0)
            return &scenario_table[i];
    return NULL;
}

void scenario_list(FILE *out)
{
    for (size_t i = 0; i < scenario_count; i++)
        fprintf(out, "  %-20s %s\n", scenario_table[i].name, scenario_table[i].description);
}

/* Opens path for writing, reporting failure; NULL path gives NULL. */
static FILE *open_out(struct scen *sc, const char *path)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        expect(sc, false, "cannot write %s", path);
    return f;
}

int scenario_run(const struct scenario *def, const struct scenario_opts *o, FILE *out)
{
    struct scen *sc = calloc(1, sizeof *sc);
    bool echo = strcmp(def->name, "echo") == 0;
    FILE *svg_file = NULL;

    if (sc == NULL) {
        fprintf(stderr, "synack: out of memory\n");
        return 1;
    }
    sc->def = def;
    sc->o = o;
    sc->out = out;
    if (!echo)
        fprintf(out, "scenario %s: %s\n\nWhat to look for:\n%s\n", def->name, def->description,
                def->explanation);
    if (o->pcap_path) {
        sc->pcap = pcap_open(o->pcap_path, false);
        expect(sc, sc->pcap != NULL, "cannot write %s", o->pcap_path);
    }
    sc->json_file = open_out(sc, o->json_path);
    svg_file = open_out(sc, o->svg_path);
    if (!sc->failed) {
        if (!scen_init(sc))
            expect(sc, false, "cannot set up the virtual network");
        else
            def->run(sc);
    }
    uint64_t end = sc->net ? memnet_now(sc->net) : 0;
    /* The stacks stop reporting before anything is torn down. */
    sc->tracing = false;
    ladder_flush(sc->ladder);
    if (sc->nresults)
        fprintf(out, "\n%s:\n%s", echo ? "summary" : "result", sc->results);
    if (sc->summary) {
        fprintf(out, "\n");
        summary_print(sc->summary, out, end);
    }
    if (sc->svg && svg_file && svg_write(sc->svg, svg_file) != 0)
        expect(sc, false, "cannot write %s", o->svg_path);
    if (svg_file && fclose(svg_file) != 0)
        expect(sc, false, "cannot write %s", o->svg_path);
    if (sc->json && json_flush(sc->json) != 0)
        expect(sc, false, "cannot write %s", o->json_path);
    if (sc->json_file && fclose(sc->json_file) != 0)
        expect(sc, false, "cannot write %s", o->json_path);
    if (sc->pcap && pcap_close(sc->pcap) != 0)
        expect(sc, false, "cannot write %s", o->pcap_path);
    int status = sc->failed ? 1 : 0;
    const char *what = echo ? "demo" : "scenario";
    if (sc->failed) {
        fprintf(out, "%s FAILED: %s\n", what, sc->failure);
        fprintf(stderr, "synack: %s %s failed: %s\n", what, def->name, sc->failure);
    } else {
        fprintf(out, "%s OK\n", what);
    }
    fflush(out);
    scen_free(sc);
    free(sc);
    return status;
}
