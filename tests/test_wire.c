/*
 * test_wire.c: the Internet checksum, IPv4 and TCP parsing, and packet emission (src/wire/).
 *
 * Checksums are checked against known vectors and against a plain 16-bit reference written
 * here (ref_sum), never against the code under test. Every parser input is copied to the very
 * end of a malloc'd buffer of exactly its length (parse_ip, parse_tcp), so AddressSanitizer
 * reports any read past the input (STYLE.md habit 14).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synack.h"
#include "wire/wire.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

/* Deterministic xorshift32 for the random buffers. */
static uint32_t rng_state = 2463534242u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Reference ones'-complement sum, RFC 1071 1 taken literally: big-endian 16-bit words, an
 * odd last byte padded with zero on its right, the carry folded back after every add.
 * Returns the running 16-bit sum (not complemented), continuing from s. */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i < n; i += 2) {
        uint32_t w = (uint32_t)p[i] << 8;
        if (i + 1 < n)
            w |= p[i + 1];
        s += w;
        s = (s & 0xffff) + (s >> 16);
    }
    return s;
}

static uint16_t ref_csum(const uint8_t *p, size_t n)
{
    return (uint16_t)~ref_sum(p, n, 0);
}

/* Reference TCP checksum over the RFC 9293 3.1 pseudo-header and the segment. */
static uint16_t ref_tcp_csum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t n)
{
    uint8_t ph[12] = {
        (uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
        (uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
        0, 6, (uint8_t)(n >> 8), (uint8_t)n,
    };
    return (uint16_t)~ref_sum(seg, n, ref_sum(ph, sizeof ph, 0));
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

/* A copy of p[0 .. n) at the end of a malloc'd block of exactly n bytes. Free with free(). */
static uint8_t *at_end(const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n > 0 ? n : 1);
    if (b == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (n > 0)
        memcpy(b, p, n);
    return b;
}

/* wire_ipv4_parse on a guarded copy. out->payload is NOT valid afterwards. */
static int parse_ip(const uint8_t *pkt, size_t n, struct wire_ipv4 *out)
{
    uint8_t *b = at_end(pkt, n);
    int r = wire_ipv4_parse(b, n, out);
    free(b);
    return r;
}

/* wire_tcp_parse on a guarded copy. out->payload is NOT valid afterwards. */
static int parse_tcp(const uint8_t *seg, size_t n, uint32_t src, uint32_t dst, bool check,
                     struct wire_tcp *out)
{
    uint8_t *b = at_end(seg, n);
    int r = wire_tcp_parse(b, n, src, dst, check, out);
    free(b);
    return r;
}

/* ---- The hand-built packet ---------------------------------------------------------------- */

/* A real IPv4+TCP SYN, laid out as Linux sends one: 192.168.0.104:54321 -> 192.168.0.1:80,
 * id 0x1c46, DF, TTL 64, seq 0x12345678, window 64240, options MSS 1460, SACK-permitted,
 * timestamps (TSval 0x000a1b2c, TSecr 0), NOP, window scale 7.
 * The two checksums (IPv4 0x9cbc, TCP 0x72f1) were computed independently with a short
 * python3 script (struct.unpack of big-endian 16-bit words, end-around carry folded,
 * complemented), which also reproduced the known IPv4 header checksum 0xb861 of
 * 4500 0073 0000 4000 4011 .... c0a8 0001 c0a8 00c7 before it was trusted. */
static const uint8_t syn_pkt[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, /* IPv4: ver/IHL, TOS, len, id, DF */
    0x40, 0x06, 0x9c, 0xbc, 0xc0, 0xa8, 0x00, 0x68, /* TTL, TCP, csum, src */
    0xc0, 0xa8, 0x00, 0x01, 0xd4, 0x31, 0x00, 0x50, /* dst; TCP: sport, dport */
    0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, /* seq, ack */
    0xa0, 0x02, 0xfa, 0xf0, 0x72, 0xf1, 0x00, 0x00, /* offset 10, SYN, wnd, csum, urg */
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, /* MSS 1460, SACK-perm, TS */
    0x00, 0x0a, 0x1b, 0x2c, 0x00, 0x00, 0x00, 0x00, /* TSval, TSecr */
    0x01, 0x03, 0x03, 0x07,                         /* NOP, WS 7 */
};
#define SYN_SRC 0xc0a80068u /* 192.168.0.104 */
#define SYN_DST 0xc0a80001u /* 192.168.0.1 */

/* ---- A builder for malformed packets ------------------------------------------------------ */

#define T_SRC 0x0a000001u /* 10.0.0.1 */
#define T_DST 0x0a000002u /* 10.0.0.2 */

/* Recomputes the IPv4 header checksum with the reference. */
static void fix_ip(uint8_t *pkt)
{
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    wr16(pkt + 10, 0);
    wr16(pkt + 10, ref_csum(pkt, ihl));
}

/* Recomputes the TCP checksum of the segment seg[0 .. n) with the reference. */
static void fix_tcp(uint8_t *seg, size_t n)
{
    wr16(seg + 16, 0);
    wr16(seg + 16, ref_tcp_csum(T_SRC, T_DST, seg, n));
}

/* Builds T_SRC:1234 -> T_DST:80, seq 1000, ack 2000, ACK|PSH, window 8192, with the given
 * raw option bytes (a multiple of 4, at most 40) and payload; both checksums right.
 * Returns the packet length. */
static size_t build(uint8_t *pkt, const uint8_t *opts, size_t opt_len, const uint8_t *data,
                    size_t data_len)
{
    size_t tcp_len = 20 + opt_len + data_len;
    memset(pkt, 0, 40 + opt_len);
    pkt[0] = 0x45;
    wr16(pkt + 2, (uint16_t)(20 + tcp_len));
    wr16(pkt + 4, 7);
    wr16(pkt + 6, 0x4000);
    pkt[8] = 64;
    pkt[9] = 6;
    wr32(pkt + 12, T_SRC);
    wr32(pkt + 16, T_DST);
    fix_ip(pkt);
    uint8_t *t = pkt + 20;
    wr16(t, 1234);
    wr16(t + 2, 80);
    wr32(t + 4, 1000);
    wr32(t + 8, 2000);
    t[12] = (uint8_t)((20 + opt_len) / 4 << 4);
    t[13] = SYNACK_ACK | SYNACK_PSH;
    wr16(t + 14, 8192);
    if (opt_len > 0)
        memcpy(t + 20, opts, opt_len);
    if (data_len > 0)
        memcpy(t + 20 + opt_len, data, data_len);
    fix_tcp(t, tcp_len);
    return 20 + tcp_len;
}

/* Drop reason of a segment with the given raw options (padded by the caller to a multiple of
 * 4) and the payload "ab", checksum checked. */
static int opts_reason(const uint8_t *opts, size_t opt_len, struct wire_tcp *out)
{
    uint8_t pkt[100];
    size_t n = build(pkt, opts, opt_len, (const uint8_t *)"ab", 2);
    return parse_tcp(pkt + 20, n - 20, T_SRC, T_DST, true, out);
}

/* The same without payload: the option list ends the buffer, so reading past it is caught. */
static int opts_reason_bare(const uint8_t *opts, size_t opt_len, struct wire_tcp *out)
{
    uint8_t pkt[100];
    size_t n = build(pkt, opts, opt_len, NULL, 0);
    return parse_tcp(pkt + 20, n - 20, T_SRC, T_DST, true, out);
}

/* ---- Checksum ---------------------------------------------------------------------------- */

static void test_csum_rfc1071_example(void)
{
    /* RFC 1071 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its
     * complement. */
    static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    uint8_t d[8];
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b, sizeof b)), 0x220d);
    CHECK_EQ(wire_csum_fold(wire_csum_copy(0, d, b, sizeof b)), 0x220d);
    CHECK(memcmp(d, b, sizeof b) == 0);
    /* The same words in two pieces, and one at a time. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(wire_csum_add(0, b, 4), b + 4, 4)), 0x220d);
    uint64_t s = 0;
    for (int i = 0; i < 8; i += 2)
        s = wire_csum_add(s, b + i, 2);
    CHECK_EQ(wire_csum_fold(s), 0x220d);
}

static void test_csum_known_ipv4_header(void)
{
    /* A widely published IPv4 header whose checksum is 0xb861. */
    uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                      0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, h, sizeof h)), 0); /* verifies to zero */
    h[10] = h[11] = 0;
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, h, sizeof h)), 0xb861);
}

