/*  parked.c: see parked.h. A plain array: parked requests are the waiting
    nodes of builds near their end, a few hundred at most on a big farm,
    and each pass looks at all of them once.                               */
#include "parked.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct _parked_list_t {
    parked_t *entries;
    size_t count;
    size_t max;
};

parked_list_t *
parked_new (size_t max)
{
    parked_list_t *self = util_calloc (1, sizeof *self);
    self->max = max;
    self->entries = util_calloc (max ? max : 1, sizeof (parked_t));
    return self;
}

void
parked_release (parked_t *entry)
{
    for (size_t i = 0; i < entry->envelope_count; i++)
        zmq_msg_close (&entry->envelope[i]);
    entry->envelope_count = 0;
    free (entry->frame);
    entry->frame = NULL;
}

void
parked_destroy (parked_list_t **self_p)
{
    parked_list_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        parked_release (&self->entries[i]);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

size_t
parked_count (const parked_list_t *self)
{
    return self->count;
}

//  Move an entry's frames (zmq_msg_t must be moved, not copied).
static void
s_move (parked_t *to, parked_t *from)
{
    *to = *from;
    for (size_t i = 0; i < from->envelope_count; i++) {
        zmq_msg_init (&to->envelope[i]);
        zmq_msg_move (&to->envelope[i], &from->envelope[i]);
    }
    from->envelope_count = 0;
    from->frame = NULL;
}

int
parked_add (parked_list_t *self, zmq_msg_t *envelope, size_t envelope_count,
            const void *frame, size_t frame_size, const access_peer_t *peer,
            int64_t build_id, int64_t recheck_ms, int64_t deadline_ms)
{
    if (self->count >= self->max || envelope_count > PARKED_ENVELOPE_MAX)
        return -1;
    parked_t *entry = &self->entries[self->count++];
    memset (entry, 0, sizeof *entry);
    for (size_t i = 0; i < envelope_count; i++) {
        zmq_msg_init (&entry->envelope[i]);
        zmq_msg_move (&entry->envelope[i], &envelope[i]);
    }
    entry->envelope_count = envelope_count;
    entry->frame = util_malloc (frame_size ? frame_size : 1);
    memcpy (entry->frame, frame, frame_size);
    entry->frame_size = frame_size;
    entry->peer = *peer;
    entry->build_id = build_id;
    entry->recheck_ms = recheck_ms;
    entry->deadline_ms = deadline_ms;
    return 0;
}

static bool
s_due (const parked_t *entry, int64_t now, const int64_t *changed, size_t changed_count)
{
    if (now >= entry->recheck_ms || now >= entry->deadline_ms)
        return true;
    for (size_t i = 0; i < changed_count; i++)
        if (changed[i] == entry->build_id)
            return true;
    return false;
}

size_t
parked_take_due (parked_list_t *self, int64_t now, const int64_t *changed, size_t changed_count,
                 parked_t *out, size_t max)
{
    size_t taken = 0, kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        parked_t *entry = &self->entries[i];
        if (taken < max && s_due (entry, now, changed, changed_count))
            s_move (&out[taken++], entry);
        else {
            if (kept != i)
                s_move (&self->entries[kept], entry);
            kept++;
        }
    }
    self->count = kept;
    return taken;
}

void
parked_put_back (parked_list_t *self, parked_t *entry, int64_t recheck_ms)
{
    //  Taken out of this list in the same pass, so there is room.
    parked_t *slot = &self->entries[self->count++];
    s_move (slot, entry);
    slot->recheck_ms = recheck_ms;
}

int64_t
parked_wait_ms (const parked_list_t *self, int64_t now)
{
    int64_t wait = -1;
    for (size_t i = 0; i < self->count; i++) {
        const parked_t *entry = &self->entries[i];
        int64_t due = entry->recheck_ms < entry->deadline_ms ? entry->recheck_ms
                                                              : entry->deadline_ms;
        int64_t left = due > now ? due - now : 0;
        if (wait < 0 || left < wait)
            wait = left;
    }
    return wait;
}
