/*
 * test_offload.c: the offloads of issue 6 (W1b): the virtio-net header of TUN devices
 * (src/link/vnet.c: layout, the header for a segment the kernel is to cut, partial
 * checksums), the engine's large segments (synack_config.tso_max: sizes, sequence numbers,
 * MSS-sized retransmissions) and the stack's checksum-offload input flag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/vnet.h"
#include "tcp/tcp.h"
#include "tcp/tcp_internal.h"
#include "wire/wire.h"

#define SRC_IP 0x0a4d0002u /* 10.77.0.2 */
#define DST_IP 0x0a4d0001u /* 10.77.0.1 */
#define SEC 1000000ull

/* ---- The virtio-net header ------------------------------------------------------------- */

static void test_vnet_header_layout_little_endian(void)
{
    struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
                         .hdr_len = 52, .gso_size = 1448, .csum_start = 20,
                         .csum_offset = 16};
    uint8_t b[VNET_HDR_LEN];
    vnet_hdr_put(b, &h);
    const uint8_t want[VNET_HDR_LEN] = {0x01, 0x01, 0x34, 0x00, 0xa8, 0x05, 0x14, 0x00, 0x10, 0x00};
    CHECK(memcmp(b, want, sizeof want) == 0);
    struct vnet_hdr g;
    vnet_hdr_get(b, &g);
    CHECK_EQ(g.flags, h.flags);
    CHECK_EQ(g.gso_type, h.gso_type);
    CHECK_EQ(g.hdr_len, 52);
    CHECK_EQ(g.gso_size, 1448);
    CHECK_EQ(g.csum_start, 20);
    CHECK_EQ(g.csum_offset, 16);
}

static uint8_t payload[1 << 17];

/* The test segment's header fields: timestamps on (a 32-byte TCP header), no data. */
static void segment_fields(struct wire_tcp_out *o)
{
    memset(o, 0, sizeof *o);
    o->src = SRC_IP;
    o->dst = DST_IP;
    o->sport = 40000;
    o->dport = 9000;
    o->seq = 123456;
    o->ack = 654321;
    o->flags = SYNACK_ACK | SYNACK_PSH;
    o->wnd = 1000;
    o->ttl = 64;
    o->opts.present = WIRE_OPT_TS;
    o->opts.ts_val = 5;
    o->opts.ts_ecr = 6;
}

/* An IPv4/TCP packet as the stack emits it, with payload bytes of data. Returns its
 * length. */
static size_t make_packet(uint8_t *buf, size_t cap, uint32_t bytes)
{
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    struct wire_tcp_out o;
    segment_fields(&o);
    o.data[0] = payload;
    o.data_len[0] = bytes;
    return wire_emit(buf, cap, &o);
}

static uint8_t pkt[65536], orig[65536];

static void test_vnet_tx_header_for_large_segment(void)
{
    size_t len = make_packet(pkt, sizeof pkt, 10000);
    REQUIRE(len == 20 + 32 + 10000);
    memcpy(orig, pkt, len);
    struct vnet_hdr h;
    CHECK(vnet_hdr_for_tx(pkt, len, 1448, &h));
    CHECK_EQ(h.flags, VNET_F_NEEDS_CSUM);
    CHECK_EQ(h.gso_type, VNET_GSO_TCPV4);
    CHECK_EQ(h.gso_size, 1448);
    CHECK_EQ(h.hdr_len, 52);
    CHECK_EQ(h.csum_start, 20);
    CHECK_EQ(h.csum_offset, 16);
    /* Only the checksum field changed, to the pseudo-header sum (not complemented). */
    CHECK(memcmp(pkt, orig, 36) == 0);
    CHECK(memcmp(pkt + 38, orig + 38, len - 38) == 0);
    uint16_t want = (uint16_t)~wire_csum_fold(wire_csum_pseudo(SRC_IP, DST_IP, (uint16_t)(len - 20)));
    CHECK_EQ((unsigned)pkt[36] << 8 | pkt[37], want);
    /* Finishing the partial checksum as a device does gives the packet back, intact. */
    CHECK(vnet_csum_complete(pkt, len, &h));
    CHECK(memcmp(pkt, orig, len) == 0);
    struct wire_tcp seg;
    CHECK_EQ(wire_tcp_parse(pkt + 20, len - 20, SRC_IP, DST_IP, true, &seg), 0);
}

