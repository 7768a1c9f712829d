/*  fuzz_junit.c: the JUnit report reader (junit_read, junit_case_unit,
    junit_batch), fed a report a test runner wrote.

    The input is the report, optionally followed by a NUL byte and a
    batch's unit names, one per line (a report never holds a NUL byte, so
    the split is unambiguous, and plain XML seeds need no trailer). The
    report goes into a memfd that junit.c opens by its /proc/self/fd path:
    the real code path (open, fstat, read in chunks), with no file left
    behind after a crash and no entry point added to junit.c for fuzzing.

    Per input:
      - junit_read as satchel import calls it, with junit_case_unit on
        every case (into a roomy buffer and into a tiny one), checking each
        case's fields;
      - junit_batch, as satchel run calls it after a batch, over the
        trailer's units, or without a trailer over units made from the
        cases themselves (a case's import name, or an example id of it),
        so that every mapping rule has something to find without the
        fuzzer guessing names.
      - junit_read again, under a limit one byte below the report's size
        (refused as too large) and with a callback that stops at the
        second case (stopped there).
    It checks that junit_read and junit_batch agree on whether the report
    is readable and how many cases it holds, that every unit's time is
    finite and not negative, that no case's time is counted twice (the
    units' sum is at most the cases' sum), and that states are in range. */
#include "fuzz.h"

#include "junit.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

//  Units of one batch, at most; enough for every rule and for examples
//  sharing a file.
#define S_MAX_UNITS 64

//  Longest unit name taken from the trailer or a case.
#define S_MAX_NAME 512

//  What the cases of one junit_read gave.
typedef struct {
    size_t cases;                //  cases seen
    double seconds;              //  sum of their usable times
    char *units[S_MAX_UNITS];    //  units made from them (owned)
    size_t unit_count;           //  used
    bool derive;                 //  make units from the cases (no trailer)
} s_seen_t;

//  The memfd the report is written to, created once per process.
static int s_fd = -1;
static char s_path[64];

