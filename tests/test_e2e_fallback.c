/*  test_e2e_fallback.c: fallback mode, end to end. Real `satchel run`
    processes, a real test command, and (where one is needed) a real
    satcheld on a loopback port. What it proves:

    a. satcheld never started, 3 nodes, 10 tests: each node falls back,
       says so once, and runs exactly the round-robin deal of the sorted
       names (node i gets sorted[k] for k mod 3 == i) in one runner start;
       together they run every unit exactly once (invariants 1 and 6);
    b. more nodes than tests (5 nodes, 3 tests): the extra nodes say there
       is nothing to run and exit 0; every unit runs once;
    c. a failing test in a node's fallback share makes that node exit 1;
       --batch-size N runs a fallback share in starts of at most N tests;
    d. satcheld killed with SIGKILL in the middle of a queue build and not
       started again: every agent finishes in fallback mode and exits 0,
       every unit ran; each node runs its share less what it ran already
       in the build, and says how many it skipped (invariant 1);
    e. --no-fallback, and SATCHEL_FALLBACK=0, with nothing listening: exit
       1 with one message naming --no-fallback, nothing run, within the
       retry budget, which --verbose shows being spent (invariant 8);
    f. a user error from satcheld (list_mismatch, build_mismatch) is never
       retried and never falls back: exit 1 at once with the daemon's
       message, nothing run (invariant 8).

    "Nobody listens" is made certain, not likely: the fixture keeps a TCP
    socket bound to a loopback port without listening on it, so connects
    to it are refused and no other process (no other test's satcheld) can
    bind it while the test runs.

    Moments are chosen by watching files, never by sleeping: the test
    command is a small wrapper (written by the fixture) around
    tests/fixtures/fake_runner.sh that counts its starts and can hold
    before a test ("the gate") until the test opens it, touching a file
    when it starts to hold. Every agent leads a process group of its own;
    the teardown kills whatever a failed assert left running.           */
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
#define MAX_AGENTS 8
//  What the agent logs when it falls back (agent/run.c).
#define FALLBACK_LINE "fallback mode: running this node's share of the tests split by name"
#define SKIPPED_TEXT "ran on this node already"

//  ---------------------------------------------------------------------
//  Shared helpers

//  The test command: tests/fixtures/fake_runner.sh once per test, so that
//  it can hold between tests. $STARTS_LOG gets one line per start (the
//  number of tests given). Before each test, once $RAN_LOG already names
//  $GATE_AFTER tests or more (unset: never), it touches $GATE_HOLDING and
//  waits for the file $GATE_OPEN, giving up (exit 3) after about 60 s so
//  that nothing outlives a failed test for long.
static const char s_runner_text[] =
    "#!/bin/sh\n"
    "printf '%%s\\n' \"$#\" >> \"${STARTS_LOG:?}\"\n"
    "status=0\n"
    "for test in \"$@\"; do\n"
    "    if [ -n \"$GATE_AFTER\" ] && [ ! -e \"$GATE_OPEN\" ]; then\n"
    "        done=0\n"
    "        if [ -f \"$RAN_LOG\" ]; then done=$(wc -l < \"$RAN_LOG\"); fi\n"
    "        if [ \"$done\" -ge \"$GATE_AFTER\" ]; then\n"
    "            : > \"$GATE_HOLDING\"\n"
    "            i=0\n"
    "            while [ ! -e \"$GATE_OPEN\" ]; do\n"
    "                i=$((i + 1))\n"
    "                if [ $i -gt 6000 ]; then exit 3; fi\n"
    "                sleep 0.01\n"
    "            done\n"
    "        fi\n"
    "    fi\n"
    "    /bin/sh '%s' \"$test\" || status=1\n"
    "done\n"
    "exit $status\n";

//  The agents are known by slot; their files by these tags: <tag>.err
//  (stdout and stderr), <tag>.ran, <tag>.starts (one line per runner
//  start), <tag>.holding (touched when its runner holds at the gate).
static const char *const s_tag[MAX_AGENTS] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7" };

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  The fixture, and the wrapper runner in it (runner.sh).
static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    char *fake = harness_source ("tests/fixtures/fake_runner.sh");
    char text[sizeof s_runner_text + 600];
    snprintf (text, sizeof text, s_runner_text, fake);
    free (fake);
    char *runner = e2e_fixture_path (fx, "runner.sh");
    assert_int_equal (harness_write_file (runner, text), 0);
    free (runner);
    return 0;
}

