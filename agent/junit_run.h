/*  junit_run.h: the agent's side of a runner's JUnit report around one
    runner start: where the report goes ({junit} in the command, or the
    --junit path), clearing a stale one before the run, and reading it
    after into per-unit times and results for the batch's report.

    A report path may turn out to be a folder of reports (Maven Surefire
    and Gradle write one file per test class): then every *.xml file in it
    is read, or with a --junit folder the runner keeps, every one written
    or changed during the run (files are compared with a listing taken
    before it: name, inode, size and modification time).                */
#ifndef SATCHEL_JUNIT_RUN_H
#define SATCHEL_JUNIT_RUN_H

#include "run_options.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A report file in a --junit folder as it was before the run.
typedef struct {
    char *name;                  //  file name in the folder (owned)
    uint64_t inode;              //  its inode
    int64_t size;                //  its size
    int64_t mtime_ns;            //  its modification time
} junit_run_seen_t;

//  Most report files read after one run.
#define JUNIT_RUN_MAX_FILES 10000u

typedef struct {
    char *path;                  //  where the runner writes the report (owned), NULL: none
    bool generated;              //  path is a fresh per-run one: removed after reading
    bool folder;                 //  path was a folder before the run (--junit DIR)
    junit_run_seen_t *seen;      //  its *.xml files then, sorted by name (owned)
    size_t seen_count;           //  how many
    char **argv_strings;         //  command arguments with {junit} replaced (owned)
    size_t argv_count;           //  how many
} junit_run_t;

//  Prepare one runner start: pick the report path (a fresh one in the
//  --junit folder, $TMPDIR or /tmp when the command has {junit}; else the
//  --junit path, removed now so a stale report is never read, or, when it
//  is a folder, listed), and the command with {junit} replaced. attempt
//  and run make the fresh name unique. Without --junit and {junit}, path
//  stays NULL and the command is the options' own.
void junit_run_prepare (junit_run_t *self, const run_options_t *options, const char *attempt,
                        uint64_t run);

//  Read the report (or the folder's new reports) for units[0..count) after
//  the run: times_ms[i] and status[i] (PROTO_UNIT_*); a unit no report
//  names keeps its times_ms[i] and is PROTO_UNIT_ABSENT. Returns 0, or -1
//  with why (the report is missing, malformed, too large, or matched no
//  unit; a folder got no new report): the caller then apportions the
//  run's wall time instead.
int junit_run_read (junit_run_t *self, char *const *units, const uint64_t *predicted,
                    size_t count, uint64_t *times_ms, uint8_t *status, char *why,
                    size_t why_size);

//  Remove a generated report (a generated folder's *.xml files, and the
//  folder if that empties it) and free what prepare made.
void junit_run_clear (junit_run_t *self);

#endif
