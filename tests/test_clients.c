/*  test_clients.c: satcheld's folder of authorized keys (clients.h) sees
    every change, including those czmq 4.2.1's own folder loader misses,
    fails closed, and survives the files that crash czmq's zauth (a key in
    two files, oversized metadata); and the permission checks (access.h),
    with keys and without them on --insecure.                             */
#include "access.h"
#include "clients.h"
#include "harness.h"
#include "log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <czmq.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Write a public certificate for a new key at dir/name; returns the key
//  (Z85) in key. suites/admin NULL: left out.
static void
s_key_file (const char *dir, const char *name, const char *suites, const char *admin,
            char key[CURVE_KEY_TEXT + 1])
{
    zcert_t *cert = zcert_new ();
    assert_non_null (cert);
    zcert_set_meta (cert, "name", "%s", name);
    if (suites)
        zcert_set_meta (cert, "suites", "%s", suites);
    if (admin)
        zcert_set_meta (cert, "admin", "%s", admin);
    char path[600];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    assert_int_equal (zcert_save_public (cert, path), 0);
    memcpy (key, zcert_public_txt (cert), CURVE_KEY_TEXT + 1);
    zcert_destroy (&cert);
}

static void
test_loads_keys_with_their_permissions (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char web[CURVE_KEY_TEXT + 1], admin[CURVE_KEY_TEXT + 1], stranger[CURVE_KEY_TEXT + 1];
    s_key_file (dir, "web", "a, b", NULL, web);
    s_key_file (dir, "boss", NULL, "yes", admin);
    zcert_t *cert = zcert_new ();
    memcpy (stranger, zcert_public_txt (cert), sizeof stranger);
    zcert_destroy (&cert);
    char why[512] = "";
    clients_t *clients = clients_new (dir, why, sizeof why);
    assert_non_null (clients);
    assert_int_equal (clients_count (clients), 2);
    const curve_meta_t *meta = clients_lookup (clients, web);
    assert_non_null (meta);
    assert_string_equal (meta->name, "web");
    assert_false (meta->all_suites);
    assert_string_equal (meta->suites, "a,b");
    assert_false (meta->admin);
    meta = clients_lookup (clients, admin);
    assert_non_null (meta);
    assert_true (meta->all_suites);
    assert_true (meta->admin);
    assert_null (clients_lookup (clients, stranger));
    assert_null (clients_lookup (clients, "short"));
    clients_destroy (&clients);
    assert_null (clients);
    clients_destroy (&clients);
    harness_rmtree (dir);
    free (dir);
}

static void
test_sees_added_removed_and_replaced_files (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char first[CURVE_KEY_TEXT + 1], late[CURVE_KEY_TEXT + 1];
    s_key_file (dir, "first", NULL, NULL, first);
    char why[512] = "";
    clients_t *clients = clients_new (dir, why, sizeof why);
    assert_non_null (clients);
    assert_non_null (clients_lookup (clients, first));

    //  Added: found at the next refresh, no restart.
    s_key_file (dir, "later", NULL, NULL, late);
    clients_refresh (clients);
    assert_non_null (clients_lookup (clients, late));
    assert_int_equal (clients_count (clients), 2);

    //  Removed: gone at the next refresh.
    char path[600];
    snprintf (path, sizeof path, "%s/later", dir);
    assert_int_equal (unlink (path), 0);
    clients_refresh (clients);
    assert_null (clients_lookup (clients, late));
    assert_non_null (clients_lookup (clients, first));

    //  Replaced by a file of the same size and the same modification time,
    //  moved in over it: count, total size and newest mtime all stay the
    //  same, which is all czmq 4.2.1's loader compares.
    char spare_dir[600], spare[700], target[600], other[CURVE_KEY_TEXT + 1];
    snprintf (spare_dir, sizeof spare_dir, "%s/.spare", dir);
    assert_int_equal (mkdir (spare_dir, 0755), 0);
    s_key_file (spare_dir, "first", NULL, NULL, other);
    snprintf (spare, sizeof spare, "%s/first", spare_dir);
    snprintf (target, sizeof target, "%s/first", dir);
    struct stat old_info, new_info;
    assert_int_equal (stat (target, &old_info), 0);
    assert_int_equal (stat (spare, &new_info), 0);
    assert_int_equal (old_info.st_size, new_info.st_size);
    struct timespec times[2] = { old_info.st_atim, old_info.st_mtim };
    assert_int_equal (utimensat (AT_FDCWD, spare, times, 0), 0);
    assert_int_equal (rename (spare, target), 0);
    clients_refresh (clients);
    assert_null (clients_lookup (clients, first));
    assert_non_null (clients_lookup (clients, other));

    //  The folder gone: nobody is authorized (fail closed); back: as before.
    char moved[600];
    snprintf (moved, sizeof moved, "%s-moved", dir);
    assert_int_equal (rename (dir, moved), 0);
    clients_refresh (clients);
    assert_null (clients_lookup (clients, other));
    assert_int_equal (clients_count (clients), 0);
    assert_int_equal (rename (moved, dir), 0);
    clients_refresh (clients);
    assert_non_null (clients_lookup (clients, other));
    clients_destroy (&clients);
    harness_rmtree (dir);
    free (dir);
}

