/*  store_vfs.c: see store_vfs.h.                                          */
#include "store_vfs.h"

#include <pthread.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WAL_HEADER_SIZE 32       //  then frames, each a header and a page
#define FRAME_HEADER_SIZE 24     //  page number, database size if commit, ...
//  The unix VFS writes at most 128 KiB a call (it masks the count to 17
//  bits), so the frames go out in pieces below that.
#define WRITE_MAX (120 * 1024)
//  Frames of one transaction kept at most (a large one spills to the WAL
//  as it goes: those writes need not wait for its end).
#define BUFFER_MAX (4 * 1024 * 1024)

#define NAME_SIZE 64

typedef struct {
    sqlite3_vfs vfs;             //  first: SQLite hands us &vfs
    sqlite3_vfs *base;           //  the VFS underneath
    char name[NAME_SIZE];
} gather_vfs_t;

typedef struct _gather_db_t gather_db_t;

typedef struct {
    sqlite3_file file;           //  first: pMethods is s_methods
    sqlite3_file *real;          //  the base VFS's file, just after this struct
    gather_db_t *db;             //  the database file of the same connection, or NULL
    unsigned char *data;         //  frames not written yet
    size_t size, alloc;
    sqlite3_int64 offset;        //  where data goes in the file
    sqlite3_int64 given_end;     //  end of all written or kept since the WAL (re)started
    sqlite3_int64 commit_end;    //  write out once data reaches it (-1: no commit seen)
    uint32_t page_size;          //  from the WAL header (0: not known yet)
    uint32_t reserved;
} gather_file_t;

//  A main database file: the base VFS's, with its WAL file beside it, so
//  that nothing kept outlives the moment SQLite publishes a commit (the
//  barrier before it writes the wal-index header) or lets go of the WAL.
struct _gather_db_t {
    sqlite3_file file;           //  first: pMethods is one of s_db_methods
    sqlite3_file *real;          //  the base VFS's file, just after this struct
    gather_file_t *wal;          //  its WAL file while open, or NULL
    sqlite3_int64 reserved;
};

//  What both wrappers begin with: the methods that only pass a call on
//  (locks, sector size, device) serve both.
typedef struct {
    sqlite3_file file;
    sqlite3_file *real;
} wrapped_t;
#define REAL_OF(f) (((wrapped_t *) (f))->real)
_Static_assert (offsetof (gather_file_t, real) == offsetof (wrapped_t, real)
                && offsetof (gather_db_t, real) == offsetof (wrapped_t, real),
                "both wrappers begin as wrapped_t");

_Static_assert (sizeof (gather_file_t) % 8 == 0 && sizeof (gather_db_t) % 8 == 0,
                "the base file that follows is aligned");

static sqlite3_io_methods s_methods;
//  By the base file's iVersion: [1] no shared memory, [2] no mmap, [3] all.
static sqlite3_io_methods s_db_methods[4];

static uint32_t
s_be32 (const unsigned char *bytes)
{
    return (uint32_t) bytes[0] << 24 | (uint32_t) bytes[1] << 16 | (uint32_t) bytes[2] << 8
           | bytes[3];
}

