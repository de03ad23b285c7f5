/* config.c - the user configuration files: where models and datasets
 * live, and the agent's settings sections (checked here, applied by
 * settings.c).  Merge order and rules are in agent.h. */
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *const default_model_dirs[] = {
	"~/.local/share/plait/models",
	"/usr/local/share/plait/models",
	"/usr/share/plait/models",
	NULL,
};

static const char *const default_data_dirs[] = {
	"~/.local/share/plait/datasets",
	"/usr/local/share/plait/datasets",
	NULL,
};

static char **list_free(char **l)
{
	size_t i;

	for (i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
	return NULL;
}

static size_t list_len(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static void list_push(char ***l, char *s)
{
	size_t n = list_len(*l);

	*l = pl_xrealloc(*l, (n + 2) * sizeof(**l));
	(*l)[n] = s;
	(*l)[n + 1] = NULL;
}

static char **list_from_defaults(const char *const *d, char *const *envp)
{
	char **l = NULL;

	for (; *d; d++)
		list_push(&l, agent__expand_home(*d, envp));
	return l;
}

/* Replace *dst with the strings of a JSON array. */
static int list_from_json(char ***dst, const json_t *arr, const char *what, const char *key,
			  char *const *envp, pl_err *err)
{
	char **l = NULL;
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return pl_err_set(err, PL_EFORMAT, "%s: \"%s\" must be an array of directory names", what, key);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !*json_string_value(v)) {
			list_free(l);
			return pl_err_set(err, PL_EFORMAT, "%s: \"%s\"[%zu] must be a non-empty string", what,
					  key, i);
		}
		list_push(&l, agent__expand_home(json_string_value(v), envp));
	}
	if (!l)
		l = pl_xcalloc(1, sizeof(*l));
	list_free(*dst);
	*dst = l;
	return 0;
}

static int merge_file(agent_config *cfg, const char *path, bool required, char *const *envp, pl_err *err)
{
	json_t *root = NULL, *v, *layer = NULL;
	const char *key;
	int rc;

	if (!required && !pl_file_exists(path))
		return 0;
	if ((rc = pl_json_load_file(&root, path, err)) < 0) {
		if (rc == PL_ENOTFOUND)
			pl_err_set(err, rc, "config file '%s' does not exist", path);
		return rc;
	}
	if (!json_is_object(root)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: the configuration must be a JSON object", path);
		goto done;
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "model_dirs"))
			rc = list_from_json(&cfg->model_dirs, v, path, key, envp, err);
		else if (!strcmp(key, "data_dirs"))
			rc = list_from_json(&cfg->data_dirs, v, path, key, envp, err);
		else if (key[0] == '_' || !strcmp(key, "$comment"))
			rc = 0; /* comments */
		else if (agent__settings_is_section(key)) {
			if ((rc = agent__settings_check_section(key, v, path, err)) == 0) {
				if (!layer)
					layer = json_object();
				pl_json_set(layer, key, json_incref(v));
			}
		} else
			rc = pl_err_set(err, PL_EFORMAT,
					"%s: unknown key \"%s\" (known: model_dirs, data_dirs, %s)", path, key,
					agent__settings_sections());
		if (rc < 0)
			goto done;
	}
	list_push(&cfg->files, pl_xstrdup(path));
	if (layer) {
		json_array_append_new(cfg->layers, json_pack("{s:s, s:o}", "source", path, "settings", layer));
		layer = NULL;
	}
done:
	json_decref(layer);
	json_decref(root);
	return rc;
}

/* Put the colon-separated directories of an environment variable first. */
static void prepend_env(char ***l, const char *value, char *const *envp)
{
	char **out = NULL, *copy, *tok, *save;
	size_t i;

	if (!value || !*value)
		return;
	copy = pl_xstrdup(value);
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		list_push(&out, agent__expand_home(tok, envp));
	free(copy);
	for (i = 0; *l && (*l)[i]; i++)
		list_push(&out, (*l)[i]);
	free(*l);
	*l = out;
}

int agent_config_load(agent_config **out, const agent_config_opts *opts, pl_err *err)
{
	static const agent_config_opts none = { 0 };
	char *const *envp;
	agent_config *cfg = pl_xcalloc(1, sizeof(*cfg));
	pl_buf user = PL_BUF_INIT;
	const char *xdg, *sys;
	int rc;

	if (!opts)
		opts = &none;
	envp = opts->envp ? opts->envp : environ;
	cfg->model_dirs = list_from_defaults(default_model_dirs, envp);
	cfg->data_dirs = list_from_defaults(default_data_dirs, envp);
	cfg->files = pl_xcalloc(1, sizeof(*cfg->files));
	cfg->layers = json_array();

	sys = opts->system_file ? opts->system_file : "/etc/plait/config.json";
	if (*sys && (rc = merge_file(cfg, sys, false, envp, err)) < 0)
		goto done;
	xdg = agent__env_get(envp, "XDG_CONFIG_HOME");
	if (xdg && *xdg) {
		pl_path_join(&user, xdg, "plait/config.json");
	} else {
		char *home = agent__expand_home("~/.config/plait/config.json", envp);

		pl_buf_puts(&user, home);
		free(home);
	}
	if ((rc = merge_file(cfg, user.ptr, false, envp, err)) < 0)
		goto done;
	if (opts->file && (rc = merge_file(cfg, opts->file, true, envp, err)) < 0)
		goto done;
	prepend_env(&cfg->model_dirs, agent__env_get(envp, "PLAIT_MODEL_PATH"), envp);
	prepend_env(&cfg->data_dirs, agent__env_get(envp, "PLAIT_DATA_PATH"), envp);
	*out = cfg;
	cfg = NULL;
done:
	pl_buf_release(&user);
	agent_config_free(cfg);
	return rc;
}

void agent_config_free(agent_config *cfg)
{
	if (!cfg)
		return;
	list_free(cfg->model_dirs);
	list_free(cfg->data_dirs);
	list_free(cfg->files);
	json_decref(cfg->layers);
	free(cfg);
}

json_t *agent_credentials_present(char *const *envp)
{
	static const char *const names[] = { "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY" };
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(names); i++) {
		const char *v = agent__env_get(envp, names[i]);

		if (v && *v)
			json_array_append_new(arr, json_string(names[i]));
	}
	return arr;
}
