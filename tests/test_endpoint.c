/*  test_endpoint.c: which bind endpoints satcheld counts as loopback, and
    so binds without CurveZMQ or --insecure (endpoint.h).                  */
#include "endpoint.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_loopback_endpoints (void **state)
{
    (void) state;
    const char *yes[] = {
        "tcp://127.0.0.1:7450", "tcp://127.0.0.1:*", "tcp://127.4.5.6:1", "tcp://[::1]:7450",
        "tcp://[::1]:*", "tcp://[::ffff:127.0.0.1]:7450", "tcp://localhost:7450",
        "tcp://LocalHost:*", "ipc:///run/satchel/satcheld.sock", "ipc://@abstract",
        "inproc://satchel", NULL
    };
    for (int i = 0; yes[i]; i++) {
        if (!endpoint_is_loopback (yes[i]))
            fail_msg ("%s should count as loopback", yes[i]);
    }
}

static void
test_other_endpoints (void **state)
{
    (void) state;
    const char *no[] = {
        "tcp://0.0.0.0:7450", "tcp://*:7450", "tcp://10.0.0.5:7450", "tcp://128.0.0.1:7450",
        "tcp://[::]:7450", "tcp://[::2]:7450", "tcp://[::ffff:10.0.0.1]:7450",
        "tcp://lo:7450", "tcp://eth0:7450", "tcp://127.1:7450", "tcp://127.0.0.1.evil.test:7450",
        "tcp://localhost.evil.test:7450", "tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://:7450",
        "tcp://127.0.0.1:7450x", "tcp://10.0.0.5;127.0.0.1:7450", "tcp://[::1]",
        "udp://127.0.0.1:7450", "pgm://127.0.0.1;239.192.1.1:5555", "ws://127.0.0.1:80",
        "ipc://", "inproc://", "", "TCP://127.0.0.1:7450", NULL
    };
    for (int i = 0; no[i]; i++) {
        if (endpoint_is_loopback (no[i]))
            fail_msg ("%s should not count as loopback", no[i]);
    }
    assert_false (endpoint_is_loopback (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_loopback_endpoints),
        cmocka_unit_test (test_other_endpoints),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
