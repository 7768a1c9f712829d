/*  leases.h: who still holds which batch.

    Every batch handed out runs under a lease, numbered build-wide (the
    number fences late reports: see requests.c). A lease lasts while its
    attempt keeps talking: each request of the attempt (next, heartbeat)
    renews all of its batches, up to a ceiling counted from when the batch
    was handed out (--lease-max plus twice the batch's predicted time, so a
    regular-mode list of hours is not cut short), so a hung test cannot
    hold its batch forever. A lease
    that lapses sends the units its batch still holds back to the front of
    the queue for the other nodes.

    Contacts live in memory only. After a restart every running batch gets
    a full lease period from the moment its build was loaded back.         */
#ifndef SATCHEL_LEASES_H
#define SATCHEL_LEASES_H

#include "builds.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t lease_ms;        //  silence after which a batch is taken back
    int64_t lease_max_ms;    //  a running batch is taken back this long, plus twice its
                             //  predicted time, after it was handed out
} leases_config_t;

//  The attempt was heard from now.
void leases_touch (build_t *build, int64_t attempt_id, uint32_t node_index, int64_t now_ms);

//  The attempt's last next found nothing to run (true: it waits to take
//  over), or it was given work (false).
void leases_standing_by (build_t *build, int64_t attempt_id, bool standing);

//  The attempt was told it is done: it will not renew anything.
void leases_gone (build_t *build, int64_t attempt_id);

//  True if an attempt of another node than node_index was heard from
//  within the lease period.
bool leases_others_alive (const build_t *build, uint32_t node_index,
                          const leases_config_t *config, int64_t now_ms);

//  Take back every live batch whose lease lapsed: state expired in the
//  store, the units it held pushed to the front of the queue. Checks at
//  most once per quarter lease (and second) per build unless force.
//  Returns the number of batches taken back, or -1 on a store error.
int leases_expire (builds_t *builds, build_t *build, const leases_config_t *config,
                   int64_t now_ms, bool force);

#endif
