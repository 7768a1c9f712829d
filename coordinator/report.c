/*  report.c: see report.h.                                               */
#include "report.h"

#include "util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A growing JSON text.
typedef struct {
    char *text;                  //  NUL-terminated (owned)
    size_t length;               //  bytes used
    size_t size;                 //  bytes allocated
} s_buf_t;

static void __attribute__ ((format (printf, 2, 3)))
s_add (s_buf_t *buf, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int need = vsnprintf (NULL, 0, fmt, args);
    va_end (args);
    if (need < 0)
        return;
    if (buf->length + (size_t) need + 1 > buf->size) {
        buf->size = (buf->length + (size_t) need + 1) * 2;
        buf->text = util_realloc (buf->text, buf->size);
    }
    va_start (args, fmt);
    vsnprintf (buf->text + buf->length, buf->size - buf->length, fmt, args);
    va_end (args);
    buf->length += (size_t) need;
}

//  A JSON string: quotes, backslashes and control bytes escaped.
static void
s_string (s_buf_t *buf, const char *text)
{
    s_add (buf, "\"");
    for (const unsigned char *c = (const unsigned char *) (text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            s_add (buf, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            s_add (buf, "\\u%04x", *c);
        else
            s_add (buf, "%c", *c);
    }
    s_add (buf, "\"");
}

//  The columns every build row starts with, in s_build_fields' order.
#define S_BUILD_COLUMNS \
    "b.id, s.name, b.build_key, b.mode, b.node_total, b.unit_count, b.created_ms," \
    " b.finished_ms, b.result," \
    " (SELECT max (finish_ms) FROM build_nodes WHERE build_id = b.id)," \
    " (SELECT max (reported_ms) FROM batches WHERE build_id = b.id)," \
    " (SELECT coalesce (sum (wall_ms), 0) FROM batches WHERE build_id = b.id" \
    "  AND reported_ms IS NOT NULL)," \
    " (SELECT max (duration_ms) FROM samples WHERE build_id = b.id)"

//  One build row's fields, from a statement on S_BUILD_COLUMNS.
static void
s_build_fields (s_buf_t *buf, sqlite3_stmt *stmt)
{
    int64_t created = sqlite3_column_int64 (stmt, 6);
    int64_t finished = sqlite3_column_int64 (stmt, 7);
    uint32_t nodes = (uint32_t) sqlite3_column_int64 (stmt, 4);
    //  The last report: the nodes' summary once finished, else the batches.
    int64_t last = sqlite3_column_type (stmt, 9) != SQLITE_NULL
                 ? sqlite3_column_int64 (stmt, 9)
                 : sqlite3_column_type (stmt, 10) != SQLITE_NULL
                 ? sqlite3_column_int64 (stmt, 10) - created : -1;
    double busy = (double) sqlite3_column_int64 (stmt, 11);
    double longest = sqlite3_column_type (stmt, 12) != SQLITE_NULL
                   ? sqlite3_column_double (stmt, 12) : 0;
    double bound = nodes > 0 ? busy / nodes : 0;
    if (longest > bound)
        bound = longest;
    s_add (buf, "\"id\": %lld, \"suite\": ", (long long) sqlite3_column_int64 (stmt, 0));
    s_string (buf, (const char *) sqlite3_column_text (stmt, 1));
    s_add (buf, ", \"build\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 2));
    s_add (buf, ", \"mode\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 3));
    s_add (buf, ", \"nodes\": %u, \"units\": %lld, \"created_ms\": %lld, \"finished_ms\": ",
           nodes, (long long) sqlite3_column_int64 (stmt, 5), (long long) created);
    if (finished > 0)
        s_add (buf, "%lld", (long long) finished);
    else
        s_add (buf, "null");
    s_add (buf, ", \"result\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 8));
    s_add (buf, ", \"makespan_ms\": ");
    if (last >= 0)
        s_add (buf, "%lld", (long long) last);
    else
        s_add (buf, "null");
    s_add (buf, ", \"lower_bound_ms\": %.0f, \"ratio\": ", bound);
    if (last > 0 && bound > 0)
        s_add (buf, "%.3f", (double) last / bound);
    else
        s_add (buf, "null");
}

static int
s_prepare (store_t *store, const char *sql, sqlite3_stmt **stmt)
{
    if (sqlite3_prepare_v2 (store_handle (store), sql, -1, stmt, NULL) != SQLITE_OK)
        return store_fail (store, "report");
    return 0;
}

int
report_builds (store_t *store, const char *suite, uint32_t limit, char **json)
{
    *json = NULL;
    sqlite3_stmt *stmt = NULL;
    if (s_prepare (store, "SELECT " S_BUILD_COLUMNS " FROM builds b JOIN suites s"
                   " ON s.id = b.suite_id WHERE b.pruned = 0 AND (?1 IS NULL OR s.name = ?1)"
                   " ORDER BY b.id DESC LIMIT ?2", &stmt) != 0)
        return -1;
    if (suite)
        sqlite3_bind_text (stmt, 1, suite, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, limit);
    s_buf_t buf = { NULL, 0, 0 };
    s_add (&buf, "{\"builds\": [");
    int rc;
    size_t rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_add (&buf, "%s{", rows++ ? ", " : "");
        s_build_fields (&buf, stmt);
        s_add (&buf, "}");
    }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE) {
        store_fail (store, "report_builds");
        free (buf.text);
        return -1;
    }
    s_add (&buf, "]}");
    *json = buf.text;
    return 0;
}

int
report_build (store_t *store, int64_t build_id, char **json)
{
    *json = NULL;
    sqlite3_stmt *stmt = NULL;
    if (s_prepare (store, "SELECT " S_BUILD_COLUMNS " FROM builds b JOIN suites s"
                   " ON s.id = b.suite_id WHERE b.id = ?1 AND b.pruned = 0", &stmt) != 0)
        return -1;
    sqlite3_bind_int64 (stmt, 1, build_id);
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize (stmt);
        if (rc != SQLITE_DONE)
            return store_fail (store, "report_build");
        return 1;
    }
    s_buf_t buf = { NULL, 0, 0 };
    s_add (&buf, "{\"build\": {");
    s_build_fields (&buf, stmt);
    int64_t created = sqlite3_column_int64 (stmt, 6);
    int64_t makespan = sqlite3_column_type (stmt, 9) != SQLITE_NULL
                     ? sqlite3_column_int64 (stmt, 9)
                     : sqlite3_column_type (stmt, 10) != SQLITE_NULL
                     ? sqlite3_column_int64 (stmt, 10) - created : 0;
    sqlite3_finalize (stmt);
    s_add (&buf, "}, \"nodes\": [");

    //  Per node, from its batches: what a reported batch of its did.
    if (s_prepare (store, "SELECT node_index,"
                   " coalesce (sum (CASE WHEN state = 1 THEN"
                   "   (SELECT count (*) FROM batch_units WHERE batch_id = batches.id) END), 0),"
                   " coalesce (sum (CASE WHEN reported_ms IS NOT NULL THEN wall_ms END), 0),"
                   " coalesce (max (reported_ms), 0) - ?2, count (*),"
                   " sum (kind = 1), sum (kind = 2), sum (state = 2)"
                   " FROM batches WHERE build_id = ?1 GROUP BY node_index ORDER BY node_index",
                   &stmt) != 0)
        goto fail;
    sqlite3_bind_int64 (stmt, 1, build_id);
    sqlite3_bind_int64 (stmt, 2, created);
    //  First pass for the bottleneck: the node that finished last.
    int64_t latest = -1;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        if (sqlite3_column_int64 (stmt, 3) > latest)
            latest = sqlite3_column_int64 (stmt, 3);
    sqlite3_reset (stmt);
    size_t rows = 0;
    bool marked = false;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        int64_t busy = sqlite3_column_int64 (stmt, 2);
        int64_t finish = sqlite3_column_int64 (stmt, 3);
        int64_t idle = makespan > busy ? makespan - busy : 0;
        bool bottleneck = !marked && finish == latest && latest > 0;
        marked = marked || bottleneck;
        s_add (&buf, "%s{\"node\": %lld, \"units\": %lld, \"busy_ms\": %lld, \"idle_ms\": %lld,"
               " \"finish_ms\": %lld, \"batches\": %lld, \"replayed\": %lld, \"retried\": %lld,"
               " \"expired\": %lld, \"bottleneck\": %s}", rows++ ? ", " : "",
               (long long) sqlite3_column_int64 (stmt, 0),
               (long long) sqlite3_column_int64 (stmt, 1), (long long) busy, (long long) idle,
               (long long) finish, (long long) sqlite3_column_int64 (stmt, 4),
               (long long) sqlite3_column_int64 (stmt, 5),
               (long long) sqlite3_column_int64 (stmt, 6),
               (long long) sqlite3_column_int64 (stmt, 7), bottleneck ? "true" : "false");
    }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
        goto fail;

    //  Units whose latest run failed: by their report, else by the exit
    //  status of their batch.
    if (s_prepare (store, "WITH runs AS (SELECT bu.unit_idx AS unit, b.id AS batch,"
                   "   coalesce (bu.ok, b.exit_code = 0) AS passed"
                   "   FROM batch_units bu JOIN batches b ON b.id = bu.batch_id"
                   "   WHERE b.build_id = ?1 AND b.state = 1),"
                   " latest AS (SELECT unit, max (batch) AS batch FROM runs GROUP BY unit)"
                   " SELECT u.name FROM runs r JOIN latest l ON l.unit = r.unit"
                   " AND l.batch = r.batch JOIN units u ON u.build_id = ?1 AND u.idx = r.unit"
                   " WHERE NOT r.passed ORDER BY u.name", &stmt) != 0)
        goto fail;
    sqlite3_bind_int64 (stmt, 1, build_id);
    s_add (&buf, "], \"failed\": [");
    rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        if (rows < REPORT_FAILED_MAX) {
            s_add (&buf, "%s", rows ? ", " : "");
            s_string (&buf, (const char *) sqlite3_column_text (stmt, 0));
        }
        rows++;
    }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
        goto fail;
    s_add (&buf, "], \"failed_count\": %zu}", rows);
    *json = buf.text;
    return 0;
fail:
    free (buf.text);
    return store_fail (store, "report_build");
}
