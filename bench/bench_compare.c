/*  bench_compare: split quality side by side.

    For each suite, each N of 2, 4, 8 and 16 nodes and each repeat, the
    same simulated farm runs the suite four ways: satchel's queue mode, its
    regular mode, its fallback split (by name, no coordinator) and a queue
    that hands out one unit per request (the Redis-queue design). Real
    satcheld daemons on tcp://127.0.0.1:*, real `satchel run` agents, and
    bench/sleep_runner sleeping each unit's scaled time.

    The farm: each unit's time varies +-20% from build to build (the same
    draw for every strategy of a cell), nodes start at staggered times (up
    to --stagger of a node's share after the first), the last node is 1.5
    times slower, and every batch pays a fixed runner start-up. Each suite
    is scaled so that its total work takes --work seconds; the start-up is
    --startup suite seconds on the same scale. Every strategy starts from
    the same history: the suite's un-noised times, imported.

    A suite is a timing file of ../shared/data/timings (a name that starts
    a file's name there: "18F"), any file of that form or a plain JSON
    object of unit -> seconds (a path), or synthetic:dominant (one unit is
    a quarter of the suite) or synthetic:tiny (3,000 short tests).

    Exit status: 0 if every build completed with every unit run exactly
    once (whatever the ratios), 1 otherwise, 2 for a usage error.           */
#include "bench_compare.h"
#include "bench_util.h"
#include "harness.h"
#include "json.h"
#include "test_rng.h"
#include "util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMING_FILE_MAX (64u << 20)    //  largest timing file read, bytes

typedef struct {
    const char *suites;          //  comma-separated
    const char *data;            //  folder of the real timing files
    const char *strategies;      //  comma-separated, or NULL for all
    const char *out;             //  where the outputs go
    uint32_t n;                  //  one N only, or 0 for 2, 4, 8, 16
    uint32_t repeats;
    double work_s;               //  each suite's total work, bench seconds
    double startup_s;            //  runner start-up per batch, suite seconds
    double stagger;              //  latest start, as a fraction of a node's share
    uint64_t seed;
    bool keep;
    bool reports;                //  the runner writes JUnit reports
    bool no_machines;            //  the agents name no machine
} cmp_options_t;

//  ---------------------------------------------------------------------
//  Suites

//  Fill suite from seconds[count] (names are made from the index and the
//  scaled time). Takes ownership of nothing.
static void
s_suite_scale (cmp_suite_t *suite, const double *seconds, size_t count,
               const cmp_options_t *options)
{
    suite->count = count;
    suite->names = util_calloc (count, sizeof (char *));
    suite->ms = util_calloc (count, sizeof (uint32_t));
    for (size_t i = 0; i < count; i++) {
        suite->seconds += seconds[i];
        if (seconds[i] > suite->longest_s)
            suite->longest_s = seconds[i];
    }
    suite->scale = options->work_s * 1000.0 / suite->seconds;
    for (size_t i = 0; i < count; i++) {
        //  Whole ms, at least 1: no test takes no time (satcheld raises
        //  a prediction below 1 ms to 1 ms, too).
        double ms = seconds[i] * suite->scale;
        suite->ms[i] = ms < 1 ? 1 : (uint32_t) (ms + 0.5);
        suite->total_ms += suite->ms[i];
        char name[48];
        snprintf (name, sizeof name, "u%05zu_%ums.t", i, suite->ms[i]);
        suite->names[i] = util_strdup (name);
    }
    suite->startup_ms = (uint32_t) (options->startup_s * suite->scale + 0.5);
}

static void
s_suite_free (cmp_suite_t *suite)
{
    for (size_t i = 0; i < suite->count; i++)
        free (suite->names[i]);
    free (suite->names);
    free (suite->ms);
}

