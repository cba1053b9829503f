/*
 * blocking.c: the blocking, thread-safe socket API of include/synack_blocking.h over the
 * event-driven stack.
 *
 * Read first: include/synack_blocking.h (the model), include/synack.h (the non-blocking
 * calls this waits around), RFC 9293 3.9.1 (the user/TCP interface).
 *
 * Threads: POSIX threads. One mutex per runner guards its driver and stacks. A call runs
 * under it: sync (driver run at the current time), the non-blocking call, and while that
 * would block, a wait on the descriptor's condition variable. After every piece of stack
 * work (the stack thread's or a call's) the holder drains synack_events() and broadcasts the
 * condition variable of every descriptor whose readiness changed, then wakes the stack
 * thread if the driver's next deadline moved before the one it sleeps until. A waiter
 * re-checks with the non-blocking call after each wake-up, so spurious wake-ups are harmless,
 * and since checking and waiting happen under the same mutex no change is missed.
 *
 * Per-descriptor state (struct bsock, its condition variable, timeouts and a generation
 * counter that close() increments so that waiters notice) is allocated on first use and kept
 * until the runner is freed: a condition variable must not move or vanish while a thread
 * may wait on it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/blocking_internal.h"
#include "synack.h"
#include "synack_blocking.h"

#define EVENT_BATCH 64 /* readiness events taken per synack_events() call */

/* ---- Clock and condition variables ------------------------------------------------------- */

#if defined(_POSIX_CLOCK_SELECTION) && _POSIX_CLOCK_SELECTION > 0
#define COND_MONOTONIC 1 /* condition variables can time out on CLOCK_MONOTONIC */
#else
#define COND_MONOTONIC 0
#endif

uint64_t bclock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int bclock_cond_init(pthread_cond_t *cond)
{
#if COND_MONOTONIC
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
#else
    return pthread_cond_init(cond, NULL);
#endif
}