//  Make the test files tests/<stem>_test.txt, in the order given (not
//  sorted, so that the sort is the product's), each "ms=0"; then sort
//  fx->names by strcmp, the order of the deal.
static void
s_suite (e2e_fixture_t *fx, const char *const *stems)
{
    for (int i = 0; stems[i]; i++) {
        assert_true (fx->count < MAX_UNITS);
        char name[128];
        snprintf (name, sizeof name, "tests/%s_test.txt", stems[i]);
        e2e_fixture_unit (fx, name, "ms=0\n");
    }
    qsort (fx->names, (size_t) fx->count, sizeof (char *), s_compare_names);
}

//  Count files tests/unit_NN_test.txt.
static void
s_suite_count (e2e_fixture_t *fx, int count)
{
    char stems[MAX_UNITS][16];
    const char *list[MAX_UNITS + 1];
    assert_true (count <= MAX_UNITS);
    for (int i = 0; i < count; i++) {
        snprintf (stems[i], sizeof stems[i], "unit_%02d", i);
        list[i] = stems[i];
    }
    list[count] = NULL;
    s_suite (fx, list);
}

//  Start an agent in slot as node index of total in build, coordinator at
//  endpoint, with extra satchel flags (NULL-terminated, may be NULL), its
//  runner holding at the gate once gate_after tests ran on it (-1: never),
//  and extra environment entries. Its stdout and stderr go to <tag>.err.
static void
s_agent (e2e_fixture_t *fx, int slot, int index, int total, const char *build,
         const char *endpoint, const char *const *flags, int gate_after,
         const char *const *env_extra)
{
    assert_true (slot < MAX_AGENTS);
    const char *tag = s_tag[slot];
    char runner[700], env_starts[700], env_holding[700], env_open[700], env_after[32];
    snprintf (runner, sizeof runner, "%s/runner.sh", fx->dir);
    snprintf (env_starts, sizeof env_starts, "STARTS_LOG=%s/%s.starts", fx->dir, tag);
    snprintf (env_holding, sizeof env_holding, "GATE_HOLDING=%s/%s.holding", fx->dir, tag);
    snprintf (env_open, sizeof env_open, "GATE_OPEN=%s/gate-open", fx->dir);
    snprintf (env_after, sizeof env_after, "GATE_AFTER=%d", gate_after);
    const char *env[16] = { env_starts, env_holding, env_open };
    size_t envc = 3;
    if (gate_after >= 0)
        env[envc++] = env_after;
    for (size_t i = 0; env_extra && env_extra[i] && envc < 15; i++)
        env[envc++] = env_extra[i];
    env[envc] = NULL;
    const char *command[] = { "/bin/sh", runner, "{}", NULL };
    e2e_agent_t agent = { .tag = tag, .coordinator = endpoint, .suite = "fallback",
                          .build = build, .index = index, .total = total,
                          .pattern = "tests/*_test.txt", .flags = flags, .command = command,
                          .env = env, .stdout_too = true };
    e2e_fixture_agent (fx, &agent);
}

//  The lines of the file <tag><suffix>, in order (malloc'd strings into
//  lines, at most max). Returns how many; 0 if the file does not exist.
static int
s_lines (const e2e_fixture_t *fx, const char *tag, const char *suffix, char **lines, int max)
{
    char *text = e2e_fixture_read (fx, "%s%s", tag, suffix);
    int count = 0;
    char *save = NULL;
    for (char *line = text ? strtok_r (text, "\n", &save) : NULL; line;
         line = strtok_r (NULL, "\n", &save)) {
        assert_true (count < max);
        lines[count++] = strdup (line);
    }
    free (text);
    return count;
}

static void
s_lines_free (char **lines, int count)
{
    for (int i = 0; i < count; i++)
        free (lines[i]);
}

//  Position of name in the sorted list, or -1.
static int
s_position (e2e_fixture_t *fx, const char *name)
{
    for (int k = 0; k < fx->count; k++)
        if (strcmp (fx->names[k], name) == 0)
            return k;
    return -1;
}

//  Is sorted[k] node's in the fallback deal of total nodes? The deal is
//  written out here from its definition (fallback.h), not asked of the
//  product: unit k of the sorted list belongs to node k mod total.
static bool
s_in_share (int k, int node, int total)
{
    return k % total == node;
}

