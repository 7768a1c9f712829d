/*  bench_throughput_loadgen.c: bench_throughput's load generator. One
    process drives one REQ socket per node, one request outstanding each
    (zmq_poll), speaking common/proto.h: join with the sorted unit list and
    its digest, then next -> batch -> next with the report of that batch
    (times all 0, wall 0, exit 0) until done. The nodes are spread over
    one or more builds (node i in build i mod builds). Without a think
    time each node asks again at once (saturation); with one, it waits an
    exponentially distributed pause of that mean after each reply, so the
    daemon is offered nodes x 1000 / think requests a second (a farm).    */
#include "bench_throughput.h"
#include "bench_util.h"
#include "proto.h"
#include "test_rng.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

static int
s_compare_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

typedef struct {
    void *socket;                //  REQ socket to satcheld
    char attempt[48];            //  this node's attempt id
    uint64_t req;                //  last request number sent
    uint32_t batch;              //  batch to report with the next request (0: none)
    size_t batch_units;          //  its unit count
    uint64_t lease;              //  its lease number
    int64_t sent_us;             //  when the outstanding request went out
    bool waiting;                //  a request is outstanding
    bool due;                    //  a request is to go out at due_us (think time)
    int64_t due_us;              //  monotonic
    bool done;                   //  got done
} node_t;

static int
s_send (node_t *node, proto_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    proto_msg_set_str (&msg->attempt, node->attempt);
    msg->req = ++node->req;
    if (proto_encode (msg, &data, &size) != 0) {
        fprintf (stderr, "bench_throughput: cannot encode %s\n", proto_type_name (msg->type));
        return -1;
    }
    int rc = zmq_send (node->socket, data, size, 0) == (int) size ? 0 : -1;
    free (data);
    if (rc != 0)
        fprintf (stderr, "bench_throughput: send: %s\n", zmq_strerror (zmq_errno ()));
    node->sent_us = util_mono_us ();
    node->waiting = rc == 0;
    return rc;
}

static int
s_send_next (node_t *node, uint64_t *zeros)
{
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    if (node->batch > 0) {
        next->has_report = true;
        next->report_batch = node->batch;
        next->report_lease = node->lease;
        next->report_wall_ms = 0;
        next->report_exit = 0;
        next->report_time_count = node->batch_units;
        //  Borrowed for encoding only; detached before destroy.
        next->report_times_ms = zeros;
    }
    int rc = s_send (node, next);
    next->report_times_ms = NULL;
    proto_msg_destroy (&next);
    return rc;
}

//  Receive one reply. Returns the decoded message or NULL (message printed).
static proto_msg_t *
s_receive (node_t *node, const proto_limits_t *limits)
{
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (zmq_msg_recv (&frame, node->socket, 0) < 0) {
        fprintf (stderr, "bench_throughput: recv: %s\n", zmq_strerror (zmq_errno ()));
        zmq_msg_close (&frame);
        return NULL;
    }
    node->waiting = false;
    proto_error_t err;
    proto_msg_t *msg = proto_decode (zmq_msg_data (&frame), zmq_msg_size (&frame), limits, &err);
    zmq_msg_close (&frame);
    if (!msg)
        fprintf (stderr, "bench_throughput: unreadable reply: %s\n", err.message);
    else if (msg->type == PROTO_ERROR) {
        fprintf (stderr, "bench_throughput: error reply: %s: %s\n", msg->code, msg->message);
        proto_msg_destroy (&msg);
    }
    return msg;
}

//  Which nodes have a reply waiting: one zmq_poll finds every node ready
//  at that moment, and they are served in turn before the next poll. A
//  poll a reply costs as much as all the sockets: with 256 of them the
//  load generator, not the daemon, was what was measured.
typedef struct {
    unsigned cursor;             //  the next scan starts here
    unsigned ready[AGENTS_MAX];  //  found ready by the last poll
    unsigned ready_count;        //  how many
    unsigned served;             //  of which handed out
} poller_t;

