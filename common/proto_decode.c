/*  proto_decode.c: proto_decode, see proto.h.

    Decoding trusts nothing: wire_check walks the bytes first (msgpack-c
    would otherwise allocate whatever a header claims), then msgpack-c
    unpacks, then every field is checked for presence, type, range, length
    and characters before anything is copied into the message.            */
#include "proto.h"

#include "util.h"
#include "wire.h"

#include <assert.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ---------------------------------------------------------------------
//  Decoding

//  Every key the decoder reads at the top level of a message.
typedef enum {
    K_V, K_TYPE, K_ATTEMPT, K_REQ,
    K_SUITE, K_BUILD, K_NODE_INDEX, K_NODE_TOTAL, K_COMMIT, K_BRANCH,
    K_MODE, K_DIGEST, K_UNITS, K_REPORT,
    K_NODES, K_CREATED, K_BATCH, K_PREDICTED_MS, K_UNITS_DONE, K_UNITS_TOTAL,
    K_CODE, K_FIELD, K_MESSAGE,
    K_ONLY_FAILED, K_FIXED_SPLIT, K_WAIT, K_FAIL_FAST,
    K_REPLAY, K_HEARTBEAT_MS, K_LEASE, K_KIND, K_RETRY_MS, K_HELD, K_STOP,
    K_REASON, K_FAILED, K_FLAKY, K_REUSE_SPLIT,
    K_CAN_LIST, K_SLOW_MS, K_LISTED, K_EXAMPLES, K_EXAMPLE_FILE, K_TIMES_MS, K_PARENT,
    K_KNOWN,
    K_VERSION, K_UPTIME_S, K_BUILDS_RUNNING, K_AGENTS_LAST_MINUTE, K_REQUESTS,
    K_REQUESTS_LAST_MINUTE, K_DB_BYTES,
    K_ACTION, K_JOB, K_OFFSET, K_STATE, K_SIZE, K_DATA,
    K_WHAT, K_LIMIT, K_BUILD_ID, K_JSON, K_UNIT, K_SINCE_MS, K_AFTER,
    K_PARK_MS, K_MACHINE,
    K_COUNT
} s_key_t;

static const char *const s_keys[K_COUNT] = {
    "v", "type", "attempt", "req",
    "suite", "build", "node_index", "node_total", "commit", "branch",
    "mode", "digest", "units", "report",
    "nodes", "created", "batch", "predicted_ms", "units_done", "units_total",
    "code", "field", "message",
    "only_failed", "fixed_split", "wait", "fail_fast",
    "replay", "heartbeat_ms", "lease", "kind", "retry_ms", "held", "stop",
    "reason", "failed", "flaky", "reuse_split",
    "can_list", "slow_ms", "listed", "examples", "example_file", "times_ms", "parent",
    "known",
    "version", "uptime_s", "builds_running", "agents_last_minute", "requests",
    "requests_last_minute", "db_bytes",
    "action", "job", "offset", "state", "size", "data",
    "what", "limit", "build_id", "json", "unit", "since_ms", "after",
    "park_ms", "machine"
};

//  The keys of the "report" map of a next.
typedef enum {
    R_BATCH, R_WALL_MS, R_EXIT, R_TIMES_MS, R_LEASE, R_RETURNED, R_STATUS, R_RUNS, R_COUNT
} s_report_key_t;
static const char *const s_report_keys[R_COUNT] = {
    "batch", "wall_ms", "exit", "times_ms", "lease", "returned", "status", "runs"
};

//  Which bytes a string field may hold.
typedef enum {
    S_ANY,          //  anything but NUL
    S_IDENT,        //  A-Z a-z 0-9 _ -  (attempt ids, error codes)
    S_SUITE,        //  A-Z a-z 0-9 . _ / : @ + -
    S_PRINTABLE,    //  0x21..0x7e: printable ASCII, no space
    S_HEX           //  0-9 a-f
} s_chars_t;

static const char *const s_chars_words[] = {
    [S_ANY] = "any byte but NUL",
    [S_IDENT] = "A-Z a-z 0-9 _ -",
    [S_SUITE] = "A-Z a-z 0-9 . _ / : @ + -",
    [S_PRINTABLE] = "printable ASCII other than space",
    [S_HEX] = "lowercase hex digits 0-9 a-f"
};

//  One decode in progress.
typedef struct {
    const proto_limits_t *limits;           //  What is allowed
    proto_error_t *err;                     //  Filled on failure
    proto_msg_t *msg;                       //  Message being filled
    const msgpack_object *slots[K_COUNT];   //  Value of each known key, or NULL
    unsigned seen[K_COUNT];                 //  Times each known key appeared
    bool in_report;                         //  decoding a report: its arrays may be longer
} s_decoder_t;

//  Most elements an array may have: max_units, or in a report the larger
//  max_report_units (a batch handed out before a reload lowered max_units
//  must still be reported; its length is checked against the batch).
static size_t
s_units_limit (const s_decoder_t *self)
{
    size_t limit = self->limits->max_units;
    if (self->in_report && self->limits->max_report_units > limit)
        limit = self->limits->max_report_units;
    return limit;
}

//  The value of a known key and its name, the two arguments every field
//  check takes.
#define S_FIELD(key) self->slots[key], s_keys[key]

static int __attribute__ ((format (printf, 4, 5)))
s_fail (s_decoder_t *self, const char *code, const char *field, const char *fmt, ...)
{
    proto_error_t *err = self->err;
    snprintf (err->code, sizeof err->code, "%s", code);
    snprintf (err->field, sizeof err->field, "%s", field);
    va_list args;
    va_start (args, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, args);
    va_end (args);
    return -1;
}

static const char *
s_type_word (msgpack_object_type type)
{
    switch (type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an unsigned integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "a float";
        case MSGPACK_OBJECT_STR: return "a string";
        case MSGPACK_OBJECT_ARRAY: return "an array";
        case MSGPACK_OBJECT_MAP: return "a map";
        case MSGPACK_OBJECT_BIN: return "a binary";
        default: return "an ext";
    }
}

