/*  test_e2e_faults.c: queue mode under faults, end to end. A real satcheld
    on a loopback port picked by the harness, real `satchel run` processes, a real small
    test command (tests/fixtures/fake_runner.sh), and the
    real database and logs read back afterwards. A daemon that is restarted
    gets a port of its own (harness_daemon_start_fixed), so no other test's
    daemon can take its endpoint while it is down. Faults are injected from
    outside, at moments chosen by watching the database and the files the
    processes write, never by sleeping:

    a. an agent killed with SIGKILL in the middle of a batch, never started
       again: its lease lapses and the other nodes, waiting, run its batch;
    b. satcheld killed with SIGKILL at several points of a build and started
       again on the same database and endpoint: the agents carry on through
       their retries, every unit runs, none is handed out twice;
    c. satcheld stopped with SIGTERM in the middle of a build: it exits 0 at
       once, and after a restart the build completes;
    d. nodes whose test command cannot run hand their batch back and stop;
       the other nodes run everything;
    e. --requeue-failed: a flaky unit runs again on the other node and the
       build is recorded flaky;
    f. --fail-fast: one failure stops every node after its current batch;
    g. nodes that find the queue empty while one batch still runs: one
       waits to take it over, the others are let go at once; when the
       batch's node is then lost, the one that waited runs its batch.

    Every agent leads a process group of its own, so that a killed agent's
    test command dies with it (a lost machine) and nothing outlives a test;
    the teardown kills whatever is left after a failed assert.            */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_UNITS 128
#define MAX_AGENTS 8
//  What "promptly" means for SIGTERM: it finishes the requests in hand only.
#define SIGTERM_PROMPT_MS 3000

//  The queries below use the numbers stored in the database
//  (coordinator/store.h, common/proto.h): batches.state 0 running, 1 done
//  (reported by its holder), 2 expired (lease lapsed, units requeued),
//  3 superseded, 4 planned, 5 returned (handed back unrun); batches.kind
//  0 from the queue, 1 replay, 2 run again after a failure.

//  The agents are known by slot; their files by these tags.
static const char *const s_tag[MAX_AGENTS] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7" };

//  Make count files tests/unit_NNN_test.txt, each sleeping ms in the runner.
static void
s_suite (e2e_fixture_t *fx, int count, int ms)
{
    assert_true (count <= MAX_UNITS);
    for (int i = 0; i < count; i++) {
        char name[64], body[32];
        snprintf (name, sizeof name, "tests/unit_%03d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\n", ms);
        e2e_fixture_unit (fx, name, body);
    }
}

//  Start an agent in slot as node index of total in build, with extra
//  satchel flags and a test command (NULL: fake_runner.sh {}) and extra
//  environment entries. Its stdout and stderr go to <tag>.err, its
//  runner's log of what ran to <tag>.ran. Returns its pid.
static pid_t
s_agent (e2e_fixture_t *fx, int slot, int index, int total, const char *build,
         const char *const *flags, const char *const *command, const char *const *env)
{
    assert_true (slot < MAX_AGENTS);
    e2e_agent_t agent = { .tag = s_tag[slot], .suite = "faults", .build = build, .index = index,
                          .total = total, .pattern = "tests/*_test.txt", .flags = flags,
                          .command = command, .env = env, .stdout_too = true };
    return e2e_fixture_agent (fx, &agent);
}

//  How many lines of the daemon's log contain all of the given words.
static int
s_log_lines (e2e_fixture_t *fx, const char *word, const char *also, const char *more)
{
    char *text = harness_read_file (fx->log);
    assert_non_null (text);
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        if (strstr (line, word) && (!also || strstr (line, also)) && (!more || strstr (line, more)))
            count++;
    free (text);
    return count;
}

//  Runs of each unit in the RAN_LOGs of the given slots (-1 ends the list).
//  Returns the number of lines that name no unit of the suite.
static int
s_count_runs (e2e_fixture_t *fx, const int *slots, int counts[MAX_UNITS])
{
    memset (counts, 0, MAX_UNITS * sizeof (int));
    int unknown = 0;
    for (size_t s = 0; slots[s] >= 0; s++) {
        //  NULL if the node ran nothing: no lines.
        char *text = e2e_fixture_read (fx, "%s.ran", s_tag[slots[s]]);
        unknown += harness_count_runs (text, fx->names, fx->count, counts);
        free (text);
    }
    return unknown;
}

