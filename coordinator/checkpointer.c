/*  checkpointer.c: see checkpointer.h.                                    */
#include "checkpointer.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct _checkpointer_t {
    sqlite3 *db;                 //  this thread's own connection
    int64_t interval_ms;         //  between checkpoints
    int restart_frames;          //  a WAL this long is restarted
    pthread_t thread;
    pthread_mutex_t lock;        //  guards stop and runs
    pthread_cond_t wake;         //  signalled to stop
    bool stop;
    uint64_t runs;
    uint64_t restart_tries;
    uint64_t restarts;
    uint64_t failures;
};

static void *
s_run (void *arg)
{
    checkpointer_t *self = arg;
    int last_log = 0, last_done = 0;   //  what the last PASSIVE saw
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += (time_t) (self->interval_ms / 1000);
        until.tv_nsec += (long) (self->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int waited = 0;
        while (!self->stop && waited != ETIMEDOUT)
            waited = pthread_cond_timedwait (&self->wake, &self->lock, &until);
        if (self->stop)
            break;
        pthread_mutex_unlock (&self->lock);
        //  PASSIVE: copies what no reader needs, never waits for the writer.
        int log_frames = 0, done_frames = 0;
        int rc = sqlite3_wal_checkpoint_v2 (self->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                            &log_frames, &done_frames);
        //  Under steady load PASSIVE never catches up with the writer, so
        //  the WAL is never started over and grows without end. Past
        //  restart_frames, RESTART holds off the writer (it waits in its
        //  busy handler) while the few frames PASSIVE left are copied;
        //  the next commit then writes the WAL from its start again.
        //  But not while a reader holds an old snapshot (a backup, a check):
        //  then PASSIVE copies no further than last time, and RESTART would
        //  hold the writer off for nothing until the reader is done.
        bool pinned = log_frames >= last_log && done_frames == last_done
                   && done_frames < log_frames;
        last_log = log_frames;
        last_done = done_frames;
        bool tried = false, restarted = false;
        if (rc == SQLITE_OK && log_frames >= self->restart_frames && !pinned) {
            tried = true;
            rc = sqlite3_wal_checkpoint_v2 (self->db, NULL, SQLITE_CHECKPOINT_RESTART,
                                            &log_frames, &done_frames);
            restarted = rc == SQLITE_OK;
        }
        pthread_mutex_lock (&self->lock);
        self->runs++;
        self->restart_tries += tried;
        self->restarts += restarted;
        //  Not logged from this thread (the log is the serving thread's):
        //  a checkpoint that fails leaves the WAL longer, nothing else, and
        //  the next one tries again.
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            self->failures++;
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

checkpointer_t *
checkpointer_start (const char *path, int64_t interval_ms, int restart_frames)
{
    checkpointer_t *self = util_calloc (1, sizeof *self);
    self->interval_ms = interval_ms > 0 ? interval_ms : 1;
    self->restart_frames = restart_frames > 0 ? restart_frames : 1;
    if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                         NULL) != SQLITE_OK) {
        log_warn ("checkpointer_unavailable path=%s error=%s", log_quote (path),
                  log_quote (self->db ? sqlite3_errmsg (self->db) : "out of memory"));
        sqlite3_close (self->db);
        free (self);
        return NULL;
    }
    sqlite3_busy_timeout (self->db, 1000);
    //  A connection reads the database header lazily; until it has, it does
    //  not know the file is in WAL mode and its checkpoints do nothing.
    char *why = NULL;
    if (sqlite3_exec (self->db, "PRAGMA journal_mode", NULL, NULL, &why) != SQLITE_OK) {
        log_warn ("checkpointer_unavailable path=%s error=%s", log_quote (path),
                  log_quote (why ? why : "?"));
        sqlite3_free (why);
        sqlite3_close (self->db);
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        log_warn ("checkpointer_unavailable path=%s error=\"no thread\"", log_quote (path));
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
        sqlite3_close (self->db);
        free (self);
        return NULL;
    }
    return self;
}

void
checkpointer_stop (checkpointer_t **self_p)
{
    checkpointer_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    sqlite3_close (self->db);
    free (self);
    *self_p = NULL;
}

//  A count of the thread's, read under its lock.
static uint64_t
s_count (const checkpointer_t *self, const uint64_t *count)
{
    checkpointer_t *mutable = (checkpointer_t *) self;
    pthread_mutex_lock (&mutable->lock);
    uint64_t value = *count;
    pthread_mutex_unlock (&mutable->lock);
    return value;
}

uint64_t
checkpointer_runs (const checkpointer_t *self)
{
    return s_count (self, &self->runs);
}

uint64_t
checkpointer_restarts (const checkpointer_t *self)
{
    return s_count (self, &self->restarts);
}

uint64_t
checkpointer_restart_tries (const checkpointer_t *self)
{
    return s_count (self, &self->restart_tries);
}
