/*
 * test_api.c: the socket API. Every misuse returns its documented error and changes nothing;
 * descriptors are reused and stale ones are refused; readiness masks and synack_events()
 * follow a connection's life; half-close works through the API; ports in use and ephemeral
 * ports; the SipHash-2-4 reference vector and the RFC 6528 ISN generator; options.
 */
#include <stdlib.h>

#include "check.h"
#include "link/memnet.h"
#include "stack/isn.h"
#include "synack.h"
#include "tcp/seq.h"

#define IP_A 0x0a000001u /* 10.0.0.1: client */
#define IP_B 0x0a000002u /* 10.0.0.2: server */
#define SEC 1000000ull   /* microseconds */

/* ---- Rig: two stacks over memnet --------------------------------------------------------- */

static void node_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    synack_stack_input(arg, p, n, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

struct pair {
    struct memnet *net;
    struct synack_stack *a, *b;
};

static struct synack_config config_for(uint32_t ip)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = ip;
    return cfg;
}

static bool pair_init_cfg(struct pair *p, const struct synack_config *ca,
                          const struct synack_config *cb)
{
    p->net = memnet_new(1);
    int na = memnet_add_node(p->net, IP_A), nb = memnet_add_node(p->net, IP_B);
    struct synack_link la = memnet_link(p->net, na), lb = memnet_link(p->net, nb);
    p->a = synack_stack_new(ca, &la);
    p->b = synack_stack_new(cb, &lb);
    if (!p->a || !p->b)
        return false;
    struct memnet_node_ops oa = {p->a, node_input, node_poll};
    struct memnet_node_ops ob = {p->b, node_input, node_poll};
    memnet_attach(p->net, na, &oa);
    memnet_attach(p->net, nb, &ob);
    struct memnet_path path = {.delay_us = 1000};
    memnet_set_path(p->net, IP_A, IP_B, &path);
    memnet_set_path(p->net, IP_B, IP_A, &path);
    return true;
}

static bool pair_init(struct pair *p)
{
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    return pair_init_cfg(p, &ca, &cb);
}

static void pair_free(struct pair *p)
{
    synack_stack_free(p->a);
    synack_stack_free(p->b);
    memnet_free(p->net);
}

static void run_for(struct pair *p, uint64_t us)
{
    memnet_run_until(p->net, memnet_now(p->net) + us);
}

static int listen_on(struct synack_stack *s, uint16_t port)
{
    int fd = synack_socket(s);
    struct synack_addr a = {0, port};
    if (fd < 0 || synack_bind(s, fd, &a) != 0 || synack_listen(s, fd, 16) != 0)
        return -1;
    return fd;
}

/* Connects a client on p->a to port 80 of p->b and accepts it: *c client, *s server fd. */
static bool connected_pair(struct pair *p, int *lfd, int *c, int *s)
{
    *lfd = listen_on(p->b, 80);
    *c = synack_socket(p->a);
    struct synack_addr srv = {IP_B, 80};
    if (*lfd < 0 || *c < 0 || synack_connect(p->a, *c, &srv) != SYNACK_EINPROGRESS)
        return false;
    run_for(p, 10000);
    *s = synack_accept(p->b, *lfd, NULL);
    return *s >= 0 && synack_state(p->a, *c) == SYNACK_ESTABLISHED;
}

static void dummy_send(void *arg, const uint8_t *p, size_t n)
{
    (void)arg, (void)p, (void)n;
}

/* ---- Names and configuration -------------------------------------------------------------- */

static void test_names_and_defaults(void)
{
    struct synack_config cfg;
    memset(&cfg, 0xab, sizeof cfg);
    synack_config_default(&cfg);
    CHECK_EQ(cfg.ip, 0);
    CHECK_EQ(cfg.msl_us, 120 * SEC);
    CHECK_EQ(cfg.sndbuf, 65536);
    CHECK_EQ(cfg.rcvbuf, 65536);
    CHECK_EQ(cfg.mss, 1460);
    CHECK_EQ(cfg.rto_initial_us, SEC);
    CHECK_EQ(cfg.rto_min_us, SEC);
    CHECK_EQ(cfg.rto_max_us, 60 * SEC);
    CHECK_EQ(cfg.user_timeout_us, 300 * SEC);
    CHECK_EQ(cfg.max_sockets, 65536);
    CHECK_EQ(cfg.max_connections, 1u << 20);
    CHECK_EQ(cfg.max_backlog, 4096);
    CHECK_EQ(cfg.ephemeral_lo, 49152);
    CHECK_EQ(cfg.ephemeral_hi, 65535);
    CHECK_EQ(cfg.ttl, 64);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(cfg.isn_key[i], 0);
    CHECK(cfg.window_scaling && cfg.timestamps && cfg.sack);
    CHECK_EQ(cfg.delack_us, 0);
    CHECK(!cfg.nodelay);
    CHECK_EQ(cfg.congestion, SYNACK_CC_NEWRENO);
    CHECK(!cfg.keepalive);
    CHECK_EQ(cfg.keepalive_idle_us, 7200 * SEC);
    CHECK_EQ(cfg.keepalive_intvl_us, 75 * SEC);
    CHECK_EQ(cfg.keepalive_probes, 9);

    CHECK_STR(synack_state_name(SYNACK_CLOSED), "CLOSED");
    CHECK_STR(synack_state_name(SYNACK_SYN_RECEIVED), "SYN-RECEIVED");
    CHECK_STR(synack_state_name(SYNACK_FIN_WAIT_2), "FIN-WAIT-2");
    CHECK_STR(synack_state_name(SYNACK_TIME_WAIT), "TIME-WAIT");
    CHECK_STR(synack_state_name(SYNACK_STATE_COUNT), "?");
    CHECK_STR(synack_state_name(-1), "?");
    CHECK_STR(synack_drop_name(SYNACK_DROP_TCP_CHECKSUM), "tcp-checksum");
    CHECK_STR(synack_drop_name(SYNACK_DROP_BACKLOG_FULL), "backlog-full");
    CHECK_STR(synack_drop_name(SYNACK_DROP_REASON_COUNT), "?");
    for (int r = 0; r < SYNACK_DROP_REASON_COUNT; r++)
        CHECK(synack_drop_name(r)[0] != '?');
    CHECK(strncmp(synack_strerror(SYNACK_ECONNRESET), "ECONNRESET: ", 12) == 0);
    CHECK(strncmp(synack_strerror(SYNACK_EADDRINUSE), "EADDRINUSE: ", 12) == 0);
    CHECK(strncmp(synack_strerror(SYNACK_EINPROGRESS), "EINPROGRESS: ", 13) == 0);
    CHECK(strncmp(synack_strerror(-12345), "?", 1) == 0);
}