//  Assert every unit ran at least once (exactly once if exact) in slots.
static void
s_assert_every_unit_ran (e2e_fixture_t *fx, const int *slots, bool exact)
{
    int counts[MAX_UNITS];
    assert_int_equal (s_count_runs (fx, slots, counts), 0);
    for (int i = 0; i < fx->count; i++) {
        if (counts[i] < 1 || (exact && counts[i] != 1))
            fprintf (stderr, "%s ran %d times\n", fx->names[i], counts[i]);
        assert_true (counts[i] >= 1);
        if (exact)
            assert_int_equal (counts[i], 1);
    }
}

//  Units done: held by batches their holders reported.
#define SQL_UNITS_DONE "SELECT count(*) FROM batch_units bu JOIN batches b ON b.id = bu.batch_id " \
                       "WHERE b.state = 1"
#define SQL_FINISHED "SELECT finished_ms FROM builds"
#define SQL_RESULT "SELECT result FROM builds"

//  The build finished with result.
static void
s_assert_build (e2e_fixture_t *fx, const char *result)
{
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM builds"), 1);
    assert_true (e2e_fixture_int (fx, SQL_FINISHED) != 0);
    char *text = e2e_fixture_lines (fx, SQL_RESULT);
    char *want = malloc (strlen (result) + 2);
    assert_non_null (want);
    sprintf (want, "%s\n", result);
    if (strcmp (text, want) != 0)
        fprintf (stderr, "build result is '%.*s', want '%s'\n", (int) strcspn (text, "\n"), text,
                 result);
    assert_string_equal (text, want);
    free (want);
    free (text);
}

//  (a) kill -9 of one agent in the middle of a batch, never restarted,
//  lease 2 s: its lease lapses, its units go back to the queue, and the
//  other nodes, which wait instead of ending while a batch is out, run
//  them; the build completes.
static void
test_lost_agent_batch_runs_elsewhere (void **state)
{
    e2e_fixture_t *fx = *state;
    //  The survivors' share of the work (about 0.6 s) is well below the
    //  lease, so they run out of queue and wait before the lease lapses.
    enum { UNITS = 24, NODES = 3, VICTIM = 1 };
    s_suite (fx, UNITS, 60);
    const char *extra[] = { "--lease", "2", NULL };
    e2e_fixture_daemon (fx, extra);
    pid_t pids[NODES];
    for (int n = 0; n < NODES; n++)
        pids[n] = s_agent (fx, n, n, NODES, "lost-1", NULL, NULL, NULL);

    //  The victim is mid-batch once its runner has started a unit: kill
    //  it together with its runner, as when the machine is lost.
    assert_int_equal (e2e_fixture_wait_for (fx, "tests/", "%s.ran", s_tag[VICTIM]), 0);
    kill (-pids[VICTIM], SIGKILL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[VICTIM]), 128 + SIGKILL);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index = 1 "
                                           "AND state = 0 AND reported_ms IS NULL"), 1);

    for (int n = 0; n < NODES; n++)
        if (n != VICTIM)
            assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);

    //  The lease lapsed for lack of news and the batch went back.
    assert_true (s_log_lines (fx, "lease_expired", "node=1 ", "why=silent") >= 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index = 1 "
                                           "AND state = 0"), 0);
    assert_true (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index = 1 "
                                      "AND state = 2") >= 1);
    //  Every unit of the expired batch was done by another node.
    assert_int_equal (e2e_fixture_int (fx,
        "SELECT count(*) FROM batch_units bu JOIN batches b ON b.id = bu.batch_id "
        "WHERE b.node_index = 1 AND b.state = 2 AND NOT EXISTS ("
        "  SELECT 1 FROM batch_units bu2 JOIN batches b2 ON b2.id = bu2.batch_id"
        "  WHERE bu2.unit_idx = bu.unit_idx AND b2.state = 1 AND b2.node_index != 1)"), 0);
    //  The survivors waited for it rather than ending with the queue: told
    //  to wait, or their next held by the daemon until the batch came back.
    assert_true (e2e_fixture_said (fx, s_tag[0], "the queue is empty; waiting")
                 || e2e_fixture_said (fx, s_tag[2], "the queue is empty; waiting")
                 || s_log_lines (fx, "next_parked", "node=0 ", NULL) >= 1
                 || s_log_lines (fx, "next_parked", "node=2 ", NULL) >= 1);
    //  What the survivors ran alone covers the suite: the lost batch too.
    const int survivors[] = { 0, 2, -1 };
    s_assert_every_unit_ran (fx, survivors, false);
    //  Every unit was done once in the books, and the build is complete.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM (SELECT unit_idx FROM "
                                           "batch_units bu JOIN batches b ON b.id = bu.batch_id "
                                           "WHERE b.state = 1 GROUP BY unit_idx HAVING "
                                           "count(*) = 1)"), UNITS);
    s_assert_build (fx, "passed");
    assert_int_equal (s_log_lines (fx, "coverage_checked", "not_run=0 ", NULL), 1);
    e2e_fixture_pass (fx);
}

