/*  requests.h: what satcheld does with one request frame.

    Decodes and validates the frame, applies it to the builds (and the store,
    inside the transaction the server holds open for the whole group of
    requests), and returns the encoded reply. Replies to join and next are
    remembered per attempt, so a retried request (same attempt, same req)
    gets exactly the reply it got the first time and never a second batch. */
#ifndef SATCHEL_REQUESTS_H
#define SATCHEL_REQUESTS_H

#include "access.h"
#include "builds.h"
#include "leases.h"
#include "proto.h"
#include "scheduler.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    proto_limits_t limits;   //  checks on every incoming frame
    sched_policy_t policy;   //  batch sizing and estimates
    bool startup_given;      //  policy.startup_ms was configured (--runner-startup), not a
                             //  default: shared wall times leave it out
    double alpha;            //  weight of a new sample in the smoothed estimate
    size_t max_cached;       //  finished builds kept in memory beyond this are dropped
    leases_config_t leases;  //  lease length and ceiling
    builds_config_t retry;   //  runs again of failed units
    int64_t wait_ms;         //  retry_ms of a wait reply
    size_t max_builds;       //  builds in flight at once; a join that would start one more
                             //  is answered "busy" (transient: agents retry, then fall back)
} requests_config_t;

//  A build is in flight while it is not finished and some node asked
//  about it in this long (agents ask at least every 10 s while they work).
#define REQUESTS_IN_FLIGHT_IDLE_MS (10 * 60 * 1000)
#define REQUESTS_DEFAULT_MAX_BUILDS 1000

//  Defaults: lease 30 s (agents renew every 10 s), ceiling 60 min,
//  wait 0.5 s, no runs again of failed units (budget 50 when turned on).
#define REQUESTS_DEFAULT_LEASE_MS 30000
#define REQUESTS_DEFAULT_LEASE_MAX_MS (60 * 60 * 1000)
#define REQUESTS_DEFAULT_WAIT_MS 500
#define REQUESTS_DEFAULT_REQUEUE_BUDGET 50

void requests_config_default (requests_config_t *config);

//  Counters for status lines and logs.
typedef struct {
    uint64_t requests;       //  frames handled
    uint64_t errors;         //  error replies sent
    uint64_t retries;        //  duplicate requests answered from memory
    uint64_t batches;        //  batches handed out
    uint64_t units;          //  units handed out
    uint64_t expired;        //  leases that lapsed
    uint64_t fenced;         //  reports kept as history only
    uint64_t waits;          //  wait replies
    uint64_t finished[4];    //  builds finished: passed, failed, flaky, stopped
    uint64_t fallbacks;      //  nodes that said they ran their share split by name
} requests_stats_t;

typedef struct _requests_t requests_t;

//  The store is borrowed and must outlive the handler.
requests_t *requests_new (store_t *store, const requests_config_t *config);
void requests_destroy (requests_t **self_p);

//  Handle one frame. Always sets *reply (malloc'd, caller frees) and
//  *reply_size. Returns 0, or -1 if the store failed: the caller must roll
//  back the group's transaction, call requests_forget, and send an
//  "internal" error instead of any reply of that group.
int requests_handle (requests_t *self, const void *frame, size_t size,
                     char **reply, size_t *reply_size);

//  The same for a request from peer, whose key's permissions are checked
//  first (access.h): a request the key may not make is answered with an
//  access_refused error. requests_handle is this with every request
//  allowed (peer NULL).
int requests_handle_as (requests_t *self, const void *frame, size_t size,
                        const access_peer_t *peer, char **reply, size_t *reply_size);

//  Parking. A next that would be answered wait, and says how long its
//  agent waits for a reply anyway ("park_ms"), may instead be held: then
//  requests_handle_as returns 0 with *reply NULL, and the caller keeps the
//  frame and hands it to requests_handle_as again (with its peer) when its
//  build changes (requests_changed_builds) or requests_parked's recheck
//  time comes, until park_ms have passed; after that, and for a request
//  never parked, it is answered as always.
//  Before each requests_handle_as: may this request be parked now, and is
//  it one handled before (not counted again)? Both false by default.
void requests_park (requests_t *self, bool allow, bool again);

//  After a request was parked: its build's id, when to handle it again at
//  the latest (monotonic ms: a lease may lapse by then), and its park_ms.
void requests_parked (requests_t *self, int64_t *build_id, int64_t *recheck_ms,
                      uint64_t *park_ms);

//  Builds that changed since the last call (a report, a lapsed lease, a
//  batch handed back): their parked requests may get an answer now. Sets
//  *ids (valid until the next request) and clears the list.
size_t requests_changed_builds (requests_t *self, const int64_t **ids);

//  Encode a transient "internal" error reply for a frame whose group failed.
void requests_internal_error (char **reply, size_t *reply_size);

//  Drop the in-memory cache after a rolled-back group.
void requests_forget (requests_t *self);

//  After a committed group: bound the memory held by finished builds.
void requests_after_commit (requests_t *self);

const requests_stats_t *requests_stats (requests_t *self);

//  New limits, scheduling policy, leases, retry limits and builds in
//  flight (a configuration reload): the requests from now on see them.
void requests_configure (requests_t *self, const requests_config_t *config);

//  The last request handled: its type (a proto_type_t, 0 if it could not
//  be read) and its result ("ok" or the error code of the reply, borrowed
//  until the next request).
void requests_last_outcome (requests_t *self, int *type, const char **result);

//  The cache of builds the handlers keep (borrowed), for retention.
builds_t *requests_builds (requests_t *self);

#endif