int bclock_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t deadline_us)
{
    if (deadline_us == UINT64_MAX) {
        pthread_cond_wait(cond, mutex);
        return 0;
    }
    uint64_t now = bclock_now_us();
    if (deadline_us <= now)
        return ETIMEDOUT;
    struct timespec ts;
#if COND_MONOTONIC
    uint64_t at = deadline_us;
#else
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t at = (uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u +
                  (deadline_us - now);
#endif
    ts.tv_sec = (time_t)(at / 1000000u);
    ts.tv_nsec = (long)(at % 1000000u) * 1000;
    int rc = pthread_cond_timedwait(cond, mutex, &ts);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

/* ---- Structures -------------------------------------------------------------------------- */

/* Blocking-layer state of one descriptor. */
struct bsock {
    pthread_cond_t cond;      /* broadcast when the descriptor's readiness may have changed */
    unsigned waiters;         /* threads waiting on cond */
    uint64_t changes;         /* readiness changes reported for this descriptor so far */
    uint64_t gen;             /* incremented by close/abort: waiters from before give up */
    uint64_t rcvtimeo_us;     /* accept/recv timeout, SYNACK_BLOCK_FOREVER by default */
    uint64_t sndtimeo_us;     /* connect/send timeout */
};

struct synack_bstack {
    struct synack_runner *r;
    struct synack_stack *s;
    struct bsock **socks;     /* by descriptor; NULL until first used */
    uint32_t cap;             /* entries in socks */
};

struct synack_runner {
    pthread_mutex_t lock;     /* guards everything below, the driver and the stacks */
    pthread_t thread;
    struct synack_driver drv;
    bool started;             /* synack_runner_start() made the thread */
    bool running;             /* the stack thread is in its loop */
    bool stop;                /* synack_runner_stop() asked it to end */
    bool joined;              /* the thread has been joined */
    int error;                /* the driver's failure, 0 if none */
    bool asleep;              /* the stack thread is (about to be) in drv.wait() ... */
    uint64_t sleep_until;     /* ... until this deadline */
    struct synack_bstack **bs;
    size_t nbs;
};

/* ---- Descriptor state -------------------------------------------------------------------- */

/* The bsock of fd, created on first use; NULL for a negative fd or no memory. Lock held. */
static struct bsock *bsock_get(struct synack_bstack *bs, int fd)
{
    if (fd < 0)
        return NULL;
    if ((uint32_t)fd >= bs->cap) {
        uint32_t cap = bs->cap ? bs->cap : 16;
        while (cap <= (uint32_t)fd) {
            if (cap > UINT32_MAX / 2)
                return NULL;
            cap *= 2;
        }
        struct bsock **t = realloc(bs->socks, (size_t)cap * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + bs->cap, 0, (size_t)(cap - bs->cap) * sizeof *t);
        bs->socks = t;
        bs->cap = cap;
    }
    struct bsock *k = bs->socks[fd];
    if (k == NULL) {
        k = calloc(1, sizeof *k);
        if (k == NULL)
            return NULL;
        if (bclock_cond_init(&k->cond) != 0) {
            free(k);
            return NULL;
        }
        k->rcvtimeo_us = k->sndtimeo_us = SYNACK_BLOCK_FOREVER;
        bs->socks[fd] = k;
    }
    return k;
}

/* The bsock of fd if it exists (no allocation). */
static struct bsock *bsock_find(const struct synack_bstack *bs, int fd)
{
    return fd >= 0 && (uint32_t)fd < bs->cap ? bs->socks[fd] : NULL;
}

static void broadcast(struct bsock *k)
{
    if (k == NULL)
        return;
    k->changes++;
    if (k->waiters > 0)
        pthread_cond_broadcast(&k->cond);
}

/* Wakes the threads waiting on every descriptor whose readiness changed. Lock held. */
static void notify_locked(struct synack_runner *r)
{
    struct synack_sock_event ev[EVENT_BATCH];
    for (size_t i = 0; i < r->nbs; i++) {
        struct synack_bstack *bs = r->bs[i];
        int n;
        do {
            n = synack_events(bs->s, ev, EVENT_BATCH);
            for (int j = 0; j < n; j++)
                broadcast(bsock_find(bs, ev[j].fd));
        } while (n == EVENT_BATCH);
    }
}

/* Wakes every waiter of every descriptor (the runner stopped). Lock held. */
static void notify_all_locked(struct synack_runner *r)
{
    for (size_t i = 0; i < r->nbs; i++)
        for (uint32_t fd = 0; fd < r->bs[i]->cap; fd++)
            broadcast(r->bs[i]->socks[fd]);
}

/* Runs the driver at the current time, wakes waiters, and wakes the stack thread if it
 * sleeps past the driver's new deadline. Lock held. */
static void sync_locked(struct synack_runner *r)
{
    uint64_t next = r->drv.run(r->drv.arg, r->drv.now(r->drv.arg));
    notify_locked(r);
    if (r->asleep && next < r->sleep_until) {
        r->sleep_until = next; /* one wake-up is enough */
        r->drv.wake(r->drv.arg);
    }
}

/* ---- The stack thread -------------------------------------------------------------------- */

static void *runner_main(void *arg)
{
    struct synack_runner *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        uint64_t next = r->drv.run(r->drv.arg, r->drv.now(r->drv.arg));
        notify_locked(r);
        r->asleep = true;
        r->sleep_until = next;
        pthread_mutex_unlock(&r->lock);
        int err = r->drv.wait(r->drv.arg, next);
        pthread_mutex_lock(&r->lock);
        r->asleep = false;
        if (err < 0) {
            r->error = err;
            break;
        }
    }
    r->running = false;
    notify_all_locked(r);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct synack_runner *synack_runner_new(const struct synack_driver *drv)
{
    if (drv == NULL || !drv->now || !drv->run || !drv->wait || !drv->wake)
        return NULL;
    struct synack_runner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    r->drv = *drv;
    return r;
}

struct synack_bstack *synack_runner_add(struct synack_runner *r, struct synack_stack *s)
{
    if (r == NULL || s == NULL)
        return NULL;
    struct synack_bstack *bs = calloc(1, sizeof *bs);
    if (bs == NULL)
        return NULL;
    bs->r = r;
    bs->s = s;
    pthread_mutex_lock(&r->lock);
    struct synack_bstack **t = realloc(r->bs, (r->nbs + 1) * sizeof *t);
    if (t != NULL) {
        r->bs = t;
        r->bs[r->nbs++] = bs;
    }
    pthread_mutex_unlock(&r->lock);
    if (t == NULL) {
        free(bs);
        return NULL;
    }
    return bs;
}

int synack_runner_start(struct synack_runner *r)
{
    if (r == NULL)
        return SYNACK_EINVAL;
    pthread_mutex_lock(&r->lock);
    if (r->started) {
        pthread_mutex_unlock(&r->lock);
        return SYNACK_EINVAL;
    }
    r->started = r->running = true;
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        r->started = r->running = false;
        pthread_mutex_unlock(&r->lock);
        return SYNACK_ENOMEM;
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void synack_runner_stop(struct synack_runner *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    bool join = r->started && !r->joined;
    r->joined = true;
    pthread_mutex_unlock(&r->lock);
    if (join) {
        r->drv.wake(r->drv.arg);
        pthread_join(r->thread, NULL);
    }
}

void synack_runner_free(struct synack_runner *r)
{
    if (r == NULL)
        return;
    synack_runner_stop(r);
    for (size_t i = 0; i < r->nbs; i++) {
        struct synack_bstack *bs = r->bs[i];
        for (uint32_t fd = 0; fd < bs->cap; fd++) {
            if (bs->socks[fd]) {
                pthread_cond_destroy(&bs->socks[fd]->cond);
                free(bs->socks[fd]);
            }
        }
        free(bs->socks);
        free(bs);
    }
    free(r->bs);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int synack_runner_error(struct synack_runner *r)
{
    if (r == NULL)
        return SYNACK_EINVAL;
    pthread_mutex_lock(&r->lock);
    int err = r->error;
    pthread_mutex_unlock(&r->lock);
    return err;
}

void synack_runner_lock(struct synack_runner *r)
{
    pthread_mutex_lock(&r->lock);
}

void synack_runner_unlock(struct synack_runner *r)
{
    /* Direct calls may have changed readiness or deadlines: tell waiters and the thread. */
    sync_locked(r);
    pthread_mutex_unlock(&r->lock);
}

struct synack_stack *synack_bstack_stack(const struct synack_bstack *bs)
{
    return bs ? bs->s : NULL;
}

struct synack_runner *synack_bstack_runner(const struct synack_bstack *bs)
{
    return bs ? bs->r : NULL;
}

/* ---- Calls ------------------------------------------------------------------------------- */

/* Starts a call: takes the lock and brings the stacks to the current time. */
static void enter(struct synack_bstack *bs)
{
    pthread_mutex_lock(&bs->r->lock);
    sync_locked(bs->r);
}

/* Ends a call: delivers what it produced, wakes whoever it concerns, releases the lock. */
static int leave(struct synack_bstack *bs, int rc)
{
    sync_locked(bs->r);
    pthread_mutex_unlock(&bs->r->lock);
    return rc;
}

/* The absolute deadline of a wait that may last timeout_us from now. */
static uint64_t deadline_after(uint64_t timeout_us)
{
    if (timeout_us == SYNACK_BLOCK_FOREVER)
        return UINT64_MAX;
    uint64_t now = bclock_now_us();
    return timeout_us > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + timeout_us;
}

/* Waits (lock held) for fd's readiness to change, until deadline_us. Returns 0 to try again,
 * SYNACK_EAGAIN when the deadline passed, SYNACK_EBADF when fd was closed since generation
 * gen, SYNACK_ECONNABORTED when the runner is not running. */
static int wait_change(struct synack_bstack *bs, struct bsock *k, uint64_t gen,
                       uint64_t deadline_us)
{
    struct synack_runner *r = bs->r;
    /* First report the readiness the failed call saw (a full send buffer, an empty receive
     * buffer): synack_events() reports changes from the last report, so a change back to
     * ready would otherwise go unnoticed. Then what the call did so far (a SYN, queued data)
     * must reach the network before we sleep, and may already bring an answer (memnet
     * delivers at once when a path has no delay): any change means try again. */
    notify_locked(r);
    uint64_t changes = k->changes;
    sync_locked(r);
    if (k->gen != gen)
        return SYNACK_EBADF;
    if (k->changes != changes)
        return 0; /* try again before sleeping */
    if (!r->running)
        return SYNACK_ECONNABORTED;
    if (deadline_us != UINT64_MAX && bclock_now_us() >= deadline_us)
        return SYNACK_EAGAIN;
    k->waiters++;
    int rc = bclock_timedwait(&k->cond, &r->lock, deadline_us);
    k->waiters--;
    if (k->gen != gen)
        return SYNACK_EBADF;
    if (!r->running)
        return SYNACK_ECONNABORTED;
    return rc == ETIMEDOUT ? SYNACK_EAGAIN : 0;
}

int synack_bsocket(struct synack_bstack *bs)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    int fd = synack_socket(bs->s);
    if (fd >= 0) {
        struct bsock *k = bsock_get(bs, fd);
        if (k == NULL) {
            synack_close(bs->s, fd);
            fd = SYNACK_ENOMEM;
        } else {
            k->rcvtimeo_us = k->sndtimeo_us = SYNACK_BLOCK_FOREVER;
        }
    }
    return leave(bs, fd);
}

int synack_bbind(struct synack_bstack *bs, int fd, const struct synack_addr *addr)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    return leave(bs, synack_bind(bs->s, fd, addr));
}

int synack_blisten(struct synack_bstack *bs, int fd, int backlog)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    return leave(bs, synack_listen(bs->s, fd, backlog));
}

int synack_baccept(struct synack_bstack *bs, int fd, struct synack_addr *peer)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    struct bsock *k = bsock_get(bs, fd);
    if (k == NULL)
        return leave(bs, fd < 0 ? SYNACK_EBADF : SYNACK_ENOMEM);
    uint64_t gen = k->gen, deadline = deadline_after(k->rcvtimeo_us);
    int rc;
    for (;;) {
        rc = synack_accept(bs->s, fd, peer);
        if (rc != SYNACK_EAGAIN)
            break;
        int w = wait_change(bs, k, gen, deadline);
        if (w < 0) {
            rc = w;
            break;
        }
    }
    if (rc >= 0) {
        struct bsock *nk = bsock_get(bs, rc);
        if (nk == NULL) {
            synack_abort(bs->s, rc);
            rc = SYNACK_ENOMEM;
        } else {
            k = bs->socks[fd]; /* bsock_get may have grown the table (k itself stays) */
            nk->rcvtimeo_us = k->rcvtimeo_us;
            nk->sndtimeo_us = k->sndtimeo_us;
        }
    }
    return leave(bs, rc);
}

