/*  test_e2e_plan.c: queue mode's plan as a real satcheld hands it out, on
    a loopback port, spoken to by hand (tests/e2e_client.c), with history
    imported by a real `satchel import`:

    - a batch stopped by a unit too long for its room takes the units
      behind it that fit, and the unit it passed over is the next node's
      first: satcheld moves the units' names with their times (the fill of
      sched_batch_plan, as coordinator/requests.c wires it);
    - a unit too long for a slow machine's room waits for a machine that
      would end it sooner: the paces satcheld learned in an earlier build
      (SATCHEL_MACHINE) reach the plan, and the slow node asking first
      takes the units behind the long one;
    - each build then runs to its end with every unit handed out once;
    - each sample keeps the time its machine took, and the estimates learn
      the time on a machine of the farm's median pace, whichever ran it.   */
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
//  The runner's start-up each daemon is told (--runner-startup 0.1).
#define STARTUP_MS 100.0

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

//  History for suite: each of names (count of them) takes ms, imported by
//  `satchel import` from a Knapsack Pro file.
static void
s_import (e2e_fixture_t *fx, const char *suite, char **names, const double *ms, int count)
{
    char json[4096];
    size_t used = (size_t) snprintf (json, sizeof json, "{");
    for (int i = 0; i < count; i++) {
        used += (size_t) snprintf (json + used, sizeof json - used, "%s\"%s\": %.3f",
                                   i ? ", " : "", names[i], ms[i] / 1000.0);
        assert_true (used + 3 < sizeof json);
    }
    snprintf (json + used, sizeof json - used, "}\n");
    char *file = e2e_fixture_path (fx, "history.json");
    assert_int_equal (harness_write_file (file, json), 0);
    const char *args[] = { "--format", "knapsack", file, NULL };
    free (e2e_fixture_import (fx, "import", suite, args, 0));
    free (file);
}

//  Node index of 2 of build joins (on machine, if not NULL) with names.
static void
s_join (zsock_t *socket, const char *attempt, uint64_t *req, const char *suite,
        const char *build, uint32_t index, char **names, int count, const char *machine)
{
    proto_msg_t *join = e2e_join (attempt, (*req)++, suite, build, index, 2,
                                  (const char *const *) names, (size_t) count);
    if (machine)
        proto_msg_set_str (&join->machine, machine);
    proto_msg_t *joined = e2e_call (socket, join);
    assert_int_equal (joined->type, PROTO_JOINED);
    proto_msg_destroy (&joined);
    proto_msg_destroy (&join);
}

//  A joined node asks for its first batch, which it returns.
static proto_msg_t *
s_ask (zsock_t *socket, const char *attempt, uint64_t *req)
{
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = (*req)++;
    proto_msg_t *batch = e2e_call (socket, next);
    proto_msg_destroy (&next);
    assert_int_equal (batch->type, PROTO_BATCH);
    return batch;
}

static proto_msg_t *
s_join_and_ask (zsock_t *socket, const char *attempt, uint64_t *req, const char *suite,
                const char *build, uint32_t index, char **names, int count,
                const char *machine)
{
    s_join (socket, attempt, req, suite, build, index, names, count, machine);
    return s_ask (socket, attempt, req);
}

//  Fails unless each of names (count of them) was handed out once; frees
//  the names.
static void
s_each_once (char **names, int count, const int *seen)
{
    for (int i = 0; i < count; i++) {
        if (seen[i] != 1)
            fail_msg ("%s handed out %d times", names[i], seen[i]);
        free (names[i]);
    }
}

//  Where name is in names (count of them); fails on a name not there.
static int
s_index (char **names, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp (name, names[i]) == 0)
            return i;
    fail_msg ("unit %s is not the suite's", name);
    return -1;
}

//  Which of names (count of them) the batch holds: seen[i] counts unit i.
static void
s_count (const proto_msg_t *batch, char **names, int count, int *seen)
{
    for (size_t u = 0; u < batch->unit_count; u++)
        seen[s_index (names, count, batch->units[u])]++;
}

