/*  history_command.h: `satchel tests` and `satchel export`, admin commands
    on a suite's timing history: its slowest tests, its flaky ones, one
    test's trend, and the whole history as JSON or CSV for analysis
    elsewhere. coordinator/report.h says what satcheld sends.            */
#ifndef SATCHEL_HISTORY_COMMAND_H
#define SATCHEL_HISTORY_COMMAND_H

//  argv[0] is "tests" or "export". Returns the exit status: 0; 1 if
//  satcheld refused or could not be reached, or knows no such suite, or
//  the output cannot be written; 2 for a usage error.
int history_command_main (int argc, char **argv);

#endif