static void test_vnet_tx_header_one_segment_not_cut(void)
{
    size_t len = make_packet(pkt, sizeof pkt, 1448);
    memcpy(orig, pkt, len);
    struct vnet_hdr h;
    CHECK(vnet_hdr_for_tx(pkt, len, 1448, &h)); /* fits one segment: no GSO */
    CHECK_EQ(h.flags, VNET_F_NEEDS_CSUM);       /* ...but the checksum is left partial */
    CHECK_EQ(h.gso_type, VNET_GSO_NONE);
    CHECK_EQ(h.gso_size, 0);
    CHECK(vnet_csum_complete(pkt, len, &h));
    CHECK(memcmp(pkt, orig, len) == 0);
    len = make_packet(pkt, sizeof pkt, 5000);
    memcpy(orig, pkt, len);
    CHECK(vnet_hdr_for_tx(pkt, len, 0, &h)); /* no offload asked: all zero, unchanged */
    CHECK_EQ(h.flags, 0);
    CHECK_EQ(h.gso_type, VNET_GSO_NONE);
    CHECK(memcmp(pkt, orig, len) == 0);
}

/* wire_emit with csum_partial leaves the pseudo-header sum for the link to finish: finished,
 * the packet is the one with the full checksum. */
static void test_wire_emit_partial_checksum(void)
{
    size_t len = make_packet(orig, sizeof orig, 9999);
    struct wire_tcp_out o;
    segment_fields(&o);
    o.data[0] = payload; /* two slices, the first of odd length, as a wrapped ring gives */
    o.data_len[0] = 4001;
    o.data[1] = payload + 4001;
    o.data_len[1] = 5998;
    o.csum_partial = true;
    REQUIRE(wire_emit(pkt, sizeof pkt, &o) == len);
    uint16_t want = (uint16_t)~wire_csum_fold(wire_csum_pseudo(SRC_IP, DST_IP, (uint16_t)(len - 20)));
    CHECK_EQ((unsigned)pkt[36] << 8 | pkt[37], want);
    CHECK(memcmp(pkt + 38, orig + 38, len - 38) == 0);
    struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
    CHECK(vnet_csum_complete(pkt, len, &h));
    CHECK(memcmp(pkt, orig, len) == 0);
}

static void test_vnet_tx_header_refuses_malformed(void)
{
    struct vnet_hdr h;
    size_t len = make_packet(pkt, sizeof pkt, 5000);
    CHECK(!vnet_hdr_for_tx(pkt, 10, 1448, &h));          /* truncated IPv4 header */
    CHECK(!vnet_hdr_for_tx(pkt, len - 1, 1448, &h));     /* total length disagrees */
    pkt[9] = 17;                                         /* UDP */
    CHECK(!vnet_hdr_for_tx(pkt, len, 1448, &h));
    CHECK_EQ(h.gso_type, VNET_GSO_NONE);
    len = make_packet(pkt, sizeof pkt, 5000);
    pkt[0] = 0x65;                                       /* version 6 */
    CHECK(!vnet_hdr_for_tx(pkt, len, 1448, &h));
    len = make_packet(pkt, sizeof pkt, 5000);
    pkt[20 + 12] = 0x40;                                 /* TCP data offset 16 bytes */
    CHECK(!vnet_hdr_for_tx(pkt, len, 1448, &h));
}

static void test_vnet_rx_checksum_states(void)
{
    struct vnet_hdr h;
    memset(&h, 0, sizeof h);
    CHECK_EQ(vnet_rx_csum(&h, 100), VNET_RX_CHECK);
    h.flags = VNET_F_DATA_VALID;
    CHECK_EQ(vnet_rx_csum(&h, 100), VNET_RX_TRUSTED);
    h.flags = VNET_F_NEEDS_CSUM;
    h.csum_start = 20;
    h.csum_offset = 16;
    CHECK_EQ(vnet_rx_csum(&h, 38), VNET_RX_TRUSTED);
    CHECK_EQ(vnet_rx_csum(&h, 37), VNET_RX_MALFORMED); /* the field ends past the packet */
    h.csum_start = 0xffff;
    h.csum_offset = 0xffff;
    CHECK_EQ(vnet_rx_csum(&h, 65535), VNET_RX_MALFORMED);
}

