/* cmd_tool.c - `plait tool`: one agent tool run on a repository from the
 * command line, or the list of tools with their schemas. */
#include "cli/cli.h"

#include <string.h>

#include "tools/tools.h"

static const char tool_usage[] =
	"usage: plait tool --list [--json]\n"
	"       plait tool NAME --args JSON [--repo DIR] [--json]\n"
	"\n"
	"Runs one agent tool on a repository (the current directory unless --repo)\n"
	"and prints its observation: the text a model would read, or with --json\n"
	"the whole observation (files touched, truncation, structured data).\n"
	"Exits 1 when the tool reports an error.\n"
	"\n"
	"Options:\n"
	"  --list         list the tools and what each does (--json: their schemas)\n"
	"  --args JSON    the tool's arguments, a JSON object (default {})\n"
	"  --repo DIR     the repository or directory to work on (default .)\n"
	"  --json         print JSON instead of text\n"
	"  -h, --help     show this help\n";

enum { O_LIST = 1, O_JSON, O_ARGS, O_REPO };

static const cli_opt tool_opts[] = {
	{ "list", 0, false, O_LIST },
	{ "json", 0, false, O_JSON },
	{ "args", 0, true, O_ARGS },
	{ "repo", 0, true, O_REPO },
	{ NULL, 0, false, 0 },
};

static void print_json(const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, true);
	puts(b.ptr);
	pl_buf_release(&b);
}

int cli_cmd_tool(int argc, char **argv, const cli_ctx *cctx)
{
	const char *name = NULL, *args_text = "{}", *repo = ".", *v;
	const tools_def *const *all;
	bool list = false, as_json = false;
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
		print_json(l);
		json_decref(l);
		return CLI_EXIT_OK;
	}
	if (!name)
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "give a tool name or --list");
	if (!tools_find(name))
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "unknown tool '%s' (plait tool --list)", name);
	if (pl_json_parse(&args, args_text, strlen(args_text), "--args", &err) < 0)
		return cli_fail(cctx, "tool", CLI_EXIT_USAGE, "%s", err.msg);
	opts.log = cctx ? cctx->log : NULL;
	if (tools_ctx_new(&ctx, repo, &opts, &err) < 0) {
		json_decref(args);
		return cli_fail_err(cctx, "tool", &err);
	}
	tools_obs_init(&obs);
	tools_call(&obs, ctx, name, args, &err);
	if (as_json) {
		json_t *o = tools_obs_json(&obs);

		print_json(o);
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
