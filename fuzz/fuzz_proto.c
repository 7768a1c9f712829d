/*  fuzz_proto.c: message decoding and validation (wire_check, msgpack-c,
    proto_decode), fed one raw frame as satcheld receives it.

    Per input, what satcheld's requests_handle does with a frame:
    proto_decode under the default limits (those of a daemon started
    without limit flags), then either an error reply built from the decode
    error, or the decoded message. On top of "does not crash", it checks
    that:
      - an error reply encodes, and the agent (proto_decode on its side,
        default limits too) reads back the same code, field, message,
        attempt and req: no input can make the daemon send a reply its
        agents cannot read;
      - a decoded message encodes, decodes again to the same fields, and
        encodes again to the same bytes (the encoding is canonical);
      - whatever passes tight limits (a daemon started with small
        --max-* flags) also passes the default ones: a limit only ever
        refuses more.                                                     */
#include "fuzz.h"

#include "proto.h"

#include <stdbool.h>
#include <string.h>

//  Small limits, so that inputs of a few hundred bytes reach the limit
//  checks that the defaults put megabytes away.
static const proto_limits_t s_tight = {
    .max_frame = 16384,
    .max_units = 3,
    .max_name = 16,
    .max_nodes = 4
};

static bool
s_same_str (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}

static bool
s_same_strs (char *const *a, char *const *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!s_same_str (a ? a[i] : NULL, b ? b[i] : NULL))
            return false;
    return true;
}

//  Equal arrays of count items of item_size bytes; NULL equals NULL only.
static bool
s_same_mem (const void *a, const void *b, size_t count, size_t item_size)
{
    if (!a || !b)
        return a == b || count == 0;
    return memcmp (a, b, count * item_size) == 0;
}

//  Every field of two messages, compared; what proto_decode leaves unset
//  is NULL or 0 in both, so all of them can be.
static void
s_check_same (const proto_msg_t *a, const proto_msg_t *b)
{
    FUZZ_CHECK (a->type == b->type);
    FUZZ_CHECK (s_same_str (a->attempt, b->attempt));
    FUZZ_CHECK (a->req == b->req);
    FUZZ_CHECK (s_same_str (a->suite, b->suite));
    FUZZ_CHECK (s_same_str (a->build, b->build));
    FUZZ_CHECK (a->node_index == b->node_index);
    FUZZ_CHECK (a->node_total == b->node_total);
    FUZZ_CHECK (s_same_str (a->commit, b->commit));
    FUZZ_CHECK (s_same_str (a->branch, b->branch));
    FUZZ_CHECK (s_same_str (a->mode, b->mode));
    FUZZ_CHECK (s_same_str (a->digest, b->digest));
    FUZZ_CHECK (a->only_failed == b->only_failed);
    FUZZ_CHECK (a->fixed_split == b->fixed_split);
    FUZZ_CHECK (a->no_wait == b->no_wait);
    FUZZ_CHECK (a->fail_fast == b->fail_fast);
    FUZZ_CHECK (a->fresh_split == b->fresh_split);
    FUZZ_CHECK (a->can_list == b->can_list);
    FUZZ_CHECK (a->slow_ms == b->slow_ms);
    FUZZ_CHECK (a->listed == b->listed);
    FUZZ_CHECK (a->example_count == b->example_count);
    FUZZ_CHECK (s_same_strs (a->examples, b->examples, a->example_count));
    FUZZ_CHECK (s_same_mem (a->example_file, b->example_file, a->example_count,
                            sizeof (uint32_t)));
    FUZZ_CHECK (a->unit_count == b->unit_count);
    FUZZ_CHECK (s_same_strs (a->units, b->units, a->unit_count));
    FUZZ_CHECK (s_same_mem (a->times_ms, b->times_ms, a->unit_count, sizeof (uint64_t)));
    FUZZ_CHECK (s_same_mem (a->parent, b->parent, a->unit_count, sizeof (uint32_t)));
    FUZZ_CHECK (s_same_mem (a->predicted_ms, b->predicted_ms, a->unit_count,
                            sizeof (uint64_t)));
    FUZZ_CHECK (a->has_report == b->has_report);
    FUZZ_CHECK (a->report_batch == b->report_batch);
    FUZZ_CHECK (a->report_wall_ms == b->report_wall_ms);
    FUZZ_CHECK (a->report_exit == b->report_exit);
    FUZZ_CHECK (a->report_time_count == b->report_time_count);
    FUZZ_CHECK (s_same_mem (a->report_times_ms, b->report_times_ms, a->report_time_count,
                            sizeof (uint64_t)));
    FUZZ_CHECK (a->report_lease == b->report_lease);
    FUZZ_CHECK (a->report_returned == b->report_returned);
    FUZZ_CHECK ((a->report_status == NULL) == (b->report_status == NULL));
    FUZZ_CHECK (s_same_mem (a->report_status, b->report_status, a->report_time_count, 1));
    FUZZ_CHECK (a->report_runs == b->report_runs);
    FUZZ_CHECK (a->units_total == b->units_total);
    FUZZ_CHECK (a->known == b->known);
    FUZZ_CHECK (a->examples_total == b->examples_total);
    FUZZ_CHECK (a->created == b->created);
    FUZZ_CHECK (a->batch == b->batch);
    FUZZ_CHECK (a->lease == b->lease);
    FUZZ_CHECK (a->kind == b->kind);
    FUZZ_CHECK (a->replay == b->replay);
    FUZZ_CHECK (a->heartbeat_ms == b->heartbeat_ms);
    FUZZ_CHECK (a->retry_ms == b->retry_ms);
    FUZZ_CHECK (a->held == b->held);
    FUZZ_CHECK (a->stop == b->stop);
    FUZZ_CHECK (a->units_done == b->units_done);
    FUZZ_CHECK (s_same_str (a->reason, b->reason));
    FUZZ_CHECK (a->failed == b->failed);
    FUZZ_CHECK (a->flaky == b->flaky);
    FUZZ_CHECK (s_same_str (a->code, b->code));
    FUZZ_CHECK (s_same_str (a->field, b->field));
    FUZZ_CHECK (s_same_str (a->message, b->message));
}

