/*  client.c: see client.h.                                                 */
#include "client.h"

#include "curve_keys.h"
#include "log.h"
#include "util.h"
#include "zmtp_probe.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_CAP_MS 10000

//  Handshakes failed in a row, with no reason given, before an agent with
//  CurveZMQ concludes that its server key is wrong. A satcheld that cannot
//  open the agent's HELLO (sealed for another server key) just drops the
//  connection: the agent sees HANDSHAKE_FAILED_NO_DETAIL, libzmq
//  reconnects and fails again every 100 ms or so. One such failure may be
//  a daemon stopping mid-handshake; three in a row, none succeeding, are
//  not, and they take well under a second. They are no proof, though: a
//  proxy in front of a stopped satcheld (one that accepts, then closes)
//  drops handshakes the same way. So the agent then reads the greeting
//  of the endpoint itself (zmtp_probe.h): CURVE is a satcheld refusing
//  this agent, no greeting an outage like any other.
#define HANDSHAKE_FAILURES_MAX 3

//  How long that look at the greeting may take.
#define PROBE_MS 1000

//  The handshake events watched.
#define HANDSHAKE_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct _client_t {
    client_config_t config;      //  copy; endpoint borrowed
    zsock_t *socket;             //  current REQ socket, NULL between tries
    zsock_t *monitor;            //  PAIR getting the socket's handshake events, or NULL
    proto_limits_t limits;       //  for decoding replies
    bool curve;                  //  CurveZMQ: the keys below are set
    char server_key[CURVE_KEY_TEXT + 1];  //  satcheld's public key, Z85
    curve_pair_t pair;           //  this agent's key pair
    char *server_key_file;       //  where server_key came from, for messages (owned)
    char *client_cert_file;      //  where pair came from, for messages (owned)
    uint32_t handshake_failures; //  handshakes failed in a row without a reason given
    uint32_t monitors;           //  monitors made, to name each one's endpoint apart
};

client_t *
client_new (const client_config_t *config)
{
    client_t *self = util_calloc (1, sizeof *self);
    self->config = *config;
    proto_limits_default (&self->limits);
    return self;
}

//  Close the socket and its monitor, if any.
static void
s_close (client_t *self)
{
    if (self->socket)
        zmq_socket_monitor (zsock_resolve (self->socket), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->socket);
}

void
client_destroy (client_t **self_p)
{
    client_t *self = *self_p;
    if (!self)
        return;
    s_close (self);
    explicit_bzero (&self->pair, sizeof self->pair);
    free (self->server_key_file);
    free (self->client_cert_file);
    free (self);
    *self_p = NULL;
}

int
client_set_curve (client_t *self, const char *server_key_file, const char *client_cert_file,
                  char *why, size_t why_size)
{
    if (!zsys_has_curve ()) {
        snprintf (why, why_size, "this libzmq was built without CurveZMQ, so --server-key "
                  "and --client-cert cannot be used");
        return -1;
    }
    char detail[768];
    bool has_secret = false;
    if (curve_keys_read_public (server_key_file, self->server_key, NULL, &has_secret, detail,
                                sizeof detail) != 0) {
        snprintf (why, why_size, "--server-key: %s", detail);
        return -1;
    }
    //  An agent needs only satcheld's public key. A secret one on every CI
    //  machine would let anyone there pose as satcheld.
    if (has_secret) {
        snprintf (why, why_size, "--server-key %s holds satcheld's secret key; give agents "
                  "only its public certificate (the file without %s) and keep the secret on "
                  "satcheld's machine", server_key_file, CURVE_SECRET_SUFFIX);
        return -1;
    }
    if (curve_keys_read_secret (client_cert_file, &self->pair, detail, sizeof detail) != 0) {
        snprintf (why, why_size, "--client-cert: %s", detail);
        return -1;
    }
    if (curve_keys_privacy (client_cert_file, detail, sizeof detail) == 2)
        log_say ("warning: every user of this machine may read the secret key %s "
                 "(--client-cert); chmod 600 it", client_cert_file);
    free (self->server_key_file);
    free (self->client_cert_file);
    self->server_key_file = util_strdup (server_key_file);
    self->client_cert_file = util_strdup (client_cert_file);
    self->curve = true;
    return 0;
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
    if (self->curve) {
        zsock_set_curve_serverkey (self->socket, self->server_key);
        zsock_set_curve_publickey (self->socket, self->pair.public_txt);
        zsock_set_curve_secretkey (self->socket, self->pair.secret_txt);
    }
    //  Watch the handshakes from before the connect, so none is missed.
    //  Without a monitor the agent still works, as before: a refusal then
    //  looks like a daemon that does not answer.
    char monitor[96];
    snprintf (monitor, sizeof monitor, "inproc://satchel-client-%p-%u", (void *) self,
              ++self->monitors);
    if (zmq_socket_monitor (zsock_resolve (self->socket), monitor, HANDSHAKE_EVENTS) == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        if (self->monitor) {
            zsock_set_linger (self->monitor, 0);
            if (zsock_connect (self->monitor, "%s", monitor) != 0)
                zsock_destroy (&self->monitor);
        }
    }
    if (zsock_connect (self->socket, "%s", self->config.endpoint) != 0) {
        s_close (self);
        return -1;
    }
    return 0;
}

