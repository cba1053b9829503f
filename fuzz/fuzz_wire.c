/*
 * fuzz_wire.c: libFuzzer target for src/wire/ (checksum, IPv4 and TCP parsing, emission).
 *
 * Build and run (no seed corpus: the fuzzer starts from empty input):
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc src/wire/checksum.c \
 *       src/wire/ipv4.c src/wire/tcp_wire.c fuzz/fuzz_wire.c -o /tmp/fuzz_wire
 *   /tmp/fuzz_wire -max_total_time=30
 * or with CMake: -DSYNACK_FUZZ=ON builds the target fuzz_wire.
 *
 * For each input:
 *   1. The checksum of the input is compared with a plain 16-bit reference, through
 *      wire_csum_add and through wire_csum_copy.
 *   2. The input is parsed as an IPv4 packet; if accepted, its payload as a TCP segment with
 *      and without the checksum check.
 *   3. The input is parsed directly as a TCP segment (so the option parser is reached even
 *      when the IPv4 checksum is wrong, which is nearly always).
 *   4. A copy of the input gets a correct IPv4 checksum, and, if it then parses, a correct
 *      TCP checksum: the parsers must then accept past the checksum checks.
 * Every accepted segment must satisfy the parser's contract, parse identically with and
 * without the checksum check, and survive emit -> parse with all its fields (SACK blocks may
 * be trimmed to what fits the emitter's layout, as documented in tcp_wire.c). Any violation
 * aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

#define FUZZ_SRC 0xc0a80001u /* addresses used when the input is parsed directly as TCP */
#define FUZZ_DST 0x0a000002u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                                        \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_wire: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                 \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* RFC 1071 1, literally: big-endian 16-bit words, odd byte padded on the right. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 2)
        s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);
    ASSERT(p != NULL);
    return p;
}

/* The two parses of one segment agree field by field. */
static void assert_same(const struct wire_tcp *a, const struct wire_tcp *b)
{
    ASSERT(a->sport == b->sport && a->dport == b->dport);
    ASSERT(a->seq == b->seq && a->ack == b->ack);
    ASSERT(a->flags == b->flags && a->hdr_len == b->hdr_len);
    ASSERT(a->wnd == b->wnd && a->urg_ptr == b->urg_ptr);
    ASSERT(a->payload == b->payload && a->payload_len == b->payload_len);
    ASSERT(a->opts.present == b->opts.present);
    ASSERT(a->opts.mss == b->opts.mss && a->opts.wscale == b->opts.wscale);
    ASSERT(a->opts.ts_val == b->opts.ts_val && a->opts.ts_ecr == b->opts.ts_ecr);
    ASSERT(a->opts.sack_count == b->opts.sack_count);
    for (unsigned i = 0; i < a->opts.sack_count && i < WIRE_SACK_MAX; i++)
        ASSERT(a->opts.sack[i].left == b->opts.sack[i].left &&
               a->opts.sack[i].right == b->opts.sack[i].right);
}

/* The contract of an accepted segment of len bytes at seg. */
static void assert_contract(const uint8_t *seg, size_t len, const struct wire_tcp *t)
{
    ASSERT(t->hdr_len >= WIRE_TCP_HDR_LEN && t->hdr_len % 4 == 0 && t->hdr_len <= len);
    ASSERT(t->payload == seg + t->hdr_len);
    ASSERT((size_t)t->payload_len == len - t->hdr_len);
    ASSERT(t->opts.sack_count <= WIRE_SACK_MAX);
    ASSERT(((t->opts.present & WIRE_OPT_SACK) != 0) == (t->opts.sack_count > 0));
    ASSERT((t->opts.present & ~(WIRE_OPT_MSS | WIRE_OPT_WSCALE | WIRE_OPT_SACK_PERM |
                                 WIRE_OPT_TS | WIRE_OPT_SACK)) == 0);
}

