/* registry.c - pulling from a registry: the OCI distribution API over
 * libcurl (opencontainers/distribution-spec spec.md), bearer tokens from
 * the WWW-Authenticate challenge (distribution docs/spec/auth/token.md),
 * manifests and indexes resolved for a platform, blobs downloaded in
 * parallel into DIR/tmp/sha256-HEX.partial and resumed from there with a
 * Range request after a dropped connection or an interrupted pull, each
 * checked against its digest before it enters the store. */
#define _GNU_SOURCE
#include "image/internal.h"
#include "image/libs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTEMPTS 6 /* tries without progress before a blob fails */

typedef struct reg {
	img_store *s;
	const img_ref *ref;
	const img_opts *o;
	const char *platform;
	char *base;  /* "https://host" */
	char *creds; /* "user:password", or NULL */
	char *what;  /* "registry.example/repo" for messages */
	pthread_mutex_t mu;
	char *token; /* bearer token, under mu */
	unsigned token_gen;
	/* progress, under mu */
	uint64_t done, total;
	unsigned items_done, items_total;
	double last_report;
} reg;

/* One HTTP exchange. */
typedef struct resp {
	long status;
	pl_buf body; /* documents (capped); blobs go to fd */
	size_t cap;
	pl_buf ctype, auth, digest, crange;
	/* blob downloads */
	int fd;
	img__sha *sha;
	uint64_t *have; /* bytes in the partial file */
	uint64_t start; /* offset asked for */
	bool restart;	/* a 200 answered a Range: the file starts over */
	bool started;
	pl_err *werr; /* a write error, set in the callback */
	CURL *h;
	reg *g;
	const char *item;
} resp;

static void resp_init(resp *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	pl_buf_init(&r->body, 0);
	pl_buf_init(&r->ctype, 0);
	pl_buf_init(&r->auth, 0);
	pl_buf_init(&r->digest, 0);
	pl_buf_init(&r->crange, 0);
}

static void resp_release(resp *r)
{
	pl_buf_release(&r->body);
	pl_buf_release(&r->ctype);
	pl_buf_release(&r->auth);
	pl_buf_release(&r->digest);
	pl_buf_release(&r->crange);
}

/* ---------------------------------------------------------------- credentials */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static char *b64decode(const char *s)
{
	pl_buf out = PL_BUF_INIT;
	unsigned acc = 0;
	int bits = 0, v;

	for (; *s && *s != '='; s++) {
		if ((v = b64val((unsigned char)*s)) < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			pl_buf_putc(&out, (char)((acc >> bits) & 0xff));
		}
	}
	return pl_buf_detach(&out, NULL);
}

/* $PLAIT_REGISTRY_AUTH, else the registry's entry in a Docker config.json. */
static char *find_creds(const char *registry, const pl_log *log)
{
	const char *env = getenv("PLAIT_REGISTRY_AUTH"), *dir = getenv("DOCKER_CONFIG"),
		   *home = getenv("HOME");
	pl_buf path = PL_BUF_INIT, key = PL_BUF_INIT;
	json_t *j = NULL;
	const json_t *auths, *e = NULL;
	char *out = NULL;

	if (env && *env && strchr(env, ':'))
		return pl_xstrdup(env);
	if (dir && *dir)
		pl_path_join(&path, dir, "config.json");
	else if (home && *home)
		pl_path_join(&path, home, ".docker/config.json");
	else
		return NULL;
	if (!pl_file_exists(path.ptr) || pl_json_load_file(&j, path.ptr, NULL) < 0)
		goto done;
	auths = json_object_get(j, "auths");
	if (!json_is_object(auths))
		goto done;
	if (!strcmp(registry, "docker.io"))
		e = json_object_get(auths, "https://index.docker.io/v1/");
	if (!e)
		e = json_object_get(auths, registry);
	if (!e) {
		pl_buf_printf(&key, "https://%s", registry);
		e = json_object_get(auths, key.ptr);
	}
	if (json_is_object(e)) {
		const char *a = json_string_value(json_object_get(e, "auth"));
		const char *u = json_string_value(json_object_get(e, "username"));
		const char *p = json_string_value(json_object_get(e, "password"));

		if (a && *a) {
			out = b64decode(a);
			if (!strchr(out, ':')) {
				free(out);
				out = NULL;
			}
		} else if (u && p) {
			pl_buf b = PL_BUF_INIT;

			pl_buf_printf(&b, "%s:%s", u, p);
			out = pl_buf_detach(&b, NULL);
		}
	} else if (json_object_get(j, "credsStore") || json_object_get(j, "credHelpers")) {
		pl_log_debug(log,
			     "%s: credential helpers are not used; set PLAIT_REGISTRY_AUTH=user:password",
			     path.ptr);
	}
done:
	json_decref(j);
	pl_buf_release(&path);
	pl_buf_release(&key);
	return out;
}