//  Make the suite's last unit, the last handed out (equal estimates go by
//  name), wait in the runner for a gate file, so that a build cannot end
//  before the test opens the gate. Writes the agents' GATE=<path> into env
//  and returns the path (malloc'd), to be written when the time comes.
static char *
s_gate (e2e_fixture_t *fx, char *env, size_t size)
{
    return e2e_fixture_gate (fx, fx->names[fx->count - 1], env, size);
}

//  After a restart of satcheld: all agents exit 0, every unit ran exactly
//  once, each was handed out once (nothing expired: the lease is the
//  default 30 s), and the build finished as passed.
static void
s_assert_resumed_build (e2e_fixture_t *fx, int nodes, int restarts)
{
    for (int n = 0; n < nodes; n++)
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
    const int all[] = { 0, 1, 2, 3, -1 };
    assert_true (nodes <= 4);
    s_assert_every_unit_ran (fx, all, true);
    //  No unit handed out twice: nothing expired, returned or replayed,
    //  one assignment per unit, each reported by its holder.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE state != 1"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE reported_ms"
                                           " IS NULL"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batch_units"), fx->count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(DISTINCT unit_idx) FROM batch_units"),
                      fx->count);
    s_assert_build (fx, "passed");
    //  The daemon's own check agrees, and it ran restarts + 1 times; the
    //  build it loaded back still knows its suite.
    assert_int_equal (s_log_lines (fx, "coverage_checked", "not_run=0 ", "run_twice=0"), 1);
    assert_int_equal (s_log_lines (fx, "build_finished", "suite=faults ", NULL), 1);
    assert_int_equal (s_log_lines (fx, "lease_expired", NULL, NULL), 0);
    assert_int_equal (s_log_lines (fx, "info serving endpoint=", NULL, NULL), restarts + 1);
}