static void test_stack_new_rejects_bad_config(void)
{
    struct synack_config cfg = config_for(IP_A);
    struct synack_link link = {.send = dummy_send}, nolink = {.arg = NULL};
    CHECK(synack_stack_new(NULL, &link) == NULL);
    CHECK(synack_stack_new(&cfg, NULL) == NULL);
    CHECK(synack_stack_new(&cfg, &nolink) == NULL);
    struct synack_config bad = cfg;
    bad.ip = 0;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.ephemeral_lo = 60000;
    bad.ephemeral_hi = 50000;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.mss = 63;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.sndbuf = 0;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.rcvbuf = 0;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.max_sockets = 0;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    bad = cfg;
    bad.max_connections = 0;
    CHECK(synack_stack_new(&bad, &link) == NULL);
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    CHECK(s != NULL);
    synack_stack_free(s);
    synack_stack_free(NULL);
}

/* ---- Misuse ------------------------------------------------------------------------------- */

static void test_null_stack_and_bad_descriptors(void)
{
    struct synack_addr a = {IP_B, 80};
    char buf[4];
    struct synack_status st;
    struct synack_sock_event ev[2];
    CHECK_EQ(synack_socket(NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_bind(NULL, 0, &a), SYNACK_EINVAL);
    CHECK_EQ(synack_connect(NULL, 0, &a), SYNACK_EINVAL);
    CHECK_EQ(synack_send(NULL, 0, buf, 1), SYNACK_EINVAL);
    CHECK_EQ(synack_events(NULL, ev, 2), SYNACK_EINVAL);
    CHECK_EQ(synack_state(NULL, 0), SYNACK_EINVAL);
    synack_stack_input(NULL, NULL, 0, 0);
    CHECK_EQ(synack_stack_poll(NULL, 0), UINT64_MAX);

    struct synack_config cfg = config_for(IP_A);
    struct synack_link link = {.send = dummy_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int bad[] = {-1, 0, 1, 7, 65535, 1 << 30};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = bad[i];
        CHECK_EQ(synack_bind(s, fd, &a), SYNACK_EBADF);
        CHECK_EQ(synack_listen(s, fd, 1), SYNACK_EBADF);
        CHECK_EQ(synack_accept(s, fd, NULL), SYNACK_EBADF);
        CHECK_EQ(synack_connect(s, fd, &a), SYNACK_EBADF);
        CHECK_EQ(synack_send(s, fd, buf, 1), SYNACK_EBADF);
        CHECK_EQ(synack_recv(s, fd, buf, 1), SYNACK_EBADF);
        CHECK_EQ(synack_shutdown(s, fd, SYNACK_SHUT_WR), SYNACK_EBADF);
        CHECK_EQ(synack_close(s, fd), SYNACK_EBADF);
        CHECK_EQ(synack_abort(s, fd), SYNACK_EBADF);
        CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_ISS, 1), SYNACK_EBADF);
        CHECK_EQ(synack_state(s, fd), SYNACK_EBADF);
        CHECK_EQ(synack_readiness(s, fd), SYNACK_EBADF);
        CHECK_EQ(synack_error(s, fd), SYNACK_EBADF);
        CHECK_EQ(synack_getsockname(s, fd, &a), SYNACK_EBADF);
        CHECK_EQ(synack_getpeername(s, fd, &a), SYNACK_EBADF);
        CHECK_EQ(synack_status(s, fd, &st), SYNACK_EBADF);
    }
    CHECK_EQ(synack_events(s, NULL, 1), SYNACK_EINVAL);
    CHECK_EQ(synack_events(s, ev, -1), SYNACK_EINVAL);
    CHECK_EQ(synack_events(s, NULL, 0), 0);
    struct synack_stats stats;
    synack_stack_stats(s, &stats);
    CHECK_EQ(stats.sockets_current, 0);
    CHECK_EQ(stats.ip_out, 0);
    synack_stack_free(s);
}

