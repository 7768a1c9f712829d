/*  store_vfs.h: an SQLite VFS that hands each transaction's WAL frames to
    the file system in one write.

    SQLite writes a WAL frame as two writes, its 24-byte header and then
    its page, so a commit of ten pages is twenty pwrite calls; under a
    flood of requests those calls were a fifth of the loop's time. This
    VFS keeps the frames a connection appends to its WAL side by side in
    memory, and writes them out, one call per 120 KiB, when the commit
    frame (the one whose header carries the database size: the WAL format
    of sqlite.org/fileformat2.html) is complete, or before anything else
    is done with that WAL file (a read, a sync, a truncate, its size, a
    file control, a close) or a write that does not follow on. A write
    over what was written before (a page changed again, the checksums
    SQLite rewrites after such a change) goes out at once. A failed write
    fails the commit as before.

    The guard: SQLite publishes a commit to other connections (the
    wal-index header) only after a barrier on the database file, and takes
    and lets go of the WAL's locks there too; this VFS wraps the database
    file as well and writes out whatever its WAL file still keeps at those
    moments. So no other connection ever sees a frame that is not in the
    file, frames of a transaction rolled back never land on another
    writer's later ones, and kill -9 loses only a commit that had not
    returned. The barrier cannot fail: if that write fails, the process
    stops before the commit is published (a restart recovers from the
    file). Files other than main database and WAL files are the base
    VFS's own.                                                             */
#ifndef SATCHEL_STORE_VFS_H
#define SATCHEL_STORE_VFS_H

#define STORE_VFS_NAME "satchel-wal"

//  Register STORE_VFS_NAME over SQLite's default VFS, once per process
//  (later calls do nothing). Not the default VFS: only connections that
//  name it use it. Returns 0, or -1.
int store_vfs_register (void);

//  Register a VFS called name that gathers WAL writes over the VFS called
//  base (NULL: the default), for tests whose base counts or fails writes.
//  Returns 0, or -1 (no such base, or name taken).
int store_vfs_register_over (const char *name, const char *base);

#endif
