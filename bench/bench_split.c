/*  bench_split: split quality of queue mode, measured end to end.

    A real satcheld on tcp://127.0.0.1:* with its own temporary database,
    real `satchel run` agents (separate processes, all launched at once),
    and bench/sleep_runner as the test command, over a synthetic suite whose
    unit durations follow a long-tailed (lognormal) distribution drawn from
    a fixed-seed PRNG. The suite is modelled in seconds and played back at a
    time scale (default 1 modelled second = 10 ms), so a build takes seconds.

    One cold build (no history) and then --warm builds of the same suite,
    each using the history stored by the builds before it. For each build:
    the makespan (monotonic wall time from launching the agents to the last
    agent's exit) against
        LB   = max (total / nodes, longest unit)
        LB+s = startup + LB      (DESIGN.md: one runner start-up per node)
    where total and longest are the true durations the runner sleeps. The
    makespan includes every runner start-up and round trip; LB does not.
    Batches and their units are read back from the daemon's database.

    Exit status: 0 if every build completed with every unit run exactly
    once (whatever the ratios), 1 otherwise, 2 for a usage error.           */
#include "bench_split.h"
#include "bench_util.h"
#include "harness.h"
#include "test_rng.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILD_DEADLINE_MS 120000   //  one build may take at most this long

//  Slot 0 tracks the daemon, slot 1 + n agent n.
_Static_assert (NODES_MAX + 1 <= BENCH_CHILDREN_MAX, "too many agents to track");

//  ---------------------------------------------------------------------
//  The suite

//  Lognormal durations from the fixed-seed PRNG (test_rng.h, splitmix64):
//  the suite must be the same on every machine and libc, so no rand().
static void
s_suite_make (split_suite_t *suite, const split_options_t *options)
{
    test_rng_t rng = { options->seed };
    memset (suite, 0, sizeof *suite);
    double mu = log (options->median_s);
    for (unsigned i = 0; i < options->units; i++) {
        double seconds = exp (mu + options->sigma * test_rng_normal (&rng));
        double ms = seconds * options->scale_ms;
        //  Nothing is free: at least 1 ms, as the scheduler also assumes.
        uint64_t rounded = ms < 1 ? 1 : (uint64_t) (ms + 0.5);
        char name[64];
        snprintf (name, sizeof name, "suite/u%04u_%" PRIu64 "ms.txt", i, rounded);
        suite->names[i] = util_strdup (name);
        suite->ms[i] = rounded;
        suite->total_ms += rounded;
        if (rounded > suite->longest_ms) {
            suite->longest_ms = rounded;
            suite->longest_idx = i;
        }
    }
}

static void
s_suite_free (split_suite_t *suite, unsigned units)
{
    for (unsigned i = 0; i < units; i++)
        free (suite->names[i]);
}

//  Index of a unit from its name ("suite/u0042_..."), or -1.
static long
s_unit_index (const char *name, unsigned units)
{
    if (strncmp (name, "suite/u", 7) != 0)
        return -1;
    char *end = NULL;
    errno = 0;
    long value = strtol (name + 7, &end, 10);
    if (errno != 0 || end != name + 11 || *end != '_' || value < 0 || value >= (long) units)
        return -1;
    return value;
}

//  ---------------------------------------------------------------------
//  One build: launch the agents, wait for them, read the database back.

static int64_t
s_query_int (sqlite3 *db, const char *sql, const char *key)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW)
            value = sqlite3_column_int64 (stmt, 0);
    }
    sqlite3_finalize (stmt);
    return value;
}

//  Count a batch that has ended (all its units seen).
static void
s_batch_close (split_result_t *result, size_t batch_units)
{
    if (batch_units == 1)
        result->single_batches++;
    if (batch_units > result->largest_batch)
        result->largest_batch = batch_units;
}

