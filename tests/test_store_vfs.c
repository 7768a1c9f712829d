/*  test_store_vfs.c: the VFS that writes each commit's WAL frames at once
    (coordinator/store_vfs.c), on real files in a fresh folder per test.
    Underneath it, a VFS of this test's own passes everything to SQLite's
    default one but counts the writes to WAL files, and can fail the next
    one; beside it, connections through the default VFS read the same
    file, as the checkpointer and the admin commands do.                   */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "store_vfs.h"

#define COUNT_VFS "count-wal"    //  the default VFS, WAL writes counted
#define GATHER_VFS "gather-count" //  store_vfs over COUNT_VFS
#define PAGE_SIZE 4096
#define FRAME_SIZE (PAGE_SIZE + 24)
#define WRITE_PIECE (120 * 1024)      //  store_vfs.c's largest write

//  What COUNT_VFS saw of WAL files (one test at a time, one thread).
static struct {
    int writes;
    int headers;                 //  of which the WAL's header alone (offset 0)
    sqlite3_int64 bytes;
    bool fail_next;              //  the next WAL write fails (SQLITE_IOERR_WRITE)
    int full_in;                 //  > 0: the full_in-th WAL write from now fails (SQLITE_FULL)
    bool full;                   //  every WAL write fails (SQLITE_FULL)
} s_count;

typedef struct {
    sqlite3_file file;
    sqlite3_file *real;
} count_file_t;

static sqlite3_vfs s_count_vfs;
static sqlite3_vfs *s_default;
static sqlite3_io_methods s_count_methods;

#define REAL(f) (((count_file_t *) (f))->real)

static int
s_c_close (sqlite3_file *f)
{
    return REAL (f)->pMethods->xClose (REAL (f));
}

static int
s_c_read (sqlite3_file *f, void *data, int amount, sqlite3_int64 offset)
{
    return REAL (f)->pMethods->xRead (REAL (f), data, amount, offset);
}

static int
s_c_write (sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
    if (s_count.fail_next) {
        s_count.fail_next = false;
        return SQLITE_IOERR_WRITE;
    }
    if ((s_count.full_in > 0 && --s_count.full_in == 0) || s_count.full)
        return SQLITE_FULL;
    s_count.writes++;
    s_count.headers += offset == 0 && amount == 32;
    s_count.bytes += amount;
    return REAL (f)->pMethods->xWrite (REAL (f), data, amount, offset);
}

static int
s_c_truncate (sqlite3_file *f, sqlite3_int64 size)
{
    return REAL (f)->pMethods->xTruncate (REAL (f), size);
}

static int
s_c_sync (sqlite3_file *f, int flags)
{
    return REAL (f)->pMethods->xSync (REAL (f), flags);
}

static int
s_c_file_size (sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL (f)->pMethods->xFileSize (REAL (f), size);
}

static int
s_c_lock (sqlite3_file *f, int level)
{
    return REAL (f)->pMethods->xLock (REAL (f), level);
}

static int
s_c_unlock (sqlite3_file *f, int level)
{
    return REAL (f)->pMethods->xUnlock (REAL (f), level);
}

static int
s_c_check_reserved_lock (sqlite3_file *f, int *out)
{
    return REAL (f)->pMethods->xCheckReservedLock (REAL (f), out);
}

static int
s_c_file_control (sqlite3_file *f, int op, void *arg)
{
    return REAL (f)->pMethods->xFileControl (REAL (f), op, arg);
}

static int
s_c_sector_size (sqlite3_file *f)
{
    return REAL (f)->pMethods->xSectorSize (REAL (f));
}

static int
s_c_device_characteristics (sqlite3_file *f)
{
    return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f));
}

static int
s_c_open (sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out)
{
    (void) vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return s_default->xOpen (s_default, name, file, flags, out);
    count_file_t *self = (count_file_t *) file;
    self->real = (sqlite3_file *) (self + 1);
    int rc = s_default->xOpen (s_default, name, self->real, flags, out);
    self->file.pMethods = rc == SQLITE_OK ? &s_count_methods : NULL;
    return rc;
}

