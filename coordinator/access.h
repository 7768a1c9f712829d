/*  access.h: who sent a request, and whether that key may make it.

    With CurveZMQ on (satcheld --curve-secret), every message on the ROUTER
    socket carries what the ZAP handler (zap.h) gave its connection at the
    handshake: the client's public key as "User-Id" and the key's
    permissions as ZAP metadata; zmq_msg_gets reads them from any frame of
    the message. Without CurveZMQ there is no key, and every request is
    allowed, but for admin requests on --insecure (below): satcheld then
    listens only on loopback, or was told --insecure.

    What needs what:
        join, next, heartbeat  the suite: the join's, or for next and
                               heartbeat the suite of the build the
                               attempt joined
        import                 the suite imported into. Suite access, not
                               admin: it writes nothing but that suite's
                               timing history, which any key of the suite
                               already feeds with every report it sends
                               (and could feed with made-up times), so
                               admin would add no protection, only push CI
                               jobs that seed their history to carry keys
                               that can do everything
        admin requests         status (admin.h), query (builds, build,
                               slowest, flaky, trend, export) and admin
                               (backup, check, fetch): a key marked admin;
                               they call access_require_admin. Without
                               CurveZMQ on a loopback endpoint: anyone
                               who can connect, the machine's users (on
                               ipc://, those its file lets in). Without
                               CurveZMQ on an endpoint other machines
                               reach (--insecure): only connections from
                               satcheld's own machine, from a loopback
                               address or one of its interfaces' (the
                               message's "Peer-Address", endpoint.h).
                               --insecure is there to let CI agents on a
                               trusted network run builds, not to hand
                               every host on it each suite's history, a
                               copy of the whole database, and jobs that
                               make satcheld read and write all of it.
                               With no key the address is all there is to
                               go by; a connection whose address libzmq
                               does not give counts as another machine's

    Permissions are those of the key file when the connection was made: an
    edited or removed file applies to the next connection (each agent run
    makes its own), not to one that is open.                              */
#ifndef SATCHEL_ACCESS_H
#define SATCHEL_ACCESS_H

#include "curve_keys.h"
#include "proto.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

//  How satcheld serves, which decides what access_peer_read looks at.
typedef enum {
    ACCESS_OPEN,       //  no CurveZMQ, a loopback endpoint: every request allowed
    ACCESS_NETWORK,    //  no CurveZMQ, --insecure on an endpoint other machines reach:
                       //  admin requests only from this machine's addresses
    ACCESS_KEYS        //  CurveZMQ: the permissions of the connection's key
} access_mode_t;

//  The longest peer address read; a longer one is no numeric IP address
//  (INET6_ADDRSTRLEN is 46, a zone adds at most 16) and counts as none.
#define ACCESS_ADDRESS_MAX 63

typedef struct {
    bool checked;                    //  CurveZMQ is on: the permissions below apply
    bool known;                      //  the message carried a key and valid permissions
    bool network;                    //  ACCESS_NETWORK: admin only from this machine
    bool local;                      //  network: the peer's address is a loopback one
    char address[ACCESS_ADDRESS_MAX + 1];  //  network: the peer's address ("" if none)
    char key[CURVE_KEY_TEXT + 1];    //  the client's public key, Z85 ("" if none)
    curve_meta_t meta;               //  the key's permissions, when known
} access_peer_t;

//  Read the sender of msg (any frame of a received message) as mode
//  says: ACCESS_OPEN, the peer may do everything; ACCESS_NETWORK, its
//  address; ACCESS_KEYS, its key and permissions.
void access_peer_read (access_peer_t *peer, zmq_msg_t *msg, access_mode_t mode);

//  True if the peer may use the suite.
bool access_suite_allowed (const access_peer_t *peer, const char *suite);

//  True if the peer may make admin requests.
bool access_is_admin (const access_peer_t *peer);

//  The check of a suite-scoped request (type, for the message). Returns 0
//  if peer (NULL: no check) may use the suite; else -1, logs the refusal
//  and sets *out to an access_refused error reply carrying attempt, req.
int access_check_suite (const access_peer_t *peer, const char *suite, proto_type_t type,
                        const char *attempt, uint64_t req, proto_msg_t **out);

//  The check every admin request makes first (what: "status", ...).
//  Returns 0 if peer (NULL: no check) may make admin requests (an admin
//  key; without CurveZMQ, anyone, but on --insecure only from an address
//  of this machine); else -1, logs the refusal and sets *out to an
//  access_refused error reply that says how to get in.
int access_require_admin (const access_peer_t *peer, const char *what, const char *attempt,
                          uint64_t req, proto_msg_t **out);

#endif
