/*  report_command.h: `satchel builds` and `satchel build ID`, admin
    commands that show the recent builds and one build, node by node, as
    tables, or as satcheld's JSON (--json). coordinator/report.h says what
    the fields are.                                                       */
#ifndef SATCHEL_REPORT_COMMAND_H
#define SATCHEL_REPORT_COMMAND_H

//  argv[0] is "builds" or "build". Returns the exit status: 0; 1 if
//  satcheld refused or could not be reached or has no such build; 2 for a
//  usage error.
int report_command_main (int argc, char **argv);

#endif