static void test_csum_odd_length(void)
{
    /* 0102 + 0300 = 0402 -> fbfd: the odd byte is the high byte of a zero-padded word. */
    static const uint8_t b3[3] = { 0x01, 0x02, 0x03 };
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b3, 3)), 0xfbfd);
    static const uint8_t b1[1] = { 0xab };
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b1, 1)), 0x54ff);
    /* 11 bytes: one whole 8-byte word and an odd tail. */
    static const uint8_t b11[11] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b11, 11)), ref_csum(b11, 11));
    /* An even piece followed by an odd last piece. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(wire_csum_add(0, b11, 6), b11 + 6, 5)),
             ref_csum(b11, 11));
}

static void test_csum_empty(void)
{
    /* Nothing summed: the sum is 0, its complement 0xffff. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, NULL, 0)), 0xffff);
    CHECK_EQ(wire_csum_fold(wire_csum_copy(0, NULL, NULL, 0)), 0xffff);
    CHECK_EQ(wire_csum_fold(0), 0xffff);
}

static void test_csum_many_carries(void)
{
    static uint8_t b[4096], d[4096];
    /* 2048 words of ffff: every add carries; the ones'-complement sum is ffff (-0), so the
     * checksum is 0. */
    memset(b, 0xff, sizeof b);
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b, sizeof b)), 0x0000);
    CHECK_EQ(wire_csum_fold(wire_csum_copy(0, d, b, sizeof b)), 0x0000);
    CHECK_EQ(ref_csum(b, sizeof b), 0x0000);
    /* fefe words, compared with the reference. */
    memset(b, 0xfe, sizeof b);
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, b, sizeof b)), ref_csum(b, sizeof b));
    /* A large running sum carried in from before still folds right. */
    memset(b, 0xff, sizeof b);
    b[4095] = 0xf0;
    uint64_t s = wire_csum_add(0, b, 4094);
    s = wire_csum_add(s, b + 4094, 2);
    CHECK_EQ(wire_csum_fold(s), ref_csum(b, sizeof b));
    CHECK_EQ(wire_csum_fold(s), 0x000f);
    /* All-ones 64-bit sums are -0. */
    CHECK_EQ(wire_csum_fold(UINT64_MAX), 0x0000);
}

static void test_csum_random_agrees_with_reference(void)
{
    static uint8_t src[320], dst[336];
    int bad = 0;

    for (size_t len = 0; len <= 300; len++) {
        for (size_t off = 0; off < 8; off++) {
            for (size_t i = 0; i < sizeof src; i++)
                src[i] = (uint8_t)rng();
            const uint8_t *p = src + off;
            uint16_t want = ref_csum(p, len);

            if (wire_csum_fold(wire_csum_add(0, p, len)) != want)
                bad++;

            /* copy: to a different alignment, nothing outside [doff, doff + len) written */
            size_t doff = 8 + (off * 3) % 8;
            memset(dst, 0xa5, sizeof dst);
            if (wire_csum_fold(wire_csum_copy(0, dst + doff, p, len)) != want)
                bad++;
            if (len > 0 && memcmp(dst + doff, p, len) != 0)
                bad++;
            for (size_t i = 0; i < sizeof dst; i++)
                if ((i < doff || i >= doff + len) && dst[i] != 0xa5)
                    bad++;

            /* pieces: an even first piece, then the rest, with add and copy mixed */
            for (size_t k = 0; k <= len; k += 2) {
                uint64_t s = wire_csum_add(0, p, k);
                if (wire_csum_fold(wire_csum_copy(s, dst + doff, p + k, len - k)) != want)
                    bad++;
            }
        }
    }
    CHECK_EQ(bad, 0);
}