//  Copy at most 40 bytes of peer text into out for a message, with every
//  byte a person could not read (or a terminal might act on) shown as '?'.
static const char *
s_shown (const char *data, size_t size, char out[48])
{
    size_t shown = size > 40 ? 40 : size;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char) data[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    strcpy (out + shown, size > shown ? "..." : "");
    return out;
}

static bool
s_char_ok (s_chars_t chars, unsigned char c)
{
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    switch (chars) {
        case S_ANY: return c != 0;
        case S_IDENT: return alnum || c == '_' || c == '-';
        case S_SUITE: return alnum || (c != 0 && strchr ("._/:@+-", c) != NULL);
        case S_PRINTABLE: return c >= 0x21 && c <= 0x7e;
        case S_HEX: return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    return false;
}

static int
s_missing (s_decoder_t *self, const char *name)
{
    return s_fail (self, PROTO_ERR_BAD_REQUEST, name, "required field %s is missing", name);
}

static int
s_wrong_type (s_decoder_t *self, const msgpack_object *obj, const char *name, const char *want)
{
    return s_fail (self, PROTO_ERR_BAD_REQUEST, name, "%s must be %s, not %s",
                   name, want, s_type_word (obj->type));
}

//  Check a string value without copying it: type, length in min..max and
//  characters. code is the error code for a too-long string.
static int
s_check_str (s_decoder_t *self, const msgpack_object *obj, const char *name,
             size_t min, size_t max, s_chars_t chars, const char *code)
{
    if (!obj)
        return s_missing (self, name);
    if (obj->type != MSGPACK_OBJECT_STR)
        return s_wrong_type (self, obj, name, "a string");
    const char *text = obj->via.str.ptr;
    size_t size = obj->via.str.size;
    //  PROTO_ERR_LIMIT is only for unit names: say which flag sets it.
    if (size > max)
        return s_fail (self, code, name, "%s is %zu bytes, more than the %zu allowed%s",
                       name, size, max,
                       strcmp (code, PROTO_ERR_LIMIT) == 0 ? " (satcheld --max-name)" : "");
    if (size < min)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                       "%s is empty; it needs %zu to %zu bytes", name, min, max);
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c == 0)
            return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                           "%s holds a NUL byte at position %zu", name, i);
        if (!s_char_ok (chars, c))
            return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                           "%s holds byte 0x%02x at position %zu; allowed are %s",
                           name, c, i, s_chars_words[chars]);
    }
    return 0;
}

//  Check a string and copy it into *out (by length: msgpack strings are
//  not NUL-terminated).
static int
s_str (s_decoder_t *self, const msgpack_object *obj, const char *name,
       size_t min, size_t max, s_chars_t chars, char **out)
{
    if (s_check_str (self, obj, name, min, max, chars, PROTO_ERR_BAD_REQUEST) != 0)
        return -1;
    *out = util_strndup (obj->via.str.ptr, obj->via.str.size);
    return 0;
}

//  An action of an admin request or job: one of the three words.
static int
s_action (s_decoder_t *self, const msgpack_object *obj, char **out)
{
    if (s_str (self, obj, "action", 1, PROTO_ACTION_MAX, S_IDENT, out) != 0)
        return -1;
    if (strcmp (*out, "backup") != 0 && strcmp (*out, "check") != 0
    &&  strcmp (*out, "fetch") != 0)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "action",
                       "action must be backup, check or fetch");
    return 0;
}

//  Check an unsigned integer in min..max.
static int
s_uint (s_decoder_t *self, const msgpack_object *obj, const char *name,
        uint64_t min, uint64_t max, uint64_t *out)
{
    if (!obj)
        return s_missing (self, name);
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                       "%s %" PRId64 " is out of range %" PRIu64 "..%" PRIu64,
                       name, obj->via.i64, min, max);
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type (self, obj, name, "an unsigned integer");
    uint64_t value = obj->via.u64;
    if (value < min || value > max)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                       "%s %" PRIu64 " is out of range %" PRIu64 "..%" PRIu64,
                       name, value, min, max);
    *out = value;
    return 0;
}

static int
s_bool (s_decoder_t *self, const msgpack_object *obj, const char *name, bool *out)
{
    if (!obj)
        return s_missing (self, name);
    if (obj->type != MSGPACK_OBJECT_BOOLEAN)
        return s_wrong_type (self, obj, name, "a boolean");
    *out = obj->via.boolean;
    return 0;
}

//  An optional boolean: *out keeps its default when the key is absent.
static int
s_opt_bool (s_decoder_t *self, const msgpack_object *obj, const char *name, bool *out)
{
    return obj ? s_bool (self, obj, name, out) : 0;
}

//  Check that an array has min..max_units elements. Over max_units is the
//  daemon's limit (PROTO_ERR_LIMIT), under min a bad request.
static int
s_array (s_decoder_t *self, const msgpack_object *obj, const char *name,
         size_t min, size_t *count)
{
    if (!obj)
        return s_missing (self, name);
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return s_wrong_type (self, obj, name, "an array");
    size_t size = obj->via.array.size;
    size_t limit = s_units_limit (self);
    if (size > limit)
        return s_fail (self, PROTO_ERR_LIMIT, name,
                       "%s has %zu elements, more than the limit of %zu (satcheld --max-units)",
                       name, size, limit);
    if (size < min)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, name,
                       "%s is empty; it needs at least %zu element%s",
                       name, min, min == 1 ? "" : "s");
    *count = size;
    return 0;
}

