/* The loop driven by the embedded engine on a random checkpoint written
 * here (mechanics only): tokens flow through the chat template and the
 * tokenizer, tool calls parse, and each turn prefills only what is new:
 * the counted prefill tokens prove the session's K/V is kept between turns
 * and that rewriting history truncates it; sessions share one loaded model
 * (agent_engine).  The checkpoint is tests/engine_model.h's bigram machine. */
#include "agent_test.h"

#include "engine/engine.h"

#include "tests/engine_model.h"

static pl_buf root = PL_BUF_INIT;
static char *repo;

static void setup(void)
{
	repo = at_repo(&root);
}

static void teardown(void)
{
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
	free(repo);
}

TestSuite(engine_loop, .init = setup, .fini = teardown, .timeout = 120);


static agent_settings *engine_settings(const char *model, const char *format, const char *steps)
{
	agent_settings *s = NULL;
	pl_err err = { 0 };
	const char *kv[][2] = { { "backend.name", "engine" }, { "backend.model", model },     { "backend.threads", "1" },
				{ "tools.format", format },   { "limits.max_steps", steps }, { "sampling.max_tokens", "8" },
				{ "tools.enabled", "view,search,submit" } };

	cr_assert_eq(agent_settings_load(&s, NULL, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < PL_ARRAY_LEN(kv); i++)
		cr_assert_eq(agent_settings_set(s, kv[i][0], kv[i][1], "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	return s;
}

static json_t *usages(const at_events *ev)
{
	json_t *a = at_of_type(ev, "assistant"), *u = json_array(), *x;
	size_t i;

	json_array_foreach(a, i, x)
		json_array_append(u, json_object_get(x, "usage"));
	json_decref(a);
	return u;
}

static int64_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

Test(engine_loop, turns_prefill_only_what_is_new)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_session *sess = NULL;
	agent_result res;
	at_events ev = { 0 };
	json_t *us, *tools, *stats;
	int64_t prefill = 0;
	size_t i;

	pl_path_join(&dir, root.ptr, "model");
	tm_write_model(dir.ptr, "<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"calc.py\"}}\n</tool_call>");
	s = engine_settings(dir.ptr, "native", "3");
	at_run(&res, &ev, s, repo, NULL, NULL, &sess);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	/* the tool call the model wrote was parsed and run each turn */
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 3);
	for (i = 0; i < 3; i++) {
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tools, i), "name")), "view");
		cr_assert(strstr(json_string_value(json_object_get(json_array_get(tools, i), "text")), "def add"));
	}
	/* each call: input = the whole conversation, cached = what the session
	 * already held, and the one generated token (CALL) stays in it */
	us = usages(&ev);
	cr_assert_eq(json_array_size(us), 3);
	cr_assert_eq(num(json_array_get(us, 0), "cached"), 0);
	cr_assert_eq(num(json_array_get(us, 0), "output"), 1);
	for (i = 1; i < 3; i++) {
		const json_t *prev = json_array_get(us, i - 1), *u = json_array_get(us, i);

		cr_assert_eq(num(u, "cached"), num(prev, "input") + num(prev, "output"),
			     "call %zu reused %lld tokens, the session held %lld", i + 1, (long long)num(u, "cached"),
			     (long long)(num(prev, "input") + num(prev, "output")));
		cr_assert_lt(num(u, "input") - num(u, "cached"), num(u, "input") / 2,
			     "call %zu prefilled %lld of %lld tokens", i + 1, (long long)(num(u, "input") - num(u, "cached")),
			     (long long)num(u, "input"));
	}
	{
		json_t *u;

		json_array_foreach(us, i, u)
			prefill += num(u, "input") - num(u, "cached");
	}
	stats = agent_session_backend_stats(sess);
	cr_assert_eq(num(stats, "prefill_tokens"), prefill, "counted prefill %lld, summed %lld",
		     (long long)num(stats, "prefill_tokens"), (long long)prefill);
	cr_assert_eq(num(stats, "generated_tokens"), 3);
	json_decref(stats);
	json_decref(us);
	json_decref(tools);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

Test(engine_loop, openhands_text_calls_through_the_engine)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_result res;
	at_events ev = { 0 };
	json_t *tools;

	pl_path_join(&dir, root.ptr, "model-text");
	tm_write_model(dir.ptr, "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>");
	s = engine_settings(dir.ptr, "text", "2");
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 2);
	cr_assert(json_is_true(json_object_get(json_array_get(tools, 0), "ok")));
	cr_assert_str_eq(ev.text.ptr, "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>"
				      "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>",
			 "the text streamed: %s", ev.text.ptr);
	json_decref(tools);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