static void test_csum_pseudo(void)
{
    uint8_t seg[37];
    for (size_t i = 0; i < sizeof seg; i++)
        seg[i] = (uint8_t)(i * 29 + 3);
    /* The pseudo-header alone, against the reference over its 12 bytes. */
    static const uint8_t ph[12] = { 0xc0, 0xa8, 0x00, 0x68, 0xc0, 0xa8, 0x00, 0x01,
                                    0x00, 0x06, 0x01, 0x2c };
    CHECK_EQ(wire_csum_fold(wire_csum_pseudo(SYN_SRC, SYN_DST, 300)), ref_csum(ph, 12));
    /* Pseudo-header then an odd-length segment. */
    uint64_t s = wire_csum_add(wire_csum_pseudo(T_SRC, T_DST, sizeof seg), seg, sizeof seg);
    CHECK_EQ(wire_csum_fold(s), ref_tcp_csum(T_SRC, T_DST, seg, sizeof seg));
    /* Addresses with high bits set, swapped: a different sum unless symmetric. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(wire_csum_pseudo(0xfffefdfc, 0x80000001, 20), seg, 20)),
             ref_tcp_csum(0xfffefdfc, 0x80000001, seg, 20));
}

/* wire_tcp_out_clear() leaves every field as a memset to zero would. */
static void test_tcp_out_clear(void)
{
    struct wire_tcp_out o;
    memset(&o, 0xa5, sizeof o);
    wire_tcp_out_clear(&o);
    CHECK(o.src == 0 && o.dst == 0 && o.sport == 0 && o.dport == 0);
    CHECK(o.seq == 0 && o.ack == 0 && o.flags == 0 && o.wnd == 0 && o.ttl == 0 && o.ip_id == 0);
    CHECK(o.opts.present == 0 && o.opts.wscale == 0 && o.opts.mss == 0);
    CHECK(o.opts.ts_val == 0 && o.opts.ts_ecr == 0 && o.opts.sack_count == 0);
    for (int i = 0; i < WIRE_SACK_MAX; i++)
        CHECK(o.opts.sack[i].left == 0 && o.opts.sack[i].right == 0);
    CHECK(o.data[0] == NULL && o.data[1] == NULL && o.data_len[0] == 0 && o.data_len[1] == 0);
}

/* wire_csum_pseudo() sums the pseudo-header as numbers: it must agree with the reference
 * over its 12 bytes for any addresses and length, carries and all-ones words included. */
static void test_csum_pseudo_random(void)
{
    uint8_t seg[64];
    for (size_t i = 0; i < sizeof seg; i++)
        seg[i] = (uint8_t)(i * 13 + 7);
    static const uint32_t edge[] = {0, 1, 0xffff, 0x10000, 0xfffeffff, 0xffffffff, 0x8000ffff};
    int bad = 0;
    uint64_t x = 12345;
    for (int t = 0; t < 5000; t++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t src = t < 49 ? edge[t % 7] : (uint32_t)(x >> 32);
        uint32_t dst = t < 49 ? edge[t / 7] : (uint32_t)x;
        size_t n = (size_t)(x >> 20) % (sizeof seg + 1);
        uint16_t len = t % 3 == 0 ? (uint16_t)(0xffff - t) : (uint16_t)n;
        uint64_t sum = wire_csum_add(wire_csum_pseudo(src, dst, len), seg, n);
        uint8_t ph[12] = {
            (uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
            (uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
            0, 6, (uint8_t)(len >> 8), (uint8_t)len,
        };
        if (wire_csum_fold(sum) != (uint16_t)~ref_sum(seg, n, ref_sum(ph, sizeof ph, 0)))
            bad++;
    }
    CHECK_EQ(bad, 0);
}

/* ---- The real SYN ------------------------------------------------------------------------ */

static void test_parse_real_syn(void)
{
    uint8_t *b = at_end(syn_pkt, sizeof syn_pkt);
    struct wire_ipv4 ip;
    struct wire_tcp t;

    int r = wire_ipv4_parse(b, sizeof syn_pkt, &ip);
    CHECK_EQ(r, 0);
    if (r != 0) {
        free(b);
        return;
    }
    CHECK_EQ(ip.src, SYN_SRC);
    CHECK_EQ(ip.dst, SYN_DST);
    CHECK_EQ(ip.protocol, WIRE_PROTO_TCP);
    CHECK_EQ(ip.ttl, 64);
    CHECK_EQ(ip.tos, 0);
    CHECK_EQ(ip.id, 0x1c46);
    CHECK_EQ(ip.total_len, 60);
    CHECK_EQ(ip.hdr_len, 20);
    CHECK(ip.payload == b + 20);
    CHECK_EQ(ip.payload_len, 40);

    r = wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t);
    CHECK_EQ(r, 0);
    if (r == 0) {
        CHECK_EQ(t.sport, 54321);
        CHECK_EQ(t.dport, 80);
        CHECK_EQ(t.seq, 0x12345678);
        CHECK_EQ(t.ack, 0);
        CHECK_EQ(t.flags, SYNACK_SYN);
        CHECK_EQ(t.hdr_len, 40);
        CHECK_EQ(t.wnd, 64240);
        CHECK_EQ(t.urg_ptr, 0);
        CHECK_EQ(t.opts.present, WIRE_OPT_MSS | WIRE_OPT_SACK_PERM | WIRE_OPT_TS |
                                     WIRE_OPT_WSCALE);
        CHECK_EQ(t.opts.mss, 1460);
        CHECK_EQ(t.opts.wscale, 7);
        CHECK_EQ(t.opts.ts_val, 0x000a1b2c);
        CHECK_EQ(t.opts.ts_ecr, 0);
        CHECK_EQ(t.opts.sack_count, 0);
        CHECK_EQ(t.payload_len, 0);
        CHECK(t.payload == b + 60);
    }
    /* The pseudo-header is covered: the same bytes addressed elsewhere fail. */
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst + 1, true, &t),
             SYNACK_DROP_TCP_CHECKSUM);
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.dst, ip.src + 256, true, &t),
             SYNACK_DROP_TCP_CHECKSUM);
    free(b);
}

static void test_emit_reproduces_real_syn(void)
{
    /* The emitter's layout for MSS + SACK-permitted + timestamps + window scale is Linux's,
     * so emitting the SYN's fields gives back its bytes exactly, checksums included. */
    struct wire_tcp_out o;
    memset(&o, 0, sizeof o);
    o.src = SYN_SRC;
    o.dst = SYN_DST;
    o.sport = 54321;
    o.dport = 80;
    o.seq = 0x12345678;
    o.flags = SYNACK_SYN;
    o.wnd = 64240;
    o.ttl = 64;
    o.ip_id = 0x1c46;
    o.opts.present = WIRE_OPT_MSS | WIRE_OPT_SACK_PERM | WIRE_OPT_TS | WIRE_OPT_WSCALE;
    o.opts.mss = 1460;
    o.opts.wscale = 7;
    o.opts.ts_val = 0x000a1b2c;
    uint8_t buf[100];
    CHECK_EQ(wire_tcp_opts_len(&o.opts), 20);
    size_t n = wire_emit(buf, sizeof buf, &o);
    CHECK_EQ(n, sizeof syn_pkt);
    CHECK(n == sizeof syn_pkt && memcmp(buf, syn_pkt, n) == 0);
}

