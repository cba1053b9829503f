/*
 * synack_bench.c: the synack side of the issue 6 benchmark suite (see BENCHMARKS.md,
 * "Benchmark suite"). One workload per invocation:
 *
 *   synack_bench W1a [--bytes N]          bulk transfer, 128 KiB writes, MSS 1460
 *   synack_bench W2 --conns N             N sequential connect / 1-byte request / reply / close
 *   synack_bench W3 --conns N | --tw N    heap per idle established / TIME-WAIT connection
 *   synack_bench W4 [--rounds N]          1-byte ping-pong
 *   synack_bench W5 --others N            W4 with N other idle established connections open
 *   common: --quick (small correctness-only form), --delack-us N, --mem-limit-mib N
 *
 * Both ends are synack stacks in this process, joined by memnet with zero delay and no
 * faults. memnet's clock is driven by the real monotonic clock: every pump runs memnet up to
 * "now", so timers (delayed ACKs, retransmissions) fire in real time. At the end of a run the
 * clock is moved forward by 2 MSL (a jump, not a wait) so that TIME-WAIT ends and every
 * counter can be checked back at zero.
 *
 * Output follows the suite's contract: "RESULT <workload> synack <metric> <value> <unit>"
 * and "INFO ..." lines on stdout, progress and errors on stderr; exit 1 when a correctness
 * check fails (bytes, a failed connection, counters not back to zero, memory ran out) and 2
 * on bad usage.
 */
#define _GNU_SOURCE /* mallinfo2, clock_gettime */

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "link/memnet.h"
#include "synack.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYNACK_BENCH_HAS_ASAN 1
#endif
#endif
#ifndef SYNACK_BENCH_HAS_ASAN
#define SYNACK_BENCH_HAS_ASAN 0
#endif

#define SERVER_IP 0x0a000001u      /* 10.0.0.1 */
#define CLIENT_IP_BASE 0x0a010000u /* client k is 10.1.0.(k + 1) */
#define SERVER_PORT 5001
#define PORTS_PER_CLIENT 60000u    /* ephemeral ports used per client address (of 64,512) */
#define MAX_CLIENTS 64
#define W5_CLIENTS 18              /* W5 always spreads its others over this many clients */
#define WRITE_BYTES (128u * 1024)  /* W1a application write size */
#define BULK_BUF (1u << 20)        /* W1a send and receive buffers, bytes */
#define GOLDEN 0x9e3779b97f4a7c15ull
#define EVENT_BATCH 256
#define CONN_BATCH 256             /* connections opened at once by W3 / W5 setup */
#define CONN_TIMEOUT_US 10000000ull /* one W2 connection may take this long, then it failed */
#define SETTLE_TIMEOUT_US 30000000ull

static const char *usage_text =
    "usage: synack_bench W1a [--bytes N] [--quick]\n"
    "       synack_bench W2 --conns N [--quick]\n"
    "       synack_bench W3 (--conns N | --tw N) [--quick]\n"
    "       synack_bench W4 [--rounds N] [--quick]\n"
    "       synack_bench W5 --others N [--rounds N] [--quick]\n"
    "       synack_bench ID [--quick]   (a suite id: W2-20k, W3-est-1M, W3-tw, W5-10k, ...)\n"
    "options: --delack-us N (delayed ACK timeout, default 40000), --mem-limit-mib N\n"
    "         (address-space limit; default 3/4 of the machine's memory)\n";

/* ---- Small helpers ------------------------------------------------------------------------ */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("synack_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    exit(2);
}

/* A strict decimal count with an optional k/M/G suffix (powers of 1000; "1Gi" style is not
 * accepted). */
static uint64_t parse_count(const char *opt, const char *s)
{
    if (!s)
        die_usage("%s needs a value", opt);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || s[0] == '-')
        die_usage("%s: not a number: '%s'", opt, s);
    uint64_t mul = 1;
    if (*end == 'k')
        mul = 1000, end++;
    else if (*end == 'M')
        mul = 1000000, end++;
    else if (*end == 'G')
        mul = 1000000000, end++;
    if (*end != '\0' || v > UINT64_MAX / mul)
        die_usage("%s: not a number: '%s'", opt, s);
    return (uint64_t)v * mul;
}

