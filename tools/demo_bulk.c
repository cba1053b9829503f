/*
 * demo_bulk.c: `synack demo --bytes N`. The ladder of a bulk transfer would be millions of
 * lines, so unless --full is given a filter in front of the ladder hides the data phase:
 * segments without SYN, FIN or RST that a side sends in ESTABLISHED (or that carry data in
 * FIN-WAIT-1 or CLOSE-WAIT), with their arrivals,
 * copies and losses; each run of them becomes one note line counting them. The handshake,
 * the close (ACKs of FINs included) and every state change are drawn as usual.
 */
#include "demo_bulk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace/ladder.h"

#define HIDDEN_SLOTS 16384 /* segments hidden and still in flight that the filter tracks */

/* A segment the filter hid when it was sent: its arrival, copies and loss are hidden too. */
struct hidden {
    uint32_t src_ip, seq, ack, len;
    uint16_t src_port;
    uint8_t flags;
    bool used;                 /* the slot held a key once (keeps probe chains intact) */
    uint32_t count;            /* copies of it still in flight */
};

/* The filter between the events and the ladder. */
struct phase_filter {
    struct ladder *ladder;
    bool full;                 /* pass everything */
    bool data_seen;            /* a data segment has been sent */
    uint64_t segments;         /* data-phase segments hidden since the last note */
    uint64_t bytes;            /* payload bytes in them */
    uint64_t retransmits;      /* ...retransmissions among them */
    uint64_t lost;             /* ...copies of them the link lost */
    struct hidden *table;      /* open addressing, HIDDEN_SLOTS slots */
};

/* Prints the note for the segments hidden since the last one, if any. */
static void phase_note(struct phase_filter *f)
{
    if (f->segments == 0)
        return;
    char left[120];
    snprintf(left, sizeof left,
             "... %" PRIu64 " segs, %" PRIu64 " B, %" PRIu64 " rtx, %" PRIu64 " lost ...",
             f->segments, f->bytes, f->retransmits, f->lost);
    ladder_note_line(f->ladder, left, NULL);
    f->segments = f->bytes = f->retransmits = f->lost = 0;
}

/* The slot of the segment ev describes (sent by `from`), or NULL. With insert, a new or
 * reusable slot for it (NULL when the table is full). O(1) expected. */
static struct hidden *hidden_slot(struct phase_filter *f, const struct synack_event *ev,
                                  struct synack_addr from, bool insert)
{
    uint32_t h = (from.ip * 2654435761u) ^ (ev->seq * 40503u) ^ (ev->ack * 2246822519u) ^
                 (ev->len * 3266489917u) ^ ((uint32_t)from.port << 8) ^ ev->flags;
    struct hidden *reuse = NULL;
    for (uint32_t k = 0; k < HIDDEN_SLOTS; k++) {
        struct hidden *e = &f->table[(h + k) % HIDDEN_SLOTS];
        if (!e->used)
            return insert ? (reuse ? reuse : e) : NULL;
        if (e->src_ip == from.ip && e->src_port == from.port && e->seq == ev->seq &&
            e->ack == ev->ack && e->len == ev->len && e->flags == ev->flags)
            return e;
        if (insert && reuse == NULL && e->count == 0)
            reuse = e;
    }
    return insert ? reuse : NULL;
}

static void phase_observe(void *arg, const struct synack_event *ev)
{
    struct phase_filter *f = arg;
    bool plain = (ev->flags & (SYNACK_SYN | SYNACK_FIN | SYNACK_RST)) == 0;
    /* Data phase: plain segments sent in ESTABLISHED, and data still draining after a FIN
     * was queued (FIN-WAIT-1, CLOSE-WAIT); a pure ACK there, such as the ACK of a FIN, is
     * part of the close and stays visible. */
    bool data_phase = (ev->state == SYNACK_ESTABLISHED && (ev->len > 0 || f->data_seen)) ||
                      (ev->len > 0 && (ev->state == SYNACK_FIN_WAIT_1 ||
                                       ev->state == SYNACK_CLOSE_WAIT));
    if (ev->kind == SYNACK_EV_SEG_OUT && ev->len > 0)
        f->data_seen = true; /* before the first data, ACKs are the handshake's */
    if (!f->full && plain && ev->kind == SYNACK_EV_SEG_OUT && data_phase) {
        /* A data or ACK segment of the data phase: hide it, count it. */
        struct hidden *e = hidden_slot(f, ev, ev->local, true);
        if (e != NULL) {
            if (!e->used || e->count == 0)
                *e = (struct hidden){ev->local.ip, ev->seq, ev->ack, ev->len,
                                     ev->local.port, ev->flags, true, 0};
            e->count++;
            f->segments++;
            f->bytes += ev->len;
            f->retransmits += ev->retransmit;
            return;
        }
    } else if (!f->full && plain &&
               (ev->kind == SYNACK_EV_SEG_IN || ev->kind == SYNACK_EV_LINK)) {
        /* The arrival, copy, loss or corruption of a hidden segment: hidden as well. For a
         * SEG_IN the sender is the remote end; for a LINK event, the local one. */
        struct synack_addr from = ev->kind == SYNACK_EV_SEG_IN ? ev->remote : ev->local;
        struct hidden *e = hidden_slot(f, ev, from, false);
        if (e != NULL && e->count > 0) {
            if (ev->kind == SYNACK_EV_LINK && ev->link_action == SYNACK_LINK_DUPLICATED)
                e->count++;
            else if (ev->kind == SYNACK_EV_SEG_IN ||
                     ev->link_action == SYNACK_LINK_LOST ||
                     ev->link_action == SYNACK_LINK_CORRUPTED)
                e->count--;
            if (ev->kind == SYNACK_EV_LINK && ev->link_action == SYNACK_LINK_LOST)
                f->lost++;
            return;
        }
    }
    if (ev->kind != SYNACK_EV_DROP)
        phase_note(f);
    ladder_observe(f->ladder, ev);
}

int demo_bulk_run(struct bulk_opts *o, bool full, bool verbose, FILE *out)
{
    struct synack_addr a = {BULK_IP_A, 0}, b = {BULK_IP_B, BULK_PORT};
    struct phase_filter f;
    memset(&f, 0, sizeof f);
    f.full = full;
    f.table = calloc(HIDDEN_SLOTS, sizeof *f.table);
    f.ladder = ladder_new(out, "TCP A", a, SYNACK_CLOSED, "TCP B", b, SYNACK_LISTEN);
    if (f.ladder == NULL || f.table == NULL) {
        fprintf(stderr, "synack demo: out of memory\n");
        ladder_free(f.ladder);
        free(f.table);
        return 1;
    }
    ladder_set_verbose(f.ladder, verbose);
    o->observer = phase_observe;
    o->observer_arg = &f;

    struct bulk_result r;
    int rc = bulk_run(o, &r);
    phase_note(&f);
    ladder_flush(f.ladder);
    ladder_free(f.ladder);
    free(f.table);
    fprintf(out, "\n");
    bulk_print_summary(out, &r);
    return rc == 0 && r.ok ? 0 : 1;
}
