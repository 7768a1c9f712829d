/*  test_store.c: the SQLite store, against real database files in a fresh
    temporary folder per test. What the store wrote is checked with a
    second, raw sqlite3 connection where that proves more than reading it
    back through the store would (schema, durability, visibility).         */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpointer.h"
#include "harness.h"
#include "log.h"
#include "proto.h"
#include "store.h"
//  For the version 1 DDL, to build a database as an older satcheld left it.
#include "store_sql.h"

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

//  A second connection, as another process would see the file.
static sqlite3 *
s_raw_open (const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static int64_t
s_raw_int (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

static void
s_raw_text (sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    snprintf (out, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
}

//  Count rows the way another process sees them right now.
static int64_t
s_other_count (const char *path, const char *table)
{
    char sql[128];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3 *db = s_raw_open (path);
    int64_t count = s_raw_int (db, sql);
    sqlite3_close (db);
    return count;
}

//  What most tests write with a batch: handed out and running.
static const store_batch_meta_t s_running = {
    .state = STORE_BATCH_RUNNING, .lease = 1, .kind = PROTO_KIND_QUEUE, .origin = 0
};

//  A suite, a build of it and one attempt: what most tests start from.
typedef struct {
    int64_t suite_id;
    int64_t build_id;
    int64_t attempt_id;
} world_t;

static void
s_world (store_t *store, world_t *world)
{
    assert_int_equal (store_suite_ensure (store, "web", &world->suite_id), 0);
    store_build_t build = {
        .suite_id = world->suite_id, .build_key = "ci-1", .node_total = 2,
        .mode = "queue", .commit = "abc", .branch = "main", .digest = "d1",
        .unit_count = 3, .created_ms = 1000
    };
    assert_int_equal (store_build_insert (store, &build), 0);
    world->build_id = build.id;
    assert_int_equal (store_attempt_insert (store, world->build_id, 0, "att-0", 1000, false,
                                            false, NULL, &world->attempt_id), 0);
}

static void
test_destroy_null_is_safe (void **state)
{
    store_destroy (NULL);
    store_t *store = NULL;
    store_destroy (&store);
    assert_null (store);
    store_build_clear (NULL);
    store_attempt_clear (NULL);
    store_batches_free (NULL, 0);
}

static void
test_schema_created (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    assert_null (store);

    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    char mode[16];
    s_raw_text (db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal (mode, "wal");
    const char *tables[] = { "suites", "builds", "units", "attempts", "batches",
                             "batch_units", "timings", "samples", "build_nodes" };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf (sql, sizeof sql,
                  "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'",
                  tables[i]);
        assert_int_equal (s_raw_int (db, sql), 1);
    }
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_index_info('samples_by_name')"), 2);
    //  Version 7: batches by build only (new ones append to one page).
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_index_info('batches_by_build')"), 1);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM sqlite_schema"
                                     " WHERE name = 'batches_by_node'"), 0);
    //  The columns version 2 added, on a database created fresh.
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('batches')"
                                     " WHERE name IN ('state', 'lease', 'kind', 'origin')"), 4);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('attempts')"
                                     " WHERE name IN ('only_failed', 'no_wait', 'stopped')"), 3);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('builds')"
                                     " WHERE name IN ('fail_fast', 'result')"), 2);
    sqlite3_close (db);

    //  Opening again leaves the version as it is (no second migration).
    store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    sqlite3_close (db);
}

static void
test_foreign_keys_enforced (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    const char *names[] = { "a" };
    double predicted[] = { 1 };
    //  No build 42: foreign_keys=ON refuses the rows.
    assert_int_equal (store_units_insert (store, 42, names, predicted, 1, NULL), -1);
    int64_t id = 0;
    assert_int_equal (store_attempt_insert (store, 42, 0, "x", 1, false, false, NULL, &id), -1);
    store_build_t build = { .suite_id = 42, .build_key = "k", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &build), -1);
    world_t world;
    s_world (store, &world);
    uint32_t units[] = { 0 };
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, 999, units, 1, 5,
                                          &s_running, &id), -1);
    store_destroy (&store);
    assert_int_equal (s_other_count (fx->path, "units"), 0);
    assert_int_equal (s_other_count (fx->path, "batches"), 0);
    assert_int_equal (s_other_count (fx->path, "batch_units"), 0);
}

static void
test_newer_version_refused (void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (fx->path, &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    char sql[64];
    snprintf (sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
    assert_int_equal (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);

    store_t *store = store_open (fx->path);
    assert_null (store);

    //  Refused means untouched: no tables were added, the version stands.
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM sqlite_schema"), 0);
    sqlite3_close (db);
}

static void
test_open_missing_folder_fails (void **state)
{
    fixture_t *fx = *state;
    char path[256];
    snprintf (path, sizeof path, "%s/no/such/folder/satchel.db", fx->dir);
    assert_null (store_open (path));
}

static void
test_suite_ensure_idempotent (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t web = 0, again = 0, api = 0;
    assert_int_equal (store_suite_ensure (store, "web", &web), 0);
    assert_int_equal (store_suite_ensure (store, "web", &again), 0);
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    assert_true (web > 0);
    assert_int_equal (web, again);
    assert_int_not_equal (web, api);
    store_destroy (&store);
    assert_int_equal (s_other_count (fx->path, "suites"), 2);
}

static void
test_build_roundtrip (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "web", &suite), 0);
    store_build_t in = {
        .suite_id = suite, .build_key = "gh-123 \"retry\"", .node_total = 8,
        .mode = "queue", .commit = "0123456789abcdef", .branch = "feature/x y",
        .digest = "sha256:ff", .unit_count = 812, .created_ms = 1700000000123,
        .finished_ms = 0, .fail_fast = true
    };
    assert_int_equal (store_build_insert (store, &in), 0);
    assert_true (in.id > 0);

    store_build_t found;
    assert_int_equal (store_build_find (store, suite, "gh-123 \"retry\"", &found), 0);
    store_build_t got;
    assert_int_equal (store_build_get (store, in.id, &got), 0);
    store_build_t *rows[] = { &found, &got };
    for (int i = 0; i < 2; i++) {
        store_build_t *row = rows[i];
        assert_int_equal (row->id, in.id);
        assert_int_equal (row->suite_id, suite);
        assert_string_equal (row->build_key, in.build_key);
        assert_int_equal (row->node_total, 8);
        assert_string_equal (row->mode, "queue");
        assert_string_equal (row->commit, in.commit);
        assert_string_equal (row->branch, in.branch);
        assert_string_equal (row->digest, in.digest);
        assert_int_equal (row->unit_count, 812);
        assert_int_equal (row->created_ms, 1700000000123);
        assert_int_equal (row->finished_ms, 0);
        assert_true (row->fail_fast);
        assert_string_equal (row->result, "");      //  running: no result yet
        store_build_clear (row);
        assert_null (row->build_key);
        assert_null (row->result);
    }

    //  Not found is 1, and the row is left empty (clear is still safe).
    store_build_t missing;
    assert_int_equal (store_build_find (store, suite, "gh-124", &missing), 1);
    assert_null (missing.build_key);
    store_build_clear (&missing);
    assert_int_equal (store_build_find (store, suite + 1, "gh-123 \"retry\"", &missing), 1);
    assert_int_equal (store_build_get (store, in.id + 100, &missing), 1);

    assert_int_equal (store_build_finish (store, in.id, 1700000099999, "flaky"), 0);
    assert_int_equal (store_build_get (store, in.id, &got), 0);
    assert_int_equal (got.finished_ms, 1700000099999);
    assert_string_equal (got.result, "flaky");
    store_build_clear (&got);
    //  No such build: must_change makes it an error, and nothing is written.
    assert_int_equal (store_build_finish (store, in.id + 100, 1, "passed"), -1);
    assert_int_equal (store_build_find (store, suite, "gh-123 \"retry\"", &found), 0);
    assert_string_equal (found.result, "flaky");
    store_build_clear (&found);

    //  Optional strings may be NULL; they read back as "".
    store_build_t bare = { .suite_id = suite, .build_key = "bare", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &bare), 0);
    assert_int_equal (store_build_get (store, bare.id, &got), 0);
    assert_string_equal (got.commit, "");
    assert_string_equal (got.mode, "");
    assert_false (got.fail_fast);
    store_build_clear (&got);
    store_destroy (&store);
}

static void
test_build_key_unique_per_suite (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t web = 0, api = 0;
    assert_int_equal (store_suite_ensure (store, "web", &web), 0);
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    store_build_t first = { .suite_id = web, .build_key = "42", .node_total = 2,
                            .mode = "queue", .digest = "a" };
    assert_int_equal (store_build_insert (store, &first), 0);
    store_build_t second = first;
    second.id = 0;
    second.digest = "b";
    assert_int_equal (store_build_insert (store, &second), -1);
    //  The same CI build id in another suite is another build.
    store_build_t other = first;
    other.id = 0;
    other.suite_id = api;
    assert_int_equal (store_build_insert (store, &other), 0);
    assert_int_not_equal (other.id, first.id);

    store_build_t row;
    assert_int_equal (store_build_find (store, web, "42", &row), 0);
    assert_string_equal (row.digest, "a");
    store_build_clear (&row);
    store_destroy (&store);
    assert_int_equal (s_other_count (fx->path, "builds"), 2);
}

static void
test_units_roundtrip (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    const char *names[] = {
        "spec/models/user_spec.rb",
        "test with spaces and \"double\" 'single' quotes",
        "line one\nline two\ttab",
        "latin1 caf\xe9 and stray \xff\xfe bytes",
        "",
    };
    double predicted[] = { 1500.5, 0, 3.25, 1e9, 42 };
    size_t count = sizeof names / sizeof names[0];
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, count, NULL), 0);

    char **loaded = NULL;
    double *times = NULL;
    size_t loaded_count = 0;
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &loaded_count, NULL), 0);
    assert_int_equal (loaded_count, count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (strlen (loaded[i]), strlen (names[i]));
        assert_memory_equal (loaded[i], names[i], strlen (names[i]) + 1);
        assert_true (times[i] == predicted[i]);
        free (loaded[i]);
    }
    free (loaded);
    free (times);

    //  A build without units loads as an empty list.
    store_build_t empty = { .suite_id = world.suite_id, .build_key = "none", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &empty), 0);
    assert_int_equal (store_units_load (store, empty.id, &loaded, &times, &loaded_count, NULL), 0);
    assert_int_equal (loaded_count, 0);
    free (loaded);
    free (times);

    //  Inserting the list twice collides on (build_id, idx) and adds nothing.
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, count, NULL), -1);
    store_destroy (&store);
    assert_int_equal (s_other_count (fx->path, "units"), (int64_t) count);
}

static void
test_units_many_in_order (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    enum { COUNT = 5000 };
    char **names = calloc (COUNT, sizeof *names);
    double *predicted = calloc (COUNT, sizeof *predicted);
    assert_non_null (names);
    assert_non_null (predicted);
    for (size_t i = 0; i < COUNT; i++) {
        //  Names that sort differently from their index: order is by idx.
        names[i] = malloc (32);
        assert_non_null (names[i]);
        snprintf (names[i], 32, "t/%zu.rb", COUNT - i);
        predicted[i] = (double) i * 0.5;
    }
    assert_int_equal (store_units_insert (store, world.build_id, (const char *const *) names,
                                          predicted, COUNT, NULL), 0);
    char **loaded = NULL;
    double *times = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &count, NULL), 0);
    assert_int_equal (count, COUNT);
    for (size_t i = 0; i < COUNT; i++) {
        assert_string_equal (loaded[i], names[i]);
        assert_true (times[i] == predicted[i]);
        free (loaded[i]);
        free (names[i]);
    }
    free (loaded);
    free (times);
    free (names);
    free (predicted);
    store_destroy (&store);
}

