/*  bench_throughput: how many batch requests per second satcheld serves.

    Every case runs against its own real satcheld on tcp://127.0.0.1:*
    with its own temporary database, and one build of --agents nodes whose
    runner does nothing:

    1. load generator, one unit per batch: this process drives --agents REQ
       sockets, one outstanding request each (zmq_poll). Each socket is one
       node: it joins (the full sorted unit list and its digest), then loops
       next -> batch -> next with the report of that batch (times all 0,
       wall 0, exit 0) until it gets done. satcheld runs with
       --max-batch-units 1 --runner-startup 0, so every request hands out
       exactly one unit: requests/s measures the request path (decode,
       store writes, commit, reply). Timed from the first next to the last
       done.
    2. the same load with satcheld's default batch policy (units/s).
    3. --agents real `satchel run` processes whose runner is /bin/true
       (a fork/exec per batch), one unit per batch, on a smaller suite
       (--real-units); timed from launching the agents to the last exit.
    4. the same with the default batch policy, on the suite of 1 and 2.

    Exit status: 0 if every case completed with every unit handed out
    exactly once (whatever the rates), 1 otherwise, 2 for a usage error.   */
#include "harness.h"
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define AGENTS_MAX 64
#define UNITS_MAX 500000
#define CASE_DEADLINE_MS 120000    //  one case may take at most this long
#define STALL_MS 15000             //  no reply at all for this long: give up
#define REPEAT_MAX 9               //  most runs of the 1-unit load-generator case

//  ---------------------------------------------------------------------
//  Children to stop if we are interrupted: the daemon and real agents
//  (SIGTERM: satcheld closes its database, satchel stops its runner).

static volatile sig_atomic_t s_interrupted = 0;
static volatile pid_t s_children[AGENTS_MAX + 1];

static void
s_on_signal (int signo)
{
    for (size_t i = 0; i < AGENTS_MAX + 1; i++)
        if (s_children[i] > 0)
            kill (s_children[i], SIGTERM);
    //  The main flow sees the flag (and its children ending), stops, cleans
    //  its temporary folders up and exits 128 + signo.
    s_interrupted = signo;
}

//  ---------------------------------------------------------------------

typedef struct {
    unsigned agents;         //  concurrent nodes
    unsigned units;          //  units for the load-generator cases
    unsigned real_units;     //  units for the real-agent cases
    unsigned repeat;         //  runs of case 1
    bool skip_real;          //  leave out cases 3 and 4
    bool keep;               //  keep the temporary folders
} options_t;

