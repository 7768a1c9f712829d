/*  bench_compare_farm.c: one build of a suite on the simulated farm.

    N real `satchel run` agents, each launched at its node's offset, with
    bench/sleep_runner as the test command. The runner is told the node's
    speed (BENCH_SPEED), the build's noise seed (BENCH_NOISE_SEED: each
    unit's time varies +-20%, the same on whichever node runs it) and the
    start-up every batch pays (BENCH_STARTUP_MS), and appends one line per
    batch to a log (BENCH_LOG). The build's figures come from that log and
    the agents' exits: what really ran, not what was planned.

    The four strategies differ only in where the agents are pointed and
    how: queue and regular mode at a satcheld with satchel's default
    policy, the one-unit queue at a satcheld with --max-batch-units 1, and
    fallback at an endpoint where no coordinator answers (the agents give
    up after one 10 ms try and split the list by name).                   */
#include "bench_compare.h"
#include "bench_util.h"
#include "harness.h"
#include "test_rng.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const cmp_strategy_names[CMP_STRATEGIES] = { "queue", "regular", "fallback",
                                                         "unit" };
const unsigned cmp_ns[CMP_NS] = { 2, 4, 8, 16 };

//  The node that is 1.5 times slower than the others: the last.
#define SLOW_SPEED 1.5

void
cmp_farm_make (cmp_farm_t *farm, unsigned nodes, uint64_t seed, double share_us, double stagger)
{
    memset (farm, 0, sizeof *farm);
    farm->nodes = nodes;
    farm->seed = seed;
    test_rng_t rng = { seed * 0x9E3779B97F4A7C15ull + nodes };
    for (unsigned n = 0; n < nodes; n++) {
        //  Node 0 starts the build; the others up to stagger x share later.
        farm->offset_us[n] = n == 0 ? 0 : (int64_t) (test_rng_unit (&rng) * stagger * share_us);
        farm->speed[n] = n + 1 == nodes ? SLOW_SPEED : 1.0;
    }
}

double
cmp_lower_bound (const cmp_farm_t *farm, double startup_us, double work_us, double longest_us)
{
    //  Capacity by time t, in work at speed 1: each node works from its
    //  offset plus one start-up, at 1 / speed.
    double low = 0, high = 0;
    double longest_end = -1;
    for (unsigned n = 0; n < farm->nodes; n++) {
        double begin = (double) farm->offset_us[n] + startup_us * farm->speed[n];
        double end = begin + work_us * farm->speed[n];
        if (end > high)
            high = end;
        double unit_end = begin + longest_us * farm->speed[n];
        if (longest_end < 0 || unit_end < longest_end)
            longest_end = unit_end;
    }
    for (int i = 0; i < 100; i++) {
        double t = (low + high) / 2, capacity = 0;
        for (unsigned n = 0; n < farm->nodes; n++) {
            double begin = (double) farm->offset_us[n] + startup_us * farm->speed[n];
            if (t > begin)
                capacity += (t - begin) / farm->speed[n];
        }
        if (capacity >= work_us)
            high = t;
        else
            low = t;
    }
    return (high > longest_end ? high : longest_end) / 1e6;
}

//  ---------------------------------------------------------------------
//  The daemons

//  Tracked children: agent n in slot n + 1 (as bench_agents_wait expects),
//  the daemons after the agents.
_Static_assert (1 + CMP_NODES_MAX + CMP_STRATEGIES <= BENCH_CHILDREN_MAX, "too many children");

static size_t
s_daemon_slot (int strategy)
{
    return 1 + CMP_NODES_MAX + (size_t) strategy;
}

void
cmp_lab_stop (cmp_lab_t *lab)
{
    for (int s = 0; s < CMP_STRATEGIES; s++) {
        if (!lab->started[s])
            continue;
        int status = harness_daemon_stop (&lab->daemon[s]);
        bench_child_track (s_daemon_slot (s), 0);
        if (status != 0)
            fprintf (stderr, "bench_compare: satcheld (%s) exited %d\n", cmp_strategy_names[s],
                     status);
        lab->started[s] = false;
    }
    for (int s = 0; s < CMP_STRATEGIES; s++) {
        free (lab->daemon_dir[s]);
        lab->daemon_dir[s] = NULL;
    }
}

