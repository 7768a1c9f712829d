/*  wire.c: see wire.h.

    A walk over the raw bytes by the msgpack spec, before msgpack-c sees
    them. msgpack-c allocates room for every element an array or map header
    announces before it reads a single element, so the walk checks each
    header's count against the bytes that are actually left (every object
    takes at least one byte, every map pair two) and against the limits.
    Nothing here allocates.

    The walk recurses once per level of nesting, and the depth is capped,
    so the stack it needs is bounded whatever the input says.              */
#include "wire.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

//  msgpack-c's C unpacker keeps a fixed stack of 32 open containers and
//  fails on anything deeper, so there is no point in accepting more.
#define WIRE_DEPTH_CAP 32

//  One walk over one frame.
typedef struct {
    const uint8_t *data;            //  The frame
    size_t size;                    //  Its size in bytes
    size_t pos;                     //  Offset of the next byte to read
    size_t objects;                 //  Objects seen so far, for max_total
    size_t max_depth;               //  limits->max_depth, capped
    const wire_limits_t *limits;    //  What is allowed
    char *reason;                   //  Where the reason goes (may be NULL)
    size_t reason_size;             //  Size of reason
} s_walk_t;

static int s_object (s_walk_t *self, size_t depth);

//  Write why the frame is refused. Always returns -1, so callers can
//  "return s_fail (...)".
static int __attribute__ ((format (printf, 2, 3)))
s_fail (s_walk_t *self, const char *fmt, ...)
{
    if (self->reason && self->reason_size > 0) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (self->reason, self->reason_size, fmt, args);
        va_end (args);
    }
    return -1;
}

static size_t
s_left (const s_walk_t *self)
{
    return self->size - self->pos;
}

//  Make sure the fixed-size part after a type byte (a length, a count or a
//  number) is all there. what names the format for the reason.
static int
s_need (s_walk_t *self, size_t bytes, const char *what)
{
    if (s_left (self) < bytes)
        return s_fail (self, "truncated input: %s at byte %zu needs %zu bytes, %zu left",
                       what, self->pos - 1, bytes, s_left (self));
    return 0;
}

//  Read a big-endian unsigned number of 1, 2 or 4 bytes and step over it.
//  The caller has checked with s_need that the bytes are there.
static uint32_t
s_read_be (s_walk_t *self, size_t bytes)
{
    uint32_t value = 0;
    for (size_t i = 0; i < bytes; i++)
        value = (value << 8) | self->data[self->pos + i];
    self->pos += bytes;
    return value;
}

//  Step over a number of fixed size that follows its type byte.
static int
s_skip (s_walk_t *self, size_t bytes, const char *what)
{
    if (s_need (self, bytes, what) != 0)
        return -1;
    self->pos += bytes;
    return 0;
}

//  Step over the length bytes of a string or binary at pos.
static int
s_bytes (s_walk_t *self, const char *what, uint32_t length)
{
    if (length > s_left (self))
        return s_fail (self, "%s of %" PRIu32 " bytes exceeds the %zu bytes left",
                       what, length, s_left (self));
    size_t max = self->limits->max_string;
    if (strcmp (what, "binary") == 0 && self->limits->max_binary > 0)
        max = self->limits->max_binary;
    if (length > max)
        return s_fail (self, "%s of %" PRIu32 " bytes exceeds the limit of %zu bytes",
                       what, length, max);
    self->pos += length;
    return 0;
}

//  Step over a string or binary whose length header, of header_bytes,
//  starts at pos.
static int
s_payload (s_walk_t *self, const char *what, size_t header_bytes)
{
    if (s_need (self, header_bytes, what) != 0)
        return -1;
    return s_bytes (self, what, s_read_be (self, header_bytes));
}

//  Walk an array (is_map false) or a map whose count header, of
//  header_bytes (0 for the fix forms, where fix_count holds it), starts at
//  pos. depth is the depth of this container: 1 for the outermost.
static int
s_container (s_walk_t *self, bool is_map, size_t header_bytes, uint32_t fix_count,
             size_t depth)
{
    const char *what = is_map ? "map" : "array";
    uint32_t count = fix_count;
    if (header_bytes > 0) {
        if (s_need (self, header_bytes, what) != 0)
            return -1;
        count = s_read_be (self, header_bytes);
    }
    //  Bytes left first: a count the frame cannot hold is a lie, whatever
    //  the limits are, and this is the check that stops issue #1013.
    //  Dividing instead of multiplying keeps the test free of overflow.
    size_t per_item = is_map ? 2 : 1;
    if (count > s_left (self) / per_item) {
        if (is_map)
            return s_fail (self, "map of %" PRIu32 " pairs exceeds the %zu bytes left",
                           count, s_left (self));
        return s_fail (self, "array of %" PRIu32 " elements exceeds the %zu bytes left",
                       count, s_left (self));
    }
    if (count > self->limits->max_elements)
        return s_fail (self, "%s of %" PRIu32 " %s exceeds the limit of %zu",
                       what, count, is_map ? "pairs" : "elements",
                       self->limits->max_elements);
    if (depth > self->max_depth)
        return s_fail (self, "%s at byte %zu is nested %zu deep, more than the limit of %zu",
                       what, self->pos - 1 - header_bytes, depth, self->max_depth);
    size_t items = (size_t) count * per_item;
    for (size_t i = 0; i < items; i++) {
        if (s_object (self, depth) != 0)
            return -1;
    }
    return 0;
}

