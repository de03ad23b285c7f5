/* backend_anthropic.c - Anthropic's Messages API: system apart, tool_use
 * and tool_result blocks, consecutive same-role turns merged, and its
 * streaming events. */
#define _GNU_SOURCE
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct an {
	const agent_settings *s;
	char *url;
	char *key; /* "x-api-key: ..." or NULL */
} an;

typedef struct block {
	bool tool;
	pl_buf id, name, json;
} block;

typedef struct stream {
	agent__reply *out;
	const agent__request *rq;
	agent__sse sse;
	block *b;
	size_t n;
	size_t bytes; /* of the answer so far: text, ids, names, tool input */
	bool stopped;
} stream;

static int an_open(void **state, const agent_settings *s, agent_engine *shared, pl_err *err)
{
	an *a = pl_xcalloc(1, sizeof(*a));
	const char *base = *s->api_base ? s->api_base : "https://api.anthropic.com";
	const char *keyenv = *s->api_key_env ? s->api_key_env : "ANTHROPIC_API_KEY", *key;
	pl_buf b = PL_BUF_INIT;

	(void)err, (void)shared;
	pl_buf_puts(&b, base);
	while (b.len && b.ptr[b.len - 1] == '/')
		pl_buf_setlen(&b, b.len - 1);
	pl_buf_puts(&b, pl_str_ends_with(b.ptr, "/v1") ? "/messages" : "/v1/messages");
	a->url = pl_buf_detach(&b, NULL);
	key = agent__env_get(s->envp, keyenv);
	if (key && *key) {
		pl_buf_printf(&b, "x-api-key: %s", key);
		a->key = pl_buf_detach(&b, NULL);
	}
	a->s = s;
	*state = a;
	return 0;
}

static void an_close(void *state)
{
	an *a = state;

	if (!a)
		return;
	free(a->url);
	if (a->key) {
		explicit_bzero(a->key, strlen(a->key));
		free(a->key);
	}
	free(a);
}

static const char *an_model(void *state)
{
	return ((an *)state)->s->api_model;
}

static void dump_string(pl_buf *out, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	if (!j) /* not UTF-8: jansson refuses it; the conversation never holds such text */
		j = json_string("");
	pl_json_dump(out, j, false);
	json_decref(j);
}

static const char *content_of(const json_t *msg, size_t *n)
{
	const json_t *c = json_object_get(msg, "content");

	if (json_is_string(c)) {
		*n = json_string_length(c);
		return json_string_value(c);
	}
	*n = 0;
	return "";
}

/* The message's content blocks, comma-separated, without brackets: the
 * request joins those of consecutive messages of one role. */
static void an_wire(pl_buf *out, const json_t *msg)
{
	const char *role = json_string_value(json_object_get(msg, "role"));
	size_t n, i;
	const char *text = content_of(msg, &n);
	const json_t *calls, *c;
	bool first = true;

	if (!role || !strcmp(role, "system"))
		return;
	if (!strcmp(role, "tool")) {
		const json_t *err = json_object_get(msg, "is_error");

		pl_buf_puts(out, "{\"type\":\"tool_result\",\"tool_use_id\":");
		pl_json_dump(out, json_object_get(msg, "tool_call_id"), false);
		pl_buf_puts(out, ",\"content\":");
		dump_string(out, n ? text : "(no output)", n ? n : strlen("(no output)"));
		if (json_is_true(err))
			pl_buf_puts(out, ",\"is_error\":true");
		pl_buf_putc(out, '}');
		return;
	}
	if (n || strcmp(role, "assistant")) {
		pl_buf_puts(out, "{\"type\":\"text\",\"text\":");
		/* an empty text block is refused */
		dump_string(out, n ? text : ".", n ? n : 1);
		pl_buf_putc(out, '}');
		first = false;
	}
	calls = json_object_get(msg, "tool_calls");
	json_array_foreach(calls, i, c) {
		const json_t *f = json_object_get(c, "function");
		const char *args = json_string_value(json_object_get(f, "arguments"));
		json_t *input = NULL;

		if (!first)
			pl_buf_putc(out, ',');
		first = false;
		pl_buf_puts(out, "{\"type\":\"tool_use\",\"id\":");
		pl_json_dump(out, json_object_get(c, "id"), false);
		pl_buf_puts(out, ",\"name\":");
		pl_json_dump(out, json_object_get(f, "name"), false);
		pl_buf_puts(out, ",\"input\":");
		if (!args || pl_json_parse(&input, args, strlen(args), "arguments", NULL) < 0 || !json_is_object(input)) {
			json_decref(input);
			input = json_object();
		}
		pl_json_dump(out, input, false);
		json_decref(input);
		pl_buf_putc(out, '}');
	}
	if (first) /* an assistant message with nothing at all */
		pl_buf_puts(out, "{\"type\":\"text\",\"text\":\".\"}");
}

