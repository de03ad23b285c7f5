/* The loop against a real HTTP server on loopback playing scripted turns:
 * every tool-call format over OpenAI and Anthropic wires, parallel and
 * malformed calls, each limit and exit reason, retries, dropped
 * connections, stalls, cancellation, context elision, the trajectory. */
#include "agent_test.h"

#include <pthread.h>

static pl_buf root = PL_BUF_INIT;
static char *repo;
static ss_server srv;

static void setup(void)
{
	repo = at_repo(&root);
	cr_assert(ss_start(&srv), "cannot listen on loopback");
}

static void teardown(void)
{
	ss_stop(&srv);
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
	free(repo);
}

TestSuite(loop, .init = setup, .fini = teardown, .timeout = 60);

static const ss_call fix_call = { "str_replace",
				  "{\"path\": \"calc.py\", \"old_str\": \"return a - b\", \"new_str\": \"return a + b\"}" };
static const ss_call submit_call = { "submit", "{}" };
static const ss_call view_call = { "view", "{\"path\": \"calc.py\"}" };

static char *traj_path(void)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, root.ptr, "run.jsonl");
	return pl_buf_detach(&p, NULL);
}

/* A run that edits then submits, in the given wire and streaming mode. */
static void edit_then_submit(const char *backend, bool stream)
{
	const char *kv[] = { "backend.stream", stream ? "true" : "false", NULL };
	agent_settings *s = at_settings(backend, srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *m, *req;
	char *t;
	bool anth = !strcmp(backend, "anthropic");

	if (anth) {
		ss_push(&srv, stream ? ss_anthropic_stream("I will fix add.", &fix_call, 1, NULL, 100, 20) :
				       ss_anthropic("I will fix add.", &fix_call, 1, NULL, 100, 20));
		ss_push(&srv, stream ? ss_anthropic_stream(NULL, &submit_call, 1, NULL, 150, 5) :
				       ss_anthropic(NULL, &submit_call, 1, NULL, 150, 5));
	} else {
		ss_push(&srv, stream ? ss_openai_stream("I will fix add.", &fix_call, 1, NULL, 100, 20) :
				       ss_openai("I will fix add.", &fix_call, 1, NULL, 100, 20));
		ss_push(&srv, stream ? ss_openai_stream(NULL, &submit_call, 1, NULL, 150, 5) :
				       ss_openai(NULL, &submit_call, 1, NULL, 150, 5));
	}
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(res.submitted);
	cr_assert(strstr(res.patch.ptr, "+    return a + b"), "patch: %s", res.patch.ptr);
	cr_assert_eq(res.steps, 2);
	cr_assert_eq(res.usage.input, 250);
	cr_assert_eq(res.usage.output, 25);
	cr_assert_eq(res.usage.calls, 2);
	cr_assert_not(res.usage.cost_known, "no price was configured");
	if (stream)
		cr_assert_str_eq(ev.text.ptr, "I will fix add.");
	cr_assert_eq(ss_requests(&srv), 2);
	/* what the second request carried back to the model */
	req = ss_request_json(&srv, 1);
	t = at_text(req);
	cr_assert(json_is_array(json_object_get(req, "tools")), "tools were not sent");
	if (anth) {
		cr_assert(json_is_string(json_object_get(req, "system")));
		cr_assert(strstr(t, "\"type\":\"tool_result\",\"tool_use_id\":\"toolu_0\""), "%s", t);
		cr_assert(strstr(t, "\"type\":\"tool_use\",\"id\":\"toolu_0\",\"name\":\"str_replace\""), "%s", t);
		cr_assert(strstr(t, "\"input_schema\""), "%s", t);
	} else {
		m = json_object_get(req, "messages");
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system");
		cr_assert(strstr(t, "\"role\":\"tool\",\"content\":"), "%s", t);
		cr_assert(strstr(t, "\"tool_call_id\":\"call_0\""), "%s", t);
		cr_assert(strstr(t, "\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\""), "%s", t);
		cr_assert_eq(json_is_true(json_object_get(req, "stream")), stream);
	}
	cr_assert(strstr(t, "<issue>\\nadd() subtracts instead of adding\\n</issue>"), "task template: %s", t);
	free(t);
	json_decref(req);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, openai_streamed_calls)
{
	edit_then_submit("openai", true);
}

Test(loop, openai_whole_answers)
{
	edit_then_submit("openai", false);
}

Test(loop, anthropic_streamed_tool_use)
{
	edit_then_submit("anthropic", true);
}

Test(loop, anthropic_whole_answers)
{
	edit_then_submit("anthropic", false);
}

Test(loop, api_keys_travel_in_the_right_header)
{
	char root[4096];
	/* the prompts are the source tree's (PLAIT_ROOT) */
	char *env[] = { "OPENAI_API_KEY=sk-open", "ANTHROPIC_API_KEY=sk-anth", "MY_KEY=sk-mine", root, NULL };
	agent_settings *s;
	agent_settings_opts o = { 0 };
	pl_err err = { 0 };
	agent_result res;
	at_events ev = { 0 };
	char url[64], *h;

	cr_assert_not_null(getenv("PLAIT_ROOT"), "PLAIT_ROOT must point at the checkout");
	snprintf(root, sizeof(root), "PLAIT_ROOT=%s", getenv("PLAIT_ROOT"));
	o.envp = env;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(agent_settings_load(&s, &o, &err), 0);
		agent_settings_set(s, "backend.name", k == 1 ? "anthropic" : "openai", "t", NULL);
		agent_settings_set(s, "backend.api_base", url, "t", NULL);
		agent_settings_set(s, "backend.api_model", "m", "t", NULL);
		agent_settings_set(s, "tools.allow_empty_submit", "true", "t", NULL);
		if (k == 2)
			agent_settings_set(s, "backend.api_key_env", "MY_KEY", "t", NULL);
		ss_push(&srv, k == 1 ? ss_anthropic(NULL, &submit_call, 1, NULL, 1, 1) : ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
		at_run(&res, &ev, s, repo, NULL, NULL, NULL);
		cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
		h = ss_request_head(&srv, (size_t)k);
		if (k == 0)
			cr_assert(strstr(h, "Authorization: Bearer sk-open\r\n"), "%s", h);
		else if (k == 1)
			cr_assert(strstr(h, "x-api-key: sk-anth\r\n") && strstr(h, "anthropic-version: 2023-06-01"), "%s", h);
		else
			cr_assert(strstr(h, "Authorization: Bearer sk-mine\r\n"), "%s", h);
		cr_assert(strstr(h, k == 1 ? "POST /v1/messages " : "POST /v1/chat/completions "), "%s", h);
		free(h);
		at_events_release(&ev);
		agent_result_release(&res);
		agent_settings_free(s);
	}
}

/* Calls written in the text, in each format, over the OpenAI wire. */
static void text_format(const char *format, const char *reply1, const char *wrapped_obs, const char *sys_needle)
{
	const char *kv[] = { "tools.format", format, NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *m, *req;
	char *t;

	const char *submit_text = !strcmp(format, "text") ? "<function=submit>\n</function>" :
				  !strcmp(format, "json") ? "<tool_call>\n{\"name\": \"submit\", \"arguments\": {}}\n</tool_call>" :
							    "<tool_call>\n<function=submit>\n</function>\n</tool_call>";

	ss_push(&srv, ss_openai_stream(reply1, NULL, 0, NULL, 10, 10));
	ss_push(&srv, ss_openai(submit_text, NULL, 0, NULL, 10, 10));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "%s: exit %s: %s", format, agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.patch.ptr, "+    return a + b"), "%s: patch %s", format, res.patch.ptr);
	req = ss_request_json(&srv, 1);
	cr_assert_null(json_object_get(req, "tools"), "%s: tools sent with calls in the text", format);
	m = json_object_get(req, "messages");
	t = (char *)json_string_value(json_object_get(json_array_get(m, 0), "content"));
	cr_assert(strstr(t, sys_needle), "%s: system prompt lacks '%s': %s", format, sys_needle, t);
	/* the model reads back exactly what it wrote, and the observation as a user turn */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "content")), reply1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 3), "role")), "user");
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 3), "content")), wrapped_obs), "%s: %s",
		  format, json_string_value(json_object_get(json_array_get(m, 3), "content")));
	json_decref(req);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, json_calls_in_the_text)
{
	text_format("json",
		    "Fixing.\n<tool_call>\n{\"name\": \"str_replace\", \"arguments\": {\"path\": \"calc.py\", \"old_str\": "
		    "\"return a - b\", \"new_str\": \"return a + b\"}}\n</tool_call>",
		    "<tool_response>\n", "\"name\":\"str_replace\"");
}

