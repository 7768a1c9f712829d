/*  test_e2e_report.c: `satchel report` against real builds, and the page
    it writes rendered by a real browser. A real satcheld on loopback, a
    real three-node build with JUnit reports in which one unit fails, and
    a one-node build of a unit whose name holds HTML's special characters:

    - the page is one file with nothing from elsewhere: no script, no link,
      no src, no url(); a bar (an SVG rect) for every batch the database
      has, the lower bound and the makespan drawn, one bottleneck, the
      slowest units and the failed unit named;
    - the odd name is escaped (it cannot become markup);
    - headless Chromium (Debian's chromium, which the test command
      installs) opens it from a file:// URL: its DOM holds the same bars,
      it logs no console message (no script error can happen), and the
      screenshot it takes is a PNG of the page.

    Without chromium on the machine the browser half is skipped, said on
    stderr; the README's test command installs it, so CI runs it.       */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEADLINE_MS 60000
#define UNITS 9

static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    return 0;
}

//  Run `satchel report --build id --output path`; it must exit 0.
static char *
s_report (e2e_fixture_t *fx, int64_t id, const char *name)
{
    char *satchel = harness_bin ("satchel");
    char *path = e2e_fixture_path (fx, "%s", name);
    char build[32];
    snprintf (build, sizeof build, "%lld", (long long) id);
    char *argv[] = { satchel, "report", "--coordinator", fx->daemon.endpoint, "--build", build,
                     "--output", path, NULL };
    char *err = e2e_fixture_path (fx, "%s.err", name);
    int status = harness_run (argv, fx->dir, NULL, err, err, DEADLINE_MS);
    if (status != 0) {
        harness_dump_tail ("satchel report", err);
        fail_msg ("satchel report exited %d", status);
    }
    char *html = harness_read_file (path);
    assert_non_null (html);
    free (err);
    free (path);
    free (satchel);
    return html;
}

