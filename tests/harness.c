/*  harness.c: see harness.h.                                               */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t
harness_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
harness_tmpdir (void)
{
    char *path = strdup ("/tmp/satchel-test-XXXXXX");
    if (!path || !mkdtemp (path)) {
        perror ("mkdtemp");
        abort ();
    }
    return path;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void) info;
    (void) flag;
    (void) ftw;
    remove (path);
    return 0;
}

void
harness_rmtree (const char *path)
{
    if (path && strncmp (path, "/tmp/satchel-test-", 18) == 0)
        nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
s_join_path (const char *env_name, const char *fallback, const char *name)
{
    const char *dir = getenv (env_name);
    if (!dir)
        dir = fallback;
    size_t size = strlen (dir) + strlen (name) + 2;
    char *path = malloc (size);
    if (!path)
        abort ();
    snprintf (path, size, "%s/%s", dir, name);
    return path;
}

char *
harness_bin (const char *name)
{
    return s_join_path ("SATCHEL_BIN_DIR", ".", name);
}

char *
harness_source (const char *relative)
{
    return s_join_path ("SATCHEL_SOURCE_DIR", "..", relative);
}

char *
harness_read_file (const char *path)
{
    FILE *file = fopen (path, "re");
    if (!file)
        return NULL;
    size_t size = 0, alloc = 4096;
    char *text = malloc (alloc);
    while (text) {
        size_t got = fread (text + size, 1, alloc - size - 1, file);
        size += got;
        if (got == 0)
            break;
        if (size + 1 >= alloc) {
            alloc *= 2;
            char *bigger = realloc (text, alloc);
            if (!bigger) {
                free (text);
                text = NULL;
            }
            else
                text = bigger;
        }
    }
    fclose (file);
    if (text)
        text[size] = 0;
    return text;
}

void
harness_dump_tail (const char *title, const char *path)
{
    char *text = harness_read_file (path);
    if (!text)
        return;
    size_t len = strlen (text);
    const char *from = len > 6000 ? text + len - 6000 : text;
    fprintf (stderr, "---- %s (%s)%s\n%s\n", title, path, len > 6000 ? ", tail" : "", from);
    free (text);
}

int
harness_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "we");
    if (!file)
        return -1;
    size_t size = strlen (text);
    int rc = fwrite (text, 1, size, file) == size ? 0 : -1;
    if (fclose (file) != 0)
        rc = -1;
    return rc;
}

//  True if the inherited entry must not reach a child: one that an extra
//  entry sets (the first copy of a name is the one a program sees), a
//  setting of satchel's own, or a variable by which satchel detects a CI
//  system, so that tests run the same inside a CI job as outside.
static bool
s_env_dropped (const char *entry, const char *const *env)
{
    size_t name = strcspn (entry, "=");
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp (entry, env[i], name + 1) == 0)
            return true;
    static const char *const prefixes[] = { "SATCHEL_", "KNAPSACK_PRO_" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp (entry, prefixes[i], strlen (prefixes[i])) == 0)
            return true;
    static const char *const markers[] = {
        "CI", "JENKINS_URL", "GITLAB_CI", "GITHUB_ACTIONS", "BUILDKITE", "CIRCLECI",
        "TEAMCITY_VERSION", "DRONE", "bamboo_buildKey", "TF_BUILD", "SEMAPHORE", "TRAVIS",
        "CF_BUILD_ID"
    };
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (strlen (markers[i]) == name && strncmp (entry, markers[i], name) == 0)
            return true;
    return false;
}

//  Words put before satcheld's and satchel's argv (harness_wrap), or NULL.
static const char *const *s_wrapper = NULL;

void
harness_wrap (const char *const *words)
{
    s_wrapper = words;
}

//  argv with the wrapper in front if it runs satcheld or satchel (malloc'd
//  array of borrowed strings), else NULL.
static char **
s_wrapped (char *const *argv)
{
    if (!s_wrapper)
        return NULL;
    const char *slash = strrchr (argv[0], '/');
    const char *base = slash ? slash + 1 : argv[0];
    if (strcmp (base, "satcheld") != 0 && strcmp (base, "satchel") != 0)
        return NULL;
    size_t words = 0, args = 0;
    while (s_wrapper[words])
        words++;
    while (argv[args])
        args++;
    char **out = calloc (words + args + 1, sizeof (char *));
    if (!out)
        abort ();
    for (size_t i = 0; i < words; i++)
        out[i] = (char *) s_wrapper[i];
    memcpy (out + words, argv, args * sizeof (char *));
    return out;
}

