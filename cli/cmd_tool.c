/* cmd_tool.c - `plait tool`: one agent tool run on a repository from the
 * command line, the list of tools with their schemas, or a session of
 * calls over standard input and output (--stdio) that keeps its state (undo
 * history, shell session, base commit) as the agent's does. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tools.h"

static const char tool_usage[] =
	"usage: plait tool --list [--json]\n"
	"       plait tool NAME --args JSON [--repo DIR] [--base REV] [--json]\n"
	"       plait tool --stdio [--repo DIR] [--base REV]\n"
	"\n"
	"Runs one agent tool on a repository (the current directory unless --repo)\n"
	"and prints its observation: the text a model would read, or with --json\n"
	"the whole observation (files touched, truncation, structured data).\n"
	"Exits 1 when the tool reports an error.\n"
	"\n"
	"With --stdio, reads one JSON request per line, {\"id\": ..., \"tool\": NAME,\n"
	"\"args\": {...}}, and answers each with one JSON line: the observation\n"
	"with the request's id, {\"id\", \"text\", \"files\", \"exit_code\", \"truncated\",\n"
	"\"is_error\", \"finished\", \"data\"}, plus \"error\" when the request itself\n"
	"was wrong.  One context serves the whole session, as in an agent run:\n"
	"undo history, the shell session and the base commit last until the end\n"
	"of the input.  Exits 0 at the end of the input.\n"
	"\n"
	"Options:\n"
	"  --list         list the tools and what each does (--json: their schemas)\n"
	"  --args JSON    the tool's arguments, a JSON object (default {})\n"
	"  --repo DIR     the repository or directory to work on (default .)\n"
	"  --base REV     the commit diff, status and submit compare with (default\n"
	"                 HEAD when the context opens)\n"
	"  --profile P    the sandbox profile of the bash tool (default agent)\n"
	"  --allow-empty-submit  submit ends at once on an empty patch (by default\n"
	"                 it is refused once, with a warning)\n"
	"  --stdio        a session of calls over standard input and output\n"
	"  --json         print JSON instead of text\n"
	"  -h, --help     show this help\n"
	"\n"
	"In JSON, a string of data that is not valid UTF-8 (a patch of a Latin-1\n"
	"file) is given as KEY_base64 instead of KEY.\n";

enum { O_LIST = 1, O_JSON, O_ARGS, O_REPO, O_BASE, O_PROFILE, O_ALLOW_EMPTY, O_STDIO };

static const cli_opt tool_opts[] = {
	{ "list", 0, false, O_LIST },
	{ "json", 0, false, O_JSON },
	{ "args", 0, true, O_ARGS },
	{ "repo", 0, true, O_REPO },
	{ "base", 0, true, O_BASE },
	{ "profile", 0, true, O_PROFILE },
	{ "allow-empty-submit", 0, false, O_ALLOW_EMPTY },
	{ "stdio", 0, false, O_STDIO },
	{ NULL, 0, false, 0 },
};

static void print_json(const json_t *v, bool pretty)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, pretty);
	puts(b.ptr);
	pl_buf_release(&b);
}

/* One request line of --stdio, answered with one line. */
static void serve_line(tools_ctx *ctx, const char *line, size_t len)
{
	json_t *req = NULL, *id = NULL, *answer, *empty = NULL;
	const json_t *args;
	const char *name;
	tools_obs obs;
	pl_err err = { 0 };

	tools_obs_init(&obs);
	if (pl_json_parse(&req, line, len, "request", &err) < 0 || !json_is_object(req)) {
		if (!err.msg[0])
			pl_err_set(&err, PL_EINVAL, "request: must be a JSON object, got %s", pl_json_type_name(req));
		goto bad;
	}
	id = json_object_get(req, "id");
	name = json_string_value(json_object_get(req, "tool"));
	args = json_object_get(req, "args");
	if (!name) {
		pl_err_set(&err, PL_EINVAL, "request: \"tool\" must be the name of a tool (plait tool --list)");
		goto bad;
	}
	if (!args || json_is_null(args))
		args = empty = json_object(); /* no arguments: {} */
	tools_call(&obs, ctx, name, args, &err);
	answer = cli_obs_json(&obs);
	goto out;
bad:
	pl_buf_printf(&obs.text, "error: %s", err.msg);
	obs.is_error = true;
	answer = cli_obs_json(&obs);
	pl_json_set(answer, "error", json_string(err.msg));
out:
	{
		/* the id first, for a reader matching answers to requests */
		json_t *line_out = json_object();
		pl_json_set(line_out, "id", id ? json_incref(id) : json_null());
		json_object_update(line_out, answer);
		print_json(line_out, false);
		json_decref(line_out);
	}
	fflush(stdout);
	json_decref(answer);
	json_decref(empty);
	json_decref(req);
	tools_obs_release(&obs);
}

