/*
 * blocking_internal.h: the clock and condition-variable helpers shared by the blocking API
 * (blocking.c) and its memnet driver (blocking_memnet.c). Not public.
 *
 * Every time here is microseconds of CLOCK_MONOTONIC. Condition variables made by
 * bclock_cond_init() time out on that clock where POSIX clock selection exists; elsewhere
 * they use the real-time clock and a deadline is converted at the moment of waiting.
 */
#ifndef SYNACK_API_BLOCKING_INTERNAL_H
#define SYNACK_API_BLOCKING_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, microseconds. */
uint64_t bclock_now_us(void);

/* Initialises a condition variable that bclock_timedwait() can use. Returns 0 or an errno
 * value. */
int bclock_cond_init(pthread_cond_t *cond);

/* Waits on cond (mutex held) until signalled or until the monotonic time deadline_us
 * (UINT64_MAX: no limit). Returns 0 when signalled (or spuriously woken), ETIMEDOUT when the
 * deadline has passed. */
int bclock_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t deadline_us);

#endif /* SYNACK_API_BLOCKING_INTERNAL_H */
