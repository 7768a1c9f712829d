/*  store_vfs.c: see store_vfs.h.                                          */
#include "store_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
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

typedef struct {
    sqlite3_file file;           //  first: pMethods is s_methods
    sqlite3_file *real;          //  the base VFS's file, just after this struct
    unsigned char *data;         //  frames not written yet
    size_t size, alloc;
    sqlite3_int64 offset;        //  where data goes in the file
    sqlite3_int64 commit_end;    //  write out once data reaches it (-1: no commit seen)
    uint32_t page_size;          //  from the WAL header (0: not known yet)
    uint32_t reserved;
} gather_file_t;

static sqlite3_io_methods s_methods;

static uint32_t
s_be32 (const unsigned char *bytes)
{
    return (uint32_t) bytes[0] << 24 | (uint32_t) bytes[1] << 16 | (uint32_t) bytes[2] << 8
           | bytes[3];
}

//  Write out what is kept. Kept or not, it is dropped: after a failed
//  write SQLite rolls back and rewrites those frames if it retries.
static int
s_flush (gather_file_t *self)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < self->size; done += WRITE_MAX) {
        size_t piece = self->size - done < WRITE_MAX ? self->size - done : WRITE_MAX;
        rc = self->real->pMethods->xWrite (self->real, self->data + done, (int) piece,
                                            self->offset + (sqlite3_int64) done);
    }
    self->size = 0;
    self->commit_end = -1;
    return rc;
}

static int
s_close (sqlite3_file *file)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    int closed = self->real->pMethods->xClose (self->real);
    free (self->data);
    self->data = NULL;
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

static int
s_write (sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    gather_file_t *self = (gather_file_t *) file;
    const unsigned char *bytes = data;
    if (self->size > 0 && (offset != self->offset + (sqlite3_int64) self->size
                           || self->size + (size_t) amount > BUFFER_MAX)) {
        int rc = s_flush (self);
        if (rc != SQLITE_OK)
            return rc;
    }
    s_learn_page_size (self, bytes, amount, offset);
    if (self->page_size == 0 || amount <= 0 || (size_t) amount > BUFFER_MAX)
        return self->real->pMethods->xWrite (self->real, data, amount, offset);
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
    //  A frame header whose database size is not 0 is the commit frame:
    //  the transaction is whole once its page is here too.
    sqlite3_int64 frame = (sqlite3_int64) self->page_size + FRAME_HEADER_SIZE;
    if (offset >= WAL_HEADER_SIZE && (offset - WAL_HEADER_SIZE) % frame == 0
        && amount >= FRAME_HEADER_SIZE && s_be32 (bytes + 4) != 0)
        self->commit_end = offset + frame;
    if (self->commit_end >= 0 && self->offset + (sqlite3_int64) self->size >= self->commit_end)
        return s_flush (self);
    return SQLITE_OK;
}

static int
s_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    gather_file_t *self = (gather_file_t *) file;
    int rc = s_flush (self);
    return rc != SQLITE_OK ? rc : self->real->pMethods->xTruncate (self->real, size);
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
    gather_file_t *self = (gather_file_t *) file;
    return self->real->pMethods->xLock (self->real, level);
}

static int
s_unlock (sqlite3_file *file, int level)
{
    gather_file_t *self = (gather_file_t *) file;
    return self->real->pMethods->xUnlock (self->real, level);
}

static int
s_check_reserved_lock (sqlite3_file *file, int *out)
{
    gather_file_t *self = (gather_file_t *) file;
    return self->real->pMethods->xCheckReservedLock (self->real, out);
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
    gather_file_t *self = (gather_file_t *) file;
    return self->real->pMethods->xSectorSize (self->real);
}

static int
s_device_characteristics (sqlite3_file *file)
{
    gather_file_t *self = (gather_file_t *) file;
    return self->real->pMethods->xDeviceCharacteristics (self->real);
}

//  A WAL file is wrapped; any other file is the base VFS's, unwrapped.
static int
s_open (sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
    sqlite3_vfs *base = ((gather_vfs_t *) vfs)->base;
    if (!(flags & SQLITE_OPEN_WAL))
        return base->xOpen (base, name, file, flags, out_flags);
    gather_file_t *self = (gather_file_t *) file;
    memset (self, 0, sizeof *self);
    self->real = (sqlite3_file *) (self + 1);
    self->commit_end = -1;
    int rc = base->xOpen (base, name, self->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        //  A base file with methods is closed even when its open failed.
        if (self->real->pMethods)
            self->real->pMethods->xClose (self->real);
        self->file.pMethods = NULL;
        return rc;
    }
    self->file.pMethods = &s_methods;
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

int
store_vfs_register_over (const char *name, const char *base_name)
{
    sqlite3_vfs *base = sqlite3_vfs_find (base_name);
    if (!name || !base || sqlite3_vfs_find (name) || strlen (name) >= NAME_SIZE)
        return -1;
    s_methods = (sqlite3_io_methods) {
        .iVersion = 1,           //  no shared memory, no mmap: a WAL file has neither
        .xClose = s_close, .xRead = s_read, .xWrite = s_write, .xTruncate = s_truncate,
        .xSync = s_sync, .xFileSize = s_file_size, .xLock = s_lock, .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved_lock, .xFileControl = s_file_control,
        .xSectorSize = s_sector_size, .xDeviceCharacteristics = s_device_characteristics
    };
    //  Registered for the life of the process: SQLite keeps the pointer.
    gather_vfs_t *self = calloc (1, sizeof *self);
    if (!self)
        return -1;
    strcpy (self->name, name);
    self->base = base;
    self->vfs = (sqlite3_vfs) {
        .iVersion = 2, .szOsFile = (int) sizeof (gather_file_t) + base->szOsFile,
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
