/*  history_command.c: see history_command.h.                             */
#include "history_command.h"

#include "admin_client.h"
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
#include <time.h>

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel tests --suite NAME (--slowest N | --flaky | --trend UNIT) [OPTIONS]\n"
           "       satchel export --suite NAME [--format json|csv] [--since DATE] [OPTIONS]\n"
           "\n"
           "tests: a suite's slowest tests by their smoothed estimate (--slowest N), the\n"
           "tests that both passed and failed on one commit (--flaky), or one test's\n"
           "latest runs (--trend UNIT).\n"
           "export: every sample of the suite's history (test, time, result, when, build,\n"
           "commit), oldest first, as one JSON object or CSV, fetched a page at a time.\n"
           "Admin requests: with CurveZMQ on, the key must be marked admin.\n"
           "\n"
           "Options:\n"
           "  --suite NAME          the suite (SATCHEL_SUITE)\n"
           "  --slowest N           tests: the N slowest (1 to 1000)\n"
           "  --flaky               tests: the flaky ones\n"
           "  --trend UNIT          tests: UNIT's latest runs\n"
           "  --limit N             tests --flaky, --trend: at most N rows (default 20)\n"
           "  --json                tests: satcheld's JSON instead of a table\n"
           "  --format FORMAT       export: json (default) or csv\n"
           "  --since DATE          export: samples from DATE on (YYYY-MM-DD, or\n"
           "                        YYYY-MM-DDTHH:MM:SSZ; UTC)\n"
           "  --output FILE         export: write FILE instead of standard output\n"
           "  --coordinator URL     satcheld endpoint (SATCHEL_COORDINATOR,\n"
           "                        default tcp://127.0.0.1:7450)\n"
           "  --server-key FILE     satcheld's public certificate, for CurveZMQ\n"
           "                        (SATCHEL_SERVER_KEY); needs --client-cert\n"
           "  --client-cert FILE    an admin key's secret certificate\n"
           "                        (SATCHEL_CLIENT_CERT)\n"
           "  --timeout SECONDS     per try (default 5; two more tries follow)\n"
           "  --help\n", out);
}

