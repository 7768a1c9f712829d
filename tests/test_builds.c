/*  test_builds.c: the daemon's in-memory build state over a real store:
    the queue, batches, and re-estimating units that had no history.      */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builds.h"
#include "harness.h"
#include "store.h"

typedef struct {
    char *dir;               //  temp folder (harness_tmpdir)
    char path[96];           //  database in it
    store_t *store;          //  open store
    builds_t *builds;        //  the registry under test
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->dir = harness_tmpdir ();
    snprintf (fx->path, sizeof fx->path, "%s/test.db", fx->dir);
    fx->store = store_open (fx->path);
    if (!fx->store)
        return -1;
    fx->builds = builds_new (fx->store);
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

//  Eight units: two with history (5000, 4000 ms), six guessed at 1000 ms.
static build_t *
s_make_build (fixture_t *fx, attempt_t **attempt)
{
    char *names[] = { "slow_a", "slow_b", "new_c", "new_d", "new_e", "new_f", "new_g", "new_h" };
    double predicted[] = { 5000, 4000, 1000, 1000, 1000, 1000, 1000, 1000 };
    uint8_t guessed[] = { 0, 0, 1, 1, 1, 1, 1, 1 };
    int64_t suite_id = 0;
    assert_int_equal (store_suite_ensure (fx->store, "s", &suite_id), 0);
    build_t *build = NULL;
    assert_int_equal (builds_create (fx->builds, suite_id, "s", "b1", 2, "queue", "c", "main",
                                     "0123456789012345678901234567890123456789", names,
                                     predicted, guessed, 8, &build), 0);
    assert_int_equal (builds_attempt_add (fx->builds, build, 0, "att0", attempt), 0);
    return build;
}

static void
test_guesses_grow_to_the_measured_mean (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    assert_true (build->remaining_ms == 15000);
    //  Hand out the two known units and three guessed ones (c, d, e).
    build_batch_t *batch = NULL;
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 5, &batch), 0);
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
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 1, &batch), 0);
    builds_learn_guess (build, 5, 3200);
    assert_true (build->predicted_ms[6] == 3000);
}

static void
test_guesses_never_shrink (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    build_batch_t *batch = NULL;
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 5, &batch), 0);
    //  The first batches to report are the short ones; their low mean must
    //  not shrink the guesses, or the next batch would swallow the queue.
    builds_learn_guess (build, 2, 100);
    builds_learn_guess (build, 3, 100);
    builds_learn_guess (build, 4, 100);
    for (uint32_t i = 5; i < 8; i++)
        assert_true (build->predicted_ms[i] == 1000);
    assert_true (build->remaining_ms == 3000);
}

static void
test_batches_take_the_queue_front_in_order (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    build_batch_t *batch = NULL;
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 2, &batch), 0);
    assert_int_equal (batch->seq, 1);
    assert_string_equal (build->names[batch->unit_idx[0]], "slow_a");
    assert_string_equal (build->names[batch->unit_idx[1]], "slow_b");
    assert_int_equal (build->state[batch->unit_idx[0]], UNIT_ASSIGNED);
    assert_ptr_equal (builds_batch_find (build, 0, 1), batch);
    assert_null (builds_batch_find (build, 0, 2));
    assert_null (builds_batch_find (build, 1, 1));
    assert_int_equal (builds_batch_complete (build, batch), 2);
    assert_int_equal (build->done_count, 2);
    //  Completing twice counts nothing twice.
    assert_int_equal (builds_batch_complete (build, batch), 0);
    assert_int_equal (build->done_count, 2);
    //  Asking for more than is waiting takes what is left.
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 99, &batch), 0);
    assert_int_equal (batch->seq, 2);
    assert_int_equal (batch->unit_count, 6);
    assert_true (build->remaining_ms == 0);
}

static void
test_forgotten_build_loads_back_from_the_store (void **state)
{
    fixture_t *fx = *state;
    attempt_t *attempt = NULL;
    build_t *build = s_make_build (fx, &attempt);
    build_batch_t *batch = NULL;
    assert_int_equal (builds_batch_assign (fx->builds, build, attempt, 2, &batch), 0);
    int64_t suite_id = build->suite_id;
    builds_forget_all (fx->builds);
    build_t *loaded = NULL;
    assert_int_equal (builds_find (fx->builds, suite_id, "b1", &loaded), 0);
    assert_int_equal (loaded->unit_count, 8);
    assert_int_equal (loaded->queue_len - loaded->queue_head, 6);
    assert_true (loaded->remaining_ms == 6000);
    assert_int_equal (loaded->nodes[0].batch_count, 1);
    assert_int_equal (loaded->state[0], UNIT_ASSIGNED);
    attempt_t *found = NULL;
    assert_int_equal (builds_attempt_find (fx->builds, "att0", &found), 0);
    assert_ptr_equal (found->build, loaded);
    assert_int_equal (builds_attempt_find (fx->builds, "nobody", &found), 1);
    assert_int_equal (builds_find (fx->builds, suite_id, "b2", &loaded), 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_guesses_grow_to_the_measured_mean, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_guesses_never_shrink, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batches_take_the_queue_front_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forgotten_build_loads_back_from_the_store, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
