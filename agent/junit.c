/*  junit.c: see junit.h.                                                   */
#include "junit.h"

#include <assert.h>

#include "util.h"

#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Bytes handed to the parser per read.
#define S_CHUNK (64 * 1024)

//  A case claiming more than 30 days is garbage (timing files use the same
//  bound), and refusing it keeps sums finite.
#define S_MAX_CASE_SECONDS (30.0 * 24 * 3600)

#define S_NONE ((size_t) -1)

//  Why a parse was stopped from a handler.
typedef enum {
    S_GOING = 0,
    S_DOCTYPE,
    S_TOO_DEEP,
    S_BAD_ROOT,
    S_STOPPED
} s_stop_t;

//  Called per case with the nearest testsuite's name too (for
//  go-junit-report v1, whose classname is the package's last element).
typedef int (s_emit_fn) (const junit_case_t *test_case, const char *suite_name, void *arg);

//  An open <testsuite>.
typedef struct {
    char *file;                  //  its file attribute (owned), NULL if none
    char *name;                  //  its name attribute (owned), NULL if none
} s_suite_t;

//  One parse in progress.
typedef struct {
    XML_Parser parser;           //  expat parser
    unsigned max_depth;          //  deepest nesting allowed
    s_emit_fn *emit;             //  where cases go
    void *arg;                   //  emit's argument
    unsigned depth;              //  elements open now
    s_stop_t stop;               //  why a handler stopped the parse
    char root[65];               //  the root element's name, if refused
    s_suite_t *suites;           //  open testsuites, outermost first
    size_t suite_count;          //  used
    size_t suite_alloc;          //  allocated
    bool in_case;                //  inside a <testcase>
    unsigned case_depth;         //  depth of that <testcase>
    char *file;                  //  its file attribute (owned)
    char *classname;             //  its classname attribute (owned)
    char *name;                  //  its name attribute (owned)
    double seconds;              //  its time, -1 if unusable
    bool failed;                 //  saw <failure> or <error>
    bool skipped;                //  saw <skipped>
} s_reader_t;

void
junit_limits_default (junit_limits_t *limits)
{
    limits->max_bytes = JUNIT_DEFAULT_MAX_BYTES;
    limits->max_depth = JUNIT_DEFAULT_MAX_DEPTH;
}

//  A leading "./" (repeated) is noise: "./spec/a_spec.rb" is spec/a_spec.rb.
static const char *
s_strip_dot (const char *path)
{
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    return path;
}

static const char *
s_attr (const XML_Char **attrs, const char *name)
{
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp (attrs[i], name) == 0)
            return attrs[i + 1][0] ? attrs[i + 1] : NULL;
    return NULL;
}

static char *
s_dup_attr (const XML_Char **attrs, const char *name)
{
    const char *value = s_attr (attrs, name);
    return value ? util_strdup (value) : NULL;
}

//  "0.25" -> 0.25; absent, empty, "1,234.5", "nan", negative or absurd -> -1.
//  strtod reads '.' as the decimal point: satchel never calls setlocale.
static double
s_seconds (const char *text)
{
    if (!text)
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (end == text || errno == ERANGE)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end || !isfinite (value) || value < 0 || value > S_MAX_CASE_SECONDS)
        return -1;
    return value == 0 ? 0 : value;   //  no -0
}

static void
s_halt (s_reader_t *self, s_stop_t why)
{
    if (self->stop == S_GOING) {
        self->stop = why;
        XML_StopParser (self->parser, XML_FALSE);
    }
}

static void
s_case_clear (s_reader_t *self)
{
    free (self->file);
    free (self->classname);
    free (self->name);
    self->file = self->classname = self->name = NULL;
    self->in_case = false;
}

