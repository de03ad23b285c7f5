/* script_server.h - a real HTTP server on loopback that plays scripted
 * model turns in the OpenAI and Anthropic wire formats (whole answers and
 * server-sent event streams), for the agent's tests and `make
 * bench-agent`.  It records every request, can answer with any status and
 * headers, drop the connection, stall until the client gives up, or hold a
 * stream half-sent until the test opens a gate.  Waiting is always on a
 * condition with a deadline.
 *
 * Answers come from a queue, one per request in arrival order; or, for
 * clients that run at once (several agents on one endpoint), from a
 * handler (ss_set_handler) that sees each request and answers it on a
 * thread of its own, so that it may wait for other requests. */
#ifndef PLAIT_TESTS_SCRIPT_SERVER_H
#define PLAIT_TESTS_SCRIPT_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

/* What to answer one request with. */
typedef struct ss_resp {
	int status;         /* 0: close the connection without answering */
	char *headers;      /* extra header lines, each ending in \r\n, or NULL */
	char *body;         /* a whole body (Content-Length), or NULL */
	char **chunks;      /* a stream: parts written one by one, NULL-terminated */
	int gate_after;     /* > 0: after that many chunks, wait for ss_open_gate (or the client leaving) */
	bool drop_after;    /* close right after the chunks (no end of stream) */
	bool stall;         /* send nothing until the client closes */
} ss_resp;

typedef struct ss_req {
	char *head; /* request line and headers */
	char *body;
	size_t body_len;
} ss_req;

typedef struct ss_server ss_server;
/* Answers one request (its index in the record is i); runs on the
 * connection's own thread, without the server's lock.  A handler that
 * waits must do so with a deadline and give up when s->stop is set. */
typedef ss_resp (*ss_handler_fn)(void *ctx, ss_server *s, size_t i, const ss_req *req);

struct ss_server {
	int fd, port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ss_resp *q;
	size_t nq, qhead, qcap;
	ss_req *reqs;
	size_t nreqs, reqcap;
	bool stop, gate_open, client_left, waiting_at_gate;
	int served;
	ss_handler_fn handler;
	void *handler_ctx;
	int active; /* handler threads not yet finished */
};

static inline double ss_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void ss_abstime(struct timespec *ts, double secs)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)secs;
	ts->tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static inline bool ss_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Waits until the peer closes (or `secs` pass); true when it closed. */
static inline bool ss_wait_close(int fd, double secs)
{
	double end = ss_now() + secs;
	char buf[256];

	while (ss_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, 50);

		if (r > 0) {
			ssize_t k = recv(fd, buf, sizeof(buf), 0);

			if (k <= 0)
				return true;
		}
	}
	return false;
}

static inline bool ss_read_request(int fd, ss_req *r)
{
	pl_buf b = PL_BUF_INIT;
	char buf[65536], *end = NULL;
	size_t clen = 0, hlen;
	const char *cl;

	while (!(end = strstr(b.ptr, "\r\n\r\n"))) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		if (k <= 0) {
			pl_buf_release(&b);
			return false;
		}
		pl_buf_add(&b, buf, (size_t)k);
	}
	hlen = (size_t)(end - b.ptr) + 4;
	for (cl = b.ptr; cl < b.ptr + hlen; cl++)
		if (!strncasecmp(cl, "\r\ncontent-length:", 17)) {
			clen = strtoul(cl + 17, NULL, 10);
			break;
		}
	while (b.len < hlen + clen) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		if (k <= 0) {
			pl_buf_release(&b);
			return false;
		}
		pl_buf_add(&b, buf, (size_t)k);
	}
	r->head = pl_xstrndup(b.ptr, hlen);
	r->body = pl_xstrndup(b.ptr + hlen, clen);
	r->body_len = clen;
	pl_buf_release(&b);
	return true;
}

static inline void ss_resp_free(ss_resp *r)
{
	size_t i;

	free(r->headers);
	free(r->body);
	for (i = 0; r->chunks && r->chunks[i]; i++)
		free(r->chunks[i]);
	free(r->chunks);
}

