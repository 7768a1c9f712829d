/*  test_rate.c: the per-connection request rate (--max-rate): a burst of
    rate requests, then rate a second, per peer, and idle peers forgotten
    without losing anything.                                               */
#include "rate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_burst_then_rate (void **state)
{
    rate_t *rate = rate_new (10);
    int64_t now = 5000;
    //  A burst of 10, then nothing more at the same instant.
    for (int i = 0; i < 10; i++)
        assert_true (rate_allow (rate, "\x01\x02", 2, now));
    assert_false (rate_allow (rate, "\x01\x02", 2, now));
    //  A tenth of a second brings one more, not two.
    now += 100;
    assert_true (rate_allow (rate, "\x01\x02", 2, now));
    assert_false (rate_allow (rate, "\x01\x02", 2, now));
    //  Over ten seconds at 100 a second asked, about 10 a second given.
    int given = 0;
    for (int ms = 0; ms < 10000; ms += 10) {
        now += 10;
        given += rate_allow (rate, "\x01\x02", 2, now);
    }
    assert_in_range (given, 99, 101);
    rate_destroy (&rate);
    assert_null (rate);
}

static void
test_peers_apart (void **state)
{
    rate_t *rate = rate_new (3);
    for (int i = 0; i < 3; i++)
        assert_true (rate_allow (rate, "a", 1, 0));
    assert_false (rate_allow (rate, "a", 1, 0));
    //  Another peer (an identity that is a prefix of none) has its own bucket.
    assert_true (rate_allow (rate, "b", 1, 0));
    assert_true (rate_allow (rate, "ab", 2, 0));
    assert_int_equal (rate_peers (rate), 3);
    rate_destroy (&rate);
}

//  A bucket idle a second is full, so it is dropped; a peer coming back
//  gets a full bucket, as it would have.
static void
test_idle_peers_swept (void **state)
{
    rate_t *rate = rate_new (2);
    for (int peer = 0; peer < 500; peer++) {
        unsigned char id[4] = { 0, 0, (unsigned char) (peer >> 8), (unsigned char) peer };
        assert_true (rate_allow (rate, id, 4, 0));
    }
    assert_int_equal (rate_peers (rate), 500);
    assert_true (rate_allow (rate, "x", 1, 999));
    assert_true (rate_allow (rate, "x", 1, 999));
    assert_false (rate_allow (rate, "x", 1, 999));
    //  The next call after the sweep time forgets those idle a second.
    assert_true (rate_allow (rate, "y", 1, 1500));
    assert_int_equal (rate_peers (rate), 2);        //  x (idle 0.5 s) and y
    assert_false (rate_allow (rate, "x", 1, 1500) && rate_allow (rate, "x", 1, 1500));
    rate_destroy (&rate);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_burst_then_rate),
        cmocka_unit_test (test_peers_apart),
        cmocka_unit_test (test_idle_peers_swept),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
