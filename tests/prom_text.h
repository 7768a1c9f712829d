/*  prom_text.h: a small checker of Prometheus's text exposition format
    (version 0.0.4), for the tests of satcheld's metrics file: it parses a
    whole file and refuses what node_exporter's textfile collector would,
    and what the format's rules and conventions forbid:
      - a line is "# HELP name text", "# TYPE name kind", another comment,
        or a sample "name{label="value",...} value";
      - names and label names are [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' in
        label names); values parse as floats (or +Inf, -Inf, NaN);
      - a family's TYPE comes once, before its samples, and its samples
        are together; the file ends with a newline;
      - a counter's name ends in _total and its values are not negative;
      - a histogram has _bucket samples with increasing le, cumulative
        counts that never go down, a +Inf bucket equal to _count, and a
        _sum.                                                            */
#ifndef SATCHEL_PROM_TEXT_H
#define SATCHEL_PROM_TEXT_H

#include <stddef.h>

typedef struct {
    char name[128];              //  the sample's name (with _bucket, _sum, ...)
    char labels[512];            //  its labels as written inside {}, "" if none
    double value;                //  its value
} prom_sample_t;

typedef struct {
    prom_sample_t *samples;      //  every sample, in file order (owned)
    size_t count;                //  how many
} prom_doc_t;

//  Parse text. Returns 0, or -1 with why ("line N: ...").
int prom_parse (const char *text, prom_doc_t *doc, char *why, size_t size);

void prom_free (prom_doc_t *doc);

//  The value of the sample name{labels} (labels as written, "" for none),
//  or NaN if the document has no such sample.
double prom_value (const prom_doc_t *doc, const char *name, const char *labels);

#endif
