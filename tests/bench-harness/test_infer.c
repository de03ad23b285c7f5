/* Inference against a scripted OpenAI-compatible server (tests/
 * script_server.h): the agent, with the swebench profile, edits the
 * generated instance's bug and submits; the predictions file it writes is
 * then evaluated, and a second run resumes without asking the model.
 * Workers run their agents at once on one endpoint, or share one loaded
 * model of the embedded engine (tests/engine_model.h's). */
#include "bench_test.h"
#include "swe_fixture.h"

#include <pthread.h>

#include "tests/engine_model.h"
#include "tests/script_server.h"

static const ss_call fix_call = { "str_replace", "{\"path\": \"calc/__init__.py\", \"old_str\": \"return a - b\", "
						 "\"new_str\": \"return a + b\"}" };
static const ss_call submit_call = { "submit", "{}" };

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

/* First turns wait until `want` conversations have asked (or a deadline):
 * the workers' agents are then all in flight on the one endpoint. */
typedef struct rendezvous {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int want, first_turns, answered_early;
} rendezvous;

static ss_resp fix_then_submit(void *ctx, ss_server *s, size_t i, const ss_req *req)
{
	rendezvous *g = ctx;
	double deadline = ss_now() + 60;

	(void)s, (void)i;
	if (ss_assistant_turns(req) > 0)
		return ss_openai(NULL, &submit_call, 1, NULL, 120, 5);
	pthread_mutex_lock(&g->mu);
	g->first_turns++;
	pthread_cond_broadcast(&g->cv);
	while (g->first_turns < g->want && ss_now() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	if (g->first_turns < g->want)
		g->answered_early++;
	pthread_mutex_unlock(&g->mu);
	return ss_openai(NULL, &fix_call, 1, NULL, 100, 10);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(infer, workers_run_their_agents_at_once_on_one_endpoint)
{
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	agent_settings *s = settings();
	bench_infer_opts io;
	rendezvous g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 3, 0, 0 };
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t added = 0, i;
	char *text;

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	ss_set_handler(&srv, fix_then_submit, &g);
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = fx.repos.ptr;
	io.settings = s;
	io.workers = 3;
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 3);
	cr_assert_eq(g.first_turns, 3);
	cr_assert_eq(g.answered_early, 0, "the three agents asked the model at the same time");
	cr_assert_eq(ss_requests(&srv), 6, "a fix and a submit each");
	/* one line per instance, each with its own checkout's fix */
	text = swe_read(fx.dir.ptr, "preds.jsonl");
	cr_assert_eq(count_lines(text), 3, "%s", text);
	free(text);
	cr_assert_eq(bench_preds_load(&p, out.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(p->n, 3);
	for (i = 0; i < p->n; i++) {
		cr_assert(strstr(p->items[i].patch, "-    return a - b\n+    return a + b\n"), "%s", p->items[i].patch);
		cr_assert_str_eq(p->items[i].model, "openai:scripted", "the session's backend:model");
	}
	bench_preds_free(p);
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
}

/* The embedded engine: two workers, one model loaded for both.  The test
 * model answers every turn with the fix; the second try finds nothing to
 * replace and the step limit ends the run with the fix as its changes. */
Test(infer, workers_share_one_loaded_engine)
{
	static const char *const two[] = { "pallets__flask-1", "pallets__flask-2" };
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	agent_settings *s = NULL;
	bench_infer_opts io;
	pl_buf out = PL_BUF_INIT, model = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t added = 0, i;
	const char *kv[][2] = { { "backend.name", "engine" }, { "backend.threads", "1" }, { "limits.max_steps", "2" },
				{ "sampling.max_tokens", "8" } };
	agent_settings_opts so = { 0 };

	pl_path_join(&model, fx.dir.ptr, "model");
	tm_write_model(model.ptr, "<tool_call>\n{\"name\": \"str_replace\", \"arguments\": {\"path\": \"calc/__init__.py\", "
				  "\"old_str\": \"return a - b\", \"new_str\": \"return a + b\"}}\n</tool_call>");
	so.profile = "swebench";
	cr_assert_eq(agent_settings_load(&s, &so, &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.model", model.ptr, "test", &err), 0, "%s", err.msg);
	for (i = 0; i < PL_ARRAY_LEN(kv); i++)
		cr_assert_eq(agent_settings_set(s, kv[i][0], kv[i][1], "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_select(ds, (char *const *)two, 2, &err), 0);
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = fx.repos.ptr;
	io.settings = s;
	io.workers = 2;
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 2);
	cr_assert_eq(bench_preds_load(&p, out.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(p->n, 2);
	for (i = 0; i < p->n; i++) {
		cr_assert(strstr(p->items[i].patch, "-    return a - b\n+    return a + b\n"), "%s", p->items[i].patch);
		cr_assert_str_eq(p->items[i].model, "engine:model");
	}
	bench_preds_free(p);
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
	pl_buf_release(&model);
}

Test(infer, a_missing_repository_stops_the_run_before_it_starts)
{
	bench_dataset *ds = NULL;
	agent_settings *s = settings();
	bench_infer_opts io;
	pl_buf out = PL_BUF_INIT, empty = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t added = 9;

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	pl_path_join(&empty, fx.dir.ptr, "no-repos");
	cr_assert_eq(pl_mkdir_p(empty.ptr, 0755, NULL), 0);
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = empty.ptr;
	io.settings = s;
	cr_assert_eq(bench_infer(&added, ds, &io, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "repository 'pallets/flask' not found as ") &&
			  strstr(err.msg, "git clone --mirror https://github.com/pallets/flask"),
		  "%s", err.msg);
	cr_assert_eq(ss_requests(&srv), 0, "no model call");
	cr_assert_not(pl_file_exists(out.ptr), "no predictions file");
	io.repos_dir = "/nonexistent/repos";
	cr_assert_eq(bench_infer(&added, ds, &io, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "repositories directory '/nonexistent/repos' does not exist");
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
	pl_buf_release(&empty);
}

static void keep_note(void *ctx, const bench_progress *p)
{
	if (p->note)
		snprintf(ctx, 512, "%s", p->note);
}

/* --repos-url: a repository the directory lacks is cloned into it once
 * (here from a directory standing for https://github.com), then used. */
Test(infer, a_missing_repository_is_cloned_from_repos_url)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	agent_settings *s = settings();
	bench_infer_opts io;
	pl_buf out = PL_BUF_INIT, up = PL_BUF_INIT, cloned = PL_BUF_INIT, path = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t added = 0;
	char note[512] = "";

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_dataset_select(ds, (char *const *)one, 1, &err), 0);
	pl_path_join(&up, fx.dir.ptr, "upstream");
	cr_assert_eq(test_sh(NULL, "mkdir -p '%s/pallets' && ln -s '%s/pallets__flask' '%s/pallets/flask'", up.ptr,
			     fx.repos.ptr, up.ptr),
		     0);
	pl_path_join(&cloned, fx.dir.ptr, "cloned");
	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 100, 10));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 120, 5));
	pl_path_join(&out, fx.dir.ptr, "preds.jsonl");
	memset(&io, 0, sizeof(io));
	io.out = out.ptr;
	io.repos_dir = cloned.ptr;
	io.repos_url = up.ptr;
	io.settings = s;
	io.on_progress = keep_note;
	io.progress_ctx = note;
	cr_assert_eq(bench_infer(&added, ds, &io, &err), 0, "%s", err.msg);
	cr_assert_eq(added, 1);
	cr_assert(strstr(note, "cloning ") && strstr(note, "upstream/pallets/flask into ") &&
			  strstr(note, "cloned/pallets__flask"),
		  "the clone is announced: %s", note);
	io.on_progress = NULL;
	pl_path_join(&path, cloned.ptr, "pallets__flask/.git");
	cr_assert(pl_dir_exists(path.ptr), "cloned as DIR/owner__name");
	pl_buf_reset(&path);
	pl_path_join(&path, cloned.ptr, ".pallets__flask.partial");
	cr_assert_not(pl_dir_exists(path.ptr));
	cr_assert_eq(bench_preds_load(&p, out.ptr, &err), 0, "%s", err.msg);
	cr_assert(strstr(p->items[0].patch, "+    return a + b\n"), "%s", p->items[0].patch);
	bench_preds_free(p);

	/* a URL that has no such repository: the run stops before it starts */
	pl_buf_reset(&cloned);
	pl_path_join(&cloned, fx.dir.ptr, "cloned2");
	io.repos_dir = cloned.ptr;
	io.repos_url = "/nonexistent/upstream/";
	unlink(out.ptr);
	cr_assert_lt(bench_infer(&added, ds, &io, &err), 0);
	cr_assert(strstr(err.msg, "cloning '/nonexistent/upstream/pallets/flask' (--repos-url): "), "%s", err.msg);
	pl_buf_reset(&path);
	pl_path_join(&path, cloned.ptr, ".pallets__flask.partial");
	cr_assert_not(pl_dir_exists(path.ptr), "no partial clone left");
	cr_assert_eq(ss_requests(&srv), 2, "no model call for the second run");
	bench_dataset_free(ds);
	agent_settings_free(s);
	pl_buf_release(&out);
	pl_buf_release(&up);
	pl_buf_release(&cloned);
	pl_buf_release(&path);
}
