/*
 * timewait.c: compact TIME-WAIT. An orphan (its descriptor closed) that enters TIME-WAIT has
 * nothing left to do but answer stray segments for 2 x MSL (RFC 9293 3.10.7.4, 3.10.8). The
 * stack then frees its TCB and keeps a record instead: the engine's struct tcp_tw, the
 * 4-tuple and links, in a slab of its own (no allocation per record), found through a hash
 * on the 4-tuple and kept in a FIFO by deadline. Every TIME-WAIT lasts 2 x MSL from its last
 * restart and time never runs backwards, so appending at the tail keeps the FIFO sorted and
 * expiry takes O(1) per record.
 *
 * A segment for a record, or its expiry, loads the record into a scratch TCB and runs the
 * engine on it (tcp.h, "Compact TIME-WAIT"): the behaviour, the segments sent and the trace
 * events are those of the full TCB. A record's trace events carry the record's address as
 * ctx. A record is counted in conn_current and time_wait_current like the TCB it replaces.
 */
#include <stdlib.h>
#include <string.h>

#include "stack/stack.h"

#define TW_SLAB_MIN 64u /* first slab size, records */

/* ---- Slab --------------------------------------------------------------------------------- */

/* A free slot, or NONE when the slab cannot grow. Free slots are linked through hnext. */
static uint32_t slot_take(struct synack_stack *s)
{
    if (s->tw_free == STACK_TW_NONE) {
        uint32_t cap = s->tw_cap ? s->tw_cap * 2 : TW_SLAB_MIN;
        if (cap <= s->tw_cap || cap >= STACK_TW_NONE)
            return STACK_TW_NONE;
        struct stack_tw *t = realloc(s->tw, (size_t)cap * sizeof *t);
        if (!t)
            return STACK_TW_NONE;
        for (uint32_t i = cap; i-- > s->tw_cap;) {
            t[i].hnext = s->tw_free;
            s->tw_free = i;
        }
        s->tw = t;
        s->tw_cap = cap;
    }
    uint32_t i = s->tw_free;
    s->tw_free = s->tw[i].hnext;
    return i;
}

static void slot_give_back(struct synack_stack *s, uint32_t i)
{
    s->tw[i].hnext = s->tw_free;
    s->tw_free = i;
}

/* ---- Hash on the 4-tuple (the local address is always the stack's) ----------------------- */

/* Doubles the buckets and rehashes; on no memory keeps the old ones. */
static void hash_grow(struct synack_stack *s)
{
    uint32_t n = s->tw_nbuckets ? s->tw_nbuckets * 2 : STACK_TABLE_MIN;
    if (n <= s->tw_nbuckets)
        return;
    uint32_t *b = malloc((size_t)n * sizeof *b);
    if (!b)
        return;
    for (uint32_t j = 0; j < n; j++)
        b[j] = STACK_TW_NONE;
    for (uint32_t j = 0; j < s->tw_nbuckets; j++) {
        uint32_t i = s->tw_buckets[j];
        while (i != STACK_TW_NONE) {
            struct stack_tw *r = &s->tw[i];
            uint32_t next = r->hnext;
            uint32_t k = table_hash(s, s->cfg.ip, r->lport, r->rip, r->rport) & (n - 1);
            r->hnext = b[k];
            b[k] = i;
            i = next;
        }
    }
    free(s->tw_buckets);
    s->tw_buckets = b;
    s->tw_nbuckets = n;
}

static uint32_t *bucket_of(const struct synack_stack *s, uint16_t lport, uint32_t rip,
                           uint16_t rport)
{
    return &s->tw_buckets[table_hash(s, s->cfg.ip, lport, rip, rport) & (s->tw_nbuckets - 1)];
}

uint32_t tw_lookup(const struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                   uint16_t rport)
{
    if (s->tw_count == 0 || lip != s->cfg.ip)
        return STACK_TW_NONE;
    uint32_t i = *bucket_of(s, lport, rip, rport);
    while (i != STACK_TW_NONE) {
        const struct stack_tw *r = &s->tw[i];
        if (r->rport == rport && r->lport == lport && r->rip == rip)
            return i;
        i = r->hnext;
    }
    return STACK_TW_NONE;
}

/* ---- FIFO by deadline --------------------------------------------------------------------- */

static void fifo_append(struct synack_stack *s, uint32_t i)
{
    s->tw[i].next = STACK_TW_NONE;
    s->tw[i].prev = s->tw_tail;
    if (s->tw_tail != STACK_TW_NONE)
        s->tw[s->tw_tail].next = i;
    else
        s->tw_head = i;
    s->tw_tail = i;
}

static void fifo_unlink(struct synack_stack *s, uint32_t i)
{
    struct stack_tw *r = &s->tw[i];
    if (r->prev != STACK_TW_NONE)
        s->tw[r->prev].next = r->next;
    else
        s->tw_head = r->next;
    if (r->next != STACK_TW_NONE)
        s->tw[r->next].prev = r->prev;
    else
        s->tw_tail = r->prev;
}

uint64_t tw_next_deadline(const struct synack_stack *s)
{
    return s->tw_head == STACK_TW_NONE ? TCP_NO_DEADLINE : s->tw[s->tw_head].t.deadline;
}

/* ---- Records ------------------------------------------------------------------------------ */

