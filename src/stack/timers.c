/*
 * timers.c: the timer heap, a binary min-heap of connections keyed by tcp_deadline(). Each
 * connection stores its index, so re-keying after an engine call is O(log n) and a poll
 * costs O(log n) per connection whose timer is due, however many connections exist.
 */
#include <stdlib.h>

#include "stack/stack.h"

static void heap_set(struct synack_stack *s, uint32_t i, struct stack_conn *c)
{
    s->heap[i] = c;
    c->heap_idx = i;
}

static void sift_up(struct synack_stack *s, uint32_t i)
{
    struct stack_conn *c = s->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (s->heap[parent]->heap_key <= c->heap_key)
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, c);
}

static void sift_down(struct synack_stack *s, uint32_t i)
{
    struct stack_conn *c = s->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t key = c->heap_key;
        if (l < s->heap_len && s->heap[l]->heap_key < key) {
            m = l;
            key = s->heap[l]->heap_key;
        }
        if (r < s->heap_len && s->heap[r]->heap_key < key)
            m = r;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m]);
        i = m;
    }
    heap_set(s, i, c);
}

bool heap_reserve(struct synack_stack *s, uint32_t n)
{
    if (n <= s->heap_cap)
        return true;
    uint32_t cap = s->heap_cap ? s->heap_cap : 64;
    while (cap < n) {
        if (cap > UINT32_MAX / 2)
            return false;
        cap *= 2;
    }
    struct stack_conn **h = realloc(s->heap, (size_t)cap * sizeof *h);
    if (!h)
        return false;
    s->heap = h;
    s->heap_cap = cap;
    return true;
}

void heap_remove(struct synack_stack *s, struct stack_conn *c)
{
    uint32_t i = c->heap_idx;
    if (i == STACK_HEAP_NONE)
        return;
    c->heap_idx = STACK_HEAP_NONE;
    s->heap_len--;
    if (i == s->heap_len)
        return;
    struct stack_conn *last = s->heap[s->heap_len];
    heap_set(s, i, last);
    if (i > 0 && s->heap[(i - 1) / 2]->heap_key > last->heap_key)
        sift_up(s, i);
    else
        sift_down(s, i);
}

void heap_update(struct synack_stack *s, struct stack_conn *c, uint64_t deadline)
{
    if (deadline == TCP_NO_DEADLINE) {
        heap_remove(s, c);
        return;
    }
    if (c->heap_idx == STACK_HEAP_NONE) {
        /* Room was reserved when the connection was created (stack_conn_new). */
        c->heap_key = deadline;
        heap_set(s, s->heap_len++, c);
        sift_up(s, c->heap_idx);
        return;
    }
    uint64_t old = c->heap_key;
    c->heap_key = deadline;
    if (deadline < old)
        sift_up(s, c->heap_idx);
    else if (deadline > old)
        sift_down(s, c->heap_idx);
}

uint64_t heap_min(const struct synack_stack *s)
{
    return s->heap_len ? s->heap[0]->heap_key : TCP_NO_DEADLINE;
}