/* Whether the header lines hold one named name (with its colon, any case). */
static inline bool ss_has_header(const char *headers, const char *name)
{
	for (const char *p = headers; p && *p; p++)
		if ((p == headers || p[-1] == '\n') && !strncasecmp(p, name, strlen(name)))
			return true;
	return false;
}

static inline void ss_serve(ss_server *s, int c, ss_resp *r)
{
	pl_buf h = PL_BUF_INIT;
	size_t i;

	if (r->status == 0)
		return; /* dropped */
	if (r->stall) {
		ss_wait_close(c, 60);
		return;
	}
	pl_buf_printf(&h, "HTTP/1.1 %d X\r\n%sConnection: close\r\n", r->status, r->headers ? r->headers : "");
	if (r->chunks)
		pl_buf_puts(&h, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
	else /* a Content-Type among the headers wins */
		pl_buf_printf(&h, "%sContent-Length: %zu\r\n\r\n%s",
			      ss_has_header(r->headers, "content-type:") ? "" : "Content-Type: application/json\r\n",
			      r->body ? strlen(r->body) : 0, r->body ? r->body : "");
	ss_write_all(c, h.ptr, h.len);
	pl_buf_release(&h);
	for (i = 0; r->chunks && r->chunks[i]; i++) {
		if (r->gate_after > 0 && (int)i == r->gate_after) {
			bool left = false;

			pthread_mutex_lock(&s->mu);
			s->waiting_at_gate = true;
			pthread_cond_broadcast(&s->cv);
			while (!s->gate_open && !s->stop && !left) {
				struct timespec ts;
				struct pollfd p = { c, POLLIN, 0 };

				ss_abstime(&ts, 0.05);
				pthread_cond_timedwait(&s->cv, &s->mu, &ts);
				pthread_mutex_unlock(&s->mu);
				if (poll(&p, 1, 0) > 0) {
					char b;

					if (recv(c, &b, 1, MSG_DONTWAIT) <= 0)
						left = true;
				}
				pthread_mutex_lock(&s->mu);
			}
			s->waiting_at_gate = false;
			s->gate_open = false;
			if (left)
				s->client_left = true;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
			if (left)
				return;
		}
		if (!ss_write_all(c, r->chunks[i], strlen(r->chunks[i])))
			return;
	}
}

/* A connection served by the handler on a thread of its own. */
typedef struct ss_conn {
	ss_server *s;
	int fd;
	size_t i;
	ss_req req; /* the record's copy, borrowed: the record outlives the thread */
} ss_conn;

static inline void *ss_conn_main(void *arg)
{
	ss_conn *cn = arg;
	ss_server *s = cn->s;
	ss_resp r = s->handler(s->handler_ctx, s, cn->i, &cn->req);

	ss_serve(s, cn->fd, &r);
	ss_resp_free(&r);
	close(cn->fd);
	free(cn);
	pthread_mutex_lock(&s->mu);
	s->served++;
	s->active--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static inline void *ss_main(void *arg)
{
	ss_server *s = arg;

	for (;;) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		ss_resp r;
		ss_req q;
		int c;

		pthread_mutex_lock(&s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pthread_mutex_unlock(&s->mu);
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (!ss_read_request(c, &q)) {
			close(c);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		if (s->nreqs == s->reqcap) {
			s->reqcap = s->reqcap ? s->reqcap * 2 : 16;
			s->reqs = pl_xrealloc(s->reqs, s->reqcap * sizeof(*s->reqs));
		}
		s->reqs[s->nreqs++] = q;
		if (s->handler) {
			ss_conn *cn = pl_xcalloc(1, sizeof(*cn));
			pthread_t t;

			cn->s = s;
			cn->fd = c;
			cn->i = s->nreqs - 1;
			cn->req = q;
			s->active++;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
			if (pthread_create(&t, NULL, ss_conn_main, cn) == 0) {
				pthread_detach(t);
			} else {
				close(c);
				free(cn);
				pthread_mutex_lock(&s->mu);
				s->active--;
				pthread_cond_broadcast(&s->cv);
				pthread_mutex_unlock(&s->mu);
			}
			continue;
		}
		if (s->qhead < s->nq) {
			r = s->q[s->qhead++];
		} else {
			memset(&r, 0, sizeof(r));
			r.status = 500;
			r.body = pl_xstrdup("{\"error\":{\"message\":\"script_server: no scripted answer left\"}}");
		}
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		ss_serve(s, c, &r);
		ss_resp_free(&r);
		close(c);
		pthread_mutex_lock(&s->mu);
		s->served++;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

/* Starts a server on 127.0.0.1 and a free port; false when it cannot. */
static inline bool ss_start(ss_server *s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return false;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 16) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) < 0) {
		close(s->fd);
		return false;
	}
	s->port = ntohs(a.sin_port);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return pthread_create(&s->th, NULL, ss_main, s) == 0;
}

static inline void ss_stop(ss_server *s)
{
	size_t i;

	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	/* handlers see stop and finish */
	pthread_mutex_lock(&s->mu);
	while (s->active > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	close(s->fd);
	for (i = s->qhead; i < s->nq; i++)
		ss_resp_free(&s->q[i]);
	free(s->q);
	for (i = 0; i < s->nreqs; i++) {
		free(s->reqs[i].head);
		free(s->reqs[i].body);
	}
	free(s->reqs);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

/* The assistant messages of an OpenAI or Anthropic request's body: the
 * turns the model has had in that conversation (a handler's step count). */
static inline int ss_assistant_turns(const ss_req *req)
{
	json_t *b = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL), *m;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(b, "messages"), i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));

		if (role && !strcmp(role, "assistant"))
			n++;
	}
	json_decref(b);
	return n;
}

