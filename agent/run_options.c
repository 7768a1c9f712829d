/*  run_options.c: see run_options.h.                                       */
#include "run_options.h"

#include "proto.h"

#include "globmatch.h"
#include "util.h"

#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <strings.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *
s_usage_line (const char *command)
{
    return strcmp (command, "env") == 0 ? "Usage: satchel env [OPTIONS]\n"
                                          "Try 'satchel env --help' for more information.\n"
                                        : "Usage: satchel run [OPTIONS] -- COMMAND [ARGS...]\n"
                                          "Try 'satchel run --help' for more information.\n";
}

static run_options_result_t __attribute__ ((format (printf, 2, 3)))
s_usage_error (const char *command, const char *fmt, ...)
{
    fputs ("satchel: ", stderr);
    va_list args;
    va_start (args, fmt);
    vfprintf (stderr, fmt, args);
    va_end (args);
    fprintf (stderr, "\n%s", s_usage_line (command));
    return RUN_OPTIONS_USAGE;
}

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

//  What the flags said. NULL or -1: not given.
typedef struct {
    const char *coordinator;     //  --coordinator
    const char *suite;           //  --suite
    const char *build;           //  --build
    const char *index;           //  --node-index
    const char *total;           //  --node-total
    const char *commit;          //  --commit
    const char *branch;          //  --branch
    const char *machine;         //  --machine ("" says none)
    const char *pattern;         //  --pattern
    const char *tests_from;      //  --tests-from
    const char *timeout;         //  --timeout
    const char *retries;         //  --retries
    const char *mode;            //  --mode
    const char *batch_size;      //  --batch-size
    int reuse_split;             //  1: --reuse-split, 0: --fresh-split (the last wins)
    int log_level;               //  the last of --verbose and --quiet
    const char *log_flag;        //  which of them
    bool only_failed;            //  --only-failed
    bool fixed_split;            //  --fixed-split
    bool no_wait;                //  --no-wait
    bool fail_fast;              //  --fail-fast
    bool no_fallback;            //  --no-fallback
    const char *junit;           //  --junit
    const char *list_cmd;        //  --list-cmd
    const char *list_preset;     //  --list-preset
    const char *slow_threshold;  //  --slow-threshold
    const char *server_key;      //  --server-key
    const char *client_cert;     //  --client-cert
} s_flags_t;

//  The first that is set of the flag's value, the variable and its alias
//  (NULL: none); *source names it, or is NULL.
static const char *
s_pick (const char *flag_value, const char *flag, const char *var, const char *alias,
        const char **source)
{
    *source = NULL;
    if (flag_value) {
        *source = flag;
        return flag_value;
    }
    const char *value = var ? s_env (var) : NULL;
    if (value) {
        *source = var;
        return value;
    }
    value = alias ? s_env (alias) : NULL;
    if (value)
        *source = alias;
    return value;
}

//  Where nothing above gave a value, take the CI system's. Returns 0, or
//  -1 if the CI system's value is unusable (ci->error says why).
static int
s_fall_back_to_ci (const ci_value_t *ci, const char **value, const char **source)
{
    if (*value || !ci->source)
        return 0;
    if (ci->error)
        return -1;
    *value = ci->value;
    *source = ci->source;
    return 0;
}

//  A yes/no setting: the flag if given, else the variable, else its alias,
//  else def. Returns 0, or -1 with *source naming a variable whose value
//  is neither yes nor no.
static int
s_pick_bool (bool flag_given, bool flag_value, const char *flag, const char *var,
             const char *alias, bool def, bool *out, const char **source)
{
    if (flag_given) {
        *out = flag_value;
        *source = flag;
        return 0;
    }
    const char *names[] = { var, alias };
    for (size_t i = 0; i < 2; i++) {
        const char *value = names[i] ? s_env (names[i]) : NULL;
        if (!value)
            continue;
        *source = names[i];
        if (!strcmp (value, "1") || !strcasecmp (value, "true") || !strcasecmp (value, "yes"))
            *out = true;
        else
        if (!strcmp (value, "0") || !strcasecmp (value, "false") || !strcasecmp (value, "no"))
            *out = false;
        else
            return -1;
        return 0;
    }
    *out = def;
    *source = "default";
    return 0;
}

