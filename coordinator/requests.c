/*  requests.c: see requests.h. One handler per request type.              */
#include "requests.h"

#include "builds.h"
#include "completion.h"
#include "leases.h"
#include "log.h"
#include "replay.h"
#include "util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A waiting node asks again this long after a batch's predicted end, and
//  never sooner than WAIT_MIN_MS after its last ask.
#define WAIT_SLACK_MS 20
#define WAIT_MIN_MS 50

struct _requests_t {
    store_t *store;              //  borrowed
    builds_t *builds;            //  in-memory view of builds and attempts
    requests_config_t config;    //  limits and policy
    requests_stats_t stats;      //  counters
};

void
requests_config_default (requests_config_t *config)
{
    memset (config, 0, sizeof *config);
    proto_limits_default (&config->limits);
    sched_policy_default (&config->policy);
    config->alpha = 0.3;
    config->max_cached = 256;
    config->leases.lease_ms = REQUESTS_DEFAULT_LEASE_MS;
    config->leases.lease_max_ms = REQUESTS_DEFAULT_LEASE_MAX_MS;
    config->retry.requeue_failed = 0;
    config->retry.requeue_budget = REQUESTS_DEFAULT_REQUEUE_BUDGET;
    config->wait_ms = REQUESTS_DEFAULT_WAIT_MS;
}

requests_t *
requests_new (store_t *store, const requests_config_t *config)
{
    requests_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->config = *config;
    self->builds = builds_new (store, &config->retry);
    return self;
}

void
requests_destroy (requests_t **self_p)
{
    requests_t *self = *self_p;
    if (!self)
        return;
    builds_destroy (&self->builds);
    free (self);
    *self_p = NULL;
}

const requests_stats_t *
requests_stats (requests_t *self)
{
    return &self->stats;
}

void
requests_forget (requests_t *self)
{
    builds_forget_all (self->builds);
}

void
requests_after_commit (requests_t *self)
{
    builds_trim (self->builds, self->config.max_cached);
}

//  Encode msg into *reply; encoding our own well-formed reply cannot fail
//  short of a programming error.
static void
s_encode (proto_msg_t *msg, char **reply, size_t *reply_size)
{
    int rc = proto_encode (msg, reply, reply_size);
    assert (rc == 0);
    (void) rc;
}

void
requests_internal_error (char **reply, size_t *reply_size)
{
    proto_msg_t *msg = proto_error_new (NULL, 0, PROTO_ERR_INTERNAL, "",
                                        "the coordinator could not store the request; retry");
    s_encode (msg, reply, reply_size);
    proto_msg_destroy (&msg);
}

//  Answer from the attempt's memory if this request was answered before.
//  Returns 1 if *reply holds the answer (repeat or stale), 0 to go on.
static int
s_repeat (requests_t *self, const attempt_t *attempt, const proto_msg_t *req,
          proto_msg_t **error)
{
    if (attempt->last_req == 0 || req->req > attempt->last_req)
        return 0;
    if (req->req == attempt->last_req && attempt->last_reply) {
        self->stats.retries++;
        return 1;
    }
    *error = proto_error_new (req->attempt, req->req, PROTO_ERR_STALE, "req",
                              "request %llu is older than request %llu already answered",
                              (unsigned long long) req->req,
                              (unsigned long long) attempt->last_req);
    return 1;
}

//  A new build's units in queue order, with their estimates and, for a
//  regular build, each unit's node in the split.
typedef struct {
    char **names;            //  borrowed from the request
    double *ms;              //  predicted time
    uint8_t *guessed;        //  1 if the prediction is a guess
    uint32_t *split_node;    //  regular build: node of each unit; else NULL
    size_t count;            //  units
} s_plan_t;

static void
s_plan_free (s_plan_t *plan)
{
    free (plan->names);
    free (plan->ms);
    free (plan->guessed);
    free (plan->split_node);
    memset (plan, 0, sizeof *plan);
}

static int
s_compare_name (const void *key, const void *item)
{
    return strcmp ((const char *) key, *(char *const *) item);
}