static int
s_setup (void **state)
{
    if (!s_default) {
        s_default = sqlite3_vfs_find (NULL);
        s_count_vfs = *s_default;
        s_count_vfs.zName = COUNT_VFS;
        s_count_vfs.szOsFile = (int) sizeof (count_file_t) + s_default->szOsFile;
        s_count_vfs.xOpen = s_c_open;
        s_count_vfs.pNext = NULL;
        s_count_methods = (sqlite3_io_methods) {
            .iVersion = 1, .xClose = s_c_close, .xRead = s_c_read, .xWrite = s_c_write,
            .xTruncate = s_c_truncate, .xSync = s_c_sync, .xFileSize = s_c_file_size,
            .xLock = s_c_lock, .xUnlock = s_c_unlock,
            .xCheckReservedLock = s_c_check_reserved_lock, .xFileControl = s_c_file_control,
            .xSectorSize = s_c_sector_size, .xDeviceCharacteristics = s_c_device_characteristics
        };
        assert_int_equal (sqlite3_vfs_register (&s_count_vfs, 0), SQLITE_OK);
        assert_int_equal (store_vfs_register_over (GATHER_VFS, COUNT_VFS), 0);
        //  Once only, and the product's own is a name of its own.
        assert_int_equal (store_vfs_register_over (GATHER_VFS, COUNT_VFS), -1);
        assert_int_equal (store_vfs_register (), 0);
        assert_non_null (sqlite3_vfs_find (STORE_VFS_NAME));
        assert_true (sqlite3_vfs_find (NULL) == s_default);
    }
    memset (&s_count, 0, sizeof s_count);
    char *dir = harness_tmpdir ();
    assert_non_null (dir);
    *state = dir;
    return 0;
}

static int
s_teardown (void **state)
{
    char *dir = *state;
    harness_rmtree (dir);
    free (dir);
    return 0;
}

static void
s_exec (sqlite3 *db, const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &error) != SQLITE_OK)
        fail_msg ("%s: %s", sql, error ? error : sqlite3_errmsg (db));
}

static sqlite3_int64
s_int (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    sqlite3_int64 value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

static void
s_assert_intact (sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "ok");
    sqlite3_finalize (stmt);
}

//  The database as satcheld opens it: WAL, synchronous=NORMAL, and two
//  indexed tables so that a transaction changes several pages.
static sqlite3 *
s_open (const char *dir, const char *vfs)
{
    char path[512];
    snprintf (path, sizeof path, "%s/test.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                       vfs), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    s_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                " PRAGMA wal_autocheckpoint = 0;"
                " CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY, v TEXT);"
                " CREATE INDEX IF NOT EXISTS a_v ON a (v);"
                " CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, v BLOB);"
                " CREATE INDEX IF NOT EXISTS b_v ON b (length (v));");
    return db;
}

//  One transaction: rows rows in a and in b, b's values of size bytes.
static int
s_transaction (sqlite3 *db, int rows, int size)
{
    char sql[512];
    snprintf (sql, sizeof sql,
              "BEGIN;"
              " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
              " INSERT INTO a (v) SELECT hex (randomblob (16)) FROM n;"
              " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
              " INSERT INTO b (v) SELECT randomblob (%d) FROM n;"
              " COMMIT;", rows, rows, size);
    return sqlite3_exec (db, sql, NULL, NULL, NULL);
}

//  Remove dir's test database, its WAL and its shared memory.
static void
s_remove_db (const char *dir)
{
    const char *suffixes[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char path[600];
        snprintf (path, sizeof path, "%s/test.db%s", dir, suffixes[i]);
        unlink (path);
    }
}

//  What kill -9 of the writer would leave, now: its database and WAL
//  files copied while it is open (what it keeps in memory is not there).
//  The copy must be intact; returns what count_sql counts in it.
static sqlite3_int64
s_crash_copy_count (const char *dir, const char *count_sql)
{
    char to[512];
    snprintf (to, sizeof to, "%s/copy", dir);
    mkdir (to, 0700);
    const char *names[] = { "test.db", "test.db-wal" };
    for (int i = 0; i < 2; i++) {
        char from_path[600], to_path[600];
        snprintf (from_path, sizeof from_path, "%s/%s", dir, names[i]);
        snprintf (to_path, sizeof to_path, "%s/%s", to, names[i]);
        FILE *in = fopen (from_path, "rb");
        FILE *out = fopen (to_path, "wb");
        assert_non_null (in);
        assert_non_null (out);
        char buffer[65536];
        size_t got;
        while ((got = fread (buffer, 1, sizeof buffer, in)) > 0)
            assert_int_equal (fwrite (buffer, 1, got, out), got);
        fclose (in);
        fclose (out);
    }
    char path[600];
    snprintf (path, sizeof path, "%s/test.db", to);
    sqlite3 *copy = NULL;
    assert_int_equal (sqlite3_open (path, &copy), SQLITE_OK);
    sqlite3_int64 count = s_int (copy, count_sql);
    s_assert_intact (copy);
    sqlite3_close (copy);
    s_remove_db (to);
    return count;
}

