/*  test_fallback.c: the split an agent makes on its own when satcheld
    cannot be reached (fallback.h). Invariants 1 and 6 in fallback mode:
    the shares of all nodes cover every unit exactly once, and each is a
    pure function of the count and the node total.                        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fallback.h"
#include "test_rng.h"

#define MAX_COUNT 50
#define MAX_NODES 12

//  Room fallback.h asks for, and one sentinel slot past it that must stay
//  untouched.
#define SENTINEL 0xDEADBEEFu

static size_t
s_room (size_t count, uint32_t total)
{
    return count / total + 1;
}

//  node's share into out (room + 1 slots, the last a sentinel); checks the
//  sentinel survived. Returns the share's size.
static size_t
s_share (size_t count, uint32_t node, uint32_t total, const uint8_t *skip, uint32_t *out)
{
    size_t room = s_room (count, total);
    for (size_t i = 0; i <= room; i++)
        out[i] = SENTINEL;
    size_t written = fallback_share (count, node, total, skip, out);
    assert_true (written <= room);
    //  Nothing written past what it says it wrote (nor past the room).
    for (size_t i = written; i <= room; i++)
        assert_int_equal (out[i], SENTINEL);
    return written;
}

//  Every (count, total) with count 0..50 and total 1..12: each index is in
//  exactly one node's share, the node it belongs to is k % total, each
//  share ascends, and the shares' sizes add up to count.
static void
test_shares_partition_the_list (void **state)
{
    uint32_t out[MAX_COUNT + 2];
    for (size_t count = 0; count <= MAX_COUNT; count++) {
        for (uint32_t total = 1; total <= MAX_NODES; total++) {
            int seen[MAX_COUNT];
            memset (seen, 0, sizeof seen);
            size_t sum = 0;
            for (uint32_t node = 0; node < total; node++) {
                size_t written = s_share (count, node, total, NULL, out);
                //  Round-robin: exactly the k < count with k % total == node.
                size_t expected = count > node ? (count - node + total - 1) / total : 0;
                assert_int_equal (written, expected);
                for (size_t i = 0; i < written; i++) {
                    assert_true (out[i] < count);
                    assert_int_equal (out[i] % total, node);
                    if (i > 0)
                        assert_true (out[i] > out[i - 1]);
                    seen[out[i]]++;
                }
                sum += written;
            }
            assert_int_equal (sum, count);
            for (size_t k = 0; k < count; k++)
                assert_int_equal (seen[k], 1);
        }
    }
}

//  A worked example by hand: 7 units on 3 nodes.
static void
test_share_by_hand (void **state)
{
    uint32_t out[9];            //  7 / 1 + 1 for one node, and the sentinel
    uint32_t node0[] = { 0, 3, 6 }, node1[] = { 1, 4 }, node2[] = { 2, 5 };
    assert_int_equal (s_share (7, 0, 3, NULL, out), 3);
    assert_memory_equal (out, node0, sizeof node0);
    assert_int_equal (s_share (7, 1, 3, NULL, out), 2);
    assert_memory_equal (out, node1, sizeof node1);
    assert_int_equal (s_share (7, 2, 3, NULL, out), 2);
    assert_memory_equal (out, node2, sizeof node2);
    //  One node takes everything, in order.
    assert_int_equal (s_share (7, 0, 1, NULL, out), 7);
    for (uint32_t k = 0; k < 7; k++)
        assert_int_equal (out[k], k);
}

//  More nodes than units: the first count nodes get one unit each (their
//  own index), the last nodes get nothing.
static void
test_more_nodes_than_units (void **state)
{
    uint32_t out[4];
    for (size_t count = 0; count < MAX_NODES; count++) {
        for (uint32_t total = (uint32_t) count + 1; total <= MAX_NODES; total++) {
            for (uint32_t node = 0; node < total; node++) {
                size_t written = s_share (count, node, total, NULL, out);
                if (node < count) {
                    assert_int_equal (written, 1);
                    assert_int_equal (out[0], node);
                }
                else
                    assert_int_equal (written, 0);
            }
        }
    }
}

//  skip leaves out exactly the skipped positions of the node's share and
//  keeps the rest in order; a mask of zeros is the same as no mask.
static void
test_skip_removes_exactly_the_skipped (void **state)
{
    test_rng_t rng = { 20240611 };
    uint32_t full[MAX_COUNT + 2], out[MAX_COUNT + 2];
    uint8_t skip[MAX_COUNT + 1];
    for (size_t count = 0; count <= MAX_COUNT; count++) {
        for (uint32_t total = 1; total <= MAX_NODES; total++) {
            //  All zeros: the same share as NULL.
            memset (skip, 0, sizeof skip);
            for (uint32_t node = 0; node < total; node++) {
                size_t n_full = s_share (count, node, total, NULL, full);
                size_t n_out = s_share (count, node, total, skip, out);
                assert_int_equal (n_out, n_full);
                assert_memory_equal (out, full, n_full * sizeof (uint32_t));
            }
            //  Random masks, some sparse, some dense; nonzero values other
            //  than 1 count as skipped too.
            for (int round = 0; round < 4; round++) {
                uint64_t density = 1 + test_rng_next (&rng) % 4;
                for (size_t k = 0; k < count; k++)
                    skip[k] = test_rng_next (&rng) % 4 < density
                            ? (uint8_t) (1 + test_rng_next (&rng) % 255) : 0;
                //  A guard past the list: must never be read as a unit.
                skip[count] = 0;
                int seen[MAX_COUNT];
                memset (seen, 0, sizeof seen);
                for (uint32_t node = 0; node < total; node++) {
                    size_t n_full = s_share (count, node, total, NULL, full);
                    size_t n_out = s_share (count, node, total, skip, out);
                    //  The unskipped part of the full share, in its order.
                    size_t j = 0;
                    for (size_t i = 0; i < n_full; i++) {
                        if (skip[full[i]])
                            continue;
                        assert_true (j < n_out);
                        assert_int_equal (out[j], full[i]);
                        j++;
                    }
                    assert_int_equal (j, n_out);
                    for (size_t i = 0; i < n_out; i++)
                        seen[out[i]]++;
                }
                //  Over all nodes: every unskipped unit once, no skipped one.
                for (size_t k = 0; k < count; k++)
                    assert_int_equal (seen[k], skip[k] ? 0 : 1);
            }
            //  Everything skipped: nothing for anyone.
            memset (skip, 1, sizeof skip);
            for (uint32_t node = 0; node < total; node++)
                assert_int_equal (s_share (count, node, total, skip, out), 0);
        }
    }
}

//  The same input twice gives the same share (nothing depends on a clock,
//  a previous call or the output buffer's old contents).
static void
test_share_deterministic (void **state)
{
    uint32_t first[MAX_COUNT + 2], again[MAX_COUNT + 2];
    uint8_t skip[MAX_COUNT];
    for (size_t k = 0; k < MAX_COUNT; k++)
        skip[k] = k % 7 == 3;
    for (uint32_t total = 1; total <= MAX_NODES; total++) {
        for (uint32_t node = 0; node < total; node++) {
            for (int masked = 0; masked < 2; masked++) {
                const uint8_t *mask = masked ? skip : NULL;
                memset (first, 0x11, sizeof first);
                memset (again, 0x77, sizeof again);
                size_t a = fallback_share (MAX_COUNT, node, total, mask, first);
                //  Another node's call in between changes nothing.
                uint32_t other[MAX_COUNT + 2];
                fallback_share (MAX_COUNT, (node + 1) % total, total, mask, other);
                size_t b = fallback_share (MAX_COUNT, node, total, mask, again);
                assert_int_equal (a, b);
                assert_memory_equal (first, again, a * sizeof (uint32_t));
            }
        }
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_shares_partition_the_list),
        cmocka_unit_test (test_share_by_hand),
        cmocka_unit_test (test_more_nodes_than_units),
        cmocka_unit_test (test_skip_removes_exactly_the_skipped),
        cmocka_unit_test (test_share_deterministic),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