int synack_bconnect(struct synack_bstack *bs, int fd, const struct synack_addr *peer)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    struct bsock *k = bsock_get(bs, fd);
    if (k == NULL)
        return leave(bs, fd < 0 ? SYNACK_EBADF : SYNACK_ENOMEM);
    uint64_t gen = k->gen, deadline = deadline_after(k->sndtimeo_us);
    int rc = synack_connect(bs->s, fd, peer);
    if (rc != SYNACK_EINPROGRESS)
        return leave(bs, rc);
    for (;;) {
        int mask = synack_readiness(bs->s, fd);
        if (mask < 0) {
            rc = mask;
            break;
        }
        if (mask & SYNACK_CONNECTED) {
            rc = 0;
            break;
        }
        if (mask & (SYNACK_ERROR | SYNACK_TERMINATED)) {
            int err = synack_error(bs->s, fd);
            rc = err < 0 ? err : SYNACK_ECONNABORTED;
            break;
        }
        int w = wait_change(bs, k, gen, deadline);
        if (w == SYNACK_EAGAIN) {
            /* SNDTIMEO: give the attempt up. CLOSE in SYN-SENT deletes the TCB (RFC 9293
             * 3.10.4); the descriptor stays open. */
            synack_shutdown(bs->s, fd, SYNACK_SHUT_RDWR);
            rc = SYNACK_ETIMEDOUT;
            break;
        }
        if (w < 0) {
            rc = w;
            break;
        }
    }
    return leave(bs, rc);
}