//  Through COUNT_VFS alone a commit is two writes a page; through the
//  gathering VFS above it, one write of the same frames.
static void
test_a_commit_is_one_write (void **state)
{
    sqlite3 *plain = s_open (*state, COUNT_VFS);
    s_exec (plain, "PRAGMA wal_checkpoint (TRUNCATE)");
    int writes = s_count.writes;
    sqlite3_int64 bytes = s_count.bytes;
    assert_int_equal (s_transaction (plain, 20, 300), SQLITE_OK);
    int frames = (int) ((s_count.bytes - bytes) / FRAME_SIZE);
    assert_true (frames >= 4);
    assert_true (s_count.writes - writes >= 2 * frames);
    sqlite3_close (plain);

    //  When the WAL starts (over), SQLite syncs its header before the first
    //  frame goes out (a sync writes out what is kept): one write more.
    sqlite3 *db = s_open (*state, GATHER_VFS);
    int headers = s_count.headers;
    for (int t = 0; t < 40; t++) {
        writes = s_count.writes;
        bytes = s_count.bytes;
        int header = s_count.headers;
        assert_int_equal (s_transaction (db, 20, 300), SQLITE_OK);
        frames = (int) ((s_count.bytes - bytes) / FRAME_SIZE);
        header = s_count.headers - header;
        assert_true (frames >= 4);
        if (s_count.writes - writes != 1 + header)
            fail_msg ("transaction %d: %d frames in %d writes, %d of them the WAL header", t,
                      frames, s_count.writes - writes, header);
        if (t == 20)
            s_exec (db, "PRAGMA wal_checkpoint (RESTART)");
    }
    //  Here: at the first transaction, and at the one after the restart.
    assert_int_equal (s_count.headers - headers, 2);
    s_assert_intact (db);
    assert_int_equal (s_int (db, "SELECT count(*) FROM a"), 41 * 20);
    sqlite3_close (db);
}

//  What a commit through the gathering VFS wrote, another connection sees
//  the moment the commit returned: small commits, commits larger than
//  one write (120 KiB) and than what the VFS keeps (4 MiB), with the WAL
//  checkpointed and started over on the way by the other connection.
static void
test_other_connections_see_every_commit (void **state)
{
    sqlite3 *db = s_open (*state, STORE_VFS_NAME);
    sqlite3 *other = s_open (*state, NULL);
    sqlite3_int64 rows = 0, bytes = 0;
    const int sizes[] = { 10, 100, 3000, 40000, 400000 };
    for (int t = 0; t < 60; t++) {
        int size = sizes[t % 5];
        int count = t % 5 == 4 ? 15 : 7;     //  15 x 400 KB: 6 MB in one commit
        assert_int_equal (s_transaction (db, count, size), SQLITE_OK);
        rows += count;
        bytes += (sqlite3_int64) count * size;
        assert_int_equal (s_int (other, "SELECT count(*) FROM b"), rows);
        assert_int_equal (s_int (other, "SELECT total (length (v)) FROM b"), bytes);
        if (t % 10 == 9)
            s_exec (other, "PRAGMA wal_checkpoint (RESTART)");
    }
    s_assert_intact (other);
    s_assert_intact (db);
    sqlite3_close (other);
    sqlite3_close (db);
}

