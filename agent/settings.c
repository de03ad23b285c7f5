/* settings.c - the agent's settings: one table of keys (type, default,
 * range, meaning), applied from defaults, a profile, the configuration
 * files and the command line, each value remembering where it came from. */
#include "agent/internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"
#include "tools/tools.h"

typedef enum ktype { K_STR, K_ENUM, K_INT, K_I64, K_REAL, K_BOOL, K_LIST, K_OBJECT } ktype;

typedef struct key {
	const char *name;
	ktype type;
	size_t off;
	const char *def; /* default as text; NULL for the list of every tool */
	double min, max;
	const char *choices; /* K_ENUM: "a|b|c" */
	const char *help;
} key;

#define F(m) offsetof(agent_settings, m)
#define BIG 1e18

static const key keys[] = {
	{ "backend.name", K_ENUM, F(backend), "engine", 0, 0, "engine|openai|anthropic",
	  "where the model runs: the embedded engine, an OpenAI-compatible server, or Anthropic's API" },
	{ "backend.model", K_STR, F(model), "", 0, 0, NULL,
	  "engine: a model directory, or the name of one under model_dirs" },
	{ "backend.api_base", K_STR, F(api_base), "", 0, 0, NULL,
	  "HTTP: the server's base URL; empty = OPENAI_BASE_URL or https://api.openai.com, https://api.anthropic.com" },
	{ "backend.api_model", K_STR, F(api_model), "", 0, 0, NULL, "HTTP: the model name sent with each request" },
	{ "backend.api_key_env", K_STR, F(api_key_env), "", 0, 0, NULL,
	  "HTTP: the environment variable holding the API key; empty = OPENAI_API_KEY or ANTHROPIC_API_KEY" },
	{ "backend.timeout", K_REAL, F(timeout), "300", 0.001, 86400, NULL,
	  "HTTP: seconds without a byte from the server before the attempt is abandoned (and retried)" },
	{ "backend.connect_timeout", K_REAL, F(connect_timeout), "30", 0.001, 3600, NULL,
	  "HTTP: seconds to connect" },
	{ "backend.max_retries", K_INT, F(max_retries), "5", 0, 100, NULL,
	  "HTTP: retries after 429, 5xx, dropped connections and timeouts" },
	{ "backend.retry_base", K_REAL, F(retry_base), "1", 0, 3600, NULL,
	  "HTTP: first backoff in seconds; doubled each retry, jittered (Retry-After wins, up to retry_max)" },
	{ "backend.retry_max", K_REAL, F(retry_max), "60", 0, 86400, NULL, "HTTP: longest wait between attempts; a server's Retry-After past it ends the run at once" },
	{ "backend.stream", K_BOOL, F(stream), "true", 0, 0, NULL, "HTTP: stream the answer (server-sent events)" },
	{ "backend.threads", K_INT, F(threads), "0", 0, 4096, NULL, "engine: worker threads; 0 = every core" },
	{ "backend.loops", K_INT, F(loops), "0", 0, 16, NULL, "engine: PLT loops; 0 = the model's config" },
	{ "backend.context_window", K_I64, F(context_window), "0", 0, BIG, NULL,
	  "tokens the model takes; 0 = the engine model's max_position_embeddings, else 131072" },
	{ "sampling.temperature", K_REAL, F(temperature), "0", 0, 100, NULL, "0 = greedy" },
	{ "sampling.top_p", K_REAL, F(top_p), "1", 0, 1, NULL, "nucleus sampling; 1 = off" },
	{ "sampling.top_k", K_INT, F(top_k), "0", 0, 1000000, NULL, "0 = off (engine, Anthropic, vLLM)" },
	{ "sampling.max_tokens", K_I64, F(max_tokens), "16384", 1, BIG, NULL, "tokens per model call" },
	{ "sampling.seed", K_I64, F(seed), "-1", -1, 9007199254740991.0, NULL, "-1 = none" },
	{ "limits.max_steps", K_INT, F(max_steps), "250", 1, 1000000, NULL, "model calls per run" },
	{ "limits.max_tokens", K_I64, F(max_total_tokens), "0", 0, BIG, NULL,
	  "input + output tokens over a run, summed over calls; 0 = none" },
	{ "limits.max_seconds", K_REAL, F(max_seconds), "0", 0, 1e9, NULL, "wall-clock seconds per run; 0 = none" },
	{ "limits.max_cost", K_REAL, F(max_cost), "0", 0, 1e9, NULL,
	  "USD per run, where prices are known; 0 = none" },
	{ "limits.max_calls_per_answer", K_INT, F(max_calls_per_answer), "32", 1, 1000000, NULL,
	  "tool calls run from one answer; those past it are answered \"not run\" (an answer of thousands of calls)" },
	{ "limits.max_format_errors", K_INT, F(max_format_errors), "3", 1, 1000000, NULL,
	  "malformed calls in a row that end a run" },
	{ "tools.format", K_ENUM, F(tool_format), "native", 0, 0, "native|json|xml|text",
	  "how tool calls travel: native (the wire's or the template's), json or xml in the text, "
	  "text (OpenHands' <function=...>)" },
	{ "tools.enabled", K_LIST, F(tools), NULL, 0, 0, NULL, "the tools the model may call; default all" },
	{ "tools.command_timeout", K_REAL, F(command_timeout), "60", 1, 86400, NULL,
	  "bash: seconds when the model gives no timeout" },
	{ "tools.max_observation", K_I64, F(max_observation), "10000", 200, BIG, NULL,
	  "characters of an observation the model reads; longer ones keep head and tail" },
	{ "tools.sandbox_profile", K_STR, F(sandbox_profile), "agent", 0, 0, NULL,
	  "bash: the sandbox profile (a name in configs/sandbox or a path); checked when the settings are" },
	{ "tools.allow_empty_submit", K_BOOL, F(allow_empty_submit), "false", 0, 0, NULL,
	  "submit ends a run with an empty patch at once; false = the first empty submit is refused with a warning" },
	{ "tools.approval", K_ENUM, F(approval), "full-auto", 0, 0, "ask|auto-edit|full-auto|read-only",
	  "chat: ask before edits and commands, only before commands, never, or refuse both" },
	{ "loop.on_no_tool_call", K_ENUM, F(on_no_tool_call), "nudge", 0, 0, "finish|nudge",
	  "an answer without a tool call ends the run (finish) or is answered with prompts.nudge" },
	{ "context.budget", K_I64, F(context_budget), "0", 0, BIG, NULL,
	  "prompt tokens a run may use; 0 = the context window minus sampling.max_tokens" },
	{ "context.high", K_REAL, F(context_high), "0.9", 0.05, 1, NULL,
	  "fraction of the budget at which old observations start being elided" },
	{ "context.low", K_REAL, F(context_low), "0.6", 0.01, 1, NULL, "fraction elision brings it back under" },
	{ "context.keep_first", K_INT, F(keep_first), "1", 0, 1000000, NULL,
	  "first steps whose observations are never elided" },
	{ "context.keep_last", K_INT, F(keep_last), "5", 0, 1000000, NULL,
	  "last steps whose observations are never elided" },
	{ "prompts.system", K_STR, F(prompt_system), "swebench_system", 0, 0, NULL,
	  "the system prompt (a name in prompts/ or a path)" },
	{ "prompts.task", K_STR, F(prompt_task), "swebench_task", 0, 0, NULL,
	  "the first user message's template ({{issue}}, {{repo}}); empty = the message as is" },
	{ "prompts.nudge", K_STR, F(prompt_nudge), "nudge", 0, 0, NULL, "sent after an answer without a tool call" },
	{ "prompts.format_error", K_STR, F(prompt_format_error), "format_error", 0, 0, NULL,
	  "sent after a malformed call ({{error}})" },
	{ "prompts.tools", K_STR, F(prompt_tools), "", 0, 0, NULL,
	  "how tools are described when calls are written in the text ({{tools}}); empty = tools_FORMAT" },
	{ "prices", K_OBJECT, F(prices), "{}", 0, 0, NULL,
	  "USD per million tokens by model name: {\"NAME\": {\"input\", \"output\", \"cached_input\"}}" },
	{ "paths.runs", K_STR, F(runs_dir), "~/.local/share/plait/runs", 0, 0, NULL,
	  "where plait fix writes trajectories when --traj is not given" },
	{ "paths.sessions", K_STR, F(sessions_dir), "~/.local/share/plait/sessions", 0, 0, NULL,
	  "where plait chat keeps its sessions" },
};