//  The transaction ended (the WAL write lock goes): what is still kept is
//  of none that committed (a commit is written out before SQLite
//  publishes it), so it is dropped, not written later over frames that
//  another writer may add next.
static void
s_drop (gather_file_t *self)
{
    //  From the start of the frame the dropped bytes begin in (a write out
    //  that failed part way stops between pieces, not between frames), so
    //  that a frame written there again is an append, its header seen.
    if (self->size > 0) {
        self->given_end = self->offset;
        sqlite3_int64 frame = (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE;
        if (self->page_size > 0 && self->given_end > WAL_HEADER_SIZE)
            self->given_end -= (self->given_end - WAL_HEADER_SIZE) % frame;
    }
    self->size = 0;
    self->commit_end = -1;
}

//  Write out what is kept. A write that fails keeps it all: SQLite may
//  carry on with the transaction after a failed statement, and counts
//  those frames as written, so they go out with the next write out, or
//  the commit fails. Only the end of the transaction drops them (s_drop).
static int
s_flush (gather_file_t *self)
{
    int rc = SQLITE_OK;
    size_t done = 0;
    while (rc == SQLITE_OK && done < self->size) {
        size_t piece = self->size - done < WRITE_MAX ? self->size - done : WRITE_MAX;
        rc = self->real->pMethods->xWrite (self->real, self->data + done, (int) piece,
                                            self->offset + (sqlite3_int64) done);
        if (rc == SQLITE_OK)
            done += piece;
    }
    if (done > 0 && done < self->size)
        memmove (self->data, self->data + done, self->size - done);
    self->offset += (sqlite3_int64) done;
    self->size -= done;
    if (rc != SQLITE_OK) {
        //  Kept frames that hold a commit are that commit's: it fails with
        //  this write, and SQLite rolls back. Written later (a read of the
        //  rollback would try), they would be a whole commit past the last
        //  one, which recovery after a crash would bring back.
        if (self->commit_end > self->offset)
            s_drop (self);
        return rc;
    }
    //  A commit frame split by a sync (SQLite may sync in the middle of
    //  its last frame) is still awaited.
    if (self->commit_end >= 0 && self->commit_end <= self->offset)
        self->commit_end = -1;
    //  A large transaction's room is not kept for the small ones.
    if (self->alloc > 256 * 1024) {
        free (self->data);
        self->data = NULL;
        self->alloc = 0;
    }
    return SQLITE_OK;
}


static int
s_close (sqlite3_file *file)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    int closed = self->real->pMethods->xClose (self->real);
    free (self->data);
    self->data = NULL;
    if (self->db)
        self->db->wal = NULL;
    self->db = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int
s_read (sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xRead (self->real, data, amount, offset);
}

//  The page size, from the WAL header being written or already written.
static void
s_learn_page_size (gather_file_t *self, const unsigned char *bytes, int amount,
                   sqlite3_int64 offset)
{
    if (offset == 0 && amount >= WAL_HEADER_SIZE)
        self->page_size = s_be32 (bytes + 8);
    else
    if (self->page_size == 0 && offset >= WAL_HEADER_SIZE) {
        unsigned char header[WAL_HEADER_SIZE];
        if (self->real->pMethods->xRead (self->real, header, WAL_HEADER_SIZE, 0) == SQLITE_OK)
            self->page_size = s_be32 (header + 8);
    }
    //  Not a page size SQLite writes: frames cannot be told, write through.
    if (self->page_size < 512 || self->page_size > 65536
        || (self->page_size & (self->page_size - 1)) != 0)
        self->page_size = 0;
}

//  A write that starts with a frame header whose database size is not 0:
//  the commit frame's.
static bool
s_commit_header (const gather_file_t *self, const unsigned char *bytes, int amount,
                 sqlite3_int64 offset)
{
    sqlite3_int64 frame = (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE;
    return self->page_size > 0 && offset >= WAL_HEADER_SIZE
           && (offset - WAL_HEADER_SIZE) % frame == 0 && amount >= FRAME_HEADER_SIZE
           && s_be32 (bytes + 4) != 0;
}

static int
s_write (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    gather_file_t *self = (gather_file_t *) file;
    const unsigned char *bytes = data;
    //  Only appends are kept: the WAL's header (it starts over, everything
    //  after it is new) and what follows all that was given. A write over
    //  what was given before (a page changed again, frame checksums
    //  rewritten after the commit frame) goes out at once, after what is
    //  kept. given_end moves only once a write is done or kept.
    bool append = offset == 0 || offset >= self->given_end;
    if (self->size > 0 && (!append || offset != self->offset + (sqlite3_int64) self->size
                           || self->size + (size_t) amount > BUFFER_MAX)) {
        int rc = s_flush (self);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (offset == 0) {
        self->given_end = 0;
        self->commit_end = -1;
    }
    s_learn_page_size (self, bytes, amount, offset);
    if (!append || self->page_size == 0 || amount <= 0 || (size_t) amount > BUFFER_MAX) {
        int rc = self->real->pMethods->xWrite (self->real, data, amount, offset);
        if (rc != SQLITE_OK)
            return rc;
        //  A commit frame's header that went out at once, its page still
        //  to come as an append (where a statement rolled back left
        //  given_end inside that frame): the page is awaited all the same.
        if (s_commit_header (self, bytes, amount, offset)
            && offset + (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE > self->given_end)
            self->commit_end = offset + (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE;
        if (offset + amount > self->given_end)
            self->given_end = offset + amount;
        return SQLITE_OK;
    }
    if (self->size + (size_t) amount > self->alloc) {
        size_t alloc = self->alloc ? self->alloc : 64 * 1024;
        while (alloc < self->size + (size_t) amount)
            alloc *= 2;
        unsigned char *grown = realloc (self->data, alloc);
        if (!grown)
            return SQLITE_IOERR_NOMEM;
        self->data = grown;
        self->alloc = alloc;
    }
    if (self->size == 0)
        self->offset = offset;
    memcpy (self->data + self->size, data, (size_t) amount);
    self->size += (size_t) amount;
    self->given_end = offset + amount;
    //  The transaction is whole once the commit frame's page is here too.
    if (s_commit_header (self, bytes, amount, offset))
        self->commit_end = offset + (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE;
    if (self->commit_end >= 0 && self->offset + (sqlite3_int64) self->size >= self->commit_end)
        return s_flush (self);
    return SQLITE_OK;
}

static int
s_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    if (rc == SQLITE_OK)
        rc = self->real->pMethods->xTruncate (self->real, size);
    if (rc == SQLITE_OK && size < self->given_end)
        self->given_end = size;
    return rc;
}

static int
s_sync (sqlite3_file *file, int flags)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xSync (self->real, flags);
}

static int
s_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xFileSize (self->real, size);
}

static int
s_lock (sqlite3_file *file, int level)
{
    return REAL_OF (file)->pMethods->xLock (REAL_OF (file), level);
}

static int
s_unlock (sqlite3_file *file, int level)
{
    return REAL_OF (file)->pMethods->xUnlock (REAL_OF (file), level);
}

static int
s_check_reserved_lock (sqlite3_file *file, int *out)
{
    return REAL_OF (file)->pMethods->xCheckReservedLock (REAL_OF (file), out);
}

static int
s_file_control (sqlite3_file *file, int op, void *arg)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xFileControl (self->real, op, arg);
}

static int
s_sector_size (sqlite3_file *file)
{
    return REAL_OF (file)->pMethods->xSectorSize (REAL_OF (file));
}

static int
s_device_characteristics (sqlite3_file *file)
{
    return REAL_OF (file)->pMethods->xDeviceCharacteristics (REAL_OF (file));
}

//  The main database file: the base's, but before SQLite publishes a
//  commit (the barrier before the wal-index header) or takes or lets go
//  of a WAL lock, whatever its WAL file keeps is written out. A commit is
//  written out by its last frame's write already (s_write): this is the
//  guard for ways of writing frames that s_write does not see through.

static void
s_db_flush_wal (sqlite3_file *file)
{
    gather_file_t *wal = ((gather_db_t *) file)->wal;
    if (!wal || wal->size == 0)
        return;
    if (s_flush (wal) != SQLITE_OK) {
        //  The barrier cannot fail, and what follows it would show other
        //  connections frames that are not in the file: stop here, with
        //  nothing published (a restart recovers from the file).
        fprintf (stderr, "satcheld: cannot write the WAL before a commit is published; "
                         "stopping\n");
        abort ();
    }
}

static int
s_db_close (sqlite3_file *file)
{
    gather_db_t *self = (gather_db_t *) file;
    if (self->wal)
        self->wal->db = NULL;
    self->wal = NULL;
    return self->real->pMethods->xClose (self->real);
}

static int
s_db_read (sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    return REAL_OF (file)->pMethods->xRead (REAL_OF (file), data, amount, offset);
}

static int
s_db_write (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    return REAL_OF (file)->pMethods->xWrite (REAL_OF (file), data, amount, offset);
}

static int
s_db_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    return REAL_OF (file)->pMethods->xTruncate (REAL_OF (file), size);
}

static int
s_db_sync (sqlite3_file *file, int flags)
{
    return REAL_OF (file)->pMethods->xSync (REAL_OF (file), flags);
}

static int
s_db_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
    return REAL_OF (file)->pMethods->xFileSize (REAL_OF (file), size);
}

