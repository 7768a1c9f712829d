/*  test_e2e_replay.c: what satcheld remembers about nodes, end to end.

    A real satcheld on a loopback wildcard port, real `satchel run` agents
    running a real (small) test command, and a raw protocol client where a
    test needs to play a node that misbehaves on purpose. Proves
    invariant 5 (replay: a new attempt on a node gets the same units in the
    same order; --only-failed only what did not pass; --fixed-split across
    build ids) and fencing (a late report under an old lease is kept as
    history but takes nothing back from the node that holds the batch now). */
#include "e2e_client.h"
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Make count test files t/uNN_test.txt sleeping ms each; the ones whose
//  index is in failing[] (terminated by -1) fail.
static void
s_suite (e2e_fixture_t *fx, int count, int ms, const int *failing)
{
    for (int i = 0; i < count; i++) {
        char name[64];
        snprintf (name, sizeof name, "t/u%02d_test.txt", i);
        bool fails = false;
        for (int f = 0; failing && failing[f] >= 0; f++)
            fails = fails || failing[f] == i;
        char body[64];
        snprintf (body, sizeof body, "ms=%d\n%s", ms, fails ? "fail\n" : "");
        e2e_fixture_unit (fx, name, body);
    }
}

//  Start an agent of build as node index of total, in its own process
//  group (so kill -9 of the group takes its test command too, as when a CI
//  machine dies), logging its runs to <tag>.ran and its output to
//  <tag>.err. flags: more flags (NULL-terminated, may be NULL).
static pid_t
s_agent (e2e_fixture_t *fx, const char *tag, const char *build, int index, int total,
         const char *const *flags, const char *const *env)
{
    e2e_agent_t agent = { .tag = tag, .suite = "replay", .build = build, .index = index,
                          .total = total, .pattern = "t/*_test.txt", .timeout = "10",
                          .flags = flags, .env = env };
    return e2e_fixture_agent (fx, &agent);
}

//  Units handed to a node by the attempt with the given rank (1 = first
//  attempt of the node), in batch order, one a line.
static char *
s_units_of_attempt (const e2e_fixture_t *fx, int node, int rank)
{
    return e2e_fixture_lines (fx, "SELECT u.name FROM batches b"
                                  " JOIN batch_units bu ON bu.batch_id = b.id"
                                  " JOIN units u ON u.build_id = b.build_id AND u.idx = bu.unit_idx"
                                  " WHERE b.node_index = %d AND b.attempt_id ="
                                  "  (SELECT id FROM attempts WHERE node_index = %d ORDER BY id"
                                  " LIMIT 1 OFFSET %d) ORDER BY b.seq, bu.pos", node, node,
                              rank - 1);
}

