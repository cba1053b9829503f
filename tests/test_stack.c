/*
 * test_stack.c: the host. Malformed packets are counted under the right reason and dropped;
 * segments to no connection are answered per RFC 9293 3.10.7.1; listeners bound their queues;
 * a reset half-open child is freed; a thousand concurrent echo connections over memnet close
 * cleanly and leave every counter at zero; a SYN reopens a connection in TIME-WAIT.
 */
#include <stdlib.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"
#include "tcp/seq.h"
#include "wire/wire.h"

#define IP_A 0x0a000001u /* 10.0.0.1: client */
#define IP_B 0x0a000002u /* 10.0.0.2: server */
#define IP_X 0x0a000063u /* 10.0.0.99: nobody */
#define SEC 1000000ull   /* microseconds */
#define MAX_CAPTURE 64

/* ---- A stack on a capturing link --------------------------------------------------------- */

struct capture {
    int n;
    size_t len[MAX_CAPTURE];
    uint8_t pkt[MAX_CAPTURE][1600];
};

static void capture_send(void *arg, const uint8_t *p, size_t n)
{
    struct capture *c = arg;
    if (c->n < MAX_CAPTURE && n <= sizeof c->pkt[0]) {
        memcpy(c->pkt[c->n], p, n);
        c->len[c->n++] = n;
    }
}

/* Parses captured packet i into *seg (and checks both checksums). */
static bool captured(const struct capture *c, int i, struct wire_tcp *seg)
{
    struct wire_ipv4 ip;
    if (i >= c->n || wire_ipv4_parse(c->pkt[i], c->len[i], &ip) != 0)
        return false;
    return wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, seg) == 0;
}

/* Trace events of one stack. */
struct evlog {
    int n;
    struct synack_event ev[256];
};

static void evlog_observe(void *arg, const struct synack_event *ev)
{
    struct evlog *l = arg;
    if (l->n < 256)
        l->ev[l->n++] = *ev;
}

static const struct synack_event *evlog_last(const struct evlog *l, int kind)
{
    for (int i = l->n - 1; i >= 0; i--)
        if (l->ev[i].kind == kind)
            return &l->ev[i];
    return NULL;
}

static struct synack_config config_for(uint32_t ip)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = ip;
    for (int i = 0; i < 16; i++)
        cfg.isn_key[i] = (uint8_t)(i * 17 + 3);
    return cfg;
}

/* Builds an IPv4/TCP packet from src:sport to dst:dport; returns its length. */
static size_t build(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags, const void *data, uint32_t len)
{
    struct wire_tcp_out seg = {0};
    seg.src = src;
    seg.dst = dst;
    seg.sport = sport;
    seg.dport = dport;
    seg.seq = seq;
    seg.ack = ack;
    seg.flags = flags;
    seg.wnd = 8192;
    seg.ttl = 64;
    seg.data[0] = data;
    seg.data_len[0] = len;
    if (flags & SYNACK_SYN) {
        seg.opts.present = WIRE_OPT_MSS;
        seg.opts.mss = 1460;
    }
    return wire_emit(buf, 1600, &seg);
}

static void fix_ip_csum(uint8_t *p)
{
    p[10] = p[11] = 0;
    uint16_t c = wire_csum_fold(wire_csum_add(0, p, (size_t)(p[0] & 0x0f) * 4));
    p[10] = (uint8_t)(c >> 8);
    p[11] = (uint8_t)c;
}

static void fix_tcp_csum(uint8_t *p, size_t len)
{
    uint8_t *t = p + 20;
    size_t tl = len - 20;
    t[16] = t[17] = 0;
    uint32_t src = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
    uint32_t dst = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    uint16_t c = wire_csum_fold(wire_csum_add(wire_csum_pseudo(src, dst, (uint16_t)tl), t, tl));
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
}

/* ---- Two stacks over memnet --------------------------------------------------------------- */

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
    struct synack_stack *a, *b; /* client at IP_A, server at IP_B */
};

static bool pair_init(struct pair *p, const struct synack_config *ca,
                      const struct synack_config *cb, uint64_t delay_us)
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
    struct memnet_path path = {.delay_us = delay_us};
    memnet_set_path(p->net, IP_A, IP_B, &path);
    memnet_set_path(p->net, IP_B, IP_A, &path);
    return true;
}

static void pair_free(struct pair *p)
{
    synack_stack_free(p->a);
    synack_stack_free(p->b);
    memnet_free(p->net);
}