//  A list of names (at least min) into *out and *out_count. sorted: they
//  must be in strcmp order and unique (a join's test list), not just any
//  order (a batch).
static int
s_names (s_decoder_t *self, const msgpack_object *obj, const char *name, size_t min,
         bool sorted, char ***out, size_t *out_count)
{
    size_t count;
    if (s_array (self, obj, name, min, &count) != 0)
        return -1;
    *out = util_calloc (count ? count : 1, sizeof (char *));
    *out_count = count;
    const msgpack_object *items = obj->via.array.ptr;
    char item_name[128] = "";
    for (size_t i = 0; i < count; i++) {
        //  The usual case is checked without naming the item: formatting
        //  "units[i]" for every element was a quarter of a join's cost.
        const msgpack_object *item = &items[i];
        bool plainly_ok = item->type == MSGPACK_OBJECT_STR && item->via.str.size >= 1
                          && item->via.str.size <= self->limits->max_name
                          && !memchr (item->via.str.ptr, 0, item->via.str.size);
        if (!plainly_ok)
            snprintf (item_name, sizeof item_name, "%s[%zu]", name, i);
        if (!plainly_ok && s_check_str (self, item, item_name, 1, self->limits->max_name,
                                        S_ANY, PROTO_ERR_LIMIT) != 0)
            return -1;
        if (sorted && i > 0) {
            //  Without NUL bytes, memcmp then length is exactly strcmp.
            const msgpack_object_str *a = &items[i - 1].via.str;
            const msgpack_object_str *b = &items[i].via.str;
            size_t common = a->size < b->size ? a->size : b->size;
            int order = memcmp (a->ptr, b->ptr, common);
            if (order == 0)
                order = (a->size > b->size) - (a->size < b->size);
            if (order >= 0)
                snprintf (item_name, sizeof item_name, "%s[%zu]", name, i);
            if (order == 0)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, item_name,
                               "%s repeats %s[%zu] (the list must be sorted and unique)",
                               item_name, name, i - 1);
            if (order > 0)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, item_name,
                               "%s is not after %s[%zu] in sorted order (the list must be sorted and unique)",
                               item_name, name, i - 1);
        }
        (*out)[i] = util_strndup (items[i].via.str.ptr, items[i].via.str.size);
    }
    return 0;
}

//  A list of unit names (at least one) into msg->units.
static int
s_units (s_decoder_t *self, const msgpack_object *obj, const char *name, bool sorted)
{
    proto_msg_t *msg = self->msg;
    return s_names (self, obj, name, 1, sorted, &msg->units, &msg->unit_count);
}

//  A list of count unsigned integers, each at most max, into a new array
//  of uint32 *out.
static int
s_uint32s (s_decoder_t *self, const msgpack_object *obj, const char *name, size_t count,
           uint32_t max, uint32_t **out)
{
    size_t got;
    if (s_array (self, obj, name, 0, &got) != 0)
        return -1;
    if (got != count)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, name, "%s has %zu values for %zu names",
                       name, got, count);
    *out = util_calloc (count ? count : 1, sizeof (uint32_t));
    char item_name[128];
    for (size_t i = 0; i < count; i++) {
        uint64_t value = 0;     //  s_uint sets it on success; -O3 cannot tell
        snprintf (item_name, sizeof item_name, "%s[%zu]", name, i);
        if (s_uint (self, &obj->via.array.ptr[i], item_name, 0, max, &value) != 0)
            return -1;
        (*out)[i] = (uint32_t) value;
    }
    return 0;
}

//  A list of unsigned integers into a new array *out.
static int
s_uints (s_decoder_t *self, const msgpack_object *obj, const char *name,
         uint64_t **out, size_t *count)
{
    if (s_array (self, obj, name, 0, count) != 0)
        return -1;
    *out = util_calloc (*count, sizeof (uint64_t));
    char item_name[128];
    for (size_t i = 0; i < *count; i++) {
        const msgpack_object *item = &obj->via.array.ptr[i];
        if (item->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            (*out)[i] = item->via.u64;      //  any uint64 is in range
            continue;
        }
        snprintf (item_name, sizeof item_name, "%s[%zu]", name, i);
        if (s_uint (self, item, item_name, 0, UINT64_MAX, &(*out)[i]) != 0)
            return -1;
    }
    return 0;
}

//  Find the known keys of a map: slots[i] gets the value of names[i] or
//  stays NULL. Checks that every key is a string and no known key comes
//  twice, for a duplicate is how two readers of one message come to act on
//  different values. Duplicates of keys nobody reads are harmless and
//  ignored with them. Reads the whole map even after a problem, so the
//  caller can still echo attempt and req; returns -1 after the first.
static int
s_index (s_decoder_t *self, const msgpack_object_map *map, const char *prefix,
         const char *const *names, size_t name_count,
         const msgpack_object **slots, unsigned *seen)
{
    int rc = 0;
    char field[128];
    for (size_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            if (rc == 0)
                rc = s_fail (self, PROTO_ERR_BAD_REQUEST, prefix,
                             "key %zu of the %s map is %s; keys must be strings",
                             i, *prefix ? prefix : "message", s_type_word (key->type));
            continue;
        }
        //  No name is empty; most differ in their first byte, which is
        //  looked at before anything longer (this runs for every key of
        //  every request against every name).
        const char *text = key->via.str.ptr;
        size_t size = key->via.str.size;
        for (size_t k = 0; k < name_count && size > 0; k++) {
            if (names[k][0] != text[0] || strlen (names[k]) != size
            ||  memcmp (names[k], text, size) != 0)
                continue;
            seen[k]++;
            if (seen[k] == 1)
                slots[k] = &map->ptr[i].val;
            if (seen[k] == 2 && rc == 0) {
                snprintf (field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", names[k]);
                rc = s_fail (self, PROTO_ERR_BAD_REQUEST, field,
                             "%s appears more than once", field);
            }
            break;
        }
    }
    return rc;
}

//  Put attempt and req into the error as soon as the map is indexed, if
//  they are there once and valid, so that whatever fails next, the error
//  reply can still be matched to its request.
static void
s_echo (s_decoder_t *self)
{
    const msgpack_object *attempt = self->slots[K_ATTEMPT];
    const msgpack_object *req = self->slots[K_REQ];
    if (self->seen[K_ATTEMPT] == 1 && attempt->type == MSGPACK_OBJECT_STR
    &&  attempt->via.str.size >= 1 && attempt->via.str.size <= PROTO_ATTEMPT_MAX) {
        bool valid = true;
        for (size_t i = 0; i < attempt->via.str.size; i++)
            valid = valid && s_char_ok (S_IDENT, (unsigned char) attempt->via.str.ptr[i]);
        if (valid) {
            memcpy (self->err->attempt, attempt->via.str.ptr, attempt->via.str.size);
            self->err->attempt[attempt->via.str.size] = 0;
        }
    }
    if (self->seen[K_REQ] == 1 && req->type == MSGPACK_OBJECT_POSITIVE_INTEGER
    &&  req->via.u64 >= 1 && req->via.u64 <= PROTO_REQ_MAX)
        self->err->req = req->via.u64;
}