static void
test_skips_what_does_not_belong (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char good[CURVE_KEY_TEXT + 1], key[CURVE_KEY_TEXT + 1];
    s_key_file (dir, "good", "a", "no", good);
    //  The same key in a second file (czmq's zcertstore_insert asserts).
    char from[600], to[600], command[1400];
    snprintf (from, sizeof from, "%s/good", dir);
    snprintf (to, sizeof to, "%s/good-copy", dir);
    snprintf (command, sizeof command, "cp '%s' '%s'", from, to);
    assert_int_equal (system (command), 0);
    //  Metadata far beyond zauth's 512-byte buffer.
    char big[3001];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    s_key_file (dir, "big", big, NULL, key);
    s_key_file (dir, "badadmin", NULL, "perhaps", key);
    s_key_file (dir, "badsuite", "we b", NULL, key);
    //  A secret certificate, a hidden file, a key in a subfolder, junk.
    zcert_t *cert = zcert_new ();
    snprintf (to, sizeof to, "%s/agent", dir);
    zcert_save (cert, to);           //  agent and agent_secret
    unlink (to);
    zcert_destroy (&cert);
    s_key_file (dir, ".hidden", NULL, NULL, key);
    char revoked[600];
    snprintf (revoked, sizeof revoked, "%s/revoked", dir);
    assert_int_equal (mkdir (revoked, 0755), 0);
    s_key_file (revoked, "old", NULL, NULL, key);
    snprintf (to, sizeof to, "%s/notes.txt", dir);
    harness_write_file (to, "keys for the farm\n");
    char why[512] = "";
    clients_t *clients = clients_new (dir, why, sizeof why);
    assert_non_null (clients);
    assert_int_equal (clients_count (clients), 1);
    const curve_meta_t *meta = clients_lookup (clients, good);
    assert_non_null (meta);
    assert_string_equal (meta->suites, "a");
    assert_null (clients_lookup (clients, key));
    clients_destroy (&clients);
    harness_rmtree (dir);
    free (dir);
}

static void
test_refuses_unusable_folders (void **state)
{
    (void) state;
    char *dir = harness_tmpdir ();
    char why[512] = "";
    char path[600];
    snprintf (path, sizeof path, "%s/none", dir);
    assert_null (clients_new (path, why, sizeof why));
    assert_non_null (strstr (why, "No such file"));
    snprintf (path, sizeof path, "%s/file", dir);
    harness_write_file (path, "x");
    assert_null (clients_new (path, why, sizeof why));
    assert_non_null (strstr (why, "not a folder"));
    snprintf (path, sizeof path, "%s/open", dir);
    assert_int_equal (mkdir (path, 0755), 0);
    assert_int_equal (chmod (path, 0777), 0);
    assert_null (clients_new (path, why, sizeof why));
    assert_non_null (strstr (why, "written by every user"));
    harness_rmtree (dir);
    free (dir);
}

static void
test_access_checks (void **state)
{
    (void) state;
    //  No CurveZMQ: everything allowed.
    access_peer_t open_peer = { .checked = false };
    assert_true (access_suite_allowed (&open_peer, "any"));
    assert_true (access_is_admin (&open_peer));
    assert_true (access_suite_allowed (NULL, "any"));
    proto_msg_t *out = NULL;
    assert_int_equal (access_require_admin (NULL, "status", "a1", 3, &out), 0);
    assert_null (out);

    access_peer_t web = { .checked = true, .known = true };
    snprintf (web.key, sizeof web.key, "%s", "0000000000000000000000000000000000000000");
    snprintf (web.meta.name, sizeof web.meta.name, "ci-web");
    snprintf (web.meta.suites, sizeof web.meta.suites, "web,web2,api/v1");
    assert_true (access_suite_allowed (&web, "web"));
    assert_true (access_suite_allowed (&web, "web2"));
    assert_true (access_suite_allowed (&web, "api/v1"));
    assert_false (access_suite_allowed (&web, "we"));
    assert_false (access_suite_allowed (&web, "web3"));
    assert_false (access_suite_allowed (&web, "api"));
    assert_false (access_is_admin (&web));

    assert_int_equal (access_check_suite (&web, "web", PROTO_JOIN, "a1", 1, &out), 0);
    assert_null (out);
    assert_int_equal (access_check_suite (&web, "mobile", PROTO_JOIN, "a1", 1, &out), -1);
    assert_non_null (out);
    assert_int_equal (out->type, PROTO_ERROR);
    assert_string_equal (out->code, PROTO_ERR_ACCESS);
    assert_true (proto_error_is_user (out->code));
    assert_string_equal (out->attempt, "a1");
    assert_non_null (strstr (out->message, "access refused"));
    assert_non_null (strstr (out->message, "mobile"));
    assert_non_null (strstr (out->message, "ci-web"));
    proto_msg_destroy (&out);

    //  The check later admin requests make.
    assert_int_equal (access_require_admin (&web, "status", "a1", 2, &out), -1);
    assert_string_equal (out->code, PROTO_ERR_ACCESS);
    assert_non_null (strstr (out->message, "status needs a key marked admin"));
    proto_msg_destroy (&out);
    access_peer_t boss = web;
    boss.meta.admin = true;
    boss.meta.all_suites = true;
    assert_int_equal (access_require_admin (&boss, "status", "a1", 2, &out), 0);
    assert_null (out);
    assert_true (access_suite_allowed (&boss, "mobile"));

    //  A checked peer whose permissions could not be read may do nothing.
    access_peer_t unknown = { .checked = true, .known = false };
    assert_false (access_suite_allowed (&unknown, "web"));
    assert_false (access_is_admin (&unknown));
    assert_int_equal (access_check_suite (&unknown, "web", PROTO_NEXT, "a1", 1, &out), -1);
    assert_string_equal (out->code, PROTO_ERR_ACCESS);
    proto_msg_destroy (&out);
}