/* ---------------------------------------------------------------- HTTP */

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	resp *r = data;
	size_t len = size * n, k;
	pl_buf *dst = NULL;

	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new response (after a redirect): forget the last one's */
		pl_buf_reset(&r->ctype);
		pl_buf_reset(&r->auth);
		pl_buf_reset(&r->digest);
		pl_buf_reset(&r->crange);
		return len;
	}
	if (len > 13 && !strncasecmp(p, "Content-Type:", 13))
		dst = &r->ctype, k = 13;
	else if (len > 17 && !strncasecmp(p, "WWW-Authenticate:", 17))
		dst = &r->auth, k = 17;
	else if (len > 22 && !strncasecmp(p, "Docker-Content-Digest:", 22))
		dst = &r->digest, k = 22;
	else if (len > 14 && !strncasecmp(p, "Content-Range:", 14))
		dst = &r->crange, k = 14;
	if (!dst)
		return len;
	pl_buf_reset(dst);
	while (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	pl_buf_add(dst, p + k, len - k);
	pl_buf_rtrim(dst);
	return len;
}

static void report(reg *g, const char *item, bool force)
{
	img_progress p;
	double now = pl_now();

	if (!g->o || !g->o->progress || (!force && now - g->last_report < 0.1))
		return;
	g->last_report = now;
	p.phase = IMG_PHASE_FETCH;
	p.ref = g->what;
	p.item = item;
	p.done = g->done;
	p.total = g->total;
	p.items_done = g->items_done;
	p.items_total = g->items_total;
	g->o->progress(g->o->progress_ctx, &p);
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	resp *r = data;
	size_t len = size * n, off = 0;

	if (r->fd < 0) {
		if (r->body.len + len > r->cap)
			return 0; /* too large: curl fails with a write error */
		pl_buf_add(&r->body, p, len);
		return len;
	}
	if (!r->started) {
		long code = 0;

		r->started = true;
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
		r->status = code;
		if (code == 200 && r->start > 0) {
			r->restart = true; /* the server ignored the Range */
		} else if (code == 206) {
			unsigned long long from = 0;

			if (sscanf(r->crange.ptr, "bytes %llu-", &from) != 1 || from != r->start) {
				pl_err_set(r->werr, PL_EFORMAT, "%s: asked for bytes from %llu, got '%s'",
					   r->item, (unsigned long long)r->start, r->crange.ptr);
				return 0;
			}
		}
	}
	/* only the body of a 200 or 206 is the blob */
	if (r->status != 200 && r->status != 206) {
		if (r->body.len + len <= 4096)
			pl_buf_add(&r->body, p, len);
		return len;
	}
	if (r->restart) {
		if (ftruncate(r->fd, 0) < 0 || lseek(r->fd, 0, SEEK_SET) < 0) {
			pl_err_sys(r->werr, PL_EIO, "restarting the partial download of %s", r->item);
			return 0;
		}
		img__sha_release(r->sha);
		if (img__sha_init(r->sha, r->werr) < 0)
			return 0;
		if (r->g) {
			pthread_mutex_lock(&r->g->mu);
			r->g->done -= *r->have;
			pthread_mutex_unlock(&r->g->mu);
		}
		*r->have = 0;
		r->restart = false;
	}
	while (off < len) {
		ssize_t w = write(r->fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			pl_err_sys(r->werr, PL_EIO, "writing the download of %s", r->item);
			return 0;
		}
		off += (size_t)w;
	}
	img__sha_update(r->sha, p, len);
	*r->have += len;
	if (r->g) {
		pthread_mutex_lock(&r->g->mu);
		r->g->done += len;
		report(r->g, r->item, false);
		pthread_mutex_unlock(&r->g->mu);
	}
	return len;
}

static int on_xfer(void *data, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	reg *g = data;

	(void)dt, (void)dn, (void)ut, (void)un;
	return img__cancelled(g->o) ? 1 : 0;
}

