/*  bench_util.h: what bench_split and bench_throughput share: stopping
    the tracked children on an interrupt, the command line and start-up,
    finding the binaries, launching a real agent, the report's header
    lines, a median, and the /proc figures of a process.

    Numbers and clocks come from common/util.h (util_parse_u64,
    util_mono_us, ...) and the fixed-seed PRNG from tests/test_rng.h; the
    daemon, processes and files from tests/harness.h.                      */
#ifndef SATCHEL_BENCH_UTIL_H
#define SATCHEL_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

//  Slots for tracked children: the daemon (slot 0) and up to 64 agents.
#define BENCH_CHILDREN_MAX 65

//  ---------------------------------------------------------------------
//  Interrupts. A handled SIGINT, SIGTERM or SIGHUP sends SIGTERM to every
//  tracked child (satcheld answers by closing its database, satchel by
//  passing it on to its runner, so no grandchild sleeps on) and sets the
//  flag; the main flow sees it, stops, cleans its temporary folders up and
//  exits 128 + the signal's number.

//  Install the handler for SIGINT, SIGTERM and SIGHUP. Cannot fail.
void bench_signals_install (void);

//  Track pid in slot (0 to BENCH_CHILDREN_MAX - 1); pid 0 forgets the slot.
void bench_child_track (size_t slot, pid_t pid);

//  The number of the signal that interrupted us, or 0 if none has.
int bench_interrupted (void);

//  ---------------------------------------------------------------------
//  Command line: a table of options, each "--name" alone (a flag) or
//  followed by its value, and --help.

typedef enum {
    BENCH_OPTION_FLAG,       //  no value: sets a bool
    BENCH_OPTION_U32,        //  a whole number in [min, max]
    BENCH_OPTION_U64,        //  a whole number in [min, max]
    BENCH_OPTION_DOUBLE,     //  a number in [min_f, max_f]
    BENCH_OPTION_TEXT,       //  a number in [min_f, max_f], kept as given, to pass on
    BENCH_OPTION_STRING      //  any non-empty text (a path, a list)
} bench_option_type_t;

typedef struct {
    const char *name;            //  "--nodes"; NULL ends the table
    bench_option_type_t type;    //  what it takes, and which member of to is set
    union {
        bool *flag;              //  BENCH_OPTION_FLAG
        uint32_t *u32;           //  BENCH_OPTION_U32
        uint64_t *u64;           //  BENCH_OPTION_U64
        double *number;          //  BENCH_OPTION_DOUBLE
        const char **text;       //  BENCH_OPTION_TEXT and _STRING (borrows argv)
    } to;                        //  where the value goes
    uint64_t min, max;           //  range of U32 and U64
    double min_f, max_f;         //  range of DOUBLE and TEXT
} bench_option_t;

//  Table rows, type-checked: BENCH_U32 ("--nodes", &options->nodes, 1, 16).
#define BENCH_FLAG(n, target) { .name = (n), .type = BENCH_OPTION_FLAG, .to.flag = (target) }
#define BENCH_U32(n, target, lo, hi) \
    { .name = (n), .type = BENCH_OPTION_U32, .to.u32 = (target), .min = (lo), .max = (hi) }
#define BENCH_U64(n, target, lo, hi) \
    { .name = (n), .type = BENCH_OPTION_U64, .to.u64 = (target), .min = (lo), .max = (hi) }
#define BENCH_DOUBLE(n, target, lo, hi) \
    { .name = (n), .type = BENCH_OPTION_DOUBLE, .to.number = (target), .min_f = (lo), \
      .max_f = (hi) }
#define BENCH_TEXT(n, target, lo, hi) \
    { .name = (n), .type = BENCH_OPTION_TEXT, .to.text = (target), .min_f = (lo), .max_f = (hi) }
#define BENCH_STRING(n, target) { .name = (n), .type = BENCH_OPTION_STRING, .to.text = (target) }
#define BENCH_OPTIONS_END { .name = NULL }

//  Parse argv[1..] against the options; --help prints usage on stdout.
//  Returns 0 to go on, 1 after --help, or -1 after an unknown option or a
//  bad or missing value (said on stderr, after "program: ").
int bench_parse_options (const char *program, int argc, char **argv,
                         const bench_option_t *options, const char *usage);

