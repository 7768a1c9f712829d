/*  store_prune.h: the SQL of retention (coordinator/retention.c decides
    when). Each call deletes at most `limit` rows, so that a step stays a
    few milliseconds long between two groups of requests; the caller wraps
    each step in store_begin / store_commit.

    A build is pruned in steps: first marked (pruned = 1, its key and its
    attempts renamed to "pruned <id>", which no CI build or attempt id can
    be since those are printable ASCII without spaces), so that no lookup
    finds it while its rows go; then its rows, children first, the build
    row last. A daemon stopped half-way carries on from the mark.

    Every function returns 0 on success and -1 on a database error.        */
#ifndef SATCHEL_STORE_PRUNE_H
#define SATCHEL_STORE_PRUNE_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

//  Delete up to limit samples taken before before_ms (wall clock), oldest
//  first. Samples are written in time order, so the oldest rows by id are
//  looked at, not the whole table; *deleted says how many went.
int store_prune_samples (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted);

//  Delete up to limit fallback records older than before_ms (they go with
//  the builds they were part of), oldest first.
int store_prune_fallbacks (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted);

//  Delete up to limit timing rows (estimates) not updated since before_ms:
//  units the suite no longer runs; then, within what is left of limit,
//  machines' paces not learned since before_ms: machines the farm no
//  longer has. Scans the tables: call it rarely.
int store_prune_timings (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted);

//  The build to prune next: one already marked, else the oldest due, which
//  it marks: finished before before_ms, or never finished, created before
//  before_ms and with no batch handed out nor node joined since. Returns
//  0 and *build_id, 1 if none is due, -1 on error.
int store_prune_build_next (store_t *self, int64_t before_ms, int64_t *build_id);

//  Delete up to limit rows of the marked build build_id, children first
//  (its samples are kept but detached from it); *deleted says how many,
//  *gone is true once the build row itself went.
int store_prune_build_step (store_t *self, int64_t build_id, int64_t limit, int64_t *deleted,
                            bool *gone);

//  Rows of the tables retention prunes, for logs and tests.
typedef struct {
    int64_t builds;          //  builds rows, marked ones included
    int64_t units;           //  units rows
    int64_t batches;         //  batches rows
    int64_t samples;         //  samples rows
    int64_t timings;         //  timings rows
} store_prune_counts_t;

int store_prune_counts (store_t *self, store_prune_counts_t *counts);

#endif