//  The shapes the real suites lack. Returns 0, or -1 for an unknown one.
static int
s_suite_synthetic (cmp_suite_t *suite, const char *shape, const cmp_options_t *options)
{
    test_rng_t rng = { options->seed };
    size_t count = 0;
    double *seconds = NULL;
    if (strcmp (shape, "dominant") == 0) {
        //  150 files (lognormal, median 3.5 s) and one file that is a
        //  quarter of the whole suite.
        count = 151;
        seconds = util_calloc (count, sizeof (double));
        double rest = 0;
        for (size_t i = 1; i < count; i++) {
            seconds[i] = exp (log (3.5) + 1.0 * test_rng_normal (&rng));
            rest += seconds[i];
        }
        seconds[0] = rest / 3;
        snprintf (suite->source, sizeof suite->source,
                  "synthetic: 150 files lognormal (median 3.5 s, sigma 1.0) and one file of "
                  "25%% of the total; seed %llu", (unsigned long long) options->seed);
    }
    else
    if (strcmp (shape, "tiny") == 0) {
        count = 3000;
        seconds = util_calloc (count, sizeof (double));
        for (size_t i = 0; i < count; i++)
            seconds[i] = exp (log (0.3) + 0.6 * test_rng_normal (&rng));
        snprintf (suite->source, sizeof suite->source,
                  "synthetic: 3000 tests lognormal (median 0.3 s, sigma 0.6); seed %llu",
                  (unsigned long long) options->seed);
    }
    else
        return -1;
    snprintf (suite->label, sizeof suite->label, "synthetic:%s", shape);
    s_suite_scale (suite, seconds, count, options);
    free (seconds);
    return 0;
}

//  A timing file: {"timings": {unit: seconds}} as in ../shared/data, or a
//  plain {unit: seconds}. Returns 0, or -1 (said on stderr).
static int
s_suite_file (cmp_suite_t *suite, const char *path, const char *label,
              const cmp_options_t *options)
{
    char *text = harness_read_file (path);
    if (!text) {
        fprintf (stderr, "bench_compare: cannot read %s\n", path);
        return -1;
    }
    char why[256];
    size_t size = strlen (text);
    json_t *root = size <= TIMING_FILE_MAX
                 ? json_parse (text, size, JSON_DEFAULT_MAX_DEPTH, why, sizeof why) : NULL;
    free (text);
    if (!root) {
        fprintf (stderr, "bench_compare: %s: %s\n", path,
                 size > TIMING_FILE_MAX ? "too large" : why);
        return -1;
    }
    const json_t *timings = json_get (root, "timings");
    if (!timings)
        timings = root;
    size_t count = json_type (timings) == JSON_OBJECT ? json_count (timings) : 0;
    double *seconds = util_calloc (count ? count : 1, sizeof (double));
    int rc = count > 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (json_number (json_at (timings, i), &seconds[i]) != 0 || !(seconds[i] >= 0))
            rc = -1;
    if (rc == 0) {
        snprintf (suite->label, sizeof suite->label, "%s", label);
        //  The file's name only: the tables are committed, and the
        //  folder is whatever this checkout's was.
        const char *slash = strrchr (path, '/');
        snprintf (suite->source, sizeof suite->source, "%s (%zu units)", slash ? slash + 1 : path,
                  count);
        s_suite_scale (suite, seconds, count, options);
        if (suite->seconds <= 0)
            rc = -1;
    }
    if (rc != 0)
        fprintf (stderr, "bench_compare: %s: not an object of unit -> seconds (or one under "
                         "\"timings\") with a positive total\n", path);
    free (seconds);
    json_destroy (&root);
    return rc;
}

//  A name for the table: the repository of "owner__repo__kind.json", else
//  the file's name.
static void
s_short_label (const char *file, char *label, size_t size)
{
    const char *start = strstr (file, "__");
    const char *end = start ? strstr (start + 2, "__") : NULL;
    if (start && end)
        snprintf (label, size, "%.*s", (int) (end - start - 2), start + 2);
    else
        snprintf (label, size, "%s", file);
}

