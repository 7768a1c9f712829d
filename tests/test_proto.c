/*  test_proto.c: every message type survives encode then decode with all
    its fields; every malformed message is refused with the code and field
    the daemon will put in its error reply; a seeded fuzz loop mutates
    valid frames and checks that decode never crashes and always answers.

    Malformed maps are built with msgpack_packer from a small list of
    key/value specs (kv_t), so each test states just the one field it
    breaks.                                                                 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "test_rng.h"
#include "proto.h"

//  ---------------------------------------------------------------------
//  Hand-made maps

typedef enum { KV_UINT, KV_NEG, KV_STR, KV_BOOL, KV_NIL, KV_FLOAT, KV_BIN, KV_STRS, KV_UINTS, KV_MAP } kv_kind_t;

typedef struct kv_s {
    const char *key;                //  Key (a string)
    kv_kind_t kind;                 //  How the value is packed
    uint64_t u;                     //  KV_UINT, KV_BOOL
    int64_t i;                      //  KV_NEG
    const char *s;                  //  KV_STR, KV_BIN
    size_t len;                     //  KV_STR, KV_BIN: length, or 0 for strlen (s)
    const char *const *strs;        //  KV_STRS
    const uint64_t *uints;          //  KV_UINTS
    size_t n;                       //  KV_STRS, KV_UINTS, KV_MAP: count
    const struct kv_s *map;         //  KV_MAP
} kv_t;

#define U(k, v) ((kv_t) { .key = (k), .kind = KV_UINT, .u = (v) })
#define NEG(k, v) ((kv_t) { .key = (k), .kind = KV_NEG, .i = (v) })
#define STR(k, v) ((kv_t) { .key = (k), .kind = KV_STR, .s = (v) })
#define STRN(k, v, l) ((kv_t) { .key = (k), .kind = KV_STR, .s = (v), .len = (l) })
#define BOOL(k, v) ((kv_t) { .key = (k), .kind = KV_BOOL, .u = (v) })
#define NIL(k) ((kv_t) { .key = (k), .kind = KV_NIL })
#define FLOAT(k) ((kv_t) { .key = (k), .kind = KV_FLOAT })
#define BIN(k, v) ((kv_t) { .key = (k), .kind = KV_BIN, .s = (v) })
#define STRS(k, v, c) ((kv_t) { .key = (k), .kind = KV_STRS, .strs = (v), .n = (c) })
#define UINTS(k, v, c) ((kv_t) { .key = (k), .kind = KV_UINTS, .uints = (v), .n = (c) })
#define MAP(k, v, c) ((kv_t) { .key = (k), .kind = KV_MAP, .map = (v), .n = (c) })

typedef struct {
    kv_t kv[32];        //  Pairs, in packing order
    size_t count;       //  Pairs used
} kvs_t;

//  Replace the pair with kv's key, or append it.
static void
kvs_set (kvs_t *self, kv_t kv)
{
    for (size_t i = 0; i < self->count; i++) {
        if (strcmp (self->kv[i].key, kv.key) == 0) {
            self->kv[i] = kv;
            return;
        }
    }
    assert_true (self->count < 32);
    self->kv[self->count++] = kv;
}

//  Append even if the key is there already (duplicate keys).
static void
kvs_add (kvs_t *self, kv_t kv)
{
    assert_true (self->count < 32);
    self->kv[self->count++] = kv;
}

static void
kvs_drop (kvs_t *self, const char *key)
{
    for (size_t i = 0; i < self->count; i++) {
        if (strcmp (self->kv[i].key, key) == 0) {
            memmove (&self->kv[i], &self->kv[i + 1], (self->count - i - 1) * sizeof (kv_t));
            self->count--;
            return;
        }
    }
    fail_msg ("no key %s to drop", key);
}

static void s_pack_pairs (msgpack_packer *pk, const kv_t *kv, size_t count);

static void
s_pack_value (msgpack_packer *pk, const kv_t *kv)
{
    size_t len = kv->s ? (kv->len ? kv->len : strlen (kv->s)) : 0;
    switch (kv->kind) {
        case KV_UINT: msgpack_pack_uint64 (pk, kv->u); break;
        case KV_NEG: msgpack_pack_int64 (pk, kv->i); break;
        case KV_STR: msgpack_pack_str_with_body (pk, kv->s, len); break;
        case KV_BOOL:
            if (kv->u)
                msgpack_pack_true (pk);
            else
                msgpack_pack_false (pk);
            break;
        case KV_NIL: msgpack_pack_nil (pk); break;
        case KV_FLOAT: msgpack_pack_double (pk, 1.5); break;
        case KV_BIN: msgpack_pack_bin_with_body (pk, kv->s, len); break;
        case KV_STRS:
            msgpack_pack_array (pk, kv->n);
            for (size_t i = 0; i < kv->n; i++)
                msgpack_pack_str_with_body (pk, kv->strs[i], strlen (kv->strs[i]));
            break;
        case KV_UINTS:
            msgpack_pack_array (pk, kv->n);
            for (size_t i = 0; i < kv->n; i++)
                msgpack_pack_uint64 (pk, kv->uints[i]);
            break;
        case KV_MAP:
            s_pack_pairs (pk, kv->map, kv->n);
            break;
    }
}

static void
s_pack_pairs (msgpack_packer *pk, const kv_t *kv, size_t count)
{
    msgpack_pack_map (pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_str_with_body (pk, kv[i].key, strlen (kv[i].key));
        s_pack_value (pk, &kv[i]);
    }
}

static proto_error_t s_err;
static proto_limits_t s_limits;

static proto_msg_t *
s_decode_kvs (const kvs_t *kvs)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    s_pack_pairs (&pk, kvs->kv, kvs->count);
    proto_msg_t *msg = proto_decode (buffer.data, buffer.size, &s_limits, &s_err);
    msgpack_sbuffer_destroy (&buffer);
    return msg;
}

//  Assert the map is refused with this code and field.
static void
s_refused (const kvs_t *kvs, const char *code, const char *field, int line)
{
    proto_msg_t *msg = s_decode_kvs (kvs);
    if (msg) {
        proto_msg_destroy (&msg);
        fail_msg ("line %d: accepted, expected %s on \"%s\"", line, code, field);
    }
    if (strcmp (s_err.code, code) != 0 || strcmp (s_err.field, field) != 0)
        fail_msg ("line %d: got %s on \"%s\" (%s), expected %s on \"%s\"", line,
                  s_err.code, s_err.field, s_err.message, code, field);
    assert_true (strlen (s_err.message) > 0);
}
#define REFUSED(kvs, code, field) s_refused ((kvs), (code), (field), __LINE__)
#define BAD(kvs, field) REFUSED ((kvs), PROTO_ERR_BAD_REQUEST, (field))

//  Assert the map decodes; returns the message.
static proto_msg_t *
s_accepted (const kvs_t *kvs, int line)
{
    proto_msg_t *msg = s_decode_kvs (kvs);
    if (!msg)
        fail_msg ("line %d: refused: %s on \"%s\": %s", line, s_err.code, s_err.field,
                  s_err.message);
    return msg;
}
#define ACCEPTED(kvs) do { \
    proto_msg_t *accepted_ = s_accepted ((kvs), __LINE__); \
    proto_msg_destroy (&accepted_); \
} while (0)

#define assert_message_has(text) do { \
    if (!strstr (s_err.message, (text))) \
        fail_msg ("message \"%s\" lacks \"%s\"", s_err.message, (text)); \
} while (0)

static const char *const s_units[] = { "a_spec.rb", "b/c_spec.rb", "d_spec.rb" };
static char s_units_digest[PROTO_DIGEST_LEN + 1];

static void
s_join_kvs (kvs_t *kvs)
{
    proto_digest (s_units, 3, s_units_digest);
    memset (kvs, 0, sizeof *kvs);
    kvs_set (kvs, U ("v", 1));
    kvs_set (kvs, STR ("type", "join"));
    kvs_set (kvs, STR ("attempt", "att-1_X"));
    kvs_set (kvs, U ("req", 7));
    kvs_set (kvs, STR ("suite", "acme/web:rspec"));
    kvs_set (kvs, STR ("build", "build-42"));
    kvs_set (kvs, U ("node_index", 1));
    kvs_set (kvs, U ("node_total", 4));
    kvs_set (kvs, STR ("commit", "0123abc"));
    kvs_set (kvs, STR ("branch", "main"));
    kvs_set (kvs, STR ("mode", "queue"));
    kvs_set (kvs, STR ("digest", s_units_digest));
    kvs_set (kvs, STRS ("units", s_units, 3));
}

static int
s_setup (void **state)
{
    proto_limits_default (&s_limits);
    memset (&s_err, 0, sizeof s_err);
    return 0;
}

//  The keys of an encoded map, joined by ','.
static void
s_keys_of (const char *data, size_t size, char *out, size_t out_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    assert_int_equal (msgpack_unpack_next (&unpacked, data, size, &offset), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (offset, size);
    assert_int_equal (unpacked.data.type, MSGPACK_OBJECT_MAP);
    out[0] = 0;
    for (uint32_t i = 0; i < unpacked.data.via.map.size; i++) {
        const msgpack_object *key = &unpacked.data.via.map.ptr[i].key;
        assert_int_equal (key->type, MSGPACK_OBJECT_STR);
        size_t used = strlen (out);
        snprintf (out + used, out_size - used, "%s%.*s", i ? "," : "",
                  (int) key->via.str.size, key->via.str.ptr);
    }
    msgpack_unpacked_destroy (&unpacked);
}

//  Encode, check the keys, decode; returns the decoded copy.
static proto_msg_t *
s_round_trip (const proto_msg_t *msg, const char *keys)
{
    char *data = NULL;
    size_t size = 0;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    assert_non_null (data);
    char found[512];
    s_keys_of (data, size, found, sizeof found);
    assert_string_equal (found, keys);
    proto_msg_t *copy = proto_decode (data, size, &s_limits, &s_err);
    if (!copy)
        fail_msg ("decode failed: %s on \"%s\": %s", s_err.code, s_err.field, s_err.message);
    assert_int_equal (copy->type, msg->type);
    free (data);
    return copy;
}

//  ---------------------------------------------------------------------
//  Round trips

static void
test_round_trip_join (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = PROTO_REQ_MAX;
    proto_msg_set_str (&msg->suite, "acme/web");
    proto_msg_set_str (&msg->build, "ci#1234");
    msg->node_index = 1023;
    msg->node_total = 1024;
    proto_msg_set_str (&msg->commit, "");
    proto_msg_set_str (&msg->branch, "feature/é");
    proto_msg_set_str (&msg->mode, "queue");
    proto_msg_set_units (msg, s_units, 3);
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (s_units, 3, digest);
    proto_msg_set_str (&msg->digest, digest);

    proto_msg_t *copy = s_round_trip (msg,
        "v,type,attempt,req,suite,build,node_index,node_total,commit,branch,mode,digest,units");
    assert_string_equal (copy->attempt, "a1");
    assert_true (copy->req == PROTO_REQ_MAX);
    assert_string_equal (copy->suite, "acme/web");
    assert_string_equal (copy->build, "ci#1234");
    assert_int_equal (copy->node_index, 1023);
    assert_int_equal (copy->node_total, 1024);
    assert_string_equal (copy->commit, "");
    assert_string_equal (copy->branch, "feature/é");
    assert_string_equal (copy->mode, "queue");
    assert_string_equal (copy->digest, digest);
    assert_int_equal (copy->unit_count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal (copy->units[i], s_units[i]);
    //  No options sent: the defaults, "wait" true among them.
    assert_false (copy->only_failed);
    assert_false (copy->fixed_split);
    assert_false (copy->no_wait);
    assert_false (copy->fail_fast);
    proto_msg_destroy (&copy);

    //  Options are sent only when they differ from the default.
    msg->only_failed = true;
    msg->fixed_split = true;
    msg->no_wait = true;
    msg->fail_fast = true;
    msg->fresh_split = true;
    copy = s_round_trip (msg, "v,type,attempt,req,suite,build,node_index,node_total,commit,"
                              "branch,mode,digest,units,only_failed,fixed_split,wait,fail_fast,"
                              "reuse_split");
    assert_true (copy->only_failed);
    assert_true (copy->fixed_split);
    assert_true (copy->no_wait);
    assert_true (copy->fail_fast);
    assert_true (copy->fresh_split);
    proto_msg_destroy (&copy);
    msg->only_failed = false;
    msg->fail_fast = false;
    msg->fresh_split = false;
    copy = s_round_trip (msg, "v,type,attempt,req,suite,build,node_index,node_total,commit,"
                              "branch,mode,digest,units,fixed_split,wait");
    assert_false (copy->only_failed);
    assert_true (copy->fixed_split);
    assert_true (copy->no_wait);
    assert_false (copy->fail_fast);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
    assert_null (msg);
}

static void
test_round_trip_next (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 2;
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req");
    assert_string_equal (copy->attempt, "a1");
    assert_int_equal (copy->req, 2);
    assert_false (copy->has_report);
    assert_null (copy->report_times_ms);
    assert_int_equal (copy->park_ms, 0);
    proto_msg_destroy (&copy);

    //  How long a wait reply may be held: up to PROTO_PARK_MS_MAX.
    msg->park_ms = PROTO_PARK_MS_MAX;
    copy = s_round_trip (msg, "v,type,attempt,req,park_ms");
    assert_int_equal (copy->park_ms, PROTO_PARK_MS_MAX);
    proto_msg_destroy (&copy);
    msg->park_ms = PROTO_PARK_MS_MAX + 1;
    char *over = NULL;
    size_t over_size = 0;
    assert_int_equal (proto_encode (msg, &over, &over_size), 0);
    assert_null (proto_decode (over, over_size, &s_limits, &s_err));
    assert_string_equal (s_err.field, "park_ms");
    free (over);
    msg->park_ms = 0;

    uint64_t times[] = { 0, 12, PROTO_DURATION_MS_MAX };
    msg->has_report = true;
    msg->report_batch = UINT32_MAX;
    msg->report_wall_ms = PROTO_DURATION_MS_MAX;
    msg->report_exit = -9;
    msg->report_times_ms = malloc (sizeof times);
    memcpy (msg->report_times_ms, times, sizeof times);
    msg->report_time_count = 3;
    msg->report_lease = PROTO_REQ_MAX;
    copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_true (copy->has_report);
    assert_int_equal (copy->report_batch, UINT32_MAX);
    assert_true (copy->report_wall_ms == PROTO_DURATION_MS_MAX);
    assert_int_equal (copy->report_exit, -9);
    assert_int_equal (copy->report_time_count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true (copy->report_times_ms[i] == times[i]);
    assert_true (copy->report_lease == PROTO_REQ_MAX);
    assert_false (copy->report_returned);
    proto_msg_destroy (&copy);

    msg->report_exit = 255;
    msg->report_lease = 1;
    copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_int_equal (copy->report_exit, 255);
    assert_int_equal (copy->report_lease, 1);
    proto_msg_destroy (&copy);

    //  Durations past 30 days are no real batch's: refused, not stored.
    char *data = NULL;
    size_t size = 0;
    msg->report_times_ms[2] = PROTO_DURATION_MS_MAX + 1;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    assert_null (proto_decode (data, size, &s_limits, &s_err));
    assert_string_equal (s_err.field, "report.times_ms");
    assert_string_equal (s_err.message, "report.times_ms[2] is 2592000001 ms, more than the "
                                        "2592000000 ms (30 days) allowed");
    free (data);
    msg->report_times_ms[2] = 0;
    msg->report_wall_ms = UINT64_MAX;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    assert_null (proto_decode (data, size, &s_limits, &s_err));
    assert_string_equal (s_err.field, "report.wall_ms");
    free (data);
    msg->report_wall_ms = 0;

    //  A batch handed back unrun: no times, and "returned" says so.
    free (msg->report_times_ms);
    msg->report_times_ms = NULL;
    msg->report_time_count = 0;
    msg->report_returned = true;
    msg->report_lease = 77;
    copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_true (copy->has_report);
    assert_true (copy->report_returned);
    assert_int_equal (copy->report_lease, 77);
    assert_int_equal (copy->report_time_count, 0);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
}

static void
test_round_trip_heartbeat (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_HEARTBEAT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 12;
    msg->batch = UINT32_MAX;
    msg->lease = PROTO_REQ_MAX;
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,batch,lease");
    assert_string_equal (copy->attempt, "a1");
    assert_int_equal (copy->req, 12);
    assert_int_equal (copy->batch, UINT32_MAX);
    assert_true (copy->lease == PROTO_REQ_MAX);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_ACK);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 12;
    msg->held = true;
    copy = s_round_trip (msg, "v,type,attempt,req,held,stop");
    assert_true (copy->held);
    assert_false (copy->stop);
    proto_msg_destroy (&copy);
    msg->held = false;
    msg->stop = true;
    copy = s_round_trip (msg, "v,type,attempt,req,held,stop");
    assert_false (copy->held);
    assert_true (copy->stop);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_WAIT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 13;
    msg->retry_ms = PROTO_RETRY_MS_MAX;
    msg->units_done = 7;
    msg->units_total = 9;
    copy = s_round_trip (msg, "v,type,attempt,req,retry_ms,units_done,units_total");
    assert_int_equal (copy->retry_ms, PROTO_RETRY_MS_MAX);
    assert_int_equal (copy->units_done, 7);
    assert_int_equal (copy->units_total, 9);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
}

static void
test_round_trip_replies (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_JOINED);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 1;
    msg->units_total = 812;
    msg->node_total = 8;
    msg->created = true;
    msg->replay = 3;
    msg->heartbeat_ms = 10000;
    proto_msg_t *copy = s_round_trip (msg,
        "v,type,attempt,req,units,nodes,created,replay,heartbeat_ms,known,examples");
    assert_string_equal (copy->attempt, "a1");
    assert_int_equal (copy->req, 1);
    assert_int_equal (copy->units_total, 812);
    assert_int_equal (copy->node_total, 8);
    assert_true (copy->created);
    assert_int_equal (copy->replay, 3);
    assert_int_equal (copy->heartbeat_ms, 10000);
    proto_msg_destroy (&copy);
    msg->replay = UINT32_MAX;
    msg->created = false;
    copy = s_round_trip (msg, "v,type,attempt,req,units,nodes,created,replay,heartbeat_ms,known,examples");
    assert_int_equal (copy->replay, UINT32_MAX);
    assert_false (copy->created);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    //  A batch runs in the order given, which need not be sorted.
    const char *const names[] = { "z_spec.rb", "a_spec.rb" };
    msg = proto_msg_new (PROTO_BATCH);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 3;
    msg->batch = 2;
    proto_msg_set_units (msg, names, 2);
    msg->predicted_ms = calloc (2, sizeof (uint64_t));
    msg->predicted_ms[0] = 5000;
    msg->predicted_ms[1] = 1;
    msg->lease = 41;
    msg->kind = PROTO_KIND_QUEUE;
    copy = s_round_trip (msg, "v,type,attempt,req,batch,units,predicted_ms,lease,kind");
    assert_int_equal (copy->batch, 2);
    assert_int_equal (copy->unit_count, 2);
    assert_string_equal (copy->units[0], "z_spec.rb");
    assert_string_equal (copy->units[1], "a_spec.rb");
    assert_int_equal (copy->predicted_ms[0], 5000);
    assert_int_equal (copy->predicted_ms[1], 1);
    assert_int_equal (copy->lease, 41);
    assert_int_equal (copy->kind, PROTO_KIND_QUEUE);
    proto_msg_destroy (&copy);
    const proto_kind_t kinds[] = { PROTO_KIND_REPLAY, PROTO_KIND_RETRY, PROTO_KIND_QUEUE };
    for (size_t k = 0; k < 3; k++) {
        msg->kind = kinds[k];
        msg->lease = PROTO_REQ_MAX - k;
        copy = s_round_trip (msg, "v,type,attempt,req,batch,units,predicted_ms,lease,kind");
        assert_int_equal (copy->kind, kinds[k]);
        assert_true (copy->lease == PROTO_REQ_MAX - k);
        proto_msg_destroy (&copy);
    }
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_DONE);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 9;
    msg->units_done = 10;
    msg->units_total = 12;
    proto_msg_set_str (&msg->reason, "complete");
    msg->failed = 2;
    msg->flaky = 1;
    copy = s_round_trip (msg, "v,type,attempt,req,units_done,units_total,reason,failed,flaky");
    assert_int_equal (copy->units_done, 10);
    assert_int_equal (copy->units_total, 12);
    assert_string_equal (copy->reason, "complete");
    assert_int_equal (copy->failed, 2);
    assert_int_equal (copy->flaky, 1);
    proto_msg_destroy (&copy);
    const char *const reasons[] = { "no_wait", "fail_fast", "returned" };
    for (size_t r = 0; r < 3; r++) {
        proto_msg_set_str (&msg->reason, reasons[r]);
        msg->failed = UINT64_MAX;
        msg->flaky = 0;
        copy = s_round_trip (msg, "v,type,attempt,req,units_done,units_total,reason,failed,flaky");
        assert_string_equal (copy->reason, reasons[r]);
        assert_true (copy->failed == UINT64_MAX);
        assert_int_equal (copy->flaky, 0);
        proto_msg_destroy (&copy);
    }
    proto_msg_destroy (&msg);

    msg = proto_error_new ("a1", 4, PROTO_ERR_LIST_MISMATCH, "digest", "list of %d differs", 3);
    copy = s_round_trip (msg, "v,type,attempt,req,code,field,message");
    assert_string_equal (copy->attempt, "a1");
    assert_int_equal (copy->req, 4);
    assert_string_equal (copy->code, PROTO_ERR_LIST_MISMATCH);
    assert_string_equal (copy->field, "digest");
    assert_string_equal (copy->message, "list of 3 differs");
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    //  An error about an unreadable request has neither attempt nor req.
    msg = proto_error_new (NULL, 0, PROTO_ERR_BAD_REQUEST, NULL, "unreadable");
    copy = s_round_trip (msg, "v,type,code,field,message");
    assert_null (copy->attempt);
    assert_int_equal (copy->req, 0);
    assert_string_equal (copy->field, "");
    assert_string_equal (copy->message, "unreadable");
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
}

static void
test_encode_refuses_missing_fields (void **state)
{
    char *data = (char *) "untouched";
    size_t size = 99;
    proto_msg_t *msg = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 1;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no suite and more
    assert_null (data);
    assert_int_equal (size, 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_NEXT);
    msg->req = 1;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no attempt
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 0;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no req
    msg->req = 1;
    msg->has_report = true;
    msg->report_time_count = 2;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no times
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_HEARTBEAT);
    msg->req = 1;
    msg->batch = 1;
    msg->lease = 1;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no attempt
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 0;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no req
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_DONE);
    msg->units_total = 1;
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no reason
    assert_null (data);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_ERROR);
    proto_msg_set_str (&msg->message, "m");
    assert_int_equal (proto_encode (msg, &data, &size), -1);      //  no code
    proto_msg_destroy (&msg);

    msg = proto_msg_new ((proto_type_t) 99);
    assert_int_equal (proto_encode (msg, &data, &size), -1);
    proto_msg_destroy (&msg);
}

//  ---------------------------------------------------------------------
//  Malformed joins

static void
test_join_missing_fields (void **state)
{
    kvs_t kvs;
    s_join_kvs (&kvs);
    ACCEPTED (&kvs);
    const char *const keys[] = {
        "v", "type", "attempt", "req", "suite", "build", "node_index", "node_total",
        "commit", "branch", "mode", "digest", "units"
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        s_join_kvs (&kvs);
        kvs_drop (&kvs, keys[k]);
        BAD (&kvs, keys[k]);
        char expected[64];
        snprintf (expected, sizeof expected, "required field %s is missing", keys[k]);
        assert_string_equal (s_err.message, expected);
    }
}

static void
test_join_wrong_types (void **state)
{
    kvs_t kvs;
    //  Each field gets a value of some type it must not have.
    const kv_t wrong[] = {
        STR ("v", "1"), U ("type", 1), U ("attempt", 1), STR ("req", "7"),
        BIN ("suite", "acme"), NIL ("build"), FLOAT ("node_index"),
        BOOL ("node_total", 1), U ("commit", 0), STRS ("branch", s_units, 1),
        U ("mode", 0), BIN ("digest", "0123456789abcdef0123456789abcdef01234567"),
        STR ("units", "a_spec.rb"), NEG ("req", -1), NEG ("node_index", -1),
        NEG ("node_total", -4)
    };
    for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, wrong[k]);
        BAD (&kvs, wrong[k].key);
    }
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("suite", 5));
    BAD (&kvs, "suite");
    assert_string_equal (s_err.message, "suite must be a string, not an unsigned integer");

    //  A unit that is not a string is named by its index.
    const uint64_t numbers[] = { 1, 2 };
    s_join_kvs (&kvs);
    kvs_set (&kvs, UINTS ("units", numbers, 2));
    BAD (&kvs, "units[0]");
}

static void
test_join_string_lengths (void **state)
{
    char text[300];
    kvs_t kvs;
    struct { const char *key; size_t max; } fields[] = {
        { "attempt", PROTO_ATTEMPT_MAX }, { "suite", PROTO_SUITE_MAX },
        { "build", PROTO_BUILD_MAX }, { "commit", PROTO_COMMIT_MAX },
        { "branch", PROTO_BRANCH_MAX }
    };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        memset (text, 'a', fields[f].max + 1);
        text[fields[f].max] = 0;
        s_join_kvs (&kvs);
        kvs_set (&kvs, STR (fields[f].key, text));
        ACCEPTED (&kvs);
        text[fields[f].max] = 'a';
        text[fields[f].max + 1] = 0;
        kvs_set (&kvs, STR (fields[f].key, text));
        BAD (&kvs, fields[f].key);
        char expected[128];
        snprintf (expected, sizeof expected, "%s is %zu bytes, more than the %zu allowed",
                  fields[f].key, fields[f].max + 1, fields[f].max);
        assert_string_equal (s_err.message, expected);
    }
    //  Empty: refused where a value is needed, fine for commit and branch.
    const char *const needed[] = { "attempt", "suite", "build", "mode" };
    for (size_t f = 0; f < 4; f++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, STR (needed[f], ""));
        BAD (&kvs, needed[f]);
    }
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("commit", ""));
    kvs_set (&kvs, STR ("branch", ""));
    ACCEPTED (&kvs);
}

static void
test_join_unit_names (void **state)
{
    kvs_t kvs;
    char digest[PROTO_DIGEST_LEN + 1];
    //  A name over max_name is the daemon's limit; within it, fine.
    s_limits.max_name = 9;
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("req", 5));
    REFUSED (&kvs, PROTO_ERR_LIMIT, "units[1]");         //  "b/c_spec.rb" is 11 bytes
    assert_string_equal (s_err.message, "units[1] is 11 bytes, more than the 9 allowed"
                                         " (satcheld --max-name)");
    assert_string_equal (s_err.attempt, "att-1_X");
    assert_int_equal (s_err.req, 5);
    s_limits.max_name = 11;
    ACCEPTED (&kvs);

    const char *const empty[] = { "", "a" };
    proto_digest (empty, 2, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", empty, 2));
    kvs_set (&kvs, STR ("digest", digest));
    BAD (&kvs, "units[0]");

    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", s_units, 0));
    BAD (&kvs, "units");
    assert_message_has ("empty");

    //  A NUL inside a name: a C string would silently end there.
    const char *const with_nul[] = { "a", "b\0c" };
    s_join_kvs (&kvs);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    kvs_drop (&kvs, "units");
    msgpack_pack_map (&pk, kvs.count + 1);
    for (size_t i = 0; i < kvs.count; i++) {
        msgpack_pack_str_with_body (&pk, kvs.kv[i].key, strlen (kvs.kv[i].key));
        s_pack_value (&pk, &kvs.kv[i]);
    }
    msgpack_pack_str_with_body (&pk, "units", 5);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_str_with_body (&pk, with_nul[0], 1);
    msgpack_pack_str_with_body (&pk, with_nul[1], 3);
    assert_null (proto_decode (buffer.data, buffer.size, &s_limits, &s_err));
    assert_string_equal (s_err.code, PROTO_ERR_BAD_REQUEST);
    assert_string_equal (s_err.field, "units[1]");
    assert_string_equal (s_err.message, "units[1] holds a NUL byte at position 1");
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_join_charsets (void **state)
{
    kvs_t kvs;
    struct { const char *key; const char *value; bool ok; } cases[] = {
        { "attempt", "a b", false }, { "attempt", "a.b", false },
        { "attempt", "caf\xc3\xa9", false }, { "attempt", "Az09_-", true },
        { "suite", "a b", false }, { "suite", "a#b", false }, { "suite", "a\tb", false },
        { "suite", "org/repo:rspec@v1+x-y_z.1", true },
        { "build", "12 34", false }, { "build", "a\x7f", false }, { "build", "a\tb", false },
        { "build", "!~#/:?", true },
        { "commit", "any thing \xff goes", true }, { "branch", "feature/caf\xc3\xa9", true },
        { "digest", "F34882FB1D925E67F37F06F5750E62D76AFFA8DA", false },
        { "digest", "g34882fb1d925e67f37f06f5750e62d76affa8da", false },
        { "digest", "f34882fb1d925e67f37f06f5750e62d76affa8d", false },
        { "digest", "f34882fb1d925e67f37f06f5750e62d76affa8da0", false },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, STR (cases[c].key, cases[c].value));
        if (cases[c].ok)
            ACCEPTED (&kvs);
        else
            BAD (&kvs, cases[c].key);
    }
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("suite", "acme web"));
    BAD (&kvs, "suite");
    assert_string_equal (s_err.message,
                         "suite holds byte 0x20 at position 4; allowed are A-Z a-z 0-9 . _ / : @ + -");

    //  NUL bytes in the strings a C program would cut short
    const char *const fields[] = { "commit", "branch", "build", "suite", "attempt" };
    for (size_t f = 0; f < 5; f++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, STRN (fields[f], "ab\0cd", 5));
        BAD (&kvs, fields[f]);
        assert_message_has ("NUL byte at position 2");
    }
}

static void
test_join_numbers (void **state)
{
    kvs_t kvs;
    struct { kv_t kv; bool ok; const char *field; } cases[] = {
        { U ("req", 0), false, "req" },
        { U ("req", 1), true, NULL },
        { U ("req", PROTO_REQ_MAX), true, NULL },
        { U ("req", PROTO_REQ_MAX + 1), false, "req" },
        { U ("req", UINT64_MAX), false, "req" },
        { NEG ("req", INT64_MIN), false, "req" },
        { U ("node_total", 0), false, "node_total" },
        { U ("node_total", 1000000), false, "node_total" },
        { U ("node_total", 1025), false, "node_total" },
        { U ("node_total", 1024), true, NULL },
        { U ("node_index", 3), true, NULL },
        { U ("node_index", 4), false, "node_index" },
        { U ("node_index", (1ull << 32) + 1), false, "node_index" },
        { U ("node_index", UINT64_MAX), false, "node_index" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, cases[c].kv);
        if (cases[c].ok)
            ACCEPTED (&kvs);
        else
            BAD (&kvs, cases[c].field);
    }
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("req", 0));
    BAD (&kvs, "req");
    assert_string_equal (s_err.message, "req 0 is out of range 1..9007199254740992");

    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("node_index", 5));
    BAD (&kvs, "node_index");
    assert_string_equal (s_err.message, "node_index 5 is not below node_total 4");

    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("node_total", 1000000));
    BAD (&kvs, "node_total");
    assert_string_equal (s_err.message, "node_total 1000000 is out of range 1..1024");

    //  A smaller farm's daemon
    s_limits.max_nodes = 2;
    s_join_kvs (&kvs);
    BAD (&kvs, "node_total");
}

static void
test_join_mode_and_digest (void **state)
{
    kvs_t kvs;
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("mode", "regular"));
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_string_equal (msg->mode, "regular");
    assert_false (msg->fresh_split);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, BOOL ("reuse_split", 0));
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->fresh_split);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, U ("reuse_split", 0));
    BAD (&kvs, "reuse_split");
    kvs_set (&kvs, BOOL ("reuse_split", 1));
    kvs_set (&kvs, STR ("mode", "Regular"));
    BAD (&kvs, "mode");
    assert_string_equal (s_err.message,
                         "mode \"Regular\" is not supported; the modes are \"queue\" and \"regular\"");

    //  No build id: only with a fixed split, which names the build itself.
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("build", ""));
    BAD (&kvs, "build");
    assert_message_has ("only with fixed_split");
    kvs_set (&kvs, BOOL ("fixed_split", 1));
    msg = s_accepted (&kvs, __LINE__);
    assert_string_equal (msg->build, "");
    proto_msg_destroy (&msg);

    //  A well-formed digest of some other list
    const char *const other[] = { "a_spec.rb", "b/c_spec.rb" };
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (other, 2, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("digest", digest));
    BAD (&kvs, "digest");
    assert_message_has ("does not match the units");
    assert_message_has (s_units_digest);
}

static void
test_join_unit_order (void **state)
{
    kvs_t kvs;
    char digest[PROTO_DIGEST_LEN + 1];
    //  strcmp order: '/' (0x2f) sorts before letters, bytes as unsigned.
    const char *const sorted[] = { "a", "a/b", "ab", "z", "\xc3\xa9" };
    proto_digest (sorted, 5, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", sorted, 5));
    kvs_set (&kvs, STR ("digest", digest));
    ACCEPTED (&kvs);

    const char *const unsorted[] = { "a", "c", "b", "d" };
    proto_digest (unsorted, 4, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", unsorted, 4));
    kvs_set (&kvs, STR ("digest", digest));
    BAD (&kvs, "units[2]");
    assert_string_equal (s_err.message,
        "units[2] is not after units[1] in sorted order (the list must be sorted and unique)");

    //  A prefix sorts first: "ab" after "abc" is out of order.
    const char *const prefix[] = { "abc", "ab" };
    proto_digest (prefix, 2, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", prefix, 2));
    kvs_set (&kvs, STR ("digest", digest));
    BAD (&kvs, "units[1]");

    const char *const repeated[] = { "a", "b", "b" };
    proto_digest (repeated, 3, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", repeated, 3));
    kvs_set (&kvs, STR ("digest", digest));
    BAD (&kvs, "units[2]");
    assert_string_equal (s_err.message,
                         "units[2] repeats units[1] (the list must be sorted and unique)");
}

static void
test_join_unit_count_limit (void **state)
{
    kvs_t kvs;
    s_limits.max_units = 2;
    s_join_kvs (&kvs);
    REFUSED (&kvs, PROTO_ERR_LIMIT, "units");
    assert_string_equal (s_err.message, "units has 3 elements, more than the limit of 2"
                                         " (satcheld --max-units)");
    s_limits.max_units = 3;
    ACCEPTED (&kvs);

    //  Far over a limit of 100: wire_check stops the frame before unpacking
    //  and it is still reported as a limit, not as garbage.
    s_limits.max_units = 100;
    static char names[101][8];
    const char *list[101];
    for (int i = 0; i < 101; i++) {
        snprintf (names[i], sizeof names[i], "u%03d", i);
        list[i] = names[i];
    }
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (list, 101, digest);
    s_join_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", list, 101));
    kvs_set (&kvs, STR ("digest", digest));
    REFUSED (&kvs, PROTO_ERR_LIMIT, "");
    assert_message_has ("array of 101 elements exceeds the limit of 100");
    s_limits.max_units = 101;
    ACCEPTED (&kvs);
}

//  ---------------------------------------------------------------------
//  Frames, version, type, keys

static proto_msg_t *
s_decode_bytes (const void *data, size_t size)
{
    return proto_decode (data, size, &s_limits, &s_err);
}

static void
s_expect_bytes (const void *data, size_t size, const char *code, const char *message_part)
{
    proto_msg_t *msg = s_decode_bytes (data, size);
    assert_null (msg);
    assert_string_equal (s_err.code, code);
    assert_string_equal (s_err.field, "");
    if (!strstr (s_err.message, message_part))
        fail_msg ("message \"%s\" lacks \"%s\"", s_err.message, message_part);
}

static void
s_encode_join (char **data, size_t *size)
{
    proto_msg_t *msg = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 1;
    proto_msg_set_str (&msg->suite, "s");
    proto_msg_set_str (&msg->build, "b");
    msg->node_total = 2;
    proto_msg_set_str (&msg->mode, "queue");
    proto_msg_set_units (msg, s_units, 3);
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (s_units, 3, digest);
    proto_msg_set_str (&msg->digest, digest);
    assert_int_equal (proto_encode (msg, data, size), 0);
    proto_msg_destroy (&msg);
}

static void
test_truncated_and_trailing (void **state)
{
    char *data;
    size_t size;
    s_encode_join (&data, &size);
    proto_msg_t *msg = s_decode_bytes (data, size);
    assert_non_null (msg);
    proto_msg_destroy (&msg);
    //  Every prefix of a valid join, in a buffer of exactly that size so
    //  that ASan catches any read past its end.
    for (size_t length = 0; length < size; length++) {
        char *prefix = malloc (length ? length : 1);
        memcpy (prefix, data, length);
        assert_null (s_decode_bytes (prefix, length));
        assert_string_equal (s_err.code, PROTO_ERR_BAD_REQUEST);
        assert_string_equal (s_err.field, "");
        assert_true (strlen (s_err.message) > 0);
        free (prefix);
    }
    char *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer[size] = (char) 0xc0;
    s_expect_bytes (longer, size + 1, PROTO_ERR_BAD_REQUEST, "trailing bytes after message");
    free (longer);

    //  Over max_frame: refused by size alone, before any parsing.
    s_limits.max_frame = size - 1;
    s_expect_bytes (data, size, PROTO_ERR_TOO_LARGE, "more than the limit");
    s_limits.max_frame = size;
    msg = s_decode_bytes (data, size);
    assert_non_null (msg);
    proto_msg_destroy (&msg);
    free (data);
}

static void
test_hostile_frames (void **state)
{
    //  msgpack-c issue #1013: five bytes claiming four billion elements.
    s_expect_bytes ("\xdd\xff\xff\xff\xff", 5, PROTO_ERR_BAD_REQUEST,
                    "array of 4294967295 elements exceeds the 0 bytes left");
    s_expect_bytes ("\xdf\xff\xff\xff\xff\xa1v\x01", 8, PROTO_ERR_BAD_REQUEST,
                    "map of 4294967295 pairs exceeds the 3 bytes left");
    s_expect_bytes ("\x81\xa1v\xdb\xff\xff\xff\xf0", 8, PROTO_ERR_BAD_REQUEST,
                    "string of 4294967280 bytes exceeds the 0 bytes left");
    s_expect_bytes ("\x81\xa1x\xd4\x01\x00", 6, PROTO_ERR_BAD_REQUEST, "ext type 0xd4");
    s_expect_bytes ("\x81\xa1x\xc7\x01\x01\x00", 7, PROTO_ERR_BAD_REQUEST, "ext type 0xc7");
    s_expect_bytes ("\x81\xa1x\xc1", 4, PROTO_ERR_BAD_REQUEST, "0xc1");
    s_expect_bytes ("", 0, PROTO_ERR_BAD_REQUEST, "empty");
    //  Depth: map > array > array > array is 4 deep and allowed by the
    //  walk (then ignored as an unknown key); one more level is not.
    kvs_t kvs;
    s_join_kvs (&kvs);
    ACCEPTED (&kvs);
    s_expect_bytes ("\x81\xa1x\x91\x91\x91\x91\x01", 8, PROTO_ERR_BAD_REQUEST,
                    "nested 5 deep, more than the limit of 4");
}

static void
test_top_level (void **state)
{
    s_expect_bytes ("\x92\x01\x02", 3, PROTO_ERR_BAD_REQUEST, "must be a map, not an array");
    s_expect_bytes ("\xa3joi", 4, PROTO_ERR_BAD_REQUEST, "must be a map, not a string");
    s_expect_bytes ("\x01", 1, PROTO_ERR_BAD_REQUEST, "must be a map, not an unsigned integer");
    s_expect_bytes ("\xc0", 1, PROTO_ERR_BAD_REQUEST, "must be a map, not nil");
    //  A key that is not a string
    s_expect_bytes ("\x82\xa1v\x01\x01\x02", 6, PROTO_ERR_BAD_REQUEST,
                    "key 1 of the message map is an unsigned integer; keys must be strings");

    kvs_t kvs;
    s_join_kvs (&kvs);
    kvs_add (&kvs, STR ("suite", "other"));
    BAD (&kvs, "suite");
    assert_string_equal (s_err.message, "suite appears more than once");
    //  A duplicate of the same value is still refused: which one counts is
    //  not a question the daemon should have to answer.
    s_join_kvs (&kvs);
    kvs_add (&kvs, U ("v", 1));
    BAD (&kvs, "v");

    //  Unknown keys are ignored, even repeated.
    s_join_kvs (&kvs);
    kvs_add (&kvs, STR ("future_field", "x"));
    kvs_add (&kvs, U ("future_field", 2));
    kvs_add (&kvs, MAP ("future_map", NULL, 0));
    ACCEPTED (&kvs);
}

static void
test_version_and_type (void **state)
{
    kvs_t kvs;
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("v", 2));
    REFUSED (&kvs, PROTO_ERR_VERSION, "v");
    assert_string_equal (s_err.message,
                         "protocol version 2 is not supported; this side speaks version 1");
    kvs_set (&kvs, U ("v", 0));
    REFUSED (&kvs, PROTO_ERR_VERSION, "v");
    kvs_set (&kvs, NEG ("v", -1));
    REFUSED (&kvs, PROTO_ERR_VERSION, "v");
    assert_string_equal (s_err.message,
                         "protocol version -1 is not supported; this side speaks version 1");
    kvs_set (&kvs, FLOAT ("v"));
    BAD (&kvs, "v");
    assert_string_equal (s_err.message, "v must be an unsigned integer, not a float");

    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("type", "frob"));
    REFUSED (&kvs, PROTO_ERR_UNKNOWN_TYPE, "type");
    assert_string_equal (s_err.message, "unknown message type \"frob\"");
    kvs_set (&kvs, STR ("type", "join\x1b[2J"));
    REFUSED (&kvs, PROTO_ERR_UNKNOWN_TYPE, "type");
    assert_string_equal (s_err.message, "unknown message type \"join?[2J\"");
    kvs_set (&kvs, STR ("type", ""));
    REFUSED (&kvs, PROTO_ERR_UNKNOWN_TYPE, "type");
    kvs_set (&kvs, STR ("type", "joi"));
    REFUSED (&kvs, PROTO_ERR_UNKNOWN_TYPE, "type");
}

static void
test_error_echoes_attempt_and_req (void **state)
{
    kvs_t kvs;
    //  Fails after attempt and req were read
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("suite", "bad suite"));
    BAD (&kvs, "suite");
    assert_string_equal (s_err.attempt, "att-1_X");
    assert_int_equal (s_err.req, 7);

    //  Fails before them in the checking order, and they come last in the map
    s_join_kvs (&kvs);
    kvs_drop (&kvs, "attempt");
    kvs_drop (&kvs, "req");
    kvs_set (&kvs, U ("v", 3));
    kvs_add (&kvs, STR ("attempt", "late"));
    kvs_add (&kvs, U ("req", 12));
    REFUSED (&kvs, PROTO_ERR_VERSION, "v");
    assert_string_equal (s_err.attempt, "late");
    assert_int_equal (s_err.req, 12);

    //  A duplicate elsewhere still lets them through
    s_join_kvs (&kvs);
    kvs_add (&kvs, STR ("build", "again"));
    BAD (&kvs, "build");
    assert_string_equal (s_err.attempt, "att-1_X");
    assert_int_equal (s_err.req, 7);

    //  An invalid attempt is not echoed; the valid req still is.
    s_join_kvs (&kvs);
    kvs_set (&kvs, STR ("attempt", "not valid"));
    BAD (&kvs, "attempt");
    assert_string_equal (s_err.attempt, "");
    assert_int_equal (s_err.req, 7);
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("req", 0));
    BAD (&kvs, "req");
    assert_string_equal (s_err.attempt, "att-1_X");
    assert_int_equal (s_err.req, 0);

    //  A duplicated attempt is not echoed: which one would it be?
    s_join_kvs (&kvs);
    kvs_add (&kvs, STR ("attempt", "other"));
    BAD (&kvs, "attempt");
    assert_string_equal (s_err.attempt, "");

    //  Unreadable frames echo nothing, and nothing is left from before.
    s_expect_bytes ("\xc1", 1, PROTO_ERR_BAD_REQUEST, "0xc1");
    assert_string_equal (s_err.attempt, "");
    assert_int_equal (s_err.req, 0);

    //  The daemon's error reply carries them back.
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("node_index", 9));
    BAD (&kvs, "node_index");
    proto_msg_t *reply = proto_error_new (s_err.attempt, s_err.req, s_err.code, s_err.field,
                                          "%s", s_err.message);
    assert_string_equal (reply->attempt, "att-1_X");
    assert_int_equal (reply->req, 7);
    assert_string_equal (reply->field, "node_index");
    assert_string_equal (reply->message, "node_index 9 is not below node_total 4");
    proto_msg_destroy (&reply);
}

//  ---------------------------------------------------------------------
//  next, and the replies

static void
s_next_kvs (kvs_t *kvs, kv_t *report, size_t report_count)
{
    static const uint64_t times[] = { 10, 20 };
    memset (kvs, 0, sizeof *kvs);
    kvs_set (kvs, U ("v", 1));
    kvs_set (kvs, STR ("type", "next"));
    kvs_set (kvs, STR ("attempt", "a1"));
    kvs_set (kvs, U ("req", 2));
    report[0] = U ("batch", 1);
    report[1] = U ("wall_ms", 40);
    report[2] = U ("exit", 0);
    report[3] = UINTS ("times_ms", times, 2);
    report[4] = U ("lease", 3);
    kvs_set (kvs, MAP ("report", report, report_count));
}

//  The parts every report has; a sixth slot is for what a test adds.
#define REPORT_PARTS 5

static void
test_next_report (void **state)
{
    kvs_t kvs;
    kv_t report[REPORT_PARTS + 1];
    s_next_kvs (&kvs, report, REPORT_PARTS);
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->has_report);
    assert_int_equal (msg->report_time_count, 2);
    assert_int_equal (msg->report_lease, 3);
    assert_false (msg->report_returned);            //  optional, false when absent
    proto_msg_destroy (&msg);

    kvs_drop (&kvs, "report");
    msg = s_accepted (&kvs, __LINE__);
    assert_false (msg->has_report);
    proto_msg_destroy (&msg);
    kvs_drop (&kvs, "attempt");
    BAD (&kvs, "attempt");
    s_next_kvs (&kvs, report, REPORT_PARTS);
    kvs_drop (&kvs, "req");
    BAD (&kvs, "req");

    s_next_kvs (&kvs, report, REPORT_PARTS);
    kvs_set (&kvs, U ("report", 1));
    BAD (&kvs, "report");

    //  Each part of the report is required, the lease too: without it a
    //  late report could not be told from the holder's.
    const char *const parts[] = {
        "report.batch", "report.wall_ms", "report.exit", "report.times_ms", "report.lease"
    };
    for (size_t p = 0; p < REPORT_PARTS; p++) {
        s_next_kvs (&kvs, report, REPORT_PARTS);
        report[p] = report[REPORT_PARTS - 1];
        kvs_set (&kvs, MAP ("report", report, REPORT_PARTS - 1));
        BAD (&kvs, parts[p]);
        char expected[64];
        snprintf (expected, sizeof expected, "required field %s is missing", parts[p]);
        assert_string_equal (s_err.message, expected);
        //  The error can still be matched to its request.
        assert_string_equal (s_err.attempt, "a1");
        assert_int_equal (s_err.req, 2);
    }

    struct { size_t slot; kv_t kv; const char *field; } bad[] = {
        { 0, U ("batch", 0), "report.batch" },
        { 0, U ("batch", 1ull << 32), "report.batch" },
        { 0, STR ("batch", "1"), "report.batch" },
        { 1, NEG ("wall_ms", -1), "report.wall_ms" },
        { 2, U ("exit", 256), "report.exit" },
        { 2, NEG ("exit", -65), "report.exit" },
        { 2, STR ("exit", "0"), "report.exit" },
        { 2, FLOAT ("exit"), "report.exit" },
        { 3, STRS ("times_ms", s_units, 2), "report.times_ms[0]" },
        { 3, U ("times_ms", 3), "report.times_ms" },
        { 4, U ("lease", 0), "report.lease" },
        { 4, U ("lease", PROTO_REQ_MAX + 1), "report.lease" },
        { 4, NEG ("lease", -3), "report.lease" },
        { 4, STR ("lease", "3"), "report.lease" },
        { 4, BOOL ("lease", 1), "report.lease" },
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        s_next_kvs (&kvs, report, REPORT_PARTS);
        report[bad[b].slot] = bad[b].kv;
        BAD (&kvs, bad[b].field);
    }
    s_next_kvs (&kvs, report, REPORT_PARTS);
    report[4] = U ("lease", 0);
    BAD (&kvs, "report.lease");
    assert_string_equal (s_err.message, "report.lease 0 is out of range 1..9007199254740992");
    report[4] = U ("lease", PROTO_REQ_MAX);
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->report_lease == PROTO_REQ_MAX);
    proto_msg_destroy (&msg);

    const int64_t good_exits[] = { -64, -9, -1 };
    for (size_t e = 0; e < 3; e++) {
        s_next_kvs (&kvs, report, REPORT_PARTS);
        report[2] = NEG ("exit", good_exits[e]);
        msg = s_accepted (&kvs, __LINE__);
        assert_int_equal (msg->report_exit, good_exits[e]);
        proto_msg_destroy (&msg);
    }
    s_next_kvs (&kvs, report, REPORT_PARTS);
    report[2] = NEG ("exit", -65);
    BAD (&kvs, "report.exit");
    assert_string_equal (s_err.message, "report.exit -65 is out of range -64..255");

    //  "returned" is optional, and a boolean when there.
    static const uint64_t no_times[1] = { 0 };
    s_next_kvs (&kvs, report, REPORT_PARTS + 1);
    report[5] = BOOL ("returned", 1);
    report[3] = UINTS ("times_ms", no_times, 0);        //  nothing ran
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->report_returned);
    assert_int_equal (msg->report_time_count, 0);
    proto_msg_destroy (&msg);
    report[5] = BOOL ("returned", 0);
    msg = s_accepted (&kvs, __LINE__);
    assert_false (msg->report_returned);
    proto_msg_destroy (&msg);
    report[5] = U ("returned", 1);
    BAD (&kvs, "report.returned");
    assert_string_equal (s_err.message,
                         "report.returned must be a boolean, not an unsigned integer");
    report[5] = NIL ("returned");
    BAD (&kvs, "report.returned");

    //  A duplicate inside the report is named with its path.
    s_next_kvs (&kvs, report, REPORT_PARTS + 1);
    report[5] = U ("exit", 1);
    BAD (&kvs, "report.exit");
    assert_string_equal (s_err.message, "report.exit appears more than once");
    report[5] = U ("lease", 3);
    BAD (&kvs, "report.lease");
    assert_string_equal (s_err.message, "report.lease appears more than once");

    //  More times than max_units is a limit.
    s_limits.max_units = 1;
    s_next_kvs (&kvs, report, REPORT_PARTS);
    REFUSED (&kvs, PROTO_ERR_LIMIT, "report.times_ms");
}

static void
s_heartbeat_kvs (kvs_t *kvs)
{
    memset (kvs, 0, sizeof *kvs);
    kvs_set (kvs, U ("v", 1));
    kvs_set (kvs, STR ("type", "heartbeat"));
    kvs_set (kvs, STR ("attempt", "a1"));
    kvs_set (kvs, U ("req", 4));
    kvs_set (kvs, U ("batch", 2));
    kvs_set (kvs, U ("lease", 9));
}

static void
test_heartbeat (void **state)
{
    kvs_t kvs;
    s_heartbeat_kvs (&kvs);
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->type, PROTO_HEARTBEAT);
    assert_string_equal (msg->attempt, "a1");
    assert_int_equal (msg->req, 4);
    assert_int_equal (msg->batch, 2);
    assert_int_equal (msg->lease, 9);
    proto_msg_destroy (&msg);

    //  A request: every field required, attempt and req included.
    const char *const keys[] = { "attempt", "req", "batch", "lease" };
    for (size_t k = 0; k < 4; k++) {
        s_heartbeat_kvs (&kvs);
        kvs_drop (&kvs, keys[k]);
        BAD (&kvs, keys[k]);
        assert_message_has ("is missing");
    }
    struct { kv_t kv; const char *field; } bad[] = {
        { U ("batch", 0), "batch" },
        { U ("batch", 1ull << 32), "batch" },
        { STR ("batch", "2"), "batch" },
        { U ("lease", 0), "lease" },
        { U ("lease", PROTO_REQ_MAX + 1), "lease" },
        { NEG ("lease", -1), "lease" },
        { STR ("attempt", "a 1"), "attempt" },
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        s_heartbeat_kvs (&kvs);
        kvs_set (&kvs, bad[b].kv);
        BAD (&kvs, bad[b].field);
    }
    s_heartbeat_kvs (&kvs);
    kvs_set (&kvs, U ("lease", PROTO_REQ_MAX));
    kvs_set (&kvs, U ("batch", UINT32_MAX));
    ACCEPTED (&kvs);
    kvs_add (&kvs, U ("lease", 1));
    BAD (&kvs, "lease");
    assert_string_equal (s_err.message, "lease appears more than once");
}

//  The join options: optional booleans with their defaults when absent.
static void
test_join_options (void **state)
{
    kvs_t kvs;
    s_join_kvs (&kvs);
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_false (msg->only_failed);
    assert_false (msg->fixed_split);
    assert_false (msg->no_wait);                    //  "wait" is true when absent
    assert_false (msg->fail_fast);
    proto_msg_destroy (&msg);

    kvs_set (&kvs, BOOL ("only_failed", 1));
    kvs_set (&kvs, BOOL ("fixed_split", 1));
    kvs_set (&kvs, BOOL ("wait", 0));
    kvs_set (&kvs, BOOL ("fail_fast", 1));
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->only_failed);
    assert_true (msg->fixed_split);
    assert_true (msg->no_wait);
    assert_true (msg->fail_fast);
    proto_msg_destroy (&msg);

    //  Said explicitly, the defaults are the defaults.
    kvs_set (&kvs, BOOL ("only_failed", 0));
    kvs_set (&kvs, BOOL ("fixed_split", 0));
    kvs_set (&kvs, BOOL ("wait", 1));
    kvs_set (&kvs, BOOL ("fail_fast", 0));
    msg = s_accepted (&kvs, __LINE__);
    assert_false (msg->only_failed);
    assert_false (msg->fixed_split);
    assert_false (msg->no_wait);
    assert_false (msg->fail_fast);
    proto_msg_destroy (&msg);

    //  When present, each must be a boolean, and be there once.
    const char *const options[] = { "only_failed", "fixed_split", "wait", "fail_fast" };
    for (size_t o = 0; o < 4; o++) {
        const kv_t wrong[] = {
            U (options[o], 1), STR (options[o], "true"), NIL (options[o]), FLOAT (options[o])
        };
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            s_join_kvs (&kvs);
            kvs_set (&kvs, wrong[w]);
            BAD (&kvs, options[o]);
            assert_message_has ("must be a boolean");
        }
        s_join_kvs (&kvs);
        kvs_add (&kvs, BOOL (options[o], 1));
        kvs_add (&kvs, BOOL (options[o], 1));
        BAD (&kvs, options[o]);
        assert_message_has ("appears more than once");
    }
}

//  The join's "machine": optional, 1..PROTO_MACHINE_MAX bytes of
//  The keys of s_plain_join's message, in the order they are sent.
#define S_PLAIN_JOIN_KEYS "v,type,attempt,req,suite,build,node_index,node_total,commit," \
                          "branch,mode,digest,units"

//  A join of s_units with nothing optional set, as the round trips of
//  the join's optional fields start from.
static proto_msg_t *
s_plain_join (void)
{
    proto_msg_t *msg = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 3;
    proto_msg_set_str (&msg->suite, "acme/web");
    proto_msg_set_str (&msg->build, "ci-9");
    msg->node_total = 4;
    proto_msg_set_str (&msg->commit, "c");
    proto_msg_set_str (&msg->branch, "main");
    proto_msg_set_str (&msg->mode, "queue");
    proto_msg_set_units (msg, s_units, 3);
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (s_units, 3, digest);
    proto_msg_set_str (&msg->digest, digest);
    return msg;
}

//  printable ASCII without spaces; NULL when not said.
static void
test_join_machine (void **state)
{
    proto_msg_t *msg = s_plain_join ();
    const char *const base = S_PLAIN_JOIN_KEYS;
    char keys[512];

    //  Not said: not sent, decoded as NULL; empty is not said either.
    proto_msg_t *copy = s_round_trip (msg, base);
    assert_null (copy->machine);
    proto_msg_destroy (&copy);
    proto_msg_set_str (&msg->machine, "");
    copy = s_round_trip (msg, base);
    assert_null (copy->machine);
    proto_msg_destroy (&copy);

    //  Said: the same string back, from the edges of the allowed bytes.
    snprintf (keys, sizeof keys, "%s,machine", base);
    proto_msg_set_str (&msg->machine, "ci-runner-7.example:2!~");
    copy = s_round_trip (msg, keys);
    assert_non_null (copy->machine);
    assert_string_equal (copy->machine, "ci-runner-7.example:2!~");
    assert_true (copy->machine != msg->machine);
    proto_msg_destroy (&copy);
    char longest[PROTO_MACHINE_MAX + 1];
    memset (longest, 'm', PROTO_MACHINE_MAX);
    longest[PROTO_MACHINE_MAX] = 0;
    proto_msg_set_str (&msg->machine, longest);
    copy = s_round_trip (msg, keys);
    assert_string_equal (copy->machine, longest);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    //  Hand-made maps: what satcheld accepts and refuses.
    kvs_t kvs;
    s_join_kvs (&kvs);
    msg = s_accepted (&kvs, __LINE__);
    assert_null (msg->machine);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, STR ("machine", "box-1"));
    msg = s_accepted (&kvs, __LINE__);
    assert_string_equal (msg->machine, "box-1");
    proto_msg_destroy (&msg);
    kvs_set (&kvs, STR ("machine", longest));
    ACCEPTED (&kvs);

    char too_long[PROTO_MACHINE_MAX + 2];
    memset (too_long, 'm', PROTO_MACHINE_MAX + 1);
    too_long[PROTO_MACHINE_MAX + 1] = 0;
    kvs_set (&kvs, STR ("machine", too_long));
    BAD (&kvs, "machine");
    char expected[128];
    snprintf (expected, sizeof expected, "machine is %d bytes, more than the %d allowed",
              PROTO_MACHINE_MAX + 1, PROTO_MACHINE_MAX);
    assert_string_equal (s_err.message, expected);

    kvs_set (&kvs, STR ("machine", "ci runner"));
    BAD (&kvs, "machine");
    assert_message_has ("byte 0x20 at position 2");
    const char *const bad[] = { "", " ", "a\tb", "a\x7f", "caf\xc3\xa9" };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        kvs_set (&kvs, STR ("machine", bad[b]));
        BAD (&kvs, "machine");
    }
    kvs_set (&kvs, STRN ("machine", "ab\0cd", 5));
    BAD (&kvs, "machine");
    assert_message_has ("NUL byte at position 2");
    const kv_t wrong[] = { U ("machine", 1), NIL ("machine"), BIN ("machine", "box"),
                           STRS ("machine", s_units, 1), BOOL ("machine", 1) };
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        kvs_set (&kvs, wrong[w]);
        BAD (&kvs, "machine");
    }
    s_join_kvs (&kvs);
    kvs_add (&kvs, STR ("machine", "box-1"));
    kvs_add (&kvs, STR ("machine", "box-1"));
    BAD (&kvs, "machine");
    assert_message_has ("appears more than once");
}

static void
test_replies_validated (void **state)
{
    static const uint64_t predicted[] = { 100, 200, 300 };
    kvs_t kvs;
    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "batch"));
    kvs_set (&kvs, U ("batch", 1));
    kvs_set (&kvs, STRS ("units", s_units, 3));
    kvs_set (&kvs, UINTS ("predicted_ms", predicted, 3));
    kvs_set (&kvs, U ("lease", 5));
    kvs_set (&kvs, STR ("kind", "queue"));
    ACCEPTED (&kvs);                        //  no attempt or req: fine in a reply
    kvs_set (&kvs, STR ("attempt", "a b"));
    BAD (&kvs, "attempt");                  //  but if present, checked
    kvs_drop (&kvs, "attempt");
    kvs_set (&kvs, U ("req", 0));
    BAD (&kvs, "req");
    kvs_drop (&kvs, "req");
    kvs_set (&kvs, UINTS ("predicted_ms", predicted, 2));
    BAD (&kvs, "predicted_ms");
    assert_string_equal (s_err.message, "predicted_ms has 2 values but units has 3 names");
    kvs_set (&kvs, UINTS ("predicted_ms", predicted, 3));
    kvs_set (&kvs, U ("batch", 0));
    BAD (&kvs, "batch");
    kvs_set (&kvs, U ("batch", 1));
    kvs_set (&kvs, STRS ("units", s_units, 0));
    kvs_set (&kvs, UINTS ("predicted_ms", predicted, 0));
    BAD (&kvs, "units");
    kvs_set (&kvs, STRS ("units", s_units, 3));
    kvs_set (&kvs, UINTS ("predicted_ms", predicted, 3));
    //  The lease: 1..2^53, like a request number.
    kvs_set (&kvs, U ("lease", 0));
    BAD (&kvs, "lease");
    kvs_set (&kvs, U ("lease", PROTO_REQ_MAX + 1));
    BAD (&kvs, "lease");
    kvs_set (&kvs, U ("lease", PROTO_REQ_MAX));
    ACCEPTED (&kvs);
    //  The kind: one of four words.
    struct { const char *word; proto_kind_t kind; } kinds[] = {
        { "queue", PROTO_KIND_QUEUE }, { "replay", PROTO_KIND_REPLAY },
        { "retry", PROTO_KIND_RETRY }, { "regular", PROTO_KIND_REGULAR }
    };
    for (size_t k = 0; k < 4; k++) {
        kvs_set (&kvs, STR ("kind", kinds[k].word));
        proto_msg_t *msg = s_accepted (&kvs, __LINE__);
        assert_int_equal (msg->kind, kinds[k].kind);
        proto_msg_destroy (&msg);
    }
    const char *const bad_kinds[] = { "frob", "Queue", "queue2", "retr", "unknown" };
    for (size_t k = 0; k < sizeof bad_kinds / sizeof bad_kinds[0]; k++) {
        kvs_set (&kvs, STR ("kind", bad_kinds[k]));
        BAD (&kvs, "kind");
        assert_string_equal (s_err.message, "kind must be queue, replay, retry or regular");
    }
    kvs_set (&kvs, STR ("kind", ""));
    BAD (&kvs, "kind");
    kvs_set (&kvs, STR ("kind", "re play"));
    BAD (&kvs, "kind");
    kvs_set (&kvs, U ("kind", 1));
    BAD (&kvs, "kind");
    assert_string_equal (s_err.message, "kind must be a string, not an unsigned integer");

    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "joined"));
    kvs_set (&kvs, U ("units", 10));
    kvs_set (&kvs, U ("nodes", 2));
    kvs_set (&kvs, BOOL ("created", 0));
    kvs_set (&kvs, U ("replay", 0));
    kvs_set (&kvs, U ("heartbeat_ms", 10000));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("created", 1));
    BAD (&kvs, "created");
    kvs_set (&kvs, BOOL ("created", 1));
    kvs_set (&kvs, U ("nodes", 0));
    BAD (&kvs, "nodes");
    kvs_set (&kvs, U ("nodes", 2));
    kvs_set (&kvs, STRS ("units", s_units, 3));
    BAD (&kvs, "units");
    kvs_set (&kvs, U ("units", 10));
    kvs_set (&kvs, U ("replay", (uint64_t) UINT32_MAX + 1));
    BAD (&kvs, "replay");
    kvs_set (&kvs, BOOL ("replay", 1));
    BAD (&kvs, "replay");
    kvs_set (&kvs, U ("replay", UINT32_MAX));
    kvs_set (&kvs, U ("heartbeat_ms", 0));
    BAD (&kvs, "heartbeat_ms");             //  0 would mean heartbeats without pause
    kvs_set (&kvs, U ("heartbeat_ms", (uint64_t) UINT32_MAX + 1));
    BAD (&kvs, "heartbeat_ms");
    kvs_set (&kvs, U ("heartbeat_ms", 1));
    ACCEPTED (&kvs);

    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "done"));
    kvs_set (&kvs, U ("units_done", 5));
    kvs_set (&kvs, U ("units_total", 5));
    kvs_set (&kvs, STR ("reason", "complete"));
    kvs_set (&kvs, U ("failed", 0));
    kvs_set (&kvs, U ("flaky", 0));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("units_done", 6));
    BAD (&kvs, "units_done");
    assert_string_equal (s_err.message, "units_done 6 is more than units_total 5");
    kvs_set (&kvs, U ("units_done", 5));
    //  A reason this side does not know is still a reason (a newer daemon).
    kvs_set (&kvs, STR ("reason", "some_future_reason"));
    ACCEPTED (&kvs);
    char reason[PROTO_REASON_MAX + 2];
    memset (reason, 'r', PROTO_REASON_MAX);
    reason[PROTO_REASON_MAX] = 0;
    kvs_set (&kvs, STR ("reason", reason));
    ACCEPTED (&kvs);
    reason[PROTO_REASON_MAX] = 'r';
    reason[PROTO_REASON_MAX + 1] = 0;
    kvs_set (&kvs, STR ("reason", reason));
    BAD (&kvs, "reason");
    kvs_set (&kvs, STR ("reason", ""));
    BAD (&kvs, "reason");
    kvs_set (&kvs, STR ("reason", "fail fast"));
    BAD (&kvs, "reason");
    kvs_set (&kvs, U ("reason", 1));
    BAD (&kvs, "reason");
    kvs_set (&kvs, STR ("reason", "returned"));
    kvs_set (&kvs, NEG ("failed", -1));
    BAD (&kvs, "failed");
    kvs_set (&kvs, U ("failed", UINT64_MAX));
    kvs_set (&kvs, STR ("flaky", "1"));
    BAD (&kvs, "flaky");
    kvs_set (&kvs, U ("flaky", 3));
    proto_msg_t *done = s_accepted (&kvs, __LINE__);
    assert_string_equal (done->reason, "returned");
    assert_true (done->failed == UINT64_MAX);
    assert_int_equal (done->flaky, 3);
    proto_msg_destroy (&done);

    //  wait: retry_ms within 1..60000.
    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "wait"));
    kvs_set (&kvs, U ("retry_ms", 1));
    kvs_set (&kvs, U ("units_done", 3));
    kvs_set (&kvs, U ("units_total", 5));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("retry_ms", PROTO_RETRY_MS_MAX));
    proto_msg_t *wait = s_accepted (&kvs, __LINE__);
    assert_int_equal (wait->retry_ms, PROTO_RETRY_MS_MAX);
    assert_int_equal (wait->units_done, 3);
    proto_msg_destroy (&wait);
    kvs_set (&kvs, U ("retry_ms", 0));
    BAD (&kvs, "retry_ms");
    assert_string_equal (s_err.message, "retry_ms 0 is out of range 1..60000");
    kvs_set (&kvs, U ("retry_ms", PROTO_RETRY_MS_MAX + 1));
    BAD (&kvs, "retry_ms");
    assert_string_equal (s_err.message, "retry_ms 60001 is out of range 1..60000");
    kvs_set (&kvs, U ("retry_ms", UINT64_MAX));
    BAD (&kvs, "retry_ms");
    kvs_set (&kvs, NEG ("retry_ms", -1));
    BAD (&kvs, "retry_ms");
    kvs_set (&kvs, FLOAT ("retry_ms"));
    BAD (&kvs, "retry_ms");

    //  ack: two booleans.
    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "ack"));
    kvs_set (&kvs, BOOL ("held", 1));
    kvs_set (&kvs, BOOL ("stop", 0));
    proto_msg_t *ack = s_accepted (&kvs, __LINE__);
    assert_true (ack->held);
    assert_false (ack->stop);
    proto_msg_destroy (&ack);
    kvs_set (&kvs, U ("held", 1));
    BAD (&kvs, "held");
    kvs_set (&kvs, BOOL ("held", 0));
    kvs_set (&kvs, STR ("stop", "yes"));
    BAD (&kvs, "stop");

    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "error"));
    kvs_set (&kvs, STR ("code", "some_future_code"));
    kvs_set (&kvs, STR ("field", ""));
    kvs_set (&kvs, STR ("message", "try again"));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("code", ""));
    BAD (&kvs, "code");
    kvs_set (&kvs, STR ("code", "a code"));
    BAD (&kvs, "code");
    kvs_set (&kvs, STR ("code", "limit"));
    kvs_set (&kvs, STR ("message", ""));
    BAD (&kvs, "message");
    static char long_message[PROTO_MESSAGE_MAX + 1];
    memset (long_message, 'm', PROTO_MESSAGE_MAX);
    kvs_set (&kvs, STR ("message", long_message));
    BAD (&kvs, "message");
    long_message[PROTO_MESSAGE_MAX - 1] = 0;
    kvs_set (&kvs, STR ("message", long_message));
    ACCEPTED (&kvs);
}

static void
test_replies_missing_fields (void **state)
{
    static const uint64_t predicted[] = { 1, 2, 3 };
    struct { const char *type; size_t count; kv_t fields[5]; } replies[] = {
        { "joined", 5, { U ("units", 3), U ("nodes", 1), BOOL ("created", 1), U ("replay", 0),
                         U ("heartbeat_ms", 100) } },
        { "batch", 5, { U ("batch", 1), STRS ("units", s_units, 3),
                        UINTS ("predicted_ms", predicted, 3), U ("lease", 1),
                        STR ("kind", "retry") } },
        { "done", 5, { U ("units_done", 1), U ("units_total", 2), STR ("reason", "complete"),
                       U ("failed", 0), U ("flaky", 0) } },
        { "wait", 3, { U ("retry_ms", 1000), U ("units_done", 1), U ("units_total", 2) } },
        { "ack", 2, { BOOL ("held", 1), BOOL ("stop", 0) } },
        { "error", 4, { STR ("code", "internal"), STR ("field", ""), STR ("message", "m"),
                        STR ("ignored", "x") } },
    };
    for (size_t r = 0; r < sizeof replies / sizeof replies[0]; r++) {
        kvs_t kvs;
        memset (&kvs, 0, sizeof kvs);
        kvs_set (&kvs, U ("v", 1));
        kvs_set (&kvs, STR ("type", replies[r].type));
        for (size_t f = 0; f < replies[r].count; f++)
            kvs_set (&kvs, replies[r].fields[f]);
        ACCEPTED (&kvs);
        for (size_t f = 0; f < replies[r].count; f++) {
            if (strcmp (replies[r].fields[f].key, "ignored") == 0)
                continue;
            kvs_t missing = kvs;
            kvs_drop (&missing, replies[r].fields[f].key);
            BAD (&missing, replies[r].fields[f].key);
            char expected[64];
            snprintf (expected, sizeof expected, "required field %s is missing",
                      replies[r].fields[f].key);
            assert_string_equal (s_err.message, expected);
        }
    }
}

//  ---------------------------------------------------------------------
//  Split files, imports and test reports

//  The keys of an encoded next's "report" map, joined by ','.
static void
s_report_keys_of (const char *data, size_t size, char *out, size_t out_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    assert_int_equal (msgpack_unpack_next (&unpacked, data, size, &offset), MSGPACK_UNPACK_SUCCESS);
    out[0] = 0;
    const msgpack_object_map *map = &unpacked.data.via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object_str *key = &map->ptr[i].key.via.str;
        if (key->size != 6 || memcmp (key->ptr, "report", 6) != 0)
            continue;
        const msgpack_object_map *report = &map->ptr[i].val.via.map;
        for (uint32_t r = 0; r < report->size; r++) {
            size_t used = strlen (out);
            snprintf (out + used, out_size - used, "%s%.*s", r ? "," : "",
                      (int) report->ptr[r].key.via.str.size, report->ptr[r].key.via.str.ptr);
        }
    }
    msgpack_unpacked_destroy (&unpacked);
}

//  can_list, slow_ms and a listed join's examples survive a round trip;
//  each is sent only when it says something.
static void
test_round_trip_join_examples (void **state)
{
    proto_msg_t *msg = s_plain_join ();
    const char *const base = S_PLAIN_JOIN_KEYS;
    char keys[512];

    //  None of them: none sent, the defaults decoded.
    proto_msg_t *copy = s_round_trip (msg, base);
    assert_false (copy->can_list);
    assert_int_equal (copy->slow_ms, 0);
    assert_false (copy->listed);
    assert_int_equal (copy->example_count, 0);
    assert_null (copy->examples);
    assert_null (copy->example_file);
    proto_msg_destroy (&copy);

    msg->can_list = true;
    msg->slow_ms = PROTO_DURATION_MS_MAX;
    snprintf (keys, sizeof keys, "%s,can_list,slow_ms", base);
    copy = s_round_trip (msg, keys);
    assert_true (copy->can_list);
    assert_true (copy->slow_ms == PROTO_DURATION_MS_MAX);
    assert_false (copy->listed);
    proto_msg_destroy (&copy);

    //  Listed, with examples of the first and the last file.
    const char *const ids[] = { "d_spec.rb:12", "a_spec.rb[1:2]", "a_spec.rb[1:1]" };
    const uint32_t files[] = { 2, 0, 0 };
    proto_msg_set_examples (msg, ids, files, 3);
    msg->listed = true;
    msg->can_list = false;
    msg->slow_ms = 0;
    snprintf (keys, sizeof keys, "%s,listed,examples,example_file", base);
    copy = s_round_trip (msg, keys);
    assert_true (copy->listed);
    assert_int_equal (copy->example_count, 3);
    for (size_t e = 0; e < 3; e++) {
        assert_string_equal (copy->examples[e], ids[e]);      //  order as sent
        assert_int_equal (copy->example_file[e], files[e]);
    }
    proto_msg_destroy (&copy);

    //  Listed with no examples (listing failed): the files stay whole.
    proto_msg_set_examples (msg, NULL, NULL, 0);
    assert_int_equal (msg->example_count, 0);
    copy = s_round_trip (msg, keys);
    assert_true (copy->listed);
    assert_int_equal (copy->example_count, 0);
    proto_msg_destroy (&copy);

    //  The setter copies, and replaces what was there.
    proto_msg_set_examples (msg, ids, files, 2);
    assert_true (msg->examples[0] != ids[0]);
    assert_string_equal (msg->examples[1], "a_spec.rb[1:2]");
    proto_msg_set_examples (msg, ids + 2, files + 2, 1);
    assert_int_equal (msg->example_count, 1);
    assert_string_equal (msg->examples[0], "a_spec.rb[1:1]");
    assert_int_equal (msg->example_file[0], 0);
    proto_msg_destroy (&msg);
}

static void
test_round_trip_import (void **state)
{
    const char *const names[] = { "a_spec.rb", "a_spec.rb[1:1]", "a_spec.rb[1:2]", "b_spec.rb" };
    proto_msg_t *msg = proto_msg_new (PROTO_IMPORT);
    proto_msg_set_str (&msg->attempt, "imp-1");
    msg->req = 1;
    proto_msg_set_str (&msg->suite, "acme/web:rspec");
    proto_msg_set_units (msg, names, 4);
    msg->times_ms = calloc (4, sizeof (uint64_t));
    msg->parent = calloc (4, sizeof (uint32_t));
    const uint64_t times[] = { 9000, 0, PROTO_DURATION_MS_MAX, 12 };
    const uint32_t parents[] = { 0, 1, 1, 0 };
    memcpy (msg->times_ms, times, sizeof times);
    memcpy (msg->parent, parents, sizeof parents);
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,suite,units,times_ms,parent");
    assert_int_equal (copy->type, PROTO_IMPORT);
    assert_string_equal (copy->attempt, "imp-1");
    assert_int_equal (copy->req, 1);
    assert_string_equal (copy->suite, "acme/web:rspec");
    assert_int_equal (copy->unit_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal (copy->units[i], names[i]);
        assert_true (copy->times_ms[i] == times[i]);
        assert_int_equal (copy->parent[i], parents[i]);
    }
    proto_msg_destroy (&copy);

    //  Without its arrays it cannot be encoded.
    char *data = NULL;
    size_t size = 0;
    free (msg->parent);
    msg->parent = NULL;
    assert_int_equal (proto_encode (msg, &data, &size), -1);
    assert_null (data);
    proto_msg_set_str (&msg->suite, NULL);
    msg->parent = calloc (4, sizeof (uint32_t));
    assert_int_equal (proto_encode (msg, &data, &size), -1);
    proto_msg_destroy (&msg);

    //  The replies: expand names the slow files, imported counts entries.
    msg = proto_msg_new (PROTO_EXPAND);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 4;
    proto_msg_set_units (msg, s_units + 1, 2);
    copy = s_round_trip (msg, "v,type,attempt,req,units");
    assert_int_equal (copy->type, PROTO_EXPAND);
    assert_int_equal (copy->unit_count, 2);
    assert_string_equal (copy->units[0], "b/c_spec.rb");
    assert_string_equal (copy->units[1], "d_spec.rb");
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_IMPORTED);
    proto_msg_set_str (&msg->attempt, "imp-1");
    msg->req = 1;
    msg->units_total = 4;
    copy = s_round_trip (msg, "v,type,attempt,req,units");
    assert_int_equal (copy->type, PROTO_IMPORTED);
    assert_int_equal (copy->units_total, 4);
    proto_msg_destroy (&copy);
    msg->units_total = 0;
    copy = s_round_trip (msg, "v,type,attempt,req,units");
    assert_int_equal (copy->units_total, 0);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    assert_string_equal (proto_type_name (PROTO_EXPAND), "expand");
    assert_string_equal (proto_type_name (PROTO_IMPORT), "import");
    assert_string_equal (proto_type_name (PROTO_IMPORTED), "imported");
}

//  status (an admin request: who asks, nothing more) and its answer,
//  daemon_status, both ways; a status without attempt or req is refused,
//  as a daemon_status without version, with a wrong type, or counting
//  more requests in the last minute than in all.
static void
test_status_messages (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_STATUS);
    proto_msg_set_str (&msg->attempt, "status");
    msg->req = 1;
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req");
    assert_string_equal (copy->attempt, "status");
    assert_int_equal (copy->req, 1);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
    //  A request without who asks cannot be encoded, nor decoded.
    msg = proto_msg_new (PROTO_STATUS);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal (proto_encode (msg, &data, &size), -1);
    proto_msg_destroy (&msg);
    kvs_t kvs = { .count = 0 };
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "status"));
    kvs_set (&kvs, STR ("attempt", "status"));
    BAD (&kvs, "req");
    kvs_set (&kvs, U ("req", 3));
    ACCEPTED (&kvs);
    //  Who asks is checked as in every request.
    kvs_set (&kvs, U ("req", 0));
    BAD (&kvs, "req");
    kvs_set (&kvs, U ("req", PROTO_REQ_MAX + 1));
    BAD (&kvs, "req");
    kvs_set (&kvs, STR ("req", "3"));
    BAD (&kvs, "req");
    kvs_set (&kvs, U ("req", 3));
    kvs_set (&kvs, STR ("attempt", "who asks"));
    BAD (&kvs, "attempt");
    kvs_set (&kvs, STR ("attempt", ""));
    BAD (&kvs, "attempt");
    char long_attempt[PROTO_ATTEMPT_MAX + 2];
    memset (long_attempt, 'a', sizeof long_attempt - 1);
    long_attempt[sizeof long_attempt - 1] = 0;
    kvs_set (&kvs, STR ("attempt", long_attempt));
    BAD (&kvs, "attempt");
    kvs_drop (&kvs, "attempt");
    BAD (&kvs, "attempt");
    kvs_set (&kvs, STR ("attempt", "status"));
    ACCEPTED (&kvs);

    msg = proto_msg_new (PROTO_DAEMON_STATUS);
    proto_msg_set_str (&msg->attempt, "status");
    msg->req = 1;
    proto_msg_set_str (&msg->version, "0.1.0");
    msg->uptime_s = 86401;
    msg->builds_running = 3;
    msg->agents_seen = 24;
    msg->requests_total = UINT64_MAX;
    msg->requests_minute = 1200;
    msg->db_bytes = UINT64_C (5) << 40;
    copy = s_round_trip (msg, "v,type,attempt,req,version,uptime_s,builds_running,"
                              "agents_last_minute,requests,requests_last_minute,db_bytes");
    assert_string_equal (copy->version, "0.1.0");
    assert_int_equal (copy->uptime_s, 86401);
    assert_int_equal (copy->builds_running, 3);
    assert_int_equal (copy->agents_seen, 24);
    assert_true (copy->requests_total == UINT64_MAX);
    assert_int_equal (copy->requests_minute, 1200);
    assert_true (copy->db_bytes == UINT64_C (5) << 40);
    proto_msg_destroy (&copy);
    proto_msg_set_str (&msg->version, NULL);
    assert_int_equal (proto_encode (msg, &data, &size), -1);
    proto_msg_destroy (&msg);

    kvs.count = 0;
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "daemon_status"));
    kvs_set (&kvs, STR ("version", "0.1.0"));
    kvs_set (&kvs, U ("uptime_s", 5));
    kvs_set (&kvs, U ("builds_running", 0));
    kvs_set (&kvs, U ("agents_last_minute", 0));
    kvs_set (&kvs, U ("requests", 10));
    kvs_set (&kvs, U ("requests_last_minute", 10));
    kvs_set (&kvs, U ("db_bytes", 4096));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("requests_last_minute", 11));
    BAD (&kvs, "requests_last_minute");
    kvs_set (&kvs, U ("requests_last_minute", 10));
    kvs_set (&kvs, STR ("db_bytes", "big"));
    BAD (&kvs, "db_bytes");
    kvs_set (&kvs, U ("db_bytes", 4096));
    //  Counts are unsigned integers: not negative, not floats, there.
    kvs_set (&kvs, NEG ("uptime_s", -1));
    BAD (&kvs, "uptime_s");
    kvs_set (&kvs, U ("uptime_s", 5));
    kvs_set (&kvs, FLOAT ("builds_running"));
    BAD (&kvs, "builds_running");
    kvs_set (&kvs, U ("builds_running", 0));
    kvs_set (&kvs, NIL ("agents_last_minute"));
    BAD (&kvs, "agents_last_minute");
    kvs_drop (&kvs, "agents_last_minute");
    BAD (&kvs, "agents_last_minute");
    kvs_set (&kvs, U ("agents_last_minute", 0));
    kvs_drop (&kvs, "requests");
    BAD (&kvs, "requests");
    kvs_set (&kvs, U ("requests", 10));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("version", "0.1 beta"));
    BAD (&kvs, "version");
    kvs_drop (&kvs, "version");
    BAD (&kvs, "version");
    assert_string_equal (proto_type_name (PROTO_STATUS), "status");
    assert_string_equal (proto_type_name (PROTO_DAEMON_STATUS), "daemon_status");
}

//  admin (backup, check, fetch) and admin_job, with and without a piece
//  of a backup; a fetch without its job, an unknown action or state, and
//  data that is no binary are refused.
static void
test_admin_messages (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_ADMIN);
    proto_msg_set_str (&msg->attempt, "admin-1");
    msg->req = 4;
    proto_msg_set_str (&msg->action, "backup");
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,action");
    assert_string_equal (copy->action, "backup");
    assert_int_equal (copy->job, 0);
    proto_msg_destroy (&copy);
    proto_msg_set_str (&msg->action, "fetch");
    msg->job = 9;
    msg->offset = 1u << 20;
    copy = s_round_trip (msg, "v,type,attempt,req,action,job,offset");
    assert_int_equal (copy->job, 9);
    assert_int_equal (copy->offset, 1u << 20);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_ADMIN_JOB);
    msg->job = 9;
    proto_msg_set_str (&msg->action, "backup");
    proto_msg_set_str (&msg->state, "running");
    proto_msg_set_str (&msg->message, "");
    copy = s_round_trip (msg, "v,type,job,action,state,message,size");
    assert_string_equal (copy->state, "running");
    assert_null (copy->data);
    proto_msg_destroy (&copy);
    proto_msg_set_str (&msg->state, "done");
    proto_msg_set_str (&msg->message, "ok");
    msg->size = 6;
    msg->offset = 2;
    msg->data = malloc (4);
    memcpy (msg->data, "\0\1\2\3", 4);
    msg->data_size = 4;
    copy = s_round_trip (msg, "v,type,job,action,state,message,size,offset,data");
    assert_int_equal (copy->data_size, 4);
    assert_memory_equal (copy->data, "\0\1\2\3", 4);
    assert_int_equal (copy->offset, 2);
    assert_int_equal (copy->size, 6);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    kvs_t kvs = { .count = 0 };
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "admin"));
    kvs_set (&kvs, STR ("attempt", "a"));
    kvs_set (&kvs, U ("req", 1));
    kvs_set (&kvs, STR ("action", "fetch"));
    BAD (&kvs, "job");
    kvs_set (&kvs, STR ("action", "drop_tables"));
    BAD (&kvs, "action");
    kvs_drop (&kvs, "action");
    BAD (&kvs, "action");
    kvs_set (&kvs, STR ("action", "check"));
    ACCEPTED (&kvs);

    kvs.count = 0;
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "admin_job"));
    kvs_set (&kvs, U ("job", 1));
    kvs_set (&kvs, STR ("action", "backup"));
    kvs_set (&kvs, STR ("state", "done"));
    kvs_set (&kvs, STR ("message", "ok"));
    kvs_set (&kvs, U ("size", 3));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("state", "maybe"));
    BAD (&kvs, "state");
    kvs_set (&kvs, STR ("state", "done"));
    kvs_set (&kvs, U ("offset", 0));
    kvs_set (&kvs, STR ("data", "text, not binary"));
    BAD (&kvs, "data");
    kvs_set (&kvs, BIN ("data", "abc"));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("job", 0));
    BAD (&kvs, "job");
}

//  query (builds, build) and query_result; a build query without its id,
//  an unknown what, a limit out of range and a json that is no binary are
//  refused.
static void
test_query_messages (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_QUERY);
    proto_msg_set_str (&msg->attempt, "query");
    msg->req = 1;
    proto_msg_set_str (&msg->what, "builds");
    proto_msg_set_str (&msg->suite, "web");
    msg->limit = 50;
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,what,suite,limit");
    assert_string_equal (copy->what, "builds");
    assert_string_equal (copy->suite, "web");
    assert_int_equal (copy->limit, 50);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
    msg = proto_msg_new (PROTO_QUERY_RESULT);
    const char *json = "{\"builds\": []}";
    msg->data = (uint8_t *) strdup (json);
    msg->data_size = strlen (json);
    copy = s_round_trip (msg, "v,type,json");
    assert_string_equal ((const char *) copy->data, json);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    kvs_t kvs = { .count = 0 };
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "query"));
    kvs_set (&kvs, STR ("attempt", "q"));
    kvs_set (&kvs, U ("req", 1));
    kvs_set (&kvs, STR ("what", "build"));
    BAD (&kvs, "build_id");
    kvs_set (&kvs, U ("build_id", 12));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("what", "everything"));
    BAD (&kvs, "what");
    kvs_set (&kvs, STR ("what", "builds"));
    kvs_set (&kvs, U ("limit", 0));
    BAD (&kvs, "limit");
    kvs_set (&kvs, U ("limit", PROTO_QUERY_LIMIT_MAX + 1));
    BAD (&kvs, "limit");
    kvs_set (&kvs, U ("limit", PROTO_QUERY_LIMIT_MAX));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("suite", "no spaces"));
    BAD (&kvs, "suite");
    //  The reports of a suite's tests name it; trend names its unit; an
    //  export page may be up to PROTO_EXPORT_PAGE_MAX.
    kvs_drop (&kvs, "suite");
    kvs_drop (&kvs, "limit");
    kvs_set (&kvs, STR ("what", "slowest"));
    BAD (&kvs, "suite");
    kvs_set (&kvs, STR ("suite", "web"));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("what", "trend"));
    BAD (&kvs, "unit");
    kvs_set (&kvs, STR ("unit", "spec/a b_spec.rb"));
    ACCEPTED (&kvs);
    kvs_set (&kvs, STR ("what", "export"));
    kvs_set (&kvs, U ("limit", PROTO_EXPORT_PAGE_MAX));
    kvs_set (&kvs, U ("since_ms", 1700000000000));
    kvs_set (&kvs, U ("after", 12));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("limit", PROTO_EXPORT_PAGE_MAX + 1));
    BAD (&kvs, "limit");
    kvs.count = 0;
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "query_result"));
    kvs_set (&kvs, STR ("json", "{}"));
    BAD (&kvs, "json");
    kvs_set (&kvs, BIN ("json", "{}"));
    ACCEPTED (&kvs);
}

//  fallback (a node tells of its run split by name) and noted.
static void
test_fallback_messages (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_FALLBACK);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 1;
    proto_msg_set_str (&msg->suite, "web");
    msg->node_index = 2;
    msg->node_total = 3;
    msg->units_total = 40;
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,suite,build,node_index,"
                                           "node_total,units");
    assert_string_equal (copy->suite, "web");
    assert_string_equal (copy->build, "");
    assert_int_equal (copy->node_index, 2);
    assert_int_equal (copy->node_total, 3);
    assert_int_equal (copy->units_total, 40);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
    msg = proto_msg_new (PROTO_NOTED);
    copy = s_round_trip (msg, "v,type");
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    kvs_t kvs = { .count = 0 };
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "fallback"));
    kvs_set (&kvs, STR ("attempt", "a"));
    kvs_set (&kvs, U ("req", 1));
    kvs_set (&kvs, STR ("suite", "web"));
    kvs_set (&kvs, STR ("build", "ci-9"));
    kvs_set (&kvs, U ("node_total", 2));
    kvs_set (&kvs, U ("node_index", 1));
    kvs_set (&kvs, U ("units", 5));
    ACCEPTED (&kvs);
    kvs_set (&kvs, U ("node_index", 2));
    BAD (&kvs, "node_index");
    kvs_set (&kvs, U ("node_index", 0));
    kvs_drop (&kvs, "units");
    BAD (&kvs, "units");
}

//  A report's status and runs: sent when there, decoded to NULL and 1 when
//  not.
static void
test_round_trip_report_status (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 2;
    msg->has_report = true;
    msg->report_batch = 1;
    msg->report_wall_ms = 900;
    msg->report_exit = 1;
    msg->report_lease = 5;
    msg->report_times_ms = calloc (3, sizeof (uint64_t));
    msg->report_times_ms[0] = 300;
    msg->report_times_ms[1] = 400;
    msg->report_time_count = 3;
    char *data = NULL;
    size_t size = 0;
    char keys[256];

    //  Neither: the report as before, runs 1.
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    s_report_keys_of (data, size, keys, sizeof keys);
    assert_string_equal (keys, "batch,wall_ms,exit,times_ms,lease");
    free (data);
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_null (copy->report_status);
    assert_int_equal (copy->report_runs, 1);
    proto_msg_destroy (&copy);

    //  runs 1 is the default and not sent.
    msg->report_runs = 1;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    s_report_keys_of (data, size, keys, sizeof keys);
    assert_string_equal (keys, "batch,wall_ms,exit,times_ms,lease");
    free (data);

    msg->report_status = malloc (3);
    msg->report_status[0] = PROTO_UNIT_PASSED;
    msg->report_status[1] = PROTO_UNIT_FAILED;
    msg->report_status[2] = PROTO_UNIT_ABSENT;
    msg->report_runs = 3;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    s_report_keys_of (data, size, keys, sizeof keys);
    assert_string_equal (keys, "batch,wall_ms,exit,times_ms,lease,status,runs");
    free (data);
    copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_non_null (copy->report_status);
    assert_int_equal (copy->report_status[0], PROTO_UNIT_PASSED);
    assert_int_equal (copy->report_status[1], PROTO_UNIT_FAILED);
    assert_int_equal (copy->report_status[2], PROTO_UNIT_ABSENT);
    assert_int_equal (copy->report_runs, 3);
    assert_int_equal (copy->report_time_count, 3);
    assert_int_equal (copy->report_times_ms[1], 400);
    proto_msg_destroy (&copy);

    //  With "returned" too, and no times (nothing ran): an empty status.
    free (msg->report_times_ms);
    msg->report_times_ms = NULL;
    msg->report_time_count = 0;
    msg->report_returned = true;
    msg->report_runs = UINT32_MAX;
    assert_int_equal (proto_encode (msg, &data, &size), 0);
    s_report_keys_of (data, size, keys, sizeof keys);
    assert_string_equal (keys, "batch,wall_ms,exit,times_ms,lease,returned,status,runs");
    free (data);
    copy = s_round_trip (msg, "v,type,attempt,req,report");
    assert_true (copy->report_returned);
    assert_non_null (copy->report_status);
    assert_int_equal (copy->report_time_count, 0);
    assert_int_equal (copy->report_runs, UINT32_MAX);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);
}

//  joined's known and examples: optional, 0 when absent.
static void
test_joined_counts (void **state)
{
    proto_msg_t *msg = proto_msg_new (PROTO_JOINED);
    msg->units_total = 40;
    msg->node_total = 2;
    msg->heartbeat_ms = 1000;
    msg->known = 31;
    msg->examples_total = 12;
    proto_msg_t *copy = s_round_trip (msg, "v,type,units,nodes,created,replay,heartbeat_ms,"
                                           "known,examples");
    assert_int_equal (copy->known, 31);
    assert_int_equal (copy->examples_total, 12);
    assert_int_equal (copy->units_total, 40);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    kvs_t kvs;
    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "joined"));
    kvs_set (&kvs, U ("units", 3));
    kvs_set (&kvs, U ("nodes", 1));
    kvs_set (&kvs, BOOL ("created", 1));
    kvs_set (&kvs, U ("replay", 0));
    kvs_set (&kvs, U ("heartbeat_ms", 100));
    msg = s_accepted (&kvs, __LINE__);             //  an older daemon's joined
    assert_int_equal (msg->known, 0);
    assert_int_equal (msg->examples_total, 0);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, U ("known", UINT64_MAX));
    kvs_set (&kvs, U ("examples", 2));
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->known == UINT64_MAX);
    assert_int_equal (msg->examples_total, 2);
    proto_msg_destroy (&msg);

    const kv_t wrong[] = {
        STR ("known", "3"), NEG ("known", -1), BOOL ("known", 1), NIL ("known"),
        STRS ("examples", s_units, 2), NEG ("examples", -2), FLOAT ("examples")
    };
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        kvs_t bad = kvs;
        kvs_set (&bad, wrong[w]);
        BAD (&bad, wrong[w].key);
    }
    kvs_add (&kvs, U ("known", 1));
    BAD (&kvs, "known");
    assert_string_equal (s_err.message, "known appears more than once");
}

//  A join with can_list and slow_ms, and a listed join's examples.
static void
test_join_examples_refused (void **state)
{
    kvs_t kvs;
    s_join_kvs (&kvs);
    kvs_set (&kvs, BOOL ("can_list", 1));
    kvs_set (&kvs, U ("slow_ms", 60000));
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->can_list);
    assert_int_equal (msg->slow_ms, 60000);
    assert_false (msg->listed);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, U ("slow_ms", 0));
    msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->slow_ms, 0);
    proto_msg_destroy (&msg);
    kvs_set (&kvs, U ("slow_ms", PROTO_DURATION_MS_MAX));
    ACCEPTED (&kvs);

    const kv_t wrong[] = {
        U ("can_list", 1), STR ("can_list", "true"), NIL ("listed"), U ("listed", 1),
        U ("slow_ms", PROTO_DURATION_MS_MAX + 1), NEG ("slow_ms", -1), STR ("slow_ms", "5"),
        FLOAT ("slow_ms")
    };
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        s_join_kvs (&kvs);
        kvs_set (&kvs, wrong[w]);
        BAD (&kvs, wrong[w].key);
    }
    s_join_kvs (&kvs);
    kvs_set (&kvs, U ("slow_ms", PROTO_DURATION_MS_MAX + 1));
    BAD (&kvs, "slow_ms");
    assert_string_equal (s_err.message, "slow_ms 2592000001 is out of range 0..2592000000");

    //  units: a_spec.rb (0), b/c_spec.rb (1), d_spec.rb (2).
    static const char *const ids[] = { "a_spec.rb[1:1]", "d_spec.rb:7", "a_spec.rb:3" };
    static const uint64_t files[] = { 0, 2, 0 };
    s_join_kvs (&kvs);
    kvs_set (&kvs, BOOL ("listed", 1));
    kvs_set (&kvs, STRS ("examples", ids, 3));
    kvs_set (&kvs, UINTS ("example_file", files, 3));
    msg = s_accepted (&kvs, __LINE__);
    assert_true (msg->listed);
    assert_int_equal (msg->example_count, 3);
    assert_string_equal (msg->examples[1], "d_spec.rb:7");
    assert_int_equal (msg->example_file[1], 2);
    assert_int_equal (msg->unit_count, 3);          //  the files stay in units
    proto_msg_destroy (&msg);

    //  Not listed: examples are not read at all.
    kvs_t unlisted = kvs;
    kvs_drop (&unlisted, "listed");
    kvs_set (&unlisted, U ("examples", 5));
    msg = s_accepted (&unlisted, __LINE__);
    assert_false (msg->listed);
    assert_int_equal (msg->example_count, 0);
    proto_msg_destroy (&msg);

    //  Listed: both arrays are required, and of the right types.
    kvs_t bad = kvs;
    kvs_drop (&bad, "examples");
    BAD (&bad, "examples");
    assert_string_equal (s_err.message, "required field examples is missing");
    bad = kvs;
    kvs_drop (&bad, "example_file");
    BAD (&bad, "example_file");
    assert_string_equal (s_err.message, "required field example_file is missing");
    bad = kvs;
    kvs_set (&bad, STR ("examples", "a_spec.rb:3"));
    BAD (&bad, "examples");
    bad = kvs;
    kvs_set (&bad, UINTS ("examples", files, 3));
    BAD (&bad, "examples[0]");
    bad = kvs;
    kvs_set (&bad, STRS ("example_file", ids, 3));
    BAD (&bad, "example_file[0]");
    bad = kvs;
    kvs_set (&bad, U ("example_file", 0));
    BAD (&bad, "example_file");

    //  One file per example.
    bad = kvs;
    kvs_set (&bad, UINTS ("example_file", files, 2));
    BAD (&bad, "example_file");
    assert_string_equal (s_err.message, "example_file has 2 values for 3 names");
    bad = kvs;
    kvs_set (&bad, STRS ("examples", ids, 2));
    BAD (&bad, "example_file");
    assert_string_equal (s_err.message, "example_file has 3 values for 2 names");

    //  A file index is below the unit count.
    static const uint64_t beyond[] = { 0, 3, 0 };
    bad = kvs;
    kvs_set (&bad, UINTS ("example_file", beyond, 3));
    BAD (&bad, "example_file[1]");
    assert_string_equal (s_err.message, "example_file[1] 3 is out of range 0..2");
    static const uint64_t huge[] = { 0, UINT64_C (1) << 32, 0 };
    bad = kvs;
    kvs_set (&bad, UINTS ("example_file", huge, 3));
    BAD (&bad, "example_file[1]");

    //  Each example starts with its file's name and adds to it.
    struct { const char *ids[3]; const char *field; } named[] = {
        { { "a_spec.rb[1:1]", "d_spec.rb", "a_spec.rb:3" }, "examples[1]" },     //  equal
        { { "a_spec.rb[1:1]", "d_spec.r", "a_spec.rb:3" }, "examples[1]" },      //  shorter
        { { "a_spec.rb[1:1]", "d_spec.rb:7", "b_spec.rb:3" }, "examples[2]" },   //  other file
        { { "d_spec.rb:1", "d_spec.rb:7", "a_spec.rb:3" }, "examples[0]" },      //  other file
        { { "xa_spec.rb", "d_spec.rb:7", "a_spec.rb:3" }, "examples[0]" },       //  inside
        { { "A_spec.rb:1", "d_spec.rb:7", "a_spec.rb:3" }, "examples[0]" },      //  case
    };
    for (size_t n = 0; n < sizeof named / sizeof named[0]; n++) {
        bad = kvs;
        kvs_set (&bad, STRS ("examples", named[n].ids, 3));
        BAD (&bad, named[n].field);
        assert_message_has ("does not start with its file's name and add to it");
    }
    bad = kvs;
    kvs_set (&bad, STRS ("examples", named[0].ids, 3));
    BAD (&bad, "examples[1]");
    assert_string_equal (s_err.message, "examples[1] \"d_spec.rb\" does not start with its "
                                        "file's name and add to it");
    //  An example of a nested file.
    static const char *const nested[] = { "b/c_spec.rb[1:4]" };
    static const uint64_t nested_file[] = { 1 };
    bad = kvs;
    kvs_set (&bad, STRS ("examples", nested, 1));
    kvs_set (&bad, UINTS ("example_file", nested_file, 1));
    ACCEPTED (&bad);
    //  An empty id is refused like an empty unit name.
    static const char *const empty[] = { "" };
    kvs_set (&bad, STRS ("examples", empty, 1));
    BAD (&bad, "examples[0]");
    //  Order and repeats are for the daemon to judge (it merges the lists).
    static const char *const twice[] = { "b/c_spec.rb:1", "b/c_spec.rb:1" };
    static const uint64_t twice_file[] = { 1, 1 };
    kvs_set (&bad, STRS ("examples", twice, 2));
    kvs_set (&bad, UINTS ("example_file", twice_file, 2));
    ACCEPTED (&bad);

    //  No examples at all is fine (listing failed).
    bad = kvs;
    kvs_set (&bad, STRS ("examples", ids, 0));
    kvs_set (&bad, UINTS ("example_file", files, 0));
    msg = s_accepted (&bad, __LINE__);
    assert_true (msg->listed);
    assert_int_equal (msg->example_count, 0);
    proto_msg_destroy (&msg);

    //  More examples than max_units is a limit; a long id too.
    s_limits.max_units = 3;
    ACCEPTED (&kvs);
    static const char *const four[] = { "a_spec.rb:1", "a_spec.rb:2", "a_spec.rb:3",
                                        "a_spec.rb:4" };
    static const uint64_t four_files[] = { 0, 0, 0, 0 };
    bad = kvs;
    kvs_set (&bad, STRS ("examples", four, 4));
    kvs_set (&bad, UINTS ("example_file", four_files, 4));
    REFUSED (&bad, PROTO_ERR_LIMIT, "examples");
    s_limits.max_units = 4;
    ACCEPTED (&bad);
    s_limits.max_name = 13;
    REFUSED (&kvs, PROTO_ERR_LIMIT, "examples[0]");      //  "a_spec.rb[1:1]" is 14 bytes
    //  The error can still be matched to its request.
    assert_string_equal (s_err.attempt, "att-1_X");
    assert_int_equal (s_err.req, 7);
}

static void
s_import_kvs (kvs_t *kvs)
{
    static const char *const names[] = { "a_spec.rb", "a_spec.rb:1", "a_spec.rb:2", "b_spec.rb" };
    static const uint64_t times[] = { 900, 400, 500, 7 };
    static const uint64_t parents[] = { 0, 1, 1, 0 };
    memset (kvs, 0, sizeof *kvs);
    kvs_set (kvs, U ("v", 1));
    kvs_set (kvs, STR ("type", "import"));
    kvs_set (kvs, STR ("attempt", "imp-1"));
    kvs_set (kvs, U ("req", 1));
    kvs_set (kvs, STR ("suite", "web"));
    kvs_set (kvs, STRS ("units", names, 4));
    kvs_set (kvs, UINTS ("times_ms", times, 4));
    kvs_set (kvs, UINTS ("parent", parents, 4));
}

static void
test_import_refused (void **state)
{
    kvs_t kvs;
    s_import_kvs (&kvs);
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->type, PROTO_IMPORT);
    assert_int_equal (msg->unit_count, 4);
    assert_int_equal (msg->times_ms[2], 500);
    assert_int_equal (msg->parent[1], 1);
    assert_int_equal (msg->parent[3], 0);
    proto_msg_destroy (&msg);

    //  A request: everything is required.
    const char *const keys[] = { "attempt", "req", "suite", "units", "times_ms", "parent" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        s_import_kvs (&kvs);
        kvs_drop (&kvs, keys[k]);
        BAD (&kvs, keys[k]);
        char expected[64];
        snprintf (expected, sizeof expected, "required field %s is missing", keys[k]);
        assert_string_equal (s_err.message, expected);
    }
    static const char *const four_names[] = { "a", "b", "c", "d" };
    struct { kv_t kv; const char *field; } wrong[] = {
        { STR ("suite", "web suite"), "suite" },
        { STR ("suite", ""), "suite" },
        { U ("suite", 1), "suite" },
        { STR ("units", "a"), "units" },
        { U ("times_ms", 1), "times_ms" },
        { STRS ("times_ms", s_units, 3), "times_ms[0]" },
        { STR ("parent", "0"), "parent" },
        { STRS ("parent", four_names, 4), "parent[0]" },
    };
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        s_import_kvs (&kvs);
        kvs_set (&kvs, wrong[w].kv);
        BAD (&kvs, wrong[w].field);
    }

    //  units sorted and unique, at least one.
    static const char *const unsorted[] = { "a", "c", "b", "d" };
    s_import_kvs (&kvs);
    kvs_set (&kvs, STRS ("units", unsorted, 4));
    BAD (&kvs, "units[2]");
    static const char *const repeated[] = { "a", "b", "b", "c" };
    kvs_set (&kvs, STRS ("units", repeated, 4));
    BAD (&kvs, "units[2]");
    assert_string_equal (s_err.message,
                         "units[2] repeats units[1] (the list must be sorted and unique)");
    kvs_set (&kvs, STRS ("units", repeated, 0));
    BAD (&kvs, "units");

    //  One time per unit, each at most 30 days.
    static const uint64_t three[] = { 1, 2, 3 };
    s_import_kvs (&kvs);
    kvs_set (&kvs, UINTS ("times_ms", three, 3));
    BAD (&kvs, "times_ms");
    assert_string_equal (s_err.message, "times_ms has 3 values for 4 units");
    static const uint64_t long_ago[] = { 1, 2, PROTO_DURATION_MS_MAX + 1, 4 };
    kvs_set (&kvs, UINTS ("times_ms", long_ago, 4));
    BAD (&kvs, "times_ms");
    assert_string_equal (s_err.message, "times_ms[2] is 2592000001 ms, more than the "
                                        "2592000000 ms (30 days) allowed");
    static const uint64_t longest[] = { 1, 2, PROTO_DURATION_MS_MAX, 0 };
    kvs_set (&kvs, UINTS ("times_ms", longest, 4));
    ACCEPTED (&kvs);

    //  One parent per unit: 0, or 1 + the index of a file.
    s_import_kvs (&kvs);
    kvs_set (&kvs, UINTS ("parent", three, 3));
    BAD (&kvs, "parent");
    assert_string_equal (s_err.message, "parent has 3 values for 4 names");
    static const uint64_t past_end[] = { 0, 5, 1, 0 };
    kvs_set (&kvs, UINTS ("parent", past_end, 4));
    BAD (&kvs, "parent[1]");
    assert_string_equal (s_err.message, "parent[1] 5 is out of range 0..4");
    //  An example's id starts with its file's name and adds to it.
    static const uint64_t last[] = { 0, 4, 1, 0 };         //  a_spec.rb:1 of b_spec.rb
    kvs_set (&kvs, UINTS ("parent", last, 4));
    BAD (&kvs, "parent[1]");
    assert_string_equal (s_err.message, "units[1] \"a_spec.rb:1\" does not start with the "
                                        "name of its file, units[3]");
    static const uint64_t itself[] = { 0, 1, 3, 0 };        //  unit 2 its own file
    kvs_set (&kvs, UINTS ("parent", itself, 4));
    BAD (&kvs, "parent");
    assert_string_equal (s_err.message, "parent[2] names a unit that is itself an example");
    static const uint64_t chain[] = { 0, 1, 2, 0 };         //  unit 2 of example 1
    kvs_set (&kvs, UINTS ("parent", chain, 4));
    BAD (&kvs, "parent");
    assert_string_equal (s_err.message, "parent[2] names a unit that is itself an example");
    static const uint64_t later[] = { 0, 4, 4, 3 };         //  unit 3 an example of 2, itself one
    kvs_set (&kvs, UINTS ("parent", later, 4));
    BAD (&kvs, "parent");
    assert_string_equal (s_err.message, "parent[1] names a unit that is itself an example");
    static const uint64_t none[] = { 0, 0, 0, 0 };
    kvs_set (&kvs, UINTS ("parent", none, 4));
    ACCEPTED (&kvs);

    //  More than max_units is a limit.
    s_limits.max_units = 3;
    s_import_kvs (&kvs);
    REFUSED (&kvs, PROTO_ERR_LIMIT, "units");
    //  The error can be matched to its request.
    assert_string_equal (s_err.attempt, "imp-1");
    assert_int_equal (s_err.req, 1);
}

//  A report's status: one of 0, 1, 2 per time; runs at least 1.
static void
test_next_report_status (void **state)
{
    kvs_t kvs;
    kv_t report[REPORT_PARTS + 2];
    static const uint64_t status[] = { PROTO_UNIT_FAILED, PROTO_UNIT_ABSENT };
    s_next_kvs (&kvs, report, REPORT_PARTS + 2);
    report[5] = UINTS ("status", status, 2);
    report[6] = U ("runs", 2);
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_non_null (msg->report_status);
    assert_int_equal (msg->report_status[0], PROTO_UNIT_FAILED);
    assert_int_equal (msg->report_status[1], PROTO_UNIT_ABSENT);
    assert_int_equal (msg->report_runs, 2);
    proto_msg_destroy (&msg);

    //  Absent: NULL and 1.
    s_next_kvs (&kvs, report, REPORT_PARTS);
    msg = s_accepted (&kvs, __LINE__);
    assert_null (msg->report_status);
    assert_int_equal (msg->report_runs, 1);
    proto_msg_destroy (&msg);

    static const uint64_t one[] = { 0 };
    static const uint64_t three[] = { 0, 0, 0 };
    static const uint64_t beyond[] = { 0, 3 };
    static const uint64_t huge[] = { UINT64_C (1) << 32, 0 };
    struct { kv_t kv; const char *field; const char *message; } bad[] = {
        { UINTS ("status", one, 1), "report.status",
          "report.status has 1 values for 2 names" },
        { UINTS ("status", three, 3), "report.status",
          "report.status has 3 values for 2 names" },
        { UINTS ("status", beyond, 2), "report.status[1]",
          "report.status[1] 3 is out of range 0..2" },
        { UINTS ("status", huge, 2), "report.status[0]", NULL },
        { STRS ("status", s_units, 2), "report.status[0]", NULL },
        { U ("status", 0), "report.status", "report.status must be an array, not an unsigned integer" },
        { NIL ("status"), "report.status", NULL },
        { U ("runs", 0), "report.runs", "report.runs 0 is out of range 1..4294967295" },
        { U ("runs", UINT64_C (1) << 32), "report.runs", NULL },
        { NEG ("runs", -1), "report.runs", NULL },
        { STR ("runs", "2"), "report.runs", NULL },
        { BOOL ("runs", 1), "report.runs", NULL },
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        s_next_kvs (&kvs, report, REPORT_PARTS + 1);
        report[5] = bad[b].kv;
        BAD (&kvs, bad[b].field);
        if (bad[b].message)
            assert_string_equal (s_err.message, bad[b].message);
    }
    s_next_kvs (&kvs, report, REPORT_PARTS + 1);
    report[5] = U ("runs", UINT32_MAX);
    msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->report_runs, UINT32_MAX);
    proto_msg_destroy (&msg);

    //  A status for a report without times (returned) is empty too.
    static const uint64_t no_times[1] = { 0 };
    s_next_kvs (&kvs, report, REPORT_PARTS + 2);
    report[3] = UINTS ("times_ms", no_times, 0);
    report[5] = BOOL ("returned", 1);
    report[6] = UINTS ("status", no_times, 0);
    msg = s_accepted (&kvs, __LINE__);
    assert_non_null (msg->report_status);
    assert_int_equal (msg->report_time_count, 0);
    proto_msg_destroy (&msg);
    report[6] = UINTS ("status", one, 1);
    BAD (&kvs, "report.status");

    //  Twice is refused like any key of the report.
    s_next_kvs (&kvs, report, REPORT_PARTS + 2);
    report[5] = UINTS ("status", beyond, 1);
    report[6] = UINTS ("status", one, 1);
    BAD (&kvs, "report.status");
    assert_string_equal (s_err.message, "report.status appears more than once");
}

//  expand and imported: their one field is required.
static void
test_expand_and_imported_refused (void **state)
{
    kvs_t kvs;
    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "expand"));
    kvs_set (&kvs, STR ("attempt", "a1"));
    kvs_set (&kvs, U ("req", 2));
    kvs_set (&kvs, STRS ("units", s_units, 2));
    proto_msg_t *msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->type, PROTO_EXPAND);
    assert_int_equal (msg->unit_count, 2);
    assert_string_equal (msg->attempt, "a1");
    proto_msg_destroy (&msg);
    kvs_t bad = kvs;
    kvs_drop (&bad, "units");
    BAD (&bad, "units");
    assert_string_equal (s_err.message, "required field units is missing");
    kvs_set (&bad, STRS ("units", s_units, 0));
    BAD (&bad, "units");
    kvs_set (&bad, U ("units", 2));
    BAD (&bad, "units");
    //  A reply: attempt and req optional.
    kvs_drop (&kvs, "attempt");
    kvs_drop (&kvs, "req");
    ACCEPTED (&kvs);

    memset (&kvs, 0, sizeof kvs);
    kvs_set (&kvs, U ("v", 1));
    kvs_set (&kvs, STR ("type", "imported"));
    kvs_set (&kvs, U ("units", 12));
    msg = s_accepted (&kvs, __LINE__);
    assert_int_equal (msg->units_total, 12);
    proto_msg_destroy (&msg);
    bad = kvs;
    kvs_drop (&bad, "units");
    BAD (&bad, "units");
    kvs_set (&bad, NEG ("units", -1));
    BAD (&bad, "units");
    kvs_set (&bad, STRS ("units", s_units, 1));
    BAD (&bad, "units");

    //  import is a request: without attempt or req it is refused.
    s_import_kvs (&kvs);
    kvs_drop (&kvs, "attempt");
    BAD (&kvs, "attempt");
}

//  ---------------------------------------------------------------------
//  Helpers

static void
test_digest (void **state)
{
    char digest[PROTO_DIGEST_LEN + 1];
    //  sha1 ("1:a\n2:bc\n"), by sha1sum
    const char *const units[] = { "a", "bc" };
    proto_digest (units, 2, digest);
    assert_string_equal (digest, "f34882fb1d925e67f37f06f5750e62d76affa8da");
    proto_digest (NULL, 0, digest);
    assert_string_equal (digest, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    //  Length prefixes keep "a\nb" apart from "a", "b" even if newlines
    //  were ever allowed in a name.
    const char *const split[] = { "a", "b" };
    const char *const joined[] = { "a\n1:b" };
    char other[PROTO_DIGEST_LEN + 1];
    proto_digest (split, 2, digest);
    proto_digest (joined, 1, other);
    assert_string_not_equal (digest, other);
}

static void
test_error_helpers (void **state)
{
    proto_msg_t *msg = proto_error_new ("", 0, PROTO_ERR_INTERNAL, "", "disk %s", "full");
    assert_int_equal (msg->type, PROTO_ERROR);
    assert_null (msg->attempt);             //  "" from proto_error_t means absent
    assert_string_equal (msg->code, PROTO_ERR_INTERNAL);
    assert_string_equal (msg->message, "disk full");
    proto_msg_destroy (&msg);

    char huge[3000];
    memset (huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    msg = proto_error_new ("a", 1, PROTO_ERR_LIMIT, "units", "%s", huge);
    assert_int_equal (strlen (msg->message), PROTO_MESSAGE_MAX - 1);
    //  The truncated message must still encode and decode.
    proto_msg_t *copy = s_round_trip (msg, "v,type,attempt,req,code,field,message");
    assert_string_equal (copy->message, msg->message);
    proto_msg_destroy (&copy);
    proto_msg_destroy (&msg);

    const char *const user[] = {
        PROTO_ERR_BAD_REQUEST, PROTO_ERR_TOO_LARGE, PROTO_ERR_VERSION, PROTO_ERR_UNKNOWN_TYPE,
        PROTO_ERR_LIST_MISMATCH, PROTO_ERR_BUILD_MISMATCH, PROTO_ERR_LIMIT,
        PROTO_ERR_UNKNOWN_ATTEMPT, "some_future_code"
    };
    for (size_t u = 0; u < sizeof user / sizeof user[0]; u++)
        assert_true (proto_error_is_user (user[u]));
    assert_false (proto_error_is_user (PROTO_ERR_STALE));
    assert_false (proto_error_is_user (PROTO_ERR_INTERNAL));

    assert_string_equal (proto_type_name (PROTO_JOIN), "join");
    assert_string_equal (proto_type_name (PROTO_NEXT), "next");
    assert_string_equal (proto_type_name (PROTO_JOINED), "joined");
    assert_string_equal (proto_type_name (PROTO_BATCH), "batch");
    assert_string_equal (proto_type_name (PROTO_DONE), "done");
    assert_string_equal (proto_type_name (PROTO_ERROR), "error");
    assert_string_equal (proto_type_name (PROTO_HEARTBEAT), "heartbeat");
    assert_string_equal (proto_type_name (PROTO_ACK), "ack");
    assert_string_equal (proto_type_name (PROTO_WAIT), "wait");
    assert_string_equal (proto_type_name ((proto_type_t) (PROTO_TYPE_LAST + 1)), "unknown");
    assert_string_equal (proto_kind_name (PROTO_KIND_QUEUE), "queue");
    assert_string_equal (proto_kind_name (PROTO_KIND_REPLAY), "replay");
    assert_string_equal (proto_kind_name (PROTO_KIND_RETRY), "retry");
    assert_string_equal (proto_kind_name ((proto_kind_t) 7), "unknown");
    assert_string_equal (proto_type_name ((proto_type_t) 0), "unknown");
    assert_string_equal (proto_type_name ((proto_type_t) 42), "unknown");
}

static void
test_msg_setters (void **state)
{
    proto_msg_t *msg = NULL;
    proto_msg_destroy (&msg);               //  safe on NULL
    msg = proto_msg_new (PROTO_BATCH);
    assert_null (msg->units);
    assert_int_equal (msg->unit_count, 0);
    proto_msg_set_str (&msg->suite, "one");
    proto_msg_set_str (&msg->suite, "two");
    assert_string_equal (msg->suite, "two");
    proto_msg_set_str (&msg->suite, NULL);
    assert_null (msg->suite);
    proto_msg_set_units (msg, s_units, 3);
    proto_msg_set_units (msg, s_units + 1, 2);
    assert_int_equal (msg->unit_count, 2);
    assert_string_equal (msg->units[0], "b/c_spec.rb");
    assert_true (msg->units[0] != s_units[1]);      //  a copy
    proto_msg_set_units (msg, NULL, 0);
    assert_null (msg->units);
    assert_int_equal (msg->unit_count, 0);
    proto_msg_destroy (&msg);
    assert_null (msg);
}

//  ---------------------------------------------------------------------
//  Fuzz: a fixed seed (test_rng.h) makes every run test the same inputs.

static void
test_fuzz (void **state)
{
    //  Seeds: one valid frame of each type with most fields.
    enum { SEEDS = 14 };
    char *seeds[SEEDS];
    size_t sizes[SEEDS];
    s_encode_join (&seeds[0], &sizes[0]);

    proto_msg_t *msg = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 5;
    msg->has_report = true;
    msg->report_batch = 2;
    msg->report_exit = -9;
    msg->report_times_ms = calloc (3, sizeof (uint64_t));
    msg->report_time_count = 3;
    msg->report_lease = 4;
    msg->report_returned = true;
    assert_int_equal (proto_encode (msg, &seeds[1], &sizes[1]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_BATCH);
    msg->batch = 1;
    proto_msg_set_units (msg, s_units, 3);
    msg->predicted_ms = calloc (3, sizeof (uint64_t));
    msg->lease = 4;
    msg->kind = PROTO_KIND_RETRY;
    assert_int_equal (proto_encode (msg, &seeds[2], &sizes[2]), 0);
    proto_msg_destroy (&msg);

    msg = proto_error_new ("a1", 3, PROTO_ERR_LIMIT, "units", "too many");
    assert_int_equal (proto_encode (msg, &seeds[3], &sizes[3]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_HEARTBEAT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 6;
    msg->batch = 2;
    msg->lease = 4;
    assert_int_equal (proto_encode (msg, &seeds[4], &sizes[4]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_JOINED);
    msg->units_total = 3;
    msg->node_total = 2;
    msg->replay = 1;
    msg->heartbeat_ms = 10000;
    assert_int_equal (proto_encode (msg, &seeds[5], &sizes[5]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_DONE);
    msg->units_done = 1;
    msg->units_total = 3;
    proto_msg_set_str (&msg->reason, "fail_fast");
    msg->failed = 1;
    assert_int_equal (proto_encode (msg, &seeds[6], &sizes[6]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_WAIT);
    msg->retry_ms = 1000;
    msg->units_total = 3;
    assert_int_equal (proto_encode (msg, &seeds[7], &sizes[7]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_ACK);
    msg->held = true;
    assert_int_equal (proto_encode (msg, &seeds[8], &sizes[8]), 0);
    proto_msg_destroy (&msg);

    //  The messages of split files, imports and test reports.
    msg = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 2;
    proto_msg_set_str (&msg->suite, "s");
    proto_msg_set_str (&msg->build, "b");
    msg->node_total = 2;
    proto_msg_set_str (&msg->mode, "queue");
    proto_msg_set_units (msg, s_units, 3);
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (s_units, 3, digest);
    proto_msg_set_str (&msg->digest, digest);
    msg->can_list = true;
    msg->slow_ms = 5000;
    msg->listed = true;
    const char *const ids[] = { "a_spec.rb:1", "d_spec.rb[1:2]" };
    const uint32_t files[] = { 0, 2 };
    proto_msg_set_examples (msg, ids, files, 2);
    assert_int_equal (proto_encode (msg, &seeds[9], &sizes[9]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_IMPORT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 1;
    proto_msg_set_str (&msg->suite, "s");
    const char *const imported[] = { "a_spec.rb", "a_spec.rb[1:1]", "d_spec.rb" };
    proto_msg_set_units (msg, imported, 3);
    msg->times_ms = calloc (3, sizeof (uint64_t));
    msg->times_ms[0] = 70;
    msg->parent = calloc (3, sizeof (uint32_t));
    msg->parent[1] = 1;
    assert_int_equal (proto_encode (msg, &seeds[10], &sizes[10]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_EXPAND);
    proto_msg_set_units (msg, s_units, 2);
    assert_int_equal (proto_encode (msg, &seeds[11], &sizes[11]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_IMPORTED);
    msg->units_total = 3;
    assert_int_equal (proto_encode (msg, &seeds[12], &sizes[12]), 0);
    proto_msg_destroy (&msg);

    msg = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&msg->attempt, "a1");
    msg->req = 7;
    msg->has_report = true;
    msg->report_batch = 1;
    msg->report_exit = 1;
    msg->report_times_ms = calloc (3, sizeof (uint64_t));
    msg->report_time_count = 3;
    msg->report_lease = 2;
    msg->report_status = calloc (3, 1);
    msg->report_status[1] = PROTO_UNIT_FAILED;
    msg->report_status[2] = PROTO_UNIT_ABSENT;
    msg->report_runs = 2;
    assert_int_equal (proto_encode (msg, &seeds[13], &sizes[13]), 0);
    proto_msg_destroy (&msg);

    //  Every seed is valid to begin with.
    for (size_t i = 0; i < SEEDS; i++) {
        msg = proto_decode (seeds[i], sizes[i], &s_limits, &s_err);
        if (!msg)
            fail_msg ("seed %zu refused: %s on \"%s\": %s", i, s_err.code, s_err.field,
                      s_err.message);
        proto_msg_destroy (&msg);
    }

    //  Small limits, so mutations reach the limit checks too.
    s_limits.max_units = 8;
    s_limits.max_name = 32;
    s_limits.max_nodes = 16;

    test_rng_t seed = { 0x9e3779b97f4a7c15ull };
    size_t decoded = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        size_t which = test_rng_next (&seed) % SEEDS;
        size_t size = sizes[which];
        char *frame = malloc (size);
        memcpy (frame, seeds[which], size);
        int flips = 1 + (int) (test_rng_next (&seed) % 3);
        for (int f = 0; f < flips; f++) {
            uint64_t r = test_rng_next (&seed);
            //  Small values and type bytes are more interesting than noise.
            static const uint8_t picks[] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc1,
                                             0xc3, 0xcc, 0xd4, 0xdb, 0xdd, 0xdf, 0xe0, 0xff };
            uint8_t byte = (r >> 40) & 1 ? picks[(r >> 32) % 16] : (uint8_t) (r >> 32);
            frame[r % size] = (char) byte;
        }
        size_t length = test_rng_next (&seed) % 10 == 0 ? test_rng_next (&seed) % size : size;
        memset (&s_err, 0x55, sizeof s_err);        //  stale garbage must be overwritten
        msg = proto_decode (frame, length, &s_limits, &s_err);
        if (msg) {
            //  A message decode accepts must encode and decode again.
            decoded++;
            char *again = NULL;
            size_t again_size = 0;
            assert_int_equal (proto_encode (msg, &again, &again_size), 0);
            proto_msg_t *copy = proto_decode (again, again_size, &s_limits, &s_err);
            assert_non_null (copy);
            assert_int_equal (copy->type, msg->type);
            proto_msg_destroy (&copy);
            free (again);
            proto_msg_destroy (&msg);
        }
        else {
            refused++;
            assert_non_null (memchr (s_err.code, 0, sizeof s_err.code));
            assert_non_null (memchr (s_err.field, 0, sizeof s_err.field));
            assert_non_null (memchr (s_err.message, 0, sizeof s_err.message));
            assert_non_null (memchr (s_err.attempt, 0, sizeof s_err.attempt));
            assert_true (strlen (s_err.code) > 0);
            assert_true (strlen (s_err.message) > 0);
        }
        free (frame);
    }
    for (size_t s = 0; s < SEEDS; s++)
        free (seeds[s]);
    assert_true (decoded > 100);
    assert_true (refused > 100);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_round_trip_join, s_setup),
        cmocka_unit_test_setup (test_round_trip_next, s_setup),
        cmocka_unit_test_setup (test_round_trip_heartbeat, s_setup),
        cmocka_unit_test_setup (test_round_trip_replies, s_setup),
        cmocka_unit_test_setup (test_encode_refuses_missing_fields, s_setup),
        cmocka_unit_test_setup (test_join_missing_fields, s_setup),
        cmocka_unit_test_setup (test_join_wrong_types, s_setup),
        cmocka_unit_test_setup (test_join_string_lengths, s_setup),
        cmocka_unit_test_setup (test_join_unit_names, s_setup),
        cmocka_unit_test_setup (test_join_charsets, s_setup),
        cmocka_unit_test_setup (test_join_numbers, s_setup),
        cmocka_unit_test_setup (test_join_mode_and_digest, s_setup),
        cmocka_unit_test_setup (test_join_unit_order, s_setup),
        cmocka_unit_test_setup (test_join_unit_count_limit, s_setup),
        cmocka_unit_test_setup (test_truncated_and_trailing, s_setup),
        cmocka_unit_test_setup (test_hostile_frames, s_setup),
        cmocka_unit_test_setup (test_top_level, s_setup),
        cmocka_unit_test_setup (test_version_and_type, s_setup),
        cmocka_unit_test_setup (test_error_echoes_attempt_and_req, s_setup),
        cmocka_unit_test_setup (test_next_report, s_setup),
        cmocka_unit_test_setup (test_heartbeat, s_setup),
        cmocka_unit_test_setup (test_join_options, s_setup),
        cmocka_unit_test_setup (test_join_machine, s_setup),
        cmocka_unit_test_setup (test_replies_validated, s_setup),
        cmocka_unit_test_setup (test_replies_missing_fields, s_setup),
        cmocka_unit_test_setup (test_round_trip_join_examples, s_setup),
        cmocka_unit_test_setup (test_round_trip_import, s_setup),
        cmocka_unit_test_setup (test_round_trip_report_status, s_setup),
        cmocka_unit_test_setup (test_status_messages, s_setup),
        cmocka_unit_test_setup (test_admin_messages, s_setup),
        cmocka_unit_test_setup (test_query_messages, s_setup),
        cmocka_unit_test_setup (test_fallback_messages, s_setup),
        cmocka_unit_test_setup (test_joined_counts, s_setup),
        cmocka_unit_test_setup (test_join_examples_refused, s_setup),
        cmocka_unit_test_setup (test_import_refused, s_setup),
        cmocka_unit_test_setup (test_next_report_status, s_setup),
        cmocka_unit_test_setup (test_expand_and_imported_refused, s_setup),
        cmocka_unit_test_setup (test_digest, s_setup),
        cmocka_unit_test_setup (test_error_helpers, s_setup),
        cmocka_unit_test_setup (test_msg_setters, s_setup),
        cmocka_unit_test_setup (test_fuzz, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
