/*  test_e2e_limits.c: satcheld's limits against a real daemon on a
    loopback port, spoken to by hand (tests/e2e_client.c):
    - --max-builds: a join that would start one build more than the limit
      is answered "busy", a transient code (agents retry, then fall back);
      the builds in flight go on, and a finished build frees its place;
    - a flood: one client (tests/flood_client.c, a separate process) sends
      garbage as fast as it can while 4 real agents run a build; the build
      completes, every unit ran once, its timings are the report's, and
      the daemon still answers afterwards (invariant 7).                   */
#include "e2e_client.h"
#include "harness.h"
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

#define DEADLINE_MS 120000

typedef struct {
    char *dir;                   //  temp folder
    harness_daemon_t daemon;     //  the real satcheld
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    if (!fx)
        return -1;
    fx->dir = harness_tmpdir ();
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    int rc = 0;
    if (fx->daemon.pid > 0)
        rc = harness_daemon_stop (&fx->daemon) == 0 ? 0 : -1;
    harness_rmtree (fx->dir);
    free (fx->dir);
    free (fx);
    return rc;
}

static const char *const s_units[] = { "a_test", "b_test" };

//  Join build as node index of total on a fresh socket; returns the reply.
static proto_msg_t *
s_join (const fixture_t *fx, const char *attempt, const char *build, uint32_t index,
        uint32_t total)
{
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *join = e2e_join (attempt, 1, "limits", build, index, total, s_units, 2);
    proto_msg_t *reply = e2e_call (socket, join);
    proto_msg_destroy (&join);
    zsock_destroy (&socket);
    return reply;
}

static void
s_expect_joined (const fixture_t *fx, const char *attempt, const char *build, uint32_t index,
                 uint32_t total)
{
    proto_msg_t *reply = s_join (fx, attempt, build, index, total);
    if (reply->type != PROTO_JOINED)
        fprintf (stderr, "join of %s: %s %s\n", build, proto_type_name (reply->type),
                 reply->message ? reply->message : "");
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
}

//  Run a one-node build's only batch to its end: next, then next with the
//  report, which finishes the build.
static void
s_finish (const fixture_t *fx, const char *attempt)
{
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = 2;
    proto_msg_t *batch = e2e_call (socket, next);
    assert_int_equal (batch->type, PROTO_BATCH);
    assert_int_equal (batch->unit_count, 2);
    proto_msg_t *report = e2e_report (attempt, 3, batch->batch, batch->lease, 2, 0);
    proto_msg_t *done = e2e_call (socket, report);
    assert_int_equal (done->type, PROTO_DONE);
    proto_msg_destroy (&done);
    proto_msg_destroy (&report);
    proto_msg_destroy (&batch);
    proto_msg_destroy (&next);
    zsock_destroy (&socket);
}

static void
test_builds_in_flight (void **state)
{
    fixture_t *fx = *state;
    const char *extra[] = { "--max-builds", "2", NULL };
    assert_int_equal (harness_daemon_start (&fx->daemon, fx->dir, extra), 0);
    s_expect_joined (fx, "a0", "build-a", 0, 2);
    s_expect_joined (fx, "b0", "build-b", 0, 1);
    //  A third build is refused, in words, with a code agents retry.
    proto_msg_t *reply = s_join (fx, "c0", "build-c", 0, 1);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->code, PROTO_ERR_BUSY);
    assert_string_equal (reply->field, "build");
    assert_non_null (strstr (reply->message, "2 builds in flight"));
    assert_non_null (strstr (reply->message, "--max-builds"));
    assert_false (proto_error_is_user (reply->code));
    proto_msg_destroy (&reply);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count (*) FROM builds"), 2);
    //  The builds in flight are not held back: another node of one joins.
    s_expect_joined (fx, "a1", "build-a", 1, 2);
    //  Once build-b is finished, build-c gets its place.
    s_finish (fx, "b0");
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT finished_ms > 0 FROM builds"
                                                 " WHERE build_key = 'build-b'"), 1);
    s_expect_joined (fx, "c1", "build-c", 0, 1);
    reply = s_join (fx, "d0", "build-d", 0, 1);
    assert_string_equal (reply->code, PROTO_ERR_BUSY);
    proto_msg_destroy (&reply);
}

