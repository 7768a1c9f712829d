/*  bench_split.h: the types bench_split.c (the builds) and
    bench_split_report.c (their report) share.                             */
#ifndef SATCHEL_BENCH_SPLIT_H
#define SATCHEL_BENCH_SPLIT_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODES_MAX 16
#define UNITS_MAX 5000
#define WARM_MAX 10

typedef struct {
    uint32_t nodes;          //  agents per build
    uint32_t units;          //  units in the suite
    uint64_t seed;           //  PRNG seed
    double median_s;         //  modelled median unit duration, seconds
    double sigma;            //  lognormal shape
    double scale_ms;         //  bench milliseconds per modelled second
    uint32_t startup_ms;     //  runner start-up per batch, bench ms
    uint32_t warm;           //  warm builds after the cold one
    const char *factor;      //  satcheld --batch-factor, or NULL for its default
    bool keep;               //  keep the temporary folder
} split_options_t;

typedef struct {
    char *names[UNITS_MAX];      //  unit names, "suite/u0042_1234ms.txt"
    uint64_t ms[UNITS_MAX];      //  true (bench) duration of each
    uint64_t total_ms;           //  sum of ms
    uint64_t longest_ms;         //  max of ms
    unsigned longest_idx;        //  which unit
} split_suite_t;

typedef struct {
    char key[32];                    //  build id
    int64_t makespan_us;             //  launch to last exit
    int64_t finish_us[NODES_MAX];    //  launch to each agent's exit
    int64_t joined_ms[NODES_MAX];    //  launch to the node's join (from the database)
    size_t batches[NODES_MAX];       //  batches per node
    size_t units[NODES_MAX];         //  units per node
    uint64_t work_ms[NODES_MAX];     //  true duration of the node's units
    size_t batch_total;              //  batches in the build
    size_t first_batch;              //  units in the first batch handed out
    size_t largest_batch;            //  most units in one batch
    size_t single_batches;           //  batches of one unit
    size_t longest_pos;              //  where the longest unit was in handing-out order
    double pred_error;               //  median |predicted - true| / true
    bool ok;                         //  completed, every unit exactly once
} split_result_t;

typedef struct {
    const split_options_t *options;  //  borrowed
    const split_suite_t *suite;      //  borrowed
    harness_daemon_t daemon;         //  the running satcheld
    char *dir;                       //  temporary folder (owned)
    char *tests_file;                //  the suite's names, one a line (owned)
    char *satchel;                   //  path of satchel (owned)
    char *runner;                    //  path of sleep_runner (owned)
} split_bench_t;

//  Print the whole report on stdout: header, one row per build, one row
//  per node, the summary figures. startup_flag and estimate_flag are the
//  values given to satcheld. Cannot fail.
void split_report (const split_bench_t *bench, const split_result_t *results, unsigned builds,
                   bool all_ok, int argc, char **argv, const char *startup_flag,
                   const char *estimate_flag);

#endif
