/*  satcheld: the satchel coordinator daemon. A thin main: parse flags,
    then run the server loop until SIGINT or SIGTERM.                       */
#include "endpoint.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: satcheld [OPTIONS]\n"
"\n"
"The satchel coordinator: owns the queues of running builds and the timing\n"
"history of every suite, and hands batches of tests to `satchel run` agents.\n"
"\n"
"Options:\n"
"  --bind ENDPOINT        ZeroMQ endpoint to listen on (default tcp://127.0.0.1:7450;\n"
"                         a port of * picks a free one, see --ready-file)\n"
"  --db PATH              SQLite database (default $STATE_DIRECTORY/satchel.db under\n"
"                         systemd, else ./satchel-state/satchel.db; folders are created)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --ready-file PATH      once serving, write the bound endpoint to PATH\n"
"  --runner-startup SECS  predicted cost of one test-runner start, used to size\n"
"                         batches (default 1)\n"
"  --batch-factor F       each batch targets the remaining work / (F x nodes);\n"
"                         larger F means smaller batches (default 2)\n"
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
"  --help                 show this help\n"
"  --version              show the version\n"
"\n"
"Signals: SIGINT and SIGTERM finish the requests in hand, close the database\n"
"cleanly and exit 0.\n",
             PROTO_DEFAULT_MAX_FRAME, PROTO_DEFAULT_MAX_UNITS, PROTO_DEFAULT_MAX_NAME,
             PROTO_DEFAULT_MAX_NODES, SERVER_DEFAULT_MAX_RATE, REQUESTS_DEFAULT_MAX_BUILDS,
             RETENTION_DEFAULT_KEEP_DAYS, RETENTION_DEFAULT_KEEP_BUILDS_DAYS);
}

