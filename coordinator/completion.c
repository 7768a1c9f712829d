/*  completion.c: see completion.h.                                         */
#include "completion.h"

#include "log.h"
#include "proto.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>

bool
completion_ready (const build_t *build)
{
    return build->done_count == build->unit_count && build->retry_count == 0
        && build->retry_live == 0;
}

const char *
completion_result (const build_t *build)
{
    if (build->stopping)
        return "stopped";
    if (build->failing_count > 0)
        return "failed";
    if (build->flaky_count > 0)
        return "flaky";
    return "passed";
}

static bool
s_any_running (const build_t *build)
{
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        for (size_t b = node->live_from; b < node->batch_count; b++)
            if (node->batches[b].state == STORE_BATCH_RUNNING)
                return true;
    }
    return false;
}

//  Per node: units it finished, time its runner was busy, when it reported
//  last; idle is the rest of the build's span.
static int
s_summaries (builds_t *builds, build_t *build, int64_t now)
{
    int64_t span = now - build->created_ms;
    if (span < 0)
        span = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        uint64_t units = 0;
        int64_t busy = 0, finish = 0;
        for (size_t b = 0; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (!batch->reported)
                continue;
            if (batch->state == STORE_BATCH_DONE)
                units += batch->unit_count;
            busy += (int64_t) batch->wall_ms;
            if (batch->reported_ms - build->created_ms > finish)
                finish = batch->reported_ms - build->created_ms;
        }
        int64_t idle = span > busy ? span - busy : 0;
        if (store_node_summary (builds_store (builds), build->id, n, units, busy, idle,
                                finish) != 0)
            return -1;
        log_info ("node_summary suite=%s build=%s node=%u units=%llu busy_ms=%lld "
                  "idle_ms=%lld finish_ms=%lld", log_quote (build->suite),
                  log_quote (build->key), n, (unsigned long long) units, (long long) busy,
                  (long long) idle, (long long) finish);
    }
    return 0;
}

//  Compare what ran with what was discovered, and say so by name.
static void
s_check_coverage (const build_t *build)
{
    size_t not_run = 0, twice = 0;
    for (size_t i = 0; i < build->unit_count; i++) {
        if (build->passes[i] == 0 && build->fails[i] == 0 && !build->stopping) {
            not_run++;
            log_error ("unit_not_run suite=%s build=%s unit=%s", log_quote (build->suite),
                       log_quote (build->key), log_quote (build->names[i]));
        }
        if (build->queue_runs[i] > 1) {
            twice++;
            log_warn ("unit_run_twice suite=%s build=%s unit=%s runs=%u",
                      log_quote (build->suite), log_quote (build->key),
                      log_quote (build->names[i]), build->queue_runs[i]);
        }
    }
    log_info ("coverage_checked suite=%s build=%s units=%zu not_run=%zu run_twice=%zu",
              log_quote (build->suite), log_quote (build->key), build->unit_count, not_run,
              twice);
}

int
completion_check (builds_t *builds, build_t *build, int64_t now)
{
    if (build->finished)
        return 0;
    if (!completion_ready (build) && !(build->stopping && !s_any_running (build)))
        return 0;
    const char *result = completion_result (build);
    if (s_summaries (builds, build, now) != 0
    ||  store_build_finish (builds_store (builds), build->id, now, result) != 0)
        return -1;
    build->finished = true;
    s_check_coverage (build);
    log_info ("build_finished suite=%s build=%s units=%zu result=%s failing=%zu flaky=%zu "
              "requeued=%zu", log_quote (build->suite), log_quote (build->key),
              build->unit_count, result, build->failing_count, build->flaky_count,
              build->retry_used);
    return 1;
}