//  How both programs start: bench_parse_options, then (to go on)
//  bench_signals_install and bench_bin_dir_default. Returns 0 to go on, 1
//  after --help (exit 0), -1 after a usage error (exit 2; said on stderr).
int bench_start (const char *program, int argc, char **argv, const bench_option_t *options,
                 const char *usage);

//  ---------------------------------------------------------------------
//  Binaries and files

//  The folder this executable lives in, from /proc/self/exe; "." if that
//  is unreadable. Caller frees; aborts on out-of-memory.
char *bench_self_dir (void);

//  Unless SATCHEL_BIN_DIR is set, point it at the folder above self_dir,
//  where the build puts satcheld and satchel. Cannot fail.
void bench_bin_dir_default (const char *self_dir);

//  "dir/name". Caller frees; aborts on out-of-memory.
char *bench_path (const char *dir, const char *name);

//  Write lines to path, each followed by a newline. Returns 0, or -1 if
//  the file cannot be written.
int bench_write_lines (const char *path, char *const *lines, size_t count);

//  ---------------------------------------------------------------------
//  Real agents: `satchel run --tests-from FILE -- RUNNER` as one node of a
//  build.

typedef struct {
    const char *satchel;        //  path of the satchel binary
    const char *endpoint;       //  the daemon's bound endpoint
    const char *suite;          //  --suite
    const char *build;          //  --build
    const char *tests_file;     //  --tests-from: the units, one a line
    const char *runner;         //  the test command after --
    const char *const *runner_args; //  its arguments before the units, NULL-terminated, or NULL
    const char *dir;            //  the agents' working folder
    const char *const *env;     //  extra "NAME=value" entries, NULL-terminated, or NULL
    const char *const *flags;   //  more flags of run before "--", NULL-terminated, or NULL
} bench_agents_t;

//  Launch node index of total, its stderr to err_path. Returns the pid, or
//  -1 if it cannot be spawned (harness_spawn has said why).
pid_t bench_agent_spawn (const bench_agents_t *agents, unsigned index, unsigned total,
                         const char *err_path);

//  Wait for count agents (pids[n] tracked in slot n + 1) until deadline_ms
//  after start_us (util_mono_us), polling every millisecond. finish_us[n]
//  gets agent n's exit time after start_us and statuses[n] its exit status
//  (128 + N if killed by signal N; -1 if stopped). Past the deadline, or on
//  an interrupt, the rest get SIGTERM (each agent stops its runner too),
//  then SIGKILL after 2 s, and are reaped; program prefixes what is said
//  on stderr. Returns 0 if all exited 0, -1 otherwise.
int bench_agents_wait (const char *program, const pid_t *pids, unsigned count, int64_t start_us,
                       int64_t deadline_ms, int64_t *finish_us, int *statuses);

//  `satchel import --format knapsack json_path` into suite at endpoint,
//  run in dir (its stderr in dir/import.err, said on stderr after
//  "program: " if it fails). Returns 0, or -1.
int bench_import (const char *program, const char *satchel, const char *endpoint, const char *dir,
                  const char *suite, const char *json_path);

//  ---------------------------------------------------------------------
//  Figures and the report

//  The median of count values, sorting them in place (ascending); 0 if
//  count is 0.
double bench_median (double *values, size_t count);

//  Parse a decimal floating-point number in [min, max] (NaN is never in
//  range). Returns 0, or -1 if text is NULL, empty, malformed or out of it.
int bench_parse_double (const char *text, double min, double max, double *out);

//  Describe this machine for a report: "N CPUs (nproc), <CPU model>, Linux
//  <release>", truncated to size. Unreadable parts read "unknown" or "?".
void bench_machine (char *out, size_t size);

//  Print a report's "command:" line (argv as given) and "machine:" line
//  (bench_machine) on stdout. Cannot fail.
void bench_print_command (int argc, char **argv);

//  CPU seconds (user + system) process pid has used, from /proc; -1 if
//  unreadable.
double bench_proc_cpu (pid_t pid);

//  The same for the main thread of process pid alone (a ZeroMQ server's
//  loop, without its I/O thread); -1 if unreadable.
double bench_main_thread_cpu (pid_t pid);

//  Bytes process pid has caused to be written to storage (write_bytes in
//  /proc/PID/io: the WAL, checkpoints into the database); -1 if unreadable.
double bench_proc_written (pid_t pid);

//  CPU seconds (user + system) this process has used. Cannot fail.
double bench_self_cpu (void);

#endif
