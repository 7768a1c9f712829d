/*  proto.c: see proto.h. Messages, errors, the digest and encoding; the
    decoder is in proto_decode.c.

    Encoding packs the pairs of a message into a body buffer, counting
    them, then writes the map header with that count and the body after
    it, so the count can never disagree with what follows.                 */
#include "proto.h"

#include "util.h"
#include "wire.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_type_names[] = {
    [PROTO_JOIN] = "join",
    [PROTO_NEXT] = "next",
    [PROTO_JOINED] = "joined",
    [PROTO_BATCH] = "batch",
    [PROTO_DONE] = "done",
    [PROTO_ERROR] = "error",
    [PROTO_HEARTBEAT] = "heartbeat",
    [PROTO_ACK] = "ack",
    [PROTO_WAIT] = "wait",
    [PROTO_EXPAND] = "expand",
    [PROTO_IMPORT] = "import",
    [PROTO_IMPORTED] = "imported",
    [PROTO_STATUS] = "status",
    [PROTO_DAEMON_STATUS] = "daemon_status",
    [PROTO_ADMIN] = "admin",
    [PROTO_ADMIN_JOB] = "admin_job",
    [PROTO_QUERY] = "query",
    [PROTO_QUERY_RESULT] = "query_result",
    [PROTO_FALLBACK] = "fallback",
    [PROTO_NOTED] = "noted"
};
#define S_TYPE_COUNT (sizeof (s_type_names) / sizeof (s_type_names[0]))

void
proto_limits_default (proto_limits_t *limits)
{
    limits->max_frame = PROTO_DEFAULT_MAX_FRAME;
    limits->max_units = PROTO_DEFAULT_MAX_UNITS;
    limits->max_report_units = 0;
    limits->max_name = PROTO_DEFAULT_MAX_NAME;
    limits->max_nodes = PROTO_DEFAULT_MAX_NODES;
}

const char *
proto_type_name (proto_type_t type)
{
    if ((size_t) type >= S_TYPE_COUNT || !s_type_names[type])
        return "unknown";
    return s_type_names[type];
}

const char *
proto_kind_name (proto_kind_t kind)
{
    switch (kind) {
        case PROTO_KIND_QUEUE: return "queue";
        case PROTO_KIND_REPLAY: return "replay";
        case PROTO_KIND_RETRY: return "retry";
        case PROTO_KIND_REGULAR: return "regular";
    }
    return "unknown";
}

proto_msg_t *
proto_msg_new (proto_type_t type)
{
    proto_msg_t *self = util_calloc (1, sizeof (proto_msg_t));
    self->type = type;
    return self;
}

static void
s_free_units (proto_msg_t *self)
{
    for (size_t i = 0; self->units && i < self->unit_count; i++)
        free (self->units[i]);
    free (self->units);
    self->units = NULL;
    self->unit_count = 0;
}

void
proto_msg_destroy (proto_msg_t **self_p)
{
    assert (self_p);
    proto_msg_t *self = *self_p;
    if (!self)
        return;
    free (self->attempt);
    free (self->suite);
    free (self->build);
    free (self->commit);
    free (self->branch);
    free (self->machine);
    free (self->mode);
    free (self->digest);
    s_free_units (self);
    free (self->predicted_ms);
    free (self->report_times_ms);
    free (self->report_status);
    for (size_t i = 0; self->examples && i < self->example_count; i++)
        free (self->examples[i]);
    free (self->examples);
    free (self->example_file);
    free (self->times_ms);
    free (self->parent);
    free (self->code);
    free (self->field);
    free (self->message);
    free (self->reason);
    free (self->version);
    free (self->action);
    free (self->state);
    free (self->data);
    free (self->what);
    free (self->unit);
    free (self);
    *self_p = NULL;
}

void
proto_msg_set_str (char **field, const char *value)
{
    //  A NULL value clears the field, so an absent attempt can be echoed
    //  without a test at every call site.
    free (*field);
    *field = value ? util_strdup (value) : NULL;
}

void
proto_msg_set_units (proto_msg_t *self, const char *const *units, size_t count)
{
    s_free_units (self);
    if (count == 0)
        return;
    self->units = util_calloc (count, sizeof (char *));
    for (size_t i = 0; i < count; i++)
        self->units[i] = util_strdup (units[i]);
    self->unit_count = count;
}

