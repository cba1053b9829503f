/*
 * fault.c: seeded loss and fixed delay for one direction of a link (see fault.h).
 *
 * The loss draw is one step of splitmix64 (Steele, Lea and Flood) per packet, so the same
 * packets with the same seed lose the same ones. With a fixed delay, due times grow with
 * entry order, so held packets form a FIFO queue (a singly linked list with a tail pointer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "link/fault.h"
#include "wire/wire.h"

struct held {
    struct held *next;
    uint64_t due_us;        /* delivery time, microseconds */
    size_t len;             /* packet bytes */
    uint8_t data[];
};

struct fault_dir {
    struct fault_cfg cfg;
    uint64_t rng;           /* splitmix64 state */
    fault_deliver_fn deliver;
    void *deliver_arg;
    synack_observer_fn observer;
    void *observer_arg;
    struct held *head, *tail; /* held packets, oldest first */
    size_t held_bytes;      /* bytes held now */
    struct fault_stats stats;
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* true with probability p (draws nothing when p is 0). */
static bool chance(struct fault_dir *d, double p)
{
    if (p <= 0)
        return false;
    double u = (double)(splitmix64(&d->rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    return u < p;
}

struct fault_dir *fault_dir_new(const struct fault_cfg *cfg, fault_deliver_fn deliver,
                                void *deliver_arg)
{
    if (cfg == NULL || deliver == NULL || !(cfg->loss >= 0.0 && cfg->loss <= 1.0))
        return NULL;
    struct fault_dir *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->cfg = *cfg;
    if (d->cfg.queue_max == 0)
        d->cfg.queue_max = FAULT_QUEUE_MAX_DEFAULT;
    d->rng = cfg->seed;
    d->deliver = deliver;
    d->deliver_arg = deliver_arg;
    return d;
}

void fault_dir_free(struct fault_dir *d)
{
    if (d == NULL)
        return;
    while (d->head) {
        struct held *h = d->head;
        d->head = h->next;
        free(h);
    }
    free(d);
}

void fault_dir_set_observer(struct fault_dir *d, synack_observer_fn fn, void *arg)
{
    if (d == NULL)
        return;
    d->observer = fn;
    d->observer_arg = fn ? arg : NULL;
}

/* Reports a lost packet with what its headers say (checksums not verified). */
static void report_lost(struct fault_dir *d, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    if (d->observer == NULL)
        return;
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_us = now_us;
    ev.kind = SYNACK_EV_LINK;
    ev.link_action = SYNACK_LINK_LOST;
    ev.wscale = -1;
    struct wire_ipv4 ip;
    struct wire_tcp t;
    if (wire_ipv4_parse(pkt, len, &ip) == 0) {
        ev.local.ip = ip.src;
        ev.remote.ip = ip.dst;
        if (ip.protocol == WIRE_PROTO_TCP &&
            wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &t) == 0) {
            ev.local.port = t.sport;
            ev.remote.port = t.dport;
            ev.seq = t.seq;
            ev.ack = t.ack;
            ev.wnd = t.wnd;
            ev.len = t.payload_len;
            ev.flags = t.flags;
            ev.mss = (t.opts.present & WIRE_OPT_MSS) ? t.opts.mss : 0;
            ev.wscale = (t.opts.present & WIRE_OPT_WSCALE) ? (int8_t)t.opts.wscale : -1;
            ev.sack_permitted = (t.opts.present & WIRE_OPT_SACK_PERM) != 0;
            ev.has_ts = (t.opts.present & WIRE_OPT_TS) != 0;
            ev.ts_val = t.opts.ts_val;
            ev.ts_ecr = t.opts.ts_ecr;
        }
    }
    d->observer(d->observer_arg, &ev);
}

bool fault_dir_push(struct fault_dir *d, const uint8_t *packet, size_t len, uint64_t now_us)
{
    if (d == NULL || packet == NULL)
        return false;
    if (chance(d, d->cfg.loss)) {
        d->stats.lost++;
        report_lost(d, packet, len, now_us);
        return false;
    }
    if (d->cfg.delay_us == 0 && d->head == NULL) {
        d->stats.passed++;
        d->deliver(d->deliver_arg, packet, len);
        return true;
    }
    if (d->held_bytes + len > d->cfg.queue_max) {
        d->stats.overflow++;
        return false;
    }
    struct held *h = malloc(sizeof *h + len);
    if (h == NULL) {
        d->stats.overflow++;
        return false;
    }
    h->next = NULL;
    h->due_us = now_us + d->cfg.delay_us;
    h->len = len;
    memcpy(h->data, packet, len);
    if (d->tail)
        d->tail->next = h;
    else
        d->head = h;
    d->tail = h;
    d->held_bytes += len;
    d->stats.held++;
    return true;
}

void fault_dir_release(struct fault_dir *d, uint64_t now_us)
{
    if (d == NULL)
        return;
    while (d->head && d->head->due_us <= now_us) {
        struct held *h = d->head;
        d->head = h->next;
        if (d->head == NULL)
            d->tail = NULL;
        d->held_bytes -= h->len;
        d->stats.held--;
        d->stats.passed++;
        d->deliver(d->deliver_arg, h->data, h->len);
        free(h);
    }
}

uint64_t fault_dir_deadline(const struct fault_dir *d)
{
    return d && d->head ? d->head->due_us : UINT64_MAX;
}

bool fault_dir_is_clean(const struct fault_dir *d)
{
    return d == NULL || (d->cfg.loss <= 0 && d->cfg.delay_us == 0);
}

void fault_dir_stats(const struct fault_dir *d, struct fault_stats *out)
{
    if (out == NULL)
        return;
    if (d == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = d->stats;
}

bool fault_parse_loss(const char *text, double *out)
{
    if (text == NULL || out == NULL)
        return false;
    size_t n = strlen(text);
    bool percent = n > 0 && text[n - 1] == '%';
    size_t digits = 0, dots = 0;
    for (size_t i = 0; i < n - (percent ? 1 : 0); i++) {
        if (text[i] >= '0' && text[i] <= '9')
            digits++;
        else if (text[i] == '.')
            dots++;
        else
            return false; /* no sign, blank, exponent, hex, inf or nan */
    }
    if (digits == 0 || dots > 1)
        return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno != 0 || end != text + n - (percent ? 1 : 0))
        return false;
    if (percent)
        v /= 100.0;
    if (!(v >= 0.0 && v <= 1.0))
        return false;
    *out = v;
    return true;
}