//  1. kill -9 of an agent in the middle of a batch; a new agent on the
//  same node index replays the units of the earlier attempt, in order,
//  and then finishes the build.
static void
test_killed_node_replays_its_units_in_order (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 30, 80, NULL);
    e2e_fixture_daemon (fx, NULL);
    //  Node 1 never comes: node 0 would take everything from the queue.
    pid_t first = s_agent (fx, "first", "kill-1", 0, 2, NULL, NULL);
    //  Kill it once its second batch is out and not reported: mid-batch.
    e2e_fixture_wait_db (fx, 1, "SELECT count(*) FROM batches WHERE reported_ms IS NOT NULL");
    e2e_fixture_wait_db (fx, 2, "SELECT count(*) FROM batches");
    kill (-first, SIGKILL);
    assert_int_equal (e2e_fixture_wait (fx, "first"), 128 + SIGKILL);
    int64_t unreported = e2e_db_int (fx->daemon.db,
                                     "SELECT count(*) FROM batches WHERE reported_ms IS NULL");
    assert_true (unreported >= 1);
    char *earlier = s_units_of_attempt (fx, 0, 1);
    int64_t earlier_batches = e2e_db_int (fx->daemon.db, "SELECT count(*) FROM batches");

    s_agent (fx, "second", "kill-1", 0, 2, NULL, NULL);
    e2e_fixture_expect_exit (fx, "second", 0);
    char *ran = e2e_fixture_text (fx, "second.ran");
    //  The replay comes first and is exactly the earlier attempt's units.
    assert_true (strlen (ran) >= strlen (earlier));
    if (strncmp (ran, earlier, strlen (earlier)) != 0)
        fprintf (stderr, "earlier attempt:\n%s\nsecond attempt ran:\n%s\n", earlier, ran);
    assert_memory_equal (ran, earlier, strlen (earlier));
    char *output = e2e_fixture_text (fx, "second.err");
    char said[64];
    snprintf (said, sizeof said, "replaying %lld batch", (long long) earlier_batches);
    assert_non_null (strstr (output, said));
    //  Then the queue: every unit of the suite ran on this attempt.
    for (int i = 0; i < fx->count; i++) {
        char line[80];
        snprintf (line, sizeof line, "%s\n", fx->names[i]);
        assert_non_null (strstr (ran, line));
    }
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT finished_ms > 0 AND result = 'passed' FROM builds"), 1);
    //  The dead attempt's unreported batch was superseded by the replay,
    //  and is the only batch never reported.
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT count(*) FROM batches WHERE reported_ms IS NULL"
                                  " AND state != 3"), 0);
    assert_true (e2e_db_int (fx->daemon.db,
                             "SELECT count(*) FROM batches WHERE state = 3") >= 1);
    free (earlier);
    free (ran);
    free (output);
}

//  4. --only-failed: two units fail; the retried node runs exactly those
//  two, in their order; once fixed, a retry runs them again and passes;
//  without the flag the retry replays everything.
static void
test_only_failed_replays_exactly_the_failures (void **state)
{
    e2e_fixture_t *fx = *state;
    const int failing[] = { 3, 8, -1 };
    s_suite (fx, 12, 5, failing);
    //  One unit a batch: a batch's exit status is then the unit's result.
    const char *extra[] = { "--max-batch-units", "1", NULL };
    e2e_fixture_daemon (fx, extra);
    s_agent (fx, "all", "only-1", 0, 1, NULL, NULL);
    e2e_fixture_expect_exit (fx, "all", 1);
    char *all = e2e_fixture_text (fx, "all.ran");
    assert_int_equal (harness_count (all, "\n"), 12);

    const char *only[] = { "--only-failed", NULL };
    s_agent (fx, "failed", "only-1", 0, 1, only, NULL);
    e2e_fixture_expect_exit (fx, "failed", 1);
    char *failed = e2e_fixture_text (fx, "failed.ran");
    //  The two failures, in the order the first attempt ran them.
    const char *a = strstr (all, fx->names[3]), *b = strstr (all, fx->names[8]);
    assert_non_null (a);
    assert_non_null (b);
    char expected[256];
    snprintf (expected, sizeof expected, "%s\n%s\n", a < b ? fx->names[3] : fx->names[8],
              a < b ? fx->names[8] : fx->names[3]);
    assert_string_equal (failed, expected);
    char *output = e2e_fixture_text (fx, "failed.err");
    assert_non_null (strstr (output, "replaying 2 batches"));
    assert_non_null (strstr (output, "only the tests that did not pass"));

    //  Fix them; the environment variable asks for the same.
    for (int i = 0; failing[i] >= 0; i++) {
        char *path = malloc (strlen (fx->suite) + 64);
        sprintf (path, "%s/%s", fx->suite, fx->names[failing[i]]);
        assert_int_equal (harness_write_file (path, "ms=5\n"), 0);
        free (path);
    }
    const char *env[] = { "SATCHEL_RETRY_ONLY_FAILED=1", NULL };
    s_agent (fx, "fixed", "only-1", 0, 1, NULL, env);
    e2e_fixture_expect_exit (fx, "fixed", 0);
    char *fixed = e2e_fixture_text (fx, "fixed.ran");
    assert_string_equal (fixed, expected);

    //  Everything passed now: an only-failed retry has nothing to replay.
    s_agent (fx, "nothing", "only-1", 0, 1, only, NULL);
    e2e_fixture_expect_exit (fx, "nothing", 0);
    char *nothing = e2e_fixture_text (fx, "nothing.ran");
    assert_string_equal (nothing, "");

    //  A plain retry replays the whole node.
    s_agent (fx, "plain", "only-1", 0, 1, NULL, NULL);
    e2e_fixture_expect_exit (fx, "plain", 0);
    char *plain = e2e_fixture_text (fx, "plain.ran");
    assert_string_equal (plain, all);
    free (all);
    free (failed);
    free (output);
    free (fixed);
    free (nothing);
    free (plain);
}