static void
test_estimates_and_smoothing (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    const char *names[] = { "a_spec.rb", "b_spec.rb", "never_ran.rb" };
    double estimate[3] = { 0, 0, 0 };

    assert_int_equal (store_estimates (store, world.suite_id, names, 3, estimate), 0);
    assert_true (estimate[0] == -1 && estimate[1] == -1 && estimate[2] == -1);

    //  First sample is taken as is.
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a_spec.rb",
                                           100, true, 0.3, 2000), 0);
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "b_spec.rb",
                                           7.5, false, 0.3, 2000), 0);
    assert_int_equal (store_estimates (store, world.suite_id, names, 3, estimate), 0);
    assert_float_equal (estimate[0], 100, 1e-9);
    assert_float_equal (estimate[1], 7.5, 1e-9);
    assert_true (estimate[2] == -1);

    //  Second: new = old + alpha * (sample - old) = 100 + 0.3 * 100 = 130.
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a_spec.rb",
                                           200, true, 0.3, 3000), 0);
    assert_int_equal (store_estimates (store, world.suite_id, names, 1, estimate), 0);
    assert_float_equal (estimate[0], 130, 1e-9);
    //  Third, with another alpha: 130 + 0.5 * (30 - 130) = 80.
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a_spec.rb",
                                           30, true, 0.5, 4000), 0);
    assert_int_equal (store_estimates (store, world.suite_id, names, 1, estimate), 0);
    assert_float_equal (estimate[0], 80, 1e-9);

    //  Another suite has its own history.
    int64_t other = 0;
    assert_int_equal (store_suite_ensure (store, "api", &other), 0);
    assert_int_equal (store_estimates (store, other, names, 1, estimate), 0);
    assert_true (estimate[0] == -1);

    //  A sample from no build (build_id 0) is kept too.
    assert_int_equal (store_record_sample (store, other, 0, "a_spec.rb", 5, true, 0.3, 1), 0);
    assert_int_equal (store_estimates (store, other, names, 1, estimate), 0);
    assert_float_equal (estimate[0], 5, 1e-9);
    //  A negative or NaN duration is refused and changes nothing.
    assert_int_equal (store_record_sample (store, other, 0, "a_spec.rb", -1, true, 0.3, 1), -1);
    assert_int_equal (store_estimates (store, other, names, 1, estimate), 0);
    assert_float_equal (estimate[0], 5, 1e-9);

    int64_t timings = -1, samples = -1;
    assert_int_equal (store_suite_counts (store, world.suite_id, &timings, &samples), 0);
    assert_int_equal (timings, 2);
    assert_int_equal (samples, 4);
    assert_int_equal (store_suite_counts (store, other, &timings, &samples), 0);
    assert_int_equal (timings, 1);
    assert_int_equal (samples, 1);
    assert_int_equal (store_suite_counts (store, other + 1, &timings, &samples), 0);
    assert_int_equal (timings, 0);
    assert_int_equal (samples, 0);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT samples * 10000 + updated_ms FROM timings"
              " WHERE name = 'a_spec.rb' AND suite_id = %lld", (long long) world.suite_id);
    assert_int_equal (s_raw_int (db, sql), 3 * 10000 + 4000);
    assert_int_equal (s_raw_int (db, "SELECT ok FROM samples WHERE name = 'b_spec.rb'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM samples WHERE build_id IS NULL"), 1);
    sqlite3_close (db);
}

static void
test_attempts (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);

    int64_t id = 0;
    assert_int_equal (store_attempt_insert (store, world.build_id, 1, "att-1 \xff", 5000, false,
                                            false, NULL, &id), 0);
    assert_true (id > 0);
    assert_int_not_equal (id, world.attempt_id);

    store_attempt_t row;
    assert_int_equal (store_attempt_find (store, "att-1 \xff", &row), 0);
    assert_int_equal (row.id, id);
    assert_int_equal (row.build_id, world.build_id);
    assert_int_equal (row.node_index, 1);
    assert_string_equal (row.attempt, "att-1 \xff");
    assert_int_equal (row.last_req, 0);
    assert_null (row.last_reply);
    assert_int_equal (row.last_reply_size, 0);
    store_attempt_clear (&row);
    assert_null (row.attempt);

    //  Every byte value, NULs included, round-trips.
    unsigned char reply[300];
    for (size_t i = 0; i < sizeof reply; i++)
        reply[i] = (unsigned char) (i * 7);
    reply[0] = 0;
    assert_int_equal (store_attempt_save_reply (store, id, 3, reply, sizeof reply), 0);
    assert_int_equal (store_attempt_find (store, "att-1 \xff", &row), 0);
    assert_int_equal (row.last_req, 3);
    assert_int_equal (row.last_reply_size, sizeof reply);
    assert_memory_equal (row.last_reply, reply, sizeof reply);
    store_attempt_clear (&row);

    //  The next reply replaces it; a huge request number survives.
    const char second[] = "\x81\xa4type\xa5" "batch";
    uint64_t big = UINT64_C (0xfedcba9876543210);
    assert_int_equal (store_attempt_save_reply (store, id, big, second, sizeof second - 1), 0);
    assert_int_equal (store_attempt_find (store, "att-1 \xff", &row), 0);
    assert_true (row.last_req == big);
    assert_int_equal (row.last_reply_size, sizeof second - 1);
    assert_memory_equal (row.last_reply, second, sizeof second - 1);
    store_attempt_clear (&row);

    //  The other attempt is untouched.
    assert_int_equal (store_attempt_find (store, "att-0", &row), 0);
    assert_int_equal (row.id, world.attempt_id);
    assert_int_equal (row.last_req, 0);
    assert_null (row.last_reply);
    store_attempt_clear (&row);

    assert_int_equal (store_attempt_find (store, "att-9", &row), 1);
    assert_null (row.attempt);
    store_attempt_clear (&row);
    assert_int_equal (store_attempt_save_reply (store, id + 100, 1, reply, 4), -1);
    //  The attempt id string is unique.
    int64_t dup = 0;
    assert_int_equal (store_attempt_insert (store, world.build_id, 0, "att-0", 6000, false, false,
                                            NULL, &dup), -1);
    store_destroy (&store);
    assert_int_equal (s_other_count (fx->path, "attempts"), 2);
}

static void
test_batches (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    int64_t attempt1 = 0;
    assert_int_equal (store_attempt_insert (store, world.build_id, 1, "att-1", 1000, false, false,
                                            NULL, &attempt1), 0);

    uint32_t first_units[] = { 7, 2, 9, 0 };
    uint32_t second_units[] = { 5 };
    uint32_t third_units[] = { 4, 1 };
    int64_t b1 = 0, b2 = 0, b3 = 0, b4 = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          first_units, 4, 1100, &s_running, &b1), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 1, 1, attempt1,
                                          second_units, 1, 1200, &s_running, &b2), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 2, world.attempt_id,
                                          third_units, 2, 1300, &s_running, &b3), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 1, 2, attempt1,
                                          NULL, 0, 1400, &s_running, &b4), 0);
    assert_true (b1 < b2 && b2 < b3 && b3 < b4);

    assert_int_equal (store_batch_report (store, b1, 12345, 0, 2000, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_batch_report (store, b2, 99, -7, 2100, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_batch_report (store, b4 + 100, 1, 0, 1, STORE_BATCH_DONE, -1, 1),
                      -1);

    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 4);
    assert_int_equal (batches[0].id, b1);
    assert_int_equal (batches[0].node_index, 0);
    assert_int_equal (batches[0].seq, 1);
    assert_int_equal (batches[0].attempt_id, world.attempt_id);
    assert_true (batches[0].reported);
    assert_int_equal (batches[0].exit_code, 0);
    assert_int_equal (batches[0].unit_count, 4);
    assert_memory_equal (batches[0].unit_idx, first_units, sizeof first_units);

    assert_int_equal (batches[1].id, b2);
    assert_int_equal (batches[1].node_index, 1);
    assert_int_equal (batches[1].attempt_id, attempt1);
    assert_true (batches[1].reported);
    assert_int_equal (batches[1].exit_code, -7);
    assert_int_equal (batches[1].unit_count, 1);
    assert_int_equal (batches[1].unit_idx[0], 5);

    assert_int_equal (batches[2].id, b3);
    assert_int_equal (batches[2].seq, 2);
    assert_false (batches[2].reported);
    assert_int_equal (batches[2].unit_count, 2);
    assert_memory_equal (batches[2].unit_idx, third_units, sizeof third_units);

    assert_int_equal (batches[3].id, b4);
    assert_false (batches[3].reported);
    assert_int_equal (batches[3].unit_count, 0);
    store_batches_free (batches, count);

    //  Another build has none.
    store_build_t other = { .suite_id = world.suite_id, .build_key = "ci-2", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &other), 0);
    assert_int_equal (store_batches_load (store, other.id, &batches, &count), 0);
    assert_int_equal (count, 0);
    store_batches_free (batches, count);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    char sql[128];
    snprintf (sql, sizeof sql, "SELECT wall_ms FROM batches WHERE id = %lld", (long long) b1);
    assert_int_equal (s_raw_int (db, sql), 12345);
    snprintf (sql, sizeof sql, "SELECT reported_ms FROM batches WHERE id = %lld", (long long) b2);
    assert_int_equal (s_raw_int (db, sql), 2100);
    sqlite3_close (db);
}

//  Everything committed before store_destroy is there after store_open.
static void
test_persistence_across_reopen (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    assert_int_equal (store_begin (store), 0);
    s_world (store, &world);
    const char *names[] = { "a", "b", "c" };
    double predicted[] = { 3, 2, 1 };
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, 3, NULL), 0);
    uint32_t units[] = { 2, 0 };
    int64_t batch = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          units, 2, 1500, &s_running, &batch), 0);
    assert_int_equal (store_attempt_save_reply (store, world.attempt_id, 1, "reply", 5), 0);
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a", 250,
                                           true, 0.3, 1600), 0);
    assert_int_equal (store_batch_report (store, batch, 260, 1, 1700, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_build_finish (store, world.build_id, 1800, "failed"), 0);
    assert_int_equal (store_commit (store), 0);
    store_destroy (&store);
    //  A clean close checkpoints everything into the database file.
    char wal[160];
    snprintf (wal, sizeof wal, "%s-wal", fx->path);
    assert_int_equal (access (wal, F_OK), -1);

    store = store_open (fx->path);
    assert_non_null (store);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "web", &suite), 0);
    assert_int_equal (suite, world.suite_id);
    store_build_t build;
    assert_int_equal (store_build_find (store, suite, "ci-1", &build), 0);
    assert_int_equal (build.id, world.build_id);
    assert_int_equal (build.finished_ms, 1800);
    assert_string_equal (build.result, "failed");
    store_build_clear (&build);

    char **loaded = NULL;
    double *times = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &count, NULL), 0);
    assert_int_equal (count, 3);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal (loaded[i], names[i]);
        assert_true (times[i] == predicted[i]);
        free (loaded[i]);
    }
    free (loaded);
    free (times);

    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    assert_int_equal (attempt.last_req, 1);
    assert_int_equal (attempt.last_reply_size, 5);
    assert_memory_equal (attempt.last_reply, "reply", 5);
    store_attempt_clear (&attempt);

    store_batch_t *batches = NULL;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 1);
    assert_int_equal (batches[0].id, batch);
    assert_true (batches[0].reported);
    assert_int_equal (batches[0].exit_code, 1);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[0].wall_ms, 260);
    assert_int_equal (batches[0].unit_count, 2);
    assert_int_equal (batches[0].unit_idx[0], 2);
    assert_int_equal (batches[0].unit_idx[1], 0);
    store_batches_free (batches, count);

    double estimate = 0;
    const char *one[] = { "a" };
    assert_int_equal (store_estimates (store, suite, one, 1, &estimate), 0);
    assert_float_equal (estimate, 250, 1e-9);
    store_destroy (&store);
}

//  Invariant 4 at the store's level: a process killed with SIGKILL right
//  after store_commit returned, with no store_destroy, loses nothing it
//  committed; what it had not committed yet is gone.
static void
test_commit_survives_kill (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    store_destroy (&store);

    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        //  No cmocka asserts in the child: any failure is exit code 1.
        store_t *child = store_open (fx->path);
        uint32_t units[] = { 2, 1 };
        int64_t batch = 0;
        if (!child
        ||  store_begin (child) != 0
        ||  store_batch_insert (child, world.build_id, 0, 1, world.attempt_id, units, 2,
                                10, &s_running, &batch) != 0
        ||  store_attempt_save_reply (child, world.attempt_id, 1, "r1", 2) != 0
        ||  store_commit (child) != 0
        ||  store_begin (child) != 0
        ||  store_batch_insert (child, world.build_id, 0, 2, world.attempt_id, units, 1,
                                20, &s_running, &batch) != 0
        ||  store_attempt_save_reply (child, world.attempt_id, 2, "r2", 2) != 0)
            _exit (1);
        raise (SIGKILL);
        _exit (2);
    }
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFSIGNALED (status));
    assert_int_equal (WTERMSIG (status), SIGKILL);

    store = store_open (fx->path);
    assert_non_null (store);
    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 1);
    assert_int_equal (batches[0].seq, 1);
    assert_int_equal (batches[0].unit_count, 2);
    assert_int_equal (batches[0].unit_idx[0], 2);
    assert_int_equal (batches[0].unit_idx[1], 1);
    store_batches_free (batches, count);
    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    assert_int_equal (attempt.last_req, 1);
    assert_int_equal (attempt.last_reply_size, 2);
    assert_memory_equal (attempt.last_reply, "r1", 2);
    store_attempt_clear (&attempt);
    store_destroy (&store);
}

static void
test_rollback_discards (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);

    assert_int_equal (store_begin (store), 0);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "discarded", &suite), 0);
    store_build_t build = { .suite_id = world.suite_id, .build_key = "ci-rolled",
                            .node_total = 1 };
    assert_int_equal (store_build_insert (store, &build), 0);
    uint32_t units[] = { 0, 1 };
    int64_t batch = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          units, 2, 1, &s_running, &batch), 0);
    assert_int_equal (store_attempt_save_reply (store, world.attempt_id, 9, "x", 1), 0);
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "t", 1,
                                           true, 0.3, 1), 0);
    store_rollback (store);

    store_build_t row;
    assert_int_equal (store_build_find (store, world.suite_id, "ci-rolled", &row), 1);
    store_batch_t *batches = NULL;
    size_t count = 99;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 0);
    store_batches_free (batches, count);
    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    assert_int_equal (attempt.last_req, 0);
    assert_null (attempt.last_reply);
    store_attempt_clear (&attempt);
    int64_t timings = -1, samples = -1;
    assert_int_equal (store_suite_counts (store, world.suite_id, &timings, &samples), 0);
    assert_int_equal (timings, 0);
    assert_int_equal (samples, 0);

    //  Rollback with no transaction, or twice, is harmless; the store goes on.
    store_rollback (store);
    assert_int_equal (store_commit (store), -1);
    assert_int_equal (store_begin (store), 0);
    assert_int_equal (store_begin (store), -1);      //  no nesting
    assert_int_equal (store_suite_ensure (store, "kept", &suite), 0);
    assert_int_equal (store_commit (store), 0);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM suites WHERE name = 'discarded'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM suites WHERE name = 'kept'"), 1);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM batch_units"), 0);
    sqlite3_close (db);
}

