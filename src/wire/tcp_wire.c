/*
 * tcp_wire.c: parsing of TCP segments and their options, and emission of whole IPv4+TCP
 * packets.
 *
 * Read first: RFC 9293 3.1 (header, pseudo-header, option rules) and 3.2 (EOL, NOP, MSS);
 * RFC 7323 2.2 (window scale option) and 3.2 (timestamps option); RFC 2018 2 (SACK-permitted)
 * and 3 (SACK option); RFC 791 3.1 for the IPv4 header written by wire_emit().
 *
 * Parse checks, in this order (the first failing check gives the drop reason):
 *   1. at least a 20-byte header                          else SYNACK_DROP_TCP_TRUNCATED
 *   2. data offset >= 5 and data offset * 4 <= len, and
 *      len <= 65535 (the 16-bit TCP Length of the IPv4
 *      pseudo-header cannot describe a longer segment)     else SYNACK_DROP_TCP_OFFSET
 *   3. the checksum, if asked for                         else SYNACK_DROP_TCP_CHECKSUM
 *      (before the options, so corruption is counted as corruption)
 *   4. the option list                                    else SYNACK_DROP_TCP_OPTIONS
 * Ports 0, flag combinations, the reserved bits and the meaning of option values (a window
 * scale above 14, a SACK block with left >= right, MSS on a non-SYN segment) are the engine's
 * and the stack's business: they are passed on as received.
 */
#include <string.h>

#include "wire/wire.h"

#define TCP_LEN_MAX 0xffff  /* longest segment the IPv4 pseudo-header can describe, bytes */
#define IPV4_FLAG_DF 0x4000 /* Don't Fragment bit of the IPv4 flags/offset word */

/* TCP option kinds (RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3). */
#define OPT_EOL 0       /* end of option list */
#define OPT_NOP 1       /* no-operation, one byte */
#define OPT_MSS 2       /* maximum segment size */
#define OPT_WSCALE 3    /* window scale */
#define OPT_SACK_PERM 4 /* SACK permitted */
#define OPT_SACK 5      /* SACK blocks */
#define OPT_TS 8        /* timestamps */

/* Option lengths, kind and length bytes included. */
#define OPT_MSS_LEN 4
#define OPT_WSCALE_LEN 3
#define OPT_SACK_PERM_LEN 2
#define OPT_TS_LEN 10
#define OPT_SACK_BLOCK_LEN 8 /* one SACK block: left and right edge, 4 bytes each */

/* Big-endian field readers and writers (network byte order). */
static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Parse ------------------------------------------------------------------------------- */

/* Zeroes *o field by field. Segment structs are set up for every packet, and a memset of a
 * whole struct compiles to a string instruction that is slow to start (it showed in the
 * profile); field stores are not. */
static void opts_clear(struct wire_tcp_opts *o)
{
    o->present = 0;
    o->wscale = 0;
    o->mss = 0;
    o->ts_val = o->ts_ecr = 0;
    o->sack_count = 0;
    for (size_t b = 0; b < WIRE_SACK_MAX; b++)
        o->sack[b].left = o->sack[b].right = 0;
}

void wire_tcp_out_clear(struct wire_tcp_out *o)
{
    o->src = o->dst = 0;
    o->sport = o->dport = 0;
    o->seq = o->ack = 0;
    o->flags = 0;
    o->wnd = 0;
    o->ttl = 0;
    o->ip_id = 0;
    opts_clear(&o->opts);
    o->data[0] = o->data[1] = NULL;
    o->data_len[0] = o->data_len[1] = 0;
    o->tso_seg = 0;
    o->csum_partial = false;
}

/* Reads the option list opt[0 .. len) into *o (which must be zeroed). A later duplicate of an
 * option replaces an earlier one. Returns 0 or SYNACK_DROP_TCP_OPTIONS. */
