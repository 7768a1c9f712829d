/*  pace.h: what queue mode's plan (sched_batch_plan) needs to know about
    the nodes of a running build: how long each is still busy with the
    batch it holds, and how fast it really runs compared with the
    predictions, as measured from the batches it reported.                 */
#ifndef SATCHEL_PACE_H
#define SATCHEL_PACE_H

#include "builds.h"
#include "scheduler.h"

#include <stdint.h>

//  Fill out[0..build->node_total) for a request of node asking at now
//  (monotonic ms; UINT32_MAX: no node asks): the asking node is free;
//  another node is busy until its running batches are predicted to end
//  at its pace (0 once overdue).
//  pace = the node's reported wall times / (their predictions plus one
//  start-up each); before its first report, if its machine has a pace in
//  the suite's history (node->prior_pace, relative to the other machines
//  of its builds, resting on prior_samples units), paced, at that times
//  the build's pace, else not paced, at the mean over the measured nodes
//  of their pace over their machine's (1 if none is measured). The
//  build's pace: the same, weighted by their units, in log space, less
//  its noise (SCHED_PLAN_NOISE / sqrt (units)) towards 1. Once a node on
//  a known machine has reported, its pace is its measured one and its
//  machine's (that times the build's pace) weighed in log space: the
//  measured as its units, the machine's as (SCHED_PLAN_NOISE / its
//  spread)^2 units, the spread taken as at least 0.02, at most its
//  prior_samples; samples is their sum.
//  A node is absent if it was heard from but none of its attempts is alive
//  (told done, or silent for more than lease_ms); late if it was never
//  heard from though some node of the build has reported a batch.
void pace_nodes (const build_t *build, uint32_t asking, double startup_ms, int64_t lease_ms,
                 int64_t now, sched_node_t *out);

//  The node's pace as measured in this build alone (its reported batches;
//  out->paced false if none): pace, paced and samples of out are set.
void pace_measure (const build_node_t *node, double startup_ms, sched_node_t *out);

#endif
