/* file.c - reading, atomic writing, directories, memory maps, and opening
 * beneath a directory. */
#define _GNU_SOURCE
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int pl_file_read(pl_buf *b, const char *path, size_t max, pl_err *err)
{
	struct stat st;
	int fd, rc = 0;
	size_t start = b->len;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pl_err_sys(err, errno == ENOENT ? PL_ENOTFOUND : PL_EIO, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot stat '%s'", path);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = pl_err_set(err, PL_EINVAL, "'%s' is a directory, expected a file", path);
		goto done;
	}
	if (max && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = pl_err_set(err, PL_ELIMIT, "'%s' is %lld bytes, more than the limit of %zu", path,
				(long long)st.st_size, max);
		goto done;
	}
	if (S_ISREG(st.st_mode))
		pl_buf_grow(b, (size_t)st.st_size);
	for (;;) {
		ssize_t n;

		pl_buf_grow(b, 65536);
		n = read(fd, b->ptr + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = pl_err_sys(err, PL_EIO, "cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->ptr[b->len] = '\0';
		if (max && b->len - start > max) {
			rc = pl_err_set(err, PL_ELIMIT, "'%s' is larger than the limit of %zu bytes", path, max);
			goto done;
		}
	}
done:
	if (rc < 0)
		pl_buf_setlen(b, start);
	close(fd);
	return rc;
}

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pl_file_write_atomic(const char *path, const void *data, size_t n, int mode, pl_err *err)
{
	pl_buf tmp = PL_BUF_INIT;
	char *slash;
	int fd = -1, rc = 0;

	pl_buf_printf(&tmp, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp.ptr);
	if (fd < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot create a temporary file next to '%s'", path);
		goto done;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", tmp.ptr);
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", tmp.ptr);
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot rename '%s' to '%s'", tmp.ptr, path);
		goto done;
	}
	/* Make the rename itself durable. */
	slash = strrchr(tmp.ptr, '/');
	if (slash) {
		int dfd;

		*slash = '\0';
		dfd = open(slash == tmp.ptr ? "/" : tmp.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		*slash = '/';
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.len)
		unlink(tmp.ptr);
	pl_buf_release(&tmp);
	return rc;
}

bool pl_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool pl_dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pl_mkdir_p(const char *path, int mode, pl_err *err)
{
	char *p = pl_xstrdup(path), *s;
	int rc = 0;

	if (!*path) {
		rc = pl_err_set(err, PL_EINVAL, "empty directory name");
		goto done;
	}
	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
			rc = pl_err_sys(err, PL_EIO, "cannot create directory '%s'", p);
			goto done;
		}
		if (!pl_dir_exists(p)) {
			rc = pl_err_set(err, PL_EEXISTS, "'%s' exists and is not a directory", p);
			goto done;
		}
		*s = c;
		if (c == '\0')
			break;
	}
done:
	free(p);
	return rc;
}

static int rm_rf_at(int parent, const char *name, const char *shown, pl_err *err)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return pl_err_sys(err, PL_EIO, "cannot stat '%s'", shown);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return pl_err_sys(err, PL_EIO, "cannot remove '%s'", shown);
		return 0;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* An unreadable directory may still be empty: try removing it. */
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0)
			return 0;
		return pl_err_sys(err, PL_EIO, "cannot open directory '%s'", shown);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return pl_err_sys(err, PL_EIO, "cannot read directory '%s'", shown);
	}
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((rc = rm_rf_at(dirfd(d), e->d_name, shown, err)) < 0)
			break;
	}
	closedir(d);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = pl_err_sys(err, PL_EIO, "cannot remove directory '%s'", shown);
	return rc;
}

int pl_rm_rf(const char *path, pl_err *err)
{
	if (!path || !*path || !strcmp(path, "/"))
		return pl_err_set(err, PL_EINVAL, "refusing to remove '%s'", path ? path : "");
	return rm_rf_at(AT_FDCWD, path, path, err);
}