//  How strongly a source speaks: a flag 3, a SATCHEL_ variable 2, a
//  KNAPSACK_PRO_ one 1.
static int
s_level (const char *source)
{
    if (strncmp (source, "--", 2) == 0)
        return 3;
    if (strncmp (source, "SATCHEL_", 8) == 0)
        return 2;
    return 1;
}

//  satchel's levels, any case; Knapsack Pro's go one further ("fatal"),
//  and satchel's worst is error.
static int
s_parse_log_level (const char *text, log_level_t *level)
{
    char lower[16];
    size_t i = 0;
    for (; text[i] && i < sizeof lower - 1; i++)
        lower[i] = (char) tolower ((unsigned char) text[i]);
    lower[i] = 0;
    if (text[i])
        return -1;
    if (strcmp (lower, "fatal") == 0) {
        *level = LOG_LEVEL_ERROR;
        return 0;
    }
    return log_level_parse (lower, level);
}

//  Read the flags into *flags and the repeated --exclude into options.
//  Returns RUN_OPTIONS_OK, or help / a usage error (printed).
static run_options_result_t
s_read_flags (int argc, char **argv, const char *command, s_flags_t *flags,
              run_options_t *options)
{
    enum {
        OPT_COORDINATOR = 256, OPT_SUITE, OPT_BUILD, OPT_INDEX, OPT_TOTAL, OPT_COMMIT,
        OPT_BRANCH, OPT_PATTERN, OPT_EXCLUDE, OPT_TESTS_FROM, OPT_TIMEOUT, OPT_RETRIES,
        OPT_VERBOSE, OPT_QUIET, OPT_HELP, OPT_ONLY_FAILED, OPT_FIXED_SPLIT, OPT_NO_WAIT,
        OPT_FAIL_FAST, OPT_MODE, OPT_REUSE_SPLIT, OPT_FRESH_SPLIT, OPT_BATCH_SIZE,
        OPT_NO_FALLBACK, OPT_JUNIT, OPT_LIST_CMD, OPT_LIST_PRESET, OPT_SLOW_THRESHOLD,
        OPT_SERVER_KEY, OPT_CLIENT_CERT, OPT_MACHINE
    };
    static const struct option table[] = {
        { "coordinator", required_argument, NULL, OPT_COORDINATOR },
        { "suite", required_argument, NULL, OPT_SUITE },
        { "build", required_argument, NULL, OPT_BUILD },
        { "node-index", required_argument, NULL, OPT_INDEX },
        { "node-total", required_argument, NULL, OPT_TOTAL },
        { "commit", required_argument, NULL, OPT_COMMIT },
        { "branch", required_argument, NULL, OPT_BRANCH },
        { "machine", required_argument, NULL, OPT_MACHINE },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "exclude", required_argument, NULL, OPT_EXCLUDE },
        { "tests-from", required_argument, NULL, OPT_TESTS_FROM },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "mode", required_argument, NULL, OPT_MODE },
        { "reuse-split", no_argument, NULL, OPT_REUSE_SPLIT },
        { "fresh-split", no_argument, NULL, OPT_FRESH_SPLIT },
        { "batch-size", required_argument, NULL, OPT_BATCH_SIZE },
        { "no-fallback", no_argument, NULL, OPT_NO_FALLBACK },
        { "junit", required_argument, NULL, OPT_JUNIT },
        { "list-cmd", required_argument, NULL, OPT_LIST_CMD },
        { "list-preset", required_argument, NULL, OPT_LIST_PRESET },
        { "slow-threshold", required_argument, NULL, OPT_SLOW_THRESHOLD },
        { "server-key", required_argument, NULL, OPT_SERVER_KEY },
        { "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
        { "only-failed", no_argument, NULL, OPT_ONLY_FAILED },
        { "fixed-split", no_argument, NULL, OPT_FIXED_SPLIT },
        { "no-wait", no_argument, NULL, OPT_NO_WAIT },
        { "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    memset (flags, 0, sizeof *flags);
    flags->reuse_split = -1;
    flags->log_level = -1;

    //  "+": stop at the first non-option, so the command's own flags are
    //  never taken for ours. ":": a missing value is told apart from an
    //  unknown option. optind 0, not 1, makes glibc (and musl) start
    //  afresh, also after a parse that stopped inside a cluster of short
    //  options: the tests parse many times in one process.
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    while ((opt = util_getopt (argc, argv, "+:", table, &bad)) != -1) {
        switch (opt) {
            case OPT_COORDINATOR: flags->coordinator = optarg; break;
            case OPT_SUITE: flags->suite = optarg; break;
            case OPT_BUILD: flags->build = optarg; break;
            case OPT_INDEX: flags->index = optarg; break;
            case OPT_TOTAL: flags->total = optarg; break;
            case OPT_COMMIT: flags->commit = optarg; break;
            case OPT_BRANCH: flags->branch = optarg; break;
            case OPT_MACHINE: flags->machine = optarg; break;
            case OPT_PATTERN: flags->pattern = optarg; break;
            case OPT_EXCLUDE: options->excludes[options->exclude_count++] = optarg; break;
            case OPT_TESTS_FROM: flags->tests_from = optarg; break;
            case OPT_TIMEOUT: flags->timeout = optarg; break;
            case OPT_RETRIES: flags->retries = optarg; break;
            case OPT_MODE: flags->mode = optarg; break;
            case OPT_REUSE_SPLIT: flags->reuse_split = 1; break;
            case OPT_FRESH_SPLIT: flags->reuse_split = 0; break;
            case OPT_BATCH_SIZE: flags->batch_size = optarg; break;
            case OPT_NO_FALLBACK: flags->no_fallback = true; break;
            case OPT_JUNIT: flags->junit = optarg; break;
            case OPT_LIST_CMD: flags->list_cmd = optarg; break;
            case OPT_LIST_PRESET: flags->list_preset = optarg; break;
            case OPT_SLOW_THRESHOLD: flags->slow_threshold = optarg; break;
            case OPT_SERVER_KEY: flags->server_key = optarg; break;
            case OPT_CLIENT_CERT: flags->client_cert = optarg; break;
            case OPT_ONLY_FAILED: flags->only_failed = true; break;
            case OPT_FIXED_SPLIT: flags->fixed_split = true; break;
            case OPT_NO_WAIT: flags->no_wait = true; break;
            case OPT_FAIL_FAST: flags->fail_fast = true; break;
            case OPT_VERBOSE:
                flags->log_level = LOG_LEVEL_DEBUG;
                flags->log_flag = "--verbose";
                break;
            case OPT_QUIET:
                flags->log_level = LOG_LEVEL_WARN;
                flags->log_flag = "--quiet";
                break;
            case OPT_HELP:
                if (strcmp (command, "env") == 0)
                    run_options_env_usage (stdout);
                else
                    run_options_usage (stdout);
                return RUN_OPTIONS_HELP;
            case ':':
                return s_usage_error (command, "option %s needs a value", bad);
            default:
                if (optopt > 0 && optopt < 256 && bad && bad[0] == '-' && bad[1] != '-')
                    return s_usage_error (command, "unknown option '-%c'", optopt);
                return s_usage_error (command, "unknown option '%s'", bad);
        }
    }
    options->command = argv + optind;
    options->command_count = (size_t) (argc - optind);
    return RUN_OPTIONS_OK;
}

//  Node index, node total and build id, each from the flag, its variables
//  or the CI system. Checks the index and total only if both are given.
static run_options_result_t
s_resolve_nodes (const s_flags_t *flags, const char *command, run_options_mode_t mode,
                 run_options_t *options)
{
    run_sources_t *sources = &options->sources;
    const ci_env_t *ci = &options->ci;
    options->build = s_pick (flags->build, "--build", "SATCHEL_BUILD_ID",
                             "KNAPSACK_PRO_CI_NODE_BUILD_ID", &sources->build);
    if (s_fall_back_to_ci (&ci->build, &options->build, &sources->build) != 0)
        return s_usage_error (command, "%s; give --build or SATCHEL_BUILD_ID instead",
                              ci->build.error);
    const char *total = s_pick (flags->total, "--node-total", "SATCHEL_NODE_TOTAL",
                                "KNAPSACK_PRO_CI_NODE_TOTAL", &sources->node_total);
    if (s_fall_back_to_ci (&ci->total, &total, &sources->node_total) != 0)
        return s_usage_error (command, "the node total from the CI system cannot be used: %s; "
                              "give --node-total or SATCHEL_NODE_TOTAL instead",
                              ci->total.error);
    const char *index = s_pick (flags->index, "--node-index", "SATCHEL_NODE_INDEX",
                                "KNAPSACK_PRO_CI_NODE_INDEX", &sources->node_index);
    if (s_fall_back_to_ci (&ci->index, &index, &sources->node_index) != 0)
        return s_usage_error (command, "the node index from the CI system cannot be used: %s; "
                              "give --node-index or SATCHEL_NODE_INDEX instead",
                              ci->index.error);
    //  The provider's own advice, for a missing index or total.
    const char *provider = ci->provider ? ci->provider : "";
    const char *colon = ci->provider ? ": " : "";
    if (!total && mode == RUN_OPTIONS_STRICT)
        return s_usage_error (command, "--node-total is required (or set SATCHEL_NODE_TOTAL); "
                              "%s%s%s", provider, colon, ci->hint);
    if (total && util_parse_u32 (total, 1, 100000, &options->node_total) != 0)
        return s_usage_error (command, "the node total must be a whole number from 1 to "
                              "100000 (%s)", sources->node_total);
    if (!index && mode == RUN_OPTIONS_STRICT)
        return s_usage_error (command, "--node-index is required (or set SATCHEL_NODE_INDEX); "
                              "%s%s%s", provider, colon, ci->hint);
    if (index && util_parse_u32 (index, 0, 99999, &options->node_index) != 0)
        return s_usage_error (command, "the node index must be a whole number counting "
                              "from 0 (%s)", sources->node_index);
    if (index && total && options->node_index >= options->node_total) {
        fprintf (stderr, "satchel: node index %u is not below node total %u "
                         "(indexes count from 0; index from %s, total from %s)\n",
                 options->node_index, options->node_total, sources->node_index,
                 sources->node_total);
        return s_usage_error (command, "%s", "fix --node-index or --node-total");
    }
    return RUN_OPTIONS_OK;
}

//  A number macro's value as a string literal.
#define S_STR(x) #x
#define S_XSTR(x) S_STR (x)

//  Whether name can be sent as the join's "machine", as satcheld checks
//  it: at most PROTO_MACHINE_MAX bytes of printable ASCII, no space (the
//  caller deals with empty). Returns 0, or -1 with what is wrong in why.
static int
s_check_machine (const char *name, char *why, size_t size)
{
    size_t length = strlen (name);
    if (length > PROTO_MACHINE_MAX) {
        snprintf (why, size, "this one is %zu bytes", length);
        return -1;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) name[i];
        if (c < 0x21 || c > 0x7e) {
            snprintf (why, size, "this one holds byte 0x%02x%s at position %zu", c,
                      c == ' ' ? " (a space)" : "", i);
            return -1;
        }
    }
    return 0;
}

