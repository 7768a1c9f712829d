/*  store.c: see store.h.

    Every statement is prepared once in store_open and kept in self->stmt.
    After each use it is reset and its bindings cleared, on error paths too:
    a statement left mid-step holds a read transaction, and that pins the
    WAL (no checkpoint can pass it, the -wal file grows without bound).
    Because bindings are always cleared before a call returns, strings and
    blobs are bound SQLITE_STATIC: SQLite never keeps the caller's pointer
    past the call, and nothing is copied twice.

    Bind results are OR-ed together: SQLITE_OK is 0, so any nonzero result
    means some bind failed, and SQLite has put the reason in sqlite3_errmsg.

    A write made of several statements (units, a batch and its units, a
    sample and its timing) called outside store_begin gets a transaction of
    its own, so kill -9 can never leave half of it behind, and it costs one
    commit instead of one per row. Inside the caller's transaction it adds
    nothing. After a -1 inside a transaction, roll the transaction back:
    SQLite itself may already have rolled it back (I/O error, disk full).  */
#include "store.h"

#include "log.h"
#include "store_vfs.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_sql.h"

struct _store_t {
    sqlite3 *db;                        //  the one connection
    sqlite3_stmt *stmt[STMT_COUNT];     //  every statement, prepared at open
    char *path;                         //  database file, for log lines
};

//  Log a failed operation with SQLite's own reason. Returns -1.
static int
s_fail (store_t *self, const char *op)
{
    log_error ("store_failed op=%s code=%d error=%s path=%s", op,
               sqlite3_extended_errcode (self->db),
               log_quote (sqlite3_errmsg (self->db)), log_quote (self->path));
    return -1;
}

const char *
store_path (store_t *self)
{
    return self->path;
}

uint64_t
store_disk_bytes (store_t *self)
{
    uint64_t bytes = 0;
    struct stat st;
    if (stat (self->path, &st) == 0)
        bytes += (uint64_t) st.st_size;
    char wal[4096];
    snprintf (wal, sizeof wal, "%s-wal", self->path);
    if (stat (wal, &st) == 0)
        bytes += (uint64_t) st.st_size;
    return bytes;
}

struct sqlite3 *
store_handle (store_t *self)
{
    return self->db;
}

int
store_fail (store_t *self, const char *op)
{
    return s_fail (self, op);
}

//  Step a statement after its binds. Returns SQLITE_ROW or SQLITE_DONE, or
//  -1 after logging why (a bind or the step failed).
static int
s_step (store_t *self, sqlite3_stmt *stmt, int bind_rc, const char *op)
{
    if (bind_rc != SQLITE_OK)
        return s_fail (self, op);
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return s_fail (self, op);
    return rc;
}

//  Make a statement ready for its next use and drop the caller's pointers.
//  reset repeats the last step's error, which the caller has handled.
static void
s_release (sqlite3_stmt *stmt)
{
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
}

//  Step a bound single-statement write and release it. If must_change, a
//  write that matched no row is an error: the caller named a row that does
//  not exist. Returns 0 or -1.
static int
s_write (store_t *self, stmt_id_t id, int bind_rc, const char *op, bool must_change)
{
    int rc = s_step (self, self->stmt[id], bind_rc, op);
    s_release (self->stmt[id]);
    if (rc == SQLITE_DONE && must_change && sqlite3_changes (self->db) != 1) {
        log_error ("store_failed op=%s error=\"no such row\" path=%s", op,
                   log_quote (self->path));
        return -1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

//  Copy a text column byte for byte; NULL reads as "".
static char *
s_column_text (sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text (stmt, col);
    if (!text)
        return util_strdup ("");
    return util_strndup ((const char *) text, (size_t) sqlite3_column_bytes (stmt, col));
}

static int
s_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
    return sqlite3_bind_text (stmt, index, text ? text : "", -1, SQLITE_STATIC);
}

//  Run constant SQL at open (PRAGMAs, DDL; never data), one statement after
//  the other. If value is given, the first column of the last row seen is
//  copied into it. Returns 0 or -1.
static int
s_run (store_t *self, const char *op, const char *sql, char *value, size_t size)
{
    const char *next = sql;
    while (*next) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2 (self->db, next, -1, &stmt, &next) != SQLITE_OK)
            return s_fail (self, op);
        if (!stmt)
            continue;       //  trailing blanks
        int rc = s_step (self, stmt, SQLITE_OK, op);
        if (rc == SQLITE_ROW && value) {
            const unsigned char *text = sqlite3_column_text (stmt, 0);
            snprintf (value, size, "%s", text ? (const char *) text : "");
        }
        sqlite3_finalize (stmt);
        if (rc < 0)
            return -1;
    }
    return 0;
}