static int
s_share_size (e2e_fixture_t *fx, int node, int total)
{
    int size = 0;
    for (int k = 0; k < fx->count; k++)
        size += s_in_share (k, node, total);
    return size;
}

//  Add the runs in slot's RAN_LOG to counts (by sorted position); assert
//  every line names a unit of the suite.
static void
s_add_runs (const e2e_fixture_t *fx, int slot, int counts[MAX_UNITS])
{
    char *text = e2e_fixture_read (fx, "%s.ran", s_tag[slot]);
    assert_int_equal (harness_count_runs (text, fx->names, fx->count, counts), 0);
    free (text);
}

//  The agent in slot ran exactly the fallback share of node of total: each
//  unit of it once, nothing else, in one runner start (none if empty).
static void
s_assert_ran_share (e2e_fixture_t *fx, int slot, int node, int total)
{
    int counts[MAX_UNITS] = { 0 };
    s_add_runs (fx, slot, counts);
    for (int k = 0; k < fx->count; k++) {
        int want = s_in_share (k, node, total) ? 1 : 0;
        if (counts[k] != want)
            fprintf (stderr, "node %d of %d ran %s %d times, want %d\n", node, total,
                     fx->names[k], counts[k], want);
        assert_int_equal (counts[k], want);
    }
    char *starts[MAX_UNITS] = { NULL };
    int n = s_lines (fx, s_tag[slot], ".starts", starts, MAX_UNITS);
    int size = s_share_size (fx, node, total);
    assert_int_equal (n, size > 0 ? 1 : 0);
    if (n == 1)
        assert_int_equal (atoi (starts[0]), size);
    s_lines_free (starts, n);
}

//  The agent in slot fell back exactly once, for a share of share of the
//  suite's units, naming the endpoint it could not reach.
static void
s_assert_fell_back (e2e_fixture_t *fx, int slot, const char *endpoint, int share)
{
    assert_int_equal (e2e_fixture_said (fx, s_tag[slot], FALLBACK_LINE), 1);
    char needle[256];
    snprintf (needle, sizeof needle, "cannot reach the coordinator at %s", endpoint);
    assert_true (e2e_fixture_said (fx, s_tag[slot], needle));
    snprintf (needle, sizeof needle, FALLBACK_LINE ", %d of %d units", share, fx->count);
    if (!e2e_fixture_said (fx, s_tag[slot], needle))
        fprintf (stderr, "slot %d: no '%s'\n", slot, needle);
    assert_true (e2e_fixture_said (fx, s_tag[slot], needle));
}

//  Open the gate: every runner holding at it goes on, and none holds again.
static void
s_open_gate (const e2e_fixture_t *fx)
{
    char *gate = e2e_fixture_path (fx, "gate-open");
    assert_int_equal (harness_write_file (gate, "open\n"), 0);
    free (gate);
}

//  Flags of an agent that gives up on an unreachable coordinator quickly:
//  2 tries of 0.2 s and one back-off of 0.25 s.
static const char *const s_quick[] = { "--timeout", "0.2", "--retries", "1", NULL };

//  ---------------------------------------------------------------------
//  The tests

//  (a) satcheld was never started. Three nodes, started at once, fall back
//  and between them run every unit exactly once; each runs exactly its
//  round-robin deal of the sorted names, in one runner start.
static void
test_no_daemon_nodes_split_by_name (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { NODES = 3 };
    //  Made out of order, with capitals and underscores, so that the deal
    //  depends on the product sorting by strcmp.
    const char *stems[] = { "zeta", "alpha", "Mu", "beta", "a", "alpha2", "Zed", "gamma",
                            "b_c", "delta", NULL };
    s_suite (fx, stems);
    int64_t start = harness_now_ms ();
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "nodaemon-1", e2e_fixture_dead_endpoint (fx), s_quick, -1, NULL);
    for (int n = 0; n < NODES; n++)
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
    fprintf (stderr, "3 nodes without a daemon finished in %lld ms\n",
             (long long) (harness_now_ms () - start));

    int counts[MAX_UNITS] = { 0 };
    for (int n = 0; n < NODES; n++) {
        s_assert_fell_back (fx, n, e2e_fixture_dead_endpoint (fx), s_share_size (fx, n, NODES));
        assert_false (e2e_fixture_said (fx, s_tag[n], SKIPPED_TEXT));
        char needle[128];
        snprintf (needle, sizeof needle, "node %d of %d done in fallback mode: %d units", n,
                  NODES, s_share_size (fx, n, NODES));
        assert_true (e2e_fixture_said (fx, s_tag[n], needle));
        s_assert_ran_share (fx, n, n, NODES);
        s_add_runs (fx, n, counts);
    }
    for (int k = 0; k < fx->count; k++)
        assert_int_equal (counts[k], 1);
    e2e_fixture_pass (fx);
}

