/*  runner.c: see runner.h.                                                 */
#include "runner.h"

#include "util.h"

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
    char **argv = util_calloc (command_count + unit_count + 1, sizeof (char *));
    size_t n = 0;
    for (size_t i = 0; i < command_count; i++) {
        if (strcmp (command[i], "{}") == 0) {
            for (size_t u = 0; u < unit_count; u++)
                argv[n++] = units[u];
        }
        else
            argv[n++] = command[i];
    }
    if (!placeholder)
        for (size_t u = 0; u < unit_count; u++)
            argv[n++] = units[u];
    argv[n] = NULL;
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

int
runner_capture (char *const *argv, char **output)
{
    int fds[2];
    if (pipe2 (fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    s_spawn_attr (&attr);
    pid_t pid = 0;
    int rc = posix_spawnp (&pid, argv[0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    close (fds[1]);
    if (rc != 0) {
        close (fds[0]);
        return -1;
    }
    size_t size = 0, alloc = 256;
    char *text = util_malloc (alloc);
    while (true) {
        if (size + 1 >= alloc) {
            if (alloc >= 1024 * 1024)
                break;  //  a helper's answer is a line or two
            alloc *= 2;
            text = util_realloc (text, alloc);
        }
        ssize_t got = read (fds[0], text + size, alloc - size - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size += (size_t) got;
    }
    close (fds[0]);
    text[size] = 0;
    while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\r'))
        text[--size] = 0;
    if (s_wait (pid) != 0) {
        free (text);
        return -1;
    }
    *output = text;
    return 0;
}