//  A write that fails fails the commit: nothing of the transaction is
//  seen, and the next one goes through.
static void
test_a_failed_write_fails_the_commit (void **state)
{
    sqlite3 *db = s_open (*state, GATHER_VFS);
    sqlite3 *other = s_open (*state, NULL);
    assert_int_equal (s_transaction (db, 5, 100), SQLITE_OK);
    s_count.fail_next = true;
    int rc = s_transaction (db, 5, 100);
    assert_int_equal (rc & 0xff, SQLITE_IOERR);
    assert_false (s_count.fail_next);
    if (!sqlite3_get_autocommit (db))
        s_exec (db, "ROLLBACK");
    assert_int_equal (s_int (other, "SELECT count(*) FROM b"), 5);
    assert_int_equal (s_int (db, "SELECT count(*) FROM b"), 5);
    //  Nor does a crash bring the failed commit back: its frames, still
    //  kept when the rollback read from the WAL, are not written later.
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b"), 5);
    //  The same with a transaction that grows the file (its first page,
    //  which the rollback reads again, changes too).
    s_count.fail_next = true;
    rc = s_transaction (db, 50, 300);
    assert_int_equal (rc & 0xff, SQLITE_IOERR);
    if (!sqlite3_get_autocommit (db))
        s_exec (db, "ROLLBACK");
    assert_int_equal (s_int (db, "SELECT count(*) FROM b"), 5);
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b"), 5);
    assert_int_equal (s_transaction (db, 5, 100), SQLITE_OK);
    assert_int_equal (s_int (other, "SELECT count(*) FROM b"), 10);
    assert_int_equal (s_int (db, "SELECT count(*) FROM b"), 10);
    s_assert_intact (other);
    sqlite3_close (other);
    sqlite3_close (db);
}

//  kill -9 of a writer in the middle of its commits loses none that had
//  returned: each was in the file before COMMIT came back.
static void
test_a_killed_writer_keeps_every_returned_commit (void **state)
{
    int ready[2];
    assert_int_equal (pipe (ready), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        close (ready[0]);
        sqlite3 *db = s_open (*state, STORE_VFS_NAME);
        for (unsigned t = 1;; t++) {
            if (s_transaction (db, 3, 2000) != SQLITE_OK)
                _exit (2);
            //  Said only once COMMIT returned.
            if (write (ready[1], &t, sizeof t) != (ssize_t) sizeof t)
                _exit (3);
        }
    }
    close (ready[1]);
    unsigned said = 0, t = 0;
    while (said < 200 && read (ready[0], &t, sizeof t) == (ssize_t) sizeof t)
        said = t;
    assert_int_equal (kill (pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFSIGNALED (status));
    while (read (ready[0], &t, sizeof t) == (ssize_t) sizeof t)
        said = t;
    close (ready[0]);
    assert_true (said >= 200);
    sqlite3 *db = s_open (*state, NULL);
    sqlite3_int64 rows = s_int (db, "SELECT count(*) FROM b");
    assert_true (rows >= (sqlite3_int64) said * 3);
    assert_int_equal (rows % 3, 0);
    s_assert_intact (db);
    sqlite3_close (db);
}

//  A transaction too big for the page cache writes pages to the WAL before
//  its end; one changed again is written over in place, and after the
//  commit frame SQLite rewrites the frame headers from there on (their
//  checksums chain), the commit frame's last. That rewrite must be in the
//  file as the commit returns, or a crash loses the commit; and the
//  checkpoint of another connection must not copy pages of a commit whose
//  last header is not in the file.
static void
test_a_commit_with_pages_written_twice_is_whole_in_the_file (void **state)
{
    sqlite3 *db = s_open (*state, STORE_VFS_NAME);
    s_exec (db, "PRAGMA cache_size = 20");
    assert_int_equal (s_transaction (db, 10, 100), SQLITE_OK);
    sqlite3 *other = s_open (*state, NULL);
    s_exec (db, "BEGIN;"
                " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                " INSERT INTO b (v) SELECT randomblob (200) FROM n;"
                " UPDATE b SET v = randomblob (200) WHERE id % 7 = 0;"
                " COMMIT;");
    assert_int_equal (s_int (other, "SELECT count(*) FROM b"), 3010);
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b"), 3010);
    int log = 0, done = 0;
    assert_int_equal (sqlite3_wal_checkpoint_v2 (other, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                                 &done), SQLITE_OK);
    assert_true (done > 0);
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b"), 3010);
    sqlite3_close (other);
    sqlite3_close (db);
}

//  With synchronous=FULL and no powersafe overwrite, SQLite pads a commit
//  with copies of its last frame up to a sector and syncs in the middle of
//  the last of them; all of it is in the file when the commit returns.
static void
test_full_sync_pads_and_splits_frames_that_are_all_written (void **state)
{
    char uri[600];
    snprintf (uri, sizeof uri, "file:%s/test.db?psow=0", (const char *) *state);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                       | SQLITE_OPEN_URI, STORE_VFS_NAME), SQLITE_OK);
    s_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                " PRAGMA wal_autocheckpoint = 0;"
                " CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);"
                " CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB);");
    sqlite3 *other = s_open (*state, NULL);
    for (int t = 1; t <= 20; t++) {
        assert_int_equal (s_transaction (db, 3, 300 * t), SQLITE_OK);
        assert_int_equal (s_int (other, "SELECT count(*) FROM b"), 3 * t);
        assert_int_equal (s_int (other, "SELECT total (length (v)) FROM b"),
                          3 * 300 * t * (t + 1) / 2);
    }
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b"), 60);
    sqlite3_close (other);
    sqlite3_close (db);
}

