/*
 * vnet.h: the virtio-net header a TUN device opened with IFF_VNET_HDR puts before every
 * packet (struct virtio_net_hdr: the virtio 1.x specification, 5.1.6 "Device Operation";
 * the kernel's Documentation/networking/tuntap.rst), and the offloads it carries:
 *
 *   - from the kernel: a packet may be a large TCP segment the kernel did not cut (GSO, up
 *     to 64 KiB) and its TCP checksum may be partial (VNET_F_NEEDS_CSUM: the field holds only
 *     the pseudo-header sum, the device was to finish it). synack takes such a packet as a
 *     NIC driver takes one from its hardware: the checksum counts as verified.
 *   - to the kernel: a packet larger than one segment goes with gso_type TCPV4 and gso_size
 *     = the segment size, and the kernel cuts it (TSO); its checksum is then partial, as the
 *     kernel's segmentation expects.
 *
 * Pure functions, portable: the layout is written out here, in little-endian byte order
 * (the tun driver sets it with TUNSETVNETLE), not taken from <linux/virtio_net.h>.
 */
#ifndef SYNACK_VNET_H
#define SYNACK_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 10          /* struct virtio_net_hdr without num_buffers, bytes */

#define VNET_F_NEEDS_CSUM 1      /* flags: checksum partial, from csum_start; the value at
                                    csum_start + csum_offset is the pseudo-header sum */
#define VNET_F_DATA_VALID 2      /* flags: the checksum has been verified */

#define VNET_GSO_NONE 0          /* gso_type: one packet as it is */
#define VNET_GSO_TCPV4 1         /* gso_type: a TCP/IPv4 segment to cut into gso_size pieces */
#define VNET_GSO_ECN 0x80        /* gso_type bit: the segment carries CWR */

#define VNET_TCP_CSUM_OFFSET 16  /* the TCP checksum field's offset in the TCP header */

struct vnet_hdr {
    uint8_t flags;               /* VNET_F_* */
    uint8_t gso_type;            /* VNET_GSO_* */
    uint16_t hdr_len;            /* bytes of IPv4 + TCP headers (GSO) */
    uint16_t gso_size;           /* payload bytes per segment (GSO) */
    uint16_t csum_start;         /* where checksumming starts (NEEDS_CSUM): the TCP header */
    uint16_t csum_offset;        /* the checksum field, from csum_start */
};

/* Writes / reads the 10 header bytes. */
void vnet_hdr_put(uint8_t out[VNET_HDR_LEN], const struct vnet_hdr *h);
void vnet_hdr_get(const uint8_t in[VNET_HDR_LEN], struct vnet_hdr *h);

/* The header for an IPv4 packet synack sends through send_tso, whose checksum is complete
 * or partial. With seg_size > 0: NEEDS_CSUM from the TCP header, the packet's TCP checksum
 * field set to the pseudo-header sum (partial: the kernel finishes it), and when the TCP
 * payload is larger than seg_size, GSO TCPV4 with gso_size seg_size and hdr_len the IPv4 +
 * TCP headers. With seg_size 0: all zero, the packet unchanged. Returns false (and all
 * zero, the packet unchanged) for a packet that is not a well-formed IPv4/TCP packet. */
bool vnet_hdr_for_tx(uint8_t *packet, size_t len, uint32_t seg_size, struct vnet_hdr *out);

/* What a received packet's header says about its checksum. */
enum vnet_rx_csum {
    VNET_RX_CHECK = 0,           /* nothing: the stack verifies the checksum */
    VNET_RX_TRUSTED,             /* DATA_VALID, or NEEDS_CSUM within the packet: the checksum
                                    counts as verified (see above) */
    VNET_RX_MALFORMED,           /* NEEDS_CSUM pointing past the packet: drop it */
};
enum vnet_rx_csum vnet_rx_csum(const struct vnet_hdr *h, size_t pkt_len);

/* Finishes a partial checksum (NEEDS_CSUM) in place, as a device would: the ones'-complement
 * sum from csum_start to the end of the packet (the pseudo-header sum is in the field) goes
 * into the field. Returns false, changing nothing, when the header points past the packet. */
bool vnet_csum_complete(uint8_t *packet, size_t len, const struct vnet_hdr *h);

#endif /* SYNACK_VNET_H */
