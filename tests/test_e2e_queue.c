/*  test_e2e_queue.c: queue mode end to end. A real satcheld on a loopback
    wildcard port, real `satchel run` processes at once, a real (small)
    test command, and the real database read back afterwards.

    Proves, for queue mode without faults: every unit runs exactly once
    (invariants 1 and 2), timings land in SQLite, and a second build of the
    same suite hands out the learned slowest units first.                  */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNITS 240
#define SLOW 10
#define AGENTS 4
#define DEADLINE_MS 120000

static bool
s_is_slow (int i)
{
    return i % (UNITS / SLOW) == 7;
}

//  The fixture, its waits bounded by DEADLINE_MS, and the generated suite:
//  UNITS files in a few folders (fx->names[i] is unit i); SLOW of them,
//  spread through the name order, sleep much longer than the rest.
static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    for (int i = 0; i < UNITS; i++) {
        char name[128], body[32];
        snprintf (name, sizeof name, "tests/group_%d/unit_%03d_test.txt", i % 6, i);
        //  Long tail: most take 1-4 ms, a few 250 ms (far enough apart that
        //  a loaded machine's process start-up cannot blur them).
        snprintf (body, sizeof body, "ms=%d\n", s_is_slow (i) ? 250 : 1 + (i * 7) % 4);
        e2e_fixture_unit (fx, name, body);
    }
    //  A file that must not be picked up by the pattern.
    char path[1024];
    snprintf (path, sizeof path, "%s/tests/README.md", fx->suite);
    assert_int_equal (harness_write_file (path, "not a test\n"), 0);
    return 0;
}

//  Run agents agents of one build at once, tagged <prefix>-n<index>;
//  assert they all exit 0.
static void
s_run_build (e2e_fixture_t *fx, const char *build, int agents, const char *prefix)
{
    char tags[16][64];
    assert_true (agents <= 16);
    for (int n = 0; n < agents; n++) {
        snprintf (tags[n], sizeof tags[n], "%s-n%d", prefix, n);
        e2e_agent_t agent = { .tag = tags[n], .suite = "e2e", .build = build, .index = n,
                              .total = agents, .pattern = "tests/**/*_test.txt",
                              .timeout = "10" };
        e2e_fixture_agent (fx, &agent);
    }
    for (int n = 0; n < agents; n++)
        e2e_fixture_expect_exit (fx, tags[n], 0);
}

//  Count how often each unit appears in the run logs of the agents of
//  prefix; *unknown gets the lines that name no unit.
static void
s_count_runs (e2e_fixture_t *fx, const char *prefix, int agents, int counts[UNITS],
              int *unknown)
{
    memset (counts, 0, UNITS * sizeof (int));
    *unknown = 0;
    for (int n = 0; n < agents; n++) {
        //  NULL if the node got nothing: no lines.
        char *text = e2e_fixture_read (fx, "%s-n%d.ran", prefix, n);
        *unknown += harness_count_runs (text, fx->names, fx->count, counts);
        free (text);
    }
}

static void
test_every_unit_runs_exactly_once (void **state)
{
    e2e_fixture_t *fx = *state;
    //  Default policy: batches of many units, sized by predicted time.
    e2e_fixture_daemon (fx, NULL);
    s_run_build (fx, "build-1", AGENTS, "b1");
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);

    int counts[UNITS], unknown = 0;
    s_count_runs (fx, "b1", AGENTS, counts, &unknown);
    assert_int_equal (unknown, 0);
    for (int i = 0; i < UNITS; i++) {
        if (counts[i] != 1)
            fprintf (stderr, "%s ran %d times\n", fx->names[i], counts[i]);
        assert_int_equal (counts[i], 1);
    }

    //  No waste: exactly one assignment per unit, all reported.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batch_units"), UNITS);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(DISTINCT unit_idx) FROM batch_units"),
                      UNITS);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches WHERE reported_ms IS"
                                           " NULL"), 0);
    //  Batches of several units each, not one at a time.
    assert_true (e2e_fixture_int (fx, "SELECT count(*) FROM batches") < UNITS / 4);
    //  The build is complete and every unit has history.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM builds WHERE finished_ms > 0"),
                      1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM timings"), UNITS);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM samples"), UNITS);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM timings WHERE estimate_ms < 0"),
                      0);
}

static void
test_second_build_hands_out_learned_slowest_first (void **state)
{
    e2e_fixture_t *fx = *state;
    //  One-unit batches, so each unit's measured time is its own and the
    //  history can tell slow units from fast ones.
    const char *extra[] = { "--runner-startup", "0", "--max-batch-units", "1", NULL };
    e2e_fixture_daemon (fx, extra);
    s_run_build (fx, "build-1", AGENTS, "b1");
    s_run_build (fx, "build-2", AGENTS, "b2");
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);

    int counts[UNITS], unknown = 0;
    s_count_runs (fx, "b2", AGENTS, counts, &unknown);
    assert_int_equal (unknown, 0);
    for (int i = 0; i < UNITS; i++)
        assert_int_equal (counts[i], 1);

    //  The first SLOW units handed out in each build, in handing-out order.
    for (int build = 1; build <= 2; build++) {
        char *first = e2e_fixture_lines (fx, "SELECT u.name FROM batches b JOIN builds d ON d.id ="
                                             " b.build_id JOIN batch_units bu ON bu.batch_id ="
                                             " b.id JOIN units u ON u.build_id = b.build_id AND"
                                             " u.idx = bu.unit_idx WHERE d.build_key = 'build-%d'"
                                             " ORDER BY b.id, bu.pos LIMIT %d", build, SLOW);
        int slow_first = 0, rows = 0;
        char *save = NULL;
        for (char *name = strtok_r (first, "\n", &save); name;
             name = strtok_r (NULL, "\n", &save)) {
            rows++;
            for (int i = 0; i < UNITS; i++)
                if (s_is_slow (i) && strcmp (name, fx->names[i]) == 0)
                    slow_first++;
        }
        free (first);
        assert_int_equal (rows, SLOW);
        if (build == 1)
            //  No history yet: the order is by name, and the slow files are
            //  spread through it, so they are not all first.
            assert_true (slow_first < SLOW);
        else
            //  With history: exactly the slow files come first.
            assert_int_equal (slow_first, SLOW);
    }
}

static void
test_differing_test_list_is_refused (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    //  Node 0 starts the build with the whole suite (the command is `true`:
    //  this test is about joining, not running).
    const char *const command[] = { "true", NULL };
    e2e_agent_t node = { .tag = "mismatch-0", .suite = "e2e", .build = "mm", .index = 0,
                         .total = 2, .commit = "c", .branch = "b",
                         .pattern = "tests/**/*_test.txt", .command = command };
    free (e2e_fixture_run (fx, &node, 0));
    //  Node 1 sees one test less: refused, exit 1, with a message that says why.
    const char *exclude[] = { "--exclude", "tests/group_0/unit_000_test.txt", NULL };
    node.tag = "mismatch-1";
    node.index = 1;
    node.flags = exclude;
    char *text = e2e_fixture_run (fx, &node, 1);
    assert_non_null (strstr (text, "differs from the one build mm was started with"));
    free (text);
    //  A node that says the build has 3 nodes: refused too.
    node.tag = "mismatch-2";
    node.total = 3;
    node.flags = NULL;
    text = e2e_fixture_run (fx, &node, 1);
    assert_non_null (strstr (text, "was started with 2 nodes"));
    free (text);
    assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_every_unit_runs_exactly_once, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_second_build_hands_out_learned_slowest_first,
                                         s_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_differing_test_list_is_refused, s_setup,
                                         e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