//  The report of batch by a node running pace times as slow as the
//  units' times (unit_ms, by name) and the runner's start-up say; with
//  no unit_ms, 1 ms a unit.
static proto_msg_t *
s_report (const char *attempt, uint64_t req, const proto_msg_t *batch, char **names,
          int count, const double *unit_ms, double pace)
{
    proto_msg_t *report = e2e_report (attempt, req, batch->batch, batch->lease,
                                      batch->unit_count, 0);
    if (!unit_ms)
        return report;
    double wall = STARTUP_MS;
    for (size_t u = 0; u < batch->unit_count; u++) {
        double ms = unit_ms[s_index (names, count, batch->units[u])];
        report->report_times_ms[u] = (uint64_t) (pace * ms);
        wall += ms;
    }
    report->report_wall_ms = (uint64_t) (pace * wall);
    return report;
}

//  Two nodes to the end: each reports its batch (s_report) and takes the
//  next; a node told to wait asks again; a node with nothing left may be
//  held until the other's batch is in, so replies are awaited a while at
//  a time, not forever. Fails unless both are told done.
static void
s_to_the_end (zsock_t **sockets, const char **attempts, uint64_t *req, proto_msg_t **batch,
              char **names, int count, int *seen, const double *unit_ms, const double *paces)
{
    bool done[2] = { false, false }, sent[2] = { false, false };
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (!(done[0] && done[1]) && harness_now_ms () < until) {
        for (int n = 0; n < 2; n++) {
            if (done[n])
                continue;
            if (!sent[n]) {
                proto_msg_t *ask = batch[n]
                                 ? s_report (attempts[n], req[n]++, batch[n], names, count,
                                             unit_ms, paces ? paces[n] : 1.0)
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
                s_count (reply, names, count, seen);
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
}

//  The test's end: as many builds finished and passed as it says, the
//  two nodes' sockets closed.
static void
s_end (e2e_fixture_t *fx, zsock_t **sockets, int passed)
{
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM builds WHERE finished_ms > 0"
                                           " AND result = 'passed'"), passed);
    for (int n = 0; n < 2; n++)
        zsock_destroy (&sockets[n]);
    e2e_fixture_pass (fx);
}

static bool
s_holds (const proto_msg_t *batch, const char *name)
{
    for (size_t u = 0; u < batch->unit_count; u++)
        if (strcmp (batch->units[u], name) == 0)
            return true;
    return false;
}

//  Two machines, slow-box running everything twice as long as fast-box.
static const char *const s_machines[2] = { "slow-box", "fast-box" };
static const double s_paces[2] = { 2.0, 1.0 };

//  Build m1 of suite "machines": node 0 on slow-box and node 1 on fast-box
//  run names (count of them; freed here; imported at 200 ms each), each at
//  its machine's pace, and satcheld learns the two machines, 1.333 and
//  0.667 relative to their median. Neither was known while m1 ran, so its
//  samples were recorded with no pace (1); at its end each takes its
//  machine's, and every estimate moves as if learned with it: 200 + 0.3 x
//  (300 - 200), 230, where slow-box's units would have stayed at 260.
static void
s_teach_machines (e2e_fixture_t *fx, zsock_t **sockets, char **names, const double *ms,
                  int count)
{
    const char *first[2] = { "m1-n0", "m1-n1" };
    uint64_t req[2] = { 1, 1 };
    proto_msg_t *batch[2];
    int *seen = calloc ((size_t) count, sizeof (int));
    assert_non_null (seen);
    for (uint32_t n = 0; n < 2; n++) {
        batch[n] = s_join_and_ask (sockets[n], first[n], &req[n], "machines", "m1", n, names,
                                   count, s_machines[n]);
        s_count (batch[n], names, count, seen);
    }
    s_to_the_end (sockets, first, req, batch, names, count, seen, ms, s_paces);
    s_each_once (names, count, seen);
    free (seen);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM machines"
                                           " WHERE machine = 'slow-box' AND pace > 1.3"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM machines"
                                           " WHERE machine = 'fast-box' AND pace < 0.7"), 1);
    double slow = e2e_fixture_real (fx, "SELECT pace FROM machines WHERE machine = 'slow-box'");
    double fast = e2e_fixture_real (fx, "SELECT pace FROM machines WHERE machine = 'fast-box'");
    char query[640];
    snprintf (query, sizeof query, "SELECT count (*) FROM samples s JOIN builds b"
                                   " ON b.id = s.build_id JOIN timings t ON t.name = s.name"
                                   " WHERE b.build_key = 'm1' AND abs (s.pace - CASE"
                                   " s.duration_ms WHEN 400 THEN %.17g WHEN 200 THEN %.17g"
                                   " END) < 1e-9 AND abs (t.estimate_ms - (200 + 0.3"
                                   " * (s.duration_ms / s.pace - 200))) < 1e-6"
                                   " AND abs (t.estimate_ms - 230) < 10", slow, fast);
    assert_int_equal (e2e_fixture_int (fx, "%s", query), count);
}

