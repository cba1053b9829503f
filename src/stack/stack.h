/*
 * stack.h: the host's internal structures, shared by src/stack/ and src/api/. Not public.
 *
 * Read first: include/synack.h (the API these implement), src/tcp/tcp.h (the engine one
 * connection runs on), RFC 9293 3.4.1 (ISNs), 3.10.7.1-3.10.7.2 (segments to no connection
 * and to a listener), RFC 6056 (ephemeral ports).
 *
 * Ownership:
 *   - a struct stack_conn is one TCB plus its addresses. Its send and receive buffers are
 *     separate allocations made when a buffer first has bytes to hold and given back when
 *     it is empty again (tcp.h, "Buffer storage on demand"). It is in the connection table
 *     (4-tuple hash) from creation until it reaches CLOSED. It is freed when it is CLOSED and no descriptor refers to it ("reaped"), never
 *     from inside an engine hook.
 *   - a descriptor (struct stack_sock) is a fresh socket, a listener (struct stack_listener,
 *     its own allocation so children can point to it) or a connection.
 *   - a listener owns its children (half-open and established-not-accepted) until accept().
 */
#ifndef SYNACK_STACK_STACK_H
#define SYNACK_STACK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"
#include "tcp/tcp.h"
#include "wire/wire.h"

#define STACK_NO_FD (-1)                  /* stack_conn.fd / list ends: no descriptor */
#define STACK_HEAP_NONE UINT32_MAX        /* stack_conn.heap_idx: not in the timer heap */
#define STACK_PKT_CAP 65535               /* outgoing packet buffer, bytes (IPv4 maximum) */
#define STACK_TSO_MAX (STACK_PKT_CAP - WIRE_IPV4_HDR_LEN - WIRE_TCP_HDR_LEN - WIRE_TCP_OPT_MAX)
                                          /* cap of tso_max: the most payload one packet
                                             holds with the largest headers, bytes */
#define STACK_MAX_BUF (1u << 30)          /* largest SNDBUF/RCVBUF option accepted, bytes */
#define STACK_TABLE_MIN 64                /* initial connection table buckets (power of 2) */
#define STACK_SPARE_BUFS 8                /* emptied buffers kept for reuse, at most */

/* Which queue of its listener a child connection is on. */
enum stack_queue {
    STACK_Q_NONE = 0,
    STACK_Q_SYN,     /* half-open: SYN-RECEIVED */
    STACK_Q_ACCEPT,  /* synchronized, waiting for accept() */
};

struct stack_listener;

/* One connection: the engine's TCB, the 4-tuple and the stack's bookkeeping. */
struct stack_conn {
    struct tcp_conn tcp;            /* the engine's TCB */
    uint32_t lip, rip;              /* local / remote IPv4 address, host order */
    uint16_t lport, rport;          /* local / remote port */
    uint8_t state;                  /* enum synack_state, mirrored from state_change() */
    bool in_table;                  /* in the connection table (not yet CLOSED) */
    bool ever_established;          /* reached ESTABLISHED once (SYNACK_CONNECTED) */
    bool tw_counted;                /* counted in stats.time_wait_current */
    uint8_t queue;                  /* enum stack_queue on parent */
    uint32_t hash;                  /* 4-tuple hash (table bucket = hash & mask) */
    uint32_t heap_idx;              /* index in the timer heap or STACK_HEAP_NONE */
    int fd;                         /* descriptor, or STACK_NO_FD (orphan or unaccepted) */
    struct stack_conn *hnext;       /* next in the table bucket */
    uint64_t heap_key;              /* deadline the heap holds it under, microseconds */
    uint64_t poll_gen;              /* last synack_stack_poll() round that ran its timers */
    uint64_t orphan_deadline;       /* an orphan in FIN-WAIT-2 is aborted then, or UINT64_MAX */
    struct stack_listener *parent;  /* listener that holds it before accept(), or NULL */
    struct stack_conn *qprev, *qnext; /* links in the parent's queue */
};

#define STACK_TW_NONE UINT32_MAX /* no TIME-WAIT record (index) */

/* A compact TIME-WAIT (timewait.c): what is left of an orphan in TIME-WAIT. */
struct stack_tw {
    struct tcp_tw t;                /* the engine's TIME-WAIT state */
    uint32_t rip;                   /* remote address (the local one is cfg.ip) */
    uint16_t lport, rport;
    uint32_t hnext;                 /* next record in the hash bucket; next free slot */
    uint32_t prev, next;            /* FIFO by deadline */
};

/* A doubly linked queue of child connections. */
struct stack_conn_queue {
    struct stack_conn *head, *tail;
    uint32_t count;
};