/* ---- IPv4 malformed ---------------------------------------------------------------------- */

static void test_ip_truncated(void)
{
    struct wire_ipv4 ip;
    CHECK_EQ(parse_ip(syn_pkt, 0, &ip), SYNACK_DROP_IP_TRUNCATED);
    CHECK_EQ(parse_ip(syn_pkt, 1, &ip), SYNACK_DROP_IP_TRUNCATED);
    CHECK_EQ(parse_ip(syn_pkt, 19, &ip), SYNACK_DROP_IP_TRUNCATED);
    /* Total length 60 in a 59-byte buffer. */
    CHECK_EQ(parse_ip(syn_pkt, 59, &ip), SYNACK_DROP_IP_TRUNCATED);
    /* Total length 61 (checksum fixed) in the 60-byte packet. */
    uint8_t p[60];
    memcpy(p, syn_pkt, sizeof p);
    wr16(p + 2, 61);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_TRUNCATED);
    wr16(p + 2, 0xffff);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_TRUNCATED);
    /* A version-6 first byte in a short buffer is still just truncated. */
    p[0] = 0x60;
    CHECK_EQ(parse_ip(p, 10, &ip), SYNACK_DROP_IP_TRUNCATED);
}

static void test_ip_version(void)
{
    struct wire_ipv4 ip;
    uint8_t p[60];
    static const uint8_t versions[] = { 0, 1, 5, 6, 15 };
    for (size_t i = 0; i < sizeof versions; i++) {
        memcpy(p, syn_pkt, sizeof p);
        p[0] = (uint8_t)(versions[i] << 4 | 5);
        fix_ip(p);
        CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_VERSION);
    }
}

static void test_ip_header_length(void)
{
    struct wire_ipv4 ip;
    uint8_t p[60];

    /* IHL < 5 (the checksum is right over the 20 bytes). */
    for (int ihl = 0; ihl < 5; ihl++) {
        memcpy(p, syn_pkt, sizeof p);
        p[0] = (uint8_t)(0x40 | ihl);
        wr16(p + 10, 0);
        wr16(p + 10, ref_csum(p, 20));
        CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_HEADER);
    }
    /* IHL * 4 past the buffer: IHL 15 (60 bytes) in a 40-byte packet. */
    memcpy(p, syn_pkt, sizeof p);
    p[0] = 0x4f;
    wr16(p + 2, 40);
    CHECK_EQ(parse_ip(p, 40, &ip), SYNACK_DROP_IP_HEADER);
    /* IHL * 4 past the total length: IHL 6 (24 bytes), total length 22, checksum right. */
    memcpy(p, syn_pkt, sizeof p);
    p[0] = 0x46;
    wr16(p + 2, 22);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_HEADER);
    /* Total length below 20 with IHL 5. */
    memcpy(p, syn_pkt, sizeof p);
    wr16(p + 2, 19);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_HEADER);
    /* Total length exactly IHL * 4 is a packet with an empty payload: accepted. */
    wr16(p + 2, 20);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), 0);
    CHECK_EQ(ip.payload_len, 0);
}

static void test_ip_checksum(void)
{
    struct wire_ipv4 ip;
    uint8_t p[60];
    /* Any flipped bit in the header, checksum field included. */
    for (size_t i = 0; i < 20; i++) {
        memcpy(p, syn_pkt, sizeof p);
        p[i] ^= 0x10;
        int r = parse_ip(p, sizeof p, &ip);
        if (i == 0)
            CHECK_EQ(r, SYNACK_DROP_IP_VERSION); /* 0x45 -> 0x55: checked before the sum */
        else if (i == 2)
            CHECK_EQ(r, SYNACK_DROP_IP_TRUNCATED); /* total length 0x103c: likewise */
        else
            CHECK_EQ(r, SYNACK_DROP_IP_CHECKSUM);
    }
    /* Damage past the IPv4 header is not the IPv4 checksum's business. */
    memcpy(p, syn_pkt, sizeof p);
    p[30] ^= 0xff;
    CHECK_EQ(parse_ip(p, sizeof p, &ip), 0);
}

static void test_ip_fragment(void)
{
    struct wire_ipv4 ip;
    uint8_t p[60];
    static const uint16_t frag_words[] = {
        0x2000,          /* MF, offset 0: the first fragment */
        0x6000,          /* DF and MF */
        0x0001,          /* offset 8 bytes: a later fragment */
        0x1fff,          /* the largest offset */
        0x2001,          /* MF and an offset: a middle fragment */
    };
    for (size_t i = 0; i < sizeof frag_words / sizeof frag_words[0]; i++) {
        memcpy(p, syn_pkt, sizeof p);
        wr16(p + 6, frag_words[i]);
        fix_ip(p);
        CHECK_EQ(parse_ip(p, sizeof p, &ip), SYNACK_DROP_IP_FRAGMENT);
    }
    /* DF alone (the SYN) and no flags at all are whole packets. */
    CHECK_EQ(parse_ip(syn_pkt, sizeof syn_pkt, &ip), 0);
    memcpy(p, syn_pkt, sizeof p);
    wr16(p + 6, 0);
    fix_ip(p);
    CHECK_EQ(parse_ip(p, sizeof p, &ip), 0);
}

static void test_ip_options_skipped(void)
{
    /* The SYN with 8 bytes of IP options (Router Alert, RFC 2113: 94 04 00 00, then NOP,
     * NOP, NOP, EOL): IHL 7. The TCP segment follows them. */
    uint8_t p[68];
    static const uint8_t ipopts[8] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };
    memcpy(p, syn_pkt, 20);
    memcpy(p + 20, ipopts, sizeof ipopts);
    memcpy(p + 28, syn_pkt + 20, 40);
    p[0] = 0x47;
    wr16(p + 2, sizeof p);
    fix_ip(p);

    uint8_t *b = at_end(p, sizeof p);
    struct wire_ipv4 ip;
    struct wire_tcp t;
    CHECK_EQ(wire_ipv4_parse(b, sizeof p, &ip), 0);
    CHECK_EQ(ip.hdr_len, 28);
    CHECK_EQ(ip.total_len, 68);
    CHECK(ip.payload == b + 28);
    CHECK_EQ(ip.payload_len, 40);
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t), 0);
    CHECK_EQ(t.sport, 54321);
    CHECK_EQ(t.opts.mss, 1460);
    free(b);
}

