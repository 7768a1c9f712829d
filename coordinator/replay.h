/*  replay.h: what a new attempt on a node that already had batches runs
    first.

    The replay is the node's own batches again, in their order: every
    batch it was given from the queue or as a retry (not the replays
    themselves, which repeat those), except batches whose lease lapsed or
    that were handed back, whose units went to other nodes. With
    only_failed, a batch keeps only the units that did not pass: the ones
    whose latest run on this node failed, and the ones that never finished
    (the node died while running them). Batches left empty are dropped.
    A pure function of the build's memory.                                 */
#ifndef SATCHEL_REPLAY_H
#define SATCHEL_REPLAY_H

#include "builds.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t origin;         //  seq of the batch it repeats
    uint32_t *units;         //  unit indices in run order (owned)
    size_t count;            //  how many
} replay_batch_t;

//  The replay of node_index. Returns the number of batches and *plan
//  (malloc'd, free with replay_plan_free); 0 and NULL if nothing to replay.
size_t replay_plan (const build_t *build, uint32_t node_index, bool only_failed,
                    replay_batch_t **plan);

void replay_plan_free (replay_batch_t *plan, size_t count);

#endif
