/*  e2e_fixture.c: see e2e_fixture.h.                                      */
#include "e2e_fixture.h"
#include "e2e_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

//  Room for the arguments and environment entries of one agent: far more
//  than any test gives.
#define ARGS_MAX 96
#define ENV_MAX 32

int
e2e_fixture_setup (void **state)
{
    e2e_fixture_t *fx = calloc (1, sizeof *fx);
    assert_non_null (fx);
    fx->dir = harness_tmpdir ();
    size_t size = strlen (fx->dir) + sizeof "/suite";
    fx->suite = malloc (size);
    assert_non_null (fx->suite);
    snprintf (fx->suite, size, "%s/suite", fx->dir);
    assert_int_equal (mkdir (fx->suite, 0755), 0);
    fx->deadline_ms = 60000;
    fx->dead_fd = -1;
    *state = fx;
    return 0;
}

int
e2e_fixture_teardown (void **state)
{
    e2e_fixture_t *fx = *state;
    if (!fx)
        return 0;
    //  What a failed assert left running: each agent with its test command
    //  (the group is still ours: its leader is not reaped yet).
    for (int i = 0; i < fx->agent_count; i++) {
        if (fx->agents[i].pid > 0) {
            kill (-fx->agents[i].pid, SIGKILL);
            waitpid (fx->agents[i].pid, NULL, 0);
            fx->agents[i].pid = 0;
        }
    }
    int rc = 0;
    if (fx->daemon.pid > 0)
        rc = harness_daemon_stop (&fx->daemon) == 0 ? 0 : -1;
    else
        harness_daemon_stop (&fx->daemon);      //  frees its strings
    if (fx->dead_fd >= 0)
        close (fx->dead_fd);
    harness_rmtree (fx->dir);
    for (int i = 0; i < fx->count; i++)
        free (fx->names[i]);
    free (fx->names);
    free (fx->tmp);
    free (fx->suite);
    free (fx->dir);
    free (fx);
    *state = NULL;
    return rc;
}

int
e2e_fixture_teardown_dump (void **state)
{
    e2e_fixture_t *fx = *state;
    if (fx && !fx->passed) {
        harness_dump_tail ("satcheld log", fx->log);
        for (int i = 0; i < fx->agent_count; i++) {
            char title[96], *path = e2e_fixture_path (fx, "%s.err", fx->agents[i].tag);
            snprintf (title, sizeof title, "agent %s", fx->agents[i].tag);
            harness_dump_tail (title, path);
            free (path);
            path = e2e_fixture_path (fx, "%s.ran", fx->agents[i].tag);
            snprintf (title, sizeof title, "agent %s ran", fx->agents[i].tag);
            harness_dump_tail (title, path);
            free (path);
        }
    }
    return e2e_fixture_teardown (state);
}

//  After a start: keep the paths that harness_daemon_stop frees.
static void
s_daemon_started (e2e_fixture_t *fx, int rc)
{
    if (rc != 0)
        harness_dump_tail ("satcheld", fx->daemon.log);
    assert_int_equal (rc, 0);
    snprintf (fx->db, sizeof fx->db, "%s", fx->daemon.db);
    snprintf (fx->log, sizeof fx->log, "%s", fx->daemon.log);
}

void
e2e_fixture_daemon (e2e_fixture_t *fx, const char *const *extra)
{
    s_daemon_started (fx, harness_daemon_start (&fx->daemon, fx->dir, extra));
}

void
e2e_fixture_daemon_fixed (e2e_fixture_t *fx, const char *const *extra)
{
    s_daemon_started (fx, harness_daemon_start_fixed (&fx->daemon, fx->dir, extra));
}

void
e2e_fixture_unit (e2e_fixture_t *fx, const char *name, const char *body)
{
    char path[1024];
    assert_true ((size_t) snprintf (path, sizeof path, "%s/%s", fx->suite, name) < sizeof path);
    for (char *slash = strchr (path + strlen (fx->suite) + 1, '/'); slash;
         slash = strchr (slash + 1, '/')) {
        *slash = 0;
        mkdir (path, 0755);         //  EEXIST is fine; a real failure fails the write
        *slash = '/';
    }
    assert_int_equal (harness_write_file (path, body), 0);
    char **names = realloc (fx->names, (size_t) (fx->count + 1) * sizeof (char *));
    assert_non_null (names);
    fx->names = names;
    fx->names[fx->count] = strdup (name);
    assert_non_null (fx->names[fx->count]);
    fx->count++;
}

