/*
 * blocking_memnet.c: the memnet driver of the blocking API (synack_mnet in
 * include/synack_blocking.h): a virtual network whose clock runs in step with real time.
 *
 * run(now) is memnet_run_until(now): every delivery and timer due by now happens. To sleep
 * exactly until the next one, the driver must know when packets in flight are due; memnet
 * keeps that to itself, so the driver wraps each stack's link and notes, for every packet
 * sent, the times it can be delivered (send time + the path's delay, and + the reordering
 * delay when the path reorders) in a min-heap. Waking at a noted time when nothing is due is
 * harmless: run() finds nothing and the driver sleeps again. Stack timers come from
 * synack_stack_next_deadline().
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "api/blocking_internal.h"
#include "link/memnet.h"
#include "synack.h"
#include "synack_blocking.h"

#define REORDER_EXTRA_US 1000 /* memnet's default reorder delay is 2 x delay + this, us */

/* A host: a stack on a memnet node, and the link wrapper that notes delivery times. */
struct mnet_host {
    struct synack_mnet *m;
    struct synack_stack *stack;
    uint32_t ip;
    int node;
    struct synack_link inner;    /* memnet's link of the node */
};

struct path_rec {
    uint32_t from, to;
    struct memnet_path path;
};

struct synack_mnet {
    struct memnet *net;
    struct mnet_host **hosts;
    int nhosts;
    struct path_rec *paths;      /* paths set through synack_mnet_set_path() */
    size_t npaths;
    uint64_t *due;               /* min-heap of possible delivery times, virtual us */
    size_t ndue, capdue;
    uint64_t t0;                 /* monotonic time of virtual time 0, microseconds */

    pthread_mutex_t wlock;       /* guards woken; wait() sleeps on wcond */
    pthread_cond_t wcond;
    bool woken;                  /* wake() was called since the last wait() returned */
};

/* ---- Heap of delivery times ---------------------------------------------------------------- */

static void due_push(struct synack_mnet *m, uint64_t t)
{
    if (m->ndue == m->capdue) {
        size_t cap = m->capdue ? m->capdue * 2 : 256;
        uint64_t *d = realloc(m->due, cap * sizeof *d);
        if (d == NULL)
            return; /* the delivery still happens, at the next run for another reason */
        m->due = d;
        m->capdue = cap;
    }
    size_t i = m->ndue++;
    while (i > 0 && m->due[(i - 1) / 2] > t) {
        m->due[i] = m->due[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->due[i] = t;
}

static void due_pop(struct synack_mnet *m)
{
    uint64_t last = m->due[--m->ndue];
    size_t i = 0, n = m->ndue;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && m->due[c + 1] < m->due[c])
            c++;
        if (m->due[c] >= last)
            break;
        m->due[i] = m->due[c];
        i = c;
    }
    if (n > 0)
        m->due[i] = last;
}

/* ---- Hosts --------------------------------------------------------------------------------- */

static const struct memnet_path *path_of(const struct synack_mnet *m, uint32_t from, uint32_t to)
{
    for (size_t i = 0; i < m->npaths; i++) /* a handful of paths */
        if (m->paths[i].from == from && m->paths[i].to == to)
            return &m->paths[i].path;
    return NULL;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The stack's link: notes when the packet can arrive, then hands it to memnet. */
static void host_send(void *arg, const uint8_t *packet, size_t len)
{
    struct mnet_host *h = arg;
    struct synack_mnet *m = h->m;
    uint64_t now = memnet_now(m->net);
    uint64_t delay = 0;
    if (packet && len >= 20) {
        const struct memnet_path *p = path_of(m, h->ip, get32(packet + 16));
        if (p) {
            delay = p->delay_us;
            if (p->reorder > 0)
                due_push(m, now + delay +
                                (p->reorder_us ? p->reorder_us
                                               : 2 * p->delay_us + REORDER_EXTRA_US));
        }
    }
    due_push(m, now + delay);
    h->inner.send(h->inner.arg, packet, len);
}

static void host_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    struct mnet_host *h = arg;
    synack_stack_input(h->stack, packet, len, now_us);
}

static uint64_t host_poll(void *arg, uint64_t now_us)
{
    struct mnet_host *h = arg;
    return synack_stack_poll(h->stack, now_us);
}