static void
test_fill_moves_names_with_times (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--runner-startup", "0.1", NULL };
    e2e_fixture_daemon (fx, extra);
    char *names[UNITS];
    s_names (names);
    double ms[UNITS] = { 600, 500 };
    for (int i = 2; i < UNITS; i++)
        ms[i] = 100;
    s_import (fx, "plan", names, ms, UNITS);

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
        batch[n] = s_join_and_ask (sockets[n], attempts[n], &req[n], "plan", "b1", n, names,
                                   UNITS, NULL);
        s_count (batch[n], names, UNITS, seen);
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

    s_to_the_end (sockets, attempts, req, batch, names, UNITS, seen, NULL, NULL);
    s_each_once (names, UNITS, seen);
    s_end (fx, sockets, 1);
}

//  Build m1 teaches satcheld two machines: slow-box runs everything twice
//  as long as fast-box, 1.333 and 0.667 relative to their median. In build
//  m2 both nodes have joined and node 0, on slow-box, asks first. With
//  2,900 ms of work and two start-ups of 100 at those paces the plan's
//  finish is 1,289 ms: long_test (1,000) would take slow-box 1,467 and
//  fast-box 733. So node 0 takes 100 ms units from behind it, and
//  long_test is node 1's first. Both paces count: with fast-box's at 1
//  the finish would be 1,657, with slow-box's at 1 it would be 1,160, both
//  past long_test's end on slow-box, and node 0 would take long_test.
static void
test_long_unit_waits_for_a_faster_machine (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--runner-startup", "0.1", NULL };
    e2e_fixture_daemon (fx, extra);
    enum { FIRST = 10, SECOND = 18 };
    char *names[FIRST + SECOND];
    double ms[FIRST + SECOND];
    for (int i = 0; i < FIRST; i++) {
        char name[32];
        snprintf (name, sizeof name, "m%02d_test", i + 1);
        names[i] = strdup (name);
        ms[i] = 200;
    }
    names[FIRST] = strdup ("long_test");
    ms[FIRST] = 1000;
    for (int i = 1; i < SECOND; i++) {
        char name[32];
        snprintf (name, sizeof name, "short%02d_test", i);
        names[FIRST + i] = strdup (name);
        ms[FIRST + i] = 100;
    }
    s_import (fx, "machines", names, ms, FIRST + SECOND);

    zsock_t *sockets[2];
    proto_msg_t *batch[2];
    for (int n = 0; n < 2; n++)
        sockets[n] = e2e_connect (fx->daemon.endpoint);
    s_teach_machines (fx, sockets, names, ms, FIRST);

    //  m2: long_test and short01..17; fast-box joins, slow-box asks first.
    char **units = names + FIRST;
    const double *units_ms = ms + FIRST;
    const char *second[2] = { "m2-n0", "m2-n1" };
    uint64_t req[2] = { 1, 1 };
    int seen[SECOND] = { 0 };
    s_join (sockets[1], second[1], &req[1], "machines", "m2", 1, units, SECOND, s_machines[1]);
    batch[0] = s_join_and_ask (sockets[0], second[0], &req[0], "machines", "m2", 0, units,
                               SECOND, s_machines[0]);
    s_count (batch[0], units, SECOND, seen);
    assert_true (batch[0]->unit_count > 0);
    for (size_t u = 0; u < batch[0]->unit_count; u++)
        assert_true (strncmp (batch[0]->units[u], "short", 5) == 0);
    batch[1] = s_ask (sockets[1], second[1], &req[1]);
    s_count (batch[1], units, SECOND, seen);
    assert_string_equal (batch[1]->units[0], "long_test");
    s_to_the_end (sockets, second, req, batch, units, SECOND, seen, units_ms, s_paces);
    s_each_once (units, SECOND, seen);

    //  Each sample keeps the time as its machine took it, and its
    //  machine's pace; the estimates learn the time on the median machine,
    //  whichever ran the unit: 1.5 times the imported times here
    //  (slow-box's 2 over its 1.333, fast-box's 1 over its 0.667), so each
    //  estimate moved from the imported time t to t + 0.3 x 0.5 t. Both
    //  machines ran units of m2 (above); learned as they ran, slow-box's
    //  would have moved to 1.3 t and fast-box's stayed at t.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples s"
                                           " JOIN builds b ON b.id = s.build_id"
                                           " WHERE b.build_key = 'm2' AND abs (s.duration_ms"
                                           " - CASE s.name WHEN 'long_test' THEN 1000 ELSE 100"
                                           " END * CASE WHEN s.pace > 1 THEN 2 ELSE 1 END) <= 1"
                                           " AND abs (s.duration_ms / s.pace"
                                           " - CASE s.name WHEN 'long_test' THEN 1500 ELSE 150"
                                           " END) <= 1"), SECOND);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"
                                           " WHERE (name = 'long_test' OR name LIKE 'short%%')"
                                           " AND abs (estimate_ms - CASE name"
                                           " WHEN 'long_test' THEN 1150 ELSE 115 END) <= 1"),
                      SECOND);
    s_end (fx, sockets, 2);
}

