/*  test_e2e_protocol.c: satcheld against a raw ZeroMQ client speaking the
    wire protocol by hand: hostile frames get error replies and the daemon
    keeps serving (invariant 7); a retried request gets the same answer and
    never a second batch (invariant 3); a batch is in the database before
    its reply is seen, even when satcheld is killed right after (invariant
    4); a normal build with real agents succeeds after all the abuse.      */
#include "e2e_client.h"
#include "e2e_fixture.h"
#include "proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <czmq.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

//  The fixture and its satcheld, with a small message limit, so that an
//  oversize frame is cheap to send.
static int
s_setup (void **state)
{
    e2e_fixture_setup (state);
    const char *extra[] = { "--max-message", "65536", NULL };
    e2e_fixture_daemon (*state, extra);
    return 0;
}

//  Send raw bytes, return the raw reply (malloc'd) or fail the test.
static char *
s_exchange (zsock_t *socket, const void *data, size_t size, size_t *reply_size)
{
    assert_true (zmq_send (zsock_resolve (socket), data, size, 0) == (int) size);
    zframe_t *frame = zframe_recv (socket);
    assert_non_null (frame);        //  NULL means no reply within the timeout
    *reply_size = zframe_size (frame);
    char *reply = malloc (*reply_size + 1);
    memcpy (reply, zframe_data (frame), *reply_size);
    zframe_destroy (&frame);
    return reply;
}

static proto_msg_t *
s_decode (const char *data, size_t size)
{
    proto_limits_t limits;
    proto_limits_default (&limits);
    proto_error_t err;
    proto_msg_t *msg = proto_decode (data, size, &limits, &err);
    if (!msg)
        fprintf (stderr, "undecodable reply: %s\n", err.message);
    assert_non_null (msg);
    return msg;
}

//  Send bytes on a fresh socket; assert the reply is an error with code.
static void
s_expect_error (const char *endpoint, const void *data, size_t size, const char *code,
                const char *field)
{
    zsock_t *socket = e2e_connect (endpoint);
    size_t reply_size = 0;
    char *reply = s_exchange (socket, data, size, &reply_size);
    proto_msg_t *msg = s_decode (reply, reply_size);
    assert_int_equal (msg->type, PROTO_ERROR);
    if (strcmp (msg->code, code) != 0)
        fprintf (stderr, "expected %s, got %s: %s\n", code, msg->code, msg->message);
    assert_string_equal (msg->code, code);
    if (field)
        assert_string_equal (msg->field, field);
    assert_true (strlen (msg->message) > 10);       //  a sentence, not a blank
    proto_msg_destroy (&msg);
    free (reply);
    zsock_destroy (&socket);
}

//  A join of the four-unit "proto" suite.
static proto_msg_t *
s_join_msg (const char *attempt, uint64_t req, const char *build, uint32_t index, uint32_t total)
{
    static const char *const units[] = { "a_test", "b_test", "c_test", "d_test" };
    return e2e_join (attempt, req, "proto", build, index, total, units, 4);
}

//  Encode a map by hand, for the forms proto_encode would never write.
static void
s_pack_join_with (msgpack_sbuffer *buffer, const char *type, int64_t node_index,
                  int64_t node_total, bool attempt_as_int)
{
    static const char *units[] = { "a_test", "b_test" };
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (units, 2, digest);
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 12);
#define KEY(k) msgpack_pack_str_with_body (&pk, k, strlen (k))
    KEY ("v"); msgpack_pack_uint32 (&pk, 1);
    KEY ("type"); msgpack_pack_str_with_body (&pk, type, strlen (type));
    KEY ("attempt");
    if (attempt_as_int)
        msgpack_pack_int (&pk, 123);
    else
        KEY ("hostile1");
    KEY ("req"); msgpack_pack_uint32 (&pk, 1);
    KEY ("suite"); KEY ("proto");
    KEY ("build"); KEY ("hostile");
    KEY ("node_index"); msgpack_pack_int64 (&pk, node_index);
    KEY ("node_total"); msgpack_pack_int64 (&pk, node_total);
    KEY ("commit"); KEY ("abc");
    KEY ("branch"); KEY ("main");
    KEY ("digest"); KEY (digest);
    KEY ("units"); msgpack_pack_array (&pk, 2); KEY (units[0]); KEY (units[1]);
