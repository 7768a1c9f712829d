/*  test_config.c: satcheld's settings from flags and a configuration file
    (coordinator/config.c), on real files in a temporary folder: the
    defaults, the file's form, flags over the file, the default file, and
    every bad case named in the message with the file, line and key.
    CONFIGURATION_DIRECTORY points at the test's folder, so that no file of
    the machine's (/etc/satchel) is read.                                 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"

typedef struct {
    char *dir;                   //  temporary folder, CONFIGURATION_DIRECTORY
    char file[600];              //  a configuration file in it
    config_t config;             //  what the last load gave
    char why[1024];              //  and its message
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    assert_non_null (fx);
    fx->dir = harness_tmpdir ();
    snprintf (fx->file, sizeof fx->file, "%s/test.conf", fx->dir);
    setenv ("CONFIGURATION_DIRECTORY", fx->dir, 1);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    config_clear (&fx->config);
    unsetenv ("CONFIGURATION_DIRECTORY");
    harness_rmtree (fx->dir);
    free (fx->dir);
    free (fx);
    return 0;
}

//  Load with the flags (NULL-terminated, after "satcheld").
static config_result_t
s_load (fixture_t *fx, const char *const *flags)
{
    char *argv[32] = { "satcheld" };
    int argc = 1;
    for (size_t i = 0; flags && flags[i]; i++)
        argv[argc++] = (char *) flags[i];
    argv[argc] = NULL;
    config_clear (&fx->config);
    return config_load (&fx->config, argc, argv, fx->why, sizeof fx->why);
}

//  Write the test file and load it with --config.
static config_result_t
s_load_file (fixture_t *fx, const char *text)
{
    assert_int_equal (harness_write_file (fx->file, text), 0);
    const char *flags[] = { "--config", fx->file, NULL };
    return s_load (fx, flags);
}

//  Assert the last load failed with exactly why.
static void
s_assert_bad (fixture_t *fx, config_result_t result, const char *why)
{
    assert_int_equal (result, CONFIG_BAD);
    assert_string_equal (fx->why, why);
}

static void
test_defaults_without_a_file (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (s_load (fx, NULL), CONFIG_OK);
    assert_null (fx->config.file);
    server_config_t defaults;
    server_config_default (&defaults);
    assert_string_equal (fx->config.server.bind, defaults.bind);
    assert_int_equal (fx->config.server.requests.limits.max_units,
                      defaults.requests.limits.max_units);
    assert_true (fx->config.server.max_rate == defaults.max_rate);
    assert_true (fx->config.server.retention.keep_days == RETENTION_DEFAULT_KEEP_DAYS);
    assert_int_equal (fx->config.log_level, LOG_LEVEL_INFO);
    assert_false (fx->config.insecure);
    assert_null (fx->config.db);
    //  The runner's start-up is the default guess, not given.
    assert_false (fx->config.server.requests.startup_given);
}

static void
test_file_sets_every_kind (void **state)
{
    fixture_t *fx = *state;
    const char *text =
        "# satcheld.conf\n"
        "\n"
        "bind = tcp://0.0.0.0:7450\n"
        "   db=/var/lib/satchel/x.db   \n"
        "log-level = debug\n"
        "runner-startup = 2.5\n"
        "batch-factor = 3\n"
        "max-units = 20000\n"
        "max-rate = 0\n"
        "keep-days = 0.5\n"
        "lease = 45\n"
        "requeue-failed = 2\n"
        "clients = \"/etc/satchel/clients # not a comment\"\n"
        "curve-secret = /etc/satchel/server_secret\n"
        "insecure = no\n";
    assert_int_equal (s_load_file (fx, text), CONFIG_OK);
    config_t *c = &fx->config;
    assert_string_equal (c->file, fx->file);
    assert_string_equal (c->server.bind, "tcp://0.0.0.0:7450");
    assert_string_equal (c->db, "/var/lib/satchel/x.db");
    assert_int_equal (c->log_level, LOG_LEVEL_DEBUG);
    assert_true (c->server.requests.policy.startup_ms == 2500);
    assert_true (c->server.requests.startup_given);
    assert_true (c->server.requests.policy.factor == 3);
    assert_int_equal (c->server.requests.limits.max_units, 20000);
    assert_true (c->server.max_rate == 0);
    assert_true (c->server.retention.keep_days == 0.5);
    assert_int_equal (c->server.requests.leases.lease_ms, 45000);
    assert_int_equal (c->server.requests.retry.requeue_failed, 2);
    assert_string_equal (c->server.clients, "/etc/satchel/clients # not a comment");
    assert_string_equal (c->server.curve_secret, "/etc/satchel/server_secret");
    assert_false (c->insecure);
    //  The switch's words.
    const char *yes[] = { "true", "yes", "on", "1" };
    for (size_t i = 0; i < 4; i++) {
        char line[64];
        snprintf (line, sizeof line, "insecure = %s\n", yes[i]);
        assert_int_equal (s_load_file (fx, line), CONFIG_OK);
        assert_true (fx->config.insecure);
    }
}

static void
test_flags_win_over_the_file (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (harness_write_file (fx->file, "max-units = 100\nlog-level = warn\n"
                                                    "max-builds = 7\ninsecure = false\n"), 0);
    const char *flags[] = { "--max-units", "5", "--config", fx->file, "--insecure", NULL };
    assert_int_equal (s_load (fx, flags), CONFIG_OK);
    assert_int_equal (fx->config.server.requests.limits.max_units, 5);
    assert_int_equal (fx->config.log_level, LOG_LEVEL_WARN);
    assert_int_equal (fx->config.server.requests.max_builds, 7);
    assert_true (fx->config.insecure);
}

//  Under systemd the file is $CONFIGURATION_DIRECTORY/satcheld.conf; it is
//  read when there, and its absence is no error.
static void
test_default_file (void **state)
{
    fixture_t *fx = *state;
    char path[700];
    snprintf (path, sizeof path, "%s/satcheld.conf", fx->dir);
    assert_int_equal (harness_write_file (path, "max-nodes = 64\n"), 0);
    assert_int_equal (s_load (fx, NULL), CONFIG_OK);
    assert_string_equal (fx->config.file, path);
    assert_int_equal (fx->config.server.requests.limits.max_nodes, 64);
    //  The first of several folders.
    char several[1400];
    snprintf (several, sizeof several, "%s:/nonexistent", fx->dir);
    setenv ("CONFIGURATION_DIRECTORY", several, 1);
    assert_int_equal (s_load (fx, NULL), CONFIG_OK);
    assert_string_equal (fx->config.file, path);
    //  A bad default file is as bad as a named one.
    assert_int_equal (harness_write_file (path, "max-nodes = 0\n"), 0);
    char why[800];
    snprintf (why, sizeof why, "%s:1: max-nodes: invalid value '0' (1 to 100000)", path);
    s_assert_bad (fx, s_load (fx, NULL), why);
}

static void
test_bad_files_are_named (void **state)
{
    fixture_t *fx = *state;
    const struct {
        const char *text;
        const char *why;         //  after "<file>:"
    } cases[] = {
        { "max_units = 5\n", "1: max_units: unknown key; did you mean max-units?" },
        { "\n# ok\nfrobnicate = 1\n", "3: frobnicate: unknown key" },
        { "max-units = five\n", "1: max-units: invalid value 'five' (1 to 10000000)" },
        { "max-units = 0\n", "1: max-units: invalid value '0' (1 to 10000000)" },
        { "max-units = 10000001\n", "1: max-units: invalid value '10000001' (1 to 10000000)" },
        { "max-units = -3\n", "1: max-units: invalid value '-3' (1 to 10000000)" },
        { "keep-days = 1e9\n", "1: keep-days: invalid value '1e9' (days, 0 (forever) to 36500)" },
        { "lease = 0.1\n", "1: lease: invalid value '0.1' (seconds, 0.3 to 86400)" },
        { "log-level = loud\n", "1: log-level: invalid value 'loud' (error, warn, info or debug)" },
        { "insecure = maybe\n", "1: insecure: invalid value 'maybe' (true or false)" },
        { "max-rate\n", "1: expected 'key = value', got 'max-rate'" },
        { "max-rate =\n", "1: max-rate: no value (0 (no limit) to 1000000)" },
        { "max-rate = 5\nbind = tcp://127.0.0.1:1\nmax-rate = 6\n",
          "3: max-rate: set twice (first on line 1)" },
        { "config = /etc/x\n", "1: config: only a command-line flag, not a key of the file" },
        { "help = yes\n", "1: help: only a command-line flag, not a key of the file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[1400];
        snprintf (why, sizeof why, "%s:%s", fx->file, cases[i].why);
        s_assert_bad (fx, s_load_file (fx, cases[i].text), why);
    }
    //  A named file that is not there.
    char missing[700];
    snprintf (missing, sizeof missing, "%s/none.conf", fx->dir);
    const char *flags[] = { "--config", missing, NULL };
    char why[1400];
    snprintf (why, sizeof why, "%s: cannot read the configuration file: No such file or "
              "directory", missing);
    s_assert_bad (fx, s_load (fx, flags), why);
}

static void
test_bad_flags (void **state)
{
    fixture_t *fx = *state;
    const char *bad_value[] = { "--max-units", "x", NULL };
    s_assert_bad (fx, s_load (fx, bad_value), "--max-units: invalid value 'x' (1 to 10000000)");
    const char *unknown[] = { "--bogus", NULL };
    s_assert_bad (fx, s_load (fx, unknown), "unknown option '--bogus'");
    //  No abbreviations: --max-unit is not --max-units.
    const char *prefix[] = { "--max-unit", "5", NULL };
    s_assert_bad (fx, s_load (fx, prefix), "unknown option '--max-unit'");
    const char *no_value[] = { "--bind", NULL };
    s_assert_bad (fx, s_load (fx, no_value), "option --bind needs a value");
    const char *stray[] = { "--max-units", "5", "extra", NULL };
    s_assert_bad (fx, s_load (fx, stray), "unexpected argument 'extra'");
    //  A bad flag is found even when the file is fine, and a bad file even
    //  when a flag would override its key.
    assert_int_equal (harness_write_file (fx->file, "max-units = nine\n"), 0);
    const char *over[] = { "--config", fx->file, "--max-units", "9", NULL };
    char why[1400];
    snprintf (why, sizeof why, "%s:1: max-units: invalid value 'nine' (1 to 10000000)",
              fx->file);
    s_assert_bad (fx, s_load (fx, over), why);
    const char *help[] = { "--max-units", "5", "--help", NULL };
    assert_int_equal (s_load (fx, help), CONFIG_HELP);
    const char *version[] = { "--version", NULL };
    assert_int_equal (s_load (fx, version), CONFIG_VERSION);
}

static void
test_what_reloads (void **state)
{
    (void) state;
    const char *live[] = { "log-level", "max-units", "max-name", "max-nodes", "max-message",
                           "max-rate", "max-builds", "keep-days", "keep-builds-days", "lease",
                           "lease-max", "requeue-failed", "requeue-budget", "runner-startup",
                           "batch-factor", "max-batch-units", "default-estimate" };
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        assert_true (config_is_live (live[i]));
    const char *fixed[] = { "bind", "db", "ready-file", "curve-secret", "clients", "insecure",
                            "config", "nonsense" };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_false (config_is_live (fixed[i]));
}

//  systemd/satcheld.conf, the example installed as /etc/satchel/
//  satcheld.conf, shows every key, commented out; with every key line
//  uncommented it loads, and says the defaults.
static void
test_example_file (void **state)
{
    fixture_t *fx = *state;
    char source[600];
    assert_int_equal (harness_source_path (source, sizeof source, "systemd/satcheld.conf"), 0);
    char *text = harness_read_file (source);
    assert_non_null (text);
    //  As installed: comments only, so the defaults.
    const char *flags[] = { "--config", source, NULL };
    assert_int_equal (s_load (fx, flags), CONFIG_OK);
    for (size_t i = 0; i < config_option_count (); i++) {
        char line[80];
        snprintf (line, sizeof line, "\n# %s = ", config_option_name (i));
        if (!strstr (text, line))
            fail_msg ("systemd/satcheld.conf does not show %s", config_option_name (i));
    }
    //  Uncommented.
    char *open = calloc (1, strlen (text) + 1);
    assert_non_null (open);
    char *out = open;
    for (const char *line = text; *line; ) {
        const char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line + 1) : strlen (line);
        bool key = strncmp (line, "# ", 2) == 0 && line[2] >= 'a' && line[2] <= 'z'
                   && memchr (line, '=', length);
        if (key) {
            memcpy (out, line + 2, length - 2);
            out += length - 2;
        }
        else {
            memcpy (out, line, length);
            out += length;
        }
        line += length;
    }
    assert_int_equal (s_load_file (fx, open), CONFIG_OK);
    server_config_t defaults;
    server_config_default (&defaults);
    const server_config_t *got = &fx->config.server;
    assert_string_equal (got->bind, defaults.bind);
    assert_int_equal (got->requests.limits.max_units, defaults.requests.limits.max_units);
    assert_int_equal (got->requests.limits.max_frame, defaults.requests.limits.max_frame);
    assert_int_equal (got->requests.limits.max_name, defaults.requests.limits.max_name);
    assert_int_equal (got->requests.limits.max_nodes, defaults.requests.limits.max_nodes);
    assert_true (got->max_rate == defaults.max_rate);
    assert_int_equal (got->requests.max_builds, defaults.requests.max_builds);
    assert_int_equal (got->requests.leases.lease_ms, defaults.requests.leases.lease_ms);
    assert_int_equal (got->requests.leases.lease_max_ms, defaults.requests.leases.lease_max_ms);
    assert_int_equal (got->requests.retry.requeue_budget,
                      defaults.requests.retry.requeue_budget);
    assert_true (got->requests.policy.factor == defaults.requests.policy.factor);
    assert_true (got->requests.policy.startup_ms == defaults.requests.policy.startup_ms);
    //  Uncommented, the example's start-up is given: no longer a guess.
    assert_true (got->requests.startup_given);
    assert_true (got->retention.keep_days == defaults.retention.keep_days);
    assert_true (got->retention.keep_builds_days == defaults.retention.keep_builds_days);
    assert_false (fx->config.insecure);
    free (open);
    free (text);
}

int
main (void)
{
    log_setup (LOG_LEVEL_WARN, "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_defaults_without_a_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_file_sets_every_kind, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_flags_win_over_the_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_default_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_files_are_named, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_flags, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_what_reloads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_example_file, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