/* Answer every request from now on with fn (see ss_handler_fn). */
static inline void ss_set_handler(ss_server *s, ss_handler_fn fn, void *ctx)
{
	pthread_mutex_lock(&s->mu);
	s->handler = fn;
	s->handler_ctx = ctx;
	pthread_mutex_unlock(&s->mu);
}

/* Queues an answer (the server takes what r owns). */
static inline void ss_push(ss_server *s, ss_resp r)
{
	pthread_mutex_lock(&s->mu);
	if (s->nq == s->qcap) {
		s->qcap = s->qcap ? s->qcap * 2 : 16;
		s->q = pl_xrealloc(s->q, s->qcap * sizeof(*s->q));
	}
	s->q[s->nq++] = r;
	pthread_mutex_unlock(&s->mu);
}

/* Waits until n requests have come (or secs pass); true when they have. */
static inline bool ss_wait_requests(ss_server *s, size_t n, double secs)
{
	struct timespec ts;
	bool ok;

	ss_abstime(&ts, secs);
	pthread_mutex_lock(&s->mu);
	while (s->nreqs < n && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
		;
	ok = s->nreqs >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Waits until a stream is held at its gate. */
static inline bool ss_wait_gate(ss_server *s, double secs)
{
	struct timespec ts;
	bool ok;

	ss_abstime(&ts, secs);
	pthread_mutex_lock(&s->mu);
	while (!s->waiting_at_gate && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
		;
	ok = s->waiting_at_gate;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Waits until the client left a held stream. */
static inline bool ss_wait_client_left(ss_server *s, double secs)
{
	struct timespec ts;
	bool ok;

	ss_abstime(&ts, secs);
	pthread_mutex_lock(&s->mu);
	while (!s->client_left && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
		;
	ok = s->client_left;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static inline void ss_open_gate(ss_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->gate_open = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Request i's body as JSON (new reference; NULL when not JSON). */
static inline json_t *ss_request_json(ss_server *s, size_t i)
{
	json_t *j = NULL;

	pthread_mutex_lock(&s->mu);
	if (i < s->nreqs)
		pl_json_parse(&j, s->reqs[i].body, s->reqs[i].body_len, "request", NULL);
	pthread_mutex_unlock(&s->mu);
	return j;
}

static inline char *ss_request_head(ss_server *s, size_t i)
{
	char *h = NULL;

	pthread_mutex_lock(&s->mu);
	if (i < s->nreqs)
		h = pl_xstrdup(s->reqs[i].head);
	pthread_mutex_unlock(&s->mu);
	return h;
}

static inline size_t ss_requests(ss_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---------------------------------------------------------------- turns */

/* A model turn: text, then calls (name and arguments as JSON text, which
 * may be malformed on purpose). */
typedef struct ss_call {
	const char *name;
	const char *args;
} ss_call;

static inline char *ss_dump(json_t *j)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, j, false);
	json_decref(j);
	return pl_buf_detach(&b, NULL);
}

static inline char *ss_sse(const char *event, json_t *data)
{
	pl_buf b = PL_BUF_INIT;
	char *d = ss_dump(data);

	if (event)
		pl_buf_printf(&b, "event: %s\n", event);
	pl_buf_printf(&b, "data: %s\n\n", d);
	free(d);
	return pl_buf_detach(&b, NULL);
}

static inline void ss_chunks_add(char ***v, size_t *n, char *s)
{
	*v = pl_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* OpenAI: a whole answer. */
static inline ss_resp ss_openai(const char *text, const ss_call *calls, size_t n, const char *finish, int in, int out)
{
	json_t *msg = json_pack("{s:s, s:s?}", "role", "assistant", "content", text), *tc = json_array();
	ss_resp r = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "call_%zu", i);
		json_array_append_new(tc, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function",
						    "name", calls[i].name, "arguments", calls[i].args));
	}
	if (n)
		json_object_set_new(msg, "tool_calls", tc);
	else
		json_decref(tc);
	r.status = 200;
	r.body = ss_dump(json_pack("{s:s, s:[{s:i, s:o, s:s}], s:{s:i, s:i, s:i}}", "object", "chat.completion",
				   "choices", "index", 0, "message", msg, "finish_reason",
				   finish ? finish : n ? "tool_calls" : "stop", "usage", "prompt_tokens", in,
				   "completion_tokens", out, "total_tokens", in + out));
	return r;
}

/* OpenAI: the same answer streamed: the text in two pieces, each call's
 * arguments in two deltas, usage in a last chunk, then [DONE]. */
static inline ss_resp ss_openai_stream(const char *text, const ss_call *calls, size_t n, const char *finish, int in,
				       int out)
{
	ss_resp r = { 0 };
	size_t k = 0, i;

	r.status = 200;
	ss_chunks_add(&r.chunks, &k,
		      ss_sse(NULL, json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0, "delta", "role", "assistant")));
	if (text && *text) {
		size_t half = strlen(text) / 2;
		char *a = pl_xstrndup(text, half);

		while (half && (text[half] & 0xC0) == 0x80)
			half--;
		a[half] = '\0';
		ss_chunks_add(&r.chunks, &k, ss_sse(NULL, json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0, "delta",
								    "content", a)));
		ss_chunks_add(&r.chunks, &k, ss_sse(NULL, json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0,
								    "delta", "content", text + half)));
		free(a);
	}
	for (i = 0; i < n; i++) {
		size_t half = strlen(calls[i].args) / 2;
		char *a = pl_xstrndup(calls[i].args, half), id[32];

		snprintf(id, sizeof(id), "call_%zu", i);
		ss_chunks_add(&r.chunks, &k,
			      ss_sse(NULL, json_pack("{s:[{s:i, s:{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}}]}", "choices", "index",
						     0, "delta", "tool_calls", "index", (int)i, "id", id, "type", "function",
						     "function", "name", calls[i].name, "arguments", a)));
		ss_chunks_add(&r.chunks, &k,
			      ss_sse(NULL, json_pack("{s:[{s:i, s:{s:[{s:i, s:{s:s}}]}}]}", "choices", "index", 0, "delta",
						     "tool_calls", "index", (int)i, "function", "arguments",
						     calls[i].args + half)));
		free(a);
	}
	ss_chunks_add(&r.chunks, &k,
		      ss_sse(NULL, json_pack("{s:[{s:i, s:{}, s:s}]}", "choices", "index", 0, "delta", "finish_reason",
					     finish ? finish : n ? "tool_calls" : "stop")));
	ss_chunks_add(&r.chunks, &k,
		      ss_sse(NULL, json_pack("{s:[], s:{s:i, s:i, s:i}}", "choices", "usage", "prompt_tokens", in,
					     "completion_tokens", out, "total_tokens", in + out)));
	ss_chunks_add(&r.chunks, &k, pl_xstrdup("data: [DONE]\n\n"));
	return r;
}

/* Anthropic: a whole answer. */
static inline ss_resp ss_anthropic(const char *text, const ss_call *calls, size_t n, const char *stop, int in, int out)
{
	json_t *content = json_array();
	ss_resp r = { 0 };
	size_t i;

	if (text && *text)
		json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text", "text", text));
	for (i = 0; i < n; i++) {
		json_t *input = NULL;
		char id[32];

		snprintf(id, sizeof(id), "toolu_%zu", i);
		pl_json_parse(&input, calls[i].args, strlen(calls[i].args), "args", NULL);
		json_array_append_new(content, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name",
							 calls[i].name, "input", input ? input : json_object()));
	}
	r.status = 200;
	r.body = ss_dump(json_pack("{s:s, s:s, s:s, s:o, s:s, s:{s:i, s:i}}", "id", "msg_1", "type", "message", "role",
				   "assistant", "content", content, "stop_reason", stop ? stop : n ? "tool_use" : "end_turn",
				   "usage", "input_tokens", in, "output_tokens", out));
	return r;
}

