/* sse.c - server-sent events, as the model servers stream their answers
 * (the WHATWG event-stream rules: fields, multi-line data, comments, any
 * line ending). */
#include "agent/internal.h"

#include <string.h>

void agent__sse_init(agent__sse *s, agent__sse_fn fn, void *user)
{
	memset(s, 0, sizeof(*s));
	pl_buf_init(&s->line, 0);
	pl_buf_init(&s->event, 0);
	pl_buf_init(&s->data, 0);
	s->fn = fn;
	s->user = user;
}

void agent__sse_release(agent__sse *s)
{
	pl_buf_release(&s->line);
	pl_buf_release(&s->event);
	pl_buf_release(&s->data);
}

static int dispatch(agent__sse *s, pl_err *err)
{
	int rc = 0;

	if (s->has_data)
		rc = s->fn(s->user, s->event.len ? s->event.ptr : "message", s->data.ptr, s->data.len, err);
	pl_buf_reset(&s->event);
	pl_buf_reset(&s->data);
	s->has_data = false;
	return rc;
}

static int line(agent__sse *s, const char *p, size_t n, pl_err *err)
{
	const char *colon;
	size_t flen;
	const char *v;
	size_t vlen;

	if (!n)
		return dispatch(s, err);
	if (p[0] == ':')
		return 0; /* comment (keep-alive) */
	colon = memchr(p, ':', n);
	flen = colon ? (size_t)(colon - p) : n;
	v = colon ? colon + 1 : p + n;
	vlen = colon ? n - flen - 1 : 0;
	if (vlen && *v == ' ')
		v++, vlen--;
	if (flen == 4 && !memcmp(p, "data", 4)) {
		if (s->data.len + vlen + 1 > AGENT__SSE_MAX)
			return pl_err_set(err, PL_EFORMAT,
					  "the server's event stream sent an event of more than %zu MiB: not a model's answer",
					  AGENT__SSE_MAX >> 20);
		if (s->has_data)
			pl_buf_putc(&s->data, '\n');
		pl_buf_add(&s->data, v, vlen);
		s->has_data = true;
	} else if (flen == 5 && !memcmp(p, "event", 5)) {
		pl_buf_reset(&s->event);
		pl_buf_add(&s->event, v, vlen);
	}
	/* id and retry do not matter to a request that is never resumed */
	return 0;
}

static int too_long(pl_err *err)
{
	return pl_err_set(err, PL_EFORMAT,
			  "the server's event stream sent a line of more than %zu MiB without its end: not a model's answer",
			  AGENT__SSE_MAX >> 20);
}

int agent__sse_feed(agent__sse *s, const char *p, size_t n, pl_err *err)
{
	size_t i, start = 0;
	int rc;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c != '\n' && c != '\r') {
			s->cr = false;
			continue;
		}
		if (c == '\n' && s->cr) { /* the LF of a CRLF: the line already ended */
			s->cr = false;
			start = i + 1;
			continue;
		}
		s->cr = c == '\r';
		if (s->line.len + (i - start) > AGENT__SSE_MAX)
			return too_long(err);
		pl_buf_add(&s->line, p + start, i - start);
		start = i + 1;
		rc = line(s, s->line.ptr, s->line.len, err);
		pl_buf_reset(&s->line);
		if (rc)
			return rc;
	}
	if (s->line.len + (n - start) > AGENT__SSE_MAX)
		return too_long(err);
	pl_buf_add(&s->line, p + start, n - start);
	return 0;
}

int agent__answer_too_big(pl_err *err)
{
	return pl_err_set(err, PL_EFORMAT,
			  "the answer passed %zu MiB (text and tool-call arguments) without ending: no model "
			  "writes that much at once; the server's stream is broken",
			  AGENT__ANSWER_MAX >> 20);
}

int agent__stream_error(const json_t *e, pl_err *err)
{
	static const char *const again[] = { "overloaded_error", "api_error",		"rate_limit_error",
					     "rate_limit_exceeded", "server_error",	"internal_error",
					     "service_unavailable", "overloaded",	"engine_overloaded",
					     NULL };
	const json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
	const json_t *code = json_is_object(e) ? json_object_get(e, "code") : NULL;
	const char *type = json_is_object(e) ? json_string_value(json_object_get(e, "type")) : NULL;
	bool retry = false;
	size_t i;

	for (i = 0; again[i]; i++)
		if ((type && !strcmp(type, again[i])) || (json_is_string(code) && !strcmp(json_string_value(code), again[i])))
			retry = true;
	if (json_is_integer(code) && (json_integer_value(code) == 429 || json_integer_value(code) >= 500))
		retry = true;
	return pl_err_set(err, retry ? PL_EIO : PL_EINVAL, "the server reported an error in the stream%s%s%s: %s",
			  type ? " (" : "", type ? type : "", type ? ")" : "",
			  json_is_string(m) ? json_string_value(m) : "(no message)");
}