//  Bring the schema to STORE_SCHEMA_VERSION in one write transaction: a
//  crash mid-way leaves the old version, and two daemons started on one
//  file cannot both migrate. A newer schema is refused untouched.
static int
s_migrate (store_t *self)
{
    char value[32] = "";
    if (s_run (self, "migrate_begin", "BEGIN IMMEDIATE", NULL, 0) != 0)
        return -1;
    int result = -1;
    if (s_run (self, "user_version", "PRAGMA user_version", value, sizeof value) != 0)
        goto cleanup;
    long version = strtol (value, NULL, 10);
    if (version < 0 || version > STORE_SCHEMA_VERSION) {
        log_error ("store_open_failed path=%s error=\"schema version %ld unknown, this"
                   " satcheld knows up to %d: written by a newer satcheld?\"",
                   log_quote (self->path), version, STORE_SCHEMA_VERSION);
        goto cleanup;
    }
    if (version < STORE_SCHEMA_VERSION) {
        for (long v = version; v < STORE_SCHEMA_VERSION; v++)
            if (s_run (self, "migrate", s_migrations[v], NULL, 0) != 0)
                goto cleanup;
        char sql[64];
        snprintf (sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if (s_run (self, "migrate_version", sql, NULL, 0) != 0)
            goto cleanup;
        log_info ("store_migrated path=%s from=%ld to=%d", log_quote (self->path), version,
                  STORE_SCHEMA_VERSION);
    }
    if (s_run (self, "migrate_commit", "COMMIT", NULL, 0) != 0)
        goto cleanup;
    result = 0;
cleanup:
    if (!sqlite3_get_autocommit (self->db))
        s_run (self, "migrate_rollback", "ROLLBACK", NULL, 0);
    return result;
}

void
store_init_process (void)
{
    //  Fails harmlessly (SQLITE_MISUSE) if SQLite was already initialized.
    sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
}

store_t *
store_open (const char *path)
{
    assert (path);
    store_t *self = util_calloc (1, sizeof *self);
    self->path = util_strdup (path);
    char value[32] = "";

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    //  Each commit's WAL frames in one write, not two a page (store_vfs.h).
    if (store_vfs_register () != 0) {
        log_error ("store_open_failed path=%s error=\"cannot register the %s VFS\"",
                   log_quote (path), STORE_VFS_NAME);
        goto fail;
    }
    int rc = sqlite3_open_v2 (path, &self->db, flags, STORE_VFS_NAME);
    if (rc != SQLITE_OK) {
        log_error ("store_open_failed path=%s error=%s", log_quote (path),
                   log_quote (self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc)));
        goto fail;
    }
    sqlite3_extended_result_codes (self->db, 1);
    sqlite3_busy_timeout (self->db, 5000);

    //  journal_mode answers with the mode in force, which is not WAL where
    //  WAL is impossible (some network file systems): check it.
    if (s_run (self, "journal_mode", "PRAGMA journal_mode = WAL", value, sizeof value) != 0)
        goto fail;
    if (strcmp (value, "wal") != 0) {
        log_error ("store_open_failed path=%s error=\"journal_mode is %s, not wal\"",
                   log_quote (path), log_quote (value));
        goto fail;
    }
    //  The page cache is per connection and 2 MiB by default; the samples
    //  index alone outgrows that, and then every insert is a pread.
    if (s_run (self, "pragmas", "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
               //  Checkpoint every 10000 pages (~40 MB of WAL) rather than
               //  1000: each checkpoint stalls the loop on the disk, and
               //  fewer, larger ones measured 13% more requests a second.
               " PRAGMA wal_autocheckpoint = 10000;"
               " PRAGMA foreign_keys = ON; PRAGMA foreign_keys", value, sizeof value) != 0)
        goto fail;
    //  foreign_keys is silently ignored where compiled out: read it back.
    if (strcmp (value, "1") != 0) {
        log_error ("store_open_failed path=%s error=\"foreign keys unsupported\"",
                   log_quote (path));
        goto fail;
    }
    if (s_migrate (self) != 0)
        goto fail;
    for (int id = 0; id < STMT_COUNT; id++) {
        rc = sqlite3_prepare_v3 (self->db, s_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                 &self->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            s_fail (self, "prepare");
            goto fail;
        }
    }
    return self;
fail:
    store_destroy (&self);
    return NULL;
}

void
store_destroy (store_t **self_p)
{
    //  Safe on NULL and on a pointer to NULL, so cleanup paths need no test.
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    for (int id = 0; id < STMT_COUNT; id++)
        sqlite3_finalize (self->stmt[id]);
    //  Close rolls back an open transaction; closing the last connection
    //  also checkpoints the WAL into the database and deletes it.
    if (sqlite3_close (self->db) != SQLITE_OK)
        log_error ("store_close_failed path=%s error=%s", log_quote (self->path),
                   log_quote (sqlite3_errmsg (self->db)));
    free (self->path);
    free (self);
    *self_p = NULL;
}

int
store_begin (store_t *self)
{
    return s_write (self, STMT_BEGIN, SQLITE_OK, "begin", false);
}

//  A failed COMMIT may leave the transaction open (SQLITE_BUSY): roll it
//  back, so the connection is never stuck in a half-done transaction; the
//  caller's store_rollback after this is then a no-op.
int
store_commit (store_t *self)
{
    int rc = s_write (self, STMT_COMMIT, SQLITE_OK, "commit", false);
    if (rc != 0)
        store_rollback (self);
    return rc;
}

void
store_rollback (store_t *self)
{
    //  Nothing to do if none was begun, or SQLite ended it after an error.
    if (!sqlite3_get_autocommit (self->db))
        s_write (self, STMT_ROLLBACK, SQLITE_OK, "rollback", false);
}

//  For multi-statement writes: open a transaction of our own if the caller
//  has none; *owned tells s_own_end to end it.
static int
s_own_begin (store_t *self, bool *owned)
{
    *owned = sqlite3_get_autocommit (self->db) != 0;
    return *owned ? store_begin (self) : 0;
}

static int
s_own_end (store_t *self, bool owned, int result)
{
    if (owned && result == 0)
        return store_commit (self);
    if (owned)
        store_rollback (self);
    return result;
}

int
store_suite_ensure (store_t *self, const char *name, int64_t *suite_id)
{
    assert (name && suite_id);
    sqlite3_stmt *stmt = self->stmt[STMT_SUITE_FIND];
    int rc = s_step (self, stmt, s_bind_text (stmt, 1, name), "suite_find");
    if (rc == SQLITE_ROW)
        *suite_id = sqlite3_column_int64 (stmt, 0);
    s_release (stmt);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? 0 : -1;

    stmt = self->stmt[STMT_SUITE_INSERT];
    if (s_write (self, STMT_SUITE_INSERT, s_bind_text (stmt, 1, name), "suite_insert",
                 false) != 0)
        return -1;
    *suite_id = sqlite3_last_insert_rowid (self->db);
    return 0;
}

