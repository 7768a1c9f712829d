/*  scheduler.c: see scheduler.h. Pure functions: no I/O, no globals.      */
#include "scheduler.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  The smallest predicted time a unit may have: a unit that costs nothing
//  would let a batch grow without bound and hide its real cost.
#define SCHED_FLOOR_MS 1.0

void
sched_policy_default (sched_policy_t *policy)
{
    assert (policy);
    policy->startup_ms = 1000.0;
    policy->factor = 2.0;
    policy->min_batch_ms = 0.0;
    policy->max_batch_units = 1000;
    policy->default_ms = 1000.0;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;
    return (x > y) - (x < y);
}

void
sched_fill_unseen (double *predicted, size_t count, double default_ms)
{
    assert (predicted || count == 0);
    //  Raise small known values first, so the median of the known ones can
    //  never itself be below the floor. NaN is neither < 0 nor >= 0: it
    //  counts as unseen, since it is no usable estimate and would break the
    //  ordering's comparator.
    size_t known = 0;
    for (size_t i = 0; i < count; i++) {
        if (predicted[i] >= 0) {
            if (predicted[i] < SCHED_FLOOR_MS)
                predicted[i] = SCHED_FLOOR_MS;
            known++;
        }
    }
    if (known == count)
        return;

    double fill = default_ms;
    if (known > 0) {
        double *values = util_malloc (known * sizeof (double));
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
            if (predicted[i] >= 0)
                values[k++] = predicted[i];
        }
        qsort (values, known, sizeof (double), s_compare_double);
        if (known % 2 == 1)
            fill = values[known / 2];
        else
            fill = (values[known / 2 - 1] + values[known / 2]) / 2.0;
        free (values);
    }
    //  default_ms comes from configuration: a zero, negative or NaN value
    //  must not make new units free.
    if (!(fill >= SCHED_FLOOR_MS))
        fill = SCHED_FLOOR_MS;
    for (size_t i = 0; i < count; i++) {
        if (!(predicted[i] >= 0))
            predicted[i] = fill;
    }
}

typedef struct {
    double ms;              //  sort key: predicted time, NaN mapped to -inf
    const char *name;       //  tie-break: unit name (borrowed)
    uint32_t idx;           //  final tie-break and the result: input index
} s_order_key_t;

