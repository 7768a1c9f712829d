/*  import_command.c: see import_command.h.                                */
#include "import_command.h"

#include "client.h"
#include "log.h"
#include "proto.h"
#include "timing_files.h"
#include "util.h"

#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel import --suite NAME [OPTIONS] FILE...\n"
           "\n"
           "Adds the times in FILE... to the suite's timing history in satcheld, so its\n"
           "next split uses them. Formats (detected, or named with --format):\n"
           "  knapsack        JSON object, test file -> seconds (knapsack, knapsack_pro)\n"
           "  pytest-split    .test_durations: JSON object or list of pairs, node id -> s\n"
           "  parallel-tests  runtime log lines \"path:seconds\" (parallel_tests)\n"
           "  junit           JUnit XML: test case times summed per file\n"
           "  dataset         {\"timings\": {id: seconds}} (satchel's shared data)\n"
           "Test-example ids (\"path::test\", \"path[1:2]\") are kept per example, and\n"
           "their file gets the sum of its examples unless the file names it itself.\n"
           "A unit named in several files keeps the last file's time. One bad file\n"
           "imports nothing. Names longer than --max-name are left out and counted.\n"
           "\n"
           "Options:\n"
           "  --suite NAME          suite to add to (SATCHEL_SUITE)\n"
           "  --coordinator URL     satcheld endpoint (SATCHEL_COORDINATOR,\n"
           "                        default tcp://127.0.0.1:7450)\n"
           "  --format FORMAT       auto (default), knapsack, pytest-split,\n"
           "                        parallel-tests, junit or dataset\n"
           "  --max-name BYTES      leave out names longer than this, as satcheld\n"
           "                        refuses them (default 4096, satcheld's --max-name)\n"
           "  --timeout SECONDS     per try (default 30)\n"
           "  --server-key FILE     satcheld's public certificate, for CurveZMQ\n"
           "                        (SATCHEL_SERVER_KEY); needs --client-cert\n"
           "  --client-cert FILE    this agent's secret certificate (SATCHEL_CLIENT_CERT);\n"
           "                        its key needs access to the suite, not admin\n"
           "  --help\n", out);
}

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

size_t
import_example_file_length (const char *name)
{
    const char *colons = strstr (name, "::");
    if (colons && colons > name)
        return (size_t) (colons - name);
    size_t length = strlen (name);
    if (length < 3 || name[length - 1] != ']')
        return 0;
    const char *open = strrchr (name, '[');
    if (!open || open == name || open + 1 == name + length - 1)
        return 0;
    for (const char *at = open + 1; at < name + length - 1; at++)
        if (!((*at >= '0' && *at <= '9') || *at == ':'))
            return 0;
    return (size_t) (open - name);
}

//  One name and its time.
typedef struct {
    char *name;                  //  (owned)
    double seconds;              //  time
    size_t seq;                  //  position in the input, for "the last file wins"
    bool derived;                //  a file's time summed from its examples
} s_entry_t;