//  Without CurveZMQ on an endpoint other machines reach (--insecure):
//  builds for everyone, admin requests only from this machine's own
//  addresses, by the message's Peer-Address.
static void
test_access_on_a_network_without_keys (void **state)
{
    (void) state;
    //  A message without a Peer-Address (as libzmq gives for inproc): not
    //  from this machine as far as satcheld can tell.
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    access_peer_t peer;
    access_peer_read (&peer, &msg, ACCESS_NETWORK);
    assert_true (peer.network);
    assert_false (peer.checked);
    assert_false (peer.local);
    assert_string_equal (peer.address, "");
    assert_true (access_suite_allowed (&peer, "web"));
    assert_false (access_is_admin (&peer));
    proto_msg_t *out = NULL;
    assert_int_equal (access_check_suite (&peer, "web", PROTO_JOIN, "a1", 1, &out), 0);
    assert_null (out);
    assert_int_equal (access_require_admin (&peer, "status", "a1", 4, &out), -1);
    assert_string_equal (out->code, PROTO_ERR_ACCESS);
    assert_true (proto_error_is_user (out->code));
    assert_string_equal (out->attempt, "a1");
    assert_int_equal (out->req, 4);
    assert_non_null (strstr (out->message, "an address libzmq did not give"));
    proto_msg_destroy (&out);
    //  The same message on a loopback endpoint, or with keys: not this rule.
    access_peer_read (&peer, &msg, ACCESS_OPEN);
    assert_false (peer.network);
    assert_true (access_is_admin (&peer));
    access_peer_read (&peer, &msg, ACCESS_KEYS);
    assert_false (peer.network);
    assert_false (access_is_admin (&peer));      //  no key: nothing
    zmq_msg_close (&msg);

    //  Another machine (TEST-NET-1: documentation only, no host has it).
    access_peer_t far = { .network = true, .address = "192.0.2.7" };
    assert_true (access_suite_allowed (&far, "web"));
    assert_false (access_is_admin (&far));
    assert_int_equal (access_require_admin (&far, "export", "a1", 2, &out), -1);
    assert_string_equal (out->code, PROTO_ERR_ACCESS);
    const char *said = out->message;
    assert_non_null (strstr (said, "access refused: export is an admin request"));
    assert_non_null (strstr (said, "only from its own machine; this one came from 192.0.2.7"));
    assert_non_null (strstr (said, "tcp://127.0.0.1:PORT"));
    assert_non_null (strstr (said, "satchel keygen --admin"));
    proto_msg_destroy (&out);
    snprintf (far.address, sizeof far.address, "::ffff:192.0.2.7");
    assert_false (access_is_admin (&far));

    //  This machine: loopback, as read, or an address of its own.
    access_peer_t near = { .network = true, .local = true, .address = "127.0.0.1" };
    assert_true (access_is_admin (&near));
    assert_int_equal (access_require_admin (&near, "status", "a1", 2, &out), 0);
    assert_null (out);
    access_peer_t own = { .network = true, .address = "::1" };
    assert_true (access_is_admin (&own));
}

int
main (void)
{
    //  The skipped files are logged as warnings; keep them out of the way.
    log_setup (LOG_LEVEL_ERROR, "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_loads_keys_with_their_permissions),
        cmocka_unit_test (test_sees_added_removed_and_replaced_files),
        cmocka_unit_test (test_skips_what_does_not_belong),
        cmocka_unit_test (test_refuses_unusable_folders),
        cmocka_unit_test (test_access_checks),
        cmocka_unit_test (test_access_on_a_network_without_keys),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
