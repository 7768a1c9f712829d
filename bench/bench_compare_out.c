/*  bench_compare_out.c: bench_compare's outputs. The table as Markdown
    (also on stdout) and JSON, a chart of it and a timeline of one build
    per strategy as SVG, drawn here (no plotting tool), and the result
    lines bench/run collects for its summary.                              */
#include "bench_compare.h"
#include "bench_util.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

//  The target for queue mode at N = 8.
#define TARGET_RATIO 1.05

static const char *const s_colors[CMP_STRATEGIES] = { "#1b7837", "#2166ac", "#b2182b",
                                                      "#8c6bb1" };

//  Whether the suite's longest unit lets any split reach total / N.
static bool
s_longest_allows (const cmp_suite_t *suite, unsigned nodes)
{
    return suite->longest_s * nodes <= suite->seconds;
}

//  The index in table->ns of N = 8, else of the largest N below it, else 0.
static unsigned
s_n8_index (const cmp_table_t *table)
{
    unsigned best = 0;
    for (unsigned k = 0; k < table->n_count; k++)
        if (table->ns[k] <= 8)
            best = k;
    return best;
}

//  Whether queue's median is below every other strategy run in the cell.
static bool
s_queue_best (const cmp_table_t *table, size_t suite, unsigned k)
{
    cmp_cell_t queue, other;
    cmp_cell_summary (table, suite, CMP_QUEUE, k, &queue);
    if (queue.ok == 0)
        return false;
    for (int s = CMP_QUEUE + 1; s < CMP_STRATEGIES; s++) {
        if (!table->strategies[s])
            continue;
        cmp_cell_summary (table, suite, (cmp_strategy_t) s, k, &other);
        if (other.ok && other.ratio_median <= queue.ratio_median)
            return false;
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Markdown

static void
s_markdown (FILE *out, const cmp_table_t *table)
{
    fprintf (out, "Makespan / lower bound, median of %u build%s [min-max]; `st` = runner "
                  "start-ups (all nodes), `idle` = idle time per node as a share of the "
                  "makespan (medians). Best of the row in bold.\n\n",
             table->repeats, table->repeats == 1 ? "" : "s");
    fprintf (out, "| suite | N |");
    for (int s = 0; s < CMP_STRATEGIES; s++)
        if (table->strategies[s])
            fprintf (out, " %s |", cmp_strategy_names[s]);
    fprintf (out, "\n|---|---:|");
    for (int s = 0; s < CMP_STRATEGIES; s++)
        if (table->strategies[s])
            fprintf (out, "---|");
    fputc ('\n', out);
    for (size_t i = 0; i < table->suite_count; i++) {
        for (unsigned k = 0; k < table->n_count; k++) {
            cmp_cell_t cells[CMP_STRATEGIES];
            int best = -1;
            for (int s = 0; s < CMP_STRATEGIES; s++) {
                cmp_cell_summary (table, i, (cmp_strategy_t) s, k, &cells[s]);
                if (table->strategies[s] && cells[s].ok
                &&  (best < 0 || cells[s].ratio_median < cells[best].ratio_median))
                    best = s;
            }
            fprintf (out, "| %s | %u |", table->suites[i].label, table->ns[k]);
            for (int s = 0; s < CMP_STRATEGIES; s++) {
                if (!table->strategies[s])
                    continue;
                const cmp_cell_t *cell = &cells[s];
                if (cell->ok == 0) {
                    fprintf (out, " failed |");
                    continue;
                }
                const char *bold = s == best ? "**" : "";
                fprintf (out, " %s%.2f%s [%.2f-%.2f] st %.0f idle %.0f%% |", bold,
                         cell->ratio_median, bold, cell->ratio_min, cell->ratio_max,
                         cell->startups_median, cell->idle_median * 100);
            }
            fputc ('\n', out);
        }
    }
    fprintf (out, "\nSuites (each scaled so its work takes the same bench time; `start-up` is "
                  "the runner start-up per batch on that scale):\n\n");
    for (size_t i = 0; i < table->suite_count; i++) {
        const cmp_suite_t *suite = &table->suites[i];
        fprintf (out, "- %s: %s; %.0f s, longest unit %.1f s (%.1f%%); scaled to %.2f s, "
                      "start-up %u ms\n", suite->label, suite->source, suite->seconds,
                 suite->longest_s, 100 * suite->longest_s / suite->seconds,
                 suite->total_ms / 1000.0, suite->startup_ms);
    }
}

//  ---------------------------------------------------------------------
//  JSON

static void
s_json (FILE *out, const cmp_table_t *table)
{
    fprintf (out, "{\n  \"command\": ");
    json_print_string (out, table->command);
    fprintf (out, ",\n  \"machine\": ");
    json_print_string (out, table->machine);
    fprintf (out, ",\n  \"repeats\": %u,\n  \"suites\": [", table->repeats);
    for (size_t i = 0; i < table->suite_count; i++) {
        const cmp_suite_t *suite = &table->suites[i];
        fprintf (out, "%s\n    {\"label\": ", i ? "," : "");
        json_print_string (out, suite->label);
        fprintf (out, ", \"source\": ");
        json_print_string (out, suite->source);
        fprintf (out, ", \"units\": %zu, \"seconds\": %.3f, \"longest_s\": %.3f, "
                      "\"scaled_ms\": %llu, \"startup_ms\": %u,\n     \"cells\": [",
                 suite->count, suite->seconds, suite->longest_s,
                 (unsigned long long) suite->total_ms, suite->startup_ms);
        bool first = true;
        for (int s = 0; s < CMP_STRATEGIES; s++) {
            if (!table->strategies[s])
                continue;
            for (unsigned k = 0; k < table->n_count; k++) {
                cmp_cell_t cell;
                cmp_cell_summary (table, i, (cmp_strategy_t) s, k, &cell);
                fprintf (out, "%s\n      {\"strategy\": \"%s\", \"n\": %u, \"ok\": %u, "
                              "\"ratio_median\": %.4f, \"ratio_min\": %.4f, \"ratio_max\": %.4f, "
                              "\"startups_median\": %.1f, \"idle_share_median\": %.4f, "
                              "\"builds\": [", first ? "" : ",", cmp_strategy_names[s],
                         table->ns[k], cell.ok, cell.ratio_median, cell.ratio_min,
                         cell.ratio_max, cell.startups_median, cell.idle_median);
                first = false;
                for (unsigned r = 0; r < table->repeats; r++) {
                    const cmp_build_t *build = &table->cells[i][s][k][r];
                    fprintf (out, "%s{\"ok\": %s, \"makespan_s\": %.4f, \"lb_s\": %.4f, "
                                  "\"ratio\": %.4f, \"startups\": %u, \"idle_s\": %.4f}",
                             r ? ", " : "", build->ok ? "true" : "false", build->makespan_s,
                             build->lb_s, build->ratio, build->startups, build->idle_s);
                }
                fprintf (out, "]}");
            }
        }
        fprintf (out, "]}");
    }
    fprintf (out, "\n  ]\n}\n");
}

//  ---------------------------------------------------------------------
//  The chart: one panel per suite, makespan / LB against N, one line per
//  strategy (the medians) with the spread as a bar.

#define PANEL_W 300
#define PANEL_H 220
#define MARGIN 46

static void
s_chart (FILE *out, const cmp_table_t *table)
{
    //  The y axis: 1 to the largest median, at most 3 (higher is clipped
    //  and marked).
    double top = 1.2;
    for (size_t i = 0; i < table->suite_count; i++)
        for (int s = 0; s < CMP_STRATEGIES; s++)
            for (unsigned k = 0; k < table->n_count; k++) {
                cmp_cell_t cell;
                cmp_cell_summary (table, i, (cmp_strategy_t) s, k, &cell);
                if (table->strategies[s] && cell.ok && cell.ratio_max > top)
                    top = cell.ratio_max;
            }
    if (top > 3)
        top = 3;
    top = (double) ((int) (top * 5) + 1) / 5;     //  a round 0.2 above
    int width = (int) table->suite_count * (PANEL_W + MARGIN) + MARGIN;
    int height = PANEL_H + 2 * MARGIN + 46;
    fprintf (out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "font-family=\"sans-serif\" font-size=\"11\">\n", width, height);
    fprintf (out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf (out, "<text x=\"%d\" y=\"16\" font-size=\"13\">makespan / lower bound "
                  "(median, bar = min-max of %u builds; lower is better)</text>\n", MARGIN,
             table->repeats);
    for (size_t i = 0; i < table->suite_count; i++) {
        int x0 = MARGIN + (int) i * (PANEL_W + MARGIN), y0 = MARGIN;
        fprintf (out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"bold\">%s</text>\n",
                 x0, y0 - 8, table->suites[i].label);
        fprintf (out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                      "stroke=\"#888\"/>\n", x0, y0, PANEL_W, PANEL_H);
        for (double tick = 1; tick <= top + 1e-9; tick += 0.2) {
            double y = y0 + PANEL_H - (tick - 1) / (top - 1) * PANEL_H;
            fprintf (out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                     x0, x0 + PANEL_W, y, y, x0 - 4, y + 4, tick);
        }
        double target_y = y0 + PANEL_H - (TARGET_RATIO - 1) / (top - 1) * PANEL_H;
        fprintf (out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                      "stroke-dasharray=\"3,3\"/>\n", x0, x0 + PANEL_W, target_y, target_y);
        for (unsigned k = 0; k < table->n_count; k++) {
            double x = x0 + (k + 0.5) * PANEL_W / table->n_count;
            fprintf (out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">N=%u</text>\n", x,
                     y0 + PANEL_H + 14, table->ns[k]);
        }
        for (int s = 0; s < CMP_STRATEGIES; s++) {
            if (!table->strategies[s])
                continue;
            fprintf (out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                     s_colors[s]);
            for (unsigned k = 0; k < table->n_count; k++) {
                cmp_cell_t cell;
                cmp_cell_summary (table, i, (cmp_strategy_t) s, k, &cell);
                if (!cell.ok)
                    continue;
                double value = cell.ratio_median < top ? cell.ratio_median : top;
                fprintf (out, "%.1f,%.1f ", x0 + (k + 0.5) * PANEL_W / table->n_count,
                         y0 + PANEL_H - (value - 1) / (top - 1) * PANEL_H);
            }
            fprintf (out, "\"/>\n");
            for (unsigned k = 0; k < table->n_count; k++) {
                cmp_cell_t cell;
                cmp_cell_summary (table, i, (cmp_strategy_t) s, k, &cell);
                if (!cell.ok)
                    continue;
                double x = x0 + (k + 0.5) * PANEL_W / table->n_count + (s - 1.5) * 4;
                double low = cell.ratio_min < top ? cell.ratio_min : top;
                double high = cell.ratio_max < top ? cell.ratio_max : top;
                double median = cell.ratio_median < top ? cell.ratio_median : top;
                fprintf (out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"%s\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" "
                              "fill=\"%s\"/>\n", x, x,
                         y0 + PANEL_H - (low - 1) / (top - 1) * PANEL_H,
                         y0 + PANEL_H - (high - 1) / (top - 1) * PANEL_H, s_colors[s], x,
                         y0 + PANEL_H - (median - 1) / (top - 1) * PANEL_H,
                         cell.ratio_median >= top ? "4.5" : "3", s_colors[s]);
            }
        }
    }
    int legend_y = MARGIN + PANEL_H + 36;
    for (int s = 0, x = MARGIN; s < CMP_STRATEGIES; s++) {
        if (!table->strategies[s])
            continue;
        fprintf (out, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                      "<text x=\"%d\" y=\"%d\">%s</text>\n", x, legend_y - 4, s_colors[s], x + 18,
                 legend_y, cmp_strategy_names[s]);
        x += 90;
    }
    fprintf (out, "<text x=\"%d\" y=\"%d\">dashed: %.2f x LB; values above %.1f drawn at "
                  "the top, larger dot</text>\n", MARGIN, legend_y + 18, TARGET_RATIO, top);
    fprintf (out, "</svg>\n");
}

//  ---------------------------------------------------------------------
//  The timeline: one build per strategy, a row per node, each batch a bar
//  (dark: the runner's start-up; light: its units).

#define ROW_H 12
#define TIME_W 760

static void
s_timeline (FILE *out, const cmp_table_t *table)
{
    unsigned k = s_n8_index (table);
    unsigned nodes = table->ns[k];
    double span = 0;
    for (int s = 0; s < CMP_STRATEGIES; s++)
        if (table->strategies[s] && table->cells[0][s][k][0].makespan_s > span)
            span = table->cells[0][s][k][0].makespan_s;
    if (span <= 0)
        span = 1;
    int panel_h = (int) nodes * ROW_H + 34;
    int height = 40 + CMP_STRATEGIES * panel_h + 20;
    int x0 = 96;
    fprintf (out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "font-family=\"sans-serif\" font-size=\"11\">\n", x0 + TIME_W + 20, height);
    fprintf (out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf (out, "<text x=\"%d\" y=\"18\" font-size=\"13\">%s, N=%u, one build per "
                  "strategy: batches (dark = runner start-up), red = lower bound</text>\n", x0,
             table->suites[0].label, nodes);
    int y = 40;
    for (int s = 0; s < CMP_STRATEGIES; s++) {
        if (!table->strategies[s])
            continue;
        const cmp_build_t *build = &table->cells[0][s][k][0];
        fprintf (out, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s: %.2f x LB, %u "
                      "start-ups</text>\n", x0, y + 10, cmp_strategy_names[s], build->ratio,
                 build->startups);
        y += 16;
        for (unsigned n = 0; n < nodes; n++) {
            fprintf (out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">node %u%s</text>\n",
                     x0 - 4, y + n * ROW_H + 9, n, n + 1 == nodes ? " (slow)" : "");
            for (size_t b = 0; b < build->batch_count[n]; b++) {
                const cmp_batch_t *batch = &build->batches[n][b];
                double bx = x0 + (double) batch->start_us / 1e6 / span * TIME_W;
                double bw = (double) (batch->end_us - batch->start_us) / 1e6 / span * TIME_W;
                double sw = (double) batch->startup_us / 1e6 / span * TIME_W;
                fprintf (out, "<rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" height=\"%d\" "
                              "fill=\"%s\" fill-opacity=\"0.45\" stroke=\"white\" "
                              "stroke-width=\"0.5\"/><rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" "
                              "height=\"%d\" fill=\"%s\"/>\n", bx, y + n * ROW_H,
                         bw > 0.5 ? bw : 0.5, ROW_H - 2, s_colors[s], bx, y + n * ROW_H,
                         sw < bw ? sw : bw, ROW_H - 2, s_colors[s]);
            }
        }
        double lb_x = x0 + build->lb_s / span * TIME_W;
        fprintf (out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%u\" stroke=\"red\"/>\n",
                 lb_x, lb_x, y - 2, y + nodes * ROW_H);
        y += (int) nodes * ROW_H + 18;
    }
    fprintf (out, "<text x=\"%d\" y=\"%d\">0 to %.2f s (bench time)</text>\n</svg>\n", x0, y + 4,
             span);
}

//  ---------------------------------------------------------------------
//  Result lines for bench/run: result TAB figure TAB value TAB target TAB verdict.

static void
s_results (FILE *out, const cmp_table_t *table)
{
    unsigned k8 = s_n8_index (table);
    for (size_t i = 0; i < table->suite_count; i++) {
        const cmp_suite_t *suite = &table->suites[i];
        cmp_cell_t cell;
        cmp_cell_summary (table, i, CMP_QUEUE, k8, &cell);
        if (table->strategies[CMP_QUEUE] && table->ns[k8] == 8) {
            bool allows = s_longest_allows (suite, 8);
            fprintf (out, "result\t%s: queue makespan/LB at N=8 (median)\t%.2f\t<= %.2f\t%s\n",
                     suite->label, cell.ratio_median, TARGET_RATIO,
                     cell.ok == 0 ? "FAILED" : !allows ? "n/a"
                     : cell.ratio_median <= TARGET_RATIO ? "met" : "MISSED");
        }
        unsigned others = 0;
        for (int s = CMP_QUEUE + 1; s < CMP_STRATEGIES; s++)
            others += table->strategies[s];
        if (table->strategies[CMP_QUEUE] && others > 0) {
            unsigned best = 0;
            for (unsigned k = 0; k < table->n_count; k++)
                best += s_queue_best (table, i, k);
            fprintf (out, "result\t%s: N where queue beats every other strategy\t%u of %u\t"
                          "all\t%s\n", suite->label, best, table->n_count,
                     best == table->n_count ? "met" : "MISSED");
        }
    }
}

//  ---------------------------------------------------------------------

static int
s_write (const char *dir, const char *name, void (*writer) (FILE *, const cmp_table_t *),
         const cmp_table_t *table)
{
    char *path = bench_path (dir, name);
    FILE *file = fopen (path, "w");
    int rc = -1;
    if (file) {
        writer (file, table);
        rc = fclose (file) == 0 ? 0 : -1;
    }
    if (rc != 0)
        fprintf (stderr, "bench_compare: cannot write %s\n", path);
    free (path);
    return rc;
}

int
cmp_write_outputs (const cmp_table_t *table, const char *out_dir)
{
    if (mkdir (out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf (stderr, "bench_compare: cannot make %s\n", out_dir);
        return -1;
    }
    printf ("== bench_compare: split quality side by side ==\n");
    printf ("command: %s\nmachine: %s\n\n", table->command, table->machine);
    s_markdown (stdout, table);
    putchar ('\n');
    s_results (stdout, table);
    int rc = 0;
    if (s_write (out_dir, "compare.md", s_markdown, table) != 0
    ||  s_write (out_dir, "compare.json", s_json, table) != 0
    ||  s_write (out_dir, "compare.svg", s_chart, table) != 0
    ||  s_write (out_dir, "timeline.svg", s_timeline, table) != 0)
        rc = -1;
    return rc;
}
