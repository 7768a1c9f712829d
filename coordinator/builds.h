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
    UNIT_QUEUED = 0,     //  waiting in the queue
    UNIT_ASSIGNED = 1,   //  in a batch that has not been reported
    UNIT_DONE = 2        //  in a reported batch
} unit_state_t;

//  One batch handed to a node.
typedef struct {
    int64_t id;              //  batches.id
    uint32_t seq;            //  node's batch number, 1-based
    uint32_t *unit_idx;      //  units in run order (owned)
    size_t unit_count;       //  number of units
    bool reported;           //  a report arrived for it
} build_batch_t;

//  One node of a build.
typedef struct {
    build_batch_t *batches;  //  batches in seq order (owned array)
    size_t batch_count;      //  number of batches
    size_t batch_alloc;      //  allocated slots
} build_node_t;

typedef struct {
    int64_t id;              //  builds.id
    int64_t suite_id;        //  suites.id
    char *suite;             //  suite name (owned)
    char *key;               //  build id from CI (owned)
    char *digest;            //  digest of the unit list (owned)
    char *mode;              //  "queue" (owned)
    uint32_t node_total;     //  nodes in the build
    size_t unit_count;       //  units in the build
    char **names;            //  unit names in queue order (owned)
    double *predicted_ms;    //  predicted time per unit (owned)
    uint8_t *state;          //  unit_state_t per unit (owned)
    uint32_t *queue;         //  unit indices waiting, handed out from queue_head (owned)
    double *queue_ms;        //  predicted time of each queue entry, for sched_batch_take (owned)
    size_t queue_head;       //  first waiting entry of queue
    size_t queue_len;        //  entries in queue (waiting ones are [head, len))
    double remaining_ms;     //  predicted time of the waiting units
    size_t done_count;       //  units in state UNIT_DONE
    uint8_t *guessed;        //  per unit: 1 if its prediction is a guess (no history) (owned)
    double guess_ms;         //  the prediction the waiting guessed units have now
    double guess_sum_ms;     //  measured time of the guessed units done so far
    size_t guess_count;      //  how many of them
    bool finished;           //  every unit done; finished_ms written
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
} attempt_t;

typedef struct _builds_t builds_t;

builds_t *builds_new (store_t *store);
void builds_destroy (builds_t **self_p);

//  Find a build by (suite_id, key): from memory, else loaded from the
//  store. Returns 0 and *build, 1 if no such build, -1 on a store error.
int builds_find (builds_t *self, int64_t suite_id, const char *key, build_t **build);

//  Create a build in memory and in the store (inside the caller's
//  transaction). names are sorted unique unit names; predicted their
//  estimates (no unseen left). Units are stored in queue order, longest
//  first. Returns 0 and *build, or -1 on a store error.
int builds_create (builds_t *self, int64_t suite_id, const char *suite, const char *key,
                   uint32_t node_total, const char *mode, const char *commit,
                   const char *branch, const char *digest, char **names,
                   const double *predicted, const uint8_t *guessed, size_t count,
                   build_t **build);

//  Learn from a reported unit: if its prediction was a guess, its measured
//  time joins the mean of the guessed units done so far. Once 3 have been
//  reported and that mean is more than 10% above what the waiting guessed
//  units predict, they all take it: a build without history should not
//  keep packing batches by a default its own reports have proved too low.
//  Guesses never shrink (see builds.c for why). Memory only: after a
//  restart the stored guesses are used again.
void builds_learn_guess (build_t *build, uint32_t unit_idx, double measured_ms);

//  Find an attempt: memory, else the store (loading its build). Returns 0
//  and *attempt, 1 if unknown, -1 on a store error.
int builds_attempt_find (builds_t *self, const char *attempt_id, attempt_t **attempt);

//  Register a new attempt of a node in the store and in memory.
int builds_attempt_add (builds_t *self, build_t *build, uint32_t node_index,
                        const char *attempt_id, attempt_t **attempt);

//  Remember the reply given to req, in memory and in the store.
int builds_attempt_reply (builds_t *self, attempt_t *attempt, uint64_t req,
                          const char *reply, size_t size);

//  Append a batch to a node: moves units from the queue front, writes the
//  batch. Returns 0 and *batch (borrowed), or -1 on a store error.
int builds_batch_assign (builds_t *self, build_t *build, attempt_t *attempt, size_t take,
                         build_batch_t **batch);

//  The node's batch with number seq, or NULL.
build_batch_t *builds_batch_find (build_t *build, uint32_t node_index, uint32_t seq);

//  Mark a batch reported: its units become done. Returns the number of
//  units newly done.
size_t builds_batch_complete (build_t *build, build_batch_t *batch);

//  Drop everything cached (after a failed commit: memory may be ahead of
//  the database).
void builds_forget_all (builds_t *self);

//  Drop finished builds (and their attempts) when more than max_cached
//  builds are in memory.
void builds_trim (builds_t *self, size_t max_cached);

#endif
