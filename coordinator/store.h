/*  store.h: satcheld's SQLite database, the only state the daemon has.

    WAL mode, synchronous=NORMAL (a commit survives kill -9 of the daemon;
    only a power loss can drop the last commits), foreign_keys=ON, schema
    versioned with PRAGMA user_version, prepared statements only, each
    statement reset right after use. One connection, owned by the loop's
    thread, through the VFS of store_vfs.h (a commit's WAL frames in one
    write). Writes go inside store_begin / store_commit, which the server
    wraps around a whole group of requests (group commit): replies are sent
    only after store_commit returned 0.

    Tables (see store.c for the DDL):
      suites    (id, name, startup_ms, startup_samples) one per suite, with the
                                                        runner start-up it learned
      builds    (id, suite_id, build_key, node_total, mode, commit, branch,
                 digest, unit_count, created_ms, finished_ms, fail_fast, result,
                 known, examples, pruned)
      units     (build_id, idx, name, predicted_ms, split_node, parent)
                                                        a build's list in queue order
      attempts  (id, build_id, node_index, attempt, started_ms, last_req, last_reply,
                 only_failed, no_wait, stopped, machine)
      batches   (id, build_id, node_index, seq, attempt_id, created_ms,
                 reported_ms, wall_ms, exit_code, state, lease, kind, origin,
                 tests_ms, runs)
      build_nodes (build_id, node_index, units, busy_ms, idle_ms, finish_ms)
                                                        per-node summary of a finished build
      batch_units (batch_id, pos, unit_idx, ok)         a batch's units in order
      timings   (suite_id, name, estimate_ms, samples, updated_ms, parent)
                                                        smoothed history
      samples   (id, suite_id, build_id, name, duration_ms, ok, at_ms, pace)  raw history
      fallbacks (id, suite_id, build_key, node_index, node_total, units, at_ms)
                                                        nodes that ran split by name
      machines  (suite_id, machine, pace, samples, spread, builds, updated_ms)
                                                        each machine's pace, learned

    Every function returns 0 on success and -1 on a database error (logged
    with the SQLite message), unless it says otherwise.                    */
#ifndef SATCHEL_STORE_H
#define SATCHEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _store_t store_t;

#define STORE_SCHEMA_VERSION 9

//  Process-wide SQLite settings; call once, before the first store_open.
//  Turns SQLite's memory statistics off: they take a global mutex on every
//  allocation, about 5% of a request's cost in the daemon.
void store_init_process (void);

//  Open (creating if needed) the database at path and migrate it to
//  STORE_SCHEMA_VERSION. The folder must exist. Returns NULL on error and
//  logs why. A database from a newer satchel (user_version higher) is
//  refused.
store_t *store_open (const char *path);

//  Close cleanly (finalize statements, checkpoint). Safe on NULL.
void store_destroy (store_t **self_p);

//  BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback never fails visibly.
int store_begin (store_t *self);
int store_commit (store_t *self);
void store_rollback (store_t *self);

//  Find or create a suite by name; its id in *suite_id.
int store_suite_ensure (store_t *self, const char *name, int64_t *suite_id);

//  Smoothed estimates for names[0..count): estimate_ms[i] is the history's
//  estimate, or -1 if the suite never ran that unit. A file that was split
//  into examples is at least the sum of its examples seen within a week of
//  the latest of them.
int store_estimates (store_t *self, int64_t suite_id, const char *const *names,
                     size_t count, double *estimate_ms);

//  Record one measured run of a unit: insert a sample row and update the
//  smoothed estimate (new = old + alpha * (sample - old); the first sample
//  is taken as is).
int store_record_sample (store_t *self, int64_t suite_id, int64_t build_id,
                         const char *name, double duration_ms, bool ok,
                         double alpha, int64_t at_ms);

//  The same, for an example of the file parent (NULL: a file).
int store_record_sample_of (store_t *self, int64_t suite_id, int64_t build_id, const char *name,
                            const char *parent, double duration_ms, bool ok, double alpha,
                            int64_t at_ms);

