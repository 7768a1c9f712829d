/*  satchel: the agent a CI job runs. A thin main that dispatches to the
    subcommand.                                                             */
#include "admin_command.h"
#include "env_command.h"
#include "history_command.h"
#include "report_command.h"
#include "import_command.h"
#include "keygen.h"
#include "log.h"
#include "run.h"
#include "run_options.h"
#include "runner.h"
#include "status_command.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fputs ("Usage: satchel COMMAND [OPTIONS]\n"
           "\n"
           "Commands:\n"
           "  run [OPTIONS] -- TEST_COMMAND [ARGS...]   run this node's share of a build\n"
           "  env [OPTIONS]                             show the settings run would use\n"
           "                                            here, and where each came from\n"
           "  import --suite NAME FILE...               add timing files of other tools\n"
           "                                            to a suite's history\n"
           "  keygen [--suites A,B] [--admin] NAME      write a CurveZMQ key pair: NAME\n"
           "                                            and NAME_secret\n"
           "  status [--json]                           how satcheld is (an admin request)\n"
           "  builds [--suite S] [--limit N] [--json]   the recent builds (admin)\n"
           "  build ID [--json]                         one build, node by node (admin)\n"
           "  report --build ID --output FILE.html      one build as an HTML page (admin)\n"
           "  tests --suite S --slowest N|--flaky|--trend UNIT   a suite's tests (admin)\n"
           "  export --suite S [--format json|csv]      a suite's history (admin)\n"
           "  admin backup FILE | admin check           copy or check satcheld's database\n"
           "                                            while it serves (admin requests)\n"
           "\n"
           "  satchel run --help    options of run (env takes the same)\n"
           "  satchel env --help    what env shows\n"
           "  satchel --version     the version\n", out);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "help") == 0) {
        s_usage (stdout);
        return 0;
    }
    if (strcmp (argv[1], "--version") == 0) {
        printf ("satchel %s\n", SATCHEL_VERSION);
        return 0;
    }
    if (strcmp (argv[1], "env") == 0)
        return env_command_main (argc - 1, argv + 1);
    if (strcmp (argv[1], "import") == 0) {
        int rc = import_command_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "admin") == 0) {
        int rc = admin_command_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "tests") == 0 || strcmp (argv[1], "export") == 0) {
        int rc = history_command_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "builds") == 0 || strcmp (argv[1], "build") == 0
    ||  strcmp (argv[1], "report") == 0) {
        int rc = report_command_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "status") == 0) {
        int rc = status_command_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "keygen") == 0) {
        int rc = keygen_main (argc - 1, argv + 1);
        zsys_shutdown ();
        return rc;
    }
    if (strcmp (argv[1], "run") != 0) {
        fprintf (stderr, "satchel: unknown command '%s'\n", argv[1]);
        s_usage (stderr);
        return 2;
    }
    run_options_t options;
    run_options_result_t parsed = run_options_parse (argc - 1, argv + 1, &options);
    if (parsed != RUN_OPTIONS_OK) {
        run_options_clear (&options);
        return parsed == RUN_OPTIONS_HELP ? 0 : 2;
    }
    log_setup (options.log_level, "satchel: ");
    if (runner_install_signals () != 0) {
        log_say ("error: cannot install signal handlers");
        run_options_clear (&options);
        return 1;
    }
    int rc = run_main (&options);
    run_options_clear (&options);
    zsys_shutdown ();
    return rc;
}