//  A listed join's examples: each id is its file's name and more, and
//  each file index is in range. That the ids are unique and none is also
//  a unit the daemon checks, merging them into the build's list.
static int
s_decode_examples (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    if (s_names (self, S_FIELD (K_EXAMPLES), 0, false, &msg->examples, &msg->example_count) != 0
    ||  s_uint32s (self, S_FIELD (K_EXAMPLE_FILE), msg->example_count,
                   (uint32_t) (msg->unit_count - 1), &msg->example_file) != 0)
        return -1;
    for (size_t i = 0; i < msg->example_count; i++) {
        const char *file = msg->units[msg->example_file[i]];
        size_t length = strlen (file);
        if (strncmp (msg->examples[i], file, length) != 0 || !msg->examples[i][length]) {
            char field[64], shown[48];
            snprintf (field, sizeof field, "examples[%zu]", i);
            return s_fail (self, PROTO_ERR_BAD_REQUEST, field,
                           "%s \"%s\" does not start with its file's name and add to it",
                           field, s_shown (msg->examples[i], strlen (msg->examples[i]), shown));
        }
    }
    return 0;
}

static int
s_decode_import (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    size_t count = 0;
    if (s_str (self, S_FIELD (K_SUITE), 1, PROTO_SUITE_MAX, S_SUITE, &msg->suite) != 0
    ||  s_units (self, S_FIELD (K_UNITS), true) != 0
    ||  s_uints (self, S_FIELD (K_TIMES_MS), &msg->times_ms, &count) != 0)
        return -1;
    if (count != msg->unit_count)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "times_ms",
                       "times_ms has %zu values for %zu units", count, msg->unit_count);
    for (size_t i = 0; i < count; i++)
        if (msg->times_ms[i] > PROTO_DURATION_MS_MAX)
            return s_fail (self, PROTO_ERR_BAD_REQUEST, "times_ms",
                           "times_ms[%zu] is %" PRIu64 " ms, more than the %" PRIu64
                           " ms (30 days) allowed", i, msg->times_ms[i],
                           (uint64_t) PROTO_DURATION_MS_MAX);
    if (s_uint32s (self, S_FIELD (K_PARENT), count,
                   count < UINT32_MAX ? (uint32_t) count : UINT32_MAX, &msg->parent) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (msg->parent[i] == i + 1 || (msg->parent[i] > 0 && msg->parent[msg->parent[i] - 1] > 0))
            return s_fail (self, PROTO_ERR_BAD_REQUEST, "parent",
                           "parent[%zu] names a unit that is itself an example", i);
    //  As in a listed join: an example's id is its file's name and more.
    for (size_t i = 0; i < count; i++) {
        if (msg->parent[i] == 0)
            continue;
        const char *file = msg->units[msg->parent[i] - 1];
        size_t length = strlen (file);
        if (strncmp (msg->units[i], file, length) != 0 || !msg->units[i][length]) {
            char field[64], shown[48];
            snprintf (field, sizeof field, "parent[%zu]", i);
            return s_fail (self, PROTO_ERR_BAD_REQUEST, field,
                           "units[%zu] \"%s\" does not start with the name of its file, "
                           "units[%" PRIu32 "]", i,
                           s_shown (msg->units[i], strlen (msg->units[i]), shown),
                           msg->parent[i] - 1);
        }
    }
    return 0;
}

static int
s_decode_join (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    const proto_limits_t *limits = self->limits;
    uint64_t node_total, node_index;
    if (s_str (self, S_FIELD (K_SUITE), 1, PROTO_SUITE_MAX, S_SUITE, &msg->suite) != 0
    ||  s_str (self, S_FIELD (K_BUILD), 0, PROTO_BUILD_MAX, S_PRINTABLE, &msg->build) != 0
    ||  s_uint (self, S_FIELD (K_NODE_TOTAL), 1, limits->max_nodes, &node_total) != 0
    ||  s_uint (self, S_FIELD (K_NODE_INDEX), 0, UINT64_MAX, &node_index) != 0)
        return -1;
    if (node_index >= node_total)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "node_index",
                       "node_index %" PRIu64 " is not below node_total %" PRIu64,
                       node_index, node_total);
    msg->node_total = (uint32_t) node_total;
    msg->node_index = (uint32_t) node_index;
    if (s_str (self, S_FIELD (K_COMMIT), 0, PROTO_COMMIT_MAX, S_ANY, &msg->commit) != 0
    ||  s_str (self, S_FIELD (K_BRANCH), 0, PROTO_BRANCH_MAX, S_ANY, &msg->branch) != 0
    ||  s_str (self, S_FIELD (K_MODE), 1, 64, S_ANY, &msg->mode) != 0)
        return -1;
    if (strcmp (msg->mode, "queue") != 0 && strcmp (msg->mode, "regular") != 0) {
        char shown[48];
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "mode",
                       "mode \"%s\" is not supported; the modes are \"queue\" and \"regular\"",
                       s_shown (msg->mode, strlen (msg->mode), shown));
    }
    if (s_units (self, S_FIELD (K_UNITS), true) != 0
    ||  s_str (self, S_FIELD (K_DIGEST), PROTO_DIGEST_LEN, PROTO_DIGEST_LEN, S_HEX,
               &msg->digest) != 0)
        return -1;
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest ((const char *const *) msg->units, msg->unit_count, digest);
    if (strcmp (digest, msg->digest) != 0)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "digest",
                       "digest %s does not match the units, which hash to %s "
                       "(the list was changed after it was hashed)", msg->digest, digest);
    bool wait = true, reuse_split = true;
    if (s_opt_bool (self, S_FIELD (K_ONLY_FAILED), &msg->only_failed) != 0
    ||  s_opt_bool (self, S_FIELD (K_FIXED_SPLIT), &msg->fixed_split) != 0
    ||  s_opt_bool (self, S_FIELD (K_WAIT), &wait) != 0
    ||  s_opt_bool (self, S_FIELD (K_FAIL_FAST), &msg->fail_fast) != 0
    ||  s_opt_bool (self, S_FIELD (K_REUSE_SPLIT), &reuse_split) != 0)
        return -1;
    msg->no_wait = !wait;
    msg->fresh_split = !reuse_split;
    if (s_opt_bool (self, S_FIELD (K_CAN_LIST), &msg->can_list) != 0
    ||  s_opt_bool (self, S_FIELD (K_LISTED), &msg->listed) != 0
    ||  (self->slots[K_SLOW_MS]
         && s_uint (self, S_FIELD (K_SLOW_MS), 0, PROTO_DURATION_MS_MAX, &msg->slow_ms) != 0))
        return -1;
    if (msg->listed && s_decode_examples (self) != 0)
        return -1;
    if (self->slots[K_MACHINE]
    &&  s_str (self, S_FIELD (K_MACHINE), 1, PROTO_MACHINE_MAX, S_PRINTABLE, &msg->machine) != 0)
        return -1;
    if (!*msg->build && !msg->fixed_split)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "build",
                       "build is empty; it may be empty only with fixed_split, which names "
                       "the build by commit, branch and node total");
    return 0;
}