static void test_ip_link_padding_ignored(void)
{
    /* A 40-byte ACK padded to 46 bytes (the Ethernet minimum) with non-zero junk. */
    uint8_t p[46];
    size_t n = build(p, NULL, 0, NULL, 0);
    CHECK_EQ(n, 40);
    memset(p + 40, 0xee, 6);

    uint8_t *b = at_end(p, sizeof p);
    struct wire_ipv4 ip;
    struct wire_tcp t;
    CHECK_EQ(wire_ipv4_parse(b, sizeof p, &ip), 0);
    CHECK_EQ(ip.total_len, 40);
    CHECK_EQ(ip.payload_len, 20);
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t), 0);
    CHECK_EQ(t.payload_len, 0);
    free(b);
}

/* ---- TCP malformed ----------------------------------------------------------------------- */

static void test_tcp_truncated(void)
{
    struct wire_tcp t;
    const uint8_t *seg = syn_pkt + 20;
    CHECK_EQ(parse_tcp(seg, 0, SYN_SRC, SYN_DST, false, &t), SYNACK_DROP_TCP_TRUNCATED);
    CHECK_EQ(parse_tcp(seg, 1, SYN_SRC, SYN_DST, false, &t), SYNACK_DROP_TCP_TRUNCATED);
    CHECK_EQ(parse_tcp(seg, 19, SYN_SRC, SYN_DST, true, &t), SYNACK_DROP_TCP_TRUNCATED);
}

static void test_tcp_offset(void)
{
    struct wire_tcp t;
    uint8_t p[100];
    size_t n;

    /* Data offset < 5, checksum right. */
    for (int off = 0; off < 5; off++) {
        n = build(p, NULL, 0, (const uint8_t *)"xyz", 3);
        p[32] = (uint8_t)(off << 4);
        fix_tcp(p + 20, n - 20);
        CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_OFFSET);
    }
    /* Data offset past the segment: offset 6 (24 bytes) in a 23-byte segment, and 15. */
    n = build(p, NULL, 0, (const uint8_t *)"xyz", 3);
    p[32] = 6 << 4;
    fix_tcp(p + 20, n - 20);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_OFFSET);
    p[32] = 15 << 4;
    fix_tcp(p + 20, n - 20);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_OFFSET);
    /* Offset 6 in a 24-byte segment fits exactly: the 4 payload bytes were options. */
    n = build(p, NULL, 0, (const uint8_t *)"\x01\x01\x01\x01", 4);
    p[32] = 6 << 4;
    fix_tcp(p + 20, n - 20);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), 0);
    CHECK_EQ(t.hdr_len, 24);
    CHECK_EQ(t.payload_len, 0);
    /* Longer than the 16-bit TCP Length of the pseudo-header can describe. */
    uint8_t *big = calloc(1, 65536);
    REQUIRE(big != NULL);
    big[12] = 5 << 4;
    CHECK_EQ(parse_tcp(big, 65536, T_SRC, T_DST, false, &t), SYNACK_DROP_TCP_OFFSET);
    CHECK_EQ(parse_tcp(big, 65535, T_SRC, T_DST, false, &t), 0);
    CHECK_EQ(t.payload_len, 65515);
    free(big);
}

static void test_tcp_checksum(void)
{
    struct wire_tcp t;
    uint8_t p[100];
    static const uint8_t data[] = "hello, world";
    size_t n = build(p, NULL, 0, data, sizeof data - 1);

    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), 0);
    /* A flipped payload byte. */
    p[45] ^= 0x01;
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_CHECKSUM);
    /* ... is accepted when the checksum is not checked (the caller verified it). */
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, false, &t), 0);
    CHECK_EQ(t.payload_len, sizeof data - 1);
    p[45] ^= 0x01;
    /* A flipped header byte, and the odd last byte of an odd-length segment. */
    p[24] ^= 0x80;
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_CHECKSUM);
    p[24] ^= 0x80;
    n = build(p, NULL, 0, data, 5);
    p[n - 1] ^= 0x04;
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_CHECKSUM);
    /* The checksum is checked before the options: a corrupted segment with a bad option
     * list is counted as corrupted. */
    static const uint8_t bad_opt[4] = { 0x02, 0x00, 0x00, 0x00 };
    n = build(p, bad_opt, 4, NULL, 0);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_OPTIONS);
    p[n - 1] ^= 0x01;
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), SYNACK_DROP_TCP_CHECKSUM);
}