//  The machine this agent runs on: the flag, else SATCHEL_MACHINE (where,
//  unlike elsewhere, empty is a value: "no machine"), else the host name.
//  A bad name the user gave is a usage error; a host name that cannot be
//  sent is not (the user did not ask for it): then no machine is sent, and
//  the source says why (run.c logs it).
static run_options_result_t
s_resolve_machine (const s_flags_t *flags, const char *command, run_options_t *options)
{
    run_sources_t *sources = &options->sources;
    const char *value = flags->machine;
    sources->machine = "--machine";
    if (!value) {
        value = getenv ("SATCHEL_MACHINE");
        sources->machine = "SATCHEL_MACHINE";
    }
    if (value) {
        char why[128];
        if (*value && s_check_machine (value, why, sizeof why) != 0)
            return s_usage_error (command, "the machine name must be 1 to %d bytes of "
                                  "printable ASCII without spaces (like ci-runner-7), or empty "
                                  "(--machine '') to send none; %s (%s)", PROTO_MACHINE_MAX,
                                  why, sources->machine);
        options->machine = *value ? value : NULL;
        return RUN_OPTIONS_OK;
    }
    //  Room for any host name: POSIX may truncate without a NUL when the
    //  buffer is short, so the last byte is set here; a name that long is
    //  over the limit anyway.
    char name[256];
    if (gethostname (name, sizeof name) != 0) {
        sources->machine = "default: gethostname failed, no machine is sent";
        return RUN_OPTIONS_OK;
    }
    name[sizeof name - 1] = 0;
    options->host_name = util_strdup (name);
    char why[128];
    if (!*name)
        sources->machine = "default: the host name is empty, no machine is sent";
    else
    if (strlen (name) > PROTO_MACHINE_MAX)
        sources->machine = "default: the host name is longer than " S_XSTR (PROTO_MACHINE_MAX)
                           " bytes, no machine is sent";
    else
    if (s_check_machine (name, why, sizeof why) != 0)
        sources->machine = "default: the host name holds a space or a byte that is not "
                           "printable ASCII, no machine is sent";
    else {
        options->machine = options->host_name;
        sources->machine = "default (the host name)";
    }
    return RUN_OPTIONS_OK;
}

