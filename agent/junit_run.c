/*  junit_run.c: see junit_run.h.                                          */
#include "junit_run.h"

#include "junit.h"
#include "proto.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  s with every RUN_JUNIT_MARK replaced by path (malloc'd).
static char *
s_replace (const char *text, const char *path)
{
    size_t mark = strlen (RUN_JUNIT_MARK), length = strlen (path);
    size_t count = 0;
    for (const char *at = strstr (text, RUN_JUNIT_MARK); at; at = strstr (at + mark, RUN_JUNIT_MARK))
        count++;
    char *out = util_malloc (strlen (text) + count * length + 1);
    char *write = out;
    const char *read = text;
    for (const char *at = strstr (read, RUN_JUNIT_MARK); at; at = strstr (read, RUN_JUNIT_MARK)) {
        memcpy (write, read, (size_t) (at - read));
        write += at - read;
        memcpy (write, path, length);
        write += length;
        read = at + mark;
    }
    strcpy (write, read);
    return out;
}

static int
s_seen_compare (const void *a, const void *b)
{
    return strcmp (((const junit_run_seen_t *) a)->name, ((const junit_run_seen_t *) b)->name);
}

static void
s_seen_free (junit_run_seen_t *seen, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (seen[i].name);
    free (seen);
}

//  The regular *.xml files of folder, sorted by name. Returns 0, or -1
//  with why (cannot read it, or more than JUNIT_RUN_MAX_FILES of them).
static int
s_list (const char *folder, junit_run_seen_t **out, size_t *count, char *why, size_t why_size)
{
    *out = NULL;
    *count = 0;
    DIR *dir = opendir (folder);
    if (!dir) {
        snprintf (why, why_size, "cannot read report folder %s: %s", folder, strerror (errno));
        return -1;
    }
    junit_run_seen_t *seen = NULL;
    size_t used = 0, alloc = 0;
    int rc = 0;
    struct dirent *item;
    while ((item = readdir (dir)) != NULL) {
        size_t length = strlen (item->d_name);
        if (item->d_name[0] == '.' || length < 5 || strcmp (item->d_name + length - 4, ".xml"))
            continue;
        struct stat info;
        if (fstatat (dirfd (dir), item->d_name, &info, 0) != 0 || !S_ISREG (info.st_mode))
            continue;
        if (used == JUNIT_RUN_MAX_FILES) {
            snprintf (why, why_size, "report folder %s holds more than %u *.xml files", folder,
                      JUNIT_RUN_MAX_FILES);
            rc = -1;
            break;
        }
        if (used == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            seen = util_realloc (seen, alloc * sizeof (junit_run_seen_t));
        }
        seen[used++] = (junit_run_seen_t) {
            util_strdup (item->d_name), (uint64_t) info.st_ino, (int64_t) info.st_size,
            (int64_t) info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec
        };
    }
    closedir (dir);
    if (rc != 0) {
        s_seen_free (seen, used);
        return -1;
    }
    if (used > 1)
        qsort (seen, used, sizeof (junit_run_seen_t), s_seen_compare);
    *out = seen;
    *count = used;
    return 0;
}

void
junit_run_prepare (junit_run_t *self, const run_options_t *options, const char *attempt,
                   uint64_t run)
{
    memset (self, 0, sizeof *self);
    if (options->junit_in_command) {
        const char *dir = options->junit;
        struct stat info;
        if (!dir || stat (dir, &info) != 0 || !S_ISDIR (info.st_mode)) {
            const char *tmp = getenv ("TMPDIR");
            dir = tmp && *tmp ? tmp : "/tmp";
        }
        self->path = util_format ("%s/satchel-junit-%s-%llu.xml", dir, attempt,
                                  (unsigned long long) run);
        self->generated = true;
        self->argv_count = options->command_count;
        self->argv_strings = util_calloc (self->argv_count + 1, sizeof (char *));
        for (size_t i = 0; i < self->argv_count; i++)
            self->argv_strings[i] = s_replace (options->command[i], self->path);
    }
    else if (options->junit)
        self->path = util_strdup (options->junit);
    //  A report left by an earlier run must not pass for this run's. If it
    //  cannot be removed, reading it after the run says what is wrong. A
    //  folder's reports are the user's: they are listed, not removed.
    struct stat info;
    if (self->path && !self->generated && stat (self->path, &info) == 0
        && S_ISDIR (info.st_mode)) {
        char why[256];
        self->folder = true;
        if (s_list (self->path, &self->seen, &self->seen_count, why, sizeof why) != 0)
            self->seen_count = 0;       //  reading after the run says what is wrong
    }
    else if (self->path)
        unlink (self->path);
}