typedef struct {
    const char *label;       //  what was measured
    bool one_unit;           //  --max-batch-units 1 --runner-startup 0, else defaults
    bool real;               //  real agents (no per-request latency)
    unsigned units;          //  units in the build
    uint64_t batches;        //  batch replies
    uint64_t units_got;      //  units in them
    uint64_t requests;       //  requests answered in the timed window
    int64_t elapsed_us;      //  the timed window
    double p50_ms;           //  request latency, median
    double p99_ms;           //  99th percentile
    double daemon_cpu;       //  satcheld CPU seconds in the window
    double daemon_written;   //  bytes satcheld wrote to storage in the window
    double self_cpu;         //  our CPU seconds in the window (load generator)
    bool ok;                 //  completed, every unit exactly once
} case_result_t;

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
s_parse_u64 (const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno != 0 || *end != 0 || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

//  CPU seconds (user + system) a process has used, from /proc; -1 if
//  unreadable.
static double
s_proc_cpu (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    char *text = harness_read_file (path);
    if (!text)
        return -1;
    //  Fields after the command name, which is in parentheses and may hold
    //  spaces: state is field 3, utime 14, stime 15.
    const char *at = strrchr (text, ')');
    double seconds = -1;
    unsigned long long utime = 0, stime = 0;
    if (at && sscanf (at + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                      &utime, &stime) == 2)
        seconds = (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
    free (text);
    return seconds;
}

//  Bytes a process has caused to be written to storage (write_bytes in
//  /proc/PID/io: the WAL, checkpoints into the database); -1 if unreadable.
static double
s_proc_written (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/io", (int) pid);
    char *text = harness_read_file (path);
    if (!text)
        return -1;
    const char *at = strstr (text, "\nwrite_bytes:");
    unsigned long long bytes = 0;
    double result = at && sscanf (at, "\nwrite_bytes: %llu", &bytes) == 1 ? (double) bytes : -1;
    free (text);
    return result;
}

static double
s_self_cpu (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
           + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static int
s_compare_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static char *
s_self_dir (void)
{
    char path[PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0)
        return strdup (".");
    path[len] = 0;
    return strdup (dirname (path));
}

//  The suite: zero-padded names, so generation order is strcmp order and
//  the list is sorted and unique as join requires.
static char **
s_names (unsigned count)
{
    char **names = calloc (count, sizeof (char *));
    if (!names)
        abort ();
    for (unsigned i = 0; i < count; i++) {
        char name[64];
        snprintf (name, sizeof name, "spec/models/unit_%06u_spec.rb", i);
        names[i] = strdup (name);
        if (!names[i])
            abort ();
    }
    return names;
}

static void
s_names_free (char **names, unsigned count)
{
    for (unsigned i = 0; names && i < count; i++)
        free (names[i]);
    free (names);
}

//  ---------------------------------------------------------------------
//  The load generator

typedef struct {
    void *socket;                //  REQ socket to satcheld
    char attempt[48];            //  this node's attempt id
    uint64_t req;                //  last request number sent
    uint32_t batch;              //  batch to report with the next request (0: none)
    size_t batch_units;          //  its unit count
    int64_t sent_us;             //  when the outstanding request went out
    bool waiting;                //  a request is outstanding
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
    node->sent_us = s_now_us ();
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

//  Wait for one reply on any waiting node, at most STALL_MS and never past
//  deadline_us. The scan starts after the node served last, so no node is
//  always served first. Returns the node's index, -1 on timeout or error.
static int
s_poll (node_t *nodes, unsigned count, unsigned *cursor, int64_t deadline_us)
{
    zmq_pollitem_t items[AGENTS_MAX];
    unsigned map[AGENTS_MAX];
    unsigned n_items = 0;
    for (unsigned j = 0; j < count; j++) {
        unsigned i = (*cursor + j) % count;
        if (nodes[i].waiting) {
            items[n_items] = (zmq_pollitem_t) { nodes[i].socket, 0, ZMQ_POLLIN, 0 };
            map[n_items++] = i;
        }
    }
    if (n_items == 0)
        return -1;
    int64_t stall_until = s_now_us () + (int64_t) STALL_MS * 1000;
    if (stall_until > deadline_us)
        stall_until = deadline_us;
    while (true) {
        int64_t left = (stall_until - s_now_us ()) / 1000;
        if (left <= 0)
            return -1;
        int rc = zmq_poll (items, (int) n_items, (long) (left > 1000 ? 1000 : left));
        if ((rc < 0 && zmq_errno () != EINTR) || s_interrupted)
            return -1;
        for (unsigned k = 0; rc > 0 && k < n_items; k++) {
            if (items[k].revents & ZMQ_POLLIN) {
                *cursor = map[k] + 1;
                return (int) map[k];
            }
        }
    }
}

static int
s_load (const char *endpoint, char **names, unsigned unit_count, unsigned agent_count,
        pid_t daemon_pid, case_result_t *result)
{
    proto_limits_t limits;
    proto_limits_default (&limits);
    void *ctx = zmq_ctx_new ();
    node_t nodes[AGENTS_MAX];
    memset (nodes, 0, sizeof nodes);
    int64_t *latency = calloc ((size_t) unit_count + agent_count + 16, sizeof (int64_t));
    uint64_t *zeros = calloc (PROTO_DEFAULT_MAX_UNITS, sizeof (uint64_t));
    size_t latency_count = 0, latency_alloc = (size_t) unit_count + agent_count + 16;
    char digest[PROTO_DIGEST_LEN + 1];
    proto_msg_t *join = NULL;
    int rc = -1;
    if (!ctx || !latency || !zeros)
        goto cleanup;
    int64_t deadline = s_now_us () + (int64_t) CASE_DEADLINE_MS * 1000;
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
    proto_msg_set_str (&join->build, "throughput-1");
    join->node_total = agent_count;
    proto_msg_set_str (&join->commit, "bench");
    proto_msg_set_str (&join->branch, "bench");
    proto_msg_set_str (&join->mode, "queue");
    proto_msg_set_str (&join->digest, digest);
    //  The names are borrowed for encoding; detached before destroy.
    join->units = names;
    join->unit_count = unit_count;
    for (unsigned i = 0; i < agent_count; i++) {
        join->node_index = i;
        if (s_send (&nodes[i], join) != 0)
            goto cleanup;
    }
    unsigned cursor = 0;
    for (unsigned joined = 0; joined < agent_count; joined++) {
        int i = s_poll (nodes, agent_count, &cursor, deadline);
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
    double daemon_cpu0 = s_proc_cpu (daemon_pid);
    double written0 = s_proc_written (daemon_pid);
    double self_cpu0 = s_self_cpu ();
    int64_t start = s_now_us ();
    for (unsigned i = 0; i < agent_count; i++)
        if (s_send_next (&nodes[i], zeros) != 0)
            goto cleanup;
    unsigned done = 0;
    while (done < agent_count) {
        int i = s_poll (nodes, agent_count, &cursor, deadline);
        if (i < 0 && s_interrupted)
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
            latency[latency_count++] = s_now_us () - node->sent_us;
        result->requests++;
        if (reply->type == PROTO_BATCH) {
            result->batches++;
            result->units_got += reply->unit_count;
            node->batch = reply->batch;
            node->batch_units = reply->unit_count;
            proto_msg_destroy (&reply);
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
    result->elapsed_us = s_now_us () - start;
    result->daemon_cpu = s_proc_cpu (daemon_pid) - daemon_cpu0;
    result->daemon_written = s_proc_written (daemon_pid) - written0;
    result->self_cpu = s_self_cpu () - self_cpu0;
    qsort (latency, latency_count, sizeof (int64_t), s_compare_i64);
    if (latency_count > 0) {
        result->p50_ms = (double) latency[latency_count / 2] / 1000.0;
        result->p99_ms = (double) latency[(latency_count * 99) / 100] / 1000.0;
    }
    if (result->units_got != unit_count) {
        fprintf (stderr, "bench_throughput: %" PRIu64 " units handed out for %u in the build\n",
                 result->units_got, unit_count);
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

//  ---------------------------------------------------------------------
//  Real agents

static int
s_real (const char *endpoint, const char *dir, const char *tests_file, unsigned agent_count,
        pid_t daemon_pid, case_result_t *result)
{
    char *satchel = harness_bin ("satchel");
    pid_t pids[AGENTS_MAX];
    char err_paths[AGENTS_MAX][512];
    char total[16];
    snprintf (total, sizeof total, "%u", agent_count);
    int rc = 0;
    unsigned spawned = 0;
    double daemon_cpu0 = s_proc_cpu (daemon_pid);
    double written0 = s_proc_written (daemon_pid);
    int64_t start = s_now_us ();
    for (unsigned n = 0; n < agent_count; n++) {
        char index[16];
        snprintf (index, sizeof index, "%u", n);
        snprintf (err_paths[n], sizeof err_paths[n], "%s/agent-%u.err", dir, n);
        char *argv[] = {
            satchel, "run", "--coordinator", (char *) endpoint,
            "--suite", "bench-throughput", "--build", "throughput-real",
            "--node-index", index, "--node-total", total,
            "--commit", "bench", "--branch", "bench",
            "--tests-from", (char *) tests_file, "--timeout", "10",
            "--", "/bin/true", NULL
        };
        pids[n] = harness_spawn (argv, dir, NULL, NULL, err_paths[n]);
        if (pids[n] <= 0) {
            rc = -1;
            break;
        }
        s_children[n + 1] = pids[n];
        spawned++;
    }
    int64_t deadline = start + (int64_t) CASE_DEADLINE_MS * 1000;
    for (unsigned n = 0; n < spawned; n++) {
        int64_t left = (deadline - s_now_us ()) / 1000;
        int status = harness_wait (pids[n], left > 0 ? left : 1);
        s_children[n + 1] = 0;
        if (status != 0 && !s_interrupted) {
            char *text = harness_read_file (err_paths[n]);
            fprintf (stderr, "bench_throughput: agent %u exited %d:\n%s\n", n, status,
                     text ? text : "");
            free (text);
            rc = -1;
        }
    }
    result->elapsed_us = s_now_us () - start;
    result->daemon_cpu = s_proc_cpu (daemon_pid) - daemon_cpu0;
    result->daemon_written = s_proc_written (daemon_pid) - written0;
    free (satchel);
    return rc;
}

//  Check in the database that every unit of the build was handed out
//  exactly once; give the number of batches. Returns 0, or -1 (printed).
static int
s_check_db (const char *db_path, unsigned units, uint64_t *batches)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = -1;
    if (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf (stderr, "bench_throughput: cannot open %s\n", db_path);
        goto cleanup;
    }
    sqlite3_busy_timeout (db, 5000);
    const char *sql = "SELECT count(DISTINCT b.id), count(bu.unit_idx), "
                      "count(DISTINCT bu.unit_idx) FROM batches b "
                      "JOIN batch_units bu ON bu.batch_id = b.id";
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_step (stmt) != SQLITE_ROW) {
        fprintf (stderr, "bench_throughput: reading %s: %s\n", db_path, sqlite3_errmsg (db));
        goto cleanup;
    }
    *batches = (uint64_t) sqlite3_column_int64 (stmt, 0);
    uint64_t assigned = (uint64_t) sqlite3_column_int64 (stmt, 1);
    uint64_t distinct = (uint64_t) sqlite3_column_int64 (stmt, 2);
    if (assigned == units && distinct == units)
        rc = 0;
    else
        fprintf (stderr, "bench_throughput: %" PRIu64 " assignments of %" PRIu64
                         " distinct units for %u in the build\n", assigned, distinct, units);
cleanup:
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return rc;
}

//  ---------------------------------------------------------------------
//  One case: its own folder, daemon and database.

static int
s_case (const options_t *options, case_result_t *result, const char *const *flags)
{
    char *dir = harness_tmpdir ();
    harness_daemon_t daemon;
    const char *extra[16];
    size_t n = 0;
    extra[n++] = "--log-level";
    extra[n++] = "info";
    for (size_t i = 0; flags && flags[i] && n < 15; i++)
        extra[n++] = flags[i];
    extra[n] = NULL;
    int rc = -1;
    char **names = s_names (result->units);
    if (harness_daemon_start (&daemon, dir, extra) != 0) {
        fprintf (stderr, "bench_throughput: satcheld did not start (SATCHEL_BIN_DIR=%s)\n",
                 getenv ("SATCHEL_BIN_DIR"));
        goto cleanup;
    }
    s_children[0] = daemon.pid;
    uint64_t batches = 0;
    if (!result->real) {
        rc = s_load (daemon.endpoint, names, result->units, options->agents, daemon.pid, result);
        if (rc == 0 && s_check_db (daemon.db, result->units, &batches) == 0
            && batches != result->batches) {
            fprintf (stderr, "bench_throughput: %" PRIu64 " batches in the database, %" PRIu64
                             " received\n", batches, result->batches);
            rc = -1;
        }
        else if (rc == 0 && batches != result->batches)
            rc = -1;
    }
    else {
        size_t size = strlen (dir) + 32;
        char *tests_file = malloc (size);
        size_t list_size = (size_t) result->units * 64 + 1;
        char *list = calloc (1, list_size);
        if (!tests_file || !list)
            abort ();
        snprintf (tests_file, size, "%s/tests.txt", dir);
        size_t used = 0;
        for (unsigned i = 0; i < result->units; i++)
            used += (size_t) snprintf (list + used, list_size - used, "%s\n", names[i]);
        if (harness_write_file (tests_file, list) == 0)
            rc = s_real (daemon.endpoint, dir, tests_file, options->agents, daemon.pid, result);
        if (rc == 0)
            rc = s_check_db (daemon.db, result->units, &batches);
        //  One next per batch, plus the next that gets done per agent.
        result->batches = batches;
        result->units_got = rc == 0 ? result->units : 0;
        result->requests = batches + options->agents;
        free (list);
        free (tests_file);
    }
    int stop = harness_daemon_stop (&daemon);
    s_children[0] = 0;
    if (stop != 0) {
        fprintf (stderr, "bench_throughput: satcheld exited %d\n", stop);
        rc = -1;
    }
cleanup:
    result->ok = rc == 0;
    if (options->keep || (rc != 0 && !s_interrupted))
        fprintf (stderr, "bench_throughput: kept %s\n", dir);
    else
        harness_rmtree (dir);
    free (dir);
    s_names_free (names, result->units);
    return rc;
}

//  ---------------------------------------------------------------------

static void
s_machine (char *out, size_t size)
{
    char model[256] = "unknown";
    FILE *file = fopen ("/proc/cpuinfo", "re");
    if (file) {
        char line[512];
        while (fgets (line, sizeof line, file)) {
            if (strncmp (line, "model name", 10) == 0) {
                const char *colon = strchr (line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ' || *colon == '\t')
                        colon++;
                    snprintf (model, sizeof model, "%s", colon);
                    model[strcspn (model, "\n")] = 0;
                }
                break;
            }
        }
        fclose (file);
    }
    struct utsname uts;
    const char *kernel = uname (&uts) == 0 ? uts.release : "?";
    snprintf (out, size, "%ld CPUs (nproc), %s, Linux %s", sysconf (_SC_NPROCESSORS_ONLN), model,
              kernel);
}

//  The file system type of /tmp, where the databases live (fsync costs
//  differ by orders of magnitude between tmpfs and a disk).
static const char *
s_tmp_fs (void)
{
    static char type[64] = "of unknown type";
    FILE *file = fopen ("/proc/self/mounts", "re");
    if (!file)
        return type;
    char line[1024], best[64] = "";
    size_t best_len = 0;
    while (fgets (line, sizeof line, file)) {
        char device[256], mount[512], fs[64];
        if (sscanf (line, "%255s %511s %63s", device, mount, fs) != 3)
            continue;
        size_t len = strlen (mount);
        //  The longest mount point that is /tmp or one of its parents.
        bool covers = strcmp (mount, "/") == 0
                      || (len <= 4 && strncmp ("/tmp", mount, len) == 0
                          && ("/tmp"[len] == 0 || "/tmp"[len] == '/'));
        if (covers && len >= best_len) {
            best_len = len;
            snprintf (best, sizeof best, "%s", fs);
        }
    }
    fclose (file);
    if (*best)
        snprintf (type, sizeof type, "%s", best);
    return type;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static void
s_usage (FILE *out)
{
    fputs ("Usage: bench_throughput [OPTIONS]\n"
           "\n"
           "Batch requests per second of a real satcheld with concurrent agents whose\n"
           "runner does nothing: a load generator (one unit per batch, then the default\n"
           "policy) and real `satchel run -- /bin/true` processes.\n"
           "\n"
           "  --agents N       concurrent nodes, 1-64 (default 16)\n"
           "  --units N        units for the load generator, 1-500000 (default 50000)\n"
           "  --real-units N   units for the real agents with one unit per batch,\n"
           "                   1-500000 (default 5000)\n"
           "  --repeat N       runs of the 1-unit load-generator case, 1-9 (default 3);\n"
           "                   the summary gives their median\n"
           "  --skip-real      only the load-generator cases\n"
           "  --keep           keep the temporary folders\n"
           "  --help           show this help\n", out);
}

static int
s_parse_options (int argc, char **argv, options_t *options)
{
    *options = (options_t) { .agents = 16, .units = 50000, .real_units = 5000,
                             .repeat = 3 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t number = 0;
        int bad = 0;
        if (strcmp (arg, "--help") == 0) {
            s_usage (stdout);
            return 1;
        }
        else if (strcmp (arg, "--keep") == 0) {
            options->keep = true;
            continue;
        }
        else if (strcmp (arg, "--skip-real") == 0) {
            options->skip_real = true;
            continue;
        }
        else if (strcmp (arg, "--agents") == 0) {
            bad = s_parse_u64 (value, 1, AGENTS_MAX, &number);
            options->agents = (unsigned) number;
        }
        else if (strcmp (arg, "--units") == 0) {
            bad = s_parse_u64 (value, 1, UNITS_MAX, &number);
            options->units = (unsigned) number;
        }
        else if (strcmp (arg, "--repeat") == 0) {
            bad = s_parse_u64 (value, 1, REPEAT_MAX, &number);
            options->repeat = (unsigned) number;
        }
        else if (strcmp (arg, "--real-units") == 0) {
            bad = s_parse_u64 (value, 1, UNITS_MAX, &number);
            options->real_units = (unsigned) number;
        }
        else {
            fprintf (stderr, "bench_throughput: unknown option '%s'\n"
                             "Try 'bench_throughput --help'.\n", arg);
            return -1;
        }
        if (bad) {
            fprintf (stderr, "bench_throughput: %s: invalid or missing value '%s'\n"
                             "Try 'bench_throughput --help'.\n", arg, value ? value : "");
            return -1;
        }
        i++;
    }
    return 0;
}

//  Print the report: header, one row per case, the summary figures.
static void
s_report (const options_t *options, const case_result_t *cases, size_t case_count, int argc,
          char **argv)
{
    char machine[512];
    s_machine (machine, sizeof machine);
    printf ("== Throughput: %u concurrent agents of one build, runner does nothing ==\n",
            options->agents);
    printf ("command:  ");
    for (int i = 0; i < argc; i++)
        printf ("%s%s", i ? " " : "", argv[i]);
    printf ("\nmachine:  %s\n", machine);
    printf ("daemon:   satcheld --log-level info on tcp://127.0.0.1:*, a fresh database per "
            "case\n          (the folder is under /tmp: on this machine %s)\n\n",
            s_tmp_fs ());
    printf ("%-40s %6s %7s %6s %9s %8s %8s %6s %6s %5s %5s %6s\n", "case", "units",
            "batches", "secs", "batches/s", "reqs/s", "units/s", "p50ms", "p99ms", "dCPU", "gCPU",
            "KB/req");
    for (size_t c = 0; c < case_count; c++) {
        const case_result_t *r = &cases[c];
        double secs = (double) r->elapsed_us / 1e6;
        if (!r->ok || secs <= 0) {
            printf ("%-40s %6u FAILED\n", r->label, r->units);
            continue;
        }
        char p50[16] = "-", p99[16] = "-", gcpu[16] = "-";
        if (!r->real) {
            snprintf (p50, sizeof p50, "%.2f", r->p50_ms);
            snprintf (p99, sizeof p99, "%.2f", r->p99_ms);
            snprintf (gcpu, sizeof gcpu, "%.0f%%", 100.0 * r->self_cpu / secs);
        }
        uint64_t requests = r->requests;
        char written[16] = "-";
        if (r->daemon_written >= 0 && requests > 0)
            snprintf (written, sizeof written, "%.1f",
                      r->daemon_written / 1024.0 / (double) requests);
        printf ("%-40s %6u %7" PRIu64 " %6.2f %9.0f %8.0f %8.0f %6s %6s %4.0f%% %5s %6s\n",
                r->label, r->units, r->batches, secs, (double) r->batches / secs,
                (double) requests / secs, (double) r->units_got / secs, p50, p99,
                100.0 * r->daemon_cpu / secs, gcpu, written);
    }
    printf ("\ncolumns: secs = first next to last done (load generator), launch to last exit "
            "(real\n  agents: includes process start, join, one fork/exec of /bin/true per "
            "batch);\n  reqs/s = batch replies + done replies per second (joins not counted); "
            "p50/p99 =\n  request round trip; dCPU = satcheld CPU time / secs (100%% = one "
            "core); gCPU = load\n  generator CPU / secs (it shares the machine). "
            "KB/req = bytes satcheld\n  wrote to storage (WAL and checkpoints, "
            "/proc/PID/io write_bytes) per request.\n  1 unit/batch = satcheld "
            "--max-batch-units 1 --runner-startup 0; default policy =\n  no flags.\n\n");

    //  The figures for the summary, tab-separated: name, value, target,
    //  verdict. The 1-unit load-generator case is repeated: its median.
    double rates[REPEAT_MAX];
    size_t repeats = 0;
    bool repeats_ok = true;
    for (size_t c = 0; c < case_count; c++) {
        const case_result_t *r = &cases[c];
        if (r->real || !r->one_unit)
            continue;
        if (r->ok && r->elapsed_us > 0)
            rates[repeats++] = (double) r->batches / ((double) r->elapsed_us / 1e6);
        else
            repeats_ok = false;
    }
    if (repeats > 0) {
        qsort (rates, repeats, sizeof (double), s_compare_double);
        double median = repeats % 2 ? rates[repeats / 2]
                                    : (rates[repeats / 2 - 1] + rates[repeats / 2]) / 2;
        printf ("result\tthroughput %u loadgen, 1 unit/batch: batches/s, median of %zu\t%.0f\t"
                ">= 10000\t%s\n", options->agents, repeats, median,
                !repeats_ok ? "FAILED" : median >= 10000 ? "met" : "MISSED");
        printf ("result\tthroughput %u loadgen, 1 unit/batch: batches/s, min-max\t%.0f-%.0f\t"
                "-\t-\n", options->agents, rates[0], rates[repeats - 1]);
    }
    else
        printf ("result\tthroughput %u loadgen, 1 unit/batch: batches/s\t-\t"
                ">= 10000\tFAILED\n", options->agents);
    for (size_t c = 0; c < case_count; c++) {
        const case_result_t *r = &cases[c];
        if (!r->real && r->one_unit)
            continue;
        double secs = (double) r->elapsed_us / 1e6;
        char name[128];
        snprintf (name, sizeof name, "throughput %u %s, %s: %s", options->agents,
                  r->real ? "satchel run /bin/true" : "loadgen",
                  r->one_unit ? "1 unit/batch" : "default policy",
                  r->one_unit ? "batches/s" : "units/s");
        if (!r->ok || secs <= 0)
            printf ("result\t%s\t-\t-\tFAILED\n", name);
        else
            printf ("result\t%s\t%.0f\t-\t-\n", name,
                    (r->one_unit ? (double) r->batches : (double) r->units_got) / secs);
    }
}

int
main (int argc, char **argv)
{
    options_t options;
    int parsed = s_parse_options (argc, argv, &options);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGHUP, s_on_signal);
    char *self_dir = s_self_dir ();
    if (!getenv ("SATCHEL_BIN_DIR")) {
        char bin_dir[PATH_MAX];
        snprintf (bin_dir, sizeof bin_dir, "%s/..", self_dir);
        setenv ("SATCHEL_BIN_DIR", bin_dir, 1);
    }
    free (self_dir);

    //  The cases, in order: the 1-unit load-generator case --repeat times,
    //  then one each of the others.
    static const char *const one_unit_flags[] = { "--max-batch-units", "1",
                                                  "--runner-startup", "0", NULL };
    static char labels[REPEAT_MAX][48];
    case_result_t cases[REPEAT_MAX + 3];
    memset (cases, 0, sizeof cases);
    size_t case_count = 0;
    for (unsigned r = 0; r < options.repeat; r++) {
        snprintf (labels[r], sizeof labels[r], "load generator, 1 unit/batch, run %u", r + 1);
        cases[case_count++] = (case_result_t) { .label = labels[r], .one_unit = true,
                                                .units = options.units };
    }
    cases[case_count++] = (case_result_t) { .label = "load generator, default policy",
                                            .units = options.units };
    if (!options.skip_real) {
        cases[case_count++] = (case_result_t) { .label = "satchel run -- /bin/true, 1 unit/batch",
                                                .one_unit = true, .real = true,
                                                .units = options.real_units };
        cases[case_count++] = (case_result_t) { .label = "satchel run -- /bin/true, default "
                                                "policy", .real = true, .units = options.units };
    }
    bool all_ok = true;
    for (size_t c = 0; c < case_count && !s_interrupted; c++) {
        if (s_case (&options, &cases[c], cases[c].one_unit ? one_unit_flags : NULL) != 0)
            all_ok = false;
        fprintf (stderr, "bench_throughput: %s: %.2f s%s\n", cases[c].label,
                 (double) cases[c].elapsed_us / 1e6, cases[c].ok ? "" : " (FAILED)");
    }
    if (s_interrupted)
        return 128 + s_interrupted;
    s_report (&options, cases, case_count, argc, argv);
    return all_ok ? 0 : 1;
}
