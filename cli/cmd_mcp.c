/* cmd_mcp.c - `plait mcp`: plait's tools for other agents (Claude Code,
 * Codex CLI, OpenCode, Goose, any MCP client) over the Model Context
 * Protocol's stdio transport: one JSON-RPC message per line on standard
 * input, one answer per line on standard output, diagnostics on standard
 * error.  The protocol is in mcp.c and jsonrpc.c; this file is the
 * command: options, the context, the lines in and out. */
#include "cli/cli.h"
#include "cli/mcp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tools.h"

static const char mcp_usage[] =
	"usage: plait mcp [--repo DIR] [--base REV] [--profile P] [--tools LIST]\n"
	"\n"
	"Serves plait's agent tools over the Model Context Protocol (MCP) on standard\n"
	"input and output, for an MCP client that starts it: Claude Code, Codex CLI,\n"
	"OpenCode, Goose.  One session for the whole connection, as in an agent run:\n"
	"the undo history, the bash tool's sandboxed shell (its working directory and\n"
	"exported variables) and the base commit last until the client closes\n"
	"standard input; then plait exits with status 0.\n"
	"\n"
	"  claude mcp add plait -- plait mcp --repo /path/to/repo\n"
	"  codex mcp add plait -- plait mcp --repo /path/to/repo\n"
	"\n"
	"Options:\n"
	"  --repo DIR     the repository or directory the tools work on (default .)\n"
	"  --base REV     the commit diff, status and submit compare with (default\n"
	"                 HEAD when plait starts)\n"
	"  --profile P    the sandbox profile of the bash tool (default agent)\n"
	"  --tools LIST   serve only these tools, comma-separated (default all;\n"
	"                 plait tool --list names them)\n"
	"  --allow-empty-submit  submit hands in an empty patch at once (by default\n"
	"                 it is refused once, with a warning)\n"
	"  -h, --help     show this help\n"
	"\n"
	"Tool failures, refused arguments included, are tool results with isError\n"
	"for the model to read; an unknown tool, an unknown method and a message\n"
	"that is not JSON-RPC are JSON-RPC errors.  docs/TOOLS.md has the details.\n";

enum { O_REPO = 1, O_BASE, O_PROFILE, O_TOOLS, O_ALLOW_EMPTY };

static const cli_opt mcp_opts[] = {
	{ "repo", 0, true, O_REPO },
	{ "base", 0, true, O_BASE },
	{ "profile", 0, true, O_PROFILE },
	{ "tools", 0, true, O_TOOLS },
	{ "allow-empty-submit", 0, false, O_ALLOW_EMPTY },
	{ NULL, 0, false, 0 },
};

/* "view, bash,search" -> ["view", "bash", "search"]; NULL after printing
 * a usage error. */
static json_t *tool_list(const char *text, const cli_ctx *cctx)
{
	json_t *names = json_array();
	const char *p = text;

	for (;;) {
		size_t n = strcspn(p, ",");
		pl_buf name = PL_BUF_INIT;
		const char *s = p;

		while (s < p + n && *s == ' ')
			s++;
		pl_buf_add(&name, s, (size_t)(p + n - s));
		pl_buf_rtrim(&name);
		if (!name.len || !tools_find(name.ptr)) {
			if (name.len)
				cli_fail(cctx, "mcp", CLI_EXIT_USAGE, "--tools: unknown tool '%s' (plait tool --list)",
					 name.ptr);
			else
				cli_fail(cctx, "mcp", CLI_EXIT_USAGE, "--tools: an empty name in '%s'", text);
			pl_buf_release(&name);
			json_decref(names);
			return NULL;
		}
		json_array_append_new(names, json_string(name.ptr));
		pl_buf_release(&name);
		if (!p[n])
			return names;
		p += n + 1;
	}
}

/* One answer on one line (compact JSON escapes every newline inside). */
static int send_line(const json_t *answer)
{
	pl_buf b = PL_BUF_INIT;
	int rc = 0;

	pl_json_dump(&b, answer, false);
	pl_buf_putc(&b, '\n');
	if (fwrite(b.ptr, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
		rc = -1;
	pl_buf_release(&b);
	return rc;
}

static int serve(cli_mcp *server, const cli_ctx *cctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = CLI_EXIT_OK;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)n;
		json_t *answer;

		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if (!(answer = cli__mcp_serve(server, line, len)))
			continue;
		if (send_line(answer) < 0) {
			/* the client closed its end: nobody reads what is left */
			status = cli_fail(cctx, "mcp", CLI_EXIT_FAIL, "writing to standard output: %s (the client has "
				     "gone)", strerror(errno));
			json_decref(answer);
			break;
		}
		json_decref(answer);
	}
	free(line);
	return status;
}

int cli_cmd_mcp(int argc, char **argv, const cli_ctx *cctx)
{
	const char *repo = ".", *v;
	json_t *only = NULL;
	tools_ctx *ctx = NULL;
	tools_ctx_opts opts = { 0 };
	cli_mcp *server = NULL;
	pl_err err = { 0 };
	int status, id;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(mcp_usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_args_init(&a, argc, argv, 1, "mcp", mcp_opts, cctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			json_decref(only);
			return CLI_EXIT_USAGE;
		case O_REPO:
			repo = v;
			break;
		case O_BASE:
			opts.base = v;
			break;
		case O_PROFILE:
			opts.sandbox_profile = v;
			break;
		case O_TOOLS:
			json_decref(only);
			if (!(only = tool_list(v, cctx)))
				return CLI_EXIT_USAGE;
			break;
		case O_ALLOW_EMPTY:
			opts.allow_empty_submit = true;
			break;
		case CLI_POS:
			json_decref(only);
			return cli_fail(cctx, "mcp", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		}
	}
	opts.log = cctx ? cctx->log : NULL;
	if (tools_ctx_new(&ctx, repo, &opts, &err) < 0) {
		json_decref(only);
		return cli_fail_err(cctx, "mcp", &err);
	}
	if (cli__mcp_new(&server, ctx, only, &err) < 0) {
		json_decref(only);
		tools_ctx_free(ctx);
		return cli_fail_err(cctx, "mcp", &err);
	}
	/* a client that goes away makes writes fail with EPIPE instead of
	 * killing plait before it closes the shell session (the sandbox
	 * resets every signal for the commands it runs) */
	signal(SIGPIPE, SIG_IGN);
	status = serve(server, cctx);
	cli__mcp_free(server);
	tools_ctx_free(ctx);
	json_decref(only);
	return status;
}
