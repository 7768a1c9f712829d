/*  harness.h: helpers for end-to-end tests: temporary folders, a real
    satcheld on a loopback wildcard port, real agent processes, and waits
    that are bounded by deadlines (never sleeps standing in for events);
    and what they read back (counts in text, a run log's units). Plain
    return codes, no cmocka: tests/e2e_fixture.h builds on it with
    asserts.

    Binaries are found through SATCHEL_BIN_DIR and fixtures through
    SATCHEL_SOURCE_DIR, which ctest sets (tests/CMakeLists.txt).           */
#ifndef SATCHEL_HARNESS_H
#define SATCHEL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

//  A temporary folder under /tmp, removed by harness_rmtree. Aborts on error.
char *harness_tmpdir (void);
void harness_rmtree (const char *path);

//  Path of a built binary ("satcheld", "satchel") or of a source file
//  ("tests/fixtures/fake_runner.sh"). Returns a malloc'd string.
char *harness_bin (const char *name);
char *harness_source (const char *relative);

typedef struct {
    pid_t pid;              //  satcheld's process id
    char endpoint[256];     //  the bound endpoint, e.g. tcp://127.0.0.1:41234
    char *dir;              //  folder for its files (borrowed)
    char *db;               //  database path (owned)
    char *log;              //  its stderr (owned)
} harness_daemon_t;

//  Start satcheld on tcp://127.0.0.1:* with its database in dir, plus any
//  extra arguments (NULL-terminated, may be NULL), and wait (at most 10 s)
//  for it to write its endpoint. It logs at debug unless extra has
//  --log-level or --config (whose file then says). Returns 0, or -1 (the daemon is stopped;
//  call harness_daemon_stop anyway to free the strings).
int harness_daemon_start (harness_daemon_t *daemon, char *dir, const char *const *extra);

//  As harness_daemon_start, but on a port the harness picks at random and
//  that no other test's satcheld started on a wildcard port can take
//  (czmq gives those the lowest free port from 49152): for tests that kill
//  satcheld and restart it on the same endpoint (harness_daemon_restart),
//  whose agents must not meet another daemon there in between.
int harness_daemon_start_fixed (harness_daemon_t *daemon, char *dir, const char *const *extra);

//  SIGTERM, wait at most 10 s (then SIGKILL). Returns the exit status as
//  harness_wait does. Frees the strings.
int harness_daemon_stop (harness_daemon_t *daemon);

//  Spawn argv with the working folder cwd (NULL: inherit), extra
//  environment entries "NAME=value" (NULL-terminated, may be NULL; they
//  replace inherited ones of the same name), stdout and stderr to files
//  (NULL: /dev/null). The child inherits no SATCHEL_* or KNAPSACK_PRO_*
//  variable and none by which satchel detects a CI system: tests behave
//  the same inside a CI job. Returns the pid, or -1.
pid_t harness_spawn (char *const *argv, const char *cwd, const char *const *env,
                     const char *out_path, const char *err_path);

//  As harness_spawn, but the child leads a process group of its own (its
//  id is the pid), so that it and its children can be killed together
//  with kill (-pid, SIGKILL) while it is not reaped yet.
pid_t harness_spawn_group (char *const *argv, const char *cwd, const char *const *env,
                           const char *out_path, const char *err_path);

//  From now on, run satcheld and satchel (any path ending so) as words
//  followed by their argv, e.g. { "valgrind", "-q", ..., NULL } (borrowed;
//  NULL: as they are).
void harness_wrap (const char *const *words);

//  Wait for pid until deadline_ms from now; past it, SIGKILL and reap.
//  Returns the exit status 0..255, 128+N if killed by signal N, or -1 if
//  the deadline passed (the process was killed).
int harness_wait (pid_t pid, int64_t deadline_ms);

//  As harness_wait, for a child of harness_spawn_group: past the deadline
//  the whole process group is killed (the child and what it started).
int harness_wait_group (pid_t pid, int64_t deadline_ms);

//  Run argv to completion (see harness_spawn, harness_wait).
int harness_run (char *const *argv, const char *cwd, const char *const *env,
                 const char *out_path, const char *err_path, int64_t deadline_ms);

//  Whole file as a malloc'd NUL-terminated string (NULL if unreadable).
char *harness_read_file (const char *path);

//  The last 6,000 bytes of a file to stderr under a title, if it can be
//  read: what a failed test leaves to read.
void harness_dump_tail (const char *title, const char *path);

//  Write text to path. Returns 0 or -1.
int harness_write_file (const char *path, const char *text);

//  Wait (at most deadline_ms) until the file at path contains needle.
//  Returns 0, or -1 past the deadline.
int harness_wait_for_text (const char *path, const char *needle, int64_t deadline_ms);

//  Send signo to satcheld and reap it (past deadline_ms: SIGKILL). Unlike
//  harness_daemon_stop the strings are kept, for harness_daemon_restart.
//  Returns the exit status as harness_wait does, -1 if it was not running.
int harness_daemon_signal (harness_daemon_t *daemon, int signo, int64_t deadline_ms);

//  Start satcheld again after harness_daemon_signal, on the same database,
//  the SAME endpoint (agents reconnect to it) and appending to the same
//  log, with extra arguments as harness_daemon_start. Waits at most 10 s
//  for it to serve, starting it again if the port cannot be bound yet.
//  Start the first daemon with harness_daemon_start_fixed: a wildcard
//  port may be taken by another test's daemon while this one is down.
//  Returns 0, or -1 (not running; harness_daemon_stop still frees).
int harness_daemon_restart (harness_daemon_t *daemon, const char *const *extra);

//  Monotonic milliseconds.
int64_t harness_now_ms (void);

//  How many times needle occurs in text, overlaps included.
int harness_count (const char *text, const char *needle);

//  Entries of a folder other than . and .. (-1: cannot read it).
int harness_entries (const char *path);

//  Add the runs of a run log (tests/fixtures/fake_runner.sh's RAN_LOG:
//  one unit name a line; NULL counts as empty) to counts, indexed as names
//  (count of them). Returns how many lines name none of them; each is
//  said on stderr.
int harness_count_runs (const char *ran, char *const *names, int count, int *counts);

//  A loopback port bound but not listening: connects to it are refused,
//  and since it is bound without SO_REUSEADDR, no other process (no other
//  test's satcheld) can bind it while the socket is open. Writes
//  tcp://127.0.0.1:PORT to endpoint. Returns the socket, for the caller to
//  close, or -1.
int harness_dead_endpoint (char *endpoint, size_t size);

//  Path of a file of the source tree, for unit tests, which are only run
//  through ctest: unlike harness_source, no guess when SATCHEL_SOURCE_DIR
//  is not set. Returns 0, or -1 (said on stderr) if it is not set or the
//  path does not fit in size bytes.
int harness_source_path (char *path, size_t size, const char *relative);

#endif
