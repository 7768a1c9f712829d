/*  zap.h: satcheld's ZAP handler (ZeroMQ RFC 27) for CurveZMQ.

    libzmq asks the ZAP handler of its context about every CurveZMQ
    handshake: here is a client's public key, may it in? This handler looks
    the key up in the --clients folder (refreshed first, see clients.h) and
    answers 200 with the key as User-Id and the key's permissions as ZAP
    metadata, or 400. libzmq then attaches both to every message of that
    connection, where access.h reads them (zmq_msg_gets).

    Every accepted key gets all three properties below, whatever its file
    says (absent ones filled with their defaults). That matters: a client
    can send metadata of its own in its handshake, and libzmq merges it
    into the same per-message properties. ZAP's come first and a later
    property of the same name is dropped (libzmq 4.3.4,
    stream_engine_base.cpp: properties.insert of ZAP's, then of ZMTP's), so
    a property ZAP always sets cannot be forged, but one it left out could
    be supplied by the client.

    The handler runs in satcheld's loop (one more socket to poll), not in a
    thread of its own as czmq's zauth does: the key table then needs no
    lock, and refusals are logged like every other event. It must be bound
    before the CURVE server socket: libzmq 4.3 lets every client in when
    no ZAP handler is bound.                                                */
#ifndef SATCHEL_ZAP_H
#define SATCHEL_ZAP_H

#include "clients.h"

#include <stddef.h>

//  The ZAP metadata every accepted key carries (see curve_keys.h).
#define ZAP_PROP_NAME "Satchel-Name"        //  the key's name, maybe ""
#define ZAP_PROP_SUITES "Satchel-Suites"    //  "*", or the suites, "a,b"
#define ZAP_PROP_ADMIN "Satchel-Admin"      //  "yes" or "no"

typedef struct _zap_t zap_t;

//  Bind the ZAP endpoint in czmq's context. clients is borrowed and must
//  outlive the handler. Returns NULL with why on error.
zap_t *zap_new (clients_t *clients, char *why, size_t why_size);

//  Safe on NULL; sets *self_p to NULL.
void zap_destroy (zap_t **self_p);

//  The libzmq socket to poll for requests.
void *zap_socket (zap_t *self);

//  Answer every request waiting, without blocking.
void zap_handle (zap_t *self);

#endif