//  Total order on (ms desc, name asc, idx asc). qsort is not stable, so the
//  index is part of the key: equal (ms, name) pairs still sort the same way
//  on every libc.
static int
s_compare_key (const void *a, const void *b)
{
    const s_order_key_t *x = a;
    const s_order_key_t *y = b;
    if (x->ms > y->ms)
        return -1;
    if (x->ms < y->ms)
        return 1;
    int rc = strcmp (x->name, y->name);
    if (rc != 0)
        return rc;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

void
sched_order (const char *const *names, const double *predicted,
             size_t count, uint32_t *order_out)
{
    if (count == 0)
        return;
    assert (names && predicted && order_out);
    assert (count <= UINT32_MAX);
    s_order_key_t *keys = util_malloc (count * sizeof (s_order_key_t));
    for (size_t i = 0; i < count; i++) {
        assert (names[i]);
        //  NaN compares false both ways and would make the order depend on
        //  qsort's internals; put such units last instead.
        keys[i].ms = isnan (predicted[i]) ? -INFINITY : predicted[i];
        keys[i].name = names[i];
        keys[i].idx = (uint32_t) i;
    }
    qsort (keys, count, sizeof (s_order_key_t), s_compare_key);
    for (size_t i = 0; i < count; i++)
        order_out[i] = keys[i].idx;
    free (keys);
}

//  Whether a unit of ms fits beside sum within target. Within its last
//  bits: a share worked out to be all that is left (through paces and
//  start-ups) and the build's running sum of what is left can each be a
//  rounding off the queue's own sum, and the last unit must not stay
//  behind for a batch of its own; no unit is that small (SCHED_FLOOR_MS).
static bool
s_fits (double sum, double ms, double target)
{
    //  Relative for large targets, absolute (a thousandth of the floor)
    //  for a queue of 100,000 units whose running sum drifted by 1e-6 ms.
    return sum + ms <= target + fmax (target * 1e-9, 1e-3 * SCHED_FLOOR_MS);
}

//  The most units one batch may take of remaining: "at least one" wins
//  over a max_batch_units of 0, since a batch that takes nothing would
//  stall the queue.
static size_t
s_limit (size_t remaining, const sched_policy_t *policy)
{
    size_t limit = policy->max_batch_units > 0 ? policy->max_batch_units : 1;
    return limit < remaining ? limit : remaining;
}

//  Take units from the front of the queue while their sum stays within
//  target: at least one, at most the policy's max_batch_units. Their sum
//  goes to *sum_out if not NULL.
static size_t
s_take (const double *queue_ms, size_t remaining, double target, const sched_policy_t *policy,
        double *sum_out)
{
    size_t limit = s_limit (remaining, policy);
    size_t taken = 1;
    double sum = queue_ms[0];
    while (taken < limit && s_fits (sum, queue_ms[taken], target)) {
        sum += queue_ms[taken];
        taken++;
    }
    if (sum_out)
        *sum_out = sum;
    return taken;
}

//  After s_take's prefix of taken units (their sum: sum) stopped at one
//  too long for the room left, go on down the queue and take the units
//  that still fit, moving them up behind the prefix (queue_ms and units
//  alike, the others keeping their order), until SCHED_FILL_LOOKAHEAD
//  entries did not fit. Returns the new count.
static size_t
s_fill (double *queue_ms, uint32_t *units, size_t remaining, size_t taken, double sum,
        double target, const sched_policy_t *policy)
{
    size_t limit = s_limit (remaining, policy);
    if (!(sum < target))
        return taken;       //  no room (one unit longer than the target)
    double skipped_ms[SCHED_FILL_LOOKAHEAD];
    uint32_t skipped_units[SCHED_FILL_LOOKAHEAD];
    size_t skipped = 0;
    //  taken + skipped is i throughout: entry i moves to taken, or aside.
    for (size_t i = taken; i < remaining && taken < limit && skipped < SCHED_FILL_LOOKAHEAD;
         i++) {
        if (s_fits (sum, queue_ms[i], target)) {
            sum += queue_ms[i];
            queue_ms[taken] = queue_ms[i];
            units[taken] = units[i];
            taken++;
        }
        else {
            skipped_ms[skipped] = queue_ms[i];
            skipped_units[skipped] = units[i];
            skipped++;
        }
    }
    memcpy (queue_ms + taken, skipped_ms, skipped * sizeof (double));
    memcpy (units + taken, skipped_units, skipped * sizeof (uint32_t));
    return taken;
}

size_t
sched_batch_take (const double *queue_ms, size_t remaining, double remaining_ms,
                  uint32_t nodes, const sched_policy_t *policy)
{
    assert (policy);
    if (remaining == 0)
        return 0;
    assert (queue_ms);

    //  nodes and factor come from configuration and the build request;
    //  nonsense there must not divide by zero or flip the target's sign.
    double factor = policy->factor > 0 ? policy->factor : 1.0;
    double node_count = nodes > 0 ? (double) nodes : 1.0;
    double target = remaining_ms / (factor * node_count);
    //  fmax ignores a NaN argument, so a bad value in one term cannot
    //  poison the target.
    target = fmax (target, policy->min_batch_ms);
    target = fmax (target, 2.0 * policy->startup_ms);
    return s_take (queue_ms, remaining, target, policy, NULL);
}

//  The pace of a node, never zero or negative (a bad measurement counts as 1).
static double
s_pace (const sched_node_t *node)
{
    return node->pace > 0 && isfinite (node->pace) ? node->pace : 1.0;
}

//  When a node starts useful work (after its busy time and one start-up at
//  its pace) and how fast it works then (predicted ms per ms).
typedef struct {
    double begin;
    double rate;
} s_worker_t;

static int
s_by_begin (const void *a, const void *b)
{
    double x = ((const s_worker_t *) a)->begin, y = ((const s_worker_t *) b)->begin;
    return (x > y) - (x < y);
}

//  sched_finish_ms, but a node past the first to begin joins only if its
//  part of the work is worth least_ms (predicted) at least.
static double
s_finish (const sched_node_t *nodes, uint32_t count, double remaining_ms, double startup_ms,
          double least_ms)
{
    if (count == 0 || !(remaining_ms > 0))
        return 0;
    double startup = startup_ms > 0 ? startup_ms : 0;
    bool all = true;
    for (uint32_t n = 0; n < count; n++)
        if (!nodes[n].absent)
            all = false;
    s_worker_t *workers = util_malloc (count * sizeof (s_worker_t));
    uint32_t used = 0;
    for (uint32_t n = 0; n < count; n++) {
        if (nodes[n].absent && !all)
            continue;
        double pace = s_pace (&nodes[n]);
        double busy = nodes[n].busy_ms > 0 ? nodes[n].busy_ms : 0;
        workers[used++] = (s_worker_t) { busy + startup * pace, 1.0 / pace };
    }
    //  The work done by F is the sum over the nodes begun by then of
    //  rate x (F - begin): linear between two beginnings. Take the nodes in
    //  order of beginning until the F that does the work comes before the
    //  next one begins.
    qsort (workers, used, sizeof (s_worker_t), s_by_begin);
    double rates = 0, weighted = 0, finish = 0;
    for (uint32_t k = 0; k < used; k++) {
        if (k > 0 && finish <= workers[k].begin)
            break;
        double with = (remaining_ms + weighted + workers[k].rate * workers[k].begin)
                    / (rates + workers[k].rate);
        //  Each node on its own: a slow node's small part does not keep a
        //  faster one that begins after it out.
        if (k > 0 && (with - workers[k].begin) * workers[k].rate < least_ms)
            continue;
        rates += workers[k].rate;
        weighted += workers[k].rate * workers[k].begin;
        finish = with;
    }
    free (workers);
    return finish;
}

double
sched_finish_ms (const sched_node_t *nodes, uint32_t count, double remaining_ms,
                 double startup_ms)
{
    return s_finish (nodes, count, remaining_ms, startup_ms, 0);
}

double
sched_plan_finish_ms (const sched_node_t *nodes, uint32_t count, double remaining_ms,
                      double startup_ms)
{
    //  A node whose part of what is left would be worth less than half a
    //  start-up is left out: the nodes that come back first take its part,
    //  rather than each of the last tiny units paying its own start-up on
    //  a node that may come back later than predicted.
    double startup = startup_ms > 0 ? startup_ms : 0;
    return s_finish (nodes, count, remaining_ms, startup, 0.5 * startup);
}

//  Whether a unit of unit_ms, which would take node asking past finish,
//  is another node's to end: by the finish, or sooner by at least a
//  unit's noise (SCHED_PLAN_NOISE) of asking's own time for it. Each
//  begins after its busy time and one start-up, and works at its pace.
//  Not a node gone (absent), nor one never heard from once the build's
//  first batches are in (late): it may never come, and the unit would
//  wait for it until nothing else fits.
static bool
s_sooner_elsewhere (const sched_node_t *nodes, uint32_t count, uint32_t asking,
                    double unit_ms, double startup_ms, double finish)
{
    const sched_node_t *self = &nodes[asking];
    double work = (startup_ms + unit_ms) * s_pace (self);
    double own = (self->busy_ms > 0 ? self->busy_ms : 0) + work;
    if (own <= finish)
        return false;
    double by = fmax (finish, own - SCHED_PLAN_NOISE * work);
    for (uint32_t n = 0; n < count; n++) {
        if (n == asking || nodes[n].absent || nodes[n].late)
            continue;
        double busy = nodes[n].busy_ms > 0 ? nodes[n].busy_ms : 0;
        if (busy + (startup_ms + unit_ms) * s_pace (&nodes[n]) <= by)
            return true;
    }
    return false;
}

size_t
sched_batch_plan (double *queue_ms, uint32_t *units, size_t remaining, double remaining_ms,
                  const sched_node_t *nodes, uint32_t count, uint32_t asking,
                  const sched_policy_t *policy)
{
    assert (policy);
    if (remaining == 0)
        return 0;
    assert (queue_ms);
    if (!nodes || asking >= count)
        return sched_batch_take (queue_ms, remaining, remaining_ms, count, policy);

    double startup = policy->startup_ms > 0 ? policy->startup_ms : 0;
    //  Left out of the finish itself, the asking node has no share, and
    //  still takes one unit below: a node told to wait and ask again might
    //  find the queue as it is (tried: no earlier end).
    double finish = sched_plan_finish_ms (nodes, count, remaining_ms, startup);
    const sched_node_t *self = &nodes[asking];
    double busy = self->busy_ms > 0 ? self->busy_ms : 0;
    double share = (finish - busy) / s_pace (self) - startup;
    //  A node whose pace is still a guess takes 1 / factor of its share: if
    //  it is slower than guessed, what it holds cannot make the build late.
    //  A node whose pace is measured takes its share but a reserve, which
    //  the last small batches spread over whichever nodes come back first:
    //  as much as its pace is uncertain, from the units it rests on or
    //  from how far its machine strayed before, whichever is more.
    double factor = policy->factor >= 1 ? policy->factor : 1.0;
    double reserve = self->samples >= 1 ? SCHED_PLAN_NOISE / sqrt (self->samples)
                                        : SCHED_PLAN_NOISE;
    if (self->spread > 0)
        reserve = fmax (reserve, fmin (self->spread, 1.0 - 1.0 / factor));
    //  A reserve smaller than two start-ups costs more than it saves: the
    //  extra batch it makes takes a start-up somewhere.
    if (share * reserve < 2.0 * startup)
        reserve = 0;
    double target = share * (1.0 - reserve);
    if (!self->paced) {
        //  A cautious batch is still worth two start-ups, or all that is
        //  left: work that small is not worth another node's start-up.
        //  Unless it runs more than half a start-up past the node's share:
        //  then the build would end that much later to save another node
        //  its start-up, and the node takes its share (four files on four
        //  nodes, none known, 1 s each by default like the start-up: one
        //  each, not two on each of two nodes).
        target = share / factor;
        double least = fmin (remaining_ms, 2.0 * startup);
        if (least - share > 0.5 * startup)
            least = share;
        target = fmax (target, least);
    }
    //  No other floor of two start-ups, unlike sched_batch_take: near the
    //  end a batch larger than the node's share would end after the others.
    target = fmax (target, policy->min_batch_ms);
    //  A first unit that would take this node past the finish goes to a
    //  node that would end it sooner (a slow node asking while faster ones
    //  have yet to begin): this node takes the units behind it that fit,
    //  or, if none do, the long one after all.
    if (units && !s_fits (0, queue_ms[0], target)
        && s_sooner_elsewhere (nodes, count, asking, queue_ms[0], startup, finish)) {
        size_t behind = s_fill (queue_ms, units, remaining, 0, 0, target, policy);
        if (behind > 0)
            return behind;
    }
    double sum;
    size_t taken = s_take (queue_ms, remaining, target, policy, &sum);
    //  A batch that stops at a long unit with room left would leave that
    //  room to another batch: the node's next, after one more start-up,
    //  sized on the pace of its first alone. Units behind it that fit
    //  fill the room; the long one stays first for the next node.
    return units ? s_fill (queue_ms, units, remaining, taken, sum, target, policy) : taken;
}

//  A node and its load, in a binary min-heap ordered by (load, node).
typedef struct {
    double load;
    uint32_t node;
} s_load_t;

static bool
s_lighter (const s_load_t *a, const s_load_t *b)
{
    return a->load < b->load || (a->load == b->load && a->node < b->node);
}

static void
s_sift_down (s_load_t *heap, size_t size, size_t i)
{
    while (true) {
        size_t least = i, left = 2 * i + 1, right = left + 1;
        if (left < size && s_lighter (&heap[left], &heap[least]))
            least = left;
        if (right < size && s_lighter (&heap[right], &heap[least]))
            least = right;
        if (least == i)
            return;
        s_load_t swap = heap[i];
        heap[i] = heap[least];
        heap[least] = swap;
        i = least;
    }
}

void
sched_split_lpt (const double *predicted, size_t count, uint32_t nodes, uint32_t *node_out)
{
    if (count == 0)
        return;
    assert (predicted && node_out);
    if (nodes == 0)
        nodes = 1;
    //  A heap keeps each pick O(log nodes): 100,000 units on 1,024 nodes
    //  would take 10^8 steps with a scan.
    s_load_t *heap = util_malloc (nodes * sizeof (s_load_t));
    for (uint32_t n = 0; n < nodes; n++)
        heap[n] = (s_load_t) { .load = 0.0, .node = n };
    for (size_t i = 0; i < count; i++) {
        node_out[i] = heap[0].node;
        //  A NaN or negative time must not make a node look lighter forever.
        double ms = predicted[i] > 0 ? predicted[i] : 0.0;
        heap[0].load += ms;
        s_sift_down (heap, nodes, 0);
    }
    free (heap);
}

double
sched_lower_bound (const double *times, size_t count, uint32_t nodes)
{
    if (count == 0)
        return 0.0;
    assert (times);
    double sum = 0.0;
    double longest = 0.0;
    for (size_t i = 0; i < count; i++) {
        sum += times[i];
        if (times[i] > longest)
            longest = times[i];
    }
    double node_count = nodes > 0 ? (double) nodes : 1.0;
    double share = sum / node_count;
    return share > longest ? share : longest;
}

//  Length of a name's folder: up to its last '/', 0 if it has none.
static size_t
s_folder_length (const char *name)
{
    const char *slash = strrchr (name, '/');
    return slash ? (size_t) (slash - name) : 0;
}

//  Order unit indices by folder, then by index, so each folder's units
//  are one run.
static int
s_compare_folder (const void *a, const void *b, void *context)
{
    const char *const *names = context;
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    size_t lx = s_folder_length (names[x]), ly = s_folder_length (names[y]);
    int order = memcmp (names[x], names[y], lx < ly ? lx : ly);
    if (order == 0)
        order = (lx > ly) - (lx < ly);
    if (order == 0)
        order = (x > y) - (x < y);
    return order;
}

static double
s_median (double *values, size_t count)
{
    qsort (values, count, sizeof (double), s_compare_double);
    return count % 2 == 1 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

void
sched_estimate_unseen (const char *const *names, double *predicted, size_t count,
                       double suite_median_ms, double default_ms)
{
    assert (predicted || count == 0);
    size_t unseen = 0;
    for (size_t i = 0; i < count; i++) {
        if (predicted[i] >= 0 && predicted[i] < SCHED_FLOOR_MS)
            predicted[i] = SCHED_FLOOR_MS;
        unseen += !(predicted[i] >= 0);
    }
    if (unseen == 0)
        return;
    uint32_t *order = util_malloc (count * sizeof (uint32_t));
    double *values = util_malloc (count * sizeof (double));
    double *filled = util_malloc (count * sizeof (double));
    for (size_t i = 0; i < count; i++) {
        order[i] = (uint32_t) i;
        filled[i] = predicted[i];
    }
    qsort_r (order, count, sizeof (uint32_t), s_compare_folder, (void *) names);
    for (size_t start = 0; start < count; ) {
        size_t end = start + 1;
        while (end < count && s_folder_length (names[order[end]])
                              == s_folder_length (names[order[start]])
               && memcmp (names[order[end]], names[order[start]],
                          s_folder_length (names[order[start]])) == 0)
            end++;
        size_t known = 0;
        for (size_t k = start; k < end; k++)
            if (predicted[order[k]] >= 0)
                values[known++] = predicted[order[k]];
        if (known > 0 && known < end - start) {
            double median = s_median (values, known);
            for (size_t k = start; k < end; k++)
                if (!(predicted[order[k]] >= 0))
                    filled[order[k]] = median;
        }
        start = end;
    }
    //  Folders with nothing known take the suite's median, else whatever
    //  sched_fill_unseen makes of the list as it came: the folders'
    //  medians filled in are no history, and would count once per unit.
    if (!(suite_median_ms >= 0)) {
        memcpy (values, predicted, count * sizeof (double));
        sched_fill_unseen (values, count, default_ms);
    }
    for (size_t i = 0; i < count; i++) {
        if (filled[i] >= 0)
            predicted[i] = filled[i];
        else if (suite_median_ms >= 0)
            predicted[i] = suite_median_ms < SCHED_FLOOR_MS ? SCHED_FLOOR_MS : suite_median_ms;
        else
            predicted[i] = values[i];
    }
    free (order);
    free (values);
    free (filled);
}
