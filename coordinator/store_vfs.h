/*  store_vfs.h: an SQLite VFS that hands each transaction's WAL frames to
    the file system in one write.

    SQLite writes a WAL frame as two writes, its 24-byte header and then
    its page, so a commit of ten pages is twenty pwrite calls; under a
    flood of requests those calls were a fifth of the loop's time. This
    VFS lays the frames a connection writes to its WAL side by side in
    memory, and writes them out, one call per 120 KiB, when the commit
    frame (the one whose header carries the database size: the WAL format
    of sqlite.org/fileformat2.html) is complete, or before anything else
    is done with that WAL file (a read, a sync, a truncate, its size, a
    file control, a close) or a write that does not follow on. SQLite
    publishes a commit to other connections (the wal-index header) only
    after the commit frame's write returned, so they never see a frame
    that is not in the file; a failed write fails the commit as before;
    a crash before it loses only a transaction that had not committed.
    Files other than WAL files are the base VFS's own.                     */
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
