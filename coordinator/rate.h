/*  rate.h: requests per second per connection (--max-rate), a token bucket
    per ROUTER peer identity.

    Each peer may send rate requests a second on average and a burst of
    rate at once. A bucket idle for a second is full again, which is what
    a new one is, so such entries are swept: memory follows the peers seen
    in the last second or so, however many connections come and go.      */
#ifndef SATCHEL_RATE_H
#define SATCHEL_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _rate_t rate_t;

//  rate: requests per second per peer, at least 1.
rate_t *rate_new (double rate);
void rate_destroy (rate_t **self_p);

//  May the peer named by id[0..size) send one more request at now_ms
//  (monotonic)? Takes a token if so.
bool rate_allow (rate_t *self, const void *id, size_t size, int64_t now_ms);

//  Peers tracked now (for tests).
size_t rate_peers (rate_t *self);

#endif