struct synack_mnet *synack_mnet_new(uint64_t seed)
{
    struct synack_mnet *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->net = memnet_new(seed);
    if (m->net == NULL || pthread_mutex_init(&m->wlock, NULL) != 0) {
        memnet_free(m->net);
        free(m);
        return NULL;
    }
    if (bclock_cond_init(&m->wcond) != 0) {
        pthread_mutex_destroy(&m->wlock);
        memnet_free(m->net);
        free(m);
        return NULL;
    }
    m->t0 = bclock_now_us();
    return m;
}

struct synack_stack *synack_mnet_add_stack(struct synack_mnet *m, const struct synack_config *cfg)
{
    if (m == NULL || cfg == NULL)
        return NULL;
    struct mnet_host **t = realloc(m->hosts, ((size_t)m->nhosts + 1) * sizeof *t);
    if (t == NULL)
        return NULL;
    m->hosts = t;
    struct mnet_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->node = memnet_add_node(m->net, cfg->ip);
    if (h->node < 0) {
        free(h);
        return NULL;
    }
    h->m = m;
    h->ip = cfg->ip;
    h->inner = memnet_link(m->net, h->node);
    struct synack_link link = {.arg = h, .send = host_send};
    h->stack = synack_stack_new(cfg, &link);
    if (h->stack == NULL) {
        /* The node stays in memnet, detached: its address cannot be reused. */
        free(h);
        return NULL;
    }
    struct memnet_node_ops ops = {h, host_input, host_poll};
    memnet_attach(m->net, h->node, &ops);
    m->hosts[m->nhosts++] = h;
    return h->stack;
}

bool synack_mnet_set_path(struct synack_mnet *m, uint32_t from_ip, uint32_t to_ip,
                          const struct memnet_path *path)
{
    if (m == NULL || !memnet_set_path(m->net, from_ip, to_ip, path))
        return false;
    struct memnet_path p = {0};
    if (path)
        p = *path;
    for (size_t i = 0; i < m->npaths; i++) {
        if (m->paths[i].from == from_ip && m->paths[i].to == to_ip) {
            m->paths[i].path = p;
            return true;
        }
    }
    struct path_rec *t = realloc(m->paths, (m->npaths + 1) * sizeof *t);
    if (t == NULL)
        return false;
    m->paths = t;
    m->paths[m->npaths++] = (struct path_rec){from_ip, to_ip, p};
    return true;
}

struct memnet *synack_mnet_memnet(struct synack_mnet *m)
{
    return m ? m->net : NULL;
}

void synack_mnet_free(struct synack_mnet *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nhosts; i++) {
        synack_stack_free(m->hosts[i]->stack);
        free(m->hosts[i]);
    }
    free(m->hosts);
    free(m->paths);
    free(m->due);
    memnet_free(m->net);
    pthread_cond_destroy(&m->wcond);
    pthread_mutex_destroy(&m->wlock);
    free(m);
}

/* ---- Driver -------------------------------------------------------------------------------- */

static uint64_t drv_now(void *arg)
{
    struct synack_mnet *m = arg;
    return bclock_now_us() - m->t0;
}

static uint64_t drv_run(void *arg, uint64_t now_us)
{
    struct synack_mnet *m = arg;
    if (now_us < memnet_now(m->net))
        now_us = memnet_now(m->net);
    memnet_run_until(m->net, now_us);
    while (m->ndue > 0 && m->due[0] <= now_us)
        due_pop(m);
    uint64_t next = m->ndue > 0 ? m->due[0] : UINT64_MAX;
    for (int i = 0; i < m->nhosts; i++) {
        uint64_t d = synack_stack_next_deadline(m->hosts[i]->stack);
        if (d < next)
            next = d;
    }
    return next;
}

static int drv_wait(void *arg, uint64_t deadline_us)
{
    struct synack_mnet *m = arg;
    uint64_t at = deadline_us == UINT64_MAX || deadline_us > UINT64_MAX - m->t0
                      ? UINT64_MAX
                      : deadline_us + m->t0;
    pthread_mutex_lock(&m->wlock);
    while (!m->woken) {
        if (bclock_timedwait(&m->wcond, &m->wlock, at) != 0)
            break; /* the deadline */
    }
    m->woken = false;
    pthread_mutex_unlock(&m->wlock);
    return 0;
}

static void drv_wake(void *arg)
{
    struct synack_mnet *m = arg;
    pthread_mutex_lock(&m->wlock);
    m->woken = true;
    pthread_cond_signal(&m->wcond);
    pthread_mutex_unlock(&m->wlock);
}

struct synack_driver synack_mnet_driver(struct synack_mnet *m)
{
    struct synack_driver d = {m, drv_now, drv_run, drv_wait, drv_wake};
    return d;
}