static void test_misuse_of_fresh_and_bound_sockets(void)
{
    struct synack_config cfg = config_for(IP_A);
    struct synack_link link = {.send = dummy_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int fd = synack_socket(s);
    REQUIRE(fd >= 0);
    char buf[4] = "abc";
    struct synack_addr out, peer0 = {0, 80}, port0 = {IP_B, 0}, foreign = {IP_B, 1000};

    /* Before connect. */
    CHECK_EQ(synack_send(s, fd, buf, 3), SYNACK_ENOTCONN);
    CHECK_EQ(synack_recv(s, fd, buf, 3), SYNACK_ENOTCONN);
    CHECK_EQ(synack_shutdown(s, fd, SYNACK_SHUT_WR), SYNACK_ENOTCONN);
    CHECK_EQ(synack_accept(s, fd, NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_getpeername(s, fd, &out), SYNACK_ENOTCONN);
    CHECK_EQ(synack_state(s, fd), SYNACK_CLOSED);
    CHECK_EQ(synack_readiness(s, fd), 0);
    CHECK_EQ(synack_error(s, fd), 0);
    CHECK_EQ(synack_getsockname(s, fd, &out), 0);
    CHECK(out.ip == 0 && out.port == 0);
    CHECK_EQ(synack_getsockname(s, fd, NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_status(s, fd, NULL), SYNACK_EINVAL);

    /* Bad arguments. */
    CHECK_EQ(synack_bind(s, fd, NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_bind(s, fd, &foreign), SYNACK_EADDRNOTAVAIL); /* not our address */
    CHECK_EQ(synack_connect(s, fd, NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_connect(s, fd, &peer0), SYNACK_EINVAL);
    CHECK_EQ(synack_connect(s, fd, &port0), SYNACK_EINVAL);
    CHECK_EQ(synack_shutdown(s, fd, 7), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, 999, 1), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_ISS, 1ull << 32), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_SNDBUF, 0), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_RCVBUF, 1ull << 40), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_USER_TIMEOUT, 0), 0); /* 0 = never */
    CHECK_EQ(synack_send(s, fd, NULL, 5), SYNACK_EINVAL);
    CHECK_EQ(synack_recv(s, fd, NULL, 5), SYNACK_EINVAL);

    /* Bind: our address or any; twice is an error. */
    struct synack_addr mine = {IP_A, 5000};
    CHECK_EQ(synack_bind(s, fd, &mine), 0);
    CHECK_EQ(synack_bind(s, fd, &mine), SYNACK_EINVAL);
    CHECK_EQ(synack_getsockname(s, fd, &out), 0);
    CHECK(out.ip == IP_A && out.port == 5000);
    int fd2 = synack_socket(s);
    struct synack_addr any5000 = {0, 5000};
    CHECK_EQ(synack_bind(s, fd2, &any5000), SYNACK_EADDRINUSE);
    CHECK_EQ(synack_bind(s, fd2, &mine), SYNACK_EADDRINUSE);

    /* A listener refuses connect/send/recv; accepting on it with nothing queued: EAGAIN. */
    CHECK_EQ(synack_listen(s, fd, 4), 0);
    CHECK_EQ(synack_listen(s, fd, 8), 0); /* changes the backlog */
    struct synack_addr srv = {IP_B, 80};
    CHECK_EQ(synack_connect(s, fd, &srv), SYNACK_EOPNOTSUPP);
    CHECK_EQ(synack_send(s, fd, buf, 1), SYNACK_ENOTCONN);
    CHECK_EQ(synack_recv(s, fd, buf, 1), SYNACK_ENOTCONN);
    CHECK_EQ(synack_accept(s, fd, NULL), SYNACK_EAGAIN);
    CHECK_EQ(synack_bind(s, fd, &mine), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_SNDBUF, 1000), SYNACK_EINVAL);
    CHECK_EQ(synack_state(s, fd), SYNACK_LISTEN);
    CHECK_EQ(synack_getpeername(s, fd, &out), SYNACK_ENOTCONN);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.conn_current, 0);
    CHECK_EQ(st.ip_out, 0); /* no misuse sent anything */
    CHECK_EQ(st.sockets_current, 2);
    synack_stack_free(s);
}

static void test_misuse_of_connections(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd, c, s;
    REQUIRE(connected_pair(&p, &lfd, &c, &s));
    struct synack_addr srv = {IP_B, 80}, me = {IP_A, 6000};
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EISCONN);
    CHECK_EQ(synack_listen(p.a, c, 4), SYNACK_EINVAL);
    CHECK_EQ(synack_bind(p.a, c, &me), SYNACK_EINVAL);
    CHECK_EQ(synack_accept(p.a, c, NULL), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_ISS, 5), SYNACK_EISCONN);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_RCVBUF, 5000), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_USER_TIMEOUT, 10 * SEC), 0);
    char buf[8];
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), SYNACK_EAGAIN);
    CHECK_EQ(synack_send(p.a, c, buf, 0), 0);

    /* A connect in progress: EALREADY. */
    int c2 = synack_socket(p.a);
    CHECK_EQ(synack_connect(p.a, c2, &srv), SYNACK_EINPROGRESS);
    CHECK_EQ(synack_connect(p.a, c2, &srv), SYNACK_EALREADY);
    CHECK_EQ(synack_state(p.a, c2), SYNACK_SYN_SENT);

    /* After shutdown(WR), send is EPIPE; shutdown again is fine. */
    CHECK_EQ(synack_shutdown(p.a, c, SYNACK_SHUT_WR), 0);
    CHECK_EQ(synack_send(p.a, c, "x", 1), SYNACK_EPIPE);
    CHECK_EQ(synack_shutdown(p.a, c, SYNACK_SHUT_WR), 0);
    CHECK_EQ(synack_state(p.a, c), SYNACK_FIN_WAIT_1);

    /* Abort: the peer sees a reset. */
    CHECK_EQ(synack_abort(p.b, s), 0);
    CHECK_EQ(synack_state(p.b, s), SYNACK_EBADF);
    run_for(&p, 10000);
    CHECK_EQ(synack_error(p.a, c), SYNACK_ECONNRESET);
    CHECK_EQ(synack_state(p.a, c), SYNACK_CLOSED);
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), SYNACK_ECONNRESET);
    CHECK_EQ(synack_shutdown(p.a, c, SYNACK_SHUT_RD), SYNACK_ENOTCONN);
    struct synack_stats sa;
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_reset, 1);
    pair_free(&p);
}

/* ---- Descriptors -------------------------------------------------------------------------- */

