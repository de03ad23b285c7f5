/* conv.c - the conversation: canonical messages, each backend's view of
 * them in a tool-call format (built once per message and cached with its
 * serialisation), and context management by elision. */
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

static size_t msg_bytes(const json_t *m)
{
	size_t n = json_string_length(json_object_get(m, "content")) + json_string_length(json_object_get(m, "raw"));
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(m, "tool_calls"), i, c)
		n += json_string_length(json_object_get(json_object_get(c, "function"), "arguments")) + 16;
	return n;
}

static void msg_clear_derived(agent__msg *m)
{
	json_decref(m->view);
	m->view = NULL;
	pl_buf_release(&m->wire);
}

void agent__conv_release(agent__conv *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		json_decref(c->v[i].msg);
		msg_clear_derived(&c->v[i]);
	}
	free(c->v);
	json_decref(c->array);
	memset(c, 0, sizeof(*c));
}

agent__msg *agent__conv_push(agent__conv *c, json_t *msg, int turn, int step, bool observation)
{
	agent__msg *m;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = pl_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	if (!c->array)
		c->array = json_array();
	m = &c->v[c->n++];
	memset(m, 0, sizeof(*m));
	pl_buf_init(&m->wire, 0);
	m->msg = msg;
	m->turn = turn;
	m->step = step;
	m->observation = observation;
	m->bytes = msg_bytes(msg);
	c->bytes += m->bytes;
	json_array_append(c->array, msg);
	return m;
}

void agent__conv_report(agent__conv *c, int64_t tokens)
{
	c->reported = tokens;
	c->bytes_at_report = c->bytes;
}

void agent__conv_truncate(agent__conv *c, size_t n)
{
	while (c->n > n) {
		agent__msg *m = &c->v[--c->n];

		c->bytes -= m->bytes;
		json_decref(m->msg);
		msg_clear_derived(m);
		json_array_remove(c->array, c->n);
	}
	c->reported = 0; /* the last report described a longer conversation */
}

void agent__conv_set_content(agent__conv *c, size_t i, const char *text)
{
	agent__msg *m = &c->v[i];

	c->bytes -= m->bytes;
	pl_json_set(m->msg, "content", json_string(text));
	m->bytes = msg_bytes(m->msg);
	c->bytes += m->bytes;
	msg_clear_derived(m);
}

int64_t agent__conv_tokens(const agent__conv *c)
{
	if (c->reported > 0)
		return c->reported + ((int64_t)c->bytes - (int64_t)c->bytes_at_report) / 4;
	return (int64_t)(c->bytes / 4);
}

int agent__format_parse(agent__format *out, const char *name, pl_err *err)
{
	static const char *const names[] = { "native", "json", "xml", "text" };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(names); i++)
		if (!strcmp(name, names[i])) {
			*out = (agent__format)i;
			return 0;
		}
	return pl_err_set(err, PL_EINVAL, "tools.format '%s' is not one of native, json, xml, text", name);
}

bool agent__format_structured(agent__format f, const agent__backend_ops *b)
{
	return f == AGENT__FMT_NATIVE && b->http;
}

