/*  retention.c: when to prune, and how much at a time. The SQL is in
    store_prune.c.                                                          */
#include "retention.h"

#include "log.h"
#include "store_prune.h"
#include "util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#define DAY_MS 86400000.0

struct _retention_t {
    store_t *store;              //  borrowed
    builds_t *builds;            //  borrowed: pruned builds leave its cache
    retention_config_t config;   //  periods
    int64_t next_mono_ms;        //  when the next step is due
    int64_t timings_mono_ms;     //  when estimates are looked at next
    retention_stats_t stats;     //  totals
    retention_stats_t logged;    //  totals at the last log line
};

retention_t *
retention_new (store_t *store, builds_t *builds, const retention_config_t *config)
{
    assert (store && builds && config);
    retention_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->builds = builds;
    self->config = *config;
    //  A first look right away: a database left alone for months has a
    //  backlog to clear.
    self->next_mono_ms = util_mono_ms ();
    self->timings_mono_ms = self->next_mono_ms;
    return self;
}

void
retention_destroy (retention_t **self_p)
{
    if (!*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

void
retention_configure (retention_t *self, const retention_config_t *config)
{
    self->config = *config;
}

static bool
s_off (const retention_t *self)
{
    return self->config.keep_days <= 0 && self->config.keep_builds_days <= 0;
}

int64_t
retention_wait_ms (const retention_t *self, int64_t now_mono_ms)
{
    if (s_off (self))
        return -1;
    return self->next_mono_ms > now_mono_ms ? self->next_mono_ms - now_mono_ms : 0;
}

//  Pause between looks when nothing was due: RETENTION_IDLE_MS, or a tenth
//  of the shorter period when that is shorter (periods of seconds, as
//  tests use, are kept to within a tenth), never under the backlog pace.
static int64_t
s_tenth (double days, int64_t most_ms)
{
    double tenth = days * DAY_MS / 10;
    if (days <= 0 || tenth >= (double) most_ms)
        return most_ms;
    return tenth > RETENTION_BACKLOG_MS ? (int64_t) tenth : RETENTION_BACKLOG_MS;
}

static int64_t
s_idle_ms (const retention_t *self)
{
    int64_t samples = s_tenth (self->config.keep_days, RETENTION_IDLE_MS);
    int64_t builds = s_tenth (self->config.keep_builds_days, RETENTION_IDLE_MS);
    return samples < builds ? samples : builds;
}

static int64_t
s_cutoff (double days, int64_t now_wall_ms)
{
    return now_wall_ms - (int64_t) (days * DAY_MS);
}

//  Builds first (their samples are detached, not deleted), then samples,
//  then estimates when due. Returns the rows deleted, or -1.
static int64_t
s_step (retention_t *self, int64_t now_wall_ms, bool timings_due, bool *timings_done)
{
    const int64_t budget = RETENTION_STEP_ROWS;
    int64_t deleted = 0;
    *timings_done = false;
    if (store_begin (self->store) != 0)
        return -1;
    if (self->config.keep_builds_days > 0) {
        int64_t before = s_cutoff (self->config.keep_builds_days, now_wall_ms);
        while (deleted < budget) {
            int64_t build_id = 0;
            int rc = store_prune_build_next (self->store, before, &build_id);
            if (rc < 0)
                goto fail;
            if (rc == 1)
                break;
            int64_t touched = 0;
            builds_forget (self->builds, build_id, &touched);
            int64_t rows = 0;
            bool gone = false;
            if (store_prune_build_step (self->store, build_id, budget - deleted, &rows,
                                        &gone) != 0)
                goto fail;
            deleted += rows;
            self->stats.build_rows += rows;
            if (!gone)
                break;
            self->stats.builds++;
            log_debug ("build_pruned build=%lld", (long long) build_id);
        }
        if (deleted < budget) {
            int64_t rows = 0;
            if (store_prune_fallbacks (self->store, before, budget - deleted, &rows) != 0)
                goto fail;
            deleted += rows;
            self->stats.build_rows += rows;
        }
    }
    if (self->config.keep_days > 0 && deleted < budget) {
        int64_t before = s_cutoff (self->config.keep_days, now_wall_ms);
        int64_t rows = 0;
        if (store_prune_samples (self->store, before, budget - deleted, &rows) != 0)
            goto fail;
        deleted += rows;
        self->stats.samples += rows;
        if (timings_due && deleted < budget) {
            int64_t room = budget - deleted;
            if (store_prune_timings (self->store, before, room, &rows) != 0)
                goto fail;
            deleted += rows;
            self->stats.timings += rows;
            *timings_done = rows < room;
        }
    }
    else
        *timings_done = timings_due && self->config.keep_days <= 0;
    if (store_commit (self->store) != 0)
        goto fail;
    self->stats.steps++;
    return deleted;
fail:
    store_rollback (self->store);
    //  Marks and forgets were rolled back or are harmless; memory may still
    //  think a build is elsewhere than the database does: drop it all.
    builds_forget_all (self->builds);
    return -1;
}

//  One line when a run of steps has cleared what was due.
static void
s_log (retention_t *self)
{
    retention_stats_t *now = &self->stats, *then = &self->logged;
    if (now->builds == then->builds && now->samples == then->samples
    &&  now->timings == then->timings && now->build_rows == then->build_rows)
        return;
    log_info ("retention_pruned builds=%lld build_rows=%lld samples=%lld timings=%lld",
              (long long) (now->builds - then->builds),
              (long long) (now->build_rows - then->build_rows),
              (long long) (now->samples - then->samples),
              (long long) (now->timings - then->timings));
    *then = *now;
}

int
retention_run (retention_t *self, int64_t now_mono_ms, int64_t now_wall_ms)
{
    if (s_off (self) || now_mono_ms < self->next_mono_ms)
        return 0;
    bool timings_due = now_mono_ms >= self->timings_mono_ms;
    bool timings_done = false;
    int64_t deleted = s_step (self, now_wall_ms, timings_due, &timings_done);
    if (timings_done)
        self->timings_mono_ms = now_mono_ms + s_tenth (self->config.keep_days,
                                                       RETENTION_TIMINGS_MS);
    if (deleted < 0) {
        self->next_mono_ms = now_mono_ms + s_idle_ms (self);
        return -1;
    }
    bool backlog = deleted >= RETENTION_STEP_ROWS;
    self->next_mono_ms = now_mono_ms + (backlog ? RETENTION_BACKLOG_MS : s_idle_ms (self));
    if (!backlog)
        s_log (self);
    return 0;
}

int
retention_drain (retention_t *self, int64_t now_wall_ms)
{
    if (s_off (self))
        return 0;
    while (true) {
        bool timings_done = false;
        int64_t deleted = s_step (self, now_wall_ms, true, &timings_done);
        if (deleted < 0)
            return -1;
        if (deleted < RETENTION_STEP_ROWS) {
            s_log (self);
            return 0;
        }
    }
}

const retention_stats_t *
retention_stats (const retention_t *self)
{
    return &self->stats;
}
