/*  requests.c: see requests.h. One handler per request type.              */
#include "requests.h"

#include "builds.h"
#include "log.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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
}

requests_t *
requests_new (store_t *store, const requests_config_t *config)
{
    requests_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->config = *config;
    self->builds = builds_new (store);
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

//  Put the build's units in queue order with their estimates.
static int
s_plan (requests_t *self, int64_t suite_id, char **names, size_t count,
        char ***ordered_names, double **ordered_ms, uint8_t **ordered_guessed)
{
    double *estimates = util_malloc (count * sizeof (double));
    uint32_t *order = util_malloc (count * sizeof (uint32_t));
    int rc = -1;
    if (store_estimates (self->store, suite_id, (const char *const *) names, count,
                         estimates) != 0)
        goto cleanup;
    uint8_t *unseen = util_malloc (count);
    for (size_t i = 0; i < count; i++)
        unseen[i] = estimates[i] < 0;
    sched_fill_unseen (estimates, count, self->config.policy.default_ms);
    sched_order ((const char *const *) names, estimates, count, order);
    *ordered_names = util_malloc (count * sizeof (char *));
    *ordered_ms = util_malloc (count * sizeof (double));
    *ordered_guessed = util_malloc (count);
    for (size_t i = 0; i < count; i++) {
        (*ordered_names)[i] = names[order[i]];    //  borrowed from the request
        (*ordered_ms)[i] = estimates[order[i]];
        (*ordered_guessed)[i] = unseen[order[i]];
    }
    free (unseen);
    rc = 0;
cleanup:
    free (estimates);
    free (order);
    return rc;
}

//  The handlers: each returns 0 with *out (a reply, or NULL for "answer
//  from the attempt's memory") and *handled (the attempt it worked on, or
//  NULL), or -1 on a store error.
static int
s_join (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled)
{
    attempt_t *attempt = NULL;
    build_t *build = NULL;
    char **ordered = NULL;
    double *ordered_ms = NULL;
    uint8_t *ordered_guessed = NULL;
    int64_t suite_id = 0;
    bool created = false;
    int rc = builds_attempt_find (self->builds, req->attempt, &attempt);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        //  A join resent after a lost reply is answered from memory by the
        //  caller; a later join from the same attempt must name the same node.
        *handled = attempt;
        if (s_repeat (self, attempt, req, out))
            return 0;
        if (strcmp (attempt->build->key, req->build) != 0
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
        rc = builds_find (self->builds, suite_id, req->build, &build);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (s_plan (self, suite_id, req->units, req->unit_count, &ordered, &ordered_ms,
                        &ordered_guessed) != 0)
                return -1;
            rc = builds_create (self->builds, suite_id, req->suite, req->build, req->node_total,
                                req->mode, req->commit, req->branch, req->digest, ordered,
                                ordered_ms, ordered_guessed, req->unit_count, &build);
            free (ordered);
            free (ordered_ms);
            free (ordered_guessed);
            if (rc != 0)
                return -1;
            created = true;
            log_info ("build_started suite=%s build=%s nodes=%u units=%zu commit=%s branch=%s",
                      log_quote (req->suite), log_quote (req->build), req->node_total,
                      req->unit_count, log_quote (req->commit), log_quote (req->branch));
        }
    }
    if (build->node_total != req->node_total) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUILD_MISMATCH, "node_total",
                                "build %s of suite %s was started with %u nodes, but this node "
                                "says %u; every node of a build must use the same node total",
                                req->build, req->suite, build->node_total, req->node_total);
        return 0;
    }
    if (strcmp (build->mode, req->mode) != 0) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUILD_MISMATCH, "mode",
                                "build %s of suite %s runs in %s mode, but this node asks for %s",
                                req->build, req->suite, build->mode, req->mode);
        return 0;
    }
    if (strcmp (build->digest, req->digest) != 0) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_LIST_MISMATCH, "digest",
                                "this node's test list (%zu units, digest %.12s) differs from "
                                "the one build %s was started with (%zu units, digest %.12s); "
                                "every node must find the same tests: check --pattern, "
                                "--exclude and that all nodes run the same checkout",
                                req->unit_count, req->digest, req->build, build->unit_count,
                                build->digest);
        return 0;
    }
    if (!attempt && builds_attempt_add (self->builds, build, req->node_index, req->attempt,
                                        &attempt) != 0)
        return -1;
    *handled = attempt;
    log_info ("node_joined suite=%s build=%s node=%u/%u attempt=%s created=%s",
              log_quote (req->suite), log_quote (req->build), req->node_index,
              req->node_total, req->attempt, created ? "yes" : "no");
    proto_msg_t *reply = proto_msg_new (PROTO_JOINED);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->units_total = build->unit_count;
    reply->node_total = build->node_total;
    reply->created = created;
    *out = reply;
    return 0;
}