//  Whether item is as it was before the run.
static bool
s_unchanged (const junit_run_t *self, const junit_run_seen_t *item)
{
    const junit_run_seen_t *before = self->seen_count
        ? bsearch (item, self->seen, self->seen_count, sizeof (junit_run_seen_t), s_seen_compare)
        : NULL;
    return before && before->inode == item->inode && before->size == item->size
        && before->mtime_ns == item->mtime_ns;
}

//  The reports to read after the run: the path itself, or the folder's
//  new and changed *.xml files. Returns their count (paths owned by the
//  caller), or 0 with why.
static size_t
s_reports (const junit_run_t *self, char ***paths, char *why, size_t why_size)
{
    *paths = NULL;
    struct stat info;
    if (stat (self->path, &info) != 0 || !S_ISDIR (info.st_mode)) {
        if (self->folder) {
            snprintf (why, why_size, "report folder %s is gone", self->path);
            return 0;
        }
        *paths = util_calloc (1, sizeof (char *));
        (*paths)[0] = util_strdup (self->path);
        return 1;
    }
    junit_run_seen_t *now = NULL;
    size_t now_count = 0, count = 0;
    if (s_list (self->path, &now, &now_count, why, why_size) != 0)
        return 0;
    *paths = util_calloc (now_count ? now_count : 1, sizeof (char *));
    for (size_t i = 0; i < now_count; i++)
        if (!self->folder || !s_unchanged (self, &now[i]))
            (*paths)[count++] = util_format ("%s/%s", self->path, now[i].name);
    s_seen_free (now, now_count);
    if (count == 0) {
        snprintf (why, why_size, "report folder %s %s", self->path,
                  self->folder ? "got no new or changed *.xml report during the run"
                               : "holds no *.xml report");
        free (*paths);
        *paths = NULL;
    }
    return count;
}

int
junit_run_read (junit_run_t *self, char *const *units, const uint64_t *predicted,
                size_t count, uint64_t *times_ms, uint8_t *status, char *why, size_t why_size)
{
    if (!self->path) {
        snprintf (why, why_size, "no report path");
        return -1;
    }
    char **paths = NULL;
    size_t path_count = s_reports (self, &paths, why, why_size);
    if (path_count == 0)
        return -1;
    junit_limits_t limits;
    junit_limits_default (&limits);
    junit_batch_t batch;
    int rc = junit_batch ((const char *const *) paths, path_count, &limits, units, predicted,
                          count, &batch, why, why_size);
    for (size_t i = 0; i < path_count; i++)
        free (paths[i]);
    free (paths);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        //  A unit the report does not name keeps the time it had (its share
        //  of the run's wall time): if a later run of the batch has no
        //  usable report, the whole batch is reported by shares, and a 0
        //  here would become a 0 ms sample of a unit that did run.
        if (batch.state[i] == JUNIT_UNIT_ABSENT) {
            status[i] = PROTO_UNIT_ABSENT;
            continue;
        }
        double ms = batch.seconds[i] * 1000.0;
        times_ms[i] = ms > 0 && isfinite (ms)
                    ? (ms < (double) PROTO_DURATION_MS_MAX ? (uint64_t) llround (ms)
                                                           : PROTO_DURATION_MS_MAX)
                    : 0;
        status[i] = batch.state[i] == JUNIT_UNIT_PASSED ? PROTO_UNIT_PASSED
                  : batch.state[i] == JUNIT_UNIT_FAILED ? PROTO_UNIT_FAILED
                  : PROTO_UNIT_ABSENT;
    }
    junit_batch_clear (&batch);
    return 0;
}

void
junit_run_clear (junit_run_t *self)
{
    struct stat info;
    if (self->generated && self->path && stat (self->path, &info) == 0
        && S_ISDIR (info.st_mode)) {
        junit_run_seen_t *left = NULL;
        size_t count = 0;
        char why[256];
        if (s_list (self->path, &left, &count, why, sizeof why) == 0) {
            for (size_t i = 0; i < count; i++) {
                char *file = util_format ("%s/%s", self->path, left[i].name);
                unlink (file);
                free (file);
            }
            s_seen_free (left, count);
        }
        rmdir (self->path);     //  fails, harmlessly, if the runner left more there
    }
    else if (self->generated && self->path)
        unlink (self->path);
    s_seen_free (self->seen, self->seen_count);
    free (self->path);
    for (size_t i = 0; i < self->argv_count; i++)
        free (self->argv_strings[i]);
    free (self->argv_strings);
    memset (self, 0, sizeof *self);
}