static int
s_decode_heartbeat (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    uint64_t batch;
    if (s_uint (self, S_FIELD (K_BATCH), 1, UINT32_MAX, &batch) != 0
    ||  s_uint (self, S_FIELD (K_LEASE), 1, PROTO_REQ_MAX, &msg->lease) != 0)
        return -1;
    msg->batch = (uint32_t) batch;
    return 0;
}

static int
s_decode_next (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    if (self->slots[K_PARK_MS]
    &&  s_uint (self, S_FIELD (K_PARK_MS), 0, PROTO_PARK_MS_MAX, &msg->park_ms) != 0)
        return -1;
    const msgpack_object *report = self->slots[K_REPORT];
    if (!report)
        return 0;           //  the first next of an attempt has nothing to report
    if (report->type != MSGPACK_OBJECT_MAP)
        return s_wrong_type (self, report, "report", "a map");

    const msgpack_object *slots[R_COUNT] = { NULL };
    unsigned seen[R_COUNT] = { 0 };
    if (s_index (self, &report->via.map, "report", s_report_keys, R_COUNT, slots, seen) != 0)
        return -1;
    uint64_t batch;
    if (s_uint (self, slots[R_BATCH], "report.batch", 1, UINT32_MAX, &batch) != 0
    ||  s_uint (self, slots[R_WALL_MS], "report.wall_ms", 0, PROTO_DURATION_MS_MAX,
                &msg->report_wall_ms) != 0)
        return -1;
    msg->report_batch = (uint32_t) batch;

    //  An exit status is 0..255, or -N for death by signal N.
    const msgpack_object *status = slots[R_EXIT];
    if (!status)
        return s_missing (self, "report.exit");
    if (status->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && status->via.i64 < -64)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "report.exit",
                       "report.exit %" PRId64 " is out of range -64..255", status->via.i64);
    if (status->type == MSGPACK_OBJECT_POSITIVE_INTEGER && status->via.u64 > 255)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "report.exit",
                       "report.exit %" PRIu64 " is out of range -64..255", status->via.u64);
    if (status->type != MSGPACK_OBJECT_NEGATIVE_INTEGER
    &&  status->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type (self, status, "report.exit", "an integer");
    msg->report_exit = status->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                     ? (int32_t) status->via.i64 : (int32_t) status->via.u64;

    //  That there is one time per unit of the batch only the daemon can
    //  tell, knowing the batch.
    self->in_report = true;
    int times = s_uints (self, slots[R_TIMES_MS], "report.times_ms", &msg->report_times_ms,
                         &msg->report_time_count);
    self->in_report = false;
    if (times != 0
    ||  s_uint (self, slots[R_LEASE], "report.lease", 1, PROTO_REQ_MAX, &msg->report_lease) != 0
    ||  s_opt_bool (self, slots[R_RETURNED], "report.returned", &msg->report_returned) != 0)
        return -1;
    msg->report_runs = 1;
    if (slots[R_RUNS]) {
        uint64_t runs;
        if (s_uint (self, slots[R_RUNS], "report.runs", 1, UINT32_MAX, &runs) != 0)
            return -1;
        msg->report_runs = (uint32_t) runs;
    }
    if (slots[R_STATUS]) {
        uint32_t *status_values = NULL;
        self->in_report = true;
        int rc = s_uint32s (self, slots[R_STATUS], "report.status", msg->report_time_count,
                            PROTO_UNIT_ABSENT, &status_values);
        self->in_report = false;
        if (rc == 0) {
            msg->report_status = util_malloc (msg->report_time_count ? msg->report_time_count : 1);
            for (size_t i = 0; i < msg->report_time_count; i++)
                msg->report_status[i] = (uint8_t) status_values[i];
        }
        free (status_values);
        if (rc != 0)
            return -1;
    }
    //  A time beyond any real batch would poison the history it enters.
    for (size_t i = 0; i < msg->report_time_count; i++)
        if (msg->report_times_ms[i] > PROTO_DURATION_MS_MAX)
            return s_fail (self, PROTO_ERR_BAD_REQUEST, "report.times_ms",
                           "report.times_ms[%zu] is %" PRIu64 " ms, more than the %" PRIu64
                           " ms (30 days) allowed", i, msg->report_times_ms[i],
                           (uint64_t) PROTO_DURATION_MS_MAX);
    msg->has_report = true;
    return 0;
}

//  units_done and units_total of a wait or done reply.
static int
s_progress (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    if (s_uint (self, S_FIELD (K_UNITS_DONE), 0, UINT64_MAX, &msg->units_done) != 0
    ||  s_uint (self, S_FIELD (K_UNITS_TOTAL), 0, UINT64_MAX, &msg->units_total) != 0)
        return -1;
    if (msg->units_done > msg->units_total)
        return s_fail (self, PROTO_ERR_BAD_REQUEST, "units_done",
                       "units_done %" PRIu64 " is more than units_total %" PRIu64,
                       msg->units_done, msg->units_total);
    return 0;
}

