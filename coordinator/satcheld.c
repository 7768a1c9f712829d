/*  satcheld: the satchel coordinator daemon. A thin main: parse flags,
    then run the server loop until SIGINT or SIGTERM.                       */
#include "config.h"
#include "endpoint.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: satcheld [OPTIONS]\n"
"\n"
"The satchel coordinator: owns the queues of running builds and the timing\n"
"history of every suite, and hands batches of tests to `satchel run` agents.\n"
"\n"
"Options (each can also be set in the configuration file, without the\n"
"dashes: max-units = 20000; a flag wins over the file):\n"
"  --config FILE          read settings from FILE (default: under systemd\n"
"                         $CONFIGURATION_DIRECTORY/satcheld.conf, else\n"
"                         /etc/satchel/satcheld.conf, each if it exists)\n"
"  --check-config         check the file and the flags, say so and exit (0, or\n"
"                         2 naming what is wrong); serve nothing\n"
"  --bind ENDPOINT        ZeroMQ endpoint to listen on (default tcp://127.0.0.1:7450;\n"
"                         a port of * picks a free one, see --ready-file)\n"
"  --db PATH              SQLite database (default $STATE_DIRECTORY/satchel.db under\n"
"                         systemd, else ./satchel-state/satchel.db; folders are created)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --ready-file PATH      once serving, write the bound endpoint to PATH\n"
"  --runner-startup SECS  predicted cost of one test-runner start, used to size\n"
"                         batches (default 1); given, it is also taken out of\n"
"                         wall times shared over tests without a report\n"
"  --batch-factor F       a node whose pace is not yet measured takes 1/F of its\n"
"                         share of the remaining work (default 2)\n"
"  --max-batch-units N    most units in one batch (default 1000)\n"
"  --default-estimate SECS  predicted time of a unit when the suite has no history\n"
"                         at all (default 1)\n"
"  --lease SECS           a batch whose node has not been heard from for this long\n"
"                         goes back to the queue for the other nodes; agents renew\n"
"                         every third of it while their runner works (default 30)\n"
"  --lease-max SECS       ceiling: a batch still running this long, plus twice its\n"
"                         predicted time, after it was handed out goes back to the\n"
"                         queue whatever its heartbeats say, so a hung test cannot\n"
"                         hold it forever (default 3600)\n"
"  --requeue-failed N     run a failed unit again on another node, up to N times\n"
"                         per unit; failed-then-passed units are reported flaky\n"
"                         (default 0: never)\n"
"  --requeue-budget N     most runs again per build, all units together (default 50)\n"
"  --max-message BYTES    largest request accepted (default %u)\n"
"  --max-units N          most units in one build (default %u)\n"
"  --max-name BYTES       longest unit name (default %u)\n"
"  --max-nodes N          largest node total of a build (default %u)\n"
"  --max-rate N           requests a second one connection may send, on average\n"
"                         and at once; past it: a busy reply (default %u, 0: none)\n"
"  --max-builds N         builds in flight at once (not finished, asked about in\n"
"                         the last 10 minutes); agents of one more are told to\n"
"                         retry, then fall back to splitting by name (default %u)\n"
"  --curve-secret FILE    encrypt and authenticate with CurveZMQ: satcheld's secret\n"
"                         certificate (FILE_secret of 'satchel keygen FILE'); needs\n"
"                         --clients\n"
"  --clients DIR          folder of the public key files of authorized agents; a key\n"
"                         file added or removed applies to the next connection, no\n"
"                         restart (see docs/curve.md)\n"
"  --insecure             without --curve-secret, bind an endpoint other machines can\n"
"                         reach anyway (plain text, anyone may join builds); without\n"
"                         it satcheld binds only loopback: tcp://127.x.y.z,\n"
"                         tcp://[::1], tcp://localhost, ipc://, inproc://\n"
"  --keep-days DAYS       samples and estimates older than this are pruned, a little\n"
"                         at a time between requests (default %d; 0: keep forever)\n"
"  --keep-builds-days DAYS  builds finished (or abandoned) longer ago than this are\n"
"                         pruned, with their units and batches; a CI job retried\n"
"                         later starts a new build (default %d; 0: keep forever)\n"
"  --metrics-file PATH    keep a Prometheus text file of satcheld's metrics at PATH,\n"
"                         rewritten by rename, for node_exporter's textfile collector\n"
"  --metrics-interval SECS  how often it is rewritten (default 5)\n"
"  --help                 show this help\n"
"  --version              show the version\n"
"\n"
"Signals: SIGINT and SIGTERM finish the requests in hand, close the database\n"
"cleanly and exit 0. SIGHUP reads the configuration file again (and the\n"
"flags over it) and applies it without dropping a build or a connection:\n"
"the log level, the limits, the scheduling and retention settings, and the\n"
"--clients folder; bind, db, ready-file, curve-secret, clients (the folder's\n"
"path) and insecure need a restart. A bad file on reload is logged and the\n"
"running settings stay.\n",
             PROTO_DEFAULT_MAX_FRAME, PROTO_DEFAULT_MAX_UNITS, PROTO_DEFAULT_MAX_NAME,
             PROTO_DEFAULT_MAX_NODES, SERVER_DEFAULT_MAX_RATE, REQUESTS_DEFAULT_MAX_BUILDS,
             RETENTION_DEFAULT_KEEP_DAYS, RETENTION_DEFAULT_KEEP_BUILDS_DAYS);
}

