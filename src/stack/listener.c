/*
 * listener.c: listening sockets, their children and their two queues.
 *
 * Read first: RFC 9293 3.10.7.2 (SEGMENT ARRIVES in LISTEN), 3.10.7.4 (an acceptable RST in
 * SYN-RECEIVED returns a passively opened connection to LISTEN), 3.10.7.4 TIME-WAIT and
 * RFC 6191 (a SYN may reopen a connection in TIME-WAIT).
 *
 * A SYN to a listener creates a child connection (tcp_open_passive then tcp_input(SYN)),
 * which waits on the SYN queue while in SYN-RECEIVED and moves to the accept queue when it
 * becomes synchronized. The backlog bounds both queues together (so each stays within it):
 * a SYN that finds them full is dropped without an answer, and the peer's retransmission
 * gets another chance once accept() has made room.
 */
#include "stack/isn.h"
#include "stack/stack.h"
#include "tcp/seq.h"

static void queue_push(struct stack_conn_queue *q, struct stack_conn *c)
{
    c->qnext = NULL;
    c->qprev = q->tail;
    if (q->tail)
        q->tail->qnext = c;
    else
        q->head = c;
    q->tail = c;
    q->count++;
}

static void queue_unlink(struct stack_conn_queue *q, struct stack_conn *c)
{
    if (c->qprev)
        c->qprev->qnext = c->qnext;
    else
        q->head = c->qnext;
    if (c->qnext)
        c->qnext->qprev = c->qprev;
    else
        q->tail = c->qprev;
    c->qprev = c->qnext = NULL;
    q->count--;
}

void listener_unlink(struct synack_stack *s, struct stack_conn *c)
{
    struct stack_listener *l = c->parent;
    if (!l)
        return;
    if (c->queue == STACK_Q_SYN) {
        queue_unlink(&l->synq, c);
    } else if (c->queue == STACK_Q_ACCEPT) {
        queue_unlink(&l->acceptq, c);
        stack_mark_dirty(s, l->fd);
    }
    c->queue = STACK_Q_NONE;
    c->parent = NULL;
}

void listener_child_synchronized(struct synack_stack *s, struct stack_conn *c)
{
    struct stack_listener *l = c->parent;
    if (!l || c->queue != STACK_Q_SYN)
        return;
    queue_unlink(&l->synq, c);
    queue_push(&l->acceptq, c);
    c->queue = STACK_Q_ACCEPT;
    stack_mark_dirty(s, l->fd);
}

struct stack_conn *listener_pop(struct synack_stack *s, struct stack_listener *l)
{
    struct stack_conn *c = l->acceptq.head;
    if (c)
        listener_unlink(s, c);
    return c;
}

void listener_abort_children(struct synack_stack *s, struct stack_listener *l)
{
    struct stack_conn_queue *queues[2] = {&l->synq, &l->acceptq};
    for (int i = 0; i < 2; i++) {
        while (queues[i]->head) {
            struct stack_conn *c = queues[i]->head;
            listener_unlink(s, c);
            /* RFC 9293 3.10.5: ABORT sends <SEQ=SND.NXT><CTL=RST> when synchronized. */
            tcp_abort(&c->tcp, s->now_us);
            stack_conn_after(s, c);
        }
    }
}

/* Answers a non-SYN segment to a listener (RFC 9293 3.10.7.2). Returns the drop reason. */
static int listener_reject(struct synack_stack *s, const struct wire_ipv4 *ip,
                           const struct wire_tcp *seg)
{
    /* RFC 9293 3.10.7.2: first check for an RST: an incoming RST is ignored. */
    if (seg->flags & SYNACK_RST)
        return SYNACK_DROP_RST_IGNORED;
    /* RFC 9293 3.10.7.2: second check for an ACK: any acknowledgment is bad in LISTEN,
     * answer <SEQ=SEG.ACK><CTL=RST>. */
    if (seg->flags & SYNACK_ACK) {
        struct wire_tcp_out out = {0};
        if (tcp_reset_for(seg, &out)) {
            out.src = ip->dst;
            out.dst = ip->src;
            out.sport = seg->dport;
            out.dport = seg->sport;
            out.ttl = s->cfg.ttl;
            stack_emit(s, &out, false, SYNACK_LISTEN, NULL);
        }
        return SYNACK_DROP_ACK_UNACCEPTABLE;
    }
    /* RFC 9293 3.10.7.2: "Any other control or text-bearing segment (not containing SYN)
     * must have an ACK and thus would have been discarded by the ACK processing." */
    return SYNACK_DROP_BAD_SEGMENT;
}

void listener_input(struct synack_stack *s, struct stack_listener *l, const struct wire_ipv4 *ip,
                    const struct wire_tcp *seg, bool has_min, uint32_t iss_min)
{
    int reason = 0;
    if (!(seg->flags & SYNACK_SYN) || (seg->flags & (SYNACK_RST | SYNACK_ACK))) {
        reason = listener_reject(s, ip, seg);
        goto drop;
    }
    if (l->synq.count + l->acceptq.count >= l->backlog) {
        reason = SYNACK_DROP_BACKLOG_FULL; /* no RST: the peer retries */
        goto drop;
    }

    /* The listener's socket options apply to its children. */
    const struct stack_sock *lk = &s->socks[l->fd];
    struct stack_conn *c = stack_conn_new(s, ip->src, seg->sport, seg->dport, lk->sndbuf,
                                          lk->rcvbuf, lk->user_timeout_us);
    if (!c) {
        reason = SYNACK_DROP_NO_MEMORY;
        goto drop;
    }
    tcp_set_sockopts(&c->tcp, &lk->opts, s->now_us);
    uint32_t iss;
    if (lk->has_iss) {
        iss = lk->iss; /* SYNACK_OPT_ISS: fixed by the application */
    } else {
        iss = isn_generate(s->cfg.isn_key, c->lip, c->lport, c->rip, c->rport, s->now_us);
        /* RFC 9293 3.10.7.4 TIME-WAIT, RFC 6191: a new incarnation must start above the
         * sequence numbers the old one used. */
        if (has_min && seq_lt(iss, iss_min))
            iss = iss_min;
    }
    table_insert(s, c);
    c->parent = l;
    c->queue = STACK_Q_SYN;
    queue_push(&l->synq, c);
    s->stats.conn_passive++;

    tcp_open_passive(&c->tcp, iss, s->now_us);
    reason = stack_conn_input(s, c, seg);
    if (reason == TCP_INPUT_REOPEN) /* not a valid answer in LISTEN: treat as a drop */
        reason = SYNACK_DROP_BAD_SEGMENT;
    stack_count_drop(s, reason);
    stack_event_seg_in(s, ip, seg, c->state, reason, c);
    stack_conn_after(s, c); /* frees the child if it did not leave LISTEN */
    return;

drop:
    stack_count_drop(s, reason);
    stack_event_seg_in(s, ip, seg, SYNACK_LISTEN, reason, NULL);
}
