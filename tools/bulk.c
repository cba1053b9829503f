/*
 * bulk.c: a bulk transfer between two stacks over memnet (see bulk.h).
 *
 * The run is a loop around memnet_step(): after every step each side's application does
 * what it can without blocking (accept, send, receive, shut down, close). Both ends of a
 * direction derive the same byte stream from a key, so the receiver checks every byte
 * against what the sender sent at that offset: a lost, duplicated, reordered or corrupted
 * byte that reached the application is caught at its offset, and a byte too many (data past
 * the end) too.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "bulk.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"

#define BUF_BYTES 65536               /* application read and write buffers, bytes */
#define DEFAULT_BYTES (1024ull * 1024) /* bulk_opts.bytes default: 1 MiB */
#define DEFAULT_DELAY_US 1000         /* bulk_opts.delay_us default: 1 ms */
#define DEFAULT_USER_TIMEOUT_US (3600ull * 1000000) /* 1 hour */
#define MAX_BYTES (1ull << 40)        /* largest --bytes: 1 TiB */
#define MAX_BUF (1ull << 30)          /* largest --sndbuf / --rcvbuf: 1 GiB */
#define MAX_DELAY_MS 60000.0          /* largest --delay, milliseconds */
#define MAX_RATE_MBIT 1000000.0       /* largest --rate: 1 Tbit/s */
#define FNV_OFFSET 14695981039346656037ull /* FNV-1a 64 offset basis */
#define FNV_PRIME 1099511628211ull    /* FNV-1a 64 prime */
#define GOLDEN 0x9e3779b97f4a7c15ull  /* 2^64 / golden ratio: splitmix64 increment */

enum { A = 0, B = 1 };

/* ---- Data: a keyed stream that can be generated at any offset ----------------------------- */

/* The splitmix64 finalizer: a bijective mix of 64 bits. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Word i of the stream of key (bytes 8i .. 8i + 7, little-endian). A bijection of i for a
 * given key (xor, times an odd constant, xorshift), so no two words of a stream are equal:
 * data delivered twice, out of order or at the wrong offset cannot match what is expected
 * there for more than a few bytes by chance. */
static inline uint64_t stream_word(uint64_t key, uint64_t i)
{
    uint64_t z = (key ^ i) * GOLDEN;
    return z ^ (z >> 29);
}

static inline void store_le64(uint8_t *p, uint64_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
    p[4] = (uint8_t)(w >> 32);
    p[5] = (uint8_t)(w >> 40);
    p[6] = (uint8_t)(w >> 48);
    p[7] = (uint8_t)(w >> 56);
}

/* Fills buf with bytes [off, off + n) of the stream of key: byte j is byte j % 8 of
 * stream_word(key, j / 8). O(n); whole words are stored at once (the cost of a 1 GiB run is
 * mostly the stack's, not this). */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t n)
{
    uint64_t word = off / 8;
    unsigned skip = (unsigned)(off % 8);
    if (skip != 0) { /* the rest of a word */
        uint64_t w = stream_word(key, word++) >> (8 * skip);
        for (; skip < 8 && n > 0; skip++, n--, w >>= 8)
            *buf++ = (uint8_t)w;
    }
    for (; n >= 8; n -= 8, buf += 8)
        store_le64(buf, stream_word(key, word++));
    if (n > 0) { /* the start of a word */
        uint64_t w = stream_word(key, word);
        for (; n > 0; n--, w >>= 8)
            *buf++ = (uint8_t)w;
    }
}

/* The running hash of a stream: FNV-1a 64 taken a 64-bit little-endian word at a time, in
 * HASH_LANES interleaved lanes (word i goes to lane i % HASH_LANES: independent multiply
 * chains, so the hash keeps up with the stack), folded together at the end. Bytewise FNV-1a
 * would cost 1.4 s per GiB and distort the wall-clock figures. The value depends only on the
 * bytes, not on how they were split into calls. */
#define HASH_LANES 4

struct hash64 {
    uint64_t lane[HASH_LANES]; /* state of each lane */
    uint64_t words;           /* whole words hashed */
    uint64_t pend;            /* bytes of the next word seen so far, little-endian */
    unsigned npend;           /* how many (0..7) */
};

