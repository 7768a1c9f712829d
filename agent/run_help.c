/*  run_help.c: the help texts of `satchel run` and `satchel env`
    (declared in run_options.h), apart from the parsing they describe.     */
#include "ci_env.h"
#include "run_options.h"

#include <stdio.h>
#include <string.h>

void
run_options_usage (FILE *out)
{
    fputs (
"Usage: satchel run [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"Join a build, take batches of tests from satcheld, run each batch with\n"
"COMMAND, report the timings, and repeat until the build's queue is empty.\n"
"An argument that is exactly {} is replaced by the batch's tests, one\n"
"argument each; without {} the tests are appended. No shell is involved.\n"
"\n"
"Options (each also read from the environment variable shown; a flag wins):\n"
"  --coordinator ENDPOINT  satcheld's endpoint             SATCHEL_COORDINATOR\n"
"                          (default tcp://127.0.0.1:7450)\n"
"  --suite NAME            the test suite (required)        SATCHEL_SUITE\n"
"  --build ID              the CI build id, the same on     SATCHEL_BUILD_ID\n"
"                          every node (default: the CI system's; with none the\n"
"                          build is named by commit, branch and node total, as\n"
"                          with --fixed-split)\n"
"  --node-index N          this node, 0-based (required,    SATCHEL_NODE_INDEX\n"
"                          unless the CI system says it)\n"
"  --node-total N          nodes in the build (required,    SATCHEL_NODE_TOTAL\n"
"                          unless the CI system says it)\n"
"  --commit SHA            default: the CI system's, else   SATCHEL_COMMIT\n"
"                          git rev-parse HEAD\n"
"  --branch NAME           default: the CI system's, else   SATCHEL_BRANCH\n"
"                          asked of git\n"
"  --machine NAME          the machine this agent runs on   SATCHEL_MACHINE\n"
"                          (default: the host name; empty: none); satcheld\n"
"                          learns each machine's pace, per suite, to plan its\n"
"                          batches from the first one\n"
"  --pattern GLOB          test files, ** for any folders,  SATCHEL_TEST_PATTERN\n"
"                          {a,b} for either (e.g. 'spec/**/*_spec.rb')\n"
"  --exclude GLOB          drop matching tests; repeatable  SATCHEL_TEST_EXCLUDE\n"
"  --tests-from FILE       one test a line; - for stdin     SATCHEL_TESTS_FROM\n"
"  --mode MODE             queue (default): nodes take      SATCHEL_MODE\n"
"                          batches until the queue is empty; regular: one\n"
"                          static split, each node gets its whole share at once\n"
"  --reuse-split           regular mode: reuse the split of SATCHEL_FIXED_TEST_SUITE_SPLIT=1\n"
"                          an earlier build of the same suite, commit, branch\n"
"                          and node total (the default)\n"
"  --fresh-split           regular mode: split afresh       SATCHEL_FIXED_TEST_SUITE_SPLIT=0\n"
"  --batch-size N          most tests per start of COMMAND  SATCHEL_BATCH_SIZE\n"
"                          when this node runs a list (regular mode, fallback);\n"
"                          0, the default: the whole list at once\n"
"  --no-fallback           fail if satcheld cannot be       SATCHEL_FALLBACK=0\n"
"                          reached, instead of splitting the tests by name and\n"
"                          running this node's share (the default)\n"
"  --junit PATH            the JUnit report COMMAND writes, SATCHEL_JUNIT\n"
"                          read after each run for per-test times and results;\n"
"                          a folder: the *.xml files written in it during the\n"
"                          run (Surefire, Gradle); with {junit} in COMMAND (a\n"
"                          fresh path per run, e.g. --junitxml={junit}): the\n"
"                          folder for those reports\n"
"  --list-cmd 'CMD {}'     prints the example ids of the    SATCHEL_LIST_CMD\n"
"                          files in {}, one a line, so slow files can be split\n"
"  --list-preset NAME      rspec or pytest: the list        SATCHEL_LIST_PRESET\n"
"                          command and how to read it\n"
"  --slow-threshold SECS   split files predicted longer     SATCHEL_SLOW_THRESHOLD\n"
"                          than this too (besides 70% of the ideal node time)\n"
"  --server-key FILE       satcheld's public certificate:   SATCHEL_SERVER_KEY\n"
"                          talk CurveZMQ (encrypted, authenticated); needs\n"
"                          --client-cert\n"
"  --client-cert FILE      this agent's secret certificate  SATCHEL_CLIENT_CERT\n"
"                          (NAME_secret of 'satchel keygen NAME'); its public\n"
"                          half must be in satcheld's --clients folder\n"
"  --timeout SECONDS       wait for each reply (default 5)  SATCHEL_TIMEOUT\n"
"                          (satcheld may hold a next for half of it while the\n"
"                          queue is empty, and answer once there is work)\n"
"  --retries N             resends per request (default 3)  SATCHEL_RETRIES\n"
"  --only-failed           a retried node replays only the  SATCHEL_RETRY_ONLY_FAILED=1\n"
"                          tests that did not pass before\n"
"  --fixed-split           name the build by commit, branch SATCHEL_FIXED_QUEUE_SPLIT=1\n"
"                          and node total, so a retry with a new build id replays\n"
"                          each node's tests (for CI systems that renumber retries)\n"
"  --no-wait               exit once the queue is empty     SATCHEL_NO_WAIT=1\n"
"                          instead of waiting to take over batches of lost nodes\n"
"  --fail-fast             the first failure stops every    SATCHEL_FAIL_FAST=1\n"
"                          node after its current batch (set by the first node)\n"
"  --verbose               more of satchel's own messages   SATCHEL_LOG_LEVEL=debug\n"
"  --quiet                 only warnings and errors         SATCHEL_LOG_LEVEL=warn\n"
"                          (SATCHEL_LOG_LEVEL: debug, info, warn or error)\n"
"  --help                  show this help\n"
"\n"
"Where a setting comes from, first found wins: its flag, its SATCHEL_\n"
"variable, its KNAPSACK_PRO_ variable (below), the CI system, then the\n"
"default. An empty variable counts as unset. 'satchel env' shows every\n"
"setting and where it came from.\n"
"\n"
"CI systems are detected by their own variables, and the node index and\n"
"total, build id, commit and branch read from them:\n", out);
    size_t count = ci_env_provider_count ();
    size_t column = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = ci_env_provider_name (i);
        if (column == 0)
            column += (size_t) fprintf (out, " ");
        else
        if (column + strlen (name) + 3 > 76) {
            fputs ("\n", out);
            column = (size_t) fprintf (out, " ");
        }
        column += (size_t) fprintf (out, " %s%s", name, i + 1 < count ? "," : ".\n");
    }
    fputs (
"Only GitLab CI (parallel:), Buildkite, CircleCI, Semaphore (parallelism:)\n"
"and Azure Pipelines (strategy: parallel:) say the node index and total;\n"
"GitLab CI, Semaphore and Azure count from 1, which satchel turns into 0.\n"
"Elsewhere set SATCHEL_NODE_INDEX and SATCHEL_NODE_TOTAL for each parallel\n"
"job; on GitHub Actions from the matrix: ${{ strategy.job-index }} and\n"
"${{ strategy.job-total }}.\n"
"\n"
"Knapsack Pro's variables are read where the SATCHEL_ one is unset:\n"
"  KNAPSACK_PRO_CI_NODE_INDEX                SATCHEL_NODE_INDEX\n"
"  KNAPSACK_PRO_CI_NODE_TOTAL                SATCHEL_NODE_TOTAL\n"
"  KNAPSACK_PRO_CI_NODE_BUILD_ID             SATCHEL_BUILD_ID\n"
"  KNAPSACK_PRO_COMMIT_HASH                  SATCHEL_COMMIT\n"
"  KNAPSACK_PRO_BRANCH                       SATCHEL_BRANCH\n"
"  KNAPSACK_PRO_TEST_FILE_PATTERN            SATCHEL_TEST_PATTERN (Ruby's\n"
"                                            {a,b} braces work as there)\n"
"  KNAPSACK_PRO_TEST_FILE_EXCLUDE_PATTERN    SATCHEL_TEST_EXCLUDE\n"
"  KNAPSACK_PRO_TEST_FILE_LIST_SOURCE_FILE   SATCHEL_TESTS_FROM (as in Knapsack\n"
"                                            Pro, it wins over the two above)\n"
"  KNAPSACK_PRO_FIXED_QUEUE_SPLIT            SATCHEL_FIXED_QUEUE_SPLIT\n"
"  KNAPSACK_PRO_FIXED_TEST_SUITE_SPLIT       SATCHEL_FIXED_TEST_SUITE_SPLIT\n"
"  KNAPSACK_PRO_FALLBACK_MODE_ENABLED        SATCHEL_FALLBACK\n"
"  KNAPSACK_PRO_LOG_LEVEL                    SATCHEL_LOG_LEVEL (fatal is error)\n"
"\n"
"A retried CI job (a new run on a node that already had batches in this\n"
"build) is given the same tests again, batch by batch, then carries on with\n"
"the queue.\n"
"\n"
"Exit status: 0 if every test this node ran passed in the end (a failure\n"
"that passed when run again is flaky, not failed), 1 if one failed, the\n"
"build stopped (--fail-fast) or satchel could not do its work (the message\n"
"says why), 2 for a usage error.\n", out);
}

void
run_options_env_usage (FILE *out)
{
    fputs (
"Usage: satchel env [OPTIONS] [-- COMMAND [ARGS...]]\n"
"\n"
"Show every setting 'satchel run' would use with these options in this\n"
"environment, and where each came from: a flag, a SATCHEL_ variable, a\n"
"KNAPSACK_PRO_ variable, the CI system (which is detected, and how it\n"
"counts its nodes), or the default. Nothing is run and satcheld is not\n"
"asked. Takes the options of 'satchel run' (see satchel run --help); what a\n"
"run would need but is missing is shown, with how to give it.\n"
"\n"
"Exit status: 0, or 2 for a usage error (an unknown flag, a bad value).\n", out);
}
