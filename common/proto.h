/*  proto.h: the satchel wire protocol, version 1.

    Transport: the agent's REQ socket talks to satcheld's ROUTER socket. Every
    message is exactly one frame holding one msgpack map. Every map has
        "v"     uint   protocol version, 1
        "type"  str    one of the types below
    Strings are UTF-8 or raw bytes; none may contain a NUL byte.

    Requests (agent -> satcheld) also carry
        "attempt" str  1..64 bytes of [A-Za-z0-9_-], fresh per agent run
        "req"     uint 1..2^53, grows by one per new request of an attempt;
                       a retry after a lost reply resends the same number and
                       gets the same reply (idempotent requests)

    join    enter a build as one node
        "suite"      str  1..128 bytes of [A-Za-z0-9._/:@+-]
        "build"      str  1..256 printable ASCII bytes, no space; may be
                          empty ("") only with fixed_split (no build id)
        "node_index" uint 0..node_total-1
        "node_total" uint 1..max_nodes
        "commit"     str  0..128 bytes
        "branch"     str  0..256 bytes
        "mode"       str  "queue" or "regular" (one static split: each
                          node gets its whole list as one batch, kind
                          "regular", and never waits for other nodes)
        "digest"     str  40 lowercase hex: proto_digest() of "units"
        "units"      [str] 1..max_units names, each 1..max_name bytes,
                          sorted by strcmp and unique
        Optional, false when absent unless said otherwise:
        "only_failed" bool  a replay holds only the units that did not pass
                            in this node's earlier attempts
        "fixed_split" bool  the build is named by (suite, commit, branch,
                            node total) instead of by "build", so a retry
                            that CI gives a new build id replays the split
        "wait"        bool  true when absent: with the queue empty but
                            batches still out, answer wait instead of done
        "fail_fast"   bool  the first failure stops every node of the
                            build after its current batch (set by the join
                            that creates the build)
        "reuse_split" bool  true when absent; regular mode: the join that
                            creates the build reuses the split of the
                            earliest regular build of the same suite,
                            commit, branch, node total and test list, if
                            any; false: compute it from the latest history
        "can_list"    bool  this agent can list the test examples of a
                            file (--list-cmd / --list-preset): the join
                            that would create the build may be answered
                            with expand
        "machine"     str   absent: none; 1..128 printable ASCII bytes, no
                            space: the machine the agent runs on
                            (--machine, its host name by default), whose
                            pace a suite's finished queue builds teach
                            satcheld (coordinator/builds.c)
        "slow_ms"     uint  a file predicted longer than this is slow
                            (--slow-threshold), besides the 70% rule; 0 or
                            absent: only that rule
        "listed"      bool  this join answers an expand: "examples" hold
                            the examples of the slow files (maybe none, if
                            listing failed: the files then stay whole)
        "examples"    [str] example ids, each its file's name followed by
                            at least one more byte, unique, none a unit
        "example_file" [uint] one per example: the index in "units" of
                            its file
    next    report the previous batch (if any) and ask for the next one
        "park_ms"    uint  optional, 0..PROTO_PARK_MS_MAX: the daemon may
                           hold a wait reply up to this long and answer
                           the moment there is work or the build ends (the
                           asker waits that long for a reply anyway); 0
                           or absent: wait is answered at once
        "report"     map, optional:
            "batch"    uint  the batch number being reported (1-based)
            "wall_ms"  uint  wall time of the runner for that batch, at most
                             PROTO_DURATION_MS_MAX (30 days), as each time
            "exit"     int   runner exit status 0..255, or -N if killed by signal N
            "times_ms" [uint] one per unit of the batch, in batch order
            "lease"    uint  the lease number the batch came with
            "returned" bool  optional: the runner could not work, nothing
                             ran; the units go back to the queue and this
                             node gets done (times_ms may then be empty)
            "status"   [uint] optional, one per unit, from the runner's
                             JUnit report: 0 passed, 1 failed (both with
                             a measured time), 2 not in the report (no
                             time; passed or failed by "exit"). Absent:
                             times are the wall time apportioned and every
                             unit passed or failed by "exit"
            "runs"     uint  optional, 1 when absent: runner starts the
                             batch took (--batch-size cuts a list)
    import  add timing history to a suite (satchel import)
        "suite"      str  as in join
        "units"      [str] 1..max_units names, sorted and unique
        "times_ms"   [uint] one per unit, each at most PROTO_DURATION_MS_MAX
        "parent"     [uint] one per unit: 0 for a file, k for an example
                            of the file units[k-1]
    heartbeat  the batch is still running: renew its lease
        "batch"      uint  the batch number
        "lease"      uint  its lease number
    fallback  this node ran its share of the tests split by name, as
            satcheld could not be reached (or was at --max-builds): told
            afterwards, once, if it can be reached then, for the metrics
        "suite"      str  as in join
        "build"      str  as in join (may be "")
        "node_index" uint as in join
        "node_total" uint as in join
        "units"      uint how many units the node ran that way
    status  how the daemon is (satchel status); an admin request: with
            CurveZMQ on, only a key marked admin may make it
    query   a report (satchel builds, build, tests, export); an admin
            request
        "what"       str  "builds" (the recent ones), "build" (one),
                          "slowest", "flaky", "trend" (a suite's tests) or
                          "export" (a suite's samples, a page at a time)
        "suite"      str  builds: optional, only this suite's; slowest,
                          flaky, trend, export: the suite
        "limit"      uint optional, at most this many rows, 1..1000 (20
                          when absent; export: 1..50000, 10000)
        "build_id"   uint build: the build's number (satchel builds shows it)
        "unit"       str  trend: the unit
        "since_ms"   uint optional, export: samples taken since (epoch ms)
        "after"      uint optional, export: samples after this id (the
                          last page's "next")
    admin   a job on the database (satchel admin); an admin request
        "action"     str  "backup" (a consistent copy by SQLite's online
                          backup), "check" (PRAGMA integrity_check), or
                          "fetch" (a piece of a finished backup)
        "job"        uint optional, 0 when absent: 0 starts a job of the
                          action; else the job to ask about (or fetch from)
        "offset"     uint fetch: where the piece starts

    Replies (satcheld -> agent) echo "attempt" and "req" when the request
    was readable enough to have them (an error reply may have neither).

    joined  the node is in the build
        "units"   uint  units in the build
        "nodes"   uint  the build's node total
        "created" bool  true if this join created the build
        "replay"  uint  batches of earlier attempts of this node that this
                        attempt will be given again first
        "heartbeat_ms" uint  how often to send heartbeat while a batch runs
        "known"   uint  units of the build with timing history (the rest
                        are estimated); optional, 0 when absent
        "examples" uint units of the build that are examples of split
                        files; optional, 0 when absent
    expand  the build does not exist yet and some files are slow: list
            their examples (can_list) and join again with "listed"
        "units"   [str] the slow files, a subset of the join's units
    imported  the history was added
        "units"   uint  entries recorded
    batch   units to run now
        "batch"        uint  this node's batch number, 1-based, in order
        "units"        [str] names, in the order to run them
        "predicted_ms" [uint] predicted time of each unit
        "lease"        uint  lease number, sent back in heartbeats and report
        "kind"         str   "queue", "replay" (an earlier attempt's batch
                             again), "retry" (units that failed elsewhere)
                             or "regular" (the node's whole regular-mode list)
    wait    nothing to hand out now, but batches are still running and one
            may come back: ask again (a new next) after retry_ms; to a
            join: another node is listing the slow files' examples, join
            again (a new req) after retry_ms
        "retry_ms"     uint  1..60000
        "units_done"   uint  units of the build finished so far
        "units_total"  uint  units in the build
    ack     answer to heartbeat
        "held"  bool  false if the lease was lost (expired, or a newer
                      attempt of the node took the batch): finish the batch
                      anyway, its report is kept as history only
        "stop"  bool  the build is stopping (fail-fast): ask for no more
    done    nothing left for this node: exit
        "units_done"   uint  units of the build finished so far
        "units_total"  uint  units in the build
        "reason"       str   "complete", "no_wait" (also: a regular-mode
                             node ran its list), "released" (the queue is
                             empty and enough other nodes wait to take
                             over the batches still running: standby.h),
                             "fail_fast" or "returned" (this node handed
                             its batch back)
        "failed"       uint  units this node ran whose latest run failed
        "flaky"        uint  units of the build that failed, then passed
    noted   answer to fallback: nothing more to say
    daemon_status  answer to status
        "version"      str   satcheld's version
        "uptime_s"     uint  seconds since it started
        "builds_running" uint  builds in flight (not finished, asked
                             about in the last 10 minutes)
        "agents_last_minute" uint  agents that sent a request in the
                             last minute
        "requests"     uint  requests handled since it started
        "requests_last_minute" uint  of which in the last 60 seconds
        "db_bytes"     uint  the database on disk, WAL included
    admin_job  answer to admin
        "job"      uint  the job's number
        "action"   str   its action
        "state"    str   "running", "done" or "failed"
        "message"  str   what it found or why it failed ("" while running)
        "size"     uint  a done backup's size in bytes
        "offset"   uint  fetch: where "data" starts
        "data"     bin   fetch: up to PROTO_CHUNK_MAX bytes of the backup;
                         fewer (maybe none) at its end
    query_result  answer to query
        "json"     bin   the report as one JSON document (coordinator/
                         report.h says its fields)
    error   the request was refused
        "code"     str  one of PROTO_ERR_*
        "field"    str  the offending field ("" if none)
        "message"  str  one sentence a person can act on                   */
