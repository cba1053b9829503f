/*
 * ladder.c: the RFC 793-style ladder renderer (see ladder.h).
 *
 * Read first: RFC 9293 3.5, the paragraph before Figure 6 (how a ladder line is read), and
 * Figures 6 to 13.
 *
 * The model is the figures' own: each side has a column, and each side's column must read
 * top to bottom in the order things happened at that side. A row holds events of one or
 * both columns:
 *   - a segment row: a departure (SEG_OUT) and, when it can be drawn on the same row, the
 *     arrival (the matching SEG_IN: same direction, SEQ, ACK, flags and length; first in,
 *     first out, segments the link held back matched last);
 *   - an arrival row: the arrival of a segment whose departure row could not take it
 *     because the receiver did something on a later row in between. Both rows show "..."
 *     where the other is, as RFC 9293 Figure 7 lines 2 and 4;
 *   - a copy row: an arrival nobody sent (a copy made by the link, an old duplicate), drawn
 *     like Figure 8 line 3: "(duplicate) ... <SEQ=90><CTL=SYN> --> SYN-RECEIVED";
 *   - a state row: a state change no segment shows (TIME-WAIT's end, a timeout), with
 *     "(2 MSL)" above it for the end of TIME-WAIT, as Figure 12 line 6; both sides' changes
 *     at the same instant share a row (Figure 13 line 4);
 *   - a status row (ladder_status, and line 1) and a note row (ladder_note_line).
 * An arrival is drawn on its departure's row when no later row has an event of the
 * receiver; otherwise on a row of its own, inserted right after the receiver's last row.
 *
 * Events of one instant: a stack reports the segments it sends while processing an arrival
 * before it reports the arrival itself, and a figure draws the arrival first ("state AFTER
 * the departure or arrival"). So departures are held until the clock moves on (or an
 * arrival of the held segment itself comes, on a path without delay); arrivals and state
 * changes of that instant are placed first.
 *
 * A STATE event is held too, until the same side's next event: a segment of that side at
 * the same time that shows the same state absorbs it (the line shows the change);
 * otherwise it becomes a state row.
 *
 * Lines are numbered and printed in row order, each as soon as it and every row before it
 * are complete; the header and line 1 with the first other line (or at ladder_flush).
 *
 * Events are matched to a side by their local address. An address given to ladder_new() with
 * port 0 matches any port of its IP, and the port is learned from the first event. Events of
 * other peers are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"
#include "trace/ladder.h"

#define NUM_W 6     /* "%4u. " line number column, characters */
#define TIME_W 12   /* verbose time column: "240.006000" (10) and two spaces */
#define STATE_W 13  /* a state column: "SYN-RECEIVED" (12) and one space */
#define ARROW_W 4   /* "--> ", "<-- ", "... " or blanks */
#define SEG_W 53    /* segment column: <SEQ=ten digits><ACK=ten digits><CTL=ACK><DATA=1460>
                       is 52 characters, plus one space */
#define NOTE_MAX 64 /* longest note, bytes with the NUL */
#define TEXT_MAX 128 /* longest middle text or comment, bytes with the NUL */
#define ROW_MAX 400 /* longest printed row, bytes with the NUL */
#define LOSS_MAX 16 /* losses remembered before their SEG_OUT (a link may report first) */
#define SENT_MAX 64 /* departures remembered to time retransmissions */

#define SIDE_A LADDER_A
#define SIDE_B LADDER_B

/* What a row shows in a state column instead of a state. */
#define MARK_NONE 0
#define MARK_LOST 1       /* "(lost)": the link dropped the segment */
#define MARK_CORRUPTED 2  /* "(corrupted)": the link damaged it; the receiver drops it */
#define MARK_DUPLICATE 3  /* "(duplicate)": a copy nobody sent */
#define MARK_IN_FLIGHT 4  /* "(in flight)": not delivered when the ladder was flushed */
#define MARK_ELSEWHERE 5  /* "..." and no state: that end is drawn on another row */