//  A node's first attempt, on slow-box, is replaced by a second on fast-box
//  (a job retried on another machine) while its batch runs, and reports
//  that batch after all: the samples are slow-box's, at slow-box's pace,
//  not at fast-box's nor at none because the node's latest attempt is on
//  another machine.
static void
test_late_report_keeps_its_machine (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *extra[] = { "--runner-startup", "0.1", NULL };
    e2e_fixture_daemon (fx, extra);
    enum { COUNT = 10 };
    char *names[COUNT];
    double ms[COUNT];
    for (int i = 0; i < COUNT; i++) {
        char name[32];
        snprintf (name, sizeof name, "m%02d_test", i + 1);
        names[i] = strdup (name);
        ms[i] = 200;
    }
    s_import (fx, "machines", names, ms, COUNT);
    zsock_t *sockets[2];
    for (int n = 0; n < 2; n++)
        sockets[n] = e2e_connect (fx->daemon.endpoint);
    char *teach[COUNT];
    for (int i = 0; i < COUNT; i++)
        teach[i] = strdup (names[i]);
    s_teach_machines (fx, sockets, teach, ms, COUNT);

    uint64_t req[2] = { 1, 1 };
    proto_msg_t *batch = s_join_and_ask (sockets[0], "m3-slow", &req[0], "machines", "m3", 0,
                                         names, COUNT, s_machines[0]);
    assert_true (batch->unit_count > 0);
    s_join (sockets[1], "m3-fast", &req[1], "machines", "m3", 0, names, COUNT, s_machines[1]);
    proto_msg_t *report = s_report ("m3-slow", req[0]++, batch, names, COUNT, ms, s_paces[0]);
    proto_msg_t *reply = e2e_call (sockets[0], report);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&report);

    double slow = e2e_fixture_real (fx, "SELECT pace FROM machines WHERE machine = 'slow-box'");
    char query[512];
    snprintf (query, sizeof query, "SELECT count (*) FROM samples s JOIN builds b"
                                   " ON b.id = s.build_id WHERE b.build_key = 'm3'"
                                   " AND abs (s.pace - %.17g) < 1e-9 AND s.duration_ms = 400",
              slow);
    assert_int_equal (e2e_fixture_int (fx, "%s", query), (int) batch->unit_count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples s JOIN builds b"
                                           " ON b.id = s.build_id WHERE b.build_key = 'm3'"),
                      (int) batch->unit_count);
    proto_msg_destroy (&batch);
    for (int i = 0; i < COUNT; i++)
        free (names[i]);
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
        cmocka_unit_test_setup_teardown (test_long_unit_waits_for_a_faster_machine, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_late_report_keeps_its_machine, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
