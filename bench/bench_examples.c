/*  bench_examples: what splitting a dominant file into its test examples
    does to the makespan, measured end to end.

    The suite: one file, suite/big_<N>ms.txt, holds --share (default 60%)
    of the work and is made of --examples test examples; beside it
    --files other files. Durations are lognormal (--sigma) from a
    fixed-seed PRNG (test_rng.h), scaled so that the whole suite is
    --total seconds of bench time: a build takes seconds. The big file
    exists on disk and holds its example ids, one a line, so the list
    command is `cat {}`; the ids are FILE::eNNN_<N>ms, which sleep_runner
    sleeps (the file whole sleeps the sum).

    Each build's suite gets the files' true times first with `satchel
    import` (a knapsack JSON), as a suite new to satchel would. Then, with
    --nodes real agents launched at once against one real satcheld:
      whole        no --list-cmd: the big file is one unit;
      split        --list-cmd 'cat {}': satcheld finds the big file slow,
                   asks the first node for its examples, and the build's
                   units are the other files and the examples;
      split warm   (--warm N times) the same suite again: the examples
                   now have history of their own.

    LB = max (total / nodes, longest unit), the units taken at the finest
    granularity available: the big file's examples and the other files.
    It is the same for every build, the best any split of this suite can
    do. LBfile = max (total / nodes, big file) is the bound of a split
    that keeps the file whole, given for reference. The makespan (launch
    of the agents to the last exit, monotonic) includes every runner
    start-up, the listing, each join and round trip; LB includes none.

    Exit status: 0 if every build completed with every unit run exactly
    once and the shape expected (split or not), 1 otherwise, 2 for a
    usage error.                                                           */
#include "bench_util.h"
#include "harness.h"
#include "test_rng.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NODES_MAX 16
#define FILES_MAX 1000
#define EXAMPLES_MAX 2000
#define UNITS_MAX (1 + FILES_MAX + EXAMPLES_MAX)
#define BUILDS_MAX 8
#define BUILD_DEADLINE_MS 120000

_Static_assert (NODES_MAX + 1 <= BENCH_CHILDREN_MAX, "too many agents to track");

typedef struct {
    uint32_t nodes;          //  agents per build
    uint32_t files;          //  files beside the big one
    uint32_t examples;       //  examples of the big file
    double share;            //  the big file's share of the work
    double total_s;          //  the whole suite, bench seconds
    double sigma;            //  lognormal shape of the durations
    uint64_t seed;           //  PRNG seed
    uint32_t startup_ms;     //  runner start-up per batch, bench ms
    uint32_t warm;           //  split builds after the first
    bool keep;               //  keep the temporary folder
} ex_options_t;

//  Every name at the finest granularity: [0] the big file whole, then the
//  other files, then the big file's examples.
typedef struct {
    char *names[UNITS_MAX];      //  (owned)
    uint64_t ms[UNITS_MAX];      //  true duration of each
    size_t count;                //  1 + files + examples
    size_t first_example;        //  index of the first example
    uint64_t total_ms;           //  the work: big file + other files
    uint64_t longest_ms;         //  longest of the other files and examples
} ex_suite_t;

typedef struct {
    const char *label;               //  "whole", "split", "split warm"
    char suite[48];                  //  --suite
    char key[32];                    //  --build
    bool list;                       //  with --list-cmd
    int64_t makespan_us;             //  launch to the last exit
    int64_t finish_us[NODES_MAX];    //  launch to each agent's exit
    int64_t created_ms;              //  launch to the build's creation (database)
    int64_t joined_ms;               //  launch to the last node's join (database)
    size_t units;                    //  units of the build
    size_t examples;                 //  of which examples
    size_t batches[NODES_MAX];       //  batches per node
    size_t batch_total;              //  in the build
    unsigned example_nodes;          //  nodes that ran some example
    bool ok;                         //  completed, each unit once, the shape expected
} ex_result_t;

