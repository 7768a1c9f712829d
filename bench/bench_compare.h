/*  bench_compare.h: the types bench_compare.c (suites, the table),
    bench_compare_farm.c (one build on the simulated farm) and
    bench_compare_out.c (Markdown, JSON and SVG) share.                    */
#ifndef SATCHEL_BENCH_COMPARE_H
#define SATCHEL_BENCH_COMPARE_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMP_NODES_MAX 16
#define CMP_REPEATS_MAX 9
#define CMP_SUITES_MAX 32
#define CMP_NS 4                  //  N = 2, 4, 8, 16

//  The strategies, in table order.
typedef enum {
    CMP_QUEUE = 0,                //  satchel queue mode (the default)
    CMP_REGULAR,                  //  satchel regular mode: one static split from history
    CMP_FALLBACK,                 //  satchel's fallback: split by name, no coordinator
    CMP_UNIT,                     //  a queue of one unit per request (the Redis-queue design)
    CMP_STRATEGIES
} cmp_strategy_t;

extern const char *const cmp_strategy_names[CMP_STRATEGIES];
extern const unsigned cmp_ns[CMP_NS];

//  A suite as bench milliseconds per unit (scaled from seconds).
typedef struct {
    char label[64];               //  short name for the table ("18F", "synthetic:dominant")
    char source[512];             //  where it came from (a path, or how it was made)
    size_t count;                 //  units
    char **names;                 //  "u00042_1234ms.t": the runner reads the time
    uint32_t *ms;                 //  the unit's scaled time, whole ms
    double seconds;               //  the suite's total, seconds as given
    double longest_s;             //  its longest unit, seconds as given
    double scale;                 //  bench ms per suite second
    uint64_t total_ms;            //  sum of ms (after rounding)
    uint32_t startup_ms;          //  runner start-up per batch, scaled
} cmp_suite_t;

//  The farm every build of a cell runs on (the same for every strategy).
typedef struct {
    unsigned nodes;               //  N
    uint64_t seed;                //  noise and stagger
    int64_t offset_us[CMP_NODES_MAX];   //  when each node starts after the first
    double speed[CMP_NODES_MAX];  //  1, or 1.5 for the slow node
} cmp_farm_t;

//  One batch, as the runner logged it (times after the build's launch).
typedef struct {
    int64_t start_us, end_us;     //  runner start and exit
    int64_t startup_us;           //  its start-up
} cmp_batch_t;

//  One build.
typedef struct {
    bool ok;                      //  every agent exited 0, every unit ran exactly once
    double makespan_s;            //  launch to the last agent's exit
    double lb_s;                  //  the lower bound (DESIGN.md) of this build
    double ratio;                 //  makespan / lb
    unsigned startups;            //  runner start-ups (batches), all nodes
    double idle_s;                //  mean idle time per node
    double finish_s[CMP_NODES_MAX];     //  each agent's exit
    size_t batch_count[CMP_NODES_MAX];  //  batches per node
    cmp_batch_t *batches[CMP_NODES_MAX];//  each node's batches (owned), for the timeline
} cmp_build_t;

//  Where the builds run: the binaries, a temporary folder, the daemons.
typedef struct {
    char *dir;                    //  temporary folder (owned)
    char *satchel;                //  path of satchel (owned)
    char *runner;                 //  path of sleep_runner (owned)
    harness_daemon_t daemon[CMP_STRATEGIES];   //  the queue and unit daemons (running)
    bool started[CMP_STRATEGIES];
    char *daemon_dir[CMP_STRATEGIES];  //  each daemon's folder in dir (owned)
    char dead_endpoint[256];      //  where fallback's agents find no coordinator
    unsigned build_serial;        //  for unique build ids
    bool reports;                 //  the runner writes a JUnit report ({junit})
    bool no_machines;             //  the agents name no machine (else node n is on
                                  //  machine "bench-node-n", the slow node on
                                  //  "bench-slow", the same from build to build)
} cmp_lab_t;

//  The farm of a cell: stagger up to stagger * share, node N-1 slow.
void cmp_farm_make (cmp_farm_t *farm, unsigned nodes, uint64_t seed, double share_us,
                    double stagger);

//  Start the daemons (queue: satchel's default policy; unit: one unit a
//  batch). Returns 0, or -1 (said on stderr).
int cmp_lab_start (cmp_lab_t *lab);
void cmp_lab_stop (cmp_lab_t *lab);

//  Give the suite's un-noised times to both daemons as history
//  (`satchel import`) and write its list. Returns 0, or -1.
int cmp_suite_prepare (cmp_lab_t *lab, const cmp_suite_t *suite, unsigned index);

//  Run one build of suite (prepared as index) with strategy on farm.
//  Returns 0 (ok) or -1 (said on stderr; build->ok false).
int cmp_build_run (cmp_lab_t *lab, const cmp_suite_t *suite, unsigned index,
                   cmp_strategy_t strategy, const cmp_farm_t *farm, cmp_build_t *build);
void cmp_build_free (cmp_build_t *build);

//  The lower bound of DESIGN.md: the earliest moment at which the nodes'
//  combined capacity (each starting at its offset, at its speed, after one
//  start-up) covers work_us, and no earlier than longest_us can end on the
//  node that would finish it first. Seconds.
double cmp_lower_bound (const cmp_farm_t *farm, double startup_us, double work_us,
                        double longest_us);

//  The table: cells[suite][strategy][n][repeat].
typedef struct {
    const cmp_suite_t *suites;
    size_t suite_count;
    unsigned repeats;
    const unsigned *ns;           //  which N were run
    unsigned n_count;
    bool strategies[CMP_STRATEGIES];   //  which strategies were run
    cmp_build_t (*cells)[CMP_STRATEGIES][CMP_NS][CMP_REPEATS_MAX];
    const char *command;          //  the command line, for the outputs
    const char *machine;          //  bench_machine
} cmp_table_t;

//  The median and spread of a cell's ratios (and its other figures).
typedef struct {
    unsigned ok;                  //  builds that completed
    double ratio_median, ratio_min, ratio_max;
    double startups_median;
    double idle_median;           //  idle per node / makespan
} cmp_cell_t;

void cmp_cell_summary (const cmp_table_t *table, size_t suite, cmp_strategy_t strategy,
                       unsigned n_index, cmp_cell_t *cell);

//  Write compare.md, compare.json, compare.svg and timeline.svg into
//  out_dir (made if missing), and the Markdown table on stdout. timeline
//  is the build drawn per strategy (suite 0, the N nearest 8, repeat 0).
//  Returns 0, or -1 (said on stderr).
int cmp_write_outputs (const cmp_table_t *table, const char *out_dir);

#endif
