/*
 * ring.c: a byte ring buffer over caller-owned memory (see ring.h).
 *
 * Offsets are counted from the head; a position in storage is (head + off) mod cap, computed
 * without overflow for any cap up to 2^32 - 1. A ring of capacity 0 holds nothing and every
 * operation on it is a no-op. A ring without storage is empty; its owner attaches storage
 * before writing (ring.h).
 */
#include "tcp/ring.h"

#include <string.h>

void ring_init(struct ring *r, uint8_t *buf, uint32_t cap)
{
    r->buf = buf;
    r->cap = cap;
    r->head = 0;
    r->len = 0;
}

void ring_attach(struct ring *r, uint8_t *buf)
{
    r->buf = buf;
    r->head = 0;
    r->len = 0;
}

uint8_t *ring_detach(struct ring *r)
{
    uint8_t *buf = r->buf;
    r->buf = NULL;
    r->head = 0;
    r->len = 0;
    return buf;
}

/* Storage index of the byte off bytes after the head. off MUST be <= cap. */
static uint32_t ring_pos(const struct ring *r, uint32_t off)
{
    uint32_t room = r->cap - r->head; /* bytes from head to the end of storage */
    return off >= room ? off - room : r->head + off;
}

/* Copies n bytes from src into storage starting at offset off (wrapping). n <= cap. */
static void ring_copy_in(struct ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
    if (n == 0)
        return;
    uint32_t pos = ring_pos(r, off);
    uint32_t first = r->cap - pos;
    if (first > n)
        first = n;
    memcpy(r->buf + pos, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

uint32_t ring_write(struct ring *r, const void *src, uint32_t n)
{
    uint32_t room = r->buf ? ring_free(r) : 0; /* no storage attached: nothing fits */
    if (n > room)
        n = room;
    ring_copy_in(r, r->len, src, n);
    r->len += n;
    return n;
}

uint32_t ring_peek(const struct ring *r, uint32_t off, void *dst, uint32_t n)
{
    if (off >= r->len)
        return 0;
    if (n > r->len - off)
        n = r->len - off;
    const uint8_t *ptr[2];
    uint32_t len[2];
    int k = ring_slices(r, off, n, ptr, len);
    uint8_t *out = dst;
    for (int i = 0; i < k; i++) {
        memcpy(out, ptr[i], len[i]);
        out += len[i];
    }
    return n;
}

void ring_consume(struct ring *r, uint32_t n)
{
    if (n > r->len) /* contract violation: consume what there is rather than corrupt */
        n = r->len;
    if (n == 0)
        return;
    r->head = ring_pos(r, n);
    r->len -= n;
}

int ring_slices(const struct ring *r, uint32_t off, uint32_t n, const uint8_t *ptr[2],
                uint32_t len[2])
{
    ptr[0] = ptr[1] = NULL;
    len[0] = len[1] = 0;
    if (n == 0 || r->cap == 0)
        return 0;
    uint32_t pos = ring_pos(r, off);
    uint32_t first = r->cap - pos;
    if (first >= n) {
        ptr[0] = r->buf + pos;
        len[0] = n;
        return 1;
    }
    ptr[0] = r->buf + pos;
    len[0] = first;
    ptr[1] = r->buf;
    len[1] = n - first;
    return 2;
}

void ring_write_at(struct ring *r, uint32_t off, const void *src, uint32_t n)
{
    if (!r->buf || off > r->cap || n > r->cap - off) /* contract violation: write nothing */
        return;
    ring_copy_in(r, off, src, n);
}

void ring_commit(struct ring *r, uint32_t n)
{
    if (n > r->cap - r->len)
        n = r->cap - r->len;
    r->len += n;
}
