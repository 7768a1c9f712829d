/*  access.c: see access.h.                                                 */
#include "access.h"

#include "endpoint.h"
#include "log.h"
#include "zap.h"

#include <stdio.h>
#include <string.h>

void
access_peer_read (access_peer_t *peer, zmq_msg_t *msg, access_mode_t mode)
{
    memset (peer, 0, sizeof *peer);
    peer->checked = mode == ACCESS_KEYS;
    if (mode == ACCESS_NETWORK) {
        //  libzmq 4.3 sets it for TCP from getpeername(2), numeric.
        //  One too long for the field is no numeric address: none.
        const char *address = zmq_msg_gets (msg, "Peer-Address");
        peer->network = true;
        if (address && strlen (address) <= ACCESS_ADDRESS_MAX) {
            peer->local = endpoint_address_is_loopback (address);
            memcpy (peer->address, address, strlen (address) + 1);
        }
        return;
    }
    if (mode != ACCESS_KEYS)
        return;
    //  zap.c gives every accepted key all three properties; a message
    //  missing one did not come through our handler, and gets no rights.
    const char *user = zmq_msg_gets (msg, "User-Id");
    const char *name = zmq_msg_gets (msg, ZAP_PROP_NAME);
    const char *suites = zmq_msg_gets (msg, ZAP_PROP_SUITES);
    const char *admin = zmq_msg_gets (msg, ZAP_PROP_ADMIN);
    if (!curve_key_text_valid (user) || !name || !suites || !admin)
        return;
    memcpy (peer->key, user, CURVE_KEY_TEXT + 1);
    char why[256];
    if ((*name && curve_meta_check_name (name, why, sizeof why) != 0)
        || curve_meta_parse_suites (suites, &peer->meta, why, sizeof why) != 0
        || curve_meta_parse_admin (admin, &peer->meta.admin, why, sizeof why) != 0)
        return;
    snprintf (peer->meta.name, sizeof peer->meta.name, "%s", name);
    peer->known = true;
}

bool
access_suite_allowed (const access_peer_t *peer, const char *suite)
{
    if (!peer || !peer->checked)
        return true;
    if (!peer->known || !suite)
        return false;
    if (peer->meta.all_suites)
        return true;
    size_t length = strlen (suite);
    for (const char *at = peer->meta.suites; *at; ) {
        size_t item = strcspn (at, ",");
        if (item == length && memcmp (at, suite, length) == 0)
            return true;
        at += item;
        if (*at == ',')
            at++;
    }
    return false;
}

bool
access_is_admin (const access_peer_t *peer)
{
    if (!peer)
        return true;
    if (peer->checked)
        return peer->known && peer->meta.admin;
    //  The interfaces are looked up only for a request that needs it.
    return !peer->network || peer->local || endpoint_address_is_own (peer->address);
}

//  How a key is named to a person: its certificate's name and the start of
//  the key, which is what identifies it.
static void
s_who (const access_peer_t *peer, char *out, size_t size)
{
    if (peer->meta.name[0])
        snprintf (out, size, "\"%s\" (%.8s...)", peer->meta.name, peer->key);
    else
        snprintf (out, size, "%.8s...", peer->key[0] ? peer->key : "(none)");
}

int
access_check_suite (const access_peer_t *peer, const char *suite, proto_type_t type,
                    const char *attempt, uint64_t req, proto_msg_t **out)
{
    if (access_suite_allowed (peer, suite))
        return 0;
    char who[CURVE_NAME_MAX + 32];
    s_who (peer, who, sizeof who);
    log_warn ("access_refused key=%s name=%s suite=%s type=%s",
              log_quote (peer->key[0] ? peer->key : "-"), log_quote (peer->meta.name),
              log_quote (suite), proto_type_name (type));
    if (!peer->known)
        *out = proto_error_new (attempt, req, PROTO_ERR_ACCESS, "suite",
                                "access refused: satcheld cannot read the permissions of "
                                "this connection's key; run the agent again");
    else
        *out = proto_error_new (attempt, req, PROTO_ERR_ACCESS, "suite",
                                "access refused: key %s may not use suite %s; it may use: %s. "
                                "Give this job a key made for %s (satchel keygen --suites), "
                                "or add %s to the suites of the key's file in satcheld's "
                                "--clients folder", who, suite, peer->meta.suites, suite, suite);
    return -1;
}

int
access_require_admin (const access_peer_t *peer, const char *what, const char *attempt,
                      uint64_t req, proto_msg_t **out)
{
    if (access_is_admin (peer))
        return 0;
    if (!peer->checked) {
        const char *address = peer->address[0] ? peer->address : "an address libzmq did not give";
        log_warn ("access_refused address=%s request=%s reason=\"not from this machine "
                  "(--insecure without --curve-secret)\"",
                  log_quote (peer->address[0] ? peer->address : "-"), log_quote (what));
        *out = proto_error_new (attempt, req, PROTO_ERR_ACCESS, "",
                                "access refused: %s is an admin request, and satcheld without "
                                "CurveZMQ (--insecure) answers those only from its own "
                                "machine; this one came from %s. Run it on satcheld's "
                                "machine against tcp://127.0.0.1:PORT, or give satcheld "
                                "--curve-secret and --clients and use an admin key (satchel "
                                "keygen --admin)", what, address);
        return -1;
    }
    char who[CURVE_NAME_MAX + 32];
    s_who (peer, who, sizeof who);
    log_warn ("access_refused key=%s name=%s request=%s reason=\"not an admin key\"",
              log_quote (peer->key[0] ? peer->key : "-"), log_quote (peer->meta.name),
              log_quote (what));
    *out = proto_error_new (attempt, req, PROTO_ERR_ACCESS, "",
                            "access refused: %s needs a key marked admin, and key %s is not "
                            "one; use an admin key (satchel keygen --admin), or set admin = "
                            "\"yes\" in the key's file in satcheld's --clients folder", what, who);
    return -1;
}
