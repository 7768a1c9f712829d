/*  report_command.c: see report_command.h.                               */
#include "report_command.h"

#include "admin_client.h"
#include "html_report.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel builds [--suite NAME] [--limit N] [OPTIONS]\n"
           "       satchel build ID [OPTIONS]\n"
           "       satchel report --build ID [--output FILE.html] [OPTIONS]\n"
           "\n"
           "builds: the recent builds, newest first, with their mode, nodes, units,\n"
           "makespan, lower bound and the ratio of the two, and result.\n"
           "build ID: one build (ID as builds shows it), node by node: units, busy and\n"
           "idle time, when it finished, its batches, replayed, retried and expired ones,\n"
           "and the nodes that fell back to splitting by name (as their agents said);\n"
           "the bottleneck (the node that finished last) marked; the units that failed.\n"
           "report: the same build as one self-contained HTML page, with a timeline of\n"
           "every node's batches (inline SVG; no scripts, fonts or styles from elsewhere,\n"
           "so it opens from a file:// URL offline).\n"
           "The lower bound is max(busy time / nodes, longest unit): what no split of\n"
           "these runs could beat. Admin requests: with CurveZMQ on, the key must be\n"
           "marked admin.\n"
           "\n"
           "Options:\n"
           "  --suite NAME          builds: only this suite's\n"
           "  --limit N             builds: at most N (default 20, at most 1000)\n"
           "  --json                satcheld's JSON instead of a table\n"
           "  --build ID            report: the build\n"
           "  --output FILE         report: write FILE (default: standard output)\n"
           "  --coordinator URL     satcheld endpoint (SATCHEL_COORDINATOR,\n"
           "                        default tcp://127.0.0.1:7450)\n"
           "  --server-key FILE     satcheld's public certificate, for CurveZMQ\n"
           "                        (SATCHEL_SERVER_KEY); needs --client-cert\n"
           "  --client-cert FILE    an admin key's secret certificate\n"
           "                        (SATCHEL_CLIENT_CERT)\n"
           "  --timeout SECONDS     per try (default 5; two more tries follow)\n"
           "  --help\n", out);
}

//  Seconds of a field in ms, or "-" when it is null.
static const char *
s_secs (const json_t *object, const char *key, char *text, size_t size)
{
    double ms = 0;
    if (json_number (json_get (object, key), &ms) != 0)
        return "-";
    snprintf (text, size, "%.1fs", ms / 1000.0);
    return text;
}

static void
s_print_builds (const json_t *doc)
{
    const json_t *builds = json_get (doc, "builds");
    size_t count = json_count (builds);
    if (count == 0) {
        printf ("no builds\n");
        return;
    }
    printf ("%6s  %-16s %-20s %-8s %5s %7s %10s %10s %6s  %s\n", "ID", "SUITE", "BUILD", "MODE",
            "NODES", "UNITS", "MAKESPAN", "BOUND", "RATIO", "RESULT");
    for (size_t i = 0; i < count; i++) {
        const json_t *b = json_at (builds, i);
        char makespan[32], bound[32], ratio[32] = "-";
        double r = 0;
        if (json_number (json_get (b, "ratio"), &r) == 0)
            snprintf (ratio, sizeof ratio, "%.2f", r);
        const char *result = json_get_text (b, "result");
        printf ("%6.0f  %-16.16s %-20.20s %-8s %5.0f %7.0f %10s %10s %6s  %s\n",
                json_get_number (b, "id"), json_get_text (b, "suite"), json_get_text (b, "build"),
                json_get_text (b, "mode"),
                json_get_number (b, "nodes"), json_get_number (b, "units"),
                s_secs (b, "makespan_ms", makespan, sizeof makespan),
                s_secs (b, "lower_bound_ms", bound, sizeof bound), ratio,
                *result ? result : "running");
    }
}

