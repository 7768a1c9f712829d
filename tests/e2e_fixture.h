/*  e2e_fixture.h: the world of one end-to-end test. A temporary folder
    holds the suite (the agents' working folder), satcheld's database and
    log, and the files of each real `satchel run` agent, named by the
    agent's tag: <tag>.err its output, <tag>.ran what its test command ran
    (tests/fixtures/fake_runner.sh's RAN_LOG). The helpers fail the calling
    cmocka test on error, bound each wait by fx->deadline_ms, and show what
    there is to read (the agent's output, the daemon's log) when something
    is not as expected. Teardown leaves nothing running.

    Unlike a class (CONVENTIONS.md) the struct is open: tests read its
    paths, names and the daemon's endpoint, and that is what it is for.   */
#ifndef SATCHEL_E2E_FIXTURE_H
#define SATCHEL_E2E_FIXTURE_H

#include "harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

//  Agents one test may start (a tag reused once its agent is reaped
//  counts once).
#define E2E_AGENTS_MAX 32

//  An agent the fixture started.
typedef struct {
    char tag[64];                //  names its files in the test folder
    pid_t pid;                   //  leader of its own process group; 0 once reaped
} e2e_started_t;

typedef struct {
    char *dir;                   //  temp folder of the test, removed by teardown
    char *suite;                 //  <dir>/suite: the test files; the agents' working folder
    char **names;                //  the units e2e_fixture_unit wrote, relative, in that order
    int count;                   //  how many
    harness_daemon_t daemon;     //  satcheld, once e2e_fixture_daemon started it
    char db[600];                //  its database, kept after harness_daemon_stop frees daemon.db
    char log[600];               //  its log, kept likewise ("" before any start)
    int64_t deadline_ms;         //  bound of each wait of the helpers (60 s unless set)
    e2e_started_t agents[E2E_AGENTS_MAX];   //  every agent started, in order
    int agent_count;             //  how many
    int dead_fd;                 //  socket behind dead_endpoint; -1 until asked for
    char dead_endpoint[64];      //  where nothing listens (e2e_fixture_dead_endpoint)
    char *tmp;                   //  the agents' TMPDIR once e2e_fixture_tmp made it, else NULL
    bool passed;                 //  the test reached its end (e2e_fixture_teardown_dump)
} e2e_fixture_t;

//  How to start one `satchel run`: its flags in the order given here,
//  then "--" and the test command. Its environment: RAN_LOG=<dir>/<tag>.ran,
//  START_LOG if asked, TMPDIR once e2e_fixture_tmp made one, then env.
typedef struct {
    const char *tag;             //  names its files: <tag>.err, <tag>.ran (at most 63 bytes)
    const char *coordinator;     //  --coordinator; NULL: the fixture's satcheld
    const char *suite;           //  --suite
    const char *build;           //  --build
    int index;                   //  --node-index
    int total;                   //  --node-total
    const char *commit;          //  --commit; NULL: c0ffee
    const char *branch;          //  --branch; NULL: main
    const char *pattern;         //  --pattern; NULL: none (the flags say which tests)
    const char *timeout;         //  --timeout; NULL: none (satchel's default)
    const char *mode;            //  --mode; NULL: none (queue)
    const char *const *flags;    //  more flags (NULL-terminated, may be NULL)
    const char *const *command;  //  the test command; NULL: /bin/sh fake_runner.sh {}
    const char *const *env;      //  more "NAME=value" after the fixture's (NULL-terminated or NULL)
    bool start_log;              //  START_LOG=<dir>/<tag>.starts: fake_runner.sh's starts
    bool stdout_too;             //  its stdout to <tag>.err as well (else /dev/null)
} e2e_agent_t;

//  cmocka setup: a fixture with its folder and empty suite folder, as
//  *state. Returns 0.
int e2e_fixture_setup (void **state);

//  cmocka teardown: kill every agent still running together with what it
//  started, stop satcheld, remove the folder, free. Returns -1 if satcheld
//  was running and did not exit 0 on SIGTERM (the test fails), else 0.
int e2e_fixture_teardown (void **state);

//  As e2e_fixture_teardown, but first, unless the test set fx->passed,
//  the tails of the daemon's log and of every agent's files to stderr:
//  for tests that fail far from the process that went wrong.
int e2e_fixture_teardown_dump (void **state);

//  Start satcheld in the test folder with extra arguments (NULL-terminated,
//  may be NULL). Fails the test, its log shown, if it does not serve.
void e2e_fixture_daemon (e2e_fixture_t *fx, const char *const *extra);

//  The same on a port that no other test's satcheld takes
//  (harness_daemon_start_fixed): for a test that restarts it.
void e2e_fixture_daemon_fixed (e2e_fixture_t *fx, const char *const *extra);