/* SACK blocks the emitter has room for, from the layout documented in tcp_wire.c. */
static unsigned sack_room(uint8_t present)
{
    unsigned base = 0;
    if (present & WIRE_OPT_MSS)
        base += 4;
    if (present & WIRE_OPT_TS)
        base += 12;
    else if (present & WIRE_OPT_SACK_PERM)
        base += 4;
    if (present & WIRE_OPT_WSCALE)
        base += 4;
    return (WIRE_TCP_OPT_MAX - base - 4) / 8;
}

/* Emits the parsed segment t again (payload split at a point chosen by split), parses the
 * result from a buffer of exactly its size, and checks that every field came back. */
static void round_trip(const struct wire_tcp *t, uint32_t src, uint32_t dst, uint8_t ttl,
                       uint16_t id, size_t split)
{
    struct wire_tcp_out o;
    memset(&o, 0, sizeof o);
    o.src = src;
    o.dst = dst;
    o.sport = t->sport;
    o.dport = t->dport;
    o.seq = t->seq;
    o.ack = t->ack;
    o.flags = t->flags;
    o.wnd = t->wnd;
    o.ttl = ttl;
    o.ip_id = id;
    o.opts = t->opts;
    size_t cut = t->payload_len > 0 ? split % ((size_t)t->payload_len + 1) : 0;
    o.data[0] = t->payload;
    o.data_len[0] = (uint32_t)cut;
    o.data[1] = t->payload + cut;
    o.data_len[1] = (uint32_t)(t->payload_len - cut);

    size_t opt_len = wire_tcp_opts_len(&o.opts);
    ASSERT(opt_len % 4 == 0 && opt_len <= WIRE_TCP_OPT_MAX);
    size_t need = WIRE_IPV4_HDR_LEN + WIRE_TCP_HDR_LEN + opt_len + t->payload_len;
    uint8_t *buf = xmalloc(need);
    if (need > 0xffff) {
        ASSERT(wire_emit(buf, need, &o) == 0);
        free(buf);
        return;
    }
    ASSERT(wire_emit(buf, need - 1, &o) == 0);
    ASSERT(wire_emit(buf, need, &o) == need);

    struct wire_ipv4 ip;
    ASSERT(wire_ipv4_parse(buf, need, &ip) == 0);
    ASSERT(ip.src == src && ip.dst == dst && ip.ttl == ttl && ip.id == id);
    ASSERT(ip.protocol == WIRE_PROTO_TCP && ip.tos == 0 && ip.hdr_len == WIRE_IPV4_HDR_LEN);
    ASSERT(ip.total_len == need && ip.payload_len == need - WIRE_IPV4_HDR_LEN);

    struct wire_tcp r;
    ASSERT(wire_tcp_parse(ip.payload, ip.payload_len, src, dst, true, &r) == 0);
    ASSERT(r.sport == t->sport && r.dport == t->dport);
    ASSERT(r.seq == t->seq && r.ack == t->ack);
    ASSERT(r.flags == t->flags && r.wnd == t->wnd && r.urg_ptr == 0);
    ASSERT(r.hdr_len == WIRE_TCP_HDR_LEN + opt_len);
    ASSERT(r.opts.present == t->opts.present);
    if (t->opts.present & WIRE_OPT_MSS)
        ASSERT(r.opts.mss == t->opts.mss);
    if (t->opts.present & WIRE_OPT_WSCALE)
        ASSERT(r.opts.wscale == t->opts.wscale);
    if (t->opts.present & WIRE_OPT_TS)
        ASSERT(r.opts.ts_val == t->opts.ts_val && r.opts.ts_ecr == t->opts.ts_ecr);
    unsigned room = sack_room(t->opts.present);
    unsigned want = t->opts.sack_count < room ? t->opts.sack_count : room;
    ASSERT(r.opts.sack_count == want);
    for (unsigned i = 0; i < want; i++)
        ASSERT(r.opts.sack[i].left == t->opts.sack[i].left &&
               r.opts.sack[i].right == t->opts.sack[i].right);
    ASSERT(r.payload_len == t->payload_len);
    ASSERT(t->payload_len == 0 || memcmp(r.payload, t->payload, t->payload_len) == 0);
    free(buf);
}

