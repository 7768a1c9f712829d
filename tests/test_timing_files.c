/*  test_timing_files.c: unit tests for reading other tools' timing files
    (timing_files.h): one small fixture per real format
    (tests/fixtures/timings/), a bad file of each format that must fail
    with a clear reason and return nothing, detection, the per-entry rules,
    and every file of the project's shared timing data, checked against the
    counts and totals in its README.                                       */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "timing_files.h"
#include "util.h"

//  The shared data set; SATCHEL_DATA_DIR overrides it.
#define S_DATA_DIR "/work/shared/data"

static char s_tmp_dir[] = "/tmp/satchel_timing_XXXXXX";

static int
s_setup (void **state)
{
    return mkdtemp (s_tmp_dir) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    DIR *dir = opendir (s_tmp_dir);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            char *path = util_format ("%s/%s", s_tmp_dir, entry->d_name);
            unlink (path);
            free (path);
        }
        closedir (dir);
    }
    rmdir (s_tmp_dir);
    return 0;
}

//  Path of a fixture (caller frees).
static char *
s_fixture (const char *name)
{
    const char *source = getenv ("SATCHEL_SOURCE_DIR");
    if (!source) {
        fail_msg ("SATCHEL_SOURCE_DIR is not set (run the test through ctest)");
        return NULL;        //  not reached; says so to the compiler
    }
    return util_format ("%s/tests/fixtures/timings/%s", source, name);
}

//  Write size bytes to a file in the temporary folder; returns its path
//  (caller frees).
static char *
s_write (const char *name, const char *data, size_t size)
{
    char *path = util_format ("%s/%s", s_tmp_dir, name);
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    assert_int_equal (fwrite (data, 1, size, file), size);
    assert_int_equal (fclose (file), 0);
    return path;
}

static char *
s_write_text (const char *name, const char *text)
{
    return s_write (name, text, strlen (text));
}

//  Read path, which must succeed as expect_format; returns the entries.
static timing_entry_t *
s_read_ok (const char *path, timing_format_t format, timing_format_t expect_format,
           size_t *count)
{
    timing_entry_t *entries = NULL;
    timing_format_t detected = TIMING_AUTO;
    char why[512] = "";
    if (timing_file_read (path, format, &entries, count, &detected, why, sizeof why) != 0)
        fail_msg ("reading %s as %s failed: %s", path, timing_format_name (format), why);
    assert_non_null (entries);
    assert_string_equal (timing_format_name (detected), timing_format_name (expect_format));
    return entries;
}

//  Reading path must fail, leave nothing, and say expect; the reason must
//  name the file.
static void
s_read_bad (const char *path, timing_format_t format, const char *expect)
{
    timing_entry_t *entries = (timing_entry_t *) 1;
    size_t count = 99;
    timing_format_t detected = TIMING_JUNIT;
    char why[512] = "";
    int rc = timing_file_read (path, format, &entries, &count, &detected, why, sizeof why);
    if (rc == 0)
        fail_msg ("%s as %s: accepted, expected \"%s\"", path, timing_format_name (format),
                  expect);
    assert_int_equal (rc, -1);
    assert_null (entries);
    assert_int_equal (count, 0);
    assert_int_equal (detected, TIMING_JUNIT);     //  untouched
    if (!strstr (why, path) || !strstr (why, expect))
        fail_msg ("%s as %s: why \"%s\", expected \"%s\"", path, timing_format_name (format),
                  why, expect);
}

static void
s_expect_entry (const timing_entry_t *entries, size_t count, size_t index, const char *name,
                double seconds)
{
    assert_true (index < count);
    assert_string_equal (entries[index].name, name);
    if (fabs (entries[index].seconds - seconds) > 1e-9)
        fail_msg ("%s: %.17g seconds, expected %.17g", name, entries[index].seconds, seconds);
}

