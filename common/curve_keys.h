/*  curve_keys.h: CurveZMQ key files in czmq's certificate format, and the
    metadata satchel reads from them.

    A key pair is two text files, as czmq's zcert_save writes them: NAME
    (the public certificate: a "metadata" section and "curve/public-key")
    and NAME_secret (the same plus "curve/secret-key", mode 0600). Keys are
    Z85 text, 40 characters for 32 bytes.

    The metadata satchel gives meaning to, all optional:
        name   = "ci-web"      who the key belongs to, for logs (1..64
                               printable ASCII bytes)
        suites = "web,api"     the suites the key may use, comma-separated
                               (each a suite name as proto.h defines it);
                               absent or "*": every suite
        admin  = "yes"         the key may make admin requests; absent: no

    These files are read with zconfig directly rather than with zcert_load,
    which first tries FILE_secret for any FILE it is given: reading a
    public certificate must never pick up a secret one lying beside it.  */
#ifndef SATCHEL_CURVE_KEYS_H
#define SATCHEL_CURVE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

//  Z85 text of a 32-byte key, without the NUL.
#define CURVE_KEY_TEXT 40
//  Longest "name" value.
#define CURVE_NAME_MAX 64
//  Longest "suites" value, normalized. czmq's zauth (4.2.1) packs a key's
//  metadata into a fixed 512-byte buffer without a bounds check; name,
//  suites and admin together stay well inside it (see clients.c).
#define CURVE_SUITES_MAX 400
//  The file name suffix czmq gives secret certificates.
#define CURVE_SECRET_SUFFIX "_secret"

//  What a key's certificate allows, normalized.
typedef struct {
    char name[CURVE_NAME_MAX + 1];       //  "" if the certificate names nobody
    bool all_suites;                     //  no "suites" (or "*"): every suite
    char suites[CURVE_SUITES_MAX + 1];   //  else the suites, "a,b", no spaces
    bool admin;                          //  admin requests allowed
} curve_meta_t;

//  A key pair read from a secret certificate.
typedef struct {
    char public_txt[CURVE_KEY_TEXT + 1];  //  Z85
    char secret_txt[CURVE_KEY_TEXT + 1];  //  Z85
    curve_meta_t meta;                    //  its metadata
} curve_pair_t;

//  True if text is 40 characters of the Z85 alphabet that decode.
bool curve_key_text_valid (const char *text);

//  Parse and normalize a "suites" value into meta (all_suites, suites).
//  Items are trimmed of spaces; "*" alone means every suite. Returns 0,
//  or -1 with why (an empty item, a bad suite name, too long).
int curve_meta_parse_suites (const char *value, curve_meta_t *meta, char *why,
                             size_t why_size);

//  Parse "yes"/"no" (also true/false, 1/0). Returns 0, or -1 with why.
int curve_meta_parse_admin (const char *value, bool *admin, char *why, size_t why_size);

//  Check a "name" value: 1..CURVE_NAME_MAX printable ASCII bytes, no
//  quote or backslash. Returns 0, or -1 with why.
int curve_meta_check_name (const char *value, char *why, size_t why_size);

//  Read a public certificate (a secret one is also accepted, only its
//  public key is read): *public_txt gets the key, *meta its metadata
//  (NULL: not wanted), *has_secret whether the file also holds a secret
//  key (NULL: not wanted). Returns 0, or -1 with why (unreadable, no
//  valid public key, bad metadata).
int curve_keys_read_public (const char *path, char public_txt[CURVE_KEY_TEXT + 1],
                            curve_meta_t *meta, bool *has_secret, char *why,
                            size_t why_size);

//  Read a secret certificate: both keys, checked to belong together.
//  Returns 0, or -1 with why (unreadable, no secret key, a public key
//  that is not the secret key's, bad metadata).
int curve_keys_read_secret (const char *path, curve_pair_t *pair, char *why,
                            size_t why_size);

//  How private a secret key file is: 0 only its owner may read it, 1 its
//  group may (a warning), 2 anyone may, -1 it cannot be stat'ed (why).
int curve_keys_privacy (const char *path, char *why, size_t why_size);

#endif
