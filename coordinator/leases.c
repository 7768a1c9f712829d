/*  leases.c: see leases.h.                                                 */
#include "leases.h"

#include "log.h"
#include "proto.h"
#include "util.h"

#include <stdlib.h>

static build_contact_t *
s_contact (build_t *build, int64_t attempt_id)
{
    //  A build has a handful of attempts per node; a scan is cheaper than
    //  a hash at that size.
    for (size_t i = 0; i < build->contact_count; i++)
        if (build->contacts[i].attempt_id == attempt_id)
            return &build->contacts[i];
    return NULL;
}

void
leases_touch (build_t *build, int64_t attempt_id, uint32_t node_index, int64_t now_ms)
{
    build_contact_t *contact = s_contact (build, attempt_id);
    if (!contact) {
        if (build->contact_count == build->contact_alloc) {
            build->contact_alloc = build->contact_alloc ? build->contact_alloc * 2 : 8;
            build->contacts = util_realloc (build->contacts,
                                            build->contact_alloc * sizeof (build_contact_t));
        }
        contact = &build->contacts[build->contact_count++];
        contact->attempt_id = attempt_id;
        contact->node_index = node_index;
        contact->standing_by = false;
    }
    contact->mono_ms = now_ms;
}

void
leases_standing_by (build_t *build, int64_t attempt_id, bool standing)
{
    build_contact_t *contact = s_contact (build, attempt_id);
    if (contact)
        contact->standing_by = standing;
}

void
leases_gone (build_t *build, int64_t attempt_id)
{
    build_contact_t *contact = s_contact (build, attempt_id);
    if (contact) {
        contact->mono_ms = INT64_MIN;
        contact->standing_by = false;
    }
}

bool
leases_others_alive (const build_t *build, uint32_t node_index, const leases_config_t *config,
                     int64_t now_ms)
{
    for (size_t i = 0; i < build->contact_count; i++) {
        const build_contact_t *contact = &build->contacts[i];
        if (contact->node_index != node_index && contact->mono_ms != INT64_MIN
        &&  now_ms - contact->mono_ms <= config->lease_ms)
            return true;
    }
    return false;
}

static bool
s_live (int state)
{
    return state == STORE_BATCH_RUNNING || state == STORE_BATCH_PLANNED;
}

//  Take one batch back. Returns 0 or -1.
static int
s_expire (builds_t *builds, build_t *build, uint32_t node_index, build_batch_t *batch,
          const char *why)
{
    size_t count = 0;
    if (builds_batch_release (builds, build, node_index, batch, STORE_BATCH_EXPIRED, &count) != 0)
        return -1;
    log_warn ("lease_expired suite=%s build=%s node=%u batch=%u lease=%llu why=%s "
              "units_requeued=%zu", log_quote (build->suite), log_quote (build->key),
              node_index, batch->seq, (unsigned long long) batch->lease, why, count);
    return 0;
}

int
leases_expire (builds_t *builds, build_t *build, const leases_config_t *config, int64_t now_ms,
               bool force)
{
    if (!force && now_ms < build->next_expiry_check_ms)
        return 0;
    int64_t every = config->lease_ms / 4;
    build->next_expiry_check_ms = now_ms + (every < 1000 ? every : 1000);
    int expired = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        build_node_t *node = &build->nodes[n];
        builds_live_advance (node);
        for (size_t b = node->live_from; b < node->batch_count; b++) {
            build_batch_t *batch = &node->batches[b];
            if (!s_live (batch->state))
                continue;
            const build_contact_t *contact = NULL;
            for (size_t i = 0; i < build->contact_count && !contact; i++)
                if (build->contacts[i].attempt_id == batch->attempt_id)
                    contact = &build->contacts[i];
            int64_t heard = batch->handed_mono_ms;
            if (contact && contact->mono_ms > heard)
                heard = contact->mono_ms;
            const char *why = NULL;
            if (now_ms - heard > config->lease_ms)
                why = "silent";
            //  In double: a history of absurd times must not overflow the
            //  ceiling into the past.
            else if (batch->state == STORE_BATCH_RUNNING
                 &&  (double) (now_ms - batch->handed_mono_ms)
                     > (double) config->lease_max_ms + 2.0 * batch->predicted_ms)
                why = "ceiling";
            if (!why)
                continue;
            if (s_expire (builds, build, n, batch, why) != 0)
                return -1;
            expired++;
        }
    }
    return expired;
}
