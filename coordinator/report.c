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
                   " sum (kind = 1), sum (kind = 2), sum (state = 2),"
                   " (SELECT count (*) FROM fallbacks f JOIN builds b ON b.suite_id = f.suite_id"
                   "  AND b.build_key = f.build_key WHERE b.id = ?1"
                   "  AND f.node_index = batches.node_index)"
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
               " \"expired\": %lld, \"bottleneck\": %s, \"fell_back\": %s}",
               rows++ ? ", " : "", (long long) sqlite3_column_int64 (stmt, 0),
               (long long) sqlite3_column_int64 (stmt, 1), (long long) busy, (long long) idle,
               (long long) finish, (long long) sqlite3_column_int64 (stmt, 4),
               (long long) sqlite3_column_int64 (stmt, 5),
               (long long) sqlite3_column_int64 (stmt, 6),
               (long long) sqlite3_column_int64 (stmt, 7), bottleneck ? "true" : "false",
               sqlite3_column_int64 (stmt, 8) > 0 ? "true" : "false");
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
    s_add (&buf, "], \"failed_count\": %zu", rows);

    //  Nodes that ran their share split by name, as their agents said
    //  (some may have had no batch at all).
    if (s_prepare (store, "SELECT f.node_index, f.units FROM fallbacks f JOIN builds b"
                   " ON b.suite_id = f.suite_id AND b.build_key = f.build_key WHERE b.id = ?1"
                   " ORDER BY f.node_index, f.id", &stmt) != 0)
        goto fail;
    sqlite3_bind_int64 (stmt, 1, build_id);
    s_add (&buf, ", \"fallbacks\": [");
    rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        s_add (&buf, "%s{\"node\": %lld, \"units\": %lld}", rows++ ? ", " : "",
               (long long) sqlite3_column_int64 (stmt, 0),
               (long long) sqlite3_column_int64 (stmt, 1));
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
        goto fail;
    s_add (&buf, "]");

    //  Every batch, for a timeline: when it was handed out and reported,
    //  from the build's creation.
    if (s_prepare (store, "SELECT node_index, seq, created_ms - ?2,"
                   " CASE WHEN reported_ms IS NULL THEN NULL ELSE reported_ms - ?2 END,"
                   " (SELECT count (*) FROM batch_units WHERE batch_id = batches.id),"
                   " kind, state, exit_code, coalesce (wall_ms, 0)"
                   " FROM batches WHERE build_id = ?1 ORDER BY node_index, seq", &stmt) != 0)
        goto fail;
    sqlite3_bind_int64 (stmt, 1, build_id);
    sqlite3_bind_int64 (stmt, 2, created);
    s_add (&buf, ", \"batches\": [");
    rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_add (&buf, "%s{\"node\": %lld, \"seq\": %lld, \"start_ms\": %lld, \"end_ms\": ",
               rows++ ? ", " : "", (long long) sqlite3_column_int64 (stmt, 0),
               (long long) sqlite3_column_int64 (stmt, 1),
               (long long) sqlite3_column_int64 (stmt, 2));
        if (sqlite3_column_type (stmt, 3) == SQLITE_NULL)
            s_add (&buf, "null");
        else
            s_add (&buf, "%lld", (long long) sqlite3_column_int64 (stmt, 3));
        s_add (&buf, ", \"units\": %lld, \"kind\": %lld, \"state\": %lld, \"exit\": ",
               (long long) sqlite3_column_int64 (stmt, 4),
               (long long) sqlite3_column_int64 (stmt, 5),
               (long long) sqlite3_column_int64 (stmt, 6));
        if (sqlite3_column_type (stmt, 7) == SQLITE_NULL)
            s_add (&buf, "null");
        else
            s_add (&buf, "%lld", (long long) sqlite3_column_int64 (stmt, 7));
        s_add (&buf, ", \"wall_ms\": %lld}", (long long) sqlite3_column_int64 (stmt, 8));
    }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
        goto fail;

    //  The slowest units of this build, by their measured time.
    if (s_prepare (store, "SELECT name, duration_ms, ok FROM samples WHERE build_id = ?1"
                   " ORDER BY duration_ms DESC, name LIMIT 10", &stmt) != 0)
        goto fail;
    sqlite3_bind_int64 (stmt, 1, build_id);
    s_add (&buf, "], \"slowest\": [");
    rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_add (&buf, "%s{\"unit\": ", rows++ ? ", " : "");
        s_string (&buf, (const char *) sqlite3_column_text (stmt, 0));
        s_add (&buf, ", \"duration_ms\": %.0f, \"ok\": %s}", sqlite3_column_double (stmt, 1),
               sqlite3_column_int (stmt, 2) ? "true" : "false");
    }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
        goto fail;
    s_add (&buf, "]}");
    *json = buf.text;
    return 0;
fail:
    free (buf.text);
    return store_fail (store, "report_build");
}