#ifndef SATCHEL_PROTO_H
#define SATCHEL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_ATTEMPT_MAX 64
#define PROTO_SUITE_MAX 128
#define PROTO_BUILD_MAX 256
#define PROTO_COMMIT_MAX 128
#define PROTO_BRANCH_MAX 256
#define PROTO_MACHINE_MAX 128
#define PROTO_DIGEST_LEN 40
#define PROTO_CODE_MAX 64
#define PROTO_MESSAGE_MAX 1024
#define PROTO_REQ_MAX (UINT64_C (1) << 53)
#define PROTO_DURATION_MS_MAX (UINT64_C (30) * 24 * 3600 * 1000)
//  Largest piece of a backup in one admin_job reply.
#define PROTO_CHUNK_MAX (1024 * 1024)
#define PROTO_ACTION_MAX 16
//  Most builds one query lists, and how many when it does not say.
#define PROTO_QUERY_LIMIT_MAX 1000
#define PROTO_QUERY_LIMIT_DEFAULT 20
#define PROTO_EXPORT_PAGE_MAX 50000
#define PROTO_EXPORT_PAGE_DEFAULT 10000

//  Error codes. User errors stop the agent with exit 1 and are never retried;
//  the others are transient and retried (see proto_error_is_user).
#define PROTO_ERR_BAD_REQUEST "bad_request"          //  malformed field; user error
#define PROTO_ERR_TOO_LARGE "too_large"              //  frame over the size limit; user error
#define PROTO_ERR_VERSION "bad_version"              //  protocol version unknown; user error
#define PROTO_ERR_UNKNOWN_TYPE "unknown_type"        //  message type unknown; user error
#define PROTO_ERR_LIST_MISMATCH "list_mismatch"      //  test list differs from the build's; user error
#define PROTO_ERR_BUILD_MISMATCH "build_mismatch"    //  node total or mode differs from the build's; user error
#define PROTO_ERR_LIMIT "limit"                      //  a daemon limit would be exceeded; user error
#define PROTO_ERR_UNKNOWN_ATTEMPT "unknown_attempt"  //  next before join; user error (protocol misuse)
#define PROTO_ERR_ACCESS "access_refused"          //  the client's CurveZMQ key may not make this
                                                     //  request (suite, admin); user error