//  5. Fixed split: a second build with another build id but the same
//  commit, branch and node total gives each node the same units, in the
//  same order; without the flag a new build id is a new build.
static void
test_fixed_split_replays_across_build_ids (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 24, 20, NULL);
    e2e_fixture_daemon (fx, NULL);
    const char *fixed[] = { "--fixed-split", NULL };
    s_agent (fx, "a0", "ci-101", 0, 2, fixed, NULL);
    s_agent (fx, "a1", "ci-101", 1, 2, fixed, NULL);
    e2e_fixture_expect_exit (fx, "a0", 0);
    e2e_fixture_expect_exit (fx, "a1", 0);
    char *first0 = e2e_fixture_text (fx, "a0.ran"), *first1 = e2e_fixture_text (fx, "a1.ran");
    assert_int_equal (harness_count (first0, "\n") + harness_count (first1, "\n"), 24);

    const char *env[] = { "SATCHEL_FIXED_QUEUE_SPLIT=1", NULL };
    s_agent (fx, "b0", "ci-102", 0, 2, NULL, env);
    s_agent (fx, "b1", "ci-102", 1, 2, fixed, NULL);
    e2e_fixture_expect_exit (fx, "b0", 0);
    e2e_fixture_expect_exit (fx, "b1", 0);
    char *second0 = e2e_fixture_text (fx, "b0.ran"), *second1 = e2e_fixture_text (fx, "b1.ran");
    assert_string_equal (second0, first0);
    assert_string_equal (second1, first1);
    //  One build in the database, named by commit, branch and node total.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM builds"), 1);
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT count(*) FROM builds WHERE build_key LIKE 'fixed-%'"), 1);

    //  Without the flag, a new build id starts a new build.
    s_agent (fx, "c0", "ci-103", 0, 1, NULL, NULL);
    e2e_fixture_expect_exit (fx, "c0", 0);
    char *third = e2e_fixture_text (fx, "c0.ran");
    assert_int_equal (harness_count (third, "\n"), 24);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM builds"), 2);
    free (first0);
    free (first1);
    free (second0);
    free (second1);
    free (third);
}

static const char *const s_units[] = { "a_test", "b_test", "c_test", "d_test" };

//  A node played by hand: join, then next, returning the reply.
static proto_msg_t *
s_hand_join (zsock_t *socket, const char *attempt, const char *build, uint32_t index,
             uint32_t total)
{
    proto_msg_t *join = e2e_join (attempt, 1, "fence", build, index, total, s_units, 4);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&join);
    return reply;
}

static proto_msg_t *
s_hand_next (zsock_t *socket, const char *attempt, uint64_t req)
{
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = req;
    proto_msg_t *reply = e2e_call (socket, next);
    proto_msg_destroy (&next);
    return reply;
}

static bool
s_held (zsock_t *socket, const char *attempt, uint64_t req, uint32_t batch, uint64_t lease)
{
    proto_msg_t *beat = proto_msg_new (PROTO_HEARTBEAT);
    proto_msg_set_str (&beat->attempt, attempt);
    beat->req = req;
    beat->batch = batch;
    beat->lease = lease;
    proto_msg_t *ack = e2e_call (socket, beat);
    assert_int_equal (ack->type, PROTO_ACK);
    bool held = ack->held;
    proto_msg_destroy (&ack);
    proto_msg_destroy (&beat);
    return held;
}