int
store_estimates (store_t *self, int64_t suite_id, const char *const *names,
                 size_t count, double *estimate_ms)
{
    assert (count == 0 || (names && estimate_ms));
    sqlite3_stmt *stmt = self->stmt[STMT_ESTIMATE];
    int result = 0;
    //  suite_id stays bound across the loop: reset keeps bindings.
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id);
    for (size_t i = 0; i < count && result == 0; i++) {
        int rc = s_step (self, stmt, bind | s_bind_text (stmt, 2, names[i]), "estimates");
        if (rc == SQLITE_ROW)
            estimate_ms[i] = sqlite3_column_double (stmt, 0);
        else
        if (rc == SQLITE_DONE)
            estimate_ms[i] = -1;
        else
            result = -1;
        sqlite3_reset (stmt);
    }
    s_release (stmt);
    if (result != 0)
        return -1;
    //  A file split into examples before: its time is at least the sum of
    //  its examples' (they may have grown while the file's own history,
    //  taken only when all of them ran in one build, lags).
    stmt = self->stmt[STMT_HAS_EXAMPLES];
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, suite_id), "has_examples");
    s_release (stmt);
    if (rc < 0)
        return -1;
    if (rc == SQLITE_DONE)
        return 0;
    stmt = self->stmt[STMT_EXAMPLES_SUM];
    bind = sqlite3_bind_int64 (stmt, 1, suite_id);
    for (size_t i = 0; i < count && result == 0; i++) {
        rc = s_step (self, stmt, bind | s_bind_text (stmt, 2, names[i]), "examples_sum");
        if (rc < 0)
            result = -1;
        else if (rc == SQLITE_ROW && sqlite3_column_int64 (stmt, 1) > 0) {
            double sum = sqlite3_column_double (stmt, 0);
            if (sum > estimate_ms[i])
                estimate_ms[i] = sum;
        }
        sqlite3_reset (stmt);
    }
    s_release (stmt);
    return result;
}

int
store_suite_median (store_t *self, int64_t suite_id, double *median_ms)
{
    sqlite3_stmt *stmt = self->stmt[STMT_SUITE_MEDIAN];
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, suite_id), "suite_median");
    *median_ms = rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL
               ? sqlite3_column_double (stmt, 0) : -1;
    s_release (stmt);
    return rc < 0 ? -1 : 0;
}

int
store_suite_startup (store_t *self, int64_t suite_id, double *startup_ms, int64_t *samples)
{
    sqlite3_stmt *stmt = self->stmt[STMT_STARTUP_GET];
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, suite_id), "startup_get");
    *startup_ms = -1;
    *samples = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL) {
        *startup_ms = sqlite3_column_double (stmt, 0);
        *samples = sqlite3_column_int64 (stmt, 1);
    }
    s_release (stmt);
    return rc < 0 ? -1 : 0;
}

int
store_learn_startup (store_t *self, int64_t suite_id, double sample_ms, double alpha)
{
    assert (alpha > 0 && alpha <= 1);
    sqlite3_stmt *stmt = self->stmt[STMT_STARTUP_LEARN];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | sqlite3_bind_double (stmt, 2, sample_ms)
             | sqlite3_bind_double (stmt, 3, alpha);
    return s_write (self, STMT_STARTUP_LEARN, bind, "startup_learn", true);
}

int
store_machine_pace (store_t *self, int64_t suite_id, const char *machine, store_machine_t *row)
{
    assert (machine && row);
    sqlite3_stmt *stmt = self->stmt[STMT_MACHINE_GET];
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, suite_id)
                                 | s_bind_text (stmt, 2, machine), "machine_get");
    *row = (store_machine_t) { .pace = -1 };
    if (rc == SQLITE_ROW) {
        row->pace = sqlite3_column_double (stmt, 0);
        row->samples = sqlite3_column_double (stmt, 1);
        row->spread = sqlite3_column_double (stmt, 2);
        row->builds = sqlite3_column_int64 (stmt, 3);
    }
    s_release (stmt);
    return rc < 0 ? -1 : 0;
}

int
store_learn_machine (store_t *self, int64_t suite_id, const char *machine, double pace,
                     double samples, double noise, double alpha, double cap,
                     double first_spread, int64_t at_ms)
{
    assert (machine && pace > 0 && samples >= 0 && alpha > 0 && alpha <= 1);
    assert (first_spread >= 0);
    sqlite3_stmt *stmt = self->stmt[STMT_MACHINE_LEARN];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | s_bind_text (stmt, 2, machine)
             | sqlite3_bind_double (stmt, 3, pace)
             | sqlite3_bind_double (stmt, 4, samples)
             | sqlite3_bind_double (stmt, 5, alpha)
             | sqlite3_bind_double (stmt, 6, cap)
             | sqlite3_bind_int64 (stmt, 7, at_ms)
             | sqlite3_bind_double (stmt, 8, first_spread)
             | sqlite3_bind_double (stmt, 9, noise);
    return s_write (self, STMT_MACHINE_LEARN, bind, "machine_learn", true);
}

int
store_file_sums (store_t *self, int64_t build_id, int64_t suite_id, double alpha, int64_t at_ms,
                 size_t *recorded)
{
    //  Read every complete file first: recording writes to samples, which
    //  the open SELECT reads.
    sqlite3_stmt *stmt = self->stmt[STMT_FILE_SUMS];
    char **files = NULL;
    double *sums = NULL;         //  on a machine of the median pace
    double *measured = NULL;     //  as the examples' machines took them
    size_t count = 0;
    *recorded = 0;
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, build_id)
                                 | sqlite3_bind_int64 (stmt, 2, suite_id), "file_sums");
    while (rc == SQLITE_ROW) {
        if (sqlite3_column_int64 (stmt, 2) == sqlite3_column_int64 (stmt, 3)) {
            files = util_realloc (files, (count + 1) * sizeof (char *));
            sums = util_realloc (sums, (count + 1) * sizeof (double));
            measured = util_realloc (measured, (count + 1) * sizeof (double));
            files[count] = s_column_text (stmt, 0);
            sums[count] = sqlite3_column_double (stmt, 1);
            measured[count] = sqlite3_column_double (stmt, 4);
            count++;
        }
        rc = s_step (self, stmt, SQLITE_OK, "file_sums");
    }
    s_release (stmt);
    int result = rc == SQLITE_DONE ? 0 : -1;
    for (size_t i = 0; i < count; i++) {
        //  The file's sample keeps its measured time; its pace is what
        //  makes the estimate learn the median machine's sum.
        bool paced = sums[i] > 0 && measured[i] > 0;
        if (result == 0
        &&  store_record_sample_paced (self, suite_id, build_id, files[i], NULL,
                                       paced ? measured[i] : sums[i],
                                       paced ? measured[i] / sums[i] : 1.0, true, alpha,
                                       at_ms) == 0)
            (*recorded)++;
        else
            result = -1;
        free (files[i]);
    }
    free (files);
    free (sums);
    free (measured);
    return result;
}

