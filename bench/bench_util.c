/*  bench_util.c: see bench_util.h.                                         */
#include "bench_util.h"
#include "harness.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

//  ---------------------------------------------------------------------
//  Interrupts

static volatile sig_atomic_t s_interrupted = 0;
static volatile pid_t s_children[BENCH_CHILDREN_MAX];

static void
s_on_signal (int signo)
{
    //  Only async-signal-safe work here: kill(2) and a flag.
    for (size_t i = 0; i < BENCH_CHILDREN_MAX; i++)
        if (s_children[i] > 0)
            kill (s_children[i], SIGTERM);
    s_interrupted = signo;
}

void
bench_signals_install (void)
{
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGHUP, s_on_signal);
}

void
bench_child_track (size_t slot, pid_t pid)
{
    assert (slot < BENCH_CHILDREN_MAX);
    s_children[slot] = pid;
}

int
bench_interrupted (void)
{
    return s_interrupted;
}

//  ---------------------------------------------------------------------
//  Command line

//  Parse value into option's target. Returns 0, or -1 if invalid or NULL.
static int
s_option_value (const bench_option_t *option, const char *value)
{
    double number = 0;
    switch (option->type) {
        case BENCH_OPTION_U32:
            assert (option->max <= UINT32_MAX);
            return util_parse_u32 (value, (uint32_t) option->min, (uint32_t) option->max,
                                   option->to.u32);
        case BENCH_OPTION_U64:
            return util_parse_u64 (value, option->min, option->max, option->to.u64);
        case BENCH_OPTION_DOUBLE:
            return bench_parse_double (value, option->min_f, option->max_f, option->to.number);
        case BENCH_OPTION_TEXT:
            *option->to.text = value;
            return bench_parse_double (value, option->min_f, option->max_f, &number);
        case BENCH_OPTION_STRING:
            *option->to.text = value;
            return *value ? 0 : -1;
        case BENCH_OPTION_FLAG:
            break;
    }
    assert (!"a flag takes no value");
    return -1;
}

int
bench_parse_options (const char *program, int argc, char **argv,
                     const bench_option_t *options, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (arg, "--help") == 0) {
            fputs (usage, stdout);
            return 1;
        }
        const bench_option_t *option = options;
        while (option->name && strcmp (option->name, arg) != 0)
            option++;
        if (!option->name) {
            fprintf (stderr, "%s: unknown option '%s'\nTry '%s --help'.\n", program, arg, program);
            return -1;
        }
        if (option->type == BENCH_OPTION_FLAG) {
            *option->to.flag = true;
            continue;
        }
        if (s_option_value (option, value) != 0) {
            fprintf (stderr, "%s: %s: invalid or missing value '%s'\nTry '%s --help'.\n",
                     program, arg, value ? value : "", program);
            return -1;
        }
        i++;            //  the value
    }
    return 0;
}

int
bench_start (const char *program, int argc, char **argv, const bench_option_t *options,
             const char *usage)
{
    int parsed = bench_parse_options (program, argc, argv, options, usage);
    if (parsed != 0)
        return parsed;
    bench_signals_install ();
    char *self_dir = bench_self_dir ();
    bench_bin_dir_default (self_dir);
    free (self_dir);
    return 0;
}

//  ---------------------------------------------------------------------
//  Binaries and files

char *
bench_self_dir (void)
{
    char path[PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0)
        return util_strdup (".");
    path[len] = 0;
    return util_strdup (dirname (path));
}

void
bench_bin_dir_default (const char *self_dir)
{
    if (getenv ("SATCHEL_BIN_DIR"))
        return;
    char bin_dir[PATH_MAX];
    snprintf (bin_dir, sizeof bin_dir, "%s/..", self_dir);
    setenv ("SATCHEL_BIN_DIR", bin_dir, 1);
}

char *
bench_path (const char *dir, const char *name)
{
    size_t size = strlen (dir) + 1 + strlen (name) + 1;
    char *path = util_malloc (size);
    snprintf (path, size, "%s/%s", dir, name);
    return path;
}

