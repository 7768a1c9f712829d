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
//  (monotonic ms): the asking node is free; another node is busy until its
//  running batches are predicted to end at its pace (0 once overdue).
//  pace = the node's reported wall times / (their predictions plus one
//  start-up each), or 1 and not paced before its first report.
void pace_nodes (const build_t *build, uint32_t asking, double startup_ms, int64_t now,
                 sched_node_t *out);

//  One node's pace, as pace_nodes measures it: 1 before its first report.
double pace_of (const build_t *build, const build_node_t *node, double startup_ms);

#endif
