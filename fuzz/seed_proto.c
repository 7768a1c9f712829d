/*  seed_proto.c: writes the seed corpus of fuzz_proto: every message type
    as proto_encode writes it (the frames agents and daemon really
    exchange), and a few hostile frames written by hand (the msgpack-c
    issue #1013 headers, deep nesting, ext, trailing bytes).

        seed_proto FOLDER

    Run once to make fuzz/corpus/proto/; the corpus committed there is
    these seeds after fuzzing and minimising (fuzz/README.md). Built in
    every build so that it keeps compiling as the protocol changes.       */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_folder;

static void
s_save (const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/seed_%s", s_folder, name);
    FILE *file = fopen (path, "wbe");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0) {
        fprintf (stderr, "seed_proto: cannot write %s\n", path);
        exit (1);
    }
}

//  Encode msg, save it under name, destroy it.
static void
s_save_msg (const char *name, proto_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    if (proto_encode (msg, &data, &size) != 0) {
        fprintf (stderr, "seed_proto: %s does not encode\n", name);
        exit (1);
    }
    s_save (name, data, size);
    free (data);
    proto_msg_destroy (&msg);
}

static proto_msg_t *
s_request (proto_type_t type, uint64_t req)
{
    proto_msg_t *msg = proto_msg_new (type);
    proto_msg_set_str (&msg->attempt, "a1b2-c3_d4");
    msg->req = req;
    return msg;
}

static proto_msg_t *
s_join (const char *const *units, size_t count)
{
    proto_msg_t *msg = s_request (PROTO_JOIN, 1);
    proto_msg_set_str (&msg->suite, "web/rspec");
    proto_msg_set_str (&msg->build, "pipeline-8812");
    msg->node_index = 1;
    msg->node_total = 3;
    proto_msg_set_str (&msg->commit, "3f2a9c0e");
    proto_msg_set_str (&msg->branch, "main");
    proto_msg_set_str (&msg->mode, "queue");
    proto_msg_set_units (msg, units, count);
    char digest[PROTO_DIGEST_LEN + 1];
    proto_digest (units, count, digest);
    proto_msg_set_str (&msg->digest, digest);
    return msg;
}

static void
s_requests (void)
{
    static const char *const units[] = {
        "spec/a_spec.rb", "spec/b_spec.rb", "spec/models/user_spec.rb"
    };
    s_save_msg ("join", s_join (units, 3));

    proto_msg_t *msg = s_join (units, 3);
    proto_msg_set_str (&msg->build, "");
    proto_msg_set_str (&msg->mode, "regular");
    msg->fixed_split = msg->only_failed = msg->no_wait = msg->fail_fast = true;
    msg->fresh_split = msg->can_list = true;
    msg->slow_ms = 30000;
    s_save_msg ("join_options", msg);

    msg = s_join (units, 3);
    msg->can_list = msg->listed = true;
    static const char *const examples[] = {
        "spec/models/user_spec.rb[1:1]", "spec/models/user_spec.rb[1:2]", "spec/a_spec.rb::x"
    };
    static const uint32_t files[] = { 2, 2, 0 };
    proto_msg_set_examples (msg, examples, files, 3);
    s_save_msg ("join_listed", msg);

    s_save_msg ("next_first", s_request (PROTO_NEXT, 2));

    msg = s_request (PROTO_NEXT, 3);
    msg->has_report = true;
    msg->report_batch = 1;
    msg->report_wall_ms = 5210;
    msg->report_exit = 1;
    static uint64_t times[] = { 1200, 4000, 10 };
    msg->report_times_ms = malloc (sizeof times);
    memcpy (msg->report_times_ms, times, sizeof times);
    msg->report_time_count = 3;
    msg->report_lease = 7;
    msg->report_status = malloc (3);
    memcpy (msg->report_status, (uint8_t []) { 0, 1, 2 }, 3);
    msg->report_runs = 2;
    s_save_msg ("next_report", msg);

    msg = s_request (PROTO_NEXT, 4);
    msg->has_report = true;
    msg->report_batch = 2;
    msg->report_exit = -9;
    msg->report_lease = 8;
    msg->report_returned = true;
    s_save_msg ("next_returned", msg);

    msg = s_request (PROTO_HEARTBEAT, 5);
    msg->batch = 2;
    msg->lease = 8;
    s_save_msg ("heartbeat", msg);

    static const char *const imported[] = { "t/a.py", "t/a.py::T::x", "t/b.py" };
    msg = s_request (PROTO_IMPORT, 1);
    proto_msg_set_str (&msg->suite, "api");
    proto_msg_set_units (msg, imported, 3);
    msg->times_ms = malloc (3 * sizeof (uint64_t));
    memcpy (msg->times_ms, (uint64_t []) { 900, 400, 1 }, 3 * sizeof (uint64_t));
    msg->parent = malloc (3 * sizeof (uint32_t));
    memcpy (msg->parent, (uint32_t []) { 0, 1, 0 }, 3 * sizeof (uint32_t));
    s_save_msg ("import", msg);
}

