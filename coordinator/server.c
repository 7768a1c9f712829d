/*  server.c: see server.h.                                                 */
#include "server.h"

#include "access.h"
#include "checkpointer.h"
#include "clients.h"
#include "curve_keys.h"
#include "endpoint.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "parked.h"
#include "rate.h"
#include "store.h"
#include "util.h"
#include "zap.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

//  ROUTER envelope frames we keep per request: identity and delimiter.
//  A REQ peer sends exactly two; more means a relay we do not support.
#define ENVELOPE_MAX PARKED_ENVELOPE_MAX

//  Requests held without a reply at once (parked.h); past it, a next is
//  answered wait as always.
#define PARKED_MAX 4096
//  How long a frame may be beyond the limit and still reach us for an
//  error reply; past it libzmq itself drops the connection.
#define FRAME_SLACK (1024 * 1024)

//  How often the checkpointer thread copies the WAL into the database
//  (each time also syncs it: once a second is plenty), and how long the
//  WAL may grow (in pages of 4 KiB: 16 MiB) before it is started over.
#define CHECKPOINT_INTERVAL_MS 1000
#define CHECKPOINT_RESTART_FRAMES 4096

typedef struct {
    zmq_msg_t envelope[ENVELOPE_MAX];  //  frames to echo back, delimiter included
    size_t envelope_count;             //  how many
    char *reply;                       //  encoded reply (owned)
    size_t reply_size;                 //  its size
    int type;                          //  for metrics: the request's type, 0 if unread
    char result[PROTO_CODE_MAX];       //  and its result, "ok" or the error code
    int64_t received_us;               //  when it arrived (monotonic)
    zmq_msg_t payload;                 //  the request's frame
    access_peer_t peer;                //  who sent it
    char *parked_frame;                //  parked: a copy of the request (owned), else NULL
    size_t parked_size;
    access_peer_t parked_peer;         //  and who sent it
    int64_t parked_build;              //  requests_parked's answers
    int64_t parked_recheck_ms;
    int64_t parked_deadline_ms;
} pending_t;

struct _server_t {
    server_config_t config;      //  copy of the configuration
    zsock_t *router;             //  the one socket
    int signal_fd;               //  signalfd for SIGINT, SIGTERM, SIGHUP
    store_t *store;              //  the database
    checkpointer_t *checkpointer;    //  WAL checkpoints off the loop, or NULL
    requests_t *requests;        //  request handlers
    parked_list_t *parked;       //  requests held without a reply
    pending_t *pending;          //  max_group slots
    clients_t *clients;          //  authorized agent keys (CurveZMQ), or NULL
    zap_t *zap;                  //  answers CurveZMQ handshakes, or NULL: plain text
    access_mode_t access;        //  what access_peer_read looks at (keys, address, nothing)
    rate_t *rate;                //  requests per second per connection, or NULL: no limit
    uint64_t rate_refused;       //  requests answered busy for their rate, for the log
    int64_t busy_us;             //  the loop's time at work, not in zmq_poll (metrics)
    uint64_t commits;            //  groups of requests committed (metrics)
    retention_t *retention;      //  prunes old history between groups
    notify_t *notify;            //  READY, STATUS, WATCHDOG to systemd
    bool notify_on;              //  NOTIFY_SOCKET is set: keep STATUS current
    int64_t status_due_ms;       //  monotonic time to look at STATUS again
    char endpoint[256];          //  the bound endpoint, for STATUS
    metrics_t *metrics;          //  request counts and latencies
    char *metrics_file;          //  where they go (owned), or NULL
    int64_t metrics_due_ms;      //  monotonic time of the next write
    bool metrics_failing;        //  the last write failed (said once per streak)
    int64_t started_wall_ms;     //  for satchel_start_time_seconds
};

void
server_config_default (server_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->bind = "tcp://127.0.0.1:7450";
    config->max_group = 256;
    config->max_rate = SERVER_DEFAULT_MAX_RATE;
    config->metrics_interval_ms = SERVER_DEFAULT_METRICS_MS;
    requests_config_default (&config->requests);
    config->retention.keep_days = RETENTION_DEFAULT_KEEP_DAYS;
    config->retention.keep_builds_days = RETENTION_DEFAULT_KEEP_BUILDS_DAYS;
}

static sigset_t
s_signals (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    return set;
}

