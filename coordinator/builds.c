/*  builds.c: see builds.h.                                                 */
#include "builds.h"

#include "log.h"
#include "pace.h"
#include "proto.h"
#include "util.h"

#include <assert.h>
#include <math.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Reports of guessed units needed before their mean replaces the guess.
#define GUESS_MIN_SAMPLES 3

//  Room for "suite_id:build_key".
#define BUILDS_KEY_SIZE (24 + PROTO_BUILD_MAX + 1)

//  A machine's pace from build to build: smoothed as unit estimates are
//  (new = old + 0.3 x (build's - old)), and resting on at most 25 units,
//  so a machine's history never makes a share's reserve less than 4%
//  (scheduler.h: 0.2 / sqrt (25)): its speed drifts (load, hardware) in
//  ways one build's units do not show.
#define BUILDS_MACHINE_ALPHA 0.3
#define BUILDS_MACHINE_SAMPLES_MAX 25.0
//  A machine seen in one build only is not yet known to be steady: its
//  spread starts at 0.1 (a first batch keeps 10% of its share back,
//  scheduler.h), or a quarter of how far (log) its pace is from the
//  others' if more, and shrinks by 30% a build whose pace strays from it
//  no more than the units' noise explains.
#define BUILDS_MACHINE_FIRST_SPREAD 0.1
//  A machine's pace is learned within 1/4 to 4 times its build's others'.
#define BUILDS_MACHINE_RANGE 4.0
//  A build teaches only if at least 90% of its units had history.
#define BUILDS_MACHINE_KNOWN 0.9

struct _builds_t {
    builds_config_t config;  //  retry limits
    store_t *store;          //  borrowed
    zhashx_t *by_key;        //  "suite_id:key" -> build_t (owned)
    zhashx_t *by_id;         //  "id" -> build_t (borrowed from by_key)
    zhashx_t *attempts;      //  attempt id -> attempt_t (owned)
};

static void
s_build_free (build_t **self_p)
{
    build_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->unit_count; i++)
        free (self->names[i]);
    free (self->names);
    free (self->predicted_ms);
    free (self->state);
    free (self->queue);
    free (self->queue_ms);
    free (self->guessed);
    for (size_t i = 0; self->parents && i < self->unit_count; i++)
        free (self->parents[i]);
    free (self->parents);
    free (self->split_node);
    free (self->holder_node);
    free (self->holder_seq);
    free (self->last_ok);
    free (self->last_node);
    free (self->fails);
    free (self->passes);
    free (self->queue_runs);
    free (self->retries);
    free (self->retry);
    free (self->contacts);
    free (self->stop_reason);
    for (uint32_t n = 0; self->nodes && n < self->node_total; n++) {
        for (size_t b = 0; b < self->nodes[n].batch_count; b++) {
            free (self->nodes[n].batches[b].unit_idx);
            free (self->nodes[n].batches[b].unit_ok);
        }
        free (self->nodes[n].batches);
        free (self->nodes[n].machine);
    }
    free (self->nodes);
    free (self->suite);
    free (self->key);
    free (self->digest);
    free (self->mode);
    free (self);
    *self_p = NULL;
}

static void
s_build_destructor (void **item)
{
    s_build_free ((build_t **) item);
}

static void
s_attempt_destructor (void **item)
{
    attempt_t *self = (attempt_t *) *item;
    if (self) {
        free (self->attempt);
        free (self->last_reply);
        free (self);
        *item = NULL;
    }
}

static void
s_key (char *out, size_t size, int64_t suite_id, const char *key)
{
    snprintf (out, size, "%lld:%s", (long long) suite_id, key);
}

builds_t *
builds_new (store_t *store, const builds_config_t *config)
{
    builds_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->config = *config;
    self->by_key = zhashx_new ();
    self->by_id = zhashx_new ();
    self->attempts = zhashx_new ();
    zhashx_set_destructor (self->by_key, s_build_destructor);
    zhashx_set_destructor (self->attempts, s_attempt_destructor);
    return self;
}

void
builds_configure (builds_t *self, const builds_config_t *config)
{
    self->config = *config;
}

void
builds_destroy (builds_t **self_p)
{
    builds_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->attempts);
    zhashx_destroy (&self->by_id);
    zhashx_destroy (&self->by_key);
    free (self);
    *self_p = NULL;
}

static void
s_register (builds_t *self, build_t *build)
{
    char key[BUILDS_KEY_SIZE];
    s_key (key, sizeof key, build->suite_id, build->key);
    zhashx_insert (self->by_key, key, build);
    char id[32];
    snprintf (id, sizeof id, "%lld", (long long) build->id);
    zhashx_insert (self->by_id, id, build);
}

static build_t *
s_build_alloc (const store_build_t *row, const char *suite)
{
    build_t *build = util_calloc (1, sizeof *build);
    build->id = row->id;
    build->suite_id = row->suite_id;
    build->suite = util_strdup (suite ? suite : "");
    build->key = util_strdup (row->build_key);
    build->digest = util_strdup (row->digest);
    build->mode = util_strdup (row->mode);
    build->regular = strcmp (row->mode, "regular") == 0;
    build->node_total = row->node_total;
    build->nodes = util_calloc (row->node_total, sizeof (build_node_t));
    build->finished = row->finished_ms != 0;
    build->fail_fast = row->fail_fast;
    build->created_ms = row->created_ms;
    build->next_lease = 1;
    build->touched_ms = util_mono_ms ();
    build->guess_scale = 1;
    build->known_count = row->known;
    build->example_count = row->examples;
    build->startup_ms = -1;
    return build;
}

