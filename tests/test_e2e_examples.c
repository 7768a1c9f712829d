/*  test_e2e_examples.c: split by test examples, end to end.

    A real satcheld on a loopback wildcard port, its suite's history given
    by `satchel import` (a knapsack JSON file), and real `satchel run`
    agents with --list-cmd naming tests/fixtures/example_lister.sh, which
    prints "FILE::NAME" for each line "NAME ms=N" of a test file, and
    tests/fixtures/example_runner.sh as the test command, which runs an
    example (sleeps its ms) or a whole file (all its examples). Proves:
    - a file predicted at 60% of the suite, on 4 nodes in queue mode, is
      split: its examples run spread over several nodes, each once, the
      file never whole, no other file split; units.parent names the file;
      afterwards each example has its timing (parent = the file) and the
      file has a sample that is the sum of its examples' latest samples;
    - exactly one node runs the list command; the others wait for it;
    - a list command that fails leaves the file whole: the build still
      runs every test, every node exits 0, and the listing node warns;
    - regular mode: the split, examples included, is a partition of the
      units, and a second build of the same commit reuses it as it was
      without listing again;
    - no split without a list command, nor with one node, nor for a file
      under 70% of the ideal per-node time, unless --slow-threshold says
      it is slow.

    Waits are on events (a log line, a database row, a process exit),
    each with a deadline; the runner and lister hold on gate files the
    test creates when what it wants to see has happened.                  */
#include "e2e_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 4
#define EXAMPLES 8
#define SMALL 8
#define BIG "t/big_test.txt"

//  How to start one agent.
typedef struct {
    const char *suite;           //  --suite
    const char *build;           //  --build
    int index;                   //  --node-index
    int total;                   //  --node-total
    bool regular;                //  --mode regular
    bool list;                   //  --list-cmd with example_lister.sh
    bool list_fails;             //  ... given --fail
    const char *slow;            //  --slow-threshold, or NULL
    const char *gate;            //  the runner waits for this file (NULL: no gate)
    const char *list_gate;       //  the lister waits for this file (NULL: no gate)
} agent_t;

//  The suite and a daemon. The suite: t/big_test.txt with EXAMPLES
//  examples ex1.. of example_ms each, and SMALL files t/sNN_test.txt of
//  small_ms each.
static void
s_suite (e2e_fixture_t *fx, int example_ms, int small_ms)
{
    char name[64], body[1024];
    size_t used = 0;
    for (int e = 1; e <= EXAMPLES; e++)
        used += (size_t) snprintf (body + used, sizeof body - used, "ex%d ms=%d\n", e, example_ms);
    e2e_fixture_unit (fx, BIG, body);
    for (int i = 1; i <= SMALL; i++) {
        snprintf (name, sizeof name, "t/s%02d_test.txt", i);
        snprintf (body, sizeof body, "ms=%d\n", small_ms);
        e2e_fixture_unit (fx, name, body);
    }
    e2e_fixture_daemon (fx, NULL);
}

//  `satchel import` a knapsack report into suite: BIG takes big_s seconds,
//  each small file small_s.
static void
s_import (e2e_fixture_t *fx, const char *suite, double big_s, double small_s)
{
    char json[1024];
    size_t used = (size_t) snprintf (json, sizeof json, "{\"%s\": %.3f", BIG, big_s);
    for (int i = 1; i <= SMALL; i++)
        used += (size_t) snprintf (json + used, sizeof json - used,
                                   ", \"t/s%02d_test.txt\": %.3f", i, small_s);
    snprintf (json + used, sizeof json - used, "}\n");
    char *file = e2e_fixture_path (fx, "%s.json", suite);
    assert_int_equal (harness_write_file (file, json), 0);
    char tag[64];
    snprintf (tag, sizeof tag, "import-%s", suite);
    const char *args[] = { "--format", "knapsack", file, NULL };
    free (e2e_fixture_import (fx, tag, suite, args, 0));
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM timings t JOIN suites s ON"
                                           " s.id = t.suite_id WHERE s.name = '%s'", suite),
                      SMALL + 1);
    free (file);
}

