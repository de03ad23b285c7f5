/* Configuration: merge order, environment, and every bad input a user can give. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

static pl_buf root = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&root, "plait-test-config", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
}

TestSuite(config, .init = setup, .fini = teardown);

static char *put(const char *rel, const char *text)
{
	pl_buf p = PL_BUF_INIT, d = PL_BUF_INIT;

	pl_path_join(&p, root.ptr, rel);
	pl_buf_puts(&d, p.ptr);
	*strrchr(d.ptr, '/') = '\0';
	cr_assert_eq(pl_mkdir_p(d.ptr, 0755, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	pl_buf_release(&d);
	return pl_buf_detach(&p, NULL);
}

/* An environment with HOME inside the scratch directory, plus extras. */
static char **env(const char *extra1, const char *extra2)
{
	static char home[4200], xdg[4200];
	static char *e[5];
	int n = 0;

	snprintf(home, sizeof(home), "HOME=%s/home", root.ptr);
	e[n++] = home;
	if (extra1)
		e[n++] = (char *)extra1;
	if (extra2)
		e[n++] = (char *)extra2;
	(void)xdg;
	e[n] = NULL;
	return e;
}

Test(config, defaults_expand_home)
{
	agent_config *c = NULL;
	agent_config_opts o = { .system_file = "", .envp = env(NULL, NULL) };
	pl_err err = { 0 };
	pl_buf want = PL_BUF_INIT;

	cr_assert_eq(agent_config_load(&c, &o, &err), 0, "%s", err.msg);
	pl_buf_printf(&want, "%s/home/.local/share/plait/models", root.ptr);
	cr_assert_str_eq(c->model_dirs[0], want.ptr);
	cr_assert_not_null(c->data_dirs[0]);
	cr_assert_null(c->files[0]);
	agent_config_free(c);
	agent_config_free(NULL);
	pl_buf_release(&want);
}

Test(config, files_merge_in_order_and_env_goes_first)
{
	agent_config *c = NULL;
	char *sys = put("etc/config.json", "{\"model_dirs\":[\"/sys-models\"],\"data_dirs\":[\"/d\"]}");
	char *user = put("home/.config/plait/config.json", "{\"model_dirs\":[\"~/m1\",\"/m2\"]}");
	char *extra = put("extra.json", "{\"_comment\":\"x\",\"data_dirs\":[]}");
	agent_config_opts o = { .file = extra, .system_file = sys,
				.envp = env("PLAIT_MODEL_PATH=/env1:~/env2", NULL) };
	pl_err err = { 0 };
	pl_buf m1 = PL_BUF_INIT, env2 = PL_BUF_INIT;

	cr_assert_eq(agent_config_load(&c, &o, &err), 0, "%s", err.msg);
	pl_buf_printf(&m1, "%s/home/m1", root.ptr);
	pl_buf_printf(&env2, "%s/home/env2", root.ptr);
	cr_assert_str_eq(c->model_dirs[0], "/env1");
	cr_assert_str_eq(c->model_dirs[1], env2.ptr);
	cr_assert_str_eq(c->model_dirs[2], m1.ptr); /* user file replaced the system list */
	cr_assert_str_eq(c->model_dirs[3], "/m2");
	cr_assert_null(c->model_dirs[4]);
	cr_assert_null(c->data_dirs[0]); /* --config emptied it */
	cr_assert_str_eq(c->files[0], sys);
	cr_assert_str_eq(c->files[1], user);
	cr_assert_str_eq(c->files[2], extra);
	agent_config_free(c);
	free(sys);
	free(user);
	free(extra);
	pl_buf_release(&m1);
	pl_buf_release(&env2);
}

Test(config, xdg_config_home_is_honoured)
{
	agent_config *c = NULL;
	char *f = put("xdg/plait/config.json", "{\"data_dirs\":[\"/from-xdg\"]}");
	pl_buf x = PL_BUF_INIT;
	agent_config_opts o = { .system_file = "" };
	pl_err err = { 0 };

	pl_buf_printf(&x, "XDG_CONFIG_HOME=%s/xdg", root.ptr);
	o.envp = env(x.ptr, "PLAIT_DATA_PATH=/dp");
	cr_assert_eq(agent_config_load(&c, &o, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c->data_dirs[0], "/dp");
	cr_assert_str_eq(c->data_dirs[1], "/from-xdg");
	agent_config_free(c);
	free(f);
	pl_buf_release(&x);
}

static void expect_error(const char *text, const char *needle)
{
	agent_config *c = (agent_config *)0x1;
	char *f = put("bad.json", text);
	agent_config_opts o = { .file = f, .system_file = "", .envp = env(NULL, NULL) };
	pl_err err = { 0 };

	cr_assert_lt(agent_config_load(&c, &o, &err), 0, "accepted: %s", text);
	cr_assert_not_null(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	cr_assert_not_null(strstr(err.msg, "bad.json"), "message does not name the file: %s", err.msg);
	cr_assert_eq(c, (agent_config *)0x1, "out-parameter touched on failure");
	free(f);
}

Test(config, bad_inputs_are_clear_errors)
{
	expect_error("{\"model_dir\":[\"/x\"]}", "unknown key \"model_dir\"");
	expect_error("{\"model_dirs\":\"/x\"}", "must be an array");
	expect_error("{\"model_dirs\":[\"\"]}", "\"model_dirs\"[0] must be a non-empty string");
	expect_error("{\"model_dirs\":[1]}", "must be a non-empty string");
	expect_error("[1,2]", "must be a JSON object");
	expect_error("{\"model_dirs\": [", "invalid JSON");
	expect_error("", "invalid JSON");
}

Test(config, missing_explicit_file_is_an_error)
{
	agent_config *c = NULL;
	agent_config_opts o = { .file = "/nonexistent/plait.json", .system_file = "", .envp = env(NULL, NULL) };
	pl_err err = { 0 };

	cr_assert_eq(agent_config_load(&c, &o, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "config file '/nonexistent/plait.json' does not exist");
	cr_assert_null(c);
}

Test(credentials, names_only)
{
	char *e[] = { "OPENAI_API_KEY=sk-secret", "ANTHROPIC_API_KEY=", "OTHER=1", NULL };
	json_t *c = agent_credentials_present(e);
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, c, false);
	cr_assert_str_eq(b.ptr, "[\"OPENAI_API_KEY\"]"); /* empty values do not count */
	cr_assert_null(strstr(b.ptr, "secret"));
	json_decref(c);
	pl_buf_release(&b);
}

Test(http, libcurl_facts)
{
	pl_err err = { 0 };
	json_t *h = agent_http_info(&err);

	cr_assert_not_null(h, "%s", err.msg);

	cr_assert(json_is_string(json_object_get(h, "libcurl")));
	cr_assert(json_is_boolean(json_object_get(h, "https")));
	json_decref(h);
}