/* A listening socket (RFC 9293 3.10.1 passive OPEN). */
struct stack_listener {
    int fd;                         /* its descriptor */
    uint32_t ip;                    /* bound address: 0 (any) or the stack's */
    uint16_t port;                  /* listening port */
    uint32_t backlog;               /* bound of half-open + waiting children, >= 1 */
    struct stack_conn_queue synq;   /* children in SYN-RECEIVED */
    struct stack_conn_queue acceptq; /* synchronized children waiting for accept() */
};

/* Kinds of descriptor. */
enum stack_sock_kind {
    STACK_SOCK_FREE = 0,  /* not open */
    STACK_SOCK_NEW,       /* created, perhaps bound, neither listening nor connected */
    STACK_SOCK_LISTEN,    /* listening: lst is set */
    STACK_SOCK_CONN,      /* connected (or connecting, or finished): conn is set */
};

/* One descriptor table entry. */
struct stack_sock {
    uint8_t kind;                   /* enum stack_sock_kind */
    bool owns_port;                 /* holds local.port in stack.port_owner */
    bool rd_shut;                   /* SHUT_RD done: recv() returns 0 */
    bool wr_shut;                   /* SHUT_WR done (CLOSE issued) */
    bool has_iss;                   /* SYNACK_OPT_ISS set */
    bool dirty;                     /* on the stack's dirty list */
    uint32_t iss;                   /* SYNACK_OPT_ISS value */
    uint32_t sndbuf, rcvbuf;        /* buffer sizes for its connection(s), bytes */
    int mask_reported;              /* readiness last reported by synack_events() */
    int next_free;                  /* free list link (FIFO) */
    int dprev, dnext;               /* dirty list links */
    struct synack_addr local;       /* bound address (ip 0 = any) when owns_port */
    uint64_t user_timeout_us;       /* RFC 9293 3.8.3 R2 for its connection(s) */
    struct tcp_sockopts opts;       /* NODELAY, CONGESTION, KEEPALIVE... for its
                                       connection(s) */
    union {
        struct stack_conn *conn;    /* STACK_SOCK_CONN */
        struct stack_listener *lst; /* STACK_SOCK_LISTEN */
    };
};

struct synack_stack {
    struct synack_config cfg;       /* copy of the configuration */
    struct synack_link link;        /* where packets go */
    struct tcp_hooks hooks;         /* engine callbacks, arg = this stack */
    synack_observer_fn observer;    /* trace events, or NULL */
    void *observer_arg;
    uint64_t now_us;                /* latest time from input/poll (socket calls use it) */
    uint64_t poll_gen;              /* counts synack_stack_poll() calls */
    struct synack_stats stats;
    uint16_t ip_id;                 /* next IPv4 identification */
    uint8_t *pkt;                   /* outgoing packet buffer, STACK_PKT_CAP bytes */
    uint64_t table_key[2];          /* SipHash key (k0, k1) of the connection table hash */
    uint8_t port_key[16];           /* SipHash key of the RFC 6056 port offset */

    /* Connection table: chained hash on the 4-tuple, resized by doubling. */
    struct stack_conn **buckets;
    uint32_t nbuckets;              /* power of 2 */
    uint32_t nconns;                /* connections in the table */
    struct stack_conn *table_last;  /* the last lookup's answer (in the table), or NULL */

    /* Timer heap: binary min-heap of connections keyed by tcp_deadline(). */
    struct stack_conn **heap;
    uint32_t heap_len, heap_cap;

    /* Descriptor table: grows by doubling up to cfg.max_sockets. Never-used slots are handed
     * out first, then closed ones oldest first, so a stale descriptor stays invalid as long as
     * possible. */
    struct stack_sock *socks;
    uint32_t socks_cap;             /* allocated entries */
    uint32_t socks_used;            /* entries ever handed out (high-water mark) */
    int free_head, free_tail;       /* FIFO of closed descriptors */
    int dirty_head, dirty_tail;     /* descriptors whose readiness may have changed */

    /* Compact TIME-WAIT records (timewait.c): a slab, a hash on the 4-tuple, a FIFO. */
    struct stack_tw *tw;
    uint32_t tw_cap, tw_count, tw_free;
    uint32_t *tw_buckets;
    uint32_t tw_nbuckets;           /* power of 2, or 0 before the first record */
    uint32_t tw_head, tw_tail;      /* FIFO ends: earliest deadline first */
    struct stack_conn tw_scratch;   /* the TCB a record is loaded into for an engine call */
    const void *tw_ctx;             /* ctx of the record loaded, for its trace events */

