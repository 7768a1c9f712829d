/*  test_e2e_timings.c: where the timing history comes from, end to end.

    A real satcheld on a loopback wildcard port, real `satchel run` and
    `satchel import` processes, a runner that writes a JUnit report
    (tests/fixtures/junit_runner.sh), and the database read back. Proves:
    - a unit's history is the time its test report gives, not a share of
      the batch's wall time, with the report at a fresh {junit} path per
      run (removed after) or at the --junit path, or as a folder of
      reports (one per test file, as Surefire writes them) of which only
      the ones written during the run are read;
    - the report's per-unit results decide which units failed: only those
      get a failed sample, count as failed and run again elsewhere;
    - a broken or missing report (a stale one at the --junit path is not
      read) costs a warning, said once per agent, and the batch's wall
      time shared by prediction instead; the build goes on; a command
      without any report is told, once, what it misses;
    - a unit the report does not name is not measured, and keeps its share
      when the batch falls back to shares; a runner killed by a signal
      teaches nothing and its units failed;
    - the runner's start-up is learned per suite, as the rest of the wall
      time of measured batches, smoothed, and sizes later batches; without
      a report, a batch's wall time is shared over its units less the
      start-ups when the start-up is known (--runner-startup), whole when
      it is the default guess;
    - `satchel import` loads each timing-file format into the history, a
      bad file imports nothing, and a regular split uses what was loaded;
      names too long to be units are left out, counted, and their time
      kept in their file's sum;
    - a unit without history is predicted at the median of its folder,
      else of the suite, else the default, and the agent says how many;
    - each machine's pace (--machine) is learned per suite from builds on
      history (not from one on guesses), relative to its build's other
      machines, and plans a node on it from its first batch in the next
      build.                                                              */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEADLINE_MS 90000

//  What the agents print when a test report cannot be used.
#define FALLBACK_WARNING "using the batch's wall time shared by prediction"
//  What an agent says when its command has no report at all.
#define NO_REPORT_HINT "no test report (no {junit} in the command, no --junit)"

//  The fixture, its waits bounded by DEADLINE_MS, and the agents' TMPDIR,
//  where {junit} reports go.
static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    e2e_fixture_t *fx = *state;
    fx->deadline_ms = DEADLINE_MS;
    e2e_fixture_tmp (fx);
    return 0;
}

//  Every agent of this file: `satchel run` with --timeout 10, its runs
//  to <tag>.ran, its output to <tag>.err. Returns its pid.
static pid_t
s_agent (e2e_fixture_t *fx, const e2e_agent_t *agent)
{
    e2e_agent_t timed = *agent;
    timed.timeout = "10";
    return e2e_fixture_agent (fx, &timed);
}

//  Run one agent to its end; returns its output (malloc'd).
static char *
s_run (e2e_fixture_t *fx, const e2e_agent_t *agent, int expected)
{
    e2e_agent_t timed = *agent;
    timed.timeout = "10";
    return e2e_fixture_run (fx, &timed, expected);
}

//  The junit runner as the test command, writing its report to out
//  ("{junit}": the fresh per-run path the agent picks), or with out
//  "--dir=FOLDER" one report per test file into FOLDER.
typedef struct {
    char runner[1024];           //  tests/fixtures/junit_runner.sh
    char out[1300];              //  "--out=..." (paths up to 1200 bytes)
    const char *argv[5];         //  the command
} command_t;

static void
s_command (command_t *command, const char *out)
{
    char *runner = harness_source ("tests/fixtures/junit_runner.sh");
    snprintf (command->runner, sizeof command->runner, "%s", runner);
    free (runner);
    if (strncmp (out, "--dir=", 6) == 0)
        snprintf (command->out, sizeof command->out, "%s", out);
    else
        snprintf (command->out, sizeof command->out, "--out=%s", out);
    command->argv[0] = "/bin/sh";
    command->argv[1] = command->runner;
    command->argv[2] = command->out;
    command->argv[3] = "{}";
    command->argv[4] = NULL;
}

// --------------------------------------------------------------------------
//  a. The history of a unit is its time in the test report, exactly: not
//  the batch's wall time shared out. The report is at a fresh path per run
//  ({junit}) and is removed after it was read.

static void
test_report_times_are_the_history (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    //  Each sleeps ms and reports report_ms, well below: the report's time
    //  cannot be mistaken for a share of the wall time.
    static const struct { const char *name; int ms; int report_ms; } units[] = {
        { "t/a/one_test.txt", 150, 37 },
        { "t/a/two_test.txt", 90, 12 },
        { "t/b/three_test.txt", 60, 45 },
        { "t/b/four_test.txt", 40, 1 },
        { "t/c/five_test.txt", 20, 19 },
    };
    enum { COUNT = sizeof units / sizeof units[0] };
    int report_sum = 0;
    for (int i = 0; i < COUNT; i++) {
        char body[64];
        snprintf (body, sizeof body, "ms=%d\nreport_ms=%d\n", units[i].ms, units[i].report_ms);
        e2e_fixture_unit (fx, units[i].name, body);
        report_sum += units[i].report_ms;
    }
    command_t command;
    s_command (&command, "{junit}");
    e2e_agent_t agent = { .tag = "a", .suite = "measured", .build = "a1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_null (strstr (err, "warning"));
    assert_null (strstr (err, NO_REPORT_HINT));
    assert_non_null (strstr (err, "timing history: 0 of the build's units had some, 5 were"
                                  " estimated"));
    char *ran = e2e_fixture_text (fx, "a.ran");
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal (harness_count (ran, units[i].name), 1);
        //  The history and the one sample: the report's time, to the ms.
        assert_int_equal (e2e_fixture_int (fx, "SELECT estimate_ms = %d AND samples = 1 FROM"
                                               " timings WHERE name = '%s'",
                                           units[i].report_ms, units[i].name), 1);
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE name = '%s'"
                                               " AND duration_ms = %d AND ok = 1", units[i].name,
                                           units[i].report_ms), 1);
    }
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), COUNT);
    //  Every batch was measured: tests_ms is the sum of its units' reported
    //  times, less than its wall time (which holds the sleeps).
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE tests_ms IS NULL"),
                      0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT sum (tests_ms) FROM batches"), report_sum);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE tests_ms >="
                                           " wall_ms"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units WHERE ok IS NOT 1"),
                      0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed' FROM"
                                           " builds"), 1);
    //  The generated reports were removed after reading.
    assert_int_equal (harness_entries (fx->tmp), 0);
    free (ran);
    free (err);
}