#undef KEY
}

static void
test_hostile_frames_get_error_replies (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *endpoint = fx->daemon.endpoint;

    //  Truncated msgpack: half of a valid join.
    proto_msg_t *join = s_join_msg ("trunc1", 1, "hostile", 0, 2);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal (proto_encode (join, &data, &size), 0);
    s_expect_error (endpoint, data, size / 2, PROTO_ERR_BAD_REQUEST, NULL);
    free (data);
    proto_msg_destroy (&join);

    //  Five bytes whose array header claims four billion elements.
    const unsigned char huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    s_expect_error (endpoint, huge_array, sizeof huge_array, PROTO_ERR_BAD_REQUEST, NULL);

    //  A frame above the size limit (65536 here).
    size_t big = 70000;
    char *blob = calloc (1, big);
    blob[0] = (char) 0xc6;      //  bin32 header; the content does not matter
    s_expect_error (endpoint, blob, big, PROTO_ERR_TOO_LARGE, NULL);
    free (blob);

    //  Wrong type: attempt as an integer.
    msgpack_sbuffer buffer;
    s_pack_join_with (&buffer, "join", 0, 2, true);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_BAD_REQUEST, "attempt");
    msgpack_sbuffer_destroy (&buffer);

    //  Unknown message type.
    s_pack_join_with (&buffer, "explode", 0, 2, false);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_UNKNOWN_TYPE, "type");
    msgpack_sbuffer_destroy (&buffer);

    //  A node total of 1,000,000.
    s_pack_join_with (&buffer, "join", 0, 1000000, false);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_BAD_REQUEST, "node_total");
    msgpack_sbuffer_destroy (&buffer);

    //  A node index not below the total, and a negative one.
    s_pack_join_with (&buffer, "join", 2, 2, false);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_BAD_REQUEST, "node_index");
    msgpack_sbuffer_destroy (&buffer);
    s_pack_join_with (&buffer, "join", -1, 2, false);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_BAD_REQUEST, "node_index");
    msgpack_sbuffer_destroy (&buffer);

    //  Not a map at all, and an empty frame.
    const unsigned char not_map[] = { 0x93, 0x01, 0x02, 0x03 };
    s_expect_error (endpoint, not_map, sizeof not_map, PROTO_ERR_BAD_REQUEST, NULL);
    s_expect_error (endpoint, "", 0, PROTO_ERR_BAD_REQUEST, NULL);

    //  Two frames in one request.
    zsock_t *socket = e2e_connect (endpoint);
    assert_int_equal (zstr_sendm (socket, "one"), 0);
    assert_int_equal (zstr_send (socket, "two"), 0);
    zframe_t *frame = zframe_recv (socket);
    assert_non_null (frame);
    proto_msg_t *msg = s_decode ((const char *) zframe_data (frame), zframe_size (frame));
    assert_int_equal (msg->type, PROTO_ERROR);
    assert_string_equal (msg->code, PROTO_ERR_BAD_REQUEST);
    proto_msg_destroy (&msg);
    zframe_destroy (&frame);
    zsock_destroy (&socket);

    //  A DEALER peer sending frames a REQ socket never would: a lone empty
    //  frame (a delimiter with no request), then a frame with no delimiter.
    //  Neither can be answered; both must be dropped without satcheld
    //  waiting for more, so the REQ request right after is still served.
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    assert_int_equal (zsock_connect (dealer, "%s", endpoint), 0);
    assert_int_equal (zstr_send (dealer, ""), 0);
    assert_int_equal (zstr_send (dealer, "no delimiter"), 0);
    s_pack_join_with (&buffer, "explode", 0, 2, false);
    s_expect_error (endpoint, buffer.data, buffer.size, PROTO_ERR_UNKNOWN_TYPE, "type");
    msgpack_sbuffer_destroy (&buffer);
    zsock_destroy (&dealer);

    //  The daemon is still alive and serving.
    assert_int_equal (kill (fx->daemon.pid, 0), 0);
}

