/*  store_prune.c: the SQL of retention. See store_prune.h.                */
#include "store_prune.h"

#include <assert.h>
#include <sqlite3.h>
#include <stddef.h>

//  Run sql with ?1 and ?2 bound to a and b; if it returns a row, its first
//  column goes to *value (when value is not NULL). *changes gets the rows
//  changed (when not NULL). Returns SQLITE_ROW, SQLITE_DONE or -1.
static int
s_exec (store_t *self, const char *op, const char *sql, int64_t a, int64_t b, int64_t *value,
        int64_t *changes)
{
    sqlite3 *db = store_handle (self);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_fail (self, op);
    int rc = -1;
    int params = sqlite3_bind_parameter_count (stmt);
    int bind = params >= 1 ? sqlite3_bind_int64 (stmt, 1, a) : SQLITE_OK;
    if (bind == SQLITE_OK && params >= 2)
        bind = sqlite3_bind_int64 (stmt, 2, b);
    if (bind != SQLITE_OK) {
        store_fail (self, op);
        goto cleanup;
    }
    rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = store_fail (self, op);
        goto cleanup;
    }
    if (rc == SQLITE_ROW && value)
        *value = sqlite3_column_int64 (stmt, 0);
    if (changes)
        *changes = sqlite3_changes64 (db);
cleanup:
    sqlite3_finalize (stmt);
    return rc;
}

int
store_prune_samples (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted)
{
    *deleted = 0;
    //  A sample whose clock ran ahead waits at the head until it is due;
    //  the due rows among the oldest `limit` still go.
    return s_exec (self, "prune_samples",
                   "DELETE FROM samples WHERE id IN (SELECT id FROM samples ORDER BY id"
                   " LIMIT ?2) AND at_ms < ?1", before_ms, limit, NULL, deleted) < 0 ? -1 : 0;
}

int
store_prune_fallbacks (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted)
{
    *deleted = 0;
    return s_exec (self, "prune_fallbacks",
                   "DELETE FROM fallbacks WHERE id IN (SELECT id FROM fallbacks ORDER BY id"
                   " LIMIT ?2) AND at_ms < ?1", before_ms, limit, NULL, deleted) < 0 ? -1 : 0;
}

int
store_prune_timings (store_t *self, int64_t before_ms, int64_t limit, int64_t *deleted)
{
    *deleted = 0;
    if (s_exec (self, "prune_timings",
                "DELETE FROM timings WHERE (suite_id, name) IN (SELECT suite_id, name"
                " FROM timings WHERE updated_ms < ?1 LIMIT ?2)", before_ms, limit, NULL,
                deleted) < 0)
        return -1;
    int64_t machines = 0;
    if (*deleted < limit
    &&  s_exec (self, "prune_machines",
                "DELETE FROM machines WHERE (suite_id, machine) IN (SELECT suite_id, machine"
                " FROM machines WHERE updated_ms < ?1 LIMIT ?2)", before_ms, limit - *deleted,
                NULL, &machines) < 0)
        return -1;
    *deleted += machines;
    return 0;
}

int
store_prune_build_next (store_t *self, int64_t before_ms, int64_t *build_id)
{
    //  A literal 1, so that the partial index builds_pruning serves it.
    int rc = s_exec (self, "prune_marked", "SELECT id FROM builds WHERE pruned = 1 LIMIT 1",
                     0, 0, build_id, NULL);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? 0 : -1;
    rc = s_exec (self, "prune_finished",
                 "SELECT id FROM builds WHERE finished_ms > 0 AND finished_ms < ?1"
                 " ORDER BY finished_ms LIMIT 1", before_ms, 0, build_id, NULL);
    if (rc == SQLITE_DONE)
        //  Abandoned: every node gone before it finished, long ago.
        rc = s_exec (self, "prune_abandoned",
                     "SELECT id FROM builds b WHERE finished_ms = 0 AND created_ms < ?1"
                     " AND NOT EXISTS (SELECT 1 FROM batches WHERE build_id = b.id"
                     "                 AND created_ms >= ?1)"
                     " AND NOT EXISTS (SELECT 1 FROM attempts WHERE build_id = b.id"
                     "                 AND started_ms >= ?1)"
                     " ORDER BY id LIMIT 1", before_ms, 0, build_id, NULL);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 1 : -1;
    //  Out of every lookup's way: by key, by attempt, by id, by commit.
    if (s_exec (self, "prune_mark",
                "UPDATE builds SET pruned = 1, build_key = 'pruned ' || id WHERE id = ?1",
                *build_id, 0, NULL, NULL) < 0
    ||  s_exec (self, "prune_mark_attempts",
                "UPDATE attempts SET attempt = 'pruned ' || id WHERE build_id = ?1",
                *build_id, 0, NULL, NULL) < 0)
        return -1;
    return 0;
}

//  The rows of a build, children before parents: each statement deletes up
//  to ?2 rows of build ?1 (samples are only detached).
static const struct {
    const char *op;
    const char *sql;
} s_build_rows[] = {
    { "prune_build_samples",
      "UPDATE samples SET build_id = NULL WHERE id IN (SELECT id FROM samples"
      " WHERE build_id = ?1 LIMIT ?2)" },
    { "prune_build_batch_units",
      "DELETE FROM batch_units WHERE (batch_id, pos) IN (SELECT bu.batch_id, bu.pos"
      " FROM batches b JOIN batch_units bu ON bu.batch_id = b.id WHERE b.build_id = ?1"
      " LIMIT ?2)" },
    { "prune_build_batches",
      "DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE build_id = ?1 LIMIT ?2)" },
    { "prune_build_attempts",
      "DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE build_id = ?1"
      " LIMIT ?2)" },
    { "prune_build_units",
      "DELETE FROM units WHERE build_id = ?1 AND idx IN (SELECT idx FROM units"
      " WHERE build_id = ?1 LIMIT ?2)" },
    { "prune_build_nodes",
      "DELETE FROM build_nodes WHERE build_id = ?1 AND node_index IN (SELECT node_index"
      " FROM build_nodes WHERE build_id = ?1 LIMIT ?2)" },
};

int
store_prune_build_step (store_t *self, int64_t build_id, int64_t limit, int64_t *deleted,
                        bool *gone)
{
    assert (limit > 0);
    *deleted = 0;
    *gone = false;
    for (size_t i = 0; i < sizeof s_build_rows / sizeof s_build_rows[0]; i++) {
        int64_t changes = 0;
        if (s_exec (self, s_build_rows[i].op, s_build_rows[i].sql, build_id,
                    limit - *deleted, NULL, &changes) < 0)
            return -1;
        *deleted += changes;
        //  Budget spent: this table may have more rows; next step.
        if (*deleted >= limit)
            return 0;
    }
    int64_t changes = 0;
    if (s_exec (self, "prune_build", "DELETE FROM builds WHERE id = ?1 AND pruned = 1",
                build_id, 0, NULL, &changes) < 0)
        return -1;
    *deleted += changes;
    *gone = true;
    return 0;
}

int
store_prune_counts (store_t *self, store_prune_counts_t *counts)
{
    const char *const sql[] = {
        "SELECT count(*) FROM builds", "SELECT count(*) FROM units",
        "SELECT count(*) FROM batches", "SELECT count(*) FROM samples",
        "SELECT count(*) FROM timings"
    };
    int64_t *out[] = { &counts->builds, &counts->units, &counts->batches, &counts->samples,
                       &counts->timings };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (s_exec (self, "prune_counts", sql[i], 0, 0, out[i], NULL) != SQLITE_ROW)
            return -1;
    return 0;
}
