/* files.c - the file list the search and code tools look at: what git
 * shows (tracked files and untracked ones that are not ignored), or every
 * non-hidden file of a plain directory. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct strvec {
	char **v;
	size_t n, cap;
} strvec;

static void sv_push(strvec *s, char *p)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = pl_xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool under(const char *path, const char *sub)
{
	size_t n = strlen(sub);

	return !*sub || !strcmp(sub, ".") || (!strncmp(path, sub, n) && (path[n] == '/' || !path[n]));
}

/* A directory of the walk, opened beneath its parent without following a
 * symlink (one swapped in since readdir typed the entry leads nowhere). */
static DIR *open_dir(int dirfd, const char *path)
{
	int fd = tools__open_at(dirfd, path, O_RDONLY | O_DIRECTORY, TOOLS__NO_SYMLINKS);
	DIR *d;

	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd)))
		close(fd);
	return d;
}

static void walk_plain(strvec *out, int rootfd, const char *rel)
{
	DIR *d = open_dir(rootfd, *rel ? rel : ".");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		pl_buf r = PL_BUF_INIT;
		if (e->d_name[0] == '.')
			continue;
		if (*rel)
			pl_path_join(&r, rel, e->d_name);
		else
			pl_buf_puts(&r, e->d_name);
		if (e->d_type == DT_DIR)
			walk_plain(out, rootfd, r.ptr);
		else if (e->d_type == DT_REG || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN)
			sv_push(out, pl_buf_detach(&r, NULL));
		pl_buf_release(&r);
	}
	closedir(d);
}

static bool is_tracked(char *const *tracked, size_t n, const char *path)
{
	return bsearch(&path, tracked, n, sizeof(char *), cmp_str) != NULL;
}

static bool git_ignored(git_repository *repo, const char *rel)
{
	int ign = 0;

	return git_ignore_path_is_ignored(&ign, repo, rel) == 0 && ign;
}

/* Untracked files that git does not ignore, at or below rel ("" for the
 * whole tree): a readdir walk that stats nothing it can type from the
 * directory entry and asks libgit2 about ignore rules only for paths the
 * index does not hold and for directories, which it prunes when ignored.
 * git_status_list_new would also compare every tracked file with the index
 * (a stat each, a read when the stat looks racy): on /usr/include in git
 * that was more than half of a search's time.  Nested repositories and
 * submodule checkouts (a directory with a .git) are not entered, as git
 * does not list their files. */
static void walk_untracked(strvec *out, git_repository *repo, int rootfd, const char *rel, char *const *tracked,
			   size_t ntracked)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;

	/* one open: a directory, else rel names one file (a symlink itself
	 * is listed, as git lists it) */
	fd = tools__open_at(rootfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY, TOOLS__NO_SYMLINKS);
	if (fd < 0) {
		if ((fd == -ENOTDIR || fd == -ELOOP) && *rel && !is_tracked(tracked, ntracked, rel) &&
		    !git_ignored(repo, rel))
			sv_push(out, pl_xstrdup(rel));
		return;
	}
	if (*rel && (fstatat(fd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0 || git_ignored(repo, rel))) {
		close(fd);
		return;
	}
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		pl_buf r = PL_BUF_INIT;
		unsigned char type = e->d_type;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (!*rel && !strcmp(e->d_name, ".git")))
			continue;
		if (*rel)
			pl_path_join(&r, rel, e->d_name);
		else
			pl_buf_puts(&r, e->d_name);
		if (type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
			       : S_ISLNK(st.st_mode) ? DT_LNK
						     : DT_UNKNOWN;
		if (type == DT_DIR)
			walk_untracked(out, repo, rootfd, r.ptr, tracked, ntracked);
		else if ((type == DT_REG || type == DT_LNK) && !is_tracked(tracked, ntracked, r.ptr) &&
			 !git_ignored(repo, r.ptr))
			sv_push(out, pl_buf_detach(&r, NULL));
		pl_buf_release(&r);
	}
	closedir(d);
}

int tools__list_files(char ***out, size_t *count, const tools_ctx *ctx, const char *sub, pl_err *err)
{
	strvec s = { 0 };
	size_t i, j;

	if (!ctx->repo) {
		walk_plain(&s, ctx->rootfd, sub && strcmp(sub, ".") ? sub : "");
	} else {
		git_index *idx = NULL;
		char **tracked;
		size_t n, ntracked;

		if (git_repository_index(&idx, ctx->repo) < 0)
			return tools__git_error(err, PL_EIO, "index");
		git_index_read(idx, false);
		n = git_index_entrycount(idx);
		for (i = 0; i < n; i++) {
			const git_index_entry *e = git_index_get_byindex(idx, i);
			if (e->mode == GIT_FILEMODE_COMMIT || git_index_entry_stage(e) > 1)
				continue;
			if (under(e->path, sub ? sub : ""))
				sv_push(&s, pl_xstrdup(e->path));
		}
		git_index_free(idx);
		/* The index lists tracked files in its own order; sorted, it
		 * answers "is this path tracked?" for the walk by bsearch. */
		if (s.n)
			qsort(s.v, s.n, sizeof(char *), cmp_str);
		ntracked = s.n;
		tracked = pl_xmalloc((ntracked ? ntracked : 1) * sizeof(char *));
		if (ntracked)
			memcpy(tracked, s.v, ntracked * sizeof(char *));
		walk_untracked(&s, ctx->repo, ctx->rootfd, sub && strcmp(sub, ".") ? sub : "", tracked, ntracked);
		free(tracked);
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(char *), cmp_str);
	for (i = j = 0; i < s.n; i++) {
		if (j && !strcmp(s.v[j - 1], s.v[i])) {
			free(s.v[i]);
			continue;
		}
		s.v[j++] = s.v[i];
	}
	*out = s.v;
	*count = j;
	return 0;
}

void tools__free_list(char **list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
}