static void test_descriptor_reuse_and_stale_descriptors(void)
{
    struct synack_config cfg = config_for(IP_A);
    cfg.max_sockets = 3;
    struct synack_link link = {.send = dummy_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int a = synack_socket(s), b = synack_socket(s), c = synack_socket(s);
    CHECK(a >= 0 && b >= 0 && c >= 0);
    CHECK(a != b && b != c && a != c);
    CHECK_EQ(synack_socket(s), SYNACK_EMFILE);
    struct synack_addr p7 = {0, 7};
    CHECK_EQ(synack_bind(s, b, &p7), 0);

    CHECK_EQ(synack_close(s, b), 0);
    /* The stale descriptor is refused by every call, twice closing included. */
    CHECK_EQ(synack_close(s, b), SYNACK_EBADF);
    CHECK_EQ(synack_state(s, b), SYNACK_EBADF);
    CHECK_EQ(synack_readiness(s, b), SYNACK_EBADF);
    CHECK_EQ(synack_send(s, b, "x", 1), SYNACK_EBADF);
    CHECK_EQ(synack_bind(s, b, &p7), SYNACK_EBADF);
    /* The slot is reused, fresh: unbound, and the port it held is free. */
    int d = synack_socket(s);
    CHECK_EQ(d, b);
    struct synack_addr out;
    CHECK_EQ(synack_getsockname(s, d, &out), 0);
    CHECK_EQ(out.port, 0);
    CHECK_EQ(synack_bind(s, d, &p7), 0);
    CHECK_EQ(synack_socket(s), SYNACK_EMFILE);

    /* Closed descriptors are reused oldest first. */
    CHECK_EQ(synack_close(s, c), 0);
    CHECK_EQ(synack_close(s, a), 0);
    CHECK_EQ(synack_socket(s), c);
    CHECK_EQ(synack_socket(s), a);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.sockets_current, 3);
    synack_stack_free(s);

    /* With room in the table, a closed descriptor is not handed out again at once. */
    cfg.max_sockets = 100;
    s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int x = synack_socket(s);
    CHECK_EQ(synack_close(s, x), 0);
    int y = synack_socket(s);
    CHECK(y != x);
    CHECK_EQ(synack_state(s, x), SYNACK_EBADF);
    synack_stack_free(s);
}

/* ---- Readiness and events ----------------------------------------------------------------- */

/* The mask reported for fd by one synack_events() call, or -1 if fd is not in it. */
static int event_for(struct synack_stack *s, int fd, int *count)
{
    struct synack_sock_event ev[32];
    int n = synack_events(s, ev, 32);
    int mask = -1;
    *count = n;
    for (int i = 0; i < n; i++) {
        if (ev[i].fd == fd) {
            CHECK_EQ(mask, -1); /* each socket at most once */
            mask = ev[i].mask;
        }
    }
    return mask;
}

static void test_readiness_and_events_through_a_connection(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd = listen_on(p.b, 80);
    int c = synack_socket(p.a), n;
    struct synack_addr srv = {IP_B, 80};
    REQUIRE(lfd >= 0 && c >= 0);
    CHECK_EQ(synack_readiness(p.b, lfd), 0);
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EINPROGRESS);
    CHECK(!(synack_readiness(p.a, c) & SYNACK_CONNECTED));
    CHECK_EQ(synack_state(p.a, c), SYNACK_SYN_SENT);
    run_for(&p, 10000);

    /* Established: client CONNECTED|WRITABLE, listener ACCEPTABLE, each reported once. */
    CHECK_EQ(synack_readiness(p.a, c), SYNACK_CONNECTED | SYNACK_WRITABLE);
    CHECK_EQ(event_for(p.a, c, &n), SYNACK_CONNECTED | SYNACK_WRITABLE);
    CHECK_EQ(event_for(p.a, c, &n), -1);
    CHECK_EQ(n, 0);
    CHECK_EQ(synack_readiness(p.b, lfd), SYNACK_ACCEPTABLE);
    CHECK_EQ(event_for(p.b, lfd, &n), SYNACK_ACCEPTABLE);
    CHECK_EQ(event_for(p.b, lfd, &n), -1);
    int s = synack_accept(p.b, lfd, NULL);
    REQUIRE(s >= 0);
    CHECK_EQ(synack_readiness(p.b, lfd), 0);
    CHECK_EQ(synack_readiness(p.b, s), SYNACK_CONNECTED | SYNACK_WRITABLE);
    struct synack_sock_event ev[8];
    n = synack_events(p.b, ev, 8); /* listener lost ACCEPTABLE, new socket appeared */
    CHECK_EQ(n, 2);
    CHECK_EQ(synack_events(p.b, ev, 8), 0);

    /* Data: READABLE until read. */
    CHECK_EQ(synack_send(p.a, c, "hello", 5), 5);
    run_for(&p, 10000);
    CHECK_EQ(synack_readiness(p.b, s), SYNACK_CONNECTED | SYNACK_WRITABLE | SYNACK_READABLE);
    CHECK_EQ(event_for(p.b, s, &n), SYNACK_CONNECTED | SYNACK_WRITABLE | SYNACK_READABLE);
    char buf[16];
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), SYNACK_EAGAIN);
    CHECK_EQ(event_for(p.b, s, &n), SYNACK_CONNECTED | SYNACK_WRITABLE);

    /* Half-close: the client shuts down writing; the server reads EOF yet still sends. */
    CHECK_EQ(synack_shutdown(p.a, c, SYNACK_SHUT_WR), 0);
    CHECK(!(synack_readiness(p.a, c) & SYNACK_WRITABLE));
    run_for(&p, 10000);
    CHECK_EQ(synack_state(p.a, c), SYNACK_FIN_WAIT_2);
    CHECK_EQ(synack_state(p.b, s), SYNACK_CLOSE_WAIT);
    CHECK(synack_readiness(p.b, s) & SYNACK_READABLE);
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), 0);
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), 0); /* EOF stays */
    CHECK_EQ(synack_send(p.b, s, "reply", 5), 5);
    run_for(&p, 10000);
    CHECK(synack_readiness(p.a, c) & SYNACK_READABLE);
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "reply", 5) == 0);

    /* The server closes: the client reads EOF and ends in TIME-WAIT. */
    CHECK_EQ(synack_close(p.b, s), 0);
    run_for(&p, 10000);
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), 0);
    CHECK_EQ(synack_state(p.a, c), SYNACK_TIME_WAIT);
    CHECK_EQ(synack_readiness(p.a, c), SYNACK_CONNECTED | SYNACK_READABLE);
    (void)event_for(p.a, c, &n);
    run_for(&p, 2 * 120 * SEC + SEC);
    CHECK_EQ(synack_state(p.a, c), SYNACK_CLOSED);
    int mask = synack_readiness(p.a, c);
    CHECK_EQ(mask, SYNACK_CONNECTED | SYNACK_READABLE | SYNACK_TERMINATED);
    CHECK_EQ(event_for(p.a, c, &n), mask);
    CHECK_EQ(synack_error(p.a, c), 0);
    CHECK_EQ(synack_close(p.a, c), 0);
    struct synack_stats sa, sb;
    synack_stack_stats(p.a, &sa);
    synack_stack_stats(p.b, &sb);
    CHECK_EQ(sa.conn_current + sb.conn_current, 0);
    CHECK_EQ(sa.sockets_current, 0);
    CHECK_EQ(sb.sockets_current, 1); /* the listener */
    pair_free(&p);
}