/* Parse `Bearer realm="...",service="...",scope="..."` (or Basic). */
static void challenge_param(const char *ch, const char *key, pl_buf *out)
{
	size_t k = strlen(key);
	const char *p = ch;

	while ((p = strstr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[k] == '=') {
			p += k + 1;
			if (*p == '"') {
				const char *e = strchr(++p, '"');

				pl_buf_add(out, p, e ? (size_t)(e - p) : strlen(p));
			} else {
				pl_buf_add(out, p, strcspn(p, ", "));
			}
			return;
		}
		p += k;
	}
}

static int escape_into(pl_buf *out, CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0);

	if (!e)
		return -1;
	pl_buf_puts(out, e);
	curl_free(e);
	return 0;
}

/* Get a bearer token for the challenge (under mu, once per generation:
 * threads that failed with the same token wait for one refresh). */
static int fetch_token(reg *g, CURL *h, const char *challenge, unsigned gen_seen, pl_err *err)
{
	pl_buf realm = PL_BUF_INIT, service = PL_BUF_INIT, scope = PL_BUF_INIT, url = PL_BUF_INIT;
	resp r;
	json_t *j = NULL;
	const char *tok;
	CURLcode cc;
	int rc = 0;

	pthread_mutex_lock(&g->mu);
	if (g->token_gen != gen_seen)
		goto unlock; /* another thread refreshed it */
	if (!strncasecmp(challenge, "Basic", 5)) {
		if (!g->creds) {
			rc = pl_err_set(
				err, PL_EINVAL,
				"%s asks for a user name and password: set PLAIT_REGISTRY_AUTH=user:password "
				"or log in with a Docker config.json",
				g->what);
			goto unlock;
		}
		free(g->token);
		g->token = NULL; /* basic credentials go with every request */
		g->token_gen++;
		goto unlock;
	}
	if (strncasecmp(challenge, "Bearer", 6)) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: authentication scheme '%.40s' is not supported",
				g->what, challenge);
		goto unlock;
	}
	challenge_param(challenge, "realm", &realm);
	challenge_param(challenge, "service", &service);
	challenge_param(challenge, "scope", &scope);
	if (!realm.len) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: a bearer challenge without a realm: '%.200s'", g->what,
				challenge);
		goto unlock;
	}
	if (!scope.len)
		pl_buf_printf(&scope, "repository:%s:pull", g->ref->repository);
	pl_buf_add(&url, realm.ptr, realm.len);
	pl_buf_putc(&url, strchr(realm.ptr, '?') ? '&' : '?');
	if (service.len) {
		pl_buf_puts(&url, "service=");
		escape_into(&url, h, service.ptr);
		pl_buf_putc(&url, '&');
	}
	pl_buf_puts(&url, "scope=");
	escape_into(&url, h, scope.ptr);
	resp_init(&r);
	r.cap = 1 << 20;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.ptr);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "plait/" PLAIT_VERSION);
	if (g->creds) {
		curl_easy_setopt(h, CURLOPT_USERPWD, g->creds);
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	if (cc != CURLE_OK) {
		rc = pl_err_set(err, PL_EIO, "%s: getting a token from %s: %s", g->what, realm.ptr,
				curl_easy_strerror(cc));
	} else if (r.status == 401 || r.status == 403) {
		rc = pl_err_set(err, PL_EINVAL, "%s: the token server %s refused %s (HTTP %ld)%s", g->what,
				realm.ptr, g->creds ? "the credentials" : "anonymous access", r.status,
				g->creds ? "" : ": set PLAIT_REGISTRY_AUTH=user:password");
	} else if (r.status != 200) {
		rc = pl_err_set(err, PL_EIO, "%s: the token server %s answered HTTP %ld", g->what, realm.ptr,
				r.status);
	} else if ((rc = pl_json_parse(&j, r.body.ptr, r.body.len, "token response", err)) == 0) {
		tok = json_string_value(json_object_get(j, "token"));
		if (!tok)
			tok = json_string_value(json_object_get(j, "access_token"));
		if (!tok || !*tok) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: the token server's answer holds no token",
					g->what);
		} else {
			free(g->token);
			g->token = pl_xstrdup(tok);
			g->token_gen++;
		}
	}
	json_decref(j);
	resp_release(&r);
unlock:
	pthread_mutex_unlock(&g->mu);
	pl_buf_release(&realm);
	pl_buf_release(&service);
	pl_buf_release(&scope);
	pl_buf_release(&url);
	return rc;
}

