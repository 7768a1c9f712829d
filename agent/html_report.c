/*  html_report.c: see html_report.h.                                     */
#include "html_report.h"

#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

//  The timeline's geometry, in SVG units.
#define S_WIDTH 960
#define S_LABEL 70            //  room for "node 12" on the left
#define S_LANE 26             //  one node's lane
#define S_BAR 18              //  a batch's bar within it
#define S_TOP 28              //  room for the lines' labels
#define S_AXIS 30             //  room for the time axis below

//  Text as HTML: the five characters that mean something escaped.
static void
s_html (FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
            case '&': fputs ("&amp;", out); break;
            case '<': fputs ("&lt;", out); break;
            case '>': fputs ("&gt;", out); break;
            case '"': fputs ("&quot;", out); break;
            case '\'': fputs ("&#39;", out); break;
            default: fputc (*c, out);
        }
    }
}

static void
s_seconds (FILE *out, double ms)
{
    if (ms >= 60000)
        fprintf (out, "%.0f min %.0f s", floor (ms / 60000), fmod (ms / 1000, 60));
    else
        fprintf (out, "%.2f s", ms / 1000);
}

static const char s_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;"
    "max-width:1000px;color:#1d2330;padding:0 16px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}"
    ".sub{color:#5b6476;margin:0 0 16px}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px}"
    ".card{border:1px solid #d8dde6;border-radius:6px;padding:8px 12px;min-width:110px}"
    ".card b{display:block;font-size:18px}.card span{color:#5b6476;font-size:12px}"
    ".passed{color:#1e7d3a}.failed,.stopped{color:#b3261e}.flaky{color:#9a6700}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:4px 8px;"
    "border-bottom:1px solid #e6e9ef}th{color:#5b6476;font-weight:600}"
    "td.name,th.name{text-align:left;font-family:ui-monospace,monospace;word-break:break-all}"
    "tr.bottleneck td{background:#fff4e5}"
    "svg{width:100%;height:auto;border:1px solid #e6e9ef;border-radius:6px}"
    "svg text{font:11px system-ui,sans-serif;fill:#5b6476}"
    ".lane{fill:#f3f4f7}.batch{stroke:#fff;stroke-width:1}"
    ".b0{fill:#3b7dd8}.b1{fill:#8a5cd6}.b2{fill:#d68a1c}.b3{fill:#2e9b8f}"
    ".bad{fill:#d6453b}.gone{fill:#b8bec9}.run{fill:#9cc2f0}"
    ".bound{stroke:#1e7d3a;stroke-width:1.5;stroke-dasharray:5 4}"
    ".span{stroke:#1d2330;stroke-width:1.5}.tick{stroke:#d8dde6}"
    ".legend span{display:inline-block;margin-right:14px;font-size:12px;color:#5b6476}"
    ".legend i{display:inline-block;width:12px;height:12px;border-radius:2px;"
    "margin-right:5px;vertical-align:-1px}"
    "footer{margin-top:32px;color:#8a92a3;font-size:12px}";

//  A tick step for an axis of span ms: 1, 2 or 5 times a power of ten,
//  about eight ticks.
static double
s_step (double span)
{
    double raw = span / 8, power = pow (10, floor (log10 (raw > 0 ? raw : 1)));
    double step = power;
    if (raw > step * 5)
        step *= 10;
    else if (raw > step * 2)
        step *= 5;
    else if (raw > step)
        step *= 2;
    return step;
}

