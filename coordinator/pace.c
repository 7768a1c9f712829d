/*  pace.c: the nodes of a build as queue mode's plan sees them.          */
#include "pace.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

//  The least spread a machine's pace is trusted with once a node on it has
//  measured its own: however steady its builds were, a build may differ.
#define PACE_SPREAD_FLOOR 0.02

//  A node's measured pace, from its reported batches' sums (builds.c
//  keeps them). How many units it rests on, weighted: (sum p)^2 / sum p^2
//  of the units' predictions, so one long unit and many tiny ones count
//  as about one, as their noise does.
void
pace_measure (const build_node_t *node, double startup_ms, sched_node_t *out)
{
    double predicted = node->paced_predicted_ms + (double) node->paced_batches * startup_ms;
    out->paced = node->paced_batches > 0 && predicted > 0;
    out->pace = out->paced ? node->paced_wall_ms / predicted : 1.0;
    out->samples = node->paced_unit_squares > 0
                 ? node->paced_predicted_ms * node->paced_predicted_ms / node->paced_unit_squares
                 : 0;
}

void
pace_nodes (const build_t *build, uint32_t asking, double startup_ms, int64_t lease_ms,
            int64_t now, sched_node_t *out)
{
    //  A node not yet measured is taken to run as the measured ones do on
    //  average: when the predictions are off for every node alike (a build
    //  without history), the first node to report must not look many
    //  times faster than the others and take the whole queue. A machine's
    //  known pace is relative to its builds' other machines: a node on it
    //  runs at that times the build's pace (each measured node's pace over
    //  its own machine's), which moves from 1 only by what the measured
    //  units show beyond their noise (SCHED_PLAN_NOISE / sqrt (units), in
    //  log space): two long files 10% over their machine's pace, within
    //  their noise, must not make the whole farm look 10% slow and the
    //  plan's finish 10% late; predictions 20 times off (no history)
    //  still move it all the way.
    double base_sum = 0, log_sum = 0, units = 0;
    uint32_t measured = 0;
    for (uint32_t n = 0; n < build->node_total; n++) {
        memset (&out[n], 0, sizeof out[n]);
        const build_node_t *node = &build->nodes[n];
        pace_measure (node, startup_ms, &out[n]);
        if (out[n].paced) {
            double ratio = out[n].pace / (node->prior_pace > 0 ? node->prior_pace : 1.0);
            base_sum += ratio;
            measured++;
            if (ratio > 0 && isfinite (ratio)) {
                double weight = out[n].samples >= 1 ? out[n].samples : 1.0;
                log_sum += weight * log (ratio);
                units += weight;
            }
        }
    }
    double base = measured > 0 ? base_sum / measured : 1.0;
    double known_base = 1.0;
    if (units > 0) {
        double mean = log_sum / units, noise = SCHED_PLAN_NOISE / sqrt (units);
        known_base = fabs (mean) > noise ? exp (copysign (fabs (mean) - noise, mean)) : 1.0;
    }
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        if (!(node->prior_pace > 0))
            continue;
        double prior = node->prior_pace * known_base;
        if (!out[n].paced) {
            out[n].pace = prior;
            out[n].paced = true;
            out[n].samples = node->prior_samples;
            out[n].spread = node->prior_spread;
        }
        else
        if (node->prior_spread > 0 && out[n].pace > 0 && isfinite (out[n].pace)) {
            //  Measured on a machine whose pace is known: a first batch of
            //  four long files 7% under their predictions is mostly their
            //  noise, not a faster machine, and a node that believed it
            //  would take too much of the queue and end last. Both paces
            //  weighed by how sure they are, in log space: the measured
            //  one as its units (SCHED_PLAN_NOISE / sqrt (units)), the
            //  machine's as its spread from build to build, as that many
            //  units' worth, but no more than the units it rests on.
            double spread = fmax (node->prior_spread, PACE_SPREAD_FLOOR);
            double prior_units = fmin (SCHED_PLAN_NOISE * SCHED_PLAN_NOISE / (spread * spread),
                                       node->prior_samples >= 1 ? node->prior_samples : 1.0);
            double measured_units = out[n].samples >= 1 ? out[n].samples : 1.0;
            out[n].pace = exp ((prior_units * log (prior) + measured_units * log (out[n].pace))
                               / (prior_units + measured_units));
            out[n].samples = measured_units + prior_units;
        }
    }
    //  Absent: heard from, but by no attempt that is still alive (told
    //  done, or silent for a lease). A node never heard from may be
    //  starting still, and counts. One pass: 1 heard, 2 alive.
    uint8_t *heard = util_calloc (build->node_total ? build->node_total : 1, 1);
    for (size_t i = 0; i < build->contact_count; i++) {
        const build_contact_t *contact = &build->contacts[i];
        if (contact->node_index >= build->node_total)
            continue;
        if (contact->mono_ms != INT64_MIN && now - contact->mono_ms <= lease_ms)
            heard[contact->node_index] = 2;
        else
        if (heard[contact->node_index] == 0)
            heard[contact->node_index] = 1;
    }
    for (uint32_t n = 0; n < build->node_total; n++) {
        const build_node_t *node = &build->nodes[n];
        sched_node_t *plan = &out[n];
        if (!plan->paced)
            plan->pace = base;
        if (n == asking)
            continue;
        plan->absent = heard[n] == 1;
        //  Once a batch of the build is in (a node measured), a node never
        //  heard from is late.
        plan->late = heard[n] == 0 && measured > 0;
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
    free (heard);
}
