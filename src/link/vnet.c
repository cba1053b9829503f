/*
 * vnet.c: the virtio-net header of TUN devices with offloads (see vnet.h).
 *
 * Read first: the virtio 1.x specification, 5.1.6 (the header and its GSO and checksum
 * fields); RFC 9293 3.1 (the TCP checksum and its pseudo-header).
 */
#include <string.h>

#include "link/vnet.h"
#include "wire/wire.h"

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

void vnet_hdr_put(uint8_t out[VNET_HDR_LEN], const struct vnet_hdr *h)
{
    out[0] = h->flags;
    out[1] = h->gso_type;
    put_le16(out + 2, h->hdr_len);
    put_le16(out + 4, h->gso_size);
    put_le16(out + 6, h->csum_start);
    put_le16(out + 8, h->csum_offset);
}

void vnet_hdr_get(const uint8_t in[VNET_HDR_LEN], struct vnet_hdr *h)
{
    h->flags = in[0];
    h->gso_type = in[1];
    h->hdr_len = get_le16(in + 2);
    h->gso_size = get_le16(in + 4);
    h->csum_start = get_le16(in + 6);
    h->csum_offset = get_le16(in + 8);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool vnet_hdr_for_tx(uint8_t *packet, size_t len, uint32_t seg_size, struct vnet_hdr *out)
{
    memset(out, 0, sizeof *out);
    if (seg_size == 0)
        return true;
    /* The headers as wire_emit() writes them: IPv4 (RFC 791), total length = len, TCP. */
    if (len < WIRE_IPV4_HDR_LEN || (packet[0] >> 4) != 4 || packet[9] != WIRE_PROTO_TCP)
        return false;
    size_t ihl = (size_t)(packet[0] & 0x0f) * 4;
    size_t total = (size_t)packet[2] << 8 | packet[3];
    if (ihl < WIRE_IPV4_HDR_LEN || total != len || len < ihl + WIRE_TCP_HDR_LEN)
        return false;
    size_t thl = (size_t)(packet[ihl + 12] >> 4) * 4;
    if (thl < WIRE_TCP_HDR_LEN || len < ihl + thl)
        return false;
    size_t payload = len - ihl - thl;
    if (payload > seg_size && seg_size > UINT16_MAX)
        return false;

    out->flags = VNET_F_NEEDS_CSUM;
    out->csum_start = (uint16_t)ihl;
    out->csum_offset = VNET_TCP_CSUM_OFFSET;
    if (payload > seg_size) {
        out->gso_type = VNET_GSO_TCPV4;
        out->hdr_len = (uint16_t)(ihl + thl);
        out->gso_size = (uint16_t)seg_size;
    }
    /* RFC 9293 3.1: the partial checksum is the pseudo-header's sum, not complemented; the
     * kernel adjusts it to each segment's length and adds the segment's bytes. */
    uint64_t pseudo = wire_csum_pseudo(get_be32(packet + 12), get_be32(packet + 16),
                                       (uint16_t)(len - ihl));
    uint16_t partial = wire_csum_partial(pseudo);
    packet[ihl + VNET_TCP_CSUM_OFFSET] = (uint8_t)(partial >> 8);
    packet[ihl + VNET_TCP_CSUM_OFFSET + 1] = (uint8_t)partial;
    return true;
}

/* The header's checksum field lies within a packet of len bytes. */
static bool csum_in_packet(const struct vnet_hdr *h, size_t len)
{
    return (size_t)h->csum_start + h->csum_offset + 2 <= len;
}

enum vnet_rx_csum vnet_rx_csum(const struct vnet_hdr *h, size_t pkt_len)
{
    if (h->flags & VNET_F_NEEDS_CSUM)
        return csum_in_packet(h, pkt_len) ? VNET_RX_TRUSTED : VNET_RX_MALFORMED;
    if (h->flags & VNET_F_DATA_VALID)
        return VNET_RX_TRUSTED;
    return VNET_RX_CHECK;
}

bool vnet_csum_complete(uint8_t *packet, size_t len, const struct vnet_hdr *h)
{
    if (!csum_in_packet(h, len))
        return false;
    uint8_t *field = packet + h->csum_start + h->csum_offset;
    uint16_t c = wire_csum_fold(wire_csum_add(0, packet + h->csum_start, len - h->csum_start));
    field[0] = (uint8_t)(c >> 8);
    field[1] = (uint8_t)c;
    return true;
}