static void pair_run_for(struct pair *p, uint64_t us)
{
    memnet_run_until(p->net, memnet_now(p->net) + us);
}

static int listen_on(struct synack_stack *s, uint16_t port, int backlog)
{
    int fd = synack_socket(s);
    struct synack_addr any = {0, port};
    if (fd < 0 || synack_bind(s, fd, &any) != 0 || synack_listen(s, fd, backlog) != 0)
        return -1;
    return fd;
}

static int connect_to(struct synack_stack *s, uint32_t ip, uint16_t port)
{
    int fd = synack_socket(s);
    struct synack_addr peer = {ip, port};
    if (fd < 0 || synack_connect(s, fd, &peer) != SYNACK_EINPROGRESS)
        return -1;
    return fd;
}

/* ---- Malformed input ---------------------------------------------------------------------- */

static void test_malformed_packets_are_counted_and_dropped(void)
{
    struct capture cap = {0};
    struct evlog log = {0};
    struct synack_config cfg = config_for(IP_B);
    struct synack_link link = {.arg = &cap, .send = capture_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    synack_stack_set_observer(s, evlog_observe, &log);
    /* Someone listens on port 80, so a valid segment would be answered. */
    REQUIRE(listen_on(s, 80, 8) >= 0);

    uint8_t good[1600], p[1600];
    size_t n = build(good, IP_A, 1234, IP_B, 80, 1000, 0, SYNACK_SYN, "hello", 5);
    REQUIRE(n > 0);
    int k = 0; /* packets fed */
    struct synack_stats st;

#define FEED(buf, size, why)                                                                 \
    do {                                                                                     \
        synack_stack_input(s, (buf), (size), 10);                                            \
        synack_stack_stats(s, &st);                                                          \
        CHECK_EQ(st.drops[why], 1);                                                          \
        const struct synack_event *e_ = evlog_last(&log, SYNACK_EV_DROP);                    \
        CHECK(e_ && e_->reason == (why));                                                    \
        k++;                                                                                 \
    } while (0)

    FEED(good, 10, SYNACK_DROP_IP_TRUNCATED);        /* shorter than an IPv4 header */
    memcpy(p, good, n);
    p[0] = 0x65;                                      /* version 6 */
    FEED(p, n, SYNACK_DROP_IP_VERSION);
    memcpy(p, good, n);
    p[0] = 0x44;                                      /* IHL 4 */
    fix_ip_csum(p);
    FEED(p, n, SYNACK_DROP_IP_HEADER);
    memcpy(p, good, n);
    p[11] ^= 0x01;                                    /* header checksum */
    FEED(p, n, SYNACK_DROP_IP_CHECKSUM);
    memcpy(p, good, n);
    p[6] = 0x20;                                      /* More Fragments */
    fix_ip_csum(p);
    FEED(p, n, SYNACK_DROP_IP_FRAGMENT);
    memcpy(p, good, n);
    p[9] = 17;                                        /* UDP */
    fix_ip_csum(p);
    FEED(p, n, SYNACK_DROP_IP_PROTOCOL);
    n = build(p, IP_A, 1234, IP_X, 80, 1000, 0, SYNACK_SYN, "hello", 5);
    FEED(p, n, SYNACK_DROP_IP_NOT_FOR_US);
    memcpy(p, good, 30);                              /* IP header + 10 bytes of TCP */
    p[2] = 0;
    p[3] = 30;
    fix_ip_csum(p);
    FEED(p, 30, SYNACK_DROP_TCP_TRUNCATED);
    n = build(p, IP_A, 1234, IP_B, 80, 1000, 0, SYNACK_SYN, "hello", 5);
    p[n - 1] ^= 0x40;                                 /* payload byte: TCP checksum */
    FEED(p, n, SYNACK_DROP_TCP_CHECKSUM);
    n = build(p, IP_A, 1234, IP_B, 80, 1000, 0, SYNACK_SYN, "hello", 5);
    p[32] = 0x40;                                     /* data offset 4 */
    fix_tcp_csum(p, n);
    FEED(p, n, SYNACK_DROP_TCP_OFFSET);
    n = build(p, IP_A, 0, IP_B, 80, 1000, 0, SYNACK_SYN, NULL, 0);
    FEED(p, n, SYNACK_DROP_TCP_BAD_PORT);             /* source port 0 */
    const struct synack_event *e = evlog_last(&log, SYNACK_EV_DROP);
    CHECK(e && e->local.ip == IP_B && e->remote.ip == IP_A && e->local.port == 80);
#undef FEED

    /* Destination port 0 counts under the same reason. */
    n = build(p, IP_A, 1234, IP_B, 0, 1000, 0, SYNACK_SYN, NULL, 0);
    synack_stack_input(s, p, n, 10);
    synack_stack_input(s, NULL, 0, 10);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_TCP_BAD_PORT], 2);
    CHECK_EQ(st.drops[SYNACK_DROP_IP_TRUNCATED], 2);
    CHECK_EQ(st.ip_in, (uint64_t)k + 2);
    CHECK_EQ(st.seg_in, 0);     /* none was a valid segment */
    CHECK_EQ(cap.n, 0);         /* nothing answered */
    CHECK_EQ(st.conn_current, 0);

    /* The valid original still opens a connection afterwards. */
    synack_stack_input(s, good, build(good, IP_A, 1234, IP_B, 80, 1000, 0, SYNACK_SYN, NULL, 0),
                       20);
    struct wire_tcp seg;
    REQUIRE(captured(&cap, 0, &seg));
    CHECK_EQ(seg.flags, SYNACK_SYN | SYNACK_ACK);
    CHECK_EQ(seg.ack, 1001);
    synack_stack_free(s);
}