static void hash_init(struct hash64 *hs)
{
    for (int l = 0; l < HASH_LANES; l++)
        hs->lane[l] = FNV_OFFSET + (uint64_t)l;
    hs->words = 0;
    hs->pend = 0;
    hs->npend = 0;
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static void hash_word(struct hash64 *hs, uint64_t w)
{
    uint64_t *l = &hs->lane[hs->words++ % HASH_LANES];
    *l = (*l ^ w) * FNV_PRIME;
}

static void hash_add(struct hash64 *hs, const uint8_t *p, size_t n)
{
    while (hs->npend > 0 && n > 0) { /* complete a pending word */
        hs->pend |= (uint64_t)*p++ << (8 * hs->npend++);
        n--;
        if (hs->npend == 8) {
            hash_word(hs, hs->pend);
            hs->pend = 0;
            hs->npend = 0;
        }
    }
    while (n >= 8 && hs->words % HASH_LANES != 0) {
        hash_word(hs, load_le64(p));
        p += 8;
        n -= 8;
    }
    uint64_t l0 = hs->lane[0], l1 = hs->lane[1], l2 = hs->lane[2], l3 = hs->lane[3];
    for (; n >= 8 * HASH_LANES; p += 8 * HASH_LANES, n -= 8 * HASH_LANES) {
        l0 = (l0 ^ load_le64(p)) * FNV_PRIME;
        l1 = (l1 ^ load_le64(p + 8)) * FNV_PRIME;
        l2 = (l2 ^ load_le64(p + 16)) * FNV_PRIME;
        l3 = (l3 ^ load_le64(p + 24)) * FNV_PRIME;
        hs->words += HASH_LANES;
    }
    hs->lane[0] = l0;
    hs->lane[1] = l1;
    hs->lane[2] = l2;
    hs->lane[3] = l3;
    for (; n >= 8; p += 8, n -= 8)
        hash_word(hs, load_le64(p));
    while (n-- > 0)
        hs->pend |= (uint64_t)*p++ << (8 * hs->npend++);
}

/* The hash of everything added: the lanes, a last partial word and the length folded in. */
static uint64_t hash_value(const struct hash64 *hs)
{
    uint64_t h = FNV_OFFSET;
    for (int l = 0; l < HASH_LANES; l++)
        h = (h ^ hs->lane[l]) * FNV_PRIME;
    h = (h ^ hs->pend) * FNV_PRIME;
    return (h ^ (hs->words * 8 + hs->npend)) * FNV_PRIME;
}

/* ---- A run --------------------------------------------------------------------------------- */

/* One side: its stack, its connection, and its application's progress. */
struct side {
    struct synack_stack *s;
    int fd;                     /* the connection; -1 before accept and after close */
    int listen_fd;              /* B's listener until it has accepted; -1 otherwise */
    bool established;           /* the connection reached ESTABLISHED */
    uint64_t established_us;    /* when this side saw it */
    bool shut;                  /* this side shut its write side down */
    bool closed;                /* this side closed its descriptor */
    /* Sending (direction out = this side's index). */
    uint64_t out_bytes;         /* bytes to send */
    uint64_t out_key;           /* key of the stream sent */
    struct hash64 out_hash;     /* of the bytes sent */
    uint8_t *wbuf;              /* bytes generated, [wpos, wlen) not yet accepted by send() */
    size_t wpos, wlen;
    /* Receiving (direction in = the other side's index). */
    uint64_t in_bytes;          /* bytes expected */
    uint64_t in_key;            /* key of the stream expected */
    struct hash64 in_hash;      /* of the bytes received */
};

struct run;

/* What memnet calls for a node: the side's stack behind the storm guard. */
struct node {
    struct run *run;
    struct synack_stack *s;
};

struct run {
    const struct bulk_opts *o;
    struct node node[2];
    uint64_t packets_in;        /* packets handed to the stacks */
    uint64_t max_packets;       /* more is a storm: packets are dropped, the run fails */
    struct bulk_result *r;
    struct memnet *net;
    struct synack_config cfg[2];
    struct side side[2];
    uint8_t *rbuf, *ebuf;       /* bytes read, bytes expected */
    bool failed;
};

/* Records the first failure (printf-style); later ones are ignored. */
static void fail(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct run *run, const char *fmt, ...)
{
    if (run->failed)
        return;
    run->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->r->failure, sizeof run->r->failure, fmt, ap);
    va_end(ap);
}

static const char side_name[2] = {'A', 'B'};