//  Invariant 4 in miniature: what is inside an open transaction is not in
//  the file for anyone else; after store_commit returns 0 it is.
static void
test_durable_after_commit_only (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    assert_int_equal (store_begin (store), 0);
    uint32_t units[] = { 0 };
    int64_t batch = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          units, 1, 1, &s_running, &batch), 0);
    assert_int_equal (s_other_count (fx->path, "batches"), 0);
    assert_int_equal (store_commit (store), 0);
    assert_int_equal (s_other_count (fx->path, "batches"), 1);
    assert_int_equal (s_other_count (fx->path, "batch_units"), 1);
    store_destroy (&store);
}

//  Without store_begin every call commits on its own, and leaves no
//  transaction open behind it (another writer can get in at once).
static void
test_autocommit_writes (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    const char *names[] = { "a", "b" };
    double predicted[] = { 1, 2 };
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, 2, NULL), 0);
    uint32_t units[] = { 1, 0 };
    int64_t batch = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          units, 2, 1, &s_running, &batch), 0);
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a", 3,
                                           true, 0.3, 1), 0);

    //  Visible to another connection while the store is still open.
    assert_int_equal (s_other_count (fx->path, "units"), 2);
    assert_int_equal (s_other_count (fx->path, "batch_units"), 2);
    assert_int_equal (s_other_count (fx->path, "timings"), 1);
    assert_int_equal (s_other_count (fx->path, "samples"), 1);

    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    store_destroy (&store);
}

//  Every path, failures included, resets its statement: otherwise a read
//  transaction stays open and no checkpoint can empty the WAL.
static void
test_no_statement_left_open (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    const char *names[] = { "a", "b" };
    double predicted[] = { 1, 2 }, estimate[2];
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, 2, NULL), 0);
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, 2, NULL), -1);
    assert_int_equal (store_record_sample (store, world.suite_id, world.build_id, "a", 3,
                                           true, 0.3, 1), 0);
    assert_int_equal (store_estimates (store, world.suite_id, names, 2, estimate), 0);
    store_build_t build;
    assert_int_equal (store_build_find (store, world.suite_id, "ci-1", &build), 0);
    store_build_clear (&build);
    assert_int_equal (store_build_find (store, world.suite_id, "nope", &build), 1);
    assert_int_equal (store_build_get (store, world.build_id, &build), 0);
    store_build_clear (&build);
    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    store_attempt_clear (&attempt);
    assert_int_equal (store_attempt_find (store, "nope", &attempt), 1);
    int64_t id = 0;
    assert_int_equal (store_attempt_insert (store, world.build_id, 0, "att-0", 1, false, false,
                                            NULL, &id), -1);
    uint32_t units[] = { 0 };
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, 12345, units, 1, 1,
                                          &s_running, &id), -1);
    char **loaded = NULL;
    double *times = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &count, NULL), 0);
    for (size_t i = 0; i < count; i++)
        free (loaded[i]);
    free (loaded);
    free (times);
    store_batch_t *batches = NULL;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    store_batches_free (batches, count);
    int64_t timings, samples;
    assert_int_equal (store_suite_counts (store, world.suite_id, &timings, &samples), 0);

    sqlite3 *db = s_raw_open (fx->path);
    //  A read first: a connection learns the file is in WAL mode on first use.
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM suites"), 1);
    int wal_frames = -1, done = -1;
    assert_int_equal (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                                 &wal_frames, &done), SQLITE_OK);
    assert_int_equal (wal_frames, 0);
    sqlite3_close (db);
    char wal[160];
    snprintf (wal, sizeof wal, "%s-wal", fx->path);
    struct stat st;
    assert_int_equal (stat (wal, &st), 0);
    assert_int_equal (st.st_size, 0);
    store_destroy (&store);
}

//  ---------------------------------------------------------------------
//  Schema version 2: migration from version 1, and what it added

//  A database at an old schema version, as that satcheld left it: the
//  first `version` migrations run by hand (they are that version's DDL,
//  word for word), then data.
static void
s_make_old (const char *path, int version, const char *data)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                       NULL), SQLITE_OK);
    assert_ptr_equal (s_migrations[0], s_schema_v1);
    assert_ptr_equal (s_migrations[1], s_schema_v2);
    char *error = NULL;
    for (int v = 0; v < version; v++)
        if (sqlite3_exec (db, s_migrations[v], NULL, NULL, &error) != SQLITE_OK)
            fail_msg ("v%d schema: %s", v + 1, error ? error : "?");
    if (sqlite3_exec (db, data, NULL, NULL, &error) != SQLITE_OK)
        fail_msg ("v%d data: %s", version, error ? error : "?");
    //  The statements of the current version are not for an old file.
    (void) s_sql;
    sqlite3_close (db);
}

//  A version 1 database as satcheld 0.1 left it: one build of three units,
//  one attempt with a stored reply, a batch it reported (id 5) and one
//  still running (id 9). The ids differ from the seqs on purpose, so that
//  "lease = id" cannot pass by accident.
static void
s_make_v1 (const char *path)
{
    const char *data =
        "INSERT INTO suites (id, name) VALUES (1, 'web');"
        "INSERT INTO builds (id, suite_id, build_key, node_total, mode, \"commit\", branch,"
        " digest, unit_count, created_ms) VALUES (1, 1, 'ci-1', 2, 'queue', 'abc', 'main',"
        " 'd1', 3, 1000);"
        "INSERT INTO units (build_id, idx, name, predicted_ms) VALUES"
        " (1, 0, 'a', 30), (1, 1, 'b', 20), (1, 2, 'c', 10);"
        "INSERT INTO attempts (id, build_id, node_index, attempt, started_ms, last_req,"
        " last_reply) VALUES (1, 1, 0, 'att-0', 1000, 2, x'01ff');"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms,"
        " reported_ms, wall_ms, exit_code) VALUES (5, 1, 0, 1, 1, 1100, 1500, 400, 1);"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms)"
        " VALUES (9, 1, 0, 2, 1, 1600);"
        "INSERT INTO batch_units (batch_id, pos, unit_idx) VALUES (5, 0, 2), (5, 1, 0), (9, 0, 1);"
        "PRAGMA user_version = 1;";
    s_make_old (path, 1, data);
}

static void
test_migrate_from_v1 (void **state)
{
    fixture_t *fx = *state;
    s_make_v1 (fx->path);
    store_t *store = store_open (fx->path);
    assert_non_null (store);

    //  The reported batch is done, the other one running; each one's id
    //  serves as its lease, and both are plain queue batches.
    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, 1, &batches, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (batches[0].id, 5);
    assert_int_equal (batches[0].seq, 1);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[0].lease, 5);
    assert_int_equal (batches[0].kind, PROTO_KIND_QUEUE);
    assert_int_equal (batches[0].origin, 0);
    assert_true (batches[0].reported);
    assert_int_equal (batches[0].exit_code, 1);
    assert_int_equal (batches[0].wall_ms, 400);
    assert_int_equal (batches[0].reported_ms, 1500);
    assert_int_equal (batches[0].created_ms, 1100);
    assert_int_equal (batches[0].unit_count, 2);
    assert_int_equal (batches[0].unit_idx[0], 2);
    assert_int_equal (batches[0].unit_idx[1], 0);
    assert_int_equal (batches[1].id, 9);
    assert_int_equal (batches[1].state, STORE_BATCH_RUNNING);
    assert_int_equal (batches[1].lease, 9);
    assert_int_equal (batches[1].kind, PROTO_KIND_QUEUE);
    assert_false (batches[1].reported);
    assert_int_equal (batches[1].wall_ms, 0);
    assert_int_equal (batches[1].reported_ms, 0);
    assert_int_equal (batches[1].unit_count, 1);
    store_batches_free (batches, count);

    //  Old rows get the new columns' defaults and keep what they had.
    store_build_t build;
    assert_int_equal (store_build_get (store, 1, &build), 0);
    assert_string_equal (build.build_key, "ci-1");
    assert_false (build.fail_fast);
    assert_string_equal (build.result, "");
    assert_int_equal (build.finished_ms, 0);
    store_build_clear (&build);
    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    assert_int_equal (attempt.last_req, 2);
    assert_int_equal (attempt.last_reply_size, 2);
    assert_memory_equal (attempt.last_reply, "\x01\xff", 2);
    assert_false (attempt.only_failed);
    assert_false (attempt.no_wait);
    assert_false (attempt.stopped);
    store_attempt_clear (&attempt);
    char **names = NULL;
    double *predicted = NULL;
    assert_int_equal (store_units_load (store, 1, &names, &predicted, &count, NULL), 0);
    assert_int_equal (count, 3);
    assert_string_equal (names[2], "c");
    for (size_t i = 0; i < count; i++)
        free (names[i]);
    free (names);
    free (predicted);

    //  And everything of version 2 works on it.
    assert_int_equal (store_batch_state (store, 9, STORE_BATCH_EXPIRED, 9), 0);
    assert_int_equal (store_node_summary (store, 1, 0, 2, 400, 100, 500), 0);
    assert_int_equal (store_build_finish (store, 1, 2000, "failed"), 0);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal (s_raw_int (db, "SELECT state FROM batches WHERE id = 9"),
                      STORE_BATCH_EXPIRED);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM build_nodes"), 1);
    sqlite3_close (db);

    //  Opened again: no second migration, nothing reset.
    store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_batches_load (store, 1, &batches, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[1].state, STORE_BATCH_EXPIRED);
    store_batches_free (batches, count);
    store_destroy (&store);
}

//  A migration that fails half-way leaves version 1 exactly as it was:
//  it runs in one transaction.
static void
test_migration_failure_leaves_v1 (void **state)
{
    fixture_t *fx = *state;
    s_make_v1 (fx->path);
    sqlite3 *db = s_raw_open (fx->path);
    //  A table that is in the way of the last step of the migration.
    assert_int_equal (sqlite3_exec (db, "CREATE TABLE build_nodes (x INTEGER)", NULL, NULL,
                                    NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_null (store_open (fx->path));

    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), 1);
    //  The ALTER TABLEs before the failing step were rolled back too.
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('batches')"
                                     " WHERE name = 'state'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('builds')"
                                     " WHERE name = 'result'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM batches"), 2);
    sqlite3_close (db);
}

//  Every field of a version 2 batch round-trips through store_batches_load.
static void
test_batch_fields_roundtrip (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);

    uint32_t queue_units[] = { 2, 0 };
    uint32_t replay_units[] = { 2 };
    uint32_t retry_units[] = { 1 };
    store_batch_meta_t queue = {
        .state = STORE_BATCH_RUNNING, .lease = 3, .kind = PROTO_KIND_QUEUE, .origin = 0
    };
    store_batch_meta_t replay = {
        .state = STORE_BATCH_PLANNED, .lease = 0, .kind = PROTO_KIND_REPLAY, .origin = 1
    };
    store_batch_meta_t retry = {
        .state = STORE_BATCH_RUNNING, .lease = UINT64_C (1) << 53, .kind = PROTO_KIND_RETRY,
        .origin = 0
    };
    int64_t b1 = 0, b2 = 0, b3 = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          queue_units, 2, 1100, &queue, &b1), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 2, world.attempt_id,
                                          replay_units, 1, 1200, &replay, &b2), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 1, 1, world.attempt_id,
                                          retry_units, 1, 1300, &retry, &b3), 0);
    //  The holder's report makes b1 done; a fenced report of b3 keeps
    //  the state it is given, and still records the history.
    assert_int_equal (store_batch_report (store, b1, 777, 0, 2000, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_batch_report (store, b3, 55, -9, 2100, STORE_BATCH_EXPIRED, -1, 1), 0);

    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 3);
    assert_int_equal (batches[0].id, b1);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[0].lease, 3);
    assert_int_equal (batches[0].kind, PROTO_KIND_QUEUE);
    assert_int_equal (batches[0].origin, 0);
    assert_true (batches[0].reported);
    assert_int_equal (batches[0].exit_code, 0);
    assert_int_equal (batches[0].wall_ms, 777);
    assert_int_equal (batches[0].reported_ms, 2000);
    assert_int_equal (batches[0].created_ms, 1100);

    assert_int_equal (batches[1].id, b2);
    assert_int_equal (batches[1].seq, 2);
    assert_int_equal (batches[1].state, STORE_BATCH_PLANNED);
    assert_int_equal (batches[1].lease, 0);
    assert_int_equal (batches[1].kind, PROTO_KIND_REPLAY);
    assert_int_equal (batches[1].origin, 1);
    assert_false (batches[1].reported);
    assert_int_equal (batches[1].wall_ms, 0);
    assert_int_equal (batches[1].reported_ms, 0);
    assert_int_equal (batches[1].created_ms, 1200);
    assert_int_equal (batches[1].unit_count, 1);
    assert_int_equal (batches[1].unit_idx[0], 2);

    assert_int_equal (batches[2].id, b3);
    assert_int_equal (batches[2].node_index, 1);
    assert_int_equal (batches[2].state, STORE_BATCH_EXPIRED);
    assert_true (batches[2].lease == UINT64_C (1) << 53);
    assert_int_equal (batches[2].kind, PROTO_KIND_RETRY);
    assert_true (batches[2].reported);
    assert_int_equal (batches[2].exit_code, -9);
    assert_int_equal (batches[2].wall_ms, 55);
    assert_int_equal (batches[2].reported_ms, 2100);
    store_batches_free (batches, count);
    store_destroy (&store);
}