static int
s_decode_reply (s_decoder_t *self)
{
    proto_msg_t *msg = self->msg;
    const proto_limits_t *limits = self->limits;
    uint64_t value;
    switch (msg->type) {
        case PROTO_JOINED:
            if (s_uint (self, S_FIELD (K_UNITS), 0, UINT64_MAX, &msg->units_total) != 0
            ||  s_uint (self, S_FIELD (K_NODES), 1, limits->max_nodes, &value) != 0
            ||  s_bool (self, S_FIELD (K_CREATED), &msg->created) != 0)
                return -1;
            msg->node_total = (uint32_t) value;
            if (s_uint (self, S_FIELD (K_REPLAY), 0, UINT32_MAX, &value) != 0
            ||  s_uint (self, S_FIELD (K_HEARTBEAT_MS), 1, UINT32_MAX, &msg->heartbeat_ms) != 0)
                return -1;
            msg->replay = (uint32_t) value;
            if ((self->slots[K_KNOWN]
                 && s_uint (self, S_FIELD (K_KNOWN), 0, UINT64_MAX, &msg->known) != 0)
            ||  (self->slots[K_EXAMPLES]
                 && s_uint (self, S_FIELD (K_EXAMPLES), 0, UINT64_MAX, &msg->examples_total) != 0))
                return -1;
            return 0;
        case PROTO_EXPAND:
            return s_units (self, S_FIELD (K_UNITS), false);
        case PROTO_IMPORTED:
            return s_uint (self, S_FIELD (K_UNITS), 0, UINT64_MAX, &msg->units_total);
        case PROTO_NOTED:
            return 0;
        case PROTO_QUERY_RESULT: {
            const msgpack_object *json = self->slots[K_JSON];
            if (!json)
                return s_missing (self, "json");
            if (json->type != MSGPACK_OBJECT_BIN)
                return s_wrong_type (self, json, "json", "binary");
            msg->data_size = json->via.bin.size;
            msg->data = util_malloc (msg->data_size + 1);
            memcpy (msg->data, json->via.bin.ptr, msg->data_size);
            msg->data[msg->data_size] = 0;      //  text for the JSON reader
            return 0;
        }
        case PROTO_ADMIN_JOB: {
            if (s_uint (self, S_FIELD (K_JOB), 1, PROTO_REQ_MAX, &msg->job) != 0
            ||  s_action (self, self->slots[K_ACTION], &msg->action) != 0
            ||  s_str (self, S_FIELD (K_STATE), 1, 16, S_IDENT, &msg->state) != 0
            ||  s_str (self, S_FIELD (K_MESSAGE), 0, PROTO_MESSAGE_MAX - 1, S_ANY,
                       &msg->message) != 0
            ||  s_uint (self, S_FIELD (K_SIZE), 0, UINT64_MAX, &msg->size) != 0)
                return -1;
            if (strcmp (msg->state, "running") != 0 && strcmp (msg->state, "done") != 0
            &&  strcmp (msg->state, "failed") != 0)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, "state",
                               "state must be running, done or failed");
            const msgpack_object *data = self->slots[K_DATA];
            if (!data)
                return 0;
            if (data->type != MSGPACK_OBJECT_BIN)
                return s_wrong_type (self, data, "data", "binary");
            if (data->via.bin.size > PROTO_CHUNK_MAX)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, "data",
                               "data is %" PRIu32 " bytes, more than the %d allowed",
                               data->via.bin.size, PROTO_CHUNK_MAX);
            if (s_uint (self, S_FIELD (K_OFFSET), 0, UINT64_MAX, &msg->offset) != 0)
                return -1;
            msg->data_size = data->via.bin.size;
            msg->data = util_malloc (msg->data_size ? msg->data_size : 1);
            memcpy (msg->data, data->via.bin.ptr, msg->data_size);
            return 0;
        }
        case PROTO_DAEMON_STATUS:
            if (s_str (self, S_FIELD (K_VERSION), 1, 64, S_PRINTABLE, &msg->version) != 0
            ||  s_uint (self, S_FIELD (K_UPTIME_S), 0, UINT64_MAX, &msg->uptime_s) != 0
            ||  s_uint (self, S_FIELD (K_BUILDS_RUNNING), 0, UINT64_MAX,
                        &msg->builds_running) != 0
            ||  s_uint (self, S_FIELD (K_AGENTS_LAST_MINUTE), 0, UINT64_MAX,
                        &msg->agents_seen) != 0
            ||  s_uint (self, S_FIELD (K_REQUESTS), 0, UINT64_MAX, &msg->requests_total) != 0
            ||  s_uint (self, S_FIELD (K_REQUESTS_LAST_MINUTE), 0, UINT64_MAX,
                        &msg->requests_minute) != 0
            ||  s_uint (self, S_FIELD (K_DB_BYTES), 0, UINT64_MAX, &msg->db_bytes) != 0)
                return -1;
            if (msg->requests_minute > msg->requests_total)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, "requests_last_minute",
                               "requests_last_minute %" PRIu64 " is more than requests %" PRIu64,
                               msg->requests_minute, msg->requests_total);
            return 0;
        case PROTO_BATCH: {
            size_t count;
            if (s_uint (self, S_FIELD (K_BATCH), 1, UINT32_MAX, &value) != 0
            ||  s_units (self, S_FIELD (K_UNITS), false) != 0
            ||  s_uints (self, S_FIELD (K_PREDICTED_MS), &msg->predicted_ms, &count) != 0)
                return -1;
            msg->batch = (uint32_t) value;
            if (count != msg->unit_count)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, "predicted_ms",
                               "predicted_ms has %zu values but units has %zu names",
                               count, msg->unit_count);
            char *kind = NULL;
            if (s_uint (self, S_FIELD (K_LEASE), 1, PROTO_REQ_MAX, &msg->lease) != 0
            ||  s_str (self, S_FIELD (K_KIND), 1, 16, S_IDENT, &kind) != 0)
                return -1;
            int found = -1;
            for (int k = PROTO_KIND_QUEUE; k <= PROTO_KIND_LAST; k++)
                if (strcmp (kind, proto_kind_name ((proto_kind_t) k)) == 0)
                    found = k;
            free (kind);
            if (found < 0)
                return s_fail (self, PROTO_ERR_BAD_REQUEST, "kind",
                               "kind must be queue, replay, retry or regular");
            msg->kind = (proto_kind_t) found;
            return 0;
        }
        case PROTO_WAIT:
            if (s_uint (self, S_FIELD (K_RETRY_MS), 1, PROTO_RETRY_MS_MAX, &msg->retry_ms) != 0)
                return -1;
            return s_progress (self);
        case PROTO_ACK:
            if (s_bool (self, S_FIELD (K_HELD), &msg->held) != 0
            ||  s_bool (self, S_FIELD (K_STOP), &msg->stop) != 0)
                return -1;
            return 0;
        case PROTO_DONE:
            if (s_progress (self) != 0)
                return -1;
            if (s_str (self, S_FIELD (K_REASON), 1, PROTO_REASON_MAX, S_IDENT, &msg->reason) != 0
            ||  s_uint (self, S_FIELD (K_FAILED), 0, UINT64_MAX, &msg->failed) != 0
            ||  s_uint (self, S_FIELD (K_FLAKY), 0, UINT64_MAX, &msg->flaky) != 0)
                return -1;
            return 0;
        case PROTO_ERROR:
            //  The code is not checked against the known ones: a newer
            //  daemon may send codes this side has never heard of.
            if (s_str (self, S_FIELD (K_CODE), 1, PROTO_CODE_MAX - 1, S_IDENT, &msg->code) != 0
            ||  s_str (self, S_FIELD (K_FIELD), 0, sizeof self->err->field - 1, S_ANY,
                       &msg->field) != 0
            ||  s_str (self, S_FIELD (K_MESSAGE), 1, PROTO_MESSAGE_MAX - 1, S_ANY,
                       &msg->message) != 0)
                return -1;
            return 0;
        default:
            assert (false);
            return -1;
    }
}