//  A runner that writes one report per test file into a folder (Maven
//  Surefire, Gradle): {junit} as that folder, fresh per run and removed
//  after; or --junit FOLDER that the runner keeps, where only the reports
//  written during each run are read, never older ones, and a well-formed
//  XML file of another kind (failsafe-summary.xml) is passed over.
static void
test_report_folders (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    static const struct { const char *name; int ms; int report_ms; } units[] = {
        { "t/f/one_test.txt", 60, 21 },
        { "t/f/two_test.txt", 40, 7 },
        { "t/g/three_test.txt", 30, 13 },
    };
    enum { COUNT = sizeof units / sizeof units[0] };
    for (int i = 0; i < COUNT; i++) {
        char body[64];
        snprintf (body, sizeof body, "ms=%d\nreport_ms=%d\n", units[i].ms, units[i].report_ms);
        e2e_fixture_unit (fx, units[i].name, body);
    }
    //  1. {junit} is a folder the runner makes: every report in it is read.
    command_t command;
    s_command (&command, "--dir={junit}");
    e2e_agent_t agent = { .tag = "fa", .suite = "folders", .build = "fa1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_null (strstr (err, "warning"));
    free (err);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE name = '%s'"
                                               " AND duration_ms = %d AND ok = 1", units[i].name,
                                           units[i].report_ms), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE tests_ms IS NULL"),
                      0);
    //  The fresh folders and their reports are gone.
    assert_int_equal (harness_entries (fx->tmp), 0);

    //  2. --junit FOLDER, one run per test (--batch-size 1), the folder
    //  holding an old report that gives t/f/one_test.txt 99 s: read, it
    //  would add to that unit's time.
    char folder[1100], stale[1200], dir_flag[1200];
    snprintf (folder, sizeof folder, "%s/reports", fx->dir);
    assert_int_equal (mkdir (folder, 0755), 0);
    snprintf (stale, sizeof stale, "%s/TEST-old-run.xml", folder);
    assert_int_equal (harness_write_file (stale, "<testsuite><testcase file=\"t/f/one_test.txt\""
                                                 " name=\"old\" time=\"99\"/></testsuite>\n"), 0);
    snprintf (dir_flag, sizeof dir_flag, "--dir=%s", folder);
    s_command (&command, dir_flag);
    const char *flags[] = { "--junit", folder, "--batch-size", "1", NULL };
    agent = (e2e_agent_t) { .tag = "fb", .suite = "folders", .build = "fb1", .total = 1,
                        .pattern = "t/**/*_test.txt", .flags = flags, .command = command.argv };
    err = s_run (fx, &agent, 0);
    assert_null (strstr (err, "warning"));
    free (err);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples s JOIN builds d"
                                               " ON d.id = s.build_id"
                                               " WHERE d.build_key = 'fb1' AND s.name = '%s'"
                                               " AND s.duration_ms = %d", units[i].name,
                                           units[i].report_ms), 1);
    //  The runner's folder is its own: the old report, the summary and the
    //  three new reports stay.
    assert_int_equal (harness_entries (folder), 5);
    assert_int_equal (harness_entries (fx->tmp), 0);

    //  3. A run that writes nothing new: the old reports are not taken for
    //  its report; the agent warns and shares the batch's wall time.
    const char *silent_env[] = { "JUNIT_NONE=1", NULL };
    char none_flag[1200];
    snprintf (none_flag, sizeof none_flag, "--dir=%s/never", fx->dir);
    s_command (&command, none_flag);
    agent = (e2e_agent_t) { .tag = "fc", .suite = "folders", .build = "fc1", .total = 1,
                        .pattern = "t/f/one_test.txt", .flags = flags, .env = silent_env,
                        .command = command.argv };
    err = s_run (fx, &agent, 0);
    assert_non_null (strstr (err, "got no new or changed *.xml report during the run"));
    assert_non_null (strstr (err, FALLBACK_WARNING));
    free (err);
}

//  A command without {junit}, run without --junit: the agent says once
//  that only batch wall times are learned and how to do better, and the
//  history holds the shares of the wall time (the report the runner
//  writes to a path the agent does not know is never read).
static void
test_no_report_is_said (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    e2e_fixture_unit (fx, "t/n/u1_test.txt", "ms=40\nreport_ms=1\n");
    e2e_fixture_unit (fx, "t/n/u2_test.txt", "ms=40\nreport_ms=1\n");
    char *ignored = e2e_fixture_path (fx, "ignored.xml");
    command_t command;
    s_command (&command, ignored);
    const char *flags[] = { "--batch-size", "1", NULL };
    e2e_agent_t agent = { .tag = "n", .suite = "unreported", .build = "n1", .total = 1,
                      .pattern = "t/**/*_test.txt", .flags = flags, .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_int_equal (harness_count (err, NO_REPORT_HINT), 1);
    assert_null (strstr (err, FALLBACK_WARNING));
    free (err);
    free (ignored);
    //  Each ran alone: its sample is its run's whole wall time, not the
    //  1 ms its report claims.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE duration_ms >= 40"
                                           " AND ok = 1"), 2);
}

// --------------------------------------------------------------------------
//  b. The report's per-unit results decide which units failed.

//  Four units in one folder; the third fails.
static void
s_results_suite (e2e_fixture_t *fx)
{
    e2e_fixture_unit (fx, "t/r/u1_test.txt", "ms=20\n");
    e2e_fixture_unit (fx, "t/r/u2_test.txt", "ms=20\n");
    e2e_fixture_unit (fx, "t/r/u3_test.txt", "ms=20\nfail\n");
    e2e_fixture_unit (fx, "t/r/u4_test.txt", "ms=20\n");
}

#define BATCH_UNIT_RESULTS \
    "SELECT u.name || ' ' || coalesce (bu.ok, 'null') FROM batch_units bu" \
    " JOIN batches b ON b.id = bu.batch_id" \
    " JOIN units u ON u.build_id = b.build_id AND u.idx = bu.unit_idx ORDER BY u.name, b.id"

//  One failing unit among several in one batch: only it has a failed
//  sample and a failed result, the others passed; the node exits 1.
static void
test_unit_results_decide_failures (void **state)
{
    e2e_fixture_t *fx = *state;
    //  A large start-up guess makes the first batch take the whole build.
    const char *daemon[] = { "--runner-startup", "30", NULL };
    e2e_fixture_daemon (fx, daemon);
    s_results_suite (fx);
    command_t command;
    s_command (&command, "{junit}");
    e2e_agent_t agent = { .tag = "b", .suite = "results", .build = "b1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 1);
    assert_non_null (strstr (err, "some tests failed"));
    assert_null (strstr (err, FALLBACK_WARNING));
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT exit_code FROM batches"), 1);
    char *samples = e2e_fixture_lines (fx, "SELECT name || ' ' || ok FROM samples ORDER BY name,"
                                           " id");
    assert_string_equal (samples, "t/r/u1_test.txt 1\nt/r/u2_test.txt 1\nt/r/u3_test.txt 0\n"
                                  "t/r/u4_test.txt 1\n");
    char *results = e2e_fixture_lines (fx, BATCH_UNIT_RESULTS);
    assert_string_equal (results, "t/r/u1_test.txt 1\nt/r/u2_test.txt 1\nt/r/u3_test.txt 0\n"
                                  "t/r/u4_test.txt 1\n");
    //  A failed unit's time is history all the same.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), 4);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'failed' FROM"
                                           " builds"), 1);
    free (samples);
    free (results);
    free (err);
}

