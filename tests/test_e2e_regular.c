/*  test_e2e_regular.c: regular mode end to end.

    A real satcheld on a loopback wildcard port, real `satchel run --mode
    regular` agents running a real (small) test command, and a raw
    protocol client that gives the suite a timing history first (a queue
    build whose reports carry chosen times). Proves, for regular mode:
    invariant 1 and 2 (the nodes' lists are disjoint and together are the
    whole suite, each run once), invariant 6 (the split is the same for
    every build of one commit, and recomputed from the latest history when
    SATCHEL_FIXED_TEST_SUITE_SPLIT=0), invariant 5 (a retried node replays
    its list), that each node gets its whole list in one reply and runs it
    with one runner start (or --batch-size per start), that the makespan of
    the split is within 4/3 of the lower bound, and that nodes beyond the
    number of tests get nothing and exit 0.                                */
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

#define MAX_UNITS 32
#define MAX_NODES 8

//  The synthetic suite's history, ms per unit u00..u23: a few long
//  units and a tail of short ones, the shape LPT has to get right.
static const double s_times[] = {
    9000, 7000, 6000, 5000, 4500, 4000, 3000, 2500, 2000, 2000, 1500, 1500,
    1200, 1000, 900, 800, 700, 600, 500, 400, 300, 200, 150, 100
};
#define SUITE_UNITS (sizeof s_times / sizeof s_times[0])

//  count test files t/uNN_test.txt, each sleeping ms, and a daemon.
static void
s_suite (e2e_fixture_t *fx, int count, int ms)
{
    assert_true (count <= MAX_UNITS);
    for (int i = 0; i < count; i++) {
        char name[64], body[32];
        snprintf (name, sizeof name, "t/u%02d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\n", ms);
        e2e_fixture_unit (fx, name, body);
    }
    e2e_fixture_daemon (fx, NULL);
}

static int
s_index_of (const e2e_fixture_t *fx, const char *name)
{
    for (int i = 0; i < fx->count; i++)
        if (strcmp (fx->names[i], name) == 0)
            return i;
    return -1;
}

//  Give the suite a history: a one-node queue build whose reports say that
//  unit i took times[i] ms. The first sample of a unit is its estimate.
static void
s_seed (const e2e_fixture_t *fx, const char *build, const double *times)
{
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    char attempt[64];
    snprintf (attempt, sizeof attempt, "seed-%s", build);
    proto_msg_t *join = e2e_join (attempt, 1, "regular", build, 0, 1,
                                  (const char *const *) fx->names, (size_t) fx->count);
    proto_msg_t *reply = e2e_call (socket, join);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    uint64_t req = 2;
    while (true) {
        proto_msg_set_str (&next->attempt, attempt);
        next->req = req++;
        reply = e2e_call (socket, next);
        proto_msg_destroy (&next);
        if (reply->type == PROTO_DONE)
            break;
        assert_int_equal (reply->type, PROTO_BATCH);
        next = proto_msg_new (PROTO_NEXT);
        next->has_report = true;
        next->report_batch = reply->batch;
        next->report_lease = reply->lease;
        next->report_time_count = reply->unit_count;
        next->report_times_ms = calloc (reply->unit_count, sizeof (uint64_t));
        for (size_t u = 0; u < reply->unit_count; u++) {
            int idx = s_index_of (fx, reply->units[u]);
            assert_true (idx >= 0);
            next->report_times_ms[u] = (uint64_t) times[idx];
            next->report_wall_ms += (uint64_t) times[idx];
        }
        proto_msg_destroy (&reply);
    }
    proto_msg_destroy (&reply);
    zsock_destroy (&socket);
}

//  Start a regular-mode agent of build as node index of total; its runs
//  go to <tag>.ran, its runner starts to <tag>.starts, its output to
//  <tag>.err. flags: more flags; env: more environment entries.
static pid_t
s_agent (e2e_fixture_t *fx, const char *tag, const char *build, int index, int total,
         const char *const *flags, const char *const *env)
{
    e2e_agent_t agent = { .tag = tag, .suite = "regular", .build = build, .index = index,
                          .total = total, .pattern = "t/*_test.txt", .timeout = "10",
                          .mode = "regular", .flags = flags, .env = env, .start_log = true };
    return e2e_fixture_agent (fx, &agent);
}

