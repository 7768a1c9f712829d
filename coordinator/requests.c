/*  requests.c: see requests.h. One handler per request type.              */
#include "requests.h"

#include "admin.h"
#include "admin_jobs.h"
#include "report.h"

#include "builds.h"
#include "completion.h"
#include "examples.h"
#include "leases.h"
#include "log.h"
#include "pace.h"
#include "replay.h"
#include "standby.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A waiting node asks again this long after a batch's predicted end, and
//  never sooner than WAIT_MIN_MS after its last ask, or WAIT_PER_NODE_MS
//  times the build's nodes if more: the nodes of a small build learn of
//  its end within moments, and those of a build of 1,024 nodes together
//  ask at most about 2,000 times a second.
#define WAIT_SLACK_MS 10
#define WAIT_MIN_MS 10
#define WAIT_PER_NODE_MS 0.5

//  How long the nodes of a build not yet created wait for the node asked
//  to list the examples of its slow files; then the next node is asked.
#define LIST_WAIT_MS (2 * 60 * 1000)

//  How soon a node told to wait for a listing asks again: as long as the
//  listing has taken so far, within these bounds. A quick list command
//  (a few ms) then holds the other nodes back for about as long, not for
//  a whole half second each; a slow one (rspec --dry-run, seconds) is
//  asked about twice a second.
#define LIST_RETRY_MIN_MS 20
#define LIST_RETRY_MAX_MS 500

//  A build waiting for the examples of its slow files.
typedef struct {
    int64_t suite_id;            //  suites.id
    char key[PROTO_BUILD_MAX + 1];   //  build key
    char attempt[PROTO_ATTEMPT_MAX + 1]; //  the attempt asked to list them
    int64_t until_ms;            //  monotonic: ask another node after this
} s_listing_t;

struct _requests_t {
    store_t *store;              //  borrowed
    builds_t *builds;            //  in-memory view of builds and attempts
    requests_config_t config;    //  limits and policy
    requests_stats_t stats;      //  counters
    s_listing_t *listings;       //  builds waiting for examples (owned)
    size_t listing_count;        //  entries
    int64_t started_ms;          //  monotonic, for status's uptime
    admin_window_t window;       //  requests over the last minute
    admin_jobs_t *jobs;          //  backups and checks of the database
    bool reply_in_batch;         //  the reply being made is a batch made for its request
    bool park_allow;             //  the request being handled may be parked
    bool park_again;             //  it was parked before (not counted again)
    uint64_t park_ms;            //  its park_ms (a next's), 0: it may not be
    bool parked;                 //  it was parked: no reply
    int64_t parked_build;        //  and its build
    int64_t parked_recheck_ms;   //  when to look at it again at the latest
    int64_t *changed;            //  builds changed since the server last asked
    size_t changed_count;
    size_t changed_alloc;
    int last_type;               //  the last request's type, 0 if unreadable
    char last_result[PROTO_CODE_MAX];    //  and its result: ok, or the error code
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
    config->max_builds = REQUESTS_DEFAULT_MAX_BUILDS;
}

requests_t *
requests_new (store_t *store, const requests_config_t *config)
{
    requests_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->config = *config;
    self->builds = builds_new (store, &config->retry);
    self->started_ms = util_mono_ms ();
    self->jobs = admin_jobs_new (store_path (store));
    return self;
}