static void test_tcp_options_malformed(void)
{
    struct wire_tcp t;
    static const struct {
        const char *what;
        uint8_t len;      /* option bytes, a multiple of 4 */
        uint8_t b[40];
    } cases[] = {
        { "MSS kind as the last byte, no length", 4, { 1, 1, 1, 2 } },
        { "unknown kind as the last byte, no length", 4, { 1, 1, 1, 30 } },
        { "MSS length 0", 4, { 2, 0, 5, 0xb4 } },
        { "MSS length 1", 4, { 2, 1, 5, 0xb4 } },
        { "unknown kind length 0", 4, { 30, 0, 0, 0 } },
        { "unknown kind length 1", 4, { 30, 1, 0, 0 } },
        { "unknown kind running past the header", 4, { 30, 6, 0, 0 } },
        { "timestamps running past the header", 4, { 1, 8, 10, 0 } },
        { "MSS running past the header", 4, { 1, 1, 2, 4 } },
        { "length 255", 40, { 30, 255 } },
        { "MSS length 3", 4, { 2, 3, 5, 1 } },
        { "MSS length 5", 8, { 2, 5, 5, 0xb4, 0, 0, 0, 0 } },
        { "WS length 2", 4, { 3, 2, 1, 1 } },
        { "WS length 4", 4, { 3, 4, 7, 0 } },
        { "SACK-permitted length 3", 4, { 4, 3, 0, 0 } },
        { "SACK-permitted length 4", 4, { 4, 4, 0, 0 } },
        { "timestamps length 8", 8, { 8, 8, 0, 0, 0, 0, 0, 0 } },
        { "timestamps length 12", 12, { 8, 12 } },
        { "SACK with no block (length 2)", 4, { 5, 2, 0, 0 } },
        { "SACK length 9", 12, { 5, 9 } },
        { "SACK length 11", 12, { 5, 11 } },
        { "SACK length 17", 20, { 5, 17 } },
        { "SACK of 5 blocks (length 42) runs past 40", 40, { 5, 42 } },
        { "a good option, then a bad one", 8, { 2, 4, 5, 0xb4, 3, 0, 0, 0 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = opts_reason(cases[i].b, cases[i].len, &t);
        int r_bare = opts_reason_bare(cases[i].b, cases[i].len, &t);
        if (r != SYNACK_DROP_TCP_OPTIONS || r_bare != SYNACK_DROP_TCP_OPTIONS) {
            fprintf(stderr, "  case \"%s\": reason %d, without payload %d\n", cases[i].what,
                    r, r_bare);
            CHECK_EQ(r, SYNACK_DROP_TCP_OPTIONS);
            CHECK_EQ(r_bare, SYNACK_DROP_TCP_OPTIONS);
        }
    }
}

static void test_tcp_options_eol_then_garbage(void)
{
    struct wire_tcp t;
    /* MSS, EOL, then bytes that would be a bad option if they were read. */
    static const uint8_t o[8] = { 2, 4, 0x05, 0xb4, 0, 8, 3, 0xff };
    CHECK_EQ(opts_reason(o, sizeof o, &t), 0);
    CHECK_EQ(t.opts.present, WIRE_OPT_MSS);
    CHECK_EQ(t.opts.mss, 1460);
    CHECK_EQ(t.hdr_len, 28);
    CHECK_EQ(t.payload_len, 2);
    /* EOL first: no options at all. */
    static const uint8_t o2[4] = { 0, 2, 0, 0 };
    CHECK_EQ(opts_reason(o2, sizeof o2, &t), 0);
    CHECK_EQ(t.opts.present, 0);
}

static void test_tcp_options_unknown_skipped(void)
{
    struct wire_tcp t;
    /* Unknown kind 30 with 4 bytes of data, a bare unknown kind 253 (length 2), then WS and
     * MSS, unaligned after the NOP (RFC 9293 3.2: MUST-64). */
    static const uint8_t o[16] = { 30, 6, 0xde, 0xad, 0xbe, 0xef, 253, 2,
                                   1,  3, 3,    9,    2,    4,    0x21, 0x34 };
    CHECK_EQ(opts_reason(o, sizeof o, &t), 0);
    CHECK_EQ(t.opts.present, WIRE_OPT_WSCALE | WIRE_OPT_MSS);
    CHECK_EQ(t.opts.wscale, 9);
    CHECK_EQ(t.opts.mss, 0x2134);
    /* Unknown option filling the whole option space. */
    uint8_t full[40] = { 99, 40 };
    CHECK_EQ(opts_reason(full, sizeof full, &t), 0);
    CHECK_EQ(t.opts.present, 0);
}

static void test_tcp_options_values(void)
{
    struct wire_tcp t;
    /* Four SACK blocks (36 bytes) with no other option. */
    uint8_t o[36] = { 1, 1, 5, 34 };
    for (int b = 0; b < 4; b++) {
        wr32(o + 4 + 8 * b, 0xfffffff0u + 0x100u * (uint32_t)b);
        wr32(o + 8 + 8 * b, 0xfffffff0u + 0x100u * (uint32_t)b + 0x80u);
    }
    CHECK_EQ(opts_reason(o, sizeof o, &t), 0);
    CHECK_EQ(t.opts.present, WIRE_OPT_SACK);
    CHECK_EQ(t.opts.sack_count, 4);
    for (uint32_t b = 0; b < 4; b++) {
        CHECK_EQ(t.opts.sack[b].left, 0xfffffff0u + 0x100u * b);
        CHECK_EQ(t.opts.sack[b].right, 0xfffffff0u + 0x100u * b + 0x80u);
    }
    /* One block after timestamps, both with NOP padding. */
    static const uint8_t o2[24] = { 1, 1, 8, 10, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 1,
                                    1, 1, 5,  10, 0,    0,    0x10, 0,    0, 0, 0x20, 0 };
    CHECK_EQ(opts_reason(o2, sizeof o2, &t), 0);
    CHECK_EQ(t.opts.present, WIRE_OPT_TS | WIRE_OPT_SACK);
    CHECK_EQ(t.opts.ts_val, 0xaabbccdd);
    CHECK_EQ(t.opts.ts_ecr, 1);
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 0x1000);
    CHECK_EQ(t.opts.sack[0].right, 0x2000);
    /* A window scale above 14 is passed on as received; a later MSS replaces an earlier. */
    static const uint8_t o3[12] = { 3, 3, 15, 2, 4, 0, 100, 2, 4, 0, 200, 0 };
    CHECK_EQ(opts_reason(o3, sizeof o3, &t), 0);
    CHECK_EQ(t.opts.wscale, 15);
    CHECK_EQ(t.opts.mss, 200);
}

static void test_tcp_flags_and_reserved_bits(void)
{
    struct wire_tcp t;
    uint8_t p[100];
    size_t n = build(p, NULL, 0, NULL, 0);
    /* All eight flags set, and all four reserved bits of byte 12. */
    p[33] = 0xff;
    p[32] |= 0x0f;
    fix_tcp(p + 20, n - 20);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), 0);
    CHECK_EQ(t.flags, 0xff);
    CHECK_EQ(t.hdr_len, 20);
    CHECK_EQ(t.sport, 1234);
    CHECK_EQ(t.dport, 80);
    CHECK_EQ(t.seq, 1000);
    CHECK_EQ(t.ack, 2000);
    CHECK_EQ(t.wnd, 8192);
    /* Port 0 is not the parser's business. */
    wr16(p + 20, 0);
    fix_tcp(p + 20, n - 20);
    CHECK_EQ(parse_tcp(p + 20, n - 20, T_SRC, T_DST, true, &t), 0);
    CHECK_EQ(t.sport, 0);
}

/* ---- Emit -------------------------------------------------------------------------------- */

