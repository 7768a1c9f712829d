/*  test_list_examples.c: listing the examples of test files
    (list_examples.h) and the bounded capture under it
    (runner_capture_bounded in runner.h). The commands are the small
    scripts in tests/fixtures/list/, which print what rspec and pytest
    print.                                                                 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "list_examples.h"
#include "runner.h"
#include "util.h"

//  Generous bounds: a listing that should end at once must end well
//  within them, one that should time out is given SHORT_MS.
#define TIMEOUT_MS 20000
#define SHORT_MS 300

static char s_fixtures[4096];

static int
s_setup (void **state)
{
    if (harness_source_path (s_fixtures, sizeof s_fixtures, "tests/fixtures/list") != 0)
        return -1;
    //  The command strings below put the path in single quotes.
    if (strchr (s_fixtures, '\''))
        return -1;
    return 0;
}

//  After each test, even a failed one: no fixture knob or interruption
//  is left for the next.
static int
s_teardown (void **state)
{
    static const char *knobs[] = { "FAKE_RSPEC_NOISE", "FAKE_RSPEC_BROKEN", "FAKE_RSPEC_NO_ID",
                                   "FAKE_PYTEST_AFTER_BLANK", "LIST_OUTPUT", "LIST_EXIT" };
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        unsetenv (knobs[i]);
    runner_interrupted = 0;
    return 0;
}

//  A command string running fixture name, then rest.
static char *
s_command (const char *name, const char *rest)
{
    return util_format ("'%s/%s'%s%s", s_fixtures, name, *rest ? " " : "", rest);
}

//  ---------------------------------------------------------------------
//  Seeing what goes to stderr: the warning, and the child's own stderr.

typedef struct {
    int saved;                   //  our stderr, put back at the end
    char path[64];               //  the file it went to meanwhile
} s_stderr_t;

static void
s_stderr_begin (s_stderr_t *self)
{
    snprintf (self->path, sizeof self->path, "/tmp/test_list_stderr.XXXXXX");
    int fd = mkstemp (self->path);
    assert_true (fd >= 0);
    fflush (stderr);
    self->saved = dup (STDERR_FILENO);
    assert_true (self->saved >= 0);
    assert_int_equal (dup2 (fd, STDERR_FILENO), STDERR_FILENO);
    close (fd);
}

//  Returns what was written (caller frees).
static char *
s_stderr_end (s_stderr_t *self)
{
    fflush (stderr);
    assert_int_equal (dup2 (self->saved, STDERR_FILENO), STDERR_FILENO);
    close (self->saved);
    FILE *file = fopen (self->path, "r");
    assert_non_null (file);
    char *text = util_calloc (65536, 1);
    size_t got = fread (text, 1, 65535, file);
    text[got] = 0;
    fclose (file);
    unlink (self->path);
    return text;
}

static size_t
s_occurrences (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
        count++;
    return count;
}

//  ---------------------------------------------------------------------
//  Checking a listing against what is expected, naming what differs.

typedef struct {
    size_t file;                 //  index of the file
    const char *ids[16];         //  its ids in order, NULL after the last
} s_expect_t;

static void
s_check_groups (const list_group_t *groups, size_t count, const s_expect_t *expect,
                size_t expect_count)
{
    if (count != expect_count) {
        printf ("  %zu groups, expected %zu:\n", count, expect_count);
        for (size_t g = 0; g < count; g++)
            for (size_t i = 0; i < groups[g].count; i++)
                printf ("    file %zu: %s\n", groups[g].file, groups[g].ids[i]);
    }
    assert_int_equal (count, expect_count);
    for (size_t g = 0; g < count; g++) {
        assert_int_equal (groups[g].file, expect[g].file);
        size_t n = 0;
        while (expect[g].ids[n])
            n++;
        for (size_t i = 0; i < groups[g].count || i < n; i++) {
            const char *got = i < groups[g].count ? groups[g].ids[i] : "(none)";
            const char *want = i < n ? expect[g].ids[i] : "(none)";
            if (strcmp (got, want) != 0)
                printf ("  group %zu id %zu: \"%s\", expected \"%s\"\n", g, i, got, want);
            assert_string_equal (got, want);
        }
    }
}

//  Run a listing that must succeed.
static void
s_list_ok (const char *command, list_preset_t preset, char *const *files, size_t count,
           list_group_t **groups, size_t *group_count)
{
    char why[512] = "";
    int rc = list_examples (command, preset, files, count, TIMEOUT_MS, groups, group_count, why,
                            sizeof why);
    if (rc != 0)
        printf ("  list_examples failed: %s\n", why);
    assert_int_equal (rc, 0);
}

//  Run a listing that must fail; why must hold expect.
static void
s_list_fails (const char *command, list_preset_t preset, char *const *files, size_t count,
              int64_t timeout_ms, const char *expect)
{
    char why[512] = "";
    list_group_t *groups = (list_group_t *) &groups;   //  must be reset
    size_t group_count = 99;
    int rc = list_examples (command, preset, files, count, timeout_ms, &groups, &group_count, why,
                            sizeof why);
    if (rc == 0 || !strstr (why, expect))
        printf ("  rc=%d why=\"%s\", expected it to hold \"%s\"\n", rc, why, expect);
    assert_int_equal (rc, -1);
    assert_non_null (strstr (why, expect));
    assert_null (groups);
    assert_int_equal (group_count, 0);
}

//  ---------------------------------------------------------------------
//  Presets

static void
test_preset_names (void **state)
{
    list_preset_t preset = LIST_PRESET_RSPEC;
    assert_int_equal (list_preset_parse ("rspec", &preset), 0);
    assert_int_equal (preset, LIST_PRESET_RSPEC);
    assert_int_equal (list_preset_parse ("pytest", &preset), 0);
    assert_int_equal (preset, LIST_PRESET_PYTEST);
    assert_int_equal (list_preset_parse ("none", &preset), 0);
    assert_int_equal (preset, LIST_PRESET_NONE);
    preset = LIST_PRESET_RSPEC;
    assert_int_equal (list_preset_parse ("lines", &preset), 0);
    assert_int_equal (preset, LIST_PRESET_NONE);
    assert_int_equal (list_preset_parse ("RSpec", &preset), -1);
    assert_int_equal (list_preset_parse ("", &preset), -1);
    assert_int_equal (list_preset_parse ("jest", &preset), -1);

    //  Names parse back to themselves.
    list_preset_t all[] = { LIST_PRESET_NONE, LIST_PRESET_RSPEC, LIST_PRESET_PYTEST };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal (list_preset_parse (list_preset_name (all[i]), &preset), 0);
        assert_int_equal (preset, all[i]);
    }
    assert_string_equal (list_preset_command (LIST_PRESET_RSPEC),
                         "rspec --dry-run --format json {}");
    assert_string_equal (list_preset_command (LIST_PRESET_PYTEST),
                         "python3 -m pytest --collect-only -q {}");
    assert_null (list_preset_command (LIST_PRESET_NONE));
    //  The presets' own commands pass the check.
    char why[256];
    assert_int_equal (list_command_check (list_preset_command (LIST_PRESET_RSPEC), why, sizeof why),
                      0);
    assert_int_equal (
        list_command_check (list_preset_command (LIST_PRESET_PYTEST), why, sizeof why), 0);
}

//  ---------------------------------------------------------------------
//  Word splitting

typedef struct {
    const char *command;         //  list command
    const char *expect;          //  NULL if accepted, else a part of why
} s_check_t;

static void
test_check_refuses_shell_syntax (void **state)
{
    static const s_check_t cases[] = {
        { "rspec --dry-run {}", NULL },
        { "  rspec\t--dry-run  ", NULL },
        { "rspec 'a|b' \"c;d\" e\\&f \\<g\\> '$HOME' \"\\$HOME\" \\` '(x)'", NULL },
        { "rspec -e 'has \"double\" quotes' \"and 'single'\"", NULL },
        { "rspec a\\\nb", NULL },
        //  Globs, ~ and # mean nothing here and are passed as they are.
        { "rspec spec/*_spec.rb ~/x #c", NULL },
        { "rspec | tee out", "unquoted '|'" },
        { "rspec; echo", "unquoted ';'" },
        { "rspec && echo", "unquoted '&'" },
        { "rspec &", "unquoted '&'" },
        { "rspec > out", "unquoted '>'" },
        { "rspec 2>/dev/null", "unquoted '>'" },
        { "rspec < in", "unquoted '<'" },
        { "rspec $SPEC_OPTS", "unquoted '$'" },
        { "rspec `cat files`", "unquoted '`'" },
        { "(rspec)", "unquoted '('" },
        { "rspec x)", "unquoted ')'" },
        { "rspec\necho", "unquoted newline" },
        { "rspec \"$SPEC_OPTS\"", "inside double quotes, a '$'" },
        { "rspec \"`x`\"", "inside double quotes, a '`'" },
        { "rspec 'open", "' (byte 7) never closed" },
        { "rspec \"open", "\" (byte 7) never closed" },
        { "rspec \"a\\\"", "never closed" },
        { "rspec \\", "lone backslash" },
        { "", "empty" },
        { " \t ", "empty" },
    };
    size_t failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[512] = "";
        int rc = list_command_check (cases[i].command, why, sizeof why);
        bool good = cases[i].expect ? rc == -1 && strstr (why, cases[i].expect) != NULL
                                    : rc == 0;
        if (!good) {
            printf ("  list_command_check (\"%s\") = %d, why \"%s\"; expected %s%s\n",
                    cases[i].command, rc, why, cases[i].expect ? "-1 with " : "0",
                    cases[i].expect ? cases[i].expect : "");
            failed++;
        }
    }
    assert_int_equal (failed, 0);

    //  The message says why, and where.
    char why[512];
    assert_int_equal (list_command_check ("rspec | tee out", why, sizeof why), -1);
    assert_non_null (strstr (why, "without a shell"));
    assert_non_null (strstr (why, "byte 7"));
}

//  The words reach the command as a shell would pass them. The "args"
//  fixture prints "argvN=VALUE" lines, ids of a file named "argv".
static void
test_words_reach_the_command (void **state)
{
    char *files[] = { "argv" };
    char *command = s_command ("args", "'one two' \"three \\\"3\\\" \\\\ \\$x \\` \\n\" "
                                       "four\\ five six\\\\seven '' \"\" {} 'it'\"'\"'s' "
                                       "x\"y\"'z' {}x '{}' "
                                       "spec/*.rb ~ #");
    list_group_t *groups = NULL;
    size_t count = 0;
    s_list_ok (command, LIST_PRESET_NONE, files, 1, &groups, &count);
    const s_expect_t expect[] = {
        { 0,
          { "argv1=one two", "argv2=three \"3\" \\ $x ` \\n", "argv3=four five",
            "argv4=six\\seven", "argv5=", "argv6=", "argv7=argv", "argv8=it's", "argv9=xyz",
            "argv10={}x", "argv11=argv", "argv12=spec/*.rb", "argv13=~", "argv14=#" } },
    };
    s_check_groups (groups, count, expect, 1);
    list_groups_free (groups, count);
    free (command);
}

//  Without {} the files come last, in order; with several {} each gets
//  them all.
static void
test_files_placement (void **state)
{
    char *files[] = { "argv", "spec/z_spec.rb" };
    list_group_t *groups = NULL;
    size_t count = 0;

    char *appended = s_command ("args", "-q");
    s_list_ok (appended, LIST_PRESET_NONE, files, 2, &groups, &count);
    const s_expect_t expect_appended[] = {
        { 0, { "argv1=-q", "argv2=argv", "argv3=spec/z_spec.rb" } },
    };
    s_check_groups (groups, count, expect_appended, 1);
    list_groups_free (groups, count);
    free (appended);

    char *middle = s_command ("args", "a {} b {}");
    s_list_ok (middle, LIST_PRESET_NONE, files, 2, &groups, &count);
    const s_expect_t expect_middle[] = {
        { 0,
          { "argv1=a", "argv2=argv", "argv3=spec/z_spec.rb", "argv4=b", "argv5=argv",
            "argv6=spec/z_spec.rb" } },
    };
    s_check_groups (groups, count, expect_middle, 1);
    list_groups_free (groups, count);
    free (middle);
}

//  ---------------------------------------------------------------------
//  Reading each kind of output

static void
test_rspec_json (void **state)
{
    char *files[] = { "spec/a_spec.rb", "./spec/b_spec.rb", "spec/empty_spec.rb" };
    char *command = s_command ("rspec", "--dry-run --format json {}");
    list_group_t *groups = NULL;
    size_t count = 0;
    s_list_ok (command, LIST_PRESET_RSPEC, files, 3, &groups, &count);
    //  rspec prints "./spec/a_spec.rb[1:1]": put in the form each file was
    //  given; the file without examples gets no group.
    const s_expect_t expect[] = {
        { 0, { "spec/a_spec.rb[1:1]", "spec/a_spec.rb[1:2]", "spec/a_spec.rb[1:3:1]" } },
        { 1, { "./spec/b_spec.rb[1:1]", "./spec/b_spec.rb[1:2]", "./spec/b_spec.rb[1:3:1]" } },
    };
    s_check_groups (groups, count, expect, 2);
    list_groups_free (groups, count);

    //  Coverage tools and puts print around the JSON; it is still found.
    setenv ("FAKE_RSPEC_NOISE", "1", 1);
    s_list_ok (command, LIST_PRESET_RSPEC, files, 3, &groups, &count);
    unsetenv ("FAKE_RSPEC_NOISE");
    s_check_groups (groups, count, expect, 2);
    list_groups_free (groups, count);
    free (command);
}

static void
test_rspec_bad_json (void **state)
{
    char *files[] = { "spec/a_spec.rb" };
    char *command = s_command ("rspec", "--dry-run --format json {}");
    setenv ("FAKE_RSPEC_BROKEN", "1", 1);
    s_list_fails (command, LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "cannot read rspec's JSON");
    unsetenv ("FAKE_RSPEC_BROKEN");

    setenv ("FAKE_RSPEC_NO_ID", "1", 1);
    s_list_fails (command, LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "no string \"id\"");
    unsetenv ("FAKE_RSPEC_NO_ID");
    free (command);

    //  Plain lines are no JSON.
    char *lines = s_command ("lines", "");
    s_list_fails (lines, LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "no JSON");
    setenv ("LIST_OUTPUT", "{\"examples\": 3}", 1);
    s_list_fails (lines, LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "no \"examples\" array");
    setenv ("LIST_OUTPUT", "[{\"id\": \"spec/a_spec.rb[1:1]\"}]", 1);
    s_list_fails (lines, LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "no JSON");
    unsetenv ("LIST_OUTPUT");
    free (lines);
}

static void
test_pytest_collect (void **state)
{
    char *files[] = { "tests/test_a.py", "./tests/test_b.py", "tests/test_empty.py" };
    char *command = s_command ("pytest", "--collect-only -q {}");
    list_group_t *groups = NULL;
    size_t count = 0;
    //  A line after the first blank one is summary, however it looks.
    setenv ("FAKE_PYTEST_AFTER_BLANK", "tests/test_a.py::test_after_blank", 1);
    s_list_ok (command, LIST_PRESET_PYTEST, files, 3, &groups, &count);
    unsetenv ("FAKE_PYTEST_AFTER_BLANK");
    const s_expect_t expect[] = {
        { 0,
          { "tests/test_a.py::test_one", "tests/test_a.py::TestWidget::test_two",
            "tests/test_a.py::test_param[a-b]", "tests/test_a.py::test_param[c d]" } },
        { 1,
          { "./tests/test_b.py::test_one", "./tests/test_b.py::TestWidget::test_two",
            "./tests/test_b.py::test_param[a-b]", "./tests/test_b.py::test_param[c d]" } },
    };
    s_check_groups (groups, count, expect, 2);
    list_groups_free (groups, count);
    free (command);

    //  Lines without "::" before the blank line are not ids; CRLF is read.
    char *lines = s_command ("lines", "");
    setenv ("LIST_OUTPUT",
            "tests/test_a.py::test_x\r\n"
            "collected from tests/test_a.py\r\n"
            "tests/test_a.py::test_y\r\n"
            "\r\n"
            "tests/test_a.py::test_z\n",
            1);
    s_list_ok (lines, LIST_PRESET_PYTEST, files, 3, &groups, &count);
    unsetenv ("LIST_OUTPUT");
    const s_expect_t expect_crlf[] = {
        { 0, { "tests/test_a.py::test_x", "tests/test_a.py::test_y" } },
    };
    s_check_groups (groups, count, expect_crlf, 1);
    list_groups_free (groups, count);
    free (lines);
}

//  The plain lister with no output override: "FILE:10", "FILE:20".
static void
test_lines_default (void **state)
{
    char *files[] = { "spec/a_spec.rb", "./spec/b_spec.rb" };
    char *command = s_command ("lines", "{}");
    list_group_t *groups = NULL;
    size_t count = 0;
    s_list_ok (command, LIST_PRESET_NONE, files, 2, &groups, &count);
    const s_expect_t expect[] = {
        { 0, { "spec/a_spec.rb:10", "spec/a_spec.rb:20" } },
        { 1, { "./spec/b_spec.rb:10", "./spec/b_spec.rb:20" } },
    };
    s_check_groups (groups, count, expect, 2);
    list_groups_free (groups, count);
    free (command);
}

//  ---------------------------------------------------------------------
//  Grouping

static void
test_grouping (void **state)
{
    char *files[] = { "spec/a_spec.rb", "./spec/b_spec.rb", "spec/a_spec.rb_extra",
                      "spec/c_spec.rb" };
    char *command = s_command ("lines", "");
    setenv ("LIST_OUTPUT",
            "./spec/a_spec.rb:10\n"          //  "./" forgiven, dropped
            "spec/a_spec.rb:20\n"
            "spec/b_spec.rb[1:1]\n"          //  "./" forgiven, added
            "./spec/b_spec.rb[1:2]\n"
            "spec/a_spec.rb_extra:5\n"       //  the longest file wins
            "spec/a_spec.rb:10\n"            //  repeats, in either form
            "./spec/b_spec.rb[1:1]\n"
            "spec/b_spec.rb[1:2]\n"
            "spec/a_spec.rb\n"               //  files themselves: left out
            "./spec/c_spec.rb\n"
            "./spec/a_spec.rb_extra\n"
            "lib/other.rb:3\n"               //  no file of ours: left out
            "spec/a_spec\n"
            "\n"
            "   \n"
            "spec/a_spec.rb:30\r\n"
            "spec/a_spec.rb:40",             //  no final newline
            1);
    list_group_t *groups = NULL;
    size_t count = 0;
    s_stderr_t err;
    s_stderr_begin (&err);
    char why[512] = "";
    int rc = list_examples (command, LIST_PRESET_NONE, files, 4, TIMEOUT_MS, &groups, &count, why,
                            sizeof why);
    char *said = s_stderr_end (&err);
    unsetenv ("LIST_OUTPUT");
    if (rc != 0)
        printf ("  %s\n", why);
    assert_int_equal (rc, 0);
    const s_expect_t expect[] = {
        { 0,
          { "spec/a_spec.rb:10", "spec/a_spec.rb:20", "spec/a_spec.rb:30",
            "spec/a_spec.rb:40" } },
        { 1, { "./spec/b_spec.rb[1:1]", "./spec/b_spec.rb[1:2]" } },
        { 2, { "spec/a_spec.rb_extra:5" } },
    };
    s_check_groups (groups, count, expect, 3);
    list_groups_free (groups, count);

    //  One warning for the five left out, naming the first.
    assert_int_equal (s_occurrences (said, "warning"), 1);
    assert_non_null (strstr (said, "5 ids"));
    assert_non_null (strstr (said, "spec/a_spec.rb;"));
    assert_non_null (strstr (said, "left out"));
    free (said);
    free (command);
}

//  Nothing printed, or nothing of ours: success with no groups.
static void
test_no_examples (void **state)
{
    char *files[] = { "spec/a_spec.rb" };
    char *command = s_command ("lines", "");
    list_group_t *groups = (list_group_t *) &groups;
    size_t count = 99;
    setenv ("LIST_OUTPUT", "", 1);
    s_list_ok (command, LIST_PRESET_NONE, files, 1, &groups, &count);
    assert_null (groups);
    assert_int_equal (count, 0);

    setenv ("LIST_OUTPUT", "other/x.rb:1\n", 1);
    s_stderr_t err;
    s_stderr_begin (&err);
    s_list_ok (command, LIST_PRESET_NONE, files, 1, &groups, &count);
    char *said = s_stderr_end (&err);
    unsetenv ("LIST_OUTPUT");
    assert_null (groups);
    assert_int_equal (count, 0);
    assert_non_null (strstr (said, "1 id that starts with none"));
    free (said);

    //  No files: nothing is run (the command would fail if it were).
    setenv ("LIST_EXIT", "1", 1);
    groups = (list_group_t *) &groups;
    count = 99;
    s_list_ok (command, LIST_PRESET_NONE, files, 0, &groups, &count);
    unsetenv ("LIST_EXIT");
    assert_null (groups);
    assert_int_equal (count, 0);
    free (command);
}

//  Output that is no list of ids fails the listing rather than losing
//  examples.
static void
test_bad_ids (void **state)
{
    char *files[] = { "spec/a_spec.rb", "" };
    char *command = s_command ("lines", "");

    size_t long_size = 5000;
    char *long_line = util_malloc (long_size + 1);
    memset (long_line, 'x', long_size);
    memcpy (long_line, "spec/a_spec.rb:", 15);
    long_line[long_size] = 0;
    setenv ("LIST_OUTPUT", long_line, 1);
    s_list_fails (command, LIST_PRESET_NONE, files, 1, TIMEOUT_MS, "of 5000 bytes (at most 4096)");
    //  4096 is fine.
    long_line[4096] = 0;
    setenv ("LIST_OUTPUT", long_line, 1);
    list_group_t *groups = NULL;
    size_t count = 0;
    s_list_ok (command, LIST_PRESET_NONE, files, 1, &groups, &count);
    assert_int_equal (count, 1);
    assert_int_equal (strlen (groups[0].ids[0]), 4096);
    list_groups_free (groups, count);
    free (long_line);

    setenv ("LIST_OUTPUT", "spec/a_spec.rb:1\rspec/a_spec.rb:2\n", 1);
    s_list_fails (command, LIST_PRESET_NONE, files, 1, TIMEOUT_MS, "CR byte");
    unsetenv ("LIST_OUTPUT");

    //  A NUL cannot go through the environment: printf makes it (%.0s
    //  takes the file appended).
    s_list_fails ("printf 'spec/a_spec.rb:1\\000x\\n%.0s'", LIST_PRESET_NONE, files, 1,
                  TIMEOUT_MS, "NUL byte");

    //  An empty file name would hold every id.
    s_list_fails (command, LIST_PRESET_NONE, files, 2, TIMEOUT_MS, "file 2 to list");
    char *dot[] = { "./" };
    s_list_fails (command, LIST_PRESET_NONE, dot, 1, TIMEOUT_MS, "file 1 to list");
    free (command);
}

//  ---------------------------------------------------------------------
//  The command going wrong

static void
test_command_fails (void **state)
{
    char *files[] = { "spec/a_spec.rb" };
    char *command = s_command ("lines", "");
    setenv ("LIST_EXIT", "3", 1);
    s_list_fails (command, LIST_PRESET_NONE, files, 1, TIMEOUT_MS, "exited 3");
    unsetenv ("LIST_EXIT");
    free (command);

    s_list_fails ("satchel-no-such-lister --list", LIST_PRESET_NONE, files, 1, TIMEOUT_MS,
                  "command not found: satchel-no-such-lister");
    s_list_fails ("./satchel-no-such-lister", LIST_PRESET_NONE, files, 1, TIMEOUT_MS,
                  "command not found: ./satchel-no-such-lister");
    //  No command and no preset; a command refused by the check.
    s_list_fails (NULL, LIST_PRESET_NONE, files, 1, TIMEOUT_MS, "no list command");
    s_list_fails ("rspec | cat", LIST_PRESET_RSPEC, files, 1, TIMEOUT_MS, "unquoted '|'");
    //  Killed by a signal.
    s_list_fails ("sh -c 'kill -9 $$'", LIST_PRESET_NONE, files, 1, TIMEOUT_MS,
                  "killed by signal 9");
}

static void
test_timeout (void **state)
{
    char *files[] = { "spec/a_spec.rb" };
    char *command = s_command ("slow", "");
    int64_t start = util_mono_ms ();
    s_list_fails (command, LIST_PRESET_NONE, files, 1, SHORT_MS, "timed out after 0.3 s");
    int64_t took = util_mono_ms () - start;
    assert_true (took >= SHORT_MS);
    assert_true (took < 5000);
    free (command);
}

//  ---------------------------------------------------------------------
//  runner_capture_bounded and runner_capture

static void
test_capture_limit (void **state)
{
    char *ten[] = { "printf", "0123456789", NULL };
    char *output = NULL;
    size_t size = 0;
    char why[256] = "";
    assert_int_equal (runner_capture_bounded (ten, 10, TIMEOUT_MS, &output, &size, why, sizeof why),
                      0);
    assert_int_equal (size, 10);
    assert_string_equal (output, "0123456789");
    free (output);
    output = NULL;
    assert_int_equal (runner_capture_bounded (ten, 9, TIMEOUT_MS, &output, &size, why, sizeof why),
                      -1);
    assert_null (output);
    assert_string_equal (why, "printf printed more than 9 bytes");

    //  A command that never stops printing is killed, not waited for.
    char *yes[] = { "yes", "spec/a_spec.rb:1", NULL };
    int64_t start = util_mono_ms ();
    assert_int_equal (
        runner_capture_bounded (yes, 100000, TIMEOUT_MS, &output, &size, why, sizeof why), -1);
    assert_true (util_mono_ms () - start < 5000);
    assert_string_equal (why, "yes printed more than 100000 bytes");

    //  Large output arrives whole (several reads, buffer growth).
    char *big[] = { "head", "-c", "3000000", "/dev/zero", NULL };
    assert_int_equal (
        runner_capture_bounded (big, 3000000, TIMEOUT_MS, &output, &size, why, sizeof why), 0);
    assert_int_equal (size, 3000000);
    assert_int_equal (output[size], 0);
    free (output);

    //  Nothing printed: an empty string.
    char *quiet[] = { "true", NULL };
    assert_int_equal (
        runner_capture_bounded (quiet, 10, TIMEOUT_MS, &output, &size, why, sizeof why), 0);
    assert_int_equal (size, 0);
    assert_string_equal (output, "");
    free (output);
}

static void
test_capture_ends (void **state)
{
    char *output = NULL;
    size_t size = 0;
    char why[256] = "";

    char *sleeper[] = { "sleep", "30", NULL };
    int64_t start = util_mono_ms ();
    assert_int_equal (
        runner_capture_bounded (sleeper, 100, SHORT_MS, &output, &size, why, sizeof why), -1);
    int64_t took = util_mono_ms () - start;
    assert_true (took >= SHORT_MS && took < 5000);
    assert_string_equal (why, "sleep timed out after 0.3 s");

    //  A child that leaves its own child holding the pipe: what it printed
    //  is read, and the grandchild is not waited for.
    char *leaver[] = { "sh", "-c", "echo hi; sleep 5 2>/dev/null & echo bye", NULL };
    start = util_mono_ms ();
    assert_int_equal (
        runner_capture_bounded (leaver, 100, TIMEOUT_MS, &output, &size, why, sizeof why), 0);
    assert_true (util_mono_ms () - start < 3000);
    assert_string_equal (output, "hi\nbye\n");
    free (output);

    char *failing[] = { "sh", "-c", "echo partial; exit 4", NULL };
    output = NULL;
    assert_int_equal (
        runner_capture_bounded (failing, 100, TIMEOUT_MS, &output, &size, why, sizeof why), -1);
    assert_null (output);
    assert_string_equal (why, "sh exited 4");

    char *missing[] = { "satchel-no-such-command", NULL };
    assert_int_equal (
        runner_capture_bounded (missing, 100, TIMEOUT_MS, &output, &size, why, sizeof why), -1);
    assert_string_equal (why, "command not found: satchel-no-such-command");

    //  A SIGINT/SIGTERM seen by the agent stops the command at once.
    runner_interrupted = SIGTERM;
    start = util_mono_ms ();
    assert_int_equal (
        runner_capture_bounded (sleeper, 100, TIMEOUT_MS, &output, &size, why, sizeof why), -1);
    runner_interrupted = 0;
    assert_true (util_mono_ms () - start < 5000);
    assert_non_null (strstr (why, "interrupted by signal"));
}

//  runner_capture_bounded passes the child's stderr through; runner_capture
//  (for git) discards it and strips trailing newlines.
static void
test_capture_stderr (void **state)
{
    char *both[] = { "sh", "-c", "echo out; echo to-stderr-bounded >&2", NULL };
    char *output = NULL;
    size_t size = 0;
    char why[256] = "";
    s_stderr_t err;
    s_stderr_begin (&err);
    int rc = runner_capture_bounded (both, 100, TIMEOUT_MS, &output, &size, why, sizeof why);
    char *said = s_stderr_end (&err);
    assert_int_equal (rc, 0);
    assert_string_equal (output, "out\n");
    assert_non_null (strstr (said, "to-stderr-bounded"));
    free (said);
    free (output);

    char *quiet[] = { "sh", "-c", "printf 'out\\n\\r\\n'; echo to-stderr-plain >&2", NULL };
    s_stderr_begin (&err);
    rc = runner_capture (quiet, &output);
    said = s_stderr_end (&err);
    assert_int_equal (rc, 0);
    assert_string_equal (output, "out");
    assert_null (strstr (said, "to-stderr-plain"));
    free (said);
    free (output);

    char *failing[] = { "false", NULL };
    output = NULL;
    assert_int_equal (runner_capture (failing, &output), -1);
    assert_null (output);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_preset_names, s_teardown),
        cmocka_unit_test_teardown (test_check_refuses_shell_syntax, s_teardown),
        cmocka_unit_test_teardown (test_words_reach_the_command, s_teardown),
        cmocka_unit_test_teardown (test_files_placement, s_teardown),
        cmocka_unit_test_teardown (test_rspec_json, s_teardown),
        cmocka_unit_test_teardown (test_rspec_bad_json, s_teardown),
        cmocka_unit_test_teardown (test_pytest_collect, s_teardown),
        cmocka_unit_test_teardown (test_lines_default, s_teardown),
        cmocka_unit_test_teardown (test_grouping, s_teardown),
        cmocka_unit_test_teardown (test_no_examples, s_teardown),
        cmocka_unit_test_teardown (test_bad_ids, s_teardown),
        cmocka_unit_test_teardown (test_command_fails, s_teardown),
        cmocka_unit_test_teardown (test_timeout, s_teardown),
        cmocka_unit_test_teardown (test_capture_limit, s_teardown),
        cmocka_unit_test_teardown (test_capture_ends, s_teardown),
        cmocka_unit_test_teardown (test_capture_stderr, s_teardown),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