typedef struct {
    const ex_options_t *options;     //  borrowed
    const ex_suite_t *suite;         //  borrowed
    harness_daemon_t daemon;         //  the running satcheld
    char *dir;                       //  temporary folder, the agents' cwd (owned)
    char *tests_file;                //  the files, one a line (owned)
    char *satchel;                   //  path of satchel (owned)
    char *runner;                    //  path of sleep_runner (owned)
} ex_bench_t;

//  ---------------------------------------------------------------------
//  The suite

//  count durations, lognormal (sigma), summing to about target_ms, each at
//  least 1 ms, into ms. Box-Muller over the fixed-seed PRNG.
static void
s_durations (test_rng_t *rng, double sigma, size_t count, double target_ms, uint64_t *ms)
{
    double *weight = util_malloc (count * sizeof (double));
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double u1 = test_rng_unit (rng), u2 = test_rng_unit (rng);
        weight[i] = exp (sigma * sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2));
        sum += weight[i];
    }
    for (size_t i = 0; i < count; i++) {
        double value = weight[i] / sum * target_ms;
        ms[i] = value < 1 ? 1 : (uint64_t) (value + 0.5);
    }
    free (weight);
}

static void
s_suite_make (ex_suite_t *suite, const ex_options_t *options)
{
    memset (suite, 0, sizeof *suite);
    test_rng_t rng = { options->seed };
    double total_ms = options->total_s * 1000.0;
    uint64_t *files = util_malloc (options->files * sizeof (uint64_t));
    uint64_t *examples = util_malloc (options->examples * sizeof (uint64_t));
    s_durations (&rng, options->sigma, options->files, total_ms * (1 - options->share), files);
    s_durations (&rng, options->sigma, options->examples, total_ms * options->share, examples);
    uint64_t big_ms = 0;
    for (uint32_t e = 0; e < options->examples; e++)
        big_ms += examples[e];
    char name[128];
    snprintf (name, sizeof name, "suite/big_%" PRIu64 "ms.txt", big_ms);
    suite->names[0] = util_strdup (name);
    suite->ms[0] = big_ms;
    suite->count = 1;
    suite->total_ms = big_ms;
    for (uint32_t f = 0; f < options->files; f++) {
        snprintf (name, sizeof name, "suite/f%03u_%" PRIu64 "ms.txt", f + 1, files[f]);
        suite->names[suite->count] = util_strdup (name);
        suite->ms[suite->count++] = files[f];
        suite->total_ms += files[f];
        suite->longest_ms = files[f] > suite->longest_ms ? files[f] : suite->longest_ms;
    }
    suite->first_example = suite->count;
    for (uint32_t e = 0; e < options->examples; e++) {
        snprintf (name, sizeof name, "%s::e%03u_%" PRIu64 "ms", suite->names[0], e + 1,
                  examples[e]);
        suite->names[suite->count] = util_strdup (name);
        suite->ms[suite->count++] = examples[e];
        suite->longest_ms = examples[e] > suite->longest_ms ? examples[e] : suite->longest_ms;
    }
    free (files);
    free (examples);
}

static void
s_suite_free (ex_suite_t *suite)
{
    for (size_t i = 0; i < suite->count; i++)
        free (suite->names[i]);
}

//  Index of name in the suite, or -1.
static long
s_unit_index (const ex_suite_t *suite, const char *name)
{
    for (size_t i = 0; name && i < suite->count; i++)
        if (strcmp (suite->names[i], name) == 0)
            return (long) i;
    return -1;
}

