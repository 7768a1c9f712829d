/*  sleep_runner: a stand-in test runner for the split benchmark.

    Usage: sleep_runner [--junit FILE] UNIT...

    Each UNIT is a name whose last path component ends in _<N>ms.<ext>
    (e.g. suite/u0042_1234ms.txt): the runner "runs" it by sleeping N
    milliseconds. A test example's id, FILE::NAME, takes its duration from
    NAME, which ends in _<N>ms (suite/big_6000ms.txt::e017_90ms sleeps
    90 ms; the file whole sleeps 6000). Before the first unit it sleeps
    BENCH_STARTUP_MS (default 0), the modelled cost of starting a real test
    runner once per batch.

    Sleeps are against absolute CLOCK_MONOTONIC deadlines, so oversleeping
    one unit does not add up over a batch: a batch takes its start-up plus
    the sum of its units, plus only the scheduler's wake-up latency once.
    No file named by a unit has to exist. With --junit FILE it also writes
    a JUnit report to FILE, one testcase a unit with the time it slept, as
    real runners do (satchel's {junit}).

    For bench_compare's simulated farm, optionally:
      BENCH_SPEED       this node's slowness: start-up and units take this
                        many times longer (default 1)
      BENCH_NOISE_SEED  vary each unit's time run to run: a factor in
                        [1 - BENCH_NOISE, 1 + BENCH_NOISE] (default 0.2),
                        drawn from the seed and the unit's name, so every
                        node draws the same factor for a unit in one build
      BENCH_LOG         append one line per batch: BENCH_NODE, the
                        monotonic start and end (us), the start-up (us),
                        then NAME:WORK_US for each unit, its time at speed 1

    Exit status: 0, or 2 for a name without a duration or a bad
    BENCH_STARTUP_MS (with a message on stderr).                            */
#include "test_rng.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Longest duration a unit may ask for: one hour.
#define SLEEP_MAX_MS 3600000ull

//  The duration of an example id FILE::NAME_<N>ms (the last "::"). Returns
//  0 with *ms, or -1.
static int
s_example_ms (const char *name, uint64_t *ms)
{
    const char *tail = NULL;
    for (const char *at = strstr (name, "::"); at; at = strstr (at + 1, "::"))
        tail = at + 2;
    size_t length = strlen (tail);
    if (length < 3 || strcmp (tail + length - 2, "ms") != 0)
        return -1;
    const char *end = tail + length - 2;
    const char *start = end;
    while (start > tail && start[-1] >= '0' && start[-1] <= '9')
        start--;
    if (start == end || start == tail || start[-1] != '_' || end - start > 7)
        return -1;
    uint64_t value = 0;
    for (const char *digit = start; digit < end; digit++)
        value = value * 10 + (uint64_t) (*digit - '0');
    if (value > SLEEP_MAX_MS)
        return -1;
    *ms = value;
    return 0;
}

//  Parse the duration out of a unit name. Returns 0 with *ms, or -1.
static int
s_unit_ms (const char *name, uint64_t *ms)
{
    if (strstr (name, "::"))
        return s_example_ms (name, ms);
    const char *base = strrchr (name, '/');
    base = base ? base + 1 : name;
    const char *mark = strstr (base, "ms.");
    const char *digits = NULL;
    //  The last "_<digits>ms." in the base name.
    for (const char *at = mark; at; at = strstr (at + 1, "ms.")) {
        const char *start = at;
        while (start > base && start[-1] >= '0' && start[-1] <= '9')
            start--;
        if (start < at && start > base && start[-1] == '_')
            digits = start;
    }
    if (!digits)
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (digits, &end, 10);
    if (errno != 0 || strncmp (end, "ms.", 3) != 0 || value > SLEEP_MAX_MS)
        return -1;
    *ms = value;
    return 0;
}

//  The noise factor of a unit: FNV-1a of its name mixed with the seed,
//  through splitmix64, mapped onto [1 - noise, 1 + noise].
static double
s_noise_factor (uint64_t seed, double noise, const char *name)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (const char *at = name; *at; at++)
        hash = (hash ^ (unsigned char) *at) * 0x100000001b3ull;
    test_rng_t rng = { seed ^ hash };
    return 1.0 - noise + 2.0 * noise * test_rng_unit (&rng);
}

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_add_us (struct timespec *ts, int64_t us)
{
    ts->tv_sec += (time_t) (us / 1000000);
    ts->tv_nsec += (long) (us % 1000000) * 1000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

//  Sleep until the absolute monotonic time; EINTR resumes the same sleep.
static void
s_sleep_until (const struct timespec *when)
{
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, when, NULL) == EINTR)
        ;
}

//  A number from the environment in [min, max], or fallback when unset.
//  Returns 0, or -1 (said on stderr).
static int
s_env_double (const char *name, double min, double max, double fallback, double *out)
{
    const char *text = getenv (name);
    *out = fallback;
    if (!text || !*text)
        return 0;
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (errno != 0 || *end != 0 || !(value >= min && value <= max)) {
        fprintf (stderr, "sleep_runner: %s='%s' is not a number from %g to %g\n", name, text,
                 min, max);
        return -1;
    }
    *out = value;
    return 0;
}

