/*  test_e2e_metrics.c: satcheld's metrics file against a real build. A
    real satcheld on loopback keeps --metrics-file current every 0.2 s;
    the test reads it again and again while two real agents run a build,
    and every read must parse as Prometheus's text format (tests/
    prom_text.c: so the file is never seen half written); the counters
    move with the build and end where it says: two joins, the units and
    batches handed out, one build passed, every request in the latency
    histogram, and an unreadable request counted as such. And a node that
    falls back (here: one build too many for --max-builds) tells satcheld
    afterwards, which counts it. Commits are counted, and the loop's busy
    time is no more than the time it ran and does not grow while no
    request comes. At
    SIGTERM the file is written once more, with what came since the last
    write.                                                               */
#include "e2e_fixture.h"
#include "prom_text.h"
#include "e2e_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 60000
#define UNITS 6

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    return 0;
}

//  Read and parse the file (it must parse); returns 0, or -1 if it is not
//  there yet.
static int
s_read (const char *path, prom_doc_t *doc)
{
    char *text = harness_read_file (path);
    if (!text)
        return -1;
    char why[256];
    if (prom_parse (text, doc, why, sizeof why) != 0)
        fail_msg ("the metrics file does not parse: %s\n%s", why, text);
    free (text);
    return 0;
}

static double
s_v (const prom_doc_t *doc, const char *name, const char *labels)
{
    double value = prom_value (doc, name, labels);
    if (isnan (value))
        fail_msg ("no %s{%s} in the metrics file", name, labels);
    return value;
}

//  The sum of every satchel_requests_total series.
static double
s_requests (const prom_doc_t *doc)
{
    double sum = 0;
    for (size_t i = 0; i < doc->count; i++)
        if (strcmp (doc->samples[i].name, "satchel_requests_total") == 0)
            sum += doc->samples[i].value;
    return sum;
}

//  Send one request satcheld cannot read; wait for its reply.
static void
s_unreadable (const char *endpoint)
{
    zsock_t *socket = zsock_new_req (endpoint);
    assert_non_null (socket);
    zsock_set_rcvtimeo (socket, 10000);
    assert_int_equal (zstr_send (socket, "not msgpack"), 0);
    zframe_t *reply = zframe_recv (socket);
    assert_non_null (reply);
    zframe_destroy (&reply);
    zsock_destroy (&socket);
}

//  Start satcheld writing its metrics every interval seconds and read
//  the file's first write into first. Returns the file's path.
static char *
s_daemon (e2e_fixture_t *fx, const char *interval, prom_doc_t *first)
{
    char *path = e2e_fixture_path (fx, "satchel.prom");
    const char *extra[] = { "--metrics-file", path, "--metrics-interval", interval, NULL };
    e2e_fixture_daemon (fx, extra);
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (s_read (path, first) != 0) {
        assert_true (harness_now_ms () < until);
        zclock_sleep (20);
    }
    return path;
}

static void
test_metrics_follow_a_build (void **state)
{
    e2e_fixture_t *fx = *state;
    prom_doc_t before = { 0 };
    char *path = s_daemon (fx, "0.2", &before);
    assert_true (s_v (&before, "satchel_requests_total", "type=\"join\",result=\"ok\"") == 0);
    assert_true (s_v (&before, "satchel_units_handed_out_total", "") == 0);
    assert_true (s_v (&before, "satchel_builds_running", "") == 0);
    assert_true (s_v (&before, "satchel_database_bytes", "") > 0);
    double started = s_v (&before, "satchel_start_time_seconds", "");
    assert_true (fabs (started - (double) time (NULL)) < 3600);

    for (int i = 0; i < UNITS; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=100\n");
    }
    const char *tags[] = { "n0", "n1" };
    for (int n = 0; n < 2; n++) {
        e2e_agent_t agent = { .tag = tags[n], .suite = "metrics", .build = "m-1", .index = n,
                              .total = 2, .pattern = "tests/*_test.txt" };
        e2e_fixture_agent (fx, &agent);
    }
    //  An unreadable request, as a broken client would send.
    s_unreadable (fx->daemon.endpoint);

    //  Read while the build runs, until its end shows; every read parses.
    prom_doc_t after = { 0 };
    int reads = 0;
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (true) {
        assert_int_equal (s_read (path, &after), 0);
        reads++;
        if (s_v (&after, "satchel_builds_finished_total", "result=\"passed\"") == 1)
            break;
        prom_free (&after);
        assert_true (harness_now_ms () < until);
        zclock_sleep (20);
    }
    printf ("  the file read and parsed %d times while the build ran\n", reads);
    for (int n = 0; n < 2; n++)
        e2e_fixture_expect_exit (fx, tags[n], 0);
    assert_true (s_v (&after, "satchel_requests_total", "type=\"join\",result=\"ok\"") == 2);
    assert_true (s_v (&after, "satchel_requests_total", "type=\"next\",result=\"ok\"") >= 2);
    assert_true (s_v (&after, "satchel_requests_total",
                      "type=\"unreadable\",result=\"bad_request\"") == 1);
    assert_true (s_v (&after, "satchel_units_handed_out_total", "") == UNITS);
    assert_true (s_v (&after, "satchel_batches_handed_out_total", "") >= 2);
    assert_true (s_v (&after, "satchel_builds_finished_total", "result=\"failed\"") == 0);
    assert_true (s_v (&after, "satchel_leases_expired_total", "") == 0);
    assert_true (s_v (&after, "satchel_agents_seen", "") == 2);
    //  Every request counted is in the histogram too.
    assert_true (s_v (&after, "satchel_request_duration_seconds_count", "") == s_requests (&after));
    assert_true (s_v (&after, "satchel_request_duration_seconds_sum", "") > 0);
    //  Each node's batch was committed before its reply (a held request
    //  handled again commits too, so there is no upper bound here).
    double commits = s_v (&after, "satchel_commits_total", "");
    assert_true (commits >= 2);
    double busy = s_v (&after, "satchel_loop_busy_seconds_total", "");
    double ran = (double) time (NULL) - started + 1;
    assert_true (busy > 0 && busy <= ran);
    //  Waiting for requests is not work: over a second with none (the
    //  idle stretch is the point here, not a wait for an event), the
    //  file, rewritten every 0.2 s, shows the busy time grown by far
    //  less than the time that passed.
    zclock_sleep (1000);
    prom_doc_t idle = { 0 };
    assert_int_equal (s_read (path, &idle), 0);
    double grown = s_v (&idle, "satchel_loop_busy_seconds_total", "") - busy;
    assert_true (grown >= 0 && grown < 0.4);
    prom_free (&idle);
    //  Counters never went down.
    for (size_t i = 0; i < before.count; i++) {
        const prom_sample_t *was = &before.samples[i];
        if (strstr (was->name, "_total"))
            assert_true (s_v (&after, was->name, was->labels) >= was->value);
    }
    prom_free (&before);
    prom_free (&after);
    free (path);
    e2e_fixture_pass (fx);
}

