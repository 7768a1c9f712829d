/*  parked.h: requests held without a reply (requests_park): a next that
    would be answered wait waits here instead, with the ROUTER envelope to
    answer it by, until its build changes, its recheck time comes or its
    time is up. The server handles them again and answers them; this list
    only keeps them and says which are due.                                */
#ifndef SATCHEL_PARKED_H
#define SATCHEL_PARKED_H

#include "access.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

//  ROUTER envelope frames kept per request (as the server keeps them).
#define PARKED_ENVELOPE_MAX 4

typedef struct {
    zmq_msg_t envelope[PARKED_ENVELOPE_MAX];   //  frames to echo back (owned)
    size_t envelope_count;
    char *frame;                 //  the request (owned)
    size_t frame_size;
    access_peer_t peer;          //  who sent it
    int64_t build_id;            //  its build
    int64_t recheck_ms;          //  handle it again by then (monotonic)
    int64_t deadline_ms;         //  then it is answered, parked no more
    unsigned handled;            //  times handled again so far
} parked_t;

typedef struct _parked_list_t parked_list_t;

//  At most max entries at once.
parked_list_t *parked_new (size_t max);

//  Closes every envelope (those requests get no reply). Safe on NULL.
void parked_destroy (parked_list_t **self_p);

size_t parked_count (const parked_list_t *self);

//  Park a request: the envelope frames are moved out of envelope (left
//  empty), the frame copied. Returns 0, or -1 if the list is full.
int parked_add (parked_list_t *self, zmq_msg_t *envelope, size_t envelope_count,
                const void *frame, size_t frame_size, const access_peer_t *peer,
                int64_t build_id, int64_t recheck_ms, int64_t deadline_ms);

//  Take out every entry that is due at now: its build is one of changed,
//  or its recheck or deadline time has come. Fills out (up to max; the
//  caller owns them, parked_release each) and returns how many.
size_t parked_take_due (parked_list_t *self, int64_t now, const int64_t *changed,
                        size_t changed_count, parked_t *out, size_t max);

//  Put an entry taken out back, with a new recheck time (its frames move
//  back in). Never fails: it had a place a moment ago.
void parked_put_back (parked_list_t *self, parked_t *entry, int64_t recheck_ms);

//  Close an entry's frames and free its copy.
void parked_release (parked_t *entry);

//  Milliseconds until the first recheck or deadline, 0 if one is due,
//  -1 if the list is empty.
int64_t parked_wait_ms (const parked_list_t *self, int64_t now);

#endif
