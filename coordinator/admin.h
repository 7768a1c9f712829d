/*  admin.h: the admin requests: only a key marked admin may make them
    when CurveZMQ is on (access.h). For now, status: how the daemon is, for
    `satchel status`. Also the count of requests over the last minute that
    status reports.                                                        */
#ifndef SATCHEL_ADMIN_H
#define SATCHEL_ADMIN_H

#include "builds.h"
#include "proto.h"
#include "store.h"

#include <stdint.h>

#define ADMIN_WINDOW_S 60

//  Requests over the last minute: one slot per second, reused round the
//  clock; a slot whose second is out of the window counts nothing.
typedef struct {
    int64_t second[ADMIN_WINDOW_S];    //  the second (monotonic) each slot counts
    uint64_t count[ADMIN_WINDOW_S];    //  requests in that second
} admin_window_t;

//  Count one request at now_mono_ms.
void admin_window_add (admin_window_t *self, int64_t now_mono_ms);

//  Requests in the 60 seconds up to now_mono_ms.
uint64_t admin_window_sum (const admin_window_t *self, int64_t now_mono_ms);

//  What status says, gathered by the request handler.
typedef struct {
    int64_t started_mono_ms;           //  when satcheld started
    uint64_t requests;                 //  requests handled so far
    const admin_window_t *window;      //  of which, recently
    builds_t *builds;                  //  builds in flight, agents seen
    store_t *store;                    //  its file size
} admin_facts_t;

//  The daemon_status reply to req, in *out (attempt and req echoed).
void admin_status (const admin_facts_t *facts, const proto_msg_t *req, proto_msg_t **out);

#endif
