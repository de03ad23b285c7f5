/* backend_openai.c - any OpenAI-compatible /v1/chat/completions server
 * (vLLM, SGLang, llama.cpp's server, hosted APIs): tools, streaming with
 * tool-call deltas reassembled by index, usage. */
#define _GNU_SOURCE
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct oa {
	const agent_settings *s;
	char *url;
	char *auth; /* "Authorization: Bearer ..." or NULL */
} oa;

/* What a streamed answer accumulates. */
typedef struct slot {
	pl_buf id, name, args;
} slot;

typedef struct stream {
	agent__reply *out;
	const agent__request *rq;
	agent__sse sse;
	slot *slots;
	size_t n_slots;
	size_t bytes; /* of the answer so far: text, ids, names, arguments */
	bool done, finished;
} stream;

static void url_join(pl_buf *b, const char *base, const char *path_v1)
{
	size_t n;

	pl_buf_puts(b, base);
	while (b->len && b->ptr[b->len - 1] == '/')
		pl_buf_setlen(b, b->len - 1);
	n = b->len;
	/* OPENAI_BASE_URL is usually ".../v1"; a bare host gets "/v1" */
	if (n >= 3 && !strcmp(b->ptr + n - 3, "/v1"))
		pl_buf_puts(b, path_v1 + 3);
	else
		pl_buf_puts(b, path_v1);
}

static int oa_open(void **state, const agent_settings *s, agent_engine *shared, pl_err *err)
{
	oa *o = pl_xcalloc(1, sizeof(*o));
	const char *base = s->api_base, *keyenv = *s->api_key_env ? s->api_key_env : "OPENAI_API_KEY", *key;
	pl_buf b = PL_BUF_INIT;

	(void)err, (void)shared;
	if (!*base)
		base = agent__env_get(s->envp, "OPENAI_BASE_URL");
	if (!base || !*base)
		base = "https://api.openai.com/v1";
	url_join(&b, base, "/v1/chat/completions");
	o->url = pl_buf_detach(&b, NULL);
	key = agent__env_get(s->envp, keyenv);
	if (key && *key) {
		pl_buf_printf(&b, "Authorization: Bearer %s", key);
		o->auth = pl_buf_detach(&b, NULL);
	}
	o->s = s;
	*state = o;
	return 0;
}

static void oa_close(void *state)
{
	oa *o = state;

	if (!o)
		return;
	free(o->url);
	if (o->auth) {
		/* the key does not linger in freed memory */
		explicit_bzero(o->auth, strlen(o->auth));
		free(o->auth);
	}
	free(o);
}

static const char *oa_model(void *state)
{
	return ((oa *)state)->s->api_model;
}

static void oa_wire(pl_buf *out, const json_t *msg)
{
	pl_json_dump(out, msg, false);
}

static void usage_from(agent_usage *u, const json_t *usage)
{
	const json_t *d;

	if (!json_is_object(usage))
		return;
	u->input = agent__count(json_object_get(usage, "prompt_tokens"));
	u->output = agent__count(json_object_get(usage, "completion_tokens"));
	d = json_object_get(usage, "prompt_tokens_details");
	if (json_is_object(d))
		u->cached = agent__count(json_object_get(d, "cached_tokens"));
}

static slot *get_slot(stream *st, size_t i)
{
	if (i >= 1024)
		return NULL;
	if (i >= st->n_slots) {
		st->slots = pl_xrealloc(st->slots, (i + 1) * sizeof(*st->slots));
		for (; st->n_slots <= i; st->n_slots++) {
			pl_buf_init(&st->slots[st->n_slots].id, 0);
			pl_buf_init(&st->slots[st->n_slots].name, 0);
			pl_buf_init(&st->slots[st->n_slots].args, 0);
		}
	}
	return &st->slots[i];
}

