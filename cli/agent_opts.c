/* agent_opts.c - the options every command that talks to a model shares
 * (backend flags, --config, --profile, --set), turned into the agent's
 * settings with each flag named as the source of its value. */
#define _GNU_SOURCE /* realpath */
#include "cli/cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tools.h"

const char cli_agent_usage[] =
	"Model options (the same on every command that talks to a model):\n"
	"  --backend NAME       engine (in-process), openai (any OpenAI-compatible\n"
	"                       server) or anthropic\n"
	"  --model DIR          engine: a model directory, or a model's name under\n"
	"                       model_dirs\n"
	"  --api-base URL       HTTP: the server (default OPENAI_BASE_URL, else the\n"
	"                       vendor's)\n"
	"  --api-model NAME     HTTP: the model name sent with each request\n"
	"  --api-key-env VAR    HTTP: the variable holding the key (default\n"
	"                       OPENAI_API_KEY or ANTHROPIC_API_KEY)\n"
	"  --temperature T      sampling temperature (0 = greedy)\n"
	"  --top-p P            nucleus sampling (1 = off)\n"
	"  --max-tokens N       tokens per model call\n"
	"  --seed N             sampling seed\n"
	"  --config FILE        a configuration file read after the usual ones\n"
	"  --profile NAME       a profile in configs/agent/ (or a path)\n"
	"  --set KEY=VALUE      any setting (plait config show lists them)\n";

/* flag -> settings key */
static const struct {
	int id;
	const char *key;
} keys[] = {
	{ CLI_AO_BACKEND, "backend.name" },       { CLI_AO_MODEL, "backend.model" },
	{ CLI_AO_API_BASE, "backend.api_base" },  { CLI_AO_API_MODEL, "backend.api_model" },
	{ CLI_AO_API_KEY_ENV, "backend.api_key_env" }, { CLI_AO_TEMPERATURE, "sampling.temperature" },
	{ CLI_AO_TOP_P, "sampling.top_p" },       { CLI_AO_MAX_TOKENS, "sampling.max_tokens" },
	{ CLI_AO_SEED, "sampling.seed" },
};

void cli_agent_opts_init(cli_agent_opts *o, const char *profile)
{
	memset(o, 0, sizeof(*o));
	o->profile = profile;
	o->sets = json_array();
}

void cli_agent_opts_release(cli_agent_opts *o)
{
	json_decref(o->sets);
	o->sets = NULL;
}

void cli_agent_opts_set(cli_agent_opts *o, const char *key, const char *value, const char *flag)
{
	json_array_append_new(o->sets, json_pack("[s, s, s]", key, value, flag));
}

int cli_agent_opt(cli_agent_opts *o, const cli_args *a, int id, const char *val)
{
	size_t i;

	if (id == CLI_AO_CONFIG) {
		o->config = val;
		return 1;
	}
	if (id == CLI_AO_PROFILE) {
		o->profile = val;
		return 1;
	}
	if (id == CLI_AO_SET) {
		const char *eq = strchr(val, '=');
		char *key;

		if (!eq || eq == val) {
			cli_bad_value(a, val, "expected KEY=VALUE (plait config show lists the keys)");
			return -1;
		}
		key = pl_xstrndup(val, (size_t)(eq - val));
		json_array_append_new(o->sets, json_pack("[s, s, s]", key, eq + 1, "--set"));
		free(key);
		return 1;
	}
	for (i = 0; i < PL_ARRAY_LEN(keys); i++)
		if (keys[i].id == id) {
			json_array_append_new(o->sets, json_pack("[s, s, s]", keys[i].key, val, a->opt));
			return 1;
		}
	return 0;
}

int cli_agent_settings(agent_config **cfg_out, agent_settings **out, cli_agent_opts *o, bool check, const cli_ctx *ctx,
		       const char *cmd)
{
	agent_config *cfg = NULL;
	agent_config_opts co = { 0 };
	agent_settings *s = NULL;
	agent_settings_opts so = { 0 };
	pl_err err = { 0 };
	json_t *x;
	size_t i;

	co.file = o->config;
	if (agent_config_load(&cfg, &co, &err) < 0)
		return cli_fail_err(ctx, cmd, &err);
	so.profile = o->profile;
	so.config = cfg;
	if (agent_settings_load(&s, &so, &err) < 0) {
		/* the profile: named on the command line or the command's own */
		agent_config_free(cfg);
		return cli_fail(ctx, cmd, CLI_EXIT_USAGE, "%s", err.msg);
	}
	json_array_foreach(o->sets, i, x) {
		if (agent_settings_set(s, json_string_value(json_array_get(x, 0)), json_string_value(json_array_get(x, 1)),
				       json_string_value(json_array_get(x, 2)), &err) < 0) {
			agent_settings_free(s);
			agent_config_free(cfg);
			return cli_fail(ctx, cmd, CLI_EXIT_USAGE, "%s", err.msg);
		}
	}
	if (check && agent_settings_check(s, &err) < 0) {
		agent_settings_free(s);
		agent_config_free(cfg);
		return cli_fail(ctx, cmd, CLI_EXIT_USAGE, "%s", err.msg);
	}
	*cfg_out = cfg;
	*out = s;
	return CLI_EXIT_OK;
}

char *cli_agent_root(const char *dir, const char *cmd)
{
	char real[PATH_MAX];
	pl_buf top = PL_BUF_INIT;

	if (!realpath(dir, real))
		return NULL;
	if (tools_git_toplevel(&top, real, NULL) < 0 || !strcmp(top.ptr, real)) {
		pl_buf_release(&top);
		return pl_xstrdup(real);
	}
	fprintf(stderr,
		"plait %s: '%s' is inside the repository '%s': working on the whole repository (paths are "
		"relative to its root)\n",
		cmd, real, top.ptr);
	return pl_buf_detach(&top, NULL);
}