Test(loop, xml_calls_in_the_text)
{
	text_format("xml",
		    "Fixing.\n\n<tool_call>\n<function=str_replace>\n<parameter=path>\ncalc.py\n</parameter>\n"
		    "<parameter=old_str>\nreturn a - b\n</parameter>\n<parameter=new_str>\nreturn a + b\n</parameter>\n"
		    "</function>\n</tool_call>",
		    "<tool_response>\n", "<parameter=argument-name>");
}

Test(loop, openhands_text_calls)
{
	text_format("text",
		    "Fixing.\n<function=str_replace>\n<parameter=path>calc.py</parameter>\n<parameter=old_str>return a - "
		    "b</parameter>\n<parameter=new_str>return a + b</parameter>\n</function>",
		    "EXECUTION RESULT of [str_replace]:\n", "---- BEGIN FUNCTION #");
}

Test(loop, text_values_take_the_schemas_types)
{
	/* view_range written as text is an array for the tool */
	const char *kv[] = { "tools.format", "text", "limits.max_steps", "1", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *tools;

	ss_push(&srv, ss_openai("<function=view>\n<parameter=path>calc.py</parameter>\n<parameter=view_range>[1, 2]"
				"</parameter>\n</function>",
				NULL, 0, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 1);
	cr_assert(json_is_true(json_object_get(json_array_get(tools, 0), "ok")), "%s",
		  json_string_value(json_object_get(json_array_get(tools, 0), "text")));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(tools, 0), "text")), "def add"));
	cr_assert_null(strstr(json_string_value(json_object_get(json_array_get(tools, 0), "text")), "def mul"));
	json_decref(tools);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, parallel_calls_run_in_order_and_answer_each_id)
{
	const ss_call two[] = { { "view", "{\"path\": \"calc.py\"}" }, { "view", "{\"path\": \"README\"}" } };
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	json_t *m;

	ss_push(&srv, ss_openai_stream(NULL, two, 2, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	m = at_messages(&srv, 1);
	cr_assert_eq(json_array_size(json_object_get(json_array_get(m, 2), "tool_calls")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 3), "tool_call_id")), "call_0");
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 3), "content")), "def add"));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 4), "tool_call_id")), "call_1");
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 4), "content")), "a calculator"));
	json_decref(m);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, an_empty_submit_is_refused_once)
{
	static const char *const kv[] = { "tools.allow_empty_submit", "false", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *tools;

	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 2, "two submits ran");
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(tools, 0), "text")), "empty"), "%s",
		  json_string_value(json_object_get(json_array_get(tools, 0), "text")));
	cr_assert_eq(res.patch.len, 0, "the second submit ends the run with the empty patch");
	json_decref(tools);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, calls_after_submit_are_not_run)
{
	const ss_call two[] = { submit_call, fix_call };
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	pl_buf f = PL_BUF_INIT, p = PL_BUF_INIT;

	ss_push(&srv, ss_openai(NULL, two, 2, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	pl_path_join(&p, repo, "calc.py");
	pl_file_read(&f, p.ptr, 0, NULL);
	cr_assert(strstr(f.ptr, "a - b"), "the call after submit ran");
	pl_buf_release(&f);
	pl_buf_release(&p);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, malformed_calls_are_observations_and_three_end_the_run)
{
	const ss_call bad_json = { "view", "{\"path\": \"calc.py\"" };
	const ss_call unknown = { "teleport", "{}" };
	const ss_call wrong = { "view", "{\"file\": \"calc.py\"}" };
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	json_t *m;

	ss_push(&srv, ss_openai_stream(NULL, &bad_json, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 1, 1)); /* a good one resets the count */
	ss_push(&srv, ss_openai(NULL, &bad_json, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &unknown, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &wrong, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_FORMAT_ERRORS, "exit %s", agent_exit_name(res.exit));
	cr_assert_eq(ss_requests(&srv), 5);
	cr_assert(strstr(res.message.ptr, "3 malformed"), "%s", res.message.ptr);
	m = at_messages(&srv, 4);
	{
		char *t = at_text(m);

		cr_assert(strstr(t, "the arguments of 'view' are not valid JSON"), "%s", t);
		cr_assert(strstr(t, "there is no tool named 'teleport' (the tools are: view,"), "%s", t);
		cr_assert(strstr(t, "Your tool call could not be run:"), "the format_error prompt: %s", t);
		free(t);
	}
	json_decref(m);
	{
		json_t *fe = at_of_type(&ev, "format_error");

		cr_assert_eq(json_array_size(fe), 4);
		cr_assert(strstr(json_string_value(json_object_get(json_array_get(fe, 3), "error")),
				 "view: missing required argument 'path'"),
			  "%s", json_string_value(json_object_get(json_array_get(fe, 3), "error")));
		json_decref(fe);
	}
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, unparseable_text_is_a_format_error)
{
	const char *kv[] = { "tools.format", "json", "limits.max_format_errors", "2", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *m;

	ss_push(&srv, ss_openai("<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"calc.py\"}\n", NULL, 0, NULL, 1, 1));
	ss_push(&srv, ss_openai("<tool_call>\n{\"name\": \"view\"\n</tool_call>", NULL, 0, "length", 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_FORMAT_ERRORS);
	m = at_messages(&srv, 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 3), "content")), "is not closed by '</tool_call>'"),
		  "%s", json_string_value(json_object_get(json_array_get(m, 3), "content")));
	json_decref(m);
	{
		json_t *fe = at_of_type(&ev, "format_error");

		cr_assert(strstr(json_string_value(json_object_get(json_array_get(fe, 1), "error")), "sampling.max_tokens"));
		json_decref(fe);
	}
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, no_tool_call_nudges_or_finishes)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	const char *kv[] = { "loop.on_no_tool_call", "finish", NULL };
	agent_settings *f = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *m;

	ss_push(&srv, ss_openai("I think it is fine.", NULL, 0, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	m = at_messages(&srv, 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 3), "content")), "did not call a tool"));
	json_decref(m);
	at_events_release(&ev);
	agent_result_release(&res);

	ss_push(&srv, ss_openai("It adds.", NULL, 0, NULL, 1, 1));
	at_run(&res, &ev, f, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_ANSWERED);
	cr_assert_str_eq(res.answer.ptr, "It adds.");
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	agent_settings_free(f);
}

