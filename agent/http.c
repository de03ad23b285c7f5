/* http.c - one HTTP POST through libcurl (opened at first use), with a
 * stall timeout, a deadline and cancellation; and the retry policy the
 * HTTP backends share. */
#define _GNU_SOURCE
#include "agent/internal.h"
#include "agent/curl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void agent__http_resp_init(agent__http_resp *r)
{
	memset(r, 0, sizeof(*r));
	pl_buf_init(&r->body, 0);
	r->retry_after = -1;
}

void agent__http_resp_release(agent__http_resp *r)
{
	pl_buf_release(&r->body);
}

double agent__retry_after_parse(const char *value, double now_epoch)
{
	struct tm tm;
	const char *end;
	int64_t secs;

	while (*value == ' ' || *value == '\t')
		value++;
	if (pl_parse_i64(&secs, value, 0, 86400 * 365, NULL) == 0)
		return (double)secs;
	{
		double d;

		if (pl_parse_f64(&d, value, NULL) == 0 && d >= 0 && d < 86400.0 * 365)
			return d; /* some servers send fractions */
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end && !*end) {
		double when = (double)timegm(&tm);

		return when > now_epoch ? when - now_epoch : 0;
	}
	return -1;
}

typedef struct xfer {
	const agent__http_req *req;
	agent__http_resp *resp;
	double last_byte;
	double in_callback;
	bool ok_status; /* 2xx: the body goes to on_body */
	bool status_known;
	int cb_rc;     /* on_body's code when it aborted the transfer */
	pl_err cb_err; /* and its message */
	CURL *h;
} xfer;

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	xfer *x = user;
	size_t len = size * n;

	x->last_byte = pl_now();
	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char v[128];
		size_t k = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;

		memcpy(v, p + 12, k);
		v[k] = '\0';
		while (k && isspace((unsigned char)v[k - 1]))
			v[--k] = '\0';
		x->resp->retry_after = agent__retry_after_parse(v, (double)time(NULL));
	} else if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new status line (after a 100 Continue, a redirect) */
		x->resp->retry_after = -1;
		x->status_known = false;
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *user)
{
	xfer *x = user;
	size_t len = size * n;

	x->last_byte = pl_now();
	if (!x->status_known) {
		long st = 0;

		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
		x->resp->status = st;
		x->ok_status = st >= 200 && st < 300;
		x->status_known = true;
		if (x->ok_status && x->req->on_body) {
			/* a server may ignore "stream": its JSON answer is kept whole */
			char *ct = NULL;

			curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
			x->resp->streamed = ct && strstr(ct, "text/event-stream");
		}
	}
	if (x->ok_status && x->resp->streamed) {
		double t0 = pl_now();
		int rc = x->req->on_body(x->req->user, p, len, &x->cb_err);

		x->in_callback += pl_now() - t0;
		if (rc < 0) {
			x->cb_rc = rc;
			return 0;
		}
		return len;
	}
	if (x->resp->body.len < (4u << 20))
		pl_buf_add(&x->resp->body, p, len);
	return len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	xfer *x = user;
	double now = pl_now();

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->req->cancel && atomic_load(x->req->cancel)) {
		x->resp->cancelled = true;
		return 1;
	}
	if (x->req->deadline > 0 && now >= x->req->deadline) {
		x->resp->deadline_hit = true;
		return 1;
	}
	if (x->req->stall_timeout > 0 && now - x->last_byte >= x->req->stall_timeout) {
		x->resp->stalled = true;
		return 1;
	}
	return 0;
}