#define PROTO_ERR_STALE "stale_request"              //  req older than the last one answered; transient
#define PROTO_ERR_INTERNAL "internal"                //  daemon-side failure (storage); transient
#define PROTO_ERR_BUSY "busy"                        //  daemon at its builds-in-flight limit; transient

typedef enum {
    PROTO_JOIN = 1,
    PROTO_NEXT,
    PROTO_JOINED,
    PROTO_BATCH,
    PROTO_DONE,
    PROTO_ERROR,
    PROTO_HEARTBEAT,
    PROTO_ACK,
    PROTO_WAIT,
    PROTO_EXPAND,
    PROTO_IMPORT,
    PROTO_IMPORTED,
    PROTO_STATUS,
    PROTO_DAEMON_STATUS,
    PROTO_ADMIN,
    PROTO_ADMIN_JOB,
    PROTO_QUERY,
    PROTO_QUERY_RESULT,
    PROTO_FALLBACK,
    PROTO_NOTED,
    PROTO_TYPE_LAST = PROTO_NOTED
} proto_type_t;

//  What a batch is (the "kind" of a batch reply).
typedef enum {
    PROTO_KIND_QUEUE = 0,
    PROTO_KIND_REPLAY = 1,
    PROTO_KIND_RETRY = 2,
    PROTO_KIND_REGULAR = 3,
    PROTO_KIND_LAST = PROTO_KIND_REGULAR
} proto_kind_t;

