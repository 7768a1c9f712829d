/*  builds.h: the daemon's in-memory view of running builds and attempts.

    SQLite is the truth; this is a cache of it that the request handlers
    change in step with their writes. Anything can be dropped at any time
    (builds_forget_all after a failed commit, builds_trim to bound memory)
    and is loaded back from the store on the next request that needs it,
    which is also how a restarted daemon resumes its running builds.      */
#ifndef SATCHEL_BUILDS_H
#define SATCHEL_BUILDS_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    UNIT_QUEUED = 0,     //  waiting in the queue (or, done and failed, in the retry list)
    UNIT_ASSIGNED = 1,   //  held by a running or planned batch (holder_*)
    UNIT_DONE = 2,       //  ran to completion at least once
    UNIT_RESERVED = 3    //  regular mode: kept for its node's list, not handed out yet
} unit_state_t;

//  One batch of a node.
typedef struct {
    int64_t id;              //  batches.id
    uint32_t seq;            //  node's batch number, 1-based
    uint32_t *unit_idx;      //  units in run order (owned)
    int8_t *unit_ok;         //  per unit, from a test report: 1 passed, 0 failed, -1 by
                             //  exit code; NULL: all by exit code (owned)
    size_t unit_count;       //  number of units
    int64_t attempt_id;      //  attempts.id that holds (or held) it
    uint8_t state;           //  STORE_BATCH_*
    uint8_t kind;            //  proto_kind_t
    bool reported;           //  a report arrived (from the holder, or late)
    int32_t exit_code;       //  if reported
    uint64_t lease;          //  lease number; 0 while planned
    uint32_t origin;         //  for a replay: seq of the batch it repeats
    uint64_t wall_ms;        //  runner wall time, if reported
    int64_t created_ms;      //  wall clock of the assignment
    int64_t reported_ms;     //  wall clock of the report, 0 if none
    int64_t handed_mono_ms;  //  monotonic start of its lease (or of the load)
    double predicted_ms;     //  predicted time of its units
    uint64_t req;            //  the request of its attempt it was made for, 0: none
} build_batch_t;

//  One node of a build.
typedef struct {
    build_batch_t *batches;  //  batches in seq order (owned array)
    size_t batch_count;      //  number of batches
    size_t batch_alloc;      //  allocated slots
    size_t live_from;        //  no batch before this index is running or planned
    bool listed;             //  regular mode: the node was given its list
    //  Its reported batches (with a wall time and a prediction), summed for
    //  its pace (pace.c), so a request need not walk every batch.
    size_t paced_batches;    //  how many
    double paced_wall_ms;    //  their wall times
    double paced_predicted_ms;   //  their predicted unit times
    double paced_unit_squares;   //  the squares of their units' predictions
    //  The machine of its latest attempt (NULL: not said) and that
    //  machine's pace as the suite learned it (pace.c's prior until the
    //  node reports here; prior_pace <= 0: none).
    char *machine;           //  (owned)
    int64_t machine_attempt; //  attempts.id that said it
    bool machine_mixed;      //  its attempts named different machines (or some none)
    double prior_pace;       //  relative to the other machines of its builds
    double prior_samples;    //  how many units it rests on
    double prior_spread;     //  how far a build's pace strays from it, relative
} build_node_t;

//  A failed unit waiting to run again on another node.
typedef struct {
    uint32_t unit;           //  unit index
    uint32_t avoid_node;     //  the node where it failed
} build_retry_t;

//  When an attempt was last heard from (monotonic), for its leases.
typedef struct {
    int64_t attempt_id;      //  attempts.id
    uint32_t node_index;     //  its node
    int64_t mono_ms;         //  last request; INT64_MIN once it was told done
    bool standing_by;        //  its last next found nothing to run (standby.c)
} build_contact_t;

