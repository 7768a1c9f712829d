/*  replay_main.c: runs a fuzz target over a committed corpus without
    libFuzzer, so that any compiler builds it and ctest can replay the
    corpus on every run as a regression test.

        replay_TARGET PATH...

    Each PATH is a file, or a folder whose regular files are replayed in
    name order (so a failure is reproducible by position). Exits 0 after
    the last input; a broken property or a sanitizer report aborts at the
    input that caused it, whose name is printed first. A run that finds no
    input at all fails: an empty corpus would make the test pass on
    nothing.                                                                */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

//  Inputs replayed so far.
static size_t s_replayed;

//  Read path into a malloc'd buffer (caller frees). Returns 0, or -1.
static int
s_slurp (const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen (path, "rbe");
    if (!file)
        return -1;
    int rc = -1;
    uint8_t *buffer = NULL;
    size_t used = 0, alloc = 0;
    for (;;) {
        if (used == alloc) {
            alloc = alloc ? alloc * 2 : 4096;
            uint8_t *grown = realloc (buffer, alloc);
            if (!grown)
                goto cleanup;
            buffer = grown;
        }
        size_t got = fread (buffer + used, 1, alloc - used, file);
        used += got;
        if (got == 0)
            break;
    }
    if (ferror (file))
        goto cleanup;
    rc = 0;
cleanup:
    fclose (file);
    if (rc == 0) {
        *data = buffer;
        *size = used;
    }
    else
        free (buffer);
    return rc;
}

static int
s_replay_file (const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (s_slurp (path, &data, &size) != 0) {
        fprintf (stderr, "replay: cannot read %s: %s\n", path, strerror (errno));
        return -1;
    }
    //  Printed before the call: after a crash the last line names the input.
    fprintf (stderr, "replay: %s (%zu bytes)\n", path, size);
    //  A fresh copy of exactly size bytes, so that ASan sees a read past
    //  the end of the input as libFuzzer would.
    uint8_t *copy = malloc (size ? size : 1);
    FUZZ_CHECK (copy != NULL);
    memcpy (copy, data, size);
    free (data);
    LLVMFuzzerTestOneInput (copy, size);
    free (copy);
    s_replayed++;
    return 0;
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
s_replay_folder (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir) {
        fprintf (stderr, "replay: cannot open folder %s: %s\n", path, strerror (errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, alloc = 0;
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;           //  ".", ".." and hidden files
        if (count == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            char **grown = realloc (names, alloc * sizeof (char *));
            FUZZ_CHECK (grown != NULL);
            names = grown;
        }
        names[count] = strdup (entry->d_name);
        FUZZ_CHECK (names[count] != NULL);
        count++;
    }
    closedir (dir);
    if (count > 1)
        qsort (names, count, sizeof (char *), s_compare_names);
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen (path) + strlen (names[i]) + 2;
        char *file = malloc (length);
        FUZZ_CHECK (file != NULL);
        snprintf (file, length, "%s/%s", path, names[i]);
        struct stat info;
        if (rc == 0 && stat (file, &info) == 0 && S_ISREG (info.st_mode))
            rc = s_replay_file (file);
        free (file);
        free (names[i]);
    }
    free (names);
    return rc;
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat (argv[i], &info) != 0) {
            fprintf (stderr, "replay: %s: %s\n", argv[i], strerror (errno));
            return 1;
        }
        int rc = S_ISDIR (info.st_mode) ? s_replay_folder (argv[i]) : s_replay_file (argv[i]);
        if (rc != 0)
            return 1;
    }
    if (s_replayed == 0) {
        fprintf (stderr, "replay: no input found in the corpus\n");
        return 1;
    }
    fprintf (stderr, "replay: %zu inputs, all passed\n", s_replayed);
    return 0;
}
