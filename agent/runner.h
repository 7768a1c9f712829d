/*  runner.h: starts the user's test command for a batch, with no shell.

    The command's argv is used as given; an argument that is exactly "{}"
    is replaced by the batch's units, one argument each; without "{}" the
    units are appended. The child is started with posix_spawn, so it execs
    at once and never touches satchel's ZeroMQ context. Its stdout and
    stderr are satchel's, untouched.

    Signals: runner_install_signals() makes SIGINT and SIGTERM set a flag
    and pass the signal on to the running command; the caller stops after
    the command has exited.                                                */
#ifndef SATCHEL_RUNNER_H
#define SATCHEL_RUNNER_H

#include <signal.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

//  Nonzero (the signal number) once SIGINT or SIGTERM arrived.
extern volatile sig_atomic_t runner_interrupted;

//  Install the handlers (and stop czmq from installing its own). Call
//  before creating any ZeroMQ socket. Returns 0 or -1.
int runner_install_signals (void);

//  Build the argv for a batch: command[0..command_count) with "{}" expanded
//  or units appended. A unit that starts with '-' is passed as "./" and
//  the unit, so that no runner takes it for an option. Returns a malloc'd
//  NULL-terminated array whose strings are borrowed from command and
//  units, or held in the array's own block: free the array only.
char **runner_argv (char *const *command, size_t command_count, char *const *units,
                    size_t unit_count);

//  Start argv without waiting. Returns the child's pid, or -1 with why
//  filled in if it could not be started.
pid_t runner_start (char *const *argv, char *why, size_t why_size);

//  Wait up to timeout_ms for the child started by runner_start. Returns 1
//  with *status as runner_run's (0..255, -N for signal N, -1000 if it
//  could not be waited for), or 0 if it is still running.
int runner_wait (pid_t pid, int64_t timeout_ms, int *status);

//  Run argv and wait for it. Returns the exit status 0..255, -N if it was
//  killed by signal N, or -1000 if it could not be started (why says, e.g.
//  "command not found: rspec").
int runner_run (char *const *argv, char *why, size_t why_size);

//  Run argv with its stdout captured through a pipe and its stderr passed
//  through. The child is killed (SIGKILL, then reaped) if it is still
//  running after timeout_ms (negative: no limit), prints more than
//  max_bytes, or a SIGINT/SIGTERM arrives (runner_interrupted); output a
//  child that exited leaves in the pipe is read, later writers (its own
//  children) are not waited for. Returns 0 with *output (malloc'd,
//  NUL-terminated, the bytes as printed) and *size if it exited 0, else -1
//  with why: "command not found: rspec", "rspec exited 2", "rspec timed out
//  after 30.0 s", "rspec printed more than 1024 bytes", ...
int runner_capture_bounded (char *const *argv, size_t max_bytes, int64_t timeout_ms,
                            char **output, size_t *size, char *why, size_t why_size);

//  Run argv with stdout captured (stderr discarded, no time limit, at most
//  1 MiB), for small helper commands such as git. Returns 0 and *output
//  (malloc'd, trailing newlines removed) if it exited 0, else -1.
int runner_capture (char *const *argv, char **output);

#endif
