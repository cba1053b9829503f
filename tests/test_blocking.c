/*
 * test_blocking.c: the blocking API (include/synack_blocking.h) over memnet, with real
 * threads: echo, concurrent clients, every kind of timeout, refusal, wake-ups on close and
 * stop, flow control, path delay, and that a blocked call does not spin.
 *
 * Each test builds a fresh network: host A 10.0.0.1 (clients) and host B 10.0.0.2
 * (servers), run by one runner thread in step with real time.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"
#include "synack_blocking.h"

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
#define PORT 7000
#define MS 1000ull       /* microseconds in a millisecond */

struct net {
    struct synack_mnet *m;
    struct synack_runner *r;
    struct synack_bstack *a, *b;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* CPU time this process has used, microseconds. */
static uint64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Builds the network; buf sets both hosts' buffer sizes (0: default); path applies to both
 * directions (NULL: perfect). */
static bool net_up(struct net *n, uint32_t buf, const struct memnet_path *path)
{
    memset(n, 0, sizeof *n);
    n->m = synack_mnet_new(42);
    if (n->m == NULL)
        return false;
    struct synack_config ca, cb;
    synack_config_default(&ca);
    ca.ip = IP_A;
    ca.msl_us = 100 * MS;
    ca.rto_min_us = 200 * MS;
    ca.rto_initial_us = 200 * MS;
    if (buf) {
        ca.sndbuf = buf;
        ca.rcvbuf = buf;
    }
    cb = ca;
    cb.ip = IP_B;
    cb.isn_key[0] = 1;
    struct synack_stack *sa = synack_mnet_add_stack(n->m, &ca);
    struct synack_stack *sb = synack_mnet_add_stack(n->m, &cb);
    if (sa == NULL || sb == NULL)
        return false;
    if (path && (!synack_mnet_set_path(n->m, IP_A, IP_B, path) ||
                 !synack_mnet_set_path(n->m, IP_B, IP_A, path)))
        return false;
    struct synack_driver d = synack_mnet_driver(n->m);
    n->r = synack_runner_new(&d);
    if (n->r == NULL)
        return false;
    n->a = synack_runner_add(n->r, sa);
    n->b = synack_runner_add(n->r, sb);
    return n->a && n->b && synack_runner_start(n->r) == 0;
}

static void net_down(struct net *n)
{
    synack_runner_free(n->r);
    synack_mnet_free(n->m);
}

static int listen_on(struct synack_bstack *bs, uint16_t port)
{
    int fd = synack_bsocket(bs);
    struct synack_addr addr = {0, port};
    if (fd < 0 || synack_bbind(bs, fd, &addr) < 0 || synack_blisten(bs, fd, 16) < 0)
        return -1;
    return fd;
}

static int connect_to(struct synack_bstack *bs, uint16_t port, int *err)
{
    int fd = synack_bsocket(bs);
    struct synack_addr peer = {IP_B, port};
    *err = fd < 0 ? fd : synack_bconnect(bs, fd, &peer);
    return fd;
}

/* A test pattern of len bytes that differs with seed. */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
}

/* ---- An echo server: one thread per connection ------------------------------------------- */

struct echo_conn {
    struct synack_bstack *bs;
    int fd;
    size_t echoed;
};

