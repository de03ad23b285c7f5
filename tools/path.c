/* path.c - path arguments resolved inside the repository root, and files
 * opened beneath it. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ------------------------------------------------------------ opening beneath a directory */

int tools__open_at(int dirfd, const char *path, int flags, int how)
{
	if (!(flags & O_PATH))
		flags |= O_NOCTTY | O_NONBLOCK;
	return pl_open_beneath(dirfd, path, flags, how == TOOLS__NO_SYMLINKS ? PL_OPEN_NO_SYMLINKS : PL_OPEN_BENEATH);
}

int tools__open(const tools_ctx *ctx, const char *rel, int flags, int how)
{
	return tools__open_at(ctx->rootfd, rel, flags, how);
}

/* ------------------------------------------------------------ where the editor writes */

/* The directory dir (relative, "" for rootfd itself) opened beneath
 * rootfd (`how` as tools__open_at); with mkdirs the missing ones are made
 * on the way, each by mkdirat in its parent as opened. */
static int open_dir_beneath(int rootfd, const char *dir, bool mkdirs, int how)
{
	pl_buf prefix = PL_BUF_INIT;
	const char *p = dir;
	int fd = tools__open_at(rootfd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY, how), cur;

	if (fd != -ENOENT || !mkdirs)
		return fd;
	if ((cur = tools__open_at(rootfd, ".", O_RDONLY | O_DIRECTORY, how)) < 0)
		return cur;
	while (*p) {
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];

		if (n > NAME_MAX) {
			close(cur);
			cur = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = 0;
		pl_buf_add(&prefix, p, n);
		fd = tools__open_at(rootfd, prefix.ptr, O_RDONLY | O_DIRECTORY, how);
		if (fd == -ENOENT && mkdirat(cur, name, 0755) < 0 && errno != EEXIST)
			fd = -errno;
		else if (fd == -ENOENT)
			fd = tools__open_at(rootfd, prefix.ptr, O_RDONLY | O_DIRECTORY, how);
		close(cur);
		cur = fd;
		if (cur < 0)
			break;
		p += n;
		while (*p == '/')
			p++;
		pl_buf_putc(&prefix, '/');
	}
	pl_buf_release(&prefix);
	return cur;
}

/* Where fd is, as the kernel has it; false when /proc cannot say. */
static bool fd_path(pl_buf *out, int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
		return false;
	pl_buf_add(out, target, (size_t)n);
	return true;
}

static int refuse_git(const char *path, pl_err *err)
{
	return pl_err_set(err, PL_EINVAL,
			  "path '%s' is inside the repository's git directory: the editing tools do not write there, "
			  "because git on this machine runs what it holds (hooks, core.fsmonitor in its config); "
			  "change the project's files instead",
			  path);
}

static int place_error(int code, const char *path, pl_err *err)
{
	if (code == -EXDEV || code == -ELOOP)
		return pl_err_set(err, PL_EINVAL, "path '%s' leads outside the repository through a symlink", path);
	if (code == -ENOTDIR)
		return pl_err_set(err, PL_EINVAL, "path '%s' goes through something that is not a directory", path);
	if (code == -ENOENT)
		return pl_err_set(err, PL_ENOTFOUND, "the directory of '%s' does not exist", path);
	return pl_err_set(err, PL_EIO, "'%s': %s", path, strerror(-code));
}

void tools__place_close(tools__place *pl)
{
	if (!pl)
		return;
	if (pl->dirfd >= 0)
		close(pl->dirfd);
	pl->dirfd = -1;
	pl_buf_release(&pl->name);
}