//  Take the split of the earliest regular build of the same suite, commit,
//  branch, node total and test list: its units in its order, each on its
//  node. names are the request's (sorted); order_out gets indices into
//  them. Returns 0 if reused, 1 if there is none to reuse, -1.
static int
s_split_reuse (requests_t *self, int64_t suite_id, const proto_msg_t *req, uint32_t *order_out,
               uint32_t *node_out, int64_t *from_build)
{
    int rc = store_split_find (self->store, suite_id, req->commit, req->branch,
                               req->node_total, req->digest, 0, from_build);
    if (rc != 0)
        return rc;
    char **names = NULL;
    double *ms = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    if (store_units_load (self->store, *from_build, &names, &ms, &count, &split) != 0)
        return -1;
    rc = count == req->unit_count ? 0 : 1;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char **found = bsearch (names[i], req->units, req->unit_count, sizeof (char *),
                                s_compare_name);
        if (!found || split[i] >= req->node_total)
            rc = 1;     //  the same digest, yet not the same list: compute afresh
        else {
            order_out[i] = (uint32_t) (found - req->units);
            node_out[i] = split[i];
        }
    }
    if (rc == 1)
        log_warn ("split_not_reused suite=%s from_build_id=%lld why=\"units differ\"",
                  log_quote (req->suite), (long long) *from_build);
    for (size_t i = 0; i < count; i++)
        free (names[i]);
    free (names);
    free (ms);
    free (split);
    return rc;
}

//  Put the build's units in queue order with their estimates: longest
//  first. A regular build also gets its split: reused (reuse_split, the
//  default) or computed by LPT from the latest history.
static int
s_plan (requests_t *self, int64_t suite_id, const proto_msg_t *req, s_plan_t *plan)
{
    size_t count = req->unit_count;
    double *estimates = util_malloc (count * sizeof (double));
    uint32_t *order = util_malloc (count * sizeof (uint32_t));
    uint8_t *unseen = util_malloc (count);
    bool regular = strcmp (req->mode, "regular") == 0;
    memset (plan, 0, sizeof *plan);
    int rc = -1;
    if (store_estimates (self->store, suite_id, (const char *const *) req->units, count,
                         estimates) != 0)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        unseen[i] = estimates[i] < 0;
    sched_fill_unseen (estimates, count, self->config.policy.default_ms);
    if (regular)
        plan->split_node = util_malloc (count * sizeof (uint32_t));
    int64_t from_build = 0;
    int reused = regular && !req->fresh_split
               ? s_split_reuse (self, suite_id, req, order, plan->split_node, &from_build) : 1;
    if (reused < 0)
        goto cleanup;
    if (reused == 1)
        sched_order ((const char *const *) req->units, estimates, count, order);
    plan->names = util_malloc (count * sizeof (char *));
    plan->ms = util_malloc (count * sizeof (double));
    plan->guessed = util_malloc (count);
    plan->count = count;
    for (size_t i = 0; i < count; i++) {
        plan->names[i] = req->units[order[i]];
        plan->ms[i] = estimates[order[i]];
        plan->guessed[i] = unseen[order[i]];
    }
    if (regular && reused == 1)
        sched_split_lpt (plan->ms, count, req->node_total, plan->split_node);
    if (regular)
        log_info ("regular_split suite=%s nodes=%u units=%zu split=%s from_build_id=%lld",
                  log_quote (req->suite), req->node_total, count,
                  reused == 0 ? "reused" : "computed", reused == 0 ? (long long) from_build : 0LL);
    rc = 0;
cleanup:
    if (rc != 0)
        s_plan_free (plan);
    free (estimates);
    free (order);
    free (unseen);
    return rc;
}

//  The name of the build a join enters: its build id, or with a fixed
//  split "fixed-" and a digest of commit, branch and node total. Returns
//  0, or -1 with an error reply in *out.
static int
s_build_key (const proto_msg_t *req, char key[PROTO_BUILD_MAX + 1], proto_msg_t **out)
{
    if (!req->fixed_split) {
        snprintf (key, PROTO_BUILD_MAX + 1, "%s", req->build);
        return 0;
    }
    if (!req->commit || !*req->commit) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "commit",
                                "a fixed split names the build by its commit, but this node "
                                "sent none; set --commit (SATCHEL_COMMIT) or run in a git "
                                "checkout");
        return -1;
    }
    char total[16];
    snprintf (total, sizeof total, "%u", req->node_total);
    const char *parts[] = { req->commit, req->branch ? req->branch : "", total };
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (parts, 3, digest);
    snprintf (key, PROTO_BUILD_MAX + 1, "fixed-%s", digest);
    return 0;
}

