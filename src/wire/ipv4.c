/*
 * ipv4.c: parsing and validation of the IPv4 header (RFC 791 3.1).
 *
 * Read first: RFC 791 3.1 (header format), RFC 1071 (the header checksum).
 *
 * What is checked, in this order (the first failing check gives the drop reason):
 *   1. the buffer holds a 20-byte header              else SYNACK_DROP_IP_TRUNCATED
 *   2. version is 4                                    else SYNACK_DROP_IP_VERSION
 *   3. IHL >= 5 and IHL * 4 <= buffer length           else SYNACK_DROP_IP_HEADER
 *   4. total length <= buffer length                   else SYNACK_DROP_IP_TRUNCATED
 *   5. total length >= IHL * 4                         else SYNACK_DROP_IP_HEADER
 *      (a header that claims to be longer than its own packet is a malformed header, not a
 *      short buffer: the buffer holds every byte the header asks for)
 *   6. the header checksum, over IHL * 4 bytes         else SYNACK_DROP_IP_CHECKSUM
 *   7. not a fragment: MF clear and offset 0           else SYNACK_DROP_IP_FRAGMENT
 *      (checked after the checksum, so a corrupted header is counted as corrupted)
 * Not checked here: the protocol and the destination (the stack's business), TOS, TTL, the
 * reserved flag bit and DF (DF is normal on TCP packets). IP options are skipped unread.
 * Bytes past the total length (link-layer padding) are ignored. *out is written only when the
 * packet is accepted.
 */
#include "wire/wire.h"

#define IPV4_FLAG_MF 0x2000      /* More Fragments bit of the flags/offset word */
#define IPV4_FRAG_OFFSET 0x1fff  /* fragment offset field, in units of 8 bytes */

/* Big-endian field readers (RFC 791 appendix B: network byte order). */
static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int wire_ipv4_parse(const uint8_t *buf, size_t len, struct wire_ipv4 *out)
{
    /* RFC 791 3.1 */
    if (len < WIRE_IPV4_HDR_LEN)
        return SYNACK_DROP_IP_TRUNCATED;
    if (buf[0] >> 4 != 4)
        return SYNACK_DROP_IP_VERSION;

    size_t hdr_len = (size_t)(buf[0] & 0x0f) * 4; /* IHL counts 32-bit words */
    if (hdr_len < WIRE_IPV4_HDR_LEN || hdr_len > len)
        return SYNACK_DROP_IP_HEADER;

    size_t total_len = get16(buf + 2); /* bytes, header included */
    if (total_len > len)
        return SYNACK_DROP_IP_TRUNCATED;
    if (total_len < hdr_len)
        return SYNACK_DROP_IP_HEADER;

    /* RFC 791 3.1 Header Checksum; RFC 1071: summed over a correct header including its
     * checksum field, the ones'-complement sum is all ones, so its complement is 0. */
    if (wire_csum_fold(wire_csum_add(0, buf, hdr_len)) != 0)
        return SYNACK_DROP_IP_CHECKSUM;

    /* RFC 791 3.1 Flags and Fragment Offset: synack does not reassemble. */
    if (get16(buf + 6) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET))
        return SYNACK_DROP_IP_FRAGMENT;

    out->tos = buf[1];
    out->total_len = (uint16_t)total_len;
    out->id = get16(buf + 4);
    out->ttl = buf[8];
    out->protocol = buf[9];
    out->src = get32(buf + 12);
    out->dst = get32(buf + 16);
    out->hdr_len = (uint8_t)hdr_len;
    out->payload = buf + hdr_len;
    out->payload_len = total_len - hdr_len;
    return 0;
}