//  The same, for a run on a machine of pace (its pace relative to the
//  farm's median machine; 1: none known): the sample keeps duration_ms
//  and pace, the estimate learns duration_ms / pace.
int store_record_sample_paced (store_t *self, int64_t suite_id, int64_t build_id,
                               const char *name, const char *parent, double duration_ms,
                               double pace, bool ok, double alpha, int64_t at_ms);

//  A machine first learned at the end of a build: its sample of name in
//  that build, recorded with pace 1 (none known then), takes pace, and
//  the unit's estimate moves as if the sample had been learned with it.
//  Nothing changes if the build has no such sample, or more than one (the
//  unit ran on two nodes: which machine ran which is not kept). *changed
//  says whether one changed.
int store_repace_sample (store_t *self, int64_t suite_id, int64_t build_id, const char *name,
                         double pace, double alpha, bool *changed);

//  Median estimate of the suite's files (not examples), or -1 in
//  *median_ms if it has none.
int store_suite_median (store_t *self, int64_t suite_id, double *median_ms);

//  The runner start-up cost the suite learned: *startup_ms (-1 if none
//  yet) over *samples batches.
int store_suite_startup (store_t *self, int64_t suite_id, double *startup_ms, int64_t *samples);

//  Learn one start-up sample: new = old + alpha * (sample - old), the first
//  taken as is.
int store_learn_startup (store_t *self, int64_t suite_id, double sample_ms, double alpha);

//  A machine's pace as a suite learned it.
typedef struct {
    double pace;             //  relative to its builds' other machines; -1: none
    double samples;          //  how many units it rests on
    double spread;           //  how far a build's pace strays from it, relative
    int64_t builds;          //  builds learned from
} store_machine_t;

//  The pace the suite learned for machine (row->pace -1 if none).
int store_machine_pace (store_t *self, int64_t suite_id, const char *machine,
                        store_machine_t *row);

//  Learn a machine's pace from one build, noise being how far the build's
//  pace may stray by its units' noise alone: spread = old + alpha * (max
//  (|pace - old pace| / old pace - noise, 0) - old), then pace = old +
//  alpha * (pace - old); the first taken as is, with spread first_spread;
//  samples add up to at most cap.
int store_learn_machine (store_t *self, int64_t suite_id, const char *machine, double pace,
                         double samples, double noise, double alpha, double cap,
                         double first_spread, int64_t at_ms);

//  For each file split into examples in the build whose every example has
//  a sample from the build, record a sample of the file: the sum of each
//  example's latest, as measured, with the pace that makes the file's
//  estimate learn their sum on a median machine. *recorded says how many
//  files. Returns 0 or -1.
int store_file_sums (store_t *self, int64_t build_id, int64_t suite_id, double alpha,
                     int64_t at_ms, size_t *recorded);

//  A build row.
typedef struct {
    int64_t id;              //  builds.id
    int64_t suite_id;        //  suites.id
    char *build_key;         //  the build id given by CI (owned)
    uint32_t node_total;     //  nodes in the build
    char *mode;              //  "queue" (owned)
    char *commit;            //  commit (owned)
    char *branch;            //  branch (owned)
    char *digest;            //  digest of the unit list (owned)
    uint32_t unit_count;     //  units in the build
    int64_t created_ms;      //  wall clock
    int64_t finished_ms;     //  wall clock, 0 while running
    bool fail_fast;          //  the first failure stops the build
    char *result;            //  "" while running; passed, failed, flaky, stopped (owned)
    char *suite;             //  the suite's name, when read back (owned)
    uint32_t known;          //  units whose prediction came from history
    uint32_t examples;       //  units that are examples of split files
} store_build_t;

//  Free the strings of a build row (not the row itself).
void store_build_clear (store_build_t *row);

//  Look a build up by (suite_id, build_key). Returns 0 and fills *row
//  (caller clears) if found, 1 if not found, -1 on error.
int store_build_find (store_t *self, int64_t suite_id, const char *build_key,
                      store_build_t *row);

//  Load a build by id. Returns 0 found, 1 not found, -1 on error.
int store_build_get (store_t *self, int64_t build_id, store_build_t *row);

//  Insert a build; row->id is set. Strings are copied by SQLite.
int store_build_insert (store_t *self, store_build_t *row);

//  No node: a unit of a queue build.
#define STORE_NO_NODE UINT32_MAX

