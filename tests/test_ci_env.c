/*  test_ci_env.c: unit tests for CI detection (ci_env.h): one row per CI
    system and variant, each a fake environment and what must be read from
    it; 1-based indexes converted, bad counts refused, no CI detected.    */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci_env.h"

//  A fake environment: "NAME=value" entries, NULL-terminated.
static const char *
s_lookup (const char *name, void *ctx)
{
    const char *const *env = ctx;
    size_t size = strlen (name);
    for (size_t i = 0; env[i]; i++) {
        if (strncmp (env[i], name, size) == 0 && env[i][size] == '=')
            return env[i] + size + 1;
    }
    return NULL;
}

typedef struct {
    const char *env[16];        //  the fake environment
    const char *provider;       //  expected provider, NULL: none
    const char *index;          //  expected values, NULL: not given
    const char *total;
    const char *build;
    const char *commit;
    const char *branch;
    const char *index_source;   //  expected index source, or NULL to skip
    const char *branch_source;  //  expected branch source, or NULL to skip
} s_row_t;

static const s_row_t s_rows[] = {
    { { "GITLAB_CI=true", "CI_NODE_INDEX=3", "CI_NODE_TOTAL=4", "CI_PIPELINE_ID=901",
        "CI_COMMIT_SHA=aaa1", "CI_COMMIT_REF_NAME=main", NULL },
      "GitLab CI", "2", "4", "901", "aaa1", "main",
      "CI_NODE_INDEX=3 (GitLab CI, counts from 1)", "CI_COMMIT_REF_NAME=main (GitLab CI)" },
    //  GitLab without parallel: no index or total.
    { { "GITLAB_CI=true", "CI_PIPELINE_ID=902", "CI_COMMIT_SHA=aaa2",
        "CI_COMMIT_REF_NAME=dev", NULL },
      "GitLab CI", NULL, NULL, "902", "aaa2", "dev", NULL, NULL },
    //  GitHub Actions: a pull request's source branch, else the ref name.
    { { "GITHUB_ACTIONS=true", "GITHUB_RUN_ID=555", "GITHUB_SHA=bbb1",
        "GITHUB_HEAD_REF=feature/x", "GITHUB_REF_NAME=12/merge", NULL },
      "GitHub Actions", NULL, NULL, "555", "bbb1", "feature/x",
      NULL, "GITHUB_HEAD_REF=feature/x (GitHub Actions)" },
    { { "GITHUB_ACTIONS=true", "GITHUB_RUN_ID=556", "GITHUB_SHA=bbb2", "GITHUB_HEAD_REF=",
        "GITHUB_REF_NAME=main", NULL },
      "GitHub Actions", NULL, NULL, "556", "bbb2", "main",
      NULL, "GITHUB_REF_NAME=main (GitHub Actions)" },
    { { "BUILDKITE=true", "BUILDKITE_PARALLEL_JOB=0", "BUILDKITE_PARALLEL_JOB_COUNT=3",
        "BUILDKITE_BUILD_ID=0190-uuid", "BUILDKITE_COMMIT=ccc1", "BUILDKITE_BRANCH=main", NULL },
      "Buildkite", "0", "3", "0190-uuid", "ccc1", "main",
      "BUILDKITE_PARALLEL_JOB=0 (Buildkite, counts from 0)", NULL },
    { { "CIRCLECI=true", "CIRCLE_NODE_INDEX=1", "CIRCLE_NODE_TOTAL=2",
        "CIRCLE_BUILD_NUM=77", "CIRCLE_SHA1=ddd1", "CIRCLE_BRANCH=topic", NULL },
      "CircleCI", "1", "2", "77", "ddd1", "topic",
      "CIRCLE_NODE_INDEX=1 (CircleCI, counts from 0)", NULL },
    //  TeamCity gives no branch.
    { { "TEAMCITY_VERSION=2023.11", "BUILD_NUMBER=31", "BUILD_VCS_NUMBER=eee1", NULL },
      "TeamCity", NULL, NULL, "31", "eee1", NULL, NULL, NULL },
    { { "DRONE=true", "DRONE_BUILD_NUMBER=12", "DRONE_COMMIT_SHA=fff1",
        "DRONE_SOURCE_BRANCH=feature", "DRONE_BRANCH=main", NULL },
      "Drone", NULL, NULL, "12", "fff1", "feature", NULL, NULL },
    { { "DRONE=true", "DRONE_BUILD_NUMBER=13", "DRONE_COMMIT_SHA=fff2",
        "DRONE_BRANCH=main", NULL },
      "Drone", NULL, NULL, "13", "fff2", "main", NULL, NULL },
    { { "CI=woodpecker", "CI_PIPELINE_NUMBER=5", "CI_COMMIT_SHA=ggg1",
        "CI_COMMIT_BRANCH=main", NULL },
      "Woodpecker", NULL, NULL, "5", "ggg1", "main", NULL, NULL },
    //  Woodpecker before 1.0, on a pull request.
    { { "CI=woodpecker", "CI_BUILD_NUMBER=6", "CI_COMMIT_SHA=ggg2",
        "CI_COMMIT_SOURCE_BRANCH=fix", "CI_COMMIT_BRANCH=main", NULL },
      "Woodpecker", NULL, NULL, "6", "ggg2", "fix", NULL, NULL },
    //  Bamboo: the plan's result key, the same in every job of a stage.
    { { "bamboo_buildKey=PROJ-PLAN-JOB1", "bamboo_planKey=PROJ-PLAN",
        "bamboo_buildNumber=17", "bamboo_buildResultKey=PROJ-PLAN-JOB1-17",
        "bamboo_planRepository_revision=hhh1", "bamboo_planRepository_branchName=main",
        NULL },
      "Bamboo", NULL, NULL, "PROJ-PLAN-17", "hhh1", "main", NULL, NULL },
    { { "bamboo_buildKey=PROJ-PLAN-JOB2", "bamboo_buildNumber=18",
        "bamboo_planRepository_revision=hhh2", "bamboo_planRepository_branch=rel", NULL },
      "Bamboo", NULL, NULL, "18", "hhh2", "rel", NULL, NULL },
    //  Azure Pipelines: counts from 1; "refs/heads/" goes.
    { { "TF_BUILD=True", "SYSTEM_JOBPOSITIONINPHASE=1", "SYSTEM_TOTALJOBSINPHASE=2",
        "BUILD_BUILDID=4242", "BUILD_SOURCEVERSION=iii1",
        "BUILD_SOURCEBRANCH=refs/heads/feature/y", "BUILD_SOURCEBRANCHNAME=y", NULL },
      "Azure Pipelines", "0", "2", "4242", "iii1", "feature/y",
      "SYSTEM_JOBPOSITIONINPHASE=1 (Azure Pipelines, counts from 1)",
      "BUILD_SOURCEBRANCH=refs/heads/feature/y (Azure Pipelines)" },
    { { "TF_BUILD=True", "BUILD_BUILDID=4243", "BUILD_SOURCEVERSION=iii2",
        "BUILD_SOURCEBRANCHNAME=main", NULL },
      "Azure Pipelines", NULL, NULL, "4243", "iii2", "main", NULL, NULL },
    //  An Azure pull request: its source branch, not refs/pull/N/merge.
    { { "TF_BUILD=True", "BUILD_BUILDID=4244", "BUILD_SOURCEVERSION=iii3",
        "SYSTEM_PULLREQUEST_SOURCEBRANCH=refs/heads/topic",
        "BUILD_SOURCEBRANCH=refs/pull/9/merge", NULL },
      "Azure Pipelines", NULL, NULL, "4244", "iii3", "topic", NULL, NULL },
    //  Semaphore (2.0): counts from 1; the working branch first.
    { { "SEMAPHORE=true", "SEMAPHORE_JOB_INDEX=2", "SEMAPHORE_JOB_COUNT=3",
        "SEMAPHORE_WORKFLOW_ID=wf-1", "SEMAPHORE_GIT_SHA=jjj1",
        "SEMAPHORE_GIT_WORKING_BRANCH=pr-branch", "SEMAPHORE_GIT_BRANCH=main", NULL },
      "Semaphore", "1", "3", "wf-1", "jjj1", "pr-branch",
      "SEMAPHORE_JOB_INDEX=2 (Semaphore, counts from 1)", NULL },
    { { "SEMAPHORE=true", "SEMAPHORE_WORKFLOW_ID=wf-2", "SEMAPHORE_GIT_SHA=jjj2",
        "SEMAPHORE_GIT_WORKING_BRANCH=", "SEMAPHORE_GIT_BRANCH=main", NULL },
      "Semaphore", NULL, NULL, "wf-2", "jjj2", "main", NULL, NULL },
    //  Semaphore Classic.
    { { "SEMAPHORE=true", "SEMAPHORE_CURRENT_THREAD=3", "SEMAPHORE_THREAD_COUNT=4",
        "SEMAPHORE_BUILD_NUMBER=88", "REVISION=jjj3", "BRANCH_NAME=old", NULL },
      "Semaphore", "2", "4", "88", "jjj3", "old",
      "SEMAPHORE_CURRENT_THREAD=3 (Semaphore, counts from 1)", NULL },
    //  Travis: TRAVIS_PULL_REQUEST_BRANCH is "" outside pull requests.
    { { "TRAVIS=true", "TRAVIS_BUILD_ID=1001", "TRAVIS_COMMIT=kkk1",
        "TRAVIS_PULL_REQUEST_BRANCH=", "TRAVIS_BRANCH=main", NULL },
      "Travis CI", NULL, NULL, "1001", "kkk1", "main", NULL, NULL },
    { { "TRAVIS=true", "TRAVIS_BUILD_ID=1002", "TRAVIS_COMMIT=kkk2",
        "TRAVIS_PULL_REQUEST_BRANCH=feat", "TRAVIS_BRANCH=main", NULL },
      "Travis CI", NULL, NULL, "1002", "kkk2", "feat", NULL, NULL },
    { { "CF_BUILD_ID=cf-9", "CF_REVISION=lll1", "CF_BRANCH=main", NULL },
      "Codefresh", NULL, NULL, "cf-9", "lll1", "main", NULL, NULL },
    //  Jenkins: BRANCH_NAME (multibranch), else the git plugin's.
    { { "JENKINS_URL=http://ci/", "BUILD_TAG=jenkins-web-7", "GIT_COMMIT=mmm1",
        "BRANCH_NAME=main", "GIT_BRANCH=origin/main", NULL },
      "Jenkins", NULL, NULL, "jenkins-web-7", "mmm1", "main", NULL, NULL },
    { { "JENKINS_URL=http://ci/", "BUILD_TAG=jenkins-web-8", "GIT_COMMIT=mmm2",
        "GIT_LOCAL_BRANCH=topic", "GIT_BRANCH=origin/topic", NULL },
      "Jenkins", NULL, NULL, "jenkins-web-8", "mmm2", "topic", NULL, NULL },
    { { "JENKINS_URL=http://ci/", "BUILD_TAG=jenkins-web-9", "GIT_BRANCH=origin/rel", NULL },
      "Jenkins", NULL, NULL, "jenkins-web-9", NULL, "origin/rel", NULL, NULL },
    //  Two markers: the fixed order decides (Jenkins's URL is often set
    //  machine-wide, so it comes last).
    { { "JENKINS_URL=http://ci/", "GITLAB_CI=true", "CI_NODE_INDEX=1", "CI_NODE_TOTAL=1",
        NULL },
      "GitLab CI", "0", "1", NULL, NULL, NULL, NULL, NULL },
    //  No CI, or only empty or foreign markers: nothing.
    { { NULL }, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
    { { "GITLAB_CI=", "CI_NODE_INDEX=3", "CI_NODE_TOTAL=4", "CI=true", "HOME=/x", NULL },
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static bool
s_same (const char *got, const char *expected)
{
    if (!got || !expected)
        return got == expected;
    return strcmp (got, expected) == 0;
}

static bool
s_check (const char *what, size_t row, const char *got, const char *expected)
{
    if (s_same (got, expected))
        return true;
    printf ("  row %zu: %s is '%s', expected '%s'\n", row, what, got ? got : "(null)",
            expected ? expected : "(null)");
    return false;
}

static void
test_every_provider (void **state)
{
    size_t rows = sizeof s_rows / sizeof s_rows[0];
    size_t failed = 0;
    for (size_t r = 0; r < rows; r++) {
        const s_row_t *row = &s_rows[r];
        ci_env_t env;
        ci_env_detect (s_lookup, (void *) row->env, &env);
        bool ok = s_check ("provider", r, env.provider, row->provider)
                  && s_check ("index", r, env.index.value, row->index)
                  && s_check ("total", r, env.total.value, row->total)
                  && s_check ("build", r, env.build.value, row->build)
                  && s_check ("commit", r, env.commit.value, row->commit)
                  && s_check ("branch", r, env.branch.value, row->branch)
                  && (!row->index_source
                      || s_check ("index source", r, env.index.source, row->index_source))
                  && (!row->branch_source
                      || s_check ("branch source", r, env.branch.source, row->branch_source))
                  && s_check ("index error", r, env.index.error, NULL)
                  && s_check ("total error", r, env.total.error, NULL);
        //  A value always says where it came from; the hint is never NULL.
        ok = ok && (!env.build.value || env.build.source) && env.hint
             && (!env.provider || env.marker);
        if (!ok)
            failed++;
        ci_env_clear (&env);
    }
    assert_int_equal (failed, 0);
}

static void
test_every_provider_has_a_row (void **state)
{
    size_t rows = sizeof s_rows / sizeof s_rows[0];
    for (size_t p = 0; p < ci_env_provider_count (); p++) {
        const char *name = ci_env_provider_name (p);
        bool found = false;
        for (size_t r = 0; r < rows && !found; r++)
            found = s_rows[r].provider && strcmp (s_rows[r].provider, name) == 0;
        if (!found)
            printf ("  no row for %s\n", name);
        assert_true (found);
    }
    assert_int_equal (ci_env_provider_count (), 13);
}

//  A provider that counts from 1 never gives 0: it is an error, not node -1
//  wrapped to the last one. Garbage is an error from any provider.
static void
test_bad_counts_are_errors (void **state)
{
    static const struct {
        const char *env[6];       //  the fake environment
        bool index_bad;           //  the index must be an error
        bool total_bad;           //  the total must be an error
        const char *needle;       //  in the error
    } cases[] = {
        { { "GITLAB_CI=true", "CI_NODE_INDEX=0", "CI_NODE_TOTAL=4", NULL }, true, false,
          "CI_NODE_INDEX=0, but GitLab CI counts nodes from 1" },
        { { "TF_BUILD=True", "SYSTEM_JOBPOSITIONINPHASE=0", "SYSTEM_TOTALJOBSINPHASE=2", NULL },
          true, false, "counts nodes from 1" },
        { { "SEMAPHORE=true", "SEMAPHORE_JOB_INDEX=0", "SEMAPHORE_JOB_COUNT=2", NULL },
          true, false, "SEMAPHORE_JOB_INDEX=0" },
        { { "GITLAB_CI=true", "CI_NODE_INDEX=two", "CI_NODE_TOTAL=4", NULL }, true, false,
          "CI_NODE_INDEX='two' is not a whole number" },
        { { "GITLAB_CI=true", "CI_NODE_INDEX=-1", "CI_NODE_TOTAL=4", NULL }, true, false,
          "not a whole number" },
        { { "BUILDKITE=true", "BUILDKITE_PARALLEL_JOB=1x", "BUILDKITE_PARALLEL_JOB_COUNT=2",
            NULL }, true, false, "BUILDKITE_PARALLEL_JOB='1x'" },
        { { "CIRCLECI=true", "CIRCLE_NODE_INDEX=0", "CIRCLE_NODE_TOTAL=lots", NULL }, false,
          true, "CIRCLE_NODE_TOTAL='lots' is not a whole number (CircleCI)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ci_env_t env;
        ci_env_detect (s_lookup, (void *) cases[i].env, &env);
        const ci_value_t *bad = cases[i].index_bad ? &env.index : &env.total;
        if (!bad->error || !strstr (bad->error, cases[i].needle))
            printf ("  case %zu: error '%s', expected '%s'\n", i,
                    bad->error ? bad->error : "(null)", cases[i].needle);
        assert_non_null (bad->error);
        assert_non_null (strstr (bad->error, cases[i].needle));
        //  An error has no value, but still a source.
        assert_null (bad->value);
        assert_non_null (bad->source);
        ci_env_clear (&env);
    }
    //  0 from a provider that counts from 0 is its first node.
    const char *circle[] = { "CIRCLECI=true", "CIRCLE_NODE_INDEX=0", "CIRCLE_NODE_TOTAL=2",
                             NULL };
    ci_env_t env;
    ci_env_detect (s_lookup, (void *) circle, &env);
    assert_string_equal (env.index.value, "0");
    assert_null (env.index.error);
    ci_env_clear (&env);
}

static void
test_hints (void **state)
{
    //  Where the CI system does not say the index, the hint says how.
    const char *github[] = { "GITHUB_ACTIONS=true", NULL };
    ci_env_t env;
    ci_env_detect (s_lookup, (void *) github, &env);
    assert_non_null (strstr (env.hint, "SATCHEL_NODE_INDEX"));
    assert_non_null (strstr (env.hint, "strategy.job-index"));
    assert_string_equal (env.marker, "GITHUB_ACTIONS=true");
    ci_env_clear (&env);
    const char *gitlab[] = { "GITLAB_CI=true", NULL };
    ci_env_detect (s_lookup, (void *) gitlab, &env);
    assert_non_null (strstr (env.hint, "parallel"));
    ci_env_clear (&env);
    const char *none[] = { NULL };
    ci_env_detect (s_lookup, (void *) none, &env);
    assert_null (env.provider);
    assert_null (env.marker);
    assert_non_null (strstr (env.hint, "SATCHEL_NODE_INDEX"));
    ci_env_clear (&env);
    //  Clearing twice, or a zeroed env, is safe.
    ci_env_clear (&env);
    ci_env_t zero;
    memset (&zero, 0, sizeof zero);
    ci_env_clear (&zero);
}

static void
test_real_environment (void **state)
{
    //  ci_env_getenv reads the process's environment; empty is unset.
    setenv ("SATCHEL_TEST_CI_ENV_X", "", 1);
    assert_null (ci_env_getenv ("SATCHEL_TEST_CI_ENV_X", NULL));
    setenv ("SATCHEL_TEST_CI_ENV_X", "v", 1);
    assert_string_equal (ci_env_getenv ("SATCHEL_TEST_CI_ENV_X", NULL), "v");
    unsetenv ("SATCHEL_TEST_CI_ENV_X");
    assert_null (ci_env_getenv ("SATCHEL_TEST_CI_ENV_X", NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_provider),
        cmocka_unit_test (test_every_provider_has_a_row),
        cmocka_unit_test (test_bad_counts_are_errors),
        cmocka_unit_test (test_hints),
        cmocka_unit_test (test_real_environment),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