static void
test_normal_build_succeeds_after_abuse (void **state)
{
    e2e_fixture_t *fx = *state;
    //  Abuse first, on the same daemon.
    const unsigned char huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00 };
    s_expect_error (fx->daemon.endpoint, huge_map, sizeof huge_map,
                    PROTO_ERR_BAD_REQUEST, NULL);
    //  Then real agents over a small suite.
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf (name, sizeof name, "t%02d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=1\n");
    }
    char tags[2][8];
    for (int n = 0; n < 2; n++) {
        snprintf (tags[n], sizeof tags[n], "n%d", n);
        e2e_agent_t agent = { .tag = tags[n], .suite = "after-abuse", .build = "b1", .index = n,
                              .total = 2, .commit = "x", .branch = "y", .pattern = "*_test.txt" };
        e2e_fixture_agent (fx, &agent);
    }
    int lines = 0;
    for (int n = 0; n < 2; n++) {
        e2e_fixture_expect_exit (fx, tags[n], 0);
        char *text = e2e_fixture_text (fx, "%s.ran", tags[n]);
        lines += harness_count (text, "\n");
        free (text);
    }
    assert_int_equal (lines, 12);
}

static void
test_retried_request_gets_the_same_reply (void **state)
{
    e2e_fixture_t *fx = *state;
    const char *endpoint = fx->daemon.endpoint;
    zsock_t *socket = e2e_connect (endpoint);
    proto_msg_t *join = s_join_msg ("idem1", 1, "idem", 0, 1);
    char *data = NULL;
    size_t size = 0, reply_size = 0;
    assert_int_equal (proto_encode (join, &data, &size), 0);
    char *reply = s_exchange (socket, data, size, &reply_size);
    proto_msg_t *msg = s_decode (reply, reply_size);
    assert_int_equal (msg->type, PROTO_JOINED);
    proto_msg_destroy (&msg);
    free (reply);
    free (data);
    proto_msg_destroy (&join);

    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, "idem1");
    next->req = 2;
    assert_int_equal (proto_encode (next, &data, &size), 0);
    size_t first_size = 0;
    char *first = s_exchange (socket, data, size, &first_size);
    msg = s_decode (first, first_size);
    assert_int_equal (msg->type, PROTO_BATCH);
    proto_msg_destroy (&msg);
    //  The reply "was lost": a fresh socket resends the same request.
    zsock_destroy (&socket);
    socket = e2e_connect (endpoint);
    size_t second_size = 0;
    char *second = s_exchange (socket, data, size, &second_size);
    assert_int_equal (first_size, second_size);
    assert_memory_equal (first, second, first_size);
    //  ...and only one batch exists for that node.
    assert_int_equal (e2e_fixture_int (fx, "SELECT count(*) FROM batches b JOIN builds d "
                                           "ON d.id = b.build_id WHERE d.build_key = 'idem'"), 1);
    //  An older request number is refused as stale, not answered with work.
    free (data);
    next->req = 1;
    assert_int_equal (proto_encode (next, &data, &size), 0);
    size_t stale_size = 0;
    char *stale = s_exchange (socket, data, size, &stale_size);
    msg = s_decode (stale, stale_size);
    assert_int_equal (msg->type, PROTO_ERROR);
    assert_string_equal (msg->code, PROTO_ERR_STALE);
    proto_msg_destroy (&msg);
    free (stale);
    free (first);
    free (second);
    free (data);
    proto_msg_destroy (&next);
    zsock_destroy (&socket);

    //  next from an attempt that never joined.
    next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, "neverjoined");
    next->req = 1;
    assert_int_equal (proto_encode (next, &data, &size), 0);
    s_expect_error (endpoint, data, size, PROTO_ERR_UNKNOWN_ATTEMPT, "attempt");
    free (data);
    proto_msg_destroy (&next);
}