//  Read the build's batches back. Returns 0 if every unit of the suite was
//  handed out exactly once and the build finished, -1 otherwise.
static int
s_read_back (split_bench_t *bench, split_result_t *result, int64_t launch_wall_ms)
{
    const split_options_t *options = bench->options;
    const split_suite_t *suite = bench->suite;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    unsigned *seen = util_calloc (options->units, sizeof (unsigned));
    double *errors = util_calloc (options->units, sizeof (double));
    size_t error_count = 0;
    int rc = -1;
    if (sqlite3_open_v2 (bench->daemon.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf (stderr, "bench_split: cannot open %s\n", bench->daemon.db);
        goto cleanup;
    }
    sqlite3_busy_timeout (db, 5000);
    int64_t build_id = s_query_int (db, "SELECT id FROM builds WHERE build_key = ?", result->key);
    int64_t finished = s_query_int (db, "SELECT finished_ms FROM builds WHERE build_key = ?",
                                    result->key);
    if (build_id < 0 || finished <= 0) {
        fprintf (stderr, "bench_split: build %s is not finished in the database\n", result->key);
        goto cleanup;
    }
    //  When each node joined, relative to our launch.
    const char *joins = "SELECT node_index, min(started_ms) FROM attempts WHERE build_id = ? "
                        "GROUP BY node_index";
    if (sqlite3_prepare_v2 (db, joins, -1, &stmt, NULL) != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_int64 (stmt, 1, build_id);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        int node = sqlite3_column_int (stmt, 0);
        if (node >= 0 && node < (int) options->nodes)
            result->joined_ms[node] = sqlite3_column_int64 (stmt, 1) - launch_wall_ms;
    }
    sqlite3_finalize (stmt);
    stmt = NULL;

    //  Every unit of every batch, in handing-out order.
    const char *sql =
        "SELECT b.id, b.node_index, u.name, u.predicted_ms FROM batches b "
        "JOIN batch_units bu ON bu.batch_id = b.id "
        "JOIN units u ON u.build_id = b.build_id AND u.idx = bu.unit_idx "
        "WHERE b.build_id = ? ORDER BY b.id, bu.pos";
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf (stderr, "bench_split: %s\n", sqlite3_errmsg (db));
        goto cleanup;
    }
    sqlite3_bind_int64 (stmt, 1, build_id);
    int64_t batch_id = -1;
    size_t batch_units = 0, position = 0;
    bool bad = false;
    int step;
    while ((step = sqlite3_step (stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64 (stmt, 0);
        int node = sqlite3_column_int (stmt, 1);
        const char *name = (const char *) sqlite3_column_text (stmt, 2);
        double predicted = sqlite3_column_double (stmt, 3);
        long idx = name ? s_unit_index (name, options->units) : -1;
        if (idx < 0 || node < 0 || node >= (int) options->nodes) {
            fprintf (stderr, "bench_split: unexpected unit %s on node %d\n",
                     name ? name : "(null)", node);
            bad = true;
            continue;
        }
        if (id != batch_id) {
            if (batch_id >= 0)
                s_batch_close (result, batch_units);
            batch_id = id;
            batch_units = 0;
            result->batch_total++;
            result->batches[node]++;
        }
        batch_units++;
        if (result->batch_total == 1)
            result->first_batch = batch_units;
        seen[idx]++;
        result->units[node]++;
        result->work_ms[node] += suite->ms[idx];
        if ((unsigned) idx == suite->longest_idx)
            result->longest_pos = position;
        if (error_count < options->units)
            errors[error_count++] = fabs (predicted - (double) suite->ms[idx])
                                    / (double) suite->ms[idx];
        position++;
    }
    if (batch_id >= 0)
        s_batch_close (result, batch_units);
    if (step != SQLITE_DONE) {
        fprintf (stderr, "bench_split: reading batches: %s\n", sqlite3_errmsg (db));
        bad = true;
    }
    for (unsigned i = 0; i < options->units; i++) {
        if (seen[i] != 1) {
            fprintf (stderr, "bench_split: %s was handed out %u times in build %s\n",
                     suite->names[i], seen[i], result->key);
            bad = true;
        }
    }
    result->pred_error = bench_median (errors, error_count);
    rc = bad ? -1 : 0;
cleanup:
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    free (seen);
    free (errors);
    return rc;
}

static int
s_run_build (split_bench_t *bench, const char *key, split_result_t *result)
{
    const split_options_t *options = bench->options;
    memset (result, 0, sizeof *result);
    snprintf (result->key, sizeof result->key, "%s", key);
    char startup_env[64];
    snprintf (startup_env, sizeof startup_env, "BENCH_STARTUP_MS=%u", options->startup_ms);
    const char *env[] = { startup_env, NULL };
    bench_agents_t agents = { .satchel = bench->satchel, .endpoint = bench->daemon.endpoint,
                              .suite = "bench-split", .build = key,
                              .tests_file = bench->tests_file, .runner = bench->runner,
                              .dir = bench->dir, .env = env };
    pid_t pids[NODES_MAX];
    char err_paths[NODES_MAX][512];
    int statuses[NODES_MAX];
    int64_t launch_wall_ms = util_wall_ms ();
    int64_t start_us = util_mono_us ();
    unsigned spawned = 0;
    for (unsigned n = 0; n < options->nodes; n++) {
        snprintf (err_paths[n], sizeof err_paths[n], "%s/%s-agent-%u.err", bench->dir, key, n);
        pids[n] = bench_agent_spawn (&agents, n, options->nodes, err_paths[n]);
        if (pids[n] <= 0)
            break;
        bench_child_track (n + 1, pids[n]);
        spawned++;
    }
    int rc = bench_agents_wait ("bench_split", pids, spawned, start_us, BUILD_DEADLINE_MS,
                                result->finish_us, statuses);
    if (spawned < options->nodes)
        rc = -1;
    for (unsigned n = 0; n < spawned; n++) {
        if (result->finish_us[n] > result->makespan_us)
            result->makespan_us = result->finish_us[n];
        if (statuses[n] != 0 && !bench_interrupted ()) {
            char *text = harness_read_file (err_paths[n]);
            fprintf (stderr, "bench_split: build %s agent %u exited %d:\n%s\n", key, n,
                     statuses[n], text ? text : "");
            free (text);
        }
    }
    if (rc == 0)
        rc = s_read_back (bench, result, launch_wall_ms);
    result->ok = rc == 0;
    return rc;
}

static const char *const s_usage =
    "Usage: bench_split [OPTIONS]\n"
    "\n"
    "Split quality of queue mode: a real satcheld, real `satchel run` agents and\n"
    "a sleeping runner over a synthetic long-tailed suite; prints makespan / lower\n"
    "bound for one cold build and --warm builds that use the stored history.\n"
    "\n"
    "  --nodes N        agents per build, 1-16 (default 4)\n"
    "  --units N        units in the suite, 1-5000 (default 500)\n"
    "  --seed N         PRNG seed (default 42)\n"
    "  --median S       modelled median unit duration, seconds (default 3.5)\n"
    "  --sigma X        lognormal shape (default 1.2)\n"
    "  --scale MS       bench milliseconds per modelled second (default 10)\n"
    "  --startup-ms MS  runner start-up per batch, bench ms (default 50)\n"
    "  --warm N         warm builds after the cold one, 0-10 (default 3)\n"
    "  --batch-factor F passed to satcheld (default: satcheld's own, 2)\n"
    "  --keep           keep the temporary folder (database, agent logs)\n"
    "  --help           show this help\n";

//  Parse the options and start (bench_start). Returns 0 to go on, 1 after
//  --help, -1 after a usage error (printed).
static int
s_start (int argc, char **argv, split_options_t *options)
{
    *options = (split_options_t) { .nodes = 4, .units = 500, .seed = 42, .median_s = 3.5,
                                   .sigma = 1.2, .scale_ms = 10, .startup_ms = 50, .warm = 3 };
    const bench_option_t table[] = {
        BENCH_U32 ("--nodes", &options->nodes, 1, NODES_MAX),
        BENCH_U32 ("--units", &options->units, 1, UNITS_MAX),
        BENCH_U64 ("--seed", &options->seed, 0, UINT64_MAX),
        BENCH_DOUBLE ("--median", &options->median_s, 0.001, 3600),
        BENCH_DOUBLE ("--sigma", &options->sigma, 0, 4),
        BENCH_DOUBLE ("--scale", &options->scale_ms, 0.1, 1000),
        BENCH_U32 ("--startup-ms", &options->startup_ms, 0, 60000),
        //  Checked here, passed to satcheld as written.
        BENCH_TEXT ("--batch-factor", &options->factor, 1, 100),
        BENCH_U32 ("--warm", &options->warm, 0, WARM_MAX),
        BENCH_FLAG ("--keep", &options->keep),
        BENCH_OPTIONS_END
    };
    return bench_start ("bench_split", argc, argv, table, s_usage);
}

int
main (int argc, char **argv)
{
    split_options_t options;
    int started = s_start (argc, argv, &options);
    if (started != 0)
        return started > 0 ? 0 : 2;

    //  Binaries: satcheld and satchel one folder up (bench_start), and
    //  sleep_runner beside us.
    char *self_dir = bench_self_dir ();
    static split_suite_t suite;
    s_suite_make (&suite, &options);
    split_bench_t bench = { .options = &options, .suite = &suite };
    bench.dir = harness_tmpdir ();
    bench.satchel = harness_bin ("satchel");
    bench.runner = bench_path (self_dir, "sleep_runner");
    bench.tests_file = bench_path (bench.dir, "tests.txt");
    free (self_dir);

    int rc = 1;
    if (bench_write_lines (bench.tests_file, suite.names, options.units) != 0) {
        fprintf (stderr, "bench_split: cannot write %s\n", bench.tests_file);
        goto cleanup;
    }

    //  The daemon's time-valued flags on the same time scale as the suite:
    //  the runner start-up, and the estimate for units without history
    //  (satcheld's default of 1 modelled second).
    char startup_flag[32], estimate_flag[32];
    snprintf (startup_flag, sizeof startup_flag, "%.3f", options.startup_ms / 1000.0);
    double estimate_ms = options.scale_ms < 1 ? 1 : options.scale_ms;
    snprintf (estimate_flag, sizeof estimate_flag, "%.3f", estimate_ms / 1000.0);
    const char *extra[] = { "--log-level", "info", "--runner-startup", startup_flag,
                            "--default-estimate", estimate_flag,
                            options.factor ? "--batch-factor" : NULL, options.factor, NULL };
    if (harness_daemon_start (&bench.daemon, bench.dir, extra) != 0) {
        fprintf (stderr, "bench_split: satcheld did not start (is it built? SATCHEL_BIN_DIR=%s)\n",
                 getenv ("SATCHEL_BIN_DIR"));
        goto cleanup;
    }
    bench_child_track (0, bench.daemon.pid);

    unsigned builds = 1 + options.warm;
    split_result_t results[1 + WARM_MAX];
    bool all_ok = true;
    for (unsigned b = 0; b < builds && !bench_interrupted (); b++) {
        char key[32];
        snprintf (key, sizeof key, "split-%u", b + 1);
        if (s_run_build (&bench, key, &results[b]) != 0)
            all_ok = false;
        fprintf (stderr, "bench_split: build %s: makespan %.2f s%s\n", key,
                 (double) results[b].makespan_us / 1e6, results[b].ok ? "" : " (FAILED)");
    }
    int stop = harness_daemon_stop (&bench.daemon);
    bench_child_track (0, 0);
    if (stop != 0) {
        fprintf (stderr, "bench_split: satcheld exited %d; log in %s\n", stop, bench.dir);
        options.keep = true;
        all_ok = false;
    }

    int signo = bench_interrupted ();
    if (signo) {
        rc = 128 + signo;
        goto cleanup;
    }
    split_report (&bench, results, builds, all_ok, argc, argv, startup_flag, estimate_flag);
    rc = all_ok ? 0 : 1;
    if (!all_ok)
        options.keep = true;
cleanup:
    //  Stops a daemon still running, and frees the paths that a failed
    //  harness_daemon_start leaves behind (a no-op after a stop).
    harness_daemon_stop (&bench.daemon);
    bench_child_track (0, 0);
    if (options.keep)
        fprintf (stderr, "bench_split: kept %s\n", bench.dir);
    else
        harness_rmtree (bench.dir);
    s_suite_free (&suite, options.units);
    free (bench.dir);
    free (bench.tests_file);
    free (bench.satchel);
    free (bench.runner);
    return rc;
}
