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
    SQLite rewrites after such a change) goes out at once. A write out
    that fails keeps the frames and fails the call that asked for it:
    SQLite may carry on after a failed statement and counts them written,
    so they go out with the next write out, or the commit fails.

    The guard: SQLite publishes a commit to other connections (the
    wal-index header) only after a barrier on the database file; this VFS
    wraps the database file as well and writes out whatever its WAL file
    still keeps at that barrier. If that write fails, the process stops
    before the commit is published (a restart recovers from the file).
    When the WAL's write lock goes, what is still kept belongs to no
    commit and is dropped, never written later over another writer's
    frames. So no other connection sees a frame that is not in the file,
    and kill -9 loses only a commit that had not returned; a commit whose
    write out failed is dropped, so a crash cannot bring it back. It
    assumes SQLite's normal locking (satcheld's): in exclusive locking
    mode there is no lock to drop at. Files other than main database and
    WAL files are the base VFS's own.                                      */
#ifndef SATCHEL_STORE_VFS_H
#define SATCHEL_STORE_VFS_H

#define STORE_VFS_NAME "satchel-wal"

//  Register STORE_VFS_NAME over SQLite's default VFS, once per process
//  (later calls do nothing). Not the default VFS: only connections that
//  name it use it. Returns 0, or -1.
int store_vfs_register (void);

//  sqlite3_file_control (db, "main", STORE_VFS_FCNTL_KEPT, &bytes), with
//  bytes an sqlite3_int64: how many bytes the connection's WAL keeps now.
//  For tests; SQLITE_NOTFOUND on a connection not opened through it.
#define STORE_VFS_FCNTL_KEPT 0x5a7c0001

//  Register a VFS called name that gathers WAL writes over the VFS called
//  base (NULL: the default), for tests whose base counts or fails writes.
//  Returns 0, or -1 (no such base, or name taken).
int store_vfs_register_over (const char *name, const char *base);

#endif