static void
test_format_names (void **state)
{
    static const char *names[] = {
        "auto", "knapsack", "pytest-split", "parallel-tests", "junit", "dataset"
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        timing_format_t format = (timing_format_t) 99;
        assert_int_equal (timing_format_parse (names[i], &format), 0);
        assert_int_equal (format, (timing_format_t) i);
        assert_string_equal (timing_format_name (format), names[i]);
    }
    timing_format_t format = TIMING_JUNIT;
    assert_int_equal (timing_format_parse ("xml", &format), -1);
    assert_int_equal (timing_format_parse ("", &format), -1);
    assert_int_equal (timing_format_parse ("Knapsack", &format), -1);
    assert_int_equal (timing_format_parse (NULL, &format), -1);
    assert_int_equal (format, TIMING_JUNIT);
    assert_string_equal (timing_format_name ((timing_format_t) 99), "unknown");
}

static void
test_knapsack (void **state)
{
    char *path = s_fixture ("knapsack_rspec_report.json");
    timing_format_t formats[] = { TIMING_AUTO, TIMING_KNAPSACK };
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_KNAPSACK, &count);
        assert_int_equal (count, 4);
        s_expect_entry (entries, count, 0, "spec/controllers/users_controller_spec.rb",
                        12.503818);
        s_expect_entry (entries, count, 1, "spec/models/user_spec.rb", 3.25);
        s_expect_entry (entries, count, 2, "spec/features/sign_in_spec.rb", 41.0962571);
        s_expect_entry (entries, count, 3, "spec/lib/tasks/cleanup_spec.rb", 0.004913);
        timing_entries_free (entries, count);
    }
    free (path);
}

static void
test_pytest_split (void **state)
{
    char *path = s_fixture ("test_durations");
    timing_format_t formats[] = { TIMING_AUTO, TIMING_PYTEST_SPLIT };
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_PYTEST_SPLIT, &count);
        assert_int_equal (count, 4);
        s_expect_entry (entries, count, 0, "tests/api/test_users.py::TestUsers::test_create",
                        0.4211);
        s_expect_entry (entries, count, 1,
                        "tests/api/test_users.py::TestUsers::test_delete[admin]", 0.125);
        s_expect_entry (entries, count, 2, "tests/api/test_users.py::test_list", 1.5);
        s_expect_entry (entries, count, 3, "tests/test_models.py::test_model_save", 0.00275);
        timing_entries_free (entries, count);
    }
    free (path);

    //  The older form: a list of [node id, seconds] pairs.
    path = s_fixture ("test_durations_list");
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_PYTEST_SPLIT, &count);
        assert_int_equal (count, 3);
        s_expect_entry (entries, count, 0, "tests/test_a.py::test_one", 0.5);
        s_expect_entry (entries, count, 1, "tests/test_a.py::test_two", 1.25);
        s_expect_entry (entries, count, 2, "tests/sub/test_b.py::TestB::test_three", 3);
        timing_entries_free (entries, count);
    }
    free (path);
}

static void
test_parallel_tests (void **state)
{
    char *path = s_fixture ("parallel_runtime_rspec.log");
    timing_format_t formats[] = { TIMING_AUTO, TIMING_PARALLEL_TESTS };
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_PARALLEL_TESTS, &count);
        assert_int_equal (count, 4);
        s_expect_entry (entries, count, 0, "spec/models/user_spec.rb", 3.2159);
        s_expect_entry (entries, count, 1, "spec/features/sign_in_spec.rb", 41.09);
        s_expect_entry (entries, count, 2, "spec/lib/tasks/cleanup_spec.rb", 0.004913);
        s_expect_entry (entries, count, 3, "spec/requests/api_spec.rb", 0);
        timing_entries_free (entries, count);
    }
    free (path);
}

static void
test_junit (void **state)
{
    char *path = s_fixture ("rspec.xml");
    timing_format_t formats[] = { TIMING_AUTO, TIMING_JUNIT };
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_JUNIT, &count);
        //  Cases summed per file, "./" dropped; the skipped case without a
        //  time counts 0.
        assert_int_equal (count, 3);
        s_expect_entry (entries, count, 0, "spec/models/user_spec.rb", 0.75);
        s_expect_entry (entries, count, 1, "spec/features/sign_in_spec.rb", 6.0);
        s_expect_entry (entries, count, 2, "spec/lib/cleanup_spec.rb", 0.5);
        timing_entries_free (entries, count);
    }
    free (path);
}

