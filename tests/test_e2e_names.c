/*  test_e2e_names.c: unit names that a shell would act on, end to end.

    Test files named with spaces, quotes, '$(...)', backticks, ';', glob
    characters, a newline, bytes that are not UTF-8, and a leading '-' are
    found by a real `satchel run`, split by a real satcheld on a loopback
    port, and run by a strict runner (tests/fixtures/strict_runner.sh)
    that exits non-zero for any argument it would take for an option or
    that is no existing file. Proves each name reaches the runner byte
    for byte (a leading '-' as "./-..."), runs exactly once, is in the
    history under its own name, and that nothing was run by a shell (the
    "$(touch ...)" name creates no file). Queue mode over two nodes, and
    the fallback split with no daemon.                                   */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEADLINE_MS 90000

//  The test files, relative to the suite folder, and what the runner gets.
static const struct { const char *name; const char *arg; } s_names[] = {
    { "-dash_test.txt", "./-dash_test.txt" },
    { "--help_test.txt", "./--help_test.txt" },
    { "t/with space_test.txt", NULL },
    { "t/quote\"double'single_test.txt", NULL },
    { "t/$(touch PWNED)_test.txt", NULL },
    { "t/back`touch PWNED`tick_test.txt", NULL },
    { "t/semi;colon&amp|pipe_test.txt", NULL },
    { "t/glob*star?[ab]_test.txt", NULL },
    { "t/new\nline_test.txt", NULL },
    { "t/latin1 \xe9t\xe9_test.txt", NULL },
    { "t/-inner_test.txt", NULL },
};
#define NAMES (sizeof s_names / sizeof s_names[0])

//  The agents' tags, by node index: their files are <tag>.err, <tag>.ran.
static const char *const s_tag[] = { "agent0", "agent1" };

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    for (size_t i = 0; i < NAMES; i++)
        e2e_fixture_unit (fx, s_names[i].name, "a test\n");
    return 0;
}

//  Run the build on two nodes against coordinator (NULL: the fixture's
//  satcheld); each must exit 0.
static void
s_build (e2e_fixture_t *fx, const char *coordinator)
{
    char *runner = harness_source ("tests/fixtures/strict_runner.sh");
    const char *const command[] = { "/bin/sh", runner, NULL };
    for (int n = 0; n < 2; n++) {
        e2e_agent_t agent = { .tag = s_tag[n], .coordinator = coordinator, .suite = "names",
                              .build = "names-1", .index = n, .total = 2,
                              .pattern = "**/*_test.txt", .timeout = "1", .command = command };
        e2e_fixture_agent (fx, &agent);
    }
    for (int n = 0; n < 2; n++)
        e2e_fixture_expect_exit (fx, s_tag[n], 0);
    free (runner);
}

//  The arguments the runner got on nodes [0, nodes), NUL-separated logs
//  put together: each expected argument exactly once, nothing else.
static void
s_expect_ran (const e2e_fixture_t *fx, int nodes)
{
    size_t seen[NAMES] = { 0 };
    size_t total = 0;
    for (int n = 0; n < nodes; n++) {
        char *path = e2e_fixture_path (fx, "%s.ran", s_tag[n]);
        FILE *file = fopen (path, "rb");
        free (path);
        if (!file)
            continue;       //  a node may have had no tests
        char arg[4096];
        size_t used = 0;
        int c;
        while ((c = fgetc (file)) != EOF) {
            assert_true (used < sizeof arg);
            arg[used++] = (char) c;
            if (c != 0)
                continue;
            total++;
            size_t i = 0;
            while (i < NAMES && strcmp (arg, s_names[i].arg ? s_names[i].arg
                                                            : s_names[i].name) != 0)
                i++;
            if (i == NAMES)
                fail_msg ("the runner got an argument no test has: \"%s\"", arg);
            seen[i]++;
            used = 0;
        }
        fclose (file);
    }
    for (size_t i = 0; i < NAMES; i++)
        if (seen[i] != 1)
            fail_msg ("\"%s\" ran %zu times", s_names[i].name, seen[i]);
    assert_int_equal (total, NAMES);
    //  No shell ever saw a name.
    char *pwned = e2e_fixture_path (fx, "suite/PWNED");
    assert_int_not_equal (access (pwned, F_OK), 0);
    free (pwned);
}

static void
test_names_reach_the_runner (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    s_build (fx, NULL);
    s_expect_ran (fx, 2);
    //  satcheld keeps each name as it is: every one has its history.
    assert_int_equal (e2e_fixture_int (fx, "SELECT result = 'passed' FROM builds"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), (int64_t) NAMES);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"
                                           " WHERE name = '-dash_test.txt'"
                                           " OR name = 't/new' || char (10) || 'line_test.txt'"
                                           " OR name = CAST (x'742f6c6174696e3120e974e95f"
                                           "746573742e747874' AS TEXT)"), 3);
}

//  No daemon: the split by name runs the same names the same way.
static void
test_names_in_fallback (void **state)
{
    e2e_fixture_t *fx = *state;
    s_build (fx, e2e_fixture_dead_endpoint (fx));
    s_expect_ran (fx, 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_names_reach_the_runner, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_names_in_fallback, s_setup, e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