//  With an hour between writes, the file is written at start and then
//  only at SIGTERM: the request made in between shows only through that
//  last write.
static void
test_the_file_is_written_at_stop (void **state)
{
    e2e_fixture_t *fx = *state;
    prom_doc_t first = { 0 };
    char *path = s_daemon (fx, "3600", &first);
    s_unreadable (fx->daemon.endpoint);
    //  A result's series shows once it happened.
    assert_true (isnan (prom_value (&first, "satchel_requests_total",
                                    "type=\"unreadable\",result=\"bad_request\"")));
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
    prom_doc_t last = { 0 };
    assert_int_equal (s_read (path, &last), 0);
    assert_true (s_v (&last, "satchel_requests_total",
                      "type=\"unreadable\",result=\"bad_request\"") == 1);
    assert_true (s_v (&last, "satchel_loop_busy_seconds_total", "")
                 >= s_v (&first, "satchel_loop_busy_seconds_total", ""));
    prom_free (&first);
    prom_free (&last);
    free (path);
    e2e_fixture_pass (fx);
}

//  A node that falls back tells satcheld afterwards, when it can: with
//  --max-builds 1 and one build in flight (joined by hand), a real agent of
//  a second build is told busy, falls back, runs its tests split by name,
//  and then says so; the daemon logs it and the metrics count it.
static void
test_fallbacks_are_counted (void **state)
{
    e2e_fixture_t *fx = *state;
    char *path = e2e_fixture_path (fx, "satchel.prom");
    const char *extra[] = { "--max-builds", "1", "--metrics-file", path, "--metrics-interval",
                            "0.2", NULL };
    e2e_fixture_daemon (fx, extra);
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=1\n");
    }
    //  The one build in flight.
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    const char *units[] = { "a_test" };
    proto_msg_t *join = e2e_join ("holder", 1, "metrics", "in-flight", 0, 1, units, 1);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    zsock_destroy (&socket);
    //  One more build: busy, retried, then split by name.
    const char *flags[] = { "--retries", "1", NULL };
    e2e_agent_t agent = { .tag = "late", .suite = "metrics", .build = "one-too-many",
                          .index = 0, .total = 1, .pattern = "tests/*_test.txt",
                          .timeout = "0.5", .flags = flags, .stdout_too = true };
    char *said = e2e_fixture_run (fx, &agent, 0);
    assert_non_null (strstr (said, "fallback mode"));
    assert_non_null (strstr (said, "told the coordinator that this node fell back"));
    free (said);
    assert_int_equal (harness_wait_for_text (fx->log, "fallback_reported suite=metrics "
                                             "build=one-too-many node=0/1 units=3",
                                             DEADLINE_MS), 0);
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (true) {
        prom_doc_t doc = { 0 };
        if (s_read (path, &doc) == 0) {
            double fallbacks = prom_value (&doc, "satchel_fallbacks_total", "");
            double noted = prom_value (&doc, "satchel_requests_total",
                                       "type=\"fallback\",result=\"ok\"");
            prom_free (&doc);
            if (fallbacks == 1 && noted == 1)
                break;
            assert_true (fallbacks <= 1);
        }
        assert_true (harness_now_ms () < until);
        zclock_sleep (20);
    }
    free (path);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_metrics_follow_a_build, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_fallbacks_are_counted, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_the_file_is_written_at_stop, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
