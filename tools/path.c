/* path.c - path arguments resolved inside the repository root. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
