/*  config.h: satcheld's settings, from its flags and its configuration
    file, through one table of options: every flag can be set in the file
    under its long name (`max-units = 20000`), a flag added to the table is
    a key of the file at once, and both are checked by the same code.

    The file: one `key = value` a line; blank lines and lines starting with
    `#` are ignored; a value may be put in double quotes (kept as it is
    inside them); a switch (insecure) takes true, false, yes, no, on, off,
    1 or 0. A key set twice, a key no flag has, a value a flag would refuse
    and a line that is not `key = value` each stop start-up, naming the
    file, the line and the key.

    Which file: --config FILE (it must exist); else, under systemd,
    $CONFIGURATION_DIRECTORY/satcheld.conf, else /etc/satchel/satcheld.conf,
    each read if it exists. Flags on the command line win over the file.   */
#ifndef SATCHEL_CONFIG_H
#define SATCHEL_CONFIG_H

#include "log.h"
#include "server.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_FILE "/etc/satchel/satcheld.conf"

typedef struct {
    server_config_t server;      //  what the server runs with (strings borrowed from
                                 //  argv or from values, below)
    log_level_t log_level;       //  --log-level
    bool insecure;               //  --insecure
    bool check_only;             //  --check-config: check the settings, serve nothing
    const char *db;              //  --db as given, NULL: the default
    char *file;                  //  the configuration file read (owned), NULL if none
    char **values;               //  the file's values (owned)
    size_t value_count;          //  how many
} config_t;

typedef enum {
    CONFIG_OK = 0,               //  settings in *config
    CONFIG_HELP,                 //  --help was asked for
    CONFIG_VERSION,              //  --version was asked for
    CONFIG_BAD                   //  a bad flag, value or file: why says which
} config_result_t;

//  Defaults, then the file, then the flags of argv (argv[0] is the
//  program). On CONFIG_BAD, why holds one message naming the flag, or the
//  file, line and key. Clear *config afterwards whatever the result.
config_result_t config_load (config_t *config, int argc, char **argv, char *why,
                             size_t why_size);

//  Free what config owns; safe to call twice.
void config_clear (config_t *config);

//  The options' names, in --help's order: name of i < config_option_count.
size_t config_option_count (void);
const char *config_option_name (size_t index);

//  True if the option name may change by a reload (SIGHUP) without a
//  restart; false for the others (bind, db, curve-secret, clients,
//  ready-file, insecure) and for names that are no option.
bool config_is_live (const char *name);

#endif