int
store_record_sample (store_t *self, int64_t suite_id, int64_t build_id,
                     const char *name, double duration_ms, bool ok,
                     double alpha, int64_t at_ms)
{
    return store_record_sample_of (self, suite_id, build_id, name, NULL, duration_ms, ok,
                                   alpha, at_ms);
}

int
store_record_sample_of (store_t *self, int64_t suite_id, int64_t build_id, const char *name,
                        const char *parent, double duration_ms, bool ok, double alpha,
                        int64_t at_ms)
{
    return store_record_sample_paced (self, suite_id, build_id, name, parent, duration_ms, 1.0,
                                      ok, alpha, at_ms);
}

int
store_record_sample_paced (store_t *self, int64_t suite_id, int64_t build_id,
                           const char *name, const char *parent, double duration_ms,
                           double pace, bool ok, double alpha, int64_t at_ms)
{
    assert (name);
    assert (alpha > 0 && alpha <= 1);
    assert (pace > 0 && isfinite (pace));
    bool owned;
    if (s_own_begin (self, &owned) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[STMT_SAMPLE_INSERT];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | (build_id > 0 ? sqlite3_bind_int64 (stmt, 2, build_id)
                             : sqlite3_bind_null (stmt, 2))
             | s_bind_text (stmt, 3, name)
             | sqlite3_bind_double (stmt, 4, duration_ms)
             | sqlite3_bind_int (stmt, 5, ok ? 1 : 0)
             | sqlite3_bind_int64 (stmt, 6, at_ms)
             | sqlite3_bind_double (stmt, 7, pace);
    int result = s_write (self, STMT_SAMPLE_INSERT, bind, "sample_insert", false);
    if (result == 0) {
        stmt = self->stmt[STMT_TIMING_UPSERT];
        bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | s_bind_text (stmt, 2, name)
             | sqlite3_bind_double (stmt, 3, duration_ms / pace)
             | sqlite3_bind_double (stmt, 4, alpha)
             | sqlite3_bind_int64 (stmt, 5, at_ms)
             | (parent ? s_bind_text (stmt, 6, parent) : sqlite3_bind_null (stmt, 6));
        result = s_write (self, STMT_TIMING_UPSERT, bind, "timing_upsert", false);
    }
    return s_own_end (self, owned, result);
}

int
store_repace_sample (store_t *self, int64_t suite_id, int64_t build_id, const char *name,
                     double pace, double alpha, bool *changed)
{
    assert (name && changed);
    assert (pace > 0 && isfinite (pace) && alpha > 0 && alpha <= 1);
    *changed = false;
    sqlite3_stmt *stmt = self->stmt[STMT_SAMPLE_UNPACED];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | s_bind_text (stmt, 2, name)
             | sqlite3_bind_int64 (stmt, 3, build_id);
    int rc = s_step (self, stmt, bind, "sample_unpaced");
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
    double duration_ms = rc == SQLITE_ROW ? sqlite3_column_double (stmt, 1) : 0;
    if (rc == SQLITE_ROW) {
        rc = s_step (self, stmt, SQLITE_OK, "sample_unpaced");
        if (rc == SQLITE_ROW)
            id = 0;         //  two of them
    }
    s_release (stmt);
    if (rc < 0)
        return -1;
    if (id == 0)
        return 0;
    bool owned;
    if (s_own_begin (self, &owned) != 0)
        return -1;
    stmt = self->stmt[STMT_SAMPLE_REPACE];
    int result = s_write (self, STMT_SAMPLE_REPACE,
                          sqlite3_bind_int64 (stmt, 1, id) | sqlite3_bind_double (stmt, 2, pace),
                          "sample_repace", true);
    if (result == 0) {
        stmt = self->stmt[STMT_TIMING_REPACE];
        bind = sqlite3_bind_int64 (stmt, 1, suite_id)
             | s_bind_text (stmt, 2, name)
             | sqlite3_bind_double (stmt, 3, alpha)
             | sqlite3_bind_double (stmt, 4, duration_ms / pace - duration_ms);
        result = s_write (self, STMT_TIMING_REPACE, bind, "timing_repace", false);
    }
    result = s_own_end (self, owned, result);
    *changed = result == 0;
    return result;
}

void
store_build_clear (store_build_t *row)
{
    if (!row)
        return;
    free (row->build_key);
    free (row->mode);
    free (row->commit);
    free (row->branch);
    free (row->digest);
    free (row->result);
    free (row->suite);
    row->build_key = row->mode = row->commit = row->branch = row->digest = row->result = NULL;
    row->suite = NULL;
}

//  Step a bound SELECT of BUILD_COLUMNS into *row. Returns 0, 1 or -1.
static int
s_build_read (store_t *self, stmt_id_t id, int bind, const char *op, store_build_t *row)
{
    sqlite3_stmt *stmt = self->stmt[id];
    memset (row, 0, sizeof *row);
    int rc = s_step (self, stmt, bind, op);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64 (stmt, 0);
        row->suite_id = sqlite3_column_int64 (stmt, 1);
        row->build_key = s_column_text (stmt, 2);
        row->node_total = (uint32_t) sqlite3_column_int64 (stmt, 3);
        row->mode = s_column_text (stmt, 4);
        row->commit = s_column_text (stmt, 5);
        row->branch = s_column_text (stmt, 6);
        row->digest = s_column_text (stmt, 7);
        row->unit_count = (uint32_t) sqlite3_column_int64 (stmt, 8);
        row->created_ms = sqlite3_column_int64 (stmt, 9);
        row->finished_ms = sqlite3_column_int64 (stmt, 10);
        row->fail_fast = sqlite3_column_int (stmt, 11) != 0;
        row->result = s_column_text (stmt, 12);
        row->suite = s_column_text (stmt, 13);
        row->known = (uint32_t) sqlite3_column_int64 (stmt, 14);
        row->examples = (uint32_t) sqlite3_column_int64 (stmt, 15);
    }
    s_release (stmt);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_build_find (store_t *self, int64_t suite_id, const char *build_key,
                  store_build_t *row)
{
    assert (build_key && row);
    sqlite3_stmt *stmt = self->stmt[STMT_BUILD_FIND];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id) | s_bind_text (stmt, 2, build_key);
    return s_build_read (self, STMT_BUILD_FIND, bind, "build_find", row);
}

