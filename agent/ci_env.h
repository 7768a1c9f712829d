/*  ci_env.h: which CI system runs this job, and what it says of the node
    index, node total, build id, commit and branch.

    Pure and table-driven: every variable is read through a lookup
    callback, so tests pass fake environments. Each value found records
    where it came from ("CI_NODE_INDEX=3 (GitLab CI, counts from 1)"), so
    that `satchel env` and the usage errors can say it.                    */
#ifndef SATCHEL_CI_ENV_H
#define SATCHEL_CI_ENV_H

#include <stddef.h>

//  Returns the value of the variable name, or NULL if it is not set. An
//  empty value counts as unset.
typedef const char *(*ci_lookup_fn) (const char *name, void *ctx);

//  One setting as the CI system gives it. At most one of value and error
//  is set; source is set with either.
typedef struct {
    char *value;            //  the value; for the index 0-based, in decimal (owned)
    char *source;           //  "CI_NODE_INDEX=3 (GitLab CI, counts from 1)" (owned)
    char *error;            //  why the variable's value cannot be used (owned)
} ci_value_t;

typedef struct {
    const char *provider;   //  "GitLab CI"; NULL: no CI system detected
    char *marker;           //  the variable that told, with its value ("GITLAB_CI=true"),
                            //  NULL with provider (owned)
    const char *hint;       //  how to give the node index and total on this CI system
                            //  (a general one if none was detected); never NULL
    ci_value_t index;       //  this node, 0-based
    ci_value_t total;       //  nodes in the build
    ci_value_t build;       //  the build id, the same on every node of the build
    ci_value_t commit;      //  the commit under test
    ci_value_t branch;      //  the branch under test
} ci_env_t;

//  Detect the CI system from the variables lookup gives (the first
//  provider whose marker is set, in a fixed order) and read its values.
//  A 1-based index is converted to 0-based; a 0, or anything but a whole
//  number, in the index or the total is recorded as that value's error,
//  never wrapped or guessed. Fills *env (clear it with ci_env_clear).
void ci_env_detect (ci_lookup_fn lookup, void *ctx, ci_env_t *env);

//  Free what ci_env_detect allocated. Safe on a zeroed env.
void ci_env_clear (ci_env_t *env);

//  A lookup of the process's own environment (getenv; empty is unset).
const char *ci_env_getenv (const char *name, void *ctx);

//  The providers in detection order, for tests and help: their count and
//  the name of the i-th ("GitLab CI").
size_t ci_env_provider_count (void);
const char *ci_env_provider_name (size_t index);

#endif