static const char sections[] = "backend, sampling, limits, tools, loop, context, prompts, prices, paths";

bool agent__settings_is_section(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < PL_ARRAY_LEN(keys); i++)
		if (!strncmp(keys[i].name, name, n) && (keys[i].name[n] == '.' || !keys[i].name[n]))
			return true;
	return false;
}

const char *agent__settings_sections(void)
{
	return sections;
}

static const key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(keys); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static void list_free(char **l)
{
	size_t i;

	for (i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

static const char *type_name(const key *k)
{
	switch (k->type) {
	case K_STR: return "string";
	case K_ENUM: return "one of";
	case K_INT:
	case K_I64: return "integer";
	case K_REAL: return "number";
	case K_BOOL: return "boolean";
	case K_LIST: return "list of strings";
	case K_OBJECT: return "object";
	}
	return "?";
}

static bool choice_ok(const key *k, const char *v)
{
	const char *p = k->choices;
	size_t n = strlen(v);

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* Checks a JSON value against the key: 0 or an error naming what/key. */
static int check_value(const key *k, const json_t *v, const char *what, pl_err *err)
{
	double d;
	size_t i;
	json_t *x;

	switch (k->type) {
	case K_STR:
		if (!json_is_string(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be a string, found %s", what, k->name,
					  pl_json_type_name(v));
		return 0;
	case K_ENUM:
		if (!json_is_string(v) || !choice_ok(k, json_string_value(v))) {
			pl_buf c = PL_BUF_INIT, found = PL_BUF_INIT;
			const char *p;

			for (p = k->choices; *p; p++) {
				if (*p == '|')
					pl_buf_puts(&c, ", ");
				else
					pl_buf_putc(&c, *p);
			}
			if (json_is_string(v))
				pl_buf_printf(&found, "'%s'", json_string_value(v));
			else
				pl_buf_puts(&found, pl_json_type_name(v));
			pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be one of %s, found %s", what, k->name, c.ptr,
				   found.ptr);
			pl_buf_release(&c);
			pl_buf_release(&found);
			return PL_EINVAL;
		}
		return 0;
	case K_INT:
	case K_I64:
		if (!json_is_integer(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be an integer, found %s", what, k->name,
					  pl_json_type_name(v));
		d = (double)json_integer_value(v);
		if (d < k->min || d > k->max)
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be in [%.0f, %.0f], found %lld", what, k->name,
					  k->min, k->max, (long long)json_integer_value(v));
		return 0;
	case K_REAL:
		if (!json_is_number(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be a number, found %s", what, k->name,
					  pl_json_type_name(v));
		d = json_number_value(v);
		if (!(d >= k->min && d <= k->max))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be in [%g, %g], found %g", what, k->name,
					  k->min, k->max, d);
		return 0;
	case K_BOOL:
		if (!json_is_boolean(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be true or false, found %s", what, k->name,
					  pl_json_type_name(v));
		return 0;
	case K_LIST:
		if (!json_is_array(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be an array of strings, found %s", what,
					  k->name, pl_json_type_name(v));
		json_array_foreach(v, i, x)
			if (!json_is_string(x) || !*json_string_value(x))
				return pl_err_set(err, PL_EINVAL, "%s: \"%s\"[%zu] must be a non-empty string", what,
						  k->name, i);
		return 0;
	case K_OBJECT:
		if (!json_is_object(v))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be an object, found %s", what, k->name,
					  pl_json_type_name(v));
		if (!strcmp(k->name, "prices")) {
			const char *model, *f;
			json_t *p, *y;

			json_object_foreach((json_t *)v, model, p) {
				if (!json_is_object(p))
					return pl_err_set(err, PL_EINVAL,
							  "%s: \"prices\".\"%s\" must be an object {\"input\", \"output\", "
							  "\"cached_input\"}",
							  what, model);
				json_object_foreach(p, f, y) {
					if (strcmp(f, "input") && strcmp(f, "output") && strcmp(f, "cached_input"))
						return pl_err_set(err, PL_EINVAL,
								  "%s: \"prices\".\"%s\": unknown key \"%s\" (known: input, "
								  "output, cached_input)",
								  what, model, f);
					if (!json_is_number(y) || json_number_value(y) < 0)
						return pl_err_set(err, PL_EINVAL,
								  "%s: \"prices\".\"%s\".\"%s\" must be a number >= 0 (USD "
								  "per million tokens)",
								  what, model, f);
				}
				if (!json_object_get(p, "input") || !json_object_get(p, "output"))
					return pl_err_set(err, PL_EINVAL,
							  "%s: \"prices\".\"%s\" needs both \"input\" and \"output\"", what,
							  model);
			}
		}
		return 0;
	}
	return 0;
}

/* Stores a checked value into the struct and the values/sources maps. */
static void store(agent_settings *s, const key *k, const json_t *v, const char *source)
{
	char *base = (char *)s;
	size_t i;
	json_t *x;

	switch (k->type) {
	case K_STR:
	case K_ENUM: {
		char **f = (char **)(base + k->off);

		free(*f);
		*f = pl_xstrdup(json_string_value(v));
		break;
	}
	case K_INT:
		*(int *)(base + k->off) = (int)json_integer_value(v);
		break;
	case K_I64:
		*(int64_t *)(base + k->off) = (int64_t)json_integer_value(v);
		break;
	case K_REAL:
		*(double *)(base + k->off) = json_number_value(v);
		break;
	case K_BOOL:
		*(bool *)(base + k->off) = json_is_true(v);
		break;
	case K_LIST: {
		char ***f = (char ***)(base + k->off);
		char **l = pl_xcalloc(json_array_size(v) + 1, sizeof(*l));

		json_array_foreach(v, i, x)
			l[i] = pl_xstrdup(json_string_value(x));
		list_free(*f);
		*f = l;
		break;
	}
	case K_OBJECT: {
		json_t **f = (json_t **)(base + k->off);

		json_decref(*f);
		*f = json_deep_copy(v);
		break;
	}
	}
	pl_json_set(s->values, k->name, json_deep_copy(v));
	pl_json_set(s->sources, k->name, json_string(source));
}

/* Text as a command line gives it, into the key's JSON type. */
static int parse_text(json_t **out, const key *k, const char *text, const char *what, pl_err *err)
{
	int64_t i;
	double d;

	switch (k->type) {
	case K_STR:
	case K_ENUM:
		*out = json_string(text);
		return 0;
	case K_INT:
	case K_I64:
		if (pl_parse_i64(&i, text, INT64_MIN, INT64_MAX, NULL) < 0)
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be an integer, found '%s'", what, k->name, text);
		*out = json_integer(i);
		return 0;
	case K_REAL:
		if (pl_parse_f64(&d, text, NULL) < 0 || !isfinite(d))
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be a number, found '%s'", what, k->name, text);
		*out = json_real(d);
		return 0;
	case K_BOOL:
		if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes"))
			*out = json_true();
		else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no"))
			*out = json_false();
		else
			return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be true or false, found '%s'", what, k->name,
					  text);
		return 0;
	case K_LIST:
		if (text[0] == '[')
			return pl_json_parse(out, text, strlen(text), what, err);
		{
			json_t *a = json_array();
			char *copy = pl_xstrdup(text), *tok, *save = NULL;

			for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				while (*tok == ' ')
					tok++;
				if (*tok)
					json_array_append_new(a, json_string(tok));
			}
			free(copy);
			*out = a;
		}
		return 0;
	case K_OBJECT:
		return pl_json_parse(out, text, strlen(text), what, err);
	}
	return PL_EINTERNAL;
}

static int apply_json(agent_settings *s, const key *k, const json_t *v, const char *source, pl_err *err)
{
	int rc;

	if ((rc = check_value(k, v, source, err)) < 0)
		return rc;
	store(s, k, v, source);
	return 0;
}

/* A section object ({"max_steps": 10}) or, for "prices", the object itself. */
static int apply_section(agent_settings *s, const char *section, const json_t *v, const char *source, bool check_only,
			 pl_err *err)
{
	char name[96];
	const char *k;
	json_t *x;
	const key *kk;

	if ((kk = find_key(section))) /* a key that is a whole section: prices */
		return check_only ? check_value(kk, v, source, err) : apply_json(s, kk, v, source, err);
	if (!json_is_object(v))
		return pl_err_set(err, PL_EINVAL, "%s: \"%s\" must be an object, found %s", source, section,
				  pl_json_type_name(v));
	json_object_foreach((json_t *)v, k, x) {
		int rc;

		if (k[0] == '_')
			continue;
		snprintf(name, sizeof(name), "%s.%s", section, k);
		if (!(kk = find_key(name))) {
			pl_buf known = PL_BUF_INIT;
			size_t i, n = strlen(section);

			for (i = 0; i < PL_ARRAY_LEN(keys); i++)
				if (!strncmp(keys[i].name, section, n) && keys[i].name[n] == '.')
					pl_buf_printf(&known, "%s%s", known.len ? ", " : "", keys[i].name + n + 1);
			pl_err_set(err, PL_EINVAL, "%s: unknown key \"%s\" in \"%s\" (known: %s)", source, k, section,
				   known.ptr);
			pl_buf_release(&known);
			return PL_EINVAL;
		}
		rc = check_only ? check_value(kk, x, source, err) : apply_json(s, kk, x, source, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int agent__settings_check_section(const char *section, const json_t *v, const char *what, pl_err *err)
{
	return apply_section(NULL, section, v, what, true, err);
}

static int apply_object(agent_settings *s, const json_t *obj, const char *source, bool allow_dirs, pl_err *err)
{
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return pl_err_set(err, PL_EFORMAT, "%s: settings must be a JSON object", source);
	json_object_foreach((json_t *)obj, k, v) {
		if (k[0] == '_' || !strcmp(k, "$comment"))
			continue;
		if (allow_dirs && (!strcmp(k, "model_dirs") || !strcmp(k, "data_dirs")))
			continue;
		if (!agent__settings_is_section(k))
			return pl_err_set(err, PL_EFORMAT, "%s: unknown key \"%s\" (known: %s)", source, k, sections);
		if ((rc = apply_section(s, k, v, source, false, err)) < 0)
			return rc;
	}
	return 0;
}

static json_t *default_value(const key *k)
{
	json_t *v = NULL;

	if (!k->def) { /* tools.enabled: every built-in tool */
		size_t n, i;
		const tools_def *const *all = tools_all(&n);

		v = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(v, json_string(all[i]->name));
		return v;
	}
	if (parse_text(&v, k, k->def, "default", NULL) < 0)
		PL_BUG("settings: bad default for %s", k->name);
	return v;
}

int agent_settings_load(agent_settings **out, const agent_settings_opts *opts, pl_err *err)
{
	static const agent_settings_opts none = { 0 };
	agent_settings *s = pl_xcalloc(1, sizeof(*s));
	json_t *prof = NULL, *layer;
	pl_buf path = PL_BUF_INIT, src = PL_BUF_INIT;
	size_t i;
	int rc = 0;

	if (!opts)
		opts = &none;
	s->envp = opts->envp;
	s->values = json_object();
	s->sources = json_object();
	for (i = 0; i < PL_ARRAY_LEN(keys); i++) {
		json_t *v = default_value(&keys[i]);

		store(s, &keys[i], v, "default");
		json_decref(v);
	}
	if (opts->profile && *opts->profile) {
		if ((rc = agent__data_find(&path, "configs/agent", opts->profile, ".json", "agent profile", opts->envp,
					   err)) < 0)
			goto done;
		if ((rc = pl_json_load_file(&prof, path.ptr, err)) < 0)
			goto done;
		pl_buf_printf(&src, "profile %s (%s)", opts->profile, path.ptr);
		if ((rc = apply_object(s, prof, src.ptr, false, err)) < 0) {
			/* the message names the profile's file */
			goto done;
		}
	}
	if (opts->config) {
		json_array_foreach(opts->config->layers, i, layer) {
			if ((rc = apply_object(s, json_object_get(layer, "settings"),
					       json_string_value(json_object_get(layer, "source")), true, err)) < 0)
				goto done;
		}
		s->model_dirs = opts->config->model_dirs;
	}
	*out = s;
	s = NULL;
done:
	json_decref(prof);
	pl_buf_release(&path);
	pl_buf_release(&src);
	agent_settings_free(s);
	return rc;
}

void agent_settings_free(agent_settings *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < PL_ARRAY_LEN(keys); i++) {
		char *base = (char *)s;

		if (keys[i].type == K_STR || keys[i].type == K_ENUM)
			free(*(char **)(base + keys[i].off));
		else if (keys[i].type == K_LIST)
			list_free(*(char ***)(base + keys[i].off));
		else if (keys[i].type == K_OBJECT)
			json_decref(*(json_t **)(base + keys[i].off));
	}
	json_decref(s->values);
	json_decref(s->sources);
	free(s);
}

int agent_settings_set(agent_settings *s, const char *name, const char *text, const char *source, pl_err *err)
{
	const key *k = find_key(name);
	json_t *v = NULL;
	int rc;

	if (!k)
		return pl_err_set(err, PL_EINVAL, "%s: unknown setting '%s'", source, name);
	if ((rc = parse_text(&v, k, text, source, err)) < 0)
		return rc;
	rc = apply_json(s, k, v, source, err);
	json_decref(v);
	return rc;
}

int agent_settings_check(agent_settings *s, pl_err *err)
{
	size_t i;

	for (i = 0; s->tools && s->tools[i]; i++)
		if (!tools_find(s->tools[i]))
			return pl_err_set(err, PL_EINVAL, "%s: tools.enabled names '%s', which is not a tool (plait tool --list)",
					  json_string_value(json_object_get(s->sources, "tools.enabled")), s->tools[i]);
	if (!s->tools || !s->tools[0])
		return pl_err_set(err, PL_EINVAL, "%s: tools.enabled is empty: the model could do nothing",
				  json_string_value(json_object_get(s->sources, "tools.enabled")));
	if (strpbrk(s->api_base, "?#"))
		/* not repeated: what follows '?' may be a key */
		return pl_err_set(err, PL_EINVAL,
				  "%s: backend.api_base has a query string or a fragment ('?' or '#'), which plait does not "
				  "send: give the server's base URL alone, and the key through backend.api_key_env",
				  json_string_value(json_object_get(s->sources, "backend.api_base")));
	if (!*s->api_base && !strcmp(s->backend, "openai") && agent__env_get(s->envp, "OPENAI_BASE_URL") &&
	    strpbrk(agent__env_get(s->envp, "OPENAI_BASE_URL"), "?#"))
		return pl_err_set(err, PL_EINVAL,
				  "OPENAI_BASE_URL has a query string or a fragment ('?' or '#'), which plait does not "
				  "send: give the server's base URL alone, and the key through backend.api_key_env");
	if (s->context_low >= s->context_high)
		return pl_err_set(err, PL_EINVAL, "context.low (%g, %s) must be below context.high (%g, %s)",
				  s->context_low, json_string_value(json_object_get(s->sources, "context.low")),
				  s->context_high, json_string_value(json_object_get(s->sources, "context.high")));
	{
		/* a profile that does not load would fail every bash call, and a
		 * run would go on without tests */
		sbx_config c;
		pl_err e = { 0 };
		int rc;

		sbx_config_init(&c);
		rc = sbx_profile_load(&c, s->sandbox_profile, &e);
		sbx_config_release(&c);
		if (rc < 0)
			return pl_err_set(err, rc, "%s: tools.sandbox_profile '%s': %s",
					  json_string_value(json_object_get(s->sources, "tools.sandbox_profile")),
					  s->sandbox_profile, e.msg);
	}
	if (!strcmp(s->backend, "engine")) {
		if (!*s->model)
			return pl_err_set(err, PL_EINVAL,
					  "the engine backend needs a model: --model DIR (or backend.model in the "
					  "configuration), or choose --backend openai|anthropic");
	} else if (!*s->api_model) {
		return pl_err_set(err, PL_EINVAL,
				  "the %s backend needs a model name: --api-model NAME (or backend.api_model in the "
				  "configuration)",
				  s->backend);
	}
	return 0;
}

json_t *agent_settings_json(const agent_settings *s, bool with_sources)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(keys); i++) {
		json_t *v = json_object_get(s->values, keys[i].name), *safe = NULL;

		if (!strcmp(keys[i].name, "backend.api_base") && json_is_string(v)) {
			/* what is shown and recorded (a trajectory's start) holds no
			 * credentials */
			pl_buf b = PL_BUF_INIT;

			agent__url_safe(&b, json_string_value(v));
			v = safe = json_stringn(b.ptr, b.len);
			pl_buf_release(&b);
		}
		if (with_sources)
			pl_json_set(o, keys[i].name,
				    json_pack("{s:O, s:O}", "value", v, "source", json_object_get(s->sources, keys[i].name)));
		else
			pl_json_set(o, keys[i].name, json_incref(v));
		json_decref(safe);
	}
	return o;
}

json_t *agent_settings_keys(void)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(keys); i++) {
		json_t *o = json_object();

		pl_json_set(o, "key", json_string(keys[i].name));
		if (keys[i].type == K_ENUM) {
			pl_buf t = PL_BUF_INIT;
			const char *p;

			for (p = keys[i].choices; *p; p++)
				pl_buf_putc(&t, *p == '|' ? ',' : *p);
			pl_json_set(o, "type", json_string(t.ptr));
			pl_buf_release(&t);
		} else
			pl_json_set(o, "type", json_string(type_name(&keys[i])));
		pl_json_set(o, "default", default_value(&keys[i]));
		pl_json_set(o, "description", json_string(keys[i].help));
		json_array_append_new(a, o);
	}
	return a;
}