//  (b) kill -9 of satcheld at several points of a build, each time started
//  again on the same database and endpoint.
static void
test_daemon_killed_at_several_points (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 60, NODES = 3 };
    s_suite (fx, UNITS, 60);
    //  The build cannot end before the last kill: that kill comes when
    //  every unit but the gated unit's batch is done.
    char env_gate[700];
    const char *env[] = { env_gate, NULL };
    char *gate = s_gate (fx, env_gate, sizeof env_gate);
    //  On a port no other test's daemon takes while this one is down.
    e2e_fixture_daemon_fixed (fx, NULL);
    //  Replies wait 1 s, then resend: 11 tries over about 35 s ride out
    //  each restart many times over.
    const char *flags[] = { "--timeout", "1", "--retries", "10", NULL };
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "restart-1", flags, NULL, env);
    char all_but_gated[1024];
    snprintf (all_but_gated, sizeof all_but_gated,
              "SELECT (" SQL_UNITS_DONE ") + (SELECT count(*) FROM batch_units WHERE batch_id IN "
              "(SELECT bu.batch_id FROM batch_units bu JOIN batches b ON b.id = bu.batch_id "
              "JOIN units u ON u.build_id = b.build_id AND u.idx = bu.unit_idx "
              "WHERE b.state = 0 AND u.name = '%s'))", fx->names[fx->count - 1]);

    const struct {
        const char *what;
        const char *sql;
        int64_t min;
    } points[] = {
        { "the first batch handed out", "SELECT count(*) FROM batches", 1 },
        { "the first report in", "SELECT count(*) FROM batches WHERE reported_ms IS NOT NULL", 1 },
        { "half the units done", SQL_UNITS_DONE, UNITS / 2 },
        { "all units but the gated batch done", all_but_gated, UNITS },
    };
    int restarts = 0;
    for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
        e2e_fixture_wait_db (fx, points[p].min, "%s", points[p].sql);
        assert_int_equal (harness_daemon_signal (&fx->daemon, SIGKILL, 10000), 128 + SIGKILL);
        int64_t done = e2e_fixture_int (fx, SQL_UNITS_DONE);
        int64_t finished = e2e_fixture_int (fx, SQL_FINISHED);
        fprintf (stderr, "killed satcheld after %s: %lld of %d units done\n", points[p].what,
                 (long long) done, UNITS);
        //  A kill after the end would prove nothing about resuming; the
        //  gate makes sure it cannot be.
        assert_int_equal (finished, 0);
        assert_true (done < UNITS);
        assert_int_equal (harness_daemon_restart (&fx->daemon, NULL), 0);
        restarts++;
    }
    //  The gated batch is reported to the daemon started last.
    assert_int_equal (harness_write_file (gate, ""), 0);
    free (gate);
    s_assert_resumed_build (fx, NODES, restarts);
    e2e_fixture_pass (fx);
}

//  (c) SIGTERM to satcheld in the middle of a build: it exits 0 promptly;
//  started again on the same database and endpoint, the build completes.
static void
test_daemon_sigterm_mid_build (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 45, NODES = 3 };
    s_suite (fx, UNITS, 60);
    //  Held open until the daemon is back, so the SIGTERM is mid-build.
    char env_gate[700];
    const char *env[] = { env_gate, NULL };
    char *gate = s_gate (fx, env_gate, sizeof env_gate);
    e2e_fixture_daemon_fixed (fx, NULL);
    const char *flags[] = { "--timeout", "1", "--retries", "10", NULL };
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "sigterm-1", flags, NULL, env);
    e2e_fixture_wait_db (fx, UNITS / 3, SQL_UNITS_DONE);      //  a third of the units done
    int64_t start = harness_now_ms ();
    assert_int_equal (harness_daemon_signal (&fx->daemon, SIGTERM, 10000), 0);
    int64_t took = harness_now_ms () - start;
    fprintf (stderr, "satcheld exited %lld ms after SIGTERM\n", (long long) took);
    assert_true (took < SIGTERM_PROMPT_MS);
    assert_int_equal (s_log_lines (fx, "stopping signal=SIGTERM", NULL, NULL), 1);
    assert_int_equal (e2e_fixture_int (fx, SQL_FINISHED), 0);
    assert_int_equal (harness_daemon_restart (&fx->daemon, NULL), 0);
    assert_int_equal (harness_write_file (gate, ""), 0);
    free (gate);
    s_assert_resumed_build (fx, NODES, 1);
    e2e_fixture_pass (fx);
}