static void
s_replies (void)
{
    proto_msg_t *msg = s_request (PROTO_JOINED, 1);
    msg->units_total = 320;
    msg->node_total = 3;
    msg->created = true;
    msg->replay = 2;
    msg->heartbeat_ms = 10000;
    msg->known = 300;
    msg->examples_total = 12;
    s_save_msg ("joined", msg);

    static const char *const slow[] = { "spec/models/user_spec.rb" };
    msg = s_request (PROTO_EXPAND, 1);
    proto_msg_set_units (msg, slow, 1);
    s_save_msg ("expand", msg);

    msg = s_request (PROTO_IMPORTED, 1);
    msg->units_total = 3;
    s_save_msg ("imported", msg);

    msg = s_request (PROTO_STATUS, 1);
    s_save_msg ("status", msg);

    msg = s_request (PROTO_DAEMON_STATUS, 1);
    proto_msg_set_str (&msg->version, "0.1.0");
    msg->uptime_s = 3600;
    msg->builds_running = 2;
    msg->agents_seen = 16;
    msg->requests_total = 5000;
    msg->requests_minute = 120;
    msg->db_bytes = 1 << 20;
    s_save_msg ("daemon_status", msg);

    msg = s_request (PROTO_ADMIN, 3);
    proto_msg_set_str (&msg->action, "fetch");
    msg->job = 2;
    msg->offset = 1048576;
    s_save_msg ("admin_fetch", msg);

    msg = s_request (PROTO_ADMIN_JOB, 3);
    msg->job = 2;
    proto_msg_set_str (&msg->action, "backup");
    proto_msg_set_str (&msg->state, "done");
    proto_msg_set_str (&msg->message, "ok");
    msg->size = 20;
    msg->offset = 4;
    msg->data = (uint8_t *) strdup ("SQLite format 3");
    msg->data_size = 15;
    s_save_msg ("admin_job", msg);

    msg = s_request (PROTO_QUERY, 1);
    proto_msg_set_str (&msg->what, "builds");
    proto_msg_set_str (&msg->suite, "web");
    msg->limit = 20;
    s_save_msg ("query", msg);

    msg = s_request (PROTO_QUERY, 2);
    proto_msg_set_str (&msg->what, "export");
    proto_msg_set_str (&msg->suite, "web");
    msg->limit = 10000;
    msg->since_ms = 1795000000000;
    msg->after = 5;
    s_save_msg ("query_export", msg);

    msg = s_request (PROTO_QUERY, 3);
    proto_msg_set_str (&msg->what, "trend");
    proto_msg_set_str (&msg->suite, "web");
    proto_msg_set_str (&msg->unit, "spec/a_spec.rb");
    s_save_msg ("query_trend", msg);

    msg = s_request (PROTO_FALLBACK, 1);
    proto_msg_set_str (&msg->suite, "web");
    proto_msg_set_str (&msg->build, "ci-7");
    msg->node_index = 1;
    msg->node_total = 4;
    msg->units_total = 12;
    s_save_msg ("fallback", msg);

    msg = s_request (PROTO_QUERY_RESULT, 1);
    msg->data = (uint8_t *) strdup ("{\"builds\": []}");
    msg->data_size = 14;
    s_save_msg ("query_result", msg);

    static const char *const batch[] = { "spec/b_spec.rb", "spec/a_spec.rb" };
    for (int kind = PROTO_KIND_QUEUE; kind <= PROTO_KIND_LAST; kind++) {
        msg = s_request (PROTO_BATCH, 2);
        msg->batch = 1;
        proto_msg_set_units (msg, batch, 2);
        msg->predicted_ms = malloc (2 * sizeof (uint64_t));
        memcpy (msg->predicted_ms, (uint64_t []) { 4000, 0 }, 2 * sizeof (uint64_t));
        msg->lease = 7;
        msg->kind = (proto_kind_t) kind;
        char name[32];
        snprintf (name, sizeof name, "batch_%s", proto_kind_name ((proto_kind_t) kind));
        s_save_msg (name, msg);
    }

    msg = s_request (PROTO_WAIT, 2);
    msg->retry_ms = 500;
    msg->units_done = 10;
    msg->units_total = 320;
    s_save_msg ("wait", msg);

    msg = s_request (PROTO_ACK, 5);
    msg->held = true;
    msg->stop = true;
    s_save_msg ("ack", msg);

    msg = s_request (PROTO_DONE, 9);
    msg->units_done = msg->units_total = 320;
    proto_msg_set_str (&msg->reason, "complete");
    msg->failed = 1;
    msg->flaky = 2;
    s_save_msg ("done", msg);

    s_save_msg ("error", proto_error_new ("a1b2", 3, PROTO_ERR_LIST_MISMATCH, "units",
                                          "the test list differs from the build's"));
    s_save_msg ("error_bare", proto_error_new (NULL, 0, PROTO_ERR_BAD_REQUEST, "",
                                               "the message is not valid msgpack"));
}