static void
test_batch_state (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    uint32_t units[] = { 0, 1 };
    store_batch_meta_t planned = {
        .state = STORE_BATCH_PLANNED, .lease = 0, .kind = PROTO_KIND_REPLAY, .origin = 1
    };
    int64_t b1 = 0, b2 = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id,
                                          units, 2, 1000, &s_running, &b1), 0);
    assert_int_equal (store_batch_report (store, b1, 300, 0, 1300, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 2, world.attempt_id,
                                          units, 2, 1400, &planned, &b2), 0);

    //  A planned replay handed out: running, with its fresh lease.
    assert_int_equal (store_batch_state (store, b2, STORE_BATCH_RUNNING, 42), 0);
    //  Superseding a done batch changes its state and nothing of its report.
    assert_int_equal (store_batch_state (store, b1, STORE_BATCH_SUPERSEDED, 1), 0);
    //  No such batch: an error, not a silent no-op.
    assert_int_equal (store_batch_state (store, b2 + 100, STORE_BATCH_EXPIRED, 1), -1);
    assert_int_equal (store_batch_report (store, b2 + 100, 1, 0, 1, STORE_BATCH_DONE, -1, 1), -1);

    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (batches[0].state, STORE_BATCH_SUPERSEDED);
    assert_int_equal (batches[0].lease, 1);
    assert_true (batches[0].reported);
    assert_int_equal (batches[0].wall_ms, 300);
    assert_int_equal (batches[0].reported_ms, 1300);
    assert_int_equal (batches[1].state, STORE_BATCH_RUNNING);
    assert_int_equal (batches[1].lease, 42);
    assert_int_equal (batches[1].kind, PROTO_KIND_REPLAY);
    assert_int_equal (batches[1].origin, 1);
    assert_false (batches[1].reported);
    store_batches_free (batches, count);
    store_destroy (&store);
}

static void
test_attempt_options_and_stop (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    int64_t failed_only = 0, no_wait = 0;
    assert_int_equal (store_attempt_insert (store, world.build_id, 1, "att-of", 2000, true,
                                            false, NULL, &failed_only), 0);
    assert_int_equal (store_attempt_insert (store, world.build_id, 1, "att-nw", 3000, false,
                                            true, NULL, &no_wait), 0);

    store_attempt_t row;
    assert_int_equal (store_attempt_find (store, "att-of", &row), 0);
    assert_int_equal (row.id, failed_only);
    assert_true (row.only_failed);
    assert_false (row.no_wait);
    assert_false (row.stopped);
    store_attempt_clear (&row);
    assert_int_equal (store_attempt_find (store, "att-nw", &row), 0);
    assert_false (row.only_failed);
    assert_true (row.no_wait);
    assert_false (row.stopped);
    store_attempt_clear (&row);

    assert_int_equal (store_attempt_stop (store, failed_only), 0);
    //  Stopping again matches the row again: still fine.
    assert_int_equal (store_attempt_stop (store, failed_only), 0);
    assert_int_equal (store_attempt_stop (store, no_wait + 100), -1);
    assert_int_equal (store_attempt_find (store, "att-of", &row), 0);
    assert_true (row.stopped);
    assert_true (row.only_failed);          //  untouched
    store_attempt_clear (&row);
    //  Only that attempt.
    assert_int_equal (store_attempt_find (store, "att-nw", &row), 0);
    assert_false (row.stopped);
    store_attempt_clear (&row);
    assert_int_equal (store_attempt_find (store, "att-0", &row), 0);
    assert_false (row.stopped);
    store_attempt_clear (&row);
    store_destroy (&store);
}

static void
test_node_summary (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    assert_int_equal (store_node_summary (store, world.build_id, 0, 5, 1200, 300, 1500), 0);
    assert_int_equal (store_node_summary (store, world.build_id, 1, 0, 0, 1500, 0), 0);
    //  Written again (a build finished twice after a lost commit): replaced.
    assert_int_equal (store_node_summary (store, world.build_id, 0, 6, 1300, 200, 1500), 0);
    //  No such build: the foreign key refuses it.
    assert_int_equal (store_node_summary (store, world.build_id + 100, 0, 1, 1, 1, 1), -1);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM build_nodes"), 2);
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT units * 1000000000 + busy_ms * 100000 + idle_ms * 10"
              " FROM build_nodes WHERE build_id = %lld AND node_index = 0",
              (long long) world.build_id);
    assert_int_equal (s_raw_int (db, sql), 6 * INT64_C (1000000000) + 1300 * 100000 + 200 * 10);
    snprintf (sql, sizeof sql, "SELECT finish_ms FROM build_nodes"
              " WHERE build_id = %lld AND node_index = 0", (long long) world.build_id);
    assert_int_equal (s_raw_int (db, sql), 1500);
    snprintf (sql, sizeof sql, "SELECT idle_ms FROM build_nodes"
              " WHERE build_id = %lld AND node_index = 1", (long long) world.build_id);
    assert_int_equal (s_raw_int (db, sql), 1500);
    sqlite3_close (db);
}

//  ---------------------------------------------------------------------
//  Schema version 3: regular mode's split

//  A build row of the suite, for store_split_find; returns its id.
static int64_t
s_build (store_t *store, int64_t suite_id, const char *key, const char *mode,
         const char *commit, const char *branch, uint32_t node_total, const char *digest)
{
    store_build_t row = {
        .suite_id = suite_id, .build_key = (char *) key, .node_total = node_total,
        .mode = (char *) mode, .commit = (char *) commit, .branch = (char *) branch,
        .digest = (char *) digest, .unit_count = 0, .created_ms = 1000
    };
    assert_int_equal (store_build_insert (store, &row), 0);
    assert_true (row.id > 0);
    return row.id;
}

//  The split a new build reuses is the earliest regular build of the same
//  suite, commit, branch, node total and digest; anything that differs in
//  one of them, a queue build, and the build itself do not count.
static void
test_split_find (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t web = 0, api = 0;
    assert_int_equal (store_suite_ensure (store, "web", &web), 0);
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    int64_t found = -7;
    //  Nothing yet.
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", 0, &found), 1);
    assert_int_equal (found, -7);

    //  Near misses, each different in one way, written first so that they
    //  have the lowest ids.
    s_build (store, web, "queue", "queue", "abc", "main", 4, "d1");
    s_build (store, web, "branch", "regular", "abc", "feature", 4, "d1");
    s_build (store, web, "total", "regular", "abc", "main", 3, "d1");
    s_build (store, web, "digest", "regular", "abc", "main", 4, "d2");
    s_build (store, web, "commit", "regular", "abd", "main", 4, "d1");
    s_build (store, api, "suite", "regular", "abc", "main", 4, "d1");
    s_build (store, web, "upper", "Regular", "abc", "main", 4, "d1");
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", 0, &found), 1);

    //  Two that match: the earliest wins, whichever is asked for first.
    int64_t first = s_build (store, web, "first", "regular", "abc", "main", 4, "d1");
    int64_t second = s_build (store, web, "second", "regular", "abc", "main", 4, "d1");
    assert_true (second > first);
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", 0, &found), 0);
    assert_int_equal (found, first);
    //  The build itself is not its own source: excluding the earliest
    //  gives the next; excluding the later one still gives the earliest.
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", first, &found), 0);
    assert_int_equal (found, second);
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", second, &found), 0);
    assert_int_equal (found, first);

    //  Each near miss is found by its own key, so the misses above were
    //  for the one field that differed.
    assert_int_equal (store_split_find (store, web, "abc", "feature", 4, "d1", 0, &found), 0);
    assert_int_equal (store_split_find (store, web, "abc", "main", 3, "d1", 0, &found), 0);
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d2", 0, &found), 0);
    assert_int_equal (store_split_find (store, web, "abd", "main", 4, "d1", 0, &found), 0);
    assert_int_equal (store_split_find (store, api, "abc", "main", 4, "d1", 0, &found), 0);
    //  ...and the queue build's key finds only the regular ones.
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", 0, &found), 0);
    assert_int_equal (found, first);

    //  Empty commit and branch (a CI without them) match each other, and
    //  NULL reads as "".
    int64_t bare = s_build (store, web, "bare", "regular", "", "", 2, "d9");
    assert_int_equal (store_split_find (store, web, NULL, NULL, 2, "d9", 0, &found), 0);
    assert_int_equal (found, bare);
    assert_int_equal (store_split_find (store, web, "", "", 2, "d9", bare, &found), 1);

    //  A finished build's split is still reused.
    assert_int_equal (store_build_finish (store, first, 5000, "passed"), 0);
    assert_int_equal (store_split_find (store, web, "abc", "main", 4, "d1", 0, &found), 0);
    assert_int_equal (found, first);
    store_destroy (&store);
}

//  A unit's split node round-trips; STORE_NO_NODE is stored as -1, and a
//  list written without a split loads as all STORE_NO_NODE.
static void
test_units_split_roundtrip (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    const char *names[] = { "a", "b", "c", "d", "e" };
    double predicted[] = { 50, 40, 30, 20, 10 };
    uint32_t split[] = { 1, 0, STORE_NO_NODE, 4095, 0 };
    assert_int_equal (store_units_insert (store, world.build_id, names, predicted, 5, split), 0);

    char **loaded = NULL;
    double *times = NULL;
    uint32_t *nodes = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &count, &nodes),
                      0);
    assert_int_equal (count, 5);
    assert_non_null (nodes);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal (loaded[i], names[i]);
        assert_true (times[i] == predicted[i]);
        assert_int_equal (nodes[i], split[i]);
        free (loaded[i]);
    }
    free (loaded);
    free (times);
    free (nodes);

    //  Without a split: every unit -1 in the file, STORE_NO_NODE loaded.
    store_build_t other = { .suite_id = world.suite_id, .build_key = "q", .node_total = 2,
                            .mode = "queue" };
    assert_int_equal (store_build_insert (store, &other), 0);
    assert_int_equal (store_units_insert (store, other.id, names, predicted, 5, NULL), 0);
    assert_int_equal (store_units_load (store, other.id, &loaded, &times, &count, &nodes), 0);
    assert_int_equal (count, 5);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (nodes[i], STORE_NO_NODE);
        free (loaded[i]);
    }
    free (loaded);
    free (times);
    free (nodes);

    //  No units: no array either.
    store_build_t empty = { .suite_id = world.suite_id, .build_key = "none", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &empty), 0);
    nodes = (uint32_t *) &nodes;
    assert_int_equal (store_units_load (store, empty.id, &loaded, &times, &count, &nodes), 0);
    assert_int_equal (count, 0);
    assert_null (nodes);
    free (loaded);
    free (times);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT group_concat (split_node, ',') FROM"
              " (SELECT split_node FROM units WHERE build_id = %lld ORDER BY idx)",
              (long long) world.build_id);
    char text[64];
    s_raw_text (db, sql, text, sizeof text);
    assert_string_equal (text, "1,0,-1,4095,0");
    snprintf (sql, sizeof sql, "SELECT count(*) FROM units WHERE build_id = %lld"
              " AND split_node = -1", (long long) other.id);
    assert_int_equal (s_raw_int (db, sql), 5);
    //  Values no node can have (a damaged file) load as no node, not as a
    //  node number cut to 32 bits.
    snprintf (sql, sizeof sql, "UPDATE units SET split_node = CASE idx WHEN 0 THEN -5"
              " WHEN 1 THEN 4294967296 + 3 WHEN 2 THEN 4294967295 ELSE split_node END"
              " WHERE build_id = %lld", (long long) world.build_id);
    assert_int_equal (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_units_load (store, world.build_id, &loaded, &times, &count, &nodes),
                      0);
    assert_int_equal (count, 5);
    uint32_t expected[] = { STORE_NO_NODE, STORE_NO_NODE, STORE_NO_NODE, 4095, 0 };
    assert_memory_equal (nodes, expected, sizeof expected);
    for (size_t i = 0; i < count; i++)
        free (loaded[i]);
    free (loaded);
    free (times);
    free (nodes);
    store_destroy (&store);
}

//  A version 2 database as satcheld 0.2 left it: the version 1 and 2 DDL
//  run by hand, one queue build of three units, an attempt, a done batch
//  and a running one.
static void
s_make_v2 (const char *path)
{
    const char *data =
        "INSERT INTO suites (id, name) VALUES (1, 'web');"
        "INSERT INTO builds (id, suite_id, build_key, node_total, mode, \"commit\", branch,"
        " digest, unit_count, created_ms, fail_fast) VALUES (1, 1, 'ci-1', 2, 'queue', 'abc',"
        " 'main', 'd1', 3, 1000, 1);"
        "INSERT INTO units (build_id, idx, name, predicted_ms) VALUES"
        " (1, 0, 'a', 30), (1, 1, 'b', 20), (1, 2, 'c', 10);"
        "INSERT INTO attempts (id, build_id, node_index, attempt, started_ms, last_req,"
        " no_wait) VALUES (1, 1, 0, 'att-0', 1000, 2, 1);"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms,"
        " reported_ms, wall_ms, exit_code, state, lease, kind) VALUES"
        " (5, 1, 0, 1, 1, 1100, 1500, 400, 0, 1, 3, 0);"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms,"
        " state, lease, kind) VALUES (9, 1, 0, 2, 1, 1600, 0, 4, 0);"
        "INSERT INTO batch_units (batch_id, pos, unit_idx) VALUES (5, 0, 2), (5, 1, 0), (9, 0, 1);"
        "PRAGMA user_version = 2;";
    s_make_old (path, 2, data);
}