static json_t *view_of(const json_t *msg, agent__format f, const agent__backend_ops *b)
{
	const char *role = json_string_value(json_object_get(msg, "role"));
	const json_t *content = json_object_get(msg, "content");
	json_t *v = json_object();

	if (agent__format_structured(f, b)) {
		const json_t *calls = json_object_get(msg, "tool_calls");

		pl_json_set(v, "role", json_string(role));
		if (!strcmp(role, "assistant") && json_array_size(calls)) {
			json_t *list = json_array(), *c;
			size_t i;

			pl_json_set(v, "content", json_string_length(content) ? json_incref((json_t *)content) : json_null());
			json_array_foreach(calls, i, c)
				json_array_append_new(list, json_pack("{s:O, s:s, s:O}", "id", json_object_get(c, "id"), "type",
								      "function", "function", json_object_get(c, "function")));
			pl_json_set(v, "tool_calls", list);
		} else {
			pl_json_set(v, "content", json_is_string(content) ? json_incref((json_t *)content) : json_string(""));
		}
		if (!strcmp(role, "tool")) {
			pl_json_set(v, "tool_call_id", json_incref(json_object_get(msg, "tool_call_id")));
			if (!strcmp(b->name, "anthropic") && json_is_true(json_object_get(msg, "is_error")))
				pl_json_set(v, "is_error", json_true());
		}
		return v;
	}
	/* calls written in the text: the model reads back exactly what it wrote */
	if (!strcmp(role, "assistant")) {
		const json_t *raw = json_object_get(msg, "raw");

		pl_json_set(v, "role", json_string("assistant"));
		pl_json_set(v, "content", json_incref(json_is_string(raw) ? (json_t *)raw : (json_t *)content));
		return v;
	}
	if (!strcmp(role, "tool")) {
		const char *text = json_string_value(content);
		pl_buf b2 = PL_BUF_INIT;

		if (!b->http && f != AGENT__FMT_TEXT) {
			/* the engine's template writes <tool_response> itself */
			pl_json_set(v, "role", json_string("tool"));
			pl_json_set(v, "content", json_incref((json_t *)content));
			return v;
		}
		if (f == AGENT__FMT_TEXT)
			pl_buf_printf(&b2, "EXECUTION RESULT of [%s]:\n%s", json_string_value(json_object_get(msg, "name")),
				      text ? text : "");
		else
			pl_buf_printf(&b2, "<tool_response>\n%s\n</tool_response>", text ? text : "");
		pl_json_set(v, "role", json_string("user"));
		pl_json_set(v, "content", json_stringn(b2.ptr, b2.len));
		pl_buf_release(&b2);
		return v;
	}
	pl_json_set(v, "role", json_string(role));
	pl_json_set(v, "content", json_incref((json_t *)content));
	return v;
}

void agent__conv_view(agent__conv *c, size_t i, agent__format f, const agent__backend_ops *b)
{
	agent__msg *m = &c->v[i];

	if (m->view)
		return;
	m->view = view_of(m->msg, f, b);
	if (b->wire)
		b->wire(&m->wire, m->view);
}

json_t *agent__conv_views(agent__conv *c, agent__format f, const agent__backend_ops *b, const pl_buf ***wire_out)
{
	json_t *a = json_array();
	const pl_buf **w = pl_xcalloc(c->n + 1, sizeof(*w));
	size_t i;

	for (i = 0; i < c->n; i++) {
		agent__conv_view(c, i, f, b);
		json_array_append(a, c->v[i].view);
		w[i] = &c->v[i].wire;
	}
	*wire_out = w;
	return a;
}

json_t *agent__conv_manage(agent__conv *c, int64_t budget, double high, double low, int keep_first, int keep_last)
{
	json_t *done = json_array();
	int64_t est = agent__conv_tokens(c);
	int last = 0;
	size_t i;

	if (budget <= 0 || est <= (int64_t)(high * (double)budget))
		return done;
	for (i = 0; i < c->n; i++)
		if (c->v[i].step > last)
			last = c->v[i].step;
	for (i = 0; i < c->n && est > (int64_t)(low * (double)budget); i++) {
		agent__msg *m = &c->v[i];
		const char *text;
		size_t lines = 0, before;
		const char *p;
		pl_buf e = PL_BUF_INIT;

		if (!m->observation || m->elided || m->step <= keep_first || m->step > last - keep_last)
			continue;
		text = json_string_value(json_object_get(m->msg, "content"));
		if (!text)
			continue;
		for (p = text; *p; p++)
			lines += *p == '\n';
		pl_buf_printf(&e,
			      "[elided: this output (%zu lines, %zu characters) was removed to keep the conversation "
			      "within its context budget; run the tool again if you need it]",
			      lines + 1, strlen(text));
		if (e.len >= strlen(text)) { /* nothing to gain */
			pl_buf_release(&e);
			continue;
		}
		before = m->bytes;
		agent__conv_set_content(c, i, e.ptr);
		m->elided = true;
		est -= (int64_t)(before - m->bytes) / 4;
		json_array_append_new(done, json_integer((json_int_t)i));
		pl_buf_release(&e);
	}
	return done;
}
