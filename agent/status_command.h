/*  status_command.h: `satchel status`, the first admin command: asks
    satcheld how it is and prints a table, or one JSON object (--json).  */
#ifndef SATCHEL_STATUS_COMMAND_H
#define SATCHEL_STATUS_COMMAND_H

//  argv[0] is "status". Returns the exit status: 0, 1 if satcheld refused
//  (not an admin key) or could not be reached, 2 for a usage error.
int status_command_main (int argc, char **argv);

#endif
