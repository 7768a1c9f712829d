/*  timing_files.c: see timing_files.h. Every format funnels into s_add,
    which checks the entry and sums repeats, so the rules hold the same for
    all of them.                                                            */
#include "timing_files.h"

#include "json.h"
#include "junit.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SECONDS_MAX (30.0 * 24 * 3600)

typedef struct {
    const char *path;            //  file read, named in errors (borrowed)
    timing_format_t format;      //  format it is read as, named in errors
    timing_entry_t *entries;     //  entries in file order (owned)
    size_t count;                //  entries used
    size_t alloc;                //  entries allocated
    size_t *slots;               //  hash of names: entry index + 1, 0 if free (owned)
    size_t slot_count;           //  slots, a power of two over twice count
    size_t junit_cases;          //  JUnit test cases seen, to number them in errors
    char *unit;                  //  a JUnit case's unit name, TIMING_NAME_MAX + 2 (owned)
    char *why;                   //  where the first error goes
    size_t why_size;             //  its size
} s_reader_t;

static const char *s_names[] = {
    "auto", "knapsack", "pytest-split", "parallel-tests", "junit", "dataset"
};

int
timing_format_parse (const char *text, timing_format_t *format)
{
    for (size_t i = 0; text && i < sizeof s_names / sizeof s_names[0]; i++) {
        if (strcmp (text, s_names[i]) == 0) {
            *format = (timing_format_t) i;
            return 0;
        }
    }
    return -1;
}

const char *
timing_format_name (timing_format_t format)
{
    if ((size_t) format < sizeof s_names / sizeof s_names[0])
        return s_names[format];
    return "unknown";
}

//  Write why as "PATH (FORMAT): line N: what"; no format while it is not
//  known yet, no line where there is none (0).
static void __attribute__ ((format (printf, 3, 4)))
s_fail (s_reader_t *self, size_t line, const char *fmt, ...)
{
    char what[512], where[32] = "";
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    if (line > 0)
        snprintf (where, sizeof where, "line %zu: ", line);
    if (self->format == TIMING_AUTO)
        snprintf (self->why, self->why_size, "%s: %s%s", self->path, where, what);
    else
        snprintf (self->why, self->why_size, "%s (%s): %s%s", self->path,
                  timing_format_name (self->format), where, what);
}

//  A name made fit for a message: at most 80 bytes, control bytes as '?'.
static void
s_quote (const char *name, size_t size, char out[96])
{
    size_t used = 0;
    for (size_t i = 0; i < size && used < 80; i++)
        out[used++] = (unsigned char) name[i] < 0x20 ? '?' : name[i];
    out[used] = 0;
    if (size > 80)
        strcat (out, "...");
}

static uint64_t
s_hash (const char *name, size_t size)
{
    uint64_t hash = 14695981039346656037ull;    //  FNV-1a
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ (unsigned char) name[i]) * 1099511628211ull;
    return hash;
}

//  The slot holding name, or the free slot where it would go.
static size_t *
s_slot (s_reader_t *self, const char *name, size_t size)
{
    size_t mask = self->slot_count - 1;
    for (size_t i = (size_t) s_hash (name, size) & mask; ; i = (i + 1) & mask) {
        size_t *slot = &self->slots[i];
        if (*slot == 0)
            return slot;
        const char *other = self->entries[*slot - 1].name;
        if (strncmp (other, name, size) == 0 && other[size] == 0)
            return slot;
    }
}

static void
s_grow_slots (s_reader_t *self)
{
    free (self->slots);
    self->slot_count = self->slot_count ? self->slot_count * 2 : 256;
    self->slots = util_calloc (self->slot_count, sizeof (size_t));
    for (size_t i = 0; i < self->count; i++) {
        const char *name = self->entries[i].name;
        *s_slot (self, name, strlen (name)) = i + 1;
    }
}