static void
test_batch_is_durable_before_its_reply (void **state)
{
    e2e_fixture_t *fx = *state;
    zsock_t *socket = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *join = s_join_msg ("durable1", 1, "durable", 0, 2);
    char *data = NULL;
    size_t size = 0, reply_size = 0;
    assert_int_equal (proto_encode (join, &data, &size), 0);
    char *reply = s_exchange (socket, data, size, &reply_size);
    free (reply);
    free (data);
    proto_msg_destroy (&join);
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, "durable1");
    next->req = 2;
    assert_int_equal (proto_encode (next, &data, &size), 0);
    reply = s_exchange (socket, data, size, &reply_size);
    //  The moment the reply is here, kill -9 the daemon: no chance to
    //  commit anything after the reply went out.
    kill (fx->daemon.pid, SIGKILL);
    waitpid (fx->daemon.pid, NULL, 0);
    fx->daemon.pid = 0;
    proto_msg_t *msg = s_decode (reply, reply_size);
    assert_int_equal (msg->type, PROTO_BATCH);
    char sql[512];
    snprintf (sql, sizeof sql,
              "SELECT count(*) FROM batch_units bu JOIN batches b ON b.id = bu.batch_id "
              "JOIN builds d ON d.id = b.build_id WHERE d.build_key = 'durable' AND b.seq = %u",
              msg->batch);
    assert_int_equal (e2e_db_int (fx->daemon.db, sql), (int64_t) msg->unit_count);

    //  The reply "was lost" with the daemon: the same request, sent again
    //  to the daemon started again, gets the same batch, made again from
    //  the batch's row (the attempt's row is not rewritten for each batch).
    zsock_destroy (&socket);
    assert_int_equal (harness_daemon_restart (&fx->daemon, NULL), 0);
    socket = e2e_connect (fx->daemon.endpoint);
    size_t again_size = 0;
    char *again = s_exchange (socket, data, size, &again_size);
    proto_msg_t *same = s_decode (again, again_size);
    assert_int_equal (same->type, PROTO_BATCH);
    assert_string_equal (same->attempt, "durable1");
    assert_int_equal (same->req, 2);
    assert_int_equal (same->batch, msg->batch);
    assert_int_equal (same->lease, msg->lease);
    assert_int_equal (same->kind, msg->kind);
    assert_int_equal (same->unit_count, msg->unit_count);
    for (size_t i = 0; i < msg->unit_count; i++)
        assert_string_equal (same->units[i], msg->units[i]);
    //  ...and no second batch was made for it.
    assert_int_equal (e2e_db_int (fx->daemon.db, "SELECT count(*) FROM batches b JOIN builds d "
                                                 "ON d.id = b.build_id WHERE d.build_key = 'durable'"),
                      1);
    proto_msg_destroy (&same);
    free (again);
    proto_msg_destroy (&msg);
    proto_msg_destroy (&next);
    free (reply);
    free (data);
    zsock_destroy (&socket);
    harness_daemon_stop (&fx->daemon);
}

//  A next of attempt, req, that lets the daemon hold a wait reply park_ms.
static proto_msg_t *
s_next_msg (const char *attempt, uint64_t req, uint64_t park_ms)
{
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    proto_msg_set_str (&next->attempt, attempt);
    next->req = req;
    next->park_ms = park_ms;
    return next;
}