/* A packet for a stack. Past max_packets the run has failed and packets are dropped, which
 * ends a storm even when it all happens at one instant of virtual time. */
static void node_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    struct node *nd = arg;
    struct run *run = nd->run;
    if (++run->packets_in > run->max_packets) {
        if (run->packets_in == run->max_packets + 1)
            fail(run, "packet storm: more than %" PRIu64 " packets at %.6f s (an ACK war?)",
                 run->max_packets, (double)now_us / 1e6);
        return;
    }
    synack_stack_input(nd->s, p, n, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    struct node *nd = arg;
    return synack_stack_poll(nd->s, now_us);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void config_for(const struct bulk_opts *o, int who, struct synack_config *cfg)
{
    synack_config_default(cfg);
    cfg->ip = who == A ? BULK_IP_A : BULK_IP_B;
    if (o->sndbuf)
        cfg->sndbuf = o->sndbuf;
    if (o->rcvbuf)
        cfg->rcvbuf = o->rcvbuf;
    if (o->mss)
        cfg->mss = o->mss;
    if (o->msl_us)
        cfg->msl_us = o->msl_us;
    cfg->user_timeout_us = o->user_timeout_us;
    /* ISN keys from the seed: reproducible runs (RFC 6528 keys are secret elsewhere). */
    uint64_t k = mix64(o->seed ^ (0x5157ull << (who * 16)));
    for (int i = 0; i < 16; i++) {
        if (i % 8 == 0)
            k = mix64(k + GOLDEN);
        cfg->isn_key[i] = (uint8_t)(k >> (8 * (i % 8)));
    }
}

/* Sets up the network, both stacks, B's listener and A's connect. false on failure. */
static bool run_setup(struct run *run)
{
    const struct bulk_opts *o = run->o;
    uint64_t total = o->both_directions ? 2 * o->bytes : o->bytes;
    run->max_packets = o->max_packets ? o->max_packets : 100 * (total / 1000) + 100000;
    run->net = memnet_new(o->seed);
    run->rbuf = malloc(BUF_BYTES);
    run->ebuf = malloc(BUF_BYTES);
    run->side[A].wbuf = malloc(BUF_BYTES);
    run->side[B].wbuf = malloc(BUF_BYTES);
    if (!run->net || !run->rbuf || !run->ebuf || !run->side[A].wbuf || !run->side[B].wbuf) {
        fail(run, "out of memory");
        return false;
    }
    int node[2] = {memnet_add_node(run->net, BULK_IP_A), memnet_add_node(run->net, BULK_IP_B)};
    if (node[A] < 0 || node[B] < 0) {
        fail(run, "out of memory");
        return false;
    }
    struct memnet_path path = {
        .delay_us = o->delay_us,
        .loss = o->loss,
        .dup = o->dup,
        .reorder = o->reorder,
        .corrupt = o->corrupt,
        .rate_bps = (uint64_t)(o->rate_mbit * 1e6 + 0.5),
    };
    for (int i = A; i <= B; i++) {
        struct side *sd = &run->side[i];
        config_for(o, i, &run->cfg[i]);
        struct synack_link link = memnet_link(run->net, node[i]);
        sd->s = synack_stack_new(&run->cfg[i], &link);
        if (!sd->s) {
            fail(run, "%c: synack_stack_new failed (bad buffer or MSS option, or no memory)",
                 side_name[i]);
            return false;
        }
        run->node[i] = (struct node){run, sd->s};
        struct memnet_node_ops ops = {&run->node[i], node_input, node_poll};
        memnet_attach(run->net, node[i], &ops);
        if (o->observer)
            synack_stack_set_observer(sd->s, o->observer, o->observer_arg);
        sd->fd = -1;
        sd->listen_fd = -1;
        hash_init(&sd->out_hash);
        hash_init(&sd->in_hash);
        /* Direction i is sent by side i: A -> B is 0, B -> A is 1. */
        uint64_t out = i == A || o->both_directions ? o->bytes : 0;
        uint64_t in = i == B || o->both_directions ? o->bytes : 0;
        sd->out_bytes = out;
        sd->in_bytes = in;
        sd->out_key = mix64(o->seed * GOLDEN + (uint64_t)i + 1);
        run->side[1 - i].in_key = sd->out_key;
    }
    memnet_set_path(run->net, BULK_IP_A, BULK_IP_B, &path);
    memnet_set_path(run->net, BULK_IP_B, BULK_IP_A, &path);
    if (o->observer)
        memnet_set_observer(run->net, o->observer, o->observer_arg);

    struct side *a = &run->side[A], *b = &run->side[B];
    struct synack_addr any = {0, BULK_PORT}, peer = {BULK_IP_B, BULK_PORT};
    int rc;
    b->listen_fd = synack_socket(b->s);
    if (b->listen_fd < 0 || (rc = synack_bind(b->s, b->listen_fd, &any)) != 0 ||
        (rc = synack_listen(b->s, b->listen_fd, 1)) != 0) {
        fail(run, "B: listen failed: %s",
             synack_strerror(b->listen_fd < 0 ? b->listen_fd : rc));
        return false;
    }
    a->fd = synack_socket(a->s);
    if (a->fd < 0 || (rc = synack_connect(a->s, a->fd, &peer)) != SYNACK_EINPROGRESS) {
        fail(run, "A: connect failed: %s", synack_strerror(a->fd < 0 ? a->fd : rc));
        return false;
    }
    return true;
}

static void run_free(struct run *run)
{
    for (int i = A; i <= B; i++) {
        synack_stack_free(run->side[i].s);
        free(run->side[i].wbuf);
    }
    memnet_free(run->net);
    free(run->rbuf);
    free(run->ebuf);
}

/* Checks n bytes just read at stream offset d->received against the stream of key. */
static void check_received(struct run *run, struct side *sd, struct bulk_dir *d, uint64_t key,
                           uint64_t expect, const uint8_t *p, size_t n, int dir)
{
    if (d->received + n > expect) {
        d->first_bad = expect;
        fail(run, "%s: %" PRIu64 " bytes received, more than the %" PRIu64 " sent",
             dir == 0 ? "A -> B" : "B -> A", d->received + n, expect);
        return;
    }
    stream_fill(key, d->received, run->ebuf, n);
    if (memcmp(p, run->ebuf, n) != 0) {
        size_t i = 0;
        while (p[i] == run->ebuf[i])
            i++;
        d->first_bad = d->received + i;
        fail(run, "%s: byte %" PRIu64 " is 0x%02x, expected 0x%02x",
             dir == 0 ? "A -> B" : "B -> A", d->first_bad, p[i], run->ebuf[i]);
    }
    hash_add(&sd->in_hash, p, n);
    d->hash_received = hash_value(&sd->in_hash);
    d->received += n;
}

/* Side i's application: everything it can do now without blocking. */
static void app_pump(struct run *run, int i)
{
    struct side *sd = &run->side[i];
    struct bulk_result *r = run->r;
    uint64_t now = memnet_now(run->net);

    if (sd->closed)
        return;
    if (sd->fd < 0) { /* B: the connection is not accepted yet */
        int fd = synack_accept(sd->s, sd->listen_fd, NULL);
        if (fd == SYNACK_EAGAIN)
            return;
        if (fd < 0) {
            fail(run, "B: accept failed: %s", synack_strerror(fd));
            return;
        }
        sd->fd = fd;
        /* One connection is all this run wants: the listener goes (its queue is empty). */
        synack_close(sd->s, sd->listen_fd);
        sd->listen_fd = -1;
    }
    int err = synack_error(sd->s, sd->fd);
    if (err != 0) {
        fail(run, "%c: connection error %s (state %s)", side_name[i], synack_strerror(err),
             synack_state_name(synack_state(sd->s, sd->fd)));
        return;
    }
    if (!sd->established) {
        if (!(synack_readiness(sd->s, sd->fd) & SYNACK_CONNECTED))
            return;
        sd->established = true;
        sd->established_us = now;
        if (i == A)
            r->established_us = now;
    }

    /* Send: generate the next bytes when the last ones were all accepted. */
    struct bulk_dir *out = &r->dir[i];
    while (out->sent < sd->out_bytes) {
        if (sd->wpos == sd->wlen) {
            uint64_t left = sd->out_bytes - out->sent;
            sd->wlen = left < BUF_BYTES ? (size_t)left : BUF_BYTES;
            sd->wpos = 0;
            stream_fill(sd->out_key, out->sent, sd->wbuf, sd->wlen);
        }
        int n = synack_send(sd->s, sd->fd, sd->wbuf + sd->wpos, sd->wlen - sd->wpos);
        if (n == SYNACK_EAGAIN)
            break;
        if (n <= 0) {
            fail(run, "%c: send failed: %s", side_name[i], synack_strerror(n));
            return;
        }
        hash_add(&sd->out_hash, sd->wbuf + sd->wpos, (size_t)n);
        out->hash_sent = hash_value(&sd->out_hash);
        sd->wpos += (size_t)n;
        out->sent += (uint64_t)n;
    }

    /* Receive, unless this is a slow reader still pausing. */
    struct bulk_dir *in = &r->dir[1 - i];
    while (!in->eof && now >= sd->established_us + run->o->read_pause_us) {
        int n = synack_recv(sd->s, sd->fd, run->rbuf, BUF_BYTES);
        if (n == SYNACK_EAGAIN)
            break;
        if (n < 0) {
            fail(run, "%c: recv failed: %s", side_name[i], synack_strerror(n));
            return;
        }
        if (n == 0) {
            in->eof = true;
            in->done_us = now;
            if (in->received != sd->in_bytes) {
                fail(run, "%s: end of file after %" PRIu64 " of %" PRIu64 " bytes",
                     i == B ? "A -> B" : "B -> A", in->received, sd->in_bytes);
                if (in->first_bad == UINT64_MAX)
                    in->first_bad = in->received;
            }
            break;
        }
        uint64_t flip = run->o->flip_byte;
        if (i == B && flip > in->received && flip <= in->received + (uint64_t)n)
            run->rbuf[flip - 1 - in->received] ^= 0x01; /* the checker's self-test */
        check_received(run, sd, in, sd->in_key, sd->in_bytes, run->rbuf, (size_t)n, 1 - i);
        if (run->failed)
            return;
    }

    /* The sender's view of its direction, while its descriptor is open. */
    struct synack_status st;
    if (sd->out_bytes > 0 && synack_status(sd->s, sd->fd, &st) == 0) {
        out->retransmits = st.retransmits;
        out->srtt_us = st.srtt_us;
        out->rto_us = st.rto_us;
    }

    /* Shut down after the last byte; with nothing to send, after the peer's end of file. */
    if (!sd->shut && out->sent == sd->out_bytes && (sd->out_bytes > 0 || in->eof)) {
        int rc = synack_shutdown(sd->s, sd->fd, SYNACK_SHUT_WR);
        if (rc != 0) {
            fail(run, "%c: shutdown failed: %s", side_name[i], synack_strerror(rc));
            return;
        }
        sd->shut = true;
    }
    if (sd->shut && in->eof) {
        int rc = synack_close(sd->s, sd->fd);
        if (rc != 0) {
            fail(run, "%c: close failed: %s", side_name[i], synack_strerror(rc));
            return;
        }
        sd->fd = -1;
        sd->closed = true;
    }
}

/* When an application wants to run next although nothing happens on the network (a slow
 * reader resuming), or UINT64_MAX. */
static uint64_t app_wakeup(const struct run *run)
{
    uint64_t t = UINT64_MAX;
    for (int i = A; i <= B; i++) {
        const struct side *sd = &run->side[i];
        if (sd->established && !sd->closed && !run->r->dir[1 - i].eof) {
            uint64_t resume = sd->established_us + run->o->read_pause_us;
            if (resume > memnet_now(run->net) && resume < t)
                t = resume;
        }
    }
    return t;
}

static const char *state_of(const struct side *sd)
{
    if (sd->closed)
        return "closed";
    if (sd->fd < 0)
        return "not accepted";
    return synack_state_name(synack_state(sd->s, sd->fd));
}

/* Runs the applications until both sides have closed their descriptors. */
static void run_data(struct run *run)
{
    const uint64_t limit = run->o->time_limit_us;
    for (;;) {
        app_pump(run, A);
        app_pump(run, B);
        if (run->failed || (run->side[A].closed && run->side[B].closed))
            return;
        uint64_t wake = app_wakeup(run);
        uint64_t step_limit = wake < limit ? wake : limit;
        if (memnet_step(run->net, step_limit)) {
            run->r->end_us = memnet_now(run->net);
            continue;
        }
        if (step_limit == limit) {
            fail(run, "%s at %.6f s: A %s, B %s, %" PRIu64 " of %" PRIu64
                 " bytes received A -> B",
                 limit == BULK_NO_LIMIT ? "stalled (nothing left to happen)"
                                        : "time limit reached",
                 (double)memnet_now(run->net) / 1e6, state_of(&run->side[A]),
                 state_of(&run->side[B]), run->r->dir[0].received, run->side[B].in_bytes);
            return;
        }
        /* The clock reached the wake-up time: the applications run again. */
    }
}

/* Runs until nothing is left to happen (TIME-WAIT, retransmitted FINs), then checks that
 * both stacks are empty and that no connection ended badly. */
static void run_close(struct run *run)
{
    struct bulk_result *r = run->r;
    while (memnet_step(run->net, run->o->time_limit_us))
        r->end_us = memnet_now(run->net);
    for (int i = A; i <= B; i++) {
        struct side *sd = &run->side[i];
        struct synack_stats *st = &r->stats[i];
        synack_stack_stats(sd->s, st);
        if (synack_stack_next_deadline(sd->s) != UINT64_MAX)
            fail(run, "%c: timers still pending at the time limit", side_name[i]);
        else if (st->conn_current != 0 || st->time_wait_current != 0 ||
                 st->sockets_current != 0 || st->buffers_current != 0)
            fail(run, "%c: not back to zero: %" PRIu64 " connections (%" PRIu64
                 " in TIME-WAIT), %" PRIu64 " sockets, %" PRIu64 " buffers", side_name[i],
                 st->conn_current, st->time_wait_current, st->sockets_current,
                 st->buffers_current);
        else if (st->conn_reset != 0 || st->conn_timeout != 0)
            fail(run, "%c: %" PRIu64 " connections reset, %" PRIu64 " timed out",
                 side_name[i], st->conn_reset, st->conn_timeout);
    }
    r->closed = !run->failed;
}

void bulk_opts_default(struct bulk_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bytes = DEFAULT_BYTES;
    o->delay_us = DEFAULT_DELAY_US;
    o->seed = 1;
    o->user_timeout_us = DEFAULT_USER_TIMEOUT_US;
    o->time_limit_us = BULK_NO_LIMIT;
}

static bool probability_ok(double p)
{
    return p >= 0 && p <= 1; /* false for NaN */
}

int bulk_run(const struct bulk_opts *o, struct bulk_result *r)
{
    memset(r, 0, sizeof *r);
    r->opts = *o;
    r->ndirs = o->both_directions ? 2 : 1;
    struct hash64 empty;
    hash_init(&empty);
    for (int d = 0; d < 2; d++) {
        r->dir[d].first_bad = UINT64_MAX;
        r->dir[d].hash_sent = hash_value(&empty);
        r->dir[d].hash_received = hash_value(&empty);
    }
    struct run run = {.o = o, .r = r};
    double wall0 = wall_seconds();

    if (o->bytes == 0 || !probability_ok(o->loss) || !probability_ok(o->reorder) ||
        !probability_ok(o->dup) || !probability_ok(o->corrupt) || !(o->rate_mbit >= 0) ||
        o->rate_mbit > MAX_RATE_MBIT) {
        fail(&run, "bad options: bytes must be >= 1, probabilities in [0, 1], rate >= 0");
    } else if (run_setup(&run)) {
        run_data(&run);
        if (!run.failed)
            run_close(&run);
    }

    r->intact = true;
    for (int d = 0; d < 2; d++) {
        uint64_t expect = d == 0 || o->both_directions ? o->bytes : 0;
        const struct bulk_dir *dir = &r->dir[d];
        if (!dir->eof || dir->received != expect || dir->first_bad != UINT64_MAX ||
            dir->hash_received != dir->hash_sent || dir->sent != expect)
            r->intact = false;
        if (dir->done_us > r->data_done_us)
            r->data_done_us = dir->done_us;
    }
    for (int i = A; i <= B; i++) {
        if (run.side[i].s) {
            synack_stack_stats(run.side[i].s, &r->stats[i]);
            r->retransmits += r->stats[i].retransmits;
            r->segments += r->stats[i].seg_out;
        }
    }
    memnet_stats(run.net, &r->net);
    if (r->intact && r->data_done_us > r->established_us) {
        double bits = (double)(r->dir[0].received + r->dir[1].received) * 8;
        r->goodput_mbit = bits / (double)(r->data_done_us - r->established_us);
    }
    run_free(&run);
    r->ok = !run.failed && r->intact && r->closed;
    r->wall_s = wall_seconds() - wall0;
    return r->ok ? 0 : -1;
}

/* ---- Summary ----------------------------------------------------------------------------- */

/* Prints a byte count with its binary unit when it is a round one ("100 MiB"). */
static void print_size(FILE *out, uint64_t n)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    uint64_t v = n;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        fprintf(out, "%" PRIu64 " bytes", n);
    else
        fprintf(out, "%" PRIu64 " %s (%" PRIu64 " bytes)", v, unit[u], n);
}