//  Check one entry and add it, or add its time to an earlier one of the
//  same name. line is for the message (0: none); returns 0, or -1 with why.
static int
s_add (s_reader_t *self, size_t line, const char *name, size_t size, double seconds)
{
    char quoted[96];
    s_quote (name, size, quoted);
    if (size == 0) {
        s_fail (self, line, "an entry has an empty name");
        return -1;
    }
    if (size > TIMING_NAME_MAX) {
        s_fail (self, line, "name \"%s\" is longer than %u bytes", quoted, TIMING_NAME_MAX);
        return -1;
    }
    if (memchr (name, 0, size) || memchr (name, '\n', size) || memchr (name, '\r', size)) {
        s_fail (self, line, "name \"%s\" holds a NUL, newline or carriage return", quoted);
        return -1;
    }
    if (!isfinite (seconds) || seconds < 0 || seconds > S_SECONDS_MAX) {
        s_fail (self, line, "\"%s\": time %g s is %s", quoted, seconds,
                seconds < 0 ? "negative" : "not finite or over 30 days");
        return -1;
    }
    if (self->count * 2 >= self->slot_count)
        s_grow_slots (self);
    size_t *slot = s_slot (self, name, size);
    if (*slot) {
        timing_entry_t *entry = &self->entries[*slot - 1];
        if (entry->seconds + seconds > S_SECONDS_MAX) {
            s_fail (self, line, "\"%s\": its times add up to more than 30 days", quoted);
            return -1;
        }
        entry->seconds += seconds;
        return 0;
    }
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 256;
        self->entries = util_realloc (self->entries, self->alloc * sizeof (timing_entry_t));
    }
    self->entries[self->count].name = util_strndup (name, size);
    self->entries[self->count].seconds = seconds;
    *slot = ++self->count;
    return 0;
}

//  Members of obj as name -> seconds (knapsack, pytest-split, dataset).
static int
s_read_object (s_reader_t *self, const json_t *obj, const char *what)
{
    static const char *types[] = { "null", "a boolean", "a number", "a string", "an array",
                                   "an object" };
    if (json_type (obj) != JSON_OBJECT) {
        s_fail (self, 0, "expected %s, found %s", what, obj ? types[json_type (obj)] : "none");
        return -1;
    }
    for (size_t i = 0; i < json_count (obj); i++) {
        const char *name = json_key_at (obj, i);
        double seconds;
        if (json_number (json_at (obj, i), &seconds) != 0) {
            char quoted[96];
            s_quote (name, strlen (name), quoted);
            s_fail (self, 0, "the time of \"%s\" is not a number", quoted);
            return -1;
        }
        if (s_add (self, 0, name, strlen (name), seconds) != 0)
            return -1;
    }
    return 0;
}

//  pytest-split's older form: [[node id, seconds], ...].
static int
s_read_pairs (s_reader_t *self, const json_t *list)
{
    for (size_t i = 0; i < json_count (list); i++) {
        const json_t *pair = json_at (list, i);
        const char *name = json_string (json_at (pair, 0));
        double seconds;
        if (json_type (pair) != JSON_ARRAY || json_count (pair) != 2 || !name
            || json_number (json_at (pair, 1), &seconds) != 0) {
            s_fail (self, 0, "item %zu is not a [node id, seconds] pair", i + 1);
            return -1;
        }
        if (s_add (self, 0, name, strlen (name), seconds) != 0)
            return -1;
    }
    return 0;
}

//  The JSON formats, from the parsed root.
static int
s_read_json (s_reader_t *self, const json_t *root)
{
    switch (self->format) {
        case TIMING_KNAPSACK:
            return s_read_object (self, root, "a JSON object of path -> seconds");
        case TIMING_PYTEST_SPLIT:
            if (json_type (root) == JSON_ARRAY)
                return s_read_pairs (self, root);
            return s_read_object (self, root,
                                  "a JSON object of node id -> seconds, or a list of pairs");
        case TIMING_DATASET:
            if (json_type (root) != JSON_OBJECT) {
                s_fail (self, 0, "expected a JSON object with a \"timings\" object");
                return -1;
            }
            return s_read_object (self, json_get (root, "timings"),
                                  "a \"timings\" object of id -> seconds");
        default:
            assert (false);
            return -1;
    }
}

//  A number of seconds as a runtime log writes it (Ruby's Float#to_s:
//  "1.5", "3", "1.0e-05"): checked, then read by strtod.
static int
s_parse_seconds (const char *text, size_t size, double *out)
{
    size_t i = 0;
    if (i < size && text[i] == '-')
        i++;                    //  read so that the range check can name it
    size_t digits = i;
    while (i < size && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == digits)
        return -1;
    if (i < size && text[i] == '.') {
        size_t fraction = ++i;
        while (i < size && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == fraction)
            return -1;
    }
    if (i < size && (text[i] == 'e' || text[i] == 'E')) {
        if (++i < size && (text[i] == '+' || text[i] == '-'))
            i++;
        size_t exponent = i;
        while (i < size && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == exponent)
            return -1;
    }
    if (i != size || size > 64)
        return -1;
    char span[65];
    memcpy (span, text, size);
    span[size] = 0;
    char *end = NULL;
    errno = 0;
    *out = strtod (span, &end);
    return *end == 0 && errno == 0 ? 0 : -1;
}