int
store_build_get (store_t *self, int64_t build_id, store_build_t *row)
{
    assert (row);
    int bind = sqlite3_bind_int64 (self->stmt[STMT_BUILD_GET], 1, build_id);
    return s_build_read (self, STMT_BUILD_GET, bind, "build_get", row);
}

//  mode, commit, branch and digest may be NULL: stored as "".
int
store_build_insert (store_t *self, store_build_t *row)
{
    assert (row && row->build_key);
    sqlite3_stmt *stmt = self->stmt[STMT_BUILD_INSERT];
    int bind = sqlite3_bind_int64 (stmt, 1, row->suite_id)
             | s_bind_text (stmt, 2, row->build_key)
             | sqlite3_bind_int64 (stmt, 3, row->node_total)
             | s_bind_text (stmt, 4, row->mode)
             | s_bind_text (stmt, 5, row->commit)
             | s_bind_text (stmt, 6, row->branch)
             | s_bind_text (stmt, 7, row->digest)
             | sqlite3_bind_int64 (stmt, 8, row->unit_count)
             | sqlite3_bind_int64 (stmt, 9, row->created_ms)
             | sqlite3_bind_int64 (stmt, 10, row->finished_ms)
             | sqlite3_bind_int (stmt, 11, row->fail_fast ? 1 : 0)
             | sqlite3_bind_int64 (stmt, 12, row->known)
             | sqlite3_bind_int64 (stmt, 13, row->examples);
    if (s_write (self, STMT_BUILD_INSERT, bind, "build_insert", false) != 0)
        return -1;
    row->id = sqlite3_last_insert_rowid (self->db);
    return 0;
}

int
store_units_insert (store_t *self, int64_t build_id, const char *const *names,
                    const double *predicted_ms, size_t count, const uint32_t *split_node)
{
    assert (count == 0 || (names && predicted_ms));
    bool owned;
    if (s_own_begin (self, &owned) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[STMT_UNIT_INSERT];
    int result = 0;
    int bind = sqlite3_bind_int64 (stmt, 1, build_id);    //  kept across the loop
    for (size_t i = 0; i < count && result == 0; i++) {
        assert (names[i]);
        int64_t node = split_node && split_node[i] != STORE_NO_NODE ? (int64_t) split_node[i] : -1;
        int rc = s_step (self, stmt, bind | sqlite3_bind_int64 (stmt, 2, (int64_t) i)
                                          | s_bind_text (stmt, 3, names[i])
                                          | sqlite3_bind_double (stmt, 4, predicted_ms[i])
                                          | sqlite3_bind_int64 (stmt, 5, node),
                         "units_insert");
        if (rc != SQLITE_DONE)
            result = -1;
        sqlite3_reset (stmt);
    }
    s_release (stmt);
    return s_own_end (self, owned, result);
}

int
store_units_load (store_t *self, int64_t build_id, char ***names_out,
                  double **predicted_out, size_t *count_out, uint32_t **split_out)
{
    assert (names_out && predicted_out && count_out);
    sqlite3_stmt *stmt = self->stmt[STMT_UNITS_LOAD];
    char **names = NULL;
    double *predicted = NULL;
    uint32_t *split = NULL;
    size_t count = 0, capacity = 0;
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, build_id), "units_load");
    while (rc == SQLITE_ROW) {
        //  Stored as 0..count-1; a gap means someone edited the file.
        if (sqlite3_column_int64 (stmt, 0) != (int64_t) count) {
            log_error ("store_failed op=units_load build_id=%lld error=\"unit %zu missing\"",
                       (long long) build_id, count);
            rc = -1;
            break;
        }
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            names = util_realloc (names, capacity * sizeof *names);
            predicted = util_realloc (predicted, capacity * sizeof *predicted);
            split = util_realloc (split, capacity * sizeof *split);
        }
        names[count] = s_column_text (stmt, 1);
        predicted[count] = sqlite3_column_double (stmt, 2);
        int64_t node = sqlite3_column_int64 (stmt, 3);
        split[count] = node >= 0 && node < UINT32_MAX ? (uint32_t) node : STORE_NO_NODE;
        count++;
        rc = s_step (self, stmt, SQLITE_OK, "units_load");
    }
    s_release (stmt);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < count; i++)
            free (names[i]);
        free (names);
        free (predicted);
        free (split);
        names = NULL;
        predicted = NULL;
        split = NULL;
        count = 0;
    }
    *names_out = names;
    *predicted_out = predicted;
    *count_out = count;
    if (split_out)
        *split_out = split;
    else
        free (split);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
store_units_parents_set (store_t *self, int64_t build_id, char *const *parents, size_t count)
{
    sqlite3_stmt *stmt = self->stmt[STMT_UNIT_PARENT];
    int result = 0;
    for (size_t i = 0; i < count && result == 0; i++) {
        if (!parents[i])
            continue;
        int bind = sqlite3_bind_int64 (stmt, 1, build_id)
                 | sqlite3_bind_int64 (stmt, 2, (int64_t) i)
                 | s_bind_text (stmt, 3, parents[i]);
        result = s_write (self, STMT_UNIT_PARENT, bind, "unit_parent", true);
    }
    return result;
}

