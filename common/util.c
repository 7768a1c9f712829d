/*  util.c: see util.h.                                                     */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t
util_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
util_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
util_parse_u64 (const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return -1;      //  rejects "", "-1", "+1", " 1"
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno != 0 || *end != 0 || value < min || value > max)
        return -1;
    *out = (uint64_t) value;
    return 0;
}

int
util_parse_u32 (const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t value;
    if (util_parse_u64 (text, min, max, &value) != 0)
        return -1;
    *out = (uint32_t) value;
    return 0;
}

int
util_parse_seconds_ms (const char *text, int64_t min_ms, int64_t max_ms, int64_t *out)
{
    if (!text || ((*text < '0' || *text > '9') && *text != '.'))
        return -1;
    errno = 0;
    char *end = NULL;
    double seconds = strtod (text, &end);
    if (errno != 0 || *end != 0 || !(seconds >= 0) || seconds > 1e9)
        return -1;
    int64_t ms = (int64_t) (seconds * 1000.0 + 0.5);
    if (ms < min_ms || ms > max_ms)
        return -1;
    *out = ms;
    return 0;
}

static void
s_out_of_memory (void)
{
    fputs ("fatal: out of memory\n", stderr);
    abort ();
}

void *
util_malloc (size_t size)
{
    void *ptr = malloc (size ? size : 1);
    if (!ptr)
        s_out_of_memory ();
    return ptr;
}

void *
util_calloc (size_t count, size_t size)
{
    void *ptr = calloc (count ? count : 1, size ? size : 1);
    if (!ptr)
        s_out_of_memory ();
    return ptr;
}

void *
util_realloc (void *ptr, size_t size)
{
    void *bigger = realloc (ptr, size ? size : 1);
    if (!bigger)
        s_out_of_memory ();
    return bigger;
}

char *
util_strdup (const char *text)
{
    return util_strndup (text, strlen (text));
}

char *
util_vformat (const char *fmt, va_list args)
{
    va_list again;
    va_copy (again, args);
    int size = vsnprintf (NULL, 0, fmt, args);
    if (size < 0)
        abort ();       //  only a bad format can do that
    char *text = util_malloc ((size_t) size + 1);
    vsnprintf (text, (size_t) size + 1, fmt, again);
    va_end (again);
    return text;
}

char *
util_format (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *text = util_vformat (fmt, args);
    va_end (args);
    return text;
}

char *
util_strndup (const char *data, size_t size)
{
    char *copy = util_malloc (size + 1);
    memcpy (copy, data, size);
    copy[size] = 0;
    return copy;
}

int
util_mkdir_p (const char *path)
{
    char *copy = util_strdup (path);
    int rc = 0;
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir (copy, 0750) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *p = saved;
            if (saved == 0)
                break;
        }
    }
    int saved_errno = errno;
    free (copy);
    errno = saved_errno;
    return rc;
}

int
util_write_file_atomic (const char *path, const char *text)
{
    size_t len = strlen (path);
    char *tmp = util_malloc (len + 16);
    snprintf (tmp, len + 16, "%s.tmp%ld", path, (long) getpid ());
    int rc = -1;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        size_t size = strlen (text);
        ssize_t written = write (fd, text, size);
        if (written == (ssize_t) size && fsync (fd) == 0)
            rc = 0;
        if (close (fd) != 0)
            rc = -1;
        if (rc == 0 && rename (tmp, path) != 0)
            rc = -1;
        if (rc != 0) {
            int saved_errno = errno;
            unlink (tmp);
            errno = saved_errno;
        }
    }
    free (tmp);
    return rc;
}

int
util_getopt (int argc, char *const *argv, const char *optstring, const struct option *table,
             const char **bad)
{
    int index = -1;
    int opt = getopt_long (argc, argv, optstring, table, &index);
    *bad = NULL;
    if (opt == '?' || opt == ':') {
        *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        return opt;
    }
    if (opt == -1 || index < 0)
        return opt;
    //  The argument as typed: the one before optind, or before the value
    //  when that was the next argument.
    const char *typed = argv[optind - 1];
    if (optarg && optarg == argv[optind - 1] && optind >= 2)
        typed = argv[optind - 2];
    const char *name = table[index].name;
    size_t length = strlen (name);
    if (strncmp (typed, "--", 2) != 0 || strncmp (typed + 2, name, length) != 0
    ||  (typed[2 + length] != 0 && typed[2 + length] != '=')) {
        *bad = typed;
        return '?';
    }
    return opt;
}
