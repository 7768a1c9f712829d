/*  bench_throughput.h: what bench_throughput.c (the cases and the report)
    and bench_throughput_loadgen.c (the load generator) share.             */
#ifndef SATCHEL_BENCH_THROUGHPUT_H
#define SATCHEL_BENCH_THROUGHPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENTS_MAX 1024            //  REQ sockets of the load generator
#define REAL_AGENTS_MAX 64         //  real `satchel run` processes
#define CASE_DEADLINE_MS 120000    //  one case may take at most this long
#define STALL_MS 15000             //  no reply at all for this long: give up

typedef struct {
    const char *label;       //  what was measured
    bool one_unit;           //  --max-batch-units 1 --runner-startup 0, else defaults
    bool real;               //  real agents (no per-request latency)
    bool echo;               //  the ceiling: bench_echo instead of satcheld
    unsigned units;          //  units in each build
    unsigned builds;         //  load generator: builds its nodes are spread over (0: 1)
    double think_ms;         //  load generator: mean pause before each next (0: none)
    uint64_t batches;        //  batch replies
    uint64_t units_got;      //  units in them
    uint64_t requests;       //  requests answered in the timed window
    int64_t elapsed_us;      //  the timed window
    double p50_ms;           //  request latency, median
    double p99_ms;           //  99th percentile
    double daemon_cpu;       //  satcheld CPU seconds in the window
    double loop_cpu;         //  of which its main thread's (the loop), -1 if unknown
    double daemon_written;   //  bytes satcheld wrote to storage in the window
    double self_cpu;         //  our CPU seconds in the window (load generator)
    double per_commit;       //  satcheld's requests per commit, its whole run (0: unknown)
    bool ok;                 //  completed, every unit exactly once
} throughput_case_t;

//  Drive agent_count REQ sockets against the daemon at endpoint (process
//  daemon_pid) through one build of the unit_count names (sorted, unique),
//  one request outstanding per socket, until every node gets done; fill
//  result's rates, latencies and CPU figures. Returns 0, or -1 (printed on
//  stderr) on a timeout, an interrupt, an unexpected reply or a unit count
//  that does not add up.
int throughput_loadgen (const char *endpoint, char **names, unsigned unit_count,
                        unsigned agent_count, pid_t daemon_pid, throughput_case_t *result);

//  The ceiling: agent_count REQ sockets against the ROUTER at endpoint that
//  only echoes (bench_echo, process echo_pid), each sending the bytes of a
//  next with a one-unit report, one outstanding each, for window_ms; fill
//  result's requests (round trips), elapsed time, latencies and CPU.
//  Returns 0, or -1 (printed) on a stall or an interrupt.
int throughput_echo (const char *endpoint, unsigned agent_count, int64_t window_ms,
                     pid_t echo_pid, throughput_case_t *result);

#endif
