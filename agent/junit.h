/*  junit.h: reads a JUnit XML report, streaming (expat, no DOM), and turns
    its test cases into per-unit times and results.

    A test case maps to a unit by the first rule that finds one (the
    README's runner table says which runner needs which):
      1. its own "file" attribute, else the nearest enclosing testsuite's
         (rspec_junit_formatter, pytest with junit_family=xunit1, jest-junit
         with addFileAttribute, mocha-junit-reporter); a leading "./" is
         ignored on both sides; when the whole path is no unit, its
         "/"-bounded tails are tried, longest first, so that an absolute
         path (mocha-junit-reporter, a report from another machine)
         still finds "test/a.test.js";
      2. classname as a pytest dotted path: "tests.api.test_x.TestY" is
         tried as tests/api/test_x/TestY.py, tests/api/test_x.py, ...;
      3. classname as a Java (Maven Surefire, Gradle) class:
         "com.acme.FooTest" (or "com.acme.FooTest$Inner") matches a unit
         ending in "/com/acme/FooTest.java" (.kt, .groovy, .scala too), or
         a unit named exactly "com.acme.FooTest";
      4. classname as a Go package (go-junit-report): the unit that is the
         longest "/"-bounded suffix of the import path, e.g. "./pkg/foo"
         or "pkg/foo" for "github.com/acme/app/pkg/foo" (go-junit-report
         v1 writes only "foo" as classname: then the enclosing testsuite's
         name, the whole path, is used when it ends in "/foo");
      5. exactly the classname or the name (ctest --output-junit, whose
         units are test names).
    A case whose file is not a unit of the batch but whose examples are
    (units "FILE[...]" or "FILE::..."; split by examples) goes to the
    example whose id it names (pytest: FILE::Class::name, or the longest
    "::" prefix of it that is a unit, e.g. FILE::Class), else its time
    is shared among the batch's examples of that file in proportion to
    their predictions, and a failure marks each of them failed. A unit is
    an example when it holds "::" (the file is what comes before the
    first) or ends in "[...]" not right after a "/" (the file is what
    comes before that "[").

    Hostile input: a report larger than max_bytes is refused before it is
    parsed; a DOCTYPE (and so any entity declaration) is refused, which
    rules out entity expansion; nesting deeper than max_depth is refused;
    anything but a regular file (a FIFO, a folder) is refused without
    waiting on it. Character data is never kept, so memory stays bounded
    by the batch and the parser's buffer, which holds one token at a
    time: a huge <system-out> costs nothing, a huge attribute about its
    own size (so at most about max_bytes).                                  */
#ifndef SATCHEL_JUNIT_H
#define SATCHEL_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t max_bytes;            //  refuse larger files
    unsigned max_depth;          //  refuse deeper element nesting
} junit_limits_t;

//  Defaults: 64 MiB, depth 64.
#define JUNIT_DEFAULT_MAX_BYTES (64u * 1024 * 1024)
#define JUNIT_DEFAULT_MAX_DEPTH 64u
void junit_limits_default (junit_limits_t *limits);

//  One test case as read. Strings are borrowed for the callback's duration
//  and NULL when absent or empty. skipped is also set by ctest's
//  status="disabled" / "notrun", which come without a <skipped> child.
//  seconds is -1 too for a time over 30 days (the timing files' bound).
typedef struct {
    const char *file;            //  testcase's file, else the nearest testsuite's
    const char *classname;       //  testcase classname
    const char *name;            //  testcase name
    double seconds;              //  time attribute; -1 if absent, not a number or negative
    bool failed;                 //  has a <failure> or <error> child
    bool skipped;                //  has a <skipped> child
} junit_case_t;

//  Called once per test case; return 0 to go on, nonzero to stop reading
//  (junit_read then fails with why "stopped").
typedef int (junit_case_fn) (const junit_case_t *test_case, void *arg);

//  Read the report at path and call fn for each test case in document
//  order (limits NULL: the defaults). Returns 0, or -1 with why (one
//  sentence naming the file and what is wrong: missing, empty, too large,
//  malformed at line N, DOCTYPE refused, too deep, no <testsuite> or
//  <testsuites> root).
int junit_read (const char *path, const junit_limits_t *limits, junit_case_fn *fn, void *arg,
                char *why, size_t why_size);

//  What a unit got from a report.
typedef enum {
    JUNIT_UNIT_ABSENT = 0,       //  no test case mapped to it
    JUNIT_UNIT_PASSED = 1,       //  every case passed (or was skipped)
    JUNIT_UNIT_FAILED = 2        //  some case failed or errored
} junit_unit_state_t;

//  A batch's units as the report saw them.
typedef struct {
    double *seconds;             //  per unit: summed case times (owned)
    uint8_t *state;              //  per unit: junit_unit_state_t (owned)
    size_t cases;                //  test cases read
    size_t unmatched;            //  test cases that matched no unit
    size_t foreign;              //  files skipped: well-formed XML of another root
} junit_batch_t;

//  Read the reports at paths[0..path_count) (at least one; Surefire and
//  Gradle write one per class) for a batch of units[0..count) (with
//  their predicted times, for sharing a file's time among its examples;
//  NULL: evenly); a unit's cases are summed over all of them. A file
//  whose root is another element (failsafe-summary.xml beside the
//  reports) is skipped and counted, unless every file is one. Returns 0
//  with *out filled (free with junit_batch_clear), or -1 with why (as
//  junit_read for the first file that fails, or "no test case matched a
//  unit of the batch" when cases > 0 and none matched).
int junit_batch (const char *const *paths, size_t path_count, const junit_limits_t *limits,
                 char *const *units, const uint64_t *predicted, size_t count,
                 junit_batch_t *out, char *why, size_t why_size);
void junit_batch_clear (junit_batch_t *batch);

//  The unit name a test case stands for when there is no batch to map it
//  to (satchel import): its file (without a leading "./"), else its
//  classname, else its name. Writes at most size bytes; returns 0, or -1
//  if the case names nothing or the name does not fit (it is not cut).
int junit_case_unit (const junit_case_t *test_case, char *out, size_t size);

#endif
