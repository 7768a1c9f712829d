/*  test_admin_jobs.c: satcheld's backup and check jobs (admin_jobs.c), on
    real SQLite files in WAL mode, as satcheld keeps them:

    - a backup taken while another connection keeps writing is one
      snapshot: in the copy, a counter written in the same transaction as
      each row still equals the number of rows, and the copy checks out;
    - the copy is one self-contained file (journal mode delete), fetched
      in pieces that put it back byte for byte;
    - check says "ok" of a sound file and names the damage of a broken one
      (an index whose schema entry went, its pages owned by nothing);
    - the errors: an unknown job, a fetch of a check or past the end.    */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_jobs.h"
#include "harness.h"
#include "log.h"

#define DEADLINE_MS 60000

typedef struct {
    char *dir;                   //  temporary folder
    char db[600];                //  the "live" database
    uint64_t req;                //  request numbers
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    assert_non_null (fx);
    fx->dir = harness_tmpdir ();
    snprintf (fx->db, sizeof fx->db, "%s/live.db", fx->dir);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    harness_rmtree (fx->dir);
    free (fx->dir);
    free (fx);
    return 0;
}

static void
s_exec (sqlite3 *db, const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &error) != SQLITE_OK)
        fail_msg ("%s: %s", sql, error);
}

static int64_t
s_int (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

//  The live database: WAL, a table of rows with some bulk and a counter
//  that every transaction keeps equal to the number of rows.
static sqlite3 *
s_live (fixture_t *fx, int rows)
{
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (fx->db, &db), SQLITE_OK);
    s_exec (db, "PRAGMA journal_mode = WAL; CREATE TABLE rows (id INTEGER PRIMARY KEY, "
                "body TEXT); CREATE INDEX rows_by_body ON rows (body); "
                "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);");
    s_exec (db, "BEGIN");
    for (int i = 0; i < rows; i++)
        s_exec (db, "INSERT INTO rows (body) VALUES (hex (randomblob (100)));"
                    "UPDATE counter SET n = n + 1;");
    s_exec (db, "COMMIT");
    return db;
}

//  Ask the jobs: action on job at offset. Returns the reply (caller frees).
static proto_msg_t *
s_ask (fixture_t *fx, admin_jobs_t *jobs, const char *action, uint64_t job, uint64_t offset)
{
    proto_msg_t *req = proto_msg_new (PROTO_ADMIN);
    proto_msg_set_str (&req->attempt, "test");
    req->req = ++fx->req;
    proto_msg_set_str (&req->action, action);
    req->job = job;
    req->offset = offset;
    proto_msg_t *reply = NULL;
    admin_jobs_handle (jobs, req, &reply);
    assert_non_null (reply);
    assert_int_equal (reply->req, req->req);
    proto_msg_destroy (&req);
    return reply;
}

//  Start a job and ask until it is no longer running, writing a row to
//  live (if not NULL) between every two questions. Returns the last reply.
static proto_msg_t *
s_until_done (fixture_t *fx, admin_jobs_t *jobs, const char *action, sqlite3 *live,
              int *writes)
{
    proto_msg_t *reply = s_ask (fx, jobs, action, 0, 0);
    assert_int_equal (reply->type, PROTO_ADMIN_JOB);
    uint64_t job = reply->job;
    int64_t until = harness_now_ms () + DEADLINE_MS;
    while (strcmp (reply->state, "running") == 0) {
        assert_true (harness_now_ms () < until);
        if (live) {
            s_exec (live, "BEGIN; INSERT INTO rows (body) VALUES ('late');"
                          "UPDATE counter SET n = n + 1; COMMIT;");
            (*writes)++;
        }
        proto_msg_destroy (&reply);
        reply = s_ask (fx, jobs, action, job, 0);
        assert_int_equal (reply->type, PROTO_ADMIN_JOB);
    }
    return reply;
}

