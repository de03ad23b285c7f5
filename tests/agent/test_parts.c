/* The loop's parts on their own: settings (defaults, profiles, files,
 * flags, every bad value), prompt templates, server-sent events,
 * Retry-After, observation cuts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-parts", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(settings, .init = setup, .fini = teardown);

static char *put(const char *name, const char *text)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir.ptr, name);
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	return pl_buf_detach(&p, NULL);
}

static const char *source_of(const agent_settings *s, const char *key)
{
	return json_string_value(json_object_get(s->sources, key));
}

Test(settings, defaults_profile_files_and_flags_in_order)
{
	char *cfgfile = put("config.json", "{\"limits\": {\"max_steps\": 40}, \"backend\": {\"name\": \"openai\", "
					   "\"api_model\": \"m\"}, \"model_dirs\": [\"/x\"]}");
	agent_config *cfg = NULL;
	agent_config_opts co = { .file = cfgfile, .system_file = "" };
	char *env[] = { "HOME=/nonexistent", NULL };
	agent_settings *s = NULL;
	agent_settings_opts so = { 0 };
	pl_err err = { 0 };
	json_t *j;

	co.envp = env;
	cr_assert_eq(agent_config_load(&cfg, &co, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(cfg->layers), 1);
	so.profile = "swebench";
	so.config = cfg;
	cr_assert_eq(agent_settings_load(&s, &so, &err), 0, "%s", err.msg);
	cr_assert_eq(s->max_steps, 40, "the file wins over the profile");
	cr_assert_str_eq(source_of(s, "limits.max_steps"), cfgfile);
	cr_assert_float_eq(s->max_cost, 3.0, 1e-12);
	cr_assert(strstr(source_of(s, "limits.max_cost"), "profile swebench ("), "%s", source_of(s, "limits.max_cost"));
	cr_assert(strstr(source_of(s, "limits.max_cost"), "configs/agent/swebench.json"));
	cr_assert_str_eq(source_of(s, "sampling.top_k"), "default");
	cr_assert_eq(agent_settings_set(s, "limits.max_steps", "7", "--max-steps", &err), 0);
	cr_assert_eq(s->max_steps, 7);
	cr_assert_str_eq(source_of(s, "limits.max_steps"), "--max-steps");
	cr_assert_eq(agent_settings_set(s, "tools.enabled", "view, search", "--tools", &err), 0);
	cr_assert_str_eq(s->tools[0], "view");
	cr_assert_str_eq(s->tools[1], "search");
	cr_assert_null(s->tools[2]);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	j = agent_settings_json(s, true);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "limits.max_steps"), "value")), 7);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "backend.name"), "source")), cfgfile);
	json_decref(j);
	j = agent_settings_keys();
	cr_assert_geq(json_array_size(j), 40);
	json_decref(j);
	agent_settings_free(s);
	agent_config_free(cfg);
	free(cfgfile);
}

static void bad_set(const char *key, const char *value, const char *needle)
{
	agent_settings *s = NULL;
	pl_err err = { 0 };
	json_t *before;

	cr_assert_eq(agent_settings_load(&s, NULL, &err), 0);
	before = json_deep_copy(s->values);
	cr_assert_lt(agent_settings_set(s, key, value, "--flag", &err), 0, "accepted %s=%s", key, value);
	cr_assert(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
	cr_assert(strstr(err.msg, "--flag"), "'%s' does not name the source", err.msg);
	cr_assert(json_equal(before, s->values), "a refused value changed the settings");
	json_decref(before);
	agent_settings_free(s);
}

Test(settings, bad_values_are_clear_errors)
{
	bad_set("limits.max_steps", "0", "\"limits.max_steps\" must be in [1, 1000000], found 0");
	bad_set("limits.max_steps", "many", "\"limits.max_steps\" must be an integer, found 'many'");
	bad_set("sampling.top_p", "1.5", "\"sampling.top_p\" must be in [0, 1], found 1.5");
	bad_set("sampling.temperature", "nan", "must be a number");
	bad_set("backend.name", "ollama", "\"backend.name\" must be one of engine, openai, anthropic, found 'ollama'");
	bad_set("backend.stream", "maybe", "must be true or false");
	bad_set("tools.format", "yaml", "must be one of native, json, xml, text");
	bad_set("prices", "{\"m\": {\"input\": 1}}", "needs both \"input\" and \"output\"");
	bad_set("prices", "{\"m\": {\"input\": 1, \"output\": -2}}", "must be a number >= 0");
	bad_set("prices", "{\"m\": {\"input\": 1, \"output\": 2, \"cache\": 1}}", "unknown key \"cache\"");
	bad_set("prices", "[1]", "must be an object");
	bad_set("limits.max_stepz", "3", "unknown setting 'limits.max_stepz'");
}

static void bad_file(const char *text, const char *needle)
{
	char *f = put("bad.json", text);
	agent_config *cfg = (agent_config *)0x1;
	agent_config_opts co = { .file = f, .system_file = "" };
	char *env[] = { "HOME=/nonexistent", NULL };
	pl_err err = { 0 };

	co.envp = env;
	cr_assert_lt(agent_config_load(&cfg, &co, &err), 0, "accepted %s", text);
	cr_assert(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
	cr_assert(strstr(err.msg, "bad.json"), "'%s' does not name the file", err.msg);
	cr_assert_eq(cfg, (agent_config *)0x1);
	free(f);
}

Test(settings, bad_files_name_the_file_and_key)
{
	bad_file("{\"limits\": {\"max_step\": 3}}", "unknown key \"max_step\" in \"limits\" (known: max_steps,");
	bad_file("{\"limits\": 3}", "\"limits\" must be an object");
	bad_file("{\"sampling\": {\"top_k\": 1.5}}", "\"sampling.top_k\" must be an integer");
	bad_file("{\"agent\": {}}", "unknown key \"agent\" (known: model_dirs, data_dirs, backend, sampling");
	bad_file("{\"tools\": {\"enabled\": [\"view\", 3]}}", "\"tools.enabled\"[1] must be a non-empty string");
}

Test(settings, profiles_and_checks)
{
	agent_settings *s = NULL;
	agent_settings_opts so = { 0 };
	pl_err err = { 0 };
	char *bad = put("p.json", "{\"limits\": {\"max_steps\": -1}}");

	so.profile = "nonexistent-profile";
	cr_assert_lt(agent_settings_load(&s, &so, &err), 0);
	cr_assert(strstr(err.msg, "agent profile 'nonexistent-profile' not found"), "%s", err.msg);
	so.profile = "../etc";
	cr_assert_lt(agent_settings_load(&s, &so, &err), 0);
	so.profile = bad;
	cr_assert_lt(agent_settings_load(&s, &so, &err), 0);
	cr_assert(strstr(err.msg, "p.json") && strstr(err.msg, "max_steps"), "%s", err.msg);
	so.profile = "chat";
	cr_assert_eq(agent_settings_load(&s, &so, &err), 0, "%s", err.msg);
	cr_assert_str_eq(s->approval, "ask");
	cr_assert_str_eq(s->on_no_tool_call, "finish");
	/* the engine needs a model, HTTP a model name */
	cr_assert_lt(agent_settings_check(s, &err), 0);
	cr_assert(strstr(err.msg, "--model DIR"), "%s", err.msg);
	agent_settings_set(s, "backend.name", "openai", "t", NULL);
	cr_assert_lt(agent_settings_check(s, &err), 0);
	cr_assert(strstr(err.msg, "--api-model NAME"), "%s", err.msg);
	agent_settings_set(s, "backend.api_model", "m", "t", NULL);
	agent_settings_set(s, "tools.enabled", "view,fly", "--tools", NULL);
	cr_assert_lt(agent_settings_check(s, &err), 0);
	cr_assert(strstr(err.msg, "--tools: tools.enabled names 'fly'"), "%s", err.msg);
	agent_settings_set(s, "tools.enabled", "view", "t", NULL);
	agent_settings_set(s, "context.low", "0.95", "--x", NULL);
	cr_assert_lt(agent_settings_check(s, &err), 0);
	cr_assert(strstr(err.msg, "context.low (0.95, --x) must be below context.high"), "%s", err.msg);
	agent_settings_set(s, "context.low", "0.5", "--x", NULL);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	/* a sandbox profile that does not load: every bash call would fail */
	agent_settings_set(s, "tools.sandbox_profile", "agnet", "--set", NULL);
	cr_assert_lt(agent_settings_check(s, &err), 0);
	cr_assert(strstr(err.msg, "--set: tools.sandbox_profile 'agnet'") && strstr(err.msg, "agnet"), "%s", err.msg);
	agent_settings_free(s);
	free(bad);
}