//  The files on disk and in the tests file, and the history JSON. Returns
//  0, or -1 (said on stderr).
static int
s_suite_write (const ex_bench_t *bench, const char *json_path)
{
    const ex_suite_t *suite = bench->suite;
    size_t files = suite->first_example;
    char *folder = bench_path (bench->dir, "suite");
    char *big = bench_path (bench->dir, suite->names[0]);
    mkdir (folder, 0755);
    int rc = bench_write_lines (bench->tests_file, suite->names, files) == 0
          && bench_write_lines (big, suite->names + files, suite->count - files) == 0 ? 0 : -1;
    //  knapsack: {"path": seconds}, the files' true times.
    size_t size = 16;
    for (size_t i = 0; i < files; i++)
        size += strlen (suite->names[i]) + 32;
    char *json = util_malloc (size);
    size_t used = (size_t) snprintf (json, size, "{");
    for (size_t i = 0; i < files; i++)
        used += (size_t) snprintf (json + used, size - used, "%s\"%s\": %.3f", i ? ", " : "",
                                   suite->names[i], (double) suite->ms[i] / 1000.0);
    snprintf (json + used, size - used, "}\n");
    if (rc == 0 && harness_write_file (json_path, json) != 0)
        rc = -1;
    if (rc != 0)
        fprintf (stderr, "bench_examples: cannot write the suite under %s\n", bench->dir);
    free (json);
    free (folder);
    free (big);
    return rc;
}

//  ---------------------------------------------------------------------
//  One build

static int64_t
s_query_int (sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64 (stmt, 1, arg);
        if (sqlite3_step (stmt) == SQLITE_ROW)
            value = sqlite3_column_int64 (stmt, 0);
    }
    sqlite3_finalize (stmt);
    return value;
}

//  Read the build back: its units are the expected ones (the examples in
//  place of the big file when listed), each handed out exactly once.
//  Returns 0, or -1 (said on stderr).
static int
s_read_back (const ex_bench_t *bench, ex_result_t *result, int64_t launch_wall_ms)
{
    const ex_suite_t *suite = bench->suite;
    unsigned *in_build = util_calloc (suite->count, sizeof (unsigned));
    unsigned *handed = util_calloc (suite->count, sizeof (unsigned));
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    bool bad = true;
    if (sqlite3_open_v2 (bench->daemon.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto cleanup;
    sqlite3_busy_timeout (db, 5000);
    if (sqlite3_prepare_v2 (db, "SELECT id FROM builds WHERE build_key = ?", -1, &stmt, NULL)
        != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_text (stmt, 1, result->key, -1, SQLITE_STATIC);
    int64_t build = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
    sqlite3_finalize (stmt);
    stmt = NULL;
    if (build < 0 || s_query_int (db, "SELECT finished_ms FROM builds WHERE id = ?", build) <= 0) {
        fprintf (stderr, "bench_examples: build %s is not finished in the database\n",
                 result->key);
        goto cleanup;
    }
    result->created_ms = s_query_int (db, "SELECT created_ms FROM builds WHERE id = ?", build)
                       - launch_wall_ms;
    result->joined_ms = s_query_int (db, "SELECT max (started_ms) FROM attempts WHERE"
                                         " build_id = ?", build) - launch_wall_ms;
    bad = false;
    //  The build's units.
    if (sqlite3_prepare_v2 (db, "SELECT name FROM units WHERE build_id = ?", -1, &stmt, NULL)
        != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_int64 (stmt, 1, build);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);
        long idx = s_unit_index (suite, name);
        if (idx < 0) {
            fprintf (stderr, "bench_examples: unknown unit %s in build %s\n", name, result->key);
            bad = true;
            continue;
        }
        in_build[idx]++;
        result->units++;
        result->examples += (size_t) idx >= suite->first_example;
    }
    sqlite3_finalize (stmt);
    stmt = NULL;
    //  Every batch's units, in handing-out order.
    const char *sql = "SELECT b.id, b.node_index, u.name FROM batches b"
                      " JOIN batch_units bu ON bu.batch_id = b.id"
                      " JOIN units u ON u.build_id = b.build_id AND u.idx = bu.unit_idx"
                      " WHERE b.build_id = ? ORDER BY b.id, bu.pos";
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        bad = true;
        goto cleanup;
    }
    sqlite3_bind_int64 (stmt, 1, build);
    int64_t batch = -1;
    bool ran_examples[NODES_MAX] = { false };
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64 (stmt, 0);
        int node = sqlite3_column_int (stmt, 1);
        long idx = s_unit_index (suite, (const char *) sqlite3_column_text (stmt, 2));
        if (idx < 0 || node < 0 || node >= (int) bench->options->nodes) {
            bad = true;
            continue;
        }
        if (id != batch) {
            batch = id;
            result->batch_total++;
            result->batches[node]++;
        }
        handed[idx]++;
        if ((size_t) idx >= suite->first_example)
            ran_examples[node] = true;
    }
    for (unsigned n = 0; n < bench->options->nodes; n++)
        result->example_nodes += ran_examples[n];
    //  Each unit of the build once; the big file whole, or all its examples.
    for (size_t i = 0; i < suite->count; i++) {
        bool example = i >= suite->first_example;
        unsigned expected = i == 0 ? !result->list : example ? result->list : 1;
        if (in_build[i] != expected || handed[i] != expected) {
            fprintf (stderr, "bench_examples: build %s: %s is %u times a unit, handed out %u "
                     "times; expected %u\n", result->key, suite->names[i], in_build[i],
                     handed[i], expected);
            bad = true;
        }
    }
cleanup:
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    free (in_build);
    free (handed);
    return bad ? -1 : 0;
}