/*
 * GET url with accept (or NULL) and the current credentials, the answer in
 * r; a 401 is answered once with new credentials from its challenge.
 * Transport errors come back as *cc (the caller decides whether to retry).
 */
static int http_get(CURLcode *cc, reg *g, CURL *h, const char *url, const char *accept, const char *range,
		    resp *r, pl_err *err)
{
	int attempt, rc;

	for (attempt = 0; attempt < 2; attempt++) {
		struct curl_slist *hdr = NULL;
		pl_buf line = PL_BUF_INIT;
		unsigned gen;

		pl_buf_reset(&r->body);
		r->started = false;
		r->h = h;
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
		/* a stalled transfer: under 1 byte/s for a minute */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, g);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "plait/" PLAIT_VERSION);
		if (accept) {
			pl_buf_printf(&line, "Accept: %s", accept);
			hdr = curl_slist_append(hdr, line.ptr);
		}
		if (range) {
			pl_buf_reset(&line);
			pl_buf_printf(&line, "Range: %s", range);
			hdr = curl_slist_append(hdr, line.ptr);
		}
		pthread_mutex_lock(&g->mu);
		gen = g->token_gen;
		if (g->token) {
			/* curl drops a custom Authorization header when a
			 * redirect leaves for another host (blob storage) */
			pl_buf_reset(&line);
			pl_buf_printf(&line, "Authorization: Bearer %s", g->token);
			hdr = curl_slist_append(hdr, line.ptr);
		} else if (g->creds && gen > 0) {
			curl_easy_setopt(h, CURLOPT_USERPWD, g->creds);
			curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		}
		pthread_mutex_unlock(&g->mu);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		*cc = curl_easy_perform(h);
		r->status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		curl_slist_free_all(hdr);
		pl_buf_release(&line);
		if (*cc == CURLE_ABORTED_BY_CALLBACK && img__cancelled(g->o))
			return pl_err_set(err, PL_ECANCELED, "%s: interrupted", g->what);
		if (*cc != CURLE_OK || r->status != 401 || attempt)
			return 0;
		if (!r->auth.len)
			return pl_err_set(err, PL_EINVAL, "%s: HTTP 401 without a WWW-Authenticate challenge",
					  g->what);
		if ((rc = fetch_token(g, h, r->auth.ptr, gen, err)) < 0)
			return rc;
	}
	return 0;
}

static const char *status_hint(long status)
{
	switch (status) {
	case 401:
	case 403: return " (access refused: check PLAIT_REGISTRY_AUTH or the Docker config.json)";
	case 404: return " (no such repository, tag or blob)";
	case 429: return " (rate limited: try again later, or log in)";
	default: return "";
	}
}

/* ---------------------------------------------------------------- documents */

static const char accept_manifests[] =
	IMG__MT_OCI_INDEX ", " IMG__MT_OCI_MANIFEST ", " IMG__MT_DOCKER_LIST ", " IMG__MT_DOCKER_MANIFEST;

/* A manifest or index by tag or digest, verified and stored; its digest in
 * digest. */
static int get_manifest(pl_buf *body, pl_buf *ctype, char *digest, reg *g, CURL *h, const char *ref,
			pl_err *err)
{
	pl_buf url = PL_BUF_INIT;
	resp r;
	CURLcode cc;
	int rc, tries;

	resp_init(&r);
	r.cap = IMG__MAX_MANIFEST;
	pl_buf_printf(&url, "%s/v2/%s/manifests/%s", g->base, g->ref->repository, ref);
	for (tries = 0;; tries++) {
		if ((rc = http_get(&cc, g, h, url.ptr, accept_manifests, NULL, &r, err)) < 0)
			goto done;
		if (cc == CURLE_OK || tries >= 2 || cc == CURLE_WRITE_ERROR)
			break;
		usleep(500000u << tries);
	}
	if (cc == CURLE_WRITE_ERROR) {
		rc = pl_err_set(err, PL_ELIMIT, "%s: manifest '%s' is larger than %u bytes", g->what, ref,
				IMG__MAX_MANIFEST);
		goto done;
	}
	if (cc != CURLE_OK) {
		rc = pl_err_set(err, PL_EIO, "%s: fetching manifest '%s' from %s: %s", g->what, ref, g->base,
				curl_easy_strerror(cc));
		goto done;
	}
	if (r.status != 200) {
		rc = pl_err_set(err, r.status == 404 ? PL_ENOTFOUND : PL_EIO, "%s: manifest '%s': HTTP %ld%s",
				g->what, ref, r.status, status_hint(r.status));
		goto done;
	}
	if ((rc = img__sha_buf(digest, r.body.ptr, r.body.len, err)) < 0)
		goto done;
	if (!strncmp(ref, "sha256:", 7) && strcmp(ref, digest)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: manifest %s came back with digest %s", g->what, ref,
				digest);
		goto done;
	}
	if (r.digest.len && !strncmp(r.digest.ptr, "sha256:", 7) && strcmp(r.digest.ptr, digest)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: manifest '%s' has digest %s, the registry says %s",
				g->what, ref, digest, r.digest.ptr);
		goto done;
	}
	if ((rc = img__blob_put(g->s, digest, r.body.ptr, r.body.len, err)) < 0)
		goto done;
	pl_buf_add(body, r.body.ptr, r.body.len);
	pl_buf_add(ctype, r.ctype.ptr, r.ctype.len);
