/* repo.c - repositories opened through libgit2, with its init and
 * shutdown paired around each use; libgit2's last error as a message;
 * git directories that are the repository's own. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tools__git_error(pl_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return pl_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

void tools__git_default_ignores(git_repository *repo)
{
	/* Byte-code, test-runner and coverage caches, test environments,
	 * packaging metadata and installed npm packages: a command the agent
	 * runs writes them (pytest, coverage, tox, pip install -e, npm
	 * install), and no patch wants them, whatever the project's
	 * .gitignore says.  build/, dist/ and target/ are not among them:
	 * some projects keep sources there.  These rules live in this
	 * repository object only; they change nothing on disk, and tracked
	 * files stay tracked. */
	git_ignore_add_rule(repo, "__pycache__/\n*.py[cod]\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n"
				  ".hypothesis/\n.coverage\n.coverage.*\nhtmlcov/\n.tox/\n.nox/\n*.egg-info/\n.eggs/\n"
				  "node_modules/\n");
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* Does the file at path (a line holding a path, relative to base when not
 * absolute) name `want` once resolved? */
static bool names_back(const char *path, const char *base, const char *want)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	char real[PATH_MAX];
	bool ok = false;

	if (pl_file_read(&b, path, 4096, NULL) == 0) {
		while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
			pl_buf_setlen(&b, b.len - 1);
		if (b.ptr[0] == '/')
			pl_buf_puts(&p, b.ptr);
		else
			pl_path_join(&p, base, b.ptr);
		ok = b.len && realpath(p.ptr, real) && !strcmp(real, want);
	}
	pl_buf_release(&b);
	pl_buf_release(&p);
	return ok;
}

/* core.worktree in the [core] section of the git directory's config,
 * resolved against it, is `want`: a submodule's absorbed git directory
 * names its checkout so. */
static bool config_worktree_is(const char *gitdir, const char *want)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	char *line, *save = NULL, real[PATH_MAX];
	bool core = false, ok = false;

	pl_path_join(&p, gitdir, "config");
	if (pl_file_read(&b, p.ptr, 1 << 20, NULL) < 0)
		goto done;
	for (line = strtok_r(b.ptr, "\n", &save); line && !ok; line = strtok_r(NULL, "\n", &save)) {
		char *k = line + strspn(line, " \t"), *v;
		if (*k == '[') {
			core = !strncasecmp(k, "[core]", 6);
			continue;
		}
		if (!core || strncasecmp(k, "worktree", 8) || !(v = strchr(k + 8, '=')) || strspn(k + 8, " \t") != (size_t)(v - k - 8))
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\r")] = 0;
		while (*v && (v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t'))
			v[strlen(v) - 1] = 0;
		pl_buf_reset(&p);
		if (*v == '/')
			pl_buf_puts(&p, v);
		else
			pl_path_join(&p, gitdir, v);
		ok = *v && realpath(p.ptr, real) && !strcmp(real, want);
	}
done:
	pl_buf_release(&b);
	pl_buf_release(&p);
	return ok;
}

int tools__git_check_dir(git_repository *repo, const char *root, pl_err *err)
{
	char real_root[PATH_MAX], gitdir[PATH_MAX];
	pl_buf dotgit = PL_BUF_INIT, back = PL_BUF_INIT;
	int rc = 0;

	if (!realpath(root, real_root) || !realpath(git_repository_path(repo), gitdir))
		return pl_err_sys(err, PL_EIO, "repository '%s'", root);
	if (under(gitdir, real_root))
		return 0;
	/* A linked worktree: git wrote the path of its .git file into the
	 * worktree's git directory; a submodule: core.worktree. */
	pl_path_join(&dotgit, real_root, ".git");
	pl_path_join(&back, gitdir, "gitdir");
	if (!names_back(back.ptr, gitdir, dotgit.ptr) && !config_worktree_is(gitdir, real_root))
		rc = pl_err_set(err, PL_EINVAL,
				"repository '%s': its .git leads to '%s', outside the repository, and that git directory does "
				"not name this one as its worktree; plait does not read a foreign repository (a .git file or "
				"symlink planted in the tree makes one)",
				root, gitdir);
	pl_buf_release(&dotgit);
	pl_buf_release(&back);
	return rc;
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
	if ((rc = tools__git_check_dir(*out, path, err)) < 0) {
		tools__git_close(*out);
		*out = NULL;
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
