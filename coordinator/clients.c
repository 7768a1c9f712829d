/*  clients.c: see clients.h.                                               */
#include "clients.h"

#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  One file of the folder as last seen: what tells a change.
typedef struct {
    char *name;                  //  file name in the folder (owned)
    dev_t dev;                   //  device
    ino_t ino;                   //  inode: a file replaced by rename is a new inode
    off_t size;                  //  bytes
    struct timespec mtime;       //  last modification
    struct timespec ctime;       //  last status change (rename, chmod, link)
} s_file_t;

//  One authorized key.
typedef struct {
    char public_txt[CURVE_KEY_TEXT + 1];  //  Z85, the sort key
    curve_meta_t meta;                    //  what it may do
    const char *file;                     //  its file's name (borrowed from the files
                                          //  of the load that read it)
} s_key_t;

struct _clients_t {
    char *folder;                //  as given (owned)
    s_file_t *files;             //  the folder at the last load, sorted by name (owned)
    size_t file_count;           //  how many
    bool loaded;                 //  a load happened (files describe it)
    bool unreadable;             //  the folder could not be read at the last look
    s_key_t *keys;               //  authorized keys, sorted by public_txt (owned)
    size_t key_count;            //  how many
};

static void
s_files_free (s_file_t *files, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (files[i].name);
    free (files);
}

static int
s_compare_file (const void *a, const void *b)
{
    return strcmp (((const s_file_t *) a)->name, ((const s_file_t *) b)->name);
}

static int
s_compare_key (const void *a, const void *b)
{
    return strcmp (((const s_key_t *) a)->public_txt, ((const s_key_t *) b)->public_txt);
}

//  The regular files of the folder (symbolic links followed, so keys kept
//  by configuration management as links work), hidden ones left out,
//  sorted by name. Returns 0, or -1 with errno if the folder cannot be read.
static int
s_scan (const char *folder, s_file_t **files_p, size_t *count_p)
{
    *files_p = NULL;
    *count_p = 0;
    DIR *dir = opendir (folder);
    if (!dir)
        return -1;
    s_file_t *files = NULL;
    size_t count = 0, alloc = 0;
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir (dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        struct stat info;
        if (fstatat (dirfd (dir), entry->d_name, &info, 0) != 0 || !S_ISREG (info.st_mode))
            continue;
        if (count == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            files = util_realloc (files, alloc * sizeof (s_file_t));
        }
        files[count++] = (s_file_t) {
            util_strdup (entry->d_name), info.st_dev, info.st_ino, info.st_size,
            info.st_mtim, info.st_ctim
        };
        errno = 0;
    }
    int saved = errno;
    closedir (dir);
    if (saved != 0) {
        s_files_free (files, count);
        errno = saved;
        return -1;
    }
    if (count > 1)
        qsort (files, count, sizeof (s_file_t), s_compare_file);
    *files_p = files;
    *count_p = count;
    return 0;
}