Test(engine_loop, a_rewind_truncates_the_session)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_session *sess = NULL;
	agent_session_opts o = { 0 };
	agent_result res;
	at_events ev = { json_array(), PL_BUF_INIT, NULL, NULL };
	pl_err err = { 0 };
	json_t *us, *stats;
	int64_t held_after_turn1, held_before_rewind;

	pl_path_join(&dir, root.ptr, "model");
	tm_write_model(dir.ptr, "<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"README\"}}\n</tool_call>");
	s = engine_settings(dir.ptr, "native", "2");
	agent_settings_set(s, "prompts.task", "", "test", NULL);
	o.repo = repo;
	o.kind = "chat";
	o.checkpoints = true;
	o.on_event = at_on_event;
	o.user = &ev;
	cr_assert_eq(agent_session_new(&sess, s, &o, &err), 0, "%s", err.msg);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "first", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	stats = agent_session_backend_stats(sess);
	held_after_turn1 = num(stats, "session_tokens");
	json_decref(stats);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "second", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	stats = agent_session_backend_stats(sess);
	held_before_rewind = num(stats, "session_tokens");
	json_decref(stats);
	cr_assert_eq(agent_session_rewind(sess, 2, &err), 0, "%s", err.msg);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "second, again", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	us = usages(&ev);
	cr_assert_eq(json_array_size(us), 6);
	/* after the rewind the session was cut back to the end of turn 1's
	 * last answer, not to zero, and not kept at its full length */
	cr_assert_lt(num(json_array_get(us, 4), "cached"), held_before_rewind);
	cr_assert_eq(num(json_array_get(us, 4), "cached"), held_after_turn1,
		     "reused %lld, turn 1 ended at %lld", (long long)num(json_array_get(us, 4), "cached"),
		     (long long)held_after_turn1);
	json_decref(us);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

/* One session's run on a thread of its own, over a shared engine. */
typedef struct shared_run {
	const agent_settings *s;
	agent_engine *engine;
	const char *repo;
	agent_result res;
	int rc;
	pl_err err;
	int tools_ok;
} shared_run;

static void count_tools(void *user, const agent_event *ev)
{
	shared_run *r = user;

	if (ev->type == AGENT_EV_TOOL_END && json_is_true(json_object_get(ev->data, "ok")) &&
	    strstr(json_string_value(json_object_get(ev->data, "text")), "def add"))
		r->tools_ok++;
}

static void *shared_main(void *arg)
{
	shared_run *r = arg;
	agent_session *sess = NULL;
	agent_session_opts o = { 0 };

	o.repo = r->repo;
	o.kind = "fix";
	o.engine = r->engine;
	o.on_event = count_tools;
	o.user = r;
	agent_result_init(&r->res);
	if ((r->rc = agent_session_new(&sess, r->s, &o, &r->err)) == 0)
		r->rc = agent_session_run(&r->res, sess, "add() subtracts", &r->err);
	agent_session_free(sess);
	return NULL;
}

Test(engine_loop, sessions_on_threads_share_one_engine)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_engine *e = NULL;
	shared_run runs[3];
	pthread_t th[3];
	pl_err err = { 0 };
	json_t *stats;
	int i;

	pl_path_join(&dir, root.ptr, "model");
	tm_write_model(dir.ptr, "<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"calc.py\"}}\n</tool_call>");
	s = engine_settings(dir.ptr, "native", "2");
	cr_assert_eq(agent_engine_open(&e, s, &err), 0, "%s", err.msg);
	memset(runs, 0, sizeof(runs));
	for (i = 0; i < 3; i++) {
		runs[i].s = s;
		runs[i].engine = e;
		runs[i].repo = repo;
		cr_assert_eq(pthread_create(&th[i], NULL, shared_main, &runs[i]), 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(runs[i].rc, 0, "session %d: %s", i, runs[i].err.msg);
		cr_assert_eq(runs[i].res.exit, AGENT_EXIT_STEP_LIMIT, "session %d: %s: %s", i,
			     agent_exit_name(runs[i].res.exit), runs[i].res.message.ptr);
		cr_assert_eq(runs[i].tools_ok, 2, "session %d: the model's calls ran", i);
		agent_result_release(&runs[i].res);
	}
	stats = agent_engine_stats(e);
	cr_assert_eq(json_integer_value(json_object_get(stats, "sessions")), 3, "every session used the one model");
	cr_assert_str_eq(json_string_value(json_object_get(stats, "model")), "model");
	json_decref(stats);
	agent_engine_free(e);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

Test(engine_loop, a_missing_model_fails_to_open_an_engine)
{
	agent_settings *s = engine_settings("/nonexistent/model", "native", "1");
	agent_engine *e = NULL;
	pl_err err = { 0 };

	cr_assert_eq(agent_engine_open(&e, s, &err), PL_ENOTFOUND);
	cr_assert_null(e);
	cr_assert(strstr(err.msg, "engine backend: model '/nonexistent/model' not found"), "%s", err.msg);
	agent_settings_free(s);
}