static void test_vnet_complete_partial_checksum(void)
{
    /* A packet as the kernel hands it over with NEEDS_CSUM: the field holds the
     * pseudo-header sum. Completing it gives the checksum wire_emit computes. */
    size_t len = make_packet(pkt, sizeof pkt, 3001); /* odd length: the padded last byte */
    memcpy(orig, pkt, len);
    uint16_t partial = (uint16_t)~wire_csum_fold(wire_csum_pseudo(SRC_IP, DST_IP, (uint16_t)(len - 20)));
    pkt[36] = (uint8_t)(partial >> 8);
    pkt[37] = (uint8_t)partial;
    struct wire_tcp seg;
    CHECK_EQ(wire_tcp_parse(pkt + 20, len - 20, SRC_IP, DST_IP, true, &seg),
             SYNACK_DROP_TCP_CHECKSUM);
    struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
    CHECK(vnet_csum_complete(pkt, len, &h));
    CHECK(memcmp(pkt, orig, len) == 0);
    h.csum_start = (uint16_t)(len - 17); /* field past the end: nothing changes */
    CHECK(!vnet_csum_complete(pkt, len, &h));
    CHECK(memcmp(pkt, orig, len) == 0);
}

/* ---- The engine's large segments ---------------------------------------------------------- */

#define MAX_SEGS 256
#define MSS 1460

static struct {
    struct synack_config cfg;
    struct tcp_hooks hooks;
    struct tcp_conn c;
    struct {
        uint32_t seq, len, tso_seg;
        uint8_t flags;
        bool rtx;
    } out[MAX_SEGS];
    int nout;
} E;

static uint8_t sndbuf[1 << 20], rcvbuf[1 << 16];

static void eng_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)arg;
    (void)c;
    if (E.nout >= MAX_SEGS)
        return;
    E.out[E.nout].seq = seg->seq;
    E.out[E.nout].len = seg->data_len[0] + seg->data_len[1];
    E.out[E.nout].tso_seg = seg->tso_seg;
    E.out[E.nout].flags = seg->flags;
    E.out[E.nout].rtx = rtx;
    E.nout++;
}

/* The peer's segment with flags, SEQ, ACK, a window field and len bytes of data; its SYN
 * offers window scale shift wscale when >= 0. */
static int peer_data(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, uint32_t len,
                     int wscale, uint64_t now)
{
    struct wire_tcp s;
    memset(&s, 0, sizeof s);
    s.payload = payload;
    s.payload_len = len;
    if ((flags & SYNACK_SYN) && wscale >= 0) {
        s.opts.present |= WIRE_OPT_WSCALE;
        s.opts.wscale = (uint8_t)wscale;
    }
    s.sport = 9000;
    s.dport = 40000;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.hdr_len = 20;
    s.wnd = wnd;
    if (flags & SYNACK_SYN) {
        s.opts.present |= WIRE_OPT_MSS;
        s.opts.mss = MSS;
    }
    return tcp_input(&E.c, &s, now);
}

static int peer_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, uint64_t now)
{
    return peer_data(flags, seq, ack, wnd, 0, -1, now);
}

#define ISS 1000u
#define IRS 5000u

/* An ESTABLISHED connection (passive open, no options: MSS 1460 both ways) with tso_max,
 * Nagle off, and a congestion window large enough that only the peer's window limits. */
static void eng_established(uint32_t tso_max)
{
    memset(&E, 0, sizeof E);
    synack_config_default(&E.cfg);
    E.cfg.ip = SRC_IP;
    E.cfg.window_scaling = E.cfg.timestamps = E.cfg.sack = false;
    E.cfg.nodelay = true;
    E.cfg.tso_max = tso_max;
    E.hooks.output = eng_output;
    tcp_init(&E.c, &E.hooks, &E.cfg, sndbuf, sizeof sndbuf, rcvbuf, sizeof rcvbuf);
    tcp_open_passive(&E.c, ISS, 0);
    peer_seg(SYNACK_SYN, IRS, 0, 65535, 0);
    peer_seg(SYNACK_ACK, IRS + 1, ISS + 1, 65535, 1000);
    E.c.cc.cwnd = 1u << 20;
    E.nout = 0;
}

static void test_tso_segments_up_to_tso_max_in_whole_mss(void)
{
    eng_established(65535);
    REQUIRE(E.c.state == SYNACK_ESTABLISHED);
    CHECK_EQ(tcp_send(&E.c, payload, 100000, 2000), 100000);
    /* The peer's window (65535) allows 44 whole segments: one segment of 64240 bytes, cut
     * by the link into 1460-byte pieces; the 1295 bytes left of the window wait (SWS). */
    REQUIRE(E.nout == 1);
    CHECK_EQ(E.out[0].seq, ISS + 1);
    CHECK_EQ(E.out[0].len, 44 * MSS);
    CHECK_EQ(E.out[0].tso_seg, MSS);
    CHECK(!E.out[0].rtx);
    CHECK(!(E.out[0].flags & SYNACK_PSH)); /* not the last byte queued */
    /* All acknowledged: the remaining 35760 bytes go in one segment ending with PSH. */
    E.nout = 0;
    peer_seg(SYNACK_ACK, IRS + 1, ISS + 1 + 44 * MSS, 65535, 3000);
    REQUIRE(E.nout == 1);
    CHECK_EQ(E.out[0].seq, ISS + 1 + 44 * MSS);
    CHECK_EQ(E.out[0].len, 100000 - 44 * MSS);
    CHECK_EQ(E.out[0].tso_seg, MSS);
    CHECK(E.out[0].flags & SYNACK_PSH);
    CHECK_EQ(E.c.snd_nxt, ISS + 1 + 100000);
}

