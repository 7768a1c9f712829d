/*  test_scheduler.c: unit tests for the scheduling policy (scheduler.h).  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "test_rng.h"

//  Long-tailed unit times: log-normal with a median of 3 s and sigma 1.2,
//  the shape real suites show (many short files, a few very slow ones).
static void
s_longtail_suite (uint64_t seed, double *times, size_t count)
{
    test_rng_t rng = { seed };
    for (size_t i = 0; i < count; i++) {
        double u1 = test_rng_unit (&rng);
        double u2 = test_rng_unit (&rng);
        double z = sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
        double ms = 3000.0 * exp (1.2 * z);
        times[i] = ms < 10.0 ? 10.0 : ms;
    }
}

static int
s_compare_desc (const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;
    return (x < y) - (x > y);
}

static double
s_sum (const double *times, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += times[i];
    return sum;
}

//  The same target formula as scheduler.h documents, restated here so the tests
//  check the function against the contract rather than against itself.
static double
s_target (double remaining_ms, uint32_t nodes, const sched_policy_t *policy)
{
    double target = remaining_ms / (policy->factor * nodes);
    if (target < policy->min_batch_ms)
        target = policy->min_batch_ms;
    if (target < 2 * policy->startup_ms)
        target = 2 * policy->startup_ms;
    return target;
}

//  --------------------------------------------------------------------------
//  sched_policy_default

static void
test_policy_default (void **state)
{
    sched_policy_t policy;
    memset (&policy, 0xff, sizeof (policy));
    sched_policy_default (&policy);
    assert_true (policy.startup_ms == 1000.0);
    assert_true (policy.factor == 2.0);
    assert_true (policy.min_batch_ms == 0.0);
    assert_int_equal (policy.max_batch_units, 1000);
    assert_true (policy.default_ms == 1000.0);
}

//  --------------------------------------------------------------------------
//  sched_order

static void
test_order_longest_first (void **state)
{
    const char *names[] = { "a", "b", "c", "d", "e" };
    double predicted[] = { 10, 500, 30, 7000, 0.5 };
    uint32_t order[5];
    sched_order (names, predicted, 5, order);
    uint32_t expected[] = { 3, 1, 2, 0, 4 };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal (order[i], expected[i]);
}

static void
test_order_ties_by_name (void **state)
{
    //  Names deliberately out of order in the input; equal times must come
    //  out by strcmp, which puts upper case before lower case.
    const char *names[] = { "spec/zeta_spec.rb", "spec/alpha_spec.rb",
                            "spec/Mid_spec.rb", "spec/mid_spec.rb", "spec/big_spec.rb" };
    double predicted[] = { 100, 100, 100, 100, 900 };
    uint32_t order[5];
    sched_order (names, predicted, 5, order);
    const char *expected[] = { "spec/big_spec.rb", "spec/Mid_spec.rb",
                               "spec/alpha_spec.rb", "spec/mid_spec.rb",
                               "spec/zeta_spec.rb" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal (names[order[i]], expected[i]);
}

static void
test_order_duplicates_by_index (void **state)
{
    //  Same name and time twice (a caller bug, but the order must still be
    //  a pure function of the input): the lower index comes first.
    const char *names[] = { "x", "x", "y", "x" };
    double predicted[] = { 5, 5, 9, 5 };
    uint32_t order[4];
    sched_order (names, predicted, 4, order);
    uint32_t expected[] = { 2, 0, 1, 3 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (order[i], expected[i]);
}

static void
test_order_empty (void **state)
{
    //  No units: nothing is written, nothing is read.
    sched_order (NULL, NULL, 0, NULL);
}

#define ORDER_UNITS 300

static void
test_order_deterministic (void **state)
{
    //  Many ties (times drawn from only 7 values) so the tie-break carries
    //  most of the order; then the same units shuffled several times must
    //  give the same sequence of names.
    static char storage[ORDER_UNITS][32];
    const char *names[ORDER_UNITS];
    double predicted[ORDER_UNITS];
    test_rng_t rng = { 42 };
    for (size_t i = 0; i < ORDER_UNITS; i++) {
        snprintf (storage[i], sizeof (storage[i]), "test/unit_%03zu.py",
                  (size_t) (test_rng_next (&rng) % 1000));
        names[i] = storage[i];
        predicted[i] = (double) (100 * (test_rng_next (&rng) % 7));
    }
    uint32_t order[ORDER_UNITS];
    sched_order (names, predicted, ORDER_UNITS, order);
    const char *reference[ORDER_UNITS];
    double reference_ms[ORDER_UNITS];
    for (size_t i = 0; i < ORDER_UNITS; i++) {
        reference[i] = names[order[i]];
        reference_ms[i] = predicted[order[i]];
    }
    //  The reference itself is sorted by (time desc, name asc).
    for (size_t i = 1; i < ORDER_UNITS; i++) {
        assert_true (reference_ms[i - 1] >= reference_ms[i]);
        if (reference_ms[i - 1] == reference_ms[i])
            assert_true (strcmp (reference[i - 1], reference[i]) <= 0);
    }
    for (int round = 0; round < 5; round++) {
        //  Fisher-Yates shuffle of (name, time) pairs together.
        for (size_t i = ORDER_UNITS - 1; i > 0; i--) {
            size_t j = (size_t) (test_rng_next (&rng) % (i + 1));
            const char *name = names[i];
            names[i] = names[j];
            names[j] = name;
            double ms = predicted[i];
            predicted[i] = predicted[j];
            predicted[j] = ms;
        }
        sched_order (names, predicted, ORDER_UNITS, order);
        for (size_t i = 0; i < ORDER_UNITS; i++) {
            assert_string_equal (names[order[i]], reference[i]);
            assert_true (predicted[order[i]] == reference_ms[i]);
        }
    }
}

static void
test_order_is_permutation (void **state)
{
    const char *names[] = { "b", "a", "c", "a", "b", "c" };
    double predicted[] = { 1, 2, 3, 3, 2, 1 };
    uint32_t order[6];
    sched_order (names, predicted, 6, order);
    int seen[6] = { 0 };
    for (size_t i = 0; i < 6; i++) {
        assert_true (order[i] < 6);
        seen[order[i]]++;
    }
    for (size_t i = 0; i < 6; i++)
        assert_int_equal (seen[i], 1);
    //  3:a(3) 3:c(2) 2:a(1) 2:b(4) 1:b(0) 1:c(5)
    uint32_t expected[] = { 3, 2, 1, 4, 0, 5 };
    for (size_t i = 0; i < 6; i++)
        assert_int_equal (order[i], expected[i]);
}

//  --------------------------------------------------------------------------
//  sched_fill_unseen

static void
test_fill_median_odd (void **state)
{
    double predicted[] = { 300, -1, 100, 200, -1 };
    sched_fill_unseen (predicted, 5, 1000);
    double expected[] = { 300, 200, 100, 200, 200 };
    for (size_t i = 0; i < 5; i++)
        assert_true (predicted[i] == expected[i]);
}

static void
test_fill_median_even (void **state)
{
    double predicted[] = { 400, -1, 100, 200, 900, -5 };
    sched_fill_unseen (predicted, 6, 1000);
    //  Known: 100 200 400 900 -> (200 + 400) / 2.
    double expected[] = { 400, 300, 100, 200, 900, 300 };
    for (size_t i = 0; i < 6; i++)
        assert_true (predicted[i] == expected[i]);
}

static void
test_fill_none_known (void **state)
{
    double predicted[] = { -1, -1, -1 };
    sched_fill_unseen (predicted, 3, 2500);
    for (size_t i = 0; i < 3; i++)
        assert_true (predicted[i] == 2500);
}

static void
test_fill_raises_small (void **state)
{
    //  0 and values in (0, 1) become 1 ms; 1 and above stay; nothing new is
    //  free even when the only known values were 0.
    double predicted[] = { 0, 0.25, 1, 1.5, 0.999 };
    sched_fill_unseen (predicted, 5, 1000);
    double expected[] = { 1, 1, 1, 1.5, 1 };
    for (size_t i = 0; i < 5; i++)
        assert_true (predicted[i] == expected[i]);

    double zeros[] = { 0, -1, 0 };
    sched_fill_unseen (zeros, 3, 1000);
    for (size_t i = 0; i < 3; i++)
        assert_true (zeros[i] == 1);
}

static void
test_fill_bad_default (void **state)
{
    //  A configured default of 0 or below still gives new units a cost.
    double predicted[] = { -1, -1 };
    sched_fill_unseen (predicted, 2, 0);
    assert_true (predicted[0] == 1 && predicted[1] == 1);
    predicted[0] = predicted[1] = -1;
    sched_fill_unseen (predicted, 2, -30);
    assert_true (predicted[0] == 1 && predicted[1] == 1);
}

static void
test_fill_nan_is_unseen (void **state)
{
    double predicted[] = { NAN, 10, 30 };
    sched_fill_unseen (predicted, 3, 1000);
    assert_true (predicted[0] == 20);
}

static void
test_fill_all_known_untouched (void **state)
{
    double predicted[] = { 5, 7, 1e6 };
    sched_fill_unseen (predicted, 3, 1000);
    assert_true (predicted[0] == 5 && predicted[1] == 7 && predicted[2] == 1e6);
    sched_fill_unseen (NULL, 0, 1000);
}

//  --------------------------------------------------------------------------
//  sched_estimate_unseen

//  Run sched_estimate_unseen and compare with expected, naming the unit
//  that differs.
static void
s_estimate_check (const char *const *names, double *predicted, size_t count, double suite_ms,
                  double default_ms, const double *expected, int line)
{
    sched_estimate_unseen (names, predicted, count, suite_ms, default_ms);
    for (size_t i = 0; i < count; i++)
        if (!(predicted[i] == expected[i]))
            fail_msg ("line %d: %s is %g, expected %g", line, names[i], predicted[i],
                      expected[i]);
}
#define ESTIMATE(names, predicted, suite_ms, default_ms, expected) \
    s_estimate_check ((names), (predicted), sizeof (predicted) / sizeof (predicted)[0], \
                      (suite_ms), (default_ms), (expected), __LINE__)

static void
test_estimate_folder_median_odd (void **state)
{
    //  spec/a knows 10, 30, 20: its new units take 20; spec/b knows only
    //  500. The suite's median (7) is not needed.
    const char *const names[] = { "spec/a/new_spec.rb", "spec/a/x_spec.rb", "spec/a/y_spec.rb",
                                  "spec/a/z_spec.rb", "spec/b/new_spec.rb", "spec/b/q_spec.rb",
                                  "spec/a/zz_spec.rb" };
    double predicted[] = { -1, 10, 30, 20, -1, 500, -1 };
    const double expected[] = { 20, 10, 30, 20, 500, 500, 20 };
    ESTIMATE (names, predicted, 7, 1000, expected);
}

static void
test_estimate_folder_median_even (void **state)
{
    //  Known 10 40 20 30: (20 + 30) / 2.
    const char *const names[] = { "t/a.rb", "t/b.rb", "t/c.rb", "t/d.rb", "t/e.rb", "u/f.rb" };
    double predicted[] = { 10, -1, 40, 20, 30, 3 };
    const double expected[] = { 10, 25, 40, 20, 30, 3 };
    ESTIMATE (names, predicted, 7, 1000, expected);
    //  Two known: their mean.
    const char *const two[] = { "t/a.rb", "t/b.rb", "t/c.rb" };
    double pair[] = { 100, -1, 301 };
    const double pair_expected[] = { 100, 200.5, 301 };
    ESTIMATE (two, pair, -1, 1000, pair_expected);
}

//  A folder is the whole name up to the last '/': a folder whose name
//  begins another's, or a subfolder, is a folder of its own.
static void
test_estimate_folders_apart (void **state)
{
    const char *const names[] = { "spec/a/new.rb", "spec/a/old.rb", "spec/ab/new.rb",
                                  "spec/ab/old.rb", "spec/a/sub/new.rb", "spec/a/sub/old.rb",
                                  "spec/a.rb", "spec/new.rb" };
    double predicted[] = { -1, 10, -1, 20, -1, 30, 40, -1 };
    const double expected[] = { 10, 10, 20, 20, 30, 30, 40, 40 };
    ESTIMATE (names, predicted, 1000, 1000, expected);
}

//  Names without '/' are one folder, the top one; a leading '/' names the
//  top folder too ("" before it).
static void
test_estimate_top_folder (void **state)
{
    const char *const names[] = { "a_test.py", "b_test.py", "c_test.py", "d/e_test.py",
                                  "/f_test.py" };
    double predicted[] = { 100, 300, -1, 1000, -1 };
    const double expected[] = { 100, 300, 200, 1000, 200 };
    ESTIMATE (names, predicted, 5, 1000, expected);
    //  Nothing known at the top: the suite's median, not the list's.
    const char *const top[] = { "a", "b", "c/d" };
    double unknown[] = { -1, -1, 90 };
    const double unknown_expected[] = { 42, 42, 90 };
    ESTIMATE (top, unknown, 42, 1000, unknown_expected);
}

//  A folder with nothing known takes the suite's median (at least 1 ms).
static void
test_estimate_suite_median (void **state)
{
    const char *const names[] = { "a/x.rb", "a/y.rb", "b/x.rb", "b/y.rb", "c/z.rb" };
    double predicted[] = { 10, -1, -1, -1, 1000 };
    const double expected[] = { 10, 10, 777, 777, 1000 };
    ESTIMATE (names, predicted, 777, 5, expected);
    double small[] = { 10, -1, -1, -1, 1000 };
    const double small_expected[] = { 10, 10, 1, 1, 1000 };
    ESTIMATE (names, small, 0.25, 5, small_expected);
    double zero[] = { 10, -1, -1, -1, 1000 };
    ESTIMATE (names, zero, 0, 5, small_expected);
    //  Nothing known anywhere in the list: the suite's median for all.
    double none[] = { -1, -1, -1, -1, -1 };
    const double none_expected[] = { 777, 777, 777, 777, 777 };
    ESTIMATE (names, none, 777, 5, none_expected);
}

//  No suite median: the median of the units of the list that are known
//  (not of what the folders' medians filled in), as sched_fill_unseen.
static void
test_estimate_list_median (void **state)
{
    //  Known: 10 (a), 40, 50 (c): median 40 for b. Folder a's two new
    //  units take 10 and must not pull the list's median down.
    const char *const names[] = { "a/w.rb", "a/x.rb", "a/y.rb", "b/z.rb", "c/q.rb", "c/r.rb" };
    double predicted[] = { -1, 10, -1, -1, 40, 50 };
    const double expected[] = { 10, 10, 10, 40, 40, 50 };
    ESTIMATE (names, predicted, -1, 1000, expected);
    //  Even: known 10 (a), 40 (c): (10 + 40) / 2 for b.
    const char *const four[] = { "a/w.rb", "a/x.rb", "b/z.rb", "c/q.rb", "c/r.rb" };
    double even[] = { -1, 10, -1, 40, -1 };
    const double even_expected[] = { 10, 10, 25, 40, 40 };
    ESTIMATE (four, even, -1, 1000, even_expected);
    //  A NaN suite median is none.
    double nan_suite[] = { -1, 10, -1, 40, -1 };
    ESTIMATE (four, nan_suite, NAN, 1000, even_expected);
}

//  Nothing known at all: the default, never below 1 ms.
static void
test_estimate_default (void **state)
{
    const char *const names[] = { "a/x.rb", "b/y.rb", "z.rb" };
    double predicted[] = { -1, -1, -1 };
    const double expected[] = { 2500, 2500, 2500 };
    ESTIMATE (names, predicted, -1, 2500, expected);
    double zero[] = { -1, -1, -1 };
    const double one[] = { 1, 1, 1 };
    ESTIMATE (names, zero, -1, 0, one);
    double negative[] = { -1, -1, -1 };
    ESTIMATE (names, negative, -1, -30, one);
    double nan_default[] = { -1, -1, -1 };
    ESTIMATE (names, nan_default, -1, NAN, one);
}

//  Known values below 1 ms are raised to 1 ms before any median, and
//  known values are otherwise left alone.
static void
test_estimate_floor (void **state)
{
    const char *const names[] = { "a/x.rb", "a/y.rb", "a/z.rb", "a/new.rb", "b/zero.rb",
                                  "b/new.rb" };
    double predicted[] = { 0, 0.5, 3, -1, 0, -1 };
    //  a: 1 1 3 -> 1; b: 1 -> 1.
    const double expected[] = { 1, 1, 3, 1, 1, 1 };
    ESTIMATE (names, predicted, 1000, 1000, expected);
    //  All known: only the floor applies.
    double known[] = { 0.1, 5, 7, 1e9, 0, 2 };
    const double known_expected[] = { 1, 5, 7, 1e9, 1, 2 };
    ESTIMATE (names, known, 1000, 1000, known_expected);
    sched_estimate_unseen (NULL, NULL, 0, 1000, 1000);
}

//  NaN is no estimate: unseen, like a negative value.
static void
test_estimate_nan_is_unseen (void **state)
{
    const char *const names[] = { "a/x.rb", "a/y.rb", "a/z.rb", "b/n.rb", "c/m.rb" };
    double predicted[] = { NAN, 50, 70, NAN, -3 };
    //  a: 50, 70 -> 60; b, c: nothing known, the suite's 9.
    const double expected[] = { 60, 50, 70, 9, 9 };
    ESTIMATE (names, predicted, 9, 1000, expected);
    //  And without a suite median, the list's known: 50, 70.
    double again[] = { NAN, 50, 70, NAN, -3 };
    const double again_expected[] = { 60, 50, 70, 60, 60 };
    ESTIMATE (names, again, -1, 1000, again_expected);
}

//  ---------------------------------------------------------------------
//  sched_finish_ms, sched_batch_plan: queue mode's plan

static void
test_finish_equal_nodes (void **state)
{
    //  4 free nodes at pace 1, 100 ms start-up each, 4000 ms of work:
    //  each does 1000 after its start-up, so all finish at 1100.
    sched_node_t nodes[4] = { { 0, 1, false, 0, false, 0, false }, { 0, 1, false, 0, false, 0, false },
                              { 0, 1, false, 0, false, 0, false }, { 0, 1, false, 0, false, 0, false } };
    assert_float_equal (sched_finish_ms (nodes, 4, 4000, 100), 1100, 0.01);
    assert_float_equal (sched_finish_ms (nodes, 4, 0, 100), 0, 0);
    assert_float_equal (sched_finish_ms (nodes, 0, 4000, 100), 0, 0);
}

static void
test_finish_spreads_work (void **state)
{
    //  Node 1 is busy for 500 ms more, node 2 runs at 1.5 x: capacity by F
    //  is (F - 100) + (F - 500 - 100) + (F / 1.5 - 100) = 3000 gives
    //  F = 3800 / (2 + 2/3) = 1425.
    sched_node_t nodes[3] = { { 0, 1, true, 10, false, 0, false }, { 500, 1, true, 10, false, 0, false },
                              { 0, 1.5, true, 10, false, 0, false } };
    double finish = sched_finish_ms (nodes, 3, 3000, 100);
    assert_float_equal (finish, 1425, 0.01);
    //  A nonsense pace (0, NaN) counts as 1 and cannot stall the search.
    sched_node_t odd[2] = { { 0, 0, true, 1, false, 0, false }, { 0, NAN, true, 1, false, 0, false } };
    assert_float_equal (sched_finish_ms (odd, 2, 2000, 0), 1000, 0.01);
    //  An absent node does nothing: the other does all 2000; if both are
    //  absent, both count (the one asking is never absent in practice).
    odd[1].absent = true;
    assert_float_equal (sched_finish_ms (odd, 2, 2000, 0), 2000, 0.01);
    odd[0].absent = true;
    assert_float_equal (sched_finish_ms (odd, 2, 2000, 0), 1000, 0.01);
}

//  A queue of count units of ms each.
static void
s_queue_fill (double *queue, size_t count, double ms)
{
    for (size_t i = 0; i < count; i++)
        queue[i] = ms;
}

static void
test_plan_cautious_while_pace_guessed (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    //  2 nodes, 100 units of 10 ms: the share of each is 500 ms. A node
    //  whose pace is a guess takes 1 / factor (2) of it: 25 units.
    double queue[100];
    s_queue_fill (queue, 100, 10);
    sched_node_t nodes[2] = { { 0, 1, false, 0, false, 0, false }, { 0, 1, false, 0, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 25);
    //  A larger factor: more cautious still.
    policy.factor = 5;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 10);
    //  But worth two start-ups: with 200 ms ones, the share is 500 and the
    //  batch 400, not 100.
    policy.startup_ms = 200;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 40);
    //  Or all that is left, when that is less: 1000 ms of work against a
    //  start-up of 30 s is one batch, not two start-ups (500 ms past the
    //  node's share, less than half a start-up).
    policy.startup_ms = 30000;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 100);
    //  Not more than half a start-up past the share: four units of 1 s on
    //  four nodes and a start-up of 1 s, a share is one unit, and each
    //  node takes one, not two.
    policy.startup_ms = 1000;
    double four[4];
    s_queue_fill (four, 4, 1000);
    sched_node_t idle[4] = { { 0, 1, false, 0, false, 0, false }, { 0, 1, false, 0, false, 0, false },
                             { 0, 1, false, 0, false, 0, false }, { 0, 1, false, 0, false, 0, false } };
    assert_int_equal (sched_batch_plan (four, NULL, 4, 4000, idle, 4, 0, &policy), 1);
    //  With two units left and the others busy for 10 s, the share of the
    //  asking node is all that is left: two start-ups' worth, both units.
    for (int n = 1; n < 4; n++)
        idle[n].busy_ms = 10000;
    assert_int_equal (sched_batch_plan (four, NULL, 2, 2000, idle, 4, 0, &policy), 2);
}

static void
test_plan_paced_takes_share (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    double queue[100];
    s_queue_fill (queue, 100, 10);
    //  Paced on 100 units: reserve 0.2 / 10 = 0.02 of a 500 ms share:
    //  490 ms, 49 units.
    sched_node_t nodes[2] = { { 0, 1, true, 100, false, 0, false }, { 0, 1, true, 100, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 49);
    //  The other node is 1.5 x slower: this one's share grows to 600 ms
    //  (588 ms kept).
    nodes[1].pace = 1.5;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 58);
    //  and the slow node's shrinks to 400 ms (of its predicted time).
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 1, &policy), 39);
    //  A pace measured on four units leaves a larger reserve (0.1): 450 ms.
    nodes[1].pace = 1;
    nodes[0].samples = 4;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 45);
}

static void
test_plan_paced_by_machine_keeps_spread_back (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    double queue[100];
    s_queue_fill (queue, 100, 10);
    //  Paced by its machine's history alone, on 100 units: reserve 0.02 of
    //  a 500 ms share (49 units), unless the spread is more: 0.1 keeps
    //  10% back (45 units).
    sched_node_t nodes[2] = { { 0, 1, true, 100, false, 0.01, false }, { 0, 1, true, 100, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 49);
    nodes[0].spread = 0.1;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 45);
    //  Never more than an unpaced node keeps back (1 - 1 / factor: half).
    nodes[0].spread = 0.6;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 25);
    //  Nor less than its units' reserve, whatever the factor: at factor 1
    //  an unpaced node keeps nothing back, yet this one keeps its 2%.
    policy.factor = 1;
    assert_int_equal (sched_batch_plan (queue, NULL, 100, 1000, nodes, 2, 0, &policy), 49);
}

static void
test_plan_no_reserve_below_two_startups (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 50;
    //  2 nodes, 400 ms of work: each node's share is 200 ms after its
    //  start-up; a reserve of 2% of it (4 ms) is less than two start-ups:
    //  none. The node takes its whole share, 20 units.
    double queue[40];
    s_queue_fill (queue, 40, 10);
    sched_node_t nodes[2] = { { 0, 1, true, 100, false, 0, false }, { 0, 1, true, 100, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 40, 400, nodes, 2, 0, &policy), 20);
    //  Near the end a share below two start-ups is still a share: of 100
    //  ms left each node takes 50, not sched_batch_take's 2 x 50.
    assert_int_equal (sched_batch_plan (queue, NULL, 10, 100, nodes, 2, 0, &policy), 5);
    assert_int_equal (sched_batch_take (queue, 10, 100, 2, &policy), 10);
    //  Nothing left: nothing taken; without nodes, as sched_batch_take.
    assert_int_equal (sched_batch_plan (queue, NULL, 0, 0, nodes, 2, 0, &policy), 0);
    assert_int_equal (sched_batch_plan (queue, NULL, 40, 400, NULL, 2, 0, &policy),
                      sched_batch_take (queue, 40, 400, 2, &policy));
    assert_int_equal (sched_batch_plan (queue, NULL, 40, 400, nodes, 2, 7, &policy),
                      sched_batch_take (queue, 40, 400, 2, &policy));
}

static void
test_plan_leaves_out_a_share_below_half_a_startup (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 100;
    //  60 ms left, node 0 free, nodes 1 and 2 back in 10 and 20 ms: shared
    //  by all three, the parts (30, 20 and 10 ms) would each cost a
    //  start-up of 100. Node 1's part is worth less than half a start-up
    //  even beside node 0 alone (25 ms), node 2's as well (20 ms): both are
    //  left out, and node 0 takes all six units.
    double queue[60];
    s_queue_fill (queue, 60, 10);
    sched_node_t nodes[3] = { { 0, 1, true, 100, false, 0, false }, { 10, 1, true, 100, false, 0, false },
                              { 20, 1, true, 100, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 6, 60, nodes, 3, 0, &policy), 6);
    //  With 600 ms left every part is worth a start-up: node 0 takes its
    //  share of (600 + 100 + 110 + 120) / 3 = 310 ms, less its start-up.
    assert_int_equal (sched_batch_plan (queue, NULL, 60, 600, nodes, 3, 0, &policy), 21);
    //  sched_finish_ms itself counts every node that begins in time.
    assert_true (fabs (sched_finish_ms (nodes, 3, 60, 100) - 130) < 1e-9);
    assert_true (fabs (sched_plan_finish_ms (nodes, 3, 60, 100) - 160) < 1e-9);
    //  Each node on its own: a slow node that begins first does not keep
    //  out a node that begins after it. 500 ms left; node 0 alone would
    //  finish at 600. Node 1 (pace 4, free: begins at 400) would make it
    //  (500 + 100 + 100) / 1.25 = 560, a part of 160 / 4 = 40 ms: left
    //  out. Node 2 (pace 1, begins at 320 + 100) makes it
    //  (500 + 100 + 420) / 2 = 510, a part of 90 ms: in.
    nodes[1].busy_ms = 0;
    nodes[1].pace = 4;
    nodes[2].busy_ms = 320;
    assert_true (fabs (sched_plan_finish_ms (nodes, 3, 500, 100) - 510) < 1e-9);
}

static void
test_plan_fills_past_a_long_unit (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 50;
    //  Two free nodes, 800 ms left: a share of 400 ms, no reserve (less
    //  than two start-ups). 300 ms fits, 250 ms more does not: the batch
    //  goes on past it to 60 and 40 ms (400 in all), and leaves 120 and 30.
    double queue[6] = { 300, 250, 120, 60, 40, 30 };
    uint32_t units[6] = { 0, 1, 2, 3, 4, 5 };
    sched_node_t nodes[2] = { { 0, 1, true, 100, false, 0, false }, { 0, 1, true, 100, false, 0, false } };
    assert_int_equal (sched_batch_plan (queue, NULL, 6, 800, nodes, 2, 0, &policy), 1);
    assert_int_equal (sched_batch_plan (queue, units, 6, 800, nodes, 2, 0, &policy), 3);
    //  The batch is the front of the queue; the units passed over keep
    //  their order behind it, each time beside its unit.
    const uint32_t order[6] = { 0, 3, 4, 1, 2, 5 };
    const double ms[6] = { 300, 60, 40, 250, 120, 30 };
    for (int i = 0; i < 6; i++) {
        assert_int_equal (units[i], order[i]);
        assert_true (queue[i] == ms[i]);
    }
    //  No more than max_batch_units: 300, then only the 60.
    double capped[6] = { 300, 250, 120, 60, 40, 30 };
    uint32_t capped_units[6] = { 0, 1, 2, 3, 4, 5 };
    policy.max_batch_units = 2;
    assert_int_equal (sched_batch_plan (capped, capped_units, 6, 800, nodes, 2, 0, &policy), 2);
    const uint32_t capped_order[6] = { 0, 3, 1, 2, 4, 5 };
    for (int i = 0; i < 6; i++)
        assert_int_equal (capped_units[i], capped_order[i]);
}

static void
test_plan_alone_takes_all_left (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 85;
    //  The slow node 0 is the only one free; the others are busy long
    //  after it could do all that is left: its share is all of it. The
    //  build's running sum of what is left (added to and taken from unit
    //  by unit) may differ from the queue's own sum in its last bits: the
    //  last unit must not stay behind for a batch of its own.
    double queue[123];
    double sum = 0;
    for (int i = 0; i < 123; i++) {
        queue[i] = i < 122 ? 3.1 - 0.017 * i : 1.0;
        sum += queue[i];
    }
    sched_node_t nodes[8];
    for (int n = 0; n < 8; n++)
        nodes[n] = (sched_node_t) { 10000, 1, true, 100, false, 0, false };
    nodes[0] = (sched_node_t) { 0, 1.49, true, 100, false, 0, false };
    assert_int_equal (sched_batch_plan (queue, NULL, 123, sum, nodes, 8, 0, &policy), 123);
    assert_int_equal (sched_batch_plan (queue, NULL, 123, sum * (1 - 1e-12), nodes, 8, 0,
                                        &policy), 123);
    //  A running sum over 100,000 units drifts by about 1e-6 ms, far more
    //  than 1e-9 of what is left at the end: a ten-thousandth of a ms off.
    assert_int_equal (sched_batch_plan (queue, NULL, 123, sum - 1e-4, nodes, 8, 0, &policy),
                      123);
    //  A real unit beyond the share still stays: 1 ms less is not rounding.
    assert_int_equal (sched_batch_plan (queue, NULL, 123, sum - 1.0, nodes, 8, 0, &policy),
                      122);
}

static void
test_plan_long_unit_to_a_faster_node (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 100;
    //  Node 0 is 1.5 x slower than node 1, which has yet to begin: the
    //  plan finishes at (6,000 + 100 + 150 / 1.5) / (1 + 1 / 1.5) = 3,720,
    //  node 0's share is 3,720 / 1.5 - 100 = 2,380 ms. The 3,000 ms unit
    //  would take it to 4,650, but node 1 would end it at 3,100: node 0
    //  takes the units behind it that fit (900, 800 and 600).
    double queue[5] = { 3000, 900, 800, 700, 600 };
    uint32_t units[5] = { 0, 1, 2, 3, 4 };
    sched_node_t nodes[2] = { { 0, 1.5, true, 100, false, 0, false }, { 0, 1, true, 100, false, 0, false } };
    assert_true (fabs (sched_plan_finish_ms (nodes, 2, 6000, 100) - 3720) < 1e-9);
    assert_int_equal (sched_batch_plan (queue, units, 5, 6000, nodes, 2, 0, &policy), 3);
    const uint32_t order[5] = { 1, 2, 4, 0, 3 };
    for (int i = 0; i < 5; i++)
        assert_int_equal (units[i], order[i]);
    //  A unit no node can end by the finish goes to one that would end it
    //  sooner by more than its noise (SCHED_PLAN_NOISE). Start-ups of 900
    //  ms, node 1 busy for 300: the finish is (4,800 + 1,200 + 1,350 /
    //  1.5) / (1 + 1 / 1.5) = 4,140, node 0's share 1,860. The 3,000 ms
    //  unit would end at 5,850 on node 0, at 4,200 on node 1: node 0 takes
    //  the four behind it.
    policy.startup_ms = 900;
    double rest[5] = { 3000, 600, 500, 400, 300 };
    for (uint32_t i = 0; i < 5; i++)
        units[i] = i;
    nodes[1].busy_ms = 300;
    assert_int_equal (sched_batch_plan (rest, units, 5, 4800, nodes, 2, 0, &policy), 4);
    assert_int_equal (units[4], 0);
    //  Node 1 nearly as slow (1.4, free): it would end the unit at 5,460,
    //  within a fifth of node 0's 5,850. Node 0 takes it, alone.
    const double again[5] = { 3000, 600, 500, 400, 300 };
    memcpy (rest, again, sizeof rest);
    for (uint32_t i = 0; i < 5; i++)
        units[i] = i;
    nodes[1] = (sched_node_t) { 0, 1.4, true, 100, false, 0, false };
    assert_int_equal (sched_batch_plan (rest, units, 5, 4800, nodes, 2, 0, &policy), 1);
    assert_int_equal (units[0], 0);
    //  Nor do nodes whose paces are the same guess pass a unit on.
    nodes[0] = (sched_node_t) { 0, 1, false, 0, false, 0, false };
    nodes[1] = (sched_node_t) { 0, 1, false, 0, false, 0, false };
    assert_int_equal (sched_batch_plan (rest, units, 5, 4800, nodes, 2, 0, &policy), 1);
    assert_int_equal (units[0], 0);
}

static void
test_plan_long_unit_stays_without_a_faster_node (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 100;
    //  Node 0 asks; nodes 2 and 3 are as slow as it (1.5), node 1 would
    //  be faster (1). Node 0 would end the 3,000 ms unit at 4,650; any of
    //  these finishes is earlier, so the rule asks whether node 1 ends it
    //  by 3,720 (a fifth sooner). It does not pass the unit on when node 1
    //  is gone (absent: finish 6,300 / 2 = 3,150), never heard from though
    //  the build's first batches are in (late: it still counts for the
    //  finish, (6,000 + 400) / 3 = 2,133), or busy for 2,000 ms (it would
    //  end the unit at 5,100; finish 2,800). Node 0 takes the unit, and
    //  the queue keeps its order.
    sched_node_t nodes[4];
    for (int n = 0; n < 4; n++)
        nodes[n] = (sched_node_t) { 0, 1.5, true, 100, false, 0, false };
    const double finish[3] = { 3150, 6400.0 / 3, 2800 };
    for (int c = 0; c < 3; c++) {
        double queue[5] = { 3000, 900, 800, 700, 600 };
        uint32_t units[5] = { 0, 1, 2, 3, 4 };
        nodes[1] = (sched_node_t) { c == 2 ? 2000 : 0, 1, true, 100, c == 0, 0, c == 1 };
        assert_true (fabs (sched_plan_finish_ms (nodes, 4, 6000, 100) - finish[c]) < 1e-9);
        assert_int_equal (sched_batch_plan (queue, units, 5, 6000, nodes, 4, 0, &policy), 1);
        for (uint32_t i = 0; i < 5; i++)
            assert_int_equal (units[i], i);
    }
    //  Node 1 free and faster: the rule passes the unit on, but nothing
    //  behind it fits node 0's share ((5,950 + 400) / 3 = 2,117: 1,311):
    //  node 0 takes the long unit after all.
    double two[2] = { 3000, 2950 };
    uint32_t units[2] = { 0, 1 };
    nodes[1] = (sched_node_t) { 0, 1, true, 100, false, 0, false };
    assert_int_equal (sched_batch_plan (two, units, 2, 5950, nodes, 4, 0, &policy), 1);
    assert_int_equal (units[0], 0);
    assert_true (two[0] == 3000);
}

static void
test_plan_fill_looks_so_far (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 50;
    sched_node_t nodes[2] = { { 0, 1, true, 100, false, 0, false }, { 0, 1, true, 100, false, 0, false } };
    //  100 ms, then units too long for the 400 ms share, then a 10 ms one:
    //  found behind SCHED_FILL_LOOKAHEAD - 1 long ones, not behind as many.
    enum { LONGEST = SCHED_FILL_LOOKAHEAD + 2 };
    double queue[LONGEST];
    uint32_t units[LONGEST];
    for (size_t skipped = SCHED_FILL_LOOKAHEAD - 1; skipped <= SCHED_FILL_LOOKAHEAD; skipped++) {
        size_t count = skipped + 2;
        for (size_t i = 0; i < count; i++) {
            queue[i] = i == 0 ? 100 : i == count - 1 ? 10 : 1000;
            units[i] = (uint32_t) i;
        }
        size_t taken = sched_batch_plan (queue, units, count, 800, nodes, 2, 0, &policy);
        assert_int_equal (taken, skipped < SCHED_FILL_LOOKAHEAD ? 2 : 1);
        assert_int_equal (units[taken - 1], taken == 2 ? count - 1 : 0);
        //  Those passed over follow the batch in their order.
        for (size_t i = taken; i < count; i++) {
            assert_int_equal (units[i], taken == 2 ? i - 1 : i);
            assert_true (queue[i] == (units[i] == count - 1 ? 10 : 1000));
        }
    }
}

//  --------------------------------------------------------------------------
//  sched_batch_take

static void
test_take_remaining_zero (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    double queue[] = { 5 };
    assert_int_equal (sched_batch_take (queue, 0, 0, 4, &policy), 0);
    assert_int_equal (sched_batch_take (NULL, 0, 0, 4, &policy), 0);
}

static void
test_take_long_unit_alone (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    //  Remaining 104000 ms on 2 nodes, factor 2: target 26000. The head
    //  unit alone exceeds it: it goes alone, never zero units.
    double queue[] = { 100000, 1000, 1000, 1000, 1000 };
    assert_int_equal (sched_batch_take (queue, 5, 104000, 2, &policy), 1);
}

static void
test_take_within_target (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    //  Remaining 80000 on 2 nodes: target 20000. 8000 + 6000 + 5000 = 19000
    //  fits; adding 4000 would not; the 1000 after it is not looked at
    //  (units go in queue order, no skipping).
    double queue[] = { 8000, 6000, 5000, 4000, 1000, 56000 };
    assert_int_equal (sched_batch_take (queue, 6, 80000, 2, &policy), 3);
    //  Exactly equal to the target is within it.
    double exact[] = { 10000, 10000, 1 };
    assert_int_equal (sched_batch_take (exact, 3, 80000, 2, &policy), 2);
}

static void
test_take_max_units_cap (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.max_batch_units = 3;
    double queue[20];
    for (size_t i = 0; i < 20; i++)
        queue[i] = 10;
    //  The target (2 x startup = 2000) would fit all 20.
    assert_int_equal (sched_batch_take (queue, 20, 200, 4, &policy), 3);
    //  A cap of 0 from a bad configuration still hands out one unit.
    policy.max_batch_units = 0;
    assert_int_equal (sched_batch_take (queue, 20, 200, 4, &policy), 1);
}

static void
test_take_min_target_startup (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 500;
    //  Remaining 1000 on 8 nodes would give a target of 62.5 ms; the floor
    //  2 x startup = 1000 ms takes the whole queue.
    double queue[] = { 300, 300, 200, 100, 100 };
    assert_int_equal (sched_batch_take (queue, 5, 1000, 8, &policy), 5);
    //  With a bigger startup cost the floor rises with it.
    double more[] = { 600, 600, 600, 600 };
    assert_int_equal (sched_batch_take (more, 4, 2400, 8, &policy), 1);
    policy.startup_ms = 600;
    assert_int_equal (sched_batch_take (more, 4, 2400, 8, &policy), 2);
}

static void
test_take_min_batch_ms (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    policy.min_batch_ms = 250;
    double queue[] = { 100, 100, 100, 100 };
    //  remaining / (2 * 4) = 50 < 250.
    assert_int_equal (sched_batch_take (queue, 4, 400, 4, &policy), 2);
    policy.min_batch_ms = 0;
    //  Now the target is 50: only the mandatory single unit.
    assert_int_equal (sched_batch_take (queue, 4, 400, 4, &policy), 1);
}

static void
test_take_never_more_than_remaining (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    //  queue_ms points into a longer array; only `remaining` may be taken.
    double queue[] = { 1, 1, 1, 1, 1, 1 };
    assert_int_equal (sched_batch_take (queue, 4, 4, 1, &policy), 4);
    assert_int_equal (sched_batch_take (queue, 1, 1, 1, &policy), 1);
}

static void
test_take_bad_config (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    double queue[10];
    for (size_t i = 0; i < 10; i++)
        queue[i] = 100;
    //  nodes 0 is treated as 1: target 1000 / 2 = 500 -> 5 units.
    assert_int_equal (sched_batch_take (queue, 10, 1000, 0, &policy), 5);
    //  factor 0 and negative are treated as 1: target 1000 -> 10 units.
    policy.factor = 0;
    assert_int_equal (sched_batch_take (queue, 10, 1000, 1, &policy), 10);
    policy.factor = -3;
    assert_int_equal (sched_batch_take (queue, 10, 1000, 1, &policy), 10);
    policy.factor = NAN;
    assert_int_equal (sched_batch_take (queue, 10, 1000, 1, &policy), 10);
}

//  Drain a queue the way the daemon does: longest first, one batch at a
//  time, remaining_ms kept up to date. Records each batch's unit count,
//  predicted sum and target.
#define DRAIN_UNITS 500

typedef struct {
    size_t units;           //  units in the batch
    double sum;             //  their predicted time
    double target;          //  the target the batch was cut against
} s_batch_t;

static size_t
s_drain (const double *queue, size_t count, uint32_t nodes,
         const sched_policy_t *policy, s_batch_t *batches, size_t max_batches)
{
    double remaining_ms = s_sum (queue, count);
    size_t pos = 0;
    size_t n = 0;
    while (pos < count) {
        size_t take = sched_batch_take (queue + pos, count - pos, remaining_ms,
                                        nodes, policy);
        assert_true (take >= 1);
        assert_true (take <= count - pos);
        assert_true (take <= policy->max_batch_units);
        assert_true (n < max_batches);
        batches[n].units = take;
        batches[n].sum = s_sum (queue + pos, take);
        batches[n].target = s_target (remaining_ms, nodes, policy);
        remaining_ms -= batches[n].sum;
        pos += take;
        n++;
    }
    return n;
}

static void
test_take_drain_shrinks (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    const uint32_t nodes = 4;
    double queue[DRAIN_UNITS];
    s_longtail_suite (7, queue, DRAIN_UNITS);
    qsort (queue, DRAIN_UNITS, sizeof (double), s_compare_desc);
    double total = s_sum (queue, DRAIN_UNITS);

    s_batch_t batches[DRAIN_UNITS];
    size_t count = s_drain (queue, DRAIN_UNITS, nodes, &policy, batches, DRAIN_UNITS);
    printf ("drain: %d units, total %.0f ms, %zu batches; first %zu units "
            "%.0f ms, last %zu units %.0f ms\n", DRAIN_UNITS, total, count,
            batches[0].units, batches[0].sum,
            batches[count - 1].units, batches[count - 1].sum);

    //  The first batch is large: close to total / (factor x nodes), an
    //  eighth of the suite (it can fall short by less than one unit, the
    //  next one that did not fit), and no later batch holds more. It has
    //  few units only because the longest ones go first.
    assert_true (batches[0].sum > total / (policy.factor * nodes) - queue[0]);
    assert_true (batches[0].sum >= total / 10);
    for (size_t i = 1; i < count; i++)
        assert_true (batches[i].sum <= batches[0].sum);

    for (size_t i = 0; i < count; i++) {
        //  Every batch stays within its target, unless it is a single unit
        //  that alone is over it.
        if (batches[i].units > 1)
            assert_true (batches[i].sum <= batches[i].target);
        //  Targets never grow as the queue drains.
        if (i > 0)
            assert_true (batches[i].target <= batches[i - 1].target);
    }
    //  Sums shrink, but not strictly batch by batch: a batch can fall short
    //  of its target by up to one unit (the next one did not fit), and the
    //  following batch may then be a little larger. What does hold is that
    //  a multi-unit batch never exceeds the previous batch's target; local
    //  rises are counted and must stay rare (3 in 50 on this suite, all in
    //  the tail where every target is the 2 x startup floor).
    size_t rises = 0;
    for (size_t i = 1; i < count; i++) {
        if (batches[i].sum > batches[i - 1].sum && batches[i].units > 1)
            rises++;
        //  A multi-unit batch never exceeds the previous batch's target,
        //  and so never a batch cut earlier.
        if (batches[i].units > 1)
            assert_true (batches[i].sum <= batches[i - 1].target);
    }
    printf ("drain: %zu local rises in %zu batches\n", rises, count);
    assert_true (rises * 4 < count);

    //  The tail: the final batches are small, within the 2 x startup floor,
    //  so no node is left running a long batch while the others idle.
    for (size_t i = count - 4; i < count; i++)
        assert_true (batches[i].sum <= 2 * policy.startup_ms);
    assert_true (batches[count - 1].sum < batches[0].sum / 20);
}

//  --------------------------------------------------------------------------
//  sched_lower_bound

static void
test_lower_bound (void **state)
{
    assert_true (sched_lower_bound (NULL, 0, 4) == 0);
    double even[] = { 10, 10, 10, 10 };
    assert_true (sched_lower_bound (even, 4, 2) == 20);
    assert_true (sched_lower_bound (even, 4, 4) == 10);
    //  More nodes than units: the longest unit bounds it.
    assert_true (sched_lower_bound (even, 4, 100) == 10);
    double skewed[] = { 100, 1, 1, 1 };
    assert_true (sched_lower_bound (skewed, 4, 2) == 100);
    assert_true (sched_lower_bound (skewed, 4, 1) == 103);
    //  nodes 0 from a bad configuration counts as 1.
    assert_true (sched_lower_bound (skewed, 4, 0) == 103);
    double one[] = { 42 };
    assert_true (sched_lower_bound (one, 1, 8) == 42);
}

//  --------------------------------------------------------------------------
//  Property: queue mode with exact predictions finishes close to the bound.
//
//  Event simulation: every node is free at 0; the earliest free node (ties
//  by index) takes the next batch and is busy for startup + the batch's
//  unit time. The bound is the one DESIGN.md gives for runs that pay a
//  start-up per batch: the nodes' combined capacity after one start-up each
//  must cover the work, and the longest unit must fit after one start-up:
//      bound = startup + max (total / nodes, longest)
//  It is a true lower bound (no schedule can beat it), so the ratio below
//  is the whole cost of batching: extra start-ups plus imbalance at the end.
//
//  Measured with this file's suites (log-normal, median 3 s, sigma 1.2,
//  500 units, 4 nodes, default policy: startup 1 s, factor 2): ratios
//  1.0141 to 1.0186 over seeds 1..20, with 50 to 52 batches. Nearly all of
//  the excess is the ~12 extra start-ups per node; the nodes end within a
//  batch of the floor size of each other. Deterministic (fixed seeds), so
//  MAKESPAN_BOUND only leaves room for that measured spread. Mutations
//  checked against it while writing this test, all of which fail it: no
//  2 x startup floor (worst 1.026), a target that ignores what remains
//  (1.087), factor 4 (1.034), fixed batches of 25 units (1.12 to 1.48).
//  For the record, factor 1 gives 1.007 to 1.009 here: with exact
//  predictions fewer start-ups win; factor 2 buys slack for wrong ones.

#define MAKESPAN_BOUND 1.022
#define SIM_NODES 4

static double
s_simulate (const double *queue, size_t count, uint32_t nodes,
            const sched_policy_t *policy, size_t *batches_out)
{
    double free_at[SIM_NODES] = { 0 };
    assert_true (nodes <= SIM_NODES);
    double remaining_ms = s_sum (queue, count);
    size_t pos = 0;
    size_t batches = 0;
    while (pos < count) {
        uint32_t node = 0;
        for (uint32_t n = 1; n < nodes; n++) {
            if (free_at[n] < free_at[node])
                node = n;
        }
        size_t take = sched_batch_take (queue + pos, count - pos, remaining_ms,
                                        nodes, policy);
        double sum = s_sum (queue + pos, take);
        free_at[node] += policy->startup_ms + sum;
        remaining_ms -= sum;
        pos += take;
        batches++;
    }
    double makespan = 0;
    for (uint32_t n = 0; n < nodes; n++) {
        if (free_at[n] > makespan)
            makespan = free_at[n];
    }
    *batches_out = batches;
    return makespan;
}

static void
test_queue_makespan_property (void **state)
{
    sched_policy_t policy;
    sched_policy_default (&policy);
    double worst = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        double raw[DRAIN_UNITS];
        s_longtail_suite (seed, raw, DRAIN_UNITS);
        //  Order through sched_order, as the daemon does.
        char storage[DRAIN_UNITS][16];
        const char *names[DRAIN_UNITS];
        for (size_t i = 0; i < DRAIN_UNITS; i++) {
            snprintf (storage[i], sizeof (storage[i]), "u%zu", i);
            names[i] = storage[i];
        }
        uint32_t order[DRAIN_UNITS];
        sched_order (names, raw, DRAIN_UNITS, order);
        double queue[DRAIN_UNITS];
        for (size_t i = 0; i < DRAIN_UNITS; i++)
            queue[i] = raw[order[i]];

        size_t batches = 0;
        double makespan = s_simulate (queue, DRAIN_UNITS, SIM_NODES, &policy, &batches);
        double bound = policy.startup_ms
                     + sched_lower_bound (queue, DRAIN_UNITS, SIM_NODES);
        double ratio = makespan / bound;
        printf ("queue sim: seed %2d makespan %.0f ms bound %.0f ms ratio %.4f "
                "batches %zu\n", (int) seed, makespan, bound, ratio, batches);
        assert_true (makespan >= bound);
        assert_true (ratio <= MAKESPAN_BOUND);
        if (ratio > worst)
            worst = ratio;
    }
    printf ("queue sim: worst ratio %.4f (bound %.3f)\n", worst, MAKESPAN_BOUND);
}

//  --------------------------------------------------------------------------
//  sched_split_lpt: regular mode's static split

//  LPT restated from scheduler.h, the plain way (a scan, no heap): each
//  unit in turn to the least-loaded node, the lowest-numbered among equals;
//  a time that is not > 0 adds nothing. The function must agree with it
//  exactly on every input.
static void
s_lpt_reference (const double *predicted, size_t count, uint32_t nodes, uint32_t *node_out)
{
    double *load = calloc (nodes, sizeof (double));
    assert_non_null (load);
    for (size_t i = 0; i < count; i++) {
        uint32_t best = 0;
        for (uint32_t n = 1; n < nodes; n++)
            if (load[n] < load[best])
                best = n;
        node_out[i] = best;
        load[best] += predicted[i] > 0 ? predicted[i] : 0.0;
    }
    free (load);
}

//  Each node's load under a split (summed in unit order, as the split
//  does), into load[0..nodes); returns the makespan. Every node must be
//  in range.
static double
s_loads (const double *predicted, size_t count, uint32_t nodes, const uint32_t *node_of,
         double *load)
{
    for (uint32_t n = 0; n < nodes; n++)
        load[n] = 0;
    for (size_t i = 0; i < count; i++) {
        assert_true (node_of[i] < nodes);
        load[node_of[i]] += predicted[i];
    }
    double makespan = 0;
    for (uint32_t n = 0; n < nodes; n++)
        if (load[n] > makespan)
            makespan = load[n];
    return makespan;
}

//  Branch and bound over every assignment: the best makespan. Nodes with
//  equal loads are interchangeable, so only the first of them is tried.
static void
s_opt_dfs (const double *times, size_t count, size_t i, double *load, uint32_t nodes,
           double current, double *best)
{
    if (current >= *best)
        return;
    if (i == count) {
        *best = current;
        return;
    }
    for (uint32_t n = 0; n < nodes; n++) {
        bool repeat = false;
        for (uint32_t k = 0; k < n && !repeat; k++)
            repeat = load[k] == load[n];
        if (repeat)
            continue;
        double before = load[n];
        load[n] = before + times[i];
        s_opt_dfs (times, count, i + 1, load, nodes, load[n] > current ? load[n] : current,
                   best);
        load[n] = before;
    }
}

static double
s_optimum (const double *times, size_t count, uint32_t nodes)
{
    double load[8] = { 0 };
    assert_true (nodes <= 8);
    double best = INFINITY;
    s_opt_dfs (times, count, 0, load, nodes, 0, &best);
    return best;
}

//  Graham's bound for LPT on m identical nodes.
static double
s_graham (uint32_t nodes)
{
    return 4.0 / 3.0 - 1.0 / (3.0 * nodes);
}

//  A small split worked out by hand: 3 nodes, times in LPT order.
//    7 -> n0 (all 0: lowest)          loads 7 0 0
//    5 -> n1 (n1, n2 at 0: lowest)    loads 7 5 0
//    4 -> n2                          loads 7 5 4
//    3 -> n2 (4)                      loads 7 5 7
//    3 -> n1 (5)                      loads 7 8 7
//    2 -> n0 (7 = n2's 7: lowest)     loads 9 8 7
//    1 -> n2 (7)                      loads 9 8 8
//    1 -> n1 (8 = n2's 8: lowest)     loads 9 9 8
//  The makespan 9 is optimal: 26 / 3 > 8.
static void
test_lpt_by_hand (void **state)
{
    double times[] = { 7, 5, 4, 3, 3, 2, 1, 1 };
    uint32_t out[8];
    sched_split_lpt (times, 8, 3, out);
    uint32_t expected[] = { 0, 1, 2, 2, 1, 0, 2, 1 };
    assert_memory_equal (out, expected, sizeof expected);
    double load[3];
    assert_true (s_loads (times, 8, 3, out, load) == 9);
    assert_true (load[0] == 9 && load[1] == 9 && load[2] == 8);
    assert_true (s_optimum (times, 8, 3) == 9);
}

//  Ties go to the lowest-numbered node: equal times deal out round-robin,
//  on a few nodes and on many (where a heap that broke ties by position
//  would scramble the order).
static void
test_lpt_ties_lowest_node (void **state)
{
    double same[12] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
    uint32_t out[12];
    sched_split_lpt (same, 12, 5, out);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal (out[i], i % 5);

    //  After a long first unit, the rest fill nodes 1.. in turn before
    //  node 0 gets anything again.
    double skew[] = { 10, 2, 2, 2, 2, 2, 2 };
    sched_split_lpt (skew, 7, 3, out);
    uint32_t expected[] = { 0, 1, 2, 1, 2, 1, 2 };
    //  n1, n2 reach 6 each; the last 2 goes to n1 (6 = 6 < 10).
    assert_memory_equal (out, expected, sizeof expected);

    enum { NODES = 1024, UNITS = 3 * NODES + 7 };
    double *times = malloc (UNITS * sizeof (double));
    uint32_t *many = malloc (UNITS * sizeof (uint32_t));
    assert_non_null (times);
    assert_non_null (many);
    for (size_t i = 0; i < UNITS; i++)
        times[i] = 250;
    sched_split_lpt (times, UNITS, NODES, many);
    for (size_t i = 0; i < UNITS; i++)
        assert_int_equal (many[i], i % NODES);
    free (times);
    free (many);
}

//  The same input twice gives the same split, whatever the output buffer
//  held before; the input is not touched.
static void
test_lpt_deterministic (void **state)
{
    enum { UNITS = 500 };
    double times[UNITS], copy[UNITS];
    s_longtail_suite (7, times, UNITS);
    qsort (times, UNITS, sizeof (double), s_compare_desc);
    //  Rounded to 100 ms: many equal times, so ties decide much of it.
    for (size_t i = 0; i < UNITS; i++)
        times[i] = 100.0 * floor (times[i] / 100.0);
    memcpy (copy, times, sizeof times);
    uint32_t first[UNITS], again[UNITS];
    for (uint32_t nodes = 1; nodes <= 17; nodes += 4) {
        memset (first, 0x00, sizeof first);
        memset (again, 0xff, sizeof again);
        sched_split_lpt (times, UNITS, nodes, first);
        sched_split_lpt (times, UNITS, nodes, again);
        assert_memory_equal (first, again, sizeof first);
        assert_memory_equal (times, copy, sizeof times);
        for (size_t i = 0; i < UNITS; i++)
            assert_true (first[i] < nodes);
    }
}

//  Fewer units than nodes: each unit alone on its own node (unit i on node
//  i, by the tie rule), the other nodes empty.
static void
test_lpt_more_nodes_than_units (void **state)
{
    double times[] = { 9, 4, 4, 1 };
    uint32_t out[4];
    for (uint32_t nodes = 4; nodes <= 40; nodes++) {
        memset (out, 0xff, sizeof out);
        sched_split_lpt (times, 4, nodes, out);
        for (uint32_t i = 0; i < 4; i++)
            assert_int_equal (out[i], i);
        double load[40];
        assert_true (s_loads (times, 4, nodes, out, load) == 9);
        for (uint32_t n = 4; n < nodes; n++)
            assert_true (load[n] == 0);
    }
    //  Units of 0 ms add no load, so every node stays at 0 and node 0, the
    //  lowest, takes each of them (the daemon never predicts below 1 ms:
    //  sched_fill_unseen).
    double zeros[] = { 0, 0, 0 };
    sched_split_lpt (zeros, 3, 8, out);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal (out[i], 0);
}

//  Edge inputs: no units writes nothing; 0 nodes counts as 1; a negative
//  or NaN time adds nothing to its node's load.
static void
test_lpt_edges (void **state)
{
    sched_split_lpt (NULL, 0, 4, NULL);
    uint32_t out[4] = { 7, 7, 7, 7 };
    double times[] = { 5, 3, 2, 1 };
    sched_split_lpt (times, 4, 0, out);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (out[i], 0);
    sched_split_lpt (times, 4, 1, out);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (out[i], 0);
    //  Node 1 stays at 0 after the bad time, so it takes two 4s (0, 4 < 5)
    //  and node 0 the third (5 < 8). Counted as -10 or NaN, node 1 would
    //  look lightest and take all three.
    uint32_t five[5];
    uint32_t expected[] = { 0, 1, 1, 1, 0 };
    double negative[] = { 5, -10, 4, 4, 4 };
    sched_split_lpt (negative, 5, 2, five);
    assert_memory_equal (five, expected, sizeof expected);
    double nan[] = { 5, NAN, 4, 4, 4 };
    sched_split_lpt (nan, 5, 2, five);
    assert_memory_equal (five, expected, sizeof expected);
}

//  The tight instances of Graham's bound: LPT reaches it exactly, so the
//  bound tested below has no slack to hide a worse split in.
static void
test_lpt_graham_tight (void **state)
{
    //  m = 2: LPT 7 (3+2+2 | 3+2), best 6 (3+3 | 2+2+2): 7/6 = 4/3 - 1/6.
    double two[] = { 3, 3, 2, 2, 2 };
    uint32_t out[7];
    double load[3];
    sched_split_lpt (two, 5, 2, out);
    assert_true (s_loads (two, 5, 2, out, load) == 7);
    assert_true (s_optimum (two, 5, 2) == 6);
    assert_true (fabs (7.0 / 6.0 - s_graham (2)) < 1e-12);
    //  m = 3: LPT 11, best 9 (5+4 | 5+4 | 3+3+3): 11/9 = 4/3 - 1/9.
    double three[] = { 5, 5, 4, 4, 3, 3, 3 };
    sched_split_lpt (three, 7, 3, out);
    assert_true (s_loads (three, 7, 3, out, load) == 11);
    assert_true (s_optimum (three, 7, 3) == 9);
    assert_true (fabs (11.0 / 9.0 - s_graham (3)) < 1e-12);
}

//  On many seeded instances small enough to solve by brute force (up to
//  10 units, 2 and 3 nodes), the split is exactly LPT as scheduler.h
//  states it, and its makespan is within Graham's bound of the optimum.
//  (4/3 of max (sum / m, longest) is not a bound LPT keeps, so the
//  optimum itself is the reference.) Times are long-tailed, or small
//  integers so that ties are common.
static void
test_lpt_within_graham_of_optimum (void **state)
{
    size_t instances = 0, optimal = 0;
    double worst = 1;
    for (uint32_t nodes = 2; nodes <= 3; nodes++) {
        for (size_t count = 1; count <= 10; count++) {
            for (uint64_t seed = 1; seed <= 40; seed++) {
                double times[10];
                test_rng_t rng = { seed * 1000 + count * 10 + nodes };
                if (seed % 2)
                    s_longtail_suite (seed * 7919 + count, times, count);
                else
                    for (size_t i = 0; i < count; i++)
                        times[i] = (double) (1 + test_rng_next (&rng) % 12);
                qsort (times, count, sizeof (double), s_compare_desc);
                uint32_t out[10], reference[10];
                sched_split_lpt (times, count, nodes, out);
                s_lpt_reference (times, count, nodes, reference);
                assert_memory_equal (out, reference, count * sizeof (uint32_t));
                double load[3];
                double makespan = s_loads (times, count, nodes, out, load);
                double best = s_optimum (times, count, nodes);
                //  The brute force really is a lower bound of every split.
                assert_true (best <= makespan * (1 + 1e-12));
                assert_true (best >= sched_lower_bound (times, count, nodes) * (1 - 1e-12));
                double ratio = makespan / best;
                if (ratio > s_graham (nodes) * (1 + 1e-9))
                    fail_msg ("nodes %u units %zu seed %llu: LPT %.6f optimum %.6f ratio %.6f"
                              " > %.6f", nodes, count, (unsigned long long) seed, makespan,
                              best, ratio, s_graham (nodes));
                instances++;
                optimal += ratio <= 1 + 1e-12;
                if (ratio > worst)
                    worst = ratio;
            }
        }
    }
    printf ("lpt: %zu instances, %zu optimal, worst ratio to optimum %.4f\n", instances,
            optimal, worst);
    //  Not vacuous: some instances are not solved optimally by LPT.
    assert_true (optimal < instances);
}

//  100,000 units on 1,024 nodes: it runs (a heap, not a scan per unit),
//  every unit lands on a node, and the loads are balanced within the
//  longest unit: LPT never puts a node above sum / m + longest, and never
//  leaves one below sum / m - longest.
static void
test_lpt_large (void **state)
{
    enum { UNITS = 100000, NODES = 1024 };
    double *times = malloc (UNITS * sizeof (double));
    uint32_t *out = malloc (UNITS * sizeof (uint32_t));
    double *load = malloc (NODES * sizeof (double));
    assert_non_null (times);
    assert_non_null (out);
    assert_non_null (load);
    s_longtail_suite (1024, times, UNITS);
    qsort (times, UNITS, sizeof (double), s_compare_desc);
    sched_split_lpt (times, UNITS, NODES, out);
    double makespan = s_loads (times, UNITS, NODES, out, load);
    double sum = s_sum (times, UNITS), mean = sum / NODES, longest = times[0];
    double total = 0, least = INFINITY;
    for (uint32_t n = 0; n < NODES; n++) {
        total += load[n];
        if (load[n] < least)
            least = load[n];
    }
    assert_true (fabs (total - sum) <= 1e-9 * sum);
    assert_true (makespan <= mean + longest);
    assert_true (least >= mean - longest);
    assert_true (makespan - least <= longest);
    assert_true (makespan >= sched_lower_bound (times, UNITS, NODES) * (1 - 1e-12));
    printf ("lpt large: mean %.0f ms longest %.0f ms makespan %.0f ms least %.0f ms\n",
            mean, longest, makespan, least);
    free (times);
    free (out);
    free (load);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_policy_default),
        cmocka_unit_test (test_order_longest_first),
        cmocka_unit_test (test_order_ties_by_name),
        cmocka_unit_test (test_order_duplicates_by_index),
        cmocka_unit_test (test_order_empty),
        cmocka_unit_test (test_order_deterministic),
        cmocka_unit_test (test_order_is_permutation),
        cmocka_unit_test (test_fill_median_odd),
        cmocka_unit_test (test_fill_median_even),
        cmocka_unit_test (test_fill_none_known),
        cmocka_unit_test (test_fill_raises_small),
        cmocka_unit_test (test_fill_bad_default),
        cmocka_unit_test (test_fill_nan_is_unseen),
        cmocka_unit_test (test_fill_all_known_untouched),
        cmocka_unit_test (test_estimate_folder_median_odd),
        cmocka_unit_test (test_estimate_folder_median_even),
        cmocka_unit_test (test_estimate_folders_apart),
        cmocka_unit_test (test_estimate_top_folder),
        cmocka_unit_test (test_estimate_suite_median),
        cmocka_unit_test (test_estimate_list_median),
        cmocka_unit_test (test_estimate_default),
        cmocka_unit_test (test_estimate_floor),
        cmocka_unit_test (test_estimate_nan_is_unseen),
        cmocka_unit_test (test_take_remaining_zero),
        cmocka_unit_test (test_take_long_unit_alone),
        cmocka_unit_test (test_take_within_target),
        cmocka_unit_test (test_take_max_units_cap),
        cmocka_unit_test (test_take_min_target_startup),
        cmocka_unit_test (test_take_min_batch_ms),
        cmocka_unit_test (test_take_never_more_than_remaining),
        cmocka_unit_test (test_take_bad_config),
        cmocka_unit_test (test_take_drain_shrinks),
        cmocka_unit_test (test_lower_bound),
        cmocka_unit_test (test_queue_makespan_property),
        cmocka_unit_test (test_lpt_by_hand),
        cmocka_unit_test (test_lpt_ties_lowest_node),
        cmocka_unit_test (test_lpt_deterministic),
        cmocka_unit_test (test_lpt_more_nodes_than_units),
        cmocka_unit_test (test_lpt_edges),
        cmocka_unit_test (test_lpt_graham_tight),
        cmocka_unit_test (test_lpt_within_graham_of_optimum),
        cmocka_unit_test (test_lpt_large),
        cmocka_unit_test (test_finish_equal_nodes),
        cmocka_unit_test (test_finish_spreads_work),
        cmocka_unit_test (test_plan_cautious_while_pace_guessed),
        cmocka_unit_test (test_plan_paced_takes_share),
        cmocka_unit_test (test_plan_paced_by_machine_keeps_spread_back),
        cmocka_unit_test (test_plan_no_reserve_below_two_startups),
        cmocka_unit_test (test_plan_leaves_out_a_share_below_half_a_startup),
        cmocka_unit_test (test_plan_fills_past_a_long_unit),
        cmocka_unit_test (test_plan_fill_looks_so_far),
        cmocka_unit_test (test_plan_long_unit_to_a_faster_node),
        cmocka_unit_test (test_plan_long_unit_stays_without_a_faster_node),
        cmocka_unit_test (test_plan_alone_takes_all_left),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
