/*  access.h: who sent a request, and whether that key may make it.

    With CurveZMQ on (satcheld --curve-secret), every message on the ROUTER
    socket carries what the ZAP handler (zap.h) gave its connection at the
    handshake: the client's public key as "User-Id" and the key's
    permissions as ZAP metadata; zmq_msg_gets reads them from any frame of
    the message. Without CurveZMQ every request is allowed: satcheld then
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
        admin requests         status (admin.h; builds, export and backup
                               to come): a key marked admin; they call
                               access_require_admin. Without CurveZMQ
                               anyone who can connect may make them: on
                               loopback that is the machine's users; with
                               --insecure, the network's

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

typedef struct {
    bool checked;                    //  CurveZMQ is on: the permissions below apply
    bool known;                      //  the message carried a key and valid permissions
    char key[CURVE_KEY_TEXT + 1];    //  the client's public key, Z85 ("" if none)
    curve_meta_t meta;               //  the key's permissions, when known
} access_peer_t;

//  Read the sender of msg (any frame of a received message). With checked
//  false (no CurveZMQ) the peer may do everything.
void access_peer_read (access_peer_t *peer, zmq_msg_t *msg, bool checked);

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
//  Returns 0 if peer (NULL: no check) is an admin key; else -1, logs the
//  refusal and sets *out to an access_refused error reply.
int access_require_admin (const access_peer_t *peer, const char *what, const char *attempt,
                          uint64_t req, proto_msg_t **out);

#endif