int agent__http_post(agent__http_resp *resp, const agent__http_req *req, pl_err *err)
{
	struct curl_slist *hdrs = NULL, *l;
	const char *const *h;
	pl_buf shown = PL_BUF_INIT;
	xfer x = { 0 };
	CURLcode cc;
	double t0;
	int rc = 0;

	if ((rc = agent__curl_load(err)) < 0)
		return rc;
	x.req = req;
	x.resp = resp;
	if (!(x.h = curl_easy_init()))
		return pl_err_set(err, PL_EINTERNAL, "curl_easy_init failed");
	for (h = req->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	/* no "Expect: 100-continue" round trip before large bodies */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(x.h, CURLOPT_URL, req->url);
	curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(x.h, CURLOPT_POST, 1L);
	curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)((req->connect_timeout > 0 ? req->connect_timeout : 30) * 1000));
	curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(x.h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(x.h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x.h, CURLOPT_USERAGENT, "plait/" PLAIT_VERSION);
	t0 = x.last_byte = pl_now();
	cc = curl_easy_perform(x.h);
	resp->wait_s = pl_now() - t0 - x.in_callback;
	if (!x.status_known)
		curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &resp->status);
	{
		char *ct = NULL;

		if (curl_easy_getinfo(x.h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
			snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	}
	if (cc == CURLE_OK)
		goto done;
	agent__url_safe(&shown, req->url);
	if (resp->cancelled)
		rc = pl_err_set(err, PL_ECANCELED, "cancelled");
	else if (resp->deadline_hit)
		rc = pl_err_set(err, PL_ETIMEOUT, "the run's time limit passed while waiting for the model");
	else if (resp->stalled)
		rc = pl_err_set(err, PL_ETIMEOUT, "%s: no data from the server for %g s", shown.ptr, req->stall_timeout);
	else if (x.cb_rc < 0)
		rc = pl_err_set(err, x.cb_rc, "%s: %s", shown.ptr, x.cb_err.msg);
	else {
		resp->transport = true;
		rc = pl_err_set(err, PL_EIO, "%s: %s", shown.ptr, curl_easy_strerror(cc));
	}
done:
	/* libcurl copied the headers, the API key among them: wipe the copies */
	for (l = hdrs; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(x.h);
	pl_buf_release(&shown);
	return rc;
}

/* ---------------------------------------------------------------- retries */

static bool retryable_status(long st)
{
	return st == 408 || st == 409 || st == 429 || st >= 500;
}

/* A short form of an error body for messages: the API's "message" when it
 * is JSON, else the first 300 bytes. */
static void error_body(pl_buf *out, const pl_buf *body)
{
	json_t *j = NULL, *e, *m;

	if (body->len && pl_json_parse(&j, body->ptr, body->len, "body", NULL) == 0) {
		e = json_object_get(j, "error");
		m = json_is_object(e) ? json_object_get(e, "message") : json_is_string(e) ? e : json_object_get(j, "message");
		if (json_is_string(m)) {
			pl_buf_puts(out, json_string_value(m));
			json_decref(j);
			return;
		}
	}
	json_decref(j);
	pl_buf_add(out, body->ptr, body->len < 300 ? body->len : 300);
	pl_buf_rtrim(out);
}

/* Jitter in [0.5, 1): a thread-safe draw without global state. */
static double jitter(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 0.5 + ((*seed >> 8) & 0xFFFF) / 131072.0;
}

void agent__http_call_init(agent__http_call *c, const char *url, const char *const *headers, const pl_buf *body,
			   const agent__request *rq, const agent_settings *s,
			   int (*on_body)(void *user, const char *data, size_t n, pl_err *err), void (*reset)(void *user),
			   int (*check)(void *user, pl_err *err), void *user)
{
	memset(c, 0, sizeof(*c));
	c->req.url = url;
	c->req.headers = headers;
	c->req.body = body->ptr;
	c->req.body_len = body->len;
	c->req.connect_timeout = s->connect_timeout;
	c->req.stall_timeout = s->timeout;
	c->req.deadline = rq->deadline;
	c->req.cancel = rq->cancel;
	if (on_body) {
		c->req.on_body = on_body;
		c->req.user = user;
		c->reset = reset;
		c->check = check;
		c->reset_user = user;
	}
	c->rq = rq;
	c->settings = s;
}

int agent__http_call_run(agent__http_call *c, pl_err *err)
{
	const agent_settings *s = c->settings;
	unsigned seed = (unsigned)((uint64_t)(pl_now() * 1e6) & 0xFFFFFFFFu);
	pl_buf why = PL_BUF_INIT;
	int attempt, rc = 0;

	pl_buf_init(&c->body, 0);
	c->retries = 0;
	c->wait_s = 0;
	for (attempt = 0;; attempt++) {
		agent__http_resp r;
		double delay;

		agent__http_resp_init(&r);
		if (c->reset)
			c->reset(c->reset_user);
		pl_buf_reset(&why);
		rc = agent__http_post(&r, &c->req, err);
		c->wait_s += r.wait_s;
		c->status = r.status;
		if (rc == 0 && r.status >= 200 && r.status < 300) {
			c->streamed = r.streamed;
			snprintf(c->content_type, sizeof(c->content_type), "%s", r.content_type);
			if (!r.streamed || !c->check || (rc = c->check(c->reset_user, err)) == 0) {
				pl_buf_add(&c->body, r.body.ptr, r.body.len);
				agent__http_resp_release(&r);
				break;
			}
		}
		/* what another attempt may cure: transport failures, error
		 * events in a stream, streams cut short (PL_EIO) and stalls; not a
		 * cancel, the run's deadline, or an answer that cannot be read */
		if (rc < 0 && rc != PL_EIO && !(rc == PL_ETIMEOUT && !r.deadline_hit)) {
			agent__http_resp_release(&r);
			goto done;
		}
		if (rc == 0 && !(r.status >= 200 && r.status < 300)) {
			pl_buf_printf(&why, "HTTP %ld from ", r.status);
			agent__url_safe(&why, c->req.url);
			pl_buf_puts(&why, ": ");
			error_body(&why, &r.body);
			if (!retryable_status(r.status)) {
				rc = pl_err_set(err, r.status == 401 || r.status == 403 ? PL_EINVAL : PL_EIO, "%s", why.ptr);
				agent__http_resp_release(&r);
				goto done;
			}
		} else {
			pl_buf_puts(&why, err ? err->msg : "connection failed");
		}
		if (attempt >= s->max_retries) {
			rc = pl_err_set(err, rc == PL_ETIMEOUT ? PL_ETIMEOUT : PL_EIO, "%s (after %d attempt%s)", why.ptr,
					attempt + 1, attempt ? "s" : "");
			agent__http_resp_release(&r);
			goto done;
		}
		delay = s->retry_base * (double)(1u << (attempt < 20 ? attempt : 20)) * jitter(&seed);
		if (delay > s->retry_max)
			delay = s->retry_max;
		if (r.retry_after > s->retry_max) {
			/* a wait longer than retry_max (a quota that resets tomorrow)
			 * is not slept on: the run ends now and says why */
			rc = pl_err_set(err, PL_EIO, "%s (the server asks to wait %.0f s, more than backend.retry_max (%g s))",
					why.ptr, r.retry_after, s->retry_max);
			agent__http_resp_release(&r);
			goto done;
		}
		if (r.retry_after >= 0)
			delay = r.retry_after; /* the server knows best, up to retry_max */
		agent__http_resp_release(&r);
		if (c->req.deadline > 0 && pl_now() + delay >= c->req.deadline) {
			rc = pl_err_set(err, PL_ETIMEOUT, "the run's time limit leaves no time to retry: %s", why.ptr);
			goto done;
		}
		if (c->rq && c->rq->on_retry)
			c->rq->on_retry(c->rq->user, attempt + 1, delay, why.ptr);
		c->retries++;
		{
			/* waiting to retry is waiting for the model, not the
			 * agent's own time */
			double t0 = pl_now();

			rc = agent__sleep(delay, c->req.cancel);
			c->wait_s += pl_now() - t0;
		}
		if (rc < 0) {
			pl_err_set(err, rc, "cancelled");
			goto done;
		}
		pl_err_clear(err);
	}
done:
	pl_buf_release(&why);
	return rc;
}

void agent__http_call_release(agent__http_call *c)
{
	pl_buf_release(&c->body);
}

int agent__http_not_json(const agent__http_call *c, pl_err *err)
{
	pl_buf url = PL_BUF_INIT;
	char head[81];
	size_t i, n = c->body.len < 80 ? c->body.len : 80;
	int rc;

	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)c->body.ptr[i];

		head[i] = b >= 0x20 && b < 0x7F ? (char)b : '?';
	}
	head[n] = '\0';
	agent__url_safe(&url, c->req.url);
	rc = pl_err_set(err, PL_EFORMAT, "%s: the answer is not JSON (Content-Type: %s): it begins '%s%s'", url.ptr,
			c->content_type[0] ? c->content_type : "none", head, c->body.len > n ? "..." : "");
	pl_buf_release(&url);
	return rc;
}