static void test_tso_max_not_a_multiple_rounds_down(void)
{
    eng_established(5000);
    CHECK_EQ(tcp_send(&E.c, payload, 20000, 2000), 20000);
    REQUIRE(E.nout >= 4);
    uint32_t seq = ISS + 1;
    for (int i = 0; i < E.nout; i++) {
        CHECK_EQ(E.out[i].seq, seq);
        CHECK(E.out[i].len <= 5000);
        if (i + 1 < E.nout)
            CHECK_EQ(E.out[i].len, 3 * MSS); /* 4380: whole MSS pieces, at most 5000 */
        CHECK_EQ(E.out[i].tso_seg, E.out[i].len > MSS ? MSS : 0);
        seq += E.out[i].len;
    }
    CHECK_EQ(seq, ISS + 1 + 20000);
}

static void test_tso_off_keeps_mss(void)
{
    eng_established(0);
    CHECK_EQ(tcp_send(&E.c, payload, 20000, 2000), 20000);
    REQUIRE(E.nout == 14); /* 13 x 1460 + 1020 */
    uint32_t seq = ISS + 1;
    for (int i = 0; i < E.nout; i++) {
        CHECK_EQ(E.out[i].seq, seq);
        CHECK(E.out[i].len <= MSS);
        CHECK_EQ(E.out[i].tso_seg, 0);
        seq += E.out[i].len;
    }
}

static void test_tso_retransmissions_are_mss_sized(void)
{
    eng_established(65535);
    CHECK_EQ(tcp_send(&E.c, payload, 60000, 2000), 60000);
    REQUIRE(E.nout == 1);
    CHECK_EQ(E.out[0].len, 60000);
    /* The RTO expires: the go-back sends one MSS from SND.UNA, as a retransmission. */
    E.nout = 0;
    uint64_t rto = tcp_deadline(&E.c);
    REQUIRE(rto != TCP_NO_DEADLINE);
    tcp_timer(&E.c, rto);
    REQUIRE(E.nout == 1);
    CHECK_EQ(E.out[0].seq, ISS + 1);
    CHECK_EQ(E.out[0].len, MSS);
    CHECK_EQ(E.out[0].tso_seg, 0);
    CHECK(E.out[0].rtx);
    /* Its ACK moves on through the go-back: what follows was sent before, so it goes again
     * in MSS-sized segments, never as one large one. */
    E.nout = 0;
    peer_seg(SYNACK_ACK, IRS + 1, ISS + 1 + MSS, 65535, rto + 1000);
    REQUIRE(E.nout >= 1);
    uint32_t seq = ISS + 1 + MSS;
    for (int i = 0; i < E.nout; i++) {
        CHECK_EQ(E.out[i].seq, seq);
        CHECK(E.out[i].len <= MSS);
        CHECK_EQ(E.out[i].tso_seg, 0);
        CHECK(E.out[i].rtx);
        seq += E.out[i].len;
    }
}

/* With window scaling, the window announced is rounded up to the scale unit, so a peer can
 * send into a unit the free space does not cover; the data is trimmed, but the peer's
 * SND.NXT stays beyond RCV.NXT. With the receive buffer full, its pure ACKs must still be
 * taken for their ACK (RFC 9293 3.10.7.4 "special allowance"): found by the offload interop
 * test, where the echo stalled with a full buffer both ways. */