//  The timeline: a lane per node, a bar per batch.
static void
s_timeline (FILE *out, const json_t *build, const json_t *batches)
{
    double nodes = json_get_number (build, "nodes");
    double makespan = json_get_number (build, "makespan_ms");
    double bound = json_get_number (build, "lower_bound_ms");
    //  The span drawn: what happened, the bound included.
    double span = makespan > bound ? makespan : bound;
    for (size_t i = 0; i < json_count (batches); i++) {
        const json_t *b = json_at (batches, i);
        double end = 0;
        if (json_number (json_get (b, "end_ms"), &end) == 0 && end > span)
            span = end;
        if (json_get_number (b, "start_ms") > span)
            span = json_get_number (b, "start_ms");
    }
    if (span <= 0)
        span = 1;
    double plot = S_WIDTH - S_LABEL - 10;
    double height = S_TOP + nodes * S_LANE + S_AXIS;
    fprintf (out, "<svg viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"timeline\">\n",
             S_WIDTH, height);
    for (int n = 0; n < (int) nodes; n++) {
        double y = S_TOP + n * S_LANE;
        fprintf (out, "<text x=\"4\" y=\"%.1f\">node %d</text>"
                 "<rect class=\"lane\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"/>\n",
                 y + S_LANE / 2.0 + 4, n, S_LABEL, y + (S_LANE - S_BAR) / 2.0, plot, S_BAR);
    }
    double step = s_step (span);
    for (double t = 0; t <= span + 1e-9; t += step) {
        double x = S_LABEL + t / span * plot;
        fprintf (out, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                 "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g s</text>\n", x, S_TOP,
                 x, height - S_AXIS + 4, x, height - 10, t / 1000);
    }
    for (size_t i = 0; i < json_count (batches); i++) {
        const json_t *b = json_at (batches, i);
        double start = json_get_number (b, "start_ms"), end = 0;
        bool running = json_number (json_get (b, "end_ms"), &end) != 0;
        if (running)
            end = span;
        int state = (int) json_get_number (b, "state"), kind = (int) json_get_number (b, "kind");
        double exit_code = 0;
        bool failed = json_number (json_get (b, "exit"), &exit_code) == 0 && exit_code != 0;
        //  Handed back, expired or superseded: its units went elsewhere.
        bool gone = state == 2 || state == 3 || state == 5;
        const char *class = running ? "run" : gone ? "gone" : failed ? "bad" : NULL;
        double x = S_LABEL + start / span * plot;
        double width = (end - start) / span * plot;
        if (width < 1.5)
            width = 1.5;
        double y = S_TOP + json_get_number (b, "node") * S_LANE + (S_LANE - S_BAR) / 2.0;
        char look[16];
        if (class)
            snprintf (look, sizeof look, "%s", class);
        else
            snprintf (look, sizeof look, "b%d", kind >= 0 && kind <= 3 ? kind : 0);
        fprintf (out, "<rect class=\"batch %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                 "height=\"%d\" rx=\"2\"><title>node %.0f, batch %.0f: %.0f units, ",
                 look, x, y, width, S_BAR, json_get_number (b, "node"), json_get_number (b, "seq"),
                 json_get_number (b, "units"));
        s_seconds (out, json_get_number (b, "wall_ms"));
        fprintf (out, "%s</title></rect>\n", running ? ", still running" : gone
                 ? ", its units went to other nodes" : failed ? ", failed" : "");
    }
    double x_bound = S_LABEL + bound / span * plot;
    double x_span = S_LABEL + makespan / span * plot;
    //  Both labels left of their lines, on two rows, so that neither runs
    //  off the right edge nor over the other.
    fprintf (out, "<line class=\"bound\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
             "<text x=\"%.1f\" y=\"11\" text-anchor=\"end\">lower bound</text>\n",
             x_bound, S_TOP - 14, x_bound, height - S_AXIS + 4, x_bound - 3);
    fprintf (out, "<line class=\"span\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
             "<text x=\"%.1f\" y=\"23\" text-anchor=\"end\">makespan</text>\n</svg>\n",
             x_span, S_TOP - 2, x_span, height - S_AXIS + 4, x_span - 3);
    fputs ("<p class=\"legend\"><span><i class=\"b0\" style=\"background:#3b7dd8\"></i>"
           "batch from the queue</span><span><i style=\"background:#8a5cd6\"></i>replayed"
           "</span><span><i style=\"background:#d68a1c\"></i>run again after a failure</span>"
           "<span><i style=\"background:#2e9b8f\"></i>regular-mode list</span>"
           "<span><i style=\"background:#d6453b\"></i>failed</span><span><i style=\""
           "background:#b8bec9\"></i>handed back or expired</span><span><i style=\""
           "background:#f3f4f7;border:1px solid #d8dde6\"></i>idle</span></p>\n", out);
}