static void
test_dataset (void **state)
{
    char *path = s_fixture ("dataset.json");
    timing_format_t formats[] = { TIMING_AUTO, TIMING_DATASET };
    for (size_t f = 0; f < 2; f++) {
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_DATASET, &count);
        assert_int_equal (count, 3);
        s_expect_entry (entries, count, 0, "spec/a_spec.rb", 1.5);
        s_expect_entry (entries, count, 1, "spec/b_spec.rb", 2.5);
        s_expect_entry (entries, count, 2, "spec/c_spec.rb", 0.125);
        timing_entries_free (entries, count);
    }
    free (path);
}

typedef struct {
    const char *file;           //  fixture
    timing_format_t format;     //  format asked for
    const char *expect;         //  what the reason must say
} s_bad_t;

static void
test_bad_fixtures (void **state)
{
    static const s_bad_t rows[] = {
        { "bad_knapsack_string.json", TIMING_AUTO,
          "(knapsack): the time of \"spec/b_spec.rb\" is not a number" },
        { "bad_knapsack_string.json", TIMING_KNAPSACK, "the time of \"spec/b_spec.rb\"" },
        { "bad_knapsack_negative.json", TIMING_AUTO,
          "(knapsack): \"spec/b_spec.rb\": time -0.5 s is negative" },
        { "bad_knapsack_syntax.json", TIMING_AUTO,
          ": not valid JSON: line 4, column 1: trailing comma before '}'" },
        { "bad_knapsack_syntax.json", TIMING_KNAPSACK, "(knapsack): not valid JSON: line 4" },
        { "bad_knapsack_huge.json", TIMING_AUTO,
          "\"spec/b_spec.rb\": time 9e+09 s is not finite or over 30 days" },
        { "bad_test_durations_pair", TIMING_AUTO,
          "(pytest-split): item 2 is not a [node id, seconds] pair" },
        { "bad_test_durations_null", TIMING_AUTO,
          "(pytest-split): the time of \"tests/test_a.py::test_two\" is not a number" },
        { "bad_test_durations_null", TIMING_PYTEST_SPLIT, "is not a number" },
        { "bad_runtime_no_colon.log", TIMING_AUTO,
          "(parallel-tests): line 3: expected \"path:seconds\", found no ':'" },
        { "bad_runtime_value.log", TIMING_AUTO,
          "(parallel-tests): line 2: \"abc\" after the last ':' is not a number of seconds" },
        { "bad_runtime_value.log", TIMING_PARALLEL_TESTS, "line 2: \"abc\"" },
        { "bad_runtime_empty_name.log", TIMING_AUTO,
          "(parallel-tests): line 2: an entry has an empty name" },
        { "bad_junit_malformed.xml", TIMING_AUTO, "malformed at line 4" },
        { "bad_junit_malformed.xml", TIMING_JUNIT, "malformed at line 4" },
        { "bad_junit_time.xml", TIMING_AUTO,
          "(junit): test case 2 (\"spec/a_spec.rb\") has no valid time attribute" },
        { "bad_dataset_timings.json", TIMING_DATASET,
          "(dataset): expected a \"timings\" object of id -> seconds, found an array" },
        //  Auto cannot tell it is a broken dataset; it still fails.
        { "bad_dataset_timings.json", TIMING_AUTO,
          "(knapsack): the time of \"source\" is not a number" },
        { "bad_dataset_value.json", TIMING_AUTO,
          "(dataset): the time of \"spec/a_spec.rb\" is not a number" },
        //  Good files in the wrong format.
        { "knapsack_rspec_report.json", TIMING_PARALLEL_TESTS,
          "(parallel-tests): line 1: expected \"path:seconds\", found no ':'" },
        { "knapsack_rspec_report.json", TIMING_DATASET,
          "(dataset): expected a \"timings\" object of id -> seconds, found none" },
        { "knapsack_rspec_report.json", TIMING_JUNIT, "malformed at line 1" },
        { "test_durations_list", TIMING_KNAPSACK,
          "(knapsack): expected a JSON object of path -> seconds, found an array" },
        { "parallel_runtime_rspec.log", TIMING_KNAPSACK,
          "(knapsack): not valid JSON: line 1, column 1: unexpected 's', expected a value" },
        { "rspec.xml", TIMING_PYTEST_SPLIT, "(pytest-split): not valid JSON: line 1, column 1" },
        { "dataset.json", TIMING_PYTEST_SPLIT, "the time of \"source\" is not a number" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *path = s_fixture (rows[i].file);
        s_read_bad (path, rows[i].format, rows[i].expect);
        free (path);
    }
}

static void
test_detection (void **state)
{
    static const struct {
        const char *text;           //  file content
        timing_format_t expect;     //  format detected
    } rows[] = {
        { "{\"a.rb\": 1}", TIMING_KNAPSACK },
        { "\xEF\xBB\xBF {\"a.rb\": 1}", TIMING_KNAPSACK },
        { "\n\t{\"t.py::x\": 1}", TIMING_PYTEST_SPLIT },
        //  One "::" key is enough.
        { "{\"a.rb\": 1, \"t.py::x\": 2}", TIMING_PYTEST_SPLIT },
        { "[[\"t.py::x\", 1]]", TIMING_PYTEST_SPLIT },
        { "[[\"a.rb\", 1]]", TIMING_PYTEST_SPLIT },
        { "{\"source\": {}, \"timings\": {\"a.rb\": 1}}", TIMING_DATASET },
        { "{\"timings\": {\"t.py::x\": 1}}", TIMING_DATASET },
        { "a.rb:1", TIMING_PARALLEL_TESTS },
        { "\xEF\xBB\xBF# log\na.rb:1\n", TIMING_PARALLEL_TESTS },
        { "<testsuite><testcase file=\"a.rb\" name=\"x\" time=\"1\"/></testsuite>", TIMING_JUNIT },
        { "\xEF\xBB\xBF\n <testsuites><testsuite><testcase classname=\"a\" name=\"x\" "
          "time=\"1\"/></testsuite></testsuites>", TIMING_JUNIT },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[32];
        snprintf (name, sizeof name, "detect_%zu", i);
        char *path = s_write_text (name, rows[i].text);
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, TIMING_AUTO, rows[i].expect, &count);
        assert_true (count >= 1);
        assert_true (entries[0].seconds == 1);
        timing_entries_free (entries, count);
        free (path);
    }
    //  detected may be NULL.
    char *path = s_write_text ("no_detected", "a.rb:1\n");
    timing_entry_t *entries = NULL;
    size_t count = 0;
    char why[256];
    assert_int_equal (timing_file_read (path, TIMING_AUTO, &entries, &count, NULL, why,
                                        sizeof why), 0);
    timing_entries_free (entries, count);
    free (path);
}