static void test_events_in_pieces(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd = listen_on(p.b, 80);
    int c[5];
    struct synack_addr srv = {IP_B, 80};
    for (int i = 0; i < 5; i++) {
        c[i] = synack_socket(p.a);
        CHECK_EQ(synack_connect(p.a, c[i], &srv), SYNACK_EINPROGRESS);
    }
    (void)lfd;
    run_for(&p, 10000);
    struct synack_sock_event ev[2];
    bool seen[5] = {false};
    int total = 0, n;
    while ((n = synack_events(p.a, ev, 2)) > 0) {
        CHECK(n <= 2);
        for (int i = 0; i < n; i++) {
            REQUIRE(ev[i].fd >= 0 && ev[i].fd < 5);
            CHECK(!seen[ev[i].fd]);
            seen[ev[i].fd] = true;
            CHECK_EQ(ev[i].mask, SYNACK_CONNECTED | SYNACK_WRITABLE);
            total++;
        }
    }
    CHECK_EQ(total, 5);
    pair_free(&p);
}

static void test_shutdown_read(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd, c, s;
    REQUIRE(connected_pair(&p, &lfd, &c, &s));
    CHECK_EQ(synack_send(p.a, c, "early", 5), 5);
    run_for(&p, 10000);
    CHECK_EQ(synack_shutdown(p.b, s, SYNACK_SHUT_RD), 0);
    char buf[16];
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), 0); /* EOF from now on */
    CHECK(synack_readiness(p.b, s) & SYNACK_READABLE);
    CHECK_EQ(synack_send(p.a, c, "late", 4), 4);      /* accepted and discarded */
    run_for(&p, 100000); /* beyond the delayed ACK (40 ms) */
    CHECK_EQ(synack_recv(p.b, s, buf, sizeof buf), 0);
    struct synack_status st;
    CHECK_EQ(synack_status(p.b, s, &st), 0);
    CHECK_EQ(st.recv_queued, 0);
    CHECK_EQ(synack_status(p.a, c, &st), 0);
    CHECK_EQ(st.send_queued, 0); /* acknowledged */
    /* The other direction still works. */
    CHECK_EQ(synack_send(p.b, s, "ok", 2), 2);
    run_for(&p, 10000);
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), 2);
    CHECK_EQ(synack_shutdown(p.b, s, SYNACK_SHUT_RDWR), 0);
    CHECK_EQ(synack_state(p.b, s), SYNACK_FIN_WAIT_1);
    pair_free(&p);
}

static void test_status_reports_both_ends(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd, c, s;
    REQUIRE(connected_pair(&p, &lfd, &c, &s));
    struct synack_status sc, ss;
    CHECK_EQ(synack_status(p.a, c, &sc), 0);
    CHECK_EQ(synack_status(p.b, s, &ss), 0);
    CHECK_EQ(sc.state, SYNACK_ESTABLISHED);
    CHECK_EQ(sc.local.ip, IP_A);
    CHECK_EQ(sc.remote.ip, IP_B);
    CHECK_EQ(sc.remote.port, 80);
    CHECK_EQ(ss.local.port, 80);
    CHECK_EQ(ss.remote.port, sc.local.port);
    CHECK_EQ(sc.irs, ss.iss);
    CHECK_EQ(ss.irs, sc.iss);
    CHECK_EQ(sc.snd_nxt, sc.iss + 1);
    CHECK_EQ(sc.snd_mss, 1460 - 12); /* timestamps on by default: RFC 6691 */
    struct synack_addr peer;
    CHECK_EQ(synack_getpeername(p.b, s, &peer), 0);
    CHECK(peer.ip == IP_A && peer.port == sc.local.port);
    CHECK_EQ(synack_status(p.b, lfd, &ss), 0);
    CHECK_EQ(ss.state, SYNACK_LISTEN);
    CHECK_EQ(ss.local.port, 80);
    pair_free(&p);
}

/* ---- Ports -------------------------------------------------------------------------------- */

