/*  bench_scale: large queues. How long a real satcheld takes to start a
    build of 100,000 units, and how much memory it holds with 10 such
    builds in flight.

    A real satcheld on tcp://127.0.0.1:* with its own temporary database;
    one REQ socket speaking the protocol (common/proto.h). For each build:
    a join with its 100,000 sorted names and their digest (the first join
    of a build creates it: every unit stored, its prediction looked up, the
    queue ordered, all committed before the reply), then one `next` that
    takes the first batch. Timed: the join's round trip, and the next's.
    The first --builds builds of the run are of a suite without history;
    then the same names are imported as history (satchel import) and
    HISTORY_BUILDS more builds are timed, whose predictions all come from
    the store (their median: one build alone was once 50% off, right after
    another benchmark's writes).

    Memory: satcheld's VmRSS (/proc/PID/status) after start-up and after
    the --builds builds are in flight (joined, a batch out, none finished);
    the difference over the units in flight is the bytes per queued unit.

    Exit status: 0 if every join and next was answered as expected
    (whatever the figures), 1 otherwise, 2 for a usage error.              */
#include "bench_util.h"
#include "harness.h"
#include "proto.h"
#include "util.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Builds timed with history, for their median.
#define HISTORY_BUILDS 3

#define UNITS_MAX 500000
#define BUILDS_MAX 20
#define REPLY_TIMEOUT_MS 60000

typedef struct {
    uint32_t units;          //  units in each build
    uint32_t builds;         //  builds in flight at once
    bool keep;               //  keep the temporary folder
} options_t;

//  VmRSS of process pid in bytes, from /proc; -1 if unreadable.
static double
s_rss (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = harness_read_file (path);
    if (!text)
        return -1;
    const char *line = strstr (text, "\nVmRSS:");
    double kb = line ? strtod (line + 7, NULL) : -1;
    free (text);
    return kb < 0 ? -1 : kb * 1024;
}

//  Send msg, wait for one reply. Returns the reply (caller destroys) and
//  the round trip in *elapsed_ms, or NULL (said on stderr).
static proto_msg_t *
s_call (zsock_t *socket, const proto_msg_t *msg, double *elapsed_ms)
{
    char *data = NULL;
    size_t size = 0;
    if (proto_encode (msg, &data, &size) != 0) {
        fprintf (stderr, "bench_scale: cannot encode a request\n");
        return NULL;
    }
    int64_t start = util_mono_us ();
    int sent = zmq_send (zsock_resolve (socket), data, size, 0);
    free (data);
    if (sent != (int) size) {
        fprintf (stderr, "bench_scale: send: %s\n", zmq_strerror (zmq_errno ()));
        return NULL;
    }
    zframe_t *frame = zframe_recv (socket);
    *elapsed_ms = (double) (util_mono_us () - start) / 1000.0;
    if (!frame) {
        fprintf (stderr, "bench_scale: no reply within %d ms\n", REPLY_TIMEOUT_MS);
        return NULL;
    }
    proto_error_t err;
    proto_msg_t *reply = proto_decode (zframe_data (frame), zframe_size (frame), NULL, &err);
    zframe_destroy (&frame);
    if (!reply)
        fprintf (stderr, "bench_scale: undecodable reply: %s\n", err.message);
    return reply;
}

//  Join build key of suite as node 0 of 2 and take the first batch.
//  Returns 0 with the two round trips, or -1.
static int
s_build (zsock_t *socket, const char *suite, const char *key, char **names, uint32_t count,
         const char *digest, double *join_ms, double *next_ms)
{
    char attempt[64];
    snprintf (attempt, sizeof attempt, "scale-%s", key);
    proto_msg_t *join = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&join->attempt, attempt);
    join->req = 1;
    proto_msg_set_str (&join->suite, suite);
    proto_msg_set_str (&join->build, key);
    join->node_index = 0;
    join->node_total = 2;
    proto_msg_set_str (&join->commit, "bench");
    proto_msg_set_str (&join->branch, "bench");
    proto_msg_set_str (&join->mode, "queue");
    proto_msg_set_str (&join->digest, digest);
    join->units = names;            //  borrowed for encoding; detached below
    join->unit_count = count;
    proto_msg_t *reply = s_call (socket, join, join_ms);
    join->units = NULL;
    join->unit_count = 0;
    proto_msg_destroy (&join);
    bool good = reply && reply->type == PROTO_JOINED && reply->units_total == count;
    if (reply && !good)
        fprintf (stderr, "bench_scale: join of %s: %s\n", key,
                 reply->message ? reply->message : proto_type_name (reply->type));
    proto_msg_destroy (&reply);
    if (!good)
        return -1;
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = 2;
    reply = s_call (socket, next, next_ms);
    proto_msg_destroy (&next);
    good = reply && reply->type == PROTO_BATCH && reply->unit_count > 0;
    if (reply && !good)
        fprintf (stderr, "bench_scale: first next of %s: %s\n", key,
                 reply->message ? reply->message : proto_type_name (reply->type));
    proto_msg_destroy (&reply);
    return good ? 0 : -1;
}

