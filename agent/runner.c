/*  runner.c: see runner.h.                                                 */
#include "runner.h"

#include "util.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

volatile sig_atomic_t runner_interrupted = 0;
static volatile pid_t s_child = 0;

static void
s_on_signal (int signo)
{
    runner_interrupted = signo;
    pid_t child = s_child;
    if (child > 0)
        kill (child, signo);
}

int
runner_install_signals (void)
{
    zsys_handler_set (NULL);
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    //  No SA_RESTART: waits must wake up and look at the flag.
    action.sa_flags = 0;
    if (sigaction (SIGINT, &action, NULL) != 0 || sigaction (SIGTERM, &action, NULL) != 0)
        return -1;
    return 0;
}

char **
runner_argv (char *const *command, size_t command_count, char *const *units, size_t unit_count)
{
    bool placeholder = false;
    for (size_t i = 0; i < command_count; i++)
        if (strcmp (command[i], "{}") == 0)
            placeholder = true;
    //  A unit that starts with '-' goes as "./-..." (the same file), or
    //  the runner would read it as an option. Those copies live in the
    //  same block as the array, so that freeing the array frees them.
    size_t extra = 0;
    for (size_t u = 0; u < unit_count; u++)
        if (units[u][0] == '-')
            extra += strlen (units[u]) + 3;
    size_t pointers = (command_count + unit_count + 1) * sizeof (char *);
    char **argv = util_malloc (pointers + extra);
    char *copies = (char *) argv + pointers;
    char **unit_args = util_malloc ((unit_count ? unit_count : 1) * sizeof (char *));
    for (size_t u = 0; u < unit_count; u++) {
        if (units[u][0] != '-') {
            unit_args[u] = units[u];
            continue;
        }
        size_t length = strlen (units[u]);
        memcpy (copies, "./", 2);
        memcpy (copies + 2, units[u], length + 1);
        unit_args[u] = copies;
        copies += length + 3;
    }
    size_t n = 0;
    for (size_t i = 0; i < command_count; i++) {
        if (strcmp (command[i], "{}") == 0) {
            for (size_t u = 0; u < unit_count; u++)
                argv[n++] = unit_args[u];
        }
        else
            argv[n++] = command[i];
    }
    if (!placeholder)
        for (size_t u = 0; u < unit_count; u++)
            argv[n++] = unit_args[u];
    argv[n] = NULL;
    free (unit_args);
    return argv;
}