//  Walk one object starting at pos. depth is the number of containers
//  around it.
static int
s_object (s_walk_t *self, size_t depth)
{
    if (s_left (self) == 0)
        return s_fail (self, "truncated input: an object is missing at byte %zu", self->pos);
    size_t max_total = self->limits->max_total;
    self->objects++;
    if (max_total > 0 && self->objects > max_total)
        return s_fail (self, "more than %zu objects in the frame", max_total);

    uint8_t type = self->data[self->pos++];
    if (type <= 0x7f || type >= 0xe0)
        return 0;                       //  positive or negative fixint
    if (type <= 0x8f)
        return s_container (self, true, 0, type & 0x0f, depth + 1);
    if (type <= 0x9f)
        return s_container (self, false, 0, type & 0x0f, depth + 1);
    if (type <= 0xbf) {
        //  fixstr: the length is in the type byte itself
        return s_bytes (self, "string", type & 0x1f);
    }
    switch (type) {
        case 0xc0:                      //  nil
        case 0xc2:                      //  false
        case 0xc3:                      //  true
            return 0;
        case 0xc1:
            return s_fail (self, "byte 0xc1 at byte %zu is never used in msgpack",
                           self->pos - 1);
        case 0xc4: return s_payload (self, "binary", 1);
        case 0xc5: return s_payload (self, "binary", 2);
        case 0xc6: return s_payload (self, "binary", 4);
        case 0xc7: case 0xc8: case 0xc9:
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            //  The protocol never sends ext types, and msgpack-c would hand
            //  their payloads on without any meaning we could check.
            return s_fail (self, "ext type 0x%02x at byte %zu is not allowed",
                           type, self->pos - 1);
        case 0xca: return s_skip (self, 4, "float32");
        case 0xcb: return s_skip (self, 8, "float64");
        case 0xcc: return s_skip (self, 1, "uint8");
        case 0xcd: return s_skip (self, 2, "uint16");
        case 0xce: return s_skip (self, 4, "uint32");
        case 0xcf: return s_skip (self, 8, "uint64");
        case 0xd0: return s_skip (self, 1, "int8");
        case 0xd1: return s_skip (self, 2, "int16");
        case 0xd2: return s_skip (self, 4, "int32");
        case 0xd3: return s_skip (self, 8, "int64");
        case 0xd9: return s_payload (self, "string", 1);
        case 0xda: return s_payload (self, "string", 2);
        case 0xdb: return s_payload (self, "string", 4);
        case 0xdc: return s_container (self, false, 2, 0, depth + 1);
        case 0xdd: return s_container (self, false, 4, 0, depth + 1);
        case 0xde: return s_container (self, true, 2, 0, depth + 1);
        case 0xdf: return s_container (self, true, 4, 0, depth + 1);
        default:
            //  Every byte value is covered above; this is for the compiler.
            assert (false);
            return s_fail (self, "unknown type byte 0x%02x at byte %zu", type, self->pos - 1);
    }
}

int
wire_check (const void *data, size_t size, const wire_limits_t *limits,
            char *reason, size_t reason_size)
{
    assert (limits);
    assert (data || size == 0);
    s_walk_t walk = {
        .data = data,
        .size = size,
        .pos = 0,
        .objects = 0,
        .max_depth = limits->max_depth < WIRE_DEPTH_CAP ? limits->max_depth : WIRE_DEPTH_CAP,
        .limits = limits,
        .reason = reason,
        .reason_size = reason_size
    };
    if (reason && reason_size > 0)
        reason[0] = 0;
    if (size == 0)
        return s_fail (&walk, "truncated input: the frame is empty");
    if (size > limits->max_frame)
        return s_fail (&walk, "frame of %zu bytes exceeds the limit of %zu bytes",
                       size, limits->max_frame);
    if (s_object (&walk, 0) != 0)
        return -1;
    if (walk.pos != size)
        return s_fail (&walk, "trailing bytes after message: %zu bytes after the object that ends at byte %zu",
                       size - walk.pos, walk.pos);
    return 0;
}