/* Parses seg[0 .. len) as TCP with and without the checksum; checks and round-trips what is
 * accepted. Returns the result of the checked parse. */
static int try_tcp(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst, uint8_t ttl,
                   uint16_t id, size_t split)
{
    struct wire_tcp plain, checked;
    int r_plain = wire_tcp_parse(seg, len, src, dst, false, &plain);
    int r_checked = wire_tcp_parse(seg, len, src, dst, true, &checked);

    ASSERT(r_plain >= 0 && r_plain < SYNACK_DROP_REASON_COUNT);
    ASSERT(r_checked >= 0 && r_checked < SYNACK_DROP_REASON_COUNT);
    /* The checksum check only ever adds SYNACK_DROP_TCP_CHECKSUM. */
    if (r_checked != SYNACK_DROP_TCP_CHECKSUM)
        ASSERT(r_checked == r_plain);
    else
        ASSERT(r_plain == 0 || r_plain == SYNACK_DROP_TCP_OPTIONS);
    if (r_plain == 0) {
        assert_contract(seg, len, &plain);
        round_trip(&plain, src, dst, ttl, id, split);
    }
    if (r_checked == 0)
        assert_same(&plain, &checked);
    return r_checked;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. Checksums against the reference, and copy at an odd destination offset. */
    uint16_t want = ref_csum(data, size);
    ASSERT(wire_csum_fold(wire_csum_add(0, data, size)) == want);
    uint8_t *copy = xmalloc(size + 1);
    ASSERT(wire_csum_fold(wire_csum_copy(0, copy + 1, data, size)) == want);
    ASSERT(size == 0 || memcmp(copy + 1, data, size) == 0);
    free(copy);

    size_t split = size > 0 ? data[size - 1] : 0; /* where round trips cut the payload */

    /* 2. As an IPv4 packet. */
    struct wire_ipv4 ip;
    int r_ip = wire_ipv4_parse(data, size, &ip);
    ASSERT(r_ip >= 0 && r_ip < SYNACK_DROP_REASON_COUNT);
    if (r_ip == 0) {
        ASSERT(ip.hdr_len >= WIRE_IPV4_HDR_LEN && ip.hdr_len % 4 == 0);
        ASSERT(ip.total_len <= size && ip.hdr_len + ip.payload_len == ip.total_len);
        ASSERT(ip.payload == data + ip.hdr_len);
        try_tcp(ip.payload, ip.payload_len, ip.src, ip.dst, ip.ttl, ip.id, split);
    }

    /* 3. Directly as a TCP segment. */
    try_tcp(data, size, FUZZ_SRC, FUZZ_DST, 64, 1, split);

    /* 4. With the checksums made right, in a buffer of exactly the input's size. */
    if (size >= WIRE_IPV4_HDR_LEN) {
        uint8_t *p = xmalloc(size);
        memcpy(p, data, size);
        size_t ihl = (size_t)(p[0] & 0x0f) * 4;
        if (ihl >= WIRE_IPV4_HDR_LEN && ihl <= size) {
            p[10] = p[11] = 0;
            uint16_t c = wire_csum_fold(wire_csum_add(0, p, ihl));
            p[10] = (uint8_t)(c >> 8);
            p[11] = (uint8_t)c;
            r_ip = wire_ipv4_parse(p, size, &ip);
            ASSERT(r_ip != SYNACK_DROP_IP_CHECKSUM);
            if (r_ip == 0 && ip.payload_len >= WIRE_TCP_HDR_LEN) {
                uint8_t *seg = p + ip.hdr_len;
                seg[16] = seg[17] = 0;
                uint64_t s = wire_csum_pseudo(ip.src, ip.dst, (uint16_t)ip.payload_len);
                c = wire_csum_fold(wire_csum_add(s, seg, ip.payload_len));
                seg[16] = (uint8_t)(c >> 8);
                seg[17] = (uint8_t)c;
                int r = try_tcp(seg, ip.payload_len, ip.src, ip.dst, ip.ttl, ip.id, split);
                ASSERT(r != SYNACK_DROP_TCP_CHECKSUM);
            }
        }
        free(p);
    }
    return 0;
}