//  The yes/no settings, the mode, batch size, timeout, retries, log level.
static run_options_result_t
s_resolve_switches (const s_flags_t *flags, const char *command, run_options_t *options)
{
    run_sources_t *sources = &options->sources;
    struct {
        bool flag_given;         //  the flag was given
        bool flag_value;         //  what it says
        const char *flag;        //  its name
        const char *var;         //  SATCHEL_ variable
        const char *alias;       //  KNAPSACK_PRO_ alias, or NULL
        bool def;                //  default
        bool *out;               //  the option
        const char **source;     //  its source
    } bools[] = {
        { flags->only_failed, true, "--only-failed", "SATCHEL_RETRY_ONLY_FAILED", NULL,
          false, &options->only_failed, &sources->only_failed },
        { flags->fixed_split, true, "--fixed-split", "SATCHEL_FIXED_QUEUE_SPLIT",
          "KNAPSACK_PRO_FIXED_QUEUE_SPLIT", false, &options->fixed_split,
          &sources->fixed_split },
        { flags->no_wait, true, "--no-wait", "SATCHEL_NO_WAIT", NULL,
          false, &options->no_wait, &sources->no_wait },
        { flags->fail_fast, true, "--fail-fast", "SATCHEL_FAIL_FAST", NULL,
          false, &options->fail_fast, &sources->fail_fast },
        { flags->reuse_split >= 0, flags->reuse_split == 1,
          flags->reuse_split == 1 ? "--reuse-split" : "--fresh-split",
          "SATCHEL_FIXED_TEST_SUITE_SPLIT", "KNAPSACK_PRO_FIXED_TEST_SUITE_SPLIT",
          true, &options->reuse_split, &sources->reuse_split },
        { flags->no_fallback, false, "--no-fallback", "SATCHEL_FALLBACK",
          "KNAPSACK_PRO_FALLBACK_MODE_ENABLED", true, &options->fallback,
          &sources->fallback },
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        if (s_pick_bool (bools[i].flag_given, bools[i].flag_value, bools[i].flag,
                         bools[i].var, bools[i].alias, bools[i].def, bools[i].out,
                         bools[i].source) != 0)
            return s_usage_error (command, "%s must be 1 or 0 (true/false, yes/no), not '%s'",
                                  *bools[i].source, getenv (*bools[i].source));
    }

    const char *mode = s_pick (flags->mode, "--mode", "SATCHEL_MODE", NULL, &sources->mode);
    options->mode = RUN_MODE_QUEUE;
    if (!mode)
        sources->mode = "default";
    else
    if (strcmp (mode, "regular") == 0)
        options->mode = RUN_MODE_REGULAR;
    else
    if (strcmp (mode, "queue") != 0)
        return s_usage_error (command, "the mode must be queue or regular, not '%s' (%s)",
                              mode, sources->mode);

    const char *batch = s_pick (flags->batch_size, "--batch-size", "SATCHEL_BATCH_SIZE", NULL,
                                &sources->batch_size);
    options->batch_size = 0;
    if (!batch)
        sources->batch_size = "default";
    else
    if (util_parse_u32 (batch, 0, 100000, &options->batch_size) != 0)
        return s_usage_error (command, "the batch size must be a whole number from 0 (the "
                              "whole list) to 100000 (%s)", sources->batch_size);

    const char *timeout = s_pick (flags->timeout, "--timeout", "SATCHEL_TIMEOUT", NULL,
                                  &sources->timeout);
    options->timeout_ms = 5000;
    if (!timeout)
        sources->timeout = "default";
    else
    if (util_parse_seconds_ms (timeout, 10, 3600 * 1000, &options->timeout_ms) != 0)
        return s_usage_error (command, "the timeout must be seconds from 0.01 to 3600 (%s)",
                              sources->timeout);
    const char *retries = s_pick (flags->retries, "--retries", "SATCHEL_RETRIES", NULL,
                                  &sources->retries);
    options->retries = 3;
    if (!retries)
        sources->retries = "default";
    else
    if (util_parse_u32 (retries, 0, 100, &options->retries) != 0)
        return s_usage_error (command, "the retries must be a whole number from 0 to 100 (%s)",
                              sources->retries);

    options->log_level = LOG_LEVEL_INFO;
    sources->log_level = "default";
    if (flags->log_level >= 0) {
        options->log_level = (log_level_t) flags->log_level;
        sources->log_level = flags->log_flag;
    }
    else {
        const char *level = s_pick (NULL, NULL, "SATCHEL_LOG_LEVEL", "KNAPSACK_PRO_LOG_LEVEL",
                                    &sources->log_level);
        if (!level)
            sources->log_level = "default";
        else
        if (s_parse_log_level (level, &options->log_level) != 0)
            return s_usage_error (command, "the log level must be debug, info, warn or error, "
                                  "not '%s' (%s)", level, sources->log_level);
    }
    return RUN_OPTIONS_OK;
}

