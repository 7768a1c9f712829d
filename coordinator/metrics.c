/*  metrics.c: see metrics.h.                                             */
#include "metrics.h"

#include "proto.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const metrics_build_results[4] = { "passed", "failed", "flaky", "stopped" };

//  The results a request can have: ok and every error code there is.
static const char *const s_results[] = {
    "ok", PROTO_ERR_BAD_REQUEST, PROTO_ERR_TOO_LARGE, PROTO_ERR_VERSION, PROTO_ERR_UNKNOWN_TYPE,
    PROTO_ERR_LIST_MISMATCH, PROTO_ERR_BUILD_MISMATCH, PROTO_ERR_LIMIT, PROTO_ERR_UNKNOWN_ATTEMPT,
    PROTO_ERR_ACCESS, PROTO_ERR_STALE, PROTO_ERR_INTERNAL, PROTO_ERR_BUSY, "other"
};
#define S_RESULTS (sizeof s_results / sizeof s_results[0])
#define S_TYPES (PROTO_TYPE_LAST + 1)

//  Upper bounds of the latency buckets, in seconds (+Inf after them).
static const double s_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5
};
#define S_BUCKETS (sizeof s_bounds / sizeof s_bounds[0])

struct _metrics_t {
    uint64_t requests[S_TYPES][S_RESULTS];   //  by type (0: unreadable) and result
    uint64_t buckets[S_BUCKETS + 1];         //  latency histogram, not cumulative; last: +Inf
    uint64_t count;                          //  requests timed
    double sum;                              //  their seconds
};

metrics_t *
metrics_new (void)
{
    return util_calloc (1, sizeof (metrics_t));
}