//  The name of the public half of a secret certificate file.
static void
s_public_file (const char *secret_file, char *out, size_t size)
{
    size_t length = strlen (secret_file), tail = strlen (CURVE_SECRET_SUFFIX);
    if (length > tail && strcmp (secret_file + length - tail, CURVE_SECRET_SUFFIX) == 0)
        snprintf (out, size, "%.*s", (int) (length - tail), secret_file);
    else
        snprintf (out, size, "the public certificate of %s", secret_file);
}

//  The agent and satcheld do not agree on CurveZMQ: say which way.
static void
s_mismatch (client_t *self, char *why, size_t why_size)
{
    const char *endpoint = self->config.endpoint;
    if (self->curve)
        snprintf (why, why_size, "satcheld at %s does not use CurveZMQ (it was started "
                  "without --curve-secret), but this agent was given --server-key and "
                  "--client-cert; drop them, or start satcheld with --curve-secret and "
                  "--clients", endpoint);
    else
        snprintf (why, why_size, "satcheld at %s requires CurveZMQ: give this agent "
                  "--server-key FILE (SATCHEL_SERVER_KEY: satcheld's public certificate) and "
                  "--client-cert FILE (SATCHEL_CLIENT_CERT: this agent's secret certificate, "
                  "from 'satchel keygen')", endpoint);
}