void
e2e_fixture_mark (e2e_fixture_t *fx, const char *name, const char *line)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/%s", fx->suite, name);
    char *text = harness_read_file (path);
    assert_non_null (text);
    size_t size = strlen (text) + strlen (line) + 2;
    char *body = malloc (size);
    assert_non_null (body);
    snprintf (body, size, "%s%s\n", text, line);
    assert_int_equal (harness_write_file (path, body), 0);
    free (body);
    free (text);
}

const char *
e2e_fixture_dead_endpoint (e2e_fixture_t *fx)
{
    if (fx->dead_fd < 0)
        fx->dead_fd = harness_dead_endpoint (fx->dead_endpoint, sizeof fx->dead_endpoint);
    assert_true (fx->dead_fd >= 0);
    return fx->dead_endpoint;
}

const char *
e2e_fixture_tmp (e2e_fixture_t *fx)
{
    if (!fx->tmp) {
        fx->tmp = e2e_fixture_path (fx, "tmp");
        assert_int_equal (mkdir (fx->tmp, 0755), 0);
    }
    return fx->tmp;
}

//  The running agent called tag; fails the test if there is none.
static e2e_started_t *
s_running (e2e_fixture_t *fx, const char *tag)
{
    for (int i = 0; i < fx->agent_count; i++)
        if (fx->agents[i].pid > 0 && strcmp (fx->agents[i].tag, tag) == 0)
            return &fx->agents[i];
    fail_msg ("no agent %s is running", tag);
    return NULL;
}

pid_t
e2e_fixture_agent (e2e_fixture_t *fx, const e2e_agent_t *agent)
{
    assert_non_null (agent->tag);
    assert_true (strlen (agent->tag) < sizeof fx->agents[0].tag);
    assert_non_null (agent->suite);
    assert_non_null (agent->build);
    //  A slot: the tag's, once its agent is reaped, or a new one.
    e2e_started_t *slot = NULL;
    for (int i = 0; i < fx->agent_count && !slot; i++)
        if (strcmp (fx->agents[i].tag, agent->tag) == 0) {
            assert_int_equal (fx->agents[i].pid, 0);
            slot = &fx->agents[i];
        }
    if (!slot) {
        assert_true (fx->agent_count < E2E_AGENTS_MAX);
        slot = &fx->agents[fx->agent_count++];
        snprintf (slot->tag, sizeof slot->tag, "%s", agent->tag);
    }
    char *satchel = harness_bin ("satchel");
    char *runner = harness_source ("tests/fixtures/fake_runner.sh");
    char *err = e2e_fixture_path (fx, "%s.err", agent->tag);
    char index[16], total[16];
    snprintf (index, sizeof index, "%d", agent->index);
    snprintf (total, sizeof total, "%d", agent->total);
    const char *argv[ARGS_MAX];
    int argc = 0;
    const char *fixed[] = {
        satchel, "run", "--coordinator",
        agent->coordinator ? agent->coordinator : fx->daemon.endpoint,
        "--suite", agent->suite, "--build", agent->build, "--node-index", index,
        "--node-total", total, "--commit", agent->commit ? agent->commit : "c0ffee",
        "--branch", agent->branch ? agent->branch : "main", NULL
    };
    for (int i = 0; fixed[i]; i++)
        argv[argc++] = fixed[i];
    const char *optional[][2] = {
        { "--pattern", agent->pattern }, { "--timeout", agent->timeout },
        { "--mode", agent->mode }
    };
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (optional[i][1]) {
            argv[argc++] = optional[i][0];
            argv[argc++] = optional[i][1];
        }
    for (int i = 0; agent->flags && agent->flags[i]; i++) {
        assert_true (argc < ARGS_MAX - 8);
        argv[argc++] = agent->flags[i];
    }
    argv[argc++] = "--";
    const char *const fake[] = { "/bin/sh", runner, "{}", NULL };
    const char *const *command = agent->command ? agent->command : fake;
    for (int i = 0; command[i]; i++) {
        assert_true (argc < ARGS_MAX - 1);
        argv[argc++] = command[i];
    }
    argv[argc] = NULL;

    char ran[700], starts[700], tmpdir[700];
    snprintf (ran, sizeof ran, "RAN_LOG=%s/%s.ran", fx->dir, agent->tag);
    snprintf (starts, sizeof starts, "START_LOG=%s/%s.starts", fx->dir, agent->tag);
    snprintf (tmpdir, sizeof tmpdir, "TMPDIR=%s", fx->tmp ? fx->tmp : "");
    const char *env[ENV_MAX] = { ran };
    int envc = 1;
    if (agent->start_log)
        env[envc++] = starts;
    if (fx->tmp)
        env[envc++] = tmpdir;
    for (int i = 0; agent->env && agent->env[i]; i++) {
        assert_true (envc < ENV_MAX - 1);
        env[envc++] = agent->env[i];
    }
    env[envc] = NULL;
    //  harness_spawn's argv is char *const * as execv's; nothing writes to it.
    slot->pid = harness_spawn_group ((char *const *) argv, fx->suite, env,
                                     agent->stdout_too ? err : NULL, err);
    assert_true (slot->pid > 0);
    free (err);
    free (runner);
    free (satchel);
    return slot->pid;
}