//  A disk that fills up: the k-th WAL write after a transaction's first
//  statement fails, for every k its statements reach. The statements spill
//  pages to the WAL and read them back (a read writes out what is kept,
//  frames of earlier statements too), and SQLite carries on after a
//  statement that failed. Whether the commit
//  returns or not, the writer, another connection and a crash copy then
//  agree on what is in the database, and it is intact.
static void
test_a_failed_write_anywhere_leaves_no_commit_half_written (void **state)
{
    const char *dir = *state;
    int failed = 0, committed = 0;
    for (int k = 1; k <= 60; k++) {
        s_remove_db (dir);
        sqlite3 *db = s_open (dir, GATHER_VFS);
        s_exec (db, "PRAGMA cache_size = 10;"
                    " CREATE TABLE c (id INTEGER PRIMARY KEY, v BLOB UNIQUE);"
                    " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
                    " INSERT INTO c (v) SELECT randomblob (100) FROM n;");
        sqlite3 *other = s_open (dir, NULL);
        s_exec (db, "BEGIN");
        for (int statement = 0; statement < 8; statement++) {
            //  From the second statement on: the first leaves frames kept.
            if (statement == 1)
                s_count.full_in = k;
            const char *sql = statement == 0
                ? "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                  " INSERT INTO c (v) SELECT randomblob (300) FROM n"
                : statement % 2 == 1
                ? "UPDATE c SET v = randomblob (300) WHERE id IN (1, 2, 3)"
                : "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)"
                  " INSERT INTO c (v) SELECT randomblob (300) FROM n";
            sqlite3_exec (db, sql, NULL, NULL, NULL);   //  may fail: the disk is full
        }
        int rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
        if (!sqlite3_get_autocommit (db))
            sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
        bool reached = s_count.full_in == 0;
        s_count.full_in = 0;
        if (reached)
            rc == SQLITE_OK ? committed++ : failed++;
        sqlite3_int64 rows = s_int (db, "SELECT count(*) FROM c");
        if (s_int (other, "SELECT count(*) FROM c") != rows)
            fail_msg ("write %d failed: the writer has %lld rows, another connection %lld", k,
                      (long long) rows, (long long) s_int (other, "SELECT count(*) FROM c"));
        s_assert_intact (other);
        sqlite3_int64 copied = s_crash_copy_count (dir, "SELECT count(*) FROM c");
        if (copied != rows)
            fail_msg ("write %d failed: the writer has %lld rows, its crash copy %lld", k,
                      (long long) rows, (long long) copied);
        sqlite3_close (other);
        sqlite3_close (db);
    }
    //  The failures fell inside transactions, some of which still committed.
    assert_true (failed > 0);
    assert_true (failed + committed >= 30);
}