typedef struct {
    int64_t id;              //  builds.id
    int64_t suite_id;        //  suites.id
    char *suite;             //  suite name (owned)
    char *key;               //  build id from CI (owned)
    char *digest;            //  digest of the unit list (owned)
    char *mode;              //  "queue" or "regular" (owned)
    bool regular;            //  mode is "regular"
    uint32_t *split_node;    //  per unit: its node in a regular split, else STORE_NO_NODE (owned)
    uint32_t node_total;     //  nodes in the build
    size_t unit_count;       //  units in the build
    char **names;            //  unit names in queue order (owned)
    char **parents;          //  per unit: the file an example belongs to, NULL for a file;
                             //  NULL if the build has no examples (owned)
    double *predicted_ms;    //  predicted time per unit (owned)
    uint8_t *state;          //  unit_state_t per unit (owned)
    uint32_t *holder_node;   //  per unit: node of the batch holding it, if assigned (owned)
    uint32_t *holder_seq;    //  per unit: seq of that batch (owned)
    int8_t *last_ok;         //  per unit: latest run passed 1, failed 0, none -1 (owned)
    uint32_t *last_node;     //  per unit: node of the latest run (owned)
    uint16_t *fails;         //  per unit: failed runs, saturating (owned)
    uint16_t *passes;        //  per unit: passed runs, saturating (owned)
    uint16_t *queue_runs;    //  per unit: runs from queue batches, saturating (owned)
    uint8_t *retries;        //  per unit: times requeued after failing (owned)
    uint32_t *queue;         //  unit indices waiting, handed out from queue_head (owned)
    double *queue_ms;        //  predicted time of each queue entry, for sched_batch_take (owned)
    size_t queue_head;       //  first waiting entry of queue
    size_t queue_len;        //  entries in queue (waiting ones are [head, len))
    double remaining_ms;     //  predicted time of the waiting units
    size_t done_count;       //  units in state UNIT_DONE
    size_t failing_count;    //  units whose latest run failed
    size_t flaky_count;      //  units that failed and passed
    build_retry_t *retry;    //  failed units to run again elsewhere (owned)
    size_t retry_count;      //  entries in retry
    size_t retry_alloc;      //  allocated
    size_t retry_used;       //  requeues handed out, from the build's budget
    size_t retry_live;       //  retry batches running or planned
    uint8_t *guessed;        //  per unit: 1 if its prediction is a guess (no history) (owned)
    double guess_scale;      //  the waiting guessed units are their first guess times this
    double guess_sum_ms;     //  measured time of the guessed units done so far
    double guess_first_ms;   //  their first guesses, summed
    size_t guess_count;      //  how many of them
    size_t known_count;      //  units whose prediction came from history
    size_t example_count;    //  units that are examples of split files
    double startup_ms;       //  the suite's learned runner start-up, -1 if not known
    bool startup_loaded;     //  startup_ms was read from the store
    uint64_t next_lease;     //  lease number for the next batch handed out
    bool fail_fast;          //  the first failure stops the build
    bool stopping;           //  fail-fast fired: every node stops after its batch
    char *stop_reason;       //  why, for done replies and logs (owned)
    bool finished;           //  every unit done; finished_ms written
    int64_t created_ms;      //  wall clock of the first join
    build_contact_t *contacts; //  per attempt, last heard (owned)
    size_t contact_count;    //  entries
    size_t contact_alloc;    //  allocated
    int64_t next_expiry_check_ms; //  monotonic: leases are checked no more often
    build_node_t *nodes;     //  node_total entries (owned)
    int64_t touched_ms;      //  last use, monotonic, for trimming
} build_t;

typedef struct {
    int64_t id;              //  attempts.id
    char *attempt;           //  attempt id string (owned)
    build_t *build;          //  borrowed from the registry
    uint32_t node_index;     //  node of the build
    uint64_t last_req;       //  last request answered
    char *last_reply;        //  its encoded reply (owned), NULL if none
    size_t last_reply_size;  //  its size
    uint32_t reply_seq;      //  last_reply NULL: the batch whose reply it was, to be
                             //  made again (loaded back from the batch's req), or 0
    bool only_failed;        //  replays hold only what did not pass
    bool no_wait;            //  done instead of wait
    bool stopped;            //  handed its batch back: no more work
    size_t plan_pos;         //  node batch index from which to look for its planned batches
    int64_t seen_ms;         //  its last request, monotonic
    double machine_pace;     //  the pace the suite learned for its machine; 0: none
} attempt_t;

typedef struct _builds_t builds_t;

//  How failed units are run again (--requeue-failed, --requeue-budget).
typedef struct {
    uint32_t requeue_failed;   //  runs again per failed unit, 0 = never
    uint32_t requeue_budget;   //  runs again per build, all units together
} builds_config_t;

builds_t *builds_new (store_t *store, const builds_config_t *config);

//  New retry limits (a configuration reload), for the runs again from now.
void builds_configure (builds_t *self, const builds_config_t *config);
void builds_destroy (builds_t **self_p);