//  Planned batches of the attempt not handed out yet.
static uint32_t
s_planned_count (const build_t *build, const attempt_t *attempt)
{
    const build_node_t *node = &build->nodes[attempt->node_index];
    uint32_t count = 0;
    for (size_t b = attempt->plan_pos; b < node->batch_count; b++)
        if (node->batches[b].attempt_id == attempt->id
        &&  node->batches[b].state == STORE_BATCH_PLANNED)
            count++;
    return count;
}

//  A new attempt on a node that already had batches: every live batch of
//  the node is superseded (a newer attempt owns the node now, so a late
//  report of the old one is fenced), and the node's batches are planned
//  again for this attempt (replay.h). Units a superseded batch held that
//  no planned batch holds now go back to the queue, so none is stranded.
static int
s_plan_replay (requests_t *self, build_t *build, attempt_t *attempt, uint32_t *replay)
{
    *replay = 0;
    build_node_t *node = &build->nodes[attempt->node_index];
    size_t before = node->batch_count;
    if (before == 0)
        return 0;
    for (size_t b = 0; b < before; b++) {
        build_batch_t *batch = &node->batches[b];
        if ((batch->state == STORE_BATCH_RUNNING || batch->state == STORE_BATCH_PLANNED)
        &&  builds_batch_set_state (self->builds, build, batch, STORE_BATCH_SUPERSEDED,
                                    batch->lease) != 0)
            return -1;
    }
    replay_batch_t *plan = NULL;
    size_t count = replay_plan (build, attempt->node_index, attempt->only_failed, &plan);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        store_batch_meta_t meta = {
            .state = STORE_BATCH_PLANNED, .lease = 0, .kind = PROTO_KIND_REPLAY,
            .origin = plan[i].origin
        };
        build_batch_t *batch = NULL;
        rc = builds_batch_append (self->builds, build, attempt, plan[i].units, plan[i].count,
                                  &meta, &batch);
    }
    replay_plan_free (plan, count);
    if (rc != 0)
        return -1;
    node = &build->nodes[attempt->node_index];     //  appends may have moved it
    for (size_t b = 0; b < before; b++) {
        build_batch_t *batch = &node->batches[b];
        if (batch->state != STORE_BATCH_SUPERSEDED || batch->unit_count == 0)
            continue;
        uint32_t *held = util_malloc (batch->unit_count * sizeof (uint32_t));
        size_t stranded = builds_batch_held_units (build, attempt->node_index, batch, held);
        if (stranded > 0) {
            builds_queue_push_front (build, held, stranded);
            log_warn ("replay_requeued build=%s node=%u batch=%u units=%zu",
                      log_quote (build->key), attempt->node_index, batch->seq, stranded);
        }
        free (held);
    }
    attempt->plan_pos = before;
    *replay = (uint32_t) count;
    if (count > 0)
        log_info ("node_replay suite=%s build=%s node=%u attempt=%s batches=%zu only_failed=%s",
                  log_quote (build->suite), log_quote (build->key), attempt->node_index,
                  attempt->attempt, count, attempt->only_failed ? "yes" : "no");
    return 0;
}

