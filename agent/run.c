/*  run.c: see run.h.                                                       */
#include "run.h"

#include "client.h"
#include "discover.h"
#include "fallback.h"
#include "gitinfo.h"
#include "junit_run.h"
#include "list_examples.h"
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

//  s_call's answer when satcheld cannot be reached and fallback is on.
#define RUN_FALLBACK (-2)

//  What this node remembers between requests.
typedef struct {
    const run_options_t *options;    //  borrowed
    char **units;                    //  the node's test list, sorted, unique (owned)
    size_t unit_count;               //  how many
    uint8_t *ran;                    //  per unit: this attempt ran it to the end (owned)
    char unreachable[1024];          //  why satcheld could not be reached, for fallback
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
    uint64_t runs;                   //  runner starts so far, for fresh report paths
    bool report_warned;              //  said already that a test report was unusable
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

//  Send request; on a reply that is a user error, print it and return 1:
//  those are never retried and never fall back. Returns 0 with *reply,
//  RUN_FALLBACK if satcheld could not be reached within the retry budget
//  (with fallback on; why in state->unreachable), or the exit status to
//  end with.
static int
s_call (run_state_t *state, proto_msg_t *request, proto_msg_t **reply)
{
    char *why = state->unreachable;
    client_result_t result = client_request (state->client, request, reply, why,
                                             sizeof state->unreachable);
    if (result == CLIENT_INTERRUPTED)
        return 128 + (int) runner_interrupted;
    //  A refused handshake is a configuration error: splitting by name
    //  would run tests the farm has not authorized this agent for.
    if (result == CLIENT_REFUSED) {
        log_say ("error: %s", why);
        return 1;
    }
    if (result == CLIENT_UNREACHABLE) {
        if (state->options->fallback)
            return RUN_FALLBACK;
        log_say ("error: cannot reach the coordinator at %s: %s; not splitting the tests "
                 "by name instead (--no-fallback); check --coordinator (SATCHEL_COORDINATOR) "
                 "and that satcheld is running", state->options->coordinator, why);
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

static void s_sleep (int64_t ms);
static int s_compare_names (const void *a, const void *b);

//  How long a list command may take.
#define RUN_LIST_TIMEOUT_MS (10 * 60 * 1000)

//  The coordinator asks for the examples of the slow files in expand:
//  list them and put them in the join, to be sent again. If listing fails
//  the join says so with no examples, and the files stay whole.
static void
s_list (run_state_t *state, proto_msg_t *join, const proto_msg_t *expand)
{
    const run_options_t *options = state->options;
    list_group_t *groups = NULL;
    size_t group_count = 0;
    char why[1024] = "";
    join->listed = true;
    proto_msg_set_examples (join, NULL, NULL, 0);
    if (!options->can_list) {
        log_say ("warning: the coordinator asked for test examples, but this node has no "
                 "--list-cmd or --list-preset; the slow files stay whole");
        return;
    }
    log_say ("listing the examples of %zu slow test file%s, to split them across nodes",
             expand->unit_count, expand->unit_count == 1 ? "" : "s");
    if (list_examples (options->list_cmd, options->list_preset, expand->units,
                       expand->unit_count, RUN_LIST_TIMEOUT_MS, &groups, &group_count, why,
                       sizeof why) != 0) {
        log_say ("warning: listing the examples failed: %s; the slow files stay whole", why);
        return;
    }
    size_t total = 0;
    for (size_t g = 0; g < group_count; g++)
        total += groups[g].count;
    const char **ids = util_calloc (total ? total : 1, sizeof (char *));
    uint32_t *files = util_calloc (total ? total : 1, sizeof (uint32_t));
    size_t count = 0;
    for (size_t g = 0; g < group_count; g++) {
        const char *file = expand->units[groups[g].file];
        char **found = bsearch (&file, state->units, state->unit_count, sizeof (char *),
                                s_compare_names);
        if (!found)
            continue;   //  not a unit of this node's list: the coordinator asked amiss
        for (size_t k = 0; k < groups[g].count; k++) {
            ids[count] = groups[g].ids[k];
            files[count++] = (uint32_t) (found - state->units);
        }
    }
    proto_msg_set_examples (join, ids, files, count);
    log_say ("%zu slow file%s listed: %zu examples", group_count, group_count == 1 ? "" : "s",
             count);
    free (ids);
    free (files);
    list_groups_free (groups, group_count);
}

static int
s_join (run_state_t *state)
{
    const run_options_t *options = state->options;
    proto_msg_t *join = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&join->attempt, state->attempt);
    join->req = ++state->req;
    proto_msg_set_str (&join->suite, options->suite);
    proto_msg_set_str (&join->build, options->build ? options->build : "");
    join->node_index = options->node_index;
    join->node_total = options->node_total;
    char *commit = options->commit ? util_strdup (options->commit) : gitinfo_commit ();
    char *branch = options->branch ? util_strdup (options->branch) : gitinfo_branch ();
    proto_msg_set_str (&join->commit, commit);
    proto_msg_set_str (&join->branch, branch);
    if (!options->build)
        log_say ("no build id (set SATCHEL_BUILD_ID, or run under a CI system satchel knows: "
                 "see 'satchel env'): the build is named by commit %.12s, branch %s and node "
                 "total %u, so two builds of that commit running at once would share one "
                 "queue", *commit ? commit : "(none)", *branch ? branch : "(none)",
                 options->node_total);
    free (commit);
    free (branch);
    //  The message owns its copy; NULL leaves "machine" out of the join.
    proto_msg_set_str (&join->machine, options->machine);
    if (options->machine)
        log_debug ("machine name=%s source=%s", log_quote (options->machine),
                   log_quote (options->sources.machine));
    else
    if (strncmp (options->sources.machine, "default", 7) != 0)
        log_debug ("machine_none why=empty source=%s", options->sources.machine);
    else
        log_debug ("machine_none host=%s why=%s",
                   log_quote (options->host_name ? options->host_name : "(unknown)"),
                   log_quote (options->sources.machine));
    bool regular = options->mode == RUN_MODE_REGULAR;
    proto_msg_set_str (&join->mode, regular ? "regular" : "queue");
    join->fresh_split = regular && !options->reuse_split;
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest ((const char *const *) state->units, state->unit_count, digest);
    proto_msg_set_str (&join->digest, digest);
    proto_msg_set_units (join, (const char *const *) state->units, state->unit_count);
    join->only_failed = options->only_failed;
    join->fixed_split = options->fixed_split;
    join->no_wait = options->no_wait;
    join->fail_fast = options->fail_fast;
    join->can_list = options->can_list;
    join->slow_ms = (uint64_t) options->slow_threshold_ms;
    proto_msg_t *reply = NULL;
    int rc = s_call (state, join, &reply);
    bool told_wait = false;
    //  The build may not exist yet: list the slow files' examples when
    //  asked, or wait while another node does, then join again.
    while (rc == 0 && (reply->type == PROTO_EXPAND || reply->type == PROTO_WAIT)) {
        if (reply->type == PROTO_EXPAND)
            s_list (state, join, reply);
        else {
            if (!told_wait)
                log_say ("another node is listing the examples of the slow test files; "
                         "waiting for it");
            told_wait = true;
            s_sleep ((int64_t) reply->retry_ms);
            if (runner_interrupted) {
                rc = 128 + (int) runner_interrupted;
                break;
            }
        }
        proto_msg_destroy (&reply);
        join->req = ++state->req;
        rc = s_call (state, join, &reply);
    }
    if (rc == 0) {
        if (reply->type != PROTO_JOINED) {
            log_say ("error: the coordinator answered join with %s", proto_type_name (reply->type));
            rc = 1;
        }
        else {
            state->build_units = reply->units_total;
            state->heartbeat_ms = (int64_t) reply->heartbeat_ms;
            log_say ("joined build %s of suite %s as node %u of %u: %llu units in the build%s%s",
                     options->build ? options->build : "(named by commit)", options->suite,
                     options->node_index, options->node_total,
                     (unsigned long long) reply->units_total,
                     reply->created ? " (this node started it)" : "",
                     regular ? "; regular mode: this node's list comes whole" : "");
            if (reply->created || reply->known < reply->units_total)
                log_say ("timing history: %llu of the build's units had some, %llu were "
                         "estimated%s", (unsigned long long) reply->known,
                         (unsigned long long) (reply->units_total - reply->known),
                         reply->known < reply->units_total
                         ? " (the median of their folder, else of the suite)" : "");
            //  Without a report the history only ever holds shares of batch
            //  wall times, which blur tests that run together: say how to do
            //  better, once, where the user reads the job's log.
            if (!options->junit && !options->junit_in_command)
                log_say ("no test report (no {junit} in the command, no --junit): satcheld "
                         "learns each batch's wall time only, shared over its tests by their "
                         "predictions; a JUnit report gives each test its own time");
            if (reply->examples_total > 0)
                log_say ("slow files were split: %llu of the build's units are test examples",
                         (unsigned long long) reply->examples_total);
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
    //  A refusal (possible only on a new connection) ends the run at the
    //  next request, which s_call judges.
    if (result == CLIENT_UNREACHABLE || result == CLIENT_REFUSED)
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

//  What running a list of units in runs of at most --batch-size gave.
typedef struct {
    int status;                  //  0 all passed; else the first failing run's status,
                                 //  or the first negative one (killed by a signal)
    uint64_t wall_ms;            //  all runs together
    uint64_t *times_ms;          //  per unit: from the test report, else its run's wall
                                 //  time apportioned (owned)
    uint8_t *unit_status;        //  per unit PROTO_UNIT_*, from the test reports; NULL if
                                 //  some run had no usable report (owned)
    uint32_t runs;               //  runner starts
    bool broken;                 //  the runner could not work: nothing of the list counts
    char why[512];               //  if broken: why
} run_result_t;

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Mark a completed run's units as run by this attempt, for fallback.
static void
s_mark_ran (run_state_t *state, char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char **found = bsearch (&names[i], state->units, state->unit_count, sizeof (char *),
                                s_compare_names);
        if (found)
            state->ran[found - state->units] = 1;
    }
}

//  Run names[0..count) with the test command, at most --batch-size of them
//  per runner start (all at once by default). While a run works, the
//  batch's lease is renewed (batch NULL: fallback, nobody to tell). Each
//  run's wall time is apportioned to its units by their predictions
//  (predicted NULL: evenly). A runner that cannot work (cannot be started,
//  or exits 126 or 127, the shell's "cannot execute" and "not found") ends
//  the list at once with broken set. SIGINT/SIGTERM ends it after the run
//  in progress.
static void
s_run_list (run_state_t *state, const proto_msg_t *batch, char *const *names,
            const uint64_t *predicted, size_t count, run_result_t *result)
{
    const run_options_t *options = state->options;
    memset (result, 0, sizeof *result);
    result->times_ms = util_calloc (count ? count : 1, sizeof (uint64_t));
    bool reports = options->junit || options->junit_in_command;
    //  A unit no report speaks for (its run was killed by a signal, or
    //  never started) is absent, so the batch's exit status decides its
    //  result: zero-filled it would read as passed (PROTO_UNIT_PASSED is 0).
    if (reports) {
        result->unit_status = util_malloc (count ? count : 1);
        memset (result->unit_status, PROTO_UNIT_ABSENT, count ? count : 1);
    }
    size_t per = options->batch_size > 0 && options->batch_size < count
               ? options->batch_size : count;
    bool lost = false;
    int64_t every = state->heartbeat_ms > 0 ? state->heartbeat_ms : 10000;
    //  Beats are due by the clock, not per run: a list of many short runs
    //  must renew its lease too.
    int64_t next_beat = util_mono_ms () + every;
    for (size_t first = 0; first < count && !runner_interrupted; first += per) {
        size_t take = count - first < per ? count - first : per;
        junit_run_t report;
        junit_run_prepare (&report, options, state->attempt, ++state->runs);
        char **argv = report.argv_strings
                    ? runner_argv (report.argv_strings, report.argv_count, names + first, take)
                    : runner_argv (options->command, options->command_count, names + first,
                                   take);
        if (per < count)
            log_debug ("run first=%zu units=%zu of=%zu", first + 1, take, count);
        int64_t start = util_mono_ms ();
        pid_t pid = runner_start (argv, result->why, sizeof result->why);
        int status = -1000;
        while (pid > 0) {
            int64_t left = next_beat - util_mono_ms ();
            if (runner_wait (pid, left > 0 ? left : 0, &status) == 1)
                break;
            if (util_mono_ms () >= next_beat) {
                if (batch)
                    s_heartbeat (state, batch, &lost);
                next_beat = util_mono_ms () + every;
            }
        }
        int64_t wall = util_mono_ms () - start;
        free (argv);
        result->runs++;
        if (pid < 0 || status == 126 || status == 127) {
            if (pid > 0)
                snprintf (result->why, sizeof result->why, "%s exited %d (%s)",
                          options->command[0], status,
                          status == 127 ? "command not found" : "cannot execute");
            result->broken = true;
            junit_run_clear (&report);
            return;
        }
        double predicted_sum = 0;
        for (size_t i = first; i < first + take; i++)
            predicted_sum += predicted ? (double) predicted[i] : 1.0;
        for (size_t i = first; i < first + take; i++) {
            double share = predicted_sum > 0 ? (predicted ? (double) predicted[i] : 1.0)
                                               / predicted_sum
                                             : 1.0 / (double) take;
            result->times_ms[i] = (uint64_t) ((double) wall * share + 0.5);
        }
        //  A run killed by a signal wrote no trustworthy report; its units
        //  count as not run to the end anyway.
        if (reports && status >= 0 && result->unit_status) {
            char why[512];
            if (junit_run_read (&report, names + first, predicted ? predicted + first : NULL,
                                take, result->times_ms + first, result->unit_status + first,
                                why, sizeof why) != 0) {
                if (!state->report_warned)
                    log_say ("warning: %s; using the batch's wall time shared by prediction "
                             "for this batch (said once per run of satchel)", why);
                state->report_warned = true;
                free (result->unit_status);
                result->unit_status = NULL;
            }
        }
        junit_run_clear (&report);
        result->wall_ms += (uint64_t) wall;
        if (status >= 0)
            s_mark_ran (state, names + first, take);
        if (status < 0 && result->status >= 0)
            result->status = status;
        else if (status > 0 && result->status == 0)
            result->status = status;
    }
}

static void
s_status_text (int status, char *out, size_t size)
{
    if (status >= 0)
        snprintf (out, size, "exit %d", status);
    else
        snprintf (out, size, "killed by signal %d", -status);
}

//  Run one batch, renewing its lease while it runs, and keep its report
//  for the next request. A runner that cannot work has run no test: the
//  batch is handed back so other nodes run it, and this node stops rather
//  than drain the queue into failures.
static void
s_run_batch (run_state_t *state, const proto_msg_t *batch)
{
    const run_options_t *options = state->options;
    size_t count = batch->unit_count;
    size_t per = options->batch_size > 0 && options->batch_size < count
               ? options->batch_size : count;
    size_t runs = per > 0 ? (count + per - 1) / per : 0;
    char runs_text[96] = "";
    if (runs > 1)
        snprintf (runs_text, sizeof runs_text, " in %zu runs of at most %zu (--batch-size)",
                  runs, per);
    if (batch->kind == PROTO_KIND_REGULAR)
        log_say ("batch %u: this node's list of %zu unit%s%s", batch->batch, count,
                 count == 1 ? "" : "s", runs_text);
    else if (batch->kind != PROTO_KIND_QUEUE)
        log_say ("batch %u: %s of %zu unit%s%s", batch->batch,
                 batch->kind == PROTO_KIND_REPLAY ? "replay" : "run again after a failure elsewhere",
                 count, count == 1 ? "" : "s", runs_text);
    run_result_t result;
    s_run_list (state, batch, batch->units, batch->predicted_ms, count, &result);
    proto_msg_destroy (&state->pending_report);
    if (result.broken) {
        log_say ("error: batch %u: %s; handing the batch back to the coordinator so other "
                 "nodes run it, and stopping this node; check the test command after --",
                 batch->batch, result.why);
        proto_msg_t *report = proto_msg_new (PROTO_NEXT);
        report->has_report = true;
        report->report_batch = batch->batch;
        report->report_lease = batch->lease;
        report->report_returned = true;
        state->pending_report = report;
        state->returned = true;
        free (result.times_ms);
        free (result.unit_status);
        return;
    }
    if (result.status != 0)
        state->failed = true;
    proto_msg_t *report = proto_msg_new (PROTO_NEXT);
    report->has_report = true;
    report->report_batch = batch->batch;
    report->report_lease = batch->lease;
    report->report_wall_ms = result.wall_ms;
    report->report_exit = result.status;
    report->report_time_count = count;
    report->report_times_ms = result.times_ms;
    report->report_status = result.unit_status;
    report->report_runs = result.runs > 0 ? result.runs : 1;
    state->pending_report = report;
    state->units_done += count;
    state->batches++;
    char status_text[32];
    s_status_text (result.status, status_text, sizeof status_text);
    log_say ("batch %u: %zu unit%s in %.2f s, %s; this node has run %zu of the build's %zu units",
             batch->batch, count, count == 1 ? "" : "s", (double) result.wall_ms / 1000.0,
             status_text, state->units_done, state->build_units);
}

//  After a fallback run, tell satcheld once, if it can be reached now (it
//  may have been restarted, or was only at --max-builds), so that its
//  metrics count fallbacks: one try of a second at most, never an error.
static void
s_report_fallback (run_state_t *state, size_t ran)
{
    const run_options_t *options = state->options;
    client_config_t config = {
        .endpoint = options->coordinator,
        .timeout_ms = options->timeout_ms < 1000 ? options->timeout_ms : 1000,
        .retries = 0, .backoff_ms = 0, .interrupted = &runner_interrupted
    };
    client_t *client = client_new (&config);
    char why[256] = "";
    if (options->server_key
    &&  client_set_curve (client, options->server_key, options->client_cert, why,
                          sizeof why) != 0) {
        client_destroy (&client);
        return;
    }
    proto_msg_t *notice = proto_msg_new (PROTO_FALLBACK);
    proto_msg_set_str (&notice->attempt, state->attempt);
    notice->req = 1;
    proto_msg_set_str (&notice->suite, options->suite);
    proto_msg_set_str (&notice->build, options->build ? options->build : "");
    notice->node_index = options->node_index;
    notice->node_total = options->node_total;
    notice->units_total = ran;
    proto_msg_t *reply = NULL;
    client_result_t result = client_request_tries (client, notice, 1, &reply, why, sizeof why);
    if (result == CLIENT_OK && reply->type == PROTO_NOTED)
        log_say ("told the coordinator that this node fell back");
    else
        log_debug ("fallback_not_told why=%s", log_quote (result == CLIENT_OK
                   ? proto_type_name (reply->type) : why));
    proto_msg_destroy (&reply);
    proto_msg_destroy (&notice);
    client_destroy (&client);
}

//  Fallback mode: satcheld cannot be reached. Split the list by name
//  (fallback.h) and run this node's share, less what this attempt ran
//  already, so that across the nodes every unit runs at least once even
//  when the daemon died in the middle of the build.
static int
s_fallback (run_state_t *state)
{
    const run_options_t *options = state->options;
    uint32_t *share = util_malloc ((state->unit_count / options->node_total + 1)
                                   * sizeof (uint32_t));
    size_t whole = fallback_share (state->unit_count, options->node_index,
                                   options->node_total, NULL, share);
    size_t count = fallback_share (state->unit_count, options->node_index,
                                   options->node_total, state->ran, share);
    char skipped[96] = "";
    if (whole > count)
        snprintf (skipped, sizeof skipped, "; %zu of them ran on this node already",
                  whole - count);
    log_say ("warning: cannot reach the coordinator at %s: %s; fallback mode: running this "
             "node's share of the tests split by name, %zu of %zu units%s",
             options->coordinator, state->unreachable, whole, state->unit_count, skipped);
    int rc = 0;
    if (count == 0) {
        log_say ("node %u of %u: nothing %sto run in the fallback split%s",
                 options->node_index, options->node_total, whole > 0 ? "left " : "",
                 whole == 0 ? " (more nodes than tests)" : "");
        rc = state->failed ? 1 : 0;
        goto cleanup;
    }
    char **names = util_malloc (count * sizeof (char *));
    for (size_t i = 0; i < count; i++)
        names[i] = state->units[share[i]];
    run_result_t result;
    s_run_list (state, NULL, names, NULL, count, &result);
    free (names);
    free (result.times_ms);
    free (result.unit_status);
    if (result.broken) {
        log_say ("error: fallback: %s; check the test command after --", result.why);
        rc = 1;
        goto cleanup;
    }
    if (runner_interrupted) {
        rc = 128 + (int) runner_interrupted;
        goto cleanup;
    }
    if (result.status != 0)
        state->failed = true;
    char status_text[32];
    s_status_text (result.status, status_text, sizeof status_text);
    log_say ("node %u of %u done in fallback mode: %zu units in %.2f s, %s%s",
             options->node_index, options->node_total, count,
             (double) result.wall_ms / 1000.0, status_text,
             state->failed ? "; some tests failed" : "");
    rc = state->failed ? 1 : 0;
    s_report_fallback (state, count);
cleanup:
    free (share);
    return rc;
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
    const run_options_t *options = state->options;
    bool regular = options->mode == RUN_MODE_REGULAR;
    if (strcmp (reason, "no_wait") == 0 && reply->units_done < reply->units_total)
        log_say (regular ? "this node ran its list; %llu units of the build are on other nodes"
                         : "the queue is empty; not waiting for the %llu units still running "
                           "on other nodes (--no-wait)",
                 (unsigned long long) (reply->units_total - reply->units_done));
    if (strcmp (reason, "released") == 0)
        log_say ("the queue is empty and other nodes wait to take over the batches still "
                 "running; this node is not needed for that (%llu of %llu units done)",
                 (unsigned long long) reply->units_done, (unsigned long long) reply->units_total);
    if (state->batches == 0 && reply->units_total < options->node_total)
        log_say ("node %u of %u got no tests: the build has %llu, fewer than its nodes",
                 options->node_index, options->node_total,
                 (unsigned long long) reply->units_total);
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
        //  Rather than "wait, ask again later", the daemon may hold the
        //  reply until there is work or the build ends: half of what this
        //  side waits for a reply anyway, so a held reply is never taken
        //  for a lost one.
        next->park_ms = (uint64_t) (state->options->timeout_ms / 2);
        if (next->park_ms > PROTO_PARK_MS_MAX)
            next->park_ms = PROTO_PARK_MS_MAX;
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
    size_t count = 0;
    char why[1024] = "";
    int rc = 1;
    discover_config_t discover = {
        .pattern = options->pattern, .tests_from = options->tests_from,
        .excludes = options->excludes, .exclude_count = options->exclude_count
    };
    if (discover_tests (&discover, &state.units, &count, why, sizeof why) != 0) {
        log_say ("error: %s", why);
        goto cleanup;
    }
    state.unit_count = count;
    state.ran = util_calloc (count ? count : 1, 1);
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
    if (options->server_key
        && client_set_curve (state.client, options->server_key, options->client_cert, why,
                             sizeof why) != 0) {
        log_say ("error: %s", why);
        goto cleanup;
    }
    log_debug ("attempt id=%s units=%zu", state.attempt, count);
    rc = s_join (&state);
    if (rc == 0)
        rc = s_loop (&state);
    if (rc == RUN_FALLBACK)
        rc = s_fallback (&state);
    if (rc > 128)
        log_say ("stopped by signal %d", rc - 128);
cleanup:
    discover_free (state.units, state.unit_count);
    free (state.ran);
    proto_msg_destroy (&state.pending_report);
    client_destroy (&state.client);
    return rc;
}
