/*  zmtp_probe.h: ask a ZeroMQ endpoint which security mechanism it speaks,
    by reading the greeting of ZMTP 3 (rfc.zeromq.org/spec/23) on a plain
    socket of our own.

    libzmq tells a client of a mechanism mismatch only when it has read the
    server's greeting; a server that drops the connection first leaves the
    client with "handshake failed, no detail", which a proxy in front of a
    stopped satcheld (one that accepts, then closes) gives too. The
    greeting itself tells the two apart.                                  */
#ifndef SATCHEL_ZMTP_PROBE_H
#define SATCHEL_ZMTP_PROBE_H

#include <stddef.h>

//  Connect to endpoint (tcp://HOST:PORT or ipc://PATH), send the start of
//  a ZMTP 3 greeting and read the peer's, within timeout_ms in all. On 0,
//  mechanism holds the mechanism the peer named ("NULL", "PLAIN",
//  "CURVE"; at most 20 characters). Returns -1 when there is no greeting
//  to read: nothing listens, the peer closed the connection or said
//  something else, the time ran out, or the endpoint is of another kind.
int zmtp_probe_mechanism (const char *endpoint, int timeout_ms, char *mechanism, size_t size);

#endif