Test(loop, step_limit)
{
	const char *kv[] = { "limits.max_steps", "2", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };

	for (int i = 0; i < 3; i++)
		ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 2);
	cr_assert(strstr(res.message.ptr, "2 model calls"));
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, token_limit)
{
	const char *kv[] = { "limits.max_tokens", "2500", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };

	for (int i = 0; i < 4; i++)
		ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 1000, 100));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_TOKEN_LIMIT);
	cr_assert_eq(ss_requests(&srv), 3);
	cr_assert(strstr(res.message.ptr, "3300 of 2500"), "%s", res.message.ptr);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, cost_limit_with_known_prices)
{
	const char *kv[] = { "limits.max_cost", "0.05", "prices", "{\"scripted\": {\"input\": 10, \"output\": 30}}", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };

	for (int i = 0; i < 4; i++)
		ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 1000, 100)); /* $0.013 a call */
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_COST_LIMIT, "exit %s", agent_exit_name(res.exit));
	cr_assert_eq(ss_requests(&srv), 4);
	cr_assert(res.usage.cost_known);
	cr_assert_float_eq(res.usage.cost, 0.052, 1e-9);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, unknown_price_is_reported_not_fatal)
{
	const char *kv[] = { "limits.max_cost", "0.01", "limits.max_steps", "2", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *w, *end;

	for (int i = 0; i < 2; i++)
		ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 100000, 100));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_not(res.usage.cost_known);
	w = at_of_type(&ev, "warning");
	cr_assert_eq(json_array_size(w), 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "no price for model 'scripted'"));
	end = at_of_type(&ev, "end");
	cr_assert(json_is_null(json_object_get(json_object_get(json_array_get(end, 0), "usage"), "cost")));
	json_decref(w);
	json_decref(end);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, time_limit_ends_a_call_in_flight)
{
	const char *kv[] = { "limits.max_seconds", "1.5", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	ss_resp stall = { 0 };
	agent_result res;
	at_events ev = { 0 };

	stall.status = 200;
	stall.stall = true;
	ss_push(&srv, stall);
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_TIME_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 1, "a call past the deadline is not retried");
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, retries_after_500s)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	json_t *r;

	ss_push(&srv, ss_error(500, NULL, "boom"));
	ss_push(&srv, ss_error(503, NULL, "busy"));
	ss_push(&srv, ss_openai_stream(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "%s", res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 3);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 2);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(r, 0), "reason")), "HTTP 500"));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(r, 0), "reason")), "boom"));
	/* backoff: base 0.01 s doubled and jittered into [0.5, 1) of it */
	cr_assert_geq(json_real_value(json_object_get(json_array_get(r, 1), "delay")), 0.01);
	cr_assert_lt(json_real_value(json_object_get(json_array_get(r, 1), "delay")), 0.02);
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, retry_after_is_honoured)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	json_t *r;

	ss_push(&srv, ss_error(429, "Retry-After: 1\r\n", "slow down"));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_float_eq(json_real_value(json_object_get(json_array_get(r, 0), "delay")), 1.0, 1e-9);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(r, 0), "reason")), "HTTP 429"));
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, dropped_connections_are_retried)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	ss_resp drop = { 0 }, half;
	agent_result res;
	at_events ev = { 0 };
	json_t *r;
	size_t n = 0;

	ss_push(&srv, drop); /* closed without an answer */
	half = ss_openai_stream("partial", &view_call, 1, NULL, 1, 1);
	while (half.chunks[n])
		n++;
	free(half.chunks[n - 1]); /* no [DONE] */
	free(half.chunks[n - 2]); /* no usage */
	free(half.chunks[n - 3]); /* no finish_reason */
	half.chunks[n - 3] = NULL;
	ss_push(&srv, half); /* the stream ends early, cleanly closed */
	ss_push(&srv, ss_openai_stream("whole", &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "%s", res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 3);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 2);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(r, 1), "reason")), "connection dropped"), "%s",
		  json_string_value(json_object_get(json_array_get(r, 1), "reason")));
	cr_assert_eq(res.steps, 1, "retries are not steps");
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, stalled_server_times_out_then_model_error)
{
	const char *kv[] = { "backend.timeout", "0.2", "backend.max_retries", "1", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	ss_resp stall = { 0 };
	agent_result res;
	at_events ev = { 0 };

	stall.status = 200;
	stall.stall = true;
	ss_push(&srv, stall);
	ss_push(&srv, stall);
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR);
	cr_assert(strstr(res.message.ptr, "no data from the server for 0.2 s"), "%s", res.message.ptr);
	cr_assert(strstr(res.message.ptr, "after 2 attempts"), "%s", res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 2);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, client_errors_are_not_retried)
{
	agent_settings *s = at_settings("anthropic", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };

	ss_push(&srv, ss_error(400, NULL, "prompt is too long: 250000 tokens > 200000 maximum"));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR);
	cr_assert(strstr(res.message.ptr, "HTTP 400"), "%s", res.message.ptr);
	cr_assert(strstr(res.message.ptr, "prompt is too long"), "%s", res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 1);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, refused_connection_is_a_model_error)
{
	const char *kv[] = { "backend.max_retries", "1", NULL };
	ss_server other;
	int port;
	agent_settings *s;
	agent_result res;
	at_events ev = { 0 };

	cr_assert(ss_start(&other));
	port = other.port;
	ss_stop(&other); /* nothing listens there now */
	s = at_settings("openai", port, kv);
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR);
	cr_assert(strstr(res.message.ptr, "127.0.0.1"), "%s", res.message.ptr);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* Ctrl-C while the answer streams: the text shown so far is kept, the
 * connection is dropped.  The server holds the stream after the first
 * half of the text; the flag is set when the agent has delivered that
 * text (so the test does not race the client's read of it). */
Test(loop, cancellation_during_a_stream)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	ss_resp held = ss_openai_stream("Let me look", &view_call, 1, NULL, 1, 1);
	atomic_int flag = 0;
	agent_result res;
	at_events ev = { 0 };

	held.gate_after = 2; /* the role and the first half of the text */
	ss_push(&srv, held);
	ev.cancel_on_text = &flag;
	at_run(&res, &ev, s, repo, NULL, &flag, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_CANCELLED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_str_eq(ev.text.ptr, "Let m");
	cr_assert(ss_wait_client_left(&srv, 30), "the client kept the connection");
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, old_observations_are_elided_near_the_budget)
{
	const char *kv[] = { "context.budget", "2000", "context.keep_last", "1", "context.keep_first", "0",
			     "limits.max_steps", "6", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	pl_buf big = PL_BUF_INIT, p = PL_BUF_INIT;
	agent_result res;
	at_events ev = { 0 };
	json_t *m, *el;
	const ss_call view_big = { "view", "{\"path\": \"big.txt\"}" };

	for (int i = 0; i < 300; i++)
		pl_buf_printf(&big, "line %d of a big file\n", i);
	pl_path_join(&p, repo, "big.txt");
	pl_file_write_atomic(p.ptr, big.ptr, big.len, 0644, NULL);
	for (int i = 0; i < 6; i++)
		ss_push(&srv, ss_openai(NULL, &view_big, 1, NULL, 0, 0)); /* no usage: bytes / 4 */
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	el = at_of_type(&ev, "elided");
	cr_assert_geq(json_array_size(el), 1, "nothing was elided");
	m = at_messages(&srv, 5);
	/* the first observation is gone, the last one kept whole */
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 3), "content")), "[elided: this output"),
		  "%s", json_string_value(json_object_get(json_array_get(m, 3), "content")));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, json_array_size(m) - 1), "content")),
			 "line 299"));
	/* the task is never elided */
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(m, 1), "content")), "<issue>"));
	json_decref(m);
	json_decref(el);
	pl_buf_release(&big);
	pl_buf_release(&p);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, trajectory_records_every_step)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	char *t = traj_path();
	agent_result res;
	at_events ev = { 0 };
	json_t *recs = NULL, *sum;
	bool complete = false;
	pl_err err = { 0 };

	ss_push(&srv, ss_error(500, NULL, "once"));
	ss_push(&srv, ss_openai("Looking.", &view_call, 1, NULL, 10, 2));
	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 20, 3));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 30, 4));
	at_run(&res, &ev, s, repo, t, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(agent_traj_load(&recs, &complete, NULL, t, &err), 0, "%s", err.msg);
	cr_assert(complete);
	sum = agent_traj_summary(recs);
	cr_assert_str_eq(json_string_value(json_object_get(sum, "exit_reason")), "submitted");
	cr_assert_eq(json_integer_value(json_object_get(sum, "steps")), 3);
	cr_assert_eq(json_integer_value(json_object_get(sum, "tool_calls")), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(sum, "usage"), "input")), 60);
	{
		char *all = at_text(recs);

		cr_assert(strstr(all, "\"type\":\"start\""));
		cr_assert(strstr(all, "\"type\":\"retry\""));
		cr_assert(strstr(all, "\"name\":\"str_replace\""));
		cr_assert(strstr(all, "\"role\":\"tool\""));
		cr_assert(strstr(all, "+    return a + b"));
		cr_assert(strstr(all, "\"overhead_ms\""));
		free(all);
	}
	json_decref(sum);
	json_decref(recs);
	free(t);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, a_torn_last_record_is_dropped)
{
	char *t = traj_path();
	json_t *recs = NULL;
	bool complete = true;
	pl_err err = { 0 };
	const char text[] = "{\"type\":\"start\",\"id\":\"x\"}\n{\"type\":\"message\",\"index\":0}\n{\"type\":\"mod";

	cr_assert_eq(pl_file_write_atomic(t, text, strlen(text), 0644, NULL), 0);
	cr_assert_eq(agent_traj_load(&recs, &complete, NULL, t, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(recs), 2);
	cr_assert_not(complete);
	json_decref(recs);
	cr_assert_eq(pl_file_write_atomic(t, "{\"no\":1}\n", 9, 0644, NULL), 0);
	cr_assert_lt(agent_traj_load(&recs, NULL, NULL, t, &err), 0);
	cr_assert(strstr(err.msg, "line 1 is not a trajectory record"), "%s", err.msg);
	cr_assert_eq(pl_file_write_atomic(t, "garbage\n", 8, 0644, NULL), 0);
	cr_assert_lt(agent_traj_load(&recs, NULL, NULL, t, &err), 0);
	cr_assert(strstr(err.msg, "run.jsonl") && strstr(err.msg, "line 1"), "%s", err.msg);
	free(t);
}

/* A model's bash timeout is checked against the schema's bounds before
 * anything converts it (9223372036854775807 overflowed ceil() to int64). */
Test(loop, a_huge_bash_timeout_is_a_format_error)
{
	const char *kv[] = { "limits.max_steps", "2", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	const ss_call huge = { "bash", "{\"command\": \"true\", \"timeout\": 9223372036854775807}" };
	agent_result res;
	at_events ev = { 0 };
	json_t *fe;

	ss_push(&srv, ss_openai(NULL, &huge, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	fe = at_of_type(&ev, "format_error");
	cr_assert_eq(json_array_size(fe), 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(fe, 0), "error")),
			 "bash: argument 'timeout' must be at most 86400"),
		  "%s", json_string_value(json_object_get(json_array_get(fe, 0), "error")));
	json_decref(fe);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* An error event inside a stream (Anthropic's overloaded_error, an
 * OpenAI-style {"error": ...} chunk) is a failed attempt like a 529, and
 * retried; it was taken for a malformed answer and ended the run. */
static void stream_error_is_retried(const char *backend)
{
	agent_settings *s = at_settings(backend, srv.port, NULL);
	ss_resp bad = { 0 };
	size_t k = 0;
	agent_result res;
	at_events ev = { 0 };
	json_t *r;

	bad.status = 200;
	if (!strcmp(backend, "anthropic")) {
		ss_chunks_add(&bad.chunks, &k,
			      ss_sse("message_start", json_pack("{s:s, s:{s:s, s:s, s:[], s:{s:i, s:i}}}", "type",
								"message_start", "message", "id", "m", "role", "assistant",
								"content", "usage", "input_tokens", 5, "output_tokens", 1)));
		ss_chunks_add(&bad.chunks, &k,
			      ss_sse("error", json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
							"overloaded_error", "message", "Overloaded")));
		ss_push(&srv, bad);
		ss_push(&srv, ss_anthropic_stream(NULL, &submit_call, 1, NULL, 1, 1));
	} else {
		ss_chunks_add(&bad.chunks, &k,
			      ss_sse(NULL, json_pack("{s:{s:s, s:s}}", "error", "message", "Overloaded", "type", "server_error")));
		ss_push(&srv, bad);
		ss_push(&srv, ss_openai_stream(NULL, &submit_call, 1, NULL, 1, 1));
	}
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "%s: exit %s: %s", backend, agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 2);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(r, 0), "reason")), "Overloaded"), "%s",
		  json_string_value(json_object_get(json_array_get(r, 0), "reason")));
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, anthropic_stream_errors_are_retried)
{
	stream_error_is_retried("anthropic");
}