//  Start an agent; its runs go to <tag>.ran, its stderr to <tag>.err.
static pid_t
s_agent (e2e_fixture_t *fx, const char *tag, const agent_t *a)
{
    char *runner = harness_source ("tests/fixtures/example_runner.sh");
    char *lister = harness_source ("tests/fixtures/example_lister.sh");
    char list_cmd[700], env_list[700], env_gate[700], env_list_gate[700];
    snprintf (list_cmd, sizeof list_cmd, "/bin/sh %s%s {}", lister,
              a->list_fails ? " --fail" : "");
    snprintf (env_list, sizeof env_list, "LIST_LOG=%s/list.log", fx->dir);
    snprintf (env_gate, sizeof env_gate, "GATE=%s", a->gate ? a->gate : "");
    snprintf (env_list_gate, sizeof env_list_gate, "LIST_GATE=%s",
              a->list_gate ? a->list_gate : "");
    const char *flags[8];
    int n = 0;
    if (a->list) {
        flags[n++] = "--list-cmd";
        flags[n++] = list_cmd;
    }
    if (a->slow) {
        flags[n++] = "--slow-threshold";
        flags[n++] = a->slow;
    }
    flags[n] = NULL;
    const char *command[] = { "/bin/sh", runner, NULL };
    const char *env[] = { env_list, env_gate, env_list_gate, NULL };
    e2e_agent_t agent = { .tag = tag, .suite = a->suite, .build = a->build, .index = a->index,
                          .total = a->total, .pattern = "t/*_test.txt", .timeout = "10",
                          .mode = a->regular ? "regular" : NULL, .flags = flags,
                          .command = command, .env = env };
    pid_t pid = e2e_fixture_agent (fx, &agent);
    free (runner);
    free (lister);
    return pid;
}

//  How many lines of text are exactly line.
static int
s_count_line (const char *text, const char *line)
{
    int count = 0;
    size_t length = strlen (line);
    for (const char *p = text; *p; ) {
        const char *end = strchr (p, '\n');
        size_t size = end ? (size_t) (end - p) : strlen (p);
        if (size == length && strncmp (p, line, length) == 0)
            count++;
        p += size + (end ? 1 : 0);
    }
    return count;
}

static void
s_tag (char *tag, size_t size, const char *build, int node)
{
    snprintf (tag, size, "%s-n%d", build, node);
}

//  Start total agents of one build at once (a: the template; index set
//  per node), wait for every one to exit 0, and return their run logs
//  joined in node order (malloc'd); lists[n] (if given) gets node n's.
static char *
s_build (e2e_fixture_t *fx, const agent_t *a, char **lists)
{
    char tags[NODES][64];
    assert_true (a->total <= NODES);
    for (int n = 0; n < a->total; n++) {
        agent_t node = *a;
        node.index = n;
        s_tag (tags[n], sizeof tags[n], a->build, n);
        s_agent (fx, tags[n], &node);
    }
    char *all = strdup ("");
    for (int n = 0; n < a->total; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        char *ran = e2e_fixture_text (fx, "%s.ran", tags[n]);
        all = realloc (all, strlen (all) + strlen (ran) + 1);
        strcat (all, ran);
        if (lists)
            lists[n] = ran;
        else
            free (ran);
    }
    return all;
}

//  The id of build key in the database (long long, for "%lld" in queries).
static long long
s_build_id (const e2e_fixture_t *fx, const char *key)
{
    long long id = (long long) e2e_fixture_int (fx, "SELECT coalesce (max (id), -1) FROM builds"
                                                    " WHERE build_key = '%s'", key);
    assert_true (id > 0);
    return id;
}