//  The suite's id into *suite_id. Returns 0, 1 if there is none, -1.
static int
s_suite (store_t *store, const char *suite, int64_t *suite_id)
{
    sqlite3_stmt *stmt = NULL;
    if (s_prepare (store, "SELECT id FROM suites WHERE name = ?1", &stmt) != 0)
        return -1;
    sqlite3_bind_text (stmt, 1, suite, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *suite_id = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail (store, "report_suite");
    return rc == SQLITE_ROW ? 0 : 1;
}

//  A nullable text column as JSON.
static void
s_text_or_null (s_buf_t *buf, sqlite3_stmt *stmt, int column)
{
    if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
        s_add (buf, "null");
    else
        s_string (buf, (const char *) sqlite3_column_text (stmt, column));
}

//  Run stmt (its binds done) and add one object a row with row ();
//  *last_id gets the first column of the last row and *count the rows
//  (either may be NULL). Returns 0 or -1.
static int
s_rows (store_t *store, sqlite3_stmt *stmt, s_buf_t *buf,
        void (*row) (s_buf_t *buf, sqlite3_stmt *stmt), int64_t *last_id, size_t *count)
{
    int rc;
    size_t rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_add (buf, "%s{", rows++ ? ", " : "");
        row (buf, stmt);
        s_add (buf, "}");
        if (last_id)
            *last_id = sqlite3_column_int64 (stmt, 0);
    }
    sqlite3_finalize (stmt);
    if (count)
        *count = rows;
    if (rc != SQLITE_DONE)
        return store_fail (store, "report_rows");
    return 0;
}

//  The start of a suite's report, or 1 / -1 as s_suite says.
static int
s_begin (store_t *store, const char *suite, int64_t *suite_id, s_buf_t *buf)
{
    int rc = s_suite (store, suite, suite_id);
    if (rc != 0)
        return rc;
    s_add (buf, "{\"suite\": ");
    s_string (buf, suite);
    return 0;
}

static void
s_slowest_row (s_buf_t *buf, sqlite3_stmt *stmt)
{
    s_add (buf, "\"unit\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 0));
    s_add (buf, ", \"estimate_ms\": %.0f, \"samples\": %lld, \"updated_ms\": %lld",
           sqlite3_column_double (stmt, 1), (long long) sqlite3_column_int64 (stmt, 2),
           (long long) sqlite3_column_int64 (stmt, 3));
}

int
report_slowest (store_t *store, const char *suite, uint32_t limit, char **json)
{
    *json = NULL;
    s_buf_t buf = { NULL, 0, 0 };
    int64_t suite_id = 0;
    int rc = s_begin (store, suite, &suite_id, &buf);
    sqlite3_stmt *stmt = NULL;
    if (rc == 0)
        rc = s_prepare (store, "SELECT name, estimate_ms, samples, updated_ms FROM timings"
                        " WHERE suite_id = ?1 ORDER BY estimate_ms DESC, name LIMIT ?2", &stmt);
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, suite_id);
        sqlite3_bind_int64 (stmt, 2, limit);
        s_add (&buf, ", \"units\": [");
        rc = s_rows (store, stmt, &buf, s_slowest_row, NULL, NULL);
    }
    if (rc != 0) {
        free (buf.text);
        return rc;
    }
    s_add (&buf, "]}");
    *json = buf.text;
    return 0;
}

static void
s_flaky_row (s_buf_t *buf, sqlite3_stmt *stmt)
{
    s_add (buf, "\"unit\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 0));
    s_add (buf, ", \"commit\": ");
    s_string (buf, (const char *) sqlite3_column_text (stmt, 1));
    s_add (buf, ", \"passed\": %lld, \"failed\": %lld, \"last_ms\": %lld",
           (long long) sqlite3_column_int64 (stmt, 2), (long long) sqlite3_column_int64 (stmt, 3),
           (long long) sqlite3_column_int64 (stmt, 4));
}

int
report_flaky (store_t *store, const char *suite, uint32_t limit, char **json)
{
    *json = NULL;
    s_buf_t buf = { NULL, 0, 0 };
    int64_t suite_id = 0;
    int rc = s_begin (store, suite, &suite_id, &buf);
    sqlite3_stmt *stmt = NULL;
    //  A unit is flaky on a commit where it both passed and failed.
    if (rc == 0)
        rc = s_prepare (store, "SELECT s.name, b.\"commit\", sum (s.ok), sum (1 - s.ok),"
                        " max (s.at_ms) FROM samples s JOIN builds b ON b.id = s.build_id"
                        " WHERE s.suite_id = ?1 GROUP BY s.name, b.\"commit\""
                        " HAVING sum (s.ok) > 0 AND sum (1 - s.ok) > 0"
                        " ORDER BY max (s.at_ms) DESC, s.name LIMIT ?2", &stmt);
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, suite_id);
        sqlite3_bind_int64 (stmt, 2, limit);
        s_add (&buf, ", \"flaky\": [");
        rc = s_rows (store, stmt, &buf, s_flaky_row, NULL, NULL);
    }
    if (rc != 0) {
        free (buf.text);
        return rc;
    }
    s_add (&buf, "]}");
    *json = buf.text;
    return 0;
}