enum row_kind {
    ROW_SEGMENT, /* a departure, with its arrival when merged */
    ROW_ARRIVAL, /* an arrival whose departure is on an earlier row */
    ROW_COPY,    /* an arrival that matched no departure */
    ROW_STATE,   /* state changes without a segment */
    ROW_STATUS,  /* both sides' states (line 1, ladder_status) */
    ROW_NOTES,   /* notes only (ladder_note_line) */
};

/* The fields a segment is matched by. */
struct seg_key {
    int from;      /* SIDE_A or SIDE_B: the sender */
    uint32_t seq, ack, len;
    uint8_t flags;
};

struct row {
    enum row_kind kind;
    bool open;            /* ROW_SEGMENT waiting for its arrival or loss */
    bool delayed;         /* the link held it back: matched after other open rows */
    struct seg_key key;
    bool has[2];          /* the side has an event on this row (its state is shown) */
    int state[2];         /* state shown per side (enum synack_state) */
    int mark[2];          /* MARK_* shown instead of the state, per side */
    bool retransmit;      /* the sender marked it as a retransmission */
    bool has_gap;         /* gap_us is known */
    uint64_t gap_us;      /* time since the previous transmission of the same segment */
    int reason;           /* receiver's drop reason (0 = accepted) */
    char note[2][NOTE_MAX]; /* notes above the row, per side */
    uint64_t time_us;     /* the row's first event */
    bool arrived;         /* ROW_SEGMENT: the arrival is on this row, at arrive_us */
    uint64_t arrive_us;
    uint32_t wnd;         /* window field (verbose) */
    char opts[TRACE_OPTS_MAX]; /* options (verbose) */
};

/* A growable array of rows. */
struct rows {
    struct row *v;
    size_t count, cap;
};

/* A STATE event not yet shown (see the file comment). */
struct pending_state {
    bool set;
    int old_state, new_state;
    uint64_t time_us;
};

/* When a segment was last sent, to time its retransmission. */
struct sent_rec {
    bool used;
    int from;
    uint32_t seq;
    uint8_t ctl;          /* SYN, FIN, RST flags */
    uint64_t time_us;
};

struct ladder {
    FILE *out;
    bool verbose;
    char name[2][32];             /* "TCP A" */
    struct synack_addr addr[2];   /* port 0: any port, learned from the first event */
    int initial[2];               /* each side's state on line 1 */
    int state[2];                 /* each side's latest known state */
    bool initial_added;           /* line 1's states are in rows */
    bool header_done;             /* header printed */
    unsigned number;              /* number of the last line printed */
    uint64_t now_us;              /* time of the latest event */

    struct rows rows;             /* rows not yet printed are [head, count) */
    size_t head;
    struct rows held;             /* departures of the current instant (file comment) */

    struct seg_key early_loss[LOSS_MAX]; /* losses reported before their SEG_OUT */
    int early_loss_mark[LOSS_MAX];
    int early_losses;

    struct sent_rec sent[SENT_MAX];
    unsigned sent_next;           /* slot to reuse next */

    struct pending_state pending[2];
    char note[2][NOTE_MAX];       /* ladder_note() texts waiting for a row */
};

/* ---- Rows ---------------------------------------------------------------------------- */

/* Makes room for one more row; false when memory runs out. */
static bool rows_reserve(struct rows *r)
{
    if (r->count < r->cap)
        return true;
    size_t cap = r->cap ? r->cap * 2 : 32;
    struct row *p = realloc(r->v, cap * sizeof *p);
    if (p == NULL)
        return false;
    r->v = p;
    r->cap = cap;
    return true;
}

/* Inserts a copy of row at index at (<= count); returns it or NULL (out of memory: the
 * event is not drawn). */
static struct row *rows_insert(struct rows *r, size_t at, const struct row *row)
{
    if (!rows_reserve(r))
        return NULL;
    memmove(r->v + at + 1, r->v + at, (r->count - at) * sizeof *r->v);
    r->v[at] = *row;
    r->count++;
    return &r->v[at];
}

/* Drops the printed prefix of the ladder's rows. */
static void compact(struct ladder *l)
{
    if (l->head == 0)
        return;
    memmove(l->rows.v, l->rows.v + l->head, (l->rows.count - l->head) * sizeof *l->rows.v);
    l->rows.count -= l->head;
    l->head = 0;
}

