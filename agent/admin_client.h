/*  admin_client.h: what the admin commands (satchel status, satchel admin)
    share: where satcheld is and with which keys (flags, then SATCHEL_
    variables, then the defaults), and one request with its errors said in
    words.                                                                 */
#ifndef SATCHEL_ADMIN_CLIENT_H
#define SATCHEL_ADMIN_CLIENT_H

#include "client.h"
#include "proto.h"

#include <getopt.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;        //  --coordinator, SATCHEL_COORDINATOR
    const char *server_key;      //  --server-key, SATCHEL_SERVER_KEY
    const char *client_cert;     //  --client-cert, SATCHEL_CLIENT_CERT
    const char *timeout;         //  --timeout as given, NULL: 5 s
    int64_t timeout_ms;          //  parsed by admin_client_check
} admin_target_t;

//  The flags every admin command takes, first in its getopt_long table
//  (ADMIN_TARGET_OPTIONS); its own options number from ADMIN_OPT_OWN on.
enum {
    ADMIN_OPT_COORDINATOR = 256, ADMIN_OPT_SERVER_KEY, ADMIN_OPT_CLIENT_CERT, ADMIN_OPT_TIMEOUT,
    ADMIN_OPT_OWN
};
#define ADMIN_TARGET_OPTIONS \
    { "coordinator", required_argument, NULL, ADMIN_OPT_COORDINATOR }, \
    { "server-key", required_argument, NULL, ADMIN_OPT_SERVER_KEY }, \
    { "client-cert", required_argument, NULL, ADMIN_OPT_CLIENT_CERT }, \
    { "timeout", required_argument, NULL, ADMIN_OPT_TIMEOUT }

//  The SATCHEL_ variables; flags then overwrite fields.
void admin_target_init (admin_target_t *self);

//  Take getopt_long's answer opt (with its arg) if it is one of
//  ADMIN_TARGET_OPTIONS. Returns 1 if it was, 0 if not; for ':' and '?'
//  (bad_flag: the argument getopt stopped at) says what is wrong on stderr
//  and returns 2.
int admin_target_option (admin_target_t *self, int opt, const char *arg, const char *command,
                         const char *bad_flag);

//  Check the settings; the default endpoint if none. Returns 0, or 2
//  after saying what is wrong on stderr (command: "satchel status").
int admin_target_check (admin_target_t *self, const char *command);

//  A client for the target, or NULL after saying why (keys unreadable).
client_t *admin_client_new (const admin_target_t *self);

//  Send request; returns 0 with *reply of type want, or 1 after saying
//  why not (refused at the handshake, unreachable, an error reply, an
//  unexpected type).
int admin_client_call (client_t *client, const admin_target_t *target,
                       const proto_msg_t *request, proto_type_t want, proto_msg_t **reply);

#endif