//  parallel_tests' runtime log: "path:seconds" lines, split at the last
//  ':' as parallel_tests does.
static int
s_read_lines (s_reader_t *self, const char *text, size_t size)
{
    size_t line = 0;
    for (size_t start = 0; start < size; ) {
        const char *begin = text + start;
        const char *newline = memchr (begin, '\n', size - start);
        size_t length = newline ? (size_t) (newline - begin) : size - start;
        start += length + 1;
        line++;
        while (length > 0
               && (begin[length - 1] == ' ' || begin[length - 1] == '\t'
                   || begin[length - 1] == '\r'))
            length--;
        size_t lead = 0;
        while (lead < length && (begin[lead] == ' ' || begin[lead] == '\t'))
            lead++;
        if (lead == length || begin[lead] == '#')
            continue;
        if (memchr (begin, 0, length)) {
            s_fail (self, line, "holds a NUL byte");
            return -1;
        }
        const char *colon = memrchr (begin, ':', length);
        if (!colon) {
            s_fail (self, line, "expected \"path:seconds\", found no ':'");
            return -1;
        }
        size_t name_size = (size_t) (colon - begin);
        const char *value = colon + 1;
        size_t value_size = length - name_size - 1;
        double seconds;
        if (s_parse_seconds (value, value_size, &seconds) != 0) {
            char quoted[96];
            s_quote (value, value_size, quoted);
            s_fail (self, line, "\"%s\" after the last ':' is not a number of seconds", quoted);
            return -1;
        }
        if (s_add (self, line, begin, name_size, seconds) != 0)
            return -1;
    }
    return 0;
}

static int
s_on_case (const junit_case_t *test_case, void *arg)
{
    s_reader_t *self = (s_reader_t *) arg;
    self->junit_cases++;
    char *unit = self->unit;        //  one byte over the limit, to see a cut
    if (junit_case_unit (test_case, unit, TIMING_NAME_MAX + 2) != 0) {
        //  It fails both for a case that names nothing and for a name
        //  too long for the buffer.
        const char *file = test_case->file, *classname = test_case->classname;
        bool named = (file && *file) || (classname && *classname)
                  || (test_case->name && *test_case->name);
        if (named)
            s_fail (self, 0, "test case %zu: its unit name is longer than %u bytes",
                    self->junit_cases, TIMING_NAME_MAX);
        else
            s_fail (self, 0, "test case %zu has no file, classname or name", self->junit_cases);
        return -1;
    }
    double seconds = test_case->seconds;
    //  A skipped case often has no time; it took none. Any other case
    //  without a readable time is a damaged report.
    if (seconds < 0 && test_case->skipped)
        seconds = 0;
    if (seconds < 0) {
        char quoted[96];
        s_quote (unit, strlen (unit), quoted);
        s_fail (self, 0, "test case %zu (\"%s\") has no valid time attribute",
                self->junit_cases, quoted);
        return -1;
    }
    return s_add (self, 0, unit, strlen (unit), seconds) == 0 ? 0 : -1;
}

static int
s_read_junit (s_reader_t *self)
{
    junit_limits_t limits;
    junit_limits_default (&limits);
    limits.max_bytes = TIMING_FILE_MAX_BYTES;
    self->why[0] = 0;
    self->unit = util_malloc (TIMING_NAME_MAX + 2);
    char why[512];
    int rc = junit_read (self->path, &limits, s_on_case, self, why, sizeof why);
    if (rc != 0 && self->why[0] == 0)       //  junit_read's own error, not one of ours
        snprintf (self->why, self->why_size, "%s", why);
    free (self->unit);
    self->unit = NULL;
    return rc == 0 ? 0 : -1;
}