//  The build's units: EXAMPLES examples of BIG (parent BIG), the SMALL
//  files whole (no parent), and BIG itself not a unit.
static void
s_assert_big_split (const e2e_fixture_t *fx, long long build)
{
    char *examples = e2e_fixture_lines (fx, "SELECT name FROM units WHERE build_id = %lld AND"
                                            " parent = '" BIG "' ORDER BY name", build);
    char expected[1024] = "";
    for (int e = 1; e <= EXAMPLES; e++) {
        char line[64];
        snprintf (line, sizeof line, BIG "::ex%d\n", e);
        strcat (expected, line);
    }
    assert_string_equal (examples, expected);
    free (examples);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld",
                                       build), EXAMPLES + SMALL);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld AND"
                                           " parent IS NULL AND name LIKE 't/s%%_test.txt'", build),
                      SMALL);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld AND"
                                           " name = '" BIG "'", build), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT examples FROM builds WHERE id = %lld", build),
                      EXAMPLES);
}

//  No unit of the build is an example; BIG is one unit.
static void
s_assert_not_split (const e2e_fixture_t *fx, long long build)
{
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld",
                                       build), 1 + SMALL);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld AND"
                                           " parent IS NOT NULL", build), 0);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM units WHERE build_id = %lld AND"
                                           " name = '" BIG "'", build), 1);
    assert_int_equal (e2e_fixture_int (fx, "SELECT examples FROM builds WHERE id = %lld", build),
                      0);
}

//  The run logs together: every small file once, and BIG either whole
//  once (split false) or as its EXAMPLES examples, each once.
static void
s_assert_ran_once (const char *ran, bool split)
{
    char line[64];
    for (int i = 1; i <= SMALL; i++) {
        snprintf (line, sizeof line, "t/s%02d_test.txt", i);
        assert_int_equal (s_count_line (ran, line), 1);
    }
    assert_int_equal (s_count_line (ran, BIG), split ? 0 : 1);
    for (int e = 1; e <= EXAMPLES; e++) {
        snprintf (line, sizeof line, BIG "::ex%d", e);
        assert_int_equal (s_count_line (ran, line), split ? 1 : 0);
    }
    assert_int_equal (harness_count (ran, "\n"), SMALL + (split ? EXAMPLES : 1));
}