static void print_time(FILE *out, uint64_t us)
{
    fprintf(out, "%.6f s", (double)us / 1e6);
}

void bulk_print_summary(FILE *out, const struct bulk_result *r)
{
    const struct bulk_opts *o = &r->opts;
    fprintf(out, "bulk transfer: ");
    print_size(out, o->bytes);
    fprintf(out, " %s\n", o->both_directions ? "each way (A -> B and B -> A)" : "A -> B");
    fprintf(out, "  network      delay %.3f ms each way, rate ", (double)o->delay_us / 1e3);
    if (o->rate_mbit > 0)
        fprintf(out, "%g Mbit/s", o->rate_mbit);
    else
        fprintf(out, "unlimited");
    fprintf(out, ", loss %g%%, reorder %g%%, dup %g%%, corrupt %g%%, seed %" PRIu64 "\n",
            o->loss * 100, o->reorder * 100, o->dup * 100, o->corrupt * 100, o->seed);
    for (int d = 0; d < r->ndirs; d++) {
        const struct bulk_dir *dir = &r->dir[d];
        fprintf(out, "  %s       %" PRIu64 " of %" PRIu64 " bytes received", 
                d == 0 ? "A -> B" : "B -> A", dir->received, o->bytes);
        if (dir->first_bad != UINT64_MAX)
            fprintf(out, ", WRONG from byte %" PRIu64, dir->first_bad);
        else if (dir->eof && dir->received == o->bytes)
            fprintf(out, " in order, exactly once");
        fprintf(out, "; hash sent %016" PRIx64 ", received %016" PRIx64 "\n",
                dir->hash_sent, dir->hash_received);
        fprintf(out, "               retransmitted segments %" PRIu64 ", srtt %.3f ms, rto %.3f"
                " ms\n", dir->retransmits, (double)dir->srtt_us / 1e3,
                (double)dir->rto_us / 1e3);
    }
    fprintf(out, "  virtual time established ");
    print_time(out, r->established_us);
    fprintf(out, ", data done ");
    print_time(out, r->data_done_us);
    fprintf(out, ", all closed ");
    print_time(out, r->end_us);
    fprintf(out, "\n  goodput      ");
    if (r->goodput_mbit > 0)
        fprintf(out, "%.3f Mbit/s (virtual time, established to data done)\n", r->goodput_mbit);
    else
        fprintf(out, "n/a (no virtual time passed, or the data did not arrive)\n");
    fprintf(out, "  segments     %" PRIu64 " sent, %" PRIu64 " retransmitted (A %" PRIu64
            ", B %" PRIu64 ")\n", r->segments, r->retransmits, r->stats[A].retransmits,
            r->stats[B].retransmits);
    fprintf(out, "  packets      %" PRIu64 " sent, %" PRIu64 " lost, %" PRIu64 " duplicated, %"
            PRIu64 " reordered, %" PRIu64 " corrupted\n", r->net.sent, r->net.lost,
            r->net.duplicated, r->net.reordered, r->net.corrupted);
    fprintf(out, "  wall clock   %.3f s", r->wall_s);
    if (r->wall_s > 0 && r->intact)
        fprintf(out, ", %.1f Mbit/s", (double)(r->dir[0].received + r->dir[1].received) * 8 /
                                          r->wall_s / 1e6);
    fprintf(out, "\n  result       %s%s\n", r->ok ? "ok" : "FAILED: ", r->ok ? "" : r->failure);
}