static int
s_run_build (ex_bench_t *bench, ex_result_t *result)
{
    const ex_options_t *options = bench->options;
    char startup_env[64];
    snprintf (startup_env, sizeof startup_env, "BENCH_STARTUP_MS=%u", options->startup_ms);
    const char *env[] = { startup_env, NULL };
    const char *list_flags[] = { "--list-cmd", "cat {}", NULL };
    bench_agents_t agents = { .satchel = bench->satchel, .endpoint = bench->daemon.endpoint,
                              .suite = result->suite, .build = result->key,
                              .tests_file = bench->tests_file, .runner = bench->runner,
                              .dir = bench->dir, .env = env,
                              .flags = result->list ? list_flags : NULL };
    pid_t pids[NODES_MAX];
    char err_paths[NODES_MAX][512];
    int statuses[NODES_MAX];
    int64_t launch_wall_ms = util_wall_ms ();
    int64_t start_us = util_mono_us ();
    unsigned spawned = 0;
    for (unsigned n = 0; n < options->nodes; n++) {
        snprintf (err_paths[n], sizeof err_paths[n], "%s/%s-agent-%u.err", bench->dir,
                  result->key, n);
        pids[n] = bench_agent_spawn (&agents, n, options->nodes, err_paths[n]);
        if (pids[n] <= 0)
            break;
        bench_child_track (n + 1, pids[n]);
        spawned++;
    }
    int rc = bench_agents_wait ("bench_examples", pids, spawned, start_us, BUILD_DEADLINE_MS,
                                result->finish_us, statuses);
    if (spawned < options->nodes)
        rc = -1;
    for (unsigned n = 0; n < spawned; n++) {
        if (result->finish_us[n] > result->makespan_us)
            result->makespan_us = result->finish_us[n];
        if (statuses[n] != 0 && !bench_interrupted ()) {
            char *text = harness_read_file (err_paths[n]);
            fprintf (stderr, "bench_examples: build %s agent %u exited %d:\n%s\n", result->key,
                     n, statuses[n], text ? text : "");
            free (text);
        }
    }
    if (rc == 0)
        rc = s_read_back (bench, result, launch_wall_ms);
    result->ok = rc == 0;
    return rc;
}

//  ---------------------------------------------------------------------
//  The report