//  With --requeue-failed and a second node, the failing unit, and only
//  it, runs again there. The first node's runner holds its batch open
//  (GATE) until the second node waits, so the second is surely there to
//  take the run again.
static void
test_failed_unit_runs_again_elsewhere (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *daemon[] = { "--runner-startup", "30", "--requeue-failed", "1", NULL };
    e2e_fixture_daemon (fx, daemon);
    s_results_suite (fx);
    char gate[1024], gate_env[1100];
    snprintf (gate, sizeof gate, "%s/gate", fx->dir);
    snprintf (gate_env, sizeof gate_env, "GATE=%s", gate);
    command_t command;
    s_command (&command, "{junit}");
    const char *env[] = { gate_env, NULL };
    e2e_agent_t first = { .tag = "r0", .suite = "results", .build = "b2", .index = 0, .total = 2,
                      .pattern = "t/**/*_test.txt", .env = env, .command = command.argv };
    e2e_agent_t second = first;
    second.tag = "r1";
    second.index = 1;
    s_agent (fx, &first);
    assert_int_equal (e2e_fixture_wait_for (fx, "t/r/u4_test.txt", "r0.ran"), 0);
    s_agent (fx, &second);
    assert_int_equal (e2e_fixture_wait_for (fx, "waiting while other nodes finish", "r1.err"), 0);
    assert_int_equal (harness_write_file (gate, "open\n"), 0);
    e2e_fixture_expect_exit (fx, "r0", 1);
    e2e_fixture_expect_exit (fx, "r1", 1);
    //  Node 0 ran all four in one batch; node 1 ran the failed one again.
    char *ran1 = e2e_fixture_text (fx, "r1.ran");
    assert_string_equal (ran1, "t/r/u3_test.txt\n");
    char *batches = e2e_fixture_lines (fx, "SELECT b.node_index || ' ' || b.kind || ' ' ||"
                                           " count (*) FROM batches b JOIN batch_units bu"
                                           " ON bu.batch_id = b.id GROUP BY b.id ORDER BY b.id");
    assert_string_equal (batches, "0 0 4\n1 2 1\n");
    char *results = e2e_fixture_lines (fx, BATCH_UNIT_RESULTS);
    assert_string_equal (results, "t/r/u1_test.txt 1\nt/r/u2_test.txt 1\nt/r/u3_test.txt 0\n"
                                  "t/r/u3_test.txt 0\nt/r/u4_test.txt 1\n");
    char *samples = e2e_fixture_lines (fx, "SELECT name || ' ' || ok FROM samples ORDER BY name,"
                                           " id");
    assert_string_equal (samples, "t/r/u1_test.txt 1\nt/r/u2_test.txt 1\nt/r/u3_test.txt 0\n"
                                  "t/r/u3_test.txt 0\nt/r/u4_test.txt 1\n");
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'failed' FROM"
                                           " builds"), 1);
    char *err0 = e2e_fixture_text (fx, "r0.err");
    char *err1_text = e2e_fixture_text (fx, "r1.err");
    assert_non_null (strstr (err0, "some tests failed"));
    assert_non_null (strstr (err1_text, "run again after a failure elsewhere of 1 unit"));
    free (err0);
    free (err1_text);
    free (ran1);
    free (batches);
    free (results);
    free (samples);
}

// --------------------------------------------------------------------------
//  c. A report that is broken or missing: one warning per agent, the wall
//  time shared by prediction, and the build goes on.

//  Check build's batches: count of them, one unit each, none measured,
//  each unit's sample the whole wall time of its batch (its share), ok.
static void
s_assert_apportioned (e2e_fixture_t *fx, const char *build, int count)
{
    char where[256];
    snprintf (where, sizeof where, "(SELECT id FROM builds WHERE build_key = '%s')", build);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE build_id = %s",
                                       where), count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE build_id = %s AND"
                                           " tests_ms IS NULL AND exit_code = 0", where), count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units bu JOIN batches b"
                                           " ON b.id = bu.batch_id WHERE b.build_id = %s"
                                           " AND bu.ok IS NULL", where), count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE build_id = %s AND"
                                           " ok = 1", where), count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches b JOIN batch_units bu ON"
                                           " bu.batch_id = b.id JOIN units u ON u.build_id ="
                                           " b.build_id AND u.idx = bu.unit_idx JOIN samples s ON"
                                           " s.build_id = b.build_id AND s.name = u.name WHERE"
                                           " b.build_id = %s AND s.duration_ms = b.wall_ms AND"
                                           " b.wall_ms >= 30", where), count);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed' FROM"
                                           " builds WHERE build_key = '%s'", build), 1);
}