int tools__place_open(tools__place *out, const tools_ctx *ctx, const char *rel, bool mkdirs, pl_err *err)
{
	pl_buf dir = PL_BUF_INIT, real = PL_BUF_INIT;
	const char *slash;
	struct stat st;
	size_t rootlen = strlen(ctx->root);
	int rc = 0, round;

	out->dirfd = -1;
	pl_buf_init(&out->name, 0);
	pl_buf_puts(&real, rel);
	for (round = 0;; round++) {
		slash = strrchr(real.ptr, '/');
		pl_buf_reset(&dir);
		pl_buf_reset(&out->name);
		if (slash) {
			pl_buf_add(&dir, real.ptr, (size_t)(slash - real.ptr));
			pl_buf_puts(&out->name, slash + 1);
		} else
			pl_buf_puts(&out->name, real.ptr);
		if (!out->name.len || !strcmp(out->name.ptr, ".") || !strcmp(out->name.ptr, "..")) {
			rc = pl_err_set(err, PL_EINVAL, "'%s' is a directory; give a file path", rel);
			goto done;
		}
		if (out->dirfd >= 0)
			close(out->dirfd);
		out->dirfd = open_dir_beneath(ctx->rootfd, dir.ptr, mkdirs, TOOLS__BENEATH);
		if (out->dirfd == -ENOENT && !mkdirs)
			goto done; /* the caller makes the directories when it writes */
		if (out->dirfd < 0) {
			rc = place_error(out->dirfd, rel, err);
			goto done;
		}
		/* A symlink at the end: editing it edits its target, which
		 * must lie beneath the root too.  One round follows it; the
		 * target's own directory has none left, unless something
		 * swapped one in meanwhile, which is refused. */
		if (fstatat(out->dirfd, out->name.ptr, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
			break;
		{
			int fd = tools__open(ctx, real.ptr, O_PATH, TOOLS__BENEATH);
			pl_buf target = PL_BUF_INIT;

			if (fd == -ENOENT)
				break; /* a dangling link inside: written over, as a rename does */
			if (fd < 0) {
				rc = place_error(fd, rel, err);
				goto done;
			}
			if (round || !fd_path(&target, fd) || strncmp(target.ptr, ctx->root, rootlen) ||
			    target.ptr[rootlen] != '/') {
				close(fd);
				pl_buf_release(&target);
				rc = pl_err_set(err, PL_EINVAL, "path '%s' changed while it was being edited (a symlink on the way)",
						rel);
				goto done;
			}
			close(fd);
			pl_buf_reset(&real);
			pl_buf_puts(&real, target.ptr + rootlen + 1);
			pl_buf_release(&target);
		}
	}
	/* What the kernel opened, not what the names said: a directory
	 * swapped in after tools__resolve_write checked the path. */
	{
		pl_buf where = PL_BUF_INIT;

		if (fd_path(&where, out->dirfd)) {
			pl_buf_putc(&where, '/');
			pl_buf_add(&where, out->name.ptr, out->name.len);
			if (!under(where.ptr, ctx->root))
				rc = place_error(-EXDEV, rel, err);
			else if (has_git_component(where.ptr + rootlen) || under(where.ptr, ctx->gitdir) ||
				 under(where.ptr, ctx->commondir))
				rc = refuse_git(rel, err);
		}
		pl_buf_release(&where);
	}
done:
	if (rc < 0)
		tools__place_close(out);
	pl_buf_release(&dir);
	pl_buf_release(&real);
	return rc;
}

int tools__place_open_at(tools__place *out, int rootfd, const char *rel, bool mkdirs, pl_err *err)
{
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	pl_buf dir = PL_BUF_INIT;
	int rc = 0;

	out->dirfd = -1;
	pl_buf_init(&out->name, 0);
	if (has_git_component(rel))
		return refuse_git(rel, err);
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return pl_err_set(err, PL_EINVAL, "'%s' is a directory; give a file path", rel);
	if (slash)
		pl_buf_add(&dir, rel, (size_t)(slash - rel));
	out->dirfd = open_dir_beneath(rootfd, dir.ptr, mkdirs, TOOLS__NO_SYMLINKS);
	pl_buf_release(&dir);
	if (out->dirfd == -ENOENT && !mkdirs)
		return 0;
	if (out->dirfd < 0) {
		rc = place_error(out->dirfd, rel, err);
		out->dirfd = -1;
		return rc;
	}
	pl_buf_puts(&out->name, name);
	return 0;
}

int tools__write_at(int dirfd, const char *name, const void *data, size_t n, int mode, pl_err *err)
{
	char tmp[48];
	struct timespec ts;
	const char *p = data;
	int fd = -1, i, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < 64; i++) {
		snprintf(tmp, sizeof(tmp), ".plait-tmp-%d-%08lx", (int)getpid(),
			 (unsigned long)((uint64_t)ts.tv_nsec * 2654435761u + (uint64_t)i * 40503u) & 0xffffffffu);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return pl_err_sys(err, PL_EIO, "cannot create a temporary file next to '%s'", name);
	if (fchmod(fd, (mode_t)mode) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", name);
		goto done;
	}
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", name);
			goto done;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", name);
		goto done;
	}
	close(fd);
	fd = -1;
	/* renameat replaces what name is (a symlink too) without following it */
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot rename a temporary file to '%s'", name);
		goto done;
	}
	fsync(dirfd);
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

/* ------------------------------------------------------------ caches */

int tools__cache_dir_open(const char *dir, bool create, pl_err *err)
{
	pl_buf parent = PL_BUF_INIT;
	char *slash;
	int fd;

	if (create) {
		pl_buf_puts(&parent, dir);
		slash = strrchr(parent.ptr, '/');
		if (slash && slash != parent.ptr) {
			*slash = 0;
			if (pl_mkdir_p(parent.ptr, 0755, err) < 0) {
				pl_buf_release(&parent);
				return -1;
			}
		}
		pl_buf_release(&parent);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return pl_err_sys(err, PL_EIO, "cannot create directory '%s'", dir), -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return pl_err_set(err, PL_EINVAL, "'%s' is a symlink or not a directory: no cache is kept there", dir), -1;
	if (fd < 0)
		return pl_err_sys(err, PL_EIO, "'%s'", dir), -1;
	return fd;
}
