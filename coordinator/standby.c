/*  standby.c: see standby.h.                                               */
#include "standby.h"

#include "store.h"

//  A failed unit may still run again.
static bool
s_may_rerun (const build_t *build, const builds_config_t *retry, uint32_t unit)
{
    return build->retries[unit] < retry->requeue_failed
        && build->retry_used < retry->requeue_budget;
}

//  A unit this node ran whose latest run anywhere failed and may still run
//  again (and pass).
static bool
s_own_failure (const build_t *build, const builds_config_t *retry, uint32_t node_index)
{
    if (build->failing_count == 0)
        return false;
    const build_node_t *node = &build->nodes[node_index];
    for (size_t b = 0; b < node->batch_count; b++) {
        const build_batch_t *batch = &node->batches[b];
        if (!batch->reported)
            continue;
        for (size_t u = 0; u < batch->unit_count; u++) {
            uint32_t unit = batch->unit_idx[u];
            if (build->last_ok[unit] == 0 && s_may_rerun (build, retry, unit))
                return true;
        }
    }
    return false;
}

bool
standby_release (const build_t *build, const attempt_t *attempt, const builds_config_t *retry,
                 int64_t lease_ms, int64_t now_ms)
{
    if (build->retry_count > 0 || s_own_failure (build, retry, attempt->node_index))
        return false;
    //  Batches held by others: another attempt of this very node (an
    //  earlier one still running, a newer one's replays) counts too.
    size_t running = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        for (size_t b = node->live_from; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            running += batch->attempt_id != attempt->id
                    && (batch->state == STORE_BATCH_RUNNING
                        || batch->state == STORE_BATCH_PLANNED);
        }
    }
    //  Nothing runs, yet the build is not complete: no reason to let go.
    if (running == 0)
        return false;
    size_t standing = 0;
    for (size_t i = 0; i < build->contact_count; i++) {
        const build_contact_t *contact = &build->contacts[i];
        if (contact->standing_by && contact->node_index != attempt->node_index
        &&  contact->mono_ms != INT64_MIN && now_ms - contact->mono_ms <= lease_ms)
            standing++;
    }
    //  A failure may still come and be run again, on another node than
    //  its own: keep one more.
    size_t needed = running + (retry->requeue_failed > 0
                               && build->retry_used < retry->requeue_budget);
    return standing >= needed;
}