//  Write the test file name (relative to the suite folder, whose folders
//  are made as needed) with body, and add name to fx->names.
void e2e_fixture_unit (e2e_fixture_t *fx, const char *name, const char *body);

//  Add a line ("fail", "flaky") to the suite's test file name.
void e2e_fixture_mark (e2e_fixture_t *fx, const char *name, const char *line);

//  Hold a build open: the suite's unit name gets a "gate" line, so that
//  fake_runner.sh waits (at most 60 s) for the file the gate names before
//  it counts as run. Writes the agents' "GATE=<path>" into env (size
//  bytes) and returns the path (malloc'd): write it to let the unit go.
char *e2e_fixture_gate (e2e_fixture_t *fx, const char *name, char *env, size_t size);

//  Wait (at most fx->deadline_ms) until the batch holding the unit name is
//  handed out and running: with the unit gated, the build is surely in
//  flight from then until the gate opens.
void e2e_fixture_wait_running (const e2e_fixture_t *fx, const char *name);

//  An endpoint where nothing listens and nothing can until teardown
//  (harness_dead_endpoint), made at the first call. Borrowed.
const char *e2e_fixture_dead_endpoint (e2e_fixture_t *fx);

//  Make <dir>/tmp, the TMPDIR of the agents started from now on (where
//  they put their test reports), unless made already. Returns its path
//  (borrowed).
const char *e2e_fixture_tmp (e2e_fixture_t *fx);

//  Start an agent, in a process group of its own so that it and its test
//  command can be killed together (kill (-pid, ...)). Its tag must not be
//  another running agent's. Returns its pid.
pid_t e2e_fixture_agent (e2e_fixture_t *fx, const e2e_agent_t *agent);

//  Reap the running agent tag, waiting at most fx->deadline_ms (then its
//  process group is killed). Returns its exit status as harness_wait
//  does; one other than 0 is said on stderr.
int e2e_fixture_wait (e2e_fixture_t *fx, const char *tag);

//  Reap agent tag; unless its exit status is expected, show its output and
//  the daemon's log, and fail.
void e2e_fixture_expect_exit (e2e_fixture_t *fx, const char *tag, int expected);

//  Start an agent and reap it (e2e_fixture_expect_exit). Returns its
//  output (malloc'd).
char *e2e_fixture_run (e2e_fixture_t *fx, const e2e_agent_t *agent, int expected);

//  How many times agent tag's output says needle (0 if it has none).
int e2e_fixture_said (const e2e_fixture_t *fx, const char *tag, const char *needle);

//  Run `satchel import --coordinator <the daemon> --suite suite` with
//  args (NULL-terminated), its output to <tag>.err. Fails unless it exits
//  expected (its output shown). Returns its output (malloc'd).
char *e2e_fixture_import (e2e_fixture_t *fx, const char *tag, const char *suite,
                          const char *const *args, int expected);

//  The path of the test folder's file named by format (malloc'd).
char *e2e_fixture_path (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  That file's text (malloc'd), or NULL if it cannot be read.
char *e2e_fixture_read (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The same, but "" (malloc'd) if it cannot be read.
char *e2e_fixture_text (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Wait (at most fx->deadline_ms) until that file contains needle ("":
//  until it exists). Returns 0, or -1 past the deadline (said on stderr).
int e2e_fixture_wait_for (const e2e_fixture_t *fx, const char *needle, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Queries of the daemon's database, read-only, given as printf formats
//  (a literal % is %%): the first column of the first row as an integer
//  (e2e_db_int); the first column's rows joined by '\n' (e2e_db_lines,
//  malloc'd); the first row's REAL, which must be there.
int64_t e2e_fixture_int (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
char *e2e_fixture_lines (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
double e2e_fixture_real (const e2e_fixture_t *fx, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Wait (at most fx->deadline_ms) until the query gives at least min, a
//  database not readable yet (a restart) counting as not yet. Past the
//  deadline, show the daemon's log and fail.
void e2e_fixture_wait_db (const e2e_fixture_t *fx, int64_t min, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Under -DSATCHEL_SANITIZE=ON a sanitizer report may end a process with
//  the very exit status a test expects (ASan's is 1): fail if the daemon's
//  log or any agent's output holds one.
void e2e_fixture_assert_no_sanitizer_reports (const e2e_fixture_t *fx);

//  The last step of a test whose teardown is e2e_fixture_teardown_dump:
//  stop satcheld if it still runs (it must exit 0, and a sanitizer's leak
//  report comes at its exit), then e2e_fixture_assert_no_sanitizer_reports,
//  then set fx->passed.
void e2e_fixture_pass (e2e_fixture_t *fx);

#endif