/* ---- No connection ------------------------------------------------------------------------ */

static void test_segments_to_a_closed_port_get_resets(void)
{
    struct capture cap = {0};
    struct evlog log = {0};
    struct synack_config cfg = config_for(IP_B);
    struct synack_link link = {.arg = &cap, .send = capture_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    synack_stack_set_observer(s, evlog_observe, &log);
    uint8_t p[1600];
    struct wire_tcp seg;

    /* RFC 9293 3.10.7.1: SYN (no ACK) -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 81, 7000, 0, SYNACK_SYN, NULL, 0), 5);
    REQUIRE(captured(&cap, 0, &seg));
    CHECK_EQ(seg.flags, SYNACK_RST | SYNACK_ACK);
    CHECK_EQ(seg.seq, 0);
    CHECK_EQ(seg.ack, 7001);
    CHECK_EQ(seg.sport, 81);
    CHECK_EQ(seg.dport, 4000);
    const struct synack_event *in = evlog_last(&log, SYNACK_EV_SEG_IN);
    REQUIRE(in);
    CHECK_EQ(in->reason, SYNACK_DROP_NO_SOCKET);
    CHECK_EQ(in->state, SYNACK_CLOSED);
    CHECK(in->local.ip == IP_B && in->local.port == 81 && in->remote.port == 4000);
    const struct synack_event *out = evlog_last(&log, SYNACK_EV_SEG_OUT);
    REQUIRE(out);
    CHECK_EQ(out->flags, SYNACK_RST | SYNACK_ACK);
    CHECK_EQ(out->ack, 7001);

    /* Data with ACK -> <SEQ=SEG.ACK><CTL=RST>. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 81, 7001, 555, SYNACK_ACK, "xyz", 3),
                       6);
    REQUIRE(captured(&cap, 1, &seg));
    CHECK_EQ(seg.flags, SYNACK_RST);
    CHECK_EQ(seg.seq, 555);
    /* A RST is never answered. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 81, 7001, 0, SYNACK_RST, NULL, 0), 7);
    CHECK_EQ(cap.n, 2);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_NO_SOCKET], 3);
    CHECK_EQ(st.rst_out, 2);
    CHECK_EQ(st.seg_in, 3);
    synack_stack_free(s);
}

static void test_non_syn_to_listener(void)
{
    struct capture cap = {0};
    struct synack_config cfg = config_for(IP_B);
    struct synack_link link = {.arg = &cap, .send = capture_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    REQUIRE(listen_on(s, 80, 4) >= 0);
    uint8_t p[1600];
    struct wire_tcp seg;
    /* RFC 9293 3.10.7.2: an ACK to a listener -> <SEQ=SEG.ACK><CTL=RST>. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 1, 999, SYNACK_ACK, NULL, 0), 5);
    REQUIRE(captured(&cap, 0, &seg));
    CHECK_EQ(seg.flags, SYNACK_RST);
    CHECK_EQ(seg.seq, 999);
    /* RST: ignored. Neither ACK nor SYN: dropped. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 1, 0, SYNACK_RST, NULL, 0), 5);
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 1, 0, SYNACK_FIN, NULL, 0), 5);
    CHECK_EQ(cap.n, 1);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_RST_IGNORED], 1);
    CHECK_EQ(st.drops[SYNACK_DROP_BAD_SEGMENT], 1);
    CHECK_EQ(st.drops[SYNACK_DROP_ACK_UNACCEPTABLE], 1);
    CHECK_EQ(st.conn_current, 0);
    synack_stack_free(s);
}

static void test_connect_to_closed_port_is_refused(void)
{
    struct pair p;
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    REQUIRE(pair_init(&p, &ca, &cb, 1000));
    int fd = connect_to(p.a, IP_B, 9);
    REQUIRE(fd >= 0);
    pair_run_for(&p, 100000);
    CHECK_EQ(synack_error(p.a, fd), SYNACK_ECONNREFUSED);
    CHECK_EQ(synack_state(p.a, fd), SYNACK_CLOSED);
    int mask = synack_readiness(p.a, fd);
    CHECK(mask & SYNACK_ERROR);
    CHECK(mask & SYNACK_TERMINATED);
    CHECK(!(mask & SYNACK_CONNECTED));
    char buf[8];
    CHECK_EQ(synack_recv(p.a, fd, buf, sizeof buf), SYNACK_ECONNREFUSED);
    struct synack_stats sa, sb;
    synack_stack_stats(p.a, &sa);
    synack_stack_stats(p.b, &sb);
    CHECK_EQ(sb.drops[SYNACK_DROP_NO_SOCKET], 1);
    CHECK_EQ(sb.rst_out, 1);
    CHECK_EQ(sa.conn_reset, 1);
    CHECK_EQ(sa.conn_current, 0); /* out of the table, held only by its descriptor */
    CHECK_EQ(synack_close(p.a, fd), 0);
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.sockets_current, 0);
    pair_free(&p);
}