//  Frames no encoder writes: each is refused, for a different reason.
static void
s_hostile (void)
{
    //  msgpack-c issue #1013: headers claiming four billion items.
    s_save ("array32_huge", (const uint8_t []) { 0xdd, 0xff, 0xff, 0xff, 0xff }, 5);
    s_save ("map32_huge", (const uint8_t []) { 0xdf, 0xff, 0xff, 0xff, 0xff }, 5);
    s_save ("str32_huge", (const uint8_t []) { 0xdb, 0xff, 0xff, 0xff, 0xff }, 5);
    s_save ("bin32_huge", (const uint8_t []) { 0xc6, 0x7f, 0xff, 0xff, 0xff }, 5);
    uint8_t deep[40];
    memset (deep, 0x91, sizeof deep);   //  arrays of one array, ...
    deep[sizeof deep - 1] = 0xc0;
    s_save ("deep", deep, sizeof deep);
    s_save ("ext", (const uint8_t []) { 0x81, 0xa1, 'v', 0xd4, 0x01, 0x00 }, 6);
    s_save ("never_used", (const uint8_t []) { 0x81, 0xa1, 'v', 0xc1 }, 4);
    s_save ("trailing", (const uint8_t []) { 0x81, 0xa1, 'v', 0x01, 0x00 }, 5);
    s_save ("not_a_map", (const uint8_t []) { 0x92, 0x01, 0x02 }, 3);
    s_save ("int_key", (const uint8_t []) { 0x81, 0x01, 0x01 }, 3);
    s_save ("duplicate_v", (const uint8_t []) { 0x82, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01 }, 7);
    s_save ("version_2", (const uint8_t []) { 0x82, 0xa1, 'v', 0x02, 0xa4, 't', 'y', 'p', 'e',
                                              0xa4, 'j', 'o', 'i', 'n' }, 14);
    s_save ("type_unknown", (const uint8_t []) { 0x82, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p',
                                                 'e', 0xa3, 'z', 0x00, 0x1b }, 13);
    s_save ("empty", "", 0);

    //  Over the tight limits' object count (4 * 64 + 4096) with every
    //  container within their 64 elements: two keys, each 60 arrays of
    //  60 nils.
    static uint8_t many[1 + 2 * (2 + 3 + 60 * (3 + 60))];
    size_t used = 0;
    many[used++] = 0x82;
    for (int key = 0; key < 2; key++) {
        many[used++] = 0xa1;
        many[used++] = (uint8_t) ('x' + key);
        many[used++] = 0xdc;            //  array16 of 60
        many[used++] = 0;
        many[used++] = 60;
        for (int i = 0; i < 60; i++) {
            many[used++] = 0xdc;
            many[used++] = 0;
            many[used++] = 60;
            memset (many + used, 0xc0, 60);
            used += 60;
        }
    }
    s_save ("many_objects", many, used);
}

//  Frames an encoder writes but the decoder refuses for their values (the
//  encoder does not validate): each reaches a check deep in a message.
static void
s_refused (void)
{
    proto_msg_t *msg = s_request (PROTO_NEXT, 3);
    msg->has_report = true;
    msg->report_batch = 1;
    msg->report_lease = 7;
    msg->report_times_ms = malloc (sizeof (uint64_t));
    msg->report_times_ms[0] = PROTO_DURATION_MS_MAX + 1;
    msg->report_time_count = 1;
    s_save_msg ("refused_report_time", msg);

    static const char *const units[] = { "t/a.py", "t/a.py::x" };
    msg = s_request (PROTO_IMPORT, 1);
    proto_msg_set_str (&msg->suite, "api");
    proto_msg_set_units (msg, units, 2);
    msg->times_ms = malloc (2 * sizeof (uint64_t));
    memcpy (msg->times_ms, (uint64_t []) { 1, PROTO_DURATION_MS_MAX + 1 }, 2 * sizeof (uint64_t));
    msg->parent = malloc (2 * sizeof (uint32_t));
    memcpy (msg->parent, (uint32_t []) { 0, 2 }, 2 * sizeof (uint32_t));
    s_save_msg ("refused_import", msg);

    static const char *const one[] = { "a" };
    msg = s_join (one, 1);
    msg->node_index = 3;
    s_save_msg ("refused_join_index", msg);
}

int
main (int argc, char *argv[])
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s FOLDER\n", argv[0]);
        return 2;
    }
    s_folder = argv[1];
    s_requests ();
    s_replies ();
    s_hostile ();
    s_refused ();
    return 0;
}
