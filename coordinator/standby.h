/*  standby.h: whether a waiting node is still needed.

    A node that finds the queue empty while batches still run elsewhere
    waits, to take over a batch whose node is lost (its units go back to
    the queue) or a failed unit's run again. One waiting node for each
    batch still running elsewhere keeps that net for one loss at a time;
    the other waiting nodes only sit idle until the build ends, holding a
    CI job (and on a shared machine, waking together at the end). So a
    node is let go when enough others already stand by, and kept when:
    - a failed unit waits to run again (it may be the node to take it);
    - one of its own units failed and may still run again and pass
      (--requeue-failed): its exit status waits for that;
    - fewer other nodes stand by than batches run elsewhere, plus one
      while a failure may still be run again: a run again goes to another
      node than the one it failed on, and that node may be a standby.
    Standing by: its attempt's last next found nothing to run, and it was
    heard from within the lease. Not covered: a batch's node and its
    standby both lost (the other nodes may be gone by then); the CI job of
    the lost node, retried, replays its batches.                           */
#ifndef SATCHEL_STANDBY_H
#define SATCHEL_STANDBY_H

#include "builds.h"

#include <stdbool.h>
#include <stdint.h>

//  True if the attempt, whose next found nothing to run in a build not
//  yet complete, may be told it is done instead of waiting. retry says
//  how failed units are run again (--requeue-failed, --requeue-budget).
bool standby_release (const build_t *build, const attempt_t *attempt,
                      const builds_config_t *retry, int64_t lease_ms, int64_t now_ms);

#endif