int
html_report_write (FILE *out, const json_t *doc)
{
    const json_t *build = json_get (doc, "build");
    const json_t *nodes = json_get (doc, "nodes");
    const json_t *batches = json_get (doc, "batches");
    if (!build || !nodes || !batches)
        return -1;
    const char *result = json_get_text (build, "result");
    if (!*result)
        result = "running";
    fputs ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>satchel: build ", out);
    s_html (out, json_get_text (build, "build"));
    fprintf (out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Build ", s_style);
    s_html (out, json_get_text (build, "build"));
    fputs (" of ", out);
    s_html (out, json_get_text (build, "suite"));
    fprintf (out, "</h1>\n<p class=\"sub\">build %.0f, %s mode, %.0f nodes, %.0f units",
             json_get_number (build, "id"), json_get_text (build, "mode"),
             json_get_number (build, "nodes"), json_get_number (build, "units"));
    double created = json_get_number (build, "created_ms");
    if (created > 0) {
        time_t seconds = (time_t) (created / 1000);
        struct tm tm;
        char when[32];
        gmtime_r (&seconds, &tm);
        strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
        fprintf (out, ", started %s", when);
    }
    fputs ("</p>\n<div class=\"cards\">\n", out);
    fprintf (out, "<div class=\"card\"><b class=\"%s\">%s</b><span>result</span></div>\n",
             result, result);
    fputs ("<div class=\"card\"><b>", out);
    s_seconds (out, json_get_number (build, "makespan_ms"));
    fputs ("</b><span>makespan</span></div>\n<div class=\"card\"><b>", out);
    s_seconds (out, json_get_number (build, "lower_bound_ms"));
    fputs ("</b><span>lower bound</span></div>\n", out);
    double ratio = 0;
    if (json_number (json_get (build, "ratio"), &ratio) == 0)
        fprintf (out, "<div class=\"card\"><b>%.2f</b><span>makespan / bound</span></div>\n",
                 ratio);
    fprintf (out, "<div class=\"card\"><b>%.0f</b><span>failed units</span></div>\n</div>\n",
             json_get_number (doc, "failed_count"));

    fputs ("<h2>Timeline</h2>\n", out);
    s_timeline (out, build, batches);

    fputs ("<h2>Nodes</h2>\n<table>\n<tr><th>node</th><th>units</th><th>busy</th>"
           "<th>idle</th><th>finished</th><th>batches</th><th>replayed</th><th>retried</th>"
           "<th>expired</th></tr>\n", out);
    for (size_t i = 0; i < json_count (nodes); i++) {
        const json_t *n = json_at (nodes, i);
        bool bottleneck = false;
        json_bool (json_get (n, "bottleneck"), &bottleneck);
        fprintf (out, "<tr%s><td>%.0f%s</td><td>%.0f</td><td>", bottleneck
                 ? " class=\"bottleneck\"" : "", json_get_number (n, "node"), bottleneck
                 ? " (bottleneck)" : "", json_get_number (n, "units"));
        s_seconds (out, json_get_number (n, "busy_ms"));
        fputs ("</td><td>", out);
        s_seconds (out, json_get_number (n, "idle_ms"));
        fputs ("</td><td>", out);
        s_seconds (out, json_get_number (n, "finish_ms"));
        fprintf (out, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td></tr>\n",
                 json_get_number (n, "batches"), json_get_number (n, "replayed"),
                 json_get_number (n, "retried"), json_get_number (n, "expired"));
    }
    fputs ("</table>\n", out);
    const json_t *fallbacks = json_get (doc, "fallbacks");
    for (size_t i = 0; i < json_count (fallbacks); i++) {
        const json_t *f = json_at (fallbacks, i);
        fprintf (out, "<p class=\"failed\">Node %.0f fell back: it ran %.0f units split by "
                 "name, outside the queue.</p>\n", json_get_number (f, "node"),
                 json_get_number (f, "units"));
    }

    const json_t *slowest = json_get (doc, "slowest");
    fputs ("<h2>Slowest units</h2>\n", out);
    if (json_count (slowest) == 0)
        fputs ("<p>No unit of this build was measured (no JUnit report).</p>\n", out);
    else {
        fputs ("<table>\n<tr><th class=\"name\">unit</th><th>time</th><th>result</th></tr>\n",
               out);
        for (size_t i = 0; i < json_count (slowest); i++) {
            const json_t *u = json_at (slowest, i);
            bool ok = false;
            json_bool (json_get (u, "ok"), &ok);
            fputs ("<tr><td class=\"name\">", out);
            s_html (out, json_get_text (u, "unit"));
            fputs ("</td><td>", out);
            s_seconds (out, json_get_number (u, "duration_ms"));
            fprintf (out, "</td><td class=\"%s\">%s</td></tr>\n", ok ? "passed" : "failed",
                     ok ? "passed" : "failed");
        }
        fputs ("</table>\n", out);
    }

    const json_t *failed = json_get (doc, "failed");
    fprintf (out, "<h2>Failures (%.0f)</h2>\n", json_get_number (doc, "failed_count"));
    if (json_count (failed) == 0)
        fputs ("<p>No unit failed.</p>\n", out);
    else {
        fputs ("<ul>\n", out);
        for (size_t i = 0; i < json_count (failed); i++) {
            fputs ("<li class=\"name\"><code>", out);
            s_html (out, json_string (json_at (failed, i)));
            fputs ("</code></li>\n", out);
        }
        fputs ("</ul>\n", out);
    }
    fprintf (out, "<footer>Made by satchel %s from satcheld's history. The lower bound is "
             "max(the nodes' busy time / nodes, the longest unit): what no split of these "
             "runs could beat.</footer>\n</body>\n</html>\n", SATCHEL_VERSION);
    return ferror (out) ? -1 : 0;
}
