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
#include "e2e_client.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

typedef struct {
    char *dir;                   //  temp folder
    char *suite;                 //  the suite's folder (agents' cwd)
    harness_daemon_t daemon;     //  the real satcheld
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    if (!fx)
        return -1;
    fx->dir = harness_tmpdir ();
    fx->suite = malloc (strlen (fx->dir) + 8);
    sprintf (fx->suite, "%s/suite", fx->dir);
    if (mkdir (fx->suite, 0755) != 0)
        return -1;
    char path[2048];
    snprintf (path, sizeof path, "%s/t", fx->suite);
    if (mkdir (path, 0755) != 0)
        return -1;
    for (size_t i = 0; i < NAMES; i++) {
        snprintf (path, sizeof path, "%s/%s", fx->suite, s_names[i].name);
        if (harness_write_file (path, "a test\n") != 0)
            return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    int rc = 0;
    if (fx->daemon.pid > 0)
        rc = harness_daemon_stop (&fx->daemon) == 0 ? 0 : -1;
    harness_rmtree (fx->dir);
    free (fx->suite);
    free (fx->dir);
    free (fx);
    return rc;
}

//  Run `satchel run` as node index of total against endpoint; returns its
//  exit status. Its runs go to ran<index>.log.
static int
s_agent (const fixture_t *fx, const char *endpoint, int index, int total, pid_t *pid_out)
{
    char *satchel = harness_bin ("satchel");
    char *runner = harness_source ("tests/fixtures/strict_runner.sh");
    char node[16], nodes[16], err[1100], ran[1100];
    snprintf (node, sizeof node, "%d", index);
    snprintf (nodes, sizeof nodes, "%d", total);
    snprintf (err, sizeof err, "%s/agent%d.err", fx->dir, index);
    snprintf (ran, sizeof ran, "RAN_LOG=%s/ran%d.log", fx->dir, index);
    char *argv[] = {
        satchel, "run", "--coordinator", (char *) endpoint, "--suite", "names",
        "--build", "names-1", "--node-index", node, "--node-total", nodes, "--commit", "c0ffee",
        "--branch", "main", "--pattern", "**/*_test.txt", "--timeout", "1", "--", "/bin/sh",
        runner, NULL
    };
    const char *env[] = { ran, NULL };
    pid_t pid = harness_spawn_group (argv, fx->suite, env, NULL, err);
    assert_true (pid > 0);
    free (runner);
    free (satchel);
    *pid_out = pid;
    return 0;
}

static void
s_expect_exit (const fixture_t *fx, pid_t pid, int index, int expected)
{
    int status = harness_wait_group (pid, DEADLINE_MS);
    if (status != expected) {
        char err[1100];
        snprintf (err, sizeof err, "%s/agent%d.err", fx->dir, index);
        fprintf (stderr, "agent %d exited %d, expected %d\n", index, status, expected);
        harness_dump_tail ("agent", err);
    }
    assert_int_equal (status, expected);
}

//  The arguments the runner got on nodes [0, nodes), NUL-separated logs
//  put together: each expected argument exactly once, nothing else.
static void
s_expect_ran (const fixture_t *fx, int nodes)
{
    size_t seen[NAMES] = { 0 };
    size_t total = 0;
    for (int n = 0; n < nodes; n++) {
        char path[1100];
        snprintf (path, sizeof path, "%s/ran%d.log", fx->dir, n);
        FILE *file = fopen (path, "rb");
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
    char pwned[1100];
    snprintf (pwned, sizeof pwned, "%s/PWNED", fx->suite);
    assert_int_not_equal (access (pwned, F_OK), 0);
}

static void
test_names_reach_the_runner (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (harness_daemon_start (&fx->daemon, fx->dir, NULL), 0);
    pid_t pids[2];
    for (int n = 0; n < 2; n++)
        s_agent (fx, fx->daemon.endpoint, n, 2, &pids[n]);
    for (int n = 0; n < 2; n++)
        s_expect_exit (fx, pids[n], n, 0);
    s_expect_ran (fx, 2);
    //  satcheld keeps each name as it is: every one has its history.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT result = 'passed' FROM builds"), 1);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count (*) FROM timings"),
                      (int64_t) NAMES);
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count (*) FROM timings"
                                                 " WHERE name = '-dash_test.txt'"
                                                 " OR name = 't/new' || char (10) ||"
                                                 " 'line_test.txt'"
                                                 " OR name = CAST (x'742f6c6174696e3120e974e95f746573742e747874'"
                                                 " AS TEXT)"), 3);
}

//  No daemon: the split by name runs the same names the same way.
static void
test_names_in_fallback (void **state)
{
    fixture_t *fx = *state;
    //  A loopback port bound but not listening: connects are refused, and
    //  bound without SO_REUSEADDR, nobody else can take it meanwhile.
    int dead = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true (dead >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (dead, (struct sockaddr *) &addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal (getsockname (dead, (struct sockaddr *) &addr, &len), 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs (addr.sin_port));
    pid_t pids[2];
    for (int n = 0; n < 2; n++)
        s_agent (fx, endpoint, n, 2, &pids[n]);
    for (int n = 0; n < 2; n++)
        s_expect_exit (fx, pids[n], n, 0);
    s_expect_ran (fx, 2);
    close (dead);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_names_reach_the_runner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_names_in_fallback, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