int
cmp_suite_prepare (cmp_lab_t *lab, const cmp_suite_t *suite, unsigned index)
{
    //  The daemons carry the suite's runner start-up, so each suite gets
    //  its own pair.
    cmp_lab_stop (lab);
    char startup[32];
    snprintf (startup, sizeof startup, "%.3f", suite->startup_ms / 1000.0);
    for (int s = 0; s < CMP_STRATEGIES; s++) {
        if (s != CMP_QUEUE && s != CMP_UNIT)
            continue;
        //  BENCH_DEBUG: the daemons log each batch's plan too.
        const char *level = getenv ("BENCH_DEBUG") ? "debug" : "warn";
        const char *extra[] = { "--log-level", level, "--runner-startup", startup,
                                s == CMP_UNIT ? "--max-batch-units" : NULL, "1", NULL };
        //  Each daemon its own folder: its database and log.
        char sub[64];
        snprintf (sub, sizeof sub, "%s-%u", cmp_strategy_names[s], index);
        lab->daemon_dir[s] = bench_path (lab->dir, sub);
        if (mkdir (lab->daemon_dir[s], 0755) != 0
        ||  harness_daemon_start (&lab->daemon[s], lab->daemon_dir[s], extra) != 0) {
            fprintf (stderr, "bench_compare: satcheld did not start (SATCHEL_BIN_DIR=%s)\n",
                     getenv ("SATCHEL_BIN_DIR"));
            harness_daemon_stop (&lab->daemon[s]);
            cmp_lab_stop (lab);
            return -1;
        }
        lab->started[s] = true;
        bench_child_track (s_daemon_slot (s), lab->daemon[s].pid);
    }

    //  The list, and the history every strategy that reads one starts from:
    //  the un-noised times, as a knapsack report.
    char name[64];
    snprintf (name, sizeof name, "tests-%u.txt", index);
    char *list = bench_path (lab->dir, name);
    snprintf (name, sizeof name, "history-%u.json", index);
    char *json = bench_path (lab->dir, name);
    int rc = bench_write_lines (list, suite->names, suite->count);
    FILE *file = rc == 0 ? fopen (json, "w") : NULL;
    if (file) {
        fputc ('{', file);
        for (size_t i = 0; i < suite->count; i++)
            fprintf (file, "%s\"%s\": %.6f", i ? ",\n" : "\n", suite->names[i],
                     suite->ms[i] / 1000.0);
        fputs ("\n}\n", file);
        rc = fclose (file) == 0 ? 0 : -1;
    }
    else
        rc = -1;
    snprintf (name, sizeof name, "suite-%u", index);
    for (int s = 0; rc == 0 && s < CMP_STRATEGIES; s++)
        if (lab->started[s])
            rc = bench_import ("bench_compare", lab->satchel, lab->daemon[s].endpoint, lab->dir,
                               name, json);
    if (rc != 0)
        fprintf (stderr, "bench_compare: cannot prepare suite %s in %s\n", suite->label, lab->dir);
    free (list);
    free (json);
    return rc;
}

int
cmp_lab_start (cmp_lab_t *lab)
{
    memset (lab, 0, sizeof *lab);
    lab->dir = harness_tmpdir ();
    lab->satchel = harness_bin ("satchel");
    char *self_dir = bench_self_dir ();
    lab->runner = bench_path (self_dir, "sleep_runner");
    free (self_dir);
    //  A port nothing listens on: bound, then closed at once. The agents'
    //  one 10 ms try gets no answer either way.
    int fd = harness_dead_endpoint (lab->dead_endpoint, sizeof lab->dead_endpoint);
    if (fd < 0) {
        fprintf (stderr, "bench_compare: no free loopback port for the fallback agents\n");
        return -1;
    }
    close (fd);
    return 0;
}

//  ---------------------------------------------------------------------
//  One build

void
cmp_build_free (cmp_build_t *build)
{
    for (unsigned n = 0; n < CMP_NODES_MAX; n++) {
        free (build->batches[n]);
        build->batches[n] = NULL;
    }
}

//  Sleep until the monotonic time at_us (util_mono_us).
static void
s_sleep_until_us (int64_t at_us)
{
    struct timespec when = { .tv_sec = (time_t) (at_us / 1000000),
                             .tv_nsec = (long) (at_us % 1000000) * 1000L };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL) == EINTR
           && !bench_interrupted ())
        ;
}

//  The unit index of a name "u00042_...", or -1.
static long
s_unit_index (const char *name, size_t count)
{
    if (name[0] != 'u')
        return -1;
    char *end = NULL;
    long value = strtol (name + 1, &end, 10);
    if (end == name + 1 || *end != '_' || value < 0 || (size_t) value >= count)
        return -1;
    return value;
}