void
proto_msg_set_examples (proto_msg_t *self, const char *const *ids, const uint32_t *file,
                        size_t count)
{
    for (size_t i = 0; self->examples && i < self->example_count; i++)
        free (self->examples[i]);
    free (self->examples);
    free (self->example_file);
    self->examples = util_calloc (count ? count : 1, sizeof (char *));
    self->example_file = util_calloc (count ? count : 1, sizeof (uint32_t));
    for (size_t i = 0; i < count; i++) {
        self->examples[i] = util_strdup (ids[i]);
        self->example_file[i] = file[i];
    }
    self->example_count = count;
}

void
proto_digest (const char *const *units, size_t count, char out[PROTO_DIGEST_LEN + 1])
{
    zdigest_t *digest = zdigest_new ();
    if (!digest) {
        fputs ("fatal: out of memory\n", stderr);
        abort ();
    }
    for (size_t i = 0; i < count; i++) {
        //  The length prefix makes the encoding unambiguous even if a
        //  name were to contain '\n'.
        size_t length = strlen (units[i]);
        char prefix[32];
        int prefix_size = snprintf (prefix, sizeof prefix, "%zu:", length);
        zdigest_update (digest, (const byte *) prefix, (size_t) prefix_size);
        zdigest_update (digest, (const byte *) units[i], length);
        zdigest_update (digest, (const byte *) "\n", 1);
    }
    //  Format the raw bytes ourselves: zdigest_string is uppercase and the
    //  protocol says lowercase.
    const byte *hash = zdigest_data (digest);
    assert (zdigest_size (digest) * 2 == PROTO_DIGEST_LEN);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < PROTO_DIGEST_LEN / 2; i++) {
        out[2 * i] = hex[hash[i] >> 4];
        out[2 * i + 1] = hex[hash[i] & 0x0f];
    }
    out[PROTO_DIGEST_LEN] = 0;
    zdigest_destroy (&digest);
}

//  ---------------------------------------------------------------------
//  Errors

proto_msg_t *
proto_error_new (const char *attempt, uint64_t req, const char *code,
                 const char *field, const char *fmt, ...)
{
    assert (code && fmt);
    proto_msg_t *self = proto_msg_new (PROTO_ERROR);
    //  proto_error_t holds "" for an unreadable attempt; that means absent.
    if (attempt && *attempt)
        self->attempt = util_strdup (attempt);
    self->req = req;
    self->code = util_strdup (code);
    self->field = util_strdup (field ? field : "");
    char message[PROTO_MESSAGE_MAX];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);
    self->message = util_strdup (message);
    return self;
}

bool
proto_error_is_user (const char *code)
{
    //  Only the codes known to be transient are retried. A code this side
    //  does not know (from a newer daemon) counts as a user error: retrying
    //  what we cannot interpret would only delay the same refusal, while
    //  stopping shows the daemon's message to a person at once.
    if (!code)
        return true;
    return strcmp (code, PROTO_ERR_STALE) != 0 && strcmp (code, PROTO_ERR_INTERNAL) != 0
        && strcmp (code, PROTO_ERR_BUSY) != 0;
}

//  ---------------------------------------------------------------------
//  Encoding

//  A growing buffer behind a msgpack_packer. It grows with util_realloc,
//  which aborts on out-of-memory, so packing cannot fail half-way and no
//  pack call needs a check.
typedef struct {
    char *data;         //  Bytes packed so far (malloc'd)
    size_t size;        //  Bytes used
    size_t alloc;       //  Bytes allocated
} s_buffer_t;

static int
s_buffer_write (void *data, const char *bytes, size_t size)
{
    s_buffer_t *self = data;
    if (size > self->alloc - self->size) {
        size_t alloc = self->alloc ? self->alloc : 256;
        while (alloc - self->size < size)
            alloc *= 2;
        self->data = util_realloc (self->data, alloc);
        self->alloc = alloc;
    }
    memcpy (self->data + self->size, bytes, size);
    self->size += size;
    return 0;
}

//  The pairs of one map, and how many.
typedef struct {
    s_buffer_t body;        //  Packed pairs
    msgpack_packer pk;      //  Packs into body
    uint32_t pairs;         //  Pairs packed so far
} s_encoder_t;

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    size_t length = strlen (text);
    msgpack_pack_str (pk, length);
    msgpack_pack_str_body (pk, text, length);
}

