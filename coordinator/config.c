/*  config.c: see config.h.                                               */
#include "config.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Store value in the setting an option names. Returns 0, or -1 if the
//  value is not one the option takes (the table says what it takes).
typedef int (s_apply_fn) (config_t *self, const char *value);

typedef struct {
    const char *name;            //  long flag without "--", and key in the file
    bool takes_value;            //  false: a switch
    bool live;                   //  a reload (SIGHUP) applies it without a restart
    s_apply_fn *apply;           //  checks and stores a value
    const char *expect;          //  what a good value is, for messages
} s_option_t;

static int
s_seconds (const char *value, int64_t min_ms, int64_t max_ms, int64_t *ms)
{
    return util_parse_seconds_ms (value, min_ms, max_ms, ms);
}

//  A number with fractions in [min, max].
static int
s_real (const char *value, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double number = strtod (value, &end);
    if (errno != 0 || end == value || *end != 0 || !(number >= min && number <= max))
        return -1;
    *out = number;
    return 0;
}

static int
s_u64 (const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    return util_parse_u64 (value, min, max, out);
}

static int s_bind (config_t *c, const char *v) { c->server.bind = v; return 0; }
static int s_db (config_t *c, const char *v) { c->db = v; return 0; }
static int s_ready (config_t *c, const char *v) { c->server.ready_file = v; return 0; }
static int s_curve_secret (config_t *c, const char *v) { c->server.curve_secret = v; return 0; }
static int s_clients (config_t *c, const char *v) { c->server.clients = v; return 0; }

static int
s_log_level (config_t *c, const char *v)
{
    return log_level_parse (v, &c->log_level);
}

//  A switch: on the command line its value is "true"; in the file, any of
//  the words config.h names.
static int
s_insecure (config_t *c, const char *v)
{
    const char *yes[] = { "true", "yes", "on", "1" };
    const char *no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp (v, yes[i]) == 0) {
            c->insecure = true;
            return 0;
        }
        if (strcmp (v, no[i]) == 0) {
            c->insecure = false;
            return 0;
        }
    }
    return -1;
}

static int
s_runner_startup (config_t *c, const char *v)
{
    int64_t ms = 0;
    if (s_seconds (v, 0, 3600 * 1000, &ms) != 0)
        return -1;
    c->server.requests.policy.startup_ms = (double) ms;
    c->server.requests.startup_given = true;
    return 0;
}

static int
s_batch_factor (config_t *c, const char *v)
{
    return s_real (v, 1, 100, &c->server.requests.policy.factor);
}

static int
s_default_estimate (config_t *c, const char *v)
{
    int64_t ms = 0;
    if (s_seconds (v, 1, 24 * 3600 * 1000, &ms) != 0)
        return -1;
    c->server.requests.policy.default_ms = (double) ms;
    return 0;
}

static int
s_max_batch_units (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 1, 100000, &n) != 0)
        return -1;
    c->server.requests.policy.max_batch_units = (size_t) n;
    return 0;
}

static int
s_lease (config_t *c, const char *v)
{
    return s_seconds (v, 300, 24 * 3600 * 1000, &c->server.requests.leases.lease_ms);
}

static int
s_lease_max (config_t *c, const char *v)
{
    return s_seconds (v, 1000, 7 * 24 * 3600 * 1000LL, &c->server.requests.leases.lease_max_ms);
}

static int
s_requeue_failed (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 0, 10, &n) != 0)
        return -1;
    c->server.requests.retry.requeue_failed = (uint32_t) n;
    return 0;
}

static int
s_requeue_budget (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 0, 1000000, &n) != 0)
        return -1;
    c->server.requests.retry.requeue_budget = (uint32_t) n;
    return 0;
}

static int
s_max_message (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 4096, 1024u * 1024 * 1024, &n) != 0)
        return -1;
    c->server.requests.limits.max_frame = (size_t) n;
    return 0;
}

static int
s_max_units (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 1, 10000000, &n) != 0)
        return -1;
    c->server.requests.limits.max_units = (size_t) n;
    return 0;
}

static int
s_max_name (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 16, 65536, &n) != 0)
        return -1;
    c->server.requests.limits.max_name = (size_t) n;
    return 0;
}

static int
s_max_nodes (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 1, 100000, &n) != 0)
        return -1;
    c->server.requests.limits.max_nodes = (uint32_t) n;
    return 0;
}

static int
s_max_rate (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 0, 1000000, &n) != 0)
        return -1;
    c->server.max_rate = (double) n;
    return 0;
}

static int
s_max_builds (config_t *c, const char *v)
{
    uint64_t n = 0;
    if (s_u64 (v, 1, 1000000, &n) != 0)
        return -1;
    c->server.requests.max_builds = (size_t) n;
    return 0;
}

static int
s_keep_days (config_t *c, const char *v)
{
    return s_real (v, 0, 36500, &c->server.retention.keep_days);
}

