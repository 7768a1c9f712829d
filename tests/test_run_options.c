/*  test_run_options.c: unit tests for resolving the options of `satchel
    run` and `satchel env` (run_options.h): which source wins (flag, then
    SATCHEL_ variable, then KNAPSACK_PRO_ alias, then the CI system), what
    each records as its source, and the new settings' values and errors.
    The process's own environment is used: each test clears every
    variable that could count first.                                      */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_options.h"

extern char **environ;

//  Unset every variable satchel or a CI system's detection could read.
static void
s_clean_env (void)
{
    static const char *prefixes[] = {
        "SATCHEL_", "KNAPSACK_PRO_", "CI", "GITLAB_", "GITHUB_", "BUILDKITE", "CIRCLE",
        "TF_BUILD", "SYSTEM_", "BUILD_", "SEMAPHORE", "REVISION", "BRANCH_NAME", "TRAVIS",
        "CF_", "bamboo_", "DRONE", "TEAMCITY_", "JENKINS_", "GIT_",
    };
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; environ[i] && !again; i++) {
            for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
                if (strncmp (environ[i], prefixes[p], strlen (prefixes[p])) != 0)
                    continue;
                char name[256];
                size_t size = strcspn (environ[i], "=");
                if (size >= sizeof name)
                    break;
                memcpy (name, environ[i], size);
                name[size] = 0;
                unsetenv (name);
                again = true;       //  environ changed: start over
                break;
            }
        }
    }
}

//  A GitLab CI job of a parallel: 4 job, the third node.
static void
s_gitlab (void)
{
    setenv ("GITLAB_CI", "true", 1);
    setenv ("CI_NODE_INDEX", "3", 1);
    setenv ("CI_NODE_TOTAL", "4", 1);
    setenv ("CI_PIPELINE_ID", "900", 1);
    setenv ("CI_COMMIT_SHA", "cisha", 1);
    setenv ("CI_COMMIT_REF_NAME", "cibranch", 1);
}