//  Version 2 to 3: units get split_node -1 (queue units), the index for
//  finding a split exists, and the rest is as it was.
static void
test_migrate_from_v2 (void **state)
{
    fixture_t *fx = *state;
    s_make_v2 (fx->path);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('units')"
                                     " WHERE name = 'split_node'"), 0);
    sqlite3_close (db);

    store_t *store = store_open (fx->path);
    assert_non_null (store);
    char **names = NULL;
    double *predicted = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, 1, &names, &predicted, &count, &split), 0);
    assert_int_equal (count, 3);
    const char *expected[] = { "a", "b", "c" };
    for (size_t i = 0; i < count; i++) {
        assert_string_equal (names[i], expected[i]);
        assert_true (predicted[i] == 30.0 - 10.0 * (double) i);
        assert_int_equal (split[i], STORE_NO_NODE);
        free (names[i]);
    }
    free (names);
    free (predicted);
    free (split);
    //  Version 2 data kept as it was.
    store_batch_t *batches = NULL;
    assert_int_equal (store_batches_load (store, 1, &batches, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[0].lease, 3);
    assert_int_equal (batches[1].state, STORE_BATCH_RUNNING);
    assert_int_equal (batches[1].lease, 4);
    store_batches_free (batches, count);
    store_build_t build;
    assert_int_equal (store_build_get (store, 1, &build), 0);
    assert_true (build.fail_fast);
    assert_string_equal (build.mode, "queue");
    store_build_clear (&build);
    store_attempt_t attempt;
    assert_int_equal (store_attempt_find (store, "att-0", &attempt), 0);
    assert_true (attempt.no_wait);
    store_attempt_clear (&attempt);

    //  The old queue build is no split to reuse; a regular build written
    //  now is, with its split.
    int64_t found = 0;
    assert_int_equal (store_split_find (store, 1, "abc", "main", 2, "d1", 0, &found), 1);
    int64_t regular = s_build (store, 1, "ci-2", "regular", "abc", "main", 2, "d1");
    const char *units[] = { "a", "b", "c" };
    double ms[] = { 30, 20, 10 };
    uint32_t nodes[] = { 0, 1, 1 };
    assert_int_equal (store_units_insert (store, regular, units, ms, 3, nodes), 0);
    assert_int_equal (store_split_find (store, 1, "abc", "main", 2, "d1", 0, &found), 0);
    assert_int_equal (found, regular);
    store_destroy (&store);

    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM units WHERE build_id = 1"
                                     " AND split_node = -1"), 3);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                     " AND name = 'builds_by_commit' AND tbl_name = 'builds'"), 1);
    char columns[64];
    s_raw_text (db, "SELECT group_concat (name, ',') FROM"
                    " (SELECT name FROM pragma_index_info('builds_by_commit') ORDER BY seqno)",
                columns, sizeof columns);
    assert_string_equal (columns, "suite_id,commit,node_total");
    //  The column is NOT NULL with its default: a row written without it
    //  (as version 2 code would) is a queue unit.
    assert_int_equal (sqlite3_exec (db, "INSERT INTO units (build_id, idx, name, predicted_ms)"
                                        " VALUES (1, 3, 'd', 5)", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal (s_raw_int (db, "SELECT split_node FROM units WHERE build_id = 1"
                                     " AND idx = 3"), -1);
    sqlite3_close (db);

    //  Opened again: no second migration.
    store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    sqlite3_close (db);
}

//  A fresh database has what version 3 added too.
static void
test_schema_v3_fresh (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('units')"
                                     " WHERE name = 'split_node' AND \"notnull\" = 1"
                                     " AND dflt_value = '-1'"), 1);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_index_info('builds_by_commit')"),
                      3);
    sqlite3_close (db);
}

//  A version 3 migration that fails leaves version 2 as it was.
static void
test_migration_failure_leaves_v2 (void **state)
{
    fixture_t *fx = *state;
    s_make_v2 (fx->path);
    sqlite3 *db = s_raw_open (fx->path);
    //  An index by the new one's name is in the way of its step.
    assert_int_equal (sqlite3_exec (db, "CREATE INDEX builds_by_commit ON units (name)", NULL,
                                    NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_null (store_open (fx->path));
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('units')"
                                     " WHERE name = 'split_node'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM units"), 3);
    sqlite3_close (db);
}

//  ---------------------------------------------------------------------
//  Schema version 4: timings from test reports and split files

#define S_WEEK_MS INT64_C (604800000)

//  A sample of an example keeps its file; a file split into examples is
//  estimated at least at the sum of its examples seen within a week of
//  the latest of them.
static void
test_example_samples_and_sums (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    int64_t suite = world.suite_id, build = world.build_id;
    const char *names[] = { "f_spec.rb", "f_spec.rb:1", "f_spec.rb:2", "g_spec.rb", "h_spec.rb" };
    double estimate[5];

    //  Files only: nothing of the examples rule applies.
    assert_int_equal (store_record_sample (store, suite, build, "f_spec.rb", 100, true, 0.5,
                                           1000), 0);
    assert_int_equal (store_estimates (store, suite, names, 5, estimate), 0);
    assert_true (estimate[0] == 100);
    assert_true (estimate[1] == -1 && estimate[2] == -1 && estimate[3] == -1);

    //  Two examples summing below the file's own time: the file's stands.
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:1", "f_spec.rb",
                                              30, true, 0.5, 2000), 0);
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:2", "f_spec.rb",
                                              40, false, 0.5, 2000), 0);
    assert_int_equal (store_estimates (store, suite, names, 5, estimate), 0);
    assert_true (estimate[0] == 100);
    assert_true (estimate[1] == 30);
    assert_true (estimate[2] == 40);
    assert_true (estimate[3] == -1);

    //  An example grows (30 + 0.5 * (130 - 30) = 80): 80 + 40 = 120 > 100.
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:1", "f_spec.rb",
                                              130, true, 0.5, 3000), 0);
    assert_int_equal (store_estimates (store, suite, names, 5, estimate), 0);
    assert_true (estimate[0] == 120);
    assert_true (estimate[1] == 80);
    //  Only the first name asked about, too.
    assert_int_equal (store_estimates (store, suite, names, 1, estimate), 0);
    assert_true (estimate[0] == 120);

    //  A file with no history of its own is the sum of its examples.
    assert_int_equal (store_record_sample_of (store, suite, build, "g_spec.rb[1]", "g_spec.rb",
                                              7, true, 0.5, 3000), 0);
    assert_int_equal (store_estimates (store, suite, names, 5, estimate), 0);
    assert_true (estimate[3] == 7);
    assert_true (estimate[4] == -1);

    //  A sample of the example without its file (NULL) keeps the file.
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:2", NULL, 40, true,
                                              0.5, 4000), 0);
    assert_int_equal (store_estimates (store, suite, names, 1, estimate), 0);
    assert_true (estimate[0] == 120);

    //  Exactly a week after the latest of the others, all still count...
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:3", "f_spec.rb",
                                              1, true, 0.5, 3000 + S_WEEK_MS), 0);
    assert_int_equal (store_estimates (store, suite, names, 1, estimate), 0);
    //  f:1 (80, at 3000) and f:2 (40, at 4000) are within a week of 3000 + a week.
    assert_true (estimate[0] == 121);
    //  ...one ms more and f:1 (last seen at 3000) is gone: 40 + 1 < 100.
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:3", "f_spec.rb",
                                              1, true, 0.5, 3001 + S_WEEK_MS), 0);
    assert_int_equal (store_estimates (store, suite, names, 1, estimate), 0);
    assert_true (estimate[0] == 100);
    //  A big new example raises it again: 40 + 1 + 200.
    assert_int_equal (store_record_sample_of (store, suite, build, "f_spec.rb:4", "f_spec.rb",
                                              200, true, 0.5, 3001 + S_WEEK_MS), 0);
    assert_int_equal (store_estimates (store, suite, names, 1, estimate), 0);
    assert_true (estimate[0] == 241);

    //  Another suite's examples of a file by the same name do not count.
    int64_t api = 0;
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    assert_int_equal (store_estimates (store, api, names, 1, estimate), 0);
    assert_true (estimate[0] == -1);
    assert_int_equal (store_record_sample (store, api, 0, "f_spec.rb", 5, true, 0.5, 1), 0);
    assert_int_equal (store_estimates (store, api, names, 1, estimate), 0);
    assert_true (estimate[0] == 5);
    store_destroy (&store);

    //  What is in the file: the parent on the timings, every sample kept.
    sqlite3 *db = s_raw_open (fx->path);
    char text[128];
    s_raw_text (db, "SELECT group_concat (name || '=' || coalesce (parent, '-'), ',') FROM"
                    " (SELECT name, parent FROM timings WHERE suite_id = 1 ORDER BY name)",
                text, sizeof text);
    assert_string_equal (text, "f_spec.rb=-,f_spec.rb:1=f_spec.rb,f_spec.rb:2=f_spec.rb,"
                               "f_spec.rb:3=f_spec.rb,f_spec.rb:4=f_spec.rb,"
                               "g_spec.rb[1]=g_spec.rb");
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM samples WHERE suite_id = 1"), 9);
    assert_int_equal (s_raw_int (db, "SELECT ok FROM samples WHERE name = 'f_spec.rb:2'"
                                     " ORDER BY id LIMIT 1"), 0);
    assert_int_equal (s_raw_int (db, "SELECT samples FROM timings WHERE name = 'f_spec.rb:3'"),
                      2);
    sqlite3_close (db);
}

//  The median of the suite's files' estimates; examples are not files.
static void
test_suite_median (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    int64_t suite = world.suite_id;
    double median = 0;
    assert_int_equal (store_suite_median (store, suite, &median), 0);
    assert_true (median == -1);
    //  Examples alone: still no file.
    assert_int_equal (store_record_sample_of (store, suite, 0, "a.rb:1", "a.rb", 5, true, 0.3,
                                              1), 0);
    assert_int_equal (store_suite_median (store, suite, &median), 0);
    assert_true (median == -1);

    const struct { const char *name; double ms; double median; } steps[] = {
        { "a.rb", 40, 40 },             //  one: itself
        { "b.rb", 10, 25 },             //  two: the mean of both
        { "c.rb", 1000, 40 },           //  three: the middle one
        { "d.rb", 20, 30 },             //  10 20 40 1000: (20 + 40) / 2
        { "e.rb", 0.5, 20 },            //  0.5 10 20 40 1000
    };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        assert_int_equal (store_record_sample (store, suite, 0, steps[s].name, steps[s].ms, true,
                                               0.3, 2), 0);
        assert_int_equal (store_suite_median (store, suite, &median), 0);
        if (median != steps[s].median)
            fail_msg ("after %s: median %g, expected %g", steps[s].name, median,
                      steps[s].median);
    }
    //  Many examples, all long, move nothing.
    for (int e = 0; e < 10; e++) {
        char name[32];
        snprintf (name, sizeof name, "c.rb:%d", e);
        assert_int_equal (store_record_sample_of (store, suite, 0, name, "c.rb", 5000, true, 0.3,
                                                  3), 0);
    }
    assert_int_equal (store_suite_median (store, suite, &median), 0);
    assert_true (median == 20);
    //  Another suite has its own.
    int64_t other = 0;
    assert_int_equal (store_suite_ensure (store, "api", &other), 0);
    assert_int_equal (store_suite_median (store, other, &median), 0);
    assert_true (median == -1);
    assert_int_equal (store_suite_median (store, other + 7, &median), 0);
    assert_true (median == -1);
    store_destroy (&store);
}

//  The runner's start-up cost: none, then the first sample as is, then
//  smoothed.
static void
test_suite_startup (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t web = 0, api = 0, samples = -5;
    assert_int_equal (store_suite_ensure (store, "web", &web), 0);
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    double startup = 0;
    assert_int_equal (store_suite_startup (store, web, &startup, &samples), 0);
    assert_true (startup == -1);
    assert_int_equal (samples, 0);

    assert_int_equal (store_learn_startup (store, web, 800, 0.25), 0);
    assert_int_equal (store_suite_startup (store, web, &startup, &samples), 0);
    assert_true (startup == 800);
    assert_int_equal (samples, 1);
    //  800 + 0.25 * (1200 - 800) = 900
    assert_int_equal (store_learn_startup (store, web, 1200, 0.25), 0);
    assert_int_equal (store_suite_startup (store, web, &startup, &samples), 0);
    assert_true (startup == 900);
    assert_int_equal (samples, 2);
    //  900 + 0.5 * (0 - 900) = 450
    assert_int_equal (store_learn_startup (store, web, 0, 0.5), 0);
    assert_int_equal (store_suite_startup (store, web, &startup, &samples), 0);
    assert_true (startup == 450);
    assert_int_equal (samples, 3);

    //  The other suite learned nothing.
    assert_int_equal (store_suite_startup (store, api, &startup, &samples), 0);
    assert_true (startup == -1);
    assert_int_equal (samples, 0);
    //  A suite that does not exist: nothing known, and nothing to learn.
    assert_int_equal (store_suite_startup (store, api + 10, &startup, &samples), 0);
    assert_true (startup == -1);
    assert_int_equal (samples, 0);
    assert_int_equal (store_learn_startup (store, api + 10, 5, 0.5), -1);
    store_destroy (&store);

    //  It lasts.
    store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_suite_startup (store, web, &startup, &samples), 0);
    assert_true (startup == 450);
    assert_int_equal (samples, 3);
    store_destroy (&store);
}

