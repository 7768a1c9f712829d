/*  test_e2e_plan.c: queue mode's plan as a real satcheld hands it out, on
    a loopback port, spoken to by hand (tests/e2e_client.c), with history
    imported by a real `satchel import`:

    - a batch stopped by a unit too long for its room takes the units
      behind it that fit, and the unit it passed over is the next node's
      first: satcheld moves the units' names with their times (the fill of
      sched_batch_plan, as coordinator/requests.c wires it);
    - the build then runs to its end with every unit handed out once.      */
#include "e2e_client.h"
#include "e2e_fixture.h"
#include "proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 60000

//  a_long_test 600 ms, b_next_test 500 ms, c01_test..c29_test 100 ms each:
//  4,000 ms in all, listed (and ordered, equal times by name) so.
#define SMALL 29
#define UNITS (SMALL + 2)

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    return 0;
}

//  The suite's units, names malloc'd into names (UNITS of them).
static void
s_names (char **names)
{
    names[0] = strdup ("a_long_test");
    names[1] = strdup ("b_next_test");
    for (int i = 1; i <= SMALL; i++) {
        char name[32];
        snprintf (name, sizeof name, "c%02d_test", i);
        names[i + 1] = strdup (name);
    }
}

static void
s_import (e2e_fixture_t *fx, char **names)
{
    char json[2048];
    size_t used = (size_t) snprintf (json, sizeof json, "{\"%s\": 0.6, \"%s\": 0.5", names[0],
                                     names[1]);
    for (int i = 2; i < UNITS; i++)
        used += (size_t) snprintf (json + used, sizeof json - used, ", \"%s\": 0.1", names[i]);
    snprintf (json + used, sizeof json - used, "}\n");
    char *file = e2e_fixture_path (fx, "plan.json");
    assert_int_equal (harness_write_file (file, json), 0);
    const char *args[] = { "--format", "knapsack", file, NULL };
    free (e2e_fixture_import (fx, "import", "plan", args, 0));
    free (file);
}

//  Which of names the batch holds: seen[i] counts unit i; fails on a name
//  not in the suite.
static void
s_count (const proto_msg_t *batch, char **names, int *seen)
{
    for (size_t u = 0; u < batch->unit_count; u++) {
        int found = -1;
        for (int i = 0; i < UNITS; i++)
            if (strcmp (batch->units[u], names[i]) == 0)
                found = i;
        if (found < 0)
            fail_msg ("unit %s is not the suite's", batch->units[u]);
        seen[found]++;
    }
}

static bool
s_holds (const proto_msg_t *batch, const char *name)
{
    for (size_t u = 0; u < batch->unit_count; u++)
        if (strcmp (batch->units[u], name) == 0)
            return true;
    return false;
}

static void
test_fill_moves_names_with_times (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--runner-startup", "0.1", NULL };
    e2e_fixture_daemon (fx, extra);
    char *names[UNITS];
    s_names (names);
    s_import (fx, names);

    //  Node 0 of 2 asks first, no pace measured: both nodes would finish
    //  together at (4,000 + 2 x 100) / 2 = 2,100 ms, node 0's share is
    //  2,000 and, its pace a guess, it takes half: 1,000. a_long_test
    //  (600) fits, b_next_test (500) does not; four units of 100 behind
    //  it fill the room.
    zsock_t *sockets[2];
    const char *attempts[2] = { "plan-n0", "plan-n1" };
    uint64_t req[2] = { 1, 1 };
    proto_msg_t *batch[2] = { NULL, NULL };
    int seen[UNITS] = { 0 };
    for (uint32_t n = 0; n < 2; n++) {
        sockets[n] = e2e_connect (fx->daemon.endpoint);
        proto_msg_t *join = e2e_join (attempts[n], req[n]++, "plan", "b1", n, 2,
                                      (const char *const *) names, UNITS);
        proto_msg_t *joined = e2e_call (sockets[n], join);
        assert_int_equal (joined->type, PROTO_JOINED);
        proto_msg_destroy (&joined);
        proto_msg_destroy (&join);
        proto_msg_t *next = proto_msg_new (PROTO_NEXT);
        proto_msg_set_str (&next->attempt, attempts[n]);
        next->req = req[n]++;
        batch[n] = e2e_call (sockets[n], next);
        proto_msg_destroy (&next);
        assert_int_equal (batch[n]->type, PROTO_BATCH);
        s_count (batch[n], names, seen);
    }
    assert_int_equal (batch[0]->unit_count, 5);
    assert_string_equal (batch[0]->units[0], "a_long_test");
    assert_false (s_holds (batch[0], "b_next_test"));
    for (int i = 1; i <= 4; i++)
        assert_true (s_holds (batch[0], names[i + 1]));
    //  The unit passed over is the next node's first, beside its own time:
    //  node 1's batch is b_next_test and units of 100 up to its half share.
    assert_string_equal (batch[1]->units[0], "b_next_test");
    assert_true (batch[1]->unit_count > 1);
    assert_false (s_holds (batch[1], "c01_test"));

    //  To the end: each node reports its batch (1 ms a unit) and takes the
    //  next; a node told to wait asks again; a node with nothing left may
    //  be held until the other's batch is in, so replies are awaited a
    //  while at a time, not forever.
    bool done[2] = { false, false }, sent[2] = { false, false };
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (!(done[0] && done[1]) && harness_now_ms () < until) {
        for (int n = 0; n < 2; n++) {
            if (done[n])
                continue;
            if (!sent[n]) {
                proto_msg_t *ask = batch[n]
                                 ? e2e_report (attempts[n], req[n]++, batch[n]->batch,
                                               batch[n]->lease, batch[n]->unit_count, 0)
                                 : proto_msg_new (PROTO_NEXT);
                if (!batch[n]) {
                    proto_msg_set_str (&ask->attempt, attempts[n]);
                    ask->req = req[n]++;
                }
                e2e_send (sockets[n], ask);
                proto_msg_destroy (&ask);
                proto_msg_destroy (&batch[n]);
                sent[n] = true;
            }
            proto_msg_t *reply = e2e_reply_within (sockets[n], 200);
            if (!reply)
                continue;
            sent[n] = false;
            if (reply->type == PROTO_BATCH) {
                s_count (reply, names, seen);
                batch[n] = reply;
                continue;
            }
            if (reply->type == PROTO_DONE)
                done[n] = true;
            else
                assert_int_equal (reply->type, PROTO_WAIT);
            proto_msg_destroy (&reply);
        }
    }
    assert_true (done[0] && done[1]);
    for (int i = 0; i < UNITS; i++) {
        if (seen[i] != 1)
            fail_msg ("%s handed out %d times", names[i], seen[i]);
        free (names[i]);
    }
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM builds WHERE finished_ms > 0"
                                           " AND result = 'passed'"), 1);
    for (int n = 0; n < 2; n++)
        zsock_destroy (&sockets[n]);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_fill_moves_names_with_times, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
