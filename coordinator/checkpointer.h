/*  checkpointer.h: SQLite's WAL checkpoints on a thread of their own.

    A checkpoint copies the WAL into the database file and waits on the
    disk; run by the connection that commits (SQLite's default, at 10,000
    pages here), it stalls every request behind it, which is what the
    slowest requests of a farm wait for. With a checkpointer the serving
    connection never checkpoints (wal_autocheckpoint 0, store.c); this
    thread's own connection runs a PASSIVE checkpoint every interval,
    which never blocks the writer, and a RESTART (which briefly does)
    once the WAL has grown past a limit.                                   */
#ifndef SATCHEL_CHECKPOINTER_H
#define SATCHEL_CHECKPOINTER_H

#include <stdint.h>

typedef struct _checkpointer_t checkpointer_t;

//  Start checkpointing the database at path every interval_ms, and
//  starting its WAL over once it holds restart_frames pages. Returns
//  the checkpointer, or NULL (logged) if its connection or thread cannot
//  be had; the caller then leaves checkpoints to the serving connection.
checkpointer_t *checkpointer_start (const char *path, int64_t interval_ms, int restart_frames);

//  Stop the thread (after the checkpoint in hand, if any) and close its
//  connection. Safe on NULL; sets *self_p NULL.
void checkpointer_stop (checkpointer_t **self_p);

//  Checkpoints run so far (for tests and metrics).
uint64_t checkpointer_runs (const checkpointer_t *self);

//  Of which restarted the WAL.
uint64_t checkpointer_restarts (const checkpointer_t *self);

//  RESTARTs tried (none while a reader holds the WAL where it was).
uint64_t checkpointer_restart_tries (const checkpointer_t *self);

#endif