void pl_path_join(pl_buf *b, const char *a, const char *c)
{
	size_t alen = strlen(a);

	pl_buf_add(b, a, alen);
	if (alen && a[alen - 1] != '/' && *c != '/')
		pl_buf_putc(b, '/');
	else if (alen && a[alen - 1] == '/' && *c == '/')
		c++;
	pl_buf_puts(b, c);
}

int pl_mkdtemp(pl_buf *out, const char *prefix, pl_err *err)
{
	const char *tmp = getenv("TMPDIR");
	size_t start = out->len;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	pl_buf_printf(out, "%s/%s-XXXXXX", tmp, prefix);
	if (!mkdtemp(out->ptr + start)) {
		pl_err_sys(err, PL_EIO, "cannot create a temporary directory in '%s'", tmp);
		pl_buf_setlen(out, start);
		return err ? err->code : PL_EIO;
	}
	return 0;
}

int pl_map_open(pl_map *out, const char *path, pl_err *err)
{
	struct stat st;
	void *p;
	int fd;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pl_err_sys(err, errno == ENOENT ? PL_ENOTFOUND : PL_EIO, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return pl_err_sys(err, PL_EIO, "cannot stat '%s'", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return pl_err_set(err, PL_EINVAL, "'%s' is not a regular file", path);
	}
	if (st.st_size == 0) {
		/* mmap of 0 bytes fails; an empty map is still a valid answer. */
		close(fd);
		out->data = (const uint8_t *)"";
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return pl_err_sys(err, PL_EIO, "cannot map '%s'", path);
	out->data = p;
	out->size = (size_t)st.st_size;
	return 0;
}

void pl_map_close(pl_map *m)
{
	if (!m)
		return;
	if (m->size)
		munmap((void *)m->data, m->size);
	m->data = NULL;
	m->size = 0;
}

/* ------------------------------------------------------------ opening beneath a directory */

/* One component at a time with O_NOFOLLOW, for kernels without openat2
 * (before 5.6) or a seccomp filter that refuses it: follows no symlink
 * at all, so it is stricter than openat2 with PL_OPEN_BENEATH. */
static int open_walk(int dirfd, const char *path, int flags)
{
	char comp[NAME_MAX + 1];
	int cur = dirfd, fd;

	for (;;) {
		size_t n = strcspn(path, "/");
		const char *next = path + n;

		while (*next == '/')
			next++;
		if (n > NAME_MAX) {
			fd = -ENAMETOOLONG;
			break;
		}
		if (n == 2 && path[0] == '.' && path[1] == '.') {
			fd = -EXDEV;
			break;
		}
		memcpy(comp, path, n);
		comp[n] = 0;
		if (!n || !strcmp(comp, ".")) {
			if (*next) {
				path = next;
				continue;
			}
			strcpy(comp, ".");
		}
		fd = openat(cur, comp, *next ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : flags | O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
		if (fd == -ENOTDIR) {
			/* a symlink (on the way, or named with O_DIRECTORY) reads
			 * as openat2's ELOOP */
			struct stat st;

			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				fd = -ELOOP;
		}
		if (cur != dirfd)
			close(cur);
		if (fd < 0 || !*next)
			break;
		cur = fd;
		path = next;
	}
	return fd;
}

int pl_open_beneath(int dirfd, const char *path, int flags, int how)
{
	struct open_how oh;
	int fd, tries;

	PL_ASSERT(!(flags & O_CREAT));
	flags |= O_CLOEXEC;
	if (!*path)
		path = ".";
	memset(&oh, 0, sizeof(oh));
	oh.flags = (uint64_t)flags;
	oh.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (how == PL_OPEN_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0);
	/* EAGAIN: a rename raced a ".." on the way; the kernel asks to retry */
	for (tries = 0; tries < 16; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &oh, sizeof(oh));
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN)
			break;
	}
	if (errno == ENOSYS || errno == EPERM)
		return open_walk(dirfd, path, flags);
	return -errno;
}
