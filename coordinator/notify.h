/*  notify.h: telling systemd how satcheld is (sd_notify): READY=1 once the
    socket is bound and the database open and migrated, STATUS= lines with
    builds in flight and agents seen, WATCHDOG=1 from the event loop at half
    the interval systemd asks for (a wedged loop stops pinging and is
    restarted), STOPPING=1 on the way out.

    With libsystemd at build time (Debian libsystemd-dev) this is
    sd_notify; without it every call does nothing, and satcheld runs the
    same outside systemd. Outside systemd (no NOTIFY_SOCKET) sd_notify does
    nothing either.                                                        */
#ifndef SATCHEL_NOTIFY_H
#define SATCHEL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

//  How often STATUS= is refreshed at most, when it changed.
#define NOTIFY_STATUS_MS 5000

typedef struct _notify_t notify_t;

//  Reads the watchdog interval systemd set (WATCHDOG_USEC, WATCHDOG_PID).
notify_t *notify_new (void);
void notify_destroy (notify_t **self_p);

//  True if built with libsystemd.
bool notify_available (void);

//  READY=1 with a first STATUS= line.
void notify_ready (notify_t *self, const char *status);

//  A STATUS= line, sent if it differs from the last one and the last was
//  sent NOTIFY_STATUS_MS ago or more (now_mono_ms: monotonic), or at once
//  if force.
void notify_status (notify_t *self, const char *status, int64_t now_mono_ms, bool force);

//  STOPPING=1 with a last STATUS= line.
void notify_stopping (notify_t *self, const char *status);

//  Milliseconds until the next WATCHDOG=1 is due; -1 if the watchdog is off.
int64_t notify_wait_ms (const notify_t *self, int64_t now_mono_ms);

//  Send WATCHDOG=1 if due. Called from the loop on every turn.
void notify_watchdog (notify_t *self, int64_t now_mono_ms);

//  The ping interval in ms (half of systemd's), 0 if the watchdog is off.
int64_t notify_watchdog_ms (const notify_t *self);

#endif
