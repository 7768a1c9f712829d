/*  env_command.c: see env_command.h.                                       */
#include "env_command.h"

#include "curve_keys.h"
#include "util.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;       //  the setting
    char *value;            //  its value as shown (owned)
    const char *source;     //  where it came from (borrowed)
} s_row_t;

typedef struct {
    s_row_t rows[48];       //  in the order printed
    size_t count;           //  used
} s_table_t;

static void __attribute__ ((format (printf, 4, 5)))
s_add (s_table_t *table, const char *name, const char *source, const char *fmt, ...)
{
    //  The rows below are fixed in number (the excludes are capped).
    assert (table->count < sizeof table->rows / sizeof table->rows[0]);
    va_list args;
    va_start (args, fmt);
    char *value = util_vformat (fmt, args);
    va_end (args);
    table->rows[table->count].name = name;
    table->rows[table->count].value = value;
    table->rows[table->count].source = source ? source : "-";
    table->count++;
}

static const char *
s_yes_no (bool value)
{
    return value ? "yes" : "no";
}

//  A key file as env shows it: the path and the start of its public key,
//  or what is wrong with it, so a CI job's set-up can be checked before a
//  run fails on it.
static void
s_describe_key (const char *path, bool secret, char *out, size_t size)
{
    if (!path) {
        snprintf (out, size, "(none: plain text)");
        return;
    }
    char why[512];
    char public_txt[CURVE_KEY_TEXT + 1];
    curve_pair_t pair;
    int rc = secret ? curve_keys_read_secret (path, &pair, why, sizeof why)
                    : curve_keys_read_public (path, public_txt, NULL, NULL, why, sizeof why);
    if (rc != 0)
        snprintf (out, size, "%s (unusable: %.150s)", path, why);
    else
        snprintf (out, size, "%s (public key %.8s...)", path, secret ? pair.public_txt : public_txt);
    explicit_bzero (&pair, sizeof pair);
}