//  Resolve one --suites entry: synthetic:SHAPE, a path, or the first file
//  of the data folder (sorted) whose name starts with it; "real" adds every
//  file there. Appends to suites. Returns 0, or -1 (said on stderr).
static int
s_suite_add (cmp_suite_t *suites, size_t *count, const char *entry, const cmp_options_t *options)
{
    if (strncmp (entry, "synthetic:", 10) == 0) {
        if (*count >= CMP_SUITES_MAX)
            return -1;
        if (s_suite_synthetic (&suites[*count], entry + 10, options) != 0) {
            fprintf (stderr, "bench_compare: unknown synthetic suite '%s' (dominant, tiny)\n",
                     entry);
            return -1;
        }
        (*count)++;
        return 0;
    }
    if (strchr (entry, '/')) {
        if (*count >= CMP_SUITES_MAX)
            return -1;
        const char *base = strrchr (entry, '/') + 1;
        char label[64];
        s_short_label (base, label, sizeof label);
        if (s_suite_file (&suites[*count], entry, label, options) != 0)
            return -1;
        (*count)++;
        return 0;
    }
    struct dirent **files = NULL;
    int found = scandir (options->data, &files, NULL, alphasort);
    if (found < 0) {
        fprintf (stderr, "bench_compare: cannot list %s (--data)\n", options->data);
        return -1;
    }
    bool all = strcmp (entry, "real") == 0;
    int rc = 0, matched = 0;
    for (int i = 0; i < found; i++) {
        const char *name = files[i]->d_name;
        size_t length = strlen (name);
        bool json = length > 5 && strcmp (name + length - 5, ".json") == 0;
        if (rc == 0 && json && (all ? true : matched == 0 && strncmp (name, entry, strlen (entry)) == 0)) {
            char *path = bench_path (options->data, name);
            char label[64];
            s_short_label (name, label, sizeof label);
            if (*count >= CMP_SUITES_MAX || s_suite_file (&suites[*count], path, label, options) != 0)
                rc = -1;
            else
                (*count)++;
            matched++;
            free (path);
        }
        free (files[i]);
    }
    free (files);
    if (rc == 0 && matched == 0) {
        fprintf (stderr, "bench_compare: no timing file in %s starts with '%s'\n", options->data,
                 entry);
        rc = -1;
    }
    return rc;
}

//  ---------------------------------------------------------------------
//  The table

void
cmp_cell_summary (const cmp_table_t *table, size_t suite, cmp_strategy_t strategy,
                  unsigned n_index, cmp_cell_t *cell)
{
    memset (cell, 0, sizeof *cell);
    double ratios[CMP_REPEATS_MAX], startups[CMP_REPEATS_MAX], idle[CMP_REPEATS_MAX];
    for (unsigned r = 0; r < table->repeats; r++) {
        const cmp_build_t *build = &table->cells[suite][strategy][n_index][r];
        if (!build->ok)
            continue;
        ratios[cell->ok] = build->ratio;
        startups[cell->ok] = build->startups;
        idle[cell->ok] = build->makespan_s > 0 ? build->idle_s / build->makespan_s : 0;
        cell->ok++;
    }
    if (cell->ok == 0)
        return;
    cell->ratio_median = bench_median (ratios, cell->ok);
    cell->ratio_min = ratios[0];
    cell->ratio_max = ratios[cell->ok - 1];
    cell->startups_median = bench_median (startups, cell->ok);
    cell->idle_median = bench_median (idle, cell->ok);
}

