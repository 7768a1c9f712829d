/*  status_command.c: see status_command.h.                               */
#include "status_command.h"

#include "admin_client.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel status [OPTIONS]\n"
           "\n"
           "Asks satcheld how it is: its version, how long it has run, the builds in\n"
           "flight, the agents heard from in the last minute, the requests it handled\n"
           "(and how many a second over the last minute, or its uptime if shorter),\n"
           "and its database's size.\n"
           "An admin request: with CurveZMQ on, the key must be marked admin (satchel\n"
           "keygen --admin); without CurveZMQ satcheld answers whoever asks on\n"
           "loopback, and on --insecure only from its own machine.\n"
           "\n"
           "Options:\n"
           "  --coordinator URL     satcheld endpoint (SATCHEL_COORDINATOR,\n"
           "                        default tcp://127.0.0.1:7450)\n"
           "  --server-key FILE     satcheld's public certificate, for CurveZMQ\n"
           "                        (SATCHEL_SERVER_KEY); needs --client-cert\n"
           "  --client-cert FILE    an admin key's secret certificate\n"
           "                        (SATCHEL_CLIENT_CERT)\n"
           "  --json                one JSON object: endpoint, version, uptime_s,\n"
           "                        builds_running, agents_last_minute, requests,\n"
           "                        requests_last_minute, requests_per_second, db_bytes\n"
           "  --timeout SECONDS     per try (default 5; two more tries follow)\n"
           "  --help\n"
           "\n"
           "Exit status: 0, 1 if satcheld refused or could not be reached (the\n"
           "message says why), 2 for a usage error.\n", out);
}

//  "3 d 4 h", "2 h 5 min", "7 min 3 s", "42 s".
static void
s_duration (uint64_t s, char *text, size_t size)
{
    if (s >= 86400)
        snprintf (text, size, "%llu d %llu h", (unsigned long long) (s / 86400),
                  (unsigned long long) (s % 86400 / 3600));
    else if (s >= 3600)
        snprintf (text, size, "%llu h %llu min", (unsigned long long) (s / 3600),
                  (unsigned long long) (s % 3600 / 60));
    else if (s >= 60)
        snprintf (text, size, "%llu min %llu s", (unsigned long long) (s / 60),
                  (unsigned long long) (s % 60));
    else
        snprintf (text, size, "%llu s", (unsigned long long) s);
}

static void
s_bytes (uint64_t bytes, char *text, size_t size)
{
    if (bytes >= 1024ull * 1024 * 1024)
        snprintf (text, size, "%.1f GiB", (double) bytes / (1024.0 * 1024 * 1024));
    else if (bytes >= 1024 * 1024)
        snprintf (text, size, "%.1f MiB", (double) bytes / (1024.0 * 1024));
    else if (bytes >= 1024)
        snprintf (text, size, "%.1f KiB", (double) bytes / 1024.0);
    else
        snprintf (text, size, "%llu bytes", (unsigned long long) bytes);
}

//  Requests a second over the last minute: satcheld counts them per
//  second over the last 60 s; a satcheld up for less than that has
//  counted over its uptime (at least a second) instead.
static double
s_per_second (const proto_msg_t *status)
{
    uint64_t window = status->uptime_s < 60 ? status->uptime_s : 60;
    return (double) status->requests_minute / (double) (window ? window : 1);
}

static void
s_print (const char *endpoint, const proto_msg_t *status, bool as_json)
{
    double per_second = s_per_second (status);
    if (as_json) {
        fputs ("{\"endpoint\": ", stdout);
        json_print_string (stdout, endpoint);
        fputs (", \"version\": ", stdout);
        json_print_string (stdout, status->version);
        printf (", \"uptime_s\": %llu, \"builds_running\": %llu, \"agents_last_minute\": %llu,"
                " \"requests\": %llu, \"requests_last_minute\": %llu,"
                " \"requests_per_second\": %.2f, \"db_bytes\": %llu}\n",
                (unsigned long long) status->uptime_s,
                (unsigned long long) status->builds_running,
                (unsigned long long) status->agents_seen,
                (unsigned long long) status->requests_total,
                (unsigned long long) status->requests_minute, per_second,
                (unsigned long long) status->db_bytes);
        return;
    }
    char uptime[64], db[64];
    s_duration (status->uptime_s, uptime, sizeof uptime);
    s_bytes (status->db_bytes, db, sizeof db);
    printf ("satcheld %s at %s\n", status->version, endpoint);
    printf ("  up                  %s\n", uptime);
    printf ("  builds in flight    %llu\n", (unsigned long long) status->builds_running);
    printf ("  agents, last minute %llu\n", (unsigned long long) status->agents_seen);
    printf ("  requests            %llu in all; %.2f a second over the last minute\n",
            (unsigned long long) status->requests_total, per_second);
    printf ("  database            %s\n", db);
}

int
status_command_main (int argc, char **argv)
{
    enum { OPT_JSON = ADMIN_OPT_OWN, OPT_HELP };
    static const struct option table[] = {
        ADMIN_TARGET_OPTIONS,
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    admin_target_t target;
    admin_target_init (&target);
    bool as_json = false;
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    while ((opt = util_getopt (argc, argv, ":", table, &bad)) != -1) {
        int taken = admin_target_option (&target, opt, optarg, "satchel status", bad);
        if (taken == 2)
            return 2;
        if (taken == 1)
            continue;
        if (opt == OPT_JSON)
            as_json = true;
        else if (opt == OPT_HELP) {
            s_usage (stdout);
            return 0;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "satchel status: unexpected argument '%s' (try --help)\n", argv[optind]);
        return 2;
    }
    if (admin_target_check (&target, "satchel status") != 0)
        return 2;
    client_t *client = admin_client_new (&target);
    if (!client)
        return 1;
    proto_msg_t *request = proto_msg_new (PROTO_STATUS);
    proto_msg_set_str (&request->attempt, "status");
    request->req = 1;
    proto_msg_t *reply = NULL;
    int rc = admin_client_call (client, &target, request, PROTO_DAEMON_STATUS, &reply);
    if (rc == 0)
        s_print (target.endpoint, reply, as_json);
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);
    client_destroy (&client);
    return rc;
}