/* ---- Listener queues ---------------------------------------------------------------------- */

static void test_backlog_drops_until_accept_makes_room(void)
{
    struct pair p;
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    REQUIRE(pair_init(&p, &ca, &cb, 1000));
    int lfd = listen_on(p.b, 80, 2);
    REQUIRE(lfd >= 0);
    int c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = connect_to(p.a, IP_B, 80);
        REQUIRE(c[i] >= 0);
    }
    pair_run_for(&p, 100000); /* well before the 1 s SYN retransmission */
    struct synack_stats sb;
    synack_stack_stats(p.b, &sb);
    CHECK_EQ(sb.drops[SYNACK_DROP_BACKLOG_FULL], 1);
    CHECK_EQ(sb.conn_current, 2);
    CHECK_EQ(synack_state(p.a, c[2]), SYNACK_SYN_SENT);
    CHECK(synack_readiness(p.b, lfd) & SYNACK_ACCEPTABLE);

    /* Two wait for accept; the queue stays full while nobody accepts. */
    pair_run_for(&p, 1500000); /* the third SYN is retransmitted and dropped again */
    synack_stack_stats(p.b, &sb);
    CHECK(sb.drops[SYNACK_DROP_BACKLOG_FULL] >= 2);
    CHECK_EQ(synack_state(p.a, c[2]), SYNACK_SYN_SENT);

    struct synack_addr peer;
    int s1 = synack_accept(p.b, lfd, &peer);
    CHECK(s1 >= 0);
    CHECK_EQ(peer.ip, IP_A);
    pair_run_for(&p, 5000000); /* the next retransmission finds room */
    CHECK_EQ(synack_state(p.a, c[2]), SYNACK_ESTABLISHED);
    int s2 = synack_accept(p.b, lfd, NULL);
    int s3 = synack_accept(p.b, lfd, NULL);
    CHECK(s2 >= 0 && s3 >= 0);
    CHECK_EQ(synack_accept(p.b, lfd, NULL), SYNACK_EAGAIN);
    CHECK(!(synack_readiness(p.b, lfd) & SYNACK_ACCEPTABLE));
    pair_free(&p);
}

