/*
 * summary.c: per-side states and the time spent in each (see summary.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"
#include "trace/summary.h"

#define NAME_W 18 /* state name column, characters */

struct side {
    char name[32];
    struct synack_addr addr;      /* port 0: learned from the first event */
    int states[SUMMARY_MAX];      /* states entered, in order */
    uint64_t entered[SUMMARY_MAX];/* when each was entered */
    int n;                        /* entries used (<= SUMMARY_MAX) */
    int total;                    /* changes seen, including those not remembered */
};

struct summary {
    struct side side[2];
};

static int side_of(const struct summary *s, struct synack_addr a)
{
    for (int i = 0; i < 2; i++)
        if (s->side[i].addr.ip == a.ip && s->side[i].addr.port == a.port)
            return i;
    for (int i = 0; i < 2; i++)
        if (s->side[i].addr.ip == a.ip && s->side[i].addr.port == 0)
            return i;
    return -1;
}

struct summary *summary_new(const char *name_a, struct synack_addr a, int state_a,
                            const char *name_b, struct synack_addr b, int state_b,
                            uint64_t start_us)
{
    struct summary *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    const char *names[2] = {name_a ? name_a : "A", name_b ? name_b : "B"};
    struct synack_addr addrs[2] = {a, b};
    int states[2] = {state_a, state_b};
    for (int i = 0; i < 2; i++) {
        snprintf(s->side[i].name, sizeof s->side[i].name, "%s", names[i]);
        s->side[i].addr = addrs[i];
        s->side[i].states[0] = states[i];
        s->side[i].entered[0] = start_us;
        s->side[i].n = s->side[i].total = 1;
    }
    return s;
}

void summary_observe(void *arg, const struct synack_event *ev)
{
    struct summary *s = arg;

    if (s == NULL || ev == NULL || ev->kind != SYNACK_EV_STATE)
        return;
    int i = side_of(s, ev->local);
    if (i < 0 || side_of(s, ev->remote) != 1 - i)
        return;
    for (int k = 0; k < 2; k++) /* learn ports */
        if (s->side[k].addr.port == 0)
            s->side[k].addr.port = k == i ? ev->local.port : ev->remote.port;
    struct side *sd = &s->side[i];
    if (sd->states[sd->n - 1] == ev->state)
        return;
    sd->total++;
    if (sd->n == SUMMARY_MAX)
        return;
    sd->states[sd->n] = ev->state;
    sd->entered[sd->n] = ev->time_us;
    sd->n++;
}

void summary_print(const struct summary *s, FILE *out, uint64_t end_us)
{
    char addr[TRACE_ADDR_MAX], d[TRACE_TIME_MAX];

    if (s == NULL || out == NULL)
        return;
    fprintf(out, "states (time spent in each):\n");
    for (int i = 0; i < 2; i++) {
        const struct side *sd = &s->side[i];
        fprintf(out, "  %s %s\n", sd->name, trace_format_addr(addr, sizeof addr, sd->addr));
        for (int k = 0; k < sd->n; k++) {
            const char *name = synack_state_name(sd->states[k]);
            if (k + 1 < sd->n) {
                fprintf(out, "    %-*s%s\n", NAME_W, name,
                        trace_format_duration(d, sizeof d, sd->entered[k + 1] - sd->entered[k]));
            } else {
                uint64_t t = end_us > sd->entered[k] ? end_us - sd->entered[k] : 0;
                fprintf(out, "    %-*s%s (at the end)\n", NAME_W, name,
                        trace_format_duration(d, sizeof d, t));
            }
        }
        if (sd->total > sd->n)
            fprintf(out, "    ... and %d more changes\n", sd->total - sd->n);
    }
}

int summary_path(const struct summary *s, int side, int *states, uint64_t *entered_us, int max)
{
    if (s == NULL || (side != SUMMARY_A && side != SUMMARY_B))
        return 0;
    const struct side *sd = &s->side[side];
    for (int k = 0; k < sd->n && k < max; k++) {
        if (states)
            states[k] = sd->states[k];
        if (entered_us)
            entered_us[k] = sd->entered[k];
    }
    return sd->n;
}

void summary_free(struct summary *s)
{
    free(s);
}