//  The browser, if the machine has one.
static char *
s_chromium (void)
{
    const char *paths[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser", NULL };
    for (size_t i = 0; paths[i]; i++)
        if (access (paths[i], X_OK) == 0)
            return strdup (paths[i]);
    return NULL;
}

static void
test_report_of_a_real_build (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    for (int i = 0; i < UNITS; i++) {
        char name[64], body[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\nreport_ms=%d\n%s", 60 + 20 * i, 50 + 20 * i,
                  i == 4 ? "fail\n" : "");
        e2e_fixture_unit (fx, name, body);
    }
    char *runner = harness_source ("tests/fixtures/junit_runner.sh");
    const char *command[] = { "/bin/sh", runner, "--out={junit}", "{}", NULL };
    const char *tags[] = { "n0", "n1", "n2" };
    for (int n = 0; n < 3; n++) {
        e2e_agent_t agent = { .tag = tags[n], .suite = "report", .build = "ci-31", .index = n,
                              .total = 3, .pattern = "tests/unit_*_test.txt",
                              .command = command };
        e2e_fixture_agent (fx, &agent);
    }
    int failed = 0;
    for (int n = 0; n < 3; n++)
        failed += e2e_fixture_wait (fx, tags[n]) != 0;
    assert_int_equal (failed, 1);
    int64_t id = e2e_fixture_int (fx, "SELECT id FROM builds WHERE build_key = 'ci-31'");
    int64_t batches = e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE build_id = %lld",
                                       (long long) id);

    char *html = s_report (fx, id, "report.html");
    //  One file: nothing fetched from elsewhere, no script at all.
    const char *outside[] = { "<script", "<link", " src=", "url(", "@import", "http://",
                              "https://" };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        if (strstr (html, outside[i]))
            fail_msg ("the page has %s", outside[i]);
    assert_int_equal (strncmp (html, "<!doctype html>", 15), 0);
    assert_non_null (strstr (html, "</html>\n"));
    assert_int_equal (harness_count (html, "<rect class=\"batch "), batches);
    assert_int_equal (harness_count (html, "class=\"bound\""), 1);
    assert_int_equal (harness_count (html, "class=\"span\""), 1);
    assert_int_equal (harness_count (html, ">lower bound</text>"), 1);
    assert_int_equal (harness_count (html, "(bottleneck)"), 1);
    assert_int_equal (harness_count (html, "<text x=\"4\""), 3);        //  three lanes
    assert_non_null (strstr (html, "<b class=\"failed\">failed</b>"));
    assert_non_null (strstr (html, "<h2>Failures (1)</h2>"));
    assert_non_null (strstr (html, "<code>tests/unit_4_test.txt</code>"));
    //  The slowest unit first, with its report's time.
    const char *slowest = strstr (html, "<h2>Slowest units</h2>");
    assert_non_null (slowest);
    const char *top = strstr (slowest, "tests/unit_8_test.txt");
    assert_non_null (top);
    assert_true (top < strstr (slowest, "tests/unit_7_test.txt"));
    assert_non_null (strstr (top, "0.21 s"));

    //  A name with HTML in it stays text.
    e2e_fixture_unit (fx, "odd/<b>&'x'\"_test.txt", "ms=1\nfail\n");
    e2e_agent_t odd = { .tag = "odd", .suite = "report", .build = "ci-32", .index = 0,
                        .total = 1, .pattern = "odd/*_test.txt" };
    free (e2e_fixture_run (fx, &odd, 1));
    int64_t odd_id = e2e_fixture_int (fx, "SELECT id FROM builds WHERE build_key = 'ci-32'");
    char *odd_html = s_report (fx, odd_id, "odd.html");
    assert_null (strstr (odd_html, "<b>&"));
    assert_non_null (strstr (odd_html, "<code>odd/&lt;b&gt;&amp;&#39;x&#39;&quot;_test.txt</code>"));
    free (odd_html);

    //  In a real browser.
    char *chromium = s_chromium ();
    if (!chromium) {
        fprintf (stderr, "test_e2e_report: no chromium on this machine; the browser half "
                 "is skipped (./scripts/test installs it)\n");
        free (html);
        free (runner);
        e2e_fixture_pass (fx);
        return;
    }
    char *page = e2e_fixture_path (fx, "report.html");
    char *url = NULL;
    assert_true (asprintf (&url, "file://%s", page) > 0);
    char *dom_path = e2e_fixture_path (fx, "dom.html");
    char *log_path = e2e_fixture_path (fx, "chromium.log");
    char *shot = e2e_fixture_path (fx, "shot.png");
    char *shot_flag = NULL;
    assert_true (asprintf (&shot_flag, "--screenshot=%s", shot) > 0);
    //  Its own profile in the test's folder; console messages go to the log.
    char *profile = NULL;
    assert_true (asprintf (&profile, "--user-data-dir=%s/chromium-profile", fx->dir) > 0);
    char *dump[] = { chromium, "--headless", "--no-sandbox", "--disable-gpu", profile,
                     "--enable-logging=stderr", "--v=0", "--dump-dom", url, NULL };
    assert_int_equal (harness_run (dump, fx->dir, NULL, dom_path, log_path, DEADLINE_MS), 0);
    char *dom = harness_read_file (dom_path);
    assert_non_null (dom);
    assert_int_equal (harness_count (dom, "<rect class=\"batch "), batches);
    assert_non_null (strstr (dom, "<svg"));
    char *log = harness_read_file (log_path);
    assert_non_null (log);
    if (strstr (log, "CONSOLE"))
        fail_msg ("the browser logged console messages:\n%s", log);
    free (log);
    char *snap[] = { chromium, "--headless", "--no-sandbox", "--disable-gpu", profile,
                     "--hide-scrollbars", "--window-size=1100,1000", shot_flag, url, NULL };
    assert_int_equal (harness_run (snap, fx->dir, NULL, NULL, log_path, DEADLINE_MS), 0);
    char *png = harness_read_file (shot);
    struct stat st;
    assert_int_equal (stat (shot, &st), 0);
    assert_non_null (png);
    assert_int_equal (memcmp (png, "\x89PNG\r\n\x1a\n", 8), 0);
    //  A page, not a blank: a blank 1100 x 1000 PNG is a few kilobytes.
    printf ("  the screenshot: %lld bytes\n", (long long) st.st_size);
    assert_true (st.st_size > 20000);
    free (png);
    free (dom);
    free (profile);
    free (shot_flag);
    free (shot);
    free (log_path);
    free (dom_path);
    free (url);
    free (page);
    free (chromium);
    free (html);
    free (runner);
    e2e_fixture_pass (fx);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_report_of_a_real_build, s_setup,
                                         e2e_fixture_teardown_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