/* Anthropic: the same answer as its event stream. */
static inline ss_resp ss_anthropic_stream(const char *text, const ss_call *calls, size_t n, const char *stop, int in,
					  int out)
{
	ss_resp r = { 0 };
	size_t k = 0, i, idx = 0;

	r.status = 200;
	ss_chunks_add(&r.chunks, &k,
		      ss_sse("message_start", json_pack("{s:s, s:{s:s, s:s, s:[], s:{s:i, s:i}}}", "type", "message_start",
							"message", "id", "msg_1", "role", "assistant", "content", "usage",
							"input_tokens", in, "output_tokens", 1)));
	ss_chunks_add(&r.chunks, &k, ss_sse("ping", json_pack("{s:s}", "type", "ping")));
	if (text && *text) {
		size_t half = strlen(text) / 2;
		char *a = pl_xstrndup(text, half);

		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_start", json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_start",
								      "index", (int)idx, "content_block", "type", "text",
								      "text", "")));
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_delta", json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta",
								      "index", (int)idx, "delta", "type", "text_delta",
								      "text", a)));
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_delta", json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta",
								      "index", (int)idx, "delta", "type", "text_delta",
								      "text", text + half)));
		ss_chunks_add(&r.chunks, &k, ss_sse("content_block_stop", json_pack("{s:s, s:i}", "type",
										    "content_block_stop", "index", (int)idx)));
		free(a);
		idx++;
	}
	for (i = 0; i < n; i++, idx++) {
		size_t half = strlen(calls[i].args) / 2;
		char *a = pl_xstrndup(calls[i].args, half), id[32];

		snprintf(id, sizeof(id), "toolu_%zu", i);
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_start",
				     json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:{}}}", "type", "content_block_start", "index",
					       (int)idx, "content_block", "type", "tool_use", "id", id, "name", calls[i].name,
					       "input")));
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_delta",
				     json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index", (int)idx,
					       "delta", "type", "input_json_delta", "partial_json", a)));
		ss_chunks_add(&r.chunks, &k,
			      ss_sse("content_block_delta",
				     json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index", (int)idx,
					       "delta", "type", "input_json_delta", "partial_json", calls[i].args + half)));
		ss_chunks_add(&r.chunks, &k, ss_sse("content_block_stop", json_pack("{s:s, s:i}", "type",
										    "content_block_stop", "index", (int)idx)));
		free(a);
	}
	ss_chunks_add(&r.chunks, &k,
		      ss_sse("message_delta", json_pack("{s:s, s:{s:s}, s:{s:i}}", "type", "message_delta", "delta",
							"stop_reason", stop ? stop : n ? "tool_use" : "end_turn", "usage",
							"output_tokens", out)));
	ss_chunks_add(&r.chunks, &k, ss_sse("message_stop", json_pack("{s:s}", "type", "message_stop")));
	return r;
}

/* An error answer with a JSON body. */
static inline ss_resp ss_error(int status, const char *headers, const char *message)
{
	ss_resp r = { 0 };

	r.status = status;
	r.headers = headers ? pl_xstrdup(headers) : NULL;
	r.body = ss_dump(json_pack("{s:{s:s, s:s}}", "error", "message", message, "type", "server_error"));
	return r;
}

#endif
