/*  ci_env.c: see ci_env.h.

    One row per CI system. The variable names come from each system's own
    list of the variables it sets (the address is beside each row); where
    a list is silent, from what knapsack_pro-ruby reads for that system
    (lib/knapsack_pro/config/ci/), which satchel's users migrate from.

    Order matters only when a job sees the markers of two systems (a job
    started by one system inside another's runner). Systems whose marker
    can leak into jobs they did not start come last: Woodpecker before
    Drone (Woodpecker descends from Drone), Jenkins's JENKINS_URL last (it
    is often set machine-wide on shared agents).                            */
#include "ci_env.h"

#include "util.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  How a field's variables are read.
enum {
    S_FROM_1 = 1,           //  index counts from 1: convert to 0-based
    S_STRIP_HEADS = 2,      //  drop a leading "refs/heads/" (a git ref, not a branch name)
    S_PLAN_PREFIX = 4       //  names[0] is a prefix joined by '-' to the value of names[1]
};

typedef struct {
    const char *names[4];   //  tried in order; the first that is set gives the value
    unsigned flags;         //  S_ flags
} s_field_t;

typedef struct {
    const char *name;           //  as people call it ("GitLab CI")
    const char *marker;         //  set in every job of this system
    const char *marker_value;   //  the marker's value must be this; NULL: any
    s_field_t index;            //  this node
    s_field_t total;            //  nodes in the build
    s_field_t build;            //  build id, the same on every node
    s_field_t commit;           //  commit under test
    s_field_t branch;           //  branch under test; for a pull request its source branch
    const char *hint;           //  how to give the node index and total here
} s_provider_t;

