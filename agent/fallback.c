/*  fallback.c: see fallback.h.                                             */
#include "fallback.h"

#include <assert.h>

size_t
fallback_share (size_t count, uint32_t node_index, uint32_t node_total, const uint8_t *skip,
                uint32_t *out)
{
    assert (node_total > 0 && node_index < node_total);
    size_t written = 0;
    for (size_t k = node_index; k < count; k += node_total)
        if (!skip || !skip[k])
            out[written++] = (uint32_t) k;
    return written;
}