/* "1k", "20k", "1M", "1500": the size part of a workload id. */
static void size_name(uint64_t n, char *buf, size_t len)
{
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(buf, len, "%" PRIu64 "M", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(buf, len, "%" PRIu64 "k", n / 1000);
    else
        snprintf(buf, len, "%" PRIu64, n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n samples, sorted in place; nearest rank. */
static uint64_t quantile(uint64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* Heap in use (arena chunks plus mmapped chunks), from glibc's mallinfo2(). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Caps the address space, so that running out of memory makes malloc fail (and the run stop
 * with a message) instead of waking the OOM killer. Not under AddressSanitizer, which
 * reserves terabytes of shadow address space. */
static void limit_memory(uint64_t mib)
{
#if defined(__SANITIZE_ADDRESS__) || SYNACK_BENCH_HAS_ASAN
    (void)mib;
#else
    if (mib == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        if (pages <= 0 || page <= 0)
            return;
        mib = (uint64_t)pages * (uint64_t)page / 4 * 3 >> 20;
    }
    struct rlimit rl = {(rlim_t)(mib << 20), (rlim_t)(mib << 20)};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        fprintf(stderr, "synack_bench: warning: cannot limit memory: %s\n", strerror(errno));
    printf("INFO address-space limit %" PRIu64 " MiB (malloc fails beyond it)\n", mib);
#endif
}

/* ---- The test bed: one server stack, some client stacks, memnet between them -------------- */

struct bed {
    struct memnet *net;
    struct synack_stack *srv;
    struct synack_stack *cli[MAX_CLIENTS];
    int ncli;
    int listen_fd;
    uint64_t t0_ns;      /* real time at the start */
    uint64_t skip_us;    /* clock jumps (TIME-WAIT expiry at the end) */
    uint64_t msl_us;
    bool failed;
    char why[256];
    /* The echo server: every byte read is sent back; EOF or an error closes. */
    uint64_t srv_accepted, srv_closed, srv_echoed;
    uint8_t *echo_buf;
    size_t echo_len;
};

static void bed_fail(struct bed *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bed_fail(struct bed *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    b->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof b->why, fmt, ap);
    va_end(ap);
}

static uint64_t bed_now(const struct bed *b)
{
    return (mono_ns() - b->t0_ns) / 1000 + b->skip_us + 1;
}

static void node_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    synack_stack_input(arg, p, n, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

struct bed_opts {
    int ncli;
    uint32_t max_conns;  /* per stack */
    uint32_t sndbuf, rcvbuf;
    uint64_t delack_us;
    bool nodelay;
};

static struct synack_stack *bed_stack(struct bed *b, uint32_t ip, const struct bed_opts *o)
{
    int node = memnet_add_node(b->net, ip);
    if (node < 0)
        return NULL;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = ip;
    cfg.delack_us = o->delack_us;
    cfg.nodelay = o->nodelay;
    if (o->sndbuf)
        cfg.sndbuf = o->sndbuf;
    if (o->rcvbuf)
        cfg.rcvbuf = o->rcvbuf;
    cfg.max_sockets = o->max_conns + 16;
    if (cfg.max_connections < o->max_conns + 16)
        cfg.max_connections = o->max_conns + 16;
    cfg.ephemeral_lo = 1024;
    cfg.ephemeral_hi = 65535;
    cfg.user_timeout_us = 3600ull * 1000000; /* a loaded machine must not time a run out */
    for (int i = 0; i < 16; i++)
        cfg.isn_key[i] = (uint8_t)(ip * 131u + (uint32_t)i * 7u);
    b->msl_us = cfg.msl_us;
    struct synack_link link = memnet_link(b->net, node);
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    if (!s)
        return NULL;
    struct memnet_node_ops ops = {s, node_input, node_poll};
    memnet_attach(b->net, node, &ops);
    return s;
}

static void bed_free(struct bed *b)
{
    synack_stack_free(b->srv);
    for (int i = 0; i < b->ncli; i++)
        synack_stack_free(b->cli[i]);
    memnet_free(b->net);
    free(b->echo_buf);
}

/* Builds the network: the server listening on SERVER_PORT and o->ncli clients. On failure
 * the bed is partly built: bed_free() takes it. */
static bool bed_init(struct bed *b, const struct bed_opts *o)
{
    memset(b, 0, sizeof *b);
    b->t0_ns = mono_ns();
    b->listen_fd = -1;
    b->echo_len = 64 * 1024;
    b->echo_buf = malloc(b->echo_len);
    b->net = memnet_new(1);
    if (!b->net || !b->echo_buf || o->ncli > MAX_CLIENTS)
        return false;
    b->srv = bed_stack(b, SERVER_IP, o);
    if (!b->srv)
        return false;
    for (b->ncli = 0; b->ncli < o->ncli; b->ncli++) {
        b->cli[b->ncli] = bed_stack(b, CLIENT_IP_BASE + (uint32_t)b->ncli + 1, o);
        if (!b->cli[b->ncli])
            return false;
    }
    struct synack_addr any = {0, SERVER_PORT};
    b->listen_fd = synack_socket(b->srv);
    if (b->listen_fd < 0 || synack_bind(b->srv, b->listen_fd, &any) != 0 ||
        synack_listen(b->srv, b->listen_fd, 4096) != 0)
        return false;
    return true;
}

/* Runs the network up to the real time now: every packet sent so far is delivered (zero
 * delay), every due timer fires. */
static void pump(struct bed *b)
{
    memnet_run_until(b->net, bed_now(b));
}

/* Echoes what connection fd of the server has to read; closes it at EOF or on an error. */
static void echo_fd(struct bed *b, int fd)
{
    int r;
    while ((r = synack_recv(b->srv, fd, b->echo_buf, b->echo_len)) > 0) {
        int w = synack_send(b->srv, fd, b->echo_buf, (size_t)r);
        if (w != r) {
            bed_fail(b, "server: echo of %d bytes sent %d", r, w);
            return;
        }
        b->srv_echoed += (uint64_t)r;
    }
    if (r == 0 || r != SYNACK_EAGAIN) {
        if (r < 0 && r != SYNACK_EBADF)
            bed_fail(b, "server: recv: %s", synack_strerror(r));
        if (r != SYNACK_EBADF) {
            synack_close(b->srv, fd);
            b->srv_closed++;
        }
    }
}

/* The echo server's work after a pump: accept, echo, close at EOF or error. A connection
 * is served as soon as it is accepted: its request may have come with the handshake. */
static void serve(struct bed *b)
{
    struct synack_sock_event ev[EVENT_BATCH];
    int n;
    while ((n = synack_events(b->srv, ev, EVENT_BATCH)) > 0) {
        for (int i = 0; i < n; i++) {
            int fd = ev[i].fd;
            if (fd == b->listen_fd) {
                int c;
                while ((c = synack_accept(b->srv, fd, NULL)) >= 0) {
                    b->srv_accepted++;
                    echo_fd(b, c);
                }
                if (c != SYNACK_EAGAIN)
                    bed_fail(b, "server: accept: %s", synack_strerror(c));
            } else if (ev[i].mask & (SYNACK_READABLE | SYNACK_ERROR | SYNACK_TERMINATED)) {
                echo_fd(b, fd);
            }
        }
    }
}

/* Drops the readiness events of the client stacks (their sockets are driven directly). */
static void drain_client_events(struct bed *b)
{
    struct synack_sock_event ev[EVENT_BATCH];
    for (int i = 0; i < b->ncli; i++)
        while (synack_events(b->cli[i], ev, EVENT_BATCH) == EVENT_BATCH)
            ;
}

static void sum_stats(struct bed *b, struct synack_stats *tot)
{
    memset(tot, 0, sizeof *tot);
    for (int i = -1; i < b->ncli; i++) {
        struct synack_stats st;
        synack_stack_stats(i < 0 ? b->srv : b->cli[i], &st);
        tot->conn_current += st.conn_current;
        tot->time_wait_current += st.time_wait_current;
        tot->sockets_current += st.sockets_current;
        tot->retransmits += st.retransmits;
        tot->conn_reset += st.conn_reset;
        tot->conn_timeout += st.conn_timeout;
        tot->drops[SYNACK_DROP_NO_MEMORY] += st.drops[SYNACK_DROP_NO_MEMORY];
    }
}

/* Pumps and serves until the server has closed `want` connections or the timeout. */
static bool settle_closed(struct bed *b, uint64_t want)
{
    uint64_t deadline = bed_now(b) + SETTLE_TIMEOUT_US;
    while (b->srv_closed < want && !b->failed && bed_now(b) < deadline) {
        pump(b);
        serve(b);
        drain_client_events(b);
    }
    return b->srv_closed >= want;
}

/* The end of every run: jump the clock past TIME-WAIT, close the listener, and check that
 * every connection and descriptor is gone and nothing was lost. Returns false (with
 * b->why) if not. */
static bool bed_finish(struct bed *b)
{
    b->skip_us += 2 * b->msl_us + 1000000;
    pump(b);
    serve(b);
    drain_client_events(b);
    synack_close(b->srv, b->listen_fd);
    b->listen_fd = -1;
    pump(b);
    struct synack_stats st;
    sum_stats(b, &st);
    struct memnet_stats ms;
    memnet_stats(b->net, &ms);
    if (!b->failed && (st.conn_current || st.time_wait_current || st.sockets_current))
        bed_fail(b, "counters not back to zero: %" PRIu64 " connections (%" PRIu64
                    " TIME-WAIT), %" PRIu64 " descriptors left",
                 st.conn_current, st.time_wait_current, st.sockets_current);
    if (!b->failed && (ms.lost || ms.unroutable))
        bed_fail(b, "memnet lost %" PRIu64 " and could not route %" PRIu64 " packets",
                 ms.lost, ms.unroutable);
    if (!b->failed && (st.conn_reset || st.conn_timeout))
        bed_fail(b, "%" PRIu64 " connections reset, %" PRIu64 " timed out", st.conn_reset,
                 st.conn_timeout);
    printf("INFO counters at the end (all stacks): %" PRIu64 " connections, %" PRIu64
           " TIME-WAIT, %" PRIu64 " descriptors\n",
           st.conn_current, st.time_wait_current, st.sockets_current);
    return !b->failed;
}

static void progress(const char *what, uint64_t done, uint64_t total, uint64_t *last_ns)
{
    uint64_t t = mono_ns();
    if (t - *last_ns < 1000000000ull)
        return;
    *last_ns = t;
    fprintf(stderr, "%s: %" PRIu64 " / %" PRIu64 " (%.0f%%)\n", what, done, total,
            100.0 * (double)done / (double)total);
}

struct opts {
    const char *workload;
    const char *id;      /* the suite's workload id when given as one (W2-20k), else NULL */
    uint64_t bytes, conns, tw, rounds, others, delack_us, mem_mib;
    bool quick, have_conns, have_tw, have_rounds, have_others, have_bytes;
};

static struct bed_opts base_opts(const struct opts *o, int ncli, uint64_t conns)
{
    struct bed_opts bo = {.ncli = ncli, .max_conns = (uint32_t)conns, .delack_us = o->delack_us,
                          .nodelay = true};
    return bo;
}

static int clients_for(uint64_t conns)
{
    return (int)((conns + PORTS_PER_CLIENT - 1) / PORTS_PER_CLIENT) + (conns == 0);
}

static void print_config(const struct opts *o, const struct bed *b)
{
    printf("INFO synack in-process over memnet (zero delay, no loss), real monotonic clock; "
           "MSS 1460, delayed ACK %" PRIu64 " us, Nagle off, %d client stack(s), 1 server "
           "stack%s\n",
           o->delack_us, b->ncli, o->quick ? "; --quick (correctness form)" : "");
}

static int report_failure(const char *wl, struct bed *b)
{
    fprintf(stderr, "synack_bench %s: FAILED: %s\n", wl, b->why);
    bed_free(b);
    return 1;
}

/* ---- W1a: bulk transfer ------------------------------------------------------------------- */

/* The stream: word i (bytes 8i .. 8i + 7, native order) is i * GOLDEN + 1. Cheap to make and
 * check, and no two words are equal, so misplaced data never verifies. */
static inline uint64_t pattern_word(uint64_t i)
{
    return i * GOLDEN + 1;
}

static void pattern_fill(uint8_t *buf, uint64_t off, size_t n)
{
    /* off and n are multiples of 8 for the writer (128 KiB writes). */
    uint64_t w = off / 8;
    for (size_t i = 0; i < n; i += 8, w++) {
        uint64_t v = pattern_word(w);
        memcpy(buf + i, &v, 8);
    }
}

/* Checks n bytes received at stream offset off; returns the offset of the first wrong byte
 * or UINT64_MAX. */
static uint64_t pattern_check(const uint8_t *p, uint64_t off, size_t n)
{
    size_t i = 0;
    while (i < n && (off + i) % 8 != 0) { /* ragged head */
        uint64_t v = pattern_word((off + i) / 8);
        if (p[i] != ((const uint8_t *)&v)[(off + i) % 8])
            return off + i;
        i++;
    }
    uint64_t w = (off + i) / 8;
    for (; i + 8 <= n; i += 8, w++) {
        uint64_t got;
        memcpy(&got, p + i, 8);
        if (got != pattern_word(w))
            break;
    }
    for (; i < n; i++) { /* ragged tail, or the word that did not match */
        uint64_t v = pattern_word((off + i) / 8);
        if (p[i] != ((const uint8_t *)&v)[(off + i) % 8])
            return off + i;
    }
    return UINT64_MAX;
}

/* A W1a run: the client's connection, the server's, and how far each got. */
struct bulk {
    struct bed *b;
    struct synack_stack *c;   /* the client stack */
    int fd, sfd;              /* client and server descriptors (sfd -1 until accepted) */
    uint64_t total, sent, recvd;
    uint8_t *wbuf, *rbuf;     /* application buffers of WRITE_BYTES */
    size_t wpos;              /* bytes of wbuf already accepted by send() */
    uint64_t check_ns;        /* time spent making and checking the pattern */
};

/* The client application: keeps the send buffer full, one 128 KiB buffer at a time. */
static void bulk_write(struct bulk *k)
{
    while (k->sent < k->total) {
        if (k->wpos == WRITE_BYTES) {
            uint64_t t = mono_ns();
            pattern_fill(k->wbuf, k->sent, WRITE_BYTES);
            k->check_ns += mono_ns() - t;
            k->wpos = 0;
        }
        size_t want = WRITE_BYTES - k->wpos;
        if (want > k->total - k->sent)
            want = (size_t)(k->total - k->sent);
        int w = synack_send(k->c, k->fd, k->wbuf + k->wpos, want);
        if (w == SYNACK_EAGAIN)
            return;
        if (w < 0) {
            bed_fail(k->b, "client send: %s", synack_strerror(w));
            return;
        }
        k->sent += (uint64_t)w;
        k->wpos += (size_t)w;
    }
}

/* The server application: accepts once, then reads and checks everything there is. */
static void bulk_read(struct bulk *k)
{
    struct bed *b = k->b;
    if (k->sfd < 0) {
        k->sfd = synack_accept(b->srv, b->listen_fd, NULL);
        if (k->sfd < 0 && k->sfd != SYNACK_EAGAIN)
            bed_fail(b, "accept: %s", synack_strerror(k->sfd));
    }
    int r;
    while (k->sfd >= 0 && (r = synack_recv(b->srv, k->sfd, k->rbuf, WRITE_BYTES)) > 0) {
        uint64_t t = mono_ns();
        uint64_t bad = pattern_check(k->rbuf, k->recvd, (size_t)r);
        k->check_ns += mono_ns() - t;
        if (bad != UINT64_MAX || k->recvd + (uint64_t)r > k->total) {
            bed_fail(b, "byte %" PRIu64 " received is wrong (or past the end)", bad);
            return;
        }
        k->recvd += (uint64_t)r;
    }
}

/* Both applications until every byte is acknowledged and read; returns when the final byte
 * was acknowledged (0 on failure). */
static uint64_t bulk_transfer(struct bulk *k)
{
    uint64_t end_ns = 0, last = mono_ns();
    while (!k->b->failed && (end_ns == 0 || k->recvd < k->total)) {
        bulk_write(k);
        pump(k->b);
        bulk_read(k);
        struct synack_status st;
        if (end_ns == 0 && k->sent == k->total && synack_status(k->c, k->fd, &st) == 0 &&
            st.send_queued == 0)
            end_ns = mono_ns();
        progress("W1a bytes received", k->recvd, k->total, &last);
    }
    return k->b->failed ? 0 : end_ns;
}

/* The client closes; the server reads its EOF (nothing more may come) and closes. */
static void bulk_close(struct bulk *k)
{
    struct bed *b = k->b;
    synack_close(k->c, k->fd);
    uint64_t deadline = bed_now(b) + SETTLE_TIMEOUT_US;
    int r;
    while ((r = synack_recv(b->srv, k->sfd, k->rbuf, WRITE_BYTES)) != 0) {
        if (r > 0 || bed_now(b) > deadline) {
            bed_fail(b, r > 0 ? "data past the end" : "no end of file from the client");
            break;
        }
        pump(b);
    }
    synack_close(b->srv, k->sfd);
    if (k->recvd != k->total)
        bed_fail(b, "received %" PRIu64 " of %" PRIu64 " bytes", k->recvd, k->total);
}

static int run_w1a(const struct opts *o)
{
    struct bed b;
    struct bulk k = {.b = &b, .sfd = -1, .wpos = WRITE_BYTES};
    k.total = o->have_bytes ? o->bytes : o->quick ? 16ull << 20 : 1ull << 30;
    struct bed_opts bo = base_opts(o, 1, 16);
    bo.sndbuf = BULK_BUF;
    bo.rcvbuf = BULK_BUF;
    k.wbuf = malloc(WRITE_BYTES);
    k.rbuf = malloc(WRITE_BYTES);
    bool ok = bed_init(&b, &bo) && k.wbuf && k.rbuf;
    if (ok) {
        print_config(o, &b);
        printf("INFO W1a %" PRIu64 " bytes, writes of %u bytes, send/receive buffers %u bytes, "
               "every byte checked against the pattern\n", k.total, WRITE_BYTES, BULK_BUF);
    } else {
        bed_fail(&b, "setup failed (out of memory?)");
    }
    k.c = b.cli[0];
    uint64_t start = mono_ns(), end_ns = 0;
    static const struct synack_addr peer = {SERVER_IP, SERVER_PORT};
    if (ok && ((k.fd = synack_socket(k.c)) < 0 ||
               synack_connect(k.c, k.fd, &peer) != SYNACK_EINPROGRESS))
        bed_fail(&b, "connect failed");
    if (!b.failed)
        end_ns = bulk_transfer(&k);
    double wall = (double)(mono_ns() - start) / 1e9;
    if (!b.failed)
        bulk_close(&k);
    free(k.wbuf);
    free(k.rbuf);
    if (b.failed || !bed_finish(&b))
        return report_failure("W1a", &b);
    /* Goodput: connect to the final byte acknowledged. */
    double secs = (double)(end_ns - start) / 1e9;
    printf("INFO W1a all %" PRIu64 " bytes verified; pattern generation and check took "
           "%.1f%% of the wall time\n", k.total, 100.0 * (double)k.check_ns / 1e9 / wall);
    printf("RESULT W1a synack goodput %.2f Gb/s\n", (double)k.total * 8 / secs / 1e9);
    bed_free(&b);
    return 0;
}

/* ---- W2: connection rate ------------------------------------------------------------------ */

/* One connection of W2: connect, 1-byte request, 1-byte reply, close. Returns 0, or the
 * error that failed it (printed; the run goes on unless memory ran out). */
static int one_exchange(struct bed *b, struct synack_stack *c, uint64_t i)
{
    static const struct synack_addr peer = {SERVER_IP, SERVER_PORT};
    uint64_t deadline = bed_now(b) + CONN_TIMEOUT_US;
    int fd = synack_socket(c), rc = 0;
    if (fd < 0) {
        fprintf(stderr, "W2: connection %" PRIu64 ": socket: %s\n", i, synack_strerror(fd));
        return fd;
    }
    rc = synack_connect(c, fd, &peer);
    if (rc != SYNACK_EINPROGRESS)
        goto failed;
    uint8_t req = (uint8_t)(i * 7 + 1), rep = 0;
    rc = synack_send(c, fd, &req, 1); /* queued in SYN-SENT, sent once established */
    if (rc != 1)
        goto failed;
    for (;;) {
        pump(b);
        serve(b);
        rc = synack_recv(c, fd, &rep, 1);
        if (rc == 1)
            break;
        if (rc != SYNACK_EAGAIN)
            goto failed;
        if (bed_now(b) > deadline) {
            rc = SYNACK_ETIMEDOUT;
            goto failed;
        }
    }
    synack_close(c, fd);
    if (rep != req) {
        fprintf(stderr, "W2: connection %" PRIu64 ": reply 0x%02x, expected 0x%02x\n", i, rep,
                req);
        return SYNACK_EINVAL;
    }
    return 0;
failed:
    fprintf(stderr, "W2: connection %" PRIu64 " failed: %s\n", i,
            rc ? synack_strerror(rc) : "no reply");
    synack_abort(c, fd);
    return rc ? rc : SYNACK_EINVAL;
}

static int run_w2(const struct opts *o)
{
    uint64_t n = o->quick && !o->have_conns ? 1000 : o->conns;
    char id[48], sz[24];
    size_name(n, sz, sizeof sz);
    snprintf(id, sizeof id, "W2-%s", sz);
    if (o->id)
        snprintf(id, sizeof id, "%s", o->id);
    uint64_t *lat = malloc((size_t)n * sizeof *lat);
    struct bed b;
    struct bed_opts bo = base_opts(o, clients_for(n), PORTS_PER_CLIENT);
    if (!bed_init(&b, &bo) || !lat) {
        free(lat);
        bed_fail(&b, "setup failed (out of memory?)");
        return report_failure(id, &b);
    }
    print_config(o, &b);
    printf("INFO %s %" PRIu64 " sequential connections, each connect + 1-byte request + 1-byte "
           "reply + client close; latency from socket() to close() after the reply; TIME-WAIT %" PRIu64
           " s piles up on %d client addresses\n", id, n, 2 * b.msl_us / 1000000, b.ncli);
    uint64_t failures = 0, done = 0, last = mono_ns(), start = mono_ns();
    for (; done < n && !b.failed; done++) {
        struct synack_stack *c = b.cli[done / PORTS_PER_CLIENT];
        uint64_t t = mono_ns();
        int rc = one_exchange(&b, c, done);
        lat[done] = mono_ns() - t;
        struct synack_stats st;
        synack_stack_stats(c, &st);
        if (rc == SYNACK_ENOMEM || st.drops[SYNACK_DROP_NO_MEMORY] != 0) {
            sum_stats(&b, &st);
            bed_fail(&b, "out of memory after %" PRIu64 " connections (%" PRIu64
                         " in TIME-WAIT)", done, st.time_wait_current);
        }
        else if (rc != 0 && ++failures > 100)
            bed_fail(&b, "stopped after %" PRIu64 " failed connections", failures);
        progress(id, done + 1, n, &last);
    }
    /* The rate counts until the server has closed every connection too. */
    if (!b.failed)
        settle_closed(&b, n);
    double secs = (double)(mono_ns() - start) / 1e9;
    if (b.srv_closed != n && !b.failed)
        bed_fail(&b, "the server closed %" PRIu64 " of %" PRIu64 " connections", b.srv_closed,
                 n);
    if (failures)
        bed_fail(&b, "%" PRIu64 " connections failed", failures);
    /* A failed run prints no figures: they would describe a different workload. */
    if (!bed_finish(&b)) {
        free(lat);
        return report_failure(id, &b);
    }
    printf("RESULT %s synack rate %.0f conn/s\n", id, (double)n / secs);
    printf("RESULT %s synack p50 %.1f us\n", id, (double)quantile(lat, n, 0.50) / 1e3);
    printf("RESULT %s synack p99 %.1f us\n", id, (double)quantile(lat, n, 0.99) / 1e3);
    printf("RESULT %s synack failures %" PRIu64 " conn\n", id, failures);
    free(lat);
    bed_free(&b);
    return 0;
}

/* ---- Opening many idle connections (W3, W5) ----------------------------------------------- */

/* Opens n connections from the clients (round robin) to the server and waits until all are
 * established and accepted. fds[i] gets the client descriptor of connection i. */
static bool open_idle(struct bed *b, uint64_t n, int *fds, const char *what)
{
    static const struct synack_addr peer = {SERVER_IP, SERVER_PORT};
    uint64_t want = b->srv_accepted + n, last = mono_ns();
    for (uint64_t i = 0; i < n && !b->failed;) {
        uint64_t batch_end = i + CONN_BATCH < n ? i + CONN_BATCH : n;
        for (; i < batch_end; i++) {
            struct synack_stack *c = b->cli[i % (uint64_t)b->ncli];
            int fd = synack_socket(c), rc = 0;
            if (fd < 0 || (rc = synack_connect(c, fd, &peer)) != SYNACK_EINPROGRESS) {
                bed_fail(b, "connection %" PRIu64 ": %s", i, synack_strerror(fd < 0 ? fd : rc));
                return false;
            }
            fds[i] = fd;
        }
        uint64_t deadline = bed_now(b) + SETTLE_TIMEOUT_US;
        while (b->srv_accepted < want - (n - i) && !b->failed) {
            pump(b);
            serve(b);
            drain_client_events(b);
            struct synack_stats st;
            sum_stats(b, &st);
            if (st.drops[SYNACK_DROP_NO_MEMORY] != 0) {
                bed_fail(b, "out of memory after %" PRIu64 " connections (a SYN was "
                            "dropped for want of memory)", b->srv_accepted);
                return false;
            }
            if (bed_now(b) > deadline) {
                bed_fail(b, "connections not established in %llu s",
                         SETTLE_TIMEOUT_US / 1000000);
                return false;
            }
        }
        progress(what, i, n, &last);
    }
    return !b->failed;
}

/* Closes the connections of fds (client first) and waits for the server to close its ends. */
static void close_all(struct bed *b, const int *fds, uint64_t n)
{
    uint64_t want = b->srv_closed + n;
    for (uint64_t i = 0; i < n; i++)
        synack_close(b->cli[i % (uint64_t)b->ncli], fds[i]);
    if (!settle_closed(b, want))
        bed_fail(b, "the server closed %" PRIu64 " of %" PRIu64 " connections",
                 b->srv_closed - (want - n), n);
}

/* ---- W3: memory per connection ------------------------------------------------------------ */

static int run_w3(const struct opts *o)
{
    bool tw = o->have_tw;
    uint64_t n = tw ? o->tw : o->conns;
    if (o->quick && !o->have_conns && !o->have_tw)
        n = 1000;
    char id[48], sz[24];
    size_name(n, sz, sizeof sz);
    snprintf(id, sizeof id, tw ? "W3-tw" : "W3-est-%s", sz);
    if (o->id)
        snprintf(id, sizeof id, "%s", o->id);
    int *fds = malloc((size_t)(n + CONN_BATCH) * sizeof *fds);
    struct bed b;
    struct bed_opts bo = base_opts(o, clients_for(n + CONN_BATCH), (uint32_t)(n + CONN_BATCH));
    if (!bed_init(&b, &bo) || !fds) {
        free(fds);
        bed_fail(&b, "setup failed (out of memory?)");
        return report_failure(id, &b);
    }
    print_config(o, &b);
    /* A warm-up batch first: memnet's packet pool and the stacks' tables reach their working
     * size, so the growth measured after it is the connections' own. */
    int warm[CONN_BATCH];
    if (!open_idle(&b, CONN_BATCH, warm, id))
        goto fail;
    close_all(&b, warm, CONN_BATCH);
    uint64_t tw_expected = n + CONN_BATCH;
    if (tw) {
        /* A TIME-WAIT connection holds no descriptor, and the descriptor and connection
         * tables never shrink: a full-size rehearsal (N connections opened, closed and
         * expired) grows them first, so the growth measured next is the TIME-WAIT records'
         * own, not the tables' high-water mark from when the connections were open. */
        if (!open_idle(&b, n, fds, id))
            goto fail;
        close_all(&b, fds, n);
        b.skip_us += 2 * b.msl_us + 1000000;
        pump(&b);
        tw_expected = n;
    }
    size_t before = heap_in_use();
    if (!open_idle(&b, n, fds, id))
        goto fail;
    if (tw)
        close_all(&b, fds, n);
    pump(&b);
    size_t after = heap_in_use();
    struct synack_stats st;
    sum_stats(&b, &st);
    if (tw && st.time_wait_current != tw_expected)
        bed_fail(&b, "%" PRIu64 " connections in TIME-WAIT, expected %" PRIu64,
                 st.time_wait_current, tw_expected);
    if (!tw && st.conn_current != 2 * n + CONN_BATCH)
        bed_fail(&b, "%" PRIu64 " connections in the tables, expected %" PRIu64,
                 st.conn_current, 2 * n + CONN_BATCH);
    if (b.failed)
        goto fail;
    double growth = (double)after - (double)before;
    if (tw) {
        printf("INFO %s heap growth (glibc mallinfo2: in-use arena + mmapped bytes) for %" PRIu64
               " connections in TIME-WAIT on the clients (the server ends are closed), "
               "divided by %" PRIu64 "; measured after a full-size rehearsal grew the "
               "descriptor and connection tables\n", id, n, n);
        printf("RESULT %s synack per_conn %.0f B\n", id, growth / (double)n);
    } else {
        printf("INFO %s heap growth (glibc mallinfo2: in-use arena + mmapped bytes) for %" PRIu64
               " idle established connections; both ends are synack, so per_conn is per "
               "connection endpoint: growth / %" PRIu64 "\n", id, n, 2 * n);
        printf("RESULT %s synack per_conn %.0f B\n", id, growth / (double)(2 * n));
        close_all(&b, fds, n);
    }
    printf("RESULT %s synack total %.1f MiB\n", id, growth / 1048576.0);
    if (!bed_finish(&b))
        goto fail;
    free(fds);
    bed_free(&b);
    return 0;
fail:
    free(fds);
    return report_failure(id, &b);
}

/* ---- W4 / W5: ping-pong ------------------------------------------------------------------- */

/* rounds 1-byte round trips on connection fd of client c; fills lat (ns) and the time. */
static bool ping_pong(struct bed *b, struct synack_stack *c, int fd, uint64_t rounds,
                      uint64_t *lat, double *secs, const char *what)
{
    uint64_t start = mono_ns(), last = start;
    for (uint64_t i = 0; i < rounds && !b->failed; i++) {
        uint64_t t = mono_ns();
        uint8_t ping = (uint8_t)(i * 13 + 5), pong = 0;
        int rc = synack_send(c, fd, &ping, 1);
        if (rc != 1) {
            bed_fail(b, "%s: send: %s", what, synack_strerror(rc));
            break;
        }
        uint64_t deadline = bed_now(b) + CONN_TIMEOUT_US;
        while ((rc = synack_recv(c, fd, &pong, 1)) == SYNACK_EAGAIN && bed_now(b) < deadline) {
            pump(b);
            serve(b);
        }
        if (rc != 1 || pong != ping) {
            bed_fail(b, "%s: round trip %" PRIu64 ": %s", what, i,
                     rc == 1 ? "wrong byte echoed" : synack_strerror(rc));
            break;
        }
        lat[i] = mono_ns() - t;
        if ((i & 1023) == 0)
            progress(what, i, rounds, &last);
    }
    *secs = (double)(mono_ns() - start) / 1e9;
    return !b->failed;
}

static int run_w45(const struct opts *o, bool w5)
{
    uint64_t rounds = o->have_rounds ? o->rounds : o->quick ? 10000 : w5 ? 200000 : 1000000;
    uint64_t others = w5 ? (o->quick && !o->have_others ? 1000 : o->others) : 0;
    char id[48], sz[24];
    size_name(others, sz, sizeof sz);
    snprintf(id, sizeof id, w5 ? "W5-%s" : "W4", sz);
    if (o->id)
        snprintf(id, sizeof id, "%s", o->id);
    uint64_t *lat = malloc((size_t)rounds * sizeof *lat);
    int *fds = malloc((size_t)(others + 1) * sizeof *fds);
    struct bed b;
    /* W5 spreads its others over the same number of clients at every N, so that only the
     * number of connections differs between W5-10 and W5-1M. */
    struct bed_opts bo = base_opts(o, w5 ? W5_CLIENTS : 1, (uint32_t)(others + 16));
    if (!bed_init(&b, &bo) || !lat || !fds) {
        free(lat);
        free(fds);
        bed_fail(&b, "setup failed (out of memory?)");
        return report_failure(id, &b);
    }
    print_config(o, &b);
    printf("INFO %s %" PRIu64 " round trips of 1 byte each way on one connection%s%" PRIu64
           " other idle established connections\n", id, rounds, w5 ? ", with " : "; ", others);
    double secs = 0;
    int fd = -1;
    if (others && !open_idle(&b, others, fds, id))
        goto fail;
    if (!open_idle(&b, 1, &fd, id))
        goto fail;
    if (!ping_pong(&b, b.cli[0], fd, rounds, lat, &secs, id))
        goto fail;
    synack_close(b.cli[0], fd);
    if (others)
        close_all(&b, fds, others);
    settle_closed(&b, b.srv_accepted);
    if (!bed_finish(&b))
        goto fail;
    printf("RESULT %s synack tps %.0f trans/s\n", id, (double)rounds / secs);
    if (w5)
        printf("RESULT %s synack per_rt %.0f ns\n", id, secs * 1e9 / (double)rounds);
    printf("RESULT %s synack p50 %.2f us\n", id, (double)quantile(lat, rounds, 0.50) / 1e3);
    printf("RESULT %s synack p99 %.2f us\n", id, (double)quantile(lat, rounds, 0.99) / 1e3);
    free(lat);
    free(fds);
    bed_free(&b);
    return 0;
fail:
    free(lat);
    free(fds);
    return report_failure(id, &b);
}

/* ---- Command line ------------------------------------------------------------------------- */

static void parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->delack_us = 40000;
    if (argc < 2)
        die_usage("no workload given");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, stdout);
        exit(0);
    }
    o->workload = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            o->quick = true;
            continue;
        }
        if (!strcmp(a, "--bytes"))
            o->bytes = parse_count(a, v), o->have_bytes = true;
        else if (!strcmp(a, "--conns"))
            o->conns = parse_count(a, v), o->have_conns = true;
        else if (!strcmp(a, "--tw"))
            o->tw = parse_count(a, v), o->have_tw = true;
        else if (!strcmp(a, "--rounds"))
            o->rounds = parse_count(a, v), o->have_rounds = true;
        else if (!strcmp(a, "--others"))
            o->others = parse_count(a, v), o->have_others = true;
        else if (!strcmp(a, "--delack-us"))
            o->delack_us = parse_count(a, v);
        else if (!strcmp(a, "--mem-limit-mib"))
            o->mem_mib = parse_count(a, v);
        else
            die_usage("unknown option '%s'", a);
        i++;
    }
}

