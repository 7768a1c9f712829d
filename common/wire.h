/*  wire.h: checks a msgpack frame before anything unpacks it.

    msgpack-c's unpacker trusts the sizes written in its input: five bytes
    can claim an array of four billion elements and make it allocate
    gigabytes (msgpack-c issue #1013). wire_check walks the raw bytes first
    and proves that every declared count and length fits in what is actually
    there, that nesting is shallow, that only the types the protocol uses
    appear, and that exactly one object fills the frame.                    */
#ifndef SATCHEL_WIRE_H
#define SATCHEL_WIRE_H

#include <stddef.h>

typedef struct {
    size_t max_frame;        //  Largest frame accepted, in bytes
    size_t max_depth;        //  Deepest nesting of maps and arrays (the
                             //  outermost one is depth 1; capped at 32,
                             //  the deepest msgpack-c's C unpacker takes)
    size_t max_elements;     //  Most elements in one array or pairs in one map
    size_t max_string;       //  Longest string (and binary, unless below), in bytes
    size_t max_total;        //  Most objects in the whole frame, counting
                             //  every key, value and element; 0 = no limit.
                             //  msgpack-c allocates about 24 bytes per object,
                             //  so this bounds what unpacking costs in memory
    size_t max_binary;       //  Longest binary, in bytes; 0: max_string. The
                             //  unpacker points into the frame for a binary,
                             //  so up to the frame's size costs nothing more
} wire_limits_t;

//  Walk data[0..size). Returns 0 if it is exactly one well-formed msgpack
//  object within the limits, holding only nil, bool, integers, floats,
//  strings, binaries, arrays and maps (no ext). Otherwise returns -1 and
//  writes a short reason ("truncated input", "array of 4294967295 elements
//  exceeds the 6 bytes left", "trailing bytes after message", ...) into
//  reason (size reason_size).
int wire_check (const void *data, size_t size, const wire_limits_t *limits,
                char *reason, size_t reason_size);

#endif