//  (a) A file predicted at 60% of the suite, 4 nodes, queue mode: split
//  into its examples, spread over the nodes, each run once; history per
//  example and, summed, per file.
static void
test_slow_file_split_across_nodes (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 150, 50);
    s_import (fx, "ex", 60, 5);       //  60 of 100 s; ideal 25 s per node
    //  The runner holds every batch until each node has one: no node can
    //  run through the queue before the others joined.
    char *gate = e2e_fixture_path (fx, "gate");
    agent_t a = { .suite = "ex", .build = "a1", .total = NODES, .list = true, .gate = gate };
    char tags[NODES][64];
    for (int n = 0; n < NODES; n++) {
        a.index = n;
        s_tag (tags[n], sizeof tags[n], a.build, n);
        s_agent (fx, tags[n], &a);
    }
    //  Every node has a batch.
    e2e_fixture_wait_db (fx, NODES, "SELECT count (DISTINCT b.node_index) FROM batches b JOIN"
                         " builds d ON d.id = b.build_id WHERE d.build_key = 'a1'");
    assert_int_equal (harness_write_file (gate, ""), 0);
    char *ran = strdup ("");
    for (int n = 0; n < NODES; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        char *one = e2e_fixture_text (fx, "%s.ran", tags[n]);
        ran = realloc (ran, strlen (ran) + strlen (one) + 1);
        strcat (ran, one);
        free (one);
    }
    long long build = s_build_id (fx, "a1");
    s_assert_big_split (fx, build);
    s_assert_ran_once (ran, true);

    //  The database agrees: each example handed out once, on several nodes.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units bu JOIN batches b ON"
                                           " b.id = bu.batch_id JOIN units u ON u.build_id ="
                                           " b.build_id AND u.idx = bu.unit_idx WHERE"
                                           " b.build_id = %lld AND u.parent = '" BIG "'", build),
                      EXAMPLES);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (DISTINCT bu.unit_idx) FROM batch_units"
                                           " bu JOIN batches b ON b.id = bu.batch_id WHERE"
                                           " b.build_id = %lld", build), EXAMPLES + SMALL);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batch_units bu JOIN batches b ON"
                                           " b.id = bu.batch_id WHERE b.build_id = %lld", build),
                      EXAMPLES + SMALL);
    int64_t nodes = e2e_fixture_int (fx, "SELECT count (DISTINCT b.node_index) FROM batch_units bu"
                                         " JOIN batches b ON b.id = bu.batch_id JOIN units u ON"
                                         " u.build_id = b.build_id AND u.idx = bu.unit_idx WHERE"
                                         " b.build_id = %lld AND u.parent = '" BIG "'", build);
    fprintf (stderr, "the examples of %s ran on %lld nodes\n", BIG, (long long) nodes);
    assert_true (nodes >= 2);
    assert_true (e2e_fixture_int (fx, "SELECT finished_ms > 0 FROM builds WHERE id = %lld", build));

    //  History: a timing per example, its parent the file; the file's own
    //  sample from this build is the sum of its examples' latest samples.
    char *timed = e2e_fixture_lines (fx, "SELECT name FROM timings WHERE parent = '" BIG "' AND"
                                         " suite_id = (SELECT suite_id FROM builds WHERE id = %lld)"
                                         " ORDER BY name", build);
    char *units = e2e_fixture_lines (fx, "SELECT name FROM units WHERE build_id = %lld AND parent"
                                         " IS NOT NULL ORDER BY name", build);
    assert_string_equal (timed, units);
    free (timed);
    free (units);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM timings WHERE parent"
                                           " IS NOT NULL AND parent != '" BIG "'"), 0);
    double sum = 0;
    for (int e = 1; e <= EXAMPLES; e++) {
        char *text = e2e_fixture_lines (fx, "SELECT duration_ms FROM samples WHERE build_id ="
                                            " %lld AND name = '" BIG "::ex%d' ORDER BY id DESC"
                                            " LIMIT 1", build, e);
        assert_true (*text);
        sum += strtod (text, NULL);
        free (text);
    }
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM samples WHERE build_id = %lld AND"
                                           " name = '" BIG "'", build), 1);
    char *file = e2e_fixture_lines (fx, "SELECT duration_ms FROM samples WHERE build_id = %lld AND"
                                        " name = '" BIG "'", build);
    double file_ms = strtod (file, NULL);
    fprintf (stderr, "%s: file sample %.3f ms, its examples' samples sum to %.3f ms\n", BIG,
             file_ms, sum);
    assert_true (file_ms > sum - 0.01 && file_ms < sum + 0.01);
    //  They really ran: the build's units at least their sleeps. Without a
    //  report each batch's wall time is shared over its units by their
    //  predictions, so only the whole build's samples are sure to hold
    //  the sleeps; a batch may mix examples with small files.
    char *all = e2e_fixture_lines (fx, "SELECT sum (duration_ms) FROM samples WHERE build_id ="
                                       " %lld AND name != '" BIG "'", build);
    assert_true (strtod (all, NULL) >= EXAMPLES * 150 + SMALL * 50);
    free (all);
    free (file);
    free (ran);
    free (gate);
}

