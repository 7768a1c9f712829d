/*  curve_keys.c: see curve_keys.h.                                         */
#include "curve_keys.h"

#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

bool
curve_key_text_valid (const char *text)
{
    if (!text || strlen (text) != CURVE_KEY_TEXT)
        return false;
    uint8_t bytes[32];
    //  zmq_z85_decode refuses characters outside the alphabet and groups
    //  whose value overflows 32 bits.
    return zmq_z85_decode (bytes, text) != NULL;
}

//  A suite name as proto.h defines it: 1..PROTO_SUITE_MAX (128) bytes of
//  [A-Za-z0-9._/:@+-]. Kept in step with proto_decode.c's S_SUITE by hand:
//  a key file naming a suite no request can carry would only mislead.
static bool
s_suite_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c != 0 && strchr ("._/:@+-", c) != NULL);
}

int
curve_meta_parse_suites (const char *value, curve_meta_t *meta, char *why, size_t why_size)
{
    meta->all_suites = false;
    meta->suites[0] = 0;
    const char *at = value;
    while (*at == ' ')
        at++;
    size_t trimmed = strlen (at);
    while (trimmed > 0 && at[trimmed - 1] == ' ')
        trimmed--;
    if (trimmed == 1 && at[0] == '*') {
        meta->all_suites = true;
        return 0;
    }
    size_t used = 0;
    size_t count = 0;
    while (true) {
        size_t length = strcspn (at, ",");
        const char *start = at;
        const char *end = at + length;
        while (start < end && *start == ' ')
            start++;
        while (end > start && end[-1] == ' ')
            end--;
        size_t item = (size_t) (end - start);
        if (item == 0) {
            snprintf (why, why_size, "suites: an empty name in \"%.80s\"", value);
            return -1;
        }
        if (item > 128) {
            snprintf (why, why_size, "suites: \"%.40s...\" is longer than 128 bytes", start);
            return -1;
        }
        for (const char *c = start; c < end; c++)
            if (!s_suite_char (*c)) {
                snprintf (why, why_size, "suites: \"%.*s\" is not a suite name (A-Z a-z 0-9 "
                          ". _ / : @ + - only)", (int) item, start);
                return -1;
            }
        if (used + (count > 0) + item > CURVE_SUITES_MAX) {
            snprintf (why, why_size, "suites: the list is longer than %d bytes",
                      CURVE_SUITES_MAX);
            return -1;
        }
        if (count > 0)
            meta->suites[used++] = ',';
        memcpy (meta->suites + used, start, item);
        used += item;
        meta->suites[used] = 0;
        count++;
        if (at[length] == 0)
            break;
        at += length + 1;
    }
    return 0;
}

int
curve_meta_parse_admin (const char *value, bool *admin, char *why, size_t why_size)
{
    if (!strcasecmp (value, "yes") || !strcasecmp (value, "true") || !strcmp (value, "1"))
        *admin = true;
    else
    if (!strcasecmp (value, "no") || !strcasecmp (value, "false") || !strcmp (value, "0"))
        *admin = false;
    else {
        snprintf (why, why_size, "admin: \"%.40s\" is neither yes nor no", value);
        return -1;
    }
    return 0;
}

int
curve_meta_check_name (const char *value, char *why, size_t why_size)
{
    size_t length = strlen (value);
    if (length == 0 || length > CURVE_NAME_MAX) {
        snprintf (why, why_size, "name: must be 1 to %d bytes, not %zu", CURVE_NAME_MAX, length);
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *) value; *c; c++)
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            snprintf (why, why_size, "name: only printable ASCII without quotes or "
                      "backslashes");
            return -1;
        }
    return 0;
}

//  Fill meta from the certificate's "metadata" section. Unknown names are
//  ignored (czmq's own tools add email, organization, ...).
static int
s_read_meta (zconfig_t *root, curve_meta_t *meta, char *why, size_t why_size)
{
    memset (meta, 0, sizeof *meta);
    meta->all_suites = true;
    zconfig_t *section = zconfig_locate (root, "metadata");
    for (zconfig_t *item = section ? zconfig_child (section) : NULL; item;
         item = zconfig_next (item)) {
        const char *name = zconfig_name (item);
        const char *value = zconfig_value (item);
        if (!name)
            continue;
        if (!value)
            value = "";
        if (strcmp (name, "name") == 0) {
            if (curve_meta_check_name (value, why, why_size) != 0)
                return -1;
            snprintf (meta->name, sizeof meta->name, "%s", value);
        }
        else
        if (strcmp (name, "suites") == 0) {
            if (curve_meta_parse_suites (value, meta, why, why_size) != 0)
                return -1;
        }
        else
        if (strcmp (name, "admin") == 0) {
            if (curve_meta_parse_admin (value, &meta->admin, why, why_size) != 0)
                return -1;
        }
    }
    return 0;
}

