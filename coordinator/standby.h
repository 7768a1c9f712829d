/*  standby.h: whether a waiting node is still needed.

    A node that finds the queue empty while batches still run elsewhere
    waits, to take over a batch whose node is lost (its units go back to
    the queue) or a failed unit's run again. One waiting node for each
    batch still running elsewhere keeps that safety net whole; the other
    waiting nodes only sit idle until the build ends, holding a CI job
    (and on a shared machine, waking together at the end). So a node is
    let go when enough others already stand by, and kept when:
    - a failed unit waits to run again (it may be the node to take it), or
      one of its own units failed (a run again elsewhere may pass, and its
      exit status waits for that);
    - fewer other nodes stand by than batches run elsewhere.
    Standing by: its attempt's last next found nothing to run, and it was
    heard from within the lease.                                             */
#ifndef SATCHEL_STANDBY_H
#define SATCHEL_STANDBY_H

#include "builds.h"

#include <stdbool.h>
#include <stdint.h>

//  True if the attempt, whose next found nothing to run in a build not
//  yet complete, may be told it is done instead of waiting.
bool standby_release (const build_t *build, const attempt_t *attempt, int64_t lease_ms,
                      int64_t now_ms);

#endif
