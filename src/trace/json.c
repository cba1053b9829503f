/*
 * json.c: trace events as JSON lines (see json.h and docs/events.md).
 *
 * Every string written is built by this file from names and numbers (state names, flag
 * names, drop reasons, addresses), none of which contains a quote, a backslash or a
 * control character, so no escaping is needed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "trace/format.h"
#include "trace/json.h"

struct json_trace {
    FILE *out;
    struct synack_addr addr[2]; /* A and B; port 0: learned from the first event */
    bool failed;                /* a write failed */
};

struct json_trace *json_new(FILE *out, struct synack_addr a, struct synack_addr b)
{
    if (out == NULL)
        return NULL;
    struct json_trace *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->out = out;
    j->addr[0] = a;
    j->addr[1] = b;
    return j;
}

/* 0 for A, 1 for B, -1 for neither. */
static int side_of(const struct json_trace *j, struct synack_addr a)
{
    for (int i = 0; i < 2; i++)
        if (j->addr[i].ip == a.ip && j->addr[i].port == a.port)
            return i;
    for (int i = 0; i < 2; i++)
        if (j->addr[i].ip == a.ip && j->addr[i].port == 0)
            return i;
    return -1;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case SYNACK_EV_SEG_OUT:
        return "seg_out";
    case SYNACK_EV_SEG_IN:
        return "seg_in";
    case SYNACK_EV_STATE:
        return "state";
    case SYNACK_EV_DROP:
        return "drop";
    case SYNACK_EV_LINK:
        return "link";
    default:
        return "unknown";
    }
}

static const char *link_name(int action)
{
    switch (action) {
    case SYNACK_LINK_LOST:
        return "lost";
    case SYNACK_LINK_DUPLICATED:
        return "duplicated";
    case SYNACK_LINK_CORRUPTED:
        return "corrupted";
    case SYNACK_LINK_DELAYED:
        return "delayed";
    default:
        return "unknown";
    }
}

/* Writes "name" for a side, or the address when the end is neither side. */
static void put_end(const struct json_trace *j, struct synack_addr a, char *buf, size_t cap)
{
    static const char *names[2] = {"A", "B"};
    int s = side_of(j, a);
    if (s >= 0)
        snprintf(buf, cap, "%s", names[s]);
    else
        trace_format_addr(buf, cap, a);
}

void json_observe(void *arg, const struct synack_event *ev)
{
    struct json_trace *j = arg;
    char t[TRACE_TIME_MAX], local[TRACE_ADDR_MAX], remote[TRACE_ADDR_MAX];
    char from[TRACE_ADDR_MAX], to[TRACE_ADDR_MAX];

    if (j == NULL || ev == NULL)
        return;
    /* Learn a side's port from the first event between the two. */
    int s = side_of(j, ev->local), r = side_of(j, ev->remote);
    if (s >= 0 && r == 1 - s) {
        if (j->addr[s].port == 0)
            j->addr[s].port = ev->local.port;
        if (j->addr[r].port == 0)
            j->addr[r].port = ev->remote.port;
    }
    FILE *f = j->out;
    bool segment = ev->kind != SYNACK_EV_STATE;
    /* The reporting stack's side; a link event belongs to no side. */
    int side = ev->kind == SYNACK_EV_LINK ? -1 : side_of(j, ev->local);
    /* SEG_IN and DROP travel remote -> local; the others local -> remote. */
    bool inbound = ev->kind == SYNACK_EV_SEG_IN || ev->kind == SYNACK_EV_DROP;
    put_end(j, inbound ? ev->remote : ev->local, from, sizeof from);
    put_end(j, inbound ? ev->local : ev->remote, to, sizeof to);

    fprintf(f, "{\"time_us\":%" PRIu64 ",\"time\":\"%s\",\"event\":\"%s\",", ev->time_us,
            trace_format_time(t, sizeof t, ev->time_us), kind_name(ev->kind));
    if (side >= 0)
        fprintf(f, "\"side\":\"%s\",", side == 0 ? "A" : "B");
    else
        fprintf(f, "\"side\":null,");
    fprintf(f, "\"direction\":\"%s->%s\",\"local\":\"%s\",\"remote\":\"%s\",", from, to,
            trace_format_addr(local, sizeof local, ev->local),
            trace_format_addr(remote, sizeof remote, ev->remote));
    if (segment) {
        char flags[64];
        trace_format_flags(flags, sizeof flags, ev->flags, "\",\"");
        fprintf(f,
                "\"seq\":%" PRIu32 ",\"ack\":%" PRIu32 ",\"flags\":[%s%s%s],\"window\":%" PRIu32
                ",\"length\":%" PRIu32 ",\"options\":{",
                ev->seq, ev->ack, flags[0] ? "\"" : "", flags, flags[0] ? "\"" : "", ev->wnd,
                ev->len);
        const char *sep = "";
        if (ev->mss) {
            fprintf(f, "\"mss\":%u", (unsigned)ev->mss);
            sep = ",";
        }
        if (ev->wscale >= 0) {
            fprintf(f, "%s\"wscale\":%d", sep, (int)ev->wscale);
            sep = ",";
        }
        if (ev->sack_permitted) {
            fprintf(f, "%s\"sack_permitted\":true", sep);
            sep = ",";
        }
        if (ev->has_ts)
            fprintf(f, "%s\"timestamps\":[%" PRIu32 ",%" PRIu32 "]", sep, ev->ts_val,
                    ev->ts_ecr);
        fprintf(f, "},\"retransmit\":%s,", ev->retransmit ? "true" : "false");
    } else {
        fprintf(f, "\"seq\":null,\"ack\":null,\"flags\":null,\"window\":null,\"length\":null,"
                   "\"options\":null,\"retransmit\":null,");
    }
    bool stateful = ev->kind == SYNACK_EV_SEG_OUT || ev->kind == SYNACK_EV_SEG_IN ||
                    ev->kind == SYNACK_EV_STATE;
    if (stateful)
        fprintf(f, "\"old_state\":\"%s\",\"new_state\":\"%s\",",
                synack_state_name(ev->old_state), synack_state_name(ev->state));
    else
        fprintf(f, "\"old_state\":null,\"new_state\":null,");
    if (ev->reason && (ev->kind == SYNACK_EV_SEG_IN || ev->kind == SYNACK_EV_DROP))
        fprintf(f, "\"reason\":\"%s\",", synack_drop_name(ev->reason));
    else
        fprintf(f, "\"reason\":null,");
    if (ev->kind == SYNACK_EV_LINK)
        fprintf(f, "\"link\":\"%s\"}\n", link_name(ev->link_action));
    else
        fprintf(f, "\"link\":null}\n");
    if (ferror(f))
        j->failed = true;
}

int json_flush(struct json_trace *j)
{
    if (j == NULL)
        return -1;
    if (fflush(j->out) != 0)
        j->failed = true;
    return j->failed ? -1 : 0;
}

void json_free(struct json_trace *j)
{
    free(j);
}