//  Judge one handshake event. Returns 1 if it shows the handshake is
//  refused for good (why says how to fix it), else 0.
static int
s_judge (client_t *self, uint16_t event, uint32_t value, char *why, size_t why_size)
{
    const char *endpoint = self->config.endpoint;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        self->handshake_failures = 0;
        return 0;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        //  The ZAP status: 400 is a refusal; 300 and 500 are temporary.
        if (value != 400)
            return 0;
        if (!self->curve) {
            snprintf (why, why_size, "satcheld at %s refused this agent's connection", endpoint);
            return 1;
        }
        char public_file[1024];
        s_public_file (self->client_cert_file, public_file, sizeof public_file);
        snprintf (why, why_size, "satcheld at %s refused this agent's key (not in its --clients "
                  "folder): the public key %s of --client-cert %s is not authorized there; copy "
                  "%s into the folder satcheld's --clients names (it applies to the next "
                  "connection, no restart)", endpoint, self->pair.public_txt,
                  self->client_cert_file, public_file);
        return 1;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        s_mismatch (self, why, why_size);
        return 1;
    }
    //  No detail, or another protocol error: count them.
    self->handshake_failures++;
    log_debug ("handshake_failed event=0x%x value=%u in_a_row=%u", event, value,
               self->handshake_failures);
    if (self->handshake_failures < HANDSHAKE_FAILURES_MAX)
        return 0;
    //  Look at the greeting: a mechanism other than ours is the mismatch
    //  libzmq did not get to see; CURVE with our keys, a key it refuses;
    //  no greeting (a proxy whose satcheld is down, say), an outage like
    //  any other: retry, and fall back in the end if it lasts.
    char mechanism[24] = "";
    bool greeted = zmtp_probe_mechanism (endpoint, PROBE_MS, mechanism, sizeof mechanism) == 0;
    bool curve_there = greeted && strcmp (mechanism, "CURVE") == 0;
    bool null_there = greeted && strcmp (mechanism, "NULL") == 0;
    if (curve_there != self->curve && (curve_there || null_there)) {
        s_mismatch (self, why, why_size);
        return 1;
    }
    if (!curve_there) {
        log_debug ("handshake_failures_not_refused endpoint=%s greeting=%s", endpoint,
                   greeted ? mechanism : "none");
        self->handshake_failures = 0;
        return 0;
    }
    snprintf (why, why_size, "the server key does not match satcheld's: %u handshakes with %s "
              "failed in a row; --server-key %s holds the public key %s, which is not the one of "
              "satcheld's --curve-secret (or %s is not satcheld); copy satcheld's public "
              "certificate (its --curve-secret file without %s) to this agent",
              self->handshake_failures, endpoint, self->server_key_file, self->server_key,
              endpoint, CURVE_SECRET_SUFFIX);
    return 1;
}

//  Read the handshake events waiting. Returns 1 if one refuses the
//  handshake for good (why says how), else 0.
static int
s_events (client_t *self, char *why, size_t why_size)
{
    while (self->monitor && (zsock_events (self->monitor) & ZMQ_POLLIN)) {
        zmsg_t *event = zmsg_recv (self->monitor);
        if (!event)
            break;
        //  libzmq 4.3: a 6-byte frame, event number (16 bits) and value
        //  (32 bits) in host order, then the endpoint.
        zframe_t *head = zmsg_first (event);
        uint16_t kind = 0;
        uint32_t value = 0;
        if (head && zframe_size (head) == 6) {
            memcpy (&kind, zframe_data (head), 2);
            memcpy (&value, zframe_data (head) + 2, 4);
        }
        zmsg_destroy (&event);
        if (s_judge (self, kind, value, why, why_size))
            return 1;
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
//  or an unreadable reply (why says), -1 on interrupt, -2 if the handshake
//  was refused (why says).
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
        zmq_pollitem_t items[] = {
            { socket, 0, ZMQ_POLLIN, 0 },
            { self->monitor ? zsock_resolve (self->monitor) : NULL, 0, ZMQ_POLLIN, 0 }
        };
        int rc = zmq_poll (items, self->monitor ? 2 : 1, (long) (left > 200 ? 200 : left));
        if (rc < 0 && zmq_errno () != EINTR) {
            snprintf (why, why_size, "poll failed: %s", zmq_strerror (zmq_errno ()));
            return 0;
        }
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            break;
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN) && s_events (self, why, why_size))
            return -2;
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
        if (rc == -2) {
            //  Not transient: no retry, no fallback (DESIGN invariant 8).
            result = CLIENT_REFUSED;
            break;
        }
        if (rc < 0) {
            result = CLIENT_INTERRUPTED;
            break;
        }
        if (rc == 0) {
            //  The REQ socket is now stuck waiting for a reply that may
            //  never come: throw it away and start a fresh one.
            s_close (self);
            log_debug ("retry type=%s req=%llu try=%u why=%s", proto_type_name (request->type),
                       (unsigned long long) request->req, attempt + 1, log_quote (why));
            continue;
        }
        if (answer->req != 0 && answer->req != request->req) {
            snprintf (why, why_size, "reply for request %llu arrived for request %llu",
                      (unsigned long long) answer->req, (unsigned long long) request->req);
            proto_msg_destroy (&answer);
            s_close (self);
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