void
requests_destroy (requests_t **self_p)
{
    requests_t *self = *self_p;
    if (!self)
        return;
    admin_jobs_destroy (&self->jobs);
    free (self->changed);
    builds_destroy (&self->builds);
    free (self->listings);
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

static proto_msg_t *s_batch_msg (const build_t *build, const build_batch_t *batch);
static void s_policy (requests_t *self, build_t *build, sched_policy_t *policy);

//  Note that build changed in a way its parked requests may care about.
static void
s_changed (requests_t *self, const build_t *build)
{
    for (size_t i = 0; i < self->changed_count; i++)
        if (self->changed[i] == build->id)
            return;
    if (self->changed_count == self->changed_alloc) {
        self->changed_alloc = self->changed_alloc ? self->changed_alloc * 2 : 8;
        self->changed = util_realloc (self->changed, self->changed_alloc * sizeof (int64_t));
    }
    self->changed[self->changed_count++] = build->id;
}

//  Answer from the attempt's memory if this request was answered before.
//  Returns 1 if the answer is the remembered reply (*error NULL), made
//  again from its batch, or stale (in *error); 0 to go on.
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
    const build_batch_t *batch = req->req == attempt->last_req && attempt->reply_seq
                               ? builds_batch_find (attempt->build, attempt->node_index,
                                                    attempt->reply_seq)
                               : NULL;
    if (batch) {
        //  Loaded back after a restart: the reply was this batch.
        self->stats.retries++;
        *error = s_batch_msg (attempt->build, batch);
        proto_msg_set_str (&(*error)->attempt, req->attempt);
        (*error)->req = req->req;
        self->reply_in_batch = true;
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
    char **names;            //  unit names (owned)
    char **parents;          //  per unit: an example's file or NULL; NULL if none (owned)
    double *ms;              //  predicted time
    uint8_t *guessed;        //  1 if the prediction is a guess
    uint32_t *split_node;    //  regular build: node of each unit; else NULL
    size_t count;            //  units
} s_plan_t;

static void
s_plan_free (s_plan_t *plan)
{
    examples_list_free (plan->names, plan->parents, plan->count);
    free (plan->ms);
    free (plan->guessed);
    free (plan->split_node);
    memset (plan, 0, sizeof *plan);
}

//  A build's unit list before planning: names in strcmp order, and for
//  each its file if it is an example (parents NULL: no examples).
typedef struct {
    char **names;            //  (owned)
    char **parents;          //  (owned) or NULL
    size_t count;            //  units
} s_list_t;

static int
s_compare_name (const void *key, const void *item)
{
    return strcmp ((const char *) key, *(char *const *) item);
}

//  The split of the earliest regular build of the same suite, commit,
//  branch, node total and test files, if its units (files, or the
//  examples of a file it split) cover exactly the join's files: its units
//  in its order, each on its node, into *plan (estimates left to fill).
//  Returns 0 if reused, 1 if there is none to reuse, -1.
static int
s_split_reuse (requests_t *self, int64_t suite_id, const proto_msg_t *req, s_plan_t *plan)
{
    int64_t from_build = 0;
    int rc = store_split_find (self->store, suite_id, req->commit, req->branch,
                               req->node_total, req->digest, 0, &from_build);
    if (rc != 0)
        return rc;
    char **names = NULL, **parents = NULL;
    double *ms = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    if (store_units_load (self->store, from_build, &names, &ms, &count, &split) != 0
    ||  store_units_parents_load (self->store, from_build, count, &parents) != 0) {
        for (size_t i = 0; names && i < count; i++)
            free (names[i]);
        free (names);
        free (ms);
        free (split);
        return -1;
    }
    uint8_t *covered = util_calloc (req->unit_count, 1);
    size_t files = 0;
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const char *file = parents[i] ? parents[i] : names[i];
        char **found = bsearch (file, req->units, req->unit_count, sizeof (char *),
                                s_compare_name);
        if (!found || split[i] >= req->node_total)
            rc = 1;     //  the same digest, yet not the same list: compute afresh
        else if (!covered[found - req->units]) {
            covered[found - req->units] = 1;
            files++;
        }
    }
    if (rc == 0 && files != req->unit_count)
        rc = 1;
    if (rc == 1)
        log_warn ("split_not_reused suite=%s from_build_id=%lld why=\"units differ\"",
                  log_quote (req->suite), (long long) from_build);
    if (rc == 0) {
        bool any = false;
        for (size_t i = 0; i < count; i++)
            any = any || parents[i];
        plan->names = names;
        plan->parents = any ? parents : NULL;
        plan->split_node = split;
        plan->count = count;
        if (!any)
            examples_list_free (NULL, parents, count);
        log_info ("regular_split suite=%s nodes=%u units=%zu split=reused from_build_id=%lld",
                  log_quote (req->suite), req->node_total, count, (long long) from_build);
    }
    else {
        examples_list_free (names, parents, count);
        free (split);
    }
    free (ms);
    free (covered);
    return rc;
}

//  A file's time, for the estimates of its examples: its history.
static double
s_file_ms (const char *file, void *arg)
{
    requests_t *self = ((void **) arg)[0];
    int64_t suite_id = *(int64_t *) ((void **) arg)[1];
    const char *names[] = { file };
    double ms = -1;
    if (store_estimates (self->store, suite_id, names, 1, &ms) != 0)
        return -1;
    return ms;
}

