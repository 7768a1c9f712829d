/*  e2e_client.c: see e2e_client.h.                                         */
#include "e2e_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

zsock_t *
e2e_connect (const char *endpoint)
{
    zsock_t *socket = zsock_new (ZMQ_REQ);
    assert_non_null (socket);
    zsock_set_linger (socket, 0);
    zsock_set_rcvtimeo (socket, 10000);
    assert_int_equal (zsock_connect (socket, "%s", endpoint), 0);
    return socket;
}

void
e2e_send (zsock_t *socket, const proto_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    assert_true (zmq_send (zsock_resolve (socket), data, size, 0) == (int) size);
    free (data);
}

proto_msg_t *
e2e_reply_within (zsock_t *socket, long timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (socket), 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    zframe_t *frame = zframe_recv (socket);
    assert_non_null (frame);
    proto_error_t err;
    proto_msg_t *reply = proto_decode (zframe_data (frame), zframe_size (frame), NULL, &err);
    if (!reply)
        fprintf (stderr, "undecodable reply: %s\n", err.message);
    assert_non_null (reply);
    zframe_destroy (&frame);
    if (reply->type == PROTO_ERROR)
        fprintf (stderr, "error reply: %s %s\n", reply->code, reply->message);
    return reply;
}

proto_msg_t *
e2e_call (zsock_t *socket, const proto_msg_t *msg)
{
    e2e_send (socket, msg);
    proto_msg_t *reply = e2e_reply_within (socket, 10000);
    assert_non_null (reply);        //  NULL: no reply within the timeout
    return reply;
}

proto_msg_t *
e2e_join (const char *attempt, uint64_t req, const char *suite, const char *build,
          uint32_t index, uint32_t total, const char *const *units, size_t count)
{
    proto_msg_t *join = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&join->attempt, attempt);
    join->req = req;
    proto_msg_set_str (&join->suite, suite);
    proto_msg_set_str (&join->build, build);
    join->node_index = index;
    join->node_total = total;
    proto_msg_set_str (&join->commit, "c0ffee");
    proto_msg_set_str (&join->branch, "main");
    proto_msg_set_str (&join->mode, "queue");
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (units, count, digest);
    proto_msg_set_str (&join->digest, digest);
    proto_msg_set_units (join, units, count);
    return join;
}

proto_msg_t *
e2e_report (const char *attempt, uint64_t req, uint32_t batch, uint64_t lease, size_t unit_count,
            int32_t exit_code)
{
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = req;
    next->has_report = true;
    next->report_batch = batch;
    next->report_lease = lease;
    next->report_wall_ms = unit_count;
    next->report_exit = exit_code;
    next->report_time_count = unit_count;
    next->report_times_ms = calloc (unit_count ? unit_count : 1, sizeof (uint64_t));
    for (size_t i = 0; i < unit_count; i++)
        next->report_times_ms[i] = 1;
    return next;
}

static sqlite3_stmt *
s_query (const char *db_path, const char *sql, sqlite3 **db)
{
    assert_int_equal (sqlite3_open_v2 (db_path, db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout (*db, 5000);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (*db, sql, -1, &stmt, NULL) != SQLITE_OK)
        fprintf (stderr, "bad query %s: %s\n", sql, sqlite3_errmsg (*db));
    assert_non_null (stmt);
    return stmt;
}

int64_t
e2e_db_int (const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = s_query (db_path, sql, &db);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}

int
e2e_db_try_int (const char *db_path, const char *sql, int64_t *value)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout (db, 5000);
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
        &&  sqlite3_step (stmt) == SQLITE_ROW) {
            *value = sqlite3_column_int64 (stmt, 0);
            rc = 0;
        }
        sqlite3_finalize (stmt);
    }
    sqlite3_close (db);
    return rc;
}

char *
e2e_db_lines (const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = s_query (db_path, sql, &db);
    size_t size = 0;
    char *text = calloc (1, 1);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *value = (const char *) sqlite3_column_text (stmt, 0);
        size_t length = value ? strlen (value) : 0;
        text = realloc (text, size + length + 2);
        memcpy (text + size, value ? value : "", length);
        size += length;
        text[size++] = '\n';
        text[size] = 0;
    }
    assert_int_equal (rc, SQLITE_DONE);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return text;
}