static int parse_options(const uint8_t *opt, size_t len, struct wire_tcp_opts *o)
{
    size_t i = 0;

    while (i < len) {
        uint8_t kind = opt[i];

        /* RFC 9293 3.2: EOL ends the list; what follows is padding (MUST-69 asks senders for
         * zeros, but nothing is gained by rejecting other bytes, so they are not read). */
        if (kind == OPT_EOL)
            break;
        /* RFC 9293 3.2: NOP is a single byte; options need not be aligned (MUST-64). */
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        /* RFC 9293 3.1: every other option has a length byte that counts kind and length
         * (MUST-68); an illegal length must be coped with (MUST-7): the segment is dropped. */
        if (len - i < 2)
            return SYNACK_DROP_TCP_OPTIONS;
        size_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i)
            return SYNACK_DROP_TCP_OPTIONS;
        const uint8_t *v = opt + i + 2; /* the option's data */

        switch (kind) {
        case OPT_MSS: /* RFC 9293 3.2 */
            if (olen != OPT_MSS_LEN)
                return SYNACK_DROP_TCP_OPTIONS;
            o->mss = get16(v);
            o->present |= WIRE_OPT_MSS;
            break;
        case OPT_WSCALE: /* RFC 7323 2.2 */
            if (olen != OPT_WSCALE_LEN)
                return SYNACK_DROP_TCP_OPTIONS;
            o->wscale = v[0];
            o->present |= WIRE_OPT_WSCALE;
            break;
        case OPT_SACK_PERM: /* RFC 2018 2 */
            if (olen != OPT_SACK_PERM_LEN)
                return SYNACK_DROP_TCP_OPTIONS;
            o->present |= WIRE_OPT_SACK_PERM;
            break;
        case OPT_TS: /* RFC 7323 3.2 */
            if (olen != OPT_TS_LEN)
                return SYNACK_DROP_TCP_OPTIONS;
            o->ts_val = get32(v);
            o->ts_ecr = get32(v + 4);
            o->present |= WIRE_OPT_TS;
            break;
        case OPT_SACK: { /* RFC 2018 3: length 2 + 8n, n blocks; 40 option bytes allow 4 */
            size_t n = (olen - 2) / OPT_SACK_BLOCK_LEN;
            if ((olen - 2) % OPT_SACK_BLOCK_LEN != 0 || n < 1 || n > WIRE_SACK_MAX)
                return SYNACK_DROP_TCP_OPTIONS;
            for (size_t b = 0; b < n; b++) {
                o->sack[b].left = get32(v + b * OPT_SACK_BLOCK_LEN);
                o->sack[b].right = get32(v + b * OPT_SACK_BLOCK_LEN + 4);
            }
            o->sack_count = (uint8_t)n;
            o->present |= WIRE_OPT_SACK;
            break;
        }
        default:
            /* RFC 9293 3.1: an option we do not implement is ignored without error (MUST-6). */
            break;
        }
        i += olen;
    }
    return 0;
}

int wire_tcp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
                   bool check_csum, struct wire_tcp *out)
{
    /* RFC 9293 3.1 */
    if (len < WIRE_TCP_HDR_LEN)
        return SYNACK_DROP_TCP_TRUNCATED;

    size_t hdr_len = (size_t)(seg[12] >> 4) * 4; /* Data Offset counts 32-bit words */
    if (hdr_len < WIRE_TCP_HDR_LEN || hdr_len > len || len > TCP_LEN_MAX)
        return SYNACK_DROP_TCP_OFFSET;

    /* RFC 9293 3.1 Checksum: over pseudo-header, header and text; the receiver MUST check it
     * (MUST-3). Summed with the checksum field in place, a correct segment folds to 0. */
    if (check_csum) {
        uint64_t sum = wire_csum_pseudo(src, dst, (uint16_t)len);
        if (wire_csum_fold(wire_csum_add(sum, seg, len)) != 0)
            return SYNACK_DROP_TCP_CHECKSUM;
    }

    struct wire_tcp_opts opts;
    opts_clear(&opts);
    int r = parse_options(seg + WIRE_TCP_HDR_LEN, hdr_len - WIRE_TCP_HDR_LEN, &opts);
    if (r != 0)
        return r;

    out->sport = get16(seg);
    out->dport = get16(seg + 2);
    out->seq = get32(seg + 4);
    out->ack = get32(seg + 8);
    out->hdr_len = (uint8_t)hdr_len;
    out->flags = seg[13]; /* CWR ECE URG ACK PSH RST SYN FIN; the 4 reserved bits ignored */
    out->wnd = get16(seg + 14);
    out->urg_ptr = get16(seg + 18);
    out->opts = opts;
    out->payload = seg + hdr_len;
    out->payload_len = (uint32_t)(len - hdr_len);
    return 0;
}

/* ---- Emit -------------------------------------------------------------------------------- */

