/*  admin.c: see admin.h.                                                 */
#include "admin.h"

#include "requests.h"
#include "util.h"

#include <stdio.h>

void
admin_window_add (admin_window_t *self, int64_t now_mono_ms)
{
    int64_t second = now_mono_ms / 1000;
    size_t slot = (size_t) (second % ADMIN_WINDOW_S);
    if (self->second[slot] != second) {
        self->second[slot] = second;
        self->count[slot] = 0;
    }
    self->count[slot]++;
}

uint64_t
admin_window_sum (const admin_window_t *self, int64_t now_mono_ms)
{
    int64_t second = now_mono_ms / 1000;
    uint64_t sum = 0;
    for (size_t slot = 0; slot < ADMIN_WINDOW_S; slot++)
        if (self->second[slot] > second - ADMIN_WINDOW_S && self->second[slot] <= second)
            sum += self->count[slot];
    return sum;
}

void
admin_status (const admin_facts_t *facts, const proto_msg_t *req, proto_msg_t **out)
{
    int64_t now = util_mono_ms ();
    proto_msg_t *reply = proto_msg_new (PROTO_DAEMON_STATUS);
    proto_msg_set_str (&reply->attempt, req->attempt);
    reply->req = req->req;
    proto_msg_set_str (&reply->version, SATCHEL_VERSION);
    reply->uptime_s = (uint64_t) ((now - facts->started_mono_ms) / 1000);
    reply->builds_running = builds_in_flight (facts->builds, now - REQUESTS_IN_FLIGHT_IDLE_MS);
    reply->agents_seen = builds_agents_seen (facts->builds, now - 60000);
    reply->requests_total = facts->requests;
    reply->requests_minute = admin_window_sum (facts->window, now);
    //  The window may count a request the total does not yet (this one).
    if (reply->requests_minute > reply->requests_total)
        reply->requests_minute = reply->requests_total;
    reply->db_bytes = store_disk_bytes (facts->store);
    *out = reply;
}