static int
s_keep_builds_days (config_t *c, const char *v)
{
    return s_real (v, 0, 36500, &c->server.retention.keep_builds_days);
}

static int
s_metrics_file (config_t *c, const char *v)
{
    c->server.metrics_file = v;
    return 0;
}

static int
s_metrics_interval (config_t *c, const char *v)
{
    return s_seconds (v, 100, 3600 * 1000, &c->server.metrics_interval_ms);
}

//  Every option; satcheld --help describes them in this order.
static const s_option_t s_options[] = {
    { "bind", true, false, s_bind, "a ZeroMQ endpoint" },
    { "db", true, false, s_db, "a file path" },
    { "log-level", true, true, s_log_level, "error, warn, info or debug" },
    { "ready-file", true, false, s_ready, "a file path" },
    { "runner-startup", true, true, s_runner_startup, "seconds, 0 to 3600" },
    { "batch-factor", true, true, s_batch_factor, "a number from 1 to 100" },
    { "max-batch-units", true, true, s_max_batch_units, "1 to 100000" },
    { "default-estimate", true, true, s_default_estimate, "seconds, 0.001 to 86400" },
    { "lease", true, true, s_lease, "seconds, 0.3 to 86400" },
    { "lease-max", true, true, s_lease_max, "seconds, 1 to 604800" },
    { "requeue-failed", true, true, s_requeue_failed, "0 to 10" },
    { "requeue-budget", true, true, s_requeue_budget, "0 to 1000000" },
    { "max-message", true, true, s_max_message, "bytes, 4096 to 1 GiB" },
    { "max-units", true, true, s_max_units, "1 to 10000000" },
    { "max-name", true, true, s_max_name, "bytes, 16 to 65536" },
    { "max-nodes", true, true, s_max_nodes, "1 to 100000" },
    { "max-rate", true, true, s_max_rate, "0 (no limit) to 1000000" },
    { "max-builds", true, true, s_max_builds, "1 to 1000000" },
    { "keep-days", true, true, s_keep_days, "days, 0 (forever) to 36500" },
    { "keep-builds-days", true, true, s_keep_builds_days, "days, 0 (forever) to 36500" },
    { "metrics-file", true, true, s_metrics_file, "a file path" },
    { "metrics-interval", true, true, s_metrics_interval, "seconds, 0.1 to 3600" },
    { "curve-secret", true, false, s_curve_secret, "a file path" },
    { "clients", true, false, s_clients, "a folder path" },
    { "insecure", false, false, s_insecure, "true or false" },
};
#define S_OPTION_COUNT (sizeof s_options / sizeof s_options[0])

//  Options of the command line only, after the table's in getopt's list.
enum { S_CONFIG = S_OPTION_COUNT, S_CHECK, S_HELP, S_VERSION, S_CLI_END };

static const s_option_t *
s_find (const char *name)
{
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        if (strcmp (s_options[i].name, name) == 0)
            return &s_options[i];
    return NULL;
}

size_t
config_option_count (void)
{
    return S_OPTION_COUNT;
}

const char *
config_option_name (size_t index)
{
    return index < S_OPTION_COUNT ? s_options[index].name : NULL;
}

bool
config_is_live (const char *name)
{
    const s_option_t *option = s_find (name);
    return option && option->live;
}

static void __attribute__ ((format (printf, 3, 4)))
s_why (char *why, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (why, size, fmt, args);
    va_end (args);
}

static char *
s_trim (char *text)
{
    while (isspace ((unsigned char) *text))
        text++;
    size_t length = strlen (text);
    while (length > 0 && isspace ((unsigned char) text[length - 1]))
        text[--length] = 0;
    return text;
}

