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

/* Does the sorted list hold a path under directory dir ("a/b": "a/b/...")? */
static bool has_tracked_under(char *const *tracked, size_t n, const char *dir)
{
	size_t lo = 0, hi = n, len = strlen(dir);

	while (lo < hi) { /* the first entry not below dir + "/" */
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(tracked[mid], dir, len);
		if (c < 0 || (c == 0 && (unsigned char)tracked[mid][len] < '/'))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strncmp(tracked[lo], dir, len) && tracked[lo][len] == '/';
}

/* A directory of the walk and whether git ignores it, asked of libgit2
 * only when an answer is needed (IGN_UNKNOWN until then).  The parent's
 * answer comes first: inside an ignored directory everything is, as git
 * does (a rule like !keep.log cannot bring a file back from one). */
enum { IGN_UNKNOWN, IGN_NO, IGN_YES };
typedef struct walk_dir {
	struct walk_dir *parent; /* NULL for the walk's start */
	const char *rel;         /* "" for the repository's root */
	int ignored;
} walk_dir;

static bool dir_ignored(git_repository *repo, walk_dir *d)
{
	if (d->ignored == IGN_UNKNOWN) {
		if (d->parent && dir_ignored(repo, d->parent))
			d->ignored = IGN_YES;
		else if (!*d->rel)
			d->ignored = IGN_NO;
		else {
			pl_buf probe = PL_BUF_INIT;
			pl_buf_printf(&probe, "%s/", d->rel);
			d->ignored = git_ignored(repo, probe.ptr) ? IGN_YES : IGN_NO;
			pl_buf_release(&probe);
		}
	}
	return d->ignored == IGN_YES;
}

/* Untracked files that git does not ignore in the directory d (open at
 * fd, which this closes) and below: a readdir walk that stats nothing it
 * can type from the directory entry and asks libgit2 only about paths the
 * index does not hold.  A directory without tracked files is asked about
 * (and pruned when ignored) and not entered when it holds a .git (a
 * nested repository or a submodule's checkout: git does not list their
 * files); one with tracked files is entered as git does, and asked about
 * only when an untracked file turns up in it.  Each libgit2 question
 * costs a stat of every .gitignore from the root down, so asking it of
 * every directory (as the walk did) was 8,700 stats for one list of
 * /usr/include, where every directory holds tracked files.
 * git_status_list_new would also compare every tracked file with the
 * index (a stat each, a read when the stat looks racy): on /usr/include
 * in git that was more than half of a search's time. */
static void walk_dir_untracked(strvec *out, git_repository *repo, int rootfd, int fd, walk_dir *d,
			       char *const *tracked, size_t ntracked)
{
	struct dirent *e;
	DIR *dir;

	if (!(dir = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((e = readdir(dir))) {
		pl_buf r = PL_BUF_INIT;
		unsigned char type = e->d_type;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (!*d->rel && !strcmp(e->d_name, ".git")))
			continue;
		if (*d->rel)
			pl_path_join(&r, d->rel, e->d_name);
		else
			pl_buf_puts(&r, e->d_name);
		if (type == DT_UNKNOWN && fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
			       : S_ISLNK(st.st_mode) ? DT_LNK
						     : DT_UNKNOWN;
		if (type == DT_DIR) {
			walk_dir sub = { d, r.ptr, IGN_UNKNOWN };
			bool untracked = !has_tracked_under(tracked, ntracked, r.ptr);
			/* opened beneath the root without following a symlink (one
			 * swapped in since readdir typed the entry leads nowhere) */
			int sfd = tools__open_at(rootfd, r.ptr, O_RDONLY | O_DIRECTORY, TOOLS__NO_SYMLINKS);
			if (sfd >= 0) {
				if (untracked && (fstatat(sfd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0 || dir_ignored(repo, &sub)))
					close(sfd);
				else
					walk_dir_untracked(out, repo, rootfd, sfd, &sub, tracked, ntracked);
			}
		} else if ((type == DT_REG || type == DT_LNK) && !is_tracked(tracked, ntracked, r.ptr) &&
			   !dir_ignored(repo, d) && !git_ignored(repo, r.ptr))
			sv_push(out, pl_buf_detach(&r, NULL));
		pl_buf_release(&r);
	}
	closedir(dir);
}

/* The walk from rel ("" for the whole tree, or a directory or file). */
static void walk_untracked(strvec *out, git_repository *repo, int rootfd, const char *rel, char *const *tracked,
			   size_t ntracked)
{
	walk_dir top = { NULL, rel, IGN_NO };
	struct stat st;
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
	walk_dir_untracked(out, repo, rootfd, fd, &top, tracked, ntracked);
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