static void XMLCALL
s_on_start (void *data, const XML_Char *element, const XML_Char **attrs)
{
    s_reader_t *self = data;
    if (self->stop != S_GOING)
        return;
    if (++self->depth > self->max_depth) {
        s_halt (self, S_TOO_DEEP);
        return;
    }
    if (self->depth == 1 && strcmp (element, "testsuites") != 0
        && strcmp (element, "testsuite") != 0) {
        snprintf (self->root, sizeof self->root, "%s", element);
        s_halt (self, S_BAD_ROOT);
        return;
    }
    if (self->in_case) {
        //  Only the case's own children count; their text is never kept.
        if (self->depth == self->case_depth + 1) {
            if (strcmp (element, "failure") == 0 || strcmp (element, "error") == 0)
                self->failed = true;
            else if (strcmp (element, "skipped") == 0)
                self->skipped = true;
        }
    }
    else if (strcmp (element, "testsuite") == 0) {
        if (self->suite_count == self->suite_alloc) {
            self->suite_alloc = self->suite_alloc ? self->suite_alloc * 2 : 8;
            self->suites = util_realloc (self->suites, self->suite_alloc * sizeof (s_suite_t));
        }
        s_suite_t *suite = &self->suites[self->suite_count++];
        suite->file = s_dup_attr (attrs, "file");
        suite->name = s_dup_attr (attrs, "name");
    }
    else if (strcmp (element, "testcase") == 0) {
        self->in_case = true;
        self->case_depth = self->depth;
        self->file = s_dup_attr (attrs, "file");
        self->classname = s_dup_attr (attrs, "classname");
        self->name = s_dup_attr (attrs, "name");
        self->seconds = s_seconds (s_attr (attrs, "time"));
        self->failed = false;
        //  ctest writes a disabled test with status="disabled" and no <skipped>.
        const char *status = s_attr (attrs, "status");
        self->skipped = status
                        && (strcmp (status, "disabled") == 0 || strcmp (status, "notrun") == 0
                            || strcmp (status, "skipped") == 0);
    }
}

static void XMLCALL
s_on_end (void *data, const XML_Char *element)
{
    s_reader_t *self = data;
    if (self->stop != S_GOING)
        return;
    if (self->in_case && self->depth == self->case_depth) {
        const char *file = self->file;
        for (size_t i = self->suite_count; !file && i > 0; i--)
            file = self->suites[i - 1].file;
        junit_case_t test_case = {
            .file = file,
            .classname = self->classname,
            .name = self->name,
            .seconds = self->seconds,
            .failed = self->failed,
            .skipped = self->skipped
        };
        const char *suite_name =
            self->suite_count ? self->suites[self->suite_count - 1].name : NULL;
        if (self->emit (&test_case, suite_name, self->arg) != 0)
            s_halt (self, S_STOPPED);
        s_case_clear (self);
    }
    else if (!self->in_case && strcmp (element, "testsuite") == 0 && self->suite_count) {
        s_suite_t *suite = &self->suites[--self->suite_count];
        free (suite->file);
        free (suite->name);
    }
    self->depth--;
}

//  Seen before any entity declaration: refusing it rules out entity
//  expansion (billion laughs) and external entities alike.
static void XMLCALL
s_on_doctype (void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
              int has_internal_subset)
{
    s_halt (data, S_DOCTYPE);
}

static void
s_describe (const s_reader_t *self, const char *path, char *why, size_t why_size)
{
    switch (self->stop) {
    case S_DOCTYPE:
        snprintf (why, why_size, "report %s has a DOCTYPE, refused", path);
        break;
    case S_TOO_DEEP:
        snprintf (why, why_size, "report %s nests elements deeper than %u", path,
                  self->max_depth);
        break;
    case S_BAD_ROOT:
        snprintf (why, why_size, "report %s has root <%s>, not <testsuites> or <testsuite>",
                  path, self->root);
        break;
    case S_STOPPED:
        snprintf (why, why_size, "reading report %s stopped", path);
        break;
    default:
        snprintf (why, why_size, "report %s is malformed at line %lu: %s", path,
                  (unsigned long) XML_GetCurrentLineNumber (self->parser),
                  XML_ErrorString (XML_GetErrorCode (self->parser)));
    }
}

//  s_read's return for a well-formed XML file that is no JUnit report
//  (its root is another element): one of several files may be that.
#define S_FOREIGN (-2)