done:
	resp_release(&r);
	pl_buf_release(&url);
	return rc;
}

/* ---------------------------------------------------------------- blobs */

static bool transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_BAD_CONTENT_ENCODING: return true;
	default: return false;
	}
}

/* Download one blob into the store (size: from its descriptor, 0 when
 * unknown).  The partial file survives failures and interruptions. */
static int fetch_blob(reg *g, CURL *h, const char *digest, uint64_t size, pl_err *err)
{
	pl_buf partial = PL_BUF_INIT, url = PL_BUF_INIT, name = PL_BUF_INIT, range = PL_BUF_INIT;
	char got[IMG__DIGEST_LEN + 1];
	img__sha sha = { NULL };
	uint64_t have = 0;
	struct stat st;
	resp r;
	int fd = -1, lockfd = -1, rc, attempts = 0;
	char *buf = NULL;

	resp_init(&r);
	pl_buf_printf(&name, "blob-%s", digest + 7);
	if ((rc = img__lock(&lockfd, g->s, name.ptr, err)) < 0)
		goto done;
	if (img__blob_has(g->s, digest))
		goto account;
	img__path(&partial, g->s, "tmp/sha256-%s.partial", digest + 7);
	if ((fd = open(partial.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || fstat(fd, &st) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "opening '%s'", partial.ptr);
		goto done;
	}
	if ((rc = img__sha_init(&sha, err)) < 0)
		goto done;
	/* what an earlier attempt left: hashed again, then continued */
	if (size && (uint64_t)st.st_size > size && ftruncate(fd, 0) == 0)
		st.st_size = 0;
	if (st.st_size > 0) {
		buf = pl_xmalloc(1 << 20);
		for (;;) {
			ssize_t n = read(fd, buf, 1 << 20);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = pl_err_sys(err, PL_EIO, "reading '%s'", partial.ptr);
				goto done;
			}
			if (n == 0)
				break;
			img__sha_update(&sha, buf, (size_t)n);
			have += (uint64_t)n;
		}
		pl_log_info(g->s->log, "%s: resuming %s at %llu of %llu bytes", g->what, digest,
			    (unsigned long long)have, (unsigned long long)size);
	}
	pthread_mutex_lock(&g->mu);
	g->done += have;
	pthread_mutex_unlock(&g->mu);
	pl_buf_printf(&url, "%s/v2/%s/blobs/%s", g->base, g->ref->repository, digest);
	for (;;) {
		uint64_t before = have;
		CURLcode cc;

		if (size && have == size)
			break;
		if (lseek(fd, (off_t)have, SEEK_SET) < 0) {
			rc = pl_err_sys(err, PL_EIO, "seeking in '%s'", partial.ptr);
			goto done;
		}
		pl_buf_reset(&range);
		if (have)
			pl_buf_printf(&range, "bytes=%llu-", (unsigned long long)have);
		r.fd = fd;
		r.sha = &sha;
		r.have = &have;
		r.start = have;
		r.g = g;
		r.item = digest;
		r.werr = err;
		r.restart = false;
		r.status = 0;
		pl_buf_reset(&r.crange);
		if ((rc = http_get(&cc, g, h, url.ptr, NULL, have ? range.ptr : NULL, &r, err)) < 0)
			goto done;
		if (cc == CURLE_WRITE_ERROR && err && err->code) {
			rc = err->code;
			goto done;
		}
		if (cc == CURLE_OK && (r.status == 200 || r.status == 206))
			break;
		if (cc == CURLE_OK && r.status == 416 && size && have >= size)
			break;
		if (cc == CURLE_OK && r.status == 416) {
			/* the server cannot continue from here: start over */
			if (ftruncate(fd, 0) < 0) {
				rc = pl_err_sys(err, PL_EIO, "truncating '%s'", partial.ptr);
				goto done;
			}
			img__sha_release(&sha);
			if ((rc = img__sha_init(&sha, err)) < 0)
				goto done;
			pthread_mutex_lock(&g->mu);
			g->done -= have;
			pthread_mutex_unlock(&g->mu);
			have = 0;
			if (++attempts >= MAX_ATTEMPTS)
				goto failed_status;
			continue;
		}
		if (cc == CURLE_OK)
			goto failed_status;
		if (!transient(cc) || (have == before && ++attempts >= MAX_ATTEMPTS)) {
			rc = pl_err_set(
				err, PL_EIO,
				"%s: downloading %s: %s after %llu of %llu bytes; run the same pull again to "
				"resume",
				g->what, digest, curl_easy_strerror(cc), (unsigned long long)have,
				(unsigned long long)size);
			goto done;
		}
		if (have > before) {
			attempts = 0;
			pl_log_info(g->s->log, "%s: connection lost during %s at %llu bytes; resuming",
				    g->what, digest, (unsigned long long)have);
		} else {
			usleep(250000u << attempts);
		}
	}
	img__sha_final(&sha, got);
	if ((size && have != size) || strcmp(got, digest)) {
		ftruncate(fd, 0);
		rc = pl_err_set(err, PL_EFORMAT,
				"%s: blob %s arrived with %llu bytes and digest %s; it was discarded",
				g->what, digest, (unsigned long long)have, got);
		goto done;
	}
	if (fsync(fd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "fsync '%s'", partial.ptr);
		goto done;
	}
	close(fd);
	fd = -1;
	if ((rc = img__blob_commit(g->s, partial.ptr, digest, err)) < 0)
		goto done;
	goto account;
failed_status:
	rc = pl_err_set(err, r.status == 404 ? PL_ENOTFOUND : PL_EIO, "%s: blob %s: HTTP %ld%s", g->what,
			digest, r.status, status_hint(r.status));
	goto done;
account:
	pthread_mutex_lock(&g->mu);
	g->items_done++;
	report(g, digest, true);
	pthread_mutex_unlock(&g->mu);
done:
	if (fd >= 0)
		close(fd);
	img__unlock(lockfd);
	img__sha_release(&sha);
	free(buf);
	resp_release(&r);
	pl_buf_release(&partial);
	pl_buf_release(&url);
	pl_buf_release(&name);
	pl_buf_release(&range);
	return rc;
}

