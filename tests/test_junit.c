/*  test_junit.c: unit tests for the JUnit XML reader and the mapping of
    its test cases to a batch's units (junit.h).

    The fixtures in tests/fixtures/junit/ are real reports: rspec with
    rspec_junit_formatter, pytest (xunit1 and xunit2), jest-junit, mocha
    with mocha-junit-reporter and ctest --output-junit were run on small
    made-up suites; the Surefire, Gradle and go-junit-report ones follow
    those tools' output by hand (no JVM or Go toolchain here). The
    committed reports in shared/data/junit/ are read too, when present.
    Hostile inputs big enough to matter are made in a temporary folder.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "junit.h"
#include "util.h"

static char s_fixtures[4096];     //  tests/fixtures/junit
static char s_shared[4096];       //  shared/data beside the source tree
static char s_temp[4096];         //  this run's temporary folder

//  ------------------------------------------------------------------------
//  Helpers

static int
s_setup (void **state)
{
    if (harness_source_path (s_fixtures, sizeof s_fixtures, "tests/fixtures/junit") != 0
    ||  harness_source_path (s_shared, sizeof s_shared, "../shared/data") != 0)
        return -1;
    const char *tmp = getenv ("TMPDIR");
    snprintf (s_temp, sizeof s_temp, "%s/satchel_junit_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp (s_temp) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    static const char *const made[] = { "huge.xml", "deep.xml", "chatty.xml", "fifo",
                                         "many.xml", "examples.xml", "names.xml" };
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char *path = util_format ("%s/%s", s_temp, made[i]);
        unlink (path);
        free (path);
    }
    rmdir (s_temp);
    return 0;
}

static char *
s_fixture (const char *name)
{
    return util_format ("%s/%s", s_fixtures, name);
}

static char *
s_temp_path (const char *name)
{
    return util_format ("%s/%s", s_temp, name);
}

#define ASSERT_SECONDS(got, want) s_assert_seconds ((got), (want), #got, __LINE__)

static void
s_assert_seconds (double got, double want, const char *what, int line)
{
    if (fabs (got - want) > 1e-9) {
        printf ("  line %d: %s = %.9f, expected %.9f\n", line, what, got, want);
        fail ();
    }
}

//  Cases as junit_read gave them, copied.
typedef struct {
    char *file;                  //  copy or NULL
    char *classname;             //  copy or NULL
    char *name;                  //  copy or NULL
    double seconds;              //  as given
    bool failed;                 //  as given
    bool skipped;                //  as given
} s_case_t;

typedef struct {
    s_case_t *cases;             //  collected
    size_t count;                //  used
    size_t alloc;                //  allocated
    size_t stop_after;           //  nonzero: ask to stop after this many
} s_cases_t;

static char *
s_dup (const char *text)
{
    return text ? util_strdup (text) : NULL;
}

static int
s_collect (const junit_case_t *test_case, void *arg)
{
    s_cases_t *list = arg;
    if (list->count == list->alloc) {
        list->alloc = list->alloc ? list->alloc * 2 : 16;
        list->cases = util_realloc (list->cases, list->alloc * sizeof (s_case_t));
    }
    list->cases[list->count++] = (s_case_t) {
        s_dup (test_case->file), s_dup (test_case->classname), s_dup (test_case->name),
        test_case->seconds, test_case->failed, test_case->skipped
    };
    return list->stop_after && list->count >= list->stop_after;
}

static void
s_cases_free (s_cases_t *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free (list->cases[i].file);
        free (list->cases[i].classname);
        free (list->cases[i].name);
    }
    free (list->cases);
    memset (list, 0, sizeof *list);
}

//  The collected case named name (fails the test if none).
static const s_case_t *
s_case (const s_cases_t *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->cases[i].name && strcmp (list->cases[i].name, name) == 0)
            return &list->cases[i];
    printf ("  no case named \"%s\"\n", name);
    fail ();
    return NULL;
}

static int
s_read (const char *fixture, const junit_limits_t *limits, s_cases_t *list, char *why,
        size_t why_size)
{
    char *path = s_fixture (fixture);
    int rc = junit_read (path, limits, s_collect, list, why, why_size);
    free (path);
    return rc;
}

#define COUNT(array) (sizeof (array) / sizeof (array[0]))

//  junit_batch's paths and path_count for one report.
#define ONE(path) (const char *const[]) { (path) }, 1

//  Map a fixture onto units; must succeed.
static void
s_batch (const char *fixture, char *const *units, const uint64_t *predicted, size_t count,
         junit_batch_t *out)
{
    char *path = s_fixture (fixture);
    char why[512] = "";
    int rc = junit_batch (ONE (path), NULL, units, predicted, count, out, why, sizeof why);
    if (rc != 0)
        printf ("  junit_batch (%s): %s\n", fixture, why);
    assert_int_equal (rc, 0);
    free (path);
}


//  A refused report: rc -1, a why holding expect, no case read.
static void
s_assert_refused (const char *path, const junit_limits_t *limits, const char *expect)
{
    s_cases_t list = { 0 };
    char why[512] = "";
    assert_int_equal (junit_read (path, limits, s_collect, &list, why, sizeof why), -1);
    if (!strstr (why, expect)) {
        printf ("  why \"%s\" lacks \"%s\"\n", why, expect);
        fail ();
    }
    assert_int_equal (list.count, 0);
    s_cases_free (&list);
    //  junit_batch refuses it the same way and leaves nothing behind.
    char *units[] = { "spec/a_spec.rb" };
    junit_batch_t out;
    memset (&out, 0xAB, sizeof out);
    assert_int_equal (junit_batch (ONE (path), limits, units, NULL, 1, &out, why, sizeof why), -1);
    assert_true (strstr (why, expect) != NULL);
    assert_null (out.seconds);
    assert_null (out.state);
}

//  ------------------------------------------------------------------------
//  Reading

static void
test_read_pytest_xunit1 (void **state)
{
    s_cases_t list = { 0 };
    char why[512];
    assert_int_equal (s_read ("pytest_xunit1.xml", NULL, &list, why, sizeof why), 0);
    assert_int_equal (list.count, 8);
    const s_case_t *first = &list.cases[0];
    assert_string_equal (first->file, "tests/api/test_users.py");
    assert_string_equal (first->classname, "tests.api.test_users.TestUsers");
    assert_string_equal (first->name, "test_create");
    ASSERT_SECONDS (first->seconds, 0.021);
    assert_false (first->failed);
    assert_true (s_case (&list, "test_list_fails")->failed);
    assert_false (s_case (&list, "test_list_fails")->skipped);
    assert_true (s_case (&list, "test_skipped")->skipped);
    assert_false (s_case (&list, "test_skipped")->failed);
    //  An <error> (fixture missing) is a failure too.
    assert_true (s_case (&list, "test_error_in_fixture")->failed);
    assert_string_equal (s_case (&list, "test_deep")->classname,
                         "tests.api.test_users.TestUsers.TestNested");
    s_cases_free (&list);
}

static void
test_read_odd_values (void **state)
{
    s_cases_t list = { 0 };
    char why[512];
    assert_int_equal (s_read ("odd_values.xml", NULL, &list, why, sizeof why), 0);
    assert_int_equal (list.count, 18);
    //  Times: only finite, non-negative, sane numbers count.
    ASSERT_SECONDS (s_case (&list, "plain")->seconds, 0.5);
    ASSERT_SECONDS (s_case (&list, "padded")->seconds, 2.5);
    static const char *const unusable[] = { "thousands", "empty",    "nan",         "negative",
                                            "infinite",  "overflow", "unit suffix", "absurd",
                                            "no time" };
    for (size_t i = 0; i < COUNT (unusable); i++)
        ASSERT_SECONDS (s_case (&list, unusable[i])->seconds, -1);
    //  File: the case's own, else the nearest enclosing testsuite's.
    assert_string_equal (s_case (&list, "plain")->file, "./spec/outer_spec.rb");
    assert_string_equal (s_case (&list, "inherits outer")->file, "./spec/outer_spec.rb");
    assert_string_equal (s_case (&list, "inherits innermost")->file, "spec/inner_spec.rb");
    assert_string_equal (s_case (&list, "own file")->file, "./spec/own_spec.rb");
    assert_string_equal (s_case (&list, "empty own file")->file, "spec/inner_spec.rb");
    assert_true (s_case (&list, "empty own file")->skipped);
    assert_string_equal (s_case (&list, "back to outer")->file, "./spec/outer_spec.rb");
    assert_true (s_case (&list, "back to outer")->failed);
    //  A sibling testsuite does not inherit; absent attributes are NULL.
    const s_case_t *lonely = &list.cases[16];
    assert_null (lonely->file);
    assert_string_equal (lonely->classname, "Lonely");
    assert_null (lonely->name);
    ASSERT_SECONDS (lonely->seconds, 8);
    const s_case_t *bare = &list.cases[17];
    assert_null (bare->file);
    assert_null (bare->classname);
    assert_null (bare->name);
    s_cases_free (&list);
}

static void
test_case_unit (void **state)
{
    char out[64];
    junit_case_t with_file = { "./spec/a_spec.rb", "spec.a_spec", "A works", 1, false, false };
    assert_int_equal (junit_case_unit (&with_file, out, sizeof out), 0);
    assert_string_equal (out, "spec/a_spec.rb");
    junit_case_t with_class = { NULL, "com.acme.FooTest", "works", 1, false, false };
    assert_int_equal (junit_case_unit (&with_class, out, sizeof out), 0);
    assert_string_equal (out, "com.acme.FooTest");
    junit_case_t with_name = { NULL, NULL, "parser_roundtrip", 1, false, false };
    assert_int_equal (junit_case_unit (&with_name, out, sizeof out), 0);
    assert_string_equal (out, "parser_roundtrip");
    junit_case_t empty_file = { "", "Lonely", NULL, 1, false, false };
    assert_int_equal (junit_case_unit (&empty_file, out, sizeof out), 0);
    assert_string_equal (out, "Lonely");
    junit_case_t nothing = { NULL, NULL, NULL, 1, false, false };
    assert_int_equal (junit_case_unit (&nothing, out, sizeof out), -1);
    //  Too long for the buffer: refused, not cut.
    assert_int_equal (junit_case_unit (&with_file, out, 14), -1);
    assert_int_equal (junit_case_unit (&with_file, out, 15), 0);
    assert_string_equal (out, "spec/a_spec.rb");
}

static void
test_read_stop (void **state)
{
    s_cases_t list = { .stop_after = 2 };
    char why[512];
    assert_int_equal (s_read ("rspec_junit_formatter.xml", NULL, &list, why, sizeof why), -1);
    assert_int_equal (list.count, 2);
    assert_non_null (strstr (why, "stopped"));
    s_cases_free (&list);
}

//  ------------------------------------------------------------------------
//  Mapping, runner by runner

static void
test_batch_rspec_files (void **state)
{
    char *units[] = { "spec/models/user_spec.rb", "./spec/lib/calc_spec.rb", "spec/x_spec.rb" };
    junit_batch_t out;
    s_batch ("rspec_junit_formatter.xml", units, NULL, COUNT (units), &out);
    assert_int_equal (out.cases, 6);
    assert_int_equal (out.unmatched, 0);
    ASSERT_SECONDS (out.seconds[0], 0.020425 + 0.000165 + 0.034721 + 0.010324);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[1], 0.031129 + 0.000014);
    assert_int_equal (out.state[1], JUNIT_UNIT_PASSED);
    ASSERT_SECONDS (out.seconds[2], 0);
    assert_int_equal (out.state[2], JUNIT_UNIT_ABSENT);
    junit_batch_clear (&out);
    assert_null (out.seconds);
}

static void
test_batch_rspec_examples (void **state)
{
    //  rspec ids as `rspec --dry-run --format json` gives them; the report
    //  names only the file, so its time is shared by prediction.
    char *units[] = { "./spec/models/user_spec.rb[1:2:1]", "./spec/models/user_spec.rb[1:2:2]",
                      "spec/lib/calc_spec.rb" };
    uint64_t predicted[] = { 3000, 1000, 500 };
    double user = 0.025245 + 0.010191;
    junit_batch_t out;
    s_batch ("rspec_junit_formatter_examples.xml", units, predicted, 3, &out);
    assert_int_equal (out.cases, 4);
    assert_int_equal (out.unmatched, 0);
    ASSERT_SECONDS (out.seconds[0], user * 0.75);
    ASSERT_SECONDS (out.seconds[1], user * 0.25);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[2], 0.030197 + 0.000010);
    assert_int_equal (out.state[2], JUNIT_UNIT_PASSED);
    junit_batch_clear (&out);
    //  No predictions (or all zero): evenly.
    s_batch ("rspec_junit_formatter_examples.xml", units, NULL, 3, &out);
    ASSERT_SECONDS (out.seconds[0], user / 2);
    ASSERT_SECONDS (out.seconds[1], user / 2);
    junit_batch_clear (&out);
    uint64_t zero[] = { 0, 0, 0 };
    s_batch ("rspec_junit_formatter_examples.xml", units, zero, 3, &out);
    ASSERT_SECONDS (out.seconds[1], user / 2);
    junit_batch_clear (&out);
}

//  pytest per file: xunit1 by the file attribute, xunit2 by the classname.
static void
test_batch_pytest_files (void **state)
{
    static const char *const reports[] = { "pytest_xunit1.xml", "pytest_xunit2.xml" };
    for (size_t r = 0; r < COUNT (reports); r++) {
        char *units[] = { "tests/api/test_users.py", "./tests/unit/test_math.py" };
        junit_batch_t out;
        s_batch (reports[r], units, NULL, 2, &out);
        assert_int_equal (out.cases, 8);
        assert_int_equal (out.unmatched, 0);
        ASSERT_SECONDS (out.seconds[0], 0.021 + 0.011 + 0.011 + 0.006 + 0.011 + 0.000);
        assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
        ASSERT_SECONDS (out.seconds[1], 0.031);
        assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);   //  the fixture error
        junit_batch_clear (&out);
    }
}

//  pytest split by test ids (`pytest --collect-only -q`): each case goes to
//  its own id, nested classes and parameters included.
static void
test_batch_pytest_examples (void **state)
{
    static const char *const reports[] = { "pytest_xunit1.xml", "pytest_xunit2.xml" };
    for (size_t r = 0; r < COUNT (reports); r++) {
        char *units[] = { "tests/api/test_users.py::TestUsers::test_create",
                          "tests/api/test_users.py::TestUsers::test_roles[admin]",
                          "tests/api/test_users.py::TestUsers::test_roles[guest]",
                          "tests/api/test_users.py::TestUsers::TestNested::test_deep",
                          "tests/api/test_users.py::test_list_fails",
                          "tests/api/test_users.py::test_skipped",
                          "tests/unit/test_math.py" };
        uint64_t predicted[] = { 1, 1, 1, 1, 1, 1000000, 1 };
        junit_batch_t out;
        s_batch (reports[r], units, predicted, COUNT (units), &out);
        assert_int_equal (out.unmatched, 0);
        double want[] = { 0.021, 0.011, 0.011, 0.006, 0.011, 0, 0.031 };
        uint8_t state_want[] = { JUNIT_UNIT_PASSED, JUNIT_UNIT_PASSED, JUNIT_UNIT_PASSED,
                                 JUNIT_UNIT_PASSED, JUNIT_UNIT_FAILED, JUNIT_UNIT_PASSED,
                                 JUNIT_UNIT_FAILED };
        for (size_t i = 0; i < COUNT (units); i++) {
            ASSERT_SECONDS (out.seconds[i], want[i]);
            assert_int_equal (out.state[i], state_want[i]);
        }
        junit_batch_clear (&out);
    }
    //  Units at class granularity take their classes' cases.
    char *classes[] = { "tests/api/test_users.py::TestUsers",
                        "tests/api/test_users.py::test_list_fails", "tests/unit/test_math.py" };
    junit_batch_t out;
    s_batch ("pytest_xunit2.xml", classes, NULL, 3, &out);
    ASSERT_SECONDS (out.seconds[0], 0.021 + 0.011 + 0.011 + 0.006);
    assert_int_equal (out.state[0], JUNIT_UNIT_PASSED);
    ASSERT_SECONDS (out.seconds[1], 0.011);
    assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);
    junit_batch_clear (&out);
}

static void
test_batch_jest (void **state)
{
    char *units[] = { "src/sum.test.js", "src/utils/format.test.js" };
    junit_batch_t out;
    s_batch ("jest_junit_file.xml", units, NULL, 2, &out);
    assert_int_equal (out.cases, 5);
    ASSERT_SECONDS (out.seconds[0], 0.021 + 0.012 + 0);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[1], 0.019 + 0.005);
    assert_int_equal (out.state[1], JUNIT_UNIT_PASSED);
    junit_batch_clear (&out);
    //  Without addFileAttribute nothing names a file: an error, not zeros.
    char *path = s_fixture ("jest_junit_nofile.xml");
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (path), NULL, units, NULL, 2, &out, why, sizeof why), -1);
    assert_non_null (strstr (why, "no test case matched a unit of the batch"));
    assert_null (out.seconds);
    free (path);
}

//  mocha-junit-reporter writes absolute paths on the testsuite.
static void
test_batch_mocha (void **state)
{
    char *units[] = { "test/staking/pool.test.js", "test/token.test.js" };
    junit_batch_t out;
    s_batch ("mocha_junit_reporter.xml", units, NULL, 2, &out);
    assert_int_equal (out.cases, 4);
    assert_int_equal (out.unmatched, 0);
    ASSERT_SECONDS (out.seconds[0], 0.026 + 0.009 + 0.007);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[1], 0.013);
    assert_int_equal (out.state[1], JUNIT_UNIT_PASSED);
    junit_batch_clear (&out);
}

static void
test_batch_ctest (void **state)
{
    char *units[] = { "parser_roundtrip", "net_timeout", "gpu_kernels", "legacy_io" };
    junit_batch_t out;
    s_batch ("ctest_output_junit.xml", units, NULL, 4, &out);
    assert_int_equal (out.cases, 4);
    ASSERT_SECONDS (out.seconds[0], 0.202606);
    assert_int_equal (out.state[0], JUNIT_UNIT_PASSED);
    ASSERT_SECONDS (out.seconds[1], 0.102842);
    assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[2], 0.00168517);
    assert_int_equal (out.state[2], JUNIT_UNIT_PASSED);
    assert_int_equal (out.state[3], JUNIT_UNIT_PASSED);
    junit_batch_clear (&out);
    //  Skipped (SKIP_RETURN_CODE) and disabled (status="disabled") read as skipped.
    s_cases_t list = { 0 };
    char why[512];
    assert_int_equal (s_read ("ctest_output_junit.xml", NULL, &list, why, sizeof why), 0);
    assert_true (s_case (&list, "gpu_kernels")->skipped);
    assert_true (s_case (&list, "legacy_io")->skipped);
    assert_false (s_case (&list, "parser_roundtrip")->skipped);
    s_cases_free (&list);
}

static void
test_batch_surefire (void **state)
{
    char *units[] = { "billing/src/test/java/com/acme/billing/InvoiceTest.java",
                      "billing/src/test/java/com/acme/billing/OtherTest.java",
                      "billing/src/test/java/com/acme/InvoiceTest.java" };
    junit_batch_t out;
    s_batch ("surefire_TEST-com.acme.billing.InvoiceTest.xml", units, NULL, 3, &out);
    assert_int_equal (out.cases, 5);
    assert_int_equal (out.unmatched, 0);
    //  $WhenEmpty (JUnit 5 @Nested) belongs to the outer class's file; its
    //  <rerunFailure> passed on a rerun, the others failed and errored.
    ASSERT_SECONDS (out.seconds[0], 0.312 + 0.041 + 0 + 0.25 + 0.131);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    assert_int_equal (out.state[1], JUNIT_UNIT_ABSENT);
    assert_int_equal (out.state[2], JUNIT_UNIT_ABSENT);
    junit_batch_clear (&out);
    //  Units named by class.
    char *by_class[] = { "com.acme.billing.InvoiceTest" };
    s_batch ("surefire_TEST-com.acme.billing.InvoiceTest.xml", by_class, NULL, 1, &out);
    ASSERT_SECONDS (out.seconds[0], 0.734);
    junit_batch_clear (&out);
    //  A path that only looks like the class's does not match.
    char *traps[] = { "src/test/java/xcom/acme/billing/InvoiceTest.java",
                      "src/test/java/com/acme/billing/InvoiceTest.py" };
    char *path = s_fixture ("surefire_TEST-com.acme.billing.InvoiceTest.xml");
    char why[512];
    assert_int_equal (junit_batch (ONE (path), NULL, traps, NULL, 2, &out, why, sizeof why), -1);
    free (path);
}

static void
test_batch_gradle_kotlin (void **state)
{
    char *units[] = { "app/src/test/kotlin/com/acme/shop/CartTest.kt" };
    junit_batch_t out;
    s_batch ("gradle_TEST-com.acme.shop.CartTest.xml", units, NULL, 1, &out);
    assert_int_equal (out.cases, 3);
    ASSERT_SECONDS (out.seconds[0], 0.903 + 0.2 + 0.101);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    junit_batch_clear (&out);
}

//  Several reports, as a Surefire or Gradle folder holds them: cases of all
//  of them go to the batch; a well-formed file of another root is passed
//  over and counted, unless every file is one; a broken one fails all.
static void
test_batch_several_files (void **state)
{
    char *units[] = { "billing/src/test/java/com/acme/billing/InvoiceTest.java",
                      "app/src/test/kotlin/com/acme/shop/CartTest.kt" };
    char *surefire = s_fixture ("surefire_TEST-com.acme.billing.InvoiceTest.xml");
    char *gradle = s_fixture ("gradle_TEST-com.acme.shop.CartTest.xml");
    char *foreign = s_fixture ("wrong_root.xml");
    char *broken = s_fixture ("malformed.xml");
    const char *three[] = { surefire, foreign, gradle };
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (three, 3, NULL, units, NULL, 2, &out, why, sizeof why), 0);
    assert_int_equal (out.cases, 5 + 3);
    assert_int_equal (out.foreign, 1);
    ASSERT_SECONDS (out.seconds[0], 0.312 + 0.041 + 0 + 0.25 + 0.131);
    ASSERT_SECONDS (out.seconds[1], 0.903 + 0.2 + 0.101);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);
    junit_batch_clear (&out);
    //  Only foreign files: no report at all.
    const char *only_foreign[] = { foreign, foreign };
    assert_int_equal (junit_batch (only_foreign, 2, NULL, units, NULL, 2, &out, why,
                                   sizeof why), -1);
    assert_non_null (strstr (why, "not <testsuites> or <testsuite>"));
    assert_null (out.seconds);
    //  One broken file: the batch cannot trust the rest either.
    const char *with_broken[] = { surefire, broken, gradle };
    assert_int_equal (junit_batch (with_broken, 3, NULL, units, NULL, 2, &out, why,
                                   sizeof why), -1);
    assert_non_null (strstr (why, "malformed.xml is malformed"));
    assert_null (out.seconds);
    free (surefire);
    free (gradle);
    free (foreign);
    free (broken);
}

static void
test_batch_go (void **state)
{
    char *units[] = { "./internal/store", "cmd/appctl", "internal" };
    junit_batch_t out;
    s_batch ("go_junit_report_v2.xml", units, NULL, 3, &out);
    assert_int_equal (out.cases, 5);
    assert_int_equal (out.unmatched, 0);
    ASSERT_SECONDS (out.seconds[0], 0.120 + 0.250 + 0.040);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[1], 0.030 + 0.001);
    assert_int_equal (out.state[1], JUNIT_UNIT_PASSED);
    //  The longest tail wins: "internal" is not internal/store.
    assert_int_equal (out.state[2], JUNIT_UNIT_ABSENT);
    junit_batch_clear (&out);
    //  v1 writes the last element as classname, the path as the suite name.
    s_batch ("go_junit_report_v1.xml", units, NULL, 3, &out);
    ASSERT_SECONDS (out.seconds[0], 0.370);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    assert_int_equal (out.state[1], JUNIT_UNIT_ABSENT);
    junit_batch_clear (&out);
}

static void
test_batch_odd_values (void **state)
{
    char *units[] = { "spec/outer_spec.rb", "spec/inner_spec.rb", "spec/own_spec.rb", "Lonely" };
    junit_batch_t out;
    s_batch ("odd_values.xml", units, NULL, 4, &out);
    assert_int_equal (out.cases, 18);
    assert_int_equal (out.unmatched, 1);    //  the case that names nothing
    //  Unusable times count as 0 but still mark the unit seen.
    ASSERT_SECONDS (out.seconds[0], 0.5 + 2.5 + 0.25 + 0.0625);
    assert_int_equal (out.state[0], JUNIT_UNIT_FAILED);
    ASSERT_SECONDS (out.seconds[1], 0.125 + 1);
    assert_int_equal (out.state[1], JUNIT_UNIT_PASSED);
    ASSERT_SECONDS (out.seconds[2], 4);
    ASSERT_SECONDS (out.seconds[3], 8);
    junit_batch_clear (&out);
}

//  ------------------------------------------------------------------------
//  The committed real reports in shared/data

static char *
s_shared_path (const char *relative)
{
    char *path = util_format ("%s/%s", s_shared, relative);
    if (access (path, R_OK) != 0) {
        free (path);
        return NULL;
    }
    return path;
}

//  0xarc-io/contracts: mocha-junit-reporter with absolute paths from another
//  machine. The per-file sums must be the dataset's (which stripped the
//  prefix by hand); units and values come from its "timings" object.
static void
test_real_mocha_0xarc (void **state)
{
    char *report = s_shared_path ("junit/0xarc-io__contracts__test-results.xml");
    char *timings = s_shared_path ("timings/0xarc-io__contracts__mocha_junit.json");
    if (!report || !timings) {
        free (report);
        free (timings);
        skip ();
    }
    FILE *file = fopen (timings, "re");
    assert_non_null (file);
    char *units[64];
    double want[64];
    size_t count = 0;
    bool inside = false;
    char line[1024];
    while (fgets (line, sizeof line, file)) {
        if (strstr (line, "\"timings\""))
            inside = true;
        else if (inside && strchr (line, '}'))
            inside = false;
        else if (inside) {
            char *open = strchr (line, '"');
            char *close = open ? strchr (open + 1, '"') : NULL;
            assert_non_null (close);
            assert_true (count < COUNT (units));
            char *end = NULL;
            want[count] = strtod (close + 2, &end);
            assert_true (end > close + 2);
            units[count++] = util_strndup (open + 1, (size_t) (close - open - 1));
        }
    }
    fclose (file);
    assert_int_equal (count, 33);
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (report), NULL, units, NULL, count, &out, why,
                                   sizeof why), 0);
    assert_int_equal (out.cases, 721);
    assert_int_equal (out.unmatched, 0);
    for (size_t i = 0; i < count; i++) {
        //  The dataset rounds to milliseconds.
        if (fabs (out.seconds[i] - want[i]) > 0.0005) {
            printf ("  %s: %.6f, dataset %.3f\n", units[i], out.seconds[i], want[i]);
            fail ();
        }
        assert_int_equal (out.state[i], JUNIT_UNIT_PASSED);
    }
    ASSERT_SECONDS (out.seconds[4], 16.559);    //  test/contracts/ownableContracts.test.ts
    junit_batch_clear (&out);
    for (size_t i = 0; i < count; i++)
        free (units[i]);
    free (report);
    free (timings);
}

//  Ariel-Liao/mitiq: pytest xunit2, no file attribute, 1835 cases.
static void
test_real_pytest_mitiq (void **state)
{
    char *report = s_shared_path ("junit/Ariel-Liao__mitiq__test-results.xml");
    if (!report)
        skip ();
    //  Every case's module as a unit, from a first reading.
    s_cases_t list = { 0 };
    char why[512] = "";
    assert_int_equal (junit_read (report, NULL, s_collect, &list, why, sizeof why), 0);
    assert_int_equal (list.count, 1835);
    char **units = util_calloc (list.count, sizeof (char *));
    size_t count = 0;
    double total = 0;
    for (size_t i = 0; i < list.count; i++) {
        assert_null (list.cases[i].file);
        total += list.cases[i].seconds;
        char *unit = util_format ("%s.py", list.cases[i].classname);
        for (char *c = unit; *c; c++)
            if (*c == '.' && strcmp (c, ".py") != 0)
                *c = '/';
        bool seen = false;
        for (size_t u = 0; u < count && !seen; u++)
            seen = strcmp (units[u], unit) == 0;
        if (seen)
            free (unit);
        else
            units[count++] = unit;
    }
    assert_int_equal (count, 43);
    ASSERT_SECONDS (total, 1915.224);
    junit_batch_t out;
    assert_int_equal (junit_batch (ONE (report), NULL, units, NULL, count, &out, why,
                                   sizeof why), 0);
    assert_int_equal (out.unmatched, 0);
    double sum = 0;
    for (size_t u = 0; u < count; u++) {
        sum += out.seconds[u];
        assert_int_equal (out.state[u], JUNIT_UNIT_PASSED);
        if (strcmp (units[u], "mitiq/cdr/tests/test_cdr.py") == 0)
            ASSERT_SECONDS (out.seconds[u], 1203.488);
        if (strcmp (units[u], "mitiq/pec/tests/test_pec.py") == 0)
            ASSERT_SECONDS (out.seconds[u], 251.146);
    }
    ASSERT_SECONDS (sum, 1915.224);
    junit_batch_clear (&out);
    for (size_t u = 0; u < count; u++)
        free (units[u]);
    free (units);
    s_cases_free (&list);
    free (report);
}

//  Datavault-UK/automate-dv: pytest xunit2 with file=, 4 failures.
static void
test_real_pytest_automate_dv (void **state)
{
    char *report = s_shared_path ("junit/Datavault-UK__automate-dv__junit.xml");
    if (!report)
        skip ();
    char *units[] = { "tests/unit/internal/test_alias.py",
                      "tests/unit/internal/test_as_constant.py",
                      "tests/unit/internal/test_expand_column_list.py",
                      "tests/unit/staging/test_derive_columns.py",
                      "tests/unit/staging/test_hash_columns.py",
                      "tests/unit/staging/test_stage.py",
                      "tests/unit/supporting/test_hash.py",
                      "tests/unit/supporting/test_prefix.py",
                      "tests/unit/tables/test_hub.py",
                      "tests/unit/tables/test_link.py" };
    double want[] = { 145.476, 10.62, 37.688, 44.807, 80.219,
                      192.088, 74.536, 97.524, 240.565, 135.387 };
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (report), NULL, units, NULL, 10, &out, why, sizeof why), 0);
    assert_int_equal (out.cases, 55);
    assert_int_equal (out.unmatched, 0);
    for (size_t i = 0; i < COUNT (units); i++) {
        ASSERT_SECONDS (out.seconds[i], want[i]);
        bool failing = i == 5 || i == 8;
        assert_int_equal (out.state[i], failing ? JUNIT_UNIT_FAILED : JUNIT_UNIT_PASSED);
    }
    junit_batch_clear (&out);
    free (report);
}

//  ------------------------------------------------------------------------
//  Hostile and broken reports

static void
test_refuse_broken (void **state)
{
    static const struct {
        const char *fixture;     //  file in tests/fixtures/junit
        const char *expect;      //  in why
    } cases[] = {
        { "no_such_report.xml", "is missing" },
        { "empty.xml", "is empty" },
        { "blank.xml", "malformed at line 3: no element found" },
        { "malformed.xml", "malformed at line 4: mismatched tag" },
        { "truncated.xml", "malformed at line" },
        { "wrong_root.xml", "has root <html>, not <testsuites> or <testsuite>" },
        { "doctype_laughs.xml", "has a DOCTYPE, refused" },
        { "doctype_external.xml", "has a DOCTYPE, refused" },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        char *path = s_fixture (cases[i].fixture);
        if (strcmp (cases[i].fixture, "truncated.xml") != 0)
            s_assert_refused (path, NULL, cases[i].expect);
        else {
            //  Cases before the cut may have been read; the report still fails.
            s_cases_t list = { 0 };
            char why[512] = "";
            assert_int_equal (junit_read (path, NULL, s_collect, &list, why, sizeof why), -1);
            assert_non_null (strstr (why, cases[i].expect));
            s_cases_free (&list);
        }
        free (path);
    }
}

static void
test_refuse_not_a_file (void **state)
{
    s_assert_refused (s_fixtures, NULL, "not a regular file");
    //  A FIFO with no writer: refused at once, not waited on.
    char *fifo = s_temp_path ("fifo");
    assert_int_equal (mkfifo (fifo, 0600), 0);
    int64_t started = util_mono_ms ();
    s_assert_refused (fifo, NULL, "not a regular file");
    assert_true (util_mono_ms () - started < 5000);
    free (fifo);
}

static void
test_refuse_deep (void **state)
{
    char *path = s_temp_path ("deep.xml");
    FILE *file = fopen (path, "we");
    assert_non_null (file);
    fputs ("<testsuites>", file);
    for (int i = 0; i < 10000; i++)
        fputs ("<testsuite>", file);
    fputs ("<testcase name=\"bottom\" file=\"spec/a_spec.rb\" time=\"1\"/>", file);
    for (int i = 0; i < 10000; i++)
        fputs ("</testsuite>", file);
    fputs ("</testsuites>\n", file);
    assert_int_equal (fclose (file), 0);
    s_assert_refused (path, NULL, "nests elements deeper than 64");
    //  The limit is what refused it: a caller that allows the depth reads it.
    junit_limits_t limits;
    junit_limits_default (&limits);
    limits.max_depth = 10002;
    s_cases_t list = { 0 };
    char why[512] = "";
    assert_int_equal (junit_read (path, &limits, s_collect, &list, why, sizeof why), 0);
    assert_int_equal (list.count, 1);
    assert_string_equal (list.cases[0].name, "bottom");
    s_cases_free (&list);
    limits.max_depth = 10001;
    s_assert_refused (path, &limits, "deeper than 10001");
    free (path);
}

//  Write a report whose one <system-out> holds fill bytes.
static void
s_write_chatty (const char *path, size_t fill)
{
    FILE *file = fopen (path, "we");
    assert_non_null (file);
    fputs ("<?xml version=\"1.0\"?>\n<testsuite name=\"chatty\">\n"
           "<testcase file=\"spec/a_spec.rb\" name=\"before\" time=\"1.5\"/>\n"
           "<testcase file=\"spec/b_spec.rb\" name=\"loud\" time=\"2\"><system-out>",
           file);
    char block[65536];
    memset (block, 'x', sizeof block);
    for (size_t i = 0; i < sizeof block; i += 80)
        block[i] = '\n';
    for (size_t left = fill; left > 0;) {
        size_t now = left < sizeof block ? left : sizeof block;
        assert_int_equal (fwrite (block, 1, now, file), now);
        left -= now;
    }
    fputs ("</system-out><failure message=\"late\"/></testcase>\n"
           "<testcase file=\"spec/a_spec.rb\" name=\"after\" time=\"0.25\"/>\n</testsuite>\n",
           file);
    assert_int_equal (fclose (file), 0);
}

static long
s_max_rss_kib (void)
{
    struct rusage usage;
    assert_int_equal (getrusage (RUSAGE_SELF, &usage), 0);
    return usage.ru_maxrss;
}

//  100 MB: over the default limit, refused from its size alone.
static void
test_refuse_huge (void **state)
{
    char *path = s_temp_path ("huge.xml");
    s_write_chatty (path, 100u * 1000 * 1000);
    int64_t started = util_mono_ms ();
    s_assert_refused (path, NULL, "is too large");
    assert_true (util_mono_ms () - started < 1000);
    unlink (path);
    free (path);
}

//  Just under a small limit, with a huge <system-out>: read in full, and the
//  text costs no memory.
static void
test_huge_output_bounded (void **state)
{
    char *path = s_temp_path ("chatty.xml");
    s_write_chatty (path, 40u * 1024 * 1024);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    junit_limits_t limits;
    junit_limits_default (&limits);
    limits.max_bytes = (size_t) info.st_size;
    char *units[] = { "spec/a_spec.rb", "spec/b_spec.rb" };
    long before = s_max_rss_kib ();
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (path), &limits, units, NULL, 2, &out, why, sizeof why), 0);
    long grown = s_max_rss_kib () - before;
    if (grown > 8 * 1024) {
        printf ("  peak memory grew by %ld KiB reading a 40 MiB <system-out>\n", grown);
        fail ();
    }
    assert_int_equal (out.cases, 3);
    ASSERT_SECONDS (out.seconds[0], 1.75);
    assert_int_equal (out.state[0], JUNIT_UNIT_PASSED);
    ASSERT_SECONDS (out.seconds[1], 2);
    assert_int_equal (out.state[1], JUNIT_UNIT_FAILED);
    junit_batch_clear (&out);
    //  One byte over a limit is too large.
    limits.max_bytes = (size_t) info.st_size - 1;
    s_assert_refused (path, &limits, "is too large");
    unlink (path);
    free (path);
}

//  ------------------------------------------------------------------------
//  Scale: lookups are indexed, not cases x units.

static void
test_scale (void **state)
{
    enum { UNITS = 40000 };
    char *path = s_temp_path ("many.xml");
    FILE *file = fopen (path, "we");
    assert_non_null (file);
    fputs ("<testsuites><testsuite name=\"many\">\n", file);
    for (int i = 0; i < UNITS; i++)
        fprintf (file,
                 "<testcase classname=\"tests.pkg%d.test_m%d\" name=\"test_x\" time=\"0.5\"/>\n",
                 i % 100, i);
    fputs ("</testsuite></testsuites>\n", file);
    assert_int_equal (fclose (file), 0);
    char **units = util_calloc (UNITS, sizeof (char *));
    for (int i = 0; i < UNITS; i++)
        units[i] = util_format ("tests/pkg%d/test_m%d.py", (UNITS - 1 - i) % 100, UNITS - 1 - i);
    int64_t started = util_mono_ms ();
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (path), NULL, units, NULL, UNITS, &out, why, sizeof why), 0);
    int64_t elapsed = util_mono_ms () - started;
    assert_int_equal (out.cases, UNITS);
    assert_int_equal (out.unmatched, 0);
    for (int i = 0; i < UNITS; i++) {
        ASSERT_SECONDS (out.seconds[i], 0.5);
        assert_int_equal (out.state[i], JUNIT_UNIT_PASSED);
    }
    junit_batch_clear (&out);
    printf ("  %d cases onto %d units in %lld ms\n", UNITS, UNITS, (long long) elapsed);
    assert_true (elapsed < 10000);
    for (int i = 0; i < UNITS; i++)
        free (units[i]);
    free (units);
    unlink (path);
    free (path);
}

//  Thousands of rspec examples of one file, a report naming only the file.
static void
test_scale_examples (void **state)
{
    enum { EXAMPLES = 20000 };
    char *path = s_temp_path ("examples.xml");
    FILE *file = fopen (path, "we");
    assert_non_null (file);
    fputs ("<testsuite name=\"rspec\">\n", file);
    for (int i = 0; i < EXAMPLES; i++)
        fprintf (file, "<testcase file=\"./spec/big_spec.rb\" name=\"e%d\" time=\"0.25\">%s</testcase>\n",
                 i, i == 7 ? "<failure/>" : "");
    fputs ("</testsuite>\n", file);
    assert_int_equal (fclose (file), 0);
    char **units = util_calloc (EXAMPLES, sizeof (char *));
    uint64_t *predicted = util_calloc (EXAMPLES, sizeof (uint64_t));
    for (int i = 0; i < EXAMPLES; i++) {
        units[i] = util_format ("./spec/big_spec.rb[1:%d]", i + 1);
        predicted[i] = i < EXAMPLES / 2 ? 3 : 1;
    }
    int64_t started = util_mono_ms ();
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (path), NULL, units, predicted, EXAMPLES, &out, why,
                                   sizeof why), 0);
    int64_t elapsed = util_mono_ms () - started;
    double total = 0.25 * EXAMPLES, weight = 3.0 * EXAMPLES / 2 + 1.0 * EXAMPLES / 2;
    double sum = 0;
    for (int i = 0; i < EXAMPLES; i++) {
        ASSERT_SECONDS (out.seconds[i], total * (i < EXAMPLES / 2 ? 3 : 1) / weight);
        assert_int_equal (out.state[i], JUNIT_UNIT_FAILED);
        sum += out.seconds[i];
    }
    assert_true (fabs (sum - total) < 1e-6);
    junit_batch_clear (&out);
    assert_true (elapsed < 10000);
    for (int i = 0; i < EXAMPLES; i++)
        free (units[i]);
    free (units);
    free (predicted);
    unlink (path);
    free (path);
}

//  ------------------------------------------------------------------------
//  Hostile names: the mapping's work grows with the report, not with its
//  square or cube. Found while building fuzz/fuzz_junit.c, by reading and
//  timing, not by libFuzzer (its inputs stayed too small to be slow): the
//  first report below, 32 KB, took the old code 137 s, and the others, by
//  their growth at smaller sizes, over a minute each; now each takes
//  milliseconds, and maps its case as before.

//  A report of one case with these attributes, mapped onto units: the one
//  unit expected_unit has the case (time 1), the others nothing.
static void
s_assert_fast_mapping (const char *file_attr, const char *classname, char **units, size_t count,
                       size_t expected_unit)
{
    char *path = s_temp_path ("names.xml");
    FILE *file = fopen (path, "we");
    assert_non_null (file);
    fputs ("<testsuite><testcase", file);
    if (file_attr)
        fprintf (file, " file=\"%s\"", file_attr);
    fprintf (file, " classname=\"%s\" name=\"n\" time=\"1\"/></testsuite>\n", classname);
    assert_int_equal (fclose (file), 0);
    int64_t started = util_mono_ms ();
    junit_batch_t out;
    char why[512] = "";
    assert_int_equal (junit_batch (ONE (path), NULL, units, NULL, count, &out, why, sizeof why), 0);
    int64_t elapsed = util_mono_ms () - started;
    printf ("  %zu-byte classname mapped in %lld ms\n", strlen (classname),
            (long long) elapsed);
    assert_true (elapsed < 5000);
    assert_int_equal (out.cases, 1);
    assert_int_equal (out.unmatched, 0);
    for (size_t i = 0; i < count; i++) {
        ASSERT_SECONDS (out.seconds[i], i == expected_unit ? 1 : 0);
        assert_int_equal (out.state[i], i == expected_unit ? JUNIT_UNIT_PASSED
                                                           : JUNIT_UNIT_ABSENT);
    }
    junit_batch_clear (&out);
    unlink (path);
    free (path);
}

//  A string of count copies of piece, then tail (caller frees).
static char *
s_repeat (const char *piece, size_t count, const char *tail)
{
    size_t piece_len = strlen (piece), tail_len = strlen (tail);
    char *text = util_malloc (piece_len * count + tail_len + 1);
    for (size_t i = 0; i < count; i++)
        memcpy (text + i * piece_len, piece, piece_len);
    memcpy (text + piece_len * count, tail, tail_len + 1);
    return text;
}

static void
test_hostile_names_fast (void **state)
{
    //  Rule 1: a file of 8000 "/"-bounded tails and a classname of 8000
    //  dots. The pytest classes were worked out for every tail (cubic).
    char *file_attr = s_repeat ("a/", 8000, "a.py");
    char *classname = s_repeat ("a.", 8000, "C");
    char *examples[] = { "a.py::C::m", "other.py" };
    s_assert_fast_mapping (file_attr, classname, examples, 2, 0);
    free (file_attr);
    free (classname);

    //  Rule 2: a classname of 400000 dots. A path was built for every one
    //  of them, though no unit is that long (quadratic).
    classname = s_repeat ("a.", 400000, "C");
    char *modules[] = { "zz.py", "a/a.py" };
    s_assert_fast_mapping (NULL, classname, modules, 2, 1);
    free (classname);

    //  A pytest id of 200000 classes cut back to FILE::A: the id was
    //  searched again from its start for every cut (quadratic).
    classname = s_repeat ("A.", 200000, "C");
    char *dotted = util_format ("x.%s", classname);
    char *classes[] = { "x.py::B", "x.py::A" };
    s_assert_fast_mapping ("x.py", dotted, classes, 2, 1);
    free (dotted);
    free (classname);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_read_pytest_xunit1),
        cmocka_unit_test (test_read_odd_values),
        cmocka_unit_test (test_case_unit),
        cmocka_unit_test (test_read_stop),
        cmocka_unit_test (test_batch_rspec_files),
        cmocka_unit_test (test_batch_rspec_examples),
        cmocka_unit_test (test_batch_pytest_files),
        cmocka_unit_test (test_batch_pytest_examples),
        cmocka_unit_test (test_batch_jest),
        cmocka_unit_test (test_batch_mocha),
        cmocka_unit_test (test_batch_ctest),
        cmocka_unit_test (test_batch_surefire),
        cmocka_unit_test (test_batch_gradle_kotlin),
        cmocka_unit_test (test_batch_several_files),
        cmocka_unit_test (test_batch_go),
        cmocka_unit_test (test_batch_odd_values),
        cmocka_unit_test (test_real_mocha_0xarc),
        cmocka_unit_test (test_real_pytest_mitiq),
        cmocka_unit_test (test_real_pytest_automate_dv),
        cmocka_unit_test (test_refuse_broken),
        cmocka_unit_test (test_refuse_not_a_file),
        cmocka_unit_test (test_refuse_deep),
        cmocka_unit_test (test_refuse_huge),
        cmocka_unit_test (test_huge_output_bounded),
        cmocka_unit_test (test_scale),
        cmocka_unit_test (test_scale_examples),
        cmocka_unit_test (test_hostile_names_fast),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