static int
s_db_file_control (sqlite3_file *file, int op, void *arg)
{
    if (op == STORE_VFS_FCNTL_KEPT) {
        gather_file_t *wal = ((gather_db_t *) file)->wal;
        *(sqlite3_int64 *) arg = wal ? (sqlite3_int64) wal->size : 0;
        return SQLITE_OK;
    }
    return REAL_OF (file)->pMethods->xFileControl (REAL_OF (file), op, arg);
}

static int
s_db_shm_map (sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return REAL_OF (file)->pMethods->xShmMap (REAL_OF (file), region, size, extend, out);
}

//  The WAL's write lock, in the wal-index's lock bytes (sqlite.org/walformat.html).
#define WAL_WRITE_LOCK 0

static int
s_db_shm_lock (sqlite3_file *file, int offset, int count, int flags)
{
    int rc = REAL_OF (file)->pMethods->xShmLock (REAL_OF (file), offset, count, flags);
    gather_file_t *wal = ((gather_db_t *) file)->wal;
    if (wal && offset <= WAL_WRITE_LOCK && offset + count > WAL_WRITE_LOCK
        && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
        s_drop (wal);
        //  The next transaction writes over nothing of this one: it appends
        //  after the last commit (or starts the WAL over).
        wal->given_end = 0;
    }
    return rc;
}