//  The per-unit arrays, for unit_count units, nothing run yet.
static void
s_alloc_units (build_t *build)
{
    size_t count = build->unit_count;
    build->state = util_calloc (count, 1);
    build->guessed = util_calloc (count, 1);
    build->holder_node = util_calloc (count, sizeof (uint32_t));
    build->holder_seq = util_calloc (count, sizeof (uint32_t));
    build->last_ok = util_malloc (count ? count : 1);
    memset (build->last_ok, -1, count);
    build->last_node = util_calloc (count, sizeof (uint32_t));
    build->fails = util_calloc (count, sizeof (uint16_t));
    build->passes = util_calloc (count, sizeof (uint16_t));
    build->queue_runs = util_calloc (count, sizeof (uint16_t));
    build->retries = util_calloc (count, 1);
    build->queue = util_calloc (count, sizeof (uint32_t));
    build->queue_ms = util_calloc (count, sizeof (double));
}

static void
s_inc16 (uint16_t *value)
{
    if (*value < UINT16_MAX)
        (*value)++;
}

//  A batch of a unit's first runs: from the queue, or a regular list.
static bool
s_first_runs (int kind)
{
    return kind == PROTO_KIND_QUEUE || kind == PROTO_KIND_REGULAR;
}

//  The predicted time of a batch's units.
static double
s_batch_predicted (const build_t *build, const uint32_t *units, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        if (units[i] < build->unit_count)
            sum += build->predicted_ms[units[i]];
    return sum;
}

//  Count one completed run of a unit on a node.
static void
s_count_run (build_t *build, uint32_t idx, uint32_t node_index, bool ok, bool from_queue)
{
    bool was_flaky = build->fails[idx] > 0 && build->passes[idx] > 0;
    if (build->last_ok[idx] == 0)
        build->failing_count--;
    s_inc16 (ok ? &build->passes[idx] : &build->fails[idx]);
    if (!ok)
        build->failing_count++;
    build->last_ok[idx] = ok ? 1 : 0;
    build->last_node[idx] = node_index;
    if (from_queue)
        s_inc16 (&build->queue_runs[idx]);
    if (!was_flaky && build->fails[idx] > 0 && build->passes[idx] > 0)
        build->flaky_count++;
}

static bool
s_live (int state)
{
    return state == STORE_BATCH_RUNNING || state == STORE_BATCH_PLANNED;
}

void
builds_live_advance (build_node_t *node)
{
    while (node->live_from < node->batch_count
       &&  !s_live (node->batches[node->live_from].state))
        node->live_from++;
}

static build_batch_t *
s_node_append (build_node_t *node)
{
    if (node->batch_count == node->batch_alloc) {
        node->batch_alloc = node->batch_alloc ? node->batch_alloc * 2 : 8;
        node->batches = util_realloc (node->batches, node->batch_alloc * sizeof (build_batch_t));
    }
    build_batch_t *batch = &node->batches[node->batch_count++];
    memset (batch, 0, sizeof *batch);
    return batch;
}

//  A reported batch and its node, for counting runs in report order.
typedef struct {
    const build_batch_t *batch;
    uint32_t node_index;
} s_reported_t;