//  Returns 0, S_FOREIGN or -1, with why.
static int
s_read (const char *path, const junit_limits_t *limits, s_emit_fn *emit, void *arg, char *why,
        size_t why_size)
{
    junit_limits_t defaults;
    if (!limits) {
        junit_limits_default (&defaults);
        limits = &defaults;
    }
    int rc = -1;
    char *buffer = NULL;
    s_reader_t self = { .max_depth = limits->max_depth, .emit = emit, .arg = arg };
    //  O_NONBLOCK: opening a FIFO must not wait for a writer.
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            snprintf (why, why_size, "report %s is missing", path);
        else
            snprintf (why, why_size, "cannot open report %s: %s", path, strerror (errno));
        goto cleanup;
    }
    struct stat info;
    if (fstat (fd, &info) != 0) {
        snprintf (why, why_size, "cannot stat report %s: %s", path, strerror (errno));
        goto cleanup;
    }
    if (!S_ISREG (info.st_mode)) {
        snprintf (why, why_size, "report %s is not a regular file", path);
        goto cleanup;
    }
    if (info.st_size == 0) {
        snprintf (why, why_size, "report %s is empty", path);
        goto cleanup;
    }
    if ((uint64_t) info.st_size > limits->max_bytes) {
        snprintf (why, why_size, "report %s is too large (%lld bytes, limit %zu)", path,
                  (long long) info.st_size, limits->max_bytes);
        goto cleanup;
    }
    self.parser = XML_ParserCreate (NULL);
    if (!self.parser) {
        snprintf (why, why_size, "cannot read report %s: out of memory", path);
        goto cleanup;
    }
    XML_SetUserData (self.parser, &self);
    XML_SetElementHandler (self.parser, s_on_start, s_on_end);
    XML_SetStartDoctypeDeclHandler (self.parser, s_on_doctype);
    //  No character data handler: text (a 100 MB <system-out>) is skipped.
    buffer = util_malloc (S_CHUNK);
    size_t total = 0;
    for (;;) {
        ssize_t got = read (fd, buffer, S_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf (why, why_size, "cannot read report %s: %s", path, strerror (errno));
            goto cleanup;
        }
        //  The file may grow after fstat.
        total += (size_t) got;
        if (total > limits->max_bytes) {
            snprintf (why, why_size, "report %s is too large (over %zu bytes)", path,
                      limits->max_bytes);
            goto cleanup;
        }
        if (XML_Parse (self.parser, buffer, (int) got, got == 0) != XML_STATUS_OK) {
            s_describe (&self, path, why, why_size);
            rc = self.stop == S_BAD_ROOT ? S_FOREIGN : -1;
            goto cleanup;
        }
        if (got == 0)
            break;
    }
    rc = 0;
cleanup:
    s_case_clear (&self);
    for (size_t i = 0; i < self.suite_count; i++) {
        free (self.suites[i].file);
        free (self.suites[i].name);
    }
    free (self.suites);
    if (self.parser)
        XML_ParserFree (self.parser);
    free (buffer);
    if (fd >= 0)
        close (fd);
    return rc;
}

typedef struct {
    junit_case_fn *fn;           //  the caller's callback
    void *arg;                   //  its argument
} s_plain_t;

static int
s_emit_plain (const junit_case_t *test_case, const char *suite_name, void *arg)
{
    s_plain_t *plain = arg;
    return plain->fn (test_case, plain->arg);
}

int
junit_read (const char *path, const junit_limits_t *limits, junit_case_fn *fn, void *arg,
            char *why, size_t why_size)
{
    s_plain_t plain = { fn, arg };
    return s_read (path, limits, s_emit_plain, &plain, why, why_size) == 0 ? 0 : -1;
}

int
junit_case_unit (const junit_case_t *test_case, char *out, size_t size)
{
    const char *unit = test_case->file ? s_strip_dot (test_case->file) : "";
    if (!*unit)
        unit = test_case->classname ? test_case->classname : "";
    if (!*unit)
        unit = test_case->name ? test_case->name : "";
    size_t len = strlen (unit);
    if (len == 0 || len >= size)
        return -1;
    memcpy (out, unit, len + 1);
    return 0;
}

//  --------------------------------------------------------------------------
//  Mapping cases to a batch's units

