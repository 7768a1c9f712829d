/*  test_e2e_config.c: satcheld's configuration file and SIGHUP, against a
    real satcheld on loopback with real agents:

    - started with --config FILE it runs with the file's settings, and a
      flag wins over the file;
    - a bad file stops it before it serves: exit 2, the file, line and key
      on stderr; --check-config says the same, or that a good file is;
    - SIGHUP in the middle of a build (held open by a gate in the runner)
      applies a new log level and a lower --max-units: debug lines appear,
      a bigger build is refused with the new limit, and the build in
      flight completes, every unit once, its agents exiting 0;
    - SIGHUP with a broken file is logged with the file and line, and the
      running settings stay;
    - with CurveZMQ, during a held build, SIGHUP brings a new log level and
      reads the clients folder at once; the new key runs a build, and the
      held one completes.                                                 */
#include "e2e_client.h"
#include "e2e_fixture.h"
#include "proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEADLINE_MS 60000

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    return 0;
}

//  Write the configuration file <dir>/satcheld.conf; returns its path.
static char *
s_conf (e2e_fixture_t *fx, const char *text)
{
    char *path = e2e_fixture_path (fx, "satcheld.conf");
    assert_int_equal (harness_write_file (path, text), 0);
    return path;
}

//  A join of count units ("u0_test".."u<n>_test") as a one-node build, on
//  a socket of its own; returns the reply.
static proto_msg_t *
s_join (e2e_fixture_t *fx, const char *build, size_t count)
{
    static const char *const units[] = { "u0_test", "u1_test", "u2_test", "u3_test", "u4_test",
                                         "u5_test" };
    assert_true (count <= 6);
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *join = e2e_join (build, 1, "config", build, 0, 1, units, count);
    proto_msg_t *reply = e2e_call (socket, join);
    proto_msg_destroy (&join);
    zsock_destroy (&socket);
    return reply;
}

static void
s_expect_limit (e2e_fixture_t *fx, const char *build, size_t count, size_t limit)
{
    proto_msg_t *reply = s_join (fx, build, count);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->code, PROTO_ERR_LIMIT);
    char words[128];
    snprintf (words, sizeof words, "more than the limit of %zu", limit);
    assert_non_null (strstr (reply->message, words));
    proto_msg_destroy (&reply);
}

static void
s_expect_joined (e2e_fixture_t *fx, const char *build, size_t count)
{
    proto_msg_t *reply = s_join (fx, build, count);
    if (reply->type != PROTO_JOINED)
        fail_msg ("join of %s: %s", build, reply->message ? reply->message : "?");
    proto_msg_destroy (&reply);
}

static void
test_file_and_flags (void **state)
{
    e2e_fixture_t *fx = *state;
    char *conf = s_conf (fx, "# the test's\nmax-units = 3\nmax-builds = 50\n");
    const char *extra[] = { "--config", conf, NULL };
    e2e_fixture_daemon (fx, extra);
    s_expect_limit (fx, "four", 4, 3);
    s_expect_joined (fx, "three", 3);
    char *log = harness_read_file (fx->log);
    assert_non_null (strstr (log, "config_read file="));
    free (log);
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
    //  A flag wins over the file.
    const char *over[] = { "--config", conf, "--max-units", "5", NULL };
    e2e_fixture_daemon (fx, over);
    s_expect_joined (fx, "four-again", 4);
    s_expect_limit (fx, "six", 6, 5);
    free (conf);
}