/* ---------------------------------------------------------------- parallel downloads */

typedef struct job {
	const char *digest;
	uint64_t size;
} job;

typedef struct pool {
	reg *g;
	job *jobs;
	size_t njobs, next;
	pthread_mutex_t mu;
	int rc;	    /* first failure */
	pl_err err; /* its message */
} pool;

static void *worker(void *arg)
{
	pool *p = arg;
	CURL *h = curl_easy_init();

	for (;;) {
		pl_err e = { 0, "" };
		size_t k;
		int rc;

		pthread_mutex_lock(&p->mu);
		if (p->rc < 0 || p->next == p->njobs) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		k = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (!h)
			rc = pl_err_set(&e, PL_ENOMEM, "creating a libcurl handle");
		else
			rc = fetch_blob(p->g, h, p->jobs[k].digest, p->jobs[k].size, &e);
		if (rc < 0) {
			pthread_mutex_lock(&p->mu);
			if (p->rc == 0) {
				p->rc = rc;
				p->err = e;
			}
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}

static int fetch_all(reg *g, job *jobs, size_t n, pl_err *err)
{
	pool p;
	pthread_t th[16];
	int want = g->o && g->o->jobs > 0 ? g->o->jobs : 4, started = 0, i;

	memset(&p, 0, sizeof(p));
	p.g = g;
	p.jobs = jobs;
	p.njobs = n;
	pthread_mutex_init(&p.mu, NULL);
	if (want > 16)
		want = 16;
	if ((size_t)want > n)
		want = (int)n;
	for (i = 0; i < want; i++)
		if (pthread_create(&th[started], NULL, worker, &p) == 0)
			started++;
	if (!started && n)
		worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.rc < 0)
		return pl_err_set(err, p.rc, "%s", p.err.msg);
	return 0;
}

/* ---------------------------------------------------------------- the whole pull */

static bool loopback(const char *host)
{
	return !strncmp(host, "localhost", 9) || !strncmp(host, "127.", 4) || !strncmp(host, "[::1]", 5);
}

int img__registry_fetch(img_image *im, img_store *s, const img_ref *ref, const img_opts *o, pl_err *err)
{
	reg g;
	CURL *h = NULL;
	pl_buf body = PL_BUF_INIT, ctype = PL_BUF_INIT, what = PL_BUF_INIT;
	char mdigest[IMG__DIGEST_LEN + 1];
	img__desc *descs = NULL;
	size_t ndescs = 0, i, nj = 0;
	job *jobs = NULL;
	bool is_index = false;
	uint64_t csize = 0;
	int rc;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	if ((rc = img__curl_load(err)) < 0)
		goto done;
	g.s = s;
	g.ref = ref;
	g.o = o;
	g.platform = o && o->platform ? o->platform : "linux/amd64";
	pl_buf_printf(&what, "%s/%s", ref->registry, ref->repository);
	g.what = pl_buf_detach(&what, NULL);
	pl_buf_printf(&what, "%s://%s", (o && o->insecure) || loopback(ref->registry) ? "http" : "https",
		      !strcmp(ref->registry, "docker.io") ? "registry-1.docker.io" : ref->registry);
	g.base = pl_buf_detach(&what, NULL);
	g.creds = find_creds(ref->registry, s->log);
	if (!(h = curl_easy_init())) {
		rc = pl_err_set(err, PL_ENOMEM, "creating a libcurl handle");
		goto done;
	}
	report(&g, NULL, true);
	if ((rc = get_manifest(&body, &ctype, mdigest, &g, h, ref->digest ? ref->digest : ref->tag, err)) <
		    0 ||
	    (rc = img__index_parse(&is_index, &descs, &ndescs, body.ptr, body.len, ctype.ptr, g.what, err)) <
		    0)
		goto done;
	if (is_index) {
		const img__desc *d = img__index_pick(descs, ndescs, g.platform, g.what, err);

		if (!d) {
			rc = err ? err->code : PL_ENOTFOUND;
			goto done;
		}
		pl_buf_reset(&body);
		pl_buf_reset(&ctype);
		if ((rc = get_manifest(&body, &ctype, mdigest, &g, h, d->digest, err)) < 0)
			goto done;
	}
	if ((rc = img__manifest_parse(im, &csize, body.ptr, body.len, g.what, err)) < 0)
		goto done;
	im->digest = pl_xstrdup(mdigest);
	im->source = pl_xstrdup("registry");
	/* the config, then the layers the store lacks */
	jobs = pl_xcalloc(im->nlayers + 1, sizeof(*jobs));
	if (!img__blob_has(s, im->config_digest)) {
		jobs[nj].digest = im->config_digest;
		jobs[nj++].size = csize;
		g.total += csize;
	}
	for (i = 0; i < im->nlayers; i++) {
		size_t k;
		bool dup = false;

		for (k = 0; k < nj; k++)
			dup |= !strcmp(jobs[k].digest, im->layers[i].digest);
		if (dup || img__blob_has(s, im->layers[i].digest))
			continue;
		jobs[nj].digest = im->layers[i].digest;
		jobs[nj++].size = im->layers[i].size;
		g.total += im->layers[i].size;
	}
	g.items_total = (unsigned)nj;
	if (nj && (rc = fetch_all(&g, jobs, nj, err)) < 0)
		goto done;
	pl_buf_reset(&body);
	if ((rc = img__blob_read(&body, s, im->config_digest, IMG__MAX_MANIFEST, err)) < 0 ||
	    (rc = img__config_parse(im, body.ptr, body.len, g.what, err)) < 0)
		goto done;
done:
	if (h)
		curl_easy_cleanup(h);
	img__descs_free(descs, ndescs);
	free(jobs);
	free(g.base);
	free(g.what);
	free(g.token);
	if (g.creds) {
		memset(g.creds, 0, strlen(g.creds));
		free(g.creds);
	}
	pthread_mutex_destroy(&g.mu);
	pl_buf_release(&body);
	pl_buf_release(&ctype);
	pl_buf_release(&what);
	return rc;
}