static void
test_backup_is_one_snapshot (void **state)
{
    fixture_t *fx = *state;
    enum { ROWS = 40000 };
    sqlite3 *live = s_live (fx, ROWS);
    admin_jobs_t *jobs = admin_jobs_new (fx->db);
    int writes = 0;
    proto_msg_t *done = s_until_done (fx, jobs, "backup", live, &writes);
    printf ("  %d transactions written while the backup ran\n", writes);
    assert_string_equal (done->state, "done");
    assert_string_equal (done->message, "ok");
    assert_string_equal (done->action, "backup");
    uint64_t job = done->job, size = done->size;
    assert_true (size > 4 * 1024 * 1024);
    proto_msg_destroy (&done);

    //  Fetch it piece by piece into a file of our own.
    char copy[700];
    snprintf (copy, sizeof copy, "%s/copy.db", fx->dir);
    FILE *out = fopen (copy, "wb");
    assert_non_null (out);
    uint64_t offset = 0;
    int pieces = 0;
    while (offset < size) {
        proto_msg_t *piece = s_ask (fx, jobs, "fetch", job, offset);
        assert_int_equal (piece->type, PROTO_ADMIN_JOB);
        assert_int_equal (piece->offset, offset);
        assert_true (piece->data_size > 0 && piece->data_size <= PROTO_CHUNK_MAX);
        assert_int_equal (fwrite (piece->data, 1, piece->data_size, out), piece->data_size);
        offset += piece->data_size;
        pieces++;
        proto_msg_destroy (&piece);
    }
    assert_int_equal (fclose (out), 0);
    assert_true (pieces > 1);
    //  At the end: an empty piece.
    proto_msg_t *end = s_ask (fx, jobs, "fetch", job, size);
    assert_int_equal (end->type, PROTO_ADMIN_JOB);
    assert_int_equal (end->data_size, 0);
    proto_msg_destroy (&end);

    //  One snapshot: the counter matches the rows, and the live file went
    //  on (its rows at least the copy's).
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (copy, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t rows = s_int (db, "SELECT count (*) FROM rows");
    assert_int_equal (rows, s_int (db, "SELECT n FROM counter"));
    assert_true (rows >= ROWS);
    assert_true (rows <= s_int (live, "SELECT count (*) FROM rows"));
    assert_int_equal (s_int (db, "SELECT count (*) FROM pragma_integrity_check"
                                 " WHERE integrity_check != 'ok'"), 0);
    //  A file on its own: no WAL.
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "delete");
    sqlite3_finalize (stmt);
    sqlite3_close (db);

    //  Its copy beside the live file goes with the jobs.
    char kept[700];
    snprintf (kept, sizeof kept, "%s.backup-%llu", fx->db, (unsigned long long) job);
    struct stat st;
    assert_int_equal (stat (kept, &st), 0);
    assert_int_equal ((uint64_t) st.st_size, size);
    admin_jobs_destroy (&jobs);
    assert_int_not_equal (stat (kept, &st), 0);
    sqlite3_close (live);
}

static void
test_check_sound_and_damaged (void **state)
{
    fixture_t *fx = *state;
    sqlite3 *live = s_live (fx, 3000);
    admin_jobs_t *jobs = admin_jobs_new (fx->db);
    proto_msg_t *done = s_until_done (fx, jobs, "check", NULL, NULL);
    assert_string_equal (done->state, "done");
    assert_string_equal (done->message, "ok");
    assert_int_equal (done->size, 0);
    proto_msg_destroy (&done);
    //  A fetch of a check is refused.
    proto_msg_t *refused = s_ask (fx, jobs, "fetch", 1, 0);
    assert_int_equal (refused->type, PROTO_ERROR);
    assert_non_null (strstr (refused->message, "no finished backup"));
    proto_msg_destroy (&refused);
    admin_jobs_destroy (&jobs);
    //  Damage it the same way every time: the index's entry in the schema
    //  goes, its pages stay, owned by nothing.
    s_exec (live, "PRAGMA writable_schema = ON; DELETE FROM sqlite_schema"
                  " WHERE name = 'rows_by_body'; PRAGMA writable_schema = OFF;");
    sqlite3_close (live);
    jobs = admin_jobs_new (fx->db);
    done = s_until_done (fx, jobs, "check", NULL, NULL);
    printf ("  the damaged file: %s: %.160s\n", done->state, done->message);
    assert_string_equal (done->state, "done");
    assert_non_null (strstr (done->message, "is never used"));
    proto_msg_destroy (&done);
    admin_jobs_destroy (&jobs);
}

static void
test_errors (void **state)
{
    fixture_t *fx = *state;
    sqlite3 *live = s_live (fx, 10);
    admin_jobs_t *jobs = admin_jobs_new (fx->db);
    proto_msg_t *reply = s_ask (fx, jobs, "backup", 7, 0);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->code, PROTO_ERR_BAD_REQUEST);
    assert_non_null (strstr (reply->message, "no admin job 7 here"));
    proto_msg_destroy (&reply);
    reply = s_until_done (fx, jobs, "backup", NULL, NULL);
    uint64_t job = reply->job, size = reply->size;
    proto_msg_destroy (&reply);
    reply = s_ask (fx, jobs, "fetch", job, size + 1);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_string_equal (reply->field, "offset");
    proto_msg_destroy (&reply);
    //  A new job replaces the last one, whose copy goes.
    char kept[700];
    snprintf (kept, sizeof kept, "%s.backup-%llu", fx->db, (unsigned long long) job);
    struct stat st;
    assert_int_equal (stat (kept, &st), 0);
    reply = s_until_done (fx, jobs, "check", NULL, NULL);
    proto_msg_destroy (&reply);
    assert_int_not_equal (stat (kept, &st), 0);
    reply = s_ask (fx, jobs, "fetch", job, 0);
    assert_int_equal (reply->type, PROTO_ERROR);
    assert_non_null (strstr (reply->message, "another one came after it"));
    proto_msg_destroy (&reply);
    admin_jobs_destroy (&jobs);
    sqlite3_close (live);
}

int
main (void)
{
    log_setup (LOG_LEVEL_WARN, "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_backup_is_one_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_check_sound_and_damaged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_errors, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