static void
test_bad_file_stops_start_up (void **state)
{
    e2e_fixture_t *fx = *state;
    char *conf = s_conf (fx, "max-units = 3\n\nmax-rate = fast\n");
    char *satcheld = harness_bin ("satcheld");
    char *err = e2e_fixture_path (fx, "bad.err");
    char *ready = e2e_fixture_path (fx, "bad.ready");
    char *argv[] = { satcheld, "--config", conf, "--bind", "tcp://127.0.0.1:*", "--ready-file",
                     ready, NULL };
    assert_int_equal (harness_run (argv, fx->dir, NULL, NULL, err, DEADLINE_MS), 2);
    char *said = harness_read_file (err);
    char words[1400];
    snprintf (words, sizeof words, "satcheld: %s:3: max-rate: invalid value 'fast' (0 (no limit)"
              " to 1000000)\n", conf);
    assert_int_equal (strncmp (said, words, strlen (words)), 0);
    //  It never served.
    struct stat st;
    assert_int_not_equal (stat (ready, &st), 0);
    //  --check-config says the same without starting; a good file passes.
    char *check[] = { satcheld, "--config", conf, "--check-config", NULL };
    assert_int_equal (harness_run (check, fx->dir, NULL, NULL, err, DEADLINE_MS), 2);
    free (said);
    said = harness_read_file (err);
    assert_int_equal (strncmp (said, words, strlen (words)), 0);
    free (s_conf (fx, "max-units = 3\nmax-rate = 10\n"));
    char *out = e2e_fixture_path (fx, "check.out");
    assert_int_equal (harness_run (check, fx->dir, NULL, out, err, DEADLINE_MS), 0);
    free (said);
    said = harness_read_file (out);
    assert_non_null (strstr (said, "satcheld: the settings are good (file "));
    free (out);
    free (said);
    free (ready);
    free (err);
    free (satcheld);
    free (conf);
}

//  Runs of each unit in the agents' logs.
static void
s_assert_each_ran_once (e2e_fixture_t *fx, const char *const *tags, int agents)
{
    int counts[16] = { 0 };
    assert_true (fx->count <= 16);
    for (int n = 0; n < agents; n++) {
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[n]);
        assert_int_equal (harness_count_runs (ran, fx->names, fx->count, counts), 0);
        free (ran);
    }
    for (int i = 0; i < fx->count; i++)
        assert_int_equal (counts[i], 1);
}

static void
test_sighup_during_a_build (void **state)
{
    e2e_fixture_t *fx = *state;
    char *conf = s_conf (fx, "log-level = info\nmax-units = 100\n");
    const char *extra[] = { "--config", conf, NULL };
    e2e_fixture_daemon (fx, extra);
    enum { UNITS = 8 };
    for (int i = 0; i < UNITS; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=5\n");
    }
    char env_gate[700];
    char *gate = e2e_fixture_gate (fx, fx->names[UNITS - 1], env_gate, sizeof env_gate);
    const char *env[] = { env_gate, NULL };
    const char *tags[] = { "n0", "n1" };
    for (int n = 0; n < 2; n++) {
        e2e_agent_t agent = { .tag = tags[n], .suite = "config", .build = "held", .index = n,
                              .total = 2, .pattern = "tests/*_test.txt", .env = env };
        e2e_fixture_agent (fx, &agent);
    }
    //  The gated unit is out: the build is in flight.
    e2e_fixture_wait_running (fx, fx->names[UNITS - 1]);
    char *log = harness_read_file (fx->log);
    assert_null (strstr (log, "debug "));
    free (log);

    free (s_conf (fx, "log-level = debug\nmax-units = 3\n"));
    assert_int_equal (kill (fx->daemon.pid, SIGHUP), 0);
    assert_int_equal (harness_wait_for_text (fx->log, "config_reloaded changed=log-level,"
                                             "max-units clients=0", DEADLINE_MS), 0);
    //  The new limit, at once; debug lines from now on: a batch handed
    //  out is logged at debug (the held build may hand out nothing more).
    s_expect_limit (fx, "bigger", 4, 3);
    static const char *const units[] = { "u0_test", "u1_test" };
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *join = e2e_join ("small", 1, "config", "small", 0, 1, units, 2);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, "small");
    next->req = 2;
    reply = e2e_call (socket, next);
    assert_int_equal (reply->type, PROTO_BATCH);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&next);
    zsock_destroy (&socket);
    assert_int_equal (harness_wait_for_text (fx->log, "debug batch_", DEADLINE_MS), 0);

    //  The held build goes on to its end.
    assert_int_equal (harness_write_file (gate, ""), 0);
    for (int n = 0; n < 2; n++)
        e2e_fixture_expect_exit (fx, tags[n], 0);
    s_assert_each_ran_once (fx, tags, 2);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed'"
                                           " FROM builds WHERE build_key = 'held'"), 1);
    free (gate);
    free (conf);
    e2e_fixture_pass (fx);
}

