/*  test_keygen.c: `satchel keygen` writes a key pair in czmq's certificate
    format (NAME public 0644, NAME_secret 0600), with the metadata asked
    for, never over existing files unless forced; and the metadata rules
    of curve_keys.h.                                                        */
#include "curve_keys.h"
#include "harness.h"
#include "keygen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static mode_t
s_mode (const char *path)
{
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    return info.st_mode & 07777;
}

static void
test_writes_a_pair_with_modes_and_metadata (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char path[512], secret[600];
    snprintf (path, sizeof path, "%s/ci-web", dir);
    snprintf (secret, sizeof secret, "%s_secret", path);
    //  A permissive umask must not leak into the secret file's mode.
    mode_t old = umask (0);
    keygen_options_t options = { .path = path, .suites = " web , api/v2", .admin = true };
    char public_txt[CURVE_KEY_TEXT + 1];
    char why[1024] = "";
    assert_int_equal (keygen_write (&options, public_txt, why, sizeof why), 0);
    umask (old);
    assert_int_equal (s_mode (secret), 0600);
    assert_int_equal (s_mode (path), 0644);

    //  The public file: the key, the metadata, no secret.
    char read_key[CURVE_KEY_TEXT + 1];
    curve_meta_t meta;
    bool has_secret = true;
    assert_int_equal (curve_keys_read_public (path, read_key, &meta, &has_secret, why,
                                              sizeof why), 0);
    assert_string_equal (read_key, public_txt);
    assert_false (has_secret);
    assert_string_equal (meta.name, "ci-web");
    assert_false (meta.all_suites);
    assert_string_equal (meta.suites, "web,api/v2");
    assert_true (meta.admin);

    //  The secret file: both keys, belonging together, same metadata.
    curve_pair_t pair;
    assert_int_equal (curve_keys_read_secret (secret, &pair, why, sizeof why), 0);
    assert_string_equal (pair.public_txt, public_txt);
    assert_string_equal (pair.meta.suites, "web,api/v2");

    //  czmq itself reads them: the format is zcert_save's.
    zcert_t *cert = zcert_load (path);
    assert_non_null (cert);
    assert_string_equal (zcert_public_txt (cert), public_txt);
    assert_string_equal (zcert_meta (cert, "name"), "ci-web");
    assert_string_equal (zcert_meta (cert, "suites"), "web,api/v2");
    assert_string_equal (zcert_meta (cert, "admin"), "yes");
    zcert_destroy (&cert);

    //  No temporary file is left behind.
    char command[700];
    snprintf (command, sizeof command, "test $(ls -A %s | wc -l) -eq 2", dir);
    assert_int_equal (system (command), 0);
    harness_rmtree (dir);
    free (dir);
}

static void
test_defaults_every_suite_not_admin (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char path[512];
    snprintf (path, sizeof path, "%s/farm", dir);
    keygen_options_t options = { .path = path };
    char public_txt[CURVE_KEY_TEXT + 1];
    char why[1024] = "";
    assert_int_equal (keygen_write (&options, public_txt, why, sizeof why), 0);
    curve_meta_t meta;
    char read_key[CURVE_KEY_TEXT + 1];
    assert_int_equal (curve_keys_read_public (path, read_key, &meta, NULL, why, sizeof why), 0);
    assert_true (meta.all_suites);
    assert_false (meta.admin);
    assert_string_equal (meta.name, "farm");
    zcert_t *cert = zcert_load (path);
    assert_null (zcert_meta (cert, "suites"));
    assert_null (zcert_meta (cert, "admin"));
    zcert_destroy (&cert);
    harness_rmtree (dir);
    free (dir);
}

static void
test_refuses_to_overwrite_unless_forced (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char path[512], secret[600];
    snprintf (path, sizeof path, "%s/agent", dir);
    snprintf (secret, sizeof secret, "%s_secret", path);
    keygen_options_t options = { .path = path };
    char first[CURVE_KEY_TEXT + 1], second[CURVE_KEY_TEXT + 1];
    char why[1024] = "";
    assert_int_equal (keygen_write (&options, first, why, sizeof why), 0);
    char *before = harness_read_file (secret);

    assert_int_equal (keygen_write (&options, second, why, sizeof why), -1);
    assert_non_null (strstr (why, "exists"));
    assert_non_null (strstr (why, "--force"));
    char *after = harness_read_file (secret);
    assert_string_equal (before, after);
    free (after);

    //  Only the secret half left over (the public one deleted): still no.
    unlink (path);
    assert_int_equal (keygen_write (&options, second, why, sizeof why), -1);
    assert_non_null (strstr (why, "agent_secret exists"));
    after = harness_read_file (secret);
    assert_string_equal (before, after);
    free (after);
    struct stat info;
    assert_int_not_equal (stat (path, &info), 0);

    //  Forced: a new pair replaces both, secret still 0600.
    chmod (secret, 0644);
    options.force = true;
    assert_int_equal (keygen_write (&options, second, why, sizeof why), 0);
    assert_string_not_equal (first, second);
    assert_int_equal (s_mode (secret), 0600);
    curve_pair_t pair;
    assert_int_equal (curve_keys_read_secret (secret, &pair, why, sizeof why), 0);
    assert_string_equal (pair.public_txt, second);
    free (before);
    harness_rmtree (dir);
    free (dir);
}