//  A unit's outcome in a report's "status".
#define PROTO_UNIT_PASSED 0
#define PROTO_UNIT_FAILED 1
#define PROTO_UNIT_ABSENT 2

//  Longest "reason" of a done reply.
#define PROTO_REASON_MAX 32
#define PROTO_RETRY_MS_MAX 60000
//  The longest a next may let the daemon hold its wait reply.
#define PROTO_PARK_MS_MAX 60000

//  Limits applied by proto_decode. The daemon sets them from its flags.
typedef struct {
    size_t max_frame;     //  largest frame, bytes
    size_t max_units;     //  most units in one join or batch
    size_t max_report_units;  //  most times in a report, if more (0: max_units): what
                              //  max_units was before a reload lowered it
    size_t max_name;      //  longest unit name, bytes
    uint32_t max_nodes;   //  largest node total
} proto_limits_t;

//  Defaults that serve a large farm.
#define PROTO_DEFAULT_MAX_FRAME (64u * 1024 * 1024)
#define PROTO_DEFAULT_MAX_UNITS 500000u
#define PROTO_DEFAULT_MAX_NAME 4096u
#define PROTO_DEFAULT_MAX_NODES 1024u

void proto_limits_default (proto_limits_t *limits);

//  One message. Fields are public; which ones matter depends on type (see
//  the table above). Every pointer is owned by the message and freed by
//  proto_msg_destroy. Strings are NUL-terminated copies.
typedef struct {
    proto_type_t type;          //  Message type
    char *attempt;              //  Attempt id (requests, echoed in replies); may be NULL in an error reply
    uint64_t req;               //  Request number (0 = absent, in error replies)

    char *suite;                //  join: suite name
    char *build;                //  join: build id
    uint32_t node_index;        //  join: this node, 0-based
    uint32_t node_total;        //  join: nodes in the build; joined: "nodes"
    char *commit;               //  join: commit (may be "")
    char *branch;               //  join: branch (may be "")
    char *machine;              //  join: the agent's machine, NULL if not said
    char *mode;                 //  join: "queue" or "regular"
    char *digest;               //  join: 40 hex chars
    bool only_failed;           //  join: replay only what did not pass
    bool fixed_split;           //  join: build named by commit, branch, node total
    bool no_wait;               //  join: "wait" false
    bool fail_fast;             //  join: stop the build at the first failure
    bool fresh_split;           //  join: "reuse_split" false
    bool can_list;              //  join: the agent can list examples
    uint64_t slow_ms;           //  join: --slow-threshold, 0 none
    bool listed;                //  join: answers an expand
    char **examples;            //  join: example ids
    size_t example_count;       //  join: number of examples
    uint32_t *example_file;     //  join: per example, index of its file in units
    uint64_t *times_ms;         //  import: one per unit
    uint32_t *parent;           //  import: per unit, 0 or 1 + index of its file

    char **units;               //  join, batch: unit names
    size_t unit_count;          //  join, batch: number of names
    uint64_t *predicted_ms;     //  batch: one per unit

    bool has_report;            //  next: a report is present
    uint64_t park_ms;           //  next: how long a wait reply may be held, 0: not
    uint32_t report_batch;      //  next: batch being reported
    uint64_t report_wall_ms;    //  next: runner wall time
    int32_t report_exit;        //  next: exit status, or -signal
    uint64_t *report_times_ms;  //  next: one per unit of the batch
    size_t report_time_count;   //  next: number of times
    uint64_t report_lease;      //  next: lease of the batch reported
    bool report_returned;       //  next: the batch is handed back unrun
    uint8_t *report_status;     //  next: per unit PROTO_UNIT_*, or NULL
    uint32_t report_runs;       //  next: runner starts, 1 if absent

    uint64_t units_total;       //  joined: "units"; done: "units_total"
    uint64_t known;             //  joined: units with history
    uint64_t examples_total;    //  joined: units that are examples
    bool created;               //  joined: this join created the build
    uint32_t batch;             //  batch, heartbeat: batch number, 1-based
    uint64_t lease;             //  batch, heartbeat: lease number
    proto_kind_t kind;          //  batch: queue, replay or retry
    uint32_t replay;            //  joined: batches to replay
    uint64_t heartbeat_ms;      //  joined: heartbeat interval
    uint64_t retry_ms;          //  wait: ask again after this long
    bool held;                  //  ack: the lease is still this attempt's
    bool stop;                  //  ack: the build is stopping
    uint64_t units_done;        //  done, wait: units finished
    char *reason;               //  done: why this node is done
    uint64_t failed;            //  done: units of this node failing
    uint64_t flaky;             //  done: flaky units of the build

    char *version;              //  daemon_status: satcheld's version
    uint64_t uptime_s;          //  daemon_status: seconds since start
    uint64_t builds_running;    //  daemon_status: builds in flight
    uint64_t agents_seen;       //  daemon_status: agents in the last minute
    uint64_t requests_total;    //  daemon_status: requests since start
    uint64_t requests_minute;   //  daemon_status: requests in the last minute
    uint64_t db_bytes;          //  daemon_status: database size on disk
    char *action;               //  admin, admin_job: backup, check or fetch
    uint64_t job;               //  admin, admin_job: job number (0: start one)
    uint64_t offset;            //  admin fetch, admin_job: where data starts
    char *state;                //  admin_job: running, done or failed
    uint64_t size;              //  admin_job: a done backup's size
    uint8_t *data;              //  admin_job: a piece of the backup; query_result: the
                                //  JSON (owned), or NULL
    size_t data_size;           //  its size
    char *what;                 //  query: builds or build
    uint64_t limit;             //  query: most builds listed
    uint64_t build_id;          //  query: the build reported
    char *unit;                 //  query: trend's unit
    uint64_t since_ms;          //  query: export's first time
    uint64_t after;             //  query: export's cursor

    char *code;                 //  error: PROTO_ERR_*
    char *field;                //  error: offending field, "" if none
    char *message;              //  error: sentence for a person
} proto_msg_t;