static void
test_unusable_report_falls_back (void **state)
{
    e2e_fixture_t *fx = *state;
    //  One unit per batch, so each agent meets several bad reports.
    const char *daemon[] = { "--runner-startup", "0", "--max-batch-units", "1", NULL };
    e2e_fixture_daemon (fx, daemon);
    enum { COUNT = 4 };
    for (int i = 0; i < COUNT; i++) {
        char name[64], body[32];
        snprintf (name, sizeof name, "t/k/u%d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\n", 30 + 10 * i);
        e2e_fixture_unit (fx, name, body);
    }
    //  Malformed XML at the fresh {junit} path.
    command_t command;
    s_command (&command, "{junit}");
    const char *broken[] = { "JUNIT_BROKEN=1", NULL };
    e2e_agent_t agent = { .tag = "c1", .suite = "unusable", .build = "c1", .total = 1,
                      .pattern = "t/**/*_test.txt", .env = broken, .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_int_equal (harness_count (err, FALLBACK_WARNING), 1);
    assert_non_null (strstr (err, "is malformed at line"));
    s_assert_apportioned (fx, "c1", COUNT);
    assert_int_equal (harness_entries (fx->tmp), 0);
    free (err);

    //  No report at the --junit path, where an old one was left that
    //  would pass for this run's: it must not be read.
    char report[1024];
    snprintf (report, sizeof report, "%s/report.xml", fx->dir);
    char stale[2048] = "<testsuite name=\"stale\">\n";
    for (int i = 0; i < COUNT; i++) {
        char line[160];
        snprintf (line, sizeof line, "<testcase file=\"t/k/u%d_test.txt\" name=\"old\""
                                     " time=\"9.999\"/>\n", i);
        strcat (stale, line);
    }
    strcat (stale, "</testsuite>\n");
    assert_int_equal (harness_write_file (report, stale), 0);
    s_command (&command, report);
    const char *flags[] = { "--junit", report, NULL };
    const char *none[] = { "JUNIT_NONE=1", NULL };
    agent = (e2e_agent_t) { .tag = "c2", .suite = "unusable", .build = "c2", .total = 1,
                        .pattern = "t/**/*_test.txt", .flags = flags, .env = none,
                        .command = command.argv };
    err = s_run (fx, &agent, 0);
    assert_int_equal (harness_count (err, FALLBACK_WARNING), 1);
    assert_non_null (strstr (err, "is missing"));
    s_assert_apportioned (fx, "c2", COUNT);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE duration_ms >="
                                           " 9999"), 0);
    free (err);

    //  Nothing was measured: no start-up learned.
    assert_int_equal (e2e_fixture_int (fx, "SELECT startup_ms IS NULL AND startup_samples = 0"
                                           " FROM suites WHERE name = 'unusable'"), 1);
    for (int build = 1; build <= 2; build++) {
        char tag[8];
        snprintf (tag, sizeof tag, "c%d", build);
        char *ran = e2e_fixture_text (fx, "%s.ran", tag);
        for (int i = 0; i < COUNT; i++) {
            char name[64];
            snprintf (name, sizeof name, "t/k/u%d_test.txt", i);
            assert_int_equal (harness_count (ran, name), 1);
        }
        free (ran);
    }

    //  Several units in one batch (a regular node's list) with a broken
    //  report: the wall time is shared in proportion to the predictions,
    //  here imported times of 100, 200, 300 and 400 ms.
    char history[1024];
    snprintf (history, sizeof history, "%s/shares.json", fx->dir);
    assert_int_equal (harness_write_file (history,
        "{\"t/k/u0_test.txt\": 0.1, \"t/k/u1_test.txt\": 0.2,"
        " \"t/k/u2_test.txt\": 0.3, \"t/k/u3_test.txt\": 0.4}\n"), 0);
    const char *args[] = { history, NULL };
    char *out = e2e_fixture_import (fx, "import-shares", "shares", args, 0);
    free (out);
    s_command (&command, "{junit}");
    const char *regular[] = { "--mode", "regular", NULL };
    agent = (e2e_agent_t) { .tag = "c3", .suite = "shares", .build = "c3", .total = 1,
                        .pattern = "t/**/*_test.txt", .flags = regular, .env = broken,
                        .command = command.argv };
    err = s_run (fx, &agent, 0);
    assert_int_equal (harness_count (err, FALLBACK_WARNING), 1);
    free (err);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE build_id ="
                                           " (SELECT id FROM builds WHERE build_key = 'c3')"), 1);
    int64_t wall = e2e_fixture_int (fx, "SELECT wall_ms FROM batches WHERE build_id ="
                                        " (SELECT id FROM builds WHERE build_key = 'c3')");
    int64_t sum = 0;
    for (int i = 0; i < COUNT; i++) {
        char name[64];
        snprintf (name, sizeof name, "t/k/u%d_test.txt", i);
        double share = (double) wall * (i + 1) * 100.0 / 1000.0;
        int64_t got = e2e_fixture_int (fx, "SELECT CAST (duration_ms AS INTEGER) FROM samples"
                                           " WHERE name = '%s' AND build_id ="
                                           " (SELECT id FROM builds WHERE build_key = 'c3')", name);
        if (fabs ((double) got - share) > 0.51)
            fprintf (stderr, "%s: sample %lld ms, its share of %lld ms is %.1f\n", name,
                     (long long) got, (long long) wall, share);
        assert_true (fabs ((double) got - share) <= 0.51);
        sum += got;
    }
    assert_true (sum >= wall - 2 && sum <= wall + 2);
}

//  A unit the report does not name: not measured (no sample), its result
//  by the exit status; the others measured; the batch not counted for
//  the start-up.
static void
test_unreported_unit_is_not_measured (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *daemon[] = { "--runner-startup", "30", NULL };
    e2e_fixture_daemon (fx, daemon);
    e2e_fixture_unit (fx, "t/p/u1_test.txt", "ms=30\nreport_ms=25\n");
    e2e_fixture_unit (fx, "t/p/u2_test.txt", "ms=30\nabsent\n");
    e2e_fixture_unit (fx, "t/p/u3_test.txt", "ms=30\nreport_ms=15\n");
    command_t command;
    s_command (&command, "{junit}");
    e2e_agent_t agent = { .tag = "p", .suite = "partial", .build = "p1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_null (strstr (err, "warning"));
    free (err);
    char *samples = e2e_fixture_lines (fx, "SELECT name || ' ' || CAST (duration_ms AS INTEGER) ||"
                                           " ' ' || ok FROM samples ORDER BY name");
    assert_string_equal (samples, "t/p/u1_test.txt 25 1\nt/p/u3_test.txt 15 1\n");
    char *results = e2e_fixture_lines (fx, BATCH_UNIT_RESULTS);
    assert_string_equal (results, "t/p/u1_test.txt 1\nt/p/u2_test.txt null\nt/p/u3_test.txt 1\n");
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT tests_ms IS NULL FROM batches"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT startup_ms IS NULL AND startup_samples = 0"
                                           " FROM suites"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'passed' FROM"
                                           " builds"), 1);
    free (samples);
    free (results);
}

//  A batch in two runs (a regular node's list, --batch-size 2) where the
//  first run's report does not name one of its units and the second
//  run's report is malformed: the whole batch is reported by shares of
//  the wall time, the unnamed unit included (not as 0 ms), except what
//  the first report did measure.
static void
test_absent_unit_keeps_its_share (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    e2e_fixture_unit (fx, "t/m/u1_test.txt", "ms=60\nabsent\n");
    e2e_fixture_unit (fx, "t/m/u2_test.txt", "ms=60\nreport_ms=20\n");
    e2e_fixture_unit (fx, "t/m/u3_test.txt", "ms=40\ncorrupt\n");
    e2e_fixture_unit (fx, "t/m/u4_test.txt", "ms=40\n");
    command_t command;
    s_command (&command, "{junit}");
    const char *flags[] = { "--mode", "regular", "--batch-size", "2", NULL };
    e2e_agent_t agent = { .tag = "m", .suite = "mixed", .build = "m1", .total = 1,
                      .pattern = "t/**/*_test.txt", .flags = flags, .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_int_equal (harness_count (err, FALLBACK_WARNING), 1);
    assert_non_null (strstr (err, "is malformed at line"));
    free (err);
    //  No history: equal predictions, so the list is in name order, and
    //  the runs are u1 u2 | u3 u4.
    char *ran = e2e_fixture_text (fx, "m.ran");
    assert_string_equal (ran, "t/m/u1_test.txt\nt/m/u2_test.txt\nt/m/u3_test.txt\n"
                              "t/m/u4_test.txt\n");
    free (ran);
    //  Not measured as a whole, but its two runner starts are known.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE tests_ms IS NULL"
                                           " AND runs = 2"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE ok = 1"), 4);
    //  u1: half of its run's wall time (both predicted alike), which holds
    //  two sleeps of 60 ms; u2: its reported time; u3, u4: half of theirs.
    assert_true (e2e_fixture_int (fx, "SELECT duration_ms FROM samples WHERE name ="
                                      " 't/m/u1_test.txt'") >= 60);
    assert_int_equal (e2e_fixture_int (fx, "SELECT duration_ms FROM samples"
                                           " WHERE name = 't/m/u2_test.txt'"), 20);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE duration_ms >= 40"
                                           " AND name IN ('t/m/u3_test.txt', 't/m/u4_test.txt')"),
                      2);
}

