/*  standby.c: see standby.h.                                               */
#include "standby.h"

#include "store.h"

//  A unit this node ran whose latest run anywhere failed.
static bool
s_own_failure (const build_t *build, uint32_t node_index)
{
    if (build->failing_count == 0)
        return false;
    const build_node_t *node = &build->nodes[node_index];
    for (size_t b = 0; b < node->batch_count; b++) {
        const build_batch_t *batch = &node->batches[b];
        if (!batch->reported)
            continue;
        for (size_t u = 0; u < batch->unit_count; u++)
            if (build->last_ok[batch->unit_idx[u]] == 0)
                return true;
    }
    return false;
}

bool
standby_release (const build_t *build, const attempt_t *attempt, int64_t lease_ms,
                 int64_t now_ms)
{
    if (build->retry_count > 0 || s_own_failure (build, attempt->node_index))
        return false;
    size_t running = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        if (n == attempt->node_index)
            continue;
        const build_node_t *node = &build->nodes[n];
        for (size_t b = node->live_from; b < node->batch_count; b++)
            running += node->batches[b].state == STORE_BATCH_RUNNING
                    || node->batches[b].state == STORE_BATCH_PLANNED;
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
    return standing >= running;
}