//  Spawn attributes: default dispositions and an empty mask for the child,
//  whatever satchel itself blocks or handles.
static void
s_spawn_attr (posix_spawnattr_t *attr)
{
    posix_spawnattr_init (attr);
    sigset_t defaults, empty;
    sigemptyset (&defaults);
    sigaddset (&defaults, SIGINT);
    sigaddset (&defaults, SIGTERM);
    sigaddset (&defaults, SIGHUP);
    sigaddset (&defaults, SIGPIPE);
    sigemptyset (&empty);
    posix_spawnattr_setsigdefault (attr, &defaults);
    posix_spawnattr_setsigmask (attr, &empty);
    posix_spawnattr_setflags (attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

static int
s_status (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return -WTERMSIG (status);
    return -1000;
}

static int
s_wait (pid_t pid)
{
    int status = 0;
    while (waitpid (pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1000;
    }
    return s_status (status);
}

pid_t
runner_start (char *const *argv, char *why, size_t why_size)
{
    posix_spawnattr_t attr;
    s_spawn_attr (&attr);
    pid_t pid = 0;
    int rc = posix_spawnp (&pid, argv[0], NULL, &attr, argv, environ);
    posix_spawnattr_destroy (&attr);
    if (rc != 0) {
        snprintf (why, why_size, "cannot start %s: %s", argv[0], strerror (rc));
        return -1;
    }
    s_child = pid;
    //  A signal that came between spawn and here was not passed on yet.
    if (runner_interrupted)
        kill (pid, runner_interrupted);
    return pid;
}

//  A pidfd turns "has the child exited?" into a descriptor poll can wait on
//  with a timeout; without one (kernels before 5.3) we look every 20 ms.
static int
s_pidfd_open (pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int) syscall (SYS_pidfd_open, pid, 0);
#else
    (void) pid;
    errno = ENOSYS;
    return -1;
#endif
}

int
runner_wait (pid_t pid, int64_t timeout_ms, int *status)
{
    int64_t deadline = util_mono_ms () + timeout_ms;
    int fd = s_pidfd_open (pid);
    while (true) {
        int raw = 0;
        pid_t done = waitpid (pid, &raw, WNOHANG);
        if (done == pid) {
            if (fd >= 0)
                close (fd);
            s_child = 0;
            *status = s_status (raw);
            return 1;
        }
        if (done < 0 && errno != EINTR) {
            if (fd >= 0)
                close (fd);
            s_child = 0;
            *status = -1000;
            return 1;
        }
        int64_t left = deadline - util_mono_ms ();
        if (left <= 0)
            break;
        if (fd >= 0) {
            struct pollfd item = { .fd = fd, .events = POLLIN };
            poll (&item, 1, (int) (left > 1000000 ? 1000000 : left));
        }
        else
            usleep ((useconds_t) (left < 20 ? left : 20) * 1000);
    }
    if (fd >= 0)
        close (fd);
    return 0;
}

int
runner_run (char *const *argv, char *why, size_t why_size)
{
    pid_t pid = runner_start (argv, why, why_size);
    if (pid < 0)
        return -1000;
    int status = s_wait (pid);
    s_child = 0;
    if (status == 127 && why)
        snprintf (why, why_size, "%s exited 127 (command not found?)", argv[0]);
    return status;
}

//  Read what fd holds now onto text[0..*used) (grown as needed, one byte
//  kept for a NUL), never more than one byte past max_bytes. Returns 1 if
//  bytes came, 0 at end of file, 2 if nothing is there yet, 3 once more
//  than max_bytes came, -1 on a read error (errno set).
static int
s_read_some (int fd, char **text, size_t *used, size_t *alloc, size_t max_bytes)
{
    if (*alloc - *used < 4096 + 1) {
        *alloc = *alloc ? *alloc * 2 : 16384;
        *text = util_realloc (*text, *alloc);
    }
    size_t room = *alloc - *used - 1;
    //  One byte past the limit is enough to know it was crossed.
    if (max_bytes - *used < room)
        room = max_bytes - *used + 1;
    ssize_t got = read (fd, *text + *used, room);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 2 : -1;
    if (got == 0)
        return 0;
    *used += (size_t) got;
    return *used > max_bytes ? 3 : 1;
}

//  Why a capture stopped before the child exited on its own.
typedef enum {
    S_STOP_NONE = 0,
    S_STOP_TIMEOUT,
    S_STOP_TOO_MUCH,
    S_STOP_INTERRUPTED,
    S_STOP_ERROR
} s_stop_t;

//  The capture behind runner_capture_bounded and runner_capture; quiet
//  sends the child's stderr to /dev/null.
static int
s_capture (char *const *argv, bool quiet, size_t max_bytes, int64_t timeout_ms, char **output,
           size_t *size, char *why, size_t why_size)
{
    int rc = -1;
    int fds[2] = { -1, -1 };
    int pidfd = -1;
    pid_t pid = 0;
    bool reaped = false;
    int status = -1000;
    char *text = NULL;
    size_t used = 0, alloc = 0;
    pid_t outer = s_child;
    s_stop_t stop = S_STOP_NONE;
    int error = 0;

    if (pipe2 (fds, O_CLOEXEC) != 0) {
        snprintf (why, why_size, "cannot run %s: pipe: %s", argv[0], strerror (errno));
        goto cleanup;
    }
    //  Only our end: after the child exits we empty the pipe without
    //  waiting for writers it may have left behind.
    int flags = fcntl (fds[0], F_GETFL);
    if (flags < 0 || fcntl (fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
        snprintf (why, why_size, "cannot run %s: fcntl: %s", argv[0], strerror (errno));
        goto cleanup;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
    if (quiet)
        posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    s_spawn_attr (&attr);
    int spawned = posix_spawnp (&pid, argv[0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    close (fds[1]);
    fds[1] = -1;
    if (spawned != 0) {
        pid = 0;
        if (spawned == ENOENT)
            snprintf (why, why_size, "command not found: %s", argv[0]);
        else
            snprintf (why, why_size, "cannot start %s: %s", argv[0], strerror (spawned));
        goto cleanup;
    }
    s_child = pid;
    pidfd = s_pidfd_open (pid);

    int64_t deadline = timeout_ms >= 0 ? util_mono_ms () + timeout_ms : 0;
    bool eof = false;
    while (!eof || !reaped) {
        if (!reaped) {
            int raw = 0;
            pid_t done = waitpid (pid, &raw, WNOHANG);
            if (done == pid || (done < 0 && errno != EINTR)) {
                reaped = true;
                s_child = outer;
                status = done == pid ? s_status (raw) : -1000;
            }
        }
        if (reaped) {
            //  What it wrote before exiting is in the pipe now.
            int got = 1;
            while (got == 1)
                got = s_read_some (fds[0], &text, &used, &alloc, max_bytes);
            if (got == 3)
                stop = S_STOP_TOO_MUCH;
            else if (got < 0) {
                stop = S_STOP_ERROR;
                error = errno;
            }
            break;
        }
        if (runner_interrupted) {
            stop = S_STOP_INTERRUPTED;
            break;
        }
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - util_mono_ms ();
            if (left <= 0) {
                stop = S_STOP_TIMEOUT;
                break;
            }
            wait_ms = left > 1000000 ? 1000000 : (int) left;
        }
        //  Without a pidfd, look for the child's exit now and then.
        if (pidfd < 0 && (wait_ms < 0 || wait_ms > 50))
            wait_ms = 50;
        struct pollfd items[2];
        nfds_t count = 0;
        if (!eof)
            items[count++] = (struct pollfd) { .fd = fds[0], .events = POLLIN };
        if (pidfd >= 0)
            items[count++] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        int ready = poll (items, count, wait_ms);
        if (ready < 0 && errno != EINTR) {
            stop = S_STOP_ERROR;
            error = errno;
            break;
        }
        if (ready > 0 && !eof && items[0].revents) {
            int got = s_read_some (fds[0], &text, &used, &alloc, max_bytes);
            if (got == 0)
                eof = true;
            else if (got == 3) {
                stop = S_STOP_TOO_MUCH;
                break;
            }
            else if (got < 0) {
                stop = S_STOP_ERROR;
                error = errno;
                break;
            }
        }
    }

    if (stop == S_STOP_TIMEOUT)
        snprintf (why, why_size, "%s timed out after %.1f s", argv[0], (double) timeout_ms / 1000);
    else if (stop == S_STOP_TOO_MUCH)
        snprintf (why, why_size, "%s printed more than %zu bytes", argv[0], max_bytes);
    else if (stop == S_STOP_INTERRUPTED)
        snprintf (why, why_size, "%s stopped: interrupted by signal %d", argv[0],
                  (int) runner_interrupted);
    else if (stop == S_STOP_ERROR)
        snprintf (why, why_size, "cannot read the output of %s: %s", argv[0], strerror (error));
    else if (status == 126 || status == 127)
        snprintf (why, why_size, "%s exited %d (%s)", argv[0], status,
                  status == 127 ? "command not found?" : "cannot execute");
    else if (status > 0)
        snprintf (why, why_size, "%s exited %d", argv[0], status);
    else if (status < 0 && status > -1000)
        snprintf (why, why_size, "%s was killed by signal %d (%s)", argv[0], -status,
                  strsignal (-status));
    else if (status != 0)
        snprintf (why, why_size, "cannot wait for %s: %s", argv[0], strerror (ECHILD));
    else {
        if (!text)
            text = util_malloc (1);
        text[used] = 0;
        *output = text;
        *size = used;
        text = NULL;
        rc = 0;
    }

cleanup:
    if (pid > 0 && !reaped) {
        kill (pid, SIGKILL);
        s_wait (pid);
        s_child = outer;
    }
    if (pidfd >= 0)
        close (pidfd);
    if (fds[0] >= 0)
        close (fds[0]);
    if (fds[1] >= 0)
        close (fds[1]);
    free (text);
    return rc;
}

int
runner_capture_bounded (char *const *argv, size_t max_bytes, int64_t timeout_ms, char **output,
                        size_t *size, char *why, size_t why_size)
{
    assert (argv && argv[0] && output && size && why);
    return s_capture (argv, false, max_bytes, timeout_ms, output, size, why, why_size);
}

int
runner_capture (char *const *argv, char **output)
{
    char why[256];
    char *text = NULL;
    size_t size = 0;
    //  A helper's answer is a line or two.
    if (s_capture (argv, true, 1024 * 1024, -1, &text, &size, why, sizeof why) != 0)
        return -1;
    while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\r'))
        text[--size] = 0;
    *output = text;
    return 0;
}
