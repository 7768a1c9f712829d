/*  fallback.h: the split an agent makes on its own when satcheld cannot
    be reached (fallback mode).

    The test list, sorted by strcmp and unique as discovery gives it, is
    dealt out in turn: the unit at position k belongs to node k mod
    node_total. That is a pure function of the names and the node total,
    so every node of the build computes the same deal without talking to
    anyone, and every unit belongs to exactly one node; with more nodes
    than units the last nodes get nothing. Timings play no part: a node
    that cannot reach the daemon has none.                                 */
#ifndef SATCHEL_FALLBACK_H
#define SATCHEL_FALLBACK_H

#include <stddef.h>
#include <stdint.h>

//  The positions (0..count-1, ascending) of node_index's share of a list
//  of count units, into out (room for count / node_total + 1), leaving
//  out those whose skip[k] is nonzero (skip may be NULL): units this
//  attempt already ran. Returns how many were written.
size_t fallback_share (size_t count, uint32_t node_index, uint32_t node_total,
                       const uint8_t *skip, uint32_t *out);

#endif