static void test_reset_half_open_child_is_freed(void)
{
    struct capture cap = {0};
    struct synack_config cfg = config_for(IP_B);
    struct synack_link link = {.arg = &cap, .send = capture_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int lfd = listen_on(s, 80, 1);
    REQUIRE(lfd >= 0);
    uint8_t p[1600];
    struct wire_tcp synack;
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 100, 0, SYNACK_SYN, NULL, 0), 10);
    REQUIRE(captured(&cap, 0, &synack));
    CHECK_EQ(synack.flags, SYNACK_SYN | SYNACK_ACK);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.conn_current, 1);
    CHECK(synack_stack_next_deadline(s) != UINT64_MAX); /* SYN-ACK retransmission timer */

    /* With backlog 1 the half-open child fills the listener. */
    synack_stack_input(s, p, build(p, IP_A, 4001, IP_B, 80, 500, 0, SYNACK_SYN, NULL, 0), 11);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_BACKLOG_FULL], 1);
    CHECK_EQ(cap.n, 1);

    /* RFC 9293 3.10.7.4: an acceptable RST in SYN-RECEIVED returns the child to LISTEN. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 101, 0, SYNACK_RST, NULL, 0), 12);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.conn_current, 0);
    CHECK_EQ(synack_stack_next_deadline(s), UINT64_MAX); /* its timer went with it */
    CHECK_EQ(synack_accept(s, lfd, NULL), SYNACK_EAGAIN);

    /* The listener goes on: a new SYN completes a handshake and can be accepted. */
    synack_stack_input(s, p, build(p, IP_A, 4001, IP_B, 80, 500, 0, SYNACK_SYN, NULL, 0), 13);
    REQUIRE(captured(&cap, 1, &synack));
    CHECK_EQ(synack.flags, SYNACK_SYN | SYNACK_ACK);
    CHECK_EQ(synack.ack, 501);
    synack_stack_input(s, p, build(p, IP_A, 4001, IP_B, 80, 501, synack.seq + 1, SYNACK_ACK,
                                   NULL, 0), 14);
    struct synack_addr peer;
    int fd = synack_accept(s, lfd, &peer);
    CHECK(fd >= 0);
    CHECK_EQ(peer.port, 4001);
    CHECK_EQ(synack_state(s, fd), SYNACK_ESTABLISHED);
    synack_stack_free(s);
}

static void test_closing_listener_resets_children(void)
{
    struct capture cap = {0};
    struct synack_config cfg = config_for(IP_B);
    struct synack_link link = {.arg = &cap, .send = capture_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    int lfd = listen_on(s, 80, 4);
    REQUIRE(lfd >= 0);
    uint8_t p[1600];
    struct wire_tcp seg;
    /* One child established (not accepted), one half-open. */
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 100, 0, SYNACK_SYN, NULL, 0), 10);
    REQUIRE(captured(&cap, 0, &seg));
    synack_stack_input(s, p, build(p, IP_A, 4000, IP_B, 80, 101, seg.seq + 1, SYNACK_ACK, NULL,
                                   0), 11);
    synack_stack_input(s, p, build(p, IP_A, 4001, IP_B, 80, 900, 0, SYNACK_SYN, NULL, 0), 12);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK_EQ(st.conn_current, 2);
    CHECK(synack_readiness(s, lfd) & SYNACK_ACCEPTABLE);
    int before = cap.n;
    CHECK_EQ(synack_close(s, lfd), 0);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.conn_current, 0);
    CHECK_EQ(st.sockets_current, 0);
    CHECK_EQ(cap.n, before + 2); /* a RST to each */
    for (int i = before; i < cap.n; i++) {
        REQUIRE(captured(&cap, i, &seg));
        CHECK(seg.flags & SYNACK_RST);
    }
    /* The port is free again, and nobody answers on it but the RFC 9293 3.10.7.1 reset. */
    int fd = synack_socket(s);
    struct synack_addr a80 = {0, 80};
    CHECK_EQ(synack_bind(s, fd, &a80), 0);
    synack_stack_free(s);
}

/* ---- A thousand echo connections ---------------------------------------------------------- */

#define NCONN 1000
#define ECHO_MAX 1200

struct client_conn {
    int fd;
    uint32_t len;            /* payload length */
    uint32_t sent, got;      /* bytes sent / echoed back */
    bool closed;
    uint8_t echo[ECHO_MAX];
};

struct echo_world {
    struct pair p;
    int lfd;
    struct client_conn c[NCONN];
    int by_fd[2 * NCONN + 16];  /* client fd -> index */
    int server_open;            /* server connections not yet closed */
    int server_accepted;
    int done_clients;
    bool failed;
    uint32_t max_time_wait;     /* most client connections seen in TIME-WAIT */
};

static uint8_t payload_byte(int i, uint32_t off)
{
    return (uint8_t)(i * 31 + off * 7 + (off >> 8));
}