static void slots_free(stream *st)
{
	size_t i;

	for (i = 0; i < st->n_slots; i++) {
		pl_buf_release(&st->slots[i].id);
		pl_buf_release(&st->slots[i].name);
		pl_buf_release(&st->slots[i].args);
	}
	free(st->slots);
	st->slots = NULL;
	st->n_slots = 0;
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
	json_t *j = NULL, *ch, *delta, *tc, *x;
	size_t i;
	int rc;

	(void)event;
	if (n == 6 && !memcmp(data, "[DONE]", 6)) {
		st->done = true;
		return 0;
	}
	if ((rc = pl_json_parse(&j, data, n, "stream chunk", err)) < 0)
		return rc;
	if ((x = json_object_get(j, "error"))) {
		rc = agent__stream_error(x, err);
		json_decref(j);
		return rc;
	}
	usage_from(&st->out->usage, json_object_get(j, "usage"));
	ch = json_array_get(json_object_get(j, "choices"), 0);
	if (json_is_object(ch)) {
		delta = json_object_get(ch, "delta");
		if ((x = json_object_get(delta, "content")) && json_is_string(x)) {
			if ((rc = grow(st, json_string_length(x), err)) < 0)
				goto out;
			add_text(st, json_string_value(x), json_string_length(x));
		}
		json_array_foreach(json_object_get(delta, "tool_calls"), i, tc) {
			json_t *idx = json_object_get(tc, "index"), *f = json_object_get(tc, "function");
			slot *sl = get_slot(st, json_is_integer(idx) ? (size_t)json_integer_value(idx) : i);

			if (!sl)
				continue;
			if ((x = json_object_get(tc, "id")) && json_is_string(x) && !sl->id.len) {
				if ((rc = grow(st, json_string_length(x), err)) < 0)
					goto out;
				pl_buf_puts(&sl->id, json_string_value(x));
			}
			if ((x = json_object_get(f, "name")) && json_is_string(x)) {
				if ((rc = grow(st, json_string_length(x), err)) < 0)
					goto out;
				pl_buf_puts(&sl->name, json_string_value(x));
			}
			if ((x = json_object_get(f, "arguments")) && json_is_string(x)) {
				if ((rc = grow(st, json_string_length(x), err)) < 0)
					goto out;
				pl_buf_add(&sl->args, json_string_value(x), json_string_length(x));
			}
		}
		if ((x = json_object_get(ch, "finish_reason")) && json_is_string(x)) {
			snprintf(st->out->finish, sizeof(st->out->finish), "%s", json_string_value(x));
			st->finished = true;
		}
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
	slots_free(st);
	st->bytes = 0;
	pl_buf_reset(&st->out->text);
	/* a failed attempt's tokens are billed all the same */
	st->out->retried.input += st->out->usage.input;
	st->out->retried.output += st->out->usage.output;
	st->out->retried.cached += st->out->usage.cached;
	memset(&st->out->usage, 0, sizeof(st->out->usage));
	st->out->finish[0] = '\0';
	st->done = st->finished = false;
}

static int st_check(void *user, pl_err *err)
{
	stream *st = user;

	if (!st->done && !st->finished)
		return pl_err_set(err, PL_EIO, "the stream ended before the answer did (connection dropped)");
	return 0;
}

static void calls_from_slots(agent__reply *out, stream *st)
{
	size_t i;

	for (i = 0; i < st->n_slots; i++) {
		slot *sl = &st->slots[i];
		json_t *c;

		if (!sl->name.len && !sl->args.len)
			continue;
		c = json_object();
		if (sl->id.len)
			pl_json_set(c, "id", json_string(sl->id.ptr));
		pl_json_set(c, "name", json_stringn(sl->name.ptr, sl->name.len));
		pl_json_set(c, "arguments", json_stringn(sl->args.ptr, sl->args.len));
		json_array_append_new(out->calls, c);
	}
}

static int parse_whole(agent__reply *out, const agent__http_call *call, pl_err *err)
{
	json_t *j = NULL, *msg, *ch, *x, *tc;
	size_t i;
	int rc = 0;

	if (pl_json_parse(&j, call->body.ptr, call->body.len, "the server's answer", NULL) < 0)
		return agent__http_not_json(call, err);
	usage_from(&out->usage, json_object_get(j, "usage"));
	ch = json_array_get(json_object_get(j, "choices"), 0);
	msg = json_object_get(ch, "message");
	if (!json_is_object(msg)) {
		rc = pl_err_set(err, PL_EFORMAT, "the server's answer has no choices[0].message");
		goto done;
	}
	if ((x = json_object_get(msg, "content")) && json_is_string(x))
		pl_buf_add(&out->text, json_string_value(x), json_string_length(x));
	if ((x = json_object_get(ch, "finish_reason")) && json_is_string(x))
		snprintf(out->finish, sizeof(out->finish), "%s", json_string_value(x));
	json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
		json_t *f = json_object_get(tc, "function"), *c = json_object(), *a;

		if ((x = json_object_get(tc, "id")) && json_is_string(x))
			pl_json_set(c, "id", json_incref(x));
		x = json_object_get(f, "name");
		pl_json_set(c, "name", json_string(json_is_string(x) ? json_string_value(x) : ""));
		a = json_object_get(f, "arguments");
		if (json_is_string(a))
			pl_json_set(c, "arguments", json_incref(a));
		else if (a) { /* some servers send an object */
			pl_buf t = PL_BUF_INIT;

			pl_json_dump(&t, a, false);
			pl_json_set(c, "arguments", json_stringn(t.ptr, t.len));
			pl_buf_release(&t);
		}
		else
			pl_json_set(c, "arguments", json_string("{}"));
		json_array_append_new(out->calls, c);
	}
done:
	json_decref(j);
	return rc;
}

