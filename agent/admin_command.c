/*  admin_command.c: see admin_command.h.                                 */
#include "admin_command.h"

#include "admin_client.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  How often a running job is asked about.
#define POLL_MS 200

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel admin backup [OPTIONS] FILE\n"
           "       satchel admin check [OPTIONS]\n"
           "\n"
           "Jobs satcheld runs on its database while it goes on serving builds:\n"
           "  backup FILE   a consistent copy of the live database, by SQLite's online\n"
           "                backup, written to FILE here (FILE.partial until it is\n"
           "                whole) and checked with PRAGMA integrity_check\n"
           "  check         PRAGMA integrity_check of the live database\n"
           "Admin requests: with CurveZMQ on, the key must be marked admin.\n"
           "\n"
           "Options:\n"
           "  --coordinator URL     satcheld endpoint (SATCHEL_COORDINATOR,\n"
           "                        default tcp://127.0.0.1:7450)\n"
           "  --server-key FILE     satcheld's public certificate, for CurveZMQ\n"
           "                        (SATCHEL_SERVER_KEY); needs --client-cert\n"
           "  --client-cert FILE    an admin key's secret certificate\n"
           "                        (SATCHEL_CLIENT_CERT)\n"
           "  --force               backup: replace FILE if it exists\n"
           "  --wait SECONDS        give the job this long (default 3600)\n"
           "  --timeout SECONDS     per try of each request (default 5)\n"
           "  --help\n"
           "\n"
           "Exit status: 0; 1 if the job failed, the check found damage, or satcheld\n"
           "refused or could not be reached; 2 for a usage error.\n", out);
}

//  One admin request: action on job (0: start one), at offset.
static int
s_ask (client_t *client, const admin_target_t *target, uint64_t *req, const char *action,
       uint64_t job, uint64_t offset, proto_msg_t **reply)
{
    proto_msg_t *request = proto_msg_new (PROTO_ADMIN);
    char attempt[32];
    snprintf (attempt, sizeof attempt, "admin-%d", (int) getpid ());
    proto_msg_set_str (&request->attempt, attempt);
    request->req = ++*req;
    proto_msg_set_str (&request->action, action);
    request->job = job;
    request->offset = offset;
    int rc = admin_client_call (client, target, request, PROTO_ADMIN_JOB, reply);
    proto_msg_destroy (&request);
    return rc;
}

//  Start a job and ask about it until it is no longer running, at most
//  wait_ms. Returns 0 with the last reply, or 1 after saying why.
static int
s_run_job (client_t *client, const admin_target_t *target, uint64_t *req, const char *action,
           int64_t wait_ms, proto_msg_t **reply)
{
    if (s_ask (client, target, req, action, 0, 0, reply) != 0)
        return 1;
    uint64_t job = (*reply)->job;
    int64_t until = util_mono_ms () + wait_ms;
    while (strcmp ((*reply)->state, "running") == 0) {
        if (util_mono_ms () > until) {
            log_say ("error: the %s (job %llu) still runs after the --wait given; it goes on "
                     "in satcheld", action, (unsigned long long) job);
            proto_msg_destroy (reply);
            return 1;
        }
        zclock_sleep (POLL_MS);
        proto_msg_destroy (reply);
        if (s_ask (client, target, req, action, job, 0, reply) != 0)
            return 1;
    }
    if (strcmp ((*reply)->state, "failed") == 0) {
        log_say ("error: the %s failed in satcheld: %s", action, (*reply)->message);
        proto_msg_destroy (reply);
        return 1;
    }
    return 0;
}

