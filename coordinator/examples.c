/*  examples.c: see examples.h.                                            */
#include "examples.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
examples_slow_files (const double *predicted, size_t count, uint32_t nodes, double slow_ms,
                     uint32_t *out)
{
    if (nodes <= 1)
        return 0;
    double total = 0;
    for (size_t i = 0; i < count; i++)
        total += predicted[i];
    double share = EXAMPLES_SLOW_SHARE * total / (double) nodes;
    size_t slow = 0;
    for (size_t i = 0; i < count; i++)
        if (predicted[i] > share || (slow_ms > 0 && predicted[i] > slow_ms))
            out[slow++] = (uint32_t) i;
    return slow;
}

//  A name and the file it is an example of (NULL: a file), for sorting.
typedef struct {
    char *name;                  //  (owned)
    char *parent;                //  (owned) or NULL
} s_unit_t;

static int
s_compare_unit (const void *a, const void *b)
{
    return strcmp (((const s_unit_t *) a)->name, ((const s_unit_t *) b)->name);
}

int
examples_merge (const proto_msg_t *join, char ***names, char ***parents, size_t *count,
                char *why, size_t why_size)
{
    uint8_t *split = util_calloc (join->unit_count, 1);
    for (size_t e = 0; e < join->example_count; e++)
        split[join->example_file[e]] = 1;
    size_t total = join->example_count;
    for (size_t i = 0; i < join->unit_count; i++)
        total += !split[i];
    s_unit_t *units = util_calloc (total ? total : 1, sizeof (s_unit_t));
    size_t k = 0;
    for (size_t i = 0; i < join->unit_count; i++)
        if (!split[i])
            units[k++] = (s_unit_t) { util_strdup (join->units[i]), NULL };
    for (size_t e = 0; e < join->example_count; e++)
        units[k++] = (s_unit_t) {
            util_strdup (join->examples[e]), util_strdup (join->units[join->example_file[e]])
        };
    qsort (units, total, sizeof (s_unit_t), s_compare_unit);
    int rc = 0;
    for (size_t i = 1; i < total && rc == 0; i++)
        if (strcmp (units[i - 1].name, units[i].name) == 0) {
            snprintf (why, why_size, "example %.200s is listed twice, or is also a test file",
                      units[i].name);
            rc = -1;
        }
    *names = util_calloc (total ? total : 1, sizeof (char *));
    *parents = util_calloc (total ? total : 1, sizeof (char *));
    for (size_t i = 0; i < total; i++) {
        (*names)[i] = units[i].name;
        (*parents)[i] = units[i].parent;
    }
    *count = total;
    free (units);
    free (split);
    if (rc != 0) {
        examples_list_free (*names, *parents, *count);
        *names = *parents = NULL;
        *count = 0;
    }
    return rc;
}

void
examples_list_free (char **names, char **parents, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (names)
            free (names[i]);
        if (parents)
            free (parents[i]);
    }
    free (names);
    free (parents);
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Order example indices by file, then index, so each file's are a run.
static int
s_compare_parent (const void *a, const void *b, void *context)
{
    char *const *parents = context;
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    int order = strcmp (parents[x], parents[y]);
    return order ? order : (x > y) - (x < y);
}

void
examples_estimate (char *const *names, char *const *parents, double *predicted, size_t count,
                   examples_file_ms_fn *file_ms, void *arg)
{
    (void) names;
    size_t examples = 0;
    uint32_t *order = util_malloc ((count ? count : 1) * sizeof (uint32_t));
    for (size_t i = 0; i < count; i++)
        if (parents[i])
            order[examples++] = (uint32_t) i;
    qsort_r (order, examples, sizeof (uint32_t), s_compare_parent, (void *) parents);
    double *known = util_malloc ((examples ? examples : 1) * sizeof (double));
    for (size_t start = 0; start < examples; ) {
        size_t end = start;
        size_t have = 0, unseen = 0;
        for (; end < examples && strcmp (parents[order[end]], parents[order[start]]) == 0; end++) {
            double ms = predicted[order[end]];
            if (ms >= 0)
                known[have++] = ms;
            else
                unseen++;
        }
        double fill = -1;
        if (unseen > 0 && have > 0) {
            qsort (known, have, sizeof (double), s_compare_double);
            fill = have % 2 ? known[have / 2] : (known[have / 2 - 1] + known[have / 2]) / 2;
        }
        else if (unseen > 0) {
            //  None of the file's examples has history: they share the file's.
            double file = file_ms (parents[order[start]], arg);
            if (file >= 0)
                fill = file / (double) unseen;
        }
        if (fill >= 0)
            for (size_t k = start; k < end; k++)
                if (!(predicted[order[k]] >= 0))
                    predicted[order[k]] = fill < 1 ? 1 : fill;
        start = end;
    }
    free (known);
    free (order);
}
