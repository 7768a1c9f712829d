/*  test_e2e_retention.c: a real satcheld prunes its own history. Started
    with periods of about two seconds (--keep-days and --keep-builds-days
    take fractions of a day), it is sent a real build by real agents; once
    the build has aged past the periods, satcheld's loop removes the build
    with its units and batches, its samples and estimates, and says so in
    its log, while it goes on serving: the same CI build id run again
    later is a new build that runs every unit. The soak that shows the file
    staying flat is in test_retention.c, with simulated days.           */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

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

//  Run the build on two nodes; both must exit 0.
static void
s_run_build (e2e_fixture_t *fx, const char *round)
{
    for (int n = 0; n < 2; n++) {
        char tag[32];
        snprintf (tag, sizeof tag, "%s-%d", round, n);
        e2e_agent_t agent = { .tag = tag, .suite = "kept", .build = "ci-1", .index = n,
                              .total = 2, .pattern = "tests/*_test.txt" };
        e2e_fixture_agent (fx, &agent);
    }
    for (int n = 0; n < 2; n++) {
        char tag[32];
        snprintf (tag, sizeof tag, "%s-%d", round, n);
        e2e_fixture_expect_exit (fx, tag, 0);
    }
}

static void
test_daemon_prunes_old_history (void **state)
{
    e2e_fixture_t *fx = *state;
    for (int i = 0; i < UNITS; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=10\n");
    }
    //  0.00005 days: 4.32 s, looked at every 0.43 s. Nothing here reads
    //  the build before it ages out: the daemon's log says it finished.
    const char *extra[] = { "--keep-days", "0.00005", "--keep-builds-days", "0.00005", NULL };
    e2e_fixture_daemon (fx, extra);
    s_run_build (fx, "first");
    assert_int_equal (harness_wait_for_text (fx->log, "build_finished", DEADLINE_MS), 0);

    //  Within the deadline, the loop prunes all of it on its own.
    e2e_fixture_wait_db (fx, 1, "SELECT (SELECT count(*) FROM builds) + (SELECT count(*) FROM"
                                " units) + (SELECT count(*) FROM batches) + (SELECT count(*)"
                                " FROM batch_units) + (SELECT count(*) FROM attempts) +"
                                " (SELECT count(*) FROM samples) + (SELECT count(*) FROM"
                                " timings) = 0");
    assert_int_equal (harness_wait_for_text (fx->log, "retention_pruned builds=1 ",
                                             DEADLINE_MS), 0);

    //  Serving all along: the same CI build id is a new build now, and
    //  every unit runs again, once (had the old build been there, the
    //  new nodes would have been told it was done).
    s_run_build (fx, "again");
    int counts[UNITS] = { 0 };
    for (int n = 0; n < 2; n++) {
        char *ran = e2e_fixture_text (fx, "again-%d.ran", n);
        assert_int_equal (harness_count_runs (ran, fx->names, fx->count, counts), 0);
        free (ran);
    }
    for (int i = 0; i < UNITS; i++)
        assert_int_equal (counts[i], 1);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_daemon_prunes_old_history, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
