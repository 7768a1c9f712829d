/*  rate.c: see rate.h.                                                    */
#include "rate.h"

#include "util.h"

#include <czmq.h>

//  How often idle buckets are swept, and how long one must have been idle:
//  rate tokens a second refill a bucket of rate in one second.
#define S_SWEEP_MS 1000
#define S_REFILL_MS 1000

typedef struct {
    double tokens;               //  requests the peer may still send now
    int64_t last_ms;             //  when tokens was last brought up to date
} s_bucket_t;

struct _rate_t {
    double rate;                 //  tokens added per second; also the bucket's size
    zhashx_t *buckets;           //  hex of the peer identity -> s_bucket_t (owned)
    int64_t next_sweep_ms;       //  when to sweep idle buckets next
};

static void
s_bucket_free (void **item)
{
    free (*item);
    *item = NULL;
}

rate_t *
rate_new (double rate)
{
    rate_t *self = util_calloc (1, sizeof *self);
    self->rate = rate;
    self->buckets = zhashx_new ();
    if (!self->buckets) {
        fputs ("fatal: out of memory\n", stderr);
        abort ();
    }
    zhashx_set_destructor (self->buckets, s_bucket_free);
    return self;
}

void
rate_destroy (rate_t **self_p)
{
    rate_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->buckets);
    free (self);
    *self_p = NULL;
}

static void
s_sweep (rate_t *self, int64_t now_ms)
{
    zlistx_t *keys = zhashx_keys (self->buckets);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        s_bucket_t *bucket = zhashx_lookup (self->buckets, key);
        if (bucket && now_ms - bucket->last_ms >= S_REFILL_MS)
            zhashx_delete (self->buckets, key);
    }
    zlistx_destroy (&keys);
}

bool
rate_allow (rate_t *self, const void *id, size_t size, int64_t now_ms)
{
    if (now_ms >= self->next_sweep_ms) {
        s_sweep (self, now_ms);
        self->next_sweep_ms = now_ms + S_SWEEP_MS;
    }
    //  ROUTER identities are at most 255 bytes.
    char key[2 * 255 + 1];
    static const char hex[] = "0123456789abcdef";
    size_t used = size > 255 ? 255 : size;
    for (size_t i = 0; i < used; i++) {
        key[2 * i] = hex[((const unsigned char *) id)[i] >> 4];
        key[2 * i + 1] = hex[((const unsigned char *) id)[i] & 0x0f];
    }
    key[2 * used] = 0;
    s_bucket_t *bucket = zhashx_lookup (self->buckets, key);
    if (!bucket) {
        bucket = util_malloc (sizeof *bucket);
        *bucket = (s_bucket_t) { self->rate, now_ms };
        zhashx_insert (self->buckets, key, bucket);
    }
    double elapsed = (double) (now_ms - bucket->last_ms) / 1000.0;
    if (elapsed > 0) {
        bucket->tokens += elapsed * self->rate;
        if (bucket->tokens > self->rate)
            bucket->tokens = self->rate;
        bucket->last_ms = now_ms;
    }
    if (bucket->tokens < 1)
        return false;
    bucket->tokens -= 1;
    return true;
}

size_t
rate_peers (rate_t *self)
{
    return zhashx_size (self->buckets);
}
