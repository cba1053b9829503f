/*
 * test_pcap.c: the pcap writer (src/link/pcap.h): file header (magic, version, snaplen, link
 * type 228), record headers (timestamps in microseconds and nanoseconds, captured and
 * original lengths), truncation at the snaplen, non-IPv4 packets skipped, the link tap in
 * both directions, and a capture of a real exchange between two stacks on memnet whose
 * records parse back as the segments the stacks sent, with virtual timestamps.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "link/memnet.h"
#include "link/pcap.h"
#include "synack.h"
#include "wire/wire.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Reads the whole file f (rewound) into a new buffer; *len gets its size. */
static uint8_t *slurp(FILE *f, size_t *len)
{
    fflush(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* Minimal IPv4 "packet": version 4, then filler. Only the version nibble matters to the
 * writer. */
static void fake_ipv4(uint8_t *p, size_t len, uint8_t fill)
{
    memset(p, fill, len);
    p[0] = 0x45;
}

/* A writer on a temporary file; *f stays readable after pcap_close(w). */
static bool capture_open(FILE **f, struct pcap_writer **w, bool ns)
{
    *f = tmpfile();
    if (*f == NULL)
        return false;
    /* The writer takes over a stream; give it a duplicate so the test can read the file
     * after pcap_close() closed the writer's. */
    int fd = dup(fileno(*f));
    *w = pcap_open_stream(fd >= 0 ? fdopen(fd, "wb") : NULL, ns);
    return *w != NULL;
}

static void test_file_header_microseconds(void)
{
    char path[] = "/tmp/synack-test-pcap-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    struct pcap_writer *w = pcap_open(path, false);
    REQUIRE(w != NULL);
    CHECK_EQ(pcap_close(w), 0);
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    size_t len = 0;
    uint8_t *b = slurp(f, &len);
    fclose(f);
    remove(path);
    REQUIRE(b != NULL);
    CHECK_EQ(len, PCAP_FILE_HDR_LEN);
    CHECK_EQ(le32(b), 0xa1b2c3d4u);  /* microsecond magic, little-endian */
    CHECK_EQ(b[0], 0xd4);
    CHECK_EQ(le16(b + 4), 2);        /* version 2.4 */
    CHECK_EQ(le16(b + 6), 4);
    CHECK_EQ(le32(b + 8), 0);        /* thiszone */
    CHECK_EQ(le32(b + 12), 0);       /* sigfigs */
    CHECK_EQ(le32(b + 16), 65535);   /* snaplen */
    CHECK_EQ(le32(b + 20), 228);     /* LINKTYPE_IPV4 */
    free(b);
}

static void test_records_and_timestamps(void)
{
    FILE *f;
    struct pcap_writer *w;
    REQUIRE(capture_open(&f, &w, false));
    uint8_t p1[40], p2[60];
    fake_ipv4(p1, sizeof p1, 0x11);
    fake_ipv4(p2, sizeof p2, 0x22);
    /* 3.000001234 s: microseconds keep 1, the nanoseconds are cut. */
    CHECK(pcap_write(w, 3000001234ull, p1, sizeof p1));
    CHECK(pcap_write(w, 1700000000ull * 1000000000ull + 999999999ull, p2, sizeof p2));
    struct pcap_stats st;
    pcap_stats(w, &st);
    CHECK_EQ(st.packets, 2);
    CHECK_EQ(st.bytes, 100);
    CHECK_EQ(pcap_close(w), 0);
    size_t len = 0;
    uint8_t *b = slurp(f, &len);
    fclose(f);
    REQUIRE(b != NULL);
    REQUIRE(len == PCAP_FILE_HDR_LEN + 2 * PCAP_REC_HDR_LEN + 100);
    const uint8_t *r = b + PCAP_FILE_HDR_LEN;
    CHECK_EQ(le32(r), 3);           /* seconds */
    CHECK_EQ(le32(r + 4), 1);       /* microseconds */
    CHECK_EQ(le32(r + 8), 40);      /* captured length */
    CHECK_EQ(le32(r + 12), 40);     /* original length */
    CHECK(memcmp(r + 16, p1, 40) == 0);
    r += PCAP_REC_HDR_LEN + 40;
    CHECK_EQ(le32(r), 1700000000u);
    CHECK_EQ(le32(r + 4), 999999);
    CHECK_EQ(le32(r + 8), 60);
    CHECK(memcmp(r + 16, p2, 60) == 0);
    free(b);
}

static void test_nanosecond_records(void)
{
    FILE *f;
    struct pcap_writer *w;
    REQUIRE(capture_open(&f, &w, true));
    uint8_t p[20];
    fake_ipv4(p, sizeof p, 0);
    CHECK(pcap_write(w, 5000000123ull, p, sizeof p));
    CHECK_EQ(pcap_close(w), 0);
    size_t len = 0;
    uint8_t *b = slurp(f, &len);
    fclose(f);
    REQUIRE(b != NULL && len == PCAP_FILE_HDR_LEN + PCAP_REC_HDR_LEN + 20);
    CHECK_EQ(le32(b), 0xa1b23c4du); /* nanosecond magic */
    CHECK_EQ(le32(b + PCAP_FILE_HDR_LEN), 5);
    CHECK_EQ(le32(b + PCAP_FILE_HDR_LEN + 4), 123);
    free(b);
}

/* A packet over the snaplen is cut there; the record keeps its original length. Non-IPv4
 * packets are not written. */
static void test_truncation_and_skips(void)
{
    FILE *f;
    struct pcap_writer *w;
    REQUIRE(capture_open(&f, &w, false));
    size_t big = 70000;
    uint8_t *p = malloc(big);
    REQUIRE(p != NULL);
    fake_ipv4(p, big, 0x5a);
    CHECK(pcap_write(w, 0, p, big));
    uint8_t v6[40];
    memset(v6, 0, sizeof v6);
    v6[0] = 0x60; /* IPv6 */
    CHECK(!pcap_write(w, 0, v6, sizeof v6));
    CHECK(!pcap_write(w, 0, v6, 0));
    CHECK(!pcap_write(NULL, 0, p, 20));
    struct pcap_stats st;
    pcap_stats(w, &st);
    CHECK_EQ(st.packets, 1);
    CHECK_EQ(st.skipped, 2);
    CHECK_EQ(st.bytes, PCAP_SNAPLEN);
    CHECK_EQ(pcap_close(w), 0);
    size_t len = 0;
    uint8_t *b = slurp(f, &len);
    fclose(f);
    REQUIRE(b != NULL);
    CHECK_EQ(len, PCAP_FILE_HDR_LEN + PCAP_REC_HDR_LEN + PCAP_SNAPLEN);
    CHECK_EQ(le32(b + PCAP_FILE_HDR_LEN + 8), PCAP_SNAPLEN);
    CHECK_EQ(le32(b + PCAP_FILE_HDR_LEN + 12), 70000);
    free(b);
    free(p);
}

/* Opening a file in a directory that does not exist fails with errno set. */
static void test_open_errors(void)
{
    CHECK(pcap_open("/nonexistent-dir-synack/x.pcap", false) == NULL);
    CHECK(pcap_open(NULL, false) == NULL);
    CHECK(pcap_open_stream(NULL, false) == NULL);
    CHECK_EQ(pcap_close(NULL), 0);
}

/* ---- The tap on a real exchange --------------------------------------------------------- */

#define IP_A 0x0a000001u
#define IP_B 0x0a000002u

struct tapped {
    struct memnet *net;
    struct synack_stack *a, *b;
    struct pcap_tap tap;      /* on A's link: what A sends and receives */
};

static uint64_t virtual_ns(void *arg)
{
    return memnet_now(arg) * 1000u;
}

static void a_input(void *arg, const uint8_t *p, size_t len, uint64_t now)
{
    struct tapped *t = arg;
    pcap_tap_input(&t->tap, p, len);
    synack_stack_input(t->a, p, len, now);
}

static uint64_t a_poll(void *arg, uint64_t now)
{
    struct tapped *t = arg;
    return synack_stack_poll(t->a, now);
}

static void b_input(void *arg, const uint8_t *p, size_t len, uint64_t now)
{
    synack_stack_input(arg, p, len, now);
}

static uint64_t b_poll(void *arg, uint64_t now)
{
    return synack_stack_poll(arg, now);
}

/* A connects to B over a 5 ms path and sends 3000 bytes; A's tap records both directions
 * with virtual timestamps. Every record parses as IPv4/TCP with good checksums, the first is
 * A's SYN at time 0 and the second B's SYN-ACK at 10 ms (two path delays). */
static void test_tap_records_exchange(void)
{
    struct tapped t;
    memset(&t, 0, sizeof t);
    t.net = memnet_new(3);
    REQUIRE(t.net != NULL);
    int na = memnet_add_node(t.net, IP_A), nb = memnet_add_node(t.net, IP_B);
    struct memnet_path path = {.delay_us = 5000};
    memnet_set_path(t.net, IP_A, IP_B, &path);
    memnet_set_path(t.net, IP_B, IP_A, &path);
    FILE *f;
    struct pcap_writer *w;
    REQUIRE(capture_open(&f, &w, false));
    t.tap.w = w;
    t.tap.inner = memnet_link(t.net, na);
    t.tap.clock_ns = virtual_ns;
    t.tap.clock_arg = t.net;
    struct synack_link la = pcap_tap_link(&t.tap), lb = memnet_link(t.net, nb);
    struct synack_config ca, cb;
    synack_config_default(&ca);
    ca.ip = IP_A;
    cb = ca;
    cb.ip = IP_B;
    t.a = synack_stack_new(&ca, &la);
    t.b = synack_stack_new(&cb, &lb);
    REQUIRE(t.a && t.b);
    struct memnet_node_ops oa = {&t, a_input, a_poll}, ob = {t.b, b_input, b_poll};
    memnet_attach(t.net, na, &oa);
    memnet_attach(t.net, nb, &ob);

    int l = synack_socket(t.b);
    struct synack_addr baddr = {0, 80};
    REQUIRE(synack_bind(t.b, l, &baddr) == 0 && synack_listen(t.b, l, 4) == 0);
    int c = synack_socket(t.a);
    struct synack_addr peer = {IP_B, 80};
    CHECK_EQ(synack_connect(t.a, c, &peer), SYNACK_EINPROGRESS);
    memnet_run_until(t.net, 20000);
    static uint8_t data[3000];
    memset(data, 'x', sizeof data);
    CHECK_EQ(synack_send(t.a, c, data, sizeof data), (int)sizeof data);
    memnet_run_until(t.net, 100000);
    CHECK_EQ(pcap_close(w), 0);

    size_t len = 0;
    uint8_t *b = slurp(f, &len);
    fclose(f);
    REQUIRE(b != NULL && len > PCAP_FILE_HDR_LEN);
    size_t off = PCAP_FILE_HDR_LEN;
    int records = 0, from_a = 0, from_b = 0, payload = 0;
    uint64_t prev_us = 0;
    bool ordered = true, all_valid = true;
    while (off + PCAP_REC_HDR_LEN <= len) {
        uint32_t sec = le32(b + off), usec = le32(b + off + 4), cap = le32(b + off + 8);
        uint32_t orig = le32(b + off + 12);
        REQUIRE(off + PCAP_REC_HDR_LEN + cap <= len);
        CHECK_EQ(cap, orig);
        const uint8_t *pkt = b + off + PCAP_REC_HDR_LEN;
        uint64_t us = (uint64_t)sec * 1000000u + usec;
        if (us < prev_us)
            ordered = false;
        prev_us = us;
        struct wire_ipv4 ip;
        struct wire_tcp seg;
        if (wire_ipv4_parse(pkt, cap, &ip) != 0 ||
            wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg) != 0) {
            all_valid = false;
        } else {
            if (ip.src == IP_A)
                from_a++;
            else
                from_b++;
            if (ip.src == IP_A)
                payload += (int)seg.payload_len;
            if (records == 0) {
                CHECK_EQ(ip.src, IP_A);
                CHECK_EQ(seg.flags, SYNACK_SYN);
                CHECK_EQ(us, 0);
            } else if (records == 1) {
                CHECK_EQ(ip.src, IP_B);
                CHECK_EQ(seg.flags, SYNACK_SYN | SYNACK_ACK);
                CHECK_EQ(us, 10000); /* the SYN-ACK arrives one round trip after */
            }
        }
        records++;
        off += PCAP_REC_HDR_LEN + cap;
    }
    CHECK_EQ(off, len);
    CHECK(all_valid);
    CHECK(ordered);
    CHECK(from_a >= 3); /* SYN, ACK, data */
    CHECK(from_b >= 2); /* SYN-ACK, ACK of the data */
    CHECK_EQ(payload, 3000);
    free(b);
    synack_stack_free(t.a);
    synack_stack_free(t.b);
    memnet_free(t.net);
}

int main(void)
{
    RUN(test_file_header_microseconds);
    RUN(test_records_and_timestamps);
    RUN(test_nanosecond_records);
    RUN(test_truncation_and_skips);
    RUN(test_open_errors);
    RUN(test_tap_records_exchange);
    return check_summary();
}