//  (d) Nodes whose test command cannot run: one that cannot be started at
//  all, one whose command exits 127 (env: not found). Each hands its batch
//  back and exits 1 saying why; the other nodes run every unit.
static void
test_broken_runner_hands_its_batch_back (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 24, NODES = 4 };
    s_suite (fx, UNITS, 50);
    e2e_fixture_daemon (fx, NULL);
    const char *missing[] = { "/nonexistent/runner", "{}", NULL };
    const char *not_found[] = { "/usr/bin/env", "/nonexistent/runner", "{}", NULL };
    //  The broken nodes come first, so each surely gets a batch to give back.
    s_agent (fx, 2, 2, NODES, "broken-1", NULL, missing, NULL);
    s_agent (fx, 3, 3, NODES, "broken-1", NULL, not_found, NULL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[2]), 1);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[3]), 1);
    assert_true (e2e_fixture_said (fx, s_tag[2], "cannot start /nonexistent/runner"));
    assert_true (e2e_fixture_said (fx, s_tag[2], "handing the batch back"));
    assert_true (e2e_fixture_said (fx, s_tag[3], "/usr/bin/env exited 127"));
    assert_true (e2e_fixture_said (fx, s_tag[3], "handing the batch back"));
    //  Each gave back its one batch, with its units, and took no other.
    assert_int_equal (s_log_lines (fx, "node_returned", "node=2 ", NULL), 1);
    assert_int_equal (s_log_lines (fx, "node_returned", "node=3 ", NULL), 1);
    assert_int_equal (s_log_lines (fx, "node_returned", "units_requeued=0", NULL), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index >= 2"),
                      2);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index >= 2 "
                                           "AND state = 5"), 2);
    assert_int_equal (e2e_fixture_int (fx, SQL_FINISHED), 0);

    s_agent (fx, 0, 0, NODES, "broken-1", NULL, NULL, NULL);
    s_agent (fx, 1, 1, NODES, "broken-1", NULL, NULL, NULL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[0]), 0);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[1]), 0);
    //  Nothing ran on the broken nodes; everything on the others.
    char *text = e2e_fixture_read (fx, "%s.ran", s_tag[2]);
    assert_null (text);
    text = e2e_fixture_read (fx, "%s.ran", s_tag[3]);
    assert_null (text);
    const int good[] = { 0, 1, -1 };
    s_assert_every_unit_ran (fx, good, true);
    //  The returned units were done by the good nodes.
    assert_int_equal (e2e_fixture_int (fx,
        "SELECT count(*) FROM batch_units bu JOIN batches b ON b.id = bu.batch_id "
        "WHERE b.state = 5 AND NOT EXISTS ("
        "  SELECT 1 FROM batch_units bu2 JOIN batches b2 ON b2.id = bu2.batch_id"
        "  WHERE bu2.unit_idx = bu.unit_idx AND b2.state = 1 AND b2.node_index < 2)"), 0);
    s_assert_build (fx, "passed");
    assert_int_equal (s_log_lines (fx, "coverage_checked", "not_run=0 ", NULL), 1);
    e2e_fixture_pass (fx);
}

//  select over the batches that hold the unit called name, where cond.
static int64_t
s_unit_batches (e2e_fixture_t *fx, const char *name, const char *select, const char *cond)
{
    return e2e_fixture_int (fx, "SELECT %s FROM batches b JOIN batch_units bu ON bu.batch_id ="
                                " b.id JOIN units u ON u.build_id = b.build_id AND u.idx ="
                                " bu.unit_idx WHERE u.name = '%s' AND %s", select, name, cond);
}