    /* Buffer memory given back by emptied buffers, kept for the next buffer of the same
     * size so that a connection that keeps emptying its buffer does not call malloc and
     * free each time. */
    uint8_t *spare[STACK_SPARE_BUFS];
    uint32_t spare_size[STACK_SPARE_BUFS];
    uint32_t nspare;

    /* Ports: port_owner[p] is 1 + the descriptor holding port p, or 0. */
    uint32_t *port_owner;
    uint32_t port_next;             /* RFC 6056 next_ephemeral counter */
};

/* ---- stack.c ----------------------------------------------------------------------------- */

/* Allocates a connection with buffers of sndbuf/rcvbuf bytes (no memory for them yet), in
 * CLOSED (tcp_init done), with its 4-tuple set, not yet in the table. Reserves timer heap
 * room. NULL on no memory or when cfg.max_connections is reached. */
struct stack_conn *stack_conn_new(struct synack_stack *s, uint32_t rip, uint16_t rport,
                                  uint16_t lport, uint32_t sndbuf, uint32_t rcvbuf,
                                  uint64_t user_timeout_us);

/* Room for one more full connection: under cfg.max_connections (TIME-WAIT records count)
 * and a timer heap slot reserved for it. */
bool stack_conn_room(struct synack_stack *s);

/* A SYN that may open a new incarnation arrived for c in TIME-WAIT (TCP_INPUT_REOPEN):
 * when a listener holds the port, ABORTs c (no RST), sets *iss_min above its old SND.NXT
 * and returns the listener, which the caller hands the SYN once it has cleaned c up;
 * otherwise returns NULL and changes nothing. */
struct stack_listener *stack_tw_reopen(struct synack_stack *s, struct stack_conn *c,
                                       uint16_t port, uint32_t *iss_min);

/* Frees a connection that is out of the table, the heap and any queue. */
void stack_conn_free(struct synack_stack *s, struct stack_conn *c);

/* Gives c's buffer `which` its memory if it has none. false on no memory (the engine then
 * refuses what needs it: tcp.h). */
bool stack_buf_ensure(struct synack_stack *s, struct stack_conn *c, enum tcp_buf which);

/* Calls tcp_input() on c, giving the receive buffer memory first when seg carries data. */
int stack_conn_input(struct synack_stack *s, struct stack_conn *c, const struct wire_tcp *seg);

/* Must follow every engine call on c: gives back the memory of emptied buffers; reaps c if
 * it reached CLOSED (or a child fell back to LISTEN): it leaves the table, heap and queues,
 * and is freed if no descriptor holds it. Otherwise re-keys c in the timer heap. Marks its
 * descriptor dirty. Returns true when c was freed. */
bool stack_conn_after(struct synack_stack *s, struct stack_conn *c);

/* Marks descriptor fd as having a readiness that may have changed. */
void stack_mark_dirty(struct synack_stack *s, int fd);

/* Removes fd from the dirty list (when it is closed). */
void stack_unmark_dirty(struct synack_stack *s, int fd);

/* The socket of descriptor fd, or NULL if fd is not open. */
struct stack_sock *stack_sock_get(const struct synack_stack *s, int fd);

/* Readiness mask of an open socket. */
int stack_sock_mask(const struct synack_stack *s, const struct stack_sock *k);

/* The sticky error of a connection (0 if none), through tcp_status(). */
int stack_conn_error(const struct stack_conn *c);

/* ---- conn_table.c ------------------------------------------------------------------------ */

/* O(1) average. NULL when no connection has this 4-tuple. Remembers the answer, so a run of
 * lookups of one tuple skips the hash. */
struct stack_conn *table_lookup(struct synack_stack *s, uint32_t lip, uint16_t lport,
                                uint32_t rip, uint16_t rport);
/* Inserts c (its tuple MUST NOT be in the table). Grows the table when the load passes 1;
 * growth failing only makes chains longer. Can't fail. */
void table_insert(struct synack_stack *s, struct stack_conn *c);
void table_remove(struct synack_stack *s, struct stack_conn *c);
/* Allocates the initial bucket array. false on no memory. */
bool table_init(struct synack_stack *s);

/* Hash of a 4-tuple under the stack's table key. */
uint32_t table_hash(const struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                    uint16_t rport);
/* The 4-tuple belongs to a connection, full or in compact TIME-WAIT. */
bool table_tuple_used(struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport);
/* Connections, full or in compact TIME-WAIT (what cfg.max_connections bounds). */
uint32_t table_conn_count(const struct synack_stack *s);