//  A build of split files: which examples each unit belongs to.
static int64_t
s_split_build (store_t *store, int64_t suite_id, const char *key)
{
    //  f is split into f:1, f:2; g into g:1, g:2; h stays whole.
    const char *names[] = { "f:1", "f:2", "g:1", "g:2", "h" };
    double predicted[] = { 1, 1, 1, 1, 1 };
    char *parents[] = { "f", "f", "g", "g", NULL };
    store_build_t row = {
        .suite_id = suite_id, .build_key = (char *) key, .node_total = 2, .mode = "queue",
        .commit = "c", .branch = "b", .digest = "d", .unit_count = 5, .created_ms = 1,
        .known = 1, .examples = 4
    };
    assert_int_equal (store_build_insert (store, &row), 0);
    assert_int_equal (store_units_insert (store, row.id, names, predicted, 5, NULL), 0);
    assert_int_equal (store_units_parents_set (store, row.id, parents, 5), 0);
    return row.id;
}

//  A unit's own smoothed estimate, as another connection reads it.
static double
s_own_estimate (const char *path, int64_t suite_id, const char *name)
{
    sqlite3 *db = s_raw_open (path);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT estimate_ms FROM timings"
                                              " WHERE suite_id = ?1 AND name = ?2", -1, &stmt,
                                          NULL), SQLITE_OK);
    sqlite3_bind_int64 (stmt, 1, suite_id);
    sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
    double value = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_double (stmt, 0) : -1;
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}

//  A machine's pace per suite: the first build's taken as is, then
//  smoothed, with its spread beyond the units' noise; it lasts.
static void
test_machine_pace (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t web = 0, api = 0;
    assert_int_equal (store_suite_ensure (store, "web", &web), 0);
    assert_int_equal (store_suite_ensure (store, "api", &api), 0);
    store_machine_t row;
    assert_int_equal (store_machine_pace (store, web, "ci-7", &row), 0);
    assert_true (row.pace == -1);
    //  The first build: taken as is, samples up to the cap, the first spread.
    assert_int_equal (store_learn_machine (store, web, "ci-7", 1.5, 40, 0.03, 0.25, 25, 0.1, 1000),
                      0);
    assert_int_equal (store_machine_pace (store, web, "ci-7", &row), 0);
    assert_float_equal (row.pace, 1.5, 1e-12);
    assert_float_equal (row.samples, 25, 1e-12);
    assert_float_equal (row.spread, 0.1, 1e-12);
    assert_int_equal (row.builds, 1);
    //  A build at 1.2: it strayed 20% from 1.5, 17% more than noise 0.03
    //  explains: spread 0.1 + 0.25 (0.17 - 0.1) = 0.1175; then pace 1.5 +
    //  0.25 (1.2 - 1.5) = 1.425.
    assert_int_equal (store_learn_machine (store, web, "ci-7", 1.2, 10, 0.03, 0.25, 25, 0.1, 2000),
                      0);
    assert_int_equal (store_machine_pace (store, web, "ci-7", &row), 0);
    assert_float_equal (row.spread, 0.1175, 1e-12);
    assert_float_equal (row.pace, 1.425, 1e-12);
    assert_float_equal (row.samples, 25, 1e-12);
    assert_int_equal (row.builds, 2);
    //  A build within its noise: the spread shrinks by alpha.
    assert_int_equal (store_learn_machine (store, web, "ci-7", 1.45, 10, 0.05, 0.25, 25, 0.1,
                                           3000), 0);
    assert_int_equal (store_machine_pace (store, web, "ci-7", &row), 0);
    assert_float_equal (row.spread, 0.1175 * 0.75, 1e-12);
    //  Per suite and per machine.
    assert_int_equal (store_machine_pace (store, api, "ci-7", &row), 0);
    assert_true (row.pace == -1);
    assert_int_equal (store_machine_pace (store, web, "ci-8", &row), 0);
    assert_true (row.pace == -1);
    //  A suite that does not exist learns nothing.
    assert_int_equal (store_learn_machine (store, api + 10, "ci-7", 1, 1, 0, 0.25, 25, 0.1, 1),
                      -1);
    store_destroy (&store);
    //  It lasts.
    store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_machine_pace (store, web, "ci-7", &row), 0);
    assert_float_equal (row.pace, 1.425 + 0.25 * (1.45 - 1.425), 1e-12);
    assert_int_equal (row.builds, 3);
    store_destroy (&store);
}

//  The fixture's store, opened, with the suite "web" in it (*suite).
static store_t *
s_web_store (fixture_t *fx, int64_t *suite)
{
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_suite_ensure (store, "web", suite), 0);
    return store;
}

//  A sample on a machine of pace p keeps its measured time and p; the
//  estimate learns time / p (the median machine's). A split file's sample
//  from its examples does the same: its measured sum, and the pace that
//  makes its estimate the sum of its examples' median-machine times.
static void
test_paced_samples (void **state)
{
    fixture_t *fx = *state;
    int64_t suite = 0;
    store_t *store = s_web_store (fx, &suite);
    int64_t build = s_split_build (store, suite, "b1");
    //  f:1 on a machine twice the median's pace, f:2 on a median one.
    assert_int_equal (store_record_sample_paced (store, suite, build, "f:1", "f", 60, 2.0, true,
                                                 0.5, 1000), 0);
    assert_int_equal (store_record_sample_paced (store, suite, build, "f:2", "f", 12, 1.0, true,
                                                 0.5, 1000), 0);
    assert_int_equal (store_record_sample_paced (store, suite, build, "h", NULL, 90, 1.5, true,
                                                 0.5, 1000), 0);
    size_t recorded = 0;
    assert_int_equal (store_file_sums (store, build, suite, 0.5, 2000, &recorded), 0);
    assert_int_equal (recorded, 1);
    assert_true (s_own_estimate (fx->path, suite, "f:1") == 30);
    assert_true (s_own_estimate (fx->path, suite, "h") == 60);
    //  f: measured 60 + 12, on the median machine 30 + 12.
    assert_true (s_own_estimate (fx->path, suite, "f") == 42);
    store_destroy (&store);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM samples WHERE (name = 'f:1'"
                                     " AND duration_ms = 60 AND pace = 2) OR (name = 'h'"
                                     " AND duration_ms = 90 AND pace = 1.5) OR (name = 'f'"
                                     " AND duration_ms = 72 AND abs (pace - 72.0 / 42) < 1e-12)"),
                      3);
    sqlite3_close (db);
}

//  A build's sample recorded while its machine's pace was unknown (1) takes
//  the pace learned at the build's end, and the estimate moves as if it
//  had been learned with it: all the way for a unit's only sample, alpha
//  of the way otherwise. Two such samples of one unit, a sample that
//  had a pace already, or another build's, stay as they are.
static void
test_repaced_samples (void **state)
{
    fixture_t *fx = *state;
    int64_t suite = 0;
    store_t *store = s_web_store (fx, &suite);
    int64_t earlier = s_split_build (store, suite, "b0");
    int64_t build = s_split_build (store, suite, "b1");
    assert_int_equal (store_record_sample (store, suite, build, "a", 90, true, 0.5, 1000), 0);
    assert_int_equal (store_record_sample (store, suite, earlier, "b", 100, true, 0.5, 900), 0);
    assert_int_equal (store_record_sample (store, suite, build, "b", 150, true, 0.5, 1000), 0);
    assert_int_equal (store_record_sample (store, suite, build, "c", 60, true, 0.5, 1000), 0);
    assert_int_equal (store_record_sample (store, suite, build, "c", 60, true, 0.5, 1100), 0);
    assert_int_equal (store_record_sample_paced (store, suite, build, "d", NULL, 150, 1.5, true,
                                                 0.5, 1000), 0);
    assert_true (s_own_estimate (fx->path, suite, "b") == 125);

    bool changed = false;
    assert_int_equal (store_repace_sample (store, suite, build, "a", 1.5, 0.5, &changed), 0);
    assert_true (changed);
    assert_int_equal (store_repace_sample (store, suite, build, "b", 1.5, 0.5, &changed), 0);
    assert_true (changed);
    //  Learned at 1.5 in the first place: 100 + 0.5 x (150 / 1.5 - 100).
    assert_true (s_own_estimate (fx->path, suite, "b") == 100);
    assert_true (s_own_estimate (fx->path, suite, "a") == 60);
    //  Once only; not c (which machine ran which run is not kept), not d.
    assert_int_equal (store_repace_sample (store, suite, build, "b", 1.5, 0.5, &changed), 0);
    assert_false (changed);
    assert_int_equal (store_repace_sample (store, suite, build, "c", 1.5, 0.5, &changed), 0);
    assert_false (changed);
    assert_int_equal (store_repace_sample (store, suite, build, "d", 1.5, 0.5, &changed), 0);
    assert_false (changed);
    assert_int_equal (store_repace_sample (store, suite, earlier, "a", 1.5, 0.5, &changed), 0);
    assert_false (changed);
    assert_true (s_own_estimate (fx->path, suite, "b") == 100);
    assert_true (s_own_estimate (fx->path, suite, "c") == 60);
    assert_true (s_own_estimate (fx->path, suite, "d") == 100);
    store_destroy (&store);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM samples WHERE pace = 1.5"), 3);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM samples WHERE pace = 1.5 AND"
                                     " ((name = 'a' AND duration_ms = 90) OR (name = 'b' AND"
                                     " duration_ms = 150) OR (name = 'd' AND duration_ms = 150))"),
                      3);
    sqlite3_close (db);
}

//  A file is recorded from its examples only when every one of them has a
//  sample in the build, each example's latest.
static void
test_file_sums (void **state)
{
    fixture_t *fx = *state;
    int64_t suite = 0;
    store_t *store = s_web_store (fx, &suite);
    int64_t build = s_split_build (store, suite, "b1");
    int64_t earlier = s_split_build (store, suite, "b0");
    size_t recorded = 99;

    //  Nothing ran yet.
    assert_int_equal (store_file_sums (store, build, suite, 0.5, 9000, &recorded), 0);
    assert_int_equal (recorded, 0);

    //  f:1 twice (the latest counts), f:2 once; g:1 only; g:2 only in
    //  another build; h (a file) too.
    assert_int_equal (store_record_sample_of (store, suite, build, "f:1", "f", 100, true, 0.5,
                                              1000), 0);
    assert_int_equal (store_record_sample_of (store, suite, build, "f:1", "f", 30, false, 0.5,
                                              1100), 0);
    assert_int_equal (store_record_sample_of (store, suite, build, "f:2", "f", 12, true, 0.5,
                                              1200), 0);
    assert_int_equal (store_record_sample_of (store, suite, build, "g:1", "g", 5, true, 0.5,
                                              1200), 0);
    assert_int_equal (store_record_sample_of (store, suite, earlier, "g:2", "g", 5, true, 0.5,
                                              1200), 0);
    assert_int_equal (store_record_sample (store, suite, build, "h", 77, true, 0.5, 1200), 0);
    assert_int_equal (store_file_sums (store, build, suite, 0.5, 9000, &recorded), 0);
    assert_int_equal (recorded, 1);
    const char *files[] = { "f", "g", "h" };
    double estimate[3];
    //  f's own: 30 + 12, its first sample, taken as is. Its estimate is
    //  the larger sum of its examples' estimates, 65 (100, then 30 with
    //  alpha 0.5) + 12. g's examples sum to 5 + 5 in the history, which is
    //  all g has.
    assert_true (s_own_estimate (fx->path, suite, "f") == 42);
    assert_int_equal (store_estimates (store, suite, files, 3, estimate), 0);
    assert_true (estimate[0] == 77);
    assert_true (estimate[1] == 10);
    assert_true (estimate[2] == 77);

    //  The other build's sums: only its own samples count (g:2 alone).
    assert_int_equal (store_file_sums (store, earlier, suite, 0.5, 9100, &recorded), 0);
    assert_int_equal (recorded, 0);

    //  Once g:2 ran in the build, g is complete; f is recorded again,
    //  smoothed: 42 + 0.5 * (42 - 42) = 42.
    assert_int_equal (store_record_sample_of (store, suite, build, "g:2", "g", 20, true, 0.5,
                                              1300), 0);
    assert_int_equal (store_file_sums (store, build, suite, 0.5, 9200, &recorded), 0);
    assert_int_equal (recorded, 2);
    assert_true (s_own_estimate (fx->path, suite, "f") == 42);
    assert_true (s_own_estimate (fx->path, suite, "g") == 25);
    assert_int_equal (store_estimates (store, suite, files, 3, estimate), 0);
    assert_true (estimate[0] == 77);
    assert_true (estimate[1] == 25);    //  g: 5 + 20, above its examples' 5 + 12.5
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    char sql[200];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM samples WHERE name = 'f' AND build_id = %lld"
              " AND ok = 1 AND duration_ms = 42 AND at_ms IN (9000, 9200)", (long long) build);
    assert_int_equal (s_raw_int (db, sql), 2);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM samples WHERE name = 'g' AND build_id = %lld"
              " AND duration_ms = 25 AND at_ms = 9200", (long long) build);
    assert_int_equal (s_raw_int (db, sql), 1);
    //  A file's timing is a file's: no parent.
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM timings WHERE name IN ('f', 'g')"
                                     " AND parent IS NULL AND updated_ms = 9200"), 2);
    sqlite3_close (db);

    //  A build without examples records nothing.
    store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    assert_int_equal (store_file_sums (store, world.build_id, world.suite_id, 0.5, 1,
                                       &recorded), 0);
    assert_int_equal (recorded, 0);
    store_destroy (&store);
}