//  Insert a build's units in queue order: idx 0..count-1. split_node, if
//  not NULL, is each unit's node in a regular build's split.
int store_units_insert (store_t *self, int64_t build_id, const char *const *names,
                        const double *predicted_ms, size_t count,
                        const uint32_t *split_node);

//  Load a build's units in idx order. *names_out (count strings, each
//  owned, array owned), *predicted_out (owned) and, unless split_out is
//  NULL, *split_out (owned: each unit's split node or STORE_NO_NODE) are
//  malloc'd.
int store_units_load (store_t *self, int64_t build_id, char ***names_out,
                      double **predicted_out, size_t *count_out, uint32_t **split_out);

//  Name the file each example unit of a build belongs to: parents[idx]
//  (NULL: a file, left alone) for idx 0..count-1.
int store_units_parents_set (store_t *self, int64_t build_id, char *const *parents,
                             size_t count);

//  Each unit's file for a build of count units: *parents_out[idx] is the
//  file of an example, NULL for a file (array and strings malloc'd).
int store_units_parents_load (store_t *self, int64_t build_id, size_t count,
                              char ***parents_out);

//  The earliest regular build of the suite, other than except_build_id,
//  with the same commit, branch, node total and test list digest: the one
//  whose split a new build reuses. Returns 0 and *build_id, 1 if none, -1.
int store_split_find (store_t *self, int64_t suite_id, const char *commit,
                      const char *branch, uint32_t node_total, const char *digest,
                      int64_t except_build_id, int64_t *build_id);

//  Mark a build finished at at_ms with its result.
int store_build_finish (store_t *self, int64_t build_id, int64_t at_ms, const char *result);

//  Record the summary of one node of a finished build.
int store_node_summary (store_t *self, int64_t build_id, uint32_t node_index, uint64_t units,
                        int64_t busy_ms, int64_t idle_ms, int64_t finish_ms);

//  An attempt row.
typedef struct {
    int64_t id;              //  attempts.id
    int64_t build_id;        //  builds.id
    uint32_t node_index;     //  node of the build
    char *attempt;           //  the agent's attempt id (owned)
    uint64_t last_req;       //  last request answered, 0 if none
    void *last_reply;        //  encoded reply to last_req (owned), NULL if none
    size_t last_reply_size;  //  its size
    bool only_failed;        //  replay only what did not pass
    bool no_wait;            //  done instead of wait
    bool stopped;            //  handed its batch back: gets no more work
    char *machine;           //  the machine it runs on (owned), NULL if not said
} store_attempt_t;

void store_attempt_clear (store_attempt_t *row);

//  Insert an attempt; *attempt_id set.
int store_attempt_insert (store_t *self, int64_t build_id, uint32_t node_index,
                          const char *attempt, int64_t at_ms, bool only_failed,
                          bool no_wait, const char *machine, int64_t *attempt_id);

//  The machine an attempt of a build said it runs on.
typedef struct {
    int64_t id;              //  attempts.id
    uint32_t node_index;     //  its node
    char *machine;           //  (owned), NULL if it said none
} store_attempt_machine_t;

//  Every attempt of the build, oldest first: *rows (count of them; free
//  with store_attempt_machines_free).
int store_attempt_machines (store_t *self, int64_t build_id, store_attempt_machine_t **rows,
                            size_t *count);
void store_attempt_machines_free (store_attempt_machine_t *rows, size_t count);

//  Mark an attempt stopped (it handed its batch back).
int store_attempt_stop (store_t *self, int64_t attempt_id);

//  Find an attempt by its id string. Returns 0 found (row filled, caller
//  clears), 1 not found, -1 on error.
int store_attempt_find (store_t *self, const char *attempt, store_attempt_t *row);

//  Remember the reply given to req (for idempotent retries).
int store_attempt_save_reply (store_t *self, int64_t attempt_id, uint64_t req,
                              const void *reply, size_t size);

//  Who owns a batch's units (batches.state).
#define STORE_BATCH_RUNNING 0     //  handed out, its attempt holds the lease
#define STORE_BATCH_DONE 1        //  reported by the attempt that held it
#define STORE_BATCH_EXPIRED 2     //  lease lapsed: units went back to the queue
#define STORE_BATCH_SUPERSEDED 3  //  a newer attempt of the node replays it
#define STORE_BATCH_PLANNED 4     //  a replay not handed out yet
#define STORE_BATCH_RETURNED 5    //  handed back unrun: units went back to the queue

