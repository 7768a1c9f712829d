/*  log.h: one event per line on stderr, level first, then key=value fields.

    Format:  "<level> <event> key=value key=value ..."  for example
        info build_started suite=web build=1234 units=812 nodes=8
    When stderr is journald (JOURNAL_STREAM names stderr's device and
    inode) each line also gets the syslog priority prefix "<N>" so journald
    records the level.
    Values containing spaces or quotes are quoted by log_quote().            */
#ifndef SATCHEL_LOG_H
#define SATCHEL_LOG_H

#include <stdarg.h>

typedef enum {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3
} log_level_t;

//  Set the lowest level written, and a prefix put before every line
//  ("satchel: " for the agent, "" for the daemon). Prefix is borrowed.
void log_setup (log_level_t level, const char *prefix);

//  Parse "error", "warn", "info", "debug". Returns 0, or -1 if unknown.
int log_level_parse (const char *text, log_level_t *level);

log_level_t log_level (void);

//  Write one line if level is enabled. fmt holds the event and its fields.
void log_write (log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define log_error(...) log_write (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write (LOG_LEVEL_WARN, __VA_ARGS__)
//  Below the level, not even the arguments are worked out: the daemon's
//  hot path has debug lines whose fields cost a log_quote each.
#define log_info(...) \
    do { if (log_level () >= LOG_LEVEL_INFO) log_write (LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) \
    do { if (log_level () >= LOG_LEVEL_DEBUG) log_write (LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

//  Write a plain message line (no level word) with the prefix, for what a
//  person reads on the agent's side: "satchel: batch 3: ...".
void log_say (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  Return text made safe for a key=value field: unchanged if it has no
//  space, quote, '=' or control byte, else double-quoted with escapes.
//  The result lives in one of a few rotating static buffers (truncated at
//  200 bytes with "..."), so it is valid until the fourth next call.
const char *log_quote (const char *text);

#endif
