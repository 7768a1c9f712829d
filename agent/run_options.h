/*  run_options.h: the options of `satchel run` (and `satchel env`), from
    flags, the environment and the CI system. First found wins: the flag,
    its SATCHEL_ variable, its KNAPSACK_PRO_ alias (read only when the
    SATCHEL_ one is unset), what the CI system says (ci_env.h), then the
    default; commit and branch left NULL are asked of git by run.c.
    Empty variables count as unset, but for SATCHEL_MACHINE: there, as
    with --machine '', empty says "no machine".                             */
#ifndef SATCHEL_RUN_OPTIONS_H
#define SATCHEL_RUN_OPTIONS_H

#include "ci_env.h"
#include "list_examples.h"
#include "log.h"

#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  How the build is split.
typedef enum {
    RUN_MODE_QUEUE = 0,          //  nodes pull batches until the queue is empty
    RUN_MODE_REGULAR = 1         //  one static split; each node gets its whole list at once
} run_mode_t;

//  Where each setting came from: a flag ("--node-index"), a variable
//  ("SATCHEL_NODE_INDEX", "KNAPSACK_PRO_CI_NODE_INDEX"), the CI system
//  ("CI_NODE_INDEX=3 (GitLab CI, counts from 1)"), "default", or NULL if
//  nothing gave a value and there is no default. Static strings, or owned
//  by the options' ci (valid until run_options_clear).
typedef struct {
    const char *coordinator;     //  flag, variable or default
    const char *suite;           //  NULL: not given (lenient parsing only)
    const char *build;           //  NULL: none, the build is named by commit, branch, total
    const char *node_index;      //  NULL: not given (lenient parsing only)
    const char *node_total;      //  NULL: not given (lenient parsing only)
    const char *commit;          //  NULL: asked of git at run time
    const char *branch;          //  NULL: asked of git at run time
    const char *machine;         //  flag, variable, "default (the host name)", or
                                 //  "default: " and why the host name cannot be used
    const char *pattern;         //  NULL: none (tests_from is used)
    const char *excludes;        //  NULL: none
    const char *tests_from;      //  NULL: none (pattern is used)
    const char *timeout;         //  flag, variable or default
    const char *retries;         //  flag, variable or default
    const char *only_failed;     //  flag, variable or default
    const char *fixed_split;     //  flag, variable, default, or forced for want of a build id
    const char *no_wait;         //  flag, variable or default
    const char *fail_fast;       //  flag, variable or default
    const char *mode;            //  flag, variable or default
    const char *reuse_split;     //  flag, variable or default
    const char *batch_size;      //  flag, variable or default
    const char *fallback;        //  flag, variable or default
    const char *log_level;       //  flag, variable or default
    const char *junit;           //  NULL: none
    const char *list_cmd;        //  NULL: none
    const char *list_preset;     //  NULL: none
    const char *slow_threshold;  //  NULL: only the 70% rule
    const char *server_key;      //  NULL: no CurveZMQ
    const char *client_cert;     //  NULL: no CurveZMQ
} run_sources_t;

//  An argument of the test command holding this is given a fresh report
//  path per runner start, in place of the mark.
#define RUN_JUNIT_MARK "{junit}"

typedef struct {
    const char *coordinator;     //  endpoint of satcheld
    const char *suite;           //  suite name
    const char *build;           //  build id; NULL: none given, the build is named by
                                 //  commit, branch and node total (fixed_split is set)
    uint32_t node_index;         //  this node, 0-based
    uint32_t node_total;         //  nodes in the build
    const char *commit;          //  NULL: ask git
    const char *branch;          //  NULL: ask git
    const char *machine;         //  the machine this agent runs on, sent in the join so
                                 //  satcheld knows its pace; NULL: none said
    char *host_name;             //  the host name read for the default (owned; may be
                                 //  unusable as a machine name, then machine is NULL), or NULL
    const char *pattern;         //  glob of test files
    const char **excludes;       //  globs to drop (array owned, strings borrowed)
    size_t exclude_count;        //  how many
    const char *tests_from;      //  file of tests, "-" for stdin
    int64_t timeout_ms;          //  per request
    uint32_t retries;            //  resends per request
    bool only_failed;            //  a replay holds only what did not pass
    bool fixed_split;            //  build named by commit, branch, node total
    bool no_wait;                //  done when the queue is empty, no waiting
    bool fail_fast;              //  the first failure stops the build
    run_mode_t mode;             //  queue (default) or regular
    bool reuse_split;            //  regular: reuse the split of an earlier build of the same
                                 //  suite, commit, branch and node total (default true)
    uint32_t batch_size;         //  most tests per runner start when the agent runs a list
                                 //  (regular list, fallback share); 0 = the whole list
    bool fallback;               //  satcheld unreachable: split by name and run this node's
                                 //  share (default true)
    log_level_t log_level;       //  satchel's own messages
    const char *junit;           //  the JUnit report the runner writes (with {junit} in the
                                 //  command: the folder of the per-run reports), or NULL
    bool junit_in_command;       //  the command has {junit}: a fresh report path per run
    const char *list_cmd;        //  lists the examples of files, or NULL (the preset's)
    list_preset_t list_preset;   //  how to read the list command's output
    bool can_list;               //  a list command or preset is set: slow files can split
    int64_t slow_threshold_ms;   //  a file predicted longer is slow; 0: only the 70% rule
    const char *server_key;      //  satcheld's public certificate (CurveZMQ), or NULL: plain
                                 //  text; set together with client_cert
    const char *client_cert;     //  this agent's secret certificate (CurveZMQ), or NULL
    char **command;              //  test command and its arguments (borrowed from argv)
    size_t command_count;        //  how many
    run_sources_t sources;       //  where each setting came from
    ci_env_t ci;                 //  what the CI system said (owned; values above may
                                 //  borrow from it)
} run_options_t;

typedef enum {
    RUN_OPTIONS_OK = 0,          //  run
    RUN_OPTIONS_HELP = 1,        //  help was printed: exit 0
    RUN_OPTIONS_USAGE = 2        //  a usage error was printed: exit 2
} run_options_result_t;

typedef enum {
    RUN_OPTIONS_STRICT = 0,      //  `satchel run`: all a run needs must be given
    RUN_OPTIONS_LENIENT = 1      //  `satchel env`: what is missing stays unset (source
                                 //  NULL); bad values are still usage errors
} run_options_mode_t;

//  Resolve the options from argv (argv[0] is "run" or "env") and the
//  process's environment. Prints help or the usage error itself. Call
//  run_options_clear afterwards whatever it returns.
run_options_result_t run_options_resolve (int argc, char **argv, run_options_mode_t mode,
                                          run_options_t *options);

//  run_options_resolve in strict mode.
run_options_result_t run_options_parse (int argc, char **argv, run_options_t *options);

//  Free what resolving allocated (the excludes array, the host name, the
//  CI values).
void run_options_clear (run_options_t *options);

//  Help of `satchel run` and of `satchel env`.
void run_options_usage (FILE *out);
void run_options_env_usage (FILE *out);

#endif