int
server_block_signals (void)
{
    //  czmq would install its own SIGINT/SIGTERM handlers; we read signals
    //  from a signalfd instead.
    zsys_handler_set (NULL);
    sigset_t set = s_signals ();
    return pthread_sigmask (SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

//  Make the socket a CurveZMQ server with satcheld's secret key, its
//  clients those of the --clients folder. Returns 0, or -1 (logged).
static int
s_curve_setup (server_t *self)
{
    const server_config_t *config = &self->config;
    char why[1024];
    int rc = -1;
    //  Read before judging the file's mode: a public certificate given by
    //  mistake is then named as such, not as a file that is too open.
    curve_pair_t pair;
    if (curve_keys_read_secret (config->curve_secret, &pair, why, sizeof why) != 0) {
        log_error ("curve_secret_failed reason=%s", log_quote (why));
        goto cleanup;
    }
    int privacy = curve_keys_privacy (config->curve_secret, why, sizeof why);
    if (privacy < 0) {
        log_error ("curve_secret_failed reason=%s", log_quote (why));
        goto cleanup;
    }
    if (privacy == 2) {
        log_error ("curve_secret_failed path=%s reason=\"every user of this machine may read "
                   "it; chmod 600 it (or pass it with systemd's LoadCredential=)\"",
                   log_quote (config->curve_secret));
        goto cleanup;
    }
    if (privacy == 1)
        log_warn ("curve_secret_readable path=%s reason=\"its group may read it\"",
                  log_quote (config->curve_secret));
    self->clients = clients_new (config->clients, why, sizeof why);
    if (!self->clients) {
        log_error ("clients_failed reason=%s", log_quote (why));
        goto cleanup;
    }
    //  Bound before the CURVE socket binds: with no ZAP handler libzmq
    //  4.3 would let any client in.
    self->zap = zap_new (self->clients, why, sizeof why);
    if (!self->zap) {
        log_error ("zap_failed reason=%s", log_quote (why));
        goto cleanup;
    }
    zsock_set_curve_server (self->router, 1);
    zsock_set_curve_secretkey (self->router, pair.secret_txt);
    zsock_set_curve_publickey (self->router, pair.public_txt);
    //  Any domain makes libzmq ask ZAP; naming it tells whose it is.
    zsock_set_zap_domain (self->router, "satchel");
    log_info ("curve server_key=%s clients=%s keys=%zu", log_quote (pair.public_txt),
              log_quote (config->clients), clients_count (self->clients));
    rc = 0;
cleanup:
    explicit_bzero (&pair, sizeof pair);
    return rc;
}

server_t *
server_new (const server_config_t *config)
{
    server_t *self = util_calloc (1, sizeof *self);
    self->config = *config;
    if (self->config.max_group == 0)
        self->config.max_group = 1;
    self->signal_fd = -1;
    self->pending = util_calloc (self->config.max_group, sizeof (pending_t));
    for (size_t i = 0; i < self->config.max_group; i++)
        zmq_msg_init (&self->pending[i].payload);
    self->rate = config->max_rate > 0 ? rate_new (config->max_rate) : NULL;

    sigset_t set = s_signals ();
    self->signal_fd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (self->signal_fd < 0) {
        log_error ("signalfd_failed error=%s", log_quote (strerror (errno)));
        goto fail;
    }
    self->store = store_open (config->db_path);
    if (!self->store)
        goto fail;      //  store_open logged why
    //  Checkpoints off the serving loop: they wait on the disk.
    self->checkpointer = checkpointer_start (config->db_path, CHECKPOINT_INTERVAL_MS,
                                              CHECKPOINT_RESTART_FRAMES);
    if (self->checkpointer && store_autocheckpoint (self->store, 0) != 0)
        goto fail;
    self->requests = requests_new (self->store, &config->requests);
    self->parked = parked_new (PARKED_MAX);
    self->retention = retention_new (self->store, requests_builds (self->requests),
                                     &config->retention);
    self->notify = notify_new ();
    self->metrics = metrics_new ();
    self->metrics_file = config->metrics_file ? util_strdup (config->metrics_file) : NULL;
    self->started_wall_ms = util_wall_ms ();
    self->notify_on = getenv ("NOTIFY_SOCKET") != NULL;

    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        log_error ("socket_failed error=%s", log_quote (zmq_strerror (zmq_errno ())));
        goto fail;
    }
    zsock_set_linger (self->router, 0);
    //  Frames somewhat over the limit still arrive and get an error reply
    //  that says so; far larger ones are cut off by libzmq.
    size_t hard = config->requests.limits.max_frame + FRAME_SLACK;
    zsock_set_maxmsgsize (self->router, hard > INT32_MAX ? INT32_MAX : (int) hard);
    zsock_set_rcvhwm (self->router, 100000);
    zsock_set_sndhwm (self->router, 100000);
    //  libzmq binds an IPv6 address only on a socket told it may.
    if (strncmp (config->bind, "tcp://[", 7) == 0)
        zsock_set_ipv6 (self->router, 1);
    if (config->curve_secret && s_curve_setup (self) != 0)
        goto fail;
    //  Without keys on an endpoint others reach (--insecure), admin
    //  requests only from this machine (access.h).
    self->access = self->zap ? ACCESS_KEYS
                 : endpoint_is_loopback (config->bind) ? ACCESS_OPEN : ACCESS_NETWORK;
    if (zsock_bind (self->router, "%s", config->bind) < 0) {
        log_error ("bind_failed endpoint=%s error=%s", log_quote (config->bind),
                   log_quote (zmq_strerror (zmq_errno ())));
        goto fail;
    }
    //  The resolved endpoint: a wildcard port ("tcp://127.0.0.1:*") becomes
    //  the real port, which tests read from the ready file.
    char *endpoint = self->endpoint;
    size_t endpoint_size = sizeof self->endpoint;
    zmq_getsockopt (zsock_resolve (self->router), ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
    //  admin=: who may make admin requests (access.h).
    log_info ("serving endpoint=%s db=%s version=%s curve=%s admin=%s", log_quote (endpoint),
              log_quote (config->db_path), SATCHEL_VERSION, self->zap ? "on" : "off",
              self->access == ACCESS_KEYS ? "admin_keys"
              : self->access == ACCESS_NETWORK ? "this_machine" : "anyone");
    if (config->ready_file) {
        char text[300];
        snprintf (text, sizeof text, "%s\n", endpoint);
        if (util_write_file_atomic (config->ready_file, text) != 0) {
            log_error ("ready_file_failed path=%s error=%s", log_quote (config->ready_file),
                       log_quote (strerror (errno)));
            goto fail;
        }
    }
    return self;
fail:
    server_destroy (&self);
    return NULL;
}

void
server_destroy (server_t **self_p)
{
    server_t *self = *self_p;
    if (!self)
        return;
    //  Parked requests get no reply: their agents ask again.
    parked_destroy (&self->parked);
    //  The CURVE socket goes before its ZAP handler (see s_curve_setup).
    zsock_destroy (&self->router);
    zap_destroy (&self->zap);
    clients_destroy (&self->clients);
    notify_destroy (&self->notify);
    metrics_destroy (&self->metrics);
    free (self->metrics_file);
    retention_destroy (&self->retention);
    requests_destroy (&self->requests);
    rate_destroy (&self->rate);
    checkpointer_stop (&self->checkpointer);
    store_destroy (&self->store);
    if (self->signal_fd >= 0)
        close (self->signal_fd);
    if (self->pending)
        for (size_t i = 0; i < self->config.max_group; i++)
            zmq_msg_close (&self->pending[i].payload);
    free (self->pending);
    free (self);
    *self_p = NULL;
}

static void
s_pending_clear (pending_t *slot)
{
    for (size_t i = 0; i < slot->envelope_count; i++)
        zmq_msg_close (&slot->envelope[i]);
    slot->envelope_count = 0;
    free (slot->reply);
    slot->reply = NULL;
    slot->reply_size = 0;
    free (slot->parked_frame);
    slot->parked_frame = NULL;
    zmq_msg_close (&slot->payload);
    zmq_msg_init (&slot->payload);
}

//  Receive one whole message without waiting. Returns 1 if slot holds a
//  request (payload in slot->payload), 0 if nothing is waiting, -1 if a
//  message arrived that cannot be answered (dropped).
static int
s_receive (server_t *self, pending_t *slot)
{
    void *socket = zsock_resolve (self->router);
    slot->envelope_count = 0;
    //  Envelope frames up to and including the empty delimiter.
    while (true) {
        zmq_msg_t *frame = &slot->envelope[slot->envelope_count];
        zmq_msg_init (frame);
        int flags = slot->envelope_count == 0 ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv (frame, socket, flags) < 0) {
            zmq_msg_close (frame);
            if (slot->envelope_count == 0)
                return 0;
            s_pending_clear (slot);     //  the frames that did come
            return -1;
        }
        slot->envelope_count++;
        bool more = zmq_msg_more (frame);
        if (zmq_msg_size (frame) == 0 && slot->envelope_count >= 2 && more)
            break;      //  the delimiter, with the request after it
        if (!more || slot->envelope_count == ENVELOPE_MAX) {
            //  No delimiter, or nothing after it: not a REQ peer, nothing
            //  sane to reply to. Never wait for more: the next frame on the
            //  socket would be another peer's.
            log_debug ("dropped reason=\"no request after the envelope\"");
            if (more) {
                zmq_msg_t rest;
                zmq_msg_init (&rest);
                while (zmq_msg_recv (&rest, socket, 0) >= 0 && zmq_msg_more (&rest))
                    ;
                zmq_msg_close (&rest);
            }
            s_pending_clear (slot);
            return -1;
        }
    }
    if (zmq_msg_recv (&slot->payload, socket, 0) < 0) {
        s_pending_clear (slot);
        return -1;
    }
    //  Who sent it: every frame of a message carries its connection's
    //  properties, which with CurveZMQ the ZAP handler set.
    access_peer_read (&slot->peer, &slot->payload, self->access);
    if (zmq_msg_more (&slot->payload)) {
        //  A request is one frame; swallow the rest and answer with an error.
        zmq_msg_t rest;
        zmq_msg_init (&rest);
        while (zmq_msg_recv (&rest, socket, 0) >= 0 && zmq_msg_more (&rest))
            ;
        zmq_msg_close (&rest);
        proto_msg_t *error = proto_error_new (NULL, 0, PROTO_ERR_BAD_REQUEST, "",
                                              "a request is exactly one frame");
        proto_encode (error, &slot->reply, &slot->reply_size);
        proto_msg_destroy (&error);
    }
    return 1;
}

static void
s_send_to (server_t *self, zmq_msg_t *envelope, size_t envelope_count, const char *reply,
           size_t reply_size)
{
    void *socket = zsock_resolve (self->router);
    for (size_t i = 0; i < envelope_count; i++)
        zmq_msg_send (&envelope[i], socket, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    //  A peer that went away is silently skipped by ROUTER; that is fine,
    //  its reply is remembered and a retry will get it.
    zmq_send (socket, reply, reply_size, ZMQ_DONTWAIT);
}

static void
s_send (server_t *self, pending_t *slot)
{
    s_send_to (self, slot->envelope, slot->envelope_count, slot->reply, slot->reply_size);
}

//  The reply to a request over its connection's rate.
static void
s_busy (server_t *self, pending_t *slot)
{
    proto_msg_t *error = proto_error_new (NULL, 0, PROTO_ERR_BUSY, "",
                                          "more than %.0f requests a second on this "
                                          "connection (satcheld --max-rate)",
                                          self->config.max_rate);
    proto_encode (error, &slot->reply, &slot->reply_size);
    proto_msg_destroy (&error);
    self->rate_refused++;
    if (self->rate_refused == 1 || self->rate_refused % 10000 == 0)
        log_warn ("rate_limited refused=%llu max_rate=%.0f",
                  (unsigned long long) self->rate_refused, self->config.max_rate);
}

//  Take what is waiting, handle it in one transaction, reply after commit.
static void
s_handle_group (server_t *self)
{
    //  What has arrived by now is the group; what comes while it is
    //  handled waits for the next, so the agents answered first are
    //  already busy with their replies while it is.
    size_t count = 0;
    while (count < self->config.max_group) {
        pending_t *slot = &self->pending[count];
        int rc = s_receive (self, slot);
        if (rc == 0)
            break;
        if (rc < 0)
            continue;
        count++;
        slot->received_us = util_mono_us ();
    }
    if (count == 0)
        return;
    bool failed = store_begin (self->store) != 0;
    for (size_t i = 0; i < count; i++) {
        pending_t *slot = &self->pending[i];
        slot->type = 0;
        snprintf (slot->result, sizeof slot->result, "%s", PROTO_ERR_BAD_REQUEST);
        if (slot->reply)
            continue;   //  already answered (multipart request)
        //  Over its rate, a connection's request is not even decoded: the
        //  flood costs little, and an honest agent retries after "busy".
        if (self->rate && !rate_allow (self->rate, zmq_msg_data (&slot->envelope[0]),
                                       zmq_msg_size (&slot->envelope[0]), util_mono_ms ())) {
            s_busy (self, slot);
            snprintf (slot->result, sizeof slot->result, "%s", PROTO_ERR_BUSY);
            continue;
        }
        const void *data = zmq_msg_data (&slot->payload);
        size_t size = zmq_msg_size (&slot->payload);
        requests_park (self->requests, parked_count (self->parked) + i + 1 <= PARKED_MAX, false);
        if (failed)
            requests_internal_error (&slot->reply, &slot->reply_size);
        else if (requests_handle_as (self->requests, data, size, &slot->peer, &slot->reply,
                                     &slot->reply_size) != 0)
            failed = true;
        requests_park (self->requests, false, false);
        if (!failed && !slot->reply) {
            //  Parked: kept, with what it takes to handle it again, once
            //  the group is committed.
            uint64_t park_ms = 0;
            requests_parked (self->requests, &slot->parked_build, &slot->parked_recheck_ms,
                             &park_ms);
            //  Its agent's time runs from when it sent the request.
            slot->parked_deadline_ms = slot->received_us / 1000 + (int64_t) park_ms;
            slot->parked_frame = util_malloc (size ? size : 1);
            memcpy (slot->parked_frame, data, size);
            slot->parked_size = size;
            slot->parked_peer = slot->peer;
        }
        if (!failed) {
            const char *result = NULL;
            requests_last_outcome (self->requests, &slot->type, &result);
            snprintf (slot->result, sizeof slot->result, "%s", result);
        }
    }
    if (!failed && store_commit (self->store) != 0)
        failed = true;
    if (failed) {
        //  Nothing of this group is durable, so nothing of it may be seen:
        //  every reply becomes a transient error and memory is reloaded.
        store_rollback (self->store);
        requests_forget (self->requests);
        for (size_t i = 0; i < count; i++) {
            free (self->pending[i].reply);
            requests_internal_error (&self->pending[i].reply, &self->pending[i].reply_size);
            snprintf (self->pending[i].result, sizeof self->pending[i].result, "%s",
                      PROTO_ERR_INTERNAL);
        }
        log_error ("group_failed requests=%zu", count);
    }
    else {
        requests_after_commit (self->requests);
        self->commits++;
    }
    for (size_t i = 0; i < count; i++) {
        pending_t *slot = &self->pending[i];
        if (slot->parked_frame && !failed) {
            //  Room was made sure of before it was parked.
            int rc = parked_add (self->parked, slot->envelope, slot->envelope_count,
                                 slot->parked_frame, slot->parked_size, &slot->parked_peer,
                                 slot->parked_build, slot->parked_recheck_ms,
                                 slot->parked_deadline_ms);
            assert (rc == 0);
            (void) rc;
            slot->envelope_count = 0;
            s_pending_clear (slot);
            continue;
        }
        s_send (self, slot);
        metrics_request (self->metrics, slot->type, slot->result,
                         util_mono_us () - slot->received_us);
        s_pending_clear (slot);
    }
}

//  Handle again, in one transaction, the parked requests that are due:
//  their build changed, or a lease may have lapsed, or their time is up
//  (then they are answered wait as ever). Those answered get their reply
//  after the commit; the others are parked again. Returns how many were
//  handled.
static size_t
s_unpark_pass (server_t *self)
{
    const int64_t *ids = NULL;
    size_t changed = requests_changed_builds (self->requests, &ids);
    size_t parked = parked_count (self->parked);
    int64_t now = util_mono_ms ();
    if (parked == 0 || (changed == 0 && parked_wait_ms (self->parked, now) > 0))
        return 0;
    //  Handling them may note changes of its own: keep a copy.
    int64_t *builds = util_malloc ((changed ? changed : 1) * sizeof (int64_t));
    if (changed > 0)
        memcpy (builds, ids, changed * sizeof (int64_t));
    parked_t *due = util_malloc (parked * sizeof (parked_t));
    size_t taken = parked_take_due (self->parked, now, builds, changed, due, parked);
    //  Why each was due, for the debug line of those answered.
    const char **why = util_calloc (taken ? taken : 1, sizeof (char *));
    for (size_t i = 0; i < taken; i++) {
        why[i] = now >= due[i].deadline_ms ? "time_up" : "recheck";
        for (size_t k = 0; k < changed; k++)
            if (builds[k] == due[i].build_id)
                why[i] = "build_changed";
    }
    free (builds);
    char **replies = util_calloc (taken ? taken : 1, sizeof (char *));
    size_t *sizes = util_calloc (taken ? taken : 1, sizeof (size_t));
    int64_t *recheck = util_calloc (taken ? taken : 1, sizeof (int64_t));
    int *types = util_calloc (taken ? taken : 1, sizeof (int));
    char (*results)[PROTO_CODE_MAX] = util_calloc (taken ? taken : 1, PROTO_CODE_MAX);
    int64_t started_us = util_mono_us ();
    bool failed = taken > 0 && store_begin (self->store) != 0;
    for (size_t i = 0; i < taken && !failed; i++) {
        due[i].handled++;
        requests_park (self->requests, now < due[i].deadline_ms, true);
        if (requests_handle_as (self->requests, due[i].frame, due[i].frame_size, &due[i].peer,
                                &replies[i], &sizes[i]) != 0)
            failed = true;
        else if (!replies[i]) {
            int64_t build = 0;
            uint64_t park_ms = 0;
            requests_parked (self->requests, &build, &recheck[i], &park_ms);
        }
        else {
            const char *result = NULL;
            requests_last_outcome (self->requests, &types[i], &result);
            snprintf (results[i], PROTO_CODE_MAX, "%s", result);
        }
        requests_park (self->requests, false, false);
    }
    if (taken > 0 && !failed && store_commit (self->store) != 0)
        failed = true;
    if (failed) {
        store_rollback (self->store);
        requests_forget (self->requests);
        for (size_t i = 0; i < taken; i++) {
            free (replies[i]);
            requests_internal_error (&replies[i], &sizes[i]);
            types[i] = PROTO_NEXT;
            snprintf (results[i], PROTO_CODE_MAX, "%s", PROTO_ERR_INTERNAL);
        }
        log_error ("group_failed requests=%zu parked=yes", taken);
    }
    else if (taken > 0) {
        requests_after_commit (self->requests);
        self->commits++;
    }
    for (size_t i = 0; i < taken; i++) {
        if (!replies[i]) {
            parked_put_back (self->parked, &due[i], recheck[i]);
            continue;
        }
        log_debug ("parked_answered build_id=%lld why=%s handled=%u", (long long) due[i].build_id,
                   why[i], due[i].handled);
        s_send_to (self, due[i].envelope, due[i].envelope_count, replies[i], sizes[i]);
        //  Its latency is the handling, not the time it was held.
        metrics_request (self->metrics, types[i], results[i], util_mono_us () - started_us);
        parked_release (&due[i]);
        free (replies[i]);
    }
    free (replies);
    free (sizes);
    free (recheck);
    free (types);
    free (results);
    free (why);
    free (due);
    return taken;
}

//  Parked requests handled again may change their builds in turn (a lease
//  found lapsed): a few passes let the others of that build see it now.
static void
s_unpark (server_t *self)
{
    for (int pass = 0; pass < 4 && s_unpark_pass (self) > 0; pass++)
        ;
}

//  Rewrite the metrics file if one is asked for and it is time.
static void
s_metrics (server_t *self, int64_t now)
{
    if (!self->metrics_file || now < self->metrics_due_ms)
        return;
    self->metrics_due_ms = now + self->config.metrics_interval_ms;
    builds_t *builds = requests_builds (self->requests);
    const requests_stats_t *stats = requests_stats (self->requests);
    metrics_gauges_t gauges = {
        .builds_running = builds_in_flight (builds, now - REQUESTS_IN_FLIGHT_IDLE_MS),
        .batches = stats->batches, .units = stats->units, .leases_expired = stats->expired,
        .replays = stats->retries, .agents_seen = builds_agents_seen (builds, now - 60000),
        .db_bytes = store_disk_bytes (self->store), .rate_limited = self->rate_refused,
        .start_wall_ms = self->started_wall_ms, .fallbacks = stats->fallbacks,
        .busy_us = self->busy_us, .commits = self->commits
    };
    memcpy (gauges.builds_finished, stats->finished, sizeof gauges.builds_finished);
    if (metrics_write (self->metrics, self->metrics_file, &gauges) != 0) {
        if (!self->metrics_failing)
            log_warn ("metrics_write_failed path=%s error=%s", log_quote (self->metrics_file),
                      log_quote (strerror (errno)));
        self->metrics_failing = true;
    }
    else
        self->metrics_failing = false;
}

//  What STATUS= says: the endpoint, builds in flight (as --max-builds
//  counts them), agents heard from in the last minute, requests so far.
static void
s_status_text (server_t *self, char *text, size_t size)
{
    builds_t *builds = requests_builds (self->requests);
    int64_t now = util_mono_ms ();
    size_t flying = builds_in_flight (builds, now - REQUESTS_IN_FLIGHT_IDLE_MS);
    size_t agents = builds_agents_seen (builds, now - 60000);
    snprintf (text, size, "serving %s: %zu build%s in flight, %zu agent%s in the last minute,"
              " %llu requests", self->endpoint, flying, flying == 1 ? "" : "s", agents,
              agents == 1 ? "" : "s",
              (unsigned long long) requests_stats (self->requests)->requests);
}

//  The loop's poll timeout: the sooner of the watchdog's next ping, the
//  next look at STATUS and the next retention step; -1 if none.
static long
s_wait_ms (server_t *self, int64_t now)
{
    int64_t waits[] = {
        parked_wait_ms (self->parked, now),
        notify_wait_ms (self->notify, now),
        self->notify_on ? (self->status_due_ms > now ? self->status_due_ms - now : 0) : -1,
        retention_wait_ms (self->retention, now),
        self->metrics_file ? (self->metrics_due_ms > now ? self->metrics_due_ms - now : 0) : -1
    };
    int64_t wait = -1;
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
        if (waits[i] >= 0 && (wait < 0 || waits[i] < wait))
            wait = waits[i];
    return (long) wait;
}

//  Between two turns of the loop: the watchdog, STATUS, retention.
static void
s_housekeeping (server_t *self)
{
    int64_t now = util_mono_ms ();
    notify_watchdog (self->notify, now);
    if (self->notify_on && now >= self->status_due_ms) {
        char text[512];
        s_status_text (self, text, sizeof text);
        notify_status (self->notify, text, now, false);
        self->status_due_ms = now + NOTIFY_STATUS_MS;
    }
    //  Logged and retried later if it fails: serving goes on.
    retention_run (self->retention, now, util_wall_ms ());
    s_metrics (self, now);
}

//  Add name to the comma-separated list in changed.
static void
s_note (char *changed, size_t size, const char *name)
{
    size_t used = strlen (changed);
    snprintf (changed + used, size - used, "%s%s", used ? "," : "", name);
}

//  SIGHUP: take the live settings of a reload; the rest stays (the reload
//  function warned about it). Nothing in flight is dropped: builds, their
//  leases and connections carry on under the new limits.
static void
s_reload (server_t *self)
{
    if (!self->config.reload) {
        log_info ("signal_ignored signal=SIGHUP reason=\"no configuration to reload\"");
        return;
    }
    server_config_t next;
    log_level_t level = log_level ();
    char why[1024] = "";
    if (self->config.reload (self->config.reload_arg, &next, &level, why, sizeof why) != 0) {
        log_error ("config_reload_failed error=%s keeping=\"the running settings\"",
                   log_quote (why));
        return;
    }
    char changed[512] = "";
    const requests_config_t *was = &self->config.requests, *now = &next.requests;
    const struct {
        const char *name;
        bool differs;
    } checks[] = {
        { "log-level", level != log_level () },
        { "runner-startup", was->policy.startup_ms != now->policy.startup_ms
                            || was->startup_given != now->startup_given },
        { "batch-factor", was->policy.factor != now->policy.factor },
        { "max-batch-units", was->policy.max_batch_units != now->policy.max_batch_units },
        { "default-estimate", was->policy.default_ms != now->policy.default_ms },
        { "lease", was->leases.lease_ms != now->leases.lease_ms },
        { "lease-max", was->leases.lease_max_ms != now->leases.lease_max_ms },
        { "requeue-failed", was->retry.requeue_failed != now->retry.requeue_failed },
        { "requeue-budget", was->retry.requeue_budget != now->retry.requeue_budget },
        { "max-message", was->limits.max_frame != now->limits.max_frame },
        { "max-units", was->limits.max_units != now->limits.max_units },
        { "max-name", was->limits.max_name != now->limits.max_name },
        { "max-nodes", was->limits.max_nodes != now->limits.max_nodes },
        { "max-rate", self->config.max_rate != next.max_rate },
        { "max-builds", was->max_builds != now->max_builds },
        { "keep-days", self->config.retention.keep_days != next.retention.keep_days },
        { "keep-builds-days",
          self->config.retention.keep_builds_days != next.retention.keep_builds_days },
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (checks[i].differs)
            s_note (changed, sizeof changed, checks[i].name);
    //  Batches handed out under the old max-units may be longer than the
    //  new one: their reports keep the largest limit this daemon has had.
    size_t reported = was->limits.max_units > was->limits.max_report_units
                    ? was->limits.max_units : was->limits.max_report_units;
    if (reported > next.requests.limits.max_report_units)
        next.requests.limits.max_report_units = reported;
    log_setup (level, "");
    requests_configure (self->requests, now);
    self->config.requests = *now;
    if (self->config.max_rate != next.max_rate) {
        rate_destroy (&self->rate);
        self->rate = next.max_rate > 0 ? rate_new (next.max_rate) : NULL;
        self->config.max_rate = next.max_rate;
    }
    //  New connections get the new hard ceiling; the limit itself is the
    //  decoder's, in force for every request from now.
    size_t hard = now->limits.max_frame + FRAME_SLACK;
    zsock_set_maxmsgsize (self->router, hard > INT32_MAX ? INT32_MAX : (int) hard);
    retention_configure (self->retention, &next.retention);
    self->config.retention = next.retention;
    if ((self->metrics_file == NULL) != (next.metrics_file == NULL)
    ||  (next.metrics_file && strcmp (self->metrics_file, next.metrics_file) != 0)) {
        s_note (changed, sizeof changed, "metrics-file");
        free (self->metrics_file);
        self->metrics_file = next.metrics_file ? util_strdup (next.metrics_file) : NULL;
        self->metrics_due_ms = 0;
    }
    if (self->config.metrics_interval_ms != next.metrics_interval_ms) {
        s_note (changed, sizeof changed, "metrics-interval");
        self->config.metrics_interval_ms = next.metrics_interval_ms;
        self->metrics_due_ms = 0;
    }
    //  The folder is read again now, not only at the next handshake.
    if (self->clients)
        clients_refresh (self->clients);
    log_info ("config_reloaded changed=%s clients=%zu", *changed ? changed : "none",
              self->clients ? clients_count (self->clients) : (size_t) 0);
}

int
server_run (server_t *self)
{
    void *socket = zsock_resolve (self->router);
    //  Bound and the database open and migrated (server_new): ready.
    char text[512];
    s_status_text (self, text, sizeof text);
    notify_ready (self->notify, text);
    self->status_due_ms = util_mono_ms () + NOTIFY_STATUS_MS;
    while (true) {
        zmq_pollitem_t items[] = {
            { socket, 0, ZMQ_POLLIN, 0 },
            { NULL, self->signal_fd, ZMQ_POLLIN, 0 },
            { self->zap ? zap_socket (self->zap) : NULL, 0, ZMQ_POLLIN, 0 }
        };
        //  Housekeeping runs between groups; the poll wakes up for it.
        if (zmq_poll (items, self->zap ? 3 : 2, s_wait_ms (self, util_mono_ms ())) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("poll_failed error=%s", log_quote (zmq_strerror (zmq_errno ())));
            return -1;
        }
        int64_t woke_us = util_mono_us ();
        //  Handshakes first: an agent's request waits on its handshake.
        if (self->zap && (items[2].revents & ZMQ_POLLIN))
            zap_handle (self->zap);
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_group (self);
        s_unpark (self);
        //  Counted before housekeeping, which may write the metrics now.
        int64_t served_us = util_mono_us ();
        self->busy_us += served_us - woke_us;
        s_housekeeping (self);
        self->busy_us += util_mono_us () - served_us;
        if (items[1].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo info;
            while (read (self->signal_fd, &info, sizeof info) == (ssize_t) sizeof info) {
                if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) {
                    const requests_stats_t *stats = requests_stats (self->requests);
                    log_info ("stopping signal=%s requests=%llu batches=%llu commits=%llu "
                              "busy_ms=%lld", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
                              (unsigned long long) stats->requests,
                              (unsigned long long) stats->batches,
                              (unsigned long long) self->commits,
                              (long long) (self->busy_us / 1000));
                    //  The counters as they end, for the last scrape.
                    self->metrics_due_ms = 0;
                    s_metrics (self, util_mono_ms ());
                    notify_stopping (self->notify, "stopping: closing the database");
                    return 0;
                }
                s_reload (self);
            }
        }
    }
}
