/*  retention.h: keeping the database bounded. Samples and estimates older
    than --keep-days and builds finished (or abandoned) longer than
    --keep-builds-days ago are pruned in small steps between groups of
    requests: each step deletes at most RETENTION_STEP_ROWS rows in one
    short transaction, a step every RETENTION_BACKLOG_MS while a backlog
    lasts, else a look every RETENTION_IDLE_MS (or a tenth of the shorter
    period, if that is shorter). Freed pages are reused by
    SQLite, so the file stops growing once the history reaches its steady
    state (tests/test_retention.c shows it on a soak).                   */
#ifndef SATCHEL_RETENTION_H
#define SATCHEL_RETENTION_H

#include "builds.h"
#include "store.h"

#include <stdint.h>

typedef struct {
    double keep_days;            //  samples and estimates, in days; 0: forever
    double keep_builds_days;     //  finished or abandoned builds, in days; 0: forever
} retention_config_t;

#define RETENTION_DEFAULT_KEEP_DAYS 90
#define RETENTION_DEFAULT_KEEP_BUILDS_DAYS 30
//  Most rows one step deletes: a few milliseconds of work.
#define RETENTION_STEP_ROWS 1000
//  Pause between steps while a backlog lasts.
#define RETENTION_BACKLOG_MS 100
//  Pause between looks when nothing was due (at most).
#define RETENTION_IDLE_MS 60000
//  Estimates are found by a scan of their table: looked at this often (or
//  every tenth of --keep-days, if that is shorter).
#define RETENTION_TIMINGS_MS 3600000

//  What retention removed so far.
typedef struct {
    int64_t builds;              //  builds deleted
    int64_t build_rows;          //  rows of those builds (units, batches, ...)
    int64_t samples;             //  samples deleted
    int64_t timings;             //  estimates (and machines' paces) deleted
    int64_t steps;               //  steps run
} retention_stats_t;

typedef struct _retention_t retention_t;

//  store and builds are borrowed (the builds of the request handler, so
//  that a pruned build leaves its cache too).
retention_t *retention_new (store_t *store, builds_t *builds, const retention_config_t *config);
void retention_destroy (retention_t **self_p);

//  Change the periods (a configuration reload); the next step applies them.
void retention_configure (retention_t *self, const retention_config_t *config);

//  Milliseconds until the next step is due, from now_mono_ms (monotonic);
//  0 if due, -1 if retention is off (both periods 0).
int64_t retention_wait_ms (const retention_t *self, int64_t now_mono_ms);

//  Run one step if due, with now_wall_ms as the present for ages. Returns
//  0, or -1 if the store failed (logged; the step rolled back, the cache of
//  builds dropped, and the next step is tried later).
int retention_run (retention_t *self, int64_t now_mono_ms, int64_t now_wall_ms);

//  Run steps back to back, as if always due, until nothing is left to
//  prune at now_wall_ms. Returns 0 or -1. For tests and benches.
int retention_drain (retention_t *self, int64_t now_wall_ms);

const retention_stats_t *retention_stats (const retention_t *self);

#endif
