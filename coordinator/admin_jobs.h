/*  admin_jobs.h: the admin jobs on the database (satchel admin backup and
    check), run in a thread of their own with a connection of their own,
    so that the event loop keeps serving builds meanwhile.

    backup  a consistent copy of the live database by SQLite's online
            backup API: one sqlite3_backup_step over every page, from a
            read-only connection, which in WAL mode reads one snapshot
            while satcheld goes on writing; the copy is written beside the
            database (the one folder satcheld may write under systemd),
            checked with PRAGMA quick_check, and handed to the client in
            pieces of PROTO_CHUNK_MAX bytes ("fetch");
    check   PRAGMA integrity_check of the live database, likewise.

    One job at a time: a request to start one while another runs is told
    busy. A client polls its job until it is done. A finished backup's file
    is removed when the next job starts, when no one has asked about it
    for ADMIN_JOBS_KEEP_MS, or when satcheld stops.                       */
#ifndef SATCHEL_ADMIN_JOBS_H
#define SATCHEL_ADMIN_JOBS_H

#include "proto.h"

#include <stdint.h>

#define ADMIN_JOBS_KEEP_MS (10 * 60 * 1000)

typedef struct _admin_jobs_t admin_jobs_t;

//  db_path: the live database (copied).
admin_jobs_t *admin_jobs_new (const char *db_path);

//  Waits for a running job, removes a backup's file. Safe on NULL.
void admin_jobs_destroy (admin_jobs_t **self_p);

//  Answer an admin request whose key may make it: start a job (job 0), say
//  how one is, or hand out a piece of a finished backup. Always sets *out:
//  an admin_job reply, or an error (busy, an unknown job, a fetch before
//  the backup is done).
void admin_jobs_handle (admin_jobs_t *self, const proto_msg_t *req, proto_msg_t **out);

#endif
