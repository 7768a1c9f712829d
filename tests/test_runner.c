/*  test_runner.c: how a batch's units become the runner's arguments.

    The runner is exec'd with an argv, never through a shell, so a unit
    name reaches it byte for byte; the one thing runner_argv changes is a
    leading '-', which gets "./" in front so that no runner reads the unit
    as an option. (test_e2e_names runs such names end to end.)          */
#include "runner.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  argv as one line, arguments between '|', for a whole-array compare.
static void
s_join (char **argv, char *out, size_t size)
{
    out[0] = 0;
    for (size_t i = 0; argv[i]; i++) {
        strncat (out, "|", size - strlen (out) - 1);
        strncat (out, argv[i], size - strlen (out) - 1);
    }
}

static void
test_units_appended_or_in_place (void **state)
{
    char *command[] = { "rspec", "--format", "progress" };
    char *units[] = { "a_spec.rb", "b c_spec.rb" };
    char line[256];
    char **argv = runner_argv (command, 3, units, 2);
    s_join (argv, line, sizeof line);
    assert_string_equal (line, "|rspec|--format|progress|a_spec.rb|b c_spec.rb");
    free (argv);
    //  "{}" takes the units where it stands, every time it stands.
    char *placed[] = { "run", "{}", "--after", "{}" };
    argv = runner_argv (placed, 4, units, 2);
    s_join (argv, line, sizeof line);
    assert_string_equal (line, "|run|a_spec.rb|b c_spec.rb|--after|a_spec.rb|b c_spec.rb");
    free (argv);
    //  No units: the command alone.
    argv = runner_argv (placed, 4, NULL, 0);
    s_join (argv, line, sizeof line);
    assert_string_equal (line, "|run|--after");
    free (argv);
}

static void
test_leading_dash_gets_dot_slash (void **state)
{
    char *command[] = { "pytest", "-q", "{}" };
    char *units[] = { "-rf.py", "tests/-x.py", "--help", "-", "ok.py" };
    char line[256];
    char **argv = runner_argv (command, 3, units, 5);
    s_join (argv, line, sizeof line);
    //  Only the units change, and only those that start with '-'; the
    //  command's own options stay as they are.
    assert_string_equal (line, "|pytest|-q|./-rf.py|tests/-x.py|./--help|./-|ok.py");
    //  The units themselves are untouched.
    assert_string_equal (units[0], "-rf.py");
    free (argv);
    //  Appended units too, many of them (the copies share the array's block).
    enum { MANY = 300 };
    char *many[MANY];
    char names[MANY][16];
    for (int i = 0; i < MANY; i++) {
        snprintf (names[i], sizeof names[i], "%s%d", i % 2 ? "-" : "", i);
        many[i] = names[i];
    }
    argv = runner_argv (command, 2, many, MANY);
    for (int i = 0; i < MANY; i++) {
        char expected[20];
        snprintf (expected, sizeof expected, "%s%d", i % 2 ? "./-" : "", i);
        assert_string_equal (argv[2 + i], expected);
    }
    assert_null (argv[2 + MANY]);
    free (argv);
}

//  Bytes a shell would act on are just bytes in an argv.
static void
test_names_are_bytes (void **state)
{
    char *command[] = { "t" };
    char *units[] = { "a;rm -rf x", "$(touch y)", "`z`", "q\"uo'te", "new\nline", "\xff\xfe" };
    char **argv = runner_argv (command, 1, units, 6);
    for (int i = 0; i < 6; i++)
        assert_ptr_equal (argv[1 + i], units[i]);
    free (argv);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_units_appended_or_in_place),
        cmocka_unit_test (test_leading_dash_gets_dot_slash),
        cmocka_unit_test (test_names_are_bytes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
