/*  test_prom_text.c: the checker of Prometheus's text format that
    test_e2e_metrics reads satcheld's metrics file with must itself refuse
    what the format forbids, or its passing would prove nothing.          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prom_text.h"

static const char s_good[] =
    "# HELP a_total Things.\n"
    "# TYPE a_total counter\n"
    "a_total{type=\"join\",result=\"ok\"} 3\n"
    "a_total{type=\"next\",result=\"busy\"} 0\n"
    "# a comment\n"
    "# TYPE g gauge\n"
    "g 1.5e3\n"
    "# TYPE h_seconds histogram\n"
    "h_seconds_bucket{le=\"0.1\"} 1\n"
    "h_seconds_bucket{le=\"1\"} 4\n"
    "h_seconds_bucket{le=\"+Inf\"} 5\n"
    "h_seconds_sum 2.25\n"
    "h_seconds_count 5\n"
    "# TYPE i gauge\n"
    "i{version=\"0.1.0\",path=\"a\\\\b \\\"q\\\"\"} 1\n";

static void
test_good_file (void **state)
{
    (void) state;
    prom_doc_t doc;
    char why[256] = "";
    if (prom_parse (s_good, &doc, why, sizeof why) != 0)
        fail_msg ("%s", why);
    assert_int_equal (doc.count, 9);
    assert_true (prom_value (&doc, "a_total", "type=\"join\",result=\"ok\"") == 3);
    assert_true (prom_value (&doc, "g", "") == 1500);
    assert_true (prom_value (&doc, "h_seconds_count", "") == 5);
    assert_true (isnan (prom_value (&doc, "missing", "")));
    prom_free (&doc);
}

static void
test_bad_files (void **state)
{
    (void) state;
    const struct {
        const char *text;
        const char *why;
    } cases[] = {
        { "# TYPE g gauge\ng 1", "does not end with a newline" },
        { "g 1\n", "g: no TYPE before it" },
        { "# TYPE a counter\na 1\n", "should end in _total" },
        { "# TYPE a_total counter\na_total -1\n", "a counter below 0" },
        { "# TYPE g gauge\ng one\n", "bad value" },
        { "# TYPE g gauge\n9g 1\n", "not a sample" },
        { "# TYPE g gauge\ng{x=1} 1\n", "bad labels" },
        { "# TYPE g gauge\ng{x=\"1\" 1\n", "labels not closed" },
        { "# TYPE g gauge\ng{x=\"\\q\"} 1\n", "bad labels" },
        { "# TYPE g gauge\n# TYPE g gauge\n", "TYPE given twice" },
        { "# TYPE g sparkline\n", "unknown type" },
        { "# TYPE g gauge\n# TYPE f gauge\ng 1\nf 1\ng 2\n", "not together" },
        { "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"0.5\"} 2\n"
          "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", "not above the one before" },
        { "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\n"
          "h_count 2\n", "counts less" },
        { "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", "no +Inf bucket" },
        { "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
          "is not the +Inf bucket's" },
        { "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "no _sum" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prom_doc_t doc;
        char why[256] = "";
        assert_int_equal (prom_parse (cases[i].text, &doc, why, sizeof why), -1);
        if (!strstr (why, cases[i].why))
            fail_msg ("case %zu: expected \"%s\", got \"%s\"", i, cases[i].why, why);
        assert_int_equal (doc.count, 0);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_good_file),
        cmocka_unit_test (test_bad_files),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
