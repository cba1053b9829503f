/*
 * memnet.c: the in-process virtual network (see memnet.h).
 *
 * Packets sent by a node are written into a pooled buffer and put in a priority queue
 * ordered by (delivery time, send sequence number); equal times are delivered in send order,
 * so a run depends only on the configuration and the seed. The pooled buffer is lent to the
 * sender's stack (the link's buffer()) so that it writes the packet there directly; a packet
 * sent from any other buffer is copied into one. A lent buffer stands in for the sender's own
 * on a path that corrupts or duplicates, so the copies are made exactly as from any buffer.
 * Fault injection draws from a
 * seeded xoshiro256** generator (Blackman and Vigna), seeded through splitmix64, and draws
 * only for faults whose probability is not zero.
 *
 * The queue is two structures: packets sent in delivery order (a path with a fixed delay,
 * the common case: each is due no earlier than the one queued before it) go to a FIFO, O(1),
 * and the others (reordered, or behind a rate-limited path's queue) to a binary heap; a pop
 * takes the earlier of the two heads. Either way the order is exactly (time, seq).
 *
 * A step advances the clock to the earliest delivery or node deadline, delivers everything
 * due then (including packets sent at that very time with zero delay), and polls every node
 * after each round of deliveries, so nodes learn the time and memnet learns their deadlines.
 * Nodes may send re-entrantly from input() and poll(): a packet is taken off the queue before
 * it is handed to its receiver, and new ones are only pushed.
 *
 * A path with a rate (rate_bps) serializes its packets: each path remembers, in nanoseconds,
 * when its transmitter becomes free; a packet starts transmitting then (or when sent, if
 * later), and its delay (and any reordering delay) counts from the end of its transmission.
 */
#include <stdlib.h>
#include <string.h>

#include "link/memnet.h"
#include "wire/wire.h"

#define POOL_MIN_SHIFT 6  /* smallest pooled buffer: 64 bytes */
#define POOL_MAX_SHIFT 16 /* largest: 65536 bytes, holds MEMNET_MTU */
#define POOL_CLASSES (POOL_MAX_SHIFT - POOL_MIN_SHIFT + 1)
#define DEFAULT_REORDER_EXTRA_US 1000 /* reorder_us default: 2 x delay + this, microseconds */
#define NS_PER_SEC 1000000000ull      /* nanoseconds per second */
#define NS_PER_US 1000ull             /* nanoseconds per microsecond */

/* A packet in flight (or in the pool). */
struct mn_pkt {
    uint64_t time;          /* delivery time, microseconds */
    uint64_t seq;           /* send order, breaks ties */
    int to;                 /* receiving node */
    uint32_t len;           /* bytes used */
    uint8_t cls;            /* pool class: capacity is 1 << (cls + POOL_MIN_SHIFT) */
    struct mn_pkt *next;    /* pool free list */
    uint8_t data[];
};

/* A heap entry: the packet's key is copied next to its pointer, so that sifting compares
 * without touching the packets (each in its own buffer, likely not in cache). */
struct mn_slot {
    uint64_t time, seq;     /* the packet's delivery time and send order */
    struct mn_pkt *p;
};

struct mn_node {
    struct memnet *net;
    int idx;
    uint32_t ip;
    bool attached;
    struct memnet_node_ops ops;
    uint64_t deadline;      /* from the node's last poll(), UINT64_MAX for none */
    struct mn_pkt *lent;    /* buffer lent by link_buffer(), not yet sent, or NULL */
};

struct memnet {
    uint64_t now;                   /* virtual clock, microseconds */
    uint64_t send_seq;              /* next send sequence number */
    uint64_t rng[4];                /* xoshiro256** state */
    struct mn_node **nodes;
    int nnodes, node_cap;
    struct memnet_path *paths;      /* node_cap x node_cap, [from * node_cap + to] */
    uint64_t *busy_ns;              /* like paths: when each path's transmitter is free,
                                       nanoseconds of virtual time (rate-limited paths) */
    struct mn_slot *heap;           /* in flight, min-heap on (time, seq) */
    size_t heap_len, heap_cap;
    struct mn_slot *fifo;           /* in flight, in (time, seq) order: a ring buffer */
    size_t fifo_head, fifo_len, fifo_cap; /* fifo_cap is 0 or a power of 2 */
    struct mn_pkt *pool[POOL_CLASSES]; /* free buffers per size class */
    synack_observer_fn observer;
    void *observer_arg;
    struct memnet_stats stats;
};

/* ---- PRNG -------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct memnet *net)
{
    uint64_t *s = net->rng;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1): the top 53 bits as a double. */