static void
s_report (const ex_bench_t *bench, const ex_result_t *results, unsigned builds, int argc,
          char **argv, const char *startup_flag)
{
    const ex_options_t *options = bench->options;
    const ex_suite_t *suite = bench->suite;
    double share = (double) suite->total_ms / options->nodes;
    double lb = share > (double) suite->longest_ms ? share : (double) suite->longest_ms;
    double lb_file = share > (double) suite->ms[0] ? share : (double) suite->ms[0];
    double lbs = lb + options->startup_ms;
    uint64_t file_min = UINT64_MAX, file_max = 0, example_max = 0;
    for (size_t i = 1; i < suite->count; i++) {
        if (i >= suite->first_example) {
            example_max = suite->ms[i] > example_max ? suite->ms[i] : example_max;
            continue;
        }
        file_min = suite->ms[i] < file_min ? suite->ms[i] : file_min;
        file_max = suite->ms[i] > file_max ? suite->ms[i] : file_max;
    }
    printf ("== Split by examples: one dominant file, %u real agents, sleeping runner ==\n",
            options->nodes);
    bench_print_command (argc, argv);
    printf ("suite:    %u files, %.3f s of work; %s is %.3f s (%.1f%%), made of %u examples\n"
            "          (longest %.3f s); the %u other files take %.3f-%.3f s each (lognormal,\n"
            "          sigma %.2f, seed %" PRIu64 ")\n",
            options->files + 1, (double) suite->total_ms / 1000.0, suite->names[0],
            (double) suite->ms[0] / 1000.0, 100.0 * (double) suite->ms[0]
                                            / (double) suite->total_ms,
            options->examples, (double) example_max / 1000.0, options->files,
            (double) file_min / 1000.0, (double) file_max / 1000.0, options->sigma,
            options->seed);
    printf ("history:  each build's suite gets the files' true times first (satchel import of "
            "a\n          knapsack JSON); the examples have none until a split build ran them\n");
    printf ("daemon:   satcheld --runner-startup %s, tcp://127.0.0.1:*, its own database\n",
            startup_flag);
    printf ("agents:   %u x satchel run --tests-from FILE [--list-cmd 'cat {}'] -- sleep_runner,\n"
            "          launched at once; BENCH_STARTUP_MS=%u per batch\n", options->nodes,
            options->startup_ms);
    printf ("bounds:   LB = max(total/nodes, longest unit) over the finest granularity (the\n"
            "          examples and the other files) = max(%.3f, %.3f) = %.3f s, the same for\n"
            "          every build; LB+s = startup + LB = %.3f s\n",
            share / 1000.0, (double) suite->longest_ms / 1000.0, lb / 1000.0, lbs / 1000.0);
    printf ("          LBfile = max(total/nodes, the big file) = %.3f s: the bound of any split\n"
            "          that keeps the file whole (for reference)\n\n", lb_file / 1000.0);
    printf ("%-11s %-8s %5s %8s %8s %6s %6s %7s %7s %6s %7s %8s %8s\n", "build", "list-cmd",
            "units", "examples", "makespan", "/LB", "/LB+s", "/LBfile", "created", "joined",
            "batches", "per-node", "ex-nodes");
    for (unsigned b = 0; b < builds; b++) {
        const ex_result_t *r = &results[b];
        if (!r->ok) {
            printf ("%-11s FAILED (see stderr)\n", r->label);
            continue;
        }
        double makespan = (double) r->makespan_us / 1000.0;
        size_t bmin = SIZE_MAX, bmax = 0;
        for (unsigned n = 0; n < options->nodes; n++) {
            bmin = r->batches[n] < bmin ? r->batches[n] : bmin;
            bmax = r->batches[n] > bmax ? r->batches[n] : bmax;
        }
        char per_node[32];
        snprintf (per_node, sizeof per_node, "%zu-%zu", bmin, bmax);
        printf ("%-11s %-8s %5zu %8zu %8.3f %6.3f %6.3f %7.3f %7.3f %6.3f %7zu %8s %8u\n",
                r->label, r->list ? "cat {}" : "-", r->units, r->examples, makespan / 1000.0,
                makespan / lb, makespan / lbs, makespan / lb_file,
                (double) r->created_ms / 1000.0, (double) r->joined_ms / 1000.0,
                r->batch_total, per_node, r->example_nodes);
    }
    printf ("\ncolumns: times in s; created = launch to the build's creation (the listing of "
            "the\n  examples happens before it); joined = launch to the last node's join "
            "(the others\n  wait while one node lists); batches = runner start-ups; per-node "
            "= batches per\n  node, min-max; ex-nodes = nodes that ran examples.\n\n");

    //  The summary's figures: name, value, target, verdict.
    char tag[64];
    snprintf (tag, sizeof tag, "examples s=%ums", options->startup_ms);
    const ex_result_t *whole = &results[0], *split = &results[1];
    double before = (double) whole->makespan_us / 1000.0 / lb;
    double after = (double) split->makespan_us / 1000.0 / lb;
    printf ("result\t%s: file whole (before), makespan/LB\t%.4f\t-\t%s\n", tag, before,
            whole->ok ? "-" : "FAILED");
    printf ("result\t%s: file split (after), makespan/LB\t%.4f\t< before\t%s\n", tag, after,
            !whole->ok || !split->ok ? "FAILED" : after < before ? "met" : "MISSED");
    printf ("result\t%s: file split (after), makespan/(s+LB)\t%.4f\t-\t-\n", tag,
            (double) split->makespan_us / 1000.0 / lbs);
    if (builds > 2) {
        double spans[BUILDS_MAX];
        bool ok = true;
        for (unsigned b = 2; b < builds; b++) {
            spans[b - 2] = (double) results[b].makespan_us / 1000.0 / lb;
            ok = ok && results[b].ok;
        }
        printf ("result\t%s: file split, warm x%u, makespan/LB median\t%.4f\t-\t%s\n", tag,
                builds - 2, bench_median (spans, builds - 2), ok ? "-" : "FAILED");
    }
    printf ("result\t%s: makespan before / after\t%.2fx\t-\t-\n", tag,
            (double) whole->makespan_us / (double) (split->makespan_us ? split->makespan_us : 1));
}