//  A unit's file round-trips; files load as NULL.
static void
test_units_parents (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "web", &suite), 0);
    int64_t build = s_split_build (store, suite, "b1");
    char **parents = NULL;
    assert_int_equal (store_units_parents_load (store, build, 5, &parents), 0);
    const char *expected[] = { "f", "f", "g", "g", NULL };
    for (size_t i = 0; i < 5; i++) {
        if (expected[i])
            assert_string_equal (parents[i], expected[i]);
        else
            assert_null (parents[i]);
        free (parents[i]);
    }
    free (parents);
    //  A shorter count ignores the units past it.
    assert_int_equal (store_units_parents_load (store, build, 2, &parents), 0);
    assert_string_equal (parents[0], "f");
    assert_string_equal (parents[1], "f");
    free (parents[0]);
    free (parents[1]);
    free (parents);
    //  No count at all: an array still, to free.
    parents = NULL;
    assert_int_equal (store_units_parents_load (store, build, 0, &parents), 0);
    assert_non_null (parents);
    free (parents);

    //  The units are as they were; a build without examples has none.
    char **names = NULL;
    double *predicted = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, build, &names, &predicted, &count, NULL), 0);
    assert_int_equal (count, 5);
    assert_string_equal (names[2], "g:1");
    for (size_t i = 0; i < count; i++)
        free (names[i]);
    free (names);
    free (predicted);
    world_t world;
    s_world (store, &world);
    const char *plain[] = { "a", "b", "c" };
    double ms[] = { 1, 2, 3 };
    assert_int_equal (store_units_insert (store, world.build_id, plain, ms, 3, NULL), 0);
    char *none[] = { NULL, NULL, NULL };
    assert_int_equal (store_units_parents_set (store, world.build_id, none, 3), 0);
    assert_int_equal (store_units_parents_load (store, world.build_id, 3, &parents), 0);
    for (size_t i = 0; i < 3; i++)
        assert_null (parents[i]);
    free (parents);

    //  A unit that is not there cannot be given a file.
    char *beyond[] = { NULL, NULL, NULL, "x" };
    assert_int_equal (store_units_parents_set (store, world.build_id, beyond, 4), -1);
    assert_int_equal (store_units_parents_set (store, world.build_id + 100, beyond, 4), -1);
    store_destroy (&store);
}

//  A build's counts of units with history and of examples round-trip.
static void
test_build_known_examples (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    int64_t suite = 0;
    assert_int_equal (store_suite_ensure (store, "web", &suite), 0);
    store_build_t in = {
        .suite_id = suite, .build_key = "k1", .node_total = 3, .mode = "queue", .commit = "c",
        .branch = "b", .digest = "d", .unit_count = 500000, .created_ms = 5,
        .known = 499999, .examples = UINT32_MAX
    };
    assert_int_equal (store_build_insert (store, &in), 0);
    store_build_t out;
    assert_int_equal (store_build_get (store, in.id, &out), 0);
    assert_int_equal (out.known, 499999);
    assert_int_equal (out.examples, UINT32_MAX);
    assert_int_equal (out.unit_count, 500000);
    assert_string_equal (out.suite, "web");
    store_build_clear (&out);
    assert_int_equal (store_build_find (store, suite, "k1", &out), 0);
    assert_int_equal (out.known, 499999);
    assert_int_equal (out.examples, UINT32_MAX);
    store_build_clear (&out);
    //  Unset: 0.
    store_build_t bare = { .suite_id = suite, .build_key = "k2", .node_total = 1 };
    assert_int_equal (store_build_insert (store, &bare), 0);
    assert_int_equal (store_build_get (store, bare.id, &out), 0);
    assert_int_equal (out.known, 0);
    assert_int_equal (out.examples, 0);
    store_build_clear (&out);
    store_destroy (&store);
}

//  A batch measured by a report keeps its units' time sum and its runner
//  starts; not measured, the sum is NULL.
static void
test_batch_report_keeps_the_measured_sum (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    uint32_t units[] = { 0, 1 };
    int64_t b1 = 0, b2 = 0, b3 = 0;
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 1, world.attempt_id, units,
                                          2, 1100, &s_running, &b1), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 2, world.attempt_id, units,
                                          1, 1200, &s_running, &b2), 0);
    assert_int_equal (store_batch_insert (store, world.build_id, 0, 3, world.attempt_id, units,
                                          1, 1300, &s_running, &b3), 0);
    assert_int_equal (store_batch_report (store, b1, 5000, 0, 2000, STORE_BATCH_DONE, 4321, 3),
                      0);
    assert_int_equal (store_batch_report (store, b2, 5000, 0, 2000, STORE_BATCH_DONE, -1, 1), 0);
    assert_int_equal (store_batch_report (store, b3 + 10, 1, 0, 1, STORE_BATCH_DONE, 1, 1), -1);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT tests_ms * 10 + runs FROM batches WHERE id = %lld",
              (long long) b1);
    assert_int_equal (s_raw_int (db, sql), 43213);
    snprintf (sql, sizeof sql, "SELECT tests_ms IS NULL AND runs = 1 FROM batches WHERE id = %lld",
              (long long) b2);
    assert_int_equal (s_raw_int (db, sql), 1);
    //  Not measured at all: the defaults.
    snprintf (sql, sizeof sql, "SELECT tests_ms IS NULL AND runs = 1 FROM batches WHERE id = %lld",
              (long long) b3);
    assert_int_equal (s_raw_int (db, sql), 1);
    sqlite3_close (db);
}

//  Each unit's own result: NULL for a batch with none, -1 for a unit
//  without one beside units with one.
static void
test_batch_unit_ok (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    world_t world;
    s_world (store, &world);
    uint32_t units[40];
    for (uint32_t i = 0; i < 40; i++)
        units[i] = 39 - i;
    int64_t ids[6] = { 0 };
    const size_t sizes[6] = { 3, 3, 3, 3, 40, 0 };
    for (size_t b = 0; b < 6; b++)
        assert_int_equal (store_batch_insert (store, world.build_id, 0, (uint32_t) b + 1,
                                              world.attempt_id, units, sizes[b], 1000,
                                              &s_running, &ids[b]), 0);
    const int8_t mixed[] = { 1, 0, -1 };
    const int8_t late[] = { -1, -1, 1 };
    const int8_t unknown[] = { -1, -1, -1 };
    int8_t many[40];
    memset (many, -1, sizeof many);
    many[20] = 0;
    many[39] = 1;
    assert_int_equal (store_batch_unit_ok (store, ids[0], mixed, 3), 0);
    assert_int_equal (store_batch_unit_ok (store, ids[1], late, 3), 0);
    assert_int_equal (store_batch_unit_ok (store, ids[2], unknown, 3), 0);
    //  ids[3]: never given.
    assert_int_equal (store_batch_unit_ok (store, ids[4], many, 40), 0);
    assert_int_equal (store_batch_unit_ok (store, ids[5], mixed, 0), 0);
    //  A position past the batch, or a batch that is not there.
    assert_int_equal (store_batch_unit_ok (store, ids[0], many, 40), -1);
    assert_int_equal (store_batch_unit_ok (store, ids[5] + 1, mixed, 3), -1);
    //  Values other than 0 and 1 are stored as passed.
    const int8_t odd[] = { 7, -1, -1 };
    assert_int_equal (store_batch_unit_ok (store, ids[3], odd, 1), 0);

    store_batch_t *batches = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (store, world.build_id, &batches, &count), 0);
    assert_int_equal (count, 6);
    assert_non_null (batches[0].unit_ok);
    assert_memory_equal (batches[0].unit_ok, mixed, 3);
    assert_non_null (batches[1].unit_ok);
    assert_memory_equal (batches[1].unit_ok, late, 3);
    assert_null (batches[2].unit_ok);
    const int8_t odd_loaded[] = { 1, -1, -1 };
    assert_non_null (batches[3].unit_ok);
    assert_memory_equal (batches[3].unit_ok, odd_loaded, 3);
    assert_int_equal (batches[4].unit_count, 40);
    assert_non_null (batches[4].unit_ok);
    assert_memory_equal (batches[4].unit_ok, many, 40);
    assert_memory_equal (batches[4].unit_idx, units, sizeof units);
    assert_int_equal (batches[5].unit_count, 0);
    assert_null (batches[5].unit_ok);
    store_batches_free (batches, count);
    store_destroy (&store);

    sqlite3 *db = s_raw_open (fx->path);
    //  The column holds 0, 1 or NULL, nothing else.
    assert_int_not_equal (sqlite3_exec (db, "UPDATE batch_units SET ok = 2", NULL, NULL, NULL),
                          SQLITE_OK);
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM batch_units WHERE batch_id = %lld"
              " AND ok IS NULL", (long long) ids[4]);
    assert_int_equal (s_raw_int (db, sql), 38);
    sqlite3_close (db);
}

//  A fresh database has what version 4 added.
static void
test_schema_v4_fresh (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('suites')"
                                     " WHERE name IN ('startup_ms', 'startup_samples')"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('batches')"
                                     " WHERE name IN ('tests_ms', 'runs')"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('builds')"
                                     " WHERE name IN ('known', 'examples')"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_index_info('timings_by_parent')"),
                      2);
    sqlite3_close (db);
}

//  A version 3 database as satcheld 0.3 left it: the version 1 to 3 DDL
//  run by hand; a queue build of three units with an attempt, a done
//  batch and a running one; a regular build's split; timings and samples.
static void
s_make_v3 (const char *path)
{
    const char *data =
        "INSERT INTO suites (id, name) VALUES (1, 'web');"
        "INSERT INTO builds (id, suite_id, build_key, node_total, mode, \"commit\", branch,"
        " digest, unit_count, created_ms, fail_fast, result, finished_ms) VALUES"
        " (1, 1, 'ci-1', 2, 'queue', 'abc', 'main', 'd1', 3, 1000, 1, 'failed', 3000);"
        "INSERT INTO builds (id, suite_id, build_key, node_total, mode, \"commit\", branch,"
        " digest, unit_count, created_ms) VALUES"
        " (2, 1, 'ci-2', 2, 'regular', 'abc', 'main', 'd1', 3, 4000);"
        "INSERT INTO units (build_id, idx, name, predicted_ms) VALUES"
        " (1, 0, 'a', 30), (1, 1, 'b', 20), (1, 2, 'c', 10);"
        "INSERT INTO units (build_id, idx, name, predicted_ms) VALUES"
        " (2, 0, 'a', 30), (2, 1, 'b', 20), (2, 2, 'c', 10);"
        "UPDATE units SET split_node = idx % 2 WHERE build_id = 2;"
        "INSERT INTO attempts (id, build_id, node_index, attempt, started_ms, last_req)"
        " VALUES (1, 1, 0, 'att-0', 1000, 2);"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms,"
        " reported_ms, wall_ms, exit_code, state, lease, kind) VALUES"
        " (5, 1, 0, 1, 1, 1100, 1500, 400, 1, 1, 3, 0);"
        "INSERT INTO batches (id, build_id, node_index, seq, attempt_id, created_ms,"
        " state, lease, kind) VALUES (9, 1, 0, 2, 1, 1600, 0, 4, 0);"
        "INSERT INTO batch_units (batch_id, pos, unit_idx) VALUES (5, 0, 2), (5, 1, 0), (9, 0, 1);"
        "INSERT INTO timings (suite_id, name, estimate_ms, samples, updated_ms) VALUES"
        " (1, 'a', 30, 2, 1500), (1, 'b', 20, 1, 1500), (1, 'c', 10, 1, 1500);"
        "INSERT INTO samples (suite_id, build_id, name, duration_ms, ok, at_ms) VALUES"
        " (1, 1, 'a', 30, 0, 1500);"
        "PRAGMA user_version = 3;";
    assert_ptr_equal (s_migrations[2], s_schema_v3);
    s_make_old (path, 3, data);
}