//  One unit under some key; tables are sorted by key, then unit.
typedef struct {
    const char *key;             //  unit name, its file, or its basename
    size_t unit;                 //  index into the batch's units
} s_entry_t;

typedef struct {
    s_entry_t *names;            //  every unit by name ("./" stripped)
    size_t name_count;           //  entries in names
    s_entry_t *files;            //  example units by their file (keys owned)
    size_t file_count;           //  entries in files
    s_entry_t *bases;            //  JVM source units by basename
    size_t base_count;           //  entries in bases
    double *group_seconds;       //  per files entry heading a file: time to share
    uint8_t *group_state;        //  per files entry heading a file: state to share
    char *const *units;          //  the batch's units (borrowed)
    const uint64_t *predicted;   //  per unit: predicted time, or NULL
    junit_batch_t *out;          //  what we fill
    size_t matched;              //  cases that matched a unit
    size_t longest;              //  longest name in names (files keys are shorter)
} s_batch_t;

//  A case's destination: one unit, or the examples of one file.
typedef struct {
    size_t unit;                 //  a unit, or S_NONE
    size_t group;                //  first files entry of the file, or S_NONE
} s_target_t;

static const char *const s_jvm_exts[] = { ".java", ".kt", ".groovy", ".scala" };

static int
s_entry_compare (const void *a, const void *b)
{
    const s_entry_t *left = a, *right = b;
    int rc = strcmp (left->key, right->key);
    if (rc)
        return rc;
    return left->unit < right->unit ? -1 : left->unit > right->unit;
}