int
store_units_parents_load (store_t *self, int64_t build_id, size_t count, char ***parents_out)
{
    sqlite3_stmt *stmt = self->stmt[STMT_UNIT_PARENTS_LOAD];
    char **parents = util_calloc (count ? count : 1, sizeof (char *));
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, build_id), "unit_parents_load");
    while (rc == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64 (stmt, 0);
        if (idx >= 0 && (size_t) idx < count && !parents[idx])
            parents[idx] = s_column_text (stmt, 1);
        rc = s_step (self, stmt, SQLITE_OK, "unit_parents_load");
    }
    s_release (stmt);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < count; i++)
            free (parents[i]);
        free (parents);
        return -1;
    }
    *parents_out = parents;
    return 0;
}

int
store_split_find (store_t *self, int64_t suite_id, const char *commit, const char *branch,
                  uint32_t node_total, const char *digest, int64_t except_build_id,
                  int64_t *build_id)
{
    sqlite3_stmt *stmt = self->stmt[STMT_SPLIT_FIND];
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id) | s_bind_text (stmt, 2, commit)
             | sqlite3_bind_int64 (stmt, 3, node_total) | s_bind_text (stmt, 4, branch)
             | s_bind_text (stmt, 5, digest) | sqlite3_bind_int64 (stmt, 6, except_build_id);
    int rc = s_step (self, stmt, bind, "split_find");
    int result = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
    if (result == 0)
        *build_id = sqlite3_column_int64 (stmt, 0);
    s_release (stmt);
    return result;
}

int
store_build_finish (store_t *self, int64_t build_id, int64_t at_ms, const char *result)
{
    sqlite3_stmt *stmt = self->stmt[STMT_BUILD_FINISH];
    int bind = sqlite3_bind_int64 (stmt, 1, build_id) | sqlite3_bind_int64 (stmt, 2, at_ms)
             | s_bind_text (stmt, 3, result);
    return s_write (self, STMT_BUILD_FINISH, bind, "build_finish", true);
}

int
store_node_summary (store_t *self, int64_t build_id, uint32_t node_index, uint64_t units,
                    int64_t busy_ms, int64_t idle_ms, int64_t finish_ms)
{
    sqlite3_stmt *stmt = self->stmt[STMT_NODE_SUMMARY];
    int bind = sqlite3_bind_int64 (stmt, 1, build_id)
             | sqlite3_bind_int64 (stmt, 2, node_index)
             | sqlite3_bind_int64 (stmt, 3, (int64_t) units)
             | sqlite3_bind_int64 (stmt, 4, busy_ms)
             | sqlite3_bind_int64 (stmt, 5, idle_ms)
             | sqlite3_bind_int64 (stmt, 6, finish_ms);
    return s_write (self, STMT_NODE_SUMMARY, bind, "node_summary", false);
}

void
store_attempt_clear (store_attempt_t *row)
{
    if (!row)
        return;
    free (row->attempt);
    free (row->last_reply);
    free (row->machine);
    row->attempt = NULL;
    row->last_reply = NULL;
    row->machine = NULL;
    row->last_reply_size = 0;
}

int
store_attempt_insert (store_t *self, int64_t build_id, uint32_t node_index,
                      const char *attempt, int64_t at_ms, bool only_failed,
                      bool no_wait, const char *machine, int64_t *attempt_id)
{
    assert (attempt && attempt_id);
    sqlite3_stmt *stmt = self->stmt[STMT_ATTEMPT_INSERT];
    int bind = sqlite3_bind_int64 (stmt, 1, build_id)
             | sqlite3_bind_int64 (stmt, 2, node_index)
             | s_bind_text (stmt, 3, attempt)
             | sqlite3_bind_int64 (stmt, 4, at_ms)
             | sqlite3_bind_int (stmt, 5, only_failed ? 1 : 0)
             | sqlite3_bind_int (stmt, 6, no_wait ? 1 : 0)
             | (machine ? s_bind_text (stmt, 7, machine) : sqlite3_bind_null (stmt, 7));
    if (s_write (self, STMT_ATTEMPT_INSERT, bind, "attempt_insert", false) != 0)
        return -1;
    *attempt_id = sqlite3_last_insert_rowid (self->db);
    return 0;
}

int
store_attempt_find (store_t *self, const char *attempt, store_attempt_t *row)
{
    assert (attempt && row);
    sqlite3_stmt *stmt = self->stmt[STMT_ATTEMPT_FIND];
    memset (row, 0, sizeof *row);
    int rc = s_step (self, stmt, s_bind_text (stmt, 1, attempt), "attempt_find");
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64 (stmt, 0);
        row->build_id = sqlite3_column_int64 (stmt, 1);
        row->node_index = (uint32_t) sqlite3_column_int64 (stmt, 2);
        row->attempt = util_strdup (attempt);
        row->last_req = (uint64_t) sqlite3_column_int64 (stmt, 3);
        //  An empty blob reads back as NULL, size 0: "none" either way.
        const void *blob = sqlite3_column_blob (stmt, 4);
        size_t size = (size_t) sqlite3_column_bytes (stmt, 4);
        if (blob && size > 0) {
            row->last_reply = util_malloc (size);
            memcpy (row->last_reply, blob, size);
            row->last_reply_size = size;
        }
        row->only_failed = sqlite3_column_int (stmt, 5) != 0;
        row->no_wait = sqlite3_column_int (stmt, 6) != 0;
        row->stopped = sqlite3_column_int (stmt, 7) != 0;
        if (sqlite3_column_type (stmt, 8) != SQLITE_NULL)
            row->machine = s_column_text (stmt, 8);
    }
    s_release (stmt);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_attempt_machines (store_t *self, int64_t build_id, store_attempt_machine_t **rows,
                        size_t *count)
{
    sqlite3_stmt *stmt = self->stmt[STMT_ATTEMPT_MACHINES];
    *rows = NULL;
    *count = 0;
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, build_id), "attempt_machines");
    while (rc == SQLITE_ROW) {
        *rows = util_realloc (*rows, (*count + 1) * sizeof (store_attempt_machine_t));
        store_attempt_machine_t *row = &(*rows)[(*count)++];
        row->id = sqlite3_column_int64 (stmt, 0);
        row->node_index = (uint32_t) sqlite3_column_int64 (stmt, 1);
        row->machine = sqlite3_column_type (stmt, 2) != SQLITE_NULL ? s_column_text (stmt, 2)
                                                                     : NULL;
        rc = s_step (self, stmt, SQLITE_OK, "attempt_machines");
    }
    s_release (stmt);
    if (rc != SQLITE_DONE) {
        store_attempt_machines_free (*rows, *count);
        *rows = NULL;
        *count = 0;
        return -1;
    }
    return 0;
}