//  What is written with a new batch.
typedef struct {
    int state;               //  STORE_BATCH_*
    uint64_t lease;          //  lease number, 0 for a planned batch
    int kind;                //  proto_kind_t
    uint32_t origin;         //  for a replay, the seq of the batch it repeats
    uint64_t req;            //  the attempt's request it was made for, 0: none
} store_batch_meta_t;

//  Insert a batch with its units (unit_idx in run order); *batch_id set.
int store_batch_insert (store_t *self, int64_t build_id, uint32_t node_index,
                        uint32_t seq, int64_t attempt_id, const uint32_t *unit_idx,
                        size_t count, int64_t at_ms, const store_batch_meta_t *meta,
                        int64_t *batch_id);

//  Each unit's own result from the report: unit_ok[pos] 1 passed, 0 failed,
//  -1 by the batch's exit code (left NULL).
int store_batch_unit_ok (store_t *self, int64_t batch_id, const int8_t *unit_ok, size_t count);

//  Change a batch's state and lease.
int store_batch_state (store_t *self, int64_t batch_id, int state, uint64_t lease);

//  Record a batch's report and its state after it: its wall time, exit
//  status, the sum of its units' measured times (tests_ms, -1: not all
//  measured) and its runner starts (runs, 0 counts as 1). One UPDATE of
//  the row: this runs for nearly every request.
int store_batch_report (store_t *self, int64_t batch_id, uint64_t wall_ms,
                        int32_t exit_code, int64_t at_ms, int state, int64_t tests_ms,
                        uint32_t runs);

//  One batch as loaded back.
typedef struct {
    int64_t id;              //  batches.id
    uint32_t node_index;     //  node it was given to
    uint32_t seq;            //  node's batch number, 1-based
    int64_t attempt_id;      //  attempt that received it
    bool reported;           //  a report arrived
    int32_t exit_code;       //  if reported
    uint32_t *unit_idx;      //  units in order (owned)
    int8_t *unit_ok;         //  per unit 1 passed, 0 failed, -1 by exit code; NULL:
                             //  every unit by exit code (owned)
    size_t unit_count;       //  number of units
    int state;               //  STORE_BATCH_*
    uint64_t lease;          //  lease number
    int kind;                //  proto_kind_t
    uint32_t origin;         //  seq of the batch a replay repeats
    uint64_t wall_ms;        //  runner wall time, if reported
    int64_t reported_ms;     //  wall clock of the report, 0 if none
    int64_t created_ms;      //  wall clock of the assignment
    uint64_t req;            //  the request it was made for, 0: none
} store_batch_t;

//  Load every batch of a build, ordered by id. *batches_out is a malloc'd
//  array of count rows; free with store_batches_free.
int store_batches_load (store_t *self, int64_t build_id, store_batch_t **batches_out,
                        size_t *count_out);
void store_batches_free (store_batch_t *batches, size_t count);

//  Record that node index of total of the suite's build build_key ran
//  units split by name (fallback mode), as its agent said at at_ms.
int store_fallback_record (store_t *self, int64_t suite_id, const char *build_key,
                           uint32_t node_index, uint32_t node_total, uint64_t units,
                           int64_t at_ms);

//  The database's path (borrowed).
const char *store_path (store_t *self);

//  The database's size on disk: the file and its WAL (0 for what cannot
//  be read).
uint64_t store_disk_bytes (store_t *self);

//  Let this connection checkpoint the WAL every pages pages, or never
//  (0: a checkpointer thread does it, see checkpointer.h). Returns 0 or -1.
int store_autocheckpoint (store_t *self, int pages);

//  For the store's companion files (store_prune.c): the connection,
//  borrowed, and the logger of a failed operation (returns -1).
struct sqlite3 *store_handle (store_t *self);
int store_fail (store_t *self, const char *op);

//  Count samples and timing rows of a suite (tests and admin use).
int store_suite_counts (store_t *self, int64_t suite_id, int64_t *timings, int64_t *samples);

#endif