static void *echo_conn_main(void *arg)
{
    struct echo_conn *c = arg;
    uint8_t buf[8192];
    for (;;) {
        int n = synack_brecv(c->bs, c->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        if (synack_bsend(c->bs, c->fd, buf, (size_t)n) != n)
            break;
        c->echoed += (size_t)n;
    }
    synack_bclose(c->bs, c->fd);
    return NULL;
}

struct echo_server {
    struct synack_bstack *bs;
    int lfd;
    int conns;                 /* connections to serve before returning */
    struct echo_conn c[16];
    pthread_t t[16];
    int accepted;
};

static void *echo_server_main(void *arg)
{
    struct echo_server *e = arg;
    while (e->accepted < e->conns) {
        int fd = synack_baccept(e->bs, e->lfd, NULL);
        if (fd < 0)
            break;
        struct echo_conn *c = &e->c[e->accepted];
        c->bs = e->bs;
        c->fd = fd;
        if (pthread_create(&e->t[e->accepted], NULL, echo_conn_main, c) != 0) {
            synack_bclose(e->bs, fd);
            break;
        }
        e->accepted++;
    }
    for (int i = 0; i < e->accepted; i++)
        pthread_join(e->t[i], NULL);
    return NULL;
}

/* ---- A client: sends a pattern, reads the echo, checks it --------------------------------- */

struct client {
    struct synack_bstack *bs;
    size_t len;
    unsigned seed;
    int connect_rc;
    bool ok;                   /* the echo matched, then end-of-file */
};

struct sender {
    struct synack_bstack *bs;
    int fd;
    const uint8_t *data;
    size_t len;
    int rc;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    size_t off = 0;
    while (off < s->len) {
        size_t chunk = s->len - off < 30000 ? s->len - off : 30000;
        int n = synack_bsend(s->bs, s->fd, s->data + off, chunk);
        if (n <= 0) {
            s->rc = n;
            return NULL;
        }
        off += (size_t)n;
    }
    s->rc = synack_bshutdown(s->bs, s->fd, SYNACK_SHUT_WR);
    return NULL;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    uint8_t *out = malloc(c->len), *in = malloc(c->len + 1);
    int fd = connect_to(c->bs, PORT, &c->connect_rc);
    if (out == NULL || in == NULL || c->connect_rc != 0) {
        free(out);
        free(in);
        return NULL;
    }
    fill(out, c->len, c->seed);
    struct sender s = {c->bs, fd, out, c->len, 0};
    pthread_t t;
    bool started = pthread_create(&t, NULL, sender_main, &s) == 0;
    size_t got = 0;
    while (started) {
        int n = synack_brecv(c->bs, fd, in + got, c->len + 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (started)
        pthread_join(t, NULL);
    c->ok = started && s.rc == 0 && got == c->len && memcmp(in, out, c->len) == 0;
    synack_bclose(c->bs, fd);
    free(out);
    free(in);
    return NULL;
}

/* ---- Tests -------------------------------------------------------------------------------- */

/* One client echoes 1 MiB through a server; both sides see the whole stream and EOF. */
static void test_echo_one_client(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    struct echo_server e = {.bs = n.b, .conns = 1};
    e.lfd = listen_on(n.b, PORT);
    REQUIRE(e.lfd >= 0);
    pthread_t st;
    REQUIRE(pthread_create(&st, NULL, echo_server_main, &e) == 0);
    struct client c = {.bs = n.a, .len = 1u << 20, .seed = 1};
    client_main(&c);
    pthread_join(st, NULL);
    CHECK_EQ(c.connect_rc, 0);
    CHECK(c.ok);
    CHECK_EQ(e.accepted, 1);
    CHECK_EQ(e.c[0].echoed, 1u << 20);
    synack_bclose(n.b, e.lfd);
    net_down(&n);
}

/* Eight clients at once, each with its own pattern: every echo comes back to its sender. */
static void test_concurrent_clients(void)
{
    enum { NCLIENTS = 8 };
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    struct echo_server e = {.bs = n.b, .conns = NCLIENTS};
    e.lfd = listen_on(n.b, PORT);
    REQUIRE(e.lfd >= 0);
    pthread_t st, ct[NCLIENTS];
    REQUIRE(pthread_create(&st, NULL, echo_server_main, &e) == 0);
    struct client c[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        c[i] = (struct client){.bs = n.a, .len = 200000 + (size_t)i * 1000, .seed = (unsigned)i};
        REQUIRE(pthread_create(&ct[i], NULL, client_main, &c[i]) == 0);
    }
    for (int i = 0; i < NCLIENTS; i++)
        pthread_join(ct[i], NULL);
    pthread_join(st, NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        CHECK_EQ(c[i].connect_rc, 0);
        CHECK(c[i].ok);
    }
    CHECK_EQ(e.accepted, NCLIENTS);
    synack_bclose(n.b, e.lfd);
    net_down(&n);
}

/* RCVTIMEO on recv and accept: SYNACK_EAGAIN after the timeout, not before, not much later. */
static void test_receive_timeouts(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int lfd = listen_on(n.b, PORT);
    REQUIRE(lfd >= 0);
    REQUIRE(synack_bsetopt(n.b, lfd, SYNACK_BOPT_RCVTIMEO, 80 * MS) == 0);
    uint64_t t = now_us();
    CHECK_EQ(synack_baccept(n.b, lfd, NULL), SYNACK_EAGAIN);
    uint64_t waited = now_us() - t;
    CHECK(waited >= 80 * MS);
    CHECK(waited < 2000 * MS);

    int err;
    int cfd = connect_to(n.a, PORT, &err);
    CHECK_EQ(err, 0);
    int afd = synack_baccept(n.b, lfd, NULL);
    CHECK(afd >= 0);
    REQUIRE(synack_bsetopt(n.a, cfd, SYNACK_BOPT_RCVTIMEO, 60 * MS) == 0);
    char buf[16];
    t = now_us();
    CHECK_EQ(synack_brecv(n.a, cfd, buf, sizeof buf), SYNACK_EAGAIN);
    waited = now_us() - t;
    CHECK(waited >= 60 * MS);
    CHECK(waited < 2000 * MS);
    /* A timeout of 0 never waits. */
    REQUIRE(synack_bsetopt(n.a, cfd, SYNACK_BOPT_RCVTIMEO, 0) == 0);
    t = now_us();
    CHECK_EQ(synack_brecv(n.a, cfd, buf, sizeof buf), SYNACK_EAGAIN);
    CHECK(now_us() - t < 50 * MS);
    /* The accepted descriptor inherited the listener's timeout. */
    t = now_us();
    CHECK_EQ(synack_brecv(n.b, afd, buf, sizeof buf), SYNACK_EAGAIN);
    CHECK(now_us() - t >= 80 * MS);
    /* Bad options and descriptors. */
    CHECK_EQ(synack_bsetopt(n.a, 999, SYNACK_BOPT_RCVTIMEO, 1), SYNACK_EBADF);
    CHECK_EQ(synack_brecv(n.a, 999, buf, sizeof buf), SYNACK_EBADF);
    CHECK_EQ(synack_bsetopt(n.a, cfd, 12345, 1), SYNACK_EINVAL);
    net_down(&n);
}

/* A connect whose SYNs are all lost gives up at SNDTIMEO with ETIMEDOUT and leaves CLOSED. */
static void test_connect_timeout(void)
{
    struct net n;
    struct memnet_path lossy = {.loss = 1.0};
    REQUIRE(net_up(&n, 0, &lossy));
    int fd = synack_bsocket(n.a);
    REQUIRE(fd >= 0);
    REQUIRE(synack_bsetopt(n.a, fd, SYNACK_BOPT_SNDTIMEO, 150 * MS) == 0);
    struct synack_addr peer = {IP_B, PORT};
    uint64_t t = now_us();
    CHECK_EQ(synack_bconnect(n.a, fd, &peer), SYNACK_ETIMEDOUT);
    uint64_t waited = now_us() - t;
    CHECK(waited >= 150 * MS);
    CHECK(waited < 3000 * MS);
    struct synack_status st;
    CHECK_EQ(synack_bstatus(n.a, fd, &st), 0);
    CHECK_EQ(st.state, SYNACK_CLOSED);
    CHECK_EQ(synack_bclose(n.a, fd), 0);
    net_down(&n);
}

/* Nothing listens: the RST answering the SYN gives ECONNREFUSED at once. */
static void test_connect_refused(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int err;
    uint64_t t = now_us();
    int fd = connect_to(n.a, PORT + 1, &err);
    CHECK(fd >= 0);
    CHECK_EQ(err, SYNACK_ECONNREFUSED);
    CHECK(now_us() - t < 1000 * MS);
    net_down(&n);
}

struct blocked_recv {
    struct synack_bstack *bs;
    int fd;
    atomic_int rc;             /* 1 while blocked */
};

static void *blocked_recv_main(void *arg)
{
    struct blocked_recv *b = arg;
    char buf[8];
    atomic_store(&b->rc, synack_brecv(b->bs, b->fd, buf, sizeof buf));
    return NULL;
}

/* A thread blocked in recv wakes with EBADF when another thread closes the descriptor, and
 * with 0 (end-of-file) when the peer shuts down. */
static void test_close_and_eof_wake_receiver(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int lfd = listen_on(n.b, PORT);
    int err;
    int cfd = connect_to(n.a, PORT, &err);
    REQUIRE(err == 0);
    int afd = synack_baccept(n.b, lfd, NULL);
    REQUIRE(afd >= 0);

    struct blocked_recv b = {n.a, cfd, 1};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, blocked_recv_main, &b) == 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ(b.rc, 1); /* still blocked */
    CHECK_EQ(synack_bshutdown(n.b, afd, SYNACK_SHUT_WR), 0);
    pthread_join(t, NULL);
    CHECK_EQ(b.rc, 0);

    struct blocked_recv b2 = {n.b, afd, 1};
    REQUIRE(pthread_create(&t, NULL, blocked_recv_main, &b2) == 0);
    nanosleep(&pause, NULL);
    CHECK_EQ(b2.rc, 1);
    CHECK_EQ(synack_bclose(n.b, afd), 0);
    pthread_join(t, NULL);
    CHECK_EQ(b2.rc, SYNACK_EBADF);
    net_down(&n);
}

/* Stopping the runner wakes a thread blocked in recv with ECONNABORTED; later waits fail the
 * same way, while calls that need no wait still work. */
static void test_stop_wakes_receiver(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int lfd = listen_on(n.b, PORT);
    int err;
    int cfd = connect_to(n.a, PORT, &err);
    REQUIRE(err == 0);
    struct blocked_recv b = {n.a, cfd, 1};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, blocked_recv_main, &b) == 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ(b.rc, 1);
    synack_runner_stop(n.r);
    pthread_join(t, NULL);
    CHECK_EQ(b.rc, SYNACK_ECONNABORTED);
    char buf[4];
    CHECK_EQ(synack_brecv(n.a, cfd, buf, sizeof buf), SYNACK_ECONNABORTED);
    CHECK(synack_baccept(n.b, lfd, NULL) >= 0); /* established before the stop: no wait */
    CHECK_EQ(synack_runner_error(n.r), 0);
    net_down(&n);
}

struct blocked_accept {
    struct synack_bstack *bs;
    int fd;
    atomic_int rc;             /* 1 while blocked */
};

static void *blocked_accept_main(void *arg)
{
    struct blocked_accept *b = arg;
    atomic_store(&b->rc, synack_baccept(b->bs, b->fd, NULL));
    return NULL;
}

/* A thread blocked in accept wakes with ECONNABORTED when the runner stops. */
static void test_stop_wakes_accept(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int lfd = listen_on(n.b, PORT);
    REQUIRE(lfd >= 0);
    struct blocked_accept b = {n.b, lfd, 1};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, blocked_accept_main, &b) == 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ(b.rc, 1);
    synack_runner_stop(n.r);
    pthread_join(t, NULL);
    CHECK_EQ(b.rc, SYNACK_ECONNABORTED);
    net_down(&n);
}