//  A decode failure: what to put in the error reply. The strings are
//  NUL-terminated arrays inside the struct, so nothing to free.
typedef struct {
    char code[PROTO_CODE_MAX];         //  PROTO_ERR_*
    char field[128];                   //  offending field, "" if none
    char message[PROTO_MESSAGE_MAX];   //  sentence for a person
    char attempt[PROTO_ATTEMPT_MAX + 1]; //  attempt id if it was readable, else ""
    uint64_t req;                      //  req if it was readable, else 0
} proto_error_t;

//  Create an empty message of a type; all pointers NULL, numbers 0.
proto_msg_t *proto_msg_new (proto_type_t type);

//  Free a message and everything it owns; safe on NULL; sets *self_p NULL.
void proto_msg_destroy (proto_msg_t **self_p);

//  Setters that copy (abort on out-of-memory). set_str frees the old value.
void proto_msg_set_str (char **field, const char *value);
void proto_msg_set_units (proto_msg_t *self, const char *const *units, size_t count);

//  Set a join's examples: ids[0..count) and each one's file index.
void proto_msg_set_examples (proto_msg_t *self, const char *const *ids, const uint32_t *file,
                             size_t count);

//  Encode to one msgpack map. Returns 0 and a malloc'd buffer in *data
//  (caller frees) with its size, or -1 if a required field is missing.
int proto_encode (const proto_msg_t *self, char **data, size_t *size);

//  Decode and validate one frame against limits: wire_check first, then
//  msgpack unpack (MSGPACK_UNPACK_SUCCESS and no trailing bytes), then every
//  field of the type for presence, type, range and length, and the rules in
//  the table above (units sorted and unique, digest matching the units,
//  node_index < node_total, report times count == ... checked by the daemon).
//  Unknown extra keys are ignored (forward compatibility).
//  Returns the message, or NULL with *err filled in.
proto_msg_t *proto_decode (const void *data, size_t size,
                           const proto_limits_t *limits, proto_error_t *err);

//  Build an error reply from a decode failure or from parts.
proto_msg_t *proto_error_new (const char *attempt, uint64_t req, const char *code,
                              const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

//  True if code is a user error: the agent exits 1, never retries.
bool proto_error_is_user (const char *code);

//  "join", "next", ... for logs.
const char *proto_type_name (proto_type_t type);

//  "queue", "replay", "retry", "regular".
const char *proto_kind_name (proto_kind_t kind);

//  Digest of a sorted unit list: lowercase hex SHA-1 over each name as its
//  decimal length, ':', the bytes, '\n'. Writes 41 bytes (with NUL) to out.
void proto_digest (const char *const *units, size_t count, char out[PROTO_DIGEST_LEN + 1]);

#endif