static const char *const s_usage =
    "Usage: bench_compare [OPTIONS]\n"
    "\n"
    "Split quality side by side: satchel's queue and regular modes, its fallback\n"
    "split and a one-unit queue, each on the same simulated farm (+-20% noise per\n"
    "unit, staggered starts, one node 1.5x slower, a runner start-up per batch),\n"
    "N = 2, 4, 8, 16; makespan / lower bound, start-ups, idle time per node.\n"
    "\n"
    "  --suites LIST      comma-separated: a timing file's name start in --data\n"
    "                     (18F), 'real' (every file there), a path, or\n"
    "                     synthetic:dominant, synthetic:tiny\n"
    "                     (default 18F,synthetic:dominant)\n"
    "  --data DIR         the real timing files (default ../shared/data/timings\n"
    "                     beside the source tree)\n"
    "  --strategies LIST  comma-separated of queue, regular, fallback, unit (default all)\n"
    "  --n N              one N only, 1-16 (default: 2, 4, 8 and 16)\n"
    "  --repeats R        builds per cell, 1-9 (default 3)\n"
    "  --work S           each suite's total work, bench seconds (default 12)\n"
    "  --startup S        runner start-up per batch, suite seconds (default 5)\n"
    "  --stagger F        latest node start, fraction of a node's share (default 0.1)\n"
    "  --seed N           noise and stagger seed (default 1)\n"
    "  --out DIR          write compare.md, compare.json, compare.svg, timeline.svg\n"
    "                     (default: the current folder)\n"
    "  --keep             keep the temporary folder (databases, runner logs)\n"
    "  --reports          the runner writes a JUnit report of each run ({junit}):\n"
    "                     satchel learns each unit's own time, not a share of\n"
    "                     its batch's wall time\n"
    "  --no-machines      the agents name no machine (SATCHEL_MACHINE=): satcheld\n"
    "                     learns no machine's pace (by default node n runs on\n"
    "                     machine bench-node-n, the slow node on bench-slow)\n"
    "  --help             show this help\n";

static int
s_strategies_parse (const char *list, bool *chosen)
{
    if (!list) {
        for (int s = 0; s < CMP_STRATEGIES; s++)
            chosen[s] = true;
        return 0;
    }
    char *copy = util_strdup (list), *save = NULL;
    int rc = 0;
    for (char *word = strtok_r (copy, ",", &save); word; word = strtok_r (NULL, ",", &save)) {
        int found = -1;
        for (int s = 0; s < CMP_STRATEGIES; s++)
            if (strcmp (word, cmp_strategy_names[s]) == 0)
                found = s;
        if (found < 0) {
            fprintf (stderr, "bench_compare: unknown strategy '%s' (queue, regular, fallback, "
                             "unit)\n", word);
            rc = -1;
        }
        else
            chosen[found] = true;
    }
    free (copy);
    return rc;
}