//  The handlers: each returns 0 with *out (a reply, or NULL for "answer
//  from the attempt's memory") and *handled (the attempt it worked on, or
//  NULL), or -1 on a store error.
static int
s_join (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled)
{
    attempt_t *attempt = NULL;
    build_t *build = NULL;
    int64_t suite_id = 0;
    bool created = false;
    uint32_t replay = 0;
    //  With a fixed split the build is named by what stays the same when
    //  CI retries it under a new build id.
    char key[PROTO_BUILD_MAX + 1];
    if (s_build_key (req, key, out) != 0)
        return 0;
    int rc = builds_attempt_find (self->builds, req->attempt, &attempt);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        //  A join resent after a lost reply is answered from memory by the
        //  caller; a later join from the same attempt must name the same node.
        *handled = attempt;
        if (s_repeat (self, attempt, req, out))
            return 0;
        if (strcmp (attempt->build->key, key) != 0
            || strcmp (attempt->build->suite, req->suite) != 0
            || attempt->node_index != req->node_index) {
            *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "attempt",
                                    "attempt %s already joined another build or node; "
                                    "every agent run needs a fresh attempt id", req->attempt);
            return 0;
        }
        build = attempt->build;
    }
    else {
        if (store_suite_ensure (self->store, req->suite, &suite_id) != 0)
            return -1;
        rc = builds_find (self->builds, suite_id, key, &build);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            s_plan_t plan;
            if (s_plan (self, suite_id, req, &plan) != 0)
                return -1;
            builds_new_t spec = {
                .suite_id = suite_id, .suite = req->suite, .key = key,
                .node_total = req->node_total, .mode = req->mode, .commit = req->commit,
                .branch = req->branch, .digest = req->digest, .fail_fast = req->fail_fast
            };
            rc = builds_create (self->builds, &spec, plan.names, plan.ms, plan.guessed,
                                plan.split_node, plan.count, &build);
            s_plan_free (&plan);
            if (rc != 0)
                return -1;
            created = true;
            log_info ("build_started suite=%s build=%s ci_build=%s mode=%s nodes=%u units=%zu "
                      "commit=%s branch=%s fail_fast=%s", log_quote (req->suite),
                      log_quote (key), log_quote (req->build), req->mode, req->node_total,
                      req->unit_count, log_quote (req->commit), log_quote (req->branch),
                      req->fail_fast ? "yes" : "no");
        }
    }
    if (build->node_total != req->node_total) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUILD_MISMATCH, "node_total",
                                "build %s of suite %s was started with %u nodes, but this node "
                                "says %u; every node of a build must use the same node total",
                                key, req->suite, build->node_total, req->node_total);
        return 0;
    }
    if (strcmp (build->mode, req->mode) != 0) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUILD_MISMATCH, "mode",
                                "build %s of suite %s runs in %s mode, but this node asks for %s",
                                key, req->suite, build->mode, req->mode);
        return 0;
    }
    if (strcmp (build->digest, req->digest) != 0) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_LIST_MISMATCH, "digest",
                                "this node's test list (%zu units, digest %.12s) differs from "
                                "the one build %s was started with (%zu units, digest %.12s); "
                                "every node must find the same tests: check --pattern, "
                                "--exclude and that all nodes run the same checkout",
                                req->unit_count, req->digest, key, build->unit_count,
                                build->digest);
        return 0;
    }
    if (!attempt) {
        //  A regular-mode node never waits: its list is its share.
        if (builds_attempt_add (self->builds, build, req->node_index, req->attempt,
                                req->only_failed, req->no_wait || build->regular,
                                &attempt) != 0)
            return -1;
        if (s_plan_replay (self, build, attempt, &replay) != 0)
            return -1;
    }
    else
        replay = s_planned_count (build, attempt);
    *handled = attempt;
    leases_touch (build, attempt->id, attempt->node_index, util_mono_ms ());
    log_info ("node_joined suite=%s build=%s node=%u/%u attempt=%s created=%s replay=%u",
              log_quote (req->suite), log_quote (build->key), req->node_index,
              req->node_total, req->attempt, created ? "yes" : "no", replay);
    proto_msg_t *reply = proto_msg_new (PROTO_JOINED);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->units_total = build->unit_count;
    reply->node_total = build->node_total;
    reply->created = created;
    reply->replay = replay;
    int64_t heartbeat = self->config.leases.lease_ms / 3;
    reply->heartbeat_ms = (uint64_t) (heartbeat > 0 ? heartbeat : 1);
    *out = reply;
    return 0;
}