//  (e) --requeue-failed 1: a unit that fails once and then passes runs
//  again on the other node; the build is flaky; the node that saw the
//  failure exits 0 and says flaky.
static void
test_flaky_unit_runs_again_elsewhere (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 16, NODES = 2, FLAKY = 5 };
    s_suite (fx, UNITS, 50);
    e2e_fixture_mark (fx, fx->names[FLAKY], "flaky");
    char flaky_dir[600], env_flaky[700];
    snprintf (flaky_dir, sizeof flaky_dir, "%s/flaky", fx->dir);
    assert_int_equal (mkdir (flaky_dir, 0755), 0);
    snprintf (env_flaky, sizeof env_flaky, "FLAKY_DIR=%s", flaky_dir);
    //  One unit per batch: the runner's exit code is per batch, and a batch
    //  of one makes the failed run that of the flaky unit alone.
    const char *extra[] = { "--requeue-failed", "1", "--max-batch-units", "1", NULL };
    e2e_fixture_daemon (fx, extra);
    char *runner = harness_source ("tests/fixtures/fake_runner.sh");
    const char *command[] = { "/bin/sh", runner, "{}", NULL };
    const char *env[] = { env_flaky, NULL };
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "flaky-1", NULL, command, env);
    for (int n = 0; n < NODES; n++)
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
    free (runner);

    //  The failed run and the run again, on different nodes.
    const char *name = fx->names[FLAKY];
    assert_int_equal (s_unit_batches (fx, name, "count(*)", "1"), 2);
    assert_int_equal (s_unit_batches (fx, name, "count(*)", "b.exit_code != 0"), 1);
    int failed_on = (int) s_unit_batches (fx, name, "b.node_index", "b.exit_code != 0");
    assert_int_equal (s_unit_batches (fx, name, "count(*)", "b.exit_code = 0 AND b.kind = 2"), 1);
    int passed_on = (int) s_unit_batches (fx, name, "b.node_index",
                                          "b.exit_code = 0 AND b.kind = 2");
    fprintf (stderr, "flaky unit failed on node %d, passed on node %d\n", failed_on, passed_on);
    assert_true (failed_on != passed_on);
    //  The runners' logs say the same: once on each node, nothing else twice.
    int counts[MAX_UNITS];
    const int on_failed[] = { failed_on, -1 }, on_passed[] = { passed_on, -1 };
    s_count_runs (fx, on_failed, counts);
    assert_int_equal (counts[FLAKY], 1);
    s_count_runs (fx, on_passed, counts);
    assert_int_equal (counts[FLAKY], 1);
    const int all[] = { 0, 1, -1 };
    assert_int_equal (s_count_runs (fx, all, counts), 0);
    for (int i = 0; i < UNITS; i++)
        assert_int_equal (counts[i], i == FLAKY ? 2 : 1);
    //  Only the flaky unit was run again.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE kind = 2"), 1);
    s_assert_build (fx, "flaky");
    assert_int_equal (s_log_lines (fx, "build_finished", "result=flaky", "flaky=1 "), 1);
    assert_int_equal (s_log_lines (fx, "units_requeued", NULL, NULL), 1);
    //  The node that saw the failure passed, and says why.
    assert_true (e2e_fixture_said (fx, s_tag[failed_on], "flaky"));
    e2e_fixture_pass (fx);
}

//  (f) --fail-fast: the first failure stops every node after its current
//  batch: every agent exits 1 naming fail-fast, not every unit runs, the
//  build's result is "stopped".
static void
test_fail_fast_stops_every_node (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 60, NODES = 3 };
    s_suite (fx, UNITS, 60);
    //  The first unit in queue order (no history: by name) fails.
    e2e_fixture_mark (fx, fx->names[0], "fail");
    e2e_fixture_daemon (fx, NULL);
    const char *flags[] = { "--fail-fast", NULL };
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "failfast-1", flags, NULL, NULL);
    for (int n = 0; n < NODES; n++) {
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 1);
        assert_true (e2e_fixture_said (fx, s_tag[n], "fail-fast"));
    }
    assert_int_equal (s_log_lines (fx, "build_stopping", NULL, NULL), 1);
    s_assert_build (fx, "stopped");
    //  Each node finished and reported the batch in hand, and was given
    //  none after the failure was reported.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE reported_ms"
                                           " IS NULL"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE exit_code != 0"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE created_ms > "
                                           "(SELECT reported_ms FROM batches WHERE "
                                           "exit_code != 0)"), 0);
    //  What ran is exactly what was handed out before the stop: not all.
    int counts[MAX_UNITS];
    const int all[] = { 0, 1, 2, -1 };
    assert_int_equal (s_count_runs (fx, all, counts), 0);
    int ran = 0;
    for (int i = 0; i < UNITS; i++) {
        assert_true (counts[i] <= 1);
        ran += counts[i];
    }
    fprintf (stderr, "fail-fast: %d of %d units ran\n", ran, UNITS);
    assert_int_equal (counts[0], 1);
    assert_true (ran < UNITS);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batch_units"), ran);
    e2e_fixture_pass (fx);
}