TestSuite(prompts);

Test(prompts, placeholders)
{
	agent__var v[] = { { "issue", "it {{breaks}}" }, { "repo", "/r" }, { NULL, NULL } };
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(agent__template(&out, "In {{repo}}: {{issue}}; {{ not one }} {{", v, "t.txt", &err), 0);
	cr_assert_str_eq(out.ptr, "In /r: it {{breaks}}; {{ not one }} {{");
	pl_buf_reset(&out);
	pl_buf_puts(&out, "kept");
	cr_assert_lt(agent__template(&out, "a {{isue}} b", v, "prompts/x.txt", &err), 0);
	cr_assert_str_eq(err.msg, "prompts/x.txt: unknown placeholder '{{isue}}' (this prompt may use: {{issue}}, {{repo}})");
	cr_assert_str_eq(out.ptr, "kept", "a failed render left text behind");
	pl_buf_release(&out);
}

Test(prompts, every_shipped_prompt_loads)
{
	const char *names[] = { "swebench_system", "swebench_task", "chat_system", "nudge", "format_error",
				"tools_text",      "tools_json",    "tools_xml" };
	pl_err err = { 0 };

	for (size_t i = 0; i < PL_ARRAY_LEN(names); i++) {
		pl_buf t = PL_BUF_INIT, p = PL_BUF_INIT;

		cr_assert_eq(agent__prompt_load(&t, &p, names[i], NULL, &err), 0, "%s: %s", names[i], err.msg);
		cr_assert_gt(t.len, 20);
		cr_assert_neq(t.ptr[t.len - 1], '\n');
		pl_buf_release(&t);
		pl_buf_release(&p);
	}
	{
		pl_buf t = PL_BUF_INIT;

		cr_assert_lt(agent__prompt_load(&t, NULL, "missing_prompt", NULL, &err), 0);
		cr_assert(strstr(err.msg, "prompt 'missing_prompt' not found"), "%s", err.msg);
		cr_assert_lt(agent__prompt_load(&t, NULL, "/nonexistent/p.txt", NULL, &err), 0);
		cr_assert(strstr(err.msg, "'/nonexistent/p.txt' does not exist"), "%s", err.msg);
		pl_buf_release(&t);
	}
}