/* The size in a workload id ("20k" of W2-20k); 0 if it is not one. */
static uint64_t id_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s < '0' || *s > '9')
        return 0;
    uint64_t mul = !strcmp(end, "k") ? 1000 : !strcmp(end, "M") ? 1000000 : *end ? 0 : 1;
    return (uint64_t)v * mul;
}

/* A suite workload id (W2-20k, W3-est-1M, W3-tw, W5-10k), as the runner gives it to every
 * implementation, becomes the workload and its size. Under --quick the size is capped at
 * the quick form's (1000) and the id printed stays the one asked for. */
static void parse_id(struct opts *o)
{
    const char *w = o->workload;
    uint64_t n = 0, *dst = NULL;
    bool *have = NULL;
    if (!strncmp(w, "W2-", 3))
        n = id_size(w + 3), dst = &o->conns, have = &o->have_conns, o->workload = "W2";
    else if (!strncmp(w, "W3-est-", 7))
        n = id_size(w + 7), dst = &o->conns, have = &o->have_conns, o->workload = "W3";
    else if (!strcmp(w, "W3-tw"))
        n = 10000, dst = &o->tw, have = &o->have_tw, o->workload = "W3";
    else if (!strncmp(w, "W5-", 3))
        n = id_size(w + 3), dst = &o->others, have = &o->have_others, o->workload = "W5";
    else
        return;
    if (n == 0)
        die_usage("bad workload id '%s'", w);
    if (*have)
        die_usage("%s already gives the size", w);
    o->id = w;
    *dst = o->quick && n > 1000 ? 1000 : n;
    *have = true;
}