void
env_command_print (const run_options_t *options, FILE *out)
{
    static const char *levels[] = { "error", "warn", "info", "debug" };
    const run_sources_t *sources = &options->sources;
    const ci_env_t *ci = &options->ci;
    //  What to say where a run would need a value and none was given.
    char missing_index[512];
    char missing_total[512];
    snprintf (missing_index, sizeof missing_index, "run needs --node-index or "
              "SATCHEL_NODE_INDEX; %s%s%s", ci->provider ? ci->provider : "",
              ci->provider ? ": " : "", ci->hint);
    snprintf (missing_total, sizeof missing_total, "run needs --node-total or "
              "SATCHEL_NODE_TOTAL; %s%s%s", ci->provider ? ci->provider : "",
              ci->provider ? ": " : "", ci->hint);

    s_table_t table = { .count = 0 };
    s_add (&table, "coordinator", sources->coordinator, "%s", options->coordinator);
    s_add (&table, "suite", sources->suite ? sources->suite
                                           : "run needs --suite or SATCHEL_SUITE",
           "%s", options->suite ? options->suite : "(not set)");
    s_add (&table, "build id", sources->build ? sources->build
                                              : "none given: the build is named by commit, "
                                                "branch and node total",
           "%s", options->build ? options->build : "(none)");
    if (sources->node_index)
        s_add (&table, "node index", sources->node_index, "%u", options->node_index);
    else
        s_add (&table, "node index", missing_index, "%s", "(not set)");
    if (sources->node_total)
        s_add (&table, "node total", sources->node_total, "%u", options->node_total);
    else
        s_add (&table, "node total", missing_total, "%s", "(not set)");
    s_add (&table, "commit", sources->commit ? sources->commit : "default",
           "%s", options->commit ? options->commit : "(asked of git at run time)");
    s_add (&table, "branch", sources->branch ? sources->branch : "default",
           "%s", options->branch ? options->branch : "(asked of git at run time)");
    s_add (&table, "machine", sources->machine, "%s",
           options->machine ? options->machine : "(none: not sent)");
    s_add (&table, "mode", sources->mode, "%s",
           options->mode == RUN_MODE_REGULAR ? "regular" : "queue");
    s_add (&table, "reuse split", sources->reuse_split, "%s", s_yes_no (options->reuse_split));
    if (options->batch_size == 0)
        s_add (&table, "batch size", sources->batch_size, "%s", "0 (the whole list)");
    else
        s_add (&table, "batch size", sources->batch_size, "%u", options->batch_size);
    s_add (&table, "fallback", sources->fallback, "%s", s_yes_no (options->fallback));
    s_add (&table, "junit", sources->junit, "%s%s",
           options->junit ? options->junit : options->junit_in_command ? "$TMPDIR" : "(none)",
           options->junit_in_command ? " ({junit} in the command: one report per run)" : "");
    s_add (&table, "list command", sources->list_cmd ? sources->list_cmd : sources->list_preset,
           "%s", options->list_cmd ? options->list_cmd
                 : options->list_preset != LIST_PRESET_NONE
                 ? list_preset_command (options->list_preset) : "(none)");
    if (options->slow_threshold_ms > 0)
        s_add (&table, "slow threshold", sources->slow_threshold, "%.3f s",
               (double) options->slow_threshold_ms / 1000.0);
    else
        s_add (&table, "slow threshold", NULL, "%s", "70% of the ideal node time");
    s_add (&table, "pattern", sources->pattern, "%s",
           options->pattern ? options->pattern : "(none)");
    if (options->exclude_count == 0)
        s_add (&table, "exclude", NULL, "%s", "(none)");
    for (size_t i = 0; i < options->exclude_count && i < 8; i++)
        s_add (&table, "exclude", sources->excludes, "%s", options->excludes[i]);
    if (options->exclude_count > 8)
        s_add (&table, "exclude", sources->excludes, "(and %zu more)",
               options->exclude_count - 8);
    s_add (&table, "tests from", sources->tests_from, "%s",
           options->tests_from ? options->tests_from : "(none)");
    s_add (&table, "fixed split", sources->fixed_split, "%s", s_yes_no (options->fixed_split));
    s_add (&table, "only failed", sources->only_failed, "%s", s_yes_no (options->only_failed));
    s_add (&table, "no wait", sources->no_wait, "%s", s_yes_no (options->no_wait));
    s_add (&table, "fail fast", sources->fail_fast, "%s", s_yes_no (options->fail_fast));
    char server_key[256], client_cert[256];
    s_describe_key (options->server_key, false, server_key, sizeof server_key);
    s_describe_key (options->client_cert, true, client_cert, sizeof client_cert);
    s_add (&table, "server key", sources->server_key, "%s", server_key);
    s_add (&table, "client cert", sources->client_cert, "%s", client_cert);
    s_add (&table, "timeout", sources->timeout, "%.3g s", (double) options->timeout_ms / 1000);
    s_add (&table, "retries", sources->retries, "%u", options->retries);
    s_add (&table, "log level", sources->log_level, "%s", levels[options->log_level]);
    s_add (&table, "CI system", ci->marker ? ci->marker : "no CI system's variable is set",
           "%s", ci->provider ? ci->provider : "(none detected)");

    size_t name_width = strlen ("setting");
    size_t value_width = strlen ("value");
    for (size_t i = 0; i < table.count; i++) {
        size_t name = strlen (table.rows[i].name);
        size_t value = strlen (table.rows[i].value);
        name_width = name > name_width ? name : name_width;
        value_width = value > value_width ? value : value_width;
    }
    fprintf (out, "%-*s  %-*s  %s\n", (int) name_width, "setting", (int) value_width, "value",
             "source");
    for (size_t i = 0; i < table.count; i++) {
        fprintf (out, "%-*s  %-*s  %s\n", (int) name_width, table.rows[i].name,
                 (int) value_width, table.rows[i].value, table.rows[i].source);
        free (table.rows[i].value);
    }
}

int
env_command_main (int argc, char **argv)
{
    run_options_t options;
    run_options_result_t parsed = run_options_resolve (argc, argv, RUN_OPTIONS_LENIENT,
                                                       &options);
    if (parsed == RUN_OPTIONS_OK)
        env_command_print (&options, stdout);
    run_options_clear (&options);
    if (parsed == RUN_OPTIONS_USAGE)
        return 2;
    return 0;
}
