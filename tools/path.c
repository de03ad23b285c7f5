/* path.c - path arguments resolved inside the repository root. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tools__resolve(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err)
{
	pl_buf full = PL_BUF_INIT, norm = PL_BUF_INIT;
	const char *p, *seg;
	size_t rootlen = strlen(ctx->root);
	char real[PATH_MAX];
	int rc = 0;

	if (!*path)
		return pl_err_set(err, PL_EINVAL, "argument 'path' is empty; give a path relative to the repository root");
	if (path[0] == '/')
		pl_buf_puts(&full, path);
	else
		pl_path_join(&full, ctx->root, path);
	/* Normalise lexically: "." and ".." segments, repeated slashes. */
	for (p = full.ptr; *p;) {
		size_t n;
		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (!n || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = strrchr(norm.ptr, '/');
			pl_buf_setlen(&norm, slash ? (size_t)(slash - norm.ptr) : 0);
			continue;
		}
		pl_buf_putc(&norm, '/');
		pl_buf_add(&norm, seg, n);
	}
	if (!norm.len)
		pl_buf_putc(&norm, '/');
	if (strncmp(norm.ptr, ctx->root, rootlen) || (norm.ptr[rootlen] && norm.ptr[rootlen] != '/')) {
		rc = pl_err_set(err, PL_EINVAL, "path '%s' is outside the repository (%s)", path, ctx->root);
		goto done;
	}
	/* The longest existing prefix must resolve inside the root too, so a
	 * symlink cannot carry an edit out of the repository. */
	{
		pl_buf probe = PL_BUF_INIT;
		pl_buf_add(&probe, norm.ptr, norm.len);
		for (;;) {
			if (realpath(probe.ptr, real)) {
				if (strncmp(real, ctx->root, rootlen) || (real[rootlen] && real[rootlen] != '/'))
					rc = pl_err_set(err, PL_EINVAL, "path '%s' leads outside the repository through a symlink", path);
				break;
			}
			char *slash = strrchr(probe.ptr, '/');
			if (!slash || (size_t)(slash - probe.ptr) <= rootlen)
				break;
			pl_buf_setlen(&probe, (size_t)(slash - probe.ptr));
		}
		pl_buf_release(&probe);
		if (rc < 0)
			goto done;
	}
	if (abs)
		pl_buf_add(abs, norm.ptr, norm.len);
	if (rel)
		pl_buf_puts(rel, norm.len > rootlen ? norm.ptr + rootlen + 1 : ".");
done:
	pl_buf_release(&full);
	pl_buf_release(&norm);
	return rc;
}

/* A path component named .git, in any case (what git itself refuses in a
 * tree, for case-insensitive file systems). */
static bool has_git_component(const char *p)
{
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 4 && !strncasecmp(p, ".git", 4))
			return true;
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}

static bool under(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	return n && !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* Where abs leads once the links of its existing part are resolved. */
static void real_target(pl_buf *out, const char *abs)
{
	pl_buf probe = PL_BUF_INIT;
	char real[PATH_MAX];

	pl_buf_puts(&probe, abs);
	for (;;) {
		char *slash;

		if (realpath(probe.ptr, real)) {
			pl_buf_puts(out, real);
			pl_buf_puts(out, abs + probe.len);
			break;
		}
		slash = strrchr(probe.ptr, '/');
		if (!slash || slash == probe.ptr) {
			pl_buf_puts(out, abs);
			break;
		}
		pl_buf_setlen(&probe, (size_t)(slash - probe.ptr));
	}
	pl_buf_release(&probe);
}

int tools__resolve_write(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err)
{
	pl_buf a = PL_BUF_INIT, r = PL_BUF_INIT, real = PL_BUF_INIT;
	size_t rootlen = strlen(ctx->root);
	int rc;

	if ((rc = tools__resolve(&a, &r, ctx, path, err)) < 0)
		goto done;
	real_target(&real, a.ptr);
	if (has_git_component(r.ptr) ||
	    (under(real.ptr, ctx->root) && has_git_component(real.ptr + rootlen)) || under(real.ptr, ctx->gitdir) ||
	    under(real.ptr, ctx->commondir)) {
		rc = pl_err_set(err, PL_EINVAL,
				"path '%s' is inside the repository's git directory: the editing tools do not write there, "
				"because git on this machine runs what it holds (hooks, core.fsmonitor in its config); "
				"change the project's files instead",
				path);
		goto done;
	}
	if (abs)
		pl_buf_add(abs, a.ptr, a.len);
	if (rel)
		pl_buf_add(rel, r.ptr, r.len);
done:
	pl_buf_release(&a);
	pl_buf_release(&r);
	pl_buf_release(&real);
	return rc;
}
