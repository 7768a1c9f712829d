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

double
pace_of (const build_t *build, const build_node_t *node, double startup_ms)
{
    sched_node_t plan;
    s_pace (build, node, startup_ms, &plan);
    return plan.pace;
}

void
pace_nodes (const build_t *build, uint32_t asking, double startup_ms, int64_t now,
            sched_node_t *out)
{
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        sched_node_t *plan = &out[n];
        memset (plan, 0, sizeof *plan);
        s_pace (build, node, startup_ms, plan);
        if (n == asking)
            continue;
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