//  (b) One node lists; the nodes that join meanwhile wait, then join the
//  build it created.
static void
test_one_node_lists_others_wait (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 20, 20);
    s_import (fx, "ex", 60, 5);
    char *list_gate = e2e_fixture_path (fx, "list-gate");
    agent_t a = { .suite = "ex", .build = "b1", .total = NODES, .list = true,
                  .list_gate = list_gate };
    char tags[NODES][64];
    s_tag (tags[0], sizeof tags[0], a.build, 0);
    s_agent (fx, tags[0], &a);
    //  Node 0 is asked to list, and its lister holds on: the others join now.
    assert_int_equal (e2e_fixture_wait_for (fx, "list " BIG, "list.log"), 0);
    for (int n = 1; n < NODES; n++) {
        a.index = n;
        s_tag (tags[n], sizeof tags[n], a.build, n);
        s_agent (fx, tags[n], &a);
    }
    for (int n = 1; n < NODES; n++) {
        if (e2e_fixture_wait_for (fx, "another node is listing", "%s.err", tags[n]) != 0) {
            char *err = e2e_fixture_text (fx, "%s.err", tags[n]);
            fprintf (stderr, "---- %s\n%s\n", tags[n], err);
            free (err);
            fail_msg ("node %d was not told to wait for the listing", n);
        }
    }
    assert_int_equal (harness_write_file (list_gate, ""), 0);
    char *ran = strdup ("");
    for (int n = 0; n < NODES; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        char *one = e2e_fixture_text (fx, "%s.ran", tags[n]);
        ran = realloc (ran, strlen (ran) + strlen (one) + 1);
        strcat (ran, one);
        free (one);
        char *err = e2e_fixture_text (fx, "%s.err", tags[n]);
        bool listed = strstr (err, "listing the examples of 1 slow test file") != NULL;
        bool waited = strstr (err, "another node is listing") != NULL;
        assert_true (listed == (n == 0));
        assert_true (waited == (n != 0));
        free (err);
    }
    char *log = e2e_fixture_read (fx, "list.log");
    assert_non_null (log);
    assert_string_equal (log, "list " BIG "\n");
    free (log);
    s_assert_big_split (fx, s_build_id (fx, "b1"));
    s_assert_ran_once (ran, true);
    free (ran);
    free (list_gate);
}

//  (c) The list command fails: the file stays whole, the build runs all
//  of it, every node exits 0 and the node that listed warns.
static void
test_failed_listing_keeps_file_whole (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 20, 20);
    s_import (fx, "ex", 60, 5);
    agent_t a = { .suite = "ex", .build = "c1", .total = NODES, .list = true,
                  .list_fails = true };
    char *ran = s_build (fx, &a, NULL);
    s_assert_not_split (fx, s_build_id (fx, "c1"));
    s_assert_ran_once (ran, false);
    int warned = 0;
    for (int n = 0; n < NODES; n++) {
        char tag[64];
        s_tag (tag, sizeof tag, "c1", n);
        char *err = e2e_fixture_text (fx, "%s.err", tag);
        if (strstr (err, "warning: listing the examples failed")) {
            warned++;
            assert_non_null (strstr (err, "the slow files stay whole"));
        }
        free (err);
    }
    assert_int_equal (warned, 1);
    char *log = e2e_fixture_read (fx, "list.log");
    assert_non_null (log);
    assert_string_equal (log, "list --fail " BIG "\n");
    free (log);
    free (ran);
}