//  (b) Five nodes, three tests, no daemon: nodes 0..2 run one test each,
//  nodes 3 and 4 say there is nothing to run and exit 0 without starting
//  the test command.
static void
test_more_nodes_than_tests (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { NODES = 5 };
    s_suite_count (fx, 3);
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "fewtests-1", e2e_fixture_dead_endpoint (fx), s_quick, -1, NULL);
    for (int n = 0; n < NODES; n++)
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
    int counts[MAX_UNITS] = { 0 };
    for (int n = 0; n < NODES; n++) {
        s_assert_fell_back (fx, n, e2e_fixture_dead_endpoint (fx), n < 3 ? 1 : 0);
        s_assert_ran_share (fx, n, n, NODES);
        s_add_runs (fx, n, counts);
        bool idle = e2e_fixture_said (fx, s_tag[n], "nothing to run in the fallback split "
                                      "(more nodes than tests)");
        assert_true (idle == (n >= 3));
    }
    for (int n = 3; n < NODES; n++) {
        char *text = e2e_fixture_read (fx, "%s.ran", s_tag[n]);
        assert_null (text);
        text = e2e_fixture_read (fx, "%s.starts", s_tag[n]);
        assert_null (text);
    }
    for (int k = 0; k < fx->count; k++)
        assert_int_equal (counts[k], 1);
    e2e_fixture_pass (fx);
}

//  (c) A failing test in a node's fallback share: that node exits 1 and
//  says so; the other node, whose tests passed, exits 0.
static void
test_failed_test_in_fallback_exits_1 (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { NODES = 2 };
    s_suite_count (fx, 4);
    e2e_fixture_mark (fx, fx->names[1], "fail");      //  sorted[1] is node 1's
    for (int n = 0; n < NODES; n++)
        s_agent (fx, n, n, NODES, "failing-1", e2e_fixture_dead_endpoint (fx), s_quick, -1, NULL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[0]), 0);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[1]), 1);
    for (int n = 0; n < NODES; n++) {
        s_assert_fell_back (fx, n, e2e_fixture_dead_endpoint (fx), 2);
        s_assert_ran_share (fx, n, n, NODES);
    }
    assert_true (e2e_fixture_said (fx, s_tag[1], "some tests failed"));
    assert_false (e2e_fixture_said (fx, s_tag[0], "some tests failed"));
    e2e_fixture_pass (fx);
}

//  (c) --batch-size 2: a fallback share of 5 runs in starts of 2, 2 and 1
//  tests, each unit once.
static void
test_fallback_batch_size (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite_count (fx, 10);
    const char *flags[] = { "--timeout", "0.2", "--retries", "1", "--batch-size", "2", NULL };
    s_agent (fx, 0, 1, 2, "batches-1", e2e_fixture_dead_endpoint (fx), flags, -1, NULL);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[0]), 0);
    s_assert_fell_back (fx, 0, e2e_fixture_dead_endpoint (fx), 5);
    int counts[MAX_UNITS] = { 0 };
    s_add_runs (fx, 0, counts);
    for (int k = 0; k < fx->count; k++)
        assert_int_equal (counts[k], s_in_share (k, 1, 2) ? 1 : 0);
    char *starts[MAX_UNITS] = { NULL };
    int n = s_lines (fx, s_tag[0], ".starts", starts, MAX_UNITS);
    assert_int_equal (n, 3);
    assert_string_equal (starts[0], "2");
    assert_string_equal (starts[1], "2");
    assert_string_equal (starts[2], "1");
    s_lines_free (starts, n);
    e2e_fixture_pass (fx);
}

//  What one node did in (d), read back from its runner's log and its output.
typedef struct {
    int lines;              //  units its runner ran, in order (queue, then fallback)
    int fallback_runs;      //  of them, run in fallback mode (the last ones)
    int skipped;            //  units of its share it ran in the queue: not run again
} node_story_t;

