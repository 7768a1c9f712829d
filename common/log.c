/*  log.c: see log.h. Lines are written with one fputs of a whole buffer so
    that lines from concurrent processes sharing stderr do not interleave. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static log_level_t s_level = LOG_LEVEL_INFO;
static const char *s_prefix = "";
static int s_journal = -1;   //  -1 unknown, 0 no, 1 stderr is journald

//  stderr is the journal when JOURNAL_STREAM names its device and inode
//  ("dev:ino", as systemd sets it): a process whose stderr was redirected
//  inherits the variable but not the stream.
static int
s_stderr_is_journal (void)
{
    const char *stream = getenv ("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    char tail = 0;
    if (!stream || sscanf (stream, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    struct stat st;
    if (fstat (STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static const char *s_names[] = { "error", "warn", "info", "debug" };
//  syslog priorities: err, warning, info, debug
static const int s_priorities[] = { 3, 4, 6, 7 };

void
log_setup (log_level_t level, const char *prefix)
{
    s_level = level;
    s_prefix = prefix ? prefix : "";
}

int
log_level_parse (const char *text, log_level_t *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp (text, s_names[i]) == 0) {
            *level = (log_level_t) i;
            return 0;
        }
    }
    return -1;
}

log_level_t
log_level (void)
{
    return s_level;
}

static void __attribute__ ((format (printf, 2, 0)))
s_emit (const char *head, const char *fmt, va_list args)
{
    char line[4096];
    int used = 0;
    if (s_journal < 0)
        s_journal = s_stderr_is_journal ();
    used = snprintf (line, sizeof line, "%s", head);
    if (used < 0)
        return;
    if ((size_t) used < sizeof line)
        vsnprintf (line + used, sizeof line - (size_t) used, fmt, args);
    size_t len = strlen (line);
    if (len == sizeof line - 1)
        memcpy (line + sizeof line - 5, "...", 3);
    len = strlen (line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = 0;
    }
    fputs (line, stderr);
    fflush (stderr);
}

void
log_write (log_level_t level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char head[128];
    if (s_journal < 0)
        s_journal = s_stderr_is_journal ();
    if (s_journal)
        snprintf (head, sizeof head, "<%d>%s%s ", s_priorities[level], s_prefix, s_names[level]);
    else
        snprintf (head, sizeof head, "%s%s ", s_prefix, s_names[level]);
    va_list args;
    va_start (args, fmt);
    s_emit (head, fmt, args);
    va_end (args);
}

void
log_say (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    s_emit (s_prefix, fmt, args);
    va_end (args);
}

const char *
log_quote (const char *text)
{
    static char buffers[4][224];
    static int next = 0;
    if (!text)
        return "\"\"";
    int plain = *text != 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f) {
            plain = 0;
            break;
        }
    if (plain && strlen (text) <= 200)
        return text;
    char *out = buffers[next];
    next = (next + 1) % 4;
    size_t o = 0;
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *) text; *p && o < 200; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char) *p;
        }
        else if (*p < ' ' || *p == 0x7f)
            o += (size_t) snprintf (out + o, 8, "\\x%02x", *p);
        else
            out[o++] = (char) *p;
    }
    if (o >= 200) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = 0;
    return out;
}