/* ---- timewait.c -------------------------------------------------------------------------- */

/* If c is an orphan in TIME-WAIT that a record can stand for, replaces it by one: c leaves
 * the table and the heap and is freed. Returns true when it did (false also on no memory:
 * the full TCB then stays, correct but larger). */
bool tw_adopt(struct synack_stack *s, struct stack_conn *c);
/* The record of a 4-tuple, or STACK_TW_NONE. */
uint32_t tw_lookup(const struct synack_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                   uint16_t rport);
/* A segment for record i (RFC 9293 3.10.7.4 TIME-WAIT). Emits the SEG_IN event. */
void tw_input(struct synack_stack *s, uint32_t i, const struct wire_ipv4 *ip,
              const struct wire_tcp *seg);
/* The earliest record deadline, or TCP_NO_DEADLINE. */
uint64_t tw_next_deadline(const struct synack_stack *s);
/* Ends the TIME-WAIT with the earliest deadline (3.10.8), which MUST be due. */
void tw_expire_first(struct synack_stack *s, uint64_t now_us);
/* The ctx trace events of c carry: c, or for the scratch TCB the record loaded in it. */
const void *tw_ctx(const struct synack_stack *s, const struct stack_conn *c);
/* Frees every record (the stack is freed). */
void tw_free_all(struct synack_stack *s);

/* ---- timers.c ---------------------------------------------------------------------------- */

/* Makes room for n connections in the heap. false on no memory. */
bool heap_reserve(struct synack_stack *s, uint32_t n);
/* Puts c in the heap under deadline (removes it for TCP_NO_DEADLINE). O(log n). Room MUST have
 * been reserved. */
void heap_update(struct synack_stack *s, struct stack_conn *c, uint64_t deadline);
void heap_remove(struct synack_stack *s, struct stack_conn *c);
/* The earliest deadline, or TCP_NO_DEADLINE. */
uint64_t heap_min(const struct synack_stack *s);

/* ---- ports.c ----------------------------------------------------------------------------- */

/* Picks a free ephemeral port (RFC 6056 3.3.3). With rport != 0, the port must also leave the
 * 4-tuple (ip, port, rip, rport) unused (a connect); otherwise it only has to be unowned.
 * Returns 0 when none is free. */
uint16_t ports_pick(struct synack_stack *s, uint32_t rip, uint16_t rport);
/* true when no descriptor holds port. */
bool ports_free(const struct synack_stack *s, uint16_t port);
void ports_take(struct synack_stack *s, uint16_t port, int fd);
void ports_release(struct synack_stack *s, uint16_t port, int fd);
/* The listener on port, or NULL. */
struct stack_listener *ports_listener(const struct synack_stack *s, uint16_t port);

/* ---- listener.c -------------------------------------------------------------------------- */

/* A segment for no connection arrived on a listener's port (RFC 9293 3.10.7.2): a SYN opens a
 * child, anything else is answered per 3.10.7.2. With has_min (a SYN that ended a TIME-WAIT),
 * a generated ISS is raised to iss_min when below it. Emits the SEG_IN event. */
void listener_input(struct synack_stack *s, struct stack_listener *l, const struct wire_ipv4 *ip,
                    const struct wire_tcp *seg, bool has_min, uint32_t iss_min);
/* Moves a child to the accept queue when it becomes synchronized (from the state hook). */
void listener_child_synchronized(struct synack_stack *s, struct stack_conn *c);
/* Unlinks a child from its parent's queue. */
void listener_unlink(struct synack_stack *s, struct stack_conn *c);
/* Takes the first child off the accept queue (NULL if empty). */
struct stack_conn *listener_pop(struct synack_stack *s, struct stack_listener *l);
/* Resets and frees every unaccepted child (closing a listener). */
void listener_abort_children(struct synack_stack *s, struct stack_listener *l);

/* ---- events (stack.c) -------------------------------------------------------------------- */

/* Emits a SEG_OUT and transmits seg, whose addresses, ports, ttl are set (ip_id is filled
 * here). state/ctx describe the sender. */
void stack_emit(struct synack_stack *s, struct wire_tcp_out *seg, bool retransmit, int state,
                const void *ctx);
/* Emits a SEG_IN for a parsed segment. */
void stack_event_seg_in(struct synack_stack *s, const struct wire_ipv4 *ip,
                        const struct wire_tcp *seg, int state, int reason, const void *ctx);
/* Counts a drop reason in stats.drops (reason 0 is not counted). */
void stack_count_drop(struct synack_stack *s, int reason);

#endif /* SYNACK_STACK_STACK_H */
