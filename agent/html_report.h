/*  html_report.h: one build as a self-contained HTML page (satchel report):
    a summary, a timeline per node drawn in inline SVG (each batch a bar
    from the moment it was handed out to its report, idle time as the lane
    showing through, the lower bound and the makespan as lines), the nodes'
    table, the slowest units and the failures. No scripts, fonts, styles
    or images from elsewhere: it opens from a file:// URL on a laptop with
    no network. Every name from the history is escaped.                  */
#ifndef SATCHEL_HTML_REPORT_H
#define SATCHEL_HTML_REPORT_H

#include "json.h"

#include <stdio.h>

//  Write the page for doc, the JSON of a build report (coordinator/
//  report.h, "build"). Returns 0, or -1 if doc is not such a report.
int html_report_write (FILE *out, const json_t *doc);

#endif
