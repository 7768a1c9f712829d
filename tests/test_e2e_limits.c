/*  test_e2e_limits.c: satcheld's limits against a real daemon on a
    loopback port, spoken to by hand (tests/e2e_client.c):
    - --max-builds: a join that would start one build more than the limit
      is answered "busy", a transient code (agents retry, then fall back);
      the builds in flight go on, and a finished build frees its place;
    - a flood: one client (tests/flood_client.c, a separate process) sends
      garbage as fast as it can while 4 real agents run a build; the build
      completes, every unit ran once, its timings are the report's, and
      the daemon still answers afterwards (invariant 7);
    - --max-rate: a connection past its rate is told "busy" unread while
      another is served, and is served again once its bucket refills;
    - --max-units and --max-name: a join over either gets a "limit" error
      naming the flag, by hand and from a real agent (exit 1, no
      fallback), and a join within both is served right after.            */
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
#include <sys/resource.h>

#define DEADLINE_MS 120000

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    return 0;
}

static const char *const s_units[] = { "a_test", "b_test" };

//  Join build as node index of total on a fresh socket; returns the reply.
static proto_msg_t *
s_join (const e2e_fixture_t *fx, const char *attempt, const char *build, uint32_t index,
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
s_expect_joined (const e2e_fixture_t *fx, const char *attempt, const char *build,
                 uint32_t index, uint32_t total)
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
s_finish (const e2e_fixture_t *fx, const char *attempt)
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
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--max-builds", "2", NULL };
    e2e_fixture_daemon (fx, extra);
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
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM builds"), 2);
    //  The builds in flight are not held back: another node of one joins.
    s_expect_joined (fx, "a1", "build-a", 1, 2);
    //  Once build-b is finished, build-c gets its place.
    s_finish (fx, "b0");
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 FROM builds"
                                           " WHERE build_key = 'build-b'"), 1);
    s_expect_joined (fx, "c1", "build-c", 0, 1);
    reply = s_join (fx, "d0", "build-d", 0, 1);
    assert_string_equal (reply->code, PROTO_ERR_BUSY);
    proto_msg_destroy (&reply);
}

static void
test_flood_does_not_stop_a_build (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    //  The suite: 12 test files, each sleeping 40 ms and reporting less
    //  than that as its time in the JUnit report, so that the history can
    //  be checked exactly.
    enum { UNITS = 12, NODES = 4 };
    for (int i = 0; i < UNITS; i++) {
        char name[32], body[64];
        snprintf (name, sizeof name, "t%02d_test.txt", i);
        snprintf (body, sizeof body, "ms=40\nreport_ms=%d\n", 10 + i);
        e2e_fixture_unit (fx, name, body);
    }
    //  The flood first, until it has 1000 messages out.
    char *flooder = harness_bin ("tests/flood_client");
    char *stats = e2e_fixture_path (fx, "flood.txt");
    char *flood_argv[] = { flooder, fx->daemon.endpoint, stats, NULL };
    pid_t flood = harness_spawn (flood_argv, NULL, NULL, NULL, NULL);
    assert_true (flood > 0);
    assert_int_equal (harness_wait_for_text (stats, "flooding", 30000), 0);
    //  Four honest agents, as separate processes, each with its own runs log.
    char *runner = harness_source ("tests/fixtures/junit_runner.sh");
    const char *const command[] = { "/bin/sh", runner, "--out={junit}", "{}", NULL };
    char tags[NODES][16];
    for (int n = 0; n < NODES; n++) {
        snprintf (tags[n], sizeof tags[n], "agent%d", n);
        e2e_agent_t agent = { .tag = tags[n], .suite = "flood", .build = "flood-1", .index = n,
                              .total = NODES, .pattern = "*_test.txt", .command = command };
        e2e_fixture_agent (fx, &agent);
    }
    int failed = 0;
    for (int n = 0; n < NODES; n++) {
        if (e2e_fixture_wait (fx, tags[n]) != 0) {
            char *err = e2e_fixture_path (fx, "%s.err", tags[n]);
            harness_dump_tail ("agent", err);
            free (err);
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
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed'"
                                           " FROM builds WHERE build_key = 'flood-1'"), 1);
    int counts[UNITS] = { 0 }, runs = 0;
    for (int n = 0; n < NODES; n++) {
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[n]);
        runs += harness_count_runs (ran, fx->names, fx->count, counts);    //  lines of no unit
        free (ran);
    }
    for (int i = 0; i < UNITS; i++)
        runs += counts[i];      //  now every line of the runs logs
    assert_int_equal (runs, UNITS);
    for (int i = 0; i < UNITS; i++) {
        assert_int_equal (counts[i], 1);
        //  Its history is the report's time, to the millisecond.
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples"
                                               " WHERE name = '%s' AND duration_ms = %d AND ok = 1",
                                           fx->names[i], 10 + i), 1);
    }
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples"), UNITS);
    //  And the daemon still answers a well-formed request.
    s_expect_joined (fx, "after-flood", "after", 0, 1);
    free (runner);
    free (stats);
    free (flooder);
}