//  6a. A node goes silent, its lease lapses, another node takes its
//  units; the late report of the silent node is kept as history but does
//  not take the batch back.
static void
test_late_report_after_expiry_is_fenced (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--lease", "1", "--max-batch-units", "2", NULL };
    e2e_fixture_daemon (fx, extra);
    zsock_t *a = e2e_connect (fx->daemon.endpoint);
    zsock_t *c = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *reply = s_hand_join (a, "fenceA", "expiry", 0, 2);
    assert_int_equal (reply->heartbeat_ms, 333);
    proto_msg_destroy (&reply);
    proto_msg_t *batch_a = s_hand_next (a, "fenceA", 2);
    assert_int_equal (batch_a->type, PROTO_BATCH);
    assert_int_equal (batch_a->unit_count, 2);
    reply = s_hand_join (c, "fenceC", "expiry", 1, 2);
    proto_msg_destroy (&reply);
    proto_msg_t *batch_c = s_hand_next (c, "fenceC", 2);
    assert_int_equal (batch_c->type, PROTO_BATCH);
    proto_msg_t *done = e2e_report ("fenceC", 3, batch_c->batch, batch_c->lease,
                                    batch_c->unit_count, 0);
    proto_msg_destroy (&batch_c);
    //  C is told to wait while A's batch is out, until the lease lapses
    //  and A's units come back to the queue for it.
    uint64_t req = 3;
    proto_msg_t *next = done;
    int64_t deadline = harness_now_ms () + fx->deadline_ms;
    while (true) {
        next->req = req++;
        batch_c = e2e_call (c, next);
        proto_msg_destroy (&next);
        if (batch_c->type == PROTO_BATCH)
            break;
        assert_int_equal (batch_c->type, PROTO_WAIT);
        assert_true (batch_c->retry_ms >= 1 && batch_c->retry_ms <= 1000);
        usleep ((useconds_t) batch_c->retry_ms * 1000);     //  as the agent does
        proto_msg_destroy (&batch_c);
        assert_true (harness_now_ms () < deadline);
        next = proto_msg_new (PROTO_NEXT);
        proto_msg_set_str (&next->attempt, "fenceC");
    }
    assert_int_equal (batch_c->unit_count, 2);
    assert_string_equal (batch_c->units[0], batch_a->units[0]);
    assert_string_equal (batch_c->units[1], batch_a->units[1]);
    assert_true (batch_c->lease > batch_a->lease);

    //  A wakes up and reports under its old lease.
    int64_t samples = e2e_db_int (fx->daemon.db, "SELECT count(*) FROM samples");
    proto_msg_t *late = e2e_report ("fenceA", 3, batch_a->batch, batch_a->lease, 2, 0);
    reply = e2e_call (a, late);
    proto_msg_destroy (&late);
    //  Not an error, and no work: C holds the last units.
    assert_int_equal (reply->type, PROTO_WAIT);
    proto_msg_destroy (&reply);
    //  History kept: two more samples, the batch marked reported...
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM samples"), samples + 2);
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT count(*) FROM batches WHERE node_index = 0 AND seq = 1"
                                  " AND state = 2 AND reported_ms IS NOT NULL"), 1);
    //  ...but C still holds its batch, and A does not.
    assert_true (s_held (c, "fenceC", req++, batch_c->batch, batch_c->lease));
    assert_false (s_held (a, "fenceA", 4, batch_a->batch, batch_a->lease));
    //  The build is not finished by A's report; C's finishes it.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT finished_ms FROM builds"), 0);
    next = e2e_report ("fenceC", req++, batch_c->batch, batch_c->lease, 2, 0);
    reply = e2e_call (c, next);
    assert_int_equal (reply->type, PROTO_DONE);
    assert_string_equal (reply->reason, "complete");
    assert_int_equal (reply->units_done, 4);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&next);
    assert_true (e2e_db_int (fx->daemon.db, "SELECT finished_ms FROM builds") > 0);
    proto_msg_destroy (&batch_a);
    proto_msg_destroy (&batch_c);
    zsock_destroy (&a);
    zsock_destroy (&c);
}