//  Apply the file's lines. Returns 0, or -1 with why.
static int
s_read_file (config_t *self, const char *path, char *why, size_t why_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        s_why (why, why_size, "%s: cannot read the configuration file: %s", path,
               strerror (errno));
        return -1;
    }
    int result = -1;
    unsigned first_line[S_OPTION_COUNT] = { 0 };
    char *line = NULL;
    size_t line_size = 0;
    unsigned number = 0;
    while (getline (&line, &line_size, file) >= 0) {
        number++;
        char *text = s_trim (line);
        if (*text == 0 || *text == '#')
            continue;
        char *equals = strchr (text, '=');
        if (!equals) {
            s_why (why, why_size, "%s:%u: expected 'key = value', got '%.80s'", path, number,
                   text);
            goto cleanup;
        }
        *equals = 0;
        char *key = s_trim (text);
        char *value = s_trim (equals + 1);
        size_t value_length = strlen (value);
        if (value_length >= 2 && value[0] == '"' && value[value_length - 1] == '"') {
            value[value_length - 1] = 0;
            value++;
        }
        const s_option_t *option = s_find (key);
        if (!option) {
            char dashed[64];
            snprintf (dashed, sizeof dashed, "%s", key);
            for (char *c = dashed; *c; c++)
                if (*c == '_')
                    *c = '-';
            bool near = strcmp (dashed, key) != 0 && s_find (dashed);
            bool cli_only = strcmp (key, "config") == 0 || strcmp (key, "help") == 0
                            || strcmp (key, "version") == 0 || strcmp (key, "check-config") == 0;
            s_why (why, why_size, "%s:%u: %s: %s%s%s%s", path, number, key,
                   cli_only ? "only a command-line flag, not a key of the file"
                            : "unknown key",
                   near ? "; did you mean " : "", near ? dashed : "", near ? "?" : "");
            goto cleanup;
        }
        size_t index = (size_t) (option - s_options);
        if (first_line[index]) {
            s_why (why, why_size, "%s:%u: %s: set twice (first on line %u)", path, number, key,
                   first_line[index]);
            goto cleanup;
        }
        first_line[index] = number;
        if (*value == 0 && option->takes_value) {
            s_why (why, why_size, "%s:%u: %s: no value (%s)", path, number, key, option->expect);
            goto cleanup;
        }
        self->values = util_realloc (self->values, (self->value_count + 1) * sizeof (char *));
        char *kept = util_strdup (value);
        self->values[self->value_count++] = kept;
        if (option->apply (self, kept) != 0) {
            s_why (why, why_size, "%s:%u: %s: invalid value '%.80s' (%s)", path, number, key,
                   value, option->expect);
            goto cleanup;
        }
    }
    result = 0;
cleanup:
    free (line);
    fclose (file);
    return result;
}

//  The file to read when no --config is given, or NULL if there is none.
static char *
s_default_file (void)
{
    const char *folder = getenv ("CONFIGURATION_DIRECTORY");
    char *path = NULL;
    if (folder && *folder) {
        //  It may list several folders separated by ':'.
        size_t length = strcspn (folder, ":");
        path = util_format ("%.*s/satcheld.conf", (int) length, folder);
    }
    else
        path = util_strdup (CONFIG_DEFAULT_FILE);
    if (access (path, F_OK) != 0) {
        free (path);
        return NULL;
    }
    return path;
}

config_result_t
config_load (config_t *self, int argc, char **argv, char *why, size_t why_size)
{
    memset (self, 0, sizeof *self);
    server_config_default (&self->server);
    self->log_level = LOG_LEVEL_INFO;
    *why = 0;

    struct option longs[S_CLI_END + 1];
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        longs[i] = (struct option) { s_options[i].name,
                                     s_options[i].takes_value ? required_argument : no_argument,
                                     NULL, (int) i };
    longs[S_CONFIG] = (struct option) { "config", required_argument, NULL, S_CONFIG };
    longs[S_CHECK] = (struct option) { "check-config", no_argument, NULL, S_CHECK };
    longs[S_HELP] = (struct option) { "help", no_argument, NULL, S_HELP };
    longs[S_VERSION] = (struct option) { "version", no_argument, NULL, S_VERSION };
    longs[S_CLI_END] = (struct option) { NULL, 0, NULL, 0 };

    //  First pass: which file, help, version, and every flag well-formed.
    const char *file = NULL;
    int opt;
    const char *bad = NULL;
    opterr = 0;
    optind = 0;
    while ((opt = util_getopt (argc, argv, ":", longs, &bad)) != -1) {
        if (opt == S_HELP)
            return CONFIG_HELP;
        if (opt == S_VERSION)
            return CONFIG_VERSION;
        if (opt == S_CONFIG)
            file = optarg;
        else if (opt == S_CHECK)
            self->check_only = true;
        else if (opt == ':') {
            s_why (why, why_size, "option %s needs a value", bad);
            return CONFIG_BAD;
        }
        else if (opt == '?') {
            s_why (why, why_size, "unknown option '%s'", bad);
            return CONFIG_BAD;
        }
    }
    if (optind < argc) {
        s_why (why, why_size, "unexpected argument '%s'", argv[optind]);
        return CONFIG_BAD;
    }
    //  The file, then the flags over it.
    self->file = file ? util_strdup (file) : s_default_file ();
    if (self->file && s_read_file (self, self->file, why, why_size) != 0)
        return CONFIG_BAD;
    optind = 0;
    while ((opt = util_getopt (argc, argv, ":", longs, &bad)) != -1) {
        if (opt < 0 || (size_t) opt >= S_OPTION_COUNT)
            continue;
        const s_option_t *option = &s_options[opt];
        const char *value = option->takes_value ? optarg : "true";
        if (option->apply (self, value) != 0) {
            s_why (why, why_size, "--%s: invalid value '%s' (%s)", option->name, value,
                   option->expect);
            return CONFIG_BAD;
        }
    }
    return CONFIG_OK;
}

void
config_clear (config_t *self)
{
    for (size_t i = 0; i < self->value_count; i++)
        free (self->values[i]);
    free (self->values);
    free (self->file);
    self->values = NULL;
    self->value_count = 0;
    self->file = NULL;
}
