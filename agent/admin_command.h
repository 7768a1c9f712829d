/*  admin_command.h: `satchel admin backup FILE` and `satchel admin check`,
    jobs satcheld runs on its database while it serves (admin_jobs.h):
    start one, ask how it is until it is done, and for a backup fetch the
    copy piece by piece into FILE, then check the file with SQLite.       */
#ifndef SATCHEL_ADMIN_COMMAND_H
#define SATCHEL_ADMIN_COMMAND_H

//  argv[0] is "admin". Returns the exit status: 0; 1 if the job failed, the
//  check found damage, or satcheld refused or could not be reached; 2 for
//  a usage error.
int admin_command_main (int argc, char **argv);

#endif
