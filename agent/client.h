/*  client.h: the agent's side of the wire, as the ZeroMQ guide's "lazy
    pirate": a REQ socket whose reply is lost is stuck forever, so every
    request waits at most timeout_ms; then the socket is closed, reopened,
    and the same request (same attempt, same req) is sent again after a
    growing back-off, at most `retries` more times. The daemon answers a
    repeated request with the reply it gave before, so a retry never gets
    a second batch.

    With CurveZMQ (client_set_curve) every socket is a CURVE client, and
    its handshakes are watched (zmq_socket_monitor): a refusal is not a
    lost reply and retrying cannot cure it, so the request ends at once
    with CLIENT_REFUSED and a sentence saying which key is wrong. The
    events are watched without CurveZMQ too: a satcheld that requires it
    refuses a plain-text agent the same way.                              */
#ifndef SATCHEL_CLIENT_H
#define SATCHEL_CLIENT_H

#include "proto.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;        //  e.g. tcp://127.0.0.1:7450
    int64_t timeout_ms;          //  wait for one reply
    uint32_t retries;            //  resends after the first try
    int64_t backoff_ms;          //  first pause between tries; doubles, capped at 10 s
    const volatile sig_atomic_t *interrupted;  //  set by a signal handler: give up now
} client_config_t;

typedef enum {
    CLIENT_OK = 0,               //  *reply holds the daemon's answer (maybe an error reply)
    CLIENT_UNREACHABLE = -1,     //  no usable reply within the retry budget
    CLIENT_INTERRUPTED = -2,     //  a signal arrived while waiting
    CLIENT_REFUSED = -3          //  the handshake was refused (unknown key, wrong server key,
                                 //  CurveZMQ on one side only); not transient, why says which
} client_result_t;

typedef struct _client_t client_t;

client_t *client_new (const client_config_t *config);
void client_destroy (client_t **self_p);

//  Use CurveZMQ: server_key_file is satcheld's public certificate,
//  client_cert_file this agent's secret one (curve_keys.h). The paths are
//  kept for messages (copied). Returns 0, or -1 with why (a file that
//  cannot be read or is not the right kind of key).
int client_set_curve (client_t *self, const char *server_key_file,
                      const char *client_cert_file, char *why, size_t why_size);

//  Send request and wait for its reply per the pattern above. Transient
//  error replies (proto_error_is_user false) are retried like timeouts;
//  user error replies are returned as CLIENT_OK with an error message.
//  On CLIENT_UNREACHABLE and CLIENT_REFUSED, why holds one sentence for a
//  person.
client_result_t client_request (client_t *self, const proto_msg_t *request,
                                proto_msg_t **reply, char *why, size_t why_size);

//  The same with a budget of tries of its own (at least 1), for requests
//  that may fail without harm, such as heartbeats.
client_result_t client_request_tries (client_t *self, const proto_msg_t *request,
                                      uint32_t tries, proto_msg_t **reply, char *why,
                                      size_t why_size);

#endif