//  Read the runner's log into build: batches per node, every unit once,
//  the work done. Returns 0, or -1 (said on stderr).
static int
s_read_log (const char *path, const cmp_suite_t *suite, const cmp_farm_t *farm,
            int64_t launch_us, cmp_build_t *build, double *work_us, double *longest_us)
{
    char *text = harness_read_file (path);
    if (!text) {
        fprintf (stderr, "bench_compare: no runner log %s\n", path);
        return -1;
    }
    unsigned char *seen = util_calloc (suite->count, 1);
    size_t capacity[CMP_NODES_MAX] = { 0 };
    int rc = 0;
    *work_us = 0;
    *longest_us = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        char *field = NULL;
        char *node_text = strtok_r (line, "\t", &field);
        char *start = strtok_r (NULL, "\t", &field);
        char *end = strtok_r (NULL, "\t", &field);
        char *startup = strtok_r (NULL, "\t", &field);
        unsigned node = node_text ? (unsigned) strtoul (node_text, NULL, 10) : CMP_NODES_MAX;
        if (!start || !end || !startup || node >= farm->nodes) {
            fprintf (stderr, "bench_compare: a bad line in %s\n", path);
            rc = -1;
            break;
        }
        if (build->batch_count[node] == capacity[node]) {
            capacity[node] = capacity[node] ? capacity[node] * 2 : 16;
            build->batches[node] = util_realloc (build->batches[node],
                                                 capacity[node] * sizeof (cmp_batch_t));
        }
        cmp_batch_t *batch = &build->batches[node][build->batch_count[node]++];
        batch->start_us = strtoll (start, NULL, 10) - launch_us;
        batch->end_us = strtoll (end, NULL, 10) - launch_us;
        batch->startup_us = strtoll (startup, NULL, 10);
        for (char *unit = strtok_r (NULL, "\t", &field); unit;
             unit = strtok_r (NULL, "\t", &field)) {
            char *colon = strrchr (unit, ':');
            long idx = colon ? s_unit_index (unit, suite->count) : -1;
            if (idx < 0) {
                fprintf (stderr, "bench_compare: a bad unit '%s' in %s\n", unit, path);
                rc = -1;
                continue;
            }
            double us = strtod (colon + 1, NULL);
            seen[idx]++;
            *work_us += us;
            if (us > *longest_us)
                *longest_us = us;
        }
    }
    size_t missing = 0, twice = 0;
    for (size_t i = 0; i < suite->count; i++) {
        missing += seen[i] == 0;
        twice += seen[i] > 1;
    }
    if (missing || twice) {
        fprintf (stderr, "bench_compare: %zu units never ran and %zu ran more than once (%s)\n",
                 missing, twice, path);
        rc = -1;
    }
    free (seen);
    free (text);
    return rc;
}