static void test_ports_in_use_and_time_wait(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd = listen_on(p.b, 80);
    REQUIRE(lfd >= 0);
    /* A listener's port is in use. */
    int x = synack_socket(p.b);
    struct synack_addr a80 = {IP_B, 80}, a81 = {0, 81};
    CHECK_EQ(synack_bind(p.b, x, &a80), SYNACK_EADDRINUSE);
    CHECK_EQ(synack_bind(p.b, x, &a81), 0);

    /* A client bound to 5000 connects, then closes first: its end goes to TIME-WAIT. */
    int c = synack_socket(p.a);
    struct synack_addr me = {0, 5000}, srv = {IP_B, 80}, srv81 = {IP_B, 81};
    CHECK_EQ(synack_bind(p.a, c, &me), 0);
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EINPROGRESS);
    run_for(&p, 10000);
    int s = synack_accept(p.b, lfd, NULL);
    REQUIRE(s >= 0);
    int other = synack_socket(p.a);
    CHECK_EQ(synack_bind(p.a, other, &me), SYNACK_EADDRINUSE); /* the connection's port */
    CHECK_EQ(synack_close(p.a, c), 0);
    run_for(&p, 10000);
    CHECK_EQ(synack_close(p.b, s), 0);
    run_for(&p, 10000);
    struct synack_stats sa;
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.time_wait_current, 1);

    /* The port itself is free, but its 4-tuple with the server is not until 2 x MSL. */
    CHECK_EQ(synack_bind(p.a, other, &me), 0);
    CHECK_EQ(synack_connect(p.a, other, &srv), SYNACK_EADDRINUSE);
    CHECK_EQ(synack_state(p.a, other), SYNACK_CLOSED);
    int third = synack_socket(p.a);
    CHECK_EQ(synack_bind(p.a, third, &me), SYNACK_EADDRINUSE);
    CHECK_EQ(synack_close(p.a, other), 0);
    CHECK_EQ(synack_bind(p.a, third, &me), 0);
    CHECK_EQ(synack_connect(p.a, third, &srv81), SYNACK_EINPROGRESS); /* another tuple */
    CHECK_EQ(synack_abort(p.a, third), 0);
    run_for(&p, 2 * 120 * SEC + SEC);
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.time_wait_current, 0);
    int fourth = synack_socket(p.a);
    CHECK_EQ(synack_bind(p.a, fourth, &me), 0);
    CHECK_EQ(synack_connect(p.a, fourth, &srv), SYNACK_EINPROGRESS);
    run_for(&p, 10000);
    CHECK_EQ(synack_state(p.a, fourth), SYNACK_ESTABLISHED);
    pair_free(&p);
}

static void test_ephemeral_ports(void)
{
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    ca.ephemeral_lo = 50000;
    ca.ephemeral_hi = 50009;
    struct pair p;
    REQUIRE(pair_init_cfg(&p, &ca, &cb));
    struct synack_addr srv = {IP_B, 80};
    bool used[10] = {false};
    for (int i = 0; i < 10; i++) {
        int fd = synack_socket(p.a);
        CHECK_EQ(synack_connect(p.a, fd, &srv), SYNACK_EINPROGRESS);
        struct synack_addr me;
        CHECK_EQ(synack_getsockname(p.a, fd, &me), 0);
        CHECK_EQ(me.ip, IP_A);
        REQUIRE(me.port >= 50000 && me.port <= 50009);
        CHECK(!used[me.port - 50000]);
        used[me.port - 50000] = true;
    }
    /* The range is exhausted for this peer. */
    int fd = synack_socket(p.a);
    CHECK_EQ(synack_connect(p.a, fd, &srv), SYNACK_EADDRNOTAVAIL);
    struct synack_addr any = {0, 0};
    CHECK_EQ(synack_bind(p.a, fd, &any), SYNACK_EADDRNOTAVAIL);
    CHECK_EQ(synack_listen(p.a, fd, 1), SYNACK_EADDRNOTAVAIL);
    /* Closing one frees its port for the next connect. */
    CHECK_EQ(synack_abort(p.a, 3), 0);
    CHECK_EQ(synack_connect(p.a, fd, &srv), SYNACK_EINPROGRESS);

    /* Listen without bind picks an ephemeral port. */
    int l = synack_socket(p.b);
    CHECK_EQ(synack_listen(p.b, l, 0), 0);
    struct synack_addr la;
    CHECK_EQ(synack_getsockname(p.b, l, &la), 0);
    CHECK(la.port >= 49152);
    pair_free(&p);
}

/* ---- ISN ---------------------------------------------------------------------------------- */

static void test_siphash_reference_vectors(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* SipHash paper, appendix A: 15-byte message 00..0e under key 00..0f. */
    CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
    /* The reference implementation's vectors for 0, 1, 8 and 63 bytes. */
    CHECK(siphash24(key, NULL, 0) == 0x726fdb47dd0e0e31ull);
    CHECK(siphash24(key, msg, 1) == 0x74f839c593dc67fdull);
    CHECK(siphash24(key, msg, 8) == 0x93f5f5799a932462ull);
    CHECK(siphash24(key, msg, 63) == 0x958a324ceb064572ull);
}

static void test_siphash13_reference_vectors(void)
{
    uint8_t key[16], msg[16];
    for (int i = 0; i < 16; i++)
        key[i] = msg[i] = (uint8_t)i;
    /* The reference implementation's SipHash-1-3 vectors (as in Rust's libcore tests) for
     * 0, 15 and 16 bytes 00, 01, ... under key 00..0f. */
    CHECK(siphash13(key, NULL, 0) == 0xabac0158050fc4dcull);
    CHECK(siphash13(key, msg, 15) == 0xd320d86d2a519956ull);
    CHECK(siphash13(key, msg, 16) == 0xcc4fdd1a7d908b66ull);
    /* The two-word form is the same function of the 16 bytes. */
    uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    CHECK(siphash13_2words(k0, k1, k0, k1) == 0xcc4fdd1a7d908b66ull);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 1000; t++) {
        uint8_t m[16];
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t m0 = x;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t m1 = x;
        for (int i = 0; i < 8; i++) {
            m[i] = (uint8_t)(m0 >> (8 * i));
            m[8 + i] = (uint8_t)(m1 >> (8 * i));
        }
        CHECK(siphash13_2words(k0, k1, m0, m1) == siphash13(key, m, 16));
    }
}