int
bench_write_lines (const char *path, char *const *lines, size_t count)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen (lines[i]) + 1;
    char *text = util_malloc (size);
    char *at = text;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen (lines[i]);
        memcpy (at, lines[i], len);
        at[len] = '\n';
        at += len + 1;
    }
    *at = 0;
    int rc = harness_write_file (path, text);
    free (text);
    return rc;
}

//  ---------------------------------------------------------------------
//  Real agents

pid_t
bench_agent_spawn (const bench_agents_t *agents, unsigned index, unsigned total,
                   const char *err_path)
{
    char index_text[16], total_text[16];
    snprintf (index_text, sizeof index_text, "%u", index);
    snprintf (total_text, sizeof total_text, "%u", total);
    //  harness_spawn takes char *const *, as execv does; nothing writes.
    char *fixed[] = {
        (char *) agents->satchel, "run", "--coordinator", (char *) agents->endpoint,
        "--suite", (char *) agents->suite, "--build", (char *) agents->build,
        "--node-index", index_text, "--node-total", total_text,
        "--commit", "bench", "--branch", "bench",
        "--tests-from", (char *) agents->tests_file, "--timeout", "10", NULL
    };
    enum { FIXED = sizeof fixed / sizeof fixed[0] - 1, FLAGS_MAX = 16, ARGS_MAX = 4 };
    char *argv[FIXED + FLAGS_MAX + ARGS_MAX + 3];
    size_t n = 0;
    for (size_t i = 0; i < FIXED; i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; agents->flags && agents->flags[i]; i++) {
        assert (i < FLAGS_MAX);
        argv[n++] = (char *) agents->flags[i];
    }
    argv[n++] = "--";
    argv[n++] = (char *) agents->runner;
    for (size_t i = 0; agents->runner_args && agents->runner_args[i]; i++) {
        assert (i < ARGS_MAX);
        argv[n++] = (char *) agents->runner_args[i];
    }
    argv[n] = NULL;
    return harness_spawn (argv, agents->dir, agents->env, NULL, err_path);
}

int
bench_agents_wait (const char *program, const pid_t *pids, unsigned count, int64_t start_us,
                   int64_t deadline_ms, int64_t *finish_us, int *statuses)
{
    assert (count < BENCH_CHILDREN_MAX);
    bool reaped[BENCH_CHILDREN_MAX] = { false };
    unsigned left = count;
    int rc = 0;
    int64_t deadline = start_us + deadline_ms * 1000;
    while (left > 0) {
        for (unsigned n = 0; n < count; n++) {
            if (reaped[n])
                continue;
            int status = 0;
            pid_t got = waitpid (pids[n], &status, WNOHANG);
            if (got == pids[n] || (got < 0 && errno == ECHILD)) {
                finish_us[n] = util_mono_us () - start_us;
                reaped[n] = true;
                bench_child_track (n + 1, 0);
                left--;
                statuses[n] = got == pids[n] && WIFEXITED (status) ? WEXITSTATUS (status)
                            : got == pids[n] && WIFSIGNALED (status) ? 128 + WTERMSIG (status)
                            : -1;
                if (statuses[n] != 0)
                    rc = -1;
            }
        }
        if (left == 0)
            break;
        if (util_mono_us () >= deadline || bench_interrupted ()) {
            if (bench_interrupted ())
                fprintf (stderr, "%s: interrupted; stopping the agents\n", program);
            else
                fprintf (stderr, "%s: agents passed the %lld ms deadline; stopping them\n",
                         program, (long long) deadline_ms);
            //  SIGTERM first, so each agent stops its runner too; harness_wait
            //  sends SIGKILL to any that is still there after 2 s.
            for (unsigned n = 0; n < count; n++)
                if (!reaped[n])
                    kill (pids[n], SIGTERM);
            for (unsigned n = 0; n < count; n++) {
                if (!reaped[n]) {
                    harness_wait (pids[n], 2000);
                    bench_child_track (n + 1, 0);
                    statuses[n] = -1;
                }
            }
            return -1;
        }
        //  1 ms resolution on the exit times is plenty for builds of seconds.
        poll (NULL, 0, 1);
    }
    return rc;
}