/* With 4 KiB buffers, one send of 256 KiB blocks until the peer has read most of it; with
 * a peer that never reads, SNDTIMEO returns the partial count. */
static void test_send_flow_control_and_timeout(void)
{
    struct net n;
    REQUIRE(net_up(&n, 4096, NULL));
    int lfd = listen_on(n.b, PORT);
    int err;
    int cfd = connect_to(n.a, PORT, &err);
    REQUIRE(err == 0);
    int afd = synack_baccept(n.b, lfd, NULL);
    REQUIRE(afd >= 0);

    size_t len = 256 * 1024;
    uint8_t *data = malloc(len), *got = malloc(len);
    REQUIRE(data && got);
    fill(data, len, 9);
    struct sender s = {n.a, cfd, data, len, 1};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, sender_main, &s) == 0);
    size_t have = 0;
    while (have < len) {
        int r = synack_brecv(n.b, afd, got + have, len - have);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    pthread_join(t, NULL);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(have, len);
    CHECK(memcmp(data, got, len) == 0);

    /* Now the other way, and B never reads: A's send stops at about 2 x 4 KiB. */
    REQUIRE(synack_bsetopt(n.b, afd, SYNACK_BOPT_SNDTIMEO, 100 * MS) == 0);
    uint64_t t0 = now_us();
    int sent = synack_bsend(n.b, afd, data, len);
    uint64_t waited = now_us() - t0;
    CHECK(sent > 0);
    CHECK(sent <= 2 * 4096 + 1460);
    CHECK(waited >= 100 * MS);
    CHECK(waited < 3000 * MS);
    /* Full buffer, timeout again: nothing queued, EAGAIN. */
    CHECK_EQ(synack_bsend(n.b, afd, data, len), SYNACK_EAGAIN);
    /* After shutdown, EPIPE. */
    CHECK_EQ(synack_bshutdown(n.b, afd, SYNACK_SHUT_WR), 0);
    CHECK_EQ(synack_bsend(n.b, afd, data, 10), SYNACK_EPIPE);
    free(data);
    free(got);
    net_down(&n);
}