//  (d) satcheld killed with SIGKILL in the middle of a queue build and not
//  started again. Made deterministic with the gate:
//  1. node 0 joins alone and runs from the queue until 9 tests ran on it;
//     its runner then holds before the next test, inside a batch that the
//     daemon has handed out and not had reported, so the build is running;
//  2. nodes 1 and 2 join (each runner holds at its first test, if it gets
//     one);
//  3. satcheld is killed, and the gate opened: every batch in hand ends
//     and passes, the reports find nobody, and each node falls back.
//  Node 0 ran at least 10 of the 12 units in the queue (9, then the batch
//  it held in), more than the 8 that are not its own share, so some of its
//  share ran on it before the fallback (pigeonhole): it must say how many
//  and not run them again. For every node, the fallback runs are exactly
//  its share less what it ran in the queue, and the units it says it
//  skipped are exactly its share's units it ran before.
static void
test_daemon_killed_mid_build (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 12, NODES = 3, FIRST_RUNS = 9 };
    s_suite_count (fx, UNITS);
    //  On a port of its own (harness.h): no other test's satcheld started
    //  on a wildcard port can take it once this one is dead.
    e2e_fixture_daemon_fixed (fx, NULL);
    char endpoint[256];
    snprintf (endpoint, sizeof endpoint, "%s", fx->daemon.endpoint);
    //  A reply may take a while under the sanitizers: 1 s per try, so that
    //  no node falls back while the daemon lives. After the kill, 3 tries
    //  and 0.75 s of back-off: under 4 s.
    const char *flags[] = { "--timeout", "1", "--retries", "2", NULL };

    s_agent (fx, 0, 0, NODES, "killed-1", endpoint, flags, FIRST_RUNS, NULL);
    assert_int_equal (e2e_fixture_wait_for (fx, "", "%s.holding", s_tag[0]), 0);
    for (int n = 1; n < NODES; n++)
        s_agent (fx, n, n, NODES, "killed-1", endpoint, flags, 0, NULL);
    for (int n = 1; n < NODES; n++)
        assert_int_equal (e2e_fixture_wait_for (fx, "joined build killed-1", "%s.err",
                                                s_tag[n]), 0);
    assert_int_equal (harness_daemon_signal (&fx->daemon, SIGKILL, 10000), 128 + SIGKILL);
    //  The kill was in the middle of the build: not finished, node 0's
    //  batch out and unreported.
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms FROM builds"), 0);
    assert_true (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE node_index = 0 "
                                      "AND reported_ms IS NULL") >= 1);
    char *ran_before[MAX_UNITS];
    int before = s_lines (fx, s_tag[0], ".ran", ran_before, MAX_UNITS);
    s_lines_free (ran_before, before);
    fprintf (stderr, "killed satcheld with %d tests run on node 0 and node 0 holding\n", before);
    assert_int_equal (before, FIRST_RUNS);
    int64_t killed = harness_now_ms ();
    s_open_gate (fx);

    for (int n = 0; n < NODES; n++)
        assert_int_equal (e2e_fixture_wait (fx, s_tag[n]), 0);
    fprintf (stderr, "every node finished %lld ms after the kill\n",
             (long long) (harness_now_ms () - killed));

    node_story_t story[NODES] = { { 0 } };
    int counts[MAX_UNITS] = { 0 };
    for (int n = 0; n < NODES; n++) {
        node_story_t *s = &story[n];
        int share = s_share_size (fx, n, NODES);
        s_assert_fell_back (fx, n, endpoint, share);
        s_add_runs (fx, n, counts);
        char *lines[4 * MAX_UNITS];
        s->lines = s_lines (fx, s_tag[n], ".ran", lines, 4 * MAX_UNITS);
        //  How many it ran in fallback mode, from its own account.
        char *text = e2e_fixture_read (fx, "%s.err", s_tag[n]);
        assert_non_null (text);
        char needle[128];
        snprintf (needle, sizeof needle, "node %d of %d done in fallback mode: ", n, NODES);
        const char *done = strstr (text, needle);
        if (done)
            s->fallback_runs = atoi (done + strlen (needle));
        else
            assert_true (e2e_fixture_said (fx, s_tag[n],
                                           "nothing left to run in the fallback split"));
        free (text);
        assert_true (s->fallback_runs <= s->lines);
        //  The queue runs come first in the log, the fallback runs last.
        int queue_runs = s->lines - s->fallback_runs;
        bool in_queue[MAX_UNITS] = { false }, in_fallback[MAX_UNITS] = { false };
        for (int i = 0; i < s->lines; i++) {
            int k = s_position (fx, lines[i]);
            assert_true (k >= 0);
            bool *seen = i < queue_runs ? in_queue : in_fallback;
            //  No unit twice on one node: the queue never gave it twice,
            //  and the fallback skipped what the queue ran.
            assert_false (in_queue[k] || in_fallback[k]);
            seen[k] = true;
        }
        s_lines_free (lines, s->lines);
        for (int k = 0; k < fx->count; k++) {
            bool own = s_in_share (k, n, NODES);
            assert_true (in_fallback[k] == (own && !in_queue[k]));
            s->skipped += own && in_queue[k];
        }
        assert_int_equal (s->skipped + s->fallback_runs, share);
        if (s->skipped > 0) {
            snprintf (needle, sizeof needle, "%d of %d units; %d of them " SKIPPED_TEXT,
                      share, UNITS, s->skipped);
            if (!e2e_fixture_said (fx, s_tag[n], needle))
                fprintf (stderr, "node %d: no '%s'\n", n, needle);
            assert_true (e2e_fixture_said (fx, s_tag[n], needle));
        }
        else
            assert_false (e2e_fixture_said (fx, s_tag[n], SKIPPED_TEXT));
        //  Its runner ran no more than its share after the kill.
        fprintf (stderr, "node %d: %d units from the queue, %d of its %d in fallback mode, "
                         "%d of its share skipped as run already\n", n, queue_runs,
                 s->fallback_runs, share, s->skipped);
    }
    //  The pigeonhole: node 0 ran >= 10 units in the queue, at most 8 of
    //  them others' share.
    assert_true (story[0].lines - story[0].fallback_runs >= FIRST_RUNS + 1);
    assert_true (story[0].skipped >= 2);
    //  Coverage: every unit ran somewhere.
    for (int k = 0; k < UNITS; k++) {
        if (counts[k] < 1)
            fprintf (stderr, "%s never ran\n", fx->names[k]);
        assert_true (counts[k] >= 1);
    }
    e2e_fixture_pass (fx);
}

