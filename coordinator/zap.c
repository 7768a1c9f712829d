/*  zap.c: see zap.h.                                                       */
#include "zap.h"

#include "log.h"
#include "util.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <string.h>

//  Fixed by RFC 27; libzmq connects its handshakes there.
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

//  A client hammering the port with a bad key must not flood the log: at
//  most this many refusals are logged per window, then one line counts
//  the rest.
#define REFUSALS_LOGGED 20
#define REFUSAL_WINDOW_MS 10000

struct _zap_t {
    zsock_t *socket;             //  REP, bound to ZAP_ENDPOINT
    clients_t *clients;          //  authorized keys (borrowed)
    int64_t window_start;        //  monotonic start of the refusal log window
    uint32_t window_logged;      //  refusals logged in it
    uint32_t window_unlogged;    //  refusals not logged in it
};

zap_t *
zap_new (clients_t *clients, char *why, size_t why_size)
{
    zap_t *self = util_calloc (1, sizeof *self);
    self->clients = clients;
    self->socket = zsock_new (ZMQ_REP);
    if (!self->socket) {
        snprintf (why, why_size, "cannot make the ZAP socket: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
    zsock_set_linger (self->socket, 0);
    if (zsock_bind (self->socket, ZAP_ENDPOINT) != 0) {
        //  EADDRINUSE: another ZAP handler in this process (a bug).
        snprintf (why, why_size, "cannot bind %s: %s", ZAP_ENDPOINT,
                  zmq_strerror (zmq_errno ()));
        goto fail;
    }
    return self;
fail:
    zap_destroy (&self);
    return NULL;
}

void
zap_destroy (zap_t **self_p)
{
    zap_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->socket);
    free (self);
    *self_p = NULL;
}

void *
zap_socket (zap_t *self)
{
    return zsock_resolve (self->socket);
}

//  Append one property in ZMTP's metadata encoding: name length (1 byte),
//  name, value length (4 bytes, big-endian), value.
static void
s_property (zchunk_t *chunk, const char *name, const char *value)
{
    size_t name_size = strlen (name);
    size_t value_size = strlen (value);
    //  Names are our constants; values are bounded by curve_keys.h.
    assert (name_size <= 255 && value_size <= UINT32_MAX);
    byte head[1] = { (byte) name_size };
    byte length[4] = {
        (byte) (value_size >> 24), (byte) (value_size >> 16), (byte) (value_size >> 8),
        (byte) value_size
    };
    zchunk_extend (chunk, head, 1);
    zchunk_extend (chunk, name, name_size);
    zchunk_extend (chunk, length, 4);
    zchunk_extend (chunk, value, value_size);
}

static void
s_log_refusal (zap_t *self, const char *key, const char *address, const char *reason)
{
    int64_t now = util_mono_ms ();
    if (now - self->window_start >= REFUSAL_WINDOW_MS) {
        if (self->window_unlogged > 0)
            log_warn ("handshakes_refused_unlogged count=%u window_ms=%d",
                      self->window_unlogged, REFUSAL_WINDOW_MS);
        self->window_start = now;
        self->window_logged = 0;
        self->window_unlogged = 0;
    }
    if (self->window_logged >= REFUSALS_LOGGED) {
        self->window_unlogged++;
        return;
    }
    self->window_logged++;
    log_warn ("handshake_refused key=%s address=%s reason=%s", log_quote (key),
              log_quote (address), log_quote (reason));
}

//  Answer one request (RFC 27): version, request id, domain, address,
//  routing id, mechanism, credentials. Every request gets exactly one
//  reply, whatever it holds: a REP socket that skipped one would take no
//  further request, and every later handshake would hang.
static void
s_answer (zap_t *self, zmsg_t *request)
{
    zframe_t *version = zmsg_pop (request);
    zframe_t *sequence = zmsg_pop (request);
    zframe_t *domain = zmsg_pop (request);
    zframe_t *address_frame = zmsg_pop (request);
    zframe_t *identity = zmsg_pop (request);
    zframe_t *mechanism = zmsg_pop (request);
    zframe_t *credential = zmsg_pop (request);
    char address[64] = "";
    if (address_frame && zframe_size (address_frame) < sizeof address)
        memcpy (address, zframe_data (address_frame), zframe_size (address_frame));

    const char *status = "400";
    const char *text = "no access";
    char key[CURVE_KEY_TEXT + 1] = "";
    const curve_meta_t *meta = NULL;
    if (!version || !zframe_streq (version, "1.0"))
        text = "unknown ZAP version";
    else
    if (!mechanism || !zframe_streq (mechanism, "CURVE")) {
        //  Only the CURVE server socket exists in satcheld; anything else
        //  asking is not a client of ours.
        text = "CURVE only";
    }
    else
    if (!credential || zframe_size (credential) != 32)
        text = "no CURVE key";
    else {
        zmq_z85_encode (key, zframe_data (credential), 32);
        clients_refresh (self->clients);
        meta = clients_lookup (self->clients, key);
        if (meta) {
            status = "200";
            text = "OK";
        }
        else
            s_log_refusal (self, key, address, "the key is not in the --clients folder");
    }
    zchunk_t *metadata = zchunk_new (NULL, 0);
    if (meta) {
        s_property (metadata, ZAP_PROP_NAME, meta->name);
        s_property (metadata, ZAP_PROP_SUITES, meta->all_suites ? "*" : meta->suites);
        s_property (metadata, ZAP_PROP_ADMIN, meta->admin ? "yes" : "no");
        log_debug ("handshake_accepted key=%s name=%s address=%s", log_quote (key),
                   log_quote (meta->name), log_quote (address));
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    if (sequence)
        zmsg_append (reply, &sequence);
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, meta ? key : "");
    zmsg_addmem (reply, zchunk_data (metadata), zchunk_size (metadata));
    if (zmsg_send (&reply, self->socket) != 0) {
        log_error ("zap_reply_failed error=%s", log_quote (zmq_strerror (zmq_errno ())));
        zmsg_destroy (&reply);
    }
    zchunk_destroy (&metadata);
    zframe_destroy (&version);
    zframe_destroy (&sequence);
    zframe_destroy (&domain);
    zframe_destroy (&address_frame);
    zframe_destroy (&identity);
    zframe_destroy (&mechanism);
    zframe_destroy (&credential);
}

void
zap_handle (zap_t *self)
{
    while (zsock_events (self->socket) & ZMQ_POLLIN) {
        zmsg_t *request = zmsg_recv (self->socket);
        if (!request)
            break;
        s_answer (self, request);
        zmsg_destroy (&request);
    }
}