//  Reap agent tag: its exit status, as harness_wait gives it.
static int
s_reap (e2e_fixture_t *fx, const char *tag)
{
    e2e_started_t *agent = s_running (fx, tag);
    int status = harness_wait_group (agent->pid, fx->deadline_ms);
    agent->pid = 0;
    return status;
}

int
e2e_fixture_wait (e2e_fixture_t *fx, const char *tag)
{
    int status = s_reap (fx, tag);
    if (status != 0)
        fprintf (stderr, "agent %s exited %d\n", tag, status);
    return status;
}

void
e2e_fixture_expect_exit (e2e_fixture_t *fx, const char *tag, int expected)
{
    int status = s_reap (fx, tag);
    if (status != expected) {
        char *text = e2e_fixture_text (fx, "%s.err", tag);
        fprintf (stderr, "agent %s exited %d, expected %d:\n%s\n", tag, status, expected, text);
        free (text);
        harness_dump_tail ("satcheld", fx->log);
    }
    assert_int_equal (status, expected);
}

char *
e2e_fixture_run (e2e_fixture_t *fx, const e2e_agent_t *agent, int expected)
{
    e2e_fixture_agent (fx, agent);
    e2e_fixture_expect_exit (fx, agent->tag, expected);
    return e2e_fixture_text (fx, "%s.err", agent->tag);
}

int
e2e_fixture_said (const e2e_fixture_t *fx, const char *tag, const char *needle)
{
    char *text = e2e_fixture_text (fx, "%s.err", tag);
    int count = harness_count (text, needle);
    free (text);
    return count;
}