static void test_isn_generator(void)
{
    uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t key2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
    uint64_t t = 1000000;
    uint32_t base = isn_generate(key, IP_A, 1000, IP_B, 80, t);
    /* Same key, tuple and time: same ISN. */
    CHECK_EQ(isn_generate(key, IP_A, 1000, IP_B, 80, t), base);
    /* Each part of the 4-tuple and the key matter. */
    CHECK(isn_generate(key, IP_A + 1, 1000, IP_B, 80, t) != base);
    CHECK(isn_generate(key, IP_A, 1001, IP_B, 80, t) != base);
    CHECK(isn_generate(key, IP_A, 1000, IP_B + 1, 80, t) != base);
    CHECK(isn_generate(key, IP_A, 1000, IP_B, 81, t) != base);
    CHECK(isn_generate(key, IP_B, 80, IP_A, 1000, t) != base); /* the two ends differ */
    CHECK(isn_generate(key2, IP_A, 1000, IP_B, 80, t) != base);
    /* RFC 9293 3.4.1: M ticks every 4 microseconds. */
    CHECK_EQ(isn_generate(key, IP_A, 1000, IP_B, 80, t + 3), base);
    CHECK_EQ(isn_generate(key, IP_A, 1000, IP_B, 80, t + 4), base + 1);
    CHECK_EQ(isn_generate(key, IP_A, 1000, IP_B, 80, t + 4000000), base + 1000000);
    CHECK(seq_gt(isn_generate(key, IP_A, 1000, IP_B, 80, t + SEC), base));
}

/* Records the ISS of every SYN a stack sends. */
struct syn_log {
    int n;
    uint32_t seq[16];
};

static void syn_observe(void *arg, const struct synack_event *ev)
{
    struct syn_log *l = arg;
    if (ev->kind == SYNACK_EV_SEG_OUT && (ev->flags & SYNACK_SYN) && l->n < 16)
        l->seq[l->n++] = ev->seq;
}

/* One client/server handshake with this key; returns the client's and server's ISS. */
static void handshake_iss(const uint8_t key[16], uint32_t *client, uint32_t *server)
{
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    memcpy(ca.isn_key, key, 16);
    memcpy(cb.isn_key, key, 16);
    struct pair p;
    *client = *server = 0;
    REQUIRE(pair_init_cfg(&p, &ca, &cb));
    struct syn_log la = {0}, lb = {0};
    synack_stack_set_observer(p.a, syn_observe, &la);
    synack_stack_set_observer(p.b, syn_observe, &lb);
    run_for(&p, 12345); /* a time other than zero */
    int lfd, c, s;
    CHECK(connected_pair(&p, &lfd, &c, &s));
    CHECK_EQ(la.n, 1);
    CHECK_EQ(lb.n, 1);
    *client = la.seq[0];
    *server = lb.seq[0];
    struct synack_status st;
    synack_status(p.a, c, &st);
    CHECK_EQ(st.iss, *client);
    /* The ISS is the RFC 6528 function of the tuple, the key and the time of the SYN. */
    struct synack_addr me;
    synack_getsockname(p.a, c, &me);
    CHECK_EQ(*client, isn_generate(ca.isn_key, IP_A, me.port, IP_B, 80, 12345));
    pair_free(&p);
}

static void test_fixed_key_makes_runs_reproducible(void)
{
    uint8_t k1[16] = {9, 9, 9}, k2[16] = {7, 7, 7};
    uint32_t c1, s1, c2, s2, c3, s3;
    handshake_iss(k1, &c1, &s1);
    handshake_iss(k1, &c2, &s2);
    handshake_iss(k2, &c3, &s3);
    CHECK_EQ(c1, c2);
    CHECK_EQ(s1, s2);
    CHECK(c1 != c3);
    CHECK(s1 != s3);
    CHECK(c1 != s1);
}

static void test_opt_iss_fixes_the_iss(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    struct syn_log la = {0}, lb = {0};
    synack_stack_set_observer(p.a, syn_observe, &la);
    synack_stack_set_observer(p.b, syn_observe, &lb);
    int lfd = listen_on(p.b, 80);
    CHECK_EQ(synack_setopt(p.b, lfd, SYNACK_OPT_ISS, 300), 0);
    int c = synack_socket(p.a);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_ISS, 100), 0);
    struct synack_addr srv = {IP_B, 80};
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EINPROGRESS);
    run_for(&p, 10000);
    REQUIRE(la.n == 1 && lb.n == 1);
    CHECK_EQ(la.seq[0], 100); /* <SEQ=100><CTL=SYN>, as in RFC 9293 Figure 6 */
    CHECK_EQ(lb.seq[0], 300); /* <SEQ=300><ACK=101><CTL=SYN,ACK> */
    int s = synack_accept(p.b, lfd, NULL);
    struct synack_status st;
    CHECK_EQ(synack_status(p.b, s, &st), 0);
    CHECK_EQ(st.iss, 300);
    CHECK_EQ(st.irs, 100);
    pair_free(&p);
}

/* ---- Options ------------------------------------------------------------------------------ */

static void test_buffer_options(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd = listen_on(p.b, 80);
    int c = synack_socket(p.a);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_SNDBUF, 1000), 0);
    struct synack_addr srv = {IP_B, 80};
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EINPROGRESS);
    run_for(&p, 10000);
    static char big[5000];
    /* The send buffer holds 1000 bytes: the rest waits. */
    CHECK_EQ(synack_send(p.a, c, big, sizeof big), 1000);
    CHECK_EQ(synack_send(p.a, c, big, sizeof big), SYNACK_EAGAIN);
    CHECK(!(synack_readiness(p.a, c) & SYNACK_WRITABLE));
    run_for(&p, 100000); /* beyond the delayed ACK (40 ms) */
    CHECK(synack_readiness(p.a, c) & SYNACK_WRITABLE);
    (void)lfd;
    pair_free(&p);
}