//  Epoch ms as "2026-11-22T10:33:04Z".
static const char *
s_when (double ms, char *text, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&seconds, &tm);
    strftime (text, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

//  "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) as epoch ms. Returns 0 or -1.
static int
s_parse_date (const char *text, int64_t *ms)
{
    struct tm tm = { 0 };
    const char *end = strptime (text, "%Y-%m-%d", &tm);
    if (end && *end == 'T')
        end = strptime (end, "T%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    time_t seconds = timegm (&tm);
    if (seconds < 0)
        return -1;
    *ms = (int64_t) seconds * 1000;
    return 0;
}

static bool
s_ok (const json_t *object)
{
    bool ok = false;
    json_bool (json_get (object, "ok"), &ok);
    return ok;
}

//  One query to satcheld; returns its JSON parsed (caller destroys), or
//  NULL after saying why.
static json_t *
s_query (client_t *client, const admin_target_t *target, proto_msg_t *request)
{
    proto_msg_t *reply = NULL;
    if (admin_client_call (client, target, request, PROTO_QUERY_RESULT, &reply) != 0)
        return NULL;
    char why[256];
    json_t *doc = json_parse ((const char *) reply->data, reply->data_size, 8, why, sizeof why);
    if (!doc)
        log_say ("error: satcheld's report is not JSON: %s", why);
    proto_msg_destroy (&reply);
    return doc;
}

static void
s_print_tests (const char *what, const json_t *doc)
{
    char when[32];
    if (strcmp (what, "slowest") == 0) {
        const json_t *units = json_get (doc, "units");
        printf ("suite %s: the %zu slowest tests by their estimate\n", json_get_text (doc, "suite"),
                json_count (units));
        printf ("%10s %8s  %-20s  %s\n", "ESTIMATE", "SAMPLES", "UPDATED", "TEST");
        for (size_t i = 0; i < json_count (units); i++) {
            const json_t *u = json_at (units, i);
            printf ("%9.1fs %8.0f  %-20s  %s\n", json_get_number (u, "estimate_ms") / 1000,
                    json_get_number (u, "samples"),
                    s_when (json_get_number (u, "updated_ms"), when, sizeof when),
                    json_get_text (u, "unit"));
        }
    }
    else if (strcmp (what, "flaky") == 0) {
        const json_t *flaky = json_get (doc, "flaky");
        printf ("suite %s: %zu tests that passed and failed on the same commit\n",
                json_get_text (doc, "suite"), json_count (flaky));
        if (json_count (flaky) > 0)
            printf ("%7s %7s  %-12s  %-20s  %s\n", "PASSED", "FAILED", "COMMIT", "LAST SEEN",
                    "TEST");
        for (size_t i = 0; i < json_count (flaky); i++) {
            const json_t *f = json_at (flaky, i);
            printf ("%7.0f %7.0f  %-12.12s  %-20s  %s\n", json_get_number (f, "passed"),
                    json_get_number (f, "failed"), json_get_text (f, "commit"),
                    s_when (json_get_number (f, "last_ms"), when, sizeof when),
                    json_get_text (f, "unit"));
        }
    }
    else {
        const json_t *runs = json_get (doc, "runs");
        double estimate = 0;
        printf ("suite %s, test %s: ", json_get_text (doc, "suite"), json_get_text (doc, "unit"));
        if (json_number (json_get (doc, "estimate_ms"), &estimate) == 0)
            printf ("estimate %.1fs; ", estimate / 1000);
        printf ("its latest %zu runs\n", json_count (runs));
        if (json_count (runs) > 0)
            printf ("%-20s %9s  %-6s  %-20s  %s\n", "WHEN", "TIME", "RESULT", "BUILD", "COMMIT");
        for (size_t i = 0; i < json_count (runs); i++) {
            const json_t *r = json_at (runs, i);
            const char *build = json_string (json_get (r, "build"));
            const char *commit = json_string (json_get (r, "commit"));
            printf ("%-20s %8.1fs  %-6s  %-20.20s  %s\n",
                    s_when (json_get_number (r, "at_ms"), when, sizeof when),
                    json_get_number (r, "duration_ms") / 1000, s_ok (r) ? "passed" : "failed",
                    build ? build : "-", commit ? commit : "-");
        }
    }
}

//  A CSV field: quoted when it holds a comma, a quote or a line break.
static void
s_csv (FILE *out, const char *text)
{
    if (!strpbrk (text, ",\"\r\n")) {
        fputs (text, out);
        return;
    }
    fputc ('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc ('"', out);
        fputc (*c, out);
    }
    fputc ('"', out);
}

//  Write one page's samples to out. Returns how many.
static size_t
s_write_page (FILE *out, const json_t *samples, bool csv, size_t written)
{
    char when[32];
    for (size_t i = 0; i < json_count (samples); i++) {
        const json_t *s = json_at (samples, i);
        const char *build = json_string (json_get (s, "build"));
        const char *commit = json_string (json_get (s, "commit"));
        if (csv) {
            fprintf (out, "%.0f,", json_get_number (s, "id"));
            s_csv (out, json_get_text (s, "unit"));
            fprintf (out, ",%.3f,%s,%s,", json_get_number (s, "duration_ms"),
                     s_ok (s) ? "true" : "false",
                     s_when (json_get_number (s, "at_ms"), when, sizeof when));
            s_csv (out, build ? build : "");
            fputc (',', out);
            s_csv (out, commit ? commit : "");
            fputc ('\n', out);
            continue;
        }
        fprintf (out, "%s\n    {\"id\": %.0f, \"unit\": ", written + i ? "," : "",
                 json_get_number (s, "id"));
        json_print_string (out, json_get_text (s, "unit"));
        fprintf (out, ", \"duration_ms\": %.3f, \"ok\": %s, \"at_ms\": %.0f, \"at\": \"%s\","
                 " \"build\": ", json_get_number (s, "duration_ms"), s_ok (s) ? "true" : "false",
                 json_get_number (s, "at_ms"),
                 s_when (json_get_number (s, "at_ms"), when, sizeof when));
        if (build)
            json_print_string (out, build);
        else
            fputs ("null", out);
        fputs (", \"commit\": ", out);
        if (commit)
            json_print_string (out, commit);
        else
            fputs ("null", out);
        fputc ('}', out);
    }
    return json_count (samples);
}

static int
s_export (client_t *client, const admin_target_t *target, const char *suite, bool csv,
          int64_t since_ms, const char *output)
{
    FILE *out = output ? fopen (output, "w") : stdout;
    if (!out) {
        log_say ("error: cannot write %s: %s", output, strerror (errno));
        return 1;
    }
    if (csv)
        fputs ("id,unit,duration_ms,ok,at,build,commit\n", out);
    else {
        fputs ("{\"suite\": ", out);
        json_print_string (out, suite);
        fputs (", \"samples\": [", out);
    }
    size_t written = 0;
    double after = 0;
    int rc = 0;
    uint64_t req = 0;
    while (true) {
        proto_msg_t *request = proto_msg_new (PROTO_QUERY);
        proto_msg_set_str (&request->attempt, "export");
        request->req = ++req;
        proto_msg_set_str (&request->what, "export");
        proto_msg_set_str (&request->suite, suite);
        request->since_ms = (uint64_t) since_ms;
        request->after = (uint64_t) after;
        json_t *page = s_query (client, target, request);
        proto_msg_destroy (&request);
        if (!page) {
            rc = 1;
            break;
        }
        written += s_write_page (out, json_get (page, "samples"), csv, written);
        bool more = json_number (json_get (page, "next"), &after) == 0;
        json_destroy (&page);
        if (!more)
            break;
    }
    if (!csv && rc == 0)
        fputs ("\n]}\n", out);
    if (output && fclose (out) != 0 && rc == 0) {
        log_say ("error: cannot write %s: %s", output, strerror (errno));
        rc = 1;
    }
    if (rc == 0 && output)
        log_say ("exported %zu samples of suite %s to %s", written, suite, output);
    return rc;
}

int
history_command_main (int argc, char **argv)
{
    enum {
        OPT_SUITE = ADMIN_OPT_OWN, OPT_SLOWEST, OPT_FLAKY, OPT_TREND, OPT_LIMIT, OPT_JSON,
        OPT_FORMAT, OPT_SINCE, OPT_OUTPUT, OPT_HELP
    };
    static const struct option table[] = {
        ADMIN_TARGET_OPTIONS,
        { "suite", required_argument, NULL, OPT_SUITE },
        { "slowest", required_argument, NULL, OPT_SLOWEST },
        { "flaky", no_argument, NULL, OPT_FLAKY },
        { "trend", required_argument, NULL, OPT_TREND },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "json", no_argument, NULL, OPT_JSON },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "since", required_argument, NULL, OPT_SINCE },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    bool export = strcmp (argv[0], "export") == 0;
    const char *command = export ? "satchel export" : "satchel tests";
    admin_target_t target;
    admin_target_init (&target);
    const char *suite = getenv ("SATCHEL_SUITE");
    const char *what = NULL, *unit = NULL, *output = NULL;
    uint64_t limit = 0;
    bool as_json = false, csv = false, tests_only = false;
    int64_t since_ms = 0;
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
            case OPT_SUITE: suite = optarg; break;
            case OPT_SLOWEST:
            case OPT_FLAKY:
            case OPT_TREND:
                if (what) {
                    fprintf (stderr, "%s: give one of --slowest, --flaky and --trend\n", command);
                    return 2;
                }
                what = opt == OPT_SLOWEST ? "slowest" : opt == OPT_FLAKY ? "flaky" : "trend";
                if (opt == OPT_TREND)
                    unit = optarg;
                if (opt == OPT_SLOWEST
                &&  util_parse_u64 (optarg, 1, PROTO_QUERY_LIMIT_MAX, &limit) != 0) {
                    fprintf (stderr, "%s: --slowest must be 1 to %d\n", command,
                             PROTO_QUERY_LIMIT_MAX);
                    return 2;
                }
                tests_only = true;
                break;
            case OPT_LIMIT:
                if (util_parse_u64 (optarg, 1, PROTO_QUERY_LIMIT_MAX, &limit) != 0) {
                    fprintf (stderr, "%s: --limit must be 1 to %d\n", command,
                             PROTO_QUERY_LIMIT_MAX);
                    return 2;
                }
                tests_only = true;
                break;
            case OPT_JSON: as_json = true; tests_only = true; break;
            case OPT_FORMAT:
                if (strcmp (optarg, "csv") != 0 && strcmp (optarg, "json") != 0) {
                    fprintf (stderr, "%s: --format is json or csv\n", command);
                    return 2;
                }
                csv = strcmp (optarg, "csv") == 0;
                break;
            case OPT_SINCE:
                if (s_parse_date (optarg, &since_ms) != 0) {
                    fprintf (stderr, "%s: --since takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
                             "not '%s'\n", command, optarg);
                    return 2;
                }
                break;
            case OPT_OUTPUT: output = optarg; break;
            case OPT_HELP:
                s_usage (stdout);
                return 0;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s' (try --help)\n", command, argv[optind]);
        return 2;
    }
    if (!suite || !*suite) {
        fprintf (stderr, "%s: --suite is required (or set SATCHEL_SUITE)\n", command);
        return 2;
    }
    if (!export && !what) {
        fprintf (stderr, "%s: give one of --slowest N, --flaky and --trend UNIT\n", command);
        return 2;
    }
    if (export && tests_only) {
        fprintf (stderr, "%s: --slowest, --flaky, --trend, --limit and --json are for "
                 "satchel tests\n", command);
        return 2;
    }
    if (admin_target_check (&target, command) != 0)
        return 2;
    client_t *client = admin_client_new (&target);
    if (!client)
        return 1;
    int rc = 1;
    if (export)
        rc = s_export (client, &target, suite, csv, since_ms, output);
    else {
        proto_msg_t *request = proto_msg_new (PROTO_QUERY);
        proto_msg_set_str (&request->attempt, "tests");
        request->req = 1;
        proto_msg_set_str (&request->what, what);
        proto_msg_set_str (&request->suite, suite);
        proto_msg_set_str (&request->unit, unit);
        request->limit = limit;
        proto_msg_t *reply = NULL;
        if (admin_client_call (client, &target, request, PROTO_QUERY_RESULT, &reply) == 0) {
            char why[256];
            json_t *doc = json_parse ((const char *) reply->data, reply->data_size, 8, why,
                                      sizeof why);
            if (!doc)
                log_say ("error: satcheld's report is not JSON: %s", why);
            else {
                if (as_json)
                    printf ("%s\n", (const char *) reply->data);
                else
                    s_print_tests (what, doc);
                rc = 0;
            }
            json_destroy (&doc);
        }
        proto_msg_destroy (&reply);
        proto_msg_destroy (&request);
    }
    client_destroy (&client);
    return rc;
}
