/* plait.c - main(): global options, then hand argv to a subcommand. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	const cli_cmd *cmds;
	size_t n, i;

	fprintf(out,
		"usage: plait [--version] [--help] [-v|--verbose] [-q|--quiet] <command> [<args>]\n"
		"\n"
		"plait is a runtime for code agents built on Parallel Loop Transformer coders.\n"
		"\n"
		"Commands:\n");
	cmds = cli_commands(&n);
	for (i = 0; i < n; i++)
		fprintf(out, "   %-12s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "   %-12s %s\n", "help", "show this list, or a command's help: plait help <command>");
	fprintf(out, "\n'plait <command> --help' describes a command and its options.\n");
}

int main(int argc, char **argv)
{
	pl_log log;
	cli_ctx ctx = { &log, "plait" };
	pl_log_level level = PL_LOG_WARN;
	const cli_cmd *cmd;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("plait %s\n", PLAIT_VERSION);
			return CLI_EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return CLI_EXIT_OK;
		} else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			level = level < PL_LOG_DEBUG ? level + 1 : level;
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			level = PL_LOG_ERROR;
		} else {
			fprintf(stderr, "plait: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	pl_log_init(&log, level, stderr);
	log.color = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
	if (i == argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		char *help_argv[3];

		if (i + 1 >= argc) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (!(cmd = cli_find(argv[i + 1]))) {
			fprintf(stderr, "plait: '%s' is not a plait command; see 'plait help'\n", argv[i + 1]);
			return CLI_EXIT_USAGE;
		}
		help_argv[0] = argv[i + 1];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return cmd->run(2, help_argv, &ctx);
	}
	if (!(cmd = cli_find(argv[i]))) {
		fprintf(stderr, "plait: '%s' is not a plait command; see 'plait help'\n", argv[i]);
		return CLI_EXIT_USAGE;
	}
	return cmd->run(argc - i, argv + i, &ctx);
}