//  6b. A node is retried while its first attempt still lives (a spot node
//  thought dead): the new attempt replays the batch under a new lease, and
//  the old attempt's report does not take it back.
static void
test_old_attempt_is_fenced_by_its_replay (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--max-batch-units", "2", NULL };
    e2e_fixture_daemon (fx, extra);
    zsock_t *old = e2e_connect (fx->daemon.endpoint);
    zsock_t *fresh = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *reply = s_hand_join (old, "old", "zombie", 0, 1);
    proto_msg_destroy (&reply);
    proto_msg_t *first = s_hand_next (old, "old", 2);
    assert_int_equal (first->type, PROTO_BATCH);
    reply = s_hand_join (fresh, "fresh", "zombie", 0, 1);
    assert_int_equal (reply->replay, 1);
    proto_msg_destroy (&reply);
    proto_msg_t *again = s_hand_next (fresh, "fresh", 2);
    assert_int_equal (again->type, PROTO_BATCH);
    assert_int_equal (again->kind, PROTO_KIND_REPLAY);
    assert_int_equal (again->unit_count, first->unit_count);
    for (size_t i = 0; i < first->unit_count; i++)
        assert_string_equal (again->units[i], first->units[i]);
    assert_true (again->lease != first->lease);
    //  The old attempt reports under its lease: fenced, not an error.
    proto_msg_t *late = e2e_report ("old", 3, first->batch, first->lease, first->unit_count, 1);
    reply = e2e_call (old, late);
    assert_true (reply->type == PROTO_BATCH || reply->type == PROTO_WAIT);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&late);
    assert_true (s_held (fresh, "fresh", 3, again->batch, again->lease));
    //  Its failure was kept as history, and did not make a unit done.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM samples WHERE ok = 0"),
                      (int64_t) first->unit_count);
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT state FROM batches WHERE seq = 1"), 3);
    proto_msg_destroy (&first);
    proto_msg_destroy (&again);
    zsock_destroy (&old);
    zsock_destroy (&fresh);
}

//  A node that joins a finished build without batches of its own is told
//  there is nothing left, not given a new queue.
static void
test_late_joiner_of_a_finished_build_gets_done (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *reply = s_hand_join (socket, "first", "finished", 0, 2);
    proto_msg_destroy (&reply);
    //  Node 0 alone runs the whole build.
    uint64_t req = 2;
    int batches = 0;
    reply = s_hand_next (socket, "first", req++);
    while (reply->type == PROTO_BATCH) {
        batches++;
        proto_msg_t *next = e2e_report ("first", req++, reply->batch, reply->lease,
                                        reply->unit_count, 0);
        proto_msg_destroy (&reply);
        reply = e2e_call (socket, next);
        proto_msg_destroy (&next);
    }
    assert_int_equal (reply->type, PROTO_DONE);
    assert_string_equal (reply->reason, "complete");
    proto_msg_destroy (&reply);
    reply = s_hand_join (socket, "late", "finished", 1, 2);
    assert_int_equal (reply->replay, 0);
    proto_msg_destroy (&reply);
    reply = s_hand_next (socket, "late", 2);
    assert_int_equal (reply->type, PROTO_DONE);
    assert_string_equal (reply->reason, "complete");
    assert_int_equal (reply->units_done, 4);
    proto_msg_destroy (&reply);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM builds"), 1);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM batches"), batches);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM build_nodes"), 2);
    assert_int_equal (e2e_db_int (fx->daemon.db,
                                  "SELECT units FROM build_nodes WHERE node_index = 0"), 4);
    zsock_destroy (&socket);
}

int
main (void)
{
    zsys_handler_set (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_killed_node_replays_its_units_in_order,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_only_failed_replays_exactly_the_failures,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_fixed_split_replays_across_build_ids,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_late_report_after_expiry_is_fenced, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_old_attempt_is_fenced_by_its_replay,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_late_joiner_of_a_finished_build_gets_done,
                                         e2e_fixture_setup, e2e_fixture_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