//  A reply telling the attempt it is done, and why.
static proto_msg_t *
s_done (requests_t *self, attempt_t *attempt, const char *reason)
{
    (void) self;
    build_t *build = attempt->build;
    proto_msg_t *reply = proto_msg_new (PROTO_DONE);
    reply->units_done = build->done_count;
    reply->units_total = build->unit_count;
    proto_msg_set_str (&reply->reason, reason);
    //  The node's failures are the units it ran whose latest run anywhere
    //  failed: one that passed on another node since was flaky, not failed.
    const build_node_t *node = &build->nodes[attempt->node_index];
    uint8_t *counted = util_calloc (build->unit_count ? build->unit_count : 1, 1);
    for (size_t b = 0; b < node->batch_count; b++) {
        const build_batch_t *batch = &node->batches[b];
        if (!batch->reported)
            continue;
        for (size_t u = 0; u < batch->unit_count; u++) {
            uint32_t idx = batch->unit_idx[u];
            if (!counted[idx] && build->last_ok[idx] == 0) {
                counted[idx] = 1;
                reply->failed++;
            }
        }
    }
    free (counted);
    reply->flaky = build->flaky_count;
    leases_gone (build, attempt->id);
    return reply;
}

//  The units of a batch in a batch reply.
static proto_msg_t *
s_batch_reply (requests_t *self, const build_t *build, const build_batch_t *batch)
{
    proto_msg_t *reply = proto_msg_new (PROTO_BATCH);
    reply->batch = batch->seq;
    reply->lease = batch->lease;
    reply->kind = (proto_kind_t) batch->kind;
    reply->unit_count = batch->unit_count;
    reply->units = util_calloc (batch->unit_count ? batch->unit_count : 1, sizeof (char *));
    reply->predicted_ms = util_calloc (batch->unit_count ? batch->unit_count : 1,
                                       sizeof (uint64_t));
    for (size_t i = 0; i < batch->unit_count; i++) {
        uint32_t idx = batch->unit_idx[i];
        reply->units[i] = util_strdup (build->names[idx]);
        double ms = build->predicted_ms[idx];
        reply->predicted_ms[i] = ms < 1 ? 1 : (uint64_t) (ms + 0.5);
    }
    self->stats.batches++;
    self->stats.units += batch->unit_count;
    return reply;
}

//  Hand a returned batch's units back to the queue and stop the attempt.
static int
s_return (requests_t *self, attempt_t *attempt, build_batch_t *batch, bool holder)
{
    build_t *build = attempt->build;
    size_t count = 0;
    if (holder && builds_batch_release (self->builds, build, attempt->node_index, batch,
                                        STORE_BATCH_RETURNED, &count) != 0)
        return -1;
    if (store_attempt_stop (builds_store (self->builds), attempt->id) != 0)
        return -1;
    attempt->stopped = true;
    log_warn ("node_returned suite=%s build=%s node=%u attempt=%s batch=%u units_requeued=%zu",
              log_quote (build->suite), log_quote (build->key), attempt->node_index,
              attempt->attempt, batch->seq, count);
    return 0;
}