//  harness_spawn, and with group the child leads a process group of its
//  own (harness_spawn_group).
static pid_t
s_spawn (char *const *argv, const char *cwd, const char *const *env,
         const char *out_path, const char *err_path, bool group)
{
    char **wrapped = s_wrapped (argv);
    if (wrapped)
        argv = wrapped;
    //  The child's environment: ours (less what s_env_dropped drops) plus
    //  the extra entries.
    size_t base = 0, extra = 0;
    while (environ[base])
        base++;
    while (env && env[extra])
        extra++;
    char **envp = calloc (base + extra + 1, sizeof (char *));
    if (!envp)
        abort ();
    size_t kept = 0;
    for (size_t i = 0; i < base; i++)
        if (!s_env_dropped (environ[i], env))
            envp[kept++] = environ[i];
    if (extra > 0)
        memcpy (envp + kept, env, extra * sizeof (char *));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, out_path ? out_path : "/dev/null",
                                      O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, err_path ? err_path : "/dev/null",
                                      O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (cwd)
        posix_spawn_file_actions_addchdir_np (&actions, cwd);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    if (group) {
        posix_spawnattr_setpgroup (&attr, 0);
        posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP);
    }
    pid_t pid = -1;
    int rc = posix_spawn (&pid, argv[0], &actions, &attr, argv, envp);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    free (envp);
    if (rc != 0)
        fprintf (stderr, "harness: cannot spawn %s: %s\n", argv[0], strerror (rc));
    free (wrapped);
    return rc == 0 ? pid : -1;
}

pid_t
harness_spawn (char *const *argv, const char *cwd, const char *const *env,
               const char *out_path, const char *err_path)
{
    return s_spawn (argv, cwd, env, out_path, err_path, false);
}

pid_t
harness_spawn_group (char *const *argv, const char *cwd, const char *const *env,
                     const char *out_path, const char *err_path)
{
    return s_spawn (argv, cwd, env, out_path, err_path, true);
}

static int
s_status (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return -1;
}