static void
s_print_build (const json_t *doc)
{
    const json_t *b = json_get (doc, "build");
    const char *result = json_get_text (b, "result");
    char makespan[32], bound[32];
    printf ("build %.0f: suite %s, build %s, %s mode, %.0f nodes, %.0f units: %s\n",
            json_get_number (b, "id"), json_get_text (b, "suite"), json_get_text (b, "build"),
            json_get_text (b, "mode"), json_get_number (b, "nodes"), json_get_number (b, "units"),
            *result ? result : "running");
    double ratio = 0;
    printf ("makespan %s, lower bound %s", s_secs (b, "makespan_ms", makespan, sizeof makespan),
            s_secs (b, "lower_bound_ms", bound, sizeof bound));
    if (json_number (json_get (b, "ratio"), &ratio) == 0)
        printf (" (ratio %.2f)", ratio);
    printf ("\n\n%5s %6s %9s %9s %9s %8s %9s %8s %8s\n", "NODE", "UNITS", "BUSY", "IDLE",
            "FINISH", "BATCHES", "REPLAYED", "RETRIED", "EXPIRED");
    const json_t *nodes = json_get (doc, "nodes");
    for (size_t i = 0; i < json_count (nodes); i++) {
        const json_t *n = json_at (nodes, i);
        char busy[32], idle[32], finish[32];
        bool bottleneck = false;
        json_bool (json_get (n, "bottleneck"), &bottleneck);
        printf ("%5.0f %6.0f %9s %9s %9s %8.0f %9.0f %8.0f %8.0f%s\n", json_get_number (n, "node"),
                json_get_number (n, "units"), s_secs (n, "busy_ms", busy, sizeof busy),
                s_secs (n, "idle_ms", idle, sizeof idle),
                s_secs (n, "finish_ms", finish, sizeof finish), json_get_number (n, "batches"),
                json_get_number (n, "replayed"), json_get_number (n, "retried"),
                json_get_number (n, "expired"), bottleneck ? "  <- bottleneck" : "");
    }
    //  Nodes that ran their share split by name instead, as they said.
    const json_t *fallbacks = json_get (doc, "fallbacks");
    for (size_t i = 0; i < json_count (fallbacks); i++) {
        const json_t *f = json_at (fallbacks, i);
        printf ("node %.0f fell back: ran %.0f units split by name, outside the queue\n",
                json_get_number (f, "node"), json_get_number (f, "units"));
    }
    const json_t *failed = json_get (doc, "failed");
    double failed_count = json_get_number (doc, "failed_count");
    if (failed_count == 0) {
        printf ("\nno unit failed\n");
        return;
    }
    printf ("\nfailed units (%.0f):\n", failed_count);
    for (size_t i = 0; i < json_count (failed); i++)
        printf ("  %s\n", json_string (json_at (failed, i)));
    if ((double) json_count (failed) < failed_count)
        printf ("  ... and %.0f more\n", failed_count - (double) json_count (failed));
}

//  The page for doc into path (through path.partial and a rename), or to
//  standard output. Returns 0, or 1 after saying why.
static int
s_write_html (const json_t *doc, const char *path)
{
    if (!path)
        return html_report_write (stdout, doc) == 0 ? 0 : 1;
    char *partial = util_format ("%s.partial", path);
    FILE *out = fopen (partial, "w");
    int rc = 1;
    if (!out)
        log_say ("error: cannot write %s: %s", partial, strerror (errno));
    else if (html_report_write (out, doc) != 0 || fclose (out) != 0) {
        log_say ("error: cannot write %s: %s", partial, strerror (errno ? errno : EIO));
        unlink (partial);
    }
    else if (rename (partial, path) != 0)
        log_say ("error: cannot rename %s to %s: %s", partial, path, strerror (errno));
    else {
        log_say ("report written to %s", path);
        rc = 0;
    }
    free (partial);
    return rc;
}