int synack_bsend(struct synack_bstack *bs, int fd, const void *buf, size_t len)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    if (len > INT_MAX)
        len = INT_MAX;
    enter(bs);
    struct bsock *k = bsock_get(bs, fd);
    if (k == NULL)
        return leave(bs, fd < 0 ? SYNACK_EBADF : SYNACK_ENOMEM);
    uint64_t gen = k->gen, deadline = deadline_after(k->sndtimeo_us);
    const uint8_t *p = buf;
    size_t done = 0;
    int err = 0;
    do {
        int n = synack_send(bs->s, fd, p ? p + done : p, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0) /* len 0 */
            break;
        if (n != SYNACK_EAGAIN) {
            err = n;
            break;
        }
        int w = wait_change(bs, k, gen, deadline);
        if (w < 0) {
            err = w;
            break;
        }
    } while (done < len);
    return leave(bs, done > 0 || err == 0 ? (int)done : err);
}

int synack_brecv(struct synack_bstack *bs, int fd, void *buf, size_t len)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    struct bsock *k = bsock_get(bs, fd);
    if (k == NULL)
        return leave(bs, fd < 0 ? SYNACK_EBADF : SYNACK_ENOMEM);
    uint64_t gen = k->gen, deadline = deadline_after(k->rcvtimeo_us);
    int rc;
    for (;;) {
        rc = synack_recv(bs->s, fd, buf, len);
        if (rc != SYNACK_EAGAIN || len == 0)
            break;
        int w = wait_change(bs, k, gen, deadline);
        if (w < 0) {
            rc = w;
            break;
        }
    }
    return leave(bs, rc);
}