static void
s_put_key (s_encoder_t *self, const char *key)
{
    self->pairs++;
    s_pack_str (&self->pk, key);
}

static void
s_put_str (s_encoder_t *self, const char *key, const char *value)
{
    s_put_key (self, key);
    s_pack_str (&self->pk, value);
}

static void
s_put_uint (s_encoder_t *self, const char *key, uint64_t value)
{
    s_put_key (self, key);
    msgpack_pack_uint64 (&self->pk, value);
}

static void
s_put_bool (s_encoder_t *self, const char *key, bool value)
{
    s_put_key (self, key);
    if (value)
        msgpack_pack_true (&self->pk);
    else
        msgpack_pack_false (&self->pk);
}

static void
s_put_strs (s_encoder_t *self, const char *key, char *const *values, size_t count)
{
    s_put_key (self, key);
    msgpack_pack_array (&self->pk, count);
    for (size_t i = 0; i < count; i++)
        s_pack_str (&self->pk, values[i]);
}

static void
s_pack_uints (msgpack_packer *pk, const uint64_t *values, size_t count)
{
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++)
        msgpack_pack_uint64 (pk, values[i]);
}

//  True if every field the type requires is there (non-NULL). Values are
//  not validated: that is the decoder's job, on the side that receives.
static bool
s_encodable (const proto_msg_t *self)
{
    bool has_units = self->units || self->unit_count == 0;
    switch (self->type) {
        case PROTO_JOIN:
            return self->attempt && self->req && self->suite && self->build
                && self->mode && self->digest && has_units;
        case PROTO_NEXT:
            return self->attempt && self->req
                && (!self->has_report || self->report_times_ms
                    || self->report_time_count == 0);
        case PROTO_HEARTBEAT:
        case PROTO_STATUS:
            return self->attempt && self->req;
        case PROTO_DAEMON_STATUS:
            return self->version != NULL;
        case PROTO_ADMIN:
            return self->attempt && self->req && self->action;
        case PROTO_QUERY:
            return self->attempt && self->req && self->what;
        case PROTO_QUERY_RESULT:
            return self->data != NULL;
        case PROTO_FALLBACK:
            return self->attempt && self->req && self->suite && self->node_total;
        case PROTO_NOTED:
            return true;
        case PROTO_ADMIN_JOB:
            return self->action && self->state && self->message
                && (self->data || self->data_size == 0);
        case PROTO_IMPORT:
            return self->attempt && self->req && self->suite && has_units
                && (self->unit_count == 0 || (self->times_ms && self->parent));
        case PROTO_EXPAND:
            return has_units;
        case PROTO_IMPORTED:
        case PROTO_JOINED:
        case PROTO_ACK:
        case PROTO_WAIT:
            return true;
        case PROTO_DONE:
            return self->reason != NULL;
        case PROTO_BATCH:
            return has_units && (self->predicted_ms || self->unit_count == 0);
        case PROTO_ERROR:
            return self->code && self->message;
        default:
            return false;
    }
}