//  CurveZMQ flags go together; without them only loopback is bound, unless
//  --insecure. Returns 0, or -1 after printing why.
static int
s_check_security (const server_config_t *config, bool insecure)
{
    const char *problem = NULL;
    if (config->curve_secret && !config->clients)
        problem = "--curve-secret needs --clients DIR, the folder of the agents' public keys";
    else
    if (config->clients && !config->curve_secret)
        problem = "--clients needs --curve-secret FILE, satcheld's secret certificate";
    else
    if (config->curve_secret && insecure)
        problem = "--insecure and --curve-secret contradict each other; drop --insecure";
    if (problem) {
        fprintf (stderr, "satcheld: %s\nTry 'satcheld --help' for more information.\n", problem);
        return -1;
    }
    if (!config->curve_secret && !insecure && !endpoint_is_loopback (config->bind)) {
        fprintf (stderr, "satcheld: refusing to listen on %s without encryption: any host that "
                 "can reach it could join builds and read test names. Give --curve-secret FILE "
                 "and --clients DIR (CurveZMQ: see docs/curve.md), bind a loopback endpoint "
                 "(tcp://127.0.0.1:PORT), or add --insecure on a network you trust.\n",
                 config->bind);
        return -1;
    }
    return 0;
}

//  The default database path: under systemd's StateDirectory= if set.
static char *
s_default_db (void)
{
    const char *state = getenv ("STATE_DIRECTORY");
    if (state && *state) {
        //  STATE_DIRECTORY may list several folders separated by ':'.
        size_t len = strcspn (state, ":");
        char *path = util_malloc (len + 16);
        snprintf (path, len + 16, "%.*s/satchel.db", (int) len, state);
        return path;
    }
    return util_strdup ("satchel-state/satchel.db");
}

//  The settings as the process was started: for a reload, which re-reads
//  the file and applies the same flags over it, and compares.
static int s_argc;
static char **s_argv;
static config_t s_running;       //  what satcheld started with
static config_t s_reloaded;      //  the latest reload's, alive until the next

//  Two optional strings differ.
static bool
s_differ (const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp (a, b) != 0);
}

//  SIGHUP: the file again, the flags over it. What needs a restart is
//  compared with what runs, and kept as it is with a warning.
static int
s_reload (void *arg, server_config_t *next, log_level_t *level, char *why, size_t why_size)
{
    (void) arg;
    config_clear (&s_reloaded);
    if (config_load (&s_reloaded, s_argc, s_argv, why, why_size) != CONFIG_OK) {
        if (!*why)
            snprintf (why, why_size, "--help or --version among the flags");
        return -1;
    }
    const struct {
        const char *name;
        bool changed;
    } fixed[] = {
        { "bind", s_differ (s_reloaded.server.bind, s_running.server.bind) },
        { "db", s_differ (s_reloaded.db, s_running.db) },
        { "ready-file", s_differ (s_reloaded.server.ready_file, s_running.server.ready_file) },
        { "curve-secret", s_differ (s_reloaded.server.curve_secret,
                                    s_running.server.curve_secret) },
        { "clients", s_differ (s_reloaded.server.clients, s_running.server.clients) },
        { "insecure", s_reloaded.insecure != s_running.insecure },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i].changed)
            log_warn ("config_needs_restart key=%s reason=\"changed in %s; the running value"
                      " stays until satcheld is restarted\"", fixed[i].name,
                      s_reloaded.file ? s_reloaded.file : "the flags");
    *next = s_reloaded.server;
    *level = s_reloaded.log_level;
    return 0;
}