//  Predicted times of names[0..count): history, else (examples) their
//  file's, else the estimates of sched_estimate_unseen. guessed[i] says
//  which had no history.
static int
s_estimate (requests_t *self, int64_t suite_id, char *const *names, char *const *parents,
            size_t count, double *ms, uint8_t *guessed)
{
    if (store_estimates (self->store, suite_id, (const char *const *) names, count, ms) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        guessed[i] = ms[i] < 0;
    if (parents) {
        void *arg[] = { self, &suite_id };
        examples_estimate (names, parents, ms, count, s_file_ms, arg);
    }
    double suite_median = -1;
    if (store_suite_median (self->store, suite_id, &suite_median) != 0)
        return -1;
    sched_estimate_unseen ((const char *const *) names, ms, count, suite_median,
                           self->config.policy.default_ms);
    return 0;
}

//  The listing under way for a build, or NULL. Entries long past their
//  time (their build was never created) are dropped on the way.
static s_listing_t *
s_listing_find (requests_t *self, int64_t suite_id, const char *key, int64_t now)
{
    for (size_t i = 0; i < self->listing_count; ) {
        s_listing_t *listing = &self->listings[i];
        if (now > listing->until_ms + LIST_WAIT_MS) {
            self->listings[i] = self->listings[--self->listing_count];
            continue;
        }
        if (listing->suite_id == suite_id && strcmp (listing->key, key) == 0)
            return listing;
        i++;
    }
    return NULL;
}

static void
s_listing_forget (requests_t *self, int64_t suite_id, const char *key)
{
    s_listing_t *listing = s_listing_find (self, suite_id, key, util_mono_ms ());
    if (listing)
        *listing = self->listings[--self->listing_count];
}

//  The unit list of the build a join creates: its files, or (a listed
//  join) its files with the slow ones replaced by their examples. A join
//  that can list examples, for a build that has slow files and no split
//  to reuse, is answered with expand instead (or with wait, while another
//  node lists them). Returns 0 with *list, 1 with the reply in *out, -1.
static int
s_unit_list (requests_t *self, int64_t suite_id, const proto_msg_t *req, const char *key,
             s_list_t *list, proto_msg_t **out)
{
    memset (list, 0, sizeof *list);
    if (req->listed && req->example_count > 0) {
        char why[300];
        if (examples_merge (req, &list->names, &list->parents, &list->count, why,
                            sizeof why) != 0) {
            *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "examples",
                                    "%s", why);
            return 1;
        }
        if (list->count > self->config.limits.max_units) {
            *out = proto_error_new (req->attempt, req->req, PROTO_ERR_LIMIT, "examples",
                                    "the build would have %zu units with the examples, more "
                                    "than the limit of %zu", list->count,
                                    self->config.limits.max_units);
            examples_list_free (list->names, list->parents, list->count);
            memset (list, 0, sizeof *list);
            return 1;
        }
        log_info ("examples_listed suite=%s build=%s examples=%zu units=%zu",
                  log_quote (req->suite), log_quote (key), req->example_count, list->count);
        return 0;
    }
    bool regular = strcmp (req->mode, "regular") == 0;
    int64_t reusable = 0;
    int found = regular && !req->fresh_split
              ? store_split_find (self->store, suite_id, req->commit, req->branch,
                                  req->node_total, req->digest, 0, &reusable) : 1;
    if (found < 0)
        return -1;
    if (req->can_list && !req->listed && found == 1 && req->node_total > 1) {
        size_t count = req->unit_count;
        double *ms = util_malloc (count * sizeof (double));
        uint8_t *guessed = util_malloc (count);
        uint32_t *slow = util_malloc (count * sizeof (uint32_t));
        int rc = s_estimate (self, suite_id, req->units, NULL, count, ms, guessed);
        size_t slow_count = rc == 0 ? examples_slow_files (ms, count, req->node_total,
                                                           (double) req->slow_ms, slow) : 0;
        if (slow_count > 0) {
            int64_t now = util_mono_ms ();
            s_listing_t *listing = s_listing_find (self, suite_id, key, now);
            if (listing && strcmp (listing->attempt, req->attempt) != 0 && now < listing->until_ms) {
                proto_msg_t *reply = proto_msg_new (PROTO_WAIT);
                int64_t listing_ms = now - (listing->until_ms - LIST_WAIT_MS);
                reply->retry_ms = (uint64_t) (listing_ms < LIST_RETRY_MIN_MS ? LIST_RETRY_MIN_MS
                                              : listing_ms > LIST_RETRY_MAX_MS
                                              ? LIST_RETRY_MAX_MS : listing_ms);
                *out = reply;
            }
            else {
                if (!listing) {
                    self->listings = util_realloc (self->listings, (self->listing_count + 1)
                                                                   * sizeof (s_listing_t));
                    listing = &self->listings[self->listing_count++];
                }
                listing->suite_id = suite_id;
                snprintf (listing->key, sizeof listing->key, "%s", key);
                snprintf (listing->attempt, sizeof listing->attempt, "%s", req->attempt);
                listing->until_ms = now + LIST_WAIT_MS;
                proto_msg_t *reply = proto_msg_new (PROTO_EXPAND);
                reply->units = util_calloc (slow_count, sizeof (char *));
                reply->unit_count = slow_count;
                for (size_t i = 0; i < slow_count; i++)
                    reply->units[i] = util_strdup (req->units[slow[i]]);
                log_info ("examples_asked suite=%s build=%s attempt=%s slow_files=%zu",
                          log_quote (req->suite), log_quote (key), req->attempt, slow_count);
                *out = reply;
            }
        }
        free (ms);
        free (guessed);
        free (slow);
        if (rc != 0)
            return -1;
        if (slow_count > 0) {
            proto_msg_set_str (&(*out)->attempt, req->attempt);
            (*out)->req = req->req;
            return 1;
        }
    }
    list->count = req->unit_count;
    list->names = util_calloc (list->count, sizeof (char *));
    for (size_t i = 0; i < list->count; i++)
        list->names[i] = util_strdup (req->units[i]);
    return 0;
}