//  Send count frames on a DEALER socket back to back (each after the empty
//  delimiter frame a REQ socket would add), then read count replies.
//  Returns how many replies were "busy"; the others must be the error a
//  frame that is not msgpack gets.
static int
s_burst (zsock_t *dealer, int count)
{
    for (int i = 0; i < count; i++)
        assert_int_equal (zsock_send (dealer, "zs", "not msgpack"), 0);
    int busy = 0;
    for (int i = 0; i < count; i++) {
        zmsg_t *msg = zmsg_recv (dealer);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2);
        zframe_t *delimiter = zmsg_pop (msg);
        assert_int_equal (zframe_size (delimiter), 0);
        zframe_destroy (&delimiter);
        zframe_t *frame = zmsg_pop (msg);
        proto_limits_t limits;
        proto_limits_default (&limits);
        proto_error_t error;
        proto_msg_t *reply = proto_decode (zframe_data (frame), zframe_size (frame), &limits,
                                           &error);
        assert_non_null (reply);
        assert_int_equal (reply->type, PROTO_ERROR);
        if (strcmp (reply->code, PROTO_ERR_BUSY) == 0) {
            assert_non_null (strstr (reply->message, "--max-rate"));
            busy++;
        }
        else
            assert_string_equal (reply->code, PROTO_ERR_BAD_REQUEST);
        proto_msg_destroy (&reply);
        zframe_destroy (&frame);
        zmsg_destroy (&msg);
    }
    return busy;
}

//  --max-rate 5: one connection sending 40 requests at once gets the five
//  of its burst answered and most of the rest told "busy" unread; another
//  connection is served all the while; the first is served again once its
//  bucket has refilled.
static void
test_rate_limit_per_connection (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--max-rate", "5", NULL };
    e2e_fixture_daemon (fx, extra);
    zsock_t *dealer = zsock_new_dealer (fx->daemon.endpoint);
    assert_non_null (dealer);
    zsock_set_rcvtimeo (dealer, 10000);
    int busy = s_burst (dealer, 40);
    printf ("  40 requests at once at --max-rate 5: %d told busy\n", busy);
    //  Five in the burst, and at most a few more refilled while they came.
    assert_true (busy >= 30);
    assert_true (busy <= 35);
    //  Another connection is not held back by the first one's limit.
    s_expect_joined (fx, "other-connection", "rate-b", 0, 1);
    //  The first is served again once a token has come back (5 a second):
    //  ask at most 50 times, 100 ms apart.
    int tries = 0;
    while (s_burst (dealer, 1) == 1) {
        assert_true (++tries < 50);
        zclock_sleep (100);
    }
    zsock_destroy (&dealer);
    //  Said once in the log, with the limit.
    char *log = harness_read_file (fx->log);
    assert_non_null (log);
    assert_int_equal (harness_count (log, "rate_limited refused=1 max_rate=5"), 1);
    free (log);
}