//  Append the batch's line to BENCH_LOG in one write (O_APPEND: lines of
//  concurrent runners do not interleave). Returns 0, or -1.
static int
s_log_batch (const char *path, int64_t start_us, int64_t end_us, int64_t startup_us,
             int count, char **names, const int64_t *work_us)
{
    const char *node = getenv ("BENCH_NODE");
    size_t size = 128;
    for (int i = 0; i < count; i++)
        size += strlen (names[i]) + 24;
    char *line = malloc (size);
    if (!line)
        return -1;
    int used = snprintf (line, size, "%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64,
                         node ? node : "-", start_us, end_us, startup_us);
    for (int i = 0; i < count; i++)
        used += snprintf (line + used, size - (size_t) used, "\t%s:%" PRId64, names[i],
                          work_us[i]);
    line[used++] = '\n';
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ssize_t wrote = fd >= 0 ? write (fd, line, (size_t) used) : -1;
    if (fd >= 0)
        close (fd);
    free (line);
    return wrote == used ? 0 : -1;
}

//  A unit's sleep at this node's speed (work_us is at speed 1).
static int64_t
s_slept_us (int64_t work_us, double speed)
{
    return (int64_t) ((double) work_us * speed + 0.5);
}

//  Write the JUnit report: each unit's file and the seconds it slept.
//  Unit names need no XML escaping (the bench makes them). Returns 0, or -1.
static int
s_write_report (const char *path, int count, char **names, const int64_t *work_us, double speed)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<testsuite name=\"bench\" tests=\"%d\" failures=\"0\">\n", count);
    for (int i = 0; i < count; i++)
        fprintf (file, "  <testcase classname=\"bench\" name=\"%s\" file=\"%s\" time=\"%.6f\"/>\n",
                 names[i], names[i], (double) s_slept_us (work_us[i], speed) / 1e6);
    fputs ("</testsuite>\n", file);
    return fclose (file) == 0 ? 0 : -1;
}

int
main (int argc, char **argv)
{
    const char *report = NULL;
    if (argc >= 2 && strcmp (argv[1], "--junit") == 0) {
        if (argc < 3) {
            fprintf (stderr, "sleep_runner: --junit needs a file\n");
            return 2;
        }
        report = argv[2];
        argv += 2;
        argc -= 2;
    }
    uint64_t startup_ms = 0;
    const char *startup_text = getenv ("BENCH_STARTUP_MS");
    if (startup_text && *startup_text) {
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull (startup_text, &end, 10);
        if (errno != 0 || *end != 0 || startup_text[0] == '-' || value > SLEEP_MAX_MS) {
            fprintf (stderr, "sleep_runner: BENCH_STARTUP_MS='%s' is not a number of "
                             "milliseconds from 0 to %llu\n", startup_text, SLEEP_MAX_MS);
            return 2;
        }
        startup_ms = value;
    }
    double speed = 1, noise = 0, seed = -1;
    if (s_env_double ("BENCH_SPEED", 0.1, 10, 1, &speed) != 0
    ||  s_env_double ("BENCH_NOISE", 0, 0.9, 0.2, &noise) != 0
    ||  s_env_double ("BENCH_NOISE_SEED", 0, 9007199254740992.0, -1, &seed) != 0)
        return 2;
    //  Check every name before sleeping at all: a bad list fails at once.
    int64_t *work_us = calloc ((size_t) argc, sizeof (int64_t));
    if (!work_us)
        return 2;
    for (int i = 1; i < argc; i++) {
        uint64_t ms = 0;
        if (s_unit_ms (argv[i], &ms) != 0) {
            fprintf (stderr, "sleep_runner: '%s' does not end in _<N>ms.<ext> (a file) or "
                             "::NAME_<N>ms (an example); cannot tell how long to sleep\n",
                     argv[i]);
            free (work_us);
            return 2;
        }
        double factor = seed >= 0 ? s_noise_factor ((uint64_t) seed, noise, argv[i]) : 1;
        work_us[i] = (int64_t) ((double) ms * 1000.0 * factor + 0.5);
    }
    int64_t start_us = s_now_us ();
    int64_t startup_us = (int64_t) ((double) startup_ms * 1000.0 * speed + 0.5);
    struct timespec when;
    clock_gettime (CLOCK_MONOTONIC, &when);
    s_add_us (&when, startup_us);
    if (startup_us > 0)
        s_sleep_until (&when);
    for (int i = 1; i < argc; i++) {
        s_add_us (&when, s_slept_us (work_us[i], speed));
        s_sleep_until (&when);
    }
    int rc = 0;
    if (report && s_write_report (report, argc - 1, argv + 1, work_us + 1, speed) != 0) {
        fprintf (stderr, "sleep_runner: cannot write the report %s\n", report);
        rc = 2;
    }
    const char *log = getenv ("BENCH_LOG");
    if (log && *log
    &&  s_log_batch (log, start_us, s_now_us (), startup_us, argc - 1, argv + 1, work_us + 1) != 0) {
        fprintf (stderr, "sleep_runner: cannot append to BENCH_LOG %s\n", log);
        rc = 2;
    }
    free (work_us);
    return rc;
}