int
cmp_build_run (cmp_lab_t *lab, const cmp_suite_t *suite, unsigned index, cmp_strategy_t strategy,
               const cmp_farm_t *farm, cmp_build_t *build)
{
    memset (build, 0, sizeof *build);
    char suite_name[32], key[48], name[64];
    snprintf (suite_name, sizeof suite_name, "suite-%u", index);
    snprintf (key, sizeof key, "b%u-%s-%u", ++lab->build_serial, cmp_strategy_names[strategy],
              farm->nodes);
    snprintf (name, sizeof name, "tests-%u.txt", index);
    char *list = bench_path (lab->dir, name);
    snprintf (name, sizeof name, "%s.log", key);
    char *log = bench_path (lab->dir, name);
    unlink (log);

    const char *endpoint = strategy == CMP_FALLBACK ? lab->dead_endpoint
                         : strategy == CMP_UNIT ? lab->daemon[CMP_UNIT].endpoint
                         : lab->daemon[CMP_QUEUE].endpoint;
    const char *regular[] = { "--mode", "regular", NULL };
    const char *fallback[] = { "--timeout", "0.01", "--retries", "0", NULL };
    const char *const *flags = strategy == CMP_REGULAR ? regular
                             : strategy == CMP_FALLBACK ? fallback : NULL;

    char startup_env[48], seed_env[48], log_env[600];
    snprintf (startup_env, sizeof startup_env, "BENCH_STARTUP_MS=%u", suite->startup_ms);
    snprintf (seed_env, sizeof seed_env, "BENCH_NOISE_SEED=%" PRIu64, farm->seed % 1000000007u);
    snprintf (log_env, sizeof log_env, "BENCH_LOG=%s", log);

    pid_t pids[CMP_NODES_MAX];
    int statuses[CMP_NODES_MAX];
    int64_t finish_us[CMP_NODES_MAX] = { 0 };
    char err_paths[CMP_NODES_MAX][600];
    unsigned spawned = 0;
    //  Launch in order of the nodes' offsets (insertion sort: N <= 16).
    unsigned order[CMP_NODES_MAX];
    for (unsigned i = 0; i < farm->nodes; i++) {
        unsigned j = i;
        for (; j > 0 && farm->offset_us[order[j - 1]] > farm->offset_us[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (unsigned n = 0; n < farm->nodes; n++)
        pids[n] = -1;
    int64_t launch_us = util_mono_us ();
    for (unsigned i = 0; i < farm->nodes && !bench_interrupted (); i++) {
        unsigned n = order[i];
        s_sleep_until_us (launch_us + farm->offset_us[n]);
        char node_env[32], speed_env[48], machine_env[48] = "SATCHEL_MACHINE=";
        snprintf (node_env, sizeof node_env, "BENCH_NODE=%u", n);
        snprintf (speed_env, sizeof speed_env, "BENCH_SPEED=%.3f", farm->speed[n]);
        //  Each node is a machine of its own, of the same speed in every
        //  build (as CI jobs on a farm of dedicated machines would say by
        //  their host names; all agents here share one): node n, or the
        //  slow one, whichever node it is at this N.
        if (!lab->no_machines && farm->speed[n] != 1.0)
            snprintf (machine_env, sizeof machine_env, "SATCHEL_MACHINE=bench-slow");
        else if (!lab->no_machines)
            snprintf (machine_env, sizeof machine_env, "SATCHEL_MACHINE=bench-node-%u", n);
        const char *env[] = { startup_env, seed_env, log_env, node_env, speed_env, machine_env,
                              NULL };
        const char *report[] = { "--junit", "{junit}", NULL };
        bench_agents_t agents = { .satchel = lab->satchel, .endpoint = endpoint,
                                  .suite = suite_name, .build = key, .tests_file = list,
                                  .runner = lab->runner,
                                  .runner_args = lab->reports ? report : NULL,
                                  .dir = lab->dir, .env = env, .flags = flags };
        snprintf (err_paths[n], sizeof err_paths[n], "%s/%s-%u.err", lab->dir, key, n);
        pids[n] = bench_agent_spawn (&agents, n, farm->nodes, err_paths[n]);
        if (pids[n] <= 0)
            break;
        bench_child_track (n + 1, pids[n]);
        spawned++;
    }
    //  bench_agents_wait takes the first count slots: on a failed launch,
    //  wait for those that did start, in node order.
    if (spawned < farm->nodes) {
        unsigned kept = 0;
        for (unsigned n = 0; n < farm->nodes; n++) {
            bench_child_track (n + 1, 0);
            if (pids[n] > 0)
                pids[kept++] = pids[n];
        }
        for (unsigned k = 0; k < kept; k++)
            bench_child_track (k + 1, pids[k]);
    }
    //  Generous: ten times the slowest possible serial run, plus a minute.
    int64_t deadline_ms = (int64_t) (suite->total_ms * 2 * 10 / farm->nodes) + 60000;
    int rc = bench_agents_wait ("bench_compare", pids, spawned, launch_us, deadline_ms, finish_us,
                                statuses);
    if (spawned < farm->nodes)
        rc = -1;
    for (unsigned n = 0; n < spawned; n++) {
        build->finish_s[n] = (double) finish_us[n] / 1e6;
        if (build->finish_s[n] > build->makespan_s)
            build->makespan_s = build->finish_s[n];
        if (statuses[n] != 0 && !bench_interrupted ()) {
            char *text = harness_read_file (err_paths[n]);
            fprintf (stderr, "bench_compare: %s node %u exited %d:\n%s\n", key, n, statuses[n],
                     text ? text : "");
            free (text);
        }
    }
    double work_us = 0, longest_us = 0;
    if (rc == 0)
        rc = s_read_log (log, suite, farm, launch_us, build, &work_us, &longest_us);
    if (rc == 0) {
        build->lb_s = cmp_lower_bound (farm, suite->startup_ms * 1000.0, work_us, longest_us);
        build->ratio = build->makespan_s / build->lb_s;
        double idle = 0;
        for (unsigned n = 0; n < farm->nodes; n++) {
            double busy = 0;
            for (size_t b = 0; b < build->batch_count[n]; b++)
                busy += (double) (build->batches[n][b].end_us - build->batches[n][b].start_us);
            build->startups += (unsigned) build->batch_count[n];
            idle += build->makespan_s - (double) farm->offset_us[n] / 1e6 - busy / 1e6;
        }
        build->idle_s = idle / farm->nodes;
        if (getenv ("BENCH_DEBUG"))
            for (unsigned n = 0; n < farm->nodes; n++)
                if (build->batch_count[n] > 0)
                    fprintf (stderr, "node %u: offset %.0f ms, first runner +%.0f ms, last runner "
                             "end %.0f ms, exit +%.0f ms\n", n, farm->offset_us[n] / 1e3,
                             (build->batches[n][0].start_us - farm->offset_us[n]) / 1e3,
                             build->batches[n][build->batch_count[n] - 1].end_us / 1e3,
                             build->finish_s[n] * 1e3
                             - build->batches[n][build->batch_count[n] - 1].end_us / 1e3);
        build->ok = true;
    }
    free (list);
    free (log);
    return rc;
}