/* ---- Options ----------------------------------------------------------------------------- */

const char bulk_usage_text[] =
    "  --bytes N       bulk transfer of N bytes A -> B (suffix K, M, G, T: binary units,\n"
    "                  100M = 100 MiB = 104857600 bytes), checked to the byte\n"
    "  --loss P        packet loss each way: a fraction (0.05) or a percentage (5%)\n"
    "  --reorder P     packets held back and overtaken by later ones (same syntax)\n"
    "  --dup P         packets delivered twice (same syntax)\n"
    "  --corrupt P     packets with one byte flipped (same syntax)\n"
    "  --delay MS      one-way delay in milliseconds (default 1, decimals allowed, 0..60000)\n"
    "  --rate MBIT     link rate each way in Mbit/s (default 0: unlimited)\n"
    "  --both          transfer N bytes in both directions at once\n"
    "  --sndbuf N      send buffer bytes of both stacks (suffixes as --bytes)\n"
    "  --rcvbuf N      receive buffer bytes of both stacks (suffixes as --bytes)\n";

static const struct {
    const char *name;
    int kind; /* 1 flag, 2 takes a value */
} bulk_options[] = {
    {"--bytes", 2}, {"--loss", 2},  {"--reorder", 2}, {"--dup", 2},    {"--corrupt", 2},
    {"--delay", 2}, {"--rate", 2},  {"--both", 1},    {"--sndbuf", 2}, {"--rcvbuf", 2},
};

