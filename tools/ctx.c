/* ctx.c - the tool context: the repository root, its git repository and
 * base commit, the options, and the state each tool keeps between calls. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tools_ctx_new(tools_ctx **out, const char *root, const tools_ctx_opts *opts, pl_err *err)
{
	tools_ctx *c;
	char real[PATH_MAX];
	int rc = 0;

	if (!realpath(root, real))
		return pl_err_sys(err, PL_ENOTFOUND, "repository root '%s'", root);
	if (!pl_dir_exists(real))
		return pl_err_set(err, PL_EINVAL, "repository root '%s' is not a directory", root);
	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	c = pl_xcalloc(1, sizeof(*c));
	c->root = pl_xstrdup(real);
	if ((c->rootfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = pl_err_sys(err, PL_EIO, "repository root '%s'", root);
		goto done;
	}
	c->max_output = opts && opts->max_output ? opts->max_output : 16000;
	c->log = opts ? opts->log : NULL;
	c->cancel = opts ? opts->cancel : NULL;
	c->search_seconds = TOOLS__SEARCH_SECONDS;
	c->allow_empty_submit = opts && opts->allow_empty_submit;
	/* Files changed from now on count as this session's. File times come
	 * from the kernel's coarse clock, which lags the fine one, and some file
	 * systems keep whole seconds only (ext4 with small inodes, FAT): the
	 * start of the current second is earlier than any time a later change
	 * can carry. A file changed in the same second before the session is
	 * taken for the session's, which only adds a name to a note. */
	clock_gettime(CLOCK_REALTIME, &c->opened);
	c->opened.tv_nsec = 0;
	if (opts && opts->sandbox_profile)
		c->sandbox_profile = pl_xstrdup(opts->sandbox_profile);
	if (git_repository_open_ext(&c->repo, real, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		git_object *obj = NULL;
		if ((rc = tools__git_check_dir(c->repo, real, err)) < 0)
			goto done;
		const char *base = opts && opts->base ? opts->base : "HEAD";
		tools__git_default_ignores(c->repo);
		if (git_revparse_single(&obj, c->repo, base) == 0) {
			git_object *commit = NULL;
			if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0) {
				git_oid_tostr(c->base, sizeof(c->base), git_object_id(commit));
				git_object_free(commit);
			} else if (git_object_peel(&commit, obj, GIT_OBJECT_TREE) == 0) {
				/* a snapshot of the working tree (tools_git_snapshot) */
				git_oid_tostr(c->base, sizeof(c->base), git_object_id(commit));
				c->base_is_tree = true;
				git_object_free(commit);
			} else if (opts && opts->base) {
				git_object_free(obj);
				rc = pl_err_set(err, PL_EINVAL, "'%s' names neither a commit nor a tree", opts->base);
				goto done;
			}
			git_object_free(obj);
		} else if (opts && opts->base) {
			rc = tools__git_error(err, PL_ENOTFOUND, opts->base);
			goto done;
		}
		{
			char g[PATH_MAX];
			const char *cd = git_repository_commondir(c->repo);

			/* libgit2 gives them with a trailing slash */
			if (realpath(git_repository_path(c->repo), g))
				c->gitdir = pl_xstrdup(g);
			if (cd && realpath(cd, g))
				c->commondir = pl_xstrdup(g);
		}
		if (opts && opts->cache_dir)
			c->cache_dir = pl_xstrdup(opts->cache_dir);
		else {
			pl_buf b = PL_BUF_INIT;
			pl_path_join(&b, git_repository_path(c->repo), "plait-cache");
			c->cache_dir = pl_buf_detach(&b, NULL);
		}
	} else {
		c->repo = NULL;
		if (opts && opts->cache_dir)
			c->cache_dir = pl_xstrdup(opts->cache_dir);
	}
done:
	if (rc < 0) {
		tools_ctx_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void tools_ctx_free(tools_ctx *ctx)
{
	if (!ctx)
		return;
	/* each tool's state (the shell session among them) before the
	 * repository and libgit2 it may still use */
	tools__state_release_all(ctx);
	git_repository_free(ctx->repo);
	git_libgit2_shutdown();
	free(ctx->sandbox_profile);
	free(ctx->cache_dir);
	free(ctx->gitdir);
	free(ctx->commondir);
	free(ctx->root);
	if (ctx->rootfd >= 0)
		close(ctx->rootfd);
	free(ctx);
}

const char *tools_ctx_root(const tools_ctx *ctx)
{
	return ctx->root;
}

const char *tools_ctx_base(const tools_ctx *ctx)
{
	return ctx->base;
}
