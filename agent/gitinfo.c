/*  gitinfo.c: see gitinfo.h.                                               */
#include "gitinfo.h"

#include "runner.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static char *
s_ask (char *const *argv)
{
    char *out = NULL;
    if (runner_capture (argv, &out) != 0)
        return util_strdup ("");
    return out;
}

char *
gitinfo_commit (void)
{
    char *argv[] = { "git", "rev-parse", "HEAD", NULL };
    return s_ask (argv);
}

char *
gitinfo_branch (void)
{
    char *argv[] = { "git", "rev-parse", "--abbrev-ref", "HEAD", NULL };
    char *branch = s_ask (argv);
    if (strcmp (branch, "HEAD") == 0) {
        free (branch);
        return util_strdup ("");
    }
    return branch;
}
