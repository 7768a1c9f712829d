/*  prom_text.c: see prom_text.h.                                         */
#include "prom_text.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[128];              //  family name
    char kind[128];              //  counter, gauge, histogram, summary, untyped
    bool sampled;                //  samples of it were seen
    bool closed;                 //  another family's samples came after its own
} s_family_t;

static int __attribute__ ((format (printf, 4, 5)))
s_fail (char *why, size_t size, unsigned line, const char *fmt, ...)
{
    int used = snprintf (why, size, "line %u: ", line);
    va_list args;
    va_start (args, fmt);
    if (used >= 0 && (size_t) used < size)
        vsnprintf (why + used, size - (size_t) used, fmt, args);
    va_end (args);
    return -1;
}

static bool
s_name_ok (const char *name, bool colon)
{
    if (!*name || !(isalpha ((unsigned char) *name) || *name == '_' || (colon && *name == ':')))
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum ((unsigned char) *c) || *c == '_' || (colon && *c == ':')))
            return false;
    return true;
}

static bool
s_value (const char *text, double *value)
{
    if (strcmp (text, "+Inf") == 0 || strcmp (text, "Inf") == 0) {
        *value = INFINITY;
        return true;
    }
    if (strcmp (text, "-Inf") == 0) {
        *value = -INFINITY;
        return true;
    }
    if (strcmp (text, "NaN") == 0) {
        *value = NAN;
        return true;
    }
    char *end = NULL;
    *value = strtod (text, &end);
    return end != text && *end == 0;
}

//  Check the labels text (inside {}): name="value" pairs, comma-separated,
//  values with \\, \" and \n escapes only. le gets the value of "le".
static bool
s_labels_ok (const char *text, char *le, size_t le_size)
{
    const char *c = text;
    le[0] = 0;
    while (*c) {
        char name[128];
        size_t n = 0;
        while (*c && *c != '=' && n < sizeof name - 1)
            name[n++] = *c++;
        name[n] = 0;
        if (*c != '=' || !s_name_ok (name, false) || c[1] != '"')
            return false;
        c += 2;
        char value[256];
        size_t v = 0;
        while (*c && *c != '"') {
            if (*c == '\\') {
                if (c[1] != '\\' && c[1] != '"' && c[1] != 'n')
                    return false;
                c++;
            }
            if (v < sizeof value - 1)
                value[v++] = *c;
            c++;
        }
        value[v] = 0;
        if (*c != '"')
            return false;
        c++;
        if (strcmp (name, "le") == 0) {
            //  Cut to fit: a le this long is no number anyway.
            size_t cut = v < le_size ? v : le_size - 1;
            memcpy (le, value, cut);
            le[cut] = 0;
        }
        if (*c == ',')
            c++;
        else if (*c)
            return false;
    }
    return true;
}

//  The family a sample name belongs to: itself, or without a histogram's
//  or summary's suffix when such a family is declared.
static s_family_t *
s_family_of (s_family_t *families, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (families[i].name, name) == 0)
            return &families[i];
    const char *suffixes[] = { "_bucket", "_sum", "_count" };
    for (size_t s = 0; s < 3; s++) {
        size_t length = strlen (name), cut = strlen (suffixes[s]);
        if (length > cut && strcmp (name + length - cut, suffixes[s]) == 0)
            for (size_t i = 0; i < count; i++)
                if (strlen (families[i].name) == length - cut
                &&  strncmp (families[i].name, name, length - cut) == 0
                &&  (strcmp (families[i].kind, "histogram") == 0
                     || strcmp (families[i].kind, "summary") == 0))
                    return &families[i];
    }
    return NULL;
}

//  A histogram's rules, over its samples in doc.
static int
s_histogram_ok (const prom_doc_t *doc, const s_family_t *family, char *why, size_t size)
{
    char bucket[160], sum[160], count[160];
    snprintf (bucket, sizeof bucket, "%s_bucket", family->name);
    snprintf (sum, sizeof sum, "%s_sum", family->name);
    snprintf (count, sizeof count, "%s_count", family->name);
    double last_le = -INFINITY, last_count = 0, inf = NAN;
    size_t buckets = 0;
    for (size_t i = 0; i < doc->count; i++) {
        const prom_sample_t *sample = &doc->samples[i];
        if (strcmp (sample->name, bucket) != 0)
            continue;
        char le[64];
        double bound = 0;
        if (!s_labels_ok (sample->labels, le, sizeof le) || !le[0] || !s_value (le, &bound))
            return s_fail (why, size, 0, "%s: a bucket without a good le", family->name);
        if (bound <= last_le)
            return s_fail (why, size, 0, "%s: le %s is not above the one before",
                           family->name, le);
        if (sample->value < last_count)
            return s_fail (why, size, 0, "%s: bucket le=%s counts less than the one before",
                           family->name, le);
        last_le = bound;
        last_count = sample->value;
        if (isinf (bound))
            inf = sample->value;
        buckets++;
    }
    if (buckets == 0 || isnan (inf))
        return s_fail (why, size, 0, "%s: no +Inf bucket", family->name);
    double total = prom_value (doc, count, "");
    if (isnan (total) || isnan (prom_value (doc, sum, "")))
        return s_fail (why, size, 0, "%s: no _sum or _count", family->name);
    if (total != inf)
        return s_fail (why, size, 0, "%s: _count %g is not the +Inf bucket's %g", family->name,
                       total, inf);
    return 0;
}