/* Moves the pending ladder_note() text of each side that takes part in row onto it. */
static void take_notes(struct ladder *l, struct row *row)
{
    for (int s = 0; s < 2; s++) {
        if (row->has[s] && l->note[s][0]) {
            snprintf(row->note[s], sizeof row->note[s], "%s", l->note[s]);
            l->note[s][0] = '\0';
        }
    }
}

static struct row *append_row(struct ladder *l, const struct row *row)
{
    compact(l);
    return rows_insert(&l->rows, l->rows.count, row);
}

/* Line 1: the initial states (after any note line given before the first event). */
static void ensure_initial(struct ladder *l)
{
    if (l->initial_added)
        return;
    l->initial_added = true;
    struct row r;
    memset(&r, 0, sizeof r);
    r.kind = ROW_STATUS;
    r.has[SIDE_A] = r.has[SIDE_B] = true;
    r.state[SIDE_A] = l->initial[SIDE_A];
    r.state[SIDE_B] = l->initial[SIDE_B];
    r.time_us = l->now_us;
    append_row(l, &r);
}

/* ---- Text ------------------------------------------------------------------------------ */

static const char *mark_text(int mark)
{
    switch (mark) {
    case MARK_LOST:
        return "(lost)";
    case MARK_CORRUPTED:
        return "(corrupted)";
    case MARK_DUPLICATE:
        return "(duplicate)";
    case MARK_IN_FLIGHT:
        return "(in flight)";
    default:
        return "";
    }
}

/* Appends s to row (ROW_MAX bytes, *n used), then spaces up to the column width, or one
 * space when s fills or overflows the column (none for width 0: the last column). */
static void put_col(char *row, size_t *n, const char *s, size_t width)
{
    size_t len = strlen(s);

    if (*n + len + width + 2 >= ROW_MAX)
        return; /* cannot happen with the texts above; keeps the row bounded */
    memcpy(row + *n, s, len);
    *n += len;
    size_t pad = len < width ? width - len : (width > 0 ? 1 : 0);
    memset(row + *n, ' ', pad);
    *n += pad;
}

/* Writes row (n bytes used) without trailing blanks. */
static void put_line(struct ladder *l, char *row, size_t n)
{
    while (n > 0 && row[n - 1] == ' ')
        n--;
    row[n] = '\0';
    fprintf(l->out, "%s\n", row);
}

/* The number column ("  12." on a row's first physical line, blanks when number is 0) and,
 * when verbose, the time column (blank when time is NULL). */
static void put_number(struct ladder *l, char *row, size_t *n, unsigned number,
                       const uint64_t *time)
{
    char num[16], t[TRACE_TIME_MAX];

    if (number)
        snprintf(num, sizeof num, "%4u.", number);
    else
        num[0] = '\0';
    put_col(row, n, num, NUM_W);
    if (l->verbose)
        put_col(row, n, time ? trace_format_time(t, sizeof t, *time) : "", TIME_W);
}

/* Prints the header once, before the first row. */
static void print_header(struct ladder *l)
{
    char a[TEXT_MAX], b[TEXT_MAX], addr[TRACE_ADDR_MAX];

    if (l->header_done)
        return;
    l->header_done = true;
    snprintf(a, sizeof a, "%s %s", l->name[SIDE_A],
             trace_format_addr(addr, sizeof addr, l->addr[SIDE_A]));
    snprintf(b, sizeof b, "%s %s", l->name[SIDE_B],
             trace_format_addr(addr, sizeof addr, l->addr[SIDE_B]));
    /* The names sit above the state columns. */
    char row[ROW_MAX];
    size_t n = 0;
    put_col(row, &n, "", NUM_W);
    if (l->verbose)
        put_col(row, &n, "time", TIME_W);
    put_col(row, &n, a, STATE_W + ARROW_W + SEG_W + ARROW_W);
    put_col(row, &n, b, 0);
    put_line(l, row, n);
}

