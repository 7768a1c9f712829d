/*  run.c: see run.h.                                                       */
#include "run.h"

#include "client.h"
#include "discover.h"
#include "gitinfo.h"
#include "log.h"
#include "proto.h"
#include "runner.h"
#include "util.h"

#include <czmq.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

//  What this node remembers between requests.
typedef struct {
    const run_options_t *options;    //  borrowed
    client_t *client;                //  lazy-pirate connection
    char attempt[33];                //  fresh id of this run
    uint64_t req;                    //  last request number used
    proto_msg_t *pending_report;     //  the next request's report fields (type NEXT), or NULL
    size_t units_done;               //  units this node ran
    size_t batches;                  //  batches this node ran
    size_t build_units;              //  units in the whole build
    bool failed;                     //  some batch's command failed
    bool returned;                   //  the runner could not work: batch handed back
    int64_t heartbeat_ms;            //  renew a running batch's lease this often
    bool waiting;                    //  said already that this node waits
    int64_t started_ms;              //  monotonic start of the run
} run_state_t;

static void
s_attempt_id (char out[33])
{
    unsigned char bytes[16];
    //  getrandom never returns short for 16 bytes once the pool is ready;
    //  fall back to time and pid mixed if it fails anyway.
    if (getrandom (bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes) {
        uint64_t seed = (uint64_t) util_mono_us () ^ ((uint64_t) getpid () << 32);
        for (size_t i = 0; i < sizeof bytes; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            bytes[i] = (unsigned char) (seed >> 56);
        }
    }
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf (out + 2 * i, 3, "%02x", bytes[i]);
}

//  Send request; on a reply that is a user error, print it and return 1.
//  Returns 0 with *reply, or the exit status to end with.
static int
s_call (run_state_t *state, proto_msg_t *request, proto_msg_t **reply)
{
    char why[1024] = "";
    client_result_t result = client_request (state->client, request, reply, why, sizeof why);
    if (result == CLIENT_INTERRUPTED)
        return 128 + (int) runner_interrupted;
    if (result == CLIENT_UNREACHABLE) {
        log_say ("error: cannot reach the coordinator at %s: %s; check --coordinator "
                 "(SATCHEL_COORDINATOR) and that satcheld is running",
                 state->options->coordinator, why);
        return 1;
    }
    if ((*reply)->type == PROTO_ERROR) {
        log_say ("error: the coordinator refused the %s request: %s%s%s%s",
                 proto_type_name (request->type), (*reply)->message,
                 (*reply)->field && *(*reply)->field ? " (field " : "",
                 (*reply)->field && *(*reply)->field ? (*reply)->field : "",
                 (*reply)->field && *(*reply)->field ? ")" : "");
        proto_msg_destroy (reply);
        return 1;
    }
    return 0;
}

static int
s_join (run_state_t *state, char **units, size_t count)
{
    const run_options_t *options = state->options;
    proto_msg_t *join = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&join->attempt, state->attempt);
    join->req = ++state->req;
    proto_msg_set_str (&join->suite, options->suite);
    proto_msg_set_str (&join->build, options->build);
    join->node_index = options->node_index;
    join->node_total = options->node_total;
    char *commit = options->commit ? util_strdup (options->commit) : gitinfo_commit ();
    char *branch = options->branch ? util_strdup (options->branch) : gitinfo_branch ();
    proto_msg_set_str (&join->commit, commit);
    proto_msg_set_str (&join->branch, branch);
    free (commit);
    free (branch);
    proto_msg_set_str (&join->mode, "queue");
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest ((const char *const *) units, count, digest);
    proto_msg_set_str (&join->digest, digest);
    proto_msg_set_units (join, (const char *const *) units, count);
    join->only_failed = options->only_failed;
    join->fixed_split = options->fixed_split;
    join->no_wait = options->no_wait;
    join->fail_fast = options->fail_fast;
    proto_msg_t *reply = NULL;
    int rc = s_call (state, join, &reply);
    if (rc == 0) {
        if (reply->type != PROTO_JOINED) {
            log_say ("error: the coordinator answered join with %s", proto_type_name (reply->type));
            rc = 1;
        }
        else {
            state->build_units = reply->units_total;
            state->heartbeat_ms = (int64_t) reply->heartbeat_ms;
            log_say ("joined build %s of suite %s as node %u of %u: %llu units in the build%s",
                     options->build, options->suite, options->node_index, options->node_total,
                     (unsigned long long) reply->units_total,
                     reply->created ? " (this node started it)" : "");
            if (reply->replay > 0)
                log_say ("replaying %u batch%s of this node's earlier attempt%s first",
                         reply->replay, reply->replay == 1 ? "" : "es",
                         options->only_failed ? " (only the tests that did not pass)" : "");
        }
    }
    proto_msg_destroy (&reply);
    proto_msg_destroy (&join);
    return rc;
}

