/*  flood_client.c: a misbehaving client for test_e2e_limits' flood test.

    flood_client ENDPOINT STATS_FILE

    A DEALER socket that sends garbage as fast as it can and never reads a
    reply, until SIGTERM. It writes "flooding" to STATS_FILE once 1000
    messages are out, and "sent N" when it stops. The
    garbage cycles through what a hostile or broken peer could send:
    random bytes, frames whose msgpack header claims gigabytes (msgpack-c
    issue #1013), nesting a thousand deep, well-formed maps of the wrong
    types, several frames for one request, and no REQ delimiter at all. */
#include <czmq.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop = 0;

static void
s_on_term (int signo)
{
    (void) signo;
    s_stop = 1;
}

//  xorshift: cheap, and the same garbage on every run.
static uint64_t
s_next (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

//  Write one line to path (mode "w" or "a"). Returns 0 or -1.
static int __attribute__ ((format (printf, 3, 4)))
s_say (const char *path, const char *mode, const char *fmt, ...)
{
    FILE *file = fopen (path, mode);
    if (!file)
        return -1;
    va_list args;
    va_start (args, fmt);
    vfprintf (file, fmt, args);
    va_end (args);
    return fclose (file) == 0 ? 0 : -1;
}

//  Send parts as one message without ever blocking; returns 1 if sent.
static int
s_send (void *socket, const void *const *parts, const size_t *sizes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0);
        if (zmq_send (socket, parts[i], sizes[i], flags) < 0)
            return 0;       //  the pipe is full (EAGAIN on the first part): try again
    }
    return 1;
}

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: flood_client ENDPOINT STATS_FILE\n");
        return 2;
    }
    zsys_handler_set (NULL);
    signal (SIGTERM, s_on_term);
    signal (SIGINT, s_on_term);
    zsock_t *dealer = zsock_new_dealer (argv[1]);
    if (!dealer) {
        fprintf (stderr, "flood_client: cannot connect to %s\n", argv[1]);
        return 1;
    }
    void *socket = zsock_resolve (dealer);
    static unsigned char random_bytes[512], deep[1000];
    memset (deep, 0x91, sizeof deep);       //  fixarray of one, a thousand deep
    static const unsigned char huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xfe, 0xa1, 'v' };
    static const unsigned char huge_str[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x' };
    //  {"v": 1, "type": "join", "attempt": 5}: the right shape, wrong types.
    static const unsigned char wrong_types[] = {
        0x83, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'j', 'o', 'i', 'n',
        0xa7, 'a', 't', 't', 'e', 'm', 'p', 't', 0x05
    };
    uint64_t rng = 0x9e3779b97f4a7c15ull, sent = 0;
    bool announced = false;
    const char *empty = "";
    while (!s_stop) {
        for (size_t i = 0; i < sizeof random_bytes; i += 8) {
            uint64_t word = s_next (&rng);
            memcpy (random_bytes + i, &word, 8);
        }
        size_t random_size = 1 + (size_t) (s_next (&rng) % sizeof random_bytes);
        const void *parts[4] = { empty };
        size_t sizes[4] = { 0 };
        size_t count = 2;
        switch (sent % 8) {
            case 0: parts[1] = random_bytes; sizes[1] = random_size; break;
            case 1: parts[1] = huge_array; sizes[1] = sizeof huge_array; break;
            case 2: parts[1] = huge_map; sizes[1] = sizeof huge_map; break;
            case 3: parts[1] = huge_str; sizes[1] = sizeof huge_str; break;
            case 4: parts[1] = deep; sizes[1] = sizeof deep; break;
            case 5: parts[1] = wrong_types; sizes[1] = sizeof wrong_types; break;
            case 6:         //  a request in three frames
                parts[1] = wrong_types; sizes[1] = sizeof wrong_types;
                parts[2] = random_bytes; sizes[2] = random_size;
                parts[3] = huge_array; sizes[3] = sizeof huge_array;
                count = 4;
                break;
            default:        //  no delimiter: not a REQ peer at all
                parts[0] = random_bytes; sizes[0] = random_size;
                count = 1;
                break;
        }
        if (s_send (socket, parts, sizes, count))
            sent++;
        else
            zclock_sleep (0);
        if (sent == 1000 && !announced) {
            if (s_say (argv[2], "w", "%s\n", "flooding") != 0)
                return 1;
            announced = true;
        }
    }
    zsock_destroy (&dealer);
    return s_say (argv[2], "a", "sent %llu\n", (unsigned long long) sent) == 0 ? 0 : 1;
}