static void
test_sighup_with_a_broken_file (void **state)
{
    e2e_fixture_t *fx = *state;
    char *conf = s_conf (fx, "max-units = 3\n");
    const char *extra[] = { "--config", conf, NULL };
    e2e_fixture_daemon (fx, extra);
    free (s_conf (fx, "max-units = 5\nmax_builds = 9\n"));
    assert_int_equal (kill (fx->daemon.pid, SIGHUP), 0);
    char words[1400];
    snprintf (words, sizeof words, "config_reload_failed error=\"%s:2: max_builds: unknown key;"
              " did you mean max-builds?\"", conf);
    assert_int_equal (harness_wait_for_text (fx->log, words, DEADLINE_MS), 0);
    //  Still serving, with the running settings (not even the good line).
    s_expect_limit (fx, "four", 4, 3);
    s_expect_joined (fx, "three", 3);
    //  A setting that needs a restart is said so, and kept.
    free (s_conf (fx, "max-units = 4\ninsecure = true\n"));
    assert_int_equal (kill (fx->daemon.pid, SIGHUP), 0);
    assert_int_equal (harness_wait_for_text (fx->log, "config_reloaded changed=max-units",
                                             DEADLINE_MS), 0);
    char *log = harness_read_file (fx->log);
    assert_non_null (strstr (log, "config_needs_restart key=insecure"));
    free (log);
    s_expect_joined (fx, "four-now", 4);
    free (conf);
    e2e_fixture_pass (fx);
}

//  With CurveZMQ, during a build held in flight by a gate: a key file
//  added to the folder and a new log level come in with SIGHUP (the
//  folder is read at once: the log counts the new key), an agent with the
//  new key runs a build of its own, and the held build completes.
static void
test_sighup_keys_during_a_build (void **state)
{
    e2e_fixture_t *fx = *state;
    char *keys = e2e_fixture_path (fx, "keys");
    char *clients = e2e_fixture_path (fx, "clients");
    assert_int_equal (mkdir (keys, 0700), 0);
    assert_int_equal (mkdir (clients, 0755), 0);
    char *satchel = harness_bin ("satchel");
    const char *names[] = { "server", "ci", "late" };
    for (size_t i = 0; i < 3; i++) {
        char *argv[] = { satchel, "keygen", (char *) names[i], NULL };
        assert_int_equal (harness_run (argv, keys, NULL, NULL, NULL, DEADLINE_MS), 0);
    }
    char from[800], to[800];
    snprintf (from, sizeof from, "%s/ci", keys);
    snprintf (to, sizeof to, "%s/ci", clients);
    char *text = harness_read_file (from);
    assert_int_equal (harness_write_file (to, text), 0);
    free (text);
    char secret[800], server_key[800];
    snprintf (secret, sizeof secret, "%s/server_secret", keys);
    snprintf (server_key, sizeof server_key, "%s/server", keys);
    char *conf = s_conf (fx, "log-level = info\n");
    const char *extra[] = { "--config", conf, "--curve-secret", secret, "--clients", clients,
                            NULL };
    e2e_fixture_daemon (fx, extra);

    enum { UNITS = 4 };
    for (int i = 0; i < UNITS; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=5\n");
    }
    char env_gate[700];
    char *gate = e2e_fixture_gate (fx, fx->names[UNITS - 1], env_gate, sizeof env_gate);
    const char *env[] = { env_gate, NULL };
    char ci_cert[800], late_cert[800];
    snprintf (ci_cert, sizeof ci_cert, "%s/ci_secret", keys);
    snprintf (late_cert, sizeof late_cert, "%s/late_secret", keys);
    const char *ci_flags[] = { "--server-key", server_key, "--client-cert", ci_cert, NULL };
    e2e_agent_t held = { .tag = "held", .suite = "config", .build = "held", .index = 0,
                         .total = 1, .pattern = "tests/*_test.txt", .flags = ci_flags,
                         .env = env };
    e2e_fixture_agent (fx, &held);
    e2e_fixture_wait_running (fx, fx->names[UNITS - 1]);

    snprintf (from, sizeof from, "%s/late", keys);
    snprintf (to, sizeof to, "%s/late", clients);
    text = harness_read_file (from);
    assert_int_equal (harness_write_file (to, text), 0);
    free (text);
    free (s_conf (fx, "log-level = debug\n"));
    assert_int_equal (kill (fx->daemon.pid, SIGHUP), 0);
    assert_int_equal (harness_wait_for_text (fx->log, "config_reloaded changed=log-level "
                                             "clients=2", DEADLINE_MS), 0);
    //  The new key runs a build of its own (without the gate).
    const char *late_flags[] = { "--server-key", server_key, "--client-cert", late_cert, NULL };
    e2e_agent_t late = { .tag = "late", .suite = "config", .build = "late", .index = 0,
                         .total = 1, .pattern = "tests/unit_0_test.txt", .flags = late_flags };
    free (e2e_fixture_run (fx, &late, 0));
    //  The held one completes.
    assert_int_equal (harness_write_file (gate, ""), 0);
    e2e_fixture_expect_exit (fx, "held", 0);
    const char *tags[] = { "held" };
    s_assert_each_ran_once (fx, tags, 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM builds WHERE finished_ms > 0"),
                      2);
    free (gate);
    free (conf);
    free (satchel);
    free (clients);
    free (keys);
    e2e_fixture_pass (fx);
}