//  Renew the lease of the running batch. A heartbeat that gets no answer
//  is not retried: the next one comes soon, and the batch runs on anyway.
static void
s_heartbeat (run_state_t *state, const proto_msg_t *batch, bool *lost)
{
    proto_msg_t *beat = proto_msg_new (PROTO_HEARTBEAT);
    proto_msg_set_str (&beat->attempt, state->attempt);
    beat->req = ++state->req;
    beat->batch = batch->batch;
    beat->lease = batch->lease;
    proto_msg_t *reply = NULL;
    char why[512] = "";
    client_result_t result = client_request_tries (state->client, beat, 1, &reply, why,
                                                   sizeof why);
    if (result == CLIENT_UNREACHABLE)
        log_debug ("heartbeat batch=%u unanswered: %s", batch->batch, why);
    else if (result == CLIENT_OK && reply->type == PROTO_ACK && !reply->held && !*lost) {
        *lost = true;
        log_say ("warning: batch %u: the coordinator gave this batch to another node (its "
                 "lease lapsed); finishing it anyway, its times are kept as history",
                 batch->batch);
    }
    else if (result == CLIENT_OK && reply->type == PROTO_ERROR)
        log_say ("warning: heartbeat refused: %s", reply->message);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&beat);
}

//  The report that hands a batch back unrun.
static proto_msg_t *
s_returned_report (const proto_msg_t *batch)
{
    proto_msg_t *report = proto_msg_new (PROTO_NEXT);
    report->has_report = true;
    report->report_batch = batch->batch;
    report->report_lease = batch->lease;
    report->report_returned = true;
    return report;
}

//  Run one batch, renewing its lease while it runs, and keep its report
//  for the next request. A runner that cannot work (cannot be started, or
//  exits 126 or 127, the shell's "cannot execute" and "not found") has run
//  no test: the batch is handed back so other nodes run it, and this node
//  stops rather than drain the queue into failures.
static void
s_run_batch (run_state_t *state, const proto_msg_t *batch)
{
    const run_options_t *options = state->options;
    char **argv = runner_argv (options->command, options->command_count, batch->units,
                               batch->unit_count);
    char why[512] = "";
    int64_t start = util_mono_ms ();
    if (batch->kind != PROTO_KIND_QUEUE)
        log_say ("batch %u: %s of %zu unit%s", batch->batch,
                 batch->kind == PROTO_KIND_REPLAY ? "replay" : "run again after a failure elsewhere",
                 batch->unit_count, batch->unit_count == 1 ? "" : "s");
    pid_t pid = runner_start (argv, why, sizeof why);
    int status = -1000;
    if (pid > 0) {
        bool lost = false;
        int64_t every = state->heartbeat_ms > 0 ? state->heartbeat_ms : 10000;
        while (runner_wait (pid, every, &status) == 0)
            s_heartbeat (state, batch, &lost);
    }
    int64_t wall = util_mono_ms () - start;
    free (argv);
    proto_msg_destroy (&state->pending_report);
    if (pid < 0 || status == 126 || status == 127) {
        if (pid > 0)
            snprintf (why, sizeof why, "%s exited %d (%s)", options->command[0], status,
                      status == 127 ? "command not found" : "cannot execute");
        log_say ("error: batch %u: %s; handing the batch back to the coordinator so other "
                 "nodes run it, and stopping this node; check the test command after --",
                 batch->batch, why);
        state->pending_report = s_returned_report (batch);
        state->returned = true;
        return;
    }
    if (status != 0)
        state->failed = true;

    //  Apportion the batch's wall time to its units by their predictions.
    proto_msg_t *report = proto_msg_new (PROTO_NEXT);
    report->has_report = true;
    report->report_batch = batch->batch;
    report->report_lease = batch->lease;
    report->report_wall_ms = (uint64_t) wall;
    report->report_exit = status;
    report->report_time_count = batch->unit_count;
    report->report_times_ms = util_calloc (batch->unit_count ? batch->unit_count : 1,
                                           sizeof (uint64_t));
    double predicted_sum = 0;
    for (size_t i = 0; i < batch->unit_count; i++)
        predicted_sum += (double) batch->predicted_ms[i];
    for (size_t i = 0; i < batch->unit_count; i++) {
        double share = predicted_sum > 0 ? (double) batch->predicted_ms[i] / predicted_sum
                                         : 1.0 / (double) batch->unit_count;
        report->report_times_ms[i] = (uint64_t) ((double) wall * share + 0.5);
    }
    state->pending_report = report;
    state->units_done += batch->unit_count;
    state->batches++;
    char status_text[32];
    if (status >= 0)
        snprintf (status_text, sizeof status_text, "exit %d", status);
    else
        snprintf (status_text, sizeof status_text, "killed by signal %d", -status);
    log_say ("batch %u: %zu unit%s in %.2f s, %s; this node has run %zu of the build's %zu units",
             batch->batch, batch->unit_count, batch->unit_count == 1 ? "" : "s",
             (double) wall / 1000.0, status_text, state->units_done, state->build_units);
}