static int
s_compare_entry (const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    int order = strcmp (x->name, y->name);
    if (order != 0)
        return order;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

//  Sort by name and keep one entry per name: the last own time, else (a
//  derived file) the sum. Returns the new count.
static size_t
s_merge (s_entry_t *entries, size_t count)
{
    qsort (entries, count, sizeof (s_entry_t), s_compare_entry);
    size_t out = 0;
    for (size_t i = 0; i < count; ) {
        size_t end = i;
        double own = -1, derived = 0;
        for (; end < count && strcmp (entries[end].name, entries[i].name) == 0; end++) {
            if (entries[end].derived)
                derived += entries[end].seconds;
            else
                own = entries[end].seconds;
        }
        s_entry_t kept = entries[i];
        kept.seconds = own >= 0 ? own : derived;
        kept.derived = own < 0;
        for (s_entry_t *dropped = entries + i + 1; dropped < entries + end; dropped++)
            free (dropped->name);
        entries[out++] = kept;
        i = end;
    }
    return out;
}

//  One entry per name, the last file's time; then each file that has
//  examples but no time of its own gets the sum of theirs. Returns the
//  count; *entries_p may move.
static size_t
s_settle (s_entry_t **entries_p, size_t count)
{
    count = s_merge (*entries_p, count);
    s_entry_t *entries = *entries_p;
    size_t extra = 0;
    for (size_t i = 0; i < count; i++)
        extra += import_example_file_length (entries[i].name) > 0;
    entries = util_realloc (entries, (count + extra + 1) * sizeof (s_entry_t));
    size_t total = count;
    for (size_t i = 0; i < count; i++) {
        size_t length = import_example_file_length (entries[i].name);
        //  Not entries[total++] = { ..., total, ... }: the increment and the
        //  read of total would be unsequenced.
        if (length > 0) {
            entries[total] = (s_entry_t) {
                util_strndup (entries[i].name, length), entries[i].seconds, total, true
            };
            total++;
        }
    }
    *entries_p = entries;
    return s_merge (entries, total);
}

static int
s_compare_str (const void *key, const void *item)
{
    return strcmp ((const char *) key, ((const s_entry_t *) item)->name);
}

//  Send the entries to satcheld. Returns the exit status.
//  CurveZMQ key files, or NULL for plain text.
typedef struct {
    const char *server_key;      //  satcheld's public certificate
    const char *client_cert;     //  this agent's secret certificate
} s_keys_t;

static int
s_send (const char *endpoint, const char *suite, int64_t timeout_ms, const s_keys_t *keys,
        s_entry_t *entries, size_t count)
{
    proto_msg_t *request = proto_msg_new (PROTO_IMPORT);
    proto_msg_set_str (&request->attempt, "import");
    request->req = 1;
    proto_msg_set_str (&request->suite, suite);
    request->units = util_calloc (count, sizeof (char *));
    request->times_ms = util_calloc (count, sizeof (uint64_t));
    request->parent = util_calloc (count, sizeof (uint32_t));
    request->unit_count = count;
    for (size_t i = 0; i < count; i++) {
        request->units[i] = util_strdup (entries[i].name);
        double ms = entries[i].seconds * 1000.0;
        request->times_ms[i] = ms < (double) PROTO_DURATION_MS_MAX
                             ? (uint64_t) llround (ms) : PROTO_DURATION_MS_MAX;
        size_t length = import_example_file_length (entries[i].name);
        if (length > 0) {
            char *file = util_strndup (entries[i].name, length);
            const s_entry_t *found = bsearch (file, entries, count, sizeof (s_entry_t),
                                              s_compare_str);
            free (file);
            //  s_settle made an entry for every example's file.
            request->parent[i] = found ? (uint32_t) (found - entries) + 1 : 0;
        }
    }
    client_config_t config = {
        .endpoint = endpoint, .timeout_ms = timeout_ms, .retries = 2, .backoff_ms = 250,
        .interrupted = NULL
    };
    client_t *client = client_new (&config);
    proto_msg_t *reply = NULL;
    char why[1024] = "";
    int rc = 1;
    bool keys_ok = !keys->server_key
                   || client_set_curve (client, keys->server_key, keys->client_cert, why,
                                        sizeof why) == 0;
    client_result_t result = keys_ok ? client_request (client, request, &reply, why, sizeof why)
                                     : CLIENT_REFUSED;
    if (result == CLIENT_REFUSED)
        log_say ("error: %s; nothing was imported", why);
    else if (result != CLIENT_OK)
        log_say ("error: cannot reach the coordinator at %s: %s; nothing was imported",
                 endpoint, why);
    else if (reply->type == PROTO_ERROR)
        log_say ("error: the coordinator refused the import: %s%s%s%s", reply->message,
                 reply->field && *reply->field ? " (field " : "",
                 reply->field && *reply->field ? reply->field : "",
                 reply->field && *reply->field ? ")" : "");
    else if (reply->type != PROTO_IMPORTED)
        log_say ("error: the coordinator answered import with %s", proto_type_name (reply->type));
    else {
        log_say ("imported %llu units into the history of suite %s",
                 (unsigned long long) reply->units_total, suite);
        rc = 0;
    }
    proto_msg_destroy (&reply);
    proto_msg_destroy (&request);
    client_destroy (&client);
    return rc;
}

int
import_command_main (int argc, char **argv)
{
    enum {
        OPT_SUITE = 256, OPT_COORDINATOR, OPT_FORMAT, OPT_MAX_NAME, OPT_TIMEOUT, OPT_SERVER_KEY,
        OPT_CLIENT_CERT, OPT_HELP
    };
    static const struct option table[] = {
        { "suite", required_argument, NULL, OPT_SUITE },
        { "coordinator", required_argument, NULL, OPT_COORDINATOR },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "max-name", required_argument, NULL, OPT_MAX_NAME },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "server-key", required_argument, NULL, OPT_SERVER_KEY },
        { "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    log_setup (LOG_LEVEL_INFO, "satchel: ");
    const char *suite = s_env ("SATCHEL_SUITE");
    const char *endpoint = s_env ("SATCHEL_COORDINATOR");
    const char *timeout = NULL;
    s_keys_t keys = { s_env ("SATCHEL_SERVER_KEY"), s_env ("SATCHEL_CLIENT_CERT") };
    timing_format_t format = TIMING_AUTO;
    size_t max_name = PROTO_DEFAULT_MAX_NAME;
    optind = 0;
    opterr = 0;
    int opt;
    const char *bad = NULL;
    while ((opt = util_getopt (argc, argv, ":", table, &bad)) != -1) {
        switch (opt) {
            case OPT_SUITE: suite = optarg; break;
            case OPT_COORDINATOR: endpoint = optarg; break;
            case OPT_TIMEOUT: timeout = optarg; break;
            case OPT_SERVER_KEY: keys.server_key = optarg; break;
            case OPT_CLIENT_CERT: keys.client_cert = optarg; break;
            case OPT_FORMAT:
                if (timing_format_parse (optarg, &format) != 0) {
                    fprintf (stderr, "satchel import: unknown format '%s' (try --help)\n",
                             optarg);
                    return 2;
                }
                break;
            case OPT_MAX_NAME: {
                char *end = NULL;
                unsigned long long value = strtoull (optarg, &end, 10);
                if (optarg[0] < '0' || optarg[0] > '9' || *end || value < 1
                    || value > TIMING_NAME_MAX) {
                    fprintf (stderr, "satchel import: --max-name must be bytes from 1 to %u\n",
                             TIMING_NAME_MAX);
                    return 2;
                }
                max_name = (size_t) value;
                break;
            }
            case OPT_HELP:
                s_usage (stdout);
                return 0;
            case ':':
                fprintf (stderr, "satchel import: option %s needs a value\n", bad);
                return 2;
            default:
                fprintf (stderr, "satchel import: unknown option '%s' (try --help)\n", bad);
                return 2;
        }
    }
    if (!suite) {
        fprintf (stderr, "satchel import: --suite is required (or set SATCHEL_SUITE)\n");
        return 2;
    }
    if (optind >= argc) {
        fprintf (stderr, "satchel import: name at least one timing file (try --help)\n");
        return 2;
    }
    if (!keys.server_key != !keys.client_cert) {
        fprintf (stderr, "satchel import: CurveZMQ needs both --server-key FILE "
                 "(SATCHEL_SERVER_KEY) and --client-cert FILE (SATCHEL_CLIENT_CERT)\n");
        return 2;
    }
    int64_t timeout_ms = 30000;
    if (timeout && util_parse_seconds_ms (timeout, 10, 3600 * 1000, &timeout_ms) != 0) {
        fprintf (stderr, "satchel import: the timeout must be seconds from 0.01 to 3600\n");
        return 2;
    }
    s_entry_t *entries = NULL;
    size_t count = 0;
    int rc = 0;
    for (int f = optind; f < argc && rc == 0; f++) {
        timing_entry_t *read = NULL;
        size_t read_count = 0;
        timing_format_t detected = TIMING_AUTO;
        char why[1024];
        if (timing_file_read (argv[f], format, &read, &read_count, &detected, why,
                              sizeof why) != 0) {
            log_say ("error: %s; nothing was imported", why);
            rc = 1;
            break;
        }
        entries = util_realloc (entries, (count + read_count + 1) * sizeof (s_entry_t));
        size_t too_long = 0;
        const char *first_too_long = NULL;
        for (size_t i = 0; i < read_count; i++) {
            //  satcheld would refuse the whole import for one such name.
            if (strlen (read[i].name) > max_name) {
                first_too_long = first_too_long ? first_too_long : read[i].name;
                too_long++;
                //  Its time still counts in its file's sum.
                size_t length = import_example_file_length (read[i].name);
                if (length > 0 && length <= max_name) {
                    entries[count] = (s_entry_t) {
                        util_strndup (read[i].name, length), read[i].seconds, count, true
                    };
                    count++;
                }
                continue;
            }
            entries[count] = (s_entry_t) { read[i].name, read[i].seconds, count, false };
            read[i].name = NULL;
            count++;
        }
        log_say ("%s: %zu entries (%s)", argv[f], read_count - too_long,
                 timing_format_name (detected));
        if (too_long > 0)
            log_say ("warning: %s: left out %zu entr%s whose name is longer than %zu bytes, "
                     "the longest unit name satcheld takes (--max-name); the first: "
                     "\"%.60s...\"", argv[f], too_long, too_long == 1 ? "y" : "ies", max_name,
                     first_too_long);
        timing_entries_free (read, read_count);
    }
    if (rc == 0 && count == 0) {
        log_say ("error: the files hold no timings; nothing was imported");
        rc = 1;
    }
    if (rc == 0) {
        count = s_settle (&entries, count);
        rc = s_send (endpoint ? endpoint : "tcp://127.0.0.1:7450", suite, timeout_ms, &keys,
                     entries, count);
    }
    for (size_t i = 0; i < count; i++)
        free (entries[i].name);
    free (entries);
    return rc;
}