//  A batch handed out before a reload lowered max-units is still
//  reported, times and all: the limit is for what comes in new.
static void
test_sighup_lowering_max_units_keeps_batches_reportable (void **state)
{
    e2e_fixture_t *fx = *state;
    //  One node, no start-up, factor 1: the first batch is the whole list.
    char *conf = s_conf (fx, "max-units = 100\nrunner-startup = 0\nbatch-factor = 1\n");
    const char *extra[] = { "--config", conf, NULL };
    e2e_fixture_daemon (fx, extra);
    static const char *const units[] = { "u0_test", "u1_test", "u2_test", "u3_test",
                                         "u4_test", "u5_test" };
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *join = e2e_join ("lower", 1, "config", "lower", 0, 1, units, 6);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, "lower");
    next->req = 2;
    proto_msg_t *batch = e2e_call (socket, next);
    proto_msg_destroy (&next);
    assert_int_equal (batch->type, PROTO_BATCH);
    assert_int_equal (batch->unit_count, 6);

    free (s_conf (fx, "max-units = 3\nrunner-startup = 0\nbatch-factor = 1\n"));
    assert_int_equal (kill (fx->daemon.pid, SIGHUP), 0);
    assert_int_equal (harness_wait_for_text (fx->log, "config_reloaded changed=max-units",
                                             DEADLINE_MS), 0);
    s_expect_limit (fx, "new", 4, 3);
    //  The report of six times is taken, and the build completes.
    proto_msg_t *report = e2e_report ("lower", 3, batch->batch, batch->lease, 6, 0);
    reply = e2e_call (socket, report);
    if (reply->type == PROTO_ERROR)
        fail_msg ("the report was refused: %s", reply->message ? reply->message : "?");
    assert_int_equal (reply->type, PROTO_DONE);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM samples"), 6);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&report);
    proto_msg_destroy (&batch);
    zsock_destroy (&socket);
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
    free (conf);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_file_and_flags, s_setup, e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_bad_file_stops_start_up, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_sighup_during_a_build, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_sighup_lowering_max_units_keeps_batches_reportable,
                                         s_setup, e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_sighup_with_a_broken_file, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_sighup_keys_during_a_build, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