static void
s_trend_row (s_buf_t *buf, sqlite3_stmt *stmt)
{
    s_add (buf, "\"at_ms\": %lld, \"duration_ms\": %.0f, \"ok\": %s, \"build\": ",
           (long long) sqlite3_column_int64 (stmt, 0), sqlite3_column_double (stmt, 1),
           sqlite3_column_int (stmt, 2) ? "true" : "false");
    s_text_or_null (buf, stmt, 3);
    s_add (buf, ", \"commit\": ");
    s_text_or_null (buf, stmt, 4);
}

int
report_trend (store_t *store, const char *suite, const char *unit, uint32_t limit, char **json)
{
    *json = NULL;
    s_buf_t buf = { NULL, 0, 0 };
    int64_t suite_id = 0;
    int rc = s_begin (store, suite, &suite_id, &buf);
    sqlite3_stmt *stmt = NULL;
    if (rc == 0)
        rc = s_prepare (store, "SELECT estimate_ms FROM timings WHERE suite_id = ?1"
                        " AND name = ?2", &stmt);
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, suite_id);
        sqlite3_bind_text (stmt, 2, unit, -1, SQLITE_STATIC);
        int step = sqlite3_step (stmt);
        s_add (&buf, ", \"unit\": ");
        s_string (&buf, unit);
        if (step == SQLITE_ROW)
            s_add (&buf, ", \"estimate_ms\": %.0f", sqlite3_column_double (stmt, 0));
        else
            s_add (&buf, ", \"estimate_ms\": null");
        sqlite3_finalize (stmt);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = store_fail (store, "report_trend");
    }
    //  The samples of a unit are found by (suite, name): samples_by_name.
    if (rc == 0)
        rc = s_prepare (store, "SELECT s.at_ms, s.duration_ms, s.ok, b.build_key, b.\"commit\""
                        " FROM samples s LEFT JOIN builds b ON b.id = s.build_id"
                        " WHERE s.suite_id = ?1 AND s.name = ?2 ORDER BY s.id DESC LIMIT ?3",
                        &stmt);
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, suite_id);
        sqlite3_bind_text (stmt, 2, unit, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, limit);
        s_add (&buf, ", \"runs\": [");
        rc = s_rows (store, stmt, &buf, s_trend_row, NULL, NULL);
    }
    if (rc != 0) {
        free (buf.text);
        return rc;
    }
    s_add (&buf, "]}");
    *json = buf.text;
    return 0;
}

static void
s_export_row (s_buf_t *buf, sqlite3_stmt *stmt)
{
    s_add (buf, "\"id\": %lld, \"unit\": ", (long long) sqlite3_column_int64 (stmt, 0));
    s_string (buf, (const char *) sqlite3_column_text (stmt, 1));
    s_add (buf, ", \"duration_ms\": %.3f, \"ok\": %s, \"at_ms\": %lld, \"build\": ",
           sqlite3_column_double (stmt, 2), sqlite3_column_int (stmt, 3) ? "true" : "false",
           (long long) sqlite3_column_int64 (stmt, 4));
    s_text_or_null (buf, stmt, 5);
    s_add (buf, ", \"commit\": ");
    s_text_or_null (buf, stmt, 6);
}

int
report_export (store_t *store, const char *suite, int64_t since_ms, int64_t after,
               uint32_t limit, char **json)
{
    *json = NULL;
    s_buf_t buf = { NULL, 0, 0 };
    int64_t suite_id = 0;
    int rc = s_begin (store, suite, &suite_id, &buf);
    sqlite3_stmt *stmt = NULL;
    //  By id, from the cursor on: each page an index range, however long
    //  the history.
    if (rc == 0)
        rc = s_prepare (store, "SELECT s.id, s.name, s.duration_ms, s.ok, s.at_ms, b.build_key,"
                        " b.\"commit\" FROM samples s LEFT JOIN builds b ON b.id = s.build_id"
                        " WHERE s.id > ?2 AND s.suite_id = ?1 AND s.at_ms >= ?3"
                        " ORDER BY s.id LIMIT ?4", &stmt);
    int64_t last = -1;
    size_t rows = 0;
    if (rc == 0) {
        sqlite3_bind_int64 (stmt, 1, suite_id);
        sqlite3_bind_int64 (stmt, 2, after);
        sqlite3_bind_int64 (stmt, 3, since_ms);
        sqlite3_bind_int64 (stmt, 4, limit);
        s_add (&buf, ", \"samples\": [");
        rc = s_rows (store, stmt, &buf, s_export_row, &last, &rows);
    }
    if (rc != 0) {
        free (buf.text);
        return rc;
    }
    //  A full page may have more after it; a short one is the end.
    if (rows > 0 && rows == limit)
        s_add (&buf, "], \"next\": %lld}", (long long) last);
    else
        s_add (&buf, "], \"next\": null}");
    *json = buf.text;
    return 0;
}