/* The server: accept, echo everything, close at end-of-file. Driven by synack_events. */
static void server_step(struct echo_world *w)
{
    struct synack_stack *s = w->p.b;
    struct synack_sock_event ev[64];
    int n;
    while ((n = synack_events(s, ev, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            int fd = ev[i].fd;
            if (fd == w->lfd) {
                int c;
                while ((c = synack_accept(s, w->lfd, NULL)) >= 0) {
                    w->server_open++;
                    w->server_accepted++;
                }
                continue;
            }
            if (!(ev[i].mask & SYNACK_READABLE))
                continue;
            uint8_t buf[1500];
            int r;
            while ((r = synack_recv(s, fd, buf, sizeof buf)) > 0) {
                int m = synack_send(s, fd, buf, (size_t)r);
                if (m != r) /* buffers are large enough that the echo always fits */
                    w->failed = true;
            }
            if (r == 0) {
                synack_close(s, fd);
                w->server_open--;
            } else if (r != SYNACK_EAGAIN) {
                w->failed = true;
            }
        }
    }
    /* Sockets whose mask did not change (e.g. readable again) are polled too. */
}

static void client_step(struct echo_world *w)
{
    struct synack_stack *s = w->p.a;
    struct synack_sock_event ev[64];
    int n;
    while ((n = synack_events(s, ev, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            int idx = w->by_fd[ev[i].fd];
            struct client_conn *c = &w->c[idx];
            if (c->closed)
                continue;
            if ((ev[i].mask & SYNACK_CONNECTED) && c->sent < c->len) {
                uint8_t buf[ECHO_MAX];
                for (uint32_t k = 0; k < c->len; k++)
                    buf[k] = payload_byte(idx, k);
                int r = synack_send(s, c->fd, buf + c->sent, c->len - c->sent);
                if (r > 0)
                    c->sent += (uint32_t)r;
            }
            if (ev[i].mask & SYNACK_ERROR)
                w->failed = true;
            int r;
            while (c->got < c->len &&
                   (r = synack_recv(s, c->fd, c->echo + c->got, c->len - c->got)) > 0)
                c->got += (uint32_t)r;
            if (c->got == c->len && !c->closed) {
                for (uint32_t k = 0; k < c->len; k++)
                    if (c->echo[k] != payload_byte(idx, k))
                        w->failed = true;
                synack_close(s, c->fd); /* the client closes first: it will hold TIME-WAIT */
                c->closed = true;
                w->done_clients++;
            }
        }
    }
    struct synack_stats st;
    synack_stack_stats(s, &st);
    if (st.time_wait_current > w->max_time_wait)
        w->max_time_wait = (uint32_t)st.time_wait_current;
}

static bool echo_done(void *arg)
{
    struct echo_world *w = arg;
    server_step(w);
    client_step(w);
    return w->failed || (w->done_clients == NCONN && w->server_open == 0);
}

static void test_thousand_concurrent_echo_connections(void)
{
    static struct echo_world w;
    memset(&w, 0, sizeof w);
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    ca.sndbuf = ca.rcvbuf = cb.sndbuf = cb.rcvbuf = 4096;
    REQUIRE(pair_init(&w.p, &ca, &cb, 2000));
    w.lfd = listen_on(w.p.b, 7, NCONN);
    REQUIRE(w.lfd >= 0);
    uint16_t seen_port[NCONN];
    for (int i = 0; i < NCONN; i++) {
        w.c[i].len = 1 + (uint32_t)(i * 37) % ECHO_MAX;
        w.c[i].fd = connect_to(w.p.a, IP_B, 7);
        REQUIRE(w.c[i].fd >= 0);
        w.by_fd[w.c[i].fd] = i;
        struct synack_addr me;
        synack_getsockname(w.p.a, w.c[i].fd, &me);
        seen_port[i] = me.port;
    }
    /* Every connection got its own ephemeral port. */
    static bool used[65536];
    memset(used, 0, sizeof used);
    int distinct = 0;
    for (int i = 0; i < NCONN; i++) {
        CHECK(seen_port[i] >= 49152);
        distinct += !used[seen_port[i]];
        used[seen_port[i]] = true;
    }
    CHECK_EQ(distinct, NCONN);

    bool ok = memnet_run(w.p.net, echo_done, &w, 60 * SEC);
    CHECK(ok);
    CHECK(!w.failed);
    CHECK_EQ(w.done_clients, NCONN);
    CHECK_EQ(w.server_accepted, NCONN);

    struct synack_stats sa, sb;
    synack_stack_stats(w.p.a, &sa);
    synack_stack_stats(w.p.b, &sb);
    CHECK_EQ(sa.conn_established, NCONN);
    CHECK_EQ(sb.conn_established, NCONN);
    CHECK_EQ(sb.conn_passive, NCONN);
    CHECK_EQ(sa.retransmits + sb.retransmits, 0); /* a perfect network */
    /* The server side finished with LAST-ACK -> CLOSED; the clients wait in TIME-WAIT. */
    pair_run_for(&w.p, 100000);
    synack_stack_stats(w.p.a, &sa);
    synack_stack_stats(w.p.b, &sb);
    CHECK_EQ(sb.conn_current, 0);
    CHECK_EQ(sa.time_wait_current, NCONN);
    CHECK_EQ(sa.conn_current, NCONN);
    CHECK_EQ(sa.sockets_current, 0);

    /* 2 x MSL later everything is gone. */
    pair_run_for(&w.p, 2 * ca.msl_us + SEC);
    synack_stack_stats(w.p.a, &sa);
    CHECK_EQ(sa.conn_current, 0);
    CHECK_EQ(sa.time_wait_current, 0);
    CHECK_EQ(sa.sockets_current, 0);
    CHECK_EQ(synack_stack_next_deadline(w.p.a), UINT64_MAX);
    CHECK_EQ(synack_close(w.p.b, w.lfd), 0);
    synack_stack_stats(w.p.b, &sb);
    CHECK_EQ(sb.conn_current, 0);
    CHECK_EQ(sb.time_wait_current, 0);
    CHECK_EQ(sb.sockets_current, 0);
    CHECK_EQ(synack_stack_next_deadline(w.p.b), UINT64_MAX);
    pair_free(&w.p);
}

/* ---- TIME-WAIT reopen --------------------------------------------------------------------- */

/* Server closes first, so the server's end of the 4-tuple sits in TIME-WAIT; the client then
 * connects again from the same port. Returns the server's old SND.NXT (after its FIN) and
 * leaves the pair ready for the second SYN. */
struct reopen {
    struct pair p;
    int lfd;
    uint16_t cport;
    uint32_t old_snd_nxt;    /* server's SND.NXT in TIME-WAIT */
};

static bool reopen_setup(struct reopen *r, uint32_t server_bytes)
{
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    ca.rcvbuf = cb.sndbuf = 256 * 1024;
    if (!pair_init(&r->p, &ca, &cb, 100))
        return false;
    r->lfd = listen_on(r->p.b, 80, 4);
    int c = connect_to(r->p.a, IP_B, 80);
    pair_run_for(&r->p, 10000);
    int s = synack_accept(r->p.b, r->lfd, NULL);
    if (r->lfd < 0 || c < 0 || s < 0)
        return false;
    struct synack_addr me;
    synack_getsockname(r->p.a, c, &me);
    r->cport = me.port;
    static uint8_t big[200 * 1024];
    uint32_t off = 0;
    uint8_t sink[4096];
    while (off < server_bytes) { /* the server sends, the client reads it all */
        int n = synack_send(r->p.b, s, big + off, server_bytes - off);
        if (n > 0)
            off += (uint32_t)n;
        pair_run_for(&r->p, 1000);
        while (synack_recv(r->p.a, c, sink, sizeof sink) > 0)
            ;
    }
    pair_run_for(&r->p, 10000);
    while (synack_recv(r->p.a, c, sink, sizeof sink) > 0)
        ;
    struct synack_status st;
    synack_status(r->p.b, s, &st);
    r->old_snd_nxt = st.snd_nxt + 1; /* + its FIN */
    synack_close(r->p.b, s);          /* server: FIN-WAIT-1 */
    pair_run_for(&r->p, 10000);
    if (synack_recv(r->p.a, c, sink, sizeof sink) != 0) /* client: EOF in CLOSE-WAIT */
        return false;
    synack_close(r->p.a, c);          /* client: LAST-ACK -> CLOSED; server: TIME-WAIT */
    pair_run_for(&r->p, 10000);
    struct synack_stats sb;
    synack_stack_stats(r->p.b, &sb);
    return sb.time_wait_current == 1;
}

static int reconnect_from(struct reopen *r)
{
    int fd = synack_socket(r->p.a);
    struct synack_addr me = {0, r->cport}, srv = {IP_B, 80};
    if (synack_bind(r->p.a, fd, &me) != 0 || synack_connect(r->p.a, fd, &srv) !=
                                                 SYNACK_EINPROGRESS)
        return -1;
    return fd;
}

static void test_syn_reopens_time_wait(void)
{
    struct reopen r;
    REQUIRE(reopen_setup(&r, 100));
    pair_run_for(&r.p, SEC); /* a while: the client's ISN clock has moved on */
    int fd = reconnect_from(&r);
    REQUIRE(fd >= 0);
    pair_run_for(&r.p, 10000);
    CHECK_EQ(synack_state(r.p.a, fd), SYNACK_ESTABLISHED);
    struct synack_stats sb;
    synack_stack_stats(r.p.b, &sb);
    CHECK_EQ(sb.time_wait_current, 0);
    CHECK_EQ(sb.conn_current, 1);
    int s = synack_accept(r.p.b, r.lfd, NULL);
    CHECK(s >= 0);
    struct synack_status st;
    synack_status(r.p.b, s, &st);
    CHECK(seq_gt(st.iss, r.old_snd_nxt));
    pair_free(&r.p);
}

static void test_reopen_iss_above_old_snd_nxt(void)
{
    /* The server sent 200 KB within a few milliseconds, more than its ISN clock advanced
     * (1 per 4 us), so the generated ISS would fall inside the old sequence space: the stack
     * must start the new incarnation above the old SND.NXT. */
    struct reopen r;
    REQUIRE(reopen_setup(&r, 200 * 1024));
    int fd = reconnect_from(&r);
    REQUIRE(fd >= 0);
    pair_run_for(&r.p, 10000);
    CHECK_EQ(synack_state(r.p.a, fd), SYNACK_ESTABLISHED);
    int s = synack_accept(r.p.b, r.lfd, NULL);
    REQUIRE(s >= 0);
    struct synack_status st;
    synack_status(r.p.b, s, &st);
    CHECK_EQ(st.iss, r.old_snd_nxt + 1);
    pair_free(&r.p);
}

/* ---- Orphans ------------------------------------------------------------------------------ */

static void test_orphan_in_fin_wait_2_is_reaped(void)
{
    struct pair p;
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    ca.msl_us = cb.msl_us = 10 * SEC;
    REQUIRE(pair_init(&p, &ca, &cb, 1000));
    int lfd = listen_on(p.b, 80, 4);
    int c = connect_to(p.a, IP_B, 80);
    pair_run_for(&p, 10000);
    int s = synack_accept(p.b, lfd, NULL);
    REQUIRE(s >= 0);
    /* The client closes; the server application never does: FIN-WAIT-2 for ever... */
    CHECK_EQ(synack_close(p.a, c), 0);
    pair_run_for(&p, 10000);
    struct synack_stats sa;
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_current, 1);
    CHECK_EQ(synack_state(p.b, s), SYNACK_CLOSE_WAIT);
    /* ...but not for an orphan: after 2 x MSL it is aborted, with a RST to the peer. */
    pair_run_for(&p, 2 * ca.msl_us - 1 * SEC);
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_current, 1);
    pair_run_for(&p, 2 * SEC);
    synack_stack_stats(p.a, &sa);
    CHECK_EQ(sa.conn_current, 0);
    CHECK_EQ(sa.rst_out, 1);
    CHECK_EQ(synack_error(p.b, s), SYNACK_ECONNRESET);
    CHECK_EQ(synack_stack_next_deadline(p.a), UINT64_MAX);

    /* A connection whose descriptor is open may stay in FIN-WAIT-2 as long as it likes. */
    int c2 = connect_to(p.a, IP_B, 80);
    pair_run_for(&p, 10000);
    int s2 = synack_accept(p.b, lfd, NULL);
    REQUIRE(s2 >= 0);
    CHECK_EQ(synack_shutdown(p.a, c2, SYNACK_SHUT_WR), 0);
    pair_run_for(&p, 10 * ca.msl_us);
    CHECK_EQ(synack_state(p.a, c2), SYNACK_FIN_WAIT_2);
    pair_free(&p);
}

int main(void)
{
    RUN(test_malformed_packets_are_counted_and_dropped);
    RUN(test_segments_to_a_closed_port_get_resets);
    RUN(test_non_syn_to_listener);
    RUN(test_connect_to_closed_port_is_refused);
    RUN(test_backlog_drops_until_accept_makes_room);
    RUN(test_reset_half_open_child_is_freed);
    RUN(test_closing_listener_resets_children);
    RUN(test_thousand_concurrent_echo_connections);
    RUN(test_syn_reopens_time_wait);
    RUN(test_reopen_iss_above_old_snd_nxt);
    RUN(test_orphan_in_fin_wait_2_is_reaped);
    return check_summary();
}