//  A runner killed by a signal: its report, though written, teaches
//  nothing (no sample, no start-up), and its units count as failed.
static void
test_killed_runner_teaches_nothing (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *daemon[] = { "--runner-startup", "30", NULL };
    e2e_fixture_daemon (fx, daemon);
    e2e_fixture_unit (fx, "t/x/u1_test.txt", "ms=10\n");
    e2e_fixture_unit (fx, "t/x/u2_test.txt", "ms=10\ndie\n");
    e2e_fixture_unit (fx, "t/x/u3_test.txt", "ms=10\n");
    command_t command;
    s_command (&command, "{junit}");
    e2e_agent_t agent = { .tag = "x", .suite = "killed", .build = "x1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 1);
    assert_non_null (strstr (err, "killed by signal 9"));
    assert_null (strstr (err, FALLBACK_WARNING));
    free (err);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT exit_code = -9 AND tests_ms IS NULL FROM"
                                           " batches"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT startup_ms IS NULL AND startup_samples = 0"
                                           " FROM suites"), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT finished_ms > 0 AND result = 'failed' FROM"
                                           " builds"), 1);
    //  The report of the killed run was not left behind either.
    assert_int_equal (harness_entries (fx->tmp), 0);
}

// --------------------------------------------------------------------------
//  d. The runner's start-up is learned per suite from measured batches:
//  (wall - sum of the units' reported times) / runs, smoothed (alpha 0.3),
//  and it sizes batches.

//  One queue build of the overhead suite on one node, with a runner that
//  starts in startup_ms; flags name the report.
static void
s_overhead_build (e2e_fixture_t *fx, const char *tag, int startup_ms, const char *const *flags,
                  const command_t *command)
{
    char env_startup[32];
    snprintf (env_startup, sizeof env_startup, "STARTUP_MS=%d", startup_ms);
    const char *env[] = { env_startup, NULL };
    e2e_agent_t agent = { .tag = tag, .suite = "overhead", .build = tag, .total = 1,
                      .pattern = "t/**/*_test.txt", .flags = flags, .env = env,
                      .command = command->argv };
    char *err = s_run (fx, &agent, 0);
    assert_null (strstr (err, "warning"));
    free (err);
}

//  The overhead suite's units: count files of unit_ms each.
static void
s_overhead_units (e2e_fixture_t *fx, int count, int unit_ms)
{
    for (int i = 0; i < count; i++) {
        char name[64], body[32];
        snprintf (name, sizeof name, "t/o/u%d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\n", unit_ms);
        e2e_fixture_unit (fx, name, body);
    }
}

static void
test_startup_is_learned (void **state)
{
    e2e_fixture_t *fx = *state;
    //  Configured start-up 0 and a high factor: without learning, batches
    //  would stay small (one unit each).
    const char *daemon[] = { "--runner-startup", "0", "--batch-factor", "6", NULL };
    e2e_fixture_daemon (fx, daemon);
    enum {
        COUNT = 3, UNIT_MS = 50, FIRST_STARTUP = 800, STARTUP = 400, MARGIN = 120,
        BUILDS = 8,             //  builds of the 400 ms runner before the value is checked
        MORE_BUILDS = 12        //  at most this many more, if the machine's load spoiled some
    };
    s_overhead_units (fx, COUNT, UNIT_MS);
    char report[1024];
    snprintf (report, sizeof report, "%s/overhead.xml", fx->dir);
    command_t command;
    s_command (&command, report);
    const char *flags[] = { "--junit", report, NULL };

    //  A runner that starts slowly. Its batches are sized with the
    //  configured start-up 0 at first: one unit each.
    s_overhead_build (fx, "slow", FIRST_STARTUP, flags, &command);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units WHERE batch_id ="
                                           " (SELECT min (id) FROM batches)"), 1);
    double learned = e2e_fixture_real (fx, "SELECT startup_ms FROM suites");
    fprintf (stderr, "start-up learned from a %d ms runner: %.1f ms\n", FIRST_STARTUP, learned);
    assert_true (learned >= FIRST_STARTUP - 10);

    //  A regular node's list in three runs (--batch-size 1): one batch,
    //  whose wall time holds three start-ups; the sample is per run.
    const char *regular[] = { "--junit", report, "--mode", "regular", "--batch-size", "1", NULL };
    s_overhead_build (fx, "regular", STARTUP, regular, &command);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches b JOIN builds d ON d.id ="
                                           " b.build_id WHERE d.build_key = 'regular'"
                                           " AND b.runs = 3 AND b.tests_ms = %d", COUNT * UNIT_MS),
                      1);
    double per_run = e2e_fixture_real (fx, "SELECT (wall_ms - tests_ms) / 3.0 FROM batches b"
                                           " JOIN builds d ON d.id = b.build_id"
                                           " WHERE d.build_key = 'regular'");
    fprintf (stderr, "start-up per run of a 3-run batch: %.1f ms\n", per_run);
    assert_true (per_run >= STARTUP && per_run <= STARTUP + MARGIN);

    //  Then the runner that starts in 400 ms, until the learned value is
    //  within the margin of it. The value converges in a handful of
    //  builds; a few more are allowed for a loaded machine, where a run
    //  can take much longer than its sleeps and spoil a sample.
    int builds = 0;
    while (builds < BUILDS + MORE_BUILDS) {
        char tag[16];
        snprintf (tag, sizeof tag, "fast%d", builds++);
        s_overhead_build (fx, tag, STARTUP, flags, &command);
        //  Sized by the learned start-up (2 x start-up > the whole build's
        //  150 ms): one batch of all three.
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches b JOIN builds d ON"
                                               " d.id = b.build_id WHERE d.build_key = '%s'",
                                           tag), 1);
        assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units bu JOIN batches b"
                                               " ON b.id = bu.batch_id JOIN builds d ON d.id ="
                                               " b.build_id WHERE d.build_key = '%s'", tag), COUNT);
        learned = e2e_fixture_real (fx, "SELECT startup_ms FROM suites");
        if (builds >= BUILDS && fabs (learned - STARTUP) <= MARGIN)
            break;
    }

    //  Every batch was measured, each counted once.
    int64_t batches = e2e_fixture_int (fx, "SELECT count (*) FROM batches");
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE tests_ms IS NOT"
                                           " NULL"), batches);
    assert_int_equal (e2e_fixture_int (fx, "SELECT startup_samples FROM suites"), batches);
    assert_int_equal (e2e_fixture_int (fx, "SELECT sum (tests_ms) FROM batches"),
                      (builds + 2) * COUNT * UNIT_MS);
    //  The stored value is the smoothed series of the batches' samples.
    char *samples = e2e_fixture_lines (fx, "SELECT (wall_ms - tests_ms) * 1.0 / runs FROM batches"
                                           " ORDER BY id");
    double smoothed = -1;
    int seen = 0;
    char *save = NULL;
    for (char *line = strtok_r (samples, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        double sample = strtod (line, NULL);
        smoothed = seen == 0 ? sample : smoothed + 0.3 * (sample - smoothed);
        seen++;
        fprintf (stderr, "%s%.0f", seen == 1 ? "start-up samples, ms: " : " ", sample);
    }
    fprintf (stderr, "\n");
    free (samples);
    assert_int_equal (seen, batches);
    fprintf (stderr, "start-up learned after %d builds of a %d ms runner: %.1f ms\n",
             builds + 1, STARTUP, learned);
    assert_true (fabs (learned - smoothed) <= 1e-6 * smoothed);
    assert_true (learned >= STARTUP - MARGIN && learned <= STARTUP + MARGIN);
}

