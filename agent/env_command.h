/*  env_command.h: `satchel env`, which shows every setting `satchel run`
    would use here and where each came from, so a CI configuration can be
    checked without running a build.                                       */
#ifndef SATCHEL_ENV_COMMAND_H
#define SATCHEL_ENV_COMMAND_H

#include "run_options.h"

#include <stdio.h>

//  Run `satchel env` (argv[0] is "env"). Returns the exit status: 0, or 2
//  for a usage error (printed).
int env_command_main (int argc, char **argv);

//  Print the settings of options, one a line: name, value, source, in
//  aligned columns.
void env_command_print (const run_options_t *options, FILE *out);

#endif
