/*  run_options.c: see run_options.h.                                       */
#include "run_options.h"

#include "util.h"

#include <getopt.h>
#include <stddef.h>
#include <strings.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
run_options_usage (FILE *out)
{
    fputs (
"Usage: satchel run [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"Join a build, take batches of tests from satcheld, run each batch with\n"
"COMMAND, report the timings, and repeat until the build's queue is empty.\n"
"An argument that is exactly {} is replaced by the batch's tests, one\n"
"argument each; without {} the tests are appended. No shell is involved.\n"
"\n"
"Options (each also read from the environment variable shown; a flag wins):\n"
"  --coordinator ENDPOINT  satcheld's endpoint             SATCHEL_COORDINATOR\n"
"                          (default tcp://127.0.0.1:7450)\n"
"  --suite NAME            the test suite (required)        SATCHEL_SUITE\n"
"  --build ID              the CI build id (required)       SATCHEL_BUILD_ID\n"
"  --node-index N          this node, 0-based (required)    SATCHEL_NODE_INDEX\n"
"  --node-total N          nodes in the build (required)    SATCHEL_NODE_TOTAL\n"
"  --commit SHA            default: git rev-parse HEAD      SATCHEL_COMMIT\n"
"  --branch NAME           default: asked of git            SATCHEL_BRANCH\n"
"  --pattern GLOB          test files, ** for any folders   SATCHEL_TEST_PATTERN\n"
"                          (e.g. 'spec/**/*_spec.rb')\n"
"  --exclude GLOB          drop matching tests; repeatable  SATCHEL_TEST_EXCLUDE\n"
"  --tests-from FILE       one test a line; - for stdin     SATCHEL_TESTS_FROM\n"
"  --timeout SECONDS       wait for each reply (default 5)  SATCHEL_TIMEOUT\n"
"  --retries N             resends per request (default 3)  SATCHEL_RETRIES\n"
"  --only-failed           a retried node replays only the  SATCHEL_RETRY_ONLY_FAILED=1\n"
"                          tests that did not pass before\n"
"  --fixed-split           name the build by commit, branch SATCHEL_FIXED_QUEUE_SPLIT=1\n"
"                          and node total, so a retry with a new build id replays\n"
"                          each node's tests (for CI systems that renumber retries)\n"
"  --no-wait               exit once the queue is empty      SATCHEL_NO_WAIT=1\n"
"                          instead of waiting to take over batches of lost nodes\n"
"  --fail-fast             the first failure stops every    SATCHEL_FAIL_FAST=1\n"
"                          node after its current batch (set by the first node)\n"
"  --verbose               more of satchel's own messages\n"
"  --quiet                 only warnings and errors\n"
"  --help                  show this help\n"
"\n"
"A retried CI job (a new run on a node that already had batches in this\n"
"build) is given the same tests again, batch by batch, then carries on with\n"
"the queue.\n"
"\n"
"Exit status: 0 if every test this node ran passed in the end (a failure\n"
"that passed when run again is flaky, not failed), 1 if one failed, the\n"
"build stopped (--fail-fast) or satchel could not do its work (the message\n"
"says why), 2 for a usage error.\n", out);
}

static run_options_result_t __attribute__ ((format (printf, 1, 2)))
s_usage_error (const char *fmt, ...)
{
    fputs ("satchel: ", stderr);
    va_list args;
    va_start (args, fmt);
    vfprintf (stderr, fmt, args);
    va_end (args);
    fputs ("\nUsage: satchel run [OPTIONS] -- COMMAND [ARGS...]\n"
           "Try 'satchel run --help' for more information.\n", stderr);
    return RUN_OPTIONS_USAGE;
}

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

//  A yes/no variable: unset or empty keeps *out. Returns 0, or -1 if the
//  value is neither.
static int
s_env_bool (const char *name, bool *out)
{
    const char *value = s_env (name);
    if (!value)
        return 0;
    if (!strcmp (value, "1") || !strcasecmp (value, "true") || !strcasecmp (value, "yes"))
        *out = true;
    else if (!strcmp (value, "0") || !strcasecmp (value, "false") || !strcasecmp (value, "no"))
        *out = false;
    else
        return -1;
    return 0;
}