//  A node with nothing left to do while another holds the last batch:
//  asked with park_ms, its next is held, not answered wait; answered wait
//  when its park_ms are up; and answered done the moment the other
//  node's report ends the build, long before its time would be up.
static void
test_waiting_next_is_held_until_the_build_ends (void **state)
{
    e2e_fixture_t *fx = *state;
    zsock_t *a = e2e_connect (fx->daemon.endpoint);
    zsock_t *b = e2e_connect (fx->daemon.endpoint);
    proto_msg_t *msg = s_join_msg ("parkA", 1, "park", 0, 2);
    proto_msg_t *reply = e2e_call (a, msg);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&msg);
    msg = s_join_msg ("parkB", 1, "park", 1, 2);
    reply = e2e_call (b, msg);
    assert_int_equal (reply->type, PROTO_JOINED);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&msg);

    //  A takes a batch and holds it.
    msg = s_next_msg ("parkA", 2, 0);
    proto_msg_t *held = e2e_call (a, msg);
    proto_msg_destroy (&msg);
    assert_int_equal (held->type, PROTO_BATCH);
    //  B runs what is left, each next held up to 300 ms. Its last report
    //  rides on a next that finds nothing left while A runs: held its
    //  300 ms, then answered wait, to ask again at once.
    uint64_t req = 2;
    msg = s_next_msg ("parkB", req, 300);
    int64_t asked = 0;
    for (int i = 0; i < 10; i++) {
        asked = harness_now_ms ();
        e2e_send (b, msg);
        proto_msg_destroy (&msg);
        reply = e2e_reply_within (b, 10000);
        assert_non_null (reply);
        if (reply->type == PROTO_WAIT)
            break;
        assert_int_equal (reply->type, PROTO_BATCH);
        msg = e2e_report ("parkB", ++req, reply->batch, reply->lease, reply->unit_count, 0);
        msg->park_ms = 300;
        proto_msg_destroy (&reply);
    }
    assert_int_equal (reply->type, PROTO_WAIT);
    assert_true (harness_now_ms () - asked >= 300);
    assert_int_equal (reply->retry_ms, 1);
    proto_msg_destroy (&reply);

    //  Held for up to 20 s: no reply while A still runs.
    msg = s_next_msg ("parkB", ++req, 20000);
    e2e_send (b, msg);
    proto_msg_destroy (&msg);
    assert_null (e2e_reply_within (b, 300));
    //  A's report ends the build; B's held next is answered done at once
    //  (well within the 10 s this waits, half the 20 s it was held for).
    msg = e2e_report ("parkA", 3, held->batch, held->lease, held->unit_count, 0);
    reply = e2e_call (a, msg);
    proto_msg_destroy (&msg);
    assert_int_equal (reply->type, PROTO_DONE);
    proto_msg_destroy (&reply);
    reply = e2e_reply_within (b, 10000);
    assert_non_null (reply);
    assert_int_equal (reply->type, PROTO_DONE);
    assert_string_equal (reply->reason, "complete");
    assert_int_equal (reply->req, req);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&held);
    zsock_destroy (&a);
    zsock_destroy (&b);
    //  Answered because A's report changed the build, not because a
    //  recheck came round: the first held next's time ran out, the
    //  second's did not. Each was handled again only a few times (its
    //  recheck, its answer): a held next that carried a report does not
    //  count as a change of its build each time it is looked at.
    char *log = harness_read_file (fx->daemon.log);
    assert_non_null (log);
    assert_non_null (strstr (log, "next_parked build=park node=1"));
    const char *whys[] = { "why=time_up", "why=build_changed" };
    const char *line = log;
    for (size_t i = 0; i < 2; i++) {
        line = strstr (line, "parked_answered");
        assert_non_null (line);
        size_t length = strcspn (line, "\n");
        char *text = strndup (line, length);
        assert_non_null (strstr (text, whys[i]));
        const char *handled = strstr (text, "handled=");
        assert_non_null (handled);
        assert_true (atoi (handled + 8) >= 1 && atoi (handled + 8) <= 3);
        free (text);
        line += length;
    }
    assert_null (strstr (line, "parked_answered"));
    free (log);
}

int
main (void)
{
    zsys_handler_set (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_hostile_frames_get_error_replies, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_normal_build_succeeds_after_abuse, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_retried_request_gets_the_same_reply, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_batch_is_durable_before_its_reply, s_setup,
                                         e2e_fixture_teardown),
        cmocka_unit_test_setup_teardown (test_waiting_next_is_held_until_the_build_ends, s_setup,
                                         e2e_fixture_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