typedef struct got {
	json_t *ev;
} got;

static int on_ev(void *user, const char *event, const char *data, size_t n, pl_err *err)
{
	got *g = user;

	(void)err;
	json_array_append_new(g->ev, json_pack("{s:s, s:s%}", "event", event, "data", data, n));
	return 0;
}

TestSuite(sse);

Test(sse, fields_comments_line_endings_and_splits)
{
	const char text[] = ": keep-alive\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\ndata: x\n\ndata: y\r\rid: 5\nretry: 1\n\n";
	got g = { json_array() };
	agent__sse s;
	size_t i;

	/* fed one byte at a time: every split point */
	agent__sse_init(&s, on_ev, &g);
	for (i = 0; i < sizeof(text) - 1; i++)
		cr_assert_eq(agent__sse_feed(&s, text + i, 1, NULL), 0);
	agent__sse_release(&s);
	cr_assert_eq(json_array_size(g.ev), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(g.ev, 0), "event")), "a");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(g.ev, 0), "data")), "one\ntwo");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(g.ev, 1), "event")), "message");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(g.ev, 2), "data")), "y");
	json_decref(g.ev);
}

/* A server that never ends a line or an event cannot make plait grow
 * without bound (1.5 GB without a newline took 1.5 GB). */
Test(sse, endless_lines_and_events_are_refused)
{
	size_t chunk = 1 << 20, i;
	char *a = malloc(chunk);
	got g = { json_array() };
	agent__sse s;
	pl_err err = { 0 };
	int rc = 0;

	cr_assert_not_null(a);
	memset(a, 'a', chunk);
	agent__sse_init(&s, on_ev, &g);
	cr_assert_eq(agent__sse_feed(&s, "data: ", 6, &err), 0);
	for (i = 0; i < 40 && rc == 0; i++)
		rc = agent__sse_feed(&s, a, chunk, &err);
	cr_assert_eq(rc, PL_EFORMAT, "40 MiB without a newline were taken");
	cr_assert(strstr(err.msg, "16 MiB"), "%s", err.msg);
	cr_assert_leq(s.line.len, AGENT__SSE_MAX);
	agent__sse_release(&s);

	/* lines of 1 MiB, but one event past the cap */
	memcpy(a, "data: ", 6);
	a[chunk - 1] = '\n';
	agent__sse_init(&s, on_ev, &g);
	rc = 0;
	for (i = 0; i < 40 && rc == 0; i++)
		rc = agent__sse_feed(&s, a, chunk, &err);
	cr_assert_eq(rc, PL_EFORMAT, "an event of 40 MiB was taken");
	cr_assert(strstr(err.msg, "16 MiB"), "%s", err.msg);
	cr_assert_leq(s.data.len, AGENT__SSE_MAX);
	cr_assert_eq(json_array_size(g.ev), 0);
	agent__sse_release(&s);
	json_decref(g.ev);
	free(a);
}