//  Apply a report of a finished batch. Returns 0, 1 if *out holds the
//  reply already (an error, or done after a returned batch), -1 on a
//  store error.
//
//  Fencing: only the attempt that holds the batch under the lease it
//  reports makes its units done. A report from anyone else (the lease
//  lapsed and the units went to the queue, or a newer attempt of the node
//  replays them) is kept as history, timings and result, and changes
//  nothing else.
static int
s_report (requests_t *self, attempt_t *attempt, const proto_msg_t *req, proto_msg_t **out)
{
    build_t *build = attempt->build;
    build_batch_t *batch = builds_batch_find (build, attempt->node_index, req->report_batch);
    if (!batch) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "report.batch",
                                "batch %u was never given to node %u of build %s",
                                req->report_batch, attempt->node_index, build->key);
        return 1;
    }
    bool holder = batch->attempt_id == attempt->id && batch->state == STORE_BATCH_RUNNING
               && batch->lease == req->report_lease;
    if (req->report_returned) {
        if (s_return (self, attempt, batch, holder) != 0)
            return -1;
        *out = s_done (self, attempt, "returned");
        return 1;
    }
    if (req->report_time_count != batch->unit_count) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "report.times_ms",
                                "report of batch %u has %zu times for %zu units",
                                req->report_batch, req->report_time_count, batch->unit_count);
        return 1;
    }
    if (batch->reported)
        return 0;       //  already counted
    if (!holder) {
        self->stats.fenced++;
        log_warn ("report_fenced suite=%s build=%s node=%u batch=%u lease=%llu held_lease=%llu "
                  "attempt=%s", log_quote (build->suite), log_quote (build->key),
                  attempt->node_index, batch->seq, (unsigned long long) req->report_lease,
                  (unsigned long long) batch->lease, attempt->attempt);
    }
    int64_t now = util_wall_ms ();
    //  A runner killed by a signal did not finish its units' runs: their
    //  partial times would spoil good history, so only whole runs count.
    bool completed = req->report_exit >= 0;
    for (size_t i = 0; completed && i < batch->unit_count; i++) {
        uint64_t ms = req->report_times_ms[i];
        if (ms > req->report_wall_ms + 1)
            continue;   //  longer than its whole batch: not a real sample
        uint32_t idx = batch->unit_idx[i];
        if (store_record_sample (builds_store (self->builds), build->suite_id, build->id,
                                 build->names[idx], (double) ms, req->report_exit == 0,
                                 self->config.alpha, now) != 0)
            return -1;
        builds_learn_guess (build, idx, (double) ms);
    }
    if (builds_batch_report (self->builds, build, attempt->node_index, batch, holder,
                             req->report_wall_ms, req->report_exit, now) < 0)
        return -1;
    log_debug ("batch_done build=%s node=%u batch=%u units=%zu wall_ms=%llu exit=%d done=%zu/%zu",
               log_quote (build->key), attempt->node_index, batch->seq, batch->unit_count,
               (unsigned long long) req->report_wall_ms, req->report_exit, build->done_count,
               build->unit_count);
    if (holder && req->report_exit != 0) {
        if (build->fail_fast && !build->stopping) {
            char reason[256];
            snprintf (reason, sizeof reason, "fail-fast: batch %u of node %u failed (%.150s%s)",
                      batch->seq, attempt->node_index, build->names[batch->unit_idx[0]],
                      batch->unit_count > 1 ? " and others" : "");
            build->stopping = true;
            free (build->stop_reason);
            build->stop_reason = util_strdup (reason);
            build->retry_count = 0;
            log_warn ("build_stopping suite=%s build=%s reason=%s", log_quote (build->suite),
                      log_quote (build->key), log_quote (reason));
        }
        for (size_t i = 0; i < batch->unit_count; i++)
            if (build->last_ok[batch->unit_idx[i]] == 0)
                builds_retry_offer (self->builds, build, batch->unit_idx[i]);
    }
    return completion_check (self->builds, build, now) < 0 ? -1 : 0;
}

//  The attempt a next or heartbeat comes from. Returns 1 with *attempt to
//  go on, 0 with *out already answered (unknown attempt, or a repeat of
//  the last request), -1 on a store error.
static int
s_attempt (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled,
           attempt_t **attempt)
{
    int rc = builds_attempt_find (self->builds, req->attempt, attempt);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_UNKNOWN_ATTEMPT, "attempt",
                                "attempt %s never joined a build; send join first", req->attempt);
        return 0;
    }
    *handled = *attempt;
    return s_repeat (self, *attempt, req, out) ? 0 : 1;
}

//  The first batch planned for the attempt and not handed out yet, or NULL.
static build_batch_t *
s_next_planned (build_t *build, attempt_t *attempt)
{
    build_node_t *node = &build->nodes[attempt->node_index];
    for (; attempt->plan_pos < node->batch_count; attempt->plan_pos++) {
        build_batch_t *batch = &node->batches[attempt->plan_pos];
        if (batch->attempt_id == attempt->id && batch->state == STORE_BATCH_PLANNED)
            return batch;
    }
    return NULL;
}

