/*  test_e2e_valgrind.c: the first issue's end-to-end build with satcheld
    and every agent under valgrind memcheck (issue 6).

    A real satcheld and three real `satchel run` processes, each run as
    `valgrind --error-exitcode=99 ...` (tests/harness.c: harness_wrap), do
    a queue build of a small suite. Any invalid read or write, use of
    uninitialised memory, or memory definitely lost at exit makes that
    process exit 99 instead of 0, so the exits prove it clean; the logs
    are kept in the test folder for a person. Registered only where
    valgrind is installed and the build is not under the sanitizers
    (they cannot run together).                                           */
#include "e2e_fixture.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { UNITS = 18, NODES = 3 };

static void
test_build_under_valgrind (void **state)
{
    e2e_fixture_t *fx = *state;
    //  Under valgrind everything is tens of times slower.
    fx->deadline_ms = 240000;
    char log_file[1100];
    snprintf (log_file, sizeof log_file, "--log-file=%s/valgrind-%%p.log", fx->dir);
    const char *valgrind[] = {
        VALGRIND, "-q", "--error-exitcode=99", "--leak-check=full",
        "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
        "--track-origins=yes", log_file, NULL
    };
    harness_wrap (valgrind);
    for (int i = 0; i < UNITS; i++) {
        char name[64], body[16];
        snprintf (name, sizeof name, "tests/part_%d/unit_%02d_test.txt", i % 3, i);
        snprintf (body, sizeof body, "ms=%d\n", 5 + (i * 7) % 30);
        e2e_fixture_unit (fx, name, body);
    }
    e2e_fixture_daemon (fx, NULL);
    char tags[NODES][16];
    for (int n = 0; n < NODES; n++) {
        snprintf (tags[n], sizeof tags[n], "vg-n%d", n);
        e2e_agent_t agent = { .tag = tags[n], .suite = "valgrind", .build = "vg-1", .index = n,
                              .total = NODES, .pattern = "tests/**/*_test.txt",
                              .timeout = "30" };
        e2e_fixture_agent (fx, &agent);
    }
    //  0, not 99: no memory error and nothing definitely lost in any agent.
    for (int n = 0; n < NODES; n++)
        e2e_fixture_expect_exit (fx, tags[n], 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed'"
                                           " FROM builds WHERE build_key = 'vg-1'"), 1);
    int runs = 0;
    for (int n = 0; n < NODES; n++) {
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[n]);
        runs += harness_count (ran, "\n");
        free (ran);
    }
    assert_int_equal (runs, UNITS);
    //  satcheld stopped by SIGTERM exits 0, not 99: the same for the daemon.
    e2e_fixture_pass (fx);
    harness_wrap (NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_build_under_valgrind, e2e_fixture_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