//  Sleep ms, waking early on a signal.
static void
s_sleep (int64_t ms)
{
    int64_t until = util_mono_ms () + ms;
    while (!runner_interrupted) {
        int64_t left = until - util_mono_ms ();
        if (left <= 0)
            break;
        poll (NULL, 0, (int) (left > 200 ? 200 : left));
    }
}

//  The exit status for a done reply.
static int
s_done (run_state_t *state, const proto_msg_t *reply)
{
    const char *reason = reply->reason ? reply->reason : "";
    if (strcmp (reason, "returned") == 0)
        return 1;       //  s_run_batch said why
    if (strcmp (reason, "fail_fast") == 0) {
        log_say ("error: the build stopped after a failure (--fail-fast); %llu of %llu units "
                 "were done", (unsigned long long) reply->units_done,
                 (unsigned long long) reply->units_total);
        return 1;
    }
    if (reply->flaky > 0)
        log_say ("warning: %llu unit%s of the build failed, then passed when run again: flaky",
                 (unsigned long long) reply->flaky, reply->flaky == 1 ? "" : "s");
    if (strcmp (reason, "no_wait") == 0 && reply->units_done < reply->units_total)
        log_say ("the queue is empty; not waiting for the %llu units still running on other "
                 "nodes (--no-wait)",
                 (unsigned long long) (reply->units_total - reply->units_done));
    const run_options_t *options = state->options;
    log_say ("node %u of %u done: %zu units in %zu batches, %.2f s%s",
             options->node_index, options->node_total, state->units_done, state->batches,
             (double) (util_mono_ms () - state->started_ms) / 1000.0,
             reply->failed > 0 ? "; some tests failed" :
             state->failed ? "; every failure passed when run again" : "");
    return reply->failed > 0 ? 1 : 0;
}

static int
s_loop (run_state_t *state)
{
    while (true) {
        if (runner_interrupted)
            return 128 + (int) runner_interrupted;
        proto_msg_t *next = state->pending_report ? state->pending_report
                                                  : proto_msg_new (PROTO_NEXT);
        state->pending_report = NULL;
        proto_msg_set_str (&next->attempt, state->attempt);
        next->req = ++state->req;
        proto_msg_t *reply = NULL;
        int rc = s_call (state, next, &reply);
        proto_msg_destroy (&next);
        if (rc != 0)
            return rc;
        if (reply->type == PROTO_DONE) {
            rc = s_done (state, reply);
            proto_msg_destroy (&reply);
            return rc;
        }
        if (reply->type == PROTO_WAIT) {
            if (!state->waiting)
                log_say ("the queue is empty; waiting while other nodes finish, to take over "
                         "any batch whose node is lost (%llu of %llu units done)",
                         (unsigned long long) reply->units_done,
                         (unsigned long long) reply->units_total);
            state->waiting = true;
            s_sleep ((int64_t) reply->retry_ms);
            proto_msg_destroy (&reply);
            continue;
        }
        if (reply->type != PROTO_BATCH) {
            log_say ("error: the coordinator answered next with %s", proto_type_name (reply->type));
            proto_msg_destroy (&reply);
            return 1;
        }
        state->waiting = false;
        s_run_batch (state, reply);
        proto_msg_destroy (&reply);
    }
}

int
run_main (const run_options_t *options)
{
    run_state_t state = { .options = options, .started_ms = util_mono_ms () };
    char **units = NULL;
    size_t count = 0;
    char why[1024] = "";
    int rc = 1;
    discover_config_t discover = {
        .pattern = options->pattern, .tests_from = options->tests_from,
        .excludes = options->excludes, .exclude_count = options->exclude_count
    };
    if (discover_tests (&discover, &units, &count, why, sizeof why) != 0) {
        log_say ("error: %s", why);
        goto cleanup;
    }
    if (count == 0) {
        log_say ("error: no tests found for %s%s; check the pattern and the working folder",
                 options->pattern ? "--pattern " : "--tests-from ",
                 options->pattern ? options->pattern : options->tests_from);
        goto cleanup;
    }
    s_attempt_id (state.attempt);
    client_config_t client = {
        .endpoint = options->coordinator, .timeout_ms = options->timeout_ms,
        .retries = options->retries, .backoff_ms = 250, .interrupted = &runner_interrupted
    };
    state.client = client_new (&client);
    log_debug ("attempt id=%s units=%zu", state.attempt, count);
    rc = s_join (&state, units, count);
    discover_free (units, count);
    units = NULL;
    if (rc == 0)
        rc = s_loop (&state);
    if (rc > 128)
        log_say ("stopped by signal %d", rc - 128);
cleanup:
    discover_free (units, count);
    proto_msg_destroy (&state.pending_report);
    client_destroy (&state.client);
    return rc;
}