//  How long a waiting node should wait before it asks again: until just
//  after the first running batch is predicted to end (so the nodes of a
//  finished build learn it within moments, not a whole poll period later),
//  at most --wait; a batch past its prediction is asked about less and
//  less often, the longer it overruns.
static int64_t
s_wait_ms (requests_t *self, const build_t *build, int64_t now)
{
    int64_t wait = self->config.wait_ms;
    if (wait > self->config.leases.lease_ms / 2)
        wait = self->config.leases.lease_ms / 2;
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        for (size_t b = node->live_from; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (batch->state != STORE_BATCH_RUNNING)
                continue;
            double predicted = self->config.policy.startup_ms;
            for (size_t u = 0; u < batch->unit_count; u++)
                predicted += build->predicted_ms[batch->unit_idx[u]];
            int64_t left = batch->handed_mono_ms + (int64_t) predicted - now;
            int64_t candidate = left > 0 ? left + WAIT_SLACK_MS : -left / 4;
            if (candidate < WAIT_MIN_MS)
                candidate = WAIT_MIN_MS;
            if (candidate < wait)
                wait = candidate;
        }
    }
    return wait;
}

//  What the attempt gets now: its planned replays first, then (regular
//  mode) its list, then failed units of other nodes, then the queue (in
//  regular mode: units whose node lost them); with nothing to hand out,
//  wait while some unit may still come back, else done. Returns 0 or -1.
static int
s_hand_out (requests_t *self, attempt_t *attempt, int64_t now, proto_msg_t **out)
{
    build_t *build = attempt->build;
    if (build->stopping) {
        *out = s_done (self, attempt, "fail_fast");
        return 0;
    }
    if (attempt->stopped) {
        *out = s_done (self, attempt, "returned");
        return 0;
    }
    int expired = leases_expire (self->builds, build, &self->config.leases, now, false);
    if (expired < 0)
        return -1;
    self->stats.expired += (uint64_t) expired;

    build_batch_t *batch = s_next_planned (build, attempt);
    if (batch) {
        if (builds_batch_set_state (self->builds, build, batch, STORE_BATCH_RUNNING,
                                    builds_lease_next (build)) != 0)
            return -1;
        batch->handed_mono_ms = now;
        *out = s_batch_reply (self, build, batch);
        return 0;
    }
    if (builds_batch_from_list (self->builds, build, attempt, &batch) != 0)
        return -1;
    if (batch) {
        log_info ("list_given suite=%s build=%s node=%u batch=%u units=%zu predicted_ms=%.0f",
                  log_quote (build->suite), log_quote (build->key), attempt->node_index,
                  batch->seq, batch->unit_count, batch->predicted_ms);
        *out = s_batch_reply (self, build, batch);
        return 0;
    }
    if (build->retry_count > 0) {
        //  A failed unit runs again on another node; on its own node only
        //  when no other node is left to take it.
        bool any = !leases_others_alive (build, attempt->node_index, &self->config.leases, now);
        if (builds_batch_from_retry (self->builds, build, attempt, any,
                                     self->config.policy.max_batch_units, &batch) != 0)
            return -1;
        if (batch) {
            log_info ("units_requeued suite=%s build=%s node=%u batch=%u units=%zu",
                      log_quote (build->suite), log_quote (build->key), attempt->node_index,
                      batch->seq, batch->unit_count);
            *out = s_batch_reply (self, build, batch);
            return 0;
        }
    }
    size_t waiting = build->queue_len - build->queue_head;
    if (waiting > 0) {
        size_t take = sched_batch_take (build->queue_ms + build->queue_head, waiting,
                                        build->remaining_ms, build->node_total,
                                        &self->config.policy);
        if (builds_batch_from_queue (self->builds, build, attempt, take, &batch) != 0)
            return -1;
        log_debug ("batch_given build=%s node=%u batch=%u units=%zu left=%zu",
                   log_quote (build->key), attempt->node_index, batch->seq, batch->unit_count,
                   build->queue_len - build->queue_head);
        *out = s_batch_reply (self, build, batch);
        return 0;
    }
    if (!completion_ready (build)) {
        if (attempt->no_wait) {
            *out = s_done (self, attempt, "no_wait");
            return 0;
        }
        self->stats.waits++;
        proto_msg_t *reply = proto_msg_new (PROTO_WAIT);
        int64_t wait = s_wait_ms (self, build, now);
        reply->retry_ms = (uint64_t) (wait < 1 ? 1 : wait > PROTO_RETRY_MS_MAX
                                                 ? PROTO_RETRY_MS_MAX : wait);
        reply->units_done = build->done_count;
        reply->units_total = build->unit_count;
        *out = reply;
        return 0;
    }
    *out = s_done (self, attempt, "complete");
    return 0;
}