//  Wait for pid until the deadline; past it, SIGKILL the process (or, with
//  group, its whole process group) and reap it.
static int
s_wait_until (pid_t pid, int64_t deadline_ms, bool group)
{
    int64_t until = harness_now_ms () + deadline_ms;
    int status = 0;
    //  Poll the child's state with a short period: a pidfd would be nicer
    //  but needs Linux 5.3 headers; 5 ms granularity costs nothing here.
    while (true) {
        pid_t got = waitpid (pid, &status, WNOHANG);
        if (got == pid)
            return s_status (status);
        if (got < 0 && errno != EINTR)
            return -1;
        if (harness_now_ms () >= until) {
            fprintf (stderr, "harness: pid %d passed its deadline of %lld ms; killing %s\n",
                     (int) pid, (long long) deadline_ms, group ? "its process group" : "it");
            //  The leader is not reaped yet, so the group id is still ours.
            kill (group ? -pid : pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        poll (NULL, 0, 5);
    }
}

int
harness_wait (pid_t pid, int64_t deadline_ms)
{
    return s_wait_until (pid, deadline_ms, false);
}

int
harness_run (char *const *argv, const char *cwd, const char *const *env, const char *out_path,
             const char *err_path, int64_t deadline_ms)
{
    pid_t pid = harness_spawn (argv, cwd, env, out_path, err_path);
    if (pid < 0)
        return -1;
    return harness_wait (pid, deadline_ms);
}

//  harness_daemon_start, binding the endpoint bind.
//  The daemon logs at debug unless the test says otherwise: with its own
//  --log-level, or with a --config whose file sets it (a flag would win
//  over the file, and a reload could not change it).
static bool
s_log_level_given (const char *const *extra)
{
    for (size_t i = 0; extra && extra[i]; i++)
        if (strcmp (extra[i], "--log-level") == 0 || strcmp (extra[i], "--config") == 0)
            return true;
    return false;
}

static int
s_daemon_start (harness_daemon_t *daemon, char *dir, const char *bind,
                const char *const *extra)
{
    memset (daemon, 0, sizeof *daemon);
    daemon->dir = dir;
    size_t size = strlen (dir) + 32;
    daemon->db = malloc (size);
    daemon->log = malloc (size);
    char *ready = malloc (size);
    if (!daemon->db || !daemon->log || !ready)
        abort ();
    snprintf (daemon->db, size, "%s/satchel.db", dir);
    snprintf (daemon->log, size, "%s/satcheld.log", dir);
    snprintf (ready, size, "%s/ready", dir);
    unlink (ready);
    char *bin = harness_bin ("satcheld");
    char *argv[64] = { bin, "--bind", (char *) bind, "--db", daemon->db,
                       "--ready-file", ready, "--log-level", "debug" };
    size_t argc = s_log_level_given (extra) ? 7 : 9;
    for (size_t i = 0; extra && extra[i] && argc < 63; i++)
        argv[argc++] = (char *) extra[i];
    argv[argc] = NULL;
    daemon->pid = harness_spawn (argv, dir, NULL, NULL, daemon->log);
    free (bin);
    int rc = -1;
    int64_t until = harness_now_ms () + 10000;
    while (daemon->pid > 0 && harness_now_ms () < until) {
        char *text = harness_read_file (ready);
        if (text) {
            text[strcspn (text, "\n")] = 0;
            snprintf (daemon->endpoint, sizeof daemon->endpoint, "%s", text);
            free (text);
            rc = 0;
            break;
        }
        int status;
        if (waitpid (daemon->pid, &status, WNOHANG) == daemon->pid) {
            fprintf (stderr, "harness: satcheld exited early with status %d; log %s\n",
                     s_status (status), daemon->log);
            daemon->pid = 0;
            break;
        }
        poll (NULL, 0, 5);
    }
    free (ready);
    if (rc != 0) {
        if (daemon->pid > 0) {
            kill (daemon->pid, SIGKILL);
            waitpid (daemon->pid, NULL, 0);
            daemon->pid = 0;
        }
        //  Keep the log path for the caller's message; nothing else to free.
        free (daemon->db);
        daemon->db = NULL;
    }
    return rc;
}

int
harness_daemon_start (harness_daemon_t *daemon, char *dir, const char *const *extra)
{
    return s_daemon_start (daemon, dir, "tcp://127.0.0.1:*", extra);
}

//  A loopback TCP port that nothing listens on now, at random in
//  [20000, 32767]: below the kernel's ephemeral range (32768 and up by
//  default), so no outgoing connection is given it, and below czmq's
//  wildcard range (49152 and up, tried in order), so no satcheld started on
//  tcp://127.0.0.1:* takes it. Returns the port, or -1.
static int
s_fixed_port (void)
{
    unsigned seed = (unsigned) getpid () ^ (unsigned) harness_now_ms ();
    for (int tries = 0; tries < 100; tries++) {
        seed = seed * 1103515245u + 12345u;
        int port = 20000 + (int) ((seed >> 8) % 12768);
        int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        int on = 1;
        setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        int rc = bind (fd, (struct sockaddr *) &addr, sizeof addr);
        close (fd);
        if (rc == 0)
            return port;
    }
    return -1;
}

int
harness_daemon_start_fixed (harness_daemon_t *daemon, char *dir, const char *const *extra)
{
    //  Another process may take the port between the probe and satcheld's
    //  bind: then satcheld exits at once, and another port is tried.
    for (int tries = 0; tries < 5; tries++) {
        int port = s_fixed_port ();
        if (port < 0)
            break;
        char bind[64];
        snprintf (bind, sizeof bind, "tcp://127.0.0.1:%d", port);
        if (tries > 0) {
            free (daemon->log);
            daemon->log = NULL;
        }
        if (s_daemon_start (daemon, dir, bind, extra) == 0)
            return 0;
    }
    return -1;
}

int
harness_daemon_stop (harness_daemon_t *daemon)
{
    int rc = -1;
    if (daemon->pid > 0) {
        kill (daemon->pid, SIGTERM);
        rc = harness_wait (daemon->pid, 10000);
        daemon->pid = 0;
    }
    free (daemon->db);
    free (daemon->log);
    daemon->db = NULL;
    daemon->log = NULL;
    return rc;
}

int
harness_wait_group (pid_t pid, int64_t deadline_ms)
{
    return s_wait_until (pid, deadline_ms, true);
}

int
harness_wait_for_text (const char *path, const char *needle, int64_t deadline_ms)
{
    int64_t until = harness_now_ms () + deadline_ms;
    while (true) {
        char *text = harness_read_file (path);
        bool found = text && strstr (text, needle);
        free (text);
        if (found)
            return 0;
        if (harness_now_ms () >= until)
            return -1;
        poll (NULL, 0, 5);
    }
}

int
harness_daemon_signal (harness_daemon_t *daemon, int signo, int64_t deadline_ms)
{
    if (daemon->pid <= 0)
        return -1;
    kill (daemon->pid, signo);
    int rc = harness_wait (daemon->pid, deadline_ms);
    daemon->pid = 0;
    return rc;
}

int
harness_daemon_restart (harness_daemon_t *daemon, const char *const *extra)
{
    if (daemon->pid > 0 || !daemon->db || !daemon->log || !daemon->endpoint[0])
        return -1;
    size_t size = strlen (daemon->dir) + 32;
    char *ready = malloc (size);
    if (!ready)
        abort ();
    snprintf (ready, size, "%s/ready", daemon->dir);
    char *bin = harness_bin ("satcheld");
    char *argv[64] = { bin, "--bind", daemon->endpoint, "--db", daemon->db,
                       "--ready-file", ready, "--log-level", "debug" };
    size_t argc = s_log_level_given (extra) ? 7 : 9;
    for (size_t i = 0; extra && extra[i] && argc < 63; i++)
        argv[argc++] = (char *) extra[i];
    argv[argc] = NULL;
    int rc = -1;
    int64_t until = harness_now_ms () + 10000;
    //  The port was free a moment ago, but binding it again can fail for a
    //  moment (a client's connect may briefly hold it): start again until
    //  the deadline.
    while (rc != 0 && harness_now_ms () < until) {
        unlink (ready);
        daemon->pid = harness_spawn (argv, daemon->dir, NULL, NULL, daemon->log);
        while (daemon->pid > 0 && harness_now_ms () < until) {
            char *text = harness_read_file (ready);
            if (text) {
                text[strcspn (text, "\n")] = 0;
                bool same = strcmp (text, daemon->endpoint) == 0;
                free (text);
                if (same)
                    rc = 0;
                else {
                    fprintf (stderr, "harness: satcheld came back on another endpoint\n");
                    kill (daemon->pid, SIGKILL);
                    waitpid (daemon->pid, NULL, 0);
                    daemon->pid = 0;
                    until = 0;
                }
                break;
            }
            int status;
            if (waitpid (daemon->pid, &status, WNOHANG) == daemon->pid) {
                fprintf (stderr, "harness: restarted satcheld exited with status %d; log %s\n",
                         s_status (status), daemon->log);
                daemon->pid = 0;
                poll (NULL, 0, 100);
                break;
            }
            poll (NULL, 0, 5);
        }
    }
    if (rc != 0 && daemon->pid > 0) {
        kill (daemon->pid, SIGKILL);
        waitpid (daemon->pid, NULL, 0);
        daemon->pid = 0;
    }
    free (bin);
    free (ready);
    return rc;
}

int
harness_count (const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}

int
harness_entries (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    int count = 0;
    for (struct dirent *entry = readdir (dir); entry; entry = readdir (dir))
        if (strcmp (entry->d_name, ".") != 0 && strcmp (entry->d_name, "..") != 0)
            count++;
    closedir (dir);
    return count;
}

int
harness_count_runs (const char *ran, char *const *names, int count, int *counts)
{
    int unknown = 0;
    for (const char *line = ran; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        int found = -1;
        for (int i = 0; i < count && found < 0; i++)
            if (strlen (names[i]) == length && strncmp (names[i], line, length) == 0)
                found = i;
        if (found < 0) {
            fprintf (stderr, "ran '%.*s', not a unit of the suite\n", (int) length, line);
            unknown++;
        }
        else
            counts[found]++;
        line = end ? end + 1 : line + length;
    }
    return unknown;
}

int
harness_dead_endpoint (char *endpoint, size_t size)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0
    ||  getsockname (fd, (struct sockaddr *) &addr, &len) != 0) {
        close (fd);
        return -1;
    }
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", ntohs (addr.sin_port));
    return fd;
}

int
harness_source_path (char *path, size_t size, const char *relative)
{
    const char *source = getenv ("SATCHEL_SOURCE_DIR");
    if (!source) {
        fprintf (stderr, "SATCHEL_SOURCE_DIR is not set (run through ctest)\n");
        return -1;
    }
    if ((size_t) snprintf (path, size, "%s/%s", source, relative) >= size) {
        fprintf (stderr, "the path of %s is too long\n", relative);
        return -1;
    }
    return 0;
}