//  Everything after unpacking: the map's keys, version, type and fields.
static int
s_decode_map (s_decoder_t *self, const msgpack_object_map *map)
{
    int indexed = s_index (self, map, "", s_keys, K_COUNT, self->slots, self->seen);
    s_echo (self);
    if (indexed != 0)
        return -1;

    //  Any integer is a version, if not ours; anything else is no version.
    const msgpack_object *v = self->slots[K_V];
    if (!v)
        return s_missing (self, "v");
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return s_fail (self, PROTO_ERR_VERSION, "v",
                       "protocol version %" PRId64 " is not supported; this side speaks version %d",
                       v->via.i64, PROTO_VERSION);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type (self, v, "v", "an unsigned integer");
    if (v->via.u64 != PROTO_VERSION)
        return s_fail (self, PROTO_ERR_VERSION, "v",
                       "protocol version %" PRIu64 " is not supported; this side speaks version %d",
                       v->via.u64, PROTO_VERSION);

    const msgpack_object *type = self->slots[K_TYPE];
    if (!type)
        return s_missing (self, "type");
    if (type->type != MSGPACK_OBJECT_STR)
        return s_wrong_type (self, type, "type", "a string");
    proto_type_t found = 0;         //  the types start at 1, so 0 is none
    for (int t = PROTO_JOIN; t <= PROTO_TYPE_LAST; t++) {
        const char *name = proto_type_name ((proto_type_t) t);
        if (strlen (name) == type->via.str.size
        &&  memcmp (name, type->via.str.ptr, type->via.str.size) == 0)
            found = (proto_type_t) t;
    }
    if (found == 0) {
        char shown[48];
        return s_fail (self, PROTO_ERR_UNKNOWN_TYPE, "type", "unknown message type \"%s\"",
                       s_shown (type->via.str.ptr, type->via.str.size, shown));
    }
    self->msg = proto_msg_new (found);

    //  A request must say who sends it and which request it is; a reply
    //  echoes them when it can, so they are optional there but still
    //  checked.
    bool request = found == PROTO_JOIN || found == PROTO_NEXT || found == PROTO_HEARTBEAT
                || found == PROTO_IMPORT || found == PROTO_STATUS || found == PROTO_ADMIN
                || found == PROTO_QUERY || found == PROTO_FALLBACK;
    if (request || self->slots[K_ATTEMPT]) {
        if (s_str (self, S_FIELD (K_ATTEMPT), 1, PROTO_ATTEMPT_MAX, S_IDENT,
                   &self->msg->attempt) != 0)
            return -1;
    }
    if (request || self->slots[K_REQ]) {
        if (s_uint (self, S_FIELD (K_REQ), 1, PROTO_REQ_MAX, &self->msg->req) != 0)
            return -1;
    }
    if (found == PROTO_JOIN)
        return s_decode_join (self);
    if (found == PROTO_NEXT)
        return s_decode_next (self);
    if (found == PROTO_HEARTBEAT)
        return s_decode_heartbeat (self);
    if (found == PROTO_IMPORT)
        return s_decode_import (self);
    if (found == PROTO_STATUS)
        return 0;           //  nothing but who asks
    if (found == PROTO_FALLBACK) {
        proto_msg_t *msg = self->msg;
        uint64_t index = 0, total = 0;
        if (s_str (self, S_FIELD (K_SUITE), 1, PROTO_SUITE_MAX, S_SUITE, &msg->suite) != 0
        ||  s_str (self, S_FIELD (K_BUILD), 0, PROTO_BUILD_MAX, S_PRINTABLE, &msg->build) != 0
        ||  s_uint (self, S_FIELD (K_NODE_TOTAL), 1, self->limits->max_nodes, &total) != 0
        ||  s_uint (self, S_FIELD (K_NODE_INDEX), 0, total - 1, &index) != 0
        ||  s_uint (self, S_FIELD (K_UNITS), 0, self->limits->max_units, &msg->units_total) != 0)
            return -1;
        msg->node_index = (uint32_t) index;
        msg->node_total = (uint32_t) total;
        return 0;
    }
    if (found == PROTO_QUERY) {
        proto_msg_t *msg = self->msg;
        if (s_str (self, S_FIELD (K_WHAT), 1, 16, S_IDENT, &msg->what) != 0)
            return -1;
        const char *const whats[] = { "builds", "build", "slowest", "flaky", "trend", "export" };
        size_t what = 0;
        while (what < 6 && strcmp (msg->what, whats[what]) != 0)
            what++;
        if (what == 6)
            return s_fail (self, PROTO_ERR_BAD_REQUEST, "what",
                           "what must be builds, build, slowest, flaky, trend or export");
        bool export = what == 5;
        //  Every report of a suite's tests names the suite.
        if ((what >= 2 || self->slots[K_SUITE])
        &&  s_str (self, S_FIELD (K_SUITE), 1, PROTO_SUITE_MAX, S_SUITE, &msg->suite) != 0)
            return -1;
        if (self->slots[K_LIMIT]
        &&  s_uint (self, S_FIELD (K_LIMIT), 1,
                    export ? PROTO_EXPORT_PAGE_MAX : PROTO_QUERY_LIMIT_MAX, &msg->limit) != 0)
            return -1;
        if (what == 1 && s_uint (self, S_FIELD (K_BUILD_ID), 1, PROTO_REQ_MAX, &msg->build_id) != 0)
            return -1;
        if (what == 4 && s_str (self, S_FIELD (K_UNIT), 1, self->limits->max_name, S_ANY,
                                &msg->unit) != 0)
            return -1;
        if (export
        &&  ((self->slots[K_SINCE_MS]
              && s_uint (self, S_FIELD (K_SINCE_MS), 0, PROTO_REQ_MAX, &msg->since_ms) != 0)
         ||  (self->slots[K_AFTER]
              && s_uint (self, S_FIELD (K_AFTER), 0, PROTO_REQ_MAX, &msg->after) != 0)))
            return -1;
        return 0;
    }
    if (found == PROTO_ADMIN) {
        proto_msg_t *msg = self->msg;
        if (s_action (self, self->slots[K_ACTION], &msg->action) != 0
        ||  (self->slots[K_JOB]
             && s_uint (self, S_FIELD (K_JOB), 0, PROTO_REQ_MAX, &msg->job) != 0)
        ||  (self->slots[K_OFFSET]
             && s_uint (self, S_FIELD (K_OFFSET), 0, UINT64_MAX, &msg->offset) != 0))
            return -1;
        if (strcmp (msg->action, "fetch") == 0 && msg->job == 0)
            return s_fail (self, PROTO_ERR_BAD_REQUEST, "job", "fetch needs the job of a backup");
        return 0;
    }
    return s_decode_reply (self);
}