static void
test_runtime_log_details (void **state)
{
    //  CRLF, a BOM, comments, blank and space-only lines, trailing blanks,
    //  a name holding ':' (split at the last one), Ruby's float forms, a
    //  last line without a newline, and a repeated name (summed, first
    //  place kept).
    char *path = s_write_text ("details.log",
                               "\xEF\xBB\xBF# parallel_tests runtime\r\n"
                               "spec/a_spec.rb:1.5\r\n"
                               "\r\n"
                               "   \n"
                               "  # indented comment\n"
                               "spec/b_spec.rb[1:2]:2 \t\r\n"
                               "spec/c_spec.rb:1.0e-05\n"
                               "spec/a_spec.rb:0.25\n"
                               "spec/d_spec.rb:3E2");
    size_t count = 0;
    timing_entry_t *entries = s_read_ok (path, TIMING_AUTO, TIMING_PARALLEL_TESTS, &count);
    assert_int_equal (count, 4);
    s_expect_entry (entries, count, 0, "spec/a_spec.rb", 1.75);
    s_expect_entry (entries, count, 1, "spec/b_spec.rb[1:2]", 2);
    s_expect_entry (entries, count, 2, "spec/c_spec.rb", 1e-5);
    s_expect_entry (entries, count, 3, "spec/d_spec.rb", 300);
    timing_entries_free (entries, count);
    free (path);

    static const struct {
        const char *text;       //  log content
        const char *expect;     //  what the reason must say
    } rows[] = {
        { "a.rb:1\na.rb:-1\n", "line 2: \"a.rb\": time -1 s is negative" },
        { "a.rb:.5\n", "line 1: \".5\" after the last ':' is not a number of seconds" },
        { "a.rb:1.\n", "\"1.\" after the last ':'" },
        { "a.rb:\n", "\"\" after the last ':'" },
        { "a.rb: 1\n", "\" 1\" after the last ':'" },
        { "a.rb:1e\n", "\"1e\" after" },
        { "a.rb:inf\n", "\"inf\" after" },
        { "a.rb:nan\n", "\"nan\" after" },
        { "a.rb:0x10\n", "\"0x10\" after" },
        { "a.rb:1,5\n", "\"1,5\" after" },
        { "a.rb:1e999\n", "\"1e999\" after" },
        { "a.rb:2592001\n", "time 2.592e+06 s is not finite or over 30 days" },
        { "a.rb:2000000\nb.rb:1\na.rb:2000000\n",
          "line 3: \"a.rb\": its times add up to more than 30 days" },
        { "", "holds no timing entries" },
        { "# only a comment\n\n", "holds no timing entries" },
        { "\xEF\xBB\xBF", "holds no timing entries" },
        { "just some text\n", "line 1: expected \"path:seconds\", found no ':'" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[32];
        snprintf (name, sizeof name, "bad_log_%zu", i);
        path = s_write_text (name, rows[i].text);
        s_read_bad (path, TIMING_AUTO, rows[i].expect);
        s_read_bad (path, TIMING_PARALLEL_TESTS, rows[i].expect);
        free (path);
    }

    //  A NUL byte in a line.
    path = s_write ("nul.log", "a.rb:1\nb\0.rb:2\n", 15);
    s_read_bad (path, TIMING_AUTO, "(parallel-tests): line 2: holds a NUL byte");
    free (path);
}

static void
test_entry_rules (void **state)
{
    //  A name of TIMING_NAME_MAX bytes is fine, one more is not, in every
    //  format.
    const size_t max = TIMING_NAME_MAX;
    char *name = util_malloc (max + 2);
    memset (name, 'x', max + 1);
    name[max + 1] = 0;
    char *text = util_format ("%.*s:1\n", (int) max, name);
    char *path = s_write_text ("long_ok.log", text);
    size_t count = 0;
    timing_entry_t *entries = s_read_ok (path, TIMING_AUTO, TIMING_PARALLEL_TESTS, &count);
    assert_int_equal (strlen (entries[0].name), max);
    timing_entries_free (entries, count);
    free (path);
    free (text);
    text = util_format ("%s:1\n", name);
    path = s_write_text ("long_bad.log", text);
    s_read_bad (path, TIMING_AUTO, "line 1: name \"xxxxxxxx");
    s_read_bad (path, TIMING_AUTO, "...\" is longer than 65536 bytes");
    free (path);
    free (text);
    text = util_format ("{\"%s\": 1}", name);
    path = s_write_text ("long_bad.json", text);
    s_read_bad (path, TIMING_AUTO, "is longer than 65536 bytes");
    free (path);
    free (text);
    text = util_format ("<testsuite><testcase file=\"%s\" time=\"1\"/></testsuite>", name);
    path = s_write_text ("long_bad.xml", text);
    s_read_bad (path, TIMING_AUTO, "is longer than 65536 bytes");
    free (path);
    free (text);
    //  Longer than junit_case_unit's buffer, too.
    char *longer = util_malloc (max + 10001);
    memset (longer, 'y', max + 10000);
    longer[max + 10000] = 0;
    text = util_format ("<testsuite><testcase file=\"%s\" time=\"1\"/></testsuite>", longer);
    path = s_write_text ("longer_bad.xml", text);
    s_read_bad (path, TIMING_JUNIT, "(junit): test case 1: its unit name is longer than 65536");
    free (path);
    free (text);
    free (longer);
    free (name);

    static const struct {
        const char *text;       //  file content
        const char *expect;     //  what the reason must say
    } rows[] = {
        { "{\"a\\nb\": 1}", "(knapsack): name \"a?b\" holds a NUL, newline or carriage return" },
        { "{\"a\\rb\": 1}", "holds a NUL, newline or carriage return" },
        { "{\"\": 1}", "(knapsack): an entry has an empty name" },
        { "{\"a\": 2592000.5}", "over 30 days" },
        { "{\"a\": 2000000, \"a\": 2000000}", "\"a\": its times add up to more than 30 days" },
        { "{\"a\\u0000b\": 1}", "not valid JSON: line 1, column 4: \\u0000 is not allowed" },
        { "{\"a\xFF\": 1}", "not valid JSON: line 1, column 4: invalid UTF-8 in a string" },
        { "{\"a\": 1e400}", "not valid JSON: line 1, column 7: number out of range" },
        { "{}", "(knapsack): holds no timing entries" },
        { "[]", "(pytest-split): holds no timing entries" },
        { "{\"timings\": {}}", "(dataset): holds no timing entries" },
        { "[[\"t::x\", 1, 2]]", "item 1 is not a [node id, seconds] pair" },
        { "[[1, \"t::x\"]]", "item 1 is not a [node id, seconds] pair" },
        { "[\"t::x\"]", "item 1 is not a [node id, seconds] pair" },
        { "{\"a\": 1} {}", "not valid JSON: line 1, column 10: unexpected data after" },
        { "{\"a\": 1", "not valid JSON: line 1, column 8: unexpected end of input" },
        { "[\"a\": 1]", "not valid JSON" },
        { "<testsuite><testcase name=\"x\"/></testsuite>",
          "(junit): test case 1 (\"x\") has no valid time attribute" },
        { "<testsuite><testcase time=\"1\"/></testsuite>",
          "(junit): test case 1 has no file, classname or name" },
        { "<testsuite><testcase name=\"x\" time=\"-1\"/></testsuite>",
          "has no valid time attribute" },
        { "<testsuite></testsuite>", "(junit): holds no timing entries" },
        { "<html><body/></html>", "not <testsuites> or <testsuite>" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char file[32];
        snprintf (file, sizeof file, "rule_%zu", i);
        path = s_write_text (file, rows[i].text);
        s_read_bad (path, TIMING_AUTO, rows[i].expect);
        free (path);
    }

    //  Repeats in a JSON object are summed too, in first-seen order.
    path = s_write_text ("dups.json", "{\"b\": 1, \"a\": 2, \"b\": 0.5}");
    entries = s_read_ok (path, TIMING_AUTO, TIMING_KNAPSACK, &count);
    assert_int_equal (count, 2);
    s_expect_entry (entries, count, 0, "b", 1.5);
    s_expect_entry (entries, count, 1, "a", 2);
    timing_entries_free (entries, count);
    free (path);

    //  A skipped JUnit case with no time counts 0; one with a time counts it.
    path = s_write_text ("skipped.xml",
                         "<testsuite><testcase file=\"a.rb\" name=\"x\"><skipped/></testcase>"
                         "<testcase file=\"a.rb\" name=\"y\" time=\"2\"><skipped/></testcase>"
                         "</testsuite>");
    entries = s_read_ok (path, TIMING_AUTO, TIMING_JUNIT, &count);
    assert_int_equal (count, 1);
    s_expect_entry (entries, count, 0, "a.rb", 2);
    timing_entries_free (entries, count);
    free (path);
}

static void
test_file_errors (void **state)
{
    char *path = util_format ("%s/missing.json", s_tmp_dir);
    s_read_bad (path, TIMING_AUTO, "cannot open: No such file or directory");
    s_read_bad (path, TIMING_KNAPSACK, "(knapsack): cannot open");
    s_read_bad (path, TIMING_JUNIT, "missing");
    free (path);

    s_read_bad (s_tmp_dir, TIMING_AUTO, "is a folder, not a file");

    //  Too large: refused from its size, before reading (a sparse file).
    path = util_format ("%s/huge.json", s_tmp_dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    assert_int_equal (ftruncate (fd, (off_t) TIMING_FILE_MAX_BYTES + 1), 0);
    close (fd);
    s_read_bad (path, TIMING_AUTO, "larger than 256 MiB");
    s_read_bad (path, TIMING_PARALLEL_TESTS, "(parallel-tests): larger than 256 MiB");
    unlink (path);
    free (path);

    //  A depth bomb is refused by the JSON reader's bound.
    char bomb[2001];
    memset (bomb, '[', 2000);
    bomb[2000] = 0;
    path = s_write_text ("bomb.json", bomb);
    s_read_bad (path, TIMING_AUTO, "not valid JSON: line 1, column 65: nesting deeper than 64");
    free (path);

    //  An unknown format value.
    timing_entry_t *entries = NULL;
    size_t count = 0;
    char why[256];
    path = s_fixture ("dataset.json");
    assert_int_equal (timing_file_read (path, (timing_format_t) 42, &entries, &count, NULL, why,
                                        sizeof why), -1);
    assert_null (entries);
    assert_non_null (strstr (why, "unknown timing format 42"));
    free (path);
}

//  The README's table (/work/shared/data/README.md): entries, total
//  seconds and largest entry, both to 0.1 s. too_long counts the names
//  over the 4096-byte unit name limit (PROTO_DEFAULT_MAX_NAME), which
//  satchel import leaves out (test_e2e_timings imports that file).
static const struct {
    const char *file;           //  timings/<file>
    size_t entries;             //  entries
    double total;               //  total s
    double max;                 //  max entry s
    size_t too_long;            //  names longer than 4096 bytes
} s_shared[] = {
    { "bram2w__baserow__pytest_split.json", 5753, 1581.7, 15.4, 4 },
    { "ColtAllen__pymc-marketing__pytest_split.json", 4999, 3385.4, 38.9, 0 },
    { "OneGov__onegov-cloud__pytest_split.json", 3592, 5580.8, 77.6, 0 },
    { "City-of-Helsinki__tilavarauspalvelu-core__pytest_split.json", 2577, 271.2, 45.6, 0 },
    { "OS2mo__os2mo__pytest_split.json", 2103, 1389.5, 19.2, 0 },
    { "JustGitting__zenml__pytest_split.json", 1499, 1538.1, 82.0, 0 },
    { "18F__identity-idp__knapsack_rspec.json", 1122, 6919.4, 338.0, 0 },
    { "DFE-Digital__register-early-career-teachers-public__knapsack_rspec.json", 1004, 1321.4,
      64.8, 0 },
    { "ideacrew__enroll__parallel_tests_rspec.json", 812, 8223.9, 344.8, 0 },
    { "DFE-Digital__early-careers-framework__knapsack_rspec.json", 758, 3313.6, 172.4, 0 },
    { "Energy-Sparks__energy-sparks__knapsack_rspec.json", 466, 1178.4, 56.1, 0 },
    { "inspec__inspec__knapsack_minitest.json", 258, 1104.2, 141.8, 0 },
    { "sanger__sequencescape__knapsack_cucumber.json", 230, 2756.4, 196.7, 0 },
    { "dhis2__dhis2-test-reports__surefire_class.json", 70, 498.9, 249.9, 0 },
    { "0xarc-io__contracts__mocha_junit.json", 33, 111.5, 18.6, 0 },
};

//  Compare a file's numbers with its README row; prints and returns 1 on
//  a mismatch.
static int
s_check_row (size_t row, const char *how, size_t count, double total, double max)
{
    if (count == s_shared[row].entries && fabs (total - s_shared[row].total) <= 0.05
        && fabs (max - s_shared[row].max) <= 0.05)
        return 0;
    printf ("  %s (%s): %zu entries, %.2f s, max %.2f s; README: %zu, %.1f, %.1f\n",
            s_shared[row].file, how, count, total, max, s_shared[row].entries,
            s_shared[row].total, s_shared[row].max);
    return 1;
}

//  The same numbers from the JSON tree, without the entry rules.
static int
s_check_tree (size_t row, const char *path, size_t *too_long)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    assert_int_equal (fseek (file, 0, SEEK_END), 0);
    long size = ftell (file);
    assert_true (size > 0);
    rewind (file);
    char *text = util_malloc ((size_t) size);
    assert_int_equal (fread (text, 1, (size_t) size, file), (size_t) size);
    fclose (file);
    char why[256];
    json_t *root = json_parse (text, (size_t) size, JSON_DEFAULT_MAX_DEPTH, why, sizeof why);
    if (!root)
        fail_msg ("%s: %s", path, why);
    const json_t *timings = json_get (root, "timings");
    double total = 0, max = 0;
    *too_long = 0;
    for (size_t i = 0; i < json_count (timings); i++) {
        double seconds = 0;
        assert_int_equal (json_number (json_at (timings, i), &seconds), 0);
        total += seconds;
        max = seconds > max ? seconds : max;
        if (strlen (json_key_at (timings, i)) > 4096)
            (*too_long)++;
    }
    int failed = s_check_row (row, "JSON tree", json_count (timings), total, max);
    json_destroy (&root);
    free (text);
    return failed;
}

static void
test_shared_datasets (void **state)
{
    const char *data = getenv ("SATCHEL_DATA_DIR");
    char *dir_path = util_format ("%s/timings", data ? data : S_DATA_DIR);
    DIR *dir = opendir (dir_path);
    if (!dir) {
        printf ("  %s is not here; skipped\n", dir_path);
        free (dir_path);
        skip ();
    }
    //  Every file in the folder is in the table, and is read.
    size_t files = 0, failed = 0;
    struct dirent *item;
    while ((item = readdir (dir)) != NULL) {
        if (item->d_name[0] == '.')
            continue;
        files++;
        size_t row = 0;
        while (row < sizeof s_shared / sizeof s_shared[0]
               && strcmp (s_shared[row].file, item->d_name) != 0)
            row++;
        if (row == sizeof s_shared / sizeof s_shared[0]) {
            printf ("  %s: not in the README's table\n", item->d_name);
            failed++;
            continue;
        }
        char *path = util_format ("%s/%s", dir_path, item->d_name);
        size_t too_long = 0;
        failed += (size_t) s_check_tree (row, path, &too_long);
        assert_int_equal (too_long, s_shared[row].too_long);
        timing_format_t formats[] = { TIMING_DATASET, TIMING_AUTO };
        for (size_t f = 0; f < 2; f++) {
            size_t count = 0;
            timing_entry_t *entries = s_read_ok (path, formats[f], TIMING_DATASET, &count);
            double total = 0, max = 0;
            for (size_t i = 0; i < count; i++) {
                total += entries[i].seconds;
                max = entries[i].seconds > max ? entries[i].seconds : max;
            }
            failed += (size_t) s_check_row (row, timing_format_name (formats[f]), count, total,
                                            max);
            timing_entries_free (entries, count);
        }
        free (path);
    }
    closedir (dir);
    free (dir_path);
    assert_int_equal (failed, 0);
    assert_int_equal (files, sizeof s_shared / sizeof s_shared[0]);
}

//  The raw JUnit reports beside it (README, "Raw JUnit XML reports"): the
//  sum of their test case times, and for 0xarc the 33 files its dataset
//  derives from the same report.
static void
test_shared_junit (void **state)
{
    static const struct {
        const char *file;       //  junit/<file>
        size_t entries;         //  units, 0: not checked
        double total;           //  sum of testcase time, to 0.01 s
    } rows[] = {
        { "0xarc-io__contracts__test-results.xml", 33, 111.45 },
        { "Ariel-Liao__mitiq__test-results.xml", 0, 1915.22 },
        { "Datavault-UK__automate-dv__junit.xml", 0, 1058.91 },
    };
    const char *data = getenv ("SATCHEL_DATA_DIR");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *path = util_format ("%s/junit/%s", data ? data : S_DATA_DIR, rows[i].file);
        if (access (path, R_OK) != 0) {
            printf ("  %s is not here; skipped\n", path);
            free (path);
            skip ();
        }
        size_t count = 0;
        timing_entry_t *entries = s_read_ok (path, TIMING_AUTO, TIMING_JUNIT, &count);
        double total = 0;
        for (size_t k = 0; k < count; k++)
            total += entries[k].seconds;
        if (rows[i].entries)
            assert_int_equal (count, rows[i].entries);
        if (fabs (total - rows[i].total) > 0.005)
            fail_msg ("%s: %.3f s, README: %.2f", rows[i].file, total, rows[i].total);
        timing_entries_free (entries, count);
        free (path);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_format_names),
        cmocka_unit_test (test_knapsack),
        cmocka_unit_test (test_pytest_split),
        cmocka_unit_test (test_parallel_tests),
        cmocka_unit_test (test_junit),
        cmocka_unit_test (test_dataset),
        cmocka_unit_test (test_bad_fixtures),
        cmocka_unit_test (test_detection),
        cmocka_unit_test (test_runtime_log_details),
        cmocka_unit_test (test_entry_rules),
        cmocka_unit_test (test_file_errors),
        cmocka_unit_test (test_shared_datasets),
        cmocka_unit_test (test_shared_junit),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