static void
test_refuses_bad_names_and_suites (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char public_txt[CURVE_KEY_TEXT + 1];
    char why[1024];
    char path[512];
    const char *names[] = { "", "x_secret", ".hidden", "quote\"d", "sub/" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, names[i]);
        keygen_options_t options = { .path = names[i][0] ? path : "" };
        assert_int_equal (keygen_write (&options, public_txt, why, sizeof why), -1);
    }
    snprintf (path, sizeof path, "%s/k", dir);
    const char *suites[] = { "", "a,,b", "a b", "we$b", "a," };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        keygen_options_t options = { .path = path, .suites = suites[i] };
        assert_int_equal (keygen_write (&options, public_txt, why, sizeof why), -1);
        assert_non_null (strstr (why, "suites"));
    }
    //  Nothing was written by any of them.
    char command[600];
    snprintf (command, sizeof command, "test $(ls -A %s | wc -l) -eq 0", dir);
    assert_int_equal (system (command), 0);
    harness_rmtree (dir);
    free (dir);
}

static void
test_metadata_rules (void **state)
{
    (void) state;
    curve_meta_t meta;
    char why[256];
    assert_int_equal (curve_meta_parse_suites ("*", &meta, why, sizeof why), 0);
    assert_true (meta.all_suites);
    assert_int_equal (curve_meta_parse_suites (" * ", &meta, why, sizeof why), 0);
    assert_true (meta.all_suites);
    assert_int_equal (curve_meta_parse_suites ("a", &meta, why, sizeof why), 0);
    assert_false (meta.all_suites);
    assert_string_equal (meta.suites, "a");
    assert_int_equal (curve_meta_parse_suites ("a,*", &meta, why, sizeof why), -1);
    //  The length limit that keeps ZAP metadata bounded.
    char long_list[CURVE_SUITES_MAX + 8];
    memset (long_list, 'a', sizeof long_list - 1);
    long_list[sizeof long_list - 1] = 0;
    for (size_t i = 100; i < sizeof long_list - 1; i += 101)
        long_list[i] = ',';
    assert_int_equal (curve_meta_parse_suites (long_list, &meta, why, sizeof why), -1);
    bool admin = true;
    assert_int_equal (curve_meta_parse_admin ("no", &admin, why, sizeof why), 0);
    assert_false (admin);
    assert_int_equal (curve_meta_parse_admin ("TRUE", &admin, why, sizeof why), 0);
    assert_true (admin);
    assert_int_equal (curve_meta_parse_admin ("maybe", &admin, why, sizeof why), -1);
    assert_int_equal (curve_meta_check_name ("ci runner 7", why, sizeof why), 0);
    assert_int_equal (curve_meta_check_name ("", why, sizeof why), -1);
    assert_int_equal (curve_meta_check_name ("tab\there", why, sizeof why), -1);
    assert_false (curve_key_text_valid ("short"));
    assert_false (curve_key_text_valid ("0000000000000000000000000000000000000 \""));
    assert_true (curve_key_text_valid ("0000000000000000000000000000000000000000"));
}

static void
test_reading_keys_says_what_is_wrong (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char path[512], secret[600], garbage[600], missing[600];
    snprintf (path, sizeof path, "%s/k", dir);
    snprintf (secret, sizeof secret, "%s_secret", path);
    snprintf (garbage, sizeof garbage, "%s/garbage", dir);
    snprintf (missing, sizeof missing, "%s/missing", dir);
    keygen_options_t options = { .path = path };
    char public_txt[CURVE_KEY_TEXT + 1];
    char why[1024];
    assert_int_equal (keygen_write (&options, public_txt, why, sizeof why), 0);
    curve_pair_t pair;
    //  A public certificate is not a secret one.
    assert_int_equal (curve_keys_read_secret (path, &pair, why, sizeof why), -1);
    assert_non_null (strstr (why, "holds no secret key"));
    assert_int_equal (curve_keys_read_secret (missing, &pair, why, sizeof why), -1);
    assert_non_null (strstr (why, "cannot read"));
    harness_write_file (garbage, "curve\n    public-key = \"not a key\"\n");
    char key[CURVE_KEY_TEXT + 1];
    assert_int_equal (curve_keys_read_public (garbage, key, NULL, NULL, why, sizeof why), -1);
    assert_non_null (strstr (why, "no valid curve public-key"));
    //  Not key files at all: far too large, or binary.
    char *huge = malloc (20000);
    memset (huge, '#', 19999);
    huge[19999] = 0;
    harness_write_file (garbage, huge);
    free (huge);
    assert_int_equal (curve_keys_read_public (garbage, key, NULL, NULL, why, sizeof why), -1);
    assert_non_null (strstr (why, "not a key file"));
    FILE *file = fopen (garbage, "we");
    fwrite ("curve\n\0x", 1, 8, file);
    fclose (file);
    assert_int_equal (curve_keys_read_public (garbage, key, NULL, NULL, why, sizeof why), -1);
    assert_non_null (strstr (why, "NUL byte"));
    //  A secret file whose public key belongs to another pair.
    zcert_t *other = zcert_new ();
    char *text = harness_read_file (secret);
    char *at = strstr (text, "public-key = \"");
    assert_non_null (at);
    memcpy (at + 14, zcert_public_txt (other), CURVE_KEY_TEXT);
    harness_write_file (garbage, text);
    assert_int_equal (curve_keys_read_secret (garbage, &pair, why, sizeof why), -1);
    assert_non_null (strstr (why, "not the one of its secret-key"));
    free (text);
    zcert_destroy (&other);
    harness_rmtree (dir);
    free (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_writes_a_pair_with_modes_and_metadata),
        cmocka_unit_test (test_defaults_every_suite_not_admin),
        cmocka_unit_test (test_refuses_to_overwrite_unless_forced),
        cmocka_unit_test (test_refuses_bad_names_and_suites),
        cmocka_unit_test (test_metadata_rules),
        cmocka_unit_test (test_reading_keys_says_what_is_wrong),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