//  Where the tests are: pattern or list, and the excludes.
static run_options_result_t
s_resolve_tests (const s_flags_t *flags, const char *command, run_options_mode_t mode,
                 run_options_t *options)
{
    run_sources_t *sources = &options->sources;
    options->pattern = s_pick (flags->pattern, "--pattern", "SATCHEL_TEST_PATTERN",
                               "KNAPSACK_PRO_TEST_FILE_PATTERN", &sources->pattern);
    options->tests_from = s_pick (flags->tests_from, "--tests-from", "SATCHEL_TESTS_FROM",
                                  "KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE",
                                  &sources->tests_from);
    if (options->pattern && options->tests_from) {
        //  The stronger source wins (a flag over a variable set for the
        //  whole CI project); two of Knapsack Pro's: the list, as there.
        int pattern_level = s_level (sources->pattern);
        int list_level = s_level (sources->tests_from);
        if (pattern_level == list_level && pattern_level > 1)
            return s_usage_error (command, "give --pattern or --tests-from, not both (%s, %s)",
                                  sources->pattern, sources->tests_from);
        if (pattern_level > list_level) {
            options->tests_from = NULL;
            sources->tests_from = NULL;
        }
        else {
            options->pattern = NULL;
            sources->pattern = NULL;
        }
    }
    if (options->exclude_count > 0)
        sources->excludes = "--exclude";
    else {
        const char *exclude = s_pick (NULL, NULL, "SATCHEL_TEST_EXCLUDE",
                                      "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN",
                                      &sources->excludes);
        //  Knapsack Pro ignores its exclude pattern when it reads a list.
        bool knapsack_list = sources->tests_from
                             && strcmp (sources->tests_from,
                                        "KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE") == 0;
        if (exclude && knapsack_list && s_level (sources->excludes) == 1)
            sources->excludes = NULL;
        else
        if (exclude)
            options->excludes[options->exclude_count++] = exclude;
    }
    char why[512];
    if (options->pattern && glob_check (options->pattern, why, sizeof why) != 0)
        return s_usage_error (command, "%s (%s)", why, sources->pattern);
    for (size_t i = 0; i < options->exclude_count; i++) {
        if (glob_check (options->excludes[i], why, sizeof why) != 0)
            return s_usage_error (command, "%s (%s)", why, sources->excludes);
    }
    if (!options->pattern && !options->tests_from && mode == RUN_OPTIONS_STRICT)
        return s_usage_error (command, "%s", "say where the tests are: --pattern GLOB "
                                             "(SATCHEL_TEST_PATTERN) or --tests-from FILE");
    return RUN_OPTIONS_OK;
}

