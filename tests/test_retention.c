/*  test_retention.c: keeping the database bounded, on real SQLite files.

    - a database left by the previous schema version (a dump of one that
      satcheld 0.1.0 wrote, tests/fixtures/db/satchel-v4.sql) is migrated
      forward with every row intact;
    - a build is pruned in small steps, invisible from its first step, and
      a daemon stopped half-way carries on from where it was;
    - samples and estimates older than --keep-days go, builds finished or
      abandoned longer than --keep-builds-days ago go (with the fallbacks
      their nodes reported), live ones stay;
    - a soak of many simulated days of builds: the file stops growing once
      the history reaches its steady state.

    Time is passed in (retention takes "now" as an argument), so that days
    of history take seconds; nothing here sleeps.                          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builds.h"
#include "harness.h"
#include "log.h"
#include "retention.h"
#include "store.h"
#include "store_prune.h"
#include "util.h"

#define DAY_MS 86400000LL
//  A fixed wall clock for the made-up history: 2026-01-01.
#define EPOCH_MS 1767225600000LL

typedef struct {
    char *dir;               //  temporary folder, removed in teardown
    char path[128];          //  database file inside it
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    assert_non_null (fx);
    fx->dir = harness_tmpdir ();
    snprintf (fx->path, sizeof fx->path, "%s/satchel.db", fx->dir);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    harness_rmtree (fx->dir);
    free (fx->dir);
    free (fx);
    return 0;
}

//  First column of the first row of sql, on the store's own connection.
static int64_t
s_int (store_t *store, const char *format, ...)
{
    char sql[512];
    va_list args;
    va_start (args, format);
    vsnprintf (sql, sizeof sql, format, args);
    va_end (args);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (store_handle (store), sql, -1, &stmt, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

//  The version 4 fixture, loaded into a new file at path as it was.
static void
s_load_v4 (const char *path)
{
    char source[512];
    assert_int_equal (harness_source_path (source, sizeof source,
                                           "tests/fixtures/db/satchel-v4.sql"), 0);
    char *dump = harness_read_file (source);
    assert_non_null (dump);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    char *error = NULL;
    int rc = sqlite3_exec (db, dump, NULL, NULL, &error);
    if (rc != SQLITE_OK)
        fprintf (stderr, "fixture: %s\n", error);
    assert_int_equal (rc, SQLITE_OK);
    sqlite3_close (db);
    free (dump);
}

//  A database of schema version 4, from the real daemon, migrated forward:
//  the new column and indexes, and the two builds, their units, batches,
//  history and regular split as they were.
static void
test_migrate_v4_fixture (void **state)
{
    fixture_t *fx = *state;
    s_load_v4 (fx->path);
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (s_int (store, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal (s_int (store, "SELECT count(*) FROM pragma_table_info('builds')"
                                    " WHERE name = 'pruned'"), 1);
    assert_int_equal (s_int (store, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name IN ('samples_by_build', 'builds_by_finish',"
                                    " 'builds_pruning')"), 3);
    assert_int_equal (s_int (store, "SELECT count(*) FROM builds WHERE pruned = 0"), 2);

    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "demo", &suite), 0);
    assert_int_equal (suite, 1);
    int64_t timings = 0, samples = 0;
    assert_int_equal (store_suite_counts (store, suite, &timings, &samples), 0);
    assert_int_equal (timings, 32);
    assert_int_equal (samples, 64);

    store_build_t queue = { 0 }, regular = { 0 };
    assert_int_equal (store_build_find (store, suite, "fixture-queue", &queue), 0);
    assert_int_equal (store_build_find (store, suite, "fixture-regular", &regular), 0);
    assert_string_equal (queue.mode, "queue");
    assert_string_equal (regular.mode, "regular");
    assert_int_equal (queue.unit_count, 32);
    assert_true (queue.finished_ms > 0 && regular.finished_ms > 0);
    assert_string_equal (queue.result, "passed");

    //  Units and batches load back; every unit was done once per build.
    char **names = NULL;
    double *predicted = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, queue.id, &names, &predicted, &count, NULL), 0);
    assert_int_equal (count, 32);
    double estimate[32];
    assert_int_equal (store_estimates (store, suite, (const char *const *) names, count,
                                       estimate), 0);
    for (size_t i = 0; i < count; i++) {
        assert_true (estimate[i] > 0);
        free (names[i]);
    }
    free (names);
    free (predicted);
    store_batch_t *batches = NULL;
    assert_int_equal (store_batches_load (store, queue.id, &batches, &count), 0);
    size_t units = 0;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (batches[i].state, STORE_BATCH_DONE);
        units += batches[i].unit_count;
    }
    assert_int_equal (units, 32);
    store_batches_free (batches, count);

    //  The regular build's split is found for a retried build of its commit.
    int64_t found = 0;
    assert_int_equal (store_split_find (store, suite, regular.commit, regular.branch,
                                        regular.node_total, regular.digest, -1, &found), 0);
    assert_int_equal (found, regular.id);
    store_build_clear (&queue);
    store_build_clear (&regular);
    store_destroy (&store);
}

//  A build pruned ten rows at a time: invisible to every lookup from the
//  mark on, its samples kept but detached, its rows gone children first;
//  the store closed half-way (a daemon stopped) carries on from the mark.
static void
test_build_pruned_in_steps (void **state)
{
    fixture_t *fx = *state;
    s_load_v4 (fx->path);
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t suite = 1;
    store_build_t queue = { 0 }, regular = { 0 };
    assert_int_equal (store_build_find (store, suite, "fixture-queue", &queue), 0);
    assert_int_equal (store_build_find (store, suite, "fixture-regular", &regular), 0);
    //  The queue build finished first; only it is due.
    assert_true (queue.finished_ms < regular.finished_ms);
    int64_t before = queue.finished_ms + 1;
    int64_t id = queue.id;
    char attempt[64];
    snprintf (attempt, sizeof attempt, "%s", "");
    {
        sqlite3_stmt *stmt = NULL;
        assert_int_equal (sqlite3_prepare_v2 (store_handle (store),
                          "SELECT attempt FROM attempts WHERE build_id = ?1 LIMIT 1", -1,
                          &stmt, NULL), SQLITE_OK);
        sqlite3_bind_int64 (stmt, 1, id);
        assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
        snprintf (attempt, sizeof attempt, "%s", sqlite3_column_text (stmt, 0));
        sqlite3_finalize (stmt);
    }
    int64_t rows_before = s_int (store, "SELECT (SELECT count(*) FROM units WHERE build_id = %lld)"
                                 " + (SELECT count(*) FROM batches WHERE build_id = %lld)",
                                 (long long) id, (long long) id);
    assert_true (rows_before > 40);

    int64_t next = 0;
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_prune_build_next (store, before, &next), 0);
    assert_int_equal (store_commit (store), 0);
    assert_int_equal (next, id);

    //  Marked: no lookup finds it, by key, by id, by attempt.
    store_build_t row = { 0 };
    assert_int_equal (store_build_find (store, suite, "fixture-queue", &row), 1);
    assert_int_equal (store_build_get (store, id, &row), 1);
    store_attempt_t found = { 0 };
    assert_int_equal (store_attempt_find (store, attempt, &found), 1);
    //  A new build may take its key at once (a CI job retried much later).
    store_build_t again = { .suite_id = suite, .build_key = "fixture-queue", .node_total = 2,
                            .mode = "queue", .commit = "c", .branch = "b", .digest = "d",
                            .created_ms = before };
    assert_int_equal (store_build_insert (store, &again), 0);

    int steps = 0;
    bool gone = false;
    while (!gone) {
        int64_t deleted = 0;
        assert_int_equal (store_begin (store), 0);
        //  Still the marked one, also after a reopen.
        assert_int_equal (store_prune_build_next (store, before, &next), 0);
        assert_int_equal (next, id);
        assert_int_equal (store_prune_build_step (store, id, 10, &deleted, &gone), 0);
        assert_int_equal (store_commit (store), 0);
        assert_true (deleted <= 10 + (gone ? 1 : 0));
        assert_true (deleted > 0);
        steps++;
        if (steps == 3) {
            //  A daemon stopped between two steps.
            store_destroy (&store);
            store = store_open (fx->path);
            assert_non_null (store);
        }
        assert_true (steps < 100);
    }
    assert_true (steps > 5);
    assert_int_equal (s_int (store, "SELECT count(*) FROM builds WHERE id = %lld",
                             (long long) id), 0);
    const char *tables[] = { "units", "batches", "attempts", "build_nodes", "samples" };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_int_equal (s_int (store, "SELECT count(*) FROM %s WHERE build_id = %lld",
                                 tables[i], (long long) id), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM batch_units WHERE batch_id NOT IN"
                                    " (SELECT id FROM batches)"), 0);
    //  Its history is kept, detached; the other build is untouched.
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 64);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples WHERE build_id IS NULL"), 32);
    assert_int_equal (s_int (store, "SELECT count(*) FROM units WHERE build_id = %lld",
                             (long long) regular.id), 32);
    assert_int_equal (s_int (store, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    //  Nothing else is due.
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_prune_build_next (store, before, &next), 1);
    assert_int_equal (store_commit (store), 0);
    store_build_clear (&queue);
    store_build_clear (&regular);
    store_destroy (&store);
}

//  Write a build of unit_count units named "<prefix><i>" on nodes nodes,
//  created at created_ms; batches of 25 units handed out batch_ms apart
//  from then, each reported with a sample of each unit; finished at the
//  last report unless running. Returns its id.
static int64_t
s_build (store_t *store, int64_t suite, const char *key, int64_t created_ms, int unit_count,
         const char *prefix, bool running)
{
    enum { NODES = 4, BATCH = 25 };
    char **names = calloc ((size_t) unit_count, sizeof (char *));
    double *predicted = calloc ((size_t) unit_count, sizeof (double));
    assert_true (names && predicted);
    for (int i = 0; i < unit_count; i++) {
        char name[96];
        snprintf (name, sizeof name, "%s%04d_spec.rb", prefix, i);
        names[i] = strdup (name);
        predicted[i] = 1000 + i;
    }
    assert_int_equal (store_begin (store), 0);
    store_build_t row = { .suite_id = suite, .build_key = (char *) key, .node_total = NODES,
                          .mode = "queue", .commit = "0123abc", .branch = "main",
                          .digest = "digest", .unit_count = (uint32_t) unit_count,
                          .created_ms = created_ms };
    assert_int_equal (store_build_insert (store, &row), 0);
    assert_int_equal (store_units_insert (store, row.id, (const char *const *) names, predicted,
                                          (size_t) unit_count, NULL), 0);
    int64_t attempts[NODES];
    for (int n = 0; n < NODES; n++) {
        char attempt[64];
        snprintf (attempt, sizeof attempt, "%s-node-%d", key, n);
        assert_int_equal (store_attempt_insert (store, row.id, (uint32_t) n, attempt, created_ms,
                                                false, false, NULL, &attempts[n]), 0);
    }
    int64_t at = created_ms;
    uint32_t seq[NODES] = { 0 };
    for (int first = 0, b = 0; first < unit_count; first += BATCH, b++) {
        int n = b % NODES;
        uint32_t idx[BATCH];
        size_t count = 0;
        for (int i = first; i < unit_count && i < first + BATCH; i++)
            idx[count++] = (uint32_t) i;
        store_batch_meta_t meta = { .state = STORE_BATCH_RUNNING, .lease = (uint64_t) b + 1 };
        int64_t batch = 0;
        at += 1000;
        assert_int_equal (store_batch_insert (store, row.id, (uint32_t) n, ++seq[n], attempts[n],
                                              idx, count, at, &meta, &batch), 0);
        assert_int_equal (store_batch_report (store, batch, 900, 0, at + 900,
                                              STORE_BATCH_DONE, -1, 1), 0);
        for (size_t u = 0; u < count; u++)
            assert_int_equal (store_record_sample (store, suite, row.id, names[idx[u]], 36.0,
                                                   true, 0.3, at + 900), 0);
    }
    if (!running) {
        for (int n = 0; n < NODES; n++)
            assert_int_equal (store_node_summary (store, row.id, (uint32_t) n,
                                                  (uint64_t) unit_count / NODES, 1000, 10,
                                                  at + 900), 0);
        assert_int_equal (store_build_finish (store, row.id, at + 1000, "passed"), 0);
    }
    assert_int_equal (store_commit (store), 0);
    for (int i = 0; i < unit_count; i++)
        free (names[i]);
    free (names);
    free (predicted);
    return row.id;
}

//  Samples and estimates older than keep-days go; newer ones stay; an
//  estimate updated recently stays even when its old samples go.
static void
test_history_ages_out (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    builds_config_t retry = { 0 };
    builds_t *builds = builds_new (store, &retry);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "s", &suite), 0);
    //  Ten days: "kept_*" run every day, "gone_*" only on days 0 and 1.
    for (int day = 0; day < 10; day++) {
        assert_int_equal (store_begin (store), 0);
        for (int i = 0; i < 5; i++) {
            char name[32];
            snprintf (name, sizeof name, "kept_%d", i);
            assert_int_equal (store_record_sample (store, suite, 0, name, 100, true, 0.3,
                                                   EPOCH_MS + day * DAY_MS), 0);
            snprintf (name, sizeof name, "gone_%d", i);
            if (day < 2)
                assert_int_equal (store_record_sample (store, suite, 0, name, 100, true, 0.3,
                                                       EPOCH_MS + day * DAY_MS), 0);
        }
        assert_int_equal (store_commit (store), 0);
    }
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 60);
    //  A machine of the farm on day 9, one retired after day 1.
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_learn_machine (store, suite, "ci-kept", 1.2, 10, 0.05, 0.3, 25, 0.1,
                                           EPOCH_MS + 9 * DAY_MS), 0);
    assert_int_equal (store_learn_machine (store, suite, "ci-gone", 0.9, 10, 0.05, 0.3, 25, 0.1,
                                           EPOCH_MS + 1 * DAY_MS), 0);
    assert_int_equal (store_commit (store), 0);

    //  Forever: nothing goes.
    retention_config_t forever = { 0 };
    retention_t *retention = retention_new (store, builds, &forever);
    assert_int_equal (retention_wait_ms (retention, 0), -1);
    assert_int_equal (retention_drain (retention, EPOCH_MS + 400 * DAY_MS), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 60);
    retention_destroy (&retention);

    //  Keep 5.5 days at day 10: days 5 to 9 stay.
    retention_config_t config = { .keep_days = 5.5, .keep_builds_days = 30 };
    retention = retention_new (store, builds, &config);
    assert_int_equal (retention_drain (retention, EPOCH_MS + 10 * DAY_MS + DAY_MS / 2), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 25);
    assert_int_equal (s_int (store, "SELECT min(at_ms) FROM samples"), EPOCH_MS + 5 * DAY_MS);
    assert_int_equal (s_int (store, "SELECT count(*) FROM timings WHERE name LIKE 'kept_%%'"), 5);
    assert_int_equal (s_int (store, "SELECT count(*) FROM timings WHERE name LIKE 'gone_%%'"), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM machines WHERE machine = 'ci-kept'"), 1);
    assert_int_equal (s_int (store, "SELECT count(*) FROM machines WHERE machine = 'ci-gone'"), 0);
    const retention_stats_t *stats = retention_stats (retention);
    assert_int_equal (stats->samples, 35);
    assert_int_equal (stats->timings, 6);
    //  The estimates that stay still answer.
    const char *names[] = { "kept_0", "gone_0" };
    double estimate[2];
    assert_int_equal (store_estimates (store, suite, names, 2, estimate), 0);
    assert_true (estimate[0] > 0);
    assert_true (estimate[1] < 0);
    retention_destroy (&retention);
    builds_destroy (&builds);
    store_destroy (&store);
}

//  Finished builds older than keep-builds-days go, newer ones stay; a
//  build never finished goes once nothing has happened in it for that
//  long, and stays while its nodes still take batches.
static void
test_old_and_abandoned_builds (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    builds_config_t retry = { 0 };
    builds_t *builds = builds_new (store, &retry);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "s", &suite), 0);
    int64_t old_done = s_build (store, suite, "old-done", EPOCH_MS, 60, "a/", false);
    int64_t new_done = s_build (store, suite, "new-done", EPOCH_MS + 15 * DAY_MS, 60, "a/",
                                false);
    int64_t abandoned = s_build (store, suite, "abandoned", EPOCH_MS, 60, "a/", true);
    int64_t slow = s_build (store, suite, "slow", EPOCH_MS, 60, "a/", true);
    //  The slow build's nodes are still at it: a batch on day 35.
    int64_t attempt = s_int (store, "SELECT id FROM attempts WHERE build_id = %lld LIMIT 1",
                             (long long) slow);
    uint32_t idx[1] = { 0 };
    store_batch_meta_t meta = { .state = STORE_BATCH_RUNNING, .lease = 99 };
    int64_t batch = 0;
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_batch_insert (store, slow, 0, 99, attempt, idx, 1,
                                          EPOCH_MS + 35 * DAY_MS, &meta, &batch), 0);
    assert_int_equal (store_commit (store), 0);

    //  A node of the old build and one of the new fell back.
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_fallback_record (store, suite, "old-done", 1, 4, 15,
                                             EPOCH_MS + DAY_MS / 2), 0);
    assert_int_equal (store_fallback_record (store, suite, "new-done", 2, 4, 15,
                                             EPOCH_MS + 15 * DAY_MS), 0);
    assert_int_equal (store_commit (store), 0);

    //  Day 40, keep 30 days: before day 10.
    retention_config_t config = { .keep_days = 90, .keep_builds_days = 30 };
    retention_t *retention = retention_new (store, builds, &config);
    assert_int_equal (retention_drain (retention, EPOCH_MS + 40 * DAY_MS), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM builds WHERE id IN (%lld, %lld)",
                             (long long) old_done, (long long) abandoned), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM builds WHERE id IN (%lld, %lld)"
                                    " AND pruned = 0", (long long) new_done, (long long) slow), 2);
    assert_int_equal (retention_stats (retention)->builds, 2);
    //  The old build's fallback went with it.
    assert_int_equal (s_int (store, "SELECT count (*) FROM fallbacks"), 1);
    assert_int_equal (s_int (store, "SELECT node_index FROM fallbacks"), 2);
    //  Their history stays (keep-days is longer), detached.
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 4 * 60);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples WHERE build_id IS NULL"), 120);
    assert_int_equal (s_int (store, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    retention_destroy (&retention);
    builds_destroy (&builds);
    store_destroy (&store);
}

//  A build the daemon holds in memory leaves the cache when it is pruned:
//  a CI job retried after that starts a new build under the same key.
static void
test_cached_build_forgotten (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    builds_config_t retry = { 0 };
    builds_t *builds = builds_new (store, &retry);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "s", &suite), 0);
    int64_t id = s_build (store, suite, "ci-7", EPOCH_MS, 30, "b/", false);
    build_t *build = NULL;
    assert_int_equal (builds_find (builds, suite, "ci-7", &build), 0);
    assert_int_equal (build->id, id);

    retention_config_t config = { .keep_days = 90, .keep_builds_days = 1 };
    retention_t *retention = retention_new (store, builds, &config);
    assert_int_equal (retention_drain (retention, EPOCH_MS + 2 * DAY_MS), 0);
    assert_int_equal (builds_find (builds, suite, "ci-7", &build), 1);
    int64_t again = s_build (store, suite, "ci-7", EPOCH_MS + 2 * DAY_MS, 30, "b/", false);
    assert_int_equal (builds_find (builds, suite, "ci-7", &build), 0);
    assert_int_equal (build->id, again);
    retention_destroy (&retention);
    builds_destroy (&builds);
    store_destroy (&store);
}

//  When steps are due: at once at start, then every RETENTION_IDLE_MS when
//  nothing is left, every RETENTION_BACKLOG_MS while a backlog lasts, and
//  only RETENTION_STEP_ROWS rows a step.
static void
test_steps_are_paced (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    builds_config_t retry = { 0 };
    builds_t *builds = builds_new (store, &retry);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "s", &suite), 0);
    enum { OLD = RETENTION_STEP_ROWS * 5 / 2 };
    assert_int_equal (store_begin (store), 0);
    for (int i = 0; i < OLD; i++)
        assert_int_equal (store_record_sample (store, suite, 0, "a", 10, true, 0.3,
                                               EPOCH_MS + i), 0);
    assert_int_equal (store_commit (store), 0);

    retention_config_t config = { .keep_days = 1, .keep_builds_days = 1 };
    retention_t *retention = retention_new (store, builds, &config);
    int64_t mono = util_mono_ms ();
    int64_t wall = EPOCH_MS + 3 * DAY_MS;
    assert_int_equal (retention_wait_ms (retention, mono), 0);
    assert_int_equal (retention_run (retention, mono, wall), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), OLD - RETENTION_STEP_ROWS);
    assert_int_equal (retention_wait_ms (retention, mono), RETENTION_BACKLOG_MS);
    //  Not due yet: nothing happens.
    assert_int_equal (retention_run (retention, mono + RETENTION_BACKLOG_MS - 1, wall), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), OLD - RETENTION_STEP_ROWS);
    mono += RETENTION_BACKLOG_MS;
    assert_int_equal (retention_run (retention, mono, wall), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"),
                      OLD - 2 * RETENTION_STEP_ROWS);
    mono += RETENTION_BACKLOG_MS;
    assert_int_equal (retention_run (retention, mono, wall), 0);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 0);
    assert_int_equal (retention_wait_ms (retention, mono), RETENTION_IDLE_MS);
    assert_int_equal (retention_stats (retention)->steps, 3);
    retention_destroy (&retention);
    builds_destroy (&builds);
    store_destroy (&store);
}

static int64_t
s_file_bytes (store_t *store)
{
    return s_int (store, "PRAGMA page_count") * s_int (store, "PRAGMA page_size");
}

//  A soak: SOAK_DAYS days of BUILDS_A_DAY builds of UNITS units, a tenth
//  of the suite renamed every day (new tests come, old ones go), with
//  retention run each day as the daemon would. Before the history reaches
//  its steady state (90 days of samples, 30 of builds) the file grows;
//  after it, it stays flat: freed pages are used again. The sizes go to
//  stderr (ctest -V shows them).
static void
test_soak_size_stays_flat (void **state)
{
    enum { SOAK_DAYS = 400, BUILDS_A_DAY = 3, UNITS = 150, STEADY = 200 };
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    builds_config_t retry = { 0 };
    builds_t *builds = builds_new (store, &retry);
    retention_config_t config = { .keep_days = 90, .keep_builds_days = 30 };
    retention_t *retention = retention_new (store, builds, &config);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "soak", &suite), 0);
    int64_t size_at_steady = 0, peak = 0;
    for (int day = 0; day < SOAK_DAYS; day++) {
        for (int b = 0; b < BUILDS_A_DAY; b++) {
            char key[32], prefix[32];
            snprintf (key, sizeof key, "ci-%d-%d", day, b);
            //  Renamed tests: the suite's names drift by one generation a
            //  day, so old estimates stop being updated.
            snprintf (prefix, sizeof prefix, "spec/gen%03d/", day / 10);
            s_build (store, suite, key, EPOCH_MS + day * DAY_MS + b * 3600000LL, UNITS, prefix,
                     false);
        }
        assert_int_equal (retention_drain (retention, EPOCH_MS + (day + 1) * DAY_MS), 0);
        int64_t size = s_file_bytes (store);
        if (size > peak)
            peak = size;
        if (day == STEADY)
            size_at_steady = size;
        if (day % 50 == 0 || day == SOAK_DAYS - 1) {
            store_prune_counts_t counts;
            assert_int_equal (store_prune_counts (store, &counts), 0);
            fprintf (stderr, "day %3d: %7lld KiB, builds %lld, units %lld, samples %lld, "
                     "timings %lld\n", day, (long long) size / 1024, (long long) counts.builds,
                     (long long) counts.units, (long long) counts.samples,
                     (long long) counts.timings);
        }
    }
    int64_t size_at_end = s_file_bytes (store);
    fprintf (stderr, "file: %lld KiB at day %d, %lld KiB at day %d (peak %lld KiB)\n",
             (long long) size_at_steady / 1024, STEADY, (long long) size_at_end / 1024,
             SOAK_DAYS - 1, (long long) peak / 1024);
    //  What is left is what the periods keep: 30 days of builds, 90 of
    //  samples, the estimates of the generations run in the last 90 days.
    assert_int_equal (s_int (store, "SELECT count(*) FROM builds"), 30 * BUILDS_A_DAY);
    assert_int_equal (s_int (store, "SELECT count(*) FROM samples"), 90 * BUILDS_A_DAY * UNITS);
    assert_true (s_int (store, "SELECT count(*) FROM timings") <= 11 * UNITS);
    //  Flat: within 1% over the last 200 days of the soak, while they
    //  wrote four times the rows the file holds. (Measured: it settles by
    //  day 175 and then does not move by a page.)
    assert_true (size_at_end <= size_at_steady + size_at_steady / 100);
    retention_destroy (&retention);
    builds_destroy (&builds);
    store_destroy (&store);
}

int
main (void)
{
    log_setup (LOG_LEVEL_WARN, "");
    store_init_process ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_migrate_v4_fixture, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_build_pruned_in_steps, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_history_ages_out, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_old_and_abandoned_builds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cached_build_forgotten, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_steps_are_paced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_soak_size_stays_flat, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