static void
s_db_shm_barrier (sqlite3_file *file)
{
    s_db_flush_wal (file);
    REAL_OF (file)->pMethods->xShmBarrier (REAL_OF (file));
}

static int
s_db_shm_unmap (sqlite3_file *file, int delete_flag)
{
    return REAL_OF (file)->pMethods->xShmUnmap (REAL_OF (file), delete_flag);
}

static int
s_db_fetch (sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    return REAL_OF (file)->pMethods->xFetch (REAL_OF (file), offset, amount, out);
}

static int
s_db_unfetch (sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    return REAL_OF (file)->pMethods->xUnfetch (REAL_OF (file), offset, page);
}

static bool
s_is_gather_db (const sqlite3_file *file)
{
    return file && file->pMethods
           && (file->pMethods == &s_db_methods[1] || file->pMethods == &s_db_methods[2]
               || file->pMethods == &s_db_methods[3]);
}

//  A WAL file and a main database file are wrapped; any other file is
//  the base VFS's, unwrapped.
static int
s_open (sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
    sqlite3_vfs *base = ((gather_vfs_t *) vfs)->base;
    if (flags & SQLITE_OPEN_MAIN_DB) {
        gather_db_t *self = (gather_db_t *) file;
        memset (self, 0, sizeof *self);
        self->real = (sqlite3_file *) (self + 1);
        memset (self->real, 0, (size_t) base->szOsFile);
        int rc = base->xOpen (base, name, self->real, flags, out_flags);
        if (rc != SQLITE_OK) {
            //  A base file with methods is closed even when its open failed.
            if (self->real->pMethods)
                self->real->pMethods->xClose (self->real);
            self->file.pMethods = NULL;
            return rc;
        }
        int version = self->real->pMethods->iVersion;
        self->file.pMethods = &s_db_methods[version < 1 ? 1 : version > 3 ? 3 : version];
        return SQLITE_OK;
    }
    if (!(flags & SQLITE_OPEN_WAL))
        return base->xOpen (base, name, file, flags, out_flags);
    gather_file_t *self = (gather_file_t *) file;
    memset (self, 0, sizeof *self);
    self->real = (sqlite3_file *) (self + 1);
    memset (self->real, 0, (size_t) base->szOsFile);
    self->commit_end = -1;
    int rc = base->xOpen (base, name, self->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (self->real->pMethods)
            self->real->pMethods->xClose (self->real);
        self->file.pMethods = NULL;
        return rc;
    }
    self->file.pMethods = &s_methods;
    //  SQLite opens a connection's WAL file after its database file.
    sqlite3_file *main_db = sqlite3_database_file_object (name);
    if (s_is_gather_db (main_db)) {
        self->db = (gather_db_t *) main_db;
        self->db->wal = self;
    }
    return SQLITE_OK;
}

//  The rest is the base VFS's.
#define BASE(vfs) (((gather_vfs_t *) (vfs))->base)

static int
s_delete (sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return BASE (vfs)->xDelete (BASE (vfs), name, sync_dir);
}

static int
s_access (sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return BASE (vfs)->xAccess (BASE (vfs), name, flags, out);
}

static int
s_full_pathname (sqlite3_vfs *vfs, const char *name, int size, char *out)
{
    return BASE (vfs)->xFullPathname (BASE (vfs), name, size, out);
}

static void *
s_dl_open (sqlite3_vfs *vfs, const char *name)
{
    return BASE (vfs)->xDlOpen (BASE (vfs), name);
}

static void
s_dl_error (sqlite3_vfs *vfs, int size, char *out)
{
    BASE (vfs)->xDlError (BASE (vfs), size, out);
}

static void (*s_dl_sym (sqlite3_vfs *vfs, void *handle, const char *symbol)) (void)
{
    return BASE (vfs)->xDlSym (BASE (vfs), handle, symbol);
}

static void
s_dl_close (sqlite3_vfs *vfs, void *handle)
{
    BASE (vfs)->xDlClose (BASE (vfs), handle);
}

static int
s_randomness (sqlite3_vfs *vfs, int size, char *out)
{
    return BASE (vfs)->xRandomness (BASE (vfs), size, out);
}

static int
s_sleep (sqlite3_vfs *vfs, int microseconds)
{
    return BASE (vfs)->xSleep (BASE (vfs), microseconds);
}