//  Without a report, each unit learns its share of the batch's wall time
//  less the runner's start-ups if the start-up is known (given with
//  --runner-startup here); the default guess is not taken out. Three
//  units of 50 ms, a runner that starts in 400 ms: taken out, each learns
//  about 50 ms; kept, each learns at least half of 400 + 2 x 50 (batches
//  of one or two units).
static void
s_shared_build (e2e_fixture_t *fx, const char *const *daemon, double *least, double *most)
{
    enum { COUNT = 3, UNIT_MS = 50, STARTUP = 400 };
    e2e_fixture_daemon (fx, daemon);
    s_overhead_units (fx, COUNT, UNIT_MS);
    char report[1024];
    snprintf (report, sizeof report, "%s/unread.xml", fx->dir);
    command_t command;
    s_command (&command, report);
    const char *flags[] = { NULL };
    s_overhead_build (fx, "shared", STARTUP, flags, &command);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), COUNT);
    *least = e2e_fixture_real (fx, "SELECT min (estimate_ms) FROM timings");
    *most = e2e_fixture_real (fx, "SELECT max (estimate_ms) FROM timings");
    fprintf (stderr, "learned without a report: %.0f-%.0f ms a unit\n", *least, *most);
}

static void
test_shared_times_leave_out_a_known_startup (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *daemon[] = { "--runner-startup", "0.4", NULL };
    double least, most;
    s_shared_build (fx, daemon, &least, &most);
    //  A unit's share of its runner's own overhead (sh, a loaded machine)
    //  stays; the start-up's 400 ms would not fit under 220.
    assert_true (least >= 45);
    assert_true (most <= 220);
}

static void
test_shared_times_keep_a_guessed_startup (void **state)
{
    e2e_fixture_t *fx = *state;
    double least, most;
    s_shared_build (fx, NULL, &least, &most);
    assert_true (least >= 240);
}

// --------------------------------------------------------------------------
//  e. satchel import: every format, all or nothing, then a regular split
//  on the imported times.

//  What tests/fixtures/import/ holds, as the history should have it.
static const struct { const char *name; int ms; const char *parent; } s_imported[] = {
    { "spec/models/user_spec.rb", 5000, NULL },         //  dataset.json wins over knapsack
    { "spec/models/order_spec.rb", 2250, NULL },
    { "spec/features/checkout_spec.rb", 9000, NULL },
    { "tests/test_api.py::test_create", 750, "tests/test_api.py" },
    { "tests/test_api.py::test_delete", 1250, "tests/test_api.py" },
    { "tests/test_db.py::test_save", 3500, "tests/test_db.py" },
    { "tests/test_api.py", 2000, NULL },                //  the sum of its examples
    { "tests/test_db.py", 3500, NULL },
    { "spec/lib/parser_spec.rb", 6500, NULL },
    { "spec/lib/lexer_spec.rb", 500, NULL },
    { "spec/mailers/welcome_spec.rb", 1500, NULL },     //  two JUnit cases
    { "spec/jobs/sync_spec.rb", 7250, NULL },           //  "./" dropped
    { "spec/helpers/format_spec.rb", 250, NULL },
};
#define IMPORTED (sizeof s_imported / sizeof s_imported[0])

static void
test_import_feeds_the_split (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    char *files[7];
    const char *names[] = { "knapsack.json", "test_durations", "parallel_runtime.log",
                            "report.xml", "dataset.json", "more.json", "bad_runtime.log" };
    for (int i = 0; i < 7; i++) {
        char relative[128];
        snprintf (relative, sizeof relative, "tests/fixtures/import/%s", names[i]);
        files[i] = harness_source (relative);
    }
    //  Every format, detected.
    const char *good[] = { files[0], files[1], files[2], files[3], files[4], NULL };
    char *out = e2e_fixture_import (fx, "import-good", "shop", good, 0);
    assert_non_null (strstr (out, "knapsack.json: 3 entries (knapsack)"));
    assert_non_null (strstr (out, "test_durations: 3 entries (pytest-split)"));
    assert_non_null (strstr (out, "parallel_runtime.log: 2 entries (parallel-tests)"));
    assert_non_null (strstr (out, "report.xml: 2 entries (junit)"));
    assert_non_null (strstr (out, "dataset.json: 2 entries (dataset)"));
    assert_non_null (strstr (out, "imported 13 units into the history of suite shop"));
    free (out);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), (int64_t) IMPORTED);
    for (size_t i = 0; i < IMPORTED; i++) {
        int64_t match = e2e_fixture_int (fx, "SELECT count (*) FROM timings t JOIN suites s"
                                             " ON s.id = t.suite_id WHERE s.name = 'shop'"
                                             " AND t.name = '%s'"
                                             " AND t.estimate_ms = %d AND t.samples = 1 AND"
                                             " t.parent IS %s%s%s",
                                         s_imported[i].name, s_imported[i].ms,
                                         s_imported[i].parent ? "'" : "",
                                         s_imported[i].parent ? s_imported[i].parent : "NULL",
                                         s_imported[i].parent ? "'" : "");
        if (match != 1)
            fprintf (stderr, "timing of %s is not %d ms (parent %s)\n", s_imported[i].name,
                     s_imported[i].ms, s_imported[i].parent ? s_imported[i].parent : "none");
        assert_int_equal (match, 1);
    }
    //  A bad file among good ones: nothing imported, exit 1.
    const char *mixed[] = { files[5], files[6], NULL };
    out = e2e_fixture_import (fx, "import-bad", "shop", mixed, 1);
    assert_non_null (strstr (out, "bad_runtime.log"));
    assert_non_null (strstr (out, "nothing was imported"));
    free (out);
    //  A file forced into the wrong format: the same.
    const char *forced[] = { "--format", "junit", files[5], NULL };
    out = e2e_fixture_import (fx, "import-forced", "shop", forced, 1);
    assert_non_null (strstr (out, "nothing was imported"));
    free (out);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), (int64_t) IMPORTED);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples"), (int64_t) IMPORTED);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings WHERE name LIKE"
                                           " '%%extra%%'"), 0);

    //  A regular build of the files on three nodes: predicted at the
    //  imported times, and split by LPT on them (longest first onto the
    //  least-loaded node, lower index on a tie):
    //    9000 -> n0, 7250 -> n1, 6500 -> n2, 5000 -> n2 (11500),
    //    3500 -> n1 (10750), 2250 -> n0 (11250), 2000 -> n1 (12750),
    //    1500 -> n0 (12750), 500 -> n2 (12000), 250 -> n2 (12250).
    static const struct { const char *name; int ms; int node; } split[] = {
        { "spec/features/checkout_spec.rb", 9000, 0 },
        { "spec/jobs/sync_spec.rb", 7250, 1 },
        { "spec/lib/parser_spec.rb", 6500, 2 },
        { "spec/models/user_spec.rb", 5000, 2 },
        { "tests/test_db.py", 3500, 1 },
        { "spec/models/order_spec.rb", 2250, 0 },
        { "tests/test_api.py", 2000, 1 },
        { "spec/mailers/welcome_spec.rb", 1500, 0 },
        { "spec/lib/lexer_spec.rb", 500, 2 },
        { "spec/helpers/format_spec.rb", 250, 2 },
    };
    enum { FILES = sizeof split / sizeof split[0], NODES = 3 };
    char list[4096] = "";
    for (int i = 0; i < FILES; i++) {
        e2e_fixture_unit (fx, split[i].name, "ms=0\n");
        strcat (list, split[i].name);
        strcat (list, "\n");
    }
    char list_path[1024];
    snprintf (list_path, sizeof list_path, "%s/list.txt", fx->dir);
    assert_int_equal (harness_write_file (list_path, list), 0);
    command_t command;
    s_command (&command, "{junit}");
    const char *flags[] = { "--tests-from", list_path, "--mode", "regular", NULL };
    char tags[NODES][16];
    for (int n = 0; n < NODES; n++) {
        snprintf (tags[n], sizeof tags[n], "e%d", n);
        e2e_agent_t agent = { .tag = tags[n], .suite = "shop", .build = "e1", .index = n,
                          .total = NODES, .flags = flags, .command = command.argv };
        s_agent (fx, &agent);
    }
    int said = 0;
    for (int n = 0; n < NODES; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        char *err = e2e_fixture_text (fx, "%s.err", tags[n]);
        said += harness_count (err, "timing history: 10 of the build's units had some, 0 were"
                              " estimated");
        free (err);
    }
    assert_int_equal (said, 1);
    for (int i = 0; i < FILES; i++) {
        assert_int_equal (e2e_fixture_int (fx, "SELECT predicted_ms = %d AND split_node = %d FROM"
                                               " units WHERE name = '%s'",
                                           split[i].ms, split[i].node, split[i].name), 1);
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[split[i].node]);
        assert_int_equal (harness_count (ran, split[i].name), 1);
        free (ran);
    }
    char *all = e2e_fixture_text (fx, "e0.ran");
    int lines = harness_count (all, "\n");
    free (all);
    for (int n = 1; n < NODES; n++) {
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[n]);
        lines += harness_count (ran, "\n");
        free (ran);
    }
    assert_int_equal (lines, FILES);
    for (int i = 0; i < 7; i++)
        free (files[i]);
}

