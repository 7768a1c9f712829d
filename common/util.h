/*  util.h: small helpers both sides share: clocks, checked number parsing,
    string and file helpers.                                                */
#ifndef SATCHEL_UTIL_H
#define SATCHEL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Milliseconds on CLOCK_MONOTONIC, for durations.
int64_t util_mono_ms (void);

//  Microseconds on CLOCK_MONOTONIC, for fine durations.
int64_t util_mono_us (void);

//  Milliseconds since the epoch (CLOCK_REALTIME), for what a person reads.
int64_t util_wall_ms (void);

//  Parse a whole decimal string into an unsigned value in [min, max].
//  No sign, no spaces, no trailing bytes. Returns 0, or -1 if invalid.
int util_parse_u64 (const char *text, uint64_t min, uint64_t max, uint64_t *out);

//  Same as util_parse_u64, narrowed for convenience.
int util_parse_u32 (const char *text, uint32_t min, uint32_t max, uint32_t *out);

//  Parse a decimal number of seconds ("5", "0.25") into milliseconds in
//  [min_ms, max_ms]. Returns 0, or -1 if invalid.
int util_parse_seconds_ms (const char *text, int64_t min_ms, int64_t max_ms, int64_t *out);

//  strdup that aborts on out-of-memory (memory exhaustion is not an error
//  path we can recover from in either program).
char *util_strdup (const char *text);

//  A malloc'd string formatted as by printf (vprintf). Aborts on
//  out-of-memory.
char *util_format (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *util_vformat (const char *fmt, va_list args) __attribute__ ((format (printf, 1, 0)));

//  Copy size bytes and NUL-terminate. Aborts on out-of-memory.
char *util_strndup (const char *data, size_t size);

//  malloc/calloc/realloc that abort on out-of-memory.
void *util_malloc (size_t size);
void *util_calloc (size_t count, size_t size);
void *util_realloc (void *ptr, size_t size);

//  Create a directory and its parents (like mkdir -p) with mode 0750.
//  Returns 0, or -1 with errno set.
int util_mkdir_p (const char *path);

//  Write text to path atomically (temp file in the same folder, rename).
//  Returns 0, or -1 with errno set.
int util_write_file_atomic (const char *path, const char *text);

//  getopt_long, without its abbreviations: "--server" is not taken for
//  "--server-key" (a typo must not become another flag). An abbreviated
//  long option is answered '?' like an unknown one. *bad is set to the
//  argument as typed for every '?' and ':' (for the message).
struct option;
int util_getopt (int argc, char *const *argv, const char *optstring,
                 const struct option *table, const char **bad);

#endif