static double rng_unit(struct memnet *net)
{
    return (double)(rng_next(net) >> 11) * (1.0 / 9007199254740992.0);
}

/* true with probability p; draws nothing when p <= 0. */
static bool rng_chance(struct memnet *net, double p)
{
    return p > 0 && rng_unit(net) < p;
}

/* ---- Packet pool and queue --------------------------------------------------------------- */

static struct mn_pkt *pkt_alloc(struct memnet *net, size_t len)
{
    int cls = 0;
    while (((size_t)1 << (cls + POOL_MIN_SHIFT)) < len)
        cls++;
    struct mn_pkt *p = net->pool[cls];
    if (p) {
        net->pool[cls] = p->next;
    } else {
        p = malloc(sizeof *p + ((size_t)1 << (cls + POOL_MIN_SHIFT)));
        if (!p)
            return NULL;
        p->cls = (uint8_t)cls;
    }
    p->len = (uint32_t)len;
    p->next = NULL;
    return p;
}

static void pkt_free(struct memnet *net, struct mn_pkt *p)
{
    p->next = net->pool[p->cls];
    net->pool[p->cls] = p;
}

static bool slot_before(const struct mn_slot *a, const struct mn_slot *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* The slot n places after the FIFO's head. */
static struct mn_slot *fifo_at(const struct memnet *net, size_t n)
{
    return &net->fifo[(net->fifo_head + n) & (net->fifo_cap - 1)];
}

/* Doubles the FIFO's ring, unwrapping it. false on no memory. */
static bool fifo_grow(struct memnet *net)
{
    size_t cap = net->fifo_cap ? net->fifo_cap * 2 : 256;
    struct mn_slot *f = malloc(cap * sizeof *f);
    if (!f)
        return false;
    for (size_t i = 0; i < net->fifo_len; i++)
        f[i] = *fifo_at(net, i);
    free(net->fifo);
    net->fifo = f;
    net->fifo_cap = cap;
    net->fifo_head = 0;
    return true;
}

static bool heap_push(struct memnet *net, struct mn_slot slot)
{
    if (net->heap_len == net->heap_cap) {
        size_t cap = net->heap_cap ? net->heap_cap * 2 : 256;
        struct mn_slot *h = realloc(net->heap, cap * sizeof *h);
        if (!h)
            return false;
        net->heap = h;
        net->heap_cap = cap;
    }
    size_t i = net->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!slot_before(&slot, &net->heap[parent]))
            break;
        net->heap[i] = net->heap[parent];
        i = parent;
    }
    net->heap[i] = slot;
    return true;
}

static bool queue_push(struct memnet *net, struct mn_pkt *p)
{
    struct mn_slot slot = {p->time, p->seq, p};
    /* seq grows with every packet, so only an earlier time can put it before the tail. */
    if (net->fifo_len > 0 && slot_before(&slot, fifo_at(net, net->fifo_len - 1)))
        return heap_push(net, slot);
    if (net->fifo_len == net->fifo_cap && !fifo_grow(net))
        return false;
    *fifo_at(net, net->fifo_len++) = slot;
    return true;
}

/* The earliest packet in flight, or NULL. */
static const struct mn_slot *queue_first(const struct memnet *net)
{
    const struct mn_slot *f = net->fifo_len > 0 ? fifo_at(net, 0) : NULL;
    const struct mn_slot *h = net->heap_len > 0 ? &net->heap[0] : NULL;
    if (!f)
        return h;
    return h && slot_before(h, f) ? h : f;
}

static struct mn_pkt *heap_pop(struct memnet *net)
{
    struct mn_pkt *top = net->heap[0].p;
    struct mn_slot last = net->heap[--net->heap_len];
    size_t i = 0, n = net->heap_len;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= n)
            break;
        if (r < n && slot_before(&net->heap[r], &net->heap[l]))
            m = r;
        if (!slot_before(&net->heap[m], &last))
            break;
        net->heap[i] = net->heap[m];
        i = m;
    }
    if (n > 0)
        net->heap[i] = last;
    return top;
}

/* Takes the earliest packet off the queue, which MUST NOT be empty. */
static struct mn_pkt *queue_pop(struct memnet *net)
{
    if (net->heap_len > 0 && queue_first(net) == &net->heap[0])
        return heap_pop(net);
    struct mn_pkt *p = fifo_at(net, 0)->p;
    net->fifo_head = (net->fifo_head + 1) & (net->fifo_cap - 1);
    net->fifo_len--;
    return p;
}

