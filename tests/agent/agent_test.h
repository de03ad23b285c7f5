/* agent_test.h - what the agent's loop tests share: a fixture repository,
 * settings pointed at the scripted server, a run that records its events. */
#ifndef PLAIT_TESTS_AGENT_TEST_H
#define PLAIT_TESTS_AGENT_TEST_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "tests/script_server.h"
#include "tests/shell.h"

/* A temporary directory holding a git repository "repo" with calc.py,
 * test_calc.py and a README, committed. */
static PL_UNUSED char *at_repo(pl_buf *root)
{
	pl_buf r = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(root, "plait-test-agent", NULL), 0);
	pl_path_join(&r, root->ptr, "repo");
	cr_assert_eq(test_sh(NULL,
			     "set -e; mkdir -p '%s' && cd '%s' && "
			     "printf 'def add(a, b):\\n    return a - b\\n\\n\\ndef mul(a, b):\\n    return a * b\\n' > calc.py && "
			     "printf 'import unittest\\nfrom calc import add, mul\\n\\n\\nclass T(unittest.TestCase):\\n"
			     "    def test_add(self):\\n        self.assertEqual(add(2, 3), 5)\\n\\n"
			     "    def test_mul(self):\\n        self.assertEqual(mul(2, 3), 6)\\n' > test_calc.py && "
			     "printf 'calc: a calculator\\n' > README && "
			     "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t "
			     "GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent && git init -q && git add -A && git commit -qm init",
			     r.ptr, r.ptr),
		     0);
	return pl_buf_detach(&r, NULL);
}

/* Settings for the scripted server: backend, its URL, then key/value
 * pairs (NULL-terminated). */
static PL_UNUSED agent_settings *at_settings(const char *backend, int port, const char *const *kv)
{
	agent_settings *s = NULL;
	agent_settings_opts o = { 0 };
	pl_err err = { 0 };
	char url[64];

	cr_assert_eq(agent_settings_load(&s, &o, &err), 0, "%s", err.msg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cr_assert_eq(agent_settings_set(s, "backend.name", backend, "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.api_base", url, "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.api_model", "scripted", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.retry_base", "0.01", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_set(s, "backend.timeout", "30", "test", &err), 0, "%s", err.msg);
	/* the scripted models submit without editing; tests of the refusal
	 * set it back to false */
	cr_assert_eq(agent_settings_set(s, "tools.allow_empty_submit", "true", "test", &err), 0, "%s", err.msg);
	for (; kv && kv[0]; kv += 2)
		cr_assert_eq(agent_settings_set(s, kv[0], kv[1], "test", &err), 0, "%s=%s: %s", kv[0], kv[1], err.msg);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	return s;
}

/* What a run emitted: every event's data, in order, and the text streamed. */
typedef struct at_events {
	json_t *list;
	pl_buf text;
	const atomic_int *cancel;
	/* set by the test (the struct zeroed first): 1 is stored here when
	 * the first text arrives, as a user's Ctrl-C would be, with the
	 * text already shown */
	atomic_int *cancel_on_text;
} at_events;

static PL_UNUSED void at_on_event(void *user, const agent_event *ev)
{
	at_events *e = user;

	json_array_append_new(e->list, json_deep_copy(ev->data));
	if (ev->type == AGENT_EV_TEXT) {
		pl_buf_add(&e->text, ev->text, ev->len);
		if (e->cancel_on_text)
			atomic_store(e->cancel_on_text, 1);
	}
}

/* Events of one type. */
static PL_UNUSED json_t *at_of_type(const at_events *e, const char *type)
{
	json_t *a = json_array(), *x;
	size_t i;

	json_array_foreach(e->list, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "type")), type))
			json_array_append(a, x);
	return a;
}

/* Runs one fix task on repo; the session stays open for inspection when
 * keep is non-NULL. */
static PL_UNUSED int at_run(agent_result *res, at_events *ev, const agent_settings *s, const char *repo,
			    const char *traj, const atomic_int *cancel, agent_session **keep)
{
	agent_session *sess = NULL;
	agent_session_opts o = { 0 };
	pl_err err = { 0 };
	int rc;

	ev->list = json_array();
	pl_buf_init(&ev->text, 0);
	o.repo = repo;
	o.kind = "fix";
	o.traj_path = traj;
	o.on_event = at_on_event;
	o.user = ev;
	o.cancel = cancel;
	cr_assert_eq(agent_session_new(&sess, s, &o, &err), 0, "%s", err.msg);
	agent_result_init(res);
	rc = agent_session_run(res, sess, "add() subtracts instead of adding", &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	if (keep)
		*keep = sess;
	else
		agent_session_free(sess);
	return rc;
}

static PL_UNUSED void at_events_release(at_events *e)
{
	json_decref(e->list);
	pl_buf_release(&e->text);
}

/* The messages of request i, as the server received them. */
static PL_UNUSED json_t *at_messages(ss_server *srv, size_t i)
{
	json_t *j = ss_request_json(srv, i), *m;

	cr_assert_not_null(j, "request %zu is not JSON", i);
	m = json_incref(json_object_get(j, "messages"));
	json_decref(j);
	return m;
}

/* The text of a JSON value, compact (for substring checks). */
static PL_UNUSED char *at_text(const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, false);
	return pl_buf_detach(&b, NULL);
}

#endif