//  Read the whole file into *text (NUL-terminated, caller frees).
static int
s_slurp (s_reader_t *self, char **text, size_t *size)
{
    int rc = -1;
    char *data = NULL;
    int fd = open (self->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_fail (self, 0, "cannot open: %s", strerror (errno));
        goto cleanup;
    }
    struct stat info;
    if (fstat (fd, &info) != 0) {
        s_fail (self, 0, "cannot read: %s", strerror (errno));
        goto cleanup;
    }
    if (S_ISDIR (info.st_mode)) {
        s_fail (self, 0, "is a folder, not a file");
        goto cleanup;
    }
    if (S_ISREG (info.st_mode) && (uint64_t) info.st_size > TIMING_FILE_MAX_BYTES) {
        s_fail (self, 0, "larger than %u MiB", TIMING_FILE_MAX_BYTES / (1024 * 1024));
        goto cleanup;
    }
    //  Read to the end rather than trust st_size (pipes, growing files),
    //  but never more than one byte past the limit.
    size_t alloc = 64 * 1024, used = 0;
    data = util_malloc (alloc + 1);
    while (used <= TIMING_FILE_MAX_BYTES) {
        if (used == alloc) {
            alloc = alloc * 2 < TIMING_FILE_MAX_BYTES + 1 ? alloc * 2 : TIMING_FILE_MAX_BYTES + 1;
            data = util_realloc (data, alloc + 1);
        }
        ssize_t got = read (fd, data + used, alloc - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s_fail (self, 0, "cannot read: %s", strerror (errno));
            goto cleanup;
        }
        if (got == 0)
            break;
        used += (size_t) got;
    }
    if (used > TIMING_FILE_MAX_BYTES) {
        s_fail (self, 0, "larger than %u MiB", TIMING_FILE_MAX_BYTES / (1024 * 1024));
        goto cleanup;
    }
    data[used] = 0;
    *text = data;
    *size = used;
    data = NULL;
    rc = 0;
cleanup:
    free (data);
    if (fd >= 0)
        close (fd);
    return rc;
}

//  Which JSON format a parsed root is (the header's rules).
static timing_format_t
s_detect_json (const json_t *root)
{
    if (json_type (root) == JSON_ARRAY)
        return TIMING_PYTEST_SPLIT;
    if (json_type (json_get (root, "timings")) == JSON_OBJECT)
        return TIMING_DATASET;
    for (size_t i = 0; i < json_count (root); i++)
        if (strstr (json_key_at (root, i), "::"))
            return TIMING_PYTEST_SPLIT;
    return TIMING_KNAPSACK;
}

int
timing_file_read (const char *path, timing_format_t format, timing_entry_t **entries,
                  size_t *count, timing_format_t *detected, char *why, size_t why_size)
{
    assert (path && entries && count && why && why_size > 0);
    s_reader_t self = { .path = path, .format = format, .why = why, .why_size = why_size };
    char *text = NULL;
    size_t size = 0, bom = 0;
    json_t *root = NULL;
    int rc = -1;
    *entries = NULL;
    *count = 0;
    if ((size_t) format >= sizeof s_names / sizeof s_names[0]) {
        snprintf (why, why_size, "%s: unknown timing format %d", path, (int) format);
        goto cleanup;
    }
    if (format != TIMING_JUNIT) {
        if (s_slurp (&self, &text, &size) != 0)
            goto cleanup;
        //  A UTF-8 byte order mark is no part of any format (and
        //  json_parse, being strict, would refuse it).
        bom = size >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        //  Auto: '<' is XML; '{' or '[' is JSON, which of them its shape
        //  says once parsed; anything else is a runtime log.
        size_t lead = bom;
        while (lead < size && strchr (" \t\r\n", text[lead]) && text[lead] != 0)
            lead++;
        if (format == TIMING_AUTO && lead < size && text[lead] == '<')
            self.format = TIMING_JUNIT;
        else if (format == TIMING_AUTO && (lead == size || (text[lead] != '{' && text[lead] != '[')))
            self.format = TIMING_PARALLEL_TESTS;
        if (self.format != TIMING_JUNIT && self.format != TIMING_PARALLEL_TESTS) {
            char json_why[256];
            root = json_parse (text + bom, size - bom, JSON_DEFAULT_MAX_DEPTH, json_why,
                               sizeof json_why);
            if (!root) {
                s_fail (&self, 0, "not valid JSON: %s", json_why);
                goto cleanup;
            }
            if (format == TIMING_AUTO)
                self.format = s_detect_json (root);
        }
    }
    if (self.format == TIMING_JUNIT)
        rc = s_read_junit (&self);
    else if (self.format == TIMING_PARALLEL_TESTS)
        rc = s_read_lines (&self, text + bom, size - bom);
    else
        rc = s_read_json (&self, root);
    if (rc == 0 && self.count == 0) {
        s_fail (&self, 0, "holds no timing entries");
        rc = -1;
    }
    if (rc == 0) {
        *entries = self.entries;
        *count = self.count;
        self.entries = NULL;
        self.count = 0;
        if (detected)
            *detected = self.format;
    }
cleanup:
    timing_entries_free (self.entries, self.count);
    free (self.slots);
    json_destroy (&root);
    free (text);
    return rc;
}

void
timing_entries_free (timing_entry_t *entries, size_t count)
{
    for (size_t i = 0; entries && i < count; i++)
        free (entries[i].name);
    free (entries);
}
