/*
 * conn_table.c: the connection table, a chained hash on the 4-tuple (local ip, local port,
 * remote ip, remote port). Lookup is O(1) on average; the table doubles when it holds more
 * connections than buckets. The hash is SipHash-1-3 under a per-stack key, so remote peers
 * cannot choose tuples that collide (hash flooding); 1-3 rather than 2-4 because it runs per
 * packet and a table needs a keyed PRF against flooding, not 2-4's margin as a MAC.
 *
 * A lookup first tries the connection the previous lookup found (one pointer compare and the
 * tuple compare): a burst of packets for one connection, the common case, skips the hash.
 * table_remove() forgets it, so it never points to a freed connection.
 */
#include <stdlib.h>

#include "stack/isn.h"
#include "stack/stack.h"

uint32_t table_hash(const struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                    uint16_t rport)
{
    uint64_t addrs = (uint64_t)lip << 32 | rip;
    uint64_t ports = (uint64_t)lport << 16 | rport;
    return (uint32_t)siphash13_2words(s->table_key[0], s->table_key[1], addrs, ports);
}

static bool tuple_is(const struct stack_conn *c, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport)
{
    return c->rport == rport && c->lport == lport && c->rip == rip && c->lip == lip;
}

bool table_init(struct synack_stack *s)
{
    s->nbuckets = STACK_TABLE_MIN;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    return s->buckets != NULL;
}

struct stack_conn *table_lookup(struct synack_stack *s, uint32_t lip, uint16_t lport,
                                uint32_t rip, uint16_t rport)
{
    struct stack_conn *last = s->table_last;
    if (last && tuple_is(last, lip, lport, rip, rport))
        return last;
    uint32_t h = table_hash(s, lip, lport, rip, rport);
    for (struct stack_conn *c = s->buckets[h & (s->nbuckets - 1)]; c; c = c->hnext) {
        if (c->hash == h && tuple_is(c, lip, lport, rip, rport)) {
            s->table_last = c;
            return c;
        }
    }
    return NULL;
}

/* Doubles the bucket array and rehashes; on no memory keeps the old one. O(n). */
static void table_grow(struct synack_stack *s)
{
    if (s->nbuckets > UINT32_MAX / 4)
        return;
    uint32_t n = s->nbuckets * 2;
    struct stack_conn **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (uint32_t i = 0; i < s->nbuckets; i++) {
        struct stack_conn *c = s->buckets[i];
        while (c) {
            struct stack_conn *next = c->hnext;
            uint32_t j = c->hash & (n - 1);
            c->hnext = b[j];
            b[j] = c;
            c = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

void table_insert(struct synack_stack *s, struct stack_conn *c)
{
    if (s->nconns >= s->nbuckets)
        table_grow(s);
    c->hash = table_hash(s, c->lip, c->lport, c->rip, c->rport);
    uint32_t j = c->hash & (s->nbuckets - 1);
    c->hnext = s->buckets[j];
    s->buckets[j] = c;
    c->in_table = true;
    s->nconns++;
    s->stats.conn_current++;
}

void table_remove(struct synack_stack *s, struct stack_conn *c)
{
    if (!c->in_table)
        return;
    if (s->table_last == c)
        s->table_last = NULL;
    struct stack_conn **pp = &s->buckets[c->hash & (s->nbuckets - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    c->hnext = NULL;
    c->in_table = false;
    s->nconns--;
    s->stats.conn_current--;
}

bool table_tuple_used(struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport)
{
    return table_lookup(s, lip, lport, rip, rport) ||
           tw_lookup(s, lip, lport, rip, rport) != STACK_TW_NONE;
}

uint32_t table_conn_count(const struct synack_stack *s)
{
    return s->nconns + s->tw_count;
}