//  Where per-test times come from, and how to split slow files.
static run_options_result_t
s_resolve_reports (const s_flags_t *flags, const char *command, run_options_t *options)
{
    run_sources_t *sources = &options->sources;
    options->junit = s_pick (flags->junit, "--junit", "SATCHEL_JUNIT", NULL, &sources->junit);
    for (size_t i = 0; i < options->command_count; i++)
        if (strstr (options->command[i], RUN_JUNIT_MARK))
            options->junit_in_command = true;
    options->list_cmd = s_pick (flags->list_cmd, "--list-cmd", "SATCHEL_LIST_CMD", NULL,
                                &sources->list_cmd);
    const char *preset = s_pick (flags->list_preset, "--list-preset", "SATCHEL_LIST_PRESET",
                                 NULL, &sources->list_preset);
    options->list_preset = LIST_PRESET_NONE;
    if (preset && list_preset_parse (preset, &options->list_preset) != 0)
        return s_usage_error (command, "the list preset must be rspec, pytest or lines, not "
                              "'%s' (%s)", preset, sources->list_preset);
    char why[512];
    if (options->list_cmd && list_command_check (options->list_cmd, why, sizeof why) != 0)
        return s_usage_error (command, "%s (%s)", why, sources->list_cmd);
    options->can_list = options->list_cmd || options->list_preset != LIST_PRESET_NONE;
    const char *slow = s_pick (flags->slow_threshold, "--slow-threshold",
                               "SATCHEL_SLOW_THRESHOLD", NULL, &sources->slow_threshold);
    options->slow_threshold_ms = 0;
    if (slow && util_parse_seconds_ms (slow, 1, PROTO_DURATION_MS_MAX,
                                       &options->slow_threshold_ms) != 0)
        return s_usage_error (command, "the slow threshold must be seconds from 0.001 (%s)",
                              sources->slow_threshold);
    if (slow && !options->can_list)
        return s_usage_error (command, "--slow-threshold splits slow files into their examples, "
                              "which needs --list-cmd or --list-preset (%s)",
                              sources->slow_threshold);
    return RUN_OPTIONS_OK;
}