//  ---------------------------------------------------------------------

static const char *const s_usage =
    "Usage: bench_examples [OPTIONS]\n"
    "\n"
    "Split by test examples: a suite with one dominant file, run by a real satcheld\n"
    "and real `satchel run` agents with a sleeping runner, once with the file whole\n"
    "(no --list-cmd) and once split into its examples; prints makespan / lower bound\n"
    "of both, the bound over the examples (the finest granularity).\n"
    "\n"
    "  --nodes N        agents per build, 2-16 (default 4)\n"
    "  --files N        files beside the dominant one, 1-1000 (default 40)\n"
    "  --examples N     examples of the dominant file, 2-2000 (default 60)\n"
    "  --share X        the dominant file's share of the work, 0.05-0.95 (default 0.6)\n"
    "  --total S        the whole suite's work, bench seconds (default 10)\n"
    "  --sigma X        lognormal shape of the durations (default 0.8)\n"
    "  --seed N         PRNG seed (default 7)\n"
    "  --startup-ms MS  runner start-up per batch, bench ms (default 50)\n"
    "  --warm N         split builds again with the examples' history, 0-6 (default 1)\n"
    "  --keep           keep the temporary folder (database, agent logs)\n"
    "  --help           show this help\n";

int
main (int argc, char **argv)
{
    ex_options_t options = { .nodes = 4, .files = 40, .examples = 60, .share = 0.6,
                             .total_s = 10, .sigma = 0.8, .seed = 7, .startup_ms = 50,
                             .warm = 1 };
    const bench_option_t table[] = {
        BENCH_U32 ("--nodes", &options.nodes, 2, NODES_MAX),
        BENCH_U32 ("--files", &options.files, 1, FILES_MAX),
        BENCH_U32 ("--examples", &options.examples, 2, EXAMPLES_MAX),
        BENCH_DOUBLE ("--share", &options.share, 0.05, 0.95),
        BENCH_DOUBLE ("--total", &options.total_s, 0.1, 3600),
        BENCH_DOUBLE ("--sigma", &options.sigma, 0, 3),
        BENCH_U64 ("--seed", &options.seed, 0, UINT64_MAX),
        BENCH_U32 ("--startup-ms", &options.startup_ms, 0, 60000),
        BENCH_U32 ("--warm", &options.warm, 0, BUILDS_MAX - 2),
        BENCH_FLAG ("--keep", &options.keep),
        BENCH_OPTIONS_END
    };
    int started = bench_start ("bench_examples", argc, argv, table, s_usage);
    if (started != 0)
        return started > 0 ? 0 : 2;

    char *self_dir = bench_self_dir ();
    static ex_suite_t suite;
    s_suite_make (&suite, &options);
    ex_bench_t bench = { .options = &options, .suite = &suite };
    bench.dir = harness_tmpdir ();
    bench.satchel = harness_bin ("satchel");
    bench.runner = bench_path (self_dir, "sleep_runner");
    bench.tests_file = bench_path (bench.dir, "tests.txt");
    char *json = bench_path (bench.dir, "history.json");
    free (self_dir);

    int rc = 1;
    bool all_ok = true;
    if (s_suite_write (&bench, json) != 0)
        goto cleanup;
    char startup_flag[32];
    snprintf (startup_flag, sizeof startup_flag, "%.3f", options.startup_ms / 1000.0);
    const char *extra[] = { "--log-level", "info", "--runner-startup", startup_flag, NULL };
    if (harness_daemon_start (&bench.daemon, bench.dir, extra) != 0) {
        fprintf (stderr, "bench_examples: satcheld did not start (is it built? "
                         "SATCHEL_BIN_DIR=%s)\n", getenv ("SATCHEL_BIN_DIR"));
        goto cleanup;
    }
    bench_child_track (0, bench.daemon.pid);

    //  whole, split, then the warm split builds on the split build's suite.
    unsigned builds = 2 + options.warm;
    ex_result_t results[BUILDS_MAX];
    memset (results, 0, sizeof results);
    for (unsigned b = 0; b < builds; b++) {
        ex_result_t *r = &results[b];
        r->label = b == 0 ? "whole" : b == 1 ? "split" : "split warm";
        r->list = b > 0;
        snprintf (r->suite, sizeof r->suite, "bench-examples-%s", b == 0 ? "whole" : "split");
        snprintf (r->key, sizeof r->key, "%s-%u", b == 0 ? "whole" : "split", b == 0 ? 1 : b);
    }
    if (bench_import ("bench_examples", bench.satchel, bench.daemon.endpoint, bench.dir,
                      results[0].suite, json) != 0
    ||  bench_import ("bench_examples", bench.satchel, bench.daemon.endpoint, bench.dir,
                      results[1].suite, json) != 0)
        all_ok = false;
    for (unsigned b = 0; b < builds && all_ok && !bench_interrupted (); b++) {
        if (s_run_build (&bench, &results[b]) != 0)
            all_ok = false;
        fprintf (stderr, "bench_examples: build %s: makespan %.2f s%s\n", results[b].key,
                 (double) results[b].makespan_us / 1e6, results[b].ok ? "" : " (FAILED)");
    }
    int stop = harness_daemon_stop (&bench.daemon);
    bench_child_track (0, 0);
    if (stop != 0) {
        fprintf (stderr, "bench_examples: satcheld exited %d; log in %s\n", stop, bench.dir);
        all_ok = false;
    }
    int signo = bench_interrupted ();
    if (signo) {
        rc = 128 + signo;
        goto cleanup;
    }
    s_report (&bench, results, builds, argc, argv, startup_flag);
    rc = all_ok ? 0 : 1;
cleanup:
    //  Stops a daemon still running, and frees the paths that a failed
    //  harness_daemon_start leaves behind (a no-op after a stop).
    harness_daemon_stop (&bench.daemon);
    bench_child_track (0, 0);
    //  What went wrong is kept to read; an interrupt cleans up.
    if (options.keep || rc == 1)
        fprintf (stderr, "bench_examples: kept %s\n", bench.dir);
    else
        harness_rmtree (bench.dir);
    s_suite_free (&suite);
    free (bench.dir);
    free (bench.tests_file);
    free (bench.satchel);
    free (bench.runner);
    free (json);
    return rc;
}
