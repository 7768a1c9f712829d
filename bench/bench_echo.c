/*  bench_echo: the ceiling bench_throughput measures satcheld against. A
    ROUTER socket on tcp://127.0.0.1:* that sends every message it gets
    straight back, untouched: the cost of ZeroMQ's round trip alone, with
    no decoding, no store and no reply to build.

    Usage: bench_echo READY_FILE
    Writes the bound endpoint to READY_FILE once serving; stops on SIGTERM
    or SIGINT.                                                            */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int signo)
{
    s_stop = signo;
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: bench_echo READY_FILE\n");
        return 2;
    }
    struct sigaction action = { .sa_handler = s_on_signal };
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    void *context = zmq_ctx_new ();
    void *router = zmq_socket (context, ZMQ_ROUTER);
    int hwm = 100000, linger = 0;
    zmq_setsockopt (router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind (router, "tcp://127.0.0.1:*") != 0) {
        fprintf (stderr, "bench_echo: bind: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    char endpoint[256];
    size_t size = sizeof endpoint;
    zmq_getsockopt (router, ZMQ_LAST_ENDPOINT, endpoint, &size);
    char tmp[4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *ready = fopen (tmp, "w");
    if (!ready || fprintf (ready, "%s\n", endpoint) < 0 || fclose (ready) != 0
    ||  rename (tmp, argv[1]) != 0) {
        fprintf (stderr, "bench_echo: cannot write %s\n", argv[1]);
        return 1;
    }
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    while (!s_stop) {
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 200) <= 0)
            continue;
        //  Every frame of the message back, in order, envelope included.
        while (zmq_msg_recv (&frame, router, ZMQ_DONTWAIT) >= 0) {
            int more = zmq_msg_more (&frame);
            zmq_msg_send (&frame, router, more ? ZMQ_SNDMORE : 0);
            if (!more)
                break;
        }
    }
    zmq_msg_close (&frame);
    zmq_close (router);
    zmq_ctx_term (context);
    return 0;
}