static const s_provider_t s_providers[] = {
    //  https://docs.gitlab.com/ee/ci/variables/predefined_variables.html
    //  CI_NODE_INDEX counts from 1 ("parallel: N" jobs); a merge request
    //  pipeline's CI_COMMIT_REF_NAME is already its source branch.
    { "GitLab CI", "GITLAB_CI", NULL,
      { { "CI_NODE_INDEX" }, S_FROM_1 }, { { "CI_NODE_TOTAL" }, 0 },
      { { "CI_PIPELINE_ID" }, 0 }, { { "CI_COMMIT_SHA" }, 0 },
      { { "CI_COMMIT_REF_NAME" }, 0 },
      "add `parallel: N` to the job; GitLab then sets CI_NODE_INDEX and CI_NODE_TOTAL" },
    //  https://docs.github.com/en/actions/learn-github-actions/variables
    //  GITHUB_HEAD_REF is set (to the source branch) only for pull
    //  requests; GITHUB_RUN_ID stays the same when the run is re-run.
    //  strategy.job-index counts from 0 (the "strategy" context).
    { "GitHub Actions", "GITHUB_ACTIONS", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "GITHUB_RUN_ID" }, 0 }, { { "GITHUB_SHA" }, 0 },
      { { "GITHUB_HEAD_REF", "GITHUB_REF_NAME" }, 0 },
      "it does not say which node this is: pass the matrix index, e.g. "
      "env: SATCHEL_NODE_INDEX: ${{ strategy.job-index }} and "
      "SATCHEL_NODE_TOTAL: ${{ strategy.job-total }}" },
    //  https://buildkite.com/docs/pipelines/environment-variables
    { "Buildkite", "BUILDKITE", NULL,
      { { "BUILDKITE_PARALLEL_JOB" }, 0 }, { { "BUILDKITE_PARALLEL_JOB_COUNT" }, 0 },
      { { "BUILDKITE_BUILD_ID" }, 0 }, { { "BUILDKITE_COMMIT" }, 0 },
      { { "BUILDKITE_BRANCH" }, 0 },
      "add `parallelism: N` to the step; Buildkite then sets BUILDKITE_PARALLEL_JOB "
      "and BUILDKITE_PARALLEL_JOB_COUNT" },
    //  https://circleci.com/docs/variables/#built-in-environment-variables
    { "CircleCI", "CIRCLECI", NULL,
      { { "CIRCLE_NODE_INDEX" }, 0 }, { { "CIRCLE_NODE_TOTAL" }, 0 },
      { { "CIRCLE_BUILD_NUM" }, 0 }, { { "CIRCLE_SHA1" }, 0 },
      { { "CIRCLE_BRANCH" }, 0 },
      "add `parallelism: N` to the job; CircleCI then sets CIRCLE_NODE_INDEX and "
      "CIRCLE_NODE_TOTAL" },
    //  https://learn.microsoft.com/azure/devops/pipelines/build/variables
    //  https://learn.microsoft.com/azure/devops/pipelines/test/parallel-testing-any-test-runner
    //  System.JobPositionInPhase counts from 1 (Microsoft's slicing sample
    //  indexes its tests with JOBPOSITIONINPHASE - 1). For a pull request
    //  Build.SourceBranch is "refs/pull/N/merge", so the PR's source
    //  branch, System.PullRequest.SourceBranch, comes first.
    { "Azure Pipelines", "TF_BUILD", NULL,
      { { "SYSTEM_JOBPOSITIONINPHASE" }, S_FROM_1 }, { { "SYSTEM_TOTALJOBSINPHASE" }, 0 },
      { { "BUILD_BUILDID" }, 0 }, { { "BUILD_SOURCEVERSION" }, 0 },
      { { "SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH", "BUILD_SOURCEBRANCHNAME" },
        S_STRIP_HEADS },
      "add `strategy: parallel: N` to the job; Azure Pipelines then sets "
      "SYSTEM_JOBPOSITIONINPHASE and SYSTEM_TOTALJOBSINPHASE" },
    //  https://docs.semaphoreci.com/ci-cd-environment/environment-variables/
    //  SEMAPHORE_JOB_INDEX runs from 1 to SEMAPHORE_JOB_COUNT ("parallelism"
    //  jobs). Semaphore Classic's names come second: SEMAPHORE_CURRENT_THREAD
    //  (from 1), SEMAPHORE_THREAD_COUNT, SEMAPHORE_BUILD_NUMBER, REVISION,
    //  BRANCH_NAME (knapsack_pro-ruby's semaphore.rb).
    { "Semaphore", "SEMAPHORE", NULL,
      { { "SEMAPHORE_JOB_INDEX", "SEMAPHORE_CURRENT_THREAD" }, S_FROM_1 },
      { { "SEMAPHORE_JOB_COUNT", "SEMAPHORE_THREAD_COUNT" }, 0 },
      { { "SEMAPHORE_WORKFLOW_ID", "SEMAPHORE_BUILD_NUMBER" }, 0 },
      { { "SEMAPHORE_GIT_SHA", "REVISION" }, 0 },
      { { "SEMAPHORE_GIT_WORKING_BRANCH", "SEMAPHORE_GIT_BRANCH", "BRANCH_NAME" }, 0 },
      "add `parallelism: N` to the job; Semaphore then sets SEMAPHORE_JOB_INDEX and "
      "SEMAPHORE_JOB_COUNT" },
    //  https://docs.travis-ci.com/user/environment-variables/#default-environment-variables
    //  TRAVIS_PULL_REQUEST_BRANCH is "" unless the job tests a pull request.
    { "Travis CI", "TRAVIS", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "TRAVIS_BUILD_ID" }, 0 }, { { "TRAVIS_COMMIT" }, 0 },
      { { "TRAVIS_PULL_REQUEST_BRANCH", "TRAVIS_BRANCH" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL in each job's env (jobs: include:)" },
    //  https://codefresh.io/docs/docs/pipelines/variables/#system-variables
    { "Codefresh", "CF_BUILD_ID", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "CF_BUILD_ID" }, 0 }, { { "CF_REVISION" }, 0 },
      { { "CF_BRANCH" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL in each parallel step's environment" },
    //  https://confluence.atlassian.com/bamboo/bamboo-variables-289277087.html
    //  (bamboo.x reaches scripts as bamboo_x). Not bamboo.buildResultKey:
    //  it is PROJECT-PLAN-JOB-NUMBER, different in each job of a stage,
    //  so parallel jobs would each start a build of their own. The plan's
    //  own result key, planKey-buildNumber, is the same in every job; the
    //  plan key keeps plan branches (PROJ-PLAN0, numbered on their own)
    //  apart.
    { "Bamboo", "bamboo_buildKey", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "bamboo_planKey", "bamboo_buildNumber" }, S_PLAN_PREFIX },
      { { "bamboo_planRepository_revision" }, 0 },
      { { "bamboo_planRepository_branchName", "bamboo_planRepository_branch" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL as variables of each parallel job" },
    //  https://woodpecker-ci.org/docs/usage/environment
    //  CI_BUILD_NUMBER is the name before Woodpecker 1.0; for a pull
    //  request CI_COMMIT_BRANCH is the target branch and
    //  CI_COMMIT_SOURCE_BRANCH the source.
    { "Woodpecker", "CI", "woodpecker",
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "CI_PIPELINE_NUMBER", "CI_BUILD_NUMBER" }, 0 }, { { "CI_COMMIT_SHA" }, 0 },
      { { "CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL in each matrix or parallel workflow's environment" },
    //  https://docs.drone.io/pipeline/environment/reference/
    //  DRONE_BRANCH is a pull request's target branch; DRONE_SOURCE_BRANCH
    //  its source (and the pushed branch on a push).
    { "Drone", "DRONE", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "DRONE_BUILD_NUMBER" }, 0 }, { { "DRONE_COMMIT_SHA" }, 0 },
      { { "DRONE_SOURCE_BRANCH", "DRONE_BRANCH" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL in each parallel pipeline's environment" },
    //  https://www.jetbrains.com/help/teamcity/predefined-build-parameters.html
    //  TeamCity gives no branch to the environment.
    { "TeamCity", "TEAMCITY_VERSION", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "BUILD_NUMBER" }, 0 }, { { "BUILD_VCS_NUMBER" }, 0 },
      { { NULL }, 0 },
      "it does not say which node this is: set env.SATCHEL_NODE_INDEX and "
      "env.SATCHEL_NODE_TOTAL as parameters of each parallel build" },
    //  https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables
    //  https://plugins.jenkins.io/git/#plugin-content-environment-variables
    //  BRANCH_NAME is set in multibranch pipelines, the GIT_ ones by the
    //  git plugin; BUILD_TAG is "jenkins-JOB-NUMBER", the same in every
    //  parallel branch of one run.
    { "Jenkins", "JENKINS_URL", NULL,
      { { NULL }, 0 }, { { NULL }, 0 },
      { { "BUILD_TAG" }, 0 }, { { "GIT_COMMIT" }, 0 },
      { { "BRANCH_NAME", "GIT_LOCAL_BRANCH", "GIT_BRANCH" }, 0 },
      "it does not say which node this is: set SATCHEL_NODE_INDEX and "
      "SATCHEL_NODE_TOTAL in each parallel branch (withEnv)" },
};

#define S_PROVIDERS (sizeof s_providers / sizeof s_providers[0])

static const char *s_no_ci_hint =
    "no CI system was detected: set SATCHEL_NODE_INDEX and SATCHEL_NODE_TOTAL for "
    "each parallel job";

//  The variable's value; NULL if unset or empty.
static const char *
s_get (ci_lookup_fn lookup, void *ctx, const char *name)
{
    const char *value = lookup (name, ctx);
    return value && *value ? value : NULL;
}

//  Read a text field: the first of its variables that is set.
static void
s_read_text (const s_provider_t *provider, const s_field_t *field, ci_lookup_fn lookup,
             void *ctx, ci_value_t *out)
{
    if (field->flags & S_PLAN_PREFIX) {
        const char *prefix = s_get (lookup, ctx, field->names[0]);
        const char *number = s_get (lookup, ctx, field->names[1]);
        if (!number)
            return;
        if (prefix) {
            out->value = util_format ("%s-%s", prefix, number);
            out->source = util_format ("%s=%s %s=%s (%s)", field->names[0], prefix,
                                    field->names[1], number, provider->name);
        }
        else {
            out->value = util_strdup (number);
            out->source = util_format ("%s=%s (%s)", field->names[1], number, provider->name);
        }
        return;
    }
    for (size_t i = 0; i < 4 && field->names[i]; i++) {
        const char *value = s_get (lookup, ctx, field->names[i]);
        if (!value)
            continue;
        const char *kept = value;
        if ((field->flags & S_STRIP_HEADS) && strncmp (kept, "refs/heads/", 11) == 0
            && kept[11] != 0)
            kept += 11;
        out->value = util_strdup (kept);
        out->source = util_format ("%s=%s (%s)", field->names[i], value, provider->name);
        return;
    }
}

//  Read a count: the node index (is_index) or total. Anything but a whole
//  number is an error, and so is 0 from a system that counts from 1: it
//  names no node, and wrapping it to the last node would hide the
//  misconfiguration.
static void
s_read_number (const s_provider_t *provider, const s_field_t *field, bool is_index,
               ci_lookup_fn lookup, void *ctx, ci_value_t *out)
{
    for (size_t i = 0; i < 4 && field->names[i]; i++) {
        const char *name = field->names[i];
        const char *value = s_get (lookup, ctx, name);
        if (!value)
            continue;
        bool from_1 = is_index && (field->flags & S_FROM_1);
        if (is_index)
            out->source = util_format ("%s=%s (%s, counts from %d)", name, value,
                                    provider->name, from_1 ? 1 : 0);
        else
            out->source = util_format ("%s=%s (%s)", name, value, provider->name);
        uint32_t number = 0;
        if (util_parse_u32 (value, 0, UINT32_MAX, &number) != 0)
            out->error = util_format ("%s='%s' is not a whole number (%s)", name, value,
                                   provider->name);
        else
        if (from_1 && number == 0)
            out->error = util_format ("%s=0, but %s counts nodes from 1", name, provider->name);
        else
            out->value = util_format ("%u", from_1 ? number - 1 : number);
        return;
    }
}

void
ci_env_detect (ci_lookup_fn lookup, void *ctx, ci_env_t *env)
{
    assert (lookup && env);
    memset (env, 0, sizeof *env);
    env->hint = s_no_ci_hint;
    for (size_t i = 0; i < S_PROVIDERS; i++) {
        const s_provider_t *provider = &s_providers[i];
        const char *marker = s_get (lookup, ctx, provider->marker);
        if (!marker)
            continue;
        if (provider->marker_value && strcmp (marker, provider->marker_value) != 0)
            continue;
        env->provider = provider->name;
        env->marker = util_format ("%s=%s", provider->marker, marker);
        env->hint = provider->hint;
        s_read_number (provider, &provider->index, true, lookup, ctx, &env->index);
        s_read_number (provider, &provider->total, false, lookup, ctx, &env->total);
        s_read_text (provider, &provider->build, lookup, ctx, &env->build);
        s_read_text (provider, &provider->commit, lookup, ctx, &env->commit);
        s_read_text (provider, &provider->branch, lookup, ctx, &env->branch);
        return;
    }
}

static void
s_value_clear (ci_value_t *value)
{
    free (value->value);
    free (value->source);
    free (value->error);
    memset (value, 0, sizeof *value);
}

void
ci_env_clear (ci_env_t *env)
{
    if (!env)
        return;
    s_value_clear (&env->index);
    s_value_clear (&env->total);
    s_value_clear (&env->build);
    s_value_clear (&env->commit);
    s_value_clear (&env->branch);
    free (env->marker);
    env->provider = NULL;
    env->marker = NULL;
    env->hint = s_no_ci_hint;
}

const char *
ci_env_getenv (const char *name, void *ctx)
{
    (void) ctx;
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

size_t
ci_env_provider_count (void)
{
    return S_PROVIDERS;
}

const char *
ci_env_provider_name (size_t index)
{
    assert (index < S_PROVIDERS);
    return s_providers[index].name;
}
