/*  metrics.h: satcheld's metrics for the farm's monitoring, without HTTP:
    a file in Prometheus's text format (version 0.0.4), rewritten every
    few seconds by rename, for node_exporter's textfile collector
    (--metrics-file, --metrics-interval).

    Counters live in memory and start at 0 with satcheld (Prometheus's
    rate() handles the reset). What they count:
      satchel_requests_total{type,result}   requests by message type and
                                            result: ok, or the error code
      satchel_request_duration_seconds      from a request's arrival to its
                                            reply (group commit included)
      satchel_loop_busy_seconds_total       the loop at work, not waiting
      satchel_commits_total                 transactions committed for requests
                                            (one per group that arrived together,
                                            one per pass over held requests)
    The rest (builds, units, leases, agents, database) are passed in at
    each write by the server, from the counters it keeps already.       */
#ifndef SATCHEL_METRICS_H
#define SATCHEL_METRICS_H

#include <stdint.h>

//  What the server knows at a write.
typedef struct {
    uint64_t builds_running;           //  in flight, as --max-builds counts them
    uint64_t builds_finished[4];       //  since start: passed, failed, flaky, stopped
    uint64_t batches;                  //  batches handed out since start
    uint64_t units;                    //  units handed out since start
    uint64_t leases_expired;           //  leases that lapsed since start
    uint64_t replays;                  //  duplicate requests answered from memory
    uint64_t agents_seen;              //  agents that asked in the last minute
    uint64_t db_bytes;                 //  database on disk, WAL included
    uint64_t rate_limited;             //  requests answered busy for their rate
    uint64_t fallbacks;                //  fallback runs agents told of afterwards
    int64_t busy_us;                   //  the loop's time at work since start
    uint64_t commits;                  //  groups of requests committed since start
    int64_t start_wall_ms;             //  when satcheld started (epoch ms)
} metrics_gauges_t;

//  The results builds_finished counts, in its order.
extern const char *const metrics_build_results[4];

typedef struct _metrics_t metrics_t;

metrics_t *metrics_new (void);
void metrics_destroy (metrics_t **self_p);

//  Count one request: type is its message type (a proto_type_t, or 0 when
//  it could not be read), result "ok" or its error code; it took us.
void metrics_request (metrics_t *self, int type, const char *result, int64_t us);

//  Write the file at path (through path.tmp and a rename, so a reader
//  never sees half of it). Returns 0, or -1 with errno set.
int metrics_write (metrics_t *self, const char *path, const metrics_gauges_t *gauges);

#endif