//  ---------------------------------------------------------------------
//  Figures and the report

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

double
bench_median (double *values, size_t count)
{
    if (count == 0)
        return 0;
    qsort (values, count, sizeof (double), s_compare_double);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

int
bench_parse_double (const char *text, double min, double max, double *out)
{
    if (!text || *text == 0)
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (errno != 0 || *end != 0 || !(value >= min && value <= max))
        return -1;
    *out = value;
    return 0;
}

void
bench_machine (char *out, size_t size)
{
    char model[256] = "unknown";
    FILE *file = fopen ("/proc/cpuinfo", "re");
    if (file) {
        char line[512];
        while (fgets (line, sizeof line, file)) {
            if (strncmp (line, "model name", 10) == 0) {
                const char *colon = strchr (line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ' || *colon == '\t')
                        colon++;
                    snprintf (model, sizeof model, "%s", colon);
                    model[strcspn (model, "\n")] = 0;
                }
                break;
            }
        }
        fclose (file);
    }
    struct utsname uts;
    const char *kernel = uname (&uts) == 0 ? uts.release : "?";
    snprintf (out, size, "%ld CPUs (nproc), %s, Linux %s", sysconf (_SC_NPROCESSORS_ONLN), model,
              kernel);
}

void
bench_print_command (int argc, char **argv)
{
    char machine[512];
    bench_machine (machine, sizeof machine);
    printf ("command:  ");
    for (int i = 0; i < argc; i++)
        printf ("%s%s", i ? " " : "", argv[i]);
    printf ("\nmachine:  %s\n", machine);
}

//  The text of /proc/PID/NAME (caller frees), or NULL if unreadable.
static char *
s_proc_file (pid_t pid, const char *name)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, name);
    return harness_read_file (path);
}

//  CPU seconds in the text of a stat file of /proc (a process's or a
//  thread's); -1 if it is NULL or unreadable. Frees text.
static double
s_stat_cpu (char *text)
{
    if (!text)
        return -1;
    //  Fields after the command name, which is in parentheses and may hold
    //  spaces: state is field 3, utime 14, stime 15.
    const char *at = strrchr (text, ')');
    double seconds = -1;
    unsigned long long utime = 0, stime = 0;
    if (at && sscanf (at + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                      &utime, &stime) == 2)
        seconds = (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
    free (text);
    return seconds;
}

double
bench_proc_cpu (pid_t pid)
{
    return s_stat_cpu (s_proc_file (pid, "stat"));
}

double
bench_main_thread_cpu (pid_t pid)
{
    char name[48];
    snprintf (name, sizeof name, "task/%d/stat", (int) pid);
    return s_stat_cpu (s_proc_file (pid, name));
}

double
bench_proc_written (pid_t pid)
{
    char *text = s_proc_file (pid, "io");
    if (!text)
        return -1;
    const char *at = strstr (text, "\nwrite_bytes:");
    unsigned long long bytes = 0;
    double result = at && sscanf (at, "\nwrite_bytes: %llu", &bytes) == 1 ? (double) bytes : -1;
    free (text);
    return result;
}

double
bench_self_cpu (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
           + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int
bench_import (const char *program, const char *satchel, const char *endpoint, const char *dir,
              const char *suite, const char *json_path)
{
    char *err = bench_path (dir, "import.err");
    char *argv[] = { (char *) satchel, "import", "--coordinator", (char *) endpoint, "--suite",
                     (char *) suite, "--format", "knapsack", (char *) json_path, NULL };
    int status = harness_run (argv, dir, NULL, NULL, err, 60000);
    if (status != 0) {
        char *text = harness_read_file (err);
        fprintf (stderr, "%s: satchel import exited %d:\n%s\n", program, status,
                 text ? text : "");
        free (text);
    }
    free (err);
    return status == 0 ? 0 : -1;
}
