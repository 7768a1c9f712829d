/*  builds.c: see builds.h.                                                 */
#include "builds.h"

#include "log.h"
#include "proto.h"
#include "util.h"

#include <assert.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Reports of guessed units needed before their mean replaces the guess.
#define GUESS_MIN_SAMPLES 3

//  Room for "suite_id:build_key".
#define BUILDS_KEY_SIZE (24 + PROTO_BUILD_MAX + 1)

struct _builds_t {
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
    for (uint32_t n = 0; self->nodes && n < self->node_total; n++) {
        for (size_t b = 0; b < self->nodes[n].batch_count; b++)
            free (self->nodes[n].batches[b].unit_idx);
        free (self->nodes[n].batches);
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
builds_new (store_t *store)
{
    builds_t *self = util_calloc (1, sizeof *self);
    self->store = store;
    self->by_key = zhashx_new ();
    self->by_id = zhashx_new ();
    self->attempts = zhashx_new ();
    zhashx_set_destructor (self->by_key, s_build_destructor);
    zhashx_set_destructor (self->attempts, s_attempt_destructor);
    return self;
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
    build->node_total = row->node_total;
    build->nodes = util_calloc (row->node_total, sizeof (build_node_t));
    build->finished = row->finished_ms != 0;
    build->touched_ms = util_mono_ms ();
    return build;
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

//  Load a build and everything about it from the store. Units in reported
//  batches are done, units in other batches assigned, the rest queued in
//  queue order.
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
    build = s_build_alloc (&row, NULL);
    if (store_units_load (self->store, build_id, &build->names, &build->predicted_ms,
                          &build->unit_count) != 0)
        goto cleanup;
    if (store_batches_load (self->store, build_id, &batches, &batch_count) != 0)
        goto cleanup;
    build->state = util_calloc (build->unit_count, 1);
    build->guessed = util_calloc (build->unit_count, 1);
    for (size_t b = 0; b < batch_count; b++) {
        store_batch_t *stored = &batches[b];
        if (stored->node_index >= build->node_total)
            continue;       //  cannot happen with a consistent database
        build_batch_t *batch = s_node_append (&build->nodes[stored->node_index]);
        batch->id = stored->id;
        batch->seq = stored->seq;
        batch->reported = stored->reported;
        batch->unit_count = stored->unit_count;
        batch->unit_idx = stored->unit_idx;
        stored->unit_idx = NULL;
        stored->unit_count = 0;
        for (size_t u = 0; u < batch->unit_count; u++) {
            uint32_t idx = batch->unit_idx[u];
            if (idx >= build->unit_count)
                continue;
            if (batch->reported)
                build->state[idx] = UNIT_DONE;
            else if (build->state[idx] == UNIT_QUEUED)
                build->state[idx] = UNIT_ASSIGNED;
        }
    }
    build->queue = util_calloc (build->unit_count, sizeof (uint32_t));
    build->queue_ms = util_calloc (build->unit_count, sizeof (double));
    for (size_t i = 0; i < build->unit_count; i++) {
        if (build->state[i] == UNIT_QUEUED) {
            build->queue_ms[build->queue_len] = build->predicted_ms[i];
            build->queue[build->queue_len++] = (uint32_t) i;
            build->remaining_ms += build->predicted_ms[i];
        }
        else if (build->state[i] == UNIT_DONE)
            build->done_count++;
    }
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
builds_create (builds_t *self, int64_t suite_id, const char *suite, const char *key,
               uint32_t node_total, const char *mode, const char *commit,
               const char *branch, const char *digest, char **names,
               const double *predicted, const uint8_t *guessed, size_t count,
               build_t **result)
{
    store_build_t row = {
        .suite_id = suite_id, .build_key = (char *) key, .node_total = node_total,
        .mode = (char *) mode, .commit = (char *) commit, .branch = (char *) branch,
        .digest = (char *) digest, .unit_count = (uint32_t) count,
        .created_ms = util_wall_ms (), .finished_ms = 0
    };
    if (store_build_insert (self->store, &row) != 0)
        return -1;
    build_t *build = s_build_alloc (&row, suite);
    build->unit_count = count;
    build->names = util_calloc (count, sizeof (char *));
    build->predicted_ms = util_calloc (count, sizeof (double));
    build->state = util_calloc (count, 1);
    build->queue = util_calloc (count, sizeof (uint32_t));
    build->queue_ms = util_calloc (count, sizeof (double));
    build->guessed = util_calloc (count, 1);
    for (size_t i = 0; i < count; i++) {
        if (guessed[i]) {
            build->guessed[i] = 1;
            build->guess_ms = predicted[i];    //  every guess is the same fill value
        }
        build->names[i] = util_strdup (names[i]);
        build->predicted_ms[i] = predicted[i];
        build->queue[i] = (uint32_t) i;
        build->queue_ms[i] = predicted[i];
        build->remaining_ms += predicted[i];
    }
    build->queue_len = count;
    if (store_units_insert (self->store, build->id, (const char *const *) build->names,
                            build->predicted_ms, count) != 0) {
        s_build_free (&build);
        return -1;
    }
    s_register (self, build);
    *result = build;
    return 0;
}

int
builds_attempt_find (builds_t *self, const char *attempt_id, attempt_t **result)
{
    attempt_t *found = (attempt_t *) zhashx_lookup (self->attempts, attempt_id);
    if (found) {
        found->build->touched_ms = util_mono_ms ();
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
    row.last_reply = NULL;
    store_attempt_clear (&row);
    zhashx_insert (self->attempts, attempt_id, attempt);
    *result = attempt;
    return 0;
}

int
builds_attempt_add (builds_t *self, build_t *build, uint32_t node_index,
                    const char *attempt_id, attempt_t **result)
{
    int64_t id = 0;
    if (store_attempt_insert (self->store, build->id, node_index, attempt_id,
                              util_wall_ms (), &id) != 0)
        return -1;
    attempt_t *attempt = util_calloc (1, sizeof *attempt);
    attempt->id = id;
    attempt->attempt = util_strdup (attempt_id);
    attempt->build = build;
    attempt->node_index = node_index;
    zhashx_insert (self->attempts, attempt_id, attempt);
    *result = attempt;
    return 0;
}

int
builds_attempt_reply (builds_t *self, attempt_t *attempt, uint64_t req,
                      const char *reply, size_t size)
{
    if (store_attempt_save_reply (self->store, attempt->id, req, reply, size) != 0)
        return -1;
    free (attempt->last_reply);
    attempt->last_reply = util_malloc (size);
    memcpy (attempt->last_reply, reply, size);
    attempt->last_reply_size = size;
    attempt->last_req = req;
    return 0;
}

int
builds_batch_assign (builds_t *self, build_t *build, attempt_t *attempt, size_t take,
                     build_batch_t **result)
{
    size_t waiting = build->queue_len - build->queue_head;
    if (take > waiting)
        take = waiting;
    assert (take > 0);
    build_node_t *node = &build->nodes[attempt->node_index];
    uint32_t seq = (uint32_t) node->batch_count + 1;
    const uint32_t *units = build->queue + build->queue_head;
    int64_t batch_id = 0;
    if (store_batch_insert (self->store, build->id, attempt->node_index, seq, attempt->id,
                            units, take, util_wall_ms (), &batch_id) != 0)
        return -1;
    build_batch_t *batch = s_node_append (node);
    batch->id = batch_id;
    batch->seq = seq;
    batch->unit_count = take;
    batch->unit_idx = util_malloc (take * sizeof (uint32_t));
    memcpy (batch->unit_idx, units, take * sizeof (uint32_t));
    for (size_t i = 0; i < take; i++) {
        build->state[units[i]] = UNIT_ASSIGNED;
        build->remaining_ms -= build->predicted_ms[units[i]];
    }
    build->queue_head += take;
    //  Subtracting doubles drifts; an empty queue has exactly nothing left.
    if (build->queue_head == build->queue_len || build->remaining_ms < 0)
        build->remaining_ms = 0;
    *result = batch;
    return 0;
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
builds_batch_complete (build_t *build, build_batch_t *batch)
{
    size_t newly = 0;
    batch->reported = true;
    for (size_t i = 0; i < batch->unit_count; i++) {
        uint32_t idx = batch->unit_idx[i];
        if (build->state[idx] != UNIT_DONE) {
            build->state[idx] = UNIT_DONE;
            newly++;
        }
    }
    build->done_count += newly;
    return newly;
}

void
builds_learn_guess (build_t *build, uint32_t unit_idx, double measured_ms)
{
    if (unit_idx >= build->unit_count || !build->guessed[unit_idx])
        return;
    build->guessed[unit_idx] = 0;
    build->guess_sum_ms += measured_ms;
    build->guess_count++;
    double mean = build->guess_sum_ms / (double) build->guess_count;
    //  Guesses only grow. The first reports come from the batches that
    //  finished first, which lean towards short units, so a low early mean
    //  is weak evidence; and a guess too low is the harmful error (it packs
    //  too much real work into the last batches), while a guess too high
    //  only costs a few more runner start-ups. A few samples first, so one
    //  odd unit cannot move them, and then only past 10%, which also keeps
    //  the walks of the queue below to a handful per build.
    if (build->guess_count < GUESS_MIN_SAMPLES || mean <= build->guess_ms * 1.1)
        return;
    for (size_t q = build->queue_head; q < build->queue_len; q++) {
        uint32_t idx = build->queue[q];
        if (!build->guessed[idx])
            continue;
        build->remaining_ms += mean - build->predicted_ms[idx];
        build->predicted_ms[idx] = mean;
        build->queue_ms[q] = mean;
    }
    if (build->remaining_ms < 0)
        build->remaining_ms = 0;
    build->guess_ms = mean;
}

void
builds_forget_all (builds_t *self)
{
    zhashx_purge (self->attempts);
    zhashx_purge (self->by_id);
    zhashx_purge (self->by_key);
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