//  --max-units 3 and --max-name 40: a join over either is refused with a
//  "limit" error naming the field, the numbers and the flag, by hand and by
//  a real agent (a user error: exit 1, no fallback, nothing run); a join
//  within both is served right after.
static void
test_units_and_name_limits (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--max-units", "3", "--max-name", "40", NULL };
    e2e_fixture_daemon (fx, extra);
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    //  Four units: over --max-units.
    const char *four[] = { "a_test", "b_test", "c_test", "d_test" };
    proto_msg_t *join = e2e_join ("units-4", 1, "limits", "units-4", 0, 1, four, 4);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->code, PROTO_ERR_LIMIT);
    assert_string_equal (reply->field, "units");
    assert_string_equal (reply->message, "units has 4 elements, more than the limit of 3"
                                         " (satcheld --max-units)");
    assert_true (proto_error_is_user (reply->code));
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    //  A name of 41 bytes: over --max-name.
    const char *long_name[] = { "a_test", "tests/a_name_that_is_41_bytes_long_test.x" };
    assert_int_equal (strlen (long_name[1]), 41);
    join = e2e_join ("name-41", 1, "limits", "name-41", 0, 1, long_name, 2);
    reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->code, PROTO_ERR_LIMIT);
    assert_string_equal (reply->field, "units[1]");
    assert_string_equal (reply->message, "units[1] is 41 bytes, more than the 40 allowed"
                                         " (satcheld --max-name)");
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    zsock_destroy (&socket);
    //  Nothing of either was stored; the daemon serves a join within both.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM builds"), 0);
    s_expect_joined (fx, "within", "within", 0, 1);

    //  A real agent over the limit: exit 1 saying why, nothing run, no
    //  fallback; within it, the build runs.
    const char *names[] = { "tests/a0_test.txt", "tests/a1_test.txt", "tests/a2_test.txt",
                            "tests/b0_test.txt" };
    for (int i = 0; i < 4; i++)
        e2e_fixture_unit (fx, names[i], "ms=1\n");
    e2e_agent_t over = { .tag = "over", .suite = "limits", .build = "agent-over", .index = 0,
                         .total = 1, .pattern = "tests/*_test.txt", .stdout_too = true };
    char *said = e2e_fixture_run (fx, &over, 1);
    assert_non_null (strstr (said, "more than the limit of 3 (satcheld --max-units)"));
    assert_null (strstr (said, "fall"));
    free (said);
    char *ran = e2e_fixture_read (fx, "over.ran");
    assert_null (ran);
    e2e_agent_t within_agent = { .tag = "within", .suite = "limits", .build = "agent-within",
                                 .index = 0, .total = 1, .pattern = "tests/a*_test.txt" };
    free (e2e_fixture_run (fx, &within_agent, 0));
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 FROM builds"
                                           " WHERE build_key = 'agent-within'"), 1);
}

//  satcheld raises its soft limit of open files to the hard one (at most
//  65,536): a farm of a thousand agents holds a thousand connections.
static void
test_open_files_limit_raised (void **state)
{
    e2e_fixture_t *fx = *state;
    struct rlimit ours;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &ours), 0);
    if (ours.rlim_max < 512)
        skip ();
    //  The daemon inherits a low soft limit from us for this test.
    struct rlimit low = { .rlim_cur = 256, .rlim_max = ours.rlim_max };
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
    e2e_fixture_daemon (fx, NULL);
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &ours), 0);
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/limits", (int) fx->daemon.pid);
    char *limits = harness_read_file (path);
    assert_non_null (limits);
    const char *line = strstr (limits, "Max open files");
    assert_non_null (line);
    unsigned long long soft = 0;
    assert_int_equal (sscanf (line + strlen ("Max open files"), "%llu", &soft), 1);
    unsigned long long want = ours.rlim_max < 65536 ? (unsigned long long) ours.rlim_max : 65536;
    assert_true (soft == want);
    free (limits);
    assert_int_equal (harness_wait_for_text (fx->log, "open_files_raised from=256", 10000), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_builds_in_flight, s_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_open_files_limit_raised, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_rate_limit_per_connection, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_units_and_name_limits, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_flood_does_not_stop_a_build, s_setup,
                                         e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
