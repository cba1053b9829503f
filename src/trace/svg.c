/*
 * svg.c: the SVG sequence diagram renderer (see svg.h).
 *
 * svg_observe() only records: segments become messages (a departure matched with its
 * arrival the way the ladder matches them: same direction, SEQ, ACK, flags and length, first
 * in first out, segments the link held back last), state changes and notes become items of
 * a timeline. svg_write() lays the timeline out and draws it:
 *
 *   1. Order. Items are sorted by time; at one instant arrivals come first, then state
 *      changes and notes, then departures (a stack reports what it sends in answer to a
 *      segment before it reports the segment; the picture shows cause before effect).
 *   2. Summary. When there are many messages, long runs of plain data and ACK segments
 *      between two ESTABLISHED ends (no retransmission, loss, drop or state change) keep
 *      their first and last few messages; the middle becomes one band that says how many
 *      segments and bytes it stands for.
 *   3. Vertical positions. Every departure gets its own step (room for its label), an
 *      arrival lands at the position of its instant, and the gap between two instants grows
 *      with the logarithm of the time between them, so an arrow's slant shows its transit
 *      time; a quiet time of half a second or more is drawn as a break labelled with its
 *      length.
 *   4. Drawing: lifelines coloured by state, state names and notes on the outer sides
 *      (pushed down so that they never overlap), arrows with their labels along them,
 *      TIME-WAIT as a shaded span, a time column on the left, and a legend.
 *
 * Everything is computed with + - * / and a Newton square root: no libm.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"
#include "trace/svg.h"

/* Geometry, pixels. */
#define W 1120.0          /* document width */
#define X_A 300.0         /* A's lifeline */
#define X_B 900.0         /* B's lifeline */
#define TIME_X 84.0       /* right edge of the time column */
#define TOP 118.0         /* first event's y */
#define STEP 20.0         /* room each departure takes */
#define ARRIVE_STEP 16.0  /* an arrival pushes later items down this much */
#define GAP_MIN 10.0      /* gap between two instants 1 us apart */
#define GAP_MAX 56.0      /* largest gap (and a break's height) */
#define BREAK_US 500000   /* a quiet time this long or longer is a break */
#define LABEL_GAP 14.0    /* least vertical distance between two side labels */
#define BAND_H 34.0       /* a summary band's height */
#define LOST_FRAC 0.55    /* a lost arrow ends this far across */
#define LIFE_W 10.0       /* lifeline bar width */
#define NOTE_WRAP 30      /* notes are wrapped at this many characters */

/* Summaries. */
#define SUMMARY_FROM 40   /* summarise only when there are more messages than this */
#define RUN_MIN 20        /* a run of plain messages longer than this is summarised */
#define RUN_KEEP 6        /* ...keeping this many at each end */

#define TEXT_MAX 160      /* longest label, bytes with the NUL */

enum item_kind {
    IT_ARRIVE,  /* a message's arrival (or a copy's) */
    IT_STATE,   /* a side changed state */
    IT_NOTE,    /* a note */
    IT_DEPART,  /* a message's departure */
    IT_BAND,    /* a summary band */
};

/* What happened to a message. */
enum fate {
    FATE_OPEN,      /* sent, not yet arrived */
    FATE_ARRIVED,
    FATE_LOST,
    FATE_CORRUPTED,
};

struct msg {
    int from;                 /* SVG_A or SVG_B */
    uint32_t seq, ack, len;
    uint32_t wnd;             /* window field as sent */
    uint8_t flags;
    bool retransmit;
    bool copy;                /* an arrival nobody was seen sending */
    bool delayed;             /* the link held it back: matched after other open ones */
    enum fate fate;
    int reason;               /* receiver's drop reason */
    int send_state, recv_state;
    uint64_t t_send, t_recv;
    bool hidden;              /* summarised away */
    double y_send, y_recv;
};

struct item {
    enum item_kind kind;
    uint64_t t;
    size_t order;             /* arrival order of the event, for a stable sort */
    int side;
    size_t msg;               /* IT_ARRIVE, IT_DEPART: index into msgs */
    int state;                /* IT_STATE */
    char text[TEXT_MAX];      /* IT_NOTE, IT_BAND */
    double y;
};

struct svg {
    char name[2][32];
    struct synack_addr addr[2];
    int initial[2];
    int state[2];             /* latest state per side */
    char title[TEXT_MAX];
    uint64_t msl_us;
    uint64_t now_us;          /* latest event time */
    bool any_event;
    uint64_t first_us;        /* first event time */