/* Whether a packet is due at or before now. */
static bool queue_due(const struct memnet *net)
{
    const struct mn_slot *first = queue_first(net);
    return first && first->time <= net->now;
}

/* ---- Events ------------------------------------------------------------------------------ */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reports what the link did to a packet, with its header fields (checksums not verified, so
 * the fields of a packet about to be corrupted are the original ones). */
static void link_event(struct memnet *net, int action, const uint8_t *pkt, size_t len)
{
    if (!net->observer)
        return;
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_us = net->now;
    ev.kind = SYNACK_EV_LINK;
    ev.link_action = action;
    ev.wscale = -1;
    if (len >= WIRE_IPV4_HDR_LEN) {
        ev.local.ip = get32(pkt + 12);
        ev.remote.ip = get32(pkt + 16);
    }
    struct wire_ipv4 ip;
    struct wire_tcp t;
    if (wire_ipv4_parse(pkt, len, &ip) == 0 && ip.protocol == WIRE_PROTO_TCP &&
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &t) == 0) {
        ev.local.port = t.sport;
        ev.remote.port = t.dport;
        ev.seq = t.seq;
        ev.ack = t.ack;
        ev.wnd = t.wnd;
        ev.len = t.payload_len;
        ev.flags = t.flags;
        if (t.opts.present & WIRE_OPT_MSS)
            ev.mss = t.opts.mss;
        if (t.opts.present & WIRE_OPT_WSCALE)
            ev.wscale = (int8_t)t.opts.wscale;
        ev.sack_permitted = (t.opts.present & WIRE_OPT_SACK_PERM) != 0;
        if (t.opts.present & WIRE_OPT_TS) {
            ev.has_ts = true;
            ev.ts_val = t.opts.ts_val;
            ev.ts_ecr = t.opts.ts_ecr;
        }
    }
    net->observer(net->observer_arg, &ev);
}

/* ---- Nodes and paths --------------------------------------------------------------------- */

struct memnet *memnet_new(uint64_t seed)
{
    struct memnet *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        net->rng[i] = splitmix64(&x);
    return net;
}

void memnet_free(struct memnet *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->heap_len; i++)
        free(net->heap[i].p);
    for (size_t i = 0; i < net->fifo_len; i++)
        free(fifo_at(net, i)->p);
    free(net->fifo);
    for (int c = 0; c < POOL_CLASSES; c++) {
        while (net->pool[c]) {
            struct mn_pkt *p = net->pool[c];
            net->pool[c] = p->next;
            free(p);
        }
    }
    for (int i = 0; i < net->nnodes; i++) {
        free(net->nodes[i]->lent);
        free(net->nodes[i]);
    }
    free(net->nodes);
    free(net->paths);
    free(net->busy_ns);
    free(net->heap);
    free(net);
}

static int node_by_ip(const struct memnet *net, uint32_t ip)
{
    for (int i = 0; i < net->nnodes; i++) /* O(nodes): a virtual network has a handful */
        if (net->nodes[i]->ip == ip)
            return i;
    return -1;
}

