/*  test_endpoint.c: which bind endpoints satcheld counts as loopback, and
    so binds without CurveZMQ or --insecure; which peer addresses, and so
    may make admin requests of a satcheld on --insecure (endpoint.h).     */
#include "endpoint.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>

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

//  Peer addresses as libzmq's "Peer-Address" gives them: numeric, IPv6
//  without brackets.
static void
test_peer_addresses (void **state)
{
    (void) state;
    const char *yes[] = {
        "127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", NULL
    };
    for (int i = 0; yes[i]; i++) {
        if (!endpoint_address_is_loopback (yes[i]))
            fail_msg ("peer %s should count as loopback", yes[i]);
    }
    const char *no[] = {
        "10.0.0.5", "128.0.0.1", "0.0.0.0", "192.168.1.127", "::", "::2", "fe80::1",
        "::ffff:10.0.0.1", "localhost", "127.1", "127.0.0.1:7450", "[::1]", " 127.0.0.1",
        "127.0.0.1 ", "127.0.0.1.evil.test", "fe80::1%lo",
        "0000:0000:0000:0000:0000:0000:0000:0000:0001", "", NULL
    };
    for (int i = 0; no[i]; i++) {
        if (endpoint_address_is_loopback (no[i]))
            fail_msg ("peer \"%s\" should not count as loopback", no[i]);
    }
    assert_false (endpoint_address_is_loopback (NULL));
}

//  This machine's own addresses: loopback, and every address its
//  interfaces have now (whatever they are here), also IPv4-mapped; not a
//  documentation address (TEST-NET-1, RFC 5737) nor a malformed one.
static void
test_own_addresses (void **state)
{
    (void) state;
    assert_true (endpoint_address_is_own ("127.0.0.1"));
    assert_true (endpoint_address_is_own ("::1"));
    assert_true (endpoint_address_is_own ("::ffff:127.3.2.1"));
    assert_false (endpoint_address_is_own ("192.0.2.7"));
    assert_false (endpoint_address_is_own ("::ffff:192.0.2.7"));
    assert_false (endpoint_address_is_own ("2001:db8::7"));
    assert_false (endpoint_address_is_own ("localhost"));
    assert_false (endpoint_address_is_own ("10.0.0.5:7450"));
    assert_false (endpoint_address_is_own (""));
    assert_false (endpoint_address_is_own (NULL));
    struct ifaddrs *list = NULL;
    assert_int_equal (getifaddrs (&list), 0);
    int checked = 0;
    for (struct ifaddrs *item = list; item; item = item->ifa_next) {
        if (!item->ifa_addr || item->ifa_addr->sa_family != AF_INET)
            continue;
        char text[INET_ADDRSTRLEN], mapped[INET_ADDRSTRLEN + 8];
        const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) item->ifa_addr;
        assert_non_null (inet_ntop (AF_INET, &in->sin_addr, text, sizeof text));
        snprintf (mapped, sizeof mapped, "::ffff:%s", text);
        if (!endpoint_address_is_own (text) || !endpoint_address_is_own (mapped))
            fail_msg ("%s (%s) is this machine's", text, item->ifa_name);
        checked++;
    }
    freeifaddrs (list);
    //  At least lo's.
    assert_true (checked >= 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_loopback_endpoints),
        cmocka_unit_test (test_other_endpoints),
        cmocka_unit_test (test_peer_addresses),
        cmocka_unit_test (test_own_addresses),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
