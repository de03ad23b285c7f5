/* Inference against a scripted OpenAI-compatible server (tests/
 * script_server.h): the agent, with the swebench profile, edits the
 * generated instance's bug and submits; the predictions file it writes is
 * then evaluated, and a second run resumes without asking the model. */
#include "bench_test.h"
#include "swe_fixture.h"

#include "tests/script_server.h"

static swe_fixture fx;
static ss_server srv;

static void setup(void)
{
	swe_fixture_init(&fx);
	memset(&srv, 0, sizeof(srv));
	cr_assert(ss_start(&srv));
}

static void teardown(void)
{
	ss_stop(&srv);
	swe_fixture_release(&fx);
}

TestSuite(infer, .init = setup, .fini = teardown, .timeout = 300);

static agent_settings *settings(void)
{
	agent_settings *s = NULL;
	agent_settings_opts o = { 0 };
	pl_err err = { 0 };
	char url[64];

	o.profile = "swebench";
	cr_assert_eq(agent_settings_load(&s, &o, &err), 0, "%s", err.msg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
	cr_assert_eq(agent_settings_set(s, "backend.name", "openai", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.api_base", url, "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.api_model", "scripted", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.stream", "false", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.timeout", "60", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	return s;
}

Test(infer, the_agent_fixes_and_the_prediction_resolves)
{
	static const ss_call fix = { "str_replace", "{\"path\": \"calc/__init__.py\", \"old_str\": \"return a - b\", "
						    "\"new_str\": \"return a + b\"}" };
	static const ss_call submit = { "submit", "{}" };
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	agent_settings *s = settings();
	bench_infer_opts io;
	bench_eval_opts eo;
	pl_buf out = PL_BUF_INIT, logs = PL_BUF_INIT, traj = PL_BUF_INIT;
	json_t *sum = NULL;
	pl_err err = { 0 };
	size_t added = 0, reqs;

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_select(ds, (char *const *)one, 1, &err), 0);
	ss_push(&srv, ss_openai(NULL, &fix, 1, NULL, 100, 10));
	ss_push(&srv, ss_openai(NULL, &submit, 1, NULL, 120, 5));
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = fx.repos.ptr;
	io.settings = s;
	io.model_name = "scripted-model";
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 1);
	reqs = ss_requests(&srv);
	cr_assert_eq(reqs, 2, "two model calls");
	/* the issue reached the model through the swebench task prompt */
	{
		char *body = ss_dump(ss_request_json(&srv, 0));

		cr_assert(strstr(body, "calc is wrong"), "%s", body);
		free(body);
	}
	cr_assert_eq(bench_preds_load(&p, out.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(p->n, 1);
	cr_assert_str_eq(p->items[0].instance_id, "pallets__flask-1");
	cr_assert_str_eq(p->items[0].model, "scripted-model");
	cr_assert(strstr(p->items[0].patch, "-    return a - b\n+    return a + b\n"), "%s", p->items[0].patch);
	pl_path_join(&traj, fx.dir.ptr, "preds.jsonl.trajs/pallets__flask-1.jsonl");
	cr_assert(pl_file_exists(traj.ptr), "the trajectory beside the predictions");

	/* the prediction evaluates as resolved */
	memset(&eo, 0, sizeof(eo));
	pl_path_join(&logs, fx.dir.ptr, "logs");
	eo.run_id = "inferred";
	eo.log_dir = logs.ptr;
	eo.report_dir = fx.dir.ptr;
	eo.repos_dir = fx.repos.ptr;
	cr_assert_eq(bench_eval(&sum, NULL, ds, p, &eo, &err), 0, "%s", err.msg);
	cr_assert_eq(json_integer_value(json_object_get(sum, "resolved_instances")), 1);

	/* again: the instance has its prediction, the model is not called */
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 0);
	cr_assert_eq(ss_requests(&srv), reqs);
	json_decref(sum);
	bench_preds_free(p);
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
	pl_buf_release(&logs);
	pl_buf_release(&traj);
}

static void count_errors(void *ctx, const bench_progress *p)
{
	if (p->instance_id && !strcmp(p->outcome, "error"))
		snprintf(ctx, 512, "%s", p->error);
}

Test(infer, a_model_that_fails_leaves_the_instance_out)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = NULL;
	agent_settings *s = settings();
	bench_infer_opts io;
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t added = 9;
	char why[512] = "", *text;

	cr_assert_eq(agent_settings_set(s, "backend.max_retries", "0", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_select(ds, (char *const *)one, 1, &err), 0);
	ss_push(&srv, ss_error(400, NULL, "no such model"));
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = fx.repos.ptr;
	io.settings = s;
	io.on_progress = count_errors;
	io.progress_ctx = why;
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 0);
	cr_assert(strstr(why, "model error: "), "%s", why);
	text = swe_read(fx.dir.ptr, "preds.jsonl");
	cr_assert_str_eq(text, "", "no prediction: running again retries it");
	free(text);
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
}
