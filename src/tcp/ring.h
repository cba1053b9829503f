/*
 * ring.h: a byte ring buffer over caller-owned memory. No allocation. Used for the send
 * buffer (bytes from SND.UNA on) and the receive buffer (bytes not yet read).
 *
 * A ring may have a capacity but no storage yet (buf NULL): it then holds nothing and
 * reports its full capacity free, so a window can be offered from it; the owner attaches
 * storage before writing to it and may detach it again whenever the ring is empty.
 */
#ifndef SYNACK_RING_H
#define SYNACK_RING_H

#include <stdbool.h>
#include <stdint.h>

struct ring {
    uint8_t *buf;      /* caller-owned storage of cap bytes, or NULL (not attached) */
    uint32_t cap;      /* bytes of storage */
    uint32_t head;     /* offset of the first byte held */
    uint32_t len;      /* bytes held */
};

/* Uses cap bytes at buf (NULL: storage attached later); the ring starts empty. Can't fail. */
void ring_init(struct ring *r, uint8_t *buf, uint32_t cap);

static inline uint32_t ring_free(const struct ring *r) { return r->cap - r->len; }

/* Bytes may be written: storage is attached, or the capacity is 0 (writes are no-ops). */
static inline bool ring_has_storage(const struct ring *r) { return r->buf || r->cap == 0; }

/* Gives an empty ring without storage its cap bytes of storage at buf. */
void ring_attach(struct ring *r, uint8_t *buf);

/* Takes the storage back (NULL if none); whatever the ring held is dropped. */
uint8_t *ring_detach(struct ring *r);

/* Appends up to n bytes; returns how many fit. */
uint32_t ring_write(struct ring *r, const void *src, uint32_t n);

/* Copies up to n bytes starting off bytes after the head, without consuming. Returns count. */
uint32_t ring_peek(const struct ring *r, uint32_t off, void *dst, uint32_t n);

/* Drops n bytes from the head. n MUST NOT exceed r->len. */
void ring_consume(struct ring *r, uint32_t n);

/* Lends the bytes [off, off + n) as at most two contiguous slices, without copying.
 * off + n MUST NOT exceed r->len. Returns the number of slices (0, 1 or 2). */
int ring_slices(const struct ring *r, uint32_t off, uint32_t n,
                const uint8_t *ptr[2], uint32_t len[2]);

/* Writes n bytes at offset off after the head, which may lie beyond r->len (up to cap)
 * without changing len: for placing out-of-order data. off + n MUST NOT exceed r->cap. */
void ring_write_at(struct ring *r, uint32_t off, const void *src, uint32_t n);

/* Extends len by n bytes already placed with ring_write_at. len + n MUST NOT exceed cap. */
void ring_commit(struct ring *r, uint32_t n);

#endif /* SYNACK_RING_H */
