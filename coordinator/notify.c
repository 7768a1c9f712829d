/*  notify.c: sd_notify for satcheld. See notify.h.                       */
#include "notify.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SATCHEL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct _notify_t {
    int64_t watchdog_ms;         //  ping every this often, 0: off
    int64_t next_ping_ms;        //  monotonic time of the next ping
    int64_t status_ms;           //  monotonic time of the last STATUS=
    char status[512];            //  the last STATUS= sent
};

static void
s_send (const char *state)
{
#ifdef SATCHEL_HAVE_SYSTEMD
    //  0 outside systemd; an error is worth a line, not a stop.
    int rc = sd_notify (0, state);
    if (rc < 0)
        log_warn ("notify_failed error=%s", log_quote (strerror (-rc)));
#else
    (void) state;
#endif
}

bool
notify_available (void)
{
#ifdef SATCHEL_HAVE_SYSTEMD
    return true;
#else
    return false;
#endif
}

notify_t *
notify_new (void)
{
    notify_t *self = util_calloc (1, sizeof *self);
#ifdef SATCHEL_HAVE_SYSTEMD
    uint64_t usec = 0;
    //  > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID is unset or ours.
    if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0) {
        self->watchdog_ms = (int64_t) (usec / 2000);
        if (self->watchdog_ms < 1)
            self->watchdog_ms = 1;
        log_info ("watchdog_on ping_ms=%lld", (long long) self->watchdog_ms);
    }
#endif
    self->next_ping_ms = util_mono_ms ();
    return self;
}

void
notify_destroy (notify_t **self_p)
{
    if (!*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

static void
s_state_with_status (const char *state, const char *status)
{
    char text[600];
    snprintf (text, sizeof text, "%s%sSTATUS=%s", state, *state ? "\n" : "", status);
    s_send (text);
}

void
notify_ready (notify_t *self, const char *status)
{
    snprintf (self->status, sizeof self->status, "%s", status);
    self->status_ms = util_mono_ms ();
    s_state_with_status ("READY=1", status);
}

void
notify_status (notify_t *self, const char *status, int64_t now_mono_ms, bool force)
{
    if (strcmp (status, self->status) == 0)
        return;
    if (!force && now_mono_ms - self->status_ms < NOTIFY_STATUS_MS)
        return;
    snprintf (self->status, sizeof self->status, "%s", status);
    self->status_ms = now_mono_ms;
    s_state_with_status ("", status);
}

void
notify_stopping (notify_t *self, const char *status)
{
    (void) self;
    s_state_with_status ("STOPPING=1", status);
}

int64_t
notify_wait_ms (const notify_t *self, int64_t now_mono_ms)
{
    if (self->watchdog_ms == 0)
        return -1;
    return self->next_ping_ms > now_mono_ms ? self->next_ping_ms - now_mono_ms : 0;
}

void
notify_watchdog (notify_t *self, int64_t now_mono_ms)
{
    if (self->watchdog_ms == 0 || now_mono_ms < self->next_ping_ms)
        return;
    s_send ("WATCHDOG=1");
    self->next_ping_ms = now_mono_ms + self->watchdog_ms;
}

int64_t
notify_watchdog_ms (const notify_t *self)
{
    return self->watchdog_ms;
}