TestSuite(http);

Test(http, retry_after_forms)
{
	cr_assert_float_eq(agent__retry_after_parse("7", 0), 7, 1e-12);
	cr_assert_float_eq(agent__retry_after_parse(" 0.5", 0), 0.5, 1e-12);
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777 */
	cr_assert_float_eq(agent__retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7, 1e-9);
	cr_assert_float_eq(agent__retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0, 1e-9);
	cr_assert_lt(agent__retry_after_parse("soon", 0), 0);
	cr_assert_lt(agent__retry_after_parse("-3", 0), 0);
}

TestSuite(text);

Test(text, cuts_keep_utf8_whole)
{
	pl_buf out = PL_BUF_INIT, in = PL_BUF_INIT;
	json_t *j;

	for (int i = 0; i < 100; i++)
		pl_buf_puts(&in, "é\n"); /* 3 bytes a line */
	cr_assert(agent__cut_middle(&out, in.ptr, in.len, 101));
	j = json_stringn(out.ptr, out.len);
	cr_assert_not_null(j, "the cut split a character: %s", out.ptr);
	cr_assert(strstr(out.ptr, "characters and"), "%s", out.ptr);
	json_decref(j);
	pl_buf_reset(&out);
	cr_assert_not(agent__cut_middle(&out, "short", 5, 100));
	cr_assert_str_eq(out.ptr, "short");
	j = agent__json_text("a\xff" "b", 3);
	cr_assert_str_eq(json_string_value(j), "a\xEF\xBF\xBD" "b");
	json_decref(j);
	j = agent__json_bytes("caf\xe9\n", 5);
	cr_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "base64");
	pl_buf_reset(&out);
	agent__bytes_from_json(&out, j);
	cr_assert_eq(out.len, 5);
	cr_assert_eq(memcmp(out.ptr, "caf\xe9\n", 5), 0);
	json_decref(j);
	pl_buf_release(&out);
	pl_buf_release(&in);
}

