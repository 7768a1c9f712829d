/*  test_pace: what queue mode's plan knows of a build's nodes
    (coordinator/pace.c): each node's pace from its reported batches, how
    long a node is still busy, and the pace a node gets before it has
    reported anything (its machine's known pace, relative to the build's
    measured nodes, or theirs).                                            */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "pace.h"

enum { NODES = 3, UNITS = 6 };

//  A build of 3 nodes and 6 units of 100 ms predicted each, with room for
//  one batch per node; the tests fill in the batches.
typedef struct {
    build_t build;
    build_node_t nodes[NODES];
    build_batch_t batches[NODES];
    uint32_t units[NODES][2];
    double predicted[UNITS];
} world_t;

static void
s_world (world_t *world)
{
    memset (world, 0, sizeof *world);
    for (size_t i = 0; i < UNITS; i++)
        world->predicted[i] = 100;
    world->build.node_total = NODES;
    world->build.unit_count = UNITS;
    world->build.predicted_ms = world->predicted;
    world->build.nodes = world->nodes;
}

//  Node n holds (or held) one batch of units 2n and 2n + 1 (200 ms
//  predicted), handed out at handed_ms; wall_ms > 0 means it reported.
static void
s_batch (world_t *world, uint32_t n, int64_t handed_ms, uint64_t wall_ms)
{
    build_batch_t *batch = &world->batches[n];
    world->units[n][0] = 2 * n;
    world->units[n][1] = 2 * n + 1;
    batch->unit_idx = world->units[n];
    batch->unit_count = 2;
    batch->predicted_ms = 200;
    batch->handed_mono_ms = handed_ms;
    batch->reported = wall_ms > 0;
    batch->wall_ms = wall_ms;
    batch->state = wall_ms > 0 ? STORE_BATCH_DONE : STORE_BATCH_RUNNING;
    world->nodes[n].batches = batch;
    world->nodes[n].batch_count = 1;
    builds_pace_add (&world->build, &world->nodes[n], batch);
}

static void
test_pace_from_reports (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Start-up 100 ms: node 0 took 450 ms for 200 + 100 predicted (pace
    //  1.5), node 1 took 300 (pace 1); node 2 has not reported.
    s_batch (&world, 0, 0, 450);
    s_batch (&world, 1, 0, 300);
    sched_node_t out[NODES];
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 1000, out);
    assert_true (out[0].paced);
    assert_float_equal (out[0].pace, 1.5, 1e-9);
    assert_true (out[1].paced);
    assert_float_equal (out[1].pace, 1.0, 1e-9);
    //  Two units of equal prediction: the pace rests on two.
    assert_float_equal (out[0].samples, 2.0, 1e-9);
    //  Not measured: the mean of the measured ones.
    assert_false (out[2].paced);
    assert_float_equal (out[2].pace, 1.25, 1e-9);
    for (int n = 0; n < NODES; n++)
        assert_float_equal (out[n].busy_ms, 0, 0);
}

static void
test_unmeasured_nodes_follow_the_measured (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Predictions 20 times too high for everyone (no history): the one
    //  node that reported has pace 0.05; the others are taken to be as
    //  fast, not 20 times slower.
    s_batch (&world, 0, 0, 15);
    sched_node_t out[NODES];
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    assert_float_equal (out[0].pace, 0.05, 1e-9);
    assert_float_equal (out[1].pace, 0.05, 1e-9);
    assert_float_equal (out[2].pace, 0.05, 1e-9);
    //  So the plan gives the asking node its third of the work less a
    //  reserve (one unit), not most of the queue (four units, were the
    //  others taken to run at pace 1).
    double queue[UNITS] = { 100, 100, 100, 100, 100, 100 };
    sched_policy_t policy;
    sched_policy_default (&policy);
    policy.startup_ms = 0;
    assert_int_equal (sched_batch_plan (queue, NULL, UNITS, 600, out, NODES, 0, &policy), 1);
    //  With no node measured, every pace is 1.
    s_world (&world);
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    for (int n = 0; n < NODES; n++) {
        assert_false (out[n].paced);
        assert_float_equal (out[n].pace, 1.0, 0);
    }
}