//  Resolve args (NULL-terminated; args[0] is "run" or "env"). Returns the
//  result; options must be cleared by the caller.
static run_options_result_t
s_resolve (run_options_mode_t mode, const char **args, run_options_t *options)
{
    char *argv[32];
    int argc = 0;
    while (args[argc] && argc < 31) {
        argv[argc] = (char *) args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return run_options_resolve (argc, argv, mode, options);
}

//  As s_resolve, with stderr caught into err (what a usage error says).
static run_options_result_t
s_resolve_err (run_options_mode_t mode, const char **args, run_options_t *options,
               char *err, size_t err_size)
{
    fflush (stderr);
    char path[] = "/tmp/satchel-test-run-options-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    int saved = dup (STDERR_FILENO);
    dup2 (fd, STDERR_FILENO);
    run_options_result_t rc = s_resolve (mode, args, options);
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    lseek (fd, 0, SEEK_SET);
    ssize_t got = read (fd, err, err_size - 1);
    err[got > 0 ? got : 0] = 0;
    close (fd);
    unlink (path);
    return rc;
}

//  --------------------------------------------------------------------------
//  Precedence: one row per setting, each with a value at every level.

typedef struct {
    const char *name;           //  for messages
    const char *flag;           //  the flag
    const char *flag_value;     //  its value
    const char *var;            //  the SATCHEL_ variable
    const char *var_value;      //  its value
    const char *alias;          //  the KNAPSACK_PRO_ alias
    const char *alias_value;    //  its value
    const char *ci_value;       //  what the GitLab job gives, NULL: nothing
    const char *ci_source;      //  and its source
} s_level_row_t;

static const s_level_row_t s_level_rows[] = {
    { "node index", "--node-index", "0", "SATCHEL_NODE_INDEX", "1",
      "KNAPSACK_PRO_CI_NODE_INDEX", "3", "2", "CI_NODE_INDEX=3 (GitLab CI, counts from 1)" },
    { "node total", "--node-total", "7", "SATCHEL_NODE_TOTAL", "6",
      "KNAPSACK_PRO_CI_NODE_TOTAL", "5", "4", "CI_NODE_TOTAL=4 (GitLab CI)" },
    { "build", "--build", "b-flag", "SATCHEL_BUILD_ID", "b-var",
      "KNAPSACK_PRO_CI_NODE_BUILD_ID", "b-alias", "900", "CI_PIPELINE_ID=900 (GitLab CI)" },
    { "commit", "--commit", "c-flag", "SATCHEL_COMMIT", "c-var",
      "KNAPSACK_PRO_COMMIT_HASH", "c-alias", "cisha", "CI_COMMIT_SHA=cisha (GitLab CI)" },
    { "branch", "--branch", "br-flag", "SATCHEL_BRANCH", "br-var",
      "KNAPSACK_PRO_BRANCH", "br-alias", "cibranch",
      "CI_COMMIT_REF_NAME=cibranch (GitLab CI)" },
    { "pattern", "--pattern", "p/*.flag", "SATCHEL_TEST_PATTERN", "p/*.var",
      "KNAPSACK_PRO_TEST_FILE_PATTERN", "p/**{,/*/**}/*.alias", NULL, NULL },
    { "tests from", "--tests-from", "t-flag", "SATCHEL_TESTS_FROM", "t-var",
      "KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE", "t-alias", NULL, NULL },
};

//  The row's setting as text, and its source.
static void
s_setting (const run_options_t *options, const char *name, char *value, size_t size,
           const char **source)
{
    const run_sources_t *sources = &options->sources;
    const char *text = NULL;
    *source = NULL;
    if (strcmp (name, "node index") == 0 || strcmp (name, "node total") == 0) {
        bool index = strcmp (name, "node index") == 0;
        *source = index ? sources->node_index : sources->node_total;
        if (*source)
            snprintf (value, size, "%u", index ? options->node_index : options->node_total);
        else
            snprintf (value, size, "(null)");
        return;
    }
    if (strcmp (name, "build") == 0) {
        text = options->build;
        *source = sources->build;
    }
    else
    if (strcmp (name, "commit") == 0) {
        text = options->commit;
        *source = sources->commit;
    }
    else
    if (strcmp (name, "branch") == 0) {
        text = options->branch;
        *source = sources->branch;
    }
    else
    if (strcmp (name, "pattern") == 0) {
        text = options->pattern;
        *source = sources->pattern;
    }
    else {
        text = options->tests_from;
        *source = sources->tests_from;
    }
    snprintf (value, size, "%s", text ? text : "(null)");
}

static void
s_expect (const s_level_row_t *row, const char **args, const char *value, const char *source)
{
    run_options_t options;
    run_options_result_t rc = s_resolve (RUN_OPTIONS_LENIENT, args, &options);
    char got[256] = "(unset)";
    const char *got_source = NULL;
    if (rc == RUN_OPTIONS_OK)
        s_setting (&options, row->name, got, sizeof got, &got_source);
    bool ok = rc == RUN_OPTIONS_OK && strcmp (got, value ? value : "(null)") == 0
              && ((!source && !got_source)
                  || (source && got_source && strcmp (source, got_source) == 0));
    if (!ok)
        printf ("  %s: got '%s' from '%s' (rc %d), expected '%s' from '%s'\n", row->name,
                got, got_source ? got_source : "(null)", rc, value ? value : "(null)",
                source ? source : "(null)");
    run_options_clear (&options);
    assert_true (ok);
}

static void
test_precedence (void **state)
{
    for (size_t i = 0; i < sizeof s_level_rows / sizeof s_level_rows[0]; i++) {
        const s_level_row_t *row = &s_level_rows[i];
        s_clean_env ();
        s_gitlab ();
        setenv (row->var, row->var_value, 1);
        setenv (row->alias, row->alias_value, 1);
        const char *with_flag[] = { "env", row->flag, row->flag_value, NULL };
        const char *without[] = { "env", NULL };
        //  Everything set: the flag wins.
        s_expect (row, with_flag, row->flag_value, row->flag);
        //  Then the SATCHEL_ variable.
        s_expect (row, without, row->var_value, row->var);
        //  An empty SATCHEL_ variable counts as unset: the alias.
        setenv (row->var, "", 1);
        s_expect (row, without, row->alias_value, row->alias);
        unsetenv (row->var);
        s_expect (row, without, row->alias_value, row->alias);
        //  Then the CI system.
        unsetenv (row->alias);
        s_expect (row, without, row->ci_value, row->ci_source);
        //  With no CI system either: nothing.
        s_clean_env ();
        s_expect (row, without, NULL, NULL);
    }
}

//  --------------------------------------------------------------------------

static void
test_missing_index_names_variable_and_hint (void **state)
{
    s_clean_env ();
    setenv ("GITHUB_ACTIONS", "true", 1);
    setenv ("GITHUB_RUN_ID", "42", 1);
    const char *args[] = { "run", "--suite", "s", "--node-total", "2", "--pattern", "*.rb",
                           "--", "true", NULL };
    run_options_t options;
    char err[2048];
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, args, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    printf ("%s", err);
    assert_non_null (strstr (err, "--node-index is required"));
    assert_non_null (strstr (err, "SATCHEL_NODE_INDEX"));
    assert_non_null (strstr (err, "GitHub Actions: "));
    assert_non_null (strstr (err, "strategy.job-index"));
    assert_non_null (strstr (err, "Usage: satchel run"));

    //  The total likewise; with no CI system, the general advice.
    s_clean_env ();
    const char *no_total[] = { "run", "--suite", "s", "--node-index", "0",
                               "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, no_total, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "--node-total is required"));
    assert_non_null (strstr (err, "SATCHEL_NODE_TOTAL"));
    assert_non_null (strstr (err, "no CI system was detected"));

    //  Lenient parsing (satchel env) lets them be missing.
    const char *lenient[] = { "env", NULL };
    assert_int_equal (s_resolve (RUN_OPTIONS_LENIENT, lenient, &options), RUN_OPTIONS_OK);
    assert_null (options.sources.node_index);
    assert_null (options.sources.node_total);
    assert_null (options.sources.suite);
    assert_null (options.suite);
    run_options_clear (&options);
}

static void
test_ci_index_errors (void **state)
{
    //  GitLab's CI_NODE_INDEX counts from 1: 0 is refused, not wrapped.
    s_clean_env ();
    s_gitlab ();
    setenv ("CI_NODE_INDEX", "0", 1);
    const char *args[] = { "run", "--suite", "s", "--pattern", "*.rb", "--", "true", NULL };
    run_options_t options;
    char err[2048];
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, args, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "CI_NODE_INDEX=0, but GitLab CI counts nodes from 1"));
    //  A source that wins over the CI system makes its value irrelevant.
    setenv ("SATCHEL_NODE_INDEX", "1", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.node_index, 1);
    assert_string_equal (options.sources.node_index, "SATCHEL_NODE_INDEX");
    run_options_clear (&options);

    //  The converted index must still be below the total.
    s_clean_env ();
    s_gitlab ();
    setenv ("CI_NODE_INDEX", "5", 1);
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, args, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "node index 4 is not below node total 4"));

    //  A whole GitLab job resolves with no flags but the suite and tests.
    s_clean_env ();
    s_gitlab ();
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.node_index, 2);
    assert_int_equal (options.node_total, 4);
    assert_string_equal (options.build, "900");
    assert_string_equal (options.commit, "cisha");
    assert_string_equal (options.branch, "cibranch");
    assert_false (options.fixed_split);
    assert_string_equal (options.ci.provider, "GitLab CI");
    run_options_clear (&options);
}