static bool
s_same_time (struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool
s_same_files (const s_file_t *a, size_t a_count, const s_file_t *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (strcmp (a[i].name, b[i].name) != 0 || a[i].dev != b[i].dev
            || a[i].ino != b[i].ino || a[i].size != b[i].size
            || !s_same_time (a[i].mtime, b[i].mtime) || !s_same_time (a[i].ctime, b[i].ctime))
            return false;
    return true;
}

static bool
s_ends_with (const char *text, const char *suffix)
{
    size_t length = strlen (text), tail = strlen (suffix);
    return length >= tail && strcmp (text + length - tail, suffix) == 0;
}

//  Build the key table from the files just scanned.
static void
s_load (clients_t *self, const s_file_t *files, size_t count)
{
    free (self->keys);
    self->keys = util_calloc (count ? count : 1, sizeof (s_key_t));
    self->key_count = 0;
    size_t skipped = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = files[i].name;
        if (s_ends_with (name, CURVE_SECRET_SUFFIX)) {
            log_warn ("client_key_skipped folder=%s file=%s reason=\"a secret key: only "
                      "public certificates belong here; move it away\"",
                      log_quote (self->folder), log_quote (name));
            skipped++;
            continue;
        }
        char *path = util_format ("%s/%s", self->folder, name);
        s_key_t key;
        char why[512];
        int rc = curve_keys_read_public (path, key.public_txt, &key.meta, NULL, why, sizeof why);
        free (path);
        if (rc != 0) {
            log_warn ("client_key_skipped folder=%s file=%s reason=%s", log_quote (self->folder),
                      log_quote (name), log_quote (why));
            skipped++;
            continue;
        }
        //  A key whose certificate names nobody goes by its file name in
        //  the logs, if that is a fit name.
        if (!key.meta.name[0] && curve_meta_check_name (name, why, sizeof why) == 0)
            snprintf (key.meta.name, sizeof key.meta.name, "%s", name);
        key.file = name;
        self->keys[self->key_count++] = key;
    }
    if (self->key_count > 1)
        qsort (self->keys, self->key_count, sizeof (s_key_t), s_compare_key);
    //  Two files with one key: keep one and say so. Which of two permission
    //  sets the operator meant cannot be guessed; the file first by name
    //  stays, for an answer that does not change from load to load.
    size_t kept = 0;
    for (size_t i = 0; i < self->key_count; i++) {
        if (kept > 0 && strcmp (self->keys[kept - 1].public_txt, self->keys[i].public_txt) == 0) {
            s_key_t *first = &self->keys[kept - 1];
            if (strcmp (self->keys[i].file, first->file) < 0) {
                s_key_t swap = *first;
                *first = self->keys[i];
                self->keys[i] = swap;
            }
            log_warn ("client_key_skipped folder=%s file=%s kept=%s reason=\"the same key "
                      "as the kept file\"", log_quote (self->folder),
                      log_quote (self->keys[i].file), log_quote (first->file));
            skipped++;
            continue;
        }
        self->keys[kept++] = self->keys[i];
    }
    self->key_count = kept;
    log_info ("clients_loaded folder=%s keys=%zu skipped=%zu", log_quote (self->folder),
              self->key_count, skipped);
}

void
clients_refresh (clients_t *self)
{
    s_file_t *files = NULL;
    size_t count = 0;
    if (s_scan (self->folder, &files, &count) != 0) {
        //  Fail closed: a folder that cannot be read authorizes nobody.
        if (!self->unreadable)
            log_warn ("clients_unreadable folder=%s error=%s keys=0 reason=\"every agent key "
                      "is refused until the folder can be read\"", log_quote (self->folder),
                      log_quote (strerror (errno)));
        self->unreadable = true;
        s_files_free (self->files, self->file_count);
        self->files = NULL;
        self->file_count = 0;
        self->loaded = false;
        self->key_count = 0;
        return;
    }
    self->unreadable = false;
    if (self->loaded && s_same_files (files, count, self->files, self->file_count)) {
        s_files_free (files, count);
        return;
    }
    s_load (self, files, count);
    s_files_free (self->files, self->file_count);
    self->files = files;
    self->file_count = count;
    self->loaded = true;
}

clients_t *
clients_new (const char *folder, char *why, size_t why_size)
{
    struct stat info;
    if (stat (folder, &info) != 0) {
        snprintf (why, why_size, "--clients %s: %s", folder, strerror (errno));
        return NULL;
    }
    if (!S_ISDIR (info.st_mode)) {
        snprintf (why, why_size, "--clients %s is not a folder", folder);
        return NULL;
    }
    //  Whoever may write the folder may authorize a key.
    if (info.st_mode & S_IWOTH) {
        snprintf (why, why_size, "--clients %s can be written by every user of this machine, "
                  "so anyone here could authorize a key; chmod o-w it", folder);
        return NULL;
    }
    DIR *probe = opendir (folder);
    if (!probe) {
        snprintf (why, why_size, "--clients %s cannot be read: %s", folder, strerror (errno));
        return NULL;
    }
    closedir (probe);
    clients_t *self = util_calloc (1, sizeof *self);
    self->folder = util_strdup (folder);
    clients_refresh (self);
    return self;
}

void
clients_destroy (clients_t **self_p)
{
    clients_t *self = *self_p;
    if (!self)
        return;
    s_files_free (self->files, self->file_count);
    free (self->keys);
    free (self->folder);
    free (self);
    *self_p = NULL;
}

const curve_meta_t *
clients_lookup (clients_t *self, const char *public_txt)
{
    if (!public_txt || strlen (public_txt) != CURVE_KEY_TEXT)
        return NULL;
    s_key_t probe;
    memcpy (probe.public_txt, public_txt, CURVE_KEY_TEXT + 1);
    const s_key_t *found = bsearch (&probe, self->keys, self->key_count, sizeof (s_key_t),
                                    s_compare_key);
    return found ? &found->meta : NULL;
}

size_t
clients_count (clients_t *self)
{
    return self->key_count;
}

const char *
clients_folder (clients_t *self)
{
    return self->folder;
}