//  Version 3 to 4: the new columns with their defaults, the index on a
//  timing's file, and the old rows as they were.
static void
test_migrate_from_v3 (void **state)
{
    fixture_t *fx = *state;
    s_make_v3 (fx->path);
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('timings')"
                                     " WHERE name = 'parent'"), 0);
    sqlite3_close (db);

    store_t *store = store_open (fx->path);
    assert_non_null (store);
    //  Builds: no units with history or examples counted.
    store_build_t build;
    assert_int_equal (store_build_get (store, 1, &build), 0);
    assert_int_equal (build.known, 0);
    assert_int_equal (build.examples, 0);
    assert_true (build.fail_fast);
    assert_string_equal (build.result, "failed");
    assert_int_equal (build.finished_ms, 3000);
    assert_int_equal (build.unit_count, 3);
    store_build_clear (&build);
    //  Units: no files; the regular split as it was.
    char **names = NULL;
    double *predicted = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (store, 2, &names, &predicted, &count, &split), 0);
    assert_int_equal (count, 3);
    const uint32_t nodes[] = { 0, 1, 0 };
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (split[i], nodes[i]);
        free (names[i]);
    }
    free (names);
    free (predicted);
    free (split);
    char **parents = NULL;
    assert_int_equal (store_units_parents_load (store, 1, 3, &parents), 0);
    for (size_t i = 0; i < 3; i++)
        assert_null (parents[i]);
    free (parents);
    //  Batches: results by exit code, as before.
    store_batch_t *batches = NULL;
    assert_int_equal (store_batches_load (store, 1, &batches, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (batches[0].state, STORE_BATCH_DONE);
    assert_int_equal (batches[0].exit_code, 1);
    assert_int_equal (batches[0].wall_ms, 400);
    assert_int_equal (batches[0].unit_count, 2);
    assert_null (batches[0].unit_ok);
    assert_int_equal (batches[1].lease, 4);
    assert_null (batches[1].unit_ok);
    store_batches_free (batches, count);
    //  Timings: files all, the median over them; no start-up learned.
    const char *units[] = { "a", "b", "c" };
    double estimate[3];
    assert_int_equal (store_estimates (store, 1, units, 3, estimate), 0);
    assert_true (estimate[0] == 30 && estimate[1] == 20 && estimate[2] == 10);
    double median = 0, startup = 0;
    int64_t samples = -1;
    assert_int_equal (store_suite_median (store, 1, &median), 0);
    assert_true (median == 20);
    assert_int_equal (store_suite_startup (store, 1, &startup, &samples), 0);
    assert_true (startup == -1);
    assert_int_equal (samples, 0);
    //  Learning works on the migrated rows.
    assert_int_equal (store_learn_startup (store, 1, 250, 0.3), 0);
    assert_int_equal (store_record_sample (store, 1, 1, "a", 40, true, 0.5, 2000), 0);
    assert_int_equal (store_estimates (store, 1, units, 1, estimate), 0);
    assert_true (estimate[0] == 35);
    store_destroy (&store);

    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM builds WHERE known = 0"
                                     " AND examples = 0"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM batches WHERE tests_ms IS NULL"
                                     " AND runs = 1"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM batch_units WHERE ok IS NULL"), 3);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM units WHERE parent IS NULL"), 6);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM timings WHERE parent IS NULL"), 3);
    assert_int_equal (s_raw_int (db, "SELECT startup_samples FROM suites WHERE id = 1"), 1);
    assert_int_equal (s_raw_int (db, "SELECT startup_ms FROM suites WHERE id = 1"), 250);
    //  The defaults, as the columns declare them.
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('suites')"
                                     " WHERE (name = 'startup_ms' AND dflt_value IS NULL"
                                     " AND \"notnull\" = 0) OR (name = 'startup_samples'"
                                     " AND dflt_value = '0' AND \"notnull\" = 1)"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('batches')"
                                     " WHERE (name = 'tests_ms' AND dflt_value IS NULL"
                                     " AND \"notnull\" = 0) OR (name = 'runs'"
                                     " AND dflt_value = '1' AND \"notnull\" = 1)"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('builds')"
                                     " WHERE name IN ('known', 'examples')"
                                     " AND dflt_value = '0' AND \"notnull\" = 1"), 2);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('batch_units')"
                                     " WHERE name = 'ok' AND dflt_value IS NULL"), 1);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('units')"
                                     " WHERE name = 'parent' AND dflt_value IS NULL"), 1);
    //  The index on a timing's file: (suite_id, parent), partial.
    char columns[64];
    s_raw_text (db, "SELECT group_concat (name, ',') FROM"
                    " (SELECT name FROM pragma_index_info('timings_by_parent') ORDER BY seqno)",
                columns, sizeof columns);
    assert_string_equal (columns, "suite_id,parent");
    assert_int_equal (s_raw_int (db, "SELECT partial FROM pragma_index_list('timings')"
                                     " WHERE name = 'timings_by_parent'"), 1);
    //  A row written without the new columns (as version 3 code would)
    //  gets the defaults.
    assert_int_equal (sqlite3_exec (db, "INSERT INTO batches (id, build_id, node_index, seq,"
                                        " attempt_id, created_ms) VALUES (12, 1, 1, 1, 1, 5)",
                                    NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal (s_raw_int (db, "SELECT runs FROM batches WHERE id = 12"), 1);
    sqlite3_close (db);

    //  Opened again: no second migration.
    store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    sqlite3_close (db);
}

//  A version 4 migration that fails leaves version 3 as it was.
static void
test_migration_failure_leaves_v3 (void **state)
{
    fixture_t *fx = *state;
    s_make_v3 (fx->path);
    sqlite3 *db = s_raw_open (fx->path);
    //  An index by the new one's name is in the way of its last step.
    assert_int_equal (sqlite3_exec (db, "CREATE INDEX timings_by_parent ON units (name)", NULL,
                                    NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    assert_null (store_open (fx->path));
    db = s_raw_open (fx->path);
    assert_int_equal (s_raw_int (db, "PRAGMA user_version"), 3);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('suites')"
                                     " WHERE name = 'startup_ms'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM pragma_table_info('builds')"
                                     " WHERE name = 'known'"), 0);
    assert_int_equal (s_raw_int (db, "SELECT count(*) FROM timings"), 3);
    sqlite3_close (db);
}

//  A file's examples are summed through the partial index on parent, not
//  by scanning the suite's primary-key range for every name of a join
//  (SQLite picks the scan without statistics).
static void
test_examples_sum_uses_the_parent_index (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    store_destroy (&store);
    sqlite3 *db = s_raw_open (fx->path);
    char *sql = NULL;
    assert_true (asprintf (&sql, "EXPLAIN QUERY PLAN %s", s_sql[STMT_EXAMPLES_SUM]) > 0);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    int searches = 0;
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *detail = (const char *) sqlite3_column_text (stmt, 3);
        assert_non_null (detail);
        assert_null (strstr (detail, "PRIMARY KEY"));
        if (strstr (detail, "USING INDEX timings_by_parent"))
            searches++;
    }
    //  The outer query and its subquery.
    assert_int_equal (searches, 2);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    free (sql);
}

//  One commit of about three pages into the checkpointer tests' table.
static void
s_insert_filler (sqlite3 *db)
{
    assert_int_equal (sqlite3_exec (db, "INSERT INTO filler VALUES (zeroblob (4000))", NULL, NULL,
                                    NULL), SQLITE_OK);
}

//  With the serving connection's own checkpoints off, the checkpointer
//  thread copies the WAL into the database file.
static void
test_checkpointer_copies_the_wal (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_autocheckpoint (store, 0), 0);
    //  Pages that only the WAL holds: a table of 2 MB, written by a second
    //  connection that does not checkpoint either.
    sqlite3 *db = s_raw_open (fx->path);
    assert_int_equal (sqlite3_exec (db, "PRAGMA wal_autocheckpoint = 0;"
                                        "CREATE TABLE filler (x BLOB);"
                                        "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL"
                                        " SELECT i + 1 FROM n WHERE i < 2000)"
                                        " INSERT INTO filler SELECT zeroblob (1000) FROM n;",
                                      NULL, NULL, NULL), SQLITE_OK);
    struct stat before;
    assert_int_equal (stat (fx->path, &before), 0);
    assert_true (before.st_size < 1000000);
    checkpointer_t *checkpointer = checkpointer_start (fx->path, 10, 1 << 30);
    assert_non_null (checkpointer);
    int64_t deadline = harness_now_ms () + 10000;
    while (checkpointer_runs (checkpointer) < 2 && harness_now_ms () < deadline)
        usleep (1000);
    assert_true (checkpointer_runs (checkpointer) >= 2);
    checkpointer_stop (&checkpointer);
    assert_null (checkpointer);
    struct stat after;
    assert_int_equal (stat (fx->path, &after), 0);
    assert_true (after.st_size > 2000000);
    sqlite3_close (db);
    store_destroy (&store);
    checkpointer_stop (&checkpointer);      //  safe on NULL
}

//  A writer that never stops (as under a flood of requests) keeps PASSIVE
//  checkpoints behind it, so SQLite never starts the WAL over; past its
//  limit the checkpointer restarts it, and the WAL stops growing.
static void
test_checkpointer_restarts_a_long_wal (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_autocheckpoint (store, 0), 0);
    sqlite3 *db = s_raw_open (fx->path);
    sqlite3_busy_timeout (db, 5000);
    assert_int_equal (sqlite3_exec (db, "PRAGMA wal_autocheckpoint = 0;"
                                        "CREATE TABLE filler (x BLOB);", NULL, NULL, NULL),
                      SQLITE_OK);
    checkpointer_t *checkpointer = checkpointer_start (fx->path, 5, 32);
    assert_non_null (checkpointer);
    //  2,000 commits of three pages each, one a millisecond (a daemon's
    //  groups of requests come about that often under load): 24 MB of WAL
    //  if it were never started over.
    char *wal = NULL;
    assert_true (asprintf (&wal, "%s-wal", fx->path) > 0);
    for (int commits = 0; commits < 2000; commits++) {
        s_insert_filler (db);
        usleep (1000);
    }
    struct stat size;
    assert_int_equal (stat (wal, &size), 0);
    assert_true (checkpointer_restarts (checkpointer) >= 1);
    checkpointer_stop (&checkpointer);
    assert_true (size.st_size < 12000000);
    free (wal);
    sqlite3_close (db);
    store_destroy (&store);
}

//  A reader that holds an old snapshot (a backup) pins the WAL: a RESTART
//  then holds the writer off up to its busy timeout for little, so the
//  checkpointer tries at most once while the reader stays (without that
//  rule, every turn: this test took twice as long, the writer waiting),
//  and restarts the WAL once the reader is gone.
static void
test_checkpointer_leaves_a_pinned_wal (void **state)
{
    fixture_t *fx = *state;
    store_t *store = store_open (fx->path);
    assert_non_null (store);
    assert_int_equal (store_autocheckpoint (store, 0), 0);
    sqlite3 *db = s_raw_open (fx->path);
    sqlite3_busy_timeout (db, 5000);
    assert_int_equal (sqlite3_exec (db, "PRAGMA wal_autocheckpoint = 0;"
                                        "CREATE TABLE filler (x BLOB);"
                                        "INSERT INTO filler VALUES (zeroblob (4000));",
                                    NULL, NULL, NULL), SQLITE_OK);
    sqlite3 *reader = s_raw_open (fx->path);
    assert_int_equal (sqlite3_exec (reader, "BEGIN; SELECT count(*) FROM filler;", NULL, NULL,
                                    NULL), SQLITE_OK);
    checkpointer_t *checkpointer = checkpointer_start (fx->path, 5, 32);
    assert_non_null (checkpointer);
    //  Twenty turns of the checkpointer with the WAL far past its limit.
    int64_t deadline = harness_now_ms () + 30000;
    while (checkpointer_runs (checkpointer) < 20 && harness_now_ms () < deadline) {
        s_insert_filler (db);
        usleep (1000);
    }
    assert_true (checkpointer_runs (checkpointer) >= 20);
    assert_true (checkpointer_restart_tries (checkpointer) <= 1);
    //  The reader done, the next turns start the WAL over.
    assert_int_equal (sqlite3_exec (reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    deadline = harness_now_ms () + 30000;
    while (checkpointer_restarts (checkpointer) == 0 && harness_now_ms () < deadline) {
        s_insert_filler (db);
        usleep (1000);
    }
    assert_true (checkpointer_restarts (checkpointer) >= 1);
    checkpointer_stop (&checkpointer);
    sqlite3_close (reader);
    sqlite3_close (db);
    store_destroy (&store);
}

int
main (void)
{
    //  The store logs every refused write as an error line; the tests
    //  provoke several on purpose, so "error store_failed" lines are expected.
    log_setup (LOG_LEVEL_WARN, "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_destroy_null_is_safe),
        cmocka_unit_test_setup_teardown (test_schema_created, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_examples_sum_uses_the_parent_index, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_checkpointer_copies_the_wal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_checkpointer_restarts_a_long_wal, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_checkpointer_leaves_a_pinned_wal, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_foreign_keys_enforced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_newer_version_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_open_missing_folder_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_suite_ensure_idempotent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_build_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_build_key_unique_per_suite, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_units_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_units_many_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_estimates_and_smoothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_attempts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_persistence_across_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_commit_survives_kill, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_rollback_discards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_durable_after_commit_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_autocommit_writes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_statement_left_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migrate_from_v1, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migration_failure_leaves_v1, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_fields_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_attempt_options_and_stop, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_node_summary, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_split_find, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_units_split_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migrate_from_v2, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_schema_v3_fresh, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migration_failure_leaves_v2, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_example_samples_and_sums, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_suite_median, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_suite_startup, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_machine_pace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_paced_samples, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_repaced_samples, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_file_sums, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_units_parents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_build_known_examples, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_report_keeps_the_measured_sum, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_unit_ok, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_schema_v4_fresh, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migrate_from_v3, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_migration_failure_leaves_v3, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