Test(loop, openai_stream_errors_are_retried)
{
	stream_error_is_retried("openai");
}

/* A Retry-After past backend.retry_max is not slept on (a year, once):
 * the run ends at once with the server's message and the wait it asked. */
Test(loop, retry_after_past_retry_max_fails_at_once)
{
	const char *kv[] = { "backend.retry_max", "30", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	agent_result res;
	at_events ev = { 0 };
	json_t *r;

	ss_push(&srv, ss_error(429, "Retry-After: 31536000\r\n", "quota exhausted"));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.message.ptr, "quota exhausted"), "%s", res.message.ptr);
	cr_assert(strstr(res.message.ptr, "asks to wait 31536000 s, more than backend.retry_max (30 s)"), "%s",
		  res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 1);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 0);
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* The wait before a retry is waiting for the model, not the agent's own
 * overhead. */
Test(loop, retry_waits_count_as_waiting_for_the_model)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	char *t = traj_path();
	agent_result res;
	at_events ev = { 0 };
	json_t *recs = NULL, *x;
	size_t i;
	bool seen = false;

	ss_push(&srv, ss_error(429, "Retry-After: 1\r\n", "slow down"));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, t, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(agent_traj_load(&recs, NULL, NULL, t, NULL), 0);
	json_array_foreach(recs, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "type")), "model_call")) {
			seen = true;
			cr_assert_geq(json_number_value(json_object_get(x, "wait_s")), 1.0, "wait_s %g leaves out the 1 s wait",
				      json_number_value(json_object_get(x, "wait_s")));
		}
	cr_assert(seen);
	json_decref(recs);
	free(t);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* A stream cut after some text and retried: the retry event says to
 * discard what was shown, the message holds the second attempt only, and
 * the tokens the failed attempt reported are counted (they are billed). */