static int
s_bad (const char *flag, const char *value, const char *expect)
{
    fprintf (stderr, "satcheld: %s: invalid value '%s' (%s)\n"
                     "Try 'satcheld --help' for more information.\n", flag, value, expect);
    return 2;
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

//  A number of days, fractions allowed, 0 to 100 years. Returns 0 or -1.
static int
s_parse_days (const char *text, double *days)
{
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (errno != 0 || end == text || *end != 0 || !(value >= 0 && value <= 36500))
        return -1;
    *days = value;
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

int
main (int argc, char **argv)
{
    server_config_t config;
    server_config_default (&config);
    log_level_t level = LOG_LEVEL_INFO;
    char *db = NULL;
    enum {
        OPT_BIND = 256, OPT_DB, OPT_LOG, OPT_READY, OPT_STARTUP, OPT_FACTOR, OPT_ESTIMATE,
        OPT_BATCH_UNITS, OPT_LEASE, OPT_LEASE_MAX, OPT_REQUEUE, OPT_REQUEUE_BUDGET,
        OPT_MAX_MESSAGE, OPT_MAX_UNITS, OPT_MAX_NAME, OPT_MAX_NODES, OPT_MAX_RATE, OPT_MAX_BUILDS,
        OPT_CURVE_SECRET, OPT_CLIENTS, OPT_INSECURE, OPT_KEEP_DAYS, OPT_KEEP_BUILDS_DAYS,
        OPT_HELP, OPT_VERSION
    };
    static const struct option options[] = {
        { "bind", required_argument, NULL, OPT_BIND },
        { "db", required_argument, NULL, OPT_DB },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "ready-file", required_argument, NULL, OPT_READY },
        { "runner-startup", required_argument, NULL, OPT_STARTUP },
        { "batch-factor", required_argument, NULL, OPT_FACTOR },
        { "default-estimate", required_argument, NULL, OPT_ESTIMATE },
        { "max-batch-units", required_argument, NULL, OPT_BATCH_UNITS },
        { "lease", required_argument, NULL, OPT_LEASE },
        { "lease-max", required_argument, NULL, OPT_LEASE_MAX },
        { "requeue-failed", required_argument, NULL, OPT_REQUEUE },
        { "requeue-budget", required_argument, NULL, OPT_REQUEUE_BUDGET },
        { "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
        { "max-units", required_argument, NULL, OPT_MAX_UNITS },
        { "max-name", required_argument, NULL, OPT_MAX_NAME },
        { "max-nodes", required_argument, NULL, OPT_MAX_NODES },
        { "max-rate", required_argument, NULL, OPT_MAX_RATE },
        { "max-builds", required_argument, NULL, OPT_MAX_BUILDS },
        { "curve-secret", required_argument, NULL, OPT_CURVE_SECRET },
        { "clients", required_argument, NULL, OPT_CLIENTS },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "keep-days", required_argument, NULL, OPT_KEEP_DAYS },
        { "keep-builds-days", required_argument, NULL, OPT_KEEP_BUILDS_DAYS },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    bool insecure = false;
    proto_limits_t *limits = &config.requests.limits;
    sched_policy_t *policy = &config.requests.policy;
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        uint64_t number = 0;
        int64_t ms = 0;
        switch (opt) {
            case OPT_BIND: config.bind = optarg; break;
            case OPT_DB: db = optarg; break;
            case OPT_LOG:
                if (log_level_parse (optarg, &level) != 0)
                    return s_bad ("--log-level", optarg, "error, warn, info or debug");
                break;
            case OPT_READY: config.ready_file = optarg; break;
            case OPT_STARTUP:
                if (util_parse_seconds_ms (optarg, 0, 3600 * 1000, &ms) != 0)
                    return s_bad ("--runner-startup", optarg, "seconds, 0 to 3600");
                policy->startup_ms = (double) ms;
                break;
            case OPT_FACTOR: {
                char *end = NULL;
                errno = 0;
                double factor = strtod (optarg, &end);
                if (errno != 0 || *end != 0 || end == optarg || !(factor >= 1 && factor <= 100))
                    return s_bad ("--batch-factor", optarg, "a number from 1 to 100");
                policy->factor = factor;
                break;
            }
            case OPT_ESTIMATE:
                if (util_parse_seconds_ms (optarg, 1, 24 * 3600 * 1000, &ms) != 0)
                    return s_bad ("--default-estimate", optarg, "seconds, 0.001 to 86400");
                policy->default_ms = (double) ms;
                break;
            case OPT_BATCH_UNITS:
                if (util_parse_u64 (optarg, 1, 100000, &number) != 0)
                    return s_bad ("--max-batch-units", optarg, "1 to 100000");
                policy->max_batch_units = (size_t) number;
                break;
            case OPT_LEASE:
                if (util_parse_seconds_ms (optarg, 300, 24 * 3600 * 1000, &ms) != 0)
                    return s_bad ("--lease", optarg, "seconds, 0.3 to 86400");
                config.requests.leases.lease_ms = ms;
                break;
            case OPT_LEASE_MAX:
                if (util_parse_seconds_ms (optarg, 1000, 7 * 24 * 3600 * 1000LL, &ms) != 0)
                    return s_bad ("--lease-max", optarg, "seconds, 1 to 604800");
                config.requests.leases.lease_max_ms = ms;
                break;
            case OPT_REQUEUE:
                if (util_parse_u64 (optarg, 0, 10, &number) != 0)
                    return s_bad ("--requeue-failed", optarg, "0 to 10");
                config.requests.retry.requeue_failed = (uint32_t) number;
                break;
            case OPT_REQUEUE_BUDGET:
                if (util_parse_u64 (optarg, 0, 1000000, &number) != 0)
                    return s_bad ("--requeue-budget", optarg, "0 to 1000000");
                config.requests.retry.requeue_budget = (uint32_t) number;
                break;
            case OPT_MAX_MESSAGE:
                if (util_parse_u64 (optarg, 4096, 1024u * 1024 * 1024, &number) != 0)
                    return s_bad ("--max-message", optarg, "bytes, 4096 to 1 GiB");
                limits->max_frame = (size_t) number;
                break;
            case OPT_MAX_UNITS:
                if (util_parse_u64 (optarg, 1, 10000000, &number) != 0)
                    return s_bad ("--max-units", optarg, "1 to 10000000");
                limits->max_units = (size_t) number;
                break;
            case OPT_MAX_NAME:
                if (util_parse_u64 (optarg, 16, 65536, &number) != 0)
                    return s_bad ("--max-name", optarg, "bytes, 16 to 65536");
                limits->max_name = (size_t) number;
                break;
            case OPT_MAX_NODES:
                if (util_parse_u64 (optarg, 1, 100000, &number) != 0)
                    return s_bad ("--max-nodes", optarg, "1 to 100000");
                limits->max_nodes = (uint32_t) number;
                break;
            case OPT_MAX_RATE:
                if (util_parse_u64 (optarg, 0, 1000000, &number) != 0)
                    return s_bad ("--max-rate", optarg, "0 (no limit) to 1000000");
                config.max_rate = (double) number;
                break;
            case OPT_MAX_BUILDS:
                if (util_parse_u64 (optarg, 1, 1000000, &number) != 0)
                    return s_bad ("--max-builds", optarg, "1 to 1000000");
                config.requests.max_builds = (size_t) number;
                break;
            case OPT_KEEP_DAYS:
                if (s_parse_days (optarg, &config.retention.keep_days) != 0)
                    return s_bad ("--keep-days", optarg, "days, 0 (forever) to 36500");
                break;
            case OPT_KEEP_BUILDS_DAYS:
                if (s_parse_days (optarg, &config.retention.keep_builds_days) != 0)
                    return s_bad ("--keep-builds-days", optarg, "days, 0 (forever) to 36500");
                break;
            case OPT_CURVE_SECRET: config.curve_secret = optarg; break;
            case OPT_CLIENTS: config.clients = optarg; break;
            case OPT_INSECURE: insecure = true; break;
            case OPT_HELP: s_usage (stdout); return 0;
            case OPT_VERSION:
                printf ("satcheld %s\nsystemd notification (sd_notify): %s\n", SATCHEL_VERSION,
                        notify_available () ? "built in" : "not built in (no libsystemd)");
                return 0;
            default:
                fprintf (stderr, "satcheld: unknown option '%s'\n"
                                 "Try 'satcheld --help' for more information.\n",
                         argv[optind - 1]);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "satcheld: unexpected argument '%s'\n"
                         "Try 'satcheld --help' for more information.\n", argv[optind]);
        return 2;
    }
    if (s_check_security (&config, insecure) != 0)
        return 2;
    log_setup (level, "");
    if (insecure && !endpoint_is_loopback (config.bind))
        log_warn ("insecure endpoint=%s reason=\"--insecure without --curve-secret: requests "
                  "travel in plain text and any host that reaches this endpoint can join builds, "
                  "read test names and write timing history\"", log_quote (config.bind));
    if (server_block_signals () != 0) {
        log_error ("signal_setup_failed");
        return 1;
    }
    char *db_path = db ? util_strdup (db) : s_default_db ();
    char *folder = util_strdup (db_path);
    if (util_mkdir_p (dirname (folder)) != 0) {
        log_error ("db_folder_failed path=%s error=%s", log_quote (db_path),
                   log_quote (strerror (errno)));
        free (folder);
        free (db_path);
        return 1;
    }
    free (folder);
    config.db_path = db_path;
    store_init_process ();
    server_t *server = server_new (&config);
    int rc = 1;
    if (server) {
        rc = server_run (server) == 0 ? 0 : 1;
        server_destroy (&server);
    }
    free (db_path);
    //  czmq tears its context down at exit; make that quick.
    zsys_shutdown ();
    return rc;
}
