/*  run.h: `satchel run`: join the build, then take, run and report batches
    until the coordinator says the node is done.                           */
#ifndef SATCHEL_RUN_H
#define SATCHEL_RUN_H

#include "run_options.h"

//  Returns the process exit status: 0 every batch passed, 1 a batch failed
//  or the run could not be done (one message says why), 128+N after
//  signal N.
int run_main (const run_options_t *options);

#endif
