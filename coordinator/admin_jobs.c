/*  admin_jobs.c: see admin_jobs.h.                                       */
#include "admin_jobs.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { S_RUNNING = 0, S_DONE = 1, S_FAILED = 2 } s_state_t;

typedef struct {
    uint64_t id;                 //  the job's number
    bool backup;                 //  backup, else check
    char *db_path;               //  the live database (borrowed from the registry)
    char *copy_path;             //  backup: the copy (owned)
    pthread_t thread;            //  runs it
    atomic_int state;            //  s_state_t; the thread's fields are final once not running
    char message[PROTO_MESSAGE_MAX];  //  what it found, or why it failed
    uint64_t size;               //  backup: the copy's size
    int64_t touched_ms;          //  last asked about (monotonic)
} s_job_t;

struct _admin_jobs_t {
    char *db_path;               //  the live database (owned)
    s_job_t *job;                //  the current or last job, or NULL
    uint64_t last_id;            //  numbers jobs
};

//  The thread's end: its result, then the state that publishes it.
static void
s_finish (s_job_t *job, s_state_t state, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_finish (s_job_t *job, s_state_t state, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (job->message, sizeof job->message, fmt, args);
    va_end (args);
    //  No log_quote here: its buffers belong to the loop's thread.
    log_info ("admin_job_finished job=%llu action=%s state=%s bytes=%llu",
              (unsigned long long) job->id, job->backup ? "backup" : "check",
              state == S_DONE ? "done" : "failed", (unsigned long long) job->size);
    atomic_store_explicit (&job->state, state, memory_order_release);
}

//  PRAGMA name (integrity_check, quick_check) on db: "ok", or up to ten of
//  its findings joined with "; ", in text. Returns 0 if it could run.
static int
s_check (sqlite3 *db, const char *pragma, char *text, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, pragma, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf (text, size, "%s", sqlite3_errmsg (db));
        return -1;
    }
    size_t used = 0;
    int rc;
    text[0] = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *row = (const char *) sqlite3_column_text (stmt, 0);
        if (used < size)
            used += (size_t) snprintf (text + used, size - used, "%s%s", used ? "; " : "",
                                       row ? row : "");
    }
    int result = rc == SQLITE_DONE ? 0 : -1;
    if (result != 0)
        snprintf (text, size, "%s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    return result;
}

static sqlite3 *
s_open (const char *path, int flags, char *why, size_t size)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2 (path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf (why, size, "cannot open %s: %s", path,
                  db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
        sqlite3_close (db);
        return NULL;
    }
    sqlite3_busy_timeout (db, 10000);
    return db;
}