//  Node n runs on a machine the suite's history knows: its pace relative
//  to its builds' other machines, the units it rests on, its spread.
static void
s_known_machine (world_t *world, uint32_t n, double pace, double samples, double spread)
{
    world->nodes[n].prior_pace = pace;
    world->nodes[n].prior_samples = samples;
    world->nodes[n].prior_spread = spread;
}

static void
test_known_machine_is_paced_from_the_start (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Node 2's machine ran 1.5 times slower than its builds' others,
    //  steadily (spread 0.05, over 25 units); nothing reported yet: paced
    //  at 1.5 times the base of 1, and so is its spread passed on.
    s_known_machine (&world, 2, 1.5, 25, 0.05);
    sched_node_t out[NODES];
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    assert_true (out[2].paced);
    assert_float_equal (out[2].pace, 1.5, 1e-9);
    assert_float_equal (out[2].samples, 25, 1e-9);
    assert_float_equal (out[2].spread, 0.05, 1e-9);
    assert_false (out[0].paced);
    assert_float_equal (out[0].spread, 0, 0);
    //  This build runs 20% slower than predicted: node 0 (no machine
    //  known) measured 1.2, node 1 (a machine of relative pace 0.8)
    //  measured 0.96: each 1.2 times its machine's pace, on 2 units each.
    //  The build's pace moves from 1 by that less the noise of 4 units
    //  (0.2 / 2, in log space): node 2 runs at 1.5 x 1.2 x e^-0.1.
    s_batch (&world, 0, 0, 360);
    world.nodes[1].prior_pace = 0.8;
    s_batch (&world, 1, 0, 288);
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    assert_float_equal (out[0].pace, 1.2, 1e-9);
    assert_float_equal (out[1].pace, 0.96, 1e-9);
    assert_float_equal (out[2].pace, 1.5 * 1.2 * exp (-0.1), 1e-9);
    //  Within the noise (5% over, on 4 units): the machine's pace as is.
    //  Predictions 20 times too high (no history): followed but for the
    //  noise, not held near 1.
    const struct { uint64_t walls[2]; double pace; } builds[] = {
        { { 315, 252 }, 1.5 }, { { 15, 12 }, 1.5 * 0.05 * exp (0.1) }
    };
    for (size_t b = 0; b < 2; b++) {
        s_world (&world);
        world.nodes[1].prior_pace = 0.8;
        world.nodes[2].prior_pace = 1.5;
        world.nodes[2].prior_samples = 25;
        s_batch (&world, 0, 0, builds[b].walls[0]);
        s_batch (&world, 1, 0, builds[b].walls[1]);
        pace_nodes (&world.build, 0, 100, 30000, 1000, out);
        assert_float_equal (out[2].pace, builds[b].pace, 1e-9);
    }
    //  Measured, its own pace wins and the spread is gone.
    s_batch (&world, 2, 0, 600);
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    assert_float_equal (out[2].pace, 2.0, 1e-9);
    assert_float_equal (out[2].spread, 0, 0);
    //  With no machine known, an unmeasured node runs at the measured
    //  nodes' mean, as before.
    s_world (&world);
    s_batch (&world, 0, 0, 360);
    s_batch (&world, 1, 0, 240);
    pace_nodes (&world.build, 0, 100, 30000, 1000, out);
    assert_false (out[2].paced);
    assert_float_equal (out[2].pace, 1.0, 1e-9);
}