/* With 30 ms one-way delay a connect takes one round trip (>= 60 ms): the driver sleeps until
 * the delivery and does not deliver early. */
static void test_path_delay(void)
{
    struct net n;
    struct memnet_path slow = {.delay_us = 30 * MS};
    REQUIRE(net_up(&n, 0, &slow));
    int lfd = listen_on(n.b, PORT);
    REQUIRE(lfd >= 0);
    int err;
    uint64_t t = now_us();
    int cfd = connect_to(n.a, PORT, &err);
    uint64_t took = now_us() - t;
    CHECK_EQ(err, 0);
    CHECK(took >= 60 * MS);
    CHECK(took < 1000 * MS);
    int afd = synack_baccept(n.b, lfd, NULL);
    CHECK(afd >= 0);
    /* One byte there and back: two more one-way delays. */
    t = now_us();
    CHECK_EQ(synack_bsend(n.a, cfd, "x", 1), 1);
    char c = 0;
    CHECK_EQ(synack_brecv(n.b, afd, &c, 1), 1);
    CHECK_EQ(c, 'x');
    CHECK(now_us() - t >= 30 * MS);
    net_down(&n);
}

/* Blocked calls sleep: 300 ms in recv, accept and bwait cost far less CPU than that. */
static void test_no_busy_wait(void)
{
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    int lfd = listen_on(n.b, PORT);
    int err;
    int cfd = connect_to(n.a, PORT, &err);
    REQUIRE(err == 0);
    int afd = synack_baccept(n.b, lfd, NULL);
    REQUIRE(afd >= 0);
    REQUIRE(synack_bsetopt(n.a, cfd, SYNACK_BOPT_RCVTIMEO, 300 * MS) == 0);
    uint64_t c0 = cpu_us(), t0 = now_us();
    char buf[4];
    CHECK_EQ(synack_brecv(n.a, cfd, buf, sizeof buf), SYNACK_EAGAIN);
    CHECK_EQ(synack_bwait(n.b, afd, SYNACK_READABLE, 300 * MS), SYNACK_EAGAIN);
    uint64_t wall = now_us() - t0, cpu = cpu_us() - c0;
    CHECK(wall >= 600 * MS);
    CHECK(cpu < 60 * MS); /* a spinning thread would use about as much CPU as wall time */
    /* bwait returns the mask as soon as it matches. */
    CHECK(synack_bwait(n.a, cfd, SYNACK_WRITABLE, 0) & SYNACK_WRITABLE);
    CHECK_EQ(synack_bsend(n.b, afd, "hi", 2), 2);
    int m = synack_bwait(n.a, cfd, SYNACK_READABLE, 1000 * MS);
    CHECK(m > 0 && (m & SYNACK_READABLE));
    net_down(&n);
}

