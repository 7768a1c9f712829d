/*  report.h: what `satchel builds` and `satchel build` show, read from the
    database (read-only queries on satcheld's connection) and written as
    one JSON document, which the query_result reply carries and satchel
    prints as a table or as it is (--json).

    builds  {"builds": [{id, suite, build, mode, nodes, units, created_ms,
            finished_ms (null while running), result ("" while running),
            makespan_ms, lower_bound_ms, ratio (null when unknown)}, ...]},
            newest first.
    build   {"build": {the same fields}, "nodes": [{node, units, busy_ms,
            idle_ms, finish_ms, batches, replayed, retried, expired,
            bottleneck}, ...], "failed": [unit, ...], "failed_count": n}.

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

#endif