static void test_zero_window_takes_acks_from_beyond_rcv_nxt(void)
{
    memset(&E, 0, sizeof E);
    synack_config_default(&E.cfg);
    E.cfg.ip = SRC_IP;
    E.cfg.timestamps = E.cfg.sack = false;
    E.cfg.nodelay = true;
    E.hooks.output = eng_output;
    tcp_init(&E.c, &E.hooks, &E.cfg, sndbuf, sizeof sndbuf, rcvbuf, sizeof rcvbuf);
    tcp_open_passive(&E.c, ISS, 0);
    peer_data(SYNACK_SYN, IRS, 0, 65535, 0, 7, 0);
    peer_seg(SYNACK_ACK, IRS + 1, ISS + 1, 65535, 1000);
    REQUIRE(E.c.state == SYNACK_ESTABLISHED);
    REQUIRE(E.c.rcv_wscale == 1); /* 64 KiB of receive buffer: scale unit 2 bytes */
    CHECK_EQ(tcp_send(&E.c, payload, 1000, 2000), 1000);
    /* The peer fills the receive buffer (nothing is read). */
    uint32_t seq = IRS + 1;
    for (uint32_t n = 0; n < sizeof rcvbuf; n += MSS) {
        uint32_t len = tcp_min32(MSS, (uint32_t)sizeof rcvbuf - n);
        CHECK_EQ(peer_data(SYNACK_ACK, seq, ISS + 1, 65535, len, -1, 3000), 0);
        seq += len;
    }
    REQUIRE(E.c.rcv_nxt == seq);
    REQUIRE(tcp_rcv_wnd(&E.c) == 0);
    CHECK_EQ(E.c.snd_una, ISS + 1);
    /* Its ACK of our 1000 bytes carries SEQ = RCV.NXT + 1 (one byte it sent was trimmed). */
    E.nout = 0;
    CHECK_EQ(peer_seg(SYNACK_ACK, seq + 1, ISS + 1001, 65535, 4000), 0);
    CHECK_EQ(E.c.snd_una, ISS + 1001);
    /* Beyond the unit it stays unacceptable (answered with an ACK, not taken). */
    CHECK_EQ(tcp_send(&E.c, payload, 100, 5000), 100);
    CHECK_EQ(peer_seg(SYNACK_ACK, seq + 2, ISS + 1101, 65535, 6000),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    CHECK_EQ(E.c.snd_una, ISS + 1001);
}

/* ---- The stack's checksum-offload input ------------------------------------------------- */

static int stack_sent;
static void count_send(void *arg, const uint8_t *p, size_t len)
{
    (void)arg;
    (void)p;
    (void)len;
    stack_sent++;
}

static void test_stack_input_csum_ok_skips_verification(void)
{
    /* A SYN to a port where nobody listens, its checksum left partial (as the kernel sends
     * with checksum offload): dropped as a bad checksum unless the link vouches for it, when
     * it is answered with a RST. */
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = SRC_IP;
    struct synack_link link = {.send = count_send};
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s != NULL);
    struct wire_tcp_out o;
    memset(&o, 0, sizeof o);
    o.src = DST_IP;
    o.dst = SRC_IP;
    o.sport = 9000;
    o.dport = 7;
    o.seq = 1;
    o.flags = SYNACK_SYN;
    o.wnd = 1000;
    o.ttl = 64;
    size_t len = wire_emit(pkt, sizeof pkt, &o);
    REQUIRE(len == 40);
    pkt[36] ^= 0x55; /* no longer the right checksum */
    struct synack_stats st;
    synack_stack_input(s, pkt, len, 0);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_TCP_CHECKSUM], 1);
    CHECK_EQ(stack_sent, 0);
    synack_stack_input_flags(s, pkt, len, 0, SYNACK_INPUT_CSUM_OK);
    synack_stack_stats(s, &st);
    CHECK_EQ(st.drops[SYNACK_DROP_TCP_CHECKSUM], 1);
    CHECK_EQ(st.drops[SYNACK_DROP_NO_SOCKET], 1);
    CHECK_EQ(stack_sent, 1); /* the RST */
    synack_stack_free(s);
}

static void test_stack_tso_needs_send_tso(void)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = SRC_IP;
    cfg.tso_max = 65535;
    struct synack_link link = {.send = count_send};
    CHECK(synack_stack_new(&cfg, &link) == NULL);
}

int main(void)
{
    RUN(test_vnet_header_layout_little_endian);
    RUN(test_vnet_tx_header_for_large_segment);
    RUN(test_vnet_tx_header_one_segment_not_cut);
    RUN(test_wire_emit_partial_checksum);
    RUN(test_vnet_tx_header_refuses_malformed);
    RUN(test_vnet_rx_checksum_states);
    RUN(test_vnet_complete_partial_checksum);
    RUN(test_tso_segments_up_to_tso_max_in_whole_mss);
    RUN(test_tso_max_not_a_multiple_rounds_down);
    RUN(test_tso_off_keeps_mss);
    RUN(test_tso_retransmissions_are_mss_sized);
    RUN(test_zero_window_takes_acks_from_beyond_rcv_nxt);
    RUN(test_stack_input_csum_ok_skips_verification);
    RUN(test_stack_tso_needs_send_tso);
    return check_summary();
}
