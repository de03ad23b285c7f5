/* repo.c - repositories opened through libgit2, with its init and
 * shutdown paired around each use; libgit2's last error as a message. */
#include "tools/internal.h"

int tools__git_error(pl_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return pl_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int tools__git_open(git_repository **out, const char *path, pl_err *err)
{
	int rc;

	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	if (git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		/* the message first: shutting down may clear it */
		rc = tools__git_error(err, PL_ENOTFOUND, path);
		git_libgit2_shutdown();
		return rc;
	}
	return 0;
}

void tools__git_close(git_repository *repo)
{
	if (!repo)
		return;
	git_repository_free(repo);
	git_libgit2_shutdown();
}