//  Run a whole regular build on total nodes at once; lists[n] gets node
//  n's run log. Every node exits 0 and starts its runner at most once.
static void
s_build (e2e_fixture_t *fx, const char *build, int total, const char *const *env, char **lists)
{
    char tags[MAX_NODES][64];
    for (int n = 0; n < total; n++) {
        snprintf (tags[n], sizeof tags[n], "%s-n%d", build, n);
        s_agent (fx, tags[n], build, n, total, NULL, env);
    }
    for (int n = 0; n < total; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        lists[n] = e2e_fixture_text (fx, "%s.ran", tags[n]);
        char *starts = e2e_fixture_text (fx, "%s.starts", tags[n]);
        assert_true (harness_count (starts, "\n") == (*lists[n] ? 1 : 0));
        free (starts);
    }
}

//  The lists are disjoint and together the whole suite, each unit once.
static void
s_assert_partition (const e2e_fixture_t *fx, char **lists, int total)
{
    int seen[MAX_UNITS] = { 0 };
    for (int n = 0; n < total; n++)
        assert_int_equal (harness_count_runs (lists[n], fx->names, fx->count, seen), 0);
    for (int i = 0; i < fx->count; i++) {
        if (seen[i] != 1)
            fprintf (stderr, "%s ran %d times\n", fx->names[i], seen[i]);
        assert_int_equal (seen[i], 1);
    }
}

//  The split's makespan by the suite's current estimates in the database,
//  against the lower bound max (total / nodes, longest). Returns the ratio.
static double
s_makespan_ratio (const e2e_fixture_t *fx, char **lists, int total)
{
    double estimate[MAX_UNITS];
    double sum = 0, longest = 0;
    for (int i = 0; i < fx->count; i++) {
        estimate[i] = (double) e2e_fixture_int (fx, "SELECT CAST (round (estimate_ms) AS"
                                                    " INTEGER) FROM timings WHERE name = '%s'",
                                                fx->names[i]);
        sum += estimate[i];
        longest = estimate[i] > longest ? estimate[i] : longest;
    }
    double makespan = 0;
    for (int n = 0; n < total; n++) {
        double load = 0;
        char *copy = strdup (lists[n]);
        char *save = NULL;
        for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
            load += estimate[s_index_of (fx, line)];
        free (copy);
        makespan = load > makespan ? load : makespan;
    }
    double bound = sum / total > longest ? sum / total : longest;
    return makespan / bound;
}

static void
s_free_lists (char **lists, int total)
{
    for (int n = 0; n < total; n++)
        free (lists[n]);
}

//  N nodes get disjoint lists covering the suite, each in one reply and
//  one runner start; every build of the commit gets the same split, even
//  after the history changed; SATCHEL_FIXED_TEST_SUITE_SPLIT=0 computes it
//  afresh from the new history.
static void
test_split_covers_and_is_reused (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, (int) SUITE_UNITS, 0);
    s_seed (fx, "seed-1", s_times);
    enum { NODES = 4 };
    char *first[NODES], *again[NODES], *later[NODES], *fresh[NODES];
    s_build (fx, "r1", NODES, NULL, first);
    s_assert_partition (fx, first, NODES);
    double ratio = s_makespan_ratio (fx, first, NODES);
    fprintf (stderr, "regular split makespan / lower bound = %.3f\n", ratio);
    assert_true (ratio <= 4.0 / 3.0);
    //  Each node's list came in one reply: one batch of kind regular each.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM batches b JOIN builds"
                                  " d ON d.id = b.build_id WHERE d.build_key = 'r1'"), NODES);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM batches b JOIN builds"
                                  " d ON d.id = b.build_id WHERE d.build_key = 'r1'"
                                  " AND b.kind = 3"), NODES);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT finished_ms > 0 FROM builds"
                                  " WHERE build_key = 'r1'"), 1);

    //  Another build of the same commit: the same lists, in the same order.
    s_build (fx, "r2", NODES, NULL, again);
    for (int n = 0; n < NODES; n++)
        assert_string_equal (again[n], first[n]);

    //  The history turns around (the short units get long): a reused
    //  split stays as it was; a fresh one follows the history.
    double reversed[SUITE_UNITS];
    for (size_t i = 0; i < SUITE_UNITS; i++)
        reversed[i] = s_times[SUITE_UNITS - 1 - i];
    for (int k = 0; k < 6; k++) {
        char build[32];
        snprintf (build, sizeof build, "seed-r%d", k);
        s_seed (fx, build, reversed);
    }
    s_build (fx, "r3", NODES, NULL, later);
    for (int n = 0; n < NODES; n++)
        assert_string_equal (later[n], first[n]);
    const char *env_fresh[] = { "SATCHEL_FIXED_TEST_SUITE_SPLIT=0", NULL };
    s_build (fx, "r4", NODES, env_fresh, fresh);
    s_assert_partition (fx, fresh, NODES);
    bool differs = false;
    for (int n = 0; n < NODES; n++)
        differs = differs || strcmp (fresh[n], first[n]) != 0;
    assert_true (differs);
    ratio = s_makespan_ratio (fx, fresh, NODES);
    fprintf (stderr, "fresh split on the new history: makespan / lower bound = %.3f\n", ratio);
    assert_true (ratio <= 4.0 / 3.0);
    //  ...while the reused split, measured by the new history, is worse.
    assert_true (s_makespan_ratio (fx, later, NODES) > ratio);
    s_free_lists (first, NODES);
    s_free_lists (again, NODES);
    s_free_lists (later, NODES);
    s_free_lists (fresh, NODES);
}