/* The comment at the end of a row: retransmission and drop reason. */
static void row_comment(const struct row *r, char *buf, size_t cap)
{
    char gap[TRACE_TIME_MAX];
    size_t n = 0;

    buf[0] = '\0';
    if (r->retransmit && r->kind == ROW_SEGMENT) {
        if (r->has_gap)
            n += (size_t)snprintf(buf, cap, "(retransmission after %s",
                                  trace_format_duration(gap, sizeof gap, r->gap_us));
        else
            n += (size_t)snprintf(buf, cap, "(retransmission");
    }
    bool reason_here = r->reason && (r->kind != ROW_SEGMENT || r->arrived);
    if (reason_here && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sdropped: %s", n ? "; " : "(",
                              synack_drop_name(r->reason));
    if (n > 0 && n < cap)
        snprintf(buf + n, cap - n, ")");
}

static void print_row(struct ladder *l, const struct row *r)
{
    char row[ROW_MAX], middle[TEXT_MAX], comment[TEXT_MAX];
    const char *col[2] = {"", ""}, *arrow[2] = {"", ""};
    size_t n = 0;

    l->number++;
    unsigned number = l->number;

    /* The notes line, above the row's first physical line. */
    if (r->note[SIDE_A][0] || r->note[SIDE_B][0] || r->kind == ROW_NOTES) {
        put_number(l, row, &n, number, NULL);
        put_col(row, &n, r->note[SIDE_A], STATE_W + ARROW_W + SEG_W + ARROW_W);
        put_col(row, &n, r->note[SIDE_B], 0);
        put_line(l, row, n);
        if (r->kind == ROW_NOTES)
            return;
        number = 0;
        n = 0;
    }

    middle[0] = '\0';
    comment[0] = '\0';
    if (r->kind == ROW_STATE || r->kind == ROW_STATUS) {
        for (int s = 0; s < 2; s++)
            col[s] = r->has[s] ? synack_state_name(r->state[s]) : "";
    } else {
        int from = r->key.from, to = 1 - from;
        const char *dir = from == SIDE_A ? "-->" : "<--";
        trace_format_segment(middle, sizeof middle, r->key.seq, r->key.ack, r->key.flags,
                             r->key.len);
        /* A closed window is what a zero-window probe is about: shown, though the figures
         * never show windows (a RST's window means nothing). */
        if (r->wnd == 0 && !(r->key.flags & SYNACK_RST))
            strncat(middle, "<WND=0>", sizeof middle - strlen(middle) - 1);
        row_comment(r, comment, sizeof comment);
        if (r->kind == ROW_SEGMENT) {
            col[from] = synack_state_name(r->state[from]);
            arrow[from] = dir;
            if (r->mark[to]) {
                col[to] = mark_text(r->mark[to]);
                arrow[to] = "...";
            } else {
                col[to] = synack_state_name(r->state[to]);
                arrow[to] = dir;
            }
        } else { /* ROW_ARRIVAL, ROW_COPY */
            col[from] = r->kind == ROW_COPY ? mark_text(MARK_DUPLICATE) : "";
            arrow[from] = "...";
            col[to] = synack_state_name(r->state[to]);
            arrow[to] = dir;
        }
    }

    put_number(l, row, &n, number, r->kind == ROW_NOTES ? NULL : &r->time_us);
    put_col(row, &n, col[SIDE_A], STATE_W);
    put_col(row, &n, arrow[SIDE_A], ARROW_W);
    put_col(row, &n, middle, SEG_W);
    put_col(row, &n, arrow[SIDE_B], ARROW_W);

    bool segment = r->kind == ROW_SEGMENT || r->kind == ROW_ARRIVAL || r->kind == ROW_COPY;
    if (l->verbose && segment) {
        char extra[TEXT_MAX], d[TRACE_TIME_MAX];
        size_t e = (size_t)snprintf(extra, sizeof extra, "wnd=%lu len=%lu",
                                    (unsigned long)r->wnd, (unsigned long)r->key.len);
        if (r->opts[0] && e < sizeof extra)
            e += (size_t)snprintf(extra + e, sizeof extra - e, " %s", r->opts);
        if (r->kind == ROW_SEGMENT && r->arrived && e < sizeof extra)
            snprintf(extra + e, sizeof extra - e, " transit=%s",
                     trace_format_duration(d, sizeof d, r->arrive_us - r->time_us));
        put_col(row, &n, col[SIDE_B], STATE_W + 1);
        put_col(row, &n, extra, comment[0] ? 2 : 0);
        put_col(row, &n, comment, 0);
    } else {
        put_col(row, &n, col[SIDE_B], comment[0] ? STATE_W + 1 : 0);
        put_col(row, &n, comment, 0);
    }
    put_line(l, row, n);
}

/* Prints every complete row at the front. The header and line 1 wait for the first other
 * printable row (a client's port is learned from its first event), unless flushing. */
static void print_ready(struct ladder *l, bool flushing)
{
    if (!l->header_done && !flushing) {
        size_t i = l->head;
        while (i < l->rows.count && l->rows.v[i].kind == ROW_NOTES)
            i++;
        if (i + 1 >= l->rows.count || l->rows.v[i].open || l->rows.v[i + 1].open)
            return;
    }
    while (l->head < l->rows.count && !l->rows.v[l->head].open) {
        print_header(l);
        print_row(l, &l->rows.v[l->head]);
        l->head++;
    }
    if (l->head == l->rows.count)
        l->head = l->rows.count = 0;
    fflush(l->out);
}

/* ---- Matching ---------------------------------------------------------------------------- */

static bool addr_eq(struct synack_addr want, struct synack_addr got)
{
    return want.ip == got.ip && (want.port == 0 || want.port == got.port);
}

/* The side whose address is a (exact ports first, then a side whose port is still to be
 * learned), or -1. */
static int side_of(const struct ladder *l, struct synack_addr a)
{
    for (int s = 0; s < 2; s++)
        if (l->addr[s].ip == a.ip && l->addr[s].port == a.port)
            return s;
    for (int s = 0; s < 2; s++)
        if (addr_eq(l->addr[s], a))
            return s;
    return -1;
}

/* The side that event ev's local end is, when its remote end is the other side; else -1.
 * Learns a side's port from its first event. */
static int event_side(struct ladder *l, const struct synack_event *ev)
{
    int s = side_of(l, ev->local);

    if (s < 0 || side_of(l, ev->remote) != 1 - s)
        return -1;
    if (l->addr[s].port == 0)
        l->addr[s].port = ev->local.port;
    if (l->addr[1 - s].port == 0)
        l->addr[1 - s].port = ev->remote.port;
    return s;
}

static bool key_eq(const struct seg_key *a, const struct seg_key *b)
{
    return a->from == b->from && a->seq == b->seq && a->ack == b->ack && a->len == b->len &&
           a->flags == b->flags;
}

static struct seg_key key_of(const struct synack_event *ev, int from)
{
    struct seg_key k = {from, ev->seq, ev->ack, ev->len, ev->flags};
    return k;
}

/* Index in r of the first open segment row carrying k, rows the link held back last; or
 * -1. from is the first index searched. */
static long find_open(const struct rows *r, size_t from, const struct seg_key *k)
{
    long delayed = -1;
    for (size_t i = from; i < r->count; i++) {
        const struct row *row = &r->v[i];
        if (row->kind == ROW_SEGMENT && row->open && key_eq(&row->key, k)) {
            if (!row->delayed)
                return (long)i;
            if (delayed < 0)
                delayed = (long)i;
        }
    }
    return delayed;
}

/* ---- Held events --------------------------------------------------------------------------- */

/* Moves the first n held departures to the rows, in order. */
static void release_held(struct ladder *l, size_t n)
{
    if (l->held.count == 0)
        return;
    for (size_t i = 0; i < n && i < l->held.count; i++)
        append_row(l, &l->held.v[i]);
    size_t left = l->held.count > n ? l->held.count - n : 0;
    memmove(l->held.v, l->held.v + (l->held.count - left), left * sizeof *l->held.v);
    l->held.count = left;
}

/* Shows a pending state change as a state row; a change of the other side at the same
 * instant shares it. */
static void emit_pending(struct ladder *l, int s)
{
    struct pending_state *p = &l->pending[s];
    if (!p->set)
        return;
    struct row r;
    memset(&r, 0, sizeof r);
    r.kind = ROW_STATE;
    r.time_us = p->time_us;
    for (int side = 0; side < 2; side++) {
        struct pending_state *q = &l->pending[side];
        if (!q->set || q->time_us != p->time_us)
            continue;
        q->set = false;
        if (q->old_state == q->new_state)
            continue; /* nothing to show (a child's CLOSED -> LISTEN -> CLOSED) */
        r.has[side] = true;
        r.state[side] = q->new_state;
        if (q->old_state == SYNACK_TIME_WAIT && q->new_state == SYNACK_CLOSED)
            snprintf(r.note[side], sizeof r.note[side], "(2 MSL)"); /* Figure 12 line 6 */
    }
    if (!r.has[SIDE_A] && !r.has[SIDE_B])
        return;
    ensure_initial(l);
    /* A ladder_note() for the side goes above the 2 MSL note's line too. */
    for (int side = 0; side < 2; side++) {
        if (r.has[side] && l->note[side][0]) {
            char both[2 * NOTE_MAX + 2];
            snprintf(both, sizeof both, "%s%s%s", l->note[side], r.note[side][0] ? " " : "",
                     r.note[side]);
            size_t n = strlen(both) < NOTE_MAX ? strlen(both) : NOTE_MAX - 1;
            memcpy(r.note[side], both, n);
            r.note[side][n] = '\0';
            l->note[side][0] = '\0';
        }
    }
    append_row(l, &r);
}

/* Everything of the current instant: held departures first (they were reported first), then
 * state changes no segment showed. */
static void settle_all(struct ladder *l)
{
    release_held(l, l->held.count);
    emit_pending(l, SIDE_A);
    emit_pending(l, SIDE_B);
}

/* A pending state change of side s is shown by a segment of s at the same time in the same
 * state; any other event of s shows it on a row of its own first. */
static void settle_pending(struct ladder *l, int s, uint64_t t, int state)
{
    struct pending_state *p = &l->pending[s];

    if (!p->set)
        return;
    if (p->time_us == t && p->new_state == state)
        p->set = false;
    else
        emit_pending(l, s);
}

/* The clock moved on: the previous instant is complete. */
static void advance(struct ladder *l, uint64_t t)
{
    if (t > l->now_us) {
        settle_all(l);
        l->now_us = t;
    }
}

/* ---- Events ------------------------------------------------------------------------------ */

/* Records when segment k was sent; returns the time since its previous transmission in
 * *gap (true) if it was seen before. */
static bool note_sent(struct ladder *l, const struct seg_key *k, uint64_t t, uint64_t *gap)
{
    uint8_t ctl = k->flags & (SYNACK_SYN | SYNACK_FIN | SYNACK_RST);
    bool found = false;

    for (unsigned i = 0; i < SENT_MAX; i++) {
        struct sent_rec *r = &l->sent[i];
        if (r->used && r->from == k->from && r->seq == k->seq && r->ctl == ctl) {
            *gap = t - r->time_us;
            r->time_us = t;
            found = true;
            break;
        }
    }
    if (!found) {
        struct sent_rec *r = &l->sent[l->sent_next];
        l->sent_next = (l->sent_next + 1) % SENT_MAX;
        r->used = true;
        r->from = k->from;
        r->seq = k->seq;
        r->ctl = ctl;
        r->time_us = t;
    }
    return found;
}

static void on_seg_out(struct ladder *l, const struct synack_event *ev, int s)
{
    struct row r;

    settle_pending(l, s, ev->time_us, ev->state);
    l->state[s] = ev->state;
    ensure_initial(l);

    memset(&r, 0, sizeof r);
    r.kind = ROW_SEGMENT;
    r.open = true;
    r.key = key_of(ev, s);
    r.has[s] = true;
    r.state[s] = ev->state;
    r.retransmit = ev->retransmit;
    r.time_us = ev->time_us;
    r.wnd = ev->wnd;
    trace_format_options(r.opts, sizeof r.opts, ev);
    uint64_t gap = 0;
    if (note_sent(l, &r.key, ev->time_us, &gap) && r.retransmit) {
        r.has_gap = true;
        r.gap_us = gap;
    }
    take_notes(l, &r);
    for (int i = 0; i < l->early_losses; i++) {
        if (key_eq(&l->early_loss[i], &r.key)) {
            r.open = false;
            r.mark[1 - s] = l->early_loss_mark[i];
            l->early_losses--;
            l->early_loss[i] = l->early_loss[l->early_losses];
            l->early_loss_mark[i] = l->early_loss_mark[l->early_losses];
            break;
        }
    }
    if (rows_reserve(&l->held))
        l->held.v[l->held.count++] = r;
}

static void on_seg_in(struct ladder *l, const struct synack_event *ev, int to)
{
    settle_pending(l, to, ev->time_us, ev->state);
    l->state[to] = ev->state;
    ensure_initial(l);

    struct seg_key k = key_of(ev, 1 - to);
    compact(l);
    long i = find_open(&l->rows, l->head, &k);
    if (i < 0) {
        /* Sent at this same instant (a path without delay): place its departure first. */
        long h = find_open(&l->held, 0, &k);
        if (h >= 0) {
            release_held(l, (size_t)h + 1);
            i = (long)l->rows.count - 1;
        }
    }

    struct row r;
    memset(&r, 0, sizeof r);
    r.key = k;
    r.has[to] = true;
    r.state[to] = ev->state;
    r.reason = ev->reason;
    r.time_us = ev->time_us;
    r.wnd = ev->wnd;
    trace_format_options(r.opts, sizeof r.opts, ev);

    if (i < 0) {
        /* Nobody is waiting for it: a copy (Figure 8 line 3). */
        r.kind = ROW_COPY;
        take_notes(l, &r);
        append_row(l, &r);
        return;
    }

    struct row *d = &l->rows.v[i];
    size_t last = 0; /* the receiver's last row after the departure, 0 if none */
    for (size_t j = (size_t)i + 1; j < l->rows.count; j++)
        if (l->rows.v[j].has[to])
            last = j;
    d->open = false;
    if (last == 0) {
        d->has[to] = true;
        d->state[to] = ev->state;
        d->reason = ev->reason;
        d->arrived = true;
        d->arrive_us = ev->time_us;
        return;
    }
    /* The receiver did something after the departure: the arrival gets its own row after
     * the receiver's last one (Figure 7 line 4). */
    d->mark[to] = MARK_ELSEWHERE;
    r.kind = ROW_ARRIVAL;
    take_notes(l, &r);
    rows_insert(&l->rows, last + 1, &r);
}

static void on_state(struct ladder *l, const struct synack_event *ev, int s)
{
    struct pending_state *p = &l->pending[s];

    if (p->set && p->time_us == ev->time_us) {
        p->new_state = ev->state; /* several steps in one call: show the last */
    } else {
        emit_pending(l, s);
        p->set = true;
        p->old_state = ev->old_state;
        p->new_state = ev->state;
        p->time_us = ev->time_us;
    }
    l->state[s] = ev->state;
}

static void on_link(struct ladder *l, const struct synack_event *ev)
{
    int mark;

    if (ev->link_action == SYNACK_LINK_LOST)
        mark = MARK_LOST;
    else if (ev->link_action == SYNACK_LINK_CORRUPTED)
        mark = MARK_CORRUPTED;
    else if (ev->link_action == SYNACK_LINK_DELAYED)
        mark = MARK_NONE;
    else
        return; /* duplicates show up as unmatched SEG_INs */

    int s = side_of(l, ev->local); /* the sender */
    if (s < 0 || side_of(l, ev->remote) != 1 - s)
        return;
    struct seg_key k = key_of(ev, s);
    struct row *row = NULL;
    long i = find_open(&l->held, 0, &k);
    if (i >= 0) {
        row = &l->held.v[i];
    } else {
        compact(l);
        i = find_open(&l->rows, l->head, &k);
        if (i >= 0)
            row = &l->rows.v[i];
    }
    if (mark == MARK_NONE) {
        if (row != NULL)
            row->delayed = true;
        return;
    }
    if (row != NULL) {
        row->open = false;
        row->mark[1 - s] = mark;
    } else if (l->early_losses < LOSS_MAX) {
        /* The link reported it before the stack reported sending it. */
        l->early_loss[l->early_losses] = k;
        l->early_loss_mark[l->early_losses] = mark;
        l->early_losses++;
    }
}

void ladder_observe(void *arg, const struct synack_event *ev)
{
    struct ladder *l = arg;

    if (l == NULL || ev == NULL)
        return;
    if (ev->kind == SYNACK_EV_LINK) {
        on_link(l, ev);
    } else if (ev->kind == SYNACK_EV_SEG_OUT || ev->kind == SYNACK_EV_SEG_IN ||
               ev->kind == SYNACK_EV_STATE) {
        int s = event_side(l, ev);
        if (s < 0)
            return;
        advance(l, ev->time_us);
        if (ev->kind == SYNACK_EV_SEG_OUT)
            on_seg_out(l, ev, s);
        else if (ev->kind == SYNACK_EV_SEG_IN)
            on_seg_in(l, ev, s);
        else
            on_state(l, ev, s);
    }
    print_ready(l, false);
}

/* ---- Notes ------------------------------------------------------------------------------- */

void ladder_note(struct ladder *l, int side, const char *text)
{
    if (l == NULL || (side != SIDE_A && side != SIDE_B) || text == NULL)
        return;
    char *n = l->note[side];
    size_t len = strlen(n);
    snprintf(n + len, NOTE_MAX - len, "%s%s", len ? " " : "", text);
}

void ladder_note_line(struct ladder *l, const char *left, const char *right)
{
    struct row r;

    if (l == NULL)
        return;
    settle_all(l);
    memset(&r, 0, sizeof r);
    r.kind = ROW_NOTES;
    r.time_us = l->now_us;
    snprintf(r.note[SIDE_A], sizeof r.note[SIDE_A], "%s", left ? left : "");
    snprintf(r.note[SIDE_B], sizeof r.note[SIDE_B], "%s", right ? right : "");
    append_row(l, &r);
    print_ready(l, false);
}

void ladder_status(struct ladder *l)
{
    struct row r;

    if (l == NULL)
        return;
    settle_all(l);
    ensure_initial(l);
    memset(&r, 0, sizeof r);
    r.kind = ROW_STATUS;
    r.time_us = l->now_us;
    r.has[SIDE_A] = r.has[SIDE_B] = true;
    r.state[SIDE_A] = l->state[SIDE_A];
    r.state[SIDE_B] = l->state[SIDE_B];
    take_notes(l, &r);
    append_row(l, &r);
    print_ready(l, false);
}

/* ---- Life cycle -------------------------------------------------------------------------- */

struct ladder *ladder_new(FILE *out, const char *name_a, struct synack_addr a, int state_a,
                          const char *name_b, struct synack_addr b, int state_b)
{
    if (out == NULL)
        return NULL;
    struct ladder *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->out = out;
    snprintf(l->name[SIDE_A], sizeof l->name[SIDE_A], "%s", name_a ? name_a : "A");
    snprintf(l->name[SIDE_B], sizeof l->name[SIDE_B], "%s", name_b ? name_b : "B");
    l->addr[SIDE_A] = a;
    l->addr[SIDE_B] = b;
    l->initial[SIDE_A] = l->state[SIDE_A] = state_a;
    l->initial[SIDE_B] = l->state[SIDE_B] = state_b;
    return l;
}

void ladder_set_verbose(struct ladder *l, bool verbose)
{
    if (l != NULL)
        l->verbose = verbose;
}

void ladder_flush(struct ladder *l)
{
    if (l == NULL)
        return;
    settle_all(l);
    ensure_initial(l);
    for (size_t i = l->head; i < l->rows.count; i++) {
        struct row *r = &l->rows.v[i];
        if (r->open) {
            r->open = false;
            r->mark[1 - r->key.from] = MARK_IN_FLIGHT;
        }
    }
    print_header(l);
    print_ready(l, true);
}

void ladder_free(struct ladder *l)
{
    if (l == NULL)
        return;
    free(l->rows.v);
    free(l->held.v);
    free(l);
}
