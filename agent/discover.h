/*  discover.h: the test list of this node: files found by a glob, or lines
    read from a file, minus exclusions; sorted by strcmp and unique, so that
    every node of a build computes the same list and the same digest.      */
#ifndef SATCHEL_DISCOVER_H
#define SATCHEL_DISCOVER_H

#include <stddef.h>

typedef struct {
    const char *pattern;          //  glob with "**", or NULL
    const char *tests_from;       //  file with one test a line, "-" for stdin, or NULL
    const char *const *excludes;  //  globs to drop
    size_t exclude_count;         //  how many
} discover_config_t;

//  Find the tests. Exactly one of pattern and tests_from must be set.
//  Hidden folders (".git", ".venv", ...) are not entered and symlinked
//  folders are not followed, so the walk cannot loop. Returns 0 with a
//  malloc'd array of malloc'd names (free with discover_free), or -1 with
//  why filled in. An empty result is not an error here.
int discover_tests (const discover_config_t *config, char ***units, size_t *count,
                    char *why, size_t why_size);

void discover_free (char **units, size_t count);

//  Sort by strcmp and drop duplicates in place; returns the new count.
size_t discover_sort_unique (char **units, size_t count);

#endif