int
report_command_main (int argc, char **argv)
{
    enum { OPT_JSON = ADMIN_OPT_OWN, OPT_SUITE, OPT_LIMIT, OPT_BUILD, OPT_OUTPUT, OPT_HELP };
    static const struct option table[] = {
        ADMIN_TARGET_OPTIONS,
        { "json", no_argument, NULL, OPT_JSON },
        { "suite", required_argument, NULL, OPT_SUITE },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "build", required_argument, NULL, OPT_BUILD },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    bool list = strcmp (argv[0], "builds") == 0;
    bool html = strcmp (argv[0], "report") == 0;
    const char *command = list ? "satchel builds" : html ? "satchel report" : "satchel build";
    const char *build_arg = NULL, *output = NULL;
    admin_target_t target;
    admin_target_init (&target);
    bool as_json = false;
    const char *suite = NULL;
    uint64_t limit = 0;
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    while ((opt = util_getopt (argc, argv, ":", table, &bad)) != -1) {
        int taken = admin_target_option (&target, opt, optarg, command, bad);
        if (taken == 2)
            return 2;
        if (taken == 1)
            continue;
        switch (opt) {
            case OPT_JSON: as_json = true; break;
            case OPT_SUITE: suite = optarg; break;
            case OPT_LIMIT:
                if (util_parse_u64 (optarg, 1, PROTO_QUERY_LIMIT_MAX, &limit) != 0) {
                    fprintf (stderr, "%s: --limit must be 1 to %d\n", command,
                             PROTO_QUERY_LIMIT_MAX);
                    return 2;
                }
                break;
            case OPT_BUILD: build_arg = optarg; break;
            case OPT_OUTPUT: output = optarg; break;
            case OPT_HELP:
                s_usage (stdout);
                return 0;
        }
    }
    uint64_t build_id = 0;
    if (html) {
        if (optind < argc || !build_arg || as_json || suite || limit
        ||  util_parse_u64 (build_arg, 1, PROTO_REQ_MAX, &build_id) != 0) {
            fprintf (stderr, "%s: give --build ID (a number satchel builds shows) and "
                     "--output FILE.html, nothing else\n", command);
            return 2;
        }
    }
    else if (build_arg || output) {
        fprintf (stderr, "%s: --build and --output are for satchel report\n", command);
        return 2;
    }
    if (list && optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s' (try --help)\n", command, argv[optind]);
        return 2;
    }
    if (!list && !html && (optind + 1 != argc
                           || util_parse_u64 (argv[optind], 1, PROTO_REQ_MAX, &build_id) != 0)) {
        fprintf (stderr, "%s: name one build by its ID, a number satchel builds shows\n",
                 command);
        return 2;
    }
    if (!list && (suite || limit)) {
        fprintf (stderr, "%s: --suite and --limit are for satchel builds\n", command);
        return 2;
    }
    if (admin_target_check (&target, command) != 0)
        return 2;
    client_t *client = admin_client_new (&target);
    if (!client)
        return 1;
    proto_msg_t *request = proto_msg_new (PROTO_QUERY);
    proto_msg_set_str (&request->attempt, "query");
    request->req = 1;
    proto_msg_set_str (&request->what, list ? "builds" : "build");
    proto_msg_set_str (&request->suite, suite);
    request->limit = limit;
    request->build_id = build_id;
    proto_msg_t *reply = NULL;
    int rc = admin_client_call (client, &target, request, PROTO_QUERY_RESULT, &reply);
    if (rc == 0) {
        const char *text = (const char *) reply->data;
        char why[256];
        json_t *doc = json_parse (text, reply->data_size, 8, why, sizeof why);
        if (!doc) {
            log_say ("error: satcheld's report is not JSON: %s", why);
            rc = 1;
        }
        else if (html)
            rc = s_write_html (doc, output);
        else if (as_json)
            printf ("%s\n", text);
        else if (list)
            s_print_builds (doc);
        else
            s_print_build (doc);
        json_destroy (&doc);
    }
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);
    client_destroy (&client);
    return rc;
}
