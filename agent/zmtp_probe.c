/*  zmtp_probe.c: see zmtp_probe.h.                                        */
#include "zmtp_probe.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

//  A ZMTP 3 greeting: signature (0xFF, 8 bytes of padding, 0x7F), major
//  and minor version, then the mechanism's name in 20 bytes padded with
//  NULs; the rest (as-server, filler) is not needed here.
#define GREETING_MECHANISM_AT 12
#define GREETING_MECHANISM_SIZE 20
#define GREETING_NEEDED (GREETING_MECHANISM_AT + GREETING_MECHANISM_SIZE)

//  A socket connected to endpoint, non-blocking, or -1. The connect may
//  still be under way (the caller waits for it to be writable).
static int
s_open (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        if (strlen (endpoint + 6) >= sizeof address.sun_path)
            return -1;
        strcpy (address.sun_path, endpoint + 6);
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address) != 0
        &&  errno != EINPROGRESS && errno != EAGAIN) {
            close (fd);
            fd = -1;
        }
        return fd;
    }
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return -1;
    //  HOST:PORT, HOST possibly [an IPv6 address].
    char host[256];
    const char *colon = strrchr (endpoint + 6, ':');
    size_t length = colon ? (size_t) (colon - (endpoint + 6)) : 0;
    if (!colon || length == 0 || length >= sizeof host || colon[1] == 0)
        return -1;
    memcpy (host, endpoint + 6, length);
    host[length] = 0;
    if (host[0] == '[' && host[length - 1] == ']') {
        memmove (host, host + 1, length - 2);
        host[length - 2] = 0;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    if (getaddrinfo (host, colon + 1, &hints, &found) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *at = found; at && fd < 0; at = at->ai_next) {
        fd = socket (at->ai_family, at->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     at->ai_protocol);
        if (fd >= 0 && connect (fd, at->ai_addr, at->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close (fd);
            fd = -1;
        }
    }
    freeaddrinfo (found);
    return fd;
}

//  Wait until fd is ready for events or until deadline (monotonic ms).
//  Returns 1 if ready, 0 if the time ran out, -1 on an error.
static int
s_wait (int fd, short events, int64_t deadline)
{
    while (true) {
        int64_t left = deadline - util_mono_ms ();
        if (left <= 0)
            return 0;
        struct pollfd item = { .fd = fd, .events = events };
        int rc = poll (&item, 1, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc > 0)
            return 1;
    }
}

int
zmtp_probe_mechanism (const char *endpoint, int timeout_ms, char *mechanism, size_t size)
{
    if (!endpoint || !mechanism || size == 0)
        return -1;
    int64_t deadline = util_mono_ms () + timeout_ms;
    int fd = s_open (endpoint);
    if (fd < 0)
        return -1;
    int rc = -1;
    int error = 0;
    socklen_t error_size = sizeof error;
    //  Our signature and major version: a ZMTP 3 peer answers with the
    //  rest of its greeting, its mechanism included.
    static const uint8_t hello[11] = { 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3 };
    uint8_t greeting[GREETING_NEEDED];
    size_t got = 0;
    if (s_wait (fd, POLLOUT, deadline) != 1
    ||  getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &error_size) != 0 || error != 0
    ||  send (fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t) sizeof hello)
        goto done;
    while (got < sizeof greeting) {
        if (s_wait (fd, POLLIN, deadline) != 1)
            goto done;
        ssize_t n = recv (fd, greeting + got, sizeof greeting - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            goto done;      //  closed before its greeting was whole
        got += (size_t) n;
    }
    if (greeting[0] != 0xFF || (greeting[9] & 1) != 1 || greeting[10] < 3)
        goto done;          //  not ZMTP 3
    //  The name: printable ASCII, then NULs.
    size_t name = 0;
    while (name < GREETING_MECHANISM_SIZE && greeting[GREETING_MECHANISM_AT + name] > ' '
           && greeting[GREETING_MECHANISM_AT + name] < 0x7F)
        name++;
    if (name == 0 || name >= size)
        goto done;
    memcpy (mechanism, greeting + GREETING_MECHANISM_AT, name);
    mechanism[name] = 0;
    rc = 0;
done:
    close (fd);
    return rc;
}