Test(loop, a_retried_stream_discards_its_text_and_counts_its_tokens)
{
	agent_settings *s = at_settings("anthropic", srv.port, NULL);
	ss_resp half = ss_anthropic_stream("First try", &submit_call, 1, NULL, 100, 5);
	agent_result res;
	at_events ev = { 0 };
	json_t *r, *a;
	size_t n = 0;

	while (half.chunks[n])
		n++;
	/* keep message_start, ping and the text block's start and first half */
	for (size_t i = 4; i < n; i++)
		free(half.chunks[i]);
	half.chunks[4] = NULL;
	ss_push(&srv, half);
	ss_push(&srv, ss_anthropic_stream("Second", &submit_call, 1, NULL, 100, 5));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 1);
	cr_assert(json_is_true(json_object_get(json_array_get(r, 0), "discard_text")), "no discard_text");
	a = at_of_type(&ev, "assistant");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "content")), "Second");
	cr_assert_eq(res.usage.input, 200, "input %lld: the failed attempt's 100 are billed too", (long long)res.usage.input);
	cr_assert_eq(res.usage.calls, 1);
	json_decref(r);
	json_decref(a);
	at_events_release(&ev);
	agent_result_release(&res);

	/* a retry before any text discards nothing */
	ss_push(&srv, ss_error(503, NULL, "busy"));
	ss_push(&srv, ss_anthropic_stream(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	r = at_of_type(&ev, "retry");
	cr_assert_eq(json_array_size(r), 1);
	cr_assert(json_is_false(json_object_get(json_array_get(r, 0), "discard_text")));
	json_decref(r);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* A trajectory that cannot be written (a full disk) is said once, and the
 * run goes on to its end and its result. */
Test(loop, a_trajectory_write_failure_is_said_once_and_the_run_goes_on)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };
	json_t *w;

	if (access("/dev/full", W_OK) != 0)
		cr_skip_test("no /dev/full here");
	ss_push(&srv, ss_openai(NULL, &view_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, "/dev/full", NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.patch.ptr, "+    return a + b"), "%s", res.patch.ptr);
	w = at_of_type(&ev, "warning");
	cr_assert_eq(json_array_size(w), 1, "%zu warnings", json_array_size(w));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "/dev/full"), "%s",
		  json_string_value(json_object_get(json_array_get(w, 0), "message")));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "the run goes on"), "%s",
		  json_string_value(json_object_get(json_array_get(w, 0), "message")));
	json_decref(w);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* Every trajectory records the commit its patch is taken against. */