int bulk_option_kind(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof bulk_options / sizeof bulk_options[0]; i++)
        if (strcmp(bulk_options[i].name, name) == 0)
            return bulk_options[i].kind;
    return 0;
}

bool bulk_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    int shift = 0;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return false;
    }
    if (shift) {
        p++;
        if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'b' || p[1] == 'B'))
            p += 2;
        if (*p != '\0')
            return false;
        if (v > (UINT64_MAX >> shift))
            return false;
        v <<= shift;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* A probability: "0.05" or "5%". */
static bool parse_probability(const char *s, double *out)
{
    char buf[64];
    size_t n = strlen(s);
    bool percent = n > 0 && s[n - 1] == '%';
    if (percent)
        n--;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v;
    if (!args_decimal(buf, 0.0, DBL_MAX, &v))
        return false;
    if (percent)
        v /= 100;
    if (!(v >= 0 && v <= 1))
        return false;
    *out = v;
    return true;
}

static int option_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int option_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int bulk_parse_option(struct bulk_opts *o, const char *name, const char *value, char *err,
                      size_t errlen)
{
    int kind = bulk_option_kind(name);
    if (kind == 0)
        return 0;
    if (kind == 1) { /* --both */
        o->both_directions = true;
        return 1;
    }
    if (!value)
        return option_error(err, errlen, "%s needs a value", name);
    uint64_t u;
    double d;
    if (strcmp(name, "--bytes") == 0) {
        if (!bulk_parse_size(value, MAX_BYTES, &u) || u == 0)
            return option_error(err, errlen, "--bytes: '%s' is not a size in 1..1T (digits "
                                "with an optional K, M, G or T suffix, binary units)", value);
        o->bytes = u;
    } else if (strcmp(name, "--sndbuf") == 0 || strcmp(name, "--rcvbuf") == 0) {
        if (!bulk_parse_size(value, MAX_BUF, &u) || u == 0)
            return option_error(err, errlen, "%s: '%s' is not a size in 1..1G (digits with "
                                "an optional K, M or G suffix)", name, value);
        if (name[2] == 's')
            o->sndbuf = (uint32_t)u;
        else
            o->rcvbuf = (uint32_t)u;
    } else if (strcmp(name, "--delay") == 0) {
        if (!args_decimal(value, 0.0, MAX_DELAY_MS, &d))
            return option_error(err, errlen, "--delay: '%s' is not a number of milliseconds "
                                "in 0..60000", value);
        o->delay_us = (uint64_t)(d * 1e3 + 0.5);
    } else if (strcmp(name, "--rate") == 0) {
        if (!args_decimal(value, 0.0, MAX_RATE_MBIT, &d) || (d > 0 && d < 1e-6))
            return option_error(err, errlen, "--rate: '%s' is not a number of Mbit/s in "
                                "0.000001..1000000, or 0 for unlimited", value);
        o->rate_mbit = d;
    } else {
        if (!parse_probability(value, &d))
            return option_error(err, errlen, "%s: '%s' is not a probability (a fraction in "
                                "0..1 like 0.05, or a percentage like 5%%)", name, value);
        if (strcmp(name, "--loss") == 0)
            o->loss = d;
        else if (strcmp(name, "--reorder") == 0)
            o->reorder = d;
        else if (strcmp(name, "--dup") == 0)
            o->dup = d;
        else
            o->corrupt = d;
    }
    return 1;
}