//  One node with a reply: one the last poll found and not yet served (its
//  reply is there, whatever the time), else wait for one, at most STALL_MS
//  and never past deadline_us, nor past wake_us (0: no wake-up). A scan
//  starts after the node found last, so no node is always served first.
//  Returns the node's index, -2 at wake_us, -1 on timeout or error.
static int
s_poll (node_t *nodes, unsigned count, poller_t *poller, int64_t deadline_us, int64_t wake_us)
{
    while (poller->served < poller->ready_count) {
        unsigned i = poller->ready[poller->served++];
        if (nodes[i].waiting)
            return (int) i;
    }
    static zmq_pollitem_t items[AGENTS_MAX];
    static unsigned map[AGENTS_MAX];
    unsigned n_items = 0;
    for (unsigned j = 0; j < count; j++) {
        unsigned i = (poller->cursor + j) % count;
        if (nodes[i].waiting) {
            items[n_items] = (zmq_pollitem_t) { nodes[i].socket, 0, ZMQ_POLLIN, 0 };
            map[n_items++] = i;
        }
    }
    if (n_items == 0 && wake_us == 0)
        return -1;
    int64_t stall_until = util_mono_us () + (int64_t) STALL_MS * 1000;
    if (stall_until > deadline_us)
        stall_until = deadline_us;
    while (true) {
        int64_t now = util_mono_us ();
        if (wake_us > 0 && now >= wake_us)
            return -2;
        int64_t left = (stall_until - now) / 1000;
        if (left <= 0)
            return -1;
        if (wake_us > 0 && (wake_us - now + 999) / 1000 < left)
            left = (wake_us - now + 999) / 1000;
        int rc = zmq_poll (items, (int) n_items, (long) (left > 1000 ? 1000 : left));
        if ((rc < 0 && zmq_errno () != EINTR) || bench_interrupted ())
            return -1;
        poller->ready_count = poller->served = 0;
        for (unsigned k = 0; rc > 0 && k < n_items; k++)
            if (items[k].revents & ZMQ_POLLIN)
                poller->ready[poller->ready_count++] = map[k];
        if (poller->ready_count > 0) {
            poller->cursor = poller->ready[poller->ready_count - 1] + 1;
            return (int) poller->ready[poller->served++];
        }
    }
}

//  An exponentially distributed pause of mean_ms, in microseconds.
static int64_t
s_think_us (test_rng_t *rng, double mean_ms)
{
    return (int64_t) (-log (test_rng_unit (rng)) * mean_ms * 1000.0);
}

//  Room for count sockets: ZeroMQ's own limit (1,023 by default) and this
//  process's open files, raised to the hard limit. Returns 0, or -1.
static int
s_room_for (void *ctx, unsigned count)
{
    if (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, (int) count + 16) != 0)
        return -1;
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return -1;
    rlim_t want = (rlim_t) count * 2 + 256;
    if (limit.rlim_cur < want) {
        limit.rlim_cur = limit.rlim_max < want ? limit.rlim_max : want;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur >= want ? 0 : -1;
}