run_options_result_t
run_options_parse (int argc, char **argv, run_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->log_level = LOG_LEVEL_INFO;
    enum {
        OPT_COORDINATOR = 256, OPT_SUITE, OPT_BUILD, OPT_INDEX, OPT_TOTAL, OPT_COMMIT,
        OPT_BRANCH, OPT_PATTERN, OPT_EXCLUDE, OPT_TESTS_FROM, OPT_TIMEOUT, OPT_RETRIES,
        OPT_VERBOSE, OPT_QUIET, OPT_HELP, OPT_ONLY_FAILED, OPT_FIXED_SPLIT, OPT_NO_WAIT,
        OPT_FAIL_FAST
    };
    static const struct option table[] = {
        { "coordinator", required_argument, NULL, OPT_COORDINATOR },
        { "suite", required_argument, NULL, OPT_SUITE },
        { "build", required_argument, NULL, OPT_BUILD },
        { "node-index", required_argument, NULL, OPT_INDEX },
        { "node-total", required_argument, NULL, OPT_TOTAL },
        { "commit", required_argument, NULL, OPT_COMMIT },
        { "branch", required_argument, NULL, OPT_BRANCH },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "exclude", required_argument, NULL, OPT_EXCLUDE },
        { "tests-from", required_argument, NULL, OPT_TESTS_FROM },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "only-failed", no_argument, NULL, OPT_ONLY_FAILED },
        { "fixed-split", no_argument, NULL, OPT_FIXED_SPLIT },
        { "no-wait", no_argument, NULL, OPT_NO_WAIT },
        { "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    const char *index_text = s_env ("SATCHEL_NODE_INDEX");
    const char *total_text = s_env ("SATCHEL_NODE_TOTAL");
    const char *timeout_text = s_env ("SATCHEL_TIMEOUT");
    const char *retries_text = s_env ("SATCHEL_RETRIES");
    const char *index_from = "SATCHEL_NODE_INDEX";
    const char *total_from = "SATCHEL_NODE_TOTAL";
    const char *timeout_from = "SATCHEL_TIMEOUT";
    const char *retries_from = "SATCHEL_RETRIES";
    options->coordinator = s_env ("SATCHEL_COORDINATOR");
    options->suite = s_env ("SATCHEL_SUITE");
    options->build = s_env ("SATCHEL_BUILD_ID");
    options->commit = getenv ("SATCHEL_COMMIT");
    options->branch = getenv ("SATCHEL_BRANCH");
    options->pattern = s_env ("SATCHEL_TEST_PATTERN");
    options->tests_from = s_env ("SATCHEL_TESTS_FROM");
    const char *env_exclude = s_env ("SATCHEL_TEST_EXCLUDE");
    static const struct { const char *name; size_t offset; } bools[] = {
        { "SATCHEL_RETRY_ONLY_FAILED", offsetof (run_options_t, only_failed) },
        { "SATCHEL_FIXED_QUEUE_SPLIT", offsetof (run_options_t, fixed_split) },
        { "SATCHEL_NO_WAIT", offsetof (run_options_t, no_wait) },
        { "SATCHEL_FAIL_FAST", offsetof (run_options_t, fail_fast) },
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        if (s_env_bool (bools[i].name, (bool *) ((char *) options + bools[i].offset)) != 0)
            return s_usage_error ("%s must be 1 or 0 (true/false, yes/no), not '%s'",
                                  bools[i].name, getenv (bools[i].name));
    options->excludes = util_calloc ((size_t) argc + 1, sizeof (char *));
    bool flag_excludes = false;

    //  "+": stop at the first non-option, so the command's own flags are
    //  never taken for ours.
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "+", table, NULL)) != -1) {
        switch (opt) {
            case OPT_COORDINATOR: options->coordinator = optarg; break;
            case OPT_SUITE: options->suite = optarg; break;
            case OPT_BUILD: options->build = optarg; break;
            case OPT_INDEX: index_text = optarg; index_from = "--node-index"; break;
            case OPT_TOTAL: total_text = optarg; total_from = "--node-total"; break;
            case OPT_COMMIT: options->commit = optarg; break;
            case OPT_BRANCH: options->branch = optarg; break;
            case OPT_PATTERN: options->pattern = optarg; break;
            case OPT_EXCLUDE:
                options->excludes[options->exclude_count++] = optarg;
                flag_excludes = true;
                break;
            case OPT_TESTS_FROM: options->tests_from = optarg; break;
            case OPT_TIMEOUT: timeout_text = optarg; timeout_from = "--timeout"; break;
            case OPT_RETRIES: retries_text = optarg; retries_from = "--retries"; break;
            case OPT_ONLY_FAILED: options->only_failed = true; break;
            case OPT_FIXED_SPLIT: options->fixed_split = true; break;
            case OPT_NO_WAIT: options->no_wait = true; break;
            case OPT_FAIL_FAST: options->fail_fast = true; break;
            case OPT_VERBOSE: options->log_level = LOG_LEVEL_DEBUG; break;
            case OPT_QUIET: options->log_level = LOG_LEVEL_WARN; break;
            case OPT_HELP:
                run_options_usage (stdout);
                return RUN_OPTIONS_HELP;
            case ':':
                return s_usage_error ("option %s needs a value", argv[optind - 1]);
            default:
                if (optopt)
                    return s_usage_error ("option %s needs a value", argv[optind - 1]);
                return s_usage_error ("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!flag_excludes && env_exclude)
        options->excludes[options->exclude_count++] = env_exclude;
    options->command = argv + optind;
    options->command_count = (size_t) (argc - optind);

    if (!options->coordinator)
        options->coordinator = "tcp://127.0.0.1:7450";
    if (!options->suite)
        return s_usage_error ("%s", "--suite is required (or set SATCHEL_SUITE)");
    if (!options->build)
        return s_usage_error ("%s", "--build is required (or set SATCHEL_BUILD_ID)");
    if (!total_text)
        return s_usage_error ("%s", "--node-total is required (or set SATCHEL_NODE_TOTAL)");
    if (util_parse_u32 (total_text, 1, 100000, &options->node_total) != 0)
        return s_usage_error ("the node total must be a whole number from 1 to 100000 (%s)",
                              total_from);
    if (!index_text)
        return s_usage_error ("%s", "--node-index is required (or set SATCHEL_NODE_INDEX)");
    if (util_parse_u32 (index_text, 0, 99999, &options->node_index) != 0)
        return s_usage_error ("the node index must be a whole number counting from 0 (%s)",
                              index_from);
    if (options->node_index >= options->node_total) {
        fprintf (stderr, "satchel: node index %u is not below node total %u "
                         "(indexes count from 0)\n", options->node_index, options->node_total);
        return s_usage_error ("%s", "fix --node-index or --node-total");
    }
    options->timeout_ms = 5000;
    if (timeout_text
        && util_parse_seconds_ms (timeout_text, 10, 3600 * 1000, &options->timeout_ms) != 0)
        return s_usage_error ("the timeout must be seconds from 0.01 to 3600 (%s)", timeout_from);
    options->retries = 3;
    if (retries_text && util_parse_u32 (retries_text, 0, 100, &options->retries) != 0)
        return s_usage_error ("the retries must be a whole number from 0 to 100 (%s)",
                              retries_from);
    if (options->pattern && options->tests_from)
        return s_usage_error ("%s", "give --pattern or --tests-from, not both");
    if (!options->pattern && !options->tests_from)
        return s_usage_error ("%s", "say where the tests are: --pattern GLOB "
                                    "(SATCHEL_TEST_PATTERN) or --tests-from FILE");
    if (options->command_count == 0)
        return s_usage_error ("%s", "the test command is missing after --");
    return RUN_OPTIONS_OK;
}

void
run_options_clear (run_options_t *options)
{
    free (options->excludes);
    options->excludes = NULL;
}