int
prom_parse (const char *text, prom_doc_t *doc, char *why, size_t size)
{
    memset (doc, 0, sizeof *doc);
    size_t length = strlen (text);
    if (length == 0 || text[length - 1] != '\n')
        return s_fail (why, size, 0, "the file does not end with a newline");
    s_family_t families[256];
    size_t family_count = 0;
    s_family_t *current = NULL;
    unsigned number = 0;
    int result = -1;
    char *copy = strdup (text);
    char *save = NULL;
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        number++;
        if (line[0] == '#') {
            char word[16] = "", name[128] = "", rest[128] = "";
            int got = sscanf (line, "# %15s %127s %127s", word, name, rest);
            bool help = strcmp (word, "HELP") == 0, type = strcmp (word, "TYPE") == 0;
            if (!help && !type)
                continue;       //  any other comment
            if (got < 2 || !s_name_ok (name, true)) {
                s_fail (why, size, number, "a %s line without a good name", word);
                goto cleanup;
            }
            if (!type)
                continue;
            const char *kinds[] = { "counter", "gauge", "histogram", "summary", "untyped" };
            bool known = false;
            for (size_t k = 0; k < 5; k++)
                known = known || strcmp (rest, kinds[k]) == 0;
            if (got < 3 || !known) {
                s_fail (why, size, number, "%s: unknown type '%s'", name, rest);
                goto cleanup;
            }
            for (size_t i = 0; i < family_count; i++)
                if (strcmp (families[i].name, name) == 0) {
                    s_fail (why, size, number, "%s: TYPE given twice", name);
                    goto cleanup;
                }
            if (family_count == 256) {
                s_fail (why, size, number, "too many families for this checker");
                goto cleanup;
            }
            s_family_t *family = &families[family_count++];
            memset (family, 0, sizeof *family);
            snprintf (family->name, sizeof family->name, "%s", name);
            snprintf (family->kind, sizeof family->kind, "%s", rest);
            if (strcmp (rest, "counter") == 0 && (strlen (name) < 6
                || strcmp (name + strlen (name) - 6, "_total") != 0)) {
                s_fail (why, size, number, "%s: a counter's name should end in _total", name);
                goto cleanup;
            }
            continue;
        }
        //  A sample: name, optional {labels}, a space, the value.
        prom_sample_t sample = { .value = 0 };
        size_t n = 0;
        const char *c = line;
        while (*c && *c != '{' && *c != ' ' && n < sizeof sample.name - 1)
            sample.name[n++] = *c++;
        if (*c == '{') {
            const char *close = strchr (c, '}');
            if (!close || (size_t) (close - c - 1) >= sizeof sample.labels) {
                s_fail (why, size, number, "labels not closed");
                goto cleanup;
            }
            memcpy (sample.labels, c + 1, (size_t) (close - c - 1));
            c = close + 1;
            char le[64];
            if (!s_labels_ok (sample.labels, le, sizeof le)) {
                s_fail (why, size, number, "bad labels {%s}", sample.labels);
                goto cleanup;
            }
        }
        if (*c != ' ' || !s_name_ok (sample.name, true)) {
            s_fail (why, size, number, "not a sample: '%.60s'", line);
            goto cleanup;
        }
        char value[64] = "";
        if (sscanf (c, " %63s", value) != 1 || !s_value (value, &sample.value)) {
            s_fail (why, size, number, "%s: bad value '%s'", sample.name, value);
            goto cleanup;
        }
        s_family_t *family = s_family_of (families, family_count, sample.name);
        if (!family) {
            s_fail (why, size, number, "%s: no TYPE before it", sample.name);
            goto cleanup;
        }
        if (family->closed) {
            s_fail (why, size, number, "%s: its family's samples are not together", sample.name);
            goto cleanup;
        }
        if (current && current != family)
            current->closed = true;
        current = family;
        family->sampled = true;
        if (strcmp (family->kind, "counter") == 0 && !(sample.value >= 0)) {
            s_fail (why, size, number, "%s: a counter below 0", sample.name);
            goto cleanup;
        }
        doc->samples = realloc (doc->samples, (doc->count + 1) * sizeof (prom_sample_t));
        doc->samples[doc->count++] = sample;
    }
    for (size_t i = 0; i < family_count; i++)
        if (strcmp (families[i].kind, "histogram") == 0
        &&  s_histogram_ok (doc, &families[i], why, size) != 0)
            goto cleanup;
    result = 0;
cleanup:
    free (copy);
    if (result != 0)
        prom_free (doc);
    return result;
}

void
prom_free (prom_doc_t *doc)
{
    free (doc->samples);
    doc->samples = NULL;
    doc->count = 0;
}

double
prom_value (const prom_doc_t *doc, const char *name, const char *labels)
{
    for (size_t i = 0; i < doc->count; i++)
        if (strcmp (doc->samples[i].name, name) == 0 && strcmp (doc->samples[i].labels, labels) == 0)
            return doc->samples[i].value;
    return NAN;
}