static void
test_no_build_id_forces_fixed_split (void **state)
{
    s_clean_env ();
    const char *args[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                           "--pattern", "*.rb", "--", "true", NULL };
    run_options_t options;
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_null (options.build);
    assert_null (options.sources.build);
    assert_true (options.fixed_split);
    assert_string_equal (options.sources.fixed_split, "forced: no build id");
    //  Commit and branch stay NULL: run.c asks git.
    assert_null (options.commit);
    assert_null (options.branch);
    run_options_clear (&options);
    //  Even when asked not to: there is no other name for the build.
    setenv ("SATCHEL_FIXED_QUEUE_SPLIT", "0", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_true (options.fixed_split);
    run_options_clear (&options);
    //  With a build id, the default (off) holds.
    setenv ("SATCHEL_BUILD_ID", "77", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.build, "77");
    assert_false (options.fixed_split);
    assert_string_equal (options.sources.fixed_split, "SATCHEL_FIXED_QUEUE_SPLIT");
    run_options_clear (&options);
    unsetenv ("SATCHEL_FIXED_QUEUE_SPLIT");
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_false (options.fixed_split);
    assert_string_equal (options.sources.fixed_split, "default");
    run_options_clear (&options);
    //  Knapsack Pro's name for it.
    setenv ("KNAPSACK_PRO_FIXED_QUEUE_SPLIT", "true", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, args, &options), RUN_OPTIONS_OK);
    assert_true (options.fixed_split);
    assert_string_equal (options.sources.fixed_split, "KNAPSACK_PRO_FIXED_QUEUE_SPLIT");
    run_options_clear (&options);
}