/* Which options each workload takes, and the required ones. */
static void validate(const struct opts *o)
{
    const char *w = o->workload;
    bool w1 = !strcmp(w, "W1a"), w2 = !strcmp(w, "W2"), w3 = !strcmp(w, "W3"),
         w4 = !strcmp(w, "W4"), w5 = !strcmp(w, "W5");
    if (!w1 && !w2 && !w3 && !w4 && !w5)
        die_usage("unknown workload '%s' (W1a, W2, W3, W4 or W5)", w);
    if ((o->have_bytes && !w1) || (o->have_conns && !w2 && !w3) || (o->have_tw && !w3) ||
        (o->have_rounds && !w4 && !w5) || (o->have_others && !w5))
        die_usage("option not valid for %s", w);
    if (w1 && o->have_bytes && (o->bytes == 0 || o->bytes > (1ull << 40)))
        die_usage("--bytes must be 1 .. 2^40");
    if (w2 && !o->have_conns && !o->quick)
        die_usage("W2 needs --conns N");
    if (w3 && o->have_conns == o->have_tw && !(o->quick && !o->have_conns))
        die_usage("W3 needs exactly one of --conns N and --tw N");
    if (w5 && !o->have_others && !o->quick)
        die_usage("W5 needs --others N");
    uint64_t max_conns = (uint64_t)PORTS_PER_CLIENT * (MAX_CLIENTS - 1);
    if ((o->have_conns && (o->conns == 0 || o->conns > max_conns)) ||
        (o->have_tw && (o->tw == 0 || o->tw > max_conns)) ||
        (o->have_others && o->others >= (uint64_t)PORTS_PER_CLIENT * W5_CLIENTS))
        die_usage("connection count out of range (1 .. %" PRIu64 "; W5: .. %" PRIu64 ")",
                  max_conns, (uint64_t)PORTS_PER_CLIENT * W5_CLIENTS - 1);
    if (o->have_rounds && (o->rounds == 0 || o->rounds > 1000000000))
        die_usage("--rounds must be 1 .. 10^9");
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    parse_id(&o);
    validate(&o);
    setvbuf(stdout, NULL, _IOLBF, 0);
    limit_memory(o.mem_mib);
    const char *w = o.workload;
    if (!strcmp(w, "W1a"))
        return run_w1a(&o);
    if (!strcmp(w, "W2"))
        return run_w2(&o);
    if (!strcmp(w, "W3"))
        return run_w3(&o);
    return run_w45(&o, !strcmp(w, "W5"));
}