/* Calls with a NULL handle or bad descriptors fail cleanly. */
static void test_bad_arguments(void)
{
    char buf[4];
    struct synack_addr a = {IP_B, PORT};
    CHECK_EQ(synack_bsocket(NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_bconnect(NULL, 0, &a), SYNACK_EINVAL);
    CHECK_EQ(synack_brecv(NULL, 0, buf, 4), SYNACK_EINVAL);
    CHECK(synack_runner_new(NULL) == NULL);
    struct synack_driver d = {0};
    CHECK(synack_runner_new(&d) == NULL);
    struct net n;
    REQUIRE(net_up(&n, 0, NULL));
    CHECK_EQ(synack_bsend(n.a, -1, buf, 4), SYNACK_EBADF);
    CHECK_EQ(synack_baccept(n.a, 5, NULL), SYNACK_EBADF);
    CHECK_EQ(synack_bclose(n.a, 5), SYNACK_EBADF);
    CHECK_EQ(synack_runner_start(n.r), SYNACK_EINVAL); /* already started */
    net_down(&n);
}

int main(void)
{
    RUN(test_echo_one_client);
    RUN(test_concurrent_clients);
    RUN(test_receive_timeouts);
    RUN(test_connect_timeout);
    RUN(test_connect_refused);
    RUN(test_close_and_eof_wake_receiver);
    RUN(test_stop_wakes_receiver);
    RUN(test_stop_wakes_accept);
    RUN(test_send_flow_control_and_timeout);
    RUN(test_path_delay);
    RUN(test_no_busy_wait);
    RUN(test_bad_arguments);
    return check_summary();
}