static block *get_block(stream *st, size_t i)
{
	if (i >= 1024)
		return NULL;
	if (i >= st->n) {
		st->b = pl_xrealloc(st->b, (i + 1) * sizeof(*st->b));
		for (; st->n <= i; st->n++) {
			st->b[st->n].tool = false;
			pl_buf_init(&st->b[st->n].id, 0);
			pl_buf_init(&st->b[st->n].name, 0);
			pl_buf_init(&st->b[st->n].json, 0);
		}
	}
	return &st->b[i];
}

static void blocks_free(stream *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		pl_buf_release(&st->b[i].id);
		pl_buf_release(&st->b[i].name);
		pl_buf_release(&st->b[i].json);
	}
	free(st->b);
	st->b = NULL;
	st->n = 0;
}

static void usage_from(agent_usage *u, const json_t *usage)
{
	json_t *x;

	if (!json_is_object(usage))
		return;
	if ((x = json_object_get(usage, "input_tokens")) && json_is_integer(x)) {
		int64_t read = agent__count(json_object_get(usage, "cache_read_input_tokens"));
		int64_t made = agent__count(json_object_get(usage, "cache_creation_input_tokens"));

		u->input = agent__count(x) + read + made;
		u->cached = read;
	}
	if ((x = json_object_get(usage, "output_tokens")) && json_is_integer(x))
		u->output = agent__count(x);
}

static void set_finish(agent__reply *out, const char *stop)
{
	const char *f = !strcmp(stop, "end_turn") || !strcmp(stop, "stop_sequence") ? "stop" :
			!strcmp(stop, "tool_use") ? "tool_calls" :
			!strcmp(stop, "max_tokens") ? "length" : stop;

	snprintf(out->finish, sizeof(out->finish), "%s", f);
}

/* Counts n more bytes of the answer; PL_EFORMAT past AGENT__ANSWER_MAX. */
static int grow(stream *st, size_t n, pl_err *err)
{
	st->bytes += n;
	return st->bytes > AGENT__ANSWER_MAX ? agent__answer_too_big(err) : 0;
}

static void add_text(stream *st, const char *t, size_t n)
{
	if (!n)
		return;
	pl_buf_add(&st->out->text, t, n);
	if (st->rq->on_text)
		st->rq->on_text(st->rq->user, t, n);
}