static int
s_current_time (sqlite3_vfs *vfs, double *out)
{
    return BASE (vfs)->xCurrentTime (BASE (vfs), out);
}

static int
s_last_error (sqlite3_vfs *vfs, int size, char *out)
{
    return BASE (vfs)->xGetLastError ? BASE (vfs)->xGetLastError (BASE (vfs), size, out) : 0;
}

static int
s_current_time_int64 (sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    if (BASE (vfs)->iVersion >= 2 && BASE (vfs)->xCurrentTimeInt64)
        return BASE (vfs)->xCurrentTimeInt64 (BASE (vfs), out);
    double days = 0;
    int rc = BASE (vfs)->xCurrentTime (BASE (vfs), &days);
    *out = (sqlite3_int64) (days * 86400000.0);
    return rc;
}

static pthread_once_t s_methods_once = PTHREAD_ONCE_INIT;

static void
s_methods_init (void)
{
    s_methods = (sqlite3_io_methods) {
        .iVersion = 1,           //  no shared memory, no mmap: a WAL file has neither
        .xClose = s_close, .xRead = s_read, .xWrite = s_write, .xTruncate = s_truncate,
        .xSync = s_sync, .xFileSize = s_file_size, .xLock = s_lock, .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved_lock, .xFileControl = s_file_control,
        .xSectorSize = s_sector_size, .xDeviceCharacteristics = s_device_characteristics
    };
    s_db_methods[3] = (sqlite3_io_methods) {
        .iVersion = 3, .xClose = s_db_close, .xRead = s_db_read, .xWrite = s_db_write,
        .xTruncate = s_db_truncate, .xSync = s_db_sync, .xFileSize = s_db_file_size,
        .xLock = s_lock, .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved_lock, .xFileControl = s_db_file_control,
        .xSectorSize = s_sector_size, .xDeviceCharacteristics = s_device_characteristics,
        .xShmMap = s_db_shm_map, .xShmLock = s_db_shm_lock, .xShmBarrier = s_db_shm_barrier,
        .xShmUnmap = s_db_shm_unmap, .xFetch = s_db_fetch, .xUnfetch = s_db_unfetch
    };
    s_db_methods[2] = s_db_methods[3];
    s_db_methods[2].iVersion = 2;
    s_db_methods[2].xFetch = NULL;
    s_db_methods[2].xUnfetch = NULL;
    s_db_methods[1] = s_db_methods[2];
    s_db_methods[1].iVersion = 1;
    s_db_methods[1].xShmMap = NULL;
    s_db_methods[1].xShmLock = NULL;
    s_db_methods[1].xShmBarrier = NULL;
    s_db_methods[1].xShmUnmap = NULL;
}

int
store_vfs_register_over (const char *name, const char *base_name)
{
    pthread_once (&s_methods_once, s_methods_init);
    sqlite3_vfs *base = sqlite3_vfs_find (base_name);
    if (!name || !base || sqlite3_vfs_find (name) || strlen (name) >= NAME_SIZE)
        return -1;
    //  Registered for the life of the process: SQLite keeps the pointer.
    gather_vfs_t *self = calloc (1, sizeof *self);
    if (!self)
        return -1;
    strcpy (self->name, name);
    self->base = base;
    self->vfs = (sqlite3_vfs) {
        .iVersion = 2,
        .szOsFile = (int) (sizeof (gather_file_t) > sizeof (gather_db_t)
                           ? sizeof (gather_file_t) : sizeof (gather_db_t)) + base->szOsFile,
        .mxPathname = base->mxPathname, .zName = self->name, .xOpen = s_open,
        .xDelete = s_delete, .xAccess = s_access, .xFullPathname = s_full_pathname,
        .xDlOpen = s_dl_open, .xDlError = s_dl_error, .xDlSym = s_dl_sym,
        .xDlClose = s_dl_close, .xRandomness = s_randomness, .xSleep = s_sleep,
        .xCurrentTime = s_current_time, .xGetLastError = s_last_error,
        .xCurrentTimeInt64 = s_current_time_int64
    };
    if (sqlite3_vfs_register (&self->vfs, 0) != SQLITE_OK) {
        free (self);
        return -1;
    }
    return 0;
}

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_registered = -1;

static void
s_register_once (void)
{
    s_registered = store_vfs_register_over (STORE_VFS_NAME, NULL);
}

int
store_vfs_register (void)
{
    pthread_once (&s_once, s_register_once);
    return s_registered;
}
