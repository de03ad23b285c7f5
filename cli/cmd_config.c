/* cmd_config.c - `plait config show`: the effective configuration and
 * where each value came from; `plait config keys`: every setting. */
#include "cli/cli.h"

#include <string.h>

static const char config_usage[] =
	"usage: plait config show [--for fix|chat] [--json] [model options]\n"
	"       plait config keys [--json]\n"
	"\n"
	"show prints every setting's effective value for a command and where it came\n"
	"from: the default, the profile (plait fix's \"swebench\" unless --for chat\n"
	"picks plait chat's \"chat\", or --profile NAME), a configuration file, or a\n"
	"flag.  Then the configuration files read and the model and data directories.\n"
	"The flags of the model commands are accepted, so a command line can be\n"
	"checked before it runs.\n"
	"keys lists every setting with its type, default and meaning.\n";

enum { O_JSON = 1, O_FOR };

static const cli_opt config_opts[] = {
	{ "json", 0, false, O_JSON },
	{ "for", 0, true, O_FOR },
	CLI_AGENT_OPTS,
	{ NULL, 0, false, 0 },
};

static void print_json(const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, true);
	puts(b.ptr);
	pl_buf_release(&b);
}

static void print_list(const char *title, char **l)
{
	printf("%s:\n", title);
	if (!l || !l[0])
		printf("  (none)\n");
	for (; l && *l; l++)
		printf("  %s\n", *l);
}

static int keys(bool json)
{
	json_t *k = agent_settings_keys(), *x;
	size_t i;

	if (json) {
		print_json(k);
	} else {
		json_array_foreach(k, i, x) {
			pl_buf d = PL_BUF_INIT;

			pl_json_dump(&d, json_object_get(x, "default"), false);
			printf("%-26s %-26s default %s\n    %s\n", json_string_value(json_object_get(x, "key")),
			       json_string_value(json_object_get(x, "type")), d.ptr,
			       json_string_value(json_object_get(x, "description")));
			pl_buf_release(&d);
		}
	}
	json_decref(k);
	return CLI_EXIT_OK;
}

int cli_cmd_config(int argc, char **argv, const cli_ctx *ctx)
{
	const char *sub = NULL, *v, *for_cmd = NULL;
	bool json = false, profile_given = false;
	cli_agent_opts ao;
	agent_config *cfg = NULL;
	agent_settings *s = NULL;
	int id, status = CLI_EXIT_OK, r;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(config_usage, stdout);
		fputs("\n", stdout);
		fputs(cli_agent_usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_agent_opts_init(&ao, NULL);
	cli_args_init(&a, argc, argv, 1, "config", config_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			status = CLI_EXIT_USAGE;
			goto done;
		case O_JSON: json = true; break;
		case O_FOR:
			if (strcmp(v, "fix") && strcmp(v, "chat")) {
				status = cli_bad_value(&a, v, "expected fix or chat");
				goto done;
			}
			for_cmd = v;
			break;
		case CLI_POS:
			if (sub) {
				status = cli_fail(ctx, "config", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
				goto done;
			}
			sub = v;
			break;
		default:
			if (id == CLI_AO_PROFILE)
				profile_given = true;
			if ((r = cli_agent_opt(&ao, &a, id, v)) <= 0) {
				status = CLI_EXIT_USAGE;
				goto done;
			}
		}
	}
	/* the settings a command would run with: plait fix's unless --for or
	 * --profile says otherwise (the bare defaults are no command's) */
	if (!profile_given) {
		if (!for_cmd)
			for_cmd = "fix";
		ao.profile = !strcmp(for_cmd, "chat") ? "chat" : "swebench";
	} else if (for_cmd) {
		status = cli_fail(ctx, "config", CLI_EXIT_USAGE, "--for and --profile do not go together");
		goto done;
	}
	if (!sub || (strcmp(sub, "show") && strcmp(sub, "keys"))) {
		status = cli_fail(ctx, "config", CLI_EXIT_USAGE, "expected 'show' or 'keys'");
		goto done;
	}
	if (!strcmp(sub, "keys")) {
		status = keys(json);
		goto done;
	}
	if ((status = cli_agent_settings(&cfg, &s, &ao, false, ctx, "config")) != CLI_EXIT_OK)
		goto done;
	if (json) {
		json_t *o = json_object(), *files = json_array(), *md = json_array(), *dd = json_array();
		char **l;

		for (l = cfg->files; *l; l++)
			json_array_append_new(files, json_string(*l));
		for (l = cfg->model_dirs; *l; l++)
			json_array_append_new(md, json_string(*l));
		for (l = cfg->data_dirs; *l; l++)
			json_array_append_new(dd, json_string(*l));
		pl_json_set(o, "for", for_cmd ? json_string(for_cmd) : json_null());
		pl_json_set(o, "profile", ao.profile ? json_string(ao.profile) : json_null());
		pl_json_set(o, "files", files);
		pl_json_set(o, "model_dirs", md);
		pl_json_set(o, "data_dirs", dd);
		pl_json_set(o, "settings", agent_settings_json(s, true));
		print_json(o);
		json_decref(o);
	} else {
		json_t *all = agent_settings_json(s, true), *x;
		const char *k;
		bool c = cli_use_color(stdout);

		if (for_cmd)
			printf("%ssettings of plait %s (profile %s; --for %s shows plait %s's)%s\n", cli_c(c, CLI_BOLD), for_cmd,
			       ao.profile, !strcmp(for_cmd, "fix") ? "chat" : "fix", !strcmp(for_cmd, "fix") ? "chat" : "fix",
			       cli_c(c, CLI_RESET));
		else
			printf("%ssettings with profile %s%s\n", cli_c(c, CLI_BOLD), ao.profile, cli_c(c, CLI_RESET));

		json_object_foreach(all, k, x) {
			pl_buf val = PL_BUF_INIT;

			pl_json_dump(&val, json_object_get(x, "value"), false);
			printf("%-26s %s  %s(%s)%s\n", k, val.ptr, cli_c(c, CLI_DIM),
			       json_string_value(json_object_get(x, "source")), cli_c(c, CLI_RESET));
			pl_buf_release(&val);
		}
		json_decref(all);
		printf("\n");
		print_list("configuration files read", cfg->files);
		print_list("model directories", cfg->model_dirs);
		print_list("data directories", cfg->data_dirs);
	}
done:
	agent_settings_free(s);
	agent_config_free(cfg);
	cli_agent_opts_release(&ao);
	return status;
}