//  PRAGMA integrity_check of the file at path: 0 if "ok", else 1 with what
//  it said in text.
static int
s_check_file (const char *path, char *text, size_t size)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf (text, size, "cannot open it: %s", db ? sqlite3_errmsg (db) : "no memory");
        sqlite3_close (db);
        return 1;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = 1;
    if (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW) {
        snprintf (text, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
        rc = strcmp (text, "ok") == 0 ? 0 : 1;
    }
    else
        snprintf (text, size, "%s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return rc;
}

static int
s_backup (client_t *client, const admin_target_t *target, const char *file, bool force,
          int64_t wait_ms)
{
    struct stat st;
    if (!force && stat (file, &st) == 0) {
        log_say ("error: %s exists; give --force to replace it", file);
        return 1;
    }
    uint64_t req = 0;
    proto_msg_t *reply = NULL;
    if (s_run_job (client, target, &req, "backup", wait_ms, &reply) != 0)
        return 1;
    uint64_t job = reply->job, size = reply->size;
    proto_msg_destroy (&reply);
    char *partial = util_format ("%s.partial", file);
    int fd = open (partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 1;
    if (fd < 0) {
        log_say ("error: cannot write %s: %s", partial, strerror (errno));
        goto cleanup;
    }
    uint64_t offset = 0;
    while (offset < size) {
        if (s_ask (client, target, &req, "fetch", job, offset, &reply) != 0)
            goto cleanup;
        if (reply->offset != offset || reply->data_size == 0) {
            log_say ("error: satcheld sent the backup from byte %llu, not %llu",
                     (unsigned long long) reply->offset, (unsigned long long) offset);
            goto cleanup;
        }
        size_t written = 0;
        while (written < reply->data_size) {
            ssize_t n = write (fd, reply->data + written, reply->data_size - written);
            if (n < 0) {
                log_say ("error: cannot write %s: %s", partial, strerror (errno));
                goto cleanup;
            }
            written += (size_t) n;
        }
        offset += reply->data_size;
        proto_msg_destroy (&reply);
    }
    if (fsync (fd) != 0 || close (fd) != 0) {
        fd = -1;
        log_say ("error: cannot write %s: %s", partial, strerror (errno));
        goto cleanup;
    }
    fd = -1;
    char found[512];
    if (s_check_file (partial, found, sizeof found) != 0) {
        log_say ("error: the copy does not check out: %s; left as %s", found, partial);
        goto cleanup;
    }
    if (rename (partial, file) != 0) {
        log_say ("error: cannot rename %s to %s: %s", partial, file, strerror (errno));
        goto cleanup;
    }
    log_say ("backup of %s written to %s: %llu bytes, integrity ok (job %llu)",
             target->endpoint, file, (unsigned long long) size, (unsigned long long) job);
    rc = 0;
cleanup:
    proto_msg_destroy (&reply);
    if (fd >= 0) {
        close (fd);
        unlink (partial);
    }
    free (partial);
    return rc;
}

static int
s_check (client_t *client, const admin_target_t *target, int64_t wait_ms)
{
    uint64_t req = 0;
    proto_msg_t *reply = NULL;
    if (s_run_job (client, target, &req, "check", wait_ms, &reply) != 0)
        return 1;
    int rc = strcmp (reply->message, "ok") == 0 ? 0 : 1;
    if (rc == 0)
        log_say ("the database of %s checks out: integrity ok", target->endpoint);
    else
        log_say ("error: the database of %s is damaged: %s", target->endpoint, reply->message);
    proto_msg_destroy (&reply);
    return rc;
}

int
admin_command_main (int argc, char **argv)
{
    enum { OPT_FORCE = ADMIN_OPT_OWN, OPT_WAIT, OPT_HELP };
    static const struct option table[] = {
        ADMIN_TARGET_OPTIONS,
        { "force", no_argument, NULL, OPT_FORCE },
        { "wait", required_argument, NULL, OPT_WAIT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    if (argc >= 2 && strcmp (argv[1], "--help") == 0) {
        s_usage (stdout);
        return 0;
    }
    if (argc < 2 || (strcmp (argv[1], "backup") != 0 && strcmp (argv[1], "check") != 0)) {
        fprintf (stderr, "satchel admin: name a job: backup FILE or check (try --help)\n");
        return 2;
    }
    const char *action = argv[1];
    admin_target_t target;
    admin_target_init (&target);
    bool force = false;
    int64_t wait_ms = 3600 * 1000;
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    //  Parsed from the action on: it stands where getopt expects the program.
    while ((opt = util_getopt (argc - 1, argv + 1, ":", table, &bad)) != -1) {
        int taken = admin_target_option (&target, opt, optarg, "satchel admin", bad);
        if (taken == 2)
            return 2;
        if (taken == 1)
            continue;
        switch (opt) {
            case OPT_FORCE: force = true; break;
            case OPT_WAIT:
                if (util_parse_seconds_ms (optarg, 1000, 7 * 24 * 3600 * 1000LL, &wait_ms) != 0) {
                    fprintf (stderr, "satchel admin: --wait must be seconds from 1 to 604800\n");
                    return 2;
                }
                break;
            case OPT_HELP:
                s_usage (stdout);
                return 0;
        }
    }
    //  optind counts within argv + 1.
    int rest = argc - 1 - optind;
    bool backup = strcmp (action, "backup") == 0;
    if (backup && rest != 1) {
        fprintf (stderr, "satchel admin backup: name the one FILE to write (try --help)\n");
        return 2;
    }
    if (!backup && rest != 0) {
        fprintf (stderr, "satchel admin check: unexpected argument '%s' (try --help)\n",
                 argv[1 + optind]);
        return 2;
    }
    if (admin_target_check (&target, backup ? "satchel admin backup" : "satchel admin check")
        != 0)
        return 2;
    client_t *client = admin_client_new (&target);
    if (!client)
        return 1;
    int rc = backup ? s_backup (client, &target, argv[1 + optind], force, wait_ms)
                    : s_check (client, &target, wait_ms);
    client_destroy (&client);
    return rc;
}
