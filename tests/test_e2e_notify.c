/*  test_e2e_notify.c: satcheld tells systemd how it is, as systemd would
    see it. The test plays systemd's side: it binds a datagram socket of
    its own and starts a real satcheld with NOTIFY_SOCKET pointing at it
    and WATCHDOG_USEC set, then reads what arrives:

    - READY=1, and at that moment the endpoint is written, the database
      exists at the current schema version, and a request gets a reply;
    - STATUS= lines: the first names the endpoint; after a real build by
      two real agents one says so (two agents in the last minute);
    - WATCHDOG=1 again and again, from the event loop, with no request
      coming in;
    - STOPPING=1 on SIGTERM, and exit 0.

    And the journal's line form: with JOURNAL_STREAM naming satcheld's
    stderr each log line starts with its syslog priority; naming another
    stream (stderr redirected), it does not.

    Built only with libsystemd (SATCHEL_HAVE_SYSTEMD).                    */
#include "e2e_client.h"
#include "e2e_fixture.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEADLINE_MS 60000
//  systemd's interval; satcheld pings at half of it.
#define WATCHDOG_USEC "400000"

typedef struct {
    e2e_fixture_t *fx;           //  folder, agents, cleanup
    int sock;                    //  where satcheld's notifications arrive
    char sock_path[108];         //  its path
    pid_t daemon;                //  satcheld, started here, not by the fixture
    char ready[600];             //  satcheld's --ready-file
    char log[600];               //  its stderr
    char db[600];                //  its database
} notify_fx_t;

static int
s_setup (void **state)
{
    notify_fx_t *nfx = calloc (1, sizeof *nfx);
    assert_non_null (nfx);
    e2e_fixture_setup ((void **) &nfx->fx);
    nfx->fx->deadline_ms = DEADLINE_MS;
    nfx->sock = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true (nfx->sock >= 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int length = snprintf (nfx->sock_path, sizeof nfx->sock_path, "%s/notify", nfx->fx->dir);
    assert_true (length > 0 && (size_t) length < sizeof addr.sun_path);
    memcpy (addr.sun_path, nfx->sock_path, (size_t) length + 1);
    assert_int_equal (bind (nfx->sock, (struct sockaddr *) &addr, sizeof addr), 0);
    snprintf (nfx->ready, sizeof nfx->ready, "%s/ready", nfx->fx->dir);
    snprintf (nfx->log, sizeof nfx->log, "%s/satcheld.log", nfx->fx->dir);
    snprintf (nfx->db, sizeof nfx->db, "%s/satchel.db", nfx->fx->dir);
    *state = nfx;
    return 0;
}

static int
s_teardown (void **state)
{
    notify_fx_t *nfx = *state;
    if (nfx->daemon > 0) {
        kill (nfx->daemon, SIGKILL);
        harness_wait (nfx->daemon, 5000);
    }
    close (nfx->sock);
    int rc = e2e_fixture_teardown ((void **) &nfx->fx);
    free (nfx);
    return rc;
}

//  Start satcheld with env (NULL-terminated) and its stderr to nfx->log.
static void
s_start (notify_fx_t *nfx, const char *const *env)
{
    char *bin = harness_bin ("satcheld");
    char *argv[] = { bin, "--bind", "tcp://127.0.0.1:*", "--db", nfx->db, "--ready-file",
                     nfx->ready, "--log-level", "debug", NULL };
    nfx->daemon = harness_spawn (argv, nfx->fx->dir, env, NULL, nfx->log);
    free (bin);
    assert_true (nfx->daemon > 0);
}

//  The next notification (at most deadline ms away), NUL-terminated in
//  text. Returns 0, or -1 if none came in time.
static int
s_next (notify_fx_t *nfx, char *text, size_t size, int64_t deadline_ms)
{
    int64_t end = harness_now_ms () + deadline_ms;
    while (harness_now_ms () < end) {
        struct pollfd item = { .fd = nfx->sock, .events = POLLIN };
        int rc = poll (&item, 1, (int) (end - harness_now_ms ()));
        if (rc < 0)
            continue;           //  EINTR
        if (rc == 0)
            break;
        ssize_t got = recv (nfx->sock, text, size - 1, 0);
        if (got >= 0) {
            text[got] = 0;
            return 0;
        }
    }
    return -1;
}

//  The notification with needle in it, skipping others (WATCHDOG=1 among
//  them, counted into *pings if not NULL). Fails past the deadline.
static void
s_expect (notify_fx_t *nfx, const char *needle, char *text, size_t size, int *pings)
{
    int64_t end = harness_now_ms () + DEADLINE_MS;
    while (harness_now_ms () < end) {
        if (s_next (nfx, text, size, end - harness_now_ms ()) != 0)
            break;
        if (strstr (text, needle))
            return;
        if (pings && strcmp (text, "WATCHDOG=1") == 0)
            (*pings)++;
    }
    fail_msg ("no notification with '%s' came", needle);
}

static void
test_ready_status_watchdog_stopping (void **state)
{
    notify_fx_t *nfx = *state;
    e2e_fixture_t *fx = nfx->fx;
    char env_socket[200];
    snprintf (env_socket, sizeof env_socket, "NOTIFY_SOCKET=%s", nfx->sock_path);
    const char *env[] = { env_socket, "WATCHDOG_USEC=" WATCHDOG_USEC, NULL };
    s_start (nfx, env);

    char text[1024];
    assert_int_equal (s_next (nfx, text, sizeof text, DEADLINE_MS), 0);
    //  The first thing said is READY=1, with a status naming the endpoint.
    assert_non_null (strstr (text, "READY=1"));
    assert_non_null (strstr (text, "STATUS=serving tcp://127.0.0.1:"));
    //  Only now: the endpoint is bound and written, the database migrated.
    char *endpoint = harness_read_file (nfx->ready);
    assert_non_null (endpoint);
    endpoint[strcspn (endpoint, "\n")] = 0;
    assert_non_null (strstr (text, endpoint));
    char sql[64];
    snprintf (sql, sizeof sql, "PRAGMA user_version");
    assert_int_equal (e2e_db_int (nfx->db, sql), STORE_SCHEMA_VERSION);
    //  And a request is answered (an error reply to a frame that is not
    //  msgpack: no build, no agent).
    zsock_t *probe = e2e_connect (endpoint);
    assert_int_equal (zstr_send (probe, "not msgpack"), 0);
    zmsg_t *reply = zmsg_recv (probe);
    assert_non_null (reply);
    assert_true (zmsg_content_size (reply) > 0);
    zmsg_destroy (&reply);
    zsock_destroy (&probe);

    //  With nothing coming in, the loop still pings, again and again.
    int pings = 0;
    while (pings < 5) {
        assert_int_equal (s_next (nfx, text, sizeof text, DEADLINE_MS), 0);
        if (strcmp (text, "WATCHDOG=1") == 0)
            pings++;
    }

    //  A real build by two real agents: the status says so.
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf (name, sizeof name, "tests/unit_%d_test.txt", i);
        e2e_fixture_unit (fx, name, "ms=10\n");
    }
    const char *tags[] = { "n0", "n1" };
    for (int n = 0; n < 2; n++) {
        e2e_agent_t agent = { .tag = tags[n], .coordinator = endpoint, .suite = "notify",
                              .build = "ci-1", .index = n, .total = 2,
                              .pattern = "tests/*_test.txt" };
        e2e_fixture_agent (fx, &agent);
    }
    for (int n = 0; n < 2; n++)
        e2e_fixture_expect_exit (fx, tags[n], 0);
    pings = 0;
    s_expect (nfx, "STATUS=serving", text, sizeof text, &pings);
    //  The first STATUS after the build may still be mid-way; the one that
    //  counts both agents comes within NOTIFY_STATUS_MS.
    if (!strstr (text, "2 agents in the last minute"))
        s_expect (nfx, "2 agents in the last minute", text, sizeof text, &pings);
    assert_non_null (strstr (text, endpoint));
    //  Pings went on meanwhile.
    assert_true (pings >= 1);

    //  SIGTERM: STOPPING=1, then exit 0.
    assert_int_equal (kill (nfx->daemon, SIGTERM), 0);
    s_expect (nfx, "STOPPING=1", text, sizeof text, NULL);
    assert_int_equal (harness_wait (nfx->daemon, 10000), 0);
    nfx->daemon = 0;
    free (endpoint);
}