//  Find a build by (suite_id, key): from memory, else loaded from the
//  store. Returns 0 and *build, 1 if no such build, -1 on a store error.
int builds_find (builds_t *self, int64_t suite_id, const char *key, build_t **build);

//  What a new build is.
typedef struct {
    int64_t suite_id;        //  suites.id
    const char *suite;       //  suite name
    const char *key;         //  build key (the CI build id, or a fixed-split name)
    uint32_t node_total;     //  nodes in the build
    const char *mode;        //  "queue" or "regular"
    const char *commit;      //  may be ""
    const char *branch;      //  may be ""
    const char *digest;      //  digest of the unit list
    bool fail_fast;          //  the first failure stops the build
    char **parents;          //  per unit (in the order of names): an example's file, NULL
                             //  for a file; NULL: no examples (copied)
} builds_new_t;

//  Create a build in memory and in the store (inside the caller's
//  transaction). names are the unit names in queue order (for a regular
//  build, each node's list is its units in this order); predicted their
//  estimates (no unseen left), guessed which are guesses. split_node is
//  NULL for a queue build (every unit queued), else each unit's node in
//  the regular split (every unit reserved for its node's list). Returns 0
//  and *build, or -1 on a store error.
int builds_create (builds_t *self, const builds_new_t *spec, char **names,
                   const double *predicted, const uint8_t *guessed,
                   const uint32_t *split_node, size_t count, build_t **build);

//  Learn from a reported unit: if its prediction was a guess, its measured
//  time and its first guess join the sums of the guessed units done so
//  far. Once 3 have been reported and measured / guessed is more than 10%
//  above the scale the guessed units have, each guessed unit not yet
//  reported takes its first guess times that ratio (the queue's sums
//  follow for the waiting ones): a build without history should not keep
//  packing batches by estimates its own reports have proved too low.
//  Guesses never shrink (see builds.c for why). Memory only: after a
//  restart the stored guesses are used again.
void builds_learn_guess (build_t *build, uint32_t unit_idx, double measured_ms);

//  Find an attempt: memory, else the store (loading its build). Returns 0
//  and *attempt, 1 if unknown, -1 on a store error.
int builds_attempt_find (builds_t *self, const char *attempt_id, attempt_t **attempt);

//  Register a new attempt of a node in the store and in memory.
int builds_attempt_add (builds_t *self, build_t *build, uint32_t node_index,
                        const char *attempt_id, bool only_failed, bool no_wait,
                        const char *machine, attempt_t **attempt);

//  Learn each machine's pace from the nodes of a finished queue build
//  that reported batches (pace.c), relative to the median of the build's
//  measured nodes (at least two), the nodes of one machine together, a
//  node whose attempts ran on different machines not at all, startup_ms
//  being the runner start-up the plan used. Only a build that passed (or
//  was flaky) with at least 90% of its units from history teaches. A
//  machine no pace was known for when its nodes began has their samples
//  of the build re-paced (store_repace_sample, alpha as the estimates
//  learn). Returns 0 or -1 on a store error.
int builds_learn_machines (builds_t *self, const build_t *build, double startup_ms,
                           double alpha, int64_t at_ms);

//  Remember the reply given to req, in memory and, unless it is a batch
//  made for req (whose row says so: in_batch), in the store.
int builds_attempt_reply (builds_t *self, attempt_t *attempt, uint64_t req,
                          const char *reply, size_t size, bool in_batch);

//  Append a batch to a node and write it. units[0..count) become held by
//  it (assigned), unless done already. meta says its state, lease, kind
//  and origin. The pointer is valid until the node's next append.
//  Returns 0 and *batch, or -1 on a store error.
int builds_batch_append (builds_t *self, build_t *build, attempt_t *attempt,
                         const uint32_t *units, size_t count, const store_batch_meta_t *meta,
                         build_batch_t **batch);

//  Take count units off the queue front into a new running batch of the
//  attempt's node, with a fresh lease, made for its request req. Returns 0
//  and *batch, or -1.
int builds_batch_from_queue (builds_t *self, build_t *build, attempt_t *attempt, size_t count,
                             uint64_t req,
                             build_batch_t **batch);