//  A name longer than satcheld's unit names (4096 bytes) is left out and
//  counted, not a reason to refuse the file; its time still counts in its
//  file's sum. The shared baserow timings hold four such pytest ids.
static void
test_import_leaves_out_long_names (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    char *param = malloc (5001);
    assert_non_null (param);
    memset (param, 'p', 5000);
    param[5000] = 0;
    char *text = malloc (5200);
    assert_non_null (text);
    snprintf (text, 5200, "{\"t/a.py::ok\": 1.0, \"t/a.py::test[%s]\": 2.0,"
                          " \"t/b.py::x\": 0.5}\n", param);
    char path[1024];
    snprintf (path, sizeof path, "%s/long_ids.json", fx->dir);
    assert_int_equal (harness_write_file (path, text), 0);
    free (text);
    free (param);
    const char *args[] = { path, NULL };
    char *out = e2e_fixture_import (fx, "import-long", "long", args, 0);
    assert_non_null (strstr (out, "long_ids.json: 2 entries (pytest-split)"));
    assert_non_null (strstr (out, "left out 1 entry whose name is longer than 4096 bytes"));
    assert_non_null (strstr (out, "imported 4 units into the history of suite long"));
    free (out);
    static const struct { const char *name; int ms; } kept[] = {
        { "t/a.py::ok", 1000 }, { "t/a.py", 3000 }, { "t/b.py::x", 500 }, { "t/b.py", 500 },
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        assert_int_equal (e2e_fixture_int (fx, "SELECT estimate_ms FROM timings WHERE name = '%s'",
                                           kept[i].name), kept[i].ms);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings"), 4);

    //  The real file, where the shared data is at hand.
    const char *data = getenv ("SATCHEL_DATA_DIR");
    char shared[1024];
    snprintf (shared, sizeof shared, "%s/timings/bram2w__baserow__pytest_split.json",
              data ? data : "/work/shared/data");
    struct stat info;
    if (stat (shared, &info) != 0) {
        printf ("  %s is not here; the rest is skipped\n", shared);
        return;
    }
    const char *real[] = { shared, NULL };
    out = e2e_fixture_import (fx, "import-baserow", "baserow", real, 0);
    assert_non_null (strstr (out, "5749 entries (dataset)"));
    assert_non_null (strstr (out, "left out 4 entries whose name is longer than 4096 bytes"));
    //  5749 pytest ids and the 458 files they belong to.
    assert_non_null (strstr (out, "imported 6207 units into the history of suite baserow"));
    free (out);
    //  The file of the four long ids: all its ids summed, the long ones too.
    assert_int_equal (e2e_fixture_int (fx, "SELECT t.estimate_ms FROM timings t JOIN suites s ON"
                                           " s.id = t.suite_id WHERE s.name = 'baserow' AND t.name"
                                           " = 'tests/baserow/contrib/database/formula/"
                                           "test_baserow_formula_results.py'"), 52970);
}

// --------------------------------------------------------------------------
//  f. Units without history: the median of the known units of their
//  folder in the build, else the suite's median, else the default.

static void
test_new_units_are_estimated (void **state)
{
    e2e_fixture_t *fx = *state;
    e2e_fixture_daemon (fx, NULL);
    //  History: three units of t/dirA in the build (median 200 ms, mean
    //  300), and four of t/dirC whose files are gone; the suite's seven
    //  have the median 2000 ms.
    char history[1024];
    snprintf (history, sizeof history, "%s/history.json", fx->dir);
    assert_int_equal (harness_write_file (history,
        "{\"t/dirA/a1_test.txt\": 0.1, \"t/dirA/a2_test.txt\": 0.2,"
        " \"t/dirA/a3_test.txt\": 0.6, \"t/dirC/c1_test.txt\": 2,"
        " \"t/dirC/c2_test.txt\": 3, \"t/dirC/c3_test.txt\": 4,"
        " \"t/dirC/c4_test.txt\": 5}\n"), 0);
    const char *args[] = { history, NULL };
    char *out = e2e_fixture_import (fx, "import-history", "estimates", args, 0);
    free (out);
    static const struct { const char *name; int ms; } units[] = {
        { "t/dirA/a1_test.txt", 100 },
        { "t/dirA/a2_test.txt", 200 },
        { "t/dirA/a3_test.txt", 600 },
        { "t/dirA/a4_test.txt", 200 },      //  new: dirA's median
        { "t/dirB/b1_test.txt", 2000 },     //  new: the suite's median
    };
    enum { COUNT = sizeof units / sizeof units[0] };
    for (int i = 0; i < COUNT; i++)
        e2e_fixture_unit (fx, units[i].name, "ms=0\n");
    command_t command;
    s_command (&command, "{junit}");
    e2e_agent_t agent = { .tag = "f1", .suite = "estimates", .build = "f1", .total = 1,
                      .pattern = "t/**/*_test.txt", .command = command.argv };
    char *err = s_run (fx, &agent, 0);
    assert_non_null (strstr (err, "timing history: 3 of the build's units had some, 2 were"
                                  " estimated (the median of their folder, else of the suite)"));
    free (err);
    for (int i = 0; i < COUNT; i++) {
        int64_t match = e2e_fixture_int (fx, "SELECT predicted_ms = %d FROM units u JOIN builds b"
                                             " ON b.id = u.build_id WHERE b.build_key = 'f1'"
                                             " AND u.name = '%s'", units[i].ms, units[i].name);
        if (match != 1)
            fprintf (stderr, "%s is not predicted at %d ms\n", units[i].name, units[i].ms);
        assert_int_equal (match, 1);
    }
    assert_int_equal (e2e_fixture_int (fx, "SELECT known FROM builds WHERE build_key = 'f1'"), 3);

    //  A suite with no history at all: every unit gets the default (1 s).
    agent = (e2e_agent_t) { .tag = "f2", .suite = "blank", .build = "f2", .total = 1,
                        .pattern = "t/dirA/*_test.txt", .command = command.argv };
    err = s_run (fx, &agent, 0);
    assert_non_null (strstr (err, "timing history: 0 of the build's units had some, 4 were"
                                  " estimated"));
    free (err);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units u JOIN builds b"
                                           " ON b.id = u.build_id WHERE b.build_key = 'f2'"
                                           " AND u.predicted_ms = 1000"), 4);
}

