/*
 * ports.c: local port ownership and ephemeral port selection.
 *
 * Read first: RFC 6056 3.3.3 (Algorithm 3, "simple hash-based"), RFC 6335 6 (the dynamic
 * range). A port is owned by at most one descriptor: a bound socket, a listener or a
 * connection that bound it (explicitly or by connect). Accepted connections share their
 * listener's port without owning it. The 4-tuples of live connections (including TIME-WAIT
 * after their descriptor is closed) live in the connection table; a connect must not reuse
 * one of them.
 */
#include "stack/isn.h"
#include "stack/stack.h"

bool ports_free(const struct synack_stack *s, uint16_t port)
{
    return s->port_owner[port] == 0;
}

void ports_take(struct synack_stack *s, uint16_t port, int fd)
{
    s->port_owner[port] = (uint32_t)fd + 1;
}

void ports_release(struct synack_stack *s, uint16_t port, int fd)
{
    if (s->port_owner[port] == (uint32_t)fd + 1)
        s->port_owner[port] = 0;
}

struct stack_listener *ports_listener(const struct synack_stack *s, uint16_t port)
{
    uint32_t owner = s->port_owner[port];
    if (owner == 0)
        return NULL;
    const struct stack_sock *k = &s->socks[owner - 1];
    return k->kind == STACK_SOCK_LISTEN ? k->lst : NULL;
}

uint16_t ports_pick(struct synack_stack *s, uint32_t rip, uint16_t rport)
{
    uint32_t lo = s->cfg.ephemeral_lo, n = (uint32_t)s->cfg.ephemeral_hi - lo + 1;
    /* RFC 6056 3.3.3: offset = F(local ip, remote ip, remote port, secret key). */
    uint8_t t[10] = {
        (uint8_t)(s->cfg.ip >> 24), (uint8_t)(s->cfg.ip >> 16), (uint8_t)(s->cfg.ip >> 8),
        (uint8_t)s->cfg.ip,
        (uint8_t)(rip >> 24), (uint8_t)(rip >> 16), (uint8_t)(rip >> 8), (uint8_t)rip,
        (uint8_t)(rport >> 8), (uint8_t)rport,
    };
    uint32_t offset = (uint32_t)siphash24(s->port_key, t, sizeof t);
    for (uint32_t i = 0; i < n; i++) {
        /* RFC 6056 3.3.3: next_ephemeral advances on every attempt. */
        uint16_t port = (uint16_t)(lo + (offset + s->port_next++) % n);
        if (!ports_free(s, port))
            continue;
        if (rport != 0 && table_tuple_used(s, s->cfg.ip, port, rip, rport))
            continue;
        return port;
    }
    return 0;
}