Test(text, urls_lose_their_credentials)
{
	static const char *const cases[][2] = {
		{ "https://user:tok@api.example/v1", "https://***@api.example/v1" },
		{ "http://tok@127.0.0.1:8000", "http://***@127.0.0.1:8000" },
		{ "https://api.example/v1?q=a@b", "https://api.example/v1?***" },
		{ "https://api.example/a@b", "https://api.example/a@b" },
		{ "localhost:8000", "localhost:8000" },
	};

	for (size_t i = 0; i < PL_ARRAY_LEN(cases); i++) {
		pl_buf b = PL_BUF_INIT;

		agent__url_safe(&b, cases[i][0]);
		cr_assert_str_eq(b.ptr, cases[i][1]);
		pl_buf_release(&b);
	}
}

/* A base URL with a query string (a key passed as ?key=...) is refused,
 * never sent or recorded, and the message does not repeat it; shown
 * anywhere, a query is masked. */
Test(settings, an_api_base_with_a_query_is_refused)
{
	static const char *const bad[] = { "https://api.example/v1?key=SECRET", "https://api.example/v1#SECRET" };
	agent_settings *s = NULL;
	agent_settings_opts o = { 0 };
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };

	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		cr_assert_eq(agent_settings_load(&s, &o, &err), 0, "%s", err.msg);
		cr_assert_eq(agent_settings_set(s, "backend.name", "openai", "test", &err), 0, "%s", err.msg);
		cr_assert_eq(agent_settings_set(s, "backend.api_base", bad[i], "--api-base", &err), 0, "%s", err.msg);
		cr_assert_lt(agent_settings_check(s, &err), 0, "%s was taken", bad[i]);
		cr_assert(strstr(err.msg, "--api-base") && strstr(err.msg, "backend.api_key_env"), "%s", err.msg);
		cr_assert_null(strstr(err.msg, "SECRET"), "%s", err.msg);
		agent_settings_free(s);
		s = NULL;
	}
	{
		char *envp[] = { "OPENAI_BASE_URL=https://api.example/v1?key=SECRET", NULL };

		o.envp = envp;
		cr_assert_eq(agent_settings_load(&s, &o, &err), 0, "%s", err.msg);
		cr_assert_eq(agent_settings_set(s, "backend.name", "openai", "test", &err), 0, "%s", err.msg);
		cr_assert_lt(agent_settings_check(s, &err), 0, "OPENAI_BASE_URL with a query was taken");
		cr_assert(strstr(err.msg, "OPENAI_BASE_URL"), "%s", err.msg);
		cr_assert_null(strstr(err.msg, "SECRET"), "%s", err.msg);
		agent_settings_free(s);
	}
	agent__url_safe(&b, "https://api.example/v1?key=SECRET");
	cr_assert_str_eq(b.ptr, "https://api.example/v1?***");
	pl_buf_release(&b);
}

/* --json's patch is text when it is UTF-8 and {"encoding": "base64",
 * "data"} when it is not (a Latin-1 file): patch_encoding says which, so
 * a reader need not guess from the type. */
Test(result, json_says_how_the_patch_is_encoded)
{
	agent_result r;
	json_t *j;

	agent_result_init(&r);
	pl_buf_puts(&r.patch, "+caf\xc3\xa9\n");
	j = agent_result_json(&r, NULL);
	cr_assert(json_is_string(json_object_get(j, "patch")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "patch_encoding")) ?: "(none)", "utf-8");
	json_decref(j);
	pl_buf_reset(&r.patch);
	pl_buf_puts(&r.patch, "+caf\xe9\n");
	j = agent_result_json(&r, NULL);
	cr_assert(json_is_object(json_object_get(j, "patch")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "patch_encoding")) ?: "(none)", "base64");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "patch"), "data")), "K2NhZukK");
	json_decref(j);
	agent_result_release(&r);
}