Test(loop, the_start_record_names_the_base_commit)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	char *t = traj_path();
	agent_result res;
	at_events ev = { 0 };
	json_t *recs = NULL;
	pl_buf head = PL_BUF_INIT;

	cr_assert_eq(test_sh(&head, "git -C '%s' rev-parse HEAD", repo), 0);
	pl_buf_rtrim(&head);
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, t, NULL, NULL);
	cr_assert_eq(agent_traj_load(&recs, NULL, NULL, t, NULL), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 0), "base")), head.ptr);
	json_decref(recs);
	pl_buf_release(&head);
	free(t);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* Credentials in --api-base (user:token@host) are sent, but never copied
 * into messages or the trajectory. */
Test(loop, credentials_in_the_api_base_are_never_recorded)
{
	char url[96];
	agent_settings *s;
	char *t = traj_path();
	agent_result res;
	at_events ev = { 0 };
	pl_buf text = PL_BUF_INIT;
	pl_err err = { 0 };

	s = at_settings("openai", srv.port, NULL);
	snprintf(url, sizeof(url), "http://user:sekrit@127.0.0.1:%d/v1", srv.port);
	cr_assert_eq(agent_settings_set(s, "backend.api_base", url, "test", &err), 0, "%s", err.msg);
	ss_push(&srv, ss_error(500, NULL, "boom"));
	ss_push(&srv, ss_error(400, NULL, "bad request"));
	at_run(&res, &ev, s, repo, t, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.message.ptr, "127.0.0.1"), "%s", res.message.ptr);
	cr_assert_null(strstr(res.message.ptr, "sekrit"), "%s", res.message.ptr);
	cr_assert_eq(pl_file_read(&text, t, 0, NULL), 0);
	cr_assert_null(strstr(text.ptr, "sekrit"), "the trajectory holds the password: %s", text.ptr);
	cr_assert(strstr(text.ptr, "http://***@127.0.0.1:"), "%s", text.ptr);
	{
		char *all = at_text(ev.list);

		cr_assert_null(strstr(all, "sekrit"), "an event holds the password: %s", all);
		free(all);
	}
	/* the server got them */
	{
		char *h = ss_request_head(&srv, 0);

		cr_assert(strstr(h, "Authorization: Basic dXNlcjpzZWtyaXQ="), "%s", h);
		free(h);
	}
	pl_buf_release(&text);
	free(t);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* A page that is not the API's answer (a proxy's login page, served as
 * 200) is said for what it is, with its content type. */
