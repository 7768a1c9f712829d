/*  keygen.c: see keygen.h.                                                 */
#include "keygen.h"

#include "log.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

//  zcert_save builds "NAME_secret" in a 256-byte buffer and cuts longer
//  names short without a word: keep every name we give it well inside.
#define KEYGEN_PATH_MAX 200

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel keygen [OPTIONS] NAME\n"
           "\n"
           "Writes a CurveZMQ key pair in czmq's certificate format: NAME, the public\n"
           "certificate, and NAME_secret, the secret one (mode 0600). For satcheld:\n"
           "NAME_secret is its --curve-secret, NAME goes to every agent (--server-key).\n"
           "For an agent: NAME_secret is its --client-cert, NAME goes into satcheld's\n"
           "--clients folder. See docs/curve.md.\n"
           "\n"
           "Options:\n"
           "  --suites LIST   the key may use only these suites (comma-separated);\n"
           "                  default: every suite\n"
           "  --admin         the key may make admin requests\n"
           "  --force         replace NAME and NAME_secret if they exist (whoever used\n"
           "                  the old key is refused from then on)\n"
           "  --help\n", out);
}

//  Flush a file to disk. Returns 0, or -1 with errno.
static int
s_sync (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

//  Put the temporary file in place: rename (force) or link, which fails
//  if the name exists. Returns 0, or -1 with errno.
static int
s_install (const char *temporary, const char *path, bool force)
{
    if (force)
        return rename (temporary, path);
    if (link (temporary, path) != 0)
        return -1;
    unlink (temporary);
    return 0;
}

//  Why s_install failed (errno), for path.
static void
s_install_failed (const char *path, char *why, size_t why_size)
{
    if (errno == EEXIST)
        snprintf (why, why_size, "%s appeared meanwhile; nothing was written", path);
    else
        snprintf (why, why_size, "cannot write %s: %s", path, strerror (errno));
}

//  The checks that need no file: name, length, suites. Returns 0, or -1.
static int
s_check (const keygen_options_t *options, curve_meta_t *meta, const char **base, char *why,
         size_t why_size)
{
    const char *path = options->path;
    if (!path || !*path) {
        snprintf (why, why_size, "give the key a NAME");
        return -1;
    }
    if (strlen (path) > KEYGEN_PATH_MAX) {
        snprintf (why, why_size, "%.40s...: the path is longer than %d bytes", path,
                  KEYGEN_PATH_MAX);
        return -1;
    }
    const char *slash = strrchr (path, '/');
    *base = slash ? slash + 1 : path;
    char detail[256];
    if (!**base || **base == '.') {
        snprintf (why, why_size, "%s: the file name must not be empty or start with '.' "
                  "(satcheld skips hidden files)", path);
        return -1;
    }
    size_t length = strlen (*base), tail = strlen (CURVE_SECRET_SUFFIX);
    if (length >= tail && strcmp (*base + length - tail, CURVE_SECRET_SUFFIX) == 0) {
        snprintf (why, why_size, "%s: NAME must not end in %s, which marks the secret file",
                  path, CURVE_SECRET_SUFFIX);
        return -1;
    }
    //  The file name becomes the key's name, which logs show.
    if (curve_meta_check_name (*base, detail, sizeof detail) != 0) {
        snprintf (why, why_size, "%s: the file name is the key's %s", path, detail);
        return -1;
    }
    memset (meta, 0, sizeof *meta);
    meta->all_suites = true;
    if (options->suites
        && curve_meta_parse_suites (options->suites, meta, detail, sizeof detail) != 0) {
        snprintf (why, why_size, "--%s", detail);
        return -1;
    }
    return 0;
}

int
keygen_write (const keygen_options_t *options, char public_txt[CURVE_KEY_TEXT + 1], char *why,
              size_t why_size)
{
    curve_meta_t meta;
    const char *base = NULL;
    if (s_check (options, &meta, &base, why, why_size) != 0)
        return -1;
    if (!zsys_has_curve ()) {
        snprintf (why, why_size, "this libzmq was built without CurveZMQ");
        return -1;
    }
    const char *path = options->path;
    char secret[KEYGEN_PATH_MAX + 16];
    snprintf (secret, sizeof secret, "%s%s", path, CURVE_SECRET_SUFFIX);
    if (!options->force) {
        const char *names[] = { path, secret };
        for (size_t i = 0; i < 2; i++) {
            struct stat info;
            if (lstat (names[i], &info) == 0) {
                snprintf (why, why_size, "%s exists; nothing was written (give --force to "
                          "replace the key pair: whoever uses the old key is refused from then "
                          "on)", names[i]);
                return -1;
            }
        }
    }
    //  Hidden temporary names beside the targets: a link or rename stays
    //  in one file system, and satcheld's --clients folder skips them.
    uint32_t nonce = 0;
    if (getrandom (&nonce, sizeof nonce, 0) != (ssize_t) sizeof nonce)
        nonce = (uint32_t) util_mono_us ();
    char temporary[KEYGEN_PATH_MAX + 64];
    snprintf (temporary, sizeof temporary, "%.*s.%s.keygen-%ld-%08x", (int) (base - path), path,
              base, (long) getpid (), nonce);
    char temporary_secret[KEYGEN_PATH_MAX + 80];
    snprintf (temporary_secret, sizeof temporary_secret, "%s%s", temporary, CURVE_SECRET_SUFFIX);

    int rc = -1;
    bool secret_placed = false;
    zcert_t *cert = zcert_new ();
    if (!cert) {
        snprintf (why, why_size, "cannot make a key pair: %s", zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    zcert_set_meta (cert, "name", "%s", base);
    if (options->suites)
        zcert_set_meta (cert, "suites", "%s", meta.all_suites ? "*" : meta.suites);
    if (options->admin)
        zcert_set_meta (cert, "admin", "yes");
    errno = 0;
    if (zcert_save (cert, temporary) != 0) {
        snprintf (why, why_size, "cannot write %s: %s", temporary,
                  errno ? strerror (errno) : "zcert_save failed");
        goto cleanup;
    }
    //  zcert_save makes the secret file under a private umask; say the
    //  modes outright, whatever umask the caller runs with.
    if (chmod (temporary_secret, 0600) != 0 || chmod (temporary, 0644) != 0
        || s_sync (temporary_secret) != 0 || s_sync (temporary) != 0) {
        snprintf (why, why_size, "cannot finish %s: %s", temporary, strerror (errno));
        goto cleanup;
    }
    if (s_install (temporary_secret, secret, options->force) != 0) {
        s_install_failed (secret, why, why_size);
        goto cleanup;
    }
    secret_placed = true;
    if (s_install (temporary, path, options->force) != 0) {
        s_install_failed (path, why, why_size);
        goto cleanup;
    }
    memcpy (public_txt, zcert_public_txt (cert), CURVE_KEY_TEXT + 1);
    rc = 0;
cleanup:
    if (rc != 0 && secret_placed && !options->force)
        unlink (secret);      //  ours, linked a moment ago: no half pair is left
    unlink (temporary);
    unlink (temporary_secret);
    zcert_destroy (&cert);
    return rc;
}

int
keygen_main (int argc, char **argv)
{
    enum { OPT_SUITES = 256, OPT_ADMIN, OPT_FORCE, OPT_HELP };
    static const struct option table[] = {
        { "suites", required_argument, NULL, OPT_SUITES },
        { "admin", no_argument, NULL, OPT_ADMIN },
        { "force", no_argument, NULL, OPT_FORCE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    keygen_options_t options = { .path = NULL };
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    while ((opt = util_getopt (argc, argv, ":", table, &bad)) != -1) {
        switch (opt) {
            case OPT_SUITES: options.suites = optarg; break;
            case OPT_ADMIN: options.admin = true; break;
            case OPT_FORCE: options.force = true; break;
            case OPT_HELP:
                s_usage (stdout);
                return 0;
            case ':':
                fprintf (stderr, "satchel keygen: option %s needs a value\n", bad);
                return 2;
            default:
                fprintf (stderr, "satchel keygen: unknown option '%s' (try --help)\n", bad);
                return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf (stderr, "satchel keygen: give exactly one NAME (try --help)\n");
        return 2;
    }
    options.path = argv[optind];
    char public_txt[CURVE_KEY_TEXT + 1];
    char why[1024];
    if (keygen_write (&options, public_txt, why, sizeof why) != 0) {
        log_say ("error: %s", why);
        return 1;
    }
    printf ("wrote %s (public certificate: give it out)\n"
          "  and %s%s (secret certificate, mode 0600: keep it here)\n"
          "public key %s%s%s%s\n",
          options.path, options.path, CURVE_SECRET_SUFFIX, public_txt,
          options.suites ? ", suites " : "", options.suites ? options.suites : "",
          options.admin ? ", admin" : "");
    return 0;
}