//  Two nodes on two machines, one 3 times slower (the runner's sleeps, by
//  $SLOW) from the second build on. The first build, on guesses (no
//  history), teaches no machine, and both its nodes run at one speed: a
//  unit's first time, from a machine not known yet, is its history as it
//  ran, and a slow node's would make the second build's paces depend on
//  which node drew which units (measured 1.75 to 1.86 times slower, not
//  3, under load). The second build, from history, teaches both, relative
//  to each other; in the third both nodes are paced from their first
//  batch, each at its machine's pace. Units of 100 ms, so that the
//  runner's own few ms a unit, which $SLOW does not stretch and a loaded
//  machine (tests run in parallel) makes longer, weigh less.
static void
test_machine_pace_is_learned (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *daemon[] = { "--runner-startup", "0", "--log-level", "debug", NULL };
    e2e_fixture_daemon (fx, daemon);
    for (int i = 0; i < 12; i++) {
        char name[64];
        snprintf (name, sizeof name, "m/u%02d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=100\n");
    }
    const char *fast[] = { "--machine", "ci-fast", NULL };
    const char *slow[] = { "--machine", "ci-slow", NULL };
    const char *slow_env[] = { "SLOW=3", NULL };
    for (int b = 0; b <= 2; b++) {
        char build[16], fast_tag[8], slow_tag[8];
        snprintf (build, sizeof build, "mach-%d", b);
        snprintf (fast_tag, sizeof fast_tag, "f%d", b);
        snprintf (slow_tag, sizeof slow_tag, "s%d", b);
        e2e_agent_t agents[2] = {
            { .tag = fast_tag, .suite = "mach", .build = build, .index = 0,
              .total = 2, .pattern = "m/*_test.txt", .flags = fast },
            { .tag = slow_tag, .suite = "mach", .build = build, .index = 1,
              .total = 2, .pattern = "m/*_test.txt", .flags = slow,
              .env = b > 0 ? slow_env : NULL }
        };
        for (int n = 0; n < 2; n++)
            s_agent (fx, &agents[n]);
        for (int n = 0; n < 2; n++)
            e2e_fixture_expect_exit (fx, agents[n].tag, 0);
        if (b == 0)
            assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM machines"), 0);
        if (b == 1) {
            //  Learned from the first build, relative to each other.
            double fast_pace = e2e_fixture_real (fx, "SELECT pace FROM machines"
                                                     " WHERE machine = 'ci-fast'");
            double slow_pace = e2e_fixture_real (fx, "SELECT pace FROM machines"
                                                     " WHERE machine = 'ci-slow'");
            fprintf (stderr, "machine paces after a build: fast %.3f, slow %.3f\n",
                     fast_pace, slow_pace);
            assert_true (slow_pace / fast_pace > 2.0 && slow_pace / fast_pace < 4.0);
            assert_true (slow_pace > 1.0 && fast_pace < 1.0);
        }
    }
    //  Each attempt says its machine.
    char *machines = e2e_fixture_lines (fx, "SELECT DISTINCT machine FROM attempts"
                                            " ORDER BY machine");
    assert_string_equal (machines, "ci-fast\nci-slow\n");
    free (machines);
    assert_int_equal (e2e_fixture_int (fx, "SELECT builds FROM machines"
                                           " WHERE machine = 'ci-slow'"), 2);
    //  The plan: unmeasured in the second build, paced by their machines
    //  from their first batch in the third, each at its machine's pace.
    char *log = harness_read_file (fx->log);
    assert_non_null (log);
    const char *first[2][2] = {
        { "batch_given build=mach-1 node=0 batch=1 ", "batch_given build=mach-1 node=1 batch=1 " },
        { "batch_given build=mach-2 node=0 batch=1 ", "batch_given build=mach-2 node=1 batch=1 " },
    };
    for (int b = 0; b < 2; b++)
        for (int n = 0; n < 2; n++) {
            const char *line = strstr (log, first[b][n]);
            assert_non_null (line);
            const char *paced = strstr (line, "paced=");
            assert_non_null (paced);
            assert_true (strncmp (paced, b == 0 ? "paced=no" : "paced=yes", b == 0 ? 8 : 9) == 0);
            if (b == 1) {
                //  Nothing reported yet when both first batches are cut:
                //  each node at its machine's relative pace.
                const char *pace = strstr (line, " pace=");
                assert_non_null (pace);
                double value = strtod (pace + 6, NULL);
                fprintf (stderr, "build 2, node %d, batch 1: pace %.2f\n", n, value);
                assert_true (n == 1 ? value > 1.2 : value < 0.85);
            }
        }
    free (log);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_report_times_are_the_history, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_report_folders, s_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_no_report_is_said, s_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_unit_results_decide_failures, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_failed_unit_runs_again_elsewhere, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_unusable_report_falls_back, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_unreported_unit_is_not_measured, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_absent_unit_keeps_its_share, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_killed_runner_teaches_nothing, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_startup_is_learned, s_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_shared_times_leave_out_a_known_startup, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_shared_times_keep_a_guessed_startup, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_machine_pace_is_learned, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_import_feeds_the_split, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_import_leaves_out_long_names, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_new_units_are_estimated, s_setup,
                                         e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