//  (d) Regular mode: the nodes' lists, examples included, are disjoint
//  and cover the build; a second build of the commit (a new build id)
//  gets the same lists, examples included, with no listing.
static void
test_regular_split_with_examples_is_reused (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 20, 20);
    s_import (fx, "ex", 60, 5);
    agent_t a = { .suite = "ex", .build = "r1", .total = NODES, .regular = true, .list = true };
    char *first[NODES], *again[NODES];
    char *ran = s_build (fx, &a, first);
    long long r1 = s_build_id (fx, "r1");
    s_assert_big_split (fx, r1);
    s_assert_ran_once (ran, true);      //  together the whole build, so disjoint
    int with_examples = 0;
    for (int n = 0; n < NODES; n++)
        with_examples += strstr (first[n], "::") != NULL;
    assert_true (with_examples >= 2);
    assert_int_equal (e2e_fixture_int (fx, "SELECT count (*) FROM batches WHERE build_id = %lld AND"
                                           " kind = 3", r1), NODES);
    free (ran);

    a.build = "r2";
    ran = s_build (fx, &a, again);
    long long r2 = s_build_id (fx, "r2");
    assert_true (r2 != r1);
    s_assert_big_split (fx, r2);
    for (int n = 0; n < NODES; n++)
        assert_string_equal (again[n], first[n]);
    char *log = e2e_fixture_read (fx, "list.log");
    assert_non_null (log);
    assert_string_equal (log, "list " BIG "\n");
    char *split1 = e2e_fixture_lines (fx, "SELECT name || ' ' || split_node FROM units WHERE"
                                          " build_id = %lld ORDER BY name", r1);
    char *split2 = e2e_fixture_lines (fx, "SELECT name || ' ' || split_node FROM units WHERE"
                                          " build_id = %lld ORDER BY name", r2);
    assert_string_equal (split1, split2);
    for (int n = 0; n < NODES; n++) {
        free (first[n]);
        free (again[n]);
    }
    free (split1);
    free (split2);
    free (log);
    free (ran);
}

//  (e) No list command: nothing is split, however slow the file. One
//  node: nothing is split and nothing listed.
static void
test_no_split_without_list_or_with_one_node (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 20, 20);
    s_import (fx, "ex", 60, 5);
    s_import (fx, "ex1", 60, 5);
    agent_t a = { .suite = "ex", .build = "e1", .total = NODES };
    char *ran = s_build (fx, &a, NULL);
    s_assert_not_split (fx, s_build_id (fx, "e1"));
    s_assert_ran_once (ran, false);
    for (int n = 0; n < NODES; n++) {
        char tag[64];
        s_tag (tag, sizeof tag, "e1", n);
        char *err = e2e_fixture_text (fx, "%s.err", tag);
        assert_null (strstr (err, "listing"));
        assert_null (strstr (err, "examples"));
        free (err);
    }
    free (ran);

    agent_t one = { .suite = "ex1", .build = "e2", .total = 1, .list = true };
    ran = s_build (fx, &one, NULL);
    s_assert_not_split (fx, s_build_id (fx, "e2"));
    s_assert_ran_once (ran, false);
    assert_null (e2e_fixture_read (fx, "list.log"));
    free (ran);
}

//  (f) A file under 70% of the ideal per-node time stays whole, unless
//  it is over --slow-threshold: then it is split.
static void
test_slow_threshold (void **state)
{
    e2e_fixture_t *fx = *state;
    s_suite (fx, 20, 20);
    //  8 + 8 x 5 = 48 s on 4 nodes: 12 s each, 70% of it 8.4 s > 8 s.
    s_import (fx, "share", 8, 5);
    s_import (fx, "threshold", 8, 5);
    agent_t a = { .suite = "share", .build = "f1", .total = NODES, .list = true };
    char *ran = s_build (fx, &a, NULL);
    s_assert_not_split (fx, s_build_id (fx, "f1"));
    s_assert_ran_once (ran, false);
    assert_null (e2e_fixture_read (fx, "list.log"));
    free (ran);

    agent_t b = { .suite = "threshold", .build = "f2", .total = NODES, .list = true,
                  .slow = "7" };
    ran = s_build (fx, &b, NULL);
    s_assert_big_split (fx, s_build_id (fx, "f2"));
    s_assert_ran_once (ran, true);
    char *log = e2e_fixture_read (fx, "list.log");
    assert_non_null (log);
    assert_string_equal (log, "list " BIG "\n");
    free (log);
    free (ran);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_slow_file_split_across_nodes, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_one_node_lists_others_wait, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_failed_listing_keeps_file_whole, e2e_fixture_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_regular_split_with_examples_is_reused,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_no_split_without_list_or_with_one_node,
                                         e2e_fixture_setup, e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_slow_threshold, e2e_fixture_setup,
                                         e2e_fixture_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