/* Emits o, checks the packet with the reference checksums and the parsers (on a guarded
 * copy), and compares every field. Returns the number of mismatches. */
static int round_trip(const struct wire_tcp_out *o, size_t expect_blocks)
{
    static uint8_t buf[2000];
    int bad = 0;
    size_t opt_len = wire_tcp_opts_len(&o->opts);
    size_t data_len = (size_t)o->data_len[0] + o->data_len[1];
    size_t n = wire_emit(buf, sizeof buf, o);

#define RT(cond)                                                                            \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "  round trip present=%#x sack=%u data=%u+%u: %s\n",            \
                    o->opts.present, o->opts.sack_count, o->data_len[0], o->data_len[1],   \
                    #cond);                                                                 \
            bad++;                                                                          \
        }                                                                                   \
    } while (0)

    RT(opt_len % 4 == 0 && opt_len <= WIRE_TCP_OPT_MAX);
    RT(n == 40 + opt_len + data_len);
    if (n != 40 + opt_len + data_len)
        return bad;
    /* Independent checks of the bytes. */
    RT(buf[0] == 0x45 && buf[1] == 0 && rd16(buf + 2) == n && rd16(buf + 6) == 0x4000);
    RT(buf[9] == 6);
    RT(ref_csum(buf, 20) == 0);
    RT(ref_tcp_csum(o->src, o->dst, buf + 20, n - 20) == 0);
    RT(buf[32] == (uint8_t)((20 + opt_len) / 4 << 4)); /* reserved bits 0 */
    RT(rd16(buf + 38) == 0);                          /* urgent pointer */

    uint8_t *b = at_end(buf, n);
    struct wire_ipv4 ip;
    struct wire_tcp t;
    int r = wire_ipv4_parse(b, n, &ip);
    RT(r == 0);
    if (r == 0) {
        RT(ip.src == o->src && ip.dst == o->dst && ip.ttl == o->ttl && ip.id == o->ip_id);
        RT(ip.protocol == WIRE_PROTO_TCP && ip.tos == 0 && ip.hdr_len == 20);
        r = wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t);
        RT(r == 0);
    }
    if (r == 0) {
        RT(t.sport == o->sport && t.dport == o->dport);
        RT(t.seq == o->seq && t.ack == o->ack);
        RT(t.flags == o->flags && t.wnd == o->wnd && t.urg_ptr == 0);
        RT(t.hdr_len == 20 + opt_len);
        uint8_t want_present = o->opts.present;
        if (expect_blocks == 0)
            want_present &= (uint8_t)~WIRE_OPT_SACK;
        RT(t.opts.present == want_present);
        if (want_present & WIRE_OPT_MSS)
            RT(t.opts.mss == o->opts.mss);
        if (want_present & WIRE_OPT_WSCALE)
            RT(t.opts.wscale == o->opts.wscale);
        if (want_present & WIRE_OPT_TS)
            RT(t.opts.ts_val == o->opts.ts_val && t.opts.ts_ecr == o->opts.ts_ecr);
        RT(t.opts.sack_count == expect_blocks);
        for (size_t i = 0; i < expect_blocks && i < t.opts.sack_count; i++)
            RT(t.opts.sack[i].left == o->opts.sack[i].left &&
               t.opts.sack[i].right == o->opts.sack[i].right);
        RT(t.payload_len == data_len);
        if (t.payload_len == data_len) {
            RT(o->data_len[0] == 0 || memcmp(t.payload, o->data[0], o->data_len[0]) == 0);
            RT(o->data_len[1] == 0 ||
               memcmp(t.payload + o->data_len[0], o->data[1], o->data_len[1]) == 0);
        }
    }
    free(b);
#undef RT
    return bad;
}