bool tw_adopt(struct synack_stack *s, struct stack_conn *c)
{
    struct tcp_tw t;
    if (c->fd != STACK_NO_FD || c->parent || !c->in_table || c->lip != s->cfg.ip ||
        !tcp_tw_save(&c->tcp, &t))
        return false;
    if (s->tw_count >= s->tw_nbuckets)
        hash_grow(s);
    if (s->tw_nbuckets == 0)
        return false;
    uint32_t i = slot_take(s);
    if (i == STACK_TW_NONE)
        return false; /* no memory: the full TCB stays, which is correct, only larger */
    struct stack_tw *r = &s->tw[i];
    r->t = t;
    r->rip = c->rip;
    r->lport = c->lport;
    r->rport = c->rport;
    uint32_t *b = bucket_of(s, r->lport, r->rip, r->rport);
    r->hnext = *b;
    *b = i;
    fifo_append(s, i);
    s->tw_count++;
    /* The TCB leaves without a trace: the connection goes on, in the record. */
    table_remove(s, c);
    heap_remove(s, c);
    s->stats.conn_current++;
    c->tw_counted = false; /* time_wait_current now counts the record */
    stack_conn_free(s, c);
    return true;
}

/* Removes record i (its TIME-WAIT ended). */
static void tw_remove(struct synack_stack *s, uint32_t i)
{
    struct stack_tw *r = &s->tw[i];
    uint32_t *pp = bucket_of(s, r->lport, r->rip, r->rport);
    while (*pp != i)
        pp = &s->tw[*pp].hnext;
    *pp = r->hnext;
    fifo_unlink(s, i);
    slot_give_back(s, i);
    s->tw_count--;
    s->stats.conn_current--;
    if (s->tw_count == 0) /* the last one: give the slab and the buckets back */
        tw_free_all(s);
}

/* The scratch TCB holding record i, ready for an engine call. */
static struct stack_conn *tw_load(struct synack_stack *s, uint32_t i)
{
    const struct stack_tw *r = &s->tw[i];
    struct stack_conn *c = &s->tw_scratch;
    memset(c, 0, sizeof *c);
    tcp_tw_load(&c->tcp, &s->hooks, &s->cfg, &r->t);
    c->lip = s->cfg.ip;
    c->rip = r->rip;
    c->lport = r->lport;
    c->rport = r->rport;
    c->state = SYNACK_TIME_WAIT;
    c->tw_counted = true; /* leaving TIME-WAIT uncounts it (the state hook) */
    c->heap_idx = STACK_HEAP_NONE;
    c->orphan_deadline = UINT64_MAX;
    c->fd = STACK_NO_FD;
    s->tw_ctx = r;
    return c;
}

/* The scratch TCB of record i, still in TIME-WAIT, no longer fits a record: its times
 * drifted out of the offsets' range (segments processed over half an hour after the
 * deadline, the stack not polled meanwhile). It becomes a full TCB again; on no memory its
 * TIME-WAIT ends at once instead (ABORT, RFC 9293 3.10.5: no RST), counted and traced. */
static void tw_revive(struct synack_stack *s, uint32_t i, struct stack_conn *scratch)
{
    tw_remove(s, i);
    struct stack_conn *c = NULL;
    if (stack_conn_room(s))
        c = malloc(sizeof *c);
    if (!c) {
        tcp_abort(&scratch->tcp, s->now_us);
        s->tw_ctx = NULL;
        return;
    }
    s->tw_ctx = NULL;
    memcpy(c, scratch, sizeof *c);
    table_insert(s, c);
    heap_update(s, c, tcp_deadline(&c->tcp));
}

/* After the engine call on the scratch TCB of record i: saves it back, or removes the
 * record once the connection left TIME-WAIT. */
static void tw_store(struct synack_stack *s, uint32_t i, struct stack_conn *c)
{
    struct stack_tw *r = &s->tw[i];
    uint64_t old_deadline = r->t.deadline;
    struct tcp_tw t;
    if (!tcp_tw_save(&c->tcp, &t)) {
        if (c->state == SYNACK_TIME_WAIT) {
            tw_revive(s, i, c);
            return;
        }
        /* CLOSED: a RST (RFC 9293 3.10.7.4 second) or the timeout. */
        s->tw_ctx = NULL;
        tw_remove(s, i);
        return;
    }
    s->tw_ctx = NULL;
    r->t = t;
    if (r->t.deadline != old_deadline) { /* 2 x MSL restarted: the latest deadline of all */
        fifo_unlink(s, i);
        fifo_append(s, i);
    }
}

const void *tw_ctx(const struct synack_stack *s, const struct stack_conn *c)
{
    return c == &s->tw_scratch ? s->tw_ctx : c;
}

void tw_input(struct synack_stack *s, uint32_t i, const struct wire_ipv4 *ip,
              const struct wire_tcp *seg)
{
    struct stack_conn *c = tw_load(s, i);
    const void *ctx = s->tw_ctx;
    int reason = tcp_input(&c->tcp, seg, s->now_us);
    if (reason == TCP_INPUT_REOPEN) {
        uint32_t iss_min;
        struct stack_listener *l = stack_tw_reopen(s, c, seg->dport, &iss_min);
        if (l) {
            s->tw_ctx = NULL;
            tw_remove(s, i);
            listener_input(s, l, ip, seg, true, iss_min);
            return;
        }
        reason = SYNACK_DROP_BAD_SEGMENT;
    }
    stack_count_drop(s, reason);
    stack_event_seg_in(s, ip, seg, c->state, reason, ctx);
    tw_store(s, i, c);
}

void tw_expire_first(struct synack_stack *s, uint64_t now_us)
{
    uint32_t i = s->tw_head;
    struct stack_conn *c = tw_load(s, i);
    tcp_timer(&c->tcp, now_us); /* 3.10.8: TIME-WAIT -> CLOSED, traced by the state hook */
    tw_store(s, i, c);
}

void tw_free_all(struct synack_stack *s)
{
    free(s->tw);
    free(s->tw_buckets);
    s->tw = NULL;
    s->tw_buckets = NULL;
    s->tw_cap = s->tw_nbuckets = s->tw_count = 0;
    s->tw_free = s->tw_head = s->tw_tail = STACK_TW_NONE;
}