proto_msg_t *
proto_decode (const void *data, size_t size, const proto_limits_t *limits, proto_error_t *err)
{
    proto_error_t spare;
    proto_limits_t defaults;
    if (!err)
        err = &spare;
    if (!limits) {
        proto_limits_default (&defaults);
        limits = &defaults;
    }
    memset (err, 0, sizeof (proto_error_t));
    s_decoder_t decoder = { .limits = limits, .err = err, .msg = NULL };
    s_decoder_t *self = &decoder;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);

    if (size > limits->max_frame) {
        s_fail (self, PROTO_ERR_TOO_LARGE, "",
                "the message is %zu bytes, more than the limit of %zu bytes",
                size, limits->max_frame);
        goto cleanup;
    }
    //  Depth 4 is all the protocol uses (message, report, times_ms) plus a
    //  level for unknown extensions. The per-container and total counts
    //  leave room for the three lists of a listed join or an import (names,
    //  examples or times, their files) at full length, and a little more
    //  for keys this version does not know.
    size_t elements = limits->max_units > limits->max_report_units ? limits->max_units
                                                                    : limits->max_report_units;
    if (elements < 64)
        elements = 64;
    wire_limits_t wire = {
        .max_frame = limits->max_frame,
        .max_depth = 4,
        .max_elements = elements,
        .max_string = limits->max_name > 1024 ? limits->max_name : 1024,
        .max_total = elements < (SIZE_MAX - 4096) / 4 ? 4 * elements + 4096 : 0,
        //  A backup's chunks (admin_job "data").
        .max_binary = limits->max_frame
    };
    char reason[256];
    if (wire_check (data, size, &wire, reason, sizeof reason) != 0) {
        //  Tell a limit from a malformed frame: if the same bytes pass with
        //  the counts and lengths unbounded, only a limit was in the way,
        //  and saying so tells the person which flag to look at.
        wire_limits_t unbounded = wire;
        unbounded.max_elements = SIZE_MAX;
        unbounded.max_string = SIZE_MAX;
        unbounded.max_total = 0;
        if (wire_check (data, size, &unbounded, NULL, 0) == 0)
            s_fail (self, PROTO_ERR_LIMIT, "", "the message exceeds a limit of this daemon: %s",
                    reason);
        else
            s_fail (self, PROTO_ERR_BAD_REQUEST, "", "the message is not valid msgpack: %s",
                    reason);
        goto cleanup;
    }

    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, data, size, &offset);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        s_fail (self, PROTO_ERR_BAD_REQUEST, "", "the message could not be unpacked (msgpack error %d)",
                (int) rc);
        goto cleanup;
    }
    //  wire_check has ruled trailing bytes out already; this guards against
    //  the two parsers ever disagreeing.
    if (offset != size) {
        s_fail (self, PROTO_ERR_BAD_REQUEST, "", "trailing bytes after message");
        goto cleanup;
    }
    if (unpacked.data.type != MSGPACK_OBJECT_MAP) {
        s_fail (self, PROTO_ERR_BAD_REQUEST, "", "the message must be a map, not %s",
                s_type_word (unpacked.data.type));
        goto cleanup;
    }
    if (s_decode_map (self, &unpacked.data.via.map) != 0)
        proto_msg_destroy (&decoder.msg);

cleanup:
    msgpack_unpacked_destroy (&unpacked);
    return decoder.msg;
}
