/*  report.h: what `satchel builds`, `build`, `tests` and `export` show, read from the
    database (read-only queries on satcheld's connection) and written as
    one JSON document, which the query_result reply carries and satchel
    prints as a table or as it is (--json).

    builds  {"builds": [{id, suite, build, mode, nodes, units, created_ms,
            finished_ms (null while running), result ("" while running),
            makespan_ms, lower_bound_ms, ratio (null when unknown)}, ...]},
            newest first.
    build   {"build": {the same fields}, "nodes": [{node, units, busy_ms,
            idle_ms, finish_ms, batches, replayed, retried, expired,
            bottleneck, fell_back}, ...], "failed": [unit, ...], "failed_count": n,
            "fallbacks": [{node, units}, ...] (nodes whose agents said they
            ran their share split by name: with or without batches),
            "batches": [{node, seq, start_ms, end_ms (null while running),
            units, kind (0 queue, 1 replay, 2 retry, 3 regular), state
            (store.h's STORE_BATCH_*), exit, wall_ms}, ...] (times from the
            build's creation), "slowest": [{unit, duration_ms, ok}, ...]
            (its ten slowest measured units)}.

    makespan: from the build's creation to its last node's last report.
    lower bound: max(the nodes' busy time / nodes, the longest unit's
    measured time): the makespan no split could beat with these runs
    (start-ups included in busy time; nodes taken as equal and starting
    together). The bottleneck is the node that finished last.            */
#ifndef SATCHEL_REPORT_H
#define SATCHEL_REPORT_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Most builds one list holds.
#define REPORT_LIMIT_MAX 1000
//  Most failed units one build report names (failed_count counts them all).
#define REPORT_FAILED_MAX 1000

//  The recent builds (of suite, or of every suite if NULL), at most limit,
//  into *json (malloc'd). Returns 0, or -1 on a store error (logged).
int report_builds (store_t *store, const char *suite, uint32_t limit, char **json);

//  One build by its id into *json (malloc'd). Returns 0, 1 if there is no
//  such build, -1 on a store error (logged).
int report_build (store_t *store, int64_t build_id, char **json);

//  The reports of a suite's tests. Each returns 0 with *json (malloc'd),
//  1 if the suite has never been seen, -1 on a store error (logged).
//
//  slowest  {"suite", "units": [{unit, estimate_ms, samples, updated_ms}]}:
//           the limit slowest by their smoothed estimate.
//  flaky    {"suite", "flaky": [{unit, commit, passed, failed, last_ms}]}:
//           units that both passed and failed on one commit, newest first.
//  trend    {"suite", "unit", "estimate_ms" (null if none), "runs": [{at_ms,
//           duration_ms, ok, build (null once pruned or imported),
//           commit}]}: its limit latest samples, newest first.
//  export   {"suite", "samples": [{id, unit, duration_ms, ok, at_ms, build,
//           commit}], "next" (the id to ask after, or null at the end)}:
//           samples since since_ms, after the id after, oldest first.
int report_slowest (store_t *store, const char *suite, uint32_t limit, char **json);
int report_flaky (store_t *store, const char *suite, uint32_t limit, char **json);
int report_trend (store_t *store, const char *suite, const char *unit, uint32_t limit,
                  char **json);
int report_export (store_t *store, const char *suite, int64_t since_ms, int64_t after,
                   uint32_t limit, char **json);

#endif