//  (g) 4 nodes; the last unit (the last handed out) waits in its runner
//  for a gate. Once the other units are done, the batch holding it is
//  the only one running: of the 3 other nodes, 1 waits to take it over
//  and 2 are told they are not needed, and exit 0, while the build is
//  still in flight. Then the gated batch's node is killed (lease 2 s):
//  the node that waited takes the lost batch, runs it, and the build
//  completes with every unit done.
static void
test_nodes_not_needed_as_standby_go_early (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 12, NODES = 4 };
    s_suite (fx, UNITS, 20);
    char env_gate[700];
    char *gate = s_gate (fx, env_gate, sizeof env_gate);
    const char *name = fx->names[UNITS - 1];
    const char *extra[] = { "--lease", "2", NULL };
    e2e_fixture_daemon (fx, extra);
    const char *env[] = { env_gate, NULL };
    pid_t pids[NODES];
    for (int n = 0; n < NODES; n++)
        pids[n] = s_agent (fx, n, n, NODES, "standby-1", NULL, NULL, env);
    e2e_fixture_wait_running (fx, name);
    int holder = (int) s_unit_batches (fx, name, "b.node_index", "b.state = 0");

    //  Wait (bounded) until two of the three others said they are not
    //  needed; the gate is shut, so the build is in flight meanwhile.
    const char *released = "this node is not needed";
    int64_t until = harness_now_ms () + fx->deadline_ms;
    int said = 0;
    while (said < 2) {
        said = 0;
        for (int n = 0; n < NODES; n++)
            said += n != holder && e2e_fixture_said (fx, s_tag[n], released) > 0;
        if (said < 2 && harness_now_ms () >= until) {
            harness_dump_tail ("satcheld", fx->log);
            fail_msg ("%d of the 3 idle nodes were let go, want 2", said);
        }
        usleep (5000);      //  polling period, not a stand-in for the event
    }
    int standby = -1;
    for (int n = 0; n < NODES; n++) {
        if (n == holder)
            continue;
        if (e2e_fixture_said (fx, s_tag[n], released))
            assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
        else
            standby = n;
    }
    assert_true (standby >= 0);
    assert_int_equal (e2e_fixture_int (fx, SQL_FINISHED), 0);
    assert_int_equal (s_log_lines (fx, "node_released", "build=standby-1", NULL), 2);

    //  The machine holding the gated batch is lost; then the gate opens,
    //  so that the run of that batch elsewhere can end.
    kill (-pids[holder], SIGKILL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[holder]), 128 + SIGKILL);
    assert_int_equal (harness_write_file (gate, "open\n"), 0);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[standby]), 0);
    assert_int_equal (e2e_fixture_said (fx, s_tag[standby], released), 0);
    assert_true (s_log_lines (fx, "lease_expired", NULL, "why=silent") >= 1);
    //  The lost batch's units were all done by the node that waited.
    assert_int_equal (e2e_fixture_int (fx,
        "SELECT count(*) FROM batch_units bu JOIN batches b ON b.id = bu.batch_id "
        "WHERE b.node_index = %d AND b.state = 2 AND NOT EXISTS ("
        "  SELECT 1 FROM batch_units bu2 JOIN batches b2 ON b2.id = bu2.batch_id"
        "  WHERE bu2.unit_idx = bu.unit_idx AND b2.state = 1 AND b2.node_index = %d)",
        holder, standby), 0);
    assert_int_equal (s_unit_batches (fx, name, "count(*)", "b.state = 1"), 1);
    assert_int_equal (s_unit_batches (fx, name, "b.node_index", "b.state = 1"), standby);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(DISTINCT bu.unit_idx) FROM batch_units"
                                           " bu JOIN batches b ON b.id = bu.batch_id"
                                           " WHERE b.state = 1"), UNITS);
    s_assert_build (fx, "passed");
    free (gate);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_lost_agent_batch_runs_elsewhere, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_daemon_killed_at_several_points, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_daemon_sigterm_mid_build, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_broken_runner_hands_its_batch_back, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_flaky_unit_runs_again_elsewhere, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_fail_fast_stops_every_node, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_nodes_not_needed_as_standby_go_early,
                                         e2e_fixture_setup, e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
