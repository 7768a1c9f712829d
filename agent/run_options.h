/*  run_options.h: the options of `satchel run`, from flags and from the
    environment (a flag wins over its variable).                           */
#ifndef SATCHEL_RUN_OPTIONS_H
#define SATCHEL_RUN_OPTIONS_H

#include "log.h"

#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *coordinator;     //  endpoint of satcheld
    const char *suite;           //  suite name
    const char *build;           //  build id
    uint32_t node_index;         //  this node, 0-based
    uint32_t node_total;         //  nodes in the build
    const char *commit;          //  NULL: ask git
    const char *branch;          //  NULL: ask git
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
    log_level_t log_level;       //  satchel's own messages
    char **command;              //  test command and its arguments (borrowed from argv)
    size_t command_count;        //  how many
} run_options_t;

typedef enum {
    RUN_OPTIONS_OK = 0,          //  run
    RUN_OPTIONS_HELP = 1,        //  help was printed: exit 0
    RUN_OPTIONS_USAGE = 2        //  a usage error was printed: exit 2
} run_options_result_t;

//  Parse argv (argv[0] is "run"). Prints help or the usage error itself.
run_options_result_t run_options_parse (int argc, char **argv, run_options_t *options);

//  Free what parse allocated (the excludes array).
void run_options_clear (run_options_t *options);

void run_options_usage (FILE *out);

#endif