static void
test_flood_does_not_stop_a_build (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (harness_daemon_start (&fx->daemon, fx->dir, NULL), 0);
    //  The suite: 12 test files, each sleeping 40 ms and reporting less
    //  than that as its time in the JUnit report, so that the history can
    //  be checked exactly.
    char suite[1024], path[1200], body[64], list[2048] = "";
    snprintf (suite, sizeof suite, "%s/suite", fx->dir);
    assert_int_equal (mkdir (suite, 0755), 0);
    enum { UNITS = 12, NODES = 4 };
    for (int i = 0; i < UNITS; i++) {
        snprintf (path, sizeof path, "%s/t%02d_test.txt", suite, i);
        snprintf (body, sizeof body, "ms=40\nreport_ms=%d\n", 10 + i);
        assert_int_equal (harness_write_file (path, body), 0);
    }
    //  The flood first, until it has 1000 messages out.
    char *flooder = harness_bin ("tests/flood_client");
    char stats[1100];
    snprintf (stats, sizeof stats, "%s/flood.txt", fx->dir);
    char *flood_argv[] = { flooder, (char *) fx->daemon.endpoint, stats, NULL };
    pid_t flood = harness_spawn (flood_argv, NULL, NULL, NULL, NULL);
    assert_true (flood > 0);
    assert_int_equal (harness_wait_for_text (stats, "flooding", 30000), 0);
    //  Four honest agents, as separate processes, each with its own runs log.
    char *satchel = harness_bin ("satchel");
    char *runner = harness_source ("tests/fixtures/junit_runner.sh");
    pid_t agents[NODES];
    for (int n = 0; n < NODES; n++) {
        char index[16], err[1100], ran[1100];
        snprintf (index, sizeof index, "%d", n);
        snprintf (err, sizeof err, "%s/agent%d.err", fx->dir, n);
        snprintf (ran, sizeof ran, "RAN_LOG=%s/agent%d.ran", fx->dir, n);
        char *argv[] = {
            satchel, "run", "--coordinator", (char *) fx->daemon.endpoint, "--suite", "flood",
            "--build", "flood-1", "--node-index", index, "--node-total", "4",
            "--commit", "c0ffee", "--branch", "main", "--pattern", "*_test.txt", "--",
            "/bin/sh", runner, "--out={junit}", "{}", NULL
        };
        const char *env[] = { ran, NULL };
        agents[n] = harness_spawn_group (argv, suite, env, NULL, err);
        assert_true (agents[n] > 0);
    }
    int failed = 0;
    for (int n = 0; n < NODES; n++) {
        int status = harness_wait_group (agents[n], DEADLINE_MS);
        if (status != 0) {
            char err[1100];
            snprintf (err, sizeof err, "%s/agent%d.err", fx->dir, n);
            fprintf (stderr, "agent %d exited %d\n", n, status);
            harness_dump_tail ("agent", err);
            failed++;
        }
    }
    //  Stop the flood; it says how much it sent.
    kill (flood, SIGTERM);
    assert_int_equal (harness_wait (flood, 10000), 0);
    char *said = harness_read_file (stats);
    assert_non_null (said);
    unsigned long long sent = 0;
    const char *at = strstr (said, "sent ");
    assert_non_null (at);
    assert_int_equal (sscanf (at, "sent %llu", &sent), 1);
    printf ("  the flood sent %llu messages during the build\n", sent);
    assert_true (sent >= 1000);
    free (said);
    assert_int_equal (failed, 0);
    //  The build completed; every unit ran exactly once, on some node.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT finished_ms > 0 AND result = 'passed'"
                                                 " FROM builds WHERE build_key = 'flood-1'"), 1);
    int runs = 0;
    for (int n = 0; n < NODES; n++) {
        snprintf (path, sizeof path, "%s/agent%d.ran", fx->dir, n);
        char *ran = harness_read_file (path);
        for (const char *line = ran; line && *line; line = strchr (line, '\n') + 1) {
            strncat (list, line, (size_t) (strchr (line, '\n') - line + 1));
            runs++;
        }
        free (ran);
    }
    assert_int_equal (runs, UNITS);
    for (int i = 0; i < UNITS; i++) {
        char name[32], sql[256];
        snprintf (name, sizeof name, "t%02d_test.txt\n", i);
        assert_non_null (strstr (list, name));
        //  Its history is the report's time, to the millisecond.
        snprintf (sql, sizeof sql, "SELECT count (*) FROM samples WHERE name = 't%02d_test.txt'"
                                   " AND duration_ms = %d AND ok = 1", i, 10 + i);
        assert_int_equal (e2e_db_int (fx->daemon.db, sql), 1);
    }
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count (*) FROM samples"), UNITS);
    //  And the daemon still answers a well-formed request.
    s_expect_joined (fx, "after-flood", "after", 0, 1);
    free (runner);
    free (satchel);
    free (flooder);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_builds_in_flight, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_flood_does_not_stop_a_build, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