//  --batch-size cuts a node's list into runs of at most that many units,
//  in the list's order.
static void
test_batch_size_cuts_the_list (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 12, 0);
    const char *extra[] = { "--batch-size", "5", NULL };
    s_agent (fx, "cut", "b1", 0, 1, extra, NULL);
    e2e_fixture_expect_exit (fx, "cut", 0);
    char *starts = e2e_fixture_text (fx, "cut.starts");
    assert_string_equal (starts, "start 5\nstart 5\nstart 2\n");
    char *ran = e2e_fixture_text (fx, "cut.ran");
    char *lists[] = { ran };
    s_assert_partition (fx, lists, 1);
    free (starts);
    free (ran);
}

//  A node killed in the middle of its list, run again (a retried CI job):
//  the new attempt replays the whole list, in the same order.
static void
test_retried_node_replays_its_list (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 8, 300);
    pid_t first = s_agent (fx, "first", "b1", 0, 2, NULL, NULL);
    assert_int_equal (e2e_fixture_wait_for (fx, "_test.txt", "first.ran"), 0);
    kill (-first, SIGKILL);
    assert_int_equal (e2e_fixture_wait (fx, "first"), 128 + SIGKILL);
    char *list = e2e_db_lines (fx->daemon.db,
                               "SELECT u.name FROM batch_units bu JOIN batches b ON b.id ="
                               " bu.batch_id JOIN units u ON u.build_id = b.build_id AND u.idx ="
                               " bu.unit_idx WHERE b.node_index = 0 AND b.kind = 3"
                               " ORDER BY bu.pos");
    assert_true (harness_count (list, "\n") >= 2);
    s_agent (fx, "second", "b1", 0, 2, NULL, NULL);
    e2e_fixture_expect_exit (fx, "second", 0);
    char *replayed = e2e_fixture_text (fx, "second.ran");
    assert_string_equal (replayed, list);
    char *err = e2e_fixture_text (fx, "second.err");
    assert_non_null (strstr (err, "replaying 1 batch"));
    //  Node 1 runs the rest; together, the whole suite.
    s_agent (fx, "other", "b1", 1, 2, NULL, NULL);
    e2e_fixture_expect_exit (fx, "other", 0);
    char *rest = e2e_fixture_text (fx, "other.ran");
    char *lists[] = { replayed, rest };
    s_assert_partition (fx, lists, 2);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT finished_ms > 0 FROM builds"), 1);
    free (list);
    free (replayed);
    free (err);
    free (rest);
}

//  More nodes than tests: the nodes without a test exit 0 saying so.
static void
test_more_nodes_than_tests (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 3, 0);
    enum { NODES = 5 };
    char *lists[NODES];
    s_build (fx, "few", NODES, NULL, lists);
    s_assert_partition (fx, lists, NODES);
    int empty = 0;
    for (int n = 0; n < NODES; n++) {
        if (*lists[n])
            continue;
        empty++;
        char *err = e2e_fixture_text (fx, "few-n%d.err", n);
        assert_non_null (strstr (err, "got no tests"));
        free (err);
    }
    assert_int_equal (empty, 2);
    s_free_lists (lists, NODES);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_split_covers_and_is_reused, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_batch_size_cuts_the_list, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_retried_node_replays_its_list, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_more_nodes_than_tests, e2e_fixture_setup,
                                         e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
