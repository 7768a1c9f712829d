/*  test_builds.c: the daemon's in-memory build state over a real store:
    the queue, batches, reports and fencing, failed units run again on
    other nodes, re-estimating units that had no history, and a build
    loaded back from the store deriving what was only in memory.          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builds.h"
#include "harness.h"
#include "log.h"
#include "proto.h"
#include "store.h"

typedef struct {
    char *dir;               //  temp folder (harness_tmpdir)
    char path[96];           //  database in it
    store_t *store;          //  open store
    builds_t *builds;        //  the registry under test
} fixture_t;

//  Runs again of failed units, unless a test sets its own.
static const builds_config_t s_config = { .requeue_failed = 2, .requeue_budget = 10 };

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->dir = harness_tmpdir ();
    snprintf (fx->path, sizeof fx->path, "%s/test.db", fx->dir);
    fx->store = store_open (fx->path);
    if (!fx->store)
        return -1;
    fx->builds = builds_new (fx->store, &s_config);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    builds_destroy (&fx->builds);
    store_destroy (&fx->store);
    harness_rmtree (fx->dir);
    free (fx->dir);
    free (fx);
    return 0;
}

//  A fresh registry with other retry limits (before any build is made).
static void
s_reconfigure (fixture_t *fx, uint32_t requeue_failed, uint32_t requeue_budget)
{
    builds_destroy (&fx->builds);
    assert_null (fx->builds);
    builds_config_t config = { .requeue_failed = requeue_failed,
                               .requeue_budget = requeue_budget };
    fx->builds = builds_new (fx->store, &config);
}

//  Eight units on two nodes: two with history (5000, 4000 ms), six
//  guessed at 1000 ms. Queue order is index order.
static build_t *
s_make_build (fixture_t *fx, attempt_t **attempt)
{
    char *names[] = { "slow_a", "slow_b", "new_c", "new_d", "new_e", "new_f", "new_g", "new_h" };
    double predicted[] = { 5000, 4000, 1000, 1000, 1000, 1000, 1000, 1000 };
    uint8_t guessed[] = { 0, 0, 1, 1, 1, 1, 1, 1 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = "b1", .node_total = 2, .mode = "queue",
        .commit = "c", .branch = "main", .digest = "0123456789012345678901234567890123456789"
    };
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, NULL, 8,
                                     &build), 0);
    assert_int_equal (builds_attempt_add (fx->builds, build, 0, "att0", false, false, NULL,
                                          attempt), 0);
    return build;
}

static attempt_t *
s_attempt (fixture_t *fx, build_t *build, uint32_t node_index, const char *id)
{
    attempt_t *attempt = NULL;
    assert_int_equal (builds_attempt_add (fx->builds, build, node_index, id, false, false,
                                          NULL, &attempt), 0);
    return attempt;
}

static build_batch_t *
s_from_queue (fixture_t *fx, build_t *build, attempt_t *attempt, size_t count)
{
    build_batch_t *batch = NULL;
    assert_int_equal (builds_batch_from_queue (fx->builds, build, attempt, count, 0, &batch), 0);
    assert_non_null (batch);
    return batch;
}

//  Report a batch as its holder with one exit status; returns units newly done.
//  Report times that grow as reports do: a reload counts runs in report
//  order.
static int64_t
s_clock (void)
{
    static int64_t now = 5000;
    return now += 10;
}

static int
s_report (fixture_t *fx, build_t *build, attempt_t *attempt, build_batch_t *batch, int32_t exit)
{
    int newly = builds_batch_report (fx->builds, build, attempt->node_index, batch, true, 100,
                                     exit, NULL, -1, 1, s_clock ());
    assert_true (newly >= 0);
    return newly;
}

//  The waiting part of the queue, as unit indices.
static size_t
s_waiting (const build_t *build, uint32_t *out)
{
    size_t count = 0;
    for (size_t q = build->queue_head; q < build->queue_len; q++)
        out[count++] = build->queue[q];
    return count;
}

//  Lease lapsed: what leases.c does to a batch.
static size_t
s_expire (fixture_t *fx, build_t *build, uint32_t node_index, build_batch_t *batch)
{
    size_t count = 0;
    assert_int_equal (builds_batch_release (fx->builds, build, node_index, batch,
                                            STORE_BATCH_EXPIRED, &count), 0);
    return count;
}

//  ---------------------------------------------------------------------
//  Guesses

static void
test_guesses_grow_to_the_measured_mean (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    assert_true (build->remaining_ms == 15000);
    //  Hand out the two known units and three guessed ones (c, d, e).
    s_from_queue (fx, build, attempt, 5);
    assert_true (build->remaining_ms == 3000);
    //  A known unit's time teaches nothing about the guesses.
    builds_learn_guess (build, 0, 9000);
    assert_true (build->predicted_ms[5] == 1000);
    //  Two guessed units far above the guess: not yet enough samples.
    builds_learn_guess (build, 2, 3000);
    builds_learn_guess (build, 3, 4000);
    assert_true (build->predicted_ms[5] == 1000);
    //  The same unit reported again (a duplicate) does not count twice.
    builds_learn_guess (build, 3, 4000);
    assert_true (build->predicted_ms[5] == 1000);
    //  The third: mean (3000 + 4000 + 2000) / 3 = 3000, so the three
    //  waiting guesses take it.
    builds_learn_guess (build, 4, 2000);
    for (uint32_t i = 5; i < 8; i++)
        assert_true (build->predicted_ms[i] == 3000);
    assert_true (build->remaining_ms == 9000);
    assert_true (build->queue_ms[build->queue_head] == 3000);
    //  A fourth at 3200 ms: mean 3050 is within 10% of 3000, nothing moves.
    s_from_queue (fx, build, attempt, 1);
    builds_learn_guess (build, 5, 3200);
    assert_true (build->predicted_ms[6] == 3000);
}

static void
test_guesses_never_shrink (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    s_from_queue (fx, build, attempt, 5);
    //  The first batches to report are the short ones; their low mean must
    //  not shrink the guesses, or the next batch would swallow the queue.
    builds_learn_guess (build, 2, 100);
    builds_learn_guess (build, 3, 100);
    builds_learn_guess (build, 4, 100);
    for (uint32_t i = 5; i < 8; i++)
        assert_true (build->predicted_ms[i] == 1000);
    assert_true (build->remaining_ms == 3000);
}

//  ---------------------------------------------------------------------
//  The queue and batches

static void
test_batches_take_the_queue_front_in_order (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    assert_int_equal (build->next_lease, 1);
    build_batch_t *batch = s_from_queue (fx, build, attempt, 2);
    assert_int_equal (batch->seq, 1);
    assert_int_equal (batch->lease, 1);
    assert_int_equal (batch->kind, PROTO_KIND_QUEUE);
    assert_int_equal (batch->state, STORE_BATCH_RUNNING);
    assert_int_equal (batch->attempt_id, attempt->id);
    assert_int_equal (build->next_lease, 2);
    assert_string_equal (build->names[batch->unit_idx[0]], "slow_a");
    assert_string_equal (build->names[batch->unit_idx[1]], "slow_b");
    assert_int_equal (build->state[batch->unit_idx[0]], UNIT_ASSIGNED);
    assert_int_equal (build->holder_node[batch->unit_idx[0]], 0);
    assert_int_equal (build->holder_seq[batch->unit_idx[0]], 1);
    assert_ptr_equal (builds_batch_find (build, 0, 1), batch);
    assert_null (builds_batch_find (build, 0, 2));
    assert_null (builds_batch_find (build, 0, 0));
    assert_null (builds_batch_find (build, 1, 1));
    assert_null (builds_batch_find (build, 2, 1));
    uint32_t held[8];
    assert_int_equal (builds_batch_held_units (build, 0, batch, held), 2);

    assert_int_equal (s_report (fx, build, attempt, batch, 0), 2);
    assert_int_equal (build->done_count, 2);
    assert_int_equal (batch->state, STORE_BATCH_DONE);
    assert_true (batch->reported);
    assert_int_equal (build->state[0], UNIT_DONE);
    assert_int_equal (build->last_ok[0], 1);
    assert_int_equal (build->queue_runs[0], 1);
    //  A reported batch is no longer walked as a live one.
    assert_int_equal (build->nodes[0].live_from, 1);
    //  Done units are held by nobody.
    assert_int_equal (builds_batch_held_units (build, 0, batch, held), 0);
    //  Reporting twice makes nothing done twice.
    assert_int_equal (s_report (fx, build, attempt, batch, 0), 0);
    assert_int_equal (build->done_count, 2);
    //  Asking for more than is waiting takes what is left.
    batch = s_from_queue (fx, build, attempt, 99);
    assert_int_equal (batch->seq, 2);
    assert_int_equal (batch->lease, 2);
    assert_int_equal (batch->unit_count, 6);
    assert_true (build->remaining_ms == 0);
    assert_int_equal (build->queue_head, build->queue_len);

    //  What the store holds says the same.
    store_batch_t *stored = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (fx->store, build->id, &stored, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (stored[0].state, STORE_BATCH_DONE);
    assert_int_equal (stored[0].lease, 1);
    assert_int_equal (stored[1].state, STORE_BATCH_RUNNING);
    assert_int_equal (stored[1].lease, 2);
    assert_int_equal (stored[1].kind, PROTO_KIND_QUEUE);
    store_batches_free (stored, count);
}

//  Units put back go first, in the order given, and the next batch takes
//  them from there.
static void
test_push_front_goes_first_in_order (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    build_batch_t *first = s_from_queue (fx, build, attempt, 2);       //  0, 1
    build_batch_t *second = s_from_queue (fx, build, attempt, 2);      //  2, 3
    build_batch_t *third = s_from_queue (fx, build, attempt, 1);       //  4
    assert_int_equal (build->queue_head, 5);
    assert_true (build->remaining_ms == 3000);

    //  Given back in another order than they were taken: they come back
    //  in the order given.
    assert_int_equal (builds_batch_set_state (fx->builds, build, second, STORE_BATCH_EXPIRED,
                                              second->lease), 0);
    uint32_t back[] = { 3, 2 };
    builds_queue_push_front (build, back, 2);
    assert_int_equal (build->queue_head, 3);
    uint32_t waiting[8];
    assert_int_equal (s_waiting (build, waiting), 5);
    uint32_t expected[] = { 3, 2, 5, 6, 7 };
    assert_memory_equal (waiting, expected, sizeof expected);
    assert_true (build->queue_ms[build->queue_head] == 1000);
    assert_true (build->remaining_ms == 5000);
    assert_int_equal (build->state[3], UNIT_QUEUED);
    assert_int_equal (build->state[2], UNIT_QUEUED);
    uint32_t held[8];
    assert_int_equal (builds_batch_held_units (build, 0, second, held), 0);

    //  The slow units come back in front of them.
    assert_int_equal (builds_batch_set_state (fx->builds, build, first, STORE_BATCH_EXPIRED,
                                              first->lease), 0);
    uint32_t slow[] = { 1, 0 };
    builds_queue_push_front (build, slow, 2);
    assert_int_equal (build->queue_head, 1);
    assert_int_equal (s_waiting (build, waiting), 7);
    uint32_t expected2[] = { 1, 0, 3, 2, 5, 6, 7 };
    assert_memory_equal (waiting, expected2, sizeof expected2);
    assert_true (build->queue_ms[build->queue_head] == 4000);
    assert_true (build->queue_ms[build->queue_head + 1] == 5000);
    assert_true (build->remaining_ms == 14000);
    //  The batch not taken back still holds its unit.
    assert_int_equal (builds_batch_held_units (build, 0, third, held), 1);
    assert_int_equal (held[0], 4);
    assert_int_equal (build->state[4], UNIT_ASSIGNED);

    //  Nothing to push is nothing.
    builds_queue_push_front (build, NULL, 0);
    assert_int_equal (build->queue_head, 1);
    assert_true (build->remaining_ms == 14000);

    build_batch_t *next = s_from_queue (fx, build, attempt, 3);
    assert_int_equal (next->seq, 4);
    assert_int_equal (next->unit_idx[0], 1);
    assert_int_equal (next->unit_idx[1], 0);
    assert_int_equal (next->unit_idx[2], 3);
    assert_int_equal (build->holder_seq[1], 4);
    assert_true (build->remaining_ms == 4000);
}

//  A build loaded back has the units its running batches hold outside the
//  queue and queue_head at 0: pushing them back must make room in front.
static void
test_push_front_when_head_is_short (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    s_from_queue (fx, build, attempt, 3);                  //  0, 1, 2 running
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    assert_int_equal (builds_attempt_find (fx->builds, "att0", &attempt), 0);
    assert_int_equal (build->queue_head, 0);
    assert_int_equal (build->queue_len, 5);
    //  One more taken: head 1, still short of the 3 going back.
    build_batch_t *taken = s_from_queue (fx, build, attempt, 1);   //  3
    assert_int_equal (taken->unit_idx[0], 3);
    assert_int_equal (build->queue_head, 1);
    assert_true (build->remaining_ms == 4000);

    build_batch_t *running = builds_batch_find (build, 0, 1);
    assert_non_null (running);
    uint32_t held[8];
    assert_int_equal (builds_batch_held_units (build, 0, running, held), 3);
    uint32_t back[] = { held[2], held[0], held[1] };            //  2, 0, 1
    builds_queue_push_front (build, back, 3);
    assert_int_equal (build->queue_head, 0);
    assert_int_equal (build->queue_len, 7);
    uint32_t waiting[8];
    assert_int_equal (s_waiting (build, waiting), 7);
    uint32_t expected[] = { 2, 0, 1, 4, 5, 6, 7 };
    assert_memory_equal (waiting, expected, sizeof expected);
    double expected_ms[] = { 1000, 5000, 4000, 1000, 1000, 1000, 1000 };
    for (size_t i = 0; i < 7; i++)
        assert_true (build->queue_ms[i] == expected_ms[i]);
    assert_true (build->remaining_ms == 14000);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal (build->state[back[i]], UNIT_QUEUED);
    assert_int_equal (build->state[3], UNIT_ASSIGNED);

    //  And the queue drains in that order to the end.
    build_batch_t *rest = s_from_queue (fx, build, attempt, 99);
    assert_int_equal (rest->unit_count, 7);
    assert_memory_equal (rest->unit_idx, expected, sizeof expected);
    assert_true (build->remaining_ms == 0);
}

//  Fencing: only the holder's report makes units done; anyone else's is
//  counted as a run (history, results) and changes nothing else.
static void
test_report_by_holder_and_fenced (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *lapsed = s_from_queue (fx, build, a0, 2);          //  0, 1
    assert_int_equal (s_expire (fx, build, 0, lapsed), 2);
    assert_int_equal (build->nodes[0].live_from, 1);
    build_batch_t *taken = s_from_queue (fx, build, a1, 2);           //  0, 1 again
    assert_int_equal (taken->unit_idx[0], 0);
    assert_int_equal (build->holder_node[0], 1);

    //  The old holder's late report, failed: counted, not done.
    assert_int_equal (builds_batch_report (fx->builds, build, 0, lapsed, false, 900, 1, NULL, -1, 1, 6000), 0);
    assert_int_equal (build->done_count, 0);
    assert_int_equal (build->state[0], UNIT_ASSIGNED);
    assert_int_equal (build->holder_node[0], 1);
    assert_int_equal (lapsed->state, STORE_BATCH_EXPIRED);
    assert_true (lapsed->reported);
    assert_int_equal (lapsed->exit_code, 1);
    assert_int_equal (lapsed->wall_ms, 900);
    assert_int_equal (build->fails[0], 1);
    assert_int_equal (build->last_ok[0], 0);
    assert_int_equal (build->last_node[0], 0);
    assert_int_equal (build->failing_count, 2);
    assert_int_equal (build->queue_runs[0], 1);
    uint32_t held[8];
    assert_int_equal (builds_batch_held_units (build, 1, taken, held), 2);

    //  The holder's report, passed: done, and each unit was flaky.
    assert_int_equal (builds_batch_report (fx->builds, build, 1, taken, true, 800, 0, NULL, -1, 1, 7000), 2);
    assert_int_equal (build->done_count, 2);
    assert_int_equal (build->state[0], UNIT_DONE);
    assert_int_equal (taken->state, STORE_BATCH_DONE);
    assert_int_equal (build->failing_count, 0);
    assert_int_equal (build->flaky_count, 2);
    assert_int_equal (build->last_ok[1], 1);
    assert_int_equal (build->last_node[1], 1);
    //  Both ran from the queue: the coverage check will name them.
    assert_int_equal (build->queue_runs[1], 2);

    //  The store kept the fenced report's state and its history.
    store_batch_t *stored = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (fx->store, build->id, &stored, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (stored[0].state, STORE_BATCH_EXPIRED);
    assert_true (stored[0].reported);
    assert_int_equal (stored[0].exit_code, 1);
    assert_int_equal (stored[0].wall_ms, 900);
    assert_int_equal (stored[1].state, STORE_BATCH_DONE);
    store_batches_free (stored, count);
}

//  ---------------------------------------------------------------------
//  Failed units run again

static void
test_retry_offer_limits (void **state)
{
    fixture_t *fx = *state;
    //  One run again per unit, two per build.
    s_reconfigure (fx, 1, 2);
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *failed = s_from_queue (fx, build, a0, 4);          //  0..3
    assert_int_equal (s_report (fx, build, a0, failed, 1), 4);
    assert_int_equal (build->failing_count, 4);

    builds_retry_offer (fx->builds, build, 0);
    builds_retry_offer (fx->builds, build, 0);                        //  once only
    assert_int_equal (build->retry_count, 1);
    assert_int_equal (build->retry[0].unit, 0);
    assert_int_equal (build->retry[0].avoid_node, 0);
    builds_retry_offer (fx->builds, build, 1);
    assert_int_equal (build->retry_count, 2);
    //  The budget counts the offers waiting: a third is over it.
    builds_retry_offer (fx->builds, build, 2);
    assert_int_equal (build->retry_count, 2);

    build_batch_t *retry = NULL;
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a1, false, 10, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (retry->kind, PROTO_KIND_RETRY);
    assert_int_equal (retry->unit_count, 2);
    assert_int_equal (build->retry_count, 0);
    assert_int_equal (build->retry_used, 2);
    assert_int_equal (build->retries[0], 1);
    assert_int_equal (build->retry_live, 1);
    //  ... and counts the ones handed out: still no room.
    builds_retry_offer (fx->builds, build, 2);
    assert_int_equal (build->retry_count, 0);

    //  The retry fails again: unit 0 has had its one run again.
    assert_int_equal (s_report (fx, build, a1, retry, 1), 0);
    assert_int_equal (build->retry_live, 0);
    builds_retry_offer (fx->builds, build, 0);
    assert_int_equal (build->retry_count, 0);

    //  With budget to spare, the per-unit limit alone decides: loading
    //  the build back offers units 2 and 3 (never run again), not 0 or 1.
    int64_t suite_id = build->suite_id;
    s_reconfigure (fx, 1, 100);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    assert_int_equal (build->retries[0], 1);
    assert_int_equal (build->retry_used, 2);
    assert_int_equal (build->retry_count, 2);
    assert_int_equal (build->retry[0].unit, 2);
    assert_int_equal (build->retry[1].unit, 3);
    builds_retry_offer (fx->builds, build, 0);
    builds_retry_offer (fx->builds, build, 1);
    assert_int_equal (build->retry_count, 2);
}

static void
test_retry_offer_off_and_stopping (void **state)
{
    fixture_t *fx = *state;
    s_reconfigure (fx, 0, 100);             //  the default: never
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    build_batch_t *batch = s_from_queue (fx, build, attempt, 2);
    s_report (fx, build, attempt, batch, 1);
    builds_retry_offer (fx->builds, build, 0);
    assert_int_equal (build->retry_count, 0);

    int64_t suite_id = build->suite_id;
    s_reconfigure (fx, 3, 100);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    //  Loading it back offered both failed units by itself.
    assert_int_equal (build->retry_count, 2);
    //  Fail-fast fires: what requests.c does to the build (there is no
    //  builds call for it).
    build->retry_count = 0;
    build->stopping = true;
    builds_retry_offer (fx->builds, build, 0);
    assert_int_equal (build->retry_count, 0);
}

static void
test_retry_avoids_the_failing_node (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *on0 = s_from_queue (fx, build, a0, 2);             //  0, 1
    build_batch_t *on1 = s_from_queue (fx, build, a1, 1);             //  2
    s_report (fx, build, a0, on0, 1);
    s_report (fx, build, a1, on1, 1);
    builds_retry_offer (fx->builds, build, 0);
    builds_retry_offer (fx->builds, build, 2);
    builds_retry_offer (fx->builds, build, 1);
    assert_int_equal (build->retry_count, 3);
    assert_int_equal (build->retry[1].avoid_node, 1);
    uint64_t lease = build->next_lease;

    //  Node 0 may only take what failed on node 1.
    build_batch_t *retry = NULL;
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a0, false, 10, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (retry->unit_count, 1);
    assert_int_equal (retry->unit_idx[0], 2);
    assert_int_equal (retry->lease, lease);
    assert_int_equal (retry->state, STORE_BATCH_RUNNING);
    assert_int_equal (build->next_lease, lease + 1);
    assert_int_equal (build->retry_count, 2);
    assert_int_equal (build->retry[0].unit, 0);
    assert_int_equal (build->retry[1].unit, 1);
    //  Now nothing is left for node 0: no batch, no error, no lease used.
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a0, false, 10, &retry), 0);
    assert_null (retry);
    assert_int_equal (build->retry_count, 2);
    assert_int_equal (build->next_lease, lease + 1);
    assert_int_equal (build->nodes[0].batch_count, 2);
    //  Unless no other node is left: then any, at most max_units.
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a0, true, 1, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (retry->unit_count, 1);
    assert_int_equal (retry->unit_idx[0], 0);
    assert_int_equal (build->retry_count, 1);
    assert_int_equal (build->retry[0].unit, 1);
    //  Node 1 takes the last one normally.
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a1, false, 10, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (retry->unit_idx[0], 1);
    assert_int_equal (build->retry_count, 0);
    assert_int_equal (build->retry_used, 3);
    assert_int_equal (build->retry_live, 3);
    //  A retry batch that stops being live no longer keeps the build open.
    assert_int_equal (builds_batch_set_state (fx->builds, build, retry, STORE_BATCH_EXPIRED,
                                              retry->lease), 0);
    assert_int_equal (build->retry_live, 2);
}

//  ---------------------------------------------------------------------
//  Loading back

static void
test_forgotten_build_loads_back_from_the_store (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    s_from_queue (fx, build, attempt, 2);
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    build_t *loaded = NULL;
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &loaded), 0);
    assert_int_equal (loaded->unit_count, 8);
    assert_int_equal (loaded->queue_len - loaded->queue_head, 6);
    assert_true (loaded->remaining_ms == 6000);
    assert_int_equal (loaded->nodes[0].batch_count, 1);
    assert_int_equal (loaded->state[0], UNIT_ASSIGNED);
    assert_int_equal (loaded->next_lease, 2);
    attempt_t *found = NULL;
    assert_int_equal (builds_attempt_find (fx->builds, "att0", &found), 0);
    assert_ptr_equal (found->build, loaded);
    assert_int_equal (builds_attempt_find (fx->builds, "nobody", &found), 1);
    assert_int_equal (builds_find (fx->builds, suite_id, "b2", &loaded), 1);
}

//  What the build knew in memory, to compare with the build loaded back.
typedef struct {
    uint8_t state[8];
    uint32_t holder_node[8];
    uint32_t holder_seq[8];
    int8_t last_ok[8];
    uint32_t last_node[8];
    uint16_t fails[8];
    uint16_t passes[8];
    uint16_t queue_runs[8];
    uint8_t retries[8];
    uint8_t queued[8];           //  1 if waiting in the queue
    uint8_t retry_avoid[8];      //  1 + avoid_node if in the retry list, else 0
    size_t done_count, failing_count, flaky_count, retry_used, retry_live, retry_count;
    uint64_t next_lease;
    double remaining_ms;
    size_t batch_count[2];
} snapshot_t;

static void
s_snapshot (const build_t *build, snapshot_t *snap)
{
    memset (snap, 0, sizeof *snap);
    assert_int_equal (build->unit_count, 8);
    for (size_t i = 0; i < 8; i++) {
        snap->state[i] = build->state[i];
        if (build->state[i] == UNIT_ASSIGNED) {
            snap->holder_node[i] = build->holder_node[i];
            snap->holder_seq[i] = build->holder_seq[i];
        }
        snap->last_ok[i] = build->last_ok[i];
        snap->last_node[i] = build->last_ok[i] >= 0 ? build->last_node[i] : 0;
        snap->fails[i] = build->fails[i];
        snap->passes[i] = build->passes[i];
        snap->queue_runs[i] = build->queue_runs[i];
        snap->retries[i] = build->retries[i];
    }
    for (size_t q = build->queue_head; q < build->queue_len; q++) {
        assert_int_equal (snap->queued[build->queue[q]], 0);      //  at most once
        snap->queued[build->queue[q]] = 1;
    }
    for (size_t r = 0; r < build->retry_count; r++)
        snap->retry_avoid[build->retry[r].unit] = (uint8_t) (1 + build->retry[r].avoid_node);
    snap->done_count = build->done_count;
    snap->failing_count = build->failing_count;
    snap->flaky_count = build->flaky_count;
    snap->retry_used = build->retry_used;
    snap->retry_live = build->retry_live;
    snap->retry_count = build->retry_count;
    snap->next_lease = build->next_lease;
    snap->remaining_ms = build->remaining_ms;
    snap->batch_count[0] = build->nodes[0].batch_count;
    snap->batch_count[1] = build->nodes[1].batch_count;
}

//  After a mix of everything (failures, a retry, a lease that lapsed, a
//  fenced report), the build loaded back from the store derives the same
//  unit states, results, retry list and next lease as memory had.
static void
test_reload_derives_the_same_state (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");

    build_batch_t *b01 = s_from_queue (fx, build, a0, 2);             //  0, 1: fail
    s_report (fx, build, a0, b01, 1);
    builds_retry_offer (fx->builds, build, 0);
    builds_retry_offer (fx->builds, build, 1);
    build_batch_t *b11 = s_from_queue (fx, build, a1, 2);             //  2, 3: lapse
    build_batch_t *b02 = s_from_queue (fx, build, a0, 1);             //  4: pass
    s_report (fx, build, a0, b02, 0);
    build_batch_t *r12 = NULL;                                        //  0, 1 on node 1
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a1, false, 10, &r12), 0);
    assert_non_null (r12);
    assert_int_equal (r12->unit_count, 2);
    assert_int_equal (s_expire (fx, build, 1, b11), 2);
    //  Node 1's late report of the lapsed batch: fenced, passed.
    assert_int_equal (builds_batch_report (fx->builds, build, 1, b11, false, 50, 0, NULL, -1, 1, s_clock ()), 0);
    build_batch_t *b03 = s_from_queue (fx, build, a0, 2);             //  2, 3: fail
    assert_int_equal (b03->unit_idx[0], 2);
    s_report (fx, build, a0, b03, 1);
    builds_retry_offer (fx->builds, build, 2);
    builds_retry_offer (fx->builds, build, 3);
    build_batch_t *b04 = s_from_queue (fx, build, a0, 1);             //  5: running
    assert_int_equal (b04->unit_idx[0], 5);

    //  Where it stands: 0, 1 done, failed, in a live retry; 2, 3 done,
    //  failed (flaky: the fenced run passed), waiting for a run again; 4
    //  done; 5 running on node 0; 6, 7 queued.
    assert_int_equal (build->state[0], UNIT_DONE);
    assert_int_equal (build->state[5], UNIT_ASSIGNED);
    assert_int_equal (build->state[6], UNIT_QUEUED);
    assert_int_equal (build->done_count, 5);
    assert_int_equal (build->failing_count, 4);
    assert_int_equal (build->flaky_count, 2);
    assert_int_equal (build->retry_count, 2);
    assert_int_equal (build->retry_live, 1);
    assert_int_equal (build->retry_used, 2);
    assert_int_equal (build->next_lease, 7);
    snapshot_t before;
    s_snapshot (build, &before);

    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    build_t *loaded = NULL;
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &loaded), 0);
    snapshot_t after;
    s_snapshot (loaded, &after);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (after.state[i], before.state[i]);
        assert_int_equal (after.holder_node[i], before.holder_node[i]);
        assert_int_equal (after.holder_seq[i], before.holder_seq[i]);
        assert_int_equal (after.last_ok[i], before.last_ok[i]);
        assert_int_equal (after.last_node[i], before.last_node[i]);
        assert_int_equal (after.fails[i], before.fails[i]);
        assert_int_equal (after.passes[i], before.passes[i]);
        assert_int_equal (after.queue_runs[i], before.queue_runs[i]);
        assert_int_equal (after.retries[i], before.retries[i]);
        assert_int_equal (after.queued[i], before.queued[i]);
        assert_int_equal (after.retry_avoid[i], before.retry_avoid[i]);
    }
    assert_int_equal (after.done_count, before.done_count);
    assert_int_equal (after.failing_count, before.failing_count);
    assert_int_equal (after.flaky_count, before.flaky_count);
    assert_int_equal (after.retry_used, before.retry_used);
    assert_int_equal (after.retry_live, before.retry_live);
    assert_int_equal (after.retry_count, before.retry_count);
    assert_int_equal (after.next_lease, before.next_lease);
    assert_true (after.remaining_ms == before.remaining_ms);
    assert_int_equal (after.batch_count[0], before.batch_count[0]);
    assert_int_equal (after.batch_count[1], before.batch_count[1]);
    //  The batches themselves, field by field.
    for (uint32_t n = 0; n < 2; n++) {
        for (size_t b = 0; b < after.batch_count[n]; b++) {
            const build_batch_t *batch = &loaded->nodes[n].batches[b];
            assert_int_equal (batch->seq, b + 1);
            assert_true (batch->lease >= 1 && batch->lease < after.next_lease);
        }
    }
    assert_int_equal (loaded->nodes[1].batches[0].state, STORE_BATCH_EXPIRED);
    assert_true (loaded->nodes[1].batches[0].reported);
    assert_int_equal (loaded->nodes[1].batches[1].kind, PROTO_KIND_RETRY);
    assert_int_equal (loaded->nodes[1].batches[1].state, STORE_BATCH_RUNNING);
    assert_int_equal (loaded->nodes[0].batches[3].state, STORE_BATCH_RUNNING);
    assert_int_equal (loaded->nodes[0].batches[3].lease, 6);
    assert_false (loaded->stopping);
    assert_false (loaded->finished);
}

//  Six units on two nodes: one with history, five guessed, each guess its
//  own (as sched_estimate_unseen gives them). Queue order is index order.
static build_t *
s_make_guessed_build (fixture_t *fx, attempt_t **attempt)
{
    char *names[] = { "known", "g1", "g2", "g3", "w1", "w2" };
    double predicted[] = { 5000, 1000, 2000, 3000, 500, 4000 };
    uint8_t guessed[] = { 0, 1, 1, 1, 1, 1 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = "guessed", .node_total = 2, .mode = "queue",
        .commit = "c", .branch = "main", .digest = "0123456789012345678901234567890123456789"
    };
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, NULL, 6,
                                     &build), 0);
    assert_int_equal (build->known_count, 1);
    assert_int_equal (builds_attempt_add (fx->builds, build, 0, "att0", false, false, NULL,
                                          attempt), 0);
    return build;
}

//  Each waiting guessed unit is scaled by measured / guessed from its own
//  first guess: guesses that differ keep their proportions.
static void
test_guesses_scale_each_by_the_ratio (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_guessed_build (fx, &attempt);
    assert_true (build->remaining_ms == 15500);
    s_from_queue (fx, build, attempt, 4);                   //  known, g1, g2, g3
    assert_true (build->remaining_ms == 4500);              //  w1 500 + w2 4000
    //  Measured 2500 + 3500 + 6000 = 12000 for guesses 1000 + 2000 + 3000:
    //  ratio 2, the same for each of the waiting ones.
    builds_learn_guess (build, 1, 2500);
    builds_learn_guess (build, 2, 3500);
    assert_true (build->predicted_ms[4] == 500);            //  two samples: not yet
    builds_learn_guess (build, 3, 6000);
    assert_true (build->guess_scale == 2);
    assert_true (build->predicted_ms[4] == 1000);
    assert_true (build->predicted_ms[5] == 8000);
    assert_true (build->queue_ms[build->queue_head] == 1000);
    assert_true (build->queue_ms[build->queue_head + 1] == 8000);
    assert_true (build->remaining_ms == 9000);
    //  The known unit and the reported ones keep what they had.
    assert_true (build->predicted_ms[0] == 5000);
    assert_true (build->predicted_ms[1] == 1000);

    //  w1 runs exactly as now predicted (first guess 500, measured 1000):
    //  ratio (12000 + 1000) / (6000 + 500) = 2, nothing moves.
    s_from_queue (fx, build, attempt, 1);
    builds_learn_guess (build, 4, 1000);
    assert_true (build->guess_first_ms == 6500);
    assert_true (build->guess_scale == 2);
    assert_true (build->predicted_ms[5] == 8000);
    assert_true (build->remaining_ms == 8000);
}

//  A guessed unit that was out in a batch when the others were scaled
//  still counts with its first guess when it reports.
static void
test_guesses_out_during_a_scale (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_guessed_build (fx, &attempt);
    attempt_t *other = s_attempt (fx, build, 1, "att1");
    s_from_queue (fx, build, attempt, 4);                   //  known, g1, g2, g3
    build_batch_t *out = s_from_queue (fx, build, other, 1);        //  w1, guessed 500
    assert_int_equal (out->unit_idx[0], 4);
    builds_learn_guess (build, 1, 2000);
    builds_learn_guess (build, 2, 4000);
    builds_learn_guess (build, 3, 6000);
    assert_true (build->guess_scale == 2);
    assert_true (build->predicted_ms[5] == 8000);            //  waiting: scaled
    assert_true (build->predicted_ms[4] == 1000);            //  out: scaled too
    assert_true (build->remaining_ms == 8000);
    //  w1 reports 2000 for its first guess of 500: (12000 + 2000) / (6000
    //  + 500) = 2.15, within 10% of 2: nothing moves. (Taken as 250, its
    //  first guess over the scale it never had, the ratio would be 2.24.)
    builds_learn_guess (build, 4, 2000);
    assert_true (build->guess_first_ms == 6500);
    assert_true (build->guess_sum_ms == 14000);
    assert_true (build->guess_scale == 2);
    assert_true (build->predicted_ms[5] == 8000);
    assert_true (build->remaining_ms == 8000);
}

//  A guessed unit out in a batch when the others were scaled, whose lease
//  then lapses, goes back to the queue at its first guess times the scale.
static void
test_guesses_lapsed_unit_requeued_scaled (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_guessed_build (fx, &attempt);
    attempt_t *other = s_attempt (fx, build, 1, "att1");
    s_from_queue (fx, build, attempt, 4);                   //  known, g1, g2, g3
    build_batch_t *out = s_from_queue (fx, build, other, 1);        //  w1, guessed 500
    builds_learn_guess (build, 1, 3000);
    builds_learn_guess (build, 2, 6000);
    builds_learn_guess (build, 3, 9000);
    assert_true (build->guess_scale == 3);
    assert_true (build->remaining_ms == 12000);             //  w2 only
    assert_int_equal (s_expire (fx, build, 1, out), 1);
    assert_int_equal (build->queue[build->queue_head], 4);
    assert_true (build->queue_ms[build->queue_head] == 1500);
    assert_true (build->remaining_ms == 13500);
    //  Run again and measured at its scaled guess: the ratio holds.
    s_from_queue (fx, build, attempt, 1);
    builds_learn_guess (build, 4, 1500);
    assert_true (build->guess_first_ms == 6500);
    assert_true (build->guess_scale == 3);
    assert_true (build->predicted_ms[5] == 12000);
}

//  A batch with each unit's own result: 1 passed, 0 failed, -1 by the
//  exit status. Loaded back from the store, the same.
static void
test_unit_ok_counts_each_unit (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *b0 = s_from_queue (fx, build, a0, 3);            //  0, 1, 2
    const int8_t failed_run[] = { 1, 0, -1 };
    assert_int_equal (builds_batch_report (fx->builds, build, 0, b0, true, 100, 1, failed_run, -1, 1,
                                           s_clock ()), 3);
    assert_true (builds_unit_passed (b0, 0));
    assert_false (builds_unit_passed (b0, 1));
    assert_false (builds_unit_passed (b0, 2));              //  by exit 1
    assert_int_equal (build->last_ok[0], 1);
    assert_int_equal (build->last_ok[1], 0);
    assert_int_equal (build->last_ok[2], 0);
    assert_int_equal (build->passes[0], 1);
    assert_int_equal (build->fails[1], 1);
    assert_int_equal (build->fails[2], 1);
    assert_int_equal (build->failing_count, 2);
    assert_int_equal (build->done_count, 3);
    assert_non_null (b0->unit_ok);
    assert_memory_equal (b0->unit_ok, failed_run, 3);

    //  Exit 0: a unit without a result of its own passed; one that says it
    //  failed, failed.
    build_batch_t *b1 = s_from_queue (fx, build, a1, 3);            //  3, 4, 5
    const int8_t passed_run[] = { -1, 0, 1 };
    assert_int_equal (builds_batch_report (fx->builds, build, 1, b1, true, 100, 0, passed_run, -1, 1,
                                           s_clock ()), 3);
    assert_true (builds_unit_passed (b1, 0));
    assert_false (builds_unit_passed (b1, 1));
    assert_true (builds_unit_passed (b1, 2));
    assert_int_equal (build->last_ok[3], 1);
    assert_int_equal (build->last_ok[4], 0);
    assert_int_equal (build->last_ok[5], 1);
    assert_int_equal (build->failing_count, 3);

    //  No results of its own (unit_ok NULL): all by the exit status.
    build_batch_t *b2 = s_from_queue (fx, build, a0, 1);            //  6
    assert_int_equal (builds_batch_report (fx->builds, build, 0, b2, true, 100, 1, NULL, -1, 1,
                                           s_clock ()), 1);
    assert_null (b2->unit_ok);
    assert_false (builds_unit_passed (b2, 0));
    assert_int_equal (build->failing_count, 4);
    snapshot_t before;
    s_snapshot (build, &before);

    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    build_t *loaded = NULL;
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &loaded), 0);
    snapshot_t after;
    s_snapshot (loaded, &after);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (after.last_ok[i], before.last_ok[i]);
        assert_int_equal (after.fails[i], before.fails[i]);
        assert_int_equal (after.passes[i], before.passes[i]);
        assert_int_equal (after.state[i], before.state[i]);
    }
    assert_int_equal (after.failing_count, 4);
    assert_int_equal (after.done_count, before.done_count);
    assert_int_equal (after.flaky_count, before.flaky_count);
    const build_batch_t *l0 = &loaded->nodes[0].batches[0];
    const build_batch_t *l1 = &loaded->nodes[1].batches[0];
    const build_batch_t *l2 = &loaded->nodes[0].batches[1];
    assert_non_null (l0->unit_ok);
    assert_memory_equal (l0->unit_ok, failed_run, 3);
    assert_non_null (l1->unit_ok);
    assert_memory_equal (l1->unit_ok, passed_run, 3);
    assert_null (l2->unit_ok);
    assert_true (builds_unit_passed (l0, 0));
    assert_false (builds_unit_passed (l0, 1));
    assert_false (builds_unit_passed (l0, 2));
    assert_true (builds_unit_passed (l1, 0));
    assert_false (builds_unit_passed (l1, 1));
    assert_true (builds_unit_passed (l1, 2));
    assert_false (builds_unit_passed (l2, 0));
}

//  A fail-fast build that had a failure is stopping when it loads back,
//  and offers nothing for another run.
static void
test_reload_fail_fast_stopping (void **state)
{
    fixture_t *fx = *state;
    char *names[] = { "a", "b", "c" };
    double predicted[] = { 3, 2, 1 };
    uint8_t guessed[] = { 0, 0, 0 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = "ff", .node_total = 1, .mode = "queue",
        .commit = "c", .branch = "main", .digest = "0123456789012345678901234567890123456789",
        .fail_fast = true
    };
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, NULL, 3,
                                     &build), 0);
    assert_true (build->fail_fast);
    assert_false (build->stopping);
    attempt_t *attempt = s_attempt (fx, build, 0, "att-ff");
    build_batch_t *batch = s_from_queue (fx, build, attempt, 1);
    s_report (fx, build, attempt, batch, 1);
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "ff", &build), 0);
    assert_true (build->fail_fast);
    assert_true (build->stopping);
    assert_non_null (build->stop_reason);
    assert_non_null (strstr (build->stop_reason, "a failed"));
    assert_int_equal (build->retry_count, 0);
    assert_int_equal (build->failing_count, 1);
}

//  The options of an attempt come back with it.
static void
test_attempt_options_load_back (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    assert_false (attempt->only_failed);
    attempt_t *options = NULL;
    assert_int_equal (builds_attempt_add (fx->builds, build, 1, "att-opt", true, true,
                                          NULL, &options), 0);
    assert_true (options->only_failed);
    assert_true (options->no_wait);
    assert_false (options->stopped);
    assert_int_equal (store_attempt_stop (fx->store, options->id), 0);
    builds_forget_all (fx->builds);
    assert_int_equal (builds_attempt_find (fx->builds, "att-opt", &options), 0);
    assert_int_equal (options->node_index, 1);
    assert_true (options->only_failed);
    assert_true (options->no_wait);
    assert_true (options->stopped);
    assert_int_equal (builds_attempt_find (fx->builds, "att0", &attempt), 0);
    assert_false (attempt->only_failed);
    assert_false (attempt->no_wait);
    assert_ptr_equal (attempt->build, options->build);
}

//  A late (fenced) report of an older batch that comes after a newer
//  batch's report is the unit's latest result, before and after a reload.
static void
test_reload_counts_runs_in_report_order (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *old = s_from_queue (fx, build, a0, 1);
    uint32_t unit = old->unit_idx[0];
    assert_int_equal (s_expire (fx, build, 0, old), 1);
    build_batch_t *newer = s_from_queue (fx, build, a1, 1);
    assert_int_equal (newer->unit_idx[0], unit);
    s_report (fx, build, a1, newer, 0);
    old = builds_batch_find (build, 0, 1);
    assert_int_equal (builds_batch_report (fx->builds, build, 0, old, false, 50, 1, NULL, -1, 1, s_clock ()),
                      0);
    assert_int_equal (build->last_ok[unit], 0);
    assert_int_equal (build->failing_count, 1);
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    assert_int_equal (build->last_ok[unit], 0);
    assert_int_equal (build->last_node[unit], 0);
    assert_int_equal (build->failing_count, 1);
}

//  A retry batch whose lease lapses still owes its units their run again,
//  in memory as after a reload.
static void
test_lapsed_retry_is_offered_again (void **state)
{
    fixture_t *fx = *state;
    attempt_t *a0 = NULL;
    build_t *build = s_make_build (fx, &a0);
    attempt_t *a1 = s_attempt (fx, build, 1, "att1");
    build_batch_t *first = s_from_queue (fx, build, a0, 1);
    uint32_t unit = first->unit_idx[0];
    s_report (fx, build, a0, first, 1);
    builds_retry_offer (fx->builds, build, unit);
    build_batch_t *retry = NULL;
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a1, false, 10, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (build->retry_count, 0);
    assert_int_equal (s_expire (fx, build, 1, retry), 0);      //  done units: none requeued
    assert_int_equal (build->retry_live, 0);
    assert_int_equal (build->retry_count, 1);
    assert_int_equal (build->retry[0].unit, unit);
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    assert_int_equal (build->retry_count, 1);
    assert_int_equal (build->retry[0].unit, unit);
}

//  ---------------------------------------------------------------------
//  Regular mode: each node's list, reserved until it is given

//  Eight units on four nodes, split by hand (units in queue order, 8 s
//  down to 1 s): node 0 gets 0, 5; node 1 gets 1, 4, 7; node 2 gets 2, 3,
//  6; node 3 gets nothing.
static const uint32_t s_split[8] = { 0, 1, 2, 2, 1, 0, 2, 1 };
static const uint32_t s_list0[] = { 0, 5 };
static const uint32_t s_list1[] = { 1, 4, 7 };
static const uint32_t s_list2[] = { 2, 3, 6 };

static build_t *
s_make_regular (fixture_t *fx)
{
    char *names[] = { "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7" };
    double predicted[] = { 8000, 7000, 6000, 5000, 4000, 3000, 2000, 1000 };
    uint8_t guessed[8] = { 0 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = "reg", .node_total = 4, .mode = "regular",
        .commit = "c", .branch = "main", .digest = "0123456789012345678901234567890123456789"
    };
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, s_split, 8,
                                     &build), 0);
    return build;
}

//  Drop memory and load the regular build back from the store.
static build_t *
s_reload_regular (fixture_t *fx, build_t *build)
{
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    build_t *loaded = NULL;
    assert_int_equal (builds_find (fx->builds, suite_id, "reg", &loaded), 0);
    return loaded;
}

//  The node's list, which must be there.
static build_batch_t *
s_from_list (fixture_t *fx, build_t *build, attempt_t *attempt)
{
    build_batch_t *batch = (build_batch_t *) &batch;        //  must be set
    assert_int_equal (builds_batch_from_list (fx->builds, build, attempt, &batch), 0);
    assert_non_null (batch);
    return batch;
}

//  Nothing (more) for the node from its list.
static void
s_no_list (fixture_t *fx, build_t *build, attempt_t *attempt)
{
    build_batch_t *batch = (build_batch_t *) &batch;
    size_t before = build->nodes[attempt->node_index].batch_count;
    uint64_t lease = build->next_lease;
    assert_int_equal (builds_batch_from_list (fx->builds, build, attempt, &batch), 0);
    assert_null (batch);
    assert_int_equal (build->nodes[attempt->node_index].batch_count, before);
    assert_int_equal (build->next_lease, lease);
}

//  A new regular build: every unit reserved for its node, nothing queued,
//  and the split in the store.
static void
test_regular_create_reserves_every_unit (void **state)
{
    fixture_t *fx = *state;
    build_t *build = s_make_regular (fx);
    assert_true (build->regular);
    assert_string_equal (build->mode, "regular");
    assert_int_equal (build->unit_count, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (build->state[i], UNIT_RESERVED);
        assert_int_equal (build->split_node[i], s_split[i]);
    }
    assert_int_equal (build->queue_head, 0);
    assert_int_equal (build->queue_len, 0);
    assert_true (build->remaining_ms == 0);
    assert_int_equal (build->done_count, 0);
    for (uint32_t n = 0; n < 4; n++) {
        assert_false (build->nodes[n].listed);
        assert_int_equal (build->nodes[n].batch_count, 0);
    }
    char **names = NULL;
    double *predicted = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (fx->store, build->id, &names, &predicted, &count,
                                        &split), 0);
    assert_int_equal (count, 8);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal (names[i], build->names[i]);
        assert_int_equal (split[i], s_split[i]);
        free (names[i]);
    }
    free (names);
    free (predicted);
    free (split);
}

//  A node's list is its reserved units in queue order, as one running
//  batch of kind regular with a fresh lease; it is given once; a node with
//  an empty list gets nothing.
static void
test_regular_list_given_once (void **state)
{
    fixture_t *fx = *state;
    build_t *build = s_make_regular (fx);
    attempt_t *a1 = s_attempt (fx, build, 1, "reg1");
    build_batch_t *list = s_from_list (fx, build, a1);
    assert_int_equal (list->seq, 1);
    assert_int_equal (list->kind, PROTO_KIND_REGULAR);
    assert_int_equal (list->state, STORE_BATCH_RUNNING);
    assert_int_equal (list->lease, 1);
    assert_int_equal (list->attempt_id, a1->id);
    assert_int_equal (list->unit_count, 3);
    assert_memory_equal (list->unit_idx, s_list1, sizeof s_list1);
    assert_true (list->predicted_ms == 7000 + 4000 + 1000);
    assert_int_equal (build->next_lease, 2);
    assert_true (build->nodes[1].listed);
    for (size_t i = 0; i < 3; i++) {
        uint32_t idx = s_list1[i];
        assert_int_equal (build->state[idx], UNIT_ASSIGNED);
        assert_int_equal (build->holder_node[idx], 1);
        assert_int_equal (build->holder_seq[idx], 1);
    }
    //  The other nodes' units stay reserved; the queue stays empty.
    for (size_t i = 0; i < 8; i++)
        if (s_split[i] != 1)
            assert_int_equal (build->state[i], UNIT_RESERVED);
    assert_int_equal (build->queue_len, build->queue_head);
    uint32_t held[8];
    assert_int_equal (builds_batch_held_units (build, 1, list, held), 3);

    //  Asked again, by the same attempt or a new one of the node: nothing.
    s_no_list (fx, build, a1);
    attempt_t *again = s_attempt (fx, build, 1, "reg1-b");
    s_no_list (fx, build, again);

    //  Node 3's list is empty: nothing, and the node is not marked given.
    attempt_t *a3 = s_attempt (fx, build, 3, "reg3");
    s_no_list (fx, build, a3);
    assert_false (build->nodes[3].listed);

    //  Node 0 and node 2 get theirs, with the next leases.
    attempt_t *a0 = s_attempt (fx, build, 0, "reg0");
    attempt_t *a2 = s_attempt (fx, build, 2, "reg2");
    list = s_from_list (fx, build, a2);
    assert_memory_equal (list->unit_idx, s_list2, sizeof s_list2);
    assert_int_equal (list->lease, 2);
    list = s_from_list (fx, build, a0);
    assert_memory_equal (list->unit_idx, s_list0, sizeof s_list0);
    assert_int_equal (list->lease, 3);
    assert_true (list->predicted_ms == 8000 + 3000);
    //  Now no unit is reserved: every one is held by exactly its node.
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (build->state[i], UNIT_ASSIGNED);
        assert_int_equal (build->holder_node[i], s_split[i]);
    }

    //  The store has the three lists, as regular running batches.
    store_batch_t *stored = NULL;
    size_t count = 0;
    assert_int_equal (store_batches_load (fx->store, build->id, &stored, &count), 0);
    assert_int_equal (count, 3);
    for (size_t b = 0; b < count; b++) {
        assert_int_equal (stored[b].kind, PROTO_KIND_REGULAR);
        assert_int_equal (stored[b].state, STORE_BATCH_RUNNING);
        assert_int_equal (stored[b].seq, 1);
    }
    store_batches_free (stored, count);
}

//  Loaded back from the store: the units of nodes not given their list
//  yet stay reserved (not queued), a given list's units are held by its
//  batch, and a node is given its list only once across the reload.
static void
test_regular_reload_keeps_reservations (void **state)
{
    fixture_t *fx = *state;
    build_t *build = s_make_regular (fx);
    attempt_t *a1 = s_attempt (fx, build, 1, "reg1");
    s_from_list (fx, build, a1);

    //  Reloaded before anything else was given.
    build = s_reload_regular (fx, build);
    assert_true (build->regular);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal (build->split_node[i], s_split[i]);
    assert_int_equal (build->queue_len - build->queue_head, 0);
    assert_true (build->remaining_ms == 0);
    assert_true (build->nodes[1].listed);
    assert_false (build->nodes[0].listed);
    assert_false (build->nodes[2].listed);
    assert_false (build->nodes[3].listed);
    for (size_t i = 0; i < 8; i++) {
        if (s_split[i] == 1) {
            assert_int_equal (build->state[i], UNIT_ASSIGNED);
            assert_int_equal (build->holder_node[i], 1);
            assert_int_equal (build->holder_seq[i], 1);
        }
        else
            assert_int_equal (build->state[i], UNIT_RESERVED);
    }
    build_batch_t *list = builds_batch_find (build, 1, 1);
    assert_non_null (list);
    assert_int_equal (list->kind, PROTO_KIND_REGULAR);
    assert_true (list->predicted_ms == 7000 + 4000 + 1000);
    assert_int_equal (build->next_lease, 2);

    //  Node 1 gets nothing more; node 2 its list, as before the reload.
    assert_int_equal (builds_attempt_find (fx->builds, "reg1", &a1), 0);
    s_no_list (fx, build, a1);
    attempt_t *a2 = s_attempt (fx, build, 2, "reg2");
    list = s_from_list (fx, build, a2);
    assert_memory_equal (list->unit_idx, s_list2, sizeof s_list2);
    assert_int_equal (list->lease, 2);

    //  Node 1 reports (passed); reloaded again: its units are done, node
    //  2's held, node 0's still reserved.
    list = builds_batch_find (build, 1, 1);
    assert_int_equal (s_report (fx, build, a1, list, 0), 3);
    build = s_reload_regular (fx, build);
    assert_int_equal (build->done_count, 3);
    for (size_t i = 0; i < 8; i++) {
        int expected = s_split[i] == 1 ? UNIT_DONE
                     : s_split[i] == 2 ? UNIT_ASSIGNED : UNIT_RESERVED;
        assert_int_equal (build->state[i], expected);
    }
    assert_true (build->nodes[2].listed);
    assert_false (build->nodes[0].listed);
    assert_int_equal (build->queue_len - build->queue_head, 0);
    attempt_t *a0 = s_attempt (fx, build, 0, "reg0");
    list = s_from_list (fx, build, a0);
    assert_memory_equal (list->unit_idx, s_list0, sizeof s_list0);
    assert_int_equal (list->lease, 3);
}

//  A list taken back (its lease lapsed) sends the units it held to the
//  queue for any node, and after a reload they are queued, not reserved
//  again: the node had its list, whoever takes them runs them.
static void
test_regular_released_list_goes_to_the_queue (void **state)
{
    fixture_t *fx = *state;
    build_t *build = s_make_regular (fx);
    attempt_t *a0 = s_attempt (fx, build, 0, "reg0");
    attempt_t *a2 = s_attempt (fx, build, 2, "reg2");
    build_batch_t *list2 = s_from_list (fx, build, a2);
    //  The holder reports nothing; the whole list lapses.
    assert_int_equal (s_expire (fx, build, 2, list2), 3);
    list2 = builds_batch_find (build, 2, 1);
    assert_int_equal (list2->state, STORE_BATCH_EXPIRED);
    uint32_t waiting[8];
    assert_int_equal (s_waiting (build, waiting), 3);
    assert_memory_equal (waiting, s_list2, sizeof s_list2);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal (build->state[s_list2[i]], UNIT_QUEUED);
    assert_true (build->remaining_ms == 6000 + 5000 + 2000);
    //  Node 2 had its list: a new attempt there gets no list again.
    attempt_t *a2b = s_attempt (fx, build, 2, "reg2-b");
    s_no_list (fx, build, a2b);

    //  Reloaded: node 2's units queued, in queue order; the others still
    //  reserved; node 2 still counts as given.
    build = s_reload_regular (fx, build);
    assert_true (build->nodes[2].listed);
    assert_int_equal (s_waiting (build, waiting), 3);
    assert_memory_equal (waiting, s_list2, sizeof s_list2);
    assert_true (build->remaining_ms == 6000 + 5000 + 2000);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal (build->state[i], s_split[i] == 2 ? UNIT_QUEUED : UNIT_RESERVED);
    assert_int_equal (builds_attempt_find (fx->builds, "reg2-b", &a2b), 0);
    s_no_list (fx, build, a2b);

    //  Node 0 takes its own list, then node 2's units from the queue.
    assert_int_equal (builds_attempt_find (fx->builds, "reg0", &a0), 0);
    build_batch_t *list0 = s_from_list (fx, build, a0);
    assert_memory_equal (list0->unit_idx, s_list0, sizeof s_list0);
    build_batch_t *taken = s_from_queue (fx, build, a0, 99);
    assert_int_equal (taken->kind, PROTO_KIND_QUEUE);
    assert_int_equal (taken->unit_count, 3);
    assert_memory_equal (taken->unit_idx, s_list2, sizeof s_list2);
    assert_int_equal (build->holder_node[s_list2[0]], 0);
    //  Node 1's units were never touched by any of it.
    for (size_t i = 0; i < 3; i++)
        assert_int_equal (build->state[s_list1[i]], UNIT_RESERVED);
}

//  A list reported by its holder makes its units done, and its runs count
//  as first runs (like a queue batch's), before and after a reload; a run
//  again from the retry list does not.
static void
test_regular_report_counts_first_runs (void **state)
{
    fixture_t *fx = *state;
    build_t *build = s_make_regular (fx);
    attempt_t *a0 = s_attempt (fx, build, 0, "reg0");
    attempt_t *a1 = s_attempt (fx, build, 1, "reg1");
    build_batch_t *list1 = s_from_list (fx, build, a1);
    assert_int_equal (s_report (fx, build, a1, list1, 1), 3);        //  failed
    assert_int_equal (build->done_count, 3);
    list1 = builds_batch_find (build, 1, 1);
    assert_int_equal (list1->state, STORE_BATCH_DONE);
    for (size_t i = 0; i < 3; i++) {
        uint32_t idx = s_list1[i];
        assert_int_equal (build->state[idx], UNIT_DONE);
        assert_int_equal (build->queue_runs[idx], 1);
        assert_int_equal (build->fails[idx], 1);
        assert_int_equal (build->last_node[idx], 1);
    }
    assert_int_equal (build->failing_count, 3);

    //  One failed unit runs again on node 0: a retry, not a first run.
    builds_retry_offer (fx->builds, build, s_list1[0]);
    build_batch_t *retry = NULL;
    assert_int_equal (builds_batch_from_retry (fx->builds, build, a0, false, 1, &retry), 0);
    assert_non_null (retry);
    assert_int_equal (retry->kind, PROTO_KIND_RETRY);
    assert_int_equal (s_report (fx, build, a0, retry, 0), 0);       //  done already
    assert_int_equal (build->queue_runs[s_list1[0]], 1);
    assert_int_equal (build->passes[s_list1[0]], 1);
    assert_int_equal (build->last_node[s_list1[0]], 0);
    uint16_t runs[8];
    for (size_t i = 0; i < 8; i++)
        runs[i] = build->queue_runs[i];

    build = s_reload_regular (fx, build);
    assert_int_equal (build->done_count, 3);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (build->queue_runs[i], runs[i]);
        assert_int_equal (build->state[i], s_split[i] == 1 ? UNIT_DONE : UNIT_RESERVED);
    }
    assert_int_equal (build->passes[s_list1[0]], 1);
}

//  A queue build is as it was: not regular, no split, every unit queued,
//  and nobody is given a list, before or after a reload.
static void
test_queue_build_unchanged (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    assert_false (build->regular);
    assert_non_null (build->split_node);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal (build->state[i], UNIT_QUEUED);
        assert_int_equal (build->split_node[i], STORE_NO_NODE);
        assert_int_equal (build->queue[i], i);
    }
    assert_int_equal (build->queue_len, 8);
    assert_true (build->remaining_ms == 15000);
    s_no_list (fx, build, attempt);
    assert_false (build->nodes[0].listed);
    build_batch_t *batch = s_from_queue (fx, build, attempt, 2);
    assert_true (batch->predicted_ms == 9000);

    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &build), 0);
    assert_false (build->regular);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal (build->split_node[i], STORE_NO_NODE);
    assert_int_equal (build->queue_len - build->queue_head, 6);
    assert_int_equal (build->state[2], UNIT_QUEUED);
    assert_true (builds_batch_find (build, 0, 1)->predicted_ms == 9000);
    assert_int_equal (builds_attempt_find (fx->builds, "att0", &attempt), 0);
    s_no_list (fx, build, attempt);

    //  The store says every unit has no node.
    char **names = NULL;
    double *predicted = NULL;
    uint32_t *split = NULL;
    size_t count = 0;
    assert_int_equal (store_units_load (fx->store, build->id, &names, &predicted, &count,
                                        &split), 0);
    assert_int_equal (count, 8);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (split[i], STORE_NO_NODE);
        free (names[i]);
    }
    free (names);
    free (predicted);
    free (split);
}

//  The mode says regular but no split was given (requests.c never does
//  that): every unit is queued, and nobody is given a list, the same
//  before and after a reload.
static void
test_regular_mode_without_split_queues (void **state)
{
    fixture_t *fx = *state;
    char *names[] = { "a", "b" };
    double predicted[] = { 2, 1 };
    uint8_t guessed[] = { 0, 0 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = "nosplit", .node_total = 2,
        .mode = "regular", .commit = "c", .branch = "main", .digest = "d"
    };
    build_t *build = NULL;
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, NULL, 2,
                                     &build), 0);
    assert_true (build->regular);
    assert_int_equal (build->queue_len, 2);
    assert_int_equal (build->state[0], UNIT_QUEUED);
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "nosplit", &build), 0);
    assert_true (build->regular);
    assert_int_equal (build->queue_len - build->queue_head, 2);
    assert_int_equal (build->state[0], UNIT_QUEUED);
    assert_int_equal (build->state[1], UNIT_QUEUED);
    attempt_t *attempt = s_attempt (fx, build, 0, "nosplit0");
    s_no_list (fx, build, attempt);
    build_batch_t *batch = s_from_queue (fx, build, attempt, 99);
    assert_int_equal (batch->kind, PROTO_KIND_QUEUE);
    assert_int_equal (batch->unit_count, 2);
}

//  A finished queue build of 4 units, all from history, on 3 nodes whose
//  paces are set as if each had reported one batch (predicted 1000 ms over
//  10 units, start-up 0).
static build_t *
s_machines_build (fixture_t *fx, const char *key, const char *const machines[3])
{
    char *names[] = { "u1", "u2", "u3", "u4" };
    double predicted[] = { 1000, 1000, 1000, 1000 };
    uint8_t guessed[] = { 0, 0, 0, 0 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    builds_new_t spec = {
        .suite_id = suite_id, .suite = "s", .key = key, .node_total = 3, .mode = "queue",
        .commit = "c", .branch = "main", .digest = "0123456789012345678901234567890123456789"
    };
    assert_int_equal (builds_create (fx->builds, &spec, names, predicted, guessed, NULL, 4,
                                     &build), 0);
    const double walls[3] = { 1000, 1000, 2000 };
    for (uint32_t n = 0; n < 3; n++) {
        char id[32];
        snprintf (id, sizeof id, "%s-att%u", key, n);
        attempt_t *attempt = NULL;
        assert_int_equal (builds_attempt_add (fx->builds, build, n, id, false, false,
                                              machines[n], &attempt), 0);
        build->nodes[n].paced_batches = 1;
        build->nodes[n].paced_wall_ms = walls[n];
        build->nodes[n].paced_predicted_ms = 1000;
        build->nodes[n].paced_unit_squares = 1000.0 * 1000.0 / 10;
    }
    return build;
}

//  A finished build teaches each machine its pace relative to the build's
//  median node, the nodes of one machine together; not a build that
//  failed, stopped or ran mostly on guesses, nor a node whose attempts
//  named different machines; and a build loaded back knows its nodes'
//  machines.
static void
test_machines_learned_from_a_finished_build (void **state)
{
    fixture_t *fx = *state;
    const char *const machines[3] = { "m-a", "m-a", "m-b" };
    build_t *build = s_machines_build (fx, "mach-1", machines);
    int64_t suite_id = build->suite_id;
    store_machine_t row;
    //  Not from a build that failed, stopped, or ran on guesses.
    build->failing_count = 1;
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 1000), 0);
    build->failing_count = 0;
    build->stopping = true;
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 1000), 0);
    build->stopping = false;
    build->known_count = 3;
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 1000), 0);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-a", &row), 0);
    assert_true (row.pace == -1);
    build->known_count = 4;
    //  Paces 1, 1 and 2: median 1. m-a's two nodes learned once, from
    //  their batches together (2000 ms over 2000); m-b at 2, its first
    //  spread a quarter of ln 2.
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 1000), 0);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-a", &row), 0);
    assert_float_equal (row.pace, 1.0, 1e-12);
    assert_int_equal (row.builds, 1);
    assert_float_equal (row.samples, 20, 1e-9);
    assert_float_equal (row.spread, 0.1, 1e-12);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-b", &row), 0);
    assert_float_equal (row.pace, 2.0, 1e-12);
    assert_float_equal (row.spread, log (2.0) / 4, 1e-12);

    //  A second build: node 2 retried on another machine is mixed, and its
    //  machines learn nothing from it; the new attempt's machine is the
    //  node's, with its prior (none yet for m-c).
    build = s_machines_build (fx, "mach-2", machines);
    assert_float_equal (build->nodes[2].prior_pace, 2.0, 1e-12);
    attempt_t *retried = NULL;
    assert_int_equal (builds_attempt_add (fx->builds, build, 2, "mach-2-retry", false, false,
                                          "m-c", &retried), 0);
    assert_true (build->nodes[2].machine_mixed);
    assert_string_equal (build->nodes[2].machine, "m-c");
    assert_true (build->nodes[2].prior_pace < 0);
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 2000), 0);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-b", &row), 0);
    assert_int_equal (row.builds, 1);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-c", &row), 0);
    assert_true (row.pace == -1);
    assert_int_equal (store_machine_pace (fx->store, suite_id, "m-a", &row), 0);
    assert_int_equal (row.builds, 2);

    //  Loaded back (a restart): every node's machine and prior, from its
    //  attempts, before any of them asks again.
    builds_forget_all (fx->builds);
    assert_int_equal (builds_find (fx->builds, suite_id, "mach-2", &build), 0);
    assert_string_equal (build->nodes[0].machine, "m-a");
    assert_float_equal (build->nodes[0].prior_pace, 1.0, 1e-12);
    assert_false (build->nodes[0].machine_mixed);
    assert_string_equal (build->nodes[2].machine, "m-c");
    assert_true (build->nodes[2].machine_mixed);
}

//  A machine no pace was known for has its samples of the build re-paced
//  when the build teaches it one: m-b (twice its build's median) has; m-a,
//  within its units' noise of the median (0.98, noise 0.2 / sqrt (20)),
//  has not: that correction would be noise too.
static void
test_machine_first_build_repaced (void **state)
{
    fixture_t *fx = *state;
    const char *const machines[3] = { "m-a", "m-a", "m-b" };
    build_t *build = s_machines_build (fx, "mach-r", machines);
    //  Node paces 1, 1.04 and 2: median 1.04, m-a 1.02 / 1.04, m-b 2 / 1.04.
    build->nodes[1].paced_wall_ms = 1040;
    const char *names[3];
    for (uint32_t n = 0; n < 3; n++) {
        char id[32];
        snprintf (id, sizeof id, "mach-r-att%u", n);
        attempt_t *attempt = NULL;
        assert_int_equal (builds_attempt_find (fx->builds, id, &attempt), 0);
        build_batch_t *batch = s_from_queue (fx, build, attempt, 1);
        batch->reported = true;
        names[n] = build->names[batch->unit_idx[0]];
        assert_int_equal (store_record_sample (fx->store, build->suite_id, build->id, names[n],
                                               n == 2 ? 2000 : 1000, true, 0.3, 1000), 0);
    }
    assert_int_equal (builds_learn_machines (fx->builds, build, 0, 0.3, 1000), 0);
    double estimates[3];
    assert_int_equal (store_estimates (fx->store, build->suite_id, names, 3, estimates), 0);
    assert_float_equal (estimates[0], 1000, 1e-9);
    assert_float_equal (estimates[1], 1000, 1e-9);
    //  Its only sample: all the way to 2000 / (2 / 1.04).
    assert_float_equal (estimates[2], 1040, 1e-6);
    //  m-b's sample has its pace now; m-a's are still at none.
    bool changed = true;
    assert_int_equal (store_repace_sample (fx->store, build->suite_id, build->id, names[2], 2,
                                           0.3, &changed), 0);
    assert_false (changed);
    assert_int_equal (store_repace_sample (fx->store, build->suite_id, build->id, names[0], 2,
                                           0.3, &changed), 0);
    assert_true (changed);
}

int
main (void)
{
    //  Lapsed leases and loads are logged; only errors would matter here.
    log_setup (LOG_LEVEL_ERROR, "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_guesses_grow_to_the_measured_mean, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_guesses_never_shrink, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_guesses_scale_each_by_the_ratio, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_guesses_out_during_a_scale, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_guesses_lapsed_unit_requeued_scaled, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_unit_ok_counts_each_unit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batches_take_the_queue_front_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_push_front_goes_first_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_push_front_when_head_is_short, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_report_by_holder_and_fenced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_offer_limits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_offer_off_and_stopping, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_avoids_the_failing_node, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forgotten_build_loads_back_from_the_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reload_derives_the_same_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reload_counts_runs_in_report_order, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_lapsed_retry_is_offered_again, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reload_fail_fast_stopping, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_attempt_options_load_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_create_reserves_every_unit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_list_given_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_reload_keeps_reservations, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_released_list_goes_to_the_queue, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_report_counts_first_runs, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_queue_build_unchanged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_machines_learned_from_a_finished_build, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_machine_first_build_repaced, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_regular_mode_without_split_queues, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