static int serve_stdio(tools_ctx *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (!len)
			continue;
		serve_line(ctx, line, len);
	}
	free(line);
	return CLI_EXIT_OK;
}

int cli_cmd_tool(int argc, char **argv, const cli_ctx *cctx)
{
	const char *name = NULL, *args_text = NULL, *repo = ".", *v;
	const tools_def *const *all;
	bool list = false, as_json = false, stdio_mode = false;
	json_t *args = NULL;
	tools_ctx *ctx = NULL;
	tools_ctx_opts opts = { 0 };
	tools_obs obs;
	pl_err err = { 0 };
	size_t n_tools, k;
	int status = CLI_EXIT_OK, id;
	cli_args a;

	all = tools_all(&n_tools);
	if (cli_wants_help(argc, argv)) {
		fputs(tool_usage, stdout);
		fputs("\ntools:\n", stdout);
		for (k = 0; k < n_tools; k++)
			printf("  %s\n", all[k]->name);
		return CLI_EXIT_OK;
	}
	cli_args_init(&a, argc, argv, 1, "tool", tool_opts, cctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			return CLI_EXIT_USAGE;
		case O_LIST:
			list = true;
			break;
		case O_JSON:
			as_json = true;
			break;
		case O_ARGS:
			args_text = v;
			break;
		case O_REPO:
			repo = v;
			break;
		case O_BASE:
			opts.base = v;
			break;
		case O_PROFILE:
			opts.sandbox_profile = v;
			break;
		case O_ALLOW_EMPTY:
			opts.allow_empty_submit = true;
			break;
		case O_STDIO:
			stdio_mode = true;
			break;
		case CLI_POS:
			if (name)
				return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
			name = v;
			break;
		}
	}
	if (list) {
		json_t *l;

		if (name)
			return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "--list takes no tool name");
		if (!as_json) {
			for (k = 0; k < n_tools; k++)
				printf("%-12s %s\n\n", all[k]->name, all[k]->description);
			return CLI_EXIT_OK;
		}
		l = tools_list_json();
		print_json(l, true);
		json_decref(l);
		return CLI_EXIT_OK;
	}
	if (stdio_mode && (name || args_text))
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "--stdio reads the tools and their arguments from standard input");
	if (!stdio_mode && !name)
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "give a tool name or --list (or --stdio)");
	if (name && !tools_find(name))
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "unknown tool '%s' (plait tool --list)", name);
	if (!stdio_mode && pl_json_parse(&args, args_text ? args_text : "{}", strlen(args_text ? args_text : "{}"),
					 "--args", &err) < 0)
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "%s", err.msg);
	opts.log = cctx ? cctx->log : NULL;
	if (tools_ctx_new(&ctx, repo, &opts, &err) < 0) {
		json_decref(args);
		return cli_fail_err(cctx, "tool", &err);
	}
	if (stdio_mode) {
		status = serve_stdio(ctx);
		tools_ctx_free(ctx);
		return status;
	}
	tools_obs_init(&obs);
	tools_call(&obs, ctx, name, args, &err);
	if (as_json) {
		json_t *o = cli_obs_json(&obs);

		print_json(o, true);
		json_decref(o);
	} else {
		fwrite(obs.text.ptr, 1, obs.text.len, stdout);
		if (!obs.text.len || obs.text.ptr[obs.text.len - 1] != '\n')
			putchar('\n');
	}
	if (obs.is_error)
		status = CLI_EXIT_FAIL;
	tools_obs_release(&obs);
	tools_ctx_free(ctx);
	json_decref(args);
	return status;
}