char *
e2e_fixture_import (e2e_fixture_t *fx, const char *tag, const char *suite,
                    const char *const *args, int expected)
{
    char *satchel = harness_bin ("satchel");
    const char *argv[ARGS_MAX] = { satchel, "import", "--coordinator", fx->daemon.endpoint,
                                   "--suite", suite };
    int argc = 6;
    for (int i = 0; args[i]; i++) {
        assert_true (argc < ARGS_MAX - 1);
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    char *err = e2e_fixture_path (fx, "%s.err", tag);
    int status = harness_run ((char *const *) argv, fx->dir, NULL, err, err, fx->deadline_ms);
    char *text = e2e_fixture_text (fx, "%s.err", tag);
    if (status != expected)
        fprintf (stderr, "satchel import exited %d, expected %d:\n%s\n", status, expected, text);
    assert_int_equal (status, expected);
    free (err);
    free (satchel);
    return text;
}

//  The test folder's file named by format, into path.
static void
s_vpath (const e2e_fixture_t *fx, char *path, size_t size, const char *format, va_list args)
{
    int used = snprintf (path, size, "%s/", fx->dir);
    assert_true (used > 0 && (size_t) used < size);
    int more = vsnprintf (path + used, size - (size_t) used, format, args);
    assert_true (more >= 0 && (size_t) (used + more) < size);
}

char *
e2e_fixture_path (const e2e_fixture_t *fx, const char *format, ...)
{
    char path[1024];
    va_list args;
    va_start (args, format);
    s_vpath (fx, path, sizeof path, format, args);
    va_end (args);
    char *copy = strdup (path);
    assert_non_null (copy);
    return copy;
}

char *
e2e_fixture_read (const e2e_fixture_t *fx, const char *format, ...)
{
    char path[1024];
    va_list args;
    va_start (args, format);
    s_vpath (fx, path, sizeof path, format, args);
    va_end (args);
    return harness_read_file (path);
}

char *
e2e_fixture_text (const e2e_fixture_t *fx, const char *format, ...)
{
    char path[1024];
    va_list args;
    va_start (args, format);
    s_vpath (fx, path, sizeof path, format, args);
    va_end (args);
    char *text = harness_read_file (path);
    return text ? text : strdup ("");
}

int
e2e_fixture_wait_for (const e2e_fixture_t *fx, const char *needle, const char *format, ...)
{
    char path[1024];
    va_list args;
    va_start (args, format);
    s_vpath (fx, path, sizeof path, format, args);
    va_end (args);
    int rc = harness_wait_for_text (path, needle, fx->deadline_ms);
    if (rc != 0)
        fprintf (stderr, "waited in vain for '%s' in %s\n", needle, path);
    return rc;
}

//  A query given as a format, into sql.
static void
s_vquery (char *sql, size_t size, const char *format, va_list args)
{
    int used = vsnprintf (sql, size, format, args);
    assert_true (used >= 0 && (size_t) used < size);
}

int64_t
e2e_fixture_int (const e2e_fixture_t *fx, const char *format, ...)
{
    char sql[4096];
    va_list args;
    va_start (args, format);
    s_vquery (sql, sizeof sql, format, args);
    va_end (args);
    return e2e_db_int (fx->db, sql);
}

char *
e2e_fixture_lines (const e2e_fixture_t *fx, const char *format, ...)
{
    char sql[4096];
    va_list args;
    va_start (args, format);
    s_vquery (sql, sizeof sql, format, args);
    va_end (args);
    return e2e_db_lines (fx->db, sql);
}

double
e2e_fixture_real (const e2e_fixture_t *fx, const char *format, ...)
{
    char sql[4096];
    va_list args;
    va_start (args, format);
    s_vquery (sql, sizeof sql, format, args);
    va_end (args);
    //  As text: sqlite prints a REAL with 15 significant digits.
    char *text = e2e_db_lines (fx->db, sql);
    assert_true (*text != 0);
    char *end = NULL;
    double value = strtod (text, &end);
    assert_true (end != text);
    free (text);
    return value;
}

void
e2e_fixture_wait_db (const e2e_fixture_t *fx, int64_t min, const char *format, ...)
{
    char sql[4096];
    va_list args;
    va_start (args, format);
    s_vquery (sql, sizeof sql, format, args);
    va_end (args);
    int64_t until = harness_now_ms () + fx->deadline_ms;
    int64_t value = -1;
    while (e2e_db_try_int (fx->db, sql, &value) != 0 || value < min) {
        if (harness_now_ms () >= until) {
            harness_dump_tail ("satcheld", fx->log);
            fail_msg ("waited in vain: %s gave %lld, want >= %lld", sql, (long long) value,
                      (long long) min);
        }
        usleep (5000);      //  polling period, not a stand-in for the event
    }
}

void
e2e_fixture_pass (e2e_fixture_t *fx)
{
    if (fx->daemon.pid > 0)
        assert_int_equal (harness_daemon_stop (&fx->daemon), 0);
    e2e_fixture_assert_no_sanitizer_reports (fx);
    fx->passed = true;
}

void
e2e_fixture_assert_no_sanitizer_reports (const e2e_fixture_t *fx)
{
    const char *marks[] = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                            "runtime error:", NULL };
    for (int i = -1; i < fx->agent_count; i++) {
        char *path = i < 0 ? strdup (fx->log) : e2e_fixture_path (fx, "%s.err", fx->agents[i].tag);
        char *text = harness_read_file (path);
        for (int m = 0; text && marks[m]; m++) {
            if (strstr (text, marks[m]))
                fprintf (stderr, "sanitizer report in %s\n", path);
            assert_null (strstr (text, marks[m]));
        }
        free (text);
        free (path);
    }
}

char *
e2e_fixture_gate (e2e_fixture_t *fx, const char *name, char *env, size_t size)
{
    e2e_fixture_mark (fx, name, "gate");
    char *gate = e2e_fixture_path (fx, "gate");
    assert_true ((size_t) snprintf (env, size, "GATE=%s", gate) < size);
    return gate;
}

void
e2e_fixture_wait_running (const e2e_fixture_t *fx, const char *name)
{
    e2e_fixture_wait_db (fx, 1, "SELECT count (*) FROM batch_units bu JOIN batches b"
                                " ON b.id = bu.batch_id JOIN units u ON u.build_id = b.build_id"
                                " AND u.idx = bu.unit_idx WHERE b.state = 0 AND u.name = '%s'",
                         name);
}