static int on_event(void *user, const char *event, const char *data, size_t n, pl_err *err)
{
	stream *st = user;
	json_t *j = NULL, *x, *d;
	const char *type;
	int rc;

	(void)event;
	if ((rc = pl_json_parse(&j, data, n, "stream event", err)) < 0)
		return rc;
	type = json_string_value(json_object_get(j, "type"));
	if (!type)
		type = "";
	if (!strcmp(type, "message_start")) {
		usage_from(&st->out->usage, json_object_get(json_object_get(j, "message"), "usage"));
	} else if (!strcmp(type, "content_block_start")) {
		block *b = get_block(st, (size_t)json_integer_value(json_object_get(j, "index")));
		json_t *cb = json_object_get(j, "content_block");

		if (b && !strcmp(json_string_value(json_object_get(cb, "type")) ?: "", "tool_use")) {
			const char *id = json_string_value(json_object_get(cb, "id")) ?: "";
			const char *name = json_string_value(json_object_get(cb, "name")) ?: "";

			if ((rc = grow(st, strlen(id) + strlen(name), err)) < 0)
				goto out;
			b->tool = true;
			pl_buf_puts(&b->id, id);
			pl_buf_puts(&b->name, name);
		} else if ((x = json_object_get(cb, "text")) && json_is_string(x)) {
			if ((rc = grow(st, json_string_length(x), err)) < 0)
				goto out;
			add_text(st, json_string_value(x), json_string_length(x));
		}
	} else if (!strcmp(type, "content_block_delta")) {
		block *b = get_block(st, (size_t)json_integer_value(json_object_get(j, "index")));
		const char *dt;

		d = json_object_get(j, "delta");
		dt = json_string_value(json_object_get(d, "type")) ?: "";
		if (!strcmp(dt, "text_delta") && (x = json_object_get(d, "text")) && json_is_string(x)) {
			if ((rc = grow(st, json_string_length(x), err)) < 0)
				goto out;
			add_text(st, json_string_value(x), json_string_length(x));
		} else if (b && !strcmp(dt, "input_json_delta") && (x = json_object_get(d, "partial_json")) &&
			   json_is_string(x)) {
			if ((rc = grow(st, json_string_length(x), err)) < 0)
				goto out;
			pl_buf_add(&b->json, json_string_value(x), json_string_length(x));
		}
	} else if (!strcmp(type, "message_delta")) {
		d = json_object_get(j, "delta");
		if ((x = json_object_get(d, "stop_reason")) && json_is_string(x))
			set_finish(st->out, json_string_value(x));
		if ((x = json_object_get(json_object_get(j, "usage"), "output_tokens")) && json_is_integer(x))
			st->out->usage.output = agent__count(x);
	} else if (!strcmp(type, "message_stop")) {
		st->stopped = true;
	} else if (!strcmp(type, "error")) {
		/* overloaded_error, api_error and rate_limit_error are worth a
		 * retry, like a 529; invalid_request_error is not */
		rc = agent__stream_error(json_object_get(j, "error"), err);
		json_decref(j);
		return rc;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int on_body(void *user, const char *p, size_t n, pl_err *err)
{
	stream *st = user;

	return agent__sse_feed(&st->sse, p, n, err);
}

static void st_reset(void *user)
{
	stream *st = user;

	agent__sse_release(&st->sse);
	agent__sse_init(&st->sse, on_event, st);
	blocks_free(st);
	st->bytes = 0;
	pl_buf_reset(&st->out->text);
	/* a failed attempt's tokens are billed all the same */
	st->out->retried.input += st->out->usage.input;
	st->out->retried.output += st->out->usage.output;
	st->out->retried.cached += st->out->usage.cached;
	memset(&st->out->usage, 0, sizeof(st->out->usage));
	st->out->finish[0] = '\0';
	st->stopped = false;
}

static int st_check(void *user, pl_err *err)
{
	stream *st = user;

	if (!st->stopped)
		return pl_err_set(err, PL_EIO, "the stream ended before message_stop (connection dropped)");
	return 0;
}

static void add_call(agent__reply *out, const char *id, const char *name, const char *args, size_t n)
{
	json_t *c = json_object();

	pl_json_set(c, "id", json_string(id));
	pl_json_set(c, "name", json_string(name));
	pl_json_set(c, "arguments", n ? json_stringn(args, n) : json_string("{}"));
	json_array_append_new(out->calls, c);
}

static int parse_whole(agent__reply *out, const agent__http_call *call, pl_err *err)
{
	json_t *j = NULL, *b, *x;
	size_t i;

	if (pl_json_parse(&j, call->body.ptr, call->body.len, "the server's answer", NULL) < 0)
		return agent__http_not_json(call, err);
	if (!json_is_array(json_object_get(j, "content"))) {
		json_decref(j);
		return pl_err_set(err, PL_EFORMAT, "the server's answer has no content array");
	}
	usage_from(&out->usage, json_object_get(j, "usage"));
	if ((x = json_object_get(j, "stop_reason")) && json_is_string(x))
		set_finish(out, json_string_value(x));
	json_array_foreach(json_object_get(j, "content"), i, b) {
		const char *t = json_string_value(json_object_get(b, "type")) ?: "";

		if (!strcmp(t, "text") && (x = json_object_get(b, "text")) && json_is_string(x)) {
			pl_buf_add(&out->text, json_string_value(x), json_string_length(x));
		} else if (!strcmp(t, "tool_use")) {
			pl_buf a = PL_BUF_INIT;

			pl_json_dump(&a, json_object_get(b, "input"), false);
			add_call(out, json_string_value(json_object_get(b, "id")) ?: "",
				 json_string_value(json_object_get(b, "name")) ?: "", a.ptr, a.len);
			pl_buf_release(&a);
		}
	}
	json_decref(j);
	return 0;
}

static const char *wire_role(const json_t *m)
{
	const char *r = json_string_value(json_object_get(m, "role"));

	return r && !strcmp(r, "assistant") ? "assistant" : "user";
}

static int an_chat(agent__reply *out, void *state, const agent__request *rq, pl_err *err)
{
	an *a = state;
	const agent_settings *s = a->s;
	const char *headers[6], *prev = NULL;
	pl_buf body = PL_BUF_INIT, one = PL_BUF_INIT;
	agent__http_call c;
	stream st;
	size_t i, n = json_array_size(rq->messages);
	json_t *t;
	int h = 0, rc;

	memset(&st, 0, sizeof(st));
	st.out = out;
	st.rq = rq;
	agent__sse_init(&st.sse, on_event, &st);

	pl_buf_puts(&body, "{\"model\":");
	dump_string(&body, s->api_model, strlen(s->api_model));
	pl_buf_printf(&body, ",\"max_tokens\":%lld", (long long)s->max_tokens);
	for (i = 0; i < n; i++) {
		const json_t *m = json_array_get(rq->messages, i);
		const char *r = json_string_value(json_object_get(m, "role"));
		size_t len;
		const char *text;

		if (r && !strcmp(r, "system")) {
			text = content_of(m, &len);
			pl_buf_puts(&body, ",\"system\":");
			dump_string(&body, text, len);
		}
	}
	pl_buf_puts(&body, ",\"messages\":[");
	for (i = 0; i < n; i++) {
		const json_t *m = json_array_get(rq->messages, i);
		const char *r = json_string_value(json_object_get(m, "role")), *role;
		const pl_buf *w;

		if (!r || !strcmp(r, "system"))
			continue;
		role = wire_role(m);
		if (rq->wire && rq->wire[i] && rq->wire[i]->len) {
			w = rq->wire[i];
		} else {
			pl_buf_reset(&one);
			an_wire(&one, m);
			w = &one;
		}
		if (prev && !strcmp(prev, role)) {
			pl_buf_putc(&body, ',');
		} else {
			if (prev)
				pl_buf_puts(&body, "]},");
			pl_buf_printf(&body, "{\"role\":\"%s\",\"content\":[", role);
		}
		pl_buf_add(&body, w->ptr, w->len);
		prev = role;
	}
	if (prev)
		pl_buf_puts(&body, "]}");
	pl_buf_putc(&body, ']');
	if (rq->tools && json_array_size(rq->tools)) {
		json_t *list = json_array();

		json_array_foreach(rq->tools, i, t) {
			json_t *f = json_object_get(t, "function");

			json_array_append_new(list, json_pack("{s:O, s:O, s:O}", "name", json_object_get(f, "name"),
							      "description", json_object_get(f, "description"),
							      "input_schema", json_object_get(f, "parameters")));
		}
		pl_buf_puts(&body, ",\"tools\":");
		pl_json_dump(&body, list, false);
		json_decref(list);
	}
	pl_buf_printf(&body, ",\"temperature\":%.17g", s->temperature);
	if (s->top_p < 1)
		pl_buf_printf(&body, ",\"top_p\":%.17g", s->top_p);
	if (s->top_k > 0)
		pl_buf_printf(&body, ",\"top_k\":%d", s->top_k);
	if (s->stream)
		pl_buf_puts(&body, ",\"stream\":true");
	pl_buf_putc(&body, '}');

	headers[h++] = "Content-Type: application/json";
	headers[h++] = "anthropic-version: 2023-06-01";
	if (s->stream)
		headers[h++] = "Accept: text/event-stream";
	if (a->key)
		headers[h++] = a->key;
	headers[h] = NULL;

	agent__http_call_init(&c, a->url, headers, &body, rq, s, s->stream ? on_body : NULL, st_reset, st_check, &st);
	rc = agent__http_call_run(&c, err);
	out->retries = c.retries;
	out->wait_s = c.wait_s;
	if (rc < 0)
		goto done;
	if (c.streamed) {
		for (i = 0; i < st.n; i++)
			if (st.b[i].tool)
				add_call(out, st.b[i].id.ptr, st.b[i].name.ptr, st.b[i].json.ptr, st.b[i].json.len);
	} else {
		rc = parse_whole(out, &c, err);
	}
	if (!out->finish[0])
		snprintf(out->finish, sizeof(out->finish), "%s", json_array_size(out->calls) ? "tool_calls" : "stop");
done:
	agent__http_call_release(&c);
	agent__sse_release(&st.sse);
	blocks_free(&st);
	pl_buf_release(&one);
	pl_buf_release(&body);
	return rc;
}

const agent__backend_ops agent__backend_anthropic = {
	"anthropic", true, an_open, an_wire, an_chat, an_model, NULL, NULL, an_close,
};