static int
s_compare_reported (const void *a, const void *b)
{
    const build_batch_t *x = ((const s_reported_t *) a)->batch;
    const build_batch_t *y = ((const s_reported_t *) b)->batch;
    if (x->reported_ms != y->reported_ms)
        return x->reported_ms < y->reported_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

//  Count the runs of every reported batch in the order the reports came
//  (a late report of an old batch may come after a newer batch's), so a
//  unit's latest result is the same after a restart as before.
static void
s_count_reported (build_t *build)
{
    size_t count = 0;
    for (uint32_t n = 0; n < build->node_total; n++)
        for (size_t b = 0; b < build->nodes[n].batch_count; b++)
            count += build->nodes[n].batches[b].reported;
    s_reported_t *reported = util_malloc ((count ? count : 1) * sizeof (s_reported_t));
    size_t k = 0;
    for (uint32_t n = 0; n < build->node_total; n++)
        for (size_t b = 0; b < build->nodes[n].batch_count; b++)
            if (build->nodes[n].batches[b].reported)
                reported[k++] = (s_reported_t) { &build->nodes[n].batches[b], n };
    qsort (reported, count, sizeof (s_reported_t), s_compare_reported);
    for (size_t r = 0; r < count; r++) {
        const build_batch_t *batch = reported[r].batch;
        for (size_t u = 0; u < batch->unit_count; u++)
            if (batch->unit_idx[u] < build->unit_count)
                s_count_run (build, batch->unit_idx[u], reported[r].node_index,
                             builds_unit_passed (batch, u), s_first_runs (batch->kind));
    }
    free (reported);
}

//  Load a build and everything about it from the store, and work out
//  again what was only in memory: units in batches reported by their
//  holders are done, units in running or planned batches held, each unit's
//  results counted in report order, failed units due for another run put
//  in the retry list, units of a regular split whose node was not given
//  its list yet reserved for it, the rest queued in queue order. Running
//  batches get a fresh lease period from now: their agents are
//  reconnecting.
static void s_node_machine (builds_t *self, build_t *build, uint32_t node_index,
                            int64_t attempt_id, const char *machine);

//  Each node's machine, from its attempts, oldest first (the latest wins).
static int
s_load_machines (builds_t *self, build_t *build)
{
    store_attempt_machine_t *rows = NULL;
    size_t count = 0;
    if (store_attempt_machines (self->store, build->id, &rows, &count) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        s_node_machine (self, build, rows[i].node_index, rows[i].id, rows[i].machine);
    store_attempt_machines_free (rows, count);
    return 0;
}

static int
s_load (builds_t *self, int64_t build_id, build_t **result)
{
    store_build_t row = { 0 };
    store_batch_t *batches = NULL;
    size_t batch_count = 0;
    build_t *build = NULL;
    int rc = store_build_get (self->store, build_id, &row);
    if (rc != 0)
        goto cleanup;
    rc = -1;
    build = s_build_alloc (&row, row.suite);
    if (store_units_load (self->store, build_id, &build->names, &build->predicted_ms,
                          &build->unit_count, &build->split_node) != 0)
        goto cleanup;
    if (row.examples > 0
    &&  store_units_parents_load (self->store, build_id, build->unit_count, &build->parents) != 0)
        goto cleanup;
    if (store_batches_load (self->store, build_id, &batches, &batch_count) != 0)
        goto cleanup;
    s_alloc_units (build);
    uint8_t *in_live_retry = util_calloc (build->unit_count ? build->unit_count : 1, 1);
    int64_t now = util_mono_ms ();
    for (size_t b = 0; b < batch_count; b++) {
        store_batch_t *stored = &batches[b];
        if (stored->node_index >= build->node_total)
            continue;       //  cannot happen with a consistent database
        build_batch_t *batch = s_node_append (&build->nodes[stored->node_index]);
        batch->id = stored->id;
        batch->seq = stored->seq;
        batch->attempt_id = stored->attempt_id;
        batch->state = (uint8_t) stored->state;
        batch->kind = (uint8_t) stored->kind;
        batch->reported = stored->reported;
        batch->exit_code = stored->exit_code;
        batch->lease = stored->lease;
        batch->origin = stored->origin;
        batch->req = stored->req;
        batch->wall_ms = stored->wall_ms;
        batch->created_ms = stored->created_ms;
        batch->reported_ms = stored->reported_ms;
        batch->handed_mono_ms = now;
        batch->unit_count = stored->unit_count;
        batch->unit_idx = stored->unit_idx;
        batch->unit_ok = stored->unit_ok;
        stored->unit_ok = NULL;
        batch->predicted_ms = s_batch_predicted (build, batch->unit_idx, batch->unit_count);
        stored->unit_idx = NULL;
        builds_pace_add (build, &build->nodes[stored->node_index], batch);
        stored->unit_count = 0;
        if (batch->kind == PROTO_KIND_REGULAR)
            build->nodes[stored->node_index].listed = true;
        if (batch->lease >= build->next_lease)
            build->next_lease = batch->lease + 1;
        if (batch->kind == PROTO_KIND_RETRY && s_live (batch->state))
            build->retry_live++;
        for (size_t u = 0; u < batch->unit_count; u++) {
            uint32_t idx = batch->unit_idx[u];
            if (idx >= build->unit_count)
                continue;
            if (batch->kind == PROTO_KIND_RETRY) {
                build->retries[idx]++;
                if (s_live (batch->state))
                    in_live_retry[idx] = 1;
            }
            if (batch->state == STORE_BATCH_DONE)
                build->state[idx] = UNIT_DONE;
            else if (s_live (batch->state) && build->state[idx] != UNIT_DONE) {
                build->state[idx] = UNIT_ASSIGNED;
                build->holder_node[idx] = stored->node_index;
                build->holder_seq[idx] = batch->seq;
            }
        }
    }
    s_count_reported (build);
    if (s_load_machines (self, build) != 0) {
        free (in_live_retry);
        goto cleanup;
    }
    for (size_t i = 0; i < build->unit_count; i++) {
        uint32_t split = build->regular ? build->split_node[i] : STORE_NO_NODE;
        if (build->state[i] == UNIT_QUEUED && split < build->node_total
        &&  !build->nodes[split].listed)
            build->state[i] = UNIT_RESERVED;
        if (build->state[i] == UNIT_QUEUED) {
            build->queue_ms[build->queue_len] = build->predicted_ms[i];
            build->queue[build->queue_len++] = (uint32_t) i;
            build->remaining_ms += build->predicted_ms[i];
        }
        else if (build->state[i] == UNIT_DONE)
            build->done_count++;
        build->retry_used += build->retries[i];
        if (build->fail_fast && build->fails[i] > 0 && !build->stopping) {
            build->stopping = true;
            char reason[256];
            snprintf (reason, sizeof reason, "fail-fast: %.200s failed", build->names[i]);
            build->stop_reason = util_strdup (reason);
        }
    }
    //  Failed units due for another run: done, latest run failed, not held
    //  by a live batch, and within both limits.
    for (size_t i = 0; i < build->unit_count && !build->stopping; i++) {
        if (build->state[i] == UNIT_DONE && build->last_ok[i] == 0 && !in_live_retry[i])
            builds_retry_offer (self, build, (uint32_t) i);
    }
    free (in_live_retry);
    s_register (self, build);
    log_debug ("build_loaded build_id=%lld build=%s units=%zu done=%zu queued=%zu",
               (long long) build->id, log_quote (build->key), build->unit_count,
               build->done_count, build->queue_len);
    *result = build;
    build = NULL;
    rc = 0;
cleanup:
    s_build_free (&build);
    store_batches_free (batches, batch_count);
    store_build_clear (&row);
    return rc;
}

static build_t *
s_cached_by_id (builds_t *self, int64_t build_id)
{
    char id[32];
    snprintf (id, sizeof id, "%lld", (long long) build_id);
    return (build_t *) zhashx_lookup (self->by_id, id);
}

int
builds_find (builds_t *self, int64_t suite_id, const char *key, build_t **build)
{
    char hkey[BUILDS_KEY_SIZE];
    s_key (hkey, sizeof hkey, suite_id, key);
    build_t *found = (build_t *) zhashx_lookup (self->by_key, hkey);
    if (found) {
        found->touched_ms = util_mono_ms ();
        *build = found;
        return 0;
    }
    store_build_t row = { 0 };
    int rc = store_build_find (self->store, suite_id, key, &row);
    if (rc == 0) {
        int64_t id = row.id;
        store_build_clear (&row);
        return s_load (self, id, build);
    }
    return rc;
}

int
builds_create (builds_t *self, const builds_new_t *spec, char **names,
               const double *predicted, const uint8_t *guessed,
               const uint32_t *split_node, size_t count, build_t **result)
{
    store_build_t row = {
        .suite_id = spec->suite_id, .build_key = (char *) spec->key,
        .node_total = spec->node_total, .mode = (char *) spec->mode,
        .commit = (char *) spec->commit, .branch = (char *) spec->branch,
        .digest = (char *) spec->digest, .unit_count = (uint32_t) count,
        .created_ms = util_wall_ms (), .finished_ms = 0, .fail_fast = spec->fail_fast,
        .known = (uint32_t) count, .examples = 0
    };
    for (size_t i = 0; i < count; i++) {
        row.known -= guessed[i] ? 1 : 0;
        row.examples += spec->parents && spec->parents[i] ? 1 : 0;
    }
    if (store_build_insert (self->store, &row) != 0)
        return -1;
    build_t *build = s_build_alloc (&row, spec->suite);
    build->unit_count = count;
    build->names = util_calloc (count, sizeof (char *));
    build->predicted_ms = util_calloc (count, sizeof (double));
    build->split_node = util_malloc ((count ? count : 1) * sizeof (uint32_t));
    s_alloc_units (build);
    for (size_t i = 0; i < count; i++) {
        if (guessed[i])
            build->guessed[i] = 1;
        build->names[i] = util_strdup (names[i]);
        build->predicted_ms[i] = predicted[i];
        //  A unit without a node (none in a build that requests.c makes)
        //  is queued, as a reload from the store would have it.
        build->split_node[i] = build->regular && split_node ? split_node[i] : STORE_NO_NODE;
        if (build->split_node[i] < build->node_total) {
            build->state[i] = UNIT_RESERVED;
            continue;
        }
        build->queue[build->queue_len] = (uint32_t) i;
        build->queue_ms[build->queue_len++] = predicted[i];
        build->remaining_ms += predicted[i];
    }
    if (row.examples > 0) {
        build->parents = util_calloc (count ? count : 1, sizeof (char *));
        for (size_t i = 0; i < count; i++)
            build->parents[i] = spec->parents[i] ? util_strdup (spec->parents[i]) : NULL;
    }
    if (store_units_insert (self->store, build->id, (const char *const *) build->names,
                            build->predicted_ms, count, build->split_node) != 0
    ||  (build->parents
         && store_units_parents_set (self->store, build->id, build->parents, count) != 0)) {
        s_build_free (&build);
        return -1;
    }
    s_register (self, build);
    *result = build;
    return 0;
}

//  The node's machine is that of its latest attempt (NULL if it named
//  none); its prior is the pace the suite learned for that machine. A
//  node whose attempts named different machines (or one none) is mixed:
//  its pace is no one machine's. A store error only loses the prior.
static void
s_node_machine (builds_t *self, build_t *build, uint32_t node_index, int64_t attempt_id,
                const char *machine)
{
    if (node_index >= build->node_total)
        return;
    build_node_t *node = &build->nodes[node_index];
    if (attempt_id == node->machine_attempt)
        return;     //  the same attempt again (loaded, then found)
    bool same = node->machine_attempt == 0
             || (machine && node->machine ? strcmp (machine, node->machine) == 0
                                          : !machine && !node->machine);
    if (!same)
        node->machine_mixed = true;
    if (attempt_id < node->machine_attempt)
        return;
    free (node->machine);
    node->machine = machine ? util_strdup (machine) : NULL;
    node->machine_attempt = attempt_id;
    node->prior_pace = -1;
    node->prior_samples = 0;
    node->prior_spread = 0;
    store_machine_t row;
    if (machine && store_machine_pace (self->store, build->suite_id, machine, &row) == 0) {
        node->prior_pace = row.pace;
        node->prior_samples = row.samples;
        node->prior_spread = row.spread;
    }
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  The samples this build's nodes on machine (first_node's and the later
//  ones') recorded while no pace was known for it (all of them: a node's
//  machine pace is fixed when its attempt starts) take the pace it was
//  just learned at, so that the units they ran are not learned as long
//  as that machine took them (a slow machine's first build would make the
//  next ones' predictions of its units long).
static int
s_repace_machine (builds_t *self, const build_t *build, uint32_t first_node, double pace,
                  double alpha, size_t *repaced)
{
    const char *machine = build->nodes[first_node].machine;
    for (uint32_t m = first_node; m < build->node_total; m++) {
        const build_node_t *node = &build->nodes[m];
        if (!node->machine || node->machine_mixed || node->prior_pace > 0
        ||  strcmp (node->machine, machine) != 0)
            continue;
        for (size_t b = 0; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (!batch->reported)
                continue;
            for (size_t i = 0; i < batch->unit_count; i++) {
                bool changed = false;
                if (store_repace_sample (self->store, build->suite_id, build->id,
                                         build->names[batch->unit_idx[i]], pace, alpha,
                                         &changed) != 0)
                    return -1;
                *repaced += changed;
            }
        }
    }
    return 0;
}

int
builds_learn_machines (builds_t *self, const build_t *build, double startup_ms, double alpha,
                       int64_t at_ms)
{
    //  Only a build that ran as it should and mostly from history teaches:
    //  with guessed units a node's pace is which units it drew, and tests
    //  that fail (or a build stopped) may end in no time at all.
    if (build->regular || build->stopping || build->failing_count > 0
    ||  (double) build->known_count < BUILDS_MACHINE_KNOWN * (double) build->unit_count)
        return 0;
    //  A machine's pace is learned relative to the median of its build's
    //  nodes: what the whole build shares (predictions off for every
    //  node, a start-up estimate still being learned) is not the
    //  machine's. A build with fewer than two measured nodes tells none.
    uint32_t total = build->node_total;
    sched_node_t *measured = util_calloc (total ? total : 1, sizeof (sched_node_t));
    double *paces = util_calloc (total ? total : 1, sizeof (double));
    size_t count = 0;
    for (uint32_t n = 0; n < total; n++) {
        pace_measure (&build->nodes[n], startup_ms, &measured[n]);
        if (measured[n].paced && measured[n].pace > 0 && isfinite (measured[n].pace))
            paces[count++] = measured[n].pace;
    }
    int rc = 0;
    if (count >= 2) {
        qsort (paces, count, sizeof (double), s_compare_double);
        double median = count % 2 ? paces[count / 2]
                                  : (paces[count / 2 - 1] + paces[count / 2]) / 2.0;
        //  Nodes on one machine (jobs sharing a host) are learned once, from
        //  their batches together.
        bool *done = util_calloc (total ? total : 1, sizeof (bool));
        for (uint32_t n = 0; n < total && rc == 0; n++) {
            const build_node_t *node = &build->nodes[n];
            if (done[n] || !node->machine || node->machine_mixed || !measured[n].paced)
                continue;
            build_node_t sum = { 0 };
            for (uint32_t m = n; m < total; m++) {
                const build_node_t *other = &build->nodes[m];
                if (done[m] || !other->machine || other->machine_mixed || !measured[m].paced
                ||  strcmp (other->machine, node->machine) != 0)
                    continue;
                done[m] = true;
                sum.paced_batches += other->paced_batches;
                sum.paced_wall_ms += other->paced_wall_ms;
                sum.paced_predicted_ms += other->paced_predicted_ms;
                sum.paced_unit_squares += other->paced_unit_squares;
            }
            sched_node_t machine;
            pace_measure (&sum, startup_ms, &machine);
            double relative = machine.pace / median;
            if (!machine.paced || !(relative > 0) || !isfinite (relative))
                continue;
            //  A pace far from the others' may be a fluke: bounded, and
            //  first held as uncertain in proportion to how far it is.
            relative = fmin (fmax (relative, 1.0 / BUILDS_MACHINE_RANGE), BUILDS_MACHINE_RANGE);
            double first_spread = fmax (BUILDS_MACHINE_FIRST_SPREAD, fabs (log (relative)) / 4);
            //  What the units' noise alone makes a pace stray by (the
            //  plan's own measure of it, scheduler.h).
            double noise = SCHED_PLAN_NOISE / sqrt (machine.samples >= 1 ? machine.samples : 1.0);
            rc = store_learn_machine (self->store, build->suite_id, node->machine, relative,
                                      machine.samples, noise, BUILDS_MACHINE_ALPHA,
                                      BUILDS_MACHINE_SAMPLES_MAX, first_spread, at_ms);
            //  Its samples of the build learned as a median machine's if
            //  it was not known to be one: within its noise of the median,
            //  the correction would be noise too, and costs a statement a
            //  unit while the build's last node waits for its reply.
            size_t repaced = 0;
            if (rc == 0 && node->prior_pace <= 0 && fabs (relative - 1.0) > noise)
                rc = s_repace_machine (self, build, n, relative, alpha, &repaced);
            if (rc == 0)
                log_info ("machine_learned suite=%s build=%s machine=%s pace=%.3f samples=%.1f "
                          "repaced=%zu", log_quote (build->suite), log_quote (build->key),
                          log_quote (node->machine), relative, machine.samples, repaced);
        }
        free (done);
    }
    free (paces);
    free (measured);
    return rc;
}

//  The pace the suite learned for the machine an attempt runs on (0:
//  none). The node's latest attempt has it already; an older one may be
//  on another machine, and still report.
static double
s_attempt_pace (builds_t *self, const build_t *build, uint32_t node_index, int64_t attempt_id,
                const char *machine)
{
    if (node_index < build->node_total && build->nodes[node_index].machine_attempt == attempt_id)
        return build->nodes[node_index].prior_pace > 0 ? build->nodes[node_index].prior_pace : 0;
    store_machine_t row;
    if (machine && store_machine_pace (self->store, build->suite_id, machine, &row) == 0
    &&  row.pace > 0)
        return row.pace;
    return 0;
}

int
builds_attempt_find (builds_t *self, const char *attempt_id, attempt_t **result)
{
    attempt_t *found = (attempt_t *) zhashx_lookup (self->attempts, attempt_id);
    if (found) {
        found->build->touched_ms = util_mono_ms ();
        found->seen_ms = found->build->touched_ms;
        *result = found;
        return 0;
    }
    store_attempt_t row = { 0 };
    int rc = store_attempt_find (self->store, attempt_id, &row);
    if (rc != 0)
        return rc;
    build_t *build = s_cached_by_id (self, row.build_id);
    if (!build) {
        rc = s_load (self, row.build_id, &build);
        if (rc != 0) {
            store_attempt_clear (&row);
            return rc < 0 ? -1 : 1;
        }
    }
    attempt_t *attempt = util_calloc (1, sizeof *attempt);
    attempt->id = row.id;
    attempt->attempt = util_strdup (attempt_id);
    attempt->build = build;
    attempt->node_index = row.node_index;
    attempt->last_req = row.last_req;
    attempt->last_reply = row.last_reply;
    attempt->last_reply_size = row.last_reply_size;
    //  A batch made for a later request than the row's was that request's
    //  reply: made again from the batch if the request comes again.
    if (row.node_index < build->node_total) {
        const build_node_t *node = &build->nodes[row.node_index];
        for (size_t b = 0; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (batch->attempt_id == row.id && batch->req > attempt->last_req) {
                attempt->last_req = batch->req;
                attempt->reply_seq = batch->seq;
            }
        }
        if (attempt->reply_seq) {
            free (attempt->last_reply);
            attempt->last_reply = NULL;
            attempt->last_reply_size = 0;
        }
    }
    attempt->only_failed = row.only_failed;
    attempt->no_wait = row.no_wait;
    attempt->stopped = row.stopped;
    attempt->seen_ms = util_mono_ms ();
    s_node_machine (self, build, row.node_index, row.id, row.machine);
    attempt->machine_pace = s_attempt_pace (self, build, row.node_index, row.id, row.machine);
    row.last_reply = NULL;
    store_attempt_clear (&row);
    zhashx_insert (self->attempts, attempt_id, attempt);
    *result = attempt;
    return 0;
}

int
builds_attempt_add (builds_t *self, build_t *build, uint32_t node_index,
                    const char *attempt_id, bool only_failed, bool no_wait,
                    const char *machine, attempt_t **result)
{
    int64_t id = 0;
    if (store_attempt_insert (self->store, build->id, node_index, attempt_id,
                              util_wall_ms (), only_failed, no_wait, machine, &id) != 0)
        return -1;
    s_node_machine (self, build, node_index, id, machine);
    attempt_t *attempt = util_calloc (1, sizeof *attempt);
    attempt->id = id;
    attempt->attempt = util_strdup (attempt_id);
    attempt->build = build;
    attempt->node_index = node_index;
    attempt->only_failed = only_failed;
    attempt->no_wait = no_wait;
    attempt->seen_ms = util_mono_ms ();
    attempt->machine_pace = s_attempt_pace (self, build, node_index, id, machine);
    zhashx_insert (self->attempts, attempt_id, attempt);
    *result = attempt;
    return 0;
}

int
builds_attempt_reply (builds_t *self, attempt_t *attempt, uint64_t req,
                      const char *reply, size_t size, bool in_batch)
{
    //  A batch reply is most replies: the batch's row already holds what
    //  makes it again (builds_attempt_find), and one write fewer per
    //  request is worth a few percent of the daemon's throughput.
    if (!in_batch && store_attempt_save_reply (self->store, attempt->id, req, reply, size) != 0)
        return -1;
    free (attempt->last_reply);
    attempt->last_reply = util_malloc (size);
    memcpy (attempt->last_reply, reply, size);
    attempt->last_reply_size = size;
    attempt->last_req = req;
    attempt->reply_seq = 0;
    return 0;
}

store_t *
builds_store (builds_t *self)
{
    return self->store;
}

uint64_t
builds_lease_next (build_t *build)
{
    return build->next_lease++;
}

int
builds_batch_append (builds_t *self, build_t *build, attempt_t *attempt,
                     const uint32_t *units, size_t count, const store_batch_meta_t *meta,
                     build_batch_t **result)
{
    build_node_t *node = &build->nodes[attempt->node_index];
    uint32_t seq = (uint32_t) node->batch_count + 1;
    int64_t now = util_wall_ms ();
    int64_t batch_id = 0;
    if (store_batch_insert (self->store, build->id, attempt->node_index, seq, attempt->id,
                            units, count, now, meta, &batch_id) != 0)
        return -1;
    build_batch_t *batch = s_node_append (node);
    batch->id = batch_id;
    batch->seq = seq;
    batch->attempt_id = attempt->id;
    batch->state = (uint8_t) meta->state;
    batch->kind = (uint8_t) meta->kind;
    batch->lease = meta->lease;
    batch->origin = meta->origin;
    batch->req = meta->req;
    batch->created_ms = now;
    batch->handed_mono_ms = util_mono_ms ();
    batch->unit_count = count;
    batch->unit_idx = util_malloc ((count ? count : 1) * sizeof (uint32_t));
    memcpy (batch->unit_idx, units, count * sizeof (uint32_t));
    batch->predicted_ms = s_batch_predicted (build, units, count);
    for (size_t i = 0; i < count; i++) {
        uint32_t idx = units[i];
        if (build->state[idx] == UNIT_DONE)
            continue;
        build->state[idx] = UNIT_ASSIGNED;
        build->holder_node[idx] = attempt->node_index;
        build->holder_seq[idx] = seq;
    }
    if (batch->kind == PROTO_KIND_RETRY && s_live (batch->state))
        build->retry_live++;
    *result = batch;
    return 0;
}

int
builds_batch_from_queue (builds_t *self, build_t *build, attempt_t *attempt, size_t take,
                         uint64_t req, build_batch_t **result)
{
    size_t waiting = build->queue_len - build->queue_head;
    if (take > waiting)
        take = waiting;
    assert (take > 0);
    const uint32_t *units = build->queue + build->queue_head;
    store_batch_meta_t meta = {
        .state = STORE_BATCH_RUNNING, .lease = build->next_lease, .kind = PROTO_KIND_QUEUE,
        .req = req
    };
    if (builds_batch_append (self, build, attempt, units, take, &meta, result) != 0)
        return -1;
    build->next_lease++;
    for (size_t i = 0; i < take; i++)
        build->remaining_ms -= build->predicted_ms[units[i]];
    build->queue_head += take;
    //  Subtracting doubles drifts; an empty queue has exactly nothing left.
    if (build->queue_head == build->queue_len || build->remaining_ms < 0)
        build->remaining_ms = 0;
    return 0;
}

int
builds_batch_from_list (builds_t *self, build_t *build, attempt_t *attempt,
                        build_batch_t **result)
{
    *result = NULL;
    build_node_t *node = &build->nodes[attempt->node_index];
    if (!build->regular || node->listed)
        return 0;
    uint32_t *units = util_malloc ((build->unit_count ? build->unit_count : 1)
                                   * sizeof (uint32_t));
    size_t count = 0;
    for (size_t i = 0; i < build->unit_count; i++)
        if (build->split_node[i] == attempt->node_index && build->state[i] == UNIT_RESERVED)
            units[count++] = (uint32_t) i;
    int rc = 0;
    if (count > 0) {
        store_batch_meta_t meta = {
            .state = STORE_BATCH_RUNNING, .lease = build->next_lease, .kind = PROTO_KIND_REGULAR
        };
        rc = builds_batch_append (self, build, attempt, units, count, &meta, result);
        if (rc == 0) {
            build->next_lease++;
            node = &build->nodes[attempt->node_index];
            node->listed = true;
        }
    }
    free (units);
    return rc;
}

void
builds_queue_push_front (build_t *build, const uint32_t *units, size_t count)
{
    if (count == 0)
        return;
    size_t waiting = build->queue_len - build->queue_head;
    //  Every unit is in the queue at most once, so waiting + count never
    //  passes unit_count; make room before head when there is not enough.
    if (build->queue_head < count) {
        memmove (build->queue + count, build->queue + build->queue_head,
                 waiting * sizeof (uint32_t));
        memmove (build->queue_ms + count, build->queue_ms + build->queue_head,
                 waiting * sizeof (double));
        build->queue_head = count;
        build->queue_len = count + waiting;
    }
    build->queue_head -= count;
    for (size_t i = 0; i < count; i++) {
        uint32_t idx = units[i];
        assert (build->state[idx] != UNIT_DONE);
        build->state[idx] = UNIT_QUEUED;
        build->queue[build->queue_head + i] = idx;
        build->queue_ms[build->queue_head + i] = build->predicted_ms[idx];
        build->remaining_ms += build->predicted_ms[idx];
    }
}

build_batch_t *
builds_batch_find (build_t *build, uint32_t node_index, uint32_t seq)
{
    if (node_index >= build->node_total)
        return NULL;
    build_node_t *node = &build->nodes[node_index];
    //  Batches are appended in seq order, so seq n sits at n-1.
    if (seq == 0 || seq > node->batch_count)
        return NULL;
    build_batch_t *batch = &node->batches[seq - 1];
    return batch->seq == seq ? batch : NULL;
}

size_t
builds_batch_held_units (const build_t *build, uint32_t node_index, const build_batch_t *batch,
                         uint32_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < batch->unit_count; i++) {
        uint32_t idx = batch->unit_idx[i];
        if (build->state[idx] == UNIT_ASSIGNED && build->holder_node[idx] == node_index
        &&  build->holder_seq[idx] == batch->seq)
            out[count++] = idx;
    }
    return count;
}

//  A retry batch that stops being live no longer keeps the build open.
static void
s_leave_live (build_t *build, build_batch_t *batch, int state)
{
    if (batch->kind == PROTO_KIND_RETRY && s_live (batch->state) && !s_live (state)
    &&  build->retry_live > 0)
        build->retry_live--;
}

int
builds_batch_set_state (builds_t *self, build_t *build, build_batch_t *batch, int state,
                        uint64_t lease)
{
    if (store_batch_state (self->store, batch->id, state, lease) != 0)
        return -1;
    s_leave_live (build, batch, state);
    batch->state = (uint8_t) state;
    batch->lease = lease;
    return 0;
}

int
builds_batch_from_retry (builds_t *self, build_t *build, attempt_t *attempt, bool any_node,
                         size_t max_units, build_batch_t **result)
{
    *result = NULL;
    uint32_t *units = util_malloc ((build->retry_count ? build->retry_count : 1)
                                   * sizeof (uint32_t));
    size_t take = 0, kept = 0;
    for (size_t i = 0; i < build->retry_count; i++) {
        build_retry_t entry = build->retry[i];
        if (take < max_units && (any_node || entry.avoid_node != attempt->node_index))
            units[take++] = entry.unit;
        else
            build->retry[kept++] = entry;
    }
    int rc = 0;
    if (take > 0) {
        store_batch_meta_t meta = {
            .state = STORE_BATCH_RUNNING, .lease = build->next_lease, .kind = PROTO_KIND_RETRY
        };
        rc = builds_batch_append (self, build, attempt, units, take, &meta, result);
        if (rc == 0) {
            build->next_lease++;
            build->retry_count = kept;
            build->retry_used += take;
            for (size_t i = 0; i < take; i++)
                build->retries[units[i]]++;
        }
    }
    free (units);
    return rc;
}

bool
builds_unit_passed (const build_batch_t *batch, size_t pos)
{
    if (batch->unit_ok && batch->unit_ok[pos] >= 0)
        return batch->unit_ok[pos] == 1;
    return batch->exit_code == 0;
}

int
builds_batch_report (builds_t *self, build_t *build, uint32_t node_index, build_batch_t *batch,
                     bool holder, uint64_t wall_ms, int32_t exit_code, const int8_t *unit_ok,
                     int64_t tests_ms, uint32_t runs, int64_t at_ms)
{
    int state = holder ? STORE_BATCH_DONE : batch->state;
    if (store_batch_report (self->store, batch->id, wall_ms, exit_code, at_ms, state, tests_ms,
                            runs) != 0)
        return -1;
    if (unit_ok) {
        if (store_batch_unit_ok (self->store, batch->id, unit_ok, batch->unit_count) != 0)
            return -1;
        free (batch->unit_ok);
        batch->unit_ok = util_malloc (batch->unit_count ? batch->unit_count : 1);
        memcpy (batch->unit_ok, unit_ok, batch->unit_count);
    }
    s_leave_live (build, batch, state);
    batch->state = (uint8_t) state;
    bool again = batch->reported;
    batch->reported = true;
    batch->exit_code = exit_code;
    batch->wall_ms = wall_ms;
    batch->reported_ms = at_ms;
    if (!again)
        builds_pace_add (build, &build->nodes[node_index], batch);
    builds_live_advance (&build->nodes[node_index]);
    int newly = 0;
    for (size_t i = 0; i < batch->unit_count; i++) {
        uint32_t idx = batch->unit_idx[i];
        s_count_run (build, idx, node_index, builds_unit_passed (batch, i),
                     s_first_runs (batch->kind));
        if (holder && build->state[idx] != UNIT_DONE) {
            build->state[idx] = UNIT_DONE;
            newly++;
        }
    }
    build->done_count += (size_t) newly;
    return newly;
}

int
builds_batch_release (builds_t *self, build_t *build, uint32_t node_index, build_batch_t *batch,
                      int state, size_t *requeued)
{
    uint32_t *held = util_malloc ((batch->unit_count ? batch->unit_count : 1) * sizeof (uint32_t));
    size_t count = builds_batch_held_units (build, node_index, batch, held);
    int rc = builds_batch_set_state (self, build, batch, state, batch->lease);
    if (rc == 0) {
        builds_live_advance (&build->nodes[node_index]);
        builds_queue_push_front (build, held, count);
        //  A replay let go takes its original with it: those units now
        //  belong to whichever node takes them from the queue, and a later
        //  attempt of this node must not replay them as its own.
        build_batch_t *origin = batch->kind == PROTO_KIND_REPLAY
                              ? builds_batch_find (build, node_index, batch->origin) : NULL;
        if (origin && origin->state == STORE_BATCH_SUPERSEDED)
            rc = builds_batch_set_state (self, build, origin, state, origin->lease);
        //  A run again that never happened is still owed (its units are
        //  done, so nothing went back to the queue).
        for (size_t i = 0; rc == 0 && batch->kind == PROTO_KIND_RETRY && i < batch->unit_count;
             i++)
            if (build->last_ok[batch->unit_idx[i]] == 0)
                builds_retry_offer (self, build, batch->unit_idx[i]);
    }
    free (held);
    *requeued = count;
    return rc;
}

void
builds_retry_offer (builds_t *self, build_t *build, uint32_t unit_idx)
{
    if (build->stopping || build->retries[unit_idx] >= self->config.requeue_failed
    ||  build->retry_used + build->retry_count >= self->config.requeue_budget)
        return;
    for (size_t i = 0; i < build->retry_count; i++)
        if (build->retry[i].unit == unit_idx)
            return;
    if (build->retry_count == build->retry_alloc) {
        build->retry_alloc = build->retry_alloc ? build->retry_alloc * 2 : 8;
        build->retry = util_realloc (build->retry, build->retry_alloc * sizeof (build_retry_t));
    }
    build->retry[build->retry_count++] = (build_retry_t) {
        .unit = unit_idx, .avoid_node = build->last_node[unit_idx]
    };
}

void
builds_learn_guess (build_t *build, uint32_t unit_idx, double measured_ms)
{
    if (unit_idx >= build->unit_count || !build->guessed[unit_idx])
        return;
    build->guessed[unit_idx] = 0;
    build->guess_sum_ms += measured_ms;
    build->guess_first_ms += build->predicted_ms[unit_idx] / build->guess_scale;
    build->guess_count++;
    double scale = build->guess_first_ms > 0 ? build->guess_sum_ms / build->guess_first_ms : 1;
    //  Guesses only grow. The first reports come from the batches that
    //  finished first, which lean towards short units, so a low early ratio
    //  is weak evidence; and a guess too low is the harmful error (it packs
    //  too much real work into the last batches), while a guess too high
    //  only costs a few more runner start-ups. A few samples first, so one
    //  odd unit cannot move them, and then only past 10%, which also keeps
    //  the walks of the queue below to a handful per build.
    if (build->guess_count < GUESS_MIN_SAMPLES || scale <= build->guess_scale * 1.1)
        return;
    for (size_t q = build->queue_head; q < build->queue_len; q++) {
        uint32_t idx = build->queue[q];
        if (!build->guessed[idx])
            continue;
        double grown = build->predicted_ms[idx] / build->guess_scale * scale;
        build->remaining_ms += grown - build->predicted_ms[idx];
        build->queue_ms[q] = grown;
    }
    //  Every guessed unit not reported yet takes the scale, those out in a
    //  batch too: predicted / guess_scale must stay a unit's first guess
    //  for when it reports (and goes back to the queue if its lease lapses).
    for (size_t i = 0; i < build->unit_count; i++)
        if (build->guessed[i])
            build->predicted_ms[i] = build->predicted_ms[i] / build->guess_scale * scale;
    if (build->remaining_ms < 0)
        build->remaining_ms = 0;
    build->guess_scale = scale;
}

void
builds_forget_all (builds_t *self)
{
    zhashx_purge (self->attempts);
    zhashx_purge (self->by_id);
    zhashx_purge (self->by_key);
}

void
builds_forget (builds_t *self, int64_t build_id, int64_t *touched_ms)
{
    char id[32];
    snprintf (id, sizeof id, "%lld", (long long) build_id);
    build_t *build = zhashx_lookup (self->by_id, id);
    *touched_ms = INT64_MIN;
    if (!build)
        return;
    *touched_ms = build->touched_ms;
    //  Attempts point at their build: they go first.
    zlistx_t *keys = zhashx_keys (self->attempts);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        attempt_t *attempt = zhashx_lookup (self->attempts, key);
        if (attempt && attempt->build == build)
            zhashx_delete (self->attempts, key);
    }
    zlistx_destroy (&keys);
    char key[BUILDS_KEY_SIZE];
    s_key (key, sizeof key, build->suite_id, build->key);
    zhashx_delete (self->by_id, id);
    zhashx_delete (self->by_key, key);
}

size_t
builds_in_flight (builds_t *self, int64_t since_mono_ms)
{
    size_t count = 0;
    for (build_t *build = zhashx_first (self->by_key); build; build = zhashx_next (self->by_key))
        count += !build->finished && build->touched_ms >= since_mono_ms;
    return count;
}

size_t
builds_agents_seen (builds_t *self, int64_t since_mono_ms)
{
    size_t count = 0;
    for (attempt_t *attempt = zhashx_first (self->attempts); attempt;
         attempt = zhashx_next (self->attempts))
        count += attempt->seen_ms >= since_mono_ms;
    return count;
}

void
builds_trim (builds_t *self, size_t max_cached)
{
    if (zhashx_size (self->by_key) <= max_cached)
        return;
    //  Attempts point at builds: drop the attempts of finished builds first.
    zlistx_t *keys = zhashx_keys (self->attempts);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        attempt_t *attempt = zhashx_lookup (self->attempts, key);
        if (attempt && attempt->build->finished)
            zhashx_delete (self->attempts, key);
    }
    zlistx_destroy (&keys);
    keys = zhashx_keys (self->by_key);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        build_t *build = zhashx_lookup (self->by_key, key);
        if (build && build->finished) {
            char id[32];
            snprintf (id, sizeof id, "%lld", (long long) build->id);
            zhashx_delete (self->by_id, id);
            zhashx_delete (self->by_key, key);
        }
    }
    zlistx_destroy (&keys);
}

void
builds_pace_add (const build_t *build, build_node_t *node, const build_batch_t *batch)
{
    if (!batch->reported || batch->wall_ms == 0 || !(batch->predicted_ms > 0))
        return;
    node->paced_batches++;
    node->paced_wall_ms += (double) batch->wall_ms;
    node->paced_predicted_ms += batch->predicted_ms;
    for (size_t u = 0; u < batch->unit_count; u++) {
        double p = build->predicted_ms[batch->unit_idx[u]];
        node->paced_unit_squares += p * p;
    }
}