//  An agent that must not fall back, with nothing listening: spawn it with
//  extra flags and environment; assert it exits 1 naming --no-fallback,
//  within 10 times its retry budget, having run nothing; --verbose shows
//  the budget spent: tries 1..3, no 4th.
static void
s_assert_no_fallback (e2e_fixture_t *fx, const char *const *flags, const char *const *env)
{
    s_suite_count (fx, 4);
    //  3 tries of 0.3 s, back-offs of 0.25 s and 0.5 s.
    const int64_t budget_ms = 3 * 300 + 250 + 500;
    const char *all[16] = { "--timeout", "0.3", "--retries", "2", "--verbose" };
    size_t count = 5;
    for (size_t i = 0; flags && flags[i] && count < 15; i++)
        all[count++] = flags[i];
    all[count] = NULL;
    int64_t start = harness_now_ms ();
    s_agent (fx, 0, 0, 1, "nofallback-1", e2e_fixture_dead_endpoint (fx), all, -1, env);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[0]), 1);
    int64_t took = harness_now_ms () - start;
    fprintf (stderr, "no fallback: exit 1 after %lld ms (retry budget %lld ms)\n",
             (long long) took, (long long) budget_ms);
    assert_true (took < 10 * budget_ms);
    char needle[256];
    snprintf (needle, sizeof needle, "cannot reach the coordinator at %s",
              e2e_fixture_dead_endpoint (fx));
    assert_true (e2e_fixture_said (fx, s_tag[0], needle));
    assert_true (e2e_fixture_said (fx, s_tag[0], "(--no-fallback)"));
    assert_false (e2e_fixture_said (fx, s_tag[0], FALLBACK_LINE));
    assert_true (e2e_fixture_said (fx, s_tag[0], "retry type=join"));
    assert_true (e2e_fixture_said (fx, s_tag[0], "try=3 "));
    assert_false (e2e_fixture_said (fx, s_tag[0], "try=4 "));
    char *text = e2e_fixture_read (fx, "%s.ran", s_tag[0]);
    assert_null (text);
    text = e2e_fixture_read (fx, "%s.starts", s_tag[0]);
    assert_null (text);
}