int memnet_add_node(struct memnet *net, uint32_t ip)
{
    if (!net || node_by_ip(net, ip) >= 0)
        return -1;
    if (net->nnodes == net->node_cap) {
        int cap = net->node_cap ? net->node_cap * 2 : 4;
        struct mn_node **nodes = realloc(net->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return -1;
        net->nodes = nodes;
        struct memnet_path *paths = calloc((size_t)cap * (size_t)cap, sizeof *paths);
        uint64_t *busy = calloc((size_t)cap * (size_t)cap, sizeof *busy);
        if (!paths || !busy) {
            free(paths);
            free(busy);
            return -1;
        }
        for (int f = 0; f < net->nnodes; f++) {
            for (int t = 0; t < net->nnodes; t++) {
                paths[f * cap + t] = net->paths[f * net->node_cap + t];
                busy[f * cap + t] = net->busy_ns[f * net->node_cap + t];
            }
        }
        free(net->paths);
        free(net->busy_ns);
        net->paths = paths;
        net->busy_ns = busy;
        net->node_cap = cap;
    }
    struct mn_node *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->net = net;
    n->idx = net->nnodes;
    n->ip = ip;
    n->deadline = UINT64_MAX;
    net->nodes[net->nnodes] = n;
    return net->nnodes++;
}

void memnet_attach(struct memnet *net, int node, const struct memnet_node_ops *ops)
{
    if (!net || node < 0 || node >= net->nnodes || !ops)
        return;
    struct mn_node *n = net->nodes[node];
    n->ops = *ops;
    n->attached = ops->input != NULL;
    n->deadline = ops->poll ? net->now : UINT64_MAX; /* poll it once to learn its timers */
}

static double clamp01(double p)
{
    return p > 0 ? (p < 1 ? p : 1) : 0; /* NaN -> 0 */
}

bool memnet_set_path(struct memnet *net, uint32_t from_ip, uint32_t to_ip,
                     const struct memnet_path *path)
{
    if (!net)
        return false;
    int f = node_by_ip(net, from_ip), t = node_by_ip(net, to_ip);
    if (f < 0 || t < 0)
        return false;
    struct memnet_path p = {0};
    if (path) {
        p = *path;
        p.loss = clamp01(p.loss);
        p.dup = clamp01(p.dup);
        p.reorder = clamp01(p.reorder);
        p.corrupt = clamp01(p.corrupt);
    }
    net->paths[f * net->node_cap + t] = p;
    return true;
}

void memnet_set_observer(struct memnet *net, synack_observer_fn fn, void *arg)
{
    if (!net)
        return;
    net->observer = fn;
    net->observer_arg = fn ? arg : NULL;
}

uint64_t memnet_now(const struct memnet *net)
{
    return net ? net->now : 0;
}

void memnet_stats(const struct memnet *net, struct memnet_stats *out)
{
    if (!out)
        return;
    if (!net) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = net->stats;
}

/* ---- Sending ----------------------------------------------------------------------------- */

/* When a packet of len bytes, sent now on the path at index pi, has been transmitted
 * (microseconds, rounded up): now on an unlimited path; otherwise after the packets ahead
 * of it and its own len x 8 / rate_bps. Marks the transmitter busy until then. */
static uint64_t transmit_end(struct memnet *net, size_t pi, size_t len)
{
    const struct memnet_path *path = &net->paths[pi];
    if (path->rate_bps == 0)
        return net->now;
    uint64_t start = net->busy_ns[pi];
    if (start < net->now * NS_PER_US)
        start = net->now * NS_PER_US;
    /* len <= MEMNET_MTU, so len x 8 x 10^9 < 2^63: no overflow. */
    uint64_t end = start + ((uint64_t)len * 8 * NS_PER_SEC + path->rate_bps - 1) / path->rate_bps;
    net->busy_ns[pi] = end;
    return (end + NS_PER_US - 1) / NS_PER_US;
}

/* Queues one copy of a packet on path, transmitted by sent_us, applying corruption and
 * reordering to it. p holds the copy (NULL: out of memory) or is NULL to make one. */
static void schedule_copy(struct memnet *net, int to, const struct memnet_path *path,
                          uint64_t sent_us, const uint8_t *packet, size_t len, struct mn_pkt *p)
{
    if (!p) {
        p = pkt_alloc(net, len);
        if (!p) {
            net->stats.lost++; /* out of memory: the network drops it, as a real one would */
            return;
        }
        memcpy(p->data, packet, len);
    }
    p->to = to;
    p->time = sent_us + path->delay_us;
    if (rng_chance(net, path->corrupt)) {
        link_event(net, SYNACK_LINK_CORRUPTED, p->data, len); /* reported before the damage */
        size_t at = (size_t)(rng_next(net) % len);
        p->data[at] ^= (uint8_t)(1 + rng_next(net) % 255); /* never a no-op */
        net->stats.corrupted++;
    }
    if (rng_chance(net, path->reorder)) {
        uint64_t extra = path->reorder_us ? path->reorder_us
                                          : 2 * path->delay_us + DEFAULT_REORDER_EXTRA_US;
        p->time += extra;
        net->stats.reordered++;
        link_event(net, SYNACK_LINK_DELAYED, packet, len);
    }
    p->seq = net->send_seq++;
    if (!queue_push(net, p)) {
        pkt_free(net, p);
        net->stats.lost++;
    }
}

/* The link's buffer(): a pooled buffer of len bytes for the node's next packet. A buffer lent
 * before and never sent is taken back. */
static uint8_t *link_buffer(void *arg, size_t len)
{
    struct mn_node *from = arg;
    struct memnet *net = from->net;
    if (from->lent) {
        pkt_free(net, from->lent);
        from->lent = NULL;
    }
    if (len < WIRE_IPV4_HDR_LEN || len > MEMNET_MTU)
        return NULL;
    from->lent = pkt_alloc(net, len);
    return from->lent ? from->lent->data : NULL;
}

/* Routes a packet; own is the pooled buffer holding it when it was lent, or NULL. Returns
 * true when own was queued (the queue owns it now). */
static bool route(struct mn_node *from, const uint8_t *packet, size_t len, struct mn_pkt *own)
{
    struct memnet *net = from->net;
    net->stats.sent++;
    if (!packet || len < WIRE_IPV4_HDR_LEN || len > MEMNET_MTU) {
        net->stats.unroutable++;
        return false;
    }
    int to = node_by_ip(net, get32(packet + 16));
    if (to < 0) {
        net->stats.unroutable++;
        return false;
    }
    size_t pi = (size_t)from->idx * (size_t)net->node_cap + (size_t)to;
    const struct memnet_path *path = &net->paths[pi];
    uint64_t sent_us = transmit_end(net, pi, len);
    if (rng_chance(net, path->loss)) {
        net->stats.lost++;
        link_event(net, SYNACK_LINK_LOST, packet, len);
        return false;
    }
    int copies = 1;
    if (rng_chance(net, path->dup)) {
        copies = 2;
        net->stats.duplicated++;
        link_event(net, SYNACK_LINK_DUPLICATED, packet, len);
    }
    if (own && copies == 1 && path->corrupt <= 0) {
        schedule_copy(net, to, path, sent_us, packet, len, own);
        return true;
    }
    for (int i = 0; i < copies; i++)
        schedule_copy(net, to, path, sent_us, packet, len, NULL);
    return false;
}

static void memnet_send(void *arg, const uint8_t *packet, size_t len)
{
    struct mn_node *from = arg;
    struct mn_pkt *own = NULL;
    if (from->lent && packet == from->lent->data && len == from->lent->len) {
        own = from->lent;
        from->lent = NULL;
    }
    if (!route(from, packet, len, own) && own)
        pkt_free(from->net, own);
}

struct synack_link memnet_link(struct memnet *net, int node)
{
    struct synack_link link = {.arg = NULL};
    if (net && node >= 0 && node < net->nnodes) {
        link.arg = net->nodes[node];
        link.send = memnet_send;
        link.buffer = link_buffer;
    }
    return link;
}

/* ---- Running ----------------------------------------------------------------------------- */

/* Polls every node at the current time and records its next deadline. */
static void poll_all(struct memnet *net)
{
    for (int i = 0; i < net->nnodes; i++) {
        struct mn_node *n = net->nodes[i];
        if (n->attached && n->ops.poll)
            n->deadline = n->ops.poll(n->ops.arg, net->now);
    }
}

/* Delivers every packet due by now, then polls the nodes; again while the polls or the
 * deliveries produced packets due now (zero delay). */
static void process_now(struct memnet *net)
{
    do {
        while (queue_due(net)) {
            struct mn_pkt *p = queue_pop(net);
            struct mn_node *n = net->nodes[p->to];
            if (n->attached) {
                net->stats.delivered++;
                n->ops.input(n->ops.arg, p->data, p->len, net->now);
            } else {
                net->stats.unroutable++;
            }
            pkt_free(net, p);
        }
        poll_all(net);
    } while (queue_due(net));
}

static uint64_t next_event_time(const struct memnet *net)
{
    const struct mn_slot *first = queue_first(net);
    uint64_t t = first ? first->time : UINT64_MAX;
    for (int i = 0; i < net->nnodes; i++)
        if (net->nodes[i]->attached && net->nodes[i]->deadline < t)
            t = net->nodes[i]->deadline;
    return t;
}

bool memnet_step(struct memnet *net, uint64_t limit_us)
{
    if (!net)
        return false;
    /* Socket calls made between steps may have armed timers that memnet has not seen: when
     * nothing is due now, poll the nodes to learn their deadlines before moving the clock. */
    if (next_event_time(net) > net->now)
        poll_all(net);
    uint64_t next = next_event_time(net);
    if (next == UINT64_MAX || next > limit_us) {
        if (limit_us != UINT64_MAX && limit_us > net->now) {
            net->now = limit_us;
            /* Nothing is due, but the nodes learn the time: socket calls made next run at
             * the clock the caller sees. */
            poll_all(net);
        }
        return false;
    }
    if (next > net->now)
        net->now = next;
    process_now(net);
    return true;
}

void memnet_run_until(struct memnet *net, uint64_t until_us)
{
    while (memnet_step(net, until_us))
        ;
}

bool memnet_run(struct memnet *net, bool (*done)(void *arg), void *arg, uint64_t limit_us)
{
    if (!net || !done)
        return false;
    if (done(arg))
        return true;
    while (memnet_step(net, limit_us)) {
        if (done(arg))
            return true;
    }
    return done(arg);
}