int
throughput_loadgen (const char *endpoint, char **names, unsigned unit_count,
                    unsigned agent_count, pid_t daemon_pid, throughput_case_t *result)
{
    proto_limits_t limits;
    proto_limits_default (&limits);
    void *ctx = zmq_ctx_new ();
    static node_t nodes[AGENTS_MAX];
    memset (nodes, 0, sizeof nodes);
    unsigned builds = result->builds > 0 ? result->builds : 1;
    test_rng_t rng = { 0x5EEDull + agent_count };
    size_t latency_count = 0;
    size_t latency_alloc = (size_t) unit_count * builds + agent_count + 16;
    int64_t *latency = util_calloc (latency_alloc, sizeof (int64_t));
    uint64_t *zeros = util_calloc (PROTO_DEFAULT_MAX_UNITS, sizeof (uint64_t));
    char digest[PROTO_DIGEST_LEN + 1];
    proto_msg_t *join = NULL;
    int rc = -1;
    if (!ctx)
        goto cleanup;
    if (s_room_for (ctx, agent_count) != 0) {
        fprintf (stderr, "bench_throughput: no room for %u sockets (ZMQ_MAX_SOCKETS, "
                         "RLIMIT_NOFILE)\n", agent_count);
        goto cleanup;
    }
    int64_t deadline = util_mono_us () + (int64_t) CASE_DEADLINE_MS * 1000;
    for (unsigned i = 0; i < agent_count; i++) {
        nodes[i].socket = zmq_socket (ctx, ZMQ_REQ);
        if (!nodes[i].socket) {
            fprintf (stderr, "bench_throughput: socket: %s\n", zmq_strerror (zmq_errno ()));
            goto cleanup;
        }
        int linger = 0;
        zmq_setsockopt (nodes[i].socket, ZMQ_LINGER, &linger, sizeof linger);
        snprintf (nodes[i].attempt, sizeof nodes[i].attempt, "bench-%d-%u", (int) getpid (), i);
        if (zmq_connect (nodes[i].socket, endpoint) != 0) {
            fprintf (stderr, "bench_throughput: connect %s: %s\n", endpoint,
                     zmq_strerror (zmq_errno ()));
            goto cleanup;
        }
    }

    //  Join every node (untimed): the first join creates the build.
    proto_digest ((const char *const *) names, unit_count, digest);
    join = proto_msg_new (PROTO_JOIN);
    proto_msg_set_str (&join->suite, "bench-throughput");
    proto_msg_set_str (&join->commit, "bench");
    proto_msg_set_str (&join->branch, "bench");
    proto_msg_set_str (&join->mode, "queue");
    //  Load, not a farm: a client is done when the queue is empty.
    join->no_wait = true;
    proto_msg_set_str (&join->digest, digest);
    //  The names are borrowed for encoding; detached before destroy.
    join->units = names;
    join->unit_count = unit_count;
    for (unsigned i = 0; i < agent_count; i++) {
        //  Node i is node i / builds of build i mod builds.
        char key[32];
        snprintf (key, sizeof key, "throughput-%u", i % builds + 1);
        proto_msg_set_str (&join->build, key);
        join->node_index = i / builds;
        join->node_total = agent_count / builds + (i % builds < agent_count % builds);
        if (s_send (&nodes[i], join) != 0)
            goto cleanup;
    }
    static poller_t poller;
    memset (&poller, 0, sizeof poller);
    for (unsigned joined = 0; joined < agent_count; joined++) {
        int i = s_poll (nodes, agent_count, &poller, deadline, 0);
        if (i < 0) {
            fprintf (stderr, "bench_throughput: no joined reply in time\n");
            goto cleanup;
        }
        proto_msg_t *reply = s_receive (&nodes[i], &limits);
        bool good = reply && reply->type == PROTO_JOINED && reply->units_total == unit_count;
        proto_msg_destroy (&reply);
        if (!good) {
            fprintf (stderr, "bench_throughput: join of node %d failed\n", i);
            goto cleanup;
        }
    }

    //  The timed window: first next to last done.
    double daemon_cpu0 = bench_proc_cpu (daemon_pid);
    double loop_cpu0 = bench_main_thread_cpu (daemon_pid);
    double written0 = bench_proc_written (daemon_pid);
    double self_cpu0 = bench_self_cpu ();
    int64_t start = util_mono_us ();
    for (unsigned i = 0; i < agent_count; i++) {
        if (result->think_ms > 0) {
            //  The first requests spread like the later ones, not all at once.
            nodes[i].due = true;
            nodes[i].due_us = start + s_think_us (&rng, result->think_ms);
        }
        else
        if (s_send_next (&nodes[i], zeros) != 0)
            goto cleanup;
    }
    unsigned done = 0;
    while (done < agent_count) {
        //  Send what is due; wake for the next one that is not.
        int64_t now = util_mono_us (), wake = 0;
        for (unsigned k = 0; k < agent_count; k++) {
            if (!nodes[k].due)
                continue;
            if (nodes[k].due_us <= now) {
                nodes[k].due = false;
                if (s_send_next (&nodes[k], zeros) != 0)
                    goto cleanup;
            }
            else
            if (wake == 0 || nodes[k].due_us < wake)
                wake = nodes[k].due_us;
        }
        int i = s_poll (nodes, agent_count, &poller, deadline, wake);
        if (i == -2)
            continue;
        if (i < 0 && bench_interrupted ())
            goto cleanup;
        if (i < 0) {
            fprintf (stderr, "bench_throughput: no reply for %d ms or past the deadline; "
                             "%u of %u nodes done, %" PRIu64 " batches\n",
                     STALL_MS, done, agent_count, result->batches);
            goto cleanup;
        }
        node_t *node = &nodes[i];
        proto_msg_t *reply = s_receive (node, &limits);
        if (!reply)
            goto cleanup;
        if (latency_count < latency_alloc)
            latency[latency_count++] = util_mono_us () - node->sent_us;
        result->requests++;
        if (reply->type == PROTO_BATCH) {
            result->batches++;
            result->units_got += reply->unit_count;
            node->batch = reply->batch;
            node->batch_units = reply->unit_count;
            node->lease = reply->lease;
            proto_msg_destroy (&reply);
            if (result->think_ms > 0) {
                node->due = true;
                node->due_us = util_mono_us () + s_think_us (&rng, result->think_ms);
            }
            else
            if (s_send_next (node, zeros) != 0)
                goto cleanup;
        }
        else if (reply->type == PROTO_DONE) {
            node->done = true;
            done++;
            proto_msg_destroy (&reply);
        }
        else {
            fprintf (stderr, "bench_throughput: unexpected %s reply\n",
                     proto_type_name (reply->type));
            proto_msg_destroy (&reply);
            goto cleanup;
        }
    }
    result->elapsed_us = util_mono_us () - start;
    result->daemon_cpu = bench_proc_cpu (daemon_pid) - daemon_cpu0;
    double loop_cpu1 = bench_main_thread_cpu (daemon_pid);
    result->loop_cpu = loop_cpu0 >= 0 && loop_cpu1 >= 0 ? loop_cpu1 - loop_cpu0 : -1;
    result->daemon_written = bench_proc_written (daemon_pid) - written0;
    result->self_cpu = bench_self_cpu () - self_cpu0;
    qsort (latency, latency_count, sizeof (int64_t), s_compare_i64);
    if (latency_count > 0) {
        result->p50_ms = (double) latency[latency_count / 2] / 1000.0;
        result->p99_ms = (double) latency[(latency_count * 99) / 100] / 1000.0;
    }
    if (result->units_got != (uint64_t) unit_count * builds) {
        fprintf (stderr, "bench_throughput: %" PRIu64 " units handed out for %u in %u build%s\n",
                 result->units_got, unit_count, builds, builds == 1 ? "" : "s");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (join) {
        join->units = NULL;
        join->unit_count = 0;
        proto_msg_destroy (&join);
    }
    for (unsigned i = 0; i < agent_count; i++)
        if (nodes[i].socket)
            zmq_close (nodes[i].socket);
    if (ctx)
        zmq_ctx_term (ctx);
    free (latency);
    free (zeros);
    return rc;
}

int
throughput_echo (const char *endpoint, unsigned agent_count, int64_t window_ms, pid_t echo_pid,
                 throughput_case_t *result)
{
    void *ctx = zmq_ctx_new ();
    static node_t nodes[AGENTS_MAX];
    memset (nodes, 0, sizeof nodes);
    size_t latency_count = 0, latency_alloc = 1 << 16;
    int64_t *latency = util_calloc (latency_alloc, sizeof (int64_t));
    char *frame = NULL;
    size_t frame_size = 0;
    int rc = -1;
    if (!ctx)
        goto cleanup;
    //  The bytes satcheld gets most: a next reporting a one-unit batch.
    proto_msg_t *next = proto_msg_new (PROTO_NEXT);
    uint64_t zero = 0;
    proto_msg_set_str (&next->attempt, "bench-echo-attempt-0000");
    next->req = 12345;
    next->has_report = true;
    next->report_batch = 7;
    next->report_lease = 7;
    next->report_time_count = 1;
    next->report_times_ms = &zero;
    int encoded = proto_encode (next, &frame, &frame_size);
    next->report_times_ms = NULL;
    proto_msg_destroy (&next);
    if (encoded != 0 || s_room_for (ctx, agent_count) != 0)
        goto cleanup;
    for (unsigned i = 0; i < agent_count; i++) {
        nodes[i].socket = zmq_socket (ctx, ZMQ_REQ);
        int linger = 0;
        if (!nodes[i].socket
        ||  zmq_setsockopt (nodes[i].socket, ZMQ_LINGER, &linger, sizeof linger) != 0
        ||  zmq_connect (nodes[i].socket, endpoint) != 0) {
            fprintf (stderr, "bench_throughput: echo socket: %s\n", zmq_strerror (zmq_errno ()));
            goto cleanup;
        }
    }
    double echo_cpu0 = bench_proc_cpu (echo_pid);
    double loop_cpu0 = bench_main_thread_cpu (echo_pid);
    double self_cpu0 = bench_self_cpu ();
    int64_t start = util_mono_us ();
    int64_t stop = start + window_ms * 1000;
    int64_t deadline = stop + (int64_t) STALL_MS * 1000;
    for (unsigned i = 0; i < agent_count; i++) {
        if (zmq_send (nodes[i].socket, frame, frame_size, 0) != (int) frame_size)
            goto cleanup;
        nodes[i].sent_us = util_mono_us ();
        nodes[i].waiting = true;
    }
    //  Round trips until the window closes, then the replies in flight.
    static poller_t poller;
    memset (&poller, 0, sizeof poller);
    unsigned waiting = agent_count;
    uint64_t trips = 0;
    zmq_msg_t reply;
    zmq_msg_init (&reply);
    while (waiting > 0) {
        int i = s_poll (nodes, agent_count, &poller, deadline, 0);
        if (i < 0) {
            fprintf (stderr, "bench_throughput: the echo stalled\n");
            zmq_msg_close (&reply);
            goto cleanup;
        }
        if (zmq_msg_recv (&reply, nodes[i].socket, 0) != (int) frame_size) {
            zmq_msg_close (&reply);
            goto cleanup;
        }
        nodes[i].waiting = false;
        int64_t now = util_mono_us ();
        if (latency_count == latency_alloc) {
            latency_alloc *= 2;
            latency = util_realloc (latency, latency_alloc * sizeof (int64_t));
        }
        latency[latency_count++] = now - nodes[i].sent_us;
        trips++;
        if (now < stop) {
            if (zmq_send (nodes[i].socket, frame, frame_size, 0) != (int) frame_size) {
                zmq_msg_close (&reply);
                goto cleanup;
            }
            nodes[i].sent_us = now;
            nodes[i].waiting = true;
        }
        else
            waiting--;
    }
    zmq_msg_close (&reply);
    result->elapsed_us = util_mono_us () - start;
    result->requests = trips;
    result->batches = trips;
    result->daemon_cpu = bench_proc_cpu (echo_pid) - echo_cpu0;
    double loop_cpu1 = bench_main_thread_cpu (echo_pid);
    result->loop_cpu = loop_cpu0 >= 0 && loop_cpu1 >= 0 ? loop_cpu1 - loop_cpu0 : -1;
    result->daemon_written = -1;
    result->self_cpu = bench_self_cpu () - self_cpu0;
    qsort (latency, latency_count, sizeof (int64_t), s_compare_i64);
    result->p50_ms = latency_count ? (double) latency[latency_count / 2] / 1000.0 : 0;
    result->p99_ms = latency_count ? (double) latency[latency_count * 99 / 100] / 1000.0 : 0;
    rc = 0;
cleanup:
    for (unsigned i = 0; i < agent_count; i++)
        if (nodes[i].socket)
            zmq_close (nodes[i].socket);
    if (ctx)
        zmq_ctx_term (ctx);
    free (latency);
    free (frame);
    return rc;
}