//  A knapsack report of the names, each 1 s: the history to import.
static int
s_write_history (const char *path, char **names, uint32_t count)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fputc ('{', file);
    for (uint32_t i = 0; i < count; i++)
        fprintf (file, "%s\"%s\": %.3f", i ? ",\n" : "\n", names[i], 0.5 + (i % 100) / 50.0);
    fputs ("\n}\n", file);
    return fclose (file) == 0 ? 0 : -1;
}

static const char *const s_usage =
    "Usage: bench_scale [OPTIONS]\n"
    "\n"
    "Large queues: the time a real satcheld takes to start a build of --units\n"
    "units (a join that creates it, and the first next), without and with\n"
    "history, and its resident memory with --builds such builds in flight.\n"
    "\n"
    "  --units N    units in each build, 1-500000 (default 100000)\n"
    "  --builds N   builds in flight at once, 1-20 (default 10)\n"
    "  --keep       keep the temporary folder (database, daemon log)\n"
    "  --help       show this help\n";

int
main (int argc, char **argv)
{
    options_t options = { .units = 100000, .builds = 10 };
    const bench_option_t table[] = {
        BENCH_U32 ("--units", &options.units, 1, UNITS_MAX),
        BENCH_U32 ("--builds", &options.builds, 1, BUILDS_MAX),
        BENCH_FLAG ("--keep", &options.keep),
        BENCH_OPTIONS_END
    };
    int started = bench_start ("bench_scale", argc, argv, table, s_usage);
    if (started != 0)
        return started > 0 ? 0 : 2;

    //  Zero-padded names: generation order is strcmp order, as a join needs.
    char **names = util_calloc (options.units, sizeof (char *));
    for (uint32_t i = 0; i < options.units; i++) {
        char name[64];
        snprintf (name, sizeof name, "spec/models/group_%03u/unit_%06u_spec.rb", i / 1000, i);
        names[i] = util_strdup (name);
    }
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest ((const char *const *) names, options.units, digest);

    char *dir = harness_tmpdir ();
    char *satchel = harness_bin ("satchel");
    harness_daemon_t daemon = { 0 };
    zsock_t *socket = NULL;
    double join_ms[BUILDS_MAX] = { 0 }, next_ms[BUILDS_MAX] = { 0 };
    double rss_idle = -1, rss_full = -1;
    int rc = 1;
    const char *extra[] = { "--log-level", "warn", NULL };
    if (harness_daemon_start (&daemon, dir, extra) != 0) {
        fprintf (stderr, "bench_scale: satcheld did not start (SATCHEL_BIN_DIR=%s)\n",
                 getenv ("SATCHEL_BIN_DIR"));
        goto cleanup;
    }
    bench_child_track (0, daemon.pid);
    socket = zsock_new (ZMQ_REQ);
    if (!socket || zsock_connect (socket, "%s", daemon.endpoint) != 0)
        goto cleanup;
    zsock_set_linger (socket, 0);
    zsock_set_rcvtimeo (socket, REPLY_TIMEOUT_MS);
    //  A build of one unit first, so the connection and the store are up
    //  before anything is timed.
    double warm_ms = 0;
    char one[PROTO_DIGEST_LEN + 1];
    proto_digest ((const char *const *) names, 1, one);
    if (s_build (socket, "warm-up", "warm-up", names, 1, one, &warm_ms, &warm_ms) != 0)
        goto cleanup;
    rss_idle = s_rss (daemon.pid);

    bool all_ok = true;
    for (uint32_t b = 0; b < options.builds && all_ok && !bench_interrupted (); b++) {
        char key[32];
        snprintf (key, sizeof key, "scale-%u", b + 1);
        if (s_build (socket, "scale", key, names, options.units, digest, &join_ms[b],
                     &next_ms[b]) != 0)
            all_ok = false;
        fprintf (stderr, "bench_scale: build %s of %u units: join %.0f ms, first next %.0f ms\n",
                 key, options.units, join_ms[b], next_ms[b]);
    }
    rss_full = s_rss (daemon.pid);

    //  With history: every unit's prediction from the store.
    char *history = bench_path (dir, "history.json");
    if (all_ok && !bench_interrupted ()
    &&  (s_write_history (history, names, options.units) != 0
         || bench_import ("bench_scale", satchel, daemon.endpoint, dir, "history", history) != 0))
        all_ok = false;
    free (history);
    double history_init[HISTORY_BUILDS] = { 0 };
    for (uint32_t h = 0; h < HISTORY_BUILDS && all_ok && !bench_interrupted (); h++) {
        char key[32];
        double join = 0, next = 0;
        snprintf (key, sizeof key, "history-%u", h + 1);
        if (s_build (socket, "history", key, names, options.units, digest, &join, &next) != 0)
            all_ok = false;
        history_init[h] = join + next;
        fprintf (stderr, "bench_scale: build %s with history: join %.0f ms, first next %.0f ms\n",
                 key, join, next);
    }
    int stop = harness_daemon_stop (&daemon);
    bench_child_track (0, 0);
    if (stop != 0) {
        fprintf (stderr, "bench_scale: satcheld exited %d; log in %s\n", stop, dir);
        all_ok = false;
    }
    if (bench_interrupted ())
        goto cleanup;

    double init[BUILDS_MAX];
    for (uint32_t b = 0; b < options.builds; b++)
        init[b] = join_ms[b] + next_ms[b];
    double median = bench_median (init, options.builds);
    double history_ms = bench_median (history_init, HISTORY_BUILDS);
    double per_unit = (rss_full - rss_idle) / ((double) options.builds * options.units);
    printf ("== Scale: builds of %u units ==\n", options.units);
    bench_print_command (argc, argv);
    printf ("daemon:   satcheld --log-level warn on tcp://127.0.0.1:*, one database\n\n");
    printf ("build start (join that creates the build + first next), no history: median of "
            "%u %.0f ms [%.0f-%.0f]\n", options.builds, median, init[0],
            init[options.builds - 1]);
    printf ("build start with every unit's history in the store: median of %d %.0f ms "
            "[%.0f-%.0f]\n", HISTORY_BUILDS, history_ms, history_init[0],
            history_init[HISTORY_BUILDS - 1]);
    printf ("resident memory: %.1f MB idle, %.1f MB with %u builds in flight: %.0f bytes per "
            "queued unit\n\n", rss_idle / 1e6, rss_full / 1e6, options.builds, per_unit);
    bool is_100k = options.units == 100000;
    printf ("result\tscale: start a build of %u units, no history (median)\t%.0f ms\t%s\t%s\n",
            options.units, median, is_100k ? "< 500 ms" : "-",
            !all_ok ? "FAILED" : !is_100k ? "-" : median < 500 ? "met" : "MISSED");
    printf ("result\tscale: start a build of %u units, with history (median)\t%.0f ms\t%s\t"
            "%s\n",
            options.units, history_ms, is_100k ? "< 500 ms" : "-",
            !all_ok ? "FAILED" : !is_100k ? "-" : history_ms < 500 ? "met" : "MISSED");
    printf ("result\tscale: satcheld memory per queued unit, %u builds in flight\t%.0f B\t"
            "< 300 B\t%s\n", options.builds, per_unit,
            !all_ok || rss_idle < 0 || rss_full < 0 ? "FAILED" : per_unit < 300 ? "met" : "MISSED");
    rc = all_ok ? 0 : 1;
cleanup:
    zsock_destroy (&socket);
    harness_daemon_stop (&daemon);
    bench_child_track (0, 0);
    if (options.keep || rc != 0)
        fprintf (stderr, "bench_scale: %s %s\n", options.keep ? "kept" : "left", dir);
    else
        harness_rmtree (dir);
    for (uint32_t i = 0; i < options.units; i++)
        free (names[i]);
    free (names);
    free (dir);
    free (satchel);
    int signo = bench_interrupted ();
    return signo ? 128 + signo : rc;
}
