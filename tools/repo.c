/* repo.c - repositories opened through libgit2, with its init and
 * shutdown paired around each use; libgit2's last error as a message. */
#include "tools/internal.h"

int tools__git_error(pl_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return pl_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

void tools__git_default_ignores(git_repository *repo)
{
	/* Byte-code and test-runner caches: a command the agent runs writes
	 * them, and no patch wants them, whatever the project's .gitignore
	 * says.  These rules live in this repository object only; they
	 * change nothing on disk, and tracked files stay tracked. */
	git_ignore_add_rule(repo, "__pycache__/\n*.py[cod]\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n");
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
	tools__git_default_ignores(*out);
	return 0;
}

void tools__git_close(git_repository *repo)
{
	if (!repo)
		return;
	git_repository_free(repo);
	git_libgit2_shutdown();
}