static void test_emit_round_trip_all_options(void)
{
    static uint8_t data[1460];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)rng();
    static const uint32_t lens[] = { 0, 1, 2, 7, 8, 9, 100, 1460 };
    int bad = 0, cases = 0;

    for (unsigned present = 0; present < 32; present++) {
        /* What fits for SACK after the other options, by the documented layout. */
        size_t base = ((present & WIRE_OPT_MSS) ? 4 : 0) + ((present & WIRE_OPT_WSCALE) ? 4 : 0) +
                      ((present & WIRE_OPT_TS) ? 12 : (present & WIRE_OPT_SACK_PERM) ? 4 : 0);
        size_t room = (40 - base - 4) / 8;
        for (unsigned sack = 0; sack <= ((present & WIRE_OPT_SACK) ? 4u : 0u); sack++) {
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                uint32_t len = lens[li];
                /* Splits: all in the first slice, all in the second, odd and even cuts. */
                uint32_t cuts[] = { len, 0, len / 2, len > 0 ? 1 : 0, len > 2 ? len - 1 : 0 };
                for (size_t ci = 0; ci < sizeof cuts / sizeof cuts[0]; ci++) {
                    struct wire_tcp_out o;
                    memset(&o, 0, sizeof o);
                    o.src = 0xc0000201u + present;
                    o.dst = 0xfe00ff02u;
                    o.sport = (uint16_t)(40000 + present);
                    o.dport = 443;
                    o.seq = 0xfffffff0u + (uint32_t)cases;
                    o.ack = 0x80000000u ^ (uint32_t)cases;
                    o.flags = (uint8_t)(cases * 37);
                    o.wnd = (uint16_t)(0xffff - cases);
                    o.ttl = (uint8_t)(1 + cases % 255);
                    o.ip_id = (uint16_t)(cases * 7);
                    o.opts.present = (uint8_t)present;
                    o.opts.mss = (uint16_t)(536 + present);
                    o.opts.wscale = (uint8_t)(present % 15);
                    o.opts.ts_val = 0xdeadbeef + present;
                    o.opts.ts_ecr = 0x01020304u * present;
                    o.opts.sack_count = (uint8_t)sack;
                    for (unsigned s = 0; s < WIRE_SACK_MAX; s++) {
                        o.opts.sack[s].left = 0xffff0000u + s * 0x1000u;
                        o.opts.sack[s].right = 0xffff0800u + s * 0x1000u;
                    }
                    o.data[0] = data;
                    o.data_len[0] = cuts[ci];
                    o.data[1] = data + cuts[ci];
                    o.data_len[1] = len - cuts[ci];
                    size_t expect = (present & WIRE_OPT_SACK) ? (sack < room ? sack : room) : 0;
                    bad += round_trip(&o, expect);
                    cases++;
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
    CHECK(cases > 1000);
}

static void test_emit_option_bytes(void)
{
    struct wire_tcp_out o;
    uint8_t buf[100];
    memset(&o, 0, sizeof o);

    /* Timestamps alone: NOP, NOP, TS. */
    o.opts.present = WIRE_OPT_TS;
    o.opts.ts_val = 0x01020304;
    o.opts.ts_ecr = 0x05060708;
    static const uint8_t ts[12] = { 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8 };
    CHECK_EQ(wire_emit(buf, sizeof buf, &o), 52);
    CHECK(memcmp(buf + 40, ts, sizeof ts) == 0);

    /* SACK-permitted alone: NOP, NOP, SACK-permitted; window scale: NOP, WS. */
    o.opts.present = WIRE_OPT_SACK_PERM | WIRE_OPT_WSCALE;
    o.opts.wscale = 14;
    static const uint8_t sp_ws[8] = { 1, 1, 4, 2, 1, 3, 3, 14 };
    CHECK_EQ(wire_emit(buf, sizeof buf, &o), 48);
    CHECK(memcmp(buf + 40, sp_ws, sizeof sp_ws) == 0);

    /* SACK: NOP, NOP, kind 5, length 2 + 8n. */
    o.opts.present = WIRE_OPT_SACK;
    o.opts.sack_count = 1;
    o.opts.sack[0].left = 0x11223344;
    o.opts.sack[0].right = 0x55667788;
    static const uint8_t sack[12] = { 1, 1, 5, 10, 0x11, 0x22, 0x33, 0x44,
                                      0x55, 0x66, 0x77, 0x88 };
    CHECK_EQ(wire_emit(buf, sizeof buf, &o), 52);
    CHECK(memcmp(buf + 40, sack, sizeof sack) == 0);

    /* A SACK bit with no blocks writes nothing. */
    o.opts.sack_count = 0;
    CHECK_EQ(wire_tcp_opts_len(&o.opts), 0);
    CHECK_EQ(wire_emit(buf, sizeof buf, &o), 40);
    CHECK_EQ(buf[32], 5 << 4);
}

static void test_emit_sack_trimmed_to_fit(void)
{
    struct wire_tcp_opts op;
    memset(&op, 0, sizeof op);
    op.present = WIRE_OPT_SACK;
    op.sack_count = 4;
    CHECK_EQ(wire_tcp_opts_len(&op), 36); /* 4 blocks */
    op.present |= WIRE_OPT_TS;
    CHECK_EQ(wire_tcp_opts_len(&op), 40); /* TS + 3 blocks (RFC 2018 3) */
    op.present |= WIRE_OPT_SACK_PERM;
    CHECK_EQ(wire_tcp_opts_len(&op), 40); /* SACK-perm shares TS's word: still 3 */
    op.present |= WIRE_OPT_WSCALE;
    CHECK_EQ(wire_tcp_opts_len(&op), 36); /* 16 + 4 + 2 blocks */
    op.present |= WIRE_OPT_MSS;
    CHECK_EQ(wire_tcp_opts_len(&op), 40); /* 20 + 4 + 2 blocks */
    /* sack_count beyond WIRE_SACK_MAX is clamped, never read past the array. */
    op.present = WIRE_OPT_SACK;
    op.sack_count = 200;
    CHECK_EQ(wire_tcp_opts_len(&op), 36);
    op.present = 0;
    CHECK_EQ(wire_tcp_opts_len(&op), 0);
}

static void test_emit_capacity(void)
{
    static uint8_t data[100];
    static uint8_t buf[200];
    struct wire_tcp_out o;
    memset(&o, 0, sizeof o);
    o.opts.present = WIRE_OPT_MSS;
    o.opts.mss = 1000;
    o.data[0] = data;
    o.data_len[0] = 60;
    o.data[1] = data + 60;
    o.data_len[1] = 40;
    size_t need = 20 + 24 + 100;
    memset(buf, 0x5a, sizeof buf);
    CHECK_EQ(wire_emit(buf, need - 1, &o), 0);
    CHECK_EQ(wire_emit(buf, 0, &o), 0);
    CHECK_EQ(wire_emit(buf, need, &o), need);
    CHECK_EQ(buf[need], 0x5a); /* nothing written past the packet */
    /* More than an IPv4 packet can hold (65535 bytes in all). */
    uint8_t *big = calloc(1, 70000), *out = malloc(70000);
    if (big != NULL && out != NULL) {
        o.opts.present = 0;
        o.data[0] = big;
        o.data_len[0] = 65535 - 40;
        o.data[1] = NULL;
        o.data_len[1] = 0;
        CHECK_EQ(wire_emit(out, 70000, &o), 65535);
        o.data_len[0] = 65535 - 40 + 1;
        CHECK_EQ(wire_emit(out, 70000, &o), 0);
    }
    CHECK(big != NULL && out != NULL);
    free(big);
    free(out);
}

int main(void)
{
    RUN(test_csum_rfc1071_example);
    RUN(test_csum_known_ipv4_header);
    RUN(test_csum_odd_length);
    RUN(test_csum_empty);
    RUN(test_csum_many_carries);
    RUN(test_csum_random_agrees_with_reference);
    RUN(test_csum_pseudo);
    RUN(test_csum_pseudo_random);
    RUN(test_tcp_out_clear);
    RUN(test_parse_real_syn);
    RUN(test_emit_reproduces_real_syn);
    RUN(test_ip_truncated);
    RUN(test_ip_version);
    RUN(test_ip_header_length);
    RUN(test_ip_checksum);
    RUN(test_ip_fragment);
    RUN(test_ip_options_skipped);
    RUN(test_ip_link_padding_ignored);
    RUN(test_tcp_truncated);
    RUN(test_tcp_offset);
    RUN(test_tcp_checksum);
    RUN(test_tcp_options_malformed);
    RUN(test_tcp_options_eol_then_garbage);
    RUN(test_tcp_options_unknown_skipped);
    RUN(test_tcp_options_values);
    RUN(test_tcp_flags_and_reserved_bits);
    RUN(test_emit_round_trip_all_options);
    RUN(test_emit_option_bytes);
    RUN(test_emit_sack_trimmed_to_fit);
    RUN(test_emit_capacity);
    return check_summary();
}
