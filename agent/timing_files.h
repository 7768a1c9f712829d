/*  timing_files.h: reads timing files that other tools write, for
    `satchel import`:
      knapsack         JSON object, path -> seconds (knapsack and
                       knapsack_pro reports)
      pytest-split     .test_durations: JSON object, node id -> seconds,
                       or the older list of [node id, seconds] pairs
      parallel-tests   runtime log: "path:seconds" lines (parallel_tests,
                       turbo_tests); blank lines and '#' comments skipped
      junit            JUnit XML: test case times summed per unit as
                       junit_case_unit names them
      dataset          {"source": ..., "unit": ..., "timings": {id: s}},
                       the form of the project's shared timing data
    Detection (TIMING_AUTO): '<' first (after whitespace and a BOM) is
    junit; a JSON object with a "timings" object is dataset; a JSON array
    is pytest-split; a JSON object whose keys contain "::" is
    pytest-split, else knapsack; anything else is parallel-tests.
    Every entry is checked: a name of 1..65536 bytes with no NUL, newline
    or carriage return; seconds finite, >= 0 and at most 30 days. One bad
    entry makes the whole file an error (import nothing rather than half).
    Names repeated in one file are summed (JUnit cases of one file).      */
#ifndef SATCHEL_TIMING_FILES_H
#define SATCHEL_TIMING_FILES_H

#include <stddef.h>

typedef enum {
    TIMING_AUTO = 0,
    TIMING_KNAPSACK,
    TIMING_PYTEST_SPLIT,
    TIMING_PARALLEL_TESTS,
    TIMING_JUNIT,
    TIMING_DATASET
} timing_format_t;

typedef struct {
    char *name;                  //  unit name as the file gives it (owned)
    double seconds;              //  its time
} timing_entry_t;

//  Longest name read. Longer than a unit name may be (4096 bytes by
//  default): import leaves such entries out and counts them, so that one
//  pathological parametrized id does not refuse a whole file.
#define TIMING_NAME_MAX 65536u

//  Largest timing file read.
#define TIMING_FILE_MAX_BYTES (256u * 1024 * 1024)

//  Parse "auto", "knapsack", "pytest-split", "parallel-tests", "junit",
//  "dataset". Returns 0, or -1 if unknown.
int timing_format_parse (const char *text, timing_format_t *format);
const char *timing_format_name (timing_format_t format);

//  Read path in format (TIMING_AUTO: detect). Returns 0 with *entries
//  (count of them, in file order, duplicates summed; free with
//  timing_entries_free) and *detected, or -1 with why: one sentence
//  naming the file, the line where it helps, and what is wrong.
int timing_file_read (const char *path, timing_format_t format, timing_entry_t **entries,
                      size_t *count, timing_format_t *detected, char *why, size_t why_size);

void timing_entries_free (timing_entry_t *entries, size_t count);

#endif
