/*  keygen.h: `satchel keygen NAME`: a CurveZMQ key pair in czmq's
    certificate format, as czmq's zcert_save writes it: NAME, the public
    certificate (mode 0644), and NAME_secret, the secret one (mode 0600).
    The metadata (curve_keys.h) records the key's name, and on request the
    suites it is limited to and whether it is an admin key.

    Existing files are never overwritten unless forced. Both files are
    written under hidden temporary names in the same folder, flushed to
    disk, then put in place with link(2), which fails if the name exists,
    or with --force rename(2): no half-written key is ever seen under its
    name, and two keygens racing for one name cannot both win.            */
#ifndef SATCHEL_KEYGEN_H
#define SATCHEL_KEYGEN_H

#include "curve_keys.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *path;            //  NAME: the public file; the secret one is NAME_secret
    const char *suites;          //  "a,b": the suites the key may use; NULL: every suite
    bool admin;                  //  the key may make admin requests
    bool force;                  //  replace existing files
} keygen_options_t;

//  Write the key pair. Returns 0 with its public key in public_txt, or -1
//  with why (a bad name or suite list, a file that exists, a write error).
int keygen_write (const keygen_options_t *options, char public_txt[CURVE_KEY_TEXT + 1],
                  char *why, size_t why_size);

//  `satchel keygen` (argv[0] is "keygen"). Returns the exit status: 0, 1
//  (nothing written, one message says why), 2 (usage).
int keygen_main (int argc, char **argv);

#endif