//  Resolve "env" plus args in a clean environment plus vars ("NAME",
//  "value" pairs, NULL-terminated). Returns the result.
static run_options_result_t
s_env_with (const char **args, const char **vars, run_options_t *options)
{
    s_clean_env ();
    for (size_t i = 0; vars && vars[i]; i += 2)
        setenv (vars[i], vars[i + 1], 1);
    const char *argv[16] = { "env" };
    size_t n = 1;
    for (size_t i = 0; args && args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return s_resolve (RUN_OPTIONS_LENIENT, argv, options);
}

static void
test_mode_batch_size_fallback (void **state)
{
    run_options_t options;
    //  Defaults.
    assert_int_equal (s_env_with (NULL, NULL, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.mode, RUN_MODE_QUEUE);
    assert_string_equal (options.sources.mode, "default");
    assert_int_equal (options.batch_size, 0);
    assert_true (options.fallback);
    assert_true (options.reuse_split);
    assert_int_equal (options.log_level, LOG_LEVEL_INFO);
    run_options_clear (&options);

    const char *regular[] = { "--mode", "regular", NULL };
    assert_int_equal (s_env_with (regular, NULL, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.mode, RUN_MODE_REGULAR);
    assert_string_equal (options.sources.mode, "--mode");
    run_options_clear (&options);
    const char *mode_var[] = { "SATCHEL_MODE", "regular", NULL };
    assert_int_equal (s_env_with (NULL, mode_var, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.mode, RUN_MODE_REGULAR);
    run_options_clear (&options);
    const char *queue_flag[] = { "--mode", "queue", NULL };
    assert_int_equal (s_env_with (queue_flag, mode_var, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.mode, RUN_MODE_QUEUE);
    run_options_clear (&options);

    const char *batch[] = { "--batch-size", "50", NULL };
    assert_int_equal (s_env_with (batch, NULL, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.batch_size, 50);
    assert_string_equal (options.sources.batch_size, "--batch-size");
    run_options_clear (&options);
    const char *batch_var[] = { "SATCHEL_BATCH_SIZE", "100000", NULL };
    assert_int_equal (s_env_with (NULL, batch_var, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.batch_size, 100000);
    run_options_clear (&options);

    const char *no_fallback[] = { "--no-fallback", NULL };
    assert_int_equal (s_env_with (no_fallback, NULL, &options), RUN_OPTIONS_OK);
    assert_false (options.fallback);
    assert_string_equal (options.sources.fallback, "--no-fallback");
    run_options_clear (&options);
    const char *fallback_var[] = { "SATCHEL_FALLBACK", "0", NULL };
    assert_int_equal (s_env_with (NULL, fallback_var, &options), RUN_OPTIONS_OK);
    assert_false (options.fallback);
    run_options_clear (&options);
    const char *fallback_alias[] = { "KNAPSACK_PRO_FALLBACK_MODE_ENABLED", "false", NULL };
    assert_int_equal (s_env_with (NULL, fallback_alias, &options), RUN_OPTIONS_OK);
    assert_false (options.fallback);
    assert_string_equal (options.sources.fallback, "KNAPSACK_PRO_FALLBACK_MODE_ENABLED");
    run_options_clear (&options);

    const char *fresh[] = { "--fresh-split", NULL };
    assert_int_equal (s_env_with (fresh, NULL, &options), RUN_OPTIONS_OK);
    assert_false (options.reuse_split);
    run_options_clear (&options);
    const char *reuse_off[] = { "SATCHEL_FIXED_TEST_SUITE_SPLIT", "0", NULL };
    assert_int_equal (s_env_with (NULL, reuse_off, &options), RUN_OPTIONS_OK);
    assert_false (options.reuse_split);
    run_options_clear (&options);
    const char *reuse[] = { "--reuse-split", NULL };
    assert_int_equal (s_env_with (reuse, reuse_off, &options), RUN_OPTIONS_OK);
    assert_true (options.reuse_split);
    assert_string_equal (options.sources.reuse_split, "--reuse-split");
    run_options_clear (&options);
    const char *reuse_alias[] = { "KNAPSACK_PRO_FIXED_TEST_SUITE_SPLIT", "false", NULL };
    assert_int_equal (s_env_with (NULL, reuse_alias, &options), RUN_OPTIONS_OK);
    assert_false (options.reuse_split);
    run_options_clear (&options);
}

static void
test_bad_values_are_refused (void **state)
{
    static const struct {
        const char *args[4];     //  flags
        const char *vars[3];     //  one variable
        const char *needle;      //  in the message
    } cases[] = {
        { { "--mode", "static", NULL }, { NULL }, "the mode must be queue or regular" },
        { { NULL }, { "SATCHEL_MODE", "Queue", NULL }, "(SATCHEL_MODE)" },
        { { "--batch-size", "100001", NULL }, { NULL }, "batch size" },
        { { "--batch-size", "-1", NULL }, { NULL }, "batch size" },
        { { NULL }, { "SATCHEL_BATCH_SIZE", "lots", NULL }, "(SATCHEL_BATCH_SIZE)" },
        { { NULL }, { "SATCHEL_FALLBACK", "maybe", NULL }, "SATCHEL_FALLBACK must be 1 or 0" },
        { { NULL }, { "KNAPSACK_PRO_FALLBACK_MODE_ENABLED", "sure", NULL },
          "KNAPSACK_PRO_FALLBACK_MODE_ENABLED must be" },
        { { NULL }, { "SATCHEL_FIXED_TEST_SUITE_SPLIT", "2", NULL },
          "SATCHEL_FIXED_TEST_SUITE_SPLIT must be" },
        { { NULL }, { "SATCHEL_LOG_LEVEL", "loud", NULL }, "log level" },
        { { NULL }, { "SATCHEL_NODE_INDEX", "x", NULL }, "(SATCHEL_NODE_INDEX)" },
        { { NULL }, { "KNAPSACK_PRO_CI_NODE_TOTAL", "0", NULL },
          "(KNAPSACK_PRO_CI_NODE_TOTAL)" },
        { { "--mode", NULL }, { NULL }, "option --mode needs a value" },
        { { "--fresh-split", "--frobnicate", NULL }, { NULL }, "unknown option '--frobnicate'" },
        //  No abbreviations: a prefix of a flag is no flag.
        { { "--fresh", NULL }, { NULL }, "unknown option '--fresh'" },
        { { "--server", "tcp://x:1", NULL }, { NULL }, "unknown option '--server'" },
        { { "--coordinator=tcp://x:1", "--suit=web", NULL }, { NULL },
          "unknown option '--suit=web'" },
        { { "-x", NULL }, { NULL }, "unknown option '-x'" },
        { { "--pattern", "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", NULL }, { NULL },
          "more than 256 alternatives" },
        { { NULL }, { "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN",
                      "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", NULL },
          "(KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN)" },
        { { "--pattern", "a", NULL }, { "SATCHEL_TESTS_FROM", "list", NULL }, NULL },
        { { "--pattern", "a" , "--tests-from" }, { NULL }, "option --tests-from needs" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_clean_env ();
        if (cases[i].vars[0])
            setenv (cases[i].vars[0], cases[i].vars[1], 1);
        const char *argv[8] = { "env" };
        size_t n = 1;
        for (size_t k = 0; k < 3 && cases[i].args[k]; k++)
            argv[n++] = cases[i].args[k];
        argv[n] = NULL;
        run_options_t options;
        char err[2048];
        run_options_result_t rc = s_resolve_err (RUN_OPTIONS_LENIENT, argv, &options, err,
                                                 sizeof err);
        run_options_clear (&options);
        //  A NULL needle: this one is fine (a flag beats a variable).
        run_options_result_t expect = cases[i].needle ? RUN_OPTIONS_USAGE : RUN_OPTIONS_OK;
        bool ok = rc == expect && (!cases[i].needle || strstr (err, cases[i].needle));
        if (!ok)
            printf ("  case %zu: rc %d, stderr '%s', expected '%s'\n", i, rc, err,
                    cases[i].needle ? cases[i].needle : "(ok)");
        assert_true (ok);
        if (cases[i].needle)
            assert_non_null (strstr (err, "Usage: satchel env"));
    }
}

static void
test_log_level (void **state)
{
    run_options_t options;
    const char *debug[] = { "SATCHEL_LOG_LEVEL", "debug", NULL };
    assert_int_equal (s_env_with (NULL, debug, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.log_level, LOG_LEVEL_DEBUG);
    assert_string_equal (options.sources.log_level, "SATCHEL_LOG_LEVEL");
    run_options_clear (&options);
    //  The flags win over the variable.
    const char *quiet[] = { "--quiet", NULL };
    assert_int_equal (s_env_with (quiet, debug, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.log_level, LOG_LEVEL_WARN);
    assert_string_equal (options.sources.log_level, "--quiet");
    run_options_clear (&options);
    //  Knapsack Pro's, with its extra level.
    const char *fatal[] = { "KNAPSACK_PRO_LOG_LEVEL", "fatal", NULL };
    assert_int_equal (s_env_with (NULL, fatal, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.log_level, LOG_LEVEL_ERROR);
    assert_string_equal (options.sources.log_level, "KNAPSACK_PRO_LOG_LEVEL");
    run_options_clear (&options);
    const char *warn[] = { "KNAPSACK_PRO_LOG_LEVEL", "warn", NULL };
    assert_int_equal (s_env_with (NULL, warn, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.log_level, LOG_LEVEL_WARN);
    run_options_clear (&options);
}

static void
test_tests_sources (void **state)
{
    run_options_t options;
    //  A flag beats a variable of the other kind.
    const char *list_flag[] = { "--tests-from", "list.txt", NULL };
    const char *pattern_var[] = { "SATCHEL_TEST_PATTERN", "spec/**/*.rb", NULL };
    assert_int_equal (s_env_with (list_flag, pattern_var, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.tests_from, "list.txt");
    assert_null (options.pattern);
    assert_null (options.sources.pattern);
    run_options_clear (&options);
    //  Both as flags: refused.
    const char *both[] = { "--tests-from", "list.txt", "--pattern", "x", NULL };
    assert_int_equal (s_env_with (both, NULL, &options), RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    //  Knapsack Pro's list wins over its pattern and drops its excludes.
    const char *knapsack[] = { "KNAPSACK_PRO_TEST_FILE_PATTERN", "spec/**/*_spec.rb",
                               "KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE", "list.txt",
                               "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN", "spec/slow/**",
                               NULL };
    assert_int_equal (s_env_with (NULL, knapsack, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.tests_from, "list.txt");
    assert_string_equal (options.sources.tests_from, "KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE");
    assert_null (options.pattern);
    assert_int_equal (options.exclude_count, 0);
    run_options_clear (&options);
    //  Its pattern and excludes alone work, braces and all.
    const char *knapsack_pattern[] = { "KNAPSACK_PRO_TEST_FILE_PATTERN",
                                       "spec/**{,/*/**}/*_spec.rb",
                                       "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN",
                                       "spec/{slow,flaky}/**", NULL };
    assert_int_equal (s_env_with (NULL, knapsack_pattern, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.pattern, "spec/**{,/*/**}/*_spec.rb");
    assert_int_equal (options.exclude_count, 1);
    assert_string_equal (options.excludes[0], "spec/{slow,flaky}/**");
    assert_string_equal (options.sources.excludes, "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN");
    run_options_clear (&options);
    //  SATCHEL_TEST_EXCLUDE wins over it; --exclude flags over both.
    const char *excludes[] = { "SATCHEL_TEST_EXCLUDE", "a/**",
                               "KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN", "b/**", NULL };
    assert_int_equal (s_env_with (NULL, excludes, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.exclude_count, 1);
    assert_string_equal (options.excludes[0], "a/**");
    run_options_clear (&options);
    const char *exclude_flags[] = { "--exclude", "c/**", "--exclude", "d/**", NULL };
    assert_int_equal (s_env_with (exclude_flags, excludes, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.exclude_count, 2);
    assert_string_equal (options.excludes[1], "d/**");
    assert_string_equal (options.sources.excludes, "--exclude");
    run_options_clear (&options);
}

static void
test_strict_still_requires (void **state)
{
    s_clean_env ();
    run_options_t options;
    char err[2048];
    const char *no_suite[] = { "run", "--node-index", "0", "--node-total", "1",
                               "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, no_suite, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "--suite is required"));
    const char *no_tests[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                               "--", "true", NULL };
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, no_tests, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "say where the tests are"));
    const char *no_command[] = { "run", "--suite", "s", "--node-index", "0", "--node-total",
                                 "1", "--pattern", "*.rb", NULL };
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, no_command, &options, err,
                                     sizeof err), RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "test command is missing"));
    //  The command's own flags are never taken for satchel's.
    const char *command[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                              "--pattern", "*.rb", "--", "rspec", "--mode", "x", NULL };
    assert_int_equal (run_options_parse (13, (char **) command, &options), RUN_OPTIONS_OK);
    assert_int_equal (options.command_count, 3);
    assert_string_equal (options.command[1], "--mode");
    assert_int_equal (options.mode, RUN_MODE_QUEUE);
    run_options_clear (&options);
    s_clean_env ();
}

static void
test_curve_keys (void **state)
{
    s_clean_env ();
    run_options_t options;
    char err[2048];
    const char *base[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                           "--pattern", "*.rb", NULL, NULL, NULL, NULL, "--", "true", NULL };
    //  Neither: plain text.
    const char *plain[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                            "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, plain, &options), RUN_OPTIONS_OK);
    assert_null (options.server_key);
    assert_null (options.client_cert);
    assert_null (options.sources.server_key);
    run_options_clear (&options);
    //  Flags, and a variable standing in for one of them.
    const char *flags[16];
    memcpy (flags, base, sizeof base);
    flags[9] = "--server-key";
    flags[10] = "/etc/satchel/server";
    flags[11] = "--client-cert";
    flags[12] = "/etc/satchel/ci_secret";
    setenv ("SATCHEL_SERVER_KEY", "/var/other", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, flags, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.server_key, "/etc/satchel/server");
    assert_string_equal (options.sources.server_key, "--server-key");
    assert_string_equal (options.client_cert, "/etc/satchel/ci_secret");
    assert_string_equal (options.sources.client_cert, "--client-cert");
    run_options_clear (&options);
    setenv ("SATCHEL_CLIENT_CERT", "/var/ci_secret", 1);
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, plain, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.server_key, "/var/other");
    assert_string_equal (options.sources.server_key, "SATCHEL_SERVER_KEY");
    assert_string_equal (options.sources.client_cert, "SATCHEL_CLIENT_CERT");
    run_options_clear (&options);
    //  One without the other cannot work: a usage error that names the one.
    unsetenv ("SATCHEL_CLIENT_CERT");
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, plain, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "CurveZMQ needs both"));
    assert_non_null (strstr (err, "only SATCHEL_SERVER_KEY is set"));
    const char *env_half[] = { "env", "--client-cert", "x_secret", NULL };
    unsetenv ("SATCHEL_SERVER_KEY");
    assert_int_equal (s_resolve_err (RUN_OPTIONS_LENIENT, env_half, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "only --client-cert is set"));
    s_clean_env ();
}

//  The host name as the default machine would take it: NULL if it cannot
//  be sent (gethostname failed, empty, too long, a byte outside 0x21..0x7e).
static const char *
s_usable_host_name (char *name, size_t size)
{
    if (gethostname (name, size) != 0)
        return NULL;
    name[size - 1] = 0;
    size_t length = strlen (name);
    if (length == 0 || length > 128)
        return NULL;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char) name[i] < 0x21 || (unsigned char) name[i] > 0x7e)
            return NULL;
    return name;
}

static void
test_machine (void **state)
{
    run_options_t options;
    //  The flag, and the flag over the variable.
    const char *flag[] = { "--machine", "ci-runner-7", NULL };
    assert_int_equal (s_env_with (flag, NULL, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.machine, "ci-runner-7");
    assert_string_equal (options.sources.machine, "--machine");
    assert_null (options.host_name);                //  not even read
    run_options_clear (&options);
    const char *var[] = { "SATCHEL_MACHINE", "box.example:2", NULL };
    assert_int_equal (s_env_with (flag, var, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.machine, "ci-runner-7");
    assert_string_equal (options.sources.machine, "--machine");
    run_options_clear (&options);
    //  The variable alone.
    assert_int_equal (s_env_with (NULL, var, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.machine, "box.example:2");
    assert_string_equal (options.sources.machine, "SATCHEL_MACHINE");
    assert_null (options.host_name);
    run_options_clear (&options);

    //  Neither: the host name, if it can be sent.
    char host[256];
    const char *usable = s_usable_host_name (host, sizeof host);
    assert_int_equal (s_env_with (NULL, NULL, &options), RUN_OPTIONS_OK);
    assert_non_null (options.sources.machine);
    if (usable) {
        assert_non_null (options.machine);
        assert_string_equal (options.machine, usable);
        assert_string_equal (options.host_name, usable);
        assert_string_equal (options.sources.machine, "default (the host name)");
    }
    else {
        printf ("  (this host's name cannot be sent: '%s')\n", options.sources.machine);
        assert_null (options.machine);
        assert_int_equal (strncmp (options.sources.machine, "default: ", 9), 0);
    }
    run_options_clear (&options);
    assert_null (options.host_name);
    assert_null (options.machine);
    //  So in strict mode too, as `satchel run` parses.
    s_clean_env ();
    const char *run[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                          "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, run, &options), RUN_OPTIONS_OK);
    if (usable)
        assert_string_equal (options.machine, usable);
    else
        assert_null (options.machine);
    run_options_clear (&options);
    const char *run_flag[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                               "--machine", "m1", "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_resolve (RUN_OPTIONS_STRICT, run_flag, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.machine, "m1");
    run_options_clear (&options);

    //  Empty says "no machine": as a flag (over the variable, too) and,
    //  unlike the other variables, as SATCHEL_MACHINE.
    const char *empty_flag[] = { "--machine", "", NULL };
    assert_int_equal (s_env_with (empty_flag, var, &options), RUN_OPTIONS_OK);
    assert_null (options.machine);
    assert_string_equal (options.sources.machine, "--machine");
    assert_null (options.host_name);
    run_options_clear (&options);
    const char *empty_var[] = { "SATCHEL_MACHINE", "", NULL };
    assert_int_equal (s_env_with (NULL, empty_var, &options), RUN_OPTIONS_OK);
    assert_null (options.machine);
    assert_string_equal (options.sources.machine, "SATCHEL_MACHINE");
    assert_null (options.host_name);
    run_options_clear (&options);

    //  The edges of what satcheld accepts: 128 bytes, and 0x21..0x7e.
    char longest[130];
    memset (longest, 'm', 128);
    longest[128] = 0;
    const char *at_max[] = { "--machine", longest, NULL };
    assert_int_equal (s_env_with (at_max, NULL, &options), RUN_OPTIONS_OK);
    assert_int_equal (strlen (options.machine), 128);
    run_options_clear (&options);
    const char *edges[] = { "--machine", "!~", NULL };
    assert_int_equal (s_env_with (edges, NULL, &options), RUN_OPTIONS_OK);
    assert_string_equal (options.machine, "!~");
    run_options_clear (&options);
}

static void
test_machine_refused (void **state)
{
    char too_long[130];
    memset (too_long, 'm', 129);
    too_long[129] = 0;
    static const char *const why = "the machine name must be 1 to 128 bytes of printable "
                                   "ASCII without spaces";
    const struct {
        const char *flag;        //  --machine's value, or NULL
        const char *var;         //  SATCHEL_MACHINE's, or NULL
        const char *needle;      //  in the message, besides why and --machine
    } cases[] = {
        { too_long, NULL, "this one is 129 bytes (--machine)" },
        { "ci runner", NULL, "byte 0x20 (a space) at position 2 (--machine)" },
        { " ", NULL, "byte 0x20 (a space) at position 0" },
        { "a\tb", NULL, "byte 0x09 at position 1" },
        { "a\x7f", NULL, "byte 0x7f at position 1" },
        { "caf\xc3\xa9", NULL, "byte 0xc3 at position 3" },
        { NULL, too_long, "this one is 129 bytes (SATCHEL_MACHINE)" },
        { NULL, "my box", "(a space) at position 2 (SATCHEL_MACHINE)" },
        //  A bad variable does not matter where the flag wins.
        { "ok", "my box", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_clean_env ();
        if (cases[i].var)
            setenv ("SATCHEL_MACHINE", cases[i].var, 1);
        const char *env_argv[] = { "env", "--machine", cases[i].flag, NULL };
        const char *env_plain[] = { "env", NULL };
        run_options_t options;
        char err[2048];
        run_options_result_t rc = s_resolve_err (RUN_OPTIONS_LENIENT,
                                                 cases[i].flag ? env_argv : env_plain,
                                                 &options, err, sizeof err);
        if (!cases[i].needle) {
            assert_int_equal (rc, RUN_OPTIONS_OK);
            assert_string_equal (options.machine, cases[i].flag);
            run_options_clear (&options);
            continue;
        }
        run_options_clear (&options);
        bool ok = rc == RUN_OPTIONS_USAGE && strstr (err, why) && strstr (err, "--machine")
                  && strstr (err, cases[i].needle) && strstr (err, "Usage: satchel env");
        if (!ok)
            printf ("  case %zu: rc %d, stderr '%s', expected '%s'\n", i, rc, err,
                    cases[i].needle);
        assert_true (ok);
        //  One message: the reason line, then the usage lines.
        assert_non_null (strstr (err, "satchel: the machine name"));
        assert_null (strstr (strstr (err, "satchel: ") + 1, "satchel: "));
    }
    //  `satchel run` refuses it alike, before anything runs.
    s_clean_env ();
    const char *run[] = { "run", "--suite", "s", "--node-index", "0", "--node-total", "1",
                          "--machine", "a b", "--pattern", "*.rb", "--", "true", NULL };
    run_options_t options;
    char err[2048];
    assert_int_equal (s_resolve_err (RUN_OPTIONS_STRICT, run, &options, err, sizeof err),
                      RUN_OPTIONS_USAGE);
    run_options_clear (&options);
    assert_non_null (strstr (err, "(--machine)"));
    assert_non_null (strstr (err, "Usage: satchel run"));
    s_clean_env ();
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_precedence),
        cmocka_unit_test (test_missing_index_names_variable_and_hint),
        cmocka_unit_test (test_ci_index_errors),
        cmocka_unit_test (test_no_build_id_forces_fixed_split),
        cmocka_unit_test (test_mode_batch_size_fallback),
        cmocka_unit_test (test_bad_values_are_refused),
        cmocka_unit_test (test_log_level),
        cmocka_unit_test (test_tests_sources),
        cmocka_unit_test (test_strict_still_requires),
        cmocka_unit_test (test_curve_keys),
        cmocka_unit_test (test_machine),
        cmocka_unit_test (test_machine_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
