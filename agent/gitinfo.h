/*  gitinfo.h: the commit and branch of the checkout, asked of git when the
    CI system or the user did not say.                                      */
#ifndef SATCHEL_GITINFO_H
#define SATCHEL_GITINFO_H

//  `git rev-parse HEAD`. Returns a malloc'd string, "" if git cannot tell.
char *gitinfo_commit (void);

//  `git rev-parse --abbrev-ref HEAD`; "" if git cannot tell or HEAD is
//  detached ("HEAD"). Returns a malloc'd string.
char *gitinfo_branch (void);

#endif
