/*  pace.c: the nodes of a build as queue mode's plan sees them.          */
#include "pace.h"

#include <string.h>

//  A node's measured pace: only reported batches with a prediction count.
//  How many units it rests on, weighted: (sum p)^2 / sum p^2 of the
//  units' predictions, so one long unit and many tiny ones count as about
//  one, as their noise does.
static void
s_pace (const build_t *build, const build_node_t *node, double startup_ms, sched_node_t *out)
{
    double wall = 0, predicted = 0, sum = 0, squares = 0;
    for (size_t b = 0; b < node->batch_count; b++) {
        const build_batch_t *batch = &node->batches[b];
        if (!batch->reported || batch->wall_ms == 0 || !(batch->predicted_ms > 0))
            continue;
        wall += (double) batch->wall_ms;
        predicted += batch->predicted_ms + startup_ms;
        for (size_t u = 0; u < batch->unit_count; u++) {
            double p = build->predicted_ms[batch->unit_idx[u]];
            sum += p;
            squares += p * p;
        }
    }
    out->paced = predicted > 0;
    out->pace = out->paced ? wall / predicted : 1.0;
    out->samples = squares > 0 ? sum * sum / squares : 0;
}

//  A node that was heard from, but by no attempt that is still alive: its
//  attempts were told done or went silent for a lease. A node never heard
//  from may be starting still, and counts.
static bool
s_absent (const build_t *build, uint32_t node_index, int64_t lease_ms, int64_t now)
{
    bool heard = false;
    for (size_t i = 0; i < build->contact_count; i++) {
        const build_contact_t *contact = &build->contacts[i];
        if (contact->node_index != node_index)
            continue;
        heard = true;
        if (contact->mono_ms != INT64_MIN && now - contact->mono_ms <= lease_ms)
            return false;
    }
    return heard;
}

void
pace_nodes (const build_t *build, uint32_t asking, double startup_ms, int64_t lease_ms,
            int64_t now, sched_node_t *out)
{
    //  A node not yet measured is taken to run as the measured ones do on
    //  average: when the predictions are off for every node alike (a build
    //  without history), the first node to report must not look many
    //  times faster than the others and take the whole queue.
    double paced_sum = 0;
    uint32_t paced = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        memset (&out[n], 0, sizeof out[n]);
        s_pace (build, &build->nodes[n], startup_ms, &out[n]);
        if (out[n].paced) {
            paced_sum += out[n].pace;
            paced++;
        }
    }
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        sched_node_t *plan = &out[n];
        if (!plan->paced && paced > 0)
            plan->pace = paced_sum / paced;
        if (n == asking)
            continue;
        plan->absent = s_absent (build, n, lease_ms, now);
        for (size_t b = node->live_from; b < node->batch_count; b++) {
            const build_batch_t *batch = &node->batches[b];
            if (batch->state != STORE_BATCH_RUNNING)
                continue;
            double end = (double) batch->handed_mono_ms
                       + (batch->predicted_ms + startup_ms) * plan->pace;
            double left = end - (double) now;
            if (left > plan->busy_ms)
                plan->busy_ms = left;
        }
    }
}
