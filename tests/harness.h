/*  harness.h: helpers for end-to-end tests: temporary folders, a real
    satcheld on a loopback wildcard port, real agent processes, and waits
    that are bounded by deadlines (never sleeps standing in for events).

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
//  for it to write its endpoint. Returns 0, or -1 (the daemon is stopped;
//  call harness_daemon_stop anyway to free the strings).
int harness_daemon_start (harness_daemon_t *daemon, char *dir, const char *const *extra);

//  SIGTERM, wait at most 10 s (then SIGKILL). Returns the exit status as
//  harness_wait does. Frees the strings.
int harness_daemon_stop (harness_daemon_t *daemon);

//  Spawn argv with the working folder cwd (NULL: inherit), extra
//  environment entries "NAME=value" (NULL-terminated, may be NULL), stdout
//  and stderr to files (NULL: /dev/null). Returns the pid, or -1.
pid_t harness_spawn (char *const *argv, const char *cwd, const char *const *env,
                     const char *out_path, const char *err_path);

//  Wait for pid until deadline_ms from now; past it, SIGKILL and reap.
//  Returns the exit status 0..255, 128+N if killed by signal N, or -1 if
//  the deadline passed (the process was killed).
int harness_wait (pid_t pid, int64_t deadline_ms);

//  Run argv to completion (see harness_spawn, harness_wait).
int harness_run (char *const *argv, const char *cwd, const char *const *env,
                 const char *out_path, const char *err_path, int64_t deadline_ms);

//  Whole file as a malloc'd NUL-terminated string (NULL if unreadable).
char *harness_read_file (const char *path);

//  Write text to path. Returns 0 or -1.
int harness_write_file (const char *path, const char *text);

//  Monotonic milliseconds.
int64_t harness_now_ms (void);

#endif