//  Every agent holds a connection, a file descriptor: with the usual soft
//  limit of 1,024 open files (systemd's default for services too) a farm of
//  a thousand agents would run out. Raise it to the hard limit, up to
//  OPEN_FILES_WANTED.
#define OPEN_FILES_WANTED 65536
static void
s_raise_open_files (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return;
    rlim_t want = limit.rlim_max < OPEN_FILES_WANTED ? limit.rlim_max : OPEN_FILES_WANTED;
    if (limit.rlim_cur >= want)
        return;
    rlim_t was = limit.rlim_cur;
    limit.rlim_cur = want;
    if (setrlimit (RLIMIT_NOFILE, &limit) == 0)
        log_info ("open_files_raised from=%llu to=%llu", (unsigned long long) was,
                  (unsigned long long) want);
    else
        log_warn ("open_files_limited limit=%llu reason=%s", (unsigned long long) was,
                  log_quote (strerror (errno)));
}

int
main (int argc, char **argv)
{
    char why[1024];
    config_result_t loaded = config_load (&s_running, argc, argv, why, sizeof why);
    if (loaded != CONFIG_OK) {
        int rc = 0;
        if (loaded == CONFIG_HELP)
            s_usage (stdout);
        else if (loaded == CONFIG_VERSION)
            printf ("satcheld %s\nsystemd notification (sd_notify): %s\n", SATCHEL_VERSION,
                    notify_available () ? "built in" : "not built in (no libsystemd)");
        else {
            fprintf (stderr, "satcheld: %s\nTry 'satcheld --help' for more information.\n",
                     why);
            rc = 2;
        }
        config_clear (&s_running);
        return rc;
    }
    s_argc = argc;
    s_argv = argv;
    server_config_t config = s_running.server;
    if (s_check_security (&config, s_running.insecure) != 0) {
        config_clear (&s_running);
        return 2;
    }
    if (s_running.check_only) {
        printf ("satcheld: the settings are good (%s%s)\n",
                s_running.file ? "file " : "no configuration file",
                s_running.file ? s_running.file : "");
        config_clear (&s_running);
        return 0;
    }
    log_setup (s_running.log_level, "");
    if (s_running.file)
        log_info ("config_read file=%s", log_quote (s_running.file));
    if (s_running.insecure && !endpoint_is_loopback (config.bind))
        log_warn ("insecure endpoint=%s reason=\"--insecure without --curve-secret: requests "
                  "travel in plain text and any host that reaches this endpoint can join builds, "
                  "read test names and write timing history; admin requests only from this "
                  "machine\"", log_quote (config.bind));
    s_raise_open_files ();
    if (server_block_signals () != 0) {
        log_error ("signal_setup_failed");
        config_clear (&s_running);
        return 1;
    }
    char *db_path = s_running.db ? util_strdup (s_running.db) : s_default_db ();
    char *folder = util_strdup (db_path);
    if (util_mkdir_p (dirname (folder)) != 0) {
        log_error ("db_folder_failed path=%s error=%s", log_quote (db_path),
                   log_quote (strerror (errno)));
        free (folder);
        free (db_path);
        config_clear (&s_running);
        return 1;
    }
    free (folder);
    config.db_path = db_path;
    config.reload = s_reload;
    store_init_process ();
    server_t *server = server_new (&config);
    int rc = 1;
    if (server) {
        rc = server_run (server) == 0 ? 0 : 1;
        server_destroy (&server);
    }
    free (db_path);
    config_clear (&s_reloaded);
    config_clear (&s_running);
    //  czmq tears its context down at exit; make that quick.
    zsys_shutdown ();
    return rc;
}