    struct msg *msgs;
    size_t nmsgs, capmsgs;
    struct item *items;
    size_t nitems, capitems;
};

/* ---- Recording -------------------------------------------------------------------------- */

static struct item *add_item(struct svg *g, enum item_kind kind, uint64_t t, int side)
{
    if (g->nitems == g->capitems) {
        size_t cap = g->capitems ? g->capitems * 2 : 64;
        struct item *p = realloc(g->items, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        g->items = p;
        g->capitems = cap;
    }
    struct item *it = &g->items[g->nitems];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->t = t;
    it->order = g->nitems;
    it->side = side;
    g->nitems++;
    return it;
}

static struct msg *add_msg(struct svg *g)
{
    if (g->nmsgs == g->capmsgs) {
        size_t cap = g->capmsgs ? g->capmsgs * 2 : 64;
        struct msg *p = realloc(g->msgs, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        g->msgs = p;
        g->capmsgs = cap;
    }
    struct msg *m = &g->msgs[g->nmsgs++];
    memset(m, 0, sizeof *m);
    return m;
}

static int side_of(const struct svg *g, struct synack_addr a)
{
    for (int s = 0; s < 2; s++)
        if (g->addr[s].ip == a.ip && g->addr[s].port == a.port)
            return s;
    for (int s = 0; s < 2; s++)
        if (g->addr[s].ip == a.ip && g->addr[s].port == 0)
            return s;
    return -1;
}

/* The side of ev's local end when its remote end is the other side (learning ports), or -1. */
static int event_side(struct svg *g, const struct synack_event *ev)
{
    int s = side_of(g, ev->local);
    if (s < 0 || side_of(g, ev->remote) != 1 - s)
        return -1;
    if (g->addr[s].port == 0)
        g->addr[s].port = ev->local.port;
    if (g->addr[1 - s].port == 0)
        g->addr[1 - s].port = ev->remote.port;
    return s;
}

/* The first open message from side from with these fields (held-back ones last), or -1. */
static long find_open(const struct svg *g, int from, const struct synack_event *ev)
{
    long delayed = -1;
    for (size_t i = 0; i < g->nmsgs; i++) {
        const struct msg *m = &g->msgs[i];
        if (m->fate == FATE_OPEN && !m->copy && m->from == from && m->seq == ev->seq &&
            m->ack == ev->ack && m->len == ev->len && m->flags == ev->flags) {
            if (!m->delayed)
                return (long)i;
            if (delayed < 0)
                delayed = (long)i;
        }
    }
    return delayed;
}

void svg_observe(void *arg, const struct synack_event *ev)
{
    struct svg *g = arg;

    if (g == NULL || ev == NULL)
        return;
    if (ev->kind == SYNACK_EV_LINK) {
        int from = side_of(g, ev->local);
        if (from < 0 || side_of(g, ev->remote) != 1 - from)
            return;
        long i = find_open(g, from, ev);
        if (i < 0)
            return;
        if (ev->link_action == SYNACK_LINK_LOST)
            g->msgs[i].fate = FATE_LOST;
        else if (ev->link_action == SYNACK_LINK_CORRUPTED)
            g->msgs[i].fate = FATE_CORRUPTED;
        else if (ev->link_action == SYNACK_LINK_DELAYED)
            g->msgs[i].delayed = true;
        return;
    }
    if (ev->kind != SYNACK_EV_SEG_OUT && ev->kind != SYNACK_EV_SEG_IN &&
        ev->kind != SYNACK_EV_STATE)
        return;
    int s = event_side(g, ev);
    if (s < 0)
        return;
    if (!g->any_event) {
        g->any_event = true;
        g->first_us = ev->time_us;
    }
    if (ev->time_us > g->now_us)
        g->now_us = ev->time_us;

    if (ev->kind == SYNACK_EV_STATE) {
        if (ev->state == g->state[s])
            return; /* a listener's child passing through LISTEN, or nothing new */
        g->state[s] = ev->state;
        struct item *it = add_item(g, IT_STATE, ev->time_us, s);
        if (it)
            it->state = ev->state;
        return;
    }
    if (ev->kind == SYNACK_EV_SEG_OUT) {
        g->state[s] = ev->state;
        struct msg *m = add_msg(g);
        if (m == NULL)
            return;
        m->from = s;
        m->seq = ev->seq;
        m->ack = ev->ack;
        m->len = ev->len;
        m->flags = ev->flags;
        m->wnd = ev->wnd;
        m->retransmit = ev->retransmit;
        m->send_state = ev->state;
        m->t_send = ev->time_us;
        struct item *it = add_item(g, IT_DEPART, ev->time_us, s);
        if (it)
            it->msg = g->nmsgs - 1;
        return;
    }
    /* SEG_IN at side s, sent by the other side. */
    g->state[s] = ev->state;
    long i = find_open(g, 1 - s, ev);
    struct msg *m;
    if (i >= 0) {
        m = &g->msgs[i];
    } else {
        m = add_msg(g); /* a copy nobody was seen sending (an old duplicate, a link copy) */
        if (m == NULL)
            return;
        m->from = 1 - s;
        m->seq = ev->seq;
        m->ack = ev->ack;
        m->len = ev->len;
        m->flags = ev->flags;
        m->wnd = ev->wnd;
        m->copy = true;
        m->send_state = -1;
        m->t_send = ev->time_us;
        i = (long)g->nmsgs - 1;
    }
    m->fate = FATE_ARRIVED;
    m->t_recv = ev->time_us;
    m->recv_state = ev->state;
    m->reason = ev->reason;
    struct item *it = add_item(g, IT_ARRIVE, ev->time_us, s);
    if (it)
        it->msg = (size_t)i;
}

void svg_note(struct svg *g, int side, const char *text)
{
    if (g == NULL || text == NULL || (side != SVG_A && side != SVG_B))
        return;
    struct item *it = add_item(g, IT_NOTE, g->now_us, side);
    if (it)
        snprintf(it->text, sizeof it->text, "%s", text);
}

/* ---- Layout ---------------------------------------------------------------------------- */

static int item_class(enum item_kind k)
{
    switch (k) {
    case IT_ARRIVE:
        return 0;
    case IT_STATE:
    case IT_NOTE:
        return 1;
    default:
        return 2;
    }
}

static int item_cmp(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    int ca = item_class(a->kind), cb = item_class(b->kind);
    if (ca != cb)
        return ca - cb;
    /* Arrivals of one instant in the order their messages left (a lost message's drawn
     * arrival among the others). */
    if (a->kind == IT_ARRIVE && b->kind == IT_ARRIVE && a->msg != b->msg)
        return a->msg < b->msg ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* A message a summary may stand for. */
static bool plain(const struct msg *m)
{
    return (m->flags & (uint8_t)~(SYNACK_ACK | SYNACK_PSH)) == 0 && !m->retransmit &&
           !m->copy && m->fate == FATE_ARRIVED && m->reason == 0 &&
           m->send_state == SYNACK_ESTABLISHED && m->recv_state == SYNACK_ESTABLISHED;
}

/* Summarises the run items[from, to) of plain messages' items (see the file comment).
 * Returns the number of items after the call in place of the run. */
static size_t summarise_run(struct svg *g, struct item *out, const struct item *run, size_t n)
{
    /* The run's messages in departure order; those that both leave and arrive in it. */
    size_t msgs = 0;
    for (size_t i = 0; i < n; i++)
        if (run[i].kind == IT_DEPART)
            msgs++;
    if (msgs <= RUN_MIN) {
        memmove(out, run, n * sizeof *run);
        return n;
    }
    size_t k = 0, seen = 0;
    uint64_t bytes = 0, t0 = 0, t1 = 0;
    size_t hidden = 0, data = 0;
    bool band_done = false;
    for (size_t i = 0; i < n; i++) {
        if (run[i].kind == IT_DEPART) {
            struct msg *m = &g->msgs[run[i].msg];
            seen++;
            /* Hide the middle ones whose arrival is in the run too. */
            bool arrives_here = false;
            for (size_t j = i + 1; j < n; j++)
                if (run[j].kind == IT_ARRIVE && run[j].msg == run[i].msg)
                    arrives_here = true;
            if (seen > RUN_KEEP && seen <= msgs - RUN_KEEP && arrives_here) {
                m->hidden = true;
                if (hidden == 0)
                    t0 = m->t_send;
                t1 = m->t_recv;
                hidden++;
                bytes += m->len;
                data += m->len > 0;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct msg *m = &g->msgs[run[i].msg];
        if (!m->hidden) {
            out[k++] = run[i];
            continue;
        }
        if (!band_done) {
            char d[TRACE_TIME_MAX];
            band_done = true;
            out[k] = run[i];
            out[k].kind = IT_BAND;
            snprintf(out[k].text, sizeof out[k].text,
                     "... %zu more segments: %zu with data (%" PRIu64 " bytes), %zu ACKs, "
                     "over %s ...",
                     hidden, data, bytes, hidden - data, trace_format_duration(d, sizeof d, t1 - t0));
            k++;
        }
    }
    return k;
}

/* Sorts the items and summarises long runs of plain messages. */
static void arrange(struct svg *g)
{
    /* A note given before the first event belongs to the first event's instant. */
    for (size_t i = 0; i < g->nitems; i++)
        if (g->items[i].t < g->first_us)
            g->items[i].t = g->first_us;
    /* A lost message is drawn towards where it would have arrived: after the transit time
     * of the nearest message in the same direction that did arrive (1 ms if none). */
    size_t nmsgs = g->nmsgs;
    for (size_t i = 0; i < nmsgs; i++) {
        const struct msg *m = &g->msgs[i];
        if (m->fate != FATE_LOST && m->fate != FATE_CORRUPTED)
            continue;
        uint64_t transit = 1000, best = UINT64_MAX;
        for (size_t j = 0; j < nmsgs; j++) {
            const struct msg *o = &g->msgs[j];
            size_t dist = j > i ? j - i : i - j;
            if (o->fate == FATE_ARRIVED && !o->copy && o->from == m->from && dist < best) {
                best = dist;
                transit = o->t_recv - o->t_send;
            }
        }
        struct item *it = add_item(g, IT_ARRIVE, m->t_send + transit, 1 - m->from);
        if (it)
            it->msg = i;
    }
    qsort(g->items, g->nitems, sizeof *g->items, item_cmp);
    if (g->nmsgs <= SUMMARY_FROM)
        return;
    size_t w = 0, i = 0;
    while (i < g->nitems) {
        const struct item *it = &g->items[i];
        bool in_run = (it->kind == IT_DEPART || it->kind == IT_ARRIVE) &&
                      plain(&g->msgs[it->msg]);
        if (!in_run) {
            g->items[w++] = g->items[i++];
            continue;
        }
        size_t j = i;
        while (j < g->nitems &&
               (g->items[j].kind == IT_DEPART || g->items[j].kind == IT_ARRIVE) &&
               plain(&g->msgs[g->items[j].msg]))
            j++;
        w += summarise_run(g, &g->items[w], &g->items[i], j - i);
        i = j;
    }
    g->nitems = w;
}

/* log10(1 + x) for x >= 0, to about 3 digits: enough to space instants. */
static double log10_1p(double x)
{
    double v = 1.0 + x, r = 0.0;
    while (v >= 10.0) {
        v /= 10.0;
        r += 1.0;
    }
    /* log10(v) for v in [1, 10): ln(v) / ln(10) with ln by the series of atanh. */
    double z = (v - 1.0) / (v + 1.0), z2 = z * z, term = z, ln = 0.0;
    for (int k = 1; k < 40; k += 2) {
        ln += term / k;
        term *= z2;
    }
    return r + 2.0 * ln / 2.302585092994046;
}

static double gap_for(uint64_t dt)
{
    if (dt == 0)
        return 0.0;
    double g = GAP_MIN + 12.0 * log10_1p((double)dt / 1000.0);
    return g > GAP_MAX ? GAP_MAX : g;
}

static double sqrt_newton(double x)
{
    if (x <= 0.0)
        return 0.0;
    double r = x > 1.0 ? x : 1.0;
    for (int i = 0; i < 60; i++)
        r = 0.5 * (r + x / r);
    return r;
}

/* ---- Drawing ------------------------------------------------------------------------------ */

/* Writes s with XML's special characters escaped. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}

static double x_of(int side)
{
    return side == SVG_A ? X_A : X_B;
}

/* Colour of a lifeline in a state. */
static const char *state_fill(int state)
{
    switch (state) {
    case SYNACK_LISTEN:
        return "#9ecae1";
    case SYNACK_SYN_SENT:
    case SYNACK_SYN_RECEIVED:
        return "#fdd49e";
    case SYNACK_ESTABLISHED:
        return "#a1d99b";
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
    case SYNACK_CLOSE_WAIT:
    case SYNACK_CLOSING:
    case SYNACK_LAST_ACK:
        return "#fc9272";
    case SYNACK_TIME_WAIT:
        return "#bcbddc";
    default:
        return "#d9d9d9";
    }
}

/* A side label (state or note) at y on side's outer edge, pushed below *last (the side's
 * previous label) when it would overlap; updates *last. Long notes wrap. */
static void side_label(FILE *f, int side, double y, const char *text, bool note, double *last)
{
    char lines[4][TEXT_MAX];
    int n = 0;
    const char *p = text;

    /* Wrap at spaces to NOTE_WRAP characters (a state is never wrapped). */
    while (*p && n < 4) {
        size_t len = strlen(p);
        size_t take = len;
        if (note && len > NOTE_WRAP) {
            take = NOTE_WRAP;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0)
                take = NOTE_WRAP;
        }
        snprintf(lines[n], sizeof lines[n], "%.*s", (int)take, p);
        n++;
        p += take;
        while (*p == ' ')
            p++;
    }
    if (y < *last + LABEL_GAP)
        y = *last + LABEL_GAP;
    double x = side == SVG_A ? X_A - 14 : X_B + 14;
    for (int i = 0; i < n; i++) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\" text-anchor=\"%s\">", x,
                y + 4 + 13.0 * i, note ? "note" : "state", side == SVG_A ? "end" : "start");
        put_text(f, lines[i]);
        fputs("</text>\n", f);
    }
    *last = y + 13.0 * (n - 1);
}

/* The label of a message: the RFC notation, and what happened to it. */
static void msg_label(const struct msg *m, char *buf, size_t cap)
{
    char seg[TRACE_SEG_MAX];
    trace_format_segment(seg, sizeof seg, m->seq, m->ack, m->flags, m->len);
    if (m->wnd == 0 && !(m->flags & SYNACK_RST)) /* a closed window, as the ladder shows it */
        strncat(seg, "<WND=0>", sizeof seg - strlen(seg) - 1);
    const char *what = "";
    char extra[64] = "";
    if (m->copy)
        what = " (duplicate)";
    else if (m->fate == FATE_LOST)
        what = " (lost)";
    else if (m->fate == FATE_CORRUPTED)
        what = " (corrupted)";
    else if (m->fate == FATE_OPEN)
        what = " (in flight)";
    if (m->reason)
        snprintf(extra, sizeof extra, " dropped: %s", synack_drop_name(m->reason));
    snprintf(buf, cap, "%s%s%s%s", m->retransmit ? "retransmission " : "", seg, what, extra);
}

/* Draws message m from (x1, y1) to (x2, y2): the line, its head or cross, its label. */
static void draw_msg(FILE *f, const struct msg *m, double x1, double y1, double x2, double y2)
{
    const char *cls = m->retransmit ? "rtx" : m->from == SVG_A ? "ab" : "ba";
    bool ends = m->fate == FATE_ARRIVED || m->fate == FATE_OPEN;
    char label[TEXT_MAX];

    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"msg %s%s\"%s/>\n",
            x1, y1, x2, y2, cls, m->copy ? " copy" : "",
            ends ? (m->retransmit ? " marker-end=\"url(#head-rtx)\""
                                  : m->from == SVG_A ? " marker-end=\"url(#head-ab)\""
                                                     : " marker-end=\"url(#head-ba)\"")
                 : "");
    if (!ends) { /* the cross where the network lost it */
        fprintf(f,
                "<path d=\"M%.1f %.1f l10 10 m0 -10 l-10 10\" class=\"cross\"/>\n",
                x2 - 5, y2 - 5);
    }
    if (m->reason && m->fate == FATE_ARRIVED) { /* a bar where the receiver dropped it */
        fprintf(f, "<path d=\"M%.1f %.1f v12\" class=\"cross\"/>\n",
                x2 + (m->from == SVG_A ? -3.0 : 3.0), y2 - 6);
    }
    /* The label along the line, from the sender's end, above it. */
    double dx = x2 - x1, dy = y2 - y1, len = sqrt_newton(dx * dx + dy * dy);
    if (len < 1.0)
        return;
    double c = dx / len, s = dy / len;
    if (c < 0) { /* read left to right */
        c = -c;
        s = -s;
    }
    double ax = m->from == SVG_A ? x1 + 16 * (dx / len) : x1 + 16 * (dx / len);
    double ay = y1 + 16 * (dy / len);
    msg_label(m, label, sizeof label);
    fprintf(f,
            "<text class=\"seg %s\" text-anchor=\"%s\" "
            "transform=\"matrix(%.4f %.4f %.4f %.4f %.1f %.1f)\" y=\"-4\">",
            cls, m->from == SVG_A ? "start" : "end", c, s, -s, c, ax, ay);
    put_text(f, label);
    fputs("</text>\n", f);
}

static void write_style(FILE *f)
{
    fputs("<style>\n"
          "text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;fill:#222}\n"
          ".title{font-size:16px;font-weight:bold}\n"
          ".sub{font-size:12px;fill:#555}\n"
          ".name{font-size:15px;font-weight:bold}\n"
          ".addr{font-size:12px;fill:#444}\n"
          ".state{font-size:12px;font-weight:bold}\n"
          ".note{font-size:12px;font-style:italic;fill:#444}\n"
          ".time{font-size:10px;fill:#666;font-family:'DejaVu Sans Mono',monospace}\n"
          ".seg{font-size:11px;font-family:'DejaVu Sans Mono',monospace;"
          "paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}\n"
          ".seg.ab{fill:#08519c}.seg.ba{fill:#54278f}.seg.rtx{fill:#a63603}\n"
          ".msg{stroke-width:1.6;fill:none}\n"
          ".msg.ab{stroke:#2171b5}.msg.ba{stroke:#6a51a3}\n"
          ".msg.rtx{stroke:#e6550d;stroke-dasharray:7 4}\n"
          ".msg.copy{stroke-dasharray:2 3}\n"
          ".cross{stroke:#cb181d;stroke-width:2.4;fill:none}\n"
          ".life{stroke:#555;stroke-width:0.6}\n"
          ".tw{fill:#756bb1;fill-opacity:0.16;stroke:#756bb1;stroke-dasharray:3 3}\n"
          ".band{fill:#f0f0f0;stroke:#bbb}\n"
          ".bandtext{font-size:12px;fill:#444;font-style:italic}\n"
          ".brk{stroke:#999;stroke-width:1;stroke-dasharray:2 4}\n"
          ".legend{font-size:11px;fill:#444}\n"
          "</style>\n",
          f);
    fputs("<defs>\n", f);
    static const char *heads[][2] = {{"head-ab", "#2171b5"}, {"head-ba", "#6a51a3"},
                                     {"head-rtx", "#e6550d"}};
    for (size_t i = 0; i < 3; i++)
        fprintf(f,
                "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
                "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
                "<path d=\"M0 0 L10 5 L0 10 z\" fill=\"%s\"/></marker>\n",
                heads[i][0], heads[i][1]);
    fputs("</defs>\n", f);
}

/* The time column: "1.002 s". */
static void time_label(char *buf, size_t cap, uint64_t us)
{
    uint64_t ms = (us + 500) / 1000;
    snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " s", ms / 1000, ms % 1000);
}