//  Where the daemon's stderr is (device and inode), as JOURNAL_STREAM
//  says it.
static void
s_stream_of (const char *path, char *text, size_t size)
{
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    snprintf (text, size, "JOURNAL_STREAM=%llu:%llu", (unsigned long long) st.st_dev,
              (unsigned long long) st.st_ino);
}

//  Start satcheld with JOURNAL_STREAM naming its own stderr (journal) or
//  another file, wait for it to serve, stop it, and return its log.
static char *
s_log_with_stream (notify_fx_t *nfx, bool own)
{
    //  The log file exists before the start, so its inode is known.
    assert_int_equal (harness_write_file (nfx->log, ""), 0);
    char other[700];
    snprintf (other, sizeof other, "%s/other", nfx->fx->dir);
    assert_int_equal (harness_write_file (other, ""), 0);
    char stream[100];
    s_stream_of (own ? nfx->log : other, stream, sizeof stream);
    const char *env[] = { stream, NULL };
    unlink (nfx->ready);
    s_start (nfx, env);
    assert_int_equal (harness_wait_for_text (nfx->ready, "tcp://", 10000), 0);
    assert_int_equal (kill (nfx->daemon, SIGTERM), 0);
    assert_int_equal (harness_wait (nfx->daemon, 10000), 0);
    nfx->daemon = 0;
    char *log = harness_read_file (nfx->log);
    assert_non_null (log);
    return log;
}

static void
test_journal_priorities (void **state)
{
    notify_fx_t *nfx = *state;
    char *log = s_log_with_stream (nfx, true);
    //  Every line carries its priority: info is <6>.
    assert_true (harness_count (log, "\n<6>info serving endpoint=") == 1
                 || strncmp (log, "<6>info ", 8) == 0);
    assert_int_equal (strncmp (log, "<", 1), 0);
    for (const char *line = log; *line; line = strchr (line, '\n') + 1) {
        assert_int_equal (line[0], '<');
        assert_non_null (strchr (line, '\n'));
    }
    free (log);
    //  Redirected elsewhere: plain lines.
    log = s_log_with_stream (nfx, false);
    assert_null (strstr (log, "<6>"));
    assert_non_null (strstr (log, "info serving endpoint="));
    free (log);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_ready_status_watchdog_stopping, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_journal_priorities, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
