/*  test_e2e_usage.c: bad use of the commands ends clearly (invariant 8):
    usage errors exit 2 with a usage line; an unreachable daemon ends in
    exit 1 with one clear message within the request budget, never a hang;
    a signal to satchel reaches the running test command; `satchel env`
    shows what a CI system's variables resolve to, and from where.        */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 30000

//  Run satchel with args; return its exit status and its stderr (malloc'd).
static int
s_satchel (char *const *args, const char *cwd, const char *const *env, char **err_text)
{
    char *dir = harness_tmpdir ();
    char err_path[512];
    snprintf (err_path, sizeof err_path, "%s/err", dir);
    char *argv[64];
    argv[0] = harness_bin ("satchel");
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int status = harness_run (argv, cwd ? cwd : dir, env, NULL, err_path, DEADLINE_MS);
    *err_text = harness_read_file (err_path);
    if (!*err_text)
        *err_text = strdup ("");
    free (argv[0]);
    harness_rmtree (dir);
    free (dir);
    return status;
}

static void
test_missing_suite_is_a_usage_error (void **state)
{
    (void) state;
    char *err = NULL;
    char *args[] = { "run", "--build", "1", "--node-index", "0", "--node-total", "1",
                     "--pattern", "*.rb", "--", "true", NULL };
    const char *env[] = { "SATCHEL_SUITE=", NULL };
    assert_int_equal (s_satchel (args, NULL, env, &err), 2);
    assert_non_null (strstr (err, "--suite is required"));
    assert_non_null (strstr (err, "Usage: satchel run"));
    free (err);
}