//  (e) --no-fallback with nothing listening.
static void
test_no_fallback_flag (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *flags[] = { "--no-fallback", NULL };
    s_assert_no_fallback (fx, flags, NULL);
    e2e_fixture_pass (fx);
}

//  (e) SATCHEL_FALLBACK=0 in the environment does what --no-fallback does.
static void
test_no_fallback_environment (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *env[] = { "SATCHEL_FALLBACK=0", NULL };
    s_assert_no_fallback (fx, NULL, env);
    e2e_fixture_pass (fx);
}

//  Run the agent in slot to its end; assert it was refused at once: exit
//  1 well within one timeout (10 s) of a retry budget over 50 s, the
//  daemon's message shown, no retry, no fallback, nothing run.
static void
s_assert_refused (e2e_fixture_t *fx, int slot, const char *what, const char *message)
{
    int64_t start = harness_now_ms ();
    assert_int_equal (e2e_fixture_wait (fx, s_tag[slot]), 1);
    int64_t took = harness_now_ms () - start;
    fprintf (stderr, "%s: refused, exit 1 after %lld ms\n", what, (long long) took);
    assert_true (took < 5000);
    assert_true (e2e_fixture_said (fx, s_tag[slot], "the coordinator refused the join request: "));
    if (!e2e_fixture_said (fx, s_tag[slot], message))
        fprintf (stderr, "%s: no '%s' in its output\n", what, message);
    assert_true (e2e_fixture_said (fx, s_tag[slot], message));
    //  --verbose logs every resend ("retry type=..."): there is none.
    assert_int_equal (e2e_fixture_said (fx, s_tag[slot], "retry"), 0);
    assert_false (e2e_fixture_said (fx, s_tag[slot], "fallback mode"));
    char *text = e2e_fixture_read (fx, "%s.ran", s_tag[slot]);
    assert_null (text);
    text = e2e_fixture_read (fx, "%s.starts", s_tag[slot]);
    assert_null (text);
}

//  (f) A user error is never retried and never falls back. Node 0 starts
//  build refused-1 (2 nodes, 4 tests) and holds in its first test, so the
//  build is running; then, with a retry budget over 50 s, a node with
//  another test list (list_mismatch) and one with another node total
//  (build_mismatch) each try to join it.
static void
test_user_error_is_not_retried (void **state)
{
    e2e_fixture_t *fx = *state;
    enum { UNITS = 4 };
    s_suite_count (fx, UNITS);
    e2e_fixture_daemon (fx, NULL);
    s_agent (fx, 0, 0, 2, "refused-1", fx->daemon.endpoint, NULL, 0, NULL);
    assert_int_equal (e2e_fixture_wait_for (fx, "", "%s.holding", s_tag[0]), 0);

    const char *patient[] = { "--timeout", "10", "--retries", "5", "--verbose", NULL };
    const char *other_list[] = { "--timeout", "10", "--retries", "5", "--verbose",
                                 "--exclude", "tests/unit_03_test.txt", NULL };
    s_agent (fx, 1, 1, 2, "refused-1", fx->daemon.endpoint, other_list, -1, NULL);
    s_assert_refused (fx, 1, "another test list", "differs from the one build refused-1 "
                                                  "was started with");
    s_agent (fx, 2, 1, 3, "refused-1", fx->daemon.endpoint, patient, -1, NULL);
    s_assert_refused (fx, 2, "another node total", "was started with 2 nodes, but this "
                                                   "node says 3");

    //  The build itself was not disturbed: node 0 goes on and runs it all.
    s_open_gate (fx);
    assert_int_equal (e2e_fixture_wait (fx, s_tag[0]), 0);
    int counts[MAX_UNITS] = { 0 };
    s_add_runs (fx, 0, counts);
    for (int k = 0; k < UNITS; k++)
        assert_int_equal (counts[k], 1);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_no_daemon_nodes_split_by_name, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_more_nodes_than_tests, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_failed_test_in_fallback_exits_1, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_fallback_batch_size, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_daemon_killed_mid_build, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_no_fallback_flag, s_setup, e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_no_fallback_environment, s_setup,
                                         e2e_fixture_teardown_dump),
        cmocka_unit_test_setup_teardown (test_user_error_is_not_retried, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