void
store_attempt_machines_free (store_attempt_machine_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (rows[i].machine);
    free (rows);
}

int
store_attempt_stop (store_t *self, int64_t attempt_id)
{
    int bind = sqlite3_bind_int64 (self->stmt[STMT_ATTEMPT_STOP], 1, attempt_id);
    return s_write (self, STMT_ATTEMPT_STOP, bind, "attempt_stop", true);
}

int
store_attempt_save_reply (store_t *self, int64_t attempt_id, uint64_t req,
                          const void *reply, size_t size)
{
    assert (reply || size == 0);
    if (size > (size_t) INT32_MAX) {
        log_error ("store_failed op=attempt_save_reply error=\"reply too large\" size=%zu", size);
        return -1;
    }
    sqlite3_stmt *stmt = self->stmt[STMT_ATTEMPT_SAVE];
    int bind = sqlite3_bind_int64 (stmt, 1, attempt_id)
             | sqlite3_bind_int64 (stmt, 2, (int64_t) req)
             | (reply ? sqlite3_bind_blob (stmt, 3, reply, (int) size, SQLITE_STATIC)
                      : sqlite3_bind_null (stmt, 3));
    return s_write (self, STMT_ATTEMPT_SAVE, bind, "attempt_save_reply", true);
}

int
store_batch_insert (store_t *self, int64_t build_id, uint32_t node_index,
                    uint32_t seq, int64_t attempt_id, const uint32_t *unit_idx,
                    size_t count, int64_t at_ms, const store_batch_meta_t *meta,
                    int64_t *batch_id)
{
    assert (batch_id && meta && (unit_idx || count == 0));
    bool owned;
    if (s_own_begin (self, &owned) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[STMT_BATCH_INSERT];
    int bind = sqlite3_bind_int64 (stmt, 1, build_id)
             | sqlite3_bind_int64 (stmt, 2, node_index)
             | sqlite3_bind_int64 (stmt, 3, seq)
             | sqlite3_bind_int64 (stmt, 4, attempt_id)
             | sqlite3_bind_int64 (stmt, 5, at_ms)
             | sqlite3_bind_int (stmt, 6, meta->state)
             | sqlite3_bind_int64 (stmt, 7, (int64_t) meta->lease)
             | sqlite3_bind_int (stmt, 8, meta->kind)
             | sqlite3_bind_int64 (stmt, 9, meta->origin)
             | sqlite3_bind_int64 (stmt, 10, (int64_t) meta->req);
    int result = s_write (self, STMT_BATCH_INSERT, bind, "batch_insert", false);
    if (result != 0)
        return s_own_end (self, owned, result);
    int64_t id = sqlite3_last_insert_rowid (self->db);

    stmt = self->stmt[STMT_BATCH_UNIT_INSERT];
    bind = sqlite3_bind_int64 (stmt, 1, id);              //  kept across the loop
    for (size_t pos = 0; pos < count && result == 0; pos++) {
        int rc = s_step (self, stmt, bind | sqlite3_bind_int64 (stmt, 2, (int64_t) pos)
                                          | sqlite3_bind_int64 (stmt, 3, unit_idx[pos]),
                         "batch_units_insert");
        if (rc != SQLITE_DONE)
            result = -1;
        sqlite3_reset (stmt);
    }
    s_release (stmt);
    if (result == 0)
        *batch_id = id;
    return s_own_end (self, owned, result);
}

int
store_batch_report (store_t *self, int64_t batch_id, uint64_t wall_ms,
                    int32_t exit_code, int64_t at_ms, int state, int64_t tests_ms, uint32_t runs)
{
    sqlite3_stmt *stmt = self->stmt[STMT_BATCH_REPORT];
    int bind = sqlite3_bind_int64 (stmt, 1, batch_id)
             | sqlite3_bind_int64 (stmt, 2, at_ms)
             | sqlite3_bind_int64 (stmt, 3, (int64_t) wall_ms)
             | sqlite3_bind_int (stmt, 4, exit_code)
             | sqlite3_bind_int (stmt, 5, state)
             | (tests_ms >= 0 ? sqlite3_bind_int64 (stmt, 6, tests_ms)
                              : sqlite3_bind_null (stmt, 6))
             | sqlite3_bind_int64 (stmt, 7, runs > 0 ? runs : 1);
    return s_write (self, STMT_BATCH_REPORT, bind, "batch_report", true);
}

int
store_batch_unit_ok (store_t *self, int64_t batch_id, const int8_t *unit_ok, size_t count)
{
    sqlite3_stmt *stmt = self->stmt[STMT_BATCH_UNIT_OK];
    int result = 0;
    for (size_t i = 0; i < count && result == 0; i++) {
        if (unit_ok[i] < 0)
            continue;
        int bind = sqlite3_bind_int64 (stmt, 1, batch_id)
                 | sqlite3_bind_int64 (stmt, 2, (int64_t) i)
                 | sqlite3_bind_int (stmt, 3, unit_ok[i] ? 1 : 0);
        result = s_write (self, STMT_BATCH_UNIT_OK, bind, "batch_unit_ok", true);
    }
    return result;
}

int
store_batch_state (store_t *self, int64_t batch_id, int state, uint64_t lease)
{
    sqlite3_stmt *stmt = self->stmt[STMT_BATCH_STATE];
    int bind = sqlite3_bind_int64 (stmt, 1, batch_id)
             | sqlite3_bind_int (stmt, 2, state)
             | sqlite3_bind_int64 (stmt, 3, (int64_t) lease);
    return s_write (self, STMT_BATCH_STATE, bind, "batch_state", true);
}

int
store_batches_load (store_t *self, int64_t build_id, store_batch_t **batches_out,
                    size_t *count_out)
{
    assert (batches_out && count_out);
    sqlite3_stmt *stmt = self->stmt[STMT_BATCHES_LOAD];
    store_batch_t *batches = NULL;
    size_t count = 0, capacity = 0;
    size_t unit_capacity = 0;           //  of the last batch, the only one growing
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, build_id), "batches_load");
    while (rc == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64 (stmt, 0);
        if (count == 0 || batches[count - 1].id != id) {
            if (count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                batches = util_realloc (batches, capacity * sizeof *batches);
            }
            batches[count++] = (store_batch_t) {
                .id = id,
                .node_index = (uint32_t) sqlite3_column_int64 (stmt, 1),
                .seq = (uint32_t) sqlite3_column_int64 (stmt, 2),
                .attempt_id = sqlite3_column_int64 (stmt, 3),
                .reported = sqlite3_column_int (stmt, 4) != 0,
                .exit_code = (int32_t) sqlite3_column_int64 (stmt, 5),
                .state = sqlite3_column_int (stmt, 7),
                .lease = (uint64_t) sqlite3_column_int64 (stmt, 8),
                .kind = sqlite3_column_int (stmt, 9),
                .origin = (uint32_t) sqlite3_column_int64 (stmt, 10),
                .wall_ms = (uint64_t) sqlite3_column_int64 (stmt, 11),
                .reported_ms = sqlite3_column_int64 (stmt, 12),
                .created_ms = sqlite3_column_int64 (stmt, 13),
                .req = (uint64_t) sqlite3_column_int64 (stmt, 15),
            };
            unit_capacity = 0;
        }
        store_batch_t *batch = &batches[count - 1];
        if (sqlite3_column_type (stmt, 6) != SQLITE_NULL) {
            if (batch->unit_count == unit_capacity) {
                unit_capacity = unit_capacity ? unit_capacity * 2 : 16;
                batch->unit_idx = util_realloc (batch->unit_idx,
                                                unit_capacity * sizeof *batch->unit_idx);
            }
            if (sqlite3_column_type (stmt, 14) != SQLITE_NULL && !batch->unit_ok) {
                //  The first unit with a result of its own: those before
                //  it had none.
                batch->unit_ok = util_malloc (unit_capacity);
                memset (batch->unit_ok, -1, unit_capacity);
            }
            if (batch->unit_ok) {
                batch->unit_ok = util_realloc (batch->unit_ok, unit_capacity);
                batch->unit_ok[batch->unit_count] =
                    sqlite3_column_type (stmt, 14) == SQLITE_NULL
                    ? -1 : (int8_t) (sqlite3_column_int (stmt, 14) != 0);
            }
            batch->unit_idx[batch->unit_count++] = (uint32_t) sqlite3_column_int64 (stmt, 6);
        }
        rc = s_step (self, stmt, SQLITE_OK, "batches_load");
    }
    s_release (stmt);
    if (rc != SQLITE_DONE) {
        store_batches_free (batches, count);
        batches = NULL;
        count = 0;
    }
    *batches_out = batches;
    *count_out = count;
    return rc == SQLITE_DONE ? 0 : -1;
}