int synack_bshutdown(struct synack_bstack *bs, int fd, int how)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    int rc = synack_shutdown(bs->s, fd, how);
    broadcast(bsock_find(bs, fd)); /* a thread in send must see EPIPE now */
    return leave(bs, rc);
}

/* Wakes and invalidates the waiters of a descriptor that was just closed. Lock held. */
static void forget(struct synack_bstack *bs, int fd)
{
    struct bsock *k = bsock_find(bs, fd);
    if (k == NULL)
        return;
    k->gen++;
    k->rcvtimeo_us = k->sndtimeo_us = SYNACK_BLOCK_FOREVER;
    broadcast(k);
}

int synack_bclose(struct synack_bstack *bs, int fd)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    int rc = synack_close(bs->s, fd);
    if (rc == 0)
        forget(bs, fd);
    return leave(bs, rc);
}

int synack_babort(struct synack_bstack *bs, int fd)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    int rc = synack_abort(bs->s, fd);
    if (rc == 0)
        forget(bs, fd);
    return leave(bs, rc);
}

int synack_bsetopt(struct synack_bstack *bs, int fd, int option, uint64_t value)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    int rc;
    if (option == SYNACK_BOPT_RCVTIMEO || option == SYNACK_BOPT_SNDTIMEO) {
        rc = synack_readiness(bs->s, fd); /* validates fd */
        if (rc >= 0) {
            struct bsock *k = bsock_get(bs, fd);
            if (k == NULL) {
                rc = SYNACK_ENOMEM;
            } else {
                if (option == SYNACK_BOPT_RCVTIMEO)
                    k->rcvtimeo_us = value;
                else
                    k->sndtimeo_us = value;
                rc = 0;
            }
        }
    } else {
        rc = synack_setopt(bs->s, fd, option, value);
    }
    return leave(bs, rc);
}

int synack_bwait(struct synack_bstack *bs, int fd, int mask, uint64_t timeout_us)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    struct bsock *k = bsock_get(bs, fd);
    if (k == NULL)
        return leave(bs, fd < 0 ? SYNACK_EBADF : SYNACK_ENOMEM);
    uint64_t gen = k->gen, deadline = deadline_after(timeout_us);
    int rc;
    for (;;) {
        rc = synack_readiness(bs->s, fd);
        if (rc < 0 || (rc & mask))
            break;
        int w = wait_change(bs, k, gen, deadline);
        if (w < 0) {
            rc = w;
            break;
        }
    }
    return leave(bs, rc);
}

int synack_bgetsockname(struct synack_bstack *bs, int fd, struct synack_addr *out)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    return leave(bs, synack_getsockname(bs->s, fd, out));
}

int synack_bgetpeername(struct synack_bstack *bs, int fd, struct synack_addr *out)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    return leave(bs, synack_getpeername(bs->s, fd, out));
}

int synack_bstatus(struct synack_bstack *bs, int fd, struct synack_status *out)
{
    if (bs == NULL)
        return SYNACK_EINVAL;
    enter(bs);
    return leave(bs, synack_status(bs->s, fd, out));
}