static void
test_measured_node_on_a_known_machine_leans_on_it (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Node 0's machine runs at 1, steadily (spread 0.05: as sure as 16
    //  units' noise of 0.2); its first batch, 2 units, ran 10% under
    //  (270 ms for 200 predicted plus a start-up of 100). Two units' noise
    //  is most of that: the plan takes 0.9 weighed 2 against 16.
    s_known_machine (&world, 0, 1.0, 25, 0.05);
    s_batch (&world, 0, 0, 270);
    sched_node_t out[NODES];
    pace_nodes (&world.build, 1, 100, 30000, 1000, out);
    assert_true (out[0].paced);
    assert_float_equal (out[0].pace, pow (0.9, 2.0 / 18.0), 1e-9);
    assert_float_equal (out[0].samples, 18, 1e-9);
    //  What it measured alone is still 0.9 (what the machine learns from).
    sched_node_t alone;
    pace_measure (&world.nodes[0], 100, &alone);
    assert_float_equal (alone.pace, 0.9, 1e-9);
    //  However steady the machine was, it counts as no surer than the 25
    //  units its pace rests on, nor than a spread of 0.02 (100 units).
    world.nodes[0].prior_spread = 0.001;
    pace_nodes (&world.build, 1, 100, 30000, 1000, out);
    assert_float_equal (out[0].pace, pow (0.9, 2.0 / 27.0), 1e-9);
    world.nodes[0].prior_samples = 400;
    pace_nodes (&world.build, 1, 100, 30000, 1000, out);
    assert_float_equal (out[0].pace, pow (0.9, 2.0 / 102.0), 1e-9);
    //  A machine that strays much (spread 0.4: a quarter of a unit's
    //  worth) leaves the measured pace almost as is.
    world.nodes[0].prior_spread = 0.4;
    pace_nodes (&world.build, 1, 100, 30000, 1000, out);
    assert_float_equal (out[0].pace, pow (0.9, 2.0 / 2.25), 1e-9);
}

static void
test_busy_until_the_running_batch_ends (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Node 0 reported at pace 1; node 1 holds a batch handed out at
    //  t = 900 (200 ms predicted plus 100 start-up, at pace 1, the mean of
    //  the measured: it ends at 1200); node 2 asks at 1000.
    s_batch (&world, 0, 0, 300);
    s_batch (&world, 1, 900, 0);
    sched_node_t out[NODES];
    pace_nodes (&world.build, 2, 100, 30000, 1000, out);
    assert_float_equal (out[1].busy_ms, 200, 1e-9);
    assert_float_equal (out[2].busy_ms, 0, 0);
    //  Overdue: free now.
    pace_nodes (&world.build, 2, 100, 30000, 1500, out);
    assert_float_equal (out[1].busy_ms, 0, 0);
    //  The asking node is free even if it holds a batch (it is done with it).
    pace_nodes (&world.build, 1, 100, 30000, 1000, out);
    assert_float_equal (out[1].busy_ms, 0, 0);
}

static void
test_silent_finished_and_late_nodes (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    //  Node 0 was heard at t = 1000, node 1 at t = 0 (silent since), node
    //  2 was told done; lease 30 s.
    build_contact_t contacts[] = { { .attempt_id = 1, .node_index = 0, .mono_ms = 1000 },
                                   { .attempt_id = 2, .node_index = 1, .mono_ms = 0 },
                                   { .attempt_id = 3, .node_index = 2, .mono_ms = INT64_MIN } };
    world.build.contacts = contacts;
    world.build.contact_count = 3;
    sched_node_t out[NODES];
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 20000, out);
    assert_false (out[0].absent);
    assert_false (out[1].absent);
    assert_true (out[2].absent);
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 40000, out);
    assert_true (out[0].absent);
    assert_true (out[1].absent);
    //  The node that asks is there, whatever its contacts say.
    pace_nodes (&world.build, 2, 100, 30000, 40000, out);
    assert_false (out[2].absent);
    //  A node never heard from may be starting: it counts.
    world.build.contact_count = 1;
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 20000, out);
    assert_false (out[1].absent);
    assert_false (out[2].absent);
    assert_false (out[1].late);
    //  Once a batch of the build is in (node 0's), nodes 1 and 2, never
    //  heard from, are late; still not absent. Node 0 is neither.
    s_batch (&world, 0, 0, 300);
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 20000, out);
    assert_false (out[0].late);
    assert_true (out[1].late);
    assert_true (out[2].late);
    assert_false (out[1].absent);
    //  Heard from, node 1 is not late.
    world.build.contact_count = 2;
    pace_nodes (&world.build, UINT32_MAX, 100, 30000, 20000, out);
    assert_false (out[1].late);
    assert_true (out[2].late);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pace_from_reports),
        cmocka_unit_test (test_unmeasured_nodes_follow_the_measured),
        cmocka_unit_test (test_known_machine_is_paced_from_the_start),
        cmocka_unit_test (test_measured_node_on_a_known_machine_leans_on_it),
        cmocka_unit_test (test_busy_until_the_running_batch_ends),
        cmocka_unit_test (test_silent_finished_and_late_nodes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