static void
s_write_report (const uint8_t *data, size_t size)
{
    if (s_fd < 0) {
        s_fd = memfd_create ("fuzz_junit", MFD_CLOEXEC);
        FUZZ_CHECK (s_fd >= 0);
        snprintf (s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    }
    FUZZ_CHECK (ftruncate (s_fd, 0) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t wrote = pwrite (s_fd, data + done, size - done, (off_t) done);
        FUZZ_CHECK (wrote > 0);
        done += (size_t) wrote;
    }
}

static void
s_add_unit (s_seen_t *seen, const char *name, size_t length)
{
    if (seen->unit_count == S_MAX_UNITS || length == 0 || length > S_MAX_NAME)
        return;
    char *unit = malloc (length + 1);
    FUZZ_CHECK (unit != NULL);
    memcpy (unit, name, length);
    unit[length] = 0;
    seen->units[seen->unit_count++] = unit;
}

static bool
s_usable (const char *text)
{
    return text == NULL || text[0] != 0;    //  absent or empty is NULL
}

//  Stops the reading at the second case.
static int
s_stop_second (const junit_case_t *test_case, void *arg)
{
    size_t *cases = arg;
    return ++*cases == 2;
}

static int
s_on_case (const junit_case_t *test_case, void *arg)
{
    s_seen_t *seen = arg;
    seen->cases++;
    FUZZ_CHECK (s_usable (test_case->file));
    FUZZ_CHECK (s_usable (test_case->classname));
    FUZZ_CHECK (s_usable (test_case->name));
    FUZZ_CHECK (test_case->seconds == -1
                || (test_case->seconds >= 0 && test_case->seconds <= 30.0 * 24 * 3600));
    if (test_case->seconds > 0)
        seen->seconds += test_case->seconds;

    //  As satchel import: one byte over its limit, to see a cut. The
    //  oracle is junit.h's rule: the file without leading "./", else the
    //  classname, else the name; refused if empty or too long.
    static char unit[S_MAX_NAME + 2];
    int rc = junit_case_unit (test_case, unit, sizeof unit);
    const char *expect = test_case->file ? test_case->file : "";
    while (expect[0] == '.' && expect[1] == '/')
        expect += 2;
    if (!*expect && test_case->classname)
        expect = test_case->classname;
    if (!*expect && test_case->name)
        expect = test_case->name;
    size_t expect_length = strlen (expect);
    FUZZ_CHECK ((rc == 0) == (expect_length > 0 && expect_length < sizeof unit));
    if (rc == 0) {
        FUZZ_CHECK (strcmp (unit, expect) == 0);
        //  Units from the cases, when the input brings none: every other
        //  case's unit is whole, the others' are split by examples (an id
        //  of the case), so that both kinds of match are taken.
        char example[S_MAX_NAME + 2];
        int printed = test_case->name ? snprintf (example, sizeof example, "%s::%s", unit,
                                                  test_case->name) : -1;
        if (seen->derive && seen->cases % 2 == 0 && printed > 0
            && (size_t) printed < sizeof example)
            s_add_unit (seen, example, (size_t) printed);
        else if (seen->derive)
            s_add_unit (seen, unit, expect_length);
    }
    //  A buffer too small for most names must refuse them, never cut them.
    char tiny[4] = "xyz";
    if (junit_case_unit (test_case, tiny, sizeof tiny) == 0)
        FUZZ_CHECK (strlen (tiny) < sizeof tiny);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr (data, 0, size);
    size_t report_size = nul ? (size_t) (nul - data) : size;
    s_write_report (data, report_size);

    //  A small max_bytes keeps each run fast; the libFuzzer command's
    //  -max_len is above it, so the size check is exercised too.
    junit_limits_t limits;
    junit_limits_default (&limits);
    limits.max_bytes = 192 * 1024;

    s_seen_t seen = { .derive = nul == NULL };
    char why[512];
    int read_rc = junit_read (s_path, &limits, s_on_case, &seen, why, sizeof why);
    FUZZ_CHECK (read_rc == 0 || why[0] != 0);

    //  The limits and the callback's stop, on the same report: one byte
    //  under its size is refused before parsing; a callback that says stop
    //  at the second case stops the read there.
    if (report_size > 0) {
        junit_limits_t small = limits;
        small.max_bytes = report_size - 1;
        size_t cases = 0;
        FUZZ_CHECK (junit_read (s_path, &small, s_stop_second, &cases, why, sizeof why) != 0);
        FUZZ_CHECK (cases == 0);
        FUZZ_CHECK (strstr (why, "too large") != NULL);
    }
    if (read_rc == 0 && seen.cases >= 2) {
        size_t cases = 0;
        FUZZ_CHECK (junit_read (s_path, &limits, s_stop_second, &cases, why, sizeof why) != 0);
        FUZZ_CHECK (cases == 2 && strstr (why, "stopped") != NULL);
    }

    //  The trailer's units, one per line.
    if (nul) {
        const char *line = (const char *) nul + 1;
        const char *end = (const char *) data + size;
        while (line < end) {
            const char *stop = memchr (line, '\n', (size_t) (end - line));
            if (!stop)
                stop = end;
            //  A unit name holds no NUL (the protocol refuses them).
            if (!memchr (line, 0, (size_t) (stop - line)))
                s_add_unit (&seen, line, (size_t) (stop - line));
            line = stop + 1;
        }
    }
    //  Predictions from the input, zeros included, so both ways of
    //  sharing a file's time are taken; none at all for odd sizes.
    uint64_t predicted[S_MAX_UNITS];
    for (size_t i = 0; i < seen.unit_count; i++)
        predicted[i] = (uint64_t) ((size + i * 7) % 5) * 100;

    junit_batch_t batch;
    const char *paths[] = { s_path };
    int batch_rc = junit_batch (paths, 1, &limits, seen.units, size % 2 ? NULL : predicted,
                                seen.unit_count, &batch, why, sizeof why);
    if (read_rc != 0)
        FUZZ_CHECK (batch_rc != 0);
    if (batch_rc == 0) {
        FUZZ_CHECK (read_rc == 0);
        FUZZ_CHECK (batch.cases == seen.cases);
        FUZZ_CHECK (batch.unmatched <= batch.cases);
        FUZZ_CHECK (batch.cases == 0 || batch.unmatched < batch.cases);
        double total = 0;
        for (size_t i = 0; i < seen.unit_count; i++) {
            FUZZ_CHECK (isfinite (batch.seconds[i]) && batch.seconds[i] >= 0);
            FUZZ_CHECK (batch.state[i] <= JUNIT_UNIT_FAILED);
            FUZZ_CHECK (batch.state[i] != JUNIT_UNIT_ABSENT || batch.seconds[i] == 0);
            total += batch.seconds[i];
        }
        //  Shares of a file's time may round up a little when summed.
        FUZZ_CHECK (total <= seen.seconds * (1 + 1e-9) + 1e-9);
        junit_batch_clear (&batch);
    }
    else
        FUZZ_CHECK (why[0] != 0);
    for (size_t i = 0; i < seen.unit_count; i++)
        free (seen.units[i]);
    return 0;
}