//  The error reply satcheld sends for a frame it refused, as
//  requests_handle builds it, must reach the agent intact.
static void
s_check_error_reply (const proto_error_t *err, const proto_limits_t *limits)
{
    FUZZ_CHECK (err->code[0] != 0);
    FUZZ_CHECK (err->message[0] != 0);
    proto_msg_t *reply = proto_error_new (err->attempt[0] ? err->attempt : NULL, err->req,
                                          err->code, err->field, "%s", err->message);
    char *bytes = NULL;
    size_t size = 0;
    FUZZ_CHECK (proto_encode (reply, &bytes, &size) == 0);
    proto_error_t back_err;
    proto_msg_t *back = proto_decode (bytes, size, limits, &back_err);
    if (!back)
        fprintf (stderr, "error reply unreadable: %s: %s\n", back_err.code, back_err.message);
    FUZZ_CHECK (back != NULL);
    s_check_same (reply, back);
    proto_msg_destroy (&back);
    proto_msg_destroy (&reply);
    free (bytes);
}

//  A decoded message survives encoding and decoding unchanged, and its
//  encoding is a fixed point.
static void
s_check_round_trip (const proto_msg_t *msg, const proto_limits_t *limits)
{
    char *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    FUZZ_CHECK (proto_encode (msg, &first, &first_size) == 0);
    proto_error_t err;
    proto_msg_t *again = proto_decode (first, first_size, limits, &err);
    if (!again)
        fprintf (stderr, "re-encoded message refused: %s: %s\n", err.code, err.message);
    FUZZ_CHECK (again != NULL);
    s_check_same (msg, again);
    FUZZ_CHECK (proto_encode (again, &second, &second_size) == 0);
    FUZZ_CHECK (first_size == second_size);
    FUZZ_CHECK (memcmp (first, second, first_size) == 0);
    proto_msg_destroy (&again);
    free (first);
    free (second);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    proto_limits_t limits;
    proto_limits_default (&limits);
    proto_error_t err;
    proto_msg_t *msg = proto_decode (data, size, &limits, &err);
    if (msg)
        s_check_round_trip (msg, &limits);
    else
        s_check_error_reply (&err, &limits);

    proto_error_t tight_err;
    proto_msg_t *tight = proto_decode (data, size, &s_tight, &tight_err);
    if (tight) {
        FUZZ_CHECK (msg != NULL);
        s_check_same (tight, msg);
    }
    else
        s_check_error_reply (&tight_err, &limits);
    proto_msg_destroy (&tight);
    proto_msg_destroy (&msg);
    return 0;
}