//  Apply a report of a finished batch. Returns 0, 1 if *out holds an error
//  reply, -1 on a store error.
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
    if (req->report_time_count != batch->unit_count) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "report.times_ms",
                                "report of batch %u has %zu times for %zu units",
                                req->report_batch, req->report_time_count, batch->unit_count);
        return 1;
    }
    if (batch->reported)
        return 0;       //  already counted
    int64_t now = util_wall_ms ();
    if (store_batch_report (self->store, batch->id, req->report_wall_ms, req->report_exit, now) != 0)
        return -1;
    //  A runner killed by a signal did not finish its units' runs: their
    //  partial times would spoil good history, so only whole runs count.
    bool completed = req->report_exit >= 0;
    for (size_t i = 0; completed && i < batch->unit_count; i++) {
        uint64_t ms = req->report_times_ms[i];
        if (ms > req->report_wall_ms + 1)
            continue;   //  longer than its whole batch: not a real sample
        uint32_t idx = batch->unit_idx[i];
        if (store_record_sample (self->store, build->suite_id, build->id, build->names[idx],
                                 (double) ms, req->report_exit == 0, self->config.alpha, now) != 0)
            return -1;
        builds_learn_guess (build, idx, (double) ms);
    }
    builds_batch_complete (build, batch);
    log_debug ("batch_done build=%s node=%u batch=%u units=%zu wall_ms=%llu exit=%d done=%zu/%zu",
               log_quote (build->key), attempt->node_index, batch->seq, batch->unit_count,
               (unsigned long long) req->report_wall_ms, req->report_exit, build->done_count,
               build->unit_count);
    if (build->done_count == build->unit_count && !build->finished) {
        if (store_build_finish (self->store, build->id, now) != 0)
            return -1;
        build->finished = true;
        log_info ("build_finished suite=%s build=%s units=%zu", log_quote (build->suite),
                  log_quote (build->key), build->unit_count);
    }
    return 0;
}

static int
s_next (requests_t *self, const proto_msg_t *req, proto_msg_t **out, attempt_t **handled)
{
    attempt_t *attempt = NULL;
    int rc = builds_attempt_find (self->builds, req->attempt, &attempt);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_UNKNOWN_ATTEMPT, "attempt",
                                "attempt %s never joined a build; send join first", req->attempt);
        return 0;
    }
    *handled = attempt;
    if (s_repeat (self, attempt, req, out))
        return 0;
    if (req->has_report) {
        rc = s_report (self, attempt, req, out);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    build_t *build = attempt->build;
    proto_msg_t *reply = NULL;
    size_t waiting = build->queue_len - build->queue_head;
    if (waiting > 0) {
        size_t take = sched_batch_take (build->queue_ms + build->queue_head, waiting,
                                        build->remaining_ms, build->node_total,
                                        &self->config.policy);
        build_batch_t *batch = NULL;
        if (builds_batch_assign (self->builds, build, attempt, take, &batch) != 0)
            return -1;
        reply = proto_msg_new (PROTO_BATCH);
        reply->batch = batch->seq;
        reply->unit_count = batch->unit_count;
        reply->units = util_calloc (batch->unit_count, sizeof (char *));
        reply->predicted_ms = util_calloc (batch->unit_count, sizeof (uint64_t));
        for (size_t i = 0; i < batch->unit_count; i++) {
            uint32_t idx = batch->unit_idx[i];
            reply->units[i] = util_strdup (build->names[idx]);
            double ms = build->predicted_ms[idx];
            reply->predicted_ms[i] = ms < 1 ? 1 : (uint64_t) (ms + 0.5);
        }
        self->stats.batches++;
        self->stats.units += batch->unit_count;
        log_debug ("batch_given build=%s node=%u batch=%u units=%zu left=%zu",
                   log_quote (build->key), attempt->node_index, batch->seq, batch->unit_count,
                   build->queue_len - build->queue_head);
    }
    else {
        reply = proto_msg_new (PROTO_DONE);
        reply->units_done = build->done_count;
        reply->units_total = build->unit_count;
    }
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
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