static void *
s_run (void *arg)
{
    s_job_t *job = arg;
    char why[PROTO_MESSAGE_MAX] = "";
    sqlite3 *live = s_open (job->db_path, SQLITE_OPEN_READONLY, why, sizeof why);
    if (!live) {
        s_finish (job, S_FAILED, "%s", why);
        return NULL;
    }
    if (!job->backup) {
        //  Up to 100 findings; "ok" alone when there are none.
        char found[PROTO_MESSAGE_MAX - 64];
        if (s_check (live, "PRAGMA integrity_check(100)", found, sizeof found) != 0)
            s_finish (job, S_FAILED, "integrity_check could not run: %s", found);
        else
            s_finish (job, S_DONE, "%s", found);
        sqlite3_close (live);
        return NULL;
    }
    sqlite3 *copy = s_open (job->copy_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, why,
                            sizeof why);
    if (!copy) {
        sqlite3_close (live);
        s_finish (job, S_FAILED, "%s", why);
        return NULL;
    }
    //  One step over every page: the read transaction it holds is one
    //  snapshot of the database, whatever satcheld writes meanwhile.
    sqlite3_backup *backup = sqlite3_backup_init (copy, "main", live, "main");
    int rc = backup ? sqlite3_backup_step (backup, -1) : sqlite3_errcode (copy);
    if (backup)
        sqlite3_backup_finish (backup);
    char found[256] = "";
    if (rc != SQLITE_DONE)
        snprintf (why, sizeof why, "the backup stopped: %s", sqlite3_errstr (rc));
    //  The copy came with the live file's WAL mode; one self-contained file
    //  is what a backup should be.
    else if (sqlite3_exec (copy, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
        snprintf (why, sizeof why, "the copy's journal mode: %s", sqlite3_errmsg (copy));
    else if (s_check (copy, "PRAGMA quick_check", found, sizeof found) != 0
         ||  strcmp (found, "ok") != 0)
        snprintf (why, sizeof why, "the copy does not check out: %s", found);
    sqlite3_close (copy);
    sqlite3_close (live);
    struct stat st;
    if (!why[0] && stat (job->copy_path, &st) != 0)
        snprintf (why, sizeof why, "the copy is gone: %s", strerror (errno));
    if (why[0]) {
        unlink (job->copy_path);
        s_finish (job, S_FAILED, "%s", why);
        return NULL;
    }
    job->size = (uint64_t) st.st_size;
    s_finish (job, S_DONE, "ok");
    return NULL;
}

//  Wait for the job's thread, remove its copy, free it.
static void
s_job_destroy (s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    pthread_join (job->thread, NULL);
    if (job->copy_path)
        unlink (job->copy_path);
    free (job->copy_path);
    free (job);
    *job_p = NULL;
}

admin_jobs_t *
admin_jobs_new (const char *db_path)
{
    admin_jobs_t *self = util_calloc (1, sizeof *self);
    self->db_path = util_strdup (db_path);
    return self;
}

void
admin_jobs_destroy (admin_jobs_t **self_p)
{
    admin_jobs_t *self = *self_p;
    if (!self)
        return;
    s_job_destroy (&self->job);
    free (self->db_path);
    free (self);
    *self_p = NULL;
}

static void
s_reply (const s_job_t *job, const proto_msg_t *req, proto_msg_t **out)
{
    proto_msg_t *reply = proto_msg_new (PROTO_ADMIN_JOB);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->job = job->id;
    proto_msg_set_str (&reply->action, job->backup ? "backup" : "check");
    int state = atomic_load_explicit (&job->state, memory_order_acquire);
    proto_msg_set_str (&reply->state, state == S_RUNNING ? "running"
                                      : state == S_DONE ? "done" : "failed");
    proto_msg_set_str (&reply->message, state == S_RUNNING ? "" : job->message);
    reply->size = state == S_DONE ? job->size : 0;
    *out = reply;
}

//  A piece of a done backup from offset, into reply. Returns 0, or -1 with
//  why.
static int
s_fetch (const s_job_t *job, uint64_t offset, proto_msg_t *reply, char *why, size_t size)
{
    if (offset > job->size) {
        snprintf (why, size, "offset %llu is past the backup's %llu bytes",
                  (unsigned long long) offset, (unsigned long long) job->size);
        return -1;
    }
    size_t want = job->size - offset < PROTO_CHUNK_MAX ? (size_t) (job->size - offset)
                                                       : PROTO_CHUNK_MAX;
    int fd = open (job->copy_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf (why, size, "cannot read the backup: %s", strerror (errno));
        return -1;
    }
    reply->data = util_malloc (want ? want : 1);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread (fd, reply->data + got, want - got, (off_t) (offset + got));
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close (fd);
    if (got != want) {
        snprintf (why, size, "the backup file is shorter than it was");
        return -1;
    }
    reply->data_size = got;
    reply->offset = offset;
    return 0;
}

void
admin_jobs_handle (admin_jobs_t *self, const proto_msg_t *req, proto_msg_t **out)
{
    int64_t now = util_mono_ms ();
    s_job_t *job = self->job;
    //  A finished job nobody asked about for a while goes, with its copy.
    if (job && atomic_load (&job->state) != S_RUNNING
    &&  now - job->touched_ms > ADMIN_JOBS_KEEP_MS) {
        s_job_destroy (&self->job);
        job = NULL;
    }
    if (req->job == 0) {
        if (job && atomic_load (&job->state) == S_RUNNING) {
            *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUSY, "action",
                                    "admin job %llu (%s) is still running; one runs at a time",
                                    (unsigned long long) job->id,
                                    job->backup ? "backup" : "check");
            return;
        }
        s_job_destroy (&self->job);
        job = util_calloc (1, sizeof *job);
        job->id = ++self->last_id;
        job->backup = strcmp (req->action, "backup") == 0;
        job->db_path = self->db_path;
        if (job->backup)
            job->copy_path = util_format ("%s.backup-%llu", self->db_path,
                                          (unsigned long long) job->id);
        job->touched_ms = now;
        atomic_init (&job->state, S_RUNNING);
        if (pthread_create (&job->thread, NULL, s_run, job) != 0) {
            free (job->copy_path);
            free (job);
            *out = proto_error_new (req->attempt, req->req, PROTO_ERR_INTERNAL, "",
                                    "cannot start a thread for the job");
            return;
        }
        self->job = job;
        log_info ("admin_job_started job=%llu action=%s", (unsigned long long) job->id,
                  req->action);
        s_reply (job, req, out);
        return;
    }
    if (!job || job->id != req->job) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "job",
                                "no admin job %llu here (%s)", (unsigned long long) req->job,
                                job ? "another one came after it" : "none was kept, or"
                                " satcheld restarted");
        return;
    }
    job->touched_ms = now;
    s_reply (job, req, out);
    if (strcmp (req->action, "fetch") != 0)
        return;
    char why[256];
    if (!job->backup || strcmp ((*out)->state, "done") != 0) {
        proto_msg_destroy (out);
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "job",
                                "job %llu is no finished backup", (unsigned long long) job->id);
    }
    else if (s_fetch (job, req->offset, *out, why, sizeof why) != 0) {
        proto_msg_destroy (out);
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "offset", "%s",
                                why);
    }
}