static void test_user_timeout_option(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd, c, s;
    REQUIRE(connected_pair(&p, &lfd, &c, &s));
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_USER_TIMEOUT, 5 * SEC), 0);
    /* The server vanishes: the client retransmits into a black hole. */
    struct memnet_path hole = {.delay_us = 1000, .loss = 1.0};
    memnet_set_path(p.net, IP_A, IP_B, &hole);
    uint64_t start = memnet_now(p.net);
    CHECK_EQ(synack_send(p.a, c, "ping", 4), 4);
    while (synack_error(p.a, c) == 0 && memnet_now(p.net) < start + 100 * SEC)
        run_for(&p, 100000);
    CHECK_EQ(synack_error(p.a, c), SYNACK_ETIMEDOUT);
    uint64_t took = memnet_now(p.net) - start;
    CHECK(took >= 5 * SEC);
    CHECK(took < 30 * SEC); /* the 300 s default would not have fired yet */
    struct synack_stats sa;
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_timeout, 1);
    pair_free(&p);
}

static void test_issue3_options_and_status(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd = listen_on(p.b, 80);
    int c = synack_socket(p.a);
    /* Bad values. */
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_NODELAY, 2), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_CONGESTION, 7), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPIDLE, 0), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPINTVL, 0), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPCNT, 0), SYNACK_EINVAL);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_CONGESTION, SYNACK_CC_CUBIC), 0);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_NODELAY, 1), 0);
    struct synack_addr srv = {IP_B, 80};
    CHECK_EQ(synack_connect(p.a, c, &srv), SYNACK_EINPROGRESS);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_CONGESTION, SYNACK_CC_NEWRENO),
             SYNACK_EISCONN);
    run_for(&p, 10000);
    int s = synack_accept(p.b, lfd, NULL);
    REQUIRE(s >= 0);
    /* Defaults: window scaling, timestamps and SACK negotiated; IW of RFC 6928. */
    struct synack_status st;
    CHECK_EQ(synack_status(p.a, c, &st), 0);
    CHECK(st.timestamps && st.sack);
    CHECK_EQ(st.rcv_wscale, 1); /* 65536-byte buffer: shift 1 (RFC 7323 2.3) */
    CHECK_EQ(st.snd_wscale, 1);
    CHECK_EQ(st.cwnd, 14480);   /* min(10 * 1448, max(2 * 1448, 14600)): SMSS 1460 - 12 */
    CHECK_EQ(st.ssthresh, UINT32_MAX);
    CHECK_EQ(st.fast_retransmits, 0);
    /* Nagle off on c: two small sends go as two segments at once. */
    struct synack_stats before, after;
    synack_stack_stats(p.a, &before);
    CHECK_EQ(synack_send(p.a, c, "a", 1), 1);
    CHECK_EQ(synack_send(p.a, c, "b", 1), 1);
    synack_stack_stats(p.a, &after);
    CHECK_EQ(after.seg_out - before.seg_out, 2);
    /* Nagle on (the default) on s: the second small send waits for the ACK. */
    run_for(&p, 10000);
    synack_stack_stats(p.b, &before);
    CHECK_EQ(synack_send(p.b, s, "a", 1), 1);
    CHECK_EQ(synack_send(p.b, s, "b", 1), 1);
    synack_stack_stats(p.b, &after);
    CHECK_EQ(after.seg_out - before.seg_out, 1);
    run_for(&p, 10000);
    char buf[8];
    CHECK_EQ(synack_recv(p.a, c, buf, sizeof buf), 2);
    pair_free(&p);
}

static void test_keepalive_option(void)
{
    struct pair p;
    REQUIRE(pair_init(&p));
    int lfd, c, s;
    REQUIRE(connected_pair(&p, &lfd, &c, &s));
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPIDLE, 10 * SEC), 0);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPINTVL, 1 * SEC), 0);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPCNT, 3), 0);
    CHECK_EQ(synack_setopt(p.a, c, SYNACK_OPT_KEEPALIVE, 1), 0);
    /* A live peer answers the probes: the connection stays. */
    run_for(&p, 60 * SEC);
    CHECK_EQ(synack_error(p.a, c), 0);
    CHECK_EQ(synack_state(p.a, c), SYNACK_ESTABLISHED);
    /* The peer vanishes: 3 unanswered probes after the idle time end it (RFC 9293 3.8.4). */
    struct memnet_path hole = {.delay_us = 1000, .loss = 1.0};
    memnet_set_path(p.net, IP_B, IP_A, &hole);
    uint64_t start = memnet_now(p.net);
    while (synack_error(p.a, c) == 0 && memnet_now(p.net) < start + 100 * SEC)
        run_for(&p, 100000);
    CHECK_EQ(synack_error(p.a, c), SYNACK_ETIMEDOUT);
    uint64_t took = memnet_now(p.net) - start;
    /* The last answer came at most 10 s before start: probe at +10 s, +11 s, +12 s, the
     * end at +13 s. */
    CHECK(took > 3 * SEC && took <= 13 * SEC + 200000);
    struct synack_stats sa;
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_timeout, 1);
    pair_free(&p);
}

int main(void)
{
    RUN(test_issue3_options_and_status);
    RUN(test_keepalive_option);
    RUN(test_names_and_defaults);
    RUN(test_stack_new_rejects_bad_config);
    RUN(test_null_stack_and_bad_descriptors);
    RUN(test_misuse_of_fresh_and_bound_sockets);
    RUN(test_misuse_of_connections);
    RUN(test_descriptor_reuse_and_stale_descriptors);
    RUN(test_readiness_and_events_through_a_connection);
    RUN(test_events_in_pieces);
    RUN(test_shutdown_read);
    RUN(test_status_reports_both_ends);
    RUN(test_ports_in_use_and_time_wait);
    RUN(test_ephemeral_ports);
    RUN(test_siphash_reference_vectors);
    RUN(test_siphash13_reference_vectors);
    RUN(test_isn_generator);
    RUN(test_fixed_key_makes_runs_reproducible);
    RUN(test_opt_iss_fixes_the_iss);
    RUN(test_buffer_options);
    RUN(test_user_timeout_option);
    return check_summary();
}
