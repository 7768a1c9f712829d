/*  clients.h: satcheld's folder of authorized agent keys (--clients).

    Each regular file directly in the folder whose name neither starts
    with '.' nor ends in "_secret" is read as a public certificate
    (curve_keys.h): its public key is authorized, with what its metadata
    allows. Files that cannot be read, have bad metadata, or repeat a key
    already loaded are skipped with a warning; one bad file never takes
    the others (or the daemon) down. Subfolders are ignored, so moving a
    key into "revoked/" revokes it.

    The folder is read again whenever it changed: clients_refresh compares
    each file's name, inode, size, modification and change times (in
    nanoseconds) with the last load. satcheld calls it at every CurveZMQ
    handshake, so adding or removing a key file takes effect with the next
    connection, without a restart.

    Why not czmq's own zcertstore folder loader (which zauth uses): in
    czmq 4.2.1 it notices changes by the newest modification time in whole
    seconds, the file count and the total size, so a key replaced by one
    of the same size within that second, or moved in with an older mtime,
    goes unnoticed; it loads subfolders; it keeps the old keys when the
    folder disappears; two files holding one key trip an assert in
    zcertstore_insert (satcheld would abort), and zauth copies a key's
    metadata into a fixed 512-byte buffer without a bounds check (a long
    suites list overflows the heap). Both were reproduced here. Custom
    loaders (zcertstore_set_loader) are czmq draft API, absent from
    Debian's libczmq. So satcheld keeps its own table of keys (sorted,
    rebuilt on change) and answers ZAP itself (zap.h).                    */
#ifndef SATCHEL_CLIENTS_H
#define SATCHEL_CLIENTS_H

#include "curve_keys.h"

#include <stddef.h>

typedef struct _clients_t clients_t;

//  Check the folder (it must exist, be readable and not be writable by
//  everyone) and load it. Returns NULL with why on error.
clients_t *clients_new (const char *folder, char *why, size_t why_size);

//  Safe on NULL; sets *self_p to NULL.
void clients_destroy (clients_t **self_p);

//  Read the folder again if any file in it changed. An unreadable folder
//  leaves no key authorized (logged once until it can be read again).
void clients_refresh (clients_t *self);

//  The metadata of an authorized key (Z85 text), or NULL if the key is not
//  authorized. Borrowed until the next clients_refresh.
const curve_meta_t *clients_lookup (clients_t *self, const char *public_txt);

//  Keys authorized after the last load.
size_t clients_count (clients_t *self);

//  The folder, as given.
const char *clients_folder (clients_t *self);

#endif