run_options_result_t
run_options_resolve (int argc, char **argv, run_options_mode_t mode, run_options_t *options)
{
    memset (options, 0, sizeof *options);
    const char *command = argc > 0 && strcmp (argv[0], "env") == 0 ? "env" : "run";
    options->excludes = util_calloc ((size_t) argc + 2, sizeof (char *));
    ci_env_detect (ci_env_getenv, NULL, &options->ci);
    run_sources_t *sources = &options->sources;

    s_flags_t flags;
    run_options_result_t rc = s_read_flags (argc, argv, command, &flags, options);
    if (rc != RUN_OPTIONS_OK)
        return rc;

    options->coordinator = s_pick (flags.coordinator, "--coordinator", "SATCHEL_COORDINATOR",
                                   NULL, &sources->coordinator);
    if (!options->coordinator) {
        options->coordinator = "tcp://127.0.0.1:7450";
        sources->coordinator = "default";
    }
    options->server_key = s_pick (flags.server_key, "--server-key", "SATCHEL_SERVER_KEY", NULL,
                                  &sources->server_key);
    options->client_cert = s_pick (flags.client_cert, "--client-cert", "SATCHEL_CLIENT_CERT",
                                   NULL, &sources->client_cert);
    //  One without the other cannot make a CurveZMQ connection; saying so
    //  here beats a handshake that fails for want of a key.
    if (!options->server_key != !options->client_cert)
        return s_usage_error (command, "CurveZMQ needs both --server-key FILE "
                              "(SATCHEL_SERVER_KEY) and --client-cert FILE (SATCHEL_CLIENT_CERT); "
                              "only %s is set", options->server_key ? sources->server_key
                                                                    : sources->client_cert);
    options->suite = s_pick (flags.suite, "--suite", "SATCHEL_SUITE", NULL, &sources->suite);
    if (!options->suite && mode == RUN_OPTIONS_STRICT)
        return s_usage_error (command, "%s", "--suite is required (or set SATCHEL_SUITE)");

    rc = s_resolve_nodes (&flags, command, mode, options);
    if (rc != RUN_OPTIONS_OK)
        return rc;
    options->commit = s_pick (flags.commit, "--commit", "SATCHEL_COMMIT",
                              "KNAPSACK_PRO_COMMIT_HASH", &sources->commit);
    if (s_fall_back_to_ci (&options->ci.commit, &options->commit, &sources->commit) != 0)
        return s_usage_error (command, "%s", options->ci.commit.error);
    options->branch = s_pick (flags.branch, "--branch", "SATCHEL_BRANCH",
                              "KNAPSACK_PRO_BRANCH", &sources->branch);
    if (s_fall_back_to_ci (&options->ci.branch, &options->branch, &sources->branch) != 0)
        return s_usage_error (command, "%s", options->ci.branch.error);
    rc = s_resolve_machine (&flags, command, options);
    if (rc != RUN_OPTIONS_OK)
        return rc;

    rc = s_resolve_switches (&flags, command, options);
    if (rc != RUN_OPTIONS_OK)
        return rc;
    //  Without a build id the build can only be named by commit, branch
    //  and node total; run.c says so when it joins.
    if (!options->build) {
        options->fixed_split = true;
        sources->fixed_split = "forced: no build id";
    }
    rc = s_resolve_tests (&flags, command, mode, options);
    if (rc != RUN_OPTIONS_OK)
        return rc;
    if (options->command_count == 0 && mode == RUN_OPTIONS_STRICT)
        return s_usage_error (command, "%s", "the test command is missing after --");
    return s_resolve_reports (&flags, command, options);
}

run_options_result_t
run_options_parse (int argc, char **argv, run_options_t *options)
{
    return run_options_resolve (argc, argv, RUN_OPTIONS_STRICT, options);
}

void
run_options_clear (run_options_t *options)
{
    free (options->excludes);
    options->excludes = NULL;
    options->exclude_count = 0;
    free (options->host_name);
    options->host_name = NULL;
    options->machine = NULL;
    ci_env_clear (&options->ci);
}
