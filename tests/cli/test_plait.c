/* The plait program itself, run as a user runs it (PLAIT_BIN, set by make test). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/common.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-cli", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(plait, .init = setup, .fini = teardown, .timeout = 60);

/* Run "plait ARGS" through the shell with ENV prefixed; capture everything. */
static test_run run(const char *env, const char *args)
{
	return test_plait(tmp.ptr, env, args);
}

static void done(test_run *r)
{
	test_run_release(r);
}

Test(plait, version)
{
	test_run r = run(NULL, "--version");

	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out.ptr, "plait " PLAIT_VERSION "\n");
	done(&r);
}

Test(plait, help_lists_commands)
{
	test_run r = run(NULL, "help");

	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out.ptr, "usage: plait"));
	cr_assert_not_null(strstr(r.out.ptr, "   doctor "));
	cr_assert_not_null(strstr(r.out.ptr, "   help "));
	done(&r);
	r = run(NULL, "--help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out.ptr, "   doctor "));
	done(&r);
}

Test(plait, usage_errors_exit_2_with_a_hint)
{
	test_run r = run(NULL, "");

	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err.ptr, "usage: plait"));
	done(&r);
	r = run(NULL, "frobnicate");
	cr_assert_eq(r.status, 2);
	cr_assert_str_eq(r.err.ptr, "plait: 'frobnicate' is not a plait command; see 'plait help'\n");
	done(&r);
	r = run(NULL, "--bogus");
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err.ptr, "unknown option '--bogus'"));
	done(&r);
	r = run(NULL, "help frobnicate");
	cr_assert_eq(r.status, 2);
	done(&r);
	r = run(NULL, "doctor --bogus");
	cr_assert_eq(r.status, 2);
	cr_assert_str_eq(r.err.ptr, "plait doctor: unknown option '--bogus'\ntry 'plait doctor --help'\n");
	done(&r);
	r = run(NULL, "doctor --config");
	cr_assert_eq(r.status, 2);
	done(&r);
}

Test(plait, command_help)
{
	test_run a = run(NULL, "doctor --help"), b = run(NULL, "help doctor");

	cr_assert_eq(a.status, 0);
	cr_assert(pl_str_starts_with(a.out.ptr, "usage: plait doctor"));
	cr_assert_str_eq(a.out.ptr, b.out.ptr);
	done(&a);
	done(&b);
}

Test(plait, doctor_json_and_text_tell_the_same_story)
{
	pl_buf env = PL_BUF_INIT, model = PL_BUF_INIT, cfg = PL_BUF_INIT;
	test_run j, t;
	json_t *rep = NULL, *found, *g;
	pl_err err = { 0 };
	size_t i;
	static const char conf[] = "{\"num_hidden_layers\":2,\"hidden_size\":8,\"vocab_size\":10,\"plt_num_loops\":2}";

	pl_path_join(&model, tmp.ptr, "models/tiny");
	cr_assert_eq(pl_mkdir_p(model.ptr, 0755, NULL), 0);
	pl_path_join(&cfg, model.ptr, "config.json");
	cr_assert_eq(pl_file_write_atomic(cfg.ptr, conf, strlen(conf), 0644, NULL), 0);
	pl_buf_printf(&env, "HOME='%s' XDG_CONFIG_HOME='%s/none' PLAIT_MODEL_PATH='%s/models'", tmp.ptr,
		      tmp.ptr, tmp.ptr);

	j = run(env.ptr, "doctor --json");
	t = run(env.ptr, "doctor");
	cr_assert_eq(j.status, 0, "doctor --json failed: %s", j.err.ptr);
	cr_assert_eq(t.status, 0);
	cr_assert_eq(pl_json_parse(&rep, j.out.ptr, j.out.len, "doctor --json", &err), 0, "%s", err.msg);
	cr_assert(json_is_true(json_object_get(rep, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rep, "plait"), "version")),
			 PLAIT_VERSION);
	found = json_object_get(json_object_get(rep, "models"), "found");
	cr_assert_eq(json_array_size(found), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(found, 0), "path")), model.ptr);
	/* The text shows the same model, every grammar and every problem. */
	cr_assert_not_null(strstr(t.out.ptr, model.ptr));
	json_array_foreach(json_object_get(json_object_get(rep, "tools"), "grammars"), i, g)
		cr_assert_not_null(strstr(t.out.ptr, json_string_value(json_object_get(g, "name"))));
	json_array_foreach(json_object_get(rep, "problems"), i, g)
		cr_assert_not_null(strstr(t.out.ptr, json_string_value(json_object_get(g, "message"))));
	cr_assert_not_null(strstr(t.out.ptr, "plait can work here"));
	json_decref(rep);
	done(&j);
	done(&t);
	pl_buf_release(&env);
	pl_buf_release(&model);
	pl_buf_release(&cfg);
}

Test(plait, doctor_fails_on_a_broken_config)
{
	test_run r = run("XDG_CONFIG_HOME=/nonexistent", "doctor --config /nonexistent/c.json");

	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.out.ptr, "[fatal] config: config file '/nonexistent/c.json' does not exist"));
	cr_assert_not_null(strstr(r.out.ptr, "plait cannot work here"));
	done(&r);
}

/* Profiles are never read from beside the program: doctor says where
 * they were looked for and what to do when none is found (a build tree
 * run without PLAIT_ROOT), and finds them with it. */
Test(plait, doctor_says_when_the_profiles_are_not_found)
{
	pl_buf env = PL_BUF_INIT;
	test_run r;

	if (pl_dir_exists("/usr/local/share/plait") || pl_dir_exists("/etc/plait"))
		cr_skip_test("plait is installed here: its profiles would be found");
	pl_buf_printf(&env, "HOME='%s' XDG_CONFIG_HOME='%s/none' PLAIT_ROOT='%s/none'", tmp.ptr, tmp.ptr, tmp.ptr);
	r = run(env.ptr, "doctor");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "[warning] sandbox: sandbox profile 'agent' not found"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "[warning] agent: agent profile 'swebench' not found"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "PLAIT_ROOT=$PWD"), "%s", r.out.ptr);
	done(&r);
	pl_buf_reset(&env);
	pl_buf_printf(&env, "HOME='%s' XDG_CONFIG_HOME='%s/none'", tmp.ptr, tmp.ptr);
	r = run(env.ptr, "doctor --json");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\"profiles_found\": true"), "%s", r.out.ptr);
	cr_assert_null(strstr(r.out.ptr, "\"profiles_found\": false"), "%s", r.out.ptr);
	done(&r);
	pl_buf_release(&env);
}