/* The emitted option layout, every piece a multiple of 4 bytes:
 *   MSS                                 kind 2, len 4                          4 bytes
 *   SACK-permitted + timestamps         kind 4, len 2, kind 8, len 10          12 bytes
 *     or NOP, NOP, timestamps           (timestamps alone)                     12 bytes
 *     or NOP, NOP, SACK-permitted       (SACK-permitted alone)                 4 bytes
 *   NOP, window scale                   kind 3, len 3                          4 bytes
 *   NOP, NOP, SACK                      kind 5, len 2 + 8n                     4 + 8n bytes
 * With everything else present, 20 bytes are left for SACK: 2 blocks; with timestamps only,
 * 3 blocks (as RFC 2018 3 expects); with none, 4. */

/* Option bytes of the layout above, SACK blocks left out. At most 20. */
static size_t opts_base_len(const struct wire_tcp_opts *o)
{
    size_t n = 0;

    if (o->present & WIRE_OPT_MSS)
        n += 4;
    if (o->present & WIRE_OPT_TS)
        n += 12;
    else if (o->present & WIRE_OPT_SACK_PERM)
        n += 4;
    if (o->present & WIRE_OPT_WSCALE)
        n += 4;
    return n;
}

/* Number of SACK blocks emitted: as many of opts.sack as fit in 40 bytes after the others. */
static size_t opts_sack_blocks(const struct wire_tcp_opts *o, size_t base_len)
{
    if (!(o->present & WIRE_OPT_SACK))
        return 0;
    size_t n = o->sack_count < WIRE_SACK_MAX ? o->sack_count : WIRE_SACK_MAX;
    size_t room = (WIRE_TCP_OPT_MAX - base_len - 4) / OPT_SACK_BLOCK_LEN;
    return n < room ? n : room;
}

size_t wire_tcp_opts_len(const struct wire_tcp_opts *opts)
{
    size_t base = opts_base_len(opts);
    size_t blocks = opts_sack_blocks(opts, base);

    return base + (blocks > 0 ? 4 + blocks * OPT_SACK_BLOCK_LEN : 0);
}

/* Writes the options of *o at p in the layout above; returns the bytes written, which is
 * wire_tcp_opts_len(o). */
static size_t write_options(uint8_t *p, const struct wire_tcp_opts *o)
{
    uint8_t *start = p;

    if (o->present & WIRE_OPT_MSS) { /* RFC 9293 3.2 */
        p[0] = OPT_MSS;
        p[1] = OPT_MSS_LEN;
        put16(p + 2, o->mss);
        p += 4;
    }
    if (o->present & WIRE_OPT_TS) { /* RFC 7323 3.2, preceded by SACK-permitted or 2 NOPs */
        if (o->present & WIRE_OPT_SACK_PERM) {
            p[0] = OPT_SACK_PERM;
            p[1] = OPT_SACK_PERM_LEN;
        } else {
            p[0] = OPT_NOP;
            p[1] = OPT_NOP;
        }
        p[2] = OPT_TS;
        p[3] = OPT_TS_LEN;
        put32(p + 4, o->ts_val);
        put32(p + 8, o->ts_ecr);
        p += 12;
    } else if (o->present & WIRE_OPT_SACK_PERM) { /* RFC 2018 2 */
        p[0] = OPT_NOP;
        p[1] = OPT_NOP;
        p[2] = OPT_SACK_PERM;
        p[3] = OPT_SACK_PERM_LEN;
        p += 4;
    }
    if (o->present & WIRE_OPT_WSCALE) { /* RFC 7323 2.2 */
        p[0] = OPT_NOP;
        p[1] = OPT_WSCALE;
        p[2] = OPT_WSCALE_LEN;
        p[3] = o->wscale;
        p += 4;
    }
    size_t blocks = opts_sack_blocks(o, (size_t)(p - start));
    if (blocks > 0) { /* RFC 2018 3 */
        p[0] = OPT_NOP;
        p[1] = OPT_NOP;
        p[2] = OPT_SACK;
        p[3] = (uint8_t)(2 + blocks * OPT_SACK_BLOCK_LEN);
        p += 4;
        for (size_t b = 0; b < blocks; b++) {
            put32(p, o->sack[b].left);
            put32(p + 4, o->sack[b].right);
            p += OPT_SACK_BLOCK_LEN;
        }
    }
    return (size_t)(p - start);
}

