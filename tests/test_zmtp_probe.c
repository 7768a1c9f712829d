/*  test_zmtp_probe.c: zmtp_probe_mechanism against real ZeroMQ sockets on
    loopback (a CurveZMQ server, a plain one, over tcp and ipc) and against
    what is no ZeroMQ server: a port nothing listens on, a listener that
    accepts and closes at once (a proxy whose back end is down), one that
    never answers (the time limit holds), and endpoints of other kinds.   */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"
#include "zmtp_probe.h"

#define PROBE_MS 2000

//  A ROUTER on tcp://127.0.0.1:*, with CurveZMQ if curve; its endpoint in
//  endpoint.
static zsock_t *
s_server (bool curve, char *endpoint, size_t size)
{
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert_non_null (server);
    zcert_t *cert = NULL;
    if (curve) {
        cert = zcert_new ();
        assert_non_null (cert);
        zcert_apply (cert, server);
        zsock_set_curve_server (server, 1);
    }
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    zcert_destroy (&cert);
    return server;
}

static void
test_the_greeting_names_the_mechanism (void **state)
{
    (void) state;
    char endpoint[64], mechanism[24];
    zsock_t *curve = s_server (true, endpoint, sizeof endpoint);
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism), 0);
    assert_string_equal (mechanism, "CURVE");
    zsock_destroy (&curve);

    zsock_t *plain = s_server (false, endpoint, sizeof endpoint);
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism), 0);
    assert_string_equal (mechanism, "NULL");
    //  Too small a buffer for the name: no answer rather than half of one.
    char tiny[4];
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, tiny, sizeof tiny), -1);
    zsock_destroy (&plain);
}

static void
test_ipc_too (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char endpoint[600], mechanism[24];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/probe.ipc", dir);
    zsock_t *plain = zsock_new (ZMQ_ROUTER);
    assert_non_null (plain);
    assert_int_equal (zsock_bind (plain, "%s", endpoint), 0);
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism), 0);
    assert_string_equal (mechanism, "NULL");
    zsock_destroy (&plain);
    harness_rmtree (dir);
    free (dir);
}

//  A loopback listener; its endpoint in endpoint. Returns its socket.
static int
s_listener (char *endpoint, size_t size)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    assert_int_equal (bind (fd, (struct sockaddr *) &address, sizeof address), 0);
    assert_int_equal (listen (fd, 4), 0);
    socklen_t length = sizeof address;
    assert_int_equal (getsockname (fd, (struct sockaddr *) &address, &length), 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", ntohs (address.sin_port));
    return fd;
}

//  Accept one connection and close it at once.
static void *
s_accept_and_close (void *arg)
{
    int fd = accept (*(int *) arg, NULL, NULL);
    if (fd >= 0)
        close (fd);
    return NULL;
}

static void
test_no_greeting_no_answer (void **state)
{
    (void) state;
    char endpoint[64], mechanism[24];
    //  Nothing listens.
    int dead = harness_dead_endpoint (endpoint, sizeof endpoint);
    assert_true (dead >= 0);
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism), -1);
    close (dead);

    //  Accepted, then closed: what a proxy does while its back end is down.
    int listener = s_listener (endpoint, sizeof endpoint);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_accept_and_close, &listener), 0);
    int64_t start = util_mono_ms ();
    assert_int_equal (zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism), -1);
    assert_true (util_mono_ms () - start < PROBE_MS);
    pthread_join (thread, NULL);
    close (listener);

    //  Connected (the kernel's backlog) but never answered: the limit holds.
    listener = s_listener (endpoint, sizeof endpoint);
    start = util_mono_ms ();
    assert_int_equal (zmtp_probe_mechanism (endpoint, 300, mechanism, sizeof mechanism), -1);
    int64_t took = util_mono_ms () - start;
    assert_true (took >= 300 && took < PROBE_MS);
    close (listener);

    //  Endpoints of other kinds, or not endpoints.
    const char *odd[] = { "inproc://probe", "tcp://127.0.0.1", "tcp://:5555", "tcp://", "ipc://",
                          "127.0.0.1:5555", "" };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        assert_int_equal (zmtp_probe_mechanism (odd[i], 300, mechanism, sizeof mechanism), -1);
    assert_int_equal (zmtp_probe_mechanism (NULL, 300, mechanism, sizeof mechanism), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_greeting_names_the_mechanism),
        cmocka_unit_test (test_ipc_too),
        cmocka_unit_test (test_no_greeting_no_answer),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