//  First entry whose key is >= key.
static size_t
s_lower_bound (const s_entry_t *table, size_t count, const char *key)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (strcmp (table[mid].key, key) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

//  The entry with exactly key, or S_NONE.
static size_t
s_find (const s_entry_t *table, size_t count, const char *key)
{
    size_t at = s_lower_bound (table, count, key);
    return at < count && strcmp (table[at].key, key) == 0 ? at : S_NONE;
}

//  Length of the file part of an example id ("FILE::..." for pytest,
//  "FILE[...]" for rspec), 0 if name is not one.
static size_t
s_example_file_len (const char *name)
{
    const char *colons = strstr (name, "::");
    if (colons && colons > name)
        return (size_t) (colons - name);
    size_t len = strlen (name);
    const char *open = strrchr (name, '[');
    if (len > 2 && name[len - 1] == ']' && open && open > name && open[-1] != '/'
        && !strchr (open, '/') && open + 1 < name + len - 1)
        return (size_t) (open - name);
    return 0;
}

static bool
s_is_jvm_source (const char *name)
{
    size_t len = strlen (name);
    for (size_t i = 0; i < sizeof s_jvm_exts / sizeof s_jvm_exts[0]; i++) {
        size_t ext = strlen (s_jvm_exts[i]);
        if (len > ext && strcmp (name + len - ext, s_jvm_exts[i]) == 0)
            return true;
    }
    return false;
}

static void
s_index (s_batch_t *self, char *const *units, size_t count)
{
    self->names = util_calloc (count, sizeof (s_entry_t));
    self->files = util_calloc (count, sizeof (s_entry_t));
    self->bases = util_calloc (count, sizeof (s_entry_t));
    for (size_t i = 0; i < count; i++) {
        const char *name = s_strip_dot (units[i]);
        self->names[self->name_count++] = (s_entry_t) { name, i };
        size_t length = strlen (name);
        if (length > self->longest)
            self->longest = length;
        size_t file_len = s_example_file_len (name);
        if (file_len)
            self->files[self->file_count++] = (s_entry_t) { util_strndup (name, file_len), i };
        else if (s_is_jvm_source (name)) {
            const char *slash = strrchr (name, '/');
            self->bases[self->base_count++] = (s_entry_t) { slash ? slash + 1 : name, i };
        }
    }
    qsort (self->names, self->name_count, sizeof (s_entry_t), s_entry_compare);
    qsort (self->files, self->file_count, sizeof (s_entry_t), s_entry_compare);
    qsort (self->bases, self->base_count, sizeof (s_entry_t), s_entry_compare);
    self->group_seconds = util_calloc (self->file_count, sizeof (double));
    self->group_state = util_calloc (self->file_count, sizeof (uint8_t));
}

static void
s_unindex (s_batch_t *self)
{
    for (size_t i = 0; i < self->file_count; i++)
        free ((char *) self->files[i].key);
    free (self->names);
    free (self->files);
    free (self->bases);
    free (self->group_seconds);
    free (self->group_state);
}

static bool
s_exact (s_batch_t *self, const char *name, s_target_t *target)
{
    size_t at = s_find (self->names, self->name_count, name);
    if (at == S_NONE)
        return false;
    *target = (s_target_t) { self->names[at].unit, S_NONE };
    return true;
}

//  pytest: where classname's class part starts, given the case's file. The
//  classname is the file's dotted path (maybe from another rootdir, so only
//  a tail of it) then the classes: "tests.api.test_x.TestY" with
//  tests/api/test_x.py gives "TestY". NULL if it does not fit. No tail is
//  longer than the stem, so nothing past that is looked at: the checks cost
//  at most the stem's length squared, not the classname's.
static const char *
s_pytest_classes (const char *classname, const char *file)
{
    size_t file_len = strlen (file);
    if (!classname || file_len < 4 || strcmp (file + file_len - 3, ".py") != 0)
        return NULL;
    size_t stem = file_len - 3;
    const char *best = NULL;
    for (size_t end = 0; end <= stem; end++) {
        if (classname[end] != '.' && classname[end] != 0)
            continue;
        //  Is classname[0..end) a "/"-bounded tail of the stem?
        bool fits = end <= stem && (end == stem || file[stem - end - 1] == '/');
        for (size_t i = 0; fits && i < end; i++) {
            char c = classname[i], f = file[stem - end + i];
            fits = c == f || (c == '.' && f == '/');
        }
        if (fits)
            best = classname[end] ? classname + end + 1 : classname + end;
        if (!classname[end])
            break;
    }
    return best;
}

//  A case whose file is path: the unit path, else its examples (the one
//  the pytest id FILE::Class::name names, or a "::" prefix of it, else all).
//  classes: the case's pytest classes ("" for none), NULL if unknown.
static bool
s_by_file (s_batch_t *self, const char *path, const junit_case_t *test_case,
           const char *classes, s_target_t *target)
{
    if (s_exact (self, path, target))
        return true;
    size_t at = s_find (self->files, self->file_count, path);
    if (at == S_NONE)
        return false;
    if (classes && test_case->name) {
        size_t path_len = strlen (path);
        size_t size = path_len + 2 * strlen (classes) + strlen (test_case->name) + 8;
        char *id = util_malloc (size);
        memcpy (id, path, path_len);
        size_t len = path_len;
        for (const char *c = classes; *c; c++) {
            if (c == classes || *c == '.') {
                id[len++] = ':';
                id[len++] = ':';
            }
            if (*c != '.')
                id[len++] = *c;
        }
        snprintf (id + len, size - len, "::%s", test_case->name);
        bool found = s_exact (self, id, target);
        //  Then cut at each "::" past FILE::X, the last first. They are
        //  found in one pass: searching the id again for every cut made a
        //  case with thousands of classes cost seconds. (Not with strstr:
        //  ASan's check of it reads the whole rest of the id every call.)
        size_t *cuts = NULL;
        size_t cut_count = 0;
        if (!found) {
            cuts = util_malloc ((strlen (id) / 2 + 1) * sizeof (size_t));
            for (size_t i = path_len + 2; id[i] && id[i + 1]; i++) {
                if (id[i] == ':' && id[i + 1] == ':')
                    cuts[cut_count++] = i++;
            }
        }
        while (!found && cut_count > 0) {
            id[cuts[--cut_count]] = 0;
            found = s_exact (self, id, target);
        }
        free (cuts);
        free (id);
        if (found)
            return true;
    }
    *target = (s_target_t) { S_NONE, at };
    return true;
}

//  Rule 1: the file, then its "/"-bounded tails (absolute paths, reports
//  written from another folder), longest first.
static bool
s_rule_file (s_batch_t *self, const junit_case_t *test_case, s_target_t *target)
{
    for (const char *path = s_strip_dot (test_case->file); *path;) {
        //  The classes matter only for a file split by examples; finding
        //  them for every tail made a long file and classname cubic.
        const char *classes = s_find (self->files, self->file_count, path) != S_NONE
                            ? s_pytest_classes (test_case->classname, path) : NULL;
        if (s_by_file (self, path, test_case, classes, target))
            return true;
        const char *slash = strchr (path, '/');
        if (!slash)
            break;
        path = slash + 1;
    }
    return false;
}

//  Rule 2: classname as a pytest dotted path, longest module first. A path
//  longer than every unit cannot be one, and is not built: building each
//  made a classname of many dots quadratic.
static bool
s_rule_pytest (s_batch_t *self, const junit_case_t *test_case, s_target_t *target)
{
    const char *classname = test_case->classname;
    size_t len = strlen (classname);
    char *path = util_malloc (len + 4);
    bool found = false;
    for (size_t end = len; !found && end > 0; end--) {
        if (end + 3 > self->longest)
            continue;
        if ((end < len && classname[end] != '.') || classname[end - 1] == '.')
            continue;
        for (size_t i = 0; i < end; i++)
            path[i] = classname[i] == '.' ? '/' : classname[i];
        memcpy (path + end, ".py", 4);
        const char *classes = classname[end] ? classname + end + 1 : classname + end;
        found = s_by_file (self, path, test_case, classes, target);
    }
    free (path);
    return found;
}

//  Rule 3: classname as a JVM class ("com.acme.FooTest$Inner") in a source
//  file ".../com/acme/FooTest.java", or a unit named "com.acme.FooTest".
static bool
s_rule_jvm (s_batch_t *self, const junit_case_t *test_case, s_target_t *target)
{
    const char *classname = test_case->classname;
    size_t len = strcspn (classname, "$");
    if (len == 0)
        return false;
    char *path = util_malloc (len + 16);
    for (size_t i = 0; i < len; i++)
        path[i] = classname[i] == '.' ? '/' : classname[i];
    path[len] = 0;
    const char *slash = strrchr (path, '/');
    size_t base_at = slash ? (size_t) (slash + 1 - path) : 0;
    bool found = false;
    for (size_t e = 0; !found && e < sizeof s_jvm_exts / sizeof s_jvm_exts[0]; e++) {
        snprintf (path + len, 16, "%s", s_jvm_exts[e]);
        size_t tail = strlen (path);
        const char *base = path + base_at;
        for (size_t at = s_lower_bound (self->bases, self->base_count, base);
             !found && at < self->base_count && strcmp (self->bases[at].key, base) == 0; at++) {
            size_t unit = self->bases[at].unit;
            const char *name = s_strip_dot (self->units[unit]);
            size_t name_len = strlen (name);
            if (name_len >= tail && strcmp (name + name_len - tail, path) == 0
                && (name_len == tail || name[name_len - tail - 1] == '/')) {
                *target = (s_target_t) { unit, S_NONE };
                found = true;
            }
        }
    }
    if (!found) {
        path[len] = 0;
        memcpy (path, classname, len);
        found = s_exact (self, path, target);
    }
    free (path);
    return found;
}

//  Rule 4: classname as a Go import path: the longest "/"-bounded tail that
//  is a unit. go-junit-report v1 writes only the last element as classname
//  and the whole path as the testsuite's name.
static bool
s_rule_go (s_batch_t *self, const junit_case_t *test_case, const char *suite_name,
           s_target_t *target)
{
    const char *import = test_case->classname;
    if (!strchr (import, '/') && suite_name) {
        size_t len = strlen (import), suite_len = strlen (suite_name);
        if (suite_len > len && strcmp (suite_name + suite_len - len, import) == 0
            && suite_name[suite_len - len - 1] == '/')
            import = suite_name;
    }
    if (!strchr (import, '/'))
        return false;
    for (const char *path = import; *path;) {
        if (s_by_file (self, path, test_case, NULL, target))
            return true;
        const char *slash = strchr (path, '/');
        if (!slash)
            break;
        path = slash + 1;
    }
    return false;
}

static bool
s_map (s_batch_t *self, const junit_case_t *test_case, const char *suite_name,
       s_target_t *target)
{
    if (test_case->file && s_rule_file (self, test_case, target))
        return true;
    if (test_case->classname) {
        if (s_rule_pytest (self, test_case, target) || s_rule_jvm (self, test_case, target)
            || s_rule_go (self, test_case, suite_name, target)
            || s_exact (self, test_case->classname, target))
            return true;
    }
    return test_case->name && s_exact (self, test_case->name, target);
}

static int
s_emit_batch (const junit_case_t *test_case, const char *suite_name, void *arg)
{
    s_batch_t *self = arg;
    self->out->cases++;
    s_target_t target;
    if (!s_map (self, test_case, suite_name, &target)) {
        self->out->unmatched++;
        return 0;
    }
    self->matched++;
    uint8_t state = test_case->failed ? JUNIT_UNIT_FAILED : JUNIT_UNIT_PASSED;
    double seconds = test_case->seconds > 0 ? test_case->seconds : 0;
    double *sum = target.unit != S_NONE ? &self->out->seconds[target.unit]
                                        : &self->group_seconds[target.group];
    uint8_t *have = target.unit != S_NONE ? &self->out->state[target.unit]
                                          : &self->group_state[target.group];
    *sum += seconds;
    if (state > *have)
        *have = state;
    return 0;
}

//  A file's time goes to its examples in proportion to their predictions
//  (evenly when there are none), and its failure to each of them.
static void
s_share (s_batch_t *self)
{
    for (size_t first = 0, end; first < self->file_count; first = end) {
        end = first + 1;
        while (end < self->file_count
               && strcmp (self->files[end].key, self->files[first].key) == 0)
            end++;
        if (self->group_state[first] == JUNIT_UNIT_ABSENT)
            continue;
        double total = 0;
        for (size_t i = first; self->predicted && i < end; i++)
            total += (double) self->predicted[self->files[i].unit];
        for (size_t i = first; i < end; i++) {
            size_t unit = self->files[i].unit;
            double share = total > 0 ? (double) self->predicted[unit] / total
                                     : 1.0 / (double) (end - first);
            self->out->seconds[unit] += self->group_seconds[first] * share;
            if (self->group_state[first] > self->out->state[unit])
                self->out->state[unit] = self->group_state[first];
        }
    }
}

int
junit_batch (const char *const *paths, size_t path_count, const junit_limits_t *limits,
             char *const *units, const uint64_t *predicted, size_t count, junit_batch_t *out,
             char *why, size_t why_size)
{
    assert (path_count > 0);
    memset (out, 0, sizeof *out);
    out->seconds = util_calloc (count, sizeof (double));
    out->state = util_calloc (count, sizeof (uint8_t));
    s_batch_t self = { .units = units, .predicted = predicted, .out = out };
    s_index (&self, units, count);
    int rc = 0;
    char foreign_why[512] = "";
    for (size_t i = 0; rc == 0 && i < path_count; i++) {
        rc = s_read (paths[i], limits, s_emit_batch, &self, why, why_size);
        if (rc == S_FOREIGN) {
            out->foreign++;
            if (!foreign_why[0])
                snprintf (foreign_why, sizeof foreign_why, "%s", why);
            rc = 0;
        }
    }
    if (rc == 0 && out->foreign == path_count) {
        snprintf (why, why_size, "%s", foreign_why);
        rc = -1;
    }
    if (rc == 0 && out->cases > 0 && self.matched == 0) {
        if (path_count == 1)
            snprintf (why, why_size, "report %s: no test case matched a unit of the batch",
                      paths[0]);
        else
            snprintf (why, why_size, "%zu reports: no test case matched a unit of the batch",
                      path_count - out->foreign);
        rc = -1;
    }
    if (rc == 0)
        s_share (&self);
    else
        junit_batch_clear (out);
    s_unindex (&self);
    return rc;
}

void
junit_batch_clear (junit_batch_t *batch)
{
    if (!batch)
        return;
    free (batch->seconds);
    free (batch->state);
    memset (batch, 0, sizeof *batch);
}