//  Regular mode: give the attempt's node its list, the units reserved for
//  it in queue order, as one running batch of kind regular. Returns 0 with
//  *batch (NULL if the node's list is empty or was given already), or -1.
int builds_batch_from_list (builds_t *self, build_t *build, attempt_t *attempt,
                            build_batch_t **batch);

//  Put units back at the front of the queue, in the order given (they go
//  first); each must be in no batch's hands any more.
void builds_queue_push_front (build_t *build, const uint32_t *units, size_t count);

//  The node's batch with number seq, or NULL.
build_batch_t *builds_batch_find (build_t *build, uint32_t node_index, uint32_t seq);

//  A fresh lease number of the build.
uint64_t builds_lease_next (build_t *build);

//  Units of the batch that it still holds (assigned to it), into out
//  (room for batch->unit_count). Returns how many.
size_t builds_batch_held_units (const build_t *build, uint32_t node_index,
                                const build_batch_t *batch, uint32_t *out);

//  Change a batch's state (and lease) in the store and in memory.
int builds_batch_set_state (builds_t *self, build_t *build, build_batch_t *batch, int state,
                            uint64_t lease);

//  Let go of a live batch that will not be reported by its holder: state
//  becomes EXPIRED or RETURNED, the units it held go back to the queue
//  front (*requeued says how many), a replay's superseded original goes
//  with it, and a retry batch's failed units are owed their run again.
//  Returns 0 or -1 on a store error.
int builds_batch_release (builds_t *self, build_t *build, uint32_t node_index,
                          build_batch_t *batch, int state, size_t *requeued);

//  Take units of the retry list into a new running retry batch of the
//  attempt's node: those that failed on another node, or any if any_node;
//  at most max_units. Returns 0 with *batch NULL if none was eligible.
int builds_batch_from_retry (builds_t *self, build_t *build, attempt_t *attempt, bool any_node,
                             size_t max_units, build_batch_t **batch);

//  Record a report of a batch: its state after the report (DONE if the
//  holder reported it, else unchanged), units done if DONE, each unit's
//  result counted: unit_ok[pos] from the runner's test report (1 passed,
//  0 failed, -1 or unit_ok NULL: passed if the exit status is 0); tests_ms
//  and runs as store_batch_report keeps them. Returns the number of units
//  newly done, or -1 on a store error.
int builds_batch_report (builds_t *self, build_t *build, uint32_t node_index,
                         build_batch_t *batch, bool holder, uint64_t wall_ms,
                         int32_t exit_code, const int8_t *unit_ok, int64_t tests_ms,
                         uint32_t runs, int64_t at_ms);

//  Whether the unit at pos of a reported batch passed: its own result from
//  the test report if there is one, else the batch's exit status.
bool builds_unit_passed (const build_batch_t *batch, size_t pos);

//  Offer a unit whose latest run failed for one more run on another node:
//  queued in the retry list if the build is not stopping, the unit has runs
//  again left and the build's budget too.
void builds_retry_offer (builds_t *self, build_t *build, uint32_t unit_idx);

//  The store this registry writes to.
store_t *builds_store (builds_t *self);

//  Drop everything cached (after a failed commit: memory may be ahead of
//  the database).
void builds_forget_all (builds_t *self);

//  Drop one build and its attempts from memory, if cached (before its rows
//  are pruned from the store). *touched_ms gets its last use (monotonic),
//  or INT64_MIN if it was not in memory.
void builds_forget (builds_t *self, int64_t build_id, int64_t *touched_ms);

//  Builds in flight: not finished, and asked about since since_mono_ms
//  (monotonic). An abandoned build (every node gone) stops counting.
size_t builds_in_flight (builds_t *self, int64_t since_mono_ms);

//  Agents (attempts in memory) that sent a request since since_mono_ms.
size_t builds_agents_seen (builds_t *self, int64_t since_mono_ms);

//  Drop finished builds (and their attempts) when more than max_cached
//  builds are in memory.
void builds_trim (builds_t *self, size_t max_cached);

//  Count batch, just reported (or loaded reported), into node's pace sums
//  (build_node_t): only a batch with a wall time and a prediction counts.
void builds_pace_add (const build_t *build, build_node_t *node, const build_batch_t *batch);

//  Move node->live_from past the batches that are no longer running or
//  planned. Done whenever one of the node's batches ends, so that the
//  walks over live batches (pace_nodes, completion, leases) stay short
//  however long the build has run.
void builds_live_advance (build_node_t *node);

#endif
