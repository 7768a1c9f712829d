/*  test_e2e_limits.c: satcheld's limits against a real daemon on a
    loopback port, spoken to by hand (tests/e2e_client.c):
    - --max-builds: a join that would start one build more than the limit
      is answered "busy", a transient code (agents retry, then fall back);
      the builds in flight go on, and a finished build frees its place. */
#include "e2e_client.h"
#include "harness.h"
#include "proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_builds_in_flight, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