//  Put the build's units in queue order with their estimates: longest
//  first. A regular build also gets its split: reused (reuse_split, the
//  default) or computed by LPT from the latest history. list is taken
//  over by the plan.
static int
s_plan (requests_t *self, int64_t suite_id, const proto_msg_t *req, s_list_t *list,
        s_plan_t *plan)
{
    bool regular = strcmp (req->mode, "regular") == 0;
    memset (plan, 0, sizeof *plan);
    int reused = regular && !req->fresh_split ? s_split_reuse (self, suite_id, req, plan) : 1;
    if (reused < 0)
        return -1;
    if (reused == 0) {
        examples_list_free (list->names, list->parents, list->count);
        memset (list, 0, sizeof *list);
        plan->ms = util_malloc ((plan->count ? plan->count : 1) * sizeof (double));
        plan->guessed = util_malloc (plan->count ? plan->count : 1);
        return s_estimate (self, suite_id, plan->names, plan->parents, plan->count, plan->ms,
                           plan->guessed);
    }
    size_t count = list->count;
    double *ms = util_malloc ((count ? count : 1) * sizeof (double));
    uint8_t *guessed = util_malloc (count ? count : 1);
    uint32_t *order = util_malloc ((count ? count : 1) * sizeof (uint32_t));
    int rc = s_estimate (self, suite_id, list->names, list->parents, count, ms, guessed);
    if (rc == 0) {
        sched_order ((const char *const *) list->names, ms, count, order);
        plan->names = util_malloc ((count ? count : 1) * sizeof (char *));
        plan->parents = list->parents ? util_calloc (count ? count : 1, sizeof (char *)) : NULL;
        plan->ms = util_malloc ((count ? count : 1) * sizeof (double));
        plan->guessed = util_malloc (count ? count : 1);
        plan->count = count;
        for (size_t i = 0; i < count; i++) {
            plan->names[i] = list->names[order[i]];
            if (plan->parents)
                plan->parents[i] = list->parents[order[i]];
            plan->ms[i] = ms[order[i]];
            plan->guessed[i] = guessed[order[i]];
        }
        free (list->names);
        free (list->parents);
        memset (list, 0, sizeof *list);
        if (regular) {
            plan->split_node = util_malloc ((count ? count : 1) * sizeof (uint32_t));
            sched_split_lpt (plan->ms, count, req->node_total, plan->split_node);
            log_info ("regular_split suite=%s nodes=%u units=%zu split=computed",
                      log_quote (req->suite), req->node_total, count);
        }
    }
    free (ms);
    free (guessed);
    free (order);
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
            s_changed (self, build);
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
            size_t flying = builds_in_flight (self->builds,
                                              util_mono_ms () - REQUESTS_IN_FLIGHT_IDLE_MS);
            if (flying >= self->config.max_builds) {
                *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BUSY, "build",
                                        "satcheld has %zu builds in flight, its limit "
                                        "(--max-builds); try again when one finishes", flying);
                return 0;
            }
            s_list_t list;
            rc = s_unit_list (self, suite_id, req, key, &list, out);
            if (rc != 0)
                return rc < 0 ? -1 : 0;
            s_plan_t plan;
            rc = s_plan (self, suite_id, req, &list, &plan);
            examples_list_free (list.names, list.parents, list.count);
            builds_new_t spec = {
                .suite_id = suite_id, .suite = req->suite, .key = key,
                .node_total = req->node_total, .mode = req->mode, .commit = req->commit,
                .branch = req->branch, .digest = req->digest, .fail_fast = req->fail_fast,
                .parents = plan.parents
            };
            if (rc == 0)
                rc = builds_create (self->builds, &spec, plan.names, plan.ms, plan.guessed,
                                    plan.split_node, plan.count, &build);
            s_plan_free (&plan);
            if (rc != 0)
                return -1;
            s_listing_forget (self, suite_id, key);
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
                                req->machine, &attempt) != 0)
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
    reply->known = build->known_count;
    reply->examples_total = build->example_count;
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

//  The units of a batch in a batch message.
static proto_msg_t *
s_batch_msg (const build_t *build, const build_batch_t *batch)
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
    return reply;
}