static int
s_next (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled)
{
    attempt_t *attempt = NULL;
    int rc = s_attempt (self, req, out, handled, &attempt);
    if (rc <= 0)
        return rc;
    int64_t now = util_mono_ms ();
    leases_touch (attempt->build, attempt->id, attempt->node_index, now);
    if (req->has_report) {
        rc = s_report (self, attempt, req, out);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    proto_msg_t *reply = NULL;
    if (s_hand_out (self, attempt, now, &reply) != 0)
        return -1;
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    *out = reply;
    return 0;
}

static int
s_heartbeat (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled)
{
    attempt_t *attempt = NULL;
    int rc = s_attempt (self, req, out, handled, &attempt);
    if (rc <= 0)
        return rc;
    build_t *build = attempt->build;
    build_batch_t *batch = builds_batch_find (build, attempt->node_index, req->batch);
    if (!batch) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "batch",
                                "batch %u was never given to node %u of build %s",
                                req->batch, attempt->node_index, build->key);
        return 0;
    }
    int64_t now = util_mono_ms ();
    leases_touch (build, attempt->id, attempt->node_index, now);
    proto_msg_t *reply = proto_msg_new (PROTO_ACK);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->held = batch->attempt_id == attempt->id && batch->state == STORE_BATCH_RUNNING
               && batch->lease == req->lease;
    reply->stop = build->stopping;
    *out = reply;
    return 0;
}

int
requests_handle (requests_t *self, const void *frame, size_t size, char **reply,
                 size_t *reply_size)
{
    proto_error_t err;
    proto_msg_t *out = NULL;
    attempt_t *attempt = NULL;
    int rc = 0;
    self->stats.requests++;
    proto_msg_t *req = proto_decode (frame, size, &self->config.limits, &err);
    if (!req) {
        out = proto_error_new (err.attempt[0] ? err.attempt : NULL, err.req, err.code,
                               err.field, "%s", err.message);
        log_warn ("bad_request code=%s field=%s message=%s", err.code, log_quote (err.field),
                  log_quote (err.message));
    }
    else if (req->type == PROTO_JOIN)
        rc = s_join (self, req, &out, &attempt);
    else if (req->type == PROTO_NEXT)
        rc = s_next (self, req, &out, &attempt);
    else if (req->type == PROTO_HEARTBEAT)
        rc = s_heartbeat (self, req, &out, &attempt);
    else
        out = proto_error_new (req->attempt, req->req, PROTO_ERR_UNKNOWN_TYPE, "type",
                               "satcheld does not accept %s messages", proto_type_name (req->type));

    if (rc != 0) {
        proto_msg_destroy (&out);
        requests_internal_error (reply, reply_size);
        self->stats.errors++;
        proto_msg_destroy (&req);
        return -1;
    }
    if (!out) {
        //  Answered from memory: a retry of the last request.
        assert (attempt && attempt->last_reply);
        *reply = util_malloc (attempt->last_reply_size);
        memcpy (*reply, attempt->last_reply, attempt->last_reply_size);
        *reply_size = attempt->last_reply_size;
    }
    else {
        s_encode (out, reply, reply_size);
        if (out->type == PROTO_ERROR)
            self->stats.errors++;
        else {
            assert (attempt);   //  every non-error reply answers an attempt
            if (builds_attempt_reply (self->builds, attempt, req->req, *reply, *reply_size) != 0) {
                free (*reply);
                requests_internal_error (reply, reply_size);
                rc = -1;
            }
        }
    }
    proto_msg_destroy (&out);
    proto_msg_destroy (&req);
    return rc;
}