int svg_write(struct svg *g, FILE *f)
{
    if (g == NULL || f == NULL)
        return -1;
    arrange(g);

    /* Vertical positions. */
    double y = TOP, brk_y[256];
    uint64_t brk_dt[256];
    int nbrk = 0;
    uint64_t last_t = g->first_us;
    for (size_t i = 0; i < g->nitems; i++) {
        struct item *it = &g->items[i];
        if (it->t > last_t) {
            uint64_t dt = it->t - last_t;
            if (dt >= BREAK_US && nbrk < 256) {
                brk_y[nbrk] = y + GAP_MAX / 2;
                brk_dt[nbrk++] = dt;
                y += GAP_MAX;
            } else {
                y += gap_for(dt);
            }
            last_t = it->t;
        }
        switch (it->kind) {
        case IT_ARRIVE: {
            struct msg *m = &g->msgs[it->msg];
            if (m->copy)
                m->y_send = y;
            double min = m->copy ? y + STEP : m->y_send + 8;
            it->y = y > min ? y : min;
            m->y_recv = it->y;
            y = it->y + ARRIVE_STEP;
            break;
        }
        case IT_DEPART:
            it->y = y;
            g->msgs[it->msg].y_send = y;
            y += STEP;
            break;
        case IT_BAND:
            it->y = y + 4;
            y += BAND_H + 8;
            break;
        default:
            it->y = y;
        }
    }
    double y_end = y + 30;
    double height = y_end + 70;

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\">\n",
            W, height, W, height);
    write_style(f);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    fprintf(f, "<text x=\"20\" y=\"28\" class=\"title\">");
    put_text(f, g->title[0] ? g->title : "synack: a TCP connection");
    fputs("</text>\n", f);
    fprintf(f, "<text x=\"20\" y=\"46\" class=\"sub\">time flows down (virtual time, "
               "compressed; long quiet times are breaks); states are each side's after "
               "each step</text>\n");
    for (int s = 0; s < 2; s++) {
        char addr[TRACE_ADDR_MAX];
        fprintf(f, "<text x=\"%.1f\" y=\"78\" class=\"name\" text-anchor=\"middle\">", x_of(s));
        put_text(f, g->name[s]);
        fprintf(f, "</text>\n<text x=\"%.1f\" y=\"94\" class=\"addr\" text-anchor=\"middle\">"
                   "%s</text>\n",
                x_of(s), trace_format_addr(addr, sizeof addr, g->addr[s]));
    }

    /* Lifelines coloured by state; TIME-WAIT spans. */
    for (int s = 0; s < 2; s++) {
        double y0 = TOP - 12;
        int st = g->initial[s];
        double x = x_of(s);
        for (size_t i = 0; i <= g->nitems; i++) {
            bool change = i < g->nitems && g->items[i].kind == IT_STATE && g->items[i].side == s;
            if (i < g->nitems && !change)
                continue;
            double y1 = i < g->nitems ? g->items[i].y : y_end;
            if (y1 > y0)
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"%s\" stroke=\"#777\" stroke-width=\"0.5\"/>\n",
                        x - LIFE_W / 2, y0, LIFE_W, y1 - y0, state_fill(st));
            if (st == SYNACK_TIME_WAIT && y1 > y0)
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"44\" height=\"%.1f\" "
                        "class=\"tw\"/>\n",
                        x - 22, y0, y1 - y0);
            if (i < g->nitems) {
                y0 = y1;
                st = g->items[i].state;
            }
        }
    }

    /* Breaks and the time column. */
    for (int b = 0; b < nbrk; b++) {
        char d[TRACE_TIME_MAX];
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"brk\"/>\n",
                TIME_X + 6, brk_y[b], W - 20, brk_y[b]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"time\" text-anchor=\"end\">+%s</text>\n",
                TIME_X, brk_y[b] + 3, trace_format_duration(d, sizeof d, brk_dt[b]));
    }
    double last_label = -100;
    uint64_t labelled_t = UINT64_MAX;
    for (size_t i = 0; i < g->nitems; i++) {
        const struct item *it = &g->items[i];
        if (it->t == labelled_t || it->y < last_label + 12)
            continue;
        char t[TRACE_TIME_MAX];
        time_label(t, sizeof t, it->t);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"time\" text-anchor=\"end\">%s</text>\n",
                TIME_X, it->y + 3, t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"life\"/>\n",
                TIME_X + 4, it->y, TIME_X + 12, it->y);
        last_label = it->y;
        labelled_t = it->t;
    }

    /* Side labels: the initial states, then changes and notes. */
    double last[2] = {-100, -100};
    for (int s = 0; s < 2; s++)
        side_label(f, s, TOP - 4, synack_state_name(g->initial[s]), false, &last[s]);
    for (size_t i = 0; i < g->nitems; i++) {
        const struct item *it = &g->items[i];
        if (it->kind == IT_NOTE) {
            side_label(f, it->side, it->y, it->text, true, &last[it->side]);
        } else if (it->kind == IT_STATE) {
            char text[TEXT_MAX], sub[TEXT_MAX] = "", d[TRACE_TIME_MAX];
            snprintf(text, sizeof text, "%s", synack_state_name(it->state));
            if (it->state == SYNACK_TIME_WAIT) { /* its length, from the next change */
                for (size_t j = i + 1; j < g->nitems; j++) {
                    const struct item *e = &g->items[j];
                    if (e->kind == IT_STATE && e->side == it->side) {
                        uint64_t len = e->t - it->t;
                        if (g->msl_us && len == 2 * g->msl_us)
                            snprintf(sub, sizeof sub, "2 x MSL = %s",
                                     trace_format_duration(d, sizeof d, len));
                        else
                            snprintf(sub, sizeof sub, "for %s",
                                     trace_format_duration(d, sizeof d, len));
                        break;
                    }
                }
            }
            side_label(f, it->side, it->y, text, false, &last[it->side]);
            if (sub[0])
                side_label(f, it->side, it->y, sub, true, &last[it->side]);
        }
    }

    /* Summary bands. */
    for (size_t i = 0; i < g->nitems; i++) {
        const struct item *it = &g->items[i];
        if (it->kind != IT_BAND)
            continue;
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" "
                "class=\"band\"/>\n",
                X_A + 12, it->y, X_B - X_A - 24, BAND_H);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"bandtext\" text-anchor=\"middle\">",
                (X_A + X_B) / 2, it->y + BAND_H / 2 + 4);
        put_text(f, it->text);
        fputs("</text>\n", f);
    }

    /* Messages. */
    for (size_t i = 0; i < g->nmsgs; i++) {
        const struct msg *m = &g->msgs[i];
        if (m->hidden)
            continue;
        double x1 = x_of(m->from), x2 = x_of(1 - m->from);
        double sgn = x2 > x1 ? 1.0 : -1.0;
        x1 += sgn * LIFE_W / 2;
        x2 -= sgn * LIFE_W / 2;
        if (m->fate == FATE_ARRIVED) {
            double y1 = m->copy ? m->y_recv - STEP : m->y_send;
            double xs = m->copy ? x1 + sgn * (X_B - X_A) * 0.25 : x1; /* from the network */
            draw_msg(f, m, xs, y1, x2, m->y_recv);
        } else if (m->fate == FATE_OPEN) {
            draw_msg(f, m, x1, m->y_send, x2, y_end - 8);
        } else {
            draw_msg(f, m, x1, m->y_send, x1 + (x2 - x1) * LOST_FRAC,
                     m->y_send + (m->y_recv - m->y_send) * LOST_FRAC);
        }
    }

    /* Legend. */
    double ly = y_end + 30;
    fprintf(f,
            "<line x1=\"20\" y1=\"%.1f\" x2=\"60\" y2=\"%.1f\" class=\"msg ab\" "
            "marker-end=\"url(#head-ab)\"/><text x=\"66\" y=\"%.1f\" class=\"legend\">A to B"
            "</text>\n",
            ly, ly, ly + 4);
    fprintf(f,
            "<line x1=\"140\" y1=\"%.1f\" x2=\"180\" y2=\"%.1f\" class=\"msg ba\" "
            "marker-end=\"url(#head-ba)\"/><text x=\"186\" y=\"%.1f\" class=\"legend\">B to A"
            "</text>\n",
            ly, ly, ly + 4);
    fprintf(f,
            "<line x1=\"260\" y1=\"%.1f\" x2=\"300\" y2=\"%.1f\" class=\"msg rtx\" "
            "marker-end=\"url(#head-rtx)\"/><text x=\"306\" y=\"%.1f\" class=\"legend\">"
            "retransmission</text>\n",
            ly, ly, ly + 4);
    fprintf(f,
            "<path d=\"M420 %.1f l10 10 m0 -10 l-10 10\" class=\"cross\"/>"
            "<text x=\"438\" y=\"%.1f\" class=\"legend\">lost in the network</text>\n",
            ly - 5, ly + 4);
    static const int legend_states[] = {SYNACK_CLOSED, SYNACK_LISTEN, SYNACK_SYN_SENT,
                                        SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1,
                                        SYNACK_TIME_WAIT};
    static const char *legend_names[] = {"closed", "listen", "opening", "established",
                                         "closing", "time-wait"};
    double lx = 580;
    for (size_t i = 0; i < sizeof legend_states / sizeof legend_states[0]; i++) {
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"14\" fill=\"%s\" "
                "stroke=\"#777\" stroke-width=\"0.5\"/><text x=\"%.1f\" y=\"%.1f\" "
                "class=\"legend\">%s</text>\n",
                lx, ly - 7, state_fill(legend_states[i]), lx + 14, ly + 4, legend_names[i]);
        lx += 14 + 7.0 * (double)strlen(legend_names[i]) + 16;
    }
    fputs("</svg>\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ---- Life cycle -------------------------------------------------------------------------- */

struct svg *svg_new(const char *name_a, struct synack_addr a, int state_a, const char *name_b,
                    struct synack_addr b, int state_b)
{
    struct svg *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    snprintf(g->name[SVG_A], sizeof g->name[SVG_A], "%s", name_a ? name_a : "A");
    snprintf(g->name[SVG_B], sizeof g->name[SVG_B], "%s", name_b ? name_b : "B");
    g->addr[SVG_A] = a;
    g->addr[SVG_B] = b;
    g->initial[SVG_A] = g->state[SVG_A] = state_a;
    g->initial[SVG_B] = g->state[SVG_B] = state_b;
    return g;
}

void svg_set_title(struct svg *g, const char *title)
{
    if (g && title)
        snprintf(g->title, sizeof g->title, "%s", title);
}

void svg_set_msl(struct svg *g, uint64_t msl_us)
{
    if (g)
        g->msl_us = msl_us;
}

void svg_free(struct svg *g)
{
    if (g == NULL)
        return;
    free(g->msgs);
    free(g->items);
    free(g);
}
