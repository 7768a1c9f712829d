/*  client.c: see client.h.                                                 */
#include "client.h"

#include "log.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_CAP_MS 10000

struct _client_t {
    client_config_t config;      //  copy; endpoint borrowed
    zsock_t *socket;             //  current REQ socket, NULL between tries
    proto_limits_t limits;       //  for decoding replies
};

client_t *
client_new (const client_config_t *config)
{
    client_t *self = util_calloc (1, sizeof *self);
    self->config = *config;
    proto_limits_default (&self->limits);
    return self;
}

void
client_destroy (client_t **self_p)
{
    client_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->socket);
    free (self);
    *self_p = NULL;
}

static bool
s_interrupted (client_t *self)
{
    return self->config.interrupted && *self->config.interrupted;
}

static int
s_connect (client_t *self)
{
    self->socket = zsock_new (ZMQ_REQ);
    if (!self->socket)
        return -1;
    zsock_set_linger (self->socket, 0);
    zsock_set_maxmsgsize (self->socket, (int) self->limits.max_frame);
    if (zsock_connect (self->socket, "%s", self->config.endpoint) != 0) {
        zsock_destroy (&self->socket);
        return -1;
    }
    return 0;
}

//  Sleep up to ms, waking early on a signal.
static void
s_pause (client_t *self, int64_t ms)
{
    int64_t until = util_mono_ms () + ms;
    while (!s_interrupted (self)) {
        int64_t left = until - util_mono_ms ();
        if (left <= 0)
            break;
        zmq_poll (NULL, 0, (long) (left > 100 ? 100 : left));
    }
}

//  One try: send, wait for the reply. Returns 1 with *reply, 0 on timeout
//  or an unreadable reply (why says), -1 on interrupt.
static int
s_try (client_t *self, const char *data, size_t size, proto_msg_t **reply, char *why,
       size_t why_size)
{
    if (!self->socket && s_connect (self) != 0) {
        snprintf (why, why_size, "cannot connect to %s: %s", self->config.endpoint,
                  zmq_strerror (zmq_errno ()));
        return 0;
    }
    void *socket = zsock_resolve (self->socket);
    if (zmq_send (socket, data, size, 0) < 0) {
        snprintf (why, why_size, "cannot send to %s: %s", self->config.endpoint,
                  zmq_strerror (zmq_errno ()));
        return 0;
    }
    int64_t until = util_mono_ms () + self->config.timeout_ms;
    while (true) {
        if (s_interrupted (self))
            return -1;
        int64_t left = until - util_mono_ms ();
        if (left <= 0) {
            snprintf (why, why_size, "no reply from %s within %.1f s", self->config.endpoint,
                      (double) self->config.timeout_ms / 1000.0);
            return 0;
        }
        zmq_pollitem_t item = { socket, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&item, 1, (long) (left > 200 ? 200 : left));
        if (rc < 0 && zmq_errno () != EINTR) {
            snprintf (why, why_size, "poll failed: %s", zmq_strerror (zmq_errno ()));
            return 0;
        }
        if (rc > 0 && (item.revents & ZMQ_POLLIN))
            break;
    }
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    int rc = 0;
    if (zmq_msg_recv (&frame, socket, 0) < 0)
        snprintf (why, why_size, "receive failed: %s", zmq_strerror (zmq_errno ()));
    else if (zmq_msg_more (&frame))
        snprintf (why, why_size, "the coordinator replied with several frames");
    else {
        proto_error_t err;
        *reply = proto_decode (zmq_msg_data (&frame), zmq_msg_size (&frame), &self->limits, &err);
        if (*reply)
            rc = 1;
        else
            snprintf (why, why_size, "unreadable reply from the coordinator: %s", err.message);
    }
    zmq_msg_close (&frame);
    return rc;
}

client_result_t
client_request (client_t *self, const proto_msg_t *request, proto_msg_t **reply, char *why,
                size_t why_size)
{
    return client_request_tries (self, request, self->config.retries + 1, reply, why, why_size);
}

client_result_t
client_request_tries (client_t *self, const proto_msg_t *request, uint32_t tries,
                      proto_msg_t **reply, char *why, size_t why_size)
{
    char *data = NULL;
    size_t size = 0;
    *reply = NULL;
    if (proto_encode (request, &data, &size) != 0) {
        snprintf (why, why_size, "internal error: cannot encode %s request",
                  proto_type_name (request->type));
        return CLIENT_UNREACHABLE;
    }
    client_result_t result = CLIENT_UNREACHABLE;
    int64_t backoff = self->config.backoff_ms;
    int64_t started = util_mono_ms ();
    if (tries == 0)
        tries = 1;
    for (uint32_t attempt = 0; attempt < tries; attempt++) {
        if (attempt > 0) {
            s_pause (self, backoff);
            backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
        }
        if (s_interrupted (self)) {
            result = CLIENT_INTERRUPTED;
            break;
        }
        proto_msg_t *answer = NULL;
        int rc = s_try (self, data, size, &answer, why, why_size);
        if (rc < 0) {
            result = CLIENT_INTERRUPTED;
            break;
        }
        if (rc == 0) {
            //  The REQ socket is now stuck waiting for a reply that may
            //  never come: throw it away and start a fresh one.
            zsock_destroy (&self->socket);
            log_debug ("retry type=%s req=%llu try=%u why=%s", proto_type_name (request->type),
                       (unsigned long long) request->req, attempt + 1, log_quote (why));
            continue;
        }
        if (answer->req != 0 && answer->req != request->req) {
            snprintf (why, why_size, "reply for request %llu arrived for request %llu",
                      (unsigned long long) answer->req, (unsigned long long) request->req);
            proto_msg_destroy (&answer);
            zsock_destroy (&self->socket);
            continue;
        }
        if (answer->type == PROTO_ERROR && !proto_error_is_user (answer->code)) {
            snprintf (why, why_size, "coordinator error %s: %s", answer->code, answer->message);
            proto_msg_destroy (&answer);
            continue;
        }
        *reply = answer;
        result = CLIENT_OK;
        break;
    }
    if (result == CLIENT_UNREACHABLE) {
        char detail[512];
        snprintf (detail, sizeof detail, "%s", why);
        snprintf (why, why_size, "%s (%u tries over %.1f s)", detail, tries,
                  (double) (util_mono_ms () - started) / 1000.0);
    }
    free (data);
    return result;
}