Test(loop, an_html_answer_is_named_as_such)
{
	agent_settings *s = at_settings("openai", srv.port, (const char *[]){ "backend.stream", "false", NULL });
	ss_resp page = { 0 };
	agent_result res;
	at_events ev = { 0 };

	page.status = 200;
	page.headers = pl_xstrdup("Content-Type: text/html; charset=utf-8\r\n");
	page.body = pl_xstrdup("<!DOCTYPE html><html><body>Please log in</body></html>");
	ss_push(&srv, page);
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.message.ptr, "not JSON") && strstr(res.message.ptr, "text/html") &&
			  strstr(res.message.ptr, "<!DOCTYPE html>"),
		  "%s", res.message.ptr);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* Token counts that cannot be counts (negative) are not taken. */
Test(loop, negative_usage_is_not_counted)
{
	agent_settings *s = at_settings("openai", srv.port, NULL);
	agent_result res;
	at_events ev = { 0 };

	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, -5, -3));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(res.usage.input, 0, "input %lld", (long long)res.usage.input);
	cr_assert_eq(res.usage.output, 0, "output %lld", (long long)res.usage.output);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

/* A stream of small valid events that never ends grew the answer without
 * limit (each event is under the event cap; their sum was not): past 16
 * MiB of text and arguments the attempt fails, with a message that says
 * so, and is not retried (a server doing it once does it again). */
static void a_runaway_stream_is_cut(const char *backend, bool args)
{
	const char *kv[] = { "backend.max_retries", "3", NULL };
	agent_settings *s = at_settings(backend, srv.port, kv);
	char *piece = malloc(65537);
	ss_resp r = { 0 };
	size_t k = 0;
	agent_result res;
	at_events ev = { 0 };

	memset(piece, 'x', 65536);
	piece[65536] = '\0';
	r.status = 200;
	if (!strcmp(backend, "anthropic"))
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("message_start", json_pack("{s:s, s:{s:s, s:s, s:[], s:{s:i, s:i}}}", "type",
								"message_start", "message", "id", "m", "role", "assistant",
								"content", "usage", "input_tokens", 5, "output_tokens", 1)));
	for (int i = 0; i < 300; i++) {
		if (!strcmp(backend, "anthropic"))
			ss_chunks_add(&r.chunks, &k,
				      ss_sse("content_block_delta",
					     json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index", 0,
						       "delta", "type", "text_delta", "text", piece)));
		else if (args)
			ss_chunks_add(&r.chunks, &k,
				      ss_sse(NULL, json_pack("{s:[{s:i, s:{s:[{s:i, s:s, s:{s:s, s:s}}]}}]}", "choices",
							     "index", 0, "delta", "tool_calls", "index", 0, "id", "c",
							     "function", "name", "view", "arguments", piece)));
		else
			ss_chunks_add(&r.chunks, &k,
				      ss_sse(NULL, json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0, "delta",
							     "content", piece)));
	}
	free(piece);
	ss_push(&srv, r);
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert(strstr(res.message.ptr, "16 MiB"), "%s", res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 1, "retried");
	cr_assert_lt(ev.text.len, (size_t)17 << 20);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, a_runaway_openai_text_is_cut)
{
	a_runaway_stream_is_cut("openai", false);
}

Test(loop, runaway_openai_arguments_are_cut)
{
	a_runaway_stream_is_cut("openai", true);
}

Test(loop, a_runaway_anthropic_text_is_cut)
{
	a_runaway_stream_is_cut("anthropic", false);
}

typedef struct file_canceller {
	const char *path;
	atomic_int *flag;
	bool saw_file;
} file_canceller;

/* Sets the flag once the command has written its file (the deadline is
 * the test's; the loop only waits for the file to appear). */
static void *cancel_when_file(void *arg)
{
	file_canceller *c = arg;
	double end = ss_now() + 50;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (!(c->saw_file = access(c->path, F_OK) == 0) && ss_now() < end)
		nanosleep(&ts, NULL);
	atomic_store(c->flag, 1);
	return NULL;
}

/* Ctrl-C while a command runs kills it (its process group, in the
 * sandbox) and the call comes back "cancelled" at once; it used to run
 * to its own timeout (here 600 s, far past the suite's 60). */