//  A key file is a few hundred bytes; anything far larger is not one.
#define KEY_FILE_MAX (16 * 1024)

//  Load path as a czmq certificate. Returns the tree, or NULL with why.
//  The file is read here, bounded, and parsed with zconfig_str_load:
//  zconfig_load (czmq 4.2.1) reads any size and leaks its file handle when
//  the text does not parse, and the --clients folder is read again at
//  every change, whatever lies in it.
static zconfig_t *
s_load (const char *path, char *why, size_t why_size)
{
    FILE *file = fopen (path, "re");
    if (!file) {
        snprintf (why, why_size, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    char *text = util_malloc (KEY_FILE_MAX + 2);
    size_t size = fread (text, 1, KEY_FILE_MAX + 1, file);
    bool failed = ferror (file);
    int saved = errno;
    fclose (file);
    zconfig_t *root = NULL;
    if (failed)
        snprintf (why, why_size, "cannot read %s: %s", path, strerror (saved));
    else
    if (size > KEY_FILE_MAX)
        snprintf (why, why_size, "%s is larger than %d bytes: not a key file", path,
                  KEY_FILE_MAX);
    else
    if (memchr (text, 0, size))
        snprintf (why, why_size, "%s holds a NUL byte: not a key file", path);
    else {
        text[size] = 0;
        root = zconfig_str_load (text);
        if (!root)
            snprintf (why, why_size, "%s is not a certificate in czmq's format (made by "
                      "'satchel keygen')", path);
    }
    free (text);
    return root;
}

int
curve_keys_read_public (const char *path, char public_txt[CURVE_KEY_TEXT + 1],
                        curve_meta_t *meta, bool *has_secret, char *why, size_t why_size)
{
    zconfig_t *root = s_load (path, why, why_size);
    if (!root)
        return -1;
    int rc = -1;
    char detail[256];
    const char *key = zconfig_get (root, "curve/public-key", NULL);
    if (!curve_key_text_valid (key)) {
        snprintf (why, why_size, "%s has no valid curve public-key", path);
        goto cleanup;
    }
    curve_meta_t scratch;
    if (s_read_meta (root, meta ? meta : &scratch, detail, sizeof detail) != 0) {
        snprintf (why, why_size, "%s: metadata %s", path, detail);
        goto cleanup;
    }
    memcpy (public_txt, key, CURVE_KEY_TEXT + 1);
    if (has_secret)
        *has_secret = zconfig_get (root, "curve/secret-key", NULL) != NULL;
    rc = 0;
cleanup:
    zconfig_destroy (&root);
    return rc;
}

int
curve_keys_read_secret (const char *path, curve_pair_t *pair, char *why, size_t why_size)
{
    memset (pair, 0, sizeof *pair);
    zconfig_t *root = s_load (path, why, why_size);
    if (!root)
        return -1;
    int rc = -1;
    char detail[256];
    const char *public_key = zconfig_get (root, "curve/public-key", NULL);
    const char *secret_key = zconfig_get (root, "curve/secret-key", NULL);
    char derived[CURVE_KEY_TEXT + 1] = "";
    if (!secret_key) {
        snprintf (why, why_size, "%s holds no secret key: give the secret certificate "
                  "(the file whose name ends in %s)", path, CURVE_SECRET_SUFFIX);
        goto cleanup;
    }
    if (!curve_key_text_valid (secret_key)) {
        snprintf (why, why_size, "%s has no valid curve secret-key", path);
        goto cleanup;
    }
    if (zmq_curve_public (derived, secret_key) != 0) {
        snprintf (why, why_size, "%s: this libzmq cannot derive a CURVE public key (%s)",
                  path, zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    //  A file pasted together from two key pairs would fail every
    //  handshake with no clue why; say so here instead.
    if (!curve_key_text_valid (public_key) || strcmp (derived, public_key) != 0) {
        snprintf (why, why_size, "%s: its public-key is not the one of its secret-key", path);
        goto cleanup;
    }
    if (s_read_meta (root, &pair->meta, detail, sizeof detail) != 0) {
        snprintf (why, why_size, "%s: metadata %s", path, detail);
        goto cleanup;
    }
    memcpy (pair->public_txt, public_key, CURVE_KEY_TEXT + 1);
    memcpy (pair->secret_txt, secret_key, CURVE_KEY_TEXT + 1);
    rc = 0;
cleanup:
    zconfig_destroy (&root);
    if (rc != 0)
        memset (pair, 0, sizeof *pair);
    return rc;
}

int
curve_keys_privacy (const char *path, char *why, size_t why_size)
{
    struct stat info;
    if (stat (path, &info) != 0) {
        snprintf (why, why_size, "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    if (info.st_mode & (S_IROTH | S_IWOTH))
        return 2;
    if (info.st_mode & (S_IRGRP | S_IWGRP))
        return 1;
    return 0;
}