void
store_batches_free (store_batch_t *batches, size_t count)
{
    if (!batches)
        return;
    for (size_t i = 0; i < count; i++) {
        free (batches[i].unit_idx);
        free (batches[i].unit_ok);
    }
    free (batches);
}

int
store_suite_counts (store_t *self, int64_t suite_id, int64_t *timings, int64_t *samples)
{
    assert (timings && samples);
    sqlite3_stmt *stmt = self->stmt[STMT_SUITE_COUNTS];
    int rc = s_step (self, stmt, sqlite3_bind_int64 (stmt, 1, suite_id), "suite_counts");
    if (rc == SQLITE_ROW) {
        *timings = sqlite3_column_int64 (stmt, 0);
        *samples = sqlite3_column_int64 (stmt, 1);
    }
    s_release (stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

int
store_fallback_record (store_t *self, int64_t suite_id, const char *build_key,
                       uint32_t node_index, uint32_t node_total, uint64_t units, int64_t at_ms)
{
    //  Rare (a node fell back): prepared when needed, not at open.
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, "INSERT INTO fallbacks (suite_id, build_key, node_index,"
                            " node_total, units, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1,
                            &stmt, NULL) != SQLITE_OK)
        return s_fail (self, "fallback_record");
    int bind = sqlite3_bind_int64 (stmt, 1, suite_id) | s_bind_text (stmt, 2, build_key)
             | sqlite3_bind_int64 (stmt, 3, node_index) | sqlite3_bind_int64 (stmt, 4, node_total)
             | sqlite3_bind_int64 (stmt, 5, (int64_t) units) | sqlite3_bind_int64 (stmt, 6, at_ms);
    int rc = s_step (self, stmt, bind, "fallback_record");
    sqlite3_finalize (stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
store_autocheckpoint (store_t *self, int pages)
{
    char sql[64], value[32];
    snprintf (sql, sizeof sql, "PRAGMA wal_autocheckpoint = %d", pages < 0 ? 0 : pages);
    return s_run (self, "autocheckpoint", sql, value, sizeof value);
}