static void
test_bad_values_are_usage_errors (void **state)
{
    (void) state;
    char *err = NULL;
    char *total[] = { "run", "--suite", "s", "--build", "1", "--node-index", "0",
                      "--node-total", "two", "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_satchel (total, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "node total"));
    free (err);
    char *index[] = { "run", "--suite", "s", "--build", "1", "--node-index", "3",
                      "--node-total", "3", "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_satchel (index, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "node index 3 is not below node total 3"));
    free (err);
    char *nocommand[] = { "run", "--suite", "s", "--build", "1", "--node-index", "0",
                          "--node-total", "1", "--pattern", "*.rb", NULL };
    assert_int_equal (s_satchel (nocommand, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "test command is missing"));
    free (err);
    char *unknown[] = { "run", "--frobnicate", NULL };
    assert_int_equal (s_satchel (unknown, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "unknown option '--frobnicate'"));
    free (err);
    char *command[] = { "launch", NULL };
    assert_int_equal (s_satchel (command, NULL, NULL, &err), 2);
    free (err);
}

static void
test_daemon_flags (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char out[512], err[512];
    snprintf (out, sizeof out, "%s/out", dir);
    snprintf (err, sizeof err, "%s/err", dir);
    char *bin = harness_bin ("satcheld");
    char *help[] = { bin, "--help", NULL };
    assert_int_equal (harness_run (help, dir, NULL, out, err, DEADLINE_MS), 0);
    char *text = harness_read_file (out);
    const char *flags[] = { "--bind", "--db", "--log-level", "--max-message", "--max-nodes",
                            "--runner-startup", "--batch-factor", NULL };
    for (int i = 0; flags[i]; i++)
        assert_non_null (strstr (text, flags[i]));
    free (text);
    char *bad[] = { bin, "--log-level", "loud", NULL };
    assert_int_equal (harness_run (bad, dir, NULL, out, err, DEADLINE_MS), 2);
    text = harness_read_file (err);
    assert_non_null (strstr (text, "--log-level"));
    free (text);
    free (bin);
    harness_rmtree (dir);
    free (dir);
}

static void
test_unreachable_daemon_exits_1_within_budget (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_unit (fx, "one_test.txt", "ms=0\n");
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "%s", e2e_fixture_dead_endpoint (fx));
    char *err = NULL;
    //  --no-fallback: by default a node that cannot reach satcheld runs
    //  its share of a split by name instead (test_e2e_fallback.c).
    char *args[] = { "run", "--coordinator", endpoint, "--suite", "s", "--build", "1",
                     "--node-index", "0", "--node-total", "1", "--pattern", "*_test.txt",
                     "--timeout", "0.3", "--retries", "2", "--commit", "c", "--branch", "b",
                     "--no-fallback", "--", "true", NULL };
    int64_t start = harness_now_ms ();
    //  The deadline (30 s) is far above the budget (3 tries x 0.3 s plus
    //  back-off); a hang would be killed there and fail this assert.
    assert_int_equal (s_satchel (args, fx->suite, NULL, &err), 1);
    fprintf (stderr, "unreachable daemon: exit 1 after %lld ms\n",
             (long long) (harness_now_ms () - start));
    assert_non_null (strstr (err, "cannot reach the coordinator"));
    assert_non_null (strstr (err, endpoint));
    free (err);
}

static void
test_no_tests_found_is_an_error (void **state)
{
    (void) state;
    char *err = NULL;
    char *args[] = { "run", "--suite", "s", "--build", "1", "--node-index", "0",
                     "--node-total", "1", "--pattern", "spec/**/*_spec.rb", "--", "true", NULL };
    assert_int_equal (s_satchel (args, NULL, NULL, &err), 1);
    assert_non_null (strstr (err, "no tests found"));
    free (err);
}

static void
test_missing_test_command_is_an_error (void **state)
{
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    e2e_fixture_daemon (fx, NULL);
    e2e_fixture_unit (fx, "one_test.txt", "ms=0\n");
    const char *command[] = { "no-such-runner-xyz", "{}", NULL };
    e2e_agent_t agent = { .tag = "agent", .suite = "s", .build = "1", .total = 1,
                          .commit = "c", .branch = "b", .pattern = "*_test.txt",
                          .command = command };
    char *err = e2e_fixture_run (fx, &agent, 1);
    assert_non_null (strstr (err, "cannot start no-such-runner-xyz"));
    free (err);
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
    //  Nothing ran, so nothing may count as run: the batch is unreported
    //  and the build is not finished.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE reported_ms IS"
                                           " NULL"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms FROM builds"), 0);
}

static void
test_signal_reaches_the_test_command (void **state)
{
    e2e_fixture_t *fx = *state;
    //  Each wait here is for what happens at once: 20 s is far above it.
    fx->deadline_ms = 20000;
    e2e_fixture_daemon (fx, NULL);
    e2e_fixture_unit (fx, "one_test.txt", "ms=0\n");
    char env_started[700], env_mark[700];
    snprintf (env_started, sizeof env_started, "RUNNER_STARTED=%s/started", fx->dir);
    snprintf (env_mark, sizeof env_mark, "RUNNER_MARK=%s/mark", fx->dir);
    const char *env[] = { env_started, env_mark, NULL };
    char *runner = harness_source ("tests/fixtures/slow_runner.sh");
    const char *command[] = { "/bin/sh", runner, NULL };
    e2e_agent_t agent = { .tag = "agent", .suite = "sig", .build = "1", .total = 1,
                          .commit = "c", .branch = "b", .pattern = "*_test.txt",
                          .command = command, .env = env };
    pid_t pid = e2e_fixture_agent (fx, &agent);
    //  Wait for the runner to be running (its file appears), then signal satchel.
    assert_int_equal (e2e_fixture_wait_for (fx, "", "started"), 0);
    kill (pid, SIGTERM);
    assert_int_equal (e2e_fixture_wait (fx, "agent"), 128 + SIGTERM);
    char *text = e2e_fixture_read (fx, "mark");
    assert_non_null (text);
    assert_non_null (strstr (text, "terminated"));
    free (text);
    free (runner);
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
}

//  Run the real `satchel env` (or another satchel command) under `env -i`
//  with only the variables given, so that nothing of the test's own
//  environment (a CI system running this suite, a SATCHEL_ variable) can
//  leak in: harness_run appends its entries after ours, and the first of
//  two same-named entries is the one a program sees. Returns the exit
//  status; *out_text and *err_text get stdout and stderr (malloc'd).
static int
s_satchel_clean_env (char *const *args, const char *const *env, char **out_text,
                     char **err_text)
{
    char *dir = harness_tmpdir ();
    char out_path[512], err_path[512];
    snprintf (out_path, sizeof out_path, "%s/out", dir);
    snprintf (err_path, sizeof err_path, "%s/err", dir);
    char *satchel = harness_bin ("satchel");
    //  What the binary itself may need to start (a library path, sanitizer settings).
    static const char *keep[] = { "PATH", "LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS" };
    char kept[4][1024];
    char *argv[64];
    size_t n = 0;
    argv[n++] = "/usr/bin/env";
    argv[n++] = "-i";
    for (size_t i = 0; i < 4; i++) {
        const char *value = getenv (keep[i]);
        size_t name = strlen (keep[i]), length = value ? strlen (value) : 0;
        if (value && name + length + 2 <= sizeof kept[i]) {
            memcpy (kept[i], keep[i], name);
            kept[i][name] = '=';
            memcpy (kept[i] + name + 1, value, length + 1);
            argv[n++] = kept[i];
        }
    }
    for (size_t i = 0; env && env[i] && n < 40; i++)
        argv[n++] = (char *) env[i];
    argv[n++] = satchel;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int status = harness_run (argv, dir, NULL, out_path, err_path, DEADLINE_MS);
    *out_text = harness_read_file (out_path);
    *err_text = harness_read_file (err_path);
    if (!*out_text)
        *out_text = strdup ("");
    if (!*err_text)
        *err_text = strdup ("");
    free (satchel);
    harness_rmtree (dir);
    free (dir);
    return status;
}

//  The line of `satchel env`'s output that shows setting, as a malloc'd
//  copy, or NULL.
static char *
s_env_line (const char *text, const char *setting)
{
    size_t size = strlen (setting);
    const char *line = text;
    while (line && *line) {
        const char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        //  The setting, then the column's padding (at least two spaces).
        if (length > size + 2 && strncmp (line, setting, size) == 0
            && line[size] == ' ' && line[size + 1] == ' ')
            return strndup (line, length);
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

//  Assert that the line of setting shows value (the first word after the
//  setting's name) and, after it, source.
static void
s_assert_env_value (const char *text, const char *setting, const char *value,
                    const char *source)
{
    char *line = s_env_line (text, setting);
    if (!line)
        printf ("  no line for '%s' in:\n%s", setting, text);
    assert_non_null (line);
    const char *rest = line + strlen (setting);
    while (*rest == ' ')
        rest++;
    if (strncmp (rest, value, strlen (value)) != 0 || rest[strlen (value)] != ' '
        || !strstr (rest + strlen (value), source))
        printf ("  line '%s': expected value '%s' from '%s'\n", line, value, source);
    assert_memory_equal (rest, value, strlen (value));
    assert_int_equal (rest[strlen (value)], ' ');
    assert_non_null (strstr (rest + strlen (value), source));
    free (line);
}

static void
test_env_shows_gitlab_settings_and_sources (void **state)
{
    (void) state;
    char *out = NULL;
    char *err = NULL;
    const char *gitlab[] = { "GITLAB_CI=true", "CI_NODE_INDEX=3", "CI_NODE_TOTAL=4",
                             "CI_PIPELINE_ID=7781", "CI_COMMIT_SHA=0123abcd",
                             "CI_COMMIT_REF_NAME=feature/x", NULL };
    char *args[] = { "env", "--suite", "web", NULL };
    assert_int_equal (s_satchel_clean_env (args, gitlab, &out, &err), 0);
    //  GitLab counts its nodes from 1: its third node is satchel's node 2.
    s_assert_env_value (out, "node index", "2", "CI_NODE_INDEX=3 (GitLab CI, counts from 1)");
    s_assert_env_value (out, "node total", "4", "CI_NODE_TOTAL=4 (GitLab CI)");
    s_assert_env_value (out, "build id", "7781", "CI_PIPELINE_ID=7781 (GitLab CI)");
    s_assert_env_value (out, "commit", "0123abcd", "CI_COMMIT_SHA=0123abcd (GitLab CI)");
    s_assert_env_value (out, "branch", "feature/x", "CI_COMMIT_REF_NAME=feature/x");
    s_assert_env_value (out, "suite", "web", "--suite");
    s_assert_env_value (out, "mode", "queue", "default");
    s_assert_env_value (out, "CI system", "GitLab", "GITLAB_CI=true");
    free (out);
    free (err);

    //  A flag wins over the CI system; a KNAPSACK_PRO_ variable too.
    const char *knapsack[] = { "GITLAB_CI=true", "CI_NODE_INDEX=3", "CI_NODE_TOTAL=4",
                               "KNAPSACK_PRO_CI_NODE_TOTAL=6", NULL };
    char *flagged[] = { "env", "--node-index", "5", NULL };
    assert_int_equal (s_satchel_clean_env (flagged, knapsack, &out, &err), 0);
    s_assert_env_value (out, "node index", "5", "--node-index");
    s_assert_env_value (out, "node total", "6", "KNAPSACK_PRO_CI_NODE_TOTAL");
    //  No build id anywhere: none, and the build is named by commit.
    s_assert_env_value (out, "build id", "(none)", "named by commit");
    s_assert_env_value (out, "fixed split", "yes", "no build id");
    s_assert_env_value (out, "commit", "(asked", "default");
    free (out);
    free (err);
}

static void
test_env_usage_errors (void **state)
{
    (void) state;
    char *out = NULL;
    char *err = NULL;
    //  GitLab never has a node 0: a 0 there is refused, not wrapped.
    const char *zero[] = { "GITLAB_CI=true", "CI_NODE_INDEX=0", "CI_NODE_TOTAL=4", NULL };
    char *args[] = { "env", NULL };
    assert_int_equal (s_satchel_clean_env (args, zero, &out, &err), 2);
    assert_non_null (strstr (err, "CI_NODE_INDEX=0, but GitLab CI counts nodes from 1"));
    assert_non_null (strstr (err, "Usage: satchel env"));
    free (out);
    free (err);
    char *bad[] = { "env", "--frobnicate", NULL };
    assert_int_equal (s_satchel_clean_env (bad, NULL, &out, &err), 2);
    assert_non_null (strstr (err, "unknown option '--frobnicate'"));
    free (out);
    free (err);
    char *mode[] = { "env", "--mode", "sideways", NULL };
    assert_int_equal (s_satchel_clean_env (mode, NULL, &out, &err), 2);
    assert_non_null (strstr (err, "queue or regular"));
    free (out);
    free (err);
    //  A run with no node index says how to give one on this CI system.
    const char *github[] = { "GITHUB_ACTIONS=true", "SATCHEL_NODE_TOTAL=2", NULL };
    char *run[] = { "run", "--suite", "s", "--pattern", "*.rb", "--", "true", NULL };
    assert_int_equal (s_satchel_clean_env (run, github, &out, &err), 2);
    assert_non_null (strstr (err, "SATCHEL_NODE_INDEX"));
    assert_non_null (strstr (err, "GitHub Actions"));
    assert_non_null (strstr (err, "strategy.job-index"));
    free (out);
    free (err);
    //  The top-level help lists env.
    char *help[] = { "--help", NULL };
    assert_int_equal (s_satchel_clean_env (help, NULL, &out, &err), 0);
    assert_non_null (strstr (out, "  env "));
    free (out);
    free (err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_missing_suite_is_a_usage_error),
        cmocka_unit_test (test_bad_values_are_usage_errors),
        cmocka_unit_test (test_daemon_flags),
        cmocka_unit_test_setup_teardown (test_unreachable_daemon_exits_1_within_budget,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test (test_no_tests_found_is_an_error),
        cmocka_unit_test_setup_teardown (test_missing_test_command_is_an_error,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_signal_reaches_the_test_command,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test (test_env_shows_gitlab_settings_and_sources),
        cmocka_unit_test (test_env_usage_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
