/* cli.c - the few helpers every subcommand shares for help and errors. */
#include "common.h"

#include <string.h>

bool pl_cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

int pl_cli_fail(const pl_cmd_ctx *ctx, const char *cmd, int exit_code, const char *fmt, ...)
{
	const char *argv0 = ctx && ctx->argv0 ? ctx->argv0 : "plait";
	va_list ap;

	fprintf(stderr, "%s %s: ", argv0, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (exit_code == PL_EXIT_USAGE)
		fprintf(stderr, "try '%s %s --help'\n", argv0, cmd);
	return exit_code;
}

int pl_cli_fail_err(const pl_cmd_ctx *ctx, const char *cmd, const pl_err *err)
{
	return pl_cli_fail(ctx, cmd, PL_EXIT_FAIL, "%s", err && err->msg[0] ? err->msg : "failed");
}