void
metrics_destroy (metrics_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

void
metrics_request (metrics_t *self, int type, const char *result, int64_t us)
{
    if (type < 0 || type >= (int) S_TYPES)
        type = 0;
    size_t index = S_RESULTS - 1;
    for (size_t i = 0; i < S_RESULTS - 1; i++)
        if (strcmp (result, s_results[i]) == 0)
            index = i;
    self->requests[type][index]++;
    double seconds = (double) (us < 0 ? 0 : us) / 1e6;
    size_t bucket = 0;
    while (bucket < S_BUCKETS && seconds > s_bounds[bucket])
        bucket++;
    self->buckets[bucket]++;
    self->count++;
    self->sum += seconds;
}

static void
s_family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
metrics_write (metrics_t *self, const char *path, const metrics_gauges_t *gauges)
{
    char *tmp = util_format ("%s.tmp", path);
    FILE *out = fopen (tmp, "w");
    if (!out) {
        int saved = errno;
        free (tmp);
        errno = saved;
        return -1;
    }
    s_family (out, "satchel_requests_total", "counter",
              "Requests satcheld handled, by message type and result (ok or the error code).");
    //  Every type's ok series, so that a rate() over it exists from the
    //  start; other results once they happened.
    for (size_t t = 0; t < S_TYPES; t++) {
        const char *name = t == 0 ? "unreadable" : proto_type_name ((proto_type_t) t);
        bool request = t == PROTO_JOIN || t == PROTO_NEXT || t == PROTO_HEARTBEAT
                       || t == PROTO_IMPORT || t == PROTO_STATUS || t == PROTO_ADMIN
                       || t == PROTO_QUERY || t == PROTO_FALLBACK;
        for (size_t r = 0; r < S_RESULTS; r++)
            if (self->requests[t][r] > 0 || (request && r == 0))
                fprintf (out, "satchel_requests_total{type=\"%s\",result=\"%s\"} %llu\n", name,
                         s_results[r], (unsigned long long) self->requests[t][r]);
    }
    s_family (out, "satchel_request_duration_seconds", "histogram",
              "Time from a request's arrival to its reply, the group commit included.");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < S_BUCKETS; b++) {
        cumulative += self->buckets[b];
        fprintf (out, "satchel_request_duration_seconds_bucket{le=\"%g\"} %llu\n", s_bounds[b],
                 (unsigned long long) cumulative);
    }
    cumulative += self->buckets[S_BUCKETS];
    fprintf (out, "satchel_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                  "satchel_request_duration_seconds_sum %.6f\n"
                  "satchel_request_duration_seconds_count %llu\n",
             (unsigned long long) cumulative, self->sum, (unsigned long long) self->count);
    s_family (out, "satchel_loop_busy_seconds_total", "counter",
              "Time satcheld's loop spent at work (requests, their commits, housekeeping) "
              "rather than waiting for requests; its rate near 1 means satcheld is the limit.");
    fprintf (out, "satchel_loop_busy_seconds_total %.6f\n", (double) gauges->busy_us / 1e6);
    s_family (out, "satchel_commits_total", "counter",
              "Transactions committed for requests: one per group of requests that arrived "
              "together, one per pass over held requests handled again.");
    fprintf (out, "satchel_commits_total %llu\n", (unsigned long long) gauges->commits);
    s_family (out, "satchel_builds_running", "gauge",
              "Builds in flight: not finished, asked about in the last 10 minutes.");
    fprintf (out, "satchel_builds_running %llu\n", (unsigned long long) gauges->builds_running);
    s_family (out, "satchel_builds_finished_total", "counter",
              "Builds that finished since satcheld started, by result.");
    for (size_t r = 0; r < 4; r++)
        fprintf (out, "satchel_builds_finished_total{result=\"%s\"} %llu\n",
                 metrics_build_results[r], (unsigned long long) gauges->builds_finished[r]);
    s_family (out, "satchel_batches_handed_out_total", "counter", "Batches handed to agents.");
    fprintf (out, "satchel_batches_handed_out_total %llu\n", (unsigned long long) gauges->batches);
    s_family (out, "satchel_units_handed_out_total", "counter",
              "Units (tests) handed to agents in batches.");
    fprintf (out, "satchel_units_handed_out_total %llu\n", (unsigned long long) gauges->units);
    s_family (out, "satchel_leases_expired_total", "counter",
              "Batches whose lease lapsed (a node lost or silent); their units went back.");
    fprintf (out, "satchel_leases_expired_total %llu\n",
             (unsigned long long) gauges->leases_expired);
    s_family (out, "satchel_replayed_replies_total", "counter",
              "Requests sent again after a lost reply, answered from memory.");
    fprintf (out, "satchel_replayed_replies_total %llu\n", (unsigned long long) gauges->replays);
    s_family (out, "satchel_rate_limited_total", "counter",
              "Requests answered busy unread because their connection went past --max-rate.");
    fprintf (out, "satchel_rate_limited_total %llu\n", (unsigned long long) gauges->rate_limited);
    s_family (out, "satchel_fallbacks_total", "counter",
              "Nodes that ran their share split by name, as agents said once they could "
              "reach satcheld again.");
    fprintf (out, "satchel_fallbacks_total %llu\n", (unsigned long long) gauges->fallbacks);
    s_family (out, "satchel_agents_seen", "gauge", "Agents that sent a request in the last minute.");
    fprintf (out, "satchel_agents_seen %llu\n", (unsigned long long) gauges->agents_seen);
    s_family (out, "satchel_database_bytes", "gauge", "The database on disk, its WAL included.");
    fprintf (out, "satchel_database_bytes %llu\n", (unsigned long long) gauges->db_bytes);
    s_family (out, "satchel_start_time_seconds", "gauge", "When satcheld started, Unix time.");
    fprintf (out, "satchel_start_time_seconds %.3f\n", (double) gauges->start_wall_ms / 1000.0);
    s_family (out, "satchel_info", "gauge", "satcheld's version, as a label.");
    fprintf (out, "satchel_info{version=\"%s\"} 1\n", SATCHEL_VERSION);
    int failed = ferror (out);
    if (fclose (out) != 0 || failed || rename (tmp, path) != 0) {
        int saved = errno ? errno : EIO;
        unlink (tmp);
        free (tmp);
        errno = saved;
        return -1;
    }
    free (tmp);
    return 0;
}