int
main (int argc, char **argv)
{
    cmp_options_t options = { .suites = "18F,synthetic:dominant", .data = BENCH_DATA_DEFAULT,
                              .out = ".", .repeats = 3, .work_s = 12, .startup_s = 5,
                              .stagger = 0.1, .seed = 1 };
    const bench_option_t table_options[] = {
        BENCH_STRING ("--suites", &options.suites),
        BENCH_STRING ("--data", &options.data),
        BENCH_STRING ("--strategies", &options.strategies),
        BENCH_STRING ("--out", &options.out),
        BENCH_U32 ("--n", &options.n, 1, CMP_NODES_MAX),
        BENCH_U32 ("--repeats", &options.repeats, 1, CMP_REPEATS_MAX),
        BENCH_DOUBLE ("--work", &options.work_s, 0.5, 600),
        BENCH_DOUBLE ("--startup", &options.startup_s, 0, 600),
        BENCH_DOUBLE ("--stagger", &options.stagger, 0, 2),
        BENCH_U64 ("--seed", &options.seed, 0, UINT32_MAX),
        BENCH_FLAG ("--keep", &options.keep),
        BENCH_FLAG ("--reports", &options.reports),
        BENCH_FLAG ("--no-machines", &options.no_machines),
        BENCH_OPTIONS_END
    };
    int started = bench_start ("bench_compare", argc, argv, table_options, s_usage);
    if (started != 0)
        return started > 0 ? 0 : 2;
    cmp_table_t table = { .repeats = options.repeats };
    if (s_strategies_parse (options.strategies, table.strategies) != 0)
        return 2;

    static cmp_suite_t suites[CMP_SUITES_MAX];
    size_t suite_count = 0;
    char *list = util_strdup (options.suites), *save = NULL;
    int rc = 0;
    for (char *entry = strtok_r (list, ",", &save); entry && rc == 0;
         entry = strtok_r (NULL, ",", &save))
        rc = s_suite_add (suites, &suite_count, entry, &options);
    free (list);
    if (rc != 0 || suite_count == 0) {
        for (size_t i = 0; i < suite_count; i++)
            s_suite_free (&suites[i]);
        return 2;
    }
    unsigned one_n[1] = { options.n };
    table.suites = suites;
    table.suite_count = suite_count;
    table.ns = options.n ? one_n : cmp_ns;
    table.n_count = options.n ? 1 : CMP_NS;
    table.cells = util_calloc (suite_count, sizeof *table.cells);

    cmp_lab_t lab;
    bool all_ok = cmp_lab_start (&lab) == 0;
    lab.reports = options.reports;
    lab.no_machines = options.no_machines;
    int64_t began_us = util_mono_us ();
    for (size_t i = 0; i < suite_count && all_ok && !bench_interrupted (); i++) {
        const cmp_suite_t *suite = &suites[i];
        fprintf (stderr, "bench_compare: %s: %zu units, %.0f s as given, scaled to %.1f s, "
                         "start-up %u ms\n", suite->label, suite->count, suite->seconds,
                 suite->total_ms / 1000.0, suite->startup_ms);
        if (cmp_suite_prepare (&lab, suite, (unsigned) i) != 0) {
            all_ok = false;
            break;
        }
        for (unsigned r = 0; r < options.repeats && !bench_interrupted (); r++) {
            for (unsigned k = 0; k < table.n_count && !bench_interrupted (); k++) {
                unsigned nodes = table.ns[k];
                cmp_farm_t farm;
                cmp_farm_make (&farm, nodes, options.seed * 1000 + r * 100 + nodes,
                               suite->total_ms * 1000.0 / nodes, options.stagger);
                for (int s = 0; s < CMP_STRATEGIES && !bench_interrupted (); s++) {
                    if (!table.strategies[s])
                        continue;
                    cmp_build_t *build = &table.cells[i][s][k][r];
                    if (cmp_build_run (&lab, suite, (unsigned) i, (cmp_strategy_t) s, &farm,
                                       build) != 0)
                        all_ok = false;
                    fprintf (stderr, "bench_compare: %s N=%u %-8s repeat %u: %.2f s, LB %.2f s, "
                                     "%.3f x LB, %u start-ups%s\n", suite->label, nodes,
                             cmp_strategy_names[s], r + 1, build->makespan_s, build->lb_s,
                             build->ratio, build->startups, build->ok ? "" : " (FAILED)");
                }
            }
        }
    }
    cmp_lab_stop (&lab);
    int signo = bench_interrupted ();
    char machine[256], command[1024] = "";
    bench_machine (machine, sizeof machine);
    for (int a = 0; a < argc; a++)
        snprintf (command + strlen (command), sizeof command - strlen (command), "%s%s",
                  a ? " " : "", a ? argv[a] : "bench_compare");
    table.command = command;
    table.machine = machine;
    if (!signo) {
        fprintf (stderr, "bench_compare: %.0f s of builds\n",
                 (double) (util_mono_us () - began_us) / 1e6);
        if (cmp_write_outputs (&table, options.out) != 0)
            all_ok = false;
    }
    if (options.keep || !all_ok)
        fprintf (stderr, "bench_compare: kept %s\n", lab.dir);
    else
        harness_rmtree (lab.dir);
    for (size_t i = 0; i < suite_count; i++) {
        for (int s = 0; s < CMP_STRATEGIES; s++)
            for (unsigned k = 0; k < CMP_NS; k++)
                for (unsigned r = 0; r < CMP_REPEATS_MAX; r++)
                    cmp_build_free (&table.cells[i][s][k][r]);
        s_suite_free (&suites[i]);
    }
    free (table.cells);
    free (lab.dir);
    free (lab.satchel);
    free (lab.runner);
    return signo ? 128 + signo : all_ok ? 0 : 1;
}