Test(loop, cancellation_kills_a_running_command)
{
	const char *kv[] = { "tools.command_timeout", "600", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	const ss_call slow = { "bash", "{\"command\": \"touch started && sleep 600 && touch finished\"}" };
	atomic_int flag = 0;
	pl_buf started = PL_BUF_INIT, o = PL_BUF_INIT;
	file_canceller c = { NULL, &flag, false };
	pthread_t th;
	agent_result res;
	at_events ev = { 0 };
	json_t *te;
	const char *text;

	if (test_sh(&o, "'%s' sandbox run --profile agent -- true 2>&1", test_plait_bin()) != 0)
		cr_skip_test("the sandbox cannot run here: %s", o.ptr);
	pl_path_join(&started, repo, "started");
	c.path = started.ptr;
	ss_push(&srv, ss_openai(NULL, &slow, 1, NULL, 1, 1));
	pthread_create(&th, NULL, cancel_when_file, &c);
	at_run(&res, &ev, s, repo, NULL, &flag, NULL);
	pthread_join(th, NULL);
	cr_assert(c.saw_file, "the command never started");
	cr_assert_eq(res.exit, AGENT_EXIT_CANCELLED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	te = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(te), 1);
	text = json_string_value(json_object_get(json_array_get(te, 0), "text"));
	cr_assert(text && strstr(text, "cancelled"), "%s", text);
	cr_assert_not(json_is_true(json_object_get(json_array_get(te, 0), "ok")));
	cr_assert_neq(test_sh(NULL, "test -e '%s/finished'", repo), 0);
	json_decref(te);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&started);
	pl_buf_release(&o);
}

/* A submit that fails is never the model's fault (it takes no arguments):
 * the run ends there with tool_error and the tool's message, instead of
 * telling the model to try again until the step limit. */
Test(loop, a_failing_submit_ends_the_run)
{
	const char *kv[] = { "limits.max_steps", "5", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	pl_buf fresh = PL_BUF_INIT;
	agent_result res;
	at_events ev = { 0 };

	pl_path_join(&fresh, root.ptr, "fresh");
	cr_assert_eq(test_sh(NULL, "git init -q '%s' && echo x > '%s/a.py'", fresh.ptr, fresh.ptr), 0);
	for (int i = 0; i < 5; i++)
		ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, fresh.ptr, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_TOOL_ERROR, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_str_eq(agent_exit_name(res.exit), "tool_error");
	cr_assert(strstr(res.message.ptr, "submit failed: "), "%s", res.message.ptr);
	cr_assert_not(res.submitted);
	cr_assert_eq(ss_requests(&srv), 1);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&fresh);
}

/* An error event inside a stream is retried only when it is the kind a
 * retry helps (overloaded, an API error, a rate limit); any other (an
 * invalid request) ends the call at once with the server's message: it
 * was retried whatever its type. */
static void stream_error(const char *backend, const char *type, bool retried)
{
	agent_settings *s = at_settings(backend, srv.port, NULL);
	ss_resp bad = { 0 };
	size_t k = 0;
	agent_result res;
	at_events ev = { 0 };
	char msg[96];
	size_t n0 = ss_requests(&srv);

	snprintf(msg, sizeof(msg), "the server says %s", type);
	bad.status = 200;
	if (!strcmp(backend, "anthropic"))
		ss_chunks_add(&bad.chunks, &k,
			      ss_sse("error", json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type,
							"message", msg)));
	else
		ss_chunks_add(&bad.chunks, &k, ss_sse(NULL, json_pack("{s:{s:s, s:s}}", "error", "message", msg, "type", type)));
	ss_push(&srv, bad);
	/* what a retry gets; a run that does not retry leaves it unasked */
	ss_push(&srv, !strcmp(backend, "anthropic") ? ss_anthropic_stream(NULL, &submit_call, 1, NULL, 1, 1) :
						      ss_openai_stream(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	if (retried) {
		cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "%s %s: exit %s: %s", backend, type, agent_exit_name(res.exit),
			     res.message.ptr);
		cr_assert_eq(ss_requests(&srv) - n0, 2);
	} else {
		cr_assert_eq(res.exit, AGENT_EXIT_MODEL_ERROR, "%s %s: exit %s: %s", backend, type,
			     agent_exit_name(res.exit), res.message.ptr);
		cr_assert(strstr(res.message.ptr, msg), "%s", res.message.ptr);
		cr_assert_eq(ss_requests(&srv) - n0, 1, "%s %s was retried", backend, type);
	}
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}

Test(loop, anthropic_stream_errors_are_retried_by_type)
{
	stream_error("anthropic", "rate_limit_error", true);
	stream_error("anthropic", "api_error", true);
	stream_error("anthropic", "invalid_request_error", false);
}

Test(loop, openai_stream_errors_are_retried_by_type)
{
	stream_error("openai", "rate_limit_exceeded", true);
	stream_error("openai", "invalid_request_error", false);
}

/* One answer may ask for limits.max_calls_per_answer calls at most; the
 * rest are answered "not run" without running (an answer of thousands of
 * calls ran them all). */
Test(loop, calls_past_the_per_answer_limit_are_not_run)
{
	const char *kv[] = { "limits.max_calls_per_answer", "2", NULL };
	agent_settings *s = at_settings("openai", srv.port, kv);
	ss_call many[5] = { view_call, view_call, view_call, view_call, submit_call };
	agent_result res;
	at_events ev = { 0 };
	json_t *m, *te;
	char *t;

	ss_push(&srv, ss_openai(NULL, many, 5, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &submit_call, 1, NULL, 1, 1));
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_SUBMITTED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	cr_assert_eq(ss_requests(&srv), 2, "the submit among the extra calls ran");
	te = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(te), 3, "%zu calls ran", json_array_size(te)); /* two views, then the submit */
	m = at_messages(&srv, 1);
	t = at_text(m);
	cr_assert_eq(json_array_size(m), 2 + 1 + 5, "%s", t);
	cr_assert(strstr(t, "not run: too many calls in one answer (limits.max_calls_per_answer is 2)"), "%s", t);
	free(t);
	json_decref(m);
	json_decref(te);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
}
