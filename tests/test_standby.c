/*  test_standby: which waiting nodes a build lets go (coordinator/standby.c):
    one waiting node for each batch still running elsewhere is kept (one
    more while failures may run again), the rest are told they are done; a
    node whose own failed unit may still run again, or a build with a
    failed unit waiting to run again, keeps its nodes.                     */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "standby.h"
#include "store.h"

enum { NODES = 4, LEASE_MS = 30000, NOW_MS = 100000 };

//  A build of 4 nodes, one batch a node of unit n; the tests set each
//  batch's state and each attempt's contact.
typedef struct {
    build_t build;
    build_node_t nodes[NODES];
    build_batch_t batches[NODES];
    uint32_t units[NODES];
    int8_t last_ok[NODES];
    uint8_t retries[NODES];
    build_contact_t contacts[NODES + 1];
    attempt_t attempts[NODES];
} world_t;

static void
s_world (world_t *world)
{
    memset (world, 0, sizeof *world);
    world->build.node_total = NODES;
    world->build.unit_count = NODES;
    world->build.nodes = world->nodes;
    world->build.last_ok = world->last_ok;
    world->build.retries = world->retries;
    world->build.contacts = world->contacts;
    for (uint32_t n = 0; n < NODES; n++) {
        world->units[n] = n;
        world->last_ok[n] = 1;
        world->batches[n] = (build_batch_t) { .seq = 1, .unit_idx = &world->units[n],
                                              .unit_count = 1, .attempt_id = n + 1,
                                              .state = STORE_BATCH_DONE, .reported = true };
        world->nodes[n].batches = &world->batches[n];
        world->nodes[n].batch_count = 1;
        world->attempts[n] = (attempt_t) { .id = n + 1, .node_index = n };
        world->contacts[n] = (build_contact_t) { .attempt_id = n + 1, .node_index = n,
                                                 .mono_ms = NOW_MS };
    }
    world->build.contact_count = NODES;
}

static void
s_running (world_t *world, uint32_t n)
{
    world->batches[n].state = STORE_BATCH_RUNNING;
    world->batches[n].reported = false;
}

//  No runs again of failed units (the default).
static const builds_config_t s_no_reruns = { .requeue_failed = 0, .requeue_budget = 100 };

static bool
s_release_with (const world_t *world, uint32_t n, const builds_config_t *retry)
{
    return standby_release (&world->build, &world->attempts[n], retry, LEASE_MS, NOW_MS);
}

static bool
s_release (const world_t *world, uint32_t n)
{
    return s_release_with (world, n, &s_no_reruns);
}

static void
test_one_waiting_node_per_running_batch (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    s_running (&world, 0);
    s_running (&world, 1);
    //  Two batches run, nobody stands by: node 3 waits.
    assert_false (s_release (&world, 3));
    //  Node 2 stands by: one of two is not enough.
    world.contacts[2].standing_by = true;
    assert_false (s_release (&world, 3));
    //  Node 1 reports: one batch runs, node 2 covers it, node 3 may go.
    world.batches[1].state = STORE_BATCH_DONE;
    world.batches[1].reported = true;
    assert_true (s_release (&world, 3));
    //  Node 2, asking again, does not count itself: it stays while no
    //  other node stands by, and may go once node 3 does.
    assert_false (s_release (&world, 2));
    world.contacts[3].standing_by = true;
    assert_true (s_release (&world, 2));
}

static void
test_planned_replay_counts_as_running (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    s_running (&world, 0);
    world.batches[1].state = STORE_BATCH_PLANNED;
    world.batches[1].reported = false;
    world.contacts[2].standing_by = true;
    assert_false (s_release (&world, 3));
    world.batches[1].state = STORE_BATCH_DONE;
    assert_true (s_release (&world, 3));
}

static void
test_silent_or_own_node_does_not_stand_by (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    s_running (&world, 0);
    //  Node 2 stood by but has been silent for more than a lease.
    world.contacts[2].standing_by = true;
    world.contacts[2].mono_ms = NOW_MS - LEASE_MS - 1;
    assert_false (s_release (&world, 3));
    //  Told done: gone.
    world.contacts[2].mono_ms = INT64_MIN;
    assert_false (s_release (&world, 3));
    //  An earlier attempt of node 3 itself is no standby for node 3.
    world.contacts[NODES] = (build_contact_t) { .attempt_id = 99, .node_index = 3,
                                                .mono_ms = NOW_MS, .standing_by = true };
    world.build.contact_count = NODES + 1;
    assert_false (s_release (&world, 3));
    world.contacts[2].mono_ms = NOW_MS - LEASE_MS;
    assert_true (s_release (&world, 3));
}

static void
test_failures_keep_nodes_waiting (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    const builds_config_t reruns = { .requeue_failed = 1, .requeue_budget = 100 };
    s_running (&world, 0);
    world.contacts[2].standing_by = true;
    assert_true (s_release (&world, 3));
    //  While failures may run again, one standby more than batches: a
    //  run again goes to another node than the one it failed on.
    assert_false (s_release_with (&world, 3, &reruns));
    world.contacts[1].standing_by = true;
    assert_true (s_release_with (&world, 3, &reruns));
    //  Node 3's own unit failed and may run again (and pass): its exit
    //  status waits for that.
    world.last_ok[3] = 0;
    world.build.failing_count = 1;
    assert_false (s_release_with (&world, 3, &reruns));
    //  Not if it cannot run again: no runs again, or its runs again used
    //  up, or the build's budget spent.
    assert_true (s_release (&world, 3));
    world.retries[3] = 1;
    assert_true (s_release_with (&world, 3, &reruns));
    world.retries[3] = 0;
    world.build.retry_used = 100;
    assert_true (s_release_with (&world, 3, &reruns));
    world.build.retry_used = 0;
    //  Another node's failure does not hold node 3...
    world.last_ok[3] = 1;
    world.last_ok[1] = 0;
    assert_true (s_release_with (&world, 3, &reruns));
    //  ...but a failed unit waiting to run again does: node 3 may take it.
    world.build.retry_count = 1;
    assert_false (s_release_with (&world, 3, &reruns));
}

static void
test_batch_of_another_attempt_of_the_node_counts (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    world.contacts[2].standing_by = true;
    //  Node 3's earlier attempt (id 99) still runs a batch: node 3's new
    //  attempt (id 4), asking, counts it like any other.
    s_running (&world, 3);
    world.batches[3].attempt_id = 99;
    s_running (&world, 0);
    assert_false (s_release (&world, 3));
    world.batches[0].state = STORE_BATCH_DONE;
    assert_true (s_release (&world, 3));
    //  Its own batches are not counted (it holds none while asking): one
    //  batch runs elsewhere and node 2 covers it.
    world.batches[3].attempt_id = 4;
    s_running (&world, 0);
    assert_true (s_release (&world, 3));
}

static void
test_nothing_running_keeps_waiting (void **state)
{
    (void) state;
    world_t world;
    s_world (&world);
    world.contacts[2].standing_by = true;
    assert_false (s_release (&world, 3));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_one_waiting_node_per_running_batch),
        cmocka_unit_test (test_planned_replay_counts_as_running),
        cmocka_unit_test (test_silent_or_own_node_does_not_stand_by),
        cmocka_unit_test (test_failures_keep_nodes_waiting),
        cmocka_unit_test (test_batch_of_another_attempt_of_the_node_counts),
        cmocka_unit_test (test_nothing_running_keeps_waiting),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
