/*  completion.h: the end of a build.

    A build is complete when every unit has run to completion and no failed
    unit is still waiting for, or in, another run. Then satcheld writes the
    build's result (passed, failed, flaky), a summary per node (units,
    busy time, idle time, finish time, all in ms from the build's start),
    and checks its own work: every unit discovered must have run, and none
    should have run twice from the queue (that happens only when a lease
    lapsed while its node was still working); each exception is logged by
    name. A fail-fast build that stopped is finished as "stopped" once no
    batch of it is running.                                                 */
#ifndef SATCHEL_COMPLETION_H
#define SATCHEL_COMPLETION_H

#include "builds.h"

#include <stdbool.h>
#include <stdint.h>

//  True if the build has nothing left to run or wait for.
bool completion_ready (const build_t *build);

//  Finish the build if it is ready (or stopped and idle) and not finished
//  yet. Returns 1 if it finished now, 0 if not, -1 on a store error.
int completion_check (builds_t *builds, build_t *build, int64_t now_wall_ms);

//  The build's result word as it stands: "passed", "failed", "flaky" or
//  "stopped".
const char *completion_result (const build_t *build);

#endif
