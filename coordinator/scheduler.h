/*  scheduler.h: scheduling policy, as pure functions of unit names, predicted
    times and node counts. No I/O, no state: easy to test and deterministic.

    Queue mode hands units out longest first (sched_order; a batch that a
    long unit stops fills its room from the units behind it). Each batch is
    sized by predicted time, not by count: the asking node's share of the
    remaining work if all nodes, each at its measured pace, are to finish
    together (sched_batch_plan; coordinator/pace.c measures the nodes), so
    a node runs few batches (few runner start-ups) and the last ones are
    small. sched_batch_take is the older guided self-scheduling, for
    callers without the nodes. A unit never seen before gets an estimate
    (sched_fill_unseen), never zero.                                        */
#ifndef SATCHEL_SCHEDULER_H
#define SATCHEL_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double startup_ms;       //  predicted cost of starting the runner once
    double factor;           //  an unpaced node takes 1 / factor of its share
                             //  (sched_batch_take: remaining / (factor * nodes))
    double min_batch_ms;     //  smallest target for a batch's unit time
    size_t max_batch_units;  //  most units in one batch
    double default_ms;       //  estimate for units when the suite has no history at all
} sched_policy_t;

//  Defaults: startup 1000 ms, factor 2, min batch 0 ms (then 2 x startup
//  rules), max 1000 units, default estimate 1000 ms.
void sched_policy_default (sched_policy_t *policy);

//  Fill in unseen units: every predicted[i] < 0 becomes the median of the
//  known ones (>= 0) in the same list, or policy default_ms if none is
//  known. Known values below 1 ms are raised to 1 ms so nothing is free.
void sched_fill_unseen (double *predicted, size_t count, double default_ms);

//  Estimate units with no history (predicted[i] < 0), as the README says:
//  the median of the known units in the same folder of names (the part
//  before the last '/'; the top folder for names without one), else
//  suite_median_ms (the median of the suite's whole history; < 0: none),
//  else as sched_fill_unseen (the median of the known units of the list,
//  else default_ms). Known values below 1 ms are raised to 1 ms.
void sched_estimate_unseen (const char *const *names, double *predicted, size_t count,
                            double suite_median_ms, double default_ms);

//  Write into order_out the indices 0..count-1 sorted by predicted time,
//  longest first; equal times by name (strcmp), so the order is a pure
//  function of the input.
void sched_order (const char *const *names, const double *predicted,
                  size_t count, uint32_t *order_out);

//  How many units to take from the front of the queue for the next batch.
//  queue_ms[0..remaining) are the predicted times of the queued units in
//  handing-out order; remaining_ms is their sum; nodes is the build's node
//  total. The batch targets
//      target = max (remaining_ms / (factor * nodes), min_batch_ms, 2 * startup_ms)
//  of unit time and takes units while their sum stays within target,
//  always at least one, at most max_batch_units. Returns 0 only when
//  remaining is 0.
size_t sched_batch_take (const double *queue_ms, size_t remaining, double remaining_ms,
                         uint32_t nodes, const sched_policy_t *policy);

//  A node as queue mode's plan sees it.
typedef struct {
    double busy_ms;          //  predicted wall time until its running batch ends; 0: free
    double pace;             //  its wall time per predicted ms (1: as predicted)
    bool paced;              //  pace was measured (the node reported a batch)
    double samples;          //  how many units the pace rests on (weighted by time)
    bool absent;             //  gone (silent past its lease, or told done): no capacity
    double spread;           //  paced by its machine's history alone: how far that pace
                             //  strays from build to build (relative); 0 otherwise
    bool late;               //  never heard from, though a batch of the build has been
                             //  reported: may be starting still, or may never come
} sched_node_t;

//  Of its planned share, a node whose pace is measured leaves this much in
//  the queue for the last, small batches: SCHED_PLAN_NOISE / sqrt
//  (samples), what a pace measured on that many units may be off by (a
//  unit's time varies from run to run; ~20% is common), or, for a node
//  paced by its machine's history, that pace's spread if more (never more
//  than an unpaced node keeps back, 1 - 1 / factor: a machine that
//  strayed from its pace before may again); none when that is less than
//  two start-ups, which the extra batch would cost.
#define SCHED_PLAN_NOISE 0.2

//  How many entries that do not fit sched_batch_plan passes over (the one
//  that stopped the batch first) looking for units that do: bounded, so a
//  request costs the same on a queue of 100,000 units.
#define SCHED_FILL_LOOKAHEAD 256

//  The finish time (ms from now) at which the nodes, each free after its
//  busy_ms and then paying one start-up at its pace, have together done
//  remaining_ms of predicted work: the moment they would all finish
//  together. Absent nodes do nothing (unless every node is absent). 0 when
//  nothing remains.
double sched_finish_ms (const sched_node_t *nodes, uint32_t count, double remaining_ms,
                        double startup_ms);

//  The finish sched_batch_plan plans for: as sched_finish_ms, but a node
//  other than the first to begin counts only if its part of the work
//  would be worth half a start-up (predicted), each node judged on its own.
double sched_plan_finish_ms (const sched_node_t *nodes, uint32_t count, double remaining_ms,
                             double startup_ms);

//  Queue mode's batch for node asking: its share of the remaining work if
//  all nodes are to finish together (sched_plan_finish_ms), all of it but
//  its reserve once the node's pace is measured, 1 / factor of it
//  while the pace is a guess (but at least two start-ups' worth, or all
//  that is left, unless that exceeds the share by more than half a
//  start-up); never below min_batch_ms, and at least one unit (even for a
//  node left out of the finish).
//  Takes units from the front of the queue as sched_batch_take does; with
//  units (the queue's unit indices, beside queue_ms), where a unit too long
//  for the room left stops it, goes on down the queue taking the units
//  that still fit until SCHED_FILL_LOOKAHEAD entries did not, moved up (in
//  both arrays) so that the batch is the first entries returned and those
//  passed over follow it in their order. With units, a first unit that
//  would take the asking node past the finish, while another node (not
//  absent, not late; one never heard from is taken to begin at once)
//  would end it by then or sooner by at least SCHED_PLAN_NOISE of the
//  asking node's own time for it (start-up and unit, at its pace), is
//  left first for that node and the batch is the units behind it that
//  fit; if none fit, the node takes it after all. Without nodes (or
//  asking out of range), as sched_batch_take.
size_t sched_batch_plan (double *queue_ms, uint32_t *units, size_t remaining, double remaining_ms,
                         const sched_node_t *nodes, uint32_t count, uint32_t asking,
                         const sched_policy_t *policy);

//  Regular mode's static split: longest-processing-time-first. predicted
//  holds the units' times in the order sched_order gives (longest first,
//  equal times by name); each unit in turn goes to the node with the least
//  predicted load so far, the lowest-numbered node among equals. Writes
//  each unit's node to node_out. A pure function of its input, so every
//  daemon computes the same split; at most 4/3 of the best split's makespan
//  (Graham's bound). Nodes left without units are possible when there are
//  fewer units than nodes.
void sched_split_lpt (const double *predicted, size_t count, uint32_t nodes,
                      uint32_t *node_out);

//  Lower bound of any split: max (sum / nodes, longest).
double sched_lower_bound (const double *times, size_t count, uint32_t nodes);

#endif