/* Copies the payload slices to dst and adds them to sum. The first slice may have an odd
 * length (a ring buffer wraps anywhere) while wire_csum_copy() wants even lengths for all
 * pieces but the last: then the byte pair that straddles the two slices is summed as one
 * piece of its own, and the second slice continues on an even offset. */
static uint64_t copy_payload(uint64_t sum, uint8_t *dst, const struct wire_tcp_out *seg)
{
    const uint8_t *a = seg->data[0], *b = seg->data[1];
    size_t na = seg->data_len[0], nb = seg->data_len[1];

    if (na % 2 == 1 && nb > 0) {
        uint8_t pair[2] = { a[na - 1], b[0] };
        sum = wire_csum_copy(sum, dst, a, na - 1);
        sum = wire_csum_copy(sum, dst + na - 1, pair, 2);
        return wire_csum_copy(sum, dst + na + 1, b + 1, nb - 1);
    }
    sum = wire_csum_copy(sum, dst, a, na);
    return wire_csum_copy(sum, dst + na, b, nb);
}

size_t wire_emit_len(const struct wire_tcp_out *seg)
{
    return WIRE_IPV4_HDR_LEN + WIRE_TCP_HDR_LEN + wire_tcp_opts_len(&seg->opts) +
           (size_t)seg->data_len[0] + seg->data_len[1];
}

size_t wire_emit(uint8_t *buf, size_t cap, const struct wire_tcp_out *seg)
{
    size_t opt_len = wire_tcp_opts_len(&seg->opts); /* <= WIRE_TCP_OPT_MAX by construction */
    size_t tcp_hdr_len = WIRE_TCP_HDR_LEN + opt_len;
    size_t tcp_len = tcp_hdr_len + (size_t)seg->data_len[0] + seg->data_len[1];
    size_t total_len = WIRE_IPV4_HDR_LEN + tcp_len;

    /* RFC 791 3.1: Total Length is 16 bits. */
    if (total_len > 0xffff || total_len > cap)
        return 0;

    /* RFC 791 3.1: version 4, IHL 5 (no options), TOS 0, DF set, not a fragment. */
    uint8_t *ip = buf;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)total_len);
    put16(ip + 4, seg->ip_id);
    put16(ip + 6, IPV4_FLAG_DF);
    ip[8] = seg->ttl;
    ip[9] = WIRE_PROTO_TCP;
    put16(ip + 10, 0);
    put32(ip + 12, seg->src);
    put32(ip + 16, seg->dst);
    put16(ip + 10, wire_csum_fold(wire_csum_add(0, ip, WIRE_IPV4_HDR_LEN)));

    /* RFC 9293 3.1: the TCP header; reserved bits 0, checksum 0 while it is computed. The
     * urgent pointer is always written as 0. */
    uint8_t *tcp = buf + WIRE_IPV4_HDR_LEN;
    put16(tcp, seg->sport);
    put16(tcp + 2, seg->dport);
    put32(tcp + 4, seg->seq);
    put32(tcp + 8, seg->ack);
    tcp[12] = (uint8_t)((tcp_hdr_len / 4) << 4); /* Data Offset, reserved bits 0 */
    tcp[13] = seg->flags;
    put16(tcp + 14, seg->wnd);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    write_options(tcp + WIRE_TCP_HDR_LEN, &seg->opts);

    uint64_t sum = wire_csum_pseudo(seg->src, seg->dst, (uint16_t)tcp_len);
    if (seg->csum_partial) {
        /* Checksum offload: the pseudo-header sum (RFC 9293 3.1) for the link to finish. */
        if (seg->data_len[0] > 0)
            memcpy(tcp + tcp_hdr_len, seg->data[0], seg->data_len[0]);
        if (seg->data_len[1] > 0)
            memcpy(tcp + tcp_hdr_len + seg->data_len[0], seg->data[1], seg->data_len[1]);
        put16(tcp + 16, wire_csum_partial(sum));
        return total_len;
    }
    /* RFC 9293 3.1: pseudo-header, header, then the text summed while it is copied. */
    sum = wire_csum_add(sum, tcp, tcp_hdr_len);
    sum = copy_payload(sum, tcp + tcp_hdr_len, seg);
    put16(tcp + 16, wire_csum_fold(sum));
    return total_len;
}