//  A batch handed out now, in its reply.
static proto_msg_t *
s_batch_reply (requests_t *self, const build_t *build, const build_batch_t *batch)
{
    self->stats.batches++;
    self->stats.units += batch->unit_count;
    return s_batch_msg (build, batch);
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

//  The pace of the machine an attempt runs on, as earlier builds learned
//  it (relative to the farm's median machine), or 1 if none is known.
//  Estimates learn each unit's time on a median machine: a unit that ran on
//  a machine 1.5 times slower would otherwise be predicted too long (15%
//  after one build, at alpha 0.3), and the node that drew it next would
//  look fast to the plan and come back early for another batch.
static double
s_machine_pace (const attempt_t *attempt)
{
    return attempt->machine_pace > 0 && isfinite (attempt->machine_pace) ? attempt->machine_pace
                                                                          : 1.0;
}

//  Without a report the agent shares a batch's whole wall time over its
//  units, the runner's start-ups included: a batch of small tests would
//  teach each of them a good part of a start-up, the next build would
//  predict them long, and its plan would think the farm slower than it is.
//  The factor that takes the start-ups out first, when the start-up is a
//  measurement (learned from reports, or given with --runner-startup)
//  and not the default guess; never below a tenth of the wall time. A
//  start-up takes machine_pace times as long on the batch's machine.
static double
s_shared_scale (requests_t *self, build_t *build, const proto_msg_t *req, double machine_pace)
{
    if (!self->config.startup_given && build->startup_ms < 0)
        return 1.0;
    sched_policy_t policy;
    s_policy (self, build, &policy);
    double sum = 0;
    for (size_t i = 0; i < req->report_time_count; i++)
        sum += (double) req->report_times_ms[i];
    if (!(sum > 0))
        return 1.0;
    double wall = (double) req->report_wall_ms;
    double tests = wall - policy.startup_ms * machine_pace * (double) req->report_runs;
    return fmin (1.0, fmax (0.1 * wall, tests) / sum);
}

//  What a report teaches the history. Only whole runs count: a runner
//  killed by a signal did not finish its units, and a unit the test report
//  does not have ran not at all or not to the end, so their times would
//  spoil good history. A time longer than its whole batch is no real
//  sample. When every unit of a batch was measured by the report, the
//  rest of the wall time is the runner's own: its start-up, learned per
//  suite. Sets *tests_ms to the sum of the units' times if every one was
//  measured, else -1 (the batch's report keeps it). Without a report the
//  shared times lose the start-ups first (s_shared_scale). Samples keep
//  the times as they were, with the machine's pace; estimates and the
//  suite's start-up learn them as a median machine would take them
//  (s_machine_pace). Returns 0 or -1 on a store error.
static int
s_learn (requests_t *self, const attempt_t *attempt, build_batch_t *batch,
         const proto_msg_t *req, const int8_t *unit_ok, int64_t now, int64_t *tests_ms)
{
    *tests_ms = -1;
    build_t *build = attempt->build;
    store_t *store = builds_store (self->builds);
    bool completed = req->report_exit >= 0;
    bool all_measured = unit_ok != NULL && completed;
    uint64_t measured_ms = 0;
    double machine_pace = s_machine_pace (attempt);
    double shared_scale = unit_ok || !completed ? 1.0
                        : s_shared_scale (self, build, req, machine_pace);
    for (size_t i = 0; completed && i < batch->unit_count; i++) {
        uint64_t ms = (uint64_t) ((double) req->report_times_ms[i] * shared_scale + 0.5);
        if ((unit_ok && unit_ok[i] < 0) || req->report_times_ms[i] > req->report_wall_ms + 1) {
            all_measured = false;
            continue;
        }
        uint32_t idx = batch->unit_idx[i];
        bool ok = unit_ok ? unit_ok[i] == 1 : req->report_exit == 0;
        const char *parent = build->parents ? build->parents[idx] : NULL;
        if (store_record_sample_paced (store, build->suite_id, build->id, build->names[idx],
                                       parent, (double) ms, machine_pace, ok, self->config.alpha,
                                       now) != 0)
            return -1;
        builds_learn_guess (build, idx, (double) ms / machine_pace);
        measured_ms += ms;
    }
    //  Every batch keeps its runner starts (what a report on the build
    //  shows); only a fully measured one its tests' time.
    if (batch->unit_count == 0 || !all_measured)
        return 0;
    *tests_ms = (int64_t) measured_ms;
    if (measured_ms > req->report_wall_ms)
        return 0;       //  a report that claims more than the wall time (parallel runners)
    double startup = (double) (req->report_wall_ms - measured_ms) / (double) req->report_runs
                   / machine_pace;
    if (store_learn_startup (store, build->suite_id, startup, self->config.alpha) != 0)
        return -1;
    double learned = startup;
    int64_t samples = 0;
    if (store_suite_startup (store, build->suite_id, &learned, &samples) != 0)
        return -1;
    build->startup_ms = learned;
    build->startup_loaded = true;
    log_debug ("startup_learned suite=%s sample_ms=%.0f startup_ms=%.0f samples=%lld",
               log_quote (build->suite), startup, learned, (long long) samples);
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
        s_changed (self, build);
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
        return 0;       //  already counted (a parked next, handled again, lands here)
    s_changed (self, build);
    if (!holder) {
        self->stats.fenced++;
        log_warn ("report_fenced suite=%s build=%s node=%u batch=%u lease=%llu held_lease=%llu "
                  "attempt=%s", log_quote (build->suite), log_quote (build->key),
                  attempt->node_index, batch->seq, (unsigned long long) req->report_lease,
                  (unsigned long long) batch->lease, attempt->attempt);
    }
    int64_t now = util_wall_ms ();
    int8_t *unit_ok = NULL;
    if (req->report_status) {
        unit_ok = util_malloc (batch->unit_count ? batch->unit_count : 1);
        for (size_t i = 0; i < batch->unit_count; i++)
            unit_ok[i] = req->report_status[i] == PROTO_UNIT_PASSED ? 1
                       : req->report_status[i] == PROTO_UNIT_FAILED ? 0 : -1;
    }
    int64_t tests_ms = -1;
    int rc = s_learn (self, attempt, batch, req, unit_ok, now, &tests_ms);
    if (rc == 0 && builds_batch_report (self->builds, build, attempt->node_index, batch, holder,
                                        req->report_wall_ms, req->report_exit, unit_ok,
                                        tests_ms, req->report_runs, now) < 0)
        rc = -1;
    free (unit_ok);
    if (rc != 0)
        return -1;
    log_debug ("batch_done build=%s node=%u batch=%u units=%zu wall_ms=%llu exit=%d done=%zu/%zu",
               log_quote (build->key), attempt->node_index, batch->seq, batch->unit_count,
               (unsigned long long) req->report_wall_ms, req->report_exit, build->done_count,
               build->unit_count);
    size_t failed_at = batch->unit_count;
    for (size_t i = 0; i < batch->unit_count && failed_at == batch->unit_count; i++)
        if (!builds_unit_passed (batch, i))
            failed_at = i;
    if (holder && failed_at < batch->unit_count) {
        if (build->fail_fast && !build->stopping) {
            char reason[256];
            snprintf (reason, sizeof reason, "fail-fast: batch %u of node %u failed (%.150s%s)",
                      batch->seq, attempt->node_index, build->names[batch->unit_idx[failed_at]],
                      batch->unit_count > 1 ? " and maybe others" : "");
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
    int finished = completion_check (self->builds, build, now);
    if (finished < 0)
        return -1;
    if (finished == 1) {
        //  Each machine's pace, for the next builds' plans.
        sched_policy_t policy;
        s_policy (self, build, &policy);
        if (builds_learn_machines (self->builds, build, policy.startup_ms,
                                   self->config.alpha, now) != 0)
            return -1;
        const char *result = completion_result (build);
        const char *const words[4] = { "passed", "failed", "flaky", "stopped" };
        for (size_t i = 0; i < 4; i++)
            if (strcmp (result, words[i]) == 0)
                self->stats.finished[i]++;
    }
    if (finished == 1 && build->parents) {
        //  Each split file whose examples all ran gets its own sample too.
        size_t files = 0;
        if (store_file_sums (self->store, build->id, build->suite_id, self->config.alpha, now,
                             &files) != 0)
            return -1;
        log_info ("split_files_timed suite=%s build=%s files=%zu", log_quote (build->suite),
                  log_quote (build->key), files);
    }
    return 0;
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

//  The scheduling policy for a build: with the runner start-up its suite
//  learned from measured batches in place of the configured guess, once
//  there is one. A failed read keeps the configured value for now.
static void
s_policy (requests_t *self, build_t *build, sched_policy_t *policy)
{
    *policy = self->config.policy;
    if (!build->startup_loaded) {
        double startup = -1;
        int64_t samples = 0;
        if (store_suite_startup (builds_store (self->builds), build->suite_id, &startup,
                                 &samples) == 0) {
            build->startup_ms = startup;
            build->startup_loaded = true;
        }
    }
    if (build->startup_ms >= 0)
        policy->startup_ms = build->startup_ms;
}

//  How long a waiting node should wait before it asks again: until the
//  first running batch may end, at its node's pace, less the noise of its
//  units' times (SCHED_PLAN_NOISE / sqrt of how many there are, weighted:
//  one long unit may end a fifth early); within that window it asks 32
//  times a window, so the nodes of a finished build learn it within
//  moments, not a whole poll period later; at most --wait. A batch past
//  the window is asked about less and less often, the longer it overruns.
static int64_t
s_wait_ms (requests_t *self, const build_t *build, double startup_ms, int64_t now)
{
    int64_t wait = self->config.wait_ms;
    if (wait > self->config.leases.lease_ms / 2)
        wait = self->config.leases.lease_ms / 2;
    int64_t floor = (int64_t) (WAIT_PER_NODE_MS * build->node_total);
    if (floor < WAIT_MIN_MS)
        floor = WAIT_MIN_MS;
    sched_node_t *paces = util_calloc (build->node_total ? build->node_total : 1,
                                       sizeof (sched_node_t));
    pace_nodes (build, UINT32_MAX, startup_ms, self->config.leases.lease_ms, now, paces);
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        double pace = paces[n].pace;
        for (size_t b = node->live_from; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (batch->state != STORE_BATCH_RUNNING)
                continue;
            double predicted = startup_ms, squares = 0;
            for (size_t u = 0; u < batch->unit_count; u++) {
                double unit = build->predicted_ms[batch->unit_idx[u]];
                predicted += unit;
                squares += unit * unit;
            }
            double units = predicted - startup_ms;
            double weighted = squares > 0 ? units * units / squares : 1;
            int64_t margin = (int64_t) (SCHED_PLAN_NOISE * units * pace
                                        / sqrt (weighted < 1 ? 1 : weighted));
            int64_t left = batch->handed_mono_ms + (int64_t) (predicted * pace) - now;
            int64_t candidate = left > margin ? left - margin + WAIT_SLACK_MS
                              : left > -margin ? margin / 32
                              : -left / 4;
            if (candidate < floor)
                candidate = floor;
            if (candidate < wait)
                wait = candidate;
        }
    }
    free (paces);
    return wait;
}

//  What the attempt gets now: its planned replays first, then (regular
//  mode) its list, then failed units of other nodes, then the queue (in
//  regular mode: units whose node lost them); with nothing to hand out,
//  wait while some unit may still come back, else done. Returns 0 or -1.
static int
s_hand_out (requests_t *self, attempt_t *attempt, uint64_t req, int64_t now, proto_msg_t **out)
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
    if (expired > 0)
        s_changed (self, build);

    leases_standing_by (build, attempt->id, false);
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
        sched_policy_t policy;
        s_policy (self, build, &policy);
        sched_node_t *nodes = util_calloc (build->node_total, sizeof (sched_node_t));
        pace_nodes (build, attempt->node_index, policy.startup_ms, self->config.leases.lease_ms,
                    now, nodes);
        size_t take = sched_batch_plan (build->queue_ms + build->queue_head,
                                        build->queue + build->queue_head, waiting,
                                        build->remaining_ms, nodes, build->node_total,
                                        attempt->node_index, &policy);
        //  Only for the debug line: the plan is not worked out twice otherwise.
        double finish = log_level () >= LOG_LEVEL_DEBUG
                      ? sched_plan_finish_ms (nodes, build->node_total, build->remaining_ms,
                                              policy.startup_ms)
                      : -1;
        sched_node_t asking = nodes[attempt->node_index];
        free (nodes);
        if (builds_batch_from_queue (self->builds, build, attempt, take, req, &batch) != 0)
            return -1;
        self->reply_in_batch = true;
        log_debug ("batch_given build=%s node=%u batch=%u units=%zu left=%zu predicted_ms=%.0f "
                   "finish_in_ms=%.0f pace=%.2f paced=%s", log_quote (build->key),
                   attempt->node_index, batch->seq, batch->unit_count,
                   build->queue_len - build->queue_head, batch->predicted_ms, finish, asking.pace,
                   asking.paced ? "yes" : "no");
        *out = s_batch_reply (self, build, batch);
        return 0;
    }
    if (!completion_ready (build)) {
        if (attempt->no_wait) {
            *out = s_done (self, attempt, "no_wait");
            return 0;
        }
        if (standby_release (build, attempt, &self->config.retry,
                             self->config.leases.lease_ms, now)) {
            log_info ("node_released suite=%s build=%s node=%u", log_quote (build->suite),
                      log_quote (build->key), attempt->node_index);
            *out = s_done (self, attempt, "released");
            return 0;
        }
        leases_standing_by (build, attempt->id, true);
        if (self->park_allow && self->park_ms > 0) {
            //  Held instead: answered again when the build changes, or
            //  when its leases are looked at next (one may lapse).
            self->parked = true;
            self->parked_build = build->id;
            self->parked_recheck_ms = build->next_expiry_check_ms > now
                                    ? build->next_expiry_check_ms : now + 1;
            if (!self->park_again)
                log_debug ("next_parked build=%s node=%u park_ms=%llu", log_quote (build->key),
                           attempt->node_index, (unsigned long long) self->park_ms);
            *out = NULL;
            return 0;
        }
        self->stats.waits++;
        proto_msg_t *reply = proto_msg_new (PROTO_WAIT);
        sched_policy_t policy;
        s_policy (self, build, &policy);
        //  A request held for its whole time asks again at once, to be
        //  held again: a change while it slept would go unseen.
        int64_t wait = self->park_again ? 1 : s_wait_ms (self, build, policy.startup_ms, now);
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
    self->park_ms = req->park_ms;
    if (s_hand_out (self, attempt, req->req, now, &reply) != 0)
        return -1;
    if (!reply)
        return 0;           //  parked
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

//  Add imported timings to a suite's history, all or nothing (the caller
//  rolls the transaction back on a store error). Each time is one sample;
//  an example's file is named so the file's time counts its examples.
static int
s_import (requests_t *self, const proto_msg_t *req, proto_msg_t **out)
{
    int64_t suite_id = 0;
    if (store_suite_ensure (self->store, req->suite, &suite_id) != 0)
        return -1;
    int64_t now = util_wall_ms ();
    for (size_t i = 0; i < req->unit_count; i++) {
        const char *parent = req->parent[i] > 0 ? req->units[req->parent[i] - 1] : NULL;
        if (store_record_sample_of (self->store, suite_id, 0, req->units[i], parent,
                                    (double) req->times_ms[i], true, self->config.alpha,
                                    now) != 0)
            return -1;
    }
    log_info ("history_imported suite=%s units=%zu", log_quote (req->suite), req->unit_count);
    proto_msg_t *reply = proto_msg_new (PROTO_IMPORTED);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->units_total = req->unit_count;
    *out = reply;
    return 0;
}

//  A report of builds (report.h) for an admin's query. Returns 0 with
//  *out, or -1 on a store error.
static int
s_query (requests_t *self, const proto_msg_t *req, proto_msg_t **out)
{
    char *json = NULL;
    uint32_t limit = req->limit ? (uint32_t) req->limit : PROTO_QUERY_LIMIT_DEFAULT;
    const char *what = req->what;
    int rc;
    if (strcmp (what, "builds") == 0)
        rc = report_builds (self->store, req->suite, limit, &json);
    else if (strcmp (what, "build") == 0)
        rc = report_build (self->store, (int64_t) req->build_id, &json);
    else if (strcmp (what, "slowest") == 0)
        rc = report_slowest (self->store, req->suite, limit, &json);
    else if (strcmp (what, "flaky") == 0)
        rc = report_flaky (self->store, req->suite, limit, &json);
    else if (strcmp (what, "trend") == 0)
        rc = report_trend (self->store, req->suite, req->unit, limit, &json);
    else
        rc = report_export (self->store, req->suite, (int64_t) req->since_ms,
                            (int64_t) req->after,
                            req->limit ? (uint32_t) req->limit : PROTO_EXPORT_PAGE_DEFAULT, &json);
    if (rc < 0)
        return -1;
    if (rc == 1 && strcmp (what, "build") == 0) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "build_id",
                                "there is no build %llu (satchel builds lists them)",
                                (unsigned long long) req->build_id);
        return 0;
    }
    if (rc == 1) {
        *out = proto_error_new (req->attempt, req->req, PROTO_ERR_BAD_REQUEST, "suite",
                                "there is no suite %s (no build or import has named it)",
                                req->suite);
        return 0;
    }
    proto_msg_t *reply = proto_msg_new (PROTO_QUERY_RESULT);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    reply->data = (uint8_t *) json;
    reply->data_size = strlen (json);
    *out = reply;
    return 0;
}

//  Whether peer may make req (access.h says what needs what). Returns 0
//  if it may, 1 if not (*out holds the refusal), -1 on a store error.
static int
s_access (requests_t *self, const proto_msg_t *req, const access_peer_t *peer,
          proto_msg_t **out)
{
    if (!peer || !peer->checked)
        return 0;
    const char *suite = NULL;
    if (req->type == PROTO_JOIN || req->type == PROTO_IMPORT || req->type == PROTO_FALLBACK)
        suite = req->suite;
    else
    if (req->type == PROTO_NEXT || req->type == PROTO_HEARTBEAT) {
        attempt_t *attempt = NULL;
        int rc = builds_attempt_find (self->builds, req->attempt, &attempt);
        if (rc < 0)
            return -1;
        if (rc == 1)
            return 0;       //  unknown attempt: its handler says so
        suite = attempt->build->suite;
    }
    else
        return 0;           //  unknown type: its handler says so
    return access_check_suite (peer, suite, req->type, req->attempt, req->req, out) == 0 ? 0 : 1;
}

int
requests_handle (requests_t *self, const void *frame, size_t size, char **reply,
                 size_t *reply_size)
{
    return requests_handle_as (self, frame, size, NULL, reply, reply_size);
}

int
requests_handle_as (requests_t *self, const void *frame, size_t size,
                    const access_peer_t *peer, char **reply, size_t *reply_size)
{
    proto_error_t err;
    proto_msg_t *out = NULL;
    attempt_t *attempt = NULL;
    int rc = 0;
    if (!self->park_again)
        self->stats.requests++;
    self->reply_in_batch = false;
    self->parked = false;
    self->park_ms = 0;
    if (!self->park_again)
        admin_window_add (&self->window, util_mono_ms ());
    proto_msg_t *req = proto_decode (frame, size, &self->config.limits, &err);
    int access = req ? s_access (self, req, peer, &out) : 0;
    if (!req) {
        out = proto_error_new (err.attempt[0] ? err.attempt : NULL, err.req, err.code,
                               err.field, "%s", err.message);
        log_warn ("bad_request code=%s field=%s message=%s", err.code, log_quote (err.field),
                  log_quote (err.message));
    }
    else if (access != 0)
        rc = access < 0 ? -1 : 0;   //  refused (out holds the reply), or a store error
    else if (req->type == PROTO_JOIN)
        rc = s_join (self, req, &out, &attempt);
    else if (req->type == PROTO_NEXT)
        rc = s_next (self, req, &out, &attempt);
    else if (req->type == PROTO_HEARTBEAT)
        rc = s_heartbeat (self, req, &out, &attempt);
    else if (req->type == PROTO_IMPORT)
        rc = s_import (self, req, &out);
    else if (req->type == PROTO_STATUS) {
        if (access_require_admin (peer, "status", req->attempt, req->req, &out) == 0) {
            admin_facts_t facts = { self->started_ms, self->stats.requests, &self->window,
                                    self->builds, self->store };
            admin_status (&facts, req, &out);
        }
    }
    else if (req->type == PROTO_FALLBACK) {
        //  Kept for `satchel build` and counted: the node's tests ran
        //  outside the build's queue.
        int64_t suite_id = 0;
        if (store_suite_ensure (self->store, req->suite, &suite_id) != 0
        ||  store_fallback_record (self->store, suite_id, req->build, req->node_index,
                                   req->node_total, req->units_total, util_wall_ms ()) != 0)
            rc = -1;
        else {
            self->stats.fallbacks++;
            log_warn ("fallback_reported suite=%s build=%s node=%u/%u units=%llu",
                      log_quote (req->suite), log_quote (req->build), req->node_index,
                      req->node_total, (unsigned long long) req->units_total);
            out = proto_msg_new (PROTO_NOTED);
            proto_msg_set_str (&out->attempt, req->attempt);
            out->req = req->req;
        }
    }
    else if (req->type == PROTO_QUERY) {
        if (access_require_admin (peer, req->what, req->attempt, req->req, &out) == 0)
            rc = s_query (self, req, &out);
    }
    else if (req->type == PROTO_ADMIN) {
        if (access_require_admin (peer, req->action, req->attempt, req->req, &out) == 0)
            admin_jobs_handle (self->jobs, req, &out);
    }
    else
        out = proto_error_new (req->attempt, req->req, PROTO_ERR_UNKNOWN_TYPE, "type",
                               "satcheld does not accept %s messages", proto_type_name (req->type));

    self->last_type = req ? (int) req->type : 0;
    snprintf (self->last_result, sizeof self->last_result, "%s",
              rc != 0 ? PROTO_ERR_INTERNAL
                      : out && out->type == PROTO_ERROR ? out->code : "ok");
    if (rc != 0) {
        proto_msg_destroy (&out);
        requests_internal_error (reply, reply_size);
        self->stats.errors++;
        proto_msg_destroy (&req);
        return -1;
    }
    if (self->parked) {
        //  No reply yet; nothing to remember either (asked again, it is
        //  handled afresh).
        assert (!out);
        *reply = NULL;
        *reply_size = 0;
        proto_msg_destroy (&req);
        return 0;
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
        else if (!attempt)
            //  No attempt to remember it: an import (repeated after a lost
            //  reply it is one more sample), or a join answered with
            //  expand or wait (asked again, it is answered afresh).
            assert (out->type == PROTO_IMPORTED || out->type == PROTO_EXPAND
                    || out->type == PROTO_WAIT || out->type == PROTO_DAEMON_STATUS
                    || out->type == PROTO_ADMIN_JOB || out->type == PROTO_QUERY_RESULT
                    || out->type == PROTO_NOTED);
        else {
            assert (attempt);   //  every non-error reply answers an attempt
            if (builds_attempt_reply (self->builds, attempt, req->req, *reply, *reply_size,
                                      self->reply_in_batch) != 0) {
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

void
requests_last_outcome (requests_t *self, int *type, const char **result)
{
    *type = self->last_type;
    *result = self->last_result;
}

void
requests_configure (requests_t *self, const requests_config_t *config)
{
    self->config = *config;
    builds_configure (self->builds, &config->retry);
}

builds_t *
requests_builds (requests_t *self)
{
    return self->builds;
}

void
requests_park (requests_t *self, bool allow, bool again)
{
    self->park_allow = allow;
    self->park_again = again;
}

void
requests_parked (requests_t *self, int64_t *build_id, int64_t *recheck_ms, uint64_t *park_ms)
{
    assert (self->parked);
    *build_id = self->parked_build;
    *recheck_ms = self->parked_recheck_ms;
    *park_ms = self->park_ms;
}

size_t
requests_changed_builds (requests_t *self, const int64_t **ids)
{
    *ids = self->changed;
    size_t count = self->changed_count;
    self->changed_count = 0;
    return count;
}