int
proto_encode (const proto_msg_t *self, char **data, size_t *size)
{
    assert (self && data && size);
    *data = NULL;
    *size = 0;
    if (!s_encodable (self))
        return -1;

    s_encoder_t enc = { .pairs = 0 };
    msgpack_packer_init (&enc.pk, &enc.body, s_buffer_write);
    s_put_uint (&enc, "v", PROTO_VERSION);
    s_put_str (&enc, "type", proto_type_name (self->type));
    //  Requests always have both (s_encodable); replies echo what is set.
    if (self->attempt)
        s_put_str (&enc, "attempt", self->attempt);
    if (self->req)
        s_put_uint (&enc, "req", self->req);

    switch (self->type) {
        case PROTO_JOIN:
            s_put_str (&enc, "suite", self->suite);
            s_put_str (&enc, "build", self->build);
            s_put_uint (&enc, "node_index", self->node_index);
            s_put_uint (&enc, "node_total", self->node_total);
            //  Both may be empty, so an unknown commit or branch is "".
            s_put_str (&enc, "commit", self->commit ? self->commit : "");
            s_put_str (&enc, "branch", self->branch ? self->branch : "");
            s_put_str (&enc, "mode", self->mode);
            s_put_str (&enc, "digest", self->digest);
            s_put_strs (&enc, "units", self->units, self->unit_count);
            //  Options are sent only when they differ from the default.
            if (self->only_failed)
                s_put_bool (&enc, "only_failed", true);
            if (self->fixed_split)
                s_put_bool (&enc, "fixed_split", true);
            if (self->no_wait)
                s_put_bool (&enc, "wait", false);
            if (self->fail_fast)
                s_put_bool (&enc, "fail_fast", true);
            if (self->fresh_split)
                s_put_bool (&enc, "reuse_split", false);
            if (self->can_list)
                s_put_bool (&enc, "can_list", true);
            if (self->slow_ms)
                s_put_uint (&enc, "slow_ms", self->slow_ms);
            if (self->machine && *self->machine)
                s_put_str (&enc, "machine", self->machine);
            if (self->listed) {
                s_put_bool (&enc, "listed", true);
                s_put_strs (&enc, "examples", self->examples, self->example_count);
                s_put_key (&enc, "example_file");
                msgpack_pack_array (&enc.pk, self->example_count);
                for (size_t i = 0; i < self->example_count; i++)
                    msgpack_pack_uint32 (&enc.pk, self->example_file[i]);
            }
            break;
        case PROTO_IMPORT:
            s_put_str (&enc, "suite", self->suite);
            s_put_strs (&enc, "units", self->units, self->unit_count);
            s_put_key (&enc, "times_ms");
            s_pack_uints (&enc.pk, self->times_ms, self->unit_count);
            s_put_key (&enc, "parent");
            msgpack_pack_array (&enc.pk, self->unit_count);
            for (size_t i = 0; i < self->unit_count; i++)
                msgpack_pack_uint32 (&enc.pk, self->parent[i]);
            break;
        case PROTO_EXPAND:
            s_put_strs (&enc, "units", self->units, self->unit_count);
            break;
        case PROTO_IMPORTED:
            s_put_uint (&enc, "units", self->units_total);
            break;
        case PROTO_DAEMON_STATUS:
            s_put_str (&enc, "version", self->version);
            s_put_uint (&enc, "uptime_s", self->uptime_s);
            s_put_uint (&enc, "builds_running", self->builds_running);
            s_put_uint (&enc, "agents_last_minute", self->agents_seen);
            s_put_uint (&enc, "requests", self->requests_total);
            s_put_uint (&enc, "requests_last_minute", self->requests_minute);
            s_put_uint (&enc, "db_bytes", self->db_bytes);
            break;
        case PROTO_NEXT:
            if (self->park_ms)
                s_put_uint (&enc, "park_ms", self->park_ms);
            if (self->has_report) {
                s_put_key (&enc, "report");
                msgpack_pack_map (&enc.pk, 5 + (self->report_returned ? 1 : 0)
                                           + (self->report_status ? 1 : 0)
                                           + (self->report_runs > 1 ? 1 : 0));
                s_pack_str (&enc.pk, "batch");
                msgpack_pack_uint64 (&enc.pk, self->report_batch);
                s_pack_str (&enc.pk, "wall_ms");
                msgpack_pack_uint64 (&enc.pk, self->report_wall_ms);
                s_pack_str (&enc.pk, "exit");
                msgpack_pack_int64 (&enc.pk, self->report_exit);
                s_pack_str (&enc.pk, "times_ms");
                s_pack_uints (&enc.pk, self->report_times_ms, self->report_time_count);
                s_pack_str (&enc.pk, "lease");
                msgpack_pack_uint64 (&enc.pk, self->report_lease);
                if (self->report_returned) {
                    s_pack_str (&enc.pk, "returned");
                    msgpack_pack_true (&enc.pk);
                }
                if (self->report_status) {
                    s_pack_str (&enc.pk, "status");
                    msgpack_pack_array (&enc.pk, self->report_time_count);
                    for (size_t i = 0; i < self->report_time_count; i++)
                        msgpack_pack_uint8 (&enc.pk, self->report_status[i]);
                }
                if (self->report_runs > 1) {
                    s_pack_str (&enc.pk, "runs");
                    msgpack_pack_uint32 (&enc.pk, self->report_runs);
                }
            }
            break;
        case PROTO_STATUS:
            break;          //  nothing but who asks
        case PROTO_ADMIN:
            s_put_str (&enc, "action", self->action);
            if (self->job)
                s_put_uint (&enc, "job", self->job);
            if (self->offset)
                s_put_uint (&enc, "offset", self->offset);
            break;
        case PROTO_QUERY:
            s_put_str (&enc, "what", self->what);
            if (self->suite)
                s_put_str (&enc, "suite", self->suite);
            if (self->limit)
                s_put_uint (&enc, "limit", self->limit);
            if (self->build_id)
                s_put_uint (&enc, "build_id", self->build_id);
            if (self->unit)
                s_put_str (&enc, "unit", self->unit);
            if (self->since_ms)
                s_put_uint (&enc, "since_ms", self->since_ms);
            if (self->after)
                s_put_uint (&enc, "after", self->after);
            break;
        case PROTO_FALLBACK:
            s_put_str (&enc, "suite", self->suite);
            s_put_str (&enc, "build", self->build ? self->build : "");
            s_put_uint (&enc, "node_index", self->node_index);
            s_put_uint (&enc, "node_total", self->node_total);
            s_put_uint (&enc, "units", self->units_total);
            break;
        case PROTO_NOTED:
            break;
        case PROTO_QUERY_RESULT:
            s_put_key (&enc, "json");
            msgpack_pack_bin (&enc.pk, self->data_size);
            msgpack_pack_bin_body (&enc.pk, self->data, self->data_size);
            break;
        case PROTO_ADMIN_JOB:
            s_put_uint (&enc, "job", self->job);
            s_put_str (&enc, "action", self->action);
            s_put_str (&enc, "state", self->state);
            s_put_str (&enc, "message", self->message);
            s_put_uint (&enc, "size", self->size);
            if (self->data) {
                s_put_uint (&enc, "offset", self->offset);
                s_put_key (&enc, "data");
                msgpack_pack_bin (&enc.pk, self->data_size);
                msgpack_pack_bin_body (&enc.pk, self->data, self->data_size);
            }
            break;
        case PROTO_HEARTBEAT:
            s_put_uint (&enc, "batch", self->batch);
            s_put_uint (&enc, "lease", self->lease);
            break;
        case PROTO_ACK:
            s_put_bool (&enc, "held", self->held);
            s_put_bool (&enc, "stop", self->stop);
            break;
        case PROTO_WAIT:
            s_put_uint (&enc, "retry_ms", self->retry_ms);
            s_put_uint (&enc, "units_done", self->units_done);
            s_put_uint (&enc, "units_total", self->units_total);
            break;
        case PROTO_JOINED:
            s_put_uint (&enc, "units", self->units_total);
            s_put_uint (&enc, "nodes", self->node_total);
            s_put_bool (&enc, "created", self->created);
            s_put_uint (&enc, "replay", self->replay);
            s_put_uint (&enc, "heartbeat_ms", self->heartbeat_ms);
            s_put_uint (&enc, "known", self->known);
            s_put_uint (&enc, "examples", self->examples_total);
            break;
        case PROTO_BATCH:
            s_put_uint (&enc, "batch", self->batch);
            s_put_strs (&enc, "units", self->units, self->unit_count);
            s_put_key (&enc, "predicted_ms");
            s_pack_uints (&enc.pk, self->predicted_ms, self->unit_count);
            s_put_uint (&enc, "lease", self->lease);
            s_put_str (&enc, "kind", proto_kind_name (self->kind));
            break;
        case PROTO_DONE:
            s_put_uint (&enc, "units_done", self->units_done);
            s_put_uint (&enc, "units_total", self->units_total);
            s_put_str (&enc, "reason", self->reason);
            s_put_uint (&enc, "failed", self->failed);
            s_put_uint (&enc, "flaky", self->flaky);
            break;
        case PROTO_ERROR:
            s_put_str (&enc, "code", self->code);
            s_put_str (&enc, "field", self->field ? self->field : "");
            s_put_str (&enc, "message", self->message);
            break;
    }

    s_buffer_t out = { .data = NULL };
    msgpack_packer head;
    msgpack_packer_init (&head, &out, s_buffer_write);
    msgpack_pack_map (&head, enc.pairs);
    s_buffer_write (&out, enc.body.data, enc.body.size);
    free (enc.body.data);
    *data = out.data;
    *size = out.size;
    return 0;
}