//  (Values are spread by a fixed hash, not random: every run takes the
//  same path.)
//  SQLite carries on with a transaction after a statement that failed on
//  a full disk, and counts the frames of the statements before it as
//  written. Those the VFS still kept when the statement's first read
//  tried to write them out, and could not, must not be lost: what the
//  transaction then commits is whole, for the writer, for another
//  connection and in a crash copy.
static void
test_a_full_disk_for_one_statement_loses_no_earlier_frame (void **state)
{
    const char *dir = *state;
    int went_on = 0;
    for (int variant = 0; variant < 12; variant++) {
        char sql[300];
        s_remove_db (dir);
        sqlite3 *db = s_open (dir, GATHER_VFS);
        s_exec (db, "PRAGMA cache_size = 10;"
                    " CREATE TABLE c (id INTEGER PRIMARY KEY, v BLOB UNIQUE, w INT);"
                    " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
                    " INSERT INTO c (v) SELECT printf ('%.100d', i) FROM n;");
        sqlite3 *other = s_open (dir, NULL);
        s_exec (db, "BEGIN;"
                    " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                    " INSERT INTO c (v) SELECT printf ('%.300d', (1000 + i) * 2654435761 % 4294967291) FROM n;");
        //  Small inserts until the last of them leaves frames kept.
        sqlite3_int64 kept = 0;
        for (int more = 0; more < 3000 && kept == 0; more++) {
            snprintf (sql, sizeof sql, "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1"
                      " FROM n WHERE i < %d) INSERT INTO c (v) SELECT printf ('%%.300d',"
                      " (100000 * %d + i) * 2654435761 %% 4294967291) FROM n", 1 + (more + variant) % 13, more + 1);
            s_exec (db, sql);
            assert_int_equal (sqlite3_file_control (db, "main", STORE_VFS_FCNTL_KEPT, &kept),
                              SQLITE_OK);
        }
        assert_true (kept > 0);
        //  The update's first read writes them out: that write fails.
        s_count.full_in = 1;
        snprintf (sql, sizeof sql, "UPDATE c SET v = printf ('%%.300d', -id) WHERE id IN"
                  " (%d, %d, %d)", 1 + variant * 15, 2 + variant * 15, 3 + variant * 15);
        int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
        assert_int_equal (s_count.full_in, 0);
        assert_int_equal (rc, SQLITE_FULL);
        if (!sqlite3_get_autocommit (db)) {
            went_on++;
            assert_int_equal (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        }
        //  Committed or rolled back: everyone agrees, and it is intact.
        sqlite3_int64 rows = s_int (db, "SELECT count(*) FROM c");
        assert_int_equal (s_int (other, "SELECT count(*) FROM c"), rows);
        s_assert_intact (other);
        assert_int_equal (s_crash_copy_count (dir, "SELECT count(*) FROM c"), rows);
        sqlite3_close (other);
        sqlite3_close (db);
    }
    //  The case that matters happened: a transaction went on and committed.
    assert_true (went_on > 0);
}

//  A commit whose write out failed part way (between two 120 KiB pieces,
//  inside a frame) is dropped; the next commit's frames, written where it
//  stopped, are still appends: its commit frame is seen and it goes out
//  in pieces as any other, as the counts of writes show.
static void
test_a_commit_after_a_failed_one_is_gathered_as_well (void **state)
{
    char path[600];
    snprintf (path, sizeof path, "%s/test.db", (const char *) *state);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                       GATHER_VFS), SQLITE_OK);
    s_exec (db, "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;"
                " PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;"
                " PRAGMA cache_size = -20000;"
                " CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB);"
                " WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                " INSERT INTO b (v) SELECT zeroblob (700) FROM n;"
                " PRAGMA wal_checkpoint (TRUNCATE);"
                " UPDATE b SET v = randomblob (700) WHERE id <= 3;");
    //  600 frames of 1,048 bytes: its sixth piece holds the commit frame,
    //  the fifth fails.
    s_exec (db, "BEGIN; UPDATE b SET v = randomblob (700) WHERE id <= 600;");
    s_count.full_in = 5;
    assert_int_equal (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), SQLITE_FULL);
    assert_int_equal (s_count.full_in, 0);
    if (!sqlite3_get_autocommit (db))
        s_exec (db, "ROLLBACK");
    //  The failed write out stopped 8 bytes into frame 473, where the
    //  first of these commits puts its commit frame; the second's is 483.
    for (int k = 0; k < 2; k++) {
        int rows = 470 + 10 * k;
        int writes = s_count.writes;
        sqlite3_int64 bytes = s_count.bytes;
        char sql[200];
        snprintf (sql, sizeof sql, "BEGIN; UPDATE b SET v = x'0%d' WHERE id <= %d; COMMIT;", k,
                  rows);
        s_exec (db, sql);
        bytes = s_count.bytes - bytes;
        assert_true (bytes > 400 * 1024);
        assert_int_equal (s_count.writes - writes, (bytes + WRITE_PIECE - 1) / WRITE_PIECE);
    }
    assert_int_equal (s_crash_copy_count (*state, "SELECT count(*) FROM b WHERE v = x'01'"),
                      480);
    sqlite3_close (db);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_commit_is_one_write, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_other_connections_see_every_commit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_failed_write_fails_the_commit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_killed_writer_keeps_every_returned_commit,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_commit_with_pages_written_twice_is_whole_in_the_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_full_sync_pads_and_splits_frames_that_are_all_written, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_failed_write_anywhere_leaves_no_commit_half_written, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_full_disk_for_one_statement_loses_no_earlier_frame, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_commit_after_a_failed_one_is_gathered_as_well, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
