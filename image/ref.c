/* ref.c - image references taken apart and spelled back, Docker's way
 * (distribution/reference: a domain is a first component with '.' or ':'
 * or "localhost"; docker.io's official images live under library/). */
#include "image/internal.h"

#include <ctype.h>
#include <string.h>

void img_ref_release(img_ref *r)
{
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

/* Path components: [a-z0-9]+ joined by '.', '_', "__" or runs of '-'. */
static bool component_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0])))
		return false;
	if (!isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (islower(c) || isdigit(c))
			continue;
		if (c != '.' && c != '_' && c != '-')
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

static bool tag_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (!n || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

static bool domain_ok(const char *d, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

int img_ref_parse(img_ref *out, const char *s, pl_err *err)
{
	img_ref r = { NULL, NULL, NULL, NULL };
	const char *at, *name_end, *slash, *p, *colon;
	char *name = NULL;
	size_t n;
	int rc = 0;

	if (!s || !*s)
		return pl_err_set(err, PL_EINVAL, "empty image reference");
	if (strlen(s) > 1024)
		return pl_err_set(err, PL_EINVAL, "image reference '%.60s...' is longer than 1024 bytes", s);
	at = strchr(s, '@');
	if (at) {
		r.digest = pl_xstrdup(at + 1);
		if ((rc = img__digest_check(r.digest, "image reference", err)) < 0) {
			pl_err_prefix(err, "'%s'", s);
			goto done;
		}
	}
	name_end = at ? at : s + strlen(s);
	/* a tag follows the last ':' that comes after the last '/' */
	slash = NULL;
	for (p = s; p < name_end; p++)
		if (*p == '/')
			slash = p;
	colon = NULL;
	for (p = slash ? slash : s; p < name_end; p++)
		if (*p == ':')
			colon = p;
	if (colon) {
		r.tag = pl_xstrndup(colon + 1, (size_t)(name_end - colon - 1));
		if (!tag_ok(r.tag)) {
			rc = pl_err_set(
				err, PL_EINVAL,
				"image reference '%s': tag '%s' is not valid ([A-Za-z0-9_.-], at most 128)",
				s, r.tag);
			goto done;
		}
		name_end = colon;
	}
	name = pl_xstrndup(s, (size_t)(name_end - s));
	slash = strchr(name, '/');
	if (slash &&
	    (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
	     ((size_t)(slash - name) == 9 && !strncmp(name, "localhost", 9)) ||
	     (name[0] == '[' && memchr(name, ']', (size_t)(slash - name))))) {
		if (!domain_ok(name, (size_t)(slash - name))) {
			rc = pl_err_set(err, PL_EINVAL,
					"image reference '%s': registry '%.*s' is not a host name", s,
					(int)(slash - name), name);
			goto done;
		}
		r.registry = pl_xstrndup(name, (size_t)(slash - name));
		r.repository = pl_xstrdup(slash + 1);
	} else {
		r.registry = pl_xstrdup("docker.io");
		if (!slash) {
			pl_buf b = PL_BUF_INIT;

			pl_buf_printf(&b, "library/%s", name);
			r.repository = pl_buf_detach(&b, NULL);
		} else {
			r.repository = pl_xstrdup(name);
		}
	}
	if (!strcmp(r.registry, "index.docker.io") || !strcmp(r.registry, "registry-1.docker.io")) {
		free(r.registry);
		r.registry = pl_xstrdup("docker.io");
	}
	/* each path component */
	for (p = r.repository;;) {
		const char *e = strchr(p, '/');

		n = e ? (size_t)(e - p) : strlen(p);
		if (!component_ok(p, n)) {
			rc = pl_err_set(
				err, PL_EINVAL,
				"image reference '%s': repository '%s' is not valid (lower-case letters, "
				"digits and . _ - between them, components joined by /)",
				s, r.repository);
			goto done;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (strlen(r.repository) > 255) {
		rc = pl_err_set(err, PL_EINVAL, "image reference '%s': repository longer than 255 bytes", s);
		goto done;
	}
	if (!r.tag && !r.digest)
		r.tag = pl_xstrdup("latest");
	*out = r;
	memset(&r, 0, sizeof(r));
done:
	free(name);
	img_ref_release(&r);
	return rc;
}

void img_ref_format(pl_buf *out, const img_ref *r)
{
	pl_buf_printf(out, "%s/%s", r->registry, r->repository);
	if (r->tag)
		pl_buf_printf(out, ":%s", r->tag);
	if (r->digest)
		pl_buf_printf(out, "@%s", r->digest);
}

int img__ref_canonical(pl_buf *out, const char *s, pl_err *err)
{
	img_ref r;
	int rc;

	if ((rc = img_ref_parse(&r, s, err)) < 0)
		return rc;
	img_ref_format(out, &r);
	img_ref_release(&r);
	return 0;
}

void img__ref_key(pl_buf *out, const char *canonical)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)canonical; *p; p++) {
		if (isalnum(*p) || *p == '.' || *p == '_' || *p == '-') {
			pl_buf_putc(out, (char)*p);
		} else {
			pl_buf_putc(out, '%');
			pl_buf_putc(out, hex[*p >> 4]);
			pl_buf_putc(out, hex[*p & 15]);
		}
	}
}