static int oa_chat(agent__reply *out, void *state, const agent__request *rq, pl_err *err)
{
	oa *o = state;
	const agent_settings *s = o->s;
	const char *headers[5];
	pl_buf body = PL_BUF_INIT;
	agent__http_call c;
	stream st;
	size_t i, n = json_array_size(rq->messages);
	int h = 0, rc;

	memset(&st, 0, sizeof(st));
	st.out = out;
	st.rq = rq;
	agent__sse_init(&st.sse, on_event, &st);

	pl_buf_puts(&body, "{\"model\":");
	{
		json_t *m = json_string(s->api_model);

		pl_json_dump(&body, m, false);
		json_decref(m);
	}
	pl_buf_puts(&body, ",\"messages\":[");
	for (i = 0; i < n; i++) {
		if (i)
			pl_buf_putc(&body, ',');
		if (rq->wire && rq->wire[i] && rq->wire[i]->len)
			pl_buf_add(&body, rq->wire[i]->ptr, rq->wire[i]->len);
		else
			pl_json_dump(&body, json_array_get(rq->messages, i), false);
	}
	pl_buf_putc(&body, ']');
	if (rq->tools && json_array_size(rq->tools)) {
		pl_buf_puts(&body, ",\"tools\":");
		pl_json_dump(&body, rq->tools, false);
	}
	pl_buf_printf(&body, ",\"temperature\":%.17g,\"max_tokens\":%lld", s->temperature, (long long)s->max_tokens);
	if (s->top_p < 1)
		pl_buf_printf(&body, ",\"top_p\":%.17g", s->top_p);
	if (s->top_k > 0)
		pl_buf_printf(&body, ",\"top_k\":%d", s->top_k);
	if (s->seed >= 0)
		pl_buf_printf(&body, ",\"seed\":%lld", (long long)s->seed);
	if (s->stream)
		pl_buf_puts(&body, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
	pl_buf_putc(&body, '}');

	headers[h++] = "Content-Type: application/json";
	if (s->stream)
		headers[h++] = "Accept: text/event-stream";
	if (o->auth)
		headers[h++] = o->auth;
	headers[h] = NULL;

	agent__http_call_init(&c, o->url, headers, &body, rq, s, s->stream ? on_body : NULL, st_reset, st_check, &st);
	rc = agent__http_call_run(&c, err);
	out->retries = c.retries;
	out->wait_s = c.wait_s;
	if (rc < 0)
		goto done;
	if (c.streamed)
		calls_from_slots(out, &st);
	else
		rc = parse_whole(out, &c, err);
	if (!out->finish[0])
		snprintf(out->finish, sizeof(out->finish), "%s", json_array_size(out->calls) ? "tool_calls" : "stop");
done:
	agent__http_call_release(&c);
	agent__sse_release(&st.sse);
	slots_free(&st);
	pl_buf_release(&body);
	return rc;
}

const agent__backend_ops agent__backend_openai = {
	"openai", true, oa_open, oa_wire, oa_chat, oa_model, NULL, NULL, oa_close,
};
