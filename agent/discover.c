/*  discover.c: see discover.h.                                             */
#include "discover.h"

#include "globmatch.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char **items;        //  names found (owned)
    size_t count;        //  used
    size_t alloc;        //  allocated
} list_t;

static void
s_push (list_t *list, char *name)
{
    if (list->count == list->alloc) {
        list->alloc = list->alloc ? list->alloc * 2 : 64;
        list->items = util_realloc (list->items, list->alloc * sizeof (char *));
    }
    list->items[list->count++] = name;
}

static bool
s_excluded (const discover_config_t *config, const char *path)
{
    for (size_t i = 0; i < config->exclude_count; i++)
        if (glob_match (config->excludes[i], path))
            return true;
    return false;
}

//  Walk dir (a path relative to the working folder, "." for it) depth first.
static int
s_walk (const discover_config_t *config, const char *dir, list_t *list, char *why,
        size_t why_size)
{
    DIR *handle = opendir (dir);
    if (!handle) {
        //  A missing base folder simply holds no tests; other errors matter.
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        snprintf (why, why_size, "cannot read folder %s: %s", dir, strerror (errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir (handle)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.')
            continue;   //  ".", "..", and hidden files and folders
        size_t size = strlen (dir) + strlen (name) + 2;
        char *path = util_malloc (size);
        if (strcmp (dir, ".") == 0)
            snprintf (path, size, "%s", name);
        else
            snprintf (path, size, "%s/%s", dir, name);
        struct stat info;
        if (lstat (path, &info) != 0) {
            free (path);
            continue;   //  vanished while we looked
        }
        if (S_ISDIR (info.st_mode)) {
            rc = s_walk (config, path, list, why, why_size);
            free (path);
            if (rc != 0)
                break;
            continue;
        }
        bool is_file = S_ISREG (info.st_mode);
        if (S_ISLNK (info.st_mode)) {
            struct stat target;
            is_file = stat (path, &target) == 0 && S_ISREG (target.st_mode);
        }
        if (is_file && glob_match (config->pattern, path) && !s_excluded (config, path))
            s_push (list, path);
        else
            free (path);
    }
    closedir (handle);
    return rc;
}

static int
s_read_lines (const discover_config_t *config, list_t *list, char *why, size_t why_size)
{
    bool use_stdin = strcmp (config->tests_from, "-") == 0;
    FILE *file = use_stdin ? stdin : fopen (config->tests_from, "re");
    if (!file) {
        snprintf (why, why_size, "cannot read --tests-from %s: %s", config->tests_from,
                  strerror (errno));
        return -1;
    }
    char *line = NULL;
    size_t alloc = 0;
    ssize_t len;
    while ((len = getline (&line, &alloc, file)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if (memchr (line, 0, (size_t) len)) {
            snprintf (why, why_size, "--tests-from %s holds a NUL byte", config->tests_from);
            free (line);
            if (!use_stdin)
                fclose (file);
            return -1;
        }
        const char *name = line;
        if (strncmp (name, "./", 2) == 0)
            name += 2;
        if (!s_excluded (config, name))
            s_push (list, util_strdup (name));
    }
    free (line);
    int failed = ferror (file);
    if (!use_stdin)
        fclose (file);
    if (failed) {
        snprintf (why, why_size, "error reading --tests-from %s", config->tests_from);
        return -1;
    }
    return 0;
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

size_t
discover_sort_unique (char **units, size_t count)
{
    if (count == 0)
        return 0;
    qsort (units, count, sizeof (char *), s_compare);
    size_t kept = 1;
    for (size_t i = 1; i < count; i++) {
        if (strcmp (units[i], units[kept - 1]) == 0)
            free (units[i]);
        else
            units[kept++] = units[i];
    }
    return kept;
}

int
discover_tests (const discover_config_t *config, char ***units, size_t *count, char *why,
                size_t why_size)
{
    list_t list = { 0 };
    int rc;
    if (config->tests_from)
        rc = s_read_lines (config, &list, why, why_size);
    else {
        char *base = glob_base_dir (config->pattern);
        struct stat info;
        //  A pattern without wildcards may name one file.
        if (stat (base, &info) == 0 && S_ISREG (info.st_mode)) {
            if (glob_match (config->pattern, base) && !s_excluded (config, base))
                s_push (&list, util_strdup (base));
            rc = 0;
        }
        else
            rc = s_walk (config, base, &list, why, why_size);
        free (base);
    }
    if (rc != 0) {
        discover_free (list.items, list.count);
        return -1;
    }
    *count = discover_sort_unique (list.items, list.count);
    *units = list.items;
    return 0;
}

void
discover_free (char **units, size_t count)
{
    for (size_t i = 0; units && i < count; i++)
        free (units[i]);
    free (units);
}
